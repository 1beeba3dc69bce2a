/* test_engine_bars.c: nd_engine_on_bars (the batched bar step) against nd_engine_on_bar one bar
 * at a time: the same events in the same order, the same listener calls with the same equity,
 * the same statistics, risk state and portfolio, over seeded synthetic markets with trades,
 * breaker trips and resets, shorting, several strategies and two instruments, in batches of
 * many sizes; and the same error, at the same bar, for a bar out of time order or of an unknown
 * instrument. */
#include "noderr/alloc.h"
#include "noderr/engine.h"
#include "noderr/strategy.h"

#include <criterion/criterion.h>
#include <string.h>

/* FNV-1a over what the listener saw. */
typedef struct digest {
    uint64_t h;
    int64_t events, bars_done;
} digest_t;

static void mix(digest_t *d, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t k = 0; k < n; k++)
        d->h = (d->h ^ b[k]) * 1099511628211ull;
}

static nd_err_t on_event(void *ctx, const nd_event_t *ev)
{
    digest_t *d = ctx;
    d->events++;
    mix(d, &ev->kind, sizeof ev->kind);
    mix(d, &ev->ts_ns, sizeof ev->ts_ns);
    mix(d, &ev->halted, sizeof ev->halted);
    if (ev->kind == ND_EVENT_FILL) {
        mix(d, &ev->u.fill.px, sizeof ev->u.fill.px);
        mix(d, &ev->u.fill.qty, sizeof ev->u.fill.qty);
        mix(d, &ev->u.fill.fee, sizeof ev->u.fill.fee);
        mix(d, &ev->u.fill.client_id, sizeof ev->u.fill.client_id);
    } else if (ev->kind == ND_EVENT_ORDER) {
        mix(d, &ev->u.order.client_id, sizeof ev->u.order.client_id);
        mix(d, &ev->u.order.status, sizeof ev->u.order.status);
        mix(d, &ev->u.order.filled_qty, sizeof ev->u.order.filled_qty);
        mix(d, &ev->u.order.reject_reason, sizeof ev->u.order.reject_reason);
    } else if (ev->kind == ND_EVENT_BREAKER) {
        mix(d, &ev->u.breaker.kind, sizeof ev->u.breaker.kind);
        mix(d, &ev->u.breaker.measured_e6, sizeof ev->u.breaker.measured_e6);
    }
    return ND_OK;
}

static void on_bar_done(void *ctx, const nd_bar_t *bar, __int128 equity, bool in_market)
{
    digest_t *d = ctx;
    d->bars_done++;
    mix(d, &bar->ts_ns, sizeof bar->ts_ns);
    mix(d, &bar->instrument_id, sizeof bar->instrument_id);
    mix(d, &equity, sizeof equity);
    mix(d, &in_market, sizeof in_market);
}

typedef struct scenario {
    const char *strategies[2];
    uint32_t strategy_count;
    uint32_t instrument_count;
    bool allow_short;
    int64_t drawdown_e2, daily_e2;
    nd_breaker_reset_t drawdown_reset;
    double annual_vol;
} scenario_t;

typedef struct run {
    nd_clock_sim_t clock;
    nd_engine_t *e;
    digest_t d;
    nd_instrument_t inst[2];
} run_t;

static void start(run_t *r, const scenario_t *sc)
{
    memset(r, 0, sizeof *r);
    r->d.h = 14695981039346656037ull;
    nd_instrument_init(&r->inst[0], "BTC/USDT", "sim");
    nd_instrument_init(&r->inst[1], "ETH/USDT", "sim");
    r->inst[1].id = 1;
    nd_engine_config_t cfg;
    nd_engine_config_default(&cfg);
    cfg.allow_short = sc->allow_short;
    cfg.risk.max_drawdown_pct_e2 = sc->drawdown_e2;
    cfg.risk.daily_loss_pct_e2 = sc->daily_e2;
    cfg.risk.drawdown_reset = sc->drawdown_reset;
    nd_clock_sim_init(&r->clock, 0);
    char err[256];
    cr_assert_eq(nd_engine_create(&cfg, r->inst, sc->instrument_count, &r->clock.clock, &r->e,
                                  err, sizeof err), ND_OK, "%s", err);
    int64_t weight = 1000000 / (int64_t)(sc->strategy_count * sc->instrument_count);
    for (uint32_t i = 0; i < sc->instrument_count; i++) {
        for (uint32_t s = 0; s < sc->strategy_count; s++) {
            const nd_strategy_def_t *def = nd_strategy_find(sc->strategies[s]);
            cr_assert_not_null(def);
            double params[ND_STRATEGY_PARAMS_MAX];
            nd_strategy_params_default(def, params);
            cr_assert_eq(nd_engine_add_strategy(r->e, def, params, i, weight, err, sizeof err),
                         ND_OK, "%s", err);
        }
    }
    cr_assert_eq(nd_engine_start(r->e, err, sizeof err), ND_OK, "%s", err);
    nd_engine_listener_t l = {on_event, on_bar_done, NULL, &r->d};
    nd_engine_set_listener(r->e, &l);
}

/* count bars of a seeded market; with two instruments, each bar is followed by the same bar
 * (price scaled) of instrument 1 at the same time. */
static nd_bar_t *market(const scenario_t *sc, uint64_t seed, size_t count)
{
    nd_instrument_t inst;
    nd_instrument_init(&inst, "BTC/USDT", "sim");
    nd_synth_config_t cfg;
    nd_synth_config_default(&cfg);
    cfg.seed = seed;
    cfg.bars = (int64_t)count;
    cfg.annual_vol = sc->annual_vol;
    nd_bar_source_t *src = NULL;
    char err[256];
    cr_assert_eq(nd_synth_open(&cfg, &inst, &src, err, sizeof err), ND_OK, "%s", err);
    nd_bar_t *bars = nd_calloc(count, sizeof *bars);
    cr_assert_not_null(bars);
    for (size_t k = 0; k < count; k += sc->instrument_count) {
        cr_assert_eq(src->next(src, &bars[k]), ND_OK);
        if (sc->instrument_count == 2 && k + 1 < count) {
            bars[k + 1] = bars[k];
            bars[k + 1].instrument_id = 1;
            bars[k + 1].close = bars[k].close / 2;
            bars[k + 1].open = bars[k].open / 2;
            bars[k + 1].high = bars[k].high / 2;
            bars[k + 1].low = bars[k].low / 2;
        }
    }
    src->close(src);
    return bars;
}

/* One bar at a time, as the backtest driver did: returns the first error, *done the bars
 * fully processed. */
static nd_err_t one_by_one(run_t *r, const nd_bar_t *bars, size_t count, size_t *done)
{
    for (size_t k = 0; k < count; k++) {
        if (nd_clock_sim_set(&r->clock, bars[k].ts_ns) != ND_OK) {
            *done = k;
            return ND_EINVAL;
        }
        nd_err_t rc = nd_engine_on_bar(r->e, &bars[k]);
        if (rc != ND_OK) {
            *done = k;
            return rc;
        }
    }
    *done = count;
    return ND_OK;
}

static nd_err_t batched(run_t *r, const nd_bar_t *bars, size_t count, size_t batch,
                        size_t *done)
{
    size_t k = 0;
    while (k < count) {
        size_t n = count - k < batch ? count - k : batch, ran = 0;
        nd_err_t rc = nd_engine_on_bars(r->e, &r->clock, bars + k, n, &ran);
        cr_assert_leq(ran, n);
        k += ran;
        if (rc != ND_OK) {
            *done = k;
            return rc;
        }
        cr_assert_eq(ran, n);
    }
    *done = k;
    return ND_OK;
}

static void assert_same(const run_t *a, const run_t *b)
{
    cr_assert_eq(a->d.h, b->d.h);
    cr_assert_eq(a->d.events, b->d.events);
    cr_assert_eq(a->d.bars_done, b->d.bars_done);
    cr_assert_eq(memcmp(nd_engine_stats(a->e), nd_engine_stats(b->e), sizeof(nd_engine_stats_t)),
                 0);
    const nd_risk_t *ra = nd_engine_risk(a->e), *rb = nd_engine_risk(b->e);
    cr_assert_eq(ra->halted, rb->halted);
    cr_assert_eq(ra->trips, rb->trips);
    cr_assert_eq(nd_risk_drawdown_e6(ra), nd_risk_drawdown_e6(rb));
    nd_portfolio_t *pa = nd_engine_portfolio(a->e), *pb = nd_engine_portfolio(b->e);
    cr_assert(nd_portfolio_equity_ext(pa) == nd_portfolio_equity_ext(pb));
    cr_assert_eq(nd_portfolio_cash(pa), nd_portfolio_cash(pb));
    cr_assert_eq(a->clock._now_ns, b->clock._now_ns);
}

/* Returns the reference run's breaker trips. */
static int64_t compare(const scenario_t *sc, uint64_t seed, size_t count)
{
    nd_bar_t *bars = market(sc, seed, count);
    run_t ref;
    start(&ref, sc);
    size_t done = 0;
    cr_assert_eq(one_by_one(&ref, bars, count, &done), ND_OK);
    const size_t batches[] = {1, 2, 7, 64, 256, count};
    for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++) {
        run_t r;
        start(&r, sc);
        cr_assert_eq(batched(&r, bars, count, batches[b], &done), ND_OK);
        cr_assert_eq(done, count);
        assert_same(&ref, &r);
        nd_engine_destroy(r.e);
    }
    cr_assert_gt(nd_engine_stats(ref.e)->fills, 0, "seed %llu: the run should trade",
                 (unsigned long long)seed);
    int64_t trips = nd_engine_risk(ref.e)->trips;
    nd_engine_destroy(ref.e);
    nd_free(bars);
    return trips;
}

Test(engine_bars, same_as_one_bar_at_a_time_breakers_off)
{
    scenario_t sc = {{"sma_cross"}, 1, 1, false, 0, 0, {ND_BREAKER_RESET_NEVER, 0}, 0.6};
    for (uint64_t seed = 1; seed <= 3; seed++)
        compare(&sc, seed, 5000);
}

Test(engine_bars, same_with_breaker_trips_and_resets)
{
    /* A volatile market and tight breakers: trips, flattening, halted bars and resets. */
    scenario_t sc = {{"sma_cross"}, 1, 1, false, 300, 200, {ND_BREAKER_RESET_AFTER, 86400LL * 1000000000},
                     1.5};
    int64_t trips = 0;
    for (uint64_t seed = 1; seed <= 3; seed++)
        trips += compare(&sc, seed, 4000);
    cr_assert_gt(trips, 3, "the runs should trip and reset: %lld trips", (long long)trips);
    scenario_t never = sc;
    never.drawdown_reset.kind = ND_BREAKER_RESET_NEVER;
    never.drawdown_reset.after_ns = 0;
    cr_assert_gt(compare(&never, 4, 4000), 0);
}

Test(engine_bars, same_with_shorting_and_two_strategies)
{
    scenario_t sc = {{"mean_reversion", "ema_momentum"}, 2, 1, true, 1200, 500,
                     {ND_BREAKER_RESET_NEVER, 0}, 0.8};
    compare(&sc, 7, 5000);
    scenario_t bo = {{"breakout", "sma_cross"}, 2, 1, true, 0, 0, {ND_BREAKER_RESET_NEVER, 0},
                     0.8};
    compare(&bo, 8, 5000);
}

Test(engine_bars, same_with_two_instruments)
{
    scenario_t sc = {{"sma_cross"}, 1, 2, false, 1200, 500, {ND_BREAKER_RESET_NEVER, 0}, 0.8};
    compare(&sc, 9, 6000);
}

/* A bad bar in the middle of a batch: the same error at the same bar, the bars before it
 * processed exactly as one by one. */
static void bad_bar(nd_bar_t *bars, size_t count, size_t at, const scenario_t *sc)
{
    run_t ref, r;
    start(&ref, sc);
    start(&r, sc);
    size_t done_ref = 0, done = 0;
    nd_err_t rc_ref = one_by_one(&ref, bars, count, &done_ref);
    nd_err_t rc = batched(&r, bars, count, 256, &done);
    cr_assert_eq(rc_ref, ND_EINVAL);
    cr_assert_eq(rc, rc_ref);
    cr_assert_eq(done, at);
    cr_assert_eq(done_ref, at);
    assert_same(&ref, &r);
    nd_engine_destroy(ref.e);
    nd_engine_destroy(r.e);
}

Test(engine_bars, a_bad_bar_fails_at_the_same_bar)
{
    scenario_t sc = {{"sma_cross"}, 1, 1, false, 1200, 500, {ND_BREAKER_RESET_NEVER, 0}, 0.6};
    nd_bar_t *bars = market(&sc, 11, 1000);
    int64_t saved = bars[700].ts_ns;
    bars[700].ts_ns = bars[650].ts_ns; /* backwards */
    bad_bar(bars, 1000, 700, &sc);
    bars[700].ts_ns = saved;
    bars[500].instrument_id = 3; /* unknown */
    bad_bar(bars, 1000, 500, &sc);
    nd_free(bars);
}
