/*
 * dns - DNS lookups for the policy engine and the SMTP server: libunbound
 * driven by the libevent loop (ub_fd + ub_process), a shared answer cache
 * that honours TTLs, and a blocking variant for command-line tools.
 *
 * Answers are reduced to what mail software needs: a status in Postfix's
 * terms (found, not found, temporary failure, malformed, null MX) and the
 * records in presentation form (A/AAAA as text addresses, MX/NS/PTR/CNAME as
 * names without the trailing dot, TXT as the concatenated strings).
 */
#ifndef POSTERN_DNS_H
#define POSTERN_DNS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "util/util.h"

struct event_base;

enum dns_type {
    DNS_T_A = 1,
    DNS_T_NS = 2,
    DNS_T_CNAME = 5,
    DNS_T_PTR = 12,
    DNS_T_MX = 15,
    DNS_T_TXT = 16,
    DNS_T_AAAA = 28,
};

enum dns_status {
    DNS_OK = 0,     /* records found */
    DNS_NOTFOUND,   /* NXDOMAIN, or the name exists without records of the type */
    DNS_RETRY,      /* SERVFAIL, timeout, refused: try again later */
    DNS_INVAL,      /* malformed reply */
    DNS_NULLMX,     /* MX query answered with the null MX "0 ." (RFC 7505) */
};

struct dns_rr {
    enum dns_type type;
    uint32_t ttl;
    unsigned pref; /* MX preference */
    char *data;    /* presentation form, see above */
    struct dns_rr *next;
};

struct dns_answer {
    enum dns_status status;
    bool nxdomain;  /* NOTFOUND because the name does not exist (not just no data) */
    struct dns_rr *rrs;
    time_t expires; /* wall-clock time after which the cache drops it */
    char *why;      /* text for logs on failure */
};

const char *dns_type_name(enum dns_type type);
int dns_type_parse(const char *name, enum dns_type *type);
const char *dns_status_name(enum dns_status s);
void dns_answer_free(struct dns_answer *a);
struct dns_answer *dns_answer_copy(const struct dns_answer *a);
/* dns_answer_add - append a record (for canned answers and tests) */
void dns_answer_add(struct dns_answer *a, enum dns_type type, uint32_t ttl, unsigned pref,
                    const char *data);

/* dns_reverse_name - "4.3.2.1.in-addr.arpa" or the ip6.arpa nibble form for
 * an address (no brackets); NULL if not an address */
char *dns_reverse_name(const char *addr);
/* dns_reverse_query - the DNSBL form "4.3.2.1" (no zone) for IPv4, nibbles
 * for IPv6; NULL if not an address */
char *dns_reverse_query(const char *addr);

/* ---- the resolver ---- */
struct dns_resolver;

/*
 * dns_resolver_new - servers: a list of "IP[@port]" to forward to, NULL or
 * empty for the servers in /etc/resolv.conf, or "none" for an offline
 * resolver that answers only from the cache (canned answers) and says
 * NOTFOUND for everything else.  base: the event loop for
 * asynchronous queries (NULL: blocking use only).  NULL on error with *err.
 */
struct dns_resolver *dns_resolver_new(struct event_base *base, const char *servers, char **err);
void dns_resolver_free(struct dns_resolver *r);

/*
 * dns_lookup_async - resolve name/type; done() is called exactly once, later
 * from the event loop (never from inside this call), with an answer owned
 * by the cache (copy what must outlive the callback).  Concurrent queries
 * for the same name and type are merged.  A cached answer still calls back
 * asynchronously.
 */
typedef void (*dns_done_fn)(void *arg, const struct dns_answer *answer);
void dns_lookup_async(struct dns_resolver *r, const char *name, enum dns_type type, dns_done_fn done,
                      void *arg);
/* dns_lookup_cached - a fresh cached answer or NULL; never queries */
const struct dns_answer *dns_lookup_cached(struct dns_resolver *r, const char *name,
                                           enum dns_type type);
/* dns_lookup_sync - blocking query through the cache (command-line tools) */
const struct dns_answer *dns_lookup_sync(struct dns_resolver *r, const char *name,
                                         enum dns_type type);
/* dns_cache_put - insert an answer (canned answers for `postern check`) */
void dns_cache_put(struct dns_resolver *r, const char *name, enum dns_type type,
                   const struct dns_answer *answer);
/* dns_pending - queries in flight (for graceful shutdown and tests) */
unsigned dns_pending(const struct dns_resolver *r);

#endif
