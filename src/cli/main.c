/*
 * main - `postern [-c DIR] [-v] COMMAND [ARGS]`: global options, the
 * command table, help and version.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "config/config.h"
#include "util/util.h"

static const struct cli_command commands[] = {
    {"check", cli_check, "what-if: the replies a described SMTP session would get, and why",
     "usage: postern [-c DIR] check [--trace] [-o NAME=VALUE] [--live-dns | --dns-servers LIST]\n"
     "                     [--client ADDR[,NAME]] [--helo NAME] [--sasl USER] [--mail ADDR]\n"
     "                     [--rcpt ADDR ...] [--data] [--dns 'NAME TYPE VALUE'] [SCRIPT ...]\n"
     "  Plays the script (or the steps given as options; SCRIPT - is stdin) through the\n"
     "  policy engine and prints, for each step, the reply the server would give.\n"
     "  --trace            show every restriction, table lookup and DNS answer used\n"
     "  -o NAME=VALUE      override a main.cf parameter for this run\n"
     "  --live-dns         ask the DNS servers of /etc/resolv.conf for answers the\n"
     "                     script does not give (default: such names do not exist)\n"
     "  --dns-servers LIST ask these servers instead\n"
     "Script lines (see docs/postern-check.md):\n"
     "  client ADDR [NAME] [reverse=NAME] [name_status=ok|temp|perm|forged] [port=N]\n"
     "  helo NAME | ehlo NAME | auth USER [MECHANISM] | tls [fingerprint=...]\n"
     "  mail ADDR | rcpt ADDR | data | eod | rset | etrn DOMAIN | vrfy ADDR | quit\n"
     "  dns NAME TYPE VALUE (VALUE: data, NXDOMAIN, NODATA or SERVFAIL)\n"
     "  policy ACTION      the answer of the next check_policy_service query\n"
     "  pipelining yes|no  whether the client violates pipelining rules\n"},
    {"lint", cli_lint, "find policy mistakes before they bite",
     "usage: postern [-c DIR] lint [--json]\n"
     "  Checks main.cf and its tables.  Each finding has a stable identifier:\n"
     "  sasl-before-dnsbl, local-sender-spoofing, open-relay, unreachable, wrong-stage,\n"
     "  table-missing, table-stale, table-broken, unknown-restriction, bad-argument,\n"
     "  config-error.  Exit status: 0 nothing found, 1 findings, 2 unreadable.\n"
     "  --json             machine-readable output\n"},
    {"map", cli_map, "build and query lookup tables (as postmap)",
     "usage: postern [-c DIR] map [-fqrswdiv] [-q KEY | -q - | -d KEY] TYPE:NAME ...\n"
     "  TYPE:NAME          build the indexed table NAME.lmdb from the source NAME\n"
     "  -q KEY             look KEY up in each table in turn; print the first value\n"
     "                     (exit 1 when no table has it); -q - reads keys from stdin\n"
     "  -s                 print every entry of each table\n"
     "  -i                 add entries read from stdin (key value lines); a key\n"
     "                     already present keeps its value unless -r\n"
     "  -d KEY             delete KEY (-d - reads keys from stdin); exit 1 if absent\n"
     "  -f                 keep the case of keys (no folding to lower case)\n"
     "  -r                 when a key repeats, the later entry wins (no warning)\n"
     "  -w                 when a key repeats, keep the first without a warning\n"
     "  -v                 verbose\n"},
    {"conf", cli_conf, "show and edit main.cf and master.cf (as postconf)",
     "usage: postern [-c DIR] conf [-dfhnx] [-D] [NAME ...]\n"
     "       postern [-c DIR] conf -e NAME=VALUE ... | -X NAME ... | -m | -M [SERVICE[/TYPE] ...]\n"
     "  (no option)        every parameter with its effective value, sorted by name\n"
     "  NAME ...           only these parameters (exit 1 for an unknown name)\n"
     "  -n                 only parameters set in main.cf (and config_directory with -c)\n"
     "  -d                 default values; parameters postern ignores are marked\n"
     "  -D                 with -d: a comment line with the documentation of each\n"
     "  -h                 values only, without \"name = \"\n"
     "  -x                 expand $name references in values\n"
     "  -f                 fold long lines at 80 columns (also with -M)\n"
     "  -m                 supported lookup table types\n"
     "  -M [SERVICE ...]   master.cf services, normalized (SERVICE or SERVICE/TYPE)\n"
     "  -e NAME=VALUE ...  set parameters in main.cf, keeping comments and layout\n"
     "  -X NAME ...        remove parameters from main.cf\n"},
    {"queue", cli_queue, "show and manage the mail queue (as mailq, postcat, postsuper)",
     "usage: postern [-c DIR] queue list\n"
     "       postern [-c DIR] queue cat [-e | -m] ID ...\n"
     "       postern [-c DIR] queue export OUTDIR\n"
     "       postern [-c DIR] queue delete|hold|release ID ... | ALL | -\n"
     "  list               every message: ID, size, arrival time, sender, recipients\n"
     "                     (as mailq; '!' after the ID: on hold, '*': active)\n"
     "  cat ID ...         envelope records, then the content exactly as queued\n"
     "                     (-e envelope only, -m content only)\n"
     "  export OUTDIR      write OUTDIR/ID.eml (the content) and OUTDIR/ID.env\n"
     "                     (\"from ADDR\", then one \"to ADDR\" line per recipient)\n"
     "  delete ID ...      remove messages (ALL: every message; -: IDs from stdin)\n"
     "  hold ID ...        move messages to the hold queue\n"
     "  release ID ...     move held messages back to the incoming queue\n"
     "  The queue is queue_directory of main.cf.  Exit status 1 when a message is\n"
     "  missing or unreadable, 2 for usage or configuration errors.\n"},
    {"reload", cli_reload, "re-read the configuration of the running server",
     "usage: postern [-c DIR] reload\n"
     "  Checks main.cf and master.cf, then asks the running server to load them.\n"
     "  A configuration that does not load is refused; the old one keeps running.\n"
     "  Open sessions are not dropped.\n"},
    {"run", cli_run, "serve mail in the foreground until SIGTERM",
     "usage: postern [-c DIR] run\n"
     "  Starts the SMTP services of master.cf and serves until SIGTERM (SIGHUP\n"
     "  reloads).  Logs go to maillog_file, or syslog.\n"},
    {"start", cli_start, "start the server as a daemon", "usage: postern [-c DIR] start\n"},
    {"status", cli_status, "is the server running?",
     "usage: postern [-c DIR] status\n  Exit status 0 when running, 1 when not.\n"},
    {"stop", cli_stop, "stop the server", "usage: postern [-c DIR] stop\n"},
};

static void usage_all(FILE *out)
{
    fprintf(out, "usage: postern [-c DIR] [-v] COMMAND [ARGS]\n"
                 "       postern --version\n"
                 "       postern help [COMMAND]\n\ncommands:\n");
    for (size_t i = 0; i < ARRAY_LEN(commands); i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n-c DIR names the configuration directory (default %s).\n", DEFAULT_CONFIG_DIR);
}

static const struct cli_command *find_command(const char *name)
{
    for (size_t i = 0; i < ARRAY_LEN(commands); i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

bool cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return false;
        if (strcmp(argv[i], "--help") == 0)
            return true;
    }
    return false;
}

int cli_print_usage(const char *name)
{
    const struct cli_command *c = find_command(name);
    if (c == NULL) {
        fprintf(stderr, "postern: unknown command \"%s\"\n", name);
        return 2;
    }
    fputs(c->usage, stdout);
    return 0;
}

int main(int argc, char **argv)
{
    struct cli_context ctx = {.config_dir = DEFAULT_CONFIG_DIR};
    log_init("postern");

    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
            printf("postern %s\n", POSTERN_VERSION);
            return 0;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage_all(stdout);
            return 0;
        } else if (strcmp(a, "-c") == 0 && i + 1 < argc) {
            ctx.config_dir = argv[++i];
            ctx.config_dir_given = true;
        } else if (strncmp(a, "-c", 2) == 0 && a[2]) {
            ctx.config_dir = a + 2;
            ctx.config_dir_given = true;
        } else if (strcmp(a, "-v") == 0) {
            ctx.verbose++;
        } else {
            fprintf(stderr, "postern: unknown option \"%s\"\n", a);
            usage_all(stderr);
            return 2;
        }
    }
    if (i >= argc) {
        usage_all(stderr);
        return 2;
    }
    log_set_verbose(ctx.verbose);
    const char *name = argv[i];
    if (strcmp(name, "help") == 0) {
        if (i + 1 < argc)
            return cli_print_usage(argv[i + 1]);
        usage_all(stdout);
        return 0;
    }
    if (strcmp(name, "version") == 0) {
        printf("postern %s\n", POSTERN_VERSION);
        return 0;
    }
    const struct cli_command *c = find_command(name);
    if (c == NULL) {
        fprintf(stderr, "postern: unknown command \"%s\"; try \"postern help\"\n", name);
        return 2;
    }
    if (cli_wants_help(argc - i, argv + i))
        return cli_print_usage(name);
    log_init(xasprintf("postern %s", name));
    return c->run(&ctx, argc - i, argv + i);
}
