/* test_engine_control.c: run-time control of one strategy (engine_control.c): pause and resume,
 * the capital weight, and swapping a strategy version in a slot, by example and as a property
 * over many seeds of random controls interleaved with market events (a paused strategy is never
 * called and never has an order of its own working; the portfolio's books always balance; the
 * weights never add up to more than 1; a replaced version's timers never reach the next one). */
#include <criterion/criterion.h>

#include "noderr/engine.h"
#include "noderr/fixed.h"
#include "noderr/l2sim.h"
#include "noderr/rand.h"
#include "noderr/strategy.h"

#include <string.h>

#define T0 (1609459200LL * ND_NS_PER_SEC)
#define MS 1000000LL

static nd_instrument_t inst;
static int64_t PX, QTY;
static nd_clock_sim_t clock_sim;
static nd_engine_t *engine;
static nd_l2sim_exec_t *l2;

/* The probe strategy: on each quote it replaces a resting buy one tick under the bid, every
 * fifth quote it buys at market and every seventh it sells what it holds; a 100 ms timer
 * re-arms itself. Counters are per version (param "version"), global so the test reads them. */
typedef struct probe_calls {
    int starts, stops, quotes, timers, fills;
    uint64_t last_timer_id;
} probe_calls_t;
static probe_calls_t calls[2];

typedef struct probe_state {
    int version;
    uint32_t instrument_id;
    uint64_t resting;
    int quotes;
} probe_state_t;

static const nd_param_def_t probe_params[] = {
    {"version", ND_PARAM_INT, 0, 1, 0, 1, "which counters", NULL, 0},
};

static size_t probe_size(const double *params)
{
    (void)params;
    return sizeof(probe_state_t);
}

static nd_err_t probe_start(void *state, const double *params, uint32_t instrument_id,
                            nd_strategy_ctx_t *ctx)
{
    probe_state_t *st = state;
    st->version = (int)params[0];
    st->instrument_id = instrument_id;
    calls[st->version].starts++;
    return ctx->set_timer(ctx, nd_clock_now_ns(&clock_sim.clock) + 100 * MS, 10 + (uint64_t)st->version);
}

static void probe_stop(void *state)
{
    probe_state_t *st = state;
    calls[st->version].stops++;
}

static void probe_quote(void *state, const nd_quote_tick_t *q, nd_strategy_ctx_t *ctx)
{
    probe_state_t *st = state;
    calls[st->version].quotes++;
    st->quotes++;
    if (st->resting)
        ctx->cancel(ctx, st->resting);
    nd_order_intent_t buy = {st->instrument_id, ND_SIDE_BUY, ND_ORDER_LIMIT, q->bid_px - PX,
                             QTY / 100};
    ctx->submit(ctx, &buy, &st->resting);
    if (st->quotes % 5 == 0) {
        nd_order_intent_t m = {st->instrument_id, ND_SIDE_BUY, ND_ORDER_MARKET, 0, QTY / 100};
        uint64_t id;
        ctx->submit(ctx, &m, &id);
    }
    int64_t pos = ctx->position(ctx, st->instrument_id);
    if (st->quotes % 7 == 0 && pos > 0) {
        nd_order_intent_t m = {st->instrument_id, ND_SIDE_SELL, ND_ORDER_MARKET, 0, pos};
        uint64_t id;
        ctx->submit(ctx, &m, &id);
    }
}

static void probe_timer(void *state, int64_t now_ns, uint64_t timer_id, nd_strategy_ctx_t *ctx)
{
    probe_state_t *st = state;
    calls[st->version].timers++;
    calls[st->version].last_timer_id = timer_id;
    ctx->set_timer(ctx, now_ns + 100 * MS, timer_id);
}

static void probe_fill(void *state, const nd_fill_t *fill, nd_strategy_ctx_t *ctx)
{
    (void)fill;
    (void)ctx;
    probe_state_t *st = state;
    calls[st->version].fills++;
}

static const nd_strategy_def_t probe = {
    .name = "probe",
    .summary = "engine control test probe",
    .params = probe_params,
    .param_count = 1,
    .state_size = probe_size,
    .on_start = probe_start,
    .on_fill = probe_fill,
    .on_timer = probe_timer,
    .on_quote = probe_quote,
    .on_stop = probe_stop,
};

static void setup(void)
{
    cr_assert_eq(nd_instrument_init(&inst, "BTC/USDT", "l2"), ND_OK);
    PX = nd_pow10(inst.px_decimals);
    QTY = nd_pow10(inst.qty_decimals);
    memset(calls, 0, sizeof calls);
    engine = NULL;
    l2 = NULL;
}

static void teardown(void)
{
    nd_engine_destroy(engine);
    nd_l2sim_exec_destroy(l2);
    engine = NULL;
    l2 = NULL;
}

TestSuite(engine_control, .init = setup, .fini = teardown);

/* Two probe strategies (version 0) at 30% and 20% of the capital. */
static void make(void)
{
    nd_l2sim_config_t lc;
    nd_l2sim_config_default(&lc);
    lc.levels_max = 64;
    cr_assert_eq(nd_l2sim_exec_create(&lc, &inst, "l2", &l2), ND_OK);
    nd_engine_config_t cfg;
    nd_engine_config_default(&cfg);
    cfg.venues[0] = nd_l2sim_exec_venue(l2);
    cfg.venue_count = 1;
    cfg.risk.max_drawdown_pct_e2 = 0;
    cfg.risk.daily_loss_pct_e2 = 0;
    nd_clock_sim_init(&clock_sim, T0);
    char err[256];
    cr_assert_eq(nd_engine_create(&cfg, &inst, 1, &clock_sim.clock, &engine, err, sizeof err),
                 ND_OK, "%s", err);
    double params[1] = {0};
    cr_assert_eq(nd_engine_add_strategy(engine, &probe, params, 0, 300000, err, sizeof err),
                 ND_OK, "%s", err);
    cr_assert_eq(nd_engine_add_strategy(engine, &probe, params, 0, 200000, err, sizeof err),
                 ND_OK, "%s", err);
    cr_assert_eq(nd_engine_start(engine, err, sizeof err), ND_OK, "%s", err);
}

static void quote_at(int64_t t, int64_t bid)
{
    cr_assert_eq(nd_clock_sim_set(&clock_sim, T0 + t), ND_OK);
    nd_market_event_t ev = {.kind = ND_MARKET_QUOTE};
    ev.u.quote = (nd_quote_tick_t){T0 + t, 0, bid * PX, 5 * QTY, (bid + 1) * PX, 5 * QTY, 0};
    cr_assert_eq(nd_engine_on_event(engine, &ev), ND_OK);
}

static uint32_t own_working(uint32_t s)
{
    uint32_t n = 0;
    for (uint32_t k = 0; k < nd_engine_working_count(engine); k++) {
        const nd_order_t *o = nd_engine_working(engine, k);
        n += o->strategy_index == s && !o->risk_flatten && !nd_order_is_done(o);
    }
    return n;
}

Test(engine_control, pause_cancels_silences_and_resume_fires_missed_timer_once)
{
    make();
    quote_at(0, 30000);
    cr_assert_gt(own_working(0), 0, "the probe rests a buy");
    int quotes = calls[0].quotes;
    cr_assert_eq(nd_engine_strategy_pause(engine, 0, true), ND_OK);
    cr_assert(nd_engine_strategy_paused(engine, 0));
    cr_assert_eq(nd_engine_strategy_pause(engine, 0, true), ND_OK, "twice: no-op");
    for (int k = 1; k <= 10; k++) /* 1 s: timers of both fall due 10 times */
        quote_at(k * 100 * MS, 30000);
    cr_assert_eq(own_working(0), 0, "paused: nothing of its own working");
    cr_assert_gt(own_working(1), 0, "the other strategy goes on");
    /* Both strategies count into calls[0] (version 0): the other one's quotes only. */
    int other_quotes = calls[0].quotes - quotes;
    cr_assert_eq(other_quotes, 10, "only the running strategy saw the quotes");
    int timers = calls[0].timers;
    cr_assert_eq(nd_engine_strategy_pause(engine, 0, false), ND_OK);
    cr_assert_eq(calls[0].timers, timers + 1, "the missed timer fires once at resume");
    quote_at(1100 * MS, 30000);
    cr_assert_gt(own_working(0), 0, "resumed: trading again");
    cr_assert_eq(nd_engine_strategy_pause(engine, 7, true), ND_ENOTFOUND);
}

Test(engine_control, weight_moves_the_sleeve_and_never_overcommits)
{
    make();
    int64_t cash = nd_portfolio_initial_cash(nd_engine_portfolio(engine));
    int64_t before = nd_portfolio_strategy_equity(nd_engine_portfolio(engine), 0);
    cr_assert_eq(before, cash * 3 / 10);
    cr_assert_eq(nd_engine_strategy_set_weight(engine, 0, 900000), ND_EINVAL, "0.9 + 0.2 > 1");
    cr_assert_eq(nd_engine_strategy_weight(engine, 0), 300000, "unchanged after a refusal");
    cr_assert_eq(nd_engine_strategy_set_weight(engine, 0, 800000), ND_OK);
    cr_assert_eq(nd_portfolio_strategy_equity(nd_engine_portfolio(engine), 0), cash * 8 / 10);
    cr_assert_eq(nd_engine_strategy_set_weight(engine, 1, -1), ND_EINVAL);
    cr_assert_eq(nd_engine_strategy_set_weight(engine, 1, 0), ND_OK, "0: no capital");
}

Test(engine_control, replace_swaps_version_keeps_position_drops_old_timers)
{
    make();
    for (int k = 0; k < 5; k++) /* the fifth quote buys at market */
        quote_at(k * 10 * MS, 30000);
    quote_at(60 * MS, 30000);
    int64_t pos = nd_portfolio_position(nd_engine_portfolio(engine), 0, 0)->qty;
    cr_assert_gt(pos, 0, "the probe holds a position");
    char err[256];
    double bad[1] = {5};
    cr_assert_eq(nd_engine_strategy_replace(engine, 0, &probe, bad, err, sizeof err), ND_EINVAL);
    cr_assert_eq(calls[1].starts, 0, "a refused version never starts");
    double v1[1] = {1};
    uint64_t old_ids[16];
    uint32_t old_n = 0;
    for (uint32_t k = 0; k < nd_engine_working_count(engine) && old_n < 16; k++)
        if (nd_engine_working(engine, k)->strategy_index == 0)
            old_ids[old_n++] = nd_engine_working(engine, k)->client_id;
    cr_assert_gt(old_n, 0);
    int stops = calls[0].stops;
    cr_assert_eq(nd_engine_strategy_replace(engine, 0, &probe, v1, err, sizeof err), ND_OK, "%s",
                 err);
    cr_assert_eq(calls[0].stops, stops + 1, "the old version stopped");
    cr_assert_eq(calls[1].starts, 1, "the new version started");
    cr_assert_eq(nd_portfolio_position(nd_engine_portfolio(engine), 0, 0)->qty, pos,
                 "the slot keeps its position");
    for (int k = 1; k <= 3; k++)
        quote_at(60 * MS + k * 100 * MS, 30000);
    cr_assert_eq(calls[1].last_timer_id, 11, "only the new version's timer id reaches it");
    for (uint32_t k = 0; k < nd_engine_working_count(engine); k++)
        for (uint32_t j = 0; j < old_n; j++)
            cr_assert_neq(nd_engine_working(engine, k)->client_id, old_ids[j],
                          "an old version's order still works");
    cr_assert_eq(calls[1].timers, 3);
}

/* Random controls between random quotes; after every step: a paused strategy has nothing of
 * its own working and was not called; the portfolio balances; weights <= 1. */
Test(engine_control, property_controls_keep_invariants)
{
    for (uint64_t seed = 1; seed <= 200; seed++) {
        setup();
        make();
        nd_rand_t rng;
        nd_rand_init(&rng, seed);
        int64_t bid = 30000;
        for (int step = 0; step < 60; step++) {
            uint32_t s = (uint32_t)nd_rand_below(&rng, 2);
            switch (nd_rand_below(&rng, 5)) {
            case 0:
                cr_assert_eq(nd_engine_strategy_pause(engine, s, nd_rand_below(&rng, 2)), ND_OK);
                break;
            case 1:
                nd_engine_strategy_set_weight(engine, s, (int64_t)nd_rand_below(&rng, 1000001));
                break;
            case 2: {
                double v[1] = {(double)nd_rand_below(&rng, 2)};
                char err[128];
                cr_assert_eq(nd_engine_strategy_replace(engine, s, &probe, v, err, sizeof err),
                             ND_OK, "seed %llu: %s", (unsigned long long)seed, err);
                break;
            }
            default:
                break;
            }
            probe_calls_t before[2];
            memcpy(before, calls, sizeof calls);
            bool all_paused = nd_engine_strategy_paused(engine, 0) &&
                              nd_engine_strategy_paused(engine, 1);
            bid += (int64_t)nd_rand_below(&rng, 3) - 1;
            quote_at((step + 1) * 50 * MS, bid);
            if (all_paused)
                cr_assert_eq(calls[0].quotes + calls[1].quotes,
                             before[0].quotes + before[1].quotes, "seed %llu: a paused strategy "
                             "was called", (unsigned long long)seed);
            for (uint32_t k = 0; k < 2; k++)
                if (nd_engine_strategy_paused(engine, k))
                    cr_assert_eq(own_working(k), 0, "seed %llu step %d: paused %u works",
                                 (unsigned long long)seed, step, k);
            cr_assert_leq(nd_engine_strategy_weight(engine, 0) +
                              nd_engine_strategy_weight(engine, 1), 1000000);
            char why[256];
            cr_assert(nd_portfolio_check(nd_engine_portfolio(engine), why, sizeof why),
                      "seed %llu: %s", (unsigned long long)seed, why);
        }
        teardown();
    }
}
