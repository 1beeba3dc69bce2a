/* report_html.c: the page. Static parts (summary, per-scenario tables, heatmap) are HTML
 * written here; the charts are drawn in the browser by web/report.js from one JSON blob
 * (<script type="application/json" id="nd-data">) holding only clean numbers: times in whole
 * seconds, strictly ascending, and trade/breaker markers snapped to the bars they fall in.
 * Nothing depends on the clock, the locale or hash order, so a document renders to the same
 * bytes every time. */
#include "report_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/clock.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Marker codes shared with web/report.js. */
enum { MARK_LONG_ENTRY, MARK_LONG_EXIT, MARK_SHORT_ENTRY, MARK_SHORT_EXIT, MARK_BREAKER };

typedef struct marker {
    int64_t time_s;
    int code;
} marker_t;

static int marker_cmp(const void *a, const void *b)
{
    const marker_t *x = a, *y = b;
    if (x->time_s != y->time_s)
        return x->time_s < y->time_s ? -1 : 1;
    return (x->code > y->code) - (x->code < y->code);
}

/* The time of the last bar at or before ts_ms (the first bar when earlier than all). */
static bool snap(const nd__report_points_t *eq, const json_t *value, int64_t *out)
{
    double ms;
    if (eq->count == 0 || !nd__report_time_ms(value, &ms) || fabs(ms) > 9.0e15)
        return false;
    int64_t sec = (int64_t)floor(ms / 1000.0);
    /* The bars at or before sec are those before the first one after it (|sec| < 10^13: no
     * overflow in sec + 1). */
    size_t after = nd_time_lower_bound(eq->time_s, eq->count, sizeof *eq->time_s, sec + 1);
    *out = eq->time_s[after > 0 ? after - 1 : 0];
    return true;
}

static bool is_short(const json_t *trade)
{
    const json_t *d = json_object_get(trade, "direction");
    double v;
    if (json_is_string(d))
        return strcmp(json_string_value(d), "short") == 0;
    return nd__report_number(d, &v) && v < 0;
}

static void push_marker(marker_t *m, size_t *n, const nd__report_points_t *eq,
                        const json_t *value, int code)
{
    if (snap(eq, value, &m[*n].time_s))
        m[(*n)++].code = code;
}

/* Trade entries and exits and breaker trips, sorted by time. NULL (count 0) when none. */
static marker_t *collect_markers(const json_t *s, const nd__report_points_t *eq, size_t *count)
{
    const json_t *trades = json_object_get(s, "trades"), *breakers = json_object_get(s,
                                                                           "breaker_events");
    size_t nt = json_is_array(trades) ? json_array_size(trades) : 0;
    size_t nb = json_is_array(breakers) ? json_array_size(breakers) : 0;
    *count = 0;
    if (nt + nb == 0 || eq->count == 0)
        return NULL;
    marker_t *m = nd_alloc((2 * nt + nb) * sizeof *m);
    if (!m)
        return NULL;
    for (size_t i = 0; i < nt; i++) {
        const json_t *t = json_array_get(trades, i);
        if (!json_is_object(t))
            continue;
        bool sh = is_short(t);
        push_marker(m, count, eq, json_object_get(t, "entry_ts"),
                    sh ? MARK_SHORT_ENTRY : MARK_LONG_ENTRY);
        push_marker(m, count, eq, json_object_get(t, "exit_ts"),
                    sh ? MARK_SHORT_EXIT : MARK_LONG_EXIT);
    }
    for (size_t i = 0; i < nb; i++)
        push_marker(m, count, eq, json_object_get(json_array_get(breakers, i), "ts"),
                    MARK_BREAKER);
    qsort(m, *count, sizeof *m, marker_cmp);
    return m;
}

static void blob_points(nd__report_sb_t *sb, const int64_t *t, const double *v, size_t n,
                        double scale)
{
    nd__report_sb_puts(sb, "[");
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i] * scale))
            continue;
        nd__report_sb_printf(sb, "%s[%lld,%.10g]", first ? "" : ",", (long long)t[i],
                             v[i] * scale);
        first = false;
    }
    nd__report_sb_puts(sb, "]");
}

/* The drawdown in percent: the document's own series when it has one, else from equity. */
static nd_err_t blob_drawdown(nd__report_sb_t *sb, const json_t *s, const nd__report_points_t *eq)
{
    nd__report_points_t dd;
    nd_err_t rc = nd__report_points_read(json_object_get(s, "drawdown"), &dd);
    if (rc != ND_OK)
        return rc;
    bool have = dd.count > 0;
    if (have)
        blob_points(sb, dd.time_s, dd.value, dd.count, 100.0);
    nd__report_points_free(&dd);
    if (have)
        return ND_OK;
    double *v = nd_alloc((eq->count ? eq->count : 1) * sizeof *v);
    if (!v)
        return ND_ENOMEM;
    nd_report_drawdown(eq->value, eq->count, v);
    blob_points(sb, eq->time_s, v, eq->count, 100.0);
    nd_free(v);
    return ND_OK;
}

/* One instrument's candles [[time_s, open, high, low, close], ...]: finite values, times
 * strictly ascending (anything else is left out, like a bad series point). */
static void blob_candles(nd__report_sb_t *sb, const json_t *candles)
{
    nd__report_sb_puts(sb, "[");
    int64_t prev = INT64_MIN;
    bool first = true;
    for (size_t i = 0; json_is_array(candles) && i < json_array_size(candles); i++) {
        const json_t *c = json_array_get(candles, i);
        double ms, v[4];
        bool ok = nd__report_time_ms(json_array_get(c, 0), &ms) && fabs(ms) < 9.0e15;
        for (size_t k = 0; ok && k < 4; k++)
            ok = nd__report_number(json_array_get(c, k + 1), &v[k]);
        int64_t sec = ok ? (int64_t)floor(ms / 1000.0) : 0;
        if (!ok || sec <= prev)
            continue;
        nd__report_sb_printf(sb, "%s[%lld,%.10g,%.10g,%.10g,%.10g]", first ? "" : ",",
                             (long long)sec, v[0], v[1], v[2], v[3]);
        prev = sec;
        first = false;
    }
    nd__report_sb_puts(sb, "]");
}

/* "instruments": [{"symbol", "candles"}] and "benchmark": [[time_s, value]]. */
static nd_err_t blob_market(nd__report_sb_t *sb, const json_t *s)
{
    const json_t *list = json_object_get(s, "instruments"), *item;
    size_t i;
    nd__report_sb_puts(sb, ",\"instruments\":[");
    json_array_foreach(list, i, item) {
        nd__report_sb_puts(sb, i ? ",{\"symbol\":" : "{\"symbol\":");
        nd__report_sb_json_string(sb, nd__report_string(item, "symbol", "?"));
        nd__report_sb_puts(sb, ",\"candles\":");
        blob_candles(sb, json_object_get(item, "candles"));
        nd__report_sb_puts(sb, "}");
    }
    nd__report_sb_puts(sb, "],\"benchmark\":");
    nd__report_points_t bh;
    nd_err_t rc = nd__report_points_read(json_object_get(json_object_get(s, "benchmark"),
                                                         "equity"), &bh);
    if (rc != ND_OK)
        return rc;
    blob_points(sb, bh.time_s, bh.value, bh.count, 1.0);
    nd__report_points_free(&bh);
    nd__report_sb_puts(sb, ",\"benchmark_name\":");
    nd__report_sb_json_string(sb, nd__report_string(json_object_get(s, "benchmark"), "name",
                                                    "benchmark"));
    return ND_OK;
}

static nd_err_t blob_scenario(nd__report_sb_t *sb, const json_t *s, const nd__report_points_t *eq)
{
    nd__report_sb_puts(sb, "{\"name\":");
    nd__report_sb_json_string(sb, nd__report_string(s, "name", "(unnamed)"));
    nd__report_sb_puts(sb, ",\"equity\":");
    blob_points(sb, eq->time_s, eq->value, eq->count, 1.0);
    nd__report_sb_puts(sb, ",\"drawdown\":");
    nd_err_t rc = blob_drawdown(sb, s, eq);
    if (rc == ND_OK)
        rc = blob_market(sb, s);
    if (rc != ND_OK)
        return rc;
    size_t n = 0;
    marker_t *m = collect_markers(s, eq, &n);
    /* Halted spans, in seconds like every other time of the blob. */
    const json_t *halts = json_object_get(s, "halts");
    nd__report_sb_puts(sb, ",\"halts\":[");
    for (size_t i = 0; json_is_array(halts) && i < json_array_size(halts); i++) {
        const json_t *span = json_array_get(halts, i);
        nd__report_sb_printf(sb, "%s[%lld,%lld]", i ? "," : "",
                             (long long)(json_integer_value(json_array_get(span, 0)) / 1000),
                             (long long)(json_integer_value(json_array_get(span, 1)) / 1000));
    }
    nd__report_sb_puts(sb, "]");
    nd__report_sb_puts(sb, ",\"markers\":[");
    for (size_t i = 0; i < n; i++)
        nd__report_sb_printf(sb, "%s[%lld,%d]", i ? "," : "", (long long)m[i].time_s, m[i].code);
    nd__report_sb_puts(sb, "]}");
    nd_free(m);
    return ND_OK;
}

static const char *const criteria_columns[] = {"name", "value", "limit", "pass", NULL};
static const char *const breaker_columns[] = {"type", "ts", "equity", "threshold_pct",
                                              "measured_pct", NULL};
static const char *const trade_columns[] = {"entry_ts", "exit_ts", "strategy", "symbol",
                                            "direction", "qty", "entry_px", "exit_px", "pnl",
                                            "fees", NULL};
static const char *const strategy_columns[] = {"strategy", "net", "realized", "unrealized",
                                               "fees", "trades", NULL};
static const char *const asset_columns[] = {"asset", "net", "realized", "unrealized", "fees",
                                            "trades", NULL};

static void scenario_head(nd__report_sb_t *sb, const json_t *s, size_t index)
{
    nd__report_sb_printf(sb, "<section class=\"scenario\" id=\"s-%zu\">\n<h2>", index);
    nd__report_sb_html(sb, nd__report_string(s, "name", "(unnamed)"));
    nd__report_sb_puts(sb, " ");
    nd__report_badge(sb, nd__report_string(s, "status", NULL));
    nd__report_sb_puts(sb, "</h2>\n<p class=\"meta\">");
    nd__report_sb_html(sb, nd__report_string(s, "kind", "n/a"));
    const json_t *trades = json_object_get(s, "trades");
    if (json_is_array(trades))
        nd__report_sb_printf(sb, " &middot; %zu round trips", json_array_size(trades));
    const char *detail = nd__report_string(s, "status_detail", NULL);
    if (detail) {
        nd__report_sb_puts(sb, " &middot; <span class=\"status-detail\">");
        nd__report_sb_html(sb, detail);
        nd__report_sb_puts(sb, "</span>");
    }
    nd__report_sb_puts(sb, "</p>\n");
    const char *why = nd__report_string(s, "skip_reason", NULL);
    if (why) {
        nd__report_sb_puts(sb, "<p class=\"skip\">");
        nd__report_sb_html(sb, why);
        nd__report_sb_puts(sb, "</p>\n");
    }
    nd__report_failed_list(sb, json_object_get(s, "failed_criteria"));
}

/* Price (candles of the first instrument, with the trades), equity (with the benchmark) and
 * drawdown: three charts on one time axis, drawn by web/report.js. */
static void scenario_charts(nd__report_sb_t *sb, const json_t *s, size_t index)
{
    const json_t *instruments = json_object_get(s, "instruments");
    if (json_is_array(instruments) && json_array_size(instruments) > 0) {
        nd__report_sb_puts(sb, "<h3>Price: ");
        nd__report_sb_html(sb, nd__report_string(json_array_get(instruments, 0), "symbol", "?"));
        nd__report_sb_printf(sb, "</h3>\n<div class=\"chart chart-px\" id=\"px-%zu\"></div>\n"
                                 "<p class=\"legend\"><span class=\"up\">&#9650;</span> entry "
                                 "<span class=\"down\">&#9660;</span> exit "
                                 "<span class=\"trip\">&#9679;</span> breaker trip"
                                 "<span class=\"hint\" id=\"pxhint-%zu\"></span></p>\n",
                             index, index);
    }
    const char *bench = json_object_get(s, "benchmark")
                            ? nd__report_string(json_object_get(s, "benchmark"), "name", NULL)
                            : NULL;
    nd__report_sb_printf(sb, "<h3>Equity</h3>\n<div class=\"chart chart-eq\" id=\"eq-%zu\">"
                             "</div>\n<p class=\"legend\"><span class=\"line\">&#9644;</span> "
                             "strategy ", index);
    if (bench) {
        nd__report_sb_puts(sb, "<span class=\"bench\">&#9644;</span> ");
        nd__report_sb_html(sb, bench);
        nd__report_sb_puts(sb, " ");
    }
    /* With a price chart the trades are marked there; the equity keeps the breaker trips. */
    bool priced = json_is_array(instruments) && json_array_size(instruments) > 0;
    if (!priced)
        nd__report_sb_puts(sb, "<span class=\"up\">&#9650;</span> entry <span class=\"down\">"
                               "&#9660;</span> exit ");
    nd__report_sb_printf(sb, "<span class=\"trip\">&#9679;</span> breaker "
                             "trip <span class=\"halted\">&#9632;</span> halted"
                             "<span class=\"hint\" id=\"hint-%zu\"></span></p>\n"
                             "<h3>Drawdown</h3>\n<div class=\"chart chart-dd\" id=\"dd-%zu\">"
                             "</div>\n", index, index);
}

/* A part of a scenario: its <h3> heading (HTML) and its table of rows under columns, or the
 * empty text when there are none. */
static void part_table(nd__report_sb_t *sb, const char *heading, const json_t *rows,
                       const char *const *columns, const char *empty)
{
    nd__report_sb_puts(sb, "<h3>");
    nd__report_sb_puts(sb, heading);
    nd__report_sb_puts(sb, "</h3>\n");
    nd__report_object_table(sb, rows, columns, empty);
}

/* Trades, P&L by strategy and asset, and the record of the run, when the document has them. */
static void scenario_run_tables(nd__report_sb_t *sb, const json_t *s)
{
    if (json_object_get(s, "pnl_by_strategy")) {
        part_table(sb, "P&amp;L by strategy", json_object_get(s, "pnl_by_strategy"),
                   strategy_columns, "No strategy.");
        part_table(sb, "P&amp;L by asset", json_object_get(s, "pnl_by_asset"), asset_columns,
                   "No asset.");
    }
    if (json_is_array(json_object_get(s, "trades")))
        part_table(sb, "Trades <span class=\"meta\">(click a column to sort)</span>",
                   json_object_get(s, "trades"), trade_columns, "No round trip.");
    if (json_object_get(s, "run")) {
        nd__report_sb_puts(sb, "<h3>Run</h3>\n");
        nd__report_record_table(sb, json_object_get(s, "run"));
    }
}

static nd_err_t scenario_section(nd__report_sb_t *sb, const json_t *s, size_t index,
                                 const nd__report_points_t *eq)
{
    scenario_head(sb, s, index);
    if (eq->count > 0)
        scenario_charts(sb, s, index);
    else
        nd__report_sb_puts(sb, "<p class=\"na\">No equity series: no charts.</p>\n");
    nd__report_sb_puts(sb, "<h3>Monthly returns</h3>\n");
    nd_err_t rc = nd__report_heatmap(sb, eq);
    if (rc != ND_OK)
        return rc;
    nd__report_sb_puts(sb, "<h3>Metrics</h3>\n");
    nd__report_metrics_table(sb, json_object_get(s, "metrics"));
    part_table(sb, "Criteria", json_object_get(s, "criteria"), criteria_columns,
               "No pass/fail criteria for this run.");
    part_table(sb, "Circuit breakers", json_object_get(s, "breaker_events"), breaker_columns,
               "No circuit breaker tripped.");
    scenario_run_tables(sb, s);
    nd__report_sb_puts(sb, "</section>\n");
    return ND_OK;
}

static void page_head(nd__report_sb_t *sb, const json_t *doc, const nd_report_assets_t *assets)
{
    const char *title = nd__report_string(doc, "title", "Noderr report");
    nd__report_sb_puts(sb, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                           "<meta name=\"viewport\" content=\"width=device-width, "
                           "initial-scale=1\">\n<title>");
    nd__report_sb_html(sb, title);
    nd__report_sb_puts(sb, "</title>\n<style>\n");
    nd__report_sb_puts(sb, assets->report_css);
    nd__report_sb_puts(sb, "</style>\n</head>\n<body>\n<header>\n<h1>");
    nd__report_sb_html(sb, title);
    nd__report_sb_puts(sb, "</h1>\n<p class=\"meta\">");
    nd__report_sb_html(sb, nd__report_string(doc, "generated_by", "noderr"));
    nd__report_sb_puts(sb, "</p>\n</header>\n<div id=\"nd-errors\" class=\"errors\" hidden></div>\n"
                           "<noscript><p class=\"errors\">The charts need JavaScript; the tables "
                           "below do not.</p></noscript>\n<main>\n<section class=\"overview\">\n"
                           "<h2>Summary</h2>\n");
    nd__report_summary_table(sb, json_object_get(doc, "scenarios"));
    nd__report_sb_puts(sb, "</section>\n");
}

/* The evolve sections (when the document has "evolve") before the scenarios; their chart data
 * go into extra, appended to the blob's top object. */
static nd_err_t page_evolve(nd__report_sb_t *sb, nd__report_sb_t *extra, const json_t *doc)
{
    const json_t *ev = json_object_get(doc, "evolve");
    return json_is_object(ev) ? nd__report_evolve_html(sb, extra, ev) : ND_OK;
}

/* Every scenario's section into sb and its chart data into blob. */
static nd_err_t page_scenarios(nd__report_sb_t *sb, nd__report_sb_t *blob, const json_t *doc,
                               const nd__report_sb_t *extra)
{
    const json_t *scenarios = json_object_get(doc, "scenarios");
    size_t n = json_is_array(scenarios) ? json_array_size(scenarios) : 0;
    nd__report_sb_puts(blob, "{\"title\":");
    nd__report_sb_json_string(blob, nd__report_string(doc, "title", "Noderr report"));
    nd__report_sb_puts(blob, ",\"scenarios\":[");
    for (size_t i = 0; i < n; i++) {
        const json_t *s = json_array_get(scenarios, i);
        nd__report_points_t eq;
        nd_err_t rc = nd__report_points_read(json_object_get(s, "equity"), &eq);
        if (rc == ND_OK) {
            rc = scenario_section(sb, s, i, &eq);
            nd__report_sb_puts(blob, i ? "," : "");
            if (rc == ND_OK)
                rc = blob_scenario(blob, s, &eq);
        }
        nd__report_points_free(&eq);
        if (rc != ND_OK)
            return rc;
    }
    nd__report_sb_puts(blob, "]");
    if (extra->data)
        nd__report_sb_put(blob, extra->data, extra->len);
    nd__report_sb_puts(blob, "}");
    return ND_OK;
}

nd_err_t nd_report_html_render(const json_t *doc, const nd_report_assets_t *assets,
                               char **out_html, size_t *out_len, char *err, size_t err_len)
{
    ND_ASSERT(assets != NULL && assets->library_js && assets->report_js && assets->report_css);
    ND_ASSERT(out_html != NULL && out_len != NULL);
    if (!json_is_object(doc)) {
        nd_err_put(err, err_len, "%s", "report: the document is not a JSON object");
        return ND_EINVAL;
    }
    nd__report_sb_t sb, blob, extra;
    nd__report_sb_init(&sb);
    nd__report_sb_init(&blob);
    nd__report_sb_init(&extra);
    page_head(&sb, doc, assets);
    nd_err_t rc = page_evolve(&sb, &extra, doc);
    if (rc == ND_OK)
        rc = page_scenarios(&sb, &blob, doc, &extra);
    if (extra.oom)
        rc = ND_ENOMEM;
    nd__report_sb_deinit(&extra);
    nd__report_sb_puts(&sb, "</main>\n<footer><p class=\"meta\">Charts: TradingView Lightweight "
                            "Charts&trade; (Apache-2.0), inlined.</p></footer>\n"
                            "<script type=\"application/json\" id=\"nd-data\">");
    if (blob.data)
        nd__report_sb_script_safe(&sb, blob.data, blob.len);
    nd__report_sb_puts(&sb, "</script>\n<script>\n");
    nd__report_sb_puts(&sb, assets->library_js);
    nd__report_sb_puts(&sb, "\n</script>\n<script>\n");
    nd__report_sb_puts(&sb, assets->report_js);
    nd__report_sb_puts(&sb, "</script>\n</body>\n</html>\n");
    if (rc == ND_OK && (sb.oom || blob.oom))
        rc = ND_ENOMEM;
    nd__report_sb_deinit(&blob);
    if (rc != ND_OK) {
        nd_err_put(err, err_len, "report: %s", rc == ND_ENOMEM ? "out of memory" : "failed");
        nd__report_sb_deinit(&sb);
        return rc;
    }
    *out_html = sb.data;
    *out_len = sb.len;
    return ND_OK;
}
