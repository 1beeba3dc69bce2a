/* test_portfolio.c: average-cost accounting worked out by hand, round trips across a flip,
 * attribution by strategy, asset and venue, the accounting invariants, and overflow.
 *
 * The worked example (BTC/USDT, 8 decimals everywhere, fee 10 bps on every fill):
 *   buy  0.5 @ 100: notional 50, fee 0.05            cash 9949.95     cost  50
 *   sell 0.2 @ 120: notional 24, fee 0.024, realised +4   cash 9973.926   cost  30
 *   sell 0.5 @  90: closes 0.3 (value 27, cost 30, realised -3, fee 0.027 of 0.045) and opens a
 *                   0.2 short (cost -18, fee 0.018)   cash 10018.881  cost -18
 *        -> long round trip: entry 100, exit (24+27)/0.5 = 102, pnl 4-3-(0.05+0.024+0.027)=0.899
 *   buy  0.2 @  80: closes the short, realised -16+18 = +2, fee 0.016
 *        -> short round trip: entry 90, exit 80, pnl 2-(0.018+0.016) = 1.966 */
#include <criterion/criterion.h>

#include "noderr/portfolio.h"

#define U 100000000LL /* one unit at 8 decimals */
#define Q(x) ((int64_t)((x) * (double)U + ((x) >= 0 ? 0.5 : -0.5)))

static nd_instrument_t inst[2];
static nd_portfolio_t *pf;
static nd_trade_t trades[8];
static int trade_count;

static void on_trade(void *ctx, const nd_trade_t *t)
{
    (void)ctx;
    cr_assert_lt(trade_count, 8);
    trades[trade_count++] = *t;
}

static void setup(void)
{
    cr_assert_eq(nd_instrument_init(&inst[0], "BTC/USDT", "sim"), ND_OK);
    cr_assert_eq(nd_instrument_init(&inst[1], "ETH/USDT", "binance"), ND_OK);
    inst[1].id = 1;
    int64_t weights[2] = {500000, 500000};
    cr_assert_eq(nd_portfolio_create(inst, 2, weights, 2, 10000 * U, &pf), ND_OK);
    nd_portfolio_on_trade(pf, on_trade, NULL);
    trade_count = 0;
}

static void teardown(void)
{
    nd_portfolio_destroy(pf);
}

TestSuite(portfolio, .init = setup, .fini = teardown);

static void fill(uint32_t s, uint32_t i, nd_side_t side, double px, double qty, int64_t ts)
{
    nd_fill_t f = {0};
    f.strategy_index = s;
    f.instrument_id = i;
    f.side = side;
    f.px = Q(px);
    f.qty = Q(qty);
    f.notional = Q(px * qty);
    f.fee = Q(px * qty * 0.001);
    f.ts_ns = ts;
    cr_assert_eq(nd_portfolio_apply_fill(pf, &f), ND_OK);
    char err[128];
    cr_assert(nd_portfolio_check(pf, err, sizeof err), "%s", err);
}

Test(portfolio, worked_example)
{
    fill(0, 0, ND_SIDE_BUY, 100, 0.5, 1);
    const nd_position_t *pos = nd_portfolio_position(pf, 0, 0);
    cr_assert_eq(nd_portfolio_cash(pf), Q(9949.95));
    cr_assert_eq(pos->qty, Q(0.5));
    cr_assert_eq(pos->cost, Q(50));
    nd_portfolio_mark(pf, 0, Q(110), NULL);
    cr_assert_eq(nd_portfolio_equity(pf), Q(10004.95));
    cr_assert_eq(nd_portfolio_unrealized(pf, 0, 0), Q(5));

    fill(0, 0, ND_SIDE_SELL, 120, 0.2, 2);
    cr_assert_eq(pos->realized, Q(4));
    cr_assert_eq(pos->cost, Q(30));
    cr_assert_eq(nd_portfolio_cash(pf), Q(9973.926));

    fill(0, 0, ND_SIDE_SELL, 90, 0.5, 3);
    cr_assert_eq(pos->qty, Q(-0.2));
    cr_assert_eq(pos->cost, Q(-18));
    cr_assert_eq(pos->realized, Q(1));
    cr_assert_eq(nd_portfolio_cash(pf), Q(10018.881));
    cr_assert_eq(trade_count, 1);
    cr_assert_eq(trades[0].direction, 1);
    cr_assert_eq(trades[0].entry_ns, 1);
    cr_assert_eq(trades[0].exit_ns, 3);
    cr_assert_eq(trades[0].qty, Q(0.5));
    cr_assert_eq(trades[0].entry_px, Q(100));
    cr_assert_eq(trades[0].exit_px, Q(102));
    cr_assert_eq(trades[0].pnl, Q(0.899));
    cr_assert_eq(trades[0].fees, Q(0.101));

    nd_portfolio_mark(pf, 0, Q(90), NULL);
    cr_assert_eq(nd_portfolio_equity(pf), Q(10000.881));
    fill(0, 0, ND_SIDE_BUY, 80, 0.2, 4);
    cr_assert_eq(pos->qty, 0);
    cr_assert_eq(pos->cost, 0);
    cr_assert_eq(pos->realized, Q(3));
    cr_assert_eq(trade_count, 2);
    cr_assert_eq(trades[1].direction, -1);
    cr_assert_eq(trades[1].entry_px, Q(90));
    cr_assert_eq(trades[1].exit_px, Q(80));
    cr_assert_eq(trades[1].pnl, Q(1.966));
    cr_assert_eq(nd_portfolio_fees(pf), Q(0.135));

    nd_attribution_t a;
    nd_portfolio_by_strategy(pf, 0, &a);
    cr_assert_eq(a.realized, Q(3));
    cr_assert_eq(a.fees, Q(0.135));
    cr_assert_eq(a.net, Q(2.865));
    cr_assert_eq(a.trades, 2);
    nd_portfolio_mark(pf, 0, Q(80), NULL);
    cr_assert_eq(nd_portfolio_equity(pf), Q(10002.865));
}

Test(portfolio, attribution_by_strategy_asset_and_venue)
{
    fill(0, 0, ND_SIDE_BUY, 100, 1, 1);  /* strategy 0, BTC on sim */
    fill(1, 1, ND_SIDE_BUY, 10, 2, 1);   /* strategy 1, ETH on binance */
    nd_portfolio_mark(pf, 0, Q(110), NULL);
    nd_portfolio_mark(pf, 1, Q(9), NULL);
    nd_attribution_t s0, s1, btc, eth, sim, bin;
    nd_portfolio_by_strategy(pf, 0, &s0);
    nd_portfolio_by_strategy(pf, 1, &s1);
    nd_portfolio_by_instrument(pf, 0, &btc);
    nd_portfolio_by_instrument(pf, 1, &eth);
    nd_portfolio_by_venue(pf, "sim", &sim);
    nd_portfolio_by_venue(pf, "binance", &bin);
    cr_assert_eq(s0.unrealized, Q(10));
    cr_assert_eq(s0.fees, Q(0.1));
    cr_assert_eq(s1.unrealized, Q(-2));
    cr_assert_eq(s1.fees, Q(0.02));
    cr_assert_eq(btc.net, s0.net);
    cr_assert_eq(eth.net, s1.net);
    cr_assert_eq(sim.net, Q(9.9));
    cr_assert_eq(bin.net, Q(-2.02));
    /* Sleeves: half of 10000 each plus their own P&L. */
    cr_assert_eq(nd_portfolio_strategy_equity(pf, 0), Q(5009.9));
    cr_assert_eq(nd_portfolio_strategy_equity(pf, 1), Q(4997.98));
    cr_assert_eq(nd_portfolio_equity(pf), Q(10007.88));
    cr_assert(nd_portfolio_has_positions(pf));
}

Test(portfolio, offsetting_strategies_net_to_zero)
{
    fill(0, 0, ND_SIDE_BUY, 100, 1, 1);
    fill(1, 0, ND_SIDE_SELL, 100, 1, 1);
    cr_assert_eq(nd_portfolio_net_qty(pf, 0), 0);
    cr_assert(nd_portfolio_has_positions(pf));
    nd_portfolio_mark(pf, 0, Q(150), NULL);
    /* Net flat: equity moves only by the fees. */
    cr_assert_eq(nd_portfolio_equity(pf), Q(10000 - 0.2));
}

Test(portfolio, bad_fills_and_overflow_leave_state_untouched)
{
    nd_fill_t f = {0};
    f.side = ND_SIDE_BUY;
    f.qty = 0;
    cr_assert_eq(nd_portfolio_apply_fill(pf, &f), ND_EINVAL);
    f.qty = 1;
    f.instrument_id = 7;
    cr_assert_eq(nd_portfolio_apply_fill(pf, &f), ND_EINVAL);
    f.instrument_id = 0;
    f.notional = INT64_MAX;
    f.fee = INT64_MAX;
    cr_assert_eq(nd_portfolio_apply_fill(pf, &f), ND_EOVERFLOW);
    cr_assert_eq(nd_portfolio_cash(pf), 10000 * U);
    cr_assert_eq(nd_portfolio_position(pf, 0, 0)->qty, 0);
    char err[128];
    cr_assert(nd_portfolio_check(pf, err, sizeof err), "%s", err);
}

Test(portfolio, create_rejects_bad_arguments)
{
    nd_portfolio_t *p = NULL;
    int64_t w[2] = {600000, 600000};
    cr_assert_eq(nd_portfolio_create(inst, 2, w, 2, 10000 * U, &p), ND_EINVAL);
    int64_t w1[1] = {1000000};
    cr_assert_eq(nd_portfolio_create(inst, 2, w1, 1, 0, &p), ND_EINVAL);
    cr_assert_eq(nd_portfolio_create(inst, 0, w1, 1, 100, &p), ND_EINVAL);
}

/* Every position's value at its mark fits the cash scale, so unrealised P&L is always exact:
 * a mark at which a position would be worth more than INT64_MAX cash units is refused (the mark
 * and the equity unchanged), and so is a fill that would make the position worth that much at
 * the last mark. Unrealised P&L used to come out as 0 there. */
Test(portfolio, a_position_worth_more_than_the_cash_scale_is_refused)
{
    nd_portfolio_mark(pf, 0, Q(100), NULL);
    fill(0, 0, ND_SIDE_BUY, 100, 1000, 1); /* 1000 BTC at 100: notional 100,000 */
    __int128 before = nd_portfolio_equity_ext(pf);
    /* 1000 BTC (1e11 units) x px: fits while px * 1e11 / 1e8 <= INT64_MAX. */
    int64_t limit = INT64_MAX / 1000;
    cr_assert_eq(nd_portfolio_mark(pf, 0, limit, NULL), ND_OK);
    cr_assert_eq(nd_portfolio_unrealized(pf, 0, 0),
                 (int64_t)((__int128)limit * Q(1000) / U) - Q(100000), "exact at the limit");
    cr_assert_eq(nd_portfolio_mark(pf, 0, limit + 1, NULL), ND_EOVERFLOW);
    cr_assert_eq(nd_portfolio_last_px(pf, 0), limit);
    cr_assert_eq(nd_portfolio_mark(pf, 0, Q(100), NULL), ND_OK);
    cr_assert(nd_portfolio_equity_ext(pf) == before);
    /* At this mark 1000 BTC fit and 2000 would not: the second buy is refused. */
    cr_assert_eq(nd_portfolio_mark(pf, 0, INT64_MAX / 1500, NULL), ND_OK);
    nd_fill_t f = {.strategy_index = 0, .instrument_id = 0, .side = ND_SIDE_BUY, .px = Q(100),
                   .qty = Q(1000), .notional = Q(100000), .fee = 0, .ts_ns = 2};
    cr_assert_eq(nd_portfolio_apply_fill(pf, &f), ND_EOVERFLOW);
    cr_assert_eq(nd_portfolio_position(pf, 0, 0)->qty, Q(1000), "nothing booked");
}

/* The mark adds net_qty x value_mult x move as one 64 x 64-bit product while net_qty x
 * value_mult fits an int64, and as the full three-factor product beyond: both exact. With an
 * instrument at 8 + 16 decimals the extended scale is 24 decimals and BTC/USDT's value_mult is
 * 10^8, so 1,010 BTC (1.01e11 units) x 10^8 is past INT64_MAX and 10 BTC is not. */
static nd_instrument_t wide_inst[2];

Test(portfolio, marks_are_exact_when_the_quantity_times_the_scale_overflows_int64)
{
    nd_portfolio_destroy(pf);
    wide_inst[0] = inst[0];
    wide_inst[1] = inst[1];
    wide_inst[1].qty_decimals = 16;
    int64_t weights[2] = {500000, 500000};
    cr_assert_eq(nd_portfolio_create(wide_inst, 2, weights, 2, 10000 * U, &pf), ND_OK);
    cr_assert_eq(nd_portfolio_ext_decimals(pf), 24);
    const __int128 value_mult = 100000000; /* 10^(24 - 8 - 8) */
    char err[128];
    nd_portfolio_mark(pf, 0, Q(100), NULL);
    const double sizes[3] = {10, 1010, 10}; /* fits, past int64, fits again */
    for (int k = 0; k < 3; k++) {
        if (k == 0)
            fill(0, 0, ND_SIDE_BUY, 100, 10, 1);
        else if (k == 1)
            fill(0, 0, ND_SIDE_BUY, 100, 1000, 2);
        else
            fill(0, 0, ND_SIDE_SELL, 100, 1000, 3);
        const int64_t marks[4] = {Q(101), Q(99.5), Q(123.45678901), Q(100)};
        int64_t prev = Q(100);
        for (int m = 0; m < 4; m++) {
            __int128 before = nd_portfolio_equity_ext(pf);
            int64_t net = 0;
            cr_assert_eq(nd_portfolio_mark(pf, 0, marks[m], &net), ND_OK);
            cr_assert_eq(net, Q(sizes[k]));
            cr_assert(nd_portfolio_equity_ext(pf) - before ==
                          (__int128)Q(sizes[k]) * (marks[m] - prev) * value_mult,
                      "size %g, mark %d", sizes[k], m);
            cr_assert(nd_portfolio_check(pf, err, sizeof err), "%s", err);
            prev = marks[m];
        }
    }
}
