/*
 * resolve - what Postfix's trivial-rewrite resolver decides about a
 * recipient (or sender) address, as far as the SMTP server's restrictions
 * need it: the canonical user@domain form (lower case), its address class
 * (local, virtual alias, virtual mailbox, relay, other) and whether the
 * address carries routing (user%host@, host!user, user@host@) that makes
 * its destination uncertain.
 *
 * The loop strips local domains from the right, then turns foo%bar into
 * foo@bar and site!user into user@site and tries again, until a remote
 * domain remains or none does (then the last local domain, or
 * $myhostname, is put back).
 */
#include <stdlib.h>
#include <string.h>

#include "policy/policy_int.h"

/* resolve_local - domain is this machine: mydestination or [own address] */
int resolve_local(const struct policy *p, const char *domain)
{
    char *d = hostname_strip_dot(domain);
    int rc;
    size_t n = strlen(d);
    if (n > 2 && d[0] == '[' && d[n - 1] == ']') {
        d[n - 1] = 0;
        const char *a = d + 1;
        if (strncasecmp(a, "IPv6:", 5) == 0)
            a += 5;
        rc = own_address(p, a) ? 1 : 0;
    } else {
        rc = match_list_match(p->mydestination, d, NULL);
    }
    free(d);
    return rc;
}

/* last_oper - rightmost '@' outside a trailing domain literal */
static char *last_at(char *s)
{
    return strrchr(s, '@');
}

/* rewrite_routing - one step of %-hack / bang-path rewriting (local context) */
static bool rewrite_routing(const struct policy *p, struct buf *b)
{
    char *s = b->data;
    if (strchr(s, '@'))
        return false;
    char *bang = p->swap_bangpath ? strchr(s, '!') : NULL;
    if (bang) {
        /* site!user -> user@site */
        struct buf out;
        buf_init(&out);
        buf_puts(&out, bang + 1);
        buf_putc(&out, '@');
        buf_append(&out, s, (size_t) (bang - s));
        buf_reset(b);
        buf_puts(b, out.data);
        buf_free(&out);
        return true;
    }
    char *pct = p->percent_hack ? strrchr(s, '%') : NULL;
    if (pct) {
        *pct = '@';
        return true;
    }
    return false;
}

/*
 * A small memo of recent results: a check resolves the same sender and
 * recipient several times (access tables, relay check, recipient maps).
 * The answer depends only on the configuration and the address; table
 * errors are not remembered.
 */
static int resolve_uncached(const struct policy *p, const char *address, struct resolved *out);

int resolve_address(const struct policy *p, const char *address, struct resolved *out)
{
    struct policy *mp = (struct policy *) p;
    for (int i = 0; i < RESOLVE_MEMO; i++) {
        struct resolve_memo *m = &mp->resolve_memo[i];
        if (m->address && strcmp(m->address, address) == 0) {
            *out = m->result;
            out->recipient = xstrdup(m->result.recipient);
            return 0;
        }
    }
    int rc = resolve_uncached(p, address, out);
    if (rc == 0) {
        struct resolve_memo *m = &mp->resolve_memo[mp->resolve_next];
        mp->resolve_next = (mp->resolve_next + 1) % RESOLVE_MEMO;
        free(m->address);
        free(m->result.recipient);
        m->address = xstrdup(address);
        m->result = *out;
        m->result.recipient = xstrdup(out->recipient);
    }
    return rc;
}

static int resolve_uncached(const struct policy *p, const char *address, struct resolved *out)
{
    memset(out, 0, sizeof(*out));
    struct buf a;
    buf_init(&a);
    buf_puts(&a, address);
    /* Quoted local parts are opened up: routing operators count anyway. */
    if (p->resolve_dequoted) {
        size_t w = 0;
        for (size_t r = 0; r < a.len; r++)
            if (a.data[r] != '"')
                a.data[w++] = a.data[r];
        a.len = w;
        a.data[w] = 0;
    }
    char *saved_domain = NULL;
    bool remote = false;
    size_t loops = 0, max = a.len + 100;
    for (;; loops++) {
        if (loops > max)
            break;
        /* Strip one trailing dot of the domain (not ".." or "@."). */
        char *at = last_at(a.data);
        if (at && a.len > 1 && a.data[a.len - 1] == '.' && a.data[a.len - 2] != '.' &&
            a.data[a.len - 2] != '@')
            a.data[--a.len] = 0;
        if (p->resolve_null_domain && a.len > 0 && a.data[a.len - 1] == '@')
            a.data[--a.len] = 0;
        at = last_at(a.data);
        if (at) {
            if (at[1]) {
                int local = resolve_local(p, at + 1);
                if (local < 0) {
                    out->flags |= RESOLVE_FLAG_FAIL;
                    free(saved_domain);
                    buf_free(&a);
                    return -1;
                }
                if (local == 0) {
                    remote = true;
                    break;
                }
            }
            free(saved_domain);
            saved_domain = xstrdup(at + 1);
            a.len = (size_t) (at - a.data);
            a.data[a.len] = 0;
        }
        if (strchr(a.data, '@') || (p->swap_bangpath && strchr(a.data, '!')) ||
            (p->percent_hack && strchr(a.data, '%'))) {
            if (!rewrite_routing(p, &a) && !strchr(a.data, '@'))
                break;
            continue;
        }
        if (a.len == 0)
            buf_puts(&a, p->empty_address_recipient);
        break;
    }
    if (!remote) {
        buf_putc(&a, '@');
        buf_puts(&a, saved_domain && *saved_domain ? saved_domain : p->myhostname);
    }
    free(saved_domain);
    str_lower(a.data);
    char *domain = strrchr(a.data, '@') + 1;
    if (*domain == '[') {
        if (!valid_mailhost_literal(domain))
            out->flags |= RESOLVE_FLAG_ERROR;
    } else if (!valid_hostname(domain) && !(p->smtputf8_enable && valid_utf8_hostname(domain))) {
        out->flags |= RESOLVE_FLAG_ERROR;
    }
    out->recipient = buf_steal(&a);
    domain = strrchr(out->recipient, '@') + 1;
    if (out->flags & RESOLVE_FLAG_ERROR) {
        out->flags |= RESOLVE_CLASS_DEFAULT;
        return 0;
    }
    /* Routing left in the local part makes the destination uncertain. */
    const char *after = out->recipient + strcspn(out->recipient, "@!%") + 1;
    if (strcmp(after, domain) != 0)
        out->flags |= RESOLVE_FLAG_ROUTED;

    if (!remote) {
        out->flags |= RESOLVE_CLASS_LOCAL;
        return 0;
    }
    int m;
    if ((m = match_list_match(p->virtual_alias_domains, domain, NULL)) > 0) {
        out->flags |= RESOLVE_CLASS_ALIAS;
        out->error_text =
            p->show_unknown_table ? "User unknown in virtual alias table" : "User unknown";
    } else if (m < 0) {
        out->flags |= RESOLVE_FLAG_FAIL;
    } else if ((m = match_list_match(p->virtual_mailbox_domains, domain, NULL)) > 0) {
        out->flags |= RESOLVE_CLASS_VIRTUAL;
    } else if (m < 0) {
        out->flags |= RESOLVE_FLAG_FAIL;
    } else if ((m = match_list_match(p->relay_domains, domain, NULL)) > 0) {
        out->flags |= RESOLVE_CLASS_RELAY;
    } else if (m < 0) {
        out->flags |= RESOLVE_FLAG_FAIL;
    } else {
        out->flags |= RESOLVE_CLASS_DEFAULT;
    }
    return (out->flags & RESOLVE_FLAG_FAIL) ? -1 : 0;
}

void resolved_free(struct resolved *r)
{
    free(r->recipient);
    r->recipient = NULL;
}
