/*
 * dovecot - a client of Dovecot's authentication protocol, version 1.x
 * (https://doc.dovecot.org/developer_manual/design/auth_protocol/), as
 * Postfix's xsasl_dovecot_server speaks it, but asynchronous: one connection
 * per server object, every AUTH exchange multiplexed on it by request id.
 *
 *   -> VERSION 1 2 / CPID pid
 *   <- VERSION 1 x / MECH name flags... / SPID / CUID / COOKIE / DONE
 *   -> AUTH id mech service=smtp nologin lip= rip= [secured] [resp=base64]
 *   <- CONT id base64 | OK id user=... | FAIL id [reason=...] [temp] [user=...]
 *   -> CONT id base64 | CANCEL id
 *
 * Fields are TAB-separated; Dovecot escapes TAB, LF, CR and 0x01 in values
 * with 0x01 and a letter.  The connection starts with dovecot_new(); when it
 * breaks, outstanding requests fail temporarily and the next AUTH connects
 * again at once (a background timer with back-off also retries, so the
 * mechanism list stays fresh).  Lines from Dovecot are capped at
 * DOVECOT_LINE_MAX.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "sasl/sasl_int.h"

#define PROTOCOL_MAJOR     1
#define PROTOCOL_MINOR     2
#define HANDSHAKE_TIMEOUT  10 /* seconds from connect to DONE */
#define RETRY_MIN          1  /* background reconnect back-off, seconds */
#define RETRY_MAX          30
#define REASON_CONNECT     "Can't connect to authentication server"
#define REASON_LOST        "Connection lost to authentication server"
#define REASON_TIMEOUT     "Authentication server timed out"
#define REASON_BAD_REPLY   "Authentication backend error"
#define REASON_UNAVAILABLE "(reason unavailable)"

enum dc_state {
    DC_DOWN,
    DC_CONNECTING, /* connect() in progress */
    DC_HANDSHAKE,  /* VERSION/CPID sent, waiting for DONE */
    DC_READY,
};

struct dovecot_request {
    unsigned id;
    struct dovecot_client *dc;
    struct sasl_session *ss;
    char *line;   /* AUTH line not yet sent (connection not ready) */
    bool waiting; /* sent, reply outstanding */
    bool dead;    /* the connection it was sent on is gone */
    struct event *timer;
    struct dovecot_request *prev, *next;
};

struct dovecot_client {
    struct event_base *base;
    char *path; /* as configured, for log lines */
    struct sockaddr_storage addr;
    socklen_t addr_len;
    struct bufferevent *bev;
    enum dc_state state;
    unsigned next_id;
    unsigned connections; /* made so far, for CPID */
    bool got_version;
    bool got_mech;
    struct sasl_mech *mechs; /* from the last DONE */
    size_t mech_count;
    struct sasl_mech *staging; /* during a handshake */
    size_t staging_count;
    struct dovecot_request *requests;
    struct event *retry;
    int backoff;
    bool failing; /* a failure was logged; log the recovery */
};

static void dc_connect(struct dovecot_client *dc);
static void dc_lost(struct dovecot_client *dc, const char *why);

static void mechs_free(struct sasl_mech *m, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(m[i].name);
    free(m);
}

/* unescape - Dovecot's tab-escaping undone, then made printable */
static char *unescape(const char *s)
{
    struct buf b;
    buf_init(&b);
    for (; *s; s++) {
        if (*s == '\001' && s[1]) {
            s++;
            char c = *s == 't'   ? '\t'
                     : *s == 'n' ? '\n'
                     : *s == 'r' ? '\r'
                     : *s == '1' ? '\001'
                                 : '?';
            buf_putc(&b, c);
        } else {
            buf_putc(&b, *s);
        }
    }
    char *out = str_printable(buf_cstr(&b), b.len);
    buf_free(&b);
    return out;
}

/* put_value - a field value with Dovecot's escaping */
static void put_value(struct buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '\001': buf_puts(b, "\0011"); break;
        case '\t': buf_puts(b, "\001t"); break;
        case '\n': buf_puts(b, "\001n"); break;
        case '\r': buf_puts(b, "\001r"); break;
        default: buf_putc(b, *s);
        }
    }
}

/* ---- requests ---- */

static struct dovecot_request *request_find(struct dovecot_client *dc, unsigned id)
{
    for (struct dovecot_request *r = dc->requests; r; r = r->next)
        if (r->id == id)
            return r;
    return NULL;
}

static void request_free(struct dovecot_request *r)
{
    struct dovecot_client *dc = r->dc;
    if (r->prev)
        r->prev->next = r->next;
    else
        dc->requests = r->next;
    if (r->next)
        r->next->prev = r->prev;
    if (r->ss && r->ss->dreq == r)
        r->ss->dreq = NULL;
    event_free(r->timer);
    free(r->line);
    free(r);
}

/* request_finish - a final answer for the session; the request goes */
static void request_finish(struct dovecot_request *r, enum sasl_status status, const char *username,
                           const char *reason)
{
    struct sasl_session *ss = r->ss;
    request_free(r);
    if (ss)
        sasl_session_report(ss, status, SASL_ERR_NONE, NULL, username, reason);
}

static void request_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct dovecot_request *r = arg;
    struct dovecot_client *dc = r->dc;
    log_warnx("SASL: no answer from Dovecot auth socket '%s' within %d seconds", dc->path,
              DOVECOT_REPLY_TIMEOUT);
    if (dc->state == DC_READY && r->waiting)
        evbuffer_add_printf(bufferevent_get_output(dc->bev), "CANCEL\t%u\n", r->id);
    request_finish(r, SASL_TEMPFAIL, NULL, REASON_TIMEOUT);
}

static void request_send(struct dovecot_request *r, const char *line)
{
    struct dovecot_client *dc = r->dc;
    bufferevent_write(dc->bev, line, strlen(line));
    r->waiting = true;
    struct timeval tv = {DOVECOT_REPLY_TIMEOUT, 0};
    event_add(r->timer, &tv);
}

/* ---- the connection ---- */

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
    struct dovecot_client *dc = arg;
    if (dc->state == DC_DOWN)
        dc_connect(dc);
}

/* dc_lost - the connection is gone: fail what waits, plan a retry */
static void dc_lost(struct dovecot_client *dc, const char *why)
{
    bool was_ready = dc->state == DC_READY;
    if (dc->bev) {
        bufferevent_free(dc->bev);
        dc->bev = NULL;
    }
    dc->state = DC_DOWN;
    mechs_free(dc->staging, dc->staging_count);
    dc->staging = NULL;
    dc->staging_count = 0;
    if (!dc->failing) {
        if (was_ready)
            log_warnx("SASL: connection to Dovecot auth socket '%s' lost: %s", dc->path, why);
        else
            log_warnx("SASL: Connect to Dovecot auth socket '%s' failed: %s", dc->path, why);
        dc->failing = true;
    }
    struct dovecot_request *r = dc->requests;
    while (r) {
        struct dovecot_request *next = r->next;
        if (r->line || r->waiting)
            request_finish(r, SASL_TEMPFAIL, NULL, r->line ? REASON_CONNECT : REASON_LOST);
        else
            r->dead = true; /* the session learns it at its next step */
        r = next;
    }
    struct timeval tv = {dc->backoff, 0};
    event_add(dc->retry, &tv);
    dc->backoff = dc->backoff * 2 > RETRY_MAX ? RETRY_MAX : dc->backoff * 2;
}

static void handshake_line(struct dovecot_client *dc, char *line)
{
    char *fields[64];
    size_t n = 0;
    char *save;
    for (char *f = strtok_r(line, "\t", &save); f && n < ARRAY_LEN(fields);
         f = strtok_r(NULL, "\t", &save))
        fields[n++] = f;
    if (n == 0)
        return;
    if (strcmp(fields[0], "VERSION") == 0) {
        long major;
        if (n < 3 || str_to_long(fields[1], &major) == -1) {
            dc_lost(dc, "protocol version error");
            return;
        }
        if (major != PROTOCOL_MAJOR) {
            dc_lost(dc, "protocol version mismatch");
            return;
        }
        dc->got_version = true;
    } else if (strcmp(fields[0], "MECH") == 0 && n >= 2) {
        unsigned props = 0;
        for (size_t i = 2; i < n; i++)
            props |= sasl_dovecot_props(fields[i]);
        dc->got_mech = true;
        if (props & SASL_PROP_PRIVATE)
            return;
        dc->staging = xreallocarray(dc->staging, dc->staging_count + 1, sizeof(*dc->staging));
        dc->staging[dc->staging_count].name = str_printable(fields[1], strlen(fields[1]));
        dc->staging[dc->staging_count].props = props;
        dc->staging_count++;
    } else if (strcmp(fields[0], "SPID") == 0 && !dc->got_mech) {
        dc_lost(dc, "connected to the wrong auth socket (auth-master instead of auth-client)");
    } else if (strcmp(fields[0], "DONE") == 0) {
        if (!dc->got_version) {
            dc_lost(dc, "protocol version error");
            return;
        }
        mechs_free(dc->mechs, dc->mech_count);
        dc->mechs = dc->staging;
        dc->mech_count = dc->staging_count;
        dc->staging = NULL;
        dc->staging_count = 0;
        dc->state = DC_READY;
        dc->backoff = RETRY_MIN;
        bufferevent_set_timeouts(dc->bev, NULL, NULL);
        if (dc->failing)
            log_info("SASL: connected to Dovecot auth socket '%s'", dc->path);
        dc->failing = false;
        for (struct dovecot_request *r = dc->requests; r; r = r->next) {
            if (r->line) {
                char *l = r->line;
                r->line = NULL;
                request_send(r, l);
                free(l);
            }
        }
    }
    /* CUID, COOKIE and anything new are of no use to an SMTP server */
}

static void reply_line(struct dovecot_client *dc, char *line)
{
    char *save;
    char *cmd = strtok_r(line, "\t", &save);
    char *id_text = cmd ? strtok_r(NULL, "\t", &save) : NULL;
    long id;
    if (cmd == NULL || id_text == NULL || str_to_long(id_text, &id) == -1)
        return;
    struct dovecot_request *r = request_find(dc, (unsigned) id);
    if (r == NULL || !r->waiting)
        return; /* cancelled or timed out meanwhile */
    event_del(r->timer);
    r->waiting = false;
    if (strcmp(cmd, "CONT") == 0) {
        /* the challenge is the rest of the line, possibly empty */
        const char *data = save ? save : "";
        struct buf check;
        buf_init(&check);
        int ok = sasl_b64_decode(data, strlen(data), SASL_RESPONSE_MAX, &check);
        buf_free(&check);
        if (ok != 0) {
            log_warnx("SASL: Dovecot auth socket '%s': malformed CONT challenge", dc->path);
            request_finish(r, SASL_FAIL, NULL, REASON_BAD_REPLY);
            return;
        }
        if (r->ss) {
            r->ss->phase = PHASE_WANT_CONT;
            sasl_session_report(r->ss, SASL_CONTINUE, SASL_ERR_NONE, data, NULL, NULL);
        }
        return;
    }
    bool ok = strcmp(cmd, "OK") == 0;
    if (!ok && strcmp(cmd, "FAIL") != 0)
        return;
    char *user = NULL, *reason = NULL;
    bool temp = false;
    for (char *f = strtok_r(NULL, "\t", &save); f; f = strtok_r(NULL, "\t", &save)) {
        if (strncmp(f, "user=", 5) == 0) {
            free(user);
            user = unescape(f + 5);
        } else if (strncmp(f, "reason=", 7) == 0 && !ok) {
            free(reason);
            reason = unescape(f + 7);
        } else if (strcmp(f, "temp") == 0) {
            temp = true;
        }
    }
    if (ok && user == NULL) {
        log_warnx("SASL: missing Dovecot server OK username field");
        request_finish(r, SASL_FAIL, NULL, REASON_BAD_REPLY);
    } else if (ok) {
        request_finish(r, SASL_OK, user, NULL);
    } else {
        request_finish(r, temp ? SASL_TEMPFAIL : SASL_FAIL, user,
                       reason && *reason ? reason : REASON_UNAVAILABLE);
    }
    free(user);
    free(reason);
}

static void dc_read(struct bufferevent *bev, void *arg)
{
    struct dovecot_client *dc = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    while (dc->bev == bev) {
        struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
        if (eol.pos == -1) {
            if (evbuffer_get_length(in) > DOVECOT_LINE_MAX)
                dc_lost(dc, "line too long");
            return;
        }
        if ((size_t) eol.pos > DOVECOT_LINE_MAX) {
            dc_lost(dc, "line too long");
            return;
        }
        size_t len;
        char *line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
        if (line == NULL)
            return;
        if (dc->state == DC_HANDSHAKE)
            handshake_line(dc, line);
        else if (dc->state == DC_READY)
            reply_line(dc, line);
        free(line);
    }
}

static void dc_event(struct bufferevent *bev, short what, void *arg)
{
    struct dovecot_client *dc = arg;
    if (what & BEV_EVENT_CONNECTED) {
        dc->state = DC_HANDSHAKE;
        dc->got_version = dc->got_mech = false;
        /* CPID must be unique among the connections Dovecot has open; a
         * second connection of this process (a reconnect racing with the
         * old connection's close) gets the pid with a counter above it. */
        unsigned pid = (unsigned) getpid();
        unsigned cpid = dc->connections == 0 ? pid : pid | ((dc->connections % 1023 + 1) << 22);
        dc->connections++;
        evbuffer_add_printf(bufferevent_get_output(bev), "VERSION\t%d\t%d\nCPID\t%u\n",
                            PROTOCOL_MAJOR, PROTOCOL_MINOR, cpid);
        return;
    }
    const char *why = (what & BEV_EVENT_TIMEOUT) ? "timeout"
                      : (what & BEV_EVENT_EOF)   ? "connection closed"
                                                 : strerror(EVUTIL_SOCKET_ERROR());
    dc_lost(dc, why);
}

static void dc_connect(struct dovecot_client *dc)
{
    if (dc->state != DC_DOWN)
        return;
    event_del(dc->retry);
    dc->bev = bufferevent_socket_new(dc->base, -1, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(dc->bev, dc_read, NULL, dc_event, dc);
    struct timeval tv = {HANDSHAKE_TIMEOUT, 0};
    bufferevent_set_timeouts(dc->bev, &tv, &tv);
    bufferevent_enable(dc->bev, EV_READ | EV_WRITE);
    dc->state = DC_CONNECTING;
    if (bufferevent_socket_connect(dc->bev, (struct sockaddr *) &dc->addr, (int) dc->addr_len) ==
        -1) {
        /* libevent reports some failures through dc_event already */
        if (dc->state == DC_CONNECTING)
            dc_lost(dc, strerror(errno));
    }
}

struct dovecot_client *dovecot_new(struct event_base *base, const char *path, char **err)
{
    struct dovecot_client *dc = xcalloc(1, sizeof(*dc));
    dc->base = base;
    dc->path = xstrdup(path);
    dc->backoff = RETRY_MIN;
    if (strncmp(path, "inet:", 5) == 0) {
        char *copy = xstrdup(path + 5);
        char *colon = strrchr(copy, ':');
        char *host = copy;
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST}, *res;
        if (colon)
            *colon = 0;
        size_t hl = strlen(host);
        if (hl > 1 && host[0] == '[' && host[hl - 1] == ']') {
            host[hl - 1] = 0;
            host++;
        }
        if (colon == NULL || getaddrinfo(host, colon + 1, &hints, &res) != 0) {
            *err = xasprintf("smtpd_sasl_path %s: expected inet:ADDRESS:PORT with a numeric "
                             "address",
                             path);
            free(copy);
            dovecot_free(dc);
            return NULL;
        }
        memcpy(&dc->addr, res->ai_addr, res->ai_addrlen);
        dc->addr_len = res->ai_addrlen;
        freeaddrinfo(res);
        free(copy);
    } else {
        const char *p = strncmp(path, "unix:", 5) == 0 ? path + 5 : path;
        struct sockaddr_un *sun = (struct sockaddr_un *) &dc->addr;
        if (*p == 0 || strlen(p) >= sizeof(sun->sun_path)) {
            *err = xasprintf("smtpd_sasl_path %s: not a usable unix socket path", path);
            dovecot_free(dc);
            return NULL;
        }
        sun->sun_family = AF_UNIX;
        memcpy(sun->sun_path, p, strlen(p) + 1);
        dc->addr_len = sizeof(*sun);
    }
    dc->retry = evtimer_new(base, retry_cb, dc);
    dc_connect(dc);
    return dc;
}

void dovecot_free(struct dovecot_client *dc)
{
    if (dc == NULL)
        return;
    while (dc->requests)
        request_free(dc->requests);
    if (dc->bev)
        bufferevent_free(dc->bev);
    if (dc->retry)
        event_free(dc->retry);
    mechs_free(dc->mechs, dc->mech_count);
    mechs_free(dc->staging, dc->staging_count);
    free(dc->path);
    free(dc);
}

const struct sasl_mech *dovecot_mechanisms(const struct dovecot_client *dc, size_t *count)
{
    *count = dc->mech_count;
    return dc->mechs;
}

bool dovecot_connected(const struct dovecot_client *dc)
{
    return dc->state == DC_READY;
}

bool dovecot_settled(const struct dovecot_client *dc)
{
    return dc->mech_count > 0 || dc->failing;
}

/* valid_ip - only literal addresses reach Dovecot (it rejects others) */
static bool valid_ip(const char *s)
{
    unsigned char tmp[16];
    if (s == NULL)
        return false;
    if (strncasecmp(s, "IPv6:", 5) == 0)
        s += 5;
    return inet_pton(AF_INET, s, tmp) == 1 || inet_pton(AF_INET6, s, tmp) == 1;
}

void dovecot_auth(struct dovecot_client *dc, struct sasl_session *ss, const char *mechanism,
                  const char *resp, const char *service, const char *local_ip,
                  const char *client_ip, bool secured)
{
    struct dovecot_request *r = xcalloc(1, sizeof(*r));
    r->dc = dc;
    r->ss = ss;
    r->id = ++dc->next_id;
    if (r->id == 0)
        r->id = ++dc->next_id;
    r->timer = evtimer_new(dc->base, request_timeout, r);
    r->next = dc->requests;
    if (dc->requests)
        dc->requests->prev = r;
    dc->requests = r;
    ss->dreq = r;

    struct buf b;
    buf_init(&b);
    buf_printf(&b, "AUTH\t%u\t%s\tservice=", r->id, mechanism);
    put_value(&b, service);
    buf_puts(&b, "\tnologin");
    if (valid_ip(local_ip))
        buf_printf(&b, "\tlip=%s", strncasecmp(local_ip, "IPv6:", 5) ? local_ip : local_ip + 5);
    if (valid_ip(client_ip))
        buf_printf(&b, "\trip=%s", strncasecmp(client_ip, "IPv6:", 5) ? client_ip : client_ip + 5);
    if (secured)
        buf_puts(&b, "\tsecured");
    if (resp)
        buf_printf(&b, "\tresp=%s", resp);
    buf_putc(&b, '\n');
    if (dc->state == DC_READY) {
        request_send(r, buf_cstr(&b));
        buf_free(&b);
    } else {
        r->line = buf_steal(&b);
        dc_connect(dc); /* may fail r at once (reported from the loop) */
    }
}

void dovecot_continue(struct dovecot_client *dc, struct sasl_session *ss, const char *resp)
{
    struct dovecot_request *r = ss->dreq;
    if (r == NULL || r->dead || dc->state != DC_READY) {
        if (r)
            request_free(r);
        sasl_session_report(ss, SASL_TEMPFAIL, SASL_ERR_NONE, NULL, NULL, REASON_LOST);
        return;
    }
    char *line = xasprintf("CONT\t%u\t%s\n", r->id, resp);
    request_send(r, line);
    free(line);
}

void dovecot_cancel(struct dovecot_client *dc, struct sasl_session *ss)
{
    struct dovecot_request *r = ss->dreq;
    if (r == NULL)
        return;
    if (dc->state == DC_READY && !r->dead && r->line == NULL)
        evbuffer_add_printf(bufferevent_get_output(dc->bev), "CANCEL\t%u\n", r->id);
    request_free(r);
}
