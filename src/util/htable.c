/*
 * htable - string-keyed hash table with open addressing and linear probing.
 * Keys are copied; values are opaque.  Deletion uses backward-shift so no
 * tombstones accumulate in long-lived caches.
 */
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct slot {
    char *key; /* NULL: empty */
    uint64_t hash;
    void *value;
};

struct htable {
    struct slot *slots;
    size_t cap; /* power of two */
    size_t count;
};

uint64_t hash_bytes(const void *data, size_t len)
{
    /* FNV-1a, then a final mix so low bits depend on every input byte. */
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

struct htable *htable_new(size_t size_hint)
{
    struct htable *h = xcalloc(1, sizeof(*h));
    size_t cap = 16;
    while (cap < size_hint * 2)
        cap *= 2;
    h->slots = xcalloc(cap, sizeof(struct slot));
    h->cap = cap;
    return h;
}

void htable_free(struct htable *h, void (*free_value)(void *))
{
    if (h == NULL)
        return;
    for (size_t i = 0; i < h->cap; i++) {
        if (h->slots[i].key) {
            free(h->slots[i].key);
            if (free_value)
                free_value(h->slots[i].value);
        }
    }
    free(h->slots);
    free(h);
}

static struct slot *find(const struct htable *h, const char *key, uint64_t hash)
{
    size_t mask = h->cap - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        struct slot *s = &h->slots[i];
        if (s->key == NULL || (s->hash == hash && strcmp(s->key, key) == 0))
            return s;
    }
}

static void grow(struct htable *h)
{
    struct slot *old = h->slots;
    size_t oldcap = h->cap;
    h->cap *= 2;
    h->slots = xcalloc(h->cap, sizeof(struct slot));
    for (size_t i = 0; i < oldcap; i++) {
        if (old[i].key) {
            struct slot *s = find(h, old[i].key, old[i].hash);
            *s = old[i];
        }
    }
    free(old);
}

void *htable_get(const struct htable *h, const char *key)
{
    struct slot *s = find(h, key, hash_bytes(key, strlen(key)));
    return s->key ? s->value : NULL;
}

bool htable_contains(const struct htable *h, const char *key)
{
    return find(h, key, hash_bytes(key, strlen(key)))->key != NULL;
}

void *htable_put(struct htable *h, const char *key, void *value)
{
    if ((h->count + 1) * 4 > h->cap * 3)
        grow(h);
    uint64_t hash = hash_bytes(key, strlen(key));
    struct slot *s = find(h, key, hash);
    if (s->key) {
        void *old = s->value;
        s->value = value;
        return old;
    }
    s->key = xstrdup(key);
    s->hash = hash;
    s->value = value;
    h->count++;
    return NULL;
}

void *htable_remove(struct htable *h, const char *key)
{
    struct slot *s = find(h, key, hash_bytes(key, strlen(key)));
    if (s->key == NULL)
        return NULL;
    void *value = s->value;
    free(s->key);
    s->key = NULL;
    h->count--;
    /* Backward shift: re-place the following cluster members. */
    size_t mask = h->cap - 1;
    size_t i = (size_t) (s - h->slots);
    for (size_t j = (i + 1) & mask; h->slots[j].key; j = (j + 1) & mask) {
        struct slot moved = h->slots[j];
        h->slots[j].key = NULL;
        *find(h, moved.key, moved.hash) = moved;
    }
    return value;
}

size_t htable_count(const struct htable *h)
{
    return h->count;
}

bool htable_next(const struct htable *h, struct htable_iter *it, const char **key, void **value)
{
    while (it->index < h->cap) {
        struct slot *s = &h->slots[it->index++];
        if (s->key) {
            if (key)
                *key = s->key;
            if (value)
                *value = s->value;
            return true;
        }
    }
    return false;
}
