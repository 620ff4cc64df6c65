/*
 * policy - the restriction engine: Postfix's smtpd_*_restrictions compiled
 * once when the configuration loads, and evaluated for one SMTP session at
 * each protocol stage.  The engine knows nothing about sockets: the caller
 * (the SMTP server, or `postern check`) sets the facts it knows and asks for
 * a verdict.
 *
 * Facts that need I/O (DNS answers, policy-server replies, a `sleep`) are
 * not fetched here.  When one is missing the check returns POLICY_PENDING
 * and lists what it needs; the caller obtains it (asynchronously), hands it
 * in with policy_provide_*(), and repeats the same check.  Evaluation is
 * deterministic given the facts, so the repeat walks the same path and goes
 * further; state changes and log lines of a pass are kept only when the
 * check completes.
 */
#ifndef POSTERN_POLICY_H
#define POSTERN_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "dns/dns.h"
#include "util/util.h"

struct policy;         /* compiled restrictions and parameters, shared */
struct policy_session; /* one SMTP session's facts and engine state */

/* ---- compilation ---- */

/*
 * policy_compile - compile every restriction list, class and table of cfg.
 * Errors that Postfix's smtpd refuses to start with (no relay restriction,
 * an undefined restriction class, bad codes) go to errors and the result is
 * NULL.  Problems Postfix only detects while serving (an unknown
 * restriction, a missing table) are kept and answered with 451 4.3.5 at
 * run time, as Postfix does; `postern lint` reports them beforehand.
 */
struct policy *policy_compile(struct config *cfg, struct strlist *errors);
/* policy_compile_lenient - the same, but returns what it could compile even
 * when there are errors (for `postern lint`) */
struct policy *policy_compile_lenient(struct config *cfg, struct strlist *errors);
void policy_free(struct policy *p);
struct config *policy_config(const struct policy *p);

/* ---- the session ---- */

enum peer_status {
    PEER_OK = 0,     /* name (or reverse name) known */
    PEER_TEMP = 4,   /* lookup failed temporarily */
    PEER_PERM = 5,   /* no name */
    PEER_FORGED = 6, /* name does not map back to the address */
};

struct policy_tls {
    const char *protocol; /* "TLSv1.3" */
    const char *cipher;
    int cipher_bits;
    bool cert_present;
    bool cert_trusted;
    const char *peer_cn;
    const char *issuer_cn;
    const char *cert_fingerprint;
    const char *pkey_fingerprint;
};

struct policy_session *policy_session_new(struct policy *p);
void policy_session_free(struct policy_session *s);

/* Facts about the connection.  Strings are copied. */
void policy_set_client(struct policy_session *s, const char *addr, unsigned port, const char *name,
                       enum peer_status name_status, const char *reverse_name,
                       enum peer_status reverse_status);
/* policy_set_peer_address - the address of the connection itself (after a
 * PROXY header, not changed by XCLIENT): what permit_inet_interfaces tests */
void policy_set_peer_address(struct policy_session *s, const char *addr);
void policy_set_server(struct policy_session *s, const char *addr, unsigned port);
void policy_set_protocol(struct policy_session *s, const char *protocol); /* SMTP, ESMTP */
/* policy_set_command - the verb log lines name for the client, HELO and DATA
 * stages ("XCLIENT", "EHLO", "BDAT"); NULL: CONNECT, HELO and DATA */
void policy_set_command(struct policy_session *s, const char *verb);
/* policy_set_helo - NULL: no HELO/EHLO yet (or forgotten after STARTTLS) */
void policy_set_helo(struct policy_session *s, const char *helo);
void policy_set_sasl(struct policy_session *s, const char *method, const char *username,
                     const char *sender);
void policy_set_sasl_enabled(struct policy_session *s, bool enabled);
void policy_set_tls(struct policy_session *s, const struct policy_tls *tls);
/* policy_set_pipelining_violation - the client sent ahead where it may not */
void policy_set_pipelining_violation(struct policy_session *s, bool violated);
void policy_set_queue_id(struct policy_session *s, const char *queue_id);
void policy_set_message_size(struct policy_session *s, long size);
/* policy_set_instance - a per-transaction identifier for policy servers */
void policy_set_instance(struct policy_session *s, const char *instance);
/* policy_transaction_reset - RSET / end of a mail transaction */
void policy_transaction_reset(struct policy_session *s);

/* policy_expand - a template with the session's $client_address,
 * $client_port, $helo_name, $sender ... (as in smtpd_reject_footer);
 * allocated, NULL when the template is malformed */
char *policy_expand(struct policy_session *s, const char *where, const char *template);

/* policy_log_line - Postfix's "QID: WHATSUP: WHERE from NAME[ADDR]: TEXT;
 * from=<...> to=<...> proto=... helo=<...>" for events the SMTP server
 * decides itself (allocated, printable) */
char *policy_log_line(const struct policy_session *s, const char *whatsup, const char *where,
                      const char *text);

const char *policy_client_name(const struct policy_session *s);
const char *policy_client_addr(const struct policy_session *s);
const char *policy_client_namaddr(const struct policy_session *s); /* name[addr] */
const char *policy_helo(const struct policy_session *s);
const char *policy_sender(const struct policy_session *s);
const char *policy_sasl_username(const struct policy_session *s);

/* policy_address_internal - the address between < and > as the server keeps
 * it: source route stripped, quotes removed (allocated) */
char *policy_address_internal(const char *addr);
/* policy_address_ok - the address resolves to a valid destination form
 * (what Postfix's smtpd checks before "Bad ... address syntax") */
bool policy_address_ok(struct policy *p, const char *addr);
/* policy_valid_address - an IPv4 or IPv6 address in text form */
bool policy_valid_address(const char *addr);
/* policy_valid_hostname - RFC 1035 syntax as Postfix checks it */
bool policy_valid_hostname(const char *name);

/* ---- list parameters for other modules (mynetworks-style lists) ---- */
enum policy_list_kind {
    POLICY_LIST_STRINGS,   /* exact names */
    POLICY_LIST_DOMAINS,   /* domains, parent domains per parent_domain_matches_subdomains */
    POLICY_LIST_HOSTADDRS, /* host names and addresses, networks (mynetworks style) */
};
struct policy_match;
/* policy_match_new - the list in parameter param of cfg (NULL when empty);
 * problems go to errors */
struct policy_match *policy_match_new(struct config *cfg, const char *param,
                                      enum policy_list_kind kind, struct strlist *errors);
/* policy_match - 1 match, 0 no, -1 table error */
int policy_match(const struct policy_match *m, const char *name, const char *addr);
void policy_match_free(struct policy_match *m);

/* ---- checks ---- */

enum policy_status {
    POLICY_OK,      /* go on */
    POLICY_REJECT,  /* reply with result.reply */
    POLICY_PENDING, /* facts needed: see policy_pending() */
};

struct policy_result {
    enum policy_status status;
    char reply[600]; /* "554 5.7.1 <x>: Recipient address rejected: ..." */
    int code;        /* numeric reply code (after soft_bounce) */
    bool disconnect; /* 421 / 521 results end the session */
    bool hangup;     /* HANGUP: end the session without sending the reply */
};

/*
 * Each check evaluates its stage in Postfix's order (with
 * smtpd_delay_reject, MAIL and RCPT first re-run the client, HELO and
 * sender stages).  The argument is the address or name as the client
 * sent it (after source-route stripping); the session remembers sender and
 * recipient for later stages.
 */
enum policy_status policy_check_client(struct policy_session *s, struct policy_result *r);
enum policy_status policy_check_helo(struct policy_session *s, const char *helo,
                                     struct policy_result *r);
enum policy_status policy_check_mail(struct policy_session *s, const char *sender,
                                     struct policy_result *r);
enum policy_status policy_check_rcpt(struct policy_session *s, const char *recipient,
                                     struct policy_result *r);
/* policy_check_vrfy - the recipient checks for a VRFY argument */
enum policy_status policy_check_vrfy(struct policy_session *s, const char *recipient,
                                     struct policy_result *r);
enum policy_status policy_check_etrn(struct policy_session *s, const char *domain,
                                     struct policy_result *r);
enum policy_status policy_check_data(struct policy_session *s, struct policy_result *r);
enum policy_status policy_check_eod(struct policy_session *s, struct policy_result *r);
/* policy_check_size - SIZE= against message_size_limit (552 5.3.4) */
enum policy_status policy_check_size(struct policy_session *s, const char *sender, long size,
                                     struct policy_result *r);

/* policy_accept_rcpt - a recipient was accepted (counts for later stages;
 * the last one is the recipient DATA-stage log lines name) */
void policy_accept_rcpt(struct policy_session *s, const char *recipient);
/* policy_accept_mail - MAIL was accepted: the sender is part of the transaction */
void policy_accept_mail(struct policy_session *s, const char *sender);
int policy_rcpt_count(const struct policy_session *s);

/* What earlier decisions asked for, for the queue file. */
struct policy_actions {
    bool discard;
    bool hold;
    const char *filter;   /* transport:destination */
    const char *redirect; /* user@domain */
    const struct strlist *bcc;
    const struct strlist *prepend; /* header lines */
};
void policy_actions(const struct policy_session *s, struct policy_actions *out);

/* ---- facts the engine asks for ---- */

enum policy_request_type {
    POLICY_REQ_DNS,     /* name + dns type */
    POLICY_REQ_SERVICE, /* policy server: server + request text */
    POLICY_REQ_SLEEP,   /* seconds */
};

struct policy_request {
    enum policy_request_type type;
    const char *name; /* DNS name; policy server endpoint */
    enum dns_type dns_type;
    const char *request; /* policy protocol request (attribute lines + empty line) */
    int seconds;         /* sleep */
    unsigned id;         /* to match the answer */
};

/* policy_pending - what the last POLICY_PENDING check needs */
const struct policy_request *policy_pending(const struct policy_session *s, size_t *count);
void policy_provide_dns(struct policy_session *s, const char *name, enum dns_type type,
                        const struct dns_answer *answer);
/* policy_provide_service - action text from the policy server, or NULL when
 * it did not answer (the engine then applies the default action) */
void policy_provide_service(struct policy_session *s, unsigned id, const char *action);
void policy_provide_sleep(struct policy_session *s, unsigned id);
/* policy_set_dns_resolver - consult this cache before asking */
void policy_set_dns_resolver(struct policy_session *s, struct dns_resolver *r);

/* ---- logging and explanation ---- */

/*
 * Log lines of the completed check, in Postfix's format ("NOQUEUE: reject:
 * RCPT from name[addr]: 554 ...; from=<a> to=<b> proto=ESMTP helo=<h>",
 * warnings about the configuration).  Valid until the next check.
 */
const struct strlist *policy_log_lines(const struct policy_session *s);

/* A step of an evaluation, for `postern check --trace`. */
enum policy_trace_kind {
    POLICY_TRACE_LIST,        /* entering a restriction list */
    POLICY_TRACE_RESTRICTION, /* a restriction is about to be evaluated */
    POLICY_TRACE_RESULT,      /* ... and its result (verdict) */
    POLICY_TRACE_LOOKUP,      /* a table lookup */
    POLICY_TRACE_DNS,         /* a DNS answer used */
    POLICY_TRACE_NOTE,        /* free text (defer_if_permit raised, etc.) */
};

struct policy_trace_event {
    enum policy_trace_kind kind;
    int depth;               /* nesting: classes and table results */
    const char *list;        /* parameter or class name */
    int position;            /* 1-based position in the list */
    const char *restriction; /* as written, with its argument */
    const char *table;
    const char *key;
    const char *value;   /* lookup result */
    const char *verdict; /* "DUNNO", "OK", "REJECT 554 5.7.1 ..." */
    const char *text;
};

typedef void (*policy_trace_fn)(void *ctx, const struct policy_trace_event *ev);
void policy_set_trace(struct policy_session *s, policy_trace_fn fn, void *ctx);

/* ---- static checks (lint.c) ---- */

struct lint_finding {
    const char *id;       /* stable identifier: "sasl-before-dnsbl", ... */
    const char *severity; /* "error", "warning" */
    char *file;           /* where the parameter is set, or NULL for a default */
    int line;
    char *parameter;
    char *message;
    char *fix;
};

struct lint_report {
    struct lint_finding *items;
    size_t count;
};

/* policy_lint - every finding for the compiled configuration (compile with
 * policy_compile_lenient; pass its errors as compile_errors) */
void policy_lint(struct policy *p, const struct strlist *compile_errors, struct lint_report *out);
void lint_report_free(struct lint_report *r);

#endif
