/*
 * auth - the AUTH command (RFC 4954) on top of the sasl module: its state
 * checks, the 334 challenge loop, cancellation with "*", and the replies
 * and log lines Postfix gives, including the "SASL ... authentication
 * failed" warning that fail2ban's postfix-sasl filter reads.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtp/smtp_int.h"

static void auth_done(void *arg, struct sasl_result *r);

static void auth_finish(struct session *s)
{
    if (s->sasl)
        sasl_session_free(s->sasl);
    s->sasl = NULL;
    s->state = ST_COMMAND;
}

void cmd_auth(struct session *s, int cmd, char *arg)
{
    (void) cmd;
    if (!s->svc->sasl_enable || s->svc->sasl == NULL || (s->svc->tls_auth_only && !s->tls_active) ||
        session_discarded(s, "auth")) {
        session_reply(s, "503 5.5.1 Error: authentication not enabled");
        session_error(s);
        return;
    }
    if (s->sasl_username) {
        session_reply(s, "503 5.5.1 Error: already authenticated");
        session_error(s);
        return;
    }
    if (s->sender) {
        session_reply(s, "503 5.5.1 Error: MAIL transaction in progress");
        session_error(s);
        return;
    }
    char *mech = arg, *initial = arg + strcspn(arg, " ");
    if (*initial)
        *initial++ = 0;
    while (*initial == ' ')
        initial++;
    if (*mech == 0 || initial[strcspn(initial, " \t")] != 0) {
        session_reply(s, "501 5.5.4 Syntax: AUTH mechanism");
        session_error(s);
        return;
    }
    if (s->svc->auth_rate_limit > 0 && !s->limits_exempt) {
        int over = commands_rate_exceeded(s, "auth", s->svc->auth_rate_limit);
        if (over < 0)
            return;
        if (over) {
            log_warnx("AUTH command rate limit exceeded: %u from %s for service %s", s->rate_value,
                      s->namaddr, s->svc->name);
            session_reply(s, "450 4.7.1 Error: too many AUTH commands from %s", s->addr);
            session_error(s);
            return;
        }
    }
    str_upper(mech);
    s->auth_mech = arena_strdup(s->arena, mech);
    s->auth_challenge = NULL;
    s->state = ST_WAIT;
    bufferevent_disable(s->bev, EV_READ);
    session_hold(s);
    s->sasl = sasl_start(s->svc->sasl, mech, *initial ? initial : NULL, s->addr, s->server_addr,
                         s->tls_active, auth_done, s);
}

static void auth_done(void *arg, struct sasl_result *r)
{
    struct session *s = arg;
    session_enter(s);
    if (s->closing) {
        session_release(s);
        return;
    }
    switch (r->status) {
    case SASL_CONTINUE:
        s->auth_challenge = arena_strdup(s->arena, r->challenge ? r->challenge : "");
        session_reply(s, "334 %s", s->auth_challenge);
        s->state = ST_AUTH;
        bufferevent_enable(s->bev, EV_READ);
        session_process_input(s);
        session_release(s);
        return;
    case SASL_OK:
        s->sasl_username = arena_strdup(s->arena, r->username);
        s->sasl_method = s->auth_mech;
        policy_set_sasl(s->ps, s->sasl_method, s->sasl_username, NULL);
        policy_set_protocol(s->ps, s->protocol);
        s->counts_ok[CMD_AUTH]++;
        s->commands_ok++;
        session_reply(s, "235 2.7.0 Authentication successful");
        break;
    case SASL_FAIL:
        log_warnx("%s: SASL %s authentication failed: %s, sasl_username=%s", s->namaddr,
                  s->auth_mech, r->reason, r->username ? r->username : "(unavailable)");
        session_reply(s, "535 5.7.8 Error: authentication failed: %s", r->reason);
        session_error(s);
        break;
    case SASL_TEMPFAIL:
        log_warnx("%s: SASL %s authentication failed: %s, sasl_username=%s", s->namaddr,
                  s->auth_mech, r->reason, r->username ? r->username : "(unavailable)");
        session_reply(s, "454 4.7.0 Temporary authentication failure: %s", r->reason);
        session_error(s);
        break;
    case SASL_ERROR:
        if (r->error == SASL_ERR_ABORTED) {
            log_warnx("%s: SASL %s authentication aborted", s->namaddr, s->auth_mech);
            session_reply(s, "501 5.7.0 Authentication aborted");
        } else {
            log_warnx("%s: SASL %s authentication failed: %s, sasl_username=%s", s->namaddr,
                      s->auth_mech, r->reason, r->username ? r->username : "(unavailable)");
            session_reply(s, "535 5.7.8 Error: authentication failed: %s", r->reason);
        }
        session_error(s);
        break;
    }
    auth_finish(s);
    session_resume(s);
    session_release(s);
}

void commands_auth_line(struct session *s, char *line)
{
    if (strlen(line) > SMTP_AUTH_LINE_MAX) {
        session_reply(s, "500 5.5.6 Authentication exchange line is too long");
        session_error(s);
        auth_finish(s);
        session_resume(s);
        return;
    }
    s->state = ST_WAIT;
    bufferevent_disable(s->bev, EV_READ);
    session_hold(s);
    sasl_step(s->sasl, line);
}
