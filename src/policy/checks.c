/*
 * checks - what each restriction does: one case per restriction in a
 * switch, in the order of postconf(5).  Helpers for the address-, host-
 * and DNS-based tests live here too; DNSBL lookups are in dnsbl.c,
 * recipient tables in rcptmaps.c, policy delegation in service.c.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy/policy_int.h"

#define SND_DSN "4.1.8"

static int forbid_whitelist(struct eval *e, const char *name, int status, const char *target)
{
    if (status == CHECK_OK) {
        eval_warn(e, "restriction %s returns OK for %s", name, target);
        eval_warn(e, "this is not allowed for security reasons");
        eval_warn(e, "use DUNNO instead of OK if you want to make an exception");
        return reject_server_error(e);
    }
    return status;
}

/* ---- client ---- */

static int reject_unknown_client(struct eval *e)
{
    struct policy_session *s = e->s;
    if (s->name_status != PEER_OK)
        return check_reject(
            e, ERR_POLICY, s->name_status >= PEER_PERM ? e->p->unknown_client_reject_code : 450,
            "4.7.25", "Client host rejected: cannot find your hostname, [%s]", s->addr);
    return CHECK_DUNNO;
}

static int reject_unknown_reverse_name(struct eval *e)
{
    struct policy_session *s = e->s;
    if (s->reverse_status != PEER_OK)
        return check_reject(
            e, ERR_POLICY, s->reverse_status == PEER_PERM ? e->p->unknown_client_reject_code : 450,
            "4.7.1", "Client host rejected: cannot find your reverse hostname, [%s]", s->addr);
    return CHECK_DUNNO;
}

static int permit_mynetworks(struct eval *e)
{
    int m = match_list_match(e->p->mynetworks, e->s->name, e->s->addr);
    if (m > 0)
        return CHECK_OK;
    if (m < 0)
        return reject_dict_retry(e, e->s->namaddr);
    return CHECK_DUNNO;
}

/* ---- host names ---- */

static int reject_invalid_hostaddr(struct eval *e, const char *addr, const char *reply_name,
                                   const char *reply_class)
{
    size_t len = strlen(addr);
    char *test = (addr[0] == '[' && len > 2 && addr[len - 1] == ']') ? xstrndup(addr + 1, len - 2)
                                                                     : xstrdup(addr);
    int status = CHECK_DUNNO;
    if (!valid_mailhost_addr(test))
        status = check_reject(e, ERR_POLICY, e->p->invalid_hostname_reject_code, "5.5.2",
                              "<%s>: %s rejected: invalid ip address", reply_name, reply_class);
    free(test);
    return status;
}

static int reject_invalid_hostname(struct eval *e, const char *name, const char *reply_name,
                                   const char *reply_class)
{
    char *test = hostname_strip_dot(name);
    int status = CHECK_DUNNO;
    if (!valid_hostname(test) && !valid_hostaddr(test))
        status = check_reject(e, ERR_POLICY, e->p->invalid_hostname_reject_code, "5.5.2",
                              "<%s>: %s rejected: Invalid name", reply_name, reply_class);
    free(test);
    return status;
}

static int reject_non_fqdn_hostname(struct eval *e, const char *name, const char *reply_name,
                                    const char *reply_class)
{
    char *test = hostname_strip_dot(name);
    int status = CHECK_DUNNO;
    if (!valid_hostname(test) || strchr(test, '.') == NULL)
        status = check_reject(e, ERR_POLICY, e->p->non_fqdn_reject_code, "5.5.2",
                              "<%s>: %s rejected: need fully-qualified hostname", reply_name,
                              reply_class);
    free(test);
    return status;
}

static int reject_unknown_hostname(struct eval *e, const char *name, const char *reply_name,
                                   const char *reply_class)
{
    /* A, AAAA, then MX: the first that exists is enough. */
    static const enum dns_type types[] = {DNS_T_A, DNS_T_AAAA, DNS_T_MX};
    enum dns_status st = DNS_NOTFOUND;
    bool retry = false;
    for (size_t i = 0; i < ARRAY_LEN(types); i++) {
        const struct dns_answer *a = need_dns(e, name, types[i]);
        if (a == NULL)
            return CHECK_PENDING;
        if (a->status == DNS_OK || a->status == DNS_NULLMX) {
            st = DNS_OK;
            break;
        }
        if (a->status == DNS_RETRY)
            retry = true;
        else if (a->status == DNS_INVAL && st != DNS_RETRY)
            st = DNS_INVAL;
    }
    if (st == DNS_OK)
        return CHECK_DUNNO;
    if (retry)
        return defer_if_permit(e, e->p->unknown_helo_defer_all, 450, "4.7.1",
                               "<%s>: %s rejected: Host not found", reply_name, reply_class);
    return check_reject(e, ERR_POLICY, e->p->unknown_hostname_reject_code, "4.7.1",
                        "<%s>: %s rejected: %s", reply_name, reply_class,
                        st == DNS_INVAL ? "Malformed DNS server reply" : "Host not found");
}

/* ---- addresses ---- */

static int reject_non_fqdn_address(struct eval *e, const char *addr, const char *reply_name,
                                   const char *reply_class)
{
    const char *at = strrchr(addr, '@');
    const char *domain = at ? at + 1 : "";
    size_t dl = strlen(domain);
    if (domain[0] == '[' && dl > 0 && domain[dl - 1] == ']')
        return CHECK_DUNNO;
    char *test = hostname_strip_dot(domain);
    int status = CHECK_DUNNO;
    if (*test == 0 || !valid_hostname(test) || strchr(test, '.') == NULL)
        status = check_reject(e, ERR_POLICY, e->p->non_fqdn_reject_code, "4.5.2",
                              "<%s>: %s rejected: need fully-qualified address", reply_name,
                              reply_class);
    free(test);
    return status;
}

static int reject_unknown_mailhost(struct eval *e, const char *name, const char *reply_name,
                                   const char *reply_class)
{
    bool sender = strcmp(reply_class, CLASS_SENDER) == 0;
    const struct dns_answer *mx = need_dns(e, name, DNS_T_MX);
    if (mx == NULL)
        return CHECK_PENDING;
    if (mx->status == DNS_OK)
        return CHECK_DUNNO;
    if (mx->status == DNS_NULLMX) {
        if (sender)
            return check_reject(e, ERR_POLICY, 550, "5.7.27",
                                "<%s>: %s rejected: Domain %s does not accept mail (nullMX)",
                                reply_name, reply_class, name);
        return check_reject(e, ERR_POLICY, 556, "5.1.10",
                            "<%s>: %s rejected: Domain %s does not accept mail (nullMX)",
                            reply_name, reply_class, name);
    }
    enum dns_status st = mx->status;
    if (st != DNS_RETRY && st != DNS_INVAL) {
        const struct dns_answer *a4 = need_dns(e, name, DNS_T_A);
        const struct dns_answer *a6 = need_dns(e, name, DNS_T_AAAA);
        if (a4 == NULL || a6 == NULL)
            return CHECK_PENDING;
        if (a4->status == DNS_OK || a6->status == DNS_OK)
            return CHECK_DUNNO;
        if (a4->status == DNS_RETRY || a6->status == DNS_RETRY)
            st = DNS_RETRY;
        else if (a4->status == DNS_INVAL || a6->status == DNS_INVAL)
            st = DNS_INVAL;
    }
    const char *dsn = sender ? SND_DSN : "4.1.2";
    if (st == DNS_RETRY)
        return defer_if_permit(e, e->p->unknown_address_defer_all, 450, dsn,
                               "<%s>: %s rejected: Domain not found", reply_name, reply_class);
    return check_reject(e, ERR_POLICY, e->p->unknown_address_reject_code, dsn,
                        "<%s>: %s rejected: %s", reply_name, reply_class,
                        st == DNS_INVAL ? "Malformed DNS server reply" : "Domain not found");
}

static int reject_unknown_address(struct eval *e, const char *addr, const char *reply_name,
                                  const char *reply_class)
{
    struct resolved res;
    if (resolve_address(e->p, addr, &res) == -1) {
        resolved_free(&res);
        return reject_dict_retry(e, addr);
    }
    const char *at = strrchr(res.recipient, '@');
    int status = CHECK_DUNNO;
    if (at && !(res.flags & RESOLVE_CLASS_FINAL)) {
        const char *domain = at + 1;
        size_t dl = strlen(domain);
        if (!(domain[0] == '[' && domain[dl - 1] == ']'))
            status = reject_unknown_mailhost(e, domain, reply_name, reply_class);
    }
    resolved_free(&res);
    return status;
}

int permit_auth_destination(struct eval *e, const char *recipient)
{
    struct resolved res;
    if (resolve_address(e->p, recipient, &res) == -1) {
        resolved_free(&res);
        return reject_dict_retry(e, recipient);
    }
    int status = CHECK_DUNNO;
    if (strrchr(res.recipient, '@') == NULL)
        status = CHECK_OK;
    else if (!e->p->allow_untrusted_routing && (res.flags & RESOLVE_FLAG_ROUTED))
        status = CHECK_DUNNO;
    else if (res.flags & (RESOLVE_CLASS_FINAL | RESOLVE_CLASS_RELAY))
        status = CHECK_OK;
    resolved_free(&res);
    return status;
}

static int reject_unauth_destination(struct eval *e, const char *recipient, int code,
                                     const char *dsn)
{
    int status = permit_auth_destination(e, recipient);
    if (status == CHECK_OK)
        return CHECK_DUNNO;
    if (status != CHECK_DUNNO)
        return status;
    return check_reject(e, ERR_POLICY, code, dsn, "<%s>: Relay access denied", recipient);
}

/* i_am_mx - this host is one of the listed MX hosts */
static int i_am_mx(struct eval *e, struct dns_rr **hosts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (resolve_local(e->p, hosts[i]->data) > 0)
            return 1;
    bool pending = false;
    for (size_t i = 0; i < n; i++) {
        const struct dns_answer *a = need_dns(e, hosts[i]->data, DNS_T_A);
        if (a == NULL) {
            pending = true;
            continue;
        }
        for (struct dns_rr *rr = a->status == DNS_OK ? a->rrs : NULL; rr; rr = rr->next)
            if (own_address(e->p, rr->data))
                return 1;
    }
    return pending ? -1 : 0;
}

static int permit_mx_backup(struct eval *e, const char *recipient, const char *reply_name,
                            const char *reply_class)
{
    struct resolved res;
    if (resolve_address(e->p, recipient, &res) == -1) {
        resolved_free(&res);
        return reject_dict_retry(e, recipient);
    }
    char *at = strrchr(res.recipient, '@');
    int status = CHECK_DUNNO;
    if (at == NULL) {
        status = CHECK_OK;
        goto done;
    }
    const char *domain = at + 1;
    if (!e->p->allow_untrusted_routing && (res.flags & RESOLVE_FLAG_ROUTED))
        goto done;
    if (res.flags & (RESOLVE_CLASS_FINAL | RESOLVE_CLASS_RELAY)) {
        status = CHECK_OK;
        goto done;
    }
    if (domain[0] == '[')
        goto done;
    const struct dns_answer *mx = need_dns(e, domain, DNS_T_MX);
    if (mx == NULL) {
        status = CHECK_PENDING;
        goto done;
    }
    if (mx->status != DNS_OK) {
        if (mx->status == DNS_RETRY)
            defer_if(e, &e->s->st.defer_if_reject, 450, "4.4.4",
                     "<%s>: %s rejected: Unable to look up mail exchanger information: %s",
                     reply_name, reply_class, mx->why ? mx->why : "Host not found, try again");
        goto done;
    }
    /* Primaries: the records with the best preference. */
    struct dns_rr *prim[64], *back[64];
    size_t np = 0, nb = 0;
    unsigned best = ~0u;
    for (struct dns_rr *rr = mx->rrs; rr; rr = rr->next)
        if (rr->pref < best)
            best = rr->pref;
    for (struct dns_rr *rr = mx->rrs; rr; rr = rr->next) {
        if (rr->pref == best && np < ARRAY_LEN(prim))
            prim[np++] = rr;
        else if (rr->pref != best && nb < ARRAY_LEN(back))
            back[nb++] = rr;
    }
    int me = i_am_mx(e, prim, np);
    if (me < 0) {
        status = CHECK_PENDING;
        goto done;
    }
    if (me)
        goto done;
    me = nb ? i_am_mx(e, back, nb) : 0;
    if (me < 0) {
        status = CHECK_PENDING;
        goto done;
    }
    if (!me)
        goto done;
    if (!match_list_empty(e->p->permit_mx_backup_networks)) {
        for (size_t i = 0; i < np; i++) {
            const struct dns_answer *a = need_dns(e, prim[i]->data, DNS_T_A);
            if (a == NULL) {
                status = CHECK_PENDING;
                goto done;
            }
            if (a->status != DNS_OK) {
                defer_if(e, &e->s->st.defer_if_reject, 450, "4.4.4",
                         "<%s>: %s rejected: Unable to look up host %s as mail exchanger",
                         reply_name, reply_class, prim[i]->data);
                goto done;
            }
            for (struct dns_rr *rr = a->rrs; rr; rr = rr->next)
                if (match_list_match(e->p->permit_mx_backup_networks, prim[i]->data, rr->data) <= 0)
                    goto done;
        }
    }
    status = CHECK_OK;
done:
    resolved_free(&res);
    return status;
}

/* ---- SASL ---- */

static bool sasl_active(struct eval *e)
{
    return e->s->sasl_enabled;
}

static int login_owner(struct eval *e, const char *sender, const char **owners)
{
    struct resolved res;
    if (resolve_address(e->p, sender, &res) == -1) {
        resolved_free(&res);
        return reject_dict_retry(e, sender);
    }
    const char *value;
    enum table_status st = mail_addr_find(e, e->p->sender_login_maps, e->p->n_sender_login_maps,
                                          res.recipient, &value);
    trace(e, POLICY_TRACE_LOOKUP, NULL, "smtpd_sender_login_maps", res.recipient,
          st == TABLE_FOUND ? value : NULL, table_status_name(st), NULL);
    resolved_free(&res);
    if (st == TABLE_FOUND) {
        *owners = arena_strdup(e->s->arena, value);
        return CHECK_OK;
    }
    if (st != TABLE_NOTFOUND)
        return st == TABLE_TEMPFAIL ? reject_dict_retry(e, sender) : reject_server_error(e);
    *owners = NULL;
    return CHECK_DUNNO;
}

static int reject_auth_sender_login_mismatch(struct eval *e, const char *sender, bool allow_unknown)
{
    if (!e->p->has_sender_login_maps || e->s->sasl_username == NULL)
        return CHECK_DUNNO;
    const char *owners = NULL;
    int status = login_owner(e, sender, &owners);
    if (status == CHECK_REJECT)
        return status;
    bool found = false;
    if (owners) {
        struct strlist l;
        strlist_init(&l);
        str_split_list(owners, LIST_SEPS, &l, NULL);
        for (size_t i = 0; i < l.count && !found; i++)
            found = strcasecmp(l.items[i], e->s->sasl_username) == 0;
        strlist_free(&l);
    } else if (allow_unknown) {
        return CHECK_DUNNO;
    }
    if (!found)
        return check_reject(e, ERR_POLICY, 553, "5.7.1",
                            "<%s>: Sender address rejected: not owned by user %s", sender,
                            e->s->sasl_username);
    return CHECK_DUNNO;
}

static int reject_unauth_sender_login_mismatch(struct eval *e, const char *sender)
{
    if (!e->p->has_sender_login_maps || e->s->sasl_username != NULL)
        return CHECK_DUNNO;
    const char *owners = NULL;
    int status = login_owner(e, sender, &owners);
    if (status == CHECK_REJECT)
        return status;
    if (owners)
        return check_reject(e, ERR_POLICY, 553, "5.7.1",
                            "<%s>: Sender address rejected: not logged in", sender);
    return CHECK_DUNNO;
}

static int no_sasl(struct eval *e, struct restriction *r)
{
    eval_warn(e, "restriction `%s' ignored: no SASL support", r->name);
    return CHECK_DUNNO;
}

/* ---- TLS ---- */

static int permit_tls_clientcerts(struct eval *e, bool all)
{
    struct policy_session *s = e->s;
    if (!s->tls_active)
        return CHECK_DUNNO;
    if (s->tls.cert_trusted && all)
        return CHECK_OK;
    if (!s->tls.cert_present)
        return CHECK_DUNNO;
    /* opened with the other tables when the policy was compiled */
    const char *prints[2] = {s->tls.cert_fingerprint, s->tls.pkey_fingerprint};
    int status = CHECK_DUNNO;
    for (size_t m = 0; m < e->p->n_relay_clientcerts && status == CHECK_DUNNO; m++) {
        struct table *t = e->p->relay_clientcerts[m];
        for (int i = 0; i < 2 && status == CHECK_DUNNO; i++) {
            const char *v;
            if (prints[i] == NULL)
                continue;
            enum table_status st = table_lookup(t, prints[i], &v);
            if (st == TABLE_FOUND)
                status = CHECK_OK;
            else if (st != TABLE_NOTFOUND)
                status = reject_dict_retry(e, s->namaddr);
        }
    }
    return status;
}

static int check_ccert_access(struct eval *e, struct restriction *r, enum restriction_kind def_acl)
{
    struct policy_session *s = e->s;
    if (!s->tls_active || !s->tls.cert_present)
        return CHECK_DUNNO;
    const char *prints[2] = {s->tls.cert_fingerprint, s->tls.pkey_fingerprint};
    for (int i = 0; i < 2; i++) {
        bool found;
        if (prints[i] == NULL)
            continue;
        int status = check_access(e, r, prints[i], true, &found,
                                  s->tls.peer_cn ? s->tls.peer_cn : "", CLASS_CCERT, def_acl);
        if (status != CHECK_DUNNO)
            return status;
    }
    return CHECK_DUNNO;
}

/* ---- the dispatcher ---- */

static bool is_unknown(const char *name)
{
    return name == NULL || strcasecmp(name, "unknown") == 0;
}

int eval_restriction(struct eval *e, struct restriction *r, const char *reply_name,
                     const char *reply_class, enum restriction_kind def_acl, bool last)
{
    struct policy_session *s = e->s;
    struct policy *p = e->p;
    bool found = false;
    int status = CHECK_DUNNO;
    enum restriction_kind kind = r->kind;

    if (r->implicit) {
        if (def_acl == R_UNKNOWN) {
            eval_warn(e,
                      "specify one of (check_client_access, check_reverse_client_hostname_access, "
                      "check_helo_access, check_sender_access, check_recipient_access, "
                      "check_etrn_access) before %s restriction \"%s\"",
                      reply_class, r->arg);
            return reject_server_error(e);
        }
        kind = def_acl;
    }

    switch (kind) {
    case R_UNKNOWN:
    case R_BROKEN:
        eval_warn(e, "%s", r->problem ? r->problem : "bad restriction");
        return reject_server_error(e);
    case R_WARN_ONLY: eval_warn(e, "%s", r->problem); return CHECK_DUNNO;
    case R_CLASS: {
        struct restriction_list *l = htable_get(p->classes, r->name);
        if (l == NULL) {
            eval_warn(e, "unknown smtpd restriction: \"%s\"", r->name);
            return reject_server_error(e);
        }
        /* A class that names itself, directly or through others, would
         * recurse until the stack runs out: stop as for table values. */
        if (e->recursion > 100) {
            eval_warn(e, "restriction class %s causes unreasonable recursion", r->name);
            return reject_server_error(e);
        }
        return generic_checks(e, l, reply_name, reply_class, def_acl);
    }
    case R_PERMIT:
        if (!last)
            eval_warn(e, "restriction `%s' after `%s' is ignored", (r + 1)->name, r->name);
        return CHECK_OK;
    case R_DEFER:
        status = check_reject(e, ERR_POLICY, p->defer_code, "4.3.2",
                              "<%s>: %s rejected: Try again later", reply_name, reply_class);
        if (!last && e->warn_if_reject == 0)
            eval_warn(e, "restriction `%s' after `%s' is ignored", (r + 1)->name, r->name);
        return status;
    case R_REJECT:
        status = check_reject(e, ERR_POLICY, p->reject_code, "5.7.1",
                              "<%s>: %s rejected: Access denied", reply_name, reply_class);
        if (!last && e->warn_if_reject == 0)
            eval_warn(e, "restriction `%s' after `%s' is ignored", (r + 1)->name, r->name);
        return status;
    case R_WARN_IF_REJECT: return CHECK_DUNNO;
    case R_REJECT_UNAUTH_PIPELINING:
        if (s->ill_pipelining)
            return check_reject(e, ERR_PROTOCOL, 503, "5.5.0",
                                "<%s>: %s rejected: Improper use of SMTP command pipelining",
                                reply_name, reply_class);
        return CHECK_DUNNO;
    case R_CHECK_POLICY_SERVICE:
        return check_policy_service(e, r, reply_name, reply_class, def_acl);
    case R_DEFER_IF_PERMIT:
        return defer_if_permit(e, false, 450, "4.7.0",
                               "<%s>: %s rejected: defer_if_permit requested", reply_name,
                               reply_class);
    case R_DEFER_IF_REJECT:
        defer_if(e, &s->st.defer_if_reject, 450, "4.7.0",
                 "<%s>: %s rejected: defer_if_reject requested", reply_name, reply_class);
        return CHECK_DUNNO;
    case R_SLEEP: {
        int index = e->sleep_index++;
        if ((size_t) index < s->n_sleeps && s->sleeps_done[index])
            return CHECK_DUNNO;
        struct policy_request req = {
            .type = POLICY_REQ_SLEEP, .seconds = atoi(r->arg), .id = (unsigned) index};
        policy_add_pending(s, &req);
        return CHECK_PENDING;
    }
    case R_REJECT_PLAINTEXT_SESSION:
        if (!s->tls_active)
            return check_reject(e, ERR_POLICY, p->plaintext_reject_code, "4.7.1",
                                "Session encryption is required");
        return CHECK_DUNNO;

    /* client */
    case R_REJECT_UNKNOWN_CLIENT_HOSTNAME: return reject_unknown_client(e);
    case R_REJECT_UNKNOWN_REVERSE_CLIENT_HOSTNAME: return reject_unknown_reverse_name(e);
    case R_PERMIT_INET_INTERFACES:
        return own_inet_address(p, s->peer_addr ? s->peer_addr : s->addr) ? CHECK_OK : CHECK_DUNNO;
    case R_PERMIT_MYNETWORKS: return permit_mynetworks(e);
    case R_CHECK_CLIENT_ACCESS:
        return check_namadr_access(e, r, s->name, s->addr, &found, s->namaddr, CLASS_CLIENT,
                                   def_acl);
    case R_CHECK_REVERSE_CLIENT_ACCESS:
        status = check_namadr_access(e, r, s->reverse_name, s->addr, &found, s->reverse_name,
                                     CLASS_REV_CLIENT, def_acl);
        return forbid_whitelist(e, r->name, status, s->reverse_name);
    case R_REJECT_MAPS_RBL: {
        struct strlist zones;
        strlist_init(&zones);
        config_get_list(p->cfg, "maps_rbl_domains", &zones);
        for (size_t i = 0; i < zones.count && status == CHECK_DUNNO; i++)
            status = reject_rbl_addr(e, zones.items[i], s->addr, CLASS_CLIENT);
        strlist_free(&zones);
        return status;
    }
    case R_REJECT_RBL_CLIENT: return reject_rbl_addr(e, r->arg, s->addr, CLASS_CLIENT);
    case R_PERMIT_DNSWL_CLIENT: return permit_dnswl_addr(e, r->arg, s->addr, CLASS_CLIENT);
    case R_REJECT_RHSBL_CLIENT:
        if (!is_unknown(s->name))
            return reject_rbl_domain(e, r->arg, s->name, CLASS_CLIENT);
        return CHECK_DUNNO;
    case R_PERMIT_RHSWL_CLIENT:
        if (!is_unknown(s->name))
            return permit_dnswl_domain(e, r->arg, s->name, CLASS_CLIENT);
        return CHECK_DUNNO;
    case R_REJECT_RHSBL_REVERSE_CLIENT:
        if (!is_unknown(s->reverse_name))
            return reject_rbl_domain(e, r->arg, s->reverse_name, CLASS_REV_CLIENT);
        return CHECK_DUNNO;
    case R_CHECK_CCERT_ACCESS: return check_ccert_access(e, r, def_acl);
    case R_CHECK_SASL_ACCESS:
        if (!sasl_active(e))
            return no_sasl(e, r);
        if (s->sasl_username && *s->sasl_username) {
            char *sane = str_printable(s->sasl_username, strlen(s->sasl_username));
            for (char *c = sane; *c; c++)
                if (*c == '?')
                    *c = '_';
            status = check_access(e, r, s->sasl_username, true, &found, sane, CLASS_SASL, def_acl);
            free(sane);
        }
        return status;
    case R_CHECK_CLIENT_NS_ACCESS:
    case R_CHECK_CLIENT_MX_ACCESS:
    case R_CHECK_CLIENT_A_ACCESS:
        if (is_unknown(s->name))
            return CHECK_DUNNO;
        status = check_server_access(e, r, s->name,
                                     kind == R_CHECK_CLIENT_NS_ACCESS   ? DNS_T_NS
                                     : kind == R_CHECK_CLIENT_MX_ACCESS ? DNS_T_MX
                                                                        : DNS_T_A,
                                     s->namaddr, CLASS_CLIENT, def_acl);
        return status == CHECK_PENDING ? status : forbid_whitelist(e, r->name, status, s->name);
    case R_CHECK_REVERSE_CLIENT_NS_ACCESS:
    case R_CHECK_REVERSE_CLIENT_MX_ACCESS:
    case R_CHECK_REVERSE_CLIENT_A_ACCESS:
        if (is_unknown(s->reverse_name))
            return CHECK_DUNNO;
        status = check_server_access(e, r, s->reverse_name,
                                     kind == R_CHECK_REVERSE_CLIENT_NS_ACCESS   ? DNS_T_NS
                                     : kind == R_CHECK_REVERSE_CLIENT_MX_ACCESS ? DNS_T_MX
                                                                                : DNS_T_A,
                                     s->reverse_name, CLASS_REV_CLIENT, def_acl);
        return status == CHECK_PENDING ? status
                                       : forbid_whitelist(e, r->name, status, s->reverse_name);
    case R_PERMIT_SASL_AUTHENTICATED:
        if (sasl_active(e) && s->sasl_username && *s->sasl_username)
            return CHECK_OK;
        return CHECK_DUNNO;
    case R_PERMIT_TLS_ALL_CLIENTCERTS: return permit_tls_clientcerts(e, true);
    case R_PERMIT_TLS_CLIENTCERTS: return permit_tls_clientcerts(e, false);

    /* helo */
    case R_CHECK_HELO_ACCESS:
        if (s->helo)
            return check_domain_access(e, r, s->helo, true, &found, s->helo, CLASS_HELO, def_acl);
        return CHECK_DUNNO;
    case R_REJECT_INVALID_HELO_HOSTNAME:
        if (s->helo == NULL)
            return CHECK_DUNNO;
        if (s->helo[0] != '[')
            return reject_invalid_hostname(e, s->helo, s->helo, CLASS_HELO);
        return reject_invalid_hostaddr(e, s->helo, s->helo, CLASS_HELO);
    case R_REJECT_UNKNOWN_HELO_HOSTNAME:
        if (s->helo == NULL)
            return CHECK_DUNNO;
        if (s->helo[0] != '[')
            return reject_unknown_hostname(e, s->helo, s->helo, CLASS_HELO);
        return reject_invalid_hostaddr(e, s->helo, s->helo, CLASS_HELO);
    case R_PERMIT_NAKED_IP_ADDRESS:
        eval_warn(e, "restriction %s is deprecated. Use %s or %s instead", r->name,
                  "permit_mynetworks", "permit_sasl_authenticated");
        if (s->helo && s->helo[strspn(s->helo, "0123456789.:")] == 0 &&
            (status = reject_invalid_hostaddr(e, s->helo, s->helo, CLASS_HELO)) == CHECK_DUNNO)
            return CHECK_OK;
        return status;
    case R_CHECK_HELO_NS_ACCESS:
    case R_CHECK_HELO_MX_ACCESS:
    case R_CHECK_HELO_A_ACCESS:
        if (s->helo == NULL)
            return CHECK_DUNNO;
        status = check_server_access(e, r, s->helo,
                                     kind == R_CHECK_HELO_NS_ACCESS   ? DNS_T_NS
                                     : kind == R_CHECK_HELO_MX_ACCESS ? DNS_T_MX
                                                                      : DNS_T_A,
                                     s->helo, CLASS_HELO, def_acl);
        return status == CHECK_PENDING ? status : forbid_whitelist(e, r->name, status, s->helo);
    case R_REJECT_NON_FQDN_HELO_HOSTNAME:
        if (s->helo == NULL)
            return CHECK_DUNNO;
        if (s->helo[0] != '[')
            return reject_non_fqdn_hostname(e, s->helo, s->helo, CLASS_HELO);
        return reject_invalid_hostaddr(e, s->helo, s->helo, CLASS_HELO);
    case R_REJECT_RHSBL_HELO:
        if (s->helo)
            return reject_rbl_domain(e, r->arg, s->helo, CLASS_HELO);
        return CHECK_DUNNO;

    /* sender */
    case R_CHECK_SENDER_ACCESS:
        if (s->sender && *s->sender)
            return check_mail_access(e, r, s->sender, &found, s->sender, CLASS_SENDER, def_acl);
        if (s->sender && !*s->sender)
            return check_access(e, r, p->null_access_key, true, &found, s->sender, CLASS_SENDER,
                                def_acl);
        return CHECK_DUNNO;
    case R_REJECT_UNKNOWN_SENDER_DOMAIN:
        if (s->sender && *s->sender)
            return reject_unknown_address(e, s->sender, s->sender, CLASS_SENDER);
        return CHECK_DUNNO;
    case R_REJECT_UNVERIFIED_SENDER:
    case R_REJECT_UNVERIFIED_RECIPIENT:
        /* Address verification probes come with the delivery agents; until
         * then the restriction asks nothing and says nothing. */
        eval_warn(e, "restriction %s: address verification is not available; ignored", r->name);
        return CHECK_DUNNO;
    case R_REJECT_NON_FQDN_SENDER:
        if (s->sender && *s->sender)
            return reject_non_fqdn_address(e, s->sender, s->sender, CLASS_SENDER);
        return CHECK_DUNNO;
    case R_REJECT_AUTH_SENDER_LOGIN_MISMATCH:
        if (!sasl_active(e))
            return no_sasl(e, r);
        if (s->sender && *s->sender)
            return reject_auth_sender_login_mismatch(e, s->sender, false);
        return CHECK_DUNNO;
    case R_REJECT_KNOWN_SENDER_LOGIN_MISMATCH:
        if (!sasl_active(e))
            return no_sasl(e, r);
        if (s->sender && *s->sender) {
            if (s->sasl_username)
                return reject_auth_sender_login_mismatch(e, s->sender, true);
            return reject_unauth_sender_login_mismatch(e, s->sender);
        }
        return CHECK_DUNNO;
    case R_REJECT_UNAUTH_SENDER_LOGIN_MISMATCH:
        if (!sasl_active(e))
            return no_sasl(e, r);
        if (s->sender && *s->sender)
            return reject_unauth_sender_login_mismatch(e, s->sender);
        return CHECK_DUNNO;
    case R_REJECT_SENDER_LOGIN_MISMATCH:
        if (!sasl_active(e))
            return no_sasl(e, r);
        if (s->sender && *s->sender) {
            status = reject_auth_sender_login_mismatch(e, s->sender, false);
            if (status == CHECK_DUNNO)
                status = reject_unauth_sender_login_mismatch(e, s->sender);
        }
        return status;
    case R_CHECK_SENDER_NS_ACCESS:
    case R_CHECK_SENDER_MX_ACCESS:
    case R_CHECK_SENDER_A_ACCESS:
        if (s->sender == NULL || !*s->sender)
            return CHECK_DUNNO;
        status = check_server_access(e, r, s->sender,
                                     kind == R_CHECK_SENDER_NS_ACCESS   ? DNS_T_NS
                                     : kind == R_CHECK_SENDER_MX_ACCESS ? DNS_T_MX
                                                                        : DNS_T_A,
                                     s->sender, CLASS_SENDER, def_acl);
        return status == CHECK_PENDING ? status : forbid_whitelist(e, r->name, status, s->sender);
    case R_REJECT_RHSBL_SENDER:
        if (s->sender && *s->sender)
            return reject_rbl_domain(e, r->arg, s->sender, CLASS_SENDER);
        return CHECK_DUNNO;
    case R_REJECT_UNLISTED_SENDER:
        if (s->sender && *s->sender)
            return check_sender_rcpt_maps(e, s->sender);
        return CHECK_DUNNO;

    /* recipient */
    case R_CHECK_RECIPIENT_ACCESS:
        if (s->recipient)
            return check_mail_access(e, r, s->recipient, &found, s->recipient, CLASS_RECIPIENT,
                                     def_acl);
        return CHECK_DUNNO;
    case R_PERMIT_MX_BACKUP:
        if (s->recipient)
            return permit_mx_backup(e, s->recipient, s->recipient, CLASS_RECIPIENT);
        return CHECK_DUNNO;
    case R_PERMIT_AUTH_DESTINATION:
        if (s->recipient)
            return permit_auth_destination(e, s->recipient);
        return CHECK_DUNNO;
    case R_REJECT_UNAUTH_DESTINATION:
        if (s->recipient)
            return reject_unauth_destination(e, s->recipient, p->relay_domains_reject_code,
                                             "5.7.1");
        return CHECK_DUNNO;
    case R_DEFER_UNAUTH_DESTINATION:
        if (s->recipient)
            return reject_unauth_destination(e, s->recipient, p->relay_domains_reject_code - 100,
                                             "4.7.1");
        return CHECK_DUNNO;
    case R_CHECK_RELAY_DOMAINS:
        if (s->recipient) {
            if (match_list_match(p->relay_domains, s->name, NULL) > 0)
                status = CHECK_OK;
            else if (permit_auth_destination(e, s->recipient) == CHECK_OK)
                status = CHECK_OK;
            else
                status = check_reject(e, ERR_POLICY, p->relay_domains_reject_code, "5.7.1",
                                      "<%s>: %s rejected: Relay access denied", s->recipient,
                                      CLASS_RECIPIENT);
        }
        if (!last && e->warn_if_reject == 0)
            eval_warn(e, "restriction `%s' after `%s' is ignored", (r + 1)->name, r->name);
        return status;
    case R_REJECT_UNKNOWN_RECIPIENT_DOMAIN:
        if (s->recipient)
            return reject_unknown_address(e, s->recipient, s->recipient, CLASS_RECIPIENT);
        return CHECK_DUNNO;
    case R_REJECT_NON_FQDN_RECIPIENT:
        if (s->recipient)
            return reject_non_fqdn_address(e, s->recipient, s->recipient, CLASS_RECIPIENT);
        return CHECK_DUNNO;
    case R_CHECK_RECIPIENT_NS_ACCESS:
    case R_CHECK_RECIPIENT_MX_ACCESS:
    case R_CHECK_RECIPIENT_A_ACCESS:
        if (s->recipient == NULL || !*s->recipient)
            return CHECK_DUNNO;
        status = check_server_access(e, r, s->recipient,
                                     kind == R_CHECK_RECIPIENT_NS_ACCESS   ? DNS_T_NS
                                     : kind == R_CHECK_RECIPIENT_MX_ACCESS ? DNS_T_MX
                                                                           : DNS_T_A,
                                     s->recipient, CLASS_RECIPIENT, def_acl);
        return status == CHECK_PENDING ? status
                                       : forbid_whitelist(e, r->name, status, s->recipient);
    case R_REJECT_RHSBL_RECIPIENT:
        if (s->recipient)
            return reject_rbl_domain(e, r->arg, s->recipient, CLASS_RECIPIENT);
        return CHECK_DUNNO;
    case R_REJECT_UNLISTED_RECIPIENT:
        if (s->recipient && *s->recipient)
            return check_recipient_rcpt_maps(e, s->recipient);
        return CHECK_DUNNO;
    case R_REJECT_MULTI_RECIPIENT_BOUNCE:
        if (s->sender && !*s->sender && s->rcpt_count > (strcmp(e->where, "DATA") ? 0 : 1))
            return check_reject(e, ERR_POLICY, p->multi_recipient_bounce_reject_code, "5.5.3",
                                "<%s>: %s rejected: Multi-recipient bounce", reply_name,
                                reply_class);
        return CHECK_DUNNO;

    /* etrn */
    case R_CHECK_ETRN_ACCESS:
        if (s->etrn_name)
            return check_domain_access(e, r, s->etrn_name, true, &found, s->etrn_name, CLASS_ETRN,
                                       def_acl);
        return CHECK_DUNNO;
    case R_KIND_COUNT: break;
    }
    return CHECK_DUNNO;
}
