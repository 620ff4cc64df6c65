/*
 * queue - the durable mail queue: one file per message, named by its queue
 * ID, in the directories of DESIGN.md (incoming, active, deferred, hold,
 * corrupt).  A message is written in place as incoming/ID with mode 0600
 * (being written), marked 0700 (complete) and synced; a file whose name
 * was not synced before also waits for a sync of incoming/ (a HOLD is
 * renamed into hold/ and both directories synced)
 * before its commit reports success: only then may the server say "250 ...
 * queued as ID".  The syncs run on writer threads, never on the event loop;
 * renames that wait for the same directory share one fsync (group commit).
 *
 * The file (docs/queue-format.md): a version line, envelope records
 * (sender, recipients, arrival time, client facts, actions from the
 * restrictions), the message content exactly as received (with the
 * Received: header the server prepends), and an end record that carries
 * the content length, so a file without its end record is recognisably
 * incomplete.  Queue IDs have the form of Postfix's long queue IDs.
 *
 * Threads: a struct queue and its messages belong to the thread that runs
 * the event loop (or, without one, to one thread); open the queue after
 * fork(), in the process that uses it.
 */
#ifndef POSTERN_QUEUE_H
#define POSTERN_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "config/config.h"
#include "util/util.h"

struct event_base;

#define QUEUE_ID_MAX 32

/* Writer threads when queue_open is given 0 or less. */
#define QUEUE_WRITER_THREADS_DEFAULT 2

struct queue;

/* queue_open - the queue under dir, creating missing directories (0700);
 * temporary files older than a day are removed and logged.  NULL with *err
 * (allocated) on failure.  base: the event loop commits report to (NULL:
 * commits finish before queue_message_commit returns, for tools and
 * tests); writer_threads: the size of the fsync pool (<= 0: the default). */
struct queue *queue_open(const char *dir, struct event_base *base, int writer_threads, char **err);
/* queue_remove_temporary - remove every file being written (tmp/, and
 * incoming/ files with mode 0600: messages that were being
 * received when the server stopped or crashed); only while nothing writes
 * to the queue, as when the server starts */
void queue_remove_temporary(struct queue *q);
/* queue_close - waits for commits in flight and runs their done() callbacks */
void queue_close(struct queue *q);
const char *queue_directory(const struct queue *q);

/* queue_id_valid - qid has the form of a postern (Postfix long) queue ID;
 * anything else, such as a path, is refused by the functions below */
bool queue_id_valid(const char *qid);
/* queue_id_time - the creation time encoded in a queue ID; -1 if invalid */
int queue_id_time(const char *qid, time_t *sec, long *usec);

/* queue_set_group_commit - share directory fsyncs between renames that wait
 * at the same time (default on); off: one directory fsync per message.
 * For benchmarks; call before the first commit. */
void queue_set_group_commit(struct queue *q, bool on);
/* queue_set_spare_files - with an event loop, a helper thread keeps a few
 * incoming/ID files created ahead (at most a minute old), so that
 * queue_message_new does not create a file on the loop (default on).  For
 * benchmarks. */
void queue_set_spare_files(struct queue *q, bool on);

struct queue_stats {
    unsigned long commits;       /* commits that reached the queue */
    unsigned long failures;      /* commits that reported an error */
    unsigned long file_syncs;    /* fsync() of queue files */
    unsigned long dir_syncs;     /* fsync() of queue directories */
    unsigned long batches;       /* groups of commits a writer thread took at once */
    unsigned long files_created; /* queue files created (spares included) */
    unsigned long spares_used;   /* messages that got a spare file */
};
/* queue_get_stats - counters since queue_open (a snapshot; thread-safe) */
void queue_get_stats(struct queue *q, struct queue_stats *out);

/* What the server knows about a message besides its content. */
struct queue_envelope {
    const char *sender; /* "" for the null sender */
    const struct strlist *recipients;
    time_t arrival;
    const char *client_name, *client_addr, *client_port, *helo, *protocol;
    const char *sasl_method, *sasl_username;
    const char *body_type; /* 8BITMIME, 7BIT, BINARYMIME or NULL */
    bool smtputf8;
    const char *envid, *ret;       /* DSN */
    bool hold;                     /* goes to hold/ instead of incoming/ */
    const char *filter, *redirect; /* restriction actions */
    const struct strlist *bcc;
};

struct queue_message;

/* queue_message_new - a new message with a fresh queue ID (copied into qid)
 * and its file incoming/ID (mode 0600); NULL with *err (allocated) when the file cannot be
 * created */
struct queue_message *queue_message_new(struct queue *q, char qid[QUEUE_ID_MAX], char **err);
const char *queue_message_id(const struct queue_message *m);
/* queue_message_envelope - record the envelope, once, before any content;
 * -1 (errno EINVAL) when called twice or after content */
int queue_message_envelope(struct queue_message *m, const struct queue_envelope *env);
/* queue_message_hold - the commit goes to hold/ whatever the envelope said
 * (a HOLD action decided at end of data) */
void queue_message_hold(struct queue_message *m);
/* queue_message_write - append content (64 KB buffer); -1 on a write error
 * or before the envelope, and the commit will then fail with that errno */
int queue_message_write(struct queue_message *m, const void *data, size_t len);
/* queue_message_size - content bytes written so far */
size_t queue_message_size(const struct queue_message *m);
/*
 * queue_message_commit - finish the file, sync it, move it into place and
 * sync the directory, on a writer thread; done() runs on the event loop
 * afterwards with err 0 (durable) or an errno (the file is then gone).  The
 * message is freed after done() returns; qid is valid during the call.
 * With no event loop, the commit is done (and done() called, if not NULL)
 * before returning.  done() never runs inside queue_message_commit when
 * there is an event loop.
 */
typedef void (*queue_done_fn)(void *arg, int err, const char *qid);
void queue_message_commit(struct queue_message *m, queue_done_fn done, void *arg);
/* queue_message_abort - throw the message away; nothing is left behind */
void queue_message_abort(struct queue_message *m);

/* ---- reading (tools: postern queue list/cat/export) ---- */
struct queue_entry {
    char qid[QUEUE_ID_MAX]; /* the file name */
    char *dir;              /* incoming, hold, ... */
    char *path;
    time_t arrival;
    long size;                    /* content bytes (-1 when incomplete) */
    char *sender;                 /* "" for the null sender */
    struct strlist recipients;    /* not yet delivered ("rcpt" records) */
    struct strlist names, values; /* every envelope record in file order,
                                     values unescaped (rcpt, done, ...) */
    bool complete;                /* a whole queue file: version line, envelope,
                                     content and the end record that matches */
    int error;                    /* when not complete: EPROTO (not a postern queue
                                     file or another version), EBADMSG (damaged or
                                     truncated), or the errno of reading it */
};
/* queue_scan - every file in incoming, active, deferred and hold, sorted by
 * arrival time then ID; incomplete or foreign files are included with
 * complete false (nothing else of them is trusted).  0, or -1 with errno
 * when a directory cannot be read. */
int queue_scan(struct queue *q, struct queue_entry **entries, size_t *count);
void queue_entries_free(struct queue_entry *entries, size_t count);
/* queue_entry_clear - free what one entry holds (from queue_read) */
void queue_entry_clear(struct queue_entry *e);
/* queue_read - envelope and content of one message (content may be NULL).
 * 0, or -1 with errno (EPROTO, EBADMSG as above, or from open/read), and
 * then env and content hold nothing: a file is read whole or not at all. */
int queue_read(const char *path, struct queue_entry *env, struct buf *content);

/* ---- management (postern queue delete/hold/release) ---- */
/* queue_find - the queue directory holding qid (incoming, active, deferred,
 * hold); NULL with errno ENOENT (or EINVAL for a malformed ID) */
const char *queue_find(struct queue *q, const char *qid);
/* queue_delete - remove the message from whichever directory holds it */
int queue_delete(struct queue *q, const char *qid);
/* queue_hold - move to hold/ (from incoming, active or deferred);
 * queue_release - move from hold/ back to incoming/.  0, or -1 with errno
 * (ENOENT: not in a directory it could move from). */
int queue_hold(struct queue *q, const char *qid);
int queue_release(struct queue *q, const char *qid);

#endif
