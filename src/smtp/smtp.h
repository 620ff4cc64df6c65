/*
 * smtp - the SMTP server: a master process that binds the inet services of
 * master.cf, drops privileges and supervises worker processes, each an
 * event loop serving many sessions (RFC 5321 with ESMTP extensions, TLS,
 * SASL, XCLIENT, PROXY), with every restriction stage evaluated by the
 * policy engine and every accepted message committed durably to the queue
 * before "250".
 */
#ifndef POSTERN_SMTP_H
#define POSTERN_SMTP_H

#include <stdbool.h>

/*
 * smtp_run - `postern run`: load DIR/main.cf and DIR/master.cf, serve in
 * the foreground until SIGTERM (SIGHUP reloads).  With daemonize, detach
 * first (`postern start`).  Returns the process exit status.
 */
int smtp_run(const char *config_dir, bool daemonize);

/* The pid file of a running server for this configuration (allocated);
 * found even when main.cf does not load. */
char *smtp_pid_file(const char *config_dir);

struct strlist;
/* smtp_config_check - load main.cf and master.cf as `run` and a reload do
 * (services, restrictions, certificates), bind nothing; 0, or -1 with the
 * reasons added to errors */
int smtp_config_check(const char *config_dir, struct strlist *errors);

#endif
