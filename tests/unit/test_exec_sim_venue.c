/* test_exec_sim_venue.c: the simulated venue's fill rules, each against numbers worked out by
 * hand (docs/simulated-venue.md shows the same arithmetic). The instrument is BTC/USDT from
 * nd_instrument_init: 8 decimals for prices, quantities and cash, lot 0.00001 = 1000 units, so
 * notional = px * qty / 1e8 rounded half-even. */
#include "noderr/sim_venue.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

#define PX(units) ((int64_t)(units) * 100000000LL) /* whole USDT in price units */
#define QTY_1BTC 100000000LL

/* The venue is large (it holds ND_ORDERS_OPEN_MAX slots), so it lives here, not on the stack;
 * Criterion runs each test in its own process. */
static nd_instrument_t inst;
static nd_sim_venue_t venue;
static nd_fill_t fills[ND_ORDERS_OPEN_MAX];
static nd_order_t orders[ND_ORDERS_OPEN_MAX + 1];

static void setup_with(const nd_sim_config_t *cfg)
{
    cr_assert_eq(nd_instrument_init(&inst, "BTC/USDT", "sim"), ND_OK);
    inst.id = 0;
    cr_assert_eq(nd_sim_venue_init(&venue, cfg, &inst, 1), ND_OK);
}

static void setup_default(void)
{
    nd_sim_config_t cfg;
    nd_sim_config_default(&cfg);
    setup_with(&cfg);
}

static nd_bar_t bar(int64_t ts_ns, int64_t open, int64_t high, int64_t low, int64_t volume)
{
    return (nd_bar_t){.ts_ns = ts_ns, .open = open, .high = high, .low = low, .close = open,
                      .volume = volume, .instrument_id = 0};
}

/* Initialises and submits an order; asserts the venue accepted it. */
static void submit(nd_order_t *o, uint64_t client_id, nd_side_t side, nd_order_type_t type,
                   int64_t px, int64_t qty, int64_t now_ns)
{
    nd_order_intent_t in = {.instrument_id = 0, .side = side, .type = type, .px = px, .qty = qty};
    nd_order_init(o, client_id, &in, 0, now_ns);
    cr_assert_eq(nd_sim_venue_submit(&venue, o, now_ns), ND_OK);
    cr_assert_eq(o->status, ND_ORDER_ACCEPTED);
}

/* Runs one bar and returns the number of fills, asserting success. */
static size_t run_bar(nd_bar_t b)
{
    size_t n = 999;
    cr_assert_eq(nd_sim_venue_on_bar(&venue, &b, fills, ND_ORDERS_OPEN_MAX, &n), ND_OK);
    return n;
}

Test(exec_sim_venue, config_default)
{
    nd_sim_config_t cfg;
    memset(&cfg, 0x5A, sizeof cfg);
    nd_sim_config_default(&cfg);
    cr_assert_eq(cfg.maker_fee_bps_e2, 1000);
    cr_assert_eq(cfg.taker_fee_bps_e2, 1000);
    cr_assert_eq(cfg.slippage_bps_e2, 0);
    cr_assert_eq(cfg.impact_bps_e2, 0);
    cr_assert_eq(cfg.max_volume_share_e4, 1000);
}

Test(exec_sim_venue, init_refuses_bad_config)
{
    cr_assert_eq(nd_instrument_init(&inst, "BTC/USDT", "sim"), ND_OK);
    nd_sim_config_t good, cfg;
    nd_sim_config_default(&good);
    cfg = good;
    cfg.max_volume_share_e4 = 0;
    cr_assert_eq(nd_sim_venue_init(&venue, &cfg, &inst, 1), ND_EINVAL);
    cfg.max_volume_share_e4 = 10001;
    cr_assert_eq(nd_sim_venue_init(&venue, &cfg, &inst, 1), ND_EINVAL);
    cfg = good;
    cfg.taker_fee_bps_e2 = -1;
    cr_assert_eq(nd_sim_venue_init(&venue, &cfg, &inst, 1), ND_EINVAL);
    cfg = good;
    cfg.slippage_bps_e2 = 1000001; /* above 100% */
    cr_assert_eq(nd_sim_venue_init(&venue, &cfg, &inst, 1), ND_EINVAL);
    cr_assert_eq(nd_sim_venue_init(&venue, &good, NULL, 1), ND_EINVAL);
    inst.id = 1; /* the table is indexed by id */
    cr_assert_eq(nd_sim_venue_init(&venue, &good, &inst, 1), ND_EINVAL);
    inst.id = 0;
    cfg = good;
    cfg.max_volume_share_e4 = 10000;
    cfg.impact_bps_e2 = 1000000;
    cr_assert_eq(nd_sim_venue_init(&venue, &cfg, &inst, 1), ND_OK);
    cr_assert_eq(venue.next_venue_id, 1);
    cr_assert_eq(nd_sim_venue_open_count(&venue), 0);
}

Test(exec_sim_venue, no_orders_no_fills)
{
    setup_default();
    nd_bar_t b = bar(100, PX(100), PX(101), PX(99), QTY_1BTC);
    size_t n = 999;
    /* With nothing working the buffer is not even looked at. */
    cr_assert_eq(nd_sim_venue_on_bar(&venue, &b, NULL, 0, &n), ND_OK);
    cr_assert_eq(n, 0);
}

Test(exec_sim_venue, market_fills_at_next_open)
{
    setup_default();
    nd_order_t o;
    /* Submitted while the bar opening at t=100 is current. */
    submit(&o, 1, ND_SIDE_BUY, ND_ORDER_MARKET, 0, QTY_1BTC, 100);
    cr_assert_eq(o.venue_id, 1);
    cr_assert_eq(o.px, 0);
    cr_assert_eq(nd_sim_venue_open_count(&venue), 1);
    cr_assert_eq(run_bar(bar(100, PX(100), PX(102), PX(99), PX(100))), 0);
    cr_assert_eq(o.status, ND_ORDER_ACCEPTED);
    /* Next bar opens at 101: 1 BTC * 101 = 101 USDT, fee 10 bps = 0.101 USDT. */
    cr_assert_eq(run_bar(bar(200, PX(101), PX(103), PX(100), PX(100))), 1);
    cr_assert_eq(fills[0].client_id, 1);
    cr_assert_eq(fills[0].venue_id, 1);
    cr_assert_eq(fills[0].instrument_id, 0);
    cr_assert_eq(fills[0].side, ND_SIDE_BUY);
    cr_assert_eq(fills[0].maker, false);
    cr_assert_eq(fills[0].px, PX(101));
    cr_assert_eq(fills[0].qty, QTY_1BTC);
    cr_assert_eq(fills[0].notional, 10100000000);
    cr_assert_eq(fills[0].fee, 10100000);
    cr_assert_eq(fills[0].ts_ns, 200);
    cr_assert_eq(o.status, ND_ORDER_FILLED);
    cr_assert_eq(o.filled_qty, QTY_1BTC);
    cr_assert_eq(o.fill_notional, 10100000000);
    cr_assert_eq(o.fees, 10100000);
    cr_assert_eq(o.updated_ns, 200);
    cr_assert_eq(nd_sim_venue_open_count(&venue), 0);
    cr_assert_eq(run_bar(bar(300, PX(101), PX(103), PX(100), PX(100))), 0);
}

Test(exec_sim_venue, eligible_only_after_submission_time)
{
    setup_default();
    nd_order_t a, b;
    submit(&a, 1, ND_SIDE_SELL, ND_ORDER_MARKET, 0, QTY_1BTC, 150);
    submit(&b, 2, ND_SIDE_SELL, ND_ORDER_MARKET, 0, QTY_1BTC, 200);
    /* a (t=150) trades on the bar opening at 200; b, decided at 200, waits for the next. */
    cr_assert_eq(run_bar(bar(200, PX(90), PX(91), PX(89), PX(100))), 1);
    cr_assert_eq(fills[0].client_id, 1);
    cr_assert_eq(fills[0].px, PX(90));
    cr_assert_eq(b.status, ND_ORDER_ACCEPTED);
    cr_assert_eq(run_bar(bar(201, PX(88), PX(91), PX(87), PX(100))), 1);
    cr_assert_eq(fills[0].client_id, 2);
    cr_assert_eq(fills[0].px, PX(88));
}

/* An amend in the bar simulator applies at once: a lower quantity at the same price keeps the
 * order's place and eligibility; a new price sends it last, eligible only on later bars. */
Test(exec_sim_venue, amend_keeps_or_loses_place)
{
    setup_default();
    nd_order_t a, b;
    submit(&a, 1, ND_SIDE_BUY, ND_ORDER_LIMIT, PX(100), 2 * QTY_1BTC, 100);
    submit(&b, 2, ND_SIDE_BUY, ND_ORDER_LIMIT, PX(100), QTY_1BTC, 100);
    cr_assert_eq(nd_sim_venue_amend(&venue, 1, PX(100), QTY_1BTC, 150), ND_OK);
    cr_assert_eq(a.qty, QTY_1BTC);
    cr_assert_eq(nd_sim_venue_amend(&venue, 2, PX(101), QTY_1BTC, 200), ND_OK);
    cr_assert_eq(b.px, PX(101));
    /* The bar at 200: a (kept its place and eligibility) fills; b, amended at 200, waits. */
    cr_assert_eq(run_bar(bar(200, PX(100), PX(102), PX(99), PX(1000))), 1);
    cr_assert_eq(fills[0].client_id, 1);
    cr_assert_eq(fills[0].qty, QTY_1BTC);
    cr_assert_eq(a.status, ND_ORDER_FILLED);
    cr_assert_eq(run_bar(bar(300, PX(100), PX(102), PX(99), PX(1000))), 1);
    cr_assert_eq(fills[0].client_id, 2);
    cr_assert_eq(fills[0].px, PX(100), "the better open");
    /* Done, unknown, a no-op, below the fills, a market order: refused, nothing changed. */
    cr_assert_eq(nd_sim_venue_amend(&venue, 1, PX(100), QTY_1BTC, 400), ND_ENOTFOUND);
    nd_order_t c, m;
    submit(&c, 3, ND_SIDE_SELL, ND_ORDER_LIMIT, PX(200), QTY_1BTC, 400);
    cr_assert_eq(nd_sim_venue_amend(&venue, 3, PX(200), QTY_1BTC, 400), ND_EINVAL);
    cr_assert_eq(nd_sim_venue_amend(&venue, 3, 0, QTY_1BTC, 400), ND_EINVAL);
    submit(&m, 4, ND_SIDE_SELL, ND_ORDER_MARKET, 0, QTY_1BTC, 400);
    cr_assert_eq(nd_sim_venue_amend(&venue, 4, PX(1), QTY_1BTC, 400), ND_ESTATE);
}

Test(exec_sim_venue, other_instrument_bar_ignored)
{
    setup_default();
    nd_order_t o;
    submit(&o, 1, ND_SIDE_BUY, ND_ORDER_MARKET, 0, QTY_1BTC, 100);
    nd_bar_t b = bar(200, PX(100), PX(100), PX(100), PX(100));
    b.instrument_id = 5;
    cr_assert_eq(run_bar(b), 0);
    cr_assert_eq(o.status, ND_ORDER_ACCEPTED);
    cr_assert_eq(nd_sim_venue_open_count(&venue), 1);
}

/* One limit or stop order on a fresh default venue against one bar: returns the fill count. */
static size_t one_bar(nd_order_t *o, nd_side_t side, nd_order_type_t type, int64_t px,
                      nd_bar_t b)
{
    setup_default();
    submit(o, 9, side, type, px, QTY_1BTC, 0);
    return run_bar(b);
}

Test(exec_sim_venue, limit_buy)
{
    nd_order_t o;
    /* The low reaches 100: fills at the limit. */
    cr_assert_eq(one_bar(&o, ND_SIDE_BUY, ND_ORDER_LIMIT, PX(100),
                         bar(10, PX(101), PX(102), PX(99) + 50000000, PX(100))), 1);
    cr_assert_eq(fills[0].px, PX(100));
    cr_assert_eq(fills[0].maker, true);
    cr_assert_eq(o.status, ND_ORDER_FILLED);
    /* The low touches it exactly. */
    cr_assert_eq(one_bar(&o, ND_SIDE_BUY, ND_ORDER_LIMIT, PX(100),
                         bar(10, PX(101), PX(102), PX(100), PX(100))), 1);
    cr_assert_eq(fills[0].px, PX(100));
    /* The bar gaps below it: fills at the better open. */
    cr_assert_eq(one_bar(&o, ND_SIDE_BUY, ND_ORDER_LIMIT, PX(100),
                         bar(10, PX(99), PX(100), PX(98), PX(100))), 1);
    cr_assert_eq(fills[0].px, PX(99));
    /* The low stays one tick above: nothing, the order keeps working. */
    cr_assert_eq(one_bar(&o, ND_SIDE_BUY, ND_ORDER_LIMIT, PX(100),
                         bar(10, PX(101), PX(102), PX(100) + 1000000, PX(100))), 0);
    cr_assert_eq(o.status, ND_ORDER_ACCEPTED);
    cr_assert_eq(nd_sim_venue_open_count(&venue), 1);
}

Test(exec_sim_venue, limit_sell)
{
    nd_order_t o;
    cr_assert_eq(one_bar(&o, ND_SIDE_SELL, ND_ORDER_LIMIT, PX(100),
                         bar(10, PX(99), PX(100) + 50000000, PX(98), PX(100))), 1);
    cr_assert_eq(fills[0].px, PX(100));
    cr_assert_eq(fills[0].side, ND_SIDE_SELL);
    cr_assert_eq(fills[0].maker, true);
    cr_assert_eq(one_bar(&o, ND_SIDE_SELL, ND_ORDER_LIMIT, PX(100),
                         bar(10, PX(101), PX(102), PX(100), PX(100))), 1);
    cr_assert_eq(fills[0].px, PX(101));
    cr_assert_eq(one_bar(&o, ND_SIDE_SELL, ND_ORDER_LIMIT, PX(100),
                         bar(10, PX(99), PX(100) - 1000000, PX(98), PX(100))), 0);
    cr_assert_eq(o.status, ND_ORDER_ACCEPTED);
}

Test(exec_sim_venue, stop_buy)
{
    nd_order_t o;
    /* The high trades through 100: fills at the stop, as a taker. */
    cr_assert_eq(one_bar(&o, ND_SIDE_BUY, ND_ORDER_STOP, PX(100),
                         bar(10, PX(99), PX(100) + 50000000, PX(98), PX(100))), 1);
    cr_assert_eq(fills[0].px, PX(100));
    cr_assert_eq(fills[0].maker, false);
    /* The bar gaps above the stop: fills at the worse open. */
    cr_assert_eq(one_bar(&o, ND_SIDE_BUY, ND_ORDER_STOP, PX(100),
                         bar(10, PX(101), PX(102), PX(100) + 50000000, PX(100))), 1);
    cr_assert_eq(fills[0].px, PX(101));
    cr_assert_eq(one_bar(&o, ND_SIDE_BUY, ND_ORDER_STOP, PX(100),
                         bar(10, PX(99), PX(100) - 1000000, PX(98), PX(100))), 0);
    cr_assert_eq(o.status, ND_ORDER_ACCEPTED);
}

Test(exec_sim_venue, stop_sell)
{
    nd_order_t o;
    cr_assert_eq(one_bar(&o, ND_SIDE_SELL, ND_ORDER_STOP, PX(100),
                         bar(10, PX(101), PX(102), PX(99) + 50000000, PX(100))), 1);
    cr_assert_eq(fills[0].px, PX(100));
    cr_assert_eq(fills[0].maker, false);
    cr_assert_eq(one_bar(&o, ND_SIDE_SELL, ND_ORDER_STOP, PX(100),
                         bar(10, PX(98), PX(99), PX(97), PX(100))), 1);
    cr_assert_eq(fills[0].px, PX(98));
    cr_assert_eq(one_bar(&o, ND_SIDE_SELL, ND_ORDER_STOP, PX(100),
                         bar(10, PX(101), PX(102), PX(100) + 1000000, PX(100))), 0);
    cr_assert_eq(o.status, ND_ORDER_ACCEPTED);
}

Test(exec_sim_venue, stop_pays_slippage_limit_does_not)
{
    nd_sim_config_t cfg;
    nd_sim_config_default(&cfg);
    cfg.slippage_bps_e2 = 500; /* 5 bps: 100.00 moves by 0.05 */
    setup_with(&cfg);
    nd_order_t sb, ss, lb;
    submit(&sb, 1, ND_SIDE_BUY, ND_ORDER_STOP, PX(100), QTY_1BTC, 0);
    submit(&ss, 2, ND_SIDE_SELL, ND_ORDER_STOP, PX(100), QTY_1BTC, 0);
    submit(&lb, 3, ND_SIDE_BUY, ND_ORDER_LIMIT, PX(100), QTY_1BTC, 0);
    cr_assert_eq(run_bar(bar(10, PX(100), PX(101), PX(99), PX(100))), 3);
    cr_assert_eq(fills[0].px, 10005000000);
    cr_assert_eq(fills[1].px, 9995000000);
    cr_assert_eq(fills[2].px, PX(100));
}

Test(exec_sim_venue, fixed_slippage_rounds_against_trader)
{
    nd_sim_config_t cfg;
    nd_sim_config_default(&cfg);
    cfg.slippage_bps_e2 = 500;
    setup_with(&cfg);
    nd_order_t b, s;
    submit(&b, 1, ND_SIDE_BUY, ND_ORDER_MARKET, 0, 100000, 0);
    submit(&s, 2, ND_SIDE_SELL, ND_ORDER_MARKET, 0, 100000, 0);
    /* 123.45678901 * 5 bps = 6172839.4505 units: the buyer pays 6172840 more, the seller gets
     * 6172840 less. Notional of 0.001 BTC: 12351.851741 -> 12351852 (half-even), fee
     * 12351.852 -> 12352 (up). */
    cr_assert_eq(run_bar(bar(10, 12345678901, PX(124), PX(123), PX(1000))), 2);
    cr_assert_eq(fills[0].px, 12351851741);
    cr_assert_eq(fills[0].notional, 12351852);
    cr_assert_eq(fills[0].fee, 12352);
    cr_assert_eq(fills[1].px, 12339506061);
    cr_assert_eq(fills[1].notional, 12339506);
    cr_assert_eq(fills[1].fee, 12340);
}

Test(exec_sim_venue, impact_slippage)
{
    nd_sim_config_t cfg;
    nd_sim_config_default(&cfg);
    cfg.impact_bps_e2 = 10000; /* 100 bps at 100% of the bar */
    cfg.max_volume_share_e4 = 10000;
    setup_with(&cfg);
    nd_order_t b, s;
    submit(&b, 1, ND_SIDE_BUY, ND_ORDER_MARKET, 0, 10 * QTY_1BTC, 0);
    submit(&s, 2, ND_SIDE_SELL, ND_ORDER_MARKET, 0, 10 * QTY_1BTC, 0);
    /* 10 BTC of a 30 BTC bar: 123.45678901 * 100 bps / 3 = 41152263.0033 -> 41152264. */
    cr_assert_eq(run_bar(bar(10, 12345678901, PX(124), PX(123), 30 * QTY_1BTC)), 2);
    cr_assert_eq(fills[0].px, 12386831165);
    cr_assert_eq(fills[0].notional, 123868311650);
    cr_assert_eq(fills[0].fee, 123868312);
    cr_assert_eq(fills[1].px, 12304526637);
    cr_assert_eq(fills[1].notional, 123045266370);
    cr_assert_eq(fills[1].fee, 123045267);
}

Test(exec_sim_venue, fixed_plus_impact_slippage)
{
    nd_sim_config_t cfg;
    nd_sim_config_default(&cfg);
    cfg.slippage_bps_e2 = 500;
    cfg.impact_bps_e2 = 10000;
    cfg.max_volume_share_e4 = 10000;
    setup_with(&cfg);
    nd_order_t b, s;
    submit(&b, 1, ND_SIDE_BUY, ND_ORDER_MARKET, 0, 10 * QTY_1BTC, 0);
    submit(&s, 2, ND_SIDE_SELL, ND_ORDER_MARKET, 0, 10 * QTY_1BTC, 0);
    /* px * (500 * 30 BTC + 10000 * 10 BTC) / (1e6 * 30 BTC) = 47325102.45 -> 47325103. */
    cr_assert_eq(run_bar(bar(10, 12345678901, PX(124), PX(123), 30 * QTY_1BTC)), 2);
    cr_assert_eq(fills[0].px, 12393004004);
    cr_assert_eq(fills[1].px, 12298353798);
}

Test(exec_sim_venue, sell_slippage_floored_at_one_unit)
{
    nd_sim_config_t cfg;
    nd_sim_config_default(&cfg);
    cfg.slippage_bps_e2 = 1000000; /* 100%: the whole price */
    setup_with(&cfg);
    nd_order_t s;
    submit(&s, 1, ND_SIDE_SELL, ND_ORDER_MARKET, 0, QTY_1BTC, 0);
    cr_assert_eq(run_bar(bar(10, PX(100), PX(100), PX(100), PX(100))), 1);
    cr_assert_eq(fills[0].px, 1);
    cr_assert_eq(fills[0].notional, 1);
    cr_assert_eq(fills[0].fee, 1); /* 0.001 of a unit, rounded up */
}

Test(exec_sim_venue, fees_maker_vs_taker_rounded_up)
{
    nd_sim_config_t cfg;
    nd_sim_config_default(&cfg);
    cfg.maker_fee_bps_e2 = 250;
    cfg.taker_fee_bps_e2 = 750;
    setup_with(&cfg);
    nd_order_t m, l;
    submit(&m, 1, ND_SIDE_BUY, ND_ORDER_MARKET, 0, 1000, 0);
    submit(&l, 2, ND_SIDE_BUY, ND_ORDER_LIMIT, 10001000000, 1000, 0);
    /* 0.00001 BTC at 100.01 = 100010 cash units; 7.5 bps = 75.0075 -> 76, 2.5 bps = 25.0025
     * -> 26. */
    cr_assert_eq(run_bar(bar(10, 10001000000, PX(101), PX(100), PX(100))), 2);
    cr_assert_eq(fills[0].notional, 100010);
    cr_assert_eq(fills[0].maker, false);
    cr_assert_eq(fills[0].fee, 76);
    cr_assert_eq(fills[1].notional, 100010);
    cr_assert_eq(fills[1].maker, true);
    cr_assert_eq(fills[1].fee, 26);
    cr_assert_eq(m.fees, 76);
    cr_assert_eq(l.fees, 26);
}

Test(exec_sim_venue, partial_fills_volume_cap)
{
    setup_default();
    nd_order_t o;
    submit(&o, 1, ND_SIDE_BUY, ND_ORDER_MARKET, 0, 250000000, 0);
    /* 10% of 12.345678 BTC = 1.2345678 BTC, down to the lot: 1.23456 BTC at 100. */
    cr_assert_eq(run_bar(bar(100, PX(100), PX(101), PX(99), 1234567800)), 1);
    cr_assert_eq(fills[0].qty, 123456000);
    cr_assert_eq(fills[0].notional, 12345600000);
    cr_assert_eq(fills[0].fee, 12345600);
    cr_assert_eq(o.status, ND_ORDER_PARTIALLY_FILLED);
    cr_assert_eq(nd_order_remaining(&o), 126544000);
    /* A bar without volume fills nothing, nor does one whose share rounds below a lot. */
    cr_assert_eq(run_bar(bar(200, PX(100), PX(101), PX(99), 0)), 0);
    cr_assert_eq(run_bar(bar(300, PX(100), PX(101), PX(99), 9999)), 0);
    cr_assert_eq(o.status, ND_ORDER_PARTIALLY_FILLED);
    cr_assert_eq(nd_sim_venue_open_count(&venue), 1);
    /* The rest at the next open, 101. */
    cr_assert_eq(run_bar(bar(400, PX(101), PX(102), PX(100), PX(100))), 1);
    cr_assert_eq(fills[0].qty, 126544000);
    cr_assert_eq(fills[0].px, PX(101));
    cr_assert_eq(fills[0].notional, 12780944000);
    cr_assert_eq(fills[0].fee, 12780944);
    cr_assert_eq(o.status, ND_ORDER_FILLED);
    cr_assert_eq(o.filled_qty, 250000000);
    cr_assert_eq(o.fill_notional, 25126544000);
    cr_assert_eq(o.fees, 25126544);
    cr_assert_eq(nd_sim_venue_open_count(&venue), 0);
}

Test(exec_sim_venue, triggered_stop_rest_fills_at_open)
{
    setup_default();
    nd_order_t o;
    submit(&o, 1, ND_SIDE_BUY, ND_ORDER_STOP, PX(100), 20 * QTY_1BTC, 0);
    /* 10% of 100 BTC: 10 BTC at the stop. */
    cr_assert_eq(run_bar(bar(100, PX(99), PX(101), PX(98), PX(100))), 1);
    cr_assert_eq(fills[0].qty, 10 * QTY_1BTC);
    cr_assert_eq(fills[0].px, PX(100));
    /* Triggered, the rest is a market order: it fills at 95 though the bar stays below 100. */
    cr_assert_eq(run_bar(bar(200, PX(95), PX(96), PX(94), PX(100))), 1);
    cr_assert_eq(fills[0].qty, 10 * QTY_1BTC);
    cr_assert_eq(fills[0].px, PX(95));
    cr_assert_eq(o.status, ND_ORDER_FILLED);
}

Test(exec_sim_venue, cancel)
{
    setup_default();
    nd_order_t a, b;
    submit(&a, 1, ND_SIDE_BUY, ND_ORDER_LIMIT, PX(90), QTY_1BTC, 0);
    submit(&b, 2, ND_SIDE_BUY, ND_ORDER_LIMIT, PX(90), QTY_1BTC, 0);
    cr_assert_eq(nd_sim_venue_cancel(&venue, 1, 50), ND_OK);
    cr_assert_eq(a.status, ND_ORDER_CANCELLED);
    cr_assert_eq(a.updated_ns, 50);
    cr_assert_eq(nd_sim_venue_open_count(&venue), 1);
    cr_assert_eq(nd_sim_venue_cancel(&venue, 1, 60), ND_ENOTFOUND);
    cr_assert_eq(nd_sim_venue_cancel(&venue, 77, 60), ND_ENOTFOUND);
    cr_assert_eq(a.updated_ns, 50);
    /* Only b is left to fill. */
    cr_assert_eq(run_bar(bar(100, PX(89), PX(90), PX(88), PX(100))), 1);
    cr_assert_eq(fills[0].client_id, 2);
    cr_assert_eq(a.status, ND_ORDER_CANCELLED);
    cr_assert_eq(a.filled_qty, 0);
}

Test(exec_sim_venue, cancel_partially_filled)
{
    setup_default();
    nd_order_t o;
    submit(&o, 1, ND_SIDE_SELL, ND_ORDER_MARKET, 0, 20 * QTY_1BTC, 0);
    cr_assert_eq(run_bar(bar(100, PX(99), PX(101), PX(98), PX(100))), 1);
    cr_assert_eq(o.status, ND_ORDER_PARTIALLY_FILLED);
    cr_assert_eq(nd_sim_venue_cancel(&venue, 1, 150), ND_OK);
    cr_assert_eq(o.status, ND_ORDER_CANCELLED);
    cr_assert_eq(o.filled_qty, 10 * QTY_1BTC);
    cr_assert_eq(nd_sim_venue_open_count(&venue), 0);
}

Test(exec_sim_venue, time_priority_and_order_kept)
{
    setup_default();
    nd_order_t a, b, c, d;
    submit(&a, 10, ND_SIDE_BUY, ND_ORDER_LIMIT, PX(50), QTY_1BTC, 0);
    submit(&b, 11, ND_SIDE_BUY, ND_ORDER_MARKET, 0, QTY_1BTC, 1);
    submit(&c, 12, ND_SIDE_BUY, ND_ORDER_LIMIT, PX(50), QTY_1BTC, 2);
    submit(&d, 13, ND_SIDE_SELL, ND_ORDER_MARKET, 0, QTY_1BTC, 3);
    cr_assert_eq(b.venue_id, 2);
    cr_assert_eq(d.venue_id, 4);
    cr_assert_eq(run_bar(bar(100, PX(100), PX(101), PX(99), PX(100))), 2);
    cr_assert_eq(fills[0].client_id, 11);
    cr_assert_eq(fills[1].client_id, 13);
    cr_assert_eq(nd_sim_venue_open_count(&venue), 2);
    cr_assert_eq(venue._open[0], &a);
    cr_assert_eq(venue._open[1], &c);
    cr_assert_eq(venue._eligible_after_ns[1], 2);
    /* Both limits trade on the same bar, a first. */
    cr_assert_eq(run_bar(bar(200, PX(49), PX(50), PX(48), PX(100))), 2);
    cr_assert_eq(fills[0].client_id, 10);
    cr_assert_eq(fills[1].client_id, 12);
    cr_assert_eq(nd_sim_venue_open_count(&venue), 0);
}

Test(exec_sim_venue, order_finished_by_caller_is_dropped)
{
    setup_default();
    nd_order_t o;
    submit(&o, 1, ND_SIDE_BUY, ND_ORDER_MARKET, 0, QTY_1BTC, 0);
    cr_assert_eq(nd_order_transition(&o, ND_ORDER_CANCELLED, 5), ND_OK);
    cr_assert_eq(run_bar(bar(100, PX(100), PX(101), PX(99), PX(100))), 0);
    cr_assert_eq(nd_sim_venue_open_count(&venue), 0);
    cr_assert_eq(o.filled_qty, 0);
}

Test(exec_sim_venue, submit_refusals)
{
    setup_default();
    nd_order_t o;
    nd_order_intent_t in = {.instrument_id = 0, .side = ND_SIDE_BUY, .type = ND_ORDER_LIMIT,
                            .px = PX(100), .qty = QTY_1BTC};
    nd_order_init(&o, 1, &in, 0, 0);
    o.status = ND_ORDER_ACCEPTED;
    cr_assert_eq(nd_sim_venue_submit(&venue, &o, 0), ND_ESTATE);
    in.instrument_id = 1;
    nd_order_init(&o, 1, &in, 0, 0);
    cr_assert_eq(nd_sim_venue_submit(&venue, &o, 0), ND_EINVAL);
    in.instrument_id = 0;
    in.qty = 0;
    nd_order_init(&o, 1, &in, 0, 0);
    cr_assert_eq(nd_sim_venue_submit(&venue, &o, 0), ND_EINVAL);
    in.qty = QTY_1BTC;
    in.px = 0;
    nd_order_init(&o, 1, &in, 0, 0);
    cr_assert_eq(nd_sim_venue_submit(&venue, &o, 0), ND_EINVAL);
    cr_assert_eq(o.status, ND_ORDER_NEW);
    cr_assert_eq(o.venue_id, 0);
    cr_assert_eq(nd_sim_venue_open_count(&venue), 0);
    cr_assert_eq(venue.next_venue_id, 1);
}

Test(exec_sim_venue, open_orders_limit)
{
    setup_default();
    for (uint64_t i = 0; i < ND_ORDERS_OPEN_MAX; i++)
        submit(&orders[i], i + 1, ND_SIDE_BUY, ND_ORDER_LIMIT, PX(10), 1000, 0);
    cr_assert_eq(nd_sim_venue_open_count(&venue), ND_ORDERS_OPEN_MAX);
    nd_order_t *extra = &orders[ND_ORDERS_OPEN_MAX];
    nd_order_intent_t in = {.instrument_id = 0, .side = ND_SIDE_BUY, .type = ND_ORDER_MARKET,
                            .qty = 1000};
    nd_order_init(extra, ND_ORDERS_OPEN_MAX + 1, &in, 0, 0);
    cr_assert_eq(nd_sim_venue_submit(&venue, extra, 0), ND_EFULL);
    cr_assert_eq(extra->status, ND_ORDER_NEW);
    cr_assert_eq(extra->venue_id, 0);
    /* One bar fills every one of them, in submission order. */
    cr_assert_eq(run_bar(bar(100, PX(10), PX(11), PX(9), PX(1000))), ND_ORDERS_OPEN_MAX);
    cr_assert_eq(fills[0].client_id, 1);
    cr_assert_eq(fills[ND_ORDERS_OPEN_MAX - 1].client_id, ND_ORDERS_OPEN_MAX);
    cr_assert_eq(nd_sim_venue_open_count(&venue), 0);
    cr_assert_eq(nd_sim_venue_submit(&venue, extra, 100), ND_OK);
}

Test(exec_sim_venue, price_overflow_reported_nothing_applied)
{
    nd_sim_config_t cfg;
    nd_sim_config_default(&cfg);
    cfg.slippage_bps_e2 = 1000;
    setup_with(&cfg);
    nd_order_t s, b;
    /* The sell is fine on its own; the buy's slipped price passes INT64_MAX. */
    submit(&s, 1, ND_SIDE_SELL, ND_ORDER_MARKET, 0, 1, 0);
    submit(&b, 2, ND_SIDE_BUY, ND_ORDER_MARKET, 0, 1, 0);
    nd_bar_t hi = bar(100, INT64_MAX - 10, INT64_MAX, 1, PX(100));
    size_t n = 999;
    cr_assert_eq(nd_sim_venue_on_bar(&venue, &hi, fills, ND_ORDERS_OPEN_MAX, &n), ND_EOVERFLOW);
    cr_assert_eq(n, 999);
    cr_assert_eq(s.status, ND_ORDER_ACCEPTED);
    cr_assert_eq(s.filled_qty, 0);
    cr_assert_eq(b.status, ND_ORDER_ACCEPTED);
    cr_assert_eq(nd_sim_venue_open_count(&venue), 2);
}

Test(exec_sim_venue, notional_overflow_reported)
{
    nd_sim_config_t cfg;
    nd_sim_config_default(&cfg);
    cfg.max_volume_share_e4 = 10000;
    setup_with(&cfg);
    nd_order_t o;
    /* 10,000 BTC at 100,000,000 USDT = 1e12 USDT = 1e20 cash units: past int64. */
    submit(&o, 1, ND_SIDE_BUY, ND_ORDER_MARKET, 0, 10000 * QTY_1BTC, 0);
    nd_bar_t b = bar(100, PX(100000000), PX(100000000), PX(100000000), 10000 * QTY_1BTC);
    size_t n = 999;
    cr_assert_eq(nd_sim_venue_on_bar(&venue, &b, fills, ND_ORDERS_OPEN_MAX, &n), ND_EOVERFLOW);
    cr_assert_eq(n, 999);
    cr_assert_eq(o.status, ND_ORDER_ACCEPTED);
    cr_assert_eq(o.fill_notional, 0);
}

Test(exec_sim_venue, bad_bar_refused)
{
    setup_default();
    nd_order_t o;
    submit(&o, 1, ND_SIDE_BUY, ND_ORDER_MARKET, 0, QTY_1BTC, 0);
    nd_bar_t b = bar(100, PX(100), PX(99), PX(98), PX(100)); /* open above high */
    size_t n = 999;
    cr_assert_eq(nd_sim_venue_on_bar(&venue, &b, fills, ND_ORDERS_OPEN_MAX, &n), ND_EINVAL);
    b = bar(100, PX(100), PX(101), PX(99), -1);
    cr_assert_eq(nd_sim_venue_on_bar(&venue, &b, fills, ND_ORDERS_OPEN_MAX, &n), ND_EINVAL);
    cr_assert_eq(n, 999);
    cr_assert_eq(o.status, ND_ORDER_ACCEPTED);
}

/* A fills buffer smaller than the working set is a programmer error. */
Test(exec_sim_venue, small_fill_buffer_aborts, .signal = SIGABRT)
{
    setup_default();
    nd_order_t a, b;
    submit(&a, 1, ND_SIDE_BUY, ND_ORDER_MARKET, 0, QTY_1BTC, 0);
    submit(&b, 2, ND_SIDE_BUY, ND_ORDER_MARKET, 0, QTY_1BTC, 0);
    nd_bar_t bb = bar(100, PX(100), PX(101), PX(99), PX(100));
    size_t n;
    nd_sim_venue_on_bar(&venue, &bb, fills, 1, &n);
}
