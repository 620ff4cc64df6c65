/*
 * config - main.cf and master.cf in Postfix syntax, `$name` expansion and
 * the parameter registry.  Every parameter postern reads is declared once in
 * the registry (params.c) with its type, its Postfix 3.7 default and one line
 * of documentation; nothing else in postern reads main.cf text.
 *
 * A struct config is one layer of name = value settings (main.cf) with an
 * optional parent: a master.cf service's "-o name=value" overrides are a
 * child layer over main.cf, so the same getters serve both.
 */
#ifndef POSTERN_CONFIG_H
#define POSTERN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "util/util.h"

#define POSTERN_VERSION    "0.1.0"
#define DEFAULT_CONFIG_DIR "/etc/postern"

struct config;
struct master_config;

/* ---- the registry (params.c) ---- */
enum param_type {
    PARAM_STRING,
    PARAM_LIST, /* comma/whitespace separated */
    PARAM_BOOL, /* yes / no */
    PARAM_INT,  /* integer */
    PARAM_TIME, /* integer with optional unit s m h d w */
    PARAM_SIZE, /* integer byte count */
};

#define PARAM_F_POSTERN  (1u << 0) /* postern-only, not a Postfix parameter */
#define PARAM_F_COMPUTED (1u << 1) /* default computed at run time (hostname...) */
#define PARAM_F_RAW      (1u << 2) /* expanded later, with per-use macros */
#define PARAM_F_NOEFFECT (1u << 3) /* accepted for compatibility; no effect in postern */
#define PARAM_F_LITERAL  (1u << 4) /* never expanded: '$' is an ordinary character */

struct param_def {
    const char *name;
    enum param_type type;
    const char *def; /* unexpanded default; for COMPUTED, a fallback */
    unsigned flags;
    char time_unit; /* PARAM_TIME: unit of a bare number */
    long min, max;  /* PARAM_INT/TIME/SIZE range, when max > min */
    const char *doc;
};

const struct param_def *param_find(const char *name);
const struct param_def *param_registry(size_t *count);
/* param_is_postfix_name - a Postfix 3.7 parameter name postern may not implement */
bool param_is_postfix_name(const char *name);
/* param_suggest - closest registered name for a typo, or NULL */
const char *param_suggest(const char *name);
/* param_computed_default - value of a COMPUTED default (allocated) */
char *param_computed_default(struct config *cfg, const char *name);

/* ---- a configuration ---- */
struct config;

struct config_entry {
    char *name;
    char *value; /* unexpanded, continuation lines joined */
    char *file;
    int line;
};

/* config_new - an empty layer over parent (NULL for main.cf) */
struct config *config_new(const char *config_dir, struct config *parent);
void config_free(struct config *cfg);
/*
 * config_load_main - read DIR/main.cf into a new configuration.  A missing
 * file is an error; syntax errors are collected in errors ("file, line N:
 * text") and make it return NULL.
 */
struct config *config_load_main(const char *config_dir, struct strlist *errors);
/* config_parse_text - parse main.cf syntax from memory (file names errors) */
int config_parse_text(struct config *cfg, const char *text, size_t len, const char *file,
                      struct strlist *errors);
void config_set(struct config *cfg, const char *name, const char *value, const char *file,
                int line);
const char *config_dir(const struct config *cfg);
const char *config_main_path(const struct config *cfg);

/* config_entry_find - where a parameter was set in this layer or a parent */
const struct config_entry *config_entry_find(const struct config *cfg, const char *name);
/* config_entries - the explicitly set entries of this layer, in the order
 * of their first assignment (a later assignment updates value and line) */
const struct config_entry *config_entries(const struct config *cfg, size_t *count);
/* config_duplicate_notes - "FILE, line N: overriding earlier entry:
 * NAME=VALUE" for every assignment that replaced an earlier one */
const struct strlist *config_duplicate_notes(const struct config *cfg);

/* config_raw - unexpanded value: set value, else default; NULL if unknown.
 * config_directory defaults to the directory the layer was loaded from. */
const char *config_raw(const struct config *cfg, const char *name);
/* config_is_set - set explicitly (in this layer or a parent) */
bool config_is_set(const struct config *cfg, const char *name);
/* config_get - expanded value; "" for an unknown name.  Cached per layer;
 * the string stays valid until config_free (after a config_set it may be
 * stale).  PARAM_F_RAW and PARAM_F_LITERAL parameters come back unexpanded.
 * An expansion error is warned about once and gives "". */
const char *config_get(struct config *cfg, const char *name);
/* config_get_checked - config_get that hands an expansion error to the
 * caller instead of warning: 0, or -1 with *err (allocated) */
int config_get_checked(struct config *cfg, const char *name, const char **value, char **err);
/* typed getters: a value of the wrong form is a configuration error (fatal
 * at start-up, with the file and line), so validate with config_check */
bool config_get_bool(struct config *cfg, const char *name);
long config_get_int(struct config *cfg, const char *name);
long config_get_time(struct config *cfg, const char *name); /* seconds */
long config_get_time_ms(struct config *cfg, const char *name);
long long config_get_size(struct config *cfg, const char *name);
/* config_get_list - expanded value split into tokens (caller frees) */
void config_get_list(struct config *cfg, const char *name, struct strlist *out);

/* config_check - validate every typed parameter and the expansions; append
 * "file, line N: ..." messages.  Returns the number of errors. */
int config_check(struct config *cfg, struct strlist *errors);
/* config_check_param - the same for one registered parameter: the number
 * of errors appended (0 or 1; 0 for a name outside the registry) */
int config_check_param(struct config *cfg, const char *name, struct strlist *errors);
/* config_warn_unused - warnings for names that are neither registered,
 * Postfix parameters, referenced as $name (main.cf or master.cf, which may
 * be NULL), nor restriction classes; a softer one for Postfix parameters
 * postern does not implement; "undefined parameter" for $names nobody
 * defines.  Each warning is given once per process. */
void config_warn_unused(struct config *cfg, const struct master_config *master);
/* config_user_names - names set in main.cf outside the registry that are
 * known all the same: referenced, restriction classes, or Postfix names
 * (sorted; added to out) */
void config_user_names(struct config *cfg, const struct master_config *master, struct strlist *out);

/* parse_bool / parse_time - value syntax shared with -o overrides; a bare
 * number is in default_unit; parse_time_ms also accepts "ms" */
int parse_bool(const char *value, bool *out);
int parse_time(const char *value, char default_unit, long *seconds);
int parse_time_ms(const char *value, char default_unit, long *ms);

/*
 * expand - Postfix macro expansion of text: $name ${name} $(name),
 * ${name?text} ${name:text} ${name?{a}:{b}}, ${{a} == {b} ? {x} : {y}}
 * (also != < <= > >= and ==level <level ... for compatibility levels), $$.
 * lookup returns the raw value of a name or NULL when undefined; the result
 * of a lookup is expanded again (recursively, at most 100 levels deep).
 * Appends to out.  Returns 0, or -1 with *err (allocated).
 */
typedef const char *(*expand_lookup_fn)(void *ctx, const char *name);
int expand(const char *text, expand_lookup_fn lookup, void *ctx, struct buf *out, char **err);
/* expand_names - every $name referenced in text (for unused checks) */
void expand_names(const char *text, struct strlist *names);

/* ---- master.cf (mastercf.c) ---- */
struct master_service {
    char *name;     /* "smtp", "127.0.0.1:10025", "submission" */
    char *type;     /* inet, unix, unix-dgram, fifo, pass */
    char *private_; /* y n - */
    char *unpriv;
    char *chroot;
    char *wakeup;
    char *maxproc;
    char *command;            /* smtpd, cleanup ... */
    struct strlist args;      /* remaining arguments (without -o pairs) */
    struct strlist overrides; /* "name=value" from -o, names and values trimmed */
    struct strlist argv;      /* every argument as `conf -M` prints it; a daemon
                                 option "-o name=value" is one item */
    char *file;
    int line;
};

struct master_config {
    struct master_service *services;
    size_t count;
};

/* master_load - parse DIR/master.cf; a missing file gives an empty list
 * when missing_ok.  Errors go to errors; returns -1 if any.  out must be
 * zeroed (or freed with master_free) before. */
int master_load(const char *path, bool missing_ok, struct master_config *out,
                struct strlist *errors);
int master_parse_text(const char *text, size_t len, const char *file, struct master_config *out,
                      struct strlist *errors);
void master_free(struct master_config *m);
/* master_service_config - a child layer of main with the -o overrides;
 * warns about unknown or unimplemented override names */
struct config *master_service_config(struct config *main, const struct master_service *svc);

/*
 * ---- main.cf editing for `postern conf -e` and `-X` (edit.c) ----
 * config_edit_file - set each "name=value": every existing assignment of the
 * name (with its continuation lines) is replaced in place, others are
 * appended; comments, blank lines and order stay.  The file is replaced
 * atomically (temporary file, fsync, rename).  0, or -1 with errors.
 * config_edit_remove - remove every assignment of the names likewise.
 */
int config_edit_file(const char *path, const struct strlist *assignments, struct strlist *errors);
int config_edit_remove(const char *path, const struct strlist *names, struct strlist *errors);

#endif
