/* pool.c: the object pool (a free-index stack over one slab) and the ring buffer (power-of-two
 * capacity, free-running 32-bit indices so that head == tail means empty without a flag). */
#include "noderr/pool.h"
#include "noderr/alloc.h"
#include "noderr/assert.h"

#include <stdint.h>
#include <string.h>

nd_err_t nd_pool_init(nd_pool_t *pool, size_t slot_size, uint32_t capacity)
{
    ND_ASSERT(pool != NULL);
    memset(pool, 0, sizeof *pool);
    if (slot_size == 0 || capacity == 0)
        return ND_EINVAL;
    pool->_slots = nd_calloc(capacity, slot_size);
    pool->_free = nd_calloc(capacity, sizeof(uint32_t));
    if (!pool->_slots || !pool->_free) {
        nd_pool_deinit(pool);
        return ND_ENOMEM;
    }
    pool->_slot_size = slot_size;
    pool->capacity = capacity;
    /* Hand out low indices first so that a short run touches little memory. */
    for (uint32_t i = 0; i < capacity; i++)
        pool->_free[i] = capacity - 1 - i;
    pool->free_count = capacity;
    return ND_OK;
}

void nd_pool_deinit(nd_pool_t *pool)
{
    nd_free(pool->_slots);
    nd_free(pool->_free);
    memset(pool, 0, sizeof *pool);
}

void *nd_pool_get(nd_pool_t *pool)
{
    if (pool->free_count == 0)
        return NULL;
    uint32_t index = pool->_free[--pool->free_count];
    ND_ASSERT(index < pool->capacity);
    void *slot = pool->_slots + (size_t)index * pool->_slot_size;
    memset(slot, 0, pool->_slot_size);
    return slot;
}

void nd_pool_put(nd_pool_t *pool, void *slot)
{
    char *p = slot;
    ND_ASSERT(p >= pool->_slots);
    size_t offset = (size_t)(p - pool->_slots);
    ND_ASSERT(offset % pool->_slot_size == 0);
    ND_ASSERT(offset / pool->_slot_size < pool->capacity);
    ND_ASSERT(pool->free_count < pool->capacity);
    ND_DEBUG_ASSERT(({
        int twice = 0;
        for (uint32_t i = 0; i < pool->free_count; i++)
            twice |= pool->_free[i] == offset / pool->_slot_size;
        !twice;
    }));
    pool->_free[pool->free_count++] = (uint32_t)(offset / pool->_slot_size);
}

nd_err_t nd_ring_init(nd_ring_t *ring, size_t item_size, uint32_t capacity)
{
    ND_ASSERT(ring != NULL);
    memset(ring, 0, sizeof *ring);
    if (item_size == 0 || capacity == 0 || (capacity & (capacity - 1)) != 0)
        return ND_EINVAL;
    /* Not zeroed: a slot is always written by push before pop reads it, and zeroing a large
     * event ring costs more than a whole short backtest's bookkeeping. */
    if (item_size > SIZE_MAX / capacity)
        return ND_EINVAL;
    ring->_items = nd_alloc((size_t)capacity * item_size);
    if (!ring->_items)
        return ND_ENOMEM;
    ring->_item_size = item_size;
    ring->_mask = capacity - 1;
    return ND_OK;
}

void nd_ring_deinit(nd_ring_t *ring)
{
    nd_free(ring->_items);
    memset(ring, 0, sizeof *ring);
}

nd_err_t nd_ring_push(nd_ring_t *ring, const void *item)
{
    if (ring->_tail - ring->_head > ring->_mask)
        return ND_EFULL;
    memcpy(ring->_items + (size_t)(ring->_tail & ring->_mask) * ring->_item_size, item,
           ring->_item_size);
    ring->_tail++;
    return ND_OK;
}

nd_err_t nd_ring_pop(nd_ring_t *ring, void *out)
{
    if (ring->_tail == ring->_head)
        return ND_EAGAIN;
    memcpy(out, ring->_items + (size_t)(ring->_head & ring->_mask) * ring->_item_size,
           ring->_item_size);
    ring->_head++;
    return ND_OK;
}
