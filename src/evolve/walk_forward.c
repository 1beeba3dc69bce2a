/* walk_forward.c: the windows of `noderr evolve --walk-forward` (evolve.h).
 *
 * Spans come from the command line and may be as long as nd_span_parse allows (100 years or
 * 100 million bars), and bar times may be anywhere in int64: time sums are formed in __int128
 * (exact, never wrapping) and bar counts saturate at SIZE_MAX, which can only mean "beyond the
 * data". */
#include "noderr/evolve.h"

#include "noderr/assert.h"

#include <stdint.h>

static size_t add_bars_sat(size_t a, int64_t b)
{
    ND_ASSERT(b >= 0);
    size_t r;
    return __builtin_add_overflow(a, (uint64_t)b, &r) ? SIZE_MAX : r;
}

/* The first index at or after from whose time is >= ts. Times are compared as __int128 so an end
 * past INT64_MAX stays past every bar instead of wrapping or saturating onto the last one. */
static size_t index_at(const nd_evolve_bars_t *d, size_t from, __int128 ts)
{
    while (from < d->count && (__int128)d->bars[from].ts_ns < ts)
        from++;
    return from;
}

/* The end of a slice of span starting at bar begin: an index in [begin, count], or beyond count
 * (bars); *end_ns is where a time span ends, exactly. */
static size_t slice_end(const nd_evolve_bars_t *d, size_t begin, nd_span_t span,
                        __int128 *end_ns)
{
    if (span.bars) {
        *end_ns = 0;
        return add_bars_sat(begin, span.value);
    }
    *end_ns = (__int128)d->bars[begin].ts_ns + span.value;
    return index_at(d, begin, *end_ns);
}

int nd_evolve_window_at(const nd_evolve_bars_t *d, size_t begin, nd_span_t train, nd_span_t test,
                        nd_evolve_window_t *w)
{
    ND_ASSERT(d != NULL && w != NULL);
    ND_ASSERT(train.value > 0 && test.value > 0);
    if (d->count < 2 || begin >= d->count)
        return 0;
    __int128 train_end_ns = 0, test_end_ns = 0;
    size_t train_end = slice_end(d, begin, train, &train_end_ns);
    if (train_end >= d->count || train_end == begin)
        return 0;
    size_t test_end = slice_end(d, train_end, test, &test_end_ns);
    if (test_end > d->count || test_end == train_end)
        return 0;
    if (!test.bars && test_end == d->count) {
        /* The data ends inside this test span: it counts only when the last bar's interval
         * reaches the span's end. */
        __int128 last_ns = d->bars[d->count - 1].ts_ns;
        __int128 step = last_ns - d->bars[d->count - 2].ts_ns;
        if (last_ns + (step > 0 ? step : 0) < test_end_ns)
            return 0;
    }
    w->train_begin = begin;
    w->train_end = train_end;
    w->test_end = test_end;
    ND_ASSERT(w->train_begin < w->train_end && w->train_end < w->test_end);
    ND_ASSERT(w->test_end <= d->count);
    return 1;
}

size_t nd_evolve_window_next(const nd_evolve_bars_t *d, size_t begin, nd_span_t test)
{
    ND_ASSERT(d != NULL && test.value > 0);
    if (begin >= d->count)
        return d->count;
    __int128 end_ns = 0;
    size_t next = slice_end(d, begin, test, &end_ns);
    if (next <= begin) /* equal times in the data: still move on */
        next = begin + 1;
    return next > d->count ? d->count : next;
}
