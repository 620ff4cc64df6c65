/*
 * fuzz_table_source - libFuzzer target for the postmap(1) source reader
 * (src/table/source.c) and texthash: tables (src/table/texthash.c).  The
 * input is read as a table source from memory, checking what callers rely
 * on (keys without whitespace, values not empty, line numbers that only
 * grow), and then opened as a texthash: file and queried with every key it
 * yielded, each of which must be found.
 */
#include <stdint.h>

#include "fuzz_table_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_TABLE_MAX_INPUT)
        return 0;
    const char *path = fuzz_table_write(data, size);
    struct table_source src;
    table_source_init_text(&src, "fuzz", (const char *) data, size);
    struct strlist keys;
    strlist_init(&keys);
    char *key, *value;
    int last_line = 0;
    while (table_source_next(&src, &key, &value)) {
        if (*key == 0 || *value == 0 || src.line < last_line || src.line > src.next_line)
            abort();
        for (const char *p = key; *p; p++)
            if (*p == ' ' || *p == '\t' || *p == '\n')
                abort();
        last_line = src.line;
        if (keys.count < 256)
            strlist_add(&keys, key);
    }
    table_source_close(&src);

    /* texthash: the same text from a file, keys kept as written (-f). */
    char *spec = xasprintf("texthash:%s", path);
    struct table *t = table_open(spec, TABLE_OPEN_QUIET | TABLE_OPEN_NOFOLD);
    if (table_open_error(t) != NULL)
        abort();
    for (size_t i = 0; i < keys.count; i++) {
        const char *v = NULL;
        enum table_status st = table_lookup(t, keys.items[i], &v);
        fuzz_table_check(st, v);
        if (st != TABLE_FOUND)
            abort();
    }
    const char *k, *v;
    for (bool first = true; table_sequence(t, first, &k, &v) == 0; first = false)
        if (k == NULL || v == NULL)
            abort();
    table_close(t);
    table_cache_clear();
    strlist_free(&keys);
    free(spec);
    return 0;
}
