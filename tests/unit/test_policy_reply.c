/*
 * Unit tests: the pieces a reply and its inputs are made of - enhanced
 * status codes (dsn_split, dsn_valid, dsn_fix in src/policy/reply.c), the
 * DNSBL reply filters of reject_rbl_client zone=pattern (ip_pattern_match,
 * src/policy/dnsbl.c; the expected results are those of Postfix 3.7's
 * ip_match), the address internal form (src/policy/address.c), and host
 * name and address syntax (src/policy/hostname.c).
 */
#include <stdlib.h>
#include <string.h>

#include "policy/policy_int.h"
#include "testutil.h"

/* ---- enhanced status codes ---- */

static void test_dsn_valid(void **state)
{
    (void) state;
    const char *good[] = {"5.7.1",      "4.1.10",   "2.0.0",  "5.123.456",
                          "5.7.1 text", "4.4.4\tx", "5.7.1 ", "5.1.1 <a>: x"};
    for (size_t i = 0; i < ARRAY_LEN(good); i++)
        if (!dsn_valid(good[i]))
            fail_msg("%s should be valid", good[i]);
    const char *bad[] = {"3.1.1",    "1.0.0",  "5.7",    "5.7.",   "5..1",   "5.1234.1",
                         "5.1.1234", "5.7.1x", "",       "5",      "57.1.1", ".5.7.1",
                         "5,7,1",    "5.a.1",  "5.7.1.", "x5.7.1", " 5.7.1"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        if (dsn_valid(bad[i]))
            fail_msg("%s should be invalid", bad[i]);
}

static void test_dsn_split(void **state)
{
    (void) state;
    char dsn[16];
    const char *rest;
    dsn_split("5.7.1 Go away", "4.7.1", dsn, &rest);
    assert_string_equal(dsn, "5.7.1");
    assert_string_equal(rest, "Go away");
    dsn_split("Go away", "4.7.1", dsn, &rest);
    assert_string_equal(dsn, "4.7.1");
    assert_string_equal(rest, "Go away");
    dsn_split("  \t4.2.0 \t  later", "5.7.1", dsn, &rest);
    assert_string_equal(dsn, "4.2.0");
    assert_string_equal(rest, "later");
    /* only 4.x.x and 5.x.x codes are taken from the text */
    dsn_split("2.0.0 fine", "5.7.1", dsn, &rest);
    assert_string_equal(dsn, "5.7.1");
    assert_string_equal(rest, "2.0.0 fine");
    dsn_split("5.7.1", "4.7.1", dsn, &rest);
    assert_string_equal(dsn, "5.7.1");
    assert_string_equal(rest, "");
    dsn_split("", "4.7.1", dsn, &rest);
    assert_string_equal(dsn, "4.7.1");
    assert_string_equal(rest, "");
    /* a code with a too-long part is text */
    dsn_split("5.7.1234 x", "4.7.1", dsn, &rest);
    assert_string_equal(dsn, "4.7.1");
    assert_string_equal(rest, "5.7.1234 x");
    dsn_split("5.7.1x text", "4.7.1", dsn, &rest);
    assert_string_equal(dsn, "4.7.1");
    /* a token longer than any code is never copied */
    dsn_split("5.123.4567890123456789 x", "4.7.1", dsn, &rest);
    assert_string_equal(dsn, "4.7.1");
    dsn_split("5.999.999 max", "4.7.1", dsn, &rest);
    assert_string_equal(dsn, "5.999.999");
    assert_string_equal(rest, "max");
}

static void test_dsn_fix(void **state)
{
    (void) state;
    char buf[16];
    /* address codes that fit the class stay */
    assert_string_equal(dsn_fix("5.1.1", CLASS_RECIPIENT, buf), "5.1.1");
    assert_string_equal(dsn_fix("5.1.3", CLASS_RECIPIENT, buf), "5.1.3");
    assert_string_equal(dsn_fix("5.1.8", CLASS_SENDER, buf), "5.1.8");
    /* recipient codes for a sender, sender codes for a recipient */
    assert_string_equal(dsn_fix("5.1.1", CLASS_SENDER, buf), "5.1.7");
    assert_string_equal(dsn_fix("4.1.2", CLASS_SENDER, buf), "4.1.8");
    assert_string_equal(dsn_fix("5.1.8", CLASS_RECIPIENT, buf), "5.1.2");
    assert_string_equal(dsn_fix("5.1.7", CLASS_RECIPIENT, buf), "5.1.3");
    assert_string_equal(dsn_fix("5.1.6", CLASS_SENDER, buf), "5.1.7");
    /* unknown details: X.1.7 for senders, X.1.0 for recipients (Postfix 3.7) */
    assert_string_equal(dsn_fix("5.1.9", CLASS_SENDER, buf), "5.1.7");
    assert_string_equal(dsn_fix("5.1.99", CLASS_RECIPIENT, buf), "5.1.0");
    /* address codes in other classes become X.0.0; the class digit stays */
    assert_string_equal(dsn_fix("5.1.1", CLASS_CLIENT, buf), "5.0.0");
    assert_string_equal(dsn_fix("4.1.1", CLASS_HELO, buf), "4.0.0");
    assert_string_equal(dsn_fix("5.1.2", CLASS_ETRN, buf), "5.0.0");
    /* other subjects are not touched */
    assert_string_equal(dsn_fix("5.7.1", CLASS_SENDER, buf), "5.7.1");
    assert_string_equal(dsn_fix("4.2.0", CLASS_CLIENT, buf), "4.2.0");
    assert_string_equal(dsn_fix("5.10.1", CLASS_RECIPIENT, buf), "5.10.1");
}

/* ---- DNSBL reply filters ---- */

struct ip_case {
    const char *pattern, *addr;
    int want; /* 1 match, 0 no match, -1 bad pattern */
};

static void test_ip_pattern_match(void **state)
{
    (void) state;
    /* Each result is Postfix 3.7's (ip_match_parse + ip_match_execute). */
    static const struct ip_case cases[] = {
        {"127.0.0.2", "127.0.0.2", 1},
        {"127.0.0.2", "127.0.0.3", 0},
        {"127.0.0.02", "127.0.0.2", 1},
        {"127.0.0.[2..11]", "127.0.0.10", 1},
        {"127.0.0.[2..11]", "127.0.0.12", 0},
        {"127.0.0.[2;4]", "127.0.0.3", 0},
        {"127.0.0.[2;4]", "127.0.0.4", 1},
        {"127.0.0.[2..4;10]", "127.0.0.10", 1},
        {"127.0.0.[2..4;10]", "127.0.0.5", 0},
        {"127.0.[0..1].[2;4..5]", "127.0.1.5", 1},
        {"127.0.[0..1].[2;4..5]", "127.0.2.5", 0},
        {"[127].0.0.2", "127.0.0.2", 1},
        {"127.0.0.[0..255]", "127.0.0.255", 1},
        {"127.0.0.[7]", "127.0.0.7", 1},
        /* bad patterns */
        {"127.0.0", "127.0.0.2", -1},
        {"127.0.0.256", "127.0.0.2", -1},
        {"127.0.0.2.", "127.0.0.2", -1},
        {"127.0.0.2.1", "127.0.0.2", -1},
        {"127.0.0.+2", "127.0.0.2", -1},
        {"127.0.0.-1", "127.0.0.2", -1},
        {"127.0.0. 2", "127.0.0.2", -1},
        {"127.0.0.[5..2]", "127.0.0.3", -1},
        {"127.0.0.[", "127.0.0.2", -1},
        {"127.0.0.[]", "127.0.0.2", -1},
        {"127.0.0.[a]", "127.0.0.2", -1},
        {"127.0.0.[..5]", "127.0.0.3", -1},
        {"127.0.0.[2..]", "127.0.0.2", -1},
        {"127.0.0.[2..", "127.0.0.2", -1},
        {"127.0.0.[2;]", "127.0.0.2", -1},
        {"127.0.0.[;2]", "127.0.0.2", -1},
        {"127.0.0.[2;;4]", "127.0.0.4", -1},
        {"127.0.0.[2]x", "127.0.0.2", -1},
        {"127.0.0.[256]", "127.0.0.2", -1},
        {"", "127.0.0.2", -1},
        {"....", "127.0.0.2", -1},
    };
    int wrong = 0;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        int got = ip_pattern_match(cases[i].pattern, cases[i].addr);
        if (got != cases[i].want) {
            print_error("pattern \"%s\" addr %s: got %d, want %d\n", cases[i].pattern,
                        cases[i].addr, got, cases[i].want);
            wrong++;
        }
    }
    assert_int_equal(wrong, 0);
    /* a reply that is no IPv4 address matches nothing */
    assert_int_equal(ip_pattern_match("127.0.0.2", "::1"), 0);
    assert_int_equal(ip_pattern_match("127.0.0.2", "not an address"), 0);
}

/* ---- the internal form of an address ---- */

static void internal(const char *in, const char *want)
{
    char *got = policy_address_internal(in);
    if (strcmp(got, want) != 0)
        fail_msg("\"%s\": got \"%s\", want \"%s\"", in, got, want);
    free(got);
}

static void test_address_internal(void **state)
{
    (void) state;
    internal("user@example.com", "user@example.com");
    internal("", "");
    /* RFC 821 source routes are dropped */
    internal("@relay.example:user@example.com", "user@example.com");
    internal("@a.example,@b.example:user@example.com", "user@example.com");
    internal("@a.example:user", "user");
    internal("@no-colon.example", "@no-colon.example");
    /* quotes go, quoted characters stay */
    internal("\"a b\"@example.com", "a b@example.com");
    internal("\"user@remote\"@example.com", "user@remote@example.com");
    internal("a\\\"b@example.com", "a\"b@example.com");
    internal("\"a\\\"b\"@example.com", "a\"b@example.com");
    internal("a\\\\b@example.com", "a\\b@example.com");
    internal("\"unterminated@example.com", "unterminated@example.com");
    internal("trailing\\", "trailing\\");
    internal("\"\"@example.com", "@example.com");
    /* a route only at the start */
    internal("user@example.com:x", "user@example.com:x");
}

/* ---- host names and addresses ---- */

static void test_valid_hostname(void **state)
{
    (void) state;
    const char *good[] = {"example.com", "a",           "mx1.example.com", "a-b.c",
                          "a_b.example", "123.example", "example.123a",    "xn--bcher-kva.example"};
    for (size_t i = 0; i < ARRAY_LEN(good); i++)
        if (!valid_hostname(good[i]))
            fail_msg("%s should be a valid host name", good[i]);
    const char *bad[] = {"",          "123",    "1.2.3.4",     "-ab.c", "ab-.c",
                         "a..b",      "a.b.",   ".a.b",        "a b.c", "a/b.c",
                         "[1.2.3.4]", "a.-b.c", "exa\xe9.com", "a.b-",  "."};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        if (valid_hostname(bad[i]))
            fail_msg("\"%s\" should not be a valid host name", bad[i]);

    /* labels up to 63 characters, names up to 255 */
    char label[65];
    memset(label, 'a', 64);
    label[64] = 0;
    assert_false(valid_hostname(label));
    label[63] = 0;
    assert_true(valid_hostname(label));
    struct buf name;
    buf_init(&name);
    while (name.len + 4 <= 255)
        buf_puts(&name, "abc.");
    buf_puts(&name, "abc");
    assert_int_equal(name.len, 255);
    assert_true(valid_hostname(name.data));
    buf_puts(&name, "d");
    assert_false(valid_hostname(name.data));
    buf_free(&name);
}

static void test_valid_hostaddr(void **state)
{
    (void) state;
    const char *good[] = {"1.2.3.4",          "0.0.0.0", "255.255.255.255", "::1", "2001:db8::1",
                          "::ffff:192.0.2.1", "::"};
    for (size_t i = 0; i < ARRAY_LEN(good); i++)
        if (!valid_hostaddr(good[i]))
            fail_msg("%s should be a valid address", good[i]);
    const char *bad[] = {"",        "1.2.3",       "1.2.3.4.5",    "256.1.1.1", "1.2.3.4.",
                         "1..2.3",  "1.2.3.4:25",  "fe80::1%eth0", "[1.2.3.4]", "1.2.3.1234",
                         "a.b.c.d", "2001:db8::g", ":::",          "1.2.3.-4"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        if (valid_hostaddr(bad[i]))
            fail_msg("\"%s\" should not be a valid address", bad[i]);
    assert_true(valid_ipv4_hostaddr("192.0.2.1"));
    assert_false(valid_ipv4_hostaddr("::1"));
    assert_true(valid_ipv6_hostaddr("::1"));
    assert_false(valid_ipv6_hostaddr("192.0.2.1"));

    /* inside address literals: IPv4, or IPv6: and IPv6 */
    assert_true(valid_mailhost_addr("192.0.2.1"));
    assert_true(valid_mailhost_addr("IPv6:2001:db8::1"));
    assert_true(valid_mailhost_addr("ipv6:::1"));
    assert_false(valid_mailhost_addr("::1"));
    assert_false(valid_mailhost_addr("IPv6:192.0.2.1"));
    assert_false(valid_mailhost_addr("IPv6:"));
    assert_true(valid_mailhost_literal("[192.0.2.1]"));
    assert_true(valid_mailhost_literal("[IPv6:2001:db8::1]"));
    assert_false(valid_mailhost_literal("[]"));
    assert_false(valid_mailhost_literal("192.0.2.1"));
    assert_false(valid_mailhost_literal("[192.0.2.1"));
    assert_false(valid_mailhost_literal("[host.example]"));
    char big[200];
    memset(big, '1', sizeof(big) - 1);
    big[0] = '[';
    big[sizeof(big) - 2] = ']';
    big[sizeof(big) - 1] = 0;
    assert_false(valid_mailhost_literal(big));
}

static void test_hostname_strip_dot(void **state)
{
    (void) state;
    const char *cases[][2] = {{"example.com.", "example.com"},
                              {"example.com", "example.com"},
                              {"example.com..", "example.com.."},
                              {".", "."},
                              {"", ""},
                              {"a.", "a"}};
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char *got = hostname_strip_dot(cases[i][0]);
        assert_string_equal(got, cases[i][1]);
        free(got);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dsn_valid),        cmocka_unit_test(test_dsn_split),
        cmocka_unit_test(test_dsn_fix),          cmocka_unit_test(test_ip_pattern_match),
        cmocka_unit_test(test_address_internal), cmocka_unit_test(test_valid_hostname),
        cmocka_unit_test(test_valid_hostaddr),   cmocka_unit_test(test_hostname_strip_dot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
