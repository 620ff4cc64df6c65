/*
 * fuzz_table_regexp - libFuzzer target for regexp: tables
 * (src/table/regexp.c, the rule language in src/table/pattern.c): the input
 * is the table file; every word of it is also tried as a key, so rules get
 * to match and substitute.  Inputs with large repetition counts ("{300}")
 * or stacked quantifiers are skipped: they only measure the C library's regcomp(3).
 */
#include <stdint.h>

#include "fuzz_table_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fixed_keys[] = {
    "a", "ab", "user@example.com", "User+Ext@Example.COM", "1.2.3.4", "", "x\ny",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_TABLE_MAX_INPUT / 4 || fuzz_table_explosive(data, size))
        return 0;
    const char *path = fuzz_table_write(data, size);
    char *spec = xasprintf("regexp:%s", path);
    struct strlist keys;
    strlist_init(&keys);
    fuzz_table_keys(data, size, fixed_keys, ARRAY_LEN(fixed_keys), 32, &keys);
    struct table *t = table_open(spec, TABLE_OPEN_QUIET);
    for (size_t i = 0; i < keys.count; i++) {
        const char *v = NULL;
        fuzz_table_check(table_lookup(t, keys.items[i], &v), v);
    }
    table_close(t);
    table_cache_clear();
    strlist_free(&keys);
    free(spec);
    return 0;
}
