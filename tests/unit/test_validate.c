/* test_validate.c: breaker validation on hand-built equity series (on time, late, missed,
 * unexpected, daily-loss day boundaries), the run trace telling flattening orders from strategy
 * orders during a halt, each criterion's pass and fail, criteria layering and config errors,
 * the walk-forward split arithmetic, and whole suites: a crafted crash through the engine,
 * skipped history with its fetch command, and byte-identical JSON. */
#include <criterion/criterion.h>

#include "noderr/alloc.h"
#include "noderr/clock.h"
#include "noderr/strategy.h"
#include "noderr/validate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define U 100000000LL /* one quote unit in cash units */
#define H ND_NS_PER_HOUR

static int64_t at(const char *iso)
{
    int64_t ns = 0;
    cr_assert_eq(nd_time_parse_iso(iso, &ns), ND_OK);
    return ns;
}

static nd_risk_config_t risk(int64_t dd_e2, int64_t daily_e2)
{
    nd_risk_config_t r;
    nd_risk_config_default(&r);
    r.max_drawdown_pct_e2 = dd_e2;
    r.daily_loss_pct_e2 = daily_e2;
    return r;
}

/* Equity in whole quote units, one bar an hour from t0. */
static void fill_trace(nd_run_trace_t *t, int64_t t0, const int64_t *equity, size_t n)
{
    nd_run_trace_init(t, 16);
    for (size_t k = 0; k < n; k++)
        cr_assert_eq(nd_run_trace_push_bar(t, t0 + (int64_t)k * H, equity[k] * U, false), ND_OK);
}

static void trip(nd_run_trace_t *t, nd_breaker_kind_t kind, int64_t ts)
{
    nd_breaker_event_t ev = {.kind = kind, .ts_ns = ts, .threshold_pct_e2 = 1200};
    cr_assert_eq(nd_run_trace_push_trip(t, &ev), ND_OK);
}

/* Peak 110 at bar 1; 110 * 0.88 = 96.8, so 97 is 11.8% down and 96 is 12.7% down (bar 4). */
static const int64_t dd_path[] = {100, 110, 105, 97, 96, 95, 94, 96, 98, 99};

Test(breakers, drawdown_trip_on_the_crossing_bar_passes)
{
    nd_run_trace_t t;
    int64_t t0 = at("2021-03-01");
    fill_trace(&t, t0, dd_path, 10);
    trip(&t, ND_BREAKER_DRAWDOWN, t0 + 4 * H);
    nd_risk_config_t r = risk(1200, 0);
    nd_breaker_validation_t v;
    cr_assert_eq(nd_validate_breakers(&t, &r, 1, &v), ND_OK);
    cr_assert_eq(v.crossing_count, 1);
    cr_assert_eq(v.crossings[0].bar_index, 4);
    cr_assert_eq(v.crossings[0].measured_e6, 127272); /* (110 - 96) / 110 */
    cr_assert_eq(v.trips[0].lag_bars, 0);
    cr_assert_eq(v.worst_lag_bars, 0);
    cr_assert(v.lag_pass);
    cr_assert(v.halt_pass);
    /* From the trip on: lowest 94 against 96 at the trip; worst drawdown 94/110 - 1. */
    cr_assert_float_eq(v.trips[0].further_loss, 94.0 / 96.0 - 1.0, 1e-12);
    cr_assert_float_eq(v.trips[0].max_drawdown_after, 94.0 / 110.0 - 1.0, 1e-12);
    nd_breaker_validation_free(&v);
    nd_run_trace_deinit(&t);
}

Test(breakers, a_late_trip_fails)
{
    nd_run_trace_t t;
    int64_t t0 = at("2021-03-01");
    fill_trace(&t, t0, dd_path, 10);
    trip(&t, ND_BREAKER_DRAWDOWN, t0 + 7 * H); /* three bars after the crossing */
    nd_risk_config_t r = risk(1200, 0);
    nd_breaker_validation_t v;
    cr_assert_eq(nd_validate_breakers(&t, &r, 1, &v), ND_OK);
    cr_assert_eq(v.trips[0].lag_bars, 3);
    cr_assert_eq(v.late, 1);
    cr_assert_not(v.lag_pass);
    nd_criteria_t c = {NAN, NAN, NAN, 1, true, false};
    nd_criterion_result_t res[ND_CRITERIA_MAX];
    size_t n = nd_criteria_check(&c, -0.1, 1.0, 0.0, &v, res);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(res[0].name, "breaker_lag");
    cr_assert_not(res[0].pass);
    cr_assert_eq(res[0].value, 3.0);
    cr_assert(strstr(res[0].detail, "1 beyond 1 bar(s) (worst 3)") != NULL, "%s", res[0].detail);
    nd_breaker_validation_free(&v);
    /* With a tolerance of 3 bars the same trip passes. */
    cr_assert_eq(nd_validate_breakers(&t, &r, 3, &v), ND_OK);
    cr_assert(v.lag_pass);
    nd_breaker_validation_free(&v);
    nd_run_trace_deinit(&t);
}

Test(breakers, missed_and_unexpected_trips_fail)
{
    nd_run_trace_t t;
    int64_t t0 = at("2021-03-01");
    fill_trace(&t, t0, dd_path, 10);
    nd_risk_config_t r = risk(1200, 0);
    nd_breaker_validation_t v;
    cr_assert_eq(nd_validate_breakers(&t, &r, 1, &v), ND_OK);
    cr_assert_eq(v.missed, 1);
    cr_assert_eq(v.crossings[0].trip_index, -1);
    cr_assert_not(v.lag_pass);
    nd_breaker_validation_free(&v);
    /* A trip before the threshold was reached (bar 3 is 11.8% down) is unexplained. */
    trip(&t, ND_BREAKER_DRAWDOWN, t0 + 3 * H);
    cr_assert_eq(nd_validate_breakers(&t, &r, 1, &v), ND_OK);
    cr_assert_eq(v.unexpected, 1);
    cr_assert_eq(v.missed, 1);
    cr_assert_not(v.lag_pass);
    nd_breaker_validation_free(&v);
    nd_run_trace_deinit(&t);
}

Test(breakers, daily_loss_uses_the_last_equity_before_the_day_and_lifts_next_day)
{
    /* 22:00 and 23:00 on day 1, then day 2 from 00:00. Day 2 opens at 100 (the 23:00 equity),
     * 95 is exactly 5% down at 02:00; day 3 opens at 95 and 90 is 5.26% down at 00:00 + 24h. */
    int64_t t0 = at("2021-03-01T22:00:00Z");
    nd_run_trace_t t;
    nd_run_trace_init(&t, 16);
    int64_t eq[] = {120, 100, 99, 97, 95, 94, 95};
    for (int k = 0; k < 7; k++)
        cr_assert_eq(nd_run_trace_push_bar(&t, t0 + k * H, eq[k] * U, false), ND_OK);
    cr_assert_eq(nd_run_trace_push_bar(&t, at("2021-03-03"), 90 * U, false), ND_OK);
    nd_risk_config_t r = risk(0, 500);
    nd_breaker_validation_t v;
    cr_assert_eq(nd_validate_breakers(&t, &r, 0, &v), ND_OK);
    /* Day 1: 120 -> 100 is 16.7% but the day opened at 120 at 22:00: also a crossing. */
    cr_assert_eq(v.crossing_count, 3);
    cr_assert_eq(v.crossings[0].bar_index, 1);
    cr_assert_eq(v.crossings[1].bar_index, 4);
    cr_assert_eq(v.crossings[1].measured_e6, 50000);
    cr_assert_eq(v.crossings[2].bar_index, 7);
    cr_assert_eq(v.missed, 3);
    nd_breaker_validation_free(&v);
    nd_run_trace_deinit(&t);
}

static nd_event_t order_event(uint32_t strategy, nd_side_t side, int64_t qty, int64_t ts)
{
    nd_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = ND_EVENT_ORDER;
    ev.ts_ns = ts;
    ev.u.order.strategy_index = strategy;
    ev.u.order.side = side;
    ev.u.order.qty = qty;
    ev.u.order.type = ND_ORDER_MARKET;
    ev.u.order.created_ns = ts;
    ev.u.order.status = ND_ORDER_ACCEPTED;
    return ev;
}

Test(trace, flattening_orders_are_not_strategy_orders)
{
    nd_run_trace_t t;
    nd_run_trace_init(&t, 16);
    nd_engine_listener_t l = nd_run_trace_listener(&t);
    int64_t ts = at("2021-03-01T10:00:00Z");
    nd_event_t fill;
    memset(&fill, 0, sizeof fill);
    fill.kind = ND_EVENT_FILL;
    fill.u.fill.side = ND_SIDE_BUY;
    fill.u.fill.qty = 5;
    fill.u.fill.strategy_index = 0;
    cr_assert_eq(l.on_event(l.ctx, &fill), ND_OK);
    nd_event_t before = order_event(0, ND_SIDE_BUY, 2, ts - H);
    cr_assert_eq(l.on_event(l.ctx, &before), ND_OK);
    nd_event_t br;
    memset(&br, 0, sizeof br);
    br.kind = ND_EVENT_BREAKER;
    br.ts_ns = ts;
    br.u.breaker =
        (nd_breaker_event_t){.kind = ND_BREAKER_DRAWDOWN, .ts_ns = ts, .threshold_pct_e2 = 1200};
    cr_assert_eq(l.on_event(l.ctx, &br), ND_OK);
    nd_event_t flat = order_event(0, ND_SIDE_SELL, 5, ts);
    flat.u.order.risk_flatten = true; /* the engine marks its own flattening orders */
    cr_assert_eq(l.on_event(l.ctx, &flat), ND_OK);
    cr_assert_eq(t.trips[0].flatten_orders, 1);
    cr_assert_eq(t.accepted_while_halted, 0);
    nd_event_t bad = order_event(0, ND_SIDE_BUY, 3, ts + 5 * 24 * H);
    cr_assert_eq(l.on_event(l.ctx, &bad), ND_OK);
    cr_assert_eq(t.accepted_while_halted, 1, "a drawdown halt lasts to the end of the run");
    cr_assert_eq(t.trips[0].accepted_while_halted, 1);
    cr_assert_eq(t.accepted_orders, 2);
    nd_run_trace_deinit(&t);
}

Test(trace, daily_halt_ends_at_the_next_utc_day)
{
    nd_run_trace_t t;
    nd_run_trace_init(&t, 16);
    nd_engine_listener_t l = nd_run_trace_listener(&t);
    nd_event_t br;
    memset(&br, 0, sizeof br);
    br.kind = ND_EVENT_BREAKER;
    br.ts_ns = at("2021-03-01T10:00:00Z");
    br.u.breaker = (nd_breaker_event_t){.kind = ND_BREAKER_DAILY_LOSS, .ts_ns = br.ts_ns,
                                          .threshold_pct_e2 = 500};
    cr_assert_eq(l.on_event(l.ctx, &br), ND_OK);
    nd_event_t same_day = order_event(0, ND_SIDE_BUY, 3, at("2021-03-01T23:00:00Z"));
    nd_event_t next_day = order_event(0, ND_SIDE_BUY, 3, at("2021-03-02"));
    cr_assert_eq(l.on_event(l.ctx, &same_day), ND_OK);
    cr_assert_eq(l.on_event(l.ctx, &next_day), ND_OK);
    cr_assert_eq(t.accepted_while_halted, 1);
    cr_assert_eq(t.trips[0].halt_end_ns, at("2021-03-02"));
    nd_breaker_validation_t v;
    nd_risk_config_t r = risk(0, 500);
    cr_assert_eq(nd_validate_breakers(&t, &r, 1, &v), ND_OK);
    cr_assert_not(v.halt_pass);
    cr_assert_not(v.trips[0].stayed_halted);
    nd_criteria_t c = {NAN, NAN, NAN, -1, true, false};
    nd_criterion_result_t res[ND_CRITERIA_MAX];
    cr_assert_eq(nd_criteria_check(&c, 0.0, NAN, 0.0, &v, res), 1);
    cr_assert_str_eq(res[0].name, "no_orders_while_halted");
    cr_assert_not(res[0].pass);
    cr_assert_eq(res[0].value, 1.0);
    nd_breaker_validation_free(&v);
    nd_run_trace_deinit(&t);
}

Test(criteria, each_criterion_passes_and_fails_at_its_limit)
{
    nd_breaker_validation_t v;
    memset(&v, 0, sizeof v);
    v.worst_lag_bars = -1;
    nd_criteria_t c = {15.0, 0.5, -10.0, 1, true, true};
    nd_criterion_result_t res[ND_CRITERIA_MAX];
    size_t n = nd_criteria_check(&c, -0.15, 0.5, -0.10, &v, res);
    cr_assert_eq(n, 6);
    for (size_t k = 0; k < n; k++)
        cr_assert(res[k].pass, "%s at its limit passes: %s", res[k].name, res[k].detail);
    cr_assert_str_eq(res[0].name, "max_drawdown");
    cr_assert_float_eq(res[0].value, 15.0, 1e-12);
    n = nd_criteria_check(&c, -0.1501, 0.4999, -0.1001, &v, res);
    cr_assert_not(res[0].pass);
    cr_assert_not(res[1].pass);
    cr_assert_not(res[2].pass);
    cr_assert_str_eq(res[2].name, "min_total_return");
    cr_assert(strstr(res[0].detail, "worst drawdown 15.01% (limit 15.00%)") != NULL, "%s",
              res[0].detail);
    n = nd_criteria_check(&c, -0.01, NAN, 0.0, &v, res);
    cr_assert_not(res[1].pass, "no Sharpe (flat equity) does not clear a floor");
    nd_criteria_t off = {NAN, NAN, NAN, -1, false, false};
    cr_assert_eq(nd_criteria_check(&off, -0.9, -5, -0.9, &v, res), 0);
}

static const char *write_tmp(const char *name, const char *text)
{
    static char dir[64];
    static char path[160];
    snprintf(dir, sizeof dir, "/tmp/nd_validate_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static json_t *load_json(const char *path)
{
    json_error_t jerr;
    json_t *j = json_load_file(path, 0, &jerr);
    cr_assert_not_null(j);
    return j;
}

Test(criteria, defaults_by_condition_and_config_layers)
{
    nd_scenario_t *list = NULL;
    size_t n = 0;
    char err[512] = "";
    cr_assert_eq(nd_scenario_catalogue(NULL, &list, &n, err, sizeof err), ND_OK);
    nd_criteria_t c;
    cr_assert_eq(nd_criteria_resolve(NULL, NULL, &list[1], &c, err, sizeof err), ND_OK);
    cr_assert_eq(c.min_sharpe, 0.5, "bull window has a Sharpe floor");
    cr_assert_eq(c.max_drawdown_pct, 15.0);
    cr_assert(isnan(c.min_total_return_pct));
    cr_assert_eq(nd_criteria_resolve(NULL, NULL, &list[0], &c, err, sizeof err), ND_OK);
    cr_assert_eq(c.min_total_return_pct, -10.0, "crashes bound the loss");
    cr_assert_eq(nd_criteria_resolve(NULL, NULL, &list[2], &c, err, sizeof err), ND_OK);
    cr_assert_eq(c.min_total_return_pct, -15.0);
    const char *path = write_tmp("c.json",
        "{\"criteria\": {\"default\": {\"max_drawdown_pct\": 20}, \"history\": "
        "{\"breaker_max_lag_bars\": 2}, \"bull\": {\"min_sharpe\": 1.0}, \"bull-2021\": "
        "{\"max_drawdown_pct\": null}, \"synthetic\": {\"no_orders_while_halted\": false}}}");
    json_t *cfg = load_json(path);
    cr_assert_eq(nd_criteria_check_config(path, cfg, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(nd_criteria_resolve(path, cfg, &list[1], &c, err, sizeof err), ND_OK);
    cr_assert(isnan(c.max_drawdown_pct), "the scenario's own section switches it off");
    cr_assert_eq(c.min_sharpe, 1.0);
    cr_assert_eq(c.breaker_max_lag_bars, 2);
    cr_assert(c.no_orders_while_halted);
    cr_assert_eq(nd_criteria_resolve(path, cfg, &list[4], &c, err, sizeof err), ND_OK);
    cr_assert_eq(c.max_drawdown_pct, 20.0);
    cr_assert_not(c.no_orders_while_halted);
    cr_assert_eq(c.breaker_max_lag_bars, 1);
    json_decref(cfg);
    nd_free(list);
}

Test(criteria, config_errors_name_section_and_key)
{
    char err[512] = "";
    const char *path = write_tmp("bad.json",
        "{\"criteria\": {\"crash\": {\"max_drawdown\": 10}}}");
    json_t *cfg = load_json(path);
    cr_assert_eq(nd_criteria_check_config(path, cfg, err, sizeof err), ND_EINVAL);
    cr_assert(strstr(err, "bad.json: criteria.crash.max_drawdown: unknown criterion") != NULL,
              "%s", err);
    json_decref(cfg);
    path = write_tmp("bad.json", "{\"criteria\": {\"default\": {\"breaker_max_lag_bars\": -1}}}");
    cfg = load_json(path);
    cr_assert_eq(nd_criteria_check_config(path, cfg, err, sizeof err), ND_EINVAL);
    cr_assert(strstr(err, "criteria.default.breaker_max_lag_bars: must be a whole number") != NULL,
              "%s", err);
    json_decref(cfg);
}

Test(walk_forward, split_arithmetic)
{
    int64_t d = ND_NS_PER_DAY, train = 0, test = 0;
    cr_assert_eq(nd_walk_forward_parse("90d:30d", &train, &test), ND_OK);
    cr_assert_eq(train, 90 * d);
    cr_assert_eq(test, 30 * d);
    cr_assert_eq(nd_walk_forward_parse("2w:36h", &train, &test), ND_OK);
    cr_assert_eq(train, 14 * d);
    cr_assert_eq(test, 36 * ND_NS_PER_HOUR);
    cr_assert_eq(nd_walk_forward_parse("90d", &train, &test), ND_EPARSE);
    cr_assert_eq(nd_walk_forward_parse("90d:0d", &train, &test), ND_EPARSE);
    cr_assert_eq(nd_walk_forward_parse("90x:30d", &train, &test), ND_EPARSE);
    cr_assert_eq(nd_walk_forward_parse(":30d", &train, &test), ND_EPARSE);
    nd_wf_segment_t seg[16];
    /* 100 days, 30:10 -> floor((100 - 30) / 10) = 7 segments. */
    cr_assert_eq(nd_walk_forward_split(0, 100 * d, 30 * d, 10 * d, seg, 16), 7);
    cr_assert_eq(seg[0].train_from_ns, 0);
    cr_assert_eq(seg[0].train_to_ns, 30 * d);
    cr_assert_eq(seg[0].test_from_ns, 30 * d);
    cr_assert_eq(seg[0].test_to_ns, 40 * d);
    cr_assert_eq(seg[6].train_from_ns, 60 * d);
    cr_assert_eq(seg[6].test_to_ns, 100 * d);
    /* 105 days: still 7 (the 8th test span would end on day 110). */
    cr_assert_eq(nd_walk_forward_split(0, 105 * d, 30 * d, 10 * d, seg, 16), 7);
    cr_assert_eq(nd_walk_forward_split(5, 5 + 40 * d, 30 * d, 10 * d, seg, 16), 1);
    cr_assert_eq(seg[0].train_from_ns, 5);
    cr_assert_eq(nd_walk_forward_split(0, 40 * d - 1, 30 * d, 10 * d, seg, 16), 0);
    /* The bull-2021 window (334 days) at 90d:30d: floor(244 / 30) = 8. */
    cr_assert_eq(nd_walk_forward_split(at("2021-01-01"), at("2021-12-01"), 90 * d, 30 * d, seg,
                                       16), 8);
    cr_assert_eq(seg[7].test_to_ns, at("2021-01-01") + 330 * d);
}

/* ---- whole suites ---- */

static char data_dir[64];

/* 48 hourly bars from 2021-03-01: flat at 100, a rise to 119 (sma_cross 2/4 goes long), a crash
 * to 40 within two bars, then a recovery the halted strategy may not trade. */
static void write_crash_data(void)
{
    snprintf(data_dir, sizeof data_dir, "/tmp/nd_validate_data_XXXXXX");
    cr_assert_not_null(mkdtemp(data_dir));
    char path[128];
    snprintf(path, sizeof path, "%s/BTCUSDT-1h.csv", data_dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "ts,open,high,low,close,volume\n");
    int64_t t0 = at("2021-03-01") / ND_NS_PER_MS;
    double prev = 100;
    for (int k = 0; k < 48; k++) {
        double close = k < 10 ? 100 : k < 20 ? 100 + (k - 9) * 2 : k == 20 ? 70 : k == 21 ? 40
                                                                  : 40 + (k - 21);
        double hi = prev > close ? prev : close, lo = prev < close ? prev : close;
        fprintf(f, "%lld,%.2f,%.2f,%.2f,%.2f,1000\n", (long long)(t0 + k * 3600000LL), prev,
                hi, lo, close);
        prev = close;
    }
    fclose(f);
}

static void suite_config(nd_validate_config_t *cfg, const char *config_path)
{
    nd_validate_config_default(cfg);
    cfg->backtest.strategies[0].def = nd_strategy_find("sma_cross");
    nd_strategy_params_default(cfg->backtest.strategies[0].def, cfg->backtest.strategies[0].params);
    char err[128];
    cr_assert_eq(nd_strategy_param_set(cfg->backtest.strategies[0].def,
                                       cfg->backtest.strategies[0].params, "fast=2", err,
                                       sizeof err), ND_OK);
    cr_assert_eq(nd_strategy_param_set(cfg->backtest.strategies[0].def,
                                       cfg->backtest.strategies[0].params, "slow=4", err,
                                       sizeof err), ND_OK);
    cfg->backtest.strategy_count = 1;
    cfg->data_dir = data_dir;
    cfg->config_path = config_path;
}

static json_t *scenario_of(json_t *doc, size_t k)
{
    return json_array_get(json_object_get(doc, "scenarios"), k);
}

Test(suite, crafted_crash_trips_on_time_and_stays_halted)
{
    write_crash_data();
    const char *path = write_tmp("c.json",
        "{\"include_builtins\": false, \"scenarios\": [{\"name\": \"crafted\", \"kind\": "
        "\"history\", \"from\": \"2021-03-01\", \"to\": \"2021-03-03\", \"condition\": "
        "\"crash\"}], \"criteria\": {\"crash\": {\"min_total_return_pct\": -50}}}");
    nd_validate_config_t cfg;
    suite_config(&cfg, path);
    json_t *doc = NULL;
    char err[512] = "";
    cr_assert_eq(nd_validate_run(&cfg, &doc, err, sizeof err), ND_OK, "%s", err);
    json_t *sc = scenario_of(doc, 0);
    json_t *bv = json_object_get(sc, "breaker_validation");
    json_t *trips = json_object_get(bv, "trips");
    cr_assert_geq(json_array_size(trips), 1, "the crash trips a breaker");
    cr_assert_eq(json_array_size(json_object_get(bv, "crossings")), json_array_size(trips));
    cr_assert_eq(json_integer_value(json_object_get(bv, "worst_lag_bars")), 0);
    json_t *first = json_array_get(trips, 0);
    cr_assert_eq(json_integer_value(json_object_get(first, "flatten_orders")), 1);
    cr_assert(json_is_true(json_object_get(first, "stayed_halted")));
    cr_assert_eq(json_integer_value(json_object_get(bv, "orders_accepted_while_halted")), 0);
    cr_assert_gt(json_integer_value(json_object_get(json_object_get(sc, "metrics"),
                                                    "orders_rejected_halted")), 0,
                 "the strategy tried to trade the recovery and was refused");
    /* The flattening sell fills at the next bar's open (70) although the strategy targets flat
     * on the trip bar: the engine's order is not the strategy's to cancel. So the second leg
     * of the crash (70 -> 40) finds the account flat, the drawdown stays under 15% and every
     * criterion passes. (Before the fix the strategy's target cancelled the flattening order,
     * the position rode the crash down and max_drawdown failed.) */
    cr_assert(json_is_true(json_object_get(first, "flat_after")));
    cr_assert_eq(json_integer_value(json_object_get(first, "bars_open_after")), 0);
    cr_assert_str_eq(json_string_value(json_object_get(sc, "status")), "pass", "%s",
                     json_dumps(json_object_get(sc, "failed_criteria"), 0));
    cr_assert_eq(json_integer_value(json_object_get(doc, "failed")), 0);
    json_decref(doc);
}

Test(suite, missing_history_is_skipped_with_the_fetch_command_and_json_is_deterministic)
{
    snprintf(data_dir, sizeof data_dir, "/nonexistent/data");
    nd_validate_config_t cfg;
    suite_config(&cfg, NULL);
    const char *only[] = {"bull-2021", "gap-down"};
    cfg.only = only;
    cfg.only_count = 2;
    json_t *a = NULL, *b = NULL;
    char err[512] = "";
    cr_assert_eq(nd_validate_run(&cfg, &a, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(nd_validate_run(&cfg, &b, err, sizeof err), ND_OK, "%s", err);
    json_t *bull = scenario_of(a, 0);
    cr_assert_str_eq(json_string_value(json_object_get(bull, "status")), "skipped");
    cr_assert_str_eq(json_string_value(json_object_get(bull, "fetch_command")),
                     "noderr data fetch --symbol BTCUSDT --interval 1h --from 2021-01-01 "
                     "--to 2021-11-30 --dir /nonexistent/data");
    cr_assert_eq(json_integer_value(json_object_get(a, "skipped")), 1);
    json_t *gap = scenario_of(a, 1);
    cr_assert_str_neq(json_string_value(json_object_get(gap, "status")), "skipped");
    cr_assert_eq(json_integer_value(json_object_get(a, "passed")) +
                 json_integer_value(json_object_get(a, "failed")), 1);
    char *ta = json_dumps(a, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    char *tb = json_dumps(b, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    cr_assert_str_eq(ta, tb);
    free(ta);
    free(tb);
    json_decref(a);
    json_decref(b);
    const char *bad[] = {"no-such-scenario"};
    cfg.only = bad;
    cfg.only_count = 1;
    cr_assert_eq(nd_validate_run(&cfg, &a, err, sizeof err), ND_EINVAL);
    cr_assert(strstr(err, "unknown scenario 'no-such-scenario'") != NULL, "%s", err);
}

Test(suite, walk_forward_segments_and_series)
{
    snprintf(data_dir, sizeof data_dir, "/nonexistent/data");
    nd_validate_config_t cfg;
    suite_config(&cfg, NULL);
    const char *only[] = {"flash-crash"};
    cfg.only = only;
    cfg.only_count = 1;
    cfg.wf_train_ns = 30 * ND_NS_PER_DAY;
    cfg.wf_test_ns = 10 * ND_NS_PER_DAY;
    cfg.with_series = true;
    json_t *doc = NULL;
    char err[512] = "";
    cr_assert_eq(nd_validate_run(&cfg, &doc, err, sizeof err), ND_OK, "%s", err);
    json_t *sc = scenario_of(doc, 0);
    json_t *wf = json_object_get(sc, "walk_forward");
    /* 2160 hourly bars = 90 days: floor((90 - 30) / 10) = 6 segments. */
    json_t *segs = json_object_get(wf, "segments");
    cr_assert_eq(json_array_size(segs), 6);
    json_t *is = json_object_get(json_array_get(segs, 0), "in_sample");
    json_t *oos = json_object_get(json_array_get(segs, 0), "out_of_sample");
    cr_assert_eq(json_integer_value(json_object_get(is, "bars")), 720);
    cr_assert_eq(json_integer_value(json_object_get(oos, "bars")), 240);
    cr_assert_str_eq(json_string_value(json_object_get(oos, "from")), "2024-01-31T00:00:00Z");
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(wf, "summary"), "segments")),
                 6);
    cr_assert_eq(json_array_size(json_object_get(sc, "equity")), 2160);
    cr_assert_eq(json_array_size(json_object_get(sc, "drawdown")), 2160);
    json_t *e0 = json_array_get(json_object_get(sc, "equity"), 0);
    cr_assert_eq(json_integer_value(json_array_get(e0, 0)), 1704067200000LL);
    cr_assert(json_is_array(json_object_get(sc, "trades")));
    json_decref(doc);
}

Test(breakers, a_position_left_open_through_a_halt_fails_flat_after_halt)
{
    nd_run_trace_t t;
    int64_t t0 = at("2021-03-01");
    nd_run_trace_init(&t, 16);
    for (size_t k = 0; k < 10; k++) {
        /* The trip is on bar 4; the position is still there on bars 5..9. */
        if (k == 4)
            trip(&t, ND_BREAKER_DRAWDOWN, t0 + 4 * H);
        cr_assert_eq(nd_run_trace_push_bar(&t, t0 + (int64_t)k * H, dd_path[k] * U, true), ND_OK);
    }
    nd_risk_config_t r = risk(1200, 0);
    nd_breaker_validation_t v;
    cr_assert_eq(nd_validate_breakers(&t, &r, 1, &v), ND_OK);
    cr_assert_eq(v.trip_count, 1);
    cr_assert_not(v.trips[0].flat_after);
    cr_assert_eq(v.trips[0].trip.bars_open_after, 5);
    cr_assert_eq(v.left_open, 1);
    nd_criteria_t c = {NAN, NAN, NAN, -1, false, true};
    nd_criterion_result_t res[ND_CRITERIA_MAX];
    cr_assert_eq(nd_criteria_check(&c, 0.0, NAN, 0.0, &v, res), 1);
    cr_assert_str_eq(res[0].name, "flat_after_halt");
    cr_assert_not(res[0].pass, "a halt that leaves a position open fails");
    nd_breaker_validation_free(&v);
    nd_run_trace_deinit(&t);
}

Test(breakers, flat_on_the_bar_after_the_trip_passes_and_a_partial_flatten_may_take_bars)
{
    nd_run_trace_t t;
    int64_t t0 = at("2021-03-01");
    nd_run_trace_init(&t, 16);
    for (size_t k = 0; k < 10; k++) {
        if (k == 4)
            trip(&t, ND_BREAKER_DRAWDOWN, t0 + 4 * H);
        /* Open up to the trip bar, still open on bars 5 and 6 (partial fills), flat from 7. */
        bool open = k <= 6;
        cr_assert_eq(nd_run_trace_push_bar(&t, t0 + (int64_t)k * H, dd_path[k] * U, open), ND_OK);
    }
    nd_risk_config_t r = risk(1200, 0);
    nd_breaker_validation_t v;
    cr_assert_eq(nd_validate_breakers(&t, &r, 1, &v), ND_OK);
    cr_assert(v.trips[0].flat_after);
    cr_assert_eq(v.trips[0].trip.bars_open_after, 2);
    cr_assert(v.flat_pass);
    nd_breaker_validation_free(&v);
    nd_run_trace_deinit(&t);
}

Test(breakers, the_replay_follows_the_reset_policy)
{
    /* Peak 110, 96 on bar 4 trips 12%; with after:2h the halt lifts on bar 6 and the peak
     * restarts there (95), so the later dip to 83 (bar 9, 12.6% below 95) is a second
     * crossing. Under "never" it is not. */
    static const int64_t path[] = {100, 110, 105, 97, 96, 95, 95, 94, 90, 83};
    nd_run_trace_t t;
    int64_t t0 = at("2021-03-01");
    fill_trace(&t, t0, path, 10);
    nd_risk_config_t r = risk(1200, 0);
    nd_breaker_validation_t v;
    cr_assert_eq(nd_validate_breakers(&t, &r, 1, &v), ND_OK);
    cr_assert_eq(v.crossing_count, 1);
    nd_breaker_validation_free(&v);
    char why[128];
    cr_assert_eq(nd_risk_config_set_reset(&r, "drawdown=after:2h", why, sizeof why), ND_OK, "%s", why);
    cr_assert_eq(nd_validate_breakers(&t, &r, 1, &v), ND_OK);
    cr_assert_eq(v.crossing_count, 2);
    cr_assert_eq(v.crossings[1].bar_index, 9);
    nd_breaker_validation_free(&v);
    nd_run_trace_deinit(&t);
}

Test(breakers, a_halt_that_lifts_on_the_next_bar_is_judged_on_that_bar)
{
    /* after:1h: the halt from bar 4 ends at bar 5's open; bar 5's opening fill flattened it
     * (flat), or did not (open): judged on bar 5, not on a bar that never came. */
    for (int open = 0; open <= 1; open++) {
        nd_run_trace_t t;
        int64_t t0 = at("2021-03-01");
        nd_run_trace_init(&t, 16);
        t.risk.drawdown_reset = (nd_breaker_reset_t){ND_BREAKER_RESET_AFTER, H};
        for (size_t k = 0; k < 10; k++) {
            if (k == 4)
                trip(&t, ND_BREAKER_DRAWDOWN, t0 + 4 * H);
            bool in_market = k <= 4 || (open && k >= 5);
            cr_assert_eq(nd_run_trace_push_bar(&t, t0 + (int64_t)k * H, dd_path[k] * U, in_market),
                         ND_OK);
        }
        nd_risk_config_t r = t.risk;
        r.max_drawdown_pct_e2 = 1200;
        r.daily_loss_pct_e2 = 0;
        nd_breaker_validation_t v;
        cr_assert_eq(nd_validate_breakers(&t, &r, 1, &v), ND_OK);
        cr_assert_eq(v.trips[0].flat_after, !open, "open=%d", open);
        cr_assert_eq(v.trips[0].trip.bars_open_after, 0);
        nd_breaker_validation_free(&v);
        nd_run_trace_deinit(&t);
    }
}
