/* sma_cross.c: the simple moving-average crossover, long/flat.
 *
 * Rule: long on the bar where the fast SMA of closes crosses above the slow SMA (fast > slow
 * now, fast <= slow on the previous bar), flat where it crosses below (fast < slow now,
 * fast >= slow on the previous bar). Both averages must be fully formed on both bars, so the
 * first possible signal is on bar slow+1 (1-based). A target is sent only when the direction
 * changes; the strategy starts flat.
 *
 * Arithmetic: the running sums are int64 sums of d = close - ref, exact and cheap, and the
 * averages are compared without division as fast_sum * slow < slow_sum * fast in __int128
 * (a shift of every close by ref does not change which average is larger). They stay exact
 * while every |d| in the window is <= bound = INT64_MAX / slow. A close beyond the bound
 * re-bases ref on that close and recomputes the sums from the ring (O(slow), and only after
 * the price moved INT64_MAX / slow price units: 1.8e15 for slow = 5000). If even then the
 * window is wider than the bound, the strategy is "wide": it keeps __int128 sums recomputed
 * from the ring every bar until a re-base fits again.
 *
 * Invariants: ring holds the last min(count, slow) closes with ring[head] the oldest once full;
 * unless wide, every close in the ring is within bound of ref and fast_sum, slow_sum are the
 * exact sums of close - ref over the last fast and slow closes. on_bar is O(1) and costs a few
 * nanoseconds (two ring reads, one write, six additions, two widening multiplications). */
#include "strategy/builtins_int.h"

#include "noderr/assert.h"

#include <stdio.h>

enum { P_FAST = 0, P_SLOW = 1, P_COUNT = 2 };

typedef struct sma_state {
    int64_t fast_sum;    /* sum of close - ref over the last fast closes, exact unless wide */
    int64_t slow_sum;    /* sum of close - ref over the last slow closes, exact unless wide */
    int64_t ref;         /* reference price the sums are taken against */
    int64_t bound;       /* INT64_MAX / slow: largest |close - ref| kept in the int64 sums */
    int64_t lo;          /* closes in [lo, hi] need no re-base: ref -/+ bound clamped to int64, */
    int64_t hi;          /* or the empty range lo > hi while wide */
    int64_t hot_lo;      /* closes in [hot_lo, hot_hi] take the hot path: [lo, hi] once both */
    int64_t hot_hi;      /* windows are formed (count > slow), else the empty range */
    int64_t count;       /* bars seen, saturating at slow + 1 */
    uint32_t instrument_id;
    int32_t fast_n;      /* fast window, bars */
    int32_t slow_n;      /* slow window, bars; also the ring's length */
    int32_t head;        /* ring slot the next close goes to (the oldest close once full) */
    int32_t fast_out;    /* ring slot of the close leaving the fast window: head - fast_n */
    int32_t prev_cmp;    /* sign of fast - slow on the previous formed bar */
    int32_t direction;   /* last target sent: 0 flat, +1 long */
    int32_t wide;        /* 1 when the window is too wide for the int64 sums */
    __int128 fast_wide;  /* sum of close - ref over the fast window, when wide */
    __int128 slow_wide;  /* sum of close - ref over the slow window, when wide */
    int64_t ring[];      /* last slow_n closes */
} sma_state_t;

static const nd_param_def_t sma_params[P_COUNT] = {
    {"fast", ND_PARAM_INT, 2, 1000, 10, 1, "fast SMA window in bars (must be < slow)", NULL, 0},
    {"slow", ND_PARAM_INT, 3, 5000, 30, 1, "slow SMA window in bars", NULL, 0},
};

static size_t sma_state_size(const double *params)
{
    ND_ASSERT(params != NULL);
    int slow = (int)params[P_SLOW];
    ND_ASSERT(slow >= 3 && slow <= 5000);
    return sizeof(sma_state_t) + (size_t)slow * sizeof(int64_t);
}

static nd_err_t sma_validate(const double *params, char *err, size_t err_len)
{
    ND_ASSERT(params != NULL);
    if (params[P_FAST] >= params[P_SLOW]) {
        snprintf(err, err_len, "sma_cross: fast (%g) must be less than slow (%g)",
                 params[P_FAST], params[P_SLOW]);
        return ND_EINVAL;
    }
    return ND_OK;
}

static nd_err_t sma_on_start(void *state, const double *params, uint32_t instrument_id,
                             nd_strategy_ctx_t *ctx)
{
    sma_state_t *s = state;
    ND_ASSERT(s != NULL);
    ND_ASSERT(params != NULL);
    (void)ctx;
    s->fast_n = (int32_t)params[P_FAST];
    s->slow_n = (int32_t)params[P_SLOW];
    ND_ASSERT(s->fast_n >= 2);
    ND_ASSERT(s->fast_n < s->slow_n);
    s->instrument_id = instrument_id;
    s->fast_sum = 0;
    s->slow_sum = 0;
    s->ref = 0;
    s->bound = INT64_MAX / s->slow_n;
    s->lo = -s->bound;
    s->hi = s->bound;
    s->hot_lo = INT64_MAX; /* warm-up: the general path */
    s->hot_hi = INT64_MIN;
    s->count = 0;
    s->head = 0;
    s->fast_out = s->slow_n - s->fast_n;
    s->prev_cmp = 0;
    s->direction = 0;
    s->wide = 0;
    s->fast_wide = 0;
    s->slow_wide = 0;
    return ND_OK;
}

/* Re-bases the sums on ref = close over the ring's last min(count, slow) closes, most recent
 * first; sets wide when some close is still farther than bound from ref. O(slow). Kept out of
 * line and cold so the hot path stays small. */
__attribute__((noinline, cold)) static void sma_rebase(sma_state_t *s, int64_t close)
{
    int64_t n = s->count < s->slow_n ? s->count : s->slow_n;
    ND_ASSERT(n >= 1);
    __int128 fast_sum = 0, slow_sum = 0;
    int fits = 1;
    int32_t slot = s->head;
    for (int64_t k = 0; k < n; k++) {
        slot = (slot == 0 ? s->slow_n : slot) - 1;
        __int128 d = (__int128)s->ring[slot] - close;
        fits &= d <= s->bound && d >= -(__int128)s->bound;
        slow_sum += d;
        fast_sum += k < s->fast_n ? d : 0;
    }
    s->ref = close;
    s->wide = !fits;
    s->lo = fits ? (close < INT64_MIN + s->bound ? INT64_MIN : close - s->bound) : INT64_MAX;
    s->hi = fits ? (close > INT64_MAX - s->bound ? INT64_MAX : close + s->bound) : INT64_MIN;
    s->fast_wide = fast_sum;
    s->slow_wide = slow_sum;
    if (fits) {
        /* Each |d| <= INT64_MAX / slow, so both sums fit an int64. */
        s->fast_sum = (int64_t)fast_sum;
        s->slow_sum = (int64_t)slow_sum;
    }
}

/* Compares the fast and the slow average (the int64 sums: not wide), fast_sum / fast_n against
 * slow_sum / slow_n, as the sign of fast_sum * slow_n - slow_sum * fast_n. Both products usually fit an int64 (sums of
 * price differences over a few thousand bars); when either overflows, the exact __int128
 * products decide, so the result is the same either way. */
static inline int32_t sma_compare_narrow(const sma_state_t *s)
{
    int64_t lhs, rhs;
    if (__builtin_expect(!__builtin_mul_overflow(s->fast_sum, (int64_t)s->slow_n, &lhs) &&
                             !__builtin_mul_overflow(s->slow_sum, (int64_t)s->fast_n, &rhs),
                         1))
        return (lhs > rhs) - (lhs < rhs);
    __int128 wide_lhs = (__int128)s->fast_sum * s->slow_n;
    __int128 wide_rhs = (__int128)s->slow_sum * s->fast_n;
    return (wide_lhs > wide_rhs) - (wide_lhs < wide_rhs);
}

/* sma_compare_narrow, or on the __int128 sums while the window is wide. */
static inline int32_t sma_compare(const sma_state_t *s)
{
    if (__builtin_expect(s->wide, 0)) {
        __int128 lhs = s->fast_wide * s->slow_n;
        __int128 rhs = s->slow_wide * s->fast_n;
        return (lhs > rhs) - (lhs < rhs);
    }
    return sma_compare_narrow(s);
}

/* The target of a cross: long when fast rose above slow (cmp > 0), flat when it fell below. Out
 * of line, so that the bar without a cross keeps no call frame. */
__attribute__((noinline)) static void sma_cross_emit(sma_state_t *s, int32_t cmp,
                                                     nd_strategy_ctx_t *ctx)
{
    nd__strategy_emit(ctx, s->instrument_id, &s->direction, cmp > 0 ? 1 : 0);
}

/* Emits a target when the comparison changed sign since the previous formed bar: cmp > 0 after
 * prev <= 0, or cmp < 0 after prev >= 0; with both in {-1, 0, 1}, cmp != 0 and cmp != prev. */
static inline void sma_signal(sma_state_t *s, int32_t cmp, nd_strategy_ctx_t *ctx)
{
    int32_t prev = s->prev_cmp;
    s->prev_cmp = cmp;
    if (__builtin_expect(cmp != prev && cmp != 0, 0))
        sma_cross_emit(s, cmp, ctx);
}

/* Warm-up, re-base and wide bars: the general path, kept out of line. */
__attribute__((noinline)) static void sma_on_bar_slow(sma_state_t *s, int64_t close,
                                                      nd_strategy_ctx_t *ctx)
{
    /* In [lo, hi], close - ref cannot overflow and the sums stay exact. */
    int rebase = (close < s->lo) | (close > s->hi);
    if (!rebase) {
        int64_t d = close - s->ref;
        if (s->count >= s->slow_n) {
            s->slow_sum -= s->ring[s->head] - s->ref;
        }
        if (s->count >= s->fast_n) {
            s->fast_sum -= s->ring[s->fast_out] - s->ref;
        }
        s->fast_sum += d;
        s->slow_sum += d;
    }
    s->ring[s->head] = close;
    if (++s->head == s->slow_n) {
        s->head = 0;
    }
    if (++s->fast_out == s->slow_n) {
        s->fast_out = 0;
    }
    if (s->count <= s->slow_n) {
        s->count++;
    }
    if (rebase) {
        sma_rebase(s, close);
    }
    if (s->count < s->slow_n) {
        return; /* the slow average is not formed yet */
    }
    int32_t cmp = sma_compare(s);
    int formed = s->count > s->slow_n;
    s->hot_lo = formed ? s->lo : INT64_MAX; /* lo > hi while wide: still empty */
    s->hot_hi = formed ? s->hi : INT64_MIN;
    if (formed) {
        sma_signal(s, cmp, ctx);
    } else {
        s->prev_cmp = cmp;
    }
}

/* The hot path, once both windows are full (count saturated at slow + 1), the close needs no
 * re-base and the sums are int64: two ring reads, one write, four additions and two 64-bit
 * multiplications. Everything else goes to sma_on_bar_slow, which does the same steps in the
 * general case. */
/* Always inlined where the engine calls it by kind (engine.c strategy_on_bar, under LTO); the
 * definition's on_bar is the out-of-line copy. */
__attribute__((always_inline)) inline void
nd__strategy_sma_cross_on_bar(void *state, const nd_bar_t *bar, nd_strategy_ctx_t *ctx)
{
    sma_state_t *s = state;
    ND_DEBUG_ASSERT(bar->instrument_id == s->instrument_id); /* the engine routes by instrument */
    int64_t close = bar->close;
    if (__builtin_expect(close < s->hot_lo || close > s->hot_hi, 0)) {
        sma_on_bar_slow(s, close, ctx);
        return;
    }
    /* Not wide here: while wide, lo > hi and every close takes the slow path. */
    int64_t ref = s->ref;
    int32_t head = s->head, fast_out = s->fast_out;
    int64_t d = close - ref;
    s->slow_sum += d - (s->ring[head] - ref);
    s->fast_sum += d - (s->ring[fast_out] - ref);
    s->ring[head] = close;
    s->head = head + 1 == s->slow_n ? 0 : head + 1;
    s->fast_out = fast_out + 1 == s->slow_n ? 0 : fast_out + 1;
    sma_signal(s, sma_compare_narrow(s), ctx);
}

const nd_strategy_def_t nd__strategy_sma_cross = {
    .name = "sma_cross",
    .summary = "long when the fast SMA of closes crosses above the slow SMA, flat when it "
               "crosses below",
    .params = sma_params,
    .param_count = P_COUNT,
    .state_size = sma_state_size,
    .validate = sma_validate,
    .on_start = sma_on_start,
    .on_bar = nd__strategy_sma_cross_on_bar,
    .on_fill = NULL,
    .on_timer = NULL,
};
