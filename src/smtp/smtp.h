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

/* The pid file of a running server for this configuration (allocated). */
char *smtp_pid_file(const char *config_dir);

#endif
