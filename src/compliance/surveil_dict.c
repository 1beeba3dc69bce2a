/* surveil_dict.c: the name interning table of the surveillance engine.
 *
 * Names live back to back, NUL-terminated, in one growing arena; offsets[id] is where name id
 * starts. An open-addressing hash table (FNV-1a, linear probing, at most half full) maps a name
 * to its id. Ids are dense from 0 in order of first appearance, which makes every output that
 * sorts by id deterministic for a given input. */
#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/hmap.h"
#include "noderr/surveillance.h"

#include <string.h>

#define DICT_IDS_MAX 0x7FFFFFFFu
#define EMPTY_SLOT UINT32_MAX

struct nd_surv_dict {
    char *arena;
    size_t arena_len;
    size_t arena_cap;
    size_t *offsets;
    uint32_t count;
    uint32_t offsets_cap;
    uint32_t *slots; /* id per slot, EMPTY_SLOT when free */
    size_t slot_cap; /* power of two */
};

nd_err_t nd_surv_dict_create(nd_surv_dict_t **out)
{
    ND_ASSERT(out != NULL);
    nd_surv_dict_t *d = nd_calloc(1, sizeof *d);
    if (!d)
        return ND_ENOMEM;
    d->slot_cap = 64;
    d->slots = nd_alloc(d->slot_cap * sizeof *d->slots);
    if (!d->slots) {
        nd_free(d);
        return ND_ENOMEM;
    }
    memset(d->slots, 0xFF, d->slot_cap * sizeof *d->slots);
    *out = d;
    return ND_OK;
}

void nd_surv_dict_destroy(nd_surv_dict_t *dict)
{
    if (!dict)
        return;
    nd_free(dict->arena);
    nd_free(dict->offsets);
    nd_free(dict->slots);
    nd_free(dict);
}

static const char *name_at(const nd_surv_dict_t *d, uint32_t id)
{
    return d->arena + d->offsets[id];
}

/* Returns the slot holding text, or the free slot where it would go. */
static size_t probe(const nd_surv_dict_t *d, const char *text, size_t len, uint64_t h)
{
    size_t mask = d->slot_cap - 1;
    size_t i = (size_t)h & mask;
    while (d->slots[i] != EMPTY_SLOT) {
        const char *name = name_at(d, d->slots[i]);
        if (strncmp(name, text, len) == 0 && name[len] == '\0')
            return i;
        i = (i + 1) & mask;
    }
    return i;
}

static nd_err_t grow_slots(nd_surv_dict_t *d)
{
    size_t cap = d->slot_cap * 2;
    uint32_t *slots = nd_alloc(cap * sizeof *slots);
    if (!slots)
        return ND_ENOMEM;
    memset(slots, 0xFF, cap * sizeof *slots);
    for (uint32_t id = 0; id < d->count; id++) {
        const char *name = name_at(d, id);
        size_t i = (size_t)nd_hash_fnv1a(name, strlen(name)) & (cap - 1);
        while (slots[i] != EMPTY_SLOT)
            i = (i + 1) & (cap - 1);
        slots[i] = id;
    }
    nd_free(d->slots);
    d->slots = slots;
    d->slot_cap = cap;
    return ND_OK;
}

/* Makes room for one more name of len bytes in the arena and the offsets. */
static nd_err_t reserve_name(nd_surv_dict_t *d, size_t len)
{
    char *arena = nd_array_grow(d->arena, &d->arena_cap, d->arena_len + len + 1, 1, 4096);
    if (!arena)
        return ND_ENOMEM;
    d->arena = arena;
    if (d->count == d->offsets_cap) {
        uint32_t cap = d->offsets_cap ? d->offsets_cap * 2 : 256;
        size_t *offsets = nd_realloc(d->offsets, (size_t)cap * sizeof *offsets);
        if (!offsets)
            return ND_ENOMEM;
        d->offsets = offsets;
        d->offsets_cap = cap;
    }
    return ND_OK;
}

nd_err_t nd_surv_dict_intern(nd_surv_dict_t *d, const char *text, size_t len, uint32_t *id)
{
    ND_ASSERT(d != NULL);
    ND_ASSERT(text != NULL);
    ND_ASSERT(memchr(text, '\0', len) == NULL);
    uint64_t h = nd_hash_fnv1a(text, len);
    size_t slot = probe(d, text, len, h);
    if (d->slots[slot] != EMPTY_SLOT) {
        *id = d->slots[slot];
        return ND_OK;
    }
    if (d->count >= DICT_IDS_MAX)
        return ND_EFULL;
    if (reserve_name(d, len) != ND_OK)
        return ND_ENOMEM;
    if ((size_t)(d->count + 1) * 2 > d->slot_cap) {
        if (grow_slots(d) != ND_OK)
            return ND_ENOMEM;
        slot = probe(d, text, len, h);
    }
    uint32_t new_id = d->count++;
    d->offsets[new_id] = d->arena_len;
    memcpy(d->arena + d->arena_len, text, len);
    d->arena[d->arena_len + len] = '\0';
    d->arena_len += len + 1;
    d->slots[slot] = new_id;
    *id = new_id;
    return ND_OK;
}

nd_err_t nd_surv_dict_find(const nd_surv_dict_t *d, const char *text, size_t len, uint32_t *id)
{
    ND_ASSERT(d != NULL);
    ND_ASSERT(text != NULL);
    size_t slot = probe(d, text, len, nd_hash_fnv1a(text, len));
    if (d->slots[slot] == EMPTY_SLOT)
        return ND_ENOTFOUND;
    *id = d->slots[slot];
    return ND_OK;
}

const char *nd_surv_dict_name(const nd_surv_dict_t *d, uint32_t id)
{
    ND_ASSERT(d != NULL);
    return id < d->count ? name_at(d, id) : "?";
}

uint32_t nd_surv_dict_count(const nd_surv_dict_t *d)
{
    ND_ASSERT(d != NULL);
    return d->count;
}
