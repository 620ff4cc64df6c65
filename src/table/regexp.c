/*
 * regexp - POSIX regular-expression tables, regexp_table(5): rules
 * "[!]/pattern/flags result" tried in file order, if/endif blocks, $n
 * substitution (pattern.c has the rule language).  Patterns are compiled
 * with regcomp(3) once, when the table is opened; lookups never fold the
 * key, so $n gives back the text as the client wrote it.
 *
 * Flags toggle from the defaults: i (on: ignore case), x (on: extended
 * syntax; off means basic regular expressions), m (off: ^ and $ also match
 * at newlines, REG_NEWLINE).
 */
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "table/pattern.h"

#define RX_ICASE    (1u << 0)
#define RX_EXTENDED (1u << 1)
#define RX_NEWLINE  (1u << 2)

struct regexp_table {
    struct rx_table rx;
    regmatch_t *groups; /* room for max_groups + 1 */
    size_t ngroups;
};

static int regexp_flags(struct table *t, const char *path, int line, const char *letters,
                        unsigned *options)
{
    for (const char *c = letters; *c; c++) {
        switch (*c) {
        case 'i': *options ^= RX_ICASE; break;
        case 'x': *options ^= RX_EXTENDED; break;
        case 'm': *options ^= RX_NEWLINE; break;
        default:
            pattern_warn(t, "regexp", path, line,
                         "unknown regexp option \"%c\": skipping this rule", *c);
            return -1;
        }
    }
    return 0;
}

static int regexp_compile(struct table *t, const char *pattern, unsigned options, bool need_groups,
                          void **re, unsigned *groups, struct buf *err)
{
    (void) t;
    int cflags = 0;
    if (options & RX_ICASE)
        cflags |= REG_ICASE;
    if (options & RX_EXTENDED)
        cflags |= REG_EXTENDED;
    if (options & RX_NEWLINE)
        cflags |= REG_NEWLINE;
    if (!need_groups)
        cflags |= REG_NOSUB;
    regex_t *r = xmalloc(sizeof(*r));
    int rc = regcomp(r, pattern, cflags);
    if (rc != 0) {
        char msg[256];
        regerror(rc, r, msg, sizeof(msg));
        buf_puts(err, msg);
        free(r);
        return -1;
    }
    *groups = (unsigned) r->re_nsub;
    *re = r;
    return 0;
}

static int regexp_match(struct table *t, void *re, const char *key, bool groups)
{
    struct regexp_table *rt = t->data;
    int rc = groups ? regexec(re, key, rt->ngroups, rt->groups, 0) : regexec(re, key, 0, NULL, 0);
    if (rc == 0)
        return 1;
    if (rc == REG_NOMATCH)
        return 0;
    char msg[256];
    regerror(rc, re, msg, sizeof(msg));
    char *shown = str_printable(key, strlen(key));
    log_warnx("regexp map %s: lookup of \"%s\": %s", t->name, shown, msg);
    free(shown);
    return -1;
}

static bool regexp_group(struct table *t, unsigned n, size_t *start, size_t *len)
{
    struct regexp_table *rt = t->data;
    if (n >= rt->ngroups || rt->groups[n].rm_so < 0 || rt->groups[n].rm_eo < rt->groups[n].rm_so)
        return false;
    *start = (size_t) rt->groups[n].rm_so;
    *len = (size_t) (rt->groups[n].rm_eo - rt->groups[n].rm_so);
    return true;
}

static void regexp_free(void *re)
{
    regfree(re);
    free(re);
}

static const struct rx_ops regexp_ops = {
    .label = "regexp",
    .zero_index = "out-of-range",
    .no_delim_verb = "skipping",
    .flags = regexp_flags,
    .default_options = RX_ICASE | RX_EXTENDED,
    .compile = regexp_compile,
    .match = regexp_match,
    .group = regexp_group,
    .free = regexp_free,
};

static int regexp_open(struct table *t, struct buf *err)
{
    struct regexp_table *rt = xcalloc(1, sizeof(*rt));
    t->data = rt;
    if (rx_table_load(t, &regexp_ops, &rt->rx, err) == -1) {
        free(rt);
        t->data = NULL;
        return -1;
    }
    rt->ngroups = (size_t) rt->rx.max_groups + 1;
    rt->groups = xcalloc(rt->ngroups, sizeof(*rt->groups));
    return 0;
}

static enum table_status regexp_lookup(struct table *t, const char *key, const char **value)
{
    struct regexp_table *rt = t->data;
    return rx_table_lookup(t, &regexp_ops, &rt->rx, key, value);
}

static void regexp_close(struct table *t)
{
    struct regexp_table *rt = t->data;
    rx_table_free(&regexp_ops, &rt->rx);
    free(rt->groups);
    free(rt);
    t->data = NULL;
}

const struct table_type table_type_regexp = {
    .name = "regexp",
    .flags = TABLE_T_PATTERN | TABLE_T_SOURCE,
    .open = regexp_open,
    .lookup = regexp_lookup,
    .close = regexp_close,
};
