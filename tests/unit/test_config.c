/* Unit tests: config (main.cf and master.cf parsing, $name expansion, the
 * registry, typed values and their errors, unused-name warnings, editing). */
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "testutil.h"

static struct config *parse(const char *text, struct strlist *errors)
{
    struct config *cfg = config_new("/etc/postern", NULL);
    config_parse_text(cfg, text, strlen(text), "main.cf", errors);
    return cfg;
}

static struct config *parse_ok(const char *text)
{
    struct strlist errors;
    strlist_init(&errors);
    struct config *cfg = parse(text, &errors);
    for (size_t i = 0; i < errors.count; i++)
        print_error("unexpected error: %s\n", errors.items[i]);
    assert_int_equal(errors.count, 0);
    strlist_free(&errors);
    return cfg;
}

static bool has_line(const char *text, const char *want)
{
    return strstr(text, want) != NULL;
}

/* ---- main.cf syntax ---- */

static void test_parse_assignments_comments_continuations(void **state)
{
    (void) state;
    struct config *cfg = parse_ok("# comment\n"
                                  "\n"
                                  "myhostname = mx.example.com  \n"
                                  "mydomain=example.com\n"
                                  "relay_domains = a,\n"
                                  "   b\n"
                                  "\n"
                                  "# a comment between continuation lines\n"
                                  "\tc\n"
                                  "  # indented comment\n"
                                  "smtpd_banner\t=\t$myhostname   ESMTP\n"
                                  "empty =\n"
                                  "myhostname = later.example.com\n"
                                  "crlf = value\r\n");
    assert_string_equal(config_raw(cfg, "mydomain"), "example.com");
    assert_string_equal(config_raw(cfg, "relay_domains"), "a,   b\tc");
    assert_string_equal(config_raw(cfg, "smtpd_banner"), "$myhostname   ESMTP");
    assert_string_equal(config_raw(cfg, "empty"), "");
    assert_string_equal(config_raw(cfg, "crlf"), "value");
    /* the later assignment wins, with its own line number */
    assert_string_equal(config_raw(cfg, "myhostname"), "later.example.com");
    const struct config_entry *e = config_entry_find(cfg, "myhostname");
    assert_string_equal(e->file, "main.cf");
    assert_int_equal(e->line, 13);
    assert_int_equal(config_entry_find(cfg, "relay_domains")->line, 5);
    const struct strlist *dups = config_duplicate_notes(cfg);
    assert_int_equal(dups->count, 1);
    assert_string_equal(dups->items[0],
                        "main.cf, line 13: overriding earlier entry: myhostname=mx.example.com");
    size_t n;
    config_entries(cfg, &n);
    assert_int_equal(n, 6);
    /* unset: the registry default; unknown: NULL */
    assert_false(config_is_set(cfg, "smtpd_delay_reject"));
    assert_string_equal(config_raw(cfg, "smtpd_delay_reject"), "yes");
    assert_null(config_raw(cfg, "no_such_parameter"));
    assert_string_equal(config_get(cfg, "no_such_parameter"), "");
    config_free(cfg);
}

/* The restrictions of seed 004, before and after the fix, must come through
 * verbatim and in order. */
static void test_seed_004_restrictions_verbatim(void **state)
{
    (void) state;
    static const char *const before[] = {
        "permit_mynetworks",
        "permit_sasl_authenticated",
        "reject_unknown_reverse_client_hostname",
        "check_client_access",
        "cidr:/etc/postfix/cidr_table_access.cidr",
        "check_client_access",
        "hash:/etc/postfix/access",
        "reject_rbl_client",
        "zen.spamhaus.org=127.0.0.10",
        "reject_rbl_client",
        "zen.spamhaus.org=127.0.0.11",
        "reject_rbl_client",
        "zen.spamhaus.org",
        "reject_rbl_client",
        "bl.spamcop.net",
        "reject_unauth_pipelining",
        "permit",
    };
    struct config *cfg =
        parse_ok("smtpd_client_restrictions = permit_mynetworks\n"
                 "    permit_sasl_authenticated\n"
                 "    reject_unknown_reverse_client_hostname\n"
                 "    check_client_access cidr:/etc/postfix/cidr_table_access.cidr\n"
                 "    check_client_access hash:/etc/postfix/access\n"
                 "    reject_rbl_client zen.spamhaus.org=127.0.0.10\n"
                 "    reject_rbl_client zen.spamhaus.org=127.0.0.11\n"
                 "    reject_rbl_client zen.spamhaus.org\n"
                 "    reject_rbl_client bl.spamcop.net\n"
                 "    reject_unauth_pipelining\n"
                 "    permit\n");
    assert_string_equal(config_raw(cfg, "smtpd_client_restrictions"),
                        "permit_mynetworks"
                        "    permit_sasl_authenticated"
                        "    reject_unknown_reverse_client_hostname"
                        "    check_client_access cidr:/etc/postfix/cidr_table_access.cidr"
                        "    check_client_access hash:/etc/postfix/access"
                        "    reject_rbl_client zen.spamhaus.org=127.0.0.10"
                        "    reject_rbl_client zen.spamhaus.org=127.0.0.11"
                        "    reject_rbl_client zen.spamhaus.org"
                        "    reject_rbl_client bl.spamcop.net"
                        "    reject_unauth_pipelining"
                        "    permit");
    struct strlist l;
    strlist_init(&l);
    config_get_list(cfg, "smtpd_client_restrictions", &l);
    assert_int_equal(l.count, ARRAY_LEN(before));
    for (size_t i = 0; i < l.count; i++)
        assert_string_equal(l.items[i], before[i]);
    strlist_free(&l);
    config_free(cfg);

    /* the fixed order: DNSBL checks before permit_sasl_authenticated */
    cfg = parse_ok("smtpd_client_restrictions = permit_mynetworks\n"
                   "    reject_rbl_client zen.spamhaus.org=127.0.0.10\n"
                   "    reject_rbl_client zen.spamhaus.org=127.0.0.11\n"
                   "    reject_rbl_client zen.spamhaus.org\n"
                   "    reject_rbl_client bl.spamcop.net\n"
                   "    permit_sasl_authenticated\n"
                   "    reject_unknown_reverse_client_hostname\n"
                   "    check_client_access cidr:/etc/postfix/cidr_table_access.cidr\n"
                   "    check_client_access hash:/etc/postfix/access\n"
                   "    reject_unauth_pipelining\n"
                   "    permit\n");
    strlist_init(&l);
    config_get_list(cfg, "smtpd_client_restrictions", &l);
    assert_int_equal(l.count, 17);
    assert_string_equal(l.items[1], "reject_rbl_client");
    assert_string_equal(l.items[8], "bl.spamcop.net");
    assert_string_equal(l.items[9], "permit_sasl_authenticated");
    assert_string_equal(l.items[16], "permit");
    strlist_free(&l);
    config_free(cfg);
}

static void test_parse_errors_name_file_and_line(void **state)
{
    (void) state;
    struct strlist errors;
    strlist_init(&errors);
    struct config *cfg = parse("  indented = at the top\n"
                               "# comment\n"
                               "good = 1\n"
                               "no equals sign\n"
                               "  continued\n"
                               "= value\n"
                               "two words = x\n"
                               "also_good = 2\n",
                               &errors);
    assert_int_equal(errors.count, 4);
    assert_string_equal(errors.items[0], "main.cf, line 1: continuation line (starting with "
                                         "whitespace) without a parameter assignment before it");
    assert_string_equal(errors.items[1], "main.cf, line 4: missing '=' after parameter name: "
                                         "\"no equals sign  continued\"");
    assert_string_equal(errors.items[2],
                        "main.cf, line 6: missing parameter name before '=': \"= value\"");
    assert_string_equal(errors.items[3],
                        "main.cf, line 7: missing '=' after parameter name: \"two words = x\"");
    assert_string_equal(config_raw(cfg, "good"), "1");
    assert_string_equal(config_raw(cfg, "also_good"), "2");
    config_free(cfg);
    strlist_free(&errors);

    /* config_load_main: a missing file is an error */
    strlist_init(&errors);
    assert_null(config_load_main("/nonexistent/postern", &errors));
    assert_int_equal(errors.count, 1);
    assert_true(has_line(errors.items[0], "open /nonexistent/postern/main.cf: "));
    strlist_free(&errors);
}

/* ---- expansion ---- */

static const char *table_lookup_fn(void *ctx, const char *name)
{
    const char *const *kv = ctx;
    for (; kv[0] != NULL; kv += 2)
        if (strcmp(kv[0], name) == 0)
            return kv[1];
    return NULL;
}

static char *expand_with(const char *const *kv, const char *text, char **err)
{
    struct buf out;
    buf_init(&out);
    *err = NULL;
    if (expand(text, table_lookup_fn, (void *) kv, &out, err) < 0) {
        buf_free(&out);
        return NULL;
    }
    return buf_steal(&out);
}

/* Expected results as Postfix 3.7's postconf -x gives them. */
static void test_expand_forms(void **state)
{
    (void) state;
    static const char *const kv[] = {"host", "h.example", "dom",   "example", "empty",
                                     "",     "ref",       "$host", "dollar",  "$$x",
                                     "lvl",  "3.6",       "ind",   "$empty",  NULL};
    static const char *const cases[][2] = {
        {"plain text", "plain text"},
        {"$$x", "$x"},
        {"$host-$(dom) ${host}", "h.example-example h.example"},
        {"$ref", "h.example"},
        {"$dollar", "$x"},
        {"$undefined.", "."},
        {"${empty?yes}|${empty:no}", "|no"},
        {"${host?yes}|${host:no}", "yes|"},
        {"${undefined?x}${undefined:y}", "y"},
        {"${host?{Y}:{N}}|${empty?{Y}:{N}}|${empty?{Y}:N2}", "Y|N|N2"},
        {"${host? x }", " x "},
        {"[${host?{ x }}]", "[ x ]"},
        {"${host?a}b}", "ab}"},
        {"${host?a{b}c}", "a{b}c"},
        {"${host?{a}}{b}", "a{b}"},
        {"${host?{a} :  {b} }", "a"},
        {"${host?{a}:}", "a"},
        {"${empty?{a}:}", ""},
        {"${dom?$host}", "h.example"},
        {"$(host?x)", "x"},
        {"$(host?(a))", "(a)"},
        {"${ host }", "h.example"},
        {"${ind?set}", "set"}, /* the raw value "$empty" is not empty */
        {"${{$dom} == {example} ? {eq} : {ne}}", "eq"},
        {"${{10} < {9}?{lt}:{ge}}", "ge"},
        {"${{0010}=={10}?{x}:{y}}", "x"},
        {"${{ab}>{b}?{x}:{y}}", "y"},
        {"${{-1} < {1}?{a}:{b}}", "a"},
        {"${{abc}!={abd}?{x}}", "x"},
        {"${{a}=={a}}", "true"},
        {"${{a}=={b}}", ""},
        {"${{}=={}}", "true"},
        {"${{ a }=={a}}", ""},
        {"${{a}=={a}?x:y}", "x:y"},
        {"${{a}=={b}:{x}}", "x"},
        {"${{x}<={x}}", "true"},
        {"${{$lvl} <level {3.10} ? {a} : {b}}", "a"},
        {"${{3.6} <level {3.6.1} ? {a} : {b}}", "a"},
        {"${{3.6.0} ==level {3.6} ? {a} : {b}}", "a"},
        {"${{3.06} ==level {3.6}?{a}:{b}}", "a"},
        {"${{2} <=level {1} ? {a} : {b}}", "b"},
        {"${{2} >=level {1} ? {a} : {b}}", "a"},
        {"${{2} !=level {1} ? {a} : {b}}", "a"},
        {"${{2} >level {1} ? {a} : {b}}", "a"},
        {"a{b}c", "a{b}c"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char *err;
        char *got = expand_with(kv, cases[i][0], &err);
        if (got == NULL || strcmp(got, cases[i][1]) != 0)
            fail_msg("expand(%s): got \"%s\" (%s), want \"%s\"", cases[i][0], got ? got : "",
                     err ? err : "no error", cases[i][1]);
        free(got);
        free(err);
    }
}

static void test_expand_errors(void **state)
{
    (void) state;
    static const char *const kv[] = {"host", "h", "a", "$b", "b", "$a", "self", "x$self", NULL};
    static const char *const cases[][2] = {
        {"a$", "'$' at the end"},
        {"x$-y", "'$' without a parameter name"},
        {"${host", "missing '}'"},
        {"$(host", "missing ')'"},
        {"${host?{a}b}", "expected ':' or the end after {value}"},
        {"${host:{a}:{b}}", "unexpected text after {value}"},
        {"${host?{a}:{b}:{c}}", "unexpected text after {value}"},
        {"${{a}=={a}?{x}:{y}z}", "unexpected text after {value}"},
        {"${my-host}", "bad parameter name"},
        {"${}", "missing parameter name"},
        {"${{a} = {a}?{x}:y}", "expected ==, !=, <, <=, > or >="},
        {"${{a}}", "expected ==, !=, <, <=, > or >="},
        {"${{x} <level {3} ? {a} : {b}}", "bad compatibility level in \"x\""},
        {"${{1.} ==level {1}}", "bad compatibility level"},
        {"${{3.6.1.2} ==level {1}}", "bad compatibility level"},
        {"$a", "parameter "},
        {"$self", "parameter self: $name references nested more than 100 levels deep"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char *err;
        char *got = expand_with(kv, cases[i][0], &err);
        if (got != NULL || err == NULL || strstr(err, cases[i][1]) == NULL)
            fail_msg("expand(%s): got \"%s\", error \"%s\", want an error with \"%s\"", cases[i][0],
                     got ? got : "(null)", err ? err : "(none)", cases[i][1]);
        free(got);
        free(err);
    }
}

static void test_expand_limits_and_names(void **state)
{
    (void) state;
    /* 30 levels of $x$x doubling: stopped by the work cap, not run for ages */
    static const char *kv[62];
    static char names[31][8], values[31][32];
    for (int i = 0; i < 30; i++) {
        snprintf(names[i], sizeof(names[i]), "v%d", i);
        snprintf(values[i], sizeof(values[i]), "$v%d$v%d", i + 1, i + 1);
        kv[2 * i] = names[i];
        kv[2 * i + 1] = values[i];
    }
    kv[60] = NULL;
    char *err;
    char *got = expand_with(kv, "$v0", &err);
    assert_null(got);
    assert_non_null(err);
    free(err);

    struct strlist n;
    strlist_init(&n);
    expand_names("$a ${b?$c} $(d) $$e ${ f:{x}} ${{$g}=={1}} $a", &n);
    assert_int_equal(n.count, 6);
    assert_string_equal(n.items[0], "a");
    assert_string_equal(n.items[1], "b");
    assert_string_equal(n.items[2], "c");
    assert_string_equal(n.items[3], "d");
    assert_string_equal(n.items[4], "f");
    assert_string_equal(n.items[5], "g");
    strlist_free(&n);
}

static void test_config_expansion_and_cache(void **state)
{
    (void) state;
    struct config *cfg = parse_ok("myhostname = mx.example.com\n"
                                  "smtpd_banner = $myhostname ESMTP $mail_name\n"
                                  "loop_a = $loop_b\n"
                                  "loop_b = $loop_a\n"
                                  "uses_undefined = [$nobody_defines_this]\n");
    assert_string_equal(config_get(cfg, "smtpd_banner"), "mx.example.com ESMTP postern");
    assert_string_equal(config_get(cfg, "mydomain"), "example.com"); /* computed */
    assert_string_equal(config_get(cfg, "myorigin"), "mx.example.com");
    /* a set invalidates the cache */
    config_set(cfg, "myhostname", "other.example.net", NULL, 0);
    assert_string_equal(config_get(cfg, "smtpd_banner"), "other.example.net ESMTP postern");
    assert_string_equal(config_get(cfg, "mydomain"), "example.net");
    /* RAW parameters keep their per-use macros */
    assert_string_equal(config_get(cfg, "default_rbl_reply"),
                        "$rbl_code Service unavailable; $rbl_class [$rbl_what] blocked using "
                        "$rbl_domain${rbl_reason?; $rbl_reason}");
    /* undefined: empty, one warning however often it is used */
    test_capture_begin();
    assert_string_equal(config_get(cfg, "uses_undefined"), "[]");
    config_set(cfg, "x", "y", NULL, 0);
    assert_string_equal(config_get(cfg, "uses_undefined"), "[]");
    char *warnings = test_capture_end();
    assert_string_equal(warnings, "warning: /etc/postern/main.cf: undefined parameter: "
                                  "nobody_defines_this\n");
    free(warnings);
    /* a loop: one warning naming the place, then "" */
    test_capture_begin();
    assert_string_equal(config_get(cfg, "loop_a"), "");
    assert_string_equal(config_get(cfg, "loop_a"), "");
    warnings = test_capture_end();
    assert_true(has_line(warnings, "warning: main.cf, line 3: loop_a: parameter "));
    assert_true(has_line(warnings, "nested more than 100 levels deep"));
    assert_null(strchr(strchr(warnings, '\n') + 1, '\n')); /* just one line */
    free(warnings);
    /* config_directory follows the directory the configuration came from */
    assert_string_equal(config_raw(cfg, "config_directory"), "/etc/postern");
    config_free(cfg);
}

static void test_computed_defaults(void **state)
{
    (void) state;
    struct config *cfg = parse_ok("mydomain = example.org\n");
    const char *host = config_get(cfg, "myhostname");
    assert_non_null(strchr(host, '.'));
    config_free(cfg);

    cfg = parse_ok("myhostname = host-without-dot\n");
    assert_string_equal(config_get(cfg, "mydomain"), "localdomain");
    config_free(cfg);

    /* a default that refers back to itself ends with the fallback */
    cfg = parse_ok("myhostname = $mydomain\n");
    assert_string_equal(config_get(cfg, "myhostname"), "localdomain");
    config_free(cfg);

    cfg = parse_ok("inet_interfaces = loopback-only\n"
                   "inet_protocols = ipv4\n"
                   "mynetworks_style = host\n");
    assert_string_equal(config_get(cfg, "mynetworks"), "127.0.0.1/32");
    config_set(cfg, "mynetworks_style", "subnet", NULL, 0);
    assert_string_equal(config_get(cfg, "mynetworks"), "127.0.0.0/8");
    config_set(cfg, "mynetworks_style", "class", NULL, 0);
    assert_string_equal(config_get(cfg, "mynetworks"), "127.0.0.0/8");
    config_set(cfg, "inet_interfaces", "127.0.0.1", NULL, 0);
    config_set(cfg, "mynetworks_style", "host", NULL, 0);
    assert_string_equal(config_get(cfg, "mynetworks"), "127.0.0.1/32");
    config_free(cfg);

    /* compatibility_level selects defaults */
    cfg = parse_ok("");
    assert_string_equal(config_get(cfg, "smtpd_relay_before_recipient_restrictions"), "no");
    config_set(cfg, "compatibility_level", "3.6", NULL, 0);
    assert_string_equal(config_get(cfg, "smtpd_relay_before_recipient_restrictions"), "yes");
    assert_string_equal(config_get(cfg, "smtpd_tls_fingerprint_digest"), "sha256");
    config_free(cfg);
}

/* ---- registry and typed values ---- */

static void test_registry_sorted_documented_and_valid(void **state)
{
    (void) state;
    size_t n;
    const struct param_def *defs = param_registry(&n);
    assert_true(n > 300);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(defs[i - 1].name, defs[i].name) >= 0)
            fail_msg("registry not sorted at %s", defs[i].name);
        if (defs[i].doc == NULL || strlen(defs[i].doc) < 10)
            fail_msg("%s: no documentation", defs[i].name);
        bool postern = strncmp(defs[i].name, "postern_", 8) == 0;
        if (postern != ((defs[i].flags & PARAM_F_POSTERN) != 0))
            fail_msg("%s: PARAM_F_POSTERN flag and name disagree", defs[i].name);
        if (!postern && !param_is_postfix_name(defs[i].name))
            fail_msg("%s: not a Postfix 3.7 parameter", defs[i].name);
        if (defs[i].type == PARAM_TIME && strchr("smhdw", defs[i].time_unit) == NULL)
            fail_msg("%s: time parameter without a unit", defs[i].name);
        assert_ptr_equal(param_find(defs[i].name), &defs[i]);
    }
    assert_null(param_find("no_such_parameter"));
    assert_true(param_is_postfix_name("biff"));
    assert_true(param_is_postfix_name("virtual_maps")); /* legacy names too */
    assert_true(param_is_postfix_name("postscreen_dnsbl_sites"));
    assert_false(param_is_postfix_name("postern_smtpd_workers"));
    /* the names the compatibility harness sets are registered */
    static const char *const base[] = {"compatibility_level",
                                       "myhostname",
                                       "mydomain",
                                       "myorigin",
                                       "mydestination",
                                       "mynetworks",
                                       "inet_interfaces",
                                       "inet_protocols",
                                       "smtpd_banner",
                                       "biff",
                                       "alias_maps",
                                       "alias_database",
                                       "local_recipient_maps",
                                       "smtpd_authorized_xclient_hosts",
                                       "queue_directory",
                                       "data_directory",
                                       "maillog_file",
                                       "smtpd_sasl_type",
                                       "smtpd_sasl_path",
                                       "smtpd_upstream_proxy_protocol"};
    for (size_t i = 0; i < ARRAY_LEN(base); i++)
        if (param_find(base[i]) == NULL)
            fail_msg("%s is not registered", base[i]);
    assert_true(param_find("biff")->flags & PARAM_F_NOEFFECT);

    /* every default is valid for its type */
    struct config *cfg = parse_ok("");
    struct strlist errors;
    strlist_init(&errors);
    int nerr = config_check(cfg, &errors);
    for (size_t i = 0; i < errors.count; i++)
        print_error("%s\n", errors.items[i]);
    assert_int_equal(nerr, 0);
    strlist_free(&errors);
    config_free(cfg);
}

static void test_suggest(void **state)
{
    (void) state;
    assert_string_equal(param_suggest("smtpd_recipient_restrictoins"),
                        "smtpd_recipient_restrictions");
    assert_string_equal(param_suggest("smtpd_helo_requried"), "smtpd_helo_required");
    assert_string_equal(param_suggest("mynetwork"), "mynetworks");
    assert_null(param_suggest("completely_different_thing"));
}

static void test_value_syntax(void **state)
{
    (void) state;
    bool b;
    assert_int_equal(parse_bool("YES", &b), 0);
    assert_true(b);
    assert_int_equal(parse_bool("no", &b), 0);
    assert_false(b);
    assert_int_equal(parse_bool("true", &b), -1);
    assert_int_equal(parse_bool("", &b), -1);
    long s;
    assert_int_equal(parse_time("300", 's', &s), 0);
    assert_int_equal(s, 300);
    assert_int_equal(parse_time("5", 'd', &s), 0);
    assert_int_equal(s, 5 * 86400);
    assert_int_equal(parse_time("2m", 'd', &s), 0);
    assert_int_equal(s, 120);
    assert_int_equal(parse_time("1h", 's', &s), 0);
    assert_int_equal(s, 3600);
    assert_int_equal(parse_time("1w", 's', &s), 0);
    assert_int_equal(s, 7 * 86400);
    assert_int_equal(parse_time("10x", 's', &s), -1);
    assert_int_equal(parse_time("10ss", 's', &s), -1);
    assert_int_equal(parse_time("-1", 's', &s), -1);
    assert_int_equal(parse_time("s", 's', &s), -1);
    assert_int_equal(parse_time("99999999999999999999", 's', &s), -1);
    assert_int_equal(parse_time("10ms", 's', &s), -1);
    long ms;
    assert_int_equal(parse_time_ms("250ms", 's', &ms), 0);
    assert_int_equal(ms, 250);
    assert_int_equal(parse_time_ms("2", 's', &ms), 0);
    assert_int_equal(ms, 2000);
}

static void test_typed_getters(void **state)
{
    (void) state;
    struct config *cfg = parse_ok("smtpd_delay_reject = No\n"
                                  "smtpd_recipient_limit = 50\n"
                                  "maximal_queue_lifetime = 2\n" /* default unit: days */
                                  "smtpd_timeout = 1m\n"
                                  "message_size_limit = 52428800\n"
                                  "my_list = a, {b c}, d\n");
    assert_false(config_get_bool(cfg, "smtpd_delay_reject"));
    assert_true(config_get_bool(cfg, "smtpd_sasl_authenticated_header") == false);
    assert_int_equal(config_get_int(cfg, "smtpd_recipient_limit"), 50);
    assert_int_equal(config_get_int(cfg, "smtpd_hard_error_limit"), 20); /* ${stress?..} */
    assert_int_equal(config_get_time(cfg, "maximal_queue_lifetime"), 2 * 86400);
    assert_int_equal(config_get_time(cfg, "smtpd_timeout"), 60);
    assert_int_equal(config_get_time_ms(cfg, "smtpd_timeout"), 60000);
    assert_int_equal(config_get_time(cfg, "delay_warning_time"), 0);
    assert_int_equal(config_get_time(cfg, "smtpd_error_sleep_time"), 1);
    assert_int_equal(config_get_size(cfg, "message_size_limit"), 52428800LL);
    struct strlist l;
    strlist_init(&l);
    config_get_list(cfg, "my_list", &l);
    assert_int_equal(l.count, 3);
    assert_string_equal(l.items[1], "{b c}");
    strlist_free(&l);
    /* stress selects the short timeouts */
    config_set(cfg, "stress", "yes", NULL, 0);
    assert_int_equal(config_get_int(cfg, "smtpd_hard_error_limit"), 1);
    assert_int_equal(config_get_time(cfg, "smtpd_starttls_timeout"), 10);
    config_free(cfg);
}

static void test_check_reports_file_and_line(void **state)
{
    (void) state;
    struct config *cfg = parse_ok("myhostname = mx.example.com\n"
                                  "smtpd_delay_reject = maybe\n"
                                  "smtpd_recipient_limit = lots\n"
                                  "smtpd_timeout = 10 minutes\n"
                                  "message_size_limit = 10M\n"
                                  "smtpd_hard_error_limit = 0\n"
                                  "access_map_reject_code = 250\n"
                                  "smtpd_client_restrictions = check_client_access {inline:{a=b}\n"
                                  "smtpd_banner = $myhostname ESMTP $\n"
                                  "user_defined = ${broken\n"
                                  "smtpd_helo_required = $my_answer\n"
                                  "my_answer = YES\n");
    struct strlist errors;
    strlist_init(&errors);
    assert_int_equal(config_check(cfg, &errors), 9);
    const char *const want[] = {
        "main.cf, line 7: access_map_reject_code value 250 is out of range (400..599)",
        "main.cf, line 5: bad size value for message_size_limit: 10M",
        "main.cf, line 9: smtpd_banner: '$' at the end (write $$ for a literal '$') in "
        "\"$myhostname ESMTP $\"",
        "main.cf, line 8: smtpd_client_restrictions: missing '}' in "
        "\"check_client_access {inline:{a=b}\"",
        "main.cf, line 2: bad boolean value for smtpd_delay_reject: maybe",
        "main.cf, line 6: smtpd_hard_error_limit value 0 is out of range (at least 1)",
        "main.cf, line 3: bad integer value for smtpd_recipient_limit: lots",
        "main.cf, line 4: bad time value for smtpd_timeout: 10 minutes (use a number with an "
        "optional unit s, m, h, d or w)",
        "main.cf, line 10: user_defined: missing '}' in \"${broken\"",
    };
    for (size_t i = 0; i < ARRAY_LEN(want); i++)
        assert_string_equal(errors.items[i], want[i]);
    strlist_free(&errors);

    /* a bad value that comes from a default through a set parameter */
    config_free(cfg);
    cfg = parse_ok("smtpd_hard_error_limit = ${stress?{x}:{20}}\n"
                   "stress = yes\n"
                   "smtpd_per_record_deadline = maybe\n");
    strlist_init(&errors);
    assert_int_equal(config_check(cfg, &errors), 2);
    assert_string_equal(errors.items[0], "main.cf, line 1: bad integer value for "
                                         "smtpd_hard_error_limit: x");
    assert_string_equal(errors.items[1], "/etc/postern/main.cf (default): bad boolean value for "
                                         "smtpd_per_request_deadline: maybe");
    strlist_free(&errors);
    config_free(cfg);
}

/* ---- unused names ---- */

static void test_warn_unused(void **state)
{
    (void) state;
    struct config *cfg = parse_ok("smtpd_recipient_restrictoins = permit\n"
                                  "my_helpers = permit_mynetworks\n"
                                  "smtpd_recipient_restrictions = $my_helpers, reject\n"
                                  "smtpd_restriction_classes = strict_class\n"
                                  "strict_class = reject\n"
                                  "something_unrelated = 1\n"
                                  "virtual_maps = hash:/x\n"
                                  "postscreen_dnsbl_sites = a\n"
                                  "postscreen_dnsbl_sites = b\n"
                                  "maildrop_destination_recipient_limit = 1\n"
                                  "biff = no\n"
                                  "smtpd_banner = $myhostname $not_defined_anywhere\n");
    struct master_config master = {0};
    struct strlist errors;
    strlist_init(&errors);
    const char *mcf = "maildrop unix - n n - - pipe flags=DRhu argv=/bin/true\n"
                      "smtp inet n - n - - smtpd -o smtpd_client_restrictions=$mua_only\n"
                      "  -o bogus_override=1 -o soft_bounce=yes -o virtual_maps=x\n";
    assert_int_equal(master_parse_text(mcf, strlen(mcf), "master.cf", &master, &errors), 0);
    test_capture_begin();
    config_warn_unused(cfg, &master);
    config_warn_unused(cfg, &master); /* once per process */
    char *w = test_capture_end();
    assert_string_equal(
        w, "warning: main.cf, line 1: unused parameter: smtpd_recipient_restrictoins=permit "
           "(did you mean smtpd_recipient_restrictions?)\n"
           "warning: main.cf, line 6: unused parameter: something_unrelated=1\n"
           "warning: main.cf, line 7: virtual_maps: Postfix parameter that postern does not "
           "implement; ignored\n"
           "warning: main.cf, line 9: postscreen_dnsbl_sites: Postfix parameter that postern "
           "does not implement; ignored\n"
           "warning: main.cf, line 10: maildrop_destination_recipient_limit: Postfix parameter "
           "that postern does not implement; ignored\n"
           "warning: /etc/postern/main.cf: undefined parameter: not_defined_anywhere\n"
           "warning: /etc/postern/main.cf: undefined parameter: mua_only\n"
           "warning: master.cf, line 2: unused parameter: bogus_override=1\n");
    free(w);

    struct strlist names;
    strlist_init(&names);
    config_user_names(cfg, &master, &names);
    assert_int_equal(names.count, 5);
    assert_string_equal(names.items[0], "maildrop_destination_recipient_limit");
    assert_string_equal(names.items[1], "my_helpers");
    assert_string_equal(names.items[2], "postscreen_dnsbl_sites");
    assert_string_equal(names.items[3], "strict_class");
    assert_string_equal(names.items[4], "virtual_maps");
    strlist_free(&names);
    master_free(&master);
    strlist_free(&errors);
    config_free(cfg);
}

static void test_compat_base_is_quiet(void **state)
{
    (void) state;
    struct config *cfg = parse_ok("compatibility_level = 3.6\n"
                                  "myhostname = mx.postern.test\n"
                                  "mydomain = postern.test\n"
                                  "myorigin = $myhostname\n"
                                  "mydestination = $myhostname, localhost.$mydomain, localhost\n"
                                  "mynetworks = 127.0.0.0/8\n"
                                  "inet_interfaces = 127.0.0.1\n"
                                  "inet_protocols = ipv4\n"
                                  "smtpd_banner = $myhostname ESMTP\n"
                                  "biff = no\n"
                                  "alias_maps =\n"
                                  "alias_database =\n"
                                  "local_recipient_maps =\n"
                                  "smtpd_authorized_xclient_hosts = 127.0.0.1\n");
    test_capture_begin();
    config_warn_unused(cfg, NULL);
    struct strlist errors;
    strlist_init(&errors);
    assert_int_equal(config_check(cfg, &errors), 0);
    char *w = test_capture_end();
    assert_string_equal(w, "");
    free(w);
    strlist_free(&errors);
    config_free(cfg);
}

/* ---- master.cf ---- */

static void test_master_parse(void **state)
{
    (void) state;
    const char *text = "# comment\n"
                       "smtp      inet  n       -       y       -       -       smtpd\n"
                       "  -o smtpd_tls_security_level=may\n"
                       "\n"
                       "# comment inside\n"
                       "     -o { smtpd_client_restrictions = permit_mynetworks, reject }\n"
                       "127.0.0.1:10025 inet n - n - 10 smtpd -oa=b -o{c=d} -v -n name\n"
                       "  -o e=f tail -o g=h\n"
                       "pickup    unix  n       -       y       60?     1       pickup\n"
                       "maildrop  unix  -       n       n       -       -       pipe\n"
                       "  flags=DRhu user=vmail argv=/usr/bin/maildrop -d ${recipient}\n"
                       "s3 inet n - n - - smtpd -- -o c=d {x y}\n";
    struct master_config m = {0};
    struct strlist errors;
    strlist_init(&errors);
    assert_int_equal(master_parse_text(text, strlen(text), "master.cf", &m, &errors), 0);
    assert_int_equal(m.count, 5);
    const struct master_service *s = &m.services[0];
    assert_string_equal(s->name, "smtp");
    assert_string_equal(s->type, "inet");
    assert_string_equal(s->private_, "n");
    assert_string_equal(s->unpriv, "-");
    assert_string_equal(s->chroot, "y");
    assert_string_equal(s->wakeup, "-");
    assert_string_equal(s->maxproc, "-");
    assert_string_equal(s->command, "smtpd");
    assert_int_equal(s->line, 2);
    assert_int_equal(s->overrides.count, 2);
    assert_string_equal(s->overrides.items[0], "smtpd_tls_security_level=may");
    assert_string_equal(s->overrides.items[1],
                        "smtpd_client_restrictions=permit_mynetworks, reject");
    assert_string_equal(s->argv.items[1],
                        "-o {smtpd_client_restrictions=permit_mynetworks, reject}");
    assert_int_equal(s->args.count, 0);

    s = &m.services[1];
    assert_string_equal(s->name, "127.0.0.1:10025");
    assert_string_equal(s->maxproc, "10");
    assert_int_equal(s->line, 7);
    assert_int_equal(s->overrides.count, 3);
    assert_string_equal(s->overrides.items[0], "a=b");
    assert_string_equal(s->overrides.items[1], "c=d");
    assert_string_equal(s->overrides.items[2], "e=f");
    /* options end at "tail": the -o after it is an argument */
    assert_int_equal(s->args.count, 6);
    assert_string_equal(s->args.items[0], "-v");
    assert_string_equal(s->args.items[1], "-n");
    assert_string_equal(s->args.items[2], "name");
    assert_string_equal(s->args.items[3], "tail");
    assert_string_equal(s->args.items[4], "-o");
    assert_string_equal(s->args.items[5], "g=h");
    char *argv = strlist_join(&s->argv, "|");
    assert_string_equal(argv, "-o a=b|-o c=d|-v|-n|name|-o e=f|tail|-o|g=h");
    free(argv);

    assert_string_equal(m.services[2].wakeup, "60?");
    assert_string_equal(m.services[3].command, "pipe");
    assert_int_equal(m.services[3].args.count, 5);
    assert_string_equal(m.services[3].args.items[4], "${recipient}");
    assert_int_equal(m.services[4].overrides.count, 0);
    argv = strlist_join(&m.services[4].argv, "|");
    assert_string_equal(argv, "--|-o|c=d|x y");
    free(argv);
    master_free(&m);
    strlist_free(&errors);
}

static void test_master_errors(void **state)
{
    (void) state;
    static const char *const cases[][2] = {
        {"smtp inet n - n -\n", "master.cf, line 1: bad field count 6"},
        {"smtp bogus n - n - - smtpd\n", "master.cf, line 1: bad type field \"bogus\""},
        {"smtp inet x - n - - smtpd\n", "master.cf, line 1: bad private field \"x\""},
        {"smtp inet n - n - abc smtpd\n", "master.cf, line 1: bad maxproc field \"abc\""},
        {"smtp inet n - n 1x - smtpd\n", "master.cf, line 1: bad wakeup field \"1x\""},
        {"# c\nsmtp inet n - n - - smtpd -o\n", "master.cf, line 2: -o at the end of the line"},
        {"smtp inet n - n - - smtpd -o a = b\n", "master.cf, line 1: -o a: expected name=value"},
        {"smtp inet n - n - - smtpd -o =b\n", "master.cf, line 1: -o =b: bad parameter name"},
        {"smtp inet n - n - - smtpd -o {a=b\n", "master.cf, line 1: missing '}'"},
        {"  -o x=y\n", "master.cf, line 1: continuation line (starting with whitespace) "
                       "without a service entry before it"},
        {"smtp inet n - n - - smtpd\nsmtp inet n - n - - smtpd\n",
         "master.cf, line 2: duplicate service smtp/inet (first at line 1)"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct master_config m = {0};
        struct strlist errors;
        strlist_init(&errors);
        int rc = master_parse_text(cases[i][0], strlen(cases[i][0]), "master.cf", &m, &errors);
        if (rc != -1 || errors.count != 1 || strstr(errors.items[0], cases[i][1]) == NULL)
            fail_msg("master.cf \"%s\": rc %d, error \"%s\", want \"%s\"", cases[i][0], rc,
                     errors.count ? errors.items[0] : "(none)", cases[i][1]);
        master_free(&m);
        strlist_free(&errors);
    }
    /* a missing master.cf is fine when allowed */
    struct master_config m = {0};
    struct strlist errors;
    strlist_init(&errors);
    assert_int_equal(master_load("/nonexistent/master.cf", true, &m, &errors), 0);
    assert_int_equal(master_load("/nonexistent/master.cf", false, &m, &errors), -1);
    assert_int_equal(errors.count, 1);
    strlist_free(&errors);
}

static void test_master_service_layer(void **state)
{
    (void) state;
    struct config *main_cfg = parse_ok("myhostname = mx.example.com\n"
                                       "smtpd_banner = $myhostname ESMTP\n"
                                       "smtpd_delay_reject = no\n");
    const char *text = "submission inet n - n - - smtpd -o myhostname=sub.example.com\n"
                       "  -o { smtpd_client_restrictions = permit_sasl_authenticated, reject }\n"
                       "  -o smtpd_delay_reject=maybe -o unknown_thing=1\n";
    struct master_config m = {0};
    struct strlist errors;
    strlist_init(&errors);
    assert_int_equal(master_parse_text(text, strlen(text), "master.cf", &m, &errors), 0);
    test_capture_begin();
    struct config *svc = master_service_config(main_cfg, &m.services[0]);
    char *w = test_capture_end();
    assert_string_equal(w, "warning: master.cf, line 1: unused parameter: unknown_thing=1\n");
    free(w);
    assert_string_equal(config_get(svc, "smtpd_banner"), "sub.example.com ESMTP");
    assert_string_equal(config_get(main_cfg, "smtpd_banner"), "mx.example.com ESMTP");
    assert_string_equal(config_get(svc, "smtpd_client_restrictions"),
                        "permit_sasl_authenticated, reject");
    assert_string_equal(config_get(svc, "mydomain"), "example.com");
    assert_string_equal(config_entry_find(svc, "myhostname")->file, "master.cf");
    assert_string_equal(config_entry_find(svc, "smtpd_banner")->file, "main.cf");
    assert_int_equal(config_check(svc, &errors), 1);
    assert_string_equal(errors.items[0],
                        "master.cf, line 1: bad boolean value for smtpd_delay_reject: maybe");
    config_free(svc);
    master_free(&m);
    strlist_free(&errors);
    config_free(main_cfg);
}

/* ---- editing ---- */

static char *read_text(const char *path)
{
    struct buf b;
    buf_init(&b);
    assert_int_equal(file_read_all(path, &b), 0);
    return buf_steal(&b);
}

static void test_edit_keeps_comments_and_layout(void **state)
{
    (void) state;
    const char *orig = "# top comment\n"
                       "myhostname = a\n"
                       "mydomain = b\n"
                       "  # indented comment\n"
                       "myhostname = c\n"
                       "   cont1\n"
                       "\n"
                       "# keep\n"
                       "smtpd_banner = x\n"
                       "# c\n"
                       "    y\n"
                       "\n"
                       "  z\n"
                       "relay_domains = q";
    char *path = test_write_file("main.cf", orig);
    struct strlist set, errors;
    strlist_init(&set);
    strlist_init(&errors);
    strlist_add(&set, "myhostname=new");
    strlist_add(&set, "mynetworks = 10.0.0.0/8");
    strlist_add(&set, " relay_domains=  x  y");
    strlist_add(&set, "smtpd_banner=z");
    test_capture_begin();
    assert_int_equal(config_edit_file(path, &set, &errors), 0);
    char *w = test_capture_end();
    assert_true(has_line(w, "multiple entries for \"myhostname\""));
    free(w);
    char *text = read_text(path);
    assert_string_equal(text, "# top comment\n"
                              "myhostname = new\n"
                              "mydomain = b\n"
                              "  # indented comment\n"
                              "myhostname = new\n"
                              "\n"
                              "# keep\n"
                              "smtpd_banner = z\n"
                              "# c\n"
                              "\n"
                              "relay_domains = x  y\n"
                              "mynetworks = 10.0.0.0/8\n");
    free(text);

    /* -X removes entries with their continuation lines */
    struct strlist names;
    strlist_init(&names);
    strlist_add(&names, "mydomain");
    strlist_add(&names, "myhostname");
    strlist_add(&names, "not_there");
    test_capture_begin();
    assert_int_equal(config_edit_remove(path, &names, &errors), 0);
    w = test_capture_end();
    assert_true(has_line(w, "multiple entries for \"myhostname\""));
    free(w);
    text = read_text(path);
    assert_string_equal(text, "# top comment\n"
                              "  # indented comment\n"
                              "\n"
                              "# keep\n"
                              "smtpd_banner = z\n"
                              "# c\n"
                              "\n"
                              "relay_domains = x  y\n"
                              "mynetworks = 10.0.0.0/8\n");
    free(text);

    /* the result parses back */
    struct config *cfg = config_load_main(test_tmpdir(), &errors);
    assert_non_null(cfg);
    assert_string_equal(config_raw(cfg, "relay_domains"), "x  y");
    config_free(cfg);

    /* bad requests change nothing */
    strlist_free(&set);
    strlist_init(&set);
    strlist_add(&set, "fine=1");
    strlist_add(&set, "no equals");
    assert_int_equal(config_edit_file(path, &set, &errors), -1);
    assert_int_equal(errors.count, 1);
    assert_string_equal(errors.items[0], "missing '=' after parameter name: \"no equals\"");
    text = read_text(path);
    assert_null(strstr(text, "fine"));
    free(text);
    strlist_free(&set);
    strlist_free(&names);
    strlist_free(&errors);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_assignments_comments_continuations),
        cmocka_unit_test(test_seed_004_restrictions_verbatim),
        cmocka_unit_test(test_parse_errors_name_file_and_line),
        cmocka_unit_test(test_expand_forms),
        cmocka_unit_test(test_expand_errors),
        cmocka_unit_test(test_expand_limits_and_names),
        cmocka_unit_test(test_config_expansion_and_cache),
        cmocka_unit_test(test_computed_defaults),
        cmocka_unit_test(test_registry_sorted_documented_and_valid),
        cmocka_unit_test(test_suggest),
        cmocka_unit_test(test_value_syntax),
        cmocka_unit_test(test_typed_getters),
        cmocka_unit_test(test_check_reports_file_and_line),
        cmocka_unit_test(test_warn_unused),
        cmocka_unit_test(test_compat_base_is_quiet),
        cmocka_unit_test(test_master_parse),
        cmocka_unit_test(test_master_errors),
        cmocka_unit_test(test_master_service_layer),
        cmocka_unit_test(test_edit_keeps_comments_and_layout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
