/*
 * mech - the pieces of SASL that do not depend on a back end: strict base64
 * (RFC 4648 section 4, as RFC 4954 requires for AUTH), the PLAIN message
 * (RFC 4616 section 2), Postfix's security options for the Dovecot-style
 * mechanism properties, and smtpd_sasl_mechanism_filter.  Every parser here
 * sees client bytes and checks lengths before it allocates.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sasl/sasl_int.h"
#include "table/table.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int sasl_b64_decode(const char *in, size_t len, size_t max_out, struct buf *out)
{
    buf_reset(out);
    if (len > SASL_RESPONSE_MAX)
        return -2;
    if (len % 4 != 0)
        return -1;
    size_t pad = 0;
    if (len > 0 && in[len - 1] == '=')
        pad = (len > 1 && in[len - 2] == '=') ? 2 : 1;
    size_t out_len = len / 4 * 3 - pad;
    if (out_len > max_out)
        return -2;
    buf_reserve(out, out_len + 1);
    for (size_t i = 0; i < len; i += 4) {
        bool last = i + 4 == len;
        int v[4];
        for (int k = 0; k < 4; k++) {
            unsigned char c = (unsigned char) in[i + k];
            if (c == '=' && last && (size_t) k >= 4 - pad) {
                v[k] = 0;
                continue;
            }
            if ((v[k] = b64_value(c)) < 0)
                return -1;
        }
        unsigned long q = (unsigned long) v[0] << 18 | (unsigned long) v[1] << 12 |
                          (unsigned long) v[2] << 6 | (unsigned long) v[3];
        size_t n = last ? 3 - pad : 3;
        /* bits the padding hides must be zero: one encoding per message */
        if (last && pad == 1 && (q & 0xff) != 0)
            return -1;
        if (last && pad == 2 && (q & 0xffff) != 0)
            return -1;
        unsigned char bytes[3] = {(unsigned char) (q >> 16), (unsigned char) (q >> 8),
                                  (unsigned char) q};
        buf_append(out, bytes, n);
    }
    return 0;
}

char *sasl_b64_encode(const void *data, size_t len)
{
    const unsigned char *p = data;
    struct buf b;
    if (len == 0)
        return xstrdup("");
    buf_init(&b);
    buf_reserve(&b, (len + 2) / 3 * 4 + 1);
    for (size_t i = 0; i < len; i += 3) {
        size_t n = len - i < 3 ? len - i : 3;
        unsigned long q = (unsigned long) p[i] << 16;
        if (n > 1)
            q |= (unsigned long) p[i + 1] << 8;
        if (n > 2)
            q |= p[i + 2];
        char quad[4] = {b64_alphabet[(q >> 18) & 63], b64_alphabet[(q >> 12) & 63],
                        n > 1 ? b64_alphabet[(q >> 6) & 63] : '=',
                        n > 2 ? b64_alphabet[q & 63] : '='};
        buf_append(&b, quad, 4);
    }
    return buf_steal(&b);
}

int sasl_plain_parse(const char *msg, size_t len, struct sasl_plain *out, const char **why)
{
    const char *nul1 = memchr(msg, 0, len);
    const char *nul2 = nul1 ? memchr(nul1 + 1, 0, len - (size_t) (nul1 + 1 - msg)) : NULL;
    if (nul2 == NULL || memchr(nul2 + 1, 0, len - (size_t) (nul2 + 1 - msg)) != NULL) {
        *why = "Invalid PLAIN response: not three NUL-separated fields";
        return -1;
    }
    out->authzid = msg;
    out->authzid_len = (size_t) (nul1 - msg);
    out->authcid = nul1 + 1;
    out->authcid_len = (size_t) (nul2 - out->authcid);
    out->passwd = nul2 + 1;
    out->passwd_len = len - (size_t) (out->passwd - msg);
    if (out->authcid_len == 0) {
        *why = "Invalid PLAIN response: empty user name";
        return -1;
    }
    if (out->passwd_len == 0) {
        *why = "Invalid PLAIN response: empty password";
        return -1;
    }
    if (out->authzid_len > SASL_AUTHID_MAX || out->authcid_len > SASL_AUTHID_MAX ||
        out->passwd_len > SASL_PASSWORD_MAX) {
        *why = "Authentication data too long";
        return -2;
    }
    return 0;
}

static const struct {
    const char *name;
    unsigned prop;
} conf_props[] = {
    {"noplaintext", SASL_PROP_PLAINTEXT},   {"noactive", SASL_PROP_ACTIVE},
    {"nodictionary", SASL_PROP_DICTIONARY}, {"noanonymous", SASL_PROP_ANONYMOUS},
    {"forward_secrecy", SASL_PROP_FWD},     {"mutual_auth", SASL_PROP_MUTUAL},
};

static const struct {
    const char *name;
    unsigned prop;
} dovecot_props[] = {
    {"plaintext", SASL_PROP_PLAINTEXT},   {"active", SASL_PROP_ACTIVE},
    {"dictionary", SASL_PROP_DICTIONARY}, {"anonymous", SASL_PROP_ANONYMOUS},
    {"forward-secrecy", SASL_PROP_FWD},   {"mutual-auth", SASL_PROP_MUTUAL},
    {"private", SASL_PROP_PRIVATE},
};

int sasl_security_parse(const char *param, const char *value, unsigned *mask, char **err)
{
    struct strlist words;
    strlist_init(&words);
    *mask = 0;
    int rc = 0;
    if (str_split_list(value, LIST_SEPS, &words, err) == -1)
        return -1;
    for (size_t i = 0; i < words.count && rc == 0; i++) {
        size_t k;
        for (k = 0; k < ARRAY_LEN(conf_props); k++)
            if (str_eq_nocase(words.items[i], conf_props[k].name))
                break;
        if (k == ARRAY_LEN(conf_props)) {
            *err = xasprintf("unknown %s value \"%s\" in \"%s\"", param, words.items[i], value);
            rc = -1;
        } else {
            *mask |= conf_props[k].prop;
        }
    }
    strlist_free(&words);
    return rc;
}

unsigned sasl_dovecot_props(const char *flag)
{
    for (size_t k = 0; k < ARRAY_LEN(dovecot_props); k++)
        if (str_eq_nocase(flag, dovecot_props[k].name))
            return dovecot_props[k].prop;
    return 0; /* unknown flags are ignored, as Postfix does */
}

bool sasl_mech_allowed(unsigned props, unsigned options)
{
    unsigned required = options & SASL_PROP_REQUIRED;
    unsigned excluded = options & ~SASL_PROP_REQUIRED;
    return (props & required) == required && (props & excluded) == 0;
}

void sasl_filter_init(struct sasl_filter *f, const char *value)
{
    char *err = NULL;
    strlist_init(&f->patterns);
    if (str_split_list(value, LIST_SEPS, &f->patterns, &err) == -1) {
        log_warnx("smtpd_sasl_mechanism_filter: %s", err);
        free(err);
    }
    f->tables = xcalloc(f->patterns.count + 1, sizeof(*f->tables));
    for (size_t i = 0; i < f->patterns.count; i++) {
        const char *p = f->patterns.items[i];
        if (*p == '!')
            p++;
        if (strchr(p, ':') != NULL)
            f->tables[i] = table_open(p, TABLE_OPEN_FOLD);
    }
}

bool sasl_filter_match(const struct sasl_filter *f, const char *mechanism)
{
    for (size_t i = 0; i < f->patterns.count; i++) {
        const char *p = f->patterns.items[i];
        bool negate = *p == '!';
        if (negate)
            p++;
        bool match;
        if (f->tables[i]) {
            char *key = xstrdup(mechanism);
            str_lower(key);
            const char *value;
            match = table_lookup(f->tables[i], key, &value) == TABLE_FOUND;
            free(key);
        } else {
            match = str_eq_nocase(p, mechanism);
        }
        if (match)
            return !negate;
    }
    return false;
}

void sasl_filter_free(struct sasl_filter *f)
{
    for (size_t i = 0; i < f->patterns.count; i++)
        if (f->tables[i])
            table_close(f->tables[i]);
    free(f->tables);
    strlist_free(&f->patterns);
}
