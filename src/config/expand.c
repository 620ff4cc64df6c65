/*
 * expand - the $name macro language of main.cf values (postconf(5),
 * "DESCRIPTION"):
 *
 *   $name ${name} $(name)     the value of name, itself expanded (recursively)
 *   ${name?text}              text when name has a non-empty value, else ""
 *   ${name:text}              text when name is undefined or empty, else ""
 *   ${name?{text1}:{text2}}   text1 or text2; the braces around text2 are
 *                             optional; ${name?{text}} and ${name:{text}} too
 *   ${{a} OP {b}}             "true" or "" ; OP is == != < <= > >= compared
 *                             as numbers when both sides are all digits,
 *                             else as strings; OP followed by "level"
 *                             (==level, <level ...) compares compatibility
 *                             levels N[.N[.N]]; may be followed by ?... or
 *                             :... as a name is
 *   $$                        a literal '$'
 *
 * Whitespace around {values} and after the name is ignored; unbraced text is
 * taken as written.  A '$' followed by anything else is an error, as in
 * Postfix.  Lookup results are expanded again, at most EXPAND_MAX_DEPTH
 * levels deep (a loop of references ends there with an error naming the
 * parameter); total work and output are capped so that no configuration can
 * make expansion slow or huge.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

#define EXPAND_MAX_DEPTH   100
#define EXPAND_MAX_OUTPUT  (1u << 20) /* bytes */
#define EXPAND_MAX_LOOKUPS 100000
#define EXPAND_ERR_CONTEXT 120 /* bytes of the text quoted in an error */

struct expander {
    expand_lookup_fn lookup;
    void *ctx;
    size_t lookups;
    char *err;
};

static int expand_text(struct expander *x, const char *s, size_t len, int depth, struct buf *out);

static bool is_name_char(int c)
{
    return isalnum((unsigned char) c) || c == '_';
}

static bool is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static const char *skip_space(const char *p, const char *end)
{
    while (p < end && is_space(*p))
        p++;
    return p;
}

/* fail - record the first error, quoting (part of) the text it is about */
static int fail(struct expander *x, const char *what, const char *text, size_t len)
{
    if (x->err == NULL) {
        bool cut = len > EXPAND_ERR_CONTEXT;
        char *quoted = str_printable(text, cut ? EXPAND_ERR_CONTEXT : len);
        x->err = xasprintf("%s in \"%s%s\"", what, quoted, cut ? "..." : "");
        free(quoted);
    }
    return -1;
}

/* match_close - position of the bracket closing the one at open, or NULL */
static const char *match_close(const char *open, const char *end)
{
    char o = *open, c = o == '{' ? '}' : ')';
    int depth = 0;
    for (const char *p = open; p < end; p++) {
        if (*p == o)
            depth++;
        else if (*p == c && --depth == 0)
            return p;
    }
    return NULL;
}

/* braced - "{text}" at *p: the inside in [*in, *in_end), *p after it */
static bool braced(const char **p, const char *end, const char **in, const char **in_end)
{
    if (*p >= end || **p != '{')
        return false;
    const char *close = match_close(*p, end);
    if (close == NULL)
        return false;
    *in = *p + 1;
    *in_end = close;
    *p = close + 1;
    return true;
}

static bool all_digits(const char *s)
{
    if (*s == 0)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char) *s))
            return false;
    return true;
}

/* compare_numbers - digit strings of any length */
static int compare_numbers(const char *a, const char *b)
{
    while (*a == '0' && a[1])
        a++;
    while (*b == '0' && b[1])
        b++;
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb)
        return la < lb ? -1 : 1;
    return strcmp(a, b);
}

/* parse_level - compatibility level "N", "N.N" or "N.N.N" */
static int parse_level(const char *s, long v[3])
{
    v[0] = v[1] = v[2] = 0;
    for (int i = 0; i < 3; i++) {
        if (!isdigit((unsigned char) *s))
            return -1;
        long n = 0;
        for (; isdigit((unsigned char) *s); s++) {
            if (n > 100000000)
                return -1;
            n = n * 10 + (*s - '0');
        }
        v[i] = n;
        if (*s == 0)
            return 0;
        if (*s != '.')
            return -1;
        s++;
    }
    return -1;
}

/* relation - evaluate "{a} OP {b}" starting at *p; -1 on a syntax error */
static int relation(struct expander *x, const char **pp, const char *end, const char *whole,
                    size_t whole_len, int depth, bool *result)
{
    const char *p = *pp, *a, *a_end, *b, *b_end;
    if (!braced(&p, end, &a, &a_end))
        return fail(x, "missing '}'", whole, whole_len);
    p = skip_space(p, end);
    static const char *const ops[] = {"==", "!=", "<=", ">=", "<", ">"};
    int op = -1;
    for (size_t i = 0; i < ARRAY_LEN(ops); i++) {
        size_t n = strlen(ops[i]);
        if ((size_t) (end - p) >= n && memcmp(p, ops[i], n) == 0) {
            op = (int) i;
            p += n;
            break;
        }
    }
    if (op < 0)
        return fail(x, "expected ==, !=, <, <=, > or >= after {value}", whole, whole_len);
    bool level = false;
    if (end - p >= 5 && memcmp(p, "level", 5) == 0) {
        level = true;
        p += 5;
    }
    p = skip_space(p, end);
    if (!braced(&p, end, &b, &b_end))
        return fail(x, "expected {value} after the operator", whole, whole_len);
    *pp = skip_space(p, end);

    struct buf va, vb;
    buf_init(&va);
    buf_init(&vb);
    int rc = -1;
    if (expand_text(x, a, (size_t) (a_end - a), depth, &va) < 0 ||
        expand_text(x, b, (size_t) (b_end - b), depth, &vb) < 0)
        goto done;
    int cmp;
    if (level) {
        long la[3], lb[3];
        if (parse_level(buf_cstr(&va), la) < 0) {
            rc = fail(x, "bad compatibility level", buf_cstr(&va), va.len);
            goto done;
        }
        if (parse_level(buf_cstr(&vb), lb) < 0) {
            rc = fail(x, "bad compatibility level", buf_cstr(&vb), vb.len);
            goto done;
        }
        cmp = 0;
        for (int i = 0; i < 3 && cmp == 0; i++)
            cmp = la[i] < lb[i] ? -1 : la[i] > lb[i];
    } else if (all_digits(buf_cstr(&va)) && all_digits(buf_cstr(&vb))) {
        cmp = compare_numbers(buf_cstr(&va), buf_cstr(&vb));
    } else {
        cmp = strcmp(buf_cstr(&va), buf_cstr(&vb));
    }
    switch (op) {
    case 0: *result = cmp == 0; break;
    case 1: *result = cmp != 0; break;
    case 2: *result = cmp <= 0; break;
    case 3: *result = cmp >= 0; break;
    case 4: *result = cmp < 0; break;
    default: *result = cmp > 0; break;
    }
    rc = 0;
done:
    buf_free(&va);
    buf_free(&vb);
    return rc;
}

/* conditional - the part after '?' or ':' (p points just after it) */
static int conditional(struct expander *x, char op, bool cond, const char *p, const char *end,
                       const char *whole, size_t whole_len, int depth, struct buf *out)
{
    const char *v1 = p, *v1_end = end, *v2 = NULL, *v2_end = NULL;
    const char *q = skip_space(p, end);
    if (q < end && *q == '{') {
        if (!braced(&q, end, &v1, &v1_end))
            return fail(x, "missing '}'", whole, whole_len);
        q = skip_space(q, end);
        if (q < end) {
            if (op != '?' || *q != ':')
                return fail(x,
                            op == '?' ? "expected ':' or the end after {value}"
                                      : "unexpected text after {value}",
                            whole, whole_len);
            q++;
            const char *r = skip_space(q, end);
            if (r < end && *r == '{') {
                if (!braced(&r, end, &v2, &v2_end))
                    return fail(x, "missing '}'", whole, whole_len);
                if (skip_space(r, end) != end)
                    return fail(x, "unexpected text after {value}", whole, whole_len);
            } else {
                v2 = q;
                v2_end = end;
            }
        }
    }
    bool take_first = op == '?' ? cond : !cond;
    if (take_first)
        return expand_text(x, v1, (size_t) (v1_end - v1), depth, out);
    if (v2 != NULL)
        return expand_text(x, v2, (size_t) (v2_end - v2), depth, out);
    return 0;
}

/* lookup - the raw value of a name, counting the work done */
static int lookup(struct expander *x, const char *name, size_t len, const char **value)
{
    if (++x->lookups > EXPAND_MAX_LOOKUPS) {
        if (x->err == NULL)
            x->err =
                xasprintf("expansion takes more than %d parameter lookups", EXPAND_MAX_LOOKUPS);
        return -1;
    }
    char *n = xstrndup(name, len);
    *value = x->lookup(x->ctx, n);
    free(n);
    return 0;
}

/* substitute - the expanded value of name, one level deeper */
static int substitute(struct expander *x, const char *name, size_t len, int depth, struct buf *out)
{
    const char *value;
    if (lookup(x, name, len, &value) < 0)
        return -1;
    if (value == NULL)
        return 0;
    if (depth + 1 > EXPAND_MAX_DEPTH) {
        if (x->err == NULL)
            x->err = xasprintf("parameter %.*s: $name references nested more than %d levels "
                               "deep (is there a loop?)",
                               (int) len, name, EXPAND_MAX_DEPTH);
        return -1;
    }
    return expand_text(x, value, strlen(value), depth + 1, out);
}

/* macro - the inside of ${...} or $(...) */
static int macro(struct expander *x, const char *s, const char *end, int depth, struct buf *out)
{
    size_t whole_len = (size_t) (end - s);
    const char *p = skip_space(s, end);
    bool cond;
    if (p < end && *p == '{') {
        if (relation(x, &p, end, s, whole_len, depth, &cond) < 0)
            return -1;
        if (p == end) {
            if (cond)
                buf_puts(out, "true");
            return 0;
        }
    } else {
        const char *name = p;
        while (p < end && is_name_char(*p))
            p++;
        size_t name_len = (size_t) (p - name);
        if (name_len == 0)
            return fail(x, "missing parameter name after '${'", s, whole_len);
        p = skip_space(p, end);
        if (p == end)
            return substitute(x, name, name_len, depth, out);
        if (*p != '?' && *p != ':')
            return fail(x, "bad parameter name", s, whole_len);
        const char *value;
        if (lookup(x, name, name_len, &value) < 0)
            return -1;
        cond = value != NULL && *value != 0;
    }
    if (*p != '?' && *p != ':')
        return fail(x, "expected '?' or ':' after the comparison", s, whole_len);
    return conditional(x, *p, cond, p + 1, end, s, whole_len, depth, out);
}

static int expand_text(struct expander *x, const char *s, size_t len, int depth, struct buf *out)
{
    const char *p = s, *end = s + len;
    while (p < end) {
        const char *dollar = memchr(p, '$', (size_t) (end - p));
        if (dollar == NULL)
            dollar = end;
        buf_append(out, p, (size_t) (dollar - p));
        if (out->len > EXPAND_MAX_OUTPUT) {
            if (x->err == NULL)
                x->err = xasprintf("expansion is longer than %u bytes", EXPAND_MAX_OUTPUT);
            return -1;
        }
        if (dollar == end)
            break;
        p = dollar + 1;
        if (p == end)
            return fail(x, "'$' at the end (write $$ for a literal '$')", s, len);
        if (*p == '$') {
            buf_putc(out, '$');
            p++;
        } else if (*p == '{' || *p == '(') {
            const char *close = match_close(p, end);
            if (close == NULL)
                return fail(x, *p == '{' ? "missing '}'" : "missing ')'", s, len);
            if (macro(x, p + 1, close, depth, out) < 0)
                return -1;
            p = close + 1;
        } else if (is_name_char(*p)) {
            const char *name = p;
            while (p < end && is_name_char(*p))
                p++;
            if (substitute(x, name, (size_t) (p - name), depth, out) < 0)
                return -1;
        } else {
            return fail(x, "'$' without a parameter name (write $$ for a literal '$')", s, len);
        }
    }
    return 0;
}

int expand(const char *text, expand_lookup_fn lookup_fn, void *ctx, struct buf *out, char **err)
{
    struct expander x = {.lookup = lookup_fn, .ctx = ctx};
    int rc = expand_text(&x, text, strlen(text), 0, out);
    if (rc < 0) {
        if (err)
            *err = x.err;
        else
            free(x.err);
    }
    return rc;
}

static bool strlist_has(const struct strlist *l, const char *s)
{
    for (size_t i = 0; i < l->count; i++)
        if (strcmp(l->items[i], s) == 0)
            return true;
    return false;
}

void expand_names(const char *text, struct strlist *names)
{
    for (const char *p = text; (p = strchr(p, '$')) != NULL;) {
        p++;
        if (*p == '$') {
            p++;
            continue;
        }
        if (*p == '{' || *p == '(') {
            p++;
            while (is_space(*p))
                p++;
        }
        const char *name = p;
        while (is_name_char(*p))
            p++;
        if (p > name) {
            char *n = xstrndup(name, (size_t) (p - name));
            if (strlist_has(names, n))
                free(n);
            else
                strlist_add_owned(names, n);
        }
    }
}
