/*
 * lint - `postern lint`: static checks of the configuration (see
 * src/policy/lint.c for the list and their identifiers).  Text output
 * "FILE:LINE: SEVERITY: ID: message" with a "fix:" line, or --json.
 * Exit status 0 when nothing is found, 1 when something is, 2 when the
 * configuration cannot be read at all.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "config/config.h"
#include "policy/policy.h"
#include "table/table.h"

static void json_string(const char *s)
{
    putchar('"');
    for (; s && *s; s++) {
        unsigned char c = (unsigned char) *s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c == '\n')
            fputs("\\n", stdout);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static int by_location(const void *a, const void *b)
{
    const struct lint_finding *x = a, *y = b;
    int c = strcmp(x->file ? x->file : "", y->file ? y->file : "");
    if (c)
        return c;
    if (x->line != y->line)
        return x->line - y->line;
    if ((c = strcmp(x->id, y->id)) != 0)
        return c;
    /* qsort is not stable: the message decides, so the order is the same
     * on every run */
    return strcmp(x->message, y->message);
}

int cli_lint(struct cli_context *ctx, int argc, char **argv)
{
    bool json = false;
    static const struct option longopts[] = {{"json", no_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "j", longopts, NULL)) != -1) {
        if (opt == 'j') {
            json = true;
        } else {
            cli_print_usage("lint");
            return 2;
        }
    }
    struct strlist errors;
    strlist_init(&errors);
    struct config *cfg = config_load_main(ctx->config_dir, &errors);
    if (cfg == NULL) {
        for (size_t i = 0; i < errors.count; i++)
            fprintf(stderr, "postern lint: %s\n", errors.items[i]);
        strlist_free(&errors);
        return 2;
    }
    /* A value of the wrong form is a finding (config-error), but the
     * engine's typed getters stop the program on it: lint the rest with
     * such parameters at their defaults (same file and line). */
    if (config_check(cfg, &errors) > 0) {
        size_t n;
        const struct param_def *defs = param_registry(&n);
        struct strlist scratch;
        strlist_init(&scratch);
        for (size_t i = 0; i < n; i++) {
            if (defs[i].type == PARAM_STRING || defs[i].type == PARAM_LIST)
                continue;
            if (config_check_param(cfg, defs[i].name, &scratch) > 0) {
                const struct config_entry *en = config_entry_find(cfg, defs[i].name);
                char *file = en && en->file ? xstrdup(en->file) : NULL;
                int line = en ? en->line : 0;
                config_set(cfg, defs[i].name, defs[i].def, file, line);
                free(file);
            }
        }
        strlist_free(&scratch);
    }
    struct policy *p = policy_compile_lenient(cfg, &errors);
    struct lint_report report;
    policy_lint(p, &errors, &report);
    if (report.count > 1) /* qsort wants a non-NULL array even for none */
        qsort(report.items, report.count, sizeof(*report.items), by_location);
    if (json) {
        printf("{\"findings\": [");
        for (size_t i = 0; i < report.count; i++) {
            const struct lint_finding *f = &report.items[i];
            printf("%s\n  {\"id\": ", i ? "," : "");
            json_string(f->id);
            printf(", \"severity\": ");
            json_string(f->severity);
            printf(", \"file\": ");
            json_string(f->file);
            printf(", \"line\": %d, \"parameter\": ", f->line);
            if (f->parameter)
                json_string(f->parameter);
            else
                fputs("null", stdout);
            printf(", \"message\": ");
            json_string(f->message);
            printf(", \"fix\": ");
            if (f->fix)
                json_string(f->fix);
            else
                fputs("null", stdout);
            putchar('}');
        }
        printf("%s]}\n", report.count ? "\n" : "");
    } else {
        for (size_t i = 0; i < report.count; i++) {
            const struct lint_finding *f = &report.items[i];
            printf("%s:%d: %s: %s: %s\n", f->file ? f->file : "main.cf", f->line, f->severity,
                   f->id, f->message);
            if (f->fix)
                printf("    fix: %s\n", f->fix);
        }
        if (report.count == 0)
            printf("no problems found\n");
        else
            printf("%zu problem%s found\n", report.count, report.count == 1 ? "" : "s");
    }
    int rc = report.count ? 1 : 0;
    lint_report_free(&report);
    policy_free(p);
    config_free(cfg);
    strlist_free(&errors);
    table_cache_clear();
    return rc;
}
