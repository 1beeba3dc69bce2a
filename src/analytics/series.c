/* series.c: a growable array of doubles (returns, equity curves) owned by the caller.
 *
 * Invariants: count <= capacity; values is NULL exactly when capacity is 0; a failed push
 * leaves the series as it was. Capacity doubles, so n pushes cost O(n) copies in total. */
#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/metrics.h"

#include <stdint.h>

/* The first allocation holds this many values: small series (a test, a short backtest) then
 * grow without a burst of tiny reallocations. */
#define ND_SERIES_CAPACITY_MIN 64

void nd_series_init(nd_series_t *s)
{
    ND_ASSERT(s != NULL);
    s->values = NULL;
    s->count = 0;
    s->capacity = 0;
}

/* Doubles the capacity; ND_ENOMEM when the new size overflows or memory is short. */
static nd_err_t series_grow(nd_series_t *s)
{
    ND_ASSERT(s->count == s->capacity);
    size_t capacity = s->capacity == 0 ? ND_SERIES_CAPACITY_MIN : s->capacity;
    if (s->capacity != 0) {
        if (capacity > SIZE_MAX / 2 / sizeof(double))
            return ND_ENOMEM;
        capacity *= 2;
    }
    /* nd_alloc for the first block: an injected allocator need not accept realloc(NULL). */
    double *values = s->values ? nd_realloc(s->values, capacity * sizeof(double))
                               : nd_alloc(capacity * sizeof(double));
    if (!values)
        return ND_ENOMEM;
    s->values = values;
    s->capacity = capacity;
    ND_ASSERT(s->count < s->capacity);
    return ND_OK;
}

nd_err_t nd_series_push(nd_series_t *s, double value)
{
    ND_ASSERT(s != NULL);
    ND_ASSERT(s->count <= s->capacity);
    if (s->count == s->capacity) {
        nd_err_t err = series_grow(s);
        if (err != ND_OK)
            return err;
    }
    s->values[s->count++] = value;
    return ND_OK;
}

void nd_series_deinit(nd_series_t *s)
{
    ND_ASSERT(s != NULL);
    ND_ASSERT(s->count <= s->capacity);
    nd_free(s->values);
    nd_series_init(s);
}
