/* hmap.h: the one open-addressing hash table, for fixed-size keys and values (the surveillance
 * rules' per-day counters, the GA's memo cache of evaluated genomes).
 *
 * Linear probing, at most half full, a capacity that is a power of two (256 at first, then
 * doubling). Keys are compared byte for byte, so a key type must have no padding; the caller
 * gives the hash. A slot index stays valid until the next nd_hmap_reserve. Single-threaded. */
#ifndef NODERR_HMAP_H
#define NODERR_HMAP_H

#include "noderr/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t (*nd_hmap_hash_fn)(const void *key, size_t key_size);

typedef struct nd_hmap {
    unsigned char *_keys;
    unsigned char *_vals;
    unsigned char *_used;
    size_t _key_size;
    size_t _val_size;
    nd_hmap_hash_fn _hash;
    size_t capacity; /* read-only: slots, 0 before the first nd_hmap_reserve */
    size_t count;    /* read-only: keys held */
} nd_hmap_t;

/* FNV-1a (64 bits) of len bytes: the hash of byte-string keys (names, gene vectors). */
uint64_t nd_hash_fnv1a(const void *data, size_t len);

/* An empty table (nothing allocated yet). */
void nd_hmap_init(nd_hmap_t *m, size_t key_size, size_t val_size, nd_hmap_hash_fn hash);
void nd_hmap_deinit(nd_hmap_t *m);
/* Room for `more` keys beyond count: ND_OK, or ND_ENOMEM with the table as it was. */
nd_err_t nd_hmap_reserve(nd_hmap_t *m, size_t more);
/* The slot holding key, or the free slot where it belongs (capacity must be > 0). */
size_t nd_hmap_slot(const nd_hmap_t *m, const void *key);
/* Takes free slot s (from nd_hmap_slot, with room reserved) for key; returns its value, zeroed. */
void *nd_hmap_claim(nd_hmap_t *m, size_t s, const void *key);
/* The value of key, NULL when absent. */
void *nd_hmap_get(const nd_hmap_t *m, const void *key);

static inline bool nd_hmap_used(const nd_hmap_t *m, size_t s)
{
    return m->_used[s] != 0;
}

static inline void *nd_hmap_value(const nd_hmap_t *m, size_t s)
{
    return m->_vals + s * m->_val_size;
}

#endif
