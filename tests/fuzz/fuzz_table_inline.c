/*
 * fuzz_table_inline - libFuzzer target for table specifications written in
 * the configuration: inline:{...} (src/table/inline.c), and the same text
 * inside unionmap:{...} and pipemap:{...} (src/table/nested.c) and as the
 * rules of cidr:{...}, regexp:{...} and pcre:{...} (src/table/pattern.c).
 * Only types that never touch the file system are built from the input.
 */
#include <stdint.h>

#include "fuzz_table_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fixed_keys[] = {"a", "A", "key", "1.2.3.4", "::1", "", "{", "}"};

/* file_free - every "type:" in the text names a type that reads no file:
 * inline, static, fail, the nested types, or a pattern type given "{...}" */
static bool file_free(const char *text)
{
    for (const char *p = text; (p = strchr(p, ':')) != NULL; p++) {
        const char *s = p;
        while (s > text && s[-1] >= 'a' && s[-1] <= 'z')
            s--;
        if (s == p)
            continue;
        char *name = xstrndup(s, (size_t) (p - s));
        const struct table_type *type = table_type_find(name);
        free(name);
        if (type == NULL || (type->flags & TABLE_T_NOMAP))
            continue;
        if (!(type->flags & TABLE_T_PATTERN) || p[1] != '{')
            return false;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192 || memchr(data, 0, size) != NULL || fuzz_table_explosive(data, size))
        return 0;
    char *text = xstrndup((const char *) data, size);
    if (!file_free(text)) {
        free(text);
        return 0;
    }
    struct strlist keys;
    strlist_init(&keys);
    fuzz_table_keys(data, size, fixed_keys, ARRAY_LEN(fixed_keys), 16, &keys);
    log_capture(&fuzz_warnings);
    /* Each form: the text between before and after (and, with twice,
     * again between after and end). */
    static const struct {
        const char *before, *after, *end;
    } forms[] = {
        {"inline:{", "}", NULL},
        {"unionmap:{inline:{", "}, static:x}", NULL},
        {"pipemap:{inline:{", "}, inline:{", "}}"},
        {"cidr:{", "}", NULL},
        {"regexp:{", "}", NULL},
        {"pcre:{", "}", NULL},
    };
    for (size_t f = 0; f < ARRAY_LEN(forms); f++) {
        struct buf spec_buf;
        buf_init(&spec_buf);
        buf_puts(&spec_buf, forms[f].before);
        buf_puts(&spec_buf, text);
        buf_puts(&spec_buf, forms[f].after);
        if (forms[f].end != NULL) {
            buf_puts(&spec_buf, text);
            buf_puts(&spec_buf, forms[f].end);
        }
        char *spec = buf_steal(&spec_buf);
        struct table *t = table_open(spec, TABLE_OPEN_QUIET);
        for (size_t i = 0; i < keys.count; i++) {
            const char *v = NULL;
            enum table_status st = table_lookup(t, keys.items[i], &v);
            fuzz_table_check(st, v);
            if (table_open_error(t) != NULL && st != TABLE_TEMPFAIL)
                abort();
        }
        table_close(t);
        table_cache_clear();
        free(spec);
        buf_reset(&fuzz_warnings);
    }
    strlist_free(&keys);
    free(text);
    return 0;
}
