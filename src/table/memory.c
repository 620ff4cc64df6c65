/*
 * memory - an in-memory key/value store shared by the table types whose
 * whole contents are loaded at open time (texthash:, inline:).  Keys keep
 * file order for `postern map -s`.
 */
#include <stdlib.h>
#include <string.h>

#include "table/memory.h"

void memtable_init(struct memtable *m)
{
    m->index = htable_new(16);
    strlist_init(&m->keys);
    buf_init(&m->fold);
    m->cursor = 0;
}

void memtable_free(struct memtable *m)
{
    htable_free(m->index, free);
    strlist_free(&m->keys);
    buf_free(&m->fold);
}

int memtable_put(struct memtable *m, const char *key, const char *value, bool replace)
{
    char *old = htable_get(m->index, key);
    if (old != NULL) {
        if (replace)
            free(htable_put(m->index, key, xstrdup(value)));
        return 1;
    }
    htable_put(m->index, key, xstrdup(value));
    strlist_add(&m->keys, key);
    return 0;
}

const char *memtable_get(const struct memtable *m, const char *key)
{
    return htable_get(m->index, key);
}

int memtable_sequence(struct memtable *m, bool first, const char **key, const char **value)
{
    if (first)
        m->cursor = 0;
    if (m->cursor >= m->keys.count)
        return 1;
    *key = m->keys.items[m->cursor++];
    *value = htable_get(m->index, *key);
    return 0;
}
