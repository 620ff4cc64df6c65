/*
 * check - `postern check`, the what-if tracer: play a described SMTP
 * transaction against the configuration through the same policy engine the
 * server uses, and print the reply the server would give at each step.
 * With --trace, every restriction evaluated, every table key looked up and
 * every DNS answer used is shown, and the one that decided is marked.
 *
 * No network is needed: DNS answers come from "dns" lines in the script
 * (anything else does not exist) unless --live-dns or --dns-servers is
 * given; policy servers are asked for real unless "policy" lines give the
 * answers.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "config/config.h"
#include "dns/dns.h"
#include "policy/policy.h"
#include "policy/policy_client.h"
#include "table/table.h"

struct wildcard {
    char *suffix; /* ".zone" */
    enum dns_type type;
    struct dns_answer *answer;
};

struct checker {
    struct config *cfg;
    struct policy *policy;
    struct policy_session *s;
    struct dns_resolver *resolver;
    bool trace;
    bool delay_reject;
    struct strlist canned_policy; /* answers for check_policy_service, in order */
    struct wildcard *wildcards;   /* "dns *.zone TYPE VALUE" answers */
    size_t n_wildcards;
    size_t canned_next;
    /* the modelled SMTP state */
    bool client_rejected; /* smtpd_delay_reject = no and the client was refused */
    char *client_reject;
    bool have_mail;
    int rcpt_seen, rcpt_ok;
    bool in_data;
    bool closed;  /* after QUIT or a 421/521 reply */
    int failures; /* script lines that could not be understood */
    const char *source;
    int line;
};

/* Trace events of one check, printed once it completed. */
struct trace_copy {
    struct policy_trace_event ev;
};

static struct trace_copy *events;
static size_t n_events, cap_events;
static struct arena *event_arena;

static const char *keep(const char *s)
{
    return s ? arena_strdup(event_arena, s) : NULL;
}

static void collect_event(void *ctx, const struct policy_trace_event *ev)
{
    (void) ctx;
    if (event_arena == NULL)
        event_arena = arena_new(8192);
    if (n_events == cap_events) {
        cap_events = cap_events ? cap_events * 2 : 64;
        events = xreallocarray(events, cap_events, sizeof(*events));
    }
    struct policy_trace_event *e = &events[n_events++].ev;
    *e = *ev;
    e->list = keep(ev->list);
    e->restriction = keep(ev->restriction);
    e->table = keep(ev->table);
    e->key = keep(ev->key);
    e->value = keep(ev->value);
    e->verdict = keep(ev->verdict);
    e->text = keep(ev->text);
}

static int indent_of(const struct policy_trace_event *ev)
{
    return 4 + 3 * (ev->depth > 1 ? ev->depth - 1 : 0);
}

/*
 * print_trace - the collected events as an indented tree.  A restriction
 * with nothing to show inside prints on one line with its result; the
 * last result that was not DUNNO decided the reply and is marked.
 */
static void print_trace(void)
{
    ssize_t decided = -1;
    for (size_t i = 0; i < n_events; i++)
        if (events[i].ev.kind == POLICY_TRACE_RESULT && events[i].ev.verdict &&
            strcmp(events[i].ev.verdict, "DUNNO") != 0)
            decided = (ssize_t) i;
    const struct policy_trace_event *open = NULL; /* header not printed yet */
    for (size_t i = 0; i < n_events; i++) {
        const struct policy_trace_event *ev = &events[i].ev;
        int ind = indent_of(ev);
        const char *mark = (ssize_t) i == decided ? "   <== decided" : "";
        if (ev->kind == POLICY_TRACE_RESULT) {
            if (open && open->depth == ev->depth && open->position == ev->position)
                printf("%*s%d. %s -> %s%s\n", indent_of(open) + 2, "", open->position,
                       open->restriction, ev->verdict, mark);
            else
                printf("%*s-> %s%s\n", ind + 5, "", ev->verdict, mark);
            open = NULL;
            continue;
        }
        if (open) {
            printf("%*s%d. %s\n", indent_of(open) + 2, "", open->position, open->restriction);
            open = NULL;
        }
        switch (ev->kind) {
        case POLICY_TRACE_LIST: printf("%*s%s:\n", ind, "", ev->text); break;
        case POLICY_TRACE_RESTRICTION: open = ev; break;
        case POLICY_TRACE_LOOKUP:
            printf("%*slookup %s in %s: %s%s%s\n", ind + 5, "", ev->key ? ev->key : "",
                   ev->table ? ev->table : "", ev->verdict ? ev->verdict : "",
                   ev->value ? " = " : "", ev->value ? ev->value : "");
            break;
        case POLICY_TRACE_DNS:
            printf("%*sdns %s: %s%s%s\n", ind + 5, "", ev->key, ev->verdict, ev->value ? " " : "",
                   ev->value ? ev->value : "");
            break;
        case POLICY_TRACE_NOTE:
            printf("%*s%s%s%s\n", ind + 5, "", ev->verdict ? ev->verdict : "",
                   ev->verdict ? ": " : "", ev->text ? ev->text : "");
            break;
        default: break;
        }
    }
    n_events = 0;
    if (event_arena)
        arena_reset(event_arena);
}

/* settle - satisfy the engine's requests until the check completes */
static enum policy_status settle(struct checker *c, enum policy_status st,
                                 enum policy_status (*again)(struct checker *, const char *,
                                                             struct policy_result *),
                                 const char *arg, struct policy_result *r)
{
    for (int rounds = 0; st == POLICY_PENDING && rounds < 1000; rounds++) {
        size_t n;
        const struct policy_request *req = policy_pending(c->s, &n);
        for (size_t i = 0; i < n; i++) {
            switch (req[i].type) {
            case POLICY_REQ_DNS: {
                const struct dns_answer *a = NULL;
                if (dns_lookup_cached(c->resolver, req[i].name, req[i].dns_type) == NULL)
                    for (size_t w = 0; w < c->n_wildcards && a == NULL; w++)
                        if (c->wildcards[w].type == req[i].dns_type &&
                            str_suffix_nocase(req[i].name, c->wildcards[w].suffix))
                            a = c->wildcards[w].answer;
                if (a == NULL)
                    a = dns_lookup_sync(c->resolver, req[i].name, req[i].dns_type);
                policy_provide_dns(c->s, req[i].name, req[i].dns_type, a);
                break;
            }
            case POLICY_REQ_SERVICE:
                if (c->canned_next < c->canned_policy.count) {
                    policy_provide_service(c->s, req[i].id,
                                           c->canned_policy.items[c->canned_next++]);
                } else {
                    char *action = policy_client_query_sync(req[i].name, req[i].request,
                                                            policy_config(c->policy));
                    policy_provide_service(c->s, req[i].id, action);
                    free(action);
                }
                break;
            case POLICY_REQ_SLEEP:
                /* What-if: the pause is noted, not taken. */
                policy_provide_sleep(c->s, req[i].id);
                break;
            }
        }
        st = again(c, arg, r);
    }
    return st;
}

static void print_logs(struct checker *c)
{
    const struct strlist *log = policy_log_lines(c->s);
    if (!c->trace)
        return;
    print_trace();
    for (size_t i = 0; i < log->count; i++)
        printf("    log: %s\n", log->items[i]);
}

#define CHECK_FN(name, call)                                                                    \
    static enum policy_status name(struct checker *c, const char *arg, struct policy_result *r) \
    {                                                                                           \
        (void) arg;                                                                             \
        return call;                                                                            \
    }
CHECK_FN(do_client, policy_check_client(c->s, r))
CHECK_FN(do_helo, policy_check_helo(c->s, arg, r))
CHECK_FN(do_mail, policy_check_mail(c->s, arg, r))
CHECK_FN(do_rcpt, policy_check_rcpt(c->s, arg, r))
CHECK_FN(do_vrfy, policy_check_vrfy(c->s, arg, r))
CHECK_FN(do_etrn, policy_check_etrn(c->s, arg, r))
CHECK_FN(do_data, policy_check_data(c->s, r))
CHECK_FN(do_eod, policy_check_eod(c->s, r))

/* evaluate - run one check to completion; true when it permitted */
static bool evaluate(struct checker *c,
                     enum policy_status (*fn)(struct checker *, const char *,
                                              struct policy_result *),
                     const char *arg, struct policy_result *r)
{
    enum policy_status st = fn(c, arg, r);
    st = settle(c, st, fn, arg, r);
    print_logs(c);
    if (st == POLICY_REJECT && r->disconnect)
        c->closed = true;
    if (st == POLICY_REJECT && r->hangup) {
        /* HANGUP: the server logs the reply but closes without sending it */
        char *shown = xasprintf("[hangup, not sent: %s]", r->reply);
        snprintf(r->reply, sizeof(r->reply), "%.*s", (int) sizeof(r->reply) - 1, shown);
        free(shown);
    }
    return st == POLICY_OK;
}

static void reply(const char *text)
{
    printf("  %s\n", text);
}

static void step_header(const char *text)
{
    printf("%s\n", text);
}

static char *bare_address(const char *a)
{
    size_t n = strlen(a);
    if (n >= 2 && a[0] == '<' && a[n - 1] == '>') {
        char *inner = xstrndup(a + 1, n - 2);
        char *internal = policy_address_internal(inner);
        free(inner);
        return internal;
    }
    return policy_address_internal(a);
}

static enum peer_status parse_status(const char *v)
{
    if (strcasecmp(v, "temp") == 0)
        return PEER_TEMP;
    if (strcasecmp(v, "forged") == 0)
        return PEER_FORGED;
    if (strcasecmp(v, "perm") == 0 || strcasecmp(v, "none") == 0)
        return PEER_PERM;
    return PEER_OK;
}

static void problem(struct checker *c, const char *fmt, ...) PRINTF_LIKE(2, 3);
static void problem(struct checker *c, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "postern check: %s, line %d: ", c->source, c->line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    c->failures++;
}

static void reset_transaction(struct checker *c);

static void cmd_client(struct checker *c, char **argv, int argc)
{
    if (argc < 2) {
        problem(c, "%s", "client needs an address");
        return;
    }
    const char *addr = argv[1];
    const char *name = NULL, *reverse = NULL, *helo = NULL, *login = NULL;
    enum peer_status ns = PEER_OK, rs = PEER_OK;
    unsigned port = 0;
    for (int i = 2; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (eq == NULL && name == NULL) {
            name = argv[i];
            continue;
        }
        if (eq == NULL) {
            problem(c, "unexpected \"%s\"", argv[i]);
            continue;
        }
        *eq = 0;
        const char *v = eq + 1;
        if (strcmp(argv[i], "name") == 0)
            name = v;
        else if (strcmp(argv[i], "reverse") == 0 || strcmp(argv[i], "reverse_name") == 0)
            reverse = v;
        else if (strcmp(argv[i], "name_status") == 0)
            ns = parse_status(v);
        else if (strcmp(argv[i], "reverse_status") == 0)
            rs = parse_status(v);
        else if (strcmp(argv[i], "port") == 0)
            port = (unsigned) atoi(v);
        else if (strcmp(argv[i], "server") == 0)
            policy_set_server(c->s, v, 25);
        else if (strcmp(argv[i], "helo") == 0)
            helo = v;
        else if (strcmp(argv[i], "login") == 0)
            login = v;
        else
            problem(c, "unknown client attribute \"%s\"", argv[i]);
    }
    if (name == NULL || strcasecmp(name, "unknown") == 0) {
        name = "unknown";
        if (ns == PEER_OK)
            ns = PEER_PERM;
    }
    if (reverse == NULL)
        reverse = strcmp(name, "unknown") == 0 ? "unknown" : name;
    if (strcasecmp(reverse, "unknown") == 0 && rs == PEER_OK)
        rs = PEER_PERM;
    /* A new client (or XCLIENT) starts the session over. */
    reset_transaction(c);
    c->client_rejected = false;
    policy_set_client(c->s, addr, port, name, ns, reverse, rs);
    policy_set_peer_address(c->s, addr);
    policy_set_protocol(c->s, "SMTP");
    policy_set_helo(c->s, helo);
    policy_set_sasl(c->s, login ? "XCLIENT" : NULL, login, NULL);
    char *hdr = xasprintf("CONNECT from %s[%s]", name, addr);
    step_header(hdr);
    free(hdr);
    if (!c->delay_reject) {
        struct policy_result r;
        if (!evaluate(c, do_client, NULL, &r)) {
            reply(r.reply);
            c->client_rejected = true;
            free(c->client_reject);
            c->client_reject =
                xasprintf("503 5.7.0 Error: access denied for %s", policy_client_namaddr(c->s));
            return;
        }
    }
    char *greeting = xasprintf("220 %s", config_get(c->cfg, "smtpd_banner"));
    reply(greeting);
    free(greeting);
}

static void reset_transaction(struct checker *c);

static bool refused(struct checker *c)
{
    if (c->client_rejected) {
        reply(c->client_reject);
        return true;
    }
    return false;
}

static void reset_transaction(struct checker *c);

static void cmd_helo(struct checker *c, const char *verb, const char *name)
{
    char *hdr = xasprintf("%s %s", verb, name);
    step_header(hdr);
    free(hdr);
    if (refused(c))
        return;
    policy_set_protocol(c->s, strcasecmp(verb, "EHLO") == 0 ? "ESMTP" : "SMTP");
    if (!c->delay_reject) {
        struct policy_result r;
        if (!evaluate(c, do_helo, name, &r)) {
            reply(r.reply);
            return;
        }
    }
    policy_set_helo(c->s, name);
    reset_transaction(c);
    char *ok = xasprintf("250 %s", config_get(c->cfg, "myhostname"));
    reply(ok);
    free(ok);
}

static void reset_transaction(struct checker *c)
{
    policy_transaction_reset(c->s);
    c->have_mail = false;
    c->rcpt_seen = c->rcpt_ok = 0;
}

static void cmd_mail(struct checker *c, const char *arg)
{
    char *addr = bare_address(arg);
    char *hdr = xasprintf(arg[0] == '<' ? "MAIL FROM:%s" : "MAIL FROM:<%s>", arg);
    step_header(hdr);
    free(hdr);
    if (refused(c)) {
        free(addr);
        return;
    }
    if (c->have_mail) {
        reply("503 5.5.1 Error: nested MAIL command");
        free(addr);
        return;
    }
    if (config_get_bool(c->cfg, "smtpd_helo_required") && policy_helo(c->s) == NULL) {
        reply("503 5.5.1 Error: send HELO/EHLO first");
        free(addr);
        return;
    }
    if (!c->delay_reject) {
        struct policy_result r;
        if (!evaluate(c, do_mail, addr, &r)) {
            reply(r.reply);
            free(addr);
            return;
        }
    }
    policy_accept_mail(c->s, addr);
    c->have_mail = true;
    reply("250 2.1.0 Ok");
    free(addr);
}

static void cmd_rcpt(struct checker *c, const char *arg)
{
    char *addr = bare_address(arg);
    char *hdr = xasprintf(arg[0] == '<' ? "RCPT TO:%s" : "RCPT TO:<%s>", arg);
    step_header(hdr);
    free(hdr);
    if (refused(c)) {
        free(addr);
        return;
    }
    if (!c->have_mail) {
        reply("503 5.5.1 Error: need MAIL command");
        free(addr);
        return;
    }
    c->rcpt_seen++;
    struct policy_result r;
    if (!evaluate(c, do_rcpt, addr, &r)) {
        reply(r.reply);
    } else {
        policy_accept_rcpt(c->s, addr);
        c->rcpt_ok++;
        reply("250 2.1.5 Ok");
    }
    free(addr);
}

static void cmd_data(struct checker *c)
{
    step_header("DATA");
    if (refused(c))
        return;
    if (!c->have_mail) {
        reply("503 5.5.1 Error: need RCPT command");
        return;
    }
    if (c->rcpt_ok == 0) {
        reply(c->rcpt_seen ? "554 5.5.1 Error: no valid recipients"
                           : "503 5.5.1 Error: need RCPT command");
        return;
    }
    struct policy_result r;
    if (!evaluate(c, do_data, NULL, &r)) {
        reply(r.reply);
        return;
    }
    c->in_data = true;
    reply("354 End data with <CR><LF>.<CR><LF>");
}

static void cmd_eod(struct checker *c)
{
    step_header("END-OF-MESSAGE");
    if (!c->in_data) {
        problem(c, "%s", "end-of-data without an accepted DATA");
        return;
    }
    c->in_data = false;
    struct policy_result r;
    if (!evaluate(c, do_eod, NULL, &r)) {
        /* Postfix keeps the transaction after an end-of-data reject. */
        reply(r.reply);
        return;
    }
    struct policy_actions a;
    policy_actions(c->s, &a);
    reply("250 2.0.0 Ok: queued as (what-if)");
    if (!c->trace) {
        reset_transaction(c);
        return;
    }
    if (a.discard)
        printf("    action: DISCARD (the message would be thrown away)\n");
    if (a.hold)
        printf("    action: HOLD (the message would wait in the hold queue)\n");
    if (a.filter)
        printf("    action: FILTER %s\n", a.filter);
    if (a.redirect)
        printf("    action: REDIRECT %s\n", a.redirect);
    for (size_t i = 0; a.bcc && i < a.bcc->count; i++)
        printf("    action: BCC %s\n", a.bcc->items[i]);
    for (size_t i = 0; a.prepend && i < a.prepend->count; i++)
        printf("    action: PREPEND %s\n", a.prepend->items[i]);
    reset_transaction(c);
}

static void cmd_dns(struct checker *c, char **argv, int argc)
{
    /* dns NAME TYPE VALUE...: VALUE NXDOMAIN | NODATA | SERVFAIL | data */
    enum dns_type type;
    if (argc < 4 || dns_type_parse(argv[2], &type) == -1) {
        problem(c, "%s", "expected: dns NAME TYPE VALUE");
        return;
    }
    char *name = xstrdup(argv[1]);
    size_t nl = strlen(name);
    if (nl > 1 && name[nl - 1] == '.')
        name[nl - 1] = 0;
    /* An address stands for its reverse name. */
    char *rev = type == DNS_T_PTR ? dns_reverse_name(name) : NULL;
    const char *qname = rev ? rev : name;
    const struct dns_answer *old = dns_lookup_cached(c->resolver, qname, type);
    struct dns_answer *a =
        old && old->status == DNS_OK ? dns_answer_copy(old) : xcalloc(1, sizeof(*a));
    a->expires = clock_wall() + 86400;
    const char *v = argv[3];
    if (strcasecmp(v, "NXDOMAIN") == 0) {
        a->status = DNS_NOTFOUND;
        a->nxdomain = true;
    } else if (strcasecmp(v, "NODATA") == 0) {
        a->status = DNS_NOTFOUND;
    } else if (strcasecmp(v, "SERVFAIL") == 0 || strcasecmp(v, "TIMEOUT") == 0) {
        a->status = DNS_RETRY;
        a->why = xstrdup("Host not found, try again");
    } else {
        unsigned pref = 0;
        int first = 3;
        if (type == DNS_T_MX) {
            pref = (unsigned) atoi(argv[3]);
            first = 4;
            if (argc < 5) {
                problem(c, "%s", "expected: dns NAME MX PREF HOST");
                dns_answer_free(a);
                free(rev);
                free(name);
                return;
            }
        }
        struct buf data;
        buf_init(&data);
        for (int i = first; i < argc; i++) {
            if (i > first)
                buf_putc(&data, ' ');
            buf_puts(&data, argv[i]);
        }
        char *d = data.data;
        size_t dl = data.len;
        if (type == DNS_T_TXT && dl >= 2 && d[0] == '"' && d[dl - 1] == '"') {
            d[dl - 1] = 0;
            d++;
        }
        if (type != DNS_T_TXT && dl > 1 && d[dl - 1] == '.')
            d[dl - 1] = 0;
        if (type == DNS_T_MX && strcmp(d, ".") == 0 && pref == 0) {
            a->status = DNS_NULLMX;
        } else {
            a->status = DNS_OK;
            dns_answer_add(a, type, 3600, pref, d);
        }
        buf_free(&data);
    }
    if (strncmp(qname, "*.", 2) == 0) {
        c->wildcards = xreallocarray(c->wildcards, c->n_wildcards + 1, sizeof(*c->wildcards));
        c->wildcards[c->n_wildcards].suffix = xstrdup(qname + 1);
        c->wildcards[c->n_wildcards].type = type;
        c->wildcards[c->n_wildcards].answer = a;
        c->n_wildcards++;
    } else {
        dns_cache_put(c->resolver, qname, type, a);
        dns_answer_free(a);
    }
    free(rev);
    free(name);
}

static int split_words(char *line, char **argv, int max)
{
    int n = 0;
    char *save, *w;
    for (w = strtok_r(line, " \t\r\n", &save); w && n < max; w = strtok_r(NULL, " \t\r\n", &save))
        argv[n++] = w;
    return n;
}

static void run_line(struct checker *c, char *line)
{
    char *hash = line;
    while (*hash == ' ' || *hash == '\t')
        hash++;
    if (*hash == '#' || *hash == 0)
        return;
    char *raw = xstrdup(hash);
    raw[strcspn(raw, "\r\n")] = 0;
    char *argv[64];
    int argc = split_words(line, argv, 64);
    if (argc == 0) {
        free(raw);
        return;
    }
    const char *verb = argv[0];
    /* The rest of the line, for values with spaces (policy answers). */
    const char *rest = raw + strlen(verb);
    while (*rest == ' ' || *rest == '\t')
        rest++;
    char *rest_copy = xstrdup(rest);
    char *rest_trim = str_trim(rest_copy);

    bool protocol_step = strcasecmp(verb, "dns") != 0 && strcasecmp(verb, "policy") != 0 &&
                         strcasecmp(verb, "pipelining") != 0 && strcasecmp(verb, "client") != 0;
    if (c->closed && protocol_step) {
        printf("%s\n  [connection closed]\n", raw);
        free(rest_copy);
        free(raw);
        return;
    }
    if (strcasecmp(verb, "client") == 0) {
        c->closed = false;
        cmd_client(c, argv, argc);
    } else if (strcasecmp(verb, "helo") == 0 || strcasecmp(verb, "ehlo") == 0) {
        if (argc < 2)
            problem(c, "%s needs a name", verb);
        else
            cmd_helo(c, strcasecmp(verb, "helo") == 0 ? "HELO" : "EHLO", argv[1]);
    } else if (strcasecmp(verb, "mail") == 0 || strcasecmp(verb, "from") == 0) {
        cmd_mail(c, argc > 1 ? argv[1] : "<>");
    } else if (strcasecmp(verb, "rcpt") == 0 || strcasecmp(verb, "to") == 0) {
        if (argc < 2)
            problem(c, "%s", "rcpt needs an address");
        else
            cmd_rcpt(c, argv[1]);
    } else if (strcasecmp(verb, "data") == 0) {
        cmd_data(c);
    } else if (strcasecmp(verb, "eod") == 0 || strcasecmp(verb, "end-of-data") == 0 ||
               strcmp(verb, ".") == 0) {
        cmd_eod(c);
    } else if (strcasecmp(verb, "rset") == 0) {
        step_header("RSET");
        reset_transaction(c);
        reply("250 2.0.0 Ok");
    } else if (strcasecmp(verb, "etrn") == 0 && argc > 1) {
        char *h = xasprintf("ETRN %s", argv[1]);
        step_header(h);
        free(h);
        struct policy_result r;
        if (!refused(c)) {
            if (!evaluate(c, do_etrn, argv[1], &r))
                reply(r.reply);
            else
                reply("250 Queuing started");
        }
    } else if (strcasecmp(verb, "vrfy") == 0 && argc > 1) {
        char *addr = bare_address(argv[1]);
        char *h = xasprintf("VRFY %s", addr);
        step_header(h);
        free(h);
        struct policy_result r;
        if (!refused(c)) {
            if (!evaluate(c, do_vrfy, addr, &r)) {
                reply(r.reply);
            } else {
                char *ok = xasprintf("252 2.0.0 %s", addr);
                reply(ok);
                free(ok);
            }
        }
        free(addr);
    } else if (strcasecmp(verb, "auth") == 0 || strcasecmp(verb, "sasl") == 0 ||
               strcasecmp(verb, "auth-fail") == 0) {
        bool fail = strcasecmp(verb, "auth-fail") == 0;
        if (argc < 2) {
            problem(c, "%s", "auth needs a user name");
        } else {
            char *h = xasprintf("AUTH %s (as %s%s)", argc > 2 ? argv[2] : "PLAIN", argv[1],
                                fail ? ", wrong password" : "");
            step_header(h);
            free(h);
            if (refused(c)) {
                /* nothing more */
            } else if (!config_get_bool(c->cfg, "smtpd_sasl_auth_enable")) {
                reply("503 5.5.1 Error: authentication not enabled");
            } else if (fail) {
                reply("535 5.7.8 Error: authentication failed: (reason unavailable)");
            } else {
                policy_set_sasl(c->s, argc > 2 ? argv[2] : "PLAIN", argv[1], NULL);
                reply("235 2.7.0 Authentication successful");
            }
        }
    } else if (strcasecmp(verb, "tls") == 0 || strcasecmp(verb, "starttls") == 0) {
        struct policy_tls tls = {
            .protocol = "TLSv1.3", .cipher = "TLS_AES_256_GCM_SHA384", .cipher_bits = 256};
        for (int i = 1; i < argc; i++) {
            char *eq = strchr(argv[i], '=');
            if (eq == NULL)
                continue;
            *eq = 0;
            const char *v = eq + 1;
            if (strcmp(argv[i], "fingerprint") == 0) {
                tls.cert_fingerprint = v;
                tls.cert_present = true;
            } else if (strcmp(argv[i], "pkey_fingerprint") == 0) {
                tls.pkey_fingerprint = v;
                tls.cert_present = true;
            } else if (strcmp(argv[i], "cn") == 0) {
                tls.peer_cn = v;
            } else if (strcmp(argv[i], "issuer") == 0) {
                tls.issuer_cn = v;
            } else if (strcmp(argv[i], "trusted") == 0) {
                tls.cert_trusted = strcasecmp(v, "yes") == 0;
            } else if (strcmp(argv[i], "protocol") == 0) {
                tls.protocol = v;
            } else if (strcmp(argv[i], "cipher") == 0) {
                tls.cipher = v;
            }
        }
        step_header("STARTTLS");
        policy_set_tls(c->s, &tls);
        /* The client must say hello again; the server forgets the old one. */
        policy_set_helo(c->s, NULL);
        reply("220 2.0.0 Ready to start TLS");
    } else if (strcasecmp(verb, "pipelining") == 0) {
        policy_set_pipelining_violation(c->s, argc > 1 && strcasecmp(argv[1], "yes") == 0);
    } else if (strcasecmp(verb, "dns") == 0) {
        cmd_dns(c, argv, argc);
    } else if (strcasecmp(verb, "policy") == 0) {
        strlist_add(&c->canned_policy, rest_trim);
    } else if (strcasecmp(verb, "quit") == 0) {
        step_header("QUIT");
        reply("221 2.0.0 Bye");
        c->closed = true;
    } else {
        problem(c, "unknown script command \"%s\"", verb);
    }
    free(rest_copy);
    free(raw);
}

int cli_check(struct cli_context *ctx, int argc, char **argv)
{
    struct checker c = {0};
    const char *dns_servers = "none";
    struct strlist overrides, steps;
    strlist_init(&overrides);
    strlist_init(&steps);
    strlist_init(&c.canned_policy);
    static const struct option longopts[] = {
        {"trace", no_argument, NULL, 't'},
        {"live-dns", no_argument, NULL, 'L'},
        {"dns-servers", required_argument, NULL, 'D'},
        {"client", required_argument, NULL, 'C'},
        {"helo", required_argument, NULL, 'H'},
        {"ehlo", required_argument, NULL, 'E'},
        {"sasl", required_argument, NULL, 'S'},
        {"mail", required_argument, NULL, 'M'},
        {"rcpt", required_argument, NULL, 'R'},
        {"data", no_argument, NULL, 'd'},
        {"dns", required_argument, NULL, 'N'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "to:", longopts, NULL)) != -1) {
        switch (opt) {
        case 't': c.trace = true; break;
        case 'o': strlist_add(&overrides, optarg); break;
        case 'L': dns_servers = NULL; break;
        case 'D': dns_servers = optarg; break;
        case 'C': {
            /* --client ADDR,NAME (as the usage says) or "ADDR NAME ..." */
            char *step = xasprintf("client %s", optarg);
            char *comma = strchr(step, ',');
            if (comma && strchr(step, ' ') == strrchr(step, ' '))
                *comma = ' ';
            strlist_add_owned(&steps, step);
            break;
        }
        case 'H': strlist_add_owned(&steps, xasprintf("helo %s", optarg)); break;
        case 'E': strlist_add_owned(&steps, xasprintf("ehlo %s", optarg)); break;
        case 'S': strlist_add_owned(&steps, xasprintf("auth %s", optarg)); break;
        case 'M': strlist_add_owned(&steps, xasprintf("mail %s", optarg)); break;
        case 'R': strlist_add_owned(&steps, xasprintf("rcpt %s", optarg)); break;
        case 'd':
            strlist_add(&steps, "data");
            strlist_add(&steps, "eod");
            break;
        case 'N': strlist_add_owned(&steps, xasprintf("dns %s", optarg)); break;
        default: cli_print_usage("check"); return 2;
        }
    }
    struct strlist errors;
    strlist_init(&errors);
    struct config *main_cfg = config_load_main(ctx->config_dir, &errors);
    if (main_cfg == NULL) {
        for (size_t i = 0; i < errors.count; i++)
            fprintf(stderr, "postern check: %s\n", errors.items[i]);
        return 2;
    }
    c.cfg = main_cfg;
    if (overrides.count) {
        c.cfg = config_new(ctx->config_dir, main_cfg);
        for (size_t i = 0; i < overrides.count; i++) {
            char *eq = strchr(overrides.items[i], '=');
            if (eq == NULL) {
                fprintf(stderr, "postern check: -o %s: expected name=value\n", overrides.items[i]);
                return 2;
            }
            *eq = 0;
            config_set(c.cfg, str_trim(overrides.items[i]), str_trim(eq + 1), "-o", 0);
        }
    }
    if (config_check(c.cfg, &errors) > 0) {
        for (size_t i = 0; i < errors.count; i++)
            fprintf(stderr, "postern check: %s\n", errors.items[i]);
        return 2;
    }
    c.policy = policy_compile(c.cfg, &errors);
    if (c.policy == NULL) {
        for (size_t i = 0; i < errors.count; i++)
            fprintf(stderr, "postern check: fatal: %s\n", errors.items[i]);
        return 2;
    }
    char *err = NULL;
    c.resolver = dns_resolver_new(NULL, dns_servers, &err);
    if (c.resolver == NULL) {
        fprintf(stderr, "postern check: DNS resolver: %s\n", err ? err : "failed");
        return 2;
    }
    c.s = policy_session_new(c.policy);
    policy_set_dns_resolver(c.s, c.resolver);
    if (c.trace)
        policy_set_trace(c.s, collect_event, &c);
    c.delay_reject = config_get_bool(c.cfg, "smtpd_delay_reject");
    policy_set_client(c.s, "127.0.0.1", 0, "localhost", PEER_OK, "localhost", PEER_OK);

    if (steps.count) {
        c.source = "command line";
        for (size_t i = 0; i < steps.count; i++) {
            c.line = (int) i + 1;
            run_line(&c, steps.items[i]);
        }
    }
    for (int i = optind; i < argc || (i == optind && steps.count == 0); i++) {
        const char *path = i < argc ? argv[i] : "-";
        FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
        if (f == NULL) {
            fprintf(stderr, "postern check: open %s: %m\n", path);
            return 2;
        }
        c.source = strcmp(path, "-") == 0 ? "stdin" : path;
        c.line = 0;
        char *line = NULL;
        size_t cap = 0;
        while (getline(&line, &cap, f) != -1) {
            c.line++;
            run_line(&c, line);
        }
        free(line);
        if (f != stdin)
            fclose(f);
        if (i >= argc)
            break;
    }
    fflush(stdout);
    int rc = c.failures ? 2 : 0;
    policy_session_free(c.s);
    dns_resolver_free(c.resolver);
    policy_free(c.policy);
    if (c.cfg != main_cfg)
        config_free(c.cfg);
    config_free(main_cfg);
    strlist_free(&overrides);
    strlist_free(&steps);
    strlist_free(&c.canned_policy);
    strlist_free(&errors);
    free(c.client_reject);
    free(events);
    arena_free(event_arena);
    for (size_t i = 0; i < c.n_wildcards; i++) {
        free(c.wildcards[i].suffix);
        dns_answer_free(c.wildcards[i].answer);
    }
    free(c.wildcards);
    table_cache_clear();
    return rc;
}
