/*
 * resolver - libunbound on the libevent loop.  libunbound resolves in its
 * own background thread (ub_ctx_async) and signals finished queries on
 * ub_fd(); an event on that descriptor, present while queries are in
 * flight, calls ub_process(), whose callbacks only record the answer: they
 * fill the cache and queue the waiting callbacks.  Callbacks run from one
 * zero-timeout event, in queue order, never from inside a dns_* call and
 * never from inside ub_process().
 *
 * Invariants: one query in flight per (name, type), shared by every waiter
 * (merging); each query has a deadline (postern's own timeout, not
 * unbound's, which can take 20 s and more on a dead server) after which it
 * is cancelled with ub_cancel() and answers DNS_RETRY; every async waiter
 * is either in a query, in the ready queue or in the batch being
 * delivered, and counted in owed.  Status mapping (docs/dns.md): NOERROR
 * with data -> OK (NULLMX for a lone "0 ." MX), NXDOMAIN -> NOTFOUND with
 * nxdomain, NOERROR without data -> NOTFOUND, any other rcode or error ->
 * RETRY, rdata that does not decode -> INVAL.  RETRY answers are never
 * cached; the others are cached for their TTL clamped to [DNS_TTL_MIN,
 * DNS_TTL_MAX] (negative answers: the SOA-derived TTL unbound reports).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <unbound.h>

#include "dns/dns_int.h"

#define RCODE_NOERROR  0
#define RCODE_SERVFAIL 2
#define RCODE_NXDOMAIN 3
#define CLASS_IN       1

struct waiter {
    dns_done_fn done; /* NULL: a dns_lookup_sync caller */
    void *arg;
    struct dns_cached **sync_out; /* where a sync caller wants the answer */
    struct waiter *next;
};

struct delivery {
    dns_done_fn done;
    void *arg;
    struct dns_cached *ans; /* one reference */
    struct delivery *next;
};

struct query {
    struct dns_resolver *r;
    char *key;
    char *name;
    enum dns_type type;
    int ub_id;
    bool ub_active;       /* libunbound holds it (cancel before freeing) */
    uint64_t deadline_us; /* clock_mono_us() */
    unsigned timeout_ms;
    struct event *timer; /* NULL without an event base */
    struct waiter *waiters;
    struct waiter **waiters_tail;
};

struct dns_resolver {
    struct event_base *base;
    struct ub_ctx *ctx;     /* NULL: offline ("none") */
    struct event *ub_event; /* EV_READ on ub_fd(); added while queries are in flight */
    bool ub_event_added;
    struct event *deliver_event; /* zero timeout: runs the ready queue */
    struct htable *inflight;     /* key -> struct query */
    struct dns_cache *cache;
    unsigned timeout_ms;
    struct delivery *ready, **ready_tail;
    struct delivery *delivering; /* rest of the batch deliver_cb is running */
    bool *freed;                 /* deliver_cb's flag: resolver freed by a callback */
    unsigned owed;               /* async callbacks not yet delivered */
    struct dns_cached *last_sync;
    struct dns_stats stats;
};

/* ---- answers from libunbound ---- */

static uint32_t clamp_ttl(long ttl)
{
    if (ttl < DNS_TTL_MIN)
        return DNS_TTL_MIN;
    if (ttl > DNS_TTL_MAX)
        return DNS_TTL_MAX;
    return (uint32_t) ttl;
}

static struct dns_cached *make_answer(enum dns_status status, bool nxdomain, time_t expires)
{
    struct dns_answer *a = dns_answer_new(status, nxdomain);
    a->expires = expires;
    struct dns_cached *c = dns_cached_new(a);
    free(a);
    return c;
}

static const char *rcode_name(int rcode)
{
    static const char *names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                  "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
                                  "NXRRSET", "NOTAUTH", "NOTZONE"};
    if (rcode >= 0 && (size_t) rcode < ARRAY_LEN(names))
        return names[rcode];
    return "unknown rcode";
}

/*
 * answer_from_result - the status mapping of the file comment; detail
 * that Postfix's texts do not carry goes to the debug log.
 */
static struct dns_cached *answer_from_result(const char *name, enum dns_type type, int err,
                                             const struct ub_result *res, time_t now)
{
    if (err != 0 || res == NULL) {
        log_debug("dns: %s/%s: resolver error: %s", name, dns_type_name(type),
                  err ? ub_strerror(err) : "no result");
        return make_answer(DNS_RETRY, false, now);
    }
    if (res->bogus) {
        log_debug("dns: %s/%s: DNSSEC bogus: %s", name, dns_type_name(type),
                  res->why_bogus ? res->why_bogus : "?");
        return make_answer(DNS_RETRY, false, now);
    }
    time_t expires = now + clamp_ttl(res->ttl);
    if (res->rcode == RCODE_NXDOMAIN)
        return make_answer(DNS_NOTFOUND, true, expires);
    if (res->rcode != RCODE_NOERROR) {
        log_debug("dns: %s/%s: %s", name, dns_type_name(type), rcode_name(res->rcode));
        return make_answer(DNS_RETRY, false, now);
    }
    if (!res->havedata || res->data == NULL || res->data[0] == NULL)
        return make_answer(DNS_NOTFOUND, false, expires);

    struct dns_answer a = {.status = DNS_OK, .expires = expires};
    struct dns_rr **tail = &a.rrs;
    size_t count = 0;
    for (size_t i = 0; res->data[i] != NULL; i++) {
        if (count == DNS_RR_LIMIT) {
            log_debug("dns: %s/%s: more than %d records, rest dropped", name, dns_type_name(type),
                      DNS_RR_LIMIT);
            break;
        }
        unsigned pref;
        char *text;
        size_t len = res->len[i] > 0 ? (size_t) res->len[i] : 0;
        if (dns_rdata_decode(type, (const uint8_t *) res->data[i], len, &pref, &text) == -1) {
            log_debug("dns: %s/%s: malformed record #%zu", name, dns_type_name(type), i + 1);
            dns_answer_clear(&a);
            return make_answer(DNS_INVAL, false, expires);
        }
        struct dns_rr *rr = xcalloc(1, sizeof(*rr));
        rr->type = type;
        rr->ttl = clamp_ttl(res->ttl);
        rr->pref = pref;
        rr->data = text;
        *tail = rr;
        tail = &rr->next;
        count++;
    }
    if (type == DNS_T_MX && count == 1 && a.rrs->pref == 0 && strcmp(a.rrs->data, ".") == 0) {
        a.status = DNS_NULLMX;
        a.why = xstrdup(dns_status_why(DNS_NULLMX, false));
    }
    return dns_cached_new(&a);
}

/* ---- delivery ---- */

static void deliver_cb(evutil_socket_t fd, short what, void *arg)
{
    struct dns_resolver *r = arg;
    bool freed = false;
    struct delivery *d;

    (void) fd;
    (void) what;
    /* Take the batch; what the callbacks below queue waits for the next round. */
    r->delivering = r->ready;
    r->ready = NULL;
    r->ready_tail = &r->ready;
    r->freed = &freed;
    while ((d = r->delivering) != NULL) {
        r->delivering = d->next;
        r->owed--;
        d->done(d->arg, &d->ans->answer);
        dns_cached_unref(d->ans);
        free(d);
        if (freed) /* dns_resolver_free() from the callback: r is gone */
            return;
    }
    r->freed = NULL;
}

static void schedule_delivery(struct dns_resolver *r)
{
    static const struct timeval zero = {0, 0};
    if (r->deliver_event && !evtimer_pending(r->deliver_event, NULL))
        evtimer_add(r->deliver_event, &zero);
}

static void enqueue(struct dns_resolver *r, dns_done_fn done, void *arg, struct dns_cached *ans)
{
    struct delivery *d = xcalloc(1, sizeof(*d));
    d->done = done;
    d->arg = arg;
    d->ans = dns_cached_ref(ans);
    *r->ready_tail = d;
    r->ready_tail = &d->next;
    schedule_delivery(r);
}

static void free_deliveries(struct delivery *d)
{
    while (d) {
        struct delivery *next = d->next;
        dns_cached_unref(d->ans);
        free(d);
        d = next;
    }
}

/* ---- queries ---- */

static void update_ub_event(struct dns_resolver *r)
{
    if (r->ub_event == NULL)
        return;
    bool want = htable_count(r->inflight) > 0;
    if (want && !r->ub_event_added)
        event_add(r->ub_event, NULL);
    else if (!want && r->ub_event_added)
        event_del(r->ub_event);
    r->ub_event_added = want;
}

static void query_free(struct query *q)
{
    struct waiter *w = q->waiters;
    while (w) {
        struct waiter *next = w->next;
        free(w);
        w = next;
    }
    if (q->timer)
        event_free(q->timer);
    free(q->key);
    free(q->name);
    free(q);
}

/*
 * finish - a query has its answer (ans: the caller's reference, consumed):
 * cache it unless it is a temporary failure, hand it to every waiter and
 * free the query.
 */
static void finish(struct query *q, struct dns_cached *ans)
{
    struct dns_resolver *r = q->r;

    htable_remove(r->inflight, q->key);
    if (ans->answer.status != DNS_RETRY)
        dns_cache_insert(r->cache, q->key, ans, clock_wall());
    for (struct waiter *w = q->waiters; w; w = w->next) {
        if (w->done)
            enqueue(r, w->done, w->arg, ans);
        else
            *w->sync_out = dns_cached_ref(ans);
    }
    dns_cached_unref(ans);
    query_free(q);
    update_ub_event(r);
}

static void ub_result_cb(void *arg, int err, struct ub_result *res)
{
    struct query *q = arg;
    q->ub_active = false;
    struct dns_cached *ans = answer_from_result(q->name, q->type, err, res, clock_wall());
    if (res)
        ub_resolve_free(res);
    finish(q, ans);
}

static void expire(struct query *q)
{
    struct dns_resolver *r = q->r;
    r->stats.timeouts++;
    if (q->ub_active) {
        ub_cancel(r->ctx, q->ub_id);
        q->ub_active = false;
    }
    log_debug("dns: %s/%s: no answer within %u ms", q->name, dns_type_name(q->type), q->timeout_ms);
    finish(q, make_answer(DNS_RETRY, false, clock_wall()));
}

static void timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    (void) fd;
    (void) what;
    expire(arg);
}

static void ub_readable_cb(evutil_socket_t fd, short what, void *arg)
{
    struct dns_resolver *r = arg;
    (void) fd;
    (void) what;
    int err = ub_process(r->ctx);
    if (err != 0)
        log_warnx("dns: resolver: %s", ub_strerror(err));
}

/* query_new - a query in flight for key (not yet sent: add waiters, then
 * launch) */
static struct query *query_new(struct dns_resolver *r, const char *key, const char *name,
                               enum dns_type type)
{
    struct query *q = xcalloc(1, sizeof(*q));
    q->r = r;
    q->key = xstrdup(key);
    q->name = xstrdup(name);
    q->type = type;
    q->timeout_ms = r->timeout_ms;
    q->waiters_tail = &q->waiters;
    htable_put(r->inflight, key, q);
    return q;
}

static void add_waiter(struct query *q, dns_done_fn done, void *arg, struct dns_cached **sync_out)
{
    struct waiter *w = xcalloc(1, sizeof(*w));
    w->done = done;
    w->arg = arg;
    w->sync_out = sync_out;
    *q->waiters_tail = w;
    q->waiters_tail = &w->next;
}

/* launch - hand the query to libunbound and start its clock; a query that
 * cannot be sent finishes at once */
static void launch(struct query *q)
{
    struct dns_resolver *r = q->r;
    r->stats.queries++;
    q->deadline_us = clock_mono_us() + (uint64_t) q->timeout_ms * 1000;
    q->ub_active = true;
    int err =
        ub_resolve_async(r->ctx, q->name, (int) q->type, CLASS_IN, q, ub_result_cb, &q->ub_id);
    if (err != 0) {
        q->ub_active = false;
        log_debug("dns: %s/%s: %s", q->name, dns_type_name(q->type), ub_strerror(err));
        /* a name libunbound cannot parse does not exist (Postfix: "invalid
         * host or domain name" is HOST_NOT_FOUND) */
        finish(q, err == UB_SYNTAX ? make_answer(DNS_NOTFOUND, true, clock_wall())
                                   : make_answer(DNS_RETRY, false, clock_wall()));
        return;
    }
    if (r->base) {
        struct timeval tv = {q->timeout_ms / 1000, (q->timeout_ms % 1000) * 1000};
        q->timer = evtimer_new(r->base, timeout_cb, q);
        evtimer_add(q->timer, &tv);
    }
    update_ub_event(r);
}

/* ---- configuration ---- */

/* parse_server - "IP[@port]": 0 with *is_ipv6 and the address text in
 * addr, or -1 */
static int parse_server(const char *item, bool *is_ipv6, char *addr, size_t addr_size)
{
    const char *at = strchr(item, '@');
    size_t len = at ? (size_t) (at - item) : strlen(item);
    unsigned char bytes[16];

    if (len == 0 || len >= addr_size)
        return -1;
    memcpy(addr, item, len);
    addr[len] = 0;
    if (at) {
        long port;
        if (str_to_long(at + 1, &port) == -1 || port < 1 || port > 65535)
            return -1;
    }
    if (inet_pton(AF_INET, addr, bytes) == 1) {
        *is_ipv6 = false;
        return 0;
    }
    if (inet_pton(AF_INET6, addr, bytes) == 1) {
        *is_ipv6 = true;
        return 0;
    }
    return -1;
}

/* ipv6_routable - whether the kernel has a route to this IPv6 address
 * (connect() on a UDP socket sends nothing) */
static bool ipv6_routable(const char *addr)
{
    struct sockaddr_in6 sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(53);
    if (inet_pton(AF_INET6, addr, &sa.sin6_addr) != 1)
        return false;
    int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return false;
    bool ok = connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0;
    close(fd);
    return ok;
}

/* resolvconf_wants_ipv6 - an IPv6 nameserver in resolv.conf we can reach
 * (parsed as libunbound does: the address up to the first character that
 * is not a hex digit, '.' or ':') */
static bool resolvconf_wants_ipv6(const char *path)
{
    struct buf text;
    bool want = false;
    buf_init(&text);
    if (file_read_all(path, &text) == -1) {
        buf_free(&text);
        return false;
    }
    char *cursor = text.data;
    char *line;
    while (!want && (line = strsep(&cursor, "\n")) != NULL) {
        line += strspn(line, " \t");
        if (strncmp(line, "nameserver", 10) != 0)
            continue;
        line += 10;
        line += strspn(line, " \t");
        size_t len = strspn(line, "0123456789abcdefABCDEF.:");
        line[len] = 0;
        if (strchr(line, ':') && ipv6_routable(line))
            want = true;
    }
    buf_free(&text);
    return want;
}

/* libunbound's built-in empty zones (RFC 6761, RFC 7686, RFC 8375) that
 * the forwarder answers instead.  They are made "transparent" (no local
 * data: every query goes to the forwarder): "nodefault" set through
 * ub_ctx_set_option() is accepted but has no effect in libunbound 1.17,
 * which then answers NXDOMAIN itself for every name under test. etc. */
static const char *const forwarded_default_zones[] = {
    "test.",
    "invalid.",
    "onion.",
    "home.arpa.",
    "resolver.arpa.",
    /* loopback clients other than 127.0.0.1 (its PTR localhost stays) */
    "127.in-addr.arpa.",
};

static int set_option(struct ub_ctx *ctx, const char *opt, const char *value, char **err)
{
    int rc = ub_ctx_set_option(ctx, opt, value);
    if (rc != 0) {
        *err = xasprintf("resolver option %s %s: %s", opt, value, ub_strerror(rc));
        return -1;
    }
    return 0;
}

/*
 * configure - forwarders and options.  libunbound always forwards here
 * (resolv.conf without servers means 127.0.0.1), so IPv6 transport is only
 * needed for an IPv6 forwarder, and only turned on when the kernel can
 * route to one: libunbound would otherwise try IPv6 and log errors on a
 * machine without it.  No trust anchors and no validator module: no
 * DNSSEC validation.
 */
static int configure(struct ub_ctx *ctx, const char *servers, char **err)
{
    struct strlist list;
    bool want_ipv6 = false;
    char *split_err = NULL;
    int rc;

    strlist_init(&list);
    if (servers && str_split_list(servers, LIST_SEPS, &list, &split_err) == -1) {
        *err = xasprintf("DNS servers \"%s\": %s", servers, split_err);
        free(split_err);
        strlist_free(&list);
        return -1;
    }
    if (list.count == 0) {
        if ((rc = ub_ctx_resolvconf(ctx, NULL)) != 0) {
            *err = xasprintf("cannot use /etc/resolv.conf: %s", ub_strerror(rc));
            strlist_free(&list);
            return -1;
        }
        if ((rc = ub_ctx_hosts(ctx, NULL)) != 0)
            log_warnx("dns: cannot use /etc/hosts: %s", ub_strerror(rc));
        want_ipv6 = resolvconf_wants_ipv6("/etc/resolv.conf");
    }
    for (size_t i = 0; i < list.count; i++) {
        char addr[INET6_ADDRSTRLEN + 1];
        bool is_ipv6;
        if (parse_server(list.items[i], &is_ipv6, addr, sizeof(addr)) == -1) {
            *err = xasprintf("invalid DNS server \"%s\": expected IP or IP@port", list.items[i]);
            strlist_free(&list);
            return -1;
        }
        if ((rc = ub_ctx_set_fwd(ctx, list.items[i])) != 0) {
            *err = xasprintf("DNS server \"%s\": %s", list.items[i], ub_strerror(rc));
            strlist_free(&list);
            return -1;
        }
        if (is_ipv6 && ipv6_routable(addr))
            want_ipv6 = true;
    }
    strlist_free(&list);

    if (set_option(ctx, "do-ip6:", want_ipv6 ? "yes" : "no", err) == -1 ||
        /* forwarders on loopback (a local unbound, systemd-resolved, tests) */
        set_option(ctx, "do-not-query-localhost:", "no", err) == -1 ||
        set_option(ctx, "module-config:", "iterator", err) == -1 ||
        /* after an outage, find the forwarder again at once rather than
         * after infra-host-ttl */
        set_option(ctx, "infra-keep-probing:", "yes", err) == -1 ||
        /* the forwarder decides about private and special-use names, as
         * it does for Postfix's stub resolver (libunbound would otherwise
         * answer NXDOMAIN itself for RFC 1918 reverse zones, test., ...);
         * only localhost and 127.0.0.1 / ::1 stay local */
        set_option(ctx, "unblock-lan-zones:", "yes", err) == -1 ||
        /* records in the order the server sent them */
        set_option(ctx, "rrset-roundrobin:", "no", err) == -1)
        return -1;
    for (size_t i = 0; i < ARRAY_LEN(forwarded_default_zones); i++) {
        char *zone = xasprintf("%s transparent", forwarded_default_zones[i]);
        rc = set_option(ctx, "local-zone:", zone, err);
        free(zone);
        if (rc == -1)
            return -1;
    }
    /* the one name of 127.in-addr.arpa. that stays local, as the default
     * zone had it (and /etc/hosts has it for Postfix's resolver) */
    if (set_option(ctx, "local-data:", "1.0.0.127.in-addr.arpa. PTR localhost.", err) == -1)
        return -1;
    if ((rc = ub_ctx_async(ctx, 1)) != 0) {
        *err = xasprintf("resolver thread: %s", ub_strerror(rc));
        return -1;
    }
    return 0;
}

/* ---- public interface ---- */

struct dns_resolver *dns_resolver_new(struct event_base *base, const char *servers, char **err)
{
    struct dns_resolver *r = xcalloc(1, sizeof(*r));
    r->base = base;
    r->timeout_ms = DNS_TIMEOUT_MS_DEFAULT;
    r->cache = dns_cache_new(DNS_CACHE_LIMIT);
    r->inflight = htable_new(64);
    r->ready_tail = &r->ready;
    if (base)
        r->deliver_event = evtimer_new(base, deliver_cb, r);

    char *trimmed = xstrdup(servers ? servers : "");
    bool offline = str_eq_nocase(str_trim(trimmed), "none");
    free(trimmed);
    if (offline)
        return r;

    r->ctx = ub_ctx_create();
    if (r->ctx == NULL) {
        *err = xstrdup("cannot create the resolver context");
        dns_resolver_free(r);
        return NULL;
    }
    if (configure(r->ctx, servers, err) == -1) {
        dns_resolver_free(r);
        return NULL;
    }
    if (base) {
        int fd = ub_fd(r->ctx);
        if (fd == -1) {
            *err = xstrdup("resolver has no descriptor to wait on");
            dns_resolver_free(r);
            return NULL;
        }
        r->ub_event = event_new(base, fd, EV_READ | EV_PERSIST, ub_readable_cb, r);
    }
    return r;
}

void dns_resolver_free(struct dns_resolver *r)
{
    if (r == NULL)
        return;
    struct htable_iter it = {0};
    void *value;
    while (htable_next(r->inflight, &it, NULL, &value)) {
        struct query *q = value;
        if (q->ub_active)
            ub_cancel(r->ctx, q->ub_id);
        query_free(q);
    }
    htable_free(r->inflight, NULL);
    free_deliveries(r->ready);
    free_deliveries(r->delivering);
    if (r->freed)
        *r->freed = true;
    if (r->ub_event)
        event_free(r->ub_event);
    if (r->deliver_event)
        event_free(r->deliver_event);
    if (r->ctx)
        ub_ctx_delete(r->ctx);
    dns_cache_free(r->cache);
    dns_cached_unref(r->last_sync);
    free(r);
}

void dns_resolver_set_timeout(struct dns_resolver *r, unsigned ms)
{
    r->timeout_ms = ms ? ms : 1;
}

void dns_resolver_set_cache_limit(struct dns_resolver *r, size_t entries)
{
    dns_cache_set_limit(r->cache, entries);
}

void dns_lookup_async(struct dns_resolver *r, const char *name, enum dns_type type,
                      dns_done_fn done, void *arg)
{
    if (r->base == NULL) {
        /* a programming error; say so rather than never calling back */
        log_errorx("dns: asynchronous lookup of %s without an event loop", name);
        abort();
    }
    r->stats.lookups++;
    r->owed++;
    char *key = dns_cache_key(name, type);
    if (key == NULL) {
        struct dns_cached *ans = make_answer(DNS_NOTFOUND, true, clock_wall());
        enqueue(r, done, arg, ans);
        dns_cached_unref(ans);
        return;
    }
    struct dns_cached *hit = dns_cache_get(r->cache, key, clock_wall());
    if (hit) {
        r->stats.cache_hits++;
        enqueue(r, done, arg, hit);
    } else if (r->ctx == NULL) {
        struct dns_cached *ans = make_answer(DNS_NOTFOUND, false, clock_wall());
        enqueue(r, done, arg, ans);
        dns_cached_unref(ans);
    } else {
        struct query *q = htable_get(r->inflight, key);
        if (q) {
            r->stats.merged++;
            add_waiter(q, done, arg, NULL);
        } else {
            q = query_new(r, key, name, type);
            add_waiter(q, done, arg, NULL);
            launch(q);
        }
    }
    free(key);
}

/* cancel_list - drop matching deliveries from a list; returns how many */
static unsigned cancel_list(struct delivery **list, struct delivery ***tail, void *arg)
{
    unsigned n = 0;
    struct delivery **p = list;
    while (*p) {
        struct delivery *d = *p;
        if (d->arg == arg) {
            *p = d->next;
            dns_cached_unref(d->ans);
            free(d);
            n++;
        } else {
            p = &d->next;
        }
    }
    if (tail)
        *tail = p;
    return n;
}

unsigned dns_cancel(struct dns_resolver *r, void *arg)
{
    unsigned n = cancel_list(&r->ready, &r->ready_tail, arg);
    n += cancel_list(&r->delivering, NULL, arg);
    struct htable_iter it = {0};
    void *value;
    while (htable_next(r->inflight, &it, NULL, &value)) {
        struct query *q = value;
        struct waiter **p = &q->waiters;
        while (*p) {
            struct waiter *w = *p;
            if (w->done && w->arg == arg) {
                *p = w->next;
                free(w);
                n++;
            } else {
                p = &w->next;
            }
        }
        q->waiters_tail = p;
    }
    r->owed -= n;
    return n;
}

const struct dns_answer *dns_lookup_cached(struct dns_resolver *r, const char *name,
                                           enum dns_type type)
{
    char key[DNS_CACHE_KEY_MAX];
    if (!dns_cache_key_into(name, type, key))
        return NULL;
    struct dns_cached *hit = dns_cache_get(r->cache, key, clock_wall());
    return hit ? &hit->answer : NULL;
}

/*
 * sync_wait - poll ub_fd() until the query has delivered into *result or
 * its deadline passes.  ub_process() may finish other queries too; their
 * callbacks are queued for the event loop as usual.
 */
static void sync_wait(struct dns_resolver *r, struct query *q, struct dns_cached **result)
{
    int fd = ub_fd(r->ctx);
    while (*result == NULL) {
        uint64_t now = clock_mono_us();
        if (now >= q->deadline_us) {
            expire(q);
            return;
        }
        uint64_t left_ms = (q->deadline_us - now + 999) / 1000;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int n = poll(&pfd, 1, left_ms > 60000 ? 60000 : (int) left_ms);
        if (n == -1 && errno != EINTR) {
            log_warn("dns: poll");
            expire(q);
            return;
        }
        if (n > 0) {
            int err = ub_process(r->ctx);
            if (err != 0)
                log_warnx("dns: resolver: %s", ub_strerror(err));
        }
    }
}

const struct dns_answer *dns_lookup_sync(struct dns_resolver *r, const char *name,
                                         enum dns_type type)
{
    struct dns_cached *result = NULL;

    dns_cached_unref(r->last_sync);
    r->last_sync = NULL;
    r->stats.lookups++;
    char *key = dns_cache_key(name, type);
    if (key == NULL) {
        r->last_sync = make_answer(DNS_NOTFOUND, true, clock_wall());
        return &r->last_sync->answer;
    }
    struct dns_cached *hit = dns_cache_get(r->cache, key, clock_wall());
    if (hit) {
        r->stats.cache_hits++;
        result = dns_cached_ref(hit);
    } else if (r->ctx == NULL) {
        result = make_answer(DNS_NOTFOUND, false, clock_wall());
    } else {
        struct query *q = htable_get(r->inflight, key);
        if (q) {
            r->stats.merged++;
            add_waiter(q, NULL, NULL, &result);
        } else {
            q = query_new(r, key, name, type);
            add_waiter(q, NULL, NULL, &result);
            launch(q);
        }
        if (result == NULL) /* launch() may have finished it already */
            sync_wait(r, q, &result);
    }
    free(key);
    r->last_sync = result;
    return &result->answer;
}

void dns_cache_put(struct dns_resolver *r, const char *name, enum dns_type type,
                   const struct dns_answer *answer)
{
    char *key = dns_cache_key(name, type);
    if (key == NULL) {
        log_warnx("dns: cannot cache an answer for invalid name \"%s\"", name);
        return;
    }
    struct dns_answer *copy = dns_answer_copy(answer);
    struct dns_cached *c = dns_cached_new(copy);
    free(copy);
    dns_cache_insert(r->cache, key, c, clock_wall());
    dns_cached_unref(c);
    free(key);
}

unsigned dns_pending(const struct dns_resolver *r)
{
    return r->owed;
}

void dns_resolver_stats(const struct dns_resolver *r, struct dns_stats *out)
{
    *out = r->stats;
    out->evictions = dns_cache_evictions(r->cache);
}
