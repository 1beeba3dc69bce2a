/* test_indicators.c: the indicator table (indicators.h).
 *
 * Per indicator: a small case worked out by hand (comments give the arithmetic), checking the
 * warm-up (NAN and false before lookback(params), true after) and the first values. Then
 * properties over a seeded random walk: moving averages of a constant are the constant, bands
 * are ordered, oscillators stay in [0, 100], the deque max/min equal a brute-force scan (with
 * ties), the first ready bar is lookback() for every indicator, a memcpy'd state continues like
 * the original, and update never allocates. TA-Lib's own values on real candles are checked by
 * tests/integration/79_indicators_talib.sh. */
#include <criterion/criterion.h>

#include "noderr/alloc.h"
#include "noderr/indicators.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EPS 1e-9
#define MAX_BARS 4096

typedef struct series {
    nd_indicator_input_t in[MAX_BARS];
    double out[MAX_BARS][ND_INDICATOR_OUTPUTS_MAX];
    bool ready[MAX_BARS];
    int n;
} series_t;

static series_t S; /* large: static rather than on the stack */

static const nd_indicator_def_t *find(const char *name)
{
    const nd_indicator_def_t *def = nd_indicator_find(name);
    cr_assert_not_null(def, "indicator %s", name);
    return def;
}

/* Sets params from "k=v" strings (NULL-terminated) over the defaults. */
static void params_of(const nd_indicator_def_t *def, double *params, const char *const *kvs)
{
    char err[256];
    nd_indicator_params_default(def, params);
    for (int i = 0; kvs != NULL && kvs[i] != NULL; i++)
        cr_assert_eq(nd_indicator_param_set(def, params, kvs[i], err, sizeof err), ND_OK, "%s",
                     err);
    cr_assert_eq(nd_indicator_params_check(def, params, err, sizeof err), ND_OK, "%s", err);
}

/* Runs def over S.in[0..S.n) into S.out / S.ready. */
static void run(const nd_indicator_def_t *def, const double *params)
{
    void *state = malloc(def->state_size(params));
    cr_assert_not_null(state);
    memset(state, 0xA5, def->state_size(params)); /* init must not rely on zeroed memory */
    def->init(state, params);
    for (int i = 0; i < S.n; i++) {
        for (int j = 0; j < ND_INDICATOR_OUTPUTS_MAX; j++)
            S.out[i][j] = 12345.0; /* every output must be written */
        S.ready[i] = def->update(state, &S.in[i], S.out[i]);
    }
    free(state);
}

static void set_closes(const double *closes, int n)
{
    memset(&S, 0, sizeof S);
    for (int i = 0; i < n; i++) {
        S.in[i].ts_ns = (int64_t)i * 3600 * INT64_C(1000000000);
        S.in[i].open = S.in[i].high = S.in[i].low = S.in[i].close = closes[i];
        S.in[i].volume = 1.0;
    }
    S.n = n;
}

/* Bars (high, low, close) used by the ATR/ADX/Stochastic/Keltner cases. */
static const double HLC[][3] = {
    {10, 8, 9}, {12, 9, 11}, {11, 10, 10.5}, {15, 11, 14}, {14, 9, 9.5},
};

static void set_hlc(void)
{
    memset(&S, 0, sizeof S);
    for (int i = 0; i < 5; i++) {
        S.in[i].ts_ns = (int64_t)i * 3600 * INT64_C(1000000000);
        S.in[i].high = HLC[i][0];
        S.in[i].low = HLC[i][1];
        S.in[i].close = S.in[i].open = HLC[i][2];
        S.in[i].volume = 1.0;
    }
    S.n = 5;
}

static void expect_warmup(int first, int outputs)
{
    for (int i = 0; i < first; i++) {
        cr_assert(!S.ready[i], "bar %d ready before %d", i, first);
    }
    for (int i = first; i < S.n; i++)
        cr_assert(S.ready[i], "bar %d not ready (first %d)", i, first);
    /* Before `first`, output 0 is NAN except where an output starts early (ADX's DIs, checked
     * in its test); from `first` on every output is defined. */
    for (int i = first; i < S.n; i++)
        for (int j = 0; j < outputs; j++)
            cr_assert(!isnan(S.out[i][j]), "bar %d output %d undefined", i, j);
}

static void near_at(double got, double want, int line)
{
    cr_assert(fabs(got - want) <= EPS * fmax(1.0, fabs(want)), "line %d: %.15g != %.15g", line, got,
              want);
}
#define NEAR(a, b) near_at((a), (double)(b), __LINE__)

Test(indicators, registry_lists_fourteen_and_finds_by_name)
{
    int count = 0;
    const nd_indicator_def_t *const *defs = nd_indicator_builtins(&count);
    cr_assert_eq(count, 14);
    for (int i = 0; i < count; i++) {
        cr_assert_eq(nd_indicator_find(defs[i]->name), defs[i]);
        cr_assert(defs[i]->param_count <= ND_INDICATOR_PARAMS_MAX);
        cr_assert(defs[i]->output_count >= 1 && defs[i]->output_count <= ND_INDICATOR_OUTPUTS_MAX);
    }
    cr_assert_null(nd_indicator_find("SMA"));
    cr_assert_null(nd_indicator_find(NULL));
}

Test(indicators, params_use_the_strategy_rules)
{
    const nd_indicator_def_t *def = find("macd");
    double p[ND_INDICATOR_PARAMS_MAX];
    char err[256];
    nd_indicator_params_default(def, p);
    cr_assert_eq(p[0], 12);
    cr_assert_eq(p[1], 26);
    cr_assert_eq(p[2], 9);
    cr_assert_eq(nd_indicator_param_set(def, p, "fast=2.5", err, sizeof err), ND_EINVAL);
    cr_assert(strstr(err, "whole number") != NULL, "%s", err);
    cr_assert_eq(nd_indicator_param_set(def, p, "nope=3", err, sizeof err), ND_EINVAL);
    cr_assert_eq(nd_indicator_param_set(def, p, "fast=40", err, sizeof err), ND_OK);
    cr_assert_eq(nd_indicator_params_check(def, p, err, sizeof err), ND_EINVAL);
    cr_assert(strstr(err, "below slow") != NULL, "%s", err);
}

Test(indicators, sma_period_3)
{
    /* [1,2,3,4,5]: (1+2+3)/3 = 2 on bar 2, then 3, 4. */
    set_closes((double[]){1, 2, 3, 4, 5}, 5);
    double p[ND_INDICATOR_PARAMS_MAX];
    params_of(find("sma"), p, (const char *[]){"period=3", NULL});
    run(find("sma"), p);
    expect_warmup(2, 1);
    cr_assert(isnan(S.out[0][0]) && isnan(S.out[1][0]));
    NEAR(S.out[2][0], 2);
    NEAR(S.out[3][0], 3);
    NEAR(S.out[4][0], 4);
}

Test(indicators, ema_seeded_with_the_sma)
{
    /* period 3, k = 0.5: seed (1+2+3)/3 = 2 on bar 2; (4-2)*.5+2 = 3; (5-3)*.5+3 = 4. */
    set_closes((double[]){1, 2, 3, 4, 5}, 5);
    double p[ND_INDICATOR_PARAMS_MAX];
    params_of(find("ema"), p, (const char *[]){"period=3", NULL});
    run(find("ema"), p);
    expect_warmup(2, 1);
    cr_assert(isnan(S.out[1][0]));
    NEAR(S.out[2][0], 2);
    NEAR(S.out[3][0], 3);
    NEAR(S.out[4][0], 4);
}

Test(indicators, wma_period_3)
{
    /* weights 1,2,3: (1+4+9)/6 on bar 2, (2+6+12)/6 on bar 3, (3+8+15)/6 on bar 4. */
    set_closes((double[]){1, 2, 3, 4, 5}, 5);
    double p[ND_INDICATOR_PARAMS_MAX];
    params_of(find("wma"), p, (const char *[]){"period=3", NULL});
    run(find("wma"), p);
    expect_warmup(2, 1);
    NEAR(S.out[2][0], 14.0 / 6);
    NEAR(S.out[3][0], 20.0 / 6);
    NEAR(S.out[4][0], 26.0 / 6);
}

Test(indicators, rsi_wilder_period_2)
{
    /* closes 1,2,1,2: bar 2 averages +1 and -1 over 2: gain .5, loss .5 -> 50. Bar 3 (+1):
     * gain (.5*1+1)/2 = .75, loss (.5*1)/2 = .25 -> 75. */
    set_closes((double[]){1, 2, 1, 2}, 4);
    double p[ND_INDICATOR_PARAMS_MAX];
    params_of(find("rsi"), p, (const char *[]){"period=2", NULL});
    run(find("rsi"), p);
    expect_warmup(2, 1);
    NEAR(S.out[2][0], 50);
    NEAR(S.out[3][0], 75);
}

Test(indicators, rsi_of_a_flat_series_is_zero_as_in_talib)
{
    double c[40];
    for (int i = 0; i < 40; i++)
        c[i] = 7;
    set_closes(c, 40);
    double p[ND_INDICATOR_PARAMS_MAX];
    params_of(find("rsi"), p, NULL);
    run(find("rsi"), p);
    expect_warmup(14, 1);
    for (int i = 14; i < 40; i++)
        cr_assert_eq(S.out[i][0], 0.0);
}

Test(indicators, macd_seeds_the_fast_ema_where_the_slow_starts)
{
    /* closes 1,2,4,8,16; fast 2 (k 2/3), slow 3 (k 1/2), signal 2 (k 2/3).
     * slow: 7/3 on bar 2, 31/6, 127/12. fast, seeded on bar 2 with (2+4)/2 = 3 (TA-Lib; seeding
     * from bar 0 would give 19/6): 3, 19/3, 115/9. line: 2/3, 7/6, 79/36.
     * signal seeded on bar 3: (2/3 + 7/6)/2 = 11/12;
     * bar 4: (79/36 - 11/12)*2/3 + 11/12 = 191/108. */
    set_closes((double[]){1, 2, 4, 8, 16}, 5);
    double p[ND_INDICATOR_PARAMS_MAX];
    params_of(find("macd"), p, (const char *[]){"fast=2", "slow=3", "signal=2", NULL});
    cr_assert_eq(find("macd")->lookback(p), 3);
    run(find("macd"), p);
    expect_warmup(3, 3);
    cr_assert(isnan(S.out[2][0]) && isnan(S.out[2][1]) && isnan(S.out[2][2]));
    NEAR(S.out[3][0], 7.0 / 6);
    NEAR(S.out[3][1], 11.0 / 12);
    NEAR(S.out[3][2], 0.25);
    NEAR(S.out[4][0], 79.0 / 36);
    NEAR(S.out[4][1], 191.0 / 108);
    NEAR(S.out[4][2], 79.0 / 36 - 191.0 / 108);
}

Test(indicators, macd_signal_1_is_the_line)
{
    /* signal=1: the signal EMA is seeded with the line itself, so it equals the line (k = 1)
     * and the histogram is 0, from bar slow-1 (TA-Lib misreports this case; docs). */
    set_closes((double[]){1, 2, 4, 8, 16, 32}, 6);
    double p[ND_INDICATOR_PARAMS_MAX];
    params_of(find("macd"), p, (const char *[]){"fast=2", "slow=3", "signal=1", NULL});
    cr_assert_eq(find("macd")->lookback(p), 2);
    run(find("macd"), p);
    expect_warmup(2, 3);
    NEAR(S.out[2][0], 2.0 / 3);
    for (int i = 2; i < 6; i++) {
        NEAR(S.out[i][1], S.out[i][0]);
        NEAR(S.out[i][2], 0);
    }
}

Test(indicators, bollinger_population_deviation)
{
    /* [1,3]: middle 2, variance (1+9)/2 - 4 = 1: upper 2+2*1 = 4, lower 2-1.5*1 = 0.5.
     * [3,3]: deviation 0: all three bands 3. */
    set_closes((double[]){1, 3, 3}, 3);
    double p[ND_INDICATOR_PARAMS_MAX];
    params_of(find("bollinger"), p, (const char *[]){"period=2", "dev_down=1.5", NULL});
    run(find("bollinger"), p);
    expect_warmup(1, 3);
    NEAR(S.out[1][0], 4);
    NEAR(S.out[1][1], 2);
    NEAR(S.out[1][2], 0.5);
    cr_assert_eq(S.out[2][0], 3.0);
    cr_assert_eq(S.out[2][1], 3.0);
    cr_assert_eq(S.out[2][2], 3.0);
}

Test(indicators, atr_wilder_period_2)
{
    /* TR bar 1: max(12-9, |9-12|, |9-9|) = 3; bar 2: max(1, 0, 1) = 1 -> ATR (3+1)/2 = 2 on
     * bar 2; bar 3: TR max(4, |10.5-15| = 4.5, .5) = 4.5 -> (2*1 + 4.5)/2 = 3.25. */
    set_hlc();
    double p[ND_INDICATOR_PARAMS_MAX];
    params_of(find("atr"), p, (const char *[]){"period=2", NULL});
    run(find("atr"), p);
    expect_warmup(2, 1);
    NEAR(S.out[2][0], 2);
    NEAR(S.out[3][0], 3.25);
}

Test(indicators, adx_period_2)
{
    /* Bar 1: +DM 2 (12-10 > 8-9), TR 3. Bar 2: no DM; +DM 2-2/2 = 1, TR 3-1.5+1 = 2.5:
     * +DI 40, -DI 0, DX 100. Bar 3: +DM 4: 1-.5+4 = 4.5, TR 4.5: 2.5-1.25+4.5 = 5.75, DX 100;
     * first ADX (100+100)/2 = 100. Bar 4: -DM 2: +DM 2.25, -DM 2, TR 5.75-2.875+5 = 7.875,
     * DX = 100*.25/4.25 = 100/17; ADX = (100*1 + 100/17)/2 = 900/17. */
    set_hlc();
    double p[ND_INDICATOR_PARAMS_MAX];
    params_of(find("adx"), p, (const char *[]){"period=2", NULL});
    cr_assert_eq(find("adx")->lookback(p), 3);
    run(find("adx"), p);
    expect_warmup(3, 3);
    cr_assert(isnan(S.out[1][0]) && isnan(S.out[1][1]));
    NEAR(S.out[2][0], 40);
    NEAR(S.out[2][1], 0);
    cr_assert(isnan(S.out[2][2]), "ADX defined before 2n-1");
    NEAR(S.out[3][0], 100 * 4.5 / 5.75);
    NEAR(S.out[3][2], 100);
    NEAR(S.out[4][0], 100 * 2.25 / 7.875);
    NEAR(S.out[4][1], 100 * 2.0 / 7.875);
    NEAR(S.out[4][2], 900.0 / 17);
}

Test(indicators, stoch_fastk_3_slowk_2_slowd_1)
{
    /* Bar 2: HH 12, LL 8: (10.5-8)/(4/100) = 62.5; bar 3: HH 15, LL 9: (14-9)/.06 = 250/3;
     * slow %K (SMA 2) on bar 3 = (62.5 + 250/3)/2; %D (SMA 1) the same. */
    set_hlc();
    double p[ND_INDICATOR_PARAMS_MAX];
    params_of(find("stoch"), p,
              (const char *[]){"fastk_period=3", "slowk_period=2", "slowd_period=1", NULL});
    cr_assert_eq(find("stoch")->lookback(p), 3);
    run(find("stoch"), p);
    expect_warmup(3, 2);
    NEAR(S.out[3][0], (62.5 + 250.0 / 3) / 2);
    NEAR(S.out[3][1], (62.5 + 250.0 / 3) / 2);
}

Test(indicators, donchian_period_2)
{
    set_hlc();
    double p[ND_INDICATOR_PARAMS_MAX];
    params_of(find("donchian"), p, (const char *[]){"period=2", NULL});
    run(find("donchian"), p);
    expect_warmup(1, 3);
    NEAR(S.out[1][0], 12);
    NEAR(S.out[1][1], 10);
    NEAR(S.out[1][2], 8);
    NEAR(S.out[4][0], 15); /* bars 3, 4: max(15, 14), min(11, 9) */
    NEAR(S.out[4][2], 9);
}

Test(indicators, keltner_ema_and_atr)
{
    /* EMA 2 of closes 9, 11, 10.5: seed 10 on bar 1, (10.5-10)*2/3+10 on bar 2; ATR 2 first on
     * bar 2 (= 2, see atr_wilder_period_2); multiplier 1. */
    set_hlc();
    double p[ND_INDICATOR_PARAMS_MAX];
    params_of(find("keltner"), p,
              (const char *[]){"period=2", "atr_period=2", "multiplier=1", NULL});
    cr_assert_eq(find("keltner")->lookback(p), 2);
    run(find("keltner"), p);
    expect_warmup(2, 3);
    double mid = 10 + 0.5 * 2 / 3;
    NEAR(S.out[2][1], mid);
    NEAR(S.out[2][0], mid + 2);
    NEAR(S.out[2][2], mid - 2);
}

Test(indicators, vwap_resets_at_utc_midnight)
{
    memset(&S, 0, sizeof S);
    const int64_t h = 3600 * INT64_C(1000000000);
    /* 22:00 and 23:00 of 1969-12-31 (negative times), then 00:00 and 01:00 of 1970-01-01. */
    double px[] = {10, 20, 30, 40}, vol[] = {1, 3, 2, 2};
    for (int i = 0; i < 4; i++) {
        S.in[i].ts_ns = (i - 2) * h;
        S.in[i].high = S.in[i].low = S.in[i].close = px[i];
        S.in[i].volume = vol[i];
    }
    S.n = 4;
    double p[ND_INDICATOR_PARAMS_MAX];
    params_of(find("vwap"), p, NULL);
    run(find("vwap"), p);
    expect_warmup(0, 1);
    NEAR(S.out[0][0], 10);
    NEAR(S.out[1][0], (10 + 60) / 4.0);
    NEAR(S.out[2][0], 30); /* a new day */
    NEAR(S.out[3][0], (60 + 80) / 4.0);
}

Test(indicators, vwap_undefined_until_the_session_trades)
{
    memset(&S, 0, sizeof S);
    S.in[0] = (nd_indicator_input_t){0, 5, 5, 5, 5, 0};
    S.in[1] = (nd_indicator_input_t){3600 * INT64_C(1000000000), 6, 6, 6, 6, 2};
    S.in[2] = (nd_indicator_input_t){86400 * INT64_C(1000000000), 7, 7, 7, 7, 0}; /* day 2 */
    S.n = 3;
    double p[ND_INDICATOR_PARAMS_MAX];
    params_of(find("vwap"), p, NULL);
    run(find("vwap"), p);
    cr_assert(!S.ready[0]);
    cr_assert(isnan(S.out[0][0]));
    cr_assert(S.ready[1]);
    NEAR(S.out[1][0], 6);
    cr_assert(!S.ready[2], "a new session without volume has no VWAP");
    cr_assert(isnan(S.out[2][0]));
}

Test(indicators, obv_starts_at_the_first_volume)
{
    set_closes((double[]){1, 2, 2, 1}, 4);
    double vol[] = {5, 3, 4, 2};
    for (int i = 0; i < 4; i++)
        S.in[i].volume = vol[i];
    double p[ND_INDICATOR_PARAMS_MAX];
    params_of(find("obv"), p, NULL);
    run(find("obv"), p);
    expect_warmup(0, 1);
    NEAR(S.out[0][0], 5);
    NEAR(S.out[1][0], 8);
    NEAR(S.out[2][0], 8);
    NEAR(S.out[3][0], 6);
}

Test(indicators, supertrend_starts_down_and_flips_up_on_a_breakout)
{
    /* period 2, multiplier 1. Bar 2: ATR 2, hl2 10.5: upper 12.5, lower 8.5, down -> 12.5.
     * Bar 3: ATR 3.25, hl2 13: basic upper 16.25 is not below 12.5 and the previous close 10.5
     * is not above it, so the upper band stays 12.5; close 14 > 12.5 -> up, the line is the
     * lower band: basic 9.75 > 8.5 -> 9.75. */
    set_hlc();
    double p[ND_INDICATOR_PARAMS_MAX];
    params_of(find("supertrend"), p, (const char *[]){"period=2", "multiplier=1", NULL});
    run(find("supertrend"), p);
    expect_warmup(2, 2);
    NEAR(S.out[2][0], 12.5);
    cr_assert_eq(S.out[2][1], -1.0);
    NEAR(S.out[3][0], 9.75);
    cr_assert_eq(S.out[3][1], 1.0);
}

/* ---- properties over a random walk ------------------------------------------------------ */

static uint64_t rng_state;
static double rnd(void) /* uniform [0, 1), xorshift64* */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * UINT64_C(2685821657736338717)) >> 11) / 9007199254740992.0;
}

/* A random walk rounded to 0.5 so that equal highs and lows (ties in the deques) are common. */
static void set_random_walk(uint64_t seed, int n)
{
    rng_state = seed;
    memset(&S, 0, sizeof S);
    double px = 100;
    for (int i = 0; i < n; i++) {
        double close = round((px + (rnd() - 0.5) * 4) * 2) / 2;
        if (close < 1)
            close = 1;
        double high = fmax(px, close) + round(rnd() * 4) / 2;
        double low = fmax(0.5, fmin(px, close) - round(rnd() * 4) / 2);
        S.in[i] = (nd_indicator_input_t){(int64_t)i * 3600 * INT64_C(1000000000), px, high, low,
                                         close, round(rnd() * 10)};
        px = close;
    }
    S.n = n;
}

static const char *const *const PARAM_SETS[] = {
    (const char *[]){NULL},
    (const char *[]){"period=2", NULL},
    (const char *[]){"period=17", NULL},
};

Test(indicators, first_ready_bar_is_lookback_for_every_indicator)
{
    uint64_t seed = 20261207;
    printf("seed %llu\n", (unsigned long long)seed);
    set_random_walk(seed, 400);
    int count = 0;
    const nd_indicator_def_t *const *defs = nd_indicator_builtins(&count);
    for (int d = 0; d < count; d++) {
        for (int s = 0; s < 3; s++) {
            double p[ND_INDICATOR_PARAMS_MAX];
            nd_indicator_params_default(defs[d], p);
            char err[256];
            if (PARAM_SETS[s][0] != NULL &&
                nd_indicator_param_set(defs[d], p, PARAM_SETS[s][0], err, sizeof err) != ND_OK)
                continue; /* no period parameter */
            run(defs[d], p);
            int64_t lb = defs[d]->lookback(p);
            for (int i = 0; i < S.n; i++) {
                cr_assert_eq(S.ready[i], i >= lb, "%s bar %d lookback %lld", defs[d]->name, i,
                             (long long)lb);
                for (int j = 0; j < defs[d]->output_count; j++) {
                    cr_assert(S.out[i][j] != 12345.0, "%s output %d not written", defs[d]->name, j);
                    if (i >= lb)
                        cr_assert(isfinite(S.out[i][j]), "%s bar %d output %d", defs[d]->name,
                                  i, j);
                }
            }
        }
    }
}

Test(indicators, averages_of_a_constant_are_the_constant)
{
    double c[200];
    for (int i = 0; i < 200; i++)
        c[i] = 1234.5;
    set_closes(c, 200);
    const char *names[] = {"sma", "ema", "wma", "bollinger", "keltner"};
    for (int k = 0; k < 5; k++) {
        double p[ND_INDICATOR_PARAMS_MAX];
        params_of(find(names[k]), p, NULL);
        run(find(names[k]), p);
        for (int i = (int)find(names[k])->lookback(p); i < 200; i++)
            for (int j = 0; j < find(names[k])->output_count; j++)
                NEAR(S.out[i][j], 1234.5);
    }
}

Test(indicators, bands_are_ordered_and_oscillators_bounded)
{
    uint64_t seed = 99;
    printf("seed %llu\n", (unsigned long long)seed);
    set_random_walk(seed, MAX_BARS);
    const char *bands[] = {"bollinger", "donchian", "keltner"};
    for (int k = 0; k < 3; k++) {
        double p[ND_INDICATOR_PARAMS_MAX];
        params_of(find(bands[k]), p, NULL);
        run(find(bands[k]), p);
        for (int i = (int)find(bands[k])->lookback(p); i < S.n; i++) {
            cr_assert_geq(S.out[i][0], S.out[i][1], "%s bar %d", bands[k], i);
            cr_assert_geq(S.out[i][1], S.out[i][2], "%s bar %d", bands[k], i);
        }
    }
    const char *oscillators[] = {"rsi", "stoch", "adx"};
    for (int k = 0; k < 3; k++) {
        double p[ND_INDICATOR_PARAMS_MAX];
        params_of(find(oscillators[k]), p, NULL);
        run(find(oscillators[k]), p);
        for (int i = (int)find(oscillators[k])->lookback(p); i < S.n; i++)
            for (int j = 0; j < find(oscillators[k])->output_count; j++)
                cr_assert(S.out[i][j] >= 0 && S.out[i][j] <= 100, "%s bar %d output %d: %g",
                          oscillators[k], i, j, S.out[i][j]);
    }
    double p[ND_INDICATOR_PARAMS_MAX];
    params_of(find("supertrend"), p, NULL);
    run(find("supertrend"), p);
    int ups = 0, downs = 0;
    for (int i = (int)find("supertrend")->lookback(p); i < S.n; i++) {
        cr_assert(S.out[i][1] == 1.0 || S.out[i][1] == -1.0);
        if (S.out[i][1] > 0) {
            ups++;
            cr_assert_leq(S.out[i][0], S.in[i].close, "up: the line is below the close");
        } else {
            downs++;
            cr_assert_geq(S.out[i][0], S.in[i].close, "down: the line is above the close");
        }
    }
    cr_assert(ups > 0 && downs > 0);
}

Test(indicators, donchian_equals_a_brute_force_scan_with_ties)
{
    for (uint64_t seed = 1; seed <= 5; seed++) {
        set_random_walk(seed, 1000);
        for (int period = 2; period <= 40; period += 7) {
            double p[ND_INDICATOR_PARAMS_MAX];
            char kv[32];
            snprintf(kv, sizeof kv, "period=%d", period);
            params_of(find("donchian"), p, (const char *[]){kv, NULL});
            run(find("donchian"), p);
            for (int i = period - 1; i < S.n; i++) {
                double hh = -INFINITY, ll = INFINITY;
                for (int k = i - period + 1; k <= i; k++) {
                    hh = fmax(hh, S.in[k].high);
                    ll = fmin(ll, S.in[k].low);
                }
                unsigned long long sd = seed;
                cr_assert_eq(S.out[i][0], hh, "seed %llu period %d bar %d", sd, period, i);
                cr_assert_eq(S.out[i][2], ll, "seed %llu period %d bar %d", sd, period, i);
            }
        }
    }
}

Test(indicators, a_copied_state_continues_like_the_original)
{
    set_random_walk(7, 600);
    int count = 0;
    const nd_indicator_def_t *const *defs = nd_indicator_builtins(&count);
    for (int d = 0; d < count; d++) {
        double p[ND_INDICATOR_PARAMS_MAX];
        nd_indicator_params_default(defs[d], p);
        size_t size = defs[d]->state_size(p);
        unsigned char *a = malloc(size), *b = malloc(size);
        cr_assert(a != NULL && b != NULL);
        defs[d]->init(a, p);
        double oa[ND_INDICATOR_OUTPUTS_MAX], ob[ND_INDICATOR_OUTPUTS_MAX];
        for (int i = 0; i < 300; i++)
            defs[d]->update(a, &S.in[i], oa);
        memcpy(b, a, size);
        memset(a, 0, size); /* nothing may point into the old block */
        memcpy(a, b, size);
        for (int i = 300; i < S.n; i++) {
            defs[d]->update(a, &S.in[i], oa);
            defs[d]->update(b, &S.in[i], ob);
            cr_assert(memcmp(oa, ob, sizeof(double) * (size_t)defs[d]->output_count) == 0,
                      "%s bar %d", defs[d]->name, i);
        }
        free(a);
        free(b);
    }
}

static int allocations;
static void *count_alloc(void *ctx, size_t size)
{
    (void)ctx;
    allocations++;
    return malloc(size);
}
static void *count_realloc(void *ctx, void *ptr, size_t size)
{
    (void)ctx;
    allocations++;
    return realloc(ptr, size);
}
static void count_free(void *ctx, void *ptr)
{
    (void)ctx;
    free(ptr);
}

Test(indicators, update_never_allocates)
{
    set_random_walk(11, 500);
    static const nd_allocator_t counting = {count_alloc, count_realloc, count_free, NULL};
    int count = 0;
    const nd_indicator_def_t *const *defs = nd_indicator_builtins(&count);
    for (int d = 0; d < count; d++) {
        double p[ND_INDICATOR_PARAMS_MAX];
        nd_indicator_params_default(defs[d], p);
        void *state = malloc(defs[d]->state_size(p));
        defs[d]->init(state, p);
        nd_allocator_set(&counting);
        allocations = 0;
        double out[ND_INDICATOR_OUTPUTS_MAX];
        for (int i = 0; i < S.n; i++)
            defs[d]->update(state, &S.in[i], out);
        nd_allocator_set(NULL);
        cr_assert_eq(allocations, 0, "%s allocated", defs[d]->name);
        free(state);
    }
}

Test(indicators, input_from_bar_matches_the_decimal)
{
    nd_instrument_t inst;
    cr_assert_eq(nd_instrument_init(&inst, "BTC/USDT", "sim"), ND_OK);
    nd_bar_t bar = {1577836800000000000LL, 719524000000LL, 719625000000LL, 717546000000LL,
                    717702000000LL, 51181490100LL, 0, 0};
    nd_indicator_input_t in;
    nd_indicator_input_from_bar(&inst, &bar, &in);
    cr_assert_eq(in.ts_ns, bar.ts_ns);
    cr_assert_eq(in.open, 7195.24);
    cr_assert_eq(in.high, 7196.25);
    cr_assert_eq(in.low, 7175.46);
    cr_assert_eq(in.close, 7177.02);
    cr_assert_eq(in.volume, 511.814901);
}
