/*
 * log - messages in Postfix's forms.  Command-line tools write
 * "postern: warning: text" to stderr; the daemon writes maillog lines
 * "Mon DD HH:MM:SS host syslog_name/service[pid]: text" to maillog_file or
 * hands "text" to syslog(3) with the ident "syslog_name/service", so log
 * tools written for Postfix (fail2ban, pflogsumm) read them unchanged.
 * Severity prefixes ("warning: ", "fatal: ") are Postfix's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/time.h>
#include <unistd.h>

#include "util.h"

static const char *progname = "postern";
static char *service_tag; /* "postern/smtpd" */
static int log_fd = -1;   /* maillog_file */
static bool use_syslog;
static bool copy_stderr;
static int verbose;
static unsigned warnings;
static struct buf *capture;
static char hostname[256];
static bool hostname_set; /* log_set_hostname was called */

void log_init(const char *name)
{
    progname = name;
}

static int facility = LOG_MAIL;
static bool batching;    /* log_set_batching: lines wait for log_flush */
static struct buf batch; /* the lines waiting (maillog_file only) */
#define BATCH_MAX 16384
static const char *current_tag; /* service_tag, or one set by log_set_tag */

void log_set_service(const char *syslog_name, const char *service)
{
    free(service_tag);
    service_tag = xasprintf("%s/%s", syslog_name, service);
    current_tag = service_tag;
    if (!hostname_set) {
        if (gethostname(hostname, sizeof(hostname)) != 0)
            strcpy(hostname, "localhost");
        hostname[sizeof(hostname) - 1] = 0;
        hostname[strcspn(hostname, ".")] = 0;
    }
    if (use_syslog) {
        closelog();
        openlog(service_tag, LOG_PID | LOG_NDELAY, facility);
    }
}

void log_set_hostname(const char *name)
{
    /* the first label, as syslog and Postfix's own log writer show it */
    snprintf(hostname, sizeof(hostname), "%.*s", (int) strcspn(name, "."), name);
    hostname_set = true;
}

void log_set_batching(bool on)
{
    if (!on)
        log_flush();
    batching = on;
}

void log_flush(void)
{
    if (batch.len == 0 || log_fd == -1)
        return;
    ssize_t unused = write(log_fd, batch.data, batch.len);
    (void) unused;
    buf_reset(&batch);
}

void log_set_tag(const char *tag)
{
    const char *t = tag ? tag : service_tag;
    if (t == current_tag)
        return;
    current_tag = t;
    /* glibc's openlog only takes the new ident when already connected */
    if (use_syslog)
        openlog(current_tag, LOG_PID | LOG_NDELAY, facility);
}

/* facility_code - a syslog_facility name (mail, daemon, local0..7 ...) */
static int facility_code(const char *name)
{
    static const struct {
        const char *name;
        int code;
    } names[] = {
        {"mail", LOG_MAIL},     {"daemon", LOG_DAEMON},     {"user", LOG_USER},
        {"auth", LOG_AUTH},     {"authpriv", LOG_AUTHPRIV}, {"local0", LOG_LOCAL0},
        {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2},     {"local3", LOG_LOCAL3},
        {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5},     {"local6", LOG_LOCAL6},
        {"local7", LOG_LOCAL7},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (name && strcasecmp(name, names[i].name) == 0)
            return names[i].code;
    return -1;
}

int log_open_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd == -1)
        return -1;
    if (log_fd != -1)
        close(log_fd);
    log_fd = fd;
    return 0;
}

void log_open_syslog(const char *facility_name)
{
    int code = facility_code(facility_name);
    facility = code >= 0 ? code : LOG_MAIL;
    use_syslog = true;
    current_tag = service_tag;
    openlog(service_tag ? service_tag : progname, LOG_PID | LOG_NDELAY, facility);
    if (code < 0 && facility_name && *facility_name)
        log_warnx("syslog_facility %s: unknown facility; using mail", facility_name);
}

void log_also_stderr(bool on)
{
    copy_stderr = on;
}

void log_set_verbose(int level)
{
    verbose = level;
}

int log_verbose_level(void)
{
    return verbose;
}

unsigned log_count_warnings(void)
{
    return warnings;
}

void log_capture(struct buf *into)
{
    capture = into;
}

static void emit(int priority, const char *severity, const char *fmt, va_list ap, int errnum)
    PRINTF_LIKE(3, 0);

static void emit(int priority, const char *severity, const char *fmt, va_list ap, int errnum)
{
    struct buf msg;
    buf_init(&msg);
    if (severity)
        buf_printf(&msg, "%s: ", severity);
    buf_vprintf(&msg, fmt, ap);
    if (errnum)
        buf_printf(&msg, ": %s", strerror(errnum));
    /* Text from clients may be in the message: no control character ever
     * reaches a log file or syslog raw (a forged log line, a terminal
     * escape).  Callers that show client text make it printable first;
     * this is the last line of defence. */
    for (size_t i = 0; i < msg.len; i++)
        if ((unsigned char) msg.data[i] < 0x20 || msg.data[i] == 0x7f)
            msg.data[i] = '?';

    if (capture != NULL && priority != LOG_INFO && priority != LOG_DEBUG) {
        buf_append(capture, msg.data, msg.len);
        buf_putc(capture, '\n');
        buf_free(&msg);
        return;
    }
    bool daemon = current_tag != NULL && (log_fd != -1 || use_syslog);
    if (daemon && log_fd != -1) {
        struct timeval tv;
        gettimeofday(&tv, NULL);
        struct tm tm;
        localtime_r(&tv.tv_sec, &tm);
        char stamp[64];
        strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
        struct buf line;
        buf_init(&line);
        buf_printf(&line, "%s %s %s[%ld]: %s\n", stamp, hostname, current_tag, (long) getpid(),
                   msg.data);
        if (batching && priority == LOG_INFO) {
            buf_append(&batch, line.data, line.len);
            if (batch.len >= BATCH_MAX)
                log_flush();
        } else {
            log_flush(); /* order: what waits goes first */
            ssize_t unused = write(log_fd, line.data, line.len);
            (void) unused;
        }
        buf_free(&line);
    }
    if (daemon && use_syslog)
        syslog(priority, "%s", msg.data);
    if (!daemon || copy_stderr)
        fprintf(stderr, "%s: %s\n", current_tag && daemon ? current_tag : progname, msg.data);
    buf_free(&msg);
}

#define EMIT(prio, sev, err)           \
    do {                               \
        va_list ap;                    \
        va_start(ap, fmt);             \
        emit(prio, sev, fmt, ap, err); \
        va_end(ap);                    \
    } while (0)

void log_info(const char *fmt, ...)
{
    EMIT(LOG_INFO, NULL, 0);
}

void log_debug(const char *fmt, ...)
{
    if (verbose > 0)
        EMIT(LOG_DEBUG, NULL, 0);
}

void log_warnx(const char *fmt, ...)
{
    warnings++;
    EMIT(LOG_WARNING, "warning", 0);
}

void log_warn(const char *fmt, ...)
{
    int e = errno;
    warnings++;
    EMIT(LOG_WARNING, "warning", e);
}

void log_errorx(const char *fmt, ...)
{
    warnings++;
    EMIT(LOG_ERR, "error", 0);
}

void fatal(const char *fmt, ...)
{
    int e = errno;
    capture = NULL;
    EMIT(LOG_CRIT, "fatal", e);
    exit(1);
}

void fatalx(const char *fmt, ...)
{
    capture = NULL;
    EMIT(LOG_CRIT, "fatal", 0);
    exit(1);
}
