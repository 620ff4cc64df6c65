/*
 * args - the arguments of MAIL FROM, RCPT TO and VRFY as Postfix's smtpd
 * reads them: words separated by spaces (a "quoted string" keeps its
 * spaces); "FROM:" / "TO:" may stand alone or be glued to the address; the
 * address word may be <addr>, <<addr>>, a bare addr or addr> ; every
 * further word is a parameter.  With strict_rfc821_envelopes the address
 * must be in <>.  Addresses are kept in the internal form (no source
 * route, no quotes).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtp/smtp_int.h"

/* args_words - split at spaces, honouring double quotes */
void args_words(const char *text, struct strlist *out)
{
    const char *p = text;
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == 0)
            break;
        const char *start = p;
        bool quoted = false;
        for (; *p; p++) {
            if (*p == '\\' && p[1]) {
                p++;
                continue;
            }
            if (*p == '"')
                quoted = !quoted;
            else if (!quoted && (*p == ' ' || *p == '\t'))
                break;
        }
        strlist_add_owned(out, xstrndup(start, (size_t) (p - start)));
    }
}

/* strip_source_route - "@a,@b:user@domain" becomes "user@domain" (RFC 5321
 * says to accept and ignore the route) */
static void strip_source_route(char *addr)
{
    if (addr[0] != '@')
        return;
    char *p = addr;
    for (;;) {
        if (*p != '@')
            return;
        p += 1 + strcspn(p + 1, ",:@<>\" \t");
        if (*p == ':')
            break;
        if (*p != ',')
            return;
        p++;
    }
    memmove(addr, p + 1, strlen(p + 1) + 1);
}

/* unwrap - the address inside its angle brackets; NULL when malformed */
static char *unwrap(const char *word, bool strict)
{
    size_t n = strlen(word);
    const char *a = word;
    if (a[0] == '<') {
        /* <addr>, <<addr>> ... */
        while (n >= 2 && a[0] == '<' && a[n - 1] == '>') {
            a++;
            n -= 2;
        }
        if (n > 0 && (a[0] == '<' || a[n - 1] == '>'))
            return NULL;
        if (n > 0 && a[0] == '<')
            return NULL;
        if (word[strlen(word) - 1] != '>')
            return NULL;
    } else {
        if (strict)
            return NULL;
        if (n > 0 && a[n - 1] == '>')
            n--;
    }
    char *inner = xstrndup(a, n);
    strip_source_route(inner);
    bool quoted = false;
    for (const char *p = inner; *p; p++) {
        if (*p == '\\' && p[1]) {
            p++;
            continue;
        }
        if (*p == '"')
            quoted = !quoted;
        else if (!quoted && (*p == '<' || *p == '>' || *p == ','))
            goto bad;
        else if ((unsigned char) *p < 0x20 || *p == 0x7f)
            goto bad;
    }
    if (quoted)
        goto bad;
    return inner;
bad:
    free(inner);
    return NULL;
}

int args_parse(struct session *s, const char *text, bool sender, struct mail_args *out, char **err)
{
    memset(out, 0, sizeof(*out));
    strlist_init(&out->params);
    const char *bad =
        sender ? "501 5.1.7 Bad sender address syntax" : "501 5.1.3 Bad recipient address syntax";
    struct strlist words;
    strlist_init(&words);
    args_words(text, &words);
    if (words.count == 0) {
        strlist_free(&words);
        *err = xstrdup(bad);
        return -1;
    }
    const char *word = words.items[0];
    char *inner = unwrap(word, s->svc->strict_envelopes);
    if (inner == NULL) {
        strlist_free(&words);
        *err = xstrdup(bad);
        return -1;
    }
    out->raw = xstrdup(word);
    for (size_t i = 1; i < words.count; i++)
        strlist_add(&out->params, words.items[i]);
    strlist_free(&words);
    /* "user@" names no domain at all */
    bool empty_domain = *inner && inner[strlen(inner) - 1] == '@';
    out->address = policy_address_internal(inner);
    free(inner);
    if (empty_domain) {
        *err = xstrdup(bad);
        return -1;
    }
    if (*out->address && !policy_address_ok(s->svc->policy, out->address)) {
        *err = xstrdup(bad);
        return -1;
    }
    return 0;
}

void args_log_illegal(struct session *s, const char *command, const char *text, bool whole)
{
    size_t n = strlen(text);
    if (!whole) {
        /* the address token: up to white space outside <...> */
        int depth = 0;
        for (n = 0; text[n]; n++) {
            if (text[n] == '<')
                depth++;
            else if (text[n] == '>' && depth > 0)
                depth--;
            else if ((text[n] == ' ' || text[n] == '\t') && depth == 0)
                break;
        }
        if (depth > 0)
            return; /* "<a" cut short (a NUL): Postfix does not log it */
    }
    char *shown = str_printable(text, n);
    log_warnx("Illegal address syntax from %s in %s command: %s", s->namaddr, command, shown);
    free(shown);
}

void mail_args_free(struct mail_args *a)
{
    free(a->address);
    free(a->raw);
    strlist_free(&a->params);
    memset(a, 0, sizeof(*a));
}
