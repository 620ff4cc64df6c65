/*
 * queue - the queue directories and the durable writer.
 *
 * A message is written straight into incoming/ID (O_EXCL, through a 64 KB
 * buffer) with mode 0600, which marks it as being written, as Postfix
 * marks its queue files: readers skip such a file and a server start
 * removes what a crash left of one.  With an event loop, the file usually
 * comes from a small pool that a helper thread creates ahead, and whose
 * names it makes durable with one fsync of incoming/ per batch: creating
 * a file can wait for the file system while other commits are being
 * synced, and that wait belongs on a thread, not on the loop.
 *
 * queue_message_commit hands the message to a pool of writer threads,
 * which append the end record, set mode 0700 (complete) and fsync the
 * file: one journal commit per message, since its directory entry was made
 * durable before.  A file the loop had to create itself also waits for an
 * fsync of incoming/; a HOLD message is renamed into hold/ and both
 * directories are synced.  The result goes back to the event loop through
 * a pipe, whose callback runs done().  The event loop itself never waits
 * for the disk.  Crash safety: the mode and the content reach the disk
 * with the same fsync, and "250" waits for it; a file still 0600 is never
 * taken for a message.
 *
 * Group commit: a writer thread takes a share of the commits waiting (up
 * to QUEUE_BATCH_MAX) and starts write-back of all their files before it
 * fsyncs each; directory fsyncs asked for while one is running wait for
 * the next one, which their leader runs for all of them at once.
 * bench/RESULTS.md has the figures.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "queue/queue_int.h"

#define STALE_TMP_AGE (24 * 3600)

const char *const queue_dir_names[QDIR_COUNT] = {
    [QDIR_TMP] = "tmp",           [QDIR_INCOMING] = "incoming", [QDIR_ACTIVE] = "active",
    [QDIR_DEFERRED] = "deferred", [QDIR_HOLD] = "hold",         [QDIR_CORRUPT] = "corrupt",
};

#define STAT_ADD(q, field, n) __atomic_add_fetch(&(q)->stats.field, (n), __ATOMIC_RELAXED)

static void *writer_main(void *arg);
static void *spare_main(void *arg);
static int dir_sync(struct queue *q, int dir);
static void on_notify(evutil_socket_t fd, short what, void *arg);

/* ---- opening ---- */

static int open_dirs(struct queue *q, char **err)
{
    bool created = false;
    if (mkdir(q->dir, 0700) == 0)
        created = true;
    else if (errno != EEXIST)
        goto fail_root;
    int root = open(q->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root == -1)
        goto fail_root;
    if (created)
        file_fsync_dir(q->dir);
    bool made = false;
    for (int i = 0; i < QDIR_COUNT; i++) {
        if (mkdirat(root, queue_dir_names[i], 0700) == 0)
            made = true;
        else if (errno != EEXIST)
            goto fail_sub;
        q->dirfd[i] = openat(root, queue_dir_names[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (q->dirfd[i] == -1)
            goto fail_sub;
        continue;
    fail_sub:
        *err = xasprintf("%s/%s: %s", q->dir, queue_dir_names[i], strerror(errno));
        close(root);
        return -1;
    }
    if (made)
        fsync(root);
    close(root);
    return 0;
fail_root:
    *err = xasprintf("queue directory %s: %s", q->dir, strerror(errno));
    return -1;
}

/* remove_stale - files being written (in tmp/, or incoming/ with mode
 * 0600) older than min_age seconds (all for -1) are left over from a
 * crash */
static void remove_stale_in(struct queue *q, int dir, long min_age)
{
    int fd = dup(q->dirfd[dir]);
    DIR *d = fd == -1 ? NULL : fdopendir(fd);
    if (d == NULL) {
        log_warn("queue: %s/%s", q->dir, queue_dir_names[dir]);
        if (fd != -1)
            close(fd);
        return;
    }
    rewinddir(d); /* the duplicate shares its position with dirfd */
    time_t now = time(NULL);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        struct stat st;
        if (fstatat(q->dirfd[dir], de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
            !S_ISREG(st.st_mode) || (min_age >= 0 && st.st_mtime > now - min_age))
            continue;
        if (dir != QDIR_TMP && (st.st_mode & S_IXUSR))
            continue; /* a complete message */
        if (unlinkat(q->dirfd[dir], de->d_name, 0) == 0)
            log_warnx("queue: removed stale temporary file %s/%s/%s (last written %ld hours "
                      "ago)",
                      q->dir, queue_dir_names[dir], de->d_name, (long) (now - st.st_mtime) / 3600);
        else
            log_warn("queue: cannot remove stale temporary file %s/%s/%s", q->dir,
                     queue_dir_names[dir], de->d_name);
    }
    closedir(d);
}

static void remove_stale(struct queue *q, long min_age)
{
    remove_stale_in(q, QDIR_TMP, min_age);
    remove_stale_in(q, QDIR_INCOMING, min_age);
}

static int start_threads(struct queue *q, int n, char **err)
{
    if (pipe2(q->notify_pipe, O_NONBLOCK | O_CLOEXEC) == -1) {
        *err = xasprintf("pipe: %s", strerror(errno));
        return -1;
    }
    q->notify_ev = event_new(q->base, q->notify_pipe[0], EV_READ | EV_PERSIST, on_notify, q);
    if (q->notify_ev == NULL || event_add(q->notify_ev, NULL) == -1) {
        *err = xstrdup("cannot add the queue notification event");
        return -1;
    }
    /* Writer threads take no signals: they belong to the event loop's thread. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    q->threads = xcalloc((size_t) n, sizeof(*q->threads));
    for (int i = 0; i < n; i++) {
        int rc = pthread_create(&q->threads[i], NULL, writer_main, q);
        if (rc != 0) {
            pthread_sigmask(SIG_SETMASK, &old, NULL);
            *err = xasprintf("writer thread: %s", strerror(rc));
            return -1;
        }
        q->nthreads++;
    }
    int rc = pthread_create(&q->spare_thread, NULL, spare_main, q);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        *err = xasprintf("spare file thread: %s", strerror(rc));
        return -1;
    }
    q->spare_running = true;
    return 0;
}

struct queue *queue_open(const char *dir, struct event_base *base, int writer_threads, char **err)
{
    struct queue *q = xcalloc(1, sizeof(*q));
    q->dir = xstrdup(dir);
    q->base = base;
    q->group_commit = true;
    q->notify_pipe[0] = q->notify_pipe[1] = -1;
    for (int i = 0; i < QDIR_COUNT; i++) {
        q->dirfd[i] = -1;
        pthread_mutex_init(&q->sync[i].mu, NULL);
        pthread_cond_init(&q->sync[i].cv, NULL);
    }
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    pthread_mutex_init(&q->done_mu, NULL);
    pthread_mutex_init(&q->spare_mu, NULL);
    pthread_cond_init(&q->spare_cv, NULL);
    q->spares = xcalloc(QUEUE_SPARES, sizeof(*q->spares));
    q->spares_on = true;
    if (open_dirs(q, err) == -1) {
        queue_close(q);
        return NULL;
    }
    remove_stale(q, STALE_TMP_AGE);
    int threads = writer_threads > 0 ? writer_threads : QUEUE_WRITER_THREADS_DEFAULT;
    if (base != NULL && start_threads(q, threads, err) == -1) {
        queue_close(q);
        return NULL;
    }
    return q;
}

const char *queue_directory(const struct queue *q)
{
    return q->dir;
}

void queue_set_group_commit(struct queue *q, bool on)
{
    q->group_commit = on;
}

void queue_set_spare_files(struct queue *q, bool on)
{
    q->spares_on = on;
}

void queue_get_stats(struct queue *q, struct queue_stats *out)
{
    out->spares_used = __atomic_load_n(&q->stats.spares_used, __ATOMIC_RELAXED);
    out->files_created = __atomic_load_n(&q->stats.files_created, __ATOMIC_RELAXED);
    out->commits = __atomic_load_n(&q->stats.commits, __ATOMIC_RELAXED);
    out->failures = __atomic_load_n(&q->stats.failures, __ATOMIC_RELAXED);
    out->file_syncs = __atomic_load_n(&q->stats.file_syncs, __ATOMIC_RELAXED);
    out->dir_syncs = __atomic_load_n(&q->stats.dir_syncs, __ATOMIC_RELAXED);
    out->batches = __atomic_load_n(&q->stats.batches, __ATOMIC_RELAXED);
}

/* ---- writing ---- */

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t) n;
    }
    return 0;
}

static int flush(struct queue_message *m)
{
    if (m->error) {
        errno = m->error;
        return -1;
    }
    if (m->wlen > 0 && write_all(m->fd, m->wbuf, m->wlen) == -1) {
        m->error = errno;
        return -1;
    }
    m->wlen = 0;
    return 0;
}

/* append - buffered write of file bytes (envelope, content or end) */
static int append(struct queue_message *m, const void *data, size_t len)
{
    if (m->error) {
        errno = m->error;
        return -1;
    }
    if (len > QUEUE_WRITE_BUFFER - m->wlen) {
        if (flush(m) == -1)
            return -1;
        if (len >= QUEUE_WRITE_BUFFER) {
            if (write_all(m->fd, data, len) == -1) {
                m->error = errno;
                return -1;
            }
            return 0;
        }
    }
    memcpy(m->wbuf + m->wlen, data, len);
    m->wlen += len;
    return 0;
}

/* create_file - a new incoming/ID, mode 0600 (being written), with a
 * fresh ID; -1 with errno */
static int create_file(struct queue *q, char qid[QUEUE_ID_MAX])
{
    for (int tries = 0;; tries++) {
        queue_id_new(qid);
        int fd =
            openat(q->dirfd[QDIR_INCOMING], qid, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd != -1) {
            STAT_ADD(q, files_created, 1);
            return fd;
        }
        if (errno != EEXIST || tries == 3)
            return -1;
    }
}

/* take_spare - a spare file made ahead, if one is ready and fresh */
static int take_spare(struct queue *q, char qid[QUEUE_ID_MAX])
{
    if (!q->spare_running || !q->spares_on)
        return -1;
    int fd = -1;
    uint64_t now = clock_mono_us();
    pthread_mutex_lock(&q->spare_mu);
    while (fd == -1 && q->spare_count > 0) {
        struct queue_spare *sp = &q->spares[q->spare_head];
        q->spare_head = (q->spare_head + 1) % QUEUE_SPARES;
        q->spare_count--;
        if (now - sp->created_us < QUEUE_SPARE_MAX_AGE) {
            fd = sp->fd;
            memcpy(qid, sp->qid, QUEUE_ID_MAX);
        } else {
            /* Old: its ID would tell a wrong time, and another process
             * might soon take it for a leftover of a crash. */
            close(sp->fd);
            unlinkat(q->dirfd[QDIR_INCOMING], sp->qid, 0);
        }
    }
    if (q->spare_count < QUEUE_SPARES / 2)
        pthread_cond_signal(&q->spare_cv);
    pthread_mutex_unlock(&q->spare_mu);
    if (fd != -1)
        STAT_ADD(q, spares_used, 1);
    return fd;
}

/*
 * spare_main - keep spare files ready: create what is missing, then make
 * their names durable with one fsync of incoming/ for the lot, so that a
 * message in one of them needs no directory fsync at its commit.
 */
static void *spare_main(void *arg)
{
    struct queue *q = arg;
    pthread_mutex_lock(&q->spare_mu);
    for (;;) {
        while (!q->spare_stop && q->spare_count == QUEUE_SPARES)
            pthread_cond_wait(&q->spare_cv, &q->spare_mu);
        if (q->spare_stop)
            break;
        int want = QUEUE_SPARES - q->spare_count;
        pthread_mutex_unlock(&q->spare_mu);
        struct queue_spare made[QUEUE_SPARES];
        int n = 0;
        while (n < want) {
            made[n].fd = create_file(q, made[n].qid);
            if (made[n].fd == -1)
                break;
            n++;
        }
        if (n > 0 && dir_sync(q, QDIR_INCOMING) != 0) {
            for (int i = 0; i < n; i++) {
                close(made[i].fd);
                unlinkat(q->dirfd[QDIR_INCOMING], made[i].qid, 0);
            }
            n = 0;
        }
        uint64_t now = clock_mono_us();
        pthread_mutex_lock(&q->spare_mu);
        for (int i = 0; i < n; i++) {
            made[i].created_us = now;
            q->spares[(q->spare_head + q->spare_count) % QUEUE_SPARES] = made[i];
            q->spare_count++;
        }
        if (n == 0 && !q->spare_stop) {
            /* The loop will report the error when it creates a file
             * itself; try again when asked. */
            pthread_cond_wait(&q->spare_cv, &q->spare_mu);
        }
    }
    pthread_mutex_unlock(&q->spare_mu);
    return NULL;
}

static void stop_spares(struct queue *q)
{
    if (q->spare_running) {
        pthread_mutex_lock(&q->spare_mu);
        q->spare_stop = true;
        pthread_cond_broadcast(&q->spare_cv);
        pthread_mutex_unlock(&q->spare_mu);
        pthread_join(q->spare_thread, NULL);
        q->spare_running = false;
    }
    for (; q->spare_count > 0; q->spare_count--) {
        struct queue_spare *sp = &q->spares[q->spare_head];
        q->spare_head = (q->spare_head + 1) % QUEUE_SPARES;
        close(sp->fd);
        unlinkat(q->dirfd[QDIR_INCOMING], sp->qid, 0);
    }
}

struct queue_message *queue_message_new(struct queue *q, char qid[QUEUE_ID_MAX], char **err)
{
    struct queue_message *m = xcalloc(1, sizeof(*m));
    m->q = q;
    m->fd = take_spare(q, m->qid);
    m->name_durable = m->fd != -1; /* spares' names were synced */
    if (m->fd == -1)
        m->fd = create_file(q, m->qid);
    if (m->fd == -1) {
        *err = xasprintf("create file %s/incoming/%s: %s", q->dir, m->qid, strerror(errno));
        free(m);
        return NULL;
    }
    m->wbuf = xmalloc(QUEUE_WRITE_BUFFER);
    m->wlen = (size_t) snprintf(m->wbuf, QUEUE_WRITE_BUFFER, "%s %d\nid %s\n", QUEUE_FILE_MAGIC,
                                QUEUE_FILE_VERSION, m->qid);
    memcpy(qid, m->qid, QUEUE_ID_MAX);
    return m;
}

const char *queue_message_id(const struct queue_message *m)
{
    return m->qid;
}

static void put_list(struct buf *b, const char *key, const struct strlist *l)
{
    for (size_t i = 0; l && i < l->count; i++)
        queue_record_put(b, key, l->items[i]);
}

int queue_message_envelope(struct queue_message *m, const struct queue_envelope *env)
{
    if (m->envelope_done) {
        errno = EINVAL;
        return -1;
    }
    m->envelope_done = true;
    struct buf b;
    buf_init(&b);
    buf_printf(&b, "arrival %lld\n", (long long) (env->arrival ? env->arrival : time(NULL)));
    queue_record_put(&b, "sender", env->sender ? env->sender : "");
    queue_record_put(&b, "client_name", env->client_name);
    queue_record_put(&b, "client_addr", env->client_addr);
    queue_record_put(&b, "client_port", env->client_port);
    queue_record_put(&b, "helo", env->helo);
    queue_record_put(&b, "protocol", env->protocol);
    queue_record_put(&b, "sasl_method", env->sasl_method);
    queue_record_put(&b, "sasl_username", env->sasl_username);
    queue_record_put(&b, "body_type", env->body_type);
    if (env->smtputf8)
        queue_record_put(&b, "smtputf8", "yes");
    queue_record_put(&b, "envid", env->envid);
    queue_record_put(&b, "ret", env->ret);
    queue_record_put(&b, "filter", env->filter);
    queue_record_put(&b, "redirect", env->redirect);
    put_list(&b, "bcc", env->bcc);
    put_list(&b, "rcpt", env->recipients);
    buf_puts(&b, QUEUE_CONTENT_MARK "\n");
    if (env->hold)
        m->hold = true;
    int rc = append(m, b.data, b.len);
    buf_free(&b);
    return rc;
}

void queue_message_hold(struct queue_message *m)
{
    m->hold = true;
}

int queue_message_write(struct queue_message *m, const void *data, size_t len)
{
    if (!m->envelope_done) {
        if (!m->error)
            m->error = EINVAL;
        errno = EINVAL;
        return -1;
    }
    if (append(m, data, len) == -1)
        return -1;
    m->content_len += len;
    return 0;
}

size_t queue_message_size(const struct queue_message *m)
{
    return (size_t) m->content_len;
}

static void message_free(struct queue_message *m)
{
    if (m->fd != -1)
        close(m->fd);
    free(m->wbuf);
    free(m);
}

void queue_message_abort(struct queue_message *m)
{
    if (m == NULL)
        return;
    close(m->fd);
    m->fd = -1;
    if (unlinkat(m->q->dirfd[QDIR_INCOMING], m->qid, 0) == -1 && errno != ENOENT)
        log_warn("%s: remove %s/incoming/%s", m->qid, m->q->dir, m->qid);
    message_free(m);
}

/* ---- committing (writer threads, or the caller without an event loop) ---- */

/* rename_noreplace - move name from one directory to another, failing with
 * EEXIST rather than replacing a message */
static int rename_noreplace(int from, int to, const char *name)
{
#ifdef RENAME_NOREPLACE
    if (renameat2(from, name, to, name, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
#endif
    if (linkat(from, name, to, name, 0) == -1)
        return -1;
    unlinkat(from, name, 0);
    return 0;
}

struct sync_waiter {
    int err;
    bool done;
    struct sync_waiter *next;
};

/* dir_sync - fsync a queue directory.  With group commit, a caller that
 * finds an fsync of the directory running waits for the next one, run by
 * the first of the waiters for everybody waiting at that moment. */
static int dir_sync(struct queue *q, int dir)
{
    if (!q->group_commit) {
        STAT_ADD(q, dir_syncs, 1);
        return fsync(q->dirfd[dir]) == -1 ? errno : 0;
    }
    struct queue_dir_sync *s = &q->sync[dir];
    struct sync_waiter me = {0, false, NULL};
    pthread_mutex_lock(&s->mu);
    me.next = s->waiting;
    s->waiting = &me;
    while (!me.done) {
        if (s->running) {
            pthread_cond_wait(&s->cv, &s->mu);
            continue;
        }
        s->running = true;
        struct sync_waiter *group = s->waiting;
        s->waiting = NULL;
        pthread_mutex_unlock(&s->mu);
        int err = fsync(q->dirfd[dir]) == -1 ? errno : 0;
        STAT_ADD(q, dir_syncs, 1);
        pthread_mutex_lock(&s->mu);
        for (struct sync_waiter *w = group, *next; w; w = next) {
            next = w->next;
            w->err = err;
            w->done = true;
        }
        s->running = false;
        pthread_cond_broadcast(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
    return me.err;
}

static void finish_file(struct queue_message *m)
{
    if (!m->envelope_done && !m->error)
        m->error = EINVAL;
    char end[QUEUE_TAIL_MAX];
    int n = snprintf(end, sizeof(end), QUEUE_END_KEY " %llu %s\n",
                     (unsigned long long) m->content_len, m->qid);
    if (append(m, end, (size_t) n) == 0)
        flush(m);
}

/* commit_batch - make n messages durable in their directories; each ends
 * with m->error 0 and its file in place, or an errno and no file */
static void commit_batch(struct queue *q, struct queue_message **ms, size_t n)
{
    STAT_ADD(q, batches, 1);
    for (size_t i = 0; i < n; i++) {
        finish_file(ms[i]);
        /* complete: the mode goes to the disk with the content's fsync */
        if (!ms[i]->error && fchmod(ms[i]->fd, 0700) == -1)
            ms[i]->error = errno;
    }
    if (n > 1) /* let the disk work on all of them while we wait for the first */
        for (size_t i = 0; i < n; i++)
            if (!ms[i]->error)
                sync_file_range(ms[i]->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
    for (size_t i = 0; i < n; i++) {
        struct queue_message *m = ms[i];
        if (!m->error) {
            STAT_ADD(q, file_syncs, 1);
            if (fsync(m->fd) == -1)
                m->error = errno;
        }
        if (close(m->fd) == -1 && !m->error)
            m->error = errno;
        m->fd = -1;
    }
    /* Directory fsyncs only for names not yet durable: a file the loop
     * created itself, and a HOLD message moved to hold/. */
    bool used[QDIR_COUNT] = {false};
    for (size_t i = 0; i < n; i++) {
        struct queue_message *m = ms[i];
        if (!m->error && m->hold) {
            if (rename_noreplace(q->dirfd[QDIR_INCOMING], q->dirfd[QDIR_HOLD], m->qid) == -1)
                m->error = errno;
            else
                used[QDIR_HOLD] = used[QDIR_INCOMING] = true;
        } else if (!m->error && !m->name_durable) {
            used[QDIR_INCOMING] = true;
        }
        if (m->error)
            unlinkat(q->dirfd[QDIR_INCOMING], m->qid, 0);
    }
    for (int d = 0; d < QDIR_COUNT; d++) {
        if (!used[d])
            continue;
        int err = dir_sync(q, d);
        if (err == 0)
            continue;
        for (size_t i = 0; i < n; i++) {
            struct queue_message *m = ms[i];
            int where = m->hold ? QDIR_HOLD : QDIR_INCOMING;
            if (!m->error && (where == d || (d == QDIR_INCOMING && m->hold))) {
                m->error = err;
                unlinkat(q->dirfd[where], m->qid, 0);
            }
        }
    }
    /* No logging here: this runs on writer threads; done() reports. */
    for (size_t i = 0; i < n; i++) {
        if (ms[i]->error)
            STAT_ADD(q, failures, 1);
        else
            STAT_ADD(q, commits, 1);
    }
}

static void run_done(struct queue_message *m)
{
    if (m->done)
        m->done(m->done_arg, m->error, m->qid);
    message_free(m);
}

static void post_done(struct queue *q, struct queue_message **ms, size_t n)
{
    pthread_mutex_lock(&q->done_mu);
    for (size_t i = 0; i < n; i++) {
        ms[i]->next = NULL;
        if (q->done_tail)
            q->done_tail->next = ms[i];
        else
            q->done_head = ms[i];
        q->done_tail = ms[i];
    }
    if (!q->notified) {
        q->notified = true;
        char c = 1;
        /* A full pipe already holds a wake-up (EAGAIN). */
        ssize_t unused = write(q->notify_pipe[1], &c, 1);
        (void) unused;
    }
    pthread_mutex_unlock(&q->done_mu);
}

/* drain_done - run done() for every finished commit (event loop thread) */
static void drain_done(struct queue *q)
{
    pthread_mutex_lock(&q->done_mu);
    struct queue_message *list = q->done_head;
    q->done_head = q->done_tail = NULL;
    q->notified = false;
    pthread_mutex_unlock(&q->done_mu);
    while (list) {
        struct queue_message *next = list->next;
        run_done(list);
        list = next;
    }
}

static void on_notify(evutil_socket_t fd, short what, void *arg)
{
    char drain[64];
    while (read(fd, drain, sizeof(drain)) > 0)
        ;
    drain_done(arg);
}

static void *writer_main(void *arg)
{
    struct queue *q = arg;
    struct queue_message *batch[QUEUE_BATCH_MAX];
    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (q->jobs_head == NULL && !q->stopping) {
            q->idle++;
            pthread_cond_wait(&q->cv, &q->mu);
            q->idle--;
        }
        if (q->jobs_head == NULL)
            break;
        /* Without group commit one at a time; with it, a fair share of
         * what waits, so that idle threads get some too. */
        size_t take = 1;
        if (q->group_commit) {
            size_t sharers = (size_t) q->idle + 1;
            take = (q->jobs_count + sharers - 1) / sharers;
            if (take > QUEUE_BATCH_MAX)
                take = QUEUE_BATCH_MAX;
        }
        size_t n = 0;
        while (n < take && q->jobs_head) {
            batch[n++] = q->jobs_head;
            q->jobs_head = q->jobs_head->next;
        }
        if (q->jobs_head == NULL)
            q->jobs_tail = NULL;
        q->jobs_count -= n;
        if (q->jobs_head && q->idle > 0)
            pthread_cond_signal(&q->cv);
        pthread_mutex_unlock(&q->mu);
        commit_batch(q, batch, n);
        post_done(q, batch, n);
        pthread_mutex_lock(&q->mu);
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

void queue_message_commit(struct queue_message *m, queue_done_fn done, void *arg)
{
    struct queue *q = m->q;
    m->done = done;
    m->done_arg = arg;
    if (q->nthreads == 0) {
        commit_batch(q, &m, 1);
        run_done(m);
        return;
    }
    m->next = NULL;
    pthread_mutex_lock(&q->mu);
    if (q->jobs_tail)
        q->jobs_tail->next = m;
    else
        q->jobs_head = m;
    q->jobs_tail = m;
    q->jobs_count++;
    if (q->idle > 0)
        pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

void queue_close(struct queue *q)
{
    if (q == NULL)
        return;
    if (q->nthreads > 0) {
        pthread_mutex_lock(&q->mu);
        q->stopping = true;
        pthread_cond_broadcast(&q->cv);
        pthread_mutex_unlock(&q->mu);
    }
    for (int i = 0; i < q->nthreads; i++)
        pthread_join(q->threads[i], NULL);
    free(q->threads);
    drain_done(q);
    if (q->spares)
        stop_spares(q);
    if (q->notify_ev)
        event_free(q->notify_ev);
    for (int i = 0; i < 2; i++)
        if (q->notify_pipe[i] != -1)
            close(q->notify_pipe[i]);
    for (int i = 0; i < QDIR_COUNT; i++) {
        if (q->dirfd[i] != -1)
            close(q->dirfd[i]);
        pthread_mutex_destroy(&q->sync[i].mu);
        pthread_cond_destroy(&q->sync[i].cv);
    }
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->done_mu);
    pthread_mutex_destroy(&q->spare_mu);
    pthread_cond_destroy(&q->spare_cv);
    free(q->spares);
    free(q->dir);
    free(q);
}

/* ---- management ---- */

static const int message_dirs[] = {QDIR_INCOMING, QDIR_ACTIVE, QDIR_DEFERRED, QDIR_HOLD};

static int find_dir(struct queue *q, const char *qid)
{
    if (!queue_id_valid(qid)) {
        errno = EINVAL;
        return -1;
    }
    for (size_t i = 0; i < ARRAY_LEN(message_dirs); i++) {
        struct stat st;
        if (fstatat(q->dirfd[message_dirs[i]], qid, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISREG(st.st_mode))
            return message_dirs[i];
    }
    errno = ENOENT;
    return -1;
}

const char *queue_find(struct queue *q, const char *qid)
{
    int d = find_dir(q, qid);
    return d == -1 ? NULL : queue_dir_names[d];
}

int queue_delete(struct queue *q, const char *qid)
{
    int d = find_dir(q, qid);
    if (d == -1 || unlinkat(q->dirfd[d], qid, 0) == -1)
        return -1;
    fsync(q->dirfd[d]);
    return 0;
}

static int move(struct queue *q, const char *qid, int from, int to)
{
    if (rename_noreplace(q->dirfd[from], q->dirfd[to], qid) == -1)
        return -1;
    fsync(q->dirfd[to]);
    fsync(q->dirfd[from]);
    return 0;
}

int queue_hold(struct queue *q, const char *qid)
{
    int d = find_dir(q, qid);
    if (d == -1)
        return -1;
    if (d == QDIR_HOLD) {
        errno = ENOENT;
        return -1;
    }
    return move(q, qid, d, QDIR_HOLD);
}

int queue_release(struct queue *q, const char *qid)
{
    int d = find_dir(q, qid);
    if (d == -1)
        return -1;
    if (d != QDIR_HOLD) {
        errno = ENOENT;
        return -1;
    }
    return move(q, qid, QDIR_HOLD, QDIR_INCOMING);
}

void queue_remove_temporary(struct queue *q)
{
    remove_stale(q, -1);
}
