/*
 * queue_file - the queue file format (docs/queue-format.md): records are
 * "key value" lines with every byte outside '!'..'~' and '%' itself
 * written as %XX, so a value is one printable token; the version line
 * "POSTERN-QUEUE 1" comes first, the line "content" ends the envelope, the
 * content follows byte for byte, and the file ends with "end LENGTH ID".
 *
 * The parsers here trust nothing: a line longer than QUEUE_RECORD_MAX, an
 * envelope longer than QUEUE_ENVELOPE_MAX, a bad escape, a missing id,
 * arrival or sender record, or an end record that does not put the end of
 * the content exactly where the file ends make the file damaged (EBADMSG);
 * a file that does not start with the version line of a version this code
 * reads is not ours (EPROTO).  Nothing is handed out from a file that fails.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "queue/queue_int.h"

static const char hex[] = "0123456789ABCDEF";

void queue_record_put(struct buf *b, const char *key, const char *value)
{
    if (value == NULL)
        return;
    buf_puts(b, key);
    if (*value)
        buf_putc(b, ' ');
    for (const unsigned char *p = (const unsigned char *) value; *p; p++) {
        if (*p > 0x20 && *p < 0x7f && *p != '%') {
            buf_putc(b, *p);
        } else {
            char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            buf_append(b, esc, 3);
        }
    }
    buf_putc(b, '\n');
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* unescape - the value of a record; NULL when it is not well formed */
static char *unescape(const char *s, size_t len)
{
    char *out = xmalloc(len + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) s[i];
        if (c == '%') {
            int hi = i + 2 < len ? hexval(s[i + 1]) : -1;
            int lo = i + 2 < len ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                free(out);
                return NULL;
            }
            out[n++] = (char) (hi << 4 | lo);
            i += 2;
        } else if (c > 0x20 && c < 0x7f) {
            out[n++] = (char) c;
        } else {
            free(out);
            return NULL;
        }
    }
    out[n] = 0;
    return out;
}

static bool key_ok(const char *s, size_t len)
{
    if (len == 0 || len > 64)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_' || (s[i] >= '0' && s[i] <= '9')))
            return false;
    return true;
}

/* parse_decimal - digits only, no sign, no leading zero but "0" */
static int parse_decimal(const char *s, size_t len, uint64_t *out)
{
    if (len == 0 || len > 19 || (len > 1 && s[0] == '0'))
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t) (s[i] - '0');
    }
    *out = v;
    return 0;
}

static void entry_fields_free(struct queue_entry *e)
{
    free(e->sender);
    e->sender = NULL;
    strlist_free(&e->recipients);
    strlist_free(&e->names);
    strlist_free(&e->values);
}

int queue_parse_envelope(const char *data, size_t len, struct queue_entry *e,
                         size_t *content_offset, char file_id[QUEUE_ID_MAX])
{
    static const char magic[] = QUEUE_FILE_MAGIC " ";
    size_t mlen = sizeof(magic) - 1;
    if (memcmp(data, magic, len < mlen ? len : mlen) != 0) {
        errno = EPROTO;
        return -1;
    }
    const char *nl = len > mlen ? memchr(data + mlen, '\n', len - mlen) : NULL;
    if (nl == NULL) {
        if (len - (len < mlen ? len : mlen) > 20) {
            errno = EPROTO;
            return -1;
        }
        return 1;
    }
    uint64_t version;
    if (parse_decimal(data + mlen, (size_t) (nl - data) - mlen, &version) == -1 ||
        version != QUEUE_FILE_VERSION) {
        errno = EPROTO;
        return -1;
    }

    struct queue_entry tmp;
    memset(&tmp, 0, sizeof(tmp));
    strlist_init(&tmp.recipients);
    strlist_init(&tmp.names);
    strlist_init(&tmp.values);
    bool have_id = false, have_arrival = false;
    size_t pos = (size_t) (nl - data) + 1;
    for (;;) {
        if (pos > QUEUE_ENVELOPE_MAX)
            goto bad;
        size_t avail = len - pos;
        const char *line = data + pos;
        const char *end = memchr(line, '\n', avail < QUEUE_RECORD_MAX ? avail : QUEUE_RECORD_MAX);
        if (end == NULL) {
            entry_fields_free(&tmp);
            if (avail >= QUEUE_RECORD_MAX || len >= QUEUE_ENVELOPE_MAX) {
                errno = EBADMSG;
                return -1;
            }
            return 1;
        }
        size_t llen = (size_t) (end - line);
        pos += llen + 1;
        if (llen == sizeof(QUEUE_CONTENT_MARK) - 1 && memcmp(line, QUEUE_CONTENT_MARK, llen) == 0)
            break;
        const char *sp = memchr(line, ' ', llen);
        size_t klen = sp ? (size_t) (sp - line) : llen;
        if (!key_ok(line, klen))
            goto bad;
        char *key = xstrndup(line, klen);
        char *value = sp ? unescape(sp + 1, llen - klen - 1) : xstrdup("");
        if (value == NULL) {
            free(key);
            goto bad;
        }
        strlist_add_owned(&tmp.names, key);
        strlist_add_owned(&tmp.values, value);
        if (strcmp(key, "id") == 0) {
            if (have_id || !queue_id_valid(value))
                goto bad;
            strcpy(file_id, value);
            have_id = true;
        } else if (strcmp(key, "arrival") == 0) {
            uint64_t t;
            if (have_arrival || parse_decimal(value, strlen(value), &t) == -1)
                goto bad;
            tmp.arrival = (time_t) t;
            have_arrival = true;
        } else if (strcmp(key, "sender") == 0) {
            if (tmp.sender)
                goto bad;
            tmp.sender = xstrdup(value);
        } else if (strcmp(key, "rcpt") == 0) {
            strlist_add(&tmp.recipients, value);
        }
    }
    if (!have_id || !have_arrival || tmp.sender == NULL)
        goto bad;
    entry_fields_free(e);
    e->arrival = tmp.arrival;
    e->sender = tmp.sender;
    e->recipients = tmp.recipients;
    e->names = tmp.names;
    e->values = tmp.values;
    *content_offset = pos;
    return 0;

bad:
    entry_fields_free(&tmp);
    errno = EBADMSG;
    return -1;
}

int queue_parse_tail(const char *tail, size_t tail_len, uint64_t file_size, size_t content_offset,
                     const char *file_id, uint64_t *content_len)
{
    /* "end " LENGTH " " ID "\n", parsed from the right: the content before
     * it may hold anything, including text that looks like an end record. */
    size_t idlen = strlen(file_id);
    size_t suffix = idlen + 2; /* " ID\n" */
    if (tail_len < suffix + 5 || tail[tail_len - 1] != '\n' || tail[tail_len - suffix] != ' ' ||
        memcmp(tail + tail_len - suffix + 1, file_id, idlen) != 0)
        goto bad;
    size_t digits_end = tail_len - suffix, p = digits_end;
    while (p > 0 && tail[p - 1] >= '0' && tail[p - 1] <= '9')
        p--;
    uint64_t n;
    if (p < 4 || memcmp(tail + p - 4, QUEUE_END_KEY " ", 4) != 0 ||
        parse_decimal(tail + p, digits_end - p, &n) == -1)
        goto bad;
    uint64_t record = tail_len - (p - 4);
    if (file_size < record || (uint64_t) content_offset > file_size - record ||
        n != file_size - record - content_offset)
        goto bad;
    *content_len = n;
    return 0;
bad:
    errno = EBADMSG;
    return -1;
}
