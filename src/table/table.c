/*
 * table - generic table operations: parse "type:name", find the type, open
 * (sharing one open table per spec and flags in a process), stand-ins for
 * tables that fail to open, key folding, and the refresh pass that lets
 * long-running readers see rebuilt files.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "table/table.h"

static struct htable *open_tables; /* "flags|spec" -> struct table */

const char *table_status_name(enum table_status s)
{
    switch (s) {
    case TABLE_FOUND: return "found";
    case TABLE_NOTFOUND: return "not found";
    case TABLE_TEMPFAIL: return "temporary failure";
    case TABLE_CONFIG: return "configuration error";
    }
    return "?";
}

static struct table *table_alloc(const char *spec, unsigned open_flags)
{
    struct table *t = xcalloc(1, sizeof(*t));
    t->spec = xstrdup(spec);
    const char *colon = strchr(spec, ':');
    t->name = xstrdup(colon ? colon + 1 : "");
    t->open_flags = open_flags;
    buf_init(&t->value);
    t->refs = 1;
    return t;
}

/* open_fresh - open without the cache */
static struct table *open_fresh(const char *spec, unsigned open_flags)
{
    struct table *t = table_alloc(spec, open_flags);
    const char *colon = strchr(spec, ':');
    if (colon == NULL || colon == spec || colon[1] == 0) {
        /* Postfix's words; "static:" and "hash:" are errors there too. */
        t->error =
            xasprintf("open dictionary: expecting \"type:name\" form instead of \"%s\"", spec);
    } else {
        char *type = xstrndup(spec, (size_t) (colon - spec));
        t->type = table_type_find(type);
        if (t->type == NULL)
            t->error = xasprintf("unsupported dictionary type: %s", type);
        free(type);
    }
    if (t->error == NULL) {
        t->flags = t->type->flags;
        struct buf err;
        buf_init(&err);
        if (t->type->open(t, &err) == -1) {
            t->error = buf_steal(&err);
            t->data = NULL;
        }
        buf_free(&err);
    }
    if (t->error && !(open_flags & (TABLE_OPEN_QUIET | TABLE_OPEN_MEMBER)))
        log_warnx("%s", t->error);
    return t;
}

struct table *table_open(const char *spec, unsigned open_flags)
{
    /* Writers and builders get private handles; readers share. */
    if (open_flags & (TABLE_OPEN_CREATE | TABLE_OPEN_WRITE))
        return open_fresh(spec, open_flags);
    if (open_tables == NULL)
        open_tables = htable_new(32);
    /* Flags that only affect reporting do not make a different table. */
    char *key = xasprintf("%x|%s", open_flags & ~(TABLE_OPEN_QUIET | TABLE_OPEN_MEMBER), spec);
    struct table *t = htable_get(open_tables, key);
    if (t != NULL) {
        t->refs++;
    } else {
        t = open_fresh(spec, open_flags);
        t->refs++; /* the cache's own reference */
        htable_put(open_tables, key, t);
    }
    free(key);
    return t;
}

static void table_destroy(struct table *t)
{
    if (t->type && t->data && t->type->close)
        t->type->close(t);
    free(t->spec);
    free(t->name);
    free(t->error);
    buf_free(&t->value);
    free(t);
}

void table_close(struct table *t)
{
    if (t == NULL)
        return;
    if (--t->refs > 0)
        return;
    table_destroy(t);
}

static void cache_release(void *value)
{
    table_close(value);
}

void table_cache_clear(void)
{
    htable_free(open_tables, cache_release);
    open_tables = NULL;
}

void table_refresh_all(void)
{
    if (open_tables == NULL)
        return;
    struct htable_iter it = {0};
    void *value;
    while (htable_next(open_tables, &it, NULL, &value)) {
        struct table *t = value;
        if (t->error == NULL && t->type->refresh)
            t->type->refresh(t);
    }
}

const char *table_open_error(const struct table *t)
{
    return t->error;
}

unsigned table_flags(const struct table *t)
{
    return t->flags;
}

const char *table_set_value(struct table *t, const char *value)
{
    buf_reset(&t->value);
    buf_puts(&t->value, value);
    return t->value.data;
}

const char *table_fold(struct table *t, const char *key, struct buf *scratch)
{
    if ((t->open_flags & TABLE_OPEN_NOFOLD) || !str_has_upper(key))
        return key;
    buf_reset(scratch);
    buf_puts(scratch, key);
    str_lower(scratch->data);
    return scratch->data;
}

enum table_status table_lookup(struct table *t, const char *key, const char **value)
{
    *value = NULL;
    if (t->error != NULL)
        return TABLE_TEMPFAIL;
    return t->type->lookup(t, key, value);
}

int table_sequence(struct table *t, bool first, const char **key, const char **value)
{
    if (t->error != NULL)
        return -1;
    if (t->type->sequence == NULL) {
        errno = ENOTSUP;
        return -1;
    }
    return t->type->sequence(t, first, key, value);
}

char *table_indexed_path(const char *name)
{
    return xasprintf("%s.lmdb", name);
}
