/*
 * fuzz_dns_rdata - libFuzzer target for dns_rdata_decode(), the decoder of
 * record data received from DNS servers.  The first input byte picks the
 * record type, the rest is the rdata.  Besides memory errors (ASan) it
 * checks what callers rely on: a result exactly when the function says so,
 * a NUL-terminated string of bounded length, names without control
 * characters, an MX preference that fits 16 bits.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const enum dns_type types[] = {
    DNS_T_A, DNS_T_NS, DNS_T_CNAME, DNS_T_PTR, DNS_T_MX, DNS_T_TXT, DNS_T_AAAA,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    enum dns_type type = types[data[0] % ARRAY_LEN(types)];
    const uint8_t *rdata = data + 1;
    size_t len = size - 1;
    unsigned pref = 12345;
    char *out = (char *) 1;

    int rc = dns_rdata_decode(type, rdata, len, &pref, &out);
    if (rc == -1) {
        if (out != NULL || pref != 0)
            abort();
        return 0;
    }
    if (rc != 0 || out == NULL)
        abort();
    size_t n = strlen(out);
    switch (type) {
    case DNS_T_TXT:
        if (n > len) /* no more text than bytes, no embedded NUL lost */
            abort();
        break;
    case DNS_T_A:
    case DNS_T_AAAA:
        if (n == 0 || n > 45)
            abort();
        break;
    default:
        if (n == 0 || n > DNS_NAME_TEXT_MAX)
            abort();
        for (size_t i = 0; i < n; i++)
            if ((unsigned char) out[i] <= 0x20 || (unsigned char) out[i] >= 0x7f)
                abort();
        break;
    }
    if (type == DNS_T_MX ? pref > 0xffff : pref != 0)
        abort();
    free(out);
    return 0;
}
