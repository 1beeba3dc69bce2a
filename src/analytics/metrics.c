/* metrics.c: performance and risk metrics over simple periodic returns (empyrical conventions).
 *
 * Invariants: every function is a pure function of its inputs and never writes the caller's
 * array. The moment metrics are single linear passes in index order, so a result is the same
 * bit for bit on every run. Order statistics (VaR, CVaR, tail ratio) run an introselect over one
 * scratch copy instead of a full sort: an order statistic is a value, so the result does not
 * depend on how the copy was permuted, and the cost stays linear for 10^7 returns.
 * docs/metrics.md gives every formula and where we part from empyrical (on purpose). */
#include "noderr/metrics.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* A 365-day crypto year in nanoseconds: 3.1536e16 is exact in a double (it is 2^16 times an odd
 * integer below 2^53), so 1h gives exactly 8760 and 1d exactly 365. */
#define ND_METRICS_YEAR_NS (365.0 * 86400.0 * 1e9)

void nd_metrics_config_default(nd_metrics_config_t *cfg)
{
    ND_ASSERT(cfg != NULL);
    cfg->periods_per_year = 365.0;
    cfg->risk_free = 0.0;
    cfg->required_return = 0.0;
    cfg->cutoff = 0.05;
}

double nd_periods_per_year(int64_t interval_ns)
{
    /* A non-positive interval comes from outside data more often than from a bug: NaN, which
     * makes every annualised metric NaN, is the honest answer. */
    if (interval_ns <= 0)
        return NAN;
    return ND_METRICS_YEAR_NS / (double)interval_ns;
}

/* ---- Moments. ---------------------------------------------------------------------------- */

/* Mean of r[i] - shift over n > 0 values, summed in index order. */
static double mean_shifted(const double *r, size_t n, double shift)
{
    ND_ASSERT(r != NULL);
    ND_ASSERT(n > 0);
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += r[i] - shift;
    return sum / (double)n;
}

/* Sample standard deviation (ddof = 1) of r[i] - shift, n >= 2, two passes like numpy. A series
 * whose values are all identical has a deviation of exactly 0: the two-pass formula would give
 * rounding noise around a mean that is not exactly representable, and a Sharpe of 1e17. */
static double std_about(const double *r, size_t n, double shift, double mean)
{
    ND_ASSERT(r != NULL);
    ND_ASSERT(n >= 2);
    double ss = 0.0;
    int all_equal = 1;
    for (size_t i = 0; i < n; i++) {
        double d = (r[i] - shift) - mean;
        ss += d * d;
        all_equal &= (r[i] == r[0]);
    }
    return all_equal ? 0.0 : sqrt(ss / (double)(n - 1));
}

static double std_shifted(const double *r, size_t n, double shift, double *mean_out)
{
    *mean_out = mean_shifted(r, n, shift);
    return std_about(r, n, shift, *mean_out);
}

double nd_metric_total_return(const double *r, size_t n)
{
    ND_ASSERT(r != NULL || n == 0);
    double wealth = 1.0;
    for (size_t i = 0; i < n; i++)
        wealth *= 1.0 + r[i];
    return wealth - 1.0;
}

/* empyrical: ending_value ** (1 / num_years) - 1 with num_years = n / periods_per_year. */
static double annual_return_of(double total_return, size_t n, double periods_per_year)
{
    double num_years = (double)n / periods_per_year;
    return pow(total_return + 1.0, 1.0 / num_years) - 1.0;
}

double nd_metric_annual_return(const double *r, size_t n, double periods_per_year)
{
    ND_ASSERT(r != NULL || n == 0);
    if (n == 0)
        return NAN;
    return annual_return_of(nd_metric_total_return(r, n), n, periods_per_year);
}

double nd_metric_annual_volatility(const double *r, size_t n, double periods_per_year)
{
    ND_ASSERT(r != NULL || n == 0);
    if (n < 2)
        return NAN;
    double mean = 0.0;
    double sd = std_shifted(r, n, 0.0, &mean);
    ND_ASSERT(sd >= 0.0 || isnan(sd));
    return sd * sqrt(periods_per_year);
}

/* The Sharpe ratio from the mean and deviation of r - risk_free. */
static double sharpe_of(double mean, double sd, double periods_per_year)
{
    if (!(sd > 0.0))
        return NAN;
    return mean / sd * sqrt(periods_per_year);
}

double nd_metric_sharpe(const double *r, size_t n, double risk_free, double periods_per_year)
{
    ND_ASSERT(r != NULL || n == 0);
    if (n < 2)
        return NAN;
    double mean = 0.0;
    double sd = std_shifted(r, n, risk_free, &mean);
    return sharpe_of(mean, sd, periods_per_year);
}

/* (d - |d|) / 2 is exactly min(d, 0) and needs no branch, which random signs would mispredict
 * half the time. */
static inline double shortfall_squared(double d)
{
    double shortfall = 0.5 * (d - fabs(d));
    return shortfall * shortfall;
}

static double downside_risk_of(double ss, size_t n, double periods_per_year)
{
    ND_ASSERT(ss >= 0.0 || isnan(ss));
    return sqrt(ss / (double)n) * sqrt(periods_per_year);
}

double nd_metric_downside_risk(const double *r, size_t n, double required_return,
                               double periods_per_year)
{
    ND_ASSERT(r != NULL || n == 0);
    if (n == 0)
        return NAN;
    double ss = 0.0;
    for (size_t i = 0; i < n; i++)
        ss += shortfall_squared(r[i] - required_return);
    return downside_risk_of(ss, n, periods_per_year);
}

/* The Sortino ratio from the mean of r - required_return and the downside risk. */
static double sortino_of(double mean, double downside_risk, double periods_per_year)
{
    /* empyrical divides by zero here and returns +inf; a series with no return below the
     * target has an undefined Sortino, and the contract says undefined is NaN. */
    if (!(downside_risk > 0.0))
        return NAN;
    return mean * periods_per_year / downside_risk;
}

double nd_metric_sortino(const double *r, size_t n, double required_return,
                         double periods_per_year)
{
    ND_ASSERT(r != NULL || n == 0);
    if (n < 2)
        return NAN;
    double dr = nd_metric_downside_risk(r, n, required_return, periods_per_year);
    return sortino_of(mean_shifted(r, n, required_return), dr, periods_per_year);
}

/* ---- Drawdown, Calmar, Omega, stability. ----------------------------------------------- */

/* The running maximum drawdown over a wealth index fed one value at a time. */
typedef struct drawdown_walk {
    nd_drawdown_t dd;
    double peak, worst_peak;
    size_t peak_index;
    int64_t recovery;
} drawdown_walk_t;

static void drawdown_begin(drawdown_walk_t *w, size_t n)
{
    *w = (drawdown_walk_t){{n == 0 ? NAN : 0.0, 0, 0, 0, 0}, 1.0, 1.0, 0, 0};
}

/* Wealth index i (i >= 1) holds prod(1 + r[0..i)); index 0 is the starting value 1. */
static inline void drawdown_step(drawdown_walk_t *w, double wealth, size_t i)
{
    if (w->recovery < 0 && wealth >= w->worst_peak)
        w->recovery = (int64_t)i;
    if (wealth >= w->peak) {
        /* >= makes the peak the last index at the running maximum, as pyfolio does. */
        w->peak = wealth;
        w->peak_index = i;
        return;
    }
    double d = (wealth - w->peak) / w->peak;
    if (d < w->dd.max_drawdown) {
        w->dd.max_drawdown = d;
        w->dd.peak_index = (int64_t)w->peak_index;
        w->dd.trough_index = (int64_t)i;
        w->worst_peak = w->peak;
        w->recovery = -1;
    }
}

static double drawdown_end(drawdown_walk_t *w, size_t n, nd_drawdown_t *detail)
{
    nd_drawdown_t *dd = &w->dd;
    dd->recovery_index = w->recovery;
    dd->duration_periods = (w->recovery >= 0 ? w->recovery : (int64_t)n) - dd->peak_index;
    ND_ASSERT(dd->peak_index <= dd->trough_index);
    ND_ASSERT(dd->duration_periods >= 0);
    if (detail)
        *detail = *dd;
    return dd->max_drawdown;
}

double nd_metric_max_drawdown(const double *r, size_t n, nd_drawdown_t *detail)
{
    ND_ASSERT(r != NULL || n == 0);
    drawdown_walk_t w;
    drawdown_begin(&w, n);
    double wealth = 1.0;
    for (size_t i = 1; i <= n; i++) {
        wealth *= 1.0 + r[i - 1];
        drawdown_step(&w, wealth, i);
    }
    return drawdown_end(&w, n, detail);
}

/* Calmar from its parts: NaN unless there was a drawdown and the ratio is finite. */
static double calmar_of(double annual_return, double max_drawdown)
{
    if (!(max_drawdown < 0.0))
        return NAN;
    double c = annual_return / fabs(max_drawdown);
    return isfinite(c) ? c : NAN;
}

double nd_metric_calmar(const double *r, size_t n, double periods_per_year)
{
    ND_ASSERT(r != NULL || n == 0);
    if (n == 0)
        return NAN;
    double max_dd = nd_metric_max_drawdown(r, n, NULL);
    return calmar_of(nd_metric_annual_return(r, n, periods_per_year), max_dd);
}

/* Omega's threshold a period: required_return is annual, de-annualised geometrically as
 * empyrical does. False when there is none (a required return of -100% or below). */
static bool omega_threshold(double required_return, double periods_per_year, double *threshold)
{
    if (periods_per_year == 1.0)
        *threshold = required_return;
    else if (required_return <= -1.0)
        return false;
    else
        *threshold = pow(1.0 + required_return, 1.0 / periods_per_year) - 1.0;
    return true;
}

/* The gains above the threshold and the losses below it. (|d| + d) / 2 and (|d| - d) / 2 are
 * exactly max(d, 0) and max(-d, 0): the same sums as the branches, without their
 * mispredictions on random signs. */
static inline void omega_step(double d, double *numer, double *denom)
{
    *numer += 0.5 * (fabs(d) + d);
    *denom += 0.5 * (fabs(d) - d);
}

static double omega_of(double numer, double denom)
{
    ND_ASSERT(numer >= 0.0 || isnan(numer));
    return denom > 0.0 ? numer / denom : NAN;
}

double nd_metric_omega(const double *r, size_t n, double risk_free, double required_return,
                       double periods_per_year)
{
    ND_ASSERT(r != NULL || n == 0);
    double threshold = 0.0;
    if (n < 2 || !omega_threshold(required_return, periods_per_year, &threshold))
        return NAN;
    double numer = 0.0, denom = 0.0;
    for (size_t i = 0; i < n; i++)
        omega_step(r[i] - risk_free - threshold, &numer, &denom);
    return omega_of(numer, denom);
}

/* Welford's co-moment update over (t, y_t), y_t = sum log1p(r[0..t]), one return at a time.
 * The x side is 0..n-1, whose mean after k points is (k-1)/2 and whose sum of squared
 * deviations is n(n^2-1)/12, so only the y moments are accumulated. */
typedef struct stability_walk {
    double y, mean_y, m2_y, c_xy;
} stability_walk_t;

static inline void stability_step(stability_walk_t *w, double r, size_t t)
{
    double k = (double)(t + 1);
    /* log1p(+-0) is that zero, and y (never -0: it starts at +0) plus a zero is y: a flat
     * period's return, the most common one in a backtest, needs no log1p call. */
    if (r != 0.0)
        w->y += log1p(r);
    /* t minus the mean of 0..t-1, which is (t-1)/2; at t = 0 the product below is 0. */
    double dx = k / 2.0;
    double dy = w->y - w->mean_y;
    w->mean_y += dy / k;
    w->m2_y += dy * (w->y - w->mean_y);
    w->c_xy += dx * (w->y - w->mean_y);
}

static double stability_end(const stability_walk_t *w, size_t n)
{
    if (n < 2)
        return NAN;
    double dn = (double)n;
    double ssxm = (dn * dn - 1.0) / 12.0;
    double ssym = w->m2_y / dn;
    double ssxym = w->c_xy / dn;
    /* scipy.stats.linregress: r = 0 when either side has no variance, clipped to [-1, 1]. */
    double r_den = sqrt(ssxm * ssym);
    double rho = 0.0;
    if (r_den != 0.0) {
        rho = ssxym / r_den;
        if (rho > 1.0)
            rho = 1.0;
        else if (rho < -1.0)
            rho = -1.0;
    }
    return rho * rho;
}

double nd_metric_stability(const double *r, size_t n)
{
    ND_ASSERT(r != NULL || n == 0);
    stability_walk_t w = {0.0, 0.0, 0.0, 0.0};
    for (size_t t = 0; t < n && n >= 2; t++)
        stability_step(&w, r[t], t);
    return stability_end(&w, n);
}

/* ---- Order statistics. ----------------------------------------------------------------- */

static void swap_values(double *a, size_t i, size_t j)
{
    double t = a[i];
    a[i] = a[j];
    a[j] = t;
}

/* Restores the max-heap property below root in a[0..n). */
static void sift_down(double *a, size_t root, size_t n)
{
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= n)
            return;
        if (child + 1 < n && a[child + 1] > a[child])
            child++;
        if (!(a[child] > a[root]))
            return;
        swap_values(a, root, child);
        root = child;
    }
}

/* Sorts a[0..n) ascending in O(n log n) with no recursion: the selection's fallback when its
 * pivots keep going wrong (an adversarial median-of-three killer). */
static void heap_sort(double *a, size_t n)
{
    for (size_t i = n / 2; i-- > 0;)
        sift_down(a, i, n);
    for (size_t end = n; end > 1; end--) {
        swap_values(a, 0, end - 1);
        sift_down(a, 0, end - 1);
    }
}

static double median_of_three(double a, double b, double c)
{
    if (a > b) {
        double t = a;
        a = b;
        b = t;
    }
    /* Now a <= b, and the median of the three is c clamped into [a, b]. */
    return c < a ? a : (c > b ? b : c);
}

/* Floyd-Rivest sampling: a window of about n^(2/3) values around where rank k should fall is
 * used to choose the pivot, so one partition of the whole range leaves a window of roughly that
 * size, instead of the half that a median of three leaves. */
#define ND_METRICS_SAMPLE_MIN 600

static void select_window(double *a, ptrdiff_t lo, ptrdiff_t hi, ptrdiff_t k, unsigned rounds);

/* Positions a good pivot for rank k of a[lo..hi] at a[k] by selecting inside a sample window. */
static void floyd_rivest_pivot(double *a, ptrdiff_t lo, ptrdiff_t hi, ptrdiff_t k, unsigned rounds)
{
    double n = (double)(hi - lo + 1), i = (double)(k - lo + 1);
    double z = log(n);
    double s = 0.5 * exp(2.0 * z / 3.0);
    double sd = 0.5 * sqrt(z * s * (n - s) / n) * (i < n / 2.0 ? -1.0 : 1.0);
    ptrdiff_t sample_lo = (ptrdiff_t)floor((double)k - i * s / n + sd);
    ptrdiff_t sample_hi = (ptrdiff_t)floor((double)k + (n - i) * s / n + sd);
    sample_lo = sample_lo < lo ? lo : sample_lo;
    sample_hi = sample_hi > hi ? hi : sample_hi;
    ND_ASSERT(sample_lo <= k && k <= sample_hi);
    select_window(a, sample_lo, sample_hi, k, rounds);
}

/* Puts the k-th smallest of a[lo..hi] (inclusive) at a[k], nothing larger before it and nothing
 * smaller after it, within the window. Hoare partitions; after `rounds` of them the remaining
 * window is heap-sorted, so the worst case stays O(n log n). Values must not be NaN. */
static void select_window(double *a, ptrdiff_t lo, ptrdiff_t hi, ptrdiff_t k, unsigned rounds)
{
    ND_ASSERT(lo <= k && k <= hi);
    while (lo < hi) {
        if (rounds-- == 0) {
            heap_sort(a + lo, (size_t)(hi - lo + 1));
            return;
        }
        double pivot;
        if (hi - lo > ND_METRICS_SAMPLE_MIN) {
            floyd_rivest_pivot(a, lo, hi, k, rounds);
            pivot = a[k];
        } else {
            pivot = median_of_three(a[lo], a[lo + (hi - lo) / 2], a[hi]);
        }
        ptrdiff_t i = lo, j = hi;
        /* The pivot value is in the window, so each scan stops inside it; after a swap the
         * swapped values bound the next scans. */
        while (i <= j) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i <= j) {
                swap_values(a, (size_t)i, (size_t)j);
                i++;
                j--;
            }
        }
        /* Now a[lo..j] <= pivot, a[i..hi] >= pivot and anything between equals the pivot. */
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return;
    }
    ND_ASSERT(lo == hi || lo <= k);
}

/* Rearranges a[0..n) so that a[k] holds the k-th smallest value (0-based), nothing before it is
 * larger and nothing after it is smaller. Expected O(n), worst case O(n log n). */
static void select_rank(double *a, size_t n, size_t k)
{
    ND_ASSERT(a != NULL);
    ND_ASSERT(k < n);
    unsigned rounds = 8;
    for (size_t m = n; m > 1; m >>= 1)
        rounds += 2;
    select_window(a, 0, (ptrdiff_t)n - 1, (ptrdiff_t)k, rounds);
#ifdef ND_DEBUG_ASSERTIONS
    for (size_t i = 0; i < n; i++)
        ND_DEBUG_ASSERT(i < k ? a[i] <= a[k] : a[i] >= a[k]);
#endif
}

/* numpy's _lerp: a + (b - a) t, computed from the nearer end so that t = 1 gives b exactly. */
static double lerp(double a, double b, double t)
{
    double diff = b - a;
    return t >= 0.5 ? b - diff * (1.0 - t) : a + diff * t;
}

/* At most this many ranks are remembered: VaR, CVaR and the two tail percentiles need 7. */
#define ND_METRICS_RANKS_MAX 8

/* The order statistics of a series. A backtest's returns are exactly zero wherever it holds no
 * position, often most of the series, and a Hoare partition around a pivot of zero swaps every
 * one of them at every level. So the zeros are only counted: the scratch copy holds the
 * negative returns, then the positive ones, and rank k of the whole series is
 *   - a[k] for k < negatives,
 *   - a zero for the next `zeros` ranks,
 *   - a[k - zeros] after them.
 * Each scratch index in fixed[] holds its order statistic with nothing larger before it and
 * nothing smaller after it, so a later selection only searches the window between the nearest
 * fixed ones around it, inside its sign group. */
typedef struct order_stats {
    double *a;            /* negatives + positives values; NULL when there are none */
    const double *source; /* the caller's series, in index order */
    size_t n, negatives, zeros;
    size_t negative_zeros; /* -0.0 among the zeros */
    size_t fixed[ND_METRICS_RANKS_MAX];
    size_t fixed_count;
} order_stats_t;

/* Counts r[0..n)'s signs and copies its nonzero values, negatives first, each group in index
 * order. ND_ENOMEM when the copy cannot be allocated. */
static nd_err_t order_stats_open(order_stats_t *os, const double *r, size_t n)
{
    ND_ASSERT(r != NULL);
    ND_ASSERT(n > 0);
    memset(os, 0, sizeof *os);
    os->source = r;
    os->n = n;
    size_t positives = 0;
    for (size_t i = 0; i < n; i++) {
        ND_DEBUG_ASSERT(!isnan(r[i]));
        os->negatives += r[i] < 0.0;
        positives += r[i] > 0.0;
        os->negative_zeros += r[i] == 0.0 && signbit(r[i]);
    }
    os->zeros = n - os->negatives - positives;
    if (os->negatives + positives == 0)
        return ND_OK;
    if (os->negatives + positives > SIZE_MAX / sizeof(double))
        return ND_ENOMEM;
    os->a = nd_alloc((os->negatives + positives) * sizeof(double));
    if (!os->a)
        return ND_ENOMEM;
    size_t below = 0, above = os->negatives;
    for (size_t i = 0; i < n; i++) {
        if (r[i] < 0.0)
            os->a[below++] = r[i];
        else if (r[i] > 0.0)
            os->a[above++] = r[i];
    }
    ND_ASSERT(below == os->negatives && above == os->negatives + positives);
    return ND_OK;
}

static void order_stats_close(order_stats_t *os)
{
    nd_free(os->a);
    os->a = NULL;
}

/* The m-th zero (0-based) of the series in index order: its sign is the one it came with. */
static double order_stats_zero(const order_stats_t *os, size_t m)
{
    ND_ASSERT(m < os->zeros);
    if (os->negative_zeros == 0 || os->negative_zeros == os->zeros)
        return os->negative_zeros ? -0.0 : 0.0;
    for (size_t i = 0;; i++) {
        if (os->source[i] == 0.0 && m-- == 0)
            return os->source[i];
    }
}

/* Returns the k-th smallest value (0-based). Cost O(window), at most O(n). */
static double order_stats_rank(order_stats_t *os, size_t k)
{
    ND_ASSERT(k < os->n);
    if (k >= os->negatives && k < os->negatives + os->zeros)
        return order_stats_zero(os, k - os->negatives);
    /* the scratch index of rank k and the window [lo, hi) of its sign group that holds it,
     * narrowed by the fixed indices */
    size_t nonzero = os->n - os->zeros;
    size_t x = k < os->negatives ? k : k - os->zeros;
    size_t lo = k < os->negatives ? 0 : os->negatives;
    size_t hi = k < os->negatives ? os->negatives : nonzero;
    for (size_t i = 0; i < os->fixed_count; i++) {
        size_t f = os->fixed[i];
        if (f == x)
            return os->a[x];
        if (f < x && f + 1 > lo)
            lo = f + 1;
        if (f > x && f < hi)
            hi = f;
    }
    ND_ASSERT(lo <= x && x < hi);
    select_rank(os->a + lo, hi - lo, x - lo);
    if (os->fixed_count < ND_METRICS_RANKS_MAX)
        os->fixed[os->fixed_count++] = x;
    return os->a[x];
}

/* numpy.percentile(method="linear"): the virtual index (n - 1) q / 100 splits into a rank and
 * a fraction t; the value interpolates between that rank and the next. q in [0, 100]. */
static double order_stats_percentile(order_stats_t *os, double q)
{
    ND_ASSERT(q >= 0.0 && q <= 100.0);
    size_t n = os->n;
    double index = (double)(n - 1) * (q / 100.0);
    if (index >= (double)(n - 1))
        return order_stats_rank(os, n - 1);
    size_t lo = (size_t)floor(index);
    double t = index - (double)lo;
    double a = order_stats_rank(os, lo);
    return t == 0.0 ? a : lerp(a, order_stats_rank(os, lo + 1), t);
}

double nd_percentile_sorted(const double *sorted, size_t n, double q)
{
    ND_ASSERT(sorted != NULL || n == 0);
    if (n == 0 || !(q >= 0.0 && q <= 100.0))
        return NAN;
#ifdef ND_DEBUG_ASSERTIONS
    for (size_t i = 1; i < n; i++)
        ND_DEBUG_ASSERT(!(sorted[i] < sorted[i - 1]));
#endif
    double index = (double)(n - 1) * (q / 100.0);
    if (index >= (double)(n - 1))
        return sorted[n - 1];
    size_t lo = (size_t)floor(index);
    double t = index - (double)lo;
    return t == 0.0 ? sorted[lo] : lerp(sorted[lo], sorted[lo + 1], t);
}

/* How many of the ranks below k hold a value below v, the value of rank k (selected). */
static size_t order_stats_count_below(const order_stats_t *os, size_t k, double v)
{
    /* Nothing before a selected scratch index is larger than it, so every value below v in
     * its sign group lies before it; a negative v has nothing below it in the other groups,
     * a zero has the negatives, a positive has the negatives and the zeros. */
    size_t below = 0;
    if (k < os->negatives) {
        for (size_t i = 0; i < k; i++)
            below += os->a[i] < v;
        return below;
    }
    if (k < os->negatives + os->zeros)
        return os->negatives;
    for (size_t i = os->negatives; i < k - os->zeros; i++)
        below += os->a[i] < v;
    return os->negatives + os->zeros + below;
}

/* empyrical: the mean of the floor((n - 1) cutoff) + 1 smallest returns. They are summed in
 * the series' own order (the values below the k-th, and as many of those equal to it as the
 * count needs, first ones first), so the result depends on the returns alone and not on how a
 * selection happened to permute the copy, like every other metric's linear pass. */
static double order_stats_cvar(order_stats_t *os, double cutoff)
{
    ND_ASSERT(cutoff >= 0.0 && cutoff <= 1.0);
    size_t k = (size_t)((double)(os->n - 1) * cutoff);
    ND_ASSERT(k < os->n);
    double kth = order_stats_rank(os, k);
    size_t ties = k + 1 - order_stats_count_below(os, k, kth);
    double sum = 0.0;
    for (size_t i = 0; i < os->n; i++) {
        double v = os->source[i];
        if (v < kth) {
            sum += v;
        } else if (v == kth && ties > 0) {
            sum += v;
            ties--;
        }
    }
    ND_ASSERT(ties == 0);
    return sum / (double)(k + 1);
}

/* |p95| / |p5|; NaN when p5 is 0 (empyrical returns inf or nan there). */
static double order_stats_tail_ratio(order_stats_t *os)
{
    double p95 = order_stats_percentile(os, 95.0);
    double p5 = order_stats_percentile(os, 5.0);
    if (p5 == 0.0)
        return NAN;
    return fabs(p95) / fabs(p5);
}

static int cutoff_valid(double cutoff)
{
    return cutoff >= 0.0 && cutoff <= 1.0;
}

/* VaR, CVaR and the tail ratio are the same walk over a sorted copy: only the statistic read
 * at the end differs. */
typedef enum tail_stat { TAIL_VAR, TAIL_CVAR, TAIL_RATIO } tail_stat_t;

static double tail_statistic(const double *r, size_t n, double cutoff, tail_stat_t which)
{
    ND_ASSERT(r != NULL || n == 0);
    if (n == 0 || !cutoff_valid(cutoff))
        return NAN;
    for (size_t i = 0; i < n; i++) {
        if (isnan(r[i]))
            return NAN; /* as numpy's percentile: a NaN anywhere has no rank */
    }
    order_stats_t os;
    if (order_stats_open(&os, r, n) != ND_OK)
        return NAN;
    double v = which == TAIL_VAR    ? order_stats_percentile(&os, 100.0 * cutoff)
               : which == TAIL_CVAR ? order_stats_cvar(&os, cutoff)
                                    : order_stats_tail_ratio(&os);
    order_stats_close(&os);
    return v;
}

double nd_metric_var(const double *r, size_t n, double cutoff)
{
    return tail_statistic(r, n, cutoff, TAIL_VAR);
}

double nd_metric_cvar(const double *r, size_t n, double cutoff)
{
    return tail_statistic(r, n, cutoff, TAIL_CVAR);
}

double nd_metric_tail_ratio(const double *r, size_t n)
{
    return tail_statistic(r, n, 0.0, TAIL_RATIO); /* no cutoff: 0 passes the range check */
}

/* ---- Everything at once. --------------------------------------------------------------- */

static int config_valid(const nd_metrics_config_t *cfg)
{
    return isfinite(cfg->periods_per_year) && cfg->periods_per_year > 0.0 &&
           isfinite(cfg->risk_free) && isfinite(cfg->required_return) && cutoff_valid(cfg->cutoff);
}

/* What the linear metrics accumulate over the series. */
typedef struct linear_sums {
    double wealth;               /* prod(1 + r): the total return, the drawdown's index */
    double sum_rf, sum_required; /* sum(r - risk_free), sum(r - required_return) */
    double downside_ss;
    double omega_numer, omega_denom;
    drawdown_walk_t drawdown;
    stability_walk_t stability;
} linear_sums_t;

/* One loop for every linear metric. Each accumulator sees the very operations, in the very
 * order, that its metric's own function applies, so the bits are the same; one loop lets their
 * dependency chains (an add's latency a return each, Welford's division) run side by side
 * instead of one after another. */
static void sum_linear(const double *r, size_t n, const nd_metrics_config_t *cfg,
                       double omega_threshold_value, linear_sums_t *s)
{
    *s = (linear_sums_t){.wealth = 1.0};
    drawdown_begin(&s->drawdown, n);
    double rf = cfg->risk_free, required = cfg->required_return;
    for (size_t i = 0; i < n; i++) {
        double v = r[i];
        s->wealth *= 1.0 + v;
        drawdown_step(&s->drawdown, s->wealth, i + 1);
        s->sum_rf += v - rf;
        s->sum_required += v - required;
        s->downside_ss += shortfall_squared(v - required);
        omega_step(v - rf - omega_threshold_value, &s->omega_numer, &s->omega_denom);
        stability_step(&s->stability, v, i);
    }
}

/* Fills the metrics that are linear passes over the caller's array. */
static void compute_linear(const double *r, size_t n, const nd_metrics_config_t *cfg,
                           nd_metrics_t *m)
{
    double ppy = cfg->periods_per_year, threshold = 0.0;
    bool omega_defined = n >= 2 && omega_threshold(cfg->required_return, ppy, &threshold);
    linear_sums_t s;
    sum_linear(r, n, cfg, threshold, &s);
    m->count = n;
    m->total_return = s.wealth - 1.0;
    m->annual_return = n == 0 ? NAN : annual_return_of(m->total_return, n, ppy);
    m->downside_risk = n == 0 ? NAN : downside_risk_of(s.downside_ss, n, ppy);
    m->annual_volatility = m->sharpe = m->sortino = NAN;
    if (n >= 2) {
        double mean_rf = s.sum_rf / (double)n;
        double sd_rf = std_about(r, n, cfg->risk_free, mean_rf);
        m->sharpe = sharpe_of(mean_rf, sd_rf, ppy);
        m->sortino = sortino_of(s.sum_required / (double)n, m->downside_risk, ppy);
        /* r - 0.0 is r, zeros' signs aside, and those square and sum to the same bits. */
        m->annual_volatility = cfg->risk_free == 0.0 ? sd_rf * sqrt(ppy)
                                                     : nd_metric_annual_volatility(r, n, ppy);
    }
    m->max_drawdown = drawdown_end(&s.drawdown, n, &m->drawdown);
    m->calmar = n == 0 ? NAN : calmar_of(m->annual_return, m->max_drawdown);
    m->omega = omega_defined ? omega_of(s.omega_numer, s.omega_denom) : NAN;
    m->stability = stability_end(&s.stability, n);
}

nd_err_t nd_metrics_compute(const double *returns, size_t count, const nd_metrics_config_t *cfg,
                            nd_metrics_t *out /* OUT */)
{
    ND_ASSERT(out != NULL);
    ND_ASSERT(cfg != NULL);
    if (count > 0 && returns == NULL)
        return ND_EINVAL;
    if (!config_valid(cfg))
        return ND_EINVAL;
    for (size_t i = 0; i < count; i++) {
        if (!isfinite(returns[i]))
            return ND_EINVAL;
    }
    nd_metrics_t m;
    memset(&m, 0, sizeof m);
    m.var = m.cvar = m.tail_ratio = NAN;
    if (count > 0) {
        /* One scratch copy serves all three order statistics; selections reorder it freely. */
        order_stats_t os;
        if (order_stats_open(&os, returns, count) != ND_OK)
            return ND_ENOMEM;
        m.var = order_stats_percentile(&os, 100.0 * cfg->cutoff);
        m.cvar = order_stats_cvar(&os, cfg->cutoff);
        m.tail_ratio = order_stats_tail_ratio(&os);
        order_stats_close(&os);
    }
    compute_linear(returns, count, cfg, &m);
    *out = m;
    return ND_OK;
}
