/*
 * inline - a table written in the configuration itself:
 * inline:{ key=value, { key = value with spaces }, ... }.  Any syntax error
 * makes the whole table unusable (its lookups fail temporarily), as in
 * Postfix, rather than silently dropping one entry; the messages are
 * Postfix's.  As there, a repeated key takes the later value and an empty
 * key ("=value") is allowed.
 */
#include <stdlib.h>
#include <string.h>

#include "table/memory.h"

#define NEED "; need \"inline:{name=value...}\""

/*
 * parse_entry - one list element into key and value (trimmed, in place):
 * "key=value" or "{ key = value }".  On error err gets Postfix's wording.
 */
static int parse_entry(struct table *t, char *token, char **key, char **value, struct buf *err)
{
    char *s = token;
    if (token[0] == '{') {
        /* The braces must enclose the whole element. */
        int depth = 0;
        char *close = NULL;
        for (char *p = token; *p && close == NULL; p++) {
            if (*p == '{')
                depth++;
            else if (*p == '}' && --depth == 0)
                close = p;
        }
        if (close == NULL || close[1] != 0) {
            buf_printf(err, "syntax error after '}' in \"%s\": \"%s\"" NEED, token, t->spec);
            return -1;
        }
        *close = 0;
        s = str_trim(token + 1);
        if (*s == 0) {
            buf_printf(err, "no key found; expected format: key = value: \"%s\"" NEED, t->spec);
            return -1;
        }
    }
    char *eq = strchr(s, '=');
    if (eq == NULL) {
        buf_printf(err, "missing '=' after attribute name: \"%s\"" NEED, t->spec);
        return -1;
    }
    *eq = 0;
    *key = str_trim(s); /* may be empty, as in Postfix */
    *value = str_trim(eq + 1);
    return 0;
}

static int inline_open(struct table *t, struct buf *err)
{
    size_t n = strlen(t->name);
    if (n < 3 || t->name[0] != '{' || t->name[n - 1] != '}') {
        buf_printf(err, "bad syntax: \"%s\"" NEED, t->spec);
        return -1;
    }
    char *body = xstrndup(t->name + 1, n - 2);
    struct strlist tokens;
    strlist_init(&tokens);
    int rc = str_split_list(body, LIST_SEPS, &tokens, NULL);
    free(body);
    if (rc == -1 || tokens.count == 0) {
        buf_printf(err, "%s: \"%s\"" NEED, rc == -1 ? "bad syntax" : "empty table", t->spec);
        strlist_free(&tokens);
        return -1;
    }
    struct memtable *m = xcalloc(1, sizeof(*m));
    memtable_init(m);
    bool fold = !(t->open_flags & TABLE_OPEN_NOFOLD);
    for (size_t i = 0; i < tokens.count; i++) {
        char *key, *value;
        if (parse_entry(t, tokens.items[i], &key, &value, err) == -1) {
            memtable_free(m);
            free(m);
            strlist_free(&tokens);
            return -1;
        }
        if (fold)
            str_lower(key);
        /* A later entry for the same key replaces the earlier one. */
        memtable_put(m, key, value, true);
    }
    strlist_free(&tokens);
    t->data = m;
    return 0;
}

static enum table_status inline_lookup(struct table *t, const char *key, const char **value)
{
    struct memtable *m = t->data;
    const char *v = memtable_get(m, table_fold(t, key, &m->fold));
    if (v == NULL)
        return TABLE_NOTFOUND;
    *value = v;
    return TABLE_FOUND;
}

static int inline_sequence(struct table *t, bool first, const char **key, const char **value)
{
    return memtable_sequence(t->data, first, key, value);
}

static void inline_close(struct table *t)
{
    memtable_free(t->data);
    free(t->data);
    t->data = NULL;
}

const struct table_type table_type_inline = {
    .name = "inline",
    .flags = TABLE_T_FIXED | TABLE_T_NOMAP,
    .open = inline_open,
    .lookup = inline_lookup,
    .sequence = inline_sequence,
    .close = inline_close,
};
