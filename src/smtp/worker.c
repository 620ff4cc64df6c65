/*
 * worker - one smtpd worker process: an event loop that accepts on the
 * listening sockets it inherited from the master and serves many sessions
 * at once.  SIGTERM stops it at once; SIGUSR1 ("drain", sent on reload)
 * stops accepting and lets open sessions finish.  Once a second it lets
 * tables see files that were rebuilt.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smtp/smtp_int.h"
#include "table/table.h"

#define DRAIN_MAX_SECONDS 600 /* sessions still open then are dropped */
#define BACKEND_WAIT_MS   3000

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
{
    (void) l;
    struct service *svc = arg;
    struct worker *w = svc->worker;
    evutil_make_socket_nonblocking(fd);
    evutil_make_socket_closeonexec(fd);
    session_accept(w, svc, fd, sa, salen);
}

static void accept_error_cb(struct evconnlistener *l, void *arg)
{
    (void) l, (void) arg;
    int e = EVUTIL_SOCKET_ERROR();
    if (e == EMFILE || e == ENFILE)
        log_warnx("accept: %s: pausing for a second", evutil_socket_error_to_string(e));
    else
        log_warnx("accept: %s", evutil_socket_error_to_string(e));
}

static void stop_listening(struct worker *w)
{
    for (size_t i = 0; i < w->n_services; i++) {
        struct service *svc = &w->services[i];
        for (size_t k = 0; k < svc->n_fds; k++) {
            if (svc->listeners && svc->listeners[k]) {
                evconnlistener_free(svc->listeners[k]);
                svc->listeners[k] = NULL;
            }
            if (svc->fds[k] >= 0) {
                close(svc->fds[k]);
                svc->fds[k] = -1;
            }
        }
    }
}

static void stop_loop(struct worker *w)
{
    w->stop = true;
    event_base_loopbreak(w->base);
}

static void on_term(evutil_socket_t sig, short what, void *arg)
{
    (void) sig, (void) what;
    struct worker *w = arg;
    stop_loop(w);
}

static void on_drain(evutil_socket_t sig, short what, void *arg)
{
    (void) sig, (void) what;
    struct worker *w = arg;
    if (w->draining)
        return;
    w->draining = true;
    stop_listening(w);
    if (w->n_sessions == 0)
        stop_loop(w);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void) fd, (void) what;
    struct worker *w = arg;
    table_refresh_all();
    if (w->draining) {
        if (w->n_sessions == 0 || ++w->drain_seconds > DRAIN_MAX_SECONDS)
            stop_loop(w);
    }
}

/* wait_for_backends - run the loop until every SASL back end knows its
 * mechanisms (or has failed), at most BACKEND_WAIT_MS; clients wait in the
 * listen queue meanwhile */
static void wake(evutil_socket_t fd, short what, void *arg)
{
    (void) fd, (void) what, (void) arg;
}

static void wait_for_backends(struct worker *w)
{
    uint64_t deadline = clock_mono_us() + BACKEND_WAIT_MS * 1000;
    struct event *tick = evtimer_new(w->base, wake, NULL);
    for (;;) {
        bool settled = true;
        for (size_t i = 0; i < w->n_services; i++)
            if (w->services[i].sasl && !sasl_server_settled(w->services[i].sasl))
                settled = false;
        if (settled || clock_mono_us() > deadline)
            break;
        struct timeval tv = {0, 10000};
        evtimer_add(tick, &tv);
        event_base_loop(w->base, EVLOOP_ONCE);
    }
    event_free(tick);
}

int worker_run(struct worker *w)
{
    signal(SIGPIPE, SIG_IGN);
    w->base = event_base_new();
    if (w->base == NULL)
        fatalx("event_base_new failed");
    char *err = NULL;
    const char *servers = config_get(w->main_cfg, "postern_dns_servers");
    w->resolver = dns_resolver_new(w->base, servers, &err);
    if (w->resolver == NULL)
        fatalx("DNS resolver: %s", err ? err : "failed");
    w->policy_client = policy_client_new(w->base, w->main_cfg);
    w->anvil = w->anvil_path ? anvil_client_new(w->base, w->anvil_path) : NULL;
    w->max_sessions = (unsigned) config_get_int(w->main_cfg, "default_process_limit");
    for (size_t i = 0; i < w->n_services; i++) {
        struct service *svc = &w->services[i];
        svc->worker = w;
        if (svc->sasl_enable) {
            svc->sasl = sasl_server_new(w->base, svc->cfg, &err);
            if (svc->sasl == NULL) {
                log_warnx("SASL: %s; authentication is not offered", err ? err : "failed");
                free(err);
                err = NULL;
            }
        }
    }
    wait_for_backends(w);
    if (w->drop_privileges)
        w->drop_privileges();
    /* Opened as mail_owner: the files it makes (and its threads' files
     * made ahead) belong to it.  The working directory is the queue
     * directory (master.c). */
    long threads = config_get_int(w->main_cfg, "postern_queue_fsync_threads");
    w->queue = queue_open(".", w->base, threads > 0 ? (int) threads : 2, &err);
    if (w->queue == NULL)
        fatalx("queue: %s", err ? err : "cannot open");
    for (size_t i = 0; i < w->n_services; i++) {
        struct service *svc = &w->services[i];
        svc->listeners = xcalloc(svc->n_fds, sizeof(*svc->listeners));
        for (size_t k = 0; k < svc->n_fds; k++) {
            svc->listeners[k] =
                evconnlistener_new(w->base, accept_cb, svc, LEV_OPT_REUSEABLE, -1, svc->fds[k]);
            if (svc->listeners[k] == NULL)
                fatalx("listener for %s: %s", svc->name, strerror(errno));
            evconnlistener_set_error_cb(svc->listeners[k], accept_error_cb);
        }
    }
    w->sigterm = evsignal_new(w->base, SIGTERM, on_term, w);
    event_add(w->sigterm, NULL);
    w->sigdrain = evsignal_new(w->base, SIGUSR1, on_drain, w);
    event_add(w->sigdrain, NULL);
    w->tick = event_new(w->base, -1, EV_PERSIST, on_tick, w);
    struct timeval one = {1, 0};
    event_add(w->tick, &one);

    /* One pass of the loop at a time: the log lines of a pass go out in
     * one write. */
    log_set_batching(true);
    while (!w->stop && event_base_loop(w->base, EVLOOP_ONCE) == 0)
        log_flush();
    log_set_batching(false);

    stop_listening(w);
    session_free_all(w);
    for (size_t i = 0; i < w->n_services; i++)
        sasl_server_free(w->services[i].sasl);
    policy_client_free(w->policy_client);
    anvil_client_free(w->anvil);
    dns_resolver_free(w->resolver);
    queue_close(w->queue);
    event_free(w->sigterm);
    event_free(w->sigdrain);
    event_free(w->tick);
    event_base_free(w->base);
    return 0;
}
