/*
 * queue - `postern queue`: the mail queue under queue_directory (main.cf),
 * as Postfix's mailq (list), postcat (cat) and postsuper -d/-h/-H
 * (delete, hold, release) show and change it, plus export to plain files.
 * docs/postern-queue.md is the manual.  A queue file that is incomplete or
 * not postern's is never shown as a message: list and export warn about
 * it, cat refuses it.  Exit status: 0, 1 when a message could not be
 * found, read or written, 2 for usage and configuration errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "config/config.h"
#include "queue/queue.h"

/* Postfix's mailq layout with long queue IDs (showq_compat.c). */
#define LIST_STRING_FORMAT "%-17s %8s %-19s %s\n"
#define LIST_SENDER_FORMAT "%-17s %8ld %19.19s %s\n"

static const char *why_incomplete(int err)
{
    switch (err) {
    case EBADMSG: return "incomplete or damaged queue file (no matching end record)";
    case EPROTO: return "not a postern queue file, or another format version";
    default: return strerror(err);
    }
}

/* format_time - asctime(3) form without the newline, as postcat shows it */
static void format_time(char *out, size_t size, time_t t)
{
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, size, "%a %b %e %H:%M:%S %Y", &tm);
}

/* printable - client text on a terminal: controls and 8-bit bytes as '?' */
static char *printable(const char *s)
{
    return str_printable(s, strlen(s));
}

static int do_list(struct queue *q)
{
    struct queue_entry *v;
    size_t n;
    if (queue_scan(q, &v, &n) == -1) {
        log_warn("scan %s", queue_directory(q));
        return 1;
    }
    unsigned long shown = 0, bytes = 0;
    for (size_t i = 0; i < n; i++) {
        struct queue_entry *e = &v[i];
        if (!e->complete) {
            log_warnx("%s/%s: %s; not listed", e->dir, e->qid, why_incomplete(e->error));
            continue;
        }
        if (shown > 0)
            printf("\n");
        else
            printf(LIST_STRING_FORMAT, "----Queue ID-----", "--Size--", "---Arrival Time----",
                   "--Sender/Recipient------");
        char id[QUEUE_ID_MAX + 1];
        char status = strcmp(e->dir, "active") == 0 ? '*' : strcmp(e->dir, "hold") == 0 ? '!' : ' ';
        snprintf(id, sizeof(id), "%s%c", e->qid, status);
        struct tm tm;
        char when[64];
        localtime_r(&e->arrival, &tm);
        strftime(when, sizeof(when), "%a %b %e %H:%M:%S", &tm);
        char *sender = printable(*e->sender ? e->sender : "MAILER-DAEMON");
        printf(LIST_SENDER_FORMAT, id, e->size, when, sender);
        free(sender);
        for (size_t r = 0; r < e->recipients.count; r++) {
            char *rcpt = printable(e->recipients.items[r]);
            printf(LIST_STRING_FORMAT, "", "", "", rcpt);
            free(rcpt);
        }
        bytes += (unsigned long) e->size;
        shown++;
    }
    if (shown == 0)
        printf("Mail queue is empty\n");
    else
        printf("\n-- %lu Kbytes in %lu Request%s.\n", bytes / 1024, shown, shown == 1 ? "" : "s");
    queue_entries_free(v, n);
    return 0;
}

/* open_message - read message qid whole; 0, or -1 after a warning */
static int open_message(struct queue *q, const char *qid, struct queue_entry *e,
                        struct buf *content)
{
    const char *dir = queue_find(q, qid);
    if (dir == NULL) {
        log_warnx("%s: %s", qid, errno == EINVAL ? "not a queue ID" : "no such message");
        return -1;
    }
    char *path = xasprintf("%s/%s/%s", queue_directory(q), dir, qid);
    int rc = queue_read(path, e, content);
    if (rc == -1)
        log_warnx("%s/%s: %s", dir, qid, why_incomplete(errno));
    free(path);
    return rc;
}

static void print_envelope(const struct queue_entry *e)
{
    printf("*** ENVELOPE RECORDS %s/%s ***\n", e->dir, e->qid);
    printf("message_size: %ld\n", e->size);
    for (size_t i = 0; i < e->names.count; i++) {
        const char *name = e->names.items[i];
        char *value = printable(e->values.items[i]);
        if (strcmp(name, "id") == 0)
            printf("queue_id: %s\n", value);
        else if (strcmp(name, "arrival") == 0) {
            char when[64];
            format_time(when, sizeof(when), e->arrival);
            printf("message_arrival_time: %s\n", when);
        } else if (strcmp(name, "sender") == 0)
            printf("sender: %s\n", value);
        else if (strcmp(name, "rcpt") == 0)
            printf("recipient: %s\n", value);
        else if (strcmp(name, "done") == 0)
            printf("done_recipient: %s\n", value);
        else
            printf("named_attribute: %s=%s\n", name, value);
        free(value);
    }
}

static int do_cat(struct queue *q, int argc, char **argv)
{
    bool envelope = true, message = true;
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        if (strcmp(argv[i], "-e") == 0) {
            message = false;
        } else if (strcmp(argv[i], "-m") == 0) {
            envelope = false;
        } else {
            cli_print_usage("queue");
            return 2;
        }
    }
    if (i >= argc || !(envelope || message)) {
        cli_print_usage("queue");
        return 2;
    }
    int status = 0;
    for (; i < argc; i++) {
        struct queue_entry e;
        struct buf content;
        buf_init(&content);
        if (open_message(q, argv[i], &e, &content) == -1) {
            status = 1;
            continue;
        }
        if (envelope)
            print_envelope(&e);
        if (envelope && message)
            printf("*** MESSAGE CONTENTS %s/%s ***\n", e.dir, e.qid);
        fflush(stdout);
        if (message)
            fwrite(content.data, 1, content.len, stdout);
        if (envelope && message) {
            if (content.len > 0 && content.data[content.len - 1] != '\n')
                putchar('\n');
            printf("*** MESSAGE FILE END %s/%s ***\n", e.dir, e.qid);
        }
        queue_entry_clear(&e);
        buf_free(&content);
    }
    if (fflush(stdout) == EOF || ferror(stdout)) {
        log_warn("standard output");
        status = 1;
    }
    return status;
}

static int write_file(const char *path, const char *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd == -1)
        return -1;
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        data += n;
        len -= (size_t) n;
    }
    return close(fd);
}

static bool one_line(const char *s)
{
    return strpbrk(s, "\r\n") == NULL;
}

static int export_one(struct queue *q, const char *outdir, const struct queue_entry *listed)
{
    struct queue_entry e;
    struct buf content;
    buf_init(&content);
    char *path = xasprintf("%s/%s/%s", queue_directory(q), listed->dir, listed->qid);
    int rc = queue_read(path, &e, &content);
    free(path);
    if (rc == -1) {
        if (errno == ENOENT) /* delivered or deleted since the scan */
            return 0;
        log_warnx("%s/%s: %s; not exported", listed->dir, listed->qid, why_incomplete(errno));
        return -1;
    }
    bool ok = one_line(e.sender);
    for (size_t i = 0; ok && i < e.recipients.count; i++)
        ok = one_line(e.recipients.items[i]);
    if (!ok) {
        log_warnx("%s: an address holds a line break; not exported", e.qid);
        rc = -1;
    } else {
        struct buf env;
        buf_init(&env);
        buf_printf(&env, "from %s\n", e.sender);
        for (size_t i = 0; i < e.recipients.count; i++)
            buf_printf(&env, "to %s\n", e.recipients.items[i]);
        char *eml = xasprintf("%s/%s.eml", outdir, e.qid);
        char *envp = xasprintf("%s/%s.env", outdir, e.qid);
        if (write_file(eml, content.data ? content.data : "", content.len) == -1) {
            log_warn("%s", eml);
            rc = -1;
        } else if (write_file(envp, env.data, env.len) == -1) {
            log_warn("%s", envp);
            rc = -1;
        }
        free(eml);
        free(envp);
        buf_free(&env);
    }
    queue_entry_clear(&e);
    buf_free(&content);
    return rc;
}

static int do_export(struct queue *q, int argc, char **argv)
{
    if (argc != 2) {
        cli_print_usage("queue");
        return 2;
    }
    const char *outdir = argv[1];
    if (mkdir(outdir, 0700) == -1 && errno != EEXIST) {
        log_warn("%s", outdir);
        return 1;
    }
    struct queue_entry *v;
    size_t n;
    if (queue_scan(q, &v, &n) == -1) {
        log_warn("scan %s", queue_directory(q));
        return 1;
    }
    int status = 0;
    unsigned long done = 0;
    for (size_t i = 0; i < n; i++) {
        if (!v[i].complete) {
            log_warnx("%s/%s: %s; not exported", v[i].dir, v[i].qid, why_incomplete(v[i].error));
            status = 1;
        } else if (export_one(q, outdir, &v[i]) == -1) {
            status = 1;
        } else {
            done++;
        }
    }
    queue_entries_free(v, n);
    log_info("exported %lu message%s to %s", done, done == 1 ? "" : "s", outdir);
    return status;
}

enum change { CHANGE_DELETE, CHANGE_HOLD, CHANGE_RELEASE };

static int apply(struct queue *q, enum change what, const char *qid, unsigned long *count)
{
    int rc = what == CHANGE_DELETE ? queue_delete(q, qid)
             : what == CHANGE_HOLD ? queue_hold(q, qid)
                                   : queue_release(q, qid);
    if (rc == 0) {
        if (what == CHANGE_DELETE)
            log_info("%s: removed", qid);
        (*count)++;
        return 0;
    }
    if (errno == EINVAL)
        log_warnx("%s: not a queue ID", qid);
    else if (errno == ENOENT)
        log_warnx("%s: %s", qid,
                  what == CHANGE_DELETE    ? "no such message"
                  : what == CHANGE_RELEASE ? "no such message on hold"
                                           : "no such message outside hold");
    else
        log_warn("%s", qid);
    return -1;
}

static int do_change(struct queue *q, enum change what, int argc, char **argv)
{
    if (argc < 2) {
        cli_print_usage("queue");
        return 2;
    }
    int status = 0;
    unsigned long count = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "ALL") == 0) {
            struct queue_entry *v;
            size_t n;
            if (queue_scan(q, &v, &n) == -1) {
                log_warn("scan %s", queue_directory(q));
                return 1;
            }
            for (size_t k = 0; k < n; k++) {
                bool held = strcmp(v[k].dir, "hold") == 0;
                if ((what == CHANGE_HOLD && held) || (what == CHANGE_RELEASE && !held))
                    continue;
                if (apply(q, what, v[k].qid, &count) == -1)
                    status = 1;
            }
            queue_entries_free(v, n);
        } else if (strcmp(argv[i], "-") == 0) {
            char line[256];
            while (fgets(line, sizeof(line), stdin)) {
                char *id = str_trim(line);
                if (*id && apply(q, what, id, &count) == -1)
                    status = 1;
            }
        } else if (apply(q, what, argv[i], &count) == -1) {
            status = 1;
        }
    }
    const char *verb = what == CHANGE_DELETE ? "Deleted"
                       : what == CHANGE_HOLD ? "Placed on hold"
                                             : "Released from hold";
    log_info("%s: %lu message%s", verb, count, count == 1 ? "" : "s");
    return status;
}

int cli_queue(struct cli_context *ctx, int argc, char **argv)
{
    if (argc < 2) {
        cli_print_usage("queue");
        return 2;
    }
    const char *sub = argv[1];
    enum { LIST, CAT, EXPORT, DELETE, HOLD, RELEASE } op;
    if (strcmp(sub, "list") == 0 && argc == 2)
        op = LIST;
    else if (strcmp(sub, "cat") == 0)
        op = CAT;
    else if (strcmp(sub, "export") == 0)
        op = EXPORT;
    else if (strcmp(sub, "delete") == 0)
        op = DELETE;
    else if (strcmp(sub, "hold") == 0)
        op = HOLD;
    else if (strcmp(sub, "release") == 0)
        op = RELEASE;
    else {
        cli_print_usage("queue");
        return 2;
    }

    struct strlist errors;
    strlist_init(&errors);
    struct config *cfg = config_load_main(ctx->config_dir, &errors);
    if (cfg == NULL) {
        for (size_t i = 0; i < errors.count; i++)
            log_errorx("%s", errors.items[i]);
        strlist_free(&errors);
        return 2;
    }
    strlist_free(&errors);
    const char *dir = config_get(cfg, "queue_directory");
    struct stat st;
    int rc = stat(dir, &st);
    if (rc == -1 || !S_ISDIR(st.st_mode)) {
        /* Tools do not create the queue; the server does. */
        log_errorx("queue_directory %s: %s", dir, strerror(rc == -1 ? errno : ENOTDIR));
        config_free(cfg);
        return 2;
    }
    char *err = NULL;
    struct queue *q = queue_open(dir, NULL, 0, &err);
    if (q == NULL) {
        log_errorx("%s", err);
        free(err);
        config_free(cfg);
        return 2;
    }
    int status;
    switch (op) {
    case LIST: status = do_list(q); break;
    case CAT: status = do_cat(q, argc - 1, argv + 1); break;
    case EXPORT: status = do_export(q, argc - 1, argv + 1); break;
    case DELETE: status = do_change(q, CHANGE_DELETE, argc - 1, argv + 1); break;
    case HOLD: status = do_change(q, CHANGE_HOLD, argc - 1, argv + 1); break;
    default: status = do_change(q, CHANGE_RELEASE, argc - 1, argv + 1); break;
    }
    if (fflush(stdout) == EOF && status == 0)
        status = 1;
    queue_close(q);
    config_free(cfg);
    return status;
}
