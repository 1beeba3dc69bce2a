/* report_doc.c: the report document of a single backtest run, in the shape report.h
 * documents, so `noderr backtest --report` and a validator (one scenario per window) build
 * the same page. Times are Unix ms integers; money and prices are JSON numbers for display
 * only (the exact amounts stay in the backtest's own JSON). */
#include "report_int.h"

#include "noderr/assert.h"
#include "noderr/fixed.h"
#include "noderr/alloc.h"
#include "report/report_config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The backtest JSON's keys that the report shows as metrics, in this order. */
static const char *const metric_keys[] = {
    "total_return", "annual_return", "sharpe", "sortino", "max_drawdown", "calmar", "var",
    "cvar", "win_rate", "profit_factor", "annual_volatility", "exposure", "trades", "fills",
    "bars", "initial_cash", "final_equity", "fees", "first_bar", "last_bar", NULL};

static json_t *metrics_from(const json_t *full)
{
    json_t *m = json_object();
    for (size_t k = 0; m && metric_keys[k]; k++) {
        json_t *v = json_object_get(full, metric_keys[k]);
        if (v)
            json_object_set(m, metric_keys[k], v);
    }
    return m;
}

static json_t *point(int64_t ts_ms, double value)
{
    return json_pack("[Io]", (json_int_t)ts_ms, isfinite(value) ? json_real(value) : json_null());
}

/* Equity and drawdown per bar; both empty unless the run kept its equity series. */
static void add_series(json_t *s, const nd_backtest_result_t *r)
{
    size_t n = r->equity.count < r->equity_ts.count ? r->equity.count : r->equity_ts.count;
    json_t *equity = json_array(), *drawdown = json_array();
    double *dd = nd_alloc((n ? n : 1) * sizeof *dd);
    if (dd)
        nd_report_drawdown(r->equity.values, n, dd);
    for (size_t i = 0; i < n; i++) {
        int64_t ts = (int64_t)r->equity_ts.values[i];
        json_array_append_new(equity, point(ts, r->equity.values[i]));
        if (dd)
            json_array_append_new(drawdown, point(ts, dd[i]));
    }
    nd_free(dd);
    json_object_set_new(s, "equity", equity);
    json_object_set_new(s, "drawdown", drawdown);
}

static json_t *trade_json(const nd_backtest_result_t *r, const nd_trade_t *t)
{
    const nd_instrument_t *inst = nd_engine_instrument(r->engine, t->instrument_id);
    ND_ASSERT(inst != NULL);
    json_t *o = json_object();
    json_object_set_new(o, "entry_ts", json_integer(t->entry_ns / 1000000));
    json_object_set_new(o, "exit_ts", json_integer(t->exit_ns / 1000000));
    json_object_set_new(o, "strategy", json_string(nd_engine_strategy_def(r->engine,
                                                                          t->strategy_index)->name));
    json_object_set_new(o, "symbol", json_string(inst->symbol));
    json_object_set_new(o, "direction", json_string(t->direction < 0 ? "short" : "long"));
    json_object_set_new(o, "qty", json_real(nd_fixed_to_double(t->qty, inst->qty_decimals)));
    json_object_set_new(o, "entry_px", json_real(nd_fixed_to_double(t->entry_px,
                                                                    inst->px_decimals)));
    json_object_set_new(o, "exit_px", json_real(nd_fixed_to_double(t->exit_px, inst->px_decimals)));
    json_object_set_new(o, "pnl", json_real(nd_fixed_to_double(t->pnl, ND_CASH_DECIMALS)));
    json_object_set_new(o, "fees", json_real(nd_fixed_to_double(t->fees, ND_CASH_DECIMALS)));
    return o;
}

/* The spans trading was halted, [from, to] in ms, to clipped to the last bar: from each kept
 * trip to when its reset policy lifts it (overlapping halts merged), for the charts' shading. */
static json_t *halts_json(const nd_backtest_config_t *cfg, const nd_backtest_result_t *r)
{
    const nd_risk_t *risk = nd_engine_risk(r->engine);
    int64_t last = nd_engine_stats(r->engine)->last_ts_ns;
    json_t *list = json_array();
    int64_t from = 0, to = -1;
    for (uint32_t k = 0; k < risk->event_count; k++) {
        const nd_breaker_event_t *b = &risk->events[k];
        int64_t end = nd_risk_halt_end_ns(&cfg->engine.risk, b->kind, b->ts_ns);
        end = end < last ? end : last;
        if (to >= 0 && b->ts_ns <= to) {
            to = end > to ? end : to;
            continue;
        }
        if (to >= 0) {
            json_t *span = json_array();
            json_array_append_new(span, json_integer(from / 1000000));
            json_array_append_new(span, json_integer(to / 1000000));
            json_array_append_new(list, span);
        }
        from = b->ts_ns;
        to = end;
    }
    if (to >= 0) {
        json_t *span = json_array();
        json_array_append_new(span, json_integer(from / 1000000));
        json_array_append_new(span, json_integer(to / 1000000));
        json_array_append_new(list, span);
    }
    return list;
}

json_t *nd_report_scenario_from_backtest(const nd_backtest_config_t *cfg,
                                         const nd_backtest_result_t *r, const char *name,
                                         const char *kind)
{
    return nd__report_scenario(cfg, r, name, kind, NULL, 0);
}

json_t *nd__report_scenario(const nd_backtest_config_t *cfg, const nd_backtest_result_t *r,
                            const char *name, const char *kind, const nd_bar_t *bars,
                            size_t count)
{
    ND_ASSERT(cfg != NULL && r != NULL);
    ND_ASSERT(r->engine != NULL);
    json_t *full = nd_backtest_result_json(cfg, r);
    json_t *s = json_object();
    if (!full || !s) {
        json_decref(full);
        json_decref(s);
        return NULL;
    }
    json_object_set_new(s, "name", json_string(name ? name : "backtest"));
    json_object_set_new(s, "kind", json_string(kind ? kind : "backtest"));
    json_object_set_new(s, "metrics", metrics_from(full));
    json_object_set(s, "breaker_events", json_object_get(full, "breaker_events"));
    json_object_set_new(s, "halts", halts_json(cfg, r));
    add_series(s, r);
    json_t *trades = json_array();
    for (size_t i = 0; i < r->trade_count; i++)
        json_array_append_new(trades, trade_json(r, &r->trades[i]));
    json_object_set_new(s, "trades", trades);
    nd__report_add_run(s, cfg, r, full, bars, count);
    json_decref(full);
    return s;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

json_t *nd_report_doc_from_backtest(const nd_backtest_config_t *cfg,
                                    const nd_backtest_result_t *r)
{
    ND_ASSERT(cfg != NULL && r != NULL);
    ND_ASSERT(cfg->strategy_count >= 1);
    char strategies[256], source[160], title[512];
    nd_backtest_strategy_names(cfg, strategies, sizeof strategies);
    if (r->synthetic)
        snprintf(source, sizeof source, "synthetic market, seed %llu",
                 (unsigned long long)r->seed);
    else
        snprintf(source, sizeof source, "%s", base_name(cfg->data_path ? cfg->data_path : "?"));
    snprintf(title, sizeof title, "Backtest: %s on %s", strategies, cfg->symbol);
    json_t *doc = json_object();
    json_t *scenario = nd_report_scenario_from_backtest(cfg, r, source, "backtest");
    json_t *list = json_array();
    if (!doc || !scenario || !list) {
        json_decref(doc);
        json_decref(scenario);
        json_decref(list);
        return NULL;
    }
    json_object_set_new(doc, "title", json_string(title));
    json_object_set_new(doc, "generated_by",
                        json_string("noderr " ND_REPORT_VERSION " backtest --report"));
    json_array_append_new(list, scenario);
    json_object_set_new(doc, "scenarios", list);
    return doc;
}

static json_t *strategies_of(const nd_backtest_config_t *cfg)
{
    json_t *list = json_array();
    for (uint32_t k = 0; list && k < cfg->strategy_count; k++) {
        const nd_strategy_def_t *def = cfg->strategies[k].def;
        json_t *params = nd_backtest_params_json(def, cfg->strategies[k].params);
        json_array_append_new(list, json_pack("{s:s,s:o}", "name", def->name, "params", params));
    }
    return list;
}

nd_err_t nd_report_doc_add_strategies(json_t *doc, const nd_backtest_config_t *cfg)
{
    ND_ASSERT(cfg != NULL);
    json_t *strategies = strategies_of(cfg);
    if (!strategies)
        return ND_ENOMEM;
    json_t *list = json_object_get(doc, "scenarios"), *s;
    size_t i;
    json_array_foreach(list, i, s) {
        if (json_is_object(s) && !json_object_get(s, "run"))
            json_object_set_new(s, "run", json_pack("{s:O}", "strategies", strategies));
    }
    json_decref(strategies);
    return ND_OK;
}
