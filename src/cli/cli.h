/*
 * cli - the sub-commands of the one `postern` binary.  main.c parses the
 * global options (-c DIR, -v) and dispatches; each sub-command lives in its
 * own file and gets the arguments after its name (argv[0] is its name).
 */
#ifndef POSTERN_CLI_H
#define POSTERN_CLI_H

#include <stdbool.h>

struct cli_context {
    const char *config_dir; /* -c DIR, or the default */
    bool config_dir_given;
    int verbose;
};

struct cli_command {
    const char *name;
    int (*run)(struct cli_context *ctx, int argc, char **argv);
    const char *summary;
    const char *usage; /* printed by `postern NAME --help` */
};

int cli_map(struct cli_context *ctx, int argc, char **argv);
int cli_conf(struct cli_context *ctx, int argc, char **argv);
int cli_check(struct cli_context *ctx, int argc, char **argv);
int cli_lint(struct cli_context *ctx, int argc, char **argv);
int cli_queue(struct cli_context *ctx, int argc, char **argv);
int cli_run(struct cli_context *ctx, int argc, char **argv);
int cli_start(struct cli_context *ctx, int argc, char **argv);
int cli_stop(struct cli_context *ctx, int argc, char **argv);
int cli_reload(struct cli_context *ctx, int argc, char **argv);
int cli_status(struct cli_context *ctx, int argc, char **argv);

/* cli_wants_help - argv has --help or -h as its first option */
bool cli_wants_help(int argc, char **argv);
/* cli_print_usage - the usage text of the named command to stdout */
int cli_print_usage(const char *name);

#endif
