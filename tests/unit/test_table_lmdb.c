/* Unit tests: hash:/btree:/lmdb: tables (build, lookup, duplicates,
 * incremental update, delete, atomic replacement seen by a reader). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "table/table.h"
#include "testutil.h"

static char *build(const char *name, const char *text, unsigned flags, char **warnings)
{
    char *path = test_write_file(name, text);
    char *spec = xasprintf("hash:%s", path);
    test_capture_begin();
    assert_int_equal(table_build(spec, flags), 0);
    *warnings = test_capture_end();
    free(path);
    return spec;
}

static const char *get(const char *spec, const char *key)
{
    struct table *t = table_open(spec, TABLE_OPEN_FOLD);
    const char *v = NULL;
    enum table_status st = table_lookup(t, key, &v);
    static char out[256];
    snprintf(out, sizeof(out), "%s", st == TABLE_FOUND ? v : st == TABLE_NOTFOUND ? "-" : "!");
    table_close(t);
    return out;
}

static void test_build_and_query_folds_case(void **state)
{
    (void) state;
    char *w;
    char *spec = build("fold",
                       "First.Local.Domain REJECT Oh no you don't. You're not local!\n"
                       "[1.2.3.4] OK\n",
                       0, &w);
    assert_string_equal(get(spec, "first.local.domain"),
                        "REJECT Oh no you don't. You're not local!");
    assert_string_equal(get(spec, "FIRST.LOCAL.DOMAIN"),
                        "REJECT Oh no you don't. You're not local!");
    assert_string_equal(get(spec, "[1.2.3.4]"), "OK");
    assert_string_equal(get(spec, "second.local.domain"), "-");
    assert_string_equal(get(spec, ""), "-");
    free(w);
    table_cache_clear();
    free(spec);
}

static void test_duplicates_first_wins_and_warns(void **state)
{
    (void) state;
    char *w;
    char *spec = build("dup", "k a\nk b\nK c\n", 0, &w);
    assert_string_equal(get(spec, "k"), "a");
    assert_non_null(strstr(w, "line 2: duplicate entry: \"k\""));
    assert_non_null(strstr(w, "line 3: duplicate entry: \"k\""));
    free(w);
    table_cache_clear();
    free(spec);

    spec = build("dup_r", "k a\nk b\n", TABLE_OPEN_DUP_LAST, &w);
    assert_string_equal(get(spec, "k"), "b");
    assert_string_equal(w, "");
    free(w);
    table_cache_clear();
    free(spec);

    spec = build("dup_w", "k a\nk b\n", TABLE_OPEN_DUP_OK, &w);
    assert_string_equal(get(spec, "k"), "a");
    assert_string_equal(w, "");
    free(w);
    table_cache_clear();
    free(spec);
}

static void test_nofold_keeps_case(void **state)
{
    (void) state;
    char *w;
    char *spec = build("nofold", "MiXed v\n", TABLE_OPEN_NOFOLD, &w);
    struct table *t = table_open(spec, TABLE_OPEN_NOFOLD);
    const char *v;
    assert_int_equal(table_lookup(t, "MiXed", &v), TABLE_FOUND);
    assert_int_equal(table_lookup(t, "mixed", &v), TABLE_NOTFOUND);
    table_close(t);
    free(w);
    table_cache_clear();
    free(spec);
}

static void test_update_delete_and_sequence(void **state)
{
    (void) state;
    char *w;
    char *spec = build("upd", "a 1\nb 2\n", 0, &w);
    free(w);
    struct buf err;
    buf_init(&err);
    struct table *t = table_open(spec, TABLE_OPEN_WRITE);
    assert_null(table_open_error(t));
    assert_int_equal(t->type->update(t, "C", "3", &err), 0);
    assert_int_equal(t->type->remove(t, "a", &err), 0);
    assert_int_equal(t->type->remove(t, "zz", &err), 1);
    assert_int_equal(t->type->commit(t, &err), 0);
    table_close(t);
    t = table_open(spec, 0);
    const char *k, *v;
    struct buf all;
    buf_init(&all);
    for (bool first = true; table_sequence(t, first, &k, &v) == 0; first = false)
        buf_printf(&all, "%s=%s;", k, v);
    assert_string_equal(buf_cstr(&all), "b=2;c=3;");
    table_close(t);
    buf_free(&all);
    buf_free(&err);
    table_cache_clear();
    free(spec);
}

static void test_reader_sees_rebuild_after_refresh(void **state)
{
    (void) state;
    char *w;
    char *spec = build("live", "k old\n", 0, &w);
    free(w);
    struct table *reader = table_open(spec, TABLE_OPEN_FOLD);
    const char *v;
    assert_int_equal(table_lookup(reader, "k", &v), TABLE_FOUND);
    assert_string_equal(v, "old");
    /* Rebuild from a new source: the open reader keeps its snapshot ... */
    free(build("live", "k new\n", 0, &w));
    free(w);
    assert_int_equal(table_lookup(reader, "k", &v), TABLE_FOUND);
    assert_string_equal(v, "old");
    /* ... until it refreshes. */
    table_refresh_all();
    assert_int_equal(table_lookup(reader, "k", &v), TABLE_FOUND);
    assert_string_equal(v, "new");
    table_close(reader);
    table_cache_clear();
    free(spec);
}

static void test_missing_file_is_tempfail_standin(void **state)
{
    (void) state;
    test_capture_begin();
    struct table *t = table_open("hash:/nonexistent/table", 0);
    char *w = test_capture_end();
    assert_non_null(table_open_error(t));
    assert_non_null(strstr(w, "/nonexistent/table.lmdb"));
    const char *v;
    assert_int_equal(table_lookup(t, "x", &v), TABLE_TEMPFAIL);
    table_close(t);
    free(w);
    table_cache_clear();
}

static void test_many_entries(void **state)
{
    (void) state;
    struct buf text;
    buf_init(&text);
    for (int i = 0; i < 20000; i++)
        buf_printf(&text, "key%d.example value-%d\n", (i * 7919) % 20000, i);
    char *w;
    char *spec = build("many", text.data, 0, &w);
    free(w);
    struct table *t = table_open(spec, 0);
    const char *v;
    assert_int_equal(table_lookup(t, "key0.example", &v), TABLE_FOUND);
    assert_string_equal(v, "value-0");
    assert_int_equal(table_lookup(t, "key19999.example", &v), TABLE_FOUND);
    assert_int_equal(table_lookup(t, "key20000.example", &v), TABLE_NOTFOUND);
    table_close(t);
    buf_free(&text);
    table_cache_clear();
    free(spec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_and_query_folds_case),
        cmocka_unit_test(test_duplicates_first_wins_and_warns),
        cmocka_unit_test(test_nofold_keeps_case),
        cmocka_unit_test(test_update_delete_and_sequence),
        cmocka_unit_test(test_reader_sees_rebuild_after_refresh),
        cmocka_unit_test(test_missing_file_is_tempfail_standin),
        cmocka_unit_test(test_many_entries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
