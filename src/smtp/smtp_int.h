/*
 * smtp_int - the SMTP server's internal interface: services (one per
 * master.cf smtpd line), workers (event loops), sessions and the command
 * table.  Not for other modules; smtp.h is the public part.
 */
#ifndef POSTERN_SMTP_INT_H
#define POSTERN_SMTP_INT_H

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "config/config.h"
#include "dns/dns.h"
#include "policy/policy.h"
#include "policy/policy_client.h"
#include "queue/queue.h"
#include "sasl/sasl.h"
#include "smtp/anvil.h"
#include "smtp/smtp.h"
#include "tls/tls.h"

/* Hard caps on client input, checked before buffers grow. */
#define SMTP_PROXY_HEADER_MAX 536 /* PROXY v2: 16 + 520; v1: 107 */
#define SMTP_AUTH_LINE_MAX    12288

/* One smtpd service of master.cf with its settings. */
struct worker;

struct service {
    char *name; /* as in master.cf */
    struct worker *worker;
    struct config *cfg; /* main.cf + -o overrides */
    struct policy *policy;
    struct tls_server *tls;
    struct sasl_server *sasl; /* per worker, set at worker start */
    char *syslog_name;        /* syslog_name of this service */
    char *log_tag;            /* "SYSLOG_NAME/smtpd" for its sessions' lines */
    char *cleanup_tag;        /* "SYSLOG_NAME/cleanup" for the queue lines */
    bool implicit_tls;        /* smtpd_tls_wrappermode */
    bool proxy_protocol;      /* smtpd_upstream_proxy_protocol = haproxy */
    int *fds;                 /* listening sockets */
    size_t n_fds;
    struct evconnlistener **listeners;
    /* settings read once */
    const char *myhostname, *banner;
    long line_length_limit, message_size_limit;
    long timeout_ms, starttls_timeout_ms, proxy_timeout_ms, error_sleep_ms;
    long hard_error_limit, soft_error_limit, junk_command_limit, recipient_limit,
        recipient_overshoot_limit;
    bool delay_reject, helo_required, disable_vrfy, strict_envelopes, smtputf8, sasl_enable,
        tls_auth_only, reject_unlisted_sender;
    const char *tls_level;       /* "", none, may, encrypt */
    int forbid_bare_newline;     /* 0 no, 1 normalize, 2 reject */
    struct strlist discard_ehlo; /* lower-case keywords */
    struct table **discard_maps; /* smtpd_discard_ehlo_keyword_address_maps */
    size_t n_discard_maps;
    struct policy_match *xclient_hosts, *xforward_hosts, *flush_domains, *bare_newline_exclusions,
        *sasl_exceptions;
    bool forbid_unauth_pipelining;
    bool soft_bounce;
    bool per_request_deadline;       /* smtpd_timeout limits a whole request */
    long min_data_rate;              /* bytes/s that extend the DATA deadline */
    bool replace_stray_cr;           /* cleanup_replace_stray_cr_lf */
    bool ipv6;                       /* inet_protocols has IPv6 */
    struct strlist forbidden;        /* smtpd_forbidden_commands */
    struct table **forbidden_tables; /* per item: a table, or NULL for a name */
    struct strlist noop_commands;    /* smtpd_noop_commands */
    struct table **footer_maps;      /* smtpd_reject_footer_maps */
    size_t n_footer_maps;
    /* client limits (anvil) */
    long conn_count_limit, conn_rate_limit, msg_rate_limit, rcpt_rate_limit, tls_rate_limit,
        auth_rate_limit;
    struct policy_match *limit_exceptions;
};

struct worker {
    struct event_base *base;
    struct service *services;
    size_t n_services;
    struct dns_resolver *resolver;
    struct policy_client *policy_client;
    struct anvil_client *anvil;
    const char *anvil_path;
    struct queue *queue;
    struct event *sigterm, *sigdrain, *tick;
    struct session *sessions; /* all open sessions */
    unsigned n_sessions;
    unsigned max_sessions; /* default_process_limit */
    bool draining;
    unsigned drain_seconds;
    struct config *main_cfg;
    void (*drop_privileges)(void); /* after set-up, before the first client */
    bool stop;                     /* the event loop is to end */
};

enum session_state {
    ST_PROXY,   /* waiting for the PROXY header */
    ST_COMMAND, /* reading a command */
    ST_WAIT,    /* an asynchronous step is in progress */
    ST_DATA,    /* reading message content after 354 */
    ST_BDAT,    /* reading a BDAT chunk */
    ST_AUTH,    /* reading a SASL continuation line */
    ST_TLS,     /* TLS handshake */
    ST_CLOSING, /* flushing the last reply */
};

/* What an asynchronous policy check is waiting for. */
struct pending_check;

struct session {
    struct worker *w;
    struct service *svc;
    struct session *next, *prev;
    struct bufferevent *bev;
    int fd;
    enum session_state state;
    struct event *timer;    /* smtpd_timeout / deadlines */
    struct event *sleep_ev; /* error sleeps and `sleep` restrictions */
    struct policy_session *ps;
    struct arena *arena; /* session lifetime */
    struct arena *txn;   /* freed at the end of each transaction */

    /* the client */
    char addr[INET6_ADDRSTRLEN + 8];
    char server_addr[INET6_ADDRSTRLEN + 8];
    unsigned port, server_port;
    char *name, *reverse_name, *namaddr;
    enum peer_status name_status, reverse_status;
    bool xclient_authorized;
    bool xforward_authorized;
    int bare_newline_mode;           /* the service's, unless the client is excluded */
    struct strlist *discard_by_addr; /* keywords discarded for this client */
    bool peername_pending;

    /* protocol state */
    char *helo;
    bool ehlo;            /* greeted with EHLO */
    const char *protocol; /* SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA */
    bool client_rejected; /* smtpd_delay_reject = no and the client was refused */
    char *client_reject;  /* "503 5.7.0 Error: access denied for ..." */
    bool ill_pipelining;
    bool tls_active;
    char *sasl_username, *sasl_method;
    struct sasl_session *sasl;

    /* the transaction */
    char *sender; /* NULL: no MAIL yet */
    struct strlist rcpts;
    int rcpt_attempts;
    int rcpt_overshoot; /* recipients refused over smtpd_recipient_limit */
    long declared_size;
    struct queue_message *msg;
    char qid[QUEUE_ID_MAX];
    long msg_size;
    bool msg_too_big;
    bool data_rejected;   /* after an end-of-data reject */
    bool bare_lf_seen;    /* DATA had a bare LF (forbid_bare_newline = reject) */
    bool eod_pending;     /* end-of-data restrictions are waiting for facts */
    char *auth_mech;      /* mechanism of the AUTH in progress */
    char *auth_challenge; /* last challenge sent, for the failure log line */
    bool bdat_active;     /* BDAT chunks are being received */
    bool bdat_error;      /* ... and failed: chunks are discarded until LAST */
    long bdat_remaining;  /* bytes of the current chunk still to read */
    long bdat_chunk;      /* its size */
    bool bdat_last;
    bool bdat_bare_lf;   /* it had a bare LF */
    char *bdat_reply;    /* the reply for a failed chunk */
    long bdat_content;   /* message bytes so far (line ends as CR LF) */
    long bdat_declared;  /* sum of the chunk sizes, for message_size_limit */
    char bdat_last_byte; /* of the content so far */
    bool bdat_held_cr;   /* the last chunk ended with a CR */
    bool body_8bit, smtputf8;
    const char *body_type;
    char *envid, *ret;
    int data_line_state; /* DATA reader: at the start of a line or not */
    bool after_crlf;     /* DATA: the last line ended with CR LF */
    bool in_header;      /* DATA: still in the message header */
    char *message_id;

    /* counts */
    int error_count, junk_count, notes;
    unsigned counts[16], counts_ok[16]; /* per command, for the disconnect line */
    unsigned commands, commands_ok;
    uint64_t started_us;

    /* command being processed across an asynchronous wait */
    int pending_cmd;
    const char *where_cmd; /* the last command that got past the checks of
                              commands_dispatch (Postfix's "after X") */
    char *pending_arg;
    struct pending_check *pending;
    int async_refs;     /* outstanding callbacks */
    bool closing;       /* close once async_refs drops to 0 */
    bool hangup;        /* a 421/521 reply was sent: close after it */
    bool anvil_counted; /* "connect" was counted: "disconnect" is owed */
    bool limits_exempt; /* smtpd_client_event_limit_exceptions */
    bool rate_sync;     /* inside anvil_request */
    int rate_state;     /* this command's anvil check: 0 none, 1 asked, 2 answered */
    unsigned rate_value;
    bool discard_line;      /* dropping the rest of an overlong line */
    bool dead;              /* the connection failed: nothing can be sent */
    bool flushing;          /* closing: waiting for the last reply to go out */
    struct event *proxy_ev; /* reading the PROXY header from the socket */
    struct buf proxy_buf;   /* the part of it read so far */
    bool peer_lookup;       /* the client's name is being looked up */
    bool connect_logged;    /* "connect from" was logged */
    bool lost_early;        /* gone while its name was looked up */
    uint64_t flush_deadline_us;
    bool holding;         /* replies held back (smtpd_error_sleep_time) */
    bool in_input;        /* process_input is running */
    uint64_t deadline_us; /* per-request deadline (monotonic) */
    size_t input_seen;    /* input bytes already accounted for the deadline */
    bool input_again;     /* ... and should look at the input again */
    struct buf line;      /* the command line being handled */
    struct buf out;       /* replies not yet written (see session_flush) */
    struct buf arg;       /* its argument, as the handler may change it */
};

/* session.c */
void session_accept(struct worker *w, struct service *svc, int fd, struct sockaddr *sa, int salen);
void session_reply(struct session *s, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* session_reply_text - a complete reply (code + text, multi-line allowed) */
void session_reply_text(struct session *s, const char *text);
/* session_flush - write the replies gathered so far (before TLS starts) */
void session_flush(struct session *s);
void session_close(struct session *s, const char *why);
/* session_hold - an asynchronous step (or a callback at work) keeps the
 * session: closing it meanwhile only marks it.  session_release lets go;
 * when the session was closed meanwhile it is flushed and freed after the
 * last release (true: do not touch it any more). */
void session_hold(struct session *s);
/* session_enter - a callback is about to work for s: its log lines carry
 * its service's syslog_name */
void session_enter(struct session *s);
bool session_release(struct session *s);
void session_resume(struct session *s);
/* session_process_input - hand buffered input to the reader of the current
 * state (not re-entered) */
void session_process_input(struct session *s);
void session_free_all(struct worker *w);
/* session_greeting - the 220 (or the client-stage reject with
 * smtpd_delay_reject = no); also the reply to XCLIENT */
void session_greeting(struct session *s);
/* session_client_changed - the client is new (connect, XCLIENT): the
 * settings that depend on its name and address */
void session_client_changed(struct session *s);
void session_tls_started(struct session *s);
/* session_install_bev - s->bev was replaced (STARTTLS): give it the
 * session's callbacks and limits */
void session_install_bev(struct session *s);
/* session_arm_timer - the session's deadline, ms from now */
void session_arm_timer(struct session *s, long ms);
/* session_request_start - a new request (command, message, chunk) begins:
 * its smtpd_timeout starts now */
void session_request_start(struct session *s);
void session_log(struct session *s, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* session_transaction_reset - forget sender, recipients and the queue file
 * (RSET, HELO/EHLO, after a delivery or a rejected message) */
void session_transaction_reset(struct session *s);
/* session_error - count an error; the reply was already sent */
void session_error(struct session *s);
/* session_command_ok - the command counts as "ok" in the disconnect line */
void session_command_ok(struct session *s, int cmd);
/* session_rejected - a policy reject: the reply (or, for HANGUP, none),
 * an error counted, and the end of the session for 421/521 */
void session_rejected(struct session *s, const struct policy_result *r);
/* session_log_event - "QID: WHATSUP: WHERE from CLIENT: TEXT; from=... to=...
 * proto=... helo=..." */
void session_log_event(struct session *s, const char *whatsup, const char *where, const char *text);
/* session_last_command - the verb of the last command, or CONNECT */
const char *session_last_command(const struct session *s);
/* session_queue_id - the queue ID of the transaction, or NOQUEUE */
const char *session_queue_id(const struct session *s);

/* commands.c */
enum smtp_command {
    CMD_HELO,
    CMD_EHLO,
    CMD_XCLIENT,
    CMD_STARTTLS,
    CMD_AUTH,
    CMD_MAIL,
    CMD_RCPT,
    CMD_DATA,
    CMD_BDAT,
    CMD_RSET,
    CMD_NOOP,
    CMD_VRFY,
    CMD_ETRN,
    CMD_QUIT,
    CMD_XFORWARD,
    CMD_UNKNOWN,
    CMD_COUNT
};
extern const char *const smtp_command_names[CMD_COUNT];
void commands_dispatch(struct session *s, char *line, size_t len);
/* commands_continue - re-run the pending command after facts arrived */
void commands_continue(struct session *s);
void commands_auth_line(struct session *s, char *line);
/* commands_tls_ready - the TLS handshake finished (STARTTLS or implicit) */
void commands_tls_ready(struct session *s);
void cmd_auth(struct session *s, int cmd, char *arg);
/* session_discarded - an EHLO keyword this client does not get (the
 * feature is then off too) */
bool session_discarded(struct session *s, const char *keyword);
/* commands_rate_exceeded - the client's rate of event against limit via
 * anvil: 1 over (caller replies), 0 within, -1 pending (command re-runs) */
int commands_rate_exceeded(struct session *s, const char *event, long limit);
void args_words(const char *text, struct strlist *out);

/* policy glue (session.c): run a check; POLICY_PENDING suspends reading
 * and calls commands_continue() when the facts are in */
enum policy_status session_policy(struct session *s, enum policy_status st,
                                  struct policy_result *r);

/* data.c */
void data_begin(struct session *s);
void data_read(struct session *s);
void data_write(struct session *s, const char *data, size_t len);
void data_write_stray(struct session *s, const char *text, size_t len);
/* bdat.c */
void cmd_bdat(struct session *s, int cmd, char *arg);
void bdat_read(struct session *s);
int data_open_message(struct session *s);
void data_finish(struct session *s);

/* args.c: MAIL FROM / RCPT TO argument parsing as Postfix's smtpd */
struct mail_args {
    char *address;         /* internal form, "" for <> */
    char *raw;             /* as the client wrote it, for replies */
    struct strlist params; /* "SIZE=123" ... */
};
/* args_parse - 0 ok; -1 syntax error (reply in *err, e.g. "501 5.1.7 Bad
 * sender address syntax") */
int args_parse(struct session *s, const char *text, bool sender, struct mail_args *out, char **err);
void mail_args_free(struct mail_args *a);
/* args_log_illegal - Postfix's "Illegal address syntax from ... in MAIL
 * command: <...>" (the address token, or with whole the whole text) */
void args_log_illegal(struct session *s, const char *command, const char *text, bool whole);

/* proxy.c */
/* proxy_parse - 1 complete (addresses filled), 2 complete LOCAL header
 * (no addresses: use the connection's), 0 need more, -1 bad header (*why) */
int proxy_parse(const unsigned char *data, size_t len, size_t *consumed, char *addr,
                size_t addr_len, unsigned *port, char *server_addr, size_t server_len,
                unsigned *server_port, const char **why);

/* worker.c */
int worker_run(struct worker *w);

#endif
