/*
 * values - typed parameter values and the checks run before a configuration
 * is used: booleans (yes/no, any case), integers, times (a number with an
 * optional unit s m h d w; a bare number is in the parameter's default unit,
 * as in Postfix), byte sizes, lists; config_check validates every typed
 * parameter with "FILE, line N: ..." messages, and config_warn_unused
 * reports names nobody reads, as postconf(1) does.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"

/* ---- value syntax ---- */

int parse_bool(const char *value, bool *out)
{
    if (str_eq_nocase(value, "yes")) {
        *out = true;
        return 0;
    }
    if (str_eq_nocase(value, "no")) {
        *out = false;
        return 0;
    }
    return -1;
}

static long unit_ms(const char *unit, size_t len)
{
    if (len == 2 && memcmp(unit, "ms", 2) == 0)
        return 1;
    if (len != 1)
        return -1;
    switch (*unit) {
    case 's': return 1000L;
    case 'm': return 60 * 1000L;
    case 'h': return 3600 * 1000L;
    case 'd': return 86400 * 1000L;
    case 'w': return 7 * 86400 * 1000L;
    default: return -1;
    }
}

/* parse_duration - digits and an optional unit, in milliseconds */
static int parse_duration(const char *value, char default_unit, bool allow_ms, long *ms)
{
    const char *p = value;
    long n = 0;
    if (*p < '0' || *p > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (n > (LONG_MAX - 9) / 10)
            return -1;
        n = n * 10 + (*p - '0');
    }
    char def[2] = {default_unit ? default_unit : 's', 0};
    const char *unit = *p ? p : def;
    long mult = unit_ms(unit, strlen(unit));
    if (mult < 0 || (mult == 1 && !allow_ms))
        return -1;
    if (n > LONG_MAX / mult)
        return -1;
    *ms = n * mult;
    return 0;
}

int parse_time(const char *value, char default_unit, long *seconds)
{
    long ms;
    if (parse_duration(value, default_unit, false, &ms) < 0)
        return -1;
    *seconds = ms / 1000;
    return 0;
}

int parse_time_ms(const char *value, char default_unit, long *ms)
{
    return parse_duration(value, default_unit, true, ms);
}

static int parse_size(const char *value, long long *out)
{
    long long n = 0;
    const char *p = value;
    if (*p < '0' || *p > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (n > (LLONG_MAX - 9) / 10)
            return -1;
        n = n * 10 + (*p - '0');
    }
    if (*p)
        return -1;
    *out = n;
    return 0;
}

static char unit_of(const struct param_def *def)
{
    return def && def->time_unit ? def->time_unit : 's';
}

/* ---- typed getters: values were checked by config_check at start-up ---- */

NORETURN static void bad_value(struct config *cfg, const char *kind, const char *name,
                               const char *value)
{
    char *where = config_where(cfg, name);
    fatalx("%s: bad %s value for %s: %s", where, kind, name, value);
}

static void check_range(struct config *cfg, const char *name, long long v)
{
    const struct param_def *def = param_find(name);
    if (def && def->max > def->min && (v < def->min || v > def->max)) {
        char *where = config_where(cfg, name);
        fatalx("%s: %s value %lld is out of range (%ld..%ld)", where, name, v, def->min, def->max);
    }
}

bool config_get_bool(struct config *cfg, const char *name)
{
    const char *v = config_get(cfg, name);
    bool b;
    if (parse_bool(v, &b) < 0)
        bad_value(cfg, "boolean", name, v);
    return b;
}

long config_get_int(struct config *cfg, const char *name)
{
    const char *v = config_get(cfg, name);
    long n;
    if (str_to_long(v, &n) < 0)
        bad_value(cfg, "integer", name, v);
    check_range(cfg, name, n);
    return n;
}

long config_get_time(struct config *cfg, const char *name)
{
    const char *v = config_get(cfg, name);
    long s;
    if (parse_time(v, unit_of(param_find(name)), &s) < 0)
        bad_value(cfg, "time", name, v);
    check_range(cfg, name, s);
    return s;
}

long config_get_time_ms(struct config *cfg, const char *name)
{
    const char *v = config_get(cfg, name);
    long ms;
    if (parse_time_ms(v, unit_of(param_find(name)), &ms) < 0)
        bad_value(cfg, "time", name, v);
    check_range(cfg, name, ms / 1000);
    return ms;
}

long long config_get_size(struct config *cfg, const char *name)
{
    const char *v = config_get(cfg, name);
    long long n;
    if (parse_size(v, &n) < 0)
        bad_value(cfg, "size", name, v);
    check_range(cfg, name, n);
    return n;
}

void config_get_list(struct config *cfg, const char *name, struct strlist *out)
{
    const char *v = config_get(cfg, name);
    char *err = NULL;
    if (str_split_list(v, LIST_SEPS, out, &err) < 0) {
        char *where = config_where(cfg, name);
        fatalx("%s: %s: %s", where, name, err);
    }
}

/* ---- config_check ---- */

static int add_error(struct strlist *errors, char *msg)
{
    strlist_add_owned(errors, msg);
    return 1;
}

static const char *null_lookup(void *ctx, const char *name)
{
    (void) ctx, (void) name;
    return NULL;
}

/* check_value - one parameter's value against its type and range */
static int check_value(struct config *cfg, const struct param_def *def, struct strlist *errors)
{
    char *where = config_where(cfg, def->name);
    const char *v;
    char *err = NULL;
    long long n = 0;
    int bad = 0;
    if (def->flags & PARAM_F_LITERAL)
        goto done;
    if (def->flags & PARAM_F_RAW) {
        /* expanded later with per-use macros: only the syntax can be checked */
        struct buf out;
        buf_init(&out);
        if (expand(config_raw(cfg, def->name), null_lookup, NULL, &out, &err) < 0)
            bad = add_error(errors, xasprintf("%s: %s: %s", where, def->name, err));
        buf_free(&out);
        goto done;
    }
    if (config_expand_value(cfg, def->name, &v, &err) < 0) {
        bad = add_error(errors, xasprintf("%s: %s: %s", where, def->name, err));
        goto done;
    }
    switch (def->type) {
    case PARAM_BOOL: {
        bool b;
        if (parse_bool(v, &b) < 0)
            bad = add_error(errors,
                            xasprintf("%s: bad boolean value for %s: %s", where, def->name, v));
        goto done;
    }
    case PARAM_INT: {
        long l;
        if (str_to_long(v, &l) < 0) {
            bad = add_error(errors,
                            xasprintf("%s: bad integer value for %s: %s", where, def->name, v));
            goto done;
        }
        n = l;
        break;
    }
    case PARAM_TIME: {
        long s;
        if (parse_time(v, unit_of(def), &s) < 0) {
            bad = add_error(errors, xasprintf("%s: bad time value for %s: %s (use a number with an "
                                              "optional unit s, m, h, d or w)",
                                              where, def->name, v));
            goto done;
        }
        n = s;
        break;
    }
    case PARAM_SIZE:
        if (parse_size(v, &n) < 0) {
            bad =
                add_error(errors, xasprintf("%s: bad size value for %s: %s", where, def->name, v));
            goto done;
        }
        break;
    case PARAM_LIST: {
        struct strlist items;
        strlist_init(&items);
        if (str_split_list(v, LIST_SEPS, &items, &err) < 0)
            bad = add_error(errors, xasprintf("%s: %s: %s", where, def->name, err));
        strlist_free(&items);
        goto done;
    }
    case PARAM_STRING: goto done;
    }
    if (def->max > def->min && (n < def->min || n > def->max)) {
        if (def->max == LONG_MAX)
            bad = add_error(errors, xasprintf("%s: %s value %s is out of range (at least %ld)",
                                              where, def->name, v, def->min));
        else
            bad = add_error(errors, xasprintf("%s: %s value %s is out of range (%ld..%ld)", where,
                                              def->name, v, def->min, def->max));
    }
done:
    free(err);
    free(where);
    return bad;
}

int config_check_param(struct config *cfg, const char *name, struct strlist *errors)
{
    const struct param_def *def = param_find(name);
    return def ? check_value(cfg, def, errors) : 0;
}

int config_check(struct config *cfg, struct strlist *errors)
{
    int nerr = 0;
    size_t count;
    const struct param_def *defs = param_registry(&count);
    for (size_t i = 0; i < count; i++)
        nerr += check_value(cfg, &defs[i], errors);
    /* names outside the registry: their expansion must at least parse */
    for (struct config *layer = cfg; layer != NULL; layer = layer->parent) {
        for (size_t i = 0; i < layer->count; i++) {
            const char *name = layer->entries[i].name;
            if (param_find(name) != NULL || config_entry_find(cfg, name) != &layer->entries[i])
                continue;
            const char *v;
            char *err = NULL;
            if (config_expand_value(cfg, name, &v, &err) < 0) {
                char *where = config_where(cfg, name);
                nerr += add_error(errors, xasprintf("%s: %s: %s", where, name, err));
                free(where);
                free(err);
            }
        }
    }
    return nerr;
}

/* ---- unused and unimplemented names ---- */

/* warn_once - a warning at most once per process for the same key (the
 * message itself when key is NULL); frees msg */
static void warn_once(const char *key, char *msg)
{
    static struct htable *seen;
    if (seen == NULL)
        seen = htable_new(16);
    if (key == NULL)
        key = msg;
    if (!htable_contains(seen, key)) {
        htable_put(seen, key, NULL);
        log_warnx("%s", msg);
    }
    free(msg);
}

/* Per-transport parameters Postfix derives from a master.cf service name. */
static const char *const transport_suffixes[] = {
    "delivery_slot_cost",
    "delivery_slot_discount",
    "delivery_slot_loan",
    "destination_concurrency_failed_cohort_limit",
    "destination_concurrency_limit",
    "destination_concurrency_negative_feedback",
    "destination_concurrency_positive_feedback",
    "destination_rate_delay",
    "destination_recipient_limit",
    "extra_recipient_limit",
    "initial_destination_concurrency",
    "minimum_delivery_slots",
    "recipient_limit",
    "recipient_refill_delay",
    "recipient_refill_limit",
    "time_limit",
    "transport_rate_delay",
};

bool config_name_is_transport_param(const char *name, const struct master_config *master)
{
    if (master == NULL)
        return false;
    for (size_t i = 0; i < master->count; i++) {
        const char *svc = master->services[i].name;
        size_t n = strlen(svc);
        if (strncmp(name, svc, n) != 0 || name[n] != '_')
            continue;
        for (size_t j = 0; j < ARRAY_LEN(transport_suffixes); j++)
            if (strcmp(name + n + 1, transport_suffixes[j]) == 0)
                return true;
    }
    return false;
}

static bool list_has(const struct strlist *l, const char *s)
{
    for (size_t i = 0; i < l->count; i++)
        if (strcmp(l->items[i], s) == 0)
            return true;
    return false;
}

/* override_value - the value part of "name=value" */
static const char *override_value(const char *assignment)
{
    const char *eq = strchr(assignment, '=');
    return eq ? eq + 1 : "";
}

void config_references(struct config *cfg, const struct master_config *master, struct strlist *refs)
{
    for (struct config *layer = cfg; layer != NULL; layer = layer->parent)
        for (size_t i = 0; i < layer->count; i++)
            expand_names(layer->entries[i].value, refs);
    for (size_t i = 0; master != NULL && i < master->count; i++) {
        const struct master_service *svc = &master->services[i];
        for (size_t j = 0; j < svc->overrides.count; j++)
            expand_names(override_value(svc->overrides.items[j]), refs);
        for (size_t j = 0; j < svc->args.count; j++)
            expand_names(svc->args.items[j], refs);
    }
    struct strlist classes;
    strlist_init(&classes);
    char *err = NULL;
    if (str_split_list(config_get(cfg, "smtpd_restriction_classes"), LIST_SEPS, &classes, &err) ==
        0) {
        for (size_t i = 0; i < classes.count; i++)
            if (!list_has(refs, classes.items[i]))
                strlist_add(refs, classes.items[i]);
    }
    free(err);
    strlist_free(&classes);
}

static bool is_postfix_name(const char *name, const struct master_config *master)
{
    return param_is_postfix_name(name) || config_name_is_transport_param(name, master);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

void config_user_names(struct config *cfg, const struct master_config *master, struct strlist *out)
{
    struct strlist refs;
    strlist_init(&refs);
    config_references(cfg, master, &refs);
    struct config *root = config_root(cfg);
    for (size_t i = 0; i < root->count; i++) {
        const char *name = root->entries[i].name;
        if (param_find(name) == NULL && (list_has(&refs, name) || is_postfix_name(name, master)))
            strlist_add(out, name);
    }
    strlist_free(&refs);
    if (out->count > 1)
        qsort(out->items, out->count, sizeof(char *), cmp_str);
}

/* warn_name - the warning (if any) for one assignment outside the registry */
static void warn_name(const char *name, const char *value, const char *file, int line,
                      const struct strlist *refs, const struct master_config *master)
{
    if (param_find(name) != NULL || list_has(refs, name))
        return;
    if (is_postfix_name(name, master)) {
        char *key = xasprintf("unimplemented %s", name);
        warn_once(key,
                  xasprintf("%s, line %d: %s: Postfix parameter that postern does not implement; "
                            "ignored",
                            file, line, name));
        free(key);
        return;
    }
    const char *hint = param_suggest(name);
    char *shown = str_printable(value, strlen(value));
    if (hint)
        warn_once(NULL, xasprintf("%s, line %d: unused parameter: %s=%s (did you mean %s?)", file,
                                  line, name, shown, hint));
    else
        warn_once(NULL, xasprintf("%s, line %d: unused parameter: %s=%s", file, line, name, shown));
    free(shown);
}

/* warn_undefined_refs - "$name" references to names nobody defines */
static void warn_undefined_refs(struct config *cfg, const char *value,
                                const struct master_config *master)
{
    struct strlist names;
    strlist_init(&names);
    expand_names(value, &names);
    for (size_t i = 0; i < names.count; i++)
        if (config_raw(cfg, names.items[i]) == NULL && !is_postfix_name(names.items[i], master))
            config_warn_undefined(cfg, names.items[i]);
    strlist_free(&names);
}

void config_warn_override(struct config *main, const struct master_config *master,
                          const struct master_service *svc)
{
    struct strlist refs;
    strlist_init(&refs);
    config_references(main, master, &refs);
    if (master == NULL)
        for (size_t j = 0; j < svc->overrides.count; j++)
            expand_names(override_value(svc->overrides.items[j]), &refs);
    for (size_t j = 0; j < svc->overrides.count; j++) {
        const char *assignment = svc->overrides.items[j];
        const char *eq = strchr(assignment, '=');
        char *name = xstrndup(assignment, eq ? (size_t) (eq - assignment) : strlen(assignment));
        warn_name(name, override_value(assignment), svc->file, svc->line, &refs, master);
        warn_undefined_refs(main, override_value(assignment), master);
        free(name);
    }
    strlist_free(&refs);
}

void config_warn_unused(struct config *cfg, const struct master_config *master)
{
    struct config *root = config_root(cfg);
    struct strlist refs;
    strlist_init(&refs);
    config_references(root, master, &refs);
    for (size_t i = 0; i < root->count; i++) {
        const struct config_entry *e = &root->entries[i];
        if (e->file == NULL)
            continue;
        warn_name(e->name, e->value, e->file, e->line, &refs, master);
        const struct param_def *def = param_find(e->name);
        if (def == NULL || !(def->flags & (PARAM_F_RAW | PARAM_F_LITERAL)))
            warn_undefined_refs(root, e->value, master);
    }
    strlist_free(&refs);
    for (size_t i = 0; master != NULL && i < master->count; i++)
        config_warn_override(root, master, &master->services[i]);
}
