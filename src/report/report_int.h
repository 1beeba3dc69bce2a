/* report_int.h: what the report module's files share and nobody else sees: a growable text
 * buffer that remembers running out of memory (so writers need not check every append), the
 * HTML escaper, and the tolerant readers of the document's loosely typed values. */
#ifndef NODERR_REPORT_INT_H
#define NODERR_REPORT_INT_H

#include "noderr/report.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct nd__report_sb {
    char *data;   /* NUL-terminated while !oom */
    size_t len;
    size_t cap;
    bool oom;     /* an append failed: the text is incomplete and must not be used */
} nd__report_sb_t;

void nd__report_sb_init(nd__report_sb_t *sb);
void nd__report_sb_deinit(nd__report_sb_t *sb);
void nd__report_sb_put(nd__report_sb_t *sb, const char *text, size_t len);
void nd__report_sb_puts(nd__report_sb_t *sb, const char *text);
void nd__report_sb_printf(nd__report_sb_t *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends text escaped for HTML text and attribute values (& < > " '). */
void nd__report_sb_html(nd__report_sb_t *sb, const char *text);
/* Appends text for inside a <script> element: "</" becomes "<\/" and "<!--" becomes
 * "\u003c!--", both the same JSON value, so no data can end the element early. */
void nd__report_sb_script_safe(nd__report_sb_t *sb, const char *text, size_t len);
/* Appends a JSON string literal (quotes included) for text. */
void nd__report_sb_json_string(nd__report_sb_t *sb, const char *text);

/* A document value as a time in Unix ms: a number (ms) or an ISO-8601 string. */
bool nd__report_time_ms(const json_t *value, double *out_ms /* OUT */);
/* A document value as a finite number. */
bool nd__report_number(const json_t *value, double *out /* OUT */);
/* A string member of an object, or fallback. */
const char *nd__report_string(const json_t *object, const char *key, const char *fallback);

/* A chart series read from the document: times in whole seconds, strictly ascending. */
typedef struct nd__report_points {
    int64_t *time_s;
    double *value;
    double *time_ms; /* the original times, for the monthly table */
    size_t count;
} nd__report_points_t;

/* Reads [[ts, value], ...] (or [{"ts", "equity"|"value"}, ...]) keeping finite points whose
 * second is after the previous kept one. ND_ENOMEM only; a bad point is skipped. */
nd_err_t nd__report_points_read(const json_t *array, nd__report_points_t *out /* OUT */);
void nd__report_points_free(nd__report_points_t *points);

/* Appends the scenario's static HTML sections (tables). */
void nd__report_summary_table(nd__report_sb_t *sb, const json_t *scenarios);
void nd__report_metrics_table(nd__report_sb_t *sb, const json_t *metrics);
void nd__report_object_table(nd__report_sb_t *sb, const json_t *rows, const char *const *columns,
                             const char *empty_text);
void nd__report_failed_list(nd__report_sb_t *sb, const json_t *failed);
/* A two-column table of a nested record (the run's settings): objects become groups,
 * "strategies" lists each strategy with its parameters. */
void nd__report_record_table(nd__report_sb_t *sb, const json_t *record);
/* The monthly-returns heatmap of an equity series. ND_ENOMEM only. */
nd_err_t nd__report_heatmap(nd__report_sb_t *sb, const nd__report_points_t *equity);
/* Appends the readable column or row name of a document key, escaped. */
void nd__report_label(nd__report_sb_t *sb, const char *key);
/* Appends the status badge for a scenario status ("pass", "fail", "skipped", else n/a). */
void nd__report_badge(nd__report_sb_t *sb, const char *status);
/* Formats a value: pct, ratio, money, int or generic, "n/a" when absent or not a number. */
void nd__report_value(nd__report_sb_t *sb, const json_t *value, const char *key);

/* Adds to a backtest scenario s (report_run.c): status and status_detail, pnl_by_strategy,
 * pnl_by_asset, run (strategies and parameters, data, range, costs, limits), instruments (with
 * candles) and benchmark (buy and hold) with alpha, beta, benchmark_return and excess_return in
 * s's metrics. full is the run's own JSON (nd_backtest_result_json). bars (count of them): the
 * run's bars when the caller has them in memory; NULL: read again from cfg's file or market. */
void nd__report_add_run(json_t *s, const nd_backtest_config_t *cfg, const nd_backtest_result_t *r,
                        const json_t *full, const nd_bar_t *bars, size_t count);
/* nd_report_scenario_from_backtest with the run's bars given (see nd__report_add_run). */
json_t *nd__report_scenario(const nd_backtest_config_t *cfg, const nd_backtest_result_t *r,
                            const char *name, const char *kind, const nd_bar_t *bars,
                            size_t count);
/* The evolve part of a page (report_evolve_html.c): sections into sb, chart data into blob
 * (",\"evolve\":{...}" appended inside the blob's top object). ND_ENOMEM only. */
nd_err_t nd__report_evolve_html(nd__report_sb_t *sb, nd__report_sb_t *blob, const json_t *ev);

#endif
