/*
 * Unit tests: resolve_address (src/policy/resolve.c), what Postfix's
 * trivial-rewrite decides for the SMTP server's restrictions - the address
 * classes (local, virtual alias, virtual mailbox, relay, default), the
 * routing operators (percent hack, bang paths, user@remote@local), trailing
 * dots and case, domain literals, empty local parts, and the routing flag
 * that permit_auth_destination refuses.
 */
#include <stdlib.h>
#include <string.h>

#include "policy/policy_int.h"
#include "testutil.h"

static const char *const base_cf = "compatibility_level = 3.6\n"
                                   "alias_maps =\n"
                                   "myhostname = mx.postern.test\n"
                                   "mydomain = postern.test\n"
                                   "mydestination = $myhostname, localhost, $mydomain\n"
                                   "virtual_alias_domains = alias.example\n"
                                   "virtual_mailbox_domains = mailbox.example\n"
                                   "relay_domains = relay.example\n"
                                   "inet_interfaces = 127.0.0.1\n"
                                   "proxy_interfaces = 192.0.2.25\n"
                                   "inet_protocols = ipv4\n";

struct fixture {
    struct config *cfg;
    struct policy *p;
};

/* compile - base_cf, then extra lines (later ones win) */
static struct fixture compile(const char *extra)
{
    struct fixture f;
    f.cfg = config_new(test_tmpdir(), NULL);
    struct strlist errors;
    strlist_init(&errors);
    char *text = xasprintf("%s%s", base_cf, extra ? extra : "");
    assert_int_equal(config_parse_text(f.cfg, text, strlen(text), "main.cf", &errors), 0);
    f.p = policy_compile(f.cfg, &errors);
    for (size_t i = 0; i < errors.count; i++)
        print_error("compile: %s\n", errors.items[i]);
    assert_non_null(f.p);
    strlist_free(&errors);
    free(text);
    return f;
}

static void release(struct fixture *f)
{
    policy_free(f->p);
    config_free(f->cfg);
    table_cache_clear();
}

/* expect - resolve address: recipient, class and the other flags */
static void expect(struct policy *p, const char *address, const char *recipient, unsigned cls,
                   unsigned flags)
{
    struct resolved r;
    int rc = resolve_address(p, address, &r);
    if (strcmp(r.recipient, recipient) != 0 || (r.flags & RESOLVE_CLASS_MASK) != cls ||
        (r.flags & ~RESOLVE_CLASS_MASK) != flags)
        print_error("%s: got %s flags %#x, want %s flags %#x\n", address, r.recipient, r.flags,
                    recipient, cls | flags);
    assert_int_equal(rc, 0);
    assert_string_equal(r.recipient, recipient);
    assert_int_equal(r.flags & RESOLVE_CLASS_MASK, cls);
    assert_int_equal(r.flags & ~RESOLVE_CLASS_MASK, flags);
    resolved_free(&r);
}

static void test_classes(void **state)
{
    (void) state;
    struct fixture f = compile(NULL);
    expect(f.p, "user@postern.test", "user@postern.test", RESOLVE_CLASS_LOCAL, 0);
    expect(f.p, "user@mx.postern.test", "user@mx.postern.test", RESOLVE_CLASS_LOCAL, 0);
    expect(f.p, "user@localhost", "user@localhost", RESOLVE_CLASS_LOCAL, 0);
    expect(f.p, "user@alias.example", "user@alias.example", RESOLVE_CLASS_ALIAS, 0);
    expect(f.p, "user@mailbox.example", "user@mailbox.example", RESOLVE_CLASS_VIRTUAL, 0);
    expect(f.p, "user@relay.example", "user@relay.example", RESOLVE_CLASS_RELAY, 0);
    /* relay_domains matches subdomains (parent_domain_matches_subdomains) */
    expect(f.p, "user@sub.relay.example", "user@sub.relay.example", RESOLVE_CLASS_RELAY, 0);
    /* the virtual domain lists are exact */
    expect(f.p, "user@sub.alias.example", "user@sub.alias.example", RESOLVE_CLASS_DEFAULT, 0);
    expect(f.p, "user@example.net", "user@example.net", RESOLVE_CLASS_DEFAULT, 0);
    /* a subdomain of a local domain is not local */
    expect(f.p, "user@sub.postern.test", "user@sub.postern.test", RESOLVE_CLASS_DEFAULT, 0);

    struct resolved r;
    resolve_address(f.p, "user@alias.example", &r);
    assert_string_equal(r.error_text, "User unknown in virtual alias table");
    resolved_free(&r);
    release(&f);

    f = compile("show_user_unknown_table_name = no\n"
                "parent_domain_matches_subdomains =\n");
    resolve_address(f.p, "user@alias.example", &r);
    assert_string_equal(r.error_text, "User unknown");
    resolved_free(&r);
    expect(f.p, "user@sub.relay.example", "user@sub.relay.example", RESOLVE_CLASS_DEFAULT, 0);
    release(&f);
}

static void test_case_and_trailing_dots(void **state)
{
    (void) state;
    struct fixture f = compile(NULL);
    expect(f.p, "User@PostErn.TEST", "user@postern.test", RESOLVE_CLASS_LOCAL, 0);
    expect(f.p, "user@postern.test.", "user@postern.test", RESOLVE_CLASS_LOCAL, 0);
    expect(f.p, "USER@Relay.Example.", "user@relay.example", RESOLVE_CLASS_RELAY, 0);
    expect(f.p, "user@example.net.", "user@example.net", RESOLVE_CLASS_DEFAULT, 0);
    /* one dot only: ".." is no name */
    expect(f.p, "user@example.net..", "user@example.net..", RESOLVE_CLASS_DEFAULT,
           RESOLVE_FLAG_ERROR);
    expect(f.p, "user@.", "user@.", RESOLVE_CLASS_DEFAULT, RESOLVE_FLAG_ERROR);
    release(&f);
}

static void test_no_domain_and_empty_local_part(void **state)
{
    (void) state;
    struct fixture f = compile(NULL);
    /* no domain: $myhostname */
    expect(f.p, "user", "user@mx.postern.test", RESOLVE_CLASS_LOCAL, 0);
    /* nothing at all: the empty address recipient */
    expect(f.p, "", "mailer-daemon@mx.postern.test", RESOLVE_CLASS_LOCAL, 0);
    /* an empty local part of a local domain */
    expect(f.p, "@postern.test", "mailer-daemon@postern.test", RESOLVE_CLASS_LOCAL, 0);
    /* a remote domain keeps the empty local part */
    expect(f.p, "@example.net", "@example.net", RESOLVE_CLASS_DEFAULT, 0);
    /* "user@" is the user without a domain */
    expect(f.p, "user@", "user@mx.postern.test", RESOLVE_CLASS_LOCAL, 0);
    release(&f);

    f = compile("empty_address_recipient = postmaster\n");
    expect(f.p, "", "postmaster@mx.postern.test", RESOLVE_CLASS_LOCAL, 0);
    release(&f);
}

static void test_percent_hack(void **state)
{
    (void) state;
    struct fixture f = compile(NULL);
    /* a local domain is stripped, the % becomes the new @ */
    expect(f.p, "user%example.net@postern.test", "user@example.net", RESOLVE_CLASS_DEFAULT, 0);
    expect(f.p, "user%relay.example@postern.test", "user@relay.example", RESOLVE_CLASS_RELAY, 0);
    expect(f.p, "user%postern.test@mx.postern.test", "user@postern.test", RESOLVE_CLASS_LOCAL, 0);
    /* the rightmost % first */
    expect(f.p, "a%b.example%postern.test@localhost", "a@b.example", RESOLVE_CLASS_DEFAULT, 0);
    /* routing left in a remote address: the destination is uncertain */
    expect(f.p, "user%example.net@relay.example", "user%example.net@relay.example",
           RESOLVE_CLASS_RELAY, RESOLVE_FLAG_ROUTED);
    release(&f);

    /* allow_percent_hack = no: % stays in the local part, and it is
     * routing all the same (Postfix 3.7 answers Relay access denied to
     * user%example.net@local: tests/check/compat-route-percent-hack-disabled) */
    f = compile("allow_percent_hack = no\n");
    expect(f.p, "user%example.net@postern.test", "user%example.net@postern.test",
           RESOLVE_CLASS_LOCAL, RESOLVE_FLAG_ROUTED);
    expect(f.p, "user%example.net@relay.example", "user%example.net@relay.example",
           RESOLVE_CLASS_RELAY, RESOLVE_FLAG_ROUTED);
    release(&f);
}

static void test_bang_path(void **state)
{
    (void) state;
    struct fixture f = compile(NULL);
    expect(f.p, "example.net!user", "user@example.net", RESOLVE_CLASS_DEFAULT, 0);
    expect(f.p, "example.net!user@postern.test", "user@example.net", RESOLVE_CLASS_DEFAULT, 0);
    expect(f.p, "relay.example!user@localhost", "user@relay.example", RESOLVE_CLASS_RELAY, 0);
    expect(f.p, "postern.test!user", "user@postern.test", RESOLVE_CLASS_LOCAL, 0);
    expect(f.p, "host!user@relay.example", "host!user@relay.example", RESOLVE_CLASS_RELAY,
           RESOLVE_FLAG_ROUTED);
    release(&f);

    f = compile("swap_bangpath = no\n");
    expect(f.p, "example.net!user", "example.net!user@mx.postern.test", RESOLVE_CLASS_LOCAL,
           RESOLVE_FLAG_ROUTED);
    expect(f.p, "host!user@example.net", "host!user@example.net", RESOLVE_CLASS_DEFAULT,
           RESOLVE_FLAG_ROUTED);
    release(&f);
}

static void test_user_at_remote_at_local(void **state)
{
    (void) state;
    struct fixture f = compile(NULL);
    /* a local domain on the right is stripped: the next @ routes */
    expect(f.p, "user@example.net@postern.test", "user@example.net", RESOLVE_CLASS_DEFAULT, 0);
    expect(f.p, "user@relay.example@postern.test", "user@relay.example", RESOLVE_CLASS_RELAY, 0);
    expect(f.p, "user@postern.test@localhost", "user@postern.test", RESOLVE_CLASS_LOCAL, 0);
    /* a remote domain on the right: the rest is routing */
    expect(f.p, "user@example.net@relay.example", "user@example.net@relay.example",
           RESOLVE_CLASS_RELAY, RESOLVE_FLAG_ROUTED);
    /* quotes are looked inside (resolve_dequoted_address = yes) */
    expect(f.p, "\"user@example.net\"@postern.test", "user@example.net", RESOLVE_CLASS_DEFAULT, 0);
    expect(f.p, "\"user%example.net\"@relay.example", "user%example.net@relay.example",
           RESOLVE_CLASS_RELAY, RESOLVE_FLAG_ROUTED);
    release(&f);
}

static void test_domain_literals(void **state)
{
    (void) state;
    struct fixture f = compile(NULL);
    /* the server's own addresses (inet_interfaces, proxy_interfaces) */
    expect(f.p, "user@[127.0.0.1]", "user@[127.0.0.1]", RESOLVE_CLASS_LOCAL, 0);
    expect(f.p, "user@[192.0.2.25]", "user@[192.0.2.25]", RESOLVE_CLASS_LOCAL, 0);
    expect(f.p, "user@[192.0.2.25].", "user@[192.0.2.25]", RESOLVE_CLASS_LOCAL, 0);
    /* other addresses are remote */
    expect(f.p, "user@[192.0.2.26]", "user@[192.0.2.26]", RESOLVE_CLASS_DEFAULT, 0);
    expect(f.p, "user@[IPv6:2001:db8::1]", "user@[ipv6:2001:db8::1]", RESOLVE_CLASS_DEFAULT, 0);
    /* not an address: a syntax error */
    expect(f.p, "user@[300.1.2.3]", "user@[300.1.2.3]", RESOLVE_CLASS_DEFAULT, RESOLVE_FLAG_ERROR);
    expect(f.p, "user@[host.example]", "user@[host.example]", RESOLVE_CLASS_DEFAULT,
           RESOLVE_FLAG_ERROR);
    expect(f.p, "user@[]", "user@[]", RESOLVE_CLASS_DEFAULT, RESOLVE_FLAG_ERROR);
    release(&f);

    f = compile("inet_protocols = all\ninet_interfaces = 127.0.0.1, [::1]\n");
    expect(f.p, "user@[IPv6:::1]", "user@[ipv6:::1]", RESOLVE_CLASS_LOCAL, 0);
    expect(f.p, "user@[ipv6:0:0::1]", "user@[ipv6:0:0::1]", RESOLVE_CLASS_LOCAL, 0);
    release(&f);
}

static void test_bad_domains(void **state)
{
    (void) state;
    struct fixture f = compile(NULL);
    expect(f.p, "user@exa mple.net", "user@exa mple.net", RESOLVE_CLASS_DEFAULT,
           RESOLVE_FLAG_ERROR);
    expect(f.p, "user@-example.net", "user@-example.net", RESOLVE_CLASS_DEFAULT,
           RESOLVE_FLAG_ERROR);
    expect(f.p, "user@123.456", "user@123.456", RESOLVE_CLASS_DEFAULT, RESOLVE_FLAG_ERROR);
    release(&f);
}

static void test_resolve_local(void **state)
{
    (void) state;
    struct fixture f = compile(NULL);
    assert_int_equal(resolve_local(f.p, "postern.test"), 1);
    assert_int_equal(resolve_local(f.p, "POSTERN.TEST."), 1);
    assert_int_equal(resolve_local(f.p, "postern.test.."), 0);
    assert_int_equal(resolve_local(f.p, "[127.0.0.1]"), 1);
    assert_int_equal(resolve_local(f.p, "[192.0.2.25]"), 1);
    assert_int_equal(resolve_local(f.p, "[192.0.2.26]"), 0);
    assert_int_equal(resolve_local(f.p, "[]"), 0);
    assert_int_equal(resolve_local(f.p, "relay.example"), 0);
    assert_int_equal(resolve_local(f.p, ""), 0);
    release(&f);
}

static void test_table_failures(void **state)
{
    (void) state;
    test_capture_begin();
    struct fixture f = compile("mydestination = $myhostname, texthash:/nonexistent/postern/dst\n"
                               "virtual_alias_domains = texthash:/nonexistent/postern/va\n");
    struct resolved r;
    /* the host name is found before the table */
    assert_int_equal(resolve_address(f.p, "user@mx.postern.test", &r), 0);
    assert_true(r.flags & RESOLVE_CLASS_LOCAL);
    resolved_free(&r);
    /* every other domain needs the broken table */
    assert_int_equal(resolve_address(f.p, "user@example.net", &r), -1);
    assert_true(r.flags & RESOLVE_FLAG_FAIL);
    resolved_free(&r);
    release(&f);

    /* a good mydestination; a broken virtual alias domain list */
    f = compile("virtual_alias_domains = texthash:/nonexistent/postern/va\n");
    assert_int_equal(resolve_address(f.p, "user@postern.test", &r), 0);
    resolved_free(&r);
    assert_int_equal(resolve_address(f.p, "user@example.net", &r), -1);
    assert_true(r.flags & RESOLVE_FLAG_FAIL);
    resolved_free(&r);
    release(&f);
    free(test_capture_end());
}

static void test_long_and_odd_input(void **state)
{
    (void) state;
    struct fixture f = compile(NULL);
    /* many routing operators: the loop ends, the result is one address */
    struct buf a;
    buf_init(&a);
    for (int i = 0; i < 200; i++)
        buf_puts(&a, "x%");
    buf_puts(&a, "user@postern.test");
    struct resolved r;
    assert_int_equal(resolve_address(f.p, a.data, &r), 0);
    assert_non_null(strchr(r.recipient, '@'));
    resolved_free(&r);
    buf_reset(&a);
    for (int i = 0; i < 200; i++)
        buf_puts(&a, "@postern.test");
    assert_int_equal(resolve_address(f.p, a.data, &r), 0);
    assert_string_equal(r.recipient, "mailer-daemon@postern.test");
    resolved_free(&r);
    buf_free(&a);
    const char *odd[] = {
        "@", "@@",     "%",      "!", "!!", "a!", "!a", "%@postern.test", "\"", "\"\"@postern.test",
        "[", "user@[", "user@]", ".", "@."};
    for (size_t i = 0; i < ARRAY_LEN(odd); i++) {
        assert_int_equal(resolve_address(f.p, odd[i], &r), 0);
        assert_non_null(r.recipient);
        assert_non_null(strchr(r.recipient, '@'));
        resolved_free(&r);
    }
    release(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classes),
        cmocka_unit_test(test_case_and_trailing_dots),
        cmocka_unit_test(test_no_domain_and_empty_local_part),
        cmocka_unit_test(test_percent_hack),
        cmocka_unit_test(test_bang_path),
        cmocka_unit_test(test_user_at_remote_at_local),
        cmocka_unit_test(test_domain_literals),
        cmocka_unit_test(test_bad_domains),
        cmocka_unit_test(test_resolve_local),
        cmocka_unit_test(test_table_failures),
        cmocka_unit_test(test_long_and_odd_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
