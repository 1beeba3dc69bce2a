/* hmap.c: the open-addressing hash table (hmap.h). */
#include "noderr/hmap.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"

#include <string.h>

#define FIRST_CAPACITY 256

uint64_t nd_hash_fnv1a(const void *data, size_t len)
{
    const unsigned char *bytes = data;
    uint64_t h = 0xcbf29ce484222325ull; /* the FNV offset basis */
    for (size_t i = 0; i < len; i++)
        h = (h ^ bytes[i]) * 1099511628211ull;
    return h;
}

void nd_hmap_init(nd_hmap_t *m, size_t key_size, size_t val_size, nd_hmap_hash_fn hash)
{
    ND_ASSERT(m != NULL && hash != NULL);
    ND_ASSERT(key_size > 0 && val_size > 0);
    memset(m, 0, sizeof *m);
    m->_key_size = key_size;
    m->_val_size = val_size;
    m->_hash = hash;
}

void nd_hmap_deinit(nd_hmap_t *m)
{
    nd_free(m->_keys);
    nd_free(m->_vals);
    nd_free(m->_used);
    m->_keys = m->_vals = m->_used = NULL;
    m->capacity = m->count = 0;
}

size_t nd_hmap_slot(const nd_hmap_t *m, const void *key)
{
    ND_ASSERT(m->capacity > 0);
    size_t mask = m->capacity - 1, s = (size_t)m->_hash(key, m->_key_size) & mask;
    while (m->_used[s] && memcmp(m->_keys + s * m->_key_size, key, m->_key_size) != 0)
        s = (s + 1) & mask;
    return s;
}

void *nd_hmap_claim(nd_hmap_t *m, size_t s, const void *key)
{
    ND_ASSERT(s < m->capacity && !m->_used[s]);
    ND_ASSERT((m->count + 1) * 2 <= m->capacity);
    memcpy(m->_keys + s * m->_key_size, key, m->_key_size);
    m->_used[s] = 1;
    m->count++;
    void *value = nd_hmap_value(m, s);
    memset(value, 0, m->_val_size);
    return value;
}

void *nd_hmap_get(const nd_hmap_t *m, const void *key)
{
    if (m->capacity == 0)
        return NULL;
    size_t s = nd_hmap_slot(m, key);
    return m->_used[s] ? nd_hmap_value(m, s) : NULL;
}

nd_err_t nd_hmap_reserve(nd_hmap_t *m, size_t more)
{
    if ((m->count + more) * 2 <= m->capacity)
        return ND_OK;
    size_t cap = m->capacity ? m->capacity : FIRST_CAPACITY;
    while ((m->count + more) * 2 > cap)
        cap *= 2;
    nd_hmap_t grown = *m;
    grown.capacity = cap;
    grown.count = 0;
    grown._keys = nd_calloc(cap, m->_key_size);
    grown._vals = nd_calloc(cap, m->_val_size);
    grown._used = nd_calloc(cap, 1);
    if (!grown._keys || !grown._vals || !grown._used) {
        nd_hmap_deinit(&grown);
        return ND_ENOMEM;
    }
    for (size_t s = 0; s < m->capacity; s++) {
        if (!m->_used[s])
            continue;
        const unsigned char *key = m->_keys + s * m->_key_size;
        size_t t = nd_hmap_slot(&grown, key);
        memcpy(grown._keys + t * m->_key_size, key, m->_key_size);
        memcpy(nd_hmap_value(&grown, t), nd_hmap_value(m, s), m->_val_size);
        grown._used[t] = 1;
        grown.count++;
    }
    ND_ASSERT(grown.count == m->count);
    nd_hmap_deinit(m);
    *m = grown;
    return ND_OK;
}
