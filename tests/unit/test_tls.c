/*
 * Unit tests: tls.  Certificates come from scripts/make-test-cert.sh at test
 * time.  The context from good and bad files, protocol and cipher
 * parameters, and real handshakes over a socketpair: a libevent TLS server
 * bufferevent (implicit TLS and STARTTLS) against an OpenSSL client on a
 * thread, with and without a client certificate, checking
 * tls_session_info() and tls_received_text() (and fingerprints against the
 * openssl command).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "testutil.h"
#include "tls/tls.h"

#ifndef POSTERN_SOURCE_ROOT
#define POSTERN_SOURCE_ROOT "."
#endif

static struct event_base *base;
static char *server_dir, *ec_dir, *client_dir, *other_dir;

static const char *source_root(void)
{
    const char *env = getenv("POSTERN_SOURCE_ROOT");
    return env ? env : POSTERN_SOURCE_ROOT;
}

static char *make_cert(const char *name, const char *cn, const char *kind)
{
    char *dir = xasprintf("%s/%s", test_tmpdir(), name);
    char *cmd =
        xasprintf("'%s/scripts/make-test-cert.sh' '%s' '%s' %s", source_root(), dir, cn, kind);
    int rc = system(cmd);
    free(cmd);
    if (rc != 0) {
        fprintf(stderr, "test_tls: make-test-cert.sh failed\n");
        exit(1);
    }
    return dir;
}

static char *path_in(const char *dir, const char *file)
{
    return xasprintf("%s/%s", dir, file);
}

/* command_line - the first line of a shell command's output */
static char *command_line(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[1024] = "";
    char *got = fgets(line, sizeof(line), p);
    pclose(p);
    assert_non_null(got);
    line[strcspn(line, "\n")] = 0;
    return xstrdup(line);
}

static struct config *tls_config(const char *dir)
{
    struct config *cfg = config_new(test_tmpdir(), NULL);
    /* as Debian's main.cf: smtpd_tls_fingerprint_digest is then sha256 */
    config_set(cfg, "compatibility_level", "3.6", NULL, 0);
    if (dir) {
        char *cert = path_in(dir, "cert.pem"), *key = path_in(dir, "key.pem");
        config_set(cfg, "smtpd_tls_cert_file", cert, NULL, 0);
        config_set(cfg, "smtpd_tls_key_file", key, NULL, 0);
        free(cert);
        free(key);
    }
    return cfg;
}

static struct tls_server *server_from(struct config *cfg)
{
    char *err = NULL;
    struct tls_server *t = tls_server_new(cfg, &err);
    if (t == NULL)
        fail_msg("tls_server_new: %s", err ? err : "(no error)");
    return t;
}

/* expect_error - tls_server_new fails with a message containing want */
static void expect_error(struct config *cfg, const char *want)
{
    char *err = NULL;
    struct tls_server *t = tls_server_new(cfg, &err);
    if (t != NULL)
        fail_msg("accepted; wanted an error with \"%s\"", want);
    if (err == NULL || strstr(err, want) == NULL)
        fail_msg("error \"%s\" lacks \"%s\"", err ? err : "(none)", want);
    free(err);
}

/* ---- contexts ---- */

static void test_context_from_files(void **state)
{
    /* nothing configured: no TLS, and no error */
    struct config *cfg = tls_config(NULL);
    char *err = NULL;
    assert_null(tls_server_new(cfg, &err));
    assert_null(err);
    config_free(cfg);

    cfg = tls_config(server_dir);
    struct tls_server *t = server_from(cfg);
    assert_false(tls_server_require_ccert(t));
    tls_server_free(t);
    config_free(cfg);

    /* key and certificate in one file: key_file defaults to $smtpd_tls_cert_file */
    cfg = config_new(test_tmpdir(), NULL);
    char *chain = path_in(server_dir, "chain.pem");
    config_set(cfg, "smtpd_tls_cert_file", chain, NULL, 0);
    t = server_from(cfg);
    tls_server_free(t);
    config_free(cfg);

    /* the chain-files form, one file or key and certificate apart; RSA and ECDSA */
    cfg = config_new(test_tmpdir(), NULL);
    char *both = xasprintf("%s/key.pem, %s/cert.pem %s/chain.pem", server_dir, server_dir, ec_dir);
    config_set(cfg, "smtpd_tls_chain_files", both, NULL, 0);
    t = server_from(cfg);
    tls_server_free(t);
    config_free(cfg);

    /* security levels */
    cfg = tls_config(server_dir);
    config_set(cfg, "smtpd_tls_security_level", "encrypt", NULL, 0);
    config_set(cfg, "smtpd_tls_req_ccert", "yes", NULL, 0);
    t = server_from(cfg);
    assert_true(tls_server_require_ccert(t));
    tls_server_free(t);
    config_set(cfg, "smtpd_tls_security_level", "may", NULL, 0);
    t = server_from(cfg);
    assert_false(tls_server_require_ccert(t)); /* req_ccert needs level encrypt */
    tls_server_free(t);
    config_free(cfg);

    free(chain);
    free(both);
}

static void test_bad_files(void **state)
{
    char *missing = path_in(test_tmpdir(), "no-such.pem");
    char *cert = path_in(server_dir, "cert.pem"), *key = path_in(server_dir, "key.pem");
    char *other_key = path_in(other_dir, "key.pem");
    char *junk = test_write_file("junk.pem", "this is not PEM\n");
    char *bad_pem = test_write_file("bad.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n"
                                               "-----END CERTIFICATE-----\n");

    struct config *cfg = config_new(test_tmpdir(), NULL);
    config_set(cfg, "smtpd_tls_cert_file", missing, NULL, 0);
    config_set(cfg, "smtpd_tls_key_file", key, NULL, 0);
    char *want =
        xasprintf("cannot read smtpd_tls_cert_file %s: No such file or directory", missing);
    expect_error(cfg, want);
    free(want);

    config_set(cfg, "smtpd_tls_cert_file", cert, NULL, 0);
    config_set(cfg, "smtpd_tls_key_file", missing, NULL, 0);
    want = xasprintf("cannot read smtpd_tls_key_file %s", missing);
    expect_error(cfg, want);
    free(want);

    config_set(cfg, "smtpd_tls_key_file", junk, NULL, 0);
    want = xasprintf("smtpd_tls_key_file %s: no PEM data", junk);
    expect_error(cfg, want);
    free(want);

    config_set(cfg, "smtpd_tls_key_file", cert, NULL, 0);
    want = xasprintf("no private key in smtpd_tls_key_file %s", cert);
    expect_error(cfg, want);
    free(want);

    config_set(cfg, "smtpd_tls_cert_file", key, NULL, 0);
    config_set(cfg, "smtpd_tls_key_file", key, NULL, 0);
    want = xasprintf("no certificate in smtpd_tls_cert_file %s", key);
    expect_error(cfg, want);
    free(want);

    config_set(cfg, "smtpd_tls_cert_file", bad_pem, NULL, 0);
    want = xasprintf("bad certificate in smtpd_tls_cert_file %s", bad_pem);
    expect_error(cfg, want);
    free(want);

    config_set(cfg, "smtpd_tls_cert_file", cert, NULL, 0);
    config_set(cfg, "smtpd_tls_key_file", other_key, NULL, 0);
    want = xasprintf("the private key in %s does not match the certificate in %s", other_key, cert);
    expect_error(cfg, want);
    free(want);
    config_free(cfg);

    /* chain files: order matters */
    cfg = config_new(test_tmpdir(), NULL);
    char *list = xasprintf("%s %s", cert, key);
    config_set(cfg, "smtpd_tls_chain_files", list, NULL, 0);
    want = xasprintf("smtpd_tls_chain_files: certificate before any private key in %s", cert);
    expect_error(cfg, want);
    free(want);
    free(list);
    config_set(cfg, "smtpd_tls_chain_files", key, NULL, 0);
    want = xasprintf("no certificate follows the private key in %s", key);
    expect_error(cfg, want);
    free(want);
    config_free(cfg);

    /* other parameters */
    cfg = tls_config(server_dir);
    config_set(cfg, "smtpd_tls_ask_ccert", "yes", NULL, 0);
    config_set(cfg, "smtpd_tls_CAfile", missing, NULL, 0);
    want = xasprintf("cannot read smtpd_tls_CAfile %s", missing);
    expect_error(cfg, want);
    free(want);
    config_free(cfg);

    cfg = tls_config(server_dir);
    config_set(cfg, "smtpd_tls_fingerprint_digest", "sha257", NULL, 0);
    expect_error(cfg, "unsupported smtpd_tls_fingerprint_digest value: sha257");
    config_free(cfg);

    cfg = tls_config(server_dir);
    config_set(cfg, "smtpd_tls_protocols", "!SSLv2, !TLSv4", NULL, 0);
    expect_error(cfg, "smtpd_tls_protocols: Invalid TLS protocol list \"!SSLv2, !TLSv4\"");
    config_set(cfg, "smtpd_tls_protocols", ">=TLSv1.2", NULL, 0);
    config_set(cfg, "smtpd_tls_ciphers", "strong", NULL, 0);
    expect_error(cfg, "smtpd_tls_ciphers: invalid cipher grade: \"strong\"");
    config_set(cfg, "smtpd_tls_ciphers", "high", NULL, 0);
    config_set(cfg, "smtpd_tls_security_level", "encrypt", NULL, 0);
    config_set(cfg, "smtpd_tls_mandatory_ciphers", "medium", NULL, 0);
    config_set(cfg, "smtpd_tls_mandatory_exclude_ciphers", "!RC4", NULL, 0);
    expect_error(cfg, "invalid unary '!+-@' in cipher exclusion: !RC4");
    config_set(cfg, "smtpd_tls_security_level", "dane", NULL, 0);
    expect_error(cfg, "invalid smtpd_tls_security_level value \"dane\"");
    config_free(cfg);

    cfg = tls_config(NULL);
    config_set(cfg, "smtpd_tls_security_level", "encrypt", NULL, 0);
    expect_error(cfg, "TLS is required (smtpd_tls_security_level = encrypt), but no server "
                      "certificate is configured");
    config_free(cfg);

    free(missing);
    free(cert);
    free(key);
    free(other_key);
    free(junk);
    free(bad_pem);
}

static void test_protocol_lists(void **state)
{
    struct tls_protocols p;
    char *err = NULL;
    assert_int_equal(tls_parse_protocols(">=TLSv1.2", &p, &err), 0);
    assert_int_equal(p.min_version, TLS1_2_VERSION);
    assert_int_equal(p.max_version, TLS1_3_VERSION);
    assert_true(p.no_options == 0);

    assert_int_equal(tls_parse_protocols("!SSLv2, !SSLv3", &p, &err), 0);
    assert_int_equal(p.min_version, TLS1_VERSION);
    assert_int_equal(p.max_version, TLS1_3_VERSION);
    assert_true(p.no_options == 0);

    assert_int_equal(tls_parse_protocols(">=TLSv1", &p, &err), 0); /* Postfix 3.7's default */
    assert_int_equal(p.min_version, TLS1_VERSION);

    assert_int_equal(tls_parse_protocols("TLSv1.2 TLSv1.3", &p, &err), 0);
    assert_int_equal(p.min_version, TLS1_2_VERSION);
    assert_int_equal(p.max_version, TLS1_3_VERSION);

    assert_int_equal(tls_parse_protocols("!SSLv3:!TLSv1.1", &p, &err), 0);
    assert_int_equal(p.min_version, TLS1_VERSION);
    assert_true(p.no_options == SSL_OP_NO_TLSv1_1); /* a hole in the range */

    assert_int_equal(tls_parse_protocols(">=TLSv1, <=TLSv1.2, !TLSv1", &p, &err), 0);
    assert_int_equal(p.min_version, TLS1_1_VERSION);
    assert_int_equal(p.max_version, TLS1_2_VERSION);

    assert_int_equal(tls_parse_protocols("", &p, &err), 0); /* everything */
    assert_int_equal(p.min_version, SSL3_VERSION);
    assert_int_equal(p.max_version, TLS1_3_VERSION);

    assert_int_equal(tls_parse_protocols("TLSv9", &p, &err), -1);
    assert_string_equal(err, "Invalid TLS protocol list \"TLSv9\": unknown protocol \"TLSv9\"");
    free(err);
    assert_int_equal(tls_parse_protocols(">=TLSv1.3, !TLSv1.3", &p, &err), -1);
    assert_string_equal(err, "Invalid TLS protocol list \">=TLSv1.3, !TLSv1.3\": no protocol "
                             "version left");
    free(err);
    assert_int_equal(tls_parse_protocols("tlsv1.2", &p, &err), -1); /* names are exact */
    free(err);
}

static void test_cipher_grades(void **state)
{
    struct config *cfg = config_new(test_tmpdir(), NULL);
    char *err = NULL;
    char *l = tls_cipher_list(cfg, "high", "", &err);
    assert_string_equal(l, "aNULL:-aNULL:HIGH:@STRENGTH");
    free(l);
    l = tls_cipher_list(cfg, "medium", "RC4, aNULL:MD5", &err);
    assert_string_equal(l, "aNULL:-aNULL:HIGH:MEDIUM:+RC4:@STRENGTH:!RC4:!aNULL:!MD5");
    free(l);
    l = tls_cipher_list(cfg, "low", NULL, &err);
    assert_string_equal(l, "aNULL:-aNULL:HIGH:MEDIUM:LOW:+RC4:@STRENGTH");
    free(l);
    l = tls_cipher_list(cfg, "export", NULL, &err);
    assert_string_equal(l, "aNULL:-aNULL:HIGH:MEDIUM:LOW:EXPORT:+RC4:@STRENGTH");
    free(l);
    l = tls_cipher_list(cfg, "null", NULL, &err);
    assert_string_equal(l, "eNULL:!aNULL");
    free(l);
    config_set(cfg, "tls_high_cipherlist", "ECDHE+AESGCM", NULL, 0);
    l = tls_cipher_list(cfg, "high", "SHA1", &err);
    assert_string_equal(l, "ECDHE+AESGCM:!SHA1");
    free(l);
    assert_null(tls_cipher_list(cfg, "HIGH", NULL, &err)); /* grades are lower case */
    assert_string_equal(err, "invalid cipher grade: \"HIGH\"");
    free(err);
    assert_null(tls_cipher_list(cfg, "high", "+RC4", &err));
    free(err);

    /* every grade makes a context OpenSSL accepts */
    config_free(cfg);
    cfg = tls_config(server_dir);
    static const char *const grades[] = {"high", "medium", "low", "export"};
    for (size_t i = 0; i < ARRAY_LEN(grades); i++) {
        config_set(cfg, "smtpd_tls_ciphers", grades[i], NULL, 0);
        struct tls_server *t = server_from(cfg);
        tls_server_free(t);
    }
    config_free(cfg);
}

/* ---- handshakes ---- */

struct client {
    int fd;
    const char *cert_dir; /* client certificate, or NULL */
    int max_version;
    bool starttls; /* plaintext STARTTLS (and an injected command) first */
    bool connected;
    char reply[128];
    char error[256];
};

static void *client_main(void *arg)
{
    struct client *cl = arg;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL *ssl = NULL;
    if (cl->max_version)
        SSL_CTX_set_max_proto_version(ctx, cl->max_version);
    if (cl->cert_dir) {
        char *cert = path_in(cl->cert_dir, "cert.pem"), *key = path_in(cl->cert_dir, "key.pem");
        SSL_CTX_use_certificate_chain_file(ctx, cert);
        SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM);
        free(cert);
        free(key);
    }
    if (cl->starttls) {
        /* a command sent after STARTTLS in the same packet must not survive */
        const char *cmds = "STARTTLS\r\nMAIL FROM:<injected@example>\r\n";
        if (write(cl->fd, cmds, strlen(cmds)) != (ssize_t) strlen(cmds))
            goto out;
        char got[64];
        size_t n = 0;
        while (n < sizeof(got) - 1) {
            if (read(cl->fd, got + n, 1) != 1)
                goto out;
            if (got[n++] == '\n')
                break;
        }
        got[n] = 0;
        if (strcmp(got, "220 2.0.0 Ready to start TLS\r\n") != 0)
            goto out;
    }
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, cl->fd);
    if (SSL_connect(ssl) != 1) {
        ERR_error_string_n(ERR_get_error(), cl->error, sizeof(cl->error));
        goto out;
    }
    cl->connected = true;
    SSL_write(ssl, "hello\r\n", 7);
    int n = SSL_read(ssl, cl->reply, sizeof(cl->reply) - 1);
    if (n > 0)
        cl->reply[n] = 0;
    SSL_shutdown(ssl);
out:
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    shutdown(cl->fd, SHUT_RDWR);
    return NULL;
}

struct server_side {
    struct tls_server *t;
    struct bufferevent *plain; /* STARTTLS: before the handshake */
    struct bufferevent *bev;
    bool connected, failed, closed;
    struct policy_tls info;
    bool have_info;
    char *received;
    char *log;
    char *line; /* the first line read under TLS */
    char *error;
};

static void server_read(struct bufferevent *bev, void *arg)
{
    struct server_side *sv = arg;
    size_t n;
    char *line = evbuffer_readln(bufferevent_get_input(bev), &n, EVBUFFER_EOL_CRLF);
    if (line && sv->line == NULL) {
        sv->line = line;
        bufferevent_write(bev, "bye\r\n", 5);
    } else {
        free(line);
    }
}

static void server_event(struct bufferevent *bev, short what, void *arg)
{
    struct server_side *sv = arg;
    if (what & BEV_EVENT_CONNECTED) {
        sv->connected = true;
        sv->have_info = tls_session_info(bev, &sv->info);
        sv->received = tls_received_text(bev);
        sv->log = tls_log_text(bev, "unknown[192.0.2.1]");
        return;
    }
    if (what & BEV_EVENT_ERROR) {
        sv->failed = true;
        free(sv->error);
        sv->error = tls_error_text(bev);
    }
    sv->closed = true;
}

/* plain_read - the STARTTLS server: one line, the reply, then TLS */
static void plain_read(struct bufferevent *bev, void *arg)
{
    struct server_side *sv = arg;
    size_t n;
    char *line = evbuffer_readln(bufferevent_get_input(bev), &n, EVBUFFER_EOL_CRLF);
    if (line == NULL)
        return;
    assert_string_equal(line, "STARTTLS");
    free(line);
    bufferevent_write(bev, "220 2.0.0 Ready to start TLS\r\n", 30);
    sv->bev = tls_wrap_bufferevent(sv->t, base, bev);
    assert_non_null(sv->bev);
    sv->plain = NULL;
    bufferevent_setcb(sv->bev, server_read, NULL, server_event, sv);
    bufferevent_enable(sv->bev, EV_READ | EV_WRITE);
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
}

/* handshake - run one session; the server side's findings in sv */
static void handshake(struct tls_server *t, struct client *cl, struct server_side *sv)
{
    int fds[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    evutil_make_socket_nonblocking(fds[0]);
    memset(sv, 0, sizeof(*sv));
    sv->t = t;
    if (cl->starttls) {
        sv->plain = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
        bufferevent_setcb(sv->plain, plain_read, NULL, server_event, sv);
        bufferevent_enable(sv->plain, EV_READ | EV_WRITE);
    } else {
        sv->bev = tls_wrap_socket(t, base, fds[0]);
        assert_non_null(sv->bev);
        bufferevent_setcb(sv->bev, server_read, NULL, server_event, sv);
        bufferevent_enable(sv->bev, EV_READ | EV_WRITE);
    }
    cl->fd = fds[1];
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, client_main, cl), 0);
    struct event *t_ev = event_new(base, -1, EV_PERSIST, tick, NULL);
    struct timeval tv = {0, 10000};
    event_add(t_ev, &tv);
    uint64_t end = clock_mono_us() + 10000000;
    while (!sv->closed && clock_mono_us() < end)
        event_base_loop(base, EVLOOP_ONCE);
    event_free(t_ev);
    pthread_join(th, NULL);
    close(fds[1]);
    assert_true(sv->closed);
}

static void server_side_free(struct server_side *sv)
{
    if (sv->bev)
        bufferevent_free(sv->bev);
    if (sv->plain)
        bufferevent_free(sv->plain);
    free(sv->received);
    free(sv->log);
    free(sv->line);
    free(sv->error);
}

static void test_handshake_no_client_cert(void **state)
{
    struct config *cfg = tls_config(server_dir);
    struct tls_server *t = server_from(cfg);
    struct client cl = {0};
    struct server_side sv;
    handshake(t, &cl, &sv);
    assert_true(cl.connected);
    assert_true(sv.connected);
    assert_string_equal(sv.line, "hello");
    assert_string_equal(cl.reply, "bye\r\n");
    assert_true(sv.have_info);
    assert_string_equal(sv.info.protocol, "TLSv1.3");
    assert_string_equal(sv.info.cipher, "TLS_AES_256_GCM_SHA384");
    assert_int_equal(sv.info.cipher_bits, 256);
    assert_false(sv.info.cert_present);
    assert_false(sv.info.cert_trusted);
    assert_null(sv.info.peer_cn);
    assert_null(sv.info.cert_fingerprint);
    assert_string_equal(sv.received,
                        "(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)\r\n"
                        "\t key-exchange X25519 server-signature RSA-PSS (2048 bits) "
                        "server-digest SHA256)\r\n"
                        "\t(No client certificate requested)");
    assert_string_equal(sv.log, "Anonymous TLS connection established from unknown[192.0.2.1]: "
                                "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) "
                                "key-exchange X25519 server-signature RSA-PSS (2048 bits) "
                                "server-digest SHA256");
    server_side_free(&sv);

    /* TLS 1.2: no key-exchange or signature details, as Postfix */
    struct client old = {.max_version = TLS1_2_VERSION};
    handshake(t, &old, &sv);
    assert_true(sv.connected);
    assert_string_equal(sv.info.protocol, "TLSv1.2");
    assert_string_equal(sv.log, "Anonymous TLS connection established from unknown[192.0.2.1]: "
                                "TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)");
    assert_string_equal(sv.received,
                        "(using TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits))\r\n"
                        "\t(No client certificate requested)");
    server_side_free(&sv);
    tls_server_free(t);

    /* an ECDSA server key */
    config_free(cfg);
    cfg = tls_config(ec_dir);
    t = server_from(cfg);
    struct client ec = {0};
    handshake(t, &ec, &sv);
    assert_true(sv.connected);
    assert_non_null(strstr(sv.received,
                           "\r\n\t key-exchange X25519 server-signature ECDSA (prime256v1) "
                           "server-digest SHA256)\r\n"));
    server_side_free(&sv);
    tls_server_free(t);
    config_free(cfg);
}

static void test_handshake_client_cert(void **state)
{
    char *client_cert = path_in(client_dir, "cert.pem");
    char *cmd = xasprintf("openssl x509 -in '%s' -noout -fingerprint -sha256", client_cert);
    char *fp_line = command_line(cmd); /* "sha256 Fingerprint=AB:..." */
    free(cmd);
    cmd = xasprintf("openssl x509 -in '%s' -noout -pubkey | openssl pkey -pubin -outform DER | "
                    "openssl dgst -sha256 -c",
                    client_cert);
    char *pk_line = command_line(cmd); /* "SHA2-256(stdin)= ab:cd:..." */
    free(cmd);
    char *want_fp = xstrdup(strchr(fp_line, '=') + 1);
    char *want_pk = xstrdup(strstr(pk_line, "= ") + 2);
    str_upper(want_pk);

    /* asked for, trusted: the client's self-signed certificate is the CA */
    struct config *cfg = tls_config(server_dir);
    config_set(cfg, "smtpd_tls_ask_ccert", "yes", NULL, 0);
    config_set(cfg, "smtpd_tls_CAfile", client_cert, NULL, 0);
    struct tls_server *t = server_from(cfg);
    struct client cl = {.cert_dir = client_dir};
    struct server_side sv;
    handshake(t, &cl, &sv);
    assert_true(sv.connected);
    assert_true(sv.info.cert_present);
    assert_true(sv.info.cert_trusted);
    assert_string_equal(sv.info.peer_cn, "client.example");
    assert_string_equal(sv.info.issuer_cn, "client.example");
    assert_string_equal(sv.info.cert_fingerprint, want_fp);
    assert_string_equal(sv.info.pkey_fingerprint, want_pk);
    assert_string_equal(sv.received,
                        "(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)\r\n"
                        "\t key-exchange X25519 server-signature RSA-PSS (2048 bits) "
                        "server-digest SHA256\r\n"
                        "\t client-signature RSA-PSS (2048 bits) client-digest SHA256)\r\n"
                        "\t(Client CN \"client.example\", Issuer \"client.example\" "
                        "(verified OK))");
    assert_string_equal(sv.log, "Trusted TLS connection established from unknown[192.0.2.1]: "
                                "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) "
                                "key-exchange X25519 server-signature RSA-PSS (2048 bits) "
                                "server-digest SHA256 client-signature RSA-PSS (2048 bits) "
                                "client-digest SHA256");
    server_side_free(&sv);

    /* asked for, not sent */
    struct client anon = {0};
    handshake(t, &anon, &sv);
    assert_true(sv.connected);
    assert_false(sv.info.cert_present);
    assert_non_null(strstr(sv.received, ")\r\n\t(Client did not present a certificate)"));
    server_side_free(&sv);
    tls_server_free(t);

    /* a certificate nobody vouches for */
    config_set(cfg, "smtpd_tls_CAfile", "", NULL, 0);
    t = server_from(cfg);
    struct client untrusted = {.cert_dir = client_dir};
    handshake(t, &untrusted, &sv);
    assert_true(sv.connected);
    assert_true(sv.info.cert_present);
    assert_false(sv.info.cert_trusted);
    assert_string_equal(sv.info.cert_fingerprint, want_fp);
    assert_non_null(strstr(sv.received, "(Client CN \"client.example\", Issuer "
                                        "\"client.example\" (not verified))"));
    assert_non_null(strstr(sv.log, "Untrusted TLS connection established from "));
    server_side_free(&sv);
    tls_server_free(t);

    /* names are made safe for a header comment; an ECDSA client key */
    char *evil_dir = path_in(test_tmpdir(), "evil");
    cmd = xasprintf("mkdir -p '%s' && openssl req -x509 -newkey ec -pkeyopt "
                    "ec_paramgen_curve:P-256 -nodes -days 1 -subj '/CN=evil) (x\\\\y' "
                    "-keyout '%s/key.pem' -out '%s/cert.pem' 2>/dev/null",
                    evil_dir, evil_dir, evil_dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    struct client evil = {.cert_dir = evil_dir};
    t = server_from(cfg);
    handshake(t, &evil, &sv);
    assert_true(sv.connected);
    assert_string_equal(sv.info.peer_cn, "evil) (x\\y");
    assert_non_null(
        strstr(sv.received, "\t client-signature ECDSA (prime256v1) client-digest SHA256)"));
    assert_non_null(strstr(sv.received, "(Client CN \"evil? (x?y)\", Issuer \"evil? (x?y)\" "
                                        "(not verified))"));
    server_side_free(&sv);
    tls_server_free(t);
    free(evil_dir);

    /* below compatibility_level 3.6 the default digest is md5, as in Postfix */
    config_set(cfg, "compatibility_level", "2", NULL, 0);
    t = server_from(cfg);
    handshake(t, &untrusted, &sv);
    assert_int_equal(strlen(sv.info.cert_fingerprint), 16 * 3 - 1);
    server_side_free(&sv);
    tls_server_free(t);

    /* not asked for: a client certificate is not even requested */
    config_free(cfg);
    cfg = tls_config(server_dir);
    t = server_from(cfg);
    handshake(t, &untrusted, &sv);
    assert_true(sv.connected);
    assert_false(sv.info.cert_present);
    server_side_free(&sv);
    tls_server_free(t);
    config_free(cfg);

    free(client_cert);
    free(fp_line);
    free(pk_line);
    free(want_fp);
    free(want_pk);
}

static void test_starttls_and_failures(void **state)
{
    struct config *cfg = tls_config(server_dir);
    struct tls_server *t = server_from(cfg);
    /* STARTTLS: the command pipelined after it is discarded */
    struct client cl = {.starttls = true};
    struct server_side sv;
    handshake(t, &cl, &sv);
    assert_true(sv.connected);
    assert_string_equal(sv.line, "hello");
    assert_string_equal(sv.info.protocol, "TLSv1.3");
    server_side_free(&sv);

    /* tls_session_info on something that is not TLS */
    struct bufferevent *plain = bufferevent_socket_new(base, -1, 0);
    struct policy_tls info;
    assert_false(tls_session_info(plain, &info));
    assert_null(tls_received_text(plain));
    bufferevent_free(plain);
    tls_server_free(t);

    /* protocol floor above what the client speaks: the handshake fails */
    config_set(cfg, "smtpd_tls_protocols", ">=TLSv1.3", NULL, 0);
    t = server_from(cfg);
    struct client old = {.max_version = TLS1_2_VERSION};
    handshake(t, &old, &sv);
    assert_false(old.connected);
    assert_false(sv.connected);
    assert_true(sv.failed);
    assert_non_null(sv.error);
    assert_non_null(strstr(sv.error, "protocol"));
    server_side_free(&sv);
    tls_server_free(t);

    /* the mandatory settings apply at level encrypt */
    config_set(cfg, "smtpd_tls_protocols", ">=TLSv1", NULL, 0);
    config_set(cfg, "smtpd_tls_security_level", "encrypt", NULL, 0);
    config_set(cfg, "smtpd_tls_mandatory_protocols", "TLSv1.3", NULL, 0);
    t = server_from(cfg);
    handshake(t, &old, &sv);
    assert_false(sv.connected);
    server_side_free(&sv);
    tls_server_free(t);
    config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_context_from_files),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_protocol_lists),
        cmocka_unit_test(test_cipher_grades),
        cmocka_unit_test(test_handshake_no_client_cert),
        cmocka_unit_test(test_handshake_client_cert),
        cmocka_unit_test(test_starttls_and_failures),
    };
    base = event_base_new();
    server_dir = make_cert("server", "mx.example", "rsa");
    ec_dir = make_cert("server-ec", "mx.example", "ec");
    client_dir = make_cert("client", "client.example", "rsa");
    other_dir = make_cert("other", "other.example", "rsa");
    int failed = cmocka_run_group_tests_name("tls", tests, NULL, NULL);
    free(server_dir);
    free(ec_dir);
    free(client_dir);
    free(other_dir);
    event_base_free(base);
    return failed;
}
