/*
 * access - the order in which access(5) tables are searched for an e-mail
 * address, a host name and an IP address, in one place for the policy
 * engine (check_*_access, login maps, recipient maps) and for tests.
 *
 * Exact-string ("fixed") tables receive every key in the sequence; pattern
 * tables (regexp, pcre, cidr) only the complete query, because a partial key
 * such as a parent domain or a truncated address means nothing to a
 * pattern.  Postfix behaves the same way.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "table/table.h"

bool access_is_numeric_host(const char *name)
{
    unsigned char tmp[16];
    return inet_pton(AF_INET, name, tmp) == 1 || inet_pton(AF_INET6, name, tmp) == 1;
}

/* probe - one key; full: any table, else only exact-string tables */
static enum table_status probe(struct table *t, const char *key, bool full,
                               const struct access_options *o, const char **value,
                               struct buf *matched)
{
    if (!full && !(table_flags(t) & TABLE_T_FIXED))
        return TABLE_NOTFOUND;
    if (*key == 0)
        return TABLE_NOTFOUND;
    enum table_status st = table_lookup(t, key, value);
    if (o && o->trace && o->trace->step)
        o->trace->step(o->trace->ctx, t, key, st, st == TABLE_FOUND ? *value : NULL);
    if (st != TABLE_NOTFOUND && matched) {
        buf_reset(matched);
        buf_puts(matched, key);
    }
    return st;
}

enum table_status access_lookup_hostname(struct table *t, const char *name, bool full_first,
                                         const struct access_options *o, const char **value,
                                         struct buf *matched)
{
    bool parent_style = o ? o->parent_matches_subdomains : true;
    bool full = full_first;
    bool numeric = access_is_numeric_host(name);
    struct buf key;
    buf_init(&key);
    enum table_status st = TABLE_NOTFOUND;
    for (const char *p = name; *p; full = false) {
        buf_reset(&key);
        buf_puts(&key, p);
        st = probe(t, key.data, full, o, value, matched);
        if (st != TABLE_NOTFOUND)
            break;
        if (numeric)
            break;
        const char *dot = strchr(p + 1, '.');
        if (dot == NULL)
            break;
        p = parent_style ? dot + 1 : dot;
    }
    buf_free(&key);
    return st;
}

enum table_status access_lookup_addr(struct table *t, const char *ip, bool full_first,
                                     const struct access_options *o, const char **value,
                                     struct buf *matched)
{
    char *addr = xstrdup(ip);
    int delim = strchr(addr, ':') ? ':' : '.';
    bool full = full_first;
    enum table_status st;
    for (;;) {
        st = probe(t, addr, full, o, value, matched);
        if (st != TABLE_NOTFOUND)
            break;
        full = false;
        char *cut = strrchr(addr, delim);
        if (cut == NULL)
            break;
        *cut = 0;
    }
    free(addr);
    return st;
}

char *access_strip_extension(const char *address, const char *delimiters)
{
    if (delimiters == NULL || *delimiters == 0)
        return NULL;
    const char *at = strrchr(address, '@');
    size_t local_len = at ? (size_t) (at - address) : strlen(address);
    /* Special local parts are never split; nor, when '-' is a delimiter,
     * mailing-list owner-list and list-request addresses. */
    if ((local_len == 10 && strncasecmp(address, "postmaster", 10) == 0) ||
        (local_len == 13 && strncasecmp(address, "mailer-daemon", 13) == 0))
        return NULL;
    if (strchr(delimiters, '-')) {
        if (local_len >= 6 && strncasecmp(address, "owner-", 6) == 0)
            return NULL;
        if (local_len > 8 && strncasecmp(address + local_len - 8, "-request", 8) == 0)
            return NULL;
    }
    size_t ext = strcspn(address, delimiters);
    if (ext >= local_len || ext == 0)
        return NULL;
    struct buf b;
    buf_init(&b);
    buf_append(&b, address, ext);
    if (at)
        buf_puts(&b, at);
    return buf_steal(&b);
}

enum table_status access_lookup_address(struct table *t, const char *address, const char *original,
                                        const struct access_options *o, const char **value,
                                        struct buf *matched)
{
    const char *at = strrchr(address, '@');
    const char *domain = at ? at + 1 : "";
    char *bare =
        access_strip_extension(original ? original : address, o ? o->recipient_delimiter : NULL);
    enum table_status st;
    struct buf key;
    buf_init(&key);

    /* 1. user+ext@domain as given, in any table */
    st = probe(t, address, true, o, value, matched);
    /* 2. user@domain without the extension */
    if (st == TABLE_NOTFOUND && bare)
        st = probe(t, bare, false, o, value, matched);
    /* 3. the domain and its parents */
    if (st == TABLE_NOTFOUND && *domain)
        st = access_lookup_hostname(t, domain, false, o, value, matched);
    /* 4. user+ext@ */
    if (st == TABLE_NOTFOUND) {
        buf_append(&key, address, at ? (size_t) (at - address) + 1 : strlen(address));
        st = probe(t, key.data, false, o, value, matched);
    }
    /* 5. user@ */
    if (st == TABLE_NOTFOUND && bare) {
        const char *bare_at = strrchr(bare, '@');
        buf_reset(&key);
        buf_append(&key, bare, bare_at ? (size_t) (bare_at - bare) + 1 : strlen(bare));
        st = probe(t, key.data, false, o, value, matched);
    }
    buf_free(&key);
    free(bare);
    return st;
}
