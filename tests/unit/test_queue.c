/* Unit tests: queue (IDs, the file format, the durable writer, reading). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "queue/queue_int.h"
#include "testutil.h"

/* A fresh queue directory per test. */
static char *new_queue_dir(void)
{
    static int n;
    return xasprintf("%s/q%d", test_tmpdir(), ++n);
}

static size_t count_files(const char *qdir, const char *sub)
{
    char *path = xasprintf("%s/%s", qdir, sub);
    char *cmd = xasprintf("ls -A '%s' | wc -l", path);
    FILE *p = popen(cmd, "r");
    size_t n = 0;
    assert_non_null(p);
    assert_int_equal(fscanf(p, "%zu", &n), 1);
    pclose(p);
    free(cmd);
    free(path);
    return n;
}

/* count_marked - files in qdir/sub whose mode says complete (0700) or
 * being written (0600) */
static size_t count_marked(const char *qdir, const char *sub, bool complete)
{
    char *path = xasprintf("%s/%s", qdir, sub);
    DIR *d = opendir(path);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        struct stat st;
        char *f = xasprintf("%s/%s", path, de->d_name);
        assert_int_equal(stat(f, &st), 0);
        if (((st.st_mode & S_IXUSR) != 0) == complete)
            n++;
        free(f);
    }
    closedir(d);
    free(path);
    return n;
}

/* write_file - a file made by hand in the queue, marked complete (0700)
 * unless it is in tmp/ */
static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fwrite(data, 1, len, f);
    fclose(f);
    const char *base = strrchr(path, '/');
    if (base - path < 4 || strncmp(base - 4, "/tmp", 4) != 0)
        chmod(path, 0700);
}

struct sample {
    const char *sender;
    const char *rcpts[4];
    const char *content;
    size_t content_len;
    bool hold;
};

/* write_message - one message through the blocking writer; returns its ID */
static void write_message(struct queue *q, const struct sample *s, char qid[QUEUE_ID_MAX])
{
    char *err = NULL;
    struct queue_message *m = queue_message_new(q, qid, &err);
    assert_non_null(m);
    struct strlist rcpts;
    strlist_init(&rcpts);
    for (int i = 0; i < 4 && s->rcpts[i]; i++)
        strlist_add(&rcpts, s->rcpts[i]);
    struct queue_envelope env = {
        .sender = s->sender,
        .recipients = &rcpts,
        .arrival = 1700000000,
        .client_name = "mail.example.net",
        .client_addr = "192.0.2.7",
        .client_port = "40000",
        .helo = "mail.example.net",
        .protocol = "ESMTP",
        .hold = s->hold,
    };
    assert_int_equal(queue_message_envelope(m, &env), 0);
    assert_int_equal(queue_message_write(m, s->content, s->content_len), 0);
    assert_int_equal(queue_message_size(m), s->content_len);
    queue_message_commit(m, NULL, NULL);
    strlist_free(&rcpts);
}

static struct queue *open_blocking(char **dir)
{
    *dir = new_queue_dir();
    char *err = NULL;
    struct queue *q = queue_open(*dir, NULL, 0, &err);
    if (q == NULL)
        fail_msg("queue_open: %s", err);
    return q;
}

/* ---- IDs ---- */

static void test_id_form(void **state)
{
    (void) state;
    char qid[QUEUE_ID_MAX];
    struct queue_message *m;
    char *dir;
    struct queue *q = open_blocking(&dir);
    char *err = NULL;
    m = queue_message_new(q, qid, &err);
    assert_non_null(m);
    queue_message_abort(m);
    /* seconds (6) + microseconds (4) in base 52, 'z', then base 51 */
    assert_true(queue_id_valid(qid));
    const char *z = strrchr(qid, 'z');
    assert_non_null(z);
    assert_int_equal(z - qid, 10);
    assert_true(strlen(z + 1) >= 1 && strlen(z + 1) <= 6);
    assert_int_equal(strspn(qid, "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz"),
                     strlen(qid));
    time_t sec;
    long usec;
    assert_int_equal(queue_id_time(qid, &sec, &usec), 0);
    assert_true(labs((long) (sec - time(NULL))) <= 2);
    assert_true(usec >= 0 && usec < 1000000);
    /* A known value: 1700000000 s = "4SVLCh" in base 52
     * (4*52^5 + 24*52^4 + 26*52^3 + 18*52^2 + 11*52 + 36). */
    assert_int_equal(queue_id_time("4SVLCh0000z1", &sec, &usec), 0);
    assert_int_equal((long) sec, 1700000000L);
    assert_int_equal(usec, 0);
    /* Not IDs: paths, short forms, a microsecond field out of range, no
     * unique part, characters outside the alphabet. */
    assert_false(queue_id_valid("../etc/passwd"));
    assert_false(queue_id_valid("ABCDEF1234"));
    assert_false(queue_id_valid("4SVLChzzzzz1"));
    assert_false(queue_id_valid("4SVLCh0000z"));
    assert_false(queue_id_valid("4SVLCh0000zA"));
    assert_false(queue_id_valid("4SVLCh000z1"));
    assert_false(queue_id_valid(""));
    assert_true(queue_id_valid("4SVLCh0000z1"));
    queue_close(q);
    free(dir);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

static void test_id_unique_and_ordered(void **state)
{
    (void) state;
    char *dir;
    struct queue *q = open_blocking(&dir);
    enum { N = 300 };
    char prev[QUEUE_ID_MAX] = "";
    for (int i = 0; i < N; i++) {
        char qid[QUEUE_ID_MAX];
        char *err = NULL;
        struct queue_message *m = queue_message_new(q, qid, &err);
        assert_non_null(m);
        queue_message_abort(m);
        assert_true(strcmp(prev, qid) < 0); /* strictly increasing, so unique */
        strcpy(prev, qid);
    }
    for (int i = 0; i < 100000; i++) { /* faster than the clock ticks */
        char qid[QUEUE_ID_MAX];
        queue_id_new(qid);
        assert_true(strcmp(prev, qid) < 0);
        strcpy(prev, qid);
    }

    /* Across processes: four children make IDs at the same time. */
    enum { KIDS = 4, PER = 20000 };
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    for (int k = 0; k < KIDS; k++) {
        pid_t pid = fork();
        assert_true(pid != -1);
        if (pid == 0) {
            close(fds[0]);
            for (int i = 0; i < PER; i++) {
                char line[QUEUE_ID_MAX + 1];
                queue_id_new(line);
                size_t len = strlen(line);
                line[len++] = '\n';
                if (write(fds[1], line, len) != (ssize_t) len) /* atomic: < PIPE_BUF */
                    _exit(1);
            }
            _exit(0);
        }
    }
    close(fds[1]);
    FILE *in = fdopen(fds[0], "r");
    char **ids = xcalloc(KIDS * PER, sizeof(*ids));
    size_t n = 0;
    char line[64];
    while (n < KIDS * PER && fgets(line, sizeof(line), in)) {
        line[strcspn(line, "\n")] = 0;
        assert_true(queue_id_valid(line));
        ids[n++] = xstrdup(line);
    }
    fclose(in);
    for (int k = 0; k < KIDS; k++) {
        int status;
        assert_true(wait(&status) > 0);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    assert_int_equal(n, KIDS * PER);
    qsort(ids, n, sizeof(*ids), cmp_str);
    for (size_t i = 1; i < n; i++)
        assert_true(strcmp(ids[i - 1], ids[i]) < 0);
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    assert_int_equal(count_files(dir, "tmp"), 0);
    queue_close(q);
    free(dir);
}

/* ---- write, commit, read ---- */

static void check_round_trip(struct queue *q, const struct sample *s)
{
    char qid[QUEUE_ID_MAX];
    write_message(q, s, qid);
    char *path = xasprintf("%s/%s/%s", queue_directory(q), s->hold ? "hold" : "incoming", qid);
    struct queue_entry e;
    struct buf content;
    buf_init(&content);
    assert_int_equal(queue_read(path, &e, &content), 0);
    assert_true(e.complete);
    assert_string_equal(e.qid, qid);
    assert_string_equal(e.dir, s->hold ? "hold" : "incoming");
    assert_string_equal(e.sender, s->sender);
    assert_int_equal((long) e.arrival, 1700000000L);
    assert_int_equal(e.size, (long) s->content_len);
    size_t nr = 0;
    while (nr < 4 && s->rcpts[nr])
        nr++;
    assert_int_equal(e.recipients.count, nr);
    for (size_t i = 0; i < nr; i++)
        assert_string_equal(e.recipients.items[i], s->rcpts[i]);
    assert_int_equal(content.len, s->content_len);
    assert_memory_equal(content.data ? content.data : "", s->content, s->content_len);
    queue_entry_clear(&e);
    buf_free(&content);
    free(path);
}

static void test_round_trip(void **state)
{
    (void) state;
    char *dir;
    struct queue *q = open_blocking(&dir);

    static const char plain[] = "Subject: hi\r\n\r\nHello.\r\n";
    struct sample s1 = {"alice@example.org",
                        {"bob@example.com", "carol@example.com"},
                        plain,
                        sizeof(plain) - 1,
                        false};
    check_round_trip(q, &s1);

    /* Binary content with NULs, bare CR and LF, and text that looks like
     * the records of the format, including an end record. */
    static const char binary[] = "content\nend 5 4SVLCh0000z1\n\0\0\x01\xff\r\r\n"
                                 "POSTERN-QUEUE 1\nend 3 X\n";
    struct sample s2 = {"", {"postmaster@example.com"}, binary, sizeof(binary) - 1, false};
    check_round_trip(q, &s2);

    /* Envelope values with spaces, '%', controls and UTF-8 (escaped). */
    struct sample s3 = {"\"john smith\"@example.org",
                        {"a%b@example.com", "x\ty@example.com", "\xc3\xa9t\xc3\xa9@example.fr"},
                        "x",
                        1,
                        false};
    check_round_trip(q, &s3);

    /* Empty content. */
    struct sample s4 = {"a@example.org", {"b@example.org"}, "", 0, false};
    check_round_trip(q, &s4);

    /* A long line: 3 MB without a line break, through the 64 KB buffer in
     * small and large writes. */
    size_t big = 3 * 1024 * 1024;
    char *long_line = xmalloc(big);
    for (size_t i = 0; i < big; i++)
        long_line[i] = (char) ('a' + i % 26);
    char qid[QUEUE_ID_MAX];
    char *err = NULL;
    struct queue_message *m = queue_message_new(q, qid, &err);
    struct strlist r;
    strlist_init(&r);
    strlist_add(&r, "big@example.org");
    struct queue_envelope env = {.sender = "s@example.org", .recipients = &r, .arrival = 1};
    assert_int_equal(queue_message_envelope(m, &env), 0);
    size_t off = 0;
    for (size_t step = 1; off < big; step = step * 3 + 7) {
        size_t n = step < big - off ? step : big - off;
        assert_int_equal(queue_message_write(m, long_line + off, n), 0);
        off += n;
    }
    queue_message_commit(m, NULL, NULL);
    char *path = xasprintf("%s/incoming/%s", dir, qid);
    struct queue_entry e;
    struct buf content;
    buf_init(&content);
    assert_int_equal(queue_read(path, &e, &content), 0);
    assert_int_equal(content.len, big);
    assert_memory_equal(content.data, long_line, big);
    queue_entry_clear(&e);
    buf_free(&content);
    free(path);
    strlist_free(&r);
    free(long_line);

    assert_int_equal(count_files(dir, "tmp"), 0);
    queue_close(q);
    free(dir);
}

static void test_envelope_records(void **state)
{
    (void) state;
    char *dir;
    struct queue *q = open_blocking(&dir);
    char qid[QUEUE_ID_MAX];
    char *err = NULL;
    struct queue_message *m = queue_message_new(q, qid, &err);
    /* content before the envelope is refused */
    assert_int_equal(queue_message_write(m, "x", 1), -1);
    queue_message_abort(m);

    m = queue_message_new(q, qid, &err);
    struct strlist r, bcc;
    strlist_init(&r);
    strlist_init(&bcc);
    strlist_add(&r, "r@example.com");
    strlist_add(&bcc, "archive@example.com");
    struct queue_envelope env = {
        .sender = "s@example.org",
        .recipients = &r,
        .arrival = 1700000000,
        .sasl_method = "PLAIN",
        .sasl_username = "s",
        .body_type = "8BITMIME",
        .smtputf8 = true,
        .envid = "abc+2Bdef",
        .ret = "HDRS",
        .filter = "smtp:[127.0.0.1]:10025",
        .bcc = &bcc,
    };
    assert_int_equal(queue_message_envelope(m, &env), 0);
    assert_int_equal(queue_message_envelope(m, &env), -1); /* only once */
    queue_message_commit(m, NULL, NULL);
    char *path = xasprintf("%s/incoming/%s", dir, qid);
    struct queue_entry e;
    assert_int_equal(queue_read(path, &e, NULL), 0);
    struct buf all;
    buf_init(&all);
    for (size_t i = 0; i < e.names.count; i++)
        buf_printf(&all, "%s=%s\n", e.names.items[i], e.values.items[i]);
    char *want = xasprintf("id=%s\narrival=1700000000\nsender=s@example.org\nsasl_method=PLAIN\n"
                           "sasl_username=s\nbody_type=8BITMIME\nsmtputf8=yes\nenvid=abc+2Bdef\n"
                           "ret=HDRS\nfilter=smtp:[127.0.0.1]:10025\nbcc=archive@example.com\n"
                           "rcpt=r@example.com\n",
                           qid);
    assert_string_equal(all.data, want);
    free(want);
    buf_free(&all);
    queue_entry_clear(&e);

    /* The file itself: version line first, escaped values, end record. */
    struct buf raw;
    buf_init(&raw);
    assert_int_equal(file_read_all(path, &raw), 0);
    assert_true(strncmp(raw.data, "POSTERN-QUEUE 1\nid ", 19) == 0);
    char *end = xasprintf("\ncontent\nend 0 %s\n", qid);
    assert_true(raw.len > strlen(end));
    assert_string_equal(raw.data + raw.len - strlen(end), end);
    free(end);
    buf_free(&raw);
    free(path);
    strlist_free(&r);
    strlist_free(&bcc);
    queue_close(q);
    free(dir);
}

static void test_abort_leaves_nothing(void **state)
{
    (void) state;
    char *dir;
    struct queue *q = open_blocking(&dir);
    char qid[QUEUE_ID_MAX];
    char *err = NULL;
    struct queue_message *m = queue_message_new(q, qid, &err);
    /* written in place, marked as being written */
    assert_int_equal(count_marked(dir, "incoming", false), 1);
    struct strlist r;
    strlist_init(&r);
    strlist_add(&r, "r@example.com");
    struct queue_envelope env = {.sender = "", .recipients = &r};
    queue_message_envelope(m, &env);
    char *data = xcalloc(1, 200000); /* past the buffer: bytes reach the file */
    queue_message_write(m, data, 200000);
    free(data);
    queue_message_abort(m);
    for (const char *const *d = (const char *const[]){"tmp", "incoming", "hold", NULL}; *d; d++)
        assert_int_equal(count_files(dir, *d), 0);
    strlist_free(&r);
    queue_close(q);
    free(dir);
}

static void commit_result(void *arg, int err, const char *qid)
{
    (void) qid;
    *(int *) arg = err;
}

static void test_commit_without_envelope_fails(void **state)
{
    (void) state;
    char *dir;
    struct queue *q = open_blocking(&dir);
    char qid[QUEUE_ID_MAX];
    char *err = NULL;
    struct queue_message *m = queue_message_new(q, qid, &err);
    int result = -1;
    queue_message_commit(m, commit_result, &result);
    assert_int_equal(result, EINVAL);
    assert_int_equal(count_files(dir, "tmp"), 0);
    assert_int_equal(count_files(dir, "incoming"), 0);
    queue_close(q);
    free(dir);
}

static void test_commit_never_replaces(void **state)
{
    (void) state;
    /* IDs are taken with O_EXCL where the message is written; the one move
     * left, into hold/, fails rather than replace a message there. */
    char *dir;
    struct queue *q = open_blocking(&dir);
    char qid[QUEUE_ID_MAX];
    char *err = NULL;
    struct queue_message *m = queue_message_new(q, qid, &err);
    struct queue_envelope env = {.sender = "new@example.org", .hold = true};
    queue_message_envelope(m, &env);
    char *other = xasprintf("%s/hold/%s", dir, qid);
    static const char first[] = "the message queued first\n";
    write_file(other, first, sizeof(first) - 1);
    int result = -1;
    queue_message_commit(m, commit_result, &result);
    assert_int_equal(result, EEXIST);
    struct buf b;
    buf_init(&b);
    assert_int_equal(file_read_all(other, &b), 0);
    assert_string_equal(b.data, "the message queued first\n");
    assert_int_equal(count_files(dir, "incoming"), 0);
    buf_free(&b);
    free(other);
    queue_close(q);
    free(dir);
}

/* ---- a crash: incomplete and foreign files ---- */

static void test_truncated_files_are_incomplete(void **state)
{
    (void) state;
    char *dir;
    struct queue *q = open_blocking(&dir);
    static const char body[] = "Subject: t\r\n\r\nbody\r\n";
    struct sample s = {"a@example.org", {"b@example.org"}, body, sizeof(body) - 1, false};
    char good[QUEUE_ID_MAX];
    write_message(q, &s, good);
    char *good_path = xasprintf("%s/incoming/%s", dir, good);
    struct stat st;
    assert_int_equal(stat(good_path, &st), 0);

    /* Copies of the file cut at every length from 0 to one byte short, each
     * under its own name: none may read as a message. */
    struct buf whole;
    buf_init(&whole);
    assert_int_equal(file_read_all(good_path, &whole), 0);
    size_t cuts = 0;
    for (size_t len = 0; len < whole.len; len++) {
        char qid[QUEUE_ID_MAX];
        char *err = NULL;
        struct queue_message *m = queue_message_new(q, qid, &err); /* a fresh name */
        queue_message_abort(m);
        char *path = xasprintf("%s/incoming/%s", dir, qid);
        write_file(path, whole.data, len);
        struct queue_entry e;
        struct buf content;
        buf_init(&content);
        buf_puts(&content, "stale");
        errno = 0;
        assert_int_equal(queue_read(path, &e, &content), -1);
        assert_true(errno == EBADMSG || (len < 16 && errno == EPROTO));
        assert_false(e.complete);
        assert_null(e.sender);
        assert_int_equal(e.recipients.count, 0);
        assert_int_equal(content.len, 0);
        buf_free(&content);
        free(path);
        cuts++;
    }

    /* A file with bytes after the end record, and a foreign file. */
    char *extra = xasprintf("%s/incoming/4SVLCh0000z2", dir);
    FILE *f = fopen(extra, "w");
    fwrite(whole.data, 1, whole.len, f);
    fputs("more\n", f);
    fclose(f);
    chmod(extra, 0700); /* marked complete, but damaged */
    char *foreign = xasprintf("%s/deferred/4SVLCh0000z3", dir);
    f = fopen(foreign, "w");
    fputs("From MAILER-DAEMON Mon Nov 25 2024\nSubject: x\n\nbody\n", f);
    fclose(f);
    char *newer = xasprintf("%s/deferred/4SVLCh0000z4", dir);
    f = fopen(newer, "w");
    fputs("POSTERN-QUEUE 2\nid 4SVLCh0000z4\n", f);
    fclose(f);
    struct queue_entry e;
    assert_int_equal(queue_read(extra, &e, NULL), -1);
    assert_int_equal(errno, EBADMSG);
    assert_int_equal(queue_read(foreign, &e, NULL), -1);
    assert_int_equal(errno, EPROTO);
    assert_int_equal(queue_read(newer, &e, NULL), -1);
    assert_int_equal(errno, EPROTO);

    /* The scan lists exactly one complete message. */
    struct queue_entry *v;
    size_t n;
    assert_int_equal(queue_scan(q, &v, &n), 0);
    assert_int_equal(n, cuts + 4);
    size_t complete = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i].complete) {
            complete++;
            assert_string_equal(v[i].qid, good);
            assert_string_equal(v[i].sender, "a@example.org");
            assert_int_equal(v[i].size, (long) sizeof(body) - 1);
        } else {
            assert_int_equal(v[i].size, -1);
            assert_string_equal(v[i].sender, "");
            assert_int_equal(v[i].recipients.count, 0);
            assert_true(v[i].error == EBADMSG || v[i].error == EPROTO);
        }
    }
    assert_int_equal(complete, 1);
    queue_entries_free(v, n);
    buf_free(&whole);
    free(extra);
    free(foreign);
    free(newer);
    free(good_path);
    queue_close(q);
    free(dir);
}

static void test_crash_leftovers(void **state)
{
    (void) state;
    char *dir;
    struct queue *q = open_blocking(&dir);
    /* A message being written when the process dies stays in tmp/ and is
     * never seen by a scan. */
    char qid[QUEUE_ID_MAX];
    char *err = NULL;
    struct queue_message *m = queue_message_new(q, qid, &err);
    struct strlist r;
    strlist_init(&r);
    strlist_add(&r, "r@example.com");
    struct queue_envelope env = {.sender = "s@example.org", .recipients = &r};
    queue_message_envelope(m, &env);
    char *data = xcalloc(1, 100000);
    queue_message_write(m, data, 100000);
    free(data);
    pid_t pid = fork();
    if (pid == 0)
        _exit(0); /* the child "crashes": nothing committed */
    waitpid(pid, NULL, 0);
    struct queue_entry *v;
    size_t n;
    assert_int_equal(queue_scan(q, &v, &n), 0);
    assert_int_equal(n, 0);
    queue_entries_free(v, n);
    assert_int_equal(count_marked(dir, "incoming", false), 1);

    /* An old file being written goes at the next queue_open, with a
     * warning; a recent one stays. */
    char *old = xasprintf("%s/incoming/%s", dir, qid);
    struct timespec two_days[2] = {{time(NULL) - 2 * 86400, 0}, {time(NULL) - 2 * 86400, 0}};
    assert_int_equal(utimensat(AT_FDCWD, old, two_days, 0), 0);
    char *recent = xasprintf("%s/tmp/4SVLCh0000z9", dir);
    FILE *f = fopen(recent, "w");
    fclose(f);
    test_capture_begin();
    struct queue *q2 = queue_open(dir, NULL, 0, &err);
    char *log = test_capture_end();
    assert_non_null(q2);
    assert_non_null(strstr(log, "removed stale temporary file"));
    assert_non_null(strstr(log, qid));
    assert_null(strstr(log, "4SVLCh0000z9"));
    assert_int_equal(count_files(dir, "tmp"), 1);
    assert_int_equal(count_files(dir, "incoming"), 0);
    free(log);
    /* At server start nothing writes: every temporary file goes. */
    queue_remove_temporary(q2);
    assert_int_equal(count_files(dir, "tmp"), 0);
    queue_close(q2);
    queue_message_abort(m); /* its file is gone already: no complaint */
    free(old);
    free(recent);
    strlist_free(&r);
    queue_close(q);
    free(dir);
}

/* ---- the thread pool on an event loop ---- */

struct loop_test {
    struct event_base *base;
    struct queue *q;
    int total, started, finished, in_flight, max_in_flight, concurrency;
    int errors;
    pthread_t loop_thread;
    bool wrong_thread;
    char (*ids)[QUEUE_ID_MAX];
};

static void start_one(struct loop_test *t);

static void loop_done(void *arg, int err, const char *qid)
{
    struct loop_test *t = arg;
    if (!pthread_equal(pthread_self(), t->loop_thread))
        t->wrong_thread = true;
    if (err)
        t->errors++;
    snprintf(t->ids[t->finished], QUEUE_ID_MAX, "%s", qid);
    t->finished++;
    t->in_flight--;
    if (t->started < t->total)
        start_one(t);
    else if (t->finished == t->total)
        event_base_loopbreak(t->base);
}

static void start_one(struct loop_test *t)
{
    char qid[QUEUE_ID_MAX];
    char *err = NULL;
    struct queue_message *m = queue_message_new(t->q, qid, &err);
    assert_non_null(m);
    struct strlist r;
    strlist_init(&r);
    strlist_add(&r, "r@example.com");
    struct queue_envelope env = {
        .sender = "s@example.org", .recipients = &r, .hold = t->started % 5 == 0};
    queue_message_envelope(m, &env);
    char body[5000];
    memset(body, 'm', sizeof(body));
    queue_message_write(m, body, sizeof(body));
    strlist_free(&r);
    t->started++;
    t->in_flight++;
    if (t->in_flight > t->max_in_flight)
        t->max_in_flight = t->in_flight;
    int before = t->finished;
    queue_message_commit(m, loop_done, t);
    assert_int_equal(t->finished, before); /* never inside the call */
}

static void kick(evutil_socket_t fd, short what, void *arg)
{
    struct loop_test *t = arg;
    for (int i = 0; i < t->concurrency; i++)
        start_one(t);
}

static void run_loop_test(bool group_commit)
{
    char *dir = new_queue_dir();
    struct loop_test t = {.total = 300, .concurrency = 20};
    t.base = event_base_new();
    t.loop_thread = pthread_self();
    t.ids = xcalloc((size_t) t.total, QUEUE_ID_MAX);
    char *err = NULL;
    t.q = queue_open(dir, t.base, 2, &err);
    assert_non_null(t.q);
    queue_set_group_commit(t.q, group_commit);
    struct event *ev = event_new(t.base, -1, 0, kick, &t);
    event_active(ev, 0, 0);
    event_base_dispatch(t.base);
    assert_int_equal(t.finished, t.total);
    assert_int_equal(t.errors, 0);
    assert_false(t.wrong_thread);
    assert_int_equal(t.max_in_flight, t.concurrency);
    assert_int_equal(count_marked(dir, "incoming", true) + count_files(dir, "hold"),
                     (size_t) t.total);
    assert_int_equal(count_files(dir, "hold"), (size_t) t.total / 5);
    struct queue_stats st;
    queue_get_stats(t.q, &st);
    /* besides the messages, only the spare files made ahead */
    assert_true(count_marked(dir, "incoming", false) <= QUEUE_SPARES);
    assert_true(st.spares_used > 0);
    assert_int_equal(st.commits, (unsigned long) t.total);
    assert_int_equal(st.file_syncs, (unsigned long) t.total);
    /* a message in a spare file needs no directory fsync of its own (the
     * held ones need two) */
    assert_true(st.dir_syncs < (unsigned long) t.total);
    /* every ID reported once */
    char **sorted = xcalloc((size_t) t.total, sizeof(*sorted));
    for (int i = 0; i < t.total; i++)
        sorted[i] = t.ids[i];
    qsort(sorted, (size_t) t.total, sizeof(*sorted), cmp_str);
    for (int i = 1; i < t.total; i++)
        assert_true(strcmp(sorted[i - 1], sorted[i]) < 0);
    free(sorted);
    struct queue_entry *v;
    size_t n;
    assert_int_equal(queue_scan(t.q, &v, &n), 0);
    assert_int_equal(n, (size_t) t.total);
    for (size_t i = 0; i < n; i++) {
        assert_true(v[i].complete);
        assert_int_equal(v[i].size, 5000);
    }
    queue_entries_free(v, n);
    queue_close(t.q);
    assert_int_equal(count_marked(dir, "incoming", false), 0); /* spares removed */
    event_free(ev);
    event_base_free(t.base);
    free(t.ids);
    free(dir);
}

static void test_loop_commits_group(void **state)
{
    (void) state;
    run_loop_test(true);
}

static void test_loop_commits_no_group(void **state)
{
    (void) state;
    run_loop_test(false);
}

static void test_close_finishes_pending(void **state)
{
    (void) state;
    /* Commits still in flight when the queue closes complete, and their
     * callbacks run from queue_close. */
    char *dir = new_queue_dir();
    struct event_base *base = event_base_new();
    char *err = NULL;
    struct queue *q = queue_open(dir, base, 1, &err);
    int results[10];
    for (int i = 0; i < 10; i++) {
        char qid[QUEUE_ID_MAX];
        results[i] = -1;
        struct queue_message *m = queue_message_new(q, qid, &err);
        struct queue_envelope env = {.sender = ""};
        queue_message_envelope(m, &env);
        queue_message_commit(m, commit_result, &results[i]);
    }
    queue_close(q);
    for (int i = 0; i < 10; i++)
        assert_int_equal(results[i], 0);
    assert_int_equal(count_files(dir, "incoming"), 10);
    event_base_free(base);
    free(dir);
}

/* ---- hold, release, delete, scan ---- */

static void test_hold_release_delete_scan(void **state)
{
    (void) state;
    char *dir;
    struct queue *q = open_blocking(&dir);
    struct sample a = {"a@example.org", {"x@example.com"}, "AAAA", 4, false};
    struct sample b = {"b@example.org", {"y@example.com", "z@example.com"}, "BB", 2, true};
    char ida[QUEUE_ID_MAX], idb[QUEUE_ID_MAX], idc[QUEUE_ID_MAX];
    write_message(q, &a, ida);
    write_message(q, &b, idb);
    /* a HOLD decided after the envelope */
    char *err = NULL;
    struct queue_message *m = queue_message_new(q, idc, &err);
    struct queue_envelope env = {.sender = "c@example.org", .arrival = 1600000000};
    queue_message_envelope(m, &env);
    queue_message_hold(m);
    queue_message_commit(m, NULL, NULL);

    assert_string_equal(queue_find(q, ida), "incoming");
    assert_string_equal(queue_find(q, idb), "hold");
    assert_string_equal(queue_find(q, idc), "hold");
    assert_null(queue_find(q, "../incoming"));
    assert_int_equal(errno, EINVAL);

    struct queue_entry *v;
    size_t n;
    assert_int_equal(queue_scan(q, &v, &n), 0);
    assert_int_equal(n, 3);
    /* sorted by arrival: c (1600000000) first, then a and b by ID */
    assert_string_equal(v[0].qid, idc);
    assert_string_equal(v[0].dir, "hold");
    assert_int_equal(v[0].recipients.count, 0);
    assert_string_equal(v[1].qid, ida);
    assert_string_equal(v[1].dir, "incoming");
    assert_int_equal(v[1].size, 4);
    assert_string_equal(v[2].qid, idb);
    assert_int_equal(v[2].recipients.count, 2);
    assert_string_equal(v[2].recipients.items[1], "z@example.com");
    queue_entries_free(v, n);

    assert_int_equal(queue_release(q, idb), 0);
    assert_string_equal(queue_find(q, idb), "incoming");
    assert_int_equal(queue_release(q, idb), -1); /* not on hold */
    assert_int_equal(errno, ENOENT);
    assert_int_equal(queue_hold(q, ida), 0);
    assert_string_equal(queue_find(q, ida), "hold");
    assert_int_equal(queue_hold(q, ida), -1);
    assert_int_equal(queue_delete(q, ida), 0);
    assert_null(queue_find(q, ida));
    assert_int_equal(errno, ENOENT);
    assert_int_equal(queue_delete(q, ida), -1);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(count_files(dir, "incoming") + count_files(dir, "hold"), 2);
    queue_close(q);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_id_form),
        cmocka_unit_test(test_id_unique_and_ordered),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_envelope_records),
        cmocka_unit_test(test_abort_leaves_nothing),
        cmocka_unit_test(test_commit_without_envelope_fails),
        cmocka_unit_test(test_commit_never_replaces),
        cmocka_unit_test(test_truncated_files_are_incomplete),
        cmocka_unit_test(test_crash_leftovers),
        cmocka_unit_test(test_loop_commits_group),
        cmocka_unit_test(test_loop_commits_no_group),
        cmocka_unit_test(test_close_finishes_pending),
        cmocka_unit_test(test_hold_release_delete_scan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
