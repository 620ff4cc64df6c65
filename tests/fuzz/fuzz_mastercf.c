/*
 * fuzz_mastercf - libFuzzer target for master.cf text: master_parse_text,
 * then for each service the override layer (master_service_config), its
 * config_check and the expansion of every override, as the server does at
 * start-up.  Checks what callers rely on: eight non-empty fields per
 * service, overrides of the form name=value with a non-empty name.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct buf warnings;
    buf_reset(&warnings);
    log_capture(&warnings);

    struct config *main_cfg = config_new("/nonexistent/postern", NULL);
    config_set(main_cfg, "inet_interfaces", "loopback-only", NULL, 0);
    struct master_config m = {0};
    struct strlist errors;
    strlist_init(&errors);
    int rc = master_parse_text((const char *) data, size, "master.cf", &m, &errors);
    if ((rc == 0) != (errors.count == 0))
        abort();
    for (size_t i = 0; i < m.count; i++) {
        const struct master_service *s = &m.services[i];
        const char *fields[] = {s->name,   s->type,   s->private_, s->unpriv,
                                s->chroot, s->wakeup, s->maxproc,  s->command};
        for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++)
            if (fields[f] == NULL || (f > 0 && fields[f][0] == 0))
                abort();
        for (size_t j = 0; j < s->overrides.count; j++) {
            const char *eq = strchr(s->overrides.items[j], '=');
            if (eq == NULL || eq == s->overrides.items[j])
                abort();
        }
        struct config *svc = master_service_config(main_cfg, s);
        config_check(svc, &errors);
        for (size_t j = 0; j < s->overrides.count; j++) {
            char *name =
                xstrndup(s->overrides.items[j],
                         (size_t) (strchr(s->overrides.items[j], '=') - s->overrides.items[j]));
            (void) strlen(config_get(svc, name));
            free(name);
        }
        config_free(svc);
    }
    config_warn_unused(main_cfg, &m);
    master_free(&m);
    strlist_free(&errors);
    config_free(main_cfg);
    log_capture(NULL);
    return 0;
}
