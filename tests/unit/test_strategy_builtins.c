/* test_strategy_builtins.c: the strategy registry, parameter schemas and the four built-ins.
 *
 * Each built-in is driven through the public nd_strategy_def_t with a mock context that
 * records every target() call with the bar index it happened on, over hand-made price paths
 * whose signal bars were worked out by hand (comments give the arithmetic). Random-walk tests
 * compare sma_cross and breakout with brute-force O(n * window) references. */
#include <criterion/criterion.h>

#include "noderr/alloc.h"
#include "noderr/rand.h"
#include "noderr/strategy.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAX_CALLS 4096
#define INSTRUMENT 7u
#define PX 100000000LL /* one quote unit at 8 decimals */

typedef struct mock {
    nd_strategy_ctx_t ctx; /* first, so the callback can cast back */
    int bar;               /* index of the bar being fed */
    int calls;
    int bar_of[MAX_CALLS];
    int dir_of[MAX_CALLS];
} mock_t;

static nd_err_t mock_target(nd_strategy_ctx_t *ctx, uint32_t instrument_id, int direction)
{
    mock_t *m = (mock_t *)ctx;
    cr_assert_eq(instrument_id, INSTRUMENT);
    cr_assert(direction == 0 || direction == 1, "long/flat only, got %d", direction);
    cr_assert_lt(m->calls, MAX_CALLS);
    m->bar_of[m->calls] = m->bar;
    m->dir_of[m->calls] = direction;
    m->calls++;
    return ND_OK;
}

static void mock_init(mock_t *m)
{
    memset(m, 0, sizeof(*m));
    m->ctx.target = mock_target;
}

/* Sets defaults then each "k=v" of kvs (NULL-terminated), and checks the result. */
static const nd_strategy_def_t *setup(const char *name, const char *const *kvs, double *values)
{
    const nd_strategy_def_t *def = nd_strategy_find(name);
    cr_assert_not_null(def, "%s", name);
    nd_strategy_params_default(def, values);
    char err[256] = "";
    for (int i = 0; kvs != NULL && kvs[i] != NULL; i++) {
        cr_assert_eq(nd_strategy_param_set(def, values, kvs[i], err, sizeof(err)), ND_OK,
                     "%s: %s", kvs[i], err);
    }
    cr_assert_eq(nd_strategy_params_check(def, values, err, sizeof(err)), ND_OK, "%s", err);
    return def;
}

/* Feeds bars to a fresh instance of name with kvs and records the targets into m. */
static void run_bars(const char *name, const char *const *kvs, nd_bar_t *bars, int n, mock_t *m)
{
    double values[ND_STRATEGY_PARAMS_MAX];
    const nd_strategy_def_t *def = setup(name, kvs, values);
    void *state = nd_calloc(1, def->state_size(values));
    cr_assert_not_null(state);
    mock_init(m);
    cr_assert_eq(def->on_start(state, values, INSTRUMENT, &m->ctx), ND_OK);
    for (int i = 0; i < n; i++) {
        bars[i].instrument_id = INSTRUMENT;
        bars[i].ts_ns = (int64_t)i * 3600000000000LL;
        m->bar = i;
        def->on_bar(state, &bars[i], &m->ctx);
    }
    nd_free(state);
}

/* Closes given in quote units times scale; high = low = close. */
static void run_closes(const char *name, const char *const *kvs, const double *closes, int n,
                       int64_t scale, mock_t *m)
{
    nd_bar_t bars[256];
    cr_assert_leq(n, 256);
    memset(bars, 0, sizeof(bars));
    for (int i = 0; i < n; i++) {
        int64_t c = (int64_t)llround(closes[i] * 100.0) * (scale / 100);
        bars[i] = (nd_bar_t){.open = c, .high = c, .low = c, .close = c};
    }
    run_bars(name, kvs, bars, n, m);
}

/* Asserts the recorded calls equal the (bar, direction) pairs given. */
static void expect_calls(const mock_t *m, int count, const int (*want)[2])
{
    for (int i = 0; i < count && i < m->calls; i++) {
        cr_expect_eq(m->bar_of[i], want[i][0], "call %d: bar %d, want %d", i, m->bar_of[i],
                     want[i][0]);
        cr_expect_eq(m->dir_of[i], want[i][1], "call %d: direction %d, want %d", i,
                     m->dir_of[i], want[i][1]);
    }
    cr_assert_eq(m->calls, count, "got %d target calls, want %d", m->calls, count);
}

/* ---- registry and schemas ---- */

Test(strategy_registry, builtins_in_fixed_order)
{
    int count = -1;
    const nd_strategy_def_t *const *defs = nd_strategy_builtins(&count);
    cr_assert_eq(count, 4);
    cr_assert_str_eq(defs[0]->name, "sma_cross");
    cr_assert_str_eq(defs[1]->name, "ema_momentum");
    cr_assert_str_eq(defs[2]->name, "mean_reversion");
    cr_assert_str_eq(defs[3]->name, "breakout");
    for (int i = 0; i < count; i++) {
        cr_assert_eq(nd_strategy_find(defs[i]->name), defs[i]);
    }
    cr_assert_null(nd_strategy_find("nope"));
    cr_assert_null(nd_strategy_find(""));
    cr_assert_null(nd_strategy_find(NULL));
    cr_assert_null(nd_strategy_find("sma_cros"));
}

static void check_schema(const nd_strategy_def_t *def)
{
    cr_assert_lt(strlen(def->name), ND_NAME_MAX);
    cr_assert(def->summary != NULL && strlen(def->summary) > 10, "%s summary", def->name);
    cr_assert(def->param_count >= 1 && def->param_count <= ND_STRATEGY_PARAMS_MAX);
    cr_assert_not_null(def->state_size);
    cr_assert_not_null(def->on_start);
    cr_assert_not_null(def->on_bar);
    for (int i = 0; i < def->param_count; i++) {
        const nd_param_def_t *pd = &def->params[i];
        cr_assert_lt(strlen(pd->name), ND_NAME_MAX, "%s.%s", def->name, pd->name);
        cr_assert(pd->help != NULL && strlen(pd->help) > 5, "%s.%s help", def->name, pd->name);
        cr_assert(pd->min <= pd->def && pd->def <= pd->max, "%s.%s default", def->name,
                  pd->name);
        cr_assert_geq(pd->step, 0.0);
        if (pd->type == ND_PARAM_INT) {
            cr_assert_eq(pd->min, floor(pd->min));
            cr_assert_eq(pd->max, floor(pd->max));
            cr_assert_eq(pd->def, floor(pd->def));
            cr_assert_eq(pd->step, floor(pd->step));
            cr_assert_leq(pd->max, 10000, "lookbacks stay within ND_LOOKBACK_MAX");
        }
        for (int j = 0; j < i; j++) {
            cr_assert_str_neq(pd->name, def->params[j].name, "duplicate %s", pd->name);
        }
    }
}

Test(strategy_registry, schemas_are_sane_and_defaults_valid)
{
    int count = 0;
    const nd_strategy_def_t *const *defs = nd_strategy_builtins(&count);
    for (int i = 0; i < count; i++) {
        check_schema(defs[i]);
        double values[ND_STRATEGY_PARAMS_MAX];
        char err[256] = "";
        nd_strategy_params_default(defs[i], values);
        cr_assert_eq(nd_strategy_params_check(defs[i], values, err, sizeof(err)), ND_OK, "%s",
                     err);
        cr_assert_gt(defs[i]->state_size(values), 0);
    }
}

Test(strategy_registry, defaults_match_documentation)
{
    double v[ND_STRATEGY_PARAMS_MAX];
    nd_strategy_params_default(nd_strategy_find("sma_cross"), v);
    cr_assert(v[0] == 10 && v[1] == 30);
    nd_strategy_params_default(nd_strategy_find("ema_momentum"), v);
    cr_assert(v[0] == 20 && v[1] == 10 && v[2] == 0.0);
    nd_strategy_params_default(nd_strategy_find("mean_reversion"), v);
    cr_assert(v[0] == 20 && v[1] == 2.0 && v[2] == 0.0);
    nd_strategy_params_default(nd_strategy_find("breakout"), v);
    cr_assert(v[0] == 20 && v[1] == 10);
}

/* Expects kv to fail with exactly message, leaving values untouched. */
static void expect_set_error(const char *name, const char *kv, const char *message)
{
    const nd_strategy_def_t *def = nd_strategy_find(name);
    double values[ND_STRATEGY_PARAMS_MAX], before[ND_STRATEGY_PARAMS_MAX];
    nd_strategy_params_default(def, values);
    memcpy(before, values, sizeof(values));
    char err[256] = "";
    cr_assert_eq(nd_strategy_param_set(def, values, kv, err, sizeof(err)), ND_EINVAL, "%s", kv);
    cr_assert_str_eq(err, message);
    cr_assert_eq(memcmp(before, values, sizeof(double) * (size_t)def->param_count), 0);
}

Test(strategy_params, set_rejects_bad_input_with_reason)
{
    expect_set_error("sma_cross", "x=3", "unknown parameter 'x' for sma_cross (known: fast, slow)");
    expect_set_error("sma_cross", "fas=3",
                     "unknown parameter 'fas' for sma_cross (known: fast, slow)");
    expect_set_error("breakout", "=3",
                     "unknown parameter '' for breakout (known: entry_period, exit_period)");
    expect_set_error("sma_cross", "fast", "sma_cross: expected name=value, got 'fast'");
    expect_set_error("sma_cross", "fast=2.5",
                     "parameter 'fast' of sma_cross must be a whole number, got 2.5");
    expect_set_error("sma_cross", "fast=1", "parameter 'fast' of sma_cross must be in [2, 1000], "
                                            "got 1");
    expect_set_error("sma_cross", "slow=5001",
                     "parameter 'slow' of sma_cross must be in [3, 5000], got 5001");
    const char *const not_numbers[] = {"abc", "", "10x", " 10"};
    for (int i = 0; i < 4; i++) {
        char kv[32], message[128];
        snprintf(kv, sizeof(kv), "fast=%s", not_numbers[i]);
        snprintf(message, sizeof(message), "parameter 'fast' of sma_cross: '%s' is not a number",
                 not_numbers[i]);
        expect_set_error("sma_cross", kv, message);
    }
    expect_set_error("sma_cross", "fast=nan",
                     "parameter 'fast' of sma_cross must be a finite number");
    expect_set_error("sma_cross", "fast=inf",
                     "parameter 'fast' of sma_cross must be a finite number");
    expect_set_error("mean_reversion", "entry_z=0.05",
                     "parameter 'entry_z' of mean_reversion must be in [0.1, 10], got 0.05");
    expect_set_error("ema_momentum", "threshold=-0.01",
                     "parameter 'threshold' of ema_momentum must be in [0, 1], got -0.01");
}

Test(strategy_params, set_accepts_good_values)
{
    const nd_strategy_def_t *def = nd_strategy_find("ema_momentum");
    double v[ND_STRATEGY_PARAMS_MAX];
    char err[256] = "";
    nd_strategy_params_default(def, v);
    cr_assert_eq(nd_strategy_param_set(def, v, "threshold=0.025", err, sizeof(err)), ND_OK);
    cr_assert_eq(v[2], 0.025);
    cr_assert_eq(nd_strategy_param_set(def, v, "period=50", err, sizeof(err)), ND_OK);
    cr_assert_eq(v[0], 50.0);
    cr_assert_eq(nd_strategy_param_set(def, v, "lookback=1e1", err, sizeof(err)), ND_OK);
    cr_assert_eq(v[1], 10.0);
    cr_assert_eq(nd_strategy_param_set(def, v, "period=10000", err, sizeof(err)), ND_OK);
    cr_assert_eq(v[0], 10000.0);
}

static const char *const modes[] = {"fast", "slow", "auto"};
static const nd_param_def_t choice_params[] = {
    {"mode", ND_PARAM_CHOICE, 0, 2, 1, 0, "how to run", modes, 3},
};
static const nd_strategy_def_t choice_def = {
    .name = "chooser", .summary = "test", .params = choice_params, .param_count = 1};

Test(strategy_params, choices_by_name)
{
    double v[1];
    char err[256] = "";
    nd_strategy_params_default(&choice_def, v);
    cr_assert_eq(v[0], 1.0);
    cr_assert_eq(nd_strategy_param_set(&choice_def, v, "mode=auto", err, sizeof(err)), ND_OK);
    cr_assert_eq(v[0], 2.0);
    cr_assert_eq(nd_strategy_param_set(&choice_def, v, "mode=fast", err, sizeof(err)), ND_OK);
    cr_assert_eq(v[0], 0.0);
    cr_assert_eq(nd_strategy_param_set(&choice_def, v, "mode=1", err, sizeof(err)), ND_EINVAL);
    cr_assert_str_eq(err, "parameter 'mode' of chooser must be one of: fast, slow, auto; got '1'");
    cr_assert_eq(v[0], 0.0);
    cr_assert_eq(nd_strategy_params_check(&choice_def, v, err, sizeof(err)), ND_OK);
    v[0] = 3;
    cr_assert_eq(nd_strategy_params_check(&choice_def, v, err, sizeof(err)), ND_EINVAL);
}

Test(strategy_params, check_runs_schema_and_validate)
{
    char err[256] = "";
    double v[ND_STRATEGY_PARAMS_MAX];
    const nd_strategy_def_t *sma = nd_strategy_find("sma_cross");
    nd_strategy_params_default(sma, v);
    cr_assert_eq(nd_strategy_param_set(sma, v, "fast=30", err, sizeof(err)), ND_OK);
    cr_assert_eq(nd_strategy_params_check(sma, v, err, sizeof(err)), ND_EINVAL);
    cr_assert_str_eq(err, "sma_cross: fast (30) must be less than slow (30)");
    v[0] = 10.5;
    cr_assert_eq(nd_strategy_params_check(sma, v, err, sizeof(err)), ND_EINVAL);
    cr_assert_str_eq(err, "parameter 'fast' of sma_cross must be a whole number, got 10.5");
    v[0] = 10;
    v[1] = 6000;
    cr_assert_eq(nd_strategy_params_check(sma, v, err, sizeof(err)), ND_EINVAL);
    cr_assert_str_eq(err, "parameter 'slow' of sma_cross must be in [3, 5000], got 6000");

    const nd_strategy_def_t *mr = nd_strategy_find("mean_reversion");
    nd_strategy_params_default(mr, v);
    v[2] = 2.0;
    cr_assert_eq(nd_strategy_params_check(mr, v, err, sizeof(err)), ND_EINVAL);
    cr_assert_str_eq(err, "mean_reversion: exit_z (2) must be less than entry_z (2)");
    v[2] = -0.5;
    cr_assert_eq(nd_strategy_params_check(mr, v, err, sizeof(err)), ND_OK);

    const nd_strategy_def_t *bo = nd_strategy_find("breakout");
    nd_strategy_params_default(bo, v);
    v[1] = 21;
    cr_assert_eq(nd_strategy_params_check(bo, v, err, sizeof(err)), ND_EINVAL);
    cr_assert_str_eq(err, "breakout: exit_period (21) must not be greater than entry_period (20)");
    v[1] = 20;
    cr_assert_eq(nd_strategy_params_check(bo, v, err, sizeof(err)), ND_OK);
}

Test(strategy_params, state_size_grows_with_lookbacks)
{
    double v[ND_STRATEGY_PARAMS_MAX];
    const nd_strategy_def_t *sma = nd_strategy_find("sma_cross");
    nd_strategy_params_default(sma, v);
    size_t s30 = sma->state_size(v);
    v[1] = 31;
    cr_assert_eq(sma->state_size(v), s30 + sizeof(int64_t));
    v[1] = 5000;
    cr_assert_gt(sma->state_size(v), 5000 * sizeof(int64_t));

    const nd_strategy_def_t *ema = nd_strategy_find("ema_momentum");
    nd_strategy_params_default(ema, v);
    size_t e10 = ema->state_size(v);
    v[1] = 100;
    cr_assert_eq(ema->state_size(v), e10 + 90 * sizeof(int64_t));

    const nd_strategy_def_t *mr = nd_strategy_find("mean_reversion");
    nd_strategy_params_default(mr, v);
    size_t m20 = mr->state_size(v);
    v[0] = 40;
    cr_assert_eq(mr->state_size(v), m20 + 20 * sizeof(int64_t));

    const nd_strategy_def_t *bo = nd_strategy_find("breakout");
    nd_strategy_params_default(bo, v);
    size_t b20 = bo->state_size(v);
    v[0] = 30;
    size_t b30 = bo->state_size(v);
    cr_assert_gt(b30, b20);
    v[1] = 20;
    cr_assert_gt(bo->state_size(v), b30);
}

/* ---- sma_cross ---- */

static const char *const sma_2_3[] = {"fast=2", "slow=3", NULL};

Test(sma_cross, crosses_up_at_5_down_at_9_up_at_12)
{
    /* fast/slow by bar: 2: 8.5/9  3: 7.5/8  4: 6.5/7  5: 9/8.33 (up)  6: 12/10  7: 12/12
     * 8: 12/12  9: 9/10 (down, previous equal)  10: 6/8  11: 6/6  12: 6.5/6.33 (up, prev equal) */
    const double closes[] = {10, 9, 8, 7, 6, 12, 12, 12, 12, 6, 6, 6, 7};
    const int want[][2] = {{5, 1}, {9, 0}, {12, 1}};
    mock_t m;
    run_closes("sma_cross", sma_2_3, closes, 13, PX, &m);
    expect_calls(&m, 3, want);
}

Test(sma_cross, huge_prices_rebase_or_go_wide_with_the_same_signals)
{
    /* fast/slow: 3: 7/5.33 up (previous equal)  4: 12/8.67  5: 12/12  6: 7/8.67 down
     * 7: 2/5.33  8: 2/2  9: 7/5.33 up. The same path at three scales: at 1e8 the int64 sums
     * never re-base; at 3e17 the close 3.6e18 at bar 3 is beyond INT64_MAX / 3 from ref 0 and
     * re-bases, the window then fits; at 7e17 the window spans 7e18 > INT64_MAX / 3 and the
     * strategy runs on its __int128 fallback from bar 3. Signals must not depend on the scale. */
    const double closes[] = {2, 2, 2, 12, 12, 12, 2, 2, 2, 12};
    const int want[][2] = {{3, 1}, {6, 0}, {9, 1}};
    const int64_t scales[] = {PX, 300000000000000000LL, 700000000000000000LL};
    for (int i = 0; i < 3; i++) {
        mock_t m;
        run_closes("sma_cross", sma_2_3, closes, 10, scales[i], &m);
        expect_calls(&m, 3, want);
    }
}

Test(sma_cross, no_signal_before_slow_plus_one_bars)
{
    /* Bar 2 has fast 15 > slow 13.3 but no formed previous bar; after that fast stays above. */
    const double closes[] = {10, 10, 20, 20, 20, 20};
    mock_t m;
    run_closes("sma_cross", sma_2_3, closes, 6, PX, &m);
    cr_assert_eq(m.calls, 0);
    /* The earliest possible signal: bar 3 (the 4th bar): 9.5/9.67 then 14.5/13. */
    const double early[] = {10, 10, 9, 20};
    const int want[][2] = {{3, 1}};
    run_closes("sma_cross", sma_2_3, early, 4, PX, &m);
    expect_calls(&m, 1, want);
}

Test(sma_cross, never_repeats_a_signal)
{
    /* 3: 9.5/9.33 up; 4: 8/8 equal; 5: 12.5/12 up again, already long: no second call. */
    const double again[] = {10, 9, 8, 11, 5, 20};
    const int want_again[][2] = {{3, 1}};
    mock_t m;
    run_closes("sma_cross", sma_2_3, again, 6, PX, &m);
    expect_calls(&m, 1, want_again);
    /* Starts flat: the cross down at bar 4 (8/8.67) sends nothing; the cross up at 5 does. */
    const double down_first[] = {8, 9, 10, 11, 5, 20};
    const int want_down[][2] = {{5, 1}};
    run_closes("sma_cross", sma_2_3, down_first, 6, PX, &m);
    expect_calls(&m, 1, want_down);
}

/* Random walk of n bars around 1000 quote units with small integer steps, so ties happen. */
static nd_bar_t *random_walk(uint64_t seed, int n)
{
    nd_rand_t rng;
    nd_rand_init(&rng, seed);
    nd_bar_t *bars = nd_calloc((size_t)n, sizeof(nd_bar_t));
    cr_assert_not_null(bars);
    int64_t c = 1000 * PX;
    for (int i = 0; i < n; i++) {
        c += ((int64_t)nd_rand_below(&rng, 11) - 5) * PX;
        if (c < 100 * PX) {
            c = 100 * PX;
        }
        int64_t h = c + (int64_t)nd_rand_below(&rng, 4) * PX;
        int64_t l = c - (int64_t)nd_rand_below(&rng, 4) * PX;
        bars[i] = (nd_bar_t){.open = c, .high = h, .low = l, .close = c};
    }
    return bars;
}

static void push_ref(mock_t *ref, int bar, int *direction, int want)
{
    if (*direction != want) {
        *direction = want;
        ref->bar_of[ref->calls] = bar;
        ref->dir_of[ref->calls] = want;
        ref->calls++;
    }
}

/* The rule of sma_cross recomputed from scratch on every bar. */
static void sma_reference(const nd_bar_t *bars, int n, int fast, int slow, mock_t *ref)
{
    mock_init(ref);
    int direction = 0, prev = 0;
    for (int t = slow - 1; t < n; t++) {
        __int128 fs = 0, ss = 0;
        for (int k = 0; k < slow; k++) {
            ss += bars[t - k].close;
            fs += k < fast ? bars[t - k].close : 0;
        }
        __int128 l = fs * slow, r = ss * fast;
        int cmp = (l > r) - (l < r);
        if (t >= slow && cmp > 0 && prev <= 0) {
            push_ref(ref, t, &direction, 1);
        } else if (t >= slow && cmp < 0 && prev >= 0) {
            push_ref(ref, t, &direction, 0);
        }
        prev = cmp;
    }
}

static void expect_same(const mock_t *got, const mock_t *ref)
{
    cr_assert_gt(ref->calls, 2, "the reference path should trade");
    cr_assert_eq(got->calls, ref->calls, "got %d calls, reference %d", got->calls, ref->calls);
    for (int i = 0; i < ref->calls; i++) {
        cr_assert_eq(got->bar_of[i], ref->bar_of[i], "call %d", i);
        cr_assert_eq(got->dir_of[i], ref->dir_of[i], "call %d", i);
    }
}

Test(sma_cross, matches_brute_force_on_random_walks)
{
    const int pairs[][2] = {{2, 3}, {3, 7}, {5, 20}, {10, 30}, {7, 8}};
    const int n = 3000;
    for (int p = 0; p < 5; p++) {
        uint64_t seed = 1000 + (uint64_t)p;
        nd_bar_t *bars = random_walk(seed, n);
        char fast[32], slow[32];
        snprintf(fast, sizeof(fast), "fast=%d", pairs[p][0]);
        snprintf(slow, sizeof(slow), "slow=%d", pairs[p][1]);
        const char *const kvs[] = {fast, slow, NULL};
        static mock_t got, ref;
        run_bars("sma_cross", kvs, bars, n, &got);
        sma_reference(bars, n, pairs[p][0], pairs[p][1], &ref);
        cr_log_info("seed %llu fast %d slow %d: %d calls", (unsigned long long)seed,
                    pairs[p][0], pairs[p][1], ref.calls);
        expect_same(&got, &ref);
        nd_free(bars);
    }
}

/* ---- ema_momentum ---- */

Test(ema_momentum, trend_and_momentum_signals)
{
    /* period 3 (alpha 0.5, seeded with the SMA of bars 0-2), lookback 2, threshold 0.
     * 2: ema 10, close 10, mom 0: hold.  3: ema 11, close 12, mom 12/10-1 = 0.2: long.
     * 4: ema 11, close 11 (not above, not below), mom 0.1: hold.  5: ema 10.5 > 10: flat.
     * 6: ema 10.25 > 10: flat already.  7: ema 11.625 < 13, mom 13/10-1 = 0.3: long. */
    const double closes[] = {10, 10, 10, 12, 11, 10, 10, 13};
    const char *const kvs[] = {"period=3", "lookback=2", "threshold=0", NULL};
    const int want[][2] = {{3, 1}, {5, 0}, {7, 1}};
    mock_t m;
    run_closes("ema_momentum", kvs, closes, 8, PX, &m);
    expect_calls(&m, 3, want);
    /* threshold 0.25: momentum 0.2 at bar 3 is not enough, 0.3 at bar 7 is. */
    const char *const kvs_high[] = {"period=3", "lookback=2", "threshold=0.25", NULL};
    const int want_high[][2] = {{7, 1}};
    run_closes("ema_momentum", kvs_high, closes, 8, PX, &m);
    expect_calls(&m, 1, want_high);
}

Test(ema_momentum, momentum_below_minus_threshold_goes_flat)
{
    /* 3: ema 15 < 20, mom 1: long.  4: ema 17.5, mom 1.  5: ema 18.75, mom 0: hold.
     * 6: ema 18.875 < 19 (above the EMA) but mom 19/20-1 = -0.05 < -0.01: flat. */
    const double closes[] = {10, 10, 10, 20, 20, 20, 19};
    const char *const kvs[] = {"period=3", "lookback=2", "threshold=0.01", NULL};
    const int want[][2] = {{3, 1}, {6, 0}};
    mock_t m;
    run_closes("ema_momentum", kvs, closes, 7, PX, &m);
    expect_calls(&m, 2, want);
}

Test(ema_momentum, warm_up_waits_for_lookback_plus_one)
{
    /* period 2, lookback 4: nothing before bar 4 although the path rises from bar 1; at bar 4
     * ema 45 < 50 and mom 50/10-1 = 4. */
    const double closes[] = {10, 20, 30, 40, 50};
    const char *const kvs[] = {"period=2", "lookback=4", NULL};
    const int want[][2] = {{4, 1}};
    mock_t m;
    run_closes("ema_momentum", kvs, closes, 5, PX, &m);
    expect_calls(&m, 1, want);
}

Test(ema_momentum, deterministic)
{
    const int n = 5000;
    nd_bar_t *bars = random_walk(77, n);
    static mock_t a, b;
    const char *const kvs[] = {"period=15", "lookback=7", "threshold=0.002", NULL};
    run_bars("ema_momentum", kvs, bars, n, &a);
    run_bars("ema_momentum", kvs, bars, n, &b);
    cr_assert_gt(a.calls, 2);
    cr_assert_eq(a.calls, b.calls);
    cr_assert_eq(memcmp(a.bar_of, b.bar_of, sizeof(int) * (size_t)a.calls), 0);
    cr_assert_eq(memcmp(a.dir_of, b.dir_of, sizeof(int) * (size_t)a.calls), 0);
    for (int i = 1; i < a.calls; i++) {
        cr_assert_neq(a.dir_of[i], a.dir_of[i - 1], "signal %d repeated", i);
    }
    nd_free(bars);
}

/* ---- mean_reversion ---- */

Test(mean_reversion, z_score_entry_and_exit)
{
    /* period 3, population sd. 2: flat window, sd 0: hold.
     * 3: window 10,10,7: mean 9, sd sqrt(2), z(7) = -1.41 <= -1.3: long.
     * 4: window 10,7,8: mean 8.33, sd 1.25, z(8) = -0.27: hold.
     * 5: window 7,8,9: mean 8, sd 0.82, z(9) = 1.22 >= 0: flat. */
    const double closes[] = {10, 10, 10, 7, 8, 9};
    /* entry_z 1.3 also pins the population sd: the sample sd would give z(7) = -1.15. */
    const char *const kvs[] = {"period=3", "entry_z=1.3", "exit_z=0", NULL};
    const int want[][2] = {{3, 1}, {5, 0}};
    mock_t m;
    run_closes("mean_reversion", kvs, closes, 6, PX, &m);
    expect_calls(&m, 2, want);
    /* exit_z -1.3 exits only once z >= 1.3; 1.22 is not enough. */
    const char *const kvs_late[] = {"period=3", "entry_z=1.3", "exit_z=-1.3", NULL};
    const int want_late[][2] = {{3, 1}};
    run_closes("mean_reversion", kvs_late, closes, 6, PX, &m);
    expect_calls(&m, 1, want_late);
    /* entry_z 1.5 is beyond the largest |z| of 3 points (sqrt(2)): never enters. */
    const char *const kvs_never[] = {"period=3", "entry_z=1.5", "exit_z=0", NULL};
    run_closes("mean_reversion", kvs_never, closes, 6, PX, &m);
    cr_assert_eq(m.calls, 0);
}

Test(mean_reversion, huge_prices_use_exact_or_wide_path_alike)
{
    /* 3: window 10,10,4: z(4) = -4/sqrt(8) = -1.41 <= -1.3: long.  4: window 10,4,5: z(5) = -0.51:
     * hold.  5: window 4,5,9: z(9) = 3/2.16 = 1.39: flat. z does not depend on the scale, so
     * every scale gives the same signals: 1e8 and 5e17 go through the exact __int128 sums
     * (|d| <= INT64_MAX / 3), 9e17 spreads the window by 5.4e18 > INT64_MAX / 3 and takes the
     * double fallback; the re-base path is exercised by the jump from 10 to 4. */
    const double closes[] = {10, 10, 10, 4, 5, 9, 9, 9};
    /* entry_z 1.3 also pins the population sd: the sample sd would give z(4) = -1.15. */
    const char *const kvs[] = {"period=3", "entry_z=1.3", "exit_z=0", NULL};
    const int want[][2] = {{3, 1}, {5, 0}};
    const int64_t scales[] = {PX, 500000000000000000LL, 900000000000000000LL};
    for (int i = 0; i < 3; i++) {
        mock_t m;
        run_closes("mean_reversion", kvs, closes, 8, scales[i], &m);
        expect_calls(&m, 2, want);
    }
}

Test(mean_reversion, trades_a_random_walk_without_repeats)
{
    const int n = 5000;
    nd_bar_t *bars = random_walk(5, n);
    static mock_t m;
    const char *const kvs[] = {"period=20", "entry_z=1.5", "exit_z=0", NULL};
    run_bars("mean_reversion", kvs, bars, n, &m);
    cr_assert_gt(m.calls, 10);
    cr_assert_eq(m.dir_of[0], 1, "starts flat, so the first signal is long");
    for (int i = 1; i < m.calls; i++) {
        cr_assert_neq(m.dir_of[i], m.dir_of[i - 1], "signal %d repeated", i);
    }
    nd_free(bars);
}

/* ---- breakout ---- */

static void set_hlc(nd_bar_t *bar, double high, double low, double close)
{
    *bar = (nd_bar_t){.open = (int64_t)(close * PX), .high = (int64_t)(high * PX),
                      .low = (int64_t)(low * PX), .close = (int64_t)(close * PX)};
}

Test(breakout, donchian_entry_and_exit)
{
    /* entry 3, exit 2. 3: 11 > max(11,11,11)? no.  4: 13 > max(11,11,12): long.
     * 5: 12 < min(10,12)? no.  6: 11 < min(12,11)? no.  7: 10 < min(11,10)? no.
     * 8: 8 < min(10,9): flat.  9: 14 > max(12,11,9): long. */
    const double hlc[][3] = {{11, 9, 10}, {11, 9, 10}, {11, 9, 10}, {12, 10, 11}, {14, 12, 13},
                             {13, 11, 12}, {12, 10, 11}, {11, 9, 10}, {9, 7, 8}, {15, 13, 14}};
    nd_bar_t bars[10];
    for (int i = 0; i < 10; i++) {
        set_hlc(&bars[i], hlc[i][0], hlc[i][1], hlc[i][2]);
    }
    const char *const kvs[] = {"entry_period=3", "exit_period=2", NULL};
    const int want[][2] = {{4, 1}, {8, 0}, {9, 1}};
    mock_t m;
    run_bars("breakout", kvs, bars, 10, &m);
    expect_calls(&m, 3, want);
}

Test(breakout, waits_for_entry_period_bars)
{
    /* Rising from bar 1, but the channel of 3 previous bars exists only from bar 3. */
    const double closes[] = {10, 20, 30, 40};
    const char *const kvs[] = {"entry_period=3", "exit_period=1", NULL};
    const int want[][2] = {{3, 1}};
    mock_t m;
    run_closes("breakout", kvs, closes, 4, PX, &m);
    expect_calls(&m, 1, want);
}

/* The rule of breakout recomputed from scratch on every bar. */
static void breakout_reference(const nd_bar_t *bars, int n, int entry, int exit_n, mock_t *ref)
{
    mock_init(ref);
    int direction = 0;
    for (int t = 0; t < n; t++) {
        if (t >= entry) {
            int64_t hi = INT64_MIN;
            for (int k = t - entry; k < t; k++) {
                hi = bars[k].high > hi ? bars[k].high : hi;
            }
            if (bars[t].close > hi) {
                push_ref(ref, t, &direction, 1);
            }
        }
        if (t >= exit_n) {
            int64_t lo = INT64_MAX;
            for (int k = t - exit_n; k < t; k++) {
                lo = bars[k].low < lo ? bars[k].low : lo;
            }
            if (bars[t].close < lo) {
                push_ref(ref, t, &direction, 0);
            }
        }
    }
}

Test(breakout, matches_brute_force_on_random_walks)
{
    const int periods[][2] = {{1, 1}, {3, 2}, {5, 5}, {20, 10}, {50, 7}};
    const int n = 4000;
    for (int p = 0; p < 5; p++) {
        uint64_t seed = 2000 + (uint64_t)p;
        nd_bar_t *bars = random_walk(seed, n);
        char entry[32], exit_s[32];
        snprintf(entry, sizeof(entry), "entry_period=%d", periods[p][0]);
        snprintf(exit_s, sizeof(exit_s), "exit_period=%d", periods[p][1]);
        const char *const kvs[] = {entry, exit_s, NULL};
        static mock_t got, ref;
        run_bars("breakout", kvs, bars, n, &got);
        breakout_reference(bars, n, periods[p][0], periods[p][1], &ref);
        cr_log_info("seed %llu entry %d exit %d: %d calls", (unsigned long long)seed,
                    periods[p][0], periods[p][1], ref.calls);
        expect_same(&got, &ref);
        nd_free(bars);
    }
}
