/*
 * maincf - main.cf in Postfix syntax (postconf(5), "DESCRIPTION") and the
 * storage of one configuration layer.
 *
 * A logical line is "name = value"; lines whose first non-blank character
 * is '#' and blank lines are ignored, also between a line and its
 * continuations; a line starting with whitespace continues the logical line
 * before it, joined as written without the newline.  Whitespace around the
 * name and the value is removed.  A later assignment of a name replaces an
 * earlier one (its file and line are kept; the earlier one is noted for
 * `postern conf`).  Errors are "FILE, line N: text" with N the first line of
 * the logical line.
 *
 * Raw values come from the nearest layer that sets the name, else from the
 * registry default (computed ones at run time).  Expanded values are cached
 * per layer; any config_set anywhere invalidates every cache.  Strings
 * handed out (raw or expanded) are never freed before config_free, so
 * callers may keep them; a later config_set makes them stale, not invalid.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"

/* Bumped by every config_set: caches of older generations are stale. */
static unsigned long config_generation = 1;

struct config *config_new(const char *config_dir, struct config *parent)
{
    struct config *cfg = xcalloc(1, sizeof(*cfg));
    if (config_dir == NULL && parent != NULL)
        config_dir = parent->dir;
    cfg->dir = xstrdup(config_dir ? config_dir : DEFAULT_CONFIG_DIR);
    cfg->main_path = parent ? xstrdup(parent->main_path) : xasprintf("%s/main.cf", cfg->dir);
    cfg->parent = parent;
    cfg->index = htable_new(64);
    cfg->cache = htable_new(64);
    cfg->computed = htable_new(8);
    cfg->computing = htable_new(8);
    cfg->warned = htable_new(8);
    strlist_init(&cfg->duplicates);
    strlist_init(&cfg->retired);
    return cfg;
}

void config_free(struct config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < cfg->count; i++) {
        free(cfg->entries[i].name);
        free(cfg->entries[i].value);
        free(cfg->entries[i].file);
    }
    free(cfg->entries);
    htable_free(cfg->index, NULL);
    htable_free(cfg->cache, free);
    htable_free(cfg->computed, free);
    htable_free(cfg->computing, NULL);
    htable_free(cfg->warned, NULL);
    strlist_free(&cfg->duplicates);
    strlist_free(&cfg->retired);
    free(cfg->dir);
    free(cfg->main_path);
    free(cfg);
}

const char *config_dir(const struct config *cfg)
{
    return cfg->dir;
}

const char *config_main_path(const struct config *cfg)
{
    return cfg->main_path;
}

struct config *config_root(struct config *cfg)
{
    while (cfg->parent != NULL)
        cfg = cfg->parent;
    return cfg;
}

const struct strlist *config_duplicate_notes(const struct config *cfg)
{
    return &cfg->duplicates;
}

void config_set(struct config *cfg, const char *name, const char *value, const char *file, int line)
{
    config_generation++;
    uintptr_t slot = (uintptr_t) htable_get(cfg->index, name);
    struct config_entry *e;
    if (slot != 0) {
        e = &cfg->entries[slot - 1];
        if (file != NULL && e->file != NULL)
            strlist_add_owned(&cfg->duplicates,
                              xasprintf("%s, line %d: overriding earlier entry: %s=%s", file, line,
                                        e->name, e->value));
        strlist_add_owned(&cfg->retired, e->value);
        free(e->file);
    } else {
        if (cfg->count == cfg->cap) {
            cfg->cap = cfg->cap ? cfg->cap * 2 : 32;
            cfg->entries = xreallocarray(cfg->entries, cfg->cap, sizeof(*cfg->entries));
        }
        e = &cfg->entries[cfg->count++];
        e->name = xstrdup(name);
        htable_put(cfg->index, name, (void *) (uintptr_t) cfg->count);
    }
    e->value = xstrdup(value);
    e->file = file ? xstrdup(file) : NULL;
    e->line = line;
}

/* ---- parsing ---- */

static bool is_blank_char(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* assign - finish one logical line "name = value" */
static int assign(struct config *cfg, char *text, const char *file, int line,
                  struct strlist *errors)
{
    char *logical = str_trim(text);
    char *eq = strchr(logical, '=');
    char *shown = str_printable(logical, strlen(logical) > 200 ? 200 : strlen(logical));
    int rc = 0;
    if (eq == NULL) {
        strlist_add_owned(errors, xasprintf("%s, line %d: missing '=' after parameter name: \"%s\"",
                                            file, line, shown));
        rc = -1;
        goto done;
    }
    *eq = 0;
    char *name = str_trim(logical);
    char *value = str_trim(eq + 1);
    if (*name == 0) {
        strlist_add_owned(
            errors,
            xasprintf("%s, line %d: missing parameter name before '=': \"%s\"", file, line, shown));
        rc = -1;
        goto done;
    }
    for (const char *p = name; *p; p++)
        if (is_blank_char(*p)) {
            strlist_add_owned(errors,
                              xasprintf("%s, line %d: missing '=' after parameter name: \"%s\"",
                                        file, line, shown));
            rc = -1;
            goto done;
        }
    config_set(cfg, name, value, file, line);
done:
    free(shown);
    return rc;
}

int config_read_logical(const char *text, size_t len, const char *file, const char *what,
                        struct strlist *errors, config_logical_fn fn, void *ctx)
{
    struct buf logical;
    buf_init(&logical);
    bool have = false;
    int logical_line = 0, lineno = 0, nerr = 0;
    size_t pos = 0;
    while (pos < len) {
        const char *start = text + pos;
        const char *nl = memchr(start, '\n', len - pos);
        size_t n = nl ? (size_t) (nl - start) : len - pos;
        pos += n + (nl != NULL);
        lineno++;
        if (memchr(start, 0, n) != NULL) {
            strlist_add_owned(errors,
                              xasprintf("%s, line %d: NUL character in line", file, lineno));
            nerr++;
            continue;
        }
        size_t i = 0;
        while (i < n && is_blank_char(start[i]))
            i++;
        if (i == n || start[i] == '#')
            continue; /* blank or comment: does not end a logical line */
        if (i > 0) {
            if (!have) {
                strlist_add_owned(errors, xasprintf("%s, line %d: continuation line (starting "
                                                    "with whitespace) without %s before it",
                                                    file, lineno, what));
                nerr++;
                continue;
            }
            buf_append(&logical, start, n);
            continue;
        }
        if (have && fn(ctx, logical.data, logical_line, errors) < 0)
            nerr++;
        buf_reset(&logical);
        buf_append(&logical, start, n);
        have = true;
        logical_line = lineno;
    }
    if (have && fn(ctx, logical.data, logical_line, errors) < 0)
        nerr++;
    buf_free(&logical);
    return nerr ? -1 : 0;
}

struct parse_ctx {
    struct config *cfg;
    const char *file;
};

static int assign_line(void *ctx, char *text, int line, struct strlist *errors)
{
    struct parse_ctx *pc = ctx;
    return assign(pc->cfg, text, pc->file, line, errors);
}

int config_parse_text(struct config *cfg, const char *text, size_t len, const char *file,
                      struct strlist *errors)
{
    struct parse_ctx pc = {cfg, file};
    return config_read_logical(text, len, file, "a parameter assignment", errors, assign_line, &pc);
}

struct config *config_load_main(const char *config_dir, struct strlist *errors)
{
    struct config *cfg = config_new(config_dir, NULL);
    struct buf text;
    buf_init(&text);
    if (file_read_all(cfg->main_path, &text) == -1) {
        strlist_add_owned(errors, xasprintf("open %s: %s", cfg->main_path, strerror(errno)));
        buf_free(&text);
        config_free(cfg);
        return NULL;
    }
    int rc = config_parse_text(cfg, text.data ? text.data : "", text.len, cfg->main_path, errors);
    buf_free(&text);
    if (rc < 0) {
        config_free(cfg);
        return NULL;
    }
    return cfg;
}

/* ---- raw values ---- */

static const struct config_entry *layer_entry(const struct config *cfg, const char *name)
{
    uintptr_t slot = (uintptr_t) htable_get(cfg->index, name);
    return slot ? &cfg->entries[slot - 1] : NULL;
}

const struct config_entry *config_entry_find(const struct config *cfg, const char *name)
{
    for (; cfg != NULL; cfg = cfg->parent) {
        const struct config_entry *e = layer_entry(cfg, name);
        if (e != NULL)
            return e;
    }
    return NULL;
}

const struct config_entry *config_entries(const struct config *cfg, size_t *count)
{
    *count = cfg->count;
    return cfg->entries;
}

bool config_is_set(const struct config *cfg, const char *name)
{
    return config_entry_find(cfg, name) != NULL;
}

/* fresh - drop caches that predate the last config_set */
static void retire_all(struct config *cfg, struct htable *h)
{
    struct htable_iter it = {0};
    const char *key;
    void *value;
    while (htable_next(h, &it, &key, &value))
        strlist_add_owned(&cfg->retired, value);
    htable_free(h, NULL);
}

static void fresh(struct config *cfg)
{
    if (cfg->cache_gen == config_generation)
        return;
    retire_all(cfg, cfg->cache);
    retire_all(cfg, cfg->computed);
    cfg->cache = htable_new(64);
    cfg->computed = htable_new(8);
    cfg->cache_gen = config_generation;
}

static const char *computed_default(struct config *cfg, const struct param_def *def)
{
    fresh(cfg);
    const char *v = htable_get(cfg->computed, def->name);
    if (v != NULL)
        return v;
    if (htable_contains(cfg->computing, def->name))
        return def->def; /* a default that refers back to itself: use the fallback */
    htable_put(cfg->computing, def->name, NULL);
    char *value = param_computed_default(cfg, def->name);
    htable_remove(cfg->computing, def->name);
    fresh(cfg);
    htable_put(cfg->computed, def->name, value);
    return value;
}

const char *config_raw(const struct config *cfg, const char *name)
{
    const struct config_entry *e = config_entry_find(cfg, name);
    if (e != NULL)
        return e->value;
    if (strcmp(name, "config_directory") == 0)
        return cfg->dir;
    const struct param_def *def = param_find(name);
    if (def == NULL)
        return NULL;
    if (def->flags & PARAM_F_COMPUTED)
        return computed_default((struct config *) cfg, def);
    return def->def;
}

/* ---- expansion ---- */

void config_warn_undefined(struct config *cfg, const char *name)
{
    struct config *root = config_root(cfg);
    if (htable_contains(root->warned, name))
        return;
    htable_put(root->warned, name, NULL);
    log_warnx("%s: undefined parameter: %s", root->main_path, name);
}

static const char *expand_lookup(void *ctx, const char *name)
{
    struct config *cfg = ctx;
    const char *v = config_raw(cfg, name);
    if (v == NULL && !param_is_postfix_name(name))
        config_warn_undefined(cfg, name);
    return v;
}

int config_expand_value(struct config *cfg, const char *name, const char **value, char **err)
{
    fresh(cfg);
    const char *cached = htable_get(cfg->cache, name);
    if (cached != NULL) {
        *value = cached;
        return 0;
    }
    const char *raw = config_raw(cfg, name);
    if (raw == NULL) {
        *value = "";
        return 0;
    }
    const struct param_def *def = param_find(name);
    if (def != NULL && (def->flags & (PARAM_F_RAW | PARAM_F_LITERAL))) {
        *value = raw;
        return 0;
    }
    struct buf out;
    buf_init(&out);
    char *copy = xstrdup(raw); /* raw may live in a cache that expansion refreshes */
    int rc = expand(copy, expand_lookup, cfg, &out, err);
    free(copy);
    if (rc < 0) {
        buf_free(&out);
        *value = "";
        return -1;
    }
    fresh(cfg);
    char *v = buf_steal(&out);
    free(htable_put(cfg->cache, name, v));
    *value = v;
    return 0;
}

int config_get_checked(struct config *cfg, const char *name, const char **value, char **err)
{
    return config_expand_value(cfg, name, value, err);
}

const char *config_get(struct config *cfg, const char *name)
{
    const char *value;
    char *err = NULL;
    if (config_expand_value(cfg, name, &value, &err) < 0) {
        char *where = config_where(cfg, name);
        log_warnx("%s: %s: %s", where, name, err);
        free(where);
        free(err);
        char *empty = xstrdup(""); /* warn once, not at every use */
        free(htable_put(cfg->cache, name, empty));
        return empty;
    }
    return value;
}

char *config_where(const struct config *cfg, const char *name)
{
    const struct config_entry *e = config_entry_find(cfg, name);
    if (e != NULL && e->file != NULL)
        return xasprintf("%s, line %d", e->file, e->line);
    if (e != NULL)
        return xstrdup("(command line)");
    return xasprintf("%s (default)", cfg->main_path);
}
