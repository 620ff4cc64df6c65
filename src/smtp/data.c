/*
 * data - message content: the Received: header, the DATA reader (dot
 * stuffing, the end-of-data line, bare newlines per
 * smtpd_forbid_bare_newline, message_size_limit while streaming), BDAT
 * chunks, the end-of-data restrictions, and the durable commit that must
 * finish before "250 2.0.0 Ok: queued as ID".
 *
 * Smuggling: in "normalize" mode (postern's default) a line ends only at
 * CR LF for the purpose of the end-of-data check, so no byte sequence but
 * CR LF . CR LF ends DATA; bare LF inside the content becomes a line break.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "smtp/smtp_int.h"

#define DATA_CHUNK_MAX (64 * 1024) /* content without LF held at most this long */

enum { LINE_START = 0, LINE_MIDDLE = 1 };

/* data_open_message - the queue file, opened at the first accepted RCPT */
int data_open_message(struct session *s)
{
    char *err = NULL;
    s->msg = queue_message_new(s->w->queue, s->qid, &err);
    if (s->msg == NULL) {
        log_warnx("queue file write error: %s", err ? err : "unknown");
        free(err);
        return -1;
    }
    policy_set_queue_id(s->ps, s->qid);
    if (s->sasl_username)
        log_info("%s: client=%s, sasl_method=%s, sasl_username=%s", s->qid, s->namaddr,
                 s->sasl_method ? s->sasl_method : "", s->sasl_username);
    else
        log_info("%s: client=%s", s->qid, s->namaddr);
    return 0;
}

void data_write(struct session *s, const char *data, size_t len)
{
    if (s->msg_too_big || s->msg == NULL)
        return;
    s->msg_size += (long) len;
    if (s->svc->message_size_limit > 0 && s->msg_size > s->svc->message_size_limit) {
        s->msg_too_big = true;
        if (!s->bdat_active)
            log_warnx("%s: queue file size limit exceeded", session_queue_id(s));
        return;
    }
    if (queue_message_write(s->msg, data, len) == -1) {
        log_warnx("%s: queue file write error", s->qid);
        s->msg_too_big = true; /* stop writing; the commit will fail */
    }
}

static void received_header(struct session *s)
{
    struct buf h;
    buf_init(&h);
    const char *helo = s->helo ? s->helo : s->name;
    buf_printf(&h, "Received: from %s (%s [%s])\r\n", helo, s->name, s->addr);
    if (s->tls_active && config_get_bool(s->svc->cfg, "smtpd_tls_received_header")) {
        char *t = tls_received_text(s->bev);
        if (t)
            buf_printf(&h, "\t%s\r\n", t);
        free(t);
    }
    if (s->sasl_username && config_get_bool(s->svc->cfg, "smtpd_sasl_authenticated_header"))
        buf_printf(&h, "\t(Authenticated sender: %s)\r\n", s->sasl_username);
    /* The Received header's protocol tells TLS and login; logs say SMTP or
     * ESMTP only, as Postfix's do. */
    char proto[16];
    snprintf(proto, sizeof(proto), "%s%s%s", s->smtputf8 && s->ehlo ? "UTF8SMTP" : s->protocol,
             s->ehlo && s->tls_active ? "S" : "", s->ehlo && s->sasl_username ? "A" : "");
    buf_printf(&h, "\tby %s (%s) with %s id %s", s->svc->myhostname,
               config_get(s->svc->cfg, "mail_name"), proto, s->qid);
    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z (%Z)", &tm);
    if (s->rcpts.count == 1)
        buf_printf(&h, "\r\n\tfor <%s>; %s\r\n", s->rcpts.items[0], date);
    else
        buf_printf(&h, ";\r\n\t%s\r\n", date);
    data_write(s, h.data, h.len);
    buf_free(&h);
}

void data_begin(struct session *s)
{
    if (s->msg == NULL && data_open_message(s) == -1) {
        session_reply(s, "451 4.3.0 Error: queue file write error");
        session_error(s);
        return;
    }
    struct policy_actions a;
    policy_actions(s->ps, &a);
    struct queue_envelope env = {
        .sender = s->sender,
        .recipients = &s->rcpts,
        .arrival = time(NULL),
        .client_name = s->name,
        .client_addr = s->addr,
        .helo = s->helo,
        .protocol = s->protocol,
        .sasl_method = s->sasl_method,
        .sasl_username = s->sasl_username,
        .body_type = s->body_type,
        .smtputf8 = s->smtputf8,
        .envid = s->envid,
        .ret = s->ret,
        .hold = a.hold,
        .filter = a.filter,
        .redirect = a.redirect,
        .bcc = a.bcc,
    };
    char port[16];
    snprintf(port, sizeof(port), "%u", s->port);
    env.client_port = port;
    queue_message_envelope(s->msg, &env);
    s->msg_size = 0;
    s->msg_too_big = false;
    s->data_line_state = LINE_START;
    s->after_crlf = true;
    s->in_header = true;
    s->message_id = NULL;
    received_header(s);
    for (size_t i = 0; a.prepend && i < a.prepend->count; i++) {
        data_write(s, a.prepend->items[i], strlen(a.prepend->items[i]));
        data_write(s, "\r\n", 2);
    }
    if (!s->bdat_active) {
        s->state = ST_DATA;
        session_request_start(s);
    }
}

static void note_header(struct session *s, const char *line, size_t len)
{
    if (len == 0) {
        s->in_header = false;
        return;
    }
    if (s->message_id == NULL && len > 11 && strncasecmp(line, "Message-ID:", 11) == 0) {
        const char *v = line + 11;
        while (*v == ' ' || *v == '\t')
            v++;
        s->message_id = arena_strndup(s->txn, v, len - (size_t) (v - line));
    }
}

static bool bare_newline_applies(struct session *s)
{
    return s->bare_newline_mode != 0;
}

/* data_write_stray - content in which a CR that ends no line becomes a
 * space (cleanup_replace_stray_cr_lf), so that no CR LF can be made of it
 * by a later hop */
void data_write_stray(struct session *s, const char *text, size_t len)
{
    const char *cr;
    while (s->svc->replace_stray_cr && (cr = memchr(text, '\r', len)) != NULL) {
        size_t n = (size_t) (cr - text);
        data_write(s, text, n);
        data_write(s, " ", 1);
        text += n + 1;
        len -= n + 1;
    }
    data_write(s, text, len);
}

/* data_line - one content line without its line ending */
static void data_line(struct session *s, const char *text, size_t len)
{
    if (s->in_header && s->data_line_state == LINE_START)
        note_header(s, text, len);
    data_write_stray(s, text, len);
    data_write(s, "\r\n", 2);
}

/*
 * data_read - content after 354, processed in place in the input buffer.
 * Lines end at LF; CR LF and (unless forbidden) bare LF are written as
 * CR LF.  In strict mode only "." between two CR LF ends the message, so
 * "<LF>.<LF>", "<LF>.<CR><LF>" and "<CR><LF>.<LF>" are content.
 */
void data_read(struct session *s)
{
    struct evbuffer *in = bufferevent_get_input(s->bev);
    bool strict = bare_newline_applies(s);
    while (s->state == ST_DATA) {
        size_t avail = evbuffer_get_length(in);
        if (avail == 0)
            return;
        const char *p = (const char *) evbuffer_pullup(in, -1);
        size_t pos = 0;
        bool finished = false;
        while (pos < avail) {
            const char *lf = memchr(p + pos, '\n', avail - pos);
            if (lf == NULL) {
                /* A long piece of a line: write it, keep the last byte (a CR?) */
                size_t rest = avail - pos;
                if (rest > DATA_CHUNK_MAX) {
                    const char *t = p + pos;
                    size_t take = rest - 1;
                    if (s->data_line_state == LINE_START && t[0] == '.') {
                        t++;
                        take--;
                        pos++;
                    }
                    data_write_stray(s, t, take);
                    pos += take;
                    s->data_line_state = LINE_MIDDLE;
                }
                break;
            }
            size_t n = (size_t) (lf - (p + pos));
            const char *line = p + pos;
            bool cr = n > 0 && line[n - 1] == '\r';
            size_t len = cr ? n - 1 : n;
            bool at_start = s->data_line_state == LINE_START;
            pos += n + 1;
            bool eod_ok = !strict || (s->after_crlf && cr);
            if (at_start && eod_ok && len == 1 && line[0] == '.') {
                finished = true;
                break;
            }
            if (at_start && len == 1 && line[0] == '.') {
                /* "." after a bare LF, or ended by one: not the end, and
                 * not content either (Postfix drops it too) */
                s->after_crlf = cr;
                if (!cr && s->bare_newline_mode == 2)
                    s->bare_lf_seen = true;
                continue;
            }
            if (at_start && len > 0 && line[0] == '.') {
                line++;
                len--;
            }
            /* A line continued from a long piece is not a header line. */
            if (!at_start)
                s->data_line_state = LINE_MIDDLE;
            data_line(s, line, len);
            s->data_line_state = LINE_START;
            s->after_crlf = cr;
            if (!cr && s->bare_newline_mode == 2)
                s->bare_lf_seen = true;
        }
        evbuffer_drain(in, pos);
        if (finished) {
            data_finish(s);
            return;
        }
        if (pos == 0 || pos < avail)
            return; /* waiting for the rest of a line */
    }
}

/* queued_reply - "250 2.0.0 Ok: queued as ID" (BDAT: with the size) */
static void queued_reply(struct session *s, const char *qid)
{
    session_command_ok(s, s->bdat_active ? CMD_BDAT : CMD_DATA);
    if (s->bdat_active)
        session_reply(s, "250 2.0.0 Ok: %ld bytes queued as %s", s->bdat_content, qid);
    else
        session_reply(s, "250 2.0.0 Ok: queued as %s", qid);
    /* A client that delivers mail starts its error counts afresh. */
    s->error_count = 0;
    s->junk_count = 0;
}

/*
 * log_queued - the lines Postfix's cleanup and queue manager write for a
 * new message, under the cleanup name (the server does cleanup's work):
 * "ID: message-id=<...>" as Postfix, and "ID: from=<...>, size=N,
 * nrcpt=N (queued)" where Postfix's queue manager says "(queue active)";
 * log readers such as pflogsumm take sender and size from it.
 */
static void log_queued(struct session *s, const char *qid)
{
    log_set_tag(s->svc->cleanup_tag);
    if (s->message_id)
        log_info("%s: message-id=%s", qid, s->message_id);
    log_info("%s: from=<%s>, size=%ld, nrcpt=%zu (queued)", qid, s->sender, s->msg_size,
             s->rcpts.count);
    log_set_tag(s->svc->log_tag);
}

/* message_failed - the message is refused: the transaction ends */
static void message_failed(struct session *s)
{
    session_error(s);
    session_transaction_reset(s);
    session_resume(s);
}

struct commit {
    struct session *s;
};

static void commit_done(void *arg, int err, const char *qid)
{
    struct commit *c = arg;
    struct session *s = c->s;
    free(c);
    session_enter(s);
    s->msg = NULL;
    if (!err)
        log_queued(s, qid); /* in the queue, whether the client waits or not */
    if (s->closing) {
        session_release(s);
        return;
    }
    if (err) {
        log_warnx("%s: queue file commit error: %s", qid, strerror(err));
        session_reply(s, "451 4.3.0 Error: queue file write error");
        session_error(s);
    } else {
        queued_reply(s, qid);
    }
    session_transaction_reset(s);
    session_resume(s);
    session_release(s);
}

void data_finish(struct session *s)
{
    s->state = ST_WAIT;
    s->pending_cmd = s->bdat_active ? CMD_BDAT : CMD_DATA;
    if (s->msg_too_big) {
        session_reply(s, "552 5.3.4 Error: message file too big");
        message_failed(s);
        return;
    }
    if (s->bare_lf_seen && s->bare_newline_mode == 2) {
        session_reply(s, "%ld 5.5.2 %s Error: bare <LF> received",
                      config_get_int(s->svc->cfg, "smtpd_forbid_bare_newline_reject_code"),
                      s->svc->myhostname);
        session_log_event(s, "reject", "END-OF-MESSAGE", "bare <LF> received");
        message_failed(s);
        return;
    }
    struct policy_result r;
    policy_set_message_size(s->ps, s->msg_size);
    enum policy_status st = session_policy(s, policy_check_eod(s->ps, &r), &r);
    if (st == POLICY_PENDING) {
        s->eod_pending = true; /* commands_continue comes back here */
        return;
    }
    s->eod_pending = false;
    if (st == POLICY_REJECT) {
        /* As in Postfix 3.7, sender and recipients stay: only the message
         * is gone (a new MAIL is a nested MAIL; DATA may be tried again). */
        session_rejected(s, &r);
        queue_message_abort(s->msg);
        s->msg = NULL;
        s->bdat_active = false;
        session_resume(s);
        return;
    }
    struct policy_actions a;
    policy_actions(s->ps, &a);
    if (a.discard) {
        /* Accepted and thrown away; the engine logged the DISCARD. */
        char qid[QUEUE_ID_MAX];
        snprintf(qid, sizeof(qid), "%s", s->qid);
        queued_reply(s, qid);
        session_transaction_reset(s);
        session_resume(s);
        return;
    }
    if (a.hold)
        queue_message_hold(s->msg);
    struct commit *c = xcalloc(1, sizeof(*c));
    c->s = s;
    session_hold(s);
    queue_message_commit(s->msg, commit_done, c);
}
