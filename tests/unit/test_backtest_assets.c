/* test_backtest_assets.c: bar backtests over several instruments (one portfolio, attribution
 * per asset, one return per bar time), instrument rules from an exchangeInfo file, and the trade
 * tally that cannot overflow. */
#include "noderr/backtest.h"
#include "noderr/strategy.h"

#include <criterion/criterion.h>
#include <string.h>
#include <unistd.h>

#define INFO ND_TEST_DATA_DIR "/../integration/data/exchange_info_usdt.json"
#define ETH ND_SHARED_DIR "/data/ETHUSDT-1h.csv"
#define BTC ND_SHARED_DIR "/data/BTCUSDT-1h.csv"

static void config(nd_backtest_config_t *cfg)
{
    if (access(ETH, R_OK) != 0 || access(BTC, R_OK) != 0)
        cr_skip_test("%s/data is absent: the asset tests need its ETH and BTC candles",
                     ND_SHARED_DIR);
    nd_backtest_config_default(cfg);
    cfg->data_path = ETH;
    strcpy(cfg->symbol, "ETH/USDT");
    cfg->strategies[0].def = nd_strategy_find("sma_cross");
    cr_assert_not_null(cfg->strategies[0].def);
    nd_strategy_params_default(cfg->strategies[0].def, cfg->strategies[0].params);
    cfg->strategy_count = 1;
    char err[160];
    cr_assert_eq(nd_timerange_parse("20220101-20220401", 17, &cfg->view.range, err, sizeof err),
                 ND_OK);
}

static void add_btc(nd_backtest_config_t *cfg)
{
    cfg->more[0].data_path = BTC;
    strcpy(cfg->more[0].symbol, "BTC/USDT");
    cfg->more_count = 1;
}

Test(backtest_assets, rules_from_exchange_info)
{
    nd_backtest_config_t cfg;
    config(&cfg);
    add_btc(&cfg);
    char err[256] = "";
    cr_assert_eq(nd_backtest_rules_load(&cfg, INFO, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(cfg.rules[0].tick_size_e8, 1000000);
    cr_assert_eq(cfg.rules[0].lot_size_e8, 10000);
    cr_assert_eq(cfg.rules[0].min_notional_e8, 500000000);  /* NOTIONAL minNotional */
    cr_assert_eq(cfg.rules[1].min_notional_e8, 1000000000); /* MIN_NOTIONAL */
    cr_assert_str_eq(cfg.rules[1].source, INFO);
    nd_backtest_result_t r;
    cr_assert_eq(nd_backtest_run(&cfg, &r, err, sizeof err), ND_OK, "%s", err);
    const nd_instrument_t *eth = nd_engine_instrument(r.engine, 0);
    cr_assert_eq(eth->lot_size, 10000);
    cr_assert_eq(eth->min_notional, 500000000);
    nd_backtest_result_free(&r);
    /* Scales too coarse for a rule are an error, not a rounding. */
    cfg.px_decimals = 1;
    cfg.qty_decimals = 8;
    cr_assert_eq(nd_backtest_run(&cfg, &r, err, sizeof err), ND_EINVAL);
    cr_assert(strstr(err, "more decimals than the instrument's scales") != NULL, "%s", err);
    nd_backtest_result_free(&r);
    strcpy(cfg.more[0].symbol, "XRP/USDT");
    cr_assert_eq(nd_backtest_rules_load(&cfg, INFO, err, sizeof err), ND_ENOTFOUND);
    cr_assert(strstr(err, "lists no symbol XRPUSDT") != NULL, "%s", err);
}

Test(backtest_assets, one_portfolio_attribution_per_asset)
{
    nd_backtest_config_t cfg;
    config(&cfg);
    add_btc(&cfg);
    char err[256] = "";
    nd_backtest_result_t r;
    cr_assert_eq(nd_backtest_run(&cfg, &r, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(r.instrument_count, 2);
    cr_assert_eq(nd_engine_strategy_count(r.engine), 2);
    /* Q1 2022 has 2160 hours and both files hold every one: one return per hour, not per bar. */
    cr_assert_eq(nd_engine_stats(r.engine)->bars, 2 * 2160);
    cr_assert_eq(r.returns.count, 2160);
    nd_portfolio_t *p = nd_engine_portfolio(r.engine);
    nd_attribution_t a, b;
    nd_portfolio_by_instrument(p, 0, &a);
    nd_portfolio_by_instrument(p, 1, &b);
    cr_assert_gt(a.trades, 0);
    cr_assert_gt(b.trades, 0);
    cr_assert_eq(nd_portfolio_initial_cash(p) + a.net + b.net, r.final_equity);
    for (size_t k = 0; k < r.trade_count; k++)
        cr_assert_lt(r.trades[k].instrument_id, 2);
    nd_backtest_result_free(&r);
    strcpy(cfg.more[0].symbol, "ETH/USDT");
    cr_assert_eq(nd_backtest_run(&cfg, &r, err, sizeof err), ND_EINVAL);
    cr_assert(strstr(err, "ETH/USDT twice") != NULL, "%s", err);
    nd_backtest_result_free(&r);
}

Test(backtest_assets, one_instrument_unchanged_by_the_machinery)
{
    /* The same file twice under two names would double the bars; one file must give exactly the
     * returns of a plain run. */
    nd_backtest_config_t cfg;
    config(&cfg);
    char err[256] = "";
    nd_backtest_result_t r;
    cr_assert_eq(nd_backtest_run(&cfg, &r, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(r.instrument_count, 1);
    cr_assert_eq(r.returns.count, 2160);
    nd_backtest_result_free(&r);
}

/* The trade tally cannot overflow: P&Ls near the int64 limits add up exactly in 128 bits, and
 * the profit factor is their ratio (it used to overflow a signed int64 past two such trades). */
Test(backtest_assets, trade_tally_does_not_overflow)
{
    nd_trade_stats_t ts;
    memset(&ts, 0, sizeof ts);
    nd_trade_t win = {.pnl = INT64_MAX}, loss = {.pnl = INT64_MIN};
    for (int k = 0; k < 3; k++)
        nd_trade_stats_add(&ts, &win);
    nd_trade_stats_add(&ts, &loss);
    cr_assert_eq(ts.trades, 4);
    cr_assert_eq(ts.winners, 3);
    cr_assert(ts.gross_profit == (__int128)INT64_MAX * 3);
    cr_assert(ts.gross_loss == -(__int128)INT64_MIN);
}
