/*
 * texthash - the source file itself, read into memory when the table is
 * opened (postmap(1) source format, no compiled file).  Like Postfix, a
 * long-running reader sees changes only after reopening (reload).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "table/memory.h"

static int texthash_open(struct table *t, struct buf *err)
{
    struct table_source src;
    if (table_source_open(&src, t->name) == -1) {
        buf_printf(err, "open %s: %s", t->name, strerror(errno));
        return -1;
    }
    struct memtable *m = xcalloc(1, sizeof(*m));
    memtable_init(m);
    char *key, *value;
    bool fold = !(t->open_flags & TABLE_OPEN_NOFOLD);
    struct buf folded;
    buf_init(&folded);
    while (table_source_next(&src, &key, &value)) {
        const char *stored = key;
        if (fold) {
            buf_reset(&folded);
            buf_puts(&folded, key);
            str_lower(folded.data);
            stored = folded.data;
        }
        bool replace = (t->open_flags & TABLE_OPEN_DUP_LAST) != 0;
        /* The warning shows the key as written, as Postfix's does. */
        if (memtable_put(m, stored, value, replace) == 1 &&
            !(t->open_flags & (TABLE_OPEN_DUP_OK | TABLE_OPEN_DUP_LAST)))
            log_warnx("%s, line %d: duplicate entry: \"%s\"", t->name, src.line, key);
    }
    buf_free(&folded);
    table_source_close(&src);
    t->data = m;
    return 0;
}

static enum table_status texthash_lookup(struct table *t, const char *key, const char **value)
{
    struct memtable *m = t->data;
    const char *v = memtable_get(m, table_fold(t, key, &m->fold));
    if (v == NULL)
        return TABLE_NOTFOUND;
    *value = v;
    return TABLE_FOUND;
}

static int texthash_sequence(struct table *t, bool first, const char **key, const char **value)
{
    return memtable_sequence(t->data, first, key, value);
}

static void texthash_close(struct table *t)
{
    memtable_free(t->data);
    free(t->data);
    t->data = NULL;
}

const struct table_type table_type_texthash = {
    .name = "texthash",
    .flags = TABLE_T_FIXED | TABLE_T_SOURCE,
    .open = texthash_open,
    .lookup = texthash_lookup,
    .sequence = texthash_sequence,
    .close = texthash_close,
};
