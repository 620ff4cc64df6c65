/*
 * address - an envelope address as the SMTP server keeps it: the text
 * between < and >, without an RFC 821 source route ("@a,@b:user@domain"
 * becomes "user@domain"), and with quoting removed ("\"a b\"@x" becomes
 * "a b@x"), which is Postfix's internal form.  Restrictions and replies see
 * this form.
 */
#include <string.h>

#include "policy/policy_int.h"

char *policy_address_internal(const char *addr)
{
    const char *p = addr;
    /* A source route is a list of @domain, then ':'. */
    if (*p == '@') {
        const char *colon = strchr(p, ':');
        if (colon)
            p = colon + 1;
    }
    struct buf b;
    buf_init(&b);
    bool quoted = false;
    for (; *p; p++) {
        if (*p == '"') {
            quoted = !quoted;
            continue;
        }
        if (*p == '\\' && p[1]) {
            buf_putc(&b, *++p);
            continue;
        }
        buf_putc(&b, *p);
    }
    return buf_steal(&b);
}

bool policy_address_ok(struct policy *p, const char *addr)
{
    struct resolved r;
    int rc = resolve_address(p, addr, &r);
    bool ok = rc == 0 && !(r.flags & RESOLVE_FLAG_ERROR);
    resolved_free(&r);
    return ok || rc == -1; /* a table error is not the client's fault */
}

bool policy_valid_address(const char *addr)
{
    return valid_hostaddr(addr);
}

bool policy_valid_hostname(const char *name)
{
    return valid_hostname(name);
}
