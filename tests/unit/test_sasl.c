/*
 * Unit tests: sasl.  The parsers (strict base64, PLAIN, security options,
 * the mechanism filter) directly; the passwd-file back end through the
 * public interface with hashes of every scheme made at test time (libcrypt
 * and mkpasswd); the verification thread pool; and the Dovecot back end
 * against a real Dovecot started by tests/lib/dovecot-server.sh in a
 * private directory, including a stop and a restart.
 */
#include <crypt.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "sasl/sasl_int.h"
#include "testutil.h"

#ifndef POSTERN_SOURCE_ROOT
#define POSTERN_SOURCE_ROOT "."
#endif

static struct event_base *base;

static const char *source_root(void)
{
    const char *env = getenv("POSTERN_SOURCE_ROOT");
    return env ? env : POSTERN_SOURCE_ROOT;
}

/* ---- helpers ---- */

struct outcome {
    int calls;
    enum sasl_status status;
    enum sasl_error error;
    char *challenge;
    char *username;
    char *reason;
    struct sasl_session **free_me; /* free the session from the callback */
};

static void outcome_clear(struct outcome *o)
{
    free(o->challenge);
    free(o->username);
    free(o->reason);
    memset(o, 0, sizeof(*o));
}

static void on_done(void *arg, struct sasl_result *r)
{
    struct outcome *o = arg;
    o->calls++;
    o->status = r->status;
    o->error = r->error;
    free(o->challenge);
    free(o->username);
    free(o->reason);
    o->challenge = r->challenge ? xstrdup(r->challenge) : NULL;
    o->username = r->username ? xstrdup(r->username) : NULL;
    o->reason = r->reason ? xstrdup(r->reason) : NULL;
    if (o->free_me && *o->free_me) {
        sasl_session_free(*o->free_me);
        *o->free_me = NULL;
    }
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
}

/* pump - run the loop until *counter reaches want or max_ms pass */
static void pump(const int *counter, int want, int max_ms)
{
    struct event *t = event_new(base, -1, EV_PERSIST, tick, NULL);
    struct timeval tv = {0, 10000};
    event_add(t, &tv);
    uint64_t end = clock_mono_us() + (uint64_t) max_ms * 1000;
    while (*counter < want && clock_mono_us() < end)
        event_base_loop(base, EVLOOP_ONCE);
    event_free(t);
}

static void pump_ms(int ms)
{
    int never = 0;
    pump(&never, 1, ms);
}

/*
 * auth - one whole exchange: start, then answer each challenge with the
 * next of steps (NULL-terminated) until a final result or no steps are
 * left.  challenges (may be NULL) collects the challenges seen.
 */
static enum sasl_status auth(struct sasl_server *s, const char *mech, const char *ir,
                             const char *const *steps, bool tls, struct outcome *o,
                             struct strlist *challenges)
{
    outcome_clear(o);
    struct sasl_session *ss = sasl_start(s, mech, ir, "192.0.2.1", "192.0.2.25", tls, on_done, o);
    assert_int_equal(o->calls, 0); /* never from inside sasl_start */
    size_t i = 0;
    for (;;) {
        int want = o->calls + 1;
        pump(&o->calls, want, 10000);
        assert_int_equal(o->calls, want);
        if (o->status != SASL_CONTINUE)
            break;
        if (challenges)
            strlist_add(challenges, o->challenge);
        if (steps == NULL || steps[i] == NULL)
            break;
        sasl_step(ss, steps[i++]);
        assert_int_equal(o->calls, want); /* nor from inside sasl_step */
    }
    sasl_session_free(ss);
    return o->status;
}

static char *plain_b64(const char *authzid, const char *authcid, const char *passwd)
{
    struct buf b;
    buf_init(&b);
    buf_puts(&b, authzid);
    buf_putc(&b, 0);
    buf_puts(&b, authcid);
    buf_putc(&b, 0);
    buf_puts(&b, passwd);
    char *out = sasl_b64_encode(b.data, b.len);
    buf_free(&b);
    return out;
}

static char *b64(const char *s)
{
    return sasl_b64_encode(s, strlen(s));
}

/* plain_auth - AUTH PLAIN with an initial response */
static enum sasl_status plain_auth(struct sasl_server *s, const char *user, const char *pw,
                                   struct outcome *o)
{
    char *ir = plain_b64("", user, pw);
    enum sasl_status st = auth(s, "PLAIN", ir, NULL, false, o, NULL);
    free(ir);
    return st;
}

/* login_auth - AUTH LOGIN answering both challenges */
static enum sasl_status login_auth(struct sasl_server *s, const char *user, const char *pw,
                                   struct outcome *o, struct strlist *challenges)
{
    char *u = b64(user), *p = b64(pw);
    const char *steps[] = {u, p, NULL};
    enum sasl_status st = auth(s, "LOGIN", NULL, steps, false, o, challenges);
    free(u);
    free(p);
    return st;
}

static char *make_hash(const char *prefix, unsigned long count, const char *password)
{
    char setting[CRYPT_GENSALT_OUTPUT_SIZE];
    assert_non_null(crypt_gensalt_rn(prefix, count, NULL, 0, setting, sizeof(setting)));
    struct crypt_data *d = xcalloc(1, sizeof(*d));
    const char *h = crypt_rn(password, setting, d, sizeof(*d));
    assert_non_null(h);
    char *out = xstrdup(h);
    free(d);
    return out;
}

/* mkpasswd_hash - an independent generator: mkpasswd(1) from whois */
static char *mkpasswd_hash(const char *method, const char *password)
{
    char *cmd = xasprintf("mkpasswd -m %s '%s'", method, password);
    FILE *p = popen(cmd, "r");
    free(cmd);
    assert_non_null(p);
    char line[512] = "";
    char *got = fgets(line, sizeof(line), p);
    pclose(p);
    assert_non_null(got);
    line[strcspn(line, "\n")] = 0;
    assert_true(line[0] == '$');
    return xstrdup(line);
}

static struct config *sasl_config(const char *type, const char *path)
{
    struct config *cfg = config_new(test_tmpdir(), NULL);
    config_set(cfg, "smtpd_sasl_type", type, NULL, 0);
    config_set(cfg, "smtpd_sasl_path", path, NULL, 0);
    return cfg;
}

static struct sasl_server *passwd_server(const char *path, struct config **cfgp)
{
    struct config *cfg = sasl_config("passwd-file", path);
    char *err = NULL;
    struct sasl_server *s = sasl_server_new(base, cfg, &err);
    if (s == NULL)
        fail_msg("sasl_server_new: %s", err);
    *cfgp = cfg;
    return s;
}

/* replace_file - write text to path through a new inode (rename) */
static void replace_file(const char *path, const char *text)
{
    char *tmp = xasprintf("%s.new", path);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(rename(tmp, path), 0);
    free(tmp);
}

/* ---- parsers ---- */

static void test_base64_strict(void **state)
{
    struct buf out;
    buf_init(&out);
    assert_int_equal(sasl_b64_decode("", 0, 100, &out), 0);
    assert_int_equal(out.len, 0);
    assert_int_equal(sasl_b64_decode("AA==", 4, 100, &out), 0);
    assert_int_equal(out.len, 1);
    assert_int_equal(out.data[0], 0);
    assert_int_equal(sasl_b64_decode("AGFsaWNlAGFsaWNlcHc=", 20, 100, &out), 0);
    assert_int_equal(out.len, 14);
    assert_memory_equal(out.data, "\0alice\0alicepw", 14);
    assert_int_equal(sasl_b64_decode("VXNlcm5hbWU6", 12, 100, &out), 0);
    assert_string_equal(out.data, "Username:");

    static const char *bad[] = {
        "A",
        "AB",
        "ABC", /* not a multiple of 4 */
        "AB=C",
        "A===",
        "====", /* padding in the wrong place */
        "AB==AAAA",
        "AA=A", /* padding before the end */
        "AB==",
        "AAB=", /* non-zero bits under the padding */
        "AA AA==",
        "AAAA\n",
        "AA\tA", /* white space */
        "-_AA",
        "AA.A",
        "AA\x80"
        "A", /* not the standard alphabet */
        "=",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        if (sasl_b64_decode(bad[i], strlen(bad[i]), 100, &out) != -1)
            fail_msg("accepted \"%s\"", bad[i]);
    }
    /* limits: input length, decoded length */
    char *big = xcalloc(SASL_RESPONSE_MAX + 5, 1);
    memset(big, 'A', SASL_RESPONSE_MAX + 4);
    assert_int_equal(sasl_b64_decode(big, SASL_RESPONSE_MAX + 4, 1u << 20, &out), -2);
    assert_int_equal(sasl_b64_decode(big, 400, 299, &out), -2);
    assert_int_equal(sasl_b64_decode(big, 400, 300, &out), 0);
    free(big);

    /* encode: every length round-trips and matches the known forms */
    unsigned char data[64];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (unsigned char) (i * 37 + 11);
    for (size_t n = 0; n <= sizeof(data); n++) {
        char *e = sasl_b64_encode(data, n);
        assert_int_equal(strlen(e), (n + 2) / 3 * 4);
        assert_int_equal(sasl_b64_decode(e, strlen(e), 100, &out), 0);
        assert_int_equal(out.len, n);
        assert_memory_equal(out.data, data, n);
        free(e);
    }
    char *e = sasl_b64_encode("Password:", 9);
    assert_string_equal(e, "UGFzc3dvcmQ6");
    free(e);
    buf_free(&out);
}

static void test_plain_message(void **state)
{
    struct sasl_plain p;
    const char *why;
    assert_int_equal(sasl_plain_parse("\0alice\0pw", 9, &p, &why), 0);
    assert_int_equal(p.authzid_len, 0);
    assert_int_equal(p.authcid_len, 5);
    assert_memory_equal(p.authcid, "alice", 5);
    assert_int_equal(p.passwd_len, 2);
    assert_memory_equal(p.passwd, "pw", 2);
    assert_int_equal(sasl_plain_parse("bob\0alice\0pw", 12, &p, &why), 0);
    assert_int_equal(p.authzid_len, 3);

    assert_int_equal(sasl_plain_parse("alice\0pw", 8, &p, &why), -1);
    assert_int_equal(sasl_plain_parse("alicepw", 7, &p, &why), -1);
    assert_int_equal(sasl_plain_parse("\0alice\0p\0w", 11, &p, &why), -1);
    assert_int_equal(sasl_plain_parse("\0\0pw", 4, &p, &why), -1);
    assert_string_equal(why, "Invalid PLAIN response: empty user name");
    assert_int_equal(sasl_plain_parse("\0alice\0", 7, &p, &why), -1);
    assert_int_equal(sasl_plain_parse("", 0, &p, &why), -1);

    char long_msg[2 + SASL_AUTHID_MAX + 1 + 2];
    memset(long_msg, 'a', sizeof(long_msg));
    long_msg[0] = 0;
    long_msg[SASL_AUTHID_MAX + 2] = 0;
    assert_int_equal(sasl_plain_parse(long_msg, sizeof(long_msg), &p, &why), -2);
}

static void test_security_options(void **state)
{
    unsigned mask;
    char *err = NULL;
    assert_int_equal(sasl_security_parse("x", "", &mask, &err), 0);
    assert_int_equal(mask, 0);
    assert_int_equal(sasl_security_parse("x", "noanonymous, NoPlaintext", &mask, &err), 0);
    assert_int_equal(mask, SASL_PROP_ANONYMOUS | SASL_PROP_PLAINTEXT);
    assert_int_equal(
        sasl_security_parse("smtpd_sasl_security_options", "noanonymous, nosuch", &mask, &err), -1);
    assert_string_equal(err, "unknown smtpd_sasl_security_options value \"nosuch\" in "
                             "\"noanonymous, nosuch\"");
    free(err);

    /* PLAIN and LOGIN are "plaintext" in Dovecot's words */
    assert_true(sasl_mech_allowed(SASL_PROP_PLAINTEXT, SASL_PROP_ANONYMOUS));
    assert_false(sasl_mech_allowed(SASL_PROP_PLAINTEXT, SASL_PROP_PLAINTEXT));
    assert_false(sasl_mech_allowed(SASL_PROP_ANONYMOUS, SASL_PROP_ANONYMOUS));
    assert_false(sasl_mech_allowed(SASL_PROP_PLAINTEXT, SASL_PROP_MUTUAL));
    assert_true(sasl_mech_allowed(SASL_PROP_MUTUAL | SASL_PROP_DICTIONARY, SASL_PROP_MUTUAL));
    assert_int_equal(sasl_dovecot_props("plaintext"), SASL_PROP_PLAINTEXT);
    assert_int_equal(sasl_dovecot_props("mutual-auth"), SASL_PROP_MUTUAL);
    assert_int_equal(sasl_dovecot_props("private"), SASL_PROP_PRIVATE);
    assert_int_equal(sasl_dovecot_props("something-new"), 0);
}

static void test_mechanism_filter(void **state)
{
    struct sasl_filter f;
    sasl_filter_init(&f, "!external, static:rest"); /* Postfix's default */
    assert_true(sasl_filter_match(&f, "PLAIN"));
    assert_true(sasl_filter_match(&f, "LOGIN"));
    assert_false(sasl_filter_match(&f, "EXTERNAL"));
    sasl_filter_free(&f);

    sasl_filter_init(&f, "plain");
    assert_true(sasl_filter_match(&f, "PLAIN"));
    assert_false(sasl_filter_match(&f, "LOGIN"));
    sasl_filter_free(&f);

    sasl_filter_init(&f, "!login, static:all");
    assert_true(sasl_filter_match(&f, "PLAIN"));
    assert_false(sasl_filter_match(&f, "LOGIN"));
    sasl_filter_free(&f);

    sasl_filter_init(&f, "");
    assert_false(sasl_filter_match(&f, "PLAIN"));
    sasl_filter_free(&f);
}

/* ---- passwd-file ---- */

struct scheme_user {
    const char *name;
    char *field; /* password field */
    const char *password;
};

static void test_passwd_file_schemes(void **state)
{
    struct scheme_user users[] = {
        {"plain", xstrdup("{PLAIN}plainpw"), "plainpw"},
        {"clear", xstrdup("{CLEAR} clear pw with spaces "), " clear pw with spaces "},
        {"yes", NULL, "yes-pw"},      /* {CRYPT} yescrypt */
        {"bare", NULL, "bare-pw"},    /* no scheme: crypt(3), yescrypt */
        {"sha512", NULL, "sha-pw"},   /* {SHA512-CRYPT}, by mkpasswd */
        {"sha256", NULL, "sha256pw"}, /* {SHA256-CRYPT} */
        {"md5", NULL, "md5pw"},       /* {MD5-CRYPT} */
        {"blf", NULL, "blf-pw"},      /* {BLF-CRYPT} bcrypt */
        {"mkyes", NULL, "mk-yes"},    /* yescrypt by mkpasswd */
    };
    char *h;
    h = make_hash("$y$", 0, "yes-pw");
    users[2].field = xasprintf("{CRYPT}%s", h);
    free(h);
    users[3].field = make_hash("$y$", 0, "bare-pw");
    h = mkpasswd_hash("sha512crypt", "sha-pw");
    users[4].field = xasprintf("{SHA512-CRYPT}%s", h);
    free(h);
    h = make_hash("$5$", 0, "sha256pw");
    users[5].field = xasprintf("{SHA256-CRYPT}%s", h);
    free(h);
    h = make_hash("$1$", 0, "md5pw");
    users[6].field = xasprintf("{MD5-CRYPT}%s", h);
    free(h);
    h = make_hash("$2b$", 5, "blf-pw");
    users[7].field = xasprintf("{BLF-CRYPT}%s", h);
    free(h);
    users[8].field = mkpasswd_hash("yescrypt", "mk-yes");

    struct buf text;
    buf_init(&text);
    buf_puts(&text, "# comment\n\n");
    for (size_t i = 0; i < ARRAY_LEN(users); i++)
        buf_printf(&text, "%s:%s:1000:1000::/home/%s::\n", users[i].name, users[i].field,
                   users[i].name);
    buf_puts(&text, "weird:{SSHA512}abcdef\n");             /* unsupported scheme */
    buf_puts(&text, "mismatch:{SHA512-CRYPT}$1$abc$def\n"); /* scheme and hash disagree */
    buf_puts(&text, "nopass:\n");
    buf_puts(&text, "plain:{PLAIN}second-entry\n"); /* duplicate */
    buf_puts(&text, "no colon here\n");
    char *path = test_write_file("passwd-schemes", buf_cstr(&text));
    buf_free(&text);

    test_capture_begin();
    struct config *cfg;
    struct sasl_server *s = passwd_server(path, &cfg);
    char *warnings = test_capture_end();
    assert_non_null(strstr(warnings, "line 12: user weird: unsupported password scheme {SSHA512}"));
    assert_non_null(strstr(warnings, "line 13: user mismatch: not a usable {SHA512-CRYPT} hash"));
    assert_non_null(strstr(warnings, "line 15: duplicate entry for user plain"));
    assert_non_null(strstr(warnings, "line 16: expected \"user:password\""));
    free(warnings);

    assert_string_equal(sasl_mechanisms(s, false), "PLAIN LOGIN");
    assert_string_equal(sasl_mechanisms(s, true), "PLAIN LOGIN");

    struct outcome o = {0};
    for (size_t i = 0; i < ARRAY_LEN(users); i++) {
        if (plain_auth(s, users[i].name, users[i].password, &o) != SASL_OK)
            fail_msg("user %s (%s): %d %s", users[i].name, users[i].field, o.status,
                     o.reason ? o.reason : "");
        assert_string_equal(o.username, users[i].name);
        assert_null(o.reason);
        assert_int_equal(plain_auth(s, users[i].name, "wrong", &o), SASL_FAIL);
        assert_string_equal(o.username, users[i].name);
        assert_string_equal(o.reason, "(reason unavailable)");
        assert_int_equal(login_auth(s, users[i].name, users[i].password, &o, NULL), SASL_OK);
        assert_string_equal(o.username, users[i].name);
    }
    /* user names are case-sensitive; unknown users fail like wrong passwords */
    assert_int_equal(plain_auth(s, "Plain", "plainpw", &o), SASL_FAIL);
    assert_int_equal(plain_auth(s, "nobody", "x", &o), SASL_FAIL);
    assert_string_equal(o.reason, "(reason unavailable)");
    /* the first of duplicate entries counts */
    assert_int_equal(plain_auth(s, "plain", "second-entry", &o), SASL_FAIL);
    /* an empty password field never matches; unusable entries fail temporarily */
    assert_int_equal(plain_auth(s, "nopass", "x", &o), SASL_FAIL);
    assert_int_equal(plain_auth(s, "weird", "abcdef", &o), SASL_TEMPFAIL);
    assert_string_equal(o.reason, "Authentication backend unavailable");
    assert_int_equal(plain_auth(s, "mismatch", "x", &o), SASL_TEMPFAIL);

    outcome_clear(&o);
    sasl_server_free(s);
    config_free(cfg);
    for (size_t i = 0; i < ARRAY_LEN(users); i++)
        free(users[i].field);
    free(path);
}

static void test_mechanism_exchanges(void **state)
{
    char *h = make_hash("$y$", 0, "s3cret");
    char *text = xasprintf("alice:{PLAIN}alicepw\ncarol:%s\n", h);
    char *path = test_write_file("passwd-exchanges", text);
    free(h);
    free(text);
    struct config *cfg;
    struct sasl_server *s = passwd_server(path, &cfg);
    struct outcome o = {0};
    struct strlist ch;
    strlist_init(&ch);

    /* LOGIN: the two classic challenges, then the verdict */
    assert_int_equal(login_auth(s, "carol", "s3cret", &o, &ch), SASL_OK);
    assert_int_equal(ch.count, 2);
    assert_string_equal(ch.items[0], "VXNlcm5hbWU6");
    assert_string_equal(ch.items[1], "UGFzc3dvcmQ6");
    strlist_free(&ch);
    strlist_init(&ch);
    /* LOGIN with the user name as initial response; mechanism in lower case */
    char *u = b64("alice"), *p = b64("alicepw");
    const char *one[] = {p, NULL};
    assert_int_equal(auth(s, "login", u, one, false, &o, &ch), SASL_OK);
    assert_int_equal(ch.count, 1);
    assert_string_equal(ch.items[0], "UGFzc3dvcmQ6");
    strlist_free(&ch);
    strlist_init(&ch);
    /* PLAIN without initial response: an empty challenge */
    char *msg = plain_b64("", "alice", "alicepw");
    const char *plain_step[] = {msg, NULL};
    assert_int_equal(auth(s, "PLAIN", NULL, plain_step, false, &o, &ch), SASL_OK);
    assert_int_equal(ch.count, 1);
    assert_string_equal(ch.items[0], "");
    free(msg);
    /* authzid equal to authcid is fine, a different one is not */
    msg = plain_b64("alice", "alice", "alicepw");
    assert_int_equal(auth(s, "PLAIN", msg, NULL, false, &o, NULL), SASL_OK);
    free(msg);
    msg = plain_b64("carol", "alice", "alicepw");
    assert_int_equal(auth(s, "PLAIN", msg, NULL, false, &o, NULL), SASL_FAIL);
    assert_string_equal(o.reason, "Authorization identity differs from authentication identity");
    assert_string_equal(o.username, "alice");
    free(msg);

    /* "*" cancels, at any challenge */
    const char *cancel[] = {"*", NULL};
    assert_int_equal(auth(s, "LOGIN", NULL, cancel, false, &o, NULL), SASL_ERROR);
    assert_int_equal(o.error, SASL_ERR_ABORTED);
    assert_string_equal(o.reason, "Authentication aborted");
    const char *cancel2[] = {u, "*", NULL};
    assert_int_equal(auth(s, "LOGIN", NULL, cancel2, false, &o, NULL), SASL_ERROR);
    assert_int_equal(o.error, SASL_ERR_ABORTED);

    /* bad base64, initial and continued */
    assert_int_equal(auth(s, "PLAIN", "AGFsaWNl=AGFs", NULL, false, &o, NULL), SASL_ERROR);
    assert_int_equal(o.error, SASL_ERR_BASE64);
    assert_string_equal(o.reason, "Invalid base64 data in initial response");
    const char *bad_step[] = {"not base64!", NULL};
    assert_int_equal(auth(s, "LOGIN", NULL, bad_step, false, &o, NULL), SASL_ERROR);
    assert_int_equal(o.error, SASL_ERR_BASE64);
    assert_string_equal(o.reason, "Invalid base64 data in continued response");
    /* "=" is an empty initial response: for PLAIN a malformed message */
    assert_int_equal(auth(s, "PLAIN", "=", NULL, false, &o, NULL), SASL_ERROR);
    assert_int_equal(o.error, SASL_ERR_SYNTAX);
    /* over the limits */
    char *huge = xcalloc(SASL_RESPONSE_MAX + 9, 1);
    memset(huge, 'A', SASL_RESPONSE_MAX + 8);
    assert_int_equal(auth(s, "PLAIN", huge, NULL, false, &o, NULL), SASL_ERROR);
    assert_int_equal(o.error, SASL_ERR_TOO_LONG);
    free(huge);
    char long_user[SASL_AUTHID_MAX + 2];
    memset(long_user, 'u', sizeof(long_user) - 1);
    long_user[sizeof(long_user) - 1] = 0;
    msg = plain_b64("", long_user, "pw");
    assert_int_equal(auth(s, "PLAIN", msg, NULL, false, &o, NULL), SASL_ERROR);
    assert_int_equal(o.error, SASL_ERR_TOO_LONG);
    free(msg);
    /* a NUL inside a LOGIN answer */
    char *nul_user = sasl_b64_encode("al\0ice", 6);
    const char *nul_step[] = {nul_user, NULL};
    assert_int_equal(auth(s, "LOGIN", NULL, nul_step, false, &o, NULL), SASL_ERROR);
    assert_int_equal(o.error, SASL_ERR_SYNTAX);
    free(nul_user);
    /* mechanisms postern does not have */
    assert_int_equal(auth(s, "CRAM-MD5", NULL, NULL, false, &o, NULL), SASL_ERROR);
    assert_int_equal(o.error, SASL_ERR_MECHANISM);
    assert_string_equal(o.reason, "Invalid authentication mechanism");

    /* a step after the end, and a step while the check runs */
    outcome_clear(&o);
    msg = plain_b64("", "carol", "s3cret");
    struct sasl_session *ss = sasl_start(s, "PLAIN", msg, NULL, NULL, false, on_done, &o);
    sasl_step(ss, "AAAA"); /* the crypt(3) check is still running */
    pump(&o.calls, 2, 5000);
    assert_int_equal(o.calls, 2);
    assert_int_equal(o.status, SASL_OK); /* the in-flight verdict comes after */
    sasl_step(ss, "AAAA");
    pump(&o.calls, 3, 5000);
    assert_int_equal(o.status, SASL_ERROR);
    assert_int_equal(o.error, SASL_ERR_STATE);
    sasl_session_free(ss);

    /* free from inside the callback; free with a check in flight */
    outcome_clear(&o);
    ss = sasl_start(s, "PLAIN", msg, NULL, NULL, false, on_done, &o);
    o.free_me = &ss;
    pump(&o.calls, 1, 5000);
    assert_int_equal(o.status, SASL_OK);
    assert_null(ss);
    outcome_clear(&o);
    ss = sasl_start(s, "PLAIN", msg, NULL, NULL, false, on_done, &o);
    sasl_session_free(ss);
    pump_ms(300);
    assert_int_equal(o.calls, 0);
    free(msg);

    free(u);
    free(p);
    strlist_free(&ch);
    outcome_clear(&o);
    sasl_server_free(s);
    config_free(cfg);
    free(path);
}

static void test_security_options_offer(void **state)
{
    char *path = test_write_file("passwd-sec", "alice:{PLAIN}alicepw\n");
    struct config *cfg = sasl_config("passwd-file", path);
    config_set(cfg, "smtpd_sasl_security_options", "noanonymous, noplaintext", NULL, 0);
    config_set(cfg, "smtpd_sasl_tls_security_options", "noanonymous", NULL, 0);
    char *err = NULL;
    struct sasl_server *s = sasl_server_new(base, cfg, &err);
    assert_non_null(s);
    assert_string_equal(sasl_mechanisms(s, false), "");
    assert_string_equal(sasl_mechanisms(s, true), "PLAIN LOGIN");
    struct outcome o = {0};
    char *msg = plain_b64("", "alice", "alicepw");
    assert_int_equal(auth(s, "PLAIN", msg, NULL, false, &o, NULL), SASL_ERROR);
    assert_int_equal(o.error, SASL_ERR_MECHANISM);
    assert_int_equal(auth(s, "PLAIN", msg, NULL, true, &o, NULL), SASL_OK);
    sasl_server_free(s);

    /* the mechanism filter applies after the security options */
    config_set(cfg, "smtpd_sasl_mechanism_filter", "login", NULL, 0);
    s = sasl_server_new(base, cfg, &err);
    assert_string_equal(sasl_mechanisms(s, true), "LOGIN");
    assert_int_equal(auth(s, "PLAIN", msg, NULL, true, &o, NULL), SASL_ERROR);
    assert_int_equal(o.error, SASL_ERR_MECHANISM);
    sasl_server_free(s);
    config_free(cfg);

    /* configuration errors */
    cfg = sasl_config("passwd-file", path);
    config_set(cfg, "smtpd_sasl_tls_security_options", "noanonymous, bogus", NULL, 0);
    assert_null(sasl_server_new(base, cfg, &err));
    assert_non_null(strstr(err, "unknown smtpd_sasl_tls_security_options value \"bogus\""));
    free(err);
    config_free(cfg);
    cfg = sasl_config("cyrus", "smtpd");
    assert_null(sasl_server_new(base, cfg, &err));
    assert_non_null(strstr(err, "unsupported SASL server implementation: cyrus"));
    free(err);
    config_free(cfg);
    cfg = sasl_config("passwd-file", "no-such-file");
    assert_null(sasl_server_new(base, cfg, &err));
    char *want = xasprintf("cannot read passwd-file %s/no-such-file: No such file or directory",
                           test_tmpdir());
    assert_string_equal(err, want);
    free(want);
    free(err);
    config_free(cfg);

    outcome_clear(&o);
    free(msg);
    free(path);
}

static void test_passwd_file_reload(void **state)
{
    char *path = test_write_file("passwd-reload", "alice:{PLAIN}first\n");
    struct config *cfg;
    struct sasl_server *s = passwd_server(path, &cfg);
    struct outcome o = {0};
    assert_int_equal(plain_auth(s, "alice", "first", &o), SASL_OK);

    /* rewritten in place with the same size: the mtime tells */
    struct timespec old_times[2] = {{0, UTIME_OMIT}, {1000000000, 0}};
    FILE *f = fopen(path, "w");
    fputs("alice:{PLAIN}secnd\n", f);
    fclose(f);
    utimensat(AT_FDCWD, path, old_times, 0);
    assert_int_equal(plain_auth(s, "alice", "first", &o), SASL_FAIL);
    assert_int_equal(plain_auth(s, "alice", "secnd", &o), SASL_OK);

    /* replaced through rename (a new inode), with a crypt(3) user added */
    char *h = make_hash("$6$", 0, "bobpw");
    char *text = xasprintf("alice:{PLAIN}third\nbob:{SHA512-CRYPT}%s\n", h);
    replace_file(path, text);
    assert_int_equal(plain_auth(s, "alice", "secnd", &o), SASL_FAIL);
    assert_int_equal(plain_auth(s, "alice", "third", &o), SASL_OK);
    assert_int_equal(plain_auth(s, "bob", "bobpw", &o), SASL_OK);

    /* gone: temporary failures, no stale accounts; back: works again */
    test_capture_begin();
    unlink(path);
    assert_int_equal(plain_auth(s, "alice", "third", &o), SASL_TEMPFAIL);
    assert_int_equal(plain_auth(s, "alice", "third", &o), SASL_TEMPFAIL);
    char *warnings = test_capture_end();
    assert_non_null(strstr(warnings, "No such file or directory"));
    assert_null(strstr(strstr(warnings, "No such file") + 1, "No such file")); /* once */
    free(warnings);
    replace_file(path, text);
    assert_int_equal(plain_auth(s, "bob", "bobpw", &o), SASL_OK);

    free(h);
    free(text);
    outcome_clear(&o);
    sasl_server_free(s);
    config_free(cfg);
    free(path);
}

/* ---- the thread pool ---- */

struct sleepy_job {
    struct sasl_job job;
    pthread_t worker;
    int *done_count;
    pthread_t loop_thread;
    bool ran;
};

static void sleepy_work(struct sasl_job *job)
{
    struct sleepy_job *j = (struct sleepy_job *) job;
    j->worker = pthread_self();
    struct timespec ts = {0, 30 * 1000 * 1000};
    nanosleep(&ts, NULL);
    j->ran = true;
}

static void sleepy_done(struct sasl_job *job)
{
    struct sleepy_job *j = (struct sleepy_job *) job;
    assert_true(pthread_equal(pthread_self(), j->loop_thread));
    if (j->ran)
        assert_false(pthread_equal(j->worker, j->loop_thread));
    (*j->done_count)++;
    free(j);
}

static void test_thread_pool(void **state)
{
    struct sasl_pool *p = sasl_pool_new(base, 3, 8);
    assert_int_equal(sasl_pool_threads_started(p), 0); /* lazily */
    int done = 0;
    uint64_t t0 = clock_mono_us();
    for (int i = 0; i < 8; i++) {
        struct sleepy_job *j = xcalloc(1, sizeof(*j));
        j->job.work = sleepy_work;
        j->job.done = sleepy_done;
        j->done_count = &done;
        j->loop_thread = pthread_self();
        assert_int_equal(sasl_pool_submit(p, &j->job), 0);
    }
    assert_int_equal(sasl_pool_threads_started(p), 3);
    /* the queue is full now */
    struct sleepy_job *extra = xcalloc(1, sizeof(*extra));
    extra->job.work = sleepy_work;
    extra->job.done = sleepy_done;
    extra->done_count = &done;
    extra->loop_thread = pthread_self();
    assert_int_equal(sasl_pool_submit(p, &extra->job), -1);
    assert_int_equal(done, 0); /* nothing finishes without the loop */
    pump(&done, 8, 5000);
    assert_int_equal(done, 8);
    /* 8 jobs of 30 ms on 3 threads: about 90 ms, not 240 */
    assert_true(clock_mono_us() - t0 < 200000);
    assert_int_equal(sasl_pool_submit(p, &extra->job), 0);
    /* freeing with a job queued or running still calls done() */
    sasl_pool_free(p);
    assert_int_equal(done, 9);
}

static int ticks;

static void count_tick(evutil_socket_t fd, short what, void *arg)
{
    ticks++;
}

/* a slow hash does not stop the loop: timers keep firing meanwhile */
static void test_loop_not_blocked(void **state)
{
    char *h = make_hash("$2b$", 11, "slow-pw"); /* bcrypt cost 11: ~100 ms */
    char *text = xasprintf("slow:{BLF-CRYPT}%s\n", h);
    char *path = test_write_file("passwd-slow", text);
    struct config *cfg;
    struct sasl_server *s = passwd_server(path, &cfg);
    struct event *t = event_new(base, -1, EV_PERSIST, count_tick, NULL);
    struct timeval tv = {0, 2000};
    event_add(t, &tv);
    ticks = 0;
    struct outcome o = {0};
    uint64_t t0 = clock_mono_us();
    char *msg = plain_b64("", "slow", "slow-pw");
    struct sasl_session *ss = sasl_start(s, "PLAIN", msg, NULL, NULL, false, on_done, &o);
    pump(&o.calls, 1, 10000);
    uint64_t elapsed = clock_mono_us() - t0;
    assert_int_equal(o.status, SASL_OK);
    /* with a 2 ms timer, a blocked loop would have ticked once or twice */
    if (elapsed > 20000)
        assert_true(ticks >= (int) (elapsed / 2000) / 3);
    sasl_session_free(ss);
    event_free(t);
    outcome_clear(&o);
    sasl_server_free(s);
    config_free(cfg);
    free(msg);
    free(path);
    free(text);
    free(h);
}

/* ---- Dovecot ---- */

static char *dovecot_dir;
static char *dovecot_socket;
static char *dovecot_users;

static char *dovecot_start(void)
{
    char *cmd = xasprintf("'%s/tests/lib/dovecot-server.sh' start '%s' '%s'", source_root(),
                          dovecot_dir, dovecot_users);
    FILE *p = popen(cmd, "r");
    free(cmd);
    if (p == NULL)
        return NULL;
    char line[4096] = "";
    char *got = fgets(line, sizeof(line), p);
    if (pclose(p) != 0 || got == NULL)
        return NULL;
    line[strcspn(line, "\n")] = 0;
    return xstrdup(line);
}

static void dovecot_stop(void)
{
    char *cmd = xasprintf("'%s/tests/lib/dovecot-server.sh' stop '%s'", source_root(), dovecot_dir);
    int rc = system(cmd);
    (void) rc;
    free(cmd);
}

static int dovecot_setup(void **state)
{
    struct stat st;
    if (stat("/usr/sbin/dovecot", &st) == -1) {
        fprintf(stderr, "test_sasl: /usr/sbin/dovecot is missing (apt-get install dovecot-core)\n");
        return -1;
    }
    char pid[32];
    snprintf(pid, sizeof(pid), "%ld", (long) getpid());
    setenv("DOVECOT_OWNER_PID", pid, 1);
    chmod(test_tmpdir(), 0755); /* Dovecot's auth process reads the users file */
    char *h = make_hash("$y$", 0, "carolpw");
    char *text = xasprintf("alice:{PLAIN}alicepw\nbob:{PLAIN}bobpw\ncarol:%s\n", h);
    dovecot_users = test_write_file("dovecot-users", text);
    chmod(dovecot_users, 0644);
    free(h);
    free(text);
    dovecot_dir = xasprintf("%s/dovecot", test_tmpdir());
    dovecot_socket = dovecot_start();
    if (dovecot_socket == NULL) {
        fprintf(stderr, "test_sasl: dovecot did not start\n");
        return -1;
    }
    return 0;
}

static int dovecot_teardown(void **state)
{
    if (dovecot_dir)
        dovecot_stop();
    free(dovecot_dir);
    free(dovecot_socket);
    free(dovecot_users);
    return 0;
}

static struct sasl_server *dovecot_server(struct config *cfg)
{
    char *err = NULL;
    struct sasl_server *s = sasl_server_new(base, cfg, &err);
    if (s == NULL)
        fail_msg("sasl_server_new: %s", err);
    /* the handshake runs in the background */
    uint64_t end = clock_mono_us() + 5000000;
    while (*sasl_mechanisms(s, false) == 0 && clock_mono_us() < end)
        pump_ms(10);
    return s;
}

static void test_dovecot_auth(void **state)
{
    struct config *cfg = sasl_config("dovecot", dovecot_socket);
    struct sasl_server *s = dovecot_server(cfg);
    assert_string_equal(sasl_mechanisms(s, false), "PLAIN LOGIN");
    struct outcome o = {0};
    struct strlist ch;
    strlist_init(&ch);

    assert_int_equal(plain_auth(s, "alice", "alicepw", &o), SASL_OK);
    assert_string_equal(o.username, "alice");
    assert_int_equal(plain_auth(s, "alice", "wrong", &o), SASL_FAIL);
    assert_string_equal(o.reason, "(reason unavailable)");
    assert_string_equal(o.username, "alice");
    assert_int_equal(plain_auth(s, "carol", "carolpw", &o), SASL_OK); /* yescrypt in Dovecot */
    assert_int_equal(plain_auth(s, "nobody", "x", &o), SASL_FAIL);

    /* LOGIN: Dovecot's own challenges */
    assert_int_equal(login_auth(s, "bob", "bobpw", &o, &ch), SASL_OK);
    assert_string_equal(o.username, "bob");
    assert_int_equal(ch.count, 2);
    assert_string_equal(ch.items[0], "VXNlcm5hbWU6");
    assert_string_equal(ch.items[1], "UGFzc3dvcmQ6");
    assert_int_equal(login_auth(s, "bob", "nope", &o, NULL), SASL_FAIL);
    /* PLAIN without initial response, and with "=" (Dovecot says no) */
    char *msg = plain_b64("", "alice", "alicepw");
    const char *steps[] = {msg, NULL};
    strlist_free(&ch);
    strlist_init(&ch);
    assert_int_equal(auth(s, "PLAIN", NULL, steps, false, &o, &ch), SASL_OK);
    assert_string_equal(ch.items[0], "");
    assert_int_equal(auth(s, "PLAIN", "=", NULL, false, &o, NULL), SASL_FAIL);

    /* "*" in the middle of LOGIN; the connection stays usable */
    const char *cancel[] = {"*", NULL};
    assert_int_equal(auth(s, "LOGIN", NULL, cancel, false, &o, NULL), SASL_ERROR);
    assert_int_equal(o.error, SASL_ERR_ABORTED);
    assert_int_equal(auth(s, "LOGIN", NULL, NULL, false, &o, NULL), SASL_CONTINUE);
    assert_int_equal(auth(s, "PLAIN", "bad!", NULL, false, &o, NULL), SASL_ERROR);
    assert_int_equal(o.error, SASL_ERR_BASE64);
    assert_int_equal(plain_auth(s, "alice", "alicepw", &o), SASL_OK);

    /* requests multiplexed on the one connection */
    enum { N = 12 };
    struct outcome many[N];
    struct sasl_session *sessions[N];
    char *irs[N];
    int total = 0;
    memset(many, 0, sizeof(many));
    for (int i = 0; i < N; i++) {
        irs[i] = plain_b64("",
                           i % 3 == 0   ? "alice"
                           : i % 3 == 1 ? "bob"
                                        : "carol",
                           i % 2        ? "wrong"
                           : i % 3 == 0 ? "alicepw"
                           : i % 3 == 1 ? "bobpw"
                                        : "carolpw");
        sessions[i] = sasl_start(s, "PLAIN", irs[i], "192.0.2.7", NULL, i % 2, on_done, &many[i]);
    }
    uint64_t end = clock_mono_us() + 5000000;
    while (total < N && clock_mono_us() < end) {
        pump_ms(5);
        total = 0;
        for (int i = 0; i < N; i++)
            total += many[i].calls;
    }
    for (int i = 0; i < N; i++) {
        assert_int_equal(many[i].calls, 1);
        assert_int_equal(many[i].status, i % 2 ? SASL_FAIL : SASL_OK);
        sasl_session_free(sessions[i]);
        outcome_clear(&many[i]);
        free(irs[i]);
    }

    /* the client address reaches Dovecot (its log names it on failures) */
    char *log_path = xasprintf("%s/dovecot.log", dovecot_dir);
    struct buf logtext;
    buf_init(&logtext);
    assert_int_equal(file_read_all(log_path, &logtext), 0);
    assert_non_null(strstr(buf_cstr(&logtext), "passwd-file(alice,192.0.2.1)"));
    buf_free(&logtext);
    free(log_path);

    free(msg);
    strlist_free(&ch);
    outcome_clear(&o);
    sasl_server_free(s);
    config_free(cfg);
}

static void test_dovecot_restart(void **state)
{
    /* a relative path is below queue_directory, as in Postfix */
    struct config *cfg = sasl_config("dovecot", "auth");
    config_set(cfg, "queue_directory", dovecot_dir, NULL, 0);
    struct sasl_server *s = dovecot_server(cfg);
    struct outcome o = {0};
    assert_int_equal(plain_auth(s, "alice", "alicepw", &o), SASL_OK);

    /* a LOGIN exchange waiting for its password when Dovecot goes away */
    struct outcome pending = {0};
    struct sasl_session *ss = sasl_start(s, "LOGIN", NULL, NULL, NULL, false, on_done, &pending);
    pump(&pending.calls, 1, 5000);
    assert_int_equal(pending.status, SASL_CONTINUE);

    test_capture_begin();
    dovecot_stop();
    pump_ms(100);
    assert_int_equal(plain_auth(s, "alice", "alicepw", &o), SASL_TEMPFAIL);
    assert_non_null(strstr(o.reason, "authentication server"));
    assert_int_equal(plain_auth(s, "alice", "alicepw", &o), SASL_TEMPFAIL);
    assert_string_equal(o.reason, "Can't connect to authentication server");
    /* the mechanisms stay offered (AUTH then fails temporarily) */
    assert_string_equal(sasl_mechanisms(s, false), "PLAIN LOGIN");
    /* the waiting exchange learns at its next step */
    char *u = b64("alice");
    sasl_step(ss, u);
    pump(&pending.calls, 2, 5000);
    assert_int_equal(pending.status, SASL_TEMPFAIL);
    assert_string_equal(pending.reason, "Connection lost to authentication server");
    sasl_session_free(ss);
    free(u);
    char *warnings = test_capture_end();
    assert_non_null(strstr(warnings, "SASL: "));
    free(warnings);

    /* back: the next AUTH connects again */
    free(dovecot_socket);
    dovecot_socket = dovecot_start();
    assert_non_null(dovecot_socket);
    assert_int_equal(plain_auth(s, "alice", "alicepw", &o), SASL_OK);
    assert_int_equal(plain_auth(s, "bob", "bobpw", &o), SASL_OK);
    assert_int_equal(plain_auth(s, "bob", "alicepw", &o), SASL_FAIL);

    outcome_clear(&pending);
    outcome_clear(&o);
    sasl_server_free(s);
    config_free(cfg);
}

static void test_dovecot_unreachable_at_start(void **state)
{
    char *missing = xasprintf("%s/no-such-socket", test_tmpdir());
    struct config *cfg = sasl_config("dovecot", missing);
    char *err = NULL;
    test_capture_begin();
    struct sasl_server *s = sasl_server_new(base, cfg, &err);
    assert_non_null(s); /* not a configuration error */
    pump_ms(50);
    assert_string_equal(sasl_mechanisms(s, false), ""); /* nothing known yet */
    struct outcome o = {0};
    char *msg = plain_b64("", "alice", "alicepw");
    assert_int_equal(auth(s, "PLAIN", msg, NULL, false, &o, NULL), SASL_ERROR);
    assert_int_equal(o.error, SASL_ERR_MECHANISM);
    char *warnings = test_capture_end();
    char *want = xasprintf("SASL: Connect to Dovecot auth socket '%s' failed", missing);
    assert_non_null(strstr(warnings, want));
    free(want);
    free(warnings);
    free(msg);
    outcome_clear(&o);
    sasl_server_free(s);
    config_free(cfg);

    cfg = sasl_config("dovecot", "inet:localhost:12345");
    assert_null(sasl_server_new(base, cfg, &err));
    assert_non_null(strstr(err, "numeric address"));
    free(err);
    config_free(cfg);
    free(missing);
}

int main(void)
{
    const struct CMUnitTest units[] = {
        cmocka_unit_test(test_base64_strict),
        cmocka_unit_test(test_plain_message),
        cmocka_unit_test(test_security_options),
        cmocka_unit_test(test_mechanism_filter),
        cmocka_unit_test(test_passwd_file_schemes),
        cmocka_unit_test(test_mechanism_exchanges),
        cmocka_unit_test(test_security_options_offer),
        cmocka_unit_test(test_passwd_file_reload),
        cmocka_unit_test(test_thread_pool),
        cmocka_unit_test(test_loop_not_blocked),
    };
    const struct CMUnitTest dovecot[] = {
        cmocka_unit_test(test_dovecot_unreachable_at_start),
        cmocka_unit_test(test_dovecot_auth),
        cmocka_unit_test(test_dovecot_restart),
    };
    base = event_base_new();
    int failed = cmocka_run_group_tests_name("sasl", units, NULL, NULL);
    failed += cmocka_run_group_tests_name("sasl-dovecot", dovecot, dovecot_setup, dovecot_teardown);
    event_base_free(base);
    return failed;
}
