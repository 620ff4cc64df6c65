/* Unit tests: access(5) lookup order for addresses, host names and IPs. */
#include <stdlib.h>
#include <string.h>

#include "table/table.h"
#include "testutil.h"

struct keys {
    struct buf seen;
};

static void record(void *ctx, struct table *t, const char *key, enum table_status st,
                   const char *value)
{
    (void) t, (void) st, (void) value;
    struct keys *k = ctx;
    buf_printf(&k->seen, "%s;", key);
}

/* order - every key probed against an empty table */
static char *order_address(const char *addr, const char *original, const char *delim, bool parent)
{
    struct keys k;
    buf_init(&k.seen);
    struct access_trace tr = {record, &k};
    struct access_options o = {delim, parent, &tr};
    struct table *t = table_open("inline:{never.invalid=x}", 0);
    const char *v;
    assert_int_equal(access_lookup_address(t, addr, original, &o, &v, NULL), TABLE_NOTFOUND);
    table_close(t);
    return buf_steal(&k.seen);
}

static void test_address_order_with_extension(void **state)
{
    (void) state;
    char *s = order_address("user+ext@sub.example.com", NULL, "+", true);
    assert_string_equal(s, "user+ext@sub.example.com;user@sub.example.com;sub.example.com;"
                           "example.com;com;user+ext@;user@;");
    free(s);
    s = order_address("user@sub.example.com", NULL, "+", false);
    assert_string_equal(s, "user@sub.example.com;sub.example.com;.example.com;.com;user@;");
    free(s);
    s = order_address("owner-list@example.com", NULL, "-", true);
    assert_string_equal(s, "owner-list@example.com;example.com;com;owner-list@;");
    free(s);
    s = order_address("user@", NULL, "", true);
    assert_string_equal(s, "user@;user@;");
    free(s);
}

static void test_first_match_wins_and_reports_key(void **state)
{
    (void) state;
    struct table *t = table_open("inline:{example.com=REJECT, user@=OK, sub.example.com=DUNNO}", 0);
    struct access_options o = {"+", true, NULL};
    const char *v;
    struct buf m;
    buf_init(&m);
    assert_int_equal(access_lookup_address(t, "user@sub.example.com", NULL, &o, &v, &m),
                     TABLE_FOUND);
    assert_string_equal(v, "DUNNO");
    assert_string_equal(m.data, "sub.example.com");
    assert_int_equal(access_lookup_address(t, "user@other.net", NULL, &o, &v, &m), TABLE_FOUND);
    assert_string_equal(m.data, "user@");
    buf_free(&m);
    table_close(t);
    table_cache_clear();
}

static char *order_host(const char *name, bool parent)
{
    struct keys k;
    buf_init(&k.seen);
    struct access_trace tr = {record, &k};
    struct access_options o = {NULL, parent, &tr};
    struct table *t = table_open("inline:{never.invalid=x}", 0);
    const char *v;
    access_lookup_hostname(t, name, true, &o, &v, NULL);
    table_close(t);
    return buf_steal(&k.seen);
}

static void test_hostname_and_numeric(void **state)
{
    (void) state;
    char *s = order_host("mail.example.net", true);
    assert_string_equal(s, "mail.example.net;example.net;net;");
    free(s);
    s = order_host("mail.example.net.", false);
    assert_string_equal(s, "mail.example.net.;.example.net.;.net.;.;");
    free(s);
    s = order_host("192.0.2.1", true);
    assert_string_equal(s, "192.0.2.1;");
    free(s);
}

static void test_ip_prefixes(void **state)
{
    (void) state;
    struct keys k;
    buf_init(&k.seen);
    struct access_trace tr = {record, &k};
    struct access_options o = {NULL, true, &tr};
    struct table *t = table_open("inline:{never.invalid=x}", 0);
    const char *v;
    access_lookup_addr(t, "203.0.113.9", true, &o, &v, NULL);
    assert_string_equal(k.seen.data, "203.0.113.9;203.0.113;203.0;203;");
    buf_reset(&k.seen);
    access_lookup_addr(t, "2001:db8::1", true, &o, &v, NULL);
    assert_string_equal(k.seen.data, "2001:db8::1;2001:db8:;2001:db8;2001;");
    table_close(t);
    buf_free(&k.seen);
    table_cache_clear();
}

static void test_pattern_tables_get_only_full_key(void **state)
{
    (void) state;
    /* A table that is not exact-string only sees the first key. */
    struct table *t = table_open("inline:{example.com=REJECT}", 0);
    t->flags &= ~TABLE_T_FIXED;
    t->flags |= TABLE_T_PATTERN;
    struct access_options o = {"+", true, NULL};
    const char *v;
    assert_int_equal(access_lookup_address(t, "u@example.com", NULL, &o, &v, NULL), TABLE_NOTFOUND);
    assert_int_equal(access_lookup_hostname(t, "example.com", true, &o, &v, NULL), TABLE_FOUND);
    assert_int_equal(access_lookup_hostname(t, "example.com", false, &o, &v, NULL), TABLE_NOTFOUND);
    table_close(t);
    table_cache_clear();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_address_order_with_extension),
        cmocka_unit_test(test_first_match_wins_and_reports_key),
        cmocka_unit_test(test_hostname_and_numeric),
        cmocka_unit_test(test_ip_prefixes),
        cmocka_unit_test(test_pattern_tables_get_only_full_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
