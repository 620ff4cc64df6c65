/*
 * access_checks - check_*_access: look the fact up in its table in access(5)
 * order (src/table/access.c) and turn the value into a decision.  A table
 * that fails gives "451 4.3.5 Server configuration error", as in Postfix.
 * Also the MX/NS/A forms, which look up the host names and addresses of a
 * domain's mail or name servers.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy/policy_int.h"

struct trace_ctx {
    struct eval *e;
};

static void trace_step(void *ctx, struct table *t, const char *key, enum table_status st,
                       const char *value)
{
    struct eval *e = ctx;
    trace(e, POLICY_TRACE_LOOKUP, NULL, t->spec, key, value,
          st == TABLE_FOUND ? "found" : table_status_name(st), NULL);
}

static struct access_options options(struct eval *e, struct access_trace *tr)
{
    tr->step = trace_step;
    tr->ctx = e;
    struct access_options o = {e->p->recipient_delimiter, e->p->parent_access_maps, tr};
    return o;
}

static int lookup_result(struct eval *e, struct restriction *r, enum table_status st,
                         const char *value, const char *datum, bool *found, const char *reply_name,
                         const char *reply_class, enum restriction_kind def_acl)
{
    if (st == TABLE_NOTFOUND) {
        *found = false;
        return CHECK_DUNNO;
    }
    *found = true;
    /* The SMTP server treats an empty result as a broken table (451). */
    if (st == TABLE_FOUND && *value == 0) {
        eval_warn(e, "%s lookup of %s returns an empty string result", r->arg, datum);
        eval_warn(e, "%s should return NO RESULT in case of NOT FOUND", r->arg);
    } else if (st != TABLE_FOUND) {
        eval_warn(e, "%s: table lookup problem", r->arg);
    }
    if (st != TABLE_FOUND || *value == 0) {
        return check_table_result(e, r->arg, "451 4.3.5 Server configuration error", datum,
                                  reply_name, reply_class, def_acl);
    }
    /* The value lives in the table's buffer: copy before recursing. */
    char *copy = arena_strdup(e->s->arena, value);
    return check_table_result(e, r->arg, copy, datum, reply_name, reply_class, def_acl);
}

int check_access(struct eval *e, struct restriction *r, const char *name, bool full, bool *found,
                 const char *reply_name, const char *reply_class, enum restriction_kind def_acl)
{
    *found = false;
    if (!full && !(table_flags(r->table) & TABLE_T_FIXED))
        return CHECK_DUNNO;
    const char *value;
    enum table_status st = table_lookup(r->table, name, &value);
    trace(e, POLICY_TRACE_LOOKUP, NULL, r->arg, name, st == TABLE_FOUND ? value : NULL,
          st == TABLE_FOUND ? "found" : table_status_name(st), NULL);
    return lookup_result(e, r, st, value, name, found, reply_name, reply_class, def_acl);
}

int check_domain_access(struct eval *e, struct restriction *r, const char *domain, bool full,
                        bool *found, const char *reply_name, const char *reply_class,
                        enum restriction_kind def_acl)
{
    struct access_trace tr;
    struct access_options o = options(e, &tr);
    const char *value;
    enum table_status st = access_lookup_hostname(r->table, domain, full, &o, &value, NULL);
    return lookup_result(e, r, st, value, domain, found, reply_name, reply_class, def_acl);
}

int check_addr_access(struct eval *e, struct restriction *r, const char *addr, bool full,
                      bool *found, const char *reply_name, const char *reply_class,
                      enum restriction_kind def_acl)
{
    struct access_trace tr;
    struct access_options o = options(e, &tr);
    const char *value;
    enum table_status st = access_lookup_addr(r->table, addr, full, &o, &value, NULL);
    return lookup_result(e, r, st, value, addr, found, reply_name, reply_class, def_acl);
}

int check_namadr_access(struct eval *e, struct restriction *r, const char *name, const char *addr,
                        bool *found, const char *reply_name, const char *reply_class,
                        enum restriction_kind def_acl)
{
    int status = check_domain_access(e, r, name, true, found, reply_name, reply_class, def_acl);
    if (status != CHECK_DUNNO || *found)
        return status;
    status = check_addr_access(e, r, addr, true, found, reply_name, reply_class, def_acl);
    if (status != CHECK_DUNNO || *found)
        return status;
    return CHECK_DUNNO;
}

int check_mail_access(struct eval *e, struct restriction *r, const char *addr, bool *found,
                      const char *reply_name, const char *reply_class,
                      enum restriction_kind def_acl)
{
    *found = false;
    struct resolved res;
    if (resolve_address(e->p, addr, &res) == -1) {
        resolved_free(&res);
        return reject_dict_retry(e, addr);
    }
    if (strrchr(res.recipient, '@') == NULL) {
        resolved_free(&res);
        return CHECK_DUNNO;
    }
    bool suspicious = !e->p->allow_untrusted_routing && (res.flags & RESOLVE_FLAG_ROUTED) &&
                      strcmp(reply_class, CLASS_RECIPIENT) == 0;
    struct access_trace tr;
    struct access_options o = options(e, &tr);
    const char *value;
    enum table_status st = access_lookup_address(r->table, res.recipient, addr, &o, &value, NULL);
    int status =
        lookup_result(e, r, st, value, res.recipient, found, reply_name, reply_class, def_acl);
    resolved_free(&res);
    if (status == CHECK_OK && suspicious)
        return CHECK_DUNNO;
    return status;
}

enum table_status maps_find(struct table **maps, size_t n, const char *key, const char **value)
{
    for (size_t i = 0; i < n; i++) {
        enum table_status st = table_lookup(maps[i], key, value);
        if (st != TABLE_NOTFOUND)
            return st;
    }
    return TABLE_NOTFOUND;
}

/*
 * mail_addr_find - Postfix's lookup of an address in recipient-style maps:
 * user+ext@domain, user@domain, then (when the domain is local) user+ext
 * and user, then @domain.  Pattern tables see only the full address.
 */
enum table_status mail_addr_find(struct eval *e, struct table **maps, size_t n, const char *address,
                                 const char **value)
{
    const char *at = strrchr(address, '@');
    char *bare = access_strip_extension(address, e->p->recipient_delimiter);
    bool local = at && resolve_local(e->p, at + 1) > 0;
    struct buf key;
    buf_init(&key);
    enum table_status st = TABLE_NOTFOUND;
    for (size_t i = 0; i < n && st == TABLE_NOTFOUND; i++) {
        struct table *t = maps[i];
        bool fixed = (table_flags(t) & TABLE_T_FIXED) != 0;
        st = table_lookup(t, address, value);
        if (st != TABLE_NOTFOUND || !fixed)
            continue;
        if (bare && (st = table_lookup(t, bare, value)) != TABLE_NOTFOUND)
            continue;
        if (local && at) {
            buf_reset(&key);
            buf_append(&key, address, (size_t) (at - address));
            if ((st = table_lookup(t, key.data, value)) != TABLE_NOTFOUND)
                continue;
            if (bare) {
                const char *bat = strrchr(bare, '@');
                buf_reset(&key);
                buf_append(&key, bare, bat ? (size_t) (bat - bare) : strlen(bare));
                if ((st = table_lookup(t, key.data, value)) != TABLE_NOTFOUND)
                    continue;
            }
        }
        if (at) {
            st = table_lookup(t, at, value);
        }
    }
    buf_free(&key);
    free(bare);
    return st;
}

/*
 * check_server_access - the MX or NS hosts of a domain (a host name or an
 * address's domain), or its A records: each host name against the table,
 * then each host address.
 */
int check_server_access(struct eval *e, struct restriction *r, const char *name, enum dns_type type,
                        const char *reply_name, const char *reply_class,
                        enum restriction_kind def_acl)
{
    bool found = false;
    const char *domain = strrchr(name, '@');
    domain = domain ? domain + 1 : name;
    if (*domain == '[') {
        if (type != DNS_T_MX && type != DNS_T_A)
            return CHECK_DUNNO;
        size_t len = strlen(domain);
        if (domain[len - 1] != ']')
            return CHECK_DUNNO;
        char *bare = xstrndup(domain + 1, len - 2);
        const char *a = strncasecmp(bare, "IPv6:", 5) == 0 ? bare + 5 : bare;
        int status = CHECK_DUNNO;
        if (valid_mailhost_addr(bare))
            status = check_addr_access(e, r, a, true, &found, reply_name, reply_class, def_acl);
        free(bare);
        return status;
    }
    if (type == DNS_T_A) {
        /* check_*_a_access: the domain's own IPv4 and IPv6 addresses */
        const struct dns_answer *a4 = need_dns(e, domain, DNS_T_A);
        const struct dns_answer *a6 = need_dns(e, domain, DNS_T_AAAA);
        if (a4 == NULL || a6 == NULL)
            return CHECK_PENDING;
        const struct dns_answer *lists[2] = {a4, a6};
        for (int i = 0; i < 2; i++) {
            if (lists[i]->status != DNS_OK)
                continue;
            for (struct dns_rr *rr = lists[i]->rrs; rr; rr = rr->next) {
                int status = check_addr_access(e, r, rr->data, true, &found, reply_name,
                                               reply_class, def_acl);
                if (status != CHECK_DUNNO || found)
                    return status;
            }
        }
        return CHECK_DUNNO;
    }
    const struct dns_answer *servers = need_dns(e, domain, type);
    if (servers == NULL)
        return CHECK_PENDING;
    /* A null MX names no mail server: nothing to check, nothing to log. */
    if (servers->status == DNS_NULLMX)
        return CHECK_DUNNO;
    struct dns_rr fake = {.type = type, .data = (char *) domain};
    struct dns_rr *list = servers->rrs;
    if (servers->status == DNS_NOTFOUND && type == DNS_T_MX) {
        /* No MX: the domain is its own mail server. */
        list = &fake;
    } else if (servers->status == DNS_NOTFOUND && type == DNS_T_NS) {
        /*
         * No NS here, for want of data or of the name itself: try the
         * parent domains, as Postfix 3 does (its NO_DATA test is
         * commented out).  The warning names the domain where the walk
         * stopped, or the whole argument when it ran out of parents.
         */
        const char *d = domain;
        while ((d = strchr(d, '.')) != NULL && d[1]) {
            d++;
            const struct dns_answer *parent = need_dns(e, d, DNS_T_NS);
            if (parent == NULL)
                return CHECK_PENDING;
            servers = parent;
            if (parent->status != DNS_NOTFOUND)
                break;
        }
        if (servers->status != DNS_OK) {
            eval_warn(e, "Unable to look up %s host for %s: %s", dns_type_name(type),
                      d && d[1] ? d : name,
                      servers->why ? servers->why : dns_status_name(servers->status));
            return CHECK_DUNNO;
        }
        list = servers->rrs;
    } else if (servers->status != DNS_OK) {
        eval_warn(e, "Unable to look up %s host for %s: %s", dns_type_name(type), domain,
                  servers->why ? servers->why : dns_status_name(servers->status));
        return CHECK_DUNNO;
    }
    /* Host names first; each name's addresses follow it. */
    bool pending = false;
    for (struct dns_rr *rr = list; rr; rr = rr->next) {
        if (valid_hostaddr(rr->data)) {
            int status =
                check_addr_access(e, r, rr->data, true, &found, reply_name, reply_class, def_acl);
            if (status != CHECK_DUNNO || found)
                return status;
            continue;
        }
        int status =
            check_domain_access(e, r, rr->data, true, &found, reply_name, reply_class, def_acl);
        if (status != CHECK_DUNNO || found)
            return status;
        const struct dns_answer *a4 = need_dns(e, rr->data, DNS_T_A);
        if (a4 == NULL) {
            pending = true;
            break;
        }
        if (a4->status != DNS_OK) {
            eval_warn(e, "Unable to look up %s host %s for %s %s: %s", dns_type_name(type),
                      rr->data, reply_class, reply_name,
                      a4->status == DNS_NOTFOUND ? "Name or service not known"
                                                 : "Temporary failure in name resolution");
            continue;
        }
        for (struct dns_rr *a = a4->rrs; a; a = a->next) {
            status =
                check_addr_access(e, r, a->data, true, &found, reply_name, reply_class, def_acl);
            if (status != CHECK_DUNNO || found)
                return status;
        }
    }
    return pending ? CHECK_PENDING : CHECK_DUNNO;
}
