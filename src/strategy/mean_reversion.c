/* mean_reversion.c: Bollinger z-score mean reversion, long/flat.
 *
 * Rule, on every bar once period closes are seen: over the last period closes (the current
 * one included), mean = SMA and sd = the population standard deviation (divide by period, not
 * period - 1); z = (close - mean) / sd. Long when z <= -entry_z, flat when z >= -exit_z (the
 * close has reverted to within exit_z deviations below the mean), hold otherwise. When sd is 0
 * (a flat window) z is undefined and the strategy holds. exit_z < entry_z is required so the
 * two conditions cannot both hold. A target is sent only when the direction changes.
 *
 * Precision: closes are kept de-meaned against a reference price ref as d = close - ref, and
 * s1 = sum d, s2 = sum d^2 are exact __int128 running sums. Then with n = period,
 * z = (n * d_close - s1) / sqrt(n * s2 - s1^2), whose numerator and radicand are exact
 * integers: no cancellation, only the final sqrt and division round. Exactness needs every
 * |d| <= bound = INT64_MAX / n (then n * s2 and s1^2 stay below 2^126). A close beyond the
 * bound re-bases ref to that close and recomputes the sums from the ring (O(period), rare:
 * only after a move of INT64_MAX / period price units). If even then the window is wider than
 * the bound, the bar's z comes from a two-pass mean and variance in double over the ring.
 *
 * Invariants: ring holds the last min(count, period) closes, ring[head] the oldest once full;
 * unless wide, every close in the ring is within bound of ref and s1, s2 are their exact sums.
 * on_bar is O(1) except on a re-base. */
#include "strategy/builtins_int.h"

#include "noderr/assert.h"

#include <math.h>
#include <stdio.h>

enum { P_PERIOD = 0, P_ENTRY_Z = 1, P_EXIT_Z = 2, P_COUNT = 3 };

typedef struct mr_state {
    __int128 s1;         /* sum of close - ref over the window */
    __int128 s2;         /* sum of (close - ref)^2 over the window */
    int64_t ref;         /* reference price the sums are taken against */
    int64_t bound;       /* INT64_MAX / period: largest |close - ref| kept exact */
    int64_t count;       /* bars seen, saturating at period */
    double entry_z;
    double exit_z;
    uint32_t instrument_id;
    int32_t period;
    int32_t head;        /* ring slot the next close goes to */
    int32_t wide;        /* 1 when the window is too wide for the exact sums */
    int32_t direction;   /* last target sent: 0 flat, +1 long */
    int32_t _pad;
    int64_t ring[];      /* last period closes */
} mr_state_t;

static const nd_param_def_t mr_params[P_COUNT] = {
    {"period", ND_PARAM_INT, 2, 10000, 20, 1, "window of the SMA and standard deviation, bars",
     NULL, 0},
    {"entry_z", ND_PARAM_REAL, 0.1, 10, 2.0, 0.1, "go long when z <= -entry_z", NULL, 0},
    {"exit_z", ND_PARAM_REAL, -10, 10, 0.0, 0.1,
     "go flat when z >= -exit_z (must be < entry_z)", NULL, 0},
};

static size_t mr_state_size(const double *params)
{
    ND_ASSERT(params != NULL);
    int period = (int)params[P_PERIOD];
    ND_ASSERT(period >= 2 && period <= 10000);
    return sizeof(mr_state_t) + (size_t)period * sizeof(int64_t);
}

static nd_err_t mr_validate(const double *params, char *err, size_t err_len)
{
    ND_ASSERT(params != NULL);
    if (params[P_EXIT_Z] >= params[P_ENTRY_Z]) {
        snprintf(err, err_len, "mean_reversion: exit_z (%g) must be less than entry_z (%g)",
                 params[P_EXIT_Z], params[P_ENTRY_Z]);
        return ND_EINVAL;
    }
    return ND_OK;
}

static nd_err_t mr_on_start(void *state, const double *params, uint32_t instrument_id,
                            nd_strategy_ctx_t *ctx)
{
    mr_state_t *s = state;
    ND_ASSERT(s != NULL);
    ND_ASSERT(params != NULL);
    (void)ctx;
    s->period = (int32_t)params[P_PERIOD];
    s->entry_z = params[P_ENTRY_Z];
    s->exit_z = params[P_EXIT_Z];
    ND_ASSERT(s->period >= 2);
    ND_ASSERT(s->exit_z < s->entry_z);
    s->bound = INT64_MAX / s->period;
    s->instrument_id = instrument_id;
    /* The state arrives zeroed (strategy.h): the sums, the window and the direction start at 0. */
    ND_DEBUG_ASSERT(s->count == 0);
    ND_DEBUG_ASSERT(s->direction == 0);
    return ND_OK;
}

/* Re-bases the sums on ref = close over the n closes in the ring; sets wide when some close
 * is still farther than bound from ref. O(n). */
static void mr_rebase(mr_state_t *s, int64_t close, int64_t n)
{
    ND_ASSERT(n >= 1 && n <= s->period);
    s->ref = close;
    s->wide = 0;
    for (int64_t i = 0; i < n; i++) {
        __int128 d = (__int128)s->ring[i] - s->ref;
        if (d > s->bound || d < -(__int128)s->bound) {
            s->wide = 1;
            return;
        }
    }
    s->s1 = 0;
    s->s2 = 0;
    for (int64_t i = 0; i < n; i++) {
        __int128 d = (__int128)s->ring[i] - s->ref;
        s->s1 += d;
        s->s2 += d * d;
    }
}

/* z of close from a two-pass double mean and variance over the full ring; NAN when sd is 0.
 * Used only for windows too wide for the exact sums. O(period). */
static double mr_z_wide(const mr_state_t *s, int64_t close)
{
    double sum = 0.0;
    for (int32_t i = 0; i < s->period; i++) {
        sum += (double)s->ring[i];
    }
    double mean = sum / (double)s->period;
    double ss = 0.0;
    for (int32_t i = 0; i < s->period; i++) {
        double d = (double)s->ring[i] - mean;
        ss += d * d;
    }
    if (ss <= 0.0) {
        return NAN;
    }
    return ((double)close - mean) / sqrt(ss / (double)s->period);
}

/* z of close from the exact sums; NAN when sd is 0. */
static double mr_z_exact(const mr_state_t *s, int64_t close)
{
    __int128 n = s->period;
    __int128 num = n * ((__int128)close - s->ref) - s->s1;
    __int128 radicand = n * s->s2 - s->s1 * s->s1;
    ND_ASSERT(radicand >= 0);
    if (radicand == 0) {
        return NAN;
    }
    return (double)num / sqrt((double)radicand);
}

void nd__strategy_mean_reversion_on_bar(void *state, const nd_bar_t *bar,
                                        nd_strategy_ctx_t *ctx)
{
    mr_state_t *s = state;
    ND_ASSERT(bar->instrument_id == s->instrument_id);
    int64_t close = bar->close;
    if (s->count == 0) {
        s->ref = close;
    }
    if (s->count >= s->period && !s->wide) {
        __int128 d_out = (__int128)s->ring[s->head] - s->ref;
        s->s1 -= d_out;
        s->s2 -= d_out * d_out;
    }
    s->ring[s->head] = close;
    if (++s->head == s->period) {
        s->head = 0;
    }
    if (s->count < s->period) {
        s->count++;
    }
    __int128 d = (__int128)close - s->ref;
    if (s->wide || d > s->bound || d < -(__int128)s->bound) {
        mr_rebase(s, close, s->count);
    } else {
        s->s1 += d;
        s->s2 += d * d;
    }
    if (s->count < s->period) {
        return;
    }
    double z = s->wide ? mr_z_wide(s, close) : mr_z_exact(s, close);
    if (isnan(z)) {
        return;
    }
    if (z <= -s->entry_z) {
        nd__strategy_emit(ctx, s->instrument_id, &s->direction, 1);
    } else if (z >= -s->exit_z) {
        nd__strategy_emit(ctx, s->instrument_id, &s->direction, 0);
    }
}

const nd_strategy_def_t nd__strategy_mean_reversion = {
    .name = "mean_reversion",
    .summary = "Bollinger z-score: long when the close is entry_z deviations below its SMA, flat "
               "once it reverts to within exit_z",
    .params = mr_params,
    .param_count = P_COUNT,
    .state_size = mr_state_size,
    .validate = mr_validate,
    .on_start = mr_on_start,
    .on_bar = nd__strategy_mean_reversion_on_bar,
    .on_fill = NULL,
    .on_timer = NULL,
};
