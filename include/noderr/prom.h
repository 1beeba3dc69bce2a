/* prom.h: the metrics registry of a running process (sessions, exchange-sim) and its Prometheus
 * text exposition (format 0.0.4). Not the analytics metrics of a return series: that is
 * metrics.h.
 *
 * Families (a name, HELP text, a type, a fixed list of label names) and their series (one value
 * per label name) are registered at start-up, where they allocate; after that the hot path only
 * updates cells: plain 64-bit integers behind relaxed atomics, no lock, no allocation, no float.
 * Each series has one writer thread (the engine's or the loop's); a scrape on another thread
 * reads every cell without a lock and sees each value whole (never torn), though a histogram
 * read while it is updated may be one observation out between its buckets, sum and count.
 *
 * Values are integers with a per-family number of decimal places (money at 8, nanoseconds
 * rendered as seconds at 9): the exposition prints them as exact decimals ("1234.5", never a
 * binary float). Names follow Prometheus conventions, which the registry checks: a counter ends
 * in _total, units are in the name (_seconds, _bytes, _usd), label values are escaped.
 * Owned by src/monitor/prom.c; docs/monitoring.md lists every metric the processes export. */
#ifndef NODERR_PROM_H
#define NODERR_PROM_H

#include "noderr/err.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Label names a family may have, and histogram buckets (without +Inf). */
#define ND_PROM_LABELS_MAX 4
#define ND_PROM_BUCKETS_MAX 24
/* Length of a metric or label name, and of one label value. */
#define ND_PROM_NAME_MAX 96
#define ND_PROM_VALUE_MAX 128

typedef enum nd_prom_type {
    ND_PROM_COUNTER = 0,   /* only goes up (name ends in _total) */
    ND_PROM_GAUGE = 1,     /* goes up and down */
    ND_PROM_HISTOGRAM = 2, /* observations counted into fixed buckets, with sum and count */
} nd_prom_type_t;

typedef struct nd_prom nd_prom_t;
typedef struct nd_prom_family nd_prom_family_t;

/* One value. Public so that updates inline to a load and a store; touch it only through the
 * functions below. */
typedef struct nd_prom_cell {
    _Atomic int64_t value;
} nd_prom_cell_t;

/* One histogram series: bucket i counts observations <= bounds[i] (not cumulative here; the
 * exposition sums them), the last bucket counts those above every bound (+Inf). */
typedef struct nd_prom_hist {
    const int64_t *bounds; /* the family's, ascending */
    uint32_t bound_count;
    nd_prom_cell_t buckets[ND_PROM_BUCKETS_MAX + 1];
    nd_prom_cell_t sum;
    nd_prom_cell_t count;
} nd_prom_hist_t;

/* ---- Hot path: no lock, no allocation, O(1) (a histogram: O(buckets)) ---------------------- */

/* Adds n (>= 0 for a counter) to a counter or gauge. Single writer per cell. */
static inline void nd_prom_add(nd_prom_cell_t *cell, int64_t n)
{
    int64_t v = atomic_load_explicit(&cell->value, memory_order_relaxed);
    atomic_store_explicit(&cell->value, v + n, memory_order_relaxed);
}

/* Sets a gauge. */
static inline void nd_prom_set(nd_prom_cell_t *cell, int64_t value)
{
    atomic_store_explicit(&cell->value, value, memory_order_relaxed);
}

static inline int64_t nd_prom_get(const nd_prom_cell_t *cell)
{
    return atomic_load_explicit(&((nd_prom_cell_t *)cell)->value, memory_order_relaxed);
}

/* Counts one observation (in the family's integer unit, e.g. nanoseconds). */
static inline void nd_prom_observe(nd_prom_hist_t *h, int64_t value)
{
    uint32_t i = 0;
    while (i < h->bound_count && value > h->bounds[i])
        i++;
    nd_prom_add(&h->buckets[i], 1);
    nd_prom_add(&h->sum, value);
    nd_prom_add(&h->count, 1);
}

/* The q-quantile (millionths: 500000 the median) of what h has seen, interpolated linearly in
 * the bucket that holds it (as Prometheus' histogram_quantile): an estimate within that
 * bucket's bounds; the top finite bound when it falls in +Inf; 0 with no observation. */
int64_t nd_prom_hist_quantile(const nd_prom_hist_t *h, int64_t q_e6);

/* ---- Registration (start-up: allocates) --------------------------------------------------- */

/* Creates an empty registry. Returns ND_ENOMEM; the caller destroys it with nd_prom_destroy. */
nd_err_t nd_prom_create(nd_prom_t **out /* OUT */);
/* Frees the registry, its families and series (every cell pointer becomes invalid). */
void nd_prom_destroy(nd_prom_t *p);

/* Registers a family. name: [a-zA-Z_:][a-zA-Z0-9_:]*, a counter's ending in _total, not
 * already registered; label_names: NULL-terminated, at most ND_PROM_LABELS_MAX, each
 * [a-zA-Z_][a-zA-Z0-9_]* and not starting with "__" nor equal to "le"; decimals (0..18): the
 * places the integer values carry. For a histogram, bounds[0..bound_count) ascending (at most
 * ND_PROM_BUCKETS_MAX, in the same integer unit; copied); NULL and 0 for other types.
 * ND_EINVAL (err says which name and why), ND_EEXIST, ND_ENOMEM. The registry owns the family. */
nd_err_t nd_prom_family(nd_prom_t *p, nd_prom_type_t type, const char *name, const char *help,
                        int decimals, const char *const *label_names, const int64_t *bounds,
                        uint32_t bound_count, nd_prom_family_t **out /* OUT */, char *err,
                        size_t err_len);

/* Adds a series to a counter or gauge family: label_values has one value per label name (any
 * bytes up to ND_PROM_VALUE_MAX, escaped when rendered). ND_EEXIST for the same values twice,
 * ND_EINVAL for a histogram family. The cell starts at 0 and lives as long as the registry. */
nd_err_t nd_prom_series(nd_prom_family_t *f, const char *const *label_values,
                        nd_prom_cell_t **out /* OUT */);
/* The same for a histogram family. */
nd_err_t nd_prom_hist_series(nd_prom_family_t *f, const char *const *label_values,
                             nd_prom_hist_t **out /* OUT */);

/* A callback run at the start of each render, on the rendering thread, to set gauges that are
 * read rather than pushed (process resources, equity from the portfolio). At most 8. */
typedef void (*nd_prom_collect_cb)(void *ctx);
nd_err_t nd_prom_on_collect(nd_prom_t *p, nd_prom_collect_cb collect_cb, void *ctx);

/* Number of series (a histogram counts its buckets, sum and count lines). */
size_t nd_prom_series_count(const nd_prom_t *p);

/* ---- Exposition ---------------------------------------------------------------------------- */

/* The content type of the exposition. */
#define ND_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Runs the collect callbacks, then renders every family in registration order into a new
 * nd_alloc'd buffer (*out, *out_len; the caller frees it): HELP, TYPE, then one line per
 * series. O(series); the only allocation is the buffer (sized once, from a bound kept while
 * registering). ND_ENOMEM. */
nd_err_t nd_prom_render(nd_prom_t *p, char **out /* OUT */, size_t *out_len /* OUT */);

/* Writes value (an integer with `decimals` places) as an exact decimal without trailing zeros
 * ("-12.5", "3", "0.000000001") into out (>= 24 bytes); returns its length. */
size_t nd_prom_format_fixed(int64_t value, int decimals, char *out);

/* Checks text[0, len) as the Prometheus text format (what a scraper reads): # HELP and # TYPE
 * comments, sample lines `name{label="value",...} value [timestamp]` with valid names, escaped
 * label values and a number (a float, +Inf, -Inf or NaN). *samples gets the sample count.
 * ND_EPARSE with "line N: why" in err. O(len). Used by preflight and the tests. */
nd_err_t nd_prom_parse(const char *text, size_t len, size_t *samples /* OUT */, char *err,
                       size_t err_len);

/* ---- Process resources ---------------------------------------------------------------------- */

/* Registers the standard process_* gauges and counters (resident memory, virtual memory, CPU
 * seconds, open and max file descriptors, start time given as ns since the epoch), read from
 * /proc/self at each render. */
nd_err_t nd_prom_process_metrics(nd_prom_t *p, int64_t start_real_ns, char *err, size_t err_len);

#endif
