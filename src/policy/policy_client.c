/*
 * policy_client - see policy_client.h.  A request is the attribute block
 * the engine built; a reply is "name=value" lines ending with an empty
 * line, of which only "action" matters.  Replies are capped in size.
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "policy/policy_client.h"
#include "util/util.h"

#define REPLY_MAX 8192

char *policy_client_parse_reply(const char *reply, size_t len)
{
    const char *end = reply + len;
    const char *line = reply;
    char *action = NULL;
    while (line < end) {
        const char *nl = memchr(line, '\n', (size_t) (end - line));
        if (nl == NULL)
            break;
        size_t n = (size_t) (nl - line);
        if (n > 0 && line[n - 1] == '\r')
            n--;
        if (n == 0)
            return action ? action : xstrdup("");
        if (n > 7 && strncmp(line, "action=", 7) == 0) {
            free(action);
            action = xstrndup(line + 7, n - 7);
        }
        line = nl + 1;
    }
    free(action);
    return NULL; /* incomplete */
}

/* connect_endpoint - a non-blocking socket connecting to inet:H:P or unix:P */
static int connect_endpoint(const char *endpoint, struct config *cfg)
{
    if (strncmp(endpoint, "unix:", 5) == 0) {
        const char *path = endpoint + 5;
        char *full = NULL;
        if (path[0] != '/' && cfg)
            full = xasprintf("%s/%s", config_get(cfg, "queue_directory"), path);
        struct sockaddr_un sun = {.sun_family = AF_UNIX};
        snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", full ? full : path);
        free(full);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd == -1)
            return -1;
        if (connect(fd, (struct sockaddr *) &sun, sizeof(sun)) == -1 && errno != EINPROGRESS) {
            close(fd);
            return -1;
        }
        return fd;
    }
    const char *hostport = strncmp(endpoint, "inet:", 5) == 0 ? endpoint + 5 : endpoint;
    char *copy = xstrdup(hostport);
    char *colon = strrchr(copy, ':');
    if (colon == NULL) {
        free(copy);
        return -1;
    }
    *colon = 0;
    char *host = copy;
    size_t hl = strlen(host);
    if (hl > 1 && host[0] == '[' && host[hl - 1] == ']') {
        host[hl - 1] = 0;
        host++;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
    if (getaddrinfo(host, colon + 1, &hints, &res) != 0) {
        free(copy);
        return -1;
    }
    free(copy);
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd != -1 && connect(fd, res->ai_addr, res->ai_addrlen) == -1 && errno != EINPROGRESS) {
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

char *policy_client_query_sync(const char *endpoint, const char *request, struct config *cfg)
{
    long timeout_ms = cfg ? config_get_time_ms(cfg, "smtpd_policy_service_timeout") : 100000;
    int fd = connect_endpoint(endpoint, cfg);
    if (fd == -1)
        return NULL;
    uint64_t deadline = clock_mono_us() + (uint64_t) timeout_ms * 1000;
    size_t sent = 0, len = strlen(request);
    struct buf reply;
    buf_init(&reply);
    char *action = NULL;
    while (action == NULL) {
        uint64_t now = clock_mono_us();
        if (now >= deadline)
            break;
        struct pollfd p = {.fd = fd, .events = sent < len ? POLLOUT : POLLIN};
        int r = poll(&p, 1, (int) ((deadline - now) / 1000) + 1);
        if (r <= 0)
            break;
        if (sent < len) {
            ssize_t n = write(fd, request + sent, len - sent);
            if (n <= 0)
                break;
            sent += (size_t) n;
            continue;
        }
        char chunk[1024];
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n <= 0 || reply.len + (size_t) n > REPLY_MAX)
            break;
        buf_append(&reply, chunk, (size_t) n);
        action = policy_client_parse_reply(reply.data, reply.len);
    }
    close(fd);
    buf_free(&reply);
    return action;
}

/* ---- asynchronous client ---- */

struct conn;

struct query {
    struct policy_client *pc;
    struct conn *conn;
    char *request;
    size_t sent;
    struct buf reply;
    policy_client_done_fn done;
    void *arg;
    struct event *timer;
    int tries;
    char *endpoint;
    struct query *next; /* all queries */
};

struct conn {
    struct policy_client *pc;
    char *endpoint;
    int fd;
    struct event *ev;
    struct query *busy; /* NULL: idle */
    uint64_t born_us, idle_since_us;
    struct conn *next;
};

struct policy_client {
    struct event_base *base;
    struct config *cfg;
    struct conn *conns;
    struct query *queries;
    long timeout_ms, max_idle_ms, max_ttl_ms;
    int try_limit;
};

struct policy_client *policy_client_new(struct event_base *base, struct config *cfg)
{
    struct policy_client *pc = xcalloc(1, sizeof(*pc));
    pc->base = base;
    pc->cfg = cfg;
    pc->timeout_ms = config_get_time_ms(cfg, "smtpd_policy_service_timeout");
    pc->max_idle_ms = config_get_time_ms(cfg, "smtpd_policy_service_max_idle");
    pc->max_ttl_ms = config_get_time_ms(cfg, "smtpd_policy_service_max_ttl");
    pc->try_limit = (int) config_get_int(cfg, "smtpd_policy_service_try_limit");
    if (pc->try_limit < 1)
        pc->try_limit = 1;
    return pc;
}

static void conn_close(struct policy_client *pc, struct conn *c)
{
    struct conn **pp;
    for (pp = &pc->conns; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    if (c->ev)
        event_free(c->ev);
    if (c->fd != -1)
        close(c->fd);
    free(c->endpoint);
    free(c);
}

static void query_finish(struct query *q, const char *action)
{
    struct policy_client *pc = q->pc;
    struct query **pp;
    for (pp = &pc->queries; *pp; pp = &(*pp)->next)
        if (*pp == q) {
            *pp = q->next;
            break;
        }
    if (q->timer)
        event_free(q->timer);
    struct conn *c = q->conn;
    if (c) {
        c->busy = NULL;
        if (action == NULL) {
            conn_close(pc, c);
        } else {
            event_del(c->ev);
            c->idle_since_us = clock_mono_us();
        }
    }
    policy_client_done_fn done = q->done;
    void *arg = q->arg;
    free(q->request);
    free(q->endpoint);
    buf_free(&q->reply);
    free(q);
    if (done)
        done(arg, action);
}

static void start(struct query *q);

static void conn_event(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    struct query *q = c->busy;
    ssize_t n = -1;
    if (q == NULL) {
        /* The server closed an idle connection. */
        conn_close(c->pc, c);
        return;
    }
    if (what & EV_WRITE) {
        size_t len = strlen(q->request);
        n = send(fd, q->request + q->sent, len - q->sent, MSG_NOSIGNAL);
        if (n <= 0)
            goto failed;
        q->sent += (size_t) n;
        if (q->sent == len) {
            event_del(c->ev);
            event_assign(c->ev, q->pc->base, fd, EV_READ | EV_PERSIST, conn_event, c);
            event_add(c->ev, NULL);
        }
        return;
    }
    char chunk[2048];
    n = recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0 || q->reply.len + (size_t) n > REPLY_MAX)
        goto failed;
    buf_append(&q->reply, chunk, (size_t) n);
    char *action = policy_client_parse_reply(q->reply.data, q->reply.len);
    if (action) {
        query_finish(q, action);
        free(action);
    }
    return;
failed:
    if (q->sent == 0 || q->reply.len == 0) {
        /* A reused connection may have been closed: try a fresh one. */
        c->busy = NULL;
        q->conn = NULL;
        conn_close(q->pc, c);
        if (++q->tries < q->pc->try_limit) {
            q->sent = 0;
            buf_reset(&q->reply);
            start(q);
            return;
        }
    }
    log_warnx("problem talking to server %s: %s", q->endpoint,
              n == 0 ? "Connection closed" : strerror(errno));
    query_finish(q, NULL);
}

static void query_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void) fd, (void) what;
    struct query *q = arg;
    log_warnx("timeout on %s while waiting for the policy server", q->endpoint);
    query_finish(q, NULL);
}

static void start(struct query *q)
{
    struct policy_client *pc = q->pc;
    uint64_t now = clock_mono_us();
    struct conn *c = NULL;
    for (struct conn *k = pc->conns, *next; k; k = next) {
        next = k->next;
        if (k->busy)
            continue;
        bool stale = (now - k->idle_since_us) / 1000 > (uint64_t) pc->max_idle_ms ||
                     (now - k->born_us) / 1000 > (uint64_t) pc->max_ttl_ms;
        if (stale) {
            conn_close(pc, k);
            continue;
        }
        if (c == NULL && strcmp(k->endpoint, q->endpoint) == 0)
            c = k;
    }
    if (c == NULL) {
        int fd = connect_endpoint(q->endpoint, pc->cfg);
        if (fd == -1) {
            log_warnx("connect to %s: %s", q->endpoint, strerror(errno));
            query_finish(q, NULL);
            return;
        }
        c = xcalloc(1, sizeof(*c));
        c->pc = pc;
        c->endpoint = xstrdup(q->endpoint);
        c->fd = fd;
        c->born_us = now;
        c->ev = event_new(pc->base, fd, EV_WRITE | EV_PERSIST, conn_event, c);
        c->next = pc->conns;
        pc->conns = c;
    } else {
        event_del(c->ev);
        event_assign(c->ev, pc->base, c->fd, EV_WRITE | EV_PERSIST, conn_event, c);
    }
    c->busy = q;
    q->conn = c;
    event_add(c->ev, NULL);
}

void policy_client_query(struct policy_client *pc, const char *endpoint, const char *request,
                         policy_client_done_fn done, void *arg)
{
    struct query *q = xcalloc(1, sizeof(*q));
    q->pc = pc;
    q->request = xstrdup(request);
    q->endpoint = xstrdup(endpoint);
    q->done = done;
    q->arg = arg;
    buf_init(&q->reply);
    q->next = pc->queries;
    pc->queries = q;
    q->timer = evtimer_new(pc->base, query_timeout, q);
    struct timeval tv = {pc->timeout_ms / 1000, (pc->timeout_ms % 1000) * 1000};
    evtimer_add(q->timer, &tv);
    start(q);
}

void policy_client_cancel(struct policy_client *pc, void *arg)
{
    for (struct query *q = pc->queries, *next; q; q = next) {
        next = q->next;
        if (q->arg == arg) {
            q->done = NULL;
            q->arg = NULL;
            if (q->conn) {
                conn_close(pc, q->conn);
                q->conn = NULL;
            }
            query_finish(q, NULL);
        }
    }
}

void policy_client_free(struct policy_client *pc)
{
    if (pc == NULL)
        return;
    while (pc->queries) {
        pc->queries->done = NULL;
        query_finish(pc->queries, NULL);
    }
    while (pc->conns)
        conn_close(pc, pc->conns);
    free(pc);
}
