/*
 * sasl_int - what the files of the sasl module share: strict base64, the
 * PLAIN message parser, security options and the mechanism filter
 * (mech.c), the verification thread pool (pool.c), the passwd-file back
 * end (pwfile.c) and the Dovecot auth client (dovecot.c).  Not a public
 * interface; the unit tests use it.
 */
#ifndef POSTERN_SASL_INT_H
#define POSTERN_SASL_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "sasl/sasl.h"
#include "util/util.h"

struct event;
struct event_base;
struct table;

/* ---- base64 and mechanisms (mech.c) ---- */

/*
 * sasl_b64_decode - strict RFC 4648 base64: the standard alphabet only, a
 * length that is a multiple of 4, "=" padding only at the end, zero pad
 * bits.  Decodes into out (NUL-terminated, may hold NULs).  0 on success,
 * -1 malformed, -2 when the input or the result would exceed the limits
 * (SASL_RESPONSE_MAX characters, max_out bytes).
 */
int sasl_b64_decode(const char *in, size_t len, size_t max_out, struct buf *out);
char *sasl_b64_encode(const void *data, size_t len);

/* A PLAIN message: [authzid] NUL authcid NUL passwd (RFC 4616). */
struct sasl_plain {
    const char *authzid, *authcid, *passwd; /* point into the message */
    size_t authzid_len, authcid_len, passwd_len;
};

/* sasl_plain_parse - split a decoded PLAIN message; 0, -1 with *why
 * (static text) when malformed, -2 when a field is over its limit */
int sasl_plain_parse(const char *msg, size_t len, struct sasl_plain *out, const char **why);

/* Mechanism properties (Dovecot's MECH flags) and the security options
 * that exclude or require them (Postfix's names). */
#define SASL_PROP_PLAINTEXT  (1u << 0) /* noplaintext */
#define SASL_PROP_ACTIVE     (1u << 1) /* noactive */
#define SASL_PROP_DICTIONARY (1u << 2) /* nodictionary */
#define SASL_PROP_ANONYMOUS  (1u << 3) /* noanonymous */
#define SASL_PROP_FWD        (1u << 4) /* forward_secrecy (required) */
#define SASL_PROP_MUTUAL     (1u << 5) /* mutual_auth (required) */
#define SASL_PROP_PRIVATE    (1u << 6) /* Dovecot: never advertised */
#define SASL_PROP_REQUIRED   (SASL_PROP_FWD | SASL_PROP_MUTUAL)

/* sasl_security_parse - smtpd_sasl_(tls_)security_options into a mask of
 * SASL_PROP_* (excluded or required properties); 0, or -1 with *err */
int sasl_security_parse(const char *param, const char *value, unsigned *mask, char **err);
/* sasl_dovecot_props - Dovecot's MECH flags ("plaintext", "anonymous" ...) */
unsigned sasl_dovecot_props(const char *flag);
/* sasl_mech_allowed - does a mechanism with props pass the options? */
bool sasl_mech_allowed(unsigned props, unsigned options);

/* smtpd_sasl_mechanism_filter: names, "!name", type:table; first match
 * decides, no match excludes. */
struct sasl_filter {
    struct strlist patterns; /* "!" kept in front */
    struct table **tables;   /* per pattern: open table, or NULL for a name */
};

void sasl_filter_init(struct sasl_filter *f, const char *value);
bool sasl_filter_match(const struct sasl_filter *f, const char *mechanism);
void sasl_filter_free(struct sasl_filter *f);

/* ---- verification thread pool (pool.c) ---- */

/*
 * A job's work() runs on a worker thread and must touch nothing but the job;
 * done() runs afterwards on the event loop thread and owns (frees) the job.
 */
struct sasl_job {
    void (*work)(struct sasl_job *job);
    void (*done)(struct sasl_job *job);
    struct sasl_job *next;
};

struct sasl_pool;

/* sasl_pool_new - threads start with the first job; queue_max caps jobs
 * waiting or running */
struct sasl_pool *sasl_pool_new(struct event_base *base, unsigned threads, unsigned queue_max);
/* sasl_pool_submit - 0, or -1 when the queue is full (job untouched) */
int sasl_pool_submit(struct sasl_pool *p, struct sasl_job *job);
/* sasl_pool_free - stop and join the threads; unfinished jobs are passed
 * to done() with work() possibly not run (done() must cope) */
void sasl_pool_free(struct sasl_pool *p);
unsigned sasl_pool_threads_started(const struct sasl_pool *p);

/* ---- passwd-file back end (pwfile.c) ---- */

#define PWFILE_LINE_MAX 16384 /* longer lines are skipped with a warning */

struct pwfile;
struct pw_check;
typedef void (*pw_done_fn)(void *arg, enum sasl_status status);

/* pwfile_open - read path now; NULL with *err when it cannot be read */
struct pwfile *pwfile_open(const char *path, struct sasl_pool *pool, char **err);
void pwfile_free(struct pwfile *pf);
/* pwfile_refresh - re-read the file when its identity (device, inode, size,
 * mtime) changed.  1 re-read, 0 unchanged, -1 unreadable (the old contents
 * are dropped: every check fails temporarily until it is back). */
int pwfile_refresh(struct pwfile *pf);
size_t pwfile_user_count(const struct pwfile *pf);

/*
 * pwfile_verify - check a password.  SASL_OK, SASL_FAIL or SASL_TEMPFAIL
 * at once ({PLAIN}, unknown users, a broken file), or SASL_CONTINUE when a
 * crypt(3) check was queued: done(arg, status) follows on the event loop
 * unless pwfile_cancel(*pending) comes first.
 */
enum sasl_status pwfile_verify(struct pwfile *pf, const char *user, const char *password,
                               size_t password_len, pw_done_fn done, void *arg,
                               struct pw_check **pending);
void pwfile_cancel(struct pw_check *c);

/* ---- the Dovecot auth client (dovecot.c) ---- */

#define DOVECOT_LINE_MAX      65536 /* longest line accepted from Dovecot */
#define DOVECOT_REPLY_TIMEOUT 30    /* seconds for an answer to AUTH or CONT */

struct dovecot_client;
struct dovecot_request;

struct sasl_mech {
    char *name;
    unsigned props;
};

/* dovecot_new - start connecting in the background; NULL with *err for a
 * malformed path */
struct dovecot_client *dovecot_new(struct event_base *base, const char *path, char **err);
void dovecot_free(struct dovecot_client *dc);
/* dovecot_mechanisms - the list of the last successful handshake (count 0
 * before the first one) */
const struct sasl_mech *dovecot_mechanisms(const struct dovecot_client *dc, size_t *count);
/* dovecot_connected - handshake done and the connection up */
bool dovecot_connected(const struct dovecot_client *dc);
/* dovecot_settled - a mechanism list arrived, or connecting failed */
bool dovecot_settled(const struct dovecot_client *dc);

/* dovecot_auth - send AUTH (resp: NULL none, "" empty, else base64);
 * answers arrive through sasl_session_report() */
void dovecot_auth(struct dovecot_client *dc, struct sasl_session *ss, const char *mechanism,
                  const char *resp, const char *service, const char *local_ip,
                  const char *client_ip, bool secured);
/* dovecot_continue - send CONT with the client's base64 response */
void dovecot_continue(struct dovecot_client *dc, struct sasl_session *ss, const char *resp);
/* dovecot_cancel - forget the session's request (CANCEL to Dovecot) */
void dovecot_cancel(struct dovecot_client *dc, struct sasl_session *ss);

/* ---- sessions (sasl.c) ---- */

enum sasl_mech_id {
    SASL_MECH_PLAIN,
    SASL_MECH_LOGIN,
};

enum sasl_phase {
    PHASE_WANT_PLAIN,    /* passwd-file: 334 "" sent, waiting for the message */
    PHASE_WANT_USER,     /* passwd-file LOGIN: waiting for the user name */
    PHASE_WANT_PASSWORD, /* passwd-file LOGIN: waiting for the password */
    PHASE_BACKEND,       /* waiting for the back end */
    PHASE_WANT_CONT,     /* Dovecot: waiting for the client's answer to CONT */
    PHASE_DONE,          /* a final result was reported */
};

struct sasl_result_item {
    struct sasl_result r;
    struct sasl_result_item *next;
};

struct sasl_session {
    struct sasl_server *server;
    enum sasl_mech_id mech;
    enum sasl_phase phase;
    char *login_user;                                 /* LOGIN: the name from the first answer */
    struct pw_check *check;                           /* passwd-file: crypt check in flight */
    struct dovecot_request *dreq;                     /* Dovecot: the request in flight */
    struct sasl_result_item *results, **results_tail; /* not yet delivered */
    struct event *deliver;
    sasl_done_fn done;
    void *arg;
    bool in_callback;
    bool free_requested;
    struct sasl_session *prev, *next; /* the server's list */
};

/* sasl_session_report - queue a result for delivery from the event loop;
 * the strings are copied (NULL allowed).  A final status ends the exchange. */
void sasl_session_report(struct sasl_session *ss, enum sasl_status status, enum sasl_error error,
                         const char *challenge, const char *username, const char *reason);

#endif
