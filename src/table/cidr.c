/*
 * cidr - network address tables, cidr_table(5): "[!]pattern result" rules
 * where a pattern is an IPv4 or IPv6 network/prefix or a single address
 * (optionally in [brackets]), "if [!]pattern" ... "endif" blocks, the
 * first rule in file order that applies wins.  Keys that are not IPv4 or
 * IPv6 addresses match nothing, not even a negated pattern; an address
 * matches only patterns of its own family (an IPv4-mapped IPv6 key is an
 * IPv6 address, as in Postfix).
 *
 * Speed: the policy engine asks a cidr table once per decision, and tables
 * of ten thousand networks are common.  A run of plain rules (no "!", no
 * "if") is therefore indexed: one hash table per (family, prefix length),
 * keyed by the network, holding the earliest rule for that network.  A
 * lookup masks the key once per prefix length present and keeps the
 * earliest rule found - the same answer as a scan in file order.  Prefix
 * lengths are visited in order of their earliest rule, so the search stops
 * as soon as no remaining length can hold an earlier rule.  Negated rules
 * and if-blocks split the runs and are checked in sequence between them;
 * an if-block's body is indexed the same way.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "table/pattern.h"

/* Runs of at least this many plain rules are indexed, shorter ones scanned. */
size_t table_cidr_index_min = 8;

struct cidr_addr {
    uint64_t hi, lo; /* IPv4: hi 0, lo the address; IPv6: the two halves */
};

struct cidr_rule {
    struct cidr_addr net; /* host bits zero */
    struct cidr_addr mask;
    uint8_t family; /* 4 or 6 */
    uint8_t prefix;
    bool negate;
    uint32_t number; /* position in the file */
    const char *value;
};

struct cidr_slot {
    struct cidr_addr key;
    uint32_t number;
    const char *value; /* NULL: empty slot */
};

/* All networks of one family and one prefix length in a run. */
struct cidr_bucket {
    struct cidr_addr mask;
    uint32_t first; /* the earliest rule in the bucket */
    size_t slot_mask;
    struct cidr_slot *slots;
};

struct cidr_index {
    struct cidr_bucket *buckets[2]; /* IPv4, IPv6; sorted by first */
    size_t count[2];
};

enum cidr_item_kind { CIDR_RULE, CIDR_INDEX, CIDR_IF };

struct cidr_block;

struct cidr_item {
    enum cidr_item_kind kind;
    struct cidr_rule rule;    /* CIDR_RULE; CIDR_IF: the condition */
    struct cidr_index *index; /* CIDR_INDEX */
    struct cidr_block *body;  /* CIDR_IF */
};

struct cidr_block {
    struct cidr_item *items;
    size_t count, cap;
    struct cidr_rule *pending; /* plain rules not yet placed */
    size_t npending, pending_cap;
};

struct cidr_table {
    struct cidr_block top;
    struct arena *values;
    uint32_t rules;
};

static struct cidr_addr addr_mask(int family, int prefix)
{
    struct cidr_addr m = {0, 0};
    if (family == 4) {
        m.lo = prefix == 0 ? 0 : (0xffffffffULL << (32 - prefix)) & 0xffffffffULL;
    } else if (prefix <= 64) {
        m.hi = prefix == 0 ? 0 : ~0ULL << (64 - prefix);
    } else {
        m.hi = ~0ULL;
        m.lo = ~0ULL << (128 - prefix);
    }
    return m;
}

static uint64_t load_be64(const unsigned char *b)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | b[i];
    return v;
}

static void store_be64(unsigned char *b, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        b[i] = (unsigned char) v;
}

/* parse_addr - text to address; 4 or 6 by the presence of ':', 0 if bad */
static int parse_addr(const char *text, struct cidr_addr *a)
{
    unsigned char b[16];
    if (strchr(text, ':') != NULL) {
        if (inet_pton(AF_INET6, text, b) != 1)
            return 0;
        a->hi = load_be64(b);
        a->lo = load_be64(b + 8);
        return 6;
    }
    if (inet_pton(AF_INET, text, b) != 1)
        return 0;
    a->hi = 0;
    a->lo = ((uint64_t) b[0] << 24) | ((uint64_t) b[1] << 16) | ((uint64_t) b[2] << 8) | b[3];
    return 4;
}

static void format_addr(int family, const struct cidr_addr *a, char *out, size_t size)
{
    unsigned char b[16];
    if (family == 6) {
        store_be64(b, a->hi);
        store_be64(b + 8, a->lo);
        inet_ntop(AF_INET6, b, out, (socklen_t) size);
    } else {
        b[0] = (unsigned char) (a->lo >> 24);
        b[1] = (unsigned char) (a->lo >> 16);
        b[2] = (unsigned char) (a->lo >> 8);
        b[3] = (unsigned char) a->lo;
        inet_ntop(AF_INET, b, out, (socklen_t) size);
    }
}

#define WARN(...) pattern_warn(t, "cidr", path, line, __VA_ARGS__)

/*
 * parse_pattern - "addr", "addr/len", "[addr]", "[addr]/len" or
 * "[addr/len]" into r; -1 after a warning worded as Postfix words it.  The
 * checks run in Postfix's order: brackets, mask digits, mask length,
 * network, host bits.
 */
static int parse_pattern(struct table *t, const char *path, int line, const char *pattern,
                         struct cidr_rule *r)
{
    char *text;
    if (pattern[0] == '[') {
        const char *close = strchr(pattern, ']');
        if (close == NULL) {
            WARN("missing ']' character after \"%s\": skipping this rule", pattern);
            return -1;
        }
        if (close[1] != 0 && close[1] != '/') {
            WARN("garbage after \"%.*s\": skipping this rule", (int) (close - pattern + 1),
                 pattern);
            return -1;
        }
        text = xasprintf("%.*s%s", (int) (close - pattern - 1), pattern + 1, close + 1);
    } else {
        text = xstrdup(pattern);
    }
    int rc = -1;
    int family = strchr(text, ':') ? 6 : 4;
    int max = family == 6 ? 128 : 32;
    int prefix = max;
    struct cidr_addr a;
    char *slash = strchr(text, '/');
    if (slash != NULL) {
        const char *m = slash + 1;
        bool digits = *m != 0;
        for (const char *c = m; *c; c++)
            if (!isdigit((unsigned char) *c))
                digits = false;
        if (!digits) {
            WARN("bad mask value in \"%s\": skipping this rule", text);
            goto done;
        }
        /* Converted as Postfix converts it (to a C int), out-of-range
         * lengths included. */
        prefix = (int) strtol(m, NULL, 10);
        if (prefix < 0 || prefix > max) {
            WARN("bad mask length in \"%s\": skipping this rule", text);
            goto done;
        }
        *slash = 0;
        int f = parse_addr(text, &a);
        *slash = '/';
        if (f != family) {
            WARN("bad network value in \"%s\": skipping this rule", text);
            goto done;
        }
    } else if (parse_addr(text, &a) != family) {
        WARN("bad address pattern: \"%s\": skipping this rule", text);
        goto done;
    }
    struct cidr_addr mask = addr_mask(family, prefix);
    if ((a.hi & ~mask.hi) != 0 || (a.lo & ~mask.lo) != 0) {
        struct cidr_addr net = {a.hi & mask.hi, a.lo & mask.lo};
        char shown[INET6_ADDRSTRLEN];
        format_addr(family, &net, shown, sizeof(shown));
        WARN("non-null host address bits in \"%s\", perhaps you should use \"%s/%d\" instead: "
             "skipping this rule",
             text, shown, prefix);
        goto done;
    }
    r->net = a;
    r->mask = mask;
    r->family = (uint8_t) family;
    r->prefix = (uint8_t) prefix;
    rc = 0;
done:
    free(text);
    return rc;
}

/* ---- the index ---- */

static size_t addr_hash(const struct cidr_addr *k)
{
    uint64_t h = k->hi * 0x9e3779b97f4a7c15ULL ^ k->lo;
    h ^= h >> 31;
    h *= 0xd6e8feb86659fd93ULL;
    h ^= h >> 32;
    return (size_t) h;
}

static bool addr_eq(const struct cidr_addr *a, const struct cidr_addr *b)
{
    return a->hi == b->hi && a->lo == b->lo;
}

static int bucket_cmp(const void *x, const void *y)
{
    const struct cidr_bucket *a = x, *b = y;
    return a->first < b->first ? -1 : a->first > b->first;
}

static struct cidr_index *index_build(const struct cidr_rule *rules, size_t n)
{
    struct cidr_index *ix = xcalloc(1, sizeof(*ix));
    for (int fi = 0; fi < 2; fi++) {
        int family = fi == 0 ? 4 : 6;
        size_t per_len[129] = {0};
        for (size_t i = 0; i < n; i++)
            if (rules[i].family == family)
                per_len[rules[i].prefix]++;
        size_t nb = 0;
        for (int len = 0; len <= 128; len++)
            nb += per_len[len] > 0;
        if (nb == 0)
            continue;
        struct cidr_bucket *b = xcalloc(nb, sizeof(*b));
        struct cidr_bucket *of_len[129] = {0};
        size_t k = 0;
        for (int len = 0; len <= 128; len++) {
            if (per_len[len] == 0)
                continue;
            size_t slots = 4;
            while (slots < per_len[len] * 2)
                slots *= 2;
            b[k].mask = addr_mask(family, len);
            b[k].first = UINT32_MAX;
            b[k].slot_mask = slots - 1;
            b[k].slots = xcalloc(slots, sizeof(*b[k].slots));
            of_len[len] = &b[k++];
        }
        /* In file order: the first rule for a network stays. */
        for (size_t i = 0; i < n; i++) {
            const struct cidr_rule *r = &rules[i];
            if (r->family != family)
                continue;
            struct cidr_bucket *bk = of_len[r->prefix];
            if (bk->first == UINT32_MAX)
                bk->first = r->number;
            size_t h = addr_hash(&r->net) & bk->slot_mask;
            while (bk->slots[h].value != NULL && !addr_eq(&bk->slots[h].key, &r->net))
                h = (h + 1) & bk->slot_mask;
            if (bk->slots[h].value == NULL)
                bk->slots[h] = (struct cidr_slot){r->net, r->number, r->value};
        }
        qsort(b, nb, sizeof(*b), bucket_cmp);
        ix->buckets[fi] = b;
        ix->count[fi] = nb;
    }
    return ix;
}

static const char *index_lookup(const struct cidr_index *ix, int family, const struct cidr_addr *a)
{
    int fi = family == 4 ? 0 : 1;
    uint32_t best = UINT32_MAX;
    const char *value = NULL;
    for (size_t i = 0; i < ix->count[fi]; i++) {
        const struct cidr_bucket *b = &ix->buckets[fi][i];
        if (b->first >= best)
            break; /* the rest can only hold later rules */
        struct cidr_addr k = {a->hi & b->mask.hi, a->lo & b->mask.lo};
        size_t h = addr_hash(&k) & b->slot_mask;
        for (;; h = (h + 1) & b->slot_mask) {
            const struct cidr_slot *s = &b->slots[h];
            if (s->value == NULL)
                break;
            if (addr_eq(&s->key, &k)) {
                if (s->number < best) {
                    best = s->number;
                    value = s->value;
                }
                break;
            }
        }
    }
    return value;
}

static void index_free(struct cidr_index *ix)
{
    for (int fi = 0; fi < 2; fi++) {
        for (size_t i = 0; i < ix->count[fi]; i++)
            free(ix->buckets[fi][i].slots);
        free(ix->buckets[fi]);
    }
    free(ix);
}

/* ---- blocks: the rules in order ---- */

static struct cidr_item *block_add(struct cidr_block *b, enum cidr_item_kind kind)
{
    if (b->count == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 8;
        b->items = xreallocarray(b->items, b->cap, sizeof(*b->items));
    }
    struct cidr_item *it = &b->items[b->count++];
    memset(it, 0, sizeof(*it));
    it->kind = kind;
    return it;
}

/* block_flush - place the pending run of plain rules */
static void block_flush(struct cidr_block *b)
{
    if (b->npending >= table_cidr_index_min) {
        block_add(b, CIDR_INDEX)->index = index_build(b->pending, b->npending);
    } else {
        for (size_t i = 0; i < b->npending; i++)
            block_add(b, CIDR_RULE)->rule = b->pending[i];
    }
    free(b->pending);
    b->pending = NULL;
    b->npending = b->pending_cap = 0;
}

static void block_pend(struct cidr_block *b, const struct cidr_rule *r)
{
    if (b->npending == b->pending_cap) {
        b->pending_cap = b->pending_cap ? b->pending_cap * 2 : 16;
        b->pending = xreallocarray(b->pending, b->pending_cap, sizeof(*b->pending));
    }
    b->pending[b->npending++] = *r;
}

static void block_free(struct cidr_block *b)
{
    for (size_t i = 0; i < b->count; i++) {
        if (b->items[i].index)
            index_free(b->items[i].index);
        if (b->items[i].body) {
            block_free(b->items[i].body);
            free(b->items[i].body);
        }
    }
    free(b->items);
    free(b->pending);
}

static bool rule_applies(const struct cidr_rule *r, int family, const struct cidr_addr *a)
{
    if (r->family != family)
        return false;
    bool inside = (a->hi & r->mask.hi) == r->net.hi && (a->lo & r->mask.lo) == r->net.lo;
    return inside != r->negate;
}

static const char *block_lookup(const struct cidr_block *b, int family, const struct cidr_addr *a)
{
    for (size_t i = 0; i < b->count; i++) {
        const struct cidr_item *it = &b->items[i];
        const char *v = NULL;
        switch (it->kind) {
        case CIDR_RULE:
            if (rule_applies(&it->rule, family, a))
                return it->rule.value;
            break;
        case CIDR_INDEX: v = index_lookup(it->index, family, a); break;
        case CIDR_IF:
            if (rule_applies(&it->rule, family, a))
                v = block_lookup(it->body, family, a);
            break;
        }
        if (v != NULL)
            return v;
    }
    return NULL;
}

/* ---- loading ---- */

static int cidr_open(struct table *t, struct buf *err)
{
    struct table_source src;
    if (pattern_source_open(&src, t->name, "cidr", err) == -1)
        return -1;
    struct cidr_table *ct = xcalloc(1, sizeof(*ct));
    ct->values = arena_new(16384);
    struct cidr_block **stack = xcalloc(PATTERN_MAX_NESTING + 1, sizeof(*stack));
    int *if_lines = xcalloc(PATTERN_MAX_NESTING + 1, sizeof(*if_lines));
    size_t depth = 0;
    stack[0] = &ct->top;
    const char *path = src.path;
    char *text;
    while ((text = table_source_next_line(&src)) != NULL) {
        int line = src.line;
        struct cidr_block *cur = stack[depth];
        struct cidr_rule r = {0};
        char *rest;
        if ((rest = pattern_keyword(text, "if")) != NULL) {
            char *p = pattern_negation(rest, &r.negate);
            if (*p == 0) {
                WARN("no address pattern: skipping this rule");
                continue;
            }
            if (parse_pattern(t, path, line, p, &r) == -1)
                continue;
            if (depth >= PATTERN_MAX_NESTING) {
                WARN("IF nesting deeper than %d: skipping this rule", PATTERN_MAX_NESTING);
                continue;
            }
            r.number = ct->rules++;
            block_flush(cur);
            struct cidr_item *it = block_add(cur, CIDR_IF);
            it->rule = r;
            it->body = xcalloc(1, sizeof(*it->body));
            stack[++depth] = it->body;
            if_lines[depth] = line;
            continue;
        }
        if ((rest = pattern_keyword(text, "endif")) != NULL) {
            if (*pattern_skip_space(rest) != 0) {
                WARN("garbage after ENDIF: skipping this rule");
            } else if (depth == 0) {
                WARN("ENDIF without IF: skipping this rule");
            } else {
                block_flush(cur);
                depth--;
            }
            continue;
        }
        char *p = pattern_negation(text, &r.negate);
        if (*p == 0) {
            WARN("no address pattern: skipping this rule");
            continue;
        }
        char *end = p;
        while (*end && !pattern_is_space((unsigned char) *end))
            end++;
        char *value = pattern_skip_space(end);
        *end = 0;
        if (parse_pattern(t, path, line, p, &r) == -1)
            continue;
        if (*value == 0) {
            WARN("no lookup result: skipping this rule");
            continue;
        }
        r.value = arena_strdup(ct->values, value);
        r.number = ct->rules++;
        if (r.negate) {
            block_flush(cur);
            block_add(cur, CIDR_RULE)->rule = r;
        } else {
            block_pend(cur, &r);
        }
    }
    /* An unclosed "if" covers the rest of the table, as in Postfix. */
    for (; depth > 0; depth--) {
        block_flush(stack[depth]);
        int line = if_lines[depth];
        WARN("IF has no matching ENDIF");
    }
    block_flush(&ct->top);
    free(stack);
    free(if_lines);
    table_source_close(&src);
    t->data = ct;
    return 0;
}

static enum table_status cidr_lookup(struct table *t, const char *key, const char **value)
{
    struct cidr_table *ct = t->data;
    struct cidr_addr a;
    int family = parse_addr(key, &a);
    if (family == 0)
        return TABLE_NOTFOUND;
    const char *v = block_lookup(&ct->top, family, &a);
    if (v == NULL)
        return TABLE_NOTFOUND;
    *value = v;
    return TABLE_FOUND;
}

static void cidr_close(struct table *t)
{
    struct cidr_table *ct = t->data;
    block_free(&ct->top);
    arena_free(ct->values);
    free(ct);
    t->data = NULL;
}

const struct table_type table_type_cidr = {
    .name = "cidr",
    .flags = TABLE_T_PATTERN | TABLE_T_SOURCE,
    .open = cidr_open,
    .lookup = cidr_lookup,
    .close = cidr_close,
};
