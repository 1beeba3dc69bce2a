/* test_live_basefee.c: commissions paid in the base asset, end to end without sockets. A buy on
 * Binance (and exchange-sim) pays its commission in the asset received, so the account gets
 * qty - commission; the engine's fill carries it as fee_qty and the portfolio books the
 * position the account holds. Examples of the booking rule, then a property test over many
 * seeds: random orders at exchange-sim's matching engine, every trade through the live
 * adapter's fill conversion into a portfolio and into the reconciliation view, and
 *   engine position == sum(buys - base fees) - sum(sells) == the venue's base balance change
 *   engine cash     == the venue's quote balance change == the local view's
 * with the portfolio's invariants checked after every fill. */
#include "noderr/alloc.h"
#include "noderr/binance.h"
#include "noderr/portfolio.h"
#include "noderr/rand.h"
#include "noderr/reconcile.h"
#include "noderr/xsim.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#define E8 100000000LL
#define T0 ((int64_t)1700000000 * ND_NS_PER_SEC)

static const nd_recon_instrument_t assets = {.base = "BTC", .quote = "USDT"};

static nd_portfolio_t *open_portfolio(nd_instrument_t *inst, int64_t cash)
{
    cr_assert_eq(nd_instrument_init(inst, "BTCUSDT", "binance"), ND_OK);
    int64_t w = 1000000;
    nd_portfolio_t *p = NULL;
    cr_assert_eq(nd_portfolio_create(inst, 1, &w, 1, cash, &p), ND_OK);
    return p;
}

static void check(const nd_portfolio_t *p)
{
    char why[200] = "";
    cr_assert(nd_portfolio_check(p, why, sizeof why), "%s", why);
}

Test(basefee, a_buy_holds_qty_less_the_fee_at_the_whole_notional)
{
    nd_instrument_t inst;
    nd_portfolio_t *p = open_portfolio(&inst, 10000 * E8);
    /* 1 BTC at 100 USDT, 0.001 BTC commission: 0.999 BTC held for 100 USDT. */
    nd_fill_t buy = {.instrument_id = 0, .side = ND_SIDE_BUY, .px = 100 * E8, .qty = E8,
                     .notional = 100 * E8, .fee_qty = E8 / 1000};
    cr_assert_eq(nd_portfolio_apply_fill(p, &buy), ND_OK);
    const nd_position_t *pos = nd_portfolio_position(p, 0, 0);
    cr_assert_eq(pos->qty, E8 - E8 / 1000);
    cr_assert_eq(nd_portfolio_cash(p), 9900 * E8, "the cash moved is the notional");
    cr_assert_eq(nd_portfolio_fees(p), E8 / 10, "the fee's value: 0.001 BTC at 100");
    cr_assert_eq(pos->cost, 100 * E8 - E8 / 10, "the basis of what was bought: notional - fee");
    check(p);
    /* Selling everything held (0.999) at 100 with a quote fee: flat, realised 0 gross. */
    nd_fill_t sell = {.instrument_id = 0, .side = ND_SIDE_SELL, .px = 100 * E8,
                      .qty = E8 - E8 / 1000, .notional = 9990000000LL, .fee = 9990000};
    cr_assert_eq(nd_portfolio_apply_fill(p, &sell), ND_OK);
    cr_assert_eq(pos->qty, 0);
    cr_assert_eq(pos->cost, 0);
    cr_assert_eq(pos->realized, 0);
    cr_assert_eq(nd_portfolio_cash(p), 9900 * E8 + 9990000000LL - 9990000);
    cr_assert_eq(nd_portfolio_equity(p), nd_portfolio_cash(p));
    cr_assert_eq(nd_portfolio_cash(p) - 10000 * E8, -(nd_portfolio_fees(p)),
                 "a round trip at one price loses exactly its fees");
    check(p);
    nd_portfolio_destroy(p);
}

Test(basefee, a_sells_base_fee_sells_more_and_bad_fees_are_refused)
{
    nd_instrument_t inst;
    nd_portfolio_t *p = open_portfolio(&inst, 10000 * E8);
    nd_fill_t buy = {.side = ND_SIDE_BUY, .px = 100 * E8, .qty = 2 * E8, .notional = 200 * E8};
    cr_assert_eq(nd_portfolio_apply_fill(p, &buy), ND_OK);
    nd_fill_t sell = {.side = ND_SIDE_SELL, .px = 110 * E8, .qty = E8, .notional = 110 * E8,
                      .fee_qty = E8 / 100};
    cr_assert_eq(nd_portfolio_apply_fill(p, &sell), ND_OK);
    cr_assert_eq(nd_portfolio_net_qty(p, 0), E8 - E8 / 100, "1.01 BTC left the account");
    cr_assert_eq(nd_portfolio_cash(p), (10000 - 200 + 110) * E8, "and 110 USDT came in");
    cr_assert_eq(nd_portfolio_fees(p), 110 * E8 / 100);
    check(p);
    nd_fill_t too_much = {.side = ND_SIDE_BUY, .px = 100 * E8, .qty = E8, .notional = 100 * E8,
                          .fee_qty = E8};
    cr_assert_eq(nd_portfolio_apply_fill(p, &too_much), ND_EINVAL, "a buy's fee below its qty");
    too_much.fee_qty = -1;
    cr_assert_eq(nd_portfolio_apply_fill(p, &too_much), ND_EINVAL);
    cr_assert_eq(nd_portfolio_net_qty(p, 0), E8 - E8 / 100, "nothing booked");
    check(p);
    nd_portfolio_destroy(p);
}

Test(basefee, the_adapter_books_each_commission_asset_as_paid)
{
    nd_recon_trade_t t = {.trade_id = 1, .venue_order_id = 7, .side = ND_SIDE_BUY,
                          .px = 100 * E8, .qty = E8, .quote_qty = 100 * E8, .commission = 1000};
    nd_fill_t f;
    nd_binance_exec_fill_of(&t, &assets, 3, 0, 0, &f); /* "": the asset received, base */
    cr_assert_eq(f.fee_qty, 1000);
    cr_assert_eq(f.fee, 0);
    strcpy(t.commission_asset, "USDT"); /* a buy whose fee was taken in quote */
    nd_binance_exec_fill_of(&t, &assets, 3, 0, 0, &f);
    cr_assert_eq(f.fee_qty, 0);
    cr_assert_eq(f.fee, 1000);
    strcpy(t.commission_asset, "BNB"); /* paid in BNB: outside this instrument's account */
    nd_binance_exec_fill_of(&t, &assets, 3, 0, 0, &f);
    cr_assert_eq(f.fee_qty, 0);
    cr_assert_eq(f.fee, 0);
    t.side = ND_SIDE_SELL;
    t.commission_asset[0] = '\0';
    nd_binance_exec_fill_of(&t, &assets, 3, 0, 0, &f); /* a sell's: quote */
    cr_assert_eq(f.fee, 1000);
    cr_assert_eq(f.fee_qty, 0);
    /* The local view moves base and quote by the trade alone for a BNB fee (the venue view
     * holds the instrument's two assets only). */
    nd_recon_local_t *l = nd_calloc(1, sizeof *l);
    cr_assert_not_null(l);
    strcpy(t.commission_asset, "BNB");
    cr_assert_eq(nd_recon_book_trade(l, &t, &assets, 1), ND_OK);
    int64_t btc = 0, usdt = 0, bnb = 0;
    for (uint32_t i = 0; i < l->balance_count; i++) {
        int64_t a = l->balances[i].amount;
        const char *n = l->balances[i].asset;
        btc += strcmp(n, "BTC") == 0 ? a : 0;
        usdt += strcmp(n, "USDT") == 0 ? a : 0;
        bnb += strcmp(n, "BNB") == 0 ? a : 0;
    }
    cr_assert_eq(btc, -E8);
    cr_assert_eq(usdt, 100 * E8);
    cr_assert_eq(bnb, 0);
    nd_free(l);
}

static nd_xsim_t *open_exchange(uint64_t seed, int64_t fee_bps)
{
    nd_xsim_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cr_assert_eq(nd_instrument_init(&cfg.inst, "BTCUSDT", "xsim"), ND_OK);
    cfg.quote_balance = 1000000 * E8;
    cfg.base_balance = 10 * E8;
    cfg.fee_bps = fee_bps;
    nd_synth_ticks_config_default(&cfg.synth);
    cfg.synth.step_ns = 100 * ND_NS_PER_MS;
    cfg.synth.seed = seed;
    char err[256] = "";
    nd_xsim_t *x = NULL;
    cr_assert_eq(nd_xsim_create(&cfg, T0, &x, err, sizeof err), ND_OK, "%s", err);
    return x;
}

static int64_t local_amount(const nd_recon_local_t *l, const char *asset)
{
    for (uint32_t i = 0; i < l->balance_count; i++)
        if (strcmp(l->balances[i].asset, asset) == 0)
            return l->balances[i].amount;
    return 0;
}

/* Random orders: market buys and sells, and limits around the touch that may rest and fill
 * later as the synthetic market moves. */
static void place_random(nd_xsim_t *x, nd_rand_t *rng, int64_t now_ns)
{
    nd_xsim_new_order_t r = {.side = nd_rand_below(rng, 2) ? ND_SIDE_BUY : ND_SIDE_SELL,
                             .qty = (int64_t)(1 + nd_rand_below(rng, 5000)) * 10000};
    if (nd_rand_below(rng, 2)) {
        r.type = ND_XSIM_MARKET;
    } else {
        int64_t best = nd_xsim_book_best(nd_xsim_book(x), r.side);
        if (best <= 0)
            return;
        r.type = ND_XSIM_LIMIT;
        r.tif = ND_XSIM_GTC;
        r.px = best + ((int64_t)nd_rand_below(rng, 11) - 5) * E8 / 100;
    }
    int64_t id = 0;
    (void)nd_xsim_place(x, &r, now_ns, &id); /* balance and filter rejects are fine */
}

static size_t run_seed(uint64_t seed)
{
    nd_rand_t rng;
    nd_rand_init(&rng, seed);
    nd_xsim_t *x = open_exchange(seed, 1 + (int64_t)nd_rand_below(&rng, 30));
    int64_t bf0, bl0, qf0, ql0;
    nd_xsim_balances(x, &bf0, &bl0, &qf0, &ql0);
    nd_instrument_t inst;
    nd_portfolio_t *p = open_portfolio(&inst, qf0 + ql0);
    nd_recon_local_t *l = nd_calloc(1, sizeof *l);
    cr_assert_not_null(l);
    int64_t now = T0, bought = 0, sold = 0, base_fees = 0;
    size_t seen = 0;
    for (int step = 0; step < 200; step++) {
        now += 100 * ND_NS_PER_MS;
        nd_xsim_advance(x, now);
        place_random(x, &rng, now);
        for (; seen < nd_xsim_trade_count(x); seen++) {
            const nd_xsim_trade_t *xt = nd_xsim_trade_at(x, seen);
            nd_recon_trade_t t = {.trade_id = xt->id, .venue_order_id = xt->order_id,
                                  .side = xt->is_buyer ? ND_SIDE_BUY : ND_SIDE_SELL,
                                  .maker = xt->is_maker, .px = xt->px, .qty = xt->qty,
                                  .quote_qty = xt->quote_qty, .commission = xt->commission,
                                  .ts_ns = xt->time_ns};
            strcpy(t.commission_asset, xt->commission_in_base ? "BTC" : "USDT");
            nd_fill_t f;
            nd_binance_exec_fill_of(&t, &assets, seen + 1, 0, 0, &f);
            cr_assert_eq(nd_portfolio_apply_fill(p, &f), ND_OK, "seed %llu", (unsigned long long)seed);
            check(p);
            cr_assert_eq(nd_recon_book_trade(l, &t, &assets, 1), ND_OK);
            bought += t.side == ND_SIDE_BUY ? t.qty : 0;
            sold += t.side == ND_SIDE_SELL ? t.qty : 0;
            base_fees += f.fee_qty;
        }
    }
    int64_t bf, bl, qf, ql;
    nd_xsim_balances(x, &bf, &bl, &qf, &ql);
    int64_t position = nd_portfolio_net_qty(p, 0);
    cr_assert_eq(position, bought - base_fees - sold, "reproduce with seed %llu",
                 (unsigned long long)seed);
    cr_assert_eq(position, (bf + bl) - (bf0 + bl0), "engine position == venue base change, "
                 "seed %llu", (unsigned long long)seed);
    cr_assert_eq(position, local_amount(l, "BTC"), "== the local view's, seed %llu",
                 (unsigned long long)seed);
    cr_assert_eq(nd_portfolio_cash(p) - (qf0 + ql0), (qf + ql) - (qf0 + ql0),
                 "engine cash == venue quote, seed %llu", (unsigned long long)seed);
    cr_assert_eq(local_amount(l, "USDT"), (qf + ql) - (qf0 + ql0));
    nd_free(l);
    nd_portfolio_destroy(p);
    nd_xsim_destroy(x);
    return seen;
}

Test(basefee, position_equals_fills_less_base_fees_equals_the_venues_balance, .timeout = 120)
{
    size_t trades = 0;
    for (uint64_t seed = 1; seed <= 200; seed++)
        trades += run_seed(seed);
    cr_assert_gt(trades, 2000, "the seeds traded (%zu trades)", trades);
}
