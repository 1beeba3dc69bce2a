/* backtest_json.c: the machine-readable summary of a backtest. Key order is fixed and every
 * number is formatted the same way on every run, so equal inputs give byte-identical JSON.
 * Money goes out twice: as a JSON number for convenience and, under *_exact keys, as the exact
 * decimal string of the integer amount. Undefined statistics (NaN) become null. */
#include "noderr/backtest.h"
#include "noderr/assert.h"
#include "noderr/scenario.h"
#include "noderr/fixed.h"

#include <math.h>
#include <string.h>

static json_t *real_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *money(int64_t cash)
{
    return json_real(nd_fixed_to_double(cash, ND_CASH_DECIMALS));
}

static json_t *money_exact(int64_t cash)
{
    char text[32];
    nd_fixed_format(cash, ND_CASH_DECIMALS, text, sizeof text);
    return json_string(text);
}

static json_t *attribution_json(const nd_attribution_t *a)
{
    json_t *o = json_object();
    json_object_set_new(o, "realized", money(a->realized));
    json_object_set_new(o, "unrealized", money(a->unrealized));
    json_object_set_new(o, "fees", money(a->fees));
    json_object_set_new(o, "net", money(a->net));
    json_object_set_new(o, "trades", json_integer(a->trades));
    return o;
}

static json_t *breakers_json(const nd_risk_t *risk)
{
    json_t *list = json_array();
    for (uint32_t k = 0; k < risk->event_count; k++) {
        const nd_breaker_event_t *b = &risk->events[k];
        json_t *o = json_object();
        json_object_set_new(o, "type", json_string(nd_breaker_kind_name(b->kind)));
        json_object_set_new(o, "ts", nd_json_time(b->ts_ns));
        json_object_set_new(o, "equity", money(b->equity));
        json_object_set_new(o, "reference_equity", money(b->reference));
        json_object_set_new(o, "measured_pct", json_real((double)b->measured_e6 / 1e4));
        json_object_set_new(o, "threshold_pct", json_real((double)b->threshold_pct_e2 / 100.0));
        json_array_append_new(list, o);
    }
    return list;
}

static json_t *pct_limit(int64_t pct_e2)
{
    return pct_e2 > 0 ? json_real((double)pct_e2 / 100.0) : json_string("off");
}

static json_t *risk_json(const nd_engine_config_t *cfg)
{
    json_t *o = json_object();
    json_object_set_new(o, "max_position_pct", pct_limit(cfg->risk.max_position_pct_e2));
    json_object_set_new(o, "max_drawdown_pct", pct_limit(cfg->risk.max_drawdown_pct_e2));
    json_object_set_new(o, "daily_loss_pct", pct_limit(cfg->risk.daily_loss_pct_e2));
    char reset[48];
    nd_breaker_reset_format(&cfg->risk.drawdown_reset, reset, sizeof reset);
    json_object_set_new(o, "drawdown_reset", json_string(reset));
    nd_breaker_reset_format(&cfg->risk.daily_loss_reset, reset, sizeof reset);
    json_object_set_new(o, "daily_loss_reset", json_string(reset));
    if (cfg->risk.anomaly_threshold_e6 > 0) {
        /* Only when on: a run without the anomaly breaker prints what it always printed. */
        json_object_set_new(o, "anomaly_threshold",
                            json_real((double)cfg->risk.anomaly_threshold_e6 / 1e6));
        nd_breaker_reset_format(&cfg->risk.anomaly_reset, reset, sizeof reset);
        json_object_set_new(o, "anomaly_reset", json_string(reset));
    }
    json_object_set_new(o, "price_collar_pct", pct_limit(cfg->risk.price_collar_pct_e2));
    json_object_set_new(o, "max_order_notional",
                        cfg->risk.max_order_notional > 0 ? money(cfg->risk.max_order_notional)
                                                         : json_string("off"));
    json_object_set_new(o, "max_orders_per_sec",
                        cfg->risk.orders_per_sec_max > 0 ? json_integer(cfg->risk.orders_per_sec_max)
                                                         : json_string("off"));
    return o;
}

static json_t *rejects_json(const nd_engine_t *e)
{
    json_t *o = json_object();
    for (int k = 1; k < ND_REJECT_SLOTS; k++) {
        int64_t n = nd_engine_rejects(e, (nd_reject_t)k);
        if (n > 0)
            json_object_set_new(o, nd_reject_name((nd_reject_t)k), json_integer(n));
    }
    return o;
}

json_t *nd_backtest_params_json(const nd_strategy_def_t *def, const double *values)
{
    ND_ASSERT(def != NULL);
    json_t *params = json_object();
    for (int k = 0; k < def->param_count; k++) {
        const nd_param_def_t *pd = &def->params[k];
        if (pd->type == ND_PARAM_INT)
            json_object_set_new(params, pd->name, json_integer((json_int_t)values[k]));
        else if (pd->type == ND_PARAM_CHOICE)
            json_object_set_new(params, pd->name, json_string(pd->choices[(int)values[k]]));
        else
            json_object_set_new(params, pd->name, json_real(values[k]));
    }
    return params;
}

static json_t *strategies_json(const nd_engine_t *e, uint32_t instrument_count)
{
    json_t *list = json_array();
    nd_portfolio_t *p = nd_engine_portfolio(e);
    for (uint32_t s = 0; s < nd_engine_strategy_count(e); s++) {
        const nd_strategy_def_t *def = nd_engine_strategy_def(e, s);
        const double *values = nd_engine_strategy_params(e, s);
        json_t *o = json_object(), *params = nd_backtest_params_json(def, values);
        nd_attribution_t a;
        nd_portfolio_by_strategy(p, s, &a);
        json_object_set_new(o, "name", json_string(def->name));
        if (instrument_count > 1) /* slot s runs on instrument s % count (backtest.c) */
            json_object_set_new(o, "symbol",
                                json_string(nd_engine_instrument(e, s % instrument_count)->symbol));
        json_object_set_new(o, "params", params);
        json_object_set_new(o, "pnl", attribution_json(&a));
        json_array_append_new(list, o);
    }
    return list;
}

static json_t *by_asset_json(const nd_engine_t *e, uint32_t instrument_count)
{
    json_t *o = json_object();
    for (uint32_t k = 0; k < (instrument_count ? instrument_count : 1); k++) {
        nd_attribution_t a;
        const nd_instrument_t *inst = nd_engine_instrument(e, k);
        nd_portfolio_by_instrument(nd_engine_portfolio(e), k, &a);
        json_object_set_new(o, inst->symbol, attribution_json(&a));
    }
    return o;
}

static json_t *by_venue_json(const nd_engine_t *e)
{
    json_t *o = json_object();
    nd_attribution_t a;
    const nd_instrument_t *inst = nd_engine_instrument(e, 0);
    nd_portfolio_by_venue(nd_engine_portfolio(e), inst->venue, &a);
    json_object_set_new(o, inst->venue, attribution_json(&a));
    return o;
}

static void add_headline(json_t *o, const nd_backtest_result_t *r)
{
    const nd_engine_stats_t *es = nd_engine_stats(r->engine);
    const nd_metrics_t *m = &r->metrics;
    nd_portfolio_t *p = nd_engine_portfolio(r->engine);
    json_object_set_new(o, "bars", json_integer(es->bars));
    json_object_set_new(o, "trades", json_integer(r->trade_stats.trades));
    json_object_set_new(o, "fills", json_integer(es->fills));
    json_object_set_new(o, "final_equity", money(r->final_equity));
    json_object_set_new(o, "total_return", real_or_null(m->total_return));
    json_object_set_new(o, "annual_return", real_or_null(m->annual_return));
    json_object_set_new(o, "sharpe", real_or_null(m->sharpe));
    json_object_set_new(o, "sortino", real_or_null(m->sortino));
    json_object_set_new(o, "max_drawdown", real_or_null(m->max_drawdown));
    json_object_set_new(o, "calmar", real_or_null(m->calmar));
    json_object_set_new(o, "var", real_or_null(m->var));
    json_object_set_new(o, "cvar", real_or_null(m->cvar));
    json_object_set_new(o, "win_rate", real_or_null(r->trade_stats.win_rate));
    json_object_set_new(o, "profit_factor", real_or_null(r->trade_stats.profit_factor));
    json_object_set_new(o, "fees", money(nd_portfolio_fees(p)));
    json_object_set_new(o, "breaker_events", breakers_json(nd_engine_risk(r->engine)));
    nd_halt_summary_t h;
    nd_backtest_halt_summary(r, &h);
    json_object_set_new(o, "halted", json_boolean(h.halted_at_end));
    json_object_set_new(o, "halted_at", h.halted_at_end ? nd_json_time(h.trip.ts_ns) : json_null());
    json_object_set_new(o, "halted_by", h.halted_at_end ? json_string(nd_breaker_kind_name(h.trip.kind))
                                                        : json_null());
    json_object_set_new(o, "halted_bars", json_integer(h.halted_bars));
}

static void add_details(json_t *o, const nd_backtest_result_t *r)
{
    const nd_metrics_t *m = &r->metrics;
    const nd_engine_stats_t *es = nd_engine_stats(r->engine);
    nd_portfolio_t *p = nd_engine_portfolio(r->engine);
    json_object_set_new(o, "annual_volatility", real_or_null(m->annual_volatility));
    json_object_set_new(o, "omega", real_or_null(m->omega));
    json_object_set_new(o, "tail_ratio", real_or_null(m->tail_ratio));
    json_object_set_new(o, "downside_risk", real_or_null(m->downside_risk));
    json_object_set_new(o, "stability", real_or_null(m->stability));
    json_t *dd = json_object();
    json_object_set_new(dd, "peak_bar", json_integer(m->drawdown.peak_index));
    json_object_set_new(dd, "trough_bar", json_integer(m->drawdown.trough_index));
    json_object_set_new(dd, "recovery_bar", m->drawdown.recovery_index >= 0
                                                ? json_integer(m->drawdown.recovery_index)
                                                : json_null());
    json_object_set_new(dd, "duration_bars", json_integer(m->drawdown.duration_periods));
    json_object_set_new(o, "max_drawdown_detail", dd);
    json_object_set_new(o, "exposure", real_or_null(r->trade_stats.exposure));
    json_object_set_new(o, "avg_holding_hours", real_or_null(r->trade_stats.avg_holding_hours));
    json_object_set_new(o, "periods_per_year", json_real(r->metrics_cfg.periods_per_year));
    json_object_set_new(o, "initial_cash", money(nd_portfolio_initial_cash(p)));
    json_object_set_new(o, "final_equity_exact", money_exact(r->final_equity));
    json_object_set_new(o, "fees_exact", money_exact(nd_portfolio_fees(p)));
    json_object_set_new(o, "cash_exact", money_exact(nd_portfolio_cash(p)));
    json_object_set_new(o, "first_bar", es->bars ? nd_json_time(es->first_ts_ns) : json_null());
    json_object_set_new(o, "last_bar", es->bars ? nd_json_time(es->last_ts_ns) : json_null());
    json_t *orders = json_object();
    json_object_set_new(orders, "submitted", json_integer(es->orders_submitted));
    json_object_set_new(orders, "accepted", json_integer(es->orders_accepted));
    json_object_set_new(orders, "rejected", json_integer(es->orders_rejected));
    json_object_set_new(orders, "cancelled", json_integer(es->orders_cancelled));
    json_object_set_new(o, "orders", orders);
    json_object_set_new(o, "rejects", rejects_json(r->engine));
    json_object_set_new(o, "halted", json_boolean(nd_engine_risk(r->engine)->halted));
}

static json_t *levels_json(const nd_book_t *book, nd_book_side_t side, const nd_instrument_t *inst)
{
    nd_book_level_t top[5];
    uint32_t n = nd_book_top(book, side, top, 5);
    json_t *a = json_array();
    for (uint32_t k = 0; k < n; k++) {
        char px[40], qty[40];
        nd_fixed_format(top[k].px, inst->px_decimals, px, sizeof px);
        nd_fixed_format(top[k].qty, inst->qty_decimals, qty, sizeof qty);
        json_array_append_new(a, json_pack("[s,s]", px, qty));
    }
    return a;
}

/* Event-level runs: the inputs, the L2 venue's facts and counters, the replayed book. */
static json_t *events_json(const nd_backtest_config_t *cfg, const nd_backtest_result_t *r)
{
    const nd_engine_stats_t *es = nd_engine_stats(r->engine);
    const nd_tick_inputs_t *in = &cfg->ticks;
    json_t *o = json_object();
    json_object_set_new(o, "events", json_integer(es->events));
    json_object_set_new(o, "order_updates", json_integer(es->order_updates));
    json_object_set_new(o, "halted_events", json_integer(es->halted_events));
    if (in->trades_path)
        json_object_set_new(o, "trades", json_string(in->trades_path));
    if (in->quotes_path)
        json_object_set_new(o, "quotes", json_string(in->quotes_path));
    if (in->depth_dir)
        json_object_set_new(o, "depth", json_string(in->depth_dir));
    json_object_set_new(o, "synthetic_l2", json_boolean(in->synthetic));
    const nd_exec_venue_t *v = nd_l2sim_exec_venue(r->l2);
    nd_l2sim_stats_t st;
    nd_l2sim_stats(nd_l2sim_exec_sim(r->l2), &st);
    json_object_set_new(o, "venue",
                        json_pack("{s:s,s:f,s:f,s:I,s:I,s:s,s:I,s:I,s:I}", "name", v->facts.name,
                                  "maker_fee_bps", (double)v->facts.maker_fee_bps_e2 / 100.0,
                                  "taker_fee_bps", (double)v->facts.taker_fee_bps_e2 / 100.0,
                                  "entry_latency_ns", (json_int_t)v->facts.order_entry_latency_ns,
                                  "ack_latency_ns", (json_int_t)v->facts.ack_latency_ns,
                                  "queue_model",
                                  in->venue.queue_model == ND_L2SIM_QUEUE_PROPORTIONAL
                                      ? "proportional" : "risk-averse",
                                  "maker_fills", (json_int_t)st.maker_fills, "taker_fills",
                                  (json_int_t)st.taker_fills, "venue_cancels",
                                  (json_int_t)st.cancels));
    int64_t update_id = 0;
    const nd_book_t *book = nd_engine_book(r->engine, 0, &update_id);
    if (book) {
        const nd_instrument_t *inst = nd_engine_instrument(r->engine, 0);
        json_object_set_new(o, "book",
                            json_pack("{s:I,s:i,s:i,s:o,s:o}", "update_id", (json_int_t)update_id,
                                      "bid_levels", (int)nd_book_levels(book, ND_BOOK_BID),
                                      "ask_levels", (int)nd_book_levels(book, ND_BOOK_ASK),
                                      "top5_bids", levels_json(book, ND_BOOK_BID, inst),
                                      "top5_asks", levels_json(book, ND_BOOK_ASK, inst)));
    }
    return o;
}

/* Every instrument of a multi-instrument run: file, symbol and where its rules came from. */
static json_t *instruments_json(const nd_backtest_config_t *cfg, const nd_backtest_result_t *r)
{
    json_t *list = json_array();
    for (uint32_t k = 0; k < r->instrument_count; k++) {
        const nd_instrument_t *inst = nd_engine_instrument(r->engine, k);
        const char *path = k == 0 ? cfg->data_path : cfg->more[k - 1].data_path;
        const char *from = k == 0 ? cfg->symbol_source : cfg->more[k - 1].symbol_source;
        json_t *o = json_object();
        json_object_set_new(o, "path", json_string(path));
        json_object_set_new(o, "symbol", json_string(inst->symbol));
        if (from)
            json_object_set_new(o, "symbol_source", json_string(from));
        json_object_set_new(o, "rules_source", json_string(cfg->rules[k].source
                                                               ? cfg->rules[k].source
                                                               : "defaults and options"));
        json_array_append_new(list, o);
    }
    return list;
}

void nd_backtest_view_json(json_t *obj, const nd_bar_view_t *view)
{
    ND_ASSERT(obj != NULL && view != NULL);
    if (view->timeframe_ns > 0)
        json_object_set_new(obj, "timeframe_s", json_integer(view->timeframe_ns / ND_NS_PER_SEC));
    if (view->range.start_ns == 0 && view->range.end_ns == 0)
        return;
    json_t *range = json_object();
    char text[32];
    if (view->range.start_ns > 0 && nd_time_format_iso(view->range.start_ns, text, sizeof text))
        json_object_set_new(range, "start", json_string(text));
    if (view->range.end_ns > 0 && nd_time_format_iso(view->range.end_ns, text, sizeof text))
        json_object_set_new(range, "end_excluded", json_string(text));
    json_object_set_new(obj, "timerange", range);
}

json_t *nd_backtest_result_json(const nd_backtest_config_t *cfg, const nd_backtest_result_t *r)
{
    ND_ASSERT(cfg != NULL && r != NULL);
    ND_ASSERT(r->engine != NULL);
    json_t *o = json_object();
    add_headline(o, r);
    add_details(o, r);
    json_object_set_new(o, "strategies", strategies_json(r->engine, r->instrument_count));
    json_object_set_new(o, "by_asset", by_asset_json(r->engine, r->instrument_count));
    json_object_set_new(o, "by_venue", by_venue_json(r->engine));
    json_object_set_new(o, "risk_limits", risk_json(&cfg->engine));
    json_t *src = json_object();
    if (r->l2) {
        json_object_set_new(o, "event_level", events_json(cfg, r));
        json_object_set_new(src, "kind", json_string(r->synthetic ? "synthetic-l2" : "events"));
    } else {
        json_object_set_new(src, "kind", json_string(r->synthetic ? "synthetic" : "file"));
    }
    if (r->synthetic)
        json_object_set_new(src, "seed", json_integer((json_int_t)r->seed));
    else if (cfg->data_path)
        json_object_set_new(src, "path", json_string(cfg->data_path));
    json_object_set_new(src, "symbol", json_string(cfg->symbol));
    nd_backtest_view_json(src, &cfg->view);
    if (cfg->symbol_source)
        json_object_set_new(src, "symbol_source", json_string(cfg->symbol_source));
    if (cfg->rules[0].source)
        json_object_set_new(src, "rules_source", json_string(cfg->rules[0].source));
    if (r->instrument_count > 1)
        json_object_set_new(src, "instruments", instruments_json(cfg, r));
    json_object_set_new(o, "data", src);
    return o;
}
