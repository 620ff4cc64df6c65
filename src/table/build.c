/*
 * build - `postern map TYPE:NAME`: read the source NAME and write the indexed
 * table.  Entries are folded (unless -f), sorted with their line numbers so
 * duplicates sit together in file order, reported (file, line N), and
 * written in key order.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "table/table.h"

struct entry {
    const char *key;
    const char *value;
    int line;
};

static int entry_cmp(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c != 0)
        return c;
    return x->line - y->line;
}

int table_build(const char *spec, unsigned open_flags)
{
    const char *colon = strchr(spec, ':');
    const struct table_type *type = NULL;
    if (colon != NULL) {
        char *tname = xstrndup(spec, (size_t) (colon - spec));
        type = table_type_find(tname);
        free(tname);
    }
    if (type == NULL || !(type->flags & TABLE_T_INDEXED)) {
        log_errorx("%s: not an indexed table type (use hash:, btree: or lmdb:)", spec);
        return -1;
    }
    const char *name = colon + 1;
    struct table_source src;
    if (table_source_open(&src, name) == -1) {
        log_errorx("open %s: %s", name, strerror(errno));
        return -1;
    }
    size_t cap = 1024, n = 0;
    struct entry *entries = xmalloc(cap * sizeof(*entries));
    char *key, *value;
    bool fold = !(open_flags & TABLE_OPEN_NOFOLD);
    /* Keys and values point into the source text, which stays in memory. */
    while (table_source_next(&src, &key, &value)) {
        if (n == cap) {
            cap *= 2;
            entries = xreallocarray(entries, cap, sizeof(*entries));
        }
        if (fold)
            str_lower(key);
        if (key == src.logical.data) {
            /* Logical lines live in one reused buffer: keep a copy. */
            size_t klen = strlen(key), vlen = strlen(value);
            char *copy = xmalloc(klen + vlen + 2);
            memcpy(copy, key, klen + 1);
            memcpy(copy + klen + 1, value, vlen + 1);
            key = copy;
            value = copy + klen + 1;
        }
        entries[n].key = key;
        entries[n].value = value;
        entries[n].line = src.line;
        n++;
    }
    qsort(entries, n, sizeof(*entries), entry_cmp);

    int rc = 0;
    struct table *t =
        table_open(spec, (open_flags | TABLE_OPEN_CREATE | TABLE_OPEN_SORTED) & ~TABLE_OPEN_WRITE);
    if (table_open_error(t) != NULL) {
        rc = -1;
        goto done;
    }
    struct buf err;
    buf_init(&err);
    for (size_t i = 0; i < n && rc == 0; i++) {
        /* Among equal keys choose the first, or the last with -r. */
        size_t j = i;
        while (j + 1 < n && strcmp(entries[j + 1].key, entries[i].key) == 0)
            j++;
        size_t pick = (open_flags & TABLE_OPEN_DUP_LAST) ? j : i;
        if (!(open_flags & (TABLE_OPEN_DUP_OK | TABLE_OPEN_DUP_LAST)))
            for (size_t d = i + 1; d <= j; d++)
                log_warnx("%s, line %d: duplicate entry: \"%s\"", name, entries[d].line,
                          entries[d].key);
        if (t->type->update(t, entries[pick].key, entries[pick].value, &err) == -1) {
            log_errorx("%s", buf_cstr(&err));
            rc = -1;
        }
        i = j;
    }
    if (rc == 0 && t->type->commit(t, &err) == -1) {
        log_errorx("%s", buf_cstr(&err));
        rc = -1;
    }
    buf_free(&err);
done:
    table_close(t);
    /* Free the copies made for logical lines (those outside the text). */
    for (size_t i = 0; i < n; i++) {
        const char *k = entries[i].key;
        if (k < src.text.data || k >= src.text.data + src.text.len)
            free((char *) k);
    }
    free(entries);
    table_source_close(&src);
    return rc;
}
