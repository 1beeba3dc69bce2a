/* bars_view.c: views of bar streams: resampling to a coarser timeframe and a time range
 * (market.h nd_bar_view_t), as one pull source wrapping another; and the time-ordered merge of
 * several instruments' streams (nd_bars_merge).
 *
 * Invariants: bars come out in strictly increasing open time, each resampled bar's open time a
 * multiple of the timeframe; prices and volumes are the source's integers combined exactly (no
 * rounding anywhere); a bar is never invented for a gap. Memory is O(1): one bucket in progress. */
#include "noderr/assert.h"
#include "noderr/clock.h"
#include "noderr/market.h"
#include "noderr/alloc.h"
#include "noderr/err.h"

#include <string.h>

typedef struct view_src {
    nd_bar_source_t base;
    nd_bar_source_t *inner;     /* owned */
    nd_bar_view_t view;
    const char *name;           /* borrowed, for messages */
    /* Resampling: the bucket in progress and what the source's bars told so far. */
    nd_bar_t bucket;
    bool has_bucket;
    bool inner_done;
    int64_t raw_count;
    int64_t last_raw_ns;
    int64_t interval_ns;        /* smallest gap between source bars; 0 before the second bar */
    /* The range: the stream's own first and last open times, for the message of an empty one. */
    int64_t seen, kept;
    int64_t first_ns, last_ns;
    bool done;
} view_src_t;

bool nd_bar_view_is_identity(const nd_bar_view_t *view)
{
    ND_ASSERT(view != NULL);
    return view->timeframe_ns == 0 && view->range.start_ns == 0 && view->range.end_ns == 0;
}

static int64_t floor_to(int64_t ts, int64_t step)
{
    int64_t q = ts / step;
    if (ts % step < 0)
        q--;
    return q * step;
}

static nd_err_t inner_next(view_src_t *v, nd_bar_t *out)
{
    nd_err_t rc = v->inner->next(v->inner, out);
    if (rc != ND_OK && rc != ND_EEOF)
        nd_err_put(v->base.err, sizeof v->base.err, "%s", v->inner->err);
    return rc;
}

/* Learns the source's interval from one more gap; an error when the timeframe does not fit. */
static nd_err_t note_gap(view_src_t *v, int64_t gap_ns)
{
    ND_ASSERT(gap_ns > 0);
    if (v->interval_ns != 0 && gap_ns >= v->interval_ns)
        return ND_OK;
    v->interval_ns = gap_ns;
    int64_t tf = v->view.timeframe_ns;
    if (tf % gap_ns == 0)
        return ND_OK;
    char want[24], have[24];
    nd_span_format(tf, want, sizeof want);
    nd_span_format(gap_ns, have, sizeof have);
    nd_err_put(v->base.err, sizeof v->base.err, "--timeframe %s is %s the %s bars of %s: "
               "resampling needs a whole multiple of the source's interval", want,
               tf < gap_ns ? "finer than" : "not a whole multiple of", have, v->name);
    return ND_EINVAL;
}

/* Merges one source bar into the bucket (same bucket); ND_EOVERFLOW on the volume sum. */
static nd_err_t merge(view_src_t *v, const nd_bar_t *b)
{
    nd_bar_t *acc = &v->bucket;
    ND_ASSERT(b->ts_ns > acc->ts_ns);
    if (b->high > acc->high)
        acc->high = b->high;
    if (b->low < acc->low)
        acc->low = b->low;
    acc->close = b->close;
    if (__builtin_add_overflow(acc->volume, b->volume, &acc->volume)) {
        char ts[32];
        nd_time_format_iso(acc->ts_ns, ts, sizeof ts);
        nd_err_put(v->base.err, sizeof v->base.err, "--timeframe: the volume of %s's bar at %s "
                   "overflows", v->name, ts);
        return ND_EOVERFLOW;
    }
    return ND_OK;
}

/* The last bucket, if the source covered it to its end. */
static nd_err_t flush_last(view_src_t *v, nd_bar_t *out)
{
    if (!v->has_bucket)
        return ND_EEOF;
    v->has_bucket = false;
    if (v->interval_ns == 0) {
        nd_err_put(v->base.err, sizeof v->base.err, "--timeframe: %s holds one bar: no interval "
                   "to resample from", v->name);
        return ND_EINVAL;
    }
    if (v->last_raw_ns + v->interval_ns < v->bucket.ts_ns + v->view.timeframe_ns)
        return ND_EEOF; /* still open when the data ends: dropped */
    *out = v->bucket;
    return ND_OK;
}

static nd_err_t resample_next(view_src_t *v, nd_bar_t *out)
{
    if (v->inner_done)
        return flush_last(v, out);
    int64_t tf = v->view.timeframe_ns;
    for (;;) {
        nd_bar_t b;
        nd_err_t rc = inner_next(v, &b);
        if (rc == ND_EEOF) {
            v->inner_done = true;
            return flush_last(v, out);
        }
        if (rc != ND_OK)
            return rc;
        if (v->raw_count > 0 && (rc = note_gap(v, b.ts_ns - v->last_raw_ns)) != ND_OK)
            return rc;
        v->raw_count++;
        v->last_raw_ns = b.ts_ns;
        int64_t start = floor_to(b.ts_ns, tf);
        if (v->has_bucket && start == v->bucket.ts_ns) {
            if ((rc = merge(v, &b)) != ND_OK)
                return rc;
            continue;
        }
        bool ready = v->has_bucket;
        if (ready)
            *out = v->bucket;
        v->bucket = b;
        v->bucket.ts_ns = start;
        v->has_bucket = true;
        if (ready)
            return ND_OK;
    }
}

/* The end of the stream: an error when the range held none of its bars. */
static nd_err_t finish(view_src_t *v)
{
    v->done = true;
    if (v->kept > 0 || (v->view.range.start_ns == 0 && v->view.range.end_ns == 0))
        return ND_EEOF;
    /* Read on to learn where the data ends. */
    nd_bar_t b;
    nd_err_t rc;
    while ((rc = v->view.timeframe_ns ? resample_next(v, &b) : inner_next(v, &b)) == ND_OK) {
        if (v->seen++ == 0)
            v->first_ns = b.ts_ns;
        v->last_ns = b.ts_ns;
    }
    if (rc != ND_EEOF)
        return rc;
    char range[64], a[32], b_text[32];
    nd_timerange_format(&v->view.range, range, sizeof range);
    if (v->seen == 0) {
        nd_err_put(v->base.err, sizeof v->base.err, "--timerange %s: %s holds no bar", range,
                   v->name);
        return ND_ERANGE;
    }
    nd_time_format_iso(v->first_ns, a, sizeof a);
    nd_time_format_iso(v->last_ns, b_text, sizeof b_text);
    nd_err_put(v->base.err, sizeof v->base.err, "--timerange %s holds no bar of %s, whose %sbars "
               "open from %s to %s", range, v->name, v->view.timeframe_ns ? "resampled " : "", a,
               b_text);
    return ND_ERANGE;
}

static nd_err_t view_next(nd_bar_source_t *base, nd_bar_t *out)
{
    view_src_t *v = (view_src_t *)base;
    ND_ASSERT(out != NULL);
    if (v->done)
        return ND_EEOF;
    for (;;) {
        nd_bar_t bar;
        nd_err_t rc = v->view.timeframe_ns ? resample_next(v, &bar) : inner_next(v, &bar);
        if (rc == ND_EEOF)
            return finish(v);
        if (rc != ND_OK)
            return rc;
        if (v->seen++ == 0)
            v->first_ns = bar.ts_ns;
        v->last_ns = bar.ts_ns;
        if (bar.ts_ns < v->view.range.start_ns)
            continue;
        if (v->view.range.end_ns != 0 && bar.ts_ns >= v->view.range.end_ns)
            return finish(v);
        v->kept++;
        *out = bar;
        return ND_OK;
    }
}

static void view_close(nd_bar_source_t *base)
{
    view_src_t *v = (view_src_t *)base;
    v->inner->close(v->inner);
    nd_free(v);
}

nd_err_t nd_bars_view(nd_bar_source_t *src, const nd_bar_view_t *view, const char *name,
                      nd_bar_source_t **out, char *err, size_t err_len)
{
    ND_ASSERT(src != NULL && view != NULL);
    ND_ASSERT(out != NULL && name != NULL);
    ND_ASSERT(view->timeframe_ns >= 0);
    if (nd_bar_view_is_identity(view)) {
        *out = src;
        return ND_OK;
    }
    int64_t tf = view->timeframe_ns;
    char shown[24] = "";
    if (tf != 0)
        nd_span_format(tf, shown, sizeof shown);
    if (tf != 0 && ((tf > ND_NS_PER_DAY && tf % ND_NS_PER_DAY != 0) ||
                    tf % (7 * ND_NS_PER_DAY) == 0)) {
        nd_err_put(err, err_len, "--timeframe %s: want at most 1d or a whole number of days, "
                   "not weeks (Binance's weeks start on Monday, Unix time on a Thursday)", shown);
        src->close(src);
        return ND_EINVAL;
    }
    view_src_t *v = nd_calloc(1, sizeof *v);
    if (!v) {
        nd_err_put(err, err_len, "out of memory");
        src->close(src);
        return ND_ENOMEM;
    }
    v->base.next = view_next;
    v->base.close = view_close;
    v->inner = src;
    v->view = *view;
    v->name = name;
    *out = &v->base;
    return ND_OK;
}

nd_err_t nd_bars_open_view(const char *path, nd_bar_format_t format, const nd_instrument_t *inst,
                           const nd_bar_view_t *view, nd_bar_source_t **out, char *err,
                           size_t err_len)
{
    nd_bar_source_t *src = NULL;
    nd_err_t rc = nd_bars_open(path, format, inst, &src, err, err_len);
    if (rc != ND_OK)
        return rc;
    return nd_bars_view(src, view, path, out, err, err_len);
}

/* ---- Several instruments in one stream. ------------------------------------------------- */

typedef struct merge_src {
    nd_bar_source_t base;
    nd_bar_source_t *sources[ND_BARS_MERGE_MAX]; /* owned */
    nd_bar_t head[ND_BARS_MERGE_MAX];
    bool live[ND_BARS_MERGE_MAX];                /* head[k] holds source k's next bar */
    uint32_t count;
    bool started;
} merge_src_t;

static nd_err_t merge_pull(merge_src_t *m, uint32_t k)
{
    nd_err_t rc = m->sources[k]->next(m->sources[k], &m->head[k]);
    m->live[k] = rc == ND_OK;
    if (rc != ND_OK && rc != ND_EEOF)
        nd_err_put(m->base.err, sizeof m->base.err, "%s", m->sources[k]->err);
    return rc == ND_EEOF ? ND_OK : rc;
}

static nd_err_t merge_next(nd_bar_source_t *base, nd_bar_t *out)
{
    merge_src_t *m = (merge_src_t *)base;
    ND_ASSERT(out != NULL);
    for (uint32_t k = 0; !m->started && k < m->count; k++) {
        nd_err_t rc = merge_pull(m, k);
        if (rc != ND_OK)
            return rc;
    }
    m->started = true;
    uint32_t best = m->count;
    for (uint32_t k = 0; k < m->count; k++) /* strict <: the lower index wins a tie */
        if (m->live[k] && (best == m->count || m->head[k].ts_ns < m->head[best].ts_ns))
            best = k;
    if (best == m->count)
        return ND_EEOF;
    *out = m->head[best];
    return merge_pull(m, best);
}

static void merge_close(nd_bar_source_t *base)
{
    merge_src_t *m = (merge_src_t *)base;
    for (uint32_t k = 0; k < m->count; k++)
        m->sources[k]->close(m->sources[k]);
    nd_free(m);
}

nd_err_t nd_bars_merge(nd_bar_source_t *const *sources, uint32_t count, nd_bar_source_t **out,
                       char *err, size_t err_len)
{
    ND_ASSERT(sources != NULL && out != NULL);
    ND_ASSERT(count >= 1 && count <= ND_BARS_MERGE_MAX);
    merge_src_t *m = nd_calloc(1, sizeof *m);
    if (!m) {
        for (uint32_t k = 0; k < count; k++)
            sources[k]->close(sources[k]);
        nd_err_put(err, err_len, "out of memory");
        return ND_ENOMEM;
    }
    m->base.next = merge_next;
    m->base.close = merge_close;
    memcpy(m->sources, sources, count * sizeof sources[0]);
    m->count = count;
    *out = &m->base;
    return ND_OK;
}
