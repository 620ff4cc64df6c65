/*
 * Unit tests: Postfix list parameters (src/policy/match.c) - exact-string
 * lists (mydestination), domain lists with and without parent-domain
 * matching (relay_domains), host name-or-address lists (mynetworks) with
 * IPv4 and IPv6 blocks; negation, /file/name patterns, type:table
 * patterns, and the errors of bad patterns.
 */
#include <stdlib.h>
#include <string.h>

#include "policy/policy_int.h"
#include "testutil.h"

/* list - a match list from value; its errors are joined into *errors_out
 * (caller frees) when errors_out is not NULL, else there must be none */
static struct match_list *list(const char *value, enum match_kind kind, bool parent,
                               char **errors_out)
{
    struct strlist errors;
    strlist_init(&errors);
    struct match_list *m = match_list_new("test_list", value, kind, parent, &errors);
    if (errors_out) {
        struct buf b;
        buf_init(&b);
        for (size_t i = 0; i < errors.count; i++)
            buf_printf(&b, "%s;", errors.items[i]);
        *errors_out = buf_steal(&b);
    } else {
        for (size_t i = 0; i < errors.count; i++)
            print_error("unexpected error: %s\n", errors.items[i]);
        assert_int_equal(errors.count, 0);
    }
    strlist_free(&errors);
    return m;
}

static void test_string_list_exact_and_case(void **state)
{
    (void) state;
    struct match_list *m =
        list("example.com, Example.ORG  mx.postern.test", MATCH_STRING, false, NULL);
    assert_false(match_list_empty(m));
    assert_int_equal(match_list_match(m, "example.com", NULL), 1);
    assert_int_equal(match_list_match(m, "EXAMPLE.COM", NULL), 1);
    assert_int_equal(match_list_match(m, "example.org", NULL), 1);
    assert_int_equal(match_list_match(m, "mx.postern.test", NULL), 1);
    /* exact strings: no parent-domain matching, even with the style set */
    assert_int_equal(match_list_match(m, "sub.example.com", NULL), 0);
    assert_int_equal(match_list_match(m, "example.co", NULL), 0);
    assert_int_equal(match_list_match(m, "", NULL), 0);
    assert_int_equal(match_list_match(m, NULL, NULL), 0);
    match_list_free(m);

    m = list("example.com", MATCH_STRING, true, NULL);
    assert_int_equal(match_list_match(m, "sub.example.com", NULL), 0);
    assert_int_equal(match_list_match(m, ".example.com", NULL), 0);
    match_list_free(m);

    m = list("", MATCH_STRING, false, NULL);
    assert_true(match_list_empty(m));
    assert_int_equal(match_list_match(m, "example.com", NULL), 0);
    match_list_free(m);
    assert_true(match_list_empty(NULL));
    assert_int_equal(match_list_match(NULL, "example.com", "192.0.2.1"), 0);
}

static void test_domain_list_parent_styles(void **state)
{
    (void) state;
    /* parent_domain_matches_subdomains has the parameter: example.com
     * matches its subdomains too */
    struct match_list *m = list("example.com", MATCH_DOMAIN, true, NULL);
    assert_int_equal(match_list_match(m, "example.com", NULL), 1);
    assert_int_equal(match_list_match(m, "sub.example.com", NULL), 1);
    assert_int_equal(match_list_match(m, "a.b.Example.Com", NULL), 1);
    assert_int_equal(match_list_match(m, "badexample.com", NULL), 0);
    assert_int_equal(match_list_match(m, "example.com.evil", NULL), 0);
    match_list_free(m);

    /* without the style: only the domain itself */
    m = list("example.com", MATCH_DOMAIN, false, NULL);
    assert_int_equal(match_list_match(m, "example.com", NULL), 1);
    assert_int_equal(match_list_match(m, "sub.example.com", NULL), 0);
    match_list_free(m);

    /* .example.com: subdomains only, without the parent style */
    m = list(".example.com", MATCH_DOMAIN, false, NULL);
    assert_int_equal(match_list_match(m, "sub.example.com", NULL), 1);
    assert_int_equal(match_list_match(m, "a.sub.example.com", NULL), 1);
    assert_int_equal(match_list_match(m, "example.com", NULL), 0);
    assert_int_equal(match_list_match(m, "xexample.com", NULL), 0);
    match_list_free(m);

    /* with it, as in Postfix (match_hostname), the dot form matches no
     * subdomain: the styles exclude each other */
    m = list(".example.com", MATCH_DOMAIN, true, NULL);
    assert_int_equal(match_list_match(m, "sub.example.com", NULL), 0);
    assert_int_equal(match_list_match(m, "example.com", NULL), 0);
    assert_int_equal(match_list_match(m, ".example.com", NULL), 1);
    match_list_free(m);
}

static void test_negation_first_match_wins(void **state)
{
    (void) state;
    struct match_list *m =
        list("!internal.example.com, example.com, !other.example", MATCH_DOMAIN, true, NULL);
    assert_int_equal(match_list_match(m, "internal.example.com", NULL), 0);
    assert_int_equal(match_list_match(m, "host.internal.example.com", NULL), 0);
    assert_int_equal(match_list_match(m, "www.example.com", NULL), 1);
    assert_int_equal(match_list_match(m, "other.example", NULL), 0);
    match_list_free(m);

    /* a negation after the positive pattern comes too late */
    m = list("example.com, !example.com", MATCH_STRING, false, NULL);
    assert_int_equal(match_list_match(m, "example.com", NULL), 1);
    match_list_free(m);

    /* double negation is no negation */
    m = list("!!example.com", MATCH_STRING, false, NULL);
    assert_int_equal(match_list_match(m, "example.com", NULL), 1);
    match_list_free(m);

    /* negated network blocks */
    m = list("!192.168.1.66, 192.168.1.0/24", MATCH_HOSTADDR, false, NULL);
    assert_int_equal(match_list_match(m, "unknown", "192.168.1.66"), 0);
    assert_int_equal(match_list_match(m, "unknown", "192.168.1.65"), 1);
    match_list_free(m);
}

static void test_hostaddr_ipv4_blocks(void **state)
{
    (void) state;
    struct match_list *m = list("127.0.0.0/8 [192.168.1.0]/24, 10.1.2.3, 172.16.0.0/12, "
                                "mail.example.com, 0.0.0.0/32",
                                MATCH_HOSTADDR, true, NULL);
    assert_int_equal(match_list_match(m, "unknown", "127.0.0.1"), 1);
    assert_int_equal(match_list_match(m, "unknown", "127.255.255.255"), 1);
    assert_int_equal(match_list_match(m, "unknown", "128.0.0.1"), 0);
    assert_int_equal(match_list_match(m, "unknown", "192.168.1.200"), 1);
    assert_int_equal(match_list_match(m, "unknown", "192.168.2.1"), 0);
    assert_int_equal(match_list_match(m, "unknown", "10.1.2.3"), 1);
    assert_int_equal(match_list_match(m, "unknown", "10.1.2.4"), 0);
    assert_int_equal(match_list_match(m, "unknown", "172.31.255.1"), 1);
    assert_int_equal(match_list_match(m, "unknown", "172.32.0.1"), 0);
    /* names match the name patterns (parent style: subdomains too) */
    assert_int_equal(match_list_match(m, "mail.example.com", "203.0.113.9"), 1);
    assert_int_equal(match_list_match(m, "smtp.mail.example.com", "203.0.113.9"), 1);
    assert_int_equal(match_list_match(m, "example.com", "203.0.113.9"), 0);
    assert_int_equal(match_list_match(m, "xmail.example.com", "203.0.113.9"), 0);
    /* an IPv4-mapped IPv6 client matches IPv4 blocks */
    assert_int_equal(match_list_match(m, "unknown", "::ffff:127.0.0.1"), 1);
    assert_int_equal(match_list_match(m, "unknown", "::ffff:128.0.0.1"), 0);
    /* not an address: no block matches */
    assert_int_equal(match_list_match(m, "unknown", "unknown"), 0);
    assert_int_equal(match_list_match(m, "unknown", NULL), 0);
    match_list_free(m);

    /* without the parent style: the name, or .domain for subdomains */
    m = list("mail.example.com, .example.org", MATCH_HOSTADDR, false, NULL);
    assert_int_equal(match_list_match(m, "mail.example.com", "203.0.113.9"), 1);
    assert_int_equal(match_list_match(m, "smtp.mail.example.com", "203.0.113.9"), 0);
    assert_int_equal(match_list_match(m, "smtp.example.org", "203.0.113.9"), 1);
    assert_int_equal(match_list_match(m, "example.org", "203.0.113.9"), 0);
    match_list_free(m);

    m = list("0.0.0.0/0", MATCH_HOSTADDR, false, NULL);
    assert_int_equal(match_list_match(m, "unknown", "203.0.113.9"), 1);
    assert_int_equal(match_list_match(m, "unknown", "2001:db8::1"), 0);
    match_list_free(m);
}

static void test_hostaddr_ipv6_blocks(void **state)
{
    (void) state;
    struct match_list *m =
        list("[::1]/128, [2001:db8::]/32 2001:db8:1::/48, fe80::/10, [2001:db8:ffff::7]",
             MATCH_HOSTADDR, false, NULL);
    assert_int_equal(match_list_match(m, "unknown", "::1"), 1);
    assert_int_equal(match_list_match(m, "unknown", "::2"), 0);
    assert_int_equal(match_list_match(m, "unknown", "2001:db8:abcd::1"), 1);
    assert_int_equal(match_list_match(m, "unknown", "2001:db9::1"), 0);
    assert_int_equal(match_list_match(m, "unknown", "FE80::1:2"), 1);
    assert_int_equal(match_list_match(m, "unknown", "fec0::1"), 0);
    assert_int_equal(match_list_match(m, "unknown", "2001:db8:ffff::7"), 1);
    /* IPv6 blocks say nothing about IPv4 clients */
    assert_int_equal(match_list_match(m, "unknown", "127.0.0.1"), 0);
    match_list_free(m);

    /* prefixes that do not end at a byte boundary */
    m = list("2001:db8:8000::/33, 192.0.2.128/25", MATCH_HOSTADDR, false, NULL);
    assert_int_equal(match_list_match(m, "unknown", "2001:db8:8000::1"), 1);
    assert_int_equal(match_list_match(m, "unknown", "2001:db8:ffff::1"), 1);
    assert_int_equal(match_list_match(m, "unknown", "2001:db8:7fff::1"), 0);
    assert_int_equal(match_list_match(m, "unknown", "192.0.2.128"), 1);
    assert_int_equal(match_list_match(m, "unknown", "192.0.2.127"), 0);
    match_list_free(m);
}

static void test_hostaddr_bad_patterns(void **state)
{
    (void) state;
    char *errors;
    struct match_list *m = list("10.0.0.0/33, 192.168.1.1/24, [2001:db8::1]/64, 300.1.2.3, "
                                "10.0.0.0/x, 127.0.0.0/8",
                                MATCH_HOSTADDR, false, &errors);
    assert_non_null(strstr(errors, "test_list: bad net/mask pattern: \"10.0.0.0/33\";"));
    assert_non_null(strstr(errors, "non-null host address bits in \"192.168.1.1/24\", perhaps you "
                                   "should use \"192.168.1.0/24\" instead;"));
    assert_non_null(strstr(errors, "perhaps you should use \"[2001:db8::]/64\" instead;"));
    assert_non_null(strstr(errors, "bad address pattern: \"300.1.2.3\";"));
    /* "10.0.0.0/x" is no address pattern: a name pattern, as in Postfix */
    assert_null(strstr(errors, "10.0.0.0/x"));
    assert_int_equal(match_list_match(m, "10.0.0.0/x", "192.0.2.1"), 1);
    /* the good pattern after them still works */
    assert_int_equal(match_list_match(m, "unknown", "127.0.0.1"), 1);
    assert_int_equal(match_list_match(m, "unknown", "10.0.0.1"), 0);
    free(errors);
    match_list_free(m);

    /* a list that does not split */
    m = list("{ unclosed", MATCH_HOSTADDR, false, &errors);
    assert_non_null(strstr(errors, "test_list: "));
    free(errors);
    match_list_free(m);
}

static void test_cidr_parse_and_match(void **state)
{
    (void) state;
    struct cidr c;
    char *err = NULL;
    assert_int_equal(cidr_parse("192.0.2.0/24", &c, &err), 0);
    assert_int_equal(c.bits, 24);
    assert_true(cidr_match(&c, "192.0.2.255"));
    assert_false(cidr_match(&c, "192.0.3.0"));
    assert_int_equal(cidr_parse("192.0.2.9", &c, &err), 0);
    assert_int_equal(c.bits, 32);
    assert_int_equal(cidr_parse("[2001:db8::]/32", &c, &err), 0);
    assert_int_equal(c.bits, 32);
    assert_int_equal(cidr_parse("::/0", &c, &err), 0);
    assert_true(cidr_match(&c, "2001:db8::1"));
    assert_false(cidr_match(&c, "192.0.2.1"));
    assert_false(cidr_match(&c, "not an address"));

    const char *bad[] = {"192.0.2.0/-1", "192.0.2.0/", "1.2.3.4/32x", "::/129",
                         "[]",           "",           "1.2.3",       "host.example"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        err = NULL;
        assert_int_equal(cidr_parse(bad[i], &c, &err), -1);
        assert_non_null(err);
        free(err);
    }
    /* longer than any address: refused before copying */
    char big[300];
    memset(big, '1', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    err = NULL;
    assert_int_equal(cidr_parse(big, &c, &err), -1);
    free(err);
}

static void test_is_table_spec(void **state)
{
    (void) state;
    assert_true(is_table_spec("hash:/etc/postern/access"));
    assert_true(is_table_spec("inline:{a=b}"));
    assert_true(is_table_spec("Texthash:/x"));
    assert_true(is_table_spec("a_b-c+d:x"));
    assert_true(is_table_spec("static:"));
    /* addresses and host:port are no tables */
    assert_false(is_table_spec("fe80::/10"));
    assert_false(is_table_spec("fe80::1"));
    assert_false(is_table_spec("abcd::"));
    assert_false(is_table_spec("2001:db8::1"));
    assert_false(is_table_spec("[::1]/128"));
    assert_false(is_table_spec("mail.example.com:25"));
    assert_false(is_table_spec(":x"));
    assert_false(is_table_spec("1hash:/x"));
    assert_false(is_table_spec("example.com"));
    assert_false(is_table_spec("/etc/postern/domains"));
}

static void test_file_patterns(void **state)
{
    (void) state;
    char *nested = test_write_file("match_nested", "# nested list\n"
                                                   "!blocked.example.net\n"
                                                   "example.net\n");
    char *text = xasprintf("# local domains, one or more a line\n"
                           "example.com   example.org # trailing comment\n"
                           "\n"
                           "%s, 192.0.2.0/24\n",
                           nested);
    char *top = test_write_file("match_top", text);
    char *value = xasprintf("!%s, other.example, %s", nested, top);
    struct match_list *m = list(value, MATCH_HOSTADDR, true, NULL);
    /* the negated file: everything in it says "no" (a negated negation
     * says "no" too, for the first pattern that matches) */
    assert_int_equal(match_list_match(m, "example.net", "203.0.113.1"), 0);
    assert_int_equal(match_list_match(m, "blocked.example.net", "203.0.113.1"), 1);
    assert_int_equal(match_list_match(m, "other.example", "203.0.113.1"), 1);
    assert_int_equal(match_list_match(m, "www.example.org", "203.0.113.1"), 1);
    assert_int_equal(match_list_match(m, "unknown", "192.0.2.7"), 1);
    assert_int_equal(match_list_match(m, "unknown", "198.51.100.7"), 0);
    match_list_free(m);

    /* comments do not hide the patterns before them */
    m = list(top, MATCH_STRING, false, NULL);
    assert_int_equal(match_list_match(m, "example.org", NULL), 1);
    assert_int_equal(match_list_match(m, "trailing", NULL), 0);
    assert_int_equal(match_list_match(m, "comment", NULL), 0);
    match_list_free(m);

    /* a missing file is an error naming it */
    char *errors;
    m = list("/nonexistent/postern/list, example.com", MATCH_STRING, false, &errors);
    assert_non_null(strstr(errors, "test_list: open /nonexistent/postern/list: "));
    assert_int_equal(match_list_match(m, "example.com", NULL), 1);
    free(errors);
    match_list_free(m);

    /* a file that names itself: refused after ten levels, not forever */
    char *self = xasprintf("%s/match_self", test_tmpdir());
    char *self_text = xasprintf("%s\n", self);
    free(test_write_file("match_self", self_text));
    m = list(self, MATCH_STRING, false, &errors);
    assert_non_null(strstr(errors, "files nested too deeply"));
    free(errors);
    match_list_free(m);

    free(self_text);
    free(self);
    free(value);
    free(top);
    free(text);
    free(nested);
}

static void test_table_patterns(void **state)
{
    (void) state;
    /* exact-string lists look the name up as it is */
    struct match_list *m =
        list("inline:{example.com=ok, Mixed.Example=ok}", MATCH_STRING, false, NULL);
    assert_int_equal(match_list_match(m, "example.com", NULL), 1);
    assert_int_equal(match_list_match(m, "EXAMPLE.COM", NULL), 1);
    assert_int_equal(match_list_match(m, "mixed.example", NULL), 1);
    assert_int_equal(match_list_match(m, "sub.example.com", NULL), 0);
    match_list_free(m);

    /* domain lists: parent domains per style */
    m = list("inline:{example.com=ok}", MATCH_DOMAIN, true, NULL);
    assert_int_equal(match_list_match(m, "sub.example.com", NULL), 1);
    match_list_free(m);
    m = list("inline:{example.com=ok, .example.org=ok}", MATCH_DOMAIN, false, NULL);
    assert_int_equal(match_list_match(m, "sub.example.com", NULL), 0);
    assert_int_equal(match_list_match(m, "example.com", NULL), 1);
    assert_int_equal(match_list_match(m, "sub.example.org", NULL), 1);
    match_list_free(m);

    /* host address lists: the name, then the address */
    m = list("inline:{mail.example.com=ok, 192.0.2.7=ok}", MATCH_HOSTADDR, false, NULL);
    assert_int_equal(match_list_match(m, "mail.example.com", "203.0.113.1"), 1);
    assert_int_equal(match_list_match(m, "unknown", "192.0.2.7"), 1);
    assert_int_equal(match_list_match(m, "unknown", "192.0.2.8"), 0);
    match_list_free(m);

    /* cidr: in a host address list */
    char *path = test_write_file("match_cidr", "192.0.2.0/24 ok\n2001:db8::/32 ok\n");
    char *value = xasprintf("!cidr:%s, 0.0.0.0/0", path);
    m = list(value, MATCH_HOSTADDR, false, NULL);
    assert_int_equal(match_list_match(m, "unknown", "192.0.2.50"), 0);
    assert_int_equal(match_list_match(m, "unknown", "198.51.100.50"), 1);
    match_list_free(m);
    free(value);
    free(path);

    /* a table that fails: -1, the caller answers 4xx */
    test_capture_begin();
    m = list("example.org, texthash:/nonexistent/postern/domains, example.com", MATCH_STRING, false,
             NULL);
    assert_int_equal(match_list_match(m, "example.org", NULL), 1);
    assert_int_equal(match_list_match(m, "example.com", NULL), -1);
    match_list_free(m);
    free(test_capture_end());
    table_cache_clear();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_string_list_exact_and_case),
        cmocka_unit_test(test_domain_list_parent_styles),
        cmocka_unit_test(test_negation_first_match_wins),
        cmocka_unit_test(test_hostaddr_ipv4_blocks),
        cmocka_unit_test(test_hostaddr_ipv6_blocks),
        cmocka_unit_test(test_hostaddr_bad_patterns),
        cmocka_unit_test(test_cidr_parse_and_match),
        cmocka_unit_test(test_is_table_spec),
        cmocka_unit_test(test_file_patterns),
        cmocka_unit_test(test_table_patterns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
