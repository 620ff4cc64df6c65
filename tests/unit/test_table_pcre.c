/* Unit tests: pcre: tables (PCRE2, pcre_table(5)). */
#include <stdlib.h>
#include <string.h>

#include "table/table.h"
#include "testutil.h"

static int counter;

static struct table *open_text(const char *text, char **warnings)
{
    char *name = xasprintf("pcre%d", counter++);
    char *path = test_write_file(name, text);
    char *spec = xasprintf("pcre:%s", path);
    test_capture_begin();
    struct table *t = table_open(spec, TABLE_OPEN_FOLD);
    char *w = test_capture_end();
    if (warnings)
        *warnings = w;
    else
        free(w);
    free(spec);
    free(path);
    free(name);
    return t;
}

static const char *q(struct table *t, const char *key)
{
    const char *v;
    enum table_status st = table_lookup(t, key, &v);
    return st == TABLE_FOUND ? v : st == TABLE_NOTFOUND ? "-" : "!";
}

static void test_substitution_and_groups(void **state)
{
    (void) state;
    struct table *t = open_text("/^(?!internal-)(.*)-bounces@(.*)$/ 550 Write to ${1}@${2}\n"
                                "/^(?<name>a)(b)$/ named=$1-$2\n"
                                "/^(c)$|^(d)$/ [$1][$2]\n"
                                "/^(x)(?:y)(z)$/ $1$2 $$\n",
                                NULL);
    assert_int_equal(table_flags(t), TABLE_T_PATTERN | TABLE_T_SOURCE);
    assert_string_equal(q(t, "AB"), "named=A-B");
    assert_string_equal(q(t, "d"), "[][d]");
    assert_string_equal(q(t, "c"), "[c][]");
    assert_string_equal(q(t, "xyz"), "xz $");
    assert_string_equal(q(t, "list-bounces@Example.org"), "550 Write to list@Example.org");
    assert_string_equal(q(t, "internal-list-bounces@example.org"), "-");
    table_close(t);
    table_cache_clear();
}

static void test_flags(void **state)
{
    (void) state;
    char *w;
    struct table *t = open_text("/^f.g$/ dotall\n"
                                "/^h.i$/s no-dotall\n"
                                "/^ j $/x extended\n"
                                "/k/A anchored\n"
                                "/^(m+?)/U greedy=$1\n"
                                "/^n$/E endonly\n"
                                "/^o$/ dollar-before-newline\n"
                                "/^p$/m multiline\n"
                                "/^Q$/i case\n"
                                "/^d$/X obsolete\n",
                                &w);
    assert_non_null(strstr(w, "pcre map "));
    assert_non_null(strstr(w, "line 10: ignoring obsolete regexp option \"X\""));
    assert_string_equal(q(t, "f\ng"), "dotall");
    assert_string_equal(q(t, "h\ni"), "-");
    assert_string_equal(q(t, "j"), "extended");
    assert_string_equal(q(t, "xk"), "-");
    assert_string_equal(q(t, "k"), "anchored");
    assert_string_equal(q(t, "mmm"), "greedy=mmm");
    assert_string_equal(q(t, "n\n"), "-");
    assert_string_equal(q(t, "o\n"), "dollar-before-newline");
    assert_string_equal(q(t, "x\np"), "multiline");
    assert_string_equal(q(t, "q"), "-");
    assert_string_equal(q(t, "Q"), "case");
    assert_string_equal(q(t, "d"), "obsolete");
    table_close(t);
    table_cache_clear();
    free(w);
}

static void test_bad_rules_and_blocks(void **state)
{
    (void) state;
    char *w;
    struct table *t = open_text("/[/ bad\n"
                                "/^c(.)$/ $2\n"
                                "/^a$/ $0\n"
                                "/^l\n"
                                "/^e$/q flag\n"
                                "if /^i/\n"
                                "!/^in/ i-not-n\n"
                                "/^in$/ in\n"
                                "endif\n"
                                "/^\\w+$/ word\n",
                                &w);
    const char *want[] = {
        "line 1: error in regex at offset 1: missing terminating ] for character class",
        "line 2: out of range replacement index \"2\": skipping this rule",
        "line 3: out of range replacement index \"0\"",
        "line 3: bad replacement syntax: skipping this rule",
        "line 4: no closing regexp delimiter \"/\": ignoring this rule",
        "line 5: unknown regexp option \"q\": skipping this rule",
    };
    for (size_t i = 0; i < ARRAY_LEN(want); i++)
        if (strstr(w, want[i]) == NULL)
            fail_msg("missing warning: %s\nin:\n%s", want[i], w);
    assert_string_equal(q(t, "ix"), "i-not-n");
    assert_string_equal(q(t, "in"), "in");
    assert_string_equal(q(t, "inx"), "word");
    assert_string_equal(q(t, "a"), "word");
    assert_string_equal(q(t, "a b"), "-");
    table_close(t);
    table_cache_clear();
    free(w);
}

static void test_inline(void **state)
{
    (void) state;
    test_capture_begin();
    struct table *t = table_open("pcre:{{/^(a)b$/ x=$1}, {if /c/}, {/^c(d)$/ $1}, {endif}}", 0);
    assert_null(table_open_error(t));
    assert_string_equal(q(t, "ab"), "x=a");
    assert_string_equal(q(t, "cd"), "d");
    table_close(t);
    t = table_open("pcre:{{/^(a)b$/ x=$1}", 0);
    assert_non_null(strstr(table_open_error(t), "missing '}'"));
    table_close(t);
    free(test_capture_end());
    table_cache_clear();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_substitution_and_groups),
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_bad_rules_and_blocks),
        cmocka_unit_test(test_inline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
