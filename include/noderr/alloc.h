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
/* Returns count*size zeroed bytes, or NULL on overflow or out of memory. With the C library's
 * allocator this is its calloc: a large block's pages become resident only when touched, so a
 * ring or pool sized for the worst case costs memory as far as it is used. */
void *nd_calloc(size_t count, size_t size);
/* Resizes ptr; on failure returns NULL and ptr stays valid. */
void *nd_realloc(void *ptr, size_t size);
/* Frees memory from nd_alloc/nd_calloc/nd_realloc; NULL is a no-op. */
void nd_free(void *ptr);
/* Returns a nd_alloc'd copy of a NUL-terminated string, or NULL. */
char *nd_strdup(const char *s);

/* The one grow-by-doubling of a growable array: returns items with room for at least need
 * elements of elem bytes, reallocated when *cap is smaller (doubling from first_cap, so appends
 * cost O(1) amortised) and *cap updated; the new tail is uninitialised. Returns NULL, with items
 * and *cap untouched and still valid, when out of memory or when the size would overflow
 * size_t. Use: `T *grown = nd_array_grow(a->items, &a->cap, a->count + 1, sizeof *grown, 64);
 * if (!grown) fail; a->items = grown;`. */
void *nd_array_grow(void *items, size_t *cap, size_t need, size_t elem, size_t first_cap);
/* Appends one zeroed element to a growable array through nd_array_grow: items_ptr is the
 * address of the array's pointer (a T **), *count its length. Returns the new element, with the
 * array, *cap and *count updated; NULL (nothing changed) when out of memory. Use:
 * `T *e = nd_array_push(&a->items, &a->cap, &a->count, sizeof *e, 16); if (!e) fail;`. */
void *nd_array_push(void *items_ptr, size_t *cap, size_t *count, size_t elem, size_t first_cap);

#endif
