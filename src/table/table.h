/*
 * table - `type:name` lookup tables behind one interface, as Postfix's
 * dictionaries: one struct of function pointers per type, one file per type,
 * one registry array (registry.c).  A table that cannot be opened becomes a
 * stand-in whose lookups fail temporarily, so a broken file gives 4xx
 * replies rather than a dead server.
 *
 * Also here: the postmap(1) source-file reader (source.c) and the access(5)
 * lookup order for addresses, domains, host names and IP addresses
 * (access.c), shared by `postern map` and the policy engine.
 */
#ifndef POSTERN_TABLE_H
#define POSTERN_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "util/util.h"

enum table_status {
    TABLE_FOUND = 0,
    TABLE_NOTFOUND,
    TABLE_TEMPFAIL, /* try again later: 4xx */
    TABLE_CONFIG,   /* the table or the request is misconfigured */
};

/* Type properties. */
#define TABLE_T_FIXED   (1u << 0) /* exact-string keys: access partial lookups apply */
#define TABLE_T_PATTERN (1u << 1) /* matches whole query strings (regexp, pcre, cidr) */
#define TABLE_T_INDEXED (1u << 2) /* built from a text source by `postern map` */
#define TABLE_T_SOURCE  (1u << 3) /* name is a source file read when opened */
#define TABLE_T_NESTED  (1u << 4) /* name holds other tables: unionmap, pipemap */
#define TABLE_T_NOMAP   (1u << 5) /* not a file at all: inline, static, fail */

/* Open flags. */
#define TABLE_OPEN_FOLD     (1u << 0) /* fold fixed-string query keys to lower case */
#define TABLE_OPEN_NOFOLD   (1u << 1) /* postmap -f: keep the case of keys */
#define TABLE_OPEN_DUP_OK   (1u << 2) /* postmap -w: no warning for duplicates */
#define TABLE_OPEN_DUP_LAST (1u << 3) /* postmap -r: a later duplicate replaces */
#define TABLE_OPEN_CREATE   (1u << 4) /* for building: start empty */
#define TABLE_OPEN_WRITE    (1u << 5) /* for -i / -d */
#define TABLE_OPEN_QUIET    (1u << 6) /* no warnings at open (tests) */
#define TABLE_OPEN_SORTED   (1u << 7) /* builder: updates arrive in key order */
#define TABLE_OPEN_MEMBER   (1u << 8) /* in unionmap/pipemap: the container reports open errors */

struct table;

struct table_type {
    const char *name;
    unsigned flags;
    /* open - prepare t (t->name is set); 0, or -1 with a message in err */
    int (*open)(struct table *t, struct buf *err);
    /* lookup - *value stays valid until the next call on this table */
    enum table_status (*lookup)(struct table *t, const char *key, const char **value);
    /* sequence - first or next entry: 0 entry, 1 end, -1 error */
    int (*sequence)(struct table *t, bool first, const char **key, const char **value);
    /* update / remove - indexed types opened with TABLE_OPEN_WRITE */
    int (*update)(struct table *t, const char *key, const char *value, struct buf *err);
    /* remove - 0 removed, 1 not found, -1 error */
    int (*remove)(struct table *t, const char *key, struct buf *err);
    /* commit - make writes durable and visible (atomic replace); -1 error */
    int (*commit)(struct table *t, struct buf *err);
    /* refresh - reopen if the file changed on disk (long-running readers) */
    void (*refresh)(struct table *t);
    void (*close)(struct table *t);
};

struct table {
    const struct table_type *type;
    char *spec; /* "type:name" as written */
    char *name; /* after the first colon */
    unsigned open_flags;
    unsigned flags;   /* TABLE_T_*: the type's, or computed by nested types */
    void *data;       /* the type's own state */
    char *error;      /* non-NULL: stand-in; every lookup fails temporarily */
    struct buf value; /* result storage for types that copy */
    int refs;
};

/* ---- registry and generic operations (registry.c, table.c) ---- */
const struct table_type *table_type_find(const char *name);
/* table_type_names - every supported type, sorted (for `conf -m`) */
void table_type_names(struct strlist *out);

/*
 * table_open - open "type:name".  Never NULL: on any error the result is a
 * stand-in (t->error set, a warning logged) whose lookups return
 * TABLE_TEMPFAIL.  Tables opened for lookup are shared per spec and flags.
 */
struct table *table_open(const char *spec, unsigned open_flags);
void table_close(struct table *t);
/* table_open_error - the stand-in reason, or NULL */
const char *table_open_error(const struct table *t);
/* table_lookup - query with the type's key folding applied */
enum table_status table_lookup(struct table *t, const char *key, const char **value);
int table_sequence(struct table *t, bool first, const char **key, const char **value);
/* table_flags - TABLE_T_* properties of this open table */
unsigned table_flags(const struct table *t);
/* table_refresh_all - let long-running readers see rebuilt files */
void table_refresh_all(void);
/* table_cache_clear - close every shared table (reload, tests) */
void table_cache_clear(void);
const char *table_status_name(enum table_status s);

/* table_build - `postern map TYPE:NAME`: build NAME.lmdb from the source NAME
 * (open flags: NOFOLD, DUP_OK, DUP_LAST).  0, or -1 after logging why. */
int table_build(const char *spec, unsigned open_flags);

/* ---- postmap(1) source files (source.c) ---- */
struct table_source {
    const char *path;
    struct buf text;
    size_t pos;
    int line;      /* first physical line of the current logical line */
    int next_line; /* physical line number at pos */
    struct buf logical;
};

/* table_source_open - read the whole file; -1 with errno */
int table_source_open(struct table_source *src, const char *path);
void table_source_init_text(struct table_source *src, const char *path, const char *text,
                            size_t len);
/* table_source_next_line - next logical line (comments and blank lines
 * skipped, continuation lines joined); NULL at the end */
char *table_source_next_line(struct table_source *src);
/* table_source_next - next "key value" entry; malformed lines are warned
 * about (file, line N) and skipped.  key and value point into src. */
bool table_source_next(struct table_source *src, char **key, char **value);
void table_source_close(struct table_source *src);

/* Helpers shared by table types. */
/* table_fold_key - lower-case copy into t->value's sibling buffer; returns key */
const char *table_fold(struct table *t, const char *key, struct buf *scratch);
/* table_set_value - copy into t->value and return it */
const char *table_set_value(struct table *t, const char *value);
/* table_indexed_path - "name.lmdb": where an indexed table lives */
char *table_indexed_path(const char *name);

/* ---- access(5) lookup order (access.c) ---- */
/* A step of an access lookup, for `postern check --trace`. */
struct access_trace {
    void (*step)(void *ctx, struct table *t, const char *key, enum table_status st,
                 const char *value);
    void *ctx;
};

struct access_options {
    const char *recipient_delimiter;  /* set of delimiter characters; NULL or "": none */
    bool parent_matches_subdomains;   /* parent_domain_matches_subdomains has smtpd_access_maps */
    const struct access_trace *trace; /* optional */
};

/*
 * Each returns the first hit in access(5) order.  *value stays valid until
 * the next lookup on t; matched (may be NULL) receives the key that hit.
 * Exact-string tables see every key; pattern tables (regexp, pcre, cidr)
 * only the first, complete one.
 *
 * access_lookup_address - address = the resolved, lower-case user@domain;
 *   original = as the client wrote it (its extension is stripped for the
 *   second key).  Keys: user+ext@domain, user@domain, domain and its parents
 *   (pattern tables: none of these), user+ext@, user@.
 * access_lookup_hostname - name, then parent domains ("example.com" or
 *   ".example.com" style); a numeric name gets only the full lookup.
 * access_lookup_addr - 1.2.3.4, 1.2.3, 1.2, 1 (IPv6: split at ':').
 * full_first - false: even the first key is "partial" (only exact-string
 *   tables), as for the domain part of an address.
 */
enum table_status access_lookup_address(struct table *t, const char *address, const char *original,
                                        const struct access_options *o, const char **value,
                                        struct buf *matched);
enum table_status access_lookup_hostname(struct table *t, const char *name, bool full_first,
                                         const struct access_options *o, const char **value,
                                         struct buf *matched);
enum table_status access_lookup_addr(struct table *t, const char *ip, bool full_first,
                                     const struct access_options *o, const char **value,
                                     struct buf *matched);
/* access_strip_extension - user+ext@domain -> user@domain (allocated), or
 * NULL when there is no extension (Postfix's owner-/-request rule applies) */
char *access_strip_extension(const char *address, const char *delimiters);
/* access_is_numeric_host - a bare IPv4 or IPv6 address (no brackets) */
bool access_is_numeric_host(const char *name);

#endif
