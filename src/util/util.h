/*
 * util - the bottom layer every other module uses: allocation wrappers that
 * abort on out-of-memory, growable buffers, string and list helpers, a
 * string-keyed hash table, per-session arenas, the monotonic/wall clock and
 * logging in Postfix's line format.  Nothing here knows about mail.
 */
#ifndef POSTERN_UTIL_H
#define POSTERN_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#define NORETURN          __attribute__((noreturn))
#define UNUSED            __attribute__((unused))
#define ARRAY_LEN(a)      (sizeof(a) / sizeof((a)[0]))

/* ---- allocation (alloc.c): abort with a log line on out-of-memory ---- */
void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *ptr, size_t size);
void *xreallocarray(void *ptr, size_t count, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t len);
char *xasprintf(const char *fmt, ...) PRINTF_LIKE(1, 2);
char *xvasprintf(const char *fmt, va_list ap) PRINTF_LIKE(1, 0);

/* ---- growable byte buffer (buf.c); data is always NUL-terminated ---- */
struct buf {
    char *data;
    size_t len;
    size_t cap;
};

void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
void buf_reserve(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *data, size_t len);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, int c);
void buf_printf(struct buf *b, const char *fmt, ...) PRINTF_LIKE(2, 3);
void buf_vprintf(struct buf *b, const char *fmt, va_list ap) PRINTF_LIKE(2, 0);
void buf_truncate(struct buf *b, size_t len);
/* buf_cstr - the contents as a C string ("" for an empty, unallocated buffer) */
const char *buf_cstr(const struct buf *b);
/* buf_steal - hand the storage to the caller (never NULL) and reset b */
char *buf_steal(struct buf *b);

/* ---- strings (str.c) ---- */
void str_lower(char *s);
void str_upper(char *s);
bool str_has_upper(const char *s);
bool str_eq_nocase(const char *a, const char *b);
bool str_prefix_nocase(const char *s, const char *prefix);
bool str_suffix_nocase(const char *s, const char *suffix);
/* str_trim - remove leading and trailing ASCII whitespace in place */
char *str_trim(char *s);
/* str_is_blank - only whitespace */
bool str_is_blank(const char *s);
/* str_to_long - whole-string decimal conversion; -1 on any junk or overflow */
int str_to_long(const char *s, long *out);
/* str_printable - copy with control and non-ASCII bytes replaced by '?',
 * the form in which client text may reach a log line */
char *str_printable(const char *s, size_t len);
/* str_valid_utf8 - well-formed UTF-8 (no overlong forms, no surrogates) */
bool str_valid_utf8(const char *s, size_t len);
void buf_put_printable(struct buf *b, const char *s, size_t len);

/* A vector of owned strings. */
struct strlist {
    char **items;
    size_t count;
    size_t cap;
};

void strlist_init(struct strlist *l);
void strlist_add(struct strlist *l, const char *s);
void strlist_add_owned(struct strlist *l, char *s);
void strlist_free(struct strlist *l);
/* strlist_join - items joined with sep, newly allocated */
char *strlist_join(const struct strlist *l, const char *sep);

/*
 * str_split_list - split a Postfix list value (separators given by seps,
 * usually ", \t\r\n") into tokens, keeping "{ ... }" groups as one token
 * with the outer braces intact.  Returns 0, or -1 with *err set (unbalanced
 * braces); err is allocated.
 */
int str_split_list(const char *s, const char *seps, struct strlist *out, char **err);
#define LIST_SEPS   ", \t\r\n"
#define SPACE_CHARS " \t\r\n"

/* str_next_token - like strsep over SPACE_CHARS/seps honouring { } groups;
 * advances *cursor, returns NULL at the end.  Modifies the string. */
char *str_next_token(char **cursor, const char *seps);
/* str_strip_braces - "{ text }" -> "text" in place (returns start), else s */
char *str_strip_braces(char *s);

/* ---- string-keyed hash table (htable.c); keys are copied ---- */
struct htable;
struct htable_iter {
    size_t index;
};

struct htable *htable_new(size_t size_hint);
/* htable_free - free the table; free_value (may be NULL) is called per value */
void htable_free(struct htable *h, void (*free_value)(void *));
void *htable_get(const struct htable *h, const char *key);
bool htable_contains(const struct htable *h, const char *key);
/* htable_put - insert or replace; returns the previous value or NULL */
void *htable_put(struct htable *h, const char *key, void *value);
/* htable_remove - remove; returns the value or NULL */
void *htable_remove(struct htable *h, const char *key);
size_t htable_count(const struct htable *h);
/* htable_next - iterate: start with iter.index = 0; returns false at end */
bool htable_next(const struct htable *h, struct htable_iter *it, const char **key, void **value);
uint64_t hash_bytes(const void *data, size_t len);

/* ---- arena (arena.c): many small allocations freed together ---- */
struct arena;

struct arena *arena_new(size_t chunk_size);
void *arena_alloc(struct arena *a, size_t size);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t len);
char *arena_printf(struct arena *a, const char *fmt, ...) PRINTF_LIKE(2, 3);
void arena_reset(struct arena *a);
void arena_free(struct arena *a);
size_t arena_used(const struct arena *a);

/* ---- time (clock.c) ---- */
/* clock_mono_us - monotonic microseconds */
uint64_t clock_mono_us(void);
/* clock_wall - seconds since the epoch */
time_t clock_wall(void);

/* ---- logging (log.c) ---- */
enum log_sink {
    LOG_SINK_STDERR, /* "postern: warning: text" (command-line tools) */
    LOG_SINK_FILE,   /* Postfix maillog line: "Mon DD HH:MM:SS host name/svc[pid]: text" */
    LOG_SINK_SYSLOG, /* syslog(3) with ident "name/svc" */
};

/* log_init - program name used as the prefix on stderr ("postern") */
void log_init(const char *progname);
/* log_set_service - the "syslog_name/service" tag in daemon log lines */
void log_set_service(const char *syslog_name, const char *service);
/* log_set_tag - lines from now on carry tag ("postfix/submission/smtpd";
 * the caller keeps it alive); NULL: back to log_set_service's */
/* log_set_hostname - the host name maillog_file lines carry (its first
 * label; default: the machine's) */
void log_set_hostname(const char *name);
/* log_set_batching - with maillog_file, informational lines wait in memory
 * until log_flush (an event loop calls it after each pass), so that one
 * write carries them; warnings and errors are written at once, after what
 * waits.  Off: every line is written as it comes. */
void log_set_batching(bool on);
void log_flush(void);
void log_set_tag(const char *tag);
/* log_open_file - append Postfix-format lines to path; -1 on error */
int log_open_file(const char *path);
void log_open_syslog(const char *facility);
/* log_also_stderr - in daemon mode, also copy lines to stderr */
void log_also_stderr(bool on);
void log_set_verbose(int level);
int log_verbose_level(void);

void log_info(const char *fmt, ...) PRINTF_LIKE(1, 2);
void log_warnx(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* log_warn - adds ": strerror(errno)" */
void log_warn(const char *fmt, ...) PRINTF_LIKE(1, 2);
void log_errorx(const char *fmt, ...) PRINTF_LIKE(1, 2);
void log_debug(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* fatal, fatalx - start-up and configuration errors only */
NORETURN void fatal(const char *fmt, ...) PRINTF_LIKE(1, 2);
NORETURN void fatalx(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* log_count_warnings - warnings logged so far (tools use it for exit status) */
unsigned log_count_warnings(void);
/* log_capture - while non-NULL, warnings go into this buffer (one per line)
 * instead of the sinks; tests and `postern check` use it. */
void log_capture(struct buf *into);

/* ---- files (file.c) ---- */
/* file_read_all - whole file into *out (NUL-terminated); -1 with errno */
int file_read_all(const char *path, struct buf *out);
/* file_fsync_dir - fsync the directory containing path */
int file_fsync_dir(const char *path);
/* file_mtime - modification time, or -1 */
int file_stat_id(const char *path, uint64_t *dev_ino, int64_t *mtime_ns);

#endif
