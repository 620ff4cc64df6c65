/*
 * rdata - decode one record's rdata, as libunbound delivers it (wire
 * format, RFC 1035 section 3.3; names already decompressed), into the
 * presentation form the rest of postern uses: A (RFC 1035 3.4.1) and AAAA
 * (RFC 3596) as text addresses; MX (RFC 1035 3.3.9) as a 16-bit preference
 * and a name; NS, PTR and CNAME as a name; TXT (RFC 1035 3.3.14) as the
 * concatenation of its character-strings.
 *
 * Names come out without the trailing dot ("." for the root), letter case
 * as received, with '.' and '\' inside a label and bytes outside printable
 * ASCII escaped as RFC 1035 section 5.1 does ("\." "\\" "\DDD").  TXT text
 * keeps its bytes except NUL, which becomes '?' (the result is a C
 * string); whoever logs or replies with it passes it through
 * str_printable().  Every length is checked against the rdata length
 * before it is used; any mismatch (short data, trailing bytes, a
 * compression pointer, a name over 255 octets) rejects the record.
 */
#include <arpa/inet.h>
#include <string.h>

#include "dns/dns_int.h"

#define NAME_WIRE_MAX 255 /* RFC 1035 2.3.4, including the root label */
#define LABEL_MAX     63

/*
 * decode_name - the uncompressed wire name at data[*pos..len) appended to
 * out in presentation form; *pos advanced past it.  -1 if malformed.
 */
static int decode_name(const uint8_t *data, size_t len, size_t *pos, struct buf *out)
{
    size_t p = *pos, wire = 0;
    size_t start = out->len;
    for (;;) {
        if (p >= len)
            return -1;
        unsigned label = data[p++];
        wire += 1 + label;
        if (wire > NAME_WIRE_MAX)
            return -1;
        if (label == 0)
            break;
        if (label > LABEL_MAX) /* 0xC0 pointers and the reserved 0x40/0x80 forms */
            return -1;
        if (label > len - p)
            return -1;
        if (out->len > start)
            buf_putc(out, '.');
        for (unsigned i = 0; i < label; i++) {
            unsigned char c = data[p + i];
            if (c == '.' || c == '\\') {
                buf_putc(out, '\\');
                buf_putc(out, c);
            } else if (c <= 0x20 || c >= 0x7f) {
                buf_printf(out, "\\%03u", c);
            } else {
                buf_putc(out, c);
            }
        }
        p += label;
    }
    if (out->len == start)
        buf_putc(out, '.');
    *pos = p;
    return 0;
}

static int decode_txt(const uint8_t *data, size_t len, struct buf *out)
{
    size_t p = 0;
    if (len == 0) /* at least one character-string */
        return -1;
    while (p < len) {
        size_t n = data[p++];
        if (n > len - p)
            return -1;
        for (size_t i = 0; i < n; i++)
            buf_putc(out, data[p + i] ? (char) data[p + i] : '?');
        p += n;
    }
    return 0;
}

int dns_rdata_decode(enum dns_type type, const uint8_t *rdata, size_t len, unsigned *pref,
                     char **out)
{
    struct buf b;
    size_t pos = 0;
    char addr[INET6_ADDRSTRLEN];
    int rc = -1;

    *pref = 0;
    *out = NULL;
    if (rdata == NULL && len > 0)
        return -1;
    buf_init(&b);
    switch (type) {
    case DNS_T_A:
        if (len == 4 && inet_ntop(AF_INET, rdata, addr, sizeof(addr)) != NULL) {
            buf_puts(&b, addr);
            rc = 0;
        }
        break;
    case DNS_T_AAAA:
        if (len == 16 && inet_ntop(AF_INET6, rdata, addr, sizeof(addr)) != NULL) {
            buf_puts(&b, addr);
            rc = 0;
        }
        break;
    case DNS_T_MX:
        if (len < 3)
            break;
        *pref = (unsigned) rdata[0] << 8 | rdata[1];
        pos = 2;
        if (decode_name(rdata, len, &pos, &b) == 0 && pos == len)
            rc = 0;
        break;
    case DNS_T_NS:
    case DNS_T_PTR:
    case DNS_T_CNAME:
        if (decode_name(rdata, len, &pos, &b) == 0 && pos == len)
            rc = 0;
        break;
    case DNS_T_TXT: rc = decode_txt(rdata, len, &b); break;
    }
    if (rc == -1) {
        buf_free(&b);
        *pref = 0;
        return -1;
    }
    *out = buf_steal(&b);
    return 0;
}
