/*
 * policy_decisions - the in-process cost of one RCPT decision of the
 * policy engine, with the restriction lists of the two seed stories after
 * their fixes (shared/seeds):
 *
 *   smtpd_client_restrictions = permit_mynetworks,
 *       reject_rbl_client zen.spamhaus.org=127.0.0.10,
 *       reject_rbl_client zen.spamhaus.org=127.0.0.11,
 *       reject_rbl_client zen.spamhaus.org, reject_rbl_client bl.spamcop.net,
 *       permit_sasl_authenticated, reject_unknown_reverse_client_hostname,
 *       check_client_access cidr:.../cidr_table_access.cidr,
 *       check_client_access hash:.../access, reject_unauth_pipelining, permit
 *   smtpd_sender_restrictions = permit_sasl_authenticated, permit_mynetworks,
 *       reject_non_fqdn_sender, check_sender_access hash:.../localdomains, permit
 *
 * with generated cidr: and hash: tables of ENTRIES entries each and a warm
 * DNS cache: an offline resolver ("none") holding a NOTFOUND answer for
 * every DNSBL query of the benchmark's clients (dns_cache_put).  Each
 * client is one session (created outside the timed region) that says
 * EHLO and MAIL FROM and sends one RCPT TO a local domain; with
 * smtpd_delay_reject = yes, policy_check_rcpt evaluates the client, HELO,
 * sender, relay and recipient lists.  One client in 16 is in the cidr:
 * table and one sender in 16 forges a local domain (both refused); the
 * rest pass every restriction.  Prints the median and 99th percentile of
 * one policy_check_rcpt call (a clock_gettime pair around it), decisions
 * per second on one core, and the end-to-end rate with the per-session
 * setup included.
 *
 *   bench-policy-decisions [CLIENTS] [ENTRIES] [ROUNDS]
 *     defaults 100000 clients, 10000 entries per table, 3 rounds
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "dns/dns.h"
#include "policy/policy.h"
#include "table/table.h"

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

/* xorshift64 - a fixed, fast random sequence */
static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

/* public_ipv4 - a random address outside 0/8, 10/8, 127/8 and 224/3 */
static uint32_t public_ipv4(void)
{
    for (;;) {
        uint32_t a = (uint32_t) rnd();
        unsigned top = a >> 24;
        if (top != 0 && top != 10 && top != 127 && top < 224)
            return a;
    }
}

static void ipv4_text(uint32_t a, char *out, size_t len)
{
    snprintf(out, len, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

static void write_file(const char *path, const struct buf *b)
{
    FILE *f = fopen(path, "w");
    if (f == NULL || fwrite(b->data, 1, b->len, f) != b->len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

struct client {
    char addr[16];
    char name[48];
    char sender[64];
};

int main(int argc, char **argv)
{
    size_t n_clients = argc > 1 ? (size_t) atol(argv[1]) : 100000;
    size_t entries = argc > 2 ? (size_t) atol(argv[2]) : 10000;
    int rounds = argc > 3 ? atoi(argv[3]) : 3;
    if (n_clients == 0 || entries < 16 || rounds < 1) {
        fprintf(stderr, "usage: %s [CLIENTS] [ENTRIES] [ROUNDS]\n", argv[0]);
        return 2;
    }
    char dir[] = "/tmp/bench-policy-XXXXXX";
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }

    /* The clients: every 16th inside a network of the cidr: table. */
    struct client *clients = xcalloc(n_clients, sizeof(*clients));
    struct buf cidr, access, local, main_cf;
    buf_init(&cidr);
    buf_init(&access);
    buf_init(&local);
    buf_init(&main_cf);
    size_t listed = 0;
    for (size_t i = 0; i < entries; i++) {
        uint32_t a = public_ipv4();
        int bits = 16 + (int) (rnd() % 17); /* /16 .. /32 */
        uint32_t mask = bits == 32 ? 0xffffffffu : ~(0xffffffffu >> bits);
        char text[16];
        ipv4_text(a & mask, text, sizeof(text));
        buf_printf(&cidr, "%s/%d REJECT listed network %zu\n", text, bits, i);
        if (listed * 16 < n_clients) {
            /* a client inside this network */
            uint32_t host = (a & mask) | ((uint32_t) rnd() & ~mask);
            ipv4_text(host, clients[listed * 16].addr, sizeof(clients[0].addr));
            listed++;
        }
        /* hash:access holds client addresses and host names */
        if (i % 2 == 0) {
            ipv4_text(public_ipv4(), text, sizeof(text));
            buf_printf(&access, "%s REJECT spam source %zu\n", text, i);
        } else {
            buf_printf(&access, "host%zu.spammer%zu.example REJECT spam source %zu\n", i, i % 97,
                       i);
        }
        buf_printf(&local, "local%zu.example REJECT Oh no you don't. You're not local!\n", i);
    }
    buf_puts(&local, "first.local.domain REJECT Oh no you don't. You're not local!\n");
    for (size_t i = 0; i < n_clients; i++) {
        struct client *c = &clients[i];
        if (c->addr[0] == 0)
            ipv4_text(public_ipv4(), c->addr, sizeof(c->addr));
        snprintf(c->name, sizeof(c->name), "mail%zu.sender%zu.example", i, i % 1000);
        if (i % 16 == 7)
            snprintf(c->sender, sizeof(c->sender), "user%zu@local%zu.example", i, i % entries);
        else
            snprintf(c->sender, sizeof(c->sender), "user%zu@sender%zu.example", i, i % 1000);
    }
    char path[512];
    snprintf(path, sizeof(path), "%s/cidr_table_access.cidr", dir);
    write_file(path, &cidr);
    snprintf(path, sizeof(path), "%s/access", dir);
    write_file(path, &access);
    snprintf(path, sizeof(path), "%s/localdomains", dir);
    write_file(path, &local);
    buf_printf(&main_cf,
               "compatibility_level = 3.6\n"
               "myhostname = mx.first.local.domain\n"
               "mydomain = first.local.domain\n"
               "mydestination = $myhostname, localhost, first.local.domain\n"
               "mynetworks = 127.0.0.0/8\n"
               "inet_interfaces = 127.0.0.1\n"
               "inet_protocols = ipv4\n"
               "alias_maps =\n"
               "local_recipient_maps =\n"
               "smtpd_delay_reject = yes\n"
               "smtpd_client_restrictions = permit_mynetworks\n"
               "    reject_rbl_client zen.spamhaus.org=127.0.0.10\n"
               "    reject_rbl_client zen.spamhaus.org=127.0.0.11\n"
               "    reject_rbl_client zen.spamhaus.org\n"
               "    reject_rbl_client bl.spamcop.net\n"
               "    permit_sasl_authenticated\n"
               "    reject_unknown_reverse_client_hostname\n"
               "    check_client_access cidr:%s/cidr_table_access.cidr\n"
               "    check_client_access hash:%s/access\n"
               "    reject_unauth_pipelining\n"
               "    permit\n"
               "smtpd_sender_restrictions = permit_sasl_authenticated, permit_mynetworks, "
               "reject_non_fqdn_sender, check_sender_access hash:%s/localdomains, permit\n",
               dir, dir, dir);
    snprintf(path, sizeof(path), "%s/main.cf", dir);
    write_file(path, &main_cf);
    char spec[600];
    snprintf(spec, sizeof(spec), "hash:%s/access", dir);
    if (table_build(spec, TABLE_OPEN_FOLD) == -1)
        return 1;
    snprintf(spec, sizeof(spec), "hash:%s/localdomains", dir);
    if (table_build(spec, TABLE_OPEN_FOLD) == -1)
        return 1;

    struct strlist errors;
    strlist_init(&errors);
    struct config *cfg = config_load_main(dir, &errors);
    struct policy *p = cfg ? policy_compile(cfg, &errors) : NULL;
    if (p == NULL) {
        for (size_t i = 0; i < errors.count; i++)
            fprintf(stderr, "%s\n", errors.items[i]);
        return 1;
    }

    /* The warm cache: NOTFOUND for both DNSBL queries of every client. */
    char *err = NULL;
    struct dns_resolver *resolver = dns_resolver_new(NULL, "none", &err);
    if (resolver == NULL) {
        fprintf(stderr, "resolver: %s\n", err);
        return 1;
    }
    struct dns_answer *nx = dns_answer_new(DNS_NOTFOUND, true);
    static const char *const zones[] = {"zen.spamhaus.org", "bl.spamcop.net"};
    for (size_t i = 0; i < n_clients; i++) {
        char *rev = dns_reverse_query(clients[i].addr);
        for (size_t z = 0; z < 2; z++) {
            char q[128];
            snprintf(q, sizeof(q), "%s.%s", rev, zones[z]);
            dns_cache_put(resolver, q, DNS_T_A, nx);
        }
        free(rev);
    }
    dns_answer_free(nx);

    size_t n = n_clients * (size_t) rounds, k = 0, rejected = 0;
    uint64_t *ns = xcalloc(n, sizeof(*ns));
    uint64_t timed = 0;
    const char *rcpt = "postmaster@first.local.domain";
    uint64_t wall_start = now_ns();
    for (int r = 0; r < rounds; r++) {
        for (size_t i = 0; i < n_clients; i++) {
            const struct client *c = &clients[i];
            struct policy_session *s = policy_session_new(p);
            policy_set_dns_resolver(s, resolver);
            policy_set_client(s, c->addr, 25000, c->name, PEER_OK, c->name, PEER_OK);
            policy_set_protocol(s, "ESMTP");
            policy_set_helo(s, c->name);
            policy_accept_mail(s, c->sender);
            struct policy_result res;
            uint64_t t0 = now_ns();
            enum policy_status st = policy_check_rcpt(s, rcpt, &res);
            uint64_t dt = now_ns() - t0;
            ns[k++] = dt;
            timed += dt;
            if (st == POLICY_PENDING) {
                fprintf(stderr, "unexpected: the check needs facts (client %s)\n", c->addr);
                return 1;
            }
            rejected += st == POLICY_REJECT;
            policy_session_free(s);
        }
    }
    uint64_t wall = now_ns() - wall_start;
    qsort(ns, n, sizeof(*ns), cmp_u64);
    printf("tables: %zu cidr networks, %zu hash:access keys, %zu hash:localdomains keys\n", entries,
           entries, entries + 1);
    printf("decisions %zu (clients %zu x %d rounds) rejected %zu median_ns %llu p99_ns %llu "
           "mean_ns %.0f\n",
           n, n_clients, rounds, rejected, (unsigned long long) ns[n / 2],
           (unsigned long long) ns[n * 99 / 100], (double) timed / (double) n);
    printf("decisions_per_s %.0f (policy_check_rcpt alone) %.0f (with session setup and free)\n",
           1e9 * (double) n / (double) timed, 1e9 * (double) n / (double) wall);

    free(ns);
    free(clients);
    dns_resolver_free(resolver);
    policy_free(p);
    config_free(cfg);
    strlist_free(&errors);
    table_cache_clear();
    buf_free(&cidr);
    buf_free(&access);
    buf_free(&local);
    buf_free(&main_cf);
    char *rm = xasprintf("rm -rf '%s'", dir);
    if (system(rm) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    free(rm);
    return 0;
}
