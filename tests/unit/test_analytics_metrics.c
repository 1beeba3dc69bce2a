/* test_analytics_metrics.c: every metric against values worked out independently (by hand and
 * with a plain-Python transcription of the empyrical formulas, see docs/metrics.md), the edge
 * cases (empty, one value, constant, no losses), drawdown indices, percentile interpolation,
 * the order-statistic selection against a full sort, series growth and OOM, and the
 * returns file parser (nd_returns_parse / nd_returns_load, src/analytics/returns.c). The
 * `noderr metrics` command itself is tested end to end by tests/integration/50_metrics_cli.sh. */
#include <criterion/criterion.h>

#include "noderr/alloc.h"
#include "noderr/metrics.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REL_TOL 1e-12

/* Relative comparison to 1e-12 (absolute 1e-15 around zero); NaN expects NaN. */
#define assert_close(actual, expected)                                                             \
    do {                                                                                           \
        double a_ = (actual), e_ = (expected);                                                     \
        if (isnan(e_))                                                                             \
            cr_assert(isnan(a_), "%s: expected NaN, got %.17g", #actual, a_);                      \
        else                                                                                       \
            cr_assert(fabs(a_ - e_) <= fmax(REL_TOL * fabs(e_), 1e-15),                            \
                      "%s: got %.17g, expected %.17g", #actual, a_, e_);                           \
    } while (0)

static const double series_a[] = {0.01, -0.02, 0.03, -0.01, 0.02};
#define SERIES_A_N (sizeof series_a / sizeof series_a[0])

static nd_metrics_t compute_ok(const double *r, size_t n, const nd_metrics_config_t *cfg)
{
    nd_metrics_t m;
    cr_assert_eq(nd_metrics_compute(r, n, cfg, &m), ND_OK);
    return m;
}

static void assert_drawdown(const nd_drawdown_t *d, int64_t peak, int64_t trough,
                            int64_t recovery, int64_t duration)
{
    cr_assert_eq(d->peak_index, peak);
    cr_assert_eq(d->trough_index, trough);
    cr_assert_eq(d->recovery_index, recovery);
    cr_assert_eq(d->duration_periods, duration);
}

Test(metrics, defaults_and_periods_per_year)
{
    nd_metrics_config_t cfg;
    nd_metrics_config_default(&cfg);
    cr_assert_eq(cfg.periods_per_year, 365.0);
    cr_assert_eq(cfg.risk_free, 0.0);
    cr_assert_eq(cfg.required_return, 0.0);
    cr_assert_eq(cfg.cutoff, 0.05);
    cr_assert_eq(nd_periods_per_year(3600LL * 1000000000LL), 8760.0);
    cr_assert_eq(nd_periods_per_year(86400LL * 1000000000LL), 365.0);
    cr_assert_eq(nd_periods_per_year(60LL * 1000000000LL), 525600.0);
    cr_assert_eq(nd_periods_per_year(4LL * 3600LL * 1000000000LL), 2190.0);
    cr_assert(isnan(nd_periods_per_year(0)));
    cr_assert(isnan(nd_periods_per_year(-5)));
}

/* Series A by hand: wealth 1, 1.01, 0.9898, 1.019494, 1.00929906, 1.0294850412; sorted
 * -0.02 -0.01 0.01 0.02 0.03; gains 0.06 against losses 0.03. */
Test(metrics, series_a_daily)
{
    nd_metrics_config_t cfg;
    nd_metrics_config_default(&cfg);
    nd_metrics_t m = compute_ok(series_a, SERIES_A_N, &cfg);
    cr_assert_eq(m.count, 5);
    assert_close(m.total_return, 0.02948504120000006);
    assert_close(m.annual_return, 7.341861200917917);
    assert_close(m.annual_volatility, 0.396169155790806);
    assert_close(m.sharpe, 5.527941708708923);
    assert_close(m.downside_risk, 0.191049731745428);
    assert_close(m.sortino, 11.46298390472568);
    assert_close(m.max_drawdown, -0.02);
    assert_close(m.calmar, 367.09306004589587);
    assert_close(m.omega, 2.0);
    assert_close(m.var, -0.018);  /* index 4 * 0.05 = 0.2 between -0.02 and -0.01 */
    assert_close(m.cvar, -0.02);  /* floor(4 * 0.05) + 1 = 1 worst return */
    assert_close(m.tail_ratio, 0.028 / 0.018);
    assert_close(m.stability, 0.3920955090486379);
    assert_drawdown(&m.drawdown, 1, 2, 3, 2);
    assert_close(m.drawdown.max_drawdown, -0.02);
}

Test(metrics, series_a_with_config)
{
    nd_metrics_config_t cfg = {252.0, 0.001, 0.002, 0.25};
    nd_metrics_t m = compute_ok(series_a, SERIES_A_N, &cfg);
    assert_close(m.annual_return, 3.325636719291219);
    assert_close(m.annual_volatility, 0.32918080138428485);
    assert_close(m.sharpe, 3.8276837370265673);
    assert_close(m.downside_risk, 0.17790784131116877);
    assert_close(m.sortino, 5.66585481882703);
    assert_close(m.calmar, 166.28183596456097);
    assert_close(m.omega, 1.7796248201636582);
    assert_close(m.var, -0.01);   /* index 4 * 0.25 = 1 exactly */
    assert_close(m.cvar, -0.015); /* the 2 worst */
    /* The single-metric functions agree with the batch. */
    assert_close(nd_metric_sharpe(series_a, SERIES_A_N, 0.001, 252.0), m.sharpe);
    assert_close(nd_metric_sortino(series_a, SERIES_A_N, 0.002, 252.0), m.sortino);
    assert_close(nd_metric_omega(series_a, SERIES_A_N, 0.001, 0.002, 252.0), m.omega);
    assert_close(nd_metric_var(series_a, SERIES_A_N, 0.25), m.var);
    assert_close(nd_metric_cvar(series_a, SERIES_A_N, 0.25), m.cvar);
    assert_close(nd_metric_calmar(series_a, SERIES_A_N, 252.0), m.calmar);
}

Test(metrics, omega_annual_threshold)
{
    /* An annual 10% target becomes 1.1^(1/252) - 1 per period. */
    assert_close(nd_metric_omega(series_a, SERIES_A_N, 0.0, 0.1, 252.0), 1.913904396458281);
    /* With one period a year the target is used as given: d = 0, -.03, .02, -.02, .01. */
    assert_close(nd_metric_omega(series_a, SERIES_A_N, 0.0, 0.01, 1.0), 0.03 / 0.05);
    cr_assert(isnan(nd_metric_omega(series_a, SERIES_A_N, 0.0, -1.0, 252.0)));
    cr_assert(isnan(nd_metric_omega(series_a, 1, 0.0, 0.0, 252.0)));
    assert_close(nd_metric_var(series_a, SERIES_A_N, 0.4), 0.002);
}

Test(metrics, series_b_hourly_recovered_drawdown)
{
    static const double b[] = {0.05, -0.1, -0.05, 0.02, 0.2, -0.03};
    nd_metrics_config_t cfg;
    nd_metrics_config_default(&cfg);
    cfg.periods_per_year = nd_periods_per_year(3600LL * 1000000000LL);
    nd_metrics_t m = compute_ok(b, 6, &cfg);
    assert_close(m.total_return, 0.06588061999999995);
    assert_close(m.annual_return, 2.8477782967583894e+40);
    assert_close(m.annual_volatility, 9.811849978469912);
    assert_close(m.sharpe, 13.391969943316532);
    assert_close(m.downside_risk, 4.4231210700137975);
    assert_close(m.sortino, 29.707529574719537);
    assert_close(m.max_drawdown, -0.145); /* 1.05 -> 0.8977 */
    assert_close(m.calmar, 1.963985032247165e+41);
    assert_close(m.omega, 1.5);
    assert_close(m.var, -0.0875);
    assert_close(m.cvar, -0.1);
    assert_close(m.tail_ratio, 1.857142857142857);
    assert_close(m.stability, 0.11389253511036358);
    assert_drawdown(&m.drawdown, 1, 3, 5, 4);
}

Test(metrics, series_c_unrecovered_drawdown)
{
    static const double c[] = {0.1, -0.2, 0.05, 0.01};
    nd_metrics_config_t cfg;
    nd_metrics_config_default(&cfg);
    nd_metrics_t m = compute_ok(c, 4, &cfg);
    assert_close(m.total_return, -0.06676);
    assert_close(m.annual_return, -0.9981723512594322);
    assert_close(m.sharpe, -1.4483442786248326);
    assert_close(m.sortino, -1.9104973174542799);
    assert_close(m.max_drawdown, -0.2);
    assert_close(m.calmar, -4.9908617562971616);
    assert_close(m.omega, 0.8);
    assert_close(m.var, -0.1685);
    assert_close(m.tail_ratio, 0.5489614243323441);
    assert_close(m.stability, 0.34910732616724793);
    /* Peak at 1 (wealth 1.1), trough at 2, never back: duration runs to the end (4 - 1). */
    assert_drawdown(&m.drawdown, 1, 2, -1, 3);
}

Test(metrics, drawdown_ties_take_last_peak_and_first_trough)
{
    /* Wealth 1, 1, 0.5, 1, 1, 0.5: the peak is the last index at the maximum before the
     * trough (1), the trough the first of two equal lows (2), recovery the first index back. */
    static const double r[] = {0.0, -0.5, 1.0, 0.0, -0.5};
    nd_drawdown_t d;
    assert_close(nd_metric_max_drawdown(r, 5, &d), -0.5);
    assert_drawdown(&d, 1, 2, 3, 2);
    /* A deeper second drawdown replaces the first and resets the recovery. */
    static const double r2[] = {-0.5, 1.0, 0.5, -0.75}; /* wealth 1, 0.5, 1, 1.5, 0.375 */
    assert_close(nd_metric_max_drawdown(r2, 4, &d), -0.75);
    assert_drawdown(&d, 3, 4, -1, 1);
    /* No drawdown at all: everything at index 0, drawdown 0. */
    static const double up[] = {0.01, 0.02};
    assert_close(nd_metric_max_drawdown(up, 2, &d), 0.0);
    assert_drawdown(&d, 0, 0, 0, 0);
    cr_assert(isnan(nd_metric_max_drawdown(up, 0, NULL)));
}

Test(metrics, empty_series)
{
    nd_metrics_config_t cfg;
    nd_metrics_config_default(&cfg);
    nd_metrics_t m = compute_ok(NULL, 0, &cfg);
    cr_assert_eq(m.count, 0);
    cr_assert_eq(m.total_return, 0.0);
    const double undefined[] = {m.annual_return, m.annual_volatility, m.sharpe, m.sortino,
                                m.max_drawdown, m.calmar, m.omega, m.var, m.cvar, m.tail_ratio,
                                m.downside_risk, m.stability};
    for (size_t i = 0; i < sizeof undefined / sizeof undefined[0]; i++)
        cr_assert(isnan(undefined[i]), "metric %zu should be NaN", i);
    cr_assert_eq(nd_metric_total_return(NULL, 0), 0.0);
    cr_assert(isnan(nd_metric_var(NULL, 0, 0.05)));
    cr_assert(isnan(nd_metric_cvar(NULL, 0, 0.05)));
    cr_assert(isnan(nd_metric_tail_ratio(NULL, 0)));
}

Test(metrics, single_value)
{
    nd_metrics_config_t cfg;
    nd_metrics_config_default(&cfg);
    const double gain = 0.05, loss = -0.05;
    nd_metrics_t m = compute_ok(&gain, 1, &cfg);
    assert_close(m.total_return, 0.05);
    assert_close(m.annual_return, 54211840.577840365); /* 1.05^365 - 1 */
    cr_assert(isnan(m.annual_volatility));
    cr_assert(isnan(m.sharpe));
    cr_assert(isnan(m.sortino));
    cr_assert(isnan(m.omega));
    cr_assert(isnan(m.stability));
    cr_assert(isnan(m.calmar));
    cr_assert_eq(m.downside_risk, 0.0);
    cr_assert_eq(m.max_drawdown, 0.0);
    cr_assert_eq(m.var, 0.05);
    cr_assert_eq(m.cvar, 0.05);
    cr_assert_eq(m.tail_ratio, 1.0);
    m = compute_ok(&loss, 1, &cfg);
    assert_close(m.max_drawdown, -0.05);
    assert_close(m.downside_risk, 0.95524865872714);   /* 0.05 sqrt(365) */
    assert_close(m.calmar, -19.99999985203945);        /* (0.95^365 - 1) / 0.05 */
    assert_drawdown(&m.drawdown, 0, 1, -1, 1);
}

Test(metrics, constant_series)
{
    nd_metrics_config_t cfg;
    nd_metrics_config_default(&cfg);
    /* 0.1 three times sums to 0.30000000000000004: without the all-equal rule the deviation
     * would be rounding noise and the Sharpe about 1e17. */
    static const double c[] = {0.1, 0.1, 0.1};
    nd_metrics_t m = compute_ok(c, 3, &cfg);
    cr_assert_eq(m.annual_volatility, 0.0);
    cr_assert(isnan(m.sharpe));
    cr_assert(isnan(m.sortino)); /* no return below the target: zero downside */
    cr_assert(isnan(m.omega));   /* no loss: empty denominator */
    cr_assert_eq(m.downside_risk, 0.0);
    cr_assert_eq(m.max_drawdown, 0.0);
    cr_assert(isnan(m.calmar));
    assert_close(m.stability, 1.0); /* cumulative log wealth is a straight line */
    assert_close(m.var, 0.1);
    assert_close(m.tail_ratio, 1.0);
    static const double z[] = {0.0, 0.0, 0.0, 0.0};
    m = compute_ok(z, 4, &cfg);
    cr_assert_eq(m.stability, 0.0); /* scipy's linregress gives r = 0 with no y variance */
    cr_assert(isnan(m.tail_ratio)); /* p5 is 0 */
    cr_assert(isnan(m.omega));
    cr_assert_eq(m.total_return, 0.0);
    cr_assert_eq(m.annual_return, 0.0);
}

Test(metrics, no_negative_returns)
{
    static const double r[] = {0.01, 0.02, 0.03};
    nd_metrics_config_t cfg;
    nd_metrics_config_default(&cfg);
    nd_metrics_t m = compute_ok(r, 3, &cfg);
    cr_assert(isnan(m.sortino));
    cr_assert(isnan(m.omega));
    cr_assert_eq(m.downside_risk, 0.0);
    cr_assert_eq(m.max_drawdown, 0.0);
    cr_assert(isnan(m.calmar));
    assert_close(m.sharpe, 0.02 / 0.01 * sqrt(365.0));
    /* A target above every return turns them all into shortfalls. */
    cfg.required_return = 0.04;
    m = compute_ok(r, 3, &cfg);
    assert_close(m.downside_risk, sqrt((0.03 * 0.03 + 0.02 * 0.02 + 0.01 * 0.01) / 3.0) *
                                      sqrt(365.0));
}

Test(metrics, percentile_interpolation)
{
    static const double s[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    assert_close(nd_percentile_sorted(s, 10, 5.0), 1.45);
    assert_close(nd_percentile_sorted(s, 10, 95.0), 9.55);
    assert_close(nd_percentile_sorted(s, 10, 50.0), 5.5);
    cr_assert_eq(nd_percentile_sorted(s, 10, 0.0), 1.0);
    cr_assert_eq(nd_percentile_sorted(s, 10, 100.0), 10.0);
    assert_close(nd_percentile_sorted(s, 4, 40.0), 2.2);
    assert_close(nd_percentile_sorted(s, 4, 70.0), 3.1);
    cr_assert_eq(nd_percentile_sorted(s, 1, 30.0), 1.0);
    cr_assert(isnan(nd_percentile_sorted(s, 0, 50.0)));
    cr_assert(isnan(nd_percentile_sorted(s, 10, -1.0)));
    cr_assert(isnan(nd_percentile_sorted(s, 10, 100.5)));
    cr_assert(isnan(nd_percentile_sorted(s, 10, NAN)));
    /* The selection on an unsorted copy gives the same values. */
    static const double u[] = {7, 3, 10, 1, 9, 2, 8, 4, 6, 5};
    assert_close(nd_metric_var(u, 10, 0.05), 1.45);
    assert_close(nd_metric_var(u, 10, 0.5), 5.5);
    cr_assert_eq(nd_metric_var(u, 10, 0.0), 1.0);
    cr_assert_eq(nd_metric_var(u, 10, 1.0), 10.0);
    assert_close(nd_metric_tail_ratio(u, 10), 9.55 / 1.45);
    /* CVaR takes floor((n - 1) cutoff) + 1 values: 2 of 10 at 0.15, 1 of 10 at 0.1. */
    assert_close(nd_metric_cvar(u, 10, 0.15), 1.5);
    cr_assert_eq(nd_metric_cvar(u, 10, 0.1), 1.0);
    assert_close(nd_metric_cvar(u, 10, 1.0), 5.5);
    cr_assert(isnan(nd_metric_var(u, 10, 1.5)));
    cr_assert(isnan(nd_metric_cvar(u, 10, -0.1)));
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Builds a pattern that stresses the selection: 0 ascending, 1 descending, 2 all equal,
 * 3 few distinct values, 4 organ pipe, 5 pseudo-random (fixed LCG). */
static void fill_pattern(double *a, size_t n, int pattern)
{
    uint64_t x = 42;
    for (size_t i = 0; i < n; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        double v[] = {(double)i,
                      (double)(n - i),
                      1.0,
                      (double)(i % 3),
                      (double)(i < n / 2 ? i : n - i),
                      (double)(x >> 11) / 9007199254740992.0 - 0.5};
        a[i] = v[pattern] / 100.0;
    }
}

Test(metrics, selection_matches_full_sort)
{
    const size_t sizes[] = {1, 2, 3, 7, 20, 101, 10007};
    const double cutoffs[] = {0.0, 0.01, 0.05, 0.37, 0.5, 0.95, 1.0};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        size_t n = sizes[si];
        double *a = calloc(n, sizeof(double)), *s = calloc(n, sizeof(double));
        cr_assert(a != NULL && s != NULL);
        for (int p = 0; p < 6; p++) {
            fill_pattern(a, n, p);
            memcpy(s, a, n * sizeof(double));
            qsort(s, n, sizeof(double), compare_doubles);
            for (size_t ci = 0; ci < sizeof cutoffs / sizeof cutoffs[0]; ci++) {
                double c = cutoffs[ci];
                cr_assert_eq(nd_metric_var(a, n, c), nd_percentile_sorted(s, n, 100.0 * c),
                             "n=%zu pattern=%d cutoff=%g", n, p, c);
                size_t k = (size_t)((double)(n - 1) * c);
                double sum = 0.0;
                for (size_t i = 0; i <= k; i++)
                    sum += s[i];
                assert_close(nd_metric_cvar(a, n, c), sum / (double)(k + 1));
            }
        }
        free(a);
        free(s);
    }
}

/* The mean of the k + 1 smallest, summed in the series' own order: the values below the k-th,
 * and the first of those equal to it, as many as the count needs. */
static double cvar_in_index_order(const double *a, size_t n, const double *sorted, size_t k)
{
    size_t below = 0;
    while (below < k && sorted[below] < sorted[k])
        below++;
    size_t ties = k + 1 - below;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (a[i] < sorted[k]) {
            sum += a[i];
        } else if (a[i] == sorted[k] && ties > 0) {
            sum += a[i];
            ties--;
        }
    }
    return sum / (double)(k + 1);
}

Test(metrics, order_statistics_of_series_mostly_zero)
{
    /* A backtest's returns are exactly zero while it holds nothing: order statistics count the
     * zeros and select among the rest. Over seeded series with every share of zeros (some
     * negative zeros, ties among the others), VaR and the tail ratio equal the full sort's,
     * and CVaR is bit for bit the mean summed in index order. */
    const double cutoffs[] = {0.0, 0.01, 0.05, 0.5, 0.95, 1.0};
    uint64_t x = 7;
    for (int round = 0; round < 300; round++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        size_t n = 1 + (size_t)(x >> 33) % 2000;
        unsigned zero_share = (unsigned)(x >> 20) % 11; /* tenths */
        double *a = calloc(n, sizeof(double)), *s = calloc(n, sizeof(double));
        cr_assert(a != NULL && s != NULL);
        for (size_t i = 0; i < n; i++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            unsigned pick = (unsigned)(x >> 40) % 10;
            double v = (double)((int64_t)(x >> 50) % 64 - 32) / 1000.0;
            a[i] = pick < zero_share ? ((x >> 30) % 5 == 0 ? -0.0 : 0.0) : v;
        }
        memcpy(s, a, n * sizeof(double));
        qsort(s, n, sizeof(double), compare_doubles);
        for (size_t ci = 0; ci < sizeof cutoffs / sizeof cutoffs[0]; ci++) {
            double c = cutoffs[ci];
            double var = nd_metric_var(a, n, c), expected = nd_percentile_sorted(s, n, 100.0 * c);
            cr_assert(var == expected, "round %d n=%zu cutoff=%g: %g, %g", round, n, c, var,
                      expected);
            size_t k = (size_t)((double)(n - 1) * c);
            double cvar = nd_metric_cvar(a, n, c);
            cr_assert(cvar == cvar_in_index_order(a, n, s, k), "round %d n=%zu cutoff=%g", round,
                      n, c);
        }
        double p95 = nd_percentile_sorted(s, n, 95.0), p5 = nd_percentile_sorted(s, n, 5.0);
        double ratio = nd_metric_tail_ratio(a, n);
        if (p5 == 0.0)
            cr_assert(isnan(ratio));
        else
            cr_assert(ratio == fabs(p95) / fabs(p5), "round %d", round);
        free(a);
        free(s);
    }
}

Test(metrics, ten_million_returns, .timeout = 120)
{
    /* A permutation of (i - n/2) / n scaled to +-1%: every order statistic is known exactly. */
    const size_t n = 10000000;
    nd_series_t s;
    nd_series_init(&s);
    for (size_t i = 0; i < n; i++) {
        size_t j = (i * 7919) % n; /* 7919 is prime and does not divide 10^7 */
        cr_assert_eq(nd_series_push(&s, ((double)j - (double)(n / 2)) / (double)n / 50.0), ND_OK);
    }
    nd_metrics_config_t cfg;
    nd_metrics_config_default(&cfg);
    nd_metrics_t m = compute_ok(s.values, s.count, &cfg);
    /* Index (n-1) 0.05 = 499999.95: between ranks 499999 and 500000. */
    double lo = (499999.0 - 5000000.0) / 1e7 / 50.0, hi = (500000.0 - 5000000.0) / 1e7 / 50.0;
    assert_close(m.var, lo + (hi - lo) * 0.95);
    cr_assert(fabs(m.cvar - (-5000000.0 + 249999.5) / 1e7 / 50.0) < 1e-15);
    cr_assert_eq(m.count, n);
    cr_assert(isfinite(m.sharpe) && isfinite(m.stability) && m.max_drawdown < 0.0);
    nd_series_deinit(&s);
}

Test(metrics, invalid_input)
{
    nd_metrics_config_t cfg;
    nd_metrics_config_default(&cfg);
    nd_metrics_t m;
    memset(&m, 0xAB, sizeof m);
    const nd_metrics_t before = m;
    cr_assert_eq(nd_metrics_compute(NULL, 3, &cfg, &m), ND_EINVAL);
    double bad[] = {0.01, NAN, 0.02};
    cr_assert_eq(nd_metrics_compute(bad, 3, &cfg, &m), ND_EINVAL);
    bad[1] = INFINITY;
    cr_assert_eq(nd_metrics_compute(bad, 3, &cfg, &m), ND_EINVAL);
    bad[1] = 0.0;
    cfg.periods_per_year = 0.0;
    cr_assert_eq(nd_metrics_compute(bad, 3, &cfg, &m), ND_EINVAL);
    nd_metrics_config_default(&cfg);
    cfg.cutoff = 1.5;
    cr_assert_eq(nd_metrics_compute(bad, 3, &cfg, &m), ND_EINVAL);
    cr_assert_eq(memcmp(&m, &before, sizeof m), 0, "out written on failure");
}

/* An allocator that fails once `allowed` allocations have been made. */
static int allocations_allowed;

static void *failing_alloc(void *ctx, size_t size)
{
    (void)ctx;
    return allocations_allowed-- > 0 ? malloc(size) : NULL;
}

static void *failing_realloc(void *ctx, void *p, size_t size)
{
    (void)ctx;
    return allocations_allowed-- > 0 ? realloc(p, size) : NULL;
}

static void plain_free(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

static const nd_allocator_t failing = {failing_alloc, failing_realloc, plain_free, NULL};

Test(metrics, out_of_memory)
{
    nd_metrics_config_t cfg;
    nd_metrics_config_default(&cfg);
    nd_metrics_t m;
    memset(&m, 0x5A, sizeof m);
    const nd_metrics_t before = m;
    allocations_allowed = 0;
    nd_allocator_set(&failing);
    cr_assert_eq(nd_metrics_compute(series_a, SERIES_A_N, &cfg, &m), ND_ENOMEM);
    cr_assert_eq(memcmp(&m, &before, sizeof m), 0, "out written on failure");
    cr_assert(isnan(nd_metric_var(series_a, SERIES_A_N, 0.05)));
    cr_assert(isnan(nd_metric_cvar(series_a, SERIES_A_N, 0.05)));
    cr_assert(isnan(nd_metric_tail_ratio(series_a, SERIES_A_N)));
    /* The linear metrics do not allocate. */
    assert_close(nd_metric_sharpe(series_a, SERIES_A_N, 0.0, 365.0), 5.527941708708923);
    /* The empty series needs no scratch copy. */
    cr_assert_eq(nd_metrics_compute(NULL, 0, &cfg, &m), ND_OK);
    nd_allocator_set(NULL);
}

Test(series, growth_keeps_values)
{
    nd_series_t s;
    nd_series_init(&s);
    cr_assert_null(s.values);
    cr_assert_eq(s.count, 0);
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(nd_series_push(&s, i * 0.5), ND_OK);
    cr_assert_eq(s.count, 1000);
    cr_assert_geq(s.capacity, 1000);
    cr_assert_leq(s.capacity, 2000);
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(s.values[i], i * 0.5);
    nd_series_deinit(&s);
    cr_assert_null(s.values);
    cr_assert_eq(s.count, 0);
    cr_assert_eq(s.capacity, 0);
}

Test(series, push_out_of_memory_leaves_series_unchanged)
{
    nd_series_t s;
    nd_series_init(&s);
    allocations_allowed = 0;
    nd_allocator_set(&failing);
    cr_assert_eq(nd_series_push(&s, 1.0), ND_ENOMEM);
    cr_assert_null(s.values);
    cr_assert_eq(s.count, 0);
    allocations_allowed = 1; /* the first block, then nothing */
    while (s.count == 0 || s.count < s.capacity)
        cr_assert_eq(nd_series_push(&s, (double)s.count), ND_OK);
    double *values = s.values;
    size_t count = s.count, capacity = s.capacity;
    cr_assert_eq(nd_series_push(&s, -1.0), ND_ENOMEM);
    cr_assert_eq(s.values, values);
    cr_assert_eq(s.count, count);
    cr_assert_eq(s.capacity, capacity);
    cr_assert_eq(s.values[count - 1], (double)(count - 1));
    allocations_allowed = 1;
    cr_assert_eq(nd_series_push(&s, -1.0), ND_OK);
    cr_assert_eq(s.capacity, 2 * capacity);
    cr_assert_eq(s.values[count], -1.0);
    nd_series_deinit(&s);
    nd_allocator_set(NULL);
}

/* ---- The returns file (nd_returns_parse / nd_returns_load, src/analytics/returns.c). ----- */

static const double series_file[5] = {0.01, -0.02, 0.03, -0.01, 0.02};

/* Parses text as file "r.csv"; err receives the message. */
static nd_err_t parse_text(const char *text, size_t len, nd_series_t *s, char *err)
{
    nd_series_init(s);
    return nd_returns_parse("r.csv", text, len, s, err, 256);
}

Test(returns_file, parses_header_crlf_blanks_and_bom)
{
    static const char text[] = "return\r\n0.01\r\n-0.02\r\n 3e-2 \r\n-1E-2\r\n+0.02\r\n\r\n";
    nd_series_t s;
    char err[256] = "";
    cr_assert_eq(parse_text(text, sizeof text - 1, &s, err), ND_OK, "%s", err);
    cr_assert_eq(s.count, 5);
    for (size_t i = 0; i < 5; i++)
        cr_assert_eq(s.values[i], series_file[i]);
    nd_series_deinit(&s);
    /* No header and no final newline; a leading byte order mark is skipped. */
    static const char bom[] = "\xef\xbb\xbf" "0.5\n-0.25";
    cr_assert_eq(parse_text(bom, sizeof bom - 1, &s, err), ND_OK, "%s", err);
    cr_assert_eq(s.count, 2);
    cr_assert_eq(s.values[1], -0.25);
    nd_series_deinit(&s);
    cr_assert_eq(parse_text("return\n", 7, &s, err), ND_OK, "a header alone is an empty series");
    cr_assert_eq(s.count, 0);
    nd_series_deinit(&s);
}

static void expect_error(const char *text, size_t len, const char *message)
{
    nd_series_t s;
    char err[256] = "";
    cr_assert_eq(parse_text(text, len, &s, err), ND_EPARSE, "'%s' was accepted", text);
    cr_assert_not_null(strstr(err, message), "error '%s' lacks '%s'", err, message);
    nd_series_deinit(&s);
}

#define EXPECT_ERROR(text, message) expect_error(text, sizeof text - 1, message)

Test(returns_file, errors_name_file_line_and_why)
{
    EXPECT_ERROR("return\n0.01\nabc\n", "r.csv:3: not a decimal number: 'abc'");
    EXPECT_ERROR("0.01\nnan\n", "r.csv:2: not a decimal number: 'nan'");
    EXPECT_ERROR("0.01\n-inf\n", "r.csv:2: not a decimal number");
    EXPECT_ERROR("1e999\n", "r.csv:1: non-finite value");
    EXPECT_ERROR("0.01\n0.02 0.03\n", "r.csv:2: not a decimal number");
    EXPECT_ERROR("0.01\n1.2.3\n", "r.csv:2: not a decimal number");
    EXPECT_ERROR("0x10\n", "r.csv:1: not a decimal number");
    EXPECT_ERROR("0.01\n\n0.02\n", "r.csv:2: blank line inside the data");
    EXPECT_ERROR("0.01\nreturn\n", "r.csv:2: not a decimal number: 'return'");
    /* A NUL or an invisible byte is shown, not hidden in the quote. */
    EXPECT_ERROR("0.01\n1\0\n", "r.csv:2: not a decimal number: '1\\x00'");
    EXPECT_ERROR("0.01\n\xc2\xa0" "1\n", "r.csv:2: not a decimal number: '\\xc2\\xa01'");
    char long_line[400];
    memset(long_line, '1', sizeof long_line - 2);
    long_line[sizeof long_line - 2] = '\n';
    long_line[sizeof long_line - 1] = '\0';
    expect_error(long_line, strlen(long_line), "r.csv:1: line longer than 256 characters");
}

Test(returns_file, load_names_what_cannot_be_read)
{
    nd_series_t s;
    char err[256] = "";
    nd_series_init(&s);
    cr_assert_eq(nd_returns_load("/nonexistent/r.csv", &s, err, sizeof err), ND_ENOTFOUND);
    cr_assert_str_eq(err, "/nonexistent/r.csv: No such file or directory");
    cr_assert_eq(nd_returns_load("/tmp", &s, err, sizeof err), ND_EINVAL);
    cr_assert_str_eq(err, "/tmp: is a directory, not a regular file");
    nd_series_deinit(&s);
}

Test(returns_file, value_parser_for_options)
{
    double v = 0.0;
    cr_assert_null(nd_returns_value_parse("0.25", 4, &v));
    cr_assert_eq(v, 0.25);
    cr_assert_str_eq(nd_returns_value_parse("", 0, &v), "empty value");
    cr_assert_str_eq(nd_returns_value_parse("inf", 3, &v), "not a decimal number");
    cr_assert_str_eq(nd_returns_value_parse("1e999", 5, &v),
                     "non-finite value (out of the double range)");
}

/* ---- Against a benchmark (benchmark.c). Expected values from a plain-Python transcription of
 * empyrical's beta_aligned / alpha_aligned (population moments, alpha compounded). ---------- */

static const double bench_f[] = {0.005, -0.01, 0.02, 0.0, 0.01};

Test(benchmark, beta_and_alpha_match_empyrical)
{
    assert_close(nd_metric_beta(series_a, bench_f, SERIES_A_N, 0.0), 1.8);
    assert_close(nd_metric_alpha(series_a, bench_f, SERIES_A_N, 0.0, 365.0), -0.6660105229730302);
    assert_close(nd_metric_beta(series_a, bench_f, SERIES_A_N, 0.001), 1.8);
    assert_close(nd_metric_alpha(series_a, bench_f, SERIES_A_N, 0.001, 252.0),
                 -0.4259339019588454);
}

Test(benchmark, a_scaled_benchmark_has_its_scale_as_beta_and_no_alpha)
{
    double twice[SERIES_A_N];
    for (size_t i = 0; i < SERIES_A_N; i++)
        twice[i] = 2.0 * bench_f[i];
    assert_close(nd_metric_beta(twice, bench_f, SERIES_A_N, 0.0), 2.0);
    cr_assert(fabs(nd_metric_alpha(twice, bench_f, SERIES_A_N, 0.0, 365.0)) < 1e-12);
    /* Buy and hold against itself: beta 1, alpha 0. */
    assert_close(nd_metric_beta(bench_f, bench_f, SERIES_A_N, 0.0), 1.0);
}

Test(benchmark, undefined_cases_are_nan)
{
    static const double flat[] = {0.01, 0.01, 0.01};
    cr_assert(isnan(nd_metric_beta(series_a, bench_f, 1, 0.0)));
    cr_assert(isnan(nd_metric_beta(series_a, bench_f, 0, 0.0)));
    cr_assert(isnan(nd_metric_beta(series_a, flat, 3, 0.0)));
    cr_assert(isnan(nd_metric_alpha(series_a, flat, 3, 0.0, 365.0)));
}

Test(benchmark, daily_returns_take_each_utc_days_last_value)
{
    /* Hours across three days (the second day has two points), starting mid-day. */
    const double day = 86400000.0;
    const double ts[] = {12 * 3600e3, 23 * 3600e3, day + 3600e3, day + 2 * 3600e3,
                         2 * day + 5 * 3600e3};
    const double eq[] = {100, 110, 99, 121, 133.1};
    double out[5];
    size_t n = nd_returns_daily(ts, eq, 5, out);
    cr_assert_eq(n, 3);
    assert_close(out[0], 0.1);  /* day 0: 110 / 100 */
    assert_close(out[1], 0.1);  /* day 1: 121 / 110 */
    assert_close(out[2], 0.1);  /* day 2: 133.1 / 121 */
    cr_assert_eq(nd_returns_daily(ts, eq, 0, out), 0);
    const double zero[] = {0, 5};
    const double two_days[] = {0, day};
    cr_assert_eq(nd_returns_daily(two_days, zero, 2, out), 2);
    cr_assert(isnan(out[1]));
}
