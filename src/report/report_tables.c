/* report_tables.c: the page's static tables (summary, metrics, criteria, breaker events,
 * monthly heatmap), written as HTML by C so they read without JavaScript. Every value comes
 * from the loosely typed document: a missing or mistyped one prints "n/a", every string is
 * HTML-escaped, and numbers are formatted with fixed formats so the bytes never vary. */
#include "report_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/clock.h"

#include <math.h>
#include <string.h>

typedef enum { FMT_GENERIC, FMT_PCT, FMT_PCT_POINTS, FMT_RATIO, FMT_MONEY, FMT_TIME } fmt_t;

static const char *const pct_keys[] = {
    "total_return", "annual_return", "annual_volatility", "max_drawdown", "var", "cvar",
    "win_rate", "exposure", "downside_risk", "worst_drawdown_after", "benchmark_return",
    "excess_return", "alpha", NULL};
static const char *const ratio_keys[] = {
    "sharpe", "sortino", "calmar", "profit_factor", "omega", "tail_ratio", "stability", "beta",
    NULL};
static const char *const money_keys[] = {
    "final_equity", "fees", "equity", "initial_cash", "reference_equity", "entry_px",
    "exit_px", "pnl", "realized", "unrealized", "net", NULL};

static bool in_list(const char *key, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(key, list[i]) == 0)
            return true;
    return false;
}

static bool ends_with(const char *key, const char *suffix)
{
    size_t n = strlen(key), m = strlen(suffix);
    return n >= m && strcmp(key + n - m, suffix) == 0;
}

static fmt_t key_format(const char *key)
{
    if (!key)
        return FMT_GENERIC;
    if (in_list(key, pct_keys))
        return FMT_PCT;
    if (in_list(key, ratio_keys))
        return FMT_RATIO;
    if (in_list(key, money_keys))
        return FMT_MONEY;
    if (ends_with(key, "_pct"))
        return FMT_PCT_POINTS;
    if (strcmp(key, "ts") == 0 || ends_with(key, "_ts"))
        return FMT_TIME;
    return FMT_GENERIC;
}

static int dump_cb(const char *buffer, size_t size, void *data)
{
    nd__report_sb_t *text = data;
    nd__report_sb_put(text, buffer, size);
    return 0;
}

/* Arrays and objects print as compact JSON text, escaped. */
static void value_json(nd__report_sb_t *sb, const json_t *value)
{
    nd__report_sb_t text;
    nd__report_sb_init(&text);
    json_dump_callback(value, dump_cb, &text,
                       JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(6));
    if (text.oom)
        sb->oom = true;
    else if (text.data)
        nd__report_sb_html(sb, text.data);
    nd__report_sb_deinit(&text);
}

static void number_text(nd__report_sb_t *sb, double v, fmt_t fmt, bool integer)
{
    char iso[40];
    switch (fmt) {
    case FMT_PCT: nd__report_sb_printf(sb, "%.2f%%", v * 100.0); return;
    case FMT_PCT_POINTS: nd__report_sb_printf(sb, "%.2f%%", v); return;
    case FMT_RATIO: nd__report_sb_printf(sb, "%.3f", v); return;
    case FMT_MONEY: nd__report_sb_printf(sb, "%.2f", v); return;
    case FMT_TIME:
        nd_time_format_iso((int64_t)floor(v) * 1000000, iso, sizeof iso);
        nd__report_sb_puts(sb, iso);
        return;
    case FMT_GENERIC:
        break;
    }
    if (integer)
        nd__report_sb_printf(sb, "%.0f", v);
    else
        nd__report_sb_printf(sb, "%.6g", v);
}

void nd__report_value(nd__report_sb_t *sb, const json_t *value, const char *key)
{
    ND_ASSERT(sb != NULL);
    double v;
    fmt_t fmt = key_format(key);
    if (nd__report_number(value, &v)) {
        /* Very large times are not calendar dates; show them as plain numbers. */
        if (fmt == FMT_TIME && fabs(v) > 9.0e15)
            fmt = FMT_GENERIC;
        number_text(sb, v, fmt, json_is_integer(value));
    } else if (json_is_string(value))
        nd__report_sb_html(sb, json_string_value(value));
    else if (json_is_boolean(value))
        nd__report_sb_puts(sb, json_is_true(value) ? "yes" : "no");
    else if (json_is_array(value) || json_is_object(value))
        value_json(sb, value);
    else
        nd__report_sb_puts(sb, "<span class=\"na\">n/a</span>");
}

void nd__report_badge(nd__report_sb_t *sb, const char *status)
{
    ND_ASSERT(sb != NULL);
    if (status && strcmp(status, "pass") == 0)
        nd__report_sb_puts(sb, "<span class=\"badge pass\">PASS</span>");
    else if (status && strcmp(status, "fail") == 0)
        nd__report_sb_puts(sb, "<span class=\"badge fail\">FAIL</span>");
    else if (status && strcmp(status, "skipped") == 0)
        nd__report_sb_puts(sb, "<span class=\"badge skip\">SKIPPED</span>");
    else if (status && strcmp(status, "completed") == 0)
        nd__report_sb_puts(sb, "<span class=\"badge done\">COMPLETED</span>");
    else if (status && strcmp(status, "halted") == 0)
        nd__report_sb_puts(sb, "<span class=\"badge skip\">HALTED</span>");
    else
        nd__report_sb_puts(sb, "<span class=\"badge na\">n/a</span>");
}

/* A failed criterion is a name, or an object naming it. */
static void failed_item(nd__report_sb_t *sb, const json_t *item)
{
    const char *name = json_is_string(item) ? json_string_value(item) : NULL;
    if (!name)
        name = nd__report_string(item, "name", nd__report_string(item, "criterion", NULL));
    if (name)
        nd__report_sb_html(sb, name);
    else
        nd__report_value(sb, item, NULL);
}

void nd__report_failed_list(nd__report_sb_t *sb, const json_t *failed)
{
    ND_ASSERT(sb != NULL);
    size_t n = json_is_array(failed) ? json_array_size(failed) : 0;
    if (n == 0)
        return;
    nd__report_sb_puts(sb, "<p class=\"failed\">Failed: ");
    for (size_t i = 0; i < n; i++) {
        if (i)
            nd__report_sb_puts(sb, ", ");
        failed_item(sb, json_array_get(failed, i));
    }
    nd__report_sb_puts(sb, "</p>\n");
}

static const char *const summary_keys[] = {"total_return", "annual_return", "sharpe",
                                           "max_drawdown", "calmar", "win_rate", "trades", NULL};

/* The scenario's instrument: its own "symbol", else its first instrument's, else the run's. */
static const char *scenario_symbol(const json_t *s)
{
    const char *symbol = nd__report_string(s, "symbol", NULL);
    if (!symbol)
        symbol = nd__report_string(json_array_get(json_object_get(s, "instruments"), 0),
                                   "symbol", NULL);
    if (!symbol)
        symbol = nd__report_string(json_object_get(json_object_get(s, "run"), "data"),
                                   "symbol", "n/a");
    return symbol;
}

/* "name k=v k=v": one strategy of the run record. */
static void strategy_text(nd__report_sb_t *sb, const json_t *item)
{
    nd__report_sb_html(sb, nd__report_string(item, "name", "?"));
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)json_object_get(item, "params"), key, value) {
        nd__report_sb_puts(sb, " ");
        nd__report_sb_html(sb, key);
        nd__report_sb_puts(sb, "=");
        nd__report_value(sb, value, NULL);
    }
}

/* "name k=v k=v" for each strategy of the run record ("run": {"strategies": [...]}). */
static void scenario_params(nd__report_sb_t *sb, const json_t *s)
{
    const json_t *list = json_object_get(json_object_get(s, "run"), "strategies"), *item;
    size_t i;
    if (!json_is_array(list) || json_array_size(list) == 0)
        nd__report_sb_puts(sb, "<span class=\"na\">n/a</span>");
    json_array_foreach(list, i, item) {
        nd__report_sb_puts(sb, i ? "; " : "");
        strategy_text(sb, item);
    }
}

static void summary_row(nd__report_sb_t *sb, const json_t *s, size_t index)
{
    const json_t *metrics = json_is_object(s) ? json_object_get(s, "metrics") : NULL;
    nd__report_sb_printf(sb, "<tr><th scope=\"row\"><a href=\"#s-%zu\">", index);
    nd__report_sb_html(sb, nd__report_string(s, "name", "(unnamed)"));
    nd__report_sb_puts(sb, "</a></th><td>");
    nd__report_badge(sb, nd__report_string(s, "status", NULL));
    nd__report_sb_puts(sb, "</td><td>");
    nd__report_sb_html(sb, scenario_symbol(s));
    nd__report_sb_puts(sb, "</td><td class=\"why\">");
    scenario_params(sb, s);
    nd__report_sb_puts(sb, "</td><td>");
    nd__report_sb_html(sb, nd__report_string(s, "kind", "n/a"));
    nd__report_sb_puts(sb, "</td>");
    for (size_t k = 0; summary_keys[k]; k++) {
        nd__report_sb_puts(sb, "<td class=\"num\">");
        nd__report_value(sb, json_is_object(metrics) ? json_object_get(metrics, summary_keys[k])
                                                     : NULL, summary_keys[k]);
        nd__report_sb_puts(sb, "</td>");
    }
    nd__report_sb_puts(sb, "<td class=\"why\">");
    const json_t *criteria = json_is_object(s) ? json_object_get(s, "criteria") : NULL;
    const json_t *none_failed = json_is_object(s) ? json_object_get(s, "failed_criteria") : NULL;
    if (json_array_size(criteria) > 0 && json_array_size(none_failed) == 0)
        nd__report_sb_printf(sb, "all %zu criteria met", json_array_size(criteria));
    const json_t *failed = json_is_object(s) ? json_object_get(s, "failed_criteria") : NULL;
    for (size_t i = 0; json_is_array(failed) && i < json_array_size(failed); i++) {
        nd__report_sb_puts(sb, i ? ", " : "");
        failed_item(sb, json_array_get(failed, i));
    }
    nd__report_sb_html(sb, nd__report_string(s, "skip_reason", ""));
    nd__report_sb_puts(sb, "</td></tr>\n");
}

void nd__report_summary_table(nd__report_sb_t *sb, const json_t *scenarios)
{
    ND_ASSERT(sb != NULL);
    size_t n = json_is_array(scenarios) ? json_array_size(scenarios) : 0;
    nd__report_sb_puts(sb, "<div class=\"table-wrap\"><table class=\"summary\">\n<thead><tr>"
                           "<th>Scenario</th><th>Status</th><th>Symbol</th><th>Parameters</th>"
                           "<th>Kind</th><th>Total return</th>"
                           "<th>Annual return</th><th>Sharpe</th><th>Max drawdown</th>"
                           "<th>Calmar</th><th>Win rate</th><th>Trades</th><th>Notes</th>"
                           "</tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < n; i++)
        summary_row(sb, json_array_get(scenarios, i), i);
    if (n == 0)
        nd__report_sb_puts(sb, "<tr><td colspan=\"13\" class=\"na\">no scenarios</td></tr>\n");
    nd__report_sb_puts(sb, "</tbody></table></div>\n");
}

/* The headline metrics always have a row (n/a when absent); other numbers follow as given. */
static const char *const metric_keys[] = {
    "total_return", "annual_return", "sharpe", "sortino", "max_drawdown", "calmar", "var",
    "cvar", "win_rate", "profit_factor", NULL};
static const char *const metric_labels[] = {
    "Total return", "Annual return (CAGR)", "Sharpe", "Sortino", "Max drawdown", "Calmar",
    "VaR (5%)", "CVaR (5%)", "Win rate", "Profit factor", NULL};

/* One label/value row: th and td are the openings of its two cells; the label is KEY's
 * (nd__report_label) when label is NULL. */
static void value_row(nd__report_sb_t *sb, const char *th, const char *label, const char *td,
                      const json_t *value, const char *key)
{
    nd__report_sb_puts(sb, th);
    if (label)
        nd__report_sb_html(sb, label);
    else
        nd__report_label(sb, key);
    nd__report_sb_puts(sb, "</th>");
    nd__report_sb_puts(sb, td);
    nd__report_value(sb, value, key);
    nd__report_sb_puts(sb, "</td></tr>\n");
}

static void metric_row(nd__report_sb_t *sb, const char *label, const json_t *value,
                       const char *key)
{
    value_row(sb, "<tr><th scope=\"row\">", label, "<td class=\"num\">", value, key);
}

void nd__report_metrics_table(nd__report_sb_t *sb, const json_t *metrics)
{
    ND_ASSERT(sb != NULL);
    if (!json_is_object(metrics))
        metrics = NULL;
    nd__report_sb_puts(sb, "<div class=\"table-wrap\"><table class=\"metrics\"><tbody>\n");
    for (size_t k = 0; metric_keys[k]; k++)
        metric_row(sb, metric_labels[k], metrics ? json_object_get(metrics, metric_keys[k]) : NULL,
                   metric_keys[k]);
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)metrics, key, value) {
        if (in_list(key, metric_keys) || json_is_object(value) || json_is_array(value))
            continue;
        metric_row(sb, NULL, value, key);
    }
    nd__report_sb_puts(sb, "</tbody></table></div>\n");
}

#define EXTRA_COLUMNS_MAX 24

static bool listed(const char *key, const char *const *columns, const char **extra, size_t n)
{
    if (in_list(key, columns))
        return true;
    for (size_t i = 0; i < n; i++)
        if (strcmp(extra[i], key) == 0)
            return true;
    return false;
}

/* Columns beyond the preferred ones, in order of first appearance; nested values skipped. */
static size_t extra_columns(const json_t *rows, const char *const *columns, const char **extra)
{
    size_t n = 0;
    for (size_t r = 0; r < json_array_size(rows); r++) {
        const char *key;
        json_t *value;
        json_object_foreach(json_array_get(rows, r), key, value) {
            if (n < EXTRA_COLUMNS_MAX && !json_is_object(value) && !json_is_array(value) &&
                !listed(key, columns, extra, n))
                extra[n++] = key;
        }
    }
    return n;
}

static void header_cell(nd__report_sb_t *sb, const char *key)
{
    nd__report_sb_puts(sb, "<th>");
    nd__report_label(sb, key);
    nd__report_sb_puts(sb, "</th>");
}

static void row_cell(nd__report_sb_t *sb, const json_t *row, const char *key)
{
    const json_t *value = json_is_object(row) ? json_object_get(row, key) : NULL;
    if (strcmp(key, "pass") == 0) {
        nd__report_sb_puts(sb, "<td>");
        nd__report_badge(sb, json_is_true(value) ? "pass" : json_is_false(value) ? "fail" : NULL);
    } else {
        /* data-v: the raw number, so web/report.js sorts by value, not by the text. */
        if (json_is_number(value))
            nd__report_sb_printf(sb, "<td class=\"num\" data-v=\"%.17g\">",
                                 json_number_value(value));
        else
            nd__report_sb_puts(sb, "<td>");
        nd__report_value(sb, value, key);
    }
    nd__report_sb_puts(sb, "</td>");
}

void nd__report_object_table(nd__report_sb_t *sb, const json_t *rows, const char *const *columns,
                             const char *empty_text)
{
    ND_ASSERT(sb != NULL);
    ND_ASSERT(columns != NULL && empty_text != NULL);
    if (!json_is_array(rows) || json_array_size(rows) == 0) {
        nd__report_sb_puts(sb, "<p class=\"na\">");
        nd__report_sb_html(sb, empty_text);
        nd__report_sb_puts(sb, "</p>\n");
        return;
    }
    const char *extra[EXTRA_COLUMNS_MAX];
    size_t extra_count = extra_columns(rows, columns, extra);
    nd__report_sb_puts(sb, "<div class=\"table-wrap\"><table class=\"sortable\">\n<thead><tr>");
    for (size_t c = 0; columns[c]; c++)
        header_cell(sb, columns[c]);
    for (size_t c = 0; c < extra_count; c++)
        header_cell(sb, extra[c]);
    nd__report_sb_puts(sb, "</tr></thead>\n<tbody>\n");
    for (size_t r = 0; r < json_array_size(rows); r++) {
        const json_t *row = json_array_get(rows, r);
        nd__report_sb_puts(sb, "<tr>");
        for (size_t c = 0; columns[c]; c++)
            row_cell(sb, row, columns[c]);
        for (size_t c = 0; c < extra_count; c++)
            row_cell(sb, row, extra[c]);
        nd__report_sb_puts(sb, "</tr>\n");
    }
    nd__report_sb_puts(sb, "</tbody></table></div>\n");
}

/* Readable names of the keys the documents carry; others print with '_' as a space. */
static const char *const label_keys[] = {
    "ts", "threshold_pct", "measured_pct", "reference_equity", "annual_volatility", "trades",
    "initial_cash", "final_equity", "first_bar", "last_bar", "var", "cvar", "entry_ts",
    "exit_ts", "entry_px", "exit_px", "pnl", "net", "qty", "alpha", "beta",
    "median_oos_sharpe", NULL};
static const char *const label_texts[] = {
    "Time", "Threshold", "Measured", "Reference equity", "Annual volatility", "Round trips",
    "Initial cash", "Final equity", "First bar", "Last bar", "VaR", "CVaR", "Entry",
    "Exit", "Entry price", "Exit price", "P&L", "Net P&L", "Quantity", "Alpha (annual, daily)",
    "Beta (daily)", "Median out-of-sample Sharpe", NULL};

void nd__report_label(nd__report_sb_t *sb, const char *key)
{
    ND_ASSERT(sb != NULL && key != NULL);
    for (size_t k = 0; label_keys[k]; k++) {
        if (strcmp(key, label_keys[k]) == 0) {
            nd__report_sb_puts(sb, label_texts[k]);
            return;
        }
    }
    for (const char *p = key; *p; p++) {
        char c[2] = {*p == '_' ? ' ' : *p, '\0'};
        if (p == key && c[0] >= 'a' && c[0] <= 'z')
            c[0] = (char)(c[0] - 'a' + 'A');
        nd__report_sb_html(sb, c);
    }
}

static const char *const month_names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* One heatmap cell: green for gains, red for losses, stronger with size relative to scale. */
static void heat_cell(nd__report_sb_t *sb, double r, double scale)
{
    if (!isfinite(r)) {
        nd__report_sb_puts(sb, "<td class=\"na\">n/a</td>");
        return;
    }
    double pct = fabs(r * 100.0) < 0.05 ? 0.0 : r * 100.0;
    double alpha = 0.12 + 0.73 * fmin(1.0, fabs(r) / scale);
    if (pct == 0.0)
        alpha = 0.0;
    nd__report_sb_printf(sb, "<td class=\"num%s\" style=\"background:rgba(%s,%.2f)\">%.1f</td>",
                         alpha > 0.55 ? " dark" : "", r < 0 ? "220,38,38" : "22,163,74", alpha,
                         pct);
}

/* One row from the months of one year, m[0..n) in ascending order; returns how many it used. */
static size_t heat_year(nd__report_sb_t *sb, const nd_report_month_t *m, size_t n, double scale)
{
    int year = m[0].year;
    nd__report_sb_printf(sb, "<tr><th scope=\"row\">%d</th>", year);
    double growth = 1.0;
    bool any = false;
    size_t k = 0;
    for (int month = 1; month <= 12; month++) {
        if (k == n || m[k].year != year || m[k].month != month) {
            nd__report_sb_puts(sb, "<td></td>");
            continue;
        }
        heat_cell(sb, m[k].ret, scale);
        growth *= 1.0 + m[k].ret;
        any = true;
        k++;
    }
    ND_ASSERT(k >= 1);
    nd__report_sb_puts(sb, "<td class=\"year\">");
    if (any && isfinite(growth))
        nd__report_sb_printf(sb, "%.1f", fabs(growth - 1.0) < 0.0005 ? 0.0 : (growth - 1) * 100);
    else
        nd__report_sb_puts(sb, "n/a");
    nd__report_sb_puts(sb, "</td></tr>\n");
    return k;
}

nd_err_t nd__report_heatmap(nd__report_sb_t *sb, const nd__report_points_t *eq)
{
    ND_ASSERT(sb != NULL && eq != NULL);
    if (eq->count < 2) {
        nd__report_sb_puts(sb, "<p class=\"na\">No equity series: no monthly returns.</p>\n");
        return ND_OK;
    }
    nd_report_month_t *m = nd_alloc(eq->count * sizeof *m);
    if (!m)
        return ND_ENOMEM;
    size_t n = 0;
    nd_err_t rc = nd_report_monthly_returns(eq->time_ms, eq->value, eq->count, m, eq->count, &n);
    ND_ASSERT(rc == ND_OK && n >= 1);
    double scale = 1e-9;
    for (size_t k = 0; k < n; k++)
        if (isfinite(m[k].ret))
            scale = fmax(scale, fabs(m[k].ret));
    nd__report_sb_puts(sb, "<div class=\"table-wrap\"><table class=\"heatmap\">\n<thead><tr>"
                           "<th>%</th>");
    for (int month = 0; month < 12; month++)
        nd__report_sb_printf(sb, "<th>%s</th>", month_names[month]);
    nd__report_sb_puts(sb, "<th>Year</th></tr></thead>\n<tbody>\n");
    /* Only years with data get a row, so a gap of decades costs nothing. */
    for (size_t k = 0; k < n;)
        k += heat_year(sb, m + k, n - k, scale);
    nd__report_sb_puts(sb, "</tbody></table></div>\n");
    nd_free(m);
    return ND_OK;
}

/* One value of the run record: strategies as "name: k=v k=v", objects as nested rows. */
static void record_rows(nd__report_sb_t *sb, const json_t *obj, const char *group);

static void record_strategies(nd__report_sb_t *sb, const json_t *list)
{
    const json_t *item;
    size_t i;
    json_array_foreach(list, i, item) {
        nd__report_sb_puts(sb, "<tr><th scope=\"row\">Strategy</th><td>");
        strategy_text(sb, item);
        nd__report_sb_puts(sb, "</td></tr>\n");
    }
}

static void record_rows(nd__report_sb_t *sb, const json_t *obj, const char *group)
{
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)obj, key, value) {
        if (strcmp(key, "strategies") == 0 && json_is_array(value)) {
            record_strategies(sb, value);
            continue;
        }
        if (json_is_object(value)) {
            nd__report_sb_puts(sb, "<tr class=\"group\"><th colspan=\"2\">");
            nd__report_label(sb, key);
            nd__report_sb_puts(sb, "</th></tr>\n");
            record_rows(sb, value, key);
            continue;
        }
        value_row(sb, group ? "<tr><th scope=\"row\" class=\"sub\">" : "<tr><th scope=\"row\">",
                  NULL, "<td>", value, key);
    }
}

void nd__report_record_table(nd__report_sb_t *sb, const json_t *record)
{
    ND_ASSERT(sb != NULL);
    if (!json_is_object(record) || json_object_size(record) == 0) {
        nd__report_sb_puts(sb, "<p class=\"na\">No record of the run's settings.</p>\n");
        return;
    }
    nd__report_sb_puts(sb, "<div class=\"table-wrap\"><table class=\"record\"><tbody>\n");
    record_rows(sb, record, NULL);
    nd__report_sb_puts(sb, "</tbody></table></div>\n");
}
