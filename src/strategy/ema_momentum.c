/* ema_momentum.c: trend filter (close above its EMA) plus momentum, long/flat.
 *
 * Rule, on every bar once warm: the EMA of closes uses alpha = 2 / (period + 1) and is seeded
 * with the simple average of the first period closes; momentum = close / close[lookback] - 1,
 * where close[lookback] is the close lookback bars before the current one. Long when
 * close > EMA and momentum > threshold; flat when close < EMA or momentum < -threshold; hold
 * otherwise. The two conditions cannot both hold because threshold >= 0. Warm means at least
 * max(period, lookback + 1) bars seen. A target is sent only when the direction changes.
 *
 * The EMA and momentum are doubles: this is signal logic, not accounting. They stay
 * deterministic because every operation is a fixed sequence of IEEE additions, multiplications
 * and divisions (the build is ISO C17, so GCC does not contract them into FMAs) and the seed
 * sum is an exact __int128. Invariant: ring holds the last min(count, lookback) closes and,
 * once full, ring[head] is the close exactly lookback bars back. on_bar is O(1). */
#include "strategy/builtins_int.h"

#include "noderr/assert.h"

enum { P_PERIOD = 0, P_LOOKBACK = 1, P_THRESHOLD = 2, P_COUNT = 3 };

typedef struct ema_state {
    __int128 seed_sum;   /* sum of the first period closes, for the SMA seed */
    double ema;          /* price units, valid once count >= period */
    double alpha;        /* 2 / (period + 1) */
    double threshold;    /* momentum threshold, a fraction (0.01 = 1 %) */
    int64_t count;       /* bars seen, saturating at warm */
    int64_t warm;        /* max(period, lookback + 1) */
    uint32_t instrument_id;
    int32_t period;
    int32_t lookback;
    int32_t head;        /* ring slot of the close lookback bars back, next to be replaced */
    int32_t direction;   /* last target sent: 0 flat, +1 long */
    int32_t _pad;
    int64_t ring[];      /* last lookback closes */
} ema_state_t;

static const nd_param_def_t ema_params[P_COUNT] = {
    {"period", ND_PARAM_INT, 2, 10000, 20, 1, "EMA period in bars", NULL, 0},
    {"lookback", ND_PARAM_INT, 1, 10000, 10, 1, "momentum lookback in bars", NULL, 0},
    {"threshold", ND_PARAM_REAL, 0, 1, 0.0, 0.005,
     "momentum needed to go long, as a fraction (0.01 = 1%); below -threshold goes flat", NULL,
     0},
};

static size_t ema_state_size(const double *params)
{
    ND_ASSERT(params != NULL);
    int lookback = (int)params[P_LOOKBACK];
    ND_ASSERT(lookback >= 1 && lookback <= 10000);
    return sizeof(ema_state_t) + (size_t)lookback * sizeof(int64_t);
}

static nd_err_t ema_on_start(void *state, const double *params, uint32_t instrument_id,
                             nd_strategy_ctx_t *ctx)
{
    ema_state_t *s = state;
    ND_ASSERT(s != NULL);
    ND_ASSERT(params != NULL);
    (void)ctx;
    s->period = (int32_t)params[P_PERIOD];
    s->lookback = (int32_t)params[P_LOOKBACK];
    s->threshold = params[P_THRESHOLD];
    ND_ASSERT(s->period >= 2);
    ND_ASSERT(s->lookback >= 1);
    ND_ASSERT(s->threshold >= 0.0);
    s->alpha = 2.0 / ((double)s->period + 1.0);
    s->warm = s->period > s->lookback ? s->period : s->lookback + 1;
    s->instrument_id = instrument_id;
    /* The state arrives zeroed (strategy.h): the sums, the window and the direction start at 0. */
    ND_DEBUG_ASSERT(s->count == 0);
    ND_DEBUG_ASSERT(s->direction == 0);
    return ND_OK;
}

void nd__strategy_ema_momentum_on_bar(void *state, const nd_bar_t *bar,
                                      nd_strategy_ctx_t *ctx)
{
    ema_state_t *s = state;
    ND_ASSERT(bar->instrument_id == s->instrument_id);
    int64_t close = bar->close;
    int64_t past = s->ring[s->head]; /* meaningful only once count >= lookback */
    s->ring[s->head] = close;
    if (++s->head == s->lookback) {
        s->head = 0;
    }
    if (s->count < s->period) {
        s->seed_sum += close;
        if (s->count + 1 == s->period) {
            s->ema = (double)s->seed_sum / (double)s->period;
        }
    } else {
        s->ema += s->alpha * ((double)close - s->ema);
    }
    if (s->count < s->warm) {
        s->count++;
        if (s->count < s->warm) {
            return;
        }
    }
    if (past <= 0) {
        return; /* momentum is undefined against a non-positive price: hold */
    }
    double close_px = (double)close;
    double momentum = close_px / (double)past - 1.0;
    if (close_px > s->ema && momentum > s->threshold) {
        nd__strategy_emit(ctx, s->instrument_id, &s->direction, 1);
    } else if (close_px < s->ema || momentum < -s->threshold) {
        nd__strategy_emit(ctx, s->instrument_id, &s->direction, 0);
    }
}

const nd_strategy_def_t nd__strategy_ema_momentum = {
    .name = "ema_momentum",
    .summary = "long when the close is above its EMA and momentum beats the threshold, flat when "
               "below the EMA or momentum falls under -threshold",
    .params = ema_params,
    .param_count = P_COUNT,
    .state_size = ema_state_size,
    .validate = NULL,
    .on_start = ema_on_start,
    .on_bar = nd__strategy_ema_momentum_on_bar,
    .on_fill = NULL,
    .on_timer = NULL,
};
