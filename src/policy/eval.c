/*
 * eval - one evaluation of restriction lists: the first-match loop over a
 * list (with warn_if_reject, restriction classes and table results that
 * are themselves restriction lists), the translation of access-table
 * results into decisions (access(5)), and the per-stage drivers that
 * combine lists as Postfix's SMTP server does: delayed client, HELO and
 * sender verdicts at RCPT, relay then recipient restrictions,
 * defer_if_permit carried across stages, and the implicit recipient and
 * sender table checks.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy/policy_int.h"

/* ---- tracing ---- */

struct trace_entry {
    struct policy_trace_event ev;
};

struct trace_buffer {
    struct trace_entry *items;
    size_t count, cap;
    struct arena *arena;
};

static const char *dup(struct arena *a, const char *s)
{
    return s ? arena_strdup(a, s) : NULL;
}

void trace(struct eval *e, enum policy_trace_kind kind, const char *restriction, const char *table,
           const char *key, const char *value, const char *verdict, const char *text)
{
    struct policy_session *s = e->s;
    if (s->trace_fn == NULL)
        return;
    struct trace_buffer *tb = s->trace_buf;
    if (tb == NULL) {
        tb = s->trace_buf = xcalloc(1, sizeof(*tb));
        tb->arena = arena_new(8192);
    }
    if (tb->count == tb->cap) {
        tb->cap = tb->cap ? tb->cap * 2 : 32;
        tb->items = xreallocarray(tb->items, tb->cap, sizeof(*tb->items));
    }
    struct policy_trace_event *ev = &tb->items[tb->count++].ev;
    ev->kind = kind;
    ev->depth = e->recursion;
    ev->list = dup(tb->arena, e->list_name);
    ev->position = 0;
    ev->restriction = dup(tb->arena, restriction);
    ev->table = dup(tb->arena, table);
    ev->key = dup(tb->arena, key);
    ev->value = dup(tb->arena, value);
    ev->verdict = dup(tb->arena, verdict);
    ev->text = dup(tb->arena, text);
}

static void trace_position(struct eval *e, int position)
{
    struct trace_buffer *tb = e->s->trace_buf;
    if (tb && tb->count)
        tb->items[tb->count - 1].ev.position = position;
}

static void trace_reset(struct policy_session *s)
{
    if (s->trace_buf) {
        s->trace_buf->count = 0;
        arena_reset(s->trace_buf->arena);
    }
}

static void trace_flush(struct policy_session *s)
{
    struct trace_buffer *tb = s->trace_buf;
    if (tb == NULL || s->trace_fn == NULL)
        return;
    for (size_t i = 0; i < tb->count; i++)
        s->trace_fn(s->trace_ctx, &tb->items[i].ev);
    trace_reset(s);
}

void trace_buffer_free(struct trace_buffer *tb);
void trace_buffer_free(struct trace_buffer *tb)
{
    if (tb) {
        arena_free(tb->arena);
        free(tb->items);
        free(tb);
    }
}

static const char *status_word(int status, struct eval *e)
{
    switch (status) {
    case CHECK_DUNNO: return "DUNNO";
    case CHECK_OK: return "OK";
    case CHECK_REJECT: return e->reply;
    default: return "PENDING";
    }
}

/* ---- the restriction loop ---- */

int generic_checks(struct eval *e, struct restriction_list *list, const char *reply_name,
                   const char *reply_class, enum restriction_kind def_acl)
{
    int status = CHECK_DUNNO;
    int saved_recursion = e->recursion++;
    const char *saved_list = e->list_name;
    e->list_name = list->name;
    trace(e, POLICY_TRACE_LIST, NULL, NULL, NULL, NULL, NULL, list->name);
    for (size_t i = 0; i < list->count; i++) {
        struct restriction *r = &list->items[i];
        if (e->s->st.discard)
            break;
        trace(e, POLICY_TRACE_RESTRICTION, r->text, NULL, NULL, NULL, NULL, NULL);
        trace_position(e, (int) i + 1);
        if (r->kind == R_WARN_IF_REJECT) {
            if (e->warn_if_reject == 0)
                e->warn_if_reject = e->recursion;
            trace(e, POLICY_TRACE_RESULT, r->text, NULL, NULL, NULL, "DUNNO", NULL);
            trace_position(e, (int) i + 1);
            continue;
        }
        status = eval_restriction(e, r, reply_name, reply_class, def_acl, i + 1 == list->count);
        if (status == CHECK_PENDING) {
            e->list_name = saved_list;
            return CHECK_PENDING;
        }
        trace(e, POLICY_TRACE_RESULT, r->text, NULL, NULL, NULL, status_word(status, e), NULL);
        trace_position(e, (int) i + 1);
        if (e->warn_if_reject >= e->recursion)
            e->warn_if_reject = 0;
        if (status != CHECK_DUNNO)
            break;
        if (e->s->st.defer_if_permit.active && e->s->st.defer_if_reject.active)
            break;
    }
    e->recursion = saved_recursion;
    e->list_name = saved_list;
    if (e->warn_if_reject >= e->recursion)
        e->warn_if_reject = 0;
    return status;
}

/* ---- access table results (access(5)) ---- */

static bool all_digits(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char) s[i]))
            return false;
    return true;
}

static bool word_is(const char *value, size_t len, const char *word)
{
    return strlen(word) == len && strncasecmp(value, word, len) == 0;
}

static bool is_header(const char *text)
{
    /* "Name: value": a field name of printable characters, then ':' */
    const char *p = text;
    while (*p && *p != ':' && (unsigned char) *p > 32 && (unsigned char) *p < 127)
        p++;
    return p > text && *p == ':';
}

/* can_delegate - actions recorded in the queue file need a transaction */
static bool can_delegate(struct eval *e, const char *table, const char *action)
{
    if (strcmp(e->where, "ETRN") == 0) {
        eval_warn(e, "access table %s: action %s is unavailable in smtpd_etrn_restrictions", table,
                  action);
        return false;
    }
    if (e->s->sender == NULL) {
        eval_warn(e,
                  "access table %s: with smtpd_delay_reject=no, action %s is always skipped in "
                  "Client host or Helo command restrictions",
                  table, action);
        return false;
    }
    return true;
}

int check_table_result(struct eval *e, const char *table, const char *value, const char *datum,
                       const char *reply_name, const char *reply_class,
                       enum restriction_kind def_acl)
{
    struct policy_session *s = e->s;
    size_t cmd_len = strcspn(value, " \t");
    const char *text = value + cmd_len;
    while (*text == ' ' || *text == '\t')
        text++;
    char dsn[16], dsnbuf[16];
    const char *rest;

    if (word_is(value, cmd_len, "DUNNO"))
        return CHECK_DUNNO;
    if (word_is(value, cmd_len, "REJECT")) {
        dsn_split(text, "5.7.1", dsn, &rest);
        return check_reject(e, ERR_POLICY, e->p->access_map_reject_code,
                            dsn_fix_logged(e, dsn, reply_class, dsnbuf), "<%s>: %s rejected: %s",
                            reply_name, reply_class, *rest ? rest : "Access denied");
    }
    if (word_is(value, cmd_len, "DEFER")) {
        dsn_split(text, "4.7.1", dsn, &rest);
        return check_reject(e, ERR_POLICY, e->p->access_map_defer_code,
                            dsn_fix_logged(e, dsn, reply_class, dsnbuf), "<%s>: %s rejected: %s",
                            reply_name, reply_class, *rest ? rest : "Access denied");
    }
    if (word_is(value, cmd_len, "HANGUP")) {
        /* Postfix's test action: logged with its text ("hangup: RCPT from
         * ...: text;"); the client gets no reply, only a closed connection. */
        log_whatsup(e, "hangup", text);
        snprintf(e->reply, sizeof(e->reply), "421 4.7.0 %s Server disconnected", e->p->myhostname);
        e->reply_code = 421;
        e->hangup = true;
        return CHECK_REJECT;
    }
    if (word_is(value, cmd_len, "WARN")) {
        log_whatsup(e, "warn", text);
        return CHECK_DUNNO;
    }
    if (word_is(value, cmd_len, "INFO")) {
        log_whatsup(e, "info", text);
        return CHECK_DUNNO;
    }
    if (word_is(value, cmd_len, "FILTER")) {
        if (!can_delegate(e, table, "FILTER"))
            return CHECK_DUNNO;
        if (*text == 0) {
            eval_warn(e, "access table %s entry \"%s\" has FILTER entry without value", table,
                      datum);
            return CHECK_DUNNO;
        }
        if (strchr(text, ':') == NULL) {
            eval_warn(e, "access table %s entry \"%s\" requires transport:destination", table,
                      datum);
            return CHECK_DUNNO;
        }
        char *t = xasprintf("<%s>: %s triggers FILTER %s", reply_name, reply_class, text);
        log_whatsup(e, "filter", t);
        free(t);
        s->st.filter = arena_strdup(s->arena, text);
        return CHECK_DUNNO;
    }
    if (word_is(value, cmd_len, "HOLD")) {
        if (!can_delegate(e, table, "HOLD") || s->st.hold)
            return CHECK_DUNNO;
        char *t = xasprintf("<%s>: %s %s", reply_name, reply_class,
                            *text ? text : "triggers HOLD action");
        log_whatsup(e, "hold", t);
        free(t);
        s->st.hold = true;
        return CHECK_DUNNO;
    }
    if (word_is(value, cmd_len, "DISCARD")) {
        if (!can_delegate(e, table, "DISCARD"))
            return CHECK_DUNNO;
        char *t = xasprintf("<%s>: %s %s", reply_name, reply_class,
                            *text ? text : "triggers DISCARD action");
        log_whatsup(e, "discard", t);
        free(t);
        s->st.discard = true;
        return CHECK_OK;
    }
    if (word_is(value, cmd_len, "REDIRECT") || word_is(value, cmd_len, "BCC")) {
        bool bcc = word_is(value, cmd_len, "BCC");
        const char *action = bcc ? "BCC" : "REDIRECT";
        if (!can_delegate(e, table, action))
            return CHECK_DUNNO;
        if (strchr(text, '@') == NULL) {
            eval_warn(e, "access table %s entry \"%s\" requires user@domain target", table, datum);
            return CHECK_DUNNO;
        }
        char *t = xasprintf("<%s>: %s triggers %s %s", reply_name, reply_class, action, text);
        log_whatsup(e, bcc ? "bcc" : "redirect", t);
        free(t);
        if (bcc)
            strlist_add(&s->bcc, text);
        else
            s->st.redirect = arena_strdup(s->arena, text);
        return CHECK_DUNNO;
    }
    if (word_is(value, cmd_len, "DEFER_IF_PERMIT")) {
        dsn_split(text, "4.7.1", dsn, &rest);
        return defer_if_permit(e, false, e->p->access_map_defer_code,
                               dsn_fix_logged(e, dsn, reply_class, dsnbuf), "<%s>: %s rejected: %s",
                               reply_name, reply_class, *rest ? rest : "Service unavailable");
    }
    if (word_is(value, cmd_len, "DEFER_IF_REJECT")) {
        dsn_split(text, "4.7.1", dsn, &rest);
        defer_if(e, &s->st.defer_if_reject, e->p->access_map_defer_code,
                 dsn_fix_logged(e, dsn, reply_class, dsnbuf), "<%s>: %s rejected: %s", reply_name,
                 reply_class, *rest ? rest : "Service unavailable");
        return CHECK_DUNNO;
    }
    if (word_is(value, cmd_len, "PREPEND")) {
        if (s->sender == NULL) {
            eval_warn(e,
                      "access table %s: with smtpd_delay_reject=no, action PREPEND is always "
                      "skipped in Client host or Helo command restrictions",
                      table);
            return CHECK_DUNNO;
        }
        if (strcmp(e->where, "END-OF-MESSAGE") == 0) {
            eval_warn(e, "access table %s: action PREPEND must be used before %s", table,
                      "smtpd_end_of_data_restrictions");
            return CHECK_DUNNO;
        }
        if (*text == 0 || !is_header(text)) {
            eval_warn(e, "access table %s entry \"%s\" requires header: text", table, datum);
            return CHECK_DUNNO;
        }
        strlist_add(&s->prepend, text);
        return CHECK_DUNNO;
    }
    if (all_digits(value, strlen(value)))
        return CHECK_OK;
    if (cmd_len == 3 && *text && (value[0] == '4' || value[0] == '5') &&
        isdigit((unsigned char) value[1]) && isdigit((unsigned char) value[2])) {
        int code = atoi(value);
        char def[8] = {value[0], '.', '7', '.', '1', 0};
        dsn_split(text, def, dsn, &rest);
        return check_reject(e, ERR_POLICY, code, dsn_fix_logged(e, dsn, reply_class, dsnbuf),
                            "<%s>: %s rejected: %s", reply_name, reply_class,
                            *rest ? rest : "Access denied");
    }
    if (word_is(value, cmd_len, "OK") || word_is(value, cmd_len, "RELAY"))
        return CHECK_OK;
    if (strchr(value, ':') != NULL) {
        eval_warn(e, "access table %s has entry with lookup table: %s", table, value);
        eval_warn(e, "do not specify lookup tables inside SMTPD access maps");
        eval_warn(e, "define a restriction class and specify its name instead.");
        return reject_server_error(e);
    }
    if (e->recursion > 100) {
        eval_warn(e, "access table %s entry %s causes unreasonable recursion", table, value);
        return reject_server_error(e);
    }
    /* The value is a restriction list: compile once, keep for reuse. */
    struct restriction_list *l = htable_get(e->p->value_lists, value);
    if (l == NULL) {
        struct strlist errors;
        strlist_init(&errors);
        char *name = xasprintf("%s value", table);
        l = compile_list(e->p, name, value, &errors);
        free(name);
        strlist_free(&errors);
        htable_put(e->p->value_lists, value, l);
    }
    if (l->count == 0) {
        eval_warn(e, "access table %s entry %s has empty value", table, value);
        return CHECK_OK;
    }
    return generic_checks(e, l, reply_name, reply_class, def_acl);
}

/* ---- stage drivers (Postfix's smtpd_check_*) ---- */

static void stage_reset(struct eval *e)
{
    e->recursion = 0;
    e->warn_if_reject = 0;
    e->s->st.defer_if_reject.active = false;
}

static int final_defer_if_permit(struct eval *e, int status)
{
    struct defer_state *d = &e->s->st.defer_if_permit;
    if (status != CHECK_REJECT && d->active)
        status = check_reject(e, ERR_POLICY, d->code, d->dsn, "%s", d->reason);
    return status;
}

static int run_list(struct eval *e, enum policy_list l, const char *reply_name,
                    const char *reply_class, enum restriction_kind def_acl)
{
    struct restriction_list *list = e->p->lists[l];
    if (list == NULL || list->count == 0)
        return CHECK_DUNNO;
    return generic_checks(e, list, reply_name, reply_class, def_acl);
}

static int drive_client(struct eval *e)
{
    struct policy_session *s = e->s;
    s->st.defer_if_permit.active = false;
    stage_reset(e);
    int status = run_list(e, POLICY_LIST_CLIENT, s->namaddr, CLASS_CLIENT, R_CHECK_CLIENT_ACCESS);
    if (status == CHECK_PENDING)
        return status;
    s->st.defer_if_permit_client = s->st.defer_if_permit.active;
    return status;
}

static int drive_helo(struct eval *e, const char *helo)
{
    struct policy_session *s = e->s;
    if (helo == NULL)
        return CHECK_DUNNO;
    char *saved = s->helo;
    s->helo = arena_strdup(s->arena, helo);
    s->st.defer_if_permit.active = s->st.defer_if_permit_client;
    stage_reset(e);
    int status = run_list(e, POLICY_LIST_HELO, s->helo, CLASS_HELO, R_CHECK_HELO_ACCESS);
    if (status != CHECK_PENDING)
        s->st.defer_if_permit_helo = s->st.defer_if_permit.active;
    s->helo = saved;
    return status;
}

static int drive_mail(struct eval *e, const char *sender)
{
    struct policy_session *s = e->s;
    if (sender == NULL)
        return CHECK_DUNNO;
    char *saved = s->sender;
    s->sender = arena_strdup(s->arena, sender);
    s->st.defer_if_permit.active = s->st.defer_if_permit_client | s->st.defer_if_permit_helo;
    s->st.sender_rcptmap_checked = false;
    stage_reset(e);
    int status = run_list(e, POLICY_LIST_SENDER, s->sender, CLASS_SENDER, R_CHECK_SENDER_ACCESS);
    if (status != CHECK_PENDING) {
        s->st.defer_if_permit_sender = s->st.defer_if_permit.active;
        if (e->p->reject_unlisted_sender && status != CHECK_REJECT &&
            !s->st.sender_rcptmap_checked && !s->st.discard && *sender)
            status = check_sender_rcpt_maps(e, sender);
    }
    s->sender = saved;
    return status;
}

static int drive_rcpt(struct eval *e, const char *recipient)
{
    struct policy_session *s = e->s;
    if (recipient == NULL)
        return CHECK_DUNNO;
    if (strcasecmp(recipient, "postmaster") == 0)
        return CHECK_DUNNO;
    char *saved = s->recipient;
    s->recipient = arena_strdup(s->arena, recipient);
    s->st.recipient_rcptmap_checked = false;
    int status = CHECK_DUNNO;
    if (e->p->delay_reject) {
        if ((status = drive_client(e)) != CHECK_DUNNO && status != CHECK_OK)
            goto done;
        if ((status = drive_helo(e, s->helo)) != CHECK_DUNNO && status != CHECK_OK)
            goto done;
        if ((status = drive_mail(e, s->sender)) != CHECK_DUNNO && status != CHECK_OK)
            goto done;
    }
    s->st.defer_if_permit.active = s->st.defer_if_permit_sender;
    stage_reset(e);
    status = run_list(e, POLICY_LIST_RELAY, recipient, CLASS_RECIPIENT, R_CHECK_RECIPIENT_ACCESS);
    if (status == CHECK_PENDING)
        goto done;
    if (status != CHECK_REJECT) {
        status = run_list(e, POLICY_LIST_RECIPIENT, recipient, CLASS_RECIPIENT,
                          R_CHECK_RECIPIENT_ACCESS);
        if (status == CHECK_PENDING)
            goto done;
    }
    status = final_defer_if_permit(e, status);
    if (e->p->reject_unlisted_recipient && status != CHECK_REJECT &&
        !s->st.recipient_rcptmap_checked && !s->st.discard) {
        int r = check_recipient_rcpt_maps(e, recipient);
        if (r != CHECK_DUNNO)
            status = r;
    }
done:
    s->recipient = saved;
    return status;
}

static int drive_etrn(struct eval *e, const char *domain)
{
    struct policy_session *s = e->s;
    if (domain == NULL)
        return CHECK_DUNNO;
    char *saved = s->etrn_name;
    s->etrn_name = arena_strdup(s->arena, domain);
    int status = CHECK_DUNNO;
    if (e->p->delay_reject) {
        if ((status = drive_client(e)) != CHECK_DUNNO && status != CHECK_OK)
            goto done;
        if ((status = drive_helo(e, s->helo)) != CHECK_DUNNO && status != CHECK_OK)
            goto done;
    }
    s->st.defer_if_permit.active = s->st.defer_if_permit_client | s->st.defer_if_permit_helo;
    stage_reset(e);
    status = run_list(e, POLICY_LIST_ETRN, domain, CLASS_ETRN, R_CHECK_ETRN_ACCESS);
    if (status != CHECK_PENDING)
        status = final_defer_if_permit(e, status);
done:
    s->etrn_name = saved;
    return status;
}

static int drive_data_or_eod(struct eval *e, enum policy_list l, const char *reply_name,
                             const char *reply_class)
{
    struct policy_session *s = e->s;
    char *saved = s->recipient;
    if (s->rcpt_count > 1)
        s->recipient = NULL;
    s->st.defer_if_permit.active = false;
    stage_reset(e);
    int status = run_list(e, l, reply_name, reply_class, R_UNKNOWN);
    if (status != CHECK_PENDING)
        status = final_defer_if_permit(e, status);
    s->recipient = saved;
    return status;
}

/* ---- public checks ---- */

enum check_kind { K_CLIENT, K_HELO, K_MAIL, K_RCPT, K_VRFY, K_ETRN, K_DATA, K_EOD };

static enum policy_status run(struct policy_session *s, enum check_kind kind, const char *arg,
                              struct policy_result *r)
{
    static const char *const where[] = {"CONNECT", "HELO", "MAIL", "RCPT",
                                        "VRFY",    "ETRN", "DATA", "END-OF-MESSAGE"};
    struct engine_state saved_state = s->st;
    size_t saved_bcc = s->bcc.count, saved_prepend = s->prepend.count;
    strlist_free(&s->log);
    s->n_pending = 0;
    trace_reset(s);
    struct eval e = {.s = s, .p = s->p, .where = where[kind]};
    if ((kind == K_CLIENT || kind == K_HELO || kind == K_DATA) && s->command_name)
        e.where = s->command_name;
    int status;
    switch (kind) {
    case K_CLIENT: status = drive_client(&e); break;
    case K_HELO: status = drive_helo(&e, arg); break;
    case K_MAIL: status = drive_mail(&e, arg); break;
    case K_RCPT:
    case K_VRFY: status = drive_rcpt(&e, arg); break;
    case K_ETRN: status = drive_etrn(&e, arg); break;
    case K_DATA: status = drive_data_or_eod(&e, POLICY_LIST_DATA, "DATA", CLASS_DATA); break;
    case K_EOD:
    default: status = drive_data_or_eod(&e, POLICY_LIST_EOD, "END-OF-MESSAGE", CLASS_EOD); break;
    }
    memset(r, 0, sizeof(*r));
    if (status == CHECK_PENDING) {
        /* Forget this pass: it will be repeated with the missing facts. */
        s->st = saved_state;
        while (s->bcc.count > saved_bcc)
            free(s->bcc.items[--s->bcc.count]);
        while (s->prepend.count > saved_prepend)
            free(s->prepend.items[--s->prepend.count]);
        strlist_free(&s->log);
        trace_reset(s);
        r->status = POLICY_PENDING;
        return POLICY_PENDING;
    }
    trace_flush(s);
    /* Facts served this check; a later check asks afresh (TTLs apply). */
    policy_forget_facts(s);
    if (status == CHECK_REJECT) {
        r->status = POLICY_REJECT;
        snprintf(r->reply, sizeof(r->reply), "%s", e.reply);
        r->code = e.reply_code;
        r->disconnect = r->code == 421 || r->code == 521;
        r->hangup = e.hangup;
        return POLICY_REJECT;
    }
    r->status = POLICY_OK;
    return POLICY_OK;
}

enum policy_status policy_check_client(struct policy_session *s, struct policy_result *r)
{
    return run(s, K_CLIENT, NULL, r);
}

enum policy_status policy_check_helo(struct policy_session *s, const char *helo,
                                     struct policy_result *r)
{
    return run(s, K_HELO, helo, r);
}

enum policy_status policy_check_mail(struct policy_session *s, const char *sender,
                                     struct policy_result *r)
{
    return run(s, K_MAIL, sender, r);
}

enum policy_status policy_check_rcpt(struct policy_session *s, const char *recipient,
                                     struct policy_result *r)
{
    return run(s, K_RCPT, recipient, r);
}

enum policy_status policy_check_vrfy(struct policy_session *s, const char *recipient,
                                     struct policy_result *r)
{
    return run(s, K_VRFY, recipient, r);
}

enum policy_status policy_check_etrn(struct policy_session *s, const char *domain,
                                     struct policy_result *r)
{
    return run(s, K_ETRN, domain, r);
}

enum policy_status policy_check_data(struct policy_session *s, struct policy_result *r)
{
    return run(s, K_DATA, NULL, r);
}

enum policy_status policy_check_eod(struct policy_session *s, struct policy_result *r)
{
    return run(s, K_EOD, NULL, r);
}

enum policy_status policy_check_size(struct policy_session *s, const char *sender, long size,
                                     struct policy_result *r)
{
    memset(r, 0, sizeof(*r));
    strlist_free(&s->log);
    struct eval e = {.s = s, .p = s->p, .where = "MAIL"};
    if (s->p->message_size_limit > 0 && size > s->p->message_size_limit) {
        char *saved = s->sender; /* the log line names the sender */
        s->sender = arena_strdup(s->arena, sender);
        check_reject(&e, ERR_POLICY, 552, "5.3.4", "Message size exceeds fixed limit");
        s->sender = saved;
        r->status = POLICY_REJECT;
        snprintf(r->reply, sizeof(r->reply), "%s", e.reply);
        r->code = e.reply_code;
        return POLICY_REJECT;
    }
    r->status = POLICY_OK;
    return POLICY_OK;
}
