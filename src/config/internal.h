/*
 * internal - what the files of the config module share and nobody else
 * sees: the layout of struct config and helpers between maincf.c (storage,
 * raw values, expansion cache) and values.c (typed values, checks).
 */
#ifndef POSTERN_CONFIG_INTERNAL_H
#define POSTERN_CONFIG_INTERNAL_H

#include "config/config.h"

struct config {
    char *dir;
    char *main_path;
    struct config *parent;
    struct config_entry *entries; /* this layer, in order of first assignment */
    size_t count, cap;
    struct htable *index;     /* name -> entry index + 1 */
    struct htable *cache;     /* name -> expanded value (owned) */
    struct htable *computed;  /* name -> computed default (owned) */
    struct htable *computing; /* names whose default is being computed */
    unsigned long cache_gen;  /* config_generation the caches belong to */
    struct htable *warned;    /* undefined names already warned about */
    struct strlist duplicates;
    struct strlist retired; /* replaced values, kept so returned pointers stay valid */
};

/* config_expand_value - expanded value of name in cfg (RAW parameters stay
 * unexpanded); 0, or -1 with *err (allocated) on a syntax error or loop */
int config_expand_value(struct config *cfg, const char *name, const char **value, char **err);
/* config_where - "FILE, line N" for a set parameter, else the main.cf path
 * with "(default)"; allocated */
char *config_where(const struct config *cfg, const char *name);
/* config_root - the main.cf layer under any service layers */
struct config *config_root(struct config *cfg);
/* config_warn_undefined - "undefined parameter" once per name */
void config_warn_undefined(struct config *cfg, const char *name);
/* config_name_is_transport_param - a per-transport Postfix name (SERVICE_suffix)
 * for a master.cf service name, e.g. maildrop_destination_recipient_limit */
bool config_name_is_transport_param(const char *name, const struct master_config *master);

/*
 * config_read_logical - split main.cf / master.cf text into logical lines
 * (comments and blank lines skipped, continuation lines joined) and call fn
 * with each and the number of its first line; what names the missing thing
 * in the error for a continuation line at the top.  -1 if fn or the reader
 * reported any error.
 */
typedef int (*config_logical_fn)(void *ctx, char *line, int lineno, struct strlist *errors);
int config_read_logical(const char *text, size_t len, const char *file, const char *what,
                        struct strlist *errors, config_logical_fn fn, void *ctx);
/* config_references - every $name in main.cf and master.cf, and the
 * smtpd_restriction_classes names: the names that are "used" */
void config_references(struct config *cfg, const struct master_config *master,
                       struct strlist *refs);
/* config_warn_override - warnings for unknown or unimplemented -o names of
 * one service (master may be NULL) */
void config_warn_override(struct config *main, const struct master_config *master,
                          const struct master_service *svc);

#endif
