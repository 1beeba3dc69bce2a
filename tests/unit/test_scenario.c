/* test_scenario.c: the scenario catalogue (built-ins, config file, errors naming file and key),
 * history windows (slicing, coverage, the fetch command when missing) and the synthetic shocks
 * (exact crash depth, the gap below the previous low, collapsed volume, determinism). */
#include <criterion/criterion.h>

#include "noderr/alloc.h"
#include "noderr/clock.h"
#include "noderr/scenario.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp_dir[64];

static void make_tmp(void)
{
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/nd_scenario_XXXXXX");
    cr_assert_not_null(mkdtemp(tmp_dir));
}

static const char *write_file(const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", tmp_dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static int64_t day(const char *iso)
{
    int64_t ns = 0;
    cr_assert_eq(nd_time_parse_iso(iso, &ns), ND_OK);
    return ns;
}

static nd_scenario_t *find(nd_scenario_t *list, size_t n, const char *name)
{
    for (size_t k = 0; k < n; k++)
        if (strcmp(list[k].name, name) == 0)
            return &list[k];
    return NULL;
}

static nd_instrument_t btc(void)
{
    nd_instrument_t inst;
    cr_assert_eq(nd_instrument_init(&inst, "BTC/USDT", "sim"), ND_OK);
    return inst;
}

Test(scenario, builtins_in_order_with_exact_windows)
{
    nd_scenario_t *list = NULL;
    size_t n = 0;
    char err[256] = "";
    cr_assert_eq(nd_scenario_catalogue(NULL, &list, &n, err, sizeof err), ND_OK);
    cr_assert_eq(n, 7);
    const char *names[] = {"covid-crash-2020", "bull-2021", "bear-2022", "high-vol-2023",
                           "flash-crash", "liquidity-crisis", "gap-down"};
    for (size_t k = 0; k < 7; k++)
        cr_assert_str_eq(list[k].name, names[k]);
    cr_assert_eq(list[0].kind, ND_SCENARIO_HISTORY);
    cr_assert_eq(list[0].from_ns, day("2020-02-15"));
    cr_assert_eq(list[0].to_ns, day("2020-05-01"));
    cr_assert_eq(list[1].to_ns, day("2021-12-01"));
    cr_assert_eq(list[2].from_ns, day("2022-01-01"));
    cr_assert_eq(list[3].to_ns, day("2024-01-01"));
    cr_assert_str_eq(list[1].condition, "bull");
    cr_assert_str_eq(list[0].symbol, "BTCUSDT");
    cr_assert_str_eq(list[0].interval, "1h");
    cr_assert_eq(list[4].kind, ND_SCENARIO_SYNTHETIC);
    cr_assert_eq(list[4].synth.shock, ND_SHOCK_FLASH_CRASH);
    cr_assert_eq(list[5].synth.shock, ND_SHOCK_LIQUIDITY_CRISIS);
    cr_assert(list[5].venue.set);
    cr_assert_eq(list[5].venue.impact_bps_e2, 10000);
    cr_assert_eq(list[6].synth.shock, ND_SHOCK_GAP_DOWN);
    nd_free(list);
}

Test(scenario, interval_parsing)
{
    int64_t ns = 0;
    cr_assert_eq(nd_scenario_interval_ns("1h", &ns), ND_OK);
    cr_assert_eq(ns, ND_NS_PER_HOUR);
    cr_assert_eq(nd_scenario_interval_ns("15m", &ns), ND_OK);
    cr_assert_eq(ns, 15 * ND_NS_PER_MIN);
    cr_assert_eq(nd_scenario_interval_ns("1w", &ns), ND_OK);
    cr_assert_eq(ns, 7 * ND_NS_PER_DAY);
    cr_assert_eq(nd_scenario_interval_ns("h", &ns), ND_EPARSE);
    cr_assert_eq(nd_scenario_interval_ns("1x", &ns), ND_EPARSE);
    cr_assert_eq(nd_scenario_interval_ns("0d", &ns), ND_EPARSE);
    cr_assert_eq(nd_scenario_interval_ns("1hh", &ns), ND_EPARSE);
}

Test(scenario, missing_history_names_the_fetch_command)
{
    nd_scenario_t *list = NULL;
    size_t n = 0;
    char err[512] = "";
    cr_assert_eq(nd_scenario_catalogue(NULL, &list, &n, err, sizeof err), ND_OK);
    nd_instrument_t inst = btc();
    nd_bar_source_t *src = NULL;
    cr_assert_eq(nd_scenario_open(&list[0], "/nonexistent/dir", &inst, &src, err, sizeof err),
                 ND_ENOTFOUND);
    cr_assert_null(src);
    cr_assert(strstr(err, "/nonexistent/dir/BTCUSDT-1h.csv is missing") != NULL, "%s", err);
    cr_assert(strstr(err, "noderr data fetch --symbol BTCUSDT --interval 1h --from 2020-02-15 "
                          "--to 2020-04-30 --dir /nonexistent/dir") != NULL, "%s", err);
    char cmd[400];
    nd_scenario_fetch_command(&list[1], "data", cmd, sizeof cmd);
    cr_assert_str_eq(cmd, "noderr data fetch --symbol BTCUSDT --interval 1h --from 2021-01-01 "
                          "--to 2021-11-30 --dir data");
    nd_free(list);
}

/* 48 hourly bars from 2021-03-01: 2021-03-01T00 .. 2021-03-02T23. */
static void write_history(void)
{
    char text[8192] = "ts,open,high,low,close,volume\n";
    int64_t t0 = day("2021-03-01") / ND_NS_PER_MS;
    for (int k = 0; k < 48; k++) {
        char row[128];
        snprintf(row, sizeof row, "%lld,%d.00,%d.00,%d.00,%d.00,10\n",
                 (long long)(t0 + k * 3600000LL), 100 + k, 102 + k, 99 + k, 101 + k);
        strcat(text, row);
    }
    write_file("BTCUSDT-1h.csv", text);
}

Test(scenario, history_window_is_sliced_and_coverage_checked)
{
    make_tmp();
    write_history();
    const char *cfg = write_file("c.json",
        "{\"include_builtins\": false, \"scenarios\": ["
        "{\"name\": \"day2\", \"kind\": \"history\", \"from\": \"2021-03-02\", "
        "\"to\": \"2021-03-02T12:00:00Z\"},"
        "{\"name\": \"late\", \"kind\": \"history\", \"from\": \"2021-03-02\", "
        "\"to\": \"2021-03-10\"}]}");
    nd_scenario_t *list = NULL;
    size_t n = 0;
    char err[512] = "";
    cr_assert_eq(nd_scenario_catalogue(cfg, &list, &n, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(n, 2);
    nd_instrument_t inst = btc();
    nd_scenario_cache_t *cache = NULL;
    cr_assert_eq(nd_scenario_cache_create(&cache), ND_OK);
    nd_bar_t *bars = NULL;
    size_t count = 0;
    cr_assert_eq(nd_scenario_load(&list[0], tmp_dir, &inst, cache, &bars, &count, err,
                                  sizeof err), ND_OK, "%s", err);
    cr_assert_eq(count, 12); /* [00:00, 12:00) of the second day */
    cr_assert_eq(bars[0].ts_ns, day("2021-03-02"));
    cr_assert_eq(bars[0].open, 124LL * 100000000LL);
    nd_free(bars);
    cr_assert_eq(nd_scenario_load(&list[1], tmp_dir, &inst, cache, &bars, &count, err,
                                  sizeof err), ND_ENOTFOUND);
    cr_assert(strstr(err, "does not cover the window of late") != NULL, "%s", err);
    cr_assert(strstr(err, "--from 2021-03-02 --to 2021-03-09") != NULL, "%s", err);
    nd_scenario_cache_destroy(cache);
    nd_free(list);
}

static void load(const nd_scenario_t *sc, nd_bar_t **bars, size_t *count)
{
    nd_instrument_t inst = btc();
    char err[256] = "";
    cr_assert_eq(nd_scenario_load(sc, NULL, &inst, NULL, bars, count, err, sizeof err), ND_OK,
                 "%s", err);
    for (size_t k = 0; k < *count; k++) {
        const nd_bar_t *b = &(*bars)[k];
        cr_assert(b->low > 0 && b->low <= b->open && b->low <= b->close);
        cr_assert(b->high >= b->open && b->high >= b->close && b->volume >= 0);
        cr_assert(k == 0 || b->ts_ns > (*bars)[k - 1].ts_ns);
    }
}

static nd_scenario_t synthetic(nd_shock_kind_t shock)
{
    nd_scenario_t *list = NULL;
    size_t n = 0;
    char err[256] = "";
    cr_assert_eq(nd_scenario_catalogue(NULL, &list, &n, err, sizeof err), ND_OK);
    nd_scenario_t sc = *find(list, n, nd_shock_kind_name(shock));
    nd_free(list);
    sc.synth.at_fraction = 0.5; /* the shock at bar 1080 of 2160 */
    return sc;
}

Test(scenario, flash_crash_depth_and_recovery_are_exact)
{
    nd_scenario_t sc = synthetic(ND_SHOCK_FLASH_CRASH), base = sc;
    base.synth.shock = ND_SHOCK_NONE;
    nd_bar_t *b = NULL, *o = NULL;
    size_t n = 0, m = 0;
    load(&sc, &b, &n);
    load(&base, &o, &m);
    cr_assert_eq(n, 2160);
    cr_assert_eq(m, 2160);
    cr_assert_eq(memcmp(b, o, 1080 * sizeof *b), 0, "bars before the shock are the base path");
    int64_t tick = 1000000; /* 0.01 at 8 decimals */
    /* 30 minutes inside an hourly bar: one bar falls 30% and its low is exactly 30% below the
     * pre-crash close (rounded to the tick). */
    int64_t want_low = (int64_t)((double)o[1079].close * 0.7 / (double)tick + 0.5) * tick;
    cr_assert_eq(b[1080].low, want_low);
    cr_assert_eq(b[1080].open, o[1080].open);
    double close_ratio = (double)b[1080].close / (double)o[1080].close;
    cr_assert(close_ratio > 0.6999 && close_ratio < 0.7001, "%f", close_ratio);
    /* Half the fall is won back after 24 bars: prices stay at 85% of the base path. */
    double after = (double)b[1200].close / (double)o[1200].close;
    cr_assert(after > 0.8499 && after < 0.8501, "%f", after);
    nd_free(b);
    nd_free(o);
}

Test(scenario, gap_down_opens_below_the_previous_low)
{
    nd_scenario_t sc = synthetic(ND_SHOCK_GAP_DOWN);
    nd_bar_t *b = NULL;
    size_t n = 0;
    load(&sc, &b, &n);
    cr_assert_lt(b[1080].open, b[1079].low);
    double ratio = (double)b[1080].open / (double)b[1079].low;
    cr_assert(ratio > 0.8499 && ratio < 0.8501, "open/previous low %f", ratio);
    nd_free(b);
}

Test(scenario, liquidity_crisis_collapses_volume_and_widens_ranges)
{
    nd_scenario_t sc = synthetic(ND_SHOCK_LIQUIDITY_CRISIS), base = sc;
    base.synth.shock = ND_SHOCK_NONE;
    nd_bar_t *b = NULL, *o = NULL;
    size_t n = 0, m = 0;
    load(&sc, &b, &n);
    load(&base, &o, &m);
    int64_t wider = 0;
    for (size_t k = 1080; k < 1080 + 168; k++) {
        cr_assert_leq(b[k].volume, o[k].volume / 5000 + 1);
        wider += (double)(b[k].high - b[k].low) / (double)b[k].close >
                 (double)(o[k].high - o[k].low) / (double)o[k].close;
    }
    cr_assert_gt(wider, 140, "ranges widen in most crisis bars (%lld)", (long long)wider);
    double drift = (double)b[1080 + 167].close / (double)o[1080 + 167].close;
    cr_assert(drift > 0.8499 && drift < 0.8501, "closes drift 15%% against holders: %f", drift);
    cr_assert_eq(b[1300].volume, o[1300].volume, "volume comes back after the crisis");
    nd_free(b);
    nd_free(o);
}

Test(scenario, synthetic_is_deterministic)
{
    nd_scenario_t sc = synthetic(ND_SHOCK_FLASH_CRASH);
    sc.synth.at_fraction = -1.0;
    nd_bar_t *a = NULL, *b = NULL;
    size_t n = 0, m = 0;
    load(&sc, &a, &n);
    load(&sc, &b, &m);
    cr_assert_eq(n, m);
    cr_assert_eq(memcmp(a, b, n * sizeof *a), 0);
    nd_free(a);
    nd_free(b);
}

Test(scenario, config_adds_and_overrides)
{
    make_tmp();
    const char *cfg = write_file("c.json",
        "{\"scenarios\": ["
        "{\"name\": \"flash-crash\", \"drop_pct\": 50, \"seed\": 9},"
        "{\"name\": \"eth-may\", \"kind\": \"history\", \"symbol\": \"ETHUSDT\", "
        "\"interval\": \"15m\", \"from\": \"2021-05-10\", \"to\": \"2021-05-25\", "
        "\"condition\": \"crash\", \"description\": \"May 2021\"},"
        "{\"name\": \"bear-gap\", \"kind\": \"synthetic\", \"shock\": \"gap-down\", "
        "\"base\": \"bear-2022\", \"gap_pct\": 20, \"slippage_bps\": 3}]}");
    nd_scenario_t *list = NULL;
    size_t n = 0;
    char err[512] = "";
    cr_assert_eq(nd_scenario_catalogue(cfg, &list, &n, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(n, 9);
    nd_scenario_t *fc = find(list, n, "flash-crash");
    cr_assert_eq(fc->synth.drop_pct, 50.0);
    cr_assert_eq(fc->synth.seed, 9);
    cr_assert_eq(fc->synth.drop_minutes, 30, "unset fields keep the built-in's values");
    nd_scenario_t *eth = find(list, n, "eth-may");
    cr_assert_str_eq(eth->symbol, "ETHUSDT");
    cr_assert_str_eq(eth->interval, "15m");
    cr_assert_eq(eth->to_ns, day("2021-05-25"));
    nd_scenario_t *bg = find(list, n, "bear-gap");
    cr_assert_eq(bg->from_ns, day("2022-01-01"), "a history base lends its window");
    cr_assert(bg->venue.set);
    cr_assert_eq(bg->venue.slippage_bps_e2, 300);
    cr_assert_eq(bg->venue.max_volume_share_e4, 1000);
    nd_free(list);
}

static void expect_config_error(const char *text, const char *want)
{
    make_tmp();
    const char *cfg = write_file("bad.json", text);
    nd_scenario_t *list = NULL;
    size_t n = 0;
    char err[512] = "";
    cr_assert_neq(nd_scenario_catalogue(cfg, &list, &n, err, sizeof err), ND_OK, "%s", text);
    cr_assert_null(list);
    cr_assert(strstr(err, "bad.json") != NULL, "names the file: %s", err);
    cr_assert(strstr(err, want) != NULL, "want '%s' in '%s'", want, err);
}

Test(scenario, config_errors_name_file_key_and_why)
{
    expect_config_error("{\"scenarios\": [{\"name\": \"x\", \"kind\": \"synthetic\", "
                        "\"drop_pct\": 150}]}", "scenarios[0].drop_pct: 150 is outside");
    expect_config_error("{\"scenarios\": [{\"name\": \"x\", \"kind\": \"history\"}]}",
                        "scenarios[0].from: missing");
    expect_config_error("{\"scenarios\": [{\"name\": \"x\"}]}", "scenarios[0].kind: missing");
    expect_config_error("{\"scenarios\": [{\"name\": \"x\", \"kind\": \"synthetic\", "
                        "\"colour\": 1}]}", "scenarios[0].colour: unknown key");
    expect_config_error("{\"scenarios\": [{\"name\": \"x\", \"kind\": \"synthetic\", "
                        "\"shock\": \"meteor\"}]}", "scenarios[0].shock: must be");
    expect_config_error("{\"scenarios\": [{\"name\": \"x\", \"kind\": \"synthetic\", "
                        "\"base\": \"nowhere\"}]}", "'nowhere' is neither");
    expect_config_error("{\"scenarios\": [{\"name\": \"a b\", \"kind\": \"synthetic\"}]}",
                        "scenarios[0].name: missing, or not made of");
    expect_config_error("{\"scenarios\": [{\"name\": \"x\", \"kind\": \"history\", "
                        "\"from\": \"2021-13-01\", \"to\": \"2021-12-01\"}]}",
                        "scenarios[0].from: not a date");
    expect_config_error("{\"scenario\": []}", "scenario: unknown key");
    expect_config_error("{\"scenarios\": [}", "bad.json:1:");
}

Test(scenario, memory_source_yields_then_eof)
{
    nd_bar_t bars[2] = {{.ts_ns = 1, .open = 5, .high = 6, .low = 4, .close = 5},
                        {.ts_ns = 2, .open = 5, .high = 6, .low = 4, .close = 5}};
    nd_bar_source_t *src = NULL;
    cr_assert_eq(nd_bars_memory_open(bars, 2, false, &src), ND_OK);
    nd_bar_t b;
    cr_assert_eq(src->next(src, &b), ND_OK);
    cr_assert_eq(b.ts_ns, 1);
    cr_assert_eq(src->next(src, &b), ND_OK);
    cr_assert_eq(b.ts_ns, 2);
    cr_assert_eq(src->next(src, &b), ND_EEOF);
    src->close(src);
}

Test(scenario, real_covid_window_has_every_hour)
{
    struct stat st;
    const char *dir = ND_SHARED_DIR "/data";
    if (stat(ND_SHARED_DIR "/data/BTCUSDT-1h.csv", &st) != 0)
        cr_skip_test("the shared data (%s) is absent", dir);
    nd_scenario_t *list = NULL;
    size_t n = 0;
    char err[512] = "";
    cr_assert_eq(nd_scenario_catalogue(NULL, &list, &n, err, sizeof err), ND_OK);
    nd_instrument_t inst = btc();
    nd_bar_t *bars = NULL;
    size_t count = 0;
    cr_assert_eq(nd_scenario_load(&list[0], dir, &inst, NULL, &bars, &count, err, sizeof err),
                 ND_OK, "%s", err);
    cr_assert_eq(bars[0].ts_ns, day("2020-02-15"));
    cr_assert_lt(bars[count - 1].ts_ns, day("2020-05-01"));
    cr_assert_geq(bars[count - 1].ts_ns, day("2020-04-30T23:00:00Z") - 3 * ND_NS_PER_HOUR);
    cr_assert(count > 76 * 24 - 10 && count <= 76 * 24, "%zu bars", count);
    nd_free(bars);
    nd_free(list);
}
