/*
 * pcre - Perl-compatible regular-expression tables, pcre_table(5), with
 * PCRE2: the rule language of regexp: (pattern.c) with PCRE's flags.  Every
 * pattern is compiled once when the table is opened, and JIT-compiled where
 * PCRE2 supports it; one match-data block per table, sized for the largest
 * group number any result uses, serves every lookup (tables are not shared
 * between threads).
 *
 * Flags toggle from the defaults: i (on, CASELESS), m (off, MULTILINE),
 * s (on, DOTALL), x (off, EXTENDED), A (off, ANCHORED), E (off,
 * DOLLAR_ENDONLY), U (off, UNGREEDY); X is accepted with a warning, as
 * Postfix does with PCRE2.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "table/pattern.h"

struct pcre_table {
    struct rx_table rx;
    pcre2_match_data *md;
    int last_rc; /* of the last match: groups below it may be set */
};

static int pcre_flags(struct table *t, const char *path, int line, const char *letters,
                      unsigned *options)
{
    for (const char *c = letters; *c; c++) {
        switch (*c) {
        case 'i': *options ^= PCRE2_CASELESS; break;
        case 'm': *options ^= PCRE2_MULTILINE; break;
        case 's': *options ^= PCRE2_DOTALL; break;
        case 'x': *options ^= PCRE2_EXTENDED; break;
        case 'A': *options ^= PCRE2_ANCHORED; break;
        case 'E': *options ^= PCRE2_DOLLAR_ENDONLY; break;
        case 'U': *options ^= PCRE2_UNGREEDY; break;
        case 'X':
            pattern_warn(t, "pcre", path, line, "ignoring obsolete regexp option \"%c\"", *c);
            break;
        default:
            pattern_warn(t, "pcre", path, line, "unknown regexp option \"%c\": skipping this rule",
                         *c);
            return -1;
        }
    }
    return 0;
}

static int pcre_compile(struct table *t, const char *pattern, unsigned options, bool need_groups,
                        void **re, unsigned *groups, struct buf *err)
{
    (void) t, (void) need_groups;
    int code;
    PCRE2_SIZE offset;
    pcre2_code *c =
        pcre2_compile((PCRE2_SPTR) pattern, PCRE2_ZERO_TERMINATED, options, &code, &offset, NULL);
    if (c == NULL) {
        PCRE2_UCHAR msg[256];
        if (pcre2_get_error_message(code, msg, sizeof(msg)) < 0)
            strcpy((char *) msg, "unknown error");
        buf_printf(err, "error in regex at offset %d: %s", (int) offset, (const char *) msg);
        return -1;
    }
    /* JIT is an optimisation: without it (unsupported CPU, no executable
     * memory) pcre2_match interprets the same pattern. */
    (void) pcre2_jit_compile(c, PCRE2_JIT_COMPLETE);
    uint32_t count = 0;
    pcre2_pattern_info(c, PCRE2_INFO_CAPTURECOUNT, &count);
    *groups = count;
    *re = c;
    return 0;
}

static int pcre_match(struct table *t, void *re, const char *key, bool groups)
{
    struct pcre_table *pt = t->data;
    (void) groups;
    size_t len = strlen(key);
    int rc = pcre2_match(re, (PCRE2_SPTR) key, len, 0, 0, pt->md, NULL);
    /* The JIT's small machine stack can run out where the interpreter
     * (Postfix's way) does not: then interpret. */
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
        rc = pcre2_match(re, (PCRE2_SPTR) key, len, 0, PCRE2_NO_JIT, pt->md, NULL);
    if (rc >= 0) {
        pt->last_rc = rc == 0 ? (int) pcre2_get_ovector_count(pt->md) : rc;
        return 1;
    }
    if (rc == PCRE2_ERROR_NOMATCH)
        return 0;
    PCRE2_UCHAR msg[256];
    if (pcre2_get_error_message(rc, msg, sizeof(msg)) < 0)
        strcpy((char *) msg, "unknown error");
    char *shown = str_printable(key, strlen(key));
    log_warnx("pcre map %s: lookup of \"%s\": %s", t->name, shown, (const char *) msg);
    free(shown);
    return -1;
}

static bool pcre_group(struct table *t, unsigned n, size_t *start, size_t *len)
{
    struct pcre_table *pt = t->data;
    if (n >= (unsigned) pt->last_rc || n >= pcre2_get_ovector_count(pt->md))
        return false;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(pt->md);
    if (ov[2 * n] == PCRE2_UNSET || ov[2 * n + 1] < ov[2 * n])
        return false;
    *start = ov[2 * n];
    *len = ov[2 * n + 1] - ov[2 * n];
    return true;
}

static void pcre_free(void *re)
{
    pcre2_code_free(re);
}

static const struct rx_ops pcre_ops = {
    .label = "pcre",
    .zero_index = "out of range",
    .no_delim_verb = "ignoring",
    .flags = pcre_flags,
    .default_options = PCRE2_CASELESS | PCRE2_DOTALL,
    .compile = pcre_compile,
    .match = pcre_match,
    .group = pcre_group,
    .free = pcre_free,
};

static int pcre_open(struct table *t, struct buf *err)
{
    struct pcre_table *pt = xcalloc(1, sizeof(*pt));
    t->data = pt;
    if (rx_table_load(t, &pcre_ops, &pt->rx, err) == -1) {
        free(pt);
        t->data = NULL;
        return -1;
    }
    pt->md = pcre2_match_data_create(pt->rx.max_groups + 1, NULL);
    if (pt->md == NULL)
        fatalx("pcre map %s: out of memory", t->name);
    return 0;
}

static enum table_status pcre_lookup(struct table *t, const char *key, const char **value)
{
    struct pcre_table *pt = t->data;
    return rx_table_lookup(t, &pcre_ops, &pt->rx, key, value);
}

static void pcre_close(struct table *t)
{
    struct pcre_table *pt = t->data;
    rx_table_free(&pcre_ops, &pt->rx);
    pcre2_match_data_free(pt->md);
    free(pt);
    t->data = NULL;
}

const struct table_type table_type_pcre = {
    .name = "pcre",
    .flags = TABLE_T_PATTERN | TABLE_T_SOURCE,
    .open = pcre_open,
    .lookup = pcre_lookup,
    .close = pcre_close,
};
