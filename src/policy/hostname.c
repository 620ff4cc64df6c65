/*
 * hostname - syntax of host names and addresses as Postfix judges them
 * (RFC 1035 labels, with '_' tolerated; dotted-quad IPv4; IPv6 text; the
 * "[addr]" and "[IPv6:addr]" literals of RFC 5321).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy_int.h"

#define HOSTNAME_MAX 255
#define LABEL_MAX    63

bool valid_hostname(const char *name)
{
    size_t label = 0;
    bool non_numeric = false;
    const char *cp;
    if (*name == 0)
        return false;
    for (cp = name; *cp; cp++) {
        unsigned char ch = (unsigned char) *cp;
        if (isalnum(ch) || ch == '_') {
            label++;
            if (label > LABEL_MAX)
                return false;
            if (!isdigit(ch))
                non_numeric = true;
        } else if (ch == '.') {
            if (label == 0 || cp[1] == 0)
                return false;
            label = 0;
        } else if (ch == '-') {
            non_numeric = true;
            label++;
            if (label == 1 || cp[1] == 0 || cp[1] == '.')
                return false;
        } else {
            return false;
        }
    }
    if (!non_numeric)
        return false;
    return (size_t) (cp - name) <= HOSTNAME_MAX;
}

bool valid_utf8_hostname(const char *name)
{
    size_t n = strlen(name);
    if (!str_valid_utf8(name, n))
        return false;
    /* Each non-ASCII byte stands for a letter in the ASCII check. */
    char *ascii = xstrdup(name);
    for (char *c = ascii; *c; c++)
        if ((unsigned char) *c >= 0x80)
            *c = 'x';
    bool ok = valid_hostname(ascii);
    free(ascii);
    return ok;
}

bool valid_ipv4_hostaddr(const char *addr)
{
    int parts = 0;
    const char *cp = addr;
    while (*cp) {
        int digits = 0, value = 0;
        while (isdigit((unsigned char) *cp)) {
            value = value * 10 + (*cp - '0');
            if (++digits > 3 || value > 255)
                return false;
            cp++;
        }
        if (digits == 0)
            return false;
        parts++;
        if (*cp == '.') {
            if (cp[1] == 0)
                return false;
            cp++;
        } else if (*cp) {
            return false;
        }
    }
    return parts == 4;
}

bool valid_ipv6_hostaddr(const char *addr)
{
    unsigned char buf[16];
    if (strchr(addr, ':') == NULL)
        return false;
    return inet_pton(AF_INET6, addr, buf) == 1;
}

bool valid_hostaddr(const char *addr)
{
    return valid_ipv4_hostaddr(addr) || valid_ipv6_hostaddr(addr);
}

bool valid_mailhost_addr(const char *addr)
{
    if (strncasecmp(addr, "IPv6:", 5) == 0)
        return valid_ipv6_hostaddr(addr + 5);
    return valid_ipv4_hostaddr(addr);
}

bool valid_mailhost_literal(const char *lit)
{
    size_t n = strlen(lit);
    if (n < 3 || lit[0] != '[' || lit[n - 1] != ']')
        return false;
    char tmp[128];
    if (n - 2 >= sizeof(tmp))
        return false;
    memcpy(tmp, lit + 1, n - 2);
    tmp[n - 2] = 0;
    return valid_mailhost_addr(tmp);
}

char *hostname_strip_dot(const char *name)
{
    size_t n = strlen(name);
    if (n > 1 && name[n - 1] == '.' && name[n - 2] != '.')
        return xstrndup(name, n - 1);
    return xstrdup(name);
}
