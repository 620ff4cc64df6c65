/*
 * compile - turn the configuration into a struct policy once, when it is
 * loaded: restriction lists parsed and their tables opened, restriction
 * classes, match lists, lookup tables and every parameter the engine reads.
 * Postfix's smtpd refuses to start when neither relay nor recipient
 * restrictions can reject relaying; so does postern.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy/policy_int.h"

static const char *const list_params[POLICY_LIST_COUNT] = {
    [POLICY_LIST_CLIENT] = "smtpd_client_restrictions",
    [POLICY_LIST_HELO] = "smtpd_helo_restrictions",
    [POLICY_LIST_SENDER] = "smtpd_sender_restrictions",
    [POLICY_LIST_RELAY] = "smtpd_relay_restrictions",
    [POLICY_LIST_RECIPIENT] = "smtpd_recipient_restrictions",
    [POLICY_LIST_DATA] = "smtpd_data_restrictions",
    [POLICY_LIST_EOD] = "smtpd_end_of_data_restrictions",
    [POLICY_LIST_ETRN] = "smtpd_etrn_restrictions",
};

static bool all_digits(const char *s)
{
    if (*s == 0)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char) *s))
            return false;
    return true;
}

struct restriction_list *compile_list(struct policy *p, const char *name, const char *value,
                                      struct strlist *errors)
{
    struct strlist toks;
    strlist_init(&toks);
    char *err = NULL;
    if (str_split_list(value, LIST_SEPS, &toks, &err) == -1) {
        strlist_add_owned(errors, xasprintf("%s: %s", name, err));
        free(err);
    }
    struct restriction_list *l = xcalloc(1, sizeof(*l));
    l->name = xstrdup(name);
    l->items = xcalloc(toks.count + 1, sizeof(*l->items));
    for (size_t i = 0; i < toks.count; i++) {
        struct restriction *r = &l->items[l->count++];
        const char *t = toks.items[i];
        r->name = xstrdup(t);
        if (strchr(t, ':') != NULL) {
            /* A bare table: the stage's check_*_access, decided at use. */
            r->implicit = true;
            r->kind = R_UNKNOWN;
            r->arg = xstrdup(t);
            r->table = table_open(t, TABLE_OPEN_FOLD);
            r->text = xstrdup(t);
            continue;
        }
        const struct restriction_info *info = restriction_lookup(t);
        if (info == NULL) {
            /* A class, resolved at use (classes may name each other). */
            r->kind = htable_contains(p->classes, t) ? R_CLASS : R_UNKNOWN;
            if (r->kind == R_UNKNOWN)
                r->problem = xasprintf("unknown smtpd restriction: \"%s\"", t);
            r->text = xstrdup(t);
            continue;
        }
        r->kind = info->kind;
        const char *next = i + 1 < toks.count ? toks.items[i + 1] : NULL;
        switch (info->arg) {
        case ARG_NONE: break;
        case ARG_TABLE:
            if (next == NULL || strchr(next, ':') == NULL) {
                r->problem = xasprintf("restriction %s: bad argument \"%s\": need maptype:mapname",
                                       info->name, next ? next : "");
                r->kind = R_BROKEN;
                if (next)
                    i++;
            } else {
                r->arg = xstrdup(next);
                r->table = table_open(next, TABLE_OPEN_FOLD);
                i++;
            }
            break;
        case ARG_DOMAIN:
            if (next == NULL) {
                r->problem = xasprintf("restriction %s requires domain name argument", t);
                r->kind = R_WARN_ONLY;
            } else {
                r->arg = xstrdup(next);
                i++;
            }
            break;
        case ARG_SERVICE:
            if (next == NULL || strchr(next, ':') == NULL) {
                r->problem =
                    xasprintf("restriction %s must be followed by transport:server", info->name);
                r->kind = R_BROKEN;
            } else {
                r->arg = xstrdup(next);
                i++;
            }
            break;
        case ARG_NUMBER:
            if (next == NULL || !all_digits(next)) {
                r->problem = xasprintf("restriction %s must be followed by number", info->name);
                r->kind = R_BROKEN;
            } else {
                r->arg = xstrdup(next);
                i++;
            }
            break;
        }
        r->text = r->arg ? xasprintf("%s %s", t, r->arg) : xstrdup(t);
    }
    strlist_free(&toks);
    return l;
}

void restriction_list_free(struct restriction_list *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->count; i++) {
        struct restriction *r = &l->items[i];
        free((char *) r->name);
        free(r->arg);
        free(r->text);
        free(r->problem);
        table_close(r->table);
    }
    free(l->items);
    free(l->name);
    free(l);
}

static void free_list_value(void *v)
{
    restriction_list_free(v);
}

/* has_required - can this list reject relaying (recursing into classes)? */
static bool has_required(struct policy *p, struct restriction_list *l, int depth)
{
    if (l == NULL || depth > 100)
        return false;
    for (size_t i = 0; i < l->count; i++) {
        struct restriction *r = &l->items[i];
        if (r->kind == R_WARN_IF_REJECT && i + 1 < l->count) {
            i++;
            continue;
        }
        if (r->kind == R_PERMIT)
            return false;
        switch (r->kind) {
        case R_REJECT_UNAUTH_DESTINATION:
        case R_DEFER_UNAUTH_DESTINATION:
        case R_REJECT:
        case R_DEFER:
        case R_DEFER_IF_PERMIT:
        case R_CHECK_RELAY_DOMAINS: return true;
        case R_CLASS:
            if (has_required(p, htable_get(p->classes, r->name), depth + 1))
                return true;
            break;
        default: break;
        }
    }
    return false;
}

static struct table **open_maps(struct config *cfg, const char *param, size_t *n, bool *nonempty)
{
    struct strlist specs;
    strlist_init(&specs);
    config_get_list(cfg, param, &specs);
    struct table **maps = xcalloc(specs.count + 1, sizeof(*maps));
    *n = 0;
    for (size_t i = 0; i < specs.count; i++) {
        /* Tables this host cannot have (passwd via proxy, Postfix's own
         * alias database) are skipped with a warning at lint time. */
        if (strncmp(specs.items[i], "proxy:", 6) == 0 &&
            strstr(specs.items[i], "passwd.byname") != NULL)
            continue;
        maps[(*n)++] = table_open(specs.items[i], TABLE_OPEN_FOLD);
    }
    if (nonempty)
        *nonempty = specs.count > 0;
    strlist_free(&specs);
    return maps;
}

static void close_maps(struct table **maps, size_t n)
{
    for (size_t i = 0; i < n; i++)
        table_close(maps[i]);
    free(maps);
}

static void add_interface_addresses(struct strlist *out, const char *value, bool ipv4, bool ipv6)
{
    struct strlist items;
    strlist_init(&items);
    str_split_list(value, LIST_SEPS, &items, NULL);
    for (size_t i = 0; i < items.count; i++) {
        const char *it = items.items[i];
        if (strcasecmp(it, "all") == 0) {
            struct ifaddrs *ifa, *p;
            if (getifaddrs(&ifa) == 0) {
                for (p = ifa; p; p = p->ifa_next) {
                    char buf[INET6_ADDRSTRLEN];
                    if (p->ifa_addr == NULL)
                        continue;
                    if (p->ifa_addr->sa_family == AF_INET && ipv4)
                        inet_ntop(AF_INET, &((struct sockaddr_in *) p->ifa_addr)->sin_addr, buf,
                                  sizeof(buf));
                    else if (p->ifa_addr->sa_family == AF_INET6 && ipv6)
                        inet_ntop(AF_INET6, &((struct sockaddr_in6 *) p->ifa_addr)->sin6_addr, buf,
                                  sizeof(buf));
                    else
                        continue;
                    strlist_add(out, buf);
                }
                freeifaddrs(ifa);
            }
        } else if (strcasecmp(it, "loopback-only") == 0) {
            if (ipv4)
                strlist_add(out, "127.0.0.1");
            if (ipv6)
                strlist_add(out, "::1");
        } else {
            char *a = xstrdup(it);
            size_t n = strlen(a);
            char *host = a;
            if (n > 2 && a[0] == '[' && a[n - 1] == ']') {
                a[n - 1] = 0;
                host = a + 1;
            }
            if (valid_hostaddr(host)) {
                strlist_add(out, host);
            } else {
                struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *r;
                if (getaddrinfo(host, NULL, &hints, &res) == 0) {
                    for (r = res; r; r = r->ai_next) {
                        char buf[INET6_ADDRSTRLEN];
                        if (r->ai_family == AF_INET && ipv4)
                            inet_ntop(AF_INET, &((struct sockaddr_in *) r->ai_addr)->sin_addr, buf,
                                      sizeof(buf));
                        else if (r->ai_family == AF_INET6 && ipv6)
                            inet_ntop(AF_INET6, &((struct sockaddr_in6 *) r->ai_addr)->sin6_addr,
                                      buf, sizeof(buf));
                        else
                            continue;
                        strlist_add(out, buf);
                    }
                    freeaddrinfo(res);
                }
            }
            free(a);
        }
    }
    strlist_free(&items);
}

static bool addr_in(const struct strlist *l, const char *addr)
{
    unsigned char a[16], b[16];
    int fa = inet_pton(AF_INET, addr, a) == 1    ? AF_INET
             : inet_pton(AF_INET6, addr, a) == 1 ? AF_INET6
                                                 : 0;
    if (fa == 0)
        return false;
    for (size_t i = 0; i < l->count; i++)
        if (inet_pton(fa, l->items[i], b) == 1 && memcmp(a, b, fa == AF_INET ? 4 : 16) == 0)
            return true;
    return false;
}

bool own_address(const struct policy *p, const char *addr)
{
    return addr_in(&p->own_addresses, addr);
}

bool own_inet_address(const struct policy *p, const char *addr)
{
    return addr_in(&p->inet_addresses, addr);
}

static int code(struct config *cfg, const char *name)
{
    return (int) config_get_int(cfg, name);
}

/* in_param_list - is word listed in the parameter (parent_domain_matches...) */
static bool in_param_list(struct config *cfg, const char *param, const char *word)
{
    struct strlist l;
    strlist_init(&l);
    config_get_list(cfg, param, &l);
    bool found = false;
    for (size_t i = 0; i < l.count && !found; i++)
        found = strcasecmp(l.items[i], word) == 0;
    strlist_free(&l);
    return found;
}

static struct policy *policy_compile_mode(struct config *cfg, struct strlist *errors, bool lenient);

/* set_expansion_filter - the filter value uses C-style escapes (\t, \40, \\) */
static void set_expansion_filter(struct policy *p, const char *v)
{
    memset(p->expansion_allowed, 0, sizeof(p->expansion_allowed));
    for (const char *c = v; *c; c++) {
        unsigned char ch = (unsigned char) *c;
        if (ch == '\\' && c[1]) {
            c++;
            if (*c == 't')
                ch = '\t';
            else if (*c == 'n')
                ch = '\n';
            else if (*c == 'r')
                ch = '\r';
            else if (*c >= '0' && *c <= '7') {
                int n = 0, k = 0;
                while (k < 3 && c[k] >= '0' && c[k] <= '7')
                    n = n * 8 + (c[k++] - '0');
                c += k - 1;
                ch = (unsigned char) n;
            } else
                ch = (unsigned char) *c;
        }
        p->expansion_allowed[ch] = true;
    }
}

struct policy *policy_compile(struct config *cfg, struct strlist *errors)
{
    return policy_compile_mode(cfg, errors, false);
}

static struct policy *policy_compile_mode(struct config *cfg, struct strlist *errors, bool lenient)
{
    struct policy *p = xcalloc(1, sizeof(*p));
    p->cfg = cfg;
    p->lenient = lenient;
    size_t nerrors = errors->count;
    const char *pdms = "parent_domain_matches_subdomains";

    p->myhostname = config_get(cfg, "myhostname");
    p->mydomain = config_get(cfg, "mydomain");
    p->myorigin = config_get(cfg, "myorigin");
    p->mail_name = config_get(cfg, "mail_name");
    p->recipient_delimiter = config_get(cfg, "recipient_delimiter");
    p->null_access_key = config_get(cfg, "smtpd_null_access_lookup_key");
    p->default_rbl_reply = config_raw(cfg, "default_rbl_reply");
    p->empty_address_recipient = config_get(cfg, "empty_address_recipient");
    p->double_bounce_sender = config_get(cfg, "double_bounce_sender");
    p->parent_access_maps = in_param_list(cfg, pdms, "smtpd_access_maps");
    p->delay_reject = config_get_bool(cfg, "smtpd_delay_reject");
    p->soft_bounce = config_get_bool(cfg, "soft_bounce");
    p->allow_untrusted_routing = config_get_bool(cfg, "allow_untrusted_routing");
    p->reject_unlisted_sender = config_get_bool(cfg, "smtpd_reject_unlisted_sender");
    p->reject_unlisted_recipient = config_get_bool(cfg, "smtpd_reject_unlisted_recipient");
    p->swap_bangpath = config_get_bool(cfg, "swap_bangpath");
    p->smtputf8_enable = config_get_bool(cfg, "smtputf8_enable");
    p->percent_hack = config_get_bool(cfg, "allow_percent_hack");
    p->resolve_dequoted = config_get_bool(cfg, "resolve_dequoted_address");
    p->resolve_null_domain = config_get_bool(cfg, "resolve_null_domain");
    p->show_unknown_table = config_get_bool(cfg, "show_user_unknown_table_name");
    p->sasl_auth_enable = config_get_bool(cfg, "smtpd_sasl_auth_enable");
    p->access_map_reject_code = code(cfg, "access_map_reject_code");
    p->access_map_defer_code = code(cfg, "access_map_defer_code");
    p->defer_code = code(cfg, "defer_code");
    p->reject_code = code(cfg, "reject_code");
    p->maps_rbl_reject_code = code(cfg, "maps_rbl_reject_code");
    p->invalid_hostname_reject_code = code(cfg, "invalid_hostname_reject_code");
    p->non_fqdn_reject_code = code(cfg, "non_fqdn_reject_code");
    p->unknown_address_reject_code = code(cfg, "unknown_address_reject_code");
    p->unknown_client_reject_code = code(cfg, "unknown_client_reject_code");
    p->unknown_hostname_reject_code = code(cfg, "unknown_hostname_reject_code");
    p->relay_domains_reject_code = code(cfg, "relay_domains_reject_code");
    p->unknown_relay_recipient_reject_code = code(cfg, "unknown_relay_recipient_reject_code");
    p->unknown_local_recipient_reject_code = code(cfg, "unknown_local_recipient_reject_code");
    p->unknown_virtual_alias_reject_code = code(cfg, "unknown_virtual_alias_reject_code");
    p->unknown_virtual_mailbox_reject_code = code(cfg, "unknown_virtual_mailbox_reject_code");
    p->plaintext_reject_code = code(cfg, "plaintext_reject_code");
    p->multi_recipient_bounce_reject_code = code(cfg, "multi_recipient_bounce_reject_code");
    p->unverified_sender_reject_code = code(cfg, "unverified_sender_reject_code");
    p->unverified_recipient_reject_code = code(cfg, "unverified_recipient_reject_code");
    p->message_size_limit = (long) config_get_size(cfg, "message_size_limit");
    p->unknown_helo_defer_all =
        strcasecmp(config_get(cfg, "unknown_helo_hostname_tempfail_action"), "defer") == 0;
    p->unknown_address_defer_all =
        strcasecmp(config_get(cfg, "unknown_address_tempfail_action"), "defer") == 0;
    p->policy_default_action = config_get(cfg, "smtpd_policy_service_default_action");
    p->policy_timeout_ms = config_get_time_ms(cfg, "smtpd_policy_service_timeout");
    set_expansion_filter(p, config_get(cfg, "smtpd_expansion_filter"));

    const char *protocols = config_get(cfg, "inet_protocols");
    bool ipv4 = strstr(protocols, "ipv4") || strstr(protocols, "all");
    bool ipv6 = strstr(protocols, "ipv6") || strstr(protocols, "all");
    strlist_init(&p->own_addresses);
    strlist_init(&p->inet_addresses);
    add_interface_addresses(&p->inet_addresses, config_get(cfg, "inet_interfaces"), ipv4, ipv6);
    add_interface_addresses(&p->own_addresses, config_get(cfg, "inet_interfaces"), ipv4, ipv6);
    add_interface_addresses(&p->own_addresses, config_get(cfg, "proxy_interfaces"), ipv4, ipv6);

    p->mydestination = match_list_new("mydestination", config_get(cfg, "mydestination"),
                                      MATCH_STRING, false, errors);
    p->relay_domains =
        match_list_new("relay_domains", config_get(cfg, "relay_domains"), MATCH_DOMAIN,
                       in_param_list(cfg, pdms, "relay_domains"), errors);
    p->mynetworks = match_list_new("mynetworks", config_get(cfg, "mynetworks"), MATCH_HOSTADDR,
                                   in_param_list(cfg, pdms, "mynetworks"), errors);
    p->virtual_alias_domains =
        match_list_new("virtual_alias_domains", config_get(cfg, "virtual_alias_domains"),
                       MATCH_STRING, false, errors);
    p->virtual_mailbox_domains =
        match_list_new("virtual_mailbox_domains", config_get(cfg, "virtual_mailbox_domains"),
                       MATCH_STRING, false, errors);
    p->permit_mx_backup_networks = match_list_new(
        "permit_mx_backup_networks", config_get(cfg, "permit_mx_backup_networks"), MATCH_HOSTADDR,
        in_param_list(cfg, pdms, "permit_mx_backup_networks"), errors);
    p->sasl_exceptions_networks = match_list_new(
        "smtpd_sasl_exceptions_networks", config_get(cfg, "smtpd_sasl_exceptions_networks"),
        MATCH_HOSTADDR, in_param_list(cfg, pdms, "smtpd_sasl_exceptions_networks"), errors);

    p->local_recipient_maps = open_maps(cfg, "local_recipient_maps", &p->n_local_recipient_maps,
                                        &p->has_local_recipient_maps);
    p->virtual_alias_maps = open_maps(cfg, "virtual_alias_maps", &p->n_virtual_alias_maps, NULL);
    p->virtual_mailbox_maps = open_maps(cfg, "virtual_mailbox_maps", &p->n_virtual_mailbox_maps,
                                        &p->has_virtual_mailbox_maps);
    p->relay_recipient_maps = open_maps(cfg, "relay_recipient_maps", &p->n_relay_recipient_maps,
                                        &p->has_relay_recipient_maps);
    p->canonical_maps = open_maps(cfg, "canonical_maps", &p->n_canonical_maps, NULL);
    p->recipient_canonical_maps =
        open_maps(cfg, "recipient_canonical_maps", &p->n_recipient_canonical_maps, NULL);
    p->sender_login_maps = open_maps(cfg, "smtpd_sender_login_maps", &p->n_sender_login_maps,
                                     &p->has_sender_login_maps);
    p->relay_clientcerts = open_maps(cfg, "relay_clientcerts", &p->n_relay_clientcerts, NULL);
    p->rbl_reply_maps =
        open_maps(cfg, "rbl_reply_maps", &p->n_rbl_reply_maps, &p->has_rbl_reply_maps);

    /* Classes first, so lists can tell class names from unknown words. */
    p->classes = htable_new(8);
    p->value_lists = htable_new(8);
    struct strlist classes;
    strlist_init(&classes);
    config_get_list(cfg, "smtpd_restriction_classes", &classes);
    for (size_t i = 0; i < classes.count; i++)
        htable_put(p->classes, classes.items[i], NULL);
    for (size_t i = 0; i < classes.count; i++) {
        const char *value = config_get(cfg, classes.items[i]);
        if (*value == 0) {
            strlist_add_owned(
                errors, xasprintf("restriction class `%s' needs a definition", classes.items[i]));
            continue;
        }
        htable_put(p->classes, classes.items[i], compile_list(p, classes.items[i], value, errors));
    }
    strlist_free(&classes);

    for (int l = 0; l < POLICY_LIST_COUNT; l++) {
        p->list_param[l] = list_params[l];
        p->lists[l] = compile_list(p, list_params[l], config_get(cfg, list_params[l]), errors);
    }
    if (!has_required(p, p->lists[POLICY_LIST_RECIPIENT], 0) &&
        !has_required(p, p->lists[POLICY_LIST_RELAY], 0))
        strlist_add(errors, "in parameter smtpd_relay_restrictions or "
                            "smtpd_recipient_restrictions, specify at least one working "
                            "instance of: reject_unauth_destination, defer_unauth_destination, "
                            "reject, defer, defer_if_permit or check_relay_domains");
    if (errors->count > nerrors && !p->lenient) {
        policy_free(p);
        return NULL;
    }
    return p;
}

struct policy *policy_compile_lenient(struct config *cfg, struct strlist *errors)
{
    return policy_compile_mode(cfg, errors, true);
}

void policy_free(struct policy *p)
{
    if (p == NULL)
        return;
    for (int i = 0; i < RESOLVE_MEMO; i++) {
        free(p->resolve_memo[i].address);
        free(p->resolve_memo[i].result.recipient);
    }
    for (int l = 0; l < POLICY_LIST_COUNT; l++)
        restriction_list_free(p->lists[l]);
    htable_free(p->classes, free_list_value);
    htable_free(p->value_lists, free_list_value);
    match_list_free(p->mydestination);
    match_list_free(p->relay_domains);
    match_list_free(p->mynetworks);
    match_list_free(p->virtual_alias_domains);
    match_list_free(p->virtual_mailbox_domains);
    match_list_free(p->permit_mx_backup_networks);
    match_list_free(p->sasl_exceptions_networks);
    close_maps(p->local_recipient_maps, p->n_local_recipient_maps);
    close_maps(p->virtual_alias_maps, p->n_virtual_alias_maps);
    close_maps(p->virtual_mailbox_maps, p->n_virtual_mailbox_maps);
    close_maps(p->relay_recipient_maps, p->n_relay_recipient_maps);
    close_maps(p->canonical_maps, p->n_canonical_maps);
    close_maps(p->recipient_canonical_maps, p->n_recipient_canonical_maps);
    close_maps(p->sender_login_maps, p->n_sender_login_maps);
    close_maps(p->relay_clientcerts, p->n_relay_clientcerts);
    close_maps(p->rbl_reply_maps, p->n_rbl_reply_maps);
    strlist_free(&p->own_addresses);
    strlist_free(&p->inet_addresses);
    free(p);
}

struct config *policy_config(const struct policy *p)
{
    return p->cfg;
}
