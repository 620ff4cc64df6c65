/*
 * pool - a small pool of worker threads for work that would stall the event
 * loop: crypt(3) password hashes (yescrypt and bcrypt take milliseconds by
 * design).  Jobs go into a mutex-protected queue; a worker runs work(), puts
 * the job on the finished list and writes to an eventfd that the event loop
 * watches; the loop then calls done() for each finished job, in its own
 * thread.  The workers block every signal, so signals keep going to the
 * loop thread.  Threads start with the first job: a process that never
 * checks a crypt(3) hash never has them.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>

#include "sasl/sasl_int.h"

#define POOL_THREADS_MAX 16

struct sasl_pool {
    struct event_base *base;
    unsigned threads_max;
    unsigned threads_started;
    unsigned queue_max;
    pthread_t threads[POOL_THREADS_MAX];
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct sasl_job *queue, **queue_tail; /* waiting for a worker */
    struct sasl_job *finished;            /* waiting for the loop (LIFO, reversed on delivery) */
    unsigned in_flight;                   /* queued + running + finished */
    bool stopping;
    int efd;
    struct event *ev;
};

static void *worker_main(void *arg)
{
    struct sasl_pool *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->queue == NULL && !p->stopping)
            pthread_cond_wait(&p->wake, &p->lock);
        if (p->stopping)
            break;
        struct sasl_job *job = p->queue;
        p->queue = job->next;
        if (p->queue == NULL)
            p->queue_tail = &p->queue;
        pthread_mutex_unlock(&p->lock);

        job->work(job);

        pthread_mutex_lock(&p->lock);
        job->next = p->finished;
        p->finished = job;
        uint64_t one = 1;
        ssize_t n = write(p->efd, &one, sizeof(one));
        (void) n; /* a full counter still wakes the loop */
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* deliver - on the loop: run done() for every finished job, oldest first */
static void deliver(evutil_socket_t fd, short what, void *arg)
{
    struct sasl_pool *p = arg;
    uint64_t count;
    ssize_t n = read(fd, &count, sizeof(count));
    (void) n;
    pthread_mutex_lock(&p->lock);
    struct sasl_job *list = p->finished;
    p->finished = NULL;
    pthread_mutex_unlock(&p->lock);
    struct sasl_job *ordered = NULL;
    while (list) {
        struct sasl_job *next = list->next;
        list->next = ordered;
        ordered = list;
        list = next;
    }
    while (ordered) {
        struct sasl_job *next = ordered->next;
        pthread_mutex_lock(&p->lock);
        p->in_flight--;
        pthread_mutex_unlock(&p->lock);
        ordered->done(ordered);
        ordered = next;
    }
}

struct sasl_pool *sasl_pool_new(struct event_base *base, unsigned threads, unsigned queue_max)
{
    struct sasl_pool *p = xcalloc(1, sizeof(*p));
    p->base = base;
    p->threads_max = threads == 0 ? 1 : threads > POOL_THREADS_MAX ? POOL_THREADS_MAX : threads;
    p->queue_max = queue_max == 0 ? 1 : queue_max;
    p->queue_tail = &p->queue;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (p->efd == -1)
        fatal("eventfd");
    p->ev = event_new(base, p->efd, EV_READ | EV_PERSIST, deliver, p);
    event_add(p->ev, NULL);
    return p;
}

/* start_thread - one more worker; -1 when the system refuses */
static int start_thread(struct sasl_pool *p)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&p->threads[p->threads_started], NULL, worker_main, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        errno = rc;
        log_warn("SASL: cannot start a verification thread");
        return -1;
    }
    p->threads_started++;
    return 0;
}

int sasl_pool_submit(struct sasl_pool *p, struct sasl_job *job)
{
    pthread_mutex_lock(&p->lock);
    if (p->in_flight >= p->queue_max) {
        pthread_mutex_unlock(&p->lock);
        return -1;
    }
    /* one more thread while every started one is busy */
    if (p->threads_started < p->threads_max && p->in_flight >= p->threads_started)
        start_thread(p);
    if (p->threads_started == 0) {
        pthread_mutex_unlock(&p->lock);
        return -1;
    }
    job->next = NULL;
    *p->queue_tail = job;
    p->queue_tail = &job->next;
    p->in_flight++;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
    return 0;
}

unsigned sasl_pool_threads_started(const struct sasl_pool *p)
{
    return p->threads_started;
}

void sasl_pool_free(struct sasl_pool *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->threads_started; i++)
        pthread_join(p->threads[i], NULL);
    /* finished first (their work ran), then the ones no worker took */
    deliver(p->efd, EV_READ, p);
    while (p->queue) {
        struct sasl_job *job = p->queue;
        p->queue = job->next;
        job->done(job);
    }
    event_free(p->ev);
    close(p->efd);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
