/*
 * queue_commit - durable commits per second through the queue writer, as
 * the SMTP server drives it: one event loop keeps C messages in flight;
 * each is created (tmp/ID), given an envelope and SIZE bytes of content,
 * and committed on the writer threads; its done() starts the next one.
 * Reports commits/s, commit latency (commit call to done) and how many
 * directory fsyncs the commits needed, with group commit on and off, and
 * with and without spare files (tmp/ID files created ahead by a helper
 * thread, so that the loop creates none).
 *
 *     bench-queue-commit [--dir DIR] [--messages N] [--size BYTES]
 *                        [--threads T] [--concurrency 1,10,50]
 *                        [--group on|off|both] [--spares on|off|both]
 *                        [--repeat R] [--churn] [--verbose]
 *
 * DIR (default ./queue-bench.tmp) must be on the file system under test
 * and must not exist; each run uses a fresh queue below it, and all are
 * removed at the end (not between runs: on ext4, creating files right
 * after many were deleted costs much more, see bench/RESULTS.md).  With
 * R > 1 the run with the median rate is shown (--verbose: every run's
 * rate too, in run order).  --churn deletes each
 * message as soon as it is committed, as a queue manager that delivers at
 * once would: the steady state of a busy queue, where file creation has
 * to skip recently freed inodes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "queue/queue.h"

struct run {
    bool churn;
    const char *dir;
    struct event_base *base;
    struct queue *q;
    int total, started, finished, errors;
    size_t size;
    const char *content;
    uint64_t *started_at; /* per message, µs */
    uint64_t *latency;
    int nlat;
    uint64_t *new_us; /* time in queue_message_new, on the loop */
};

struct result {
    double rate;
    double p50_ms, p99_ms;
    double new_p99_us, new_max_us;
    struct queue_stats stats;
};

static void start_one(struct run *r);

struct slot {
    struct run *r;
    int index;
};

static void done(void *arg, int err, const char *qid)
{
    struct slot *s = arg;
    struct run *r = s->r;
    r->latency[r->nlat++] = clock_mono_us() - r->started_at[s->index];
    free(s);
    if (err)
        r->errors++;
    if (r->churn && !err) { /* "delivered" at once: the queue churns */
        char *path = xasprintf("%s/incoming/%s", r->dir, qid);
        unlink(path);
        free(path);
    }
    r->finished++;
    if (r->started < r->total)
        start_one(r);
    else if (r->finished == r->total)
        event_base_loopbreak(r->base);
}

static void start_one(struct run *r)
{
    char qid[QUEUE_ID_MAX];
    char *err = NULL;
    uint64_t t0 = clock_mono_us();
    struct queue_message *m = queue_message_new(r->q, qid, &err);
    r->new_us[r->started] = clock_mono_us() - t0;
    if (m == NULL) {
        fprintf(stderr, "bench-queue-commit: %s\n", err);
        exit(1);
    }
    static struct strlist rcpts;
    if (rcpts.count == 0)
        strlist_add(&rcpts, "recipient@example.com");
    struct queue_envelope env = {
        .sender = "sender@example.org",
        .recipients = &rcpts,
        .client_name = "client.example.net",
        .client_addr = "192.0.2.1",
        .client_port = "45678",
        .helo = "client.example.net",
        .protocol = "ESMTP",
    };
    queue_message_envelope(m, &env);
    queue_message_write(m, r->content, r->size);
    struct slot *s = xmalloc(sizeof(*s));
    s->r = r;
    s->index = r->started++;
    r->started_at[s->index] = clock_mono_us();
    queue_message_commit(m, done, s);
}

struct kick_arg {
    int concurrency;
    struct run *r;
};

static void kick(evutil_socket_t fd, short what, void *arg)
{
    struct kick_arg *k = arg;
    for (int i = 0; i < k->concurrency && i < k->r->total; i++)
        start_one(k->r);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

static void remove_tree(const char *dir)
{
    char *cmd = xasprintf("rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench-queue-commit: cannot remove %s\n", dir);
    free(cmd);
}

static bool churn, verbose;

static struct result run_once(const char *top, int run_no, int messages, size_t size, int threads,
                              int concurrency, bool group, bool spares)
{
    char *dir = xasprintf("%s/run%d", top, run_no);
    struct run r = {.total = messages, .size = size, .churn = churn, .dir = dir};
    char *content = xmalloc(size);
    for (size_t i = 0; i < size; i++)
        content[i] = (i % 78 == 77) ? '\n' : (char) ('a' + i % 26);
    r.content = content;
    r.started_at = xcalloc((size_t) messages, sizeof(uint64_t));
    r.latency = xcalloc((size_t) messages, sizeof(uint64_t));
    r.new_us = xcalloc((size_t) messages, sizeof(uint64_t));
    r.base = event_base_new();
    char *err = NULL;
    r.q = queue_open(dir, r.base, threads, &err);
    if (r.q == NULL) {
        fprintf(stderr, "bench-queue-commit: %s\n", err);
        exit(1);
    }
    queue_set_group_commit(r.q, group);
    queue_set_spare_files(r.q, spares);
    struct kick_arg arg = {concurrency, &r};
    struct event *ev = event_new(r.base, -1, 0, kick, &arg);
    event_active(ev, 0, 0);
    uint64_t t0 = clock_mono_us();
    event_base_dispatch(r.base);
    uint64_t t1 = clock_mono_us();
    struct result res;
    res.rate = (double) messages / ((double) (t1 - t0) / 1e6);
    qsort(r.latency, (size_t) r.nlat, sizeof(uint64_t), cmp_u64);
    res.p50_ms = (double) r.latency[r.nlat / 2] / 1000.0;
    res.p99_ms = (double) r.latency[(size_t) r.nlat * 99 / 100] / 1000.0;
    qsort(r.new_us, (size_t) messages, sizeof(uint64_t), cmp_u64);
    res.new_p99_us = (double) r.new_us[(size_t) messages * 99 / 100];
    res.new_max_us = (double) r.new_us[messages - 1];
    queue_get_stats(r.q, &res.stats);
    if (r.errors)
        fprintf(stderr, "bench-queue-commit: %d commits failed\n", r.errors);
    queue_close(r.q);
    event_free(ev);
    event_base_free(r.base);
    free(r.started_at);
    free(r.latency);
    free(r.new_us);
    free(content);
    free(dir);
    return res;
}

static int cmp_rate(const void *a, const void *b)
{
    double x = ((const struct result *) a)->rate, y = ((const struct result *) b)->rate;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const char *top = "queue-bench.tmp";
    int messages = 3000, threads = 2, repeat = 3;
    size_t size = 5 * 1024;
    const char *conc_list = "1,10,50", *group = "both", *spares = "on";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (strcmp(a, "--dir") == 0)
            top = v;
        else if (strcmp(a, "--messages") == 0)
            messages = atoi(v);
        else if (strcmp(a, "--size") == 0)
            size = (size_t) atol(v);
        else if (strcmp(a, "--threads") == 0)
            threads = atoi(v);
        else if (strcmp(a, "--concurrency") == 0)
            conc_list = v;
        else if (strcmp(a, "--group") == 0)
            group = v;
        else if (strcmp(a, "--spares") == 0)
            spares = v;
        else if (strcmp(a, "--repeat") == 0)
            repeat = atoi(v);
        else if (strcmp(a, "--churn") == 0) {
            churn = true;
            continue;
        } else if (strcmp(a, "--verbose") == 0) {
            verbose = true;
            continue;
        } else
            goto usage;
        i++;
    }
    if (messages < 1 || threads < 1 || repeat < 1 || repeat > 15)
        goto usage;
    if (mkdir(top, 0700) == -1) {
        perror(top);
        return 1;
    }
    printf("messages %d x %zu bytes, %d writer threads, median of %d runs%s\n", messages, size,
           threads, repeat, churn ? ", churn (each message deleted once committed)" : "");
    printf("%-6s %-6s %-5s %10s %8s %8s %12s %10s %7s %10s %10s\n", "group", "spares", "conc",
           "commits/s", "p50_ms", "p99_ms", "dirsync/msg", "batch_avg", "spare%", "new_p99_us",
           "new_max_us");
    /* Runs interleave (every setting once, then again), so that a change
     * in the machine's load hits all settings alike. */
    int concs[16], nconc = 0;
    char *list = xstrdup(conc_list), *cursor = list, *tok;
    while ((tok = strsep(&cursor, ",")) != NULL && nconc < 16)
        if (atoi(tok) > 0)
            concs[nconc++] = atoi(tok);
    free(list);
    struct {
        bool group, spares;
    } modes[4];
    int nmodes = 0;
    for (int g = 1; g >= 0; g--)
        for (int sp = 1; sp >= 0; sp--)
            if (strcmp(group, g ? "off" : "on") != 0 && strcmp(spares, sp ? "off" : "on") != 0) {
                modes[nmodes].group = g;
                modes[nmodes++].spares = sp;
            }
    static struct result res[4][16][15];
    int run_no = 0;
    for (int k = 0; k < repeat; k++)
        for (int c = 0; c < nconc; c++)
            for (int g = 0; g < nmodes; g++)
                res[g][c][k] = run_once(top, run_no++, messages, size, threads, concs[c],
                                        modes[g].group, modes[g].spares);
    for (int g = 0; g < nmodes; g++) {
        for (int c = 0; c < nconc; c++) {
            struct buf all;
            buf_init(&all);
            for (int k = 0; k < repeat; k++) /* in run order, before sorting */
                buf_printf(&all, " %.0f", res[g][c][k].rate);
            qsort(res[g][c], (size_t) repeat, sizeof(res[g][c][0]), cmp_rate);
            struct result *m = &res[g][c][repeat / 2];
            printf("%-6s %-6s %-5d %10.0f %8.2f %8.2f %12.3f %10.2f %7.0f %10.0f %10.0f\n",
                   modes[g].group ? "on" : "off", modes[g].spares ? "on" : "off", concs[c], m->rate,
                   m->p50_ms, m->p99_ms, (double) m->stats.dir_syncs / (double) m->stats.commits,
                   (double) m->stats.commits / (double) m->stats.batches,
                   100.0 * (double) m->stats.spares_used / (double) m->stats.commits, m->new_p99_us,
                   m->new_max_us);
            if (verbose)
                printf("    runs:%s\n", all.data);
            buf_free(&all);
        }
    }
    remove_tree(top);
    return 0;
usage:
    fprintf(stderr, "usage: bench-queue-commit [--dir DIR] [--messages N] [--size BYTES] "
                    "[--threads T] [--concurrency 1,10,50] [--group on|off|both] "
                    "[--spares on|off|both] [--repeat R] [--churn] [--verbose]\n");
    return 2;
}
