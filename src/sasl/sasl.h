/*
 * sasl - SMTP AUTH (RFC 4954) for the server: the PLAIN (RFC 4616) and
 * LOGIN mechanisms over two back ends, chosen by smtpd_sasl_type:
 *
 *   passwd-file  built in; smtpd_sasl_path = FILE with Dovecot passwd-file
 *                lines "user:{SCHEME}hash[:...]" ({PLAIN} and crypt(3)
 *                schemes), re-read when the file changes.  crypt(3)
 *                hashes are verified on a small thread pool.
 *   dovecot      Dovecot's auth protocol on a unix socket (smtpd_sasl_path,
 *                relative to queue_directory), one connection per server
 *                object, requests multiplexed by id, reconnected on demand.
 *
 * smtpd_sasl_security_options / smtpd_sasl_tls_security_options and
 * smtpd_sasl_mechanism_filter decide which mechanisms are offered.
 *
 * Every result arrives through done() from the event loop, never from
 * inside sasl_start() or sasl_step().  How a result maps to Postfix 3.7's
 * replies:
 *
 *   SASL_CONTINUE  "334 <challenge>"
 *   SASL_OK        "235 2.7.0 Authentication successful"
 *   SASL_FAIL      "535 5.7.8 Error: authentication failed: <reason>"
 *   SASL_TEMPFAIL  "454 4.7.0 Temporary authentication failure: <reason>"
 *   SASL_ERROR     error == SASL_ERR_ABORTED (the client sent "*"):
 *                  "501 5.7.0 Authentication aborted"; any other error:
 *                  "535 5.7.8 Error: authentication failed: <reason>", as
 *                  Postfix answers bad base64 and unknown mechanisms.
 */
#ifndef POSTERN_SASL_H
#define POSTERN_SASL_H

#include <stdbool.h>

#include "config/config.h"

struct event_base;
struct sasl_server;  /* per process: back end connection, password file, threads */
struct sasl_session; /* one AUTH exchange */

/* Hard limits on client data (checked before decoding). */
#define SASL_RESPONSE_MAX 16384 /* base64 characters in one response */
#define SASL_AUTHID_MAX   512   /* bytes of a decoded user name (authcid, authzid) */
#define SASL_PASSWORD_MAX 1024  /* bytes of a decoded password */

/*
 * sasl_server_new - the back end named by smtpd_sasl_type.  NULL with *err
 * (allocated) on a configuration problem: an unknown type, a missing
 * password file, an unknown security option.  A Dovecot server that is not
 * running is not an error: the connection is made in the background and
 * AUTH fails temporarily until it succeeds.
 */
struct sasl_server *sasl_server_new(struct event_base *base, struct config *cfg, char **err);
/* sasl_server_settled - the back end has told its mechanisms, or failed to
 * (a new Dovecot connection is made in the background; servers wait for
 * this before taking clients, so that the first EHLO offers AUTH) */
bool sasl_server_settled(const struct sasl_server *s);
/* sasl_server_free - every session must have been freed before */
void sasl_server_free(struct sasl_server *s);

/*
 * sasl_mechanisms - "PLAIN LOGIN" as offered in EHLO for a session with or
 * without TLS (smtpd_sasl_security_options or smtpd_sasl_tls_security_options,
 * then smtpd_sasl_mechanism_filter).  "" when nothing may be offered, or
 * while the Dovecot back end has not yet told its mechanisms; the last list
 * Dovecot sent stays in use while it is unreachable.  The string stays valid
 * until the next call with the same tls argument.
 */
const char *sasl_mechanisms(struct sasl_server *s, bool tls);

enum sasl_status {
    SASL_CONTINUE, /* challenge: send "334 <challenge>" */
    SASL_OK,       /* authenticated as username */
    SASL_FAIL,     /* wrong credentials */
    SASL_TEMPFAIL, /* back end unavailable */
    SASL_ERROR,    /* protocol error from the client (see error) */
};

/* Which protocol error (SASL_ERROR only). */
enum sasl_error {
    SASL_ERR_NONE,
    SASL_ERR_ABORTED,   /* "*": the client cancelled */
    SASL_ERR_MECHANISM, /* mechanism not offered for this session */
    SASL_ERR_BASE64,    /* not strict base64 */
    SASL_ERR_TOO_LONG,  /* over SASL_RESPONSE_MAX or a decoded-field limit */
    SASL_ERR_SYNTAX,    /* decoded data malformed (PLAIN without two NULs ...) */
    SASL_ERR_STATE,     /* sasl_step without an outstanding challenge */
};

struct sasl_result {
    enum sasl_status status;
    enum sasl_error error; /* SASL_ERROR: which one */
    char *challenge;       /* SASL_CONTINUE: base64 ("" for an empty one) */
    char *username;        /* SASL_OK: the authenticated name; SASL_FAIL: the
                              name that was tried, when known (for logs) */
    char *reason;          /* FAIL, TEMPFAIL, ERROR: printable text for the
                              reply and the log, never NULL */
};

typedef void (*sasl_done_fn)(void *arg, struct sasl_result *result);

/*
 * sasl_start - begin AUTH with mechanism (any letter case) and an optional
 * initial response (base64, "=" for empty, NULL for none); client_addr and
 * local_addr are the IP addresses passed to Dovecot (may be NULL).
 * sasl_step - the client's next line ("*" cancels).  Each call reports
 * through done() exactly once, from the event loop; results are freed by the
 * library after done() returns.  done() may call sasl_step() or
 * sasl_session_free().  After a result other than SASL_CONTINUE the exchange
 * is over: free the session (a further step gets SASL_ERR_STATE).
 */
struct sasl_session *sasl_start(struct sasl_server *s, const char *mechanism,
                                const char *initial_response, const char *client_addr,
                                const char *local_addr, bool tls, sasl_done_fn done, void *arg);
void sasl_step(struct sasl_session *ss, const char *response);
/* sasl_session_free - forget the exchange (also cancels a pending check:
 * done() is not called for it) */
void sasl_session_free(struct sasl_session *ss);

#endif
