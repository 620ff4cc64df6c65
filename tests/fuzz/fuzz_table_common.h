/*
 * fuzz_table_common - helpers shared by the table fuzz targets: one
 * temporary file per process that each input is written to (the table
 * types read their source by path), and warnings captured instead of
 * printed.  Header-only so each target stays one executable.
 */
#ifndef POSTERN_FUZZ_TABLE_COMMON_H
#define POSTERN_FUZZ_TABLE_COMMON_H

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "table/table.h"

/* Inputs larger than this are ignored: the parsers are line-oriented and
 * nothing new hides in megabytes of text. */
#define FUZZ_TABLE_MAX_INPUT 65536

static char *fuzz_path;
static struct buf fuzz_warnings;

/* fuzz_table_write - the input as the contents of the scratch file */
static UNUSED const char *fuzz_table_write(const uint8_t *data, size_t size)
{
    if (fuzz_path == NULL) {
        const char *base = getenv("TMPDIR");
        char *templ = xasprintf("%s/postern-fuzz.XXXXXX", base ? base : "/tmp");
        int fd = mkstemp(templ);
        if (fd == -1) {
            perror("mkstemp");
            abort();
        }
        close(fd);
        fuzz_path = templ;
        log_capture(&fuzz_warnings);
    }
    FILE *f = fopen(fuzz_path, "w");
    if (f == NULL || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
        abort();
    buf_reset(&fuzz_warnings);
    return fuzz_path;
}

/* fuzz_table_keys - keys worth asking: fixed ones, then the
 * whitespace-separated words of the input (at most max of them, each at
 * most 64 bytes so that backtracking patterns stay fast) */
static UNUSED void fuzz_table_keys(const uint8_t *data, size_t size, const char *const *fixed,
                                   size_t nfixed, size_t max, struct strlist *out)
{
    for (size_t i = 0; i < nfixed; i++)
        strlist_add(out, fixed[i]);
    size_t i = 0;
    while (i < size && out->count < nfixed + max) {
        while (i < size && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n'))
            i++;
        size_t start = i;
        while (i < size && data[i] != ' ' && data[i] != '\t' && data[i] != '\n' && data[i] != 0)
            i++;
        if (i > start && i - start <= 64) {
            char *w = xstrndup((const char *) data + start, i - start);
            strlist_add_owned(out, w);
        }
        if (i < size && data[i] == 0)
            i++;
    }
}

/* fuzz_table_check - a lookup's result is consistent with its status */
static UNUSED void fuzz_table_check(enum table_status st, const char *value)
{
    if (st == TABLE_FOUND) {
        if (value == NULL)
            abort();
        (void) strlen(value);
    } else if (st != TABLE_NOTFOUND && st != TABLE_TEMPFAIL && st != TABLE_CONFIG) {
        abort();
    }
}

/* fuzz_table_explosive - "{N" with N of three digits or more, or stacked
 * quantifiers ("a+++"): regular-expression compilers (the C library's
 * regcomp in particular) spend exponential memory on them, which says
 * nothing about postern's code; targets skip such inputs */
static UNUSED bool fuzz_table_explosive(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i + 1 < size; i++) {
        if (data[i] && data[i + 1] && strchr("*+?{}", data[i]) && strchr("*+?{", data[i + 1]))
            return true;
        if (i + 3 < size && (data[i] == '{' || data[i] == ',') && isdigit(data[i + 1]) &&
            isdigit(data[i + 2]) && isdigit(data[i + 3]))
            return true;
    }
    return false;
}

#endif
