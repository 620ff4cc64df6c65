/*
 * control - `postern run` (foreground until SIGTERM), `start` (daemon),
 * `stop`, `reload` and `status` through the pid file in data_directory.
 * reload refuses a configuration that does not load: the master checks it
 * before replacing its workers, and this command checks it first too, so
 * the administrator sees the error.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "config/config.h"
#include "policy/policy.h"
#include "smtp/smtp.h"
#include "table/table.h"

static pid_t read_pid(const char *config_dir)
{
    char *path = smtp_pid_file(config_dir);
    if (path == NULL)
        return -1;
    FILE *f = fopen(path, "r");
    free(path);
    if (f == NULL)
        return -1;
    long pid = -1;
    if (fscanf(f, "%ld", &pid) != 1)
        pid = -1;
    fclose(f);
    if (pid <= 1 || (kill((pid_t) pid, 0) == -1 && errno == ESRCH))
        return -1;
    return (pid_t) pid;
}

int cli_run(struct cli_context *ctx, int argc, char **argv)
{
    (void) argc, (void) argv;
    return smtp_run(ctx->config_dir, false);
}

int cli_start(struct cli_context *ctx, int argc, char **argv)
{
    (void) argc, (void) argv;
    if (read_pid(ctx->config_dir) > 0) {
        fprintf(stderr, "postern: the mail system is already running\n");
        return 1;
    }
    int rc = smtp_run(ctx->config_dir, true);
    if (rc != 0)
        return rc;
    for (int i = 0; i < 50 && read_pid(ctx->config_dir) <= 0; i++)
        usleep(100000);
    if (read_pid(ctx->config_dir) <= 0) {
        fprintf(stderr, "postern: the mail system did not start; see the mail log\n");
        return 1;
    }
    printf("postern: the mail system is running\n");
    return 0;
}

int cli_stop(struct cli_context *ctx, int argc, char **argv)
{
    (void) argc, (void) argv;
    pid_t pid = read_pid(ctx->config_dir);
    if (pid <= 0) {
        fprintf(stderr, "postern: the mail system is not running\n");
        return 1;
    }
    kill(pid, SIGTERM);
    for (int i = 0; i < 300; i++) {
        if (kill(pid, 0) == -1 && errno == ESRCH) {
            printf("postern: the mail system has stopped\n");
            return 0;
        }
        usleep(100000);
    }
    fprintf(stderr, "postern: process %ld did not stop\n", (long) pid);
    return 1;
}

int cli_reload(struct cli_context *ctx, int argc, char **argv)
{
    (void) argc, (void) argv;
    /* Check first, main.cf and master.cf as the master will: a broken
     * configuration is refused here, loudly, and by the master. */
    struct strlist errors;
    strlist_init(&errors);
    int rc = smtp_config_check(ctx->config_dir, &errors);
    if (rc == -1 || errors.count) {
        for (size_t i = 0; i < errors.count; i++)
            fprintf(stderr, "postern: %s\n", errors.items[i]);
        fprintf(stderr, "postern: reload refused; the running configuration stays in effect\n");
        strlist_free(&errors);
        return 1;
    }
    strlist_free(&errors);
    pid_t pid = read_pid(ctx->config_dir);
    if (pid <= 0) {
        fprintf(stderr, "postern: the mail system is not running\n");
        return 1;
    }
    kill(pid, SIGHUP);
    printf("postern: refreshing the mail system\n");
    return 0;
}

int cli_status(struct cli_context *ctx, int argc, char **argv)
{
    (void) argc, (void) argv;
    pid_t pid = read_pid(ctx->config_dir);
    if (pid <= 0) {
        printf("postern: the mail system is not running\n");
        return 1;
    }
    printf("postern: the mail system is running: PID: %ld\n", (long) pid);
    return 0;
}
