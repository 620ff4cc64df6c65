/*
 * inline - a table written in the configuration itself:
 * inline:{ key=value, { key = value with spaces }, ... }.  Any syntax error
 * makes the whole table unusable (its lookups fail temporarily), as in
 * Postfix, rather than silently dropping one entry.
 */
#include <stdlib.h>
#include <string.h>

#include "table/memory.h"

/* split_pair - "key=value" or "{ key = value }" into trimmed parts */
static int split_pair(char *token, char **key, char **value)
{
    bool braced = token[0] == '{';
    char *s = braced ? str_strip_braces(token) : token;
    char *eq = strchr(s, '=');
    if (eq == NULL)
        return -1;
    *eq = 0;
    *key = str_trim(s);
    *value = str_trim(eq + 1);
    if (**key == 0)
        return -1;
    /* Unbraced keys and values cannot hold whitespace (the list split it). */
    return 0;
}

static int inline_open(struct table *t, struct buf *err)
{
    size_t n = strlen(t->name);
    if (n < 2 || t->name[0] != '{' || t->name[n - 1] != '}') {
        buf_printf(err, "bad syntax: \"%s\"; need \"inline:{name=value...}\"", t->spec);
        return -1;
    }
    char *body = xstrndup(t->name + 1, n - 2);
    struct strlist tokens;
    strlist_init(&tokens);
    char *split_err = NULL;
    if (str_split_list(body, LIST_SEPS, &tokens, &split_err) == -1) {
        buf_printf(err, "%s: %s", t->spec, split_err);
        free(split_err);
        free(body);
        strlist_free(&tokens);
        return -1;
    }
    free(body);
    struct memtable *m = xcalloc(1, sizeof(*m));
    memtable_init(m);
    bool fold = !(t->open_flags & TABLE_OPEN_NOFOLD);
    for (size_t i = 0; i < tokens.count; i++) {
        char *shown = xstrdup(tokens.items[i]);
        char *key, *value;
        if (split_pair(tokens.items[i], &key, &value) == -1) {
            buf_printf(err, "missing '=' after attribute name: \"%s\"; need \"inline:{name=value...}\"",
                       shown);
            free(shown);
            memtable_free(m);
            free(m);
            strlist_free(&tokens);
            return -1;
        }
        free(shown);
        if (fold)
            str_lower(key);
        memtable_put(m, key, value, false);
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
