/*
 * service - check_policy_service: the request in Postfix's policy delegation
 * protocol (name=value lines, an empty line) built from the session's
 * facts, and the reply's action applied like an access-table result.  The
 * network conversation itself is the caller's (see policy_client.h); when
 * the server does not answer, smtpd_policy_service_default_action applies.
 *
 * The argument is "inet:host:port" or "unix:/path", or Postfix 3's
 * "{ endpoint, timeout=..., default_action=..., policy_context=... }".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy_int.h"

struct service_spec {
    char *endpoint;
    const char *default_action;
    const char *context;
};

static void parse_spec(struct eval *e, const char *arg, struct service_spec *out)
{
    out->endpoint = NULL;
    out->default_action = e->p->policy_default_action;
    out->context = config_get(e->p->cfg, "smtpd_policy_service_policy_context");
    if (arg[0] != '{') {
        out->endpoint = arena_strdup(e->s->arena, arg);
        return;
    }
    char *copy = arena_strdup(e->s->arena, arg);
    char *inner = str_strip_braces(copy);
    struct strlist items;
    strlist_init(&items);
    str_split_list(inner, ",", &items, NULL);
    for (size_t i = 0; i < items.count; i++) {
        char *it = str_trim(str_strip_braces(str_trim(items.items[i])));
        char *eq = strchr(it, '=');
        if (out->endpoint == NULL && eq == NULL) {
            out->endpoint = arena_strdup(e->s->arena, it);
        } else if (eq) {
            *eq = 0;
            char *name = str_trim(it), *value = str_trim(eq + 1);
            if (strcmp(name, "default_action") == 0)
                out->default_action = arena_strdup(e->s->arena, value);
            else if (strcmp(name, "policy_context") == 0)
                out->context = arena_strdup(e->s->arena, value);
        }
    }
    strlist_free(&items);
    if (out->endpoint == NULL)
        out->endpoint = arena_strdup(e->s->arena, "");
}

static void attr(struct buf *b, const char *name, const char *value)
{
    buf_printf(b, "%s=", name);
    /* Values never carry line breaks into the protocol. */
    for (const char *c = value ? value : ""; *c; c++)
        buf_putc(b, *c == '\n' || *c == '\r' ? ' ' : *c);
    buf_putc(b, '\n');
}

static char *build_request(struct eval *e, const struct service_spec *spec)
{
    struct policy_session *s = e->s;
    struct buf b;
    buf_init(&b);
    char num[32];
    attr(&b, "request", "smtpd_access_policy");
    attr(&b, "protocol_state", e->where);
    attr(&b, "protocol_name", s->protocol ? s->protocol : "SMTP");
    attr(&b, "client_address", s->addr);
    attr(&b, "client_name", s->name);
    snprintf(num, sizeof(num), "%u", s->port);
    attr(&b, "client_port", num);
    attr(&b, "reverse_client_name", s->reverse_name);
    attr(&b, "server_address", s->server_addr);
    snprintf(num, sizeof(num), "%u", s->server_port);
    attr(&b, "server_port", num);
    attr(&b, "helo_name", s->helo);
    attr(&b, "sender", s->sender);
    attr(&b, "recipient", s->recipient);
    bool counts = strcmp(e->where, "DATA") == 0 || strcmp(e->where, "END-OF-MESSAGE") == 0;
    snprintf(num, sizeof(num), "%d", counts ? s->rcpt_count : 0);
    attr(&b, "recipient_count", num);
    attr(&b, "queue_id", s->queue_id);
    attr(&b, "instance", s->instance);
    snprintf(num, sizeof(num), "%ld", s->msg_size);
    attr(&b, "size", num);
    attr(&b, "etrn_domain", s->etrn_name);
    attr(&b, "stress", "");
    attr(&b, "sasl_method", s->sasl_method);
    attr(&b, "sasl_username", s->sasl_username);
    attr(&b, "sasl_sender", s->sasl_sender);
    bool trusted = s->tls_active && s->tls.cert_trusted;
    attr(&b, "ccert_subject", trusted ? s->tls.peer_cn : "");
    attr(&b, "ccert_issuer", trusted ? s->tls.issuer_cn : "");
    attr(&b, "ccert_fingerprint", s->tls_active ? s->tls.cert_fingerprint : "");
    attr(&b, "ccert_pubkey_fingerprint", s->tls_active ? s->tls.pkey_fingerprint : "");
    attr(&b, "encryption_protocol", s->tls_active ? s->tls.protocol : "");
    attr(&b, "encryption_cipher", s->tls_active ? s->tls.cipher : "");
    snprintf(num, sizeof(num), "%d", s->tls_active ? s->tls.cipher_bits : 0);
    attr(&b, "encryption_keysize", num);
    attr(&b, "policy_context", spec->context);
    attr(&b, "compatibility_level", config_get(e->p->cfg, "compatibility_level"));
    attr(&b, "mail_version", POSTERN_VERSION);
    buf_putc(&b, '\n');
    return buf_steal(&b);
}

int check_policy_service(struct eval *e, struct restriction *r, const char *reply_name,
                         const char *reply_class, enum restriction_kind def_acl)
{
    struct policy_session *s = e->s;
    struct service_spec spec;
    parse_spec(e, r->arg, &spec);
    char *request = build_request(e, &spec);
    unsigned index = (unsigned) e->service_index++;
    struct service_reply *reply = NULL;
    for (size_t i = 0; i < s->n_services; i++)
        if (s->services[i].id == index && s->services[i].done)
            reply = &s->services[i];
    if (reply == NULL) {
        struct policy_request req = {
            .type = POLICY_REQ_SERVICE, .name = spec.endpoint, .request = request, .id = index};
        policy_add_pending(s, &req);
        free(request);
        return CHECK_PENDING;
    }
    free(request);
    const char *action = reply->action;
    if (action == NULL) {
        trace(e, POLICY_TRACE_NOTE, NULL, spec.endpoint, NULL, NULL, NULL,
              "no answer from the policy server: default action");
        return check_table_result(e, spec.endpoint, spec.default_action, "policy query", reply_name,
                                  reply_class, def_acl);
    }
    trace(e, POLICY_TRACE_LOOKUP, NULL, spec.endpoint, "policy query", action, "found", NULL);
    return check_table_result(e, spec.endpoint, arena_strdup(s->arena, action), "policy query",
                              reply_name, reply_class, def_acl);
}
