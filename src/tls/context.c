/*
 * context - the server SSL_CTX, built once from the configuration as
 * Postfix 3.7's tls_server_init() and smtpd's TLS start-up decide it
 * (postconf(5): smtpd_tls_*, tls_*): protocol range, cipher grade and
 * exclusions (plus aNULL when client certificates are requested), the
 * server keys and certificate chains, DH and ECDHE groups, client
 * certificate verification, and no server-side session cache.  Every
 * error names the parameter and the file it is about.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tls/tls_int.h"

/* ---- protocols ---- */

static const struct {
    const char *name;
    int version; /* 0: not supported by OpenSSL 3, ignored */
    uint64_t no_op;
} protocols[] = {
    {"SSLv2", 0, 0},
    {"SSLv3", SSL3_VERSION, SSL_OP_NO_SSLv3},
    {"TLSv1", TLS1_VERSION, SSL_OP_NO_TLSv1},
    {"TLSv1.1", TLS1_1_VERSION, SSL_OP_NO_TLSv1_1},
    {"TLSv1.2", TLS1_2_VERSION, SSL_OP_NO_TLSv1_2},
    {"TLSv1.3", TLS1_3_VERSION, SSL_OP_NO_TLSv1_3},
};

static int protocol_index(const char *name)
{
    for (size_t i = 0; i < ARRAY_LEN(protocols); i++)
        if (strcmp(name, protocols[i].name) == 0)
            return (int) i;
    return -1;
}

int tls_parse_protocols(const char *value, struct tls_protocols *out, char **err)
{
    unsigned include = 0, exclude = 0;
    int floor = 0, ceiling = (int) ARRAY_LEN(protocols) - 1;
    char *copy = xstrdup(value);
    char *cursor = copy, *tok;
    while ((tok = strsep(&cursor, ", \t\r\n:")) != NULL) {
        if (*tok == 0)
            continue;
        int sign = 0; /* 1: >=, 2: <=, 3: ! */
        if (strncmp(tok, ">=", 2) == 0)
            sign = 1, tok += 2;
        else if (strncmp(tok, "<=", 2) == 0)
            sign = 2, tok += 2;
        else if (*tok == '!')
            sign = 3, tok++;
        int i = protocol_index(tok);
        if (i < 0) {
            *err =
                xasprintf("Invalid TLS protocol list \"%s\": unknown protocol \"%s\"", value, tok);
            free(copy);
            return -1;
        }
        switch (sign) {
        case 0: include |= 1u << i; break;
        case 1: floor = i > floor ? i : floor; break;
        case 2: ceiling = i < ceiling ? i : ceiling; break;
        default: exclude |= 1u << i; break;
        }
    }
    free(copy);
    unsigned enabled = include ? include : ~0u;
    enabled &= ~exclude;
    int lo = -1, hi = -1;
    for (int i = floor; i <= ceiling; i++) {
        if (protocols[i].version == 0 || !(enabled & (1u << i)))
            continue;
        if (lo < 0)
            lo = i;
        hi = i;
    }
    if (lo < 0) {
        *err = xasprintf("Invalid TLS protocol list \"%s\": no protocol version left", value);
        return -1;
    }
    out->min_version = protocols[lo].version;
    out->max_version = protocols[hi].version;
    out->no_options = 0;
    for (int i = lo; i <= hi; i++)
        if (!(enabled & (1u << i)))
            out->no_options |= protocols[i].no_op;
    return 0;
}

/* ---- ciphers ---- */

char *tls_cipher_list(struct config *cfg, const char *grade, const char *exclusions, char **err)
{
    static const char *const grades[] = {"high", "medium", "low", "export", "null"};
    size_t g;
    for (g = 0; g < ARRAY_LEN(grades); g++)
        if (strcmp(grade, grades[g]) == 0)
            break;
    if (g == ARRAY_LEN(grades)) {
        *err = xasprintf("invalid cipher grade: \"%s\"", grade);
        return NULL;
    }
    char param[64];
    snprintf(param, sizeof(param), "tls_%s_cipherlist", grade);
    const char *base = config_get(cfg, param);
    if (*base == 0) {
        *err = xasprintf("%s is empty", param);
        return NULL;
    }
    struct buf b;
    buf_init(&b);
    buf_puts(&b, base);
    char *copy = xstrdup(exclusions ? exclusions : "");
    char *cursor = copy, *tok;
    while ((tok = strsep(&cursor, ", \t\r\n:")) != NULL) {
        if (*tok == 0)
            continue;
        if (strchr("!+-@", *tok)) {
            *err = xasprintf("invalid unary '!+-@' in cipher exclusion: %s", tok);
            free(copy);
            buf_free(&b);
            return NULL;
        }
        buf_printf(&b, ":!%s", tok);
    }
    free(copy);
    return buf_steal(&b);
}

/* ---- OpenSSL errors ---- */

char *tls_errors(void)
{
    struct buf b;
    buf_init(&b);
    unsigned long e;
    char text[256];
    while ((e = ERR_get_error()) != 0) {
        ERR_error_string_n(e, text, sizeof(text));
        if (b.len)
            buf_puts(&b, "; ");
        buf_puts(&b, text);
    }
    return buf_steal(&b);
}

/* openssl_error - "<what>: <OpenSSL's reasons>" into *err; takes what */
static void openssl_error(char **err, char *what)
{
    char *why = tls_errors();
    *err = *why ? xasprintf("%s: %s", what, why) : xstrdup(what);
    free(what);
    free(why);
}

/* ---- keys and certificates ---- */

/* One private key with its certificate chain, and where each came from. */
struct keypair {
    EVP_PKEY *key;
    const char *key_file;
    STACK_OF(X509) * certs; /* leaf first */
    const char *cert_file;
};

/*
 * read_pem - every certificate and private key in path, in order, through
 * on_item.  -1 with *err when the file cannot be read or a block does not
 * decode; other PEM blocks (parameters) are skipped.
 */
static int read_pem(const char *param, const char *path,
                    int (*on_item)(void *ctx, X509 *cert, EVP_PKEY *key, const char *path,
                                   char **err),
                    void *ctx, char **err)
{
    struct buf text;
    buf_init(&text);
    if (file_read_all(path, &text) == -1) {
        *err = xasprintf("cannot read %s %s: %s", param, path, strerror(errno));
        buf_free(&text);
        return -1;
    }
    BIO *bio = BIO_new_mem_buf(text.data ? text.data : "", (int) text.len);
    int rc = 0, blocks = 0;
    ERR_clear_error();
    while (rc == 0) {
        char *name = NULL, *header = NULL;
        unsigned char *data = NULL;
        long len = 0;
        if (PEM_read_bio(bio, &name, &header, &data, &len) != 1) {
            unsigned long e = ERR_peek_last_error();
            if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
                ERR_clear_error();
            } else {
                openssl_error(err, xasprintf("cannot parse %s %s", param, path));
                rc = -1;
            }
            break;
        }
        blocks++;
        const unsigned char *p = data;
        if (strcmp(name, "CERTIFICATE") == 0 || strcmp(name, "TRUSTED CERTIFICATE") == 0) {
            X509 *cert = strcmp(name, "CERTIFICATE") == 0 ? d2i_X509(NULL, &p, len)
                                                          : d2i_X509_AUX(NULL, &p, len);
            if (cert == NULL) {
                openssl_error(err, xasprintf("bad certificate in %s %s", param, path));
                rc = -1;
            } else {
                rc = on_item(ctx, cert, NULL, path, err);
            }
        } else if (strcmp(name, "ENCRYPTED PRIVATE KEY") == 0) {
            *err = xasprintf("%s %s: encrypted private keys are not supported", param, path);
            rc = -1;
        } else if (strstr(name, "PRIVATE KEY") != NULL) {
            EVP_PKEY *key = d2i_AutoPrivateKey(NULL, &p, len);
            if (key == NULL) {
                openssl_error(err, xasprintf("bad private key in %s %s", param, path));
                rc = -1;
            } else {
                rc = on_item(ctx, NULL, key, path, err);
            }
        }
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(data);
    }
    BIO_free(bio);
    explicit_bzero(text.data, text.len);
    buf_free(&text);
    if (rc == 0 && blocks == 0) {
        *err = xasprintf("%s %s: no PEM data", param, path);
        rc = -1;
    }
    return rc;
}

struct collect {
    const char *param;
    struct keypair pairs[4];
    size_t count;
    bool want_key; /* legacy form: key file */
    bool want_certs;
};

static void keypair_free(struct keypair *kp)
{
    EVP_PKEY_free(kp->key);
    sk_X509_pop_free(kp->certs, X509_free);
    memset(kp, 0, sizeof(*kp));
}

/* chain_item - smtpd_tls_chain_files: each key starts a pair, the
 * certificates after it are its chain */
static int chain_item(void *ctx, X509 *cert, EVP_PKEY *key, const char *path, char **err)
{
    struct collect *c = ctx;
    if (key) {
        if (c->count == ARRAY_LEN(c->pairs)) {
            EVP_PKEY_free(key);
            *err =
                xasprintf("%s: too many private keys (at most %zu)", c->param, ARRAY_LEN(c->pairs));
            return -1;
        }
        if (c->count > 0 && c->pairs[c->count - 1].certs == NULL) {
            EVP_PKEY_free(key);
            *err = xasprintf("%s: no certificate follows the private key in %s", c->param,
                             c->pairs[c->count - 1].key_file);
            return -1;
        }
        c->pairs[c->count].key = key;
        c->pairs[c->count].key_file = path;
        c->count++;
        return 0;
    }
    if (c->count == 0) {
        X509_free(cert);
        *err = xasprintf("%s: certificate before any private key in %s", c->param, path);
        return -1;
    }
    struct keypair *kp = &c->pairs[c->count - 1];
    if (kp->certs == NULL) {
        kp->certs = sk_X509_new_null();
        kp->cert_file = path;
    }
    sk_X509_push(kp->certs, cert);
    return 0;
}

/* legacy_item - smtpd_tls_cert_file / key_file: the first key, all certificates */
static int legacy_item(void *ctx, X509 *cert, EVP_PKEY *key, const char *path, char **err)
{
    struct keypair *kp = ctx;
    if (key) {
        if (kp->key == NULL) {
            kp->key = key;
            kp->key_file = path;
        } else {
            EVP_PKEY_free(key);
        }
    } else {
        if (kp->certs == NULL) {
            kp->certs = sk_X509_new_null();
            kp->cert_file = path;
        }
        sk_X509_push(kp->certs, cert);
    }
    return 0;
}

/* load_legacy - one cert_file/key_file pair into kp */
static int load_legacy(const char *cert_param, const char *cert_file, const char *key_param,
                       const char *key_file, struct keypair *kp, char **err)
{
    struct keypair certs = {0}, keys = {0};
    int rc = read_pem(cert_param, cert_file, legacy_item, &certs, err);
    if (rc == 0)
        rc = read_pem(key_param, key_file, legacy_item, &keys, err);
    if (rc == 0 && certs.certs == NULL) {
        *err = xasprintf("no certificate in %s %s", cert_param, cert_file);
        rc = -1;
    }
    if (rc == 0 && keys.key == NULL) {
        *err = xasprintf("no private key in %s %s", key_param, key_file);
        rc = -1;
    }
    if (rc == 0) {
        kp->key = keys.key;
        kp->key_file = key_file;
        kp->certs = certs.certs;
        kp->cert_file = cert_file;
        keys.key = NULL;
        certs.certs = NULL;
    }
    keypair_free(&certs);
    keypair_free(&keys);
    return rc;
}

/* use_keypair - install a key and its chain; a key that does not match its
 * certificate is an error naming both files */
static int use_keypair(SSL_CTX *ctx, struct keypair *kp, char **err)
{
    X509 *leaf = sk_X509_value(kp->certs, 0);
    if (X509_check_private_key(leaf, kp->key) != 1) {
        ERR_clear_error();
        *err = xasprintf("the private key in %s does not match the certificate in %s", kp->key_file,
                         kp->cert_file);
        return -1;
    }
    STACK_OF(X509) *chain = sk_X509_new_null();
    for (int i = 1; i < sk_X509_num(kp->certs); i++)
        sk_X509_push(chain, sk_X509_value(kp->certs, i));
    int ok = SSL_CTX_use_cert_and_key(ctx, leaf, kp->key, chain, 1);
    sk_X509_free(chain);
    if (ok != 1) {
        openssl_error(err, xasprintf("cannot use the certificate in %s with the key in %s",
                                     kp->cert_file, kp->key_file));
        return -1;
    }
    return 0;
}

/* load_certificates - 1 loaded, 0 nothing configured, -1 error */
static int load_certificates(SSL_CTX *ctx, struct config *cfg, char **err)
{
    struct strlist files;
    strlist_init(&files);
    config_get_list(cfg, "smtpd_tls_chain_files", &files);
    struct collect c = {.param = "smtpd_tls_chain_files"};
    int rc = 0;
    if (files.count > 0) {
        for (size_t i = 0; i < files.count && rc == 0; i++)
            rc = read_pem(c.param, files.items[i], chain_item, &c, err);
        if (rc == 0 && c.count == 0) {
            *err = xstrdup("smtpd_tls_chain_files: no private key");
            rc = -1;
        }
        if (rc == 0 && c.pairs[c.count - 1].certs == NULL) {
            *err = xasprintf("smtpd_tls_chain_files: no certificate follows the private key in %s",
                             c.pairs[c.count - 1].key_file);
            rc = -1;
        }
    } else {
        static const char *const legacy[][2] = {
            {"smtpd_tls_cert_file", "smtpd_tls_key_file"},
            {"smtpd_tls_eccert_file", "smtpd_tls_eckey_file"},
        };
        for (size_t i = 0; i < ARRAY_LEN(legacy) && rc == 0; i++) {
            const char *cert_file = config_get(cfg, legacy[i][0]);
            const char *key_file = config_get(cfg, legacy[i][1]);
            if (*cert_file == 0)
                continue;
            if (*key_file == 0)
                key_file = cert_file;
            rc = load_legacy(legacy[i][0], cert_file, legacy[i][1], key_file, &c.pairs[c.count],
                             err);
            if (rc == 0)
                c.count++;
        }
    }
    for (size_t i = 0; i < c.count && rc == 0; i++)
        rc = use_keypair(ctx, &c.pairs[i], err);
    for (size_t i = 0; i < ARRAY_LEN(c.pairs); i++)
        keypair_free(&c.pairs[i]);
    strlist_free(&files);
    return rc == -1 ? -1 : c.count > 0 ? 1 : 0;
}

/* ---- the rest of the context ---- */

static int verify_always(int ok, X509_STORE_CTX *store)
{
    /* record, do not decide: the result is SSL_get_verify_result(), and the
     * SMTP server (smtpd_tls_req_ccert) or the policy decides what it means */
    return 1;
}

static const struct {
    const char *name;
    uint64_t op;
} ssl_options[] = {
    {"ENABLE_MIDDLEBOX_COMPAT", SSL_OP_ENABLE_MIDDLEBOX_COMPAT},
    {"LEGACY_SERVER_CONNECT", SSL_OP_LEGACY_SERVER_CONNECT},
    {"NO_TICKET", SSL_OP_NO_TICKET},
    {"NO_COMPRESSION", SSL_OP_NO_COMPRESSION},
    {"NO_RENEGOTIATION", SSL_OP_NO_RENEGOTIATION},
    {"NO_SESSION_RESUMPTION_ON_RENEGOTIATION", SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION},
    {"PRIORITIZE_CHACHA", SSL_OP_PRIORITIZE_CHACHA},
    {"ENABLE_KTLS", SSL_OP_ENABLE_KTLS},
    {"IGNORE_UNEXPECTED_EOF", SSL_OP_IGNORE_UNEXPECTED_EOF},
};

/* extra_options - tls_ssl_options: names or a hexadecimal mask */
static uint64_t extra_options(struct config *cfg)
{
    struct strlist words;
    strlist_init(&words);
    config_get_list(cfg, "tls_ssl_options", &words);
    uint64_t ops = 0;
    for (size_t i = 0; i < words.count; i++) {
        const char *w = words.items[i];
        if (strncasecmp(w, "0x", 2) == 0) {
            char *end;
            unsigned long long v = strtoull(w, &end, 16);
            if (*end == 0 && end != w + 2) {
                ops |= v;
                continue;
            }
        }
        size_t k;
        for (k = 0; k < ARRAY_LEN(ssl_options); k++)
            if (strcasecmp(w, ssl_options[k].name) == 0)
                break;
        if (k == ARRAY_LEN(ssl_options))
            log_warnx("tls_ssl_options: ignoring unknown value \"%s\"", w);
        else
            ops |= ssl_options[k].op;
    }
    strlist_free(&words);
    return ops;
}

/* set_groups - tls_eecdh_auto_curves, skipping names this OpenSSL lacks */
static void set_groups(SSL_CTX *ctx, struct config *cfg)
{
    struct strlist names;
    strlist_init(&names);
    config_get_list(cfg, "tls_eecdh_auto_curves", &names);
    struct buf ok;
    buf_init(&ok);
    for (size_t i = 0; i < names.count; i++) {
        if (SSL_CTX_set1_groups_list(ctx, names.items[i]) != 1) {
            ERR_clear_error();
            continue;
        }
        if (ok.len)
            buf_putc(&ok, ':');
        buf_puts(&ok, names.items[i]);
    }
    if (ok.len == 0 || SSL_CTX_set1_groups_list(ctx, buf_cstr(&ok)) != 1) {
        ERR_clear_error();
        SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384");
    }
    buf_free(&ok);
    strlist_free(&names);
}

static int load_dh(SSL_CTX *ctx, struct config *cfg, char **err)
{
    const char *path = config_get(cfg, "smtpd_tls_dh1024_param_file");
    if (*path == 0) {
        SSL_CTX_set_dh_auto(ctx, 1);
        return 0;
    }
    BIO *bio = BIO_new_file(path, "r");
    if (bio == NULL) {
        *err = xasprintf("cannot read smtpd_tls_dh1024_param_file %s: %s", path, strerror(errno));
        ERR_clear_error();
        return -1;
    }
    EVP_PKEY *dh = PEM_read_bio_Parameters(bio, NULL);
    BIO_free(bio);
    if (dh == NULL || SSL_CTX_set0_tmp_dh_pkey(ctx, dh) != 1) {
        EVP_PKEY_free(dh);
        openssl_error(err, xasprintf("cannot use the DH parameters in %s %s",
                                     "smtpd_tls_dh1024_param_file", path));
        return -1;
    }
    return 0;
}

static int client_certificates(struct tls_server *t, struct config *cfg, char **err)
{
    if (!t->ask_ccert)
        return 0;
    const char *cafile = config_get(cfg, "smtpd_tls_CAfile");
    const char *capath = config_get(cfg, "smtpd_tls_CApath");
    if (*cafile || *capath) {
        if (*cafile && access(cafile, R_OK) == -1) {
            *err = xasprintf("cannot read smtpd_tls_CAfile %s: %s", cafile, strerror(errno));
            return -1;
        }
        if (*capath && access(capath, R_OK | X_OK) == -1) {
            *err = xasprintf("cannot read smtpd_tls_CApath %s: %s", capath, strerror(errno));
            return -1;
        }
        if (SSL_CTX_load_verify_locations(t->ctx, *cafile ? cafile : NULL,
                                          *capath ? capath : NULL) != 1) {
            openssl_error(err, xasprintf("cannot load CA certificates from %s%s",
                                         *cafile ? cafile : capath,
                                         *cafile && *capath ? " and smtpd_tls_CApath" : ""));
            return -1;
        }
        if (*cafile) {
            /* the certificate request names the CAs of the CAfile, as Postfix's does */
            STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cafile);
            if (names)
                SSL_CTX_set_client_CA_list(t->ctx, names);
            ERR_clear_error();
        }
    }
    SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE, verify_always);
    SSL_CTX_set_verify_depth(t->ctx, (int) config_get_int(cfg, "smtpd_tls_ccert_verifydepth"));
    return 0;
}

static void conn_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    struct tls_conn *c = ptr;
    if (c == NULL)
        return;
    char *strings[] = {c->protocol,         c->cipher,           c->peer_cn,       c->issuer_cn,
                       c->cert_fingerprint, c->pkey_fingerprint, c->kex_name,      c->kex_curve,
                       c->srvr_sig_name,    c->srvr_sig_curve,   c->srvr_sig_dgst, c->clnt_sig_name,
                       c->clnt_sig_curve,   c->clnt_sig_dgst};
    for (size_t i = 0; i < ARRAY_LEN(strings); i++)
        free(strings[i]);
    free(c);
}

static int conn_index = -1;

int tls_conn_index(void)
{
    if (conn_index < 0)
        conn_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, conn_free);
    return conn_index;
}

struct tls_server *tls_server_new(struct config *cfg, char **err)
{
    *err = NULL;
    const char *level = config_get(cfg, "smtpd_tls_security_level");
    bool enforce;
    if (*level == 0)
        enforce = config_get_bool(cfg, "smtpd_enforce_tls");
    else if (strcmp(level, "none") == 0 || strcmp(level, "may") == 0)
        enforce = false;
    else if (strcmp(level, "encrypt") == 0)
        enforce = true;
    else {
        *err =
            xasprintf("invalid smtpd_tls_security_level value \"%s\" (none, may, encrypt)", level);
        return NULL;
    }
    if (config_get_bool(cfg, "smtpd_tls_wrappermode"))
        enforce = true;
    const char *digest = config_get(cfg, "smtpd_tls_fingerprint_digest");
    const EVP_MD *md = EVP_get_digestbyname(digest);
    if (md == NULL) {
        *err = xasprintf("unsupported smtpd_tls_fingerprint_digest value: %s", digest);
        return NULL;
    }
    struct tls_protocols proto;
    const char *proto_param = enforce ? "smtpd_tls_mandatory_protocols" : "smtpd_tls_protocols";
    char *why = NULL;
    if (tls_parse_protocols(config_get(cfg, proto_param), &proto, &why) == -1) {
        *err = xasprintf("%s: %s", proto_param, why);
        free(why);
        return NULL;
    }

    struct tls_server *t = xcalloc(1, sizeof(*t));
    t->md = md;
    t->require_ccert = enforce && config_get_bool(cfg, "smtpd_tls_req_ccert");
    t->ask_ccert = t->require_ccert || config_get_bool(cfg, "smtpd_tls_ask_ccert");
    tls_conn_index();
    ERR_clear_error();
    t->ctx = SSL_CTX_new(TLS_server_method());
    if (t->ctx == NULL) {
        openssl_error(err, xstrdup("cannot make a TLS server context"));
        free(t);
        return NULL;
    }

    int loaded = load_certificates(t->ctx, cfg, err);
    if (loaded <= 0) {
        if (loaded == 0 && enforce)
            *err = xasprintf("TLS is required (%s), but no server certificate is configured "
                             "(smtpd_tls_chain_files or smtpd_tls_cert_file)",
                             *level ? "smtpd_tls_security_level = encrypt"
                                    : "smtpd_tls_wrappermode or smtpd_enforce_tls");
        tls_server_free(t);
        return NULL;
    }

    /* protocols */
    SSL_CTX_set_min_proto_version(t->ctx, proto.min_version);
    SSL_CTX_set_max_proto_version(t->ctx, proto.max_version);
    uint64_t ops = SSL_OP_ALL | SSL_OP_NO_COMPRESSION | proto.no_options | extra_options(cfg);
    if (config_get_bool(cfg, "tls_preempt_cipherlist"))
        ops |= SSL_OP_CIPHER_SERVER_PREFERENCE;

    /* ciphers: the grade, its exclusions, and no anonymous ones when
     * certificates are asked for */
    struct buf excl;
    buf_init(&excl);
    buf_puts(&excl, config_get(cfg, "smtpd_tls_exclude_ciphers"));
    if (enforce)
        buf_printf(&excl, " %s", config_get(cfg, "smtpd_tls_mandatory_exclude_ciphers"));
    if (t->ask_ccert)
        buf_puts(&excl, " aNULL");
    const char *grade_param = enforce ? "smtpd_tls_mandatory_ciphers" : "smtpd_tls_ciphers";
    const char *grade = config_get(cfg, grade_param);
    char *list = tls_cipher_list(cfg, grade, buf_cstr(&excl), &why);
    buf_free(&excl);
    if (list == NULL) {
        *err = xasprintf("%s: %s", grade_param, why);
        free(why);
        tls_server_free(t);
        return NULL;
    }
    if (SSL_CTX_set_cipher_list(t->ctx, list) != 1) {
        openssl_error(err, xasprintf("error setting cipher grade \"%s\" (%s)", grade, list));
        free(list);
        tls_server_free(t);
        return NULL;
    }
    free(list);

    if (load_dh(t->ctx, cfg, err) == -1 || client_certificates(t, cfg, err) == -1) {
        tls_server_free(t);
        return NULL;
    }
    set_groups(t->ctx, cfg);

    /* no server-side session cache; tickets only when asked for explicitly */
    SSL_CTX_set_session_cache_mode(t->ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_session_id_context(t->ctx, (const unsigned char *) "postern", 7);
    long lifetime = config_get_time(cfg, "smtpd_tls_session_cache_timeout");
    if (config_is_set(cfg, "tls_session_ticket_cipher") &&
        *config_get(cfg, "tls_session_ticket_cipher") && lifetime > 0) {
        SSL_CTX_set_timeout(t->ctx, lifetime);
    } else {
        ops |= SSL_OP_NO_TICKET;
        SSL_CTX_set_num_tickets(t->ctx, 0);
    }
    SSL_CTX_set_options(t->ctx, ops);
    ERR_clear_error();
    return t;
}

void tls_server_free(struct tls_server *t)
{
    if (t == NULL)
        return;
    SSL_CTX_free(t->ctx);
    free(t);
}

bool tls_server_require_ccert(const struct tls_server *t)
{
    return t->require_ccert;
}
