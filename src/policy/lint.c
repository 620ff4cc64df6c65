/*
 * lint - static checks of a configuration, each with a stable identifier:
 *
 *   sasl-before-dnsbl     a permit for logged-in or certificate clients
 *                         precedes DNSBL / reputation checks in the same list
 *   local-sender-spoofing an outside client that is not logged in can use a
 *                         local domain as its envelope sender
 *   open-relay            relay/recipient restrictions can accept mail for
 *                         any destination from any client
 *   unreachable           restrictions after an unconditional permit/reject
 *   wrong-stage           a restriction in a list where its fact is missing
 *   table-missing         a table that does not exist or is not built
 *   table-stale           an indexed table older than its source
 *   table-broken          a table that exists but cannot be used
 *   unknown-restriction   a word that is no restriction or class
 *   bad-argument          a restriction without the argument it needs
 *   config-error          what would stop the server from starting
 *
 * The two spoofing/relay checks do not guess from the text: they play a
 * probe transaction through the engine itself, as a well-behaved outside
 * client (valid DNS, not in mynetworks, not logged in, not on any DNSBL).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "policy/policy_int.h"

struct linter {
    struct policy *p;
    struct lint_report *out;
    struct strlist zones; /* DNSBL and RHSBL zones the restrictions use */
};

static void add(struct linter *l, const char *id, const char *severity, const char *param,
                const char *fix, const char *fmt, ...) PRINTF_LIKE(6, 7);

static void add(struct linter *l, const char *id, const char *severity, const char *param,
                const char *fix, const char *fmt, ...)
{
    struct lint_report *r = l->out;
    r->items = xreallocarray(r->items, r->count + 1, sizeof(*r->items));
    struct lint_finding *f = &r->items[r->count++];
    memset(f, 0, sizeof(*f));
    f->id = id;
    f->severity = severity;
    f->parameter = param ? xstrdup(param) : NULL;
    const struct config_entry *en = param ? config_entry_find(l->p->cfg, param) : NULL;
    if (en && en->file) {
        f->file = xstrdup(en->file);
        f->line = en->line;
    } else {
        f->file = xstrdup(config_main_path(l->p->cfg));
        f->line = 0;
    }
    va_list ap;
    va_start(ap, fmt);
    f->message = xvasprintf(fmt, ap);
    va_end(ap);
    f->fix = fix ? xstrdup(fix) : NULL;
}

void lint_report_free(struct lint_report *r)
{
    for (size_t i = 0; i < r->count; i++) {
        free(r->items[i].file);
        free(r->items[i].parameter);
        free(r->items[i].message);
        free(r->items[i].fix);
    }
    free(r->items);
    r->items = NULL;
    r->count = 0;
}

/* ---- names ---- */

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t *row = xcalloc(lb + 1, sizeof(size_t));
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t prev = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cur = row[j];
            size_t cost =
                tolower((unsigned char) a[i - 1]) == tolower((unsigned char) b[j - 1]) ? 0 : 1;
            size_t best = prev + cost;
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            prev = cur;
        }
    }
    size_t d = row[lb];
    free(row);
    return d;
}

static const char *suggest(struct linter *l, const char *word)
{
    size_t n, best = (size_t) -1;
    const char *choice = NULL;
    const struct restriction_info *t = restriction_table(&n);
    for (size_t i = 0; i < n; i++) {
        size_t d = edit_distance(word, t[i].name);
        if (d < best) {
            best = d;
            choice = t[i].name;
        }
    }
    struct htable_iter it = {0};
    const char *name;
    while (htable_next(l->p->classes, &it, &name, NULL)) {
        size_t d = edit_distance(word, name);
        if (d < best) {
            best = d;
            choice = name;
        }
    }
    size_t len = strlen(word);
    return best <= (len > 12 ? 4 : len / 3 + 1) ? choice : NULL;
}

static const char *const list_facts[POLICY_LIST_COUNT] = {
    [POLICY_LIST_CLIENT] = "client",
    [POLICY_LIST_HELO] = "HELO name",
    [POLICY_LIST_SENDER] = "sender address",
    [POLICY_LIST_RELAY] = "recipient address",
    [POLICY_LIST_RECIPIENT] = "recipient address",
    [POLICY_LIST_DATA] = "message",
    [POLICY_LIST_EOD] = "message",
    [POLICY_LIST_ETRN] = "ETRN domain",
};

/* ---- per-list checks ---- */

static bool is_trust_permit(enum restriction_kind k)
{
    return k == R_PERMIT_SASL_AUTHENTICATED || k == R_PERMIT_TLS_CLIENTCERTS ||
           k == R_PERMIT_TLS_ALL_CLIENTCERTS || k == R_CHECK_SASL_ACCESS;
}

static bool is_reputation(enum restriction_kind k)
{
    switch (k) {
    case R_REJECT_RBL_CLIENT:
    case R_REJECT_MAPS_RBL:
    case R_REJECT_RHSBL_CLIENT:
    case R_REJECT_RHSBL_REVERSE_CLIENT:
    case R_REJECT_RHSBL_HELO:
    case R_REJECT_RHSBL_SENDER:
    case R_REJECT_RHSBL_RECIPIENT: return true;
    default: return false;
    }
}

/* class_has_reputation - a class (or nested class) with a DNSBL check */
static const struct restriction *reputation_in(struct linter *l, const struct restriction *r,
                                               int depth)
{
    if (is_reputation(r->kind))
        return r;
    if (r->kind != R_CLASS || depth > 20)
        return NULL;
    struct restriction_list *cl = htable_get(l->p->classes, r->name);
    for (size_t i = 0; cl && i < cl->count; i++) {
        const struct restriction *found = reputation_in(l, &cl->items[i], depth + 1);
        if (found)
            return found;
    }
    return NULL;
}

/* trust_in - a permit for logged-in or certificate clients, or a class
 * (nested classes too) that has one */
static const struct restriction *trust_in(struct linter *l, const struct restriction *r, int depth)
{
    if (is_trust_permit(r->kind))
        return r;
    if (r->kind != R_CLASS || depth > 20)
        return NULL;
    struct restriction_list *cl = htable_get(l->p->classes, r->name);
    for (size_t i = 0; cl && i < cl->count; i++) {
        const struct restriction *found = trust_in(l, &cl->items[i], depth + 1);
        if (found)
            return found;
    }
    return NULL;
}

static void check_list(struct linter *l, struct restriction_list *list, int stage,
                       const char *param)
{
    bool delay = l->p->delay_reject;
    for (size_t i = 0; i < list->count; i++) {
        struct restriction *r = &list->items[i];
        if (r->kind == R_UNKNOWN && !r->implicit) {
            const char *s = suggest(l, r->name);
            char *fix;
            if (config_is_set(l->p->cfg, r->name) && !param_find(r->name))
                fix = xasprintf("\"%s\" is set in main.cf: list it in smtpd_restriction_classes "
                                "to use it as a restriction class",
                                r->name);
            else if (s)
                fix = xasprintf("did you mean \"%s\"?", s);
            else
                fix = xstrdup("use a restriction from postconf(5) or list the class in "
                              "smtpd_restriction_classes");
            add(l, "unknown-restriction", "error", param, fix,
                "%s: \"%s\" is neither a restriction nor a restriction class; the server "
                "answers 451 4.3.5 when it reaches it",
                param, r->name);
            free(fix);
        } else if (r->implicit && (stage == POLICY_LIST_DATA || stage == POLICY_LIST_EOD)) {
            /* A bare table uses the stage's check_*_access; these stages
             * have none, and Postfix answers 451 4.3.5. */
            add(l, "unknown-restriction", "error", param,
                "write the check it is for before it: check_client_access, "
                "check_sender_access, check_recipient_access ...",
                "%s: the table \"%s\" stands alone, and %s has no default check_*_access "
                "for it; the server answers 451 4.3.5 when it reaches it",
                param, r->text, param);
        } else if (r->kind == R_BROKEN || r->kind == R_WARN_ONLY) {
            add(l, "bad-argument", r->kind == R_BROKEN ? "error" : "warning", param,
                "give the restriction its argument", "%s: %s", param, r->problem);
        } else if (r->table && r->arg && !is_table_spec(r->arg) && table_open_error(r->table)) {
            /* Not a type:table word, so the table scan does not see it:
             * Postfix's "{ type:table, { search_order = ... } }" form. */
            add(l, "bad-argument", "error", param,
                "give one type:table; postern has no \"{ type:table, ... }\" form here",
                "%s: \"%s\" cannot be used as a table (%s); the server answers 451 4.3.5 when it "
                "reaches it",
                param, r->arg, table_open_error(r->table));
        }
        /* unreachable */
        bool unconditional = r->kind == R_PERMIT || r->kind == R_REJECT || r->kind == R_DEFER ||
                             r->kind == R_CHECK_RELAY_DOMAINS;
        bool warned = i > 0 && list->items[i - 1].kind == R_WARN_IF_REJECT;
        if (unconditional && !warned && i + 1 < list->count) {
            struct buf rest;
            buf_init(&rest);
            for (size_t j = i + 1; j < list->count; j++) {
                if (rest.len)
                    buf_puts(&rest, ", ");
                buf_puts(&rest, list->items[j].text);
            }
            add(l, "unreachable", "warning", param, "remove them, or move them before it",
                "%s: nothing after \"%s\" is ever evaluated: %s", param, r->text, rest.data);
            buf_free(&rest);
        }
        /* wrong stage */
        const struct restriction_info *info = r->implicit ? NULL : restriction_by_kind(r->kind);
        if (info && stage >= 0) {
            int first = info->first;
            bool missing = false;
            if (first == POLICY_LIST_ETRN && stage != POLICY_LIST_ETRN)
                missing = true;
            else if (stage == POLICY_LIST_ETRN &&
                     (first == POLICY_LIST_SENDER || first == POLICY_LIST_RECIPIENT))
                missing = true;
            else if (!delay && stage <= POLICY_LIST_SENDER && first > stage &&
                     first != POLICY_LIST_ETRN)
                missing = true;
            if (missing)
                add(l, "wrong-stage", "warning", param,
                    "move it to the restriction list of the stage where that fact exists",
                    "%s: \"%s\" tests the %s, which %s does not have%s", param, r->text,
                    list_facts[first], param,
                    !delay && stage <= POLICY_LIST_SENDER ? " (smtpd_delay_reject = no)" : "");
        }
    }
    /* A permit for logged-in clients before reputation checks. */
    for (size_t i = 0; i < list->count; i++) {
        struct restriction *r = &list->items[i];
        const struct restriction *trust = trust_in(l, r, 0);
        if (trust == NULL)
            continue;
        for (size_t j = i + 1; j < list->count; j++) {
            const struct restriction *rep = reputation_in(l, &list->items[j], 0);
            if (rep == NULL)
                continue;
            char *fix = xasprintf("move \"%s\" (and the other DNSBL checks) before \"%s\"",
                                  rep->text, r->text);
            char *via = trust == r ? xstrdup("")
                                   : xasprintf(" (a restriction class with \"%s\")", trust->text);
            bool cert = trust->kind == R_PERMIT_TLS_CLIENTCERTS ||
                        trust->kind == R_PERMIT_TLS_ALL_CLIENTCERTS;
            add(l, "sasl-before-dnsbl", "error", param, fix,
                "%s: \"%s\"%s comes before \"%s\": a client that %s is never checked against "
                "the DNSBL, and may relay spam from a listed host",
                param, r->text, via, rep->text,
                cert ? "presents a stolen client certificate" : "logs in with a stolen password");
            free(via);
            free(fix);
            return;
        }
    }
}

/* ---- tables ---- */

/*
 * check_source_rules - the warnings a table read from a source file gives
 * while it is parsed (a regular expression that does not compile, a bad
 * CIDR block, a line without a value): those rules are skipped, so the
 * table works without them.  The engine's handle was opened quietly and
 * is shared, so this parses the file once more in a handle of its own.
 */
static void check_source_rules(struct linter *l, const char *spec, const char *param)
{
    struct buf warnings;
    buf_init(&warnings);
    log_capture(&warnings);
    struct table *t = table_open(spec, TABLE_OPEN_NOFOLD);
    log_capture(NULL);
    table_close(t);
    char *save, *line;
    int shown = 0;
    for (line = strtok_r(warnings.data ? warnings.data : (char *) "", "\n", &save);
         line && shown < 20; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "warning: ", 9) == 0)
            line += 9;
        add(l, "table-broken", "warning", param, "fix or remove the rule", "%s: %s: %s%s", param,
            spec, line, strstr(line, "skipping") ? "" : "; the rule is ignored");
        shown++;
    }
    buf_free(&warnings);
}

static void check_table_spec(struct linter *l, const char *spec, const char *param,
                             struct htable *seen)
{
    if (htable_contains(seen, spec))
        return;
    htable_put(seen, spec, NULL);
    const char *colon = strchr(spec, ':');
    if (colon == NULL)
        return;
    char *type = xstrndup(spec, (size_t) (colon - spec));
    const char *name = colon + 1;
    const struct table_type *tt = table_type_find(type);
    bool openable = tt != NULL;
    if (strcmp(type, "proxy") == 0) {
        /* postern has no proxymap.  The lookup-table parameters leave the
         * system's password file out (compile.c); anything else behind
         * proxy: is an unsupported table, as the engine sees it. */
        if (strstr(name, "passwd.byname") != NULL && str_suffix_nocase(param, "_maps")) {
            add(l, "table-missing", "warning", param,
                "list the local users in a table postern can read, e.g. hash:/etc/postern/users",
                "%s: %s (the system's users, through Postfix's proxymap) is not available in "
                "postern and is left out: a user who is in none of the other tables of %s is "
                "unknown",
                param, spec, param);
        } else {
            char *fix = xasprintf("postern reads tables itself: write %s without \"proxy:\"", name);
            add(l, "table-missing", "error", param, fix,
                "%s: table type \"proxy\" of %s is not supported; its lookups fail (451 4.3.5)",
                param, spec);
            free(fix);
            check_table_spec(l, name, param, seen);
        }
    } else if (tt == NULL) {
        add(l, "table-missing", "error", param, "use a table type from `postern conf -m`",
            "%s: table type \"%s\" of %s is not supported; its lookups fail (451 4.3.5)", param,
            type, spec);
    } else if (tt->flags & TABLE_T_INDEXED) {
        char *db = table_indexed_path(name);
        struct stat src, idx;
        bool have_src = stat(name, &src) == 0, have_idx = stat(db, &idx) == 0;
        char *fix = xasprintf("postern map %s", spec);
        if (!have_idx)
            add(l, "table-missing", "error", param, have_src ? fix : NULL,
                "%s: %s is not built: %s does not exist%s", param, spec, db,
                have_src ? "" : ", nor does its source");
        else if (have_src && (src.st_mtim.tv_sec > idx.st_mtim.tv_sec ||
                              (src.st_mtim.tv_sec == idx.st_mtim.tv_sec &&
                               src.st_mtim.tv_nsec > idx.st_mtim.tv_nsec)))
            add(l, "table-stale", "warning", param, fix,
                "%s: %s is older than its source %s: the server uses the old contents", param, db,
                name);
        /* An index that exists but cannot be opened (not an LMDB file,
         * unreadable) is broken, not missing. */
        openable = have_idx;
        free(fix);
        free(db);
    } else if (tt->flags & TABLE_T_SOURCE) {
        struct stat st;
        if (stat(name, &st) != 0) {
            add(l, "table-missing", "error", param, "create the file or fix the path",
                "%s: %s does not exist; its lookups fail (451 4.3.5)", param, spec);
            openable = false;
        }
    }
    if (openable) {
        struct table *t = table_open(spec, TABLE_OPEN_FOLD | TABLE_OPEN_QUIET);
        const char *err = table_open_error(t);
        if (err)
            add(l, "table-broken", "error", param, "fix the table", "%s: %s: %s", param, spec, err);
        else if (tt->flags & TABLE_T_SOURCE)
            check_source_rules(l, spec, param);
        table_close(t);
    }
    free(type);
}

/*
 * takes_tables - a parameter whose value can name lookup tables: restriction
 * lists and classes, the *_maps and *_checks tables, and the host and domain
 * match lists.  Other parameters hold "word:word" values that are no tables
 * (lmtp:unix:private/dovecot-lmtp, content_filter = amavis:[::1]:10024,
 * tls_random_source = dev:/dev/urandom, TLS session caches that the TLS
 * layer creates itself), and must not be reported as missing tables.
 */
static bool takes_tables(struct linter *l, const char *name)
{
    static const char *const lists[] = {
        "alias_database",
        "broken_sasl_auth_clients",
        "debug_peer_list",
        "fast_flush_domains",
        "local_header_rewrite_clients",
        "mydestination",
        "mynetworks",
        "permit_mx_backup_networks",
        "postscreen_access_list",
        "qmqpd_authorized_clients",
        "relay_clientcerts",
        "relay_domains",
        "smtpd_authorized_verp_clients",
        "smtpd_authorized_xclient_hosts",
        "smtpd_authorized_xforward_hosts",
        "smtpd_client_event_limit_exceptions",
        "smtpd_command_filter",
        "smtpd_sasl_exceptions_networks",
        "virtual_alias_domains",
        "virtual_mailbox_domains",
    };
    static const char *const suffixes[] = {"_maps", "_map", "_checks", "_restrictions"};
    for (size_t i = 0; i < ARRAY_LEN(lists); i++)
        if (strcmp(name, lists[i]) == 0)
            return true;
    for (size_t i = 0; i < ARRAY_LEN(suffixes); i++)
        if (str_suffix_nocase(name, suffixes[i]))
            return true;
    return htable_contains(l->p->classes, name);
}

/* check_tables - every type:table token of every table parameter set in main.cf */
static void check_tables(struct linter *l)
{
    struct htable *seen = htable_new(16);
    size_t n;
    const struct config_entry *e = config_entries(l->p->cfg, &n);
    for (size_t i = 0; i < n; i++) {
        if (!takes_tables(l, e[i].name))
            continue;
        const char *value = config_get(l->p->cfg, e[i].name);
        struct strlist toks;
        strlist_init(&toks);
        str_split_list(value, LIST_SEPS, &toks, NULL);
        for (size_t k = 0; k < toks.count; k++) {
            const char *t = toks.items[k];
            if (k > 0 && strcasecmp(toks.items[k - 1], "check_policy_service") == 0)
                continue;
            if (!is_table_spec(t) || strncmp(t, "inet:", 5) == 0)
                continue;
            if (strncmp(t, "unionmap:", 9) == 0 || strncmp(t, "pipemap:", 8) == 0) {
                char *inner = xstrdup(strchr(t, ':') + 1);
                struct strlist parts;
                strlist_init(&parts);
                str_split_list(str_strip_braces(inner), LIST_SEPS, &parts, NULL);
                for (size_t m = 0; m < parts.count; m++)
                    check_table_spec(l, parts.items[m], e[i].name, seen);
                strlist_free(&parts);
                free(inner);
                continue;
            }
            check_table_spec(l, t, e[i].name, seen);
        }
        strlist_free(&toks);
    }
    htable_free(seen, NULL);
}

/* ---- probes through the engine ---- */

/* probe_dns - a world where every name exists, except DNSBL listings */
static struct dns_answer *probe_dns(struct linter *l, const char *name, enum dns_type type)
{
    struct dns_answer *a = xcalloc(1, sizeof(*a));
    a->expires = clock_wall() + 3600;
    bool dnsbl = false;
    for (size_t i = 0; i < l->zones.count && !dnsbl; i++)
        dnsbl = str_suffix_nocase(name, l->zones.items[i]);
    if (dnsbl || type == DNS_T_TXT || type == DNS_T_PTR) {
        a->status = DNS_NOTFOUND;
        a->nxdomain = true;
        return a;
    }
    a->status = DNS_OK;
    switch (type) {
    case DNS_T_A: dns_answer_add(a, type, 3600, 0, "192.0.2.10"); break;
    case DNS_T_AAAA: dns_answer_add(a, type, 3600, 0, "2001:db8::10"); break;
    case DNS_T_MX: {
        char *mx = xasprintf("mx.%s", name);
        dns_answer_add(a, type, 3600, 10, mx);
        free(mx);
        break;
    }
    case DNS_T_NS: {
        char *ns = xasprintf("ns.%s", name);
        dns_answer_add(a, type, 3600, 0, ns);
        free(ns);
        break;
    }
    default: a->status = DNS_NOTFOUND;
    }
    return a;
}

static enum policy_status settle(struct linter *l, struct policy_session *s, enum policy_status st,
                                 int kind, const char *arg, struct policy_result *r)
{
    for (int rounds = 0; st == POLICY_PENDING && rounds < 200; rounds++) {
        size_t n;
        const struct policy_request *req = policy_pending(s, &n);
        for (size_t i = 0; i < n; i++) {
            if (req[i].type == POLICY_REQ_DNS) {
                struct dns_answer *a = probe_dns(l, req[i].name, req[i].dns_type);
                policy_provide_dns(s, req[i].name, req[i].dns_type, a);
                dns_answer_free(a);
            } else if (req[i].type == POLICY_REQ_SERVICE) {
                policy_provide_service(s, req[i].id, "DUNNO");
            } else {
                policy_provide_sleep(s, req[i].id);
            }
        }
        switch (kind) {
        case 0: st = policy_check_client(s, r); break;
        case 1: st = policy_check_helo(s, arg, r); break;
        case 2: st = policy_check_mail(s, arg, r); break;
        default: st = policy_check_rcpt(s, arg, r); break;
        }
    }
    return st;
}

/* probe - would an outside client get sender past RCPT recipient? */
static bool probe(struct linter *l, const char *sender, const char *recipient, char *why,
                  size_t why_len)
{
    struct policy_session *s = policy_session_new(l->p);
    const char *addr = "192.0.2.1";
    if (match_list_match(l->p->mynetworks, "mail.example.net", addr) > 0)
        addr = "198.51.100.1";
    policy_set_client(s, addr, 40000, "mail.example.net", PEER_OK, "mail.example.net", PEER_OK);
    policy_set_peer_address(s, addr);
    policy_set_protocol(s, "ESMTP");
    struct policy_result r;
    bool accepted = false;
    enum policy_status st;
    if (!l->p->delay_reject) {
        st = settle(l, s, policy_check_client(s, &r), 0, NULL, &r);
        if (st != POLICY_OK)
            goto done;
        st = settle(l, s, policy_check_helo(s, "mail.example.net", &r), 1, "mail.example.net", &r);
        if (st != POLICY_OK)
            goto done;
    }
    policy_set_helo(s, "mail.example.net");
    if (!l->p->delay_reject) {
        st = settle(l, s, policy_check_mail(s, sender, &r), 2, sender, &r);
        if (st != POLICY_OK)
            goto done;
    }
    policy_accept_mail(s, sender);
    st = settle(l, s, policy_check_rcpt(s, recipient, &r), 3, recipient, &r);
    accepted = st == POLICY_OK;
done:
    snprintf(why, why_len, "%s", accepted ? "" : r.reply);
    policy_session_free(s);
    return accepted;
}

/* user_key - key as a user of domain: "user@domain" keys, and bare local
 * parts when bare is set (local_recipient_maps); allocated, or NULL */
static char *user_key(const char *key, const char *domain, bool bare)
{
    if (*key == 0 || key[0] == '@' || key[strcspn(key, " \t\"/\\()<>,;:[]")] != 0)
        return NULL;
    const char *at = strrchr(key, '@');
    if (at == NULL)
        return bare ? xasprintf("%s@%s", key, domain) : NULL;
    if (strcasecmp(at + 1, domain) != 0 || strchr(key, '@') != at)
        return NULL;
    return xstrdup(key);
}

/* known_user - an address in domain that the recipient tables list, so
 * that a probe's recipient is not refused as unknown (NULL: none found) */
static char *known_user(struct linter *l, const char *domain)
{
    struct {
        struct table **maps;
        size_t n;
        bool bare;
    } sets[] = {
        {l->p->virtual_alias_maps, l->p->n_virtual_alias_maps, false},
        {l->p->virtual_mailbox_maps, l->p->n_virtual_mailbox_maps, false},
        {l->p->local_recipient_maps, l->p->n_local_recipient_maps, true},
    };
    for (size_t k = 0; k < ARRAY_LEN(sets); k++) {
        for (size_t m = 0; m < sets[k].n; m++) {
            struct table *t = sets[k].maps[m];
            if (!(table_flags(t) & TABLE_T_FIXED))
                continue;
            const char *key, *value;
            int count = 0;
            for (bool first = true; count < 10000 && table_sequence(t, first, &key, &value) == 0;
                 first = false, count++) {
                char *user = user_key(key, domain, sets[k].bare);
                if (user)
                    return user;
            }
        }
    }
    return NULL;
}

static void check_spoofing(struct linter *l)
{
    struct strlist domains;
    strlist_init(&domains);
    const char *params[] = {"mydestination", "virtual_alias_domains", "virtual_mailbox_domains"};
    /* The machine's own names (localhost, $myhostname) are local domains
     * too, but the ones people get mail at are the others; the host name
     * is probed only when it is the only one. */
    const char *host = l->p->myhostname;
    const char *host_listed = NULL; /* where */
    const char *from[20];           /* where each domain is listed */
    for (size_t i = 0; i < ARRAY_LEN(params); i++) {
        struct strlist v;
        strlist_init(&v);
        config_get_list(l->p->cfg, params[i], &v);
        for (size_t k = 0; k < v.count && domains.count < 20; k++) {
            const char *d = v.items[k];
            if (is_table_spec(d) || d[0] == '/' || d[0] == '!' || strchr(d, '.') == NULL ||
                str_prefix_nocase(d, "localhost"))
                continue;
            if (strcasecmp(d, host) == 0) {
                host_listed = params[i];
                continue;
            }
            from[domains.count] = params[i];
            strlist_add(&domains, d);
        }
        strlist_free(&v);
    }
    if (domains.count == 0 && host_listed) {
        from[0] = host_listed;
        strlist_add(&domains, host);
    }
    bool sender_set = config_is_set(l->p->cfg, "smtpd_sender_restrictions");
    for (size_t i = 0; i < domains.count; i++) {
        const char *where = sender_set ? "smtpd_sender_restrictions" : from[i];
        char *sender = xasprintf("postmaster@%s", domains.items[i]);
        char why[600];
        bool accepted = probe(l, sender, sender, why, sizeof(why));
        if (!accepted) {
            /* postmaster may be an unknown recipient (a virtual domain
             * without that alias): try a user the tables know. */
            char *user = known_user(l, domains.items[i]);
            if (user && strcasecmp(user, sender) != 0) {
                free(sender);
                sender = user;
                user = NULL;
                accepted = probe(l, sender, sender, why, sizeof(why));
            }
            free(user);
        }
        if (accepted) {
            add(l, "local-sender-spoofing", "error", where,
                "reject local domains as senders for clients that are not logged in: after "
                "permit_sasl_authenticated and permit_mynetworks, add \"check_sender_access "
                "hash:/etc/postern/localdomains\" listing each local domain with REJECT, or use "
                "reject_sender_login_mismatch with smtpd_sender_login_maps",
                "an outside client that is not logged in may use the local domain %s as its "
                "envelope sender (MAIL FROM:<%s> to a local recipient is accepted)",
                domains.items[i], sender);
            free(sender);
            break;
        }
        free(sender);
    }
    strlist_free(&domains);
}

/*
 * guards_relay - the list ends every relay attempt that reaches it from an
 * outside client: a relay check (or an unconditional reject) that no
 * unconditional permit precedes.  Permits that outside clients control are
 * reported on their own; this only tells whether a later list matters.
 */
static bool guards_relay(struct linter *l, const struct restriction_list *list, int depth)
{
    if (list == NULL || depth > 20)
        return false;
    for (size_t i = 0; i < list->count; i++) {
        const struct restriction *r = &list->items[i];
        switch (r->kind) {
        case R_WARN_IF_REJECT: i++; break; /* the next one only warns */
        case R_PERMIT: return false;
        case R_REJECT_UNAUTH_DESTINATION:
        case R_DEFER_UNAUTH_DESTINATION:
        case R_CHECK_RELAY_DOMAINS:
        case R_REJECT:
        case R_DEFER: return true;
        case R_CLASS:
            if (guards_relay(l, htable_get(l->p->classes, r->name), depth + 1))
                return true;
            break;
        default: break;
        }
    }
    return false;
}

static void check_relay(struct linter *l)
{
    char why[600];
    /* probe() takes an outside address that is not in mynetworks, unless
     * mynetworks has them all */
    bool everyone = match_list_match(l->p->mynetworks, "mail.example.net", "192.0.2.1") > 0 &&
                    match_list_match(l->p->mynetworks, "mail.example.net", "198.51.100.1") > 0;
    if (probe(l, "someone@example.com", "victim@relay-test.invalid", why, sizeof(why))) {
        if (everyone && config_is_set(l->p->cfg, "mynetworks"))
            add(l, "open-relay", "error", "mynetworks",
                "list only the networks of your own clients in mynetworks",
                "any outside client may relay: mynetworks includes outside addresses such as "
                "192.0.2.1 and 198.51.100.1, and mail from <someone@example.com> to "
                "<victim@relay-test.invalid> is accepted");
        else
            add(l, "open-relay", "error",
                config_is_set(l->p->cfg, "smtpd_relay_restrictions")
                    ? "smtpd_relay_restrictions"
                    : "smtpd_recipient_restrictions",
                "put reject_unauth_destination (or defer_unauth_destination) before any permit "
                "that outside clients can reach",
                "any outside client may relay: mail from <someone@example.com> to "
                "<victim@relay-test.invalid> is accepted");
    }
    /* Permits that client-controlled facts can trigger before the relay
     * check.  The recipient list is reached only when the relay list did
     * not reject, so when the relay list has its own working relay check,
     * an OK in the recipient list lets nobody relay. */
    enum policy_list lists[] = {POLICY_LIST_RELAY, POLICY_LIST_RECIPIENT};
    for (size_t k = 0; k < ARRAY_LEN(lists); k++) {
        struct restriction_list *list = l->p->lists[lists[k]];
        if (list == NULL)
            continue;
        if (lists[k] == POLICY_LIST_RECIPIENT && guards_relay(l, l->p->lists[POLICY_LIST_RELAY], 0))
            continue;
        for (size_t i = 0; i < list->count; i++) {
            struct restriction *r = &list->items[i];
            if (r->kind == R_REJECT_UNAUTH_DESTINATION || r->kind == R_DEFER_UNAUTH_DESTINATION)
                break;
            bool sender_controlled =
                r->kind == R_CHECK_SENDER_ACCESS || r->kind == R_CHECK_HELO_ACCESS;
            if (!sender_controlled || r->table == NULL)
                continue;
            const char *key, *value;
            for (bool first = true; table_sequence(r->table, first, &key, &value) == 0;
                 first = false) {
                size_t n = strcspn(value, " \t");
                bool ok = (n == 2 && strncasecmp(value, "OK", 2) == 0) ||
                          (n == 5 && strncasecmp(value, "RELAY", 5) == 0) ||
                          (n > 0 && strspn(value, "0123456789") == n);
                if (ok) {
                    add(l, "open-relay", "error", list->name,
                        "never permit by sender or HELO name before reject_unauth_destination; "
                        "use DUNNO, or move the check after the relay check",
                        "%s: \"%s\" permits key \"%s\" (%s) before the relay check: anyone who "
                        "claims that %s may relay",
                        list->name, r->text, key, value,
                        r->kind == R_CHECK_SENDER_ACCESS ? "sender" : "HELO name");
                    break;
                }
            }
        }
    }
}

static void collect_zones(struct linter *l, struct restriction_list *list)
{
    for (size_t i = 0; list && i < list->count; i++) {
        const struct restriction_info *info = restriction_by_kind(list->items[i].kind);
        if (info && info->arg == ARG_DOMAIN && list->items[i].arg) {
            char *z = xasprintf(".%s", list->items[i].arg);
            char *eq = strchr(z, '=');
            if (eq)
                *eq = 0;
            strlist_add_owned(&l->zones, z);
        }
    }
}

/*
 * config_error - an error of config_check or the compiler, placed where it
 * comes from: "FILE, line N: text" gives its file and line; otherwise a
 * text about a parameter (or a restriction class) is placed at that
 * parameter.  The compiler repeats some config_check errors without their
 * location; those are reported once.
 */
static void config_error(struct linter *l, const char *msg, struct strlist *seen)
{
    const char *text = msg, *file = NULL;
    int line = 0;
    const char *mark = strstr(msg, ", line ");
    if (mark && isdigit((unsigned char) mark[7])) {
        char *end;
        long n = strtol(mark + 7, &end, 10);
        if (end[0] == ':' && end[1] == ' ' && n > 0 && n < 1000000) {
            file = msg;
            line = (int) n;
            text = end + 2;
        }
    }
    for (size_t i = 0; i < seen->count; i++)
        if (strcmp(seen->items[i], text) == 0)
            return;
    strlist_add(seen, text);
    /* the parameter: set on that line, "name: ...", or a restriction class */
    char *param = NULL;
    size_t n = strcspn(text, ": "), count;
    const struct config_entry *en = config_entries(l->p->cfg, &count);
    for (size_t i = 0; file && i < count && param == NULL; i++)
        if (en[i].line == line && en[i].file && strlen(en[i].file) == (size_t) (mark - file) &&
            strncmp(en[i].file, file, (size_t) (mark - file)) == 0)
            param = xstrdup(en[i].name);
    if (param) {
        /* found on its line */
    } else if (text[n] == ':' && n > 0) {
        param = xstrndup(text, n);
    } else if (strncmp(text, "restriction class `", 19) == 0) {
        param = xstrdup("smtpd_restriction_classes");
    } else if (strstr(text, "smtpd_relay_restrictions or smtpd_recipient_restrictions")) {
        param = xstrdup(config_is_set(l->p->cfg, "smtpd_relay_restrictions")
                            ? "smtpd_relay_restrictions"
                            : "smtpd_recipient_restrictions");
    }
    if (param && !config_is_set(l->p->cfg, param)) {
        free(param);
        param = NULL;
    }
    add(l, "config-error", "error", param, NULL, "%s", text);
    struct lint_finding *f = &l->out->items[l->out->count - 1];
    if (file) {
        free(f->file);
        f->file = xstrndup(file, (size_t) (mark - file));
        f->line = line;
    }
    free(param);
}

void policy_lint(struct policy *p, const struct strlist *compile_errors, struct lint_report *out)
{
    struct linter l = {.p = p, .out = out};
    memset(out, 0, sizeof(*out));
    strlist_init(&l.zones);
    for (int s = 0; s < POLICY_LIST_COUNT; s++)
        collect_zones(&l, p->lists[s]);
    {
        struct htable_iter zit = {0};
        void *v;
        while (htable_next(p->classes, &zit, NULL, &v))
            collect_zones(&l, v);
    }
    struct strlist seen_errors;
    strlist_init(&seen_errors);
    for (size_t i = 0; compile_errors && i < compile_errors->count; i++)
        config_error(&l, compile_errors->items[i], &seen_errors);
    strlist_free(&seen_errors);
    for (int s = 0; s < POLICY_LIST_COUNT; s++)
        if (p->lists[s])
            check_list(&l, p->lists[s], s, p->list_param[s]);
    struct htable_iter it = {0};
    const char *name;
    void *value;
    while (htable_next(p->classes, &it, &name, &value))
        if (value)
            check_list(&l, value, -1, name);
    check_tables(&l);
    check_spoofing(&l);
    check_relay(&l);
    strlist_free(&l.zones);
}
