/*
 * conf - `postern conf`, the postconf(1) of postern: show parameters
 * (effective, -n set in main.cf, -d defaults, -x expanded, -h values only,
 * -f folded), the table types (-m), master.cf services (-M), and edit
 * main.cf (-e name=value, -X name).  Output follows postconf: "name = value"
 * sorted by name, runs of whitespace in values shown as one space, long
 * lines folded at 80 columns only with -f.
 *
 * Exit status: 0 success; 1 an unknown parameter name, a configuration
 * error or a failed edit; 2 usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "config/config.h"
#include "table/table.h"

/* postconf -f folds main.cf lines to at most 80 columns and -Mf lines to
 * fewer than 80 */
#define FOLD_COLUMNS        80
#define FOLD_COLUMNS_MASTER 79
#define FOLD_INDENT         "    "

struct conf_opts {
    bool defaults, docs, edit, remove, fold, values_only, tables, master, set_only, expand;
};

/* ---- output ---- */

/* A piece of an output line for folding: own_line pieces start a line and
 * end it (postconf -Mf prints each -o override on its own line). */
struct piece {
    const char *text;
    bool own_line;
};

static void print_pieces(const struct piece *p, size_t n, bool fold, size_t columns)
{
    size_t col = 0;
    bool force_break = false;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(p[i].text);
        if (i == 0) {
            fputs(p[i].text, stdout);
            col = len;
        } else if (fold && (force_break || p[i].own_line || col + 1 + len > columns)) {
            printf("\n" FOLD_INDENT "%s", p[i].text);
            col = strlen(FOLD_INDENT) + len;
        } else {
            printf(" %s", p[i].text);
            col += 1 + len;
        }
        force_break = fold && p[i].own_line;
    }
    putchar('\n');
}

/* print_words - text with runs of whitespace as one space, folded with -f */
static void print_words(const char *text, bool fold)
{
    char *copy = xstrdup(text);
    struct piece *pieces = xcalloc(strlen(text) / 2 + 2, sizeof(*pieces));
    size_t n = 0;
    for (char *w = strtok(copy, " \t\r\n\f\v"); w != NULL; w = strtok(NULL, " \t\r\n\f\v"))
        pieces[n++].text = w;
    if (n == 0)
        putchar('\n');
    else
        print_pieces(pieces, n, fold, FOLD_COLUMNS);
    free(pieces);
    free(copy);
}

static void print_param(const struct conf_opts *o, const char *name, const char *value)
{
    if (o->values_only) {
        print_words(value, o->fold);
        return;
    }
    char *line = xasprintf("%s = %s", name, value);
    print_words(line, o->fold);
    free(line);
}

/* print_doc - with -d: the documentation line (-D), or what postern does
 * not do, as a comment before the parameter */
static void print_doc(const struct conf_opts *o, const struct param_def *def)
{
    if (!o->defaults || o->values_only || def == NULL)
        return;
    if (o->docs) {
        printf("# %s", def->doc);
        if (def->flags & PARAM_F_NOEFFECT)
            printf(" [no effect in postern]");
        if (def->flags & PARAM_F_COMPUTED)
            printf(" [computed]");
        putchar('\n');
    } else if (def->flags & PARAM_F_NOEFFECT) {
        printf("# %s: accepted for compatibility with Postfix; no effect in postern\n", def->name);
    }
}

/* ---- parameters ---- */

static void warn_errors(const struct strlist *errors)
{
    for (size_t i = 0; i < errors->count; i++)
        log_warnx("%s", errors->items[i]);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

static bool list_has(const struct strlist *l, const char *s)
{
    for (size_t i = 0; i < l->count; i++)
        if (strcmp(l->items[i], s) == 0)
            return true;
    return false;
}

static int show_params(struct cli_context *ctx, const struct conf_opts *o, int argc, char **argv)
{
    struct strlist errors, names, user;
    strlist_init(&errors);
    strlist_init(&names);
    strlist_init(&user);
    struct master_config master = {0};
    struct config *cfg;
    int rc = 0;

    if (o->defaults) {
        cfg = config_new(DEFAULT_CONFIG_DIR, NULL); /* nothing read: built-in defaults */
    } else {
        cfg = config_load_main(ctx->config_dir, &errors);
        if (cfg == NULL) {
            for (size_t i = 0; i < errors.count; i++)
                log_errorx("%s", errors.items[i]);
            strlist_free(&errors);
            return 1;
        }
        char *master_path = xasprintf("%s/master.cf", ctx->config_dir);
        if (master_load(master_path, true, &master, &errors) < 0) {
            warn_errors(&errors);
            master_free(&master);
        }
        free(master_path);
        const struct strlist *dups = config_duplicate_notes(cfg);
        for (size_t i = 0; i < dups->count; i++)
            log_warnx("%s", dups->items[i]);
        config_user_names(cfg, &master, &user);
        /* -c DIR is an explicit config_directory, as with postconf -c */
        if (ctx->config_dir_given && !config_is_set(cfg, "config_directory"))
            config_set(cfg, "config_directory", ctx->config_dir, NULL, 0);
    }

    if (argc > 0) {
        for (int i = 0; i < argc; i++)
            strlist_add(&names, argv[i]);
    } else if (o->set_only) {
        size_t n;
        const struct config_entry *e = config_entries(cfg, &n);
        for (size_t i = 0; i < n; i++)
            if (param_find(e[i].name) != NULL || list_has(&user, e[i].name))
                strlist_add(&names, e[i].name);
        qsort(names.items, names.count, sizeof(char *), cmp_str);
    } else {
        size_t n;
        const struct param_def *defs = param_registry(&n);
        for (size_t i = 0; i < n; i++)
            strlist_add(&names, defs[i].name);
        for (size_t i = 0; i < user.count; i++)
            strlist_add(&names, user.items[i]);
        qsort(names.items, names.count, sizeof(char *), cmp_str);
    }

    for (size_t i = 0; i < names.count; i++) {
        const char *name = names.items[i];
        const struct param_def *def = param_find(name);
        bool known = def != NULL || (!o->defaults && list_has(&user, name));
        if (!known) {
            if (param_is_postfix_name(name))
                log_warnx("%s: Postfix parameter that postern does not implement", name);
            else
                log_warnx("%s: unknown parameter", name);
            rc = 1;
            continue;
        }
        if (o->set_only && !config_is_set(cfg, name))
            continue;
        const char *value = config_raw(cfg, name);
        char *err = NULL;
        if (o->expand && config_get_checked(cfg, name, &value, &err) < 0) {
            const struct config_entry *e = config_entry_find(cfg, name);
            if (e != NULL && e->file != NULL)
                log_errorx("%s, line %d: %s: %s", e->file, e->line, name, err);
            else
                log_errorx("%s: %s", name, err);
            free(err);
            rc = 1;
            continue;
        }
        print_doc(o, def);
        print_param(o, name, value ? value : "");
    }

    if (!o->defaults)
        config_warn_unused(cfg, &master);
    strlist_free(&errors);
    strlist_free(&names);
    strlist_free(&user);
    master_free(&master);
    config_free(cfg);
    return rc;
}

/* ---- master.cf ---- */

/* master_fields - the eight columns laid out as postconf -M does: each
 * field starts at its column (widths 10 5 7 7 7 7 7) unless the one before
 * overflowed, and at least one space follows every field */
static char *master_fields(const struct master_service *s)
{
    static const int widths[] = {10, 5, 7, 7, 7, 7, 7};
    const char *f[] = {s->name,   s->type,   s->private_, s->unpriv,
                       s->chroot, s->wakeup, s->maxproc,  s->command};
    struct buf b;
    buf_init(&b);
    size_t target = 0;
    for (size_t i = 0; i < ARRAY_LEN(f); i++) {
        if (i > 0) {
            target += (size_t) widths[i - 1] + 1;
            do
                buf_putc(&b, ' ');
            while (b.len < target);
        }
        buf_puts(&b, f[i]);
    }
    return buf_steal(&b);
}

static bool service_selected(const struct master_service *s, int argc, char **argv)
{
    if (argc == 0)
        return true;
    for (int i = 0; i < argc; i++) {
        const char *slash = strchr(argv[i], '/');
        size_t n = slash ? (size_t) (slash - argv[i]) : strlen(argv[i]);
        if (strlen(s->name) == n && strncmp(s->name, argv[i], n) == 0 &&
            (slash == NULL || strcmp(slash + 1, s->type) == 0))
            return true;
    }
    return false;
}

static int show_master(struct cli_context *ctx, const struct conf_opts *o, int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        const char *slash = strchr(argv[i], '/');
        if (argv[i][0] == 0 || argv[i][0] == '/' || (slash && strchr(slash + 1, '/'))) {
            log_errorx("-M: expected SERVICE or SERVICE/TYPE, not \"%s\"", argv[i]);
            return 2;
        }
    }
    struct strlist errors;
    strlist_init(&errors);
    struct master_config master = {0};
    char *path = xasprintf("%s/master.cf", ctx->config_dir);
    int rc = master_load(path, false, &master, &errors);
    free(path);
    if (rc < 0) {
        for (size_t i = 0; i < errors.count; i++)
            log_errorx("%s", errors.items[i]);
        strlist_free(&errors);
        master_free(&master);
        return 1;
    }
    for (size_t i = 0; i < master.count; i++) {
        const struct master_service *s = &master.services[i];
        if (!service_selected(s, argc, argv))
            continue;
        char *fields = master_fields(s);
        struct piece *pieces = xcalloc(s->argv.count + 1, sizeof(*pieces));
        pieces[0].text = fields;
        for (size_t j = 0; j < s->argv.count; j++) {
            pieces[j + 1].text = s->argv.items[j];
            pieces[j + 1].own_line = strncmp(s->argv.items[j], "-o ", 3) == 0;
        }
        print_pieces(pieces, s->argv.count + 1, o->fold, FOLD_COLUMNS_MASTER);
        free(pieces);
        free(fields);
    }
    /* the same warnings as the server gives for -o names */
    struct config *cfg = config_load_main(ctx->config_dir, &errors);
    if (cfg != NULL) {
        config_warn_unused(cfg, &master);
        config_free(cfg);
    }
    strlist_free(&errors);
    master_free(&master);
    return 0;
}

/* ---- editing ---- */

static int edit(struct cli_context *ctx, const struct conf_opts *o, int argc, char **argv)
{
    struct strlist items, errors;
    strlist_init(&items);
    strlist_init(&errors);
    for (int i = 0; i < argc; i++)
        strlist_add(&items, argv[i]);
    char *path = xasprintf("%s/main.cf", ctx->config_dir);
    int rc = o->remove ? config_edit_remove(path, &items, &errors)
                       : config_edit_file(path, &items, &errors);
    for (size_t i = 0; i < errors.count; i++)
        log_errorx("%s", errors.items[i]);
    free(path);
    strlist_free(&items);
    strlist_free(&errors);
    return rc < 0 ? 1 : 0;
}

static void table_types(void)
{
    struct strlist names;
    strlist_init(&names);
    table_type_names(&names);
    for (size_t i = 0; i < names.count; i++)
        puts(names.items[i]);
    strlist_free(&names);
}

int cli_conf(struct cli_context *ctx, int argc, char **argv)
{
    struct conf_opts o = {0};
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt(argc, argv, "+c:dDefhmMnxX")) != -1) {
        switch (c) {
        case 'c':
            ctx->config_dir = optarg;
            ctx->config_dir_given = true;
            break;
        case 'd': o.defaults = true; break;
        case 'D': o.docs = true; break;
        case 'e': o.edit = true; break;
        case 'f': o.fold = true; break;
        case 'h': o.values_only = true; break;
        case 'm': o.tables = true; break;
        case 'M': o.master = true; break;
        case 'n': o.set_only = true; break;
        case 'x': o.expand = true; break;
        case 'X': o.remove = true; break;
        default:
            log_errorx("unknown option -%c", optopt);
            cli_print_usage("conf");
            return 2;
        }
    }
    argc -= optind;
    argv += optind;
    int modes = o.edit + o.remove + o.tables + o.master;
    if (modes > 1 || (modes == 1 && (o.defaults || o.set_only)) || (o.docs && !o.defaults) ||
        (o.defaults && o.set_only)) {
        log_errorx("conflicting options; try \"postern conf --help\"");
        return 2;
    }
    if (o.tables) {
        table_types();
        return 0;
    }
    if (o.master)
        return show_master(ctx, &o, argc, argv);
    if (o.edit || o.remove) {
        if (argc == 0) {
            log_errorx("-%c needs at least one %s", o.edit ? 'e' : 'X',
                       o.edit ? "name=value" : "parameter name");
            return 2;
        }
        return edit(ctx, &o, argc, argv);
    }
    return show_params(ctx, &o, argc, argv);
}
