/* Unit tests: regexp: tables (POSIX regular expressions, regexp_table(5)). */
#include <stdlib.h>
#include <string.h>

#include "table/table.h"
#include "testutil.h"

static int counter;

static struct table *open_text(const char *text, char **warnings)
{
    char *name = xasprintf("regexp%d", counter++);
    char *path = test_write_file(name, text);
    char *spec = xasprintf("regexp:%s", path);
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

static void assert_warns(const char *w, const char *const *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strstr(w, want[i]) == NULL)
            fail_msg("missing warning: %s\nin:\n%s", want[i], w);
}

static void test_substitution(void **state)
{
    (void) state;
    struct table *t = open_text("/^(.*)@example\\.com$/ user=$1 dollar=$$ b=${1}x p=$(1)y\n"
                                "/^foo(bar)?$/ opt=[$1]\n"
                                "/^([a-z]+)-([a-z]+)$/ $2-$1\n"
                                "/^j(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)$/ ten=${10} also=$10\n",
                                NULL);
    assert_int_equal(table_flags(t), TABLE_T_PATTERN | TABLE_T_SOURCE);
    /* The key is not folded: $1 gives back the client's spelling. */
    assert_string_equal(q(t, "Joe@Example.COM"), "user=Joe dollar=$ b=Joex p=Joey");
    assert_string_equal(q(t, "foo"), "opt=[]");
    assert_string_equal(q(t, "FOOBAR"), "opt=[BAR]");
    assert_string_equal(q(t, "abc-def"), "def-abc");
    assert_string_equal(q(t, "jabcdefghij"), "ten=j also=j");
    assert_string_equal(q(t, "nothing"), "-");
    table_close(t);
    table_cache_clear();
}

static void test_flags_and_delimiters(void **state)
{
    (void) state;
    struct table *t = open_text("/^Sense$/i sensitive\n"
                                "/^case$/ insensitive\n"
                                "/^\\(x\\)y$/x basic=$1\n"
                                "/^a$/m multi\n"
                                "|^b\\|c$| bar\n"
                                "#^h\\#i$# not-a-rule-but-a-comment\n"
                                "%^t\\%u$% percent\n"
                                "/^x\\/y$/ slash\n",
                                NULL);
    assert_string_equal(q(t, "Sense"), "sensitive");
    assert_string_equal(q(t, "sense"), "-");
    assert_string_equal(q(t, "CASE"), "insensitive");
    /* x toggles extended syntax off: basic regular expressions. */
    assert_string_equal(q(t, "xy"), "basic=x");
    assert_string_equal(q(t, "z\na"), "multi");
    assert_string_equal(q(t, "b|c"), "bar");
    assert_string_equal(q(t, "b"), "-");
    assert_string_equal(q(t, "t%u"), "percent");
    assert_string_equal(q(t, "x/y"), "slash");
    table_close(t);
    table_cache_clear();
}

static void test_negation_and_if_blocks(void **state)
{
    (void) state;
    struct table *t = open_text("if /^a/\n"
                                "if !/b$/\n"
                                "/^a.*c$/ a-not-b-c\n"
                                "endif\n"
                                "/^a/ a\n"
                                "endif\n"
                                "IF/^w/\n"
                                "/^wx$/ wx\n"
                                "ENDIF\n"
                                "!!/^dn$/ double\n"
                                "! /@/ no-at\n",
                                NULL);
    assert_string_equal(q(t, "axc"), "a-not-b-c");
    assert_string_equal(q(t, "abc"), "a-not-b-c");
    assert_string_equal(q(t, "axb"), "a");
    assert_string_equal(q(t, "wx"), "wx");
    assert_string_equal(q(t, "dn"), "double");
    assert_string_equal(q(t, "zz"), "no-at");
    assert_string_equal(q(t, "z@z"), "-");
    table_close(t);
    table_cache_clear();
}

static void test_bad_rules(void **state)
{
    (void) state;
    char *w;
    struct table *t = open_text("/^a(b)$/ $2\n"
                                "/^a(b)$/ $0\n"
                                "/^c$/ trailing$\n"
                                "/^d$/ ${1\n"
                                "/^e$/ $x ${y} $z\n"
                                "!/^k(.)$/ $1\n"
                                "x^gx$x alnum\n"
                                "/^j$/q flag\n"
                                "/^l\n"
                                "/[/ re\n"
                                "/^m$/\n"
                                "endif\n"
                                "if /^i/ extra\n"
                                "endif junk\n"
                                "if\n"
                                "/^o(.)$/ $4294967297\n"
                                "if /^z/\n",
                                &w);
    const char *want[] = {
        "regexp map ",
        "line 1: out of range replacement index \"2\": skipping this rule",
        "line 2: out-of-range replacement index \"0\"",
        "line 2: bad replacement syntax: skipping this rule",
        "warning: empty macro name: \"trailing$\"",
        "warning: truncated macro reference: \"${1\"",
        "line 5: non-numeric replacement index \"x\"\n"
        "warning: regexp map",
        "line 6: $number found in negative match replacement text: skipping this rule",
        "line 7: ignoring unrecognized request",
        "line 8: unknown regexp option \"q\": skipping this rule",
        "line 9: no closing regexp delimiter \"/\": skipping this rule",
        "line 10: Invalid regular expression",
        "line 11: no replacement text: using empty string",
        "line 12: ignoring ENDIF without matching IF",
        "line 13: ignoring extra text after IF statement: \"extra\"",
        "line 13: do not prepend whitespace to statements between IF and ENDIF",
        "line 14: ignoring extra text after ENDIF",
        "line 15: no regexp: skipping this rule",
        "line 17: IF has no matching ENDIF",
    };
    assert_warns(w, want, ARRAY_LEN(want));
    /* After "$x", a braced reference ends the scan, as in Postfix. */
    assert_null(strstr(w, "\"y\""));
    assert_non_null(strstr(w, "line 5: bad replacement syntax"));
    assert_string_equal(q(t, "ab"), "-");
    assert_string_equal(q(t, "m"), "");
    assert_string_equal(q(t, "z"), "-");
    table_close(t);
    t = open_text("/^o(.)$/ $4294967297\n", NULL);
    /* Group numbers wrap as C ints do in Postfix: this is $1. */
    assert_string_equal(q(t, "oK"), "K");
    table_close(t);
    table_cache_clear();
    free(w);
}

static void test_inline_and_continuation(void **state)
{
    (void) state;
    test_capture_begin();
    struct table *t = table_open("regexp:{{/^(a)b$/ x=$1}, {  /c/ y  }, {}, {#c}, {/d/ $$}}", 0);
    assert_null(table_open_error(t));
    assert_string_equal(q(t, "ab"), "x=a");
    assert_string_equal(q(t, "c"), "y");
    assert_string_equal(q(t, "d"), "$");
    table_close(t);
    t = table_open("regexp:{ /a/ x }", 0);
    assert_string_equal(table_open_error(t), "regexp map: no '{' at start of text in \"/a/\"");
    table_close(t);
    t = table_open("regexp:{{/a/ x}y}", 0);
    assert_string_equal(table_open_error(t), "regexp map: syntax error after '}' in \"{/a/ x}y\"");
    table_close(t);
    free(test_capture_end());
    t = open_text("/^multi$/\n 550 this is\n\n  # comment\n\tone line\n", NULL);
    assert_string_equal(q(t, "multi"), "550 this is\tone line");
    table_close(t);
    table_cache_clear();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_substitution),
        cmocka_unit_test(test_flags_and_delimiters),
        cmocka_unit_test(test_negation_and_if_blocks),
        cmocka_unit_test(test_bad_rules),
        cmocka_unit_test(test_inline_and_continuation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
