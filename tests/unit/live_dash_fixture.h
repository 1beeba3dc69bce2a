/* live_dash_fixture.h: a session in a rich state for the dashboard's snapshot, without a loop,
 * a feed or a venue (tests/unit/test_live_dash.c, bench/bench_dash_snapshot.c). Include it after
 * src/live/session_dash.c and src/live/session_surveil.c (whose statics it reaches).
 *
 * The state: two instruments (BTC/USDT, ETH/USDT) on their simulated venues, two quote_maker
 * strategies (one name twice), a seeded walk of quotes and trades that makes working orders
 * and fills, then the kill switch (a halt, a breaker trip, flattening orders), VaR samples,
 * a dashboard URL, and surveillance with three kept alerts. */
#ifndef ND_LIVE_DASH_FIXTURE_H
#define ND_LIVE_DASH_FIXTURE_H

#include "noderr/alloc.h"
#include "noderr/rand.h"
#include "noderr/strategy.h"

typedef struct dash_fixture {
    nd_live_config_t *cfg;
    nd_live_session_t *s;
    nd_backtest_result_t result;
    nd_clock_sim_t clock;       /* the status's times: the same in both documents */
} dash_fixture_t;

static bool fixture_push(dash_fixture_t *f, nd_rand_t *rng, int64_t *mid, uint32_t inst,
                         int64_t ts, uint64_t k)
{
    nd_market_event_t ev = {.source = inst, .seq = k};
    mid[inst] += (int64_t)nd_rand_below(rng, 41) - 20;
    if (k % 3 == 2) {
        ev.kind = ND_MARKET_TRADE;
        ev.u.trade = (nd_trade_tick_t){.ts_ns = ts, .instrument_id = inst, .px = mid[inst],
                                       .qty = 1000 + (int64_t)nd_rand_below(rng, 90000),
                                       .aggressor = nd_rand_below(rng, 2) ? ND_SIDE_BUY
                                                                          : ND_SIDE_SELL,
                                       .trade_id = (int64_t)k};
    } else {
        ev.kind = ND_MARKET_QUOTE;
        ev.u.quote = (nd_quote_tick_t){.ts_ns = ts, .instrument_id = inst,
                                       .bid_px = mid[inst] - 1, .bid_qty = 500000,
                                       .ask_px = mid[inst] + 1, .ask_qty = 500000,
                                       .update_id = (int64_t)k};
    }
    char err[256];
    return nd_event_run_push(f->s->run, &ev, err, sizeof err) == ND_OK;
}

static void fixture_surveil(dash_fixture_t *f)
{
    nd__live_surveil_t *v = nd_calloc(1, sizeof *v);
    v->profile = nd_jurisdiction_profile(ND_JUR_US);
    v->scans = 12;
    v->events_scanned = 4321;
    v->failures = 1;
    for (uint32_t k = 0; k < 3; k++) {
        nd__live_surv_alert_t *a = &v->alerts[k];
        a->at_ns = 1700000000000000000LL + (int64_t)k * 1000000000;
        a->from_ns = a->at_ns - 500000000;
        a->rule = (int)(k == 2 ? ND_SURV_LAYERING : ND_SURV_WASH_TRADING);
        a->jurisdiction = (int)ND_JUR_US;
        snprintf(a->symbol, sizeof a->symbol, "%s", k ? "ETHUSDT" : "BTCUSDT");
        snprintf(a->accounts, sizeof a->accounts, "rich/quote_maker%s", k ? ",rich/b" : "");
        snprintf(a->detail, sizeof a->detail, "alert %u: \"quoted\" and \\ escaped", k);
        v->counts[a->rule]++;
    }
    v->alert_count = 3;
    f->s->surveil = v;
}

static void fixture_config(dash_fixture_t *f)
{
    nd_backtest_config_t *bt = &f->s->bt;
    nd_backtest_config_default(bt);
    for (uint32_t k = 0; k < 2; k++) {
        bt->strategies[k].def = nd_strategy_find_event("quote_maker");
        nd_strategy_params_default(bt->strategies[k].def, bt->strategies[k].params);
    }
    bt->strategy_count = 2;
    bt->px_decimals = 2;
    bt->qty_decimals = 6;
    snprintf(bt->more[0].symbol, sizeof bt->more[0].symbol, "ETH/USDT");
    bt->more_count = 1;
    bt->engine.risk.orders_per_sec_max = 0;
    bt->engine.risk.max_drawdown_pct_e2 = 2000;
    bt->engine.risk.daily_loss_pct_e2 = 1000;
    snprintf(f->cfg->name, sizeof f->cfg->name, "rich");
    f->cfg->symbol_count = 2;
    f->cfg->venue_count = 1; /* Binance with both symbols (venue_of all 0) */
    f->cfg->venues[0].venue = ND_VENUE_BINANCE;
    f->cfg->venues[0].symbol_count = 2;
    snprintf(f->cfg->venue_symbols[0], sizeof f->cfg->venue_symbols[0], "BTCUSDT");
    snprintf(f->cfg->venue_symbols[1], sizeof f->cfg->venue_symbols[1], "ETHUSDT");
    f->cfg->status_every_ns = ND_NS_PER_SEC;
}

/* The reference price (session_ref.c) of both assets from a quote of each symbol: one source
 * each, so "unchecked", with prices and ages. */
static bool fixture_reference(dash_fixture_t *f, char *err, size_t err_len)
{
    f->cfg->integrity_on = true;
    f->cfg->reference = (nd_live_reference_config_t){.on = true, .max_deviation_bps = 100,
                                                     .max_age_ns = 10 * ND_NS_PER_SEC,
                                                     .hold_ns = 5 * ND_NS_PER_SEC};
    if (nd__live_ref_open(f->s, err, err_len) != ND_OK)
        return false;
    int64_t now = nd_clock_now_ns(f->s->clock);
    for (uint32_t k = 0; k < 2; k++) {
        nd_md_event_t md = {.kind = ND_MD_BBO};
        md.u.bbo.bid_px = k ? 250000000000 : 4000000000000;
        md.u.bbo.ask_px = md.u.bbo.bid_px + 1000000;
        nd__live_ref_on_market(f->s, k, &md, now - (int64_t)k * ND_NS_PER_MS);
    }
    int32_t asset;
    return nd__live_ref_check(f->s, now, &asset) == NULL;
}

/* Opens the session and drives it into the rich state; false (err set) on failure. */
static bool fixture_open(dash_fixture_t *f, char *err, size_t err_len)
{
    memset(f, 0, sizeof *f);
    f->cfg = nd_calloc(1, sizeof *f->cfg);
    f->s = nd_calloc(1, sizeof *f->s);
    f->s->cfg = f->cfg;
    nd_clock_sim_init(&f->clock, 1700000100000000000LL);
    f->s->clock = &f->clock.clock;
    fixture_config(f);
    if (nd_event_run_open(&f->s->bt, &f->result, &f->s->run, err, err_len) != ND_OK)
        return false;
    nd_rand_t rng;
    nd_rand_init(&rng, 7);
    int64_t mid[2] = {4000000, 250000}, ts = 1700000000000000000LL;
    nd_dashboard_state_init(&f->s->dash_state);
    for (uint64_t k = 0; k < 6000; k++) {
        ts += 1000000;
        if (!fixture_push(f, &rng, mid, (uint32_t)(k % 2), ts, k))
            return snprintf(err, err_len, "push %llu failed", (unsigned long long)k), false;
        if (k % 200 == 0)
            nd_dashboard_sample(&f->s->dash_state, nd_event_run_engine(f->s->run));
    }
    nd_engine_kill(nd_event_run_engine(f->s->run)); /* a trip, a halt, flattening orders */
    f->s->started_ns = 1700000000000000000LL;
    f->s->engine_ns = ts;
    f->s->recon_diffs = 2;
    f->s->feed_state = ND_VENUE_CONNECTED;
    f->s->feed = (nd_live_feed_stats_t){.messages = 6000, .trades = 2000, .quotes = 4000,
                                        .bad = 1, .connects = 1, .last_event_ns = 1};
    snprintf(f->s->dash_url, sizeof f->s->dash_url, "http://127.0.0.1:8090");
    fixture_surveil(f);
    f->s->venue_feed[0] = f->s->feed;
    return fixture_reference(f, err, err_len);
}

static void fixture_close(dash_fixture_t *f)
{
    char err[256];
    nd_free(f->s->surveil);
    nd__live_ref_close(f->s);
    nd_event_run_close(f->s->run, err, sizeof err);
    nd_backtest_result_free(&f->result);
    nd_free(f->s);
    nd_free(f->cfg);
}

#endif
