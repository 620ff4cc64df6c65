/*
 * pattern - what cidr:, regexp: and pcre: tables have in common (see
 * pattern.h): the rule source, warnings, keywords, and the rule language of
 * regexp_table(5) and pcre_table(5).
 *
 * Regular-expression rules are kept in file order; an "if" rule records
 * where its block ends, so a failed condition skips the block in one step.
 * A rule that cannot be used is warned about (file, line) and left out, as
 * in Postfix; the table as a whole stays usable.  The texts and the order
 * of the warnings follow Postfix 3.7 so that `postern map -q` and postmap
 * print the same.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "table/pattern.h"

#define INLINE_SEPS ", \t\r\n"

bool pattern_is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

char *pattern_skip_space(char *p)
{
    while (pattern_is_space((unsigned char) *p))
        p++;
    return p;
}

char *pattern_negation(char *p, bool *negate)
{
    p = pattern_skip_space(p);
    while (*p == '!') {
        *negate = !*negate;
        p = pattern_skip_space(p + 1);
    }
    return p;
}

char *pattern_keyword(char *line, const char *word)
{
    size_t n = strlen(word);
    if (strncasecmp(line, word, n) != 0 || isalnum((unsigned char) line[n]))
        return NULL;
    return line + n;
}

void pattern_warn(const struct table *t, const char *label, const char *path, int line,
                  const char *fmt, ...)
{
    if (t->open_flags & TABLE_OPEN_QUIET)
        return;
    struct buf msg;
    buf_init(&msg);
    buf_printf(&msg, "%s map %s, line %d: ", label, path, line);
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    log_warnx("%s", buf_cstr(&msg));
    buf_free(&msg);
}

/* plain_warn - a warning without file and line, as Postfix's macro parser
 * writes them */
static void plain_warn(const struct table *t, const char *fmt, ...) PRINTF_LIKE(2, 3);

static void plain_warn(const struct table *t, const char *fmt, ...)
{
    if (t->open_flags & TABLE_OPEN_QUIET)
        return;
    struct buf msg;
    buf_init(&msg);
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    log_warnx("%s", buf_cstr(&msg));
    buf_free(&msg);
}

/* inline_rules - "{ {rule}, {rule} }" to one rule per line in text */
static int inline_rules(const char *name, const char *label, struct buf *text, struct buf *err)
{
    size_t n = strlen(name);
    int depth = 0;
    for (size_t i = 0; i < n; i++) {
        if (name[i] == '{')
            depth++;
        else if (name[i] == '}' && --depth < 0)
            break;
    }
    if (depth != 0 || n < 2 || name[n - 1] != '}') {
        buf_printf(err, "%s map: missing '}' in \"%s\"", label, name);
        return -1;
    }
    const char *p = name + 1, *end = name + n - 1;
    while (p < end) {
        while (p < end && strchr(INLINE_SEPS, *p))
            p++;
        if (p >= end)
            break;
        /* The token: up to a separator outside braces. */
        const char *q = p;
        const char *close = NULL;
        for (depth = 0; q < end; q++) {
            if (*q == '{') {
                depth++;
            } else if (*q == '}') {
                if (--depth == 0 && close == NULL)
                    close = q;
            } else if (depth <= 0 && strchr(INLINE_SEPS, *q)) {
                break;
            }
        }
        int tlen = (int) (q - p);
        if (*p != '{') {
            buf_printf(err, "%s map: no '{' at start of text in \"%.*s\"", label, tlen, p);
            return -1;
        }
        if (close == NULL || depth != 0) {
            buf_printf(err, "%s map: missing '}' in \"%.*s\"", label, tlen, p);
            return -1;
        }
        if (close + 1 != q) {
            buf_printf(err, "%s map: syntax error after '}' in \"%.*s\"", label, tlen, p);
            return -1;
        }
        const char *r = p + 1, *r_end = close;
        while (r < r_end && pattern_is_space((unsigned char) *r))
            r++;
        while (r_end > r && pattern_is_space((unsigned char) r_end[-1]))
            r_end--;
        buf_append(text, r, (size_t) (r_end - r));
        buf_putc(text, '\n');
        p = q;
    }
    return 0;
}

int pattern_source_open(struct table_source *src, const char *name, const char *label,
                        struct buf *err)
{
    if (name[0] != '{') {
        if (table_source_open(src, name) == -1) {
            buf_printf(err, "open %s: %s", name, strerror(errno));
            return -1;
        }
        return 0;
    }
    struct buf text;
    buf_init(&text);
    if (inline_rules(name, label, &text, err) == -1) {
        buf_free(&text);
        return -1;
    }
    table_source_init_text(src, name, buf_cstr(&text), text.len);
    buf_free(&text);
    return 0;
}

/* ---- regular-expression rules ---- */

struct piece_list {
    struct rx_piece *items;
    size_t count, cap;
};

static void piece_add(struct piece_list *l, unsigned group, size_t off, size_t len)
{
    if (l->count == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4;
        l->items = xreallocarray(l->items, l->cap, sizeof(*l->items));
    }
    l->items[l->count++] = (struct rx_piece){.group = group, .off = off, .len = len};
}

static bool is_name_char(int c)
{
    return isalnum(c) || c == '_';
}

/*
 * parse_result - split a result into literal text and $n references:
 * $n, ${n}, $(n); $$ is a dollar sign.  Like Postfix, a malformed reference
 * ("$", "${1") ends the scan, a name that is not a group number is reported
 * and the scan goes on (up to the next braced reference); either way the
 * rule is dropped.  Group numbers are converted the way Postfix converts
 * them (C int), so "$4294967297" means $1 there and here.  *max receives
 * the largest number used (compared as unsigned, so a number that wrapped
 * negative counts as too large).
 */
static int parse_result(struct table *t, const struct rx_ops *ops, const char *path, int line,
                        const char *s, struct rx_rule *rule, unsigned *max)
{
    struct buf lit;
    buf_init(&lit);
    struct piece_list pieces = {0};
    bool bad = false;
    size_t lit_start = 0;
    const char *p = s;
    *max = 0;
    while (*p) {
        if (*p != '$') {
            buf_putc(&lit, *p++);
            continue;
        }
        if (p[1] == '$') {
            buf_putc(&lit, '$');
            p += 2;
            continue;
        }
        const char *name;
        size_t nlen;
        if (p[1] == '{' || p[1] == '(') {
            char open = p[1], close = open == '{' ? '}' : ')';
            int depth = 1;
            const char *q = p + 2;
            for (; *q; q++) {
                if (*q == open)
                    depth++;
                else if (*q == close && --depth == 0)
                    break;
            }
            if (*q == 0) {
                plain_warn(t, "truncated macro reference: \"%s\"", s);
                bad = true;
                break;
            }
            /* After an error Postfix reads no further than a complete
             * braced reference, silently. */
            if (bad)
                break;
            name = p + 2;
            nlen = (size_t) (q - name);
            p = q + 1;
        } else {
            name = p + 1;
            nlen = 0;
            while (is_name_char((unsigned char) name[nlen]))
                nlen++;
            p = name + nlen;
        }
        if (nlen == 0) {
            plain_warn(t, "empty macro name: \"%s\"", s);
            bad = true;
            break;
        }
        bool digits = true;
        for (size_t i = 0; i < nlen; i++)
            if (!isdigit((unsigned char) name[i]))
                digits = false;
        if (!digits) {
            pattern_warn(t, ops->label, path, line, "non-numeric replacement index \"%.*s\"",
                         (int) nlen, name);
            bad = true;
            continue;
        }
        char *copy = xstrndup(name, nlen);
        int n = (int) strtol(copy, NULL, 10);
        free(copy);
        if (n == 0) {
            pattern_warn(t, ops->label, path, line, "%s replacement index \"%.*s\"",
                         ops->zero_index, (int) nlen, name);
            bad = true;
            continue;
        }
        if (lit.len > lit_start)
            piece_add(&pieces, 0, lit_start, lit.len - lit_start);
        lit_start = lit.len;
        piece_add(&pieces, (unsigned) n, 0, 0);
        if ((unsigned) n > *max)
            *max = (unsigned) n;
    }
    if (bad) {
        pattern_warn(t, ops->label, path, line, "bad replacement syntax: skipping this rule");
        buf_free(&lit);
        free(pieces.items);
        return -1;
    }
    if (pieces.count > 0 && lit.len > lit_start)
        piece_add(&pieces, 0, lit_start, lit.len - lit_start);
    rule->plain = pieces.count == 0;
    rule->text = buf_steal(&lit);
    if (rule->plain) {
        free(pieces.items);
    } else {
        rule->pieces = pieces.items;
        rule->npieces = pieces.count;
    }
    return 0;
}

static void rule_free(const struct rx_ops *ops, struct rx_rule *r)
{
    if (r->re)
        ops->free(r->re);
    free(r->text);
    free(r->pieces);
}

/*
 * parse_rule - "[!]/pattern/flags result" (or, after "if", the condition
 * alone).  0 with rule filled in, or -1 after the warnings Postfix gives.
 */
static int parse_rule(struct table *t, const struct rx_ops *ops, const char *path, int line,
                      char *p, bool is_if, struct rx_rule *rule, unsigned *max_used)
{
    bool negate = false;
    p = pattern_negation(p, &negate);
    if (*p == 0) {
        pattern_warn(t, ops->label, path, line, "no regexp: skipping this rule");
        return -1;
    }
    char delim = *p++;
    char *pattern = p;
    while (*p && *p != delim) {
        if (*p == '\\' && p[1])
            p++;
        p++;
    }
    if (*p == 0) {
        pattern_warn(t, ops->label, path, line, "no closing regexp delimiter \"%c\": %s this rule",
                     delim, ops->no_delim_verb);
        return -1;
    }
    *p++ = 0;
    char *letters = p;
    while (*p && !pattern_is_space((unsigned char) *p))
        p++;
    char *letters_end = p;
    p = pattern_skip_space(p);
    *letters_end = 0;
    unsigned options = ops->default_options;
    if (ops->flags(t, path, line, letters, &options) == -1)
        return -1;

    unsigned max = 0;
    rule->kind = is_if ? RX_IF : RX_MATCH;
    rule->negate = negate;
    rule->line = line;
    if (is_if) {
        if (*p) {
            pattern_warn(t, ops->label, path, line,
                         "ignoring extra text after IF statement: \"%s\"", p);
            pattern_warn(t, ops->label, path, line,
                         "do not prepend whitespace to statements between IF and ENDIF");
        }
    } else {
        if (*p == 0)
            pattern_warn(t, ops->label, path, line, "no replacement text: using empty string");
        if (parse_result(t, ops, path, line, p, rule, &max) == -1)
            return -1;
        if (negate && max != 0) {
            pattern_warn(t, ops->label, path, line,
                         "$number found in negative match replacement text: skipping this rule");
            rule_free(ops, rule);
            return -1;
        }
    }
    struct buf err;
    buf_init(&err);
    unsigned groups = 0;
    if (ops->compile(t, pattern, options, max != 0, &rule->re, &groups, &err) == -1) {
        pattern_warn(t, ops->label, path, line, "%s", buf_cstr(&err));
        buf_free(&err);
        rule->re = NULL;
        rule_free(ops, rule);
        return -1;
    }
    buf_free(&err);
    if (max > groups) {
        pattern_warn(t, ops->label, path, line,
                     "out of range replacement index \"%d\": skipping this rule", (int) max);
        rule_free(ops, rule);
        return -1;
    }
    *max_used = max;
    return 0;
}

int rx_table_load(struct table *t, const struct rx_ops *ops, struct rx_table *rx, struct buf *err)
{
    struct table_source src;
    if (pattern_source_open(&src, t->name, ops->label, err) == -1)
        return -1;
    memset(rx, 0, sizeof(*rx));
    buf_init(&rx->result);
    size_t cap = 0;
    size_t *open_ifs = NULL, depth = 0, depth_cap = 0;
    char *line;
    while ((line = table_source_next_line(&src)) != NULL) {
        int ln = src.line;
        char *rest;
        if ((rest = pattern_keyword(line, "endif")) != NULL) {
            if (depth == 0) {
                pattern_warn(t, ops->label, src.path, ln, "ignoring ENDIF without matching IF");
                continue;
            }
            rx->rules[open_ifs[--depth]].end = rx->count;
            if (*pattern_skip_space(rest))
                pattern_warn(t, ops->label, src.path, ln, "ignoring extra text after ENDIF");
            continue;
        }
        bool is_if = (rest = pattern_keyword(line, "if")) != NULL;
        if (!is_if) {
            if (isalnum((unsigned char) line[0])) {
                pattern_warn(t, ops->label, src.path, ln, "ignoring unrecognized request");
                continue;
            }
            rest = line;
        }
        if (is_if && depth >= PATTERN_MAX_NESTING) {
            pattern_warn(t, ops->label, src.path, ln,
                         "IF nesting deeper than %d: skipping this rule", PATTERN_MAX_NESTING);
            continue;
        }
        struct rx_rule rule = {0};
        unsigned used = 0;
        if (parse_rule(t, ops, src.path, ln, rest, is_if, &rule, &used) == -1)
            continue;
        if (used > rx->max_groups)
            rx->max_groups = used;
        if (rx->count == cap) {
            cap = cap ? cap * 2 : 16;
            rx->rules = xreallocarray(rx->rules, cap, sizeof(*rx->rules));
        }
        if (is_if) {
            if (depth == depth_cap) {
                depth_cap = depth_cap ? depth_cap * 2 : 8;
                open_ifs = xreallocarray(open_ifs, depth_cap, sizeof(*open_ifs));
            }
            open_ifs[depth++] = rx->count;
        }
        rx->rules[rx->count++] = rule;
    }
    /* An unclosed "if" covers the rest of the table, as in Postfix. */
    while (depth > 0) {
        struct rx_rule *r = &rx->rules[open_ifs[--depth]];
        r->end = rx->count;
        pattern_warn(t, ops->label, src.path, r->line, "IF has no matching ENDIF");
    }
    free(open_ifs);
    table_source_close(&src);
    return 0;
}

enum table_status rx_table_lookup(struct table *t, const struct rx_ops *ops, struct rx_table *rx,
                                  const char *key, const char **value)
{
    for (size_t i = 0; i < rx->count; i++) {
        struct rx_rule *r = &rx->rules[i];
        bool groups = r->kind == RX_MATCH && !r->negate && !r->plain;
        int m = ops->match(t, r->re, key, groups);
        if (m == -1) {
            /* A matching error: this rule (or block) does not apply. */
            if (r->kind == RX_IF)
                i = r->end - 1;
            continue;
        }
        bool hit = (m == 1) != r->negate;
        if (r->kind == RX_IF) {
            if (!hit)
                i = r->end - 1; /* the loop steps to r->end */
            continue;
        }
        if (!hit)
            continue;
        if (r->plain) {
            *value = r->text;
            return TABLE_FOUND;
        }
        buf_reset(&rx->result);
        buf_append(&rx->result, "", 0); /* allocated and terminated */
        for (size_t j = 0; j < r->npieces; j++) {
            const struct rx_piece *pc = &r->pieces[j];
            size_t start, len;
            if (pc->group == 0)
                buf_append(&rx->result, r->text + pc->off, pc->len);
            else if (ops->group(t, pc->group, &start, &len))
                buf_append(&rx->result, key + start, len);
        }
        *value = buf_cstr(&rx->result);
        return TABLE_FOUND;
    }
    return TABLE_NOTFOUND;
}

void rx_table_free(const struct rx_ops *ops, struct rx_table *rx)
{
    for (size_t i = 0; i < rx->count; i++)
        rule_free(ops, &rx->rules[i]);
    free(rx->rules);
    buf_free(&rx->result);
    memset(rx, 0, sizeof(*rx));
}
