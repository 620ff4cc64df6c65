/*
 * commands - the SMTP command table: each verb with its syntax and state
 * checks, the restriction stage it triggers, and its replies, as Postfix's
 * smtpd gives them (RFC 5321, 1870, 2920, 3030, 3207, 4954, 6531 and
 * XCLIENT).  A command that must wait for the policy engine is re-run
 * from the top when the facts arrive; state changes happen only after the
 * checks, so re-running is safe.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtp/smtp_int.h"
#include "table/table.h"

const char *const smtp_command_names[CMD_COUNT] = {
    [CMD_HELO] = "HELO",         [CMD_EHLO] = "EHLO", [CMD_XCLIENT] = "XCLIENT",
    [CMD_STARTTLS] = "STARTTLS", [CMD_AUTH] = "AUTH", [CMD_MAIL] = "MAIL",
    [CMD_RCPT] = "RCPT",         [CMD_DATA] = "DATA", [CMD_BDAT] = "BDAT",
    [CMD_RSET] = "RSET",         [CMD_NOOP] = "NOOP", [CMD_VRFY] = "VRFY",
    [CMD_ETRN] = "ETRN",         [CMD_QUIT] = "QUIT", [CMD_XFORWARD] = "XFORWARD",
    [CMD_UNKNOWN] = "UNKNOWN",
};

/* Commands that must end a pipelined group (RFC 2920), and those that count
 * towards smtpd_junk_command_limit. */
#define F_LAST    (1u << 0)
#define F_JUNK    (1u << 1)
#define F_PRE_TLS (1u << 2) /* allowed before STARTTLS at level encrypt */
static const unsigned command_flags[CMD_COUNT] = {
    [CMD_HELO] = F_LAST | F_JUNK | F_PRE_TLS,
    [CMD_EHLO] = F_LAST | F_JUNK | F_PRE_TLS,
    [CMD_XCLIENT] = F_LAST | F_PRE_TLS,
    [CMD_XFORWARD] = F_PRE_TLS,
    [CMD_STARTTLS] = F_PRE_TLS,
    [CMD_DATA] = F_LAST,
    [CMD_RSET] = F_JUNK,
    [CMD_NOOP] = F_LAST | F_JUNK | F_PRE_TLS,
    [CMD_VRFY] = F_LAST | F_JUNK,
    [CMD_ETRN] = F_JUNK,
    [CMD_QUIT] = F_PRE_TLS,
};

static void reply(struct session *s, const char *text)
{
    session_reply_text(s, text);
}

static void ok(struct session *s, int cmd)
{
    session_command_ok(s, cmd);
}

static void error_reply(struct session *s, const char *text)
{
    session_reply_text(s, text);
    session_error(s);
}

/* ---- client event rates (anvil) ---- */

static void rate_done(void *arg, unsigned count, unsigned rate)
{
    (void) count;
    struct session *s = arg;
    session_enter(s);
    s->rate_value = rate;
    s->rate_state = 2;
    if (s->rate_sync) /* answered before anvil_request returned */
        return;
    if (!s->closing)
        commands_continue(s);
    session_release(s);
}

/*
 * rate_exceeded - 1 when this command goes over limit (the caller replies),
 * 0 when within, -1 when the answer is pending (the command is re-run).
 */
int commands_rate_exceeded(struct session *s, const char *event, long limit)
{
    if (limit <= 0 || s->limits_exempt)
        return 0;
    if (s->rate_state == 0) {
        s->rate_state = 1;
        session_hold(s);
        s->rate_sync = true;
        anvil_request(s->w->anvil, event, s->svc->name, s->addr, rate_done, s);
        s->rate_sync = false;
        if (s->rate_state == 1) {
            s->state = ST_WAIT;
            bufferevent_disable(s->bev, EV_READ);
            return -1;
        }
        s->async_refs--; /* answered at once */
    }
    return s->rate_value > (unsigned) limit ? 1 : 0;
}

/* ---- HELO / EHLO ---- */

bool session_discarded(struct session *s, const char *keyword)
{
    for (size_t i = 0; i < s->svc->discard_ehlo.count; i++)
        if (strcasecmp(s->svc->discard_ehlo.items[i], keyword) == 0)
            return true;
    if (s->svc->n_discard_maps && s->discard_by_addr == NULL) {
        s->discard_by_addr = xcalloc(1, sizeof(*s->discard_by_addr));
        strlist_init(s->discard_by_addr);
        for (size_t i = 0; i < s->svc->n_discard_maps; i++) {
            const char *v;
            if (table_lookup(s->svc->discard_maps[i], s->addr, &v) == TABLE_FOUND) {
                str_split_list(v, LIST_SEPS, s->discard_by_addr, NULL);
                break;
            }
        }
    }
    for (size_t i = 0; s->discard_by_addr && i < s->discard_by_addr->count; i++)
        if (strcasecmp(s->discard_by_addr->items[i], keyword) == 0)
            return true;
    return false;
}

#define discarded session_discarded

static bool etrn_valid_domain(const char *d)
{
    size_t n = strlen(d);
    if (n > 2 && d[0] == '[' && d[n - 1] == ']')
        return true;
    char *t = xstrdup(d);
    if (n > 1 && t[n - 1] == '.')
        t[n - 1] = 0;
    bool okay = policy_valid_hostname(t);
    free(t);
    return okay;
}

static bool auth_offered(struct session *s)
{
    if (!s->svc->sasl_enable || s->svc->sasl == NULL || discarded(s, "auth"))
        return false;
    if (s->svc->sasl_exceptions && policy_match(s->svc->sasl_exceptions, s->name, s->addr) > 0)
        return false;
    if (s->svc->tls_auth_only && !s->tls_active)
        return false;
    struct policy *unused = NULL;
    (void) unused;
    return true;
}

static bool starttls_offered(struct session *s)
{
    return s->svc->tls && !s->tls_active && strcmp(s->svc->tls_level, "none") != 0 &&
           *s->svc->tls_level;
}

/* log_discarded - Postfix's "discarding EHLO keywords: ..." with its names
 * in its order (SMTPUTF8 shows as EHLO_MASK_SMTPUTF8, as Postfix 3.7
 * prints it); "silent-discard" keeps it quiet */
static void log_discarded(struct session *s)
{
    static const char *const order[][2] = {
        {"8bitmime", "8BITMIME"},
        {"auth", "AUTH"},
        {"etrn", "ETRN"},
        {"pipelining", "PIPELINING"},
        {"size", "SIZE"},
        {"verp", "VERP"},
        {"vrfy", "VRFY"},
        {"xclient", "XCLIENT"},
        {"xforward", "XFORWARD"},
        {"starttls", "STARTTLS"},
        {"enhancedstatuscodes", "ENHANCEDSTATUSCODES"},
        {"dsn", "DSN"},
        {"smtputf8", "EHLO_MASK_SMTPUTF8"},
        {"chunking", "CHUNKING"},
    };
    /* Postfix 3.7 also says nothing when ENHANCEDSTATUSCODES is discarded. */
    if (discarded(s, "silent-discard") || discarded(s, "enhancedstatuscodes"))
        return;
    struct buf gone;
    buf_init(&gone);
    for (size_t i = 0; i < ARRAY_LEN(order); i++)
        if (discarded(s, order[i][0]))
            buf_printf(&gone, " %s", order[i][1]);
    if (gone.len)
        log_info("discarding EHLO keywords:%s", gone.data);
    buf_free(&gone);
}

static void ehlo_reply(struct session *s)
{
    struct buf b;
    buf_init(&b);
    buf_printf(&b, "250 %s", s->svc->myhostname);
#define KW(name, ...)                    \
    do {                                 \
        if (!discarded(s, name)) {       \
            buf_putc(&b, '\n');          \
            buf_printf(&b, __VA_ARGS__); \
        }                                \
    } while (0)
    KW("pipelining", "PIPELINING");
    if (s->svc->message_size_limit > 0)
        KW("size", "SIZE %ld", s->svc->message_size_limit);
    else
        KW("size", "SIZE");
    if (!s->svc->disable_vrfy)
        KW("vrfy", "VRFY");
    KW("etrn", "ETRN");
    if (starttls_offered(s))
        KW("starttls", "STARTTLS");
    if (auth_offered(s)) {
        const char *mechs = sasl_mechanisms(s->svc->sasl, s->tls_active);
        if (mechs && *mechs) {
            KW("auth", "AUTH %s", mechs);
            if (config_get_bool(s->svc->cfg, "broken_sasl_auth_clients"))
                KW("auth", "AUTH=%s", mechs);
        }
    }
    if (s->xclient_authorized)
        KW("xclient", "XCLIENT NAME ADDR PROTO HELO REVERSE_NAME PORT LOGIN DESTADDR DESTPORT");
    if (s->xforward_authorized)
        KW("xforward", "XFORWARD NAME ADDR PROTO HELO SOURCE PORT IDENT");
    KW("enhancedstatuscodes", "ENHANCEDSTATUSCODES");
    KW("8bitmime", "8BITMIME");
    KW("dsn", "DSN");
    if (s->svc->smtputf8)
        KW("smtputf8", "SMTPUTF8");
    KW("chunking", "CHUNKING");
#undef KW
    log_discarded(s);
    reply(s, b.data);
    buf_free(&b);
}

static void cmd_helo(struct session *s, int cmd, char *arg)
{
    if (*arg == 0) {
        error_reply(s, cmd == CMD_EHLO ? "501 Syntax: EHLO hostname" : "501 Syntax: HELO hostname");
        return;
    }
    /* The whole argument is the name, spaces and all, as in Postfix. */
    if (!s->svc->delay_reject) {
        struct policy_result r;
        policy_set_command(s->ps, cmd == CMD_EHLO ? "EHLO" : NULL);
        enum policy_status st = session_policy(s, policy_check_helo(s->ps, arg, &r), &r);
        if (st == POLICY_PENDING)
            return;
        if (st == POLICY_REJECT) {
            session_rejected(s, &r);
            return;
        }
    }
    session_transaction_reset(s);
    s->helo = arena_strdup(s->arena, arg);
    s->ehlo = cmd == CMD_EHLO;
    if (s->ehlo)
        s->protocol = "ESMTP";
    else
        s->protocol = "SMTP";
    policy_set_helo(s->ps, s->helo);
    policy_set_protocol(s->ps, s->protocol);
    ok(s, cmd);
    if (cmd == CMD_EHLO)
        ehlo_reply(s);
    else
        session_reply(s, "250 %s", s->svc->myhostname);
}

/* ---- MAIL / RCPT ---- */

/* skip_prefix - "FROM:" / "TO:" (case-insensitive) with optional spaces */
static char *skip_prefix(char *arg, const char *prefix)
{
    size_t n = strlen(prefix);
    if (strncasecmp(arg, prefix, n) != 0)
        return NULL;
    arg += n;
    while (*arg == ' ')
        arg++;
    return arg;
}

static bool valid_xtext(const char *v)
{
    for (; *v; v++) {
        unsigned char c = (unsigned char) *v;
        if (c < 33 || c > 126 || c == '=')
            return false;
        if (c == '+') {
            if (!isxdigit((unsigned char) v[1]) || !isxdigit((unsigned char) v[2]))
                return false;
            v += 2;
        }
    }
    return true;
}

/* valid_notify - NEVER, or a list of SUCCESS, FAILURE and DELAY */
static bool valid_notify(const char *v)
{
    if (strcasecmp(v, "NEVER") == 0)
        return true;
    if (*v == 0 || v[0] == ',' || v[strlen(v) - 1] == ',')
        return false;
    char *copy = xstrdup(v), *save, *item;
    bool okay = true;
    for (item = strtok_r(copy, ",", &save); item && okay; item = strtok_r(NULL, ",", &save)) {
        okay = strcasecmp(item, "SUCCESS") == 0 || strcasecmp(item, "FAILURE") == 0 ||
               strcasecmp(item, "DELAY") == 0;
        if (!okay && strcasecmp(item, "NEVER") != 0) {
            char *shown = str_printable(item, strlen(item)), *all = str_printable(v, strlen(v));
            log_warnx("unknown DSN NOTIFY command value \"%s\" in \"%s\"", shown, all);
            free(shown);
            free(all);
        }
    }
    free(copy);
    return okay;
}

static bool valid_orcpt(const char *v)
{
    const char *semi = strchr(v, ';');
    if (semi == NULL || semi == v || semi[1] == 0)
        return false;
    return valid_xtext(semi + 1);
}

static void cmd_mail(struct session *s, int cmd, char *arg)
{
    if (s->svc->helo_required && s->helo == NULL) {
        error_reply(s, "503 5.5.1 Error: send HELO/EHLO first");
        return;
    }
    if (s->sender != NULL) {
        error_reply(s, "503 5.5.1 Error: nested MAIL command");
        return;
    }
    char *text = skip_prefix(arg, "FROM:");
    if (text == NULL || *text == 0) {
        error_reply(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
        return;
    }
    struct mail_args a;
    char *err = NULL;
    if (args_parse(s, text, true, &a, &err) == -1) {
        args_log_illegal(s, "MAIL", text, false);
        error_reply(s, err);
        free(err);
        return;
    }
    long size = 0;
    const char *body = NULL, *envid = NULL, *ret = NULL;
    bool utf8 = false;
    for (size_t i = 0; i < a.params.count; i++) {
        char *p = a.params.items[i];
        char *eq = strchr(p, '=');
        const char *v = eq ? eq + 1 : "";
        size_t nl = eq ? (size_t) (eq - p) : strlen(p);
        if (nl == 4 && strncasecmp(p, "SIZE", 4) == 0 && eq) {
            if (*v == 0 || strspn(v, "0123456789") != strlen(v)) {
                error_reply(s, "501 5.5.4 Bad message size syntax");
                goto done;
            }
            errno = 0;
            long long n = strtoll(v, NULL, 10);
            if (errno == ERANGE || n > LONG_MAX / 2) {
                error_reply(s, "552 5.3.4 Message size exceeds file system imposed limit");
                goto done;
            }
            size = (long) n;
        } else if (nl == 4 && strncasecmp(p, "BODY", 4) == 0 && eq &&
                   (strcasecmp(v, "8BITMIME") == 0 || strcasecmp(v, "7BIT") == 0)) {
            body = v;
        } else if (nl == 8 && strncasecmp(p, "SMTPUTF8", 8) == 0 && !eq && s->svc->smtputf8 &&
                   !discarded(s, "smtputf8")) {
            utf8 = true;
        } else if (nl == 4 && strncasecmp(p, "AUTH", 4) == 0 && eq) {
            /* AUTH=<> or AUTH=xtext: accepted, used only when logged in */
        } else if ((nl == 3 && strncasecmp(p, "RET", 3) == 0 && eq) ||
                   (nl == 5 && strncasecmp(p, "ENVID", 5) == 0 && eq)) {
            if (discarded(s, "dsn")) {
                error_reply(s, "501 5.7.1 DSN support is disabled");
                goto done;
            }
            if (nl == 3) {
                if (ret || (strcasecmp(v, "FULL") != 0 && strcasecmp(v, "HDRS") != 0)) {
                    error_reply(s, "501 5.5.4 Bad RET parameter syntax");
                    goto done;
                }
                ret = v;
            } else {
                if (envid || *v == 0 || !valid_xtext(v)) {
                    error_reply(s, "501 5.5.4 Bad ENVID parameter syntax");
                    goto done;
                }
                envid = v;
            }
        } else {
            char *shown = str_printable(p, strlen(p));
            session_reply(s, "555 5.5.4 Unsupported option: %s", shown);
            session_error(s);
            free(shown);
            goto done;
        }
    }
    int over = commands_rate_exceeded(s, "message", s->svc->msg_rate_limit);
    if (over < 0)
        goto done;
    if (over) {
        log_warnx("Message delivery request rate limit exceeded: %u from %s for service %s",
                  s->rate_value, s->namaddr, s->svc->name);
        session_reply(s, "450 4.7.1 Error: too much mail from %s", s->addr);
        session_error(s);
        goto done;
    }
    if (size > 0) {
        struct policy_result r;
        if (session_policy(s, policy_check_size(s->ps, a.address, size, &r), &r) == POLICY_REJECT) {
            session_rejected(s, &r);
            goto done;
        }
    }
    if (!s->svc->delay_reject) {
        struct policy_result r;
        enum policy_status st = session_policy(s, policy_check_mail(s->ps, a.address, &r), &r);
        if (st == POLICY_PENDING)
            goto done;
        if (st == POLICY_REJECT) {
            session_rejected(s, &r);
            goto done;
        }
    }
    s->sender = arena_strdup(s->txn, a.address);
    s->declared_size = size;
    s->body_type = body ? arena_strdup(s->txn, body) : NULL;
    s->smtputf8 = utf8;
    s->envid = envid ? arena_strdup(s->txn, envid) : NULL;
    s->ret = ret ? arena_strdup(s->txn, ret) : NULL;
    policy_accept_mail(s->ps, s->sender);
    policy_set_message_size(s->ps, size);
    ok(s, cmd);
    reply(s, "250 2.1.0 Ok");
done:
    mail_args_free(&a);
}

static void cmd_rcpt(struct session *s, int cmd, char *arg)
{
    if (s->sender == NULL) {
        error_reply(s, "503 5.5.1 Error: need MAIL command");
        return;
    }
    char *text = skip_prefix(arg, "TO:");
    if (text == NULL || *text == 0) {
        error_reply(s, "501 5.5.4 Syntax: RCPT TO:<address>");
        return;
    }
    struct mail_args a;
    char *err = NULL;
    if (args_parse(s, text, false, &a, &err) == -1) {
        args_log_illegal(s, "RCPT", text, false);
        error_reply(s, err);
        free(err);
        return;
    }
    if (*a.address == 0) {
        args_log_illegal(s, "RCPT", text, false);
        error_reply(s, "501 5.1.3 Bad recipient address syntax");
        goto done;
    }
    bool notify = false, orcpt = false;
    for (size_t i = 0; i < a.params.count; i++) {
        char *p = a.params.items[i];
        char *eq = strchr(p, '=');
        const char *v = eq ? eq + 1 : "";
        size_t nl = eq ? (size_t) (eq - p) : strlen(p);
        bool is_notify = nl == 6 && strncasecmp(p, "NOTIFY", 6) == 0 && eq;
        bool is_orcpt = nl == 5 && strncasecmp(p, "ORCPT", 5) == 0 && eq;
        if (is_notify || is_orcpt) {
            if (discarded(s, "dsn")) {
                error_reply(s, "501 5.7.1 DSN support is disabled");
                goto done;
            }
            if (is_notify && (notify || !valid_notify(v))) {
                error_reply(s, "501 5.5.4 Error: Bad NOTIFY parameter syntax");
                goto done;
            }
            if (is_orcpt && (orcpt || !valid_orcpt(v))) {
                error_reply(s, "501 5.5.4 Error: Bad ORCPT parameter syntax");
                goto done;
            }
            notify |= is_notify;
            orcpt |= is_orcpt;
            continue;
        }
        char *shown = str_printable(p, strlen(p));
        session_reply(s, "555 5.5.4 Unsupported option: %s", shown);
        session_error(s);
        free(shown);
        goto done;
    }
    int over = commands_rate_exceeded(s, "rcpt", s->svc->rcpt_rate_limit);
    if (over < 0)
        goto done;
    if (over) {
        log_warnx("Recipient address rate limit exceeded: %u from %s for service %s", s->rate_value,
                  s->namaddr, s->svc->name);
        session_reply(s, "450 4.7.1 Error: too many recipients from %s", s->addr);
        session_error(s);
        goto done;
    }
    if (s->svc->recipient_limit > 0 && (long) s->rcpts.count >= s->svc->recipient_limit) {
        /* Only recipients past the overshoot limit count as errors. */
        s->rcpt_attempts++;
        reply(s, "452 4.5.3 Error: too many recipients");
        if (s->rcpt_overshoot++ >= s->svc->recipient_overshoot_limit)
            session_error(s);
        else
            ok(s, cmd); /* Postfix counts a reply that is no error as "ok" */
        goto done;
    }
    struct policy_result r;
    enum policy_status st = session_policy(s, policy_check_rcpt(s->ps, a.address, &r), &r);
    if (st == POLICY_PENDING)
        goto done;
    s->rcpt_attempts++;
    if (st == POLICY_REJECT) {
        session_rejected(s, &r);
        goto done;
    }
    if (s->rcpts.count == 0 && s->msg == NULL && data_open_message(s) == -1) {
        reply(s, "451 4.3.0 Error: queue file write error");
        session_error(s);
        goto done;
    }
    strlist_add(&s->rcpts, a.address);
    policy_accept_rcpt(s->ps, a.address);
    ok(s, cmd);
    reply(s, "250 2.1.5 Ok");
done:
    mail_args_free(&a);
}

/* ---- DATA / BDAT ---- */

static bool need_recipients(struct session *s, const char *cmd)
{
    if (s->rcpts.count > 0)
        return true;
    (void) cmd;
    if (s->sender == NULL)
        error_reply(s, "503 5.5.1 Error: need RCPT command");
    else
        error_reply(s, "554 5.5.1 Error: no valid recipients");
    return false;
}

static void cmd_data(struct session *s, int cmd, char *arg)
{
    if (*arg) {
        error_reply(s, "501 5.5.4 Syntax: DATA");
        return;
    }
    if (s->data_rejected) {
        /* Postfix keeps the transaction after an end-of-data reject. */
    }
    if (!need_recipients(s, "DATA"))
        return;
    if (s->bdat_active || s->bdat_error) {
        error_reply(s, "503 5.5.1 Error: DATA after BDAT");
        return;
    }
    struct policy_result r;
    policy_set_command(s->ps, NULL);
    enum policy_status st = session_policy(s, policy_check_data(s->ps, &r), &r);
    if (st == POLICY_PENDING)
        return;
    if (st == POLICY_REJECT) {
        session_rejected(s, &r);
        return;
    }
    reply(s, "354 End data with <CR><LF>.<CR><LF>");
    data_begin(s);
}

/* ---- simple commands ---- */

static void cmd_rset(struct session *s, int cmd, char *arg)
{
    if (*arg) {
        error_reply(s, "501 5.5.4 Syntax: RSET");
        return;
    }
    session_transaction_reset(s);
    ok(s, cmd);
    reply(s, "250 2.0.0 Ok");
}

static void cmd_noop(struct session *s, int cmd, char *arg)
{
    (void) arg;
    ok(s, cmd);
    reply(s, "250 2.0.0 Ok");
}

static void cmd_quit(struct session *s, int cmd, char *arg)
{
    (void) arg;
    ok(s, cmd);
    reply(s, "221 2.0.0 Bye");
    session_close(s, "quit");
}

static void cmd_vrfy(struct session *s, int cmd, char *arg)
{
    if (s->svc->disable_vrfy) {
        error_reply(s, "502 5.5.1 VRFY command is disabled");
        return;
    }
    if (*arg == 0) {
        error_reply(s, "501 5.5.4 Syntax: VRFY address [SMTPUTF8]");
        return;
    }
    struct strlist words;
    strlist_init(&words);
    args_words(arg, &words);
    bool extra = words.count > 2 || (words.count == 2 && strcasecmp(words.items[1], "SMTPUTF8"));
    strlist_free(&words);
    struct mail_args a;
    char *err = NULL;
    if (extra || args_parse(s, arg, false, &a, &err) == -1 || *a.address == 0) {
        if (!extra && err == NULL)
            mail_args_free(&a);
        free(err);
        args_log_illegal(s, "VRFY", arg, true);
        error_reply(s, "501 5.1.3 Bad recipient address syntax");
        return;
    }
    struct policy_result r;
    enum policy_status st = session_policy(s, policy_check_vrfy(s->ps, a.address, &r), &r);
    if (st == POLICY_PENDING) {
        mail_args_free(&a);
        return;
    }
    if (st == POLICY_REJECT) {
        session_rejected(s, &r);
    } else {
        ok(s, cmd);
        session_reply(s, "252 2.0.0 %s", a.raw);
    }
    mail_args_free(&a);
}

static void cmd_etrn(struct session *s, int cmd, char *arg)
{
    if (*arg == 0 || strchr(arg, ' ') != NULL) {
        error_reply(s, "500 Syntax: ETRN domain");
        return;
    }
    if (s->helo == NULL && s->svc->helo_required) {
        error_reply(s, "503 Error: send HELO/EHLO first");
        return;
    }
    if (s->sender != NULL) {
        error_reply(s, "503 Error: MAIL transaction in progress");
        return;
    }
    const char *domain = arg[0] == '@' || arg[0] == '#' ? arg + 1 : arg;
    if (!etrn_valid_domain(domain)) {
        error_reply(s, "501 Error: invalid parameter syntax");
        return;
    }
    struct policy_result r;
    enum policy_status st = session_policy(s, policy_check_etrn(s->ps, domain, &r), &r);
    if (st == POLICY_PENDING)
        return;
    if (st == POLICY_REJECT) {
        session_rejected(s, &r);
        return;
    }
    /* Mail for a domain in fast_flush_domains is run on request. */
    if (s->svc->flush_domains && policy_match(s->svc->flush_domains, domain, NULL) > 0) {
        ok(s, cmd);
        reply(s, "250 Queuing started");
        return;
    }
    char *shown = str_printable(domain, strlen(domain));
    log_warnx("reject: ETRN %.100s... from %s", shown, s->namaddr);
    free(shown);
    session_reply(s, "459 <%s>: service unavailable", domain);
    session_error(s);
}

/* ---- XCLIENT ---- */

/* xtext_decode - RFC 3461 xtext; an invalid "+XX" is kept as it is, as
 * Postfix does */
static void xtext_decode(const char *in, struct buf *out)
{
    for (; *in; in++) {
        if (*in == '+' && isxdigit((unsigned char) in[1]) && isxdigit((unsigned char) in[2])) {
            char hex[3] = {in[1], in[2], 0};
            buf_putc(out, (int) strtol(hex, NULL, 16));
            in += 2;
        } else {
            buf_putc(out, *in);
        }
    }
}

static bool unavailable(const char *v)
{
    return strcmp(v, "[UNAVAILABLE]") == 0 || strcmp(v, "[TEMPUNAVAIL]") == 0;
}

/* xclient_address - ADDR / DESTADDR: IPv4, or IPv6 with the "IPV6:" prefix
 * (any case) when the server does IPv6; written in its standard form */
static bool xclient_address(struct session *s, const char *v, char *out, size_t outlen)
{
    unsigned char bin[16];
    if (strncasecmp(v, "IPV6:", 5) == 0) {
        if (!s->svc->ipv6 || inet_pton(AF_INET6, v + 5, bin) != 1)
            return false;
        return inet_ntop(AF_INET6, bin, out, (socklen_t) outlen) != NULL;
    }
    if (inet_pton(AF_INET, v, bin) != 1)
        return false;
    return inet_ntop(AF_INET, bin, out, (socklen_t) outlen) != NULL;
}

static bool xclient_port(const char *v)
{
    return *v && strspn(v, "0123456789") == strlen(v) && strlen(v) <= 5;
}

/* What one XCLIENT command says; applied only when all of it is valid. */
struct xclient_values {
    char addr[INET6_ADDRSTRLEN];
    char *name, *rev, *helo, *proto, *login, *port;
    bool addr_set, addr_unavailable;
};

/* xclient_parse - 0, or -1 after the 501 reply */
static int xclient_parse(struct session *s, char *arg, struct xclient_values *x)
{
    char *save, *tok;
    for (tok = strtok_r(arg, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
        char *eq = strchr(tok, '=');
        if (eq == NULL || eq[1] == 0) {
            error_reply(s, "501 5.5.4 Error: attribute=value expected");
            return -1;
        }
        *eq = 0;
        struct buf vb;
        buf_init(&vb);
        xtext_decode(eq + 1, &vb);
        char *v = arena_strdup(s->arena, buf_cstr(&vb));
        buf_free(&vb);
        const char *bad = NULL;
        if (strcasecmp(tok, "ADDR") == 0) {
            x->addr_set = true;
            x->addr_unavailable = unavailable(v);
            if (!x->addr_unavailable && !xclient_address(s, v, x->addr, sizeof(x->addr)))
                bad = "ADDR";
        } else if (strcasecmp(tok, "NAME") == 0) {
            if (!unavailable(v) && !policy_valid_hostname(v))
                bad = "NAME";
            x->name = v;
        } else if (strcasecmp(tok, "REVERSE_NAME") == 0) {
            if (!unavailable(v) && !policy_valid_hostname(v))
                bad = "REVERSE_NAME";
            x->rev = v;
        } else if (strcasecmp(tok, "HELO") == 0) {
            for (char *c = v; *c; c++)
                if ((unsigned char) *c <= ' ' || (unsigned char) *c >= 127)
                    *c = '?';
            x->helo = v;
        } else if (strcasecmp(tok, "PROTO") == 0) {
            if (strcasecmp(v, "SMTP") != 0 && strcasecmp(v, "ESMTP") != 0)
                bad = "PROTO";
            x->proto = v;
        } else if (strcasecmp(tok, "LOGIN") == 0) {
            x->login = v;
        } else if (strcasecmp(tok, "PORT") == 0) {
            if (!unavailable(v) && !xclient_port(v))
                bad = "PORT";
            x->port = v;
        } else if (strcasecmp(tok, "DESTADDR") == 0) {
            char unused[INET6_ADDRSTRLEN];
            if (!unavailable(v) && !xclient_address(s, v, unused, sizeof(unused)))
                bad = "DESTADDR";
        } else if (strcasecmp(tok, "DESTPORT") == 0) {
            if (!unavailable(v) && !xclient_port(v))
                bad = "DESTPORT";
        } else {
            char *shown = str_printable(tok, strlen(tok));
            session_reply(s, "501 5.5.4 Bad XCLIENT attribute name: %s", shown);
            session_error(s);
            free(shown);
            return -1;
        }
        if (bad) {
            char *shown = str_printable(v, strlen(v));
            session_reply(s, "501 5.5.4 Bad %s syntax: %s", bad, shown);
            session_error(s);
            free(shown);
            return -1;
        }
    }
    return 0;
}

/* peer_name - a NAME / REVERSE_NAME value as name and status */
static void peer_name(struct session *s, const char *v, char **name, enum peer_status *st)
{
    if (strcmp(v, "[TEMPUNAVAIL]") == 0 || strcmp(v, "[UNAVAILABLE]") == 0 ||
        strcasecmp(v, "unknown") == 0) {
        *name = arena_strdup(s->arena, "unknown");
        *st = v[1] == 'T' ? PEER_TEMP : PEER_PERM;
    } else {
        *name = arena_strdup(s->arena, v);
        str_lower(*name);
        *st = PEER_OK;
    }
}

/*
 * XCLIENT - a trusted proxy describes the real client; the session starts
 * over as that client (greeting, HELO, login and the authorizations that
 * depend on the client).  Last value of an attribute wins.
 */
static void cmd_xclient(struct session *s, int cmd, char *arg)
{
    if (s->sender != NULL) {
        error_reply(s, "503 5.5.1 Error: MAIL transaction in progress");
        return;
    }
    if (*arg == 0) {
        error_reply(s, "501 5.5.4 Syntax: XCLIENT attribute=value...");
        return;
    }
    if (!s->xclient_authorized) {
        error_reply(s, "550 5.7.0 Error: insufficient authorization");
        return;
    }
    struct xclient_values x = {0};
    if (xclient_parse(s, arg, &x) == -1)
        return;
    /* Postfix's disconnect line counts XCLIENT as not "ok" (xclient=0/1). */
    (void) cmd;
    if (x.addr_set)
        snprintf(s->addr, sizeof(s->addr), "%s", x.addr_unavailable ? "unknown" : x.addr);
    if (x.port)
        s->port = unavailable(x.port) ? 0 : (unsigned) atol(x.port);
    if (x.name) {
        peer_name(s, x.name, &s->name, &s->name_status);
        if (x.rev == NULL && s->name_status == PEER_OK) {
            s->reverse_name = s->name;
            s->reverse_status = PEER_OK;
        }
    }
    if (x.rev)
        peer_name(s, x.rev, &s->reverse_name, &s->reverse_status);
    s->namaddr = arena_printf(s->arena, "%s[%s]", s->name, s->addr);
    s->helo = x.helo && !unavailable(x.helo) ? x.helo : NULL;
    s->ehlo = x.proto && strcasecmp(x.proto, "ESMTP") == 0;
    s->protocol = s->ehlo ? "ESMTP" : "SMTP";
    if (x.login && !unavailable(x.login)) {
        s->sasl_username = x.login;
        s->sasl_method = arena_strdup(s->arena, "XCLIENT");
    } else {
        s->sasl_username = NULL;
        s->sasl_method = NULL;
    }
    s->client_rejected = false;
    session_client_changed(s);
    session_transaction_reset(s);
    policy_set_helo(s->ps, s->helo);
    policy_set_sasl(s->ps, s->sasl_method, s->sasl_username, NULL);
    session_greeting(s);
}

/* XFORWARD - attributes a trusted proxy passes on; they are accepted and
 * recorded for logging, as the command is meant for content filters. */
static void cmd_xforward(struct session *s, int cmd, char *arg)
{
    if (!s->xforward_authorized) {
        error_reply(s, "550 5.7.0 Error: insufficient authorization");
        return;
    }
    if (*arg == 0) {
        error_reply(s, "501 5.5.4 Syntax: XFORWARD attribute=value...");
        return;
    }
    if (s->sender != NULL) {
        error_reply(s, "503 5.5.1 Error: MAIL transaction in progress");
        return;
    }
    ok(s, cmd);
    reply(s, "250 2.0.0 Ok");
}

/* ---- STARTTLS ---- */

static void cmd_starttls(struct session *s, int cmd, char *arg)
{
    if (*arg) {
        error_reply(s, "501 5.5.4 Syntax: STARTTLS");
        return;
    }
    if (s->svc->tls == NULL || strcmp(s->svc->tls_level, "none") == 0 || !*s->svc->tls_level ||
        discarded(s, "starttls")) {
        error_reply(s, "502 5.5.1 Error: command not implemented");
        return;
    }
    if (s->tls_active) {
        error_reply(s, "554 5.5.1 Error: TLS already active");
        return;
    }
    ok(s, cmd);
    reply(s, "220 2.0.0 Ready to start TLS");
    session_flush(s); /* in the clear, before the TLS layer takes over */
    /* Anything the client sent after STARTTLS in the clear is dropped
     * (the CVE-2011-0411 class of injection). */
    struct evbuffer *in = bufferevent_get_input(s->bev);
    evbuffer_drain(in, evbuffer_get_length(in));
    s->state = ST_TLS;
    struct bufferevent *tbev = tls_wrap_bufferevent(s->svc->tls, s->w->base, s->bev);
    if (tbev == NULL) {
        session_close(s, "tls");
        return;
    }
    s->bev = tbev;
    s->tls_active = true;
    session_install_bev(s);
    bufferevent_enable(s->bev, EV_READ | EV_WRITE);
    session_arm_timer(s, s->svc->starttls_timeout_ms);
}

void commands_tls_ready(struct session *s)
{
    struct policy_tls info;
    if (!tls_session_info(s->bev, &info)) {
        session_close(s, "tls");
        return;
    }
    char *line = tls_log_text(s->bev, s->namaddr);
    if (line)
        log_info("%s", line);
    free(line);
    if (tls_server_require_ccert(s->svc->tls) && !info.cert_trusted) {
        session_reply(s, "421 4.7.1 %s Error: %s", s->svc->myhostname,
                      info.cert_present ? "Client certificate not trusted"
                                        : "No client certificate presented");
        session_close(s, "tls");
        return;
    }
    policy_set_tls(s->ps, &info);
    /* The session forgets everything learned before TLS. */
    s->helo = NULL;
    s->ehlo = false;
    s->sasl_username = NULL;
    s->sasl_method = NULL;
    session_transaction_reset(s);
    policy_set_helo(s->ps, NULL);
    policy_set_sasl(s->ps, NULL, NULL, NULL);
    if (s->svc->implicit_tls && s->commands == 0) {
        session_tls_started(s);
        return;
    }
    session_resume(s);
}

/* ---- dispatch ---- */

typedef void (*handler_fn)(struct session *s, int cmd, char *arg);

static const handler_fn handlers[CMD_COUNT] = {
    [CMD_HELO] = cmd_helo,         [CMD_EHLO] = cmd_helo, [CMD_XCLIENT] = cmd_xclient,
    [CMD_STARTTLS] = cmd_starttls, [CMD_AUTH] = cmd_auth, [CMD_MAIL] = cmd_mail,
    [CMD_RCPT] = cmd_rcpt,         [CMD_DATA] = cmd_data, [CMD_BDAT] = cmd_bdat,
    [CMD_RSET] = cmd_rset,         [CMD_NOOP] = cmd_noop, [CMD_VRFY] = cmd_vrfy,
    [CMD_ETRN] = cmd_etrn,         [CMD_QUIT] = cmd_quit, [CMD_XFORWARD] = cmd_xforward,
};

static int lookup_command(const char *verb, size_t n)
{
    for (int c = 0; c < CMD_UNKNOWN; c++)
        if (strlen(smtp_command_names[c]) == n && strncasecmp(smtp_command_names[c], verb, n) == 0)
            return c;
    return CMD_UNKNOWN;
}

static bool looks_like_header(const char *line)
{
    const char *p = line;
    while (*p && *p != ':' && (unsigned char) *p > 32 && (unsigned char) *p < 127)
        p++;
    return p > line && *p == ':';
}

static void run_command(struct session *s)
{
    int cmd = s->pending_cmd;
    const char *text = s->pending_arg ? s->pending_arg : "";
    size_t n = strlen(text);
    buf_reset(&s->arg);
    buf_reserve(&s->arg, n + 1);
    memcpy(s->arg.data, text, n + 1);
    s->arg.len = n;
    char *arg = s->arg.data;
    if (cmd == CMD_COUNT) {
        session_greeting(s);
        return;
    }
    handlers[cmd](s, cmd, arg);
}

/* forbidden_command - smtpd_forbidden_commands: names, or tables in which
 * the verb is found (the default has a regexp for verbs that do not start
 * with a letter) */
static bool forbidden_command(struct session *s, const char *verb)
{
    struct service *svc = s->svc;
    for (size_t i = 0; i < svc->forbidden.count; i++) {
        if (svc->forbidden_tables[i]) {
            const char *v;
            if (table_lookup(svc->forbidden_tables[i], verb, &v) == TABLE_FOUND)
                return true;
        } else if (strcasecmp(svc->forbidden.items[i], verb) == 0) {
            return true;
        }
    }
    return false;
}

static bool noop_command(struct session *s, const char *verb)
{
    for (size_t i = 0; i < s->svc->noop_commands.count; i++)
        if (strcasecmp(s->svc->noop_commands.items[i], verb) == 0)
            return true;
    return false;
}

/* pipelined_text - what the client sent ahead, for the log line */
static char *pipelined_text(struct session *s)
{
    struct evbuffer *in = bufferevent_get_input(s->bev);
    size_t n = evbuffer_get_length(in);
    if (n > 100)
        n = 100;
    const char *p = (const char *) evbuffer_pullup(in, (ssize_t) n);
    struct buf b;
    buf_init(&b);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char) p[i];
        if (c == '\r')
            buf_puts(&b, "\\r");
        else if (c == '\n')
            buf_puts(&b, "\\n");
        else if (c < 32 || c >= 127)
            buf_putc(&b, '?');
        else
            buf_putc(&b, c);
    }
    return buf_steal(&b);
}

/*
 * check_pipelining - RFC 2920: a command that must end a group, or any
 * command of a client that did not say EHLO, with more input already
 * waiting.  The session is marked for reject_unauth_pipelining; with
 * smtpd_forbid_unauth_pipelining the command is refused and the session
 * ends.  False when the session ends.
 */
static bool check_pipelining(struct session *s, int cmd)
{
    if (s->ill_pipelining)
        return true;
    bool last = (command_flags[cmd] & F_LAST) || !s->ehlo;
    if (!last || evbuffer_get_length(bufferevent_get_input(s->bev)) == 0)
        return true;
    char *ahead = pipelined_text(s);
    log_info("improper command pipelining after %s from %s: %s", smtp_command_names[cmd],
             s->namaddr, ahead);
    free(ahead);
    if (s->svc->forbid_unauth_pipelining) {
        session_reply(s, "554 5.5.0 Error: SMTP protocol synchronization");
        session_close(s, "pipelining");
        return false;
    }
    s->ill_pipelining = true;
    policy_set_pipelining_violation(s->ps, true);
    return true;
}

void commands_dispatch(struct session *s, char *line, size_t len)
{
    /* A NUL ends the line, as in Postfix. */
    len = strlen(line);
    if (s->svc->smtputf8 && !str_valid_utf8(line, len)) {
        error_reply(s, "500 5.5.2 Error: bad UTF-8 syntax");
        return;
    }
    char *p = line;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == 0) {
        error_reply(s, "500 5.5.2 Error: bad syntax");
        return;
    }
    size_t vn = strcspn(p, " \t");
    char *arg = p + vn;
    if (*arg)
        *arg++ = 0;
    while (*arg == ' ' || *arg == '\t')
        arg++;
    size_t an = strlen(arg);
    while (an > 0 && (arg[an - 1] == ' ' || arg[an - 1] == '\t'))
        arg[--an] = 0;
    if (s->svc->noop_commands.count && noop_command(s, p)) {
        reply(s, "250 2.0.0 Ok");
        return;
    }
    int cmd = lookup_command(p, vn);
    s->commands++;
    s->counts[cmd]++;
    s->pending_cmd = cmd;
    if (cmd == CMD_UNKNOWN && (looks_like_header(line) || forbidden_command(s, p))) {
        char *shown = str_printable(line, len > 100 ? 100 : len);
        log_warnx("non-SMTP command from %s: %s", s->namaddr, shown);
        free(shown);
        reply(s, "221 2.7.0 Error: I can break rules, too. Goodbye.");
        session_close(s, "junk");
        return;
    }
    if (s->client_rejected && cmd != CMD_QUIT) {
        error_reply(s, s->client_reject);
        return;
    }
    if (cmd != CMD_UNKNOWN && !check_pipelining(s, cmd))
        return;
    if (cmd == CMD_UNKNOWN) {
        s->where_cmd = smtp_command_names[CMD_UNKNOWN];
        error_reply(s, "500 5.5.2 Error: command not recognized");
        return;
    }
    /* Junk commands beyond the limit count as errors. */
    if ((command_flags[cmd] & F_JUNK) && s->junk_count++ > s->svc->junk_command_limit)
        session_error(s);
    if (s->svc->tls && strcmp(s->svc->tls_level, "encrypt") == 0 && !s->tls_active &&
        !(command_flags[cmd] & F_PRE_TLS)) {
        error_reply(s, "530 5.7.0 Must issue a STARTTLS command first");
        return;
    }
    free(s->pending_arg);
    s->pending_arg = xstrdup(arg);
    s->rate_state = 0;
    s->where_cmd = smtp_command_names[cmd];
    run_command(s);
}

void commands_continue(struct session *s)
{
    if (s->eod_pending) {
        data_finish(s);
        return;
    }
    s->state = ST_COMMAND;
    run_command(s);
    if (s->state == ST_COMMAND)
        session_resume(s);
}
