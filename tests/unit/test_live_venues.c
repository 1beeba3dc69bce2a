/* test_live_venues.c: a session config with two venues ("venues": Binance and Coinbase): each
 * venue's endpoints, symbols (its instruments, in order), order tag and key source; strategies
 * naming their venue (required with two) and running on its symbols only; the single "venue"
 * form meaning a list of one; every mistake named by its key. And the run: a strategy with an
 * instrument mask gets engine slots on those instruments only, its weight split among them. */
#include <criterion/criterion.h>

#include "noderr/backtest.h"
#include "noderr/live.h"
#include "noderr/reconcile.h"
#include "noderr/strategy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static nd_err_t load_text(const char *text, nd_live_config_t *cfg, char *err, size_t len)
{
    char path[128];
    snprintf(path, sizeof path, "/tmp/nd_live_venues_%d.json", (int)getpid());
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
    nd_err_t rc = nd_live_config_load(path, cfg, err, len);
    unlink(path);
    return rc;
}

#define TWO_VENUES                                                                            \
    "\"venues\": [{\"name\": \"binance\", \"rest_url\": \"http://127.0.0.1:1\","              \
    "  \"ws_url\": \"ws://127.0.0.1:1\", \"symbols\": [\"BTC/USDT\", \"ETH/USDT\"]},"         \
    " {\"name\": \"coinbase\", \"rest_url\": \"http://127.0.0.1:2\","                         \
    "  \"ws_url\": \"ws://127.0.0.1:2\", \"secrets_file\": \"cb.secrets\","                   \
    "  \"order_tag\": \"cb\", \"symbol\": \"BTC/USD\"}]"

Test(live_venues, two_venues_read)
{
    nd_live_config_t cfg;
    char err[512] = "";
    const char *text = "{\"name\": \"Two1\", " TWO_VENUES ","
                       " \"strategies\": [{\"builtin\": \"quote_maker\", \"venue\": \"coinbase\"},"
                       "  {\"builtin\": \"quote_maker\", \"venue\": \"binance\", \"weight\": 0.4}]}";
    cr_assert_eq(load_text(text, &cfg, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(cfg.venue_count, 2);
    cr_assert_eq(cfg.symbol_count, 3);
    const nd_live_venue_config_t *b = &cfg.venues[0], *c = &cfg.venues[1];
    cr_assert_eq(b->venue, ND_VENUE_BINANCE);
    cr_assert_eq(c->venue, ND_VENUE_COINBASE);
    cr_assert_str_eq(b->rest_url, "http://127.0.0.1:1");
    cr_assert_str_eq(b->ws_api_url, "ws://127.0.0.1:1/ws-api/v3");
    cr_assert_str_eq(c->rest_url, "http://127.0.0.1:2");
    cr_assert_str_eq(c->secrets_file, "cb.secrets");
    cr_assert_str_eq(b->secrets_file, "");
    cr_assert_str_eq(b->order_tag, "two1"); /* the session name's */
    cr_assert_str_eq(c->order_tag, "cb");
    cr_assert_eq(b->symbol_first, 0);
    cr_assert_eq(b->symbol_count, 2);
    cr_assert_eq(c->symbol_first, 2);
    cr_assert_eq(c->symbol_count, 1);
    cr_assert_str_eq(cfg.venue_symbols[0], "BTCUSDT");
    cr_assert_str_eq(cfg.venue_symbols[1], "ETHUSDT");
    cr_assert_str_eq(cfg.venue_symbols[2], "BTC-USD");
    cr_assert_eq(cfg.venue_of[0], 0);
    cr_assert_eq(cfg.venue_of[1], 0);
    cr_assert_eq(cfg.venue_of[2], 1);
    cr_assert_str_eq(cfg.bt.symbol, "BTC/USDT");
    cr_assert_str_eq(cfg.bt.more[1].symbol, "BTC/USD");
    cr_assert_eq(cfg.bt.more_count, 2);
    cr_assert_eq(cfg.strategies[0].venue, 1);
    cr_assert_eq(cfg.strategies[0].instrument_mask, 0x4u);
    cr_assert_eq(cfg.strategies[1].venue, 0);
    cr_assert_eq(cfg.strategies[1].instrument_mask, 0x3u);
    nd_live_config_free(&cfg);
}

Test(live_venues, one_venue_forms_agree)
{
    nd_live_config_t a, b;
    char err[512] = "";
    cr_assert_eq(load_text("{\"name\": \"t\", \"venue\": {\"name\": \"coinbase\"},"
                           " \"symbols\": [\"BTC/USD\", \"ETH/USD\"],"
                           " \"strategies\": [{\"builtin\": \"quote_maker\"}]}",
                           &a, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(load_text("{\"name\": \"t\", \"venues\": [{\"name\": \"coinbase\","
                           " \"symbols\": [\"BTC/USD\", \"ETH/USD\"]}],"
                           " \"strategies\": [{\"builtin\": \"quote_maker\", \"venue\": \"coinbase\"}]}",
                           &b, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(a.venue_count, 1);
    cr_assert_eq(b.venue_count, 1);
    cr_assert_eq(memcmp(&a.venues[0], &b.venues[0], sizeof a.venues[0]), 0);
    cr_assert_eq(a.symbol_count, 2);
    cr_assert_str_eq(b.venue_symbols[1], "ETH-USD");
    /* one venue: every strategy on every symbol, as before there were two */
    cr_assert_eq(a.strategies[0].instrument_mask, 0);
    cr_assert_eq(b.strategies[0].instrument_mask, 0);
    cr_assert_eq(a.venues[0].symbol_count, 2);
    nd_live_config_free(&a);
    nd_live_config_free(&b);
}

static void expect_error(const char *text, const char *want)
{
    nd_live_config_t cfg;
    char err[512] = "";
    nd_err_t rc = load_text(text, &cfg, err, sizeof err);
    cr_assert_eq(rc, ND_EINVAL, "%s -> %s", text, err);
    cr_assert(strstr(err, want) != NULL, "%s -> '%s', want '%s'", text, err, want);
    nd_live_config_free(&cfg);
}

#define QM "\"strategies\": [{\"builtin\": \"quote_maker\"}]"

Test(live_venues, errors_name_the_key)
{
    expect_error("{\"name\": \"t\", \"venue\": {\"name\": \"binance\"}, " TWO_VENUES
                 ", \"symbol\": \"BTC/USDT\", " QM "}",
                 "venues: give \"venue\" or a \"venues\" list, not both");
    expect_error("{\"name\": \"t\", " TWO_VENUES ", \"symbol\": \"BTC/USDT\", " QM "}",
                 "symbol: with \"venues\" each venue lists its own symbols");
    expect_error("{\"name\": \"t\", " TWO_VENUES ", " QM "}",
                 "strategies[0].venue: missing: the session has two venues");
    expect_error("{\"name\": \"t\", " TWO_VENUES ", \"strategies\": [{\"builtin\": "
                 "\"quote_maker\", \"venue\": \"kraken\"}]}",
                 "strategies[0].venue: not one of the session's venues");
    expect_error("{\"name\": \"t\", \"venue\": {\"name\": \"binance\"}, \"symbol\": \"BTC/USDT\","
                 " \"strategies\": [{\"builtin\": \"quote_maker\", \"venue\": \"coinbase\"}]}",
                 "strategies[0].venue: not one of the session's venues");
    expect_error("{\"name\": \"t\", \"venues\": [], " QM "}",
                 "venues: must be a list of 1 or 2 venues");
    expect_error("{\"name\": \"t\", \"venues\": {\"name\": \"binance\"}, " QM "}",
                 "venues: must be a list of 1 or 2 venues");
    expect_error("{\"name\": \"t\", \"venues\": [{\"name\": \"binance\", \"symbol\": \"A/USDT\"},"
                 " {\"name\": \"binance\", \"symbol\": \"B/USDT\"}], " QM "}",
                 "venues[1].name: a venue twice");
    expect_error("{\"name\": \"t\", \"venues\": [{\"name\": \"binance\"}], " QM "}",
                 "venues[0].symbol: give \"symbol\"");
    expect_error("{\"name\": \"t\", \"venues\": [{\"name\": \"binance\", \"symbol\": \"A/USDT\","
                 " \"rest_url\": \"ftp://x\"}], " QM "}",
                 "venues[0].rest_url: must start with http://");
    expect_error("{\"name\": \"t\", \"venues\": [{\"name\": \"coinbase\", \"symbol\": \"A/USD\","
                 " \"key_type\": \"hmac\"}], " QM "}",
                 "venues[0].key_type: Coinbase keys sign ES256 JWTs");
    expect_error("{\"name\": \"t\", \"venues\": [{\"name\": \"binance\", \"symbol\": \"A/USDT\","
                 " \"api_secret\": \"x\"}], " QM "}",
                 "secrets never go in the config");
    expect_error("{\"name\": \"t\", \"venues\": [{\"name\": \"binance\", \"symbol\": \"A/USDT\","
                 " \"bogus\": 1}], " QM "}",
                 "venues[0].bogus: unknown key");
    expect_error("{\"name\": \"t\", \"venues\": [{\"name\": \"binance\", \"symbols\": [\"A/USDT\","
                 " \"A/USDT\"]}], " QM "}",
                 "venues[0].symbols[1]: a symbol twice");
    expect_error("{\"name\": \"t\", \"venues\": [7], " QM "}", "venues[0]: must be an object");
    expect_error("{\"name\": \"t\", " QM "}", "missing: the venue to trade on");
}

/* The run of a two-venue session: each strategy's slots are its own venue's instruments. */
Test(live_venues, instrument_mask_pairs_strategies_with_their_instruments)
{
    nd_backtest_config_t cfg;
    nd_backtest_config_default(&cfg);
    snprintf(cfg.symbol, sizeof cfg.symbol, "BTC/USDT");
    snprintf(cfg.more[0].symbol, sizeof cfg.more[0].symbol, "ETH/USDT");
    snprintf(cfg.more[1].symbol, sizeof cfg.more[1].symbol, "BTC/USD");
    cfg.more_count = 2;
    const nd_strategy_def_t *qm = nd_strategy_find_event("quote_maker");
    cr_assert_not_null(qm);
    for (uint32_t s = 0; s < 2; s++) {
        cfg.strategies[s].def = qm;
        nd_strategy_params_default(qm, cfg.strategies[s].params);
    }
    cfg.strategies[0].instrument_mask = 0x4u; /* coinbase's BTC/USD */
    cfg.strategies[1].instrument_mask = 0x3u; /* binance's two */
    cfg.strategies[1].weight_e6 = 400000;
    cfg.strategy_count = 2;
    nd_backtest_result_t r;
    memset(&r, 0, sizeof r);
    nd_event_run_t *run = NULL;
    char err[256] = "";
    cr_assert_eq(nd_event_run_open(&cfg, &r, &run, err, sizeof err), ND_OK, "%s", err);
    const nd_engine_t *e = nd_event_run_engine(run);
    cr_assert_eq(nd_engine_strategy_count(e), 3);
    /* one slot of the first strategy (all its weight), two of the second (its weight split) */
    cr_assert_eq(nd_engine_strategy_weight(e, 0), 600000);
    cr_assert_eq(nd_engine_strategy_weight(e, 1), 200000);
    cr_assert_eq(nd_engine_strategy_weight(e, 2), 200000);
    cr_assert_eq(nd_event_run_close(run, err, sizeof err), ND_OK, "%s", err);
    nd_backtest_result_free(&r);

    cfg.strategies[0].instrument_mask = 0x8u; /* no such instrument */
    memset(&r, 0, sizeof r);
    cr_assert_eq(nd_event_run_open(&cfg, &r, &run, err, sizeof err), ND_EINVAL);
    cr_assert(strstr(err, "strategy 0 runs on no instrument"), "%s", err);
    nd_backtest_result_free(&r);
}

/* A live leg's view holds its one symbol, whose instrument id is its place in the session (the
 * second venue's first symbol, or any symbol past the first): its fills book once, into that
 * symbol's assets. (They were refused as an unknown instrument, never booked, and the adapter
 * handed the engine the same fills again at every poll.) */
Test(live_venues, a_legs_view_books_its_symbol_whatever_its_instrument_id)
{
    nd_recon_local_t *local = calloc(1, sizeof *local);
    cr_assert_not_null(local);
    nd_recon_instrument_t assets = {"BTC", "USD"};
    nd_recon_trade_t t = {.trade_id = 7, .instrument_id = 2, .side = ND_SIDE_BUY,
                          .px = 4000000000000, .qty = 1000000, .quote_qty = 40000000000};
    cr_assert_eq(nd_recon_book_trade(local, &t, &assets, 1), ND_OK);
    cr_assert(nd_recon_booked(local, 7, ND_SIDE_BUY));
    cr_assert_eq(nd_recon_book_trade(local, &t, &assets, 1), ND_EEXIST);
    bool btc = false;
    for (uint32_t k = 0; k < local->balance_count; k++)
        if (strcmp(local->balances[k].asset, "BTC") == 0)
            btc = local->balances[k].amount == 1000000;
    cr_assert(btc, "the buy's base did not land in BTC");
    /* A table of several is still by id: an id past it is refused. */
    nd_recon_instrument_t two[2] = {{"BTC", "USDT"}, {"ETH", "USDT"}};
    t.trade_id = 8;
    cr_assert_eq(nd_recon_book_trade(local, &t, two, 2), ND_EINVAL);
    free(local);
}

/* "reference": defaults, the keys read, a Chainlink feed by name (its address, asset and
 * heartbeat from the known table) and by address, and every mistake named by its key. */
Test(live_venues, reference_config)
{
    nd_live_config_t cfg;
    char err[512] = "";
    const char *base = "{\"name\": \"R\", " TWO_VENUES ", \"strategies\": [{\"builtin\": "
                       "\"quote_maker\", \"venue\": \"binance\"}]";
    char text[2048];
    snprintf(text, sizeof text, "%s}", base);
    cr_assert_eq(load_text(text, &cfg, err, sizeof err), ND_OK, "%s", err);
    cr_assert(cfg.reference.on);
    cr_assert_eq(cfg.reference.max_deviation_bps, 100);
    cr_assert_eq(cfg.reference.hold_ns, 5000000000LL);
    cr_assert_eq(cfg.reference.max_age_ns, 10000000000LL);
    cr_assert_eq(cfg.reference.min_sources, 0);
    cr_assert_eq(cfg.reference.chainlink_count, 0);
    nd_live_config_free(&cfg);

    snprintf(text, sizeof text, "%s, \"reference\": {\"max_deviation_bps\": 50, "
             "\"deviation_hold_ms\": 0, \"max_age_ms\": 3000, \"min_sources\": 2, \"chainlink\": "
             "[{\"rpc\": \"https://a,https://b\", \"feed\": \"btc-usd\"}, {\"rpc\": \"http://c\", "
             "\"feed\": \"0x5f4eC3Df9cbd43714FE2740f5E3616155c5b8419\", \"asset\": \"SOL/USDT\", "
             "\"max_age_s\": 60, \"poll_ms\": 250, \"timeout_ms\": 900}]}}", base);
    cr_assert_eq(load_text(text, &cfg, err, sizeof err), ND_EINVAL); /* no SOL in the session */
    cr_assert(strstr(err, "reference.chainlink[1].asset: SOL/USD is not an asset") != NULL,
              "%s", err);
    nd_live_config_free(&cfg);
    memcpy(strstr(text, "SOL/USDT"), "BTC/USDC", 8);
    cr_assert_eq(load_text(text, &cfg, err, sizeof err), ND_EINVAL); /* two feeds for BTC/USD */
    cr_assert(strstr(err, "reference.chainlink[1].asset: a second feed") != NULL, "%s", err);
    nd_live_config_free(&cfg);
    char *second = strstr(text, ", {\"rpc\": \"http://c\"");
    memmove(second, strchr(second, ']'), strlen(strchr(second, ']')) + 1);
    cr_assert_eq(load_text(text, &cfg, err, sizeof err), ND_OK, "%s", err);
    const nd_live_reference_config_t *r = &cfg.reference;
    cr_assert_eq(r->max_deviation_bps, 50);
    cr_assert_eq(r->hold_ns, 0);
    cr_assert_eq(r->max_age_ns, 3000000000LL);
    cr_assert_eq(r->min_sources, 2);
    cr_assert_eq(r->chainlink_count, 1);
    cr_assert_str_eq(r->chainlink[0].asset, "BTC/USD");
    cr_assert_str_eq(r->chainlink[0].feed, "0xF4030086522a5bEEa4988F8cA5B36dbC97BeE88c");
    cr_assert_str_eq(r->chainlink[0].rpc, "https://a,https://b");
    cr_assert_eq(r->chainlink[0].max_age_s, 3600);
    cr_assert_eq(r->chainlink[0].poll_ns, 5000000000LL);
    cr_assert_eq(r->chainlink[0].timeout_ms, 3000);
    nd_live_config_free(&cfg);

    static const char *const bad[][2] = {
        {"{\"max_deviation_bps\": 0}", "reference.max_deviation_bps"},
        {"{\"min_sources\": 9}", "reference.min_sources"},
        {"{\"deviation_hold_ms\": -1}", "reference.deviation_hold_ms"},
        {"{\"chainlink\": {\"rpc\": \"http://x\"}}", "reference.chainlink.feed"},
        {"{\"chainlink\": {\"rpc\": \"http://x\", \"feed\": \"0x12\"}}", "reference.chainlink.feed"},
        {"{\"chainlink\": {\"feed\": \"BTC/USD\"}}", "reference.chainlink.rpc: missing"},
        {"{\"chainlink\": {\"rpc\": \"ws://x\", \"feed\": \"BTC/USD\"}}", "reference.chainlink.rpc"},
        {"{\"chainlink\": {\"rpc\": \"http://x\", \"feed\": "
         "\"0x0000000000000000000000000000000000000001\"}}", "reference.chainlink.asset: missing"},
        {"{\"chainlink\": []}", "reference.chainlink: must be"},
        {"{\"oracle\": 1}", "reference.oracle: unknown key"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, "%s, \"reference\": %s}", base, bad[i][0]);
        err[0] = '\0';
        cr_assert_eq(load_text(text, &cfg, err, sizeof err), ND_EINVAL, "%s", bad[i][0]);
        cr_assert(strstr(err, bad[i][1]) != NULL, "%s: %s", bad[i][0], err);
        nd_live_config_free(&cfg);
    }
}

Test(live_venues, reference_asset)
{
    char a[ND_NAME_MAX];
    cr_assert(nd_live_reference_asset("BTC/USDT", a, sizeof a));
    cr_assert_str_eq(a, "BTC/USD");
    cr_assert(nd_live_reference_asset("BTC/USD", a, sizeof a));
    cr_assert_str_eq(a, "BTC/USD");
    cr_assert(nd_live_reference_asset("ETH/FDUSD", a, sizeof a));
    cr_assert_str_eq(a, "ETH/USD");
    cr_assert(nd_live_reference_asset("ETH/BTC", a, sizeof a));
    cr_assert_str_eq(a, "ETH/BTC");
    cr_assert(nd_live_reference_asset("BTC/EUR", a, sizeof a));
    cr_assert_str_eq(a, "BTC/EUR");
    cr_assert_not(nd_live_reference_asset("BTCUSDT", a, sizeof a));
    cr_assert_not(nd_live_reference_asset("/USD", a, sizeof a));
    cr_assert_not(nd_live_reference_asset("BTC/", a, sizeof a));
    cr_assert_not(nd_live_reference_asset("A/B/C", a, sizeof a));
}
