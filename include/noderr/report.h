/* report.h: self-contained HTML reports of backtests and validation runs.
 *
 * A report is built from a JSON document (jansson) that anyone can assemble:
 *
 *   {"title": "...", "generated_by": "...",
 *    "scenarios": [{"name", "kind", "status": "pass"|"fail"|"skipped"|"n/a",
 *                   "metrics": {"total_return", "annual_return", "sharpe", ...},
 *                   "criteria": [{"name", "value", "limit", "pass"}], "failed_criteria": [...],
 *                   "breaker_events": [{"type", "ts", "equity", "threshold_pct", ...}],
 *                   "equity": [[ts_ms, equity], ...], "drawdown": [[ts_ms, fraction], ...],
 *                   "trades": [{"entry_ts", "exit_ts", "direction", "entry_px", "exit_px",
 *                               "pnl"}], "skip_reason"}]}
 *
 * Every key is optional: a missing or mistyped value renders as "n/a" and never fails the
 * write. Times are Unix milliseconds or ISO-8601 strings. The page inlines the charting library
 * (lightweight-charts, installed under web/ by `npm ci --prefix web`), the report's own script
 * and style, and the chart data, so it opens offline; the same document gives the same bytes.
 * docs/reports.md describes the page. */
#ifndef NODERR_REPORT_H
#define NODERR_REPORT_H

#include "noderr/backtest.h"
#include "noderr/evolve.h"
#include "noderr/err.h"

#include <jansson.h>
#include <stddef.h>

/* The library file inside the web directory, relative to it. */
#define ND_REPORT_LIBRARY_PATH \
    "node_modules/lightweight-charts/dist/lightweight-charts.standalone.production.js"

/* The texts inlined into every page. */
typedef struct nd_report_assets {
    char *library_js; /* the charting library; defines the global LightweightCharts */
    char *report_js;  /* web/report.js: draws the charts from the embedded data */
    char *report_css; /* web/report.css */
} nd_report_assets_t;

/* The web directory: $NODERR_WEB_DIR when set and non-empty, else the source tree's web/ as
 * configured at build time. The string is static or from the environment; do not free it. */
const char *nd_report_web_dir(void);

/* Reads the three assets from web_dir. With web_dir NULL: from $NODERR_WEB_DIR when set, else
 * the copies embedded at build time when the binary has them (built with the library
 * installed), else nd_report_web_dir(). ND_ENOTFOUND with a message
 * that says to run `npm ci --prefix web` when the library is not installed; ND_EIO when a file
 * cannot be read; ND_EPARSE when a text cannot be inlined (it holds "</script" or "<!--").
 * On success release with nd_report_assets_free. Cost: reads about 200 KB. */
nd_err_t nd_report_assets_load(const char *web_dir, nd_report_assets_t *assets /* OUT */,
                               char *err, size_t err_len);
void nd_report_assets_free(nd_report_assets_t *assets);

/* Renders the page for doc into a NUL-terminated buffer the caller frees with nd_free.
 * ND_ENOMEM when memory runs out; ND_EINVAL when doc is not an object. Deterministic.
 * Cost O(points + trades log trades). */
nd_err_t nd_report_html_render(const json_t *doc, const nd_report_assets_t *assets,
                               char **out_html /* OUT */, size_t *out_len /* OUT */, char *err,
                               size_t err_len);

/* Writes one self-contained HTML file (opens offline: every script and style inlined) for doc.
 * Loads the assets from nd_report_web_dir(), renders, and writes path through a temporary file
 * renamed into place, so a failed write leaves no partial report. Errors as
 * nd_report_assets_load and nd_report_html_render, ND_EIO when path cannot be written. */
nd_err_t nd_report_html_write(const json_t *doc, const char *path, char *err, size_t err_len);

/* One scenario object of the document from a finished backtest run with cfg->keep_equity set:
 * name, kind, status "n/a", metrics, breaker_events, equity, drawdown and trades (times in ms).
 * A validator adds status and criteria itself. Caller owns the reference; NULL on OOM. */
json_t *nd_report_scenario_from_backtest(const nd_backtest_config_t *cfg,
                                         const nd_backtest_result_t *result, const char *name,
                                         const char *kind);

/* The whole document for a single backtest: title, generated_by and one scenario. */
json_t *nd_report_doc_from_backtest(const nd_backtest_config_t *cfg,
                                    const nd_backtest_result_t *result);

/* Records the strategies and parameters of cfg in every scenario of doc that has no record of
 * its own ("run": {"strategies": [{"name", "params"}]}), for the summary's parameter column
 * (validate --report). Returns ND_ENOMEM or ND_OK. */
nd_err_t nd_report_doc_add_strategies(json_t *doc, const nd_backtest_config_t *cfg);

/* What an evolve report is made from (`noderr evolve --report`). */
typedef struct nd_report_evolve {
    const nd_evolve_task_t *task;      /* the strategy, engine settings and objectives */
    const nd_evolve_config_t *cfg;     /* the GA settings */
    const nd_evolve_result_t *result;  /* the (last window's) run: front and history */
    const nd_evolve_bars_t *data;      /* every bar of the run */
    const char *data_name;             /* the data file or scenario, for the title */
    const double *selected;            /* the parameters --out writes */
    const json_t *walk_forward;        /* the windows (evolve --json's "walk_forward") or NULL */
    const json_t *selection;           /* {"selection": {...}, "warning"?} or NULL */
} nd_report_evolve_t;

/* The document of an evolve run: the selected parameters backtested over all the data as the
 * page's scenario (price, trades, benchmark, equity, drawdown, tables), and "evolve": the
 * settings, the selected parameters, the Pareto front (each member with its objectives and its
 * equity curve over all the data, at most 600 points), the convergence history, the
 * walk-forward windows and the selection. Runs one backtest per front member (at most 24).
 * Caller owns the reference; NULL on OOM or when a backtest fails (err says why). */
json_t *nd_report_doc_from_evolve(const nd_report_evolve_t *in, char *err, size_t err_len);

/* One calendar month of returns (UTC): month-end equity / previous month-end equity - 1, the
 * first month measured from the first equity point. NaN when an equity is not positive. */
typedef struct nd_report_month {
    int year;
    int month; /* 1..12 */
    double ret;
} nd_report_month_t;

/* Monthly returns of an equity series with ascending times ts_ms[0..count). Months without a
 * point are absent. Writes at most cap months; *out_count is the number of months the series
 * spans with data (ND_EFULL when more than cap, months written up to cap). O(count). */
nd_err_t nd_report_monthly_returns(const double *ts_ms, const double *equity, size_t count,
                                   nd_report_month_t *out, size_t cap,
                                   size_t *out_count /* OUT */);

/* Drawdown fractions (<= 0) of an equity series against its running peak: out[i] =
 * equity[i] / max(equity[0..i]) - 1; NaN while the peak is not positive. O(count). */
void nd_report_drawdown(const double *equity, size_t count, double *out);

#endif
