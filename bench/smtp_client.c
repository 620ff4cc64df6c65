/*
 * smtp_client - the two loads of bench/smtp.sh that smtp-source does not
 * make: new sessions per second, and idle sessions held open.  One
 * process, one epoll loop, non-blocking sockets; plain C so that the
 * client takes as little of the machine's CPU as possible.
 *
 *   smtp-bench-client rate HOST PORT CONCURRENCY SECONDS [HELO]
 *       keeps CONCURRENCY sessions in flight for SECONDS: connect, read
 *       the greeting, EHLO, read the reply, QUIT, read the reply, wait for
 *       the server to close, close.  Prints
 *       "sessions N errors E seconds S rate R" (R = N / S, sessions that
 *       finished; S runs from the first connect to the last close).
 *   smtp-bench-client hold HOST PORT COUNT [HELO]
 *       opens COUNT sessions (at most 100 connecting at once), each up to
 *       the EHLO reply, then prints "held N errors E seconds S" and keeps
 *       them open, idle, until its standard input reaches end of file;
 *       then sends QUIT on each (100 every 25 ms) and exits without
 *       waiting for replies.
 *
 * A reply is read up to its last line ("NNN " + text + LF); anything but
 * 2xx counts as an error and ends that session.  Exit status 0 when no
 * session failed, 1 otherwise, 2 for usage errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REPLY_MAX       4096  /* longest reply we accept, all lines */
#define HOLD_CONNECTING 100   /* sessions being set up at once in hold mode */
#define QUIT_BATCH      100   /* hold mode ends: QUIT this many sessions, */
#define QUIT_PAUSE_US   25000 /* then pause */

enum state { S_CONNECT, S_GREETING, S_EHLO, S_QUIT, S_CLOSE, S_IDLE, S_DONE };

struct conn {
    int fd;
    enum state state;
    size_t len;
    char buf[REPLY_MAX];
};

static struct sockaddr_in server;
static const char *helo = "client.bench.postern.test";
static int ep;
static long finished, errors, started, in_flight;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void send_line(struct conn *c, const char *line)
{
    char out[512];
    int n = snprintf(out, sizeof out, "%s\r\n", line);
    /* a short command on a fresh socket: the send buffer has room */
    if (send(c->fd, out, (size_t) n, MSG_NOSIGNAL) != n)
        c->state = S_DONE, errors++;
}

static void conn_start(struct conn *c)
{
    c->len = 0;
    c->state = S_CONNECT;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd == -1) {
        perror("socket");
        exit(1);
    }
    started++;
    in_flight++;
    if (connect(c->fd, (struct sockaddr *) &server, sizeof server) == -1 && errno != EINPROGRESS) {
        c->state = S_DONE;
        errors++;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) == -1) {
        perror("epoll_ctl");
        exit(1);
    }
}

static void conn_end(struct conn *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    in_flight--;
}

/* reply_complete - the buffer holds a whole reply: 1, its code in *code */
static int reply_complete(struct conn *c, int *code)
{
    size_t start = 0;
    for (size_t i = 0; i < c->len; i++) {
        if (c->buf[i] != '\n')
            continue;
        if (i - start >= 3 && (i - start == 3 || c->buf[start + 3] != '-')) {
            *code = atoi(c->buf + start);
            return 1;
        }
        start = i + 1;
    }
    return 0;
}

/* conn_event - advance one session; returns 1 when the session ended */
static int conn_event(struct conn *c, uint32_t events, int hold)
{
    if (c->state == S_CONNECT) {
        if (events & (EPOLLERR | EPOLLHUP)) {
            errors++;
            return 1;
        }
        if (!(events & EPOLLOUT))
            return 0;
        c->state = S_GREETING;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
        return 0;
    }
    for (;;) {
        ssize_t n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
        if (n == -1) {
            if (errno == EAGAIN)
                return 0;
            errors++;
            return 1;
        }
        if (n == 0) {
            if (c->state == S_CLOSE)
                return 1;
            errors++; /* the server closed early */
            return 1;
        }
        if (c->state == S_IDLE || c->state == S_CLOSE) {
            c->len = 0; /* a late reply or timeout notice while idle */
            continue;
        }
        c->len += (size_t) n;
        int code;
        if (!reply_complete(c, &code)) {
            if (c->len == sizeof c->buf) {
                errors++;
                return 1;
            }
            continue;
        }
        c->len = 0;
        if (code < 200 || code > 299) {
            errors++;
            return 1;
        }
        switch (c->state) {
        case S_GREETING: {
            char line[300];
            snprintf(line, sizeof line, "EHLO %s", helo);
            send_line(c, line);
            if (c->state == S_DONE)
                return 1;
            c->state = S_EHLO;
            break;
        }
        case S_EHLO:
            if (hold) {
                c->state = S_IDLE;
                finished++;
                return 0;
            }
            send_line(c, "QUIT");
            if (c->state == S_DONE)
                return 1;
            c->state = S_QUIT;
            break;
        case S_QUIT:
            c->state = S_CLOSE;
            finished++;
            break;
        default: break;
        }
    }
}

static void raise_nofile(long want)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if ((long) rl.rlim_cur < want) {
        rl.rlim_cur = (rlim_t) want;
        if ((long) rl.rlim_max < want)
            rl.rlim_max = (rlim_t) want;
        if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
            perror("setrlimit RLIMIT_NOFILE");
            exit(1);
        }
    }
}

static int run_rate(long concurrency, double seconds)
{
    struct conn *conns = calloc((size_t) concurrency, sizeof *conns);
    struct epoll_event evs[256];
    double t0 = now(), deadline = t0 + seconds;
    for (long i = 0; i < concurrency; i++)
        conn_start(&conns[i]);
    while (in_flight > 0) {
        int n = epoll_wait(ep, evs, 256, 1000);
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c->fd == -1)
                continue;
            if (conn_event(c, evs[i].events, 0) || c->state == S_DONE) {
                conn_end(c);
                if (now() < deadline)
                    conn_start(c);
            }
        }
    }
    double secs = now() - t0;
    printf("sessions %ld errors %ld seconds %.3f rate %.0f\n", finished, errors, secs,
           finished / secs);
    return errors ? 1 : 0;
}

static int run_hold(long count)
{
    struct conn *conns = calloc((size_t) count, sizeof *conns);
    struct epoll_event evs[256];
    long next = 0, settled = 0;
    double t0 = now();
    while (settled < count) {
        while (next < count && in_flight - finished < HOLD_CONNECTING)
            conn_start(&conns[next++]);
        int n = epoll_wait(ep, evs, 256, 1000);
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c->fd == -1)
                continue;
            enum state before = c->state;
            if (conn_event(c, evs[i].events, 1) || c->state == S_DONE) {
                conn_end(c);
                if (before == S_IDLE)
                    finished--; /* was counted as held (and settled) */
                else
                    settled++;
            } else if (before != S_IDLE && c->state == S_IDLE) {
                settled++;
            }
        }
    }
    /* sessions that failed were closed; in_flight counts the held ones */
    printf("held %ld errors %ld seconds %.3f\n", finished, errors, now() - t0);
    fflush(stdout);
    char b[256];
    while (read(0, b, sizeof b) > 0)
        ;
    /* QUIT in batches: 10,000 server processes (Postfix) that all wake up
     * at once make a load average of several hundred for minutes */
    long sent = 0;
    for (long i = 0; i < count; i++)
        if (conns[i].fd != -1 && conns[i].state == S_IDLE) {
            send_line(&conns[i], "QUIT");
            if (++sent % QUIT_BATCH == 0)
                usleep(QUIT_PAUSE_US);
        }
    return errors ? 1 : 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: smtp-bench-client rate HOST PORT CONCURRENCY SECONDS [HELO]\n"
                    "       smtp-bench-client hold HOST PORT COUNT [HELO]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 5)
        usage();
    server.sin_family = AF_INET;
    server.sin_port = htons((uint16_t) atoi(argv[3]));
    if (inet_pton(AF_INET, argv[2], &server.sin_addr) != 1)
        usage();
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (strcmp(argv[1], "rate") == 0 && (argc == 6 || argc == 7)) {
        if (argc == 7)
            helo = argv[6];
        long c = atol(argv[4]);
        raise_nofile(c + 64);
        return run_rate(c, atof(argv[5]));
    }
    if (strcmp(argv[1], "hold") == 0 && (argc == 5 || argc == 6)) {
        if (argc == 6)
            helo = argv[5];
        long n = atol(argv[4]);
        raise_nofile(n + 64);
        return run_hold(n);
    }
    usage();
    return 2;
}
