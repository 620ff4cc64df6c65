/*
 * dns_int - what the files of the dns module share and nobody else sees:
 * reference-counted answers and the answer cache.
 */
#ifndef POSTERN_DNS_INT_H
#define POSTERN_DNS_INT_H

#include "dns/dns.h"

/*
 * A shared answer: the cache holds one reference, every callback waiting
 * for delivery holds one, so evicting an entry never frees an answer a
 * callback is about to see.  answer is the first member: callers get
 * &c->answer.
 */
struct dns_cached {
    struct dns_answer answer;
    unsigned refs;
};

/* dns_cached_new - take over the contents of *a (which is left empty) */
struct dns_cached *dns_cached_new(struct dns_answer *a);
struct dns_cached *dns_cached_ref(struct dns_cached *c);
void dns_cached_unref(struct dns_cached *c);

/* dns_answer_clear - free the records and text of an answer in place */
void dns_answer_clear(struct dns_answer *a);
/* dns_status_why - Postfix's dns_strerror() text for a status */
const char *dns_status_why(enum dns_status status, bool nxdomain);

/*
 * The cache: "TYPE/name" keys (name lower-cased, no trailing dot) to shared
 * answers.  Entries with an expiry sit on a least-recently-used list and
 * count against the limit; entries without (expires 0) are pinned.
 */
struct dns_cache;

struct dns_cache *dns_cache_new(size_t limit);
void dns_cache_free(struct dns_cache *c);
void dns_cache_set_limit(struct dns_cache *c, size_t limit);
/* dns_cache_get - a fresh entry (borrowed) or NULL; drops a stale one */
struct dns_cached *dns_cache_get(struct dns_cache *c, const char *key, time_t now);
/* dns_cache_insert - store (the cache takes one new reference) */
void dns_cache_insert(struct dns_cache *c, const char *key, struct dns_cached *ans, time_t now);
size_t dns_cache_count(const struct dns_cache *c);
unsigned long dns_cache_evictions(const struct dns_cache *c);

/* dns_cache_key - "TYPE/name" for a query name; NULL for a name that
 * cannot be queried (empty, too long, bad characters, empty label) */
char *dns_cache_key(const char *name, enum dns_type type);
/* dns_cache_key_into - the same into a buffer (no allocation); false for a
 * name that cannot be queried */
#define DNS_CACHE_KEY_MAX (12 + 1 + 253 + 1)
bool dns_cache_key_into(const char *name, enum dns_type type, char out[DNS_CACHE_KEY_MAX]);

#endif
