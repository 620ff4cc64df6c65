/*
 * arena - bump allocator for objects that die together (one SMTP
 * transaction, one policy evaluation).  Large requests get a chunk of their
 * own; reset keeps the first chunk to avoid malloc churn per transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct chunk {
    struct chunk *next;
    size_t size;
    size_t used;
    char data[];
};

struct arena {
    struct chunk *head;
    size_t chunk_size;
    size_t total;
};

static struct chunk *chunk_new(size_t size)
{
    struct chunk *c = xmalloc(sizeof(*c) + size);
    c->next = NULL;
    c->size = size;
    c->used = 0;
    return c;
}

struct arena *arena_new(size_t chunk_size)
{
    struct arena *a = xcalloc(1, sizeof(*a));
    a->chunk_size = chunk_size ? chunk_size : 4096;
    return a;
}

void *arena_alloc(struct arena *a, size_t size)
{
    size = (size + 15) & ~(size_t) 15;
    struct chunk *c = a->head;
    if (c == NULL || c->size - c->used < size) {
        size_t want = size > a->chunk_size ? size : a->chunk_size;
        struct chunk *n = chunk_new(want);
        if (c != NULL && size > a->chunk_size) {
            /* Keep the partly used current chunk in front. */
            n->next = c->next;
            c->next = n;
            c = n;
        } else {
            n->next = c;
            a->head = c = n;
        }
    }
    void *p = c->data + c->used;
    c->used += size;
    a->total += size;
    return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t len)
{
    char *p = arena_alloc(a, len + 1);
    memcpy(p, s, len);
    p[len] = 0;
    return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
    return arena_strndup(a, s, strlen(s));
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[256];
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, copy);
    va_end(copy);
    char *p;
    if (n < 0) {
        p = arena_strdup(a, "");
    } else if ((size_t) n < sizeof(tmp)) {
        p = arena_strndup(a, tmp, (size_t) n);
    } else {
        p = arena_alloc(a, (size_t) n + 1);
        vsnprintf(p, (size_t) n + 1, fmt, ap);
    }
    va_end(ap);
    return p;
}

void arena_reset(struct arena *a)
{
    struct chunk *c = a->head;
    if (c == NULL)
        return;
    /* Keep the last (oldest, normal-sized) chunk. */
    while (c->next) {
        struct chunk *next = c->next;
        free(c);
        c = next;
    }
    c->used = 0;
    a->head = c;
    a->total = 0;
}

void arena_free(struct arena *a)
{
    if (a == NULL)
        return;
    struct chunk *c = a->head;
    while (c) {
        struct chunk *next = c->next;
        free(c);
        c = next;
    }
    free(a);
}

size_t arena_used(const struct arena *a)
{
    return a->total;
}
