/* backtest.c: the backtest driver: bar source -> simulated clock -> engine, collecting the
 * return series, the equity curve and the round trips, then the metrics and trade statistics.
 *
 * Memory: the engine's loop does not grow with the bars; the driver keeps one double per bar
 * for the exact quantile metrics (VaR, CVaR, tail ratio), and the equity curve only when asked. */
#include "noderr/backtest.h"
#include "backtest_int.h"
#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/fixed.h"
#include "noderr/log.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void nd_backtest_config_default(nd_backtest_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->format = ND_BAR_FORMAT_AUTO;
    strcpy(cfg->symbol, "BTC/USDT");
    cfg->px_decimals = -1;
    cfg->qty_decimals = -1;
    cfg->min_notional = -1;
    nd_synth_config_default(&cfg->synth);
    nd_engine_config_default(&cfg->engine);
    cfg->cutoff = 0.05;
    nd_synth_ticks_config_default(&cfg->ticks.synth);
    nd_l2sim_config_default(&cfg->ticks.venue);
    cfg->ticks.sample_ns = 60 * ND_NS_PER_SEC;
}

bool nd_backtest_is_event_level(const nd_backtest_config_t *cfg)
{
    const nd_tick_inputs_t *t = &cfg->ticks;
    return t->trades_path || t->quotes_path || t->depth_dir || t->synthetic;
}

static void write_trade(FILE *out, const nd_engine_t *e, const nd_trade_t *t)
{
    const nd_instrument_t *inst = nd_engine_instrument(e, t->instrument_id);
    char entry_px[32], exit_px[32], qty[32], pnl[32], fees[32];
    nd_fixed_format(t->entry_px, inst->px_decimals, entry_px, sizeof entry_px);
    nd_fixed_format(t->exit_px, inst->px_decimals, exit_px, sizeof exit_px);
    nd_fixed_format(t->qty, inst->qty_decimals, qty, sizeof qty);
    nd_fixed_format(t->pnl, ND_CASH_DECIMALS, pnl, sizeof pnl);
    nd_fixed_format(t->fees, ND_CASH_DECIMALS, fees, sizeof fees);
    fprintf(out, "%s,%s,%s,%lld,%lld,%s,%s,%s,%s,%s\n",
            nd_engine_strategy_def(e, t->strategy_index)->name, inst->symbol,
            t->direction > 0 ? "long" : "short", (long long)(t->entry_ns / ND_NS_PER_MS),
            (long long)(t->exit_ns / ND_NS_PER_MS), qty, entry_px, exit_px, pnl, fees);
}

void nd__backtest_on_trade(void *ctx, const nd_trade_t *trade)
{
    run_ctx_t *rc = ctx;
    nd_backtest_result_t *r = rc->result;
    nd_trade_t *t = nd_array_push(&r->trades, &r->trade_capacity, &r->trade_count, sizeof *t, 64);
    if (!t) {
        rc->failure = ND_ENOMEM;
        return;
    }
    *t = *trade;
    if (rc->cfg->trades_out)
        write_trade(rc->cfg->trades_out, r->engine, trade);
}

nd_err_t nd__backtest_on_event(void *ctx, const nd_event_t *event)
{
    run_ctx_t *rc = ctx;
    return rc->cfg->tap.on_event(rc->cfg->tap.ctx, event);
}

/* (double)v bit for bit, mostly without libgcc's __floattidf (nd_i128_to_double, fixed.h):
 * equities below 2^73 ext units convert in a few instructions. */
static inline double ext_to_double(__int128 v)
{
    return nd_i128_to_double(v);
}

void nd__backtest_begin(run_ctx_t *rc, const nd_backtest_config_t *cfg, nd_backtest_result_t *r,
                        const nd_instrument_t *inst, uint32_t inst_count,
                        void (*on_bar_done)(void *, const nd_bar_t *, __int128, bool))
{
    nd_portfolio_t *p = nd_engine_portfolio(r->engine);
    *rc = (run_ctx_t){cfg, r, inst, (double)nd_portfolio_equity_ext(p), 0.0,
                      nd_portfolio_ext_decimals(p), ND_OK, inst_count, false, 0, 0};
    rc->ext_scale = pow(10.0, rc->ext_decimals);
    nd_engine_listener_t listener = {cfg->tap.on_event ? nd__backtest_on_event : NULL, on_bar_done,
                                     nd__backtest_on_trade, rc};
    nd_engine_set_listener(r->engine, &listener);
    if (cfg->equity_out)
        fprintf(cfg->equity_out, "ts,equity\n");
    if (cfg->trades_out)
        fprintf(cfg->trades_out,
                "strategy,symbol,direction,entry_ts,exit_ts,qty,entry_px,exit_px,pnl,fees\n");
}

void nd__backtest_record_equity(run_ctx_t *rc, int64_t ts_ns, __int128 equity_ext)
{
    double equity = ext_to_double(equity_ext);
    if (nd_series_push(&rc->result->returns, equity / rc->prev_equity - 1.0) != ND_OK)
        rc->failure = ND_ENOMEM;
    rc->prev_equity = equity;
    if (rc->cfg->keep_equity) {
        if (nd_series_push(&rc->result->equity, equity / rc->ext_scale) != ND_OK ||
            nd_series_push(&rc->result->equity_ts, (double)(ts_ns / ND_NS_PER_MS)) != ND_OK)
            rc->failure = ND_ENOMEM;
    }
    if (rc->cfg->equity_out) {
        int64_t eq = 0;
        char text[32];
        nd_fixed_div128(equity_ext, nd_pow10(rc->ext_decimals - ND_CASH_DECIMALS),
                        ND_ROUND_HALF_EVEN, &eq);
        nd_fixed_format(eq, ND_CASH_DECIMALS, text, sizeof text);
        fprintf(rc->cfg->equity_out, "%lld,%s\n", (long long)(ts_ns / ND_NS_PER_MS), text);
    }
}

/* One return per bar time, not per bar: with several instruments the bars of one open time are
 * one period, recorded after the last of them (with one instrument, every bar at once). */
static void on_bar_done(void *ctx, const nd_bar_t *bar, __int128 equity_ext, bool in_market)
{
    run_ctx_t *rc = ctx;
    if (rc->cfg->tap.on_bar_done)
        rc->cfg->tap.on_bar_done(rc->cfg->tap.ctx, bar, equity_ext, in_market);
    if (rc->instrument_count <= 1) {
        nd__backtest_record_equity(rc, bar->ts_ns, equity_ext);
        return;
    }
    if (rc->pending && bar->ts_ns != rc->pending_ts_ns)
        nd__backtest_record_equity(rc, rc->pending_ts_ns, rc->pending_equity_ext);
    rc->pending = true;
    rc->pending_ts_ns = bar->ts_ns;
    rc->pending_equity_ext = equity_ext;
}

/* Strategies without an explicit weight share what the weighted ones leave, equally. */
static nd_err_t resolve_weights(const nd_backtest_config_t *cfg, int64_t *weights, char *err,
                                size_t err_len)
{
    int64_t fixed = 0;
    uint32_t unweighted = 0;
    for (uint32_t s = 0; s < cfg->strategy_count; s++) {
        fixed += cfg->strategies[s].weight_e6;
        unweighted += cfg->strategies[s].weight_e6 == 0;
    }
    if (fixed > 1000000 || (unweighted > 0 && fixed >= 1000000)) {
        snprintf(err, err_len, "strategy weights add up to more than 1");
        return ND_EINVAL;
    }
    for (uint32_t s = 0; s < cfg->strategy_count; s++)
        weights[s] = cfg->strategies[s].weight_e6
                         ? cfg->strategies[s].weight_e6
                         : (1000000 - fixed) / (int64_t)unweighted;
    return ND_OK;
}

nd_err_t nd__backtest_build_engine(const nd_backtest_config_t *cfg,
                                   const nd_engine_config_t *engine_cfg,
                                   const nd_instrument_t *insts, uint32_t inst_count,
                                   nd_clock_t *clock, nd_backtest_result_t *r, char *err,
                                   size_t err_len)
{
    ND_ASSERT(inst_count >= 1 && inst_count <= ND_BACKTEST_ASSETS_MAX);
    if (cfg->strategy_count == 0) {
        snprintf(err, err_len, "no strategy given (use --strategy NAME)");
        return ND_EINVAL;
    }
    uint32_t slots = 0;
    for (uint32_t s = 0; s < cfg->strategy_count; s++)
        slots += cfg->strategies[s].instrument_mask
                     ? (uint32_t)__builtin_popcount(cfg->strategies[s].instrument_mask &
                                                    (inst_count < 32 ? (1u << inst_count) - 1
                                                                     : ~0u))
                     : inst_count;
    if (slots > ND_STRATEGIES_MAX) {
        snprintf(err, err_len, "%u strategies on %u instruments are %u runs; at most %d",
                 cfg->strategy_count, inst_count, slots, ND_STRATEGIES_MAX);
        return ND_EINVAL;
    }
    int64_t weights[ND_STRATEGIES_MAX];
    nd_err_t rc = resolve_weights(cfg, weights, err, err_len);
    if (rc == ND_OK)
        rc = nd_engine_create(engine_cfg, insts, inst_count, clock, &r->engine, err, err_len);
    r->instrument_count = inst_count;
    /* Strategy-major: slot s * inst_count + k is strategy s on instrument k; a strategy with an
     * instrument mask takes its instruments only (slots stay in that order, its weight split
     * among them). */
    for (uint32_t s = 0; rc == ND_OK && s < cfg->strategy_count; s++) {
        uint32_t mask = cfg->strategies[s].instrument_mask, on = 0;
        for (uint32_t k = 0; k < inst_count; k++)
            on += !mask || (mask >> k & 1u);
        if (on == 0) {
            snprintf(err, err_len, "strategy %u runs on no instrument", s);
            rc = ND_EINVAL;
        }
        for (uint32_t k = 0; rc == ND_OK && k < inst_count; k++)
            if (!mask || (mask >> k & 1u))
                rc = nd_engine_add_strategy(r->engine, cfg->strategies[s].def,
                                            cfg->strategies[s].params, k,
                                            weights[s] / (int64_t)on, err, err_len);
    }
    if (rc == ND_OK)
        rc = nd_engine_start(r->engine, err, err_len);
    return rc;
}

/* Opens every instrument's file through the view and merges them in time order. */
static nd_err_t open_files(const nd_backtest_config_t *cfg, const nd_instrument_t *insts,
                           nd_bar_source_t **src, char *err, size_t err_len)
{
    nd_bar_source_t *each[ND_BACKTEST_ASSETS_MAX];
    uint32_t count = 1 + cfg->more_count;
    nd_err_t rc = ND_OK;
    uint32_t opened = 0;
    for (; rc == ND_OK && opened < count; opened++) {
        const char *path = opened == 0 ? cfg->data_path : cfg->more[opened - 1].data_path;
        rc = nd_bars_open_view(path, cfg->format, &insts[opened], &cfg->view, &each[opened], err,
                               err_len);
    }
    if (rc != ND_OK) {
        for (uint32_t k = 0; k + 1 < opened; k++)
            each[k]->close(each[k]);
        return rc;
    }
    return nd_bars_merge(each, count, src, err, err_len);
}

static nd_err_t open_source(const nd_backtest_config_t *cfg, const nd_instrument_t *inst,
                            nd_backtest_result_t *r, nd_bar_source_t **src, char *err,
                            size_t err_len)
{
    if (cfg->source) {
        *src = cfg->source;
        return ND_OK;
    }
    if (cfg->data_path && cfg->more_count > 0)
        return open_files(cfg, inst, src, err, err_len);
    if (cfg->data_path)
        return nd_bars_open_view(cfg->data_path, cfg->format, inst, &cfg->view, src, err, err_len);
    r->synthetic = true;
    r->seed = cfg->synth.seed;
    nd_err_t rc = nd_synth_open(&cfg->synth, inst, src, err, err_len);
    return rc != ND_OK ? rc : nd_bars_view(*src, &cfg->view, "the synthetic market", src, err,
                                           err_len);
}

nd_err_t nd__backtest_engine_rc(nd_err_t rc, char *err, size_t err_len)
{
    if (rc == ND_EIO)
        snprintf(err, err_len, "a listener could not record an event: trading halted");
    else if (rc != ND_OK)
        snprintf(err, err_len, "engine stopped: %s", nd_strerror(rc));
    return rc;
}

/* Bars go to the engine in batches of up to RUN_BATCH (nd_engine_on_bars: runs of quiet bars
 * take its batched step), read ahead from the source; the results are those of one
 * nd_engine_on_bar a bar. A recording failure stops the run at the end of its batch. */
#define RUN_BATCH 256

static nd_err_t run_batch(nd_clock_sim_t *clock, nd_engine_t *engine, const nd_bar_t *bars,
                          size_t count, run_ctx_t *ctx, char *err, size_t err_len)
{
    size_t done = 0;
    nd_err_t rc = nd__backtest_engine_rc(nd_engine_on_bars(engine, clock, bars, count, &done),
                                         err, err_len);
    if (rc != ND_OK)
        return rc;
    ND_ASSERT(done == count);
    if (ctx->failure != ND_OK) {
        snprintf(err, err_len, "out of memory while recording the run");
        return ctx->failure;
    }
    return ND_OK;
}

static nd_err_t run_loop(nd_bar_source_t *src, nd_clock_sim_t *clock, nd_engine_t *engine,
                         run_ctx_t *ctx, char *err, size_t err_len)
{
    nd_bar_t batch[RUN_BATCH];
    size_t n = 0;
    int64_t prev_ts = nd_clock_now_ns(&clock->clock);
    nd_err_t rc;
    while ((rc = src->next(src, &batch[n])) == ND_OK) {
        if (batch[n].ts_ns < prev_ts) {
            /* The bars before it run first, as they would have one by one. */
            if ((rc = run_batch(clock, engine, batch, n, ctx, err, err_len)) != ND_OK)
                return rc;
            snprintf(err, err_len, "bars out of time order");
            return ND_EINVAL;
        }
        prev_ts = batch[n].ts_ns;
        if (++n == RUN_BATCH) {
            if ((rc = run_batch(clock, engine, batch, n, ctx, err, err_len)) != ND_OK)
                return rc;
            n = 0;
        }
    }
    nd_err_t brc = run_batch(clock, engine, batch, n, ctx, err, err_len);
    if (brc != ND_OK)
        return brc;
    if (rc != ND_EEOF) {
        snprintf(err, err_len, "%s", src->err);
        return rc;
    }
    return ND_OK;
}

void nd_trade_stats_add(nd_trade_stats_t *ts, const nd_trade_t *trade)
{
    ND_ASSERT(ts != NULL && trade != NULL);
    ts->trades++;
    if (trade->pnl > 0) {
        ts->winners++;
        ts->gross_profit += trade->pnl;
    } else if (trade->pnl < 0) {
        ts->gross_loss -= trade->pnl;
    }
}

static void compute_trade_stats(nd_backtest_result_t *r)
{
    nd_trade_stats_t *ts = &r->trade_stats;
    const nd_engine_stats_t *es = nd_engine_stats(r->engine);
    memset(ts, 0, sizeof *ts);
    double held_ns = 0;
    for (size_t k = 0; k < r->trade_count; k++) {
        const nd_trade_t *t = &r->trades[k];
        nd_trade_stats_add(ts, t);
        held_ns += (double)(t->exit_ns - t->entry_ns);
    }
    ts->win_rate = ts->trades ? (double)ts->winners / (double)ts->trades : NAN;
    ts->profit_factor = ts->gross_loss > 0 ? (double)ts->gross_profit / (double)ts->gross_loss : NAN;
    ts->avg_holding_hours = ts->trades ? held_ns / (double)ts->trades / (double)ND_NS_PER_HOUR : NAN;
    ts->exposure = es->bars ? (double)es->bars_in_market / (double)es->bars : NAN;
}

/* Fills the metrics settings, final equity and trade statistics, then computes the metrics. */
nd_err_t nd__backtest_finish_metrics(const nd_backtest_config_t *cfg, nd_backtest_result_t *r,
                                     char *err, size_t err_len)
{
    nd_metrics_config_t *mc = &r->metrics_cfg;
    nd_metrics_config_default(mc);
    const nd_engine_stats_t *es = nd_engine_stats(r->engine);
    if (cfg->periods_per_year > 0)
        mc->periods_per_year = cfg->periods_per_year;
    else if (es->interval_ns > 0)
        mc->periods_per_year = nd_periods_per_year(es->interval_ns);
    else if (es->events > 0 && cfg->ticks.sample_ns > 0)
        mc->periods_per_year = nd_periods_per_year(cfg->ticks.sample_ns); /* equity samples */
    mc->risk_free = cfg->risk_free;
    mc->required_return = cfg->required_return;
    if (cfg->cutoff > 0)
        mc->cutoff = cfg->cutoff;
    r->final_equity = nd_portfolio_equity(nd_engine_portfolio(r->engine));
    compute_trade_stats(r);
    nd_err_t rc = nd_metrics_compute(r->returns.values, r->returns.count, mc, &r->metrics);
    if (rc != ND_OK)
        snprintf(err, err_len, "metrics: %s", nd_strerror(rc));
    return rc;
}

/* A rule published at 8 decimals in units of 10^-decimals, exactly; ND_EPRECISION when it has
 * more places than the scale holds. */
static nd_err_t rule_units(int64_t value_e8, int decimals, int64_t *out)
{
    if (decimals >= 8)
        return nd_fixed_rescale(value_e8, 8, decimals, ND_ROUND_TRUNC, out);
    int64_t div = nd_pow10(8 - decimals);
    if (value_e8 % div != 0)
        return ND_EPRECISION;
    *out = value_e8 / div;
    return ND_OK;
}

/* The exchangeInfo rules of one instrument (cfg->rules), before the explicit options. */
static nd_err_t apply_rules(const nd_instrument_rules_t *rules, nd_instrument_t *inst, char *err,
                            size_t err_len)
{
    if (!rules->source)
        return ND_OK;
    int64_t tick = 0, lot = 0, min_notional = 0;
    if (rule_units(rules->tick_size_e8, inst->px_decimals, &tick) != ND_OK || tick <= 0 ||
        rule_units(rules->lot_size_e8, inst->qty_decimals, &lot) != ND_OK || lot <= 0 ||
        rule_units(rules->min_notional_e8, ND_CASH_DECIMALS, &min_notional) != ND_OK) {
        snprintf(err, err_len, "%s: %s's tick size, step size or minimum notional is zero or has "
                 "more decimals than the instrument's scales (price %d, quantity %d)",
                 rules->source, inst->symbol, inst->px_decimals, inst->qty_decimals);
        return ND_EINVAL;
    }
    inst->tick_size = tick;
    inst->lot_size = lot;
    inst->min_notional = min_notional;
    return ND_OK;
}

/* Scales, tick, lot and minimum notional from the config; the defaults are Binance's BTC/USDT
 * filters at 8 decimals. A different scale rescales the default tick and lot; exchangeInfo
 * rules come next, and explicit options last. */
static nd_err_t apply_instrument_overrides(const nd_backtest_config_t *cfg,
                                           const nd_instrument_rules_t *rules,
                                           nd_instrument_t *inst, char *err, size_t err_len)
{
    if (cfg->px_decimals > 12 || cfg->qty_decimals > 12 ||
        (cfg->px_decimals >= 0 && cfg->px_decimals + (cfg->qty_decimals >= 0 ? cfg->qty_decimals
                                                                              : inst->qty_decimals) <
                                      ND_CASH_DECIMALS) ||
        (cfg->qty_decimals >= 0 && cfg->qty_decimals + (cfg->px_decimals >= 0 ? cfg->px_decimals
                                                                              : inst->px_decimals) <
                                       ND_CASH_DECIMALS)) {
        snprintf(err, err_len, "price and quantity decimals must be 0..12 and add up to at least "
                               "%d", ND_CASH_DECIMALS);
        return ND_EINVAL;
    }
    if (cfg->px_decimals >= 0) {
        inst->px_decimals = cfg->px_decimals;
        inst->tick_size = cfg->px_decimals >= 2 ? nd_pow10(cfg->px_decimals - 2) : 1;
    }
    if (cfg->qty_decimals >= 0) {
        inst->qty_decimals = cfg->qty_decimals;
        inst->lot_size = cfg->qty_decimals >= 5 ? nd_pow10(cfg->qty_decimals - 5) : 1;
    }
    if (apply_rules(rules, inst, err, err_len) != ND_OK)
        return ND_EINVAL;
    if (cfg->tick_size > 0)
        inst->tick_size = cfg->tick_size;
    if (cfg->lot_size > 0)
        inst->lot_size = cfg->lot_size;
    if (cfg->min_notional >= 0)
        inst->min_notional = cfg->min_notional;
    return ND_OK;
}

/* The run's instruments: data_path's symbol, then each further one, id = index. */
static nd_err_t init_instruments(const nd_backtest_config_t *cfg, nd_instrument_t *insts,
                                 uint32_t *count, char *err, size_t err_len)
{
    ND_ASSERT(cfg->more_count < ND_BACKTEST_ASSETS_MAX);
    *count = 1 + (nd_backtest_is_event_level(cfg) ? 0 : cfg->more_count);
    for (uint32_t k = 0; k < *count; k++) {
        const char *symbol = k == 0 ? cfg->symbol : cfg->more[k - 1].symbol;
        if (nd_instrument_init(&insts[k], symbol, "sim") != ND_OK) {
            snprintf(err, err_len, "bad symbol '%s' (want BASE/QUOTE, e.g. BTC/USDT)", symbol);
            return ND_EINVAL;
        }
        insts[k].id = k;
        for (uint32_t j = 0; j < k; j++) {
            if (strcmp(insts[j].symbol, insts[k].symbol) == 0) {
                snprintf(err, err_len, "%s twice (%s and %s): one file per symbol", symbol,
                         j == 0 ? cfg->data_path : cfg->more[j - 1].data_path,
                         cfg->more[k - 1].data_path);
                return ND_EINVAL;
            }
        }
        if (apply_instrument_overrides(cfg, &cfg->rules[k], &insts[k], err, err_len) != ND_OK)
            return ND_EINVAL;
    }
    return ND_OK;
}

nd_err_t nd__backtest_prepare(const nd_backtest_config_t *cfg, nd_backtest_result_t *r,
                              nd_instrument_t *insts, uint32_t *count, char *err, size_t err_len)
{
    memset(r, 0, sizeof *r);
    nd_series_init(&r->returns);
    nd_series_init(&r->equity);
    nd_series_init(&r->equity_ts);
    return init_instruments(cfg, insts, count, err, err_len) == ND_OK ? ND_OK : ND_EINVAL;
}

nd_err_t nd_backtest_run(const nd_backtest_config_t *cfg, nd_backtest_result_t *r, char *err,
                         size_t err_len)
{
    ND_ASSERT(cfg != NULL && r != NULL);
    nd_instrument_t insts[ND_BACKTEST_ASSETS_MAX];
    uint32_t inst_count = 0;
    if (nd__backtest_prepare(cfg, r, insts, &inst_count, err, err_len) != ND_OK)
        return ND_EINVAL;
    nd_err_t rc = ND_OK;
    if (nd_backtest_is_event_level(cfg)) {
        rc = nd__backtest_run_ticks(cfg, &insts[0], r, err, err_len);
        if (rc != ND_OK)
            return rc;
        return nd__backtest_finish_metrics(cfg, r, err, err_len);
    }
    for (uint32_t s = 0; s < cfg->strategy_count; s++) {
        if (!cfg->strategies[s].def->on_bar) {
            snprintf(err, err_len, "%s is an event strategy: run it with --trades, --quotes, "
                     "--depth or --synthetic-l2", cfg->strategies[s].def->name);
            return ND_EINVAL;
        }
    }
    nd_clock_sim_t clock;
    nd_clock_sim_init(&clock, 0);
    rc = nd__backtest_build_engine(cfg, &cfg->engine, insts, inst_count, &clock.clock, r, err,
                                   err_len);
    if (rc != ND_OK)
        return rc;
    nd_bar_source_t *src = NULL;
    rc = open_source(cfg, insts, r, &src, err, err_len);
    if (rc != ND_OK)
        return rc;
    run_ctx_t ctx;
    nd__backtest_begin(&ctx, cfg, r, &insts[0], inst_count, on_bar_done);
    nd_log_set_output(NULL, &clock.clock); /* log lines carry simulated time */
    ND_LOG(ND_LOG_INFO, "event=backtest_start source=%s seed=%llu strategies=%u",
           cfg->data_path ? cfg->data_path : "synthetic", (unsigned long long)cfg->synth.seed,
           cfg->strategy_count);
    rc = run_loop(src, &clock, r->engine, &ctx, err, err_len);
    if (rc == ND_OK && ctx.pending)
        nd__backtest_record_equity(&ctx, ctx.pending_ts_ns, ctx.pending_equity_ext);
    ND_LOG(ND_LOG_INFO, "event=backtest_end bars=%lld rc=%s",
           (long long)nd_engine_stats(r->engine)->bars, nd_err_name(rc));
    nd_log_set_output(NULL, NULL); /* the clock lives on this stack frame */
    if (src != cfg->source)
        src->close(src);
    if (rc != ND_OK)
        return rc;
    return nd__backtest_finish_metrics(cfg, r, err, err_len);
}

void nd_backtest_result_free(nd_backtest_result_t *r)
{
    if (!r)
        return;
    nd_engine_destroy(r->engine);
    nd_l2sim_exec_destroy(r->l2); /* after the engine, which borrowed it */
    for (uint32_t k = 0; k + 1 < ND_BACKTEST_ASSETS_MAX; k++)
        nd_l2sim_exec_destroy(r->l2_more[k]);
    nd_series_deinit(&r->returns);
    nd_series_deinit(&r->equity);
    nd_series_deinit(&r->equity_ts);
    nd_free(r->trades);
    memset(r, 0, sizeof *r);
}

void nd_backtest_halt_summary(const nd_backtest_result_t *r, nd_halt_summary_t *out)
{
    ND_ASSERT(r != NULL && out != NULL);
    ND_ASSERT(r->engine != NULL);
    const nd_risk_t *risk = nd_engine_risk(r->engine);
    const nd_engine_stats_t *es = nd_engine_stats(r->engine);
    memset(out, 0, sizeof *out);
    out->halted_at_end = risk->halted;
    out->halted_bars = es->halted_bars;
    out->bars = es->bars;
    out->trips = risk->trips;
    out->halted_share = es->bars > 0 ? (double)es->halted_bars / (double)es->bars : 0.0;
    if (!risk->halted)
        return;
    /* The first kept trip at the halt's start; a halt begun beyond the kept events keeps only
     * its kind and time. */
    out->trip.kind = risk->halt_kind;
    out->trip.ts_ns = risk->halted_since_ns;
    for (uint32_t k = 0; k < risk->event_count; k++) {
        if (risk->events[k].ts_ns == risk->halted_since_ns) {
            out->trip = risk->events[k];
            break;
        }
    }
}

size_t nd_halt_summary_format(const nd_halt_summary_t *h, char *buf, size_t cap)
{
    ND_ASSERT(h != NULL && buf != NULL);
    ND_ASSERT(cap > 0);
    int n = 0;
    buf[0] = '\0';
    if (h->halted_at_end) {
        char ts[40];
        nd_time_format_iso(h->trip.ts_ns, ts, sizeof ts);
        const char *kind = nd_breaker_kind_name(h->trip.kind);
        if (h->trip.threshold_pct_e2 > 0)
            n = snprintf(buf, cap, "halted from %s by %s %.2f%% >= %.2f%%; %lld bars, %.1f%% of the "
                         "run, idle", ts, kind, (double)h->trip.measured_e6 / 1e4,
                         (double)h->trip.threshold_pct_e2 / 100.0, (long long)h->halted_bars,
                         h->halted_share * 100.0);
        else
            n = snprintf(buf, cap, "halted from %s by %s; %lld bars, %.1f%% of the run, idle", ts,
                         kind, (long long)h->halted_bars, h->halted_share * 100.0);
    } else if (h->halted_bars > 0) {
        n = snprintf(buf, cap, "halted %lld bars (%.1f%% of the run) by %lld trip(s), trading at "
                     "the end", (long long)h->halted_bars, h->halted_share * 100.0,
                     (long long)h->trips);
    }
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

void nd_backtest_strategy_names(const nd_backtest_config_t *cfg, char *buf, size_t cap)
{
    ND_ASSERT(cfg != NULL && buf != NULL);
    ND_ASSERT(cap > 0);
    buf[0] = '\0';
    for (uint32_t k = 0; k < cfg->strategy_count; k++) {
        size_t used = strlen(buf);
        snprintf(buf + used, cap - used, "%s%s", k ? " + " : "", cfg->strategies[k].def->name);
    }
}
