/* test_live.c: the session config (every value read, every error naming the key and why, no
 * config accepted that names a secret or an unknown key; random documents never crash the
 * reader) and the venue event -> market event conversion (exact rescaling, never rounded;
 * crossed or empty quotes refused). */
#include <criterion/criterion.h>

#include "../../src/live/live_int.h"
#include "noderr/alloc.h"
#include "noderr/rand.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[128];

static nd_err_t load_text(const char *text, nd_live_config_t *cfg, char *err, size_t len)
{
    snprintf(path, sizeof path, "/tmp/nd_live_%d.json", (int)getpid());
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
    nd_err_t rc = nd_live_config_load(path, cfg, err, len);
    unlink(path);
    return rc;
}

#define BASE "\"name\": \"t\", \"venue\": {\"name\": \"binance\"}, \"symbol\": \"ETH/USDT\", " \
             "\"strategies\": [{\"builtin\": \"quote_maker\"}]"

Test(live_config, full_config_read)
{
    nd_live_config_t cfg;
    char err[512] = "";
    const char *text =
        "{\"name\": \"s1\", \"state_dir\": \"/tmp/x\", \"clock\": \"venue\","
        " \"venue\": {\"name\": \"binance\", \"rest_url\": \"http://127.0.0.1:1\","
        "  \"ws_url\": \"ws://127.0.0.1:1\", \"exchange_info\": false},"
        " \"symbol\": \"BTC/USDT\","
        " \"strategies\": [{\"builtin\": \"quote_maker\", \"weight\": 0.5,"
        "  \"params\": {\"k\": 1}}, {\"lua\": \"a.lua\"}],"
        " \"capital\": {\"cash\": \"2500.5\", \"sizing_percent\": 0.1, \"tick_size\": \"0.1\","
        "  \"lot_size\": \"0.001\", \"min_notional\": 10},"
        " \"risk\": {\"max_drawdown\": 0.15, \"max_position\": 0.25, \"daily_loss\": 0.05,"
        "  \"max_order_notional\": \"1000\", \"breaker_reset\": \"after:2h\","
        "  \"fast_move\": 0.15, \"fast_move_window_ms\": 60000},"
        " \"paper\": {\"maker_fee_bps\": \"1.5\", \"taker_fee_bps\": 4, \"entry_latency_us\": 250,"
        "  \"queue_model\": \"proportional\"},"
        " \"stale_after_ms\": 1500, \"duration_s\": 60, \"store\": {\"url\": \"sqlite:/tmp/y\"},"
        " \"compliance\": {\"profile\": \"EU\"}, \"log\": {\"level\": \"debug\"}}";
    cr_assert_eq(load_text(text, &cfg, err, sizeof err), ND_OK, "%s", err);
    cr_assert_str_eq(cfg.name, "s1");
    cr_assert_str_eq(cfg.venue_symbols[0], "BTCUSDT");
    cr_assert_eq(cfg.symbol_count, 1);
    cr_assert_str_eq(cfg.bt.symbol, "BTC/USDT");
    cr_assert_eq(cfg.clock, ND_LIVE_CLOCK_VENUE);
    cr_assert_eq(cfg.venues[0].exchange_info, false);
    cr_assert_eq(cfg.strategy_count, 2);
    cr_assert_eq(cfg.strategies[0].weight_e6, 500000);
    cr_assert_eq(cfg.strategies[1].kind, ND_LIVE_STRATEGY_LUA);
    cr_assert_eq(cfg.bt.engine.initial_cash, 250050000000LL);
    cr_assert_eq(cfg.bt.engine.sizing.percent_e2, 1000);
    cr_assert_eq(cfg.bt.rules[0].tick_size_e8, 10000000);
    cr_assert_eq(cfg.bt.rules[0].min_notional_e8, 1000000000LL);
    cr_assert_eq(cfg.bt.engine.risk.max_drawdown_pct_e2, 1500);
    cr_assert_eq(cfg.bt.engine.risk.max_position_pct_e2, 2500);
    cr_assert_eq(cfg.bt.engine.risk.daily_loss_pct_e2, 500);
    cr_assert_eq(cfg.bt.engine.risk.drawdown_reset.kind, ND_BREAKER_RESET_AFTER);
    cr_assert_eq(cfg.bt.engine.risk.fast_move_e6, 150000);
    cr_assert_eq(cfg.bt.engine.risk.fast_move_window_ns, 60 * ND_NS_PER_SEC);
    cr_assert_eq(cfg.bt.engine.venue.maker_fee_bps_e2, 150);
    cr_assert_eq(cfg.bt.ticks.venue.entry.const_ns, 250000);
    cr_assert_eq(cfg.bt.ticks.venue.queue_model, ND_L2SIM_QUEUE_PROPORTIONAL);
    cr_assert_eq(cfg.stale_after_ns, 1500 * ND_NS_PER_MS);
    cr_assert_eq(cfg.duration_ns, 60 * ND_NS_PER_SEC);
    cr_assert_str_eq(cfg.compliance_profile, "EU");
    nd_live_config_free(&cfg);
}

Test(live_config, defaults)
{
    nd_live_config_t cfg;
    char err[512] = "";
    cr_assert_eq(load_text("{" BASE "}", &cfg, err, sizeof err), ND_OK, "%s", err);
    cr_assert_str_eq(cfg.state_dir, "noderr-t");
    cr_assert_str_eq(cfg.venues[0].rest_url, "https://api.binance.com");
    cr_assert_eq(cfg.clock, ND_LIVE_CLOCK_LOCAL);
    cr_assert_eq(cfg.venues[0].exchange_info, true);
    cr_assert_eq(cfg.bt.engine.risk.max_drawdown_pct_e2, 1200);
    cr_assert_eq(cfg.bt.engine.risk.fast_move_e6, 100000); /* 10% within 5 minutes */
    cr_assert_eq(cfg.bt.engine.risk.fast_move_window_ns, 5 * ND_NS_PER_MIN);
    cr_assert_eq(cfg.journal_sync, ND_JOURNAL_SYNC_BATCHED);
    nd_live_config_free(&cfg);
}

Test(live_config, journal_sync_modes)
{
    static const struct {
        const char *text;
        nd_journal_sync_t want;
    } cases[] = {{"before_send", ND_JOURNAL_SYNC_BEFORE_SEND}, {"batched", ND_JOURNAL_SYNC_BATCHED}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char text[1024], err[512] = "";
        snprintf(text, sizeof text, "{" BASE ", \"journal\": {\"sync\": \"%s\"}}", cases[k].text);
        nd_live_config_t cfg;
        cr_assert_eq(load_text(text, &cfg, err, sizeof err), ND_OK, "%s", err);
        cr_assert_eq(cfg.journal_sync, cases[k].want);
        cr_assert_str_eq(nd_journal_sync_name(cfg.journal_sync), cases[k].text);
        nd_live_config_free(&cfg);
    }
}

static void expect_error(const char *extra, const char *want)
{
    char text[2048], err[512] = "";
    snprintf(text, sizeof text, "{" BASE "%s}", extra);
    nd_live_config_t cfg;
    nd_err_t rc = load_text(text, &cfg, err, sizeof err);
    nd_live_config_free(&cfg);
    cr_assert_neq(rc, ND_OK, "accepted: %s", extra);
    cr_assert_not_null(strstr(err, want), "'%s' -> '%s', want '%s'", extra, err, want);
    cr_assert_not_null(strstr(err, "/tmp/nd_live_"), "the file is not named: %s", err);
}

Test(live_config, errors_name_key_and_why)
{
    expect_error(", \"risk\": {\"max_drawdwn\": 0.1}", "risk.max_drawdwn: unknown key");
    expect_error(", \"risk\": {\"max_drawdown\": 1.5}", "risk.max_drawdown: 1.5 is outside");
    expect_error(", \"risk\": {\"max_drawdown\": 0.12345}", "at most 4 decimal places");
    expect_error(", \"risk\": {\"max_drawdown\": \"0.1\"}", "must be a number");
    expect_error(", \"risk\": {\"breaker_reset\": \"soon\"}", "risk.breaker_reset");
    expect_error(", \"risk\": {\"fast_move\": 0.995}", "risk.fast_move: 0.995 is outside");
    expect_error(", \"risk\": {\"fast_move_window_ms\": 0}", "risk.fast_move_window_ms");
    expect_error(", \"capital\": {\"cash\": 100.5}", "capital.cash: write a fractional amount");
    expect_error(", \"capital\": {\"cash\": \"1.000000001\"}", "at most 8 places");
    expect_error(", \"capital\": {\"cash\": \"0\"}", "capital.cash: 0 is outside");
    expect_error(", \"capital\": {\"cash\": \"99999999999999999999\"}", "too large");
    expect_error(", \"capital\": {\"sizing_percent\": 0.1, \"sizing_fixed_qty\": 1}", "not both");
    expect_error(", \"paper\": {\"queue_model\": \"fifo\"}", "paper.queue_model");
    expect_error(", \"paper\": {\"entry_latency_us\": -1}", "paper.entry_latency_us");
    expect_error(", \"clock\": \"wall\"", "clock: must be");
    expect_error(", \"compliance\": {\"profile\": \"XX\"}", "compliance.profile");
    expect_error(", \"log\": {\"level\": \"loud\"}", "log.level");
    expect_error(", \"metrics\": {}", "metrics.listen: missing");
    expect_error(", \"metrics\": {\"listen\": \"localhost:9464\"}", "metrics.listen: 'localhost:9464'");
    expect_error(", \"metrics\": {\"listen\": \"127.0.0.1:0\", \"tls_cert\": \"c.pem\"}",
                 "metrics.tls_key: TLS needs both");
    expect_error(", \"metrics\": {\"listen\": \"127.0.0.1:0\", \"port\": 1}",
                 "metrics.port: unknown key");
    expect_error(", \"extra\": 1", "extra: unknown key");
    expect_error(", \"journal\": {\"sync\": \"always\"}",
                 "journal.sync: must be \"before_send\" or \"batched\"");
    expect_error(", \"journal\": {\"sync\": 1}", "journal.sync");
    expect_error(", \"journal\": {\"fsync\": \"batched\"}", "journal.fsync: unknown key");
    expect_error(", \"journal\": \"batched\"", "journal: must be an object");
    expect_error(", \"stale_after_ms\": 0", "stale_after_ms");
}

Test(live_config, structural_errors)
{
    char err[512] = "";
    nd_live_config_t cfg;
    static const struct { const char *text, *want; } cases[] = {
        {"[]", "must be a JSON object"},
        {"{\"name\": \"t\"}", "venue: missing"},
        {"{\"name\": \"../x\", \"venue\": {\"name\": \"binance\"}}", "name: missing, or not made"},
        {"{\"name\": \"t\", \"venue\": {\"name\": \"kraken\"}}", "venue.name"},
        {"{\"name\": \"t\", \"venue\": {\"name\": \"binance\", \"api_secret\": \"s\"}}",
         "secrets never go in the config"},
        {"{\"name\": \"t\", \"venue\": {\"name\": \"binance\", \"ws_url\": \"http://x\"}}",
         "venue.ws_url"},
        {"{\"name\": \"t\", \"venue\": {\"name\": \"binance\"}, \"symbol\": \"BTC-X\"}",
         "symbol: want BASE/QUOTE"},
        {"{\"name\": \"t\", \"venue\": {\"name\": \"binance\"}, \"symbol\": \"BTC/USDT\"}",
         "strategies: missing"},
        {"{" BASE ", \"strategies\": []}", "duplicate"},
        {"{\"name\": \"t\", \"venue\": {\"name\": \"binance\"}, \"symbol\": \"BTC/USDT\", "
         "\"strategies\": [{\"builtin\": \"a\", \"lua\": \"b\"}]}",
         "strategies[0]: name exactly one"},
        {"{\"name\": \"t\", \"venue\": {\"name\": \"binance\"}, \"symbol\": \"BTC/USDT\", "
         "\"strategies\": [{\"builtin\": \"a\", \"params\": [1]}]}", "strategies[0].params"},
        {"{\"name\": \"t\", \"venue\": {\"name\": \"binance\"}, \"symbol\": \"BTC/USDT\", "
         "\"strategies\": [{\"builtin\": \"a\", \"weight\": 2}]}", "strategies[0].weight"},
        {"{\"name\": \"t\",", "nd_live_"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        nd_err_t rc = load_text(cases[k].text, &cfg, err, sizeof err);
        nd_live_config_free(&cfg);
        cr_assert_neq(rc, ND_OK, "accepted: %s", cases[k].text);
        cr_assert_not_null(strstr(err, cases[k].want), "%s -> '%s', want '%s'", cases[k].text,
                           err, cases[k].want);
    }
}

/* Random mutations of a valid config (bytes flipped, cut, duplicated): the reader either
 * accepts or refuses with a message; never crashes, never leaves err empty on a refusal. */
Test(live_config, mutated_documents_never_crash)
{
    const char *good = "{" BASE ", \"risk\": {\"max_drawdown\": 0.15}, \"capital\": "
                       "{\"cash\": \"10000\"}}";
    size_t n = strlen(good);
    nd_rand_t rng;
    nd_rand_init(&rng, 7);
    char text[1024], err[512];
    for (int round = 0; round < 400; round++) {
        memcpy(text, good, n + 1);
        int edits = 1 + (int)(nd_rand_next(&rng) % 4);
        for (int e = 0; e < edits; e++) {
            size_t at = nd_rand_next(&rng) % n;
            text[at] = (char)(32 + nd_rand_next(&rng) % 95);
        }
        if (round % 5 == 0)
            text[nd_rand_next(&rng) % n] = '\0';
        nd_live_config_t cfg;
        err[0] = '\0';
        nd_err_t rc = load_text(text, &cfg, err, sizeof err);
        nd_live_config_free(&cfg);
        cr_assert(rc == ND_OK || err[0] != '\0', "refused without a message: %s", text);
    }
}

static nd_instrument_t instrument(int px_decimals, int qty_decimals)
{
    nd_instrument_t inst;
    cr_assert_eq(nd_instrument_init(&inst, "BTC/USDT", "l2sim"), ND_OK);
    inst.px_decimals = px_decimals;
    inst.qty_decimals = qty_decimals;
    return inst;
}

Test(live_events, trades_and_quotes_rescale_exactly)
{
    nd_instrument_t inst = instrument(2, 5);
    nd_md_event_t md = {.kind = ND_MD_TRADE};
    md.u.trade = (nd_md_trade_t){.px = 3943248000000LL, .qty = 26000, .trade_id = 9,
                                 .aggressor = ND_MD_SIDE_ASK};
    nd_market_event_t ev;
    cr_assert(nd__live_md_to_event(&md, &inst, 77, 3, &ev));
    cr_assert_eq(ev.kind, ND_MARKET_TRADE);
    cr_assert_eq(ev.u.trade.px, 3943248);
    cr_assert_eq(ev.u.trade.qty, 26);
    cr_assert_eq(ev.u.trade.aggressor, ND_SIDE_SELL);
    cr_assert_eq(ev.u.trade.ts_ns, 77);
    cr_assert_eq(ev.seq, 3);
    md.u.trade.qty = 26001; /* 0.00026001 does not fit 5 decimals: refused, never rounded */
    cr_assert_not(nd__live_md_to_event(&md, &inst, 77, 3, &ev));
    md.u.trade.qty = 0;
    cr_assert_not(nd__live_md_to_event(&md, &inst, 77, 3, &ev));
    nd_md_event_t q = {.kind = ND_MD_BBO};
    q.u.bbo = (nd_md_bbo_t){.bid_px = 100000000, .bid_qty = 100000, .ask_px = 101000000,
                            .ask_qty = 0, .update_id = 5};
    cr_assert(nd__live_md_to_event(&q, &inst, 1, 0, &ev));
    cr_assert_eq(ev.kind, ND_MARKET_QUOTE);
    cr_assert_eq(ev.u.quote.bid_px, 100);
    cr_assert_eq(ev.u.quote.ask_px, 101);
    cr_assert_eq(ev.u.quote.update_id, 5);
    q.u.bbo.ask_px = q.u.bbo.bid_px; /* crossed or locked: refused */
    cr_assert_not(nd__live_md_to_event(&q, &inst, 1, 0, &ev));
    nd_md_event_t other = {.kind = ND_MD_BALANCE};
    cr_assert_not(nd__live_md_to_event(&other, &inst, 1, 0, &ev));
}
