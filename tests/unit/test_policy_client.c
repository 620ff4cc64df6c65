/*
 * Unit tests: the policy delegation client (src/policy/policy_client.c) -
 * reply parsing, and both clients against a small policy server that the
 * test runs itself on a unix socket: the request as sent, the reply's
 * action, connection reuse, reconnection after the server closed, expiry of
 * idle connections, timeouts and connection failures giving NULL, and
 * cancellation.  One end-to-end test feeds the engine's own request for
 * check_policy_service through the client and the answer back.
 */
#include <errno.h>
#include <event2/event.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "policy/policy_client.h"
#include "policy/policy_int.h"
#include "testutil.h"

/* ---- reply parsing ---- */

static char *parse(const char *reply)
{
    return policy_client_parse_reply(reply, strlen(reply));
}

static void expect_action(const char *reply, const char *want)
{
    char *got = parse(reply);
    if (want == NULL) {
        if (got != NULL)
            fail_msg("\"%s\": got \"%s\", want none", reply, got);
    } else {
        if (got == NULL || strcmp(got, want) != 0)
            fail_msg("\"%s\": got \"%s\", want \"%s\"", reply, got ? got : "(none)", want);
    }
    free(got);
}

static void test_parse_reply(void **state)
{
    (void) state;
    expect_action("action=OK\n\n", "OK");
    expect_action("action=REJECT go away\n\n", "REJECT go away");
    expect_action("action=DUNNO\r\n\r\n", "DUNNO");
    expect_action("foo=bar\naction=DEFER_IF_PERMIT later\nbaz=1\n\n", "DEFER_IF_PERMIT later");
    /* the last action wins; what follows the empty line is not read */
    expect_action("action=OK\naction=REJECT\n\n", "REJECT");
    expect_action("action=OK\n\naction=REJECT\n\n", "OK");
    /* a complete reply without an action: an empty action */
    expect_action("\n", "");
    expect_action("size=10\n\n", "");
    expect_action("action=\n\n", "");
    /* "action" must start the line and be followed by '=' */
    expect_action("xaction=OK\n\n", "");
    expect_action("action = OK\n\n", "");
    expect_action("ACTION=OK\n\n", "");
    /* incomplete replies */
    expect_action("", NULL);
    expect_action("action=OK", NULL);
    expect_action("action=OK\n", NULL);
    expect_action("action=OK\r\n", NULL);
    expect_action("action=OK\n\r", NULL);

    /* the length bounds the reply: no terminating NUL needed */
    const char buf[] = {'a', 'c', 't', 'i', 'o', 'n', '=', 'O', 'K', '\n', '\n'};
    char *got = policy_client_parse_reply(buf, sizeof(buf));
    assert_string_equal(got, "OK");
    free(got);
    assert_null(policy_client_parse_reply(buf, sizeof(buf) - 1));
    assert_null(policy_client_parse_reply(buf, 0));
    /* a NUL inside a value is kept to the NUL */
    const char nul[] = "action=RE\0JECT\n\n";
    got = policy_client_parse_reply(nul, sizeof(nul) - 1);
    assert_non_null(got);
    assert_string_equal(got, "RE");
    free(got);
}

/* ---- a policy server on a unix socket ---- */

enum server_mode {
    SERVE_REPLY,       /* answer every request, keep the connection */
    SERVE_REPLY_CLOSE, /* answer, then close the connection */
    SERVE_SILENT,      /* read requests, never answer */
};

#define SERVER_CONNS 8

struct server {
    char path[108];
    int listen_fd;
    int stop[2];
    pthread_t thread;
    pthread_mutex_t lock;
    enum server_mode mode;
    const char *reply;
    int accepts, requests;
    struct buf last_request;
};

static void *server_main(void *arg)
{
    struct server *sv = arg;
    struct pollfd fds[2 + SERVER_CONNS];
    struct buf in[SERVER_CONNS];
    for (int i = 0; i < SERVER_CONNS; i++)
        buf_init(&in[i]);
    int conns[SERVER_CONNS];
    for (int i = 0; i < SERVER_CONNS; i++)
        conns[i] = -1;
    for (;;) {
        int n = 0;
        fds[n++] = (struct pollfd){.fd = sv->stop[0], .events = POLLIN};
        fds[n++] = (struct pollfd){.fd = sv->listen_fd, .events = POLLIN};
        for (int i = 0; i < SERVER_CONNS; i++)
            fds[n++] = (struct pollfd){.fd = conns[i], .events = POLLIN};
        if (poll(fds, (nfds_t) n, -1) == -1) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (fds[0].revents)
            break;
        if (fds[1].revents & POLLIN) {
            int fd = accept(sv->listen_fd, NULL, NULL);
            for (int i = 0; fd != -1 && i < SERVER_CONNS; i++)
                if (conns[i] == -1) {
                    conns[i] = fd;
                    buf_reset(&in[i]);
                    fd = -1;
                }
            if (fd != -1)
                close(fd);
            pthread_mutex_lock(&sv->lock);
            sv->accepts++;
            pthread_mutex_unlock(&sv->lock);
        }
        for (int i = 0; i < SERVER_CONNS; i++) {
            if (conns[i] == -1 || !(fds[2 + i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char chunk[4096];
            ssize_t got = read(conns[i], chunk, sizeof(chunk));
            if (got <= 0) {
                close(conns[i]);
                conns[i] = -1;
                continue;
            }
            buf_append(&in[i], chunk, (size_t) got);
            char *end;
            while (in[i].len && (end = strstr(buf_cstr(&in[i]), "\n\n")) != NULL) {
                size_t len = (size_t) (end - in[i].data) + 2;
                pthread_mutex_lock(&sv->lock);
                sv->requests++;
                buf_reset(&sv->last_request);
                buf_append(&sv->last_request, in[i].data, len);
                enum server_mode mode = sv->mode;
                const char *reply = sv->reply;
                pthread_mutex_unlock(&sv->lock);
                memmove(in[i].data, in[i].data + len, in[i].len - len);
                in[i].len -= len;
                in[i].data[in[i].len] = 0;
                if (mode == SERVE_SILENT)
                    continue;
                ssize_t unused = write(conns[i], reply, strlen(reply));
                (void) unused;
                if (mode == SERVE_REPLY_CLOSE) {
                    close(conns[i]);
                    conns[i] = -1;
                    break;
                }
            }
        }
    }
    for (int i = 0; i < SERVER_CONNS; i++) {
        if (conns[i] != -1)
            close(conns[i]);
        buf_free(&in[i]);
    }
    return NULL;
}

/* server_start - listen on DIR/name; mode and reply as given */
static struct server *server_start(const char *name, enum server_mode mode, const char *reply)
{
    struct server *sv = xcalloc(1, sizeof(*sv));
    snprintf(sv->path, sizeof(sv->path), "%s/%s", test_tmpdir(), name);
    unlink(sv->path);
    sv->mode = mode;
    sv->reply = reply;
    buf_init(&sv->last_request);
    pthread_mutex_init(&sv->lock, NULL);
    sv->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_not_equal(sv->listen_fd, -1);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sv->path);
    assert_int_equal(bind(sv->listen_fd, (struct sockaddr *) &sun, sizeof(sun)), 0);
    assert_int_equal(listen(sv->listen_fd, 16), 0);
    assert_int_equal(pipe(sv->stop), 0);
    assert_int_equal(pthread_create(&sv->thread, NULL, server_main, sv), 0);
    return sv;
}

static void server_stop(struct server *sv)
{
    ssize_t unused = write(sv->stop[1], "x", 1);
    (void) unused;
    pthread_join(sv->thread, NULL);
    close(sv->stop[0]);
    close(sv->stop[1]);
    close(sv->listen_fd);
    unlink(sv->path);
    buf_free(&sv->last_request);
    pthread_mutex_destroy(&sv->lock);
    free(sv);
}

static void server_counts(struct server *sv, int *accepts, int *requests)
{
    pthread_mutex_lock(&sv->lock);
    *accepts = sv->accepts;
    *requests = sv->requests;
    pthread_mutex_unlock(&sv->lock);
}

/* server_last - the last complete request (caller frees) */
static char *server_last(struct server *sv)
{
    pthread_mutex_lock(&sv->lock);
    char *s = xstrdup(buf_cstr(&sv->last_request));
    pthread_mutex_unlock(&sv->lock);
    return s;
}

static struct config *client_config(const char *extra)
{
    struct config *cfg = config_new(test_tmpdir(), NULL);
    struct strlist errors;
    strlist_init(&errors);
    char *text = xasprintf("queue_directory = %s\n"
                           "smtpd_policy_service_timeout = 2s\n%s",
                           test_tmpdir(), extra ? extra : "");
    assert_int_equal(config_parse_text(cfg, text, strlen(text), "main.cf", &errors), 0);
    assert_int_equal(config_check(cfg, &errors), 0);
    strlist_free(&errors);
    free(text);
    return cfg;
}

static const char *const request_text = "request=smtpd_access_policy\n"
                                        "protocol_state=RCPT\n"
                                        "client_address=192.0.2.7\n"
                                        "recipient=user@example.com\n"
                                        "\n";

/* ---- the blocking client ---- */

static void test_sync_query(void **state)
{
    (void) state;
    struct server *sv =
        server_start("policy-sync", SERVE_REPLY, "foo=1\naction=REJECT go away\n\n");
    struct config *cfg = client_config(NULL);
    char *endpoint = xasprintf("unix:%s", sv->path);
    char *action = policy_client_query_sync(endpoint, request_text, cfg);
    assert_non_null(action);
    assert_string_equal(action, "REJECT go away");
    free(action);
    char *seen = server_last(sv);
    assert_string_equal(seen, request_text);
    free(seen);

    /* a relative path is under queue_directory, as Postfix's private/ */
    action = policy_client_query_sync("unix:policy-sync", request_text, cfg);
    assert_non_null(action);
    assert_string_equal(action, "REJECT go away");
    free(action);
    int accepts, requests;
    server_counts(sv, &accepts, &requests);
    assert_int_equal(accepts, 2); /* one connection per blocking query */
    assert_int_equal(requests, 2);
    free(endpoint);
    config_free(cfg);
    server_stop(sv);
}

static void test_sync_failures(void **state)
{
    (void) state;
    struct config *cfg = client_config("smtpd_policy_service_timeout = 1s\n");
    /* nobody listens */
    char *missing = xasprintf("unix:%s/no-such-socket", test_tmpdir());
    uint64_t t0 = clock_mono_us();
    assert_null(policy_client_query_sync(missing, request_text, cfg));
    assert_true(clock_mono_us() - t0 < 500000);
    free(missing);
    /* no port, no such host form */
    assert_null(policy_client_query_sync("inet:127.0.0.1", request_text, cfg));
    assert_null(policy_client_query_sync("bogus", request_text, cfg));

    /* a server that never answers: NULL after the timeout */
    struct server *sv = server_start("policy-silent", SERVE_SILENT, NULL);
    char *endpoint = xasprintf("unix:%s", sv->path);
    t0 = clock_mono_us();
    assert_null(policy_client_query_sync(endpoint, request_text, cfg));
    uint64_t took = clock_mono_us() - t0;
    assert_true(took >= 900000);
    assert_true(took < 3000000);
    free(endpoint);
    server_stop(sv);

    /* a server that hangs up without answering */
    sv = server_start("policy-close", SERVE_REPLY_CLOSE, "");
    endpoint = xasprintf("unix:%s", sv->path);
    assert_null(policy_client_query_sync(endpoint, request_text, cfg));
    free(endpoint);
    server_stop(sv);
    config_free(cfg);
}

/* ---- the asynchronous client ---- */

struct answer {
    bool done;
    char *action;
    int calls;
    struct event_base *base;
};

static void on_answer(void *arg, const char *action)
{
    struct answer *a = arg;
    a->calls++;
    a->done = true;
    free(a->action);
    a->action = action ? xstrdup(action) : NULL;
    event_base_loopbreak(a->base);
}

/* ask - one query, run the loop until it is answered (or 5 s pass) */
static void ask(struct event_base *base, struct policy_client *pc, const char *endpoint,
                struct answer *a)
{
    a->done = false;
    a->base = base;
    free(a->action);
    a->action = NULL;
    policy_client_query(pc, endpoint, request_text, on_answer, a);
    uint64_t until = clock_mono_us() + 5000000;
    while (!a->done && clock_mono_us() < until) {
        struct timeval tv = {0, 100000};
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
    assert_true(a->done);
}

static void test_async_reuses_connection(void **state)
{
    (void) state;
    struct server *sv = server_start("policy-async", SERVE_REPLY, "action=DUNNO\n\n");
    struct config *cfg = client_config(NULL);
    struct event_base *base = event_base_new();
    struct policy_client *pc = policy_client_new(base, cfg);
    char *endpoint = xasprintf("unix:%s", sv->path);
    struct answer a = {0};
    for (int i = 0; i < 3; i++) {
        ask(base, pc, endpoint, &a);
        assert_string_equal(a.action, "DUNNO");
    }
    assert_int_equal(a.calls, 3);
    int accepts, requests;
    server_counts(sv, &accepts, &requests);
    assert_int_equal(accepts, 1); /* one connection for all three */
    assert_int_equal(requests, 3);
    char *seen = server_last(sv);
    assert_string_equal(seen, request_text);
    free(seen);
    free(a.action);
    free(endpoint);
    policy_client_free(pc);
    event_base_free(base);
    config_free(cfg);
    server_stop(sv);
}

static void test_async_reconnects_after_close(void **state)
{
    (void) state;
    /* the server hangs up after every answer: the next query finds the
     * idle connection dead and tries a fresh one */
    struct server *sv = server_start("policy-close-async", SERVE_REPLY_CLOSE, "action=OK\n\n");
    struct config *cfg = client_config(NULL);
    struct event_base *base = event_base_new();
    struct policy_client *pc = policy_client_new(base, cfg);
    char *endpoint = xasprintf("unix:%s", sv->path);
    struct answer a = {0};
    for (int i = 0; i < 3; i++) {
        ask(base, pc, endpoint, &a);
        assert_non_null(a.action);
        assert_string_equal(a.action, "OK");
    }
    int accepts, requests;
    server_counts(sv, &accepts, &requests);
    assert_int_equal(accepts, 3);
    assert_int_equal(requests, 3);
    free(a.action);
    free(endpoint);
    policy_client_free(pc);
    event_base_free(base);
    config_free(cfg);
    server_stop(sv);
}

static void test_async_idle_expiry(void **state)
{
    (void) state;
    struct server *sv = server_start("policy-idle", SERVE_REPLY, "action=OK\n\n");
    struct config *cfg = client_config("smtpd_policy_service_max_idle = 1s\n");
    struct event_base *base = event_base_new();
    struct policy_client *pc = policy_client_new(base, cfg);
    char *endpoint = xasprintf("unix:%s", sv->path);
    struct answer a = {0};
    ask(base, pc, endpoint, &a);
    ask(base, pc, endpoint, &a);
    int accepts, requests;
    server_counts(sv, &accepts, &requests);
    assert_int_equal(accepts, 1);
    usleep(1200000); /* longer than max_idle: the connection is closed */
    ask(base, pc, endpoint, &a);
    assert_string_equal(a.action, "OK");
    server_counts(sv, &accepts, &requests);
    assert_int_equal(accepts, 2);
    assert_int_equal(requests, 3);
    free(a.action);
    free(endpoint);
    policy_client_free(pc);
    event_base_free(base);
    config_free(cfg);
    server_stop(sv);
}

static void test_async_timeout_and_failures(void **state)
{
    (void) state;
    struct server *sv = server_start("policy-silent-async", SERVE_SILENT, NULL);
    struct config *cfg = client_config("smtpd_policy_service_timeout = 1s\n");
    struct event_base *base = event_base_new();
    struct policy_client *pc = policy_client_new(base, cfg);
    char *endpoint = xasprintf("unix:%s", sv->path);
    struct answer a = {0};
    test_capture_begin();
    uint64_t t0 = clock_mono_us();
    ask(base, pc, endpoint, &a);
    uint64_t took = clock_mono_us() - t0;
    assert_null(a.action);
    assert_int_equal(a.calls, 1);
    assert_true(took >= 900000);
    assert_true(took < 3000000);
    int accepts, requests;
    server_counts(sv, &accepts, &requests);
    assert_int_equal(requests, 1);

    /* nobody listens: answered at once, with NULL */
    char *missing = xasprintf("unix:%s/no-such-socket", test_tmpdir());
    t0 = clock_mono_us();
    ask(base, pc, missing, &a);
    assert_null(a.action);
    assert_true(clock_mono_us() - t0 < 500000);
    assert_int_equal(a.calls, 2);
    char *warnings = test_capture_end();
    assert_non_null(strstr(warnings, "timeout"));
    free(warnings);
    free(missing);
    free(endpoint);
    policy_client_free(pc);
    event_base_free(base);
    config_free(cfg);
    server_stop(sv);
}

static void test_async_cancel(void **state)
{
    (void) state;
    struct server *sv = server_start("policy-cancel", SERVE_SILENT, NULL);
    struct config *cfg = client_config("smtpd_policy_service_timeout = 1s\n");
    struct event_base *base = event_base_new();
    struct policy_client *pc = policy_client_new(base, cfg);
    char *endpoint = xasprintf("unix:%s", sv->path);
    struct answer a = {.base = base};
    policy_client_query(pc, endpoint, request_text, on_answer, &a);
    struct timeval tv = {0, 200000};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
    policy_client_cancel(pc, &a);
    /* past the timeout: the cancelled query never answers */
    tv.tv_sec = 1;
    tv.tv_usec = 300000;
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
    assert_int_equal(a.calls, 0);

    /* freeing the client with a query in flight answers nobody either */
    policy_client_query(pc, endpoint, request_text, on_answer, &a);
    policy_client_free(pc);
    assert_int_equal(a.calls, 0);
    free(endpoint);
    event_base_free(base);
    config_free(cfg);
    server_stop(sv);
}

/* ---- the engine's request, end to end ---- */

static void test_engine_request_end_to_end(void **state)
{
    (void) state;
    struct server *sv =
        server_start("policy-engine", SERVE_REPLY, "action=REJECT 5.7.1 greylisted by test\n\n");
    struct config *cfg = config_new(test_tmpdir(), NULL);
    struct strlist errors;
    strlist_init(&errors);
    char *text = xasprintf("myhostname = mx.postern.test\n"
                           "mydestination = $myhostname, localhost\n"
                           "inet_interfaces = 127.0.0.1\n"
                           "inet_protocols = ipv4\n"
                           "alias_maps =\n"
                           "queue_directory = %s\n"
                           "smtpd_policy_service_timeout = 2s\n"
                           "smtpd_relay_restrictions = reject_unauth_destination, "
                           "check_policy_service unix:policy-engine\n",
                           test_tmpdir());
    assert_int_equal(config_parse_text(cfg, text, strlen(text), "main.cf", &errors), 0);
    free(text);
    struct policy *p = policy_compile(cfg, &errors);
    assert_non_null(p);
    struct policy_session *s = policy_session_new(p);
    policy_set_client(s, "192.0.2.7", 40001, "mail.example.net", PEER_OK, "mail.example.net",
                      PEER_OK);
    policy_set_server(s, "127.0.0.1", 25);
    policy_set_protocol(s, "ESMTP");
    policy_set_helo(s, "mail.example.net");
    policy_accept_mail(s, "sender@example.net");
    struct policy_result r;
    assert_int_equal(policy_check_rcpt(s, "user@mx.postern.test", &r), POLICY_PENDING);
    size_t n;
    const struct policy_request *req = policy_pending(s, &n);
    assert_int_equal(n, 1);
    assert_int_equal(req[0].type, POLICY_REQ_SERVICE);
    assert_string_equal(req[0].name, "unix:policy-engine");
    unsigned id = req[0].id;
    char *action = policy_client_query_sync(req[0].name, req[0].request, cfg);
    assert_non_null(action);

    /* what the server read: Postfix's attribute lines, then an empty line */
    char *seen = server_last(sv);
    const char *want[] = {"request=smtpd_access_policy\n",
                          "protocol_state=RCPT\n",
                          "protocol_name=ESMTP\n",
                          "client_address=192.0.2.7\n",
                          "client_name=mail.example.net\n",
                          "client_port=40001\n",
                          "reverse_client_name=mail.example.net\n",
                          "server_address=127.0.0.1\n",
                          "server_port=25\n",
                          "helo_name=mail.example.net\n",
                          "sender=sender@example.net\n",
                          "recipient=user@mx.postern.test\n",
                          "recipient_count=0\n",
                          "sasl_username=\n",
                          "encryption_keysize=0\n"};
    assert_true(strncmp(seen, want[0], strlen(want[0])) == 0);
    for (size_t i = 0; i < ARRAY_LEN(want); i++)
        if (strstr(seen, want[i]) == NULL)
            fail_msg("request lacks \"%.*s\":\n%s", (int) strlen(want[i]) - 1, want[i], seen);
    size_t len = strlen(seen);
    assert_true(len > 2 && seen[len - 1] == '\n' && seen[len - 2] == '\n');
    assert_ptr_equal(strstr(seen, "\n\n"), seen + len - 2); /* one empty line, at the end */
    free(seen);

    /* the answer decides the recipient */
    policy_provide_service(s, id, action);
    free(action);
    assert_int_equal(policy_check_rcpt(s, "user@mx.postern.test", &r), POLICY_REJECT);
    assert_string_equal(r.reply, "554 5.7.1 <user@mx.postern.test>: Recipient address rejected: "
                                 "greylisted by test");
    policy_session_free(s);
    policy_free(p);
    config_free(cfg);
    strlist_free(&errors);
    table_cache_clear();
    server_stop(sv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_reply),
        cmocka_unit_test(test_sync_query),
        cmocka_unit_test(test_sync_failures),
        cmocka_unit_test(test_async_reuses_connection),
        cmocka_unit_test(test_async_reconnects_after_close),
        cmocka_unit_test(test_async_idle_expiry),
        cmocka_unit_test(test_async_timeout_and_failures),
        cmocka_unit_test(test_async_cancel),
        cmocka_unit_test(test_engine_request_end_to_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
