/*
 * pwfile - the built-in passwd-file back end: Dovecot's passwd-file format
 * (https://doc.dovecot.org/configuration_manual/authentication/passwd_file/),
 * one "user:password[:uid:gid:gecos:home:shell:extra]" line per account, of
 * which postern reads the first two fields.  The password is "{SCHEME}data"
 * or, without a scheme, a crypt(3) hash (Dovecot's default for passwd-file):
 *
 *   {PLAIN} {CLEAR} {CLEARTEXT}   the password itself, compared in constant
 *                                 time (SHA-256 of both sides, then
 *                                 CRYPTO_memcmp)
 *   {CRYPT} {MD5-CRYPT} {SHA256-CRYPT} {SHA512-CRYPT} {BLF-CRYPT}
 *                                 crypt(3) through libxcrypt's crypt_rn(),
 *                                 so any method it enables works (yescrypt
 *                                 "$y$", bcrypt "$2b$", "$6$" ...), on the
 *                                 verification thread pool
 *
 * User names are compared exactly (case-sensitive).  The file is re-read
 * when its device, inode, size or modification time change, checked at
 * every verification; an unreadable file makes every check fail temporarily
 * (no stale accounts).  An unknown user costs one crypt(3) of another
 * account's hash, so timing does not tell which names exist.
 */
#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "sasl/sasl_int.h"

enum pw_scheme {
    PW_NONE,        /* empty password field: never matches */
    PW_PLAIN,       /* cleartext */
    PW_CRYPT,       /* crypt(3) */
    PW_UNSUPPORTED, /* a scheme postern cannot check: temporary failure */
};

struct pw_entry {
    enum pw_scheme scheme;
    char *secret; /* without the {SCHEME} prefix */
};

struct pwfile {
    char *path;
    struct sasl_pool *pool;
    struct htable *users; /* name -> struct pw_entry */
    char *dummy_hash;     /* a crypt(3) hash from the file, for unknown users */
    bool broken;          /* unreadable at the last look */
    bool have_id;
    struct stat id;
    bool unwatchable; /* stat() refused: contents kept */
};

struct pw_check {
    struct sasl_job job; /* first: the pool hands it back */
    char *hash;
    char *password;
    size_t password_len;
    bool dummy; /* an unknown user: the answer is FAIL whatever happens */
    bool ran;
    bool match;
    pw_done_fn done; /* NULL once cancelled */
    void *arg;
};

static void entry_free(void *p)
{
    struct pw_entry *e = p;
    if (e) {
        explicit_bzero(e->secret, strlen(e->secret));
        free(e->secret);
        free(e);
    }
}

static const struct {
    const char *name;
    enum pw_scheme scheme;
    const char *prefix; /* what a hash of this scheme starts with, or NULL */
} schemes[] = {
    {"PLAIN", PW_PLAIN, NULL},         {"CLEAR", PW_PLAIN, NULL},
    {"CLEARTEXT", PW_PLAIN, NULL},     {"CRYPT", PW_CRYPT, NULL},
    {"MD5-CRYPT", PW_CRYPT, "$1$"},    {"SHA256-CRYPT", PW_CRYPT, "$5$"},
    {"SHA512-CRYPT", PW_CRYPT, "$6$"}, {"BLF-CRYPT", PW_CRYPT, "$2"},
};

/* parse_password - the scheme and secret of a password field; a warning
 * names the line when the entry cannot be used */
static struct pw_entry *parse_password(const char *path, int line, const char *user,
                                       const char *field)
{
    struct pw_entry *e = xcalloc(1, sizeof(*e));
    const char *secret = field;
    const char *prefix = NULL;
    const char *scheme_name = "CRYPT";
    char name[32];
    e->scheme = PW_CRYPT;
    if (field[0] == '{') {
        const char *close = strchr(field, '}');
        size_t n = close ? (size_t) (close - field - 1) : 0;
        if (close == NULL || n == 0 || n >= sizeof(name)) {
            log_warnx("passwd-file %s, line %d: user %s: malformed {SCHEME} prefix", path, line,
                      user);
            e->scheme = PW_UNSUPPORTED;
            e->secret = xstrdup("");
            return e;
        }
        memcpy(name, field + 1, n);
        name[n] = 0;
        scheme_name = name;
        secret = close + 1;
        size_t k;
        for (k = 0; k < ARRAY_LEN(schemes); k++)
            if (str_eq_nocase(name, schemes[k].name))
                break;
        if (k == ARRAY_LEN(schemes)) {
            log_warnx("passwd-file %s, line %d: user %s: unsupported password scheme {%s}", path,
                      line, user, name);
            e->scheme = PW_UNSUPPORTED;
            e->secret = xstrdup("");
            return e;
        }
        e->scheme = schemes[k].scheme;
        prefix = schemes[k].prefix;
    }
    e->secret = xstrdup(secret);
    if (*secret == 0) {
        e->scheme = PW_NONE;
        return e;
    }
    if (e->scheme == PW_CRYPT) {
        int ok = crypt_checksalt(secret);
        if ((prefix && strncmp(secret, prefix, strlen(prefix)) != 0) ||
            (ok != CRYPT_SALT_OK && ok != CRYPT_SALT_METHOD_LEGACY && ok != CRYPT_SALT_TOO_CHEAP)) {
            log_warnx("passwd-file %s, line %d: user %s: not a usable {%s} hash", path, line, user,
                      scheme_name);
            e->scheme = PW_UNSUPPORTED;
        }
    }
    return e;
}

/* load - parse text into a fresh table */
static void load(struct pwfile *pf, const char *text, size_t len)
{
    struct htable *users = htable_new(64);
    char *dummy = NULL;
    const char *p = text, *end = text + len;
    int line = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t) (end - p));
        const char *eol = nl ? nl : end;
        size_t n = (size_t) (eol - p);
        line++;
        const char *start = p;
        p = nl ? nl + 1 : end;
        if (n > 0 && start[n - 1] == '\r')
            n--;
        if (n > PWFILE_LINE_MAX) {
            log_warnx("passwd-file %s, line %d: line longer than %d bytes; skipped", pf->path, line,
                      PWFILE_LINE_MAX);
            continue;
        }
        /* as Dovecot: no trimming, so a {PLAIN} password keeps its spaces */
        char *copy = xstrndup(start, n);
        char *s = copy;
        if (str_is_blank(s) || *s == '#') {
            free(copy);
            continue;
        }
        char *colon = strchr(s, ':');
        if (colon == NULL || colon == s) {
            log_warnx("passwd-file %s, line %d: expected \"user:password\"; skipped", pf->path,
                      line);
            explicit_bzero(copy, n);
            free(copy);
            continue;
        }
        *colon = 0;
        char *field = colon + 1;
        char *next = strchr(field, ':');
        if (next)
            *next = 0;
        if (htable_contains(users, s)) {
            log_warnx("passwd-file %s, line %d: duplicate entry for user %s; the first one counts",
                      pf->path, line, s);
        } else {
            struct pw_entry *e = parse_password(pf->path, line, s, field);
            if (e->scheme == PW_CRYPT && dummy == NULL)
                dummy = xstrdup(e->secret);
            htable_put(users, s, e);
        }
        explicit_bzero(copy, n);
        free(copy);
    }
    if (pf->users)
        htable_free(pf->users, entry_free);
    pf->users = users;
    free(pf->dummy_hash);
    pf->dummy_hash = dummy;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* read_file - (re)load; 0, or -1 with errno */
static int read_file(struct pwfile *pf)
{
    struct stat st;
    struct buf text;
    buf_init(&text);
    if (stat(pf->path, &st) == -1 || file_read_all(pf->path, &text) == -1) {
        int e = errno;
        buf_free(&text);
        errno = e;
        return -1;
    }
    load(pf, buf_cstr(&text), text.len);
    explicit_bzero(text.data, text.len);
    buf_free(&text);
    pf->id = st;
    pf->have_id = true;
    pf->broken = false;
    return 0;
}

struct pwfile *pwfile_open(const char *path, struct sasl_pool *pool, char **err)
{
    struct pwfile *pf = xcalloc(1, sizeof(*pf));
    pf->path = xstrdup(path);
    pf->pool = pool;
    if (read_file(pf) == -1) {
        *err = xasprintf("cannot read passwd-file %s: %s", path, strerror(errno));
        pwfile_free(pf);
        return NULL;
    }
    return pf;
}

void pwfile_free(struct pwfile *pf)
{
    if (pf == NULL)
        return;
    if (pf->users)
        htable_free(pf->users, entry_free);
    free(pf->dummy_hash);
    free(pf->path);
    free(pf);
}

int pwfile_refresh(struct pwfile *pf)
{
    struct stat st;
    if (stat(pf->path, &st) == -1 && (errno == EACCES || errno == EPERM) && pf->have_id &&
        !pf->broken) {
        /* Read as root at start; after privileges were dropped the file
         * cannot be checked for changes: keep what was read. */
        if (!pf->unwatchable)
            log_warnx("passwd-file %s: %s; changes take effect after a restart", pf->path,
                      strerror(errno));
        pf->unwatchable = true;
        return 0;
    }
    if (stat(pf->path, &st) == -1) {
        if (!pf->broken)
            log_warn("passwd-file %s", pf->path);
        pf->broken = true;
        pf->have_id = false;
        return -1;
    }
    if (pf->have_id && !pf->broken && same_file(&st, &pf->id))
        return 0;
    if (read_file(pf) == -1) {
        if (!pf->broken)
            log_warn("passwd-file %s", pf->path);
        pf->broken = true;
        pf->have_id = false;
        return -1;
    }
    log_debug("passwd-file %s: read %zu users", pf->path, htable_count(pf->users));
    return 1;
}

size_t pwfile_user_count(const struct pwfile *pf)
{
    return pf->users && !pf->broken ? htable_count(pf->users) : 0;
}

/* plain_equal - compare without a data-dependent early exit */
static bool plain_equal(const char *secret, const char *password, size_t password_len)
{
    unsigned char a[EVP_MAX_MD_SIZE], b[EVP_MAX_MD_SIZE];
    unsigned alen = 0, blen = 0;
    if (EVP_Digest(secret, strlen(secret), a, &alen, EVP_sha256(), NULL) != 1 ||
        EVP_Digest(password, password_len, b, &blen, EVP_sha256(), NULL) != 1 || alen != blen)
        return false;
    return CRYPTO_memcmp(a, b, alen) == 0;
}

static void crypt_work(struct sasl_job *job)
{
    struct pw_check *c = (struct pw_check *) job;
    struct crypt_data *data = xcalloc(1, sizeof(*data));
    const char *out = crypt_rn(c->password, c->hash, data, (int) sizeof(*data));
    size_t hlen = strlen(c->hash);
    c->match = out != NULL && strlen(out) == hlen && CRYPTO_memcmp(out, c->hash, hlen) == 0;
    explicit_bzero(data, sizeof(*data));
    free(data);
    c->ran = true;
}

static void crypt_done(struct sasl_job *job)
{
    struct pw_check *c = (struct pw_check *) job;
    if (c->done) {
        enum sasl_status status = !c->ran    ? SASL_TEMPFAIL
                                  : c->dummy ? SASL_FAIL
                                  : c->match ? SASL_OK
                                             : SASL_FAIL;
        c->done(c->arg, status);
    }
    explicit_bzero(c->password, c->password_len);
    free(c->password);
    free(c->hash);
    free(c);
}

enum sasl_status pwfile_verify(struct pwfile *pf, const char *user, const char *password,
                               size_t password_len, pw_done_fn done, void *arg,
                               struct pw_check **pending)
{
    *pending = NULL;
    if (pwfile_refresh(pf) == -1)
        return SASL_TEMPFAIL;
    const struct pw_entry *e = htable_get(pf->users, user);
    const char *hash;
    if (e == NULL) {
        if (pf->dummy_hash == NULL)
            return SASL_FAIL;
        hash = pf->dummy_hash;
    } else {
        switch (e->scheme) {
        case PW_NONE: return SASL_FAIL;
        case PW_UNSUPPORTED: return SASL_TEMPFAIL;
        case PW_PLAIN: return plain_equal(e->secret, password, password_len) ? SASL_OK : SASL_FAIL;
        case PW_CRYPT: break;
        }
        hash = e->secret;
    }
    if (memchr(password, 0, password_len) != NULL)
        return SASL_FAIL; /* crypt(3) would see a shorter password */
    struct pw_check *c = xcalloc(1, sizeof(*c));
    c->job.work = crypt_work;
    c->job.done = crypt_done;
    c->hash = xstrdup(hash);
    c->password = xstrndup(password, password_len);
    c->password_len = password_len;
    c->dummy = e == NULL;
    c->done = done;
    c->arg = arg;
    if (sasl_pool_submit(pf->pool, &c->job) == -1) {
        log_warnx("SASL: passwd-file %s: verification queue full", pf->path);
        c->done = NULL;
        crypt_done(&c->job);
        return SASL_TEMPFAIL;
    }
    *pending = c;
    return SASL_CONTINUE;
}

void pwfile_cancel(struct pw_check *c)
{
    if (c)
        c->done = NULL;
}
