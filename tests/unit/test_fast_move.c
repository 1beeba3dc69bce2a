/* test_fast_move.c: the anomaly breaker's fast-move rule (anomaly.h nd_anomaly_fast_t,
 * docs/anomaly.md "The fast-move rule"): exact at and around its threshold, both ways, at the
 * edges of its window, once per move; in risk (the trip, off unless the breaker is on); in the
 * engine on market events (a crash within one 15-minute bucket trips at once); a property over
 * seeded synthetic markets (without a crash: no trip beyond the documented rate; with a crash of
 * at least 10% within at most 5 minutes: always a trip, no later than the crash's end); and the
 * calm bound of docs/anomaly.md recomputed from ../shared/data (skipped when it is absent). */
#include <criterion/criterion.h>

#include "noderr/alloc.h"
#include "noderr/anomaly.h"
#include "noderr/clock.h"
#include "noderr/engine.h"
#include "noderr/market.h"
#include "noderr/rand.h"
#include "noderr/risk.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define T0 (1577836800LL * ND_NS_PER_SEC) /* 2020-01-01T00:00:00Z */
#define W (5 * ND_NS_PER_MIN)
#define U 100000000LL

static nd_anomaly_fast_t rule(int64_t window_ns, int64_t move_e6)
{
    nd_anomaly_fast_t f;
    cr_assert_eq(nd_anomaly_fast_init(&f, window_ns, move_e6), ND_OK);
    return f;
}

Test(fast_move, exact_at_and_around_the_threshold_both_ways)
{
    nd_anomaly_fast_t f = rule(W, 100000);
    int64_t move = 0;
    cr_assert_not(nd_anomaly_fast_push(&f, T0, 10000, &move));
    cr_assert_not(nd_anomaly_fast_push(&f, T0 + ND_NS_PER_SEC, 9001, &move)); /* -9.99% */
    cr_assert_eq(nd_anomaly_fast_last_move_e6(&f), -99900);
    cr_assert(nd_anomaly_fast_push(&f, T0 + 2 * ND_NS_PER_SEC, 9000, &move)); /* -10% exactly */
    cr_assert_eq(move, -100000);
    cr_assert_eq(f.fired, 1);
    /* Up: +10% of the window's low, exactly. */
    nd_anomaly_fast_t g = rule(W, 100000);
    cr_assert_not(nd_anomaly_fast_push(&g, T0, 10000, &move));
    cr_assert_not(nd_anomaly_fast_push(&g, T0 + 1, 10999, &move));
    cr_assert(nd_anomaly_fast_push(&g, T0 + 2, 11000, &move));
    cr_assert_eq(move, 100000);
    /* Large prices: the comparison is exact (no overflow, no rounding up). */
    nd_anomaly_fast_t h = rule(W, 100000);
    int64_t hi = 4000000000000000000LL;
    cr_assert_not(nd_anomaly_fast_push(&h, T0, hi, &move));
    cr_assert_not(nd_anomaly_fast_push(&h, T0 + 1, hi - hi / 10 + 1, &move));
    cr_assert(nd_anomaly_fast_push(&h, T0 + 2, hi - hi / 10, &move));
    /* A rise past int64 shares is capped, not wrapped. */
    nd_anomaly_fast_t up = rule(W, 100000);
    cr_assert_not(nd_anomaly_fast_push(&up, T0, 1, &move));
    cr_assert(nd_anomaly_fast_push(&up, T0 + 1, INT64_MAX / 2, &move));
    cr_assert_eq(move, 1000000000000LL);
    /* Not a price: ignored. A time before the last one counts as the last one. */
    nd_anomaly_fast_t k = rule(W, 100000);
    cr_assert_not(nd_anomaly_fast_push(&k, T0, 0, &move));
    cr_assert_not(nd_anomaly_fast_push(&k, T0 + W, 10000, &move));
    cr_assert(nd_anomaly_fast_push(&k, T0, 9000, &move));
    /* Bad configurations. */
    nd_anomaly_fast_t bad;
    cr_assert_eq(nd_anomaly_fast_init(&bad, W, 0), ND_EINVAL);
    cr_assert_eq(nd_anomaly_fast_init(&bad, W, 1000000), ND_EINVAL);
    cr_assert_eq(nd_anomaly_fast_init(&bad, ND_ANOMALY_FAST_SLOTS - 1, 100000), ND_EINVAL);
}

Test(fast_move, the_window_and_once_per_move)
{
    int64_t move = 0;
    /* A fall of 10% completed in exactly the window fires, on the price that completes it. */
    nd_anomaly_fast_t f = rule(W, 100000);
    cr_assert_not(nd_anomaly_fast_push(&f, T0 + 7, 10000, &move));
    cr_assert_not(nd_anomaly_fast_push(&f, T0 + 7 + W - 1, 9001, &move));
    cr_assert(nd_anomaly_fast_push(&f, T0 + 7 + W, 9000, &move));
    /* The same fall over two windows and a slot more does not. */
    nd_anomaly_fast_t g = rule(W, 100000);
    for (int64_t s = 0; s <= 700; s++) {
        int64_t px = 10000 - s * 1000 / 700; /* -10% over 700 s, evenly */
        cr_assert_not(nd_anomaly_fast_push(&g, T0 + s * ND_NS_PER_SEC, px, &move), "s=%lld",
                      (long long)s);
    }
    cr_assert_lt(nd_anomaly_fast_last_move_e6(&g), -40000);
    cr_assert_gt(nd_anomaly_fast_last_move_e6(&g), -50000);
    /* After firing, the rule starts again from that price: a further 10% fires again, not the
     * next price of the same move. */
    nd_anomaly_fast_t h = rule(W, 100000);
    cr_assert_not(nd_anomaly_fast_push(&h, T0, 10000, &move));
    cr_assert(nd_anomaly_fast_push(&h, T0 + ND_NS_PER_SEC, 8900, &move));
    cr_assert_eq(move, -110000);
    cr_assert_not(nd_anomaly_fast_push(&h, T0 + 2 * ND_NS_PER_SEC, 8100, &move)); /* -8.99% */
    cr_assert(nd_anomaly_fast_push(&h, T0 + 3 * ND_NS_PER_SEC, 8010, &move));     /* -10% */
    cr_assert_eq(h.fired, 2);
}

/* ---- risk: the trip -------------------------------------------------------------------------- */

static nd_risk_t risk_with(int64_t threshold_e6, int64_t fast_e6)
{
    nd_risk_config_t cfg;
    nd_risk_config_live(&cfg);
    cfg.anomaly_threshold_e6 = threshold_e6;
    cfg.fast_move_e6 = fast_e6;
    nd_risk_t r;
    cr_assert_eq(nd_risk_init(&r, &cfg, 1), ND_OK);
    return r;
}

Test(fast_move, risk_trips_the_anomaly_breaker_with_the_move)
{
    nd_risk_config_t live, def;
    nd_risk_config_live(&live);
    nd_risk_config_default(&def);
    cr_assert_eq(live.fast_move_e6, 100000);
    cr_assert_eq(live.fast_move_window_ns, W);
    cr_assert_eq(def.fast_move_e6, 0, "off in backtests");
    nd_risk_t r = risk_with(800000, 100000);
    cr_assert(nd_risk_fast_move(&r, T0, 10000 * U, 2, -123456));
    cr_assert(r.halted);
    cr_assert_eq(r.halt_kind, ND_BREAKER_ANOMALY);
    cr_assert_eq(r.halt_end_ns, INT64_MAX);
    const nd_breaker_event_t *e = &r.events[0];
    cr_assert_eq(e->measured_e6, 1000000);
    cr_assert_eq(e->threshold_pct_e2, 8000);
    cr_assert_eq(e->detail.input, ND_ANOMALY_FAST_MOVE);
    cr_assert_str_eq(nd_anomaly_input_name(ND_ANOMALY_FAST_MOVE), "fast_move");
    cr_assert_eq(e->detail.instrument_id, 2);
    cr_assert_eq(e->detail.scored, 1u << ND_ANOMALY_RETURN);
    cr_assert_eq(e->detail.value_e6[ND_ANOMALY_RETURN], -123456);
    cr_assert_eq(e->detail.z_e3[ND_ANOMALY_RETURN], -1234);
    cr_assert_not(nd_risk_fast_move(&r, T0 + 1, 10000 * U, 2, -200000), "one trip per halt");
    nd_risk_t off = risk_with(0, 100000);
    cr_assert_not(nd_risk_fast_move(&off, T0, 10000 * U, 0, -500000), "the breaker is off");
    nd_risk_t no_rule = risk_with(800000, 0);
    cr_assert_not(nd_risk_fast_move(&no_rule, T0, 10000 * U, 0, -500000), "the rule is off");
    nd_risk_config_t bad;
    nd_risk_config_live(&bad);
    bad.fast_move_e6 = 1000000;
    nd_risk_t rb;
    cr_assert_eq(nd_risk_init(&rb, &bad, 1), ND_EINVAL);
}

/* ---- the engine on market events --------------------------------------------------------------- */

static size_t none_size(const double *p)
{
    (void)p;
    return sizeof(uint32_t);
}

static nd_err_t none_start(void *st, const double *p, uint32_t inst, nd_strategy_ctx_t *ctx)
{
    (void)st;
    (void)p;
    (void)inst;
    (void)ctx;
    return ND_OK;
}

static const nd_strategy_def_t none_def = {
    .name = "idle", .summary = "test", .state_size = none_size, .on_start = none_start};

typedef struct trips {
    int count;
    nd_breaker_event_t first;
} trips_t;

static nd_err_t on_event(void *ctx, const nd_event_t *ev)
{
    trips_t *t = ctx;
    if (ev->kind == ND_EVENT_BREAKER && t->count++ == 0)
        t->first = ev->u.breaker;
    return ND_OK;
}

/* A trade a second from T0 for `seconds`: a calm walk, and from crash_s on a fall of 30% over
 * 90 s (then held). Returns the engine (destroyed by the caller). */
static nd_engine_t *run_events(int64_t fast_e6, int64_t threshold_e6, int64_t crash_s,
                               int64_t seconds, int64_t release_s, trips_t *t)
{
    nd_instrument_t inst;
    cr_assert_eq(nd_instrument_init(&inst, "BTC/USDT", "sim"), ND_OK);
    nd_engine_config_t cfg;
    nd_engine_config_default(&cfg);
    cfg.risk.anomaly_threshold_e6 = threshold_e6;
    cfg.risk.fast_move_e6 = fast_e6;
    static nd_clock_sim_t clk;
    nd_clock_sim_init(&clk, T0);
    char err[256];
    nd_engine_t *e = NULL;
    cr_assert_eq(nd_engine_create(&cfg, &inst, 1, &clk.clock, &e, err, sizeof err), ND_OK, "%s",
                 err);
    static const double none[1] = {0};
    cr_assert_eq(nd_engine_add_strategy(e, &none_def, none, 0, 1000000, err, sizeof err), ND_OK);
    memset(t, 0, sizeof *t);
    nd_engine_listener_t l = {on_event, NULL, NULL, t};
    nd_engine_set_listener(e, &l);
    cr_assert_eq(nd_engine_start(e, err, sizeof err), ND_OK, "%s", err);
    nd_rand_t rng;
    nd_rand_init(&rng, 5);
    int64_t px = 1000000; /* price units */
    for (int64_t s = 0; s < seconds; s++) {
        int64_t p = px + (int64_t)(200.0 * nd_rand_normal(&rng));
        if (s >= crash_s) {
            int64_t into = s - crash_s > 90 ? 90 : s - crash_s;
            p = p * (1000000 - 300000 * into / 90) / 1000000;
        }
        int64_t ts = T0 + s * ND_NS_PER_SEC;
        nd_market_event_t ev = {.kind = ND_MARKET_TRADE, .seq = (uint64_t)s};
        ev.u.trade = (nd_trade_tick_t){ts, 0, ND_SIDE_BUY, p * 1000000, U / 100, s + 1};
        cr_assert_eq(nd_clock_sim_set(&clk, ts), ND_OK);
        if (s == release_s)
            cr_assert_eq(nd_engine_release(e), ND_OK);
        cr_assert_eq(nd_engine_on_event(e, &ev), ND_OK);
    }
    return e;
}

Test(fast_move, engine_trips_within_the_bucket_on_market_events)
{
    trips_t t;
    /* The crash starts at 600 s and is 10% down after 30 s: the rule trips then (give or
     * take the walk's noise), long before the 15-minute bucket ends at 900 s. */
    nd_engine_t *e = run_events(100000, 800000, 600, 1200, -1, &t);
    cr_assert_eq(t.count, 1);
    cr_assert_eq(t.first.kind, ND_BREAKER_ANOMALY);
    cr_assert_eq(t.first.detail.input, ND_ANOMALY_FAST_MOVE);
    cr_assert_eq(t.first.measured_e6, 1000000);
    cr_assert_leq(t.first.detail.value_e6[ND_ANOMALY_RETURN], -100000);
    cr_assert_geq(t.first.ts_ns, T0 + 627 * ND_NS_PER_SEC);
    cr_assert_leq(t.first.ts_ns, T0 + 633 * ND_NS_PER_SEC);
    cr_assert(nd_engine_risk(e)->halted, "halted until an operator releases it (the policy)");
    nd_engine_destroy(e);
    /* Released after the crash (held at -30%): trading resumes, nothing trips again (the rule
     * started again from each price it fired on). */
    e = run_events(100000, 800000, 600, 1200, 800, &t);
    cr_assert_eq(t.count, 1);
    cr_assert_not(nd_engine_risk(e)->halted);
    nd_engine_destroy(e);
    /* Without the rule the model alone sees nothing: it is not warm after 20 minutes. */
    e = run_events(0, 800000, 600, 1200, -1, &t);
    cr_assert_eq(t.count, 0);
    nd_engine_destroy(e);
    /* With the breaker off, the rule is off too. */
    e = run_events(100000, 0, 600, 1200, -1, &t);
    cr_assert_eq(t.count, 0);
    nd_engine_destroy(e);
}

/* ---- the property over seeded synthetic markets ------------------------------------------------ */

/* The seeded synthetic market (market.h nd_synth: a random walk with calm and stressed regimes),
 * one bar a second, no jumps: *closes gets `seconds` prices (nd_alloc'd). */
static int64_t *synth_seconds(uint64_t seed, int64_t seconds)
{
    nd_instrument_t inst;
    cr_assert_eq(nd_instrument_init(&inst, "BTC/USDT", "sim"), ND_OK);
    nd_synth_config_t cfg;
    nd_synth_config_default(&cfg);
    cfg.seed = seed;
    cfg.bars = seconds;
    cfg.start_ns = T0;
    cfg.interval_ns = ND_NS_PER_SEC;
    cfg.jump_prob = 0.0;
    cfg.regime_switch_prob = 0.0005;
    nd_bar_source_t *src = NULL;
    char err[256];
    cr_assert_eq(nd_synth_open(&cfg, &inst, &src, err, sizeof err), ND_OK, "%s", err);
    nd_bar_t *bars = NULL;
    size_t n = 0;
    cr_assert_eq(nd_bars_read_all(src, &bars, &n, err, sizeof err), ND_OK, "%s", err);
    src->close(src);
    cr_assert_eq(n, (size_t)seconds);
    int64_t *px = nd_calloc((size_t)seconds, sizeof *px);
    cr_assert_not_null(px);
    for (size_t i = 0; i < n; i++)
        px[i] = bars[i].close;
    nd_free(bars);
    return px;
}

/* The calm bound of docs/anomaly.md: at most this many trips per 1,000 calm hours. */
#define FAST_CALM_BOUND_PER_1000H 2.972

/* The crash overlaid on a synthetic walk: down depth_ppm linearly over len_s from `at`, back up
 * half of it over the next 2 x len_s, then held (xsim's crash path, stretched). */
static int64_t crashed(int64_t px, int64_t s, int64_t at, int64_t len_s, int64_t depth_ppm)
{
    int64_t into = s - at, down = 0;
    if (into <= 0)
        down = 0;
    else if (into <= len_s)
        down = depth_ppm * into / len_s;
    else if (into <= 3 * len_s)
        down = depth_ppm - depth_ppm / 2 * (into - len_s) / (2 * len_s);
    else
        down = depth_ppm - depth_ppm / 2;
    return (int64_t)((__int128)px * (1000000 - down) / 1000000);
}

/* The definition, by brute force: the first second whose price is at least 10% below a price
 * of the 300 seconds before it (the rule's promise: it fires then at the latest); -1 none. */
static int64_t first_fall(const int64_t *p, int64_t n)
{
    for (int64_t s = 1; s < n; s++)
        for (int64_t b = s - 300 < 0 ? 0 : s - 300; b < s; b++)
            if ((__int128)(p[b] - p[s]) * 1000000 >= (__int128)100000 * p[b])
                return s;
    return -1;
}

Test(fast_move, property_over_seeded_synthetic_markets, .timeout = 240)
{
    const int64_t seconds = 4 * 3600;
    int64_t calm_trips = 0;
    int64_t *p = nd_calloc((size_t)seconds, sizeof *p);
    cr_assert_not_null(p);
    for (uint64_t seed = 1; seed <= 60; seed++) {
        int64_t *px = synth_seconds(seed, seconds);
        nd_rand_t rng;
        nd_rand_init(&rng, seed * 7919);
        /* Without a crash. */
        nd_anomaly_fast_t f = rule(W, 100000);
        for (int64_t s = 0; s < seconds; s++)
            calm_trips += nd_anomaly_fast_push(&f, T0 + s * ND_NS_PER_SEC, px[s], NULL);
        /* With one: a fall of 12-40% over 1 s - 5 min at a random time after the first hour,
         * then half of it recovered. It must trip, not before the crash, and no later than
         * the first price 10% below one of the 5 minutes before it. */
        int64_t depth_ppm = 120000 + (int64_t)nd_rand_below(&rng, 280001);
        int64_t len_s = 1 + (int64_t)nd_rand_below(&rng, 300);
        int64_t at = 3600 + (int64_t)nd_rand_below(&rng, (uint64_t)(seconds - 7200));
        for (int64_t s = 0; s < seconds; s++)
            p[s] = crashed(px[s], s, at, len_s, depth_ppm);
        int64_t due = first_fall(p, seconds);
        cr_assert_gt(due, at, "seed=%llu: the walk alone fell 10%%", (unsigned long long)seed);
        cr_assert_leq(due, at + len_s, "seed=%llu", (unsigned long long)seed);
        nd_anomaly_fast_t g = rule(W, 100000);
        int64_t tripped = -1;
        for (int64_t s = 0; s < seconds && tripped < 0; s++)
            if (nd_anomaly_fast_push(&g, T0 + s * ND_NS_PER_SEC, p[s], NULL))
                tripped = s;
        cr_assert_gt(tripped, at, "seed=%llu: a trip at %lld s, before the crash at %lld s",
                     (unsigned long long)seed, (long long)tripped, (long long)at);
        cr_assert_leq(tripped, due,
                      "seed=%llu: a %lld ppm crash over %lld s at %lld s: due at %lld s, "
                      "tripped at %lld s", (unsigned long long)seed, (long long)depth_ppm,
                      (long long)len_s, (long long)at, (long long)due, (long long)tripped);
        nd_free(px);
    }
    nd_free(p);
    double hours = 60.0 * (double)seconds / 3600.0;
    cr_assert_leq((double)calm_trips, FAST_CALM_BOUND_PER_1000H * hours / 1000.0,
                  "%lld trips in %.0f calm synthetic hours", (long long)calm_trips, hours);
}

/* ---- the calm bound on the shared history (docs/anomaly.md) -------------------------------------- */

static bool read_bars(const char *name, nd_bar_t **bars, size_t *n)
{
    char path[512], err[600];
    snprintf(path, sizeof path, "%s/data/%s", ND_SHARED_DIR, name);
    if (access(path, R_OK) != 0)
        return false;
    /* Volumes are not used: 8 decimals, or fewer where a volume overflows them (LUNA). */
    static const int decimals[] = {8, 4};
    nd_err_t rc = ND_EINVAL;
    for (int i = 0; i < 2 && rc != ND_OK; i++) {
        nd_instrument_t inst;
        cr_assert_eq(nd_instrument_init(&inst, "BTC/USDT", "sim"), ND_OK);
        inst.qty_decimals = decimals[i];
        inst.lot_size = 1;
        nd_bar_source_t *src = NULL;
        cr_assert_eq(nd_bars_open(path, ND_BAR_FORMAT_AUTO, &inst, &src, err, sizeof err), ND_OK,
                     "%s", err);
        rc = nd_bars_read_all(src, bars, n, err, sizeof err);
        src->close(src);
    }
    cr_assert_eq(rc, ND_OK, "%s", err);
    return true;
}

static bool calm_at(int64_t ts)
{
    size_t count = 0;
    const nd_anomaly_event_window_t *w = nd_anomaly_known_events(&count);
    for (size_t i = 0; i < count; i++)
        if (ts >= w[i].calm_from_ns && ts < w[i].calm_to_ns)
            return false;
    return true;
}

/* The bound: a move of 10% within 5 minutes lies within one bar or two adjacent ones, so their
 * joint range (highest high against lowest low) reaches 10% whenever the rule could fire; runs
 * of such bars count once, as the rule restarts after firing. An upper bound: hourly candles
 * do not say how fast the range was travelled. */
static void bound(const nd_bar_t *b, size_t n, uint64_t *calm_bars, uint64_t *runs)
{
    bool prev = false;
    for (size_t i = 0; i < n; i++) {
        int64_t hi = b[i].high, lo = b[i].low;
        if (i > 0 && b[i].ts_ns - b[i - 1].ts_ns == ND_NS_PER_HOUR) {
            hi = b[i - 1].high > hi ? b[i - 1].high : hi;
            lo = b[i - 1].low < lo ? b[i - 1].low : lo;
        }
        bool q = (__int128)(hi - lo) * 1000000 >= (__int128)100000 * hi ||
                 (__int128)(hi - lo) * 1000000 >= (__int128)100000 * lo;
        bool calm = calm_at(b[i].ts_ns);
        *calm_bars += calm;
        *runs += q && !prev && calm;
        prev = q;
    }
}

/* The calm figures of docs/anomaly.md ("The fast-move rule"). */
#define FAST_CAL_CALM_HOURS 129550
#define FAST_CAL_CALM_RUNS 385

Test(fast_move_calibration, calm_bound_on_the_shared_history, .timeout = 120)
{
    static const char *files[] = {"BTCUSDT-1h.csv", "ETHUSDT-1h.csv", "BNBUSDT-1h.csv",
                                  "SOLUSDT-1h.csv"};
    uint64_t hours = 0, runs = 0;
    for (int i = 0; i < 4; i++) {
        nd_bar_t *bars = NULL;
        size_t n = 0;
        if (!read_bars(files[i], &bars, &n))
            cr_skip_test("%s/data/%s is absent: the bound is not checked", ND_SHARED_DIR,
                         files[i]);
        uint64_t h = 0, r = 0;
        bound(bars, n, &h, &r);
        cr_log_info("%s: %llu calm hours, at most %llu trips", files[i], (unsigned long long)h,
                    (unsigned long long)r);
        hours += h;
        runs += r;
        nd_free(bars);
    }
    cr_log_info("all: %llu calm hours, at most %llu trips (%.3f per 1,000 h)",
                (unsigned long long)hours, (unsigned long long)runs, runs * 1000.0 / hours);
    cr_assert_eq(hours, FAST_CAL_CALM_HOURS);
    cr_assert_eq(runs, FAST_CAL_CALM_RUNS);
    cr_assert_leq(runs * 1000.0 / hours, FAST_CALM_BOUND_PER_1000H + 0.0005);
}

/* The rule over the minute files, each minute's prices in the order that moves most (open, the
 * extreme nearer the previous close, then the farther one, then close): its first trip per
 * file, printed for docs/anomaly.md; LUNA's calm days (before 2022-05-04) must not trip. */
Test(fast_move_calibration, minute_files, .timeout = 120)
{
    static const char *files[] = {"BTCUSDT-PERP-1m-2020-03-12_13.csv",
                                  "BTCUSDT-PERP-1m-2021-05-19.csv",
                                  "BTCUSDT-PERP-1m-2022-11-08.csv",
                                  "LUNAUSDT-1m-2022-05-01_2022-05-13.csv"};
    for (int i = 0; i < 4; i++) {
        nd_bar_t *b = NULL;
        size_t n = 0;
        if (!read_bars(files[i], &b, &n))
            cr_skip_test("%s/data/%s is absent", ND_SHARED_DIR, files[i]);
        nd_anomaly_fast_t f = rule(W, 100000);
        int64_t first = 0, calm_trips = 0, trips = 0;
        for (size_t k = 0; k < n; k++) {
            int64_t step = ND_NS_PER_MIN / 4, ts = b[k].ts_ns;
            bool up = k > 0 && b[k].high - b[k - 1].close < b[k - 1].close - b[k].low;
            int64_t seq[4] = {b[k].open, up ? b[k].high : b[k].low, up ? b[k].low : b[k].high,
                              b[k].close};
            for (int j = 0; j < 4; j++) {
                if (!nd_anomaly_fast_push(&f, ts + j * step, seq[j], NULL))
                    continue;
                trips++;
                calm_trips += calm_at(ts);
                first = first ? first : ts;
            }
        }
        cr_log_info("%s: %lld trips, first at %lld (Unix s), %lld in calm minutes", files[i],
                    (long long)trips, (long long)(first / ND_NS_PER_SEC), (long long)calm_trips);
        cr_assert_eq(calm_trips, 0, "%s", files[i]);
        nd_free(b);
    }
}
