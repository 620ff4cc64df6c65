/*
 * tls_int - shared by the files of the tls module: the server object and
 * the per-connection facts kept in the SSL object's ex_data (freed with
 * it).  Not a public interface.
 */
#ifndef POSTERN_TLS_INT_H
#define POSTERN_TLS_INT_H

#include <stdbool.h>

#include <openssl/ssl.h>

#include "tls/tls.h"

struct tls_server {
    SSL_CTX *ctx;
    bool ask_ccert;     /* a certificate is requested */
    bool require_ccert; /* ... and must be trusted (req_ccert at level encrypt) */
    const EVP_MD *md;   /* smtpd_tls_fingerprint_digest */
};

/* What a finished handshake tells, computed once per connection. */
struct tls_conn {
    bool ask_ccert;
    const EVP_MD *md;
    bool filled;
    char *protocol;
    char *cipher;
    int cipher_bits, alg_bits;
    bool cert_present, cert_trusted;
    char *peer_cn, *issuer_cn; /* NULL without a certificate */
    char *cert_fingerprint, *pkey_fingerprint;
    /* TLS 1.3 details for Received: (NULL or 0 when unknown) */
    char *kex_name, *kex_curve;
    int kex_bits;
    char *srvr_sig_name, *srvr_sig_curve, *srvr_sig_dgst;
    int srvr_sig_bits;
    char *clnt_sig_name, *clnt_sig_curve, *clnt_sig_dgst;
    int clnt_sig_bits;
};

/* tls_conn_index - the ex_data slot (made once, at the first server) */
int tls_conn_index(void);
/* tls_errors - OpenSSL's error queue as text, emptied (allocated, "" if none) */
char *tls_errors(void);

#endif
