/*
 * fuzz_address - libFuzzer target for envelope addresses: the text between
 * < and > as a client sends it goes through policy_address_internal()
 * (source route, quotes) and then resolve_address() (the address class
 * and routing, src/policy/resolve.c), under one of sixteen configurations
 * that the first input byte picks: allow_percent_hack, swap_bangpath,
 * resolve_dequoted_address and resolve_null_domain on or off.  The local,
 * virtual and relay domains are fixed lists (no tables: nothing can fail).
 *
 * Besides memory errors it checks what the restrictions rely on: the
 * internal form is never longer than the input; the result is a lower-case
 * user@domain with exactly one address class; a syntax error is in the
 * default class; the local class goes with a local domain and the others
 * with a domain that is not local.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT 2048

static struct policy *policies[16];
static struct config *configs[16];
static struct buf warnings;

static void setup(void)
{
    log_capture(&warnings);
    for (int v = 0; v < 16; v++) {
        char *text = xasprintf("compatibility_level = 3.6\n"
                               "myhostname = mx.postern.test\n"
                               "mydomain = postern.test\n"
                               "mydestination = $myhostname, localhost, postern.test\n"
                               "virtual_alias_domains = alias.example\n"
                               "virtual_mailbox_domains = mailbox.example\n"
                               "relay_domains = relay.example\n"
                               "inet_interfaces = 127.0.0.1\n"
                               "proxy_interfaces = 192.0.2.25\n"
                               "inet_protocols = ipv4\n"
                               "alias_maps =\n"
                               "allow_percent_hack = %s\n"
                               "swap_bangpath = %s\n"
                               "resolve_dequoted_address = %s\n"
                               "resolve_null_domain = %s\n",
                               v & 1 ? "no" : "yes", v & 2 ? "no" : "yes", v & 4 ? "no" : "yes",
                               v & 8 ? "yes" : "no");
        struct strlist errors;
        strlist_init(&errors);
        configs[v] = config_new("/nonexistent/postern", NULL);
        if (config_parse_text(configs[v], text, strlen(text), "main.cf", &errors) != 0)
            abort();
        policies[v] = policy_compile(configs[v], &errors);
        if (policies[v] == NULL) {
            for (size_t i = 0; i < errors.count; i++)
                fprintf(stderr, "%s\n", errors.items[i]);
            abort();
        }
        strlist_free(&errors);
        free(text);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > FUZZ_MAX_INPUT)
        return 0;
    if (policies[0] == NULL)
        setup();
    buf_reset(&warnings);
    struct policy *p = policies[data[0] % 16];
    char *addr = strndup((const char *) data + 1, size - 1);
    if (addr == NULL)
        abort();

    char *internal = policy_address_internal(addr);
    if (strlen(internal) > strlen(addr))
        abort();

    struct resolved r;
    if (resolve_address(p, internal, &r) != 0)
        abort(); /* no tables: nothing can fail */
    if (r.recipient == NULL)
        abort();
    const char *at = strrchr(r.recipient, '@');
    if (at == NULL)
        abort();
    for (const char *c = r.recipient; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            abort();
    unsigned cls = r.flags & RESOLVE_CLASS_MASK;
    if (cls == 0 || (cls & (cls - 1)) != 0)
        abort(); /* exactly one class */
    if ((r.flags & RESOLVE_FLAG_ERROR) && cls != RESOLVE_CLASS_DEFAULT)
        abort();
    if (!(r.flags & RESOLVE_FLAG_ERROR)) {
        int local = resolve_local(p, at + 1);
        if (local < 0 || (local > 0) != (cls == RESOLVE_CLASS_LOCAL))
            abort();
    }
    resolved_free(&r);

    /* the address as the client wrote it resolves too */
    if (resolve_address(p, addr, &r) != 0 || r.recipient == NULL)
        abort();
    resolved_free(&r);
    free(internal);
    free(addr);
    return 0;
}
