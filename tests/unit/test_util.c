/* Unit tests: util (buffers, strings, lists, hash table, arena). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

static void test_buf_grows_and_terminates(void **state)
{
    (void) state;
    struct buf b;
    buf_init(&b);
    assert_string_equal(buf_cstr(&b), "");
    for (int i = 0; i < 1000; i++)
        buf_printf(&b, "%d,", i);
    assert_int_equal(b.data[b.len], 0);
    assert_true(strncmp(b.data, "0,1,2,", 6) == 0);
    buf_truncate(&b, 2);
    assert_string_equal(b.data, "0,");
    char *s = buf_steal(&b);
    assert_string_equal(s, "0,");
    assert_null(b.data);
    free(s);
}

static void test_split_list_commas_spaces_braces(void **state)
{
    (void) state;
    struct strlist l;
    strlist_init(&l);
    char *err = NULL;
    assert_int_equal(
        str_split_list(" a, b\tc,,\n d inline:{x=1, {y = 2 3}} e", LIST_SEPS, &l, &err), 0);
    assert_int_equal(l.count, 6);
    assert_string_equal(l.items[0], "a");
    assert_string_equal(l.items[3], "d");
    assert_string_equal(l.items[4], "inline:{x=1, {y = 2 3}}");
    assert_string_equal(l.items[5], "e");
    strlist_free(&l);
    assert_int_equal(str_split_list("a {b", LIST_SEPS, &l, &err), -1);
    assert_non_null(strstr(err, "missing '}'"));
    free(err);
    strlist_free(&l);
    assert_int_equal(str_split_list("a }b", LIST_SEPS, &l, &err), -1);
    free(err);
    strlist_free(&l);
}

static void test_strip_braces_and_trim(void **state)
{
    (void) state;
    char a[] = "{  hello world }";
    assert_string_equal(str_strip_braces(a), "hello world");
    char b[] = "plain";
    assert_string_equal(str_strip_braces(b), "plain");
    char c[] = " \t x y \r\n";
    assert_string_equal(str_trim(c), "x y");
}

static void test_printable_replaces_controls(void **state)
{
    (void) state;
    char *s = str_printable("a\r\nb\x01\xff", 6);
    assert_string_equal(s, "a??b??");
    free(s);
}

static void test_valid_utf8(void **state)
{
    (void) state;
#define U(text, ok) assert_int_equal(str_valid_utf8(text, sizeof(text) - 1), ok)
    U("plain ascii", true);
    U("j\xc3\xb6ran@ex\xc3\xa4mple.net", true); /* two-byte forms */
    U("\xe2\x82\xac", true);                    /* euro sign */
    U("\xf0\x9f\x98\x80", true);                /* U+1F600 */
    U("\xff\xfe", false);                       /* never valid bytes */
    U("\xc3\x28", false);                       /* bad continuation */
    U("\xc3", false);                           /* truncated */
    U("\xc0\xaf", false);                       /* overlong '/' */
    U("\xed\xa0\x80", false);                   /* surrogate */
    U("\xf4\x90\x80\x80", false);               /* past U+10FFFF */
#undef U
}

static void test_log_lines_have_no_control_characters(void **state)
{
    (void) state;
    char path[] = "/tmp/test-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(log_open_file(path), 0);
    log_set_service("postfix", "smtpd");
    log_info("helo=<%s>", "evil\r\nDec 1 00:00:00 host postfix/smtpd[1]: forged\x1b[2J\x7f");
    struct buf b;
    buf_init(&b);
    assert_int_equal(file_read_all(path, &b), 0);
    unlink(path);
    char *text = buf_steal(&b);
    assert_non_null(
        strstr(text, "helo=<evil??Dec 1 00:00:00 host postfix/smtpd[1]: forged?[2J?>\n"));
    assert_null(strchr(text, '\r'));
    assert_int_equal(strchr(text, '\n') - text + 1, (long) strlen(text)); /* one line */
    free(text);
}

static void test_str_to_long_rejects_junk(void **state)
{
    (void) state;
    long v;
    assert_int_equal(str_to_long("123", &v), 0);
    assert_int_equal(v, 123);
    assert_int_equal(str_to_long("12x", &v), -1);
    assert_int_equal(str_to_long("", &v), -1);
    assert_int_equal(str_to_long(" 1", &v), -1);
    assert_int_equal(str_to_long("99999999999999999999999", &v), -1);
}

static void test_htable_put_get_remove_many(void **state)
{
    (void) state;
    struct htable *h = htable_new(0);
    char key[32];
    for (long i = 0; i < 5000; i++) {
        snprintf(key, sizeof(key), "k%ld", i);
        assert_null(htable_put(h, key, (void *) (i + 1)));
    }
    assert_int_equal(htable_count(h), 5000);
    for (long i = 0; i < 5000; i += 2) {
        snprintf(key, sizeof(key), "k%ld", i);
        assert_ptr_equal(htable_remove(h, key), (void *) (i + 1));
    }
    for (long i = 0; i < 5000; i++) {
        snprintf(key, sizeof(key), "k%ld", i);
        if (i % 2)
            assert_ptr_equal(htable_get(h, key), (void *) (i + 1));
        else
            assert_null(htable_get(h, key));
    }
    size_t n = 0;
    struct htable_iter it = {0};
    while (htable_next(h, &it, NULL, NULL))
        n++;
    assert_int_equal(n, 2500);
    htable_free(h, NULL);
}

static void test_arena_alloc_and_reset(void **state)
{
    (void) state;
    struct arena *a = arena_new(128);
    char *s = arena_strdup(a, "hello");
    char *big = arena_alloc(a, 10000);
    memset(big, 'x', 10000);
    char *p = arena_printf(a, "%s-%d", s, 42);
    assert_string_equal(p, "hello-42");
    assert_true(arena_used(a) >= 10000);
    arena_reset(a);
    assert_int_equal(arena_used(a), 0);
    assert_string_equal(arena_strdup(a, "again"), "again");
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_grows_and_terminates),
        cmocka_unit_test(test_split_list_commas_spaces_braces),
        cmocka_unit_test(test_strip_braces_and_trim),
        cmocka_unit_test(test_printable_replaces_controls),
        cmocka_unit_test(test_valid_utf8),
        cmocka_unit_test(test_log_lines_have_no_control_characters),
        cmocka_unit_test(test_str_to_long_rejects_junk),
        cmocka_unit_test(test_htable_put_get_remove_many),
        cmocka_unit_test(test_arena_alloc_and_reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
