/*
 * policy_client - the network side of check_policy_service: Postfix's
 * policy delegation protocol over inet:host:port or unix:/path.  The
 * asynchronous client keeps idle connections per endpoint for reuse (up to
 * smtpd_policy_service_max_idle / _max_ttl), answers every query exactly
 * once (with NULL after a timeout or failure, so the engine applies the
 * default action) and never blocks the event loop.
 */
#ifndef POSTERN_POLICY_CLIENT_H
#define POSTERN_POLICY_CLIENT_H

#include "config/config.h"

struct event_base;
struct policy_client;

struct policy_client *policy_client_new(struct event_base *base, struct config *cfg);
void policy_client_free(struct policy_client *pc);
/* done(arg, action): action is NULL when the server did not answer */
typedef void (*policy_client_done_fn)(void *arg, const char *action);
void policy_client_query(struct policy_client *pc, const char *endpoint, const char *request,
                         policy_client_done_fn done, void *arg);
/* policy_client_cancel - forget the queries of arg (session ended) */
void policy_client_cancel(struct policy_client *pc, void *arg);

/* policy_client_query_sync - blocking variant for command-line tools;
 * returns the action (caller frees) or NULL */
char *policy_client_query_sync(const char *endpoint, const char *request, struct config *cfg);

/* policy_client_parse_reply - the action of a complete reply, or NULL */
char *policy_client_parse_reply(const char *reply, size_t len);

#endif
