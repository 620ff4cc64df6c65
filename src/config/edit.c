/*
 * edit - `postern conf -e name=value ...` and `-X name ...`: rewrite main.cf
 * in place as postconf(1) does.  Every assignment of a named parameter is
 * replaced by "name = value" (or removed), together with its continuation
 * lines; comments and blank lines, even between continuation lines, stay,
 * as do order and layout of everything else.  New names are appended at the
 * end (after a newline, should the file not end with one).  The new text is
 * written to a temporary file in the same directory, fsync'ed, given the old
 * file's permissions and renamed over main.cf, and the directory is
 * fsync'ed, so a crash leaves either the old or the new file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/internal.h"

struct edit {
    const char *name;
    const char *value; /* NULL: remove */
    bool done;
};

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* line_name - the parameter an assignment line sets (allocated), or NULL */
static char *line_name(const char *line, size_t n)
{
    const char *eq = memchr(line, '=', n);
    if (eq == NULL)
        return NULL;
    const char *end = eq;
    while (end > line && is_blank(end[-1]))
        end--;
    if (end == line)
        return NULL;
    return xstrndup(line, (size_t) (end - line));
}

static int write_file(const char *path, const struct buf *text, struct strlist *errors)
{
    struct stat st;
    bool have_mode = stat(path, &st) == 0;
    char *tmp = xasprintf("%s.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd == -1) {
        strlist_add_owned(errors, xasprintf("create %s: %s", tmp, strerror(errno)));
        free(tmp);
        return -1;
    }
    const char *failed = NULL;
    size_t off = 0;
    while (off < text->len && failed == NULL) {
        ssize_t w = write(fd, text->data + off, text->len - off);
        if (w == -1 && errno != EINTR)
            failed = "write";
        else if (w > 0)
            off += (size_t) w;
    }
    if (failed == NULL && have_mode && fchmod(fd, st.st_mode & 07777) == -1)
        failed = "chmod";
    if (failed == NULL && have_mode && geteuid() == 0 && fchown(fd, st.st_uid, st.st_gid) == -1)
        failed = "chown";
    if (failed == NULL && fsync(fd) == -1)
        failed = "fsync";
    if (close(fd) == -1 && failed == NULL)
        failed = "close";
    if (failed == NULL && rename(tmp, path) == -1)
        failed = "rename";
    if (failed != NULL) {
        strlist_add_owned(errors, xasprintf("%s %s: %s", failed, tmp, strerror(errno)));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    if (file_fsync_dir(path) == -1) {
        strlist_add_owned(errors, xasprintf("fsync directory of %s: %s", path, strerror(errno)));
        return -1;
    }
    return 0;
}

static int edit_main(const char *path, struct edit *edits, size_t count, struct strlist *errors)
{
    struct buf old, text;
    buf_init(&old);
    buf_init(&text);
    if (file_read_all(path, &old) == -1) {
        strlist_add_owned(errors, xasprintf("open %s: %s", path, strerror(errno)));
        buf_free(&old);
        return -1;
    }
    struct edit *current = NULL; /* the entry whose continuation lines are dropped */
    size_t pos = 0;
    while (pos < old.len) {
        const char *line = old.data + pos;
        const char *nl = memchr(line, '\n', old.len - pos);
        size_t n = nl ? (size_t) (nl - line) + 1 : old.len - pos;
        pos += n;
        size_t i = 0;
        while (i < n && (is_blank(line[i]) || line[i] == '\n'))
            i++;
        if (i == n || line[i] == '#') {
            buf_append(&text, line, n); /* blank or comment: always kept */
            continue;
        }
        if (i > 0) {
            if (current == NULL) /* continuation of an entry we keep */
                buf_append(&text, line, n);
            continue;
        }
        current = NULL;
        char *name = line_name(line, n);
        for (size_t k = 0; name != NULL && k < count; k++)
            if (strcmp(edits[k].name, name) == 0) {
                current = &edits[k];
                break;
            }
        free(name);
        if (current == NULL) {
            buf_append(&text, line, n);
            continue;
        }
        if (current->done)
            log_warnx("%s: multiple entries for \"%s\"", path, current->name);
        current->done = true;
        if (current->value != NULL)
            buf_printf(&text, "%s = %s\n", current->name, current->value);
    }
    for (size_t k = 0; k < count; k++) {
        if (edits[k].done || edits[k].value == NULL)
            continue;
        if (text.len > 0 && text.data[text.len - 1] != '\n')
            buf_putc(&text, '\n');
        buf_printf(&text, "%s = %s\n", edits[k].name, edits[k].value);
        edits[k].done = true;
    }
    int rc = write_file(path, &text, errors);
    buf_free(&old);
    buf_free(&text);
    return rc;
}

static bool valid_name(const char *name)
{
    if (*name == 0)
        return false;
    for (const char *p = name; *p; p++)
        if ((unsigned char) *p <= ' ' || *p == '=' || *p == '#' || *p == 0x7f)
            return false;
    return true;
}

int config_edit_file(const char *path, const struct strlist *assignments, struct strlist *errors)
{
    struct edit *edits = xcalloc(assignments->count + 1, sizeof(*edits));
    struct strlist store;
    strlist_init(&store);
    int bad = 0;
    size_t count = 0;
    for (size_t i = 0; i < assignments->count; i++) {
        const char *a = assignments->items[i];
        const char *eq = strchr(a, '=');
        if (eq == NULL) {
            strlist_add_owned(errors, xasprintf("missing '=' after parameter name: \"%s\"", a));
            bad++;
            continue;
        }
        char *name = xstrndup(a, (size_t) (eq - a));
        char *value = xstrdup(eq + 1);
        strlist_add_owned(&store, name);
        strlist_add_owned(&store, value);
        name = str_trim(name);
        value = str_trim(value);
        if (!valid_name(name)) {
            strlist_add_owned(errors, xasprintf("bad parameter name in \"%s\"", a));
            bad++;
            continue;
        }
        if (strpbrk(value, "\n\r") != NULL) {
            strlist_add_owned(errors, xasprintf("%s: the value must be one line", name));
            bad++;
            continue;
        }
        /* a name given twice: the last value wins */
        size_t k = 0;
        while (k < count && strcmp(edits[k].name, name) != 0)
            k++;
        edits[k].name = name;
        edits[k].value = value;
        if (k == count)
            count++;
    }
    int rc = bad ? -1 : edit_main(path, edits, count, errors);
    strlist_free(&store);
    free(edits);
    return rc;
}

int config_edit_remove(const char *path, const struct strlist *names, struct strlist *errors)
{
    struct edit *edits = xcalloc(names->count + 1, sizeof(*edits));
    for (size_t i = 0; i < names->count; i++) {
        if (!valid_name(names->items[i])) {
            strlist_add_owned(errors, xasprintf("bad parameter name \"%s\"", names->items[i]));
            free(edits);
            return -1;
        }
        edits[i].name = names->items[i];
    }
    int rc = edit_main(path, edits, names->count, errors);
    free(edits);
    return rc;
}
