/*
 * table_lookup - in-process cost of one table lookup: opens TYPE:NAME once,
 * reads keys (one per line) from a file, looks each up REPEAT times and
 * prints the median and 99th percentile per lookup in nanoseconds.
 *
 *   bench-table-lookup hash:/path/big keys.txt [REPEAT]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "table/table.h"

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s TYPE:NAME KEYFILE [REPEAT]\n", argv[0]);
        return 2;
    }
    int repeat = argc > 3 ? atoi(argv[3]) : 5;
    struct buf keys;
    buf_init(&keys);
    if (file_read_all(argv[2], &keys) == -1) {
        perror(argv[2]);
        return 2;
    }
    struct strlist list;
    strlist_init(&list);
    char *save, *line;
    for (line = strtok_r(keys.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        strlist_add(&list, line);
    struct table *t = table_open(argv[1], TABLE_OPEN_FOLD);
    if (table_open_error(t)) {
        fprintf(stderr, "%s\n", table_open_error(t));
        return 1;
    }
    size_t n = list.count * (size_t) repeat, i = 0, found = 0;
    uint64_t *ns = xcalloc(n, sizeof(*ns));
    uint64_t total_start = now_ns();
    for (int r = 0; r < repeat; r++) {
        for (size_t k = 0; k < list.count; k++) {
            const char *v;
            uint64_t t0 = now_ns();
            enum table_status st = table_lookup(t, list.items[k], &v);
            ns[i++] = now_ns() - t0;
            found += st == TABLE_FOUND;
        }
    }
    uint64_t total = now_ns() - total_start;
    qsort(ns, n, sizeof(*ns), cmp_u64);
    printf("lookups %zu found %zu median_ns %llu p99_ns %llu mean_ns_incl_timer %.0f\n", n, found,
           (unsigned long long) ns[n / 2], (unsigned long long) ns[n * 99 / 100],
           (double) total / (double) n);
    free(ns);
    strlist_free(&list);
    buf_free(&keys);
    table_close(t);
    return 0;
}
