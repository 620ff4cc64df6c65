/*
 * anvil - per-client connection counts and event rates shared by all
 * smtpd workers (see anvil.c).
 */
#ifndef POSTERN_SMTP_ANVIL_H
#define POSTERN_SMTP_ANVIL_H

struct event_base;
struct anvil_client;

/* anvil_server_run - serve on listen_fd until SIGTERM (the anvil process) */
int anvil_server_run(int listen_fd, long window_seconds);

struct anvil_client *anvil_client_new(struct event_base *base, const char *path);
void anvil_client_free(struct anvil_client *c);
/* done(arg, count, rate): count for "connect", rate for every event; 0/0
 * when anvil cannot be reached (then possibly before this returns) */
typedef void (*anvil_done_fn)(void *arg, unsigned count, unsigned rate);
void anvil_request(struct anvil_client *c, const char *verb, const char *service, const char *addr,
                   anvil_done_fn done, void *arg);
/* anvil_cancel - replies for arg will not be delivered */
void anvil_cancel(struct anvil_client *c, void *arg);

#endif
