/*
 * fuzz_sasl - libFuzzer target for the client-facing SASL parsers
 * (src/sasl/mech.c): the input is one AUTH response line.  Strict base64
 * must round-trip exactly (one encoding per message, so the re-encoding of
 * what decoded equals the input); a decoded PLAIN message must split into
 * fields that lie inside it; the raw input is also tried as a PLAIN
 * message, since the back ends see decoded bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sasl/sasl_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_plain(const char *msg, size_t len)
{
    struct sasl_plain p;
    const char *why = NULL;
    int rc = sasl_plain_parse(msg, len, &p, &why);
    if (rc != 0) {
        if (why == NULL)
            abort();
        return;
    }
    if (p.authzid != msg || p.authcid != msg + p.authzid_len + 1 ||
        p.passwd != p.authcid + p.authcid_len + 1 ||
        p.authzid_len + p.authcid_len + p.passwd_len + 2 != len || p.authcid_len == 0 ||
        p.passwd_len == 0 || memchr(p.passwd, 0, p.passwd_len) != NULL ||
        p.authcid_len > SASL_AUTHID_MAX || p.passwd_len > SASL_PASSWORD_MAX)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = xstrndup((const char *) data, size);
    size_t len = strlen(line); /* an SMTP line has no NUL */
    struct buf out;
    buf_init(&out);
    int rc = sasl_b64_decode(line, len, SASL_PASSWORD_MAX * 2, &out);
    if (rc == 0) {
        char *again = sasl_b64_encode(out.data ? out.data : "", out.len);
        if (strcmp(again, line) != 0)
            abort();
        free(again);
        check_plain(out.data ? out.data : "", out.len);
    } else if (rc != -1 && rc != -2) {
        abort();
    }
    check_plain((const char *) data, size);
    buf_free(&out);
    free(line);
    return 0;
}
