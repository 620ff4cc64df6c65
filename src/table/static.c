/*
 * static - every lookup finds the same value: static:value or
 * static:{ value with spaces }.  fail - every lookup fails temporarily
 * (fail:name), for testing how a broken table is handled.
 */
#include <stdlib.h>
#include <string.h>

#include "table/table.h"

static int static_open(struct table *t, struct buf *err)
{
    if (t->name[0] == '{') {
        /* The braces must enclose the whole name (Postfix's check). */
        int depth = 0;
        const char *close = NULL;
        for (const char *p = t->name; *p && close == NULL; p++) {
            if (*p == '{')
                depth++;
            else if (*p == '}' && --depth == 0)
                close = p;
        }
        if (close == NULL || close[1] != 0) {
            buf_printf(err, "bad static:name syntax: %s in \"%s\"",
                       close == NULL ? "missing '}'" : "syntax error after '}'", t->name);
            return -1;
        }
    }
    char *copy = xstrdup(t->name);
    t->data = xstrdup(str_strip_braces(copy));
    free(copy);
    return 0;
}

static enum table_status static_lookup(struct table *t, const char *key, const char **value)
{
    (void) key;
    *value = t->data;
    return TABLE_FOUND;
}

static void static_close(struct table *t)
{
    free(t->data);
    t->data = NULL;
}

const struct table_type table_type_static = {
    .name = "static",
    .flags = TABLE_T_FIXED | TABLE_T_NOMAP,
    .open = static_open,
    .lookup = static_lookup,
    .close = static_close,
};

static int fail_open(struct table *t, struct buf *err)
{
    (void) err;
    t->data = t; /* no state; non-NULL marks it open */
    return 0;
}

static enum table_status fail_lookup(struct table *t, const char *key, const char **value)
{
    (void) value;
    log_warnx("%s lookup error for \"%s\"", t->spec, key);
    return TABLE_TEMPFAIL;
}

static int fail_sequence(struct table *t, bool first, const char **key, const char **value)
{
    (void) t, (void) first, (void) key, (void) value;
    return -1;
}

const struct table_type table_type_fail = {
    .name = "fail",
    .flags = TABLE_T_FIXED | TABLE_T_NOMAP,
    .open = fail_open,
    .lookup = fail_lookup,
    .sequence = fail_sequence,
};
