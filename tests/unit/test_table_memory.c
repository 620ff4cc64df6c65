/* Unit tests: texthash:, inline:, static:, fail:, unionmap:, pipemap:. */
#include <stdlib.h>
#include <string.h>

#include "table/table.h"
#include "testutil.h"

static enum table_status q(const char *spec, const char *key, char *out, size_t n)
{
    test_capture_begin();
    struct table *t = table_open(spec, TABLE_OPEN_FOLD);
    const char *v = NULL;
    enum table_status st = table_lookup(t, key, &v);
    snprintf(out, n, "%s", st == TABLE_FOUND ? v : "");
    table_close(t);
    free(test_capture_end());
    return st;
}

static void test_texthash_reads_source(void **state)
{
    (void) state;
    char *path = test_write_file("th", "Alpha 1\nbeta two words\nalpha dup\n");
    char *spec = xasprintf("texthash:%s", path);
    char v[128];
    assert_int_equal(q(spec, "ALPHA", v, sizeof(v)), TABLE_FOUND);
    assert_string_equal(v, "1");
    assert_int_equal(q(spec, "beta", v, sizeof(v)), TABLE_FOUND);
    assert_string_equal(v, "two words");
    assert_int_equal(q(spec, "gamma", v, sizeof(v)), TABLE_NOTFOUND);
    table_cache_clear();
    free(spec);
    free(path);
}

static void test_inline_forms(void **state)
{
    (void) state;
    char v[128];
    assert_int_equal(q("inline:{a=b, {c = d e}, X=y}", "c", v, sizeof(v)), TABLE_FOUND);
    assert_string_equal(v, "d e");
    assert_int_equal(q("inline:{a=b, {c = d e}, X=y}", "x", v, sizeof(v)), TABLE_FOUND);
    assert_string_equal(v, "y");
    assert_int_equal(q("inline:{{x,y=1}}", "x,y", v, sizeof(v)), TABLE_FOUND);
    /* A value with spaces outside braces breaks the whole table. */
    assert_int_equal(q("inline:{a=b, c=d e}", "a", v, sizeof(v)), TABLE_TEMPFAIL);
    assert_int_equal(q("inline:a=b", "a", v, sizeof(v)), TABLE_TEMPFAIL);
    table_cache_clear();
}

static void test_static_and_fail(void **state)
{
    (void) state;
    char v[128];
    assert_int_equal(q("static:{hello world}", "anything", v, sizeof(v)), TABLE_FOUND);
    assert_string_equal(v, "hello world");
    assert_int_equal(q("static:OK", "x", v, sizeof(v)), TABLE_FOUND);
    assert_string_equal(v, "OK");
    assert_int_equal(q("fail:broken", "x", v, sizeof(v)), TABLE_TEMPFAIL);
    assert_int_equal(q("nosuchtype:x", "x", v, sizeof(v)), TABLE_TEMPFAIL);
    table_cache_clear();
}

static void test_union_and_pipe(void **state)
{
    (void) state;
    char v[128];
    assert_int_equal(q("unionmap:{inline:{x=1}, inline:{x=2}, inline:{y=3}}", "x", v, sizeof(v)),
                     TABLE_FOUND);
    assert_string_equal(v, "1,2");
    assert_int_equal(q("unionmap:{inline:{x=1}, fail:f}", "x", v, sizeof(v)), TABLE_TEMPFAIL);
    assert_int_equal(q("pipemap:{inline:{x=1}, inline:{1=2}}", "x", v, sizeof(v)), TABLE_FOUND);
    assert_string_equal(v, "2");
    assert_int_equal(q("pipemap:{inline:{x=1}, inline:{9=2}}", "x", v, sizeof(v)), TABLE_NOTFOUND);
    table_cache_clear();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_texthash_reads_source),
        cmocka_unit_test(test_inline_forms),
        cmocka_unit_test(test_static_and_fail),
        cmocka_unit_test(test_union_and_pipe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
