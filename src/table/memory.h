/* memory - in-memory key/value storage for texthash: and inline: tables. */
#ifndef POSTERN_TABLE_MEMORY_H
#define POSTERN_TABLE_MEMORY_H

#include "table/table.h"

struct memtable {
    struct htable *index; /* key -> value (owned) */
    struct strlist keys;  /* insertion order */
    struct buf fold;
    size_t cursor;
};

void memtable_init(struct memtable *m);
void memtable_free(struct memtable *m);
/* memtable_put - 0 added, 1 the key existed (replaced only if replace) */
int memtable_put(struct memtable *m, const char *key, const char *value, bool replace);
const char *memtable_get(const struct memtable *m, const char *key);
int memtable_sequence(struct memtable *m, bool first, const char **key, const char **value);

#endif
