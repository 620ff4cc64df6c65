/*
 * cache - answers by (lower-cased name, type) until their TTL runs out.
 * Entries with an expiry are kept on a least-recently-used list and there
 * are never more of them than the limit: inserting past it first drops
 * expired entries (a full pass at most once a second) and then the least
 * recently used.  Entries without an expiry (canned answers) are pinned:
 * not on the list, not counted, never evicted.  A stale entry is removed
 * when a lookup finds it.
 */
#include <stdlib.h>
#include <string.h>

#include "dns/dns_int.h"

struct entry {
    char *key;
    struct dns_cached *ans;
    bool pinned;
    struct entry *prev, *next; /* LRU list, oldest first (not for pinned) */
};

struct dns_cache {
    struct htable *index; /* key -> struct entry */
    struct entry *oldest, *newest;
    size_t lru_count;
    size_t limit;
    time_t last_sweep;
    unsigned long evictions;
};

struct dns_cache *dns_cache_new(size_t limit)
{
    struct dns_cache *c = xcalloc(1, sizeof(*c));
    c->index = htable_new(64);
    c->limit = limit ? limit : 1;
    return c;
}

static void lru_unlink(struct dns_cache *c, struct entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        c->oldest = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->newest = e->prev;
    e->prev = e->next = NULL;
    c->lru_count--;
}

static void lru_append(struct dns_cache *c, struct entry *e)
{
    e->next = NULL;
    e->prev = c->newest;
    if (c->newest)
        c->newest->next = e;
    else
        c->oldest = e;
    c->newest = e;
    c->lru_count++;
}

static void entry_free(struct entry *e)
{
    dns_cached_unref(e->ans);
    free(e->key);
    free(e);
}

/* drop - remove an entry from the index and the list and free it */
static void drop(struct dns_cache *c, struct entry *e)
{
    htable_remove(c->index, e->key);
    if (!e->pinned)
        lru_unlink(c, e);
    entry_free(e);
}

static void entry_free_void(void *p)
{
    entry_free(p);
}

void dns_cache_free(struct dns_cache *c)
{
    if (c == NULL)
        return;
    htable_free(c->index, entry_free_void);
    free(c);
}

static bool stale(const struct entry *e, time_t now)
{
    return !e->pinned && e->ans->answer.expires <= now;
}

/* make_room - stay below the limit before one more entry is added */
static void make_room(struct dns_cache *c, time_t now)
{
    if (c->lru_count < c->limit)
        return;
    if (c->last_sweep != now) {
        c->last_sweep = now;
        struct entry *e = c->oldest;
        while (e) {
            struct entry *next = e->next;
            if (stale(e, now))
                drop(c, e);
            e = next;
        }
    }
    while (c->lru_count >= c->limit && c->oldest) {
        drop(c, c->oldest);
        c->evictions++;
    }
}

void dns_cache_set_limit(struct dns_cache *c, size_t limit)
{
    c->limit = limit ? limit : 1;
    while (c->lru_count > c->limit) {
        drop(c, c->oldest);
        c->evictions++;
    }
}

struct dns_cached *dns_cache_get(struct dns_cache *c, const char *key, time_t now)
{
    struct entry *e = htable_get(c->index, key);
    if (e == NULL)
        return NULL;
    if (stale(e, now)) {
        drop(c, e);
        return NULL;
    }
    if (!e->pinned && e != c->newest) {
        lru_unlink(c, e);
        lru_append(c, e);
    }
    return e->ans;
}

void dns_cache_insert(struct dns_cache *c, const char *key, struct dns_cached *ans, time_t now)
{
    struct entry *old = htable_get(c->index, key);
    if (old)
        drop(c, old);
    bool pinned = ans->answer.expires == 0;
    if (!pinned)
        make_room(c, now);
    struct entry *e = xcalloc(1, sizeof(*e));
    e->key = xstrdup(key);
    e->ans = dns_cached_ref(ans);
    e->pinned = pinned;
    htable_put(c->index, key, e);
    if (!pinned)
        lru_append(c, e);
}

size_t dns_cache_count(const struct dns_cache *c)
{
    return htable_count(c->index);
}

unsigned long dns_cache_evictions(const struct dns_cache *c)
{
    return c->evictions;
}

/*
 * A query name as the cache keys it: letters folded to lower case, one
 * trailing dot removed.  Names that no server could answer are refused
 * here, before they reach libunbound: empty, longer than a DNS name can be,
 * empty or over-long labels, and bytes outside printable ASCII, space and
 * backslash (no escapes from SMTP clients).
 */
bool dns_cache_key_into(const char *name, enum dns_type type, char out[DNS_CACHE_KEY_MAX])
{
    size_t len = strlen(name);
    if (len == 0 || len > 254)
        return false;
    if (strcmp(name, ".") != 0) {
        if (name[len - 1] == '.')
            len--;
        if (len > 253)
            return false;
        size_t label = 0;
        for (size_t i = 0; i < len; i++) {
            unsigned char ch = (unsigned char) name[i];
            if (ch == '.') {
                if (label == 0)
                    return false;
                label = 0;
                continue;
            }
            if (ch <= 0x20 || ch >= 0x7f || ch == '\\')
                return false;
            if (++label > 63)
                return false;
        }
        if (label == 0)
            return false;
    }
    /* "TYPE/name", built by hand: this runs for every DNSBL check. */
    char digits[12];
    int nd = 0;
    unsigned t = (unsigned) type;
    do {
        digits[nd++] = (char) ('0' + t % 10);
        t /= 10;
    } while (t);
    char *p = out;
    while (nd)
        *p++ = digits[--nd];
    *p++ = '/';
    for (size_t i = 0; i < len; i++) {
        char ch = name[i];
        *p++ = (ch >= 'A' && ch <= 'Z') ? (char) (ch + 32) : ch;
    }
    *p = 0;
    return true;
}

char *dns_cache_key(const char *name, enum dns_type type)
{
    char key[DNS_CACHE_KEY_MAX];
    return dns_cache_key_into(name, type, key) ? xstrdup(key) : NULL;
}
