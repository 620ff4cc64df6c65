/*
 * mastercf - master.cf in Postfix syntax (master(5)): one service per
 * logical line, "service type private unpriv chroot wakeup maxproc command
 * [args]", with the comment and continuation rules of main.cf.  Arguments
 * are separated by whitespace; a "{ ... }" group is one argument (its
 * braces are removed), so a value with spaces is written
 * "-o { name = value }".
 *
 * Daemon options come first, as getopt(3) in Postfix daemons reads them:
 * up to the first argument that is not an option, or "--".  Among them
 * "-o name=value" (also "-oname=value", "-o{...}") is a parameter override
 * for that service; "-o" without "name=value" after it is an error (Postfix
 * daemons would stop at start-up).  Options that take an argument (-i -m -n
 * -s -t, Postfix's set) consume it.  Fields are checked as master(8) checks
 * them; errors name the file and the first line of the entry.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"

#define MASTER_FIELDS 8 /* service type private unpriv chroot wakeup maxproc command */

static bool has_space(const char *s)
{
    return strpbrk(s, " \t\r\n\f\v") != NULL;
}

/* unbrace - "{ text }" -> "text"; anything else as is (allocated) */
static char *unbrace(const char *token)
{
    char *copy = xstrdup(token);
    char *inner = str_strip_braces(copy);
    char *result = xstrdup(inner);
    free(copy);
    return result;
}

/* tokenize - whitespace-separated words, "{...}" groups kept whole */
static int tokenize(const char *line, struct strlist *out, char **err)
{
    const char *p = line;
    for (;;) {
        while (*p && strchr(SPACE_CHARS "\f\v", *p))
            p++;
        if (*p == 0)
            return 0;
        const char *start = p;
        int depth = 0;
        for (; *p; p++) {
            if (*p == '{')
                depth++;
            else if (*p == '}' && depth > 0)
                depth--;
            else if (depth == 0 && strchr(SPACE_CHARS "\f\v", *p))
                break;
        }
        if (depth > 0) {
            *err = xstrdup("missing '}'");
            return -1;
        }
        strlist_add_owned(out, xstrndup(start, (size_t) (p - start)));
    }
}

static bool one_of(const char *s, const char *const *set, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, set[i]) == 0)
            return true;
    return false;
}

static bool all_digits(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* check_fields - the seven columns after the service name */
static char *check_fields(char **f)
{
    static const char *const types[] = {"inet", "unix", "unix-dgram", "fifo", "pass"};
    static const char *const yn[] = {"y", "n", "-"};
    static const char *const yn_names[] = {"private", "unpriv", "chroot"};
    if (!one_of(f[1], types, ARRAY_LEN(types)))
        return xasprintf("bad type field \"%s\" (expected inet, unix, unix-dgram, fifo or pass)",
                         f[1]);
    for (int i = 0; i < 3; i++)
        if (!one_of(f[2 + i], yn, ARRAY_LEN(yn)))
            return xasprintf("bad %s field \"%s\" (expected y, n or -)", yn_names[i], f[2 + i]);
    size_t n = strlen(f[5]);
    if (strcmp(f[5], "-") != 0 && !all_digits(f[5], n - (n > 1 && f[5][n - 1] == '?')))
        return xasprintf("bad wakeup field \"%s\" (expected -, N or N?)", f[5]);
    if (strcmp(f[6], "-") != 0 && !all_digits(f[6], strlen(f[6])))
        return xasprintf("bad maxproc field \"%s\" (expected - or a number)", f[6]);
    if (*f[0] == 0)
        return xstrdup("empty service name");
    return NULL;
}

/* override - normalize the text after -o into "name=value" and the form
 * `conf -M` prints; NULL name on error */
static char * override(const char *text, char **display, char **err)
{
    char *inner = unbrace(text);
    char *eq = strchr(inner, '=');
    if (eq == NULL) {
        *err = xasprintf("-o %s: expected name=value", text);
        free(inner);
        return NULL;
    }
    *eq = 0;
    char *name = str_trim(inner), *value = str_trim(eq + 1);
    if (*name == 0 || has_space(name)) {
        *err = xasprintf("-o %s: bad parameter name", text);
        free(inner);
        return NULL;
    }
    char *assignment = xasprintf("%s=%s", name, value);
    *display =
        has_space(assignment) ? xasprintf("-o {%s}", assignment) : xasprintf("-o %s", assignment);
    free(inner);
    return assignment;
}

static void service_free(struct master_service *s);

struct master_parse {
    struct master_config *out;
    const char *file;
};

static int service_line(void *ctx, char *line, int lineno, struct strlist *errors)
{
    struct master_parse *mp = ctx;
    struct strlist tok;
    strlist_init(&tok);
    char *err = NULL;
    if (tokenize(line, &tok, &err) < 0)
        goto fail;
    if (tok.count < MASTER_FIELDS) {
        err = xasprintf("bad field count %zu (a service needs %d: service type private unpriv "
                        "chroot wakeup maxproc command)",
                        tok.count, MASTER_FIELDS);
        goto fail;
    }
    char *f[MASTER_FIELDS];
    for (int i = 0; i < MASTER_FIELDS; i++)
        f[i] = unbrace(tok.items[i]);
    err = check_fields(f);
    if (err != NULL) {
        for (int i = 0; i < MASTER_FIELDS; i++)
            free(f[i]);
        goto fail;
    }
    struct master_config *m = mp->out;
    for (size_t i = 0; i < m->count; i++)
        if (strcmp(m->services[i].name, f[0]) == 0 && strcmp(m->services[i].type, f[1]) == 0) {
            err = xasprintf("duplicate service %s/%s (first at line %d)", f[0], f[1],
                            m->services[i].line);
            for (int j = 0; j < MASTER_FIELDS; j++)
                free(f[j]);
            goto fail;
        }

    struct master_service svc = {0};
    svc.name = f[0];
    svc.type = f[1];
    svc.private_ = f[2];
    svc.unpriv = f[3];
    svc.chroot = f[4];
    svc.wakeup = f[5];
    svc.maxproc = f[6];
    svc.command = f[7];
    svc.file = xstrdup(mp->file);
    svc.line = lineno;
    strlist_init(&svc.args);
    strlist_init(&svc.overrides);
    strlist_init(&svc.argv);

    bool options = true;
    for (size_t i = MASTER_FIELDS; i < tok.count && err == NULL; i++) {
        const char *t = tok.items[i];
        if (options && t[0] == '-' && t[1] != 0) {
            if (strcmp(t, "--") == 0) {
                options = false;
            } else if (t[1] == 'o') {
                const char *text = t[2] ? t + 2 : i + 1 < tok.count ? tok.items[++i] : NULL;
                if (text == NULL) {
                    err = xstrdup("-o at the end of the line, without name=value");
                    break;
                }
                char *display = NULL;
                char *assignment = override(text, &display, &err);
                if (assignment != NULL) {
                    strlist_add_owned(&svc.overrides, assignment);
                    strlist_add_owned(&svc.argv, display);
                }
                continue;
            } else {
                /* an option cluster; one of -i -m -n -s -t takes the rest or the next word */
                for (const char *c = t + 1; *c; c++)
                    if (strchr("imnst", *c)) {
                        if (c[1] == 0 && i + 1 < tok.count) {
                            strlist_add(&svc.args, t);
                            strlist_add(&svc.argv, t);
                            t = tok.items[++i];
                        }
                        break;
                    }
            }
        } else {
            options = false;
        }
        char *word = unbrace(t);
        strlist_add(&svc.args, word);
        strlist_add_owned(&svc.argv, word);
    }
    if (err != NULL) {
        service_free(&svc);
        goto fail;
    }
    m->services = xreallocarray(m->services, m->count + 1, sizeof(*m->services));
    m->services[m->count++] = svc;
    strlist_free(&tok);
    return 0;
fail:
    strlist_add_owned(errors, xasprintf("%s, line %d: %s", mp->file, lineno, err));
    free(err);
    strlist_free(&tok);
    return -1;
}

int master_parse_text(const char *text, size_t len, const char *file, struct master_config *out,
                      struct strlist *errors)
{
    struct master_parse mp = {out, file};
    return config_read_logical(text, len, file, "a service entry", errors, service_line, &mp);
}

int master_load(const char *path, bool missing_ok, struct master_config *out,
                struct strlist *errors)
{
    struct buf text;
    buf_init(&text);
    if (file_read_all(path, &text) == -1) {
        int e = errno;
        buf_free(&text);
        if (e == ENOENT && missing_ok)
            return 0;
        strlist_add_owned(errors, xasprintf("open %s: %s", path, strerror(e)));
        return -1;
    }
    int rc = master_parse_text(text.data ? text.data : "", text.len, path, out, errors);
    buf_free(&text);
    return rc;
}

static void service_free(struct master_service *s)
{
    free(s->name);
    free(s->type);
    free(s->private_);
    free(s->unpriv);
    free(s->chroot);
    free(s->wakeup);
    free(s->maxproc);
    free(s->command);
    free(s->file);
    strlist_free(&s->args);
    strlist_free(&s->overrides);
    strlist_free(&s->argv);
}

void master_free(struct master_config *m)
{
    for (size_t i = 0; i < m->count; i++)
        service_free(&m->services[i]);
    free(m->services);
    m->services = NULL;
    m->count = 0;
}

struct config *master_service_config(struct config *main, const struct master_service *svc)
{
    struct config *child = config_new(NULL, main);
    for (size_t i = 0; i < svc->overrides.count; i++) {
        const char *a = svc->overrides.items[i];
        const char *eq = strchr(a, '=');
        char *name = xstrndup(a, (size_t) (eq - a));
        config_set(child, name, eq + 1, svc->file, svc->line);
        free(name);
    }
    config_warn_override(main, NULL, svc);
    return child;
}
