/*
 * nested - tables made of tables.  unionmap:{a, b, ...} asks every member
 * and joins the values found with commas (only empty values: not found);
 * pipemap:{a, b, ...} feeds each member's result to the next as its key.
 * A temporary failure of any member is a temporary failure of the whole
 * lookup.
 */
#include <stdlib.h>
#include <string.h>

#include "table/table.h"

struct nested {
    struct table **members;
    size_t count;
    struct buf result;
    struct buf key;
};

static int nested_open(struct table *t, struct buf *err)
{
    size_t n = strlen(t->name);
    if (n < 2 || t->name[0] != '{' || t->name[n - 1] != '}') {
        buf_printf(err, "bad syntax: \"%s\"; need \"%s:{type:name...}\"", t->spec, t->type->name);
        return -1;
    }
    char *body = xstrndup(t->name + 1, n - 2);
    struct strlist specs;
    strlist_init(&specs);
    int rc = str_split_list(body, LIST_SEPS, &specs, NULL);
    free(body);
    /* Every member must at least look like type:name (Postfix's check). */
    for (size_t i = 0; rc == 0 && i < specs.count; i++)
        if (strchr(specs.items[i], ':') == NULL)
            rc = -1;
    if (rc == -1 || specs.count == 0) {
        buf_printf(err, "bad syntax: \"%s\"; need \"%s:{type:name...}\"", t->spec, t->type->name);
        strlist_free(&specs);
        return -1;
    }
    struct nested *nt = xcalloc(1, sizeof(*nt));
    nt->members = xcalloc(specs.count, sizeof(*nt->members));
    nt->count = specs.count;
    buf_init(&nt->result);
    buf_init(&nt->key);
    unsigned flags = 0;
    for (size_t i = 0; i < specs.count; i++) {
        nt->members[i] = table_open(specs.items[i], t->open_flags | TABLE_OPEN_MEMBER);
        flags |= table_flags(nt->members[i]) & (TABLE_T_FIXED | TABLE_T_PATTERN);
        if (table_open_error(nt->members[i]) != NULL) {
            /* One broken member breaks the whole table, as in Postfix; its
             * reason becomes ours (reported once, by table_open). */
            buf_puts(err, table_open_error(nt->members[i]));
            t->data = nt;
            nt->count = i + 1;
            t->type->close(t);
            strlist_free(&specs);
            return -1;
        }
    }
    strlist_free(&specs);
    /* Partial (parent-domain, IP-prefix) keys only make sense when every
     * member is an exact-string table. */
    t->flags = (t->type->flags & ~(TABLE_T_FIXED | TABLE_T_PATTERN)) |
               ((flags & TABLE_T_PATTERN) ? TABLE_T_PATTERN : TABLE_T_FIXED);
    t->data = nt;
    return 0;
}

static enum table_status union_lookup(struct table *t, const char *key, const char **value)
{
    struct nested *nt = t->data;
    buf_reset(&nt->result);
    for (size_t i = 0; i < nt->count; i++) {
        const char *v;
        enum table_status st = table_lookup(nt->members[i], key, &v);
        if (st == TABLE_FOUND) {
            /* As Postfix: the comma goes after what was collected so far,
             * so empty values vanish at the front and count elsewhere
             * ("x,", "x,,y"), and only empty values mean not found. */
            if (nt->result.len > 0)
                buf_putc(&nt->result, ',');
            buf_puts(&nt->result, v);
        } else if (st != TABLE_NOTFOUND) {
            return st;
        }
    }
    if (nt->result.len == 0)
        return TABLE_NOTFOUND;
    *value = buf_cstr(&nt->result);
    return TABLE_FOUND;
}

static enum table_status pipe_lookup(struct table *t, const char *key, const char **value)
{
    struct nested *nt = t->data;
    buf_reset(&nt->key);
    buf_puts(&nt->key, key);
    for (size_t i = 0; i < nt->count; i++) {
        const char *v;
        enum table_status st = table_lookup(nt->members[i], buf_cstr(&nt->key), &v);
        if (st != TABLE_FOUND)
            return st;
        buf_reset(&nt->result);
        buf_puts(&nt->result, v);
        buf_reset(&nt->key);
        buf_puts(&nt->key, v);
    }
    *value = buf_cstr(&nt->result);
    return TABLE_FOUND;
}

static void nested_close(struct table *t)
{
    struct nested *nt = t->data;
    for (size_t i = 0; i < nt->count; i++)
        table_close(nt->members[i]);
    free(nt->members);
    buf_free(&nt->result);
    buf_free(&nt->key);
    free(nt);
    t->data = NULL;
}

const struct table_type table_type_unionmap = {
    .name = "unionmap",
    .flags = TABLE_T_NESTED | TABLE_T_NOMAP,
    .open = nested_open,
    .lookup = union_lookup,
    .close = nested_close,
};

const struct table_type table_type_pipemap = {
    .name = "pipemap",
    .flags = TABLE_T_NESTED | TABLE_T_NOMAP,
    .open = nested_open,
    .lookup = pipe_lookup,
    .close = nested_close,
};
