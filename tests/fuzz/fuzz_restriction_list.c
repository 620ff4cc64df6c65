/*
 * fuzz_restriction_list - libFuzzer target for restriction lists: the input
 * is compiled with compile_list() as the value of one of the eight
 * smtpd_*_restrictions lists (the first byte picks which), put in place of
 * that list, and a whole SMTP transaction is checked through the public
 * policy_check_*() calls: CONNECT, HELO, MAIL, two RCPTs, VRFY, DATA,
 * END-OF-DATA and ETRN.  Access-table values that are restriction lists
 * (inline:{key=reject_rbl_client x}) are compiled and evaluated too.
 *
 * Deterministic and offline: the session has fixed facts (client, HELO,
 * SASL login, TLS); every DNS question the engine asks is answered from a
 * hash of the name (found, not found, a temporary failure, a null MX), a
 * policy server's answer is picked the same way, and sleeps are skipped.
 * Inputs with '/' are skipped so that no table reads a file; inputs naming
 * regexp or pcre tables are skipped (their own targets cover them).
 *
 * Besides memory errors it checks that every check completes within a
 * bounded number of rounds, and that a rejection has an SMTP reply with a
 * 4xx or 5xx code matching its text.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT 4096

static const char *const base_cf =
    "compatibility_level = 3.6\n"
    "myhostname = mx.postern.test\n"
    "mydomain = postern.test\n"
    "mydestination = $myhostname, localhost, postern.test\n"
    "relay_domains = relay.example\n"
    "virtual_alias_domains = alias.example\n"
    "virtual_alias_maps = inline:{known@alias.example=someone@postern.test}\n"
    "mynetworks = 127.0.0.0/8, 192.168.0.0/16\n"
    "inet_interfaces = 127.0.0.1\n"
    "inet_protocols = ipv4\n"
    "alias_maps =\n"
    "local_recipient_maps =\n"
    "smtpd_sasl_auth_enable = yes\n"
    "smtpd_sender_login_maps = inline:{sender@example.net=alice}\n"
    "smtpd_restriction_classes = fuzz_class, fuzz_loop\n"
    "fuzz_class = reject_rbl_client zen.example, permit\n"
    "fuzz_loop = fuzz_loop\n"
    "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination\n";

static struct config *cfg;
static struct policy *policy;
static struct buf warnings;

static void setup(void)
{
    log_capture(&warnings); /* keep the fuzzer's output readable */
    cfg = config_new("/nonexistent/postern", NULL);
    struct strlist errors;
    strlist_init(&errors);
    if (config_parse_text(cfg, base_cf, strlen(base_cf), "main.cf", &errors) != 0)
        abort();
    policy = policy_compile(cfg, &errors);
    if (policy == NULL) {
        for (size_t i = 0; i < errors.count; i++)
            fprintf(stderr, "%s\n", errors.items[i]);
        abort();
    }
    strlist_free(&errors);
}

static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char) *s) * 16777619u;
    return h;
}

/* canned_dns - an answer that depends on the question only */
static struct dns_answer *canned_dns(const char *name, enum dns_type type)
{
    struct dns_answer *a = calloc(1, sizeof(*a));
    if (a == NULL)
        abort();
    a->expires = 0x7fffffff;
    uint32_t h = hash(name) ^ (uint32_t) type * 2654435761u;
    switch (h % 5) {
    case 0:
        a->status = DNS_NOTFOUND;
        a->nxdomain = true;
        return a;
    case 1: a->status = DNS_NOTFOUND; return a;
    case 2: a->status = DNS_RETRY; return a;
    case 3:
        if (type == DNS_T_MX) {
            a->status = DNS_NULLMX;
            return a;
        }
        break;
    default: break;
    }
    a->status = DNS_OK;
    switch (type) {
    case DNS_T_A:
        dns_answer_add(a, type, 60, 0, (h >> 8) % 2 ? "127.0.0.2" : "127.0.0.10");
        dns_answer_add(a, type, 60, 0, "192.0.2.25");
        break;
    case DNS_T_AAAA: dns_answer_add(a, type, 60, 0, "2001:db8::25"); break;
    case DNS_T_MX:
        dns_answer_add(a, type, 60, 10, (h >> 8) % 2 ? "mx.postern.test" : "mx.example.com");
        dns_answer_add(a, type, 60, 20, "backup.example.com");
        break;
    case DNS_T_NS: dns_answer_add(a, type, 60, 0, "ns.example.com"); break;
    case DNS_T_TXT: dns_answer_add(a, type, 60, 0, "listed; see https://dnsbl.example"); break;
    case DNS_T_PTR: dns_answer_add(a, type, 60, 0, "host.example.com"); break;
    default: a->status = DNS_NOTFOUND; break;
    }
    return a;
}

static const char *const service_actions[] = {
    "DUNNO",
    "OK",
    "REJECT fuzz",
    "DEFER_IF_PERMIT later",
    "PREPEND X-Fuzz: yes",
    "550 5.7.1 no",
    "reject_unauth_destination",
    "HOLD",
    "fuzz_class",
    "",
    "FILTER smtp:[127.0.0.1]:10025",
    "DISCARD",
};

typedef enum policy_status (*check_fn)(struct policy_session *, const char *,
                                       struct policy_result *);

static enum policy_status do_client(struct policy_session *s, const char *a,
                                    struct policy_result *r)
{
    (void) a;
    return policy_check_client(s, r);
}
static enum policy_status do_data(struct policy_session *s, const char *a, struct policy_result *r)
{
    (void) a;
    return policy_check_data(s, r);
}
static enum policy_status do_eod(struct policy_session *s, const char *a, struct policy_result *r)
{
    (void) a;
    return policy_check_eod(s, r);
}

static void trace_sink(void *ctx, const struct policy_trace_event *ev)
{
    size_t *n = ctx;
    /* touch what a tracer prints */
    if (ev->restriction)
        *n += strlen(ev->restriction);
    if (ev->verdict)
        *n += strlen(ev->verdict);
    if (ev->text)
        *n += strlen(ev->text);
}

/* check - one check, with every fact it asks for provided */
static enum policy_status check(struct policy_session *s, check_fn fn, const char *arg)
{
    struct policy_result r;
    enum policy_status st = fn(s, arg, &r);
    int rounds = 0;
    while (st == POLICY_PENDING) {
        if (++rounds > 200)
            abort(); /* every fact was given: the check must finish */
        size_t n;
        const struct policy_request *req = policy_pending(s, &n);
        if (n == 0)
            abort(); /* pending, but asking for nothing */
        for (size_t i = 0; i < n; i++) {
            switch (req[i].type) {
            case POLICY_REQ_DNS: {
                struct dns_answer *a = canned_dns(req[i].name, req[i].dns_type);
                policy_provide_dns(s, req[i].name, req[i].dns_type, a);
                dns_answer_free(a);
                break;
            }
            case POLICY_REQ_SERVICE: {
                if (req[i].request == NULL || req[i].request[0] == 0 ||
                    strstr(req[i].request, "\n\n") == NULL)
                    abort(); /* a request ends with an empty line */
                uint32_t h = hash(req[i].request) ^ hash(req[i].name ? req[i].name : "");
                size_t k = h % (ARRAY_LEN(service_actions) + 1);
                policy_provide_service(s, req[i].id,
                                       k < ARRAY_LEN(service_actions) ? service_actions[k] : NULL);
                break;
            }
            case POLICY_REQ_SLEEP: policy_provide_sleep(s, req[i].id); break;
            }
        }
        st = fn(s, arg, &r);
    }
    if (st == POLICY_REJECT) {
        if ((r.code < 400 || r.code > 599) || strlen(r.reply) < 4 ||
            r.reply[0] != '0' + r.code / 100)
            abort();
    } else if (st != POLICY_OK) {
        abort();
    }
    const struct strlist *log = policy_log_lines(s);
    for (size_t i = 0; i < log->count; i++)
        (void) strlen(log->items[i]);
    return st;
}

static void free_value_list(void *v)
{
    restriction_list_free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > FUZZ_MAX_INPUT)
        return 0;
    if (policy == NULL)
        setup();
    buf_reset(&warnings);
    char *text = strndup((const char *) data + 1, size - 1);
    if (text == NULL)
        abort();
    if (strchr(text, '/') || strstr(text, "regexp") || strstr(text, "pcre")) {
        free(text);
        return 0;
    }
    int which = data[0] % POLICY_LIST_COUNT;

    struct strlist errors;
    strlist_init(&errors);
    struct restriction_list *list = compile_list(policy, "fuzz_restrictions", text, &errors);
    if (list == NULL || list->name == NULL)
        abort();
    for (size_t i = 0; i < list->count; i++)
        if (list->items[i].text == NULL || list->items[i].name == NULL)
            abort();
    struct restriction_list *saved = policy->lists[which];
    policy->lists[which] = list;

    struct policy_session *s = policy_session_new(policy);
    size_t traced = 0;
    if (data[0] & 0x80)
        policy_set_trace(s, trace_sink, &traced);
    bool late_client = data[0] & 0x40;
    policy_set_client(s, late_client ? "192.0.2.1" : "203.0.113.7", 40000, "mail.example.net",
                      PEER_OK, late_client ? "unknown" : "mail.example.net",
                      late_client ? PEER_TEMP : PEER_OK);
    policy_set_server(s, "127.0.0.1", 25);
    policy_set_protocol(s, "ESMTP");
    if (data[0] & 0x20) {
        struct policy_tls tls = {.protocol = "TLSv1.3",
                                 .cipher = "TLS_AES_256_GCM_SHA384",
                                 .cipher_bits = 256,
                                 .cert_present = true,
                                 .cert_trusted = true,
                                 .peer_cn = "client.example.net",
                                 .issuer_cn = "Fuzz CA",
                                 .cert_fingerprint = "AA:BB:CC",
                                 .pkey_fingerprint = "DD:EE:FF"};
        policy_set_tls(s, &tls);
        policy_set_sasl(s, "PLAIN", "alice", NULL);
    }
    policy_set_pipelining_violation(s, data[0] & 0x10);

    if (check(s, do_client, NULL) == POLICY_OK) {
        check(s, policy_check_helo, "mail.example.net");
        policy_set_helo(s, "mail.example.net");
        const char *sender = (data[0] & 0x08) ? "" : "sender@example.net";
        if (check(s, policy_check_mail, sender) == POLICY_OK) {
            policy_accept_mail(s, sender);
            policy_set_queue_id(s, "4XyzFuzz1");
            if (check(s, policy_check_rcpt, "user@postern.test") == POLICY_OK)
                policy_accept_rcpt(s, "user@postern.test");
            if (check(s, policy_check_rcpt, "a%b@relay.example") == POLICY_OK)
                policy_accept_rcpt(s, "a%b@relay.example");
            check(s, policy_check_vrfy, "known@alias.example");
            if (policy_rcpt_count(s) > 0 && check(s, do_data, NULL) == POLICY_OK) {
                policy_set_message_size(s, 1234);
                check(s, do_eod, NULL);
            }
            struct policy_actions act;
            policy_actions(s, &act);
            for (size_t i = 0; act.prepend && i < act.prepend->count; i++)
                (void) strlen(act.prepend->items[i]);
        }
        policy_transaction_reset(s);
        check(s, policy_check_etrn, "relay.example");
    }
    policy_session_free(s);

    policy->lists[which] = saved;
    restriction_list_free(list);
    /* values of access tables compiled as restriction lists: per input */
    htable_free(policy->value_lists, free_value_list);
    policy->value_lists = htable_new(8);
    table_cache_clear(); /* the policy keeps its own references */
    strlist_free(&errors);
    free(text);
    return 0;
}
