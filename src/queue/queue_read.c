/*
 * queue_read - reading queue files for tools: queue_read takes one whole
 * file (envelope and content), queue_scan reads only the envelope and the
 * end record of each file in the message directories.  Both check the
 * whole file before handing anything out (queue_file.c): a file without
 * its end record, or whose end record does not match, is incomplete, and
 * nothing but that fact is reported.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "queue/queue_int.h"

#define SCAN_FIRST_READ 65536

static void entry_init(struct queue_entry *e)
{
    memset(e, 0, sizeof(*e));
    strlist_init(&e->recipients);
    strlist_init(&e->names);
    strlist_init(&e->values);
    e->size = -1;
}

void queue_entry_clear(struct queue_entry *e)
{
    free(e->dir);
    free(e->path);
    free(e->sender);
    strlist_free(&e->recipients);
    strlist_free(&e->names);
    strlist_free(&e->values);
    entry_init(e);
}

void queue_entries_free(struct queue_entry *entries, size_t count)
{
    for (size_t i = 0; i < count; i++)
        queue_entry_clear(&entries[i]);
    free(entries);
}

/* set_names - qid, dir and path of the entry from its path */
static void set_names(struct queue_entry *e, const char *path)
{
    e->path = xstrdup(path);
    char *copy = xstrdup(path);
    const char *name = basename(copy);
    size_t len = strnlen(name, QUEUE_ID_MAX - 1);
    memcpy(e->qid, name, len);
    e->qid[len] = 0;
    free(copy);
    copy = xstrdup(path);
    char *parent = dirname(copy);
    char *copy2 = xstrdup(parent);
    e->dir = xstrdup(basename(copy2));
    free(copy2);
    free(copy);
}

/* parse_whole - check and parse a whole file held in data */
static int parse_whole(const char *data, size_t len, struct queue_entry *e, size_t *offset,
                       uint64_t *content_len)
{
    char file_id[QUEUE_ID_MAX];
    int rc = queue_parse_envelope(data, len, e, offset, file_id);
    if (rc == 1) {
        errno = EBADMSG; /* the file ends inside the envelope */
        return -1;
    }
    if (rc == -1)
        return -1;
    size_t tail = len - *offset < QUEUE_TAIL_MAX ? len - *offset : QUEUE_TAIL_MAX;
    return queue_parse_tail(data + len - tail, tail, len, *offset, file_id, content_len);
}

int queue_read(const char *path, struct queue_entry *env, struct buf *content)
{
    entry_init(env);
    struct buf data;
    buf_init(&data);
    if (file_read_all(path, &data) == -1) {
        int e = errno;
        buf_free(&data);
        errno = e;
        return -1;
    }
    size_t offset;
    uint64_t clen;
    if (parse_whole(data.data ? data.data : "", data.len, env, &offset, &clen) == -1) {
        int e = errno;
        queue_entry_clear(env);
        buf_free(&data);
        if (content)
            buf_reset(content);
        errno = e;
        return -1;
    }
    set_names(env, path);
    env->size = (long) clen;
    env->complete = true;
    if (content) {
        buf_reset(content);
        buf_append(content, data.data + offset, (size_t) clen);
    }
    buf_free(&data);
    return 0;
}

/* read_upto - read from fd until b holds want bytes or the file ends */
static int read_upto(int fd, struct buf *b, size_t want, bool *eof)
{
    while (b->len < want) {
        buf_reserve(b, want - b->len);
        ssize_t n = read(fd, b->data + b->len, want - b->len);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0) {
            *eof = true;
            break;
        }
        b->len += (size_t) n;
        b->data[b->len] = 0;
    }
    return 0;
}

/* scan_one - envelope and end record of dir/name into e */
static int scan_one(int dirfd, const char *name, struct queue_entry *e)
{
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd == -1)
        return -1;
    struct stat st;
    if (fstat(fd, &st) == -1) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    e->arrival = st.st_mtime;
    struct buf b;
    buf_init(&b);
    bool eof = false;
    size_t want = SCAN_FIRST_READ;
    char file_id[QUEUE_ID_MAX];
    size_t offset = 0;
    int rc;
    for (;;) {
        if (read_upto(fd, &b, want, &eof) == -1) {
            rc = -1;
            break;
        }
        rc = queue_parse_envelope(b.data ? b.data : "", b.len, e, &offset, file_id);
        if (rc != 1)
            break;
        if (eof || want > QUEUE_ENVELOPE_MAX) {
            errno = EBADMSG;
            rc = -1;
            break;
        }
        want *= 4;
    }
    uint64_t size = (uint64_t) st.st_size, clen = 0;
    if (rc == 0) {
        char tail[QUEUE_TAIL_MAX];
        size_t tlen = 0;
        if (size >= offset) {
            tlen = size - offset < QUEUE_TAIL_MAX ? (size_t) (size - offset) : QUEUE_TAIL_MAX;
            ssize_t n = pread(fd, tail, tlen, (off_t) (size - tlen));
            if (n != (ssize_t) tlen)
                tlen = 0;
        }
        rc = queue_parse_tail(tail, tlen, size, offset, file_id, &clen);
    }
    int err = errno;
    close(fd);
    buf_free(&b);
    if (rc == -1) {
        errno = err;
        return -1;
    }
    e->size = (long) clen;
    return 0;
}

static int by_arrival(const void *a, const void *b)
{
    const struct queue_entry *x = a, *y = b;
    if (x->arrival != y->arrival)
        return x->arrival < y->arrival ? -1 : 1;
    return strcmp(x->qid, y->qid);
}

int queue_scan(struct queue *q, struct queue_entry **entries, size_t *count)
{
    static const int dirs[] = {QDIR_INCOMING, QDIR_ACTIVE, QDIR_DEFERRED, QDIR_HOLD};
    struct queue_entry *v = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < ARRAY_LEN(dirs); i++) {
        int dirfd = q->dirfd[dirs[i]];
        int fd = dup(dirfd);
        DIR *d = fd == -1 ? NULL : fdopendir(fd);
        if (d == NULL) {
            int err = errno;
            if (fd != -1)
                close(fd);
            queue_entries_free(v, n);
            errno = err;
            return -1;
        }
        rewinddir(d);
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            size_t namelen = strlen(de->d_name);
            if (de->d_name[0] == '.' || namelen >= QUEUE_ID_MAX)
                continue;
            struct stat st;
            if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 || !S_ISREG(st.st_mode))
                continue;
            if (dirs[i] == QDIR_INCOMING && !(st.st_mode & S_IXUSR))
                continue; /* being written (mode 0600): not a message yet */
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                v = xreallocarray(v, cap, sizeof(*v));
            }
            struct queue_entry *e = &v[n++];
            entry_init(e);
            memcpy(e->qid, de->d_name, namelen + 1);
            e->dir = xstrdup(queue_dir_names[dirs[i]]);
            e->path = xasprintf("%s/%s/%s", q->dir, e->dir, e->qid);
            if (scan_one(dirfd, de->d_name, e) == 0) {
                e->complete = true;
            } else if (errno == ENOENT) { /* delivered or moved meanwhile */
                queue_entry_clear(e);
                n--;
            } else {
                e->error = errno;
                free(e->sender);
                strlist_free(&e->recipients);
                strlist_free(&e->names);
                strlist_free(&e->values);
                e->sender = xstrdup("");
                e->size = -1;
                e->arrival = st.st_mtime;
            }
        }
        closedir(d);
    }
    if (n > 1)
        qsort(v, n, sizeof(*v), by_arrival);
    *entries = v;
    *count = n;
    return 0;
}
