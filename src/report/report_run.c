/* report_run.c: what a backtest report adds to the run's own JSON: the instruments' candles
 * (the bars read again from the same file or the same seeded market, so the backtest module
 * keeps no OHLC series for the report's sake), buy and hold of the same instruments as a
 * benchmark with alpha, beta and excess return against it, a record of the run (strategies and
 * parameters, costs, limits, data range), P&L by strategy and by asset, and a real status.
 * Every list is an array, one entry per instrument or strategy, so a multi-instrument run fills
 * the same shape. Benchmark statistics come from daily returns (UTC days), as empyrical takes
 * them, whatever the bar interval. */
#include "report_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/clock.h"
#include "noderr/fixed.h"
#include "noderr/metrics.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Every bar of the run's one bar input: NULL (count 0) for event-level runs and for bars the
 * caller streamed in (validation), whose source is spent. A read error leaves the candles out:
 * the run itself read the same bars without error, so this is out of memory at worst. */
static nd_bar_t *bars_again(const nd_backtest_config_t *cfg, const nd_backtest_result_t *r,
                            size_t *count)
{
    *count = 0;
    if (cfg->source || r->l2 || nd_backtest_is_event_level(cfg))
        return NULL;
    const nd_instrument_t *inst = nd_engine_instrument(r->engine, 0);
    nd_bar_source_t *src = NULL;
    char err[256];
    nd_err_t rc = cfg->data_path ? nd_bars_open(cfg->data_path, cfg->format, inst, &src, err,
                                                sizeof err)
                                 : nd_synth_open(&cfg->synth, inst, &src, err, sizeof err);
    if (rc != ND_OK)
        return NULL;
    nd_bar_t *bars = NULL;
    rc = nd_bars_read_all(src, &bars, count, err, sizeof err);
    src->close(src);
    if (rc != ND_OK) {
        *count = 0;
        return NULL;
    }
    return bars;
}

static json_t *candles_json(const nd_instrument_t *inst, const nd_bar_t *bars, size_t count)
{
    json_t *list = json_array();
    int d = inst->px_decimals;
    for (size_t i = 0; list && i < count; i++)
        json_array_append_new(list, json_pack("[Iffff]", (json_int_t)(bars[i].ts_ns / 1000000),
                                              nd_fixed_to_double(bars[i].open, d),
                                              nd_fixed_to_double(bars[i].high, d),
                                              nd_fixed_to_double(bars[i].low, d),
                                              nd_fixed_to_double(bars[i].close, d)));
    return list;
}

/* Buy and hold with the run's initial cash at each bar's close: cash * close / first close,
 * on the strategy's equity times (a bar without an equity point is skipped). */
static void benchmark_values(const nd_backtest_result_t *r, const nd_bar_t *bars, size_t count,
                             double cash, double *out)
{
    size_t n = r->equity_ts.count, k = 0;
    double first = count ? (double)bars[0].close : NAN;
    for (size_t i = 0; i < n; i++) {
        int64_t ts_ms = (int64_t)r->equity_ts.values[i];
        while (k + 1 < count && bars[k].ts_ns / 1000000 < ts_ms)
            k++;
        out[i] = count ? cash * (double)bars[k].close / first : NAN;
    }
}

static json_t *number(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

/* alpha, beta (daily), benchmark_return and excess_return into metrics. */
static void benchmark_metrics(json_t *metrics, const nd_backtest_result_t *r, const double *bh,
                              const nd_metrics_config_t *mc)
{
    size_t n = r->equity_ts.count < r->equity.count ? r->equity_ts.count : r->equity.count;
    double *rs = nd_alloc((2 * n + 1) * sizeof *rs);
    if (!rs || n == 0) {
        nd_free(rs);
        return;
    }
    double *fs = rs + n;
    size_t days = nd_returns_daily(r->equity_ts.values, r->equity.values, n, rs);
    size_t days_f = nd_returns_daily(r->equity_ts.values, bh, n, fs);
    ND_ASSERT(days == days_f);
    double rf_daily = mc->risk_free * mc->periods_per_year / 365.0;
    double bench_total = bh[n - 1] / bh[0] - 1.0;
    double total = r->equity.values[n - 1] / r->equity.values[0] - 1.0;
    json_object_set_new(metrics, "benchmark_return", number(bench_total));
    json_object_set_new(metrics, "excess_return", number(total - bench_total));
    json_object_set_new(metrics, "alpha", number(nd_metric_alpha(rs, fs, days, rf_daily, 365.0)));
    json_object_set_new(metrics, "beta", number(nd_metric_beta(rs, fs, days, rf_daily)));
    nd_free(rs);
}

static json_t *benchmark_json(const nd_backtest_config_t *cfg, const nd_backtest_result_t *r,
                              const nd_bar_t *bars, size_t count, json_t *metrics)
{
    size_t n = r->equity_ts.count < r->equity.count ? r->equity_ts.count : r->equity.count;
    double *bh = nd_alloc((n + 1) * sizeof *bh);
    if (!bh || n == 0 || count == 0) {
        nd_free(bh);
        return NULL;
    }
    benchmark_values(r, bars, count, r->equity.values[0], bh);
    json_t *eq = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(eq, json_pack("[Io]", (json_int_t)r->equity_ts.values[i],
                                            number(bh[i])));
    benchmark_metrics(metrics, r, bh, &r->metrics_cfg);
    nd_free(bh);
    char name[ND_NAME_MAX + 32];
    snprintf(name, sizeof name, "buy and hold %s", cfg->symbol);
    return json_pack("{s:s,s:o}", "name", name, "equity", eq);
}

/* "completed" or "halted", and for a halt one line saying by what and since when. */
static void add_status(json_t *s, const nd_backtest_result_t *r)
{
    nd_halt_summary_t h;
    nd_backtest_halt_summary(r, &h);
    char line[256] = "";
    if (h.halted_at_end) {
        char at[40];
        nd_time_format_iso(h.trip.ts_ns, at, sizeof at);
        snprintf(line, sizeof line, "halted by %s at %s: idle for %lld of %lld bars",
                 nd_breaker_kind_name(h.trip.kind), at, (long long)h.halted_bars,
                 (long long)h.bars);
    } else {
        nd_halt_summary_format(&h, line, sizeof line);
    }
    json_object_set_new(s, "status", json_string(h.halted_at_end ? "halted" : "completed"));
    json_object_set_new(s, "status_detail", json_string(line[0] ? line : "ran to the last bar"));
}

/* P&L rows: one per strategy ("strategies" of the run's JSON) and one per asset ("by_asset"). */
static json_t *pnl_row(const char *key, const char *name, const json_t *pnl)
{
    json_t *row = json_pack("{s:s}", key, name);
    const char *field;
    json_t *v;
    json_object_foreach((json_t *)pnl, field, v)
        json_object_set(row, field, v);
    return row;
}

static void add_pnl(json_t *s, const json_t *full)
{
    json_t *by_strategy = json_array(), *by_asset = json_array();
    const json_t *list = json_object_get(full, "strategies"), *item;
    size_t i;
    json_array_foreach(list, i, item)
        json_array_append_new(by_strategy,
                              pnl_row("strategy", nd__report_string(item, "name", "?"),
                                      json_object_get(item, "pnl")));
    const char *symbol;
    json_t *pnl;
    json_object_foreach((json_t *)json_object_get(full, "by_asset"), symbol, pnl)
        json_array_append_new(by_asset, pnl_row("asset", symbol, pnl));
    json_object_set_new(s, "pnl_by_strategy", by_strategy);
    json_object_set_new(s, "pnl_by_asset", by_asset);
}

static json_t *costs_json(const nd_backtest_config_t *cfg)
{
    const nd_sim_config_t *v = &cfg->engine.venue;
    json_t *o = json_object();
    json_object_set_new(o, "maker_fee_bps", json_real((double)v->maker_fee_bps_e2 / 100.0));
    json_object_set_new(o, "taker_fee_bps", json_real((double)v->taker_fee_bps_e2 / 100.0));
    json_object_set_new(o, "slippage_bps", json_real((double)v->slippage_bps_e2 / 100.0));
    json_object_set_new(o, "impact_bps", json_real((double)v->impact_bps_e2 / 100.0));
    json_object_set_new(o, "max_volume_share_pct",
                        json_real((double)v->max_volume_share_e4 / 100.0));
    return o;
}

/* The record of the run: what was run, on what, with which costs and limits. */
static void add_run(json_t *s, const nd_backtest_config_t *cfg, const json_t *full)
{
    json_t *run = json_object(), *strategies = json_array();
    const json_t *list = json_object_get(full, "strategies"), *item;
    size_t i;
    json_array_foreach(list, i, item)
        json_array_append_new(strategies, json_pack("{s:O,s:O}", "name",
                                                    json_object_get(item, "name"), "params",
                                                    json_object_get(item, "params")));
    json_object_set_new(run, "strategies", strategies);
    json_object_set(run, "data", json_object_get(full, "data"));
    json_t *range = json_object();
    json_object_set(range, "first_bar", json_object_get(full, "first_bar"));
    json_object_set(range, "last_bar", json_object_get(full, "last_bar"));
    json_object_set(range, "bars", json_object_get(full, "bars"));
    json_object_set(range, "periods_per_year", json_object_get(full, "periods_per_year"));
    json_object_set_new(run, "range", range);
    json_object_set(run, "initial_cash", json_object_get(full, "initial_cash"));
    json_object_set_new(run, "costs", costs_json(cfg));
    json_object_set(run, "risk_limits", json_object_get(full, "risk_limits"));
    json_object_set_new(s, "run", run);
}

void nd__report_add_run(json_t *s, const nd_backtest_config_t *cfg, const nd_backtest_result_t *r,
                        const json_t *full, const nd_bar_t *given, size_t given_count)
{
    ND_ASSERT(json_is_object(s) && cfg != NULL);
    ND_ASSERT(r != NULL && r->engine != NULL);
    add_status(s, r);
    add_pnl(s, full);
    add_run(s, cfg, full);
    size_t count = given_count;
    nd_bar_t *owned = given ? NULL : bars_again(cfg, r, &count);
    const nd_bar_t *bars = given ? given : owned;
    if (bars && count > 0) {
        const nd_instrument_t *inst = nd_engine_instrument(r->engine, 0);
        json_t *one = json_pack("{s:s,s:o}", "symbol", inst->symbol, "candles",
                                candles_json(inst, bars, count));
        json_object_set_new(s, "instruments", json_pack("[o]", one));
        json_t *bench = benchmark_json(cfg, r, bars, count, json_object_get(s, "metrics"));
        if (bench)
            json_object_set_new(s, "benchmark", bench);
    }
    nd_free(owned);
}
