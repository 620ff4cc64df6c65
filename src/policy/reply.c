/*
 * reply - the one place where a rejection becomes an SMTP reply: code range
 * check, enhanced status code check and class fix-up, the defer_if_reject
 * and warn_if_reject bookkeeping, soft_bounce, length and printable limits,
 * and the "NOQUEUE: reject: ..." log line.  Every restriction goes through
 * check_reject(); no reply text is written anywhere else.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy_int.h"

#define REPLY_MAX 510

bool dsn_valid(const char *dsn)
{
    /* class.subject.detail: [245].\d{1,3}.\d{1,3} */
    if (!(dsn[0] == '2' || dsn[0] == '4' || dsn[0] == '5') || dsn[1] != '.')
        return false;
    const char *p = dsn + 2;
    for (int part = 0; part < 2; part++) {
        int n = 0;
        while (isdigit((unsigned char) *p) && n < 4) {
            p++;
            n++;
        }
        if (n == 0 || n > 3)
            return false;
        if (part == 0) {
            if (*p != '.')
                return false;
            p++;
        }
    }
    return *p == 0 || *p == ' ' || *p == '\t';
}

void dsn_split(const char *text, const char *def, char dsn[16], const char **rest)
{
    while (*text == ' ' || *text == '\t')
        text++;
    size_t len = strcspn(text, " \t");
    if (len < 16 && dsn_valid(text) && (text[0] == '4' || text[0] == '5')) {
        memcpy(dsn, text, len);
        dsn[len] = 0;
        text += len;
        while (*text == ' ' || *text == '\t')
            text++;
    } else {
        snprintf(dsn, 16, "%s", def);
    }
    *rest = text;
}

/*
 * dsn_fix - address-related codes (X.1.Y) that do not fit the reply class
 * are mapped as Postfix maps them: sender problems to sender codes,
 * recipient problems to recipient codes, others to X.7.1.
 */
const char *dsn_fix(const char *dsn, const char *reply_class, char buf[16])
{
    /* Postfix's table: address details that belong to the other party are
     * mapped; the class digit is set from the reply code later. */
    static const struct {
        const char *detail;
        const char *sender;
        const char *rcpt;
    } map[] = {
        {"1", "4.1.7", "4.1.1"}, {"2", "4.1.8", "4.1.2"}, {"3", "4.1.7", "4.1.3"},
        {"4", "4.1.7", "4.1.4"}, {"5", "4.1.0", "4.1.5"}, {"6", "4.1.7", "4.1.6"},
        {"7", "4.1.7", "4.1.3"}, {"8", "4.1.8", "4.1.2"},
    };
    if (!isdigit((unsigned char) dsn[0]) || strncmp(dsn + 1, ".1.", 3) != 0)
        return dsn;
    const char *fixed;
    if (strcmp(reply_class, CLASS_SENDER) == 0 || strcmp(reply_class, CLASS_RECIPIENT) == 0) {
        bool sender = reply_class[0] == 'S';
        fixed = sender ? "4.1.7" : "4.1.0";
        for (size_t i = 0; i < ARRAY_LEN(map); i++)
            if (strcmp(dsn + 4, map[i].detail) == 0)
                fixed = sender ? map[i].sender : map[i].rcpt;
    } else {
        fixed = "4.0.0";
    }
    snprintf(buf, 16, "%c%s", dsn[0], fixed + 1);
    return buf;
}

/* needs_quotes - an RFC 5322 local part that must be a quoted string */
static bool needs_quotes(const char *local, size_t n)
{
    if (n == 0)
        return false;
    if (local[0] == '.' || local[n - 1] == '.')
        return true;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char) local[i];
        if (c <= ' ' || c == 0x7f || strchr("()<>@,;:\\\"[]", c))
            return true;
        if (c == '.' && i + 1 < n && local[i + 1] == '.')
            return true;
    }
    return false;
}

/* put_external - an address in its external form, as Postfix logs it:
 * a local part with special characters is quoted */
static void put_external(struct buf *b, const char *addr)
{
    const char *at = strrchr(addr, '@');
    size_t n = at ? (size_t) (at - addr) : strlen(addr);
    if (!needs_quotes(addr, n)) {
        buf_puts(b, addr);
        return;
    }
    buf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        if (addr[i] == '"' || addr[i] == '\\')
            buf_putc(b, '\\');
        buf_putc(b, addr[i]);
    }
    buf_putc(b, '"');
    buf_puts(b, addr + n);
}

char *policy_log_line(const struct policy_session *s, const char *whatsup, const char *where,
                      const char *text)
{
    struct buf b;
    buf_init(&b);
    buf_printf(&b, "%s: %s: %s from %s: %s;", s->queue_id ? s->queue_id : "NOQUEUE", whatsup, where,
               s->namaddr ? s->namaddr : "unknown[unknown]", text);
    if (s->sender) {
        buf_puts(&b, " from=<");
        put_external(&b, s->sender);
        buf_putc(&b, '>');
    }
    if (s->recipient) {
        buf_puts(&b, " to=<");
        put_external(&b, s->recipient);
        buf_putc(&b, '>');
    }
    if (s->protocol)
        buf_printf(&b, " proto=%s", s->protocol);
    if (s->helo)
        buf_printf(&b, " helo=<%s>", s->helo);
    char *clean = str_printable(b.data, b.len);
    buf_free(&b);
    return clean;
}

const char *dsn_fix_logged(struct eval *e, const char *dsn, const char *reply_class, char buf[16])
{
    const char *fixed = dsn_fix(dsn, reply_class, buf);
    if (strcmp(fixed, dsn) != 0)
        strlist_add_owned(&e->s->log, xasprintf("mapping DSN status %s into %s status %s", dsn,
                                                reply_class, fixed));
    return fixed;
}

void log_whatsup(struct eval *e, const char *whatsup, const char *text)
{
    strlist_add_owned(&e->s->log, policy_log_line(e->s, whatsup, e->where, text));
}

void eval_warn(struct eval *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    strlist_add_owned(&e->s->log, xasprintf("warning: %s", msg));
    trace(e, POLICY_TRACE_NOTE, NULL, NULL, NULL, NULL, NULL, msg);
    free(msg);
}

static int vreject(struct eval *e, enum error_class cls, int code, const char *dsn, const char *fmt,
                   va_list ap) PRINTF_LIKE(5, 0);

static int vreject(struct eval *e, enum error_class cls, int code, const char *dsn, const char *fmt,
                   va_list ap)
{
    struct policy_session *s = e->s;
    bool warn = e->warn_if_reject && cls != ERR_SOFTWARE && cls != ERR_RESOURCE;
    char text[1024];
    int n = snprintf(text, sizeof(text), "%d %s ", code, dsn);
    vsnprintf(text + n, sizeof(text) - (size_t) n, fmt, ap);
    if (code < 400 || code > 599) {
        eval_warn(e, "SMTP reply code configuration error: %s", text);
        snprintf(text, sizeof(text), "450 4.7.1 Service unavailable");
    }
    if (!dsn_valid(text + 4)) {
        eval_warn(e, "DSN detail code configuration error: %s", text);
        snprintf(text, sizeof(text), "450 4.7.1 Service unavailable");
    }
    text[REPLY_MAX] = 0;
    for (char *c = text; *c; c++)
        if ((unsigned char) *c < 0x20 || (unsigned char) *c >= 0x7f)
            *c = ' ';
    /* An earlier temporary problem turns a permanent reject into a deferral. */
    if (!warn && s->st.defer_if_reject.active && text[0] == '5') {
        struct defer_state d = s->st.defer_if_reject;
        e->warn_if_reject = 0;
        s->st.defer_if_reject.active = false;
        return check_reject(e, cls, d.code, d.dsn, "%s", d.reason);
    }
    if (e->p->soft_bounce && text[0] == '5')
        text[0] = '4';
    text[4] = text[0];
    log_whatsup(e, warn ? "reject_warning" : "reject", text);
    if (warn) {
        trace(e, POLICY_TRACE_NOTE, NULL, NULL, NULL, NULL, "reject_warning", text);
        return CHECK_DUNNO;
    }
    snprintf(e->reply, sizeof(e->reply), "%.*s", REPLY_MAX, text); /* cut above */
    e->reply_code = atoi(text);
    return CHECK_REJECT;
}

int check_reject(struct eval *e, enum error_class cls, int code, const char *dsn, const char *fmt,
                 ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vreject(e, cls, code, dsn, fmt, ap);
    va_end(ap);
    return rc;
}

int defer_if(struct eval *e, struct defer_state *d, int code, const char *dsn, const char *fmt, ...)
{
    if (!d->active) {
        d->active = true;
        d->code = code;
        snprintf(d->dsn, sizeof(d->dsn), "%s", dsn);
        va_list ap;
        va_start(ap, fmt);
        char *reason = xvasprintf(fmt, ap);
        va_end(ap);
        d->reason = arena_strdup(e->s->arena, reason);
        trace(e, POLICY_TRACE_NOTE, NULL, NULL, NULL, NULL,
              d == &e->s->st.defer_if_permit ? "defer_if_permit" : "defer_if_reject", reason);
        free(reason);
    }
    return CHECK_DUNNO;
}

int defer_if_permit(struct eval *e, bool defer_all, int code, const char *dsn, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = xvasprintf(fmt, ap);
    va_end(ap);
    int rc;
    if (e->warn_if_reject == 0 && !defer_all)
        rc = defer_if(e, &e->s->st.defer_if_permit, code, dsn, "%s", text);
    else
        rc = check_reject(e, ERR_POLICY, code, dsn, "%s", text);
    free(text);
    return rc;
}

int reject_server_error(struct eval *e)
{
    return check_reject(e, ERR_SOFTWARE, 451, "4.3.5", "Server configuration error");
}

int reject_dict_retry(struct eval *e, const char *reply_name)
{
    return check_reject(e, ERR_DATA, 451, "4.3.0", "<%s>: Temporary lookup failure", reply_name);
}
