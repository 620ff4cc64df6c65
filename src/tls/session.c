/*
 * session - TLS on one connection: the bufferevent wrappers (libevent's
 * bufferevent_openssl, accepting side, dirty shutdowns allowed because SMTP
 * clients often close without close_notify), and what a finished handshake
 * tells: protocol, cipher, the client certificate's names, trust and
 * fingerprints (smtpd_tls_fingerprint_digest, colon-separated upper-case
 * hex as Postfix writes them; the public-key fingerprint is the digest of
 * the DER SubjectPublicKeyInfo), and for TLS 1.3 the key exchange and the
 * signature algorithms that Postfix 3.7 puts in Received: headers.  The
 * facts are computed once and kept in the SSL object's ex_data.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "tls/tls_int.h"

static SSL *new_ssl(struct tls_server *t)
{
    SSL *ssl = SSL_new(t->ctx);
    if (ssl == NULL) {
        char *why = tls_errors();
        log_warnx("TLS: cannot make a connection object: %s", why);
        free(why);
        return NULL;
    }
    struct tls_conn *c = xcalloc(1, sizeof(*c));
    c->ask_ccert = t->ask_ccert;
    c->md = t->md;
    SSL_set_ex_data(ssl, tls_conn_index(), c);
    return ssl;
}

struct bufferevent *tls_wrap_bufferevent(struct tls_server *t, struct event_base *base,
                                         struct bufferevent *bev)
{
    SSL *ssl = new_ssl(t);
    if (ssl == NULL)
        return NULL;
    struct evbuffer *in = bufferevent_get_input(bev);
    evbuffer_drain(in, evbuffer_get_length(in));
    struct bufferevent *tls = bufferevent_openssl_filter_new(
        base, bev, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    if (tls == NULL) {
        SSL_free(ssl);
        return NULL;
    }
    bufferevent_openssl_set_allow_dirty_shutdown(tls, 1);
    return tls;
}

struct bufferevent *tls_wrap_socket(struct tls_server *t, struct event_base *base, int fd)
{
    SSL *ssl = new_ssl(t);
    if (ssl == NULL)
        return NULL;
    struct bufferevent *tls = bufferevent_openssl_socket_new(
        base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    if (tls == NULL) {
        SSL_free(ssl);
        return NULL;
    }
    bufferevent_openssl_set_allow_dirty_shutdown(tls, 1);
    return tls;
}

char *tls_error_text(struct bufferevent *bev)
{
    struct buf b;
    buf_init(&b);
    unsigned long e;
    char text[256];
    while ((e = bufferevent_get_openssl_error(bev)) != 0) {
        ERR_error_string_n(e, text, sizeof(text));
        if (b.len)
            buf_puts(&b, "; ");
        buf_puts(&b, text);
    }
    if (b.len == 0) {
        buf_free(&b);
        return NULL;
    }
    return buf_steal(&b);
}

/* ---- certificate facts ---- */

/* fingerprint - "AB:CD:..." of data */
static char *fingerprint(const unsigned char *md, unsigned len)
{
    static const char hex[] = "0123456789ABCDEF";
    struct buf b;
    buf_init(&b);
    for (unsigned i = 0; i < len; i++) {
        if (i)
            buf_putc(&b, ':');
        buf_putc(&b, hex[md[i] >> 4]);
        buf_putc(&b, hex[md[i] & 15]);
    }
    return buf_steal(&b);
}

static char *cert_fingerprint(X509 *cert, const EVP_MD *md)
{
    unsigned char buf[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    if (X509_digest(cert, md, buf, &len) != 1)
        return NULL;
    return fingerprint(buf, len);
}

static char *pkey_fingerprint(X509 *cert, const EVP_MD *md)
{
    unsigned char *der = NULL;
    int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
    if (n <= 0)
        return NULL;
    unsigned char buf[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    int ok = EVP_Digest(der, (size_t) n, buf, &len, md, NULL);
    OPENSSL_free(der);
    return ok == 1 ? fingerprint(buf, len) : NULL;
}

/* name_text - the last entry of nid in name as UTF-8; NULL when absent or
 * when it holds a NUL (a forged name) */
static char *name_text(X509_NAME *name, int nid)
{
    int pos = -1, last = -1;
    while ((pos = X509_NAME_get_index_by_NID(name, nid, pos)) >= 0)
        last = pos;
    if (last < 0)
        return NULL;
    ASN1_STRING *data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, last));
    unsigned char *utf8 = NULL;
    int len = ASN1_STRING_to_UTF8(&utf8, data);
    if (len < 0)
        return NULL;
    char *out = NULL;
    if (memchr(utf8, 0, (size_t) len) == NULL)
        out = xstrndup((const char *) utf8, (size_t) len);
    OPENSSL_free(utf8);
    return out;
}

/* group_name - OpenSSL's short name of an EC key's curve ("prime256v1"),
 * as Postfix 3.7 shows a certificate's curve */
static char *group_name(EVP_PKEY *pkey)
{
    char group[64];
    size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                       &len) != 1)
        return NULL;
    return xstrdup(group);
}

/* curve_name - "P-256" for a NIST curve, else OpenSSL's short name (the
 * key exchange) */
static char *curve_name(EVP_PKEY *pkey)
{
    char group[64];
    size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                       &len) != 1)
        return NULL;
    int nid = OBJ_txt2nid(group);
    const char *nist = nid != NID_undef ? EC_curve_nid2nist(nid) : NULL;
    return xstrdup(nist ? nist : group);
}

/* key_kind - what a certificate key signs with under TLS 1.3, as Postfix
 * names it: "RSA-PSS" with bits, "ECDSA" with its curve, else the type */
static void key_kind(EVP_PKEY *pkey, char **name, char **curve, int *bits)
{
    if (EVP_PKEY_is_a(pkey, "RSA")) {
        *name = xstrdup("RSA-PSS");
        *bits = EVP_PKEY_get_bits(pkey);
    } else if (EVP_PKEY_is_a(pkey, "EC")) {
        *name = xstrdup("ECDSA");
        *curve = group_name(pkey);
    } else {
        const char *type = EVP_PKEY_get0_type_name(pkey);
        *name = type ? xstrdup(type) : NULL;
    }
}

static char *digest_name(int nid)
{
    const char *sn = nid != NID_undef ? OBJ_nid2sn(nid) : NULL;
    return sn ? xstrdup(sn) : NULL;
}

/* tls13_details - key exchange and signatures (TLS 1.3 only, as Postfix) */
static void tls13_details(SSL *ssl, struct tls_conn *c)
{
    if (SSL_version(ssl) < TLS1_3_VERSION)
        return;
    EVP_PKEY *kex = NULL;
    if (SSL_get_peer_tmp_key(ssl, &kex) == 1 && kex) {
        if (EVP_PKEY_is_a(kex, "DH")) {
            c->kex_name = xstrdup("DHE");
            c->kex_bits = EVP_PKEY_get_bits(kex);
        } else if (EVP_PKEY_is_a(kex, "EC")) {
            c->kex_name = xstrdup("ECDHE");
            c->kex_curve = curve_name(kex);
        } else {
            const char *type = EVP_PKEY_get0_type_name(kex);
            c->kex_name = type ? xstrdup(type) : NULL;
        }
        EVP_PKEY_free(kex);
    }
    int nid;
    X509 *local = SSL_get_certificate(ssl);
    if (local) {
        key_kind(X509_get0_pubkey(local), &c->srvr_sig_name, &c->srvr_sig_curve, &c->srvr_sig_bits);
        if (SSL_get_signature_nid(ssl, &nid))
            c->srvr_sig_dgst = digest_name(nid);
    }
    X509 *peer = SSL_get0_peer_certificate(ssl);
    if (peer) {
        key_kind(X509_get0_pubkey(peer), &c->clnt_sig_name, &c->clnt_sig_curve, &c->clnt_sig_bits);
        if (SSL_get_peer_signature_nid(ssl, &nid))
            c->clnt_sig_dgst = digest_name(nid);
    }
    ERR_clear_error();
}

/* conn_facts - the finished handshake's facts, computed at the first ask */
static struct tls_conn *conn_facts(struct bufferevent *bev)
{
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    if (ssl == NULL || !SSL_is_init_finished(ssl))
        return NULL;
    struct tls_conn *c = SSL_get_ex_data(ssl, tls_conn_index());
    if (c == NULL)
        return NULL;
    if (c->filled)
        return c;
    c->protocol = xstrdup(SSL_get_version(ssl));
    const SSL_CIPHER *cipher = SSL_get_current_cipher(ssl);
    c->cipher = xstrdup(cipher ? SSL_CIPHER_get_name(cipher) : "");
    c->cipher_bits = cipher ? SSL_CIPHER_get_bits(cipher, &c->alg_bits) : 0;
    X509 *peer = SSL_get0_peer_certificate(ssl);
    if (peer) {
        c->cert_present = true;
        c->cert_trusted = SSL_get_verify_result(ssl) == X509_V_OK;
        c->peer_cn = name_text(X509_get_subject_name(peer), NID_commonName);
        if (c->peer_cn == NULL)
            c->peer_cn = xstrdup("");
        c->issuer_cn = name_text(X509_get_issuer_name(peer), NID_commonName);
        if (c->issuer_cn == NULL)
            c->issuer_cn = name_text(X509_get_issuer_name(peer), NID_organizationName);
        if (c->issuer_cn == NULL)
            c->issuer_cn = xstrdup("");
        c->cert_fingerprint = cert_fingerprint(peer, c->md);
        c->pkey_fingerprint = pkey_fingerprint(peer, c->md);
    }
    tls13_details(ssl, c);
    c->filled = true;
    return c;
}

bool tls_session_info(struct bufferevent *bev, struct policy_tls *out)
{
    struct tls_conn *c = conn_facts(bev);
    if (c == NULL)
        return false;
    memset(out, 0, sizeof(*out));
    out->protocol = c->protocol;
    out->cipher = c->cipher;
    out->cipher_bits = c->cipher_bits;
    out->cert_present = c->cert_present;
    out->cert_trusted = c->cert_trusted;
    out->peer_cn = c->peer_cn;
    out->issuer_cn = c->issuer_cn;
    out->cert_fingerprint = c->cert_fingerprint;
    out->pkey_fingerprint = c->pkey_fingerprint;
    return true;
}

/* put_comment_text - Postfix's comment_sanitize: printable ASCII only, no
 * backslash, parentheses balanced */
static void put_comment_text(struct buf *b, const char *s)
{
    int open = 0;
    for (; *s; s++) {
        unsigned char ch = (unsigned char) *s;
        if (ch < 0x20 || ch > 0x7e || ch == '\\') {
            buf_putc(b, '?');
        } else if (ch == '(') {
            open++;
            buf_putc(b, '(');
        } else if (ch == ')') {
            if (open > 0) {
                open--;
                buf_putc(b, ')');
            } else {
                buf_putc(b, '?');
            }
        } else {
            buf_putc(b, (char) ch);
        }
    }
    while (open-- > 0)
        buf_putc(b, ')');
}

/* put_sig - " <role>-signature NAME (curve|N bits)[ <role>-digest D]" */
static void put_sig(struct buf *b, const char *role, const char *name, const char *curve, int bits,
                    const char *dgst)
{
    buf_printf(b, "%s-signature %s", role, name);
    if (curve && *curve)
        buf_printf(b, " (%s)", curve);
    else if (bits > 0)
        buf_printf(b, " (%d bits)", bits);
    if (dgst && *dgst)
        buf_printf(b, " %s-digest %s", role, dgst);
}

/* put_details - " key-exchange ... server-signature ... client-signature ..."
 * with sep before the key exchange (or the server signature when there is
 * no key exchange) and before the client signature */
static void put_details(struct buf *b, const struct tls_conn *c, const char *sep)
{
    bool line = false;
    if (c->kex_name && *c->kex_name) {
        buf_printf(b, "%skey-exchange %s", sep, c->kex_name);
        if (c->kex_curve && *c->kex_curve)
            buf_printf(b, " (%s)", c->kex_curve);
        else if (c->kex_bits > 0)
            buf_printf(b, " (%d bits)", c->kex_bits);
        line = true;
    }
    if (c->srvr_sig_name && *c->srvr_sig_name) {
        buf_puts(b, line ? " " : sep);
        put_sig(b, "server", c->srvr_sig_name, c->srvr_sig_curve, c->srvr_sig_bits,
                c->srvr_sig_dgst);
    }
    if (c->clnt_sig_name && *c->clnt_sig_name) {
        buf_puts(b, sep);
        put_sig(b, "client", c->clnt_sig_name, c->clnt_sig_curve, c->clnt_sig_bits,
                c->clnt_sig_dgst);
    }
}

char *tls_received_text(struct bufferevent *bev)
{
    struct tls_conn *c = conn_facts(bev);
    if (c == NULL)
        return NULL;
    struct buf b;
    buf_init(&b);
    buf_printf(&b, "(using %s with cipher %s (%d/%d bits)", c->protocol, c->cipher, c->cipher_bits,
               c->alg_bits);
    /* key exchange and server signature share a continuation line; the
     * client signature gets one of its own */
    put_details(&b, c, "\r\n\t ");
    buf_puts(&b, ")\r\n\t");
    if (c->cert_present) {
        buf_puts(&b, "(Client CN \"");
        put_comment_text(&b, c->peer_cn);
        buf_puts(&b, "\", Issuer \"");
        put_comment_text(&b, c->issuer_cn);
        buf_printf(&b, "\" (%s))", c->cert_trusted ? "verified OK" : "not verified");
    } else if (c->ask_ccert) {
        buf_puts(&b, "(Client did not present a certificate)");
    } else {
        buf_puts(&b, "(No client certificate requested)");
    }
    return buf_steal(&b);
}

char *tls_log_text(struct bufferevent *bev, const char *namaddr)
{
    struct tls_conn *c = conn_facts(bev);
    if (c == NULL)
        return NULL;
    struct buf b;
    buf_init(&b);
    buf_printf(&b, "%s TLS connection established from %s: %s with cipher %s (%d/%d bits)",
               !c->cert_present  ? "Anonymous"
               : c->cert_trusted ? "Trusted"
                                 : "Untrusted",
               namaddr, c->protocol, c->cipher, c->cipher_bits, c->alg_bits);
    put_details(&b, c, " ");
    return buf_steal(&b);
}

void tls_shutdown(struct bufferevent *bev)
{
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    if (ssl == NULL || !SSL_is_init_finished(ssl))
        return;
    /* close_notify goes out through the bufferevent's BIO with the last
     * reply; the peer's answer is not awaited */
    SSL_shutdown(ssl);
}

size_t tls_output_pending(struct bufferevent *bev)
{
    size_t n = evbuffer_get_length(bufferevent_get_output(bev));
    struct bufferevent *under = bufferevent_get_underlying(bev);
    if (under)
        n += evbuffer_get_length(bufferevent_get_output(under));
    return n;
}
