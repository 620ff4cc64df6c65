/*
 * dns - DNS lookups for the policy engine and the SMTP server: libunbound
 * driven by the libevent loop (ub_fd + ub_process), a shared answer cache
 * that honours TTLs, and a blocking variant for command-line tools.
 *
 * Answers are reduced to what mail software needs: a status in Postfix's
 * terms (found, not found, temporary failure, malformed, null MX) and the
 * records in presentation form (A/AAAA as text addresses, MX/NS/PTR/CNAME as
 * names without the trailing dot, TXT as the concatenated strings).
 *
 * A resolver belongs to one thread and one event loop; create it after any
 * fork (libunbound runs a background thread).  docs/dns.md describes the
 * behaviour users see.
 */
#ifndef POSTERN_DNS_H
#define POSTERN_DNS_H

#include <stdbool.h>
#include <stddef.h>
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
    DNS_OK = 0,   /* records found */
    DNS_NOTFOUND, /* NXDOMAIN, or the name exists without records of the type */
    DNS_RETRY,    /* SERVFAIL, timeout, refused: try again later */
    DNS_INVAL,    /* malformed reply */
    DNS_NULLMX,   /* MX query answered with the null MX "0 ." (RFC 7505) */
};

/* Limits and defaults (docs/dns.md). */
#define DNS_TIMEOUT_MS_DEFAULT 10000 /* per query, then DNS_RETRY */
#define DNS_CACHE_LIMIT        10000 /* cached answers, least recently used go first */
#define DNS_TTL_MIN            1     /* seconds; answer TTLs are clamped to these */
#define DNS_TTL_MAX            86400
#define DNS_RR_LIMIT           1000 /* records kept per answer; the rest are dropped */
#define DNS_NAME_TEXT_MAX      1024 /* longest presentation name (escapes included) */

struct dns_rr {
    enum dns_type type;
    uint32_t ttl;
    unsigned pref; /* MX preference */
    char *data;    /* presentation form, see above; "." for the root (null MX) */
    struct dns_rr *next;
};

struct dns_answer {
    enum dns_status status;
    bool nxdomain;      /* NOTFOUND because the name does not exist (not just no data) */
    struct dns_rr *rrs; /* in the order the server sent them (MX not sorted) */
    time_t expires;     /* wall-clock time after which the cache drops it; 0: never */
    char *why;          /* on failure: Postfix's text ("Host not found", "Host not
                         * found, try again", ...); NULL for DNS_OK */
};

const char *dns_type_name(enum dns_type type);
/* dns_type_parse - "MX" (any case) -> DNS_T_MX; 0 or -1 for an unknown type */
int dns_type_parse(const char *name, enum dns_type *type);
/* dns_status_name - "OK", "NOTFOUND", "RETRY", "INVAL", "NULLMX" */
const char *dns_status_name(enum dns_status s);
/* dns_answer_new - an empty answer with the given status and a why text
 * fitting it; expires 0 (canned answers for dns_cache_put and tests) */
struct dns_answer *dns_answer_new(enum dns_status status, bool nxdomain);
void dns_answer_free(struct dns_answer *a);
struct dns_answer *dns_answer_copy(const struct dns_answer *a);
/* dns_answer_add - append a record (for canned answers and tests) */
void dns_answer_add(struct dns_answer *a, enum dns_type type, uint32_t ttl, unsigned pref,
                    const char *data);

/*
 * dns_rdata_decode - one record's wire-format rdata (uncompressed names, as
 * libunbound hands them over) to presentation form: *out newly allocated,
 * *pref set for MX (else 0).  -1 when the rdata is malformed for the type.
 * Untrusted input: the fuzz target tests/fuzz/fuzz_dns_rdata.c runs it.
 */
int dns_rdata_decode(enum dns_type type, const uint8_t *rdata, size_t len, unsigned *pref,
                     char **out);

/* dns_reverse_name - "4.3.2.1.in-addr.arpa" or the ip6.arpa nibble form for
 * an address (no brackets); NULL if not an address */
char *dns_reverse_name(const char *addr);
/* dns_reverse_query - the DNSBL form "4.3.2.1" (no zone) for IPv4, nibbles
 * for IPv6; NULL if not an address */
char *dns_reverse_query(const char *addr);

/* ---- the resolver ---- */
struct dns_resolver;

/*
 * dns_resolver_new - servers: a list of "IP[@port]" (space or comma
 * separated) to forward to; NULL or empty for the servers in
 * /etc/resolv.conf (plus /etc/hosts); or "none" for an offline resolver
 * that answers only from the cache (canned answers) and says NOTFOUND for
 * everything else, without network traffic.  base: the event loop for
 * asynchronous queries (NULL: blocking use only).  NULL on error with *err
 * (allocated).
 */
struct dns_resolver *dns_resolver_new(struct event_base *base, const char *servers, char **err);
/*
 * dns_resolver_free - cancel every query in flight and forget every
 * callback not yet delivered (they are NOT called), then free the cache and
 * the resolver.  May be called from inside a dns_done_fn.
 */
void dns_resolver_free(struct dns_resolver *r);
/* dns_resolver_set_timeout - per-query limit in milliseconds (default
 * DNS_TIMEOUT_MS_DEFAULT); a query without an answer by then is cancelled
 * and answers DNS_RETRY.  Applies to queries started afterwards. */
void dns_resolver_set_timeout(struct dns_resolver *r, unsigned ms);
/* dns_resolver_set_cache_limit - most answers kept (default DNS_CACHE_LIMIT;
 * canned answers from dns_cache_put without an expiry do not count) */
void dns_resolver_set_cache_limit(struct dns_resolver *r, size_t entries);

/*
 * dns_lookup_async - resolve name/type; done() is called exactly once, later
 * from the event loop (never from inside this call), with an answer owned
 * by the cache (copy what must outlive the callback).  Concurrent queries
 * for the same name and type are merged.  A cached answer still calls back
 * asynchronously.  Needs a resolver created with an event base.
 */
typedef void (*dns_done_fn)(void *arg, const struct dns_answer *answer);
void dns_lookup_async(struct dns_resolver *r, const char *name, enum dns_type type,
                      dns_done_fn done, void *arg);
/*
 * dns_cancel - forget every callback not yet delivered whose arg is arg (a
 * session that goes away); returns how many.  The queries themselves run
 * on and fill the cache.
 */
unsigned dns_cancel(struct dns_resolver *r, void *arg);
/* dns_lookup_cached - a fresh cached answer or NULL; never queries.  The
 * answer stays valid until the next call into the resolver or the next
 * return to the event loop. */
const struct dns_answer *dns_lookup_cached(struct dns_resolver *r, const char *name,
                                           enum dns_type type);
/*
 * dns_lookup_sync - blocking query through the cache (command-line tools),
 * bounded by the resolver's timeout.  The answer is owned by the resolver
 * and stays valid until the next dns_lookup_sync() or dns_resolver_free().
 * Callbacks of asynchronous lookups that complete meanwhile are delivered
 * later from the event loop, never from inside this call.
 */
const struct dns_answer *dns_lookup_sync(struct dns_resolver *r, const char *name,
                                         enum dns_type type);
/*
 * dns_cache_put - insert a copy of an answer (canned answers for `postern
 * check`).  An answer with expires 0 never expires and is never evicted;
 * otherwise it is dropped after answer->expires.
 */
void dns_cache_put(struct dns_resolver *r, const char *name, enum dns_type type,
                   const struct dns_answer *answer);
/* dns_pending - callbacks of dns_lookup_async not yet delivered (for
 * graceful shutdown and tests) */
unsigned dns_pending(const struct dns_resolver *r);

/* Counters since dns_resolver_new (tests, `postern` status output). */
struct dns_stats {
    unsigned long lookups;    /* dns_lookup_async + dns_lookup_sync calls */
    unsigned long cache_hits; /* answered from the cache */
    unsigned long merged;     /* joined a query already in flight */
    unsigned long queries;    /* queries handed to libunbound */
    unsigned long timeouts;   /* queries cancelled by the timeout */
    unsigned long evictions;  /* cached answers dropped to stay within the limit */
};
void dns_resolver_stats(const struct dns_resolver *r, struct dns_stats *out);

#endif
