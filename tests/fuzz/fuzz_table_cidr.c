/*
 * fuzz_table_cidr - libFuzzer target for cidr: tables (src/table/cidr.c):
 * the input is the table file.  Each input is opened twice, once with every
 * run of plain rules indexed and once scanned rule by rule; every key must
 * get the same answer from both, which checks that the index keeps
 * first-match-in-file-order semantics, besides memory errors.
 */
#include <stdint.h>

#include "fuzz_table_common.h"
#include "table/pattern.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fixed_keys[] = {
    "1.2.3.4", "10.0.0.1",    "192.168.1.1",    "0.0.0.0", "255.255.255.255", "::",
    "::1",     "2001:db8::1", "::ffff:1.2.3.4", "fe80::1", "not-an-address",  "",
};

static void ask_all(struct table *t, const struct strlist *keys, struct strlist *answers)
{
    for (size_t i = 0; i < keys->count; i++) {
        const char *v = NULL;
        enum table_status st = table_lookup(t, keys->items[i], &v);
        fuzz_table_check(st, v);
        strlist_add(answers, st == TABLE_FOUND ? v : "\x01not found");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_TABLE_MAX_INPUT)
        return 0;
    const char *path = fuzz_table_write(data, size);
    char *spec = xasprintf("cidr:%s", path);
    struct strlist keys, indexed, scanned;
    strlist_init(&keys);
    strlist_init(&indexed);
    strlist_init(&scanned);
    fuzz_table_keys(data, size, fixed_keys, ARRAY_LEN(fixed_keys), 64, &keys);

    table_cidr_index_min = 1;
    struct table *t = table_open(spec, TABLE_OPEN_QUIET);
    ask_all(t, &keys, &indexed);
    table_close(t);
    table_cache_clear();

    table_cidr_index_min = SIZE_MAX;
    t = table_open(spec, TABLE_OPEN_QUIET);
    ask_all(t, &keys, &scanned);
    table_close(t);
    table_cache_clear();

    for (size_t i = 0; i < keys.count; i++)
        if (strcmp(indexed.items[i], scanned.items[i]) != 0) {
            fprintf(stderr, "key \"%s\": indexed \"%s\", scanned \"%s\"\n", keys.items[i],
                    indexed.items[i], scanned.items[i]);
            abort();
        }
    strlist_free(&keys);
    strlist_free(&indexed);
    strlist_free(&scanned);
    free(spec);
    return 0;
}
