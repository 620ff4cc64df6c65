/*
 * proxy - the HAProxy PROXY protocol header in front of a session
 * (smtpd_upstream_proxy_protocol = haproxy): version 1 ("PROXY TCP4 src
 * dst sport dport\r\n", at most 107 bytes) and version 2 (binary, 16-byte
 * header plus addresses).  The client's address and port come from it.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_int.h"

static const unsigned char v2_sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                         0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

static int parse_v1(const unsigned char *data, size_t len, size_t *consumed, char *addr,
                    size_t addr_len, unsigned *port, char *saddr, size_t saddr_len, unsigned *sport,
                    const char **why)
{
    const unsigned char *nl = memchr(data, '\n', len);
    if (nl == NULL) {
        *why = "missing end of line";
        return len >= 107 ? -1 : 0;
    }
    size_t n = (size_t) (nl - data);
    if (n < 2 || data[n - 1] != '\r' || n > 106) {
        *why = "bad end of line";
        return -1;
    }
    char line[108];
    memcpy(line, data, n - 1);
    line[n - 1] = 0;
    char proto[8], src[64], dst[64];
    unsigned sp, dp;
    if (strcmp(line, "PROXY UNKNOWN") == 0 || strncmp(line, "PROXY UNKNOWN ", 14) == 0) {
        *why = "unsupported protocol type";
        return -1;
    }
    if (sscanf(line, "PROXY %7s %63s %63s %u %u", proto, src, dst, &sp, &dp) != 5) {
        *why = "bad header syntax";
        return -1;
    }
    int fam = strcmp(proto, "TCP4") == 0 ? AF_INET : strcmp(proto, "TCP6") == 0 ? AF_INET6 : 0;
    unsigned char tmp[16];
    if (fam == 0) {
        *why = "unsupported protocol type";
        return -1;
    }
    if (inet_pton(fam, src, tmp) != 1 || inet_pton(fam, dst, tmp) != 1) {
        *why = "bad or missing client address";
        return -1;
    }
    if (sp > 65535 || dp > 65535) {
        *why = "bad or missing client port";
        return -1;
    }
    snprintf(addr, addr_len, "%s", src);
    snprintf(saddr, saddr_len, "%s", dst);
    *port = sp;
    *sport = dp;
    *consumed = n + 1;
    return 1;
}

static int parse_v2(const unsigned char *data, size_t len, size_t *consumed, char *addr,
                    size_t addr_len, unsigned *port, char *saddr, size_t saddr_len, unsigned *sport,
                    const char **why)
{
    if (len < 16)
        return 0;
    if ((data[12] & 0xF0) != 0x20) {
        *why = "unsupported protocol version";
        return -1;
    }
    size_t total = 16 + ((size_t) data[14] << 8 | data[15]);
    if (total > SMTP_PROXY_HEADER_MAX) {
        *why = "header too long";
        return -1;
    }
    if (len < total)
        return 0;
    unsigned cmd = data[12] & 0x0F, fam = data[13] >> 4, proto = data[13] & 0x0F;
    *consumed = total;
    if (cmd == 0) /* LOCAL: the proxy's own connection (a health check) */
        return 2;
    if (cmd != 1) {
        *why = "unsupported command";
        return -1;
    }
    if (proto != 1) {
        *why = "unsupported protocol type";
        return -1;
    }
    const unsigned char *a = data + 16;
    if (fam == 1 && total >= 16 + 12) {
        inet_ntop(AF_INET, a, addr, (socklen_t) addr_len);
        inet_ntop(AF_INET, a + 4, saddr, (socklen_t) saddr_len);
        *port = (unsigned) (a[8] << 8 | a[9]);
        *sport = (unsigned) (a[10] << 8 | a[11]);
        return 1;
    }
    if (fam == 2 && total >= 16 + 36) {
        inet_ntop(AF_INET6, a, addr, (socklen_t) addr_len);
        inet_ntop(AF_INET6, a + 16, saddr, (socklen_t) saddr_len);
        *port = (unsigned) (a[32] << 8 | a[33]);
        *sport = (unsigned) (a[34] << 8 | a[35]);
        return 1;
    }
    *why = "unsupported address family";
    return -1;
}

int proxy_parse(const unsigned char *data, size_t len, size_t *consumed, char *addr,
                size_t addr_len, unsigned *port, char *server_addr, size_t server_len,
                unsigned *server_port, const char **why)
{
    *why = NULL;
    if (len == 0)
        return 0;
    if (data[0] == 0x0D) {
        size_t m = len < 12 ? len : 12;
        if (memcmp(data, v2_sig, m) != 0) {
            *why = "bad protocol signature";
            return -1;
        }
        if (len < 12)
            return 0;
        return parse_v2(data, len, consumed, addr, addr_len, port, server_addr, server_len,
                        server_port, why);
    }
    const char *v1 = "PROXY ";
    size_t m = len < 6 ? len : 6;
    if (memcmp(data, v1, m) != 0) {
        *why = "missing protocol header";
        return -1;
    }
    return parse_v1(data, len, consumed, addr, addr_len, port, server_addr, server_len, server_port,
                    why);
}
