/*
 * queue_inject - test helper: put one message into a queue through the
 * queue writer, as the SMTP server does, and print its queue ID.
 *
 *     queue_inject [--hold] [--arrival SECONDS] QUEUE_DIR SENDER [RCPT ...] < CONTENT
 *
 * The content is read from standard input and stored byte for byte.
 * Exit status 0, or 1 with a message on standard error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue/queue.h"

static void done(void *arg, int err, const char *qid)
{
    *(int *) arg = err;
}

int main(int argc, char **argv)
{
    log_init("queue_inject");
    bool hold = false;
    long arrival = 0;
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--hold") == 0)
            hold = true;
        else if (strcmp(argv[i], "--arrival") == 0 && i + 1 < argc)
            arrival = strtol(argv[++i], NULL, 10);
        else
            break;
    }
    if (argc - i < 2) {
        fprintf(stderr, "usage: queue_inject [--hold] [--arrival SECONDS] QUEUE_DIR SENDER "
                        "[RCPT ...] < CONTENT\n");
        return 1;
    }
    char *err = NULL;
    struct queue *q = queue_open(argv[i], NULL, 0, &err);
    if (q == NULL) {
        fprintf(stderr, "queue_inject: %s\n", err);
        return 1;
    }
    struct strlist rcpts;
    strlist_init(&rcpts);
    for (int k = i + 2; k < argc; k++)
        strlist_add(&rcpts, argv[k]);
    char qid[QUEUE_ID_MAX];
    struct queue_message *m = queue_message_new(q, qid, &err);
    if (m == NULL) {
        fprintf(stderr, "queue_inject: %s\n", err);
        return 1;
    }
    struct queue_envelope env = {
        .sender = argv[i + 1],
        .recipients = &rcpts,
        .arrival = (time_t) arrival,
        .client_name = "localhost",
        .client_addr = "127.0.0.1",
        .protocol = "ESMTP",
        .hold = hold,
    };
    queue_message_envelope(m, &env);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
        queue_message_write(m, buf, n);
    int result = -1;
    queue_message_commit(m, done, &result);
    if (result != 0) {
        fprintf(stderr, "queue_inject: commit: %s\n", strerror(result));
        return 1;
    }
    printf("%s\n", qid);
    strlist_free(&rcpts);
    queue_close(q);
    return 0;
}
