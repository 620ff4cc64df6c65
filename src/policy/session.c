/*
 * session - the facts one SMTP session gives the engine, the engine's
 * state across its stages, and the bookkeeping of facts asked for and
 * provided between passes (DNS answers, policy server replies, sleeps).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy_int.h"

void trace_buffer_free(struct trace_buffer *tb);

struct policy_session *policy_session_new(struct policy *p)
{
    struct policy_session *s = xcalloc(1, sizeof(*s));
    s->p = p;
    s->arena = arena_new(4096);
    s->addr = arena_strdup(s->arena, "unknown");
    s->name = arena_strdup(s->arena, "unknown");
    s->reverse_name = arena_strdup(s->arena, "unknown");
    s->namaddr = arena_strdup(s->arena, "unknown[unknown]");
    s->name_status = PEER_PERM;
    s->reverse_status = PEER_PERM;
    s->sasl_enabled = p->sasl_auth_enable;
    strlist_init(&s->log);
    strlist_init(&s->bcc);
    strlist_init(&s->prepend);
    return s;
}

void policy_session_free(struct policy_session *s)
{
    if (s == NULL)
        return;
    policy_forget_facts(s);
    free(s->pending);
    free(s->facts);
    free(s->services);
    free(s->sleeps_done);
    strlist_free(&s->log);
    strlist_free(&s->bcc);
    strlist_free(&s->prepend);
    trace_buffer_free(s->trace_buf);
    arena_free(s->arena);
    free(s);
}

static char *dup(struct policy_session *s, const char *v)
{
    return v ? arena_strdup(s->arena, v) : NULL;
}

void policy_set_client(struct policy_session *s, const char *addr, unsigned port, const char *name,
                       enum peer_status name_status, const char *reverse_name,
                       enum peer_status reverse_status)
{
    s->addr = dup(s, addr ? addr : "unknown");
    s->port = port;
    s->name = dup(s, name && *name ? name : "unknown");
    s->name_status = name_status;
    s->reverse_name = dup(s, reverse_name && *reverse_name ? reverse_name : "unknown");
    s->reverse_status = reverse_status;
    s->namaddr = arena_printf(s->arena, "%s[%s]", s->name, s->addr);
    if (s->peer_addr == NULL)
        s->peer_addr = s->addr;
}

void policy_set_peer_address(struct policy_session *s, const char *addr)
{
    s->peer_addr = dup(s, addr);
}

void policy_set_server(struct policy_session *s, const char *addr, unsigned port)
{
    s->server_addr = dup(s, addr);
    s->server_port = port;
}

void policy_set_protocol(struct policy_session *s, const char *protocol)
{
    s->protocol = dup(s, protocol);
}

void policy_set_helo(struct policy_session *s, const char *helo)
{
    s->helo = dup(s, helo);
}

void policy_set_sasl(struct policy_session *s, const char *method, const char *username,
                     const char *sender)
{
    s->sasl_method = dup(s, method);
    s->sasl_username = dup(s, username);
    s->sasl_sender = dup(s, sender);
}

void policy_set_sasl_enabled(struct policy_session *s, bool enabled)
{
    s->sasl_enabled = enabled;
}

void policy_set_tls(struct policy_session *s, const struct policy_tls *tls)
{
    s->tls_active = tls != NULL;
    memset(&s->tls, 0, sizeof(s->tls));
    if (tls) {
        s->tls = *tls;
        s->tls.protocol = dup(s, tls->protocol);
        s->tls.cipher = dup(s, tls->cipher);
        s->tls.peer_cn = dup(s, tls->peer_cn);
        s->tls.issuer_cn = dup(s, tls->issuer_cn);
        s->tls.cert_fingerprint = dup(s, tls->cert_fingerprint);
        s->tls.pkey_fingerprint = dup(s, tls->pkey_fingerprint);
    }
}

void policy_set_pipelining_violation(struct policy_session *s, bool violated)
{
    s->ill_pipelining = violated;
}

void policy_set_queue_id(struct policy_session *s, const char *queue_id)
{
    s->queue_id = dup(s, queue_id);
}

void policy_set_message_size(struct policy_session *s, long size)
{
    s->msg_size = size;
}

void policy_set_instance(struct policy_session *s, const char *instance)
{
    s->instance = dup(s, instance);
}

void policy_set_command(struct policy_session *s, const char *verb)
{
    s->command_name = verb;
}

void policy_transaction_reset(struct policy_session *s)
{
    s->sender = NULL;
    s->recipient = NULL;
    s->rcpt_count = 0;
    s->queue_id = NULL;
    s->msg_size = 0;
    s->st.discard = false;
    s->st.hold = false;
    s->st.filter = NULL;
    s->st.redirect = NULL;
    strlist_free(&s->bcc);
    strlist_free(&s->prepend);
}

void policy_accept_mail(struct policy_session *s, const char *sender)
{
    s->sender = dup(s, sender);
}

void policy_accept_rcpt(struct policy_session *s, const char *recipient)
{
    s->rcpt_count++;
    s->recipient = arena_strdup(s->arena, recipient);
}

int policy_rcpt_count(const struct policy_session *s)
{
    return s->rcpt_count;
}

const char *policy_client_name(const struct policy_session *s)
{
    return s->name;
}

const char *policy_client_addr(const struct policy_session *s)
{
    return s->addr;
}

const char *policy_client_namaddr(const struct policy_session *s)
{
    return s->namaddr;
}

const char *policy_helo(const struct policy_session *s)
{
    return s->helo;
}

const char *policy_sender(const struct policy_session *s)
{
    return s->sender;
}

const char *policy_sasl_username(const struct policy_session *s)
{
    return s->sasl_username;
}

void policy_actions(const struct policy_session *s, struct policy_actions *out)
{
    out->discard = s->st.discard;
    out->hold = s->st.hold;
    out->filter = s->st.filter;
    out->redirect = s->st.redirect;
    out->bcc = &s->bcc;
    out->prepend = &s->prepend;
}

const struct strlist *policy_log_lines(const struct policy_session *s)
{
    return &s->log;
}

void policy_set_trace(struct policy_session *s, policy_trace_fn fn, void *ctx)
{
    s->trace_fn = fn;
    s->trace_ctx = ctx;
}

void policy_set_dns_resolver(struct policy_session *s, struct dns_resolver *r)
{
    s->resolver = r;
}

/* ---- facts asked for and provided ---- */

void policy_add_pending(struct policy_session *s, const struct policy_request *req)
{
    for (size_t i = 0; i < s->n_pending; i++) {
        const struct policy_request *p = &s->pending[i];
        if (p->type == req->type && p->id == req->id && p->dns_type == req->dns_type &&
            ((p->name == NULL && req->name == NULL) ||
             (p->name && req->name && strcmp(p->name, req->name) == 0)))
            return;
    }
    s->pending = xreallocarray(s->pending, s->n_pending + 1, sizeof(*s->pending));
    struct policy_request *n = &s->pending[s->n_pending++];
    *n = *req;
    n->name = req->name ? arena_strdup(s->arena, req->name) : NULL;
    n->request = req->request ? arena_strdup(s->arena, req->request) : NULL;
}

const struct policy_request *policy_pending(const struct policy_session *s, size_t *count)
{
    *count = s->n_pending;
    return s->pending;
}

void policy_provide_dns(struct policy_session *s, const char *name, enum dns_type type,
                        const struct dns_answer *answer)
{
    for (size_t i = 0; i < s->n_facts; i++) {
        if (s->facts[i].type == type && strcasecmp(s->facts[i].name, name) == 0) {
            dns_answer_free(s->facts[i].answer);
            s->facts[i].answer = dns_answer_copy(answer);
            return;
        }
    }
    s->facts = xreallocarray(s->facts, s->n_facts + 1, sizeof(*s->facts));
    s->facts[s->n_facts].name = xstrdup(name);
    s->facts[s->n_facts].type = type;
    s->facts[s->n_facts].answer = dns_answer_copy(answer);
    s->n_facts++;
}

void policy_provide_service(struct policy_session *s, unsigned id, const char *action)
{
    s->services = xreallocarray(s->services, s->n_services + 1, sizeof(*s->services));
    struct service_reply *r = &s->services[s->n_services++];
    memset(r, 0, sizeof(*r));
    r->id = id;
    r->action = action ? xstrdup(action) : NULL;
    r->done = true;
}

void policy_provide_sleep(struct policy_session *s, unsigned id)
{
    if (id >= s->n_sleeps) {
        s->sleeps_done = xreallocarray(s->sleeps_done, id + 1, sizeof(bool));
        for (size_t i = s->n_sleeps; i <= id; i++)
            s->sleeps_done[i] = false;
        s->n_sleeps = id + 1;
    }
    s->sleeps_done[id] = true;
}

void policy_forget_facts(struct policy_session *s)
{
    free(s->rbl_rev);
    s->rbl_rev = NULL;
    s->rbl_rev_addr = NULL;
    free(s->dns_memo_name);
    s->dns_memo_name = NULL;
    s->dns_memo_answer = NULL;
    for (size_t i = 0; i < s->n_facts; i++) {
        free(s->facts[i].name);
        dns_answer_free(s->facts[i].answer);
    }
    s->n_facts = 0;
    for (size_t i = 0; i < s->n_services; i++)
        free(s->services[i].action);
    s->n_services = 0;
    s->n_sleeps = 0;
}

const struct dns_answer *need_dns(struct eval *e, const char *name, enum dns_type type)
{
    struct policy_session *s = e->s;
    const struct dns_answer *a = NULL;
    for (size_t i = 0; i < s->n_facts && a == NULL; i++)
        if (s->facts[i].type == type && strcasecmp(s->facts[i].name, name) == 0)
            a = s->facts[i].answer;
    if (a == NULL && s->dns_memo_name && s->dns_memo_type == type &&
        strcmp(s->dns_memo_name, name) == 0)
        a = s->dns_memo_answer;
    if (a == NULL && s->resolver) {
        a = dns_lookup_cached(s->resolver, name, type);
        if (a) {
            /* valid until the check ends: nothing changes the cache before */
            free(s->dns_memo_name);
            s->dns_memo_name = xstrdup(name);
            s->dns_memo_type = type;
            s->dns_memo_answer = a;
        }
    }
    if (a == NULL) {
        struct policy_request req = {.type = POLICY_REQ_DNS, .name = name, .dns_type = type};
        policy_add_pending(s, &req);
        return NULL;
    }
    if (s->trace_fn == NULL)
        return a; /* the trace text below costs more than the cached lookup */
    char what[300];
    snprintf(what, sizeof(what), "%s %s", name, dns_type_name(type));
    struct buf v;
    buf_init(&v);
    for (struct dns_rr *rr = a->status == DNS_OK ? a->rrs : NULL; rr; rr = rr->next) {
        if (v.len)
            buf_puts(&v, ", ");
        if (rr->type == DNS_T_MX)
            buf_printf(&v, "%u ", rr->pref);
        buf_puts(&v, rr->data);
    }
    trace(e, POLICY_TRACE_DNS, NULL, NULL, what, v.len ? v.data : NULL, dns_status_name(a->status),
          NULL);
    buf_free(&v);
    return a;
}

/* ---- macros for reply templates ---- */

struct expand_ctx {
    struct policy_session *s;
    const char *where;
};

static const char *expand_lookup(void *arg, const char *name)
{
    struct expand_ctx *c = arg;
    const char *v = policy_macro(c->s, c->where, name);
    return v ? policy_filter_value(c->s, v) : NULL;
}

char *policy_expand(struct policy_session *s, const char *where, const char *template)
{
    struct expand_ctx c = {.s = s, .where = where};
    struct buf out;
    buf_init(&out);
    char *err = NULL;
    if (expand(template, expand_lookup, &c, &out, &err) == -1) {
        free(err);
        buf_free(&out);
        return NULL;
    }
    return buf_steal(&out);
}

const char *policy_macro(struct policy_session *s, const char *where, const char *name)
{
    static char num[32];
    if (strcmp(name, "client_address") == 0)
        return s->addr;
    if (strcmp(name, "client_name") == 0)
        return s->name;
    if (strcmp(name, "client_port") == 0) {
        if (s->port == 0)
            return "unknown"; /* not known (XCLIENT PORT=[UNAVAILABLE]) */
        snprintf(num, sizeof(num), "%u", s->port);
        return num;
    }
    if (strcmp(name, "reverse_client_name") == 0)
        return s->reverse_name;
    if (strcmp(name, "helo_name") == 0)
        return s->helo;
    if (strcmp(name, "sender") == 0)
        return s->sender;
    if (strcmp(name, "sender_name") == 0 || strcmp(name, "sender_domain") == 0) {
        if (s->sender == NULL)
            return NULL;
        const char *at = strrchr(s->sender, '@');
        if (name[7] == 'd')
            return at ? at + 1 : "";
        return at ? arena_strndup(s->arena, s->sender, (size_t) (at - s->sender)) : s->sender;
    }
    if (strcmp(name, "recipient") == 0)
        return s->recipient;
    if (strcmp(name, "recipient_name") == 0 || strcmp(name, "recipient_domain") == 0) {
        if (s->recipient == NULL)
            return NULL;
        const char *at = strrchr(s->recipient, '@');
        if (name[10] == 'd')
            return at ? at + 1 : "";
        return at ? arena_strndup(s->arena, s->recipient, (size_t) (at - s->recipient))
                  : s->recipient;
    }
    if (strcmp(name, "protocol_name") == 0)
        return s->protocol;
    if (strcmp(name, "protocol_state") == 0 || strcmp(name, "smtpd_command") == 0)
        return where;
    if (strcmp(name, "queue_id") == 0)
        return s->queue_id;
    if (strcmp(name, "sasl_method") == 0)
        return s->sasl_method;
    if (strcmp(name, "sasl_username") == 0)
        return s->sasl_username;
    if (strcmp(name, "sasl_sender") == 0)
        return s->sasl_sender;
    const char *v = config_raw(s->p->cfg, name);
    return v ? config_get(s->p->cfg, name) : NULL;
}

const char *policy_filter_value(struct policy_session *s, const char *value)
{
    char *copy = arena_strdup(s->arena, value);
    for (char *c = copy; *c; c++)
        if (!s->p->expansion_allowed[(unsigned char) *c])
            *c = '_';
    return copy;
}
