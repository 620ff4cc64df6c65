/*
 * tls - OpenSSL 3 for the SMTP server: a server context built from the
 * smtpd_tls_* and tls_* parameters, and per-connection TLS over libevent's
 * bufferevents (STARTTLS on an established connection, or implicit TLS
 * for the smtps / submissions service).  The context follows Postfix 3.7:
 * smtpd_tls_(mandatory_)protocols and _ciphers, chosen by
 * smtpd_tls_security_level (encrypt, or smtpd_tls_wrappermode, selects the
 * mandatory ones), cipher grades mapped through tls_<grade>_cipherlist,
 * client certificates asked for with smtpd_tls_ask_ccert (or required
 * with smtpd_tls_req_ccert at level encrypt) and fingerprinted with
 * smtpd_tls_fingerprint_digest.  No server-side session cache; session
 * tickets only when tls_session_ticket_cipher is set explicitly.
 */
#ifndef POSTERN_TLS_H
#define POSTERN_TLS_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "policy/policy.h"

struct bufferevent;
struct event_base;
struct tls_server; /* SSL_CTX and settings */

/*
 * tls_server_new - NULL with *err (allocated; names the parameter and file)
 * on a configuration problem; NULL with *err == NULL when no certificate is
 * configured (TLS is then not offered).  Certificates come from
 * smtpd_tls_chain_files when set, else smtpd_tls_cert_file/key_file and
 * smtpd_tls_eccert_file/eckey_file.
 */
struct tls_server *tls_server_new(struct config *cfg, char **err);
/* tls_server_free - after every bufferevent made from it is gone */
void tls_server_free(struct tls_server *t);
/* tls_server_require_ccert - smtpd_tls_req_ccert at level encrypt: the SMTP
 * server must refuse a session whose client certificate is not trusted
 * ("421 4.7.1 ... Error: No client certificate presented" and so on) */
bool tls_server_require_ccert(const struct tls_server *t);

/*
 * tls_wrap - a TLS bufferevent over bev (STARTTLS: filter over the plain
 * bufferevent; the new one owns and frees it) or over fd (implicit TLS; it
 * owns the descriptor).  tls_wrap_bufferevent first discards whatever the
 * client sent after STARTTLS that is still in bev's input buffer (RFC 3207
 * section 5: no plaintext command may survive into the TLS session; the
 * caller discards what it buffered itself); a reply already queued on bev
 * goes out before the handshake.  The handshake runs as the caller reads;
 * BEV_EVENT_CONNECTED reports its end, BEV_EVENT_ERROR a failure.
 * NULL when OpenSSL cannot make a connection object.
 */
struct bufferevent *tls_wrap_bufferevent(struct tls_server *t, struct event_base *base,
                                         struct bufferevent *bev);
struct bufferevent *tls_wrap_socket(struct tls_server *t, struct event_base *base, int fd);

/* tls_shutdown - send close_notify (the session is about to be closed) */
void tls_shutdown(struct bufferevent *bev);
/* tls_output_pending - bytes still to send: bev's output and, for a TLS
 * filter over a plain bufferevent, the output of the one underneath */
size_t tls_output_pending(struct bufferevent *bev);

/* tls_session_info - protocol, cipher, client certificate facts (strings
 * valid while bev lives); false when bev is not a finished TLS session */
bool tls_session_info(struct bufferevent *bev, struct policy_tls *out);

/*
 * tls_received_text - the TLS comments of Postfix 3.7's Received: header,
 * as continuation lines joined by CRLF and a tab, as in the message (the
 * caller writes a tab before the first line and CRLF after the last):
 *
 *   (using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)
 *   	 key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256)
 *   	(No client certificate requested)
 *
 * The key-exchange and signature details exist for TLS 1.3 only (a client
 * certificate adds "\t client-signature ... client-digest ..." before the
 * closing parenthesis); the last line is "(Client did not present a
 * certificate)" when one was asked for, or (Client CN "cn", Issuer "cn"
 * (verified OK|not verified)).  Allocated; NULL when bev is not a finished
 * TLS session.
 */
char *tls_received_text(struct bufferevent *bev);

/* tls_log_text - Postfix's TLS summary log line: "Anonymous TLS connection
 * established from NAMADDR: TLSv1.3 with cipher C (256/256 bits)
 * key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest
 * SHA256" (Untrusted or Trusted with a client certificate); allocated,
 * NULL when bev is not a finished TLS session */
char *tls_log_text(struct bufferevent *bev, const char *namaddr);

/* tls_error_text - OpenSSL's reason for a failed handshake or I/O error on
 * bev, for the log ("SSL_accept error from ...: <text>"); allocated, NULL
 * when there is none */
char *tls_error_text(struct bufferevent *bev);

/* ---- parameter syntax, shared with `postern conf` checks and the tests ---- */

/* Protocol versions as OpenSSL numbers (TLS1_2_VERSION ...). */
struct tls_protocols {
    int min_version;     /* lowest enabled version */
    int max_version;     /* highest enabled version */
    uint64_t no_options; /* SSL_OP_NO_* for versions excluded between the two */
};

/*
 * tls_parse_protocols - Postfix's protocol list: names (SSLv2, SSLv3, TLSv1,
 * TLSv1.1, TLSv1.2, TLSv1.3) to include, "!name" to exclude, ">=name" and
 * "<=name" as bounds, separated by commas, white space or colons; an empty
 * list allows every version.  0, or -1 with *err (allocated).
 */
int tls_parse_protocols(const char *value, struct tls_protocols *out, char **err);

/*
 * tls_cipher_list - the OpenSSL cipher string for a grade (high, medium,
 * low, export, null: the tls_<grade>_cipherlist parameter) with each
 * exclusion (separated by commas, white space or colons) appended as
 * ":!name".  Allocated, or NULL with *err.
 */
char *tls_cipher_list(struct config *cfg, const char *grade, const char *exclusions, char **err);

#endif
