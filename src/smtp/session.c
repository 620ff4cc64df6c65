/*
 * session - one SMTP connection: accept, the PROXY header, the client's
 * name lookup, the greeting, the line reader with its hard limits, reply
 * output (footers, soft_bounce, error sleeps), timers, the suspension of a
 * command while the policy engine waits for DNS answers or a policy server,
 * and the Postfix-format log lines (connect, disconnect with command
 * counts, lost connection, timeout).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "smtp/smtp_int.h"
#include "table/table.h"

static void read_cb(struct bufferevent *bev, void *arg);
static void event_cb(struct bufferevent *bev, short what, void *arg);
static void timer_cb(evutil_socket_t fd, short what, void *arg);
static void start_session(struct session *s);
static void connection_ready(struct session *s);
static void proxy_done(struct session *s);
static void proxy_failed(struct session *s, const char *why);
static void proxy_read_cb(evutil_socket_t fd, short what, void *arg);
static void lost(struct session *s, const char *what);

static bool reading_state(enum session_state st)
{
    return st == ST_COMMAND || st == ST_DATA || st == ST_BDAT || st == ST_AUTH;
}

/* ---- logging ---- */

void session_log(struct session *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    log_info("%s", msg);
    free(msg);
    (void) s;
}

static void log_policy_lines(struct session *s)
{
    const struct strlist *lines = policy_log_lines(s->ps);
    for (size_t i = 0; i < lines->count; i++) {
        const char *l = lines->items[i];
        if (strncmp(l, "warning: ", 9) == 0)
            log_warnx("%s", l + 9);
        else
            log_info("%s", l);
    }
}

/* ---- timers ---- */

void session_arm_timer(struct session *s, long ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(s->timer, &tv);
}

/* ---- replies ---- */

/* footer_template - smtpd_reject_footer_maps (keyed by the reply text
 * without its codes), else smtpd_reject_footer */
static const char *footer_template(struct session *s, const char *text)
{
    const char *key = text + (strlen(text) > 4 ? 4 : strlen(text));
    if ((key[0] == '4' || key[0] == '5') && key[1] == '.') { /* enhanced code */
        size_t n = strcspn(key, " ");
        key += n + (key[n] == ' ');
    }
    for (size_t i = 0; i < s->svc->n_footer_maps; i++) {
        const char *v;
        if (table_lookup(s->svc->footer_maps[i], key, &v) == TABLE_FOUND)
            return v;
    }
    return config_get(s->svc->cfg, "smtpd_reject_footer");
}

/* append_footer - "\n" in the footer breaks lines; a leading "\c" joins it
 * to the last line of the reply */
static void append_footer(struct session *s, struct buf *all, const char *text)
{
    const char *template = footer_template(s, text);
    if (*template == 0)
        return;
    const char *where =
        s->pending_cmd >= 0 && s->pending_cmd < CMD_COUNT ? smtp_command_names[s->pending_cmd] : "";
    char *footer = policy_expand(s->ps, where, template);
    if (footer == NULL) {
        log_warnx("smtpd_reject_footer: bad macro syntax: %s", template);
        return;
    }
    const char *f = footer;
    if (strncmp(f, "\\c", 2) == 0)
        f += 2;
    else
        buf_putc(all, '\n');
    for (; *f; f++) {
        if (f[0] == '\\' && f[1] == 'n') {
            buf_putc(all, '\n');
            f++;
        } else {
            buf_putc(all, *f);
        }
    }
    free(footer);
}

static void hold_done(evutil_socket_t fd, short what, void *arg)
{
    (void) fd, (void) what;
    struct session *s = arg;
    session_enter(s);
    s->holding = false;
    if (s->closing)
        return;
    bufferevent_enable(s->bev, EV_WRITE);
    if (reading_state(s->state))
        bufferevent_enable(s->bev, EV_READ);
    session_process_input(s);
}

/*
 * hold_output - smtpd_error_sleep_time: once the client has made
 * smtpd_soft_error_limit errors, each reply waits that long before it is
 * sent, and nothing more is read meanwhile (a timer, not a sleeping
 * process)
 */
static void hold_output(struct session *s)
{
    if (s->holding || s->svc->error_sleep_ms <= 0 || s->error_count < s->svc->soft_error_limit)
        return;
    s->holding = true;
    bufferevent_disable(s->bev, EV_WRITE | EV_READ);
    if (s->sleep_ev == NULL)
        s->sleep_ev = evtimer_new(s->w->base, hold_done, s);
    struct timeval tv = {s->svc->error_sleep_ms / 1000, (s->svc->error_sleep_ms % 1000) * 1000};
    evtimer_add(s->sleep_ev, &tv);
}

/*
 * write_reply - one reply (possibly multi-line via '\n') as SMTP lines.
 * soft_bounce turns 5xx into 4xx everywhere, as Postfix's reply output
 * does; the reject footer is appended to 4xx and 5xx replies; every line
 * of a multi-line reply repeats the code and the enhanced code.
 */
/* send_direct - write to the socket at once; what does not fit goes to
 * the bufferevent, which sends it when the socket can take it.  No epoll
 * change for the usual reply that fits. */
static void send_direct(struct session *s, const char *data, size_t len)
{
    ssize_t n = send(s->fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0)
        n = 0; /* EAGAIN, or an error the bufferevent will report */
    if ((size_t) n < len)
        evbuffer_add(bufferevent_get_output(s->bev), data + n, len - (size_t) n);
}

/*
 * session_flush - replies gathered while a batch of pipelined commands was
 * read go out in one write, as Postfix flushes when the client's input is
 * used up; through the bufferevent when it still holds output, for TLS,
 * or while replies are held back
 */
void session_flush(struct session *s)
{
    if (s->out.len == 0 || s->bev == NULL)
        return;
    /* what was logged about it is written before the client hears it */
    log_flush();
    struct evbuffer *out = bufferevent_get_output(s->bev);
    if (s->tls_active || s->holding || evbuffer_get_length(out) > 0)
        evbuffer_add(out, s->out.data, s->out.len);
    else
        send_direct(s, s->out.data, s->out.len);
    buf_reset(&s->out);
}

static void write_reply(struct session *s, const char *text)
{
    struct buf all;
    buf_init(&all);
    buf_puts(&all, text);
    if (text[0] == '4' || text[0] == '5')
        append_footer(s, &all, text);
    char *t = all.data;
    if (s->svc->soft_bounce && t[0] == '5') {
        t[0] = '4';
        if (t[3] == ' ' && t[4] == '5' && t[5] == '.')
            t[4] = '4';
    }
    char code[4];
    memcpy(code, t, 3);
    code[3] = 0;
    if (strcmp(code, "421") == 0 || strcmp(code, "521") == 0)
        s->hangup = true;
    const char *dsn = NULL;
    size_t dsn_len = 0;
    if (t[3] == ' ' && (t[4] == '2' || t[4] == '4' || t[4] == '5') && t[5] == '.') {
        dsn = t + 4;
        dsn_len = strcspn(dsn, " \n");
    }
    /* Inside a batch of input the reply waits for the batch's end. */
    struct buf *out = &s->out;
    size_t before = out->len;
    char *line = t;
    bool first = true;
    while (line) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        const char *body = first ? line + (strlen(line) >= 4 ? 4 : strlen(line)) : line;
        buf_append(out, code, 3);
        buf_putc(out, nl ? '-' : ' ');
        if (!first && dsn && strncmp(body, dsn, dsn_len) != 0)
            buf_printf(out, "%.*s ", (int) dsn_len, dsn);
        buf_puts(out, body);
        buf_append(out, "\r\n", 2);
        first = false;
        line = nl ? nl + 1 : NULL;
    }
    buf_free(&all);
    /* smtpd_error_sleep_time: the reply is held back (in the bufferevent,
     * whose writing stops); otherwise it goes out now, or at the end of
     * the batch of input being read */
    if (!s->holding && s->svc->error_sleep_ms > 0 && s->error_count >= s->svc->soft_error_limit) {
        /* what came before goes now; this reply waits in the bufferevent */
        size_t len = out->len - before;
        char *held = xmalloc(len + 1);
        memcpy(held, out->data + before, len);
        buf_truncate(out, before);
        session_flush(s);
        hold_output(s);
        evbuffer_add(bufferevent_get_output(s->bev), held, len);
        free(held);
    } else if (!s->in_input || s->holding) {
        session_flush(s);
    }
}

void session_reply_text(struct session *s, const char *text)
{
    if (s->bev == NULL)
        return;
    write_reply(s, text);
}

void session_reply(struct session *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = xvasprintf(fmt, ap);
    va_end(ap);
    session_reply_text(s, text);
    free(text);
}

void session_command_ok(struct session *s, int cmd)
{
    s->counts_ok[cmd]++;
    s->commands_ok++;
}

void session_error(struct session *s)
{
    s->error_count++;
}

void session_log_event(struct session *s, const char *whatsup, const char *where, const char *text)
{
    char *line = policy_log_line(s->ps, whatsup, where, text);
    log_info("%s", line);
    free(line);
}

const char *session_queue_id(const struct session *s)
{
    return s->qid[0] ? s->qid : "NOQUEUE";
}

const char *session_last_command(const struct session *s)
{
    return s->where_cmd ? s->where_cmd : "CONNECT";
}

void session_rejected(struct session *s, const struct policy_result *r)
{
    session_error(s);
    if (r->hangup) {
        /* HANGUP: what was said before goes out, this reply does not */
        session_close(s, "hangup");
        return;
    }
    session_reply_text(s, r->reply);
    if (r->disconnect)
        session_close(s, "rejected");
}

void session_transaction_reset(struct session *s)
{
    if (s->msg)
        queue_message_abort(s->msg);
    s->msg = NULL;
    s->qid[0] = 0;
    s->sender = NULL;
    strlist_free(&s->rcpts);
    strlist_init(&s->rcpts);
    s->rcpt_attempts = 0;
    s->rcpt_overshoot = 0;
    s->declared_size = 0;
    s->msg_size = 0;
    s->msg_too_big = false;
    s->data_rejected = false;
    s->bare_lf_seen = false;
    s->eod_pending = false;
    s->bdat_active = false;
    s->bdat_error = false;
    s->bdat_reply = NULL;
    s->bdat_remaining = 0;
    s->bdat_last = false;
    s->body_type = NULL;
    s->smtputf8 = false;
    s->envid = s->ret = NULL;
    s->message_id = NULL;
    policy_transaction_reset(s->ps);
    arena_reset(s->txn);
}

/* ---- closing ---- */

static void unlink_session(struct session *s)
{
    struct worker *w = s->w;
    if (s->prev)
        s->prev->next = s->next;
    else
        w->sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    w->n_sessions--;
}

static void log_disconnect(struct session *s)
{
    struct buf b;
    buf_init(&b);
    buf_printf(&b, "disconnect from %s", s->namaddr);
    for (int c = 0; c < CMD_COUNT; c++) {
        if (s->counts[c] == 0)
            continue;
        const char *name = c == CMD_UNKNOWN ? "unknown" : smtp_command_names[c];
        char lower[16];
        snprintf(lower, sizeof(lower), "%s", name);
        str_lower(lower);
        if (s->counts_ok[c] == s->counts[c])
            buf_printf(&b, " %s=%u", lower, s->counts[c]);
        else
            buf_printf(&b, " %s=%u/%u", lower, s->counts_ok[c], s->counts[c]);
    }
    if (s->commands_ok == s->commands && s->error_count == 0)
        buf_printf(&b, " commands=%u", s->commands);
    else
        buf_printf(&b, " commands=%u/%u", s->commands_ok, s->commands);
    log_info("%s", b.data);
    buf_free(&b);
}

static void session_free(struct session *s)
{
    unlink_session(s);
    if (s->anvil_counted)
        anvil_request(s->w->anvil, "disconnect", s->svc->name, s->addr, NULL, NULL);
    if (s->msg)
        queue_message_abort(s->msg);
    if (s->sasl)
        sasl_session_free(s->sasl);
    if (s->timer)
        event_free(s->timer);
    if (s->sleep_ev)
        event_free(s->sleep_ev);
    proxy_done(s);
    if (s->bev)
        bufferevent_free(s->bev);
    else if (s->fd >= 0)
        close(s->fd);
    policy_session_free(s->ps);
    if (s->discard_by_addr) {
        strlist_free(s->discard_by_addr);
        free(s->discard_by_addr);
    }
    strlist_free(&s->rcpts);
    free(s->pending_arg);
    buf_free(&s->line);
    buf_free(&s->arg);
    buf_free(&s->out);
    arena_free(s->txn);
    arena_free(s->arena);
    free(s);
}

/* finish - log and free, once nothing holds the session and what was
 * written has been flushed (or cannot be) */
static void finish(struct session *s)
{
    log_disconnect(s);
    session_free(s);
}

static void closing_write_cb(struct bufferevent *bev, void *arg)
{
    (void) bev;
    finish(arg);
}

#define CLOSE_FLUSH_MS 10000 /* the last reply gets this long to go out */
#define CLOSE_POLL_MS  20

/* flush_and_finish - the last step of closing, with no references left:
 * the last reply (and TLS close_notify) must reach the socket first.  A
 * TLS filter hands its bytes to the bufferevent underneath, whose drain
 * it does not report, so closing a TLS session polls until both are
 * empty. */
static void flush_and_finish(struct session *s)
{
    if (s->bev == NULL || s->dead) {
        finish(s);
        return;
    }
    session_flush(s);
    if (!s->flushing) {
        s->flushing = true;
        s->flush_deadline_us = clock_mono_us() + CLOSE_FLUSH_MS * 1000;
        /* A held reply goes out now: the client is leaving anyway. */
        if (s->sleep_ev)
            evtimer_del(s->sleep_ev);
        s->holding = false;
        bufferevent_disable(s->bev, EV_READ);
        bufferevent_setcb(s->bev, NULL, s->tls_active ? NULL : closing_write_cb, event_cb, s);
        bufferevent_enable(s->bev, EV_WRITE);
        if (s->tls_active)
            tls_shutdown(s->bev);
    }
    size_t pending = s->tls_active ? tls_output_pending(s->bev)
                                   : evbuffer_get_length(bufferevent_get_output(s->bev));
    if (pending == 0 || clock_mono_us() > s->flush_deadline_us) {
        finish(s);
        return;
    }
    session_arm_timer(s, s->tls_active ? CLOSE_POLL_MS : CLOSE_FLUSH_MS);
}

void session_enter(struct session *s)
{
    log_set_tag(s->svc->log_tag);
}

void session_hold(struct session *s)
{
    s->async_refs++;
}

bool session_release(struct session *s)
{
    s->async_refs--;
    if (!s->closing)
        return false;
    if (s->async_refs == 0)
        flush_and_finish(s);
    return true;
}

/* session_close - stop reading; flush what was written, then close (at
 * once, or when the last asynchronous step lets go) */
void session_close(struct session *s, const char *why)
{
    (void) why;
    if (s->closing)
        return;
    s->closing = true;
    s->state = ST_CLOSING;
    evtimer_del(s->timer);
    if (s->bev)
        bufferevent_disable(s->bev, EV_READ);
    if (s->async_refs == 0)
        flush_and_finish(s);
}

/* lost - the client went away or timed out: nothing more can be sent */
static void lost(struct session *s, const char *what)
{
    const char *after = session_last_command(s);
    if (s->state == ST_DATA)
        after = "DATA";
    else if (s->state == ST_BDAT)
        after = "BDAT";
    else if (s->state == ST_AUTH)
        after = "AUTH";
    else if (s->state == ST_TLS)
        after = "STARTTLS";
    s->dead = true;
    if (!s->connect_logged && s->peer_lookup) {
        /* Postfix names the client before anything else: the lookup goes
         * on, and finish_peer logs "connect from" and this line. */
        s->lost_early = true;
        session_close(s, what);
        return;
    }
    log_info("%s after %s from %s", what, after, s->namaddr);
    session_close(s, what);
}

/* ---- policy suspension ---- */

struct pending_check {
    struct session *s;
    int outstanding;
};

static void provide_dns(void *arg, const struct dns_answer *a);
static void provide_service(void *arg, const char *action);

struct fetch {
    struct session *s;
    char *name;
    enum dns_type type;
    unsigned id;
};

static void fetch_done(struct session *s)
{
    bool last = s->pending && --s->pending->outstanding == 0;
    if (last) {
        free(s->pending);
        s->pending = NULL;
        if (!s->closing)
            commands_continue(s);
    }
    session_release(s);
}

static void provide_dns(void *arg, const struct dns_answer *a)
{
    struct fetch *f = arg;
    struct session *s = f->s;
    session_enter(s);
    if (!s->closing)
        policy_provide_dns(s->ps, f->name, f->type, a);
    free(f->name);
    free(f);
    fetch_done(s);
}

static void provide_service(void *arg, const char *action)
{
    struct fetch *f = arg;
    struct session *s = f->s;
    session_enter(s);
    if (!s->closing)
        policy_provide_service(s->ps, f->id, action);
    free(f);
    fetch_done(s);
}

static void sleep_done(evutil_socket_t fd, short what, void *arg)
{
    (void) fd, (void) what;
    struct fetch *f = arg;
    struct session *s = f->s;
    session_enter(s);
    if (!s->closing)
        policy_provide_sleep(s->ps, f->id);
    free(f);
    fetch_done(s);
}

/*
 * session_policy - after a policy_check_*: PENDING starts the lookups the
 * engine asked for and suspends the command; otherwise the result is
 * logged and returned.
 */
enum policy_status session_policy(struct session *s, enum policy_status st, struct policy_result *r)
{
    if (st != POLICY_PENDING) {
        log_policy_lines(s);
        return st;
    }
    size_t n;
    const struct policy_request *req = policy_pending(s->ps, &n);
    s->pending = xcalloc(1, sizeof(*s->pending));
    s->pending->s = s;
    s->pending->outstanding = (int) n;
    s->state = ST_WAIT;
    bufferevent_disable(s->bev, EV_READ);
    for (size_t i = 0; i < n; i++) {
        struct fetch *f = xcalloc(1, sizeof(*f));
        f->s = s;
        f->id = req[i].id;
        s->async_refs++;
        switch (req[i].type) {
        case POLICY_REQ_DNS:
            f->name = xstrdup(req[i].name);
            f->type = req[i].dns_type;
            dns_lookup_async(s->w->resolver, req[i].name, req[i].dns_type, provide_dns, f);
            break;
        case POLICY_REQ_SERVICE:
            policy_client_query(s->w->policy_client, req[i].name, req[i].request, provide_service,
                                f);
            break;
        case POLICY_REQ_SLEEP: {
            struct timeval tv = {req[i].seconds, 0};
            event_base_once(s->w->base, -1, EV_TIMEOUT, sleep_done, f, &tv);
            break;
        }
        }
    }
    (void) r;
    return POLICY_PENDING;
}

/* session_resume - back to reading commands after an asynchronous step */
void session_resume(struct session *s)
{
    if (s->closing)
        return;
    if (s->hangup) {
        session_close(s, "hangup");
        return;
    }
    s->state = ST_COMMAND;
    session_request_start(s);
    if (s->holding)
        return; /* hold_done goes on */
    bufferevent_enable(s->bev, EV_READ);
    /* Input that arrived meanwhile is already buffered. */
    session_process_input(s);
}

/* ---- reading ---- */

/* take_line - the next command line (in s->line), or NULL; enforces
 * line_length_limit by keeping the first part of a longer line and
 * discarding the rest of it */
static char *take_line(struct session *s, size_t *len_out, bool *had_cr)
{
    struct evbuffer *in = bufferevent_get_input(s->bev);
    size_t limit = (size_t) s->svc->line_length_limit;
    for (;;) {
        struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
        size_t avail = evbuffer_get_length(in);
        if (s->discard_line) {
            if (eol.pos < 0) {
                evbuffer_drain(in, avail);
                return NULL;
            }
            evbuffer_drain(in, (size_t) eol.pos + 1);
            s->discard_line = false;
            continue;
        }
        size_t n, keep;
        if (eol.pos < 0) {
            if (avail < limit)
                return NULL;
            n = keep = limit;
            s->discard_line = true;
        } else {
            n = (size_t) eol.pos;
            keep = n < limit ? n : limit;
        }
        if (n > keep || s->discard_line) {
            char head[31];
            size_t hn = keep < 30 ? keep : 30;
            evbuffer_copyout(in, head, hn);
            head[hn] = 0;
            char *shown = str_printable(head, hn);
            log_warnx("%s: request longer than %zu: %s...", s->namaddr, limit, shown);
            free(shown);
        }
        buf_reset(&s->line);
        buf_reserve(&s->line, keep + 1);
        evbuffer_remove(in, s->line.data, keep);
        if (!s->discard_line)
            evbuffer_drain(in, n - keep + 1);
        char *line = s->line.data;
        line[keep] = 0;
        *had_cr = !s->discard_line && keep > 0 && line[keep - 1] == '\r';
        if (*had_cr)
            line[--keep] = 0;
        s->line.len = keep;
        *len_out = keep;
        return line;
    }
}

/* too_many_errors - smtpd_hard_error_limit reached: 421 and hang up,
 * before anything more is read (as Postfix checks at each command) */
static bool too_many_errors(struct session *s)
{
    if (s->error_count < s->svc->hard_error_limit)
        return false;
    session_reply(s, "421 4.7.0 %s Error: too many errors", s->svc->myhostname);
    log_info("too many errors after %s from %s", session_last_command(s), s->namaddr);
    session_close(s, "errors");
    return true;
}

static void read_commands(struct session *s)
{
    while (s->state == ST_COMMAND && !s->holding) {
        if (too_many_errors(s))
            return;
        size_t len;
        bool had_cr;
        char *line = take_line(s, &len, &had_cr);
        if (line == NULL)
            return;
        if (!had_cr && !s->discard_line && s->bare_newline_mode == 2) {
            /* smtpd_forbid_bare_newline = reject */
            session_reply(s, "%ld 5.5.2 %s Error: bare <LF> received",
                          config_get_int(s->svc->cfg, "smtpd_forbid_bare_newline_reject_code"),
                          s->svc->myhostname);
            session_log_event(s, "reject", session_last_command(s), "bare <LF> received");
            session_error(s);
            session_close(s, "bare LF");
            return;
        }
        commands_dispatch(s, line, len);
        if (s->state == ST_COMMAND)
            session_request_start(s);
        if (s->hangup && !s->closing) {
            session_close(s, "hangup");
            return;
        }
    }
}

/* input_step - hand buffered input to the reader of the current state */
static void input_step(struct session *s)
{
    switch (s->state) {
    case ST_COMMAND: read_commands(s); break;
    case ST_DATA: data_read(s); break;
    case ST_BDAT: bdat_read(s); break;
    case ST_AUTH: {
        size_t len;
        bool had_cr;
        char *line = take_line(s, &len, &had_cr);
        if (line)
            commands_auth_line(s, line);
        break;
    }
    default: break;
    }
}

/*
 * process_input - run the state readers over buffered input until none
 * can go on: DATA sent in one packet with its message, BDAT chunks and the
 * commands after them are all handled here, in order.  The session is held
 * meanwhile, so closing it inside only marks it.  Not re-entered: a
 * resume from inside just lets the loop go round again.
 */
void session_process_input(struct session *s)
{
    if (s->in_input) {
        s->input_again = true;
        return;
    }
    s->in_input = true;
    session_hold(s);
    struct evbuffer *in = bufferevent_get_input(s->bev);
    for (;;) {
        s->input_again = false;
        enum session_state before = s->state;
        size_t len = evbuffer_get_length(in);
        if (s->closing || s->holding || !reading_state(s->state))
            break;
        input_step(s);
        if (s->closing)
            break;
        if (!s->input_again && s->state == before && evbuffer_get_length(in) == len)
            break;
    }
    s->in_input = false;
    session_flush(s);
    session_release(s);
}

void session_request_start(struct session *s)
{
    s->deadline_us = clock_mono_us() + (uint64_t) s->svc->timeout_ms * 1000;
    session_arm_timer(s, s->svc->timeout_ms);
}

/*
 * input_timer - smtpd_timeout after input arrived.  By default it is an
 * idle limit (each read starts it again).  With smtpd_per_request_deadline
 * it limits a whole request; message content then buys time at
 * smtpd_min_data_rate (N bytes: N / rate seconds more), never beyond
 * smtpd_timeout from now.
 */
static void input_timer(struct session *s)
{
    struct evbuffer *in = bufferevent_get_input(s->bev);
    size_t have = evbuffer_get_length(in);
    size_t fresh = have > s->input_seen ? have - s->input_seen : 0;
    if (!s->svc->per_request_deadline) {
        session_arm_timer(s, s->svc->timeout_ms);
        return;
    }
    if (s->state != ST_DATA && s->state != ST_BDAT)
        return; /* the deadline of the request stands */
    uint64_t now = clock_mono_us();
    uint64_t limit = now + (uint64_t) s->svc->timeout_ms * 1000;
    uint64_t extra = s->svc->min_data_rate > 0
                         ? (uint64_t) fresh * 1000000 / (uint64_t) s->svc->min_data_rate
                         : 0;
    uint64_t d = s->deadline_us + extra;
    s->deadline_us = d > limit ? limit : d;
    long ms = s->deadline_us > now ? (long) ((s->deadline_us - now) / 1000) : 0;
    session_arm_timer(s, ms);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    (void) bev;
    struct session *s = arg;
    session_enter(s);
    session_hold(s);
    if (reading_state(s->state))
        input_timer(s);
    session_process_input(s);
    if (!s->closing)
        s->input_seen = evbuffer_get_length(bufferevent_get_input(s->bev));
    session_release(s);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void) bev;
    struct session *s = arg;
    session_enter(s);
    if (s->closing) {
        if (s->async_refs == 0)
            finish(s); /* the final flush failed */
        else
            s->dead = true;
        return;
    }
    session_hold(s);
    if (what & BEV_EVENT_CONNECTED)
        commands_tls_ready(s);
    else if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        lost(s, "lost connection");
    session_release(s);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void) fd, (void) what;
    struct session *s = arg;
    session_enter(s);
    if (s->closing) {
        /* still flushing the last reply (or out of time) */
        if (s->async_refs == 0)
            flush_and_finish(s);
        return;
    }
    if (s->state == ST_WAIT) {
        /* Waiting for our own lookups: their deadlines apply. */
        session_arm_timer(s, s->svc->timeout_ms);
        return;
    }
    if (s->state == ST_PROXY) {
        proxy_failed(s, "timeout error");
        return;
    }
    if (s->state == ST_TLS) {
        /* Nothing can be said in a TLS session that never started. */
        log_info("SSL_accept error from %s: timed out", s->namaddr);
        log_info("timeout after %s from %s", s->svc->implicit_tls ? "CONNECT" : "STARTTLS",
                 s->namaddr);
        s->dead = true;
        session_close(s, "tls timeout");
        return;
    }
    session_hold(s);
    session_reply(s, "421 4.4.2 %s Error: timeout exceeded", s->svc->myhostname);
    const char *after = s->state == ST_DATA ? "DATA" : session_last_command(s);
    log_info("timeout after %s from %s", after, s->namaddr);
    session_close(s, "timeout");
    session_release(s);
}

/* ---- the client's name ---- */

struct peer_lookup {
    struct session *s;
    int step; /* 0: PTR, 1: forward A/AAAA */
    char *ptr_name;
};

static void greet(struct session *s);

static void finish_peer(struct session *s, const char *name, enum peer_status ns,
                        const char *reverse, enum peer_status rs)
{
    s->name = arena_strdup(s->arena, name);
    s->name_status = ns;
    s->reverse_name = arena_strdup(s->arena, reverse);
    s->reverse_status = rs;
    s->namaddr = arena_printf(s->arena, "%s[%s]", s->name, s->addr);
    s->peer_lookup = false;
    if (s->lost_early) {
        s->connect_logged = true;
        log_info("connect from %s", s->namaddr);
        log_info("lost connection after CONNECT from %s", s->namaddr);
        return;
    }
    greet(s);
}

static void peer_forward_done(void *arg, const struct dns_answer *a)
{
    struct peer_lookup *pl = arg;
    struct session *s = pl->s;
    session_enter(s);
    if (s->closing && !s->lost_early) {
        free(pl->ptr_name);
        free(pl);
        session_release(s);
        return;
    }
    bool match = false;
    for (struct dns_rr *rr = a && a->status == DNS_OK ? a->rrs : NULL; rr; rr = rr->next) {
        unsigned char x[16], y[16];
        int fam = strchr(s->addr, ':') ? AF_INET6 : AF_INET;
        if (inet_pton(fam, s->addr, x) == 1 && inet_pton(fam, rr->data, y) == 1 &&
            memcmp(x, y, fam == AF_INET ? 4 : 16) == 0)
            match = true;
    }
    char *ptr = pl->ptr_name;
    if (match) {
        finish_peer(s, ptr, PEER_OK, ptr, PEER_OK);
    } else if (a && a->status == DNS_RETRY) {
        finish_peer(s, "unknown", PEER_TEMP, ptr, PEER_OK);
    } else {
        if (a && a->status == DNS_OK)
            log_warnx("hostname %s does not resolve to address %s", ptr, s->addr);
        else
            log_warnx("hostname %s does not resolve to address %s: Name or service not known", ptr,
                      s->addr);
        finish_peer(s, "unknown", PEER_FORGED, ptr, PEER_OK);
    }
    free(ptr);
    free(pl);
    session_release(s);
}

static void peer_ptr_done(void *arg, const struct dns_answer *a)
{
    struct peer_lookup *pl = arg;
    struct session *s = pl->s;
    session_enter(s);
    if (s->closing && !s->lost_early) {
        free(pl);
        session_release(s);
        return;
    }
    if (a == NULL || a->status != DNS_OK || a->rrs == NULL) {
        enum peer_status st = a && a->status == DNS_RETRY ? PEER_TEMP : PEER_PERM;
        free(pl);
        finish_peer(s, "unknown", st, "unknown", st);
        session_release(s);
        return;
    }
    pl->ptr_name = xstrdup(a->rrs->data);
    str_lower(pl->ptr_name);
    /* the reference passes on to the forward lookup */
    dns_lookup_async(s->w->resolver, pl->ptr_name, strchr(s->addr, ':') ? DNS_T_AAAA : DNS_T_A,
                     peer_forward_done, pl);
}

static void lookup_peer(struct session *s)
{
    if (!config_get_bool(s->svc->cfg, "smtpd_peername_lookup")) {
        finish_peer(s, "unknown", PEER_PERM, "unknown", PEER_PERM);
        return;
    }
    char *rev = dns_reverse_name(s->addr);
    if (rev == NULL) {
        finish_peer(s, "unknown", PEER_PERM, "unknown", PEER_PERM);
        return;
    }
    struct peer_lookup *pl = xcalloc(1, sizeof(*pl));
    pl->s = s;
    s->peer_lookup = true;
    session_hold(s);
    s->state = ST_WAIT;
    dns_lookup_async(s->w->resolver, rev, DNS_T_PTR, peer_ptr_done, pl);
    free(rev);
}

/* ---- the greeting ---- */

static bool input_waiting(struct session *s)
{
    if (evbuffer_get_length(bufferevent_get_input(s->bev)) > 0)
        return true;
    int n = 0;
    return s->fd >= 0 && ioctl(s->fd, FIONREAD, &n) == 0 && n > 0;
}

/* session_greeting - the 220 reply, or the client-stage reject when
 * smtpd_delay_reject = no (also after XCLIENT) */
void session_greeting(struct session *s)
{
    policy_set_client(s->ps, s->addr, s->port, s->name, s->name_status, s->reverse_name,
                      s->reverse_status);
    policy_set_protocol(s->ps, s->protocol);
    if (s->commands == 0 && input_waiting(s) && !s->ill_pipelining) {
        s->ill_pipelining = true;
        log_info("improper command pipelining after CONNECT from %s", s->namaddr);
        policy_set_pipelining_violation(s->ps, true);
    }
    if (!s->svc->delay_reject) {
        struct policy_result r;
        s->pending_cmd = CMD_UNKNOWN;
        policy_set_command(s->ps, s->commands ? "XCLIENT" : NULL);
        enum policy_status st = session_policy(s, policy_check_client(s->ps, &r), &r);
        if (st == POLICY_PENDING) {
            s->pending_cmd = CMD_COUNT; /* the greeting */
            return;
        }
        if (st == POLICY_REJECT) {
            s->client_rejected = true;
            s->client_reject =
                arena_printf(s->arena, "503 5.7.0 Error: access denied for %s", s->namaddr);
            session_rejected(s, &r);
            session_resume(s);
            return;
        }
    }
    char *banner = xstrdup(s->svc->banner);
    struct buf b;
    buf_init(&b);
    buf_printf(&b, "220 %s", banner);
    session_reply_text(s, b.data);
    buf_free(&b);
    free(banner);
    session_resume(s);
}

static void connect_limits_done(void *arg, unsigned count, unsigned rate)
{
    struct session *s = arg;
    session_enter(s);
    if (count)
        s->anvil_counted = true;
    if (s->closing) {
        session_release(s);
        return;
    }
    struct service *svc = s->svc;
    const char *what = NULL;
    unsigned value = 0;
    if (svc->conn_count_limit > 0 && count > (unsigned) svc->conn_count_limit) {
        what = "concurrency";
        value = count;
    } else if (svc->conn_rate_limit > 0 && rate > (unsigned) svc->conn_rate_limit) {
        what = "rate";
        value = rate;
    }
    if (what) {
        log_warnx("Connection %s limit exceeded: %u from %s for service %s", what, value,
                  s->namaddr, svc->name);
        session_reply(s, "421 4.7.0 %s Error: too many connections from %s", svc->myhostname,
                      s->addr);
        session_close(s, "limit");
    } else {
        session_greeting(s);
    }
    session_release(s);
}

void session_client_changed(struct session *s)
{
    struct service *svc = s->svc;
    s->xclient_authorized =
        svc->xclient_hosts && policy_match(svc->xclient_hosts, s->name, s->addr) > 0;
    s->xforward_authorized =
        svc->xforward_hosts && policy_match(svc->xforward_hosts, s->name, s->addr) > 0;
    s->bare_newline_mode = svc->forbid_bare_newline;
    if (s->bare_newline_mode && svc->bare_newline_exclusions &&
        policy_match(svc->bare_newline_exclusions, s->name, s->addr) > 0)
        s->bare_newline_mode = 0;
    if (s->discard_by_addr) {
        strlist_free(s->discard_by_addr);
        free(s->discard_by_addr);
        s->discard_by_addr = NULL;
    }
}

static void greet(struct session *s)
{
    s->connect_logged = true;
    log_info("connect from %s", s->namaddr);
    struct service *svc = s->svc;
    session_client_changed(s);
    /* A proxy that may use XCLIENT speaks for many clients: no limits. */
    s->limits_exempt =
        s->xclient_authorized ||
        (svc->limit_exceptions && policy_match(svc->limit_exceptions, s->name, s->addr) > 0);
    if (!s->limits_exempt && (svc->conn_count_limit > 0 || svc->conn_rate_limit > 0)) {
        session_hold(s);
        s->state = ST_WAIT;
        anvil_request(s->w->anvil, "connect", svc->name, s->addr, connect_limits_done, s);
        return;
    }
    session_greeting(s);
}

static void start_session(struct session *s)
{
    /* The client's real address, or the one the PROXY header gave. */
    policy_set_peer_address(s->ps, s->addr);
    s->state = ST_WAIT;
    lookup_peer(s);
}

/* ---- accept ---- */

static void sockaddr_text(struct sockaddr *sa, char *buf, size_t len, unsigned *port)
{
    if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) sa;
        /* IPv4-mapped clients are shown as IPv4, as Postfix does */
        if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
            inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], buf, (socklen_t) len);
        else
            inet_ntop(AF_INET6, &s6->sin6_addr, buf, (socklen_t) len);
        *port = ntohs(s6->sin6_port);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *) sa;
        inet_ntop(AF_INET, &s4->sin_addr, buf, (socklen_t) len);
        *port = ntohs(s4->sin_port);
    }
}

void session_accept(struct worker *w, struct service *svc, int fd, struct sockaddr *sa, int salen)
{
    (void) salen;
    struct session *s = xcalloc(1, sizeof(*s));
    s->w = w;
    s->svc = svc;
    session_enter(s);
    s->fd = fd;
    s->arena = arena_new(2048);
    s->txn = arena_new(4096);
    strlist_init(&s->rcpts);
    s->started_us = clock_mono_us();
    sockaddr_text(sa, s->addr, sizeof(s->addr), &s->port);
    struct sockaddr_storage local;
    socklen_t ll = sizeof(local);
    if (getsockname(fd, (struct sockaddr *) &local, &ll) == 0)
        sockaddr_text((struct sockaddr *) &local, s->server_addr, sizeof(s->server_addr),
                      &s->server_port);
    s->name = arena_strdup(s->arena, "unknown");
    s->reverse_name = s->name;
    s->namaddr = arena_printf(s->arena, "unknown[%s]", s->addr);
    s->name_status = s->reverse_status = PEER_PERM;
    s->protocol = "SMTP";
    s->ps = policy_session_new(svc->policy);
    policy_set_dns_resolver(s->ps, w->resolver);
    policy_set_server(s->ps, s->server_addr, s->server_port);
    policy_set_sasl_enabled(s->ps, svc->sasl_enable);
    s->next = w->sessions;
    if (w->sessions)
        w->sessions->prev = s;
    w->sessions = s;
    w->n_sessions++;

    s->timer = evtimer_new(w->base, timer_cb, s);
    if (svc->proxy_protocol) {
        /* The header is read from the socket itself, byte-exact: what
         * follows it (a TLS handshake, commands) stays in the socket for
         * the bufferevent made afterwards. */
        s->state = ST_PROXY;
        s->proxy_ev = event_new(w->base, fd, EV_READ | EV_PERSIST, proxy_read_cb, s);
        event_add(s->proxy_ev, NULL);
        session_arm_timer(s, svc->proxy_timeout_ms);
        return;
    }
    connection_ready(s);
}

/* connection_ready - the bufferevent for the session (TLS from the first
 * byte on a wrapper-mode service), then the session starts */
static void connection_ready(struct session *s)
{
    struct worker *w = s->w;
    struct service *svc = s->svc;
    if (svc->implicit_tls && svc->tls)
        s->bev = tls_wrap_socket(svc->tls, w->base, s->fd);
    else
        s->bev = bufferevent_socket_new(w->base, s->fd, BEV_OPT_CLOSE_ON_FREE);
    session_install_bev(s);
    if (w->max_sessions && w->n_sessions > w->max_sessions) {
        /* Over default_process_limit: say so and go. */
        log_warnx("too many sessions (%u): refusing %s", w->n_sessions, s->addr);
        session_reply(s, "421 4.3.2 %s Service temporarily unavailable", svc->myhostname);
        session_close(s, "limit");
        return;
    }
    if (svc->implicit_tls && svc->tls) {
        s->tls_active = true;
        s->state = ST_TLS;
        bufferevent_enable(s->bev, EV_READ);
        session_arm_timer(s, svc->starttls_timeout_ms);
        return;
    }
    bufferevent_enable(s->bev, EV_READ);
    start_session(s);
}

/* proxy_failed - Postfix's answer to a missing or bad PROXY header,
 * written to the socket directly (there is no bufferevent yet) */
static void proxy_failed(struct session *s, const char *why)
{
    log_warnx("haproxy read: %s from %s", why, s->addr);
    char reply[300];
    int n =
        snprintf(reply, sizeof(reply), "421 4.3.0 %s Server local error\r\n", s->svc->myhostname);
    ssize_t unused = send(s->fd, reply, (size_t) n, MSG_NOSIGNAL | MSG_DONTWAIT);
    (void) unused;
    proxy_done(s);
    /* unread input would make close() reset the connection, and the reply
     * could be lost on the way: read it away first */
    shutdown(s->fd, SHUT_WR);
    char sink[4096];
    for (int i = 0; i < 16 && recv(s->fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++)
        ;
    close(s->fd);
    s->fd = -1;
    s->dead = true;
    session_close(s, "proxy");
}

static void proxy_done(struct session *s)
{
    if (s->proxy_ev) {
        event_free(s->proxy_ev);
        s->proxy_ev = NULL;
    }
    buf_free(&s->proxy_buf);
}

/*
 * proxy_read_cb - take from the socket only the bytes that belong to the
 * header: peek, work out how much of it is there (all of a v1 line without
 * its LF yet, the announced length of a v2 header), read exactly that.
 */
static void proxy_read_cb(evutil_socket_t fd, short what, void *arg)
{
    (void) what;
    struct session *s = arg;
    session_enter(s);
    unsigned char data[SMTP_PROXY_HEADER_MAX];
    size_t have = s->proxy_buf.len;
    memcpy(data, s->proxy_buf.data ? s->proxy_buf.data : "", have);
    ssize_t n = recv(fd, data + have, sizeof(data) - have, MSG_PEEK);
    if (n == -1 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        proxy_done(s);
        lost(s, "lost connection");
        return;
    }
    size_t used = 0;
    char addr[INET6_ADDRSTRLEN], saddr[INET6_ADDRSTRLEN];
    unsigned port = 0, sport = 0;
    const char *why = NULL;
    int r = proxy_parse(data, have + (size_t) n, &used, addr, sizeof(addr), &port, saddr,
                        sizeof(saddr), &sport, &why);
    if (r < 0) {
        proxy_failed(s, why ? why : "bad proxy header");
        return;
    }
    size_t take = r == 0 ? (size_t) n : used - have;
    char sink[SMTP_PROXY_HEADER_MAX];
    if (recv(fd, sink, take, 0) != (ssize_t) take) {
        proxy_failed(s, "read error");
        return;
    }
    buf_append(&s->proxy_buf, sink, take);
    if (r == 0) {
        if (s->proxy_buf.len >= SMTP_PROXY_HEADER_MAX)
            proxy_failed(s, "header too long");
        return;
    }
    proxy_done(s);
    if (r == 1) {
        if (strchr(addr, ':') && !s->svc->ipv6) {
            proxy_failed(s, "IPv6 client address with inet_protocols without IPv6");
            return;
        }
        snprintf(s->addr, sizeof(s->addr), "%s", addr);
        s->port = port;
        snprintf(s->server_addr, sizeof(s->server_addr), "%s", saddr);
        s->server_port = sport;
        policy_set_server(s->ps, s->server_addr, s->server_port);
    }
    /* r == 2: a LOCAL header (a health check): the connection's own
     * addresses stand */
    s->state = ST_WAIT;
    connection_ready(s);
}

void session_install_bev(struct session *s)
{
    bufferevent_setcb(s->bev, read_cb, NULL, event_cb, s);
    bufferevent_setwatermark(s->bev, EV_READ, 0, 256 * 1024);
}

/* session_tls_started - implicit TLS finished its handshake */
void session_tls_started(struct session *s)
{
    start_session(s);
}

void session_free_all(struct worker *w)
{
    while (w->sessions)
        session_free(w->sessions);
}
