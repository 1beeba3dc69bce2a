/* alloc.c: the process allocator behind nd_alloc, replaceable for tests (OOM injection). */
#include "noderr/alloc.h"
#include "noderr/assert.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *libc_alloc(void *ctx, size_t size)
{
    (void)ctx;
    return malloc(size);
}

static void *libc_realloc(void *ctx, void *ptr, size_t size)
{
    (void)ctx;
    return realloc(ptr, size);
}

static void libc_free(void *ctx, void *ptr)
{
    (void)ctx;
    free(ptr);
}

static const nd_allocator_t libc_allocator = {libc_alloc, libc_realloc, libc_free, NULL};
static nd_allocator_t current = {libc_alloc, libc_realloc, libc_free, NULL};

void nd_allocator_set(const nd_allocator_t *allocator)
{
    current = allocator ? *allocator : libc_allocator;
    ND_ASSERT(current.alloc != NULL);
    ND_ASSERT(current.free != NULL);
}

void *nd_alloc(size_t size)
{
    return current.alloc(current.ctx, size == 0 ? 1 : size);
}

void *nd_calloc(size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size)
        return NULL;
    /* With the C library's allocator, its calloc: a large block comes from fresh zero pages
     * that only become resident when touched, so a ring or pool sized for the worst case costs
     * memory only as far as it is used (the 10-symbol paper session's rings were 24 MB of it). */
    if (current.alloc == libc_alloc)
        return calloc(count == 0 ? 1 : count, size == 0 ? 1 : size);
    void *p = nd_alloc(count * size);
    if (p)
        memset(p, 0, count * size);
    return p;
}

void *nd_realloc(void *ptr, size_t size)
{
    return current.realloc(current.ctx, ptr, size == 0 ? 1 : size);
}

void nd_free(void *ptr)
{
    if (ptr)
        current.free(current.ctx, ptr);
}

char *nd_strdup(const char *s)
{
    ND_ASSERT(s != NULL);
    size_t len = strlen(s);
    char *p = nd_alloc(len + 1);
    if (p)
        memcpy(p, s, len + 1);
    return p;
}

_Noreturn void nd__assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "noderr: assertion failed: %s at %s:%d\n", expr, file, line);
    fflush(stderr);
    abort();
}

void *nd_array_grow(void *items, size_t *cap, size_t need, size_t elem, size_t first_cap)
{
    ND_ASSERT(cap != NULL);
    ND_ASSERT(elem > 0 && first_cap > 0);
    if (need <= *cap)
        return items;
    size_t grown = *cap ? *cap : first_cap;
    while (grown < need) {
        if (grown > SIZE_MAX / 2)
            return NULL;
        grown *= 2;
    }
    if (grown > SIZE_MAX / elem)
        return NULL;
    void *p = nd_realloc(items, grown * elem);
    if (p == NULL)
        return NULL;
    *cap = grown;
    return p;
}

void *nd_array_push(void *items_ptr, size_t *cap, size_t *count, size_t elem, size_t first_cap)
{
    ND_ASSERT(items_ptr != NULL && count != NULL);
    ND_ASSERT(cap != NULL && *count <= *cap);
    void *items; /* the caller's T *, read and written as bytes: object pointers share one form */
    memcpy(&items, items_ptr, sizeof items);
    char *grown = nd_array_grow(items, cap, *count + 1, elem, first_cap);
    if (!grown)
        return NULL;
    memcpy(items_ptr, &grown, sizeof grown);
    char *slot = grown + *count * elem;
    memset(slot, 0, elem);
    (*count)++;
    return slot;
}
