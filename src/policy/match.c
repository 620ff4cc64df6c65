/*
 * match - Postfix's list parameters (mydestination, relay_domains,
 * mynetworks, smtpd_sasl_exceptions_networks, ...): patterns separated by
 * commas or whitespace, each optionally negated with '!', read from a file
 * when written as /file/name, or looked up in a type:table.  The first
 * pattern that matches decides (a negated one says "no").
 *
 * Three flavours: exact strings (mydestination, virtual_*_domains), domain
 * names with optional parent-domain matching (relay_domains), and
 * host name-or-address lists (mynetworks), whose patterns may also be IP
 * addresses and network/prefix blocks.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy/policy_int.h"

enum pattern_kind { PAT_STRING, PAT_TABLE, PAT_CIDR };

struct pattern {
    enum pattern_kind kind;
    bool negate;
    char *text; /* lower-case pattern */
    struct table *table;
    struct cidr cidr;
};

struct match_list {
    enum match_kind kind;
    bool parent_style;
    char *name; /* parameter, for messages */
    struct pattern *items;
    size_t count;
};

int cidr_parse(const char *text, struct cidr *out, char **err)
{
    char buf[128];
    size_t n = strlen(text);
    if (n >= sizeof(buf)) {
        *err = xasprintf("bad address pattern: \"%s\"", text);
        return -1;
    }
    memcpy(buf, text, n + 1);
    char *slash = strchr(buf, '/');
    char *mask = NULL;
    if (slash) {
        *slash = 0;
        mask = slash + 1;
    }
    char *addr = buf;
    size_t an = strlen(addr);
    if (an >= 2 && addr[0] == '[' && addr[an - 1] == ']') {
        addr[an - 1] = 0;
        addr++;
    }
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, addr, out->addr) == 1) {
        out->family = AF_INET;
        out->bits = 32;
    } else if (inet_pton(AF_INET6, addr, out->addr) == 1) {
        out->family = AF_INET6;
        out->bits = 128;
    } else {
        *err = xasprintf("bad address pattern: \"%s\"", text);
        return -1;
    }
    if (mask) {
        long bits;
        if (str_to_long(mask, &bits) == -1 || bits < 0 || bits > out->bits) {
            *err = xasprintf("bad net/mask pattern: \"%s\"", text);
            return -1;
        }
        out->bits = (int) bits;
        int total = out->family == AF_INET ? 4 : 16;
        unsigned char net[16];
        bool host_bits = false;
        for (int i = 0; i < total; i++) {
            int keep = out->bits - i * 8;
            unsigned char m = keep >= 8   ? 0xff
                              : keep <= 0 ? 0
                                          : (unsigned char) (0xff << (8 - keep));
            net[i] = out->addr[i] & m;
            if (out->addr[i] & ~m)
                host_bits = true;
        }
        if (host_bits) {
            /* As Postfix says it: with the network address to use. */
            char shown[INET6_ADDRSTRLEN];
            inet_ntop(out->family, net, shown, sizeof(shown));
            *err = xasprintf("non-null host address bits in \"%s\", perhaps you should use "
                             "\"%s%s%s/%d\" instead",
                             text, out->family == AF_INET6 ? "[" : "", shown,
                             out->family == AF_INET6 ? "]" : "", out->bits);
            return -1;
        }
    }
    return 0;
}

/* parse_client - the binary form of an address; family 0 when it is none */
static int parse_client(const char *addr, unsigned char a[16])
{
    if (inet_pton(AF_INET, addr, a) == 1)
        return AF_INET;
    if (inet_pton(AF_INET6, addr, a) == 1)
        return AF_INET6;
    return 0;
}

bool cidr_match(const struct cidr *c, const char *addr)
{
    unsigned char a[16];
    int family = parse_client(addr, a);
    return family && cidr_match_binary(c, family, a);
}

bool cidr_match_binary(const struct cidr *c, int family, const unsigned char addr[16])
{
    unsigned char a[16];
    memcpy(a, addr, 16);
    if (family != c->family) {
        /* An IPv4-mapped IPv6 client matches IPv4 patterns. */
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (family == AF_INET6 && c->family == AF_INET && memcmp(a, mapped, 12) == 0) {
            memmove(a, a + 12, 4);
        } else {
            return false;
        }
    }
    int full = c->bits / 8, rest = c->bits % 8;
    if (memcmp(a, c->addr, (size_t) full) != 0)
        return false;
    if (rest) {
        unsigned char m = (unsigned char) (0xff << (8 - rest));
        if ((a[full] & m) != (c->addr[full] & m))
            return false;
    }
    return true;
}

static bool looks_like_address(const char *p)
{
    return p[0] == '[' || strchr(p, ':') != NULL ||
           (p[0] >= '0' && p[0] <= '9' && strspn(p, "0123456789./") == strlen(p));
}

static int add_pattern(struct match_list *m, const char *tok, bool negate, struct strlist *errors,
                       int depth);

bool is_table_spec(const char *tok)
{
    const char *colon = strchr(tok, ':');
    if (colon == NULL || colon == tok ||
        !((tok[0] >= 'a' && tok[0] <= 'z') || (tok[0] >= 'A' && tok[0] <= 'Z')))
        return false;
    for (const char *p = tok; p < colon; p++)
        if (!(isalnum((unsigned char) *p) || *p == '_' || *p == '-' || *p == '+'))
            return false;
    /* fe80::/10 and friends are addresses, not tables */
    char buf[128];
    size_t n = strcspn(tok, "/");
    if (n < sizeof(buf)) {
        memcpy(buf, tok, n);
        buf[n] = 0;
        unsigned char a[16];
        if (inet_pton(AF_INET6, buf, a) == 1)
            return false;
    }
    return true;
}

static int add_file(struct match_list *m, const char *path, bool negate, struct strlist *errors,
                    int depth)
{
    struct buf text;
    buf_init(&text);
    if (file_read_all(path, &text) == -1) {
        strlist_add_owned(errors, xasprintf("%s: open %s: %s", m->name, path, strerror(errno)));
        buf_free(&text);
        return -1;
    }
    /* Strip comments, then split like the parameter itself. */
    struct buf clean;
    buf_init(&clean);
    char *save, *line;
    for (line = strtok_r(text.data ? text.data : (char *) "", "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        buf_puts(&clean, line);
        buf_putc(&clean, ' ');
    }
    struct strlist toks;
    strlist_init(&toks);
    int rc = 0;
    char *err = NULL;
    if (str_split_list(buf_cstr(&clean), LIST_SEPS, &toks, &err) == -1) {
        strlist_add_owned(errors, xasprintf("%s: %s: %s", m->name, path, err));
        free(err);
        rc = -1;
    }
    for (size_t i = 0; i < toks.count && rc == 0; i++) {
        const char *t = toks.items[i];
        bool neg = negate;
        while (*t == '!') {
            neg = !neg;
            t++;
        }
        rc = add_pattern(m, t, neg, errors, depth + 1);
    }
    strlist_free(&toks);
    buf_free(&clean);
    buf_free(&text);
    return rc;
}

static int add_pattern(struct match_list *m, const char *tok, bool negate, struct strlist *errors,
                       int depth)
{
    if (depth > 10) {
        strlist_add_owned(errors, xasprintf("%s: files nested too deeply", m->name));
        return -1;
    }
    if (*tok == 0)
        return 0;
    if (tok[0] == '/')
        return add_file(m, tok, negate, errors, depth);
    struct pattern p = {.negate = negate};
    if (is_table_spec(tok)) {
        p.kind = PAT_TABLE;
        p.text = xstrdup(tok);
        p.table = table_open(tok, TABLE_OPEN_FOLD);
    } else if (m->kind == MATCH_HOSTADDR && looks_like_address(tok)) {
        char *err = NULL;
        if (cidr_parse(tok, &p.cidr, &err) == -1) {
            strlist_add_owned(errors, xasprintf("%s: %s", m->name, err));
            free(err);
            return -1;
        }
        p.kind = PAT_CIDR;
        p.text = xstrdup(tok);
    } else {
        p.kind = PAT_STRING;
        p.text = xstrdup(tok);
        str_lower(p.text);
    }
    m->items = xreallocarray(m->items, m->count + 1, sizeof(*m->items));
    m->items[m->count++] = p;
    return 0;
}

struct match_list *match_list_new(const char *param, const char *value, enum match_kind kind,
                                  bool parent_style, struct strlist *errors)
{
    struct match_list *m = xcalloc(1, sizeof(*m));
    m->kind = kind;
    m->parent_style = parent_style;
    m->name = xstrdup(param);
    struct strlist toks;
    strlist_init(&toks);
    char *err = NULL;
    if (str_split_list(value, LIST_SEPS, &toks, &err) == -1) {
        strlist_add_owned(errors, xasprintf("%s: %s", param, err));
        free(err);
    }
    for (size_t i = 0; i < toks.count; i++) {
        const char *t = toks.items[i];
        bool neg = false;
        while (*t == '!') {
            neg = !neg;
            t++;
        }
        add_pattern(m, t, neg, errors, 0);
    }
    strlist_free(&toks);
    return m;
}

void match_list_free(struct match_list *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->count; i++) {
        free(m->items[i].text);
        table_close(m->items[i].table);
    }
    free(m->items);
    free(m->name);
    free(m);
}

bool match_list_empty(const struct match_list *m)
{
    return m == NULL || m->count == 0;
}

/*
 * match_domain_pattern - a name against one domain or host name pattern, as
 * Postfix's match_hostname (domain lists and host lists alike): the name
 * itself; with the parent-domain style, any subdomain of the pattern;
 * without it, ".example.com" for the subdomains.  The two styles exclude
 * each other: with the parent style ".example.com" matches no subdomain.
 */
static bool match_domain_pattern(const struct match_list *m, const char *pattern, const char *name)
{
    if (strcasecmp(name, pattern) == 0)
        return true;
    size_t nl = strlen(name), pl = strlen(pattern);
    if (m->kind == MATCH_STRING || nl <= pl)
        return false;
    const char *pd = name + nl - pl;
    if (m->parent_style)
        return pd[-1] == '.' && strcasecmp(pd, pattern) == 0;
    return pattern[0] == '.' && strcasecmp(pd, pattern) == 0;
}

/* table_match - 1 found, 0 not, -1 error */
static int table_match(const struct match_list *m, struct table *t, const char *name,
                       const char *addr)
{
    const char *v;
    enum table_status st;
    if (name && *name) {
        if (m->kind == MATCH_STRING) {
            st = table_lookup(t, name, &v);
        } else {
            struct access_options o = {NULL, m->parent_style, NULL};
            st = access_lookup_hostname(t, name, true, &o, &v, NULL);
        }
        if (st == TABLE_FOUND)
            return 1;
        if (st != TABLE_NOTFOUND)
            return -1;
    }
    if (addr && *addr) {
        st = table_lookup(t, addr, &v);
        if (st == TABLE_FOUND)
            return 1;
        if (st != TABLE_NOTFOUND)
            return -1;
    }
    return 0;
}

int match_list_match(const struct match_list *m, const char *name, const char *addr)
{
    if (m == NULL)
        return 0;
    unsigned char abin[16];
    int afam = -1; /* the address is parsed once, at the first network */
    for (size_t i = 0; i < m->count; i++) {
        const struct pattern *p = &m->items[i];
        int hit = 0;
        switch (p->kind) {
        case PAT_TABLE:
            hit = table_match(m, p->table, name, m->kind == MATCH_HOSTADDR ? addr : NULL);
            if (hit < 0)
                return -1;
            break;
        case PAT_CIDR:
            if (addr && afam == -1)
                afam = parse_client(addr, abin);
            hit = addr && afam > 0 && cidr_match_binary(&p->cidr, afam, abin);
            break;
        case PAT_STRING: hit = name && *name && match_domain_pattern(m, p->text, name); break;
        }
        if (hit)
            return p->negate ? 0 : 1;
    }
    return 0;
}

/* ---- the public face of match lists ---- */

struct policy_match *policy_match_new(struct config *cfg, const char *param,
                                      enum policy_list_kind kind, struct strlist *errors)
{
    const char *value = config_get(cfg, param);
    if (str_is_blank(value))
        return NULL;
    enum match_kind mk = kind == POLICY_LIST_STRINGS   ? MATCH_STRING
                         : kind == POLICY_LIST_DOMAINS ? MATCH_DOMAIN
                                                       : MATCH_HOSTADDR;
    /* parent_domain_matches_subdomains names the lists that match subdomains */
    struct strlist pd;
    strlist_init(&pd);
    config_get_list(cfg, "parent_domain_matches_subdomains", &pd);
    bool parent = false;
    for (size_t i = 0; i < pd.count; i++)
        parent |= strcasecmp(pd.items[i], param) == 0;
    strlist_free(&pd);
    return (struct policy_match *) match_list_new(param, value, mk, parent, errors);
}

int policy_match(const struct policy_match *m, const char *name, const char *addr)
{
    return match_list_match((const struct match_list *) m, name, addr);
}

void policy_match_free(struct policy_match *m)
{
    match_list_free((struct match_list *) m);
}
