/* benchmark.c: a strategy's returns against a benchmark's (empyrical's alpha and beta) and the
 * daily resampling they are measured on.
 *
 * Invariants: pure functions of their inputs, single passes in index order (the same bits on
 * every run), no allocation. empyrical computes beta from population moments of the excess
 * returns (the ddof cancels in cov / var) and alpha as the mean residual return compounded
 * over a year: (1 + mean(r - rf - beta (f - rf)))^periods_per_year - 1. docs/metrics.md. */
#include "noderr/metrics.h"

#include "noderr/assert.h"

#include <math.h>
#include <stdbool.h>

/* empyrical treats a factor variance below 1e-30 as zero: beta is then undefined. */
#define ND_BETA_VARIANCE_MIN 1.0e-30

double nd_metric_beta(const double *r, const double *f, size_t n, double risk_free)
{
    ND_ASSERT(r != NULL || n == 0);
    ND_ASSERT(f != NULL || n == 0);
    if (n < 2)
        return NAN;
    double mean_f = 0.0;
    for (size_t i = 0; i < n; i++)
        mean_f += f[i] - risk_free;
    mean_f /= (double)n;
    double cov = 0.0, var = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = (f[i] - risk_free) - mean_f;
        cov += d * (r[i] - risk_free);
        var += d * d;
    }
    cov /= (double)n;
    var /= (double)n;
    ND_ASSERT(var >= 0.0 || isnan(var));
    if (!(var >= ND_BETA_VARIANCE_MIN))
        return NAN;
    return cov / var;
}

double nd_metric_alpha(const double *r, const double *f, size_t n, double risk_free,
                       double periods_per_year)
{
    ND_ASSERT(r != NULL || n == 0);
    ND_ASSERT(f != NULL || n == 0);
    double beta = nd_metric_beta(r, f, n, risk_free);
    if (isnan(beta))
        return NAN;
    double mean = 0.0;
    for (size_t i = 0; i < n; i++)
        mean += (r[i] - risk_free) - beta * (f[i] - risk_free);
    mean /= (double)n;
    return pow(1.0 + mean, periods_per_year) - 1.0;
}

/* The UTC day of a time in ms (floor, so times before 1970 fall on the right day). */
static int64_t day_of(double ts_ms)
{
    return (int64_t)floor(ts_ms / 86400000.0);
}

size_t nd_returns_daily(const double *ts_ms, const double *values, size_t n, double *out)
{
    ND_ASSERT((ts_ms != NULL && values != NULL && out != NULL) || n == 0);
    size_t days = 0;
    double prev = n ? values[0] : 0.0;
    for (size_t i = 0; i < n; i++) {
        bool day_ends = i + 1 == n || day_of(ts_ms[i + 1]) != day_of(ts_ms[i]);
        if (!day_ends)
            continue;
        ND_ASSERT(days <= i);
        out[days++] = prev != 0.0 ? values[i] / prev - 1.0 : NAN;
        prev = values[i];
    }
    return days;
}
