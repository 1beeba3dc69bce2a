/* pool.h: fixed-capacity object pool and ring buffer, allocated once at start-up.
 *
 * The engine's per-event loop takes orders from a pool and queues events in a ring, so after
 * start-up it never calls the allocator. Both are single-threaded. */
#ifndef NODERR_POOL_H
#define NODERR_POOL_H

#include "noderr/err.h"

#include <stddef.h>
#include <stdint.h>

typedef struct nd_pool {
    char *_slots;
    uint32_t *_free;
    size_t _slot_size;
    uint32_t capacity;   /* read-only */
    uint32_t free_count; /* read-only */
} nd_pool_t;

/* Allocates capacity slots of slot_size bytes; ND_ENOMEM or ND_EINVAL (zero sizes). */
nd_err_t nd_pool_init(nd_pool_t *pool, size_t slot_size, uint32_t capacity);
void nd_pool_deinit(nd_pool_t *pool);
/* Returns a zeroed slot, or NULL when every slot is in use. O(slot_size). */
void *nd_pool_get(nd_pool_t *pool);
/* Returns a slot taken from this pool; putting a foreign pointer or a slot twice aborts. */
void nd_pool_put(nd_pool_t *pool, void *slot);

typedef struct nd_ring {
    char *_items;
    size_t _item_size;
    uint32_t _mask;
    uint32_t _head; /* next to pop */
    uint32_t _tail; /* next to push */
} nd_ring_t;

/* Allocates a ring of capacity items (a power of two); ND_EINVAL otherwise, or ND_ENOMEM. */
nd_err_t nd_ring_init(nd_ring_t *ring, size_t item_size, uint32_t capacity);
void nd_ring_deinit(nd_ring_t *ring);
/* Copies item in; ND_EFULL when full (nothing copied). */
nd_err_t nd_ring_push(nd_ring_t *ring, const void *item);
/* Copies the oldest item out; ND_EAGAIN when empty. */
nd_err_t nd_ring_pop(nd_ring_t *ring, void *out /* OUT */);
static inline uint32_t nd_ring_count(const nd_ring_t *ring)
{
    return ring->_tail - ring->_head;
}
/* Pushing in place: the slot the next push fills (NULL when full), written by the caller and
 * then added by nd_ring_commit. Saves nd_ring_push's copy of an item built elsewhere. */
static inline void *nd_ring_slot(nd_ring_t *ring)
{
    if (ring->_tail - ring->_head > ring->_mask)
        return NULL;
    return ring->_items + (size_t)(ring->_tail & ring->_mask) * ring->_item_size;
}
static inline void nd_ring_commit(nd_ring_t *ring)
{
    ring->_tail++;
}
/* Popping in place: removes the oldest item and returns where it lies (NULL when empty). The
 * item stays readable there until pushes wrap the ring onto its slot. */
static inline const void *nd_ring_take(nd_ring_t *ring)
{
    if (ring->_tail == ring->_head)
        return NULL;
    return ring->_items + (size_t)(ring->_head++ & ring->_mask) * ring->_item_size;
}
/* An empty ring's next push goes to its first slot again. A ring that seldom holds many items
 * then keeps reusing the same few slots, warm in cache, and never touches (nor faults in) the
 * rest of its memory. Call it only when no item taken in place is still being read. */
static inline void nd_ring_rewind(nd_ring_t *ring)
{
    if (ring->_tail == ring->_head)
        ring->_tail = ring->_head = 0;
}

#endif
