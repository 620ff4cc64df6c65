/*
 * dnsbl - DNS black- and allow-lists: reject_rbl_client, permit_dnswl_client
 * (address lists: reversed IPv4 octets or IPv6 nibbles + zone) and the
 * RHSBL forms (domain + zone).  "zone=pattern" restricts which A records
 * count (127.0.0.10, 127.0.0.[2..11], 127.0.0.[2;4], per octet).  A listing
 * is answered with rbl_reply_maps or default_rbl_reply, expanded with
 * $rbl_code, $rbl_domain, $rbl_what, $rbl_class, $rbl_reason/$rbl_txt and
 * the client facts.  A DNS failure never rejects: it is logged and the
 * restriction passes (an allow-list failure defers a later reject instead).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy_int.h"

#define RBL_TXT_LIMIT 500

/* decimal - text of n characters as a number 0..255 (digits only, as
 * Postfix's ip_match wants them), or -1 */
static int decimal(const char *s, size_t n)
{
    if (n == 0)
        return -1;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char) s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
        if (v > 255)
            return -1;
    }
    return v;
}

/* octet_match - one octet of an address against "N" or "[a;b..c]"; a
 * malformed octet pattern sets *bad (no sign, no space, no empty item) */
static bool octet_match(const char *pat, size_t len, int value, bool *bad)
{
    if (len == 0 || pat[0] != '[') {
        int v = decimal(pat, len);
        if (v < 0)
            *bad = true;
        return v == value;
    }
    if (len < 3 || pat[len - 1] != ']') {
        *bad = true;
        return false;
    }
    const char *p = pat + 1, *end = pat + len - 1;
    bool hit = false;
    for (;;) {
        const char *item_end = memchr(p, ';', (size_t) (end - p));
        if (item_end == NULL)
            item_end = end;
        const char *dots = memmem(p, (size_t) (item_end - p), "..", 2);
        int lo, hi;
        if (dots) {
            lo = decimal(p, (size_t) (dots - p));
            hi = decimal(dots + 2, (size_t) (item_end - dots - 2));
        } else {
            lo = hi = decimal(p, (size_t) (item_end - p));
        }
        if (lo < 0 || hi < 0 || lo > hi) {
            *bad = true;
            return false;
        }
        if (value >= lo && value <= hi)
            hit = true;
        if (item_end == end)
            break;
        p = item_end + 1;
    }
    return hit;
}

/* ip_pattern_match - an IPv4 reply address against a pattern; -1 bad pattern */
int ip_pattern_match(const char *pattern, const char *addr)
{
    int octets[4];
    if (sscanf(addr, "%d.%d.%d.%d", &octets[0], &octets[1], &octets[2], &octets[3]) != 4)
        return 0;
    const char *p = pattern;
    bool bad = false, all = true;
    for (int i = 0; i < 4; i++) {
        const char *end = p;
        if (*end == '[')
            end = strchr(end, ']') ? strchr(end, ']') + 1 : end + strlen(end);
        else
            end += strcspn(end, ".");
        if (!octet_match(p, (size_t) (end - p), octets[i], &bad))
            all = false;
        if (i < 3) {
            if (*end != '.') {
                bad = true;
                break;
            }
            p = end + 1;
        } else if (*end) {
            bad = true;
        }
    }
    return bad ? -1 : all;
}

enum dnsxl_result { DNSXL_PENDING, DNSXL_NOT_LISTED, DNSXL_SOFT, DNSXL_LISTED };

/* find_dnsxl - look up query (a name under the zone) and filter its A records */
static enum dnsxl_result find_dnsxl(struct eval *e, const char *query, const char *filter,
                                    const char **txt)
{
    const struct dns_answer *a = need_dns(e, query, DNS_T_A);
    if (a == NULL)
        return DNSXL_PENDING;
    if (a->status != DNS_OK && a->status != DNS_NOTFOUND) {
        /* Postfix's text: its dns_lookup() "why" around the resolver's */
        eval_warn(e,
                  "%s: RBL lookup error: Host or domain name not found. Name service error for "
                  "name=%s type=A: %s",
                  query, query, a->why ? a->why : "Host not found, try again");
        return DNSXL_SOFT;
    }
    if (a->status != DNS_OK)
        return DNSXL_NOT_LISTED;
    if (filter) {
        bool hit = false;
        for (struct dns_rr *rr = a->rrs; rr && !hit; rr = rr->next) {
            if (rr->type != DNS_T_A)
                continue;
            int m = ip_pattern_match(filter, rr->data);
            if (m < 0) {
                eval_warn(e, "RBL reply error: bad address pattern \"%s\"", filter);
                return DNSXL_NOT_LISTED;
            }
            hit = m == 1;
        }
        if (!hit)
            return DNSXL_NOT_LISTED;
    }
    if (txt) {
        const struct dns_answer *t = need_dns(e, query, DNS_T_TXT);
        if (t == NULL)
            return DNSXL_PENDING;
        *txt = "";
        if (t->status == DNS_OK) {
            struct buf b;
            buf_init(&b);
            for (struct dns_rr *rr = t->rrs; rr; rr = rr->next) {
                size_t room = RBL_TXT_LIMIT > b.len ? RBL_TXT_LIMIT - b.len : 0;
                buf_append(&b, rr->data, strlen(rr->data) < room ? strlen(rr->data) : room);
                if (rr->next && b.len + 3 < RBL_TXT_LIMIT)
                    buf_puts(&b, " / ");
            }
            *txt = arena_strdup(e->s->arena, buf_cstr(&b));
            buf_free(&b);
        }
    }
    return DNSXL_LISTED;
}

struct rbl_macros {
    struct eval *e;
    const char *domain, *what, *class, *txt;
    char code[16];
};

static const char *rbl_lookup(void *ctx, const char *name)
{
    struct rbl_macros *m = ctx;
    struct policy_session *s = m->e->s;
    const char *v;
    if (strcmp(name, "rbl_code") == 0)
        v = m->code;
    else if (strcmp(name, "rbl_domain") == 0)
        v = m->domain;
    else if (strcmp(name, "rbl_reason") == 0 || strcmp(name, "rbl_txt") == 0)
        v = m->txt;
    else if (strcmp(name, "rbl_what") == 0)
        v = m->what;
    else if (strcmp(name, "rbl_class") == 0)
        v = m->class;
    else
        v = policy_macro(s, m->e->where, name);
    return v ? policy_filter_value(s, v) : NULL;
}

static int rbl_reject_reply(struct eval *e, const char *rbl_arg, const char *what,
                            const char *reply_class, const char *txt)
{
    const char *template = NULL;
    if (e->p->has_rbl_reply_maps) {
        const char *v;
        enum table_status st = maps_find(e->p->rbl_reply_maps, e->p->n_rbl_reply_maps, rbl_arg, &v);
        if (st == TABLE_FOUND)
            template = arena_strdup(e->s->arena, v);
        else if (st != TABLE_NOTFOUND)
            return reject_server_error(e);
    }
    struct rbl_macros m = {.e = e, .what = what, .class = reply_class, .txt = txt ? txt : ""};
    char *domain = arena_strdup(e->s->arena, rbl_arg);
    char *eq = strchr(domain, '=');
    if (eq)
        *eq = 0;
    m.domain = domain;
    snprintf(m.code, sizeof(m.code), "%d", e->p->maps_rbl_reject_code);
    struct buf why;
    buf_init(&why);
    for (;;) {
        if (template == NULL)
            template = e->p->default_rbl_reply;
        char *err = NULL;
        buf_reset(&why);
        if (expand(template, rbl_lookup, &m, &why, &err) == 0)
            break;
        free(err);
        if (template == e->p->default_rbl_reply) {
            buf_reset(&why);
            buf_puts(&why, "450 Service unavailable");
            break;
        }
        eval_warn(e, "rbl_reject_reply: bad rbl reply template for domain %s: %s", rbl_arg,
                  template);
        template = NULL;
    }
    const char *w = buf_cstr(&why);
    int status;
    if ((w[0] != '4' && w[0] != '5') || !isdigit((unsigned char) w[1]) ||
        !isdigit((unsigned char) w[2]) || w[3] != ' ') {
        eval_warn(e, "rbl response code configuration error: %s", w);
        status = check_reject(e, ERR_POLICY, 450, "4.7.1", "Service unavailable");
    } else {
        char dsn[16], dsnbuf[16];
        const char *rest;
        dsn_split(w + 4, "4.7.1", dsn, &rest);
        status = check_reject(e, ERR_POLICY, atoi(w), dsn_fix_logged(e, dsn, reply_class, dsnbuf),
                              "%s", *rest ? rest : "Service unavailable");
    }
    buf_free(&why);
    return status;
}

/*
 * addr_query - "reversed.address.zone" for an address list; NULL if
 * unusable.  A check usually asks several lists about the same client
 * address: its reversed form is made once per check (the session keeps
 * it until the check's facts are forgotten).
 */
static char *addr_query(struct eval *e, const char *addr, const char *zone_arg, const char **filter)
{
    struct policy_session *s = e->s;
    if (s->rbl_rev == NULL || s->rbl_rev_addr != addr) {
        free(s->rbl_rev);
        s->rbl_rev = dns_reverse_query(addr);
        s->rbl_rev_addr = addr;
    }
    if (s->rbl_rev == NULL)
        return NULL;
    const char *eq = strchr(zone_arg, '=');
    size_t zone_len = eq ? (size_t) (eq - zone_arg) : strlen(zone_arg);
    *filter = eq ? eq + 1 : NULL;
    size_t rev_len = strlen(s->rbl_rev);
    char *q = xmalloc(rev_len + 1 + zone_len + 1);
    memcpy(q, s->rbl_rev, rev_len);
    q[rev_len] = '.';
    memcpy(q + rev_len + 1, zone_arg, zone_len);
    q[rev_len + 1 + zone_len] = 0;
    return q;
}

int reject_rbl_addr(struct eval *e, const char *rbl_domain, const char *addr,
                    const char *reply_class)
{
    const char *filter;
    char *q = addr_query(e, addr, rbl_domain, &filter);
    if (q == NULL)
        return CHECK_DUNNO;
    const char *txt = NULL;
    enum dnsxl_result r = find_dnsxl(e, q, filter, &txt);
    free(q);
    if (r == DNSXL_PENDING)
        return CHECK_PENDING;
    if (r != DNSXL_LISTED)
        return CHECK_DUNNO;
    return rbl_reject_reply(e, rbl_domain, addr, reply_class, txt);
}

int permit_dnswl_addr(struct eval *e, const char *zone, const char *addr, const char *reply_class)
{
    if (strcmp(e->where, "RCPT") == 0 && e->s->recipient &&
        permit_auth_destination(e, e->s->recipient) != CHECK_OK)
        return CHECK_DUNNO;
    const char *filter;
    char *q = addr_query(e, addr, zone, &filter);
    if (q == NULL)
        return CHECK_DUNNO;
    enum dnsxl_result r = find_dnsxl(e, q, filter, NULL);
    free(q);
    switch (r) {
    case DNSXL_PENDING: return CHECK_PENDING;
    case DNSXL_LISTED: return CHECK_OK;
    case DNSXL_SOFT:
        defer_if(e, &e->s->st.defer_if_reject, 450, "4.7.1", "<%s>: %s rejected: %s", addr,
                 reply_class, "Service unavailable");
        return CHECK_DUNNO;
    default: return CHECK_DUNNO;
    }
}

/* domain_query - "domain.zone" for a domain list; NULL when not applicable */
static char *domain_query(const char *what, const char *zone_arg, const char **filter)
{
    const char *domain = strrchr(what, '@');
    if (domain) {
        domain++;
        if (domain[0] == '[')
            return NULL;
    } else {
        domain = what;
    }
    if (*domain == 0 || !valid_hostname(domain))
        return NULL;
    const char *suffix = strrchr(domain, '.');
    suffix = suffix ? suffix + 1 : domain;
    if (strspn(suffix, "0123456789") == strlen(suffix))
        return NULL;
    char *zone = xstrdup(zone_arg);
    char *eq = strchr(zone, '=');
    *filter = NULL;
    if (eq) {
        *eq = 0;
        *filter = zone_arg + (eq - zone) + 1;
    }
    char *q = xasprintf("%s.%s", domain, zone);
    free(zone);
    return q;
}

int reject_rbl_domain(struct eval *e, const char *rbl_domain, const char *what,
                      const char *reply_class)
{
    const char *filter;
    char *q = domain_query(what, rbl_domain, &filter);
    if (q == NULL)
        return CHECK_DUNNO;
    const char *txt = NULL;
    enum dnsxl_result r = find_dnsxl(e, q, filter, &txt);
    free(q);
    if (r == DNSXL_PENDING)
        return CHECK_PENDING;
    if (r != DNSXL_LISTED)
        return CHECK_DUNNO;
    return rbl_reject_reply(e, rbl_domain, what, reply_class, txt);
}

int permit_dnswl_domain(struct eval *e, const char *zone, const char *what, const char *reply_class)
{
    if (strcmp(e->where, "RCPT") == 0 && e->s->recipient &&
        permit_auth_destination(e, e->s->recipient) != CHECK_OK)
        return CHECK_DUNNO;
    const char *filter;
    char *q = domain_query(what, zone, &filter);
    if (q == NULL)
        return CHECK_DUNNO;
    enum dnsxl_result r = find_dnsxl(e, q, filter, NULL);
    free(q);
    switch (r) {
    case DNSXL_PENDING: return CHECK_PENDING;
    case DNSXL_LISTED: return CHECK_OK;
    case DNSXL_SOFT:
        defer_if(e, &e->s->st.defer_if_reject, 450, "4.7.1", "<%s>: %s rejected: %s", what,
                 reply_class, "Service unavailable");
        return CHECK_DUNNO;
    default: return CHECK_DUNNO;
    }
}
