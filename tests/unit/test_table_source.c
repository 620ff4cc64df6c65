/* Unit tests: the postmap(1) source format reader. */
#include <stdlib.h>
#include <string.h>

#include "table/table.h"
#include "testutil.h"

static void parse(const char *text, struct strlist *out, char **warnings)
{
    struct table_source src;
    table_source_init_text(&src, "src", text, strlen(text));
    test_capture_begin();
    char *k, *v;
    while (table_source_next(&src, &k, &v)) {
        char *e = xasprintf("%d|%s|%s", src.line, k, v);
        strlist_add_owned(out, e);
    }
    *warnings = test_capture_end();
    table_source_close(&src);
}

static void test_comments_blank_and_whitespace_in_values(void **state)
{
    (void) state;
    struct strlist l;
    strlist_init(&l);
    char *w;
    parse("# comment\n\n  # indented comment\nFoo.Example  REJECT  a   b  \nk2 v2 # kept\n", &l,
          &w);
    assert_int_equal(l.count, 2);
    assert_string_equal(l.items[0], "4|Foo.Example|REJECT  a   b");
    assert_string_equal(l.items[1], "5|k2|v2 # kept");
    assert_string_equal(w, "");
    free(w);
    strlist_free(&l);
}

static void test_continuation_lines_past_blank_and_comment(void **state)
{
    (void) state;
    struct strlist l;
    strlist_init(&l);
    char *w;
    parse("k1 v1\n\n  more\n#c\n\tand more\nk2 v2\r\n", &l, &w);
    assert_int_equal(l.count, 2);
    assert_string_equal(l.items[0], "1|k1|v1  more\tand more");
    assert_string_equal(l.items[1], "6|k2|v2");
    free(w);
    strlist_free(&l);
}

static void test_bad_lines_warn_with_file_and_line(void **state)
{
    (void) state;
    struct strlist l;
    strlist_init(&l);
    char *w;
    parse("  leading\nlonely\nkey: val\n", &l, &w);
    assert_int_equal(l.count, 1);
    assert_string_equal(l.items[0], "3|key:|val");
    assert_non_null(strstr(w, "src, line 1: logical line must not start with whitespace"));
    assert_non_null(strstr(w, "src, line 2: expected format: key whitespace value"));
    assert_non_null(strstr(w, "src, line 3: record is in \"key: value\" format"));
    free(w);
    strlist_free(&l);
}

static void test_no_final_newline(void **state)
{
    (void) state;
    struct strlist l;
    strlist_init(&l);
    char *w;
    parse("a 1\nb 2", &l, &w);
    assert_int_equal(l.count, 2);
    assert_string_equal(l.items[1], "2|b|2");
    free(w);
    strlist_free(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_comments_blank_and_whitespace_in_values),
        cmocka_unit_test(test_continuation_lines_past_blank_and_comment),
        cmocka_unit_test(test_bad_lines_warn_with_file_and_line),
        cmocka_unit_test(test_no_final_newline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
