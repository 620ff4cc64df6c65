/*
 * Unit tests: dns.  No mocked resolver: the group setup starts Debian's
 * unbound through tests/lib/unbound-server.sh on 127.0.0.1 with the zone
 * below, and the resolver under test forwards to it.  Asynchronous tests
 * run a real event_base until their callbacks have arrived.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "dns/dns.h"
#include "testutil.h"

#ifndef POSTERN_SOURCE_ROOT
#define POSTERN_SOURCE_ROOT "."
#endif

static const char zone_text[] =
    "# the zone of test_dns.c\n"
    "www.example      A      192.0.2.1\n"
    "www.example      AAAA   2001:db8::1\n"
    "example          MX     10 mx1.example\n"
    "example          MX     20 mx2.example\n"
    "example          MX     30 Mx3.Other.example    # letter case is kept\n"
    "example          NS     ns1.example\n"
    "example          TXT    \"v=spf1 \" \"-all\"\n"
    "nullmx.example   MX     0 .\n"
    "bare.example     TXT    hello world\n"
    "multi.example    TXT    one\n"
    "multi.example    TXT    two\n"
    "1.2.0.192.in-addr.arpa PTR www.example\n"
    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa PTR v6.example\n"
    "alias.example    CNAME  www.example\n"
    "short.example 5  A      192.0.2.9\n"
    "gone.example  30 NXDOMAIN\n"
    "broken.example   SERVFAIL\n"
    "closed.example   REFUSED\n"
    "mx.postern.test  A      192.0.2.25   # special-use names go to the server\n"
    "www.home.arpa    A      192.0.2.26\n";

static char *server_dir;
static char *zone_path;
static int server_port;
static char *servers; /* "127.0.0.1@PORT" */

static const char *source_root(void)
{
    const char *env = getenv("POSTERN_SOURCE_ROOT");
    return env ? env : POSTERN_SOURCE_ROOT;
}

/* server_start - the test DNS server in dir; its port, or -1 */
static int server_start(const char *dir, const char *zone)
{
    char *cmd =
        xasprintf("'%s/tests/lib/unbound-server.sh' start '%s' '%s'", source_root(), dir, zone);
    FILE *p = popen(cmd, "r");
    free(cmd);
    if (p == NULL)
        return -1;
    int port = -1;
    if (fscanf(p, "%d", &port) != 1)
        port = -1;
    if (pclose(p) != 0)
        port = -1;
    return port;
}

static void server_stop(const char *dir)
{
    char *cmd = xasprintf("'%s/tests/lib/unbound-server.sh' stop '%s'", source_root(), dir);
    int rc = system(cmd);
    (void) rc;
    free(cmd);
}

static int group_setup(void **state)
{
    (void) state;
    struct stat st;
    if (stat("/usr/sbin/unbound", &st) == -1) {
        fprintf(stderr, "test_dns: /usr/sbin/unbound is missing (apt-get install unbound)\n");
        return -1;
    }
    /* the server goes away with this process, even after a crash */
    char pid[32];
    snprintf(pid, sizeof(pid), "%ld", (long) getpid());
    setenv("UNBOUND_OWNER_PID", pid, 1);
    zone_path = test_write_file("zone", zone_text);
    server_dir = xasprintf("%s/dns-server", test_tmpdir());
    server_port = server_start(server_dir, zone_path);
    if (server_port <= 0) {
        fprintf(stderr, "test_dns: the test DNS server did not start\n");
        return -1;
    }
    servers = xasprintf("127.0.0.1@%d", server_port);
    return 0;
}

static int group_teardown(void **state)
{
    (void) state;
    if (server_dir)
        server_stop(server_dir);
    free(server_dir);
    free(zone_path);
    free(servers);
    return 0;
}

/* ---- helpers for asynchronous lookups ---- */

struct result {
    int calls;
    enum dns_status status;
    bool nxdomain;
    char *text; /* records joined: "10 mx1.example,20 ..." or the data alone */
    uint32_t ttl;
    time_t expires;
    char *why;
};

static char *join_rrs(const struct dns_answer *a)
{
    struct buf b;
    buf_init(&b);
    for (const struct dns_rr *rr = a->rrs; rr; rr = rr->next) {
        if (b.len)
            buf_putc(&b, ',');
        if (rr->type == DNS_T_MX)
            buf_printf(&b, "%u %s", rr->pref, rr->data);
        else
            buf_puts(&b, rr->data);
    }
    return buf_steal(&b);
}

static void record_result(struct result *res, const struct dns_answer *a)
{
    res->calls++;
    res->status = a->status;
    res->nxdomain = a->nxdomain;
    free(res->text);
    res->text = join_rrs(a);
    res->ttl = a->rrs ? a->rrs->ttl : 0;
    res->expires = a->expires;
    free(res->why);
    res->why = a->why ? xstrdup(a->why) : NULL;
}

static void on_answer(void *arg, const struct dns_answer *a)
{
    record_result(arg, a);
}

static void result_clear(struct result *res)
{
    free(res->text);
    free(res->why);
    memset(res, 0, sizeof(*res));
}

/* run_until - run the loop until *calls reaches want (or nothing is left
 * to wait for); fails the test after max_ms */
static void run_until(struct event_base *base, const int *calls, int want, int max_ms)
{
    uint64_t end = clock_mono_us() + (uint64_t) max_ms * 1000;
    while (*calls < want) {
        if (event_base_loop(base, EVLOOP_ONCE) == 1)
            break;
        if (clock_mono_us() > end)
            fail_msg("no answer within %d ms", max_ms);
    }
    assert_int_equal(*calls, want);
}

struct fixture {
    struct event_base *base;
    struct dns_resolver *r;
};

static struct fixture fixture_new(const char *server_list)
{
    struct fixture f;
    char *err = NULL;
    f.base = event_base_new();
    assert_non_null(f.base);
    f.r = dns_resolver_new(f.base, server_list, &err);
    if (f.r == NULL)
        fail_msg("dns_resolver_new: %s", err);
    return f;
}

static void fixture_free(struct fixture *f)
{
    dns_resolver_free(f->r);
    event_base_free(f->base);
}

/* lookup - one asynchronous lookup run to completion */
static void lookup(struct fixture *f, const char *name, enum dns_type type, struct result *res)
{
    result_clear(res);
    dns_lookup_async(f->r, name, type, on_answer, res);
    assert_int_equal(res->calls, 0); /* never from inside the call */
    run_until(f->base, &res->calls, 1, 15000);
}

/* ---- tests without a server ---- */

static void test_reverse_names(void **state)
{
    (void) state;
    char *s = dns_reverse_query("192.0.2.1");
    assert_string_equal(s, "1.2.0.192");
    free(s);
    s = dns_reverse_name("192.0.2.1");
    assert_string_equal(s, "1.2.0.192.in-addr.arpa");
    free(s);
    s = dns_reverse_query("2001:DB8::567:89ab");
    assert_string_equal(s, "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2");
    free(s);
    s = dns_reverse_name("::1");
    assert_string_equal(s,
                        "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa");
    free(s);
    assert_null(dns_reverse_name("[192.0.2.1]"));
    assert_null(dns_reverse_name("192.0.2"));
    assert_null(dns_reverse_query("example.com"));
    assert_null(dns_reverse_query(""));
    assert_null(dns_reverse_query(NULL));
}

static void test_type_and_status_names(void **state)
{
    (void) state;
    enum dns_type t;
    assert_int_equal(dns_type_parse("mx", &t), 0);
    assert_int_equal(t, DNS_T_MX);
    assert_int_equal(dns_type_parse("AAAA", &t), 0);
    assert_int_equal(t, DNS_T_AAAA);
    assert_int_equal(dns_type_parse("SRV", &t), -1);
    assert_string_equal(dns_type_name(DNS_T_PTR), "PTR");
    assert_string_equal(dns_status_name(DNS_NULLMX), "NULLMX");
    assert_string_equal(dns_status_name(DNS_RETRY), "RETRY");
}

static char *decode(enum dns_type type, const char *bytes, size_t len, unsigned *pref)
{
    char *out = NULL;
    unsigned p = 99;
    if (dns_rdata_decode(type, (const uint8_t *) bytes, len, &p, &out) == -1) {
        assert_null(out);
        return NULL;
    }
    if (pref)
        *pref = p;
    return out;
}

static void test_rdata_decoders(void **state)
{
    (void) state;
    unsigned pref;
    char *s;

    s = decode(DNS_T_A, "\xc0\x00\x02\x01", 4, NULL);
    assert_string_equal(s, "192.0.2.1");
    free(s);
    assert_null(decode(DNS_T_A, "\xc0\x00\x02", 3, NULL));
    assert_null(decode(DNS_T_AAAA, "\xc0\x00\x02\x01", 4, NULL));
    s = decode(DNS_T_AAAA, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16, NULL);
    assert_string_equal(s, "2001:db8::1");
    free(s);

    s = decode(DNS_T_MX, "\x00\x0a\x02mx\x07\x45xample\x00", 14, &pref);
    assert_string_equal(s, "mx.Example");
    assert_int_equal(pref, 10);
    free(s);
    s = decode(DNS_T_MX, "\x00\x00\x00", 3, &pref); /* null MX */
    assert_string_equal(s, ".");
    assert_int_equal(pref, 0);
    free(s);
    assert_null(decode(DNS_T_MX, "\x00\x0a", 2, NULL));
    assert_null(decode(DNS_T_MX, "\x00\x0a\x02mx\x00\x00", 7, NULL)); /* trailing byte */
    assert_null(decode(DNS_T_MX, "\x00\x0a\x02mx", 5, NULL));         /* no root label */
    assert_null(decode(DNS_T_MX, "\x00\x0a\xc0\x0c", 4, NULL));       /* compression */
    assert_null(decode(DNS_T_PTR,
                       "\x05"
                       "ab",
                       3, NULL)); /* label too long */

    /* escapes for '.', '\' and bytes outside printable ASCII */
    s = decode(DNS_T_PTR,
               "\x04"
               "a.b\\"
               "\x03"
               "c d"
               "\x01\x7f\x00",
               12, NULL);
    assert_string_equal(s, "a\\.b\\\\.c\\032d.\\127");
    free(s);
    s = decode(DNS_T_CNAME, "\x00", 1, NULL);
    assert_string_equal(s, ".");
    free(s);

    /* 255 octets is the longest name */
    char longname[300];
    size_t n = 0;
    for (int i = 0; i < 4; i++) {
        longname[n++] = 62;
        memset(longname + n, 'a', 62);
        n += 62;
    }
    longname[n++] = 1; /* 4 * 63 + 2 = 254 octets so far */
    longname[n++] = 'b';
    longname[n++] = 0; /* 255 */
    s = decode(DNS_T_NS, longname, n, NULL);
    assert_non_null(s);
    assert_int_equal(strlen(s), 4 * 62 + 4 + 1);
    free(s);
    longname[n - 3] = 2;
    longname[n - 1] = 'c';
    longname[n++] = 0; /* 256 octets */
    assert_null(decode(DNS_T_NS, longname, n, NULL));

    s = decode(DNS_T_TXT, "\x07v=spf1 \x04-all", 13, NULL);
    assert_string_equal(s, "v=spf1 -all");
    free(s);
    s = decode(DNS_T_TXT, "\x00", 1, NULL);
    assert_string_equal(s, "");
    free(s);
    s = decode(DNS_T_TXT,
               "\x03"
               "a\0b",
               4, NULL);
    assert_string_equal(s, "a?b");
    free(s);
    assert_null(decode(DNS_T_TXT, "", 0, NULL));
    assert_null(decode(DNS_T_TXT,
                       "\x05"
                       "abc",
                       4, NULL));
    assert_null(decode((enum dns_type) 99, "\x00", 1, NULL));
}

static void test_answer_helpers(void **state)
{
    (void) state;
    struct dns_answer *a = dns_answer_new(DNS_NOTFOUND, true);
    assert_true(a->nxdomain);
    assert_string_equal(a->why, "Host not found");
    dns_answer_free(a);
    a = dns_answer_new(DNS_OK, true);
    assert_false(a->nxdomain);
    assert_null(a->why);
    dns_answer_add(a, DNS_T_MX, 60, 10, "mx1.example");
    dns_answer_add(a, DNS_T_MX, 60, 5, "mx2.example");
    struct dns_answer *c = dns_answer_copy(a);
    dns_answer_free(a);
    char *s = join_rrs(c);
    assert_string_equal(s, "10 mx1.example,5 mx2.example");
    free(s);
    dns_answer_free(c);
}

/* ---- against the test server ---- */

static void test_a_aaaa_cname(void **state)
{
    (void) state;
    struct fixture f = fixture_new(servers);
    struct result res = {0};

    lookup(&f, "www.example", DNS_T_A, &res);
    assert_int_equal(res.status, DNS_OK);
    assert_string_equal(res.text, "192.0.2.1");
    assert_int_equal(res.ttl, 300);
    assert_null(res.why);
    time_t now = time(NULL);
    assert_true(res.expires > now + 290 && res.expires <= now + 300);

    lookup(&f, "www.example", DNS_T_AAAA, &res);
    assert_int_equal(res.status, DNS_OK);
    assert_string_equal(res.text, "2001:db8::1");

    lookup(&f, "alias.example", DNS_T_CNAME, &res);
    assert_int_equal(res.status, DNS_OK);
    assert_string_equal(res.text, "www.example");
    lookup(&f, "alias.example", DNS_T_A, &res); /* the chain is followed */
    assert_int_equal(res.status, DNS_OK);
    assert_string_equal(res.text, "192.0.2.1");

    lookup(&f, "example", DNS_T_NS, &res);
    assert_int_equal(res.status, DNS_OK);
    assert_string_equal(res.text, "ns1.example");

    result_clear(&res);
    fixture_free(&f);
}

/* wire_mx_prefs - ask the server directly over UDP and list the MX
 * preferences in the order of its answer section */
static char *wire_mx_prefs(const char *qname)
{
    uint8_t q[512], a[4096];
    size_t n = 0;
    memcpy(q, "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12); /* RD, 1 question */
    n = 12;
    const char *label = qname;
    while (*label) {
        const char *dot = strchr(label, '.');
        size_t len = dot ? (size_t) (dot - label) : strlen(label);
        q[n++] = (uint8_t) len;
        memcpy(q + n, label, len);
        n += len;
        label += len + (dot ? 1 : 0);
    }
    q[n++] = 0;
    memcpy(q + n, "\x00\x0f\x00\x01", 4);
    n += 4;

    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t) server_port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(sendto(fd, q, n, 0, (struct sockaddr *) &sa, sizeof(sa)), (ssize_t) n);
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 5000), 1);
    ssize_t got = recv(fd, a, sizeof(a), 0);
    close(fd);
    assert_true(got > 12);

    size_t p = 12;
    /* skip the question: name, type, class */
    while (a[p] != 0)
        p += (size_t) a[p] + 1;
    p += 5;
    unsigned ancount = (unsigned) a[6] << 8 | a[7];
    struct buf out;
    buf_init(&out);
    for (unsigned i = 0; i < ancount; i++) {
        if ((a[p] & 0xc0) == 0xc0) {
            p += 2;
        } else {
            while (a[p] != 0)
                p += (size_t) a[p] + 1;
            p++;
        }
        size_t rdlen = (size_t) a[p + 8] << 8 | a[p + 9];
        p += 10;
        buf_printf(&out, "%s%u", out.len ? "," : "", (unsigned) a[p] << 8 | a[p + 1]);
        p += rdlen;
    }
    return buf_steal(&out);
}

static void test_mx_in_server_order(void **state)
{
    (void) state;
    struct fixture f = fixture_new(servers);
    struct result res = {0};

    lookup(&f, "example", DNS_T_MX, &res);
    assert_int_equal(res.status, DNS_OK);
    /* the same three records in the order the server sent them, unsorted */
    char *wire = wire_mx_prefs("example");
    struct buf prefs;
    buf_init(&prefs);
    int seen = 0;
    const char *cursor = res.text;
    while (*cursor) {
        unsigned p;
        char name[64];
        assert_int_equal(sscanf(cursor, "%u %63[^,]", &p, name), 2);
        buf_printf(&prefs, "%s%u", prefs.len ? "," : "", p);
        if (p == 10)
            assert_string_equal(name, "mx1.example"), seen |= 1;
        else if (p == 20)
            assert_string_equal(name, "mx2.example"), seen |= 2;
        else if (p == 30)
            assert_string_equal(name, "Mx3.Other.example"), seen |= 4;
        cursor = strchr(cursor, ',') ? strchr(cursor, ',') + 1 : cursor + strlen(cursor);
    }
    assert_int_equal(seen, 7);
    assert_string_equal(prefs.data, wire);
    buf_free(&prefs);
    free(wire);

    lookup(&f, "nullmx.example", DNS_T_MX, &res);
    assert_int_equal(res.status, DNS_NULLMX);
    assert_string_equal(res.text, "0 .");
    assert_non_null(res.why);

    result_clear(&res);
    fixture_free(&f);
}

static void test_txt_and_ptr(void **state)
{
    (void) state;
    struct fixture f = fixture_new(servers);
    struct result res = {0};

    lookup(&f, "example", DNS_T_TXT, &res);
    assert_int_equal(res.status, DNS_OK);
    assert_string_equal(res.text, "v=spf1 -all");
    lookup(&f, "bare.example", DNS_T_TXT, &res);
    assert_string_equal(res.text, "hello world");
    lookup(&f, "multi.example", DNS_T_TXT, &res); /* two records stay two */
    assert_int_equal(res.status, DNS_OK);
    assert_true(strcmp(res.text, "one,two") == 0 || strcmp(res.text, "two,one") == 0);

    char *name = dns_reverse_name("192.0.2.1");
    lookup(&f, name, DNS_T_PTR, &res);
    free(name);
    assert_int_equal(res.status, DNS_OK);
    assert_string_equal(res.text, "www.example");
    name = dns_reverse_name("2001:db8::1");
    lookup(&f, name, DNS_T_PTR, &res);
    free(name);
    assert_int_equal(res.status, DNS_OK);
    assert_string_equal(res.text, "v6.example");

    result_clear(&res);
    fixture_free(&f);
}

static void test_nxdomain_nodata_failures(void **state)
{
    (void) state;
    struct fixture f = fixture_new(servers);
    struct result res = {0};

    lookup(&f, "unknown.example", DNS_T_A, &res);
    assert_int_equal(res.status, DNS_NOTFOUND);
    assert_true(res.nxdomain);
    assert_string_equal(res.why, "Host not found");
    /* negative TTL from the SOA (minimum 60) */
    time_t now = time(NULL);
    assert_true(res.expires > now + 50 && res.expires <= now + 60);

    lookup(&f, "x.gone.example", DNS_T_MX, &res);
    assert_int_equal(res.status, DNS_NOTFOUND);
    assert_true(res.nxdomain);
    lookup(&f, "gone.example", DNS_T_A, &res);
    assert_int_equal(res.status, DNS_NOTFOUND);
    assert_true(res.nxdomain);
    now = time(NULL);
    assert_true(res.expires > now + 20 && res.expires <= now + 30);

    lookup(&f, "www.example", DNS_T_MX, &res); /* the name exists: NODATA */
    assert_int_equal(res.status, DNS_NOTFOUND);
    assert_false(res.nxdomain);
    assert_string_equal(res.why, "Host found but no data record of requested type");

    lookup(&f, "closed.example", DNS_T_A, &res); /* REFUSED */
    assert_int_equal(res.status, DNS_RETRY);
    assert_string_equal(res.why, "Host not found, try again");
    lookup(&f, "broken.example", DNS_T_A, &res); /* SERVFAIL */
    assert_int_equal(res.status, DNS_RETRY);

    /* temporary failures are not cached; the rest are */
    assert_null(dns_lookup_cached(f.r, "closed.example", DNS_T_A));
    assert_non_null(dns_lookup_cached(f.r, "www.example", DNS_T_MX));
    assert_non_null(dns_lookup_cached(f.r, "unknown.example", DNS_T_A));

    /* names no server could answer never leave the process */
    struct dns_stats before, after;
    dns_resolver_stats(f.r, &before);
    lookup(&f, "a..example", DNS_T_A, &res);
    assert_int_equal(res.status, DNS_NOTFOUND);
    lookup(&f, "", DNS_T_A, &res);
    assert_int_equal(res.status, DNS_NOTFOUND);
    lookup(&f, "bad name.example", DNS_T_A, &res);
    assert_int_equal(res.status, DNS_NOTFOUND);
    dns_resolver_stats(f.r, &after);
    assert_int_equal(after.queries, before.queries);

    result_clear(&res);
    fixture_free(&f);
}

/* blackhole - a UDP socket that receives queries and never answers */
static int blackhole(int *port)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
    socklen_t len = sizeof(sa);
    assert_int_equal(getsockname(fd, (struct sockaddr *) &sa, &len), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

static void test_unreachable_server_times_out(void **state)
{
    (void) state;
    int port;
    int fd = blackhole(&port);
    char *list = xasprintf("127.0.0.1@%d", port);
    struct fixture f = fixture_new(list);
    free(list);
    dns_resolver_set_timeout(f.r, 400);
    struct result res = {0};

    uint64_t t0 = clock_mono_us();
    lookup(&f, "www.example", DNS_T_A, &res);
    uint64_t ms = (clock_mono_us() - t0) / 1000;
    assert_int_equal(res.status, DNS_RETRY);
    assert_string_equal(res.why, "Host not found, try again");
    assert_true(ms >= 390 && ms < 2000);
    assert_null(dns_lookup_cached(f.r, "www.example", DNS_T_A));
    struct dns_stats st;
    dns_resolver_stats(f.r, &st);
    assert_int_equal(st.timeouts, 1);

    /* the blocking variant keeps the same bound */
    t0 = clock_mono_us();
    const struct dns_answer *a = dns_lookup_sync(f.r, "www2.example", DNS_T_A);
    ms = (clock_mono_us() - t0) / 1000;
    assert_int_equal(a->status, DNS_RETRY);
    assert_true(ms >= 390 && ms < 2000);
    assert_int_equal(dns_pending(f.r), 0);

    result_clear(&res);
    fixture_free(&f);
    close(fd);
}

static void test_cache_answers_when_server_is_gone(void **state)
{
    (void) state;
    char *dir = xasprintf("%s/dns-server-2", test_tmpdir());
    int port = server_start(dir, zone_path);
    assert_true(port > 0);
    char *list = xasprintf("127.0.0.1@%d", port);
    struct fixture f = fixture_new(list);
    free(list);
    dns_resolver_set_timeout(f.r, 500);
    struct result res = {0};

    lookup(&f, "www.example", DNS_T_A, &res);
    assert_int_equal(res.status, DNS_OK);
    lookup(&f, "unknown.example", DNS_T_A, &res);
    assert_int_equal(res.status, DNS_NOTFOUND);
    server_stop(dir);

    struct dns_stats before, after;
    dns_resolver_stats(f.r, &before);
    lookup(&f, "WWW.Example.", DNS_T_A, &res); /* case and trailing dot do not matter */
    assert_int_equal(res.status, DNS_OK);
    assert_string_equal(res.text, "192.0.2.1");
    lookup(&f, "unknown.example", DNS_T_A, &res);
    assert_int_equal(res.status, DNS_NOTFOUND);
    assert_true(res.nxdomain);
    const struct dns_answer *a = dns_lookup_sync(f.r, "www.example", DNS_T_A);
    assert_int_equal(a->status, DNS_OK);
    dns_resolver_stats(f.r, &after);
    assert_int_equal(after.queries, before.queries);
    assert_int_equal(after.cache_hits, before.cache_hits + 3);

    /* the server really is gone: a new name fails */
    lookup(&f, "www.example", DNS_T_AAAA, &res);
    assert_int_equal(res.status, DNS_RETRY);

    result_clear(&res);
    fixture_free(&f);
    free(dir);
}

static void test_concurrent_queries_merge(void **state)
{
    (void) state;
    struct fixture f = fixture_new(servers);
    struct result res[5] = {{0}};

    for (int i = 0; i < 5; i++)
        dns_lookup_async(f.r, i % 2 ? "EXAMPLE" : "example", DNS_T_MX, on_answer, &res[i]);
    struct dns_stats st;
    dns_resolver_stats(f.r, &st);
    assert_int_equal(st.queries, 1);
    assert_int_equal(st.merged, 4);
    assert_int_equal(dns_pending(f.r), 5);

    int total = 0;
    uint64_t end = clock_mono_us() + 10000000;
    while (total < 5 && clock_mono_us() < end) {
        event_base_loop(f.base, EVLOOP_ONCE);
        total = 0;
        for (int i = 0; i < 5; i++)
            total += res[i].calls;
    }
    for (int i = 0; i < 5; i++) {
        assert_int_equal(res[i].calls, 1);
        assert_int_equal(res[i].status, DNS_OK);
        assert_string_equal(res[i].text, res[0].text);
    }
    for (int i = 0; i < 5; i++)
        result_clear(&res[i]);
    assert_int_equal(dns_pending(f.r), 0);

    /* a cache hit also calls back from the loop, not from the call */
    struct result hit = {0};
    dns_lookup_async(f.r, "example", DNS_T_MX, on_answer, &hit);
    assert_int_equal(hit.calls, 0);
    assert_int_equal(dns_pending(f.r), 1);
    run_until(f.base, &hit.calls, 1, 1000);
    dns_resolver_stats(f.r, &st);
    assert_int_equal(st.queries, 1);
    assert_int_equal(st.cache_hits, 1);
    result_clear(&hit);
    fixture_free(&f);
}

static void test_cancel_and_free_with_pending(void **state)
{
    (void) state;
    struct fixture f = fixture_new(servers);
    struct result a = {0}, b = {0}, c = {0};

    dns_lookup_async(f.r, "www.example", DNS_T_A, on_answer, &a);
    dns_lookup_async(f.r, "www.example", DNS_T_A, on_answer, &b);
    dns_lookup_async(f.r, "example", DNS_T_TXT, on_answer, &b);
    assert_int_equal(dns_cancel(f.r, &b), 2);
    assert_int_equal(dns_pending(f.r), 1);
    run_until(f.base, &a.calls, 1, 10000);
    event_base_loop(f.base, EVLOOP_NONBLOCK);
    assert_int_equal(b.calls, 0);
    /* the cancelled query ran on and filled the cache */
    for (int i = 0; i < 100 && !dns_lookup_cached(f.r, "example", DNS_T_TXT); i++)
        event_base_loop(f.base, EVLOOP_ONCE);
    assert_non_null(dns_lookup_cached(f.r, "example", DNS_T_TXT));

    /* cancel a cache hit queued for delivery */
    dns_lookup_async(f.r, "www.example", DNS_T_A, on_answer, &c);
    assert_int_equal(dns_cancel(f.r, &c), 1);
    event_base_loop(f.base, EVLOOP_NONBLOCK);
    assert_int_equal(c.calls, 0);

    /* freeing the resolver forgets queries in flight and queued callbacks */
    dns_lookup_async(f.r, "www.example", DNS_T_AAAA, on_answer, &c);
    dns_lookup_async(f.r, "www.example", DNS_T_A, on_answer, &c);
    assert_int_equal(dns_pending(f.r), 2);
    dns_resolver_free(f.r);
    f.r = NULL;
    event_base_loop(f.base, EVLOOP_NONBLOCK);
    assert_int_equal(c.calls, 0);
    event_base_free(f.base);
    result_clear(&a);
    result_clear(&b);
    result_clear(&c);
}

struct free_in_callback {
    struct dns_resolver *r;
    int calls;
};

static void free_resolver_cb(void *arg, const struct dns_answer *a)
{
    struct free_in_callback *x = arg;
    assert_int_equal(a->status, DNS_OK);
    x->calls++;
    dns_resolver_free(x->r);
}

static void test_free_from_callback(void **state)
{
    (void) state;
    struct fixture f = fixture_new(servers);
    struct free_in_callback x = {f.r, 0};
    /* three waiters on one query: the first frees the resolver, the
     * others must not be called */
    for (int i = 0; i < 3; i++)
        dns_lookup_async(f.r, "www.example", DNS_T_A, free_resolver_cb, &x);
    run_until(f.base, &x.calls, 1, 10000);
    event_base_loop(f.base, EVLOOP_NONBLOCK);
    assert_int_equal(x.calls, 1);
    event_base_free(f.base);
}

static void test_sync_lookup(void **state)
{
    (void) state;
    char *err = NULL;
    struct dns_resolver *r = dns_resolver_new(NULL, servers, &err);
    assert_non_null(r);
    const struct dns_answer *a = dns_lookup_sync(r, "example", DNS_T_MX);
    assert_int_equal(a->status, DNS_OK);
    char *s = join_rrs(a);
    assert_non_null(strstr(s, "10 mx1.example"));
    free(s);
    a = dns_lookup_sync(r, "nullmx.example", DNS_T_MX);
    assert_int_equal(a->status, DNS_NULLMX);
    a = dns_lookup_sync(r, "gone.example", DNS_T_A);
    assert_int_equal(a->status, DNS_NOTFOUND);
    assert_true(a->nxdomain);
    a = dns_lookup_sync(r, "closed.example", DNS_T_A);
    assert_int_equal(a->status, DNS_RETRY);
    /* RFC 6761 / 8375 names: answered by the server, not by libunbound */
    a = dns_lookup_sync(r, "mx.postern.test", DNS_T_A);
    assert_int_equal(a->status, DNS_OK);
    assert_string_equal(a->rrs->data, "192.0.2.25");
    a = dns_lookup_sync(r, "www.home.arpa", DNS_T_A);
    assert_int_equal(a->status, DNS_OK);
    a = dns_lookup_sync(r, "nothing.postern.test", DNS_T_A);
    assert_int_equal(a->status, DNS_NOTFOUND);
    assert_true(a->nxdomain);
    struct dns_stats st;
    dns_resolver_stats(r, &st);
    assert_int_equal(st.queries, 7);
    a = dns_lookup_sync(r, "example", DNS_T_MX);
    assert_int_equal(a->status, DNS_OK);
    dns_resolver_stats(r, &st);
    assert_int_equal(st.queries, 7);
    assert_int_equal(st.cache_hits, 1);
    dns_resolver_free(r);
}

static void test_offline_resolver(void **state)
{
    (void) state;
    struct fixture f = fixture_new("none");
    struct result res = {0};

    lookup(&f, "www.example", DNS_T_A, &res);
    assert_int_equal(res.status, DNS_NOTFOUND);
    assert_false(res.nxdomain);

    struct dns_answer *canned = dns_answer_new(DNS_OK, false);
    dns_answer_add(canned, DNS_T_A, 60, 0, "198.51.100.7");
    dns_cache_put(f.r, "Mail.Example", DNS_T_A, canned);
    dns_answer_free(canned);
    canned = dns_answer_new(DNS_RETRY, false);
    dns_cache_put(f.r, "slow.example", DNS_T_MX, canned);
    dns_answer_free(canned);

    lookup(&f, "mail.example.", DNS_T_A, &res);
    assert_int_equal(res.status, DNS_OK);
    assert_string_equal(res.text, "198.51.100.7");
    assert_int_equal(res.expires, 0);
    lookup(&f, "slow.example", DNS_T_MX, &res);
    assert_int_equal(res.status, DNS_RETRY);
    const struct dns_answer *a = dns_lookup_sync(f.r, "mail.example", DNS_T_A);
    assert_int_equal(a->status, DNS_OK);
    a = dns_lookup_sync(f.r, "other.example", DNS_T_A);
    assert_int_equal(a->status, DNS_NOTFOUND);

    struct dns_stats st;
    dns_resolver_stats(f.r, &st);
    assert_int_equal(st.queries, 0);
    result_clear(&res);
    fixture_free(&f);
}

static void put_expiring(struct dns_resolver *r, const char *name, time_t expires)
{
    struct dns_answer *a = dns_answer_new(DNS_OK, false);
    dns_answer_add(a, DNS_T_A, 60, 0, "192.0.2.77");
    a->expires = expires;
    dns_cache_put(r, name, DNS_T_A, a);
    dns_answer_free(a);
}

static void test_cache_limit_and_expiry(void **state)
{
    (void) state;
    struct fixture f = fixture_new("none");
    time_t later = time(NULL) + 100;

    dns_resolver_set_cache_limit(f.r, 2);
    put_expiring(f.r, "pinned.example", 0); /* canned: never evicted */
    put_expiring(f.r, "one.example", later);
    put_expiring(f.r, "two.example", later);
    assert_non_null(dns_lookup_cached(f.r, "one.example", DNS_T_A)); /* one is now newest */
    put_expiring(f.r, "three.example", later);
    assert_null(dns_lookup_cached(f.r, "two.example", DNS_T_A));
    assert_non_null(dns_lookup_cached(f.r, "one.example", DNS_T_A));
    assert_non_null(dns_lookup_cached(f.r, "three.example", DNS_T_A));
    assert_non_null(dns_lookup_cached(f.r, "pinned.example", DNS_T_A));
    struct dns_stats st;
    dns_resolver_stats(f.r, &st);
    assert_int_equal(st.evictions, 1);

    put_expiring(f.r, "stale.example", time(NULL) - 1);
    assert_null(dns_lookup_cached(f.r, "stale.example", DNS_T_A));
    /* the type is part of the key */
    assert_null(dns_lookup_cached(f.r, "one.example", DNS_T_AAAA));
    fixture_free(&f);
}

static void test_short_ttl_expires(void **state)
{
    (void) state;
    struct fixture f = fixture_new(servers);
    struct result res = {0};
    lookup(&f, "short.example", DNS_T_A, &res);
    assert_int_equal(res.status, DNS_OK);
    assert_int_equal(res.ttl, 5);
    time_t now = time(NULL);
    assert_true(res.expires > now && res.expires <= now + 5);
    assert_non_null(dns_lookup_cached(f.r, "short.example", DNS_T_A));
    result_clear(&res);
    fixture_free(&f);
}

static void test_configuration_errors(void **state)
{
    (void) state;
    const char *bad[] = {"999.1.1.1",    "192.0.2.1@0", "192.0.2.1@65536", "192.0.2.1@x",
                         "mail.example", "[::1]",       "192.0.2.1 {x"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        char *err = NULL;
        struct dns_resolver *r = dns_resolver_new(NULL, bad[i], &err);
        if (r != NULL)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_non_null(err);
        free(err);
    }
    char *err = NULL;
    struct dns_resolver *r = dns_resolver_new(NULL, "192.0.2.1, 192.0.2.2@5353 ::1@53", &err);
    assert_non_null(r);
    dns_resolver_free(r);
    r = dns_resolver_new(NULL, " None ", &err);
    assert_non_null(r);
    dns_resolver_free(r);
    /* resolv.conf and /etc/hosts */
    r = dns_resolver_new(NULL, "", &err);
    if (r == NULL)
        fail_msg("resolv.conf: %s", err);
    dns_resolver_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reverse_names),
        cmocka_unit_test(test_type_and_status_names),
        cmocka_unit_test(test_rdata_decoders),
        cmocka_unit_test(test_answer_helpers),
        cmocka_unit_test(test_a_aaaa_cname),
        cmocka_unit_test(test_mx_in_server_order),
        cmocka_unit_test(test_txt_and_ptr),
        cmocka_unit_test(test_nxdomain_nodata_failures),
        cmocka_unit_test(test_unreachable_server_times_out),
        cmocka_unit_test(test_cache_answers_when_server_is_gone),
        cmocka_unit_test(test_concurrent_queries_merge),
        cmocka_unit_test(test_cancel_and_free_with_pending),
        cmocka_unit_test(test_free_from_callback),
        cmocka_unit_test(test_sync_lookup),
        cmocka_unit_test(test_offline_resolver),
        cmocka_unit_test(test_cache_limit_and_expiry),
        cmocka_unit_test(test_short_ttl_expires),
        cmocka_unit_test(test_configuration_errors),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
