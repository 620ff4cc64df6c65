/*
 * str - string helpers: ASCII case folding, trimming, whole-string number
 * conversion, printable copies of client text, string vectors, and the list
 * tokenizer that all Postfix-style list values go through.  Lists follow
 * Postfix's rule: separators split tokens except inside "{ }" groups, which
 * may nest and may start in the middle of a token ("inline:{a=b, c=d}").
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void str_lower(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char) (*s + ('a' - 'A'));
}

void str_upper(char *s)
{
    for (; *s; s++)
        if (*s >= 'a' && *s <= 'z')
            *s = (char) (*s - ('a' - 'A'));
}

bool str_has_upper(const char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            return true;
    return false;
}

bool str_eq_nocase(const char *a, const char *b)
{
    return strcasecmp(a, b) == 0;
}

bool str_prefix_nocase(const char *s, const char *prefix)
{
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

bool str_suffix_nocase(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && strcasecmp(s + ls - lx, suffix) == 0;
}

static bool is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

char *str_trim(char *s)
{
    while (is_space((unsigned char) *s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && is_space((unsigned char) s[n - 1]))
        s[--n] = 0;
    return s;
}

bool str_is_blank(const char *s)
{
    for (; *s; s++)
        if (!is_space((unsigned char) *s))
            return false;
    return true;
}

int str_to_long(const char *s, long *out)
{
    if (*s == 0 || is_space((unsigned char) *s))
        return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != 0)
        return -1;
    *out = v;
    return 0;
}

void buf_put_printable(struct buf *b, const char *s, size_t len)
{
    buf_reserve(b, len);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) s[i];
        b->data[b->len++] = (c < 0x20 || c >= 0x7f) ? '?' : (char) c;
    }
    b->data[b->len] = 0;
}

char *str_printable(const char *s, size_t len)
{
    struct buf b;
    buf_init(&b);
    buf_put_printable(&b, s, len);
    return buf_steal(&b);
}

bool str_valid_utf8(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *) s, *end = p + len;
    while (p < end) {
        unsigned c = *p;
        if (c < 0x80) {
            p++;
            continue;
        }
        size_t n;
        unsigned cp, min;
        if ((c & 0xe0) == 0xc0) {
            n = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if ((size_t) (end - p) <= n)
            return false;
        for (size_t i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        /* no overlong forms, surrogates or code points past U+10FFFF */
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        p += n + 1;
    }
    return true;
}

void strlist_init(struct strlist *l)
{
    l->items = NULL;
    l->count = 0;
    l->cap = 0;
}

void strlist_add_owned(struct strlist *l, char *s)
{
    if (l->count + 1 >= l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->items = xreallocarray(l->items, l->cap, sizeof(*l->items));
    }
    l->items[l->count++] = s;
    l->items[l->count] = NULL;
}

void strlist_add(struct strlist *l, const char *s)
{
    strlist_add_owned(l, xstrdup(s));
}

void strlist_free(struct strlist *l)
{
    for (size_t i = 0; i < l->count; i++)
        free(l->items[i]);
    free(l->items);
    strlist_init(l);
}

char *strlist_join(const struct strlist *l, const char *sep)
{
    struct buf b;
    buf_init(&b);
    for (size_t i = 0; i < l->count; i++) {
        if (i)
            buf_puts(&b, sep);
        buf_puts(&b, l->items[i]);
    }
    return buf_steal(&b);
}

char *str_next_token(char **cursor, const char *seps)
{
    char *s = *cursor;
    if (s == NULL)
        return NULL;
    s += strspn(s, seps);
    if (*s == 0) {
        *cursor = s;
        return NULL;
    }
    char *start = s;
    int depth = 0;
    for (; *s; s++) {
        if (*s == '{')
            depth++;
        else if (*s == '}' && depth > 0)
            depth--;
        else if (depth == 0 && strchr(seps, *s))
            break;
    }
    if (*s)
        *s++ = 0;
    *cursor = s;
    return start;
}

int str_split_list(const char *s, const char *seps, struct strlist *out, char **err)
{
    size_t len = strlen(s);
    size_t i = 0;
    while (i < len) {
        while (i < len && strchr(seps, s[i]))
            i++;
        if (i >= len)
            break;
        size_t start = i;
        int depth = 0;
        for (; i < len; i++) {
            if (s[i] == '{') {
                depth++;
            } else if (s[i] == '}') {
                if (depth == 0) {
                    if (err)
                        *err = xasprintf("unexpected '}' in \"%s\"", s);
                    return -1;
                }
                depth--;
            } else if (depth == 0 && strchr(seps, s[i])) {
                break;
            }
        }
        if (depth != 0) {
            if (err)
                *err = xasprintf("missing '}' in \"%s\"", s);
            return -1;
        }
        strlist_add_owned(out, xstrndup(s + start, i - start));
    }
    return 0;
}

char *str_strip_braces(char *s)
{
    size_t n = strlen(s);
    if (n >= 2 && s[0] == '{' && s[n - 1] == '}') {
        s[n - 1] = 0;
        return str_trim(s + 1);
    }
    return s;
}
