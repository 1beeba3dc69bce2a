/* test_report.c: the report module's pure parts: monthly returns across year boundaries and
 * gaps, drawdown against the running peak, HTML and <script> escaping, deterministic output,
 * tolerance of missing and mistyped keys, chart-series cleaning and marker snapping, and the
 * asset loader's errors. Pages are rendered with stub assets, so no npm install is needed;
 * one test renders with the real library when web/node_modules is present. */
#include <criterion/criterion.h>

#include "noderr/alloc.h"
#include "noderr/clock.h"
#include "noderr/report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const nd_report_assets_t stub = {
    .library_js = "window.LightweightCharts={};",
    .report_js = "/* report */",
    .report_css = "body{}",
};

static double ms(const char *iso)
{
    int64_t ns = 0;
    cr_assert_eq(nd_time_parse_iso(iso, &ns), ND_OK, "%s", iso);
    return (double)(ns / 1000000);
}

/* Renders doc (parsed from JSON text) with the stub assets; the caller frees with nd_free. */
static char *render(const char *json_text)
{
    json_error_t jerr;
    json_t *doc = json_loads(json_text, 0, &jerr);
    cr_assert_not_null(doc, "test JSON: %s", jerr.text);
    char *html = NULL, err[256] = "";
    size_t len = 0;
    cr_assert_eq(nd_report_html_render(doc, &stub, &html, &len, err, sizeof err), ND_OK, "%s",
                 err);
    cr_assert_eq(strlen(html), len);
    json_decref(doc);
    return html;
}

static size_t count(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

Test(report, monthly_returns_across_year_end_and_gap)
{
    /* Nov 2020 from 100 to 110; Dec ends at 121; Jan 2021 ends at 90 (the 120 at the first
     * hour of January is not a month end); no point in February; March ends at 99. */
    double ts[] = {ms("2020-11-15T00:00:00Z"), ms("2020-11-30T23:00:00Z"),
                   ms("2020-12-31T23:00:00Z"), ms("2021-01-01T00:00:00Z"),
                   ms("2021-01-31T23:00:00Z"), ms("2021-03-01T00:00:00Z")};
    double eq[] = {100, 110, 121, 120, 90, 99};
    nd_report_month_t m[8];
    size_t n = 0;
    cr_assert_eq(nd_report_monthly_returns(ts, eq, 6, m, 8, &n), ND_OK);
    cr_assert_eq(n, 4);
    cr_assert_eq(m[0].year, 2020);
    cr_assert_eq(m[0].month, 11);
    cr_assert_float_eq(m[0].ret, 0.10, 1e-12);
    cr_assert_eq(m[1].year, 2020);
    cr_assert_eq(m[1].month, 12);
    cr_assert_float_eq(m[1].ret, 0.10, 1e-12);
    cr_assert_eq(m[2].year, 2021);
    cr_assert_eq(m[2].month, 1);
    cr_assert_float_eq(m[2].ret, 90.0 / 121.0 - 1.0, 1e-12);
    cr_assert_eq(m[3].year, 2021);
    cr_assert_eq(m[3].month, 3);
    cr_assert_float_eq(m[3].ret, 0.10, 1e-12);
}

Test(report, monthly_returns_full_buffer_and_bad_equity)
{
    double ts[] = {ms("2020-11-15"), ms("2020-12-15"), ms("2021-01-15")};
    double eq[] = {100, 0, 50};
    nd_report_month_t m[2];
    size_t n = 0;
    cr_assert_eq(nd_report_monthly_returns(ts, eq, 3, m, 2, &n), ND_EFULL);
    cr_assert_eq(n, 3);
    cr_assert_float_eq(m[0].ret, 0.0, 1e-12); /* one point: the month starts and ends at 100 */
    cr_assert(isnan(m[1].ret), "equity 0 has no return");
    cr_assert_eq(nd_report_monthly_returns(ts, eq, 0, NULL, 0, &n), ND_OK);
    cr_assert_eq(n, 0);
}

Test(report, drawdown_against_running_peak)
{
    double eq[] = {100, 120, 90, 130, 65};
    double dd[5];
    nd_report_drawdown(eq, 5, dd);
    cr_assert_float_eq(dd[0], 0.0, 1e-15);
    cr_assert_float_eq(dd[1], 0.0, 1e-15);
    cr_assert_float_eq(dd[2], -0.25, 1e-15);
    cr_assert_float_eq(dd[3], 0.0, 1e-15);
    cr_assert_float_eq(dd[4], -0.5, 1e-15);
    double neg[] = {0, -5, 10};
    nd_report_drawdown(neg, 3, dd);
    cr_assert(isnan(dd[0]) && isnan(dd[1]));
    cr_assert_float_eq(dd[2], 0.0, 1e-15);
}

Test(report, script_end_tag_in_data_is_escaped)
{
    char *html = render("{\"title\": \"</script><script>alert(1)</script>\","
                        " \"scenarios\": [{\"name\": \"a</script>b<!--c\", \"kind\": \"<b>\"}]}");
    /* Exactly the page's own three scripts end: the data blob, the library, report.js. */
    cr_assert_eq(count(html, "</script"), 3, "%s", html);
    cr_assert_eq(count(html, "<!--"), 0);
    cr_assert(strstr(html, "<title>&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;</title>"));
    cr_assert(strstr(html, "a&lt;/script&gt;b&lt;!--c"));
    cr_assert(strstr(html, "&lt;b&gt;"));
    /* Inside the JSON blob the same text is escaped but still the same JSON value. */
    cr_assert(strstr(html, "\"name\":\"a<\\/script>b\\u003c!--c\""), "%s", html);
    nd_free(html);
}

Test(report, same_document_same_bytes)
{
    const char *doc =
        "{\"title\": \"t\", \"scenarios\": [{\"name\": \"s\", \"status\": \"pass\","
        " \"metrics\": {\"sharpe\": 1.23456, \"max_drawdown\": -0.1234, \"zeta\": 3},"
        " \"equity\": [[1577836800000, 100], [1577840400000, 101.5], [1580515200000, 99]],"
        " \"trades\": [{\"entry_ts\": 1577836800000, \"exit_ts\": 1577840400000}]}]}";
    char *a = render(doc), *b = render(doc);
    cr_assert_str_eq(a, b);
    cr_assert(strstr(a, "<td class=\"num\">1.235</td>"));
    cr_assert(strstr(a, "<td class=\"num\">-12.34%</td>"));
    cr_assert(strstr(a, "<th scope=\"row\">Zeta</th><td class=\"num\">3</td>"), "%s", a);
    cr_assert(strstr(a, "<span class=\"badge pass\">PASS</span>"));
    cr_assert(strstr(a, "id=\"eq-0\""));
    cr_assert(strstr(a, "id=\"dd-0\""));
    nd_free(a);
    nd_free(b);
}

Test(report, missing_and_mistyped_keys_render_na)
{
    char *html = render("{}");
    cr_assert(strstr(html, "<title>Noderr report</title>"));
    cr_assert(strstr(html, "no scenarios"));
    cr_assert(strstr(html, "{\"title\":\"Noderr report\",\"scenarios\":[]}"));
    nd_free(html);
    html = render("{\"title\": 7, \"scenarios\": [{}, 3, {\"name\": 5, \"metrics\": [1],"
                  " \"equity\": \"x\", \"criteria\": {}, \"failed_criteria\": 2,"
                  " \"trades\": [1, {\"entry_ts\": \"bad\"}], \"breaker_events\": [{\"ts\": "
                  "\"2020-01-01T00:00:00Z\"}, 4], \"drawdown\": [[\"x\", 1]]}]}");
    cr_assert_eq(count(html, "(unnamed)"), 2 * 3 + 3, "%s", html); /* summary, h2, blob */
    cr_assert(strstr(html, "<span class=\"badge na\">n/a</span>"));
    cr_assert(strstr(html, "No equity series: no charts."));
    cr_assert(strstr(html, "<th scope=\"row\">Sharpe</th><td class=\"num\"><span "
                           "class=\"na\">n/a</span></td>"));
    cr_assert(strstr(html, "<td>2020-01-01T00:00:00Z</td>"), "%s", html);
    cr_assert_eq(count(html, "id=\"eq-"), 0);
    nd_free(html);
    json_t *not_object = json_array();
    char *out = NULL, err[128] = "";
    size_t len = 0;
    cr_assert_eq(nd_report_html_render(not_object, &stub, &out, &len, err, sizeof err), ND_EINVAL);
    cr_assert(strstr(err, "not a JSON object"));
    cr_assert_null(out);
    json_decref(not_object);
}

Test(report, series_cleaned_and_markers_snapped)
{
    /* 500 ms goes back in time and 2500 ms is the same second as 2000 ms: both dropped. The
     * trade entry at 1999 ms snaps to the bar at 1 s, the exit at 9 s to the last bar (2 s),
     * the breaker before every bar to the first; markers come out sorted by time. */
    char *html = render("{\"scenarios\": [{\"equity\": [[1000, 1], [500, 2], [2000, 3],"
                        " [2500, 4], [3000, null]], \"trades\": [{\"entry_ts\": 1999,"
                        " \"exit_ts\": 9000, \"direction\": \"short\"}],"
                        " \"breaker_events\": [{\"ts\": 10, \"type\": \"drawdown\"}],"
                        " \"halts\": [[1500, 2500]]}]}");
    cr_assert(strstr(html, "\"equity\":[[1,1],[2,3]],\"drawdown\":[[1,0],[2,0]],"
                           "\"instruments\":[],\"benchmark\":[],\"benchmark_name\":"
                           "\"benchmark\",\"halts\":[[1,2]],\"markers\":[[1,2],[1,4],[2,3]]"),
              "%s", html);
    nd_free(html);
}

Test(report, monthly_heatmap_cells)
{
    char *html = render("{\"scenarios\": [{\"equity\": [[\"2020-11-15T00:00:00Z\", 100],"
                        " [\"2020-11-30T23:00:00Z\", 110], [\"2020-12-31T23:00:00Z\", 121],"
                        " [\"2021-01-31T23:00:00Z\", 90], [\"2021-03-01T00:00:00Z\", 99]]}]}");
    cr_assert(strstr(html, "<tr><th scope=\"row\">2020</th><td></td>"), "%s", html);
    /* The largest move (-25.6%) is full colour on red; +10% is green, lighter. */
    cr_assert(strstr(html, "style=\"background:rgba(220,38,38,0.85)\">-25.6</td>"), "%s", html);
    cr_assert(strstr(html, "style=\"background:rgba(22,163,74,0.40)\">10.0</td>"), "%s", html);
    cr_assert(strstr(html, "<td class=\"year\">21.0</td>"), "%s", html); /* 1.1 * 1.1 - 1 */
    cr_assert(strstr(html, "<td class=\"year\">-18.2</td>"), "%s", html); /* 99 / 121 - 1 */
    nd_free(html);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

Test(report, assets_missing_library_and_uninlinable_text)
{
    char dir[] = "/tmp/nd_report_test_XXXXXX", path[512], err[1024] = "";
    cr_assert_not_null(mkdtemp(dir));
    nd_report_assets_t a;
    cr_assert_eq(nd_report_assets_load(dir, &a, err, sizeof err), ND_ENOTFOUND);
    cr_assert(strstr(err, "npm ci --prefix web"), "%s", err);
    const char *parts[] = {"node_modules", "node_modules/lightweight-charts",
                           "node_modules/lightweight-charts/dist"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, parts[i]);
        cr_assert_eq(mkdir(path, 0700), 0, "%s", path);
    }
    snprintf(path, sizeof path, "%s/%s", dir, ND_REPORT_LIBRARY_PATH);
    write_file(path, "var x = '</SCRIPT>';");
    cr_assert_eq(nd_report_assets_load(dir, &a, err, sizeof err), ND_EPARSE);
    cr_assert(strstr(err, "cannot be inlined"), "%s", err);
    write_file(path, "window.LightweightCharts = {};");
    cr_assert_eq(nd_report_assets_load(dir, &a, err, sizeof err), ND_ENOTFOUND); /* report.js */
    snprintf(path, sizeof path, "%s/report.js", dir);
    write_file(path, "1;");
    snprintf(path, sizeof path, "%s/report.css", dir);
    write_file(path, "body{}");
    cr_assert_eq(nd_report_assets_load(dir, &a, err, sizeof err), ND_OK, "%s", err);
    cr_assert_str_eq(a.report_css, "body{}");
    nd_report_assets_free(&a);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

Test(report, real_library_when_installed)
{
    char web[512], lib[700];
    snprintf(web, sizeof web, "%s/../../web", ND_TEST_DATA_DIR);
    snprintf(lib, sizeof lib, "%s/%s", web, ND_REPORT_LIBRARY_PATH);
    if (access(lib, R_OK) != 0)
        cr_skip_test("%s absent (npm ci --prefix web)", lib);
    nd_report_assets_t a;
    char err[1024] = "";
    cr_assert_eq(nd_report_assets_load(web, &a, err, sizeof err), ND_OK, "%s", err);
    cr_assert(strstr(a.library_js, "LightweightCharts"));
    cr_assert(strstr(a.report_js, "document.body.dataset.rendered"));
    nd_report_assets_free(&a);
}

Test(report, candles_benchmark_status_and_sortable_tables)
{
    /* Candles keep strictly ascending, fully numeric rows (in seconds); the benchmark is a
     * series like equity; "completed" and "halted" have their own badges; table numbers carry
     * their raw value for sorting; the summary names the symbol and the parameters. */
    char *html = render("{\"scenarios\": [{\"status\": \"halted\", \"status_detail\": "
                        "\"halted by drawdown at T\", \"equity\": [[1000, 1], [2000, 2]],"
                        " \"instruments\": [{\"symbol\": \"ETH/USDT\", \"candles\": [[1000, 1, 2,"
                        " 0.5, 1.5], [1000, 9, 9, 9, 9], [2000, 1, 2, \"x\", 1], [3000, 2, 3, 1,"
                        " 2.5]]}], \"benchmark\": {\"name\": \"buy and hold ETH/USDT\","
                        " \"equity\": [[1000, 1], [2000, 1.5]]}, \"trades\": [{\"entry_ts\": 1000,"
                        " \"exit_ts\": 2000, \"pnl\": 12.5}], \"run\": {\"strategies\": [{\"name\":"
                        " \"sma_cross\", \"params\": {\"fast\": 5, \"slow\": 74}}]}},"
                        " {\"status\": \"completed\", \"symbol\": \"BTCUSDT\"}]}");
    cr_assert(strstr(html, "\"instruments\":[{\"symbol\":\"ETH/USDT\",\"candles\":"
                           "[[1,1,2,0.5,1.5],[3,2,3,1,2.5]]}],\"benchmark\":[[1,1],[2,1.5]],"
                           "\"benchmark_name\":\"buy and hold ETH/USDT\""), "%s", html);
    cr_assert(strstr(html, "<span class=\"badge skip\">HALTED</span>"));
    cr_assert(strstr(html, "<span class=\"badge done\">COMPLETED</span>"));
    cr_assert(strstr(html, "halted by drawdown at T"));
    cr_assert(strstr(html, "id=\"px-0\""));
    cr_assert(strstr(html, "<table class=\"sortable\">"));
    cr_assert(strstr(html, "<td class=\"num\" data-v=\"12.5\">12.50</td>"), "%s", html);
    cr_assert(strstr(html, "<td>ETH/USDT</td><td class=\"why\">sma_cross fast=5 slow=74</td>"),
              "%s", html);
    cr_assert(strstr(html, "<td>BTCUSDT</td>"));
    nd_free(html);
}

Test(report, evolve_section)
{
    char *html = render("{\"evolve\": {\"selected_params\": {\"fast\": 5}, \"warning\": \"flagged <set>\","
                        " \"selection\": {\"window\": 2, \"median_oos_sharpe\": 0.5},"
                        " \"front\": [{\"params\": {\"fast\": 5}, \"objectives\": {\"sharpe\": 1,"
                        " \"max_drawdown\": -0.1}, \"total_return\": 0.2, \"equity\": [[1000, 1],"
                        " [2000, 2]]}, {\"params\": {\"fast\": 7}, \"objectives\": {\"sharpe\": 0.5,"
                        " \"max_drawdown\": -0.05}, \"halted\": true}], \"front_size\": 2,"
                        " \"history\": [{\"best\": 0.1, \"mean\": 0}, {\"best\": 0.5, \"mean\": 0.2}],"
                        " \"walk_forward\": [{\"winners\": [{\"params\": {\"fast\": 6},"
                        " \"in_sample\": {\"sharpe\": 2}, \"out_of_sample\": {\"sharpe\": 0.1},"
                        " \"flagged\": true}]}, {\"winners\": [{\"params\": {\"fast\": 5}}]}]},"
                        " \"scenarios\": []}");
    cr_assert(strstr(html, "<p class=\"warn\">Warning: flagged &lt;set&gt;</p>"), "%s", html);
    cr_assert_eq(count(html, "<circle class=\"member"), 2);
    cr_assert(strstr(html, "<tr class=\"pick selected\" data-member=\"0\">"));
    cr_assert(strstr(html, "id=\"pf-eq\""));
    cr_assert(strstr(html, "id=\"conv-plot\""));
    cr_assert(strstr(html, "<span class=\"badge fail\">FLAGGED</span>"));
    cr_assert(strstr(html, "<tr class=\"selected\"><td class=\"num\" data-v=\"2\">2</td>"));
    cr_assert(strstr(html, ",\"evolve\":{\"front\":[{\"label\":\"member 1\",\"equity\":"
                           "[[1,1],[2,2]]},{\"label\":\"member 2\",\"equity\":[]}]}}"), "%s", html);
    nd_free(html);
}
