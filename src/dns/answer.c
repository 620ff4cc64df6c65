/*
 * answer - the plain data of the dns module: type and status names,
 * answers and their records, and the reverse-lookup names of RFC 1035
 * section 3.5 (in-addr.arpa) and RFC 3596 section 2.5 (ip6.arpa) in the
 * form Postfix builds them for PTR and DNSBL queries.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns_int.h"

static const struct {
    enum dns_type type;
    const char *name;
} type_names[] = {
    {DNS_T_A, "A"},   {DNS_T_NS, "NS"},   {DNS_T_CNAME, "CNAME"}, {DNS_T_PTR, "PTR"},
    {DNS_T_MX, "MX"}, {DNS_T_TXT, "TXT"}, {DNS_T_AAAA, "AAAA"},
};

const char *dns_type_name(enum dns_type type)
{
    for (size_t i = 0; i < ARRAY_LEN(type_names); i++)
        if (type_names[i].type == type)
            return type_names[i].name;
    return "unknown";
}

int dns_type_parse(const char *name, enum dns_type *type)
{
    for (size_t i = 0; i < ARRAY_LEN(type_names); i++) {
        if (str_eq_nocase(name, type_names[i].name)) {
            *type = type_names[i].type;
            return 0;
        }
    }
    return -1;
}

const char *dns_status_name(enum dns_status s)
{
    switch (s) {
    case DNS_OK: return "OK";
    case DNS_NOTFOUND: return "NOTFOUND";
    case DNS_RETRY: return "RETRY";
    case DNS_INVAL: return "INVAL";
    case DNS_NULLMX: return "NULLMX";
    }
    return "?";
}

/* The texts of Postfix's dns_strerror() (and its reply for a null MX), so
 * that log lines built from them read as Postfix's do. */
const char *dns_status_why(enum dns_status status, bool nxdomain)
{
    switch (status) {
    case DNS_OK: return NULL;
    case DNS_NOTFOUND:
        return nxdomain ? "Host not found" : "Host found but no data record of requested type";
    case DNS_RETRY: return "Host not found, try again";
    case DNS_INVAL: return "Malformed or unexpected name server reply";
    case DNS_NULLMX: return "Domain does not accept mail (nullMX)";
    }
    return NULL;
}

struct dns_answer *dns_answer_new(enum dns_status status, bool nxdomain)
{
    struct dns_answer *a = xcalloc(1, sizeof(*a));
    a->status = status;
    a->nxdomain = status == DNS_NOTFOUND && nxdomain;
    const char *why = dns_status_why(status, a->nxdomain);
    a->why = why ? xstrdup(why) : NULL;
    return a;
}

void dns_answer_clear(struct dns_answer *a)
{
    struct dns_rr *rr = a->rrs;
    while (rr) {
        struct dns_rr *next = rr->next;
        free(rr->data);
        free(rr);
        rr = next;
    }
    a->rrs = NULL;
    free(a->why);
    a->why = NULL;
}

void dns_answer_free(struct dns_answer *a)
{
    if (a == NULL)
        return;
    dns_answer_clear(a);
    free(a);
}

void dns_answer_add(struct dns_answer *a, enum dns_type type, uint32_t ttl, unsigned pref,
                    const char *data)
{
    struct dns_rr *rr = xcalloc(1, sizeof(*rr));
    rr->type = type;
    rr->ttl = ttl;
    rr->pref = pref;
    rr->data = xstrdup(data);
    struct dns_rr **tail = &a->rrs;
    while (*tail)
        tail = &(*tail)->next;
    *tail = rr;
}

struct dns_answer *dns_answer_copy(const struct dns_answer *a)
{
    struct dns_answer *c = xcalloc(1, sizeof(*c));
    c->status = a->status;
    c->nxdomain = a->nxdomain;
    c->expires = a->expires;
    c->why = a->why ? xstrdup(a->why) : NULL;
    struct dns_rr **tail = &c->rrs;
    for (const struct dns_rr *rr = a->rrs; rr; rr = rr->next) {
        struct dns_rr *n = xcalloc(1, sizeof(*n));
        n->type = rr->type;
        n->ttl = rr->ttl;
        n->pref = rr->pref;
        n->data = xstrdup(rr->data ? rr->data : "");
        *tail = n;
        tail = &n->next;
    }
    return c;
}

struct dns_cached *dns_cached_new(struct dns_answer *a)
{
    struct dns_cached *c = xcalloc(1, sizeof(*c));
    c->answer = *a;
    c->refs = 1;
    a->rrs = NULL;
    a->why = NULL;
    return c;
}

struct dns_cached *dns_cached_ref(struct dns_cached *c)
{
    c->refs++;
    return c;
}

void dns_cached_unref(struct dns_cached *c)
{
    if (c == NULL || --c->refs > 0)
        return;
    dns_answer_clear(&c->answer);
    free(c);
}

/* reverse_labels - the address as reversed labels without a zone, and
 * which zone it belongs in; NULL if addr is not an IPv4 or IPv6 address */
static char *reverse_labels(const char *addr, const char **zone)
{
    unsigned char bytes[16];
    if (addr == NULL)
        return NULL;
    if (inet_pton(AF_INET, addr, bytes) == 1) {
        /* by hand: this runs for every client a DNSBL is asked about */
        char text[16], *p = text;
        for (int i = 3; i >= 0; i--) {
            unsigned b = bytes[i];
            if (b >= 100)
                *p++ = (char) ('0' + b / 100);
            if (b >= 10)
                *p++ = (char) ('0' + b / 10 % 10);
            *p++ = (char) ('0' + b % 10);
            if (i > 0)
                *p++ = '.';
        }
        *p = 0;
        *zone = "in-addr.arpa";
        return xstrdup(text);
    }
    if (inet_pton(AF_INET6, addr, bytes) == 1) {
        static const char hex[] = "0123456789abcdef";
        char text[64]; /* 32 nibbles and 31 dots */
        char *p = text;
        for (int i = 15; i >= 0; i--) {
            *p++ = hex[bytes[i] & 0xf];
            *p++ = '.';
            *p++ = hex[bytes[i] >> 4];
            if (i > 0)
                *p++ = '.';
        }
        *p = 0;
        *zone = "ip6.arpa";
        return xstrdup(text);
    }
    return NULL;
}

char *dns_reverse_query(const char *addr)
{
    const char *zone;
    return reverse_labels(addr, &zone);
}

char *dns_reverse_name(const char *addr)
{
    const char *zone;
    char *labels = reverse_labels(addr, &zone);
    if (labels == NULL)
        return NULL;
    char *name = xasprintf("%s.%s", labels, zone);
    free(labels);
    return name;
}
