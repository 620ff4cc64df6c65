/*
 * policy_int - the policy module's internal interface: compiled
 * restrictions, the per-session engine state, one evaluation pass, and the
 * helpers the restriction implementations share.  Not for other modules.
 */
#ifndef POSTERN_POLICY_INT_H
#define POSTERN_POLICY_INT_H

#include <stdarg.h>

#include "policy/policy.h"
#include "table/table.h"

/* ---- host names and addresses (hostname.c) ---- */
bool valid_hostname(const char *name);
bool valid_ipv4_hostaddr(const char *addr);
bool valid_ipv6_hostaddr(const char *addr);
/* valid_utf8_hostname - as valid_hostname, with UTF-8 letters allowed */
bool valid_utf8_hostname(const char *name);
bool valid_hostaddr(const char *addr);
/* valid_mailhost_addr - IPv4, or "IPv6:" + IPv6, as inside an address literal */
bool valid_mailhost_addr(const char *addr);
bool valid_mailhost_literal(const char *literal);
/* hostname_strip_dot - copy without one trailing dot (not "..") */
char *hostname_strip_dot(const char *name);

/* ---- match lists (match.c) ---- */
struct cidr {
    int family;
    unsigned char addr[16];
    int bits;
};
int cidr_parse(const char *text, struct cidr *out, char **err);
bool cidr_match(const struct cidr *c, const char *addr);
/* cidr_match_binary - the same for an address already parsed (AF_INET:
 * the first 4 bytes) */
bool cidr_match_binary(const struct cidr *c, int family, const unsigned char addr[16]);
bool is_table_spec(const char *token);

enum match_kind {
    MATCH_STRING,   /* exact, case-insensitive (mydestination) */
    MATCH_DOMAIN,   /* domain names, parent domains per style (relay_domains) */
    MATCH_HOSTADDR, /* host names and addresses (mynetworks) */
};
struct match_list;
struct match_list *match_list_new(const char *param, const char *value, enum match_kind kind,
                                  bool parent_style, struct strlist *errors);
void match_list_free(struct match_list *m);
bool match_list_empty(const struct match_list *m);
/* match_list_match - 1 match, 0 no match, -1 table error */
int match_list_match(const struct match_list *m, const char *name, const char *addr);

/* ---- address resolution (resolve.c) ---- */
#define RESOLVE_FLAG_FINAL    (1u << 0)
#define RESOLVE_FLAG_ROUTED   (1u << 1)
#define RESOLVE_FLAG_ERROR    (1u << 2)
#define RESOLVE_FLAG_FAIL     (1u << 3)
#define RESOLVE_CLASS_LOCAL   (1u << 8)
#define RESOLVE_CLASS_ALIAS   (1u << 9)
#define RESOLVE_CLASS_VIRTUAL (1u << 10)
#define RESOLVE_CLASS_RELAY   (1u << 11)
#define RESOLVE_CLASS_DEFAULT (1u << 12)
#define RESOLVE_CLASS_FINAL   (RESOLVE_CLASS_LOCAL | RESOLVE_CLASS_ALIAS | RESOLVE_CLASS_VIRTUAL)
#define RESOLVE_CLASS_MASK                                                                     \
    (RESOLVE_CLASS_LOCAL | RESOLVE_CLASS_ALIAS | RESOLVE_CLASS_VIRTUAL | RESOLVE_CLASS_RELAY | \
     RESOLVE_CLASS_DEFAULT)

struct resolved {
    char *recipient; /* canonical, lower case user@domain */
    unsigned flags;
    const char *error_text; /* virtual alias class: "User unknown in virtual alias table" */
};
int resolve_local(const struct policy *p, const char *domain);
/* resolve_address - 0, or -1 on a table error (flags has RESOLVE_FLAG_FAIL) */
int resolve_address(const struct policy *p, const char *address, struct resolved *out);
void resolved_free(struct resolved *r);

/* ---- compiled restrictions (compile.c) ---- */
enum restriction_kind {
    R_UNKNOWN = 0, /* not a restriction: 451 4.3.5 when reached */
    R_BROKEN,      /* malformed use (missing argument ...): 451 4.3.5 */
    R_WARN_ONLY,   /* needs an argument it lacks: warning, no effect */
    R_CLASS,       /* a smtpd_restriction_classes name */
    R_PERMIT,
    R_DEFER,
    R_REJECT,
    R_WARN_IF_REJECT,
    R_REJECT_UNAUTH_PIPELINING,
    R_CHECK_POLICY_SERVICE,
    R_DEFER_IF_PERMIT,
    R_DEFER_IF_REJECT,
    R_SLEEP,
    R_REJECT_PLAINTEXT_SESSION,
    R_REJECT_UNKNOWN_CLIENT_HOSTNAME,
    R_REJECT_UNKNOWN_REVERSE_CLIENT_HOSTNAME,
    R_PERMIT_INET_INTERFACES,
    R_PERMIT_MYNETWORKS,
    R_CHECK_CLIENT_ACCESS,
    R_CHECK_REVERSE_CLIENT_ACCESS,
    R_REJECT_MAPS_RBL,
    R_REJECT_RBL_CLIENT,
    R_PERMIT_DNSWL_CLIENT,
    R_REJECT_RHSBL_CLIENT,
    R_PERMIT_RHSWL_CLIENT,
    R_REJECT_RHSBL_REVERSE_CLIENT,
    R_CHECK_CCERT_ACCESS,
    R_CHECK_SASL_ACCESS,
    R_CHECK_CLIENT_NS_ACCESS,
    R_CHECK_CLIENT_MX_ACCESS,
    R_CHECK_CLIENT_A_ACCESS,
    R_CHECK_REVERSE_CLIENT_NS_ACCESS,
    R_CHECK_REVERSE_CLIENT_MX_ACCESS,
    R_CHECK_REVERSE_CLIENT_A_ACCESS,
    R_CHECK_HELO_ACCESS,
    R_REJECT_INVALID_HELO_HOSTNAME,
    R_REJECT_UNKNOWN_HELO_HOSTNAME,
    R_PERMIT_NAKED_IP_ADDRESS,
    R_CHECK_HELO_NS_ACCESS,
    R_CHECK_HELO_MX_ACCESS,
    R_CHECK_HELO_A_ACCESS,
    R_REJECT_NON_FQDN_HELO_HOSTNAME,
    R_REJECT_RHSBL_HELO,
    R_CHECK_SENDER_ACCESS,
    R_REJECT_UNKNOWN_SENDER_DOMAIN,
    R_REJECT_UNVERIFIED_SENDER,
    R_REJECT_NON_FQDN_SENDER,
    R_REJECT_AUTH_SENDER_LOGIN_MISMATCH,
    R_REJECT_KNOWN_SENDER_LOGIN_MISMATCH,
    R_REJECT_UNAUTH_SENDER_LOGIN_MISMATCH,
    R_REJECT_SENDER_LOGIN_MISMATCH,
    R_CHECK_SENDER_NS_ACCESS,
    R_CHECK_SENDER_MX_ACCESS,
    R_CHECK_SENDER_A_ACCESS,
    R_REJECT_RHSBL_SENDER,
    R_REJECT_UNLISTED_SENDER,
    R_CHECK_RECIPIENT_ACCESS,
    R_PERMIT_MX_BACKUP,
    R_PERMIT_AUTH_DESTINATION,
    R_REJECT_UNAUTH_DESTINATION,
    R_DEFER_UNAUTH_DESTINATION,
    R_CHECK_RELAY_DOMAINS,
    R_PERMIT_SASL_AUTHENTICATED,
    R_PERMIT_TLS_ALL_CLIENTCERTS,
    R_PERMIT_TLS_CLIENTCERTS,
    R_REJECT_UNKNOWN_RECIPIENT_DOMAIN,
    R_REJECT_NON_FQDN_RECIPIENT,
    R_CHECK_RECIPIENT_NS_ACCESS,
    R_CHECK_RECIPIENT_MX_ACCESS,
    R_CHECK_RECIPIENT_A_ACCESS,
    R_REJECT_RHSBL_RECIPIENT,
    R_REJECT_UNLISTED_RECIPIENT,
    R_REJECT_MULTI_RECIPIENT_BOUNCE,
    R_REJECT_UNVERIFIED_RECIPIENT,
    R_CHECK_ETRN_ACCESS,
    R_KIND_COUNT
};

/* What a restriction needs as its argument. */
enum restriction_arg {
    ARG_NONE,
    ARG_TABLE,   /* check_*_access type:name */
    ARG_DOMAIN,  /* DNSBL / RHSBL zone */
    ARG_SERVICE, /* policy server */
    ARG_NUMBER,  /* sleep */
};

struct restriction_info {
    const char *name;
    enum restriction_kind kind;
    enum restriction_arg arg;
    int first; /* enum policy_list: the first stage where its fact exists (lint) */
};
const struct restriction_info *restriction_lookup(const char *name);
const struct restriction_info *restriction_by_kind(enum restriction_kind kind);
const struct restriction_info *restriction_table(size_t *count);

struct restriction_list;

struct restriction {
    enum restriction_kind kind;
    const char *name; /* as written */
    char *arg;        /* argument as written (table, zone, server, seconds) */
    struct table *table;
    struct restriction_list *class_list; /* R_CLASS */
    char *text;                          /* as written with the argument, for traces */
    char *problem;                       /* R_BROKEN / R_WARN_ONLY: the warning to log */
    bool implicit;                       /* a bare type:table using the stage's default check */
};

struct restriction_list {
    char *name; /* parameter or class */
    struct restriction *items;
    size_t count;
};

/* The lists a check evaluates (also the lint "stages"). */
enum policy_list {
    POLICY_LIST_CLIENT,
    POLICY_LIST_HELO,
    POLICY_LIST_SENDER,
    POLICY_LIST_RELAY,
    POLICY_LIST_RECIPIENT,
    POLICY_LIST_DATA,
    POLICY_LIST_EOD,
    POLICY_LIST_ETRN,
    POLICY_LIST_COUNT
};

/* compile_list - parse a restriction list value (NULL on none) */
struct restriction_list *compile_list(struct policy *p, const char *name, const char *value,
                                      struct strlist *errors);
void restriction_list_free(struct restriction_list *l);

/* ---- the compiled policy ---- */
#define RESOLVE_MEMO 4
struct resolve_memo {
    char *address;
    struct resolved result;
};

struct policy {
    struct config *cfg;
    struct resolve_memo resolve_memo[RESOLVE_MEMO];
    int resolve_next;
    bool lenient; /* compiled for lint: kept despite errors */
    struct restriction_list *lists[POLICY_LIST_COUNT];
    const char *list_param[POLICY_LIST_COUNT];
    struct htable *classes;     /* name -> struct restriction_list */
    struct htable *value_lists; /* table values compiled on first use */

    /* lists and maps */
    struct match_list *mydestination, *relay_domains, *mynetworks, *virtual_alias_domains,
        *virtual_mailbox_domains, *permit_mx_backup_networks, *sasl_exceptions_networks;
    struct strlist own_addresses;  /* inet_interfaces + proxy_interfaces */
    struct strlist inet_addresses; /* inet_interfaces only */
    struct table **local_recipient_maps, **virtual_alias_maps, **virtual_mailbox_maps,
        **relay_recipient_maps, **canonical_maps, **recipient_canonical_maps, **sender_login_maps,
        **relay_clientcerts, **rbl_reply_maps;
    size_t n_local_recipient_maps, n_virtual_alias_maps, n_virtual_mailbox_maps,
        n_relay_recipient_maps, n_canonical_maps, n_recipient_canonical_maps, n_sender_login_maps,
        n_relay_clientcerts, n_rbl_reply_maps;
    bool has_local_recipient_maps, has_virtual_mailbox_maps, has_relay_recipient_maps,
        has_sender_login_maps, has_rbl_reply_maps;

    /* parameters */
    const char *myhostname, *mydomain, *myorigin, *recipient_delimiter, *null_access_key,
        *default_rbl_reply, *empty_address_recipient, *double_bounce_sender, *mail_name;
    bool parent_access_maps; /* parent_domain_matches_subdomains has smtpd_access_maps */
    bool delay_reject, soft_bounce, allow_untrusted_routing, reject_unlisted_sender,
        reject_unlisted_recipient, smtputf8_enable, swap_bangpath, percent_hack, resolve_dequoted,
        resolve_null_domain, show_unknown_table, sasl_auth_enable;
    int access_map_reject_code, access_map_defer_code, defer_code, reject_code,
        maps_rbl_reject_code, invalid_hostname_reject_code, non_fqdn_reject_code,
        unknown_address_reject_code, unknown_client_reject_code, unknown_hostname_reject_code,
        relay_domains_reject_code, unknown_relay_recipient_reject_code,
        unknown_local_recipient_reject_code, unknown_virtual_alias_reject_code,
        unknown_virtual_mailbox_reject_code, plaintext_reject_code,
        multi_recipient_bounce_reject_code, unverified_sender_reject_code,
        unverified_recipient_reject_code;
    long message_size_limit;
    bool unknown_helo_defer_all, unknown_address_defer_all; /* *_tempfail_action = defer */
    const char *policy_default_action;
    bool expansion_allowed[256]; /* smtpd_expansion_filter */
    long policy_timeout_ms;
};

bool own_address(const struct policy *p, const char *addr);
bool own_inet_address(const struct policy *p, const char *addr);

/* ---- the session's engine state ---- */
struct defer_state {
    bool active;
    int code;
    char dsn[16];
    char *reason; /* full reply text without code and dsn */
};

struct engine_state {
    struct defer_state defer_if_permit, defer_if_reject;
    bool defer_if_permit_client, defer_if_permit_helo, defer_if_permit_sender;
    bool sender_rcptmap_checked, recipient_rcptmap_checked;
    bool discard, hold;
    char *filter, *redirect;
    struct strlist *bcc, *prepend; /* owned by the transaction arena's lists */
};

struct fact {
    char *name;
    enum dns_type type;
    struct dns_answer *answer;
};

struct service_reply {
    unsigned id;
    char *key;    /* server + request */
    char *action; /* NULL: no answer */
    bool done;
};

struct policy_session {
    struct policy *p;
    struct arena *arena; /* session lifetime strings */
    /* facts */
    char *addr, *name, *reverse_name, *namaddr, *server_addr, *protocol, *helo;
    const char *command_name; /* policy_set_command */
    char *peer_addr;          /* the connection's own address (XCLIENT does not change it) */
    unsigned port, server_port;
    enum peer_status name_status, reverse_status;
    char *sasl_method, *sasl_username, *sasl_sender;
    bool sasl_enabled;
    bool tls_active;
    struct policy_tls tls;
    char *tls_strings[6];
    bool ill_pipelining;
    char *queue_id, *instance;
    long msg_size;
    /* transaction */
    char *sender;    /* accepted MAIL FROM; NULL before */
    char *recipient; /* RCPT being checked */
    char *etrn_name;
    int rcpt_count;
    struct strlist bcc, prepend;
    struct engine_state st;
    /* I/O facts */
    struct dns_resolver *resolver;
    struct fact *facts;
    size_t n_facts;
    char *rbl_rev;            /* dns_reverse_query(rbl_rev_addr), kept for one check */
    const char *rbl_rev_addr; /* the address it was made from (not owned) */
    /* the last cached DNS answer need_dns returned, kept for one check:
     * several lists often ask the same name (zen.spamhaus.org=127.0.0.10,
     * =127.0.0.11, and without a filter) */
    char *dns_memo_name;
    enum dns_type dns_memo_type;
    const struct dns_answer *dns_memo_answer;
    struct service_reply *services;
    size_t n_services;
    unsigned next_id;
    bool *sleeps_done;
    size_t n_sleeps;
    /* the current pass */
    struct policy_request *pending;
    size_t n_pending;
    struct strlist log;
    policy_trace_fn trace_fn;
    void *trace_ctx;
    struct trace_buffer *trace_buf;
};

/* ---- one evaluation pass (eval.c) ---- */
enum check_status {
    CHECK_DUNNO = 0,
    CHECK_OK = 1,
    CHECK_REJECT = 2,
    CHECK_PENDING = 3, /* abandon the pass: facts are missing */
};

enum error_class {
    ERR_POLICY,
    ERR_PROTOCOL,
    ERR_SOFTWARE, /* configuration errors: never turned into warnings */
    ERR_RESOURCE,
    ERR_DATA,
    ERR_BOUNCE,
};

struct eval {
    struct policy_session *s;
    struct policy *p;
    const char *where; /* CONNECT HELO MAIL RCPT VRFY DATA END-OF-DATA ETRN */
    int recursion;
    int warn_if_reject; /* recursion level that asked, 0: off */
    char reply[600];    /* the last reject */
    int reply_code;
    bool hangup;     /* the reject is not sent: the connection is dropped */
    int sleep_index; /* sleeps met in this pass */
    int service_index;
    const char *list_name;
};

/* reply.c */
int check_reject(struct eval *e, enum error_class cls, int code, const char *dsn, const char *fmt,
                 ...) PRINTF_LIKE(5, 6);
int defer_if(struct eval *e, struct defer_state *d, int code, const char *dsn, const char *fmt, ...)
    PRINTF_LIKE(5, 6);
/* DEFER_IF_PERMIT: postponed unless warn_if_reject is on or action is defer */
int defer_if_permit(struct eval *e, bool defer_all, int code, const char *dsn, const char *fmt, ...)
    PRINTF_LIKE(5, 6);
int reject_server_error(struct eval *e);
int reject_dict_retry(struct eval *e, const char *reply_name);
void log_whatsup(struct eval *e, const char *whatsup, const char *text);
void eval_warn(struct eval *e, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* dsn_split - a leading "d.ddd.ddd " in text, else def; *rest = remaining text */
void dsn_split(const char *text, const char *def, char dsn[16], const char **rest);
bool dsn_valid(const char *dsn);
const char *dsn_fix(const char *dsn, const char *reply_class, char buf[16]);
/* dsn_fix_logged - dsn_fix, logging a change as Postfix does */
const char *dsn_fix_logged(struct eval *e, const char *dsn, const char *reply_class, char buf[16]);

/* eval.c */
int generic_checks(struct eval *e, struct restriction_list *list, const char *reply_name,
                   const char *reply_class, enum restriction_kind def_acl);
int check_table_result(struct eval *e, const char *table, const char *value, const char *datum,
                       const char *reply_name, const char *reply_class,
                       enum restriction_kind def_acl);
void trace(struct eval *e, enum policy_trace_kind kind, const char *restriction, const char *table,
           const char *key, const char *value, const char *verdict, const char *text);

/* access checks (checks_access.c) */
int check_access(struct eval *e, struct restriction *r, const char *name, bool full, bool *found,
                 const char *reply_name, const char *reply_class, enum restriction_kind def_acl);
int check_domain_access(struct eval *e, struct restriction *r, const char *domain, bool full,
                        bool *found, const char *reply_name, const char *reply_class,
                        enum restriction_kind def_acl);
int check_addr_access(struct eval *e, struct restriction *r, const char *addr, bool full,
                      bool *found, const char *reply_name, const char *reply_class,
                      enum restriction_kind def_acl);
int check_namadr_access(struct eval *e, struct restriction *r, const char *name, const char *addr,
                        bool *found, const char *reply_name, const char *reply_class,
                        enum restriction_kind def_acl);
int check_mail_access(struct eval *e, struct restriction *r, const char *addr, bool *found,
                      const char *reply_name, const char *reply_class,
                      enum restriction_kind def_acl);
int check_server_access(struct eval *e, struct restriction *r, const char *name, enum dns_type type,
                        const char *reply_name, const char *reply_class,
                        enum restriction_kind def_acl);
/* maps_find - first value for key in tables; TABLE_* status */
enum table_status maps_find(struct table **maps, size_t n, const char *key, const char **value);
/* mail_addr_find - address lookup in maps (user@domain, user, @domain) */
enum table_status mail_addr_find(struct eval *e, struct table **maps, size_t n, const char *address,
                                 const char **value);

/* session.c */
void policy_add_pending(struct policy_session *s, const struct policy_request *req);
void policy_forget_facts(struct policy_session *s);
/* policy_macro - $client_address etc. for reply templates; NULL if unknown */
const char *policy_macro(struct policy_session *s, const char *where, const char *name);
/* policy_filter_value - copy with characters outside smtpd_expansion_filter
 * replaced by '_' (session arena) */
const char *policy_filter_value(struct policy_session *s, const char *value);
int ip_pattern_match(const char *pattern, const char *addr);

/* DNS facts (facts.c): the answer, or NULL after registering the query */
const struct dns_answer *need_dns(struct eval *e, const char *name, enum dns_type type);

/* the restriction implementations (checks_*.c) */
int eval_restriction(struct eval *e, struct restriction *r, const char *reply_name,
                     const char *reply_class, enum restriction_kind def_acl, bool last);
int reject_rbl_addr(struct eval *e, const char *rbl_domain, const char *addr,
                    const char *reply_class);
int permit_dnswl_addr(struct eval *e, const char *zone, const char *addr, const char *reply_class);
int reject_rbl_domain(struct eval *e, const char *rbl_domain, const char *what,
                      const char *reply_class);
int permit_dnswl_domain(struct eval *e, const char *zone, const char *what,
                        const char *reply_class);
int permit_auth_destination(struct eval *e, const char *recipient);
int check_rcpt_maps(struct eval *e, const char *recipient, const char *reply_class);
int check_sender_rcpt_maps(struct eval *e, const char *sender);
int check_recipient_rcpt_maps(struct eval *e, const char *recipient);
int check_policy_service(struct eval *e, struct restriction *r, const char *reply_name,
                         const char *reply_class, enum restriction_kind def_acl);

/* names of reply classes, as in the replies */
#define CLASS_CLIENT     "Client host"
#define CLASS_REV_CLIENT "Unverified Client host"
#define CLASS_HELO       "Helo command"
#define CLASS_SENDER     "Sender address"
#define CLASS_RECIPIENT  "Recipient address"
#define CLASS_ETRN       "Etrn command"
#define CLASS_DATA       "Data command"
#define CLASS_EOD        "End-of-data"
#define CLASS_SASL       "SASL login name"
#define CLASS_CCERT      "Client certificate"

#endif
