/* alloc.h: all allocation goes through nd_alloc/nd_free, backed by an injectable vtable so that
 * tests can inject out-of-memory and count bytes. After start-up the engine's hot path does not
 * allocate: it uses pools and rings (pool.h, ring.h) sized from config. */
#ifndef NODERR_ALLOC_H
#define NODERR_ALLOC_H

#include <stddef.h>

typedef struct nd_allocator {
    void *(*alloc)(void *ctx, size_t size);
    void *(*realloc)(void *ctx, void *ptr, size_t size);
    void (*free)(void *ctx, void *ptr);
    void *ctx;
} nd_allocator_t;

/* Replaces the process allocator; NULL restores the C library's. Not thread-safe: call it at
 * start-up or in a test before any allocation. */
void nd_allocator_set(const nd_allocator_t *allocator);

/* Returns size bytes (uninitialised) or NULL when out of memory. The caller frees with nd_free. */
void *nd_alloc(size_t size);
/* Returns count*size zeroed bytes, or NULL on overflow or out of memory. */
void *nd_calloc(size_t count, size_t size);
/* Resizes ptr; on failure returns NULL and ptr stays valid. */
void *nd_realloc(void *ptr, size_t size);
/* Frees memory from nd_alloc/nd_calloc/nd_realloc; NULL is a no-op. */
void nd_free(void *ptr);
/* Returns a nd_alloc'd copy of a NUL-terminated string, or NULL. */
char *nd_strdup(const char *s);

#endif
