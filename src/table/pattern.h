/*
 * pattern - pieces shared by the pattern tables cidr:, regexp: and pcre:
 * (cidr_table(5), regexp_table(5), pcre_table(5)): where the rules come
 * from (a file, or an inline "{ {rule}, {rule} }" list), warnings in
 * Postfix's "TYPE map FILE, line N: text" form, the if/endif keywords, and
 * for the two regular-expression types the whole rule syntax
 * ("[!]/pattern/flags result", if/endif nesting, $n substitution) with the
 * compile and match steps left to the type.
 */
#ifndef POSTERN_TABLE_PATTERN_H
#define POSTERN_TABLE_PATTERN_H

#include "table/table.h"

/* Hard limit on if..endif nesting in one table, checked before growing. */
#define PATTERN_MAX_NESTING 1000

/*
 * pattern_source_open - the rules of table type `label` ("cidr") named
 * name: the file, or with a leading '{' the inline form of Postfix 3.7,
 * each {rule} one line of an in-memory file whose "path" in warnings is the
 * name itself.  0, or -1 with a message in err.
 */
int pattern_source_open(struct table_source *src, const char *name, const char *label,
                        struct buf *err);

/* pattern_warn - "LABEL map PATH, line N: text", unless t is quiet */
void pattern_warn(const struct table *t, const char *label, const char *path, int line,
                  const char *fmt, ...) PRINTF_LIKE(5, 6);

/*
 * pattern_keyword - line starts with word ("if", "endif") in any case and
 * the next character is not alphanumeric: the text after the word, else NULL.
 */
char *pattern_keyword(char *line, const char *word);

/* pattern_skip_space / pattern_is_space - ASCII whitespace as Postfix sees it */
char *pattern_skip_space(char *p);
bool pattern_is_space(int c);

/* pattern_negation - consume "!" signs (each toggles *negate) and the
 * whitespace around them; returns the rest */
char *pattern_negation(char *p, bool *negate);

/*
 * table_cidr_index_min - cidr: tables index runs of at least this many
 * plain rules (default 8) and scan shorter ones.  Tests and fuzzers set it
 * to 1 or SIZE_MAX to compare the index with a plain scan; it applies to
 * tables opened afterwards.
 */
extern size_t table_cidr_index_min;

/* ---- regular-expression tables (regexp:, pcre:) ---- */

enum rx_kind { RX_MATCH, RX_IF };

/* One piece of a result: literal text, or a reference to group n. */
struct rx_piece {
    unsigned group; /* 0: literal text[off .. off+len) */
    size_t off, len;
};

struct rx_rule {
    enum rx_kind kind;
    bool negate;
    int line;
    size_t end; /* RX_IF: index of the first rule after the matching endif */
    void *re;   /* compiled by the type */
    char *text; /* RX_MATCH: literal storage of the result */
    struct rx_piece *pieces;
    size_t npieces;
    bool plain; /* no group references: the result is text itself */
};

struct rx_table {
    struct rx_rule *rules;
    size_t count;
    unsigned max_groups; /* the largest group number any result uses */
    struct buf result;
};

/*
 * What a regular-expression type supplies.  The texts differ slightly
 * between Postfix's two drivers and are kept as Postfix writes them.
 */
struct rx_ops {
    const char *label;         /* "regexp", "pcre" */
    const char *zero_index;    /* how "$0" is called: "out-of-range", "out of range" */
    const char *no_delim_verb; /* "skipping", "ignoring" */
    /* flags - fold flag letters into *options (starting from the default);
     * -1 after a warning for a letter the type does not know */
    int (*flags)(struct table *t, const char *path, int line, const char *letters,
                 unsigned *options);
    unsigned default_options;
    /* compile - 0 with *re and *groups (number of capture groups), or -1
     * with the reason in err; need_groups: a result uses $n */
    int (*compile)(struct table *t, const char *pattern, unsigned options, bool need_groups,
                   void **re, unsigned *groups, struct buf *err);
    /* match - 1 match, 0 no match, -1 error (already logged); with groups,
     * the offsets of groups 0..max_groups become available to group() */
    int (*match)(struct table *t, void *re, const char *key, bool groups);
    /* group - start and length of group n of the last match, false if unset */
    bool (*group)(struct table *t, unsigned n, size_t *start, size_t *len);
    void (*free)(void *re);
};

/* rx_table_load - read every rule; 0, or -1 with a message in err */
int rx_table_load(struct table *t, const struct rx_ops *ops, struct rx_table *rx, struct buf *err);
/* rx_table_lookup - first rule in file order that applies */
enum table_status rx_table_lookup(struct table *t, const struct rx_ops *ops, struct rx_table *rx,
                                  const char *key, const char **value);
void rx_table_free(const struct rx_ops *ops, struct rx_table *rx);

#endif
