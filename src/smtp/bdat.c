/*
 * bdat - the BDAT command (RFC 3030 CHUNKING) as Postfix 3.7 answers it.
 * Every chunk is read whole, whatever happens to it.  Content is written
 * with each line ending as CR LF (a bare LF gets its CR; with
 * smtpd_forbid_bare_newline = reject it makes the chunk fail).  After an
 * error the transaction stays in an error state in which each further
 * chunk is read and answered "551 5.0.0 Discarded N bytes after earlier
 * error", until the LAST chunk ends the transaction.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtp/smtp_int.h"

/* bdat_fail - the chunk fails with reply (sent once it has been read) */
static void bdat_fail(struct session *s, const char *reply)
{
    s->bdat_error = true;
    s->bdat_reply = arena_strdup(s->txn, reply);
    if (s->msg)
        queue_message_abort(s->msg);
    s->msg = NULL;
}

/* parse_count - digits only (leading zeros allowed), within a long */
static bool parse_count(const char *text, long *out)
{
    if (*text == 0 || strspn(text, "0123456789") != strlen(text))
        return false;
    errno = 0;
    char *end;
    long long n = strtoll(text, &end, 10);
    if (errno == ERANGE || n > (long long) (LONG_MAX / 2))
        return false;
    *out = (long) n;
    return true;
}

void cmd_bdat(struct session *s, int cmd, char *arg)
{
    if (session_discarded(s, "chunking")) {
        /* The chunk cannot be skipped without knowing we may read it. */
        session_reply(s, "521 5.5.1 Error: command not implemented");
        session_error(s);
        session_close(s, "bdat");
        return;
    }
    struct strlist words;
    strlist_init(&words);
    args_words(arg, &words);
    long count = 0;
    bool syntax = words.count >= 1 && words.count <= 2 && parse_count(words.items[0], &count) &&
                  (words.count == 1 || strcasecmp(words.items[1], "LAST") == 0);
    bool last = words.count == 2;
    strlist_free(&words);
    if (!syntax) {
        char *shown = str_printable(arg, strlen(arg));
        log_warnx("%s: malformed BDAT command syntax from %s: BDAT %s", session_queue_id(s),
                  s->namaddr, shown);
        free(shown);
        session_reply(s, "521 5.5.4 Syntax: BDAT count [LAST]");
        session_error(s);
        session_close(s, "bdat");
        return;
    }
    s->bdat_remaining = count;
    s->bdat_last = last;
    s->bdat_chunk = count;
    s->bdat_reply = NULL;
    s->bdat_bare_lf = false;
    if (s->bdat_error) {
        s->bdat_reply =
            arena_printf(s->txn, "551 5.0.0 Discarded %ld bytes after earlier error", count);
    } else if (s->sender == NULL) {
        s->bdat_reply = arena_strdup(s->txn, "503 5.5.1 Error: need RCPT command");
        session_error(s);
    } else if (s->rcpts.count == 0) {
        bdat_fail(s, "554 5.5.1 Error: no valid recipients");
        session_error(s);
    } else {
        if (!s->bdat_active) {
            struct policy_result r;
            policy_set_command(s->ps, "BDAT");
            enum policy_status st = session_policy(s, policy_check_data(s->ps, &r), &r);
            if (st == POLICY_PENDING)
                return; /* re-run with the answers */
            if (st == POLICY_REJECT) {
                if (r.hangup || r.disconnect) {
                    session_rejected(s, &r);
                    return;
                }
                bdat_fail(s, r.reply);
                session_error(s);
            } else {
                s->bdat_active = true;
                s->bdat_content = 0;
                s->bdat_declared = 0;
                s->bdat_last_byte = '\n';
                s->bdat_held_cr = false;
                data_begin(s);
            }
        }
        if (!s->bdat_error) {
            s->bdat_declared += count;
            if (count == 0 && !last) {
                log_warnx("%s: null BDAT request from %s", session_queue_id(s), s->namaddr);
                bdat_fail(s, "551 5.7.1 Null BDAT request");
                session_error(s);
            } else if (s->svc->message_size_limit > 0 &&
                       s->bdat_declared > s->svc->message_size_limit) {
                log_warnx("%s: BDAT request from %s exceeds message size limit",
                          session_queue_id(s), s->namaddr);
                bdat_fail(s, "552 5.3.4 Chunk exceeds message size limit");
                session_error(s);
            }
        }
    }
    s->state = ST_BDAT;
    session_request_start(s);
    bdat_read(s);
}

static void bdat_put(struct session *s, const char *p, size_t n)
{
    if (n == 0)
        return;
    data_write(s, p, n);
    s->bdat_content += (long) n;
    s->bdat_last_byte = p[n - 1];
}

/* stray_cr - a CR that ends no line (cleanup_replace_stray_cr_lf) */
static void stray_cr(struct session *s)
{
    bdat_put(s, s->svc->replace_stray_cr ? " " : "\r", 1);
}

/*
 * bdat_write - chunk content with every line ending as CR LF: a bare LF
 * gets its CR (and is remembered for smtpd_forbid_bare_newline = reject);
 * a CR at the end of a chunk waits for the next one to see whether an LF
 * follows.
 */
static void bdat_write(struct session *s, const char *p, size_t n)
{
    size_t i = 0;
    if (s->bdat_held_cr && n > 0) {
        s->bdat_held_cr = false;
        if (p[0] == '\n') {
            bdat_put(s, "\r\n", 2);
            i = 1;
        } else {
            stray_cr(s);
        }
    }
    size_t start = i;
    while (i < n) {
        char c = p[i];
        if (c != '\r' && c != '\n') {
            i++;
            continue;
        }
        bdat_put(s, p + start, i - start);
        if (c == '\n') {
            s->bdat_bare_lf = true;
            bdat_put(s, "\r\n", 2);
            i++;
        } else if (i + 1 == n) {
            s->bdat_held_cr = true;
            i++;
        } else if (p[i + 1] == '\n') {
            bdat_put(s, "\r\n", 2);
            i += 2;
        } else {
            stray_cr(s);
            i++;
        }
        start = i;
    }
    bdat_put(s, p + start, n - start);
}

/* chunk_done - the whole chunk has been read */
static void chunk_done(struct session *s)
{
    bool last = s->bdat_last;
    if (s->bdat_reply == NULL && s->bdat_bare_lf && s->bare_newline_mode == 2) {
        char *reply =
            xasprintf("%ld 5.5.2 %s Error: bare <LF> received",
                      config_get_int(s->svc->cfg, "smtpd_forbid_bare_newline_reject_code"),
                      s->svc->myhostname);
        bdat_fail(s, reply);
        free(reply);
        session_error(s);
        session_log_event(s, "reject", last ? "END-OF-MESSAGE" : "BDAT content",
                          "bare <LF> received");
    }
    if (s->bdat_reply) {
        session_reply_text(s, s->bdat_reply);
        if (last && s->sender)
            session_transaction_reset(s); /* the LAST chunk ends a failed transaction */
        session_resume(s);
        return;
    }
    if (!last) {
        session_command_ok(s, CMD_BDAT);
        session_reply(s, "250 2.0.0 Ok: %ld bytes", s->bdat_chunk);
        session_resume(s);
        return;
    }
    if (s->bdat_held_cr) {
        s->bdat_held_cr = false;
        stray_cr(s);
    }
    /* The message ends with a line break, added when missing. */
    if (s->bdat_last_byte != '\n')
        bdat_put(s, "\r\n", 2);
    data_finish(s);
}

void bdat_read(struct session *s)
{
    struct evbuffer *in = bufferevent_get_input(s->bev);
    while (s->bdat_remaining > 0) {
        size_t avail = evbuffer_get_length(in);
        if (avail == 0)
            return;
        size_t take = avail < (size_t) s->bdat_remaining ? avail : (size_t) s->bdat_remaining;
        if (s->bdat_active && !s->bdat_error) {
            const char *p = (const char *) evbuffer_pullup(in, (ssize_t) take);
            bdat_write(s, p, take);
        }
        evbuffer_drain(in, take);
        s->bdat_remaining -= (long) take;
    }
    chunk_done(s);
}
