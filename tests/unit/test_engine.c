/* test_engine.c: the engine's step order on hand-made bars with a scripted strategy: market
 * orders fill at the next bar's open, sizing, breakers halting and flattening, listener
 * refusal halting trading, timers in order, the kill switch, and bad bars. */
#include <criterion/criterion.h>

#include "noderr/engine.h"
#include "noderr/fixed.h"

#include <string.h>

#define U 100000000LL
#define T0 (1577836800LL * ND_NS_PER_SEC)

/* The scripted strategy: on bar k it asks for target script[k] (9 = nothing). */
static int script[16];
static int timer_log[8], timer_count;
static int set_timers_on_start;

typedef struct scripted {
    uint32_t inst;
    int bar;
} scripted_t;

static size_t scripted_size(const double *params)
{
    (void)params;
    return sizeof(scripted_t);
}

static nd_err_t scripted_start(void *state, const double *params, uint32_t inst,
                               nd_strategy_ctx_t *ctx)
{
    (void)params;
    ((scripted_t *)state)->inst = inst;
    if (set_timers_on_start) {
        cr_assert_eq(ctx->set_timer(ctx, T0 + 2 * ND_NS_PER_HOUR, 7), ND_OK);
        cr_assert_eq(ctx->set_timer(ctx, T0 + ND_NS_PER_HOUR, 5), ND_OK);
        cr_assert_eq(ctx->set_timer(ctx, T0 + ND_NS_PER_HOUR, 6), ND_OK);
        cr_assert_eq(ctx->set_timer(ctx, T0 - 1, 1), ND_EINVAL);
    }
    return ND_OK;
}

/* Script value 8: try to cancel every order id 1..16, recording what each cancel returned. */
static nd_err_t cancel_rc[17];

static void scripted_bar(void *state, const nd_bar_t *bar, nd_strategy_ctx_t *ctx)
{
    scripted_t *s = state;
    (void)bar;
    int want = s->bar < 16 ? script[s->bar] : 9;
    s->bar++;
    if (want == 8) {
        for (uint64_t id = 1; id <= 16; id++)
            cancel_rc[id] = ctx->cancel(ctx, id);
    } else if (want != 9) {
        ctx->target(ctx, s->inst, want);
    }
}

static void scripted_timer(void *state, int64_t now, uint64_t id, nd_strategy_ctx_t *ctx)
{
    (void)state;
    (void)now;
    (void)ctx;
    timer_log[timer_count++] = (int)id;
}

static const nd_strategy_def_t scripted_def = {
    .name = "scripted",
    .summary = "test script",
    .params = NULL,
    .param_count = 0,
    .state_size = scripted_size,
    .validate = NULL,
    .on_start = scripted_start,
    .on_bar = scripted_bar,
    .on_fill = NULL,
    .on_timer = scripted_timer,
};

static nd_event_t events[64];
static int event_count;
static int refuse_after = -1;

static nd_err_t on_event(void *ctx, const nd_event_t *ev)
{
    (void)ctx;
    if (refuse_after >= 0 && event_count >= refuse_after)
        return ND_EIO;
    if (event_count < 64)
        events[event_count++] = *ev;
    return ND_OK;
}

static nd_engine_t *engine;
static nd_clock_sim_t clock_sim;

static bool allow_short;
static nd_breaker_reset_t drawdown_reset;
static int64_t volume_share_e4;

static void make_engine(nd_sizing_t sizing, int64_t drawdown_e2)
{
    nd_instrument_t inst;
    cr_assert_eq(nd_instrument_init(&inst, "BTC/USDT", "sim"), ND_OK);
    nd_engine_config_t cfg;
    nd_engine_config_default(&cfg);
    cfg.sizing = sizing;
    cfg.venue.max_volume_share_e4 = volume_share_e4;
    cfg.risk.drawdown_reset = drawdown_reset;
    cfg.risk.max_drawdown_pct_e2 = drawdown_e2;
    cfg.risk.daily_loss_pct_e2 = 0;
    cfg.allow_short = allow_short;
    nd_clock_sim_init(&clock_sim, T0);
    char err[256];
    cr_assert_eq(nd_engine_create(&cfg, &inst, 1, &clock_sim.clock, &engine, err, sizeof err),
                 ND_OK, "%s", err);
    static const double no_params[1] = {0};
    cr_assert_eq(nd_engine_add_strategy(engine, &scripted_def, no_params, 0, 1000000, err, sizeof err),
                 ND_OK, "%s", err);
    nd_engine_listener_t l = {on_event, NULL, NULL, NULL};
    nd_engine_set_listener(engine, &l);
    cr_assert_eq(nd_engine_start(engine, err, sizeof err), ND_OK, "%s", err);
}

static void setup(void)
{
    for (int k = 0; k < 16; k++)
        script[k] = 9;
    event_count = 0;
    refuse_after = -1;
    timer_count = 0;
    set_timers_on_start = 0;
    allow_short = false;
    drawdown_reset = (nd_breaker_reset_t){ND_BREAKER_RESET_NEVER, 0};
    volume_share_e4 = 10000;
    memset(cancel_rc, 0, sizeof cancel_rc);
    engine = NULL;
}

static void teardown(void)
{
    nd_engine_destroy(engine);
}

TestSuite(engine, .init = setup, .fini = teardown);

static nd_err_t bar_volume(int k, double o, double h, double l, double c, int64_t volume)
{
    nd_bar_t b = {T0 + k * ND_NS_PER_HOUR, (int64_t)(o * U), (int64_t)(h * U), (int64_t)(l * U),
                  (int64_t)(c * U), volume, 0, 0};
    cr_assert_eq(nd_clock_sim_set(&clock_sim, b.ts_ns), ND_OK);
    return nd_engine_on_bar(engine, &b);
}

static nd_err_t bar(int k, double o, double h, double l, double c)
{
    nd_bar_t b = {T0 + k * ND_NS_PER_HOUR, (int64_t)(o * U), (int64_t)(h * U), (int64_t)(l * U),
                  (int64_t)(c * U), 1000 * U, 0, 0};
    cr_assert_eq(nd_clock_sim_set(&clock_sim, b.ts_ns), ND_OK);
    return nd_engine_on_bar(engine, &b);
}

static nd_sizing_t fixed(int64_t qty)
{
    nd_sizing_t s = {ND_SIZING_FIXED, 0, qty};
    return s;
}

Test(engine, market_order_fills_at_next_bar_open)
{
    make_engine(fixed(U), 1200);
    script[0] = 1;
    cr_assert_eq(bar(0, 100, 101, 99, 100), ND_OK);
    cr_assert_eq(event_count, 1);
    cr_assert_eq(events[0].kind, ND_EVENT_ORDER);
    cr_assert_eq(events[0].u.order.status, ND_ORDER_ACCEPTED);
    cr_assert_eq(events[0].u.order.side, ND_SIDE_BUY);
    cr_assert_eq(nd_portfolio_position(nd_engine_portfolio(engine), 0, 0)->qty, 0);
    cr_assert_eq(bar(1, 102, 104, 101, 103), ND_OK);
    cr_assert_eq(event_count, 3);
    cr_assert_eq(events[1].kind, ND_EVENT_FILL);
    cr_assert_eq(events[1].u.fill.px, 102 * U);
    cr_assert_eq(events[1].u.fill.qty, U);
    cr_assert_eq(events[1].u.fill.fee, 10200000);
    cr_assert_eq(events[1].ts_ns, T0 + ND_NS_PER_HOUR);
    cr_assert_eq(events[2].u.order.status, ND_ORDER_FILLED);
    nd_portfolio_t *p = nd_engine_portfolio(engine);
    cr_assert_eq(nd_portfolio_position(p, 0, 0)->qty, U);
    cr_assert_eq(nd_portfolio_equity(p), 10000 * U - 102 * U - 10200000 + 103 * U);
    const nd_engine_stats_t *st = nd_engine_stats(engine);
    cr_assert_eq(st->bars, 2);
    cr_assert_eq(st->fills, 1);
    cr_assert_eq(st->bars_in_market, 1);
    cr_assert_eq(st->interval_ns, ND_NS_PER_HOUR);
}

Test(engine, percent_sizing_uses_sleeve_equity_at_last_price)
{
    nd_sizing_t pct = {ND_SIZING_PERCENT, 2500, 0};
    make_engine(pct, 1200);
    script[0] = 1;
    script[2] = 0;
    cr_assert_eq(bar(0, 100, 101, 99, 100), ND_OK);
    cr_assert_eq(events[0].u.order.qty, 25 * U); /* 25% of 10000 at 100 */
    cr_assert_eq(bar(1, 100, 100, 100, 100), ND_OK);
    cr_assert_eq(bar(2, 100, 100, 100, 100), ND_OK);
    cr_assert_eq(bar(3, 100, 100, 100, 100), ND_OK);
    cr_assert_eq(nd_portfolio_position(nd_engine_portfolio(engine), 0, 0)->qty, 0);
    cr_assert_eq(nd_engine_stats(engine)->fills, 2);
}

Test(engine, drawdown_breaker_halts_and_flattens)
{
    make_engine(fixed(20 * U), 1200);
    script[0] = 1;
    script[3] = 1;
    cr_assert_eq(bar(0, 100, 100, 100, 100), ND_OK);
    cr_assert_eq(bar(1, 100, 100, 100, 100), ND_OK);
    cr_assert_eq(bar(2, 100, 100, 40, 40), ND_OK); /* equity 8798: 12.02% below 10000 */
    cr_assert_eq(event_count, 5);
    cr_assert_eq(events[3].kind, ND_EVENT_BREAKER);
    cr_assert_eq(events[3].u.breaker.kind, ND_BREAKER_DRAWDOWN);
    cr_assert_eq(events[3].u.breaker.equity, 8798 * U);
    cr_assert_eq(events[3].u.breaker.reference, 10000 * U);
    cr_assert_eq(events[3].u.breaker.measured_e6, 120200);
    cr_assert_eq(events[4].u.order.status, ND_ORDER_ACCEPTED);
    cr_assert_eq(events[4].u.order.side, ND_SIDE_SELL);
    cr_assert_eq(events[4].u.order.qty, 20 * U);
    cr_assert(events[4].u.order.risk_flatten);
    cr_assert_not(events[0].u.order.risk_flatten);
    cr_assert(nd_engine_risk(engine)->halted);
    cr_assert_eq(bar(3, 50, 50, 50, 50), ND_OK);
    cr_assert_eq(events[5].kind, ND_EVENT_FILL);
    cr_assert_eq(events[5].u.fill.px, 50 * U);
    cr_assert_eq(events[7].u.order.status, ND_ORDER_REJECTED);
    cr_assert_eq(events[7].u.order.reject_reason, ND_REJECT_HALTED);
    nd_portfolio_t *p = nd_engine_portfolio(engine);
    cr_assert_eq(nd_portfolio_position(p, 0, 0)->qty, 0);
    cr_assert_eq(nd_portfolio_equity(p), 8997 * U);
    cr_assert_eq(nd_engine_rejects(engine, ND_REJECT_HALTED), 1);
}

Test(engine, refused_event_halts_trading)
{
    make_engine(fixed(U), 1200);
    script[0] = 1;
    script[2] = 0;
    refuse_after = 1;
    cr_assert_eq(bar(0, 100, 100, 100, 100), ND_OK);
    cr_assert_eq(bar(1, 100, 100, 100, 100), ND_EIO);
    cr_assert(nd_engine_risk(engine)->halted);
    cr_assert_eq(bar(2, 100, 100, 100, 100), ND_EIO);
    cr_assert_eq(nd_engine_rejects(engine, ND_REJECT_HALTED), 1);
    cr_assert_eq(event_count, 1);
}

Test(engine, timers_fire_in_time_then_insertion_order)
{
    set_timers_on_start = 1;
    make_engine(fixed(U), 1200);
    cr_assert_eq(bar(0, 100, 100, 100, 100), ND_OK);
    cr_assert_eq(timer_count, 0);
    cr_assert_eq(bar(1, 100, 100, 100, 100), ND_OK);
    cr_assert_eq(timer_count, 2);
    cr_assert_eq(timer_log[0], 5);
    cr_assert_eq(timer_log[1], 6);
    cr_assert_eq(bar(2, 100, 100, 100, 100), ND_OK);
    cr_assert_eq(timer_count, 3);
    cr_assert_eq(timer_log[2], 7);
}

Test(engine, kill_switch_flattens_and_blocks)
{
    make_engine(fixed(U), 1200);
    script[0] = 1;
    script[3] = 1;
    cr_assert_eq(bar(0, 100, 100, 100, 100), ND_OK);
    cr_assert_eq(bar(1, 100, 100, 100, 100), ND_OK);
    cr_assert_eq(nd_engine_kill(engine), ND_OK);
    cr_assert_eq(events[3].kind, ND_EVENT_BREAKER);
    cr_assert_eq(events[3].u.breaker.kind, ND_BREAKER_KILL_SWITCH);
    cr_assert_eq(events[4].u.order.side, ND_SIDE_SELL);
    cr_assert_eq(bar(2, 100, 100, 100, 100), ND_OK);
    cr_assert_eq(bar(3, 100, 100, 100, 100), ND_OK);
    cr_assert_eq(nd_portfolio_position(nd_engine_portfolio(engine), 0, 0)->qty, 0);
    cr_assert_eq(nd_engine_rejects(engine, ND_REJECT_KILL_SWITCH), 1);
}

Test(engine, short_target_means_flat_without_shorting)
{
    make_engine(fixed(U), 1200);
    script[0] = -1;
    cr_assert_eq(bar(0, 100, 100, 100, 100), ND_OK);
    cr_assert_eq(event_count, 0);
    cr_assert_eq(nd_engine_stats(engine)->orders_submitted, 0);
}

Test(engine, bad_bars_are_refused)
{
    make_engine(fixed(U), 1200);
    cr_assert_eq(bar(3, 100, 100, 100, 100), ND_OK);
    nd_bar_t b = {T0, 100 * U, 100 * U, 100 * U, 100 * U, U, 0, 0};
    cr_assert_eq(nd_engine_on_bar(engine, &b), ND_EINVAL); /* earlier than the last bar */
    b.ts_ns = T0 + 5 * ND_NS_PER_HOUR;
    b.instrument_id = 3;
    cr_assert_eq(nd_engine_on_bar(engine, &b), ND_EINVAL);
}

Test(engine, create_refuses_bad_config)
{
    nd_instrument_t inst;
    nd_instrument_init(&inst, "BTC/USDT", "sim");
    nd_engine_config_t cfg;
    nd_engine_config_default(&cfg);
    cfg.initial_cash = 0;
    nd_clock_sim_init(&clock_sim, T0);
    char err[256] = "";
    cr_assert_eq(nd_engine_create(&cfg, &inst, 1, &clock_sim.clock, &engine, err, sizeof err),
                 ND_EINVAL);
    cr_assert_str_eq(err, "initial cash must be positive");
    engine = NULL;
}

Test(engine, short_then_long_flips_in_one_order)
{
    allow_short = true;
    make_engine(fixed(U), 1200);
    script[0] = -1;
    script[2] = 1;
    cr_assert_eq(bar(0, 100, 100, 100, 100), ND_OK);
    cr_assert_eq(events[0].u.order.side, ND_SIDE_SELL);
    cr_assert_eq(events[0].u.order.qty, U);
    cr_assert_eq(bar(1, 100, 100, 100, 100), ND_OK);
    nd_portfolio_t *p = nd_engine_portfolio(engine);
    cr_assert_eq(nd_portfolio_position(p, 0, 0)->qty, -U);
    cr_assert_eq(bar(2, 100, 100, 100, 100), ND_OK);
    const nd_event_t *last = &events[event_count - 1];
    cr_assert_eq(last->u.order.side, ND_SIDE_BUY);
    cr_assert_eq(last->u.order.qty, 2 * U); /* closes the short and opens the long */
    cr_assert_eq(bar(3, 100, 100, 100, 100), ND_OK);
    cr_assert_eq(nd_portfolio_position(p, 0, 0)->qty, U);
    char err[128];
    cr_assert(nd_portfolio_check(p, err, sizeof err), "%s", err);
}

Test(engine, data_integrity_failure_halts_and_flattens)
{
    make_engine(fixed(U), 1200);
    script[0] = 1;
    script[3] = 1;
    cr_assert_eq(bar(0, 100, 100, 100, 100), ND_OK);
    cr_assert_eq(bar(1, 100, 100, 100, 100), ND_OK);
    cr_assert_eq(nd_engine_data_integrity_fail(engine, 777), ND_OK);
    cr_assert_eq(events[3].kind, ND_EVENT_BREAKER);
    cr_assert_eq(events[3].u.breaker.kind, ND_BREAKER_DATA_INTEGRITY);
    cr_assert_eq(events[3].u.breaker.measured_e6, 777);
    cr_assert_eq(events[4].u.order.side, ND_SIDE_SELL);
    cr_assert(events[4].u.order.risk_flatten);
    cr_assert_eq(nd_engine_data_integrity_fail(engine, 778), ND_OK);
    cr_assert_eq(nd_engine_risk(engine)->event_count, 1);
    cr_assert_eq(bar(2, 100, 100, 100, 100), ND_OK);
    cr_assert_eq(bar(3, 100, 100, 100, 100), ND_OK);
    cr_assert_eq(nd_portfolio_position(nd_engine_portfolio(engine), 0, 0)->qty, 0);
    cr_assert_eq(nd_engine_rejects(engine, ND_REJECT_HALTED), 1);
}

/* The defect engine v2 fixes: on the trip bar the strategy targets flat, which used to cancel
 * every working order of the strategy, the flattening sell included, leaving the position open
 * for the whole halt. */
Test(engine, a_strategy_target_on_the_trip_bar_does_not_cancel_the_flattening_order)
{
    make_engine(fixed(20 * U), 1200);
    script[0] = 1;
    script[2] = 0; /* the trip bar */
    script[3] = 0;
    cr_assert_eq(bar(0, 100, 100, 100, 100), ND_OK);
    cr_assert_eq(bar(1, 100, 100, 100, 100), ND_OK);
    cr_assert_eq(bar(2, 100, 100, 40, 40), ND_OK);
    cr_assert(nd_engine_risk(engine)->halted);
    for (int k = 0; k < event_count; k++)
        cr_assert_neq(events[k].u.order.status == ND_ORDER_CANCELLED &&
                      events[k].kind == ND_EVENT_ORDER && events[k].u.order.risk_flatten, true,
                      "the flattening order was cancelled");
    cr_assert_eq(bar(3, 50, 50, 50, 50), ND_OK);
    cr_assert_eq(nd_portfolio_position(nd_engine_portfolio(engine), 0, 0)->qty, 0,
                 "flat one bar after the trip");
    cr_assert_eq(nd_engine_stats(engine)->halted_bars, 2);
}

Test(engine, a_strategy_cannot_cancel_the_flattening_order)
{
    make_engine(fixed(20 * U), 1200);
    script[0] = 1;
    script[2] = 8; /* on the trip bar: cancel everything it can name */
    cr_assert_eq(bar(0, 100, 100, 100, 100), ND_OK);
    cr_assert_eq(bar(1, 100, 100, 100, 100), ND_OK);
    cr_assert_eq(bar(2, 100, 100, 40, 40), ND_OK);
    uint64_t flatten_id = 0;
    for (int k = 0; k < event_count; k++)
        if (events[k].kind == ND_EVENT_ORDER && events[k].u.order.risk_flatten)
            flatten_id = events[k].u.order.client_id;
    cr_assert_neq(flatten_id, 0);
    cr_assert_eq(cancel_rc[flatten_id], ND_ESTATE, "the engine's order is not the strategy's");
    cr_assert_eq(bar(3, 50, 50, 50, 50), ND_OK);
    cr_assert_eq(nd_portfolio_position(nd_engine_portfolio(engine), 0, 0)->qty, 0);
}

Test(engine, a_partly_filled_flattening_order_is_followed_until_flat)
{
    volume_share_e4 = 10000;
    make_engine(fixed(20 * U), 1200);
    script[0] = 1;
    for (int k = 2; k < 16; k++)
        script[k] = k % 2; /* the strategy keeps trying to trade through the halt */
    cr_assert_eq(bar(0, 100, 100, 100, 100), ND_OK);
    cr_assert_eq(bar(1, 100, 100, 100, 100), ND_OK);
    cr_assert_eq(bar(2, 100, 100, 40, 40), ND_OK);
    /* Each bar trades only 6 units: 20 -> 14 -> 8 -> 2 -> 0. */
    int64_t held[4];
    for (int k = 0; k < 4; k++) {
        cr_assert_eq(bar_volume(3 + k, 50, 50, 50, 50, 6 * U), ND_OK);
        held[k] = nd_portfolio_position(nd_engine_portfolio(engine), 0, 0)->qty;
    }
    cr_assert_eq(held[0], 14 * U);
    cr_assert_eq(held[1], 8 * U);
    cr_assert_eq(held[2], 2 * U);
    cr_assert_eq(held[3], 0);
    cr_assert_eq(nd_engine_stats(engine)->orders_accepted, 2, "one entry, one flattening order");
    cr_assert(nd_engine_risk(engine)->halted);
}

Test(engine, the_reset_policy_lifts_a_drawdown_halt_and_the_strategy_trades_again)
{
    drawdown_reset = (nd_breaker_reset_t){ND_BREAKER_RESET_AFTER, 2 * ND_NS_PER_HOUR};
    make_engine(fixed(20 * U), 1200);
    script[0] = 1;
    script[3] = 1; /* refused: halted */
    script[4] = 1; /* the halt lifted at T0 + 4h */
    cr_assert_eq(bar(0, 100, 100, 100, 100), ND_OK);
    cr_assert_eq(bar(1, 100, 100, 100, 100), ND_OK);
    cr_assert_eq(bar(2, 100, 100, 40, 40), ND_OK);
    cr_assert_eq(bar(3, 50, 50, 50, 50), ND_OK);
    cr_assert(nd_engine_risk(engine)->halted);
    cr_assert_eq(nd_engine_rejects(engine, ND_REJECT_HALTED), 1);
    cr_assert_eq(bar(4, 50, 50, 50, 50), ND_OK);
    cr_assert_not(nd_engine_risk(engine)->halted);
    cr_assert_eq(nd_engine_stats(engine)->orders_accepted, 3, "entry, flatten, re-entry");
    cr_assert_eq(bar(5, 50, 50, 50, 50), ND_OK);
    cr_assert_eq(nd_portfolio_position(nd_engine_portfolio(engine), 0, 0)->qty, 20 * U);
    cr_assert_eq(nd_engine_stats(engine)->halted_bars, 2);
}

/* Two venues in one run, each with its own instrument rules and fee schedule: the engine routes
 * each instrument to the venue it names, charges that venue's fees, and attributes P&L by
 * venue so that the venues add up to the total. */
Test(engine, two_venues_each_with_its_own_rules_and_fees)
{
    nd_instrument_t inst[2];
    cr_assert_eq(nd_instrument_init(&inst[0], "BTC/USDT", "binance"), ND_OK);
    cr_assert_eq(nd_instrument_init(&inst[1], "BTC/USD", "coinbase"), ND_OK);
    inst[1].id = 1;
    inst[1].px_decimals = 2;  /* Coinbase quotes cents */
    inst[1].tick_size = 1;
    inst[1].qty_decimals = 8;
    nd_sim_config_t binance_cfg, coinbase_cfg;
    nd_sim_config_default(&binance_cfg);
    nd_sim_config_default(&coinbase_cfg);
    binance_cfg.taker_fee_bps_e2 = 10 * ND_BPS_UNIT;
    coinbase_cfg.taker_fee_bps_e2 = 60 * ND_BPS_UNIT;
    binance_cfg.max_volume_share_e4 = coinbase_cfg.max_volume_share_e4 = 10000;
    nd_sim_venue_t binance, coinbase;
    cr_assert_eq(nd_sim_venue_init(&binance, &binance_cfg, inst, 2), ND_OK);
    cr_assert_eq(nd_sim_venue_init(&coinbase, &coinbase_cfg, inst, 2), ND_OK);
    nd_exec_venue_t vb, vc;
    nd_sim_venue_exec(&binance, "binance", &vb);
    nd_sim_venue_exec(&coinbase, "coinbase", &vc);
    nd_engine_config_t cfg;
    nd_engine_config_default(&cfg);
    cfg.sizing = fixed(U);
    cfg.risk.max_position_pct_e2 = 0;
    cfg.venues[0] = &vb;
    cfg.venues[1] = &vc;
    cfg.venue_count = 2;
    nd_clock_sim_init(&clock_sim, T0);
    char err[256];
    cr_assert_eq(nd_engine_create(&cfg, inst, 2, &clock_sim.clock, &engine, err, sizeof err), ND_OK,
                 "%s", err);
    static const double no_params[1] = {0};
    cr_assert_eq(nd_engine_add_strategy(engine, &scripted_def, no_params, 0, 500000, err, sizeof err),
                 ND_OK);
    cr_assert_eq(nd_engine_add_strategy(engine, &scripted_def, no_params, 1, 500000, err, sizeof err),
                 ND_OK);
    cr_assert_eq(nd_engine_start(engine, err, sizeof err), ND_OK, "%s", err);
    script[0] = 1; /* both strategies buy one BTC on their first bar */
    nd_bar_t b0 = {T0, 100 * U, 100 * U, 100 * U, 100 * U, 1000 * U, 0, 0};
    nd_bar_t c0 = {T0, 10000, 10000, 10000, 10000, 1000 * U, 1, 0};
    nd_bar_t b1 = b0, c1 = c0;
    b1.ts_ns = c1.ts_ns = T0 + ND_NS_PER_HOUR;
    cr_assert_eq(nd_engine_on_bar(engine, &b0), ND_OK);
    cr_assert_eq(nd_engine_on_bar(engine, &c0), ND_OK);
    cr_assert_eq(nd_clock_sim_set(&clock_sim, b1.ts_ns), ND_OK);
    cr_assert_eq(nd_engine_on_bar(engine, &b1), ND_OK);
    cr_assert_eq(nd_engine_on_bar(engine, &c1), ND_OK);
    nd_portfolio_t *p = nd_engine_portfolio(engine);
    nd_attribution_t on_binance, on_coinbase;
    nd_portfolio_by_venue(p, "binance", &on_binance);
    nd_portfolio_by_venue(p, "coinbase", &on_coinbase);
    /* 100 quote of notional each: 10 bps is 0.1, 60 bps is 0.6 (rounded up, never in our favour). */
    cr_assert_eq(on_binance.fees, 10000000, "%lld", (long long)on_binance.fees);
    cr_assert_eq(on_coinbase.fees, 60000000, "%lld", (long long)on_coinbase.fees);
    cr_assert_eq(on_binance.fees + on_coinbase.fees, nd_portfolio_fees(p));
    cr_assert_eq(on_binance.net + on_coinbase.net, nd_portfolio_equity(p) - nd_portfolio_initial_cash(p));
    cr_assert_eq(nd_portfolio_position(p, 0, 0)->qty, U);
    cr_assert_eq(nd_portfolio_position(p, 1, 1)->qty, U);
}

Test(engine, an_instrument_on_a_venue_not_configured_is_refused)
{
    nd_instrument_t inst;
    cr_assert_eq(nd_instrument_init(&inst, "BTC/USDT", "kraken"), ND_OK);
    nd_sim_config_t sc;
    nd_sim_config_default(&sc);
    nd_sim_venue_t sim;
    cr_assert_eq(nd_sim_venue_init(&sim, &sc, &inst, 1), ND_OK);
    nd_exec_venue_t v;
    nd_sim_venue_exec(&sim, "binance", &v);
    nd_engine_config_t cfg;
    nd_engine_config_default(&cfg);
    cfg.venues[0] = &v;
    cfg.venue_count = 1;
    nd_clock_sim_init(&clock_sim, T0);
    char err[256] = "";
    cr_assert_eq(nd_engine_create(&cfg, &inst, 1, &clock_sim.clock, &engine, err, sizeof err),
                 ND_EINVAL);
    cr_assert(strstr(err, "kraken") != NULL, "%s", err);
}

/* on_stop: owed to each strategy whose on_start ran (even a failed one), once, at destroy; the
 * callbacks reach their definition (and its user data) through ctx->def. */
static int stop_calls, start_saw_user;
static const char stop_user_data[] = "script";

static nd_err_t stopping_start(void *state, const double *params, uint32_t inst,
                               nd_strategy_ctx_t *ctx)
{
    (void)state;
    (void)params;
    (void)inst;
    start_saw_user = ctx->def != NULL && ctx->def->user == stop_user_data;
    return script[15] == 1 ? ND_EINVAL : ND_OK;
}

static void stopping_stop(void *state)
{
    cr_assert_not_null(state);
    stop_calls++;
}

Test(engine, on_stop_is_called_once_for_each_started_strategy)
{
    nd_strategy_def_t def = scripted_def;
    def.on_start = stopping_start;
    def.on_stop = stopping_stop;
    def.user = stop_user_data;
    for (int fail = 0; fail <= 1; fail++) {
        script[15] = fail;
        stop_calls = start_saw_user = 0;
        nd_instrument_t inst;
        cr_assert_eq(nd_instrument_init(&inst, "BTC/USDT", "sim"), ND_OK);
        nd_engine_config_t cfg;
        nd_engine_config_default(&cfg);
        nd_clock_sim_init(&clock_sim, T0);
        char err[256];
        cr_assert_eq(nd_engine_create(&cfg, &inst, 1, &clock_sim.clock, &engine, err, sizeof err),
                     ND_OK, "%s", err);
        static const double no_params[1] = {0};
        cr_assert_eq(nd_engine_add_strategy(engine, &def, no_params, 0, 1000000, err, sizeof err),
                     ND_OK);
        nd_engine_destroy(engine); /* never started: nothing owed */
        cr_assert_eq(stop_calls, 0);
        cr_assert_eq(nd_engine_create(&cfg, &inst, 1, &clock_sim.clock, &engine, err, sizeof err),
                     ND_OK, "%s", err);
        cr_assert_eq(nd_engine_add_strategy(engine, &def, no_params, 0, 1000000, err, sizeof err),
                     ND_OK);
        cr_assert_eq(nd_engine_start(engine, err, sizeof err), fail ? ND_EINVAL : ND_OK);
        cr_assert(start_saw_user);
        nd_engine_destroy(engine);
        engine = NULL;
        cr_assert_eq(stop_calls, 1);
    }
    script[15] = 9;
}
