/* test_feed_monitor.c: the data-integrity inputs of a live session at and around each bound
 * (staleness, an unrecovered sequence gap, the reference price), the verdict's order, and the
 * engine tripping the data-integrity breaker with the input and the measured value, then owning
 * the position until flat. */
#include <criterion/criterion.h>

#include "noderr/clock.h"
#include "noderr/engine.h"
#include "noderr/feed_monitor.h"

#include <string.h>

#define T0 (1577836800LL * ND_NS_PER_SEC)
#define U 100000000LL

static nd_feed_monitor_t mon;
static uint32_t book, trades;

static void setup(void)
{
    nd_feed_monitor_config_t cfg;
    nd_feed_monitor_config_default(&cfg);
    cr_assert_eq(cfg.stale_after_ns, 5 * ND_NS_PER_SEC);
    cr_assert_eq(cfg.gap_recover_ns, 2 * ND_NS_PER_SEC);
    cr_assert_eq(nd_feed_monitor_init(&mon, &cfg), ND_OK);
    cr_assert_eq(nd_feed_monitor_add(&mon, "binance:depth", T0, &book), ND_OK);
    cr_assert_eq(nd_feed_monitor_add(&mon, "binance:trades", T0, &trades), ND_OK);
}

TestSuite(feed_monitor, .init = setup);

Test(feed_monitor, registration)
{
    uint32_t i;
    cr_assert_eq(nd_feed_monitor_add(&mon, "binance:depth", T0, &i), ND_EEXIST);
    cr_assert_eq(nd_feed_monitor_add(&mon, "", T0, &i), ND_EINVAL);
    nd_feed_monitor_config_t bad = {0, 0, 0, 0};
    cr_assert_eq(nd_feed_monitor_init(&mon, &bad), ND_EINVAL);
}

Test(feed_monitor, stale_at_and_around_the_bound)
{
    nd_feed_verdict_t v;
    nd_feed_monitor_on_message(&mon, book, T0 + ND_NS_PER_SEC, 0);
    nd_feed_monitor_on_message(&mon, trades, T0 + 3 * ND_NS_PER_SEC, 0);
    /* book: last update at 1 s; the bound is 5 s */
    cr_assert_not(nd_feed_monitor_check(&mon, T0 + 6 * ND_NS_PER_SEC - 1, NULL, &v));
    cr_assert_not(nd_feed_monitor_check(&mon, T0 + 6 * ND_NS_PER_SEC, NULL, &v));
    cr_assert(nd_feed_monitor_check(&mon, T0 + 6 * ND_NS_PER_SEC + 1, NULL, &v));
    cr_assert_eq(v.input, ND_INTEGRITY_STALE);
    cr_assert_eq(v.feed, (int32_t)book);
    cr_assert_eq(v.measured_e6, 5000000); /* 5 s and 1 ns, in microseconds */
    cr_assert_eq(v.bound_e6, 5000000);
    nd_feed_monitor_on_message(&mon, book, T0 + 6 * ND_NS_PER_SEC + 1, 0);
    cr_assert_not(nd_feed_monitor_check(&mon, T0 + 6 * ND_NS_PER_SEC + 1, NULL, &v));
    cr_assert(nd_feed_monitor_check(&mon, T0 + 8 * ND_NS_PER_SEC + 1, NULL, &v));
    cr_assert_eq(v.feed, (int32_t)trades);
    /* a feed that never spoke is stale from its registration */
    uint32_t quiet;
    cr_assert_eq(nd_feed_monitor_add(&mon, "coinbase:l2", T0 + 10 * ND_NS_PER_SEC, &quiet), ND_OK);
    nd_feed_monitor_on_message(&mon, book, T0 + 15 * ND_NS_PER_SEC, 0);
    nd_feed_monitor_on_message(&mon, trades, T0 + 15 * ND_NS_PER_SEC, 0);
    cr_assert_not(nd_feed_monitor_check(&mon, T0 + 15 * ND_NS_PER_SEC, NULL, &v));
    cr_assert(nd_feed_monitor_check(&mon, T0 + 15 * ND_NS_PER_SEC + 1, NULL, &v));
    cr_assert_eq(v.feed, (int32_t)quiet);
}

Test(feed_monitor, gap_at_and_around_the_bound)
{
    nd_feed_verdict_t v;
    nd_feed_monitor_on_message(&mon, book, T0 + 100, 10);
    nd_feed_monitor_on_message(&mon, book, T0 + 200, 11);
    nd_feed_monitor_on_message(&mon, book, T0 + 300, 11); /* repeated: nothing */
    nd_feed_monitor_on_message(&mon, book, T0 + 400, 9);  /* old: nothing */
    cr_assert_eq(mon.feeds[book].gaps, 0);
    int64_t gap_at = T0 + ND_NS_PER_SEC;
    nd_feed_monitor_on_message(&mon, book, gap_at, 14); /* 12 and 13 missing */
    nd_feed_monitor_on_message(&mon, trades, gap_at, 0);
    cr_assert_eq(mon.feeds[book].gaps, 1);
    cr_assert_eq(mon.feeds[book].gap_missing, 2);
    nd_feed_monitor_on_message(&mon, book, gap_at + ND_NS_PER_SEC, 17); /* a second, same gap */
    nd_feed_monitor_on_message(&mon, trades, gap_at + ND_NS_PER_SEC, 0);
    cr_assert_eq(mon.feeds[book].gaps, 1);
    cr_assert_eq(mon.feeds[book].gap_missing, 4);
    cr_assert_not(nd_feed_monitor_check(&mon, gap_at + 2 * ND_NS_PER_SEC - 1, NULL, &v));
    cr_assert_not(nd_feed_monitor_check(&mon, gap_at + 2 * ND_NS_PER_SEC, NULL, &v));
    cr_assert(nd_feed_monitor_check(&mon, gap_at + 2 * ND_NS_PER_SEC + 1, NULL, &v));
    cr_assert_eq(v.input, ND_INTEGRITY_SEQ_GAP);
    cr_assert_eq(v.feed, (int32_t)book);
    cr_assert_eq(v.measured_e6, 2000000);
    /* a resync recovers it */
    nd_feed_monitor_on_resync(&mon, book, gap_at + 2 * ND_NS_PER_SEC + 1, 40);
    cr_assert_not(nd_feed_monitor_check(&mon, gap_at + 2 * ND_NS_PER_SEC + 1, NULL, &v));
    nd_feed_monitor_on_message(&mon, book, gap_at + 3 * ND_NS_PER_SEC, 41);
    cr_assert_eq(mon.feeds[book].gap_since_ns, 0);
}

Test(feed_monitor, late_messages_fill_a_gap_and_repeats_are_named)
{
    nd_feed_verdict_t v;
    cr_assert_eq(nd_feed_monitor_on_message(&mon, book, T0 + 100, 10), ND_FEED_MSG_NEW);
    cr_assert_eq(nd_feed_monitor_on_message(&mon, book, T0 + 200, 9), ND_FEED_MSG_REPEAT,
                 "before the first number: too old to tell");
    cr_assert_eq(nd_feed_monitor_on_message(&mon, book, T0 + 300, 13), ND_FEED_MSG_NEW);
    cr_assert_eq(mon.feeds[book].gap_missing, 2); /* 11, 12 */
    cr_assert_eq(nd_feed_monitor_on_message(&mon, book, T0 + 400, 13), ND_FEED_MSG_REPEAT);
    cr_assert_eq(nd_feed_monitor_on_message(&mon, book, T0 + 500, 10), ND_FEED_MSG_REPEAT);
    cr_assert_eq(nd_feed_monitor_on_message(&mon, book, T0 + 600, 12), ND_FEED_MSG_LATE);
    cr_assert_eq(nd_feed_monitor_on_message(&mon, book, T0 + 700, 12), ND_FEED_MSG_REPEAT,
                 "a duplicate of a late one");
    cr_assert_neq(mon.feeds[book].gap_since_ns, 0);
    cr_assert_eq(nd_feed_monitor_on_message(&mon, book, T0 + 800, 11), ND_FEED_MSG_LATE);
    cr_assert_eq(mon.feeds[book].gap_since_ns, 0, "every missing message came: recovered");
    cr_assert_eq(mon.feeds[book].late, 2);
    cr_assert_eq(mon.feeds[book].repeats, 4);
    cr_assert_not(nd_feed_monitor_check(&mon, T0 + 4 * ND_NS_PER_SEC, NULL, &v));
    /* Far ahead: the window forgets what it cannot hold; an old number is a repeat. */
    cr_assert_eq(nd_feed_monitor_on_message(&mon, book, T0 + 900, 13 + 100), ND_FEED_MSG_NEW);
    cr_assert_eq(mon.feeds[book].gap_missing, 99);
    cr_assert_eq(nd_feed_monitor_on_message(&mon, book, T0 + 901, 20), ND_FEED_MSG_REPEAT);
    cr_assert_eq(nd_feed_monitor_on_message(&mon, book, T0 + 902, 112), ND_FEED_MSG_LATE);
    cr_assert_eq(mon.feeds[book].gap_missing, 98);
    cr_assert_eq(nd_feed_monitor_on_message(&mon, book, T0 + 903, 0), ND_FEED_MSG_NEW);
}

Test(feed_monitor, gaps_resync_in_place_within_the_budget)
{
    nd_feed_verdict_t v;
    cr_assert_eq(mon.cfg.reorder_wait_ns, 500 * ND_NS_PER_MS);
    cr_assert_eq(mon.cfg.resyncs_per_min_max, 30);
    nd_feed_monitor_on_message(&mon, book, T0, 1);
    nd_feed_monitor_on_message(&mon, book, T0 + ND_NS_PER_MS, 4); /* 2, 3 missing */
    int64_t at = T0 + ND_NS_PER_MS;
    cr_assert_eq(nd_feed_monitor_resync_gaps(&mon, at + 500 * ND_NS_PER_MS), 0, "still waiting");
    cr_assert_eq(nd_feed_monitor_resync_gaps(&mon, at + 500 * ND_NS_PER_MS + 1), 1);
    cr_assert_eq(mon.feeds[book].gap_since_ns, 0);
    cr_assert_eq(mon.feeds[book].lost, 2);
    cr_assert_eq(mon.feeds[book].resyncs, 1);
    cr_assert_eq(mon.feeds[book].last_seq, 4);
    cr_assert_eq(nd_feed_monitor_on_message(&mon, book, at + ND_NS_PER_SEC, 3), ND_FEED_MSG_REPEAT,
                 "given up");
    cr_assert_eq(nd_feed_monitor_on_message(&mon, book, at + ND_NS_PER_SEC, 5), ND_FEED_MSG_NEW);
    /* The budget: 30 a minute; the 31st gap of the minute waits and trips after 2 s. */
    mon.cfg.resyncs_per_min_max = 3;
    mon.feeds[book].resyncs_in_minute = 0;
    mon.feeds[book].resync_minute_ns = at;
    int64_t t = at + ND_NS_PER_SEC;
    uint64_t seq = 5;
    for (int k = 0; k < 3; k++) {
        seq += 2;
        nd_feed_monitor_on_message(&mon, book, t, seq);
        t += ND_NS_PER_SEC;
        nd_feed_monitor_on_message(&mon, trades, t, 0);
        cr_assert_eq(nd_feed_monitor_resync_gaps(&mon, t), 1, "k=%d", k);
    }
    seq += 2;
    nd_feed_monitor_on_message(&mon, book, t, seq);
    int64_t gap_at = t;
    t += ND_NS_PER_SEC;
    nd_feed_monitor_on_message(&mon, trades, t, 0);
    cr_assert_eq(nd_feed_monitor_resync_gaps(&mon, t), 0, "out of budget");
    cr_assert(nd_feed_monitor_check(&mon, gap_at + 2 * ND_NS_PER_SEC + 1, NULL, &v));
    cr_assert_eq(v.input, ND_INTEGRITY_SEQ_GAP);
    /* A new minute, a new budget. */
    cr_assert_eq(nd_feed_monitor_resync_gaps(&mon, at + ND_NS_PER_MIN + 1), 1);
    /* 0: never in place. */
    mon.cfg.resyncs_per_min_max = 0;
    nd_feed_monitor_on_message(&mon, book, t, seq + 5);
    cr_assert_eq(nd_feed_monitor_resync_gaps(&mon, t + 10 * ND_NS_PER_SEC), 0);
}

Test(feed_monitor, reference_price_and_the_order_of_inputs)
{
    nd_feed_verdict_t v;
    nd_refprice_result_t ok = {ND_REFPRICE_OK, 100, 3, 0, 20, 0};
    nd_refprice_result_t dev = {ND_REFPRICE_DEVIATION, 100, 3, 1, 150, 0};
    nd_refprice_result_t halt = {ND_REFPRICE_HALT, 100, 3, 1, 250, 0};
    cr_assert_not(nd_feed_monitor_check(&mon, T0, &ok, &v));
    cr_assert_not(nd_feed_monitor_check(&mon, T0, &dev, &v)); /* a warning, not a halt */
    cr_assert(nd_feed_monitor_check(&mon, T0, &halt, &v));
    cr_assert_eq(v.input, ND_INTEGRITY_REFPRICE);
    cr_assert_eq(v.feed, -1);
    cr_assert_eq(v.measured_e6, 25000); /* 250 bps = 2.5% */
    nd_refprice_result_t few = {ND_REFPRICE_HALT, 100, 1, 0, 0, 0};
    cr_assert(nd_feed_monitor_check(&mon, T0, &few, &v));
    cr_assert_eq(v.input, ND_INTEGRITY_REFPRICE_SOURCES);
    cr_assert_eq(v.measured_e6, 1000000); /* one fresh source */
    /* stale comes first */
    cr_assert(nd_feed_monitor_check(&mon, T0 + 6 * ND_NS_PER_SEC, &halt, &v));
    cr_assert_eq(v.input, ND_INTEGRITY_STALE);
}

/* ---- the engine: the trip with its input, then flat ---------------------------------- */

static size_t long_size(const double *p)
{
    (void)p;
    return sizeof(uint32_t);
}

static nd_err_t long_start(void *st, const double *p, uint32_t inst, nd_strategy_ctx_t *ctx)
{
    (void)p;
    (void)ctx;
    *(uint32_t *)st = inst;
    return ND_OK;
}

static void long_bar(void *st, const nd_bar_t *bar, nd_strategy_ctx_t *ctx)
{
    (void)bar;
    ctx->target(ctx, *(uint32_t *)st, 1);
}

static const nd_strategy_def_t long_def = {
    .name = "always_long", .summary = "test", .state_size = long_size, .on_start = long_start,
    .on_bar = long_bar};

static nd_breaker_event_t trip;
static int trips, accepted_while_halted;

static nd_err_t on_event(void *ctx, const nd_event_t *ev)
{
    (void)ctx;
    if (ev->kind == ND_EVENT_BREAKER && trips++ == 0)
        trip = ev->u.breaker;
    if (ev->kind == ND_EVENT_ORDER && ev->halted && !ev->u.order.risk_flatten &&
        ev->u.order.status == ND_ORDER_ACCEPTED)
        accepted_while_halted++;
    return ND_OK;
}

Test(feed_monitor, engine_trips_data_integrity_with_the_input_and_flattens)
{
    nd_instrument_t inst;
    cr_assert_eq(nd_instrument_init(&inst, "BTC/USDT", "sim"), ND_OK);
    nd_engine_config_t cfg;
    nd_engine_config_default(&cfg);
    cfg.sizing = (nd_sizing_t){ND_SIZING_FIXED, 0, U};
    nd_clock_sim_t clk;
    nd_clock_sim_init(&clk, T0);
    char err[256];
    nd_engine_t *e = NULL;
    cr_assert_eq(nd_engine_create(&cfg, &inst, 1, &clk.clock, &e, err, sizeof err), ND_OK);
    static const double none[1] = {0};
    cr_assert_eq(nd_engine_add_strategy(e, &long_def, none, 0, 1000000, err, sizeof err), ND_OK);
    nd_engine_listener_t l = {on_event, NULL, NULL, NULL};
    nd_engine_set_listener(e, &l);
    cr_assert_eq(nd_engine_start(e, err, sizeof err), ND_OK, "%s", err);
    for (int k = 0; k < 3; k++) {
        nd_bar_t b = {T0 + k * ND_NS_PER_SEC, 100 * U, 100 * U, 100 * U, 100 * U, 1000 * U, 0, 0};
        cr_assert_eq(nd_clock_sim_set(&clk, b.ts_ns), ND_OK);
        cr_assert_eq(nd_engine_on_bar(e, &b), ND_OK);
        nd_feed_monitor_on_message(&mon, book, b.ts_ns, 0);
        nd_feed_monitor_on_message(&mon, trades, b.ts_ns, 0);
        nd_feed_verdict_t v;
        cr_assert_eq(nd_engine_feed_check(e, &mon, NULL, &v), ND_OK);
        cr_assert_not(v.failed);
    }
    cr_assert_gt(nd_portfolio_net_qty(nd_engine_portfolio(e), 0), 0);
    cr_assert_eq(nd_clock_sim_set(&clk, T0 + 7 * ND_NS_PER_SEC + 1), ND_OK);
    nd_feed_monitor_on_message(&mon, trades, T0 + 7 * ND_NS_PER_SEC, 0);
    nd_feed_verdict_t v;
    cr_assert_eq(nd_engine_feed_check(e, &mon, NULL, &v), ND_OK);
    cr_assert(v.failed);
    cr_assert_eq(trips, 1);
    cr_assert_eq(trip.kind, ND_BREAKER_DATA_INTEGRITY);
    cr_assert_eq(trip.detail.input, ND_INTEGRITY_STALE);
    cr_assert_eq(trip.measured_e6, 5000000); /* the book's age: 5 s and 1 ns */
    cr_assert_eq(nd_engine_feed_check(e, &mon, NULL, NULL), ND_OK); /* no second trip */
    cr_assert_eq(trips, 1);
    for (int k = 8; k < 11; k++) {
        nd_bar_t b = {T0 + k * ND_NS_PER_SEC, 100 * U, 100 * U, 100 * U, 100 * U, 1000 * U, 0, 0};
        cr_assert_eq(nd_clock_sim_set(&clk, b.ts_ns), ND_OK);
        cr_assert_eq(nd_engine_on_bar(e, &b), ND_OK);
    }
    cr_assert_eq(nd_portfolio_net_qty(nd_engine_portfolio(e), 0), 0);
    cr_assert_eq(accepted_while_halted, 0);
    cr_assert(nd_engine_risk(e)->halted);
    nd_engine_destroy(e);
}
