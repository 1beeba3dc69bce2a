/* metrics.h: performance and risk metrics over a series of simple periodic returns.
 *
 * Conventions follow the empyrical library (docs/metrics.md gives every formula): sample
 * standard deviation (ddof = 1), annualisation by periods_per_year, max drawdown measured on
 * cumulative wealth starting at 1 before the first return, historical VaR by linear-interpolated
 * percentile, CVaR as the mean of the worst floor((n-1)*cutoff)+1 returns. A metric that is
 * undefined for the series (too few returns, zero deviation) is NaN; callers print null. */
#ifndef NODERR_METRICS_H
#define NODERR_METRICS_H

#include "noderr/err.h"

#include <stddef.h>
#include <stdint.h>

typedef struct nd_metrics_config {
    double periods_per_year; /* e.g. 8760 for hourly bars on a 365-day crypto year */
    double risk_free;        /* per-period risk-free return subtracted for Sharpe (default 0) */
    double required_return;  /* per-period target for Sortino/downside risk; annual for Omega */
    double cutoff;           /* VaR/CVaR tail share (default 0.05) */
} nd_metrics_config_t;

/* Defaults: 365 periods per year (daily), risk-free 0, required return 0, cutoff 0.05. */
void nd_metrics_config_default(nd_metrics_config_t *cfg);

/* Periods per year for a bar interval on a 365-day year (8760 for 1h, 365 for 1d). */
double nd_periods_per_year(int64_t interval_ns);

typedef struct nd_drawdown {
    double max_drawdown;      /* <= 0, e.g. -0.25 */
    int64_t peak_index;       /* index into the wealth series (0 = before the first return) */
    int64_t trough_index;
    int64_t recovery_index;   /* first index back at the peak's wealth, -1 if never */
    int64_t duration_periods; /* peak to recovery, or to the end when not recovered */
} nd_drawdown_t;

typedef struct nd_metrics {
    size_t count;
    double total_return;
    double annual_return;     /* CAGR */
    double annual_volatility;
    double sharpe;
    double sortino;
    double max_drawdown;      /* <= 0 */
    double calmar;
    double omega;
    double var;               /* historical value at risk at cutoff (a return, usually < 0) */
    double cvar;              /* conditional VaR (expected shortfall) */
    double tail_ratio;
    double downside_risk;     /* annualised */
    double stability;         /* R^2 of cumulative log returns against time */
    nd_drawdown_t drawdown;
} nd_metrics_t;

/* Computes every metric over returns[0..count). Returns ND_EINVAL for a NULL series with a
 * positive count or a non-finite return; ND_ENOMEM when the sort buffer cannot be had. Cost
 * O(n log n) for the percentiles. */
nd_err_t nd_metrics_compute(const double *returns, size_t count, const nd_metrics_config_t *cfg,
                            nd_metrics_t *out /* OUT */);

/* The single metrics, for callers that want one (same conventions as above). */
double nd_metric_total_return(const double *r, size_t n);
double nd_metric_annual_return(const double *r, size_t n, double periods_per_year);
double nd_metric_annual_volatility(const double *r, size_t n, double periods_per_year);
double nd_metric_sharpe(const double *r, size_t n, double risk_free, double periods_per_year);
double nd_metric_downside_risk(const double *r, size_t n, double required_return,
                               double periods_per_year);
double nd_metric_sortino(const double *r, size_t n, double required_return,
                         double periods_per_year);
double nd_metric_max_drawdown(const double *r, size_t n, nd_drawdown_t *detail /* OUT, may be NULL */);
double nd_metric_calmar(const double *r, size_t n, double periods_per_year);
double nd_metric_omega(const double *r, size_t n, double risk_free, double required_return,
                       double periods_per_year);
double nd_metric_stability(const double *r, size_t n);
/* These sort a copy; NaN on allocation failure or an empty series. */
double nd_metric_var(const double *r, size_t n, double cutoff);
double nd_metric_cvar(const double *r, size_t n, double cutoff);
double nd_metric_tail_ratio(const double *r, size_t n);
/* Against a benchmark (benchmark.c), empyrical's definitions over aligned returns r and f:
 * beta = cov(r - rf, f - rf) / var(f - rf) (population moments); alpha, annualised =
 * (1 + mean(r - rf - beta (f - rf)))^periods_per_year - 1. NaN with fewer than 2 returns or a
 * benchmark variance below 1e-30. O(n). */
double nd_metric_beta(const double *r, const double *f, size_t n, double risk_free);
double nd_metric_alpha(const double *r, const double *f, size_t n, double risk_free,
                       double periods_per_year);
/* Daily returns of a value series with ascending times ts_ms[0..n): each UTC day's last value
 * over the previous day's last (the first day's over the first value), written to out, which
 * holds n; returns the number of days. A zero previous value gives NaN. O(n). */
size_t nd_returns_daily(const double *ts_ms, const double *values, size_t n, double *out);
/* numpy.percentile with linear interpolation over an ascending sorted array; q in [0, 100]. */
double nd_percentile_sorted(const double *sorted, size_t n, double q);

/* A growable series of doubles (returns, equity) owned by the caller: init, push, deinit. */
typedef struct nd_series {
    double *values;
    size_t count;
    size_t capacity;
} nd_series_t;

void nd_series_init(nd_series_t *s);
/* Appends a value, growing geometrically; ND_ENOMEM leaves the series unchanged. Amortised O(1). */
nd_err_t nd_series_push(nd_series_t *s, double value);
void nd_series_deinit(nd_series_t *s);

/* A returns file (returns.c): one simple periodic return per line, an optional first line
 * `return`, LF or CRLF, blanks around values, blank lines only at the end; a leading UTF-8 byte
 * order mark is skipped. Values are plain decimals (no hex, inf or nan) and finite. Errors are
 * ND_EPARSE with err "PATH:LINE: why: 'text'" (non-printable bytes shown as \xHH), ND_ENOMEM,
 * or nd_file_read's (a FIFO, device or directory is refused before it is opened). */
#define ND_RETURNS_LINE_MAX 256
#define ND_RETURNS_FILE_BYTES_MAX (256u << 20)
nd_err_t nd_returns_parse(const char *path, const char *text, size_t len, nd_series_t *out,
                          char *err, size_t err_len);
/* One value as the returns file takes it (plain decimal, finite): NULL, or why it is refused
 * ("not a decimal number", ...). The command line's numeric options use it too. */
const char *nd_returns_value_parse(const char *text, size_t len, double *out /* OUT */);
nd_err_t nd_returns_load(const char *path, nd_series_t *out, char *err, size_t err_len);

#endif
