/*
 * anvil - per-client counters shared by all smtpd workers, for
 * smtpd_client_connection_count_limit and the *_rate_limit parameters: a
 * small server process (started by the master) that keeps, per service
 * and client address, the number of open connections and the events of
 * the current anvil_rate_time_unit window.  Workers talk to it over a unix
 * socket with one-line requests:
 *
 *   connect SERVICE ADDR    -> "count=C rate=R"   (C includes this one)
 *   disconnect SERVICE ADDR -> "ok"
 *   message|rcpt|tls|auth SERVICE ADDR -> "rate=R"
 *
 * When anvil is unreachable a worker allows the event (limits are a
 * defence, not a reason to refuse mail).
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "smtp/anvil.h"
#include "util/util.h"

#define ANVIL_LINE_MAX 512

/* ---- the server ---- */

struct counter {
    unsigned connections;
    unsigned rate[5]; /* connect, message, rcpt, tls, auth */
    time_t window_start;
};

struct anvil_server {
    struct event_base *base;
    struct htable *clients; /* "SERVICE ADDR" -> struct counter */
    long window;            /* anvil_rate_time_unit, seconds */
};

static const char *const events[] = {"connect", "message", "rcpt", "tls", "auth"};

static struct counter *counter_for(struct anvil_server *a, const char *key)
{
    struct counter *c = htable_get(a->clients, key);
    if (c == NULL) {
        c = xcalloc(1, sizeof(*c));
        c->window_start = time(NULL);
        htable_put(a->clients, key, c);
    }
    time_t now = time(NULL);
    if (now - c->window_start >= a->window) {
        memset(c->rate, 0, sizeof(c->rate));
        c->window_start = now;
    }
    return c;
}

static void serve_line(struct anvil_server *a, char *line, struct evbuffer *out)
{
    char *save, *verb = strtok_r(line, " ", &save), *svc = strtok_r(NULL, " ", &save),
                *addr = strtok_r(NULL, " ", &save);
    if (verb == NULL || svc == NULL || addr == NULL) {
        evbuffer_add_printf(out, "error\n");
        return;
    }
    char key[ANVIL_LINE_MAX];
    snprintf(key, sizeof(key), "%s %s", svc, addr);
    struct counter *c = counter_for(a, key);
    if (strcmp(verb, "disconnect") == 0) {
        if (c->connections)
            c->connections--;
        evbuffer_add_printf(out, "ok\n");
        return;
    }
    for (size_t i = 0; i < ARRAY_LEN(events); i++) {
        if (strcmp(verb, events[i]) != 0)
            continue;
        c->rate[i]++;
        if (i == 0) {
            c->connections++;
            evbuffer_add_printf(out, "count=%u rate=%u\n", c->connections, c->rate[0]);
        } else {
            evbuffer_add_printf(out, "rate=%u\n", c->rate[i]);
        }
        return;
    }
    evbuffer_add_printf(out, "error\n");
}

static void server_read(struct bufferevent *bev, void *arg)
{
    struct anvil_server *a = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    char *line;
    size_t n;
    while ((line = evbuffer_readln(in, &n, EVBUFFER_EOL_LF)) != NULL) {
        if (n < ANVIL_LINE_MAX)
            serve_line(a, line, bufferevent_get_output(bev));
        free(line);
    }
    if (evbuffer_get_length(in) > ANVIL_LINE_MAX)
        bufferevent_free(bev);
}

static void server_event(struct bufferevent *bev, short what, void *arg)
{
    (void) arg;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        bufferevent_free(bev);
}

static void server_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                          int len, void *arg)
{
    (void) l, (void) sa, (void) len;
    struct anvil_server *a = arg;
    struct bufferevent *bev = bufferevent_socket_new(a->base, fd, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(bev, server_read, NULL, server_event, a);
    bufferevent_enable(bev, EV_READ);
}

static void server_tick(evutil_socket_t fd, short what, void *arg)
{
    (void) fd, (void) what;
    /* Forget clients with no connections whose window has passed. */
    struct anvil_server *a = arg;
    struct htable_iter it = {0};
    const char *key;
    void *value;
    struct strlist dead;
    strlist_init(&dead);
    time_t now = time(NULL);
    while (htable_next(a->clients, &it, &key, &value)) {
        struct counter *c = value;
        if (c->connections == 0 && now - c->window_start >= a->window)
            strlist_add(&dead, key);
    }
    for (size_t i = 0; i < dead.count; i++)
        free(htable_remove(a->clients, dead.items[i]));
    strlist_free(&dead);
}

static void server_term(evutil_socket_t fd, short what, void *arg)
{
    (void) fd, (void) what;
    event_base_loopbreak(((struct anvil_server *) arg)->base);
}

int anvil_server_run(int listen_fd, long window_seconds)
{
    signal(SIGPIPE, SIG_IGN);
    struct anvil_server a = {.window = window_seconds > 0 ? window_seconds : 60};
    a.base = event_base_new();
    a.clients = htable_new(64);
    struct evconnlistener *l =
        evconnlistener_new(a.base, server_accept, &a, LEV_OPT_CLOSE_ON_FREE, -1, listen_fd);
    struct event *tick = event_new(a.base, -1, EV_PERSIST, server_tick, &a);
    struct timeval tv = {10, 0};
    event_add(tick, &tv);
    struct event *term = evsignal_new(a.base, SIGTERM, server_term, &a);
    event_add(term, NULL);
    event_base_dispatch(a.base);
    event_free(term);
    event_free(tick);
    evconnlistener_free(l);
    htable_free(a.clients, free);
    event_base_free(a.base);
    return 0;
}

/* ---- the client (in workers) ---- */

struct anvil_request {
    anvil_done_fn done;
    void *arg;
    struct anvil_request *next;
};

struct anvil_client {
    struct event_base *base;
    char *path;
    struct bufferevent *bev;
    struct anvil_request *head, *tail; /* replies come in request order */
};

struct anvil_client *anvil_client_new(struct event_base *base, const char *path)
{
    struct anvil_client *c = xcalloc(1, sizeof(*c));
    c->base = base;
    c->path = xstrdup(path);
    return c;
}

static void fail_all(struct anvil_client *c)
{
    struct anvil_request *r = c->head;
    c->head = c->tail = NULL;
    while (r) {
        struct anvil_request *next = r->next;
        if (r->done)
            r->done(r->arg, 0, 0);
        free(r);
        r = next;
    }
}

static void client_read(struct bufferevent *bev, void *arg)
{
    struct anvil_client *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    char *line;
    size_t n;
    while ((line = evbuffer_readln(in, &n, EVBUFFER_EOL_LF)) != NULL) {
        struct anvil_request *r = c->head;
        if (r) {
            c->head = r->next;
            if (c->head == NULL)
                c->tail = NULL;
            unsigned count = 0, rate = 0;
            char *p;
            if ((p = strstr(line, "count=")) != NULL)
                count = (unsigned) strtoul(p + 6, NULL, 10);
            if ((p = strstr(line, "rate=")) != NULL)
                rate = (unsigned) strtoul(p + 5, NULL, 10);
            if (r->done)
                r->done(r->arg, count, rate);
            free(r);
        }
        free(line);
    }
}

static void client_event(struct bufferevent *bev, short what, void *arg)
{
    struct anvil_client *c = arg;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        bufferevent_free(bev);
        c->bev = NULL;
        fail_all(c);
    }
}

static bool ensure_connected(struct anvil_client *c)
{
    if (c->bev)
        return true;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return false;
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", c->path);
    if (connect(fd, (struct sockaddr *) &sun, sizeof(sun)) == -1) {
        close(fd);
        return false;
    }
    evutil_make_socket_nonblocking(fd);
    c->bev = bufferevent_socket_new(c->base, fd, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(c->bev, client_read, NULL, client_event, c);
    bufferevent_enable(c->bev, EV_READ);
    return true;
}

void anvil_request(struct anvil_client *c, const char *verb, const char *service, const char *addr,
                   anvil_done_fn done, void *arg)
{
    if (c == NULL || !ensure_connected(c)) {
        /* No anvil: allow (the callback runs before this returns). */
        if (done)
            done(arg, 0, 0);
        return;
    }
    struct anvil_request *r = xcalloc(1, sizeof(*r));
    r->done = done;
    r->arg = arg;
    if (c->tail)
        c->tail->next = r;
    else
        c->head = r;
    c->tail = r;
    evbuffer_add_printf(bufferevent_get_output(c->bev), "%s %s %s\n", verb, service, addr);
}

void anvil_cancel(struct anvil_client *c, void *arg)
{
    for (struct anvil_request *r = c ? c->head : NULL; r; r = r->next)
        if (r->arg == arg)
            r->done = NULL;
}

void anvil_client_free(struct anvil_client *c)
{
    if (c == NULL)
        return;
    if (c->bev)
        bufferevent_free(c->bev);
    struct anvil_request *r = c->head;
    while (r) {
        struct anvil_request *next = r->next;
        free(r);
        r = next;
    }
    free(c->path);
    free(c);
}
