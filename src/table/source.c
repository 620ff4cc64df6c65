/*
 * source - the text format of table sources, as postmap(1) reads it.  A
 * logical line starts with non-whitespace; a physical line that starts with
 * whitespace continues it (also after blank and comment lines).  Lines whose
 * first non-whitespace character is '#' are comments; blank lines are
 * ignored.  An entry is "key whitespace value"; whitespace inside the value
 * is kept, around it trimmed.  Every warning names the file and line.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "table/table.h"

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

void table_source_init_text(struct table_source *src, const char *path, const char *text,
                            size_t len)
{
    memset(src, 0, sizeof(*src));
    src->path = path;
    buf_init(&src->text);
    buf_append(&src->text, text, len);
    buf_init(&src->logical);
    src->next_line = 1;
}

int table_source_open(struct table_source *src, const char *path)
{
    memset(src, 0, sizeof(*src));
    src->path = path;
    buf_init(&src->text);
    buf_init(&src->logical);
    src->next_line = 1;
    if (file_read_all(path, &src->text) == -1) {
        int e = errno;
        buf_free(&src->text);
        errno = e;
        return -1;
    }
    return 0;
}

void table_source_close(struct table_source *src)
{
    buf_free(&src->text);
    buf_free(&src->logical);
}

/* skippable - blank or comment line */
static bool skippable(const char *p, size_t n)
{
    size_t i = 0;
    while (i < n && is_ws(p[i]))
        i++;
    return i == n || p[i] == '#';
}

/* next_content - offset and length of the next line that is not blank or a
 * comment, starting at scan; false at the end.  *skipped counts lines. */
static bool next_content(const struct table_source *src, size_t scan, size_t *off, size_t *len,
                         size_t *next, int *skipped)
{
    *skipped = 0;
    while (scan < src->text.len) {
        const char *q = src->text.data + scan;
        const char *nl = memchr(q, '\n', src->text.len - scan);
        size_t m = nl ? (size_t) (nl - q) : src->text.len - scan;
        size_t after = scan + m + (nl ? 1 : 0);
        if (!skippable(q, m)) {
            *off = scan;
            *len = m;
            *next = after;
            return true;
        }
        (*skipped)++;
        scan = after;
    }
    return false;
}

/*
 * A logical line made of one physical line is returned in place (the text
 * buffer is ours); joined lines are assembled in src->logical, which the
 * next call reuses.
 */
char *table_source_next_line(struct table_source *src)
{
    size_t off, len, next;
    int skipped;
    char *line;
    for (;;) {
        if (!next_content(src, src->pos, &off, &len, &next, &skipped))
            return NULL;
        src->next_line += skipped + 1;
        src->pos = next;
        line = src->text.data + off;
        if (!is_ws(line[0]))
            break;
        char *shown = xstrndup(line, len);
        log_warnx("%s, line %d: logical line must not start with whitespace: \"%s\"", src->path,
                  src->next_line - 1, str_trim(shown));
        free(shown);
    }
    src->line = src->next_line - 1;
    bool joined = false;
    size_t coff, clen, cnext;
    while (next_content(src, src->pos, &coff, &clen, &cnext, &skipped) &&
           is_ws(src->text.data[coff])) {
        if (!joined) {
            buf_reset(&src->logical);
            buf_append(&src->logical, line, len);
            joined = true;
        }
        buf_append(&src->logical, src->text.data + coff, clen);
        src->next_line += skipped + 1;
        src->pos = cnext;
    }
    if (joined) {
        line = src->logical.data;
        len = src->logical.len;
    } else {
        line[len] = 0; /* was '\n' or the end of the text */
    }
    while (len > 0 && is_ws(line[len - 1]))
        line[--len] = 0;
    return line;
}

bool table_source_next(struct table_source *src, char **key, char **value)
{
    char *line;
    while ((line = table_source_next_line(src)) != NULL) {
        char *p = line;
        while (*p && !is_ws(*p))
            p++;
        char *k_end = p;
        while (*p && is_ws(*p))
            p++;
        if (*p == 0) {
            log_warnx("%s, line %d: expected format: key whitespace value -- ignoring this line",
                      src->path, src->line);
            continue;
        }
        *k_end = 0;
        if (k_end > line && k_end[-1] == ':')
            log_warnx("%s, line %d: record is in \"key: value\" format; is this an alias file?",
                      src->path, src->line);
        *key = line;
        *value = p;
        return true;
    }
    return false;
}
