/*
 * queue_int - what the files of the queue module share and nobody else
 * sees: the queue ID alphabet, the record format constants and parser, and
 * the writer's structures (struct queue, struct queue_message).
 */
#ifndef POSTERN_QUEUE_INT_H
#define POSTERN_QUEUE_INT_H

#include <pthread.h>
#include <stdint.h>

#include "queue/queue.h"

/* ---- queue IDs (queue_id.c) ---- */

/* Postfix's "safe" alphabet: digits and letters without vowels.  The time
 * fields use all 52 characters, the unique part the first 51 (no 'z'). */
#define QUEUE_ID_ALPHABET  "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz"
#define QUEUE_ID_SEC_BASE  52
#define QUEUE_ID_SEC_PAD   6 /* at least six characters (MQID_LG_SEC_PAD) */
#define QUEUE_ID_USEC_BASE 52
#define QUEUE_ID_USEC_PAD  4 /* exactly four (MQID_LG_USEC_PAD) */
#define QUEUE_ID_SEP       'z'
#define QUEUE_ID_UNIQ_BASE 51
#define QUEUE_ID_TIME_PAD  (QUEUE_ID_SEC_PAD + QUEUE_ID_USEC_PAD)

/* queue_id_new - a fresh ID; uniqueness and order: see queue_id.c */
void queue_id_new(char qid[QUEUE_ID_MAX]);

/* ---- the file format (queue_file.c; docs/queue-format.md) ---- */

#define QUEUE_FILE_MAGIC   "POSTERN-QUEUE"
#define QUEUE_FILE_VERSION 1
#define QUEUE_CONTENT_MARK "content"
#define QUEUE_END_KEY      "end"
#define QUEUE_ENVELOPE_MAX (16 * 1024 * 1024)  /* bytes before the content */
#define QUEUE_RECORD_MAX   (256 * 1024)        /* one envelope line, escaped */
#define QUEUE_TAIL_MAX     (QUEUE_ID_MAX + 32) /* "end LENGTH QID\n" */

/* queue_record_put - append "key value\n" with value escaped (see the format
 * page); a NULL value writes nothing */
void queue_record_put(struct buf *b, const char *key, const char *value);

/*
 * queue_parse_envelope - parse the envelope of a queue file from its first
 * len bytes into e (names, values, arrival, sender, recipients); on success
 * *content_offset is where the content starts.  Returns 0, 1 when the
 * content mark was not seen yet (give more bytes), or -1 with errno:
 * EPROTO for a file that is not a postern queue file or has an unknown
 * version, EBADMSG for a damaged one.
 */
int queue_parse_envelope(const char *data, size_t len, struct queue_entry *e,
                         size_t *content_offset, char file_id[QUEUE_ID_MAX]);
/*
 * queue_parse_tail - the end record at the end of tail (the last bytes of a
 * file of file_size bytes whose content starts at content_offset): checks
 * that the recorded length puts it exactly at the end and that it names
 * file_id.  0 with *content_len, or -1 (errno EBADMSG: incomplete).
 */
int queue_parse_tail(const char *tail, size_t tail_len, uint64_t file_size, size_t content_offset,
                     const char *file_id, uint64_t *content_len);

/* ---- the writer (queue.c) ---- */

/* Group commit: callers waiting for an fsync of one directory; the first
 * that finds none running runs one for all who wait (queue.c). */
struct sync_waiter;
struct queue_dir_sync {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct sync_waiter *waiting;
    bool running;
};

enum queue_dir_index {
    QDIR_TMP,
    QDIR_INCOMING,
    QDIR_ACTIVE,
    QDIR_DEFERRED,
    QDIR_HOLD,
    QDIR_CORRUPT,
    QDIR_COUNT,
};

extern const char *const queue_dir_names[QDIR_COUNT];

struct queue {
    char *dir;
    int dirfd[QDIR_COUNT];
    struct event_base *base;
    bool group_commit;

    /* writer threads and their job list */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t *threads;
    int nthreads;
    int idle; /* threads waiting for work */
    bool stopping;
    struct queue_message *jobs_head, *jobs_tail;
    size_t jobs_count;

    /* finished commits, handed to the event loop through a pipe */
    pthread_mutex_t done_mu;
    struct queue_message *done_head, *done_tail;
    bool notified;
    int notify_pipe[2];
    struct event *notify_ev;

    struct queue_dir_sync sync[QDIR_COUNT];
    struct queue_stats stats;

    /* spare files: tmp/ID files created ahead by the spare thread, so that
     * queue_message_new on the event loop needs no file creation (which
     * waits for the file system journal while commits are being synced) */
    pthread_mutex_t spare_mu;
    pthread_cond_t spare_cv;
    pthread_t spare_thread;
    bool spare_running;
    bool spare_stop;
    struct queue_spare *spares; /* ring of QUEUE_SPARES */
    unsigned spare_head, spare_count;
    bool spares_on;
};

struct queue_spare {
    char qid[QUEUE_ID_MAX];
    int fd;
    uint64_t created_us; /* monotonic */
};

struct queue_message {
    struct queue *q;
    char qid[QUEUE_ID_MAX];
    int fd;
    char *wbuf; /* QUEUE_WRITE_BUFFER bytes */
    size_t wlen;
    uint64_t content_len;
    bool envelope_done;
    bool hold;
    bool name_durable; /* its directory entry was synced (a spare) */
    int error;         /* first write error (errno), reported by the commit */
    queue_done_fn done;
    void *done_arg;
    struct queue_message *next;
};

#define QUEUE_WRITE_BUFFER  (64 * 1024)
#define QUEUE_BATCH_MAX     64
#define QUEUE_SPARES        64                /* spare files kept ready */
#define QUEUE_SPARE_MAX_AGE (60 * 1000000ull) /* older ones are discarded */

#endif
