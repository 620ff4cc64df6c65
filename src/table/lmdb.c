/*
 * lmdb - the indexed table types hash:, btree: and lmdb:, all stored in one
 * LMDB file NAME.lmdb built from the text source NAME by `postern map`.
 *
 * Atomicity: a build or an update never writes the live file.  It writes a
 * temporary file beside it, syncs it and renames it over NAME.lmdb, so a
 * reader sees the old table or the new one, never half of either.  Readers
 * open with MDB_NOLOCK (no writer ever touches a file they have open), keep
 * one read transaction for the life of the mapping, and reopen when
 * refresh() sees a new inode.
 *
 * Builds sort the entries first and append them in key order: duplicates are
 * found next to each other (first wins, or last with -r) and LMDB fills its
 * pages sequentially.
 */
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "table/table.h"

/*
 * A Bloom filter stored in the file under a key no text key can have
 * ("\0bloom"), written at every commit: most access-table lookups miss
 * (parent domains, address prefixes), and the filter answers those without
 * a B-tree descent.  10 bits and 7 probes per key: about 1% false hits.
 */
#define BLOOM_KEY          "\0bloom"
#define BLOOM_KEY_LEN      6
#define BLOOM_BITS_PER_KEY 10
#define BLOOM_PROBES       7

struct lmdb_table {
    char *path;                 /* NAME.lmdb */
    const unsigned char *bloom; /* in the map; NULL: none */
    size_t bloom_bits;
    MDB_env *env;
    MDB_txn *txn; /* read snapshot, or the write transaction */
    MDB_dbi dbi;
    MDB_cursor *cursor; /* for sequence */
    uint64_t dev_ino;
    char *tmp_path; /* writers: the file being prepared */
    size_t map_size;
    size_t pending; /* bytes put since the last size check */
    struct buf fold;
    struct buf key;
};

/* Writers start with this map and grow it before it can fill up. */
#define MAP_SIZE_MIN ((size_t) 64 << 20)

static int env_open(const char *path, unsigned flags, size_t map_size, MDB_env **env,
                    struct buf *err)
{
    int rc = mdb_env_create(env);
    if (rc == 0 && map_size)
        rc = mdb_env_set_mapsize(*env, map_size);
    if (rc == 0)
        rc = mdb_env_open(*env, path, flags | MDB_NOSUBDIR, 0644);
    if (rc != 0) {
        if (*env)
            mdb_env_close(*env);
        *env = NULL;
        if (rc == ENOENT)
            buf_printf(err, "open database %s: No such file or directory", path);
        else
            buf_printf(err, "open database %s: %s", path, mdb_strerror(rc));
        return -1;
    }
    return 0;
}

static int reader_open(struct lmdb_table *lt, struct buf *err)
{
    struct stat st;
    if (stat(lt->path, &st) == -1) {
        buf_printf(err, "open database %s: %s", lt->path, strerror(errno));
        return -1;
    }
    lt->dev_ino = ((uint64_t) st.st_dev << 40) ^ (uint64_t) st.st_ino;
    if (env_open(lt->path, MDB_RDONLY | MDB_NOLOCK | MDB_NORDAHEAD, 0, &lt->env, err) == -1)
        return -1;
    int rc = mdb_txn_begin(lt->env, NULL, MDB_RDONLY, &lt->txn);
    if (rc == 0)
        rc = mdb_dbi_open(lt->txn, NULL, 0, &lt->dbi);
    lt->bloom = NULL;
    lt->bloom_bits = 0;
    if (rc == 0) {
        MDB_val bk = {.mv_size = BLOOM_KEY_LEN, .mv_data = (void *) BLOOM_KEY}, bv;
        if (mdb_get(lt->txn, lt->dbi, &bk, &bv) == 0 && bv.mv_size >= 8) {
            lt->bloom = bv.mv_data;
            lt->bloom_bits = bv.mv_size * 8;
        }
    }
    if (rc != 0) {
        buf_printf(err, "open database %s: %s", lt->path, mdb_strerror(rc));
        if (lt->txn)
            mdb_txn_abort(lt->txn);
        lt->txn = NULL;
        mdb_env_close(lt->env);
        lt->env = NULL;
        return -1;
    }
    return 0;
}

static void reader_close(struct lmdb_table *lt)
{
    if (lt->cursor)
        mdb_cursor_close(lt->cursor);
    lt->cursor = NULL;
    if (lt->txn)
        mdb_txn_abort(lt->txn);
    lt->txn = NULL;
    if (lt->env)
        mdb_env_close(lt->env);
    lt->env = NULL;
}

/* writer_open - a temporary copy of the live file (or an empty one) */
static int writer_open(struct table *t, struct lmdb_table *lt, bool empty, size_t map_size,
                       struct buf *err)
{
    lt->tmp_path = xasprintf("%s.tmp.%ld", lt->path, (long) getpid());
    unlink(lt->tmp_path);
    if (!empty && access(lt->path, F_OK) == 0) {
        MDB_env *src = NULL;
        if (env_open(lt->path, MDB_RDONLY | MDB_NOLOCK, 0, &src, err) == -1)
            return -1;
        int rc = mdb_env_copy2(src, lt->tmp_path, MDB_CP_COMPACT);
        MDB_envinfo info;
        mdb_env_info(src, &info);
        mdb_env_close(src);
        if (rc != 0) {
            buf_printf(err, "copy database %s: %s", lt->path, mdb_strerror(rc));
            return -1;
        }
        if (map_size < info.me_mapsize * 2)
            map_size = info.me_mapsize * 2;
    }
    if (map_size < MAP_SIZE_MIN)
        map_size = MAP_SIZE_MIN;
    lt->map_size = map_size;
    if (env_open(lt->tmp_path, MDB_NOSYNC | MDB_NOLOCK, map_size, &lt->env, err) == -1)
        return -1;
    int rc = mdb_txn_begin(lt->env, NULL, 0, &lt->txn);
    if (rc == 0)
        rc = mdb_dbi_open(lt->txn, NULL, 0, &lt->dbi);
    if (rc != 0) {
        buf_printf(err, "open database %s: %s", lt->tmp_path, mdb_strerror(rc));
        return -1;
    }
    (void) t;
    return 0;
}

static int lmdb_open(struct table *t, struct buf *err)
{
    struct lmdb_table *lt = xcalloc(1, sizeof(*lt));
    lt->path = table_indexed_path(t->name);
    buf_init(&lt->fold);
    buf_init(&lt->key);
    t->data = lt;
    int rc;
    if (t->open_flags & TABLE_OPEN_CREATE)
        rc = writer_open(t, lt, true, 0, err);
    else if (t->open_flags & TABLE_OPEN_WRITE)
        rc = writer_open(t, lt, false, 0, err);
    else
        rc = reader_open(lt, err);
    if (rc == -1) {
        t->type->close(t);
        t->data = NULL;
    }
    return rc;
}

static MDB_val val_of(const char *s)
{
    MDB_val v = {.mv_size = strlen(s), .mv_data = (void *) s};
    return v;
}

static bool bloom_may_contain(const unsigned char *bits, size_t nbits, const void *key, size_t len)
{
    uint64_t h = hash_bytes(key, len);
    uint32_t h1 = (uint32_t) h, h2 = (uint32_t) (h >> 32) | 1;
    for (uint32_t i = 0; i < BLOOM_PROBES; i++) {
        size_t bit = (size_t) (h1 + i * h2) % nbits;
        if (!(bits[bit / 8] & (1u << (bit % 8))))
            return false;
    }
    return true;
}

static void bloom_add(unsigned char *bits, size_t nbits, const void *key, size_t len)
{
    uint64_t h = hash_bytes(key, len);
    uint32_t h1 = (uint32_t) h, h2 = (uint32_t) (h >> 32) | 1;
    for (uint32_t i = 0; i < BLOOM_PROBES; i++) {
        size_t bit = (size_t) (h1 + i * h2) % nbits;
        bits[bit / 8] |= (unsigned char) (1u << (bit % 8));
    }
}

static enum table_status lmdb_lookup(struct table *t, const char *key, const char **value)
{
    struct lmdb_table *lt = t->data;
    MDB_val k = val_of(table_fold(t, key, &lt->fold)), v;
    if (k.mv_size == 0 || k.mv_size > (size_t) mdb_env_get_maxkeysize(lt->env))
        return TABLE_NOTFOUND;
    if (lt->bloom && !bloom_may_contain(lt->bloom, lt->bloom_bits, k.mv_data, k.mv_size))
        return TABLE_NOTFOUND;
    int rc = mdb_get(lt->txn, lt->dbi, &k, &v);
    if (rc == MDB_NOTFOUND)
        return TABLE_NOTFOUND;
    if (rc != 0) {
        log_warnx("%s: lookup error for \"%s\": %s", t->spec, key, mdb_strerror(rc));
        return TABLE_TEMPFAIL;
    }
    buf_reset(&t->value);
    buf_append(&t->value, v.mv_data, v.mv_size);
    *value = t->value.data;
    return TABLE_FOUND;
}

static int lmdb_sequence(struct table *t, bool first, const char **key, const char **value)
{
    struct lmdb_table *lt = t->data;
    if (lt->cursor == NULL) {
        int rc = mdb_cursor_open(lt->txn, lt->dbi, &lt->cursor);
        if (rc != 0)
            return -1;
    }
    MDB_val k, v;
    int rc = mdb_cursor_get(lt->cursor, &k, &v, first ? MDB_FIRST : MDB_NEXT);
    /* The Bloom filter sorts first (its key starts with NUL): not an entry. */
    if (rc == 0 && k.mv_size > 0 && ((const char *) k.mv_data)[0] == 0)
        rc = mdb_cursor_get(lt->cursor, &k, &v, MDB_NEXT);
    if (rc == MDB_NOTFOUND)
        return 1;
    if (rc != 0)
        return -1;
    buf_reset(&lt->key);
    buf_append(&lt->key, k.mv_data, k.mv_size);
    buf_reset(&t->value);
    buf_append(&t->value, v.mv_data, v.mv_size);
    *key = lt->key.data;
    *value = t->value.data;
    return 0;
}

/*
 * make_room - keep the map at least twice the used size.  LMDB cannot grow a
 * map inside a write transaction and a full map aborts the transaction, so
 * check before the data written since the last check could fill it: commit
 * (the file is a private temporary one), enlarge, and continue.
 */
static int make_room(struct lmdb_table *lt, size_t upcoming, struct buf *err)
{
    lt->pending += upcoming;
    if (lt->pending < lt->map_size / 8)
        return 0;
    int rc = mdb_txn_commit(lt->txn);
    lt->txn = NULL;
    MDB_envinfo info;
    MDB_stat st;
    if (rc == 0)
        rc = mdb_env_info(lt->env, &info);
    if (rc == 0)
        rc = mdb_env_stat(lt->env, &st);
    if (rc == 0) {
        size_t used = (size_t) (info.me_last_pgno + 1) * st.ms_psize;
        size_t want = lt->map_size;
        while (used + 3 * lt->pending > want / 2)
            want *= 2;
        if (want != lt->map_size) {
            rc = mdb_env_set_mapsize(lt->env, want);
            lt->map_size = want;
        }
    }
    if (rc == 0)
        rc = mdb_txn_begin(lt->env, NULL, 0, &lt->txn);
    if (rc != 0) {
        buf_printf(err, "%s: grow map: %s", lt->tmp_path, mdb_strerror(rc));
        return -1;
    }
    lt->pending = upcoming;
    return 0;
}

static int lmdb_update(struct table *t, const char *key, const char *value, struct buf *err)
{
    struct lmdb_table *lt = t->data;
    MDB_val k = val_of(table_fold(t, key, &lt->fold)), v = val_of(value);
    if (k.mv_size == 0 || k.mv_size > (size_t) mdb_env_get_maxkeysize(lt->env)) {
        buf_printf(err, "key \"%s\" is empty or longer than %d bytes", key,
                   mdb_env_get_maxkeysize(lt->env));
        return -1;
    }
    if (make_room(lt, k.mv_size + v.mv_size + 64, err) == -1)
        return -1;
    unsigned flags = (t->open_flags & TABLE_OPEN_SORTED) ? MDB_APPEND : 0;
    int rc = mdb_put(lt->txn, lt->dbi, &k, &v, flags);
    if (rc == MDB_KEYEXIST && flags) /* out of order after all: plain insert */
        rc = mdb_put(lt->txn, lt->dbi, &k, &v, 0);
    if (rc != 0) {
        buf_printf(err, "%s: update \"%s\": %s", lt->tmp_path, key, mdb_strerror(rc));
        return -1;
    }
    return 0;
}

static int lmdb_remove(struct table *t, const char *key, struct buf *err)
{
    struct lmdb_table *lt = t->data;
    MDB_val k = val_of(table_fold(t, key, &lt->fold));
    if (k.mv_size == 0 || k.mv_size > (size_t) mdb_env_get_maxkeysize(lt->env))
        return 1;
    int rc = mdb_del(lt->txn, lt->dbi, &k, NULL);
    if (rc == MDB_NOTFOUND)
        return 1;
    if (rc != 0) {
        buf_printf(err, "%s: delete \"%s\": %s", lt->tmp_path, key, mdb_strerror(rc));
        return -1;
    }
    return 0;
}

/* lmdb_commit - sync the temporary file and rename it over the live one */
/* write_bloom - a fresh filter over every key of the write transaction */
static int write_bloom(struct lmdb_table *lt)
{
    MDB_val bk = {.mv_size = BLOOM_KEY_LEN, .mv_data = (void *) BLOOM_KEY}, k, v;
    mdb_del(lt->txn, lt->dbi, &bk, NULL);
    MDB_stat st;
    int rc = mdb_stat(lt->txn, lt->dbi, &st);
    if (rc != 0)
        return rc;
    size_t nbits = st.ms_entries * BLOOM_BITS_PER_KEY;
    if (nbits < 64)
        nbits = 64;
    nbits = (nbits + 7) / 8 * 8;
    unsigned char *bits = xcalloc(nbits / 8, 1);
    MDB_cursor *c;
    rc = mdb_cursor_open(lt->txn, lt->dbi, &c);
    if (rc == 0) {
        for (int op = MDB_FIRST; mdb_cursor_get(c, &k, &v, (MDB_cursor_op) op) == 0; op = MDB_NEXT)
            bloom_add(bits, nbits, k.mv_data, k.mv_size);
        mdb_cursor_close(c);
        MDB_val bv = {.mv_size = nbits / 8, .mv_data = bits};
        rc = mdb_put(lt->txn, lt->dbi, &bk, &bv, 0);
    }
    free(bits);
    return rc;
}

static int lmdb_commit(struct table *t, struct buf *err)
{
    struct lmdb_table *lt = t->data;
    int brc = write_bloom(lt);
    if (brc != 0)
        log_warnx("%s: no lookup filter: %s", lt->path, mdb_strerror(brc));
    int rc = mdb_txn_commit(lt->txn);
    lt->txn = NULL;
    if (rc == 0)
        rc = mdb_env_sync(lt->env, 1);
    mdb_env_close(lt->env);
    lt->env = NULL;
    if (rc != 0) {
        buf_printf(err, "%s: commit: %s", lt->tmp_path, mdb_strerror(rc));
        return -1;
    }
    int fd = open(lt->tmp_path, O_RDONLY | O_CLOEXEC);
    if (fd == -1 || fsync(fd) == -1) {
        buf_printf(err, "%s: fsync: %s", lt->tmp_path, strerror(errno));
        if (fd != -1)
            close(fd);
        return -1;
    }
    close(fd);
    char *lock = xasprintf("%s-lock", lt->tmp_path);
    unlink(lock);
    free(lock);
    if (rename(lt->tmp_path, lt->path) == -1) {
        buf_printf(err, "rename %s to %s: %s", lt->tmp_path, lt->path, strerror(errno));
        return -1;
    }
    free(lt->tmp_path);
    lt->tmp_path = NULL;
    if (file_fsync_dir(lt->path) == -1) {
        buf_printf(err, "fsync directory of %s: %s", lt->path, strerror(errno));
        return -1;
    }
    return 0;
}

static void lmdb_refresh(struct table *t)
{
    struct lmdb_table *lt = t->data;
    struct stat st;
    if (lt->tmp_path || stat(lt->path, &st) == -1)
        return;
    uint64_t id = ((uint64_t) st.st_dev << 40) ^ (uint64_t) st.st_ino;
    if (id == lt->dev_ino)
        return;
    struct lmdb_table fresh = {.path = lt->path};
    struct buf err;
    buf_init(&err);
    if (reader_open(&fresh, &err) == 0) {
        reader_close(lt);
        lt->env = fresh.env;
        lt->txn = fresh.txn;
        lt->dbi = fresh.dbi;
        lt->dev_ino = fresh.dev_ino;
        lt->bloom = fresh.bloom;
        lt->bloom_bits = fresh.bloom_bits;
        log_info("%s: reopened after the file changed", t->spec);
    } else {
        log_warnx("%s: %s; keeping the previous contents", t->spec, buf_cstr(&err));
    }
    buf_free(&err);
}

static void lmdb_close(struct table *t)
{
    struct lmdb_table *lt = t->data;
    if (lt == NULL)
        return;
    reader_close(lt);
    if (lt->tmp_path) {
        unlink(lt->tmp_path);
        char *lock = xasprintf("%s-lock", lt->tmp_path);
        unlink(lock);
        free(lock);
        free(lt->tmp_path);
    }
    buf_free(&lt->fold);
    buf_free(&lt->key);
    free(lt->path);
    free(lt);
    t->data = NULL;
}

#define LMDB_TYPE(type_name)                                                            \
    {                                                                                   \
        .name = type_name, .flags = TABLE_T_FIXED | TABLE_T_INDEXED, .open = lmdb_open, \
        .lookup = lmdb_lookup, .sequence = lmdb_sequence, .update = lmdb_update,        \
        .remove = lmdb_remove, .commit = lmdb_commit, .refresh = lmdb_refresh,          \
        .close = lmdb_close,                                                            \
    }

const struct table_type table_type_hash = LMDB_TYPE("hash");
const struct table_type table_type_btree = LMDB_TYPE("btree");
const struct table_type table_type_lmdb = LMDB_TYPE("lmdb");
