/* test_market_synth.c: the seeded synthetic market.
 *
 * Includes synth.c to check its libm-free exp and log against the C library; everything else
 * goes through the public API (nd_synth_open and the bar source). */
#include "../../src/market/synth.c"

#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

static nd_instrument_t btc(void)
{
    nd_instrument_t inst;
    cr_assert_eq(nd_instrument_init(&inst, "BTC/USDT", "sim"), ND_OK);
    inst.id = 3;
    return inst;
}

static nd_bar_source_t *open_synth(const nd_synth_config_t *cfg, const nd_instrument_t *inst)
{
    nd_bar_source_t *src = NULL;
    char err[256] = "";
    nd_err_t rc = nd_synth_open(cfg, inst, &src, err, sizeof err);
    cr_assert_eq(rc, ND_OK, "synth open: %s", err);
    return src;
}

Test(market_synth, defaults)
{
    nd_synth_config_t c;
    memset(&c, 0xab, sizeof c);
    nd_synth_config_default(&c);
    cr_assert_eq(c.seed, 42u);
    cr_assert_eq(c.bars, 10000);
    cr_assert_eq(c.start_ns, 1704067200000000000LL);
    cr_assert_eq(c.interval_ns, 3600000000000LL);
    cr_assert_eq(c.start_price, 40000.0);
    cr_assert_eq(c.annual_vol, 0.6);
    cr_assert_eq(c.stress_vol_mult, 3.0);
    cr_assert_eq(c.regime_switch_prob, 0.01);
    cr_assert_eq(c.jump_prob, 0.002);
    cr_assert_eq(c.jump_mean, -0.05);
    cr_assert_eq(c.jump_std, 0.05);
    cr_assert_eq(c.annual_drift, 0.0);
    cr_assert_eq(c.base_volume, 1000.0);
}

Test(market_synth, default_run_shape)
{
    nd_synth_config_t c;
    nd_synth_config_default(&c);
    nd_instrument_t inst = btc();
    nd_bar_source_t *src = open_synth(&c, &inst);
    nd_bar_t b;
    int64_t count = 0;
    while (src->next(src, &b) == ND_OK) {
        if (count == 0) {
            cr_assert_eq(b.ts_ns, 1704067200000000000LL);
            cr_assert_eq(b.open, 4000000000000LL, "the first open is start_price exactly");
        }
        count++;
    }
    cr_assert_eq(count, 10000);
    cr_assert_eq(b.ts_ns, 1704067200000000000LL + 9999LL * 3600000000000LL);
    cr_assert_eq(src->next(src, &b), ND_EEOF);
    src->close(src);
}

static uint64_t hash_run(const nd_synth_config_t *c, int64_t bars, nd_bar_t *last /* OUT */)
{
    nd_instrument_t inst = btc();
    nd_bar_source_t *src = open_synth(c, &inst);
    uint64_t h = 1469598103934665603ULL;
    nd_bar_t b;
    for (int64_t i = 0; i < bars; i++) {
        cr_assert_eq(src->next(src, &b), ND_OK);
        const unsigned char *p = (const unsigned char *)&b;
        for (size_t k = 0; k < sizeof b; k++)
            h = (h ^ p[k]) * 1099511628211ULL;
    }
    *last = b;
    src->close(src);
    return h;
}

Test(market_synth, same_seed_same_bytes)
{
    nd_synth_config_t c;
    nd_synth_config_default(&c);
    nd_instrument_t inst = btc();
    nd_bar_source_t *a = open_synth(&c, &inst), *b = open_synth(&c, &inst);
    for (int i = 0; i < 20000; i++) {
        nd_bar_t x, y;
        nd_err_t ra = a->next(a, &x), rb = b->next(b, &y);
        cr_assert_eq(ra, rb);
        if (ra != ND_OK)
            break;
        cr_assert_eq(memcmp(&x, &y, sizeof x), 0, "bar %d differs", i);
    }
    a->close(a);
    b->close(b);
}

Test(market_synth, different_seeds_differ)
{
    nd_synth_config_t c;
    nd_synth_config_default(&c);
    nd_bar_t l1, l2, l3;
    uint64_t h1 = hash_run(&c, 1000, &l1);
    c.seed = 43;
    uint64_t h2 = hash_run(&c, 1000, &l2);
    c.seed = 0;
    uint64_t h3 = hash_run(&c, 1000, &l3);
    cr_assert_neq(h1, h2);
    cr_assert_neq(h1, h3);
    cr_assert_neq(h2, h3);
    cr_assert_neq(l1.close, l2.close);
}

Test(market_synth, invariants_over_100k_bars)
{
    nd_synth_config_t c;
    nd_synth_config_default(&c);
    c.bars = 100000;
    c.interval_ns = 60LL * 1000000000LL;
    c.annual_vol = 2.0; /* wilder than BTC, to exercise the band and the tick floor */
    nd_instrument_t inst = btc();
    nd_bar_source_t *src = open_synth(&c, &inst);
    nd_bar_t b;
    int64_t prev_close = 0, count = 0, ranged = 0;
    while (src->next(src, &b) == ND_OK) {
        cr_assert_eq(b.ts_ns, c.start_ns + count * c.interval_ns);
        cr_assert_geq(b.low, inst.tick_size);
        cr_assert_leq(b.low, b.open);
        cr_assert_leq(b.low, b.close);
        cr_assert_geq(b.high, b.open);
        cr_assert_geq(b.high, b.close);
        cr_assert_eq(b.open % inst.tick_size, 0);
        cr_assert_eq(b.high % inst.tick_size, 0);
        cr_assert_eq(b.low % inst.tick_size, 0);
        cr_assert_eq(b.close % inst.tick_size, 0);
        cr_assert_geq(b.volume, 0);
        cr_assert_eq(b.volume % inst.lot_size, 0);
        cr_assert_eq(b.instrument_id, 3u);
        if (count > 0)
            cr_assert_eq(b.open, prev_close, "bar %lld opens at the previous close",
                         (long long)count);
        ranged += b.high > b.low;
        prev_close = b.close;
        count++;
    }
    cr_assert_eq(count, 100000);
    cr_assert_gt(ranged, 90000, "nearly every bar has a range");
    src->close(src);
}

Test(market_synth, calm_volatility_matches_config)
{
    /* One regime, no jumps: the std of hourly log returns is 0.6 * sqrt(1h / 365d). */
    nd_synth_config_t c;
    nd_synth_config_default(&c);
    c.bars = 100000;
    c.stress_vol_mult = 1.0;
    c.jump_prob = 0.0;
    nd_instrument_t inst = btc();
    nd_bar_source_t *src = open_synth(&c, &inst);
    nd_bar_t b;
    double sum = 0, sum2 = 0, vol_sum = 0;
    int64_t prev = 0, n = 0;
    while (src->next(src, &b) == ND_OK) {
        if (prev > 0) {
            double r = log((double)b.close / (double)prev);
            sum += r;
            sum2 += r * r;
            n++;
        }
        vol_sum += (double)b.volume / 1e8;
        prev = b.close;
    }
    double sd = sqrt(sum2 / (double)n - (sum / (double)n) * (sum / (double)n));
    double want = 0.6 * sqrt(3600.0 / (365.0 * 86400.0));
    cr_assert_float_eq(sd, want, want * 0.02, "sd %.6f want %.6f", sd, want);
    /* Volume is a mean-one lognormal around base_volume in the calm regime. */
    cr_assert_float_eq(vol_sum / 100000.0, 1000.0, 10.0, "mean volume %.2f", vol_sum / 1e5);
    src->close(src);
}

Test(market_synth, jumps_land_inside_the_bar_and_are_compensated)
{
    /* No diffusion, a -5% jump every bar, compensated by +1.25% per sub-step: every bar opens
     * and closes at 40000, and its low is 40000 e^-0.0375, e^-0.025, e^-0.0125 or 40000
     * depending on which of the four sub-steps the jump fell in. */
    nd_synth_config_t c;
    nd_synth_config_default(&c);
    c.annual_vol = 0.0;
    c.jump_prob = 1.0;
    c.jump_mean = -0.05;
    c.jump_std = 0.0;
    c.bars = 2000;
    nd_instrument_t inst = btc();
    nd_bar_source_t *src = open_synth(&c, &inst);
    const int64_t lows[4] = {3852778000000LL, 3901240000000LL, 3950311000000LL, 4000000000000LL};
    int seen[4] = {0};
    nd_bar_t b;
    while (src->next(src, &b) == ND_OK) {
        cr_assert_eq(b.open, 4000000000000LL);
        cr_assert_eq(b.close, 4000000000000LL);
        int hit = -1;
        for (int k = 0; k < 4; k++)
            if (llabs(b.low - lows[k]) <= 1000000)
                hit = k;
        cr_assert_geq(hit, 0, "low %lld is not one of the four jump positions", (long long)b.low);
        seen[hit]++;
    }
    for (int k = 0; k < 4; k++)
        cr_assert_gt(seen[k], 400, "jump position %d seen %d times", k, seen[k]);
    src->close(src);
}

Test(market_synth, zero_bars_is_empty)
{
    nd_synth_config_t c;
    nd_synth_config_default(&c);
    c.bars = 0;
    nd_instrument_t inst = btc();
    nd_bar_source_t *src = open_synth(&c, &inst);
    nd_bar_t b;
    cr_assert_eq(src->next(src, &b), ND_EEOF);
    src->close(src);
}

static void expect_invalid(const nd_synth_config_t *c, const char *want)
{
    nd_instrument_t inst = btc();
    nd_bar_source_t *src = (nd_bar_source_t *)0x1;
    char err[256] = "";
    cr_assert_eq(nd_synth_open(c, &inst, &src, err, sizeof err), ND_EINVAL, "want %s", want);
    cr_assert_str_eq(err, want);
    cr_assert_eq(src, (nd_bar_source_t *)0x1);
}

Test(market_synth, config_validation)
{
    nd_synth_config_t d, c;
    nd_synth_config_default(&d);
    c = d, c.bars = -1;
    expect_invalid(&c, "bars -1 must be >= 0");
    c = d, c.interval_ns = 0;
    expect_invalid(&c, "interval_ns 0 must be > 0");
    c = d, c.bars = 10000000; /* 10M hours from 2024 is past the year 2262 */
    expect_invalid(&c, "start_ns + bars * interval_ns overflows");
    c = d, c.start_price = 0;
    expect_invalid(&c, "start_price 0 must be finite and > 0");
    c = d, c.start_price = NAN;
    expect_invalid(&c, "start_price nan must be finite and > 0");
    c = d, c.start_price = 1e8;
    expect_invalid(&c, "start_price 1e+08 too large for 8 price decimals");
    c = d, c.annual_vol = -0.1;
    expect_invalid(&c, "annual_vol -0.1 must be finite and >= 0");
    c = d, c.stress_vol_mult = INFINITY;
    expect_invalid(&c, "stress_vol_mult inf must be finite and >= 0");
    c = d, c.regime_switch_prob = 1.5;
    expect_invalid(&c, "regime_switch_prob 1.5 outside [0, 1]");
    c = d, c.jump_prob = -0.01;
    expect_invalid(&c, "jump_prob -0.01 outside [0, 1]");
    c = d, c.jump_mean = NAN;
    expect_invalid(&c, "jump_mean nan must be finite");
    c = d, c.jump_std = -1;
    expect_invalid(&c, "jump_std -1 must be finite and >= 0");
    c = d, c.annual_drift = -INFINITY;
    expect_invalid(&c, "annual_drift -inf must be finite");
    c = d, c.base_volume = -5;
    expect_invalid(&c, "base_volume -5 must be finite and >= 0");
    c = d, c.base_volume = 1e9;
    expect_invalid(&c, "base_volume 1e+09 too large for 8 quantity decimals");
}

Test(market_synth, probability_edges_are_valid)
{
    nd_synth_config_t c;
    nd_synth_config_default(&c);
    c.regime_switch_prob = 1.0; /* switches every bar */
    c.jump_prob = 0.0;
    c.bars = 100;
    nd_instrument_t inst = btc();
    nd_bar_source_t *src = open_synth(&c, &inst);
    nd_bar_t b;
    int n = 0;
    while (src->next(src, &b) == ND_OK)
        n++;
    cr_assert_eq(n, 100);
    src->close(src);
}

Test(market_synth, deterministic_exp_and_log_are_accurate)
{
    synth_source_t s;
    memset(&s, 0, sizeof s);
    build_tables(&s);
    double worst_exp = 0, worst_log = 0;
    for (int i = -20000; i <= 20000; i++) {
        double x = (double)i * 0.00173;
        double rel = fabs(fast_exp(&s, x) / exp(x) - 1.0);
        worst_exp = rel > worst_exp ? rel : worst_exp;
        rel = fabs(det_exp(x) / exp(x) - 1.0);
        worst_exp = rel > worst_exp ? rel : worst_exp;
    }
    for (int i = 1; i <= 40000; i++) {
        double x = (double)i * 0.0000311 + (i % 7) * 13.7;
        double err = fabs(fast_log(&s, x) - log(x));
        worst_log = err > worst_log ? err : worst_log;
        err = fabs(det_log(x) - log(x));
        worst_log = err > worst_log ? err : worst_log;
    }
    cr_assert_lt(worst_exp, 1e-14, "exp relative error %g", worst_exp);
    cr_assert_lt(worst_log, 1e-14, "log absolute error %g", worst_log);
}
