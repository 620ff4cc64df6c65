/* Unit tests: cidr: tables (rule syntax, order, warnings, the index). */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "table/table.h"
#include "testutil.h"

static int counter;

/* open_text - write text to a fresh file and open cidr: on it */
static struct table *open_text(const char *text, char **warnings)
{
    char *name = xasprintf("cidr%d", counter++);
    char *path = test_write_file(name, text);
    char *spec = xasprintf("cidr:%s", path);
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

/* q - the value found for key, "-" when not found, "!" on error */
static const char *q(struct table *t, const char *key)
{
    const char *v;
    enum table_status st = table_lookup(t, key, &v);
    return st == TABLE_FOUND ? v : st == TABLE_NOTFOUND ? "-" : "!";
}

static void test_ipv4_first_match_in_file_order(void **state)
{
    (void) state;
    struct table *t = open_text("192.168.1.1 one\n"
                                "192.168.0.0/16 sixteen\n"
                                "192.168.1.0/24 never\n"
                                "0.0.0.0/0 all\n",
                                NULL);
    assert_null(table_open_error(t));
    assert_int_equal(table_flags(t), TABLE_T_PATTERN | TABLE_T_SOURCE);
    assert_string_equal(q(t, "192.168.1.1"), "one");
    assert_string_equal(q(t, "192.168.1.2"), "sixteen");
    assert_string_equal(q(t, "10.0.0.1"), "all");
    assert_string_equal(q(t, "::1"), "-");
    table_close(t);
    table_cache_clear();
}

static void test_ipv6_forms(void **state)
{
    (void) state;
    struct table *t = open_text("2001:db8::1 host\n"
                                "[2001:db8::2] bracketed\n"
                                "[2001:db8:1::]/48 net48\n"
                                "[2001:db8:2::/48] inside\n"
                                "::ffff:0:0/96 mapped\n"
                                "2001:db8::/32 net32\n",
                                NULL);
    assert_string_equal(q(t, "2001:db8::1"), "host");
    assert_string_equal(q(t, "2001:DB8:0:0:0:0:0:1"), "host");
    assert_string_equal(q(t, "2001:0db8::0001"), "host");
    assert_string_equal(q(t, "2001:db8::2"), "bracketed");
    assert_string_equal(q(t, "2001:db8:1:ffff::9"), "net48");
    assert_string_equal(q(t, "2001:db8:2::9"), "inside");
    assert_string_equal(q(t, "2001:db8:3::9"), "net32");
    /* IPv4-mapped keys are IPv6 addresses, whatever their spelling. */
    assert_string_equal(q(t, "::ffff:1.2.3.4"), "mapped");
    assert_string_equal(q(t, "::FFFF:102:304"), "mapped");
    assert_string_equal(q(t, "1.2.3.4"), "-");
    /* Not addresses: no match. */
    assert_string_equal(q(t, "[2001:db8::1]"), "-");
    assert_string_equal(q(t, "2001:db8::1%eth0"), "-");
    assert_string_equal(q(t, ""), "-");
    table_close(t);
    table_cache_clear();
}

static void test_negation_and_if_blocks(void **state)
{
    (void) state;
    struct table *t = open_text("if 10.0.0.0/8\n"
                                "if !10.1.0.0/16\n"
                                "10.2.0.0/16 in-10.2\n"
                                "endif\n"
                                "10.0.0.0/8 in-10\n"
                                "ENDIF\n"
                                "!! 8.0.0.0/8 double\n"
                                "! 9.0.0.0/8 not-9\n"
                                "!::/0 never\n",
                                NULL);
    assert_string_equal(q(t, "10.2.3.4"), "in-10.2");
    assert_string_equal(q(t, "10.1.2.3"), "in-10");
    assert_string_equal(q(t, "8.1.1.1"), "double");
    assert_string_equal(q(t, "9.1.1.1"), "-");
    assert_string_equal(q(t, "1.1.1.1"), "not-9");
    /* Negation needs an address of the pattern's family. */
    assert_string_equal(q(t, "::1"), "-");
    assert_string_equal(q(t, "example.com"), "-");
    table_close(t);
    table_cache_clear();
}

static void test_bad_rules_are_skipped_with_warnings(void **state)
{
    (void) state;
    char *w;
    struct table *t = open_text("10.0.0.1/8 bits\n"
                                "10.0.0.0/33 len\n"
                                "1.2.3 short\n"
                                "010.0.0.1 octal\n"
                                "1.2.3.4/ab mask\n"
                                "1.2.3/8 net\n"
                                "1.2.3.4\n"
                                "[1.2.3.4 open\n"
                                "[1.2.3.4]x junk\n"
                                "2001:db8::1/32 v6bits\n"
                                "endif\n"
                                "endif junk\n"
                                "if\n"
                                "if 7.0.0.0/8 junk\n"
                                "1.2.3.4/4294967328 wraps-to-32\n"
                                "IF 5.0.0.0/8\n",
                                &w);
    const char *want[] = {
        "line 1: non-null host address bits in \"10.0.0.1/8\", perhaps you should use "
        "\"10.0.0.0/8\" instead: skipping this rule",
        "line 2: bad mask length in \"10.0.0.0/33\": skipping this rule",
        "line 3: bad address pattern: \"1.2.3\": skipping this rule",
        "line 4: bad address pattern: \"010.0.0.1\": skipping this rule",
        "line 5: bad mask value in \"1.2.3.4/ab\": skipping this rule",
        "line 6: bad network value in \"1.2.3/8\": skipping this rule",
        "line 7: no lookup result: skipping this rule",
        "line 8: missing ']' character after \"[1.2.3.4\": skipping this rule",
        "line 9: garbage after \"[1.2.3.4]\": skipping this rule",
        "line 10: non-null host address bits in \"2001:db8::1/32\", perhaps you should use "
        "\"2001:db8::/32\" instead: skipping this rule",
        "line 11: ENDIF without IF: skipping this rule",
        "line 12: garbage after ENDIF: skipping this rule",
        "line 13: no address pattern: skipping this rule",
        "line 14: bad mask value in \"7.0.0.0/8 junk\": skipping this rule",
        "line 16: IF has no matching ENDIF",
    };
    for (size_t i = 0; i < ARRAY_LEN(want); i++) {
        if (strstr(w, want[i]) == NULL)
            fail_msg("missing warning: %s\nin:\n%s", want[i], w);
    }
    assert_non_null(strstr(w, "warning: cidr map /"));
    assert_string_equal(q(t, "1.2.3.4"), "wraps-to-32");
    assert_string_equal(q(t, "10.0.0.1"), "-");
    table_close(t);
    table_cache_clear();
    free(w);
}

static void test_inline_rules_and_missing_file(void **state)
{
    (void) state;
    test_capture_begin();
    struct table *t = table_open("cidr:{{1.2.3.0/24 net}, { 10.0.0.0/8  ten }}", 0);
    assert_null(table_open_error(t));
    assert_string_equal(q(t, "1.2.3.9"), "net");
    assert_string_equal(q(t, "10.9.9.9"), "ten");
    table_close(t);
    t = table_open("cidr:{1.2.3.4 x}", 0);
    assert_non_null(table_open_error(t));
    assert_string_equal(q(t, "1.2.3.4"), "!");
    table_close(t);
    t = table_open("cidr:/nonexistent/file", 0);
    assert_non_null(strstr(table_open_error(t), "No such file"));
    table_close(t);
    free(test_capture_end());
    table_cache_clear();
}

/* ---- a large random table against a scan in file order ---- */

struct ref_rule {
    int kind; /* 0 rule, 1 if, 2 endif */
    int family;
    unsigned char addr[16];
    int prefix;
    bool negate;
    char value[32];
};

static uint64_t rng = 88172645463325252ULL;

static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void random_net(struct ref_rule *r, bool v6)
{
    r->family = v6 ? 6 : 4;
    int bytes = v6 ? 16 : 4;
    static const int lens4[] = {8, 12, 16, 20, 22, 24, 24, 24, 28, 32, 32};
    static const int lens6[] = {32, 48, 56, 64, 64, 128};
    r->prefix = v6 ? lens6[next_rand() % ARRAY_LEN(lens6)] : lens4[next_rand() % ARRAY_LEN(lens4)];
    memset(r->addr, 0, sizeof(r->addr));
    /* A small address space so that networks overlap and repeat. */
    r->addr[0] = v6 ? 0x20 : (unsigned char) (10 + next_rand() % 2);
    r->addr[1] = v6 ? 0x01 : (unsigned char) (next_rand() % 4);
    for (int i = 2; i < bytes; i++)
        r->addr[i] = (unsigned char) (next_rand() % 3);
    for (int bit = r->prefix; bit < bytes * 8; bit++)
        r->addr[bit / 8] &= (unsigned char) ~(0x80 >> (bit % 8));
}

static bool ref_in(const struct ref_rule *r, int family, const unsigned char *a)
{
    if (r->family != family)
        return false;
    int full = r->prefix / 8;
    if (memcmp(a, r->addr, (size_t) full) != 0)
        return false;
    int rest = r->prefix % 8;
    if (rest == 0)
        return true;
    unsigned char m = (unsigned char) (0xff << (8 - rest));
    return (a[full] & m) == (r->addr[full] & m);
}

/* ref_lookup - the rules of cidr_table(5), read literally: in order, an
 * "if" that does not apply skips to its endif */
static const char *ref_lookup(const struct ref_rule *rules, size_t n, int family,
                              const unsigned char *a)
{
    for (size_t i = 0; i < n; i++) {
        const struct ref_rule *r = &rules[i];
        if (r->kind == 2)
            continue;
        bool applies = r->family == family && ref_in(r, family, a) != r->negate;
        if (r->kind == 0 && applies)
            return r->value;
        if (r->kind == 1 && !applies) {
            int depth = 1;
            while (depth > 0 && ++i < n)
                depth += rules[i].kind == 1 ? 1 : rules[i].kind == 2 ? -1 : 0;
        }
    }
    return NULL;
}

static void test_large_table_matches_file_order_scan(void **state)
{
    (void) state;
    size_t n = 10000;
    struct ref_rule *rules = xcalloc(n + 16, sizeof(*rules));
    struct buf text;
    buf_init(&text);
    size_t count = 0;
    int depth = 0;
    while (count < n) {
        struct ref_rule *r = &rules[count];
        uint64_t pick = next_rand() % 1000;
        if (pick < 3 && depth < 3) {
            r->kind = 1;
            depth++;
        } else if (pick < 6 && depth > 0) {
            r->kind = 2;
            depth--;
        } else {
            r->kind = 0;
        }
        if (r->kind != 2) {
            random_net(r, next_rand() % 5 == 0);
            /* Negated rules match nearly everything: only inside blocks. */
            r->negate = r->kind == 0 ? depth > 0 && next_rand() % 50 == 0 : next_rand() % 2 == 0;
            snprintf(r->value, sizeof(r->value), "v%zu", count);
            char net[INET6_ADDRSTRLEN];
            inet_ntop(r->family == 6 ? AF_INET6 : AF_INET, r->addr, net, sizeof(net));
            buf_printf(&text, "%s%s%s/%d%s%s\n", r->kind == 1 ? "if " : "", r->negate ? "!" : "",
                       net, r->prefix, r->kind == 0 ? " " : "", r->kind == 0 ? r->value : "");
        } else {
            buf_puts(&text, "endif\n");
        }
        count++;
    }
    while (depth-- > 0) {
        rules[count++].kind = 2;
        buf_puts(&text, "endif\n");
    }
    char *w;
    struct table *t = open_text(buf_cstr(&text), &w);
    assert_string_equal(w, "");
    free(w);
    enum { QUERIES = 5000, REPEAT = 20 };
    struct ref_rule *probes = xcalloc(QUERIES, sizeof(*probes));
    char(*keys)[INET6_ADDRSTRLEN] = xcalloc(QUERIES, sizeof(*keys));
    for (size_t i = 0; i < QUERIES; i++) {
        struct ref_rule *p = &probes[i];
        random_net(p, next_rand() % 5 == 0);
        int bytes = p->family == 6 ? 16 : 4;
        for (int b = p->prefix / 8; b < bytes; b++)
            p->addr[b] = (unsigned char) (next_rand() % 3);
        if (next_rand() % 4 == 0) /* outside every rule, unless negated */
            p->addr[p->family == 6 ? 1 : 0] = 12;
        inet_ntop(p->family == 6 ? AF_INET6 : AF_INET, p->addr, keys[i], sizeof(keys[i]));
    }
    size_t queries = QUERIES, found = 0;
    uint64_t start = clock_mono_us();
    for (int r = 0; r < REPEAT; r++)
        for (size_t i = 0; i < QUERIES; i++)
            (void) q(t, keys[i]);
    uint64_t took = clock_mono_us() - start;
    for (size_t i = 0; i < QUERIES; i++) {
        const char *want = ref_lookup(rules, count, probes[i].family, probes[i].addr);
        const char *got = q(t, keys[i]);
        if (want == NULL)
            want = "-";
        else
            found++;
        if (strcmp(want, got) != 0)
            fail_msg("key %s: want %s, got %s", keys[i], want, got);
    }
    print_message("cidr: %zu rules, %d lookups, %zu of %zu keys found, %.0f ns per lookup\n", count,
                  QUERIES * REPEAT, found, queries,
                  (double) took * 1000.0 / (double) (QUERIES * REPEAT));
    free(probes);
    free(keys);
    assert_true(found > queries / 10);
    table_close(t);
    table_cache_clear();
    buf_free(&text);
    free(rules);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4_first_match_in_file_order),
        cmocka_unit_test(test_ipv6_forms),
        cmocka_unit_test(test_negation_and_if_blocks),
        cmocka_unit_test(test_bad_rules_are_skipped_with_warnings),
        cmocka_unit_test(test_inline_rules_and_missing_file),
        cmocka_unit_test(test_large_table_matches_file_order_scan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
