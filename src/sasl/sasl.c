/*
 * sasl - the server object and the AUTH exchanges (RFC 4954): which
 * mechanisms a session may use, the PLAIN and LOGIN state machines for the
 * built-in passwd-file back end, and the hand-off to Dovecot, which runs
 * the mechanisms itself.  Client responses are checked as strict base64
 * before anything else looks at them, whatever the back end.  Results go
 * into a per-session queue and are delivered from the event loop by an
 * event of the session, so done() never runs inside sasl_start() or
 * sasl_step(), and may free the session.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "sasl/sasl_int.h"

#define POOL_QUEUE_MAX   256 /* crypt(3) checks waiting or running per process */
#define POOL_THREADS_MAX 4

#define CHALLENGE_USERNAME "VXNlcm5hbWU6" /* "Username:" */
#define CHALLENGE_PASSWORD "UGFzc3dvcmQ6" /* "Password:" */

#define REASON_FAILED      "(reason unavailable)"
#define REASON_BACKEND     "Authentication backend unavailable"
#define REASON_ABORTED     "Authentication aborted"
#define REASON_MECHANISM   "Invalid authentication mechanism"
#define REASON_B64_INITIAL "Invalid base64 data in initial response"
#define REASON_B64_CONT    "Invalid base64 data in continued response"
#define REASON_TOO_LONG    "Authentication data too long"
#define REASON_STATE       "Unexpected authentication response"
#define REASON_AUTHZID     "Authorization identity differs from authentication identity"

enum sasl_backend {
    BACKEND_PASSWD_FILE,
    BACKEND_DOVECOT,
};

struct sasl_server {
    struct event_base *base;
    enum sasl_backend backend;
    unsigned options[2]; /* security options without, with TLS */
    struct sasl_filter filter;
    char *service;
    struct sasl_pool *pool;
    struct pwfile *pwfile;
    struct dovecot_client *dovecot;
    char *offered[2]; /* the last sasl_mechanisms() answers */
    struct sasl_session *sessions;
};

static const struct {
    const char *name;
    enum sasl_mech_id id;
} builtin_mechs[] = {
    {"PLAIN", SASL_MECH_PLAIN},
    {"LOGIN", SASL_MECH_LOGIN},
};

/* ---- the server ---- */

/* resolve_path - a relative path below a directory parameter */
static char *resolve_path(struct config *cfg, const char *path, const char *dir_param)
{
    if (path[0] == '/' || strncmp(path, "inet:", 5) == 0)
        return xstrdup(path);
    if (strncmp(path, "unix:", 5) == 0) {
        if (path[5] == '/')
            return xstrdup(path);
        return xasprintf("unix:%s/%s", config_get(cfg, dir_param), path + 5);
    }
    return xasprintf("%s/%s", config_get(cfg, dir_param), path);
}

struct sasl_server *sasl_server_new(struct event_base *base, struct config *cfg, char **err)
{
    struct sasl_server *s = xcalloc(1, sizeof(*s));
    s->base = base;
    const char *type = config_get(cfg, "smtpd_sasl_type");
    if (strcmp(type, "passwd-file") == 0) {
        s->backend = BACKEND_PASSWD_FILE;
    } else if (strcmp(type, "dovecot") == 0) {
        s->backend = BACKEND_DOVECOT;
    } else {
        *err = xasprintf("unsupported SASL server implementation: %s "
                         "(smtpd_sasl_type: postern has passwd-file and dovecot)",
                         type);
        free(s);
        return NULL;
    }
    if (sasl_security_parse("smtpd_sasl_security_options",
                            config_get(cfg, "smtpd_sasl_security_options"), &s->options[0],
                            err) == -1 ||
        sasl_security_parse("smtpd_sasl_tls_security_options",
                            config_get(cfg, "smtpd_sasl_tls_security_options"), &s->options[1],
                            err) == -1) {
        free(s);
        return NULL;
    }
    s->service = xstrdup(config_get(cfg, "smtpd_sasl_service"));
    const char *path = config_get(cfg, "smtpd_sasl_path");
    if (*path == 0) {
        *err = xstrdup("smtpd_sasl_path is empty");
        free(s->service);
        free(s);
        return NULL;
    }
    if (s->backend == BACKEND_PASSWD_FILE) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        unsigned threads = cpus < 1                  ? 1
                           : cpus > POOL_THREADS_MAX ? POOL_THREADS_MAX
                                                     : (unsigned) cpus;
        char *full = resolve_path(cfg, path, "config_directory");
        s->pool = sasl_pool_new(base, threads, POOL_QUEUE_MAX);
        s->pwfile = pwfile_open(full, s->pool, err);
        free(full);
    } else {
        char *full = resolve_path(cfg, path, "queue_directory");
        s->dovecot = dovecot_new(base, full, err);
        free(full);
    }
    if (s->pwfile == NULL && s->dovecot == NULL) {
        sasl_pool_free(s->pool);
        free(s->service);
        free(s);
        return NULL;
    }
    sasl_filter_init(&s->filter, config_get(cfg, "smtpd_sasl_mechanism_filter"));
    return s;
}

static void session_destroy(struct sasl_session *ss);

void sasl_server_free(struct sasl_server *s)
{
    if (s == NULL)
        return;
    if (s->sessions)
        log_warnx("sasl_server_free: AUTH exchanges still open");
    while (s->sessions)
        session_destroy(s->sessions);
    sasl_pool_free(s->pool);
    pwfile_free(s->pwfile);
    dovecot_free(s->dovecot);
    sasl_filter_free(&s->filter);
    free(s->offered[0]);
    free(s->offered[1]);
    free(s->service);
    free(s);
}

/* offered - may a session use this mechanism? Sets *id for built-in ones;
 * *canonical is the name as the back end spells it */
static bool offered(struct sasl_server *s, const char *name, bool tls, enum sasl_mech_id *id,
                    const char **canonical)
{
    size_t k;
    for (k = 0; k < ARRAY_LEN(builtin_mechs); k++)
        if (str_eq_nocase(name, builtin_mechs[k].name))
            break;
    if (k == ARRAY_LEN(builtin_mechs))
        return false; /* postern handles PLAIN and LOGIN only, whatever Dovecot has */
    *id = builtin_mechs[k].id;
    *canonical = builtin_mechs[k].name;
    unsigned props = SASL_PROP_PLAINTEXT;
    if (s->backend == BACKEND_DOVECOT) {
        size_t n;
        const struct sasl_mech *m = dovecot_mechanisms(s->dovecot, &n);
        size_t i;
        for (i = 0; i < n; i++)
            if (str_eq_nocase(m[i].name, name))
                break;
        if (i == n)
            return false;
        props = m[i].props;
        *canonical = m[i].name;
    }
    return sasl_mech_allowed(props, s->options[tls ? 1 : 0]) &&
           sasl_filter_match(&s->filter, *canonical);
}

bool sasl_server_settled(const struct sasl_server *s)
{
    return s->backend != BACKEND_DOVECOT || dovecot_settled(s->dovecot);
}

const char *sasl_mechanisms(struct sasl_server *s, bool tls)
{
    struct buf b;
    buf_init(&b);
    const char *names[16];
    size_t count = 0;
    if (s->backend == BACKEND_DOVECOT) {
        size_t n;
        const struct sasl_mech *m = dovecot_mechanisms(s->dovecot, &n);
        for (size_t i = 0; i < n && count < ARRAY_LEN(names); i++)
            names[count++] = m[i].name;
    } else {
        for (size_t i = 0; i < ARRAY_LEN(builtin_mechs); i++)
            names[count++] = builtin_mechs[i].name;
    }
    for (size_t i = 0; i < count; i++) {
        enum sasl_mech_id id;
        const char *canonical;
        if (offered(s, names[i], tls, &id, &canonical)) {
            if (b.len)
                buf_putc(&b, ' ');
            buf_puts(&b, canonical);
        }
    }
    free(s->offered[tls ? 1 : 0]);
    s->offered[tls ? 1 : 0] = buf_steal(&b);
    return s->offered[tls ? 1 : 0];
}

/* ---- result delivery ---- */

static void result_clear(struct sasl_result *r)
{
    free(r->challenge);
    free(r->username);
    free(r->reason);
}

static void session_destroy(struct sasl_session *ss)
{
    struct sasl_server *s = ss->server;
    if (ss->check)
        pwfile_cancel(ss->check);
    if (ss->dreq)
        dovecot_cancel(s->dovecot, ss);
    if (ss->prev)
        ss->prev->next = ss->next;
    else
        s->sessions = ss->next;
    if (ss->next)
        ss->next->prev = ss->prev;
    while (ss->results) {
        struct sasl_result_item *it = ss->results;
        ss->results = it->next;
        result_clear(&it->r);
        free(it);
    }
    if (ss->login_user) {
        explicit_bzero(ss->login_user, strlen(ss->login_user));
        free(ss->login_user);
    }
    event_free(ss->deliver);
    free(ss);
}

static void deliver_cb(evutil_socket_t fd, short what, void *arg)
{
    struct sasl_session *ss = arg;
    while (ss->results && !ss->free_requested) {
        struct sasl_result_item *it = ss->results;
        ss->results = it->next;
        if (ss->results == NULL)
            ss->results_tail = &ss->results;
        ss->in_callback = true;
        ss->done(ss->arg, &it->r);
        ss->in_callback = false;
        result_clear(&it->r);
        free(it);
    }
    if (ss->free_requested)
        session_destroy(ss);
}

void sasl_session_report(struct sasl_session *ss, enum sasl_status status, enum sasl_error error,
                         const char *challenge, const char *username, const char *reason)
{
    struct sasl_result_item *it = xcalloc(1, sizeof(*it));
    it->r.status = status;
    it->r.error = error;
    it->r.challenge = challenge ? xstrdup(challenge) : NULL;
    it->r.username = username ? str_printable(username, strlen(username)) : NULL;
    if (status == SASL_FAIL || status == SASL_TEMPFAIL || status == SASL_ERROR)
        it->r.reason = xstrdup(reason ? reason : REASON_FAILED);
    *ss->results_tail = it;
    ss->results_tail = &it->next;
    if (status != SASL_CONTINUE && error != SASL_ERR_STATE)
        ss->phase = PHASE_DONE;
    event_active(ss->deliver, EV_TIMEOUT, 1);
}

/* ---- passwd-file exchanges ---- */

static void check_done(void *arg, enum sasl_status status)
{
    struct sasl_session *ss = arg;
    char *user = ss->login_user;
    ss->check = NULL;
    ss->login_user = NULL;
    sasl_session_report(ss, status, SASL_ERR_NONE, NULL, user,
                        status == SASL_TEMPFAIL ? REASON_BACKEND : REASON_FAILED);
    free(user);
}

/* check_password - user and password decoded and within limits */
static void check_password(struct sasl_session *ss, const char *user, const char *password,
                           size_t password_len)
{
    struct sasl_server *s = ss->server;
    if (ss->login_user != user) {
        free(ss->login_user);
        ss->login_user = xstrdup(user);
    }
    ss->phase = PHASE_BACKEND;
    enum sasl_status st =
        pwfile_verify(s->pwfile, user, password, password_len, check_done, ss, &ss->check);
    if (st != SASL_CONTINUE)
        check_done(ss, st);
}

static void plain_message(struct sasl_session *ss, const struct buf *msg)
{
    struct sasl_plain p;
    const char *why;
    int rc = sasl_plain_parse(msg->data ? msg->data : "", msg->len, &p, &why);
    if (rc == -1) {
        sasl_session_report(ss, SASL_ERROR, SASL_ERR_SYNTAX, NULL, NULL, why);
        return;
    }
    if (rc == -2) {
        sasl_session_report(ss, SASL_ERROR, SASL_ERR_TOO_LONG, NULL, NULL, why);
        return;
    }
    char *user = xstrndup(p.authcid, p.authcid_len);
    if (p.authzid_len > 0 &&
        (p.authzid_len != p.authcid_len || memcmp(p.authzid, p.authcid, p.authcid_len) != 0)) {
        sasl_session_report(ss, SASL_FAIL, SASL_ERR_NONE, NULL, user, REASON_AUTHZID);
        free(user);
        return;
    }
    check_password(ss, user, p.passwd, p.passwd_len);
    free(user);
}

/* login_answer - LOGIN's user name, then its password */
static void login_answer(struct sasl_session *ss, const struct buf *data)
{
    const char *text = data->data ? data->data : "";
    size_t max = ss->phase == PHASE_WANT_USER ? SASL_AUTHID_MAX : SASL_PASSWORD_MAX;
    if (memchr(text, 0, data->len) != NULL) {
        sasl_session_report(ss, SASL_ERROR, SASL_ERR_SYNTAX, NULL, NULL,
                            "Invalid LOGIN response: NUL character");
        return;
    }
    if (data->len > max) {
        sasl_session_report(ss, SASL_ERROR, SASL_ERR_TOO_LONG, NULL, NULL, REASON_TOO_LONG);
        return;
    }
    if (ss->phase == PHASE_WANT_USER) {
        free(ss->login_user);
        ss->login_user = xstrndup(text, data->len);
        ss->phase = PHASE_WANT_PASSWORD;
        sasl_session_report(ss, SASL_CONTINUE, SASL_ERR_NONE, CHALLENGE_PASSWORD, NULL, NULL);
        return;
    }
    if (*ss->login_user == 0 || data->len == 0) {
        char *user = ss->login_user;
        ss->login_user = NULL;
        sasl_session_report(ss, SASL_FAIL, SASL_ERR_NONE, NULL, user, REASON_FAILED);
        free(user);
        return;
    }
    check_password(ss, ss->login_user, text, data->len);
}

/* ---- exchanges ---- */

/* decode - a client response; reports the error and returns -1 when bad */
static int decode(struct sasl_session *ss, const char *response, bool initial, struct buf *out)
{
    if (strcmp(response, "=") == 0) {
        buf_reset(out);
        return 0;
    }
    size_t max = SASL_AUTHID_MAX * 2 + SASL_PASSWORD_MAX + 2;
    switch (sasl_b64_decode(response, strlen(response), max, out)) {
    case 0: return 0;
    case -2:
        sasl_session_report(ss, SASL_ERROR, SASL_ERR_TOO_LONG, NULL, NULL, REASON_TOO_LONG);
        return -1;
    default:
        sasl_session_report(ss, SASL_ERROR, SASL_ERR_BASE64, NULL, NULL,
                            initial ? REASON_B64_INITIAL : REASON_B64_CONT);
        return -1;
    }
}

struct sasl_session *sasl_start(struct sasl_server *s, const char *mechanism,
                                const char *initial_response, const char *client_addr,
                                const char *local_addr, bool tls, sasl_done_fn done, void *arg)
{
    struct sasl_session *ss = xcalloc(1, sizeof(*ss));
    ss->server = s;
    ss->done = done;
    ss->arg = arg;
    ss->results_tail = &ss->results;
    ss->deliver = event_new(s->base, -1, 0, deliver_cb, ss);
    ss->next = s->sessions;
    if (s->sessions)
        s->sessions->prev = ss;
    s->sessions = ss;

    const char *canonical;
    if (!offered(s, mechanism, tls, &ss->mech, &canonical)) {
        sasl_session_report(ss, SASL_ERROR, SASL_ERR_MECHANISM, NULL, NULL, REASON_MECHANISM);
        return ss;
    }
    struct buf data;
    buf_init(&data);
    if (initial_response && decode(ss, initial_response, true, &data) == -1) {
        buf_free(&data);
        return ss;
    }
    if (s->backend == BACKEND_DOVECOT) {
        ss->phase = PHASE_BACKEND;
        const char *resp = initial_response == NULL             ? NULL
                           : strcmp(initial_response, "=") == 0 ? ""
                                                                : initial_response;
        dovecot_auth(s->dovecot, ss, canonical, resp, s->service, local_addr, client_addr, tls);
    } else if (ss->mech == SASL_MECH_PLAIN) {
        if (initial_response) {
            plain_message(ss, &data);
        } else {
            ss->phase = PHASE_WANT_PLAIN;
            sasl_session_report(ss, SASL_CONTINUE, SASL_ERR_NONE, "", NULL, NULL);
        }
    } else {
        ss->phase = PHASE_WANT_USER;
        if (initial_response)
            login_answer(ss, &data);
        else
            sasl_session_report(ss, SASL_CONTINUE, SASL_ERR_NONE, CHALLENGE_USERNAME, NULL, NULL);
    }
    if (data.data)
        explicit_bzero(data.data, data.len);
    buf_free(&data);
    return ss;
}

void sasl_step(struct sasl_session *ss, const char *response)
{
    struct sasl_server *s = ss->server;
    switch (ss->phase) {
    case PHASE_WANT_PLAIN:
    case PHASE_WANT_USER:
    case PHASE_WANT_PASSWORD:
    case PHASE_WANT_CONT: break;
    case PHASE_BACKEND:
    case PHASE_DONE:
        sasl_session_report(ss, SASL_ERROR, SASL_ERR_STATE, NULL, NULL, REASON_STATE);
        return;
    }
    if (strcmp(response, "*") == 0) {
        if (ss->dreq)
            dovecot_cancel(s->dovecot, ss);
        sasl_session_report(ss, SASL_ERROR, SASL_ERR_ABORTED, NULL, NULL, REASON_ABORTED);
        return;
    }
    struct buf data;
    buf_init(&data);
    if (decode(ss, response, false, &data) == -1) {
        if (ss->dreq)
            dovecot_cancel(s->dovecot, ss);
        buf_free(&data);
        return;
    }
    switch (ss->phase) {
    case PHASE_WANT_CONT:
        ss->phase = PHASE_BACKEND;
        dovecot_continue(s->dovecot, ss, strcmp(response, "=") == 0 ? "" : response);
        break;
    case PHASE_WANT_PLAIN: plain_message(ss, &data); break;
    default: login_answer(ss, &data); break;
    }
    if (data.data)
        explicit_bzero(data.data, data.len);
    buf_free(&data);
}

void sasl_session_free(struct sasl_session *ss)
{
    if (ss == NULL)
        return;
    if (ss->check) {
        pwfile_cancel(ss->check);
        ss->check = NULL;
    }
    if (ss->dreq)
        dovecot_cancel(ss->server->dovecot, ss);
    if (ss->in_callback)
        ss->free_requested = true;
    else
        session_destroy(ss);
}
