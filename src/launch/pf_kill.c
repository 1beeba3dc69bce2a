/* pf_kill.c: the kill_switch check (docs/launcher.md): the engine is built from the config
 * (capital, sizing, risk limits, fees, the paper venue's latencies, the symbols' rules) with a
 * probe strategy in place of the configured ones; the probe buys about 1% of the capital on a
 * synthetic book of the L2 simulated venue; then the kill switch fires and the check wants the
 * engine halted, its working orders gone and the position flattened within a bounded number of
 * events. Nothing reaches the venue. */
#include "launch_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/backtest.h"
#include "noderr/engine.h"
#include "noderr/fixed.h"
#include "noderr/portfolio.h"
#include "noderr/risk.h"

#include <stdio.h>
#include <string.h>

#define PROBE_EVENTS 50        /* events before and after the kill, 10 ms apart */
#define PROBE_STEP_NS (10 * ND_NS_PER_MS)

static const nd_param_def_t probe_params[] = {
    {"qty", ND_PARAM_INT, 1, 1e15, 1, 0, "quantity units to buy", NULL, 0},
};

static size_t probe_state_size(const double *params)
{
    (void)params;
    return sizeof(int64_t);
}

static nd_err_t probe_start(void *state, const double *params, uint32_t instrument_id,
                            nd_strategy_ctx_t *ctx)
{
    (void)instrument_id;
    (void)ctx;
    *(int64_t *)state = (int64_t)params[0];
    return ND_OK;
}

/* Buys params.qty at market on the first quote, once. */
static void probe_quote(void *state, const nd_quote_tick_t *q, nd_strategy_ctx_t *ctx)
{
    int64_t *qty = state;
    if (*qty <= 0)
        return;
    nd_order_intent_t in = {.instrument_id = q->instrument_id, .side = ND_SIDE_BUY,
                            .type = ND_ORDER_MARKET, .qty = *qty};
    uint64_t id;
    ctx->submit(ctx, &in, &id);
    *qty = 0;
}

static const nd_strategy_def_t probe_def = {
    .name = "preflight_probe",
    .summary = "buys once, for the kill switch's dry fire",
    .params = probe_params,
    .param_count = 1,
    .state_size = probe_state_size,
    .on_start = probe_start,
    .on_quote = probe_quote,
};

/* The probe's quantity: ~1% of the capital at price px, in whole lots (at least one). */
static int64_t probe_qty(const nd_instrument_t *inst, int64_t cash, int64_t px)
{
    __int128 pow_px = 1, pow_qty = 1, pow_cash = 1;
    for (int k = 0; k < inst->px_decimals; k++)
        pow_px *= 10;
    for (int k = 0; k < inst->qty_decimals; k++)
        pow_qty *= 10;
    for (int k = 0; k < ND_CASH_DECIMALS; k++)
        pow_cash *= 10;
    __int128 qty = (__int128)(cash / 100) * pow_px * pow_qty / ((__int128)px * pow_cash);
    qty -= qty % inst->lot_size;
    return qty > 0 && qty < INT64_MAX / 1000 ? (int64_t)qty : inst->lot_size;
}

typedef struct dry_fire {
    nd_event_run_t *run;
    int64_t t, px, qty_book;
    uint64_t seq;
    uint32_t instrument_id;
} dry_fire_t;

/* Pushes up to count quotes; with until_flat, stops once the engine is flat with nothing
 * working. */
static nd_err_t push_quotes(dry_fire_t *d, int count, bool until_flat, char *why, size_t why_len)
{
    const nd_instrument_t *inst = nd_event_run_instrument(d->run, d->instrument_id);
    nd_engine_t *e = nd_event_run_engine(d->run);
    for (int k = 0; k < count; k++) {
        if (until_flat && nd_portfolio_net_qty(nd_engine_portfolio(e), d->instrument_id) == 0 &&
            nd_engine_working_count(e) == 0)
            return ND_OK;
        d->t += PROBE_STEP_NS;
        nd_market_event_t ev = {.kind = ND_MARKET_QUOTE, .source = 1, .seq = d->seq++};
        ev.u.quote = (nd_quote_tick_t){.ts_ns = d->t, .instrument_id = d->instrument_id,
                                       .bid_px = d->px - inst->tick_size, .bid_qty = d->qty_book,
                                       .ask_px = d->px, .ask_qty = d->qty_book};
        nd_err_t rc = nd_event_run_push(d->run, &ev, why, why_len);
        if (rc != ND_OK)
            return rc;
    }
    return ND_OK;
}

/* Runs the dry fire on an open run; writes the verdict into out. */
static void dry_fire(nd__pf_t *pf, nd_event_run_t *run, nd_preflight_outcome_t *out)
{
    nd_engine_t *e = nd_event_run_engine(run);
    const nd_instrument_t *inst = nd_event_run_instrument(run, 0);
    dry_fire_t d = {.run = run, .t = nd_clock_now_ns(pf->env->clock),
                    .px = inst->tick_size * 10000};
    int64_t cash = pf->cfg->bt.engine.initial_cash;
    int64_t qty = probe_qty(inst, cash, d.px);
    d.qty_book = qty * 100;
    char why[256] = "";
    nd_err_t rc = push_quotes(&d, PROBE_EVENTS, false, why, sizeof why);
    int64_t held = nd_portfolio_net_qty(nd_engine_portfolio(e), 0);
    if (rc == ND_OK && held <= 0) {
        nd__pf_set(out, ND_PF_FAIL, "check capital, sizing and the risk limits against the "
                   "symbol's rules", "the probe's buy did not fill (%lld rejected): nothing to "
                   "flatten", (long long)nd_engine_stats(e)->orders_rejected);
        return;
    }
    if (rc == ND_OK)
        rc = nd_engine_kill(e);
    int64_t fired_at = d.t;
    if (rc == ND_OK)
        rc = push_quotes(&d, PROBE_EVENTS, true, why, sizeof why);
    const nd_risk_t *risk = nd_engine_risk(e);
    int64_t left = nd_portfolio_net_qty(nd_engine_portfolio(e), 0);
    uint32_t working = nd_engine_working_count(e);
    if (rc != ND_OK)
        nd__pf_set(out, ND_PF_FAIL, "report it: the engine refused the dry fire", "%s",
                   why[0] ? why : nd_strerror(rc));
    else if (!risk->halted || !risk->kill_switch || left != 0 || working != 0)
        nd__pf_set(out, ND_PF_FAIL, "do not trade: the kill switch does not stop this engine",
                   "after the kill: halted %s, position %lld units, %u working orders",
                   risk->halted ? "yes" : "no", (long long)left, working);
    else {
        char text[32];
        nd_fixed_format(held, inst->qty_decimals, text, sizeof text);
        nd__pf_set(out, ND_PF_PASS, NULL, "dry fire on the simulated venue: bought %s %s, kill: "
                   "halted, no working order, flat %lld ms of venue time later", text,
                   inst->symbol, (long long)((d.t - fired_at) / ND_NS_PER_MS));
    }
}

void nd__pf_kill_switch(nd__pf_t *pf, nd_preflight_outcome_t *out)
{
    nd_backtest_config_t *bt = nd_alloc(sizeof *bt);
    if (!bt) {
        nd__pf_set(out, ND_PF_FAIL, NULL, "out of memory");
        return;
    }
    *bt = pf->cfg->bt;
    memset(bt->strategies, 0, sizeof bt->strategies);
    bt->strategies[0].def = &probe_def;
    bt->strategies[0].params[0] = 1; /* one unit until the instrument's scales are known */
    bt->strategies[0].weight_e6 = 1000000;
    bt->strategy_count = 1;
    char why[256] = "";
    /* The symbols' rules: the config's, else the venue's exchangeInfo when it was read. */
    if (!bt->rules[0].source && pf->info)
        (void)nd_backtest_rules_parse(bt, pf->info, pf->info_len, pf->info_url, why, sizeof why);
    nd_backtest_result_t result;
    memset(&result, 0, sizeof result);
    nd_event_run_t *run = NULL;
    nd_err_t rc = nd_event_run_open(bt, &result, &run, why, sizeof why);
    if (rc == ND_OK) {
        const nd_instrument_t *inst = nd_event_run_instrument(run, 0);
        int64_t px = inst->tick_size * 10000;
        bt->strategies[0].params[0] = (double)probe_qty(inst, bt->engine.initial_cash, px);
        /* the probe reads its quantity at start: reopen with it set */
        nd_event_run_close(run, why, sizeof why);
        nd_backtest_result_free(&result);
        memset(&result, 0, sizeof result);
        run = NULL;
        rc = nd_event_run_open(bt, &result, &run, why, sizeof why);
    }
    if (rc != ND_OK)
        nd__pf_set(out, ND_PF_FAIL, "fix the config's engine settings",
                   "cannot build the engine from the config: %s", why[0] ? why : nd_strerror(rc));
    else
        dry_fire(pf, run, out);
    nd_event_run_close(run, why, sizeof why);
    nd_backtest_result_free(&result);
    nd_free(bt);
}
