/*
 * map - `postern map`, the postmap(1) of postern: build indexed tables from
 * their text source, query (-q KEY, -q -), dump (-s), update from stdin
 * (-i) and delete (-d).  A NAME without TYPE: is hash:NAME, as in postmap.
 * Exit status: 0 success or found; 1 not found; 2 usage or table error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "table/table.h"

enum map_mode { MODE_BUILD, MODE_QUERY, MODE_DUMP, MODE_UPDATE, MODE_DELETE };

static char *qualify(const char *arg)
{
    if (strchr(arg, ':') != NULL)
        return xstrdup(arg);
    return xasprintf("hash:%s", arg);
}

/* query_one - look key up in the tables in order: 0 found, 1 not, 2 error */
static int query_one(char **specs, int count, unsigned flags, const char *key, bool with_key)
{
    for (int i = 0; i < count; i++) {
        struct table *t = table_open(specs[i], flags);
        if (table_open_error(t) != NULL) {
            table_close(t);
            return 2;
        }
        const char *value;
        enum table_status st = table_lookup(t, key, &value);
        if (st == TABLE_FOUND) {
            if (*value == 0) {
                /* postmap's warning: a table should not find "" */
                log_warnx("table %s: key %s: empty string result is not allowed", specs[i], key);
                log_warnx("table %s should return NO RESULT in case of NOT FOUND", specs[i]);
            }
            if (with_key)
                printf("%s\t%s\n", key, value);
            else
                printf("%s\n", value);
            table_close(t);
            return 0;
        }
        table_close(t);
        if (st != TABLE_NOTFOUND) {
            log_errorx("table %s: query error for \"%s\"", specs[i], key);
            return 2;
        }
    }
    return 1;
}

static int query_stdin(char **specs, int count, unsigned flags)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 1;
    /* As postmap: each line is a key exactly as written, without its
     * newline (blank lines and surrounding spaces included). */
    while ((n = getline(&line, &cap, stdin)) != -1) {
        if (n > 0 && line[n - 1] == '\n')
            line[--n] = 0;
        int r = query_one(specs, count, flags, line, true);
        if (r == 2) {
            rc = 2;
            break;
        }
        if (r == 0)
            rc = 0;
    }
    free(line);
    return rc;
}

static int dump(const char *spec, unsigned flags)
{
    struct table *t = table_open(spec, flags);
    if (table_open_error(t) != NULL) {
        table_close(t);
        return 2;
    }
    const char *key, *value;
    int r;
    for (bool first = true; (r = table_sequence(t, first, &key, &value)) == 0; first = false)
        printf("%s\t%s\n", key, value);
    int saved_errno = errno;
    table_close(t);
    if (r == -1) {
        if (saved_errno == ENOTSUP)
            log_errorx("table %s: sequence operation is not supported", spec);
        else
            log_errorx("table %s: cannot list its entries", spec);
        return 2;
    }
    return 0;
}

/* writer - open an indexed table for changes, or say why not */
static struct table *writer(const char *spec, unsigned flags)
{
    struct table *t = table_open(spec, flags | TABLE_OPEN_WRITE);
    if (table_open_error(t) != NULL) {
        table_close(t);
        return NULL;
    }
    if (t->type->update == NULL || t->type->commit == NULL) {
        log_errorx("%s: table type %s cannot be changed; edit its source", spec, t->type->name);
        table_close(t);
        return NULL;
    }
    return t;
}

static int finish(struct table *t, int rc)
{
    struct buf err;
    buf_init(&err);
    if (rc != 2 && t->type->commit(t, &err) == -1) {
        log_errorx("%s", buf_cstr(&err));
        rc = 2;
    }
    buf_free(&err);
    table_close(t);
    return rc;
}

static int update_stdin(const char *spec, unsigned flags)
{
    struct table *t = writer(spec, flags);
    if (t == NULL)
        return 2;
    struct buf input, err;
    buf_init(&input);
    buf_init(&err);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
        buf_append(&input, chunk, n);
    struct table_source src;
    table_source_init_text(&src, "-", buf_cstr(&input), input.len);
    buf_free(&input);
    char *key, *value;
    int rc = 0;
    struct buf folded;
    buf_init(&folded);
    char *db = table_indexed_path(t->name);
    while (table_source_next(&src, &key, &value)) {
        /* As postmap -i: a key already there (or earlier in the input)
         * keeps its value, with a warning; -r replaces it, -w is quiet. */
        const char *old;
        if (!(flags & TABLE_OPEN_DUP_LAST) && t->type->lookup(t, key, &old) == TABLE_FOUND) {
            if (!(flags & TABLE_OPEN_DUP_OK))
                log_warnx("%s: duplicate entry: \"%s\"", db, table_fold(t, key, &folded));
            continue;
        }
        if (t->type->update(t, key, value, &err) == -1) {
            log_errorx("%s", buf_cstr(&err));
            rc = 2;
            break;
        }
    }
    table_source_close(&src);
    buf_free(&err);
    buf_free(&folded);
    free(db);
    return finish(t, rc);
}

static int delete_keys(const char *spec, unsigned flags, const char *key)
{
    struct table *t = writer(spec, flags);
    if (t == NULL)
        return 2;
    if (t->type->remove == NULL) {
        log_errorx("%s: table type %s cannot delete entries", spec, t->type->name);
        table_close(t);
        return 2;
    }
    struct buf err;
    buf_init(&err);
    int rc = 1;
    if (strcmp(key, "-") != 0) {
        int r = t->type->remove(t, key, &err);
        rc = r == 0 ? 0 : r == 1 ? 1 : 2;
    } else {
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        while (rc != 2 && (n = getline(&line, &cap, stdin)) != -1) {
            char *k = str_trim(line);
            if (*k == 0)
                continue;
            int r = t->type->remove(t, k, &err);
            if (r == 0)
                rc = 0;
            else if (r == -1)
                rc = 2;
        }
        free(line);
    }
    if (rc == 2)
        log_errorx("%s", buf_cstr(&err));
    buf_free(&err);
    return finish(t, rc);
}

int cli_map(struct cli_context *ctx, int argc, char **argv)
{
    enum map_mode mode = MODE_BUILD;
    const char *key = NULL;
    unsigned flags = TABLE_OPEN_FOLD;
    int c;
    optind = 1;
    while ((c = getopt(argc, argv, "c:d:fiNnopq:rsuUvw")) != -1) {
        switch (c) {
        case 'c': ctx->config_dir = optarg; break;
        case 'd': mode = MODE_DELETE, key = optarg; break;
        case 'f': flags = (flags & ~TABLE_OPEN_FOLD) | TABLE_OPEN_NOFOLD; break;
        case 'i': mode = MODE_UPDATE; break;
        case 'q': mode = MODE_QUERY, key = optarg; break;
        case 'r': flags |= TABLE_OPEN_DUP_LAST; break;
        case 's': mode = MODE_DUMP; break;
        case 'w': flags |= TABLE_OPEN_DUP_OK; break;
        case 'v': log_set_verbose(log_verbose_level() + 1); break;
        case 'N':
        case 'n':
        case 'o':
        case 'p':
        case 'u':
        case 'U':
            /* postmap options about Berkeley DB details or mail headers:
             * accepted for script compatibility, no effect here. */
            break;
        default: cli_print_usage("map"); return 2;
        }
    }
    int count = argc - optind;
    if (count < 1) {
        cli_print_usage("map");
        return 2;
    }
    char **specs = xcalloc((size_t) count + 1, sizeof(char *));
    for (int i = 0; i < count; i++)
        specs[i] = qualify(argv[optind + i]);

    int rc = 0;
    switch (mode) {
    case MODE_QUERY:
        rc = strcmp(key, "-") == 0 ? query_stdin(specs, count, flags)
                                   : query_one(specs, count, flags, key, false);
        break;
    case MODE_DUMP:
        for (int i = 0; i < count && rc == 0; i++)
            rc = dump(specs[i], flags);
        break;
    case MODE_UPDATE:
        rc = count == 1 ? update_stdin(specs[0], flags) : (cli_print_usage("map"), 2);
        break;
    case MODE_DELETE: {
        rc = 1;
        for (int i = 0; i < count; i++) {
            int r = delete_keys(specs[i], flags, key);
            if (r == 2 || (r == 0 && rc == 1))
                rc = r;
        }
        break;
    }
    case MODE_BUILD:
        for (int i = 0; i < count; i++)
            if (table_build(specs[i], flags) == -1)
                rc = 2;
        break;
    }
    for (int i = 0; i < count; i++)
        free(specs[i]);
    free(specs);
    table_cache_clear();
    return rc;
}
