/* indicators.c: the incremental indicators.
 *
 * Every indicator is a fixed-size struct followed by its windows (slot_t buf[]), sized once from
 * the parameters; update touches a constant number of slots per bar (the monotonic deques of
 * the rolling max/min pop each entry at most once, so they are O(1) amortised).
 *
 * Arithmetic follows TA-Lib's C sources operation by operation (the order of additions in a
 * running sum, "prev = prev - prev/n + x" for Wilder's smoothing, (x - ema) * k + ema, the
 * 1e-14 zero test), because the same formula written another way drifts by a few ulps per bar
 * and the integration test holds us to TA-Lib's values on 35,000 real candles. Where TA-Lib's
 * choice is numerically poor (Bollinger's variance as mean(x^2) - mean^2) we keep it on purpose
 * and say so in docs/indicators.md. Windows are stored as values, never pointers, so a state
 * may be copied with memcpy. */
#include "noderr/indicators.h"

#include "indicators/indicators_int.h"
#include "noderr/assert.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* TA-Lib's TA_IS_ZERO / TA_IS_ZERO_OR_NEG threshold (ta_utility.h). */
#define TA_EPSILON 0.00000000000001
static inline bool ta_is_zero(double v) { return -TA_EPSILON < v && v < TA_EPSILON; }

typedef union slot {
    double d;
    int64_t i;
} slot_t;

static int param_int(const double *params, int index)
{
    double v = params[index];
    ND_ASSERT(v >= 1.0);
    ND_ASSERT(v <= ND__INDICATOR_PERIOD_MAX);
    return (int)v;
}

/* Bytes of a state struct followed by multiple * params[index] window slots. */
static size_t with_slots(size_t base, int multiple, const double *params, int index)
{
    return base + (size_t)multiple * (size_t)param_int(params, index) * sizeof(slot_t);
}

/* Inputs must be finite (indicators.h): checked in test and sanitizer builds, where a NaN from
 * a caller would otherwise poison every later value of a running sum without a trace. */
static inline void check_input(const nd_indicator_input_t *in)
{
    (void)in; /* unused when debug assertions are compiled out */
    ND_DEBUG_ASSERT(in != NULL);
    ND_DEBUG_ASSERT(isfinite(in->open));
    ND_DEBUG_ASSERT(isfinite(in->high));
    ND_DEBUG_ASSERT(isfinite(in->low));
    ND_DEBUG_ASSERT(isfinite(in->close));
    ND_DEBUG_ASSERT(isfinite(in->volume));
}

/* ---- building blocks ------------------------------------------------------------------- */

/* TA-Lib's SMA over a stream: a running sum; the value is sum / n, and only then is the oldest
 * value of the window taken out (TA_INT_SMA's order). ring: n slots. */
typedef struct tsma {
    int32_t n, head;
    int64_t count;
    double sum;
} tsma_t;

static void tsma_init(tsma_t *s, int n)
{
    ND_ASSERT(n >= 1);
    s->n = n;
    s->head = 0;
    s->count = 0;
    s->sum = 0.0;
}

static bool tsma_push(tsma_t *s, slot_t *ring, double x, double *out)
{
    s->sum += x;
    ring[s->head].d = x;
    s->head = s->head + 1 == s->n ? 0 : s->head + 1;
    if (s->count < s->n)
        s->count++;
    if (s->count < s->n)
        return false;
    *out = s->sum / s->n;
    s->sum -= ring[s->head].d; /* the oldest of the window, overwritten next */
    return true;
}

/* TA-Lib's EMA: seeded with the SMA of the first n values (summed oldest first), then
 * ema = (x - ema) * k + ema with k = 2 / (n + 1). */
typedef struct tema {
    int32_t n;
    int64_t count;
    double k, sum, value;
} tema_t;

static void tema_init(tema_t *e, int n)
{
    ND_ASSERT(n >= 1);
    e->n = n;
    e->count = 0;
    e->k = 2.0 / (double)(n + 1);
    e->sum = 0.0;
    e->value = NAN;
}

static bool tema_push(tema_t *e, double x)
{
    if (e->count >= e->n) {
        e->value = ((x - e->value) * e->k) + e->value;
        return true;
    }
    e->sum += x;
    e->count++;
    if (e->count < e->n)
        return false;
    e->value = e->sum / e->n;
    return true;
}

/* TA-Lib's true range: max(high - low, |prev_close - high|, |prev_close - low|). */
static double true_range(double high, double low, double prev_close)
{
    double greatest = high - low;
    double v2 = fabs(prev_close - high);
    if (v2 > greatest)
        greatest = v2;
    double v3 = fabs(prev_close - low);
    if (v3 > greatest)
        greatest = v3;
    return greatest;
}

/* TA-Lib's ATR: no value on bar 0 (no previous close); the SMA of the true ranges of bars
 * 1..n on bar n; then atr = (atr * (n - 1) + tr) / n. */
typedef struct tatr {
    int32_t n;
    int64_t count; /* bars seen */
    double prev_close, sum, value;
} tatr_t;

static void tatr_init(tatr_t *a, int n)
{
    ND_ASSERT(n >= 2);
    a->n = n;
    a->count = 0;
    a->prev_close = 0.0;
    a->sum = 0.0;
    a->value = NAN;
}

static bool tatr_push(tatr_t *a, const nd_indicator_input_t *in)
{
    int64_t index = a->count++;
    double prev_close = a->prev_close;
    a->prev_close = in->close;
    if (index == 0)
        return false;
    double tr = true_range(in->high, in->low, prev_close);
    if (index < a->n) {
        a->sum += tr;
        return false;
    }
    if (index == a->n) {
        a->sum += tr;
        a->value = a->sum / a->n;
        return true;
    }
    a->value *= a->n - 1;
    a->value += tr;
    a->value /= a->n;
    return true;
}

/* Rolling max (or min) over the last n values: a deque of (index, value) pairs whose values
 * decrease (increase) from the front; the front is the extreme. Each value is pushed and popped
 * at most once. ring: 2n slots. */
typedef struct deque {
    int32_t n, head, size;
    int32_t is_max;
} deque_t;

static void deque_init(deque_t *q, int n, bool is_max)
{
    ND_ASSERT(n >= 1);
    q->n = n;
    q->head = 0;
    q->size = 0;
    q->is_max = is_max;
}

/* (head + k) mod n for 0 <= k <= n: a compare instead of a division on the hot path. */
static inline int32_t wrap(const deque_t *q, int32_t k)
{
    int32_t j = q->head + k;
    return j >= q->n ? j - q->n : j;
}

static double deque_push(deque_t *q, slot_t *ring, int64_t index, double x)
{
    /* Expire first: afterwards at most n - 1 entries remain, so the push below fits. */
    while (q->size > 0 && ring[2 * q->head].i <= index - q->n) {
        q->head = q->head + 1 == q->n ? 0 : q->head + 1;
        q->size--;
    }
    while (q->size > 0) {
        int32_t back = wrap(q, q->size - 1);
        double v = ring[2 * back + 1].d;
        if (q->is_max ? v > x : v < x)
            break;
        q->size--;
    }
    ND_ASSERT(q->size < q->n);
    int32_t slot = wrap(q, q->size);
    ring[2 * slot].i = index;
    ring[2 * slot + 1].d = x;
    q->size++;
    return ring[2 * q->head + 1].d;
}

/* ---- SMA, EMA, WMA ------------------------------------------------------------------------ */

typedef struct sma_state {
    tsma_t sma;
    slot_t buf[];
} sma_state_t;

static size_t sma_size(const double *p) { return with_slots(sizeof(sma_state_t), 1, p, 0); }
static void sma_init(void *state, const double *p)
{
    sma_state_t *s = state;
    tsma_init(&s->sma, param_int(p, 0));
}
static bool sma_update(void *state, const nd_indicator_input_t *in, double *out)
{
    check_input(in);
    sma_state_t *s = state;
    out[0] = NAN;
    return tsma_push(&s->sma, s->buf, in->close, &out[0]);
}
static int64_t period_minus_1(const double *p) { return param_int(p, 0) - 1; }
static int64_t period_lookback(const double *p) { return param_int(p, 0); }

typedef struct ema_state {
    tema_t ema;
} ema_state_t;

static size_t ema_size(const double *p) { (void)p; return sizeof(ema_state_t); }
static void ema_init(void *state, const double *p)
{
    tema_init(&((ema_state_t *)state)->ema, param_int(p, 0));
}
static bool ema_update(void *state, const nd_indicator_input_t *in, double *out)
{
    check_input(in);
    ema_state_t *s = state;
    bool ready = tema_push(&s->ema, in->close);
    out[0] = ready ? s->ema.value : NAN;
    return ready;
}

/* TA-Lib's WMA: weights 1..n (newest n), kept as a running weighted sum and a running plain sum
 * so that each bar costs the same: sum_w += n * x, out = sum_w / divider, sum_w -= sum. */
typedef struct wma_state {
    int32_t n, head;
    int64_t count;
    double sum, sum_w, trailing;
    slot_t buf[];
} wma_state_t;

static size_t wma_size(const double *p) { return with_slots(sizeof(wma_state_t), 1, p, 0); }
static void wma_init(void *state, const double *p)
{
    wma_state_t *s = state;
    s->n = param_int(p, 0);
    s->head = 0;
    s->count = 0;
    s->sum = s->sum_w = s->trailing = 0.0;
}
static bool wma_update(void *state, const nd_indicator_input_t *in, double *out)
{
    check_input(in);
    wma_state_t *s = state;
    double x = in->close;
    s->buf[s->head].d = x;
    s->head = s->head + 1 == s->n ? 0 : s->head + 1;
    out[0] = NAN;
    if (s->count < s->n - 1) {
        s->count++;
        s->sum += x;
        s->sum_w += x * (double)s->count;
        return false;
    }
    s->count = s->n;
    s->sum += x;
    s->sum -= s->trailing;
    s->sum_w += x * s->n;
    s->trailing = s->buf[s->head].d; /* the oldest of this window */
    int64_t divider = ((int64_t)s->n * (s->n + 1)) >> 1;
    out[0] = s->sum_w / (double)divider;
    s->sum_w -= s->sum;
    return true;
}

/* ---- RSI (Wilder) ------------------------------------------------------------------------- */

typedef struct rsi_state {
    int32_t n;
    int64_t count;
    double prev, gain, loss;
} rsi_state_t;

static size_t rsi_size(const double *p) { (void)p; return sizeof(rsi_state_t); }
static void rsi_init(void *state, const double *p)
{
    rsi_state_t *s = state;
    s->n = param_int(p, 0);
    s->count = 0;
    s->prev = s->gain = s->loss = 0.0;
}
static bool rsi_update(void *state, const nd_indicator_input_t *in, double *out)
{
    check_input(in);
    rsi_state_t *s = state;
    int64_t index = s->count++;
    double diff = in->close - s->prev;
    s->prev = in->close;
    out[0] = NAN;
    if (index == 0)
        return false;
    if (index > s->n) {
        s->loss *= s->n - 1;
        s->gain *= s->n - 1;
    }
    if (diff < 0)
        s->loss -= diff;
    else
        s->gain += diff;
    if (index < s->n)
        return false;
    s->loss /= s->n;
    s->gain /= s->n;
    double total = s->gain + s->loss;
    out[0] = ta_is_zero(total) ? 0.0 : 100.0 * (s->gain / total);
    return true;
}

/* ---- MACD --------------------------------------------------------------------------------- */

/* TA-Lib's MACD: the slow EMA starts on bar 0; the fast EMA is seeded on bar slow-1 with the
 * SMA of the `fast` closes ending there (not from bar 0), so both lines start together; the
 * signal is the EMA of the MACD line, and all three outputs start on bar slow-1 + signal-1. */
typedef struct macd_state {
    int32_t fast_n, head;
    int64_t count;
    tema_t fast, slow, signal;
    slot_t buf[]; /* the last fast_n closes */
} macd_state_t;

static size_t macd_size(const double *p) { return with_slots(sizeof(macd_state_t), 1, p, 0); }
static nd_err_t macd_validate(const double *p, char *err, size_t err_len)
{
    if (p[0] >= p[1]) {
        snprintf(err, err_len, "macd: fast (%g) must be below slow (%g)", p[0], p[1]);
        return ND_EINVAL;
    }
    return ND_OK;
}
static void macd_init(void *state, const double *p)
{
    macd_state_t *s = state;
    s->fast_n = param_int(p, 0);
    s->head = 0;
    s->count = 0;
    tema_init(&s->fast, s->fast_n);
    tema_init(&s->slow, param_int(p, 1));
    tema_init(&s->signal, param_int(p, 2));
    ND_ASSERT(s->fast_n < s->slow.n);
}
static bool macd_update(void *state, const nd_indicator_input_t *in, double *out)
{
    check_input(in);
    macd_state_t *s = state;
    double x = in->close;
    out[0] = out[1] = out[2] = NAN;
    bool slow_ready = tema_push(&s->slow, x);
    if (!slow_ready) {
        s->buf[s->head].d = x;
        s->head = s->head + 1 == s->fast_n ? 0 : s->head + 1;
        return false;
    }
    if (s->fast.count < s->fast.n) {
        /* Bar slow-1: seed the fast EMA from the window ending here, oldest first. */
        s->buf[s->head].d = x;
        s->head = s->head + 1 == s->fast_n ? 0 : s->head + 1;
        for (int i = 0; i < s->fast_n; i++) {
            int j = (s->head + i) % s->fast_n;
            tema_push(&s->fast, s->buf[j].d);
        }
        ND_ASSERT(s->fast.count == s->fast.n);
    } else {
        tema_push(&s->fast, x);
    }
    double line = s->fast.value - s->slow.value;
    if (!tema_push(&s->signal, line))
        return false;
    out[0] = line;
    out[1] = s->signal.value;
    out[2] = line - s->signal.value;
    return true;
}
static int64_t macd_lookback(const double *p) { return param_int(p, 1) - 1 + param_int(p, 2) - 1; }

/* ---- Bollinger ---------------------------------------------------------------------------- */

/* TA-Lib's BBANDS with an SMA: middle = SMA; the deviation is sqrt(mean(x^2) - middle^2) over
 * the same window (population, 0 when that is below 1e-14), from a running sum of squares. */
typedef struct bollinger_state {
    tsma_t sma;
    double sum2, dev_up, dev_down;
    slot_t buf[];
} bollinger_state_t;

static size_t bollinger_size(const double *p)
{
    return with_slots(sizeof(bollinger_state_t), 1, p, 0);
}
static void bollinger_init(void *state, const double *p)
{
    bollinger_state_t *s = state;
    tsma_init(&s->sma, param_int(p, 0));
    s->sum2 = 0.0;
    s->dev_up = p[1];
    s->dev_down = p[2];
}
static bool bollinger_update(void *state, const nd_indicator_input_t *in, double *out)
{
    check_input(in);
    bollinger_state_t *s = state;
    double x = in->close;
    out[0] = out[1] = out[2] = NAN;
    s->sum2 += x * x;
    double middle = 0.0;
    if (!tsma_push(&s->sma, s->buf, x, &middle))
        return false;
    double mean2 = s->sum2 / s->sma.n;
    double oldest = s->buf[s->sma.head].d;
    s->sum2 -= oldest * oldest;
    mean2 -= middle * middle;
    double dev = mean2 < TA_EPSILON ? 0.0 : sqrt(mean2);
    out[0] = middle + dev * s->dev_up;
    out[1] = middle;
    out[2] = middle - dev * s->dev_down;
    return true;
}

/* ---- ATR, ADX ----------------------------------------------------------------------------- */

typedef struct atr_state {
    tatr_t atr;
} atr_state_t;

static size_t atr_size(const double *p) { (void)p; return sizeof(atr_state_t); }
static void atr_init(void *state, const double *p)
{
    tatr_init(&((atr_state_t *)state)->atr, param_int(p, 0));
}
static bool atr_update(void *state, const nd_indicator_input_t *in, double *out)
{
    check_input(in);
    atr_state_t *s = state;
    bool ready = tatr_push(&s->atr, in);
    out[0] = ready ? s->atr.value : NAN;
    return ready;
}

/* TA-Lib's ADX, PLUS_DI and MINUS_DI in one pass: on bars 1..n-1 the directional movements and
 * true ranges are summed; from bar n each sum is smoothed as s - s/n + x and the DIs are
 * 100 * dm / tr; the DXs of bars n..2n-1 are averaged into the first ADX (bar 2n-1), then
 * adx = (adx * (n - 1) + dx) / n. */
typedef struct adx_state {
    int32_t n;
    int64_t count;
    double prev_high, prev_low, prev_close;
    double plus_dm, minus_dm, tr, sum_dx, adx;
} adx_state_t;

static size_t adx_size(const double *p) { (void)p; return sizeof(adx_state_t); }
static void adx_init(void *state, const double *p)
{
    adx_state_t *s = state;
    memset(s, 0, sizeof *s);
    s->n = param_int(p, 0);
    s->adx = NAN;
}
static bool adx_update(void *state, const nd_indicator_input_t *in, double *out)
{
    check_input(in);
    adx_state_t *s = state;
    int64_t index = s->count++;
    out[0] = out[1] = out[2] = NAN;
    double diff_p = in->high - s->prev_high;
    double diff_m = s->prev_low - in->low;
    double prev_close = s->prev_close;
    s->prev_high = in->high;
    s->prev_low = in->low;
    s->prev_close = in->close;
    if (index == 0)
        return false;
    double tr = true_range(in->high, in->low, prev_close);
    if (index >= s->n) {
        s->minus_dm -= s->minus_dm / s->n;
        s->plus_dm -= s->plus_dm / s->n;
    }
    if (diff_m > 0 && diff_p < diff_m)
        s->minus_dm += diff_m;
    else if (diff_p > 0 && diff_p > diff_m)
        s->plus_dm += diff_p;
    if (index < s->n) {
        s->tr += tr;
        return false;
    }
    s->tr = s->tr - (s->tr / s->n) + tr;
    double plus_di = 0.0, minus_di = 0.0, dx = NAN;
    if (!ta_is_zero(s->tr)) {
        minus_di = 100.0 * (s->minus_dm / s->tr);
        plus_di = 100.0 * (s->plus_dm / s->tr);
        double sum = minus_di + plus_di;
        if (!ta_is_zero(sum))
            dx = 100.0 * (fabs(minus_di - plus_di) / sum);
    }
    out[0] = plus_di;
    out[1] = minus_di;
    if (index < 2 * (int64_t)s->n - 1) {
        if (!isnan(dx))
            s->sum_dx += dx;
        return false;
    }
    if (index == 2 * (int64_t)s->n - 1) {
        if (!isnan(dx))
            s->sum_dx += dx;
        s->adx = s->sum_dx / s->n;
    } else if (!isnan(dx)) {
        s->adx = ((s->adx * (s->n - 1)) + dx) / s->n;
    }
    out[2] = s->adx;
    return true;
}
static int64_t adx_lookback(const double *p) { return 2 * (int64_t)param_int(p, 0) - 1; }

/* ---- Stochastic --------------------------------------------------------------------------- */

/* TA-Lib's STOCH with SMA smoothing: fast %K = (close - lowest low) / ((highest high - lowest
 * low) / 100) over fastk bars (0 when the range is 0); slow %K = SMA(fast %K, slowk); %D =
 * SMA(slow %K, slowd); both outputs start on bar fastk-1 + slowk-1 + slowd-1. */
typedef struct stoch_state {
    int64_t count;
    deque_t high, low;
    tsma_t slow_k, slow_d;
    uint32_t off_low, off_k, off_d;
    slot_t buf[];
} stoch_state_t;

static size_t stoch_size(const double *p)
{
    size_t slots = 4 * (size_t)param_int(p, 0) + (size_t)param_int(p, 1) + (size_t)param_int(p, 2);
    return sizeof(stoch_state_t) + slots * sizeof(slot_t);
}
static void stoch_init(void *state, const double *p)
{
    stoch_state_t *s = state;
    int fastk = param_int(p, 0);
    s->count = 0;
    deque_init(&s->high, fastk, true);
    deque_init(&s->low, fastk, false);
    tsma_init(&s->slow_k, param_int(p, 1));
    tsma_init(&s->slow_d, param_int(p, 2));
    s->off_low = (uint32_t)(2 * fastk);
    s->off_k = (uint32_t)(4 * fastk);
    s->off_d = s->off_k + (uint32_t)param_int(p, 1);
}
static bool stoch_update(void *state, const nd_indicator_input_t *in, double *out)
{
    check_input(in);
    stoch_state_t *s = state;
    int64_t index = s->count++;
    out[0] = out[1] = NAN;
    double highest = deque_push(&s->high, s->buf, index, in->high);
    double lowest = deque_push(&s->low, s->buf + s->off_low, index, in->low);
    if (index < s->high.n - 1)
        return false;
    double diff = (highest - lowest) / 100.0;
    double fast_k = diff != 0.0 ? (in->close - lowest) / diff : 0.0;
    double slow_k = 0.0, slow_d = 0.0;
    if (!tsma_push(&s->slow_k, s->buf + s->off_k, fast_k, &slow_k))
        return false;
    if (!tsma_push(&s->slow_d, s->buf + s->off_d, slow_k, &slow_d))
        return false;
    out[0] = slow_k;
    out[1] = slow_d;
    return true;
}
static int64_t stoch_lookback(const double *p)
{
    return (int64_t)param_int(p, 0) - 1 + param_int(p, 1) - 1 + param_int(p, 2) - 1;
}

/* ---- Donchian ----------------------------------------------------------------------------- */

typedef struct donchian_state {
    int64_t count;
    deque_t high, low;
    slot_t buf[];
} donchian_state_t;

static size_t donchian_size(const double *p)
{
    return with_slots(sizeof(donchian_state_t), 4, p, 0);
}
static void donchian_init(void *state, const double *p)
{
    donchian_state_t *s = state;
    s->count = 0;
    deque_init(&s->high, param_int(p, 0), true);
    deque_init(&s->low, param_int(p, 0), false);
}
static bool donchian_update(void *state, const nd_indicator_input_t *in, double *out)
{
    check_input(in);
    donchian_state_t *s = state;
    int64_t index = s->count++;
    double upper = deque_push(&s->high, s->buf, index, in->high);
    double lower = deque_push(&s->low, s->buf + 2 * s->high.n, index, in->low);
    if (index < s->high.n - 1) {
        out[0] = out[1] = out[2] = NAN;
        return false;
    }
    out[0] = upper;
    out[1] = (upper + lower) / 2.0;
    out[2] = lower;
    return true;
}

/* ---- Keltner ------------------------------------------------------------------------------ */

typedef struct keltner_state {
    tema_t ema;
    tatr_t atr;
    double multiplier;
} keltner_state_t;

static size_t keltner_size(const double *p) { (void)p; return sizeof(keltner_state_t); }
static void keltner_init(void *state, const double *p)
{
    keltner_state_t *s = state;
    tema_init(&s->ema, param_int(p, 0));
    tatr_init(&s->atr, param_int(p, 1));
    s->multiplier = p[2];
}
static bool keltner_update(void *state, const nd_indicator_input_t *in, double *out)
{
    check_input(in);
    keltner_state_t *s = state;
    bool ema_ready = tema_push(&s->ema, in->close);
    bool atr_ready = tatr_push(&s->atr, in);
    if (!ema_ready || !atr_ready) {
        out[0] = out[1] = out[2] = NAN;
        return false;
    }
    double width = s->multiplier * s->atr.value;
    out[0] = s->ema.value + width;
    out[1] = s->ema.value;
    out[2] = s->ema.value - width;
    return true;
}
static int64_t keltner_lookback(const double *p)
{
    int64_t ema = param_int(p, 0) - 1, atr = param_int(p, 1);
    return ema > atr ? ema : atr;
}

/* ---- VWAP --------------------------------------------------------------------------------- */

#define NS_PER_DAY INT64_C(86400000000000)

/* Session VWAP: sum(typical * volume) / sum(volume) since 00:00 UTC of the bar's open time,
 * typical = (high + low + close) / 3. Undefined (NAN) while the session has no volume. */
typedef struct vwap_state {
    int64_t day;
    int32_t started;
    double sum_pv, sum_v;
} vwap_state_t;

static size_t vwap_size(const double *p) { (void)p; return sizeof(vwap_state_t); }
static void vwap_init(void *state, const double *p)
{
    (void)p;
    memset(state, 0, sizeof(vwap_state_t));
}
static bool vwap_update(void *state, const nd_indicator_input_t *in, double *out)
{
    check_input(in);
    vwap_state_t *s = state;
    /* Floor division: a bar before 1970 still belongs to the day that contains it. */
    int64_t day = in->ts_ns / NS_PER_DAY - (in->ts_ns % NS_PER_DAY < 0 ? 1 : 0);
    if (!s->started || day != s->day) {
        s->started = 1;
        s->day = day;
        s->sum_pv = s->sum_v = 0.0;
    }
    double typical = (in->high + in->low + in->close) / 3.0;
    s->sum_pv += typical * in->volume;
    s->sum_v += in->volume;
    if (!(s->sum_v > 0.0)) {
        out[0] = NAN;
        return false;
    }
    out[0] = s->sum_pv / s->sum_v;
    return true;
}
static int64_t zero_lookback(const double *p) { (void)p; return 0; }

/* ---- OBV ---------------------------------------------------------------------------------- */

/* TA-Lib's OBV: starts at the first bar's volume, then adds the volume on an up close and
 * subtracts it on a down close. */
typedef struct obv_state {
    int32_t started;
    double prev_close, obv;
} obv_state_t;

static size_t obv_size(const double *p) { (void)p; return sizeof(obv_state_t); }
static void obv_init(void *state, const double *p)
{
    (void)p;
    memset(state, 0, sizeof(obv_state_t));
}
static bool obv_update(void *state, const nd_indicator_input_t *in, double *out)
{
    check_input(in);
    obv_state_t *s = state;
    if (!s->started) {
        s->started = 1;
        s->obv = in->volume;
    } else if (in->close > s->prev_close) {
        s->obv += in->volume;
    } else if (in->close < s->prev_close) {
        s->obv -= in->volume;
    }
    s->prev_close = in->close;
    out[0] = s->obv;
    return true;
}

/* ---- SuperTrend --------------------------------------------------------------------------- */

/* hl2 -/+ multiplier * ATR (TA-Lib's ATR), the bands ratcheting as TradingView's ta.supertrend
 * does: the lower band only rises (unless the previous close fell below it), the upper band only
 * falls (unless the previous close rose above it); the trend flips up when the close crosses
 * above the upper band and down when it crosses below the lower. The first defined bar starts
 * in a downtrend with the plain bands. direction: +1 up (line = lower band), -1 down. */
typedef struct supertrend_state {
    tatr_t atr;
    double multiplier, upper, lower, prev_close;
    int32_t defined, direction;
} supertrend_state_t;

static size_t supertrend_size(const double *p) { (void)p; return sizeof(supertrend_state_t); }
static void supertrend_init(void *state, const double *p)
{
    supertrend_state_t *s = state;
    memset(s, 0, sizeof *s);
    tatr_init(&s->atr, param_int(p, 0));
    s->multiplier = p[1];
}
static bool supertrend_update(void *state, const nd_indicator_input_t *in, double *out)
{
    check_input(in);
    supertrend_state_t *s = state;
    bool ready = tatr_push(&s->atr, in);
    double prev_close = s->prev_close;
    s->prev_close = in->close;
    if (!ready) {
        out[0] = out[1] = NAN;
        return false;
    }
    double hl2 = (in->high + in->low) / 2.0;
    double upper = hl2 + s->multiplier * s->atr.value;
    double lower = hl2 - s->multiplier * s->atr.value;
    if (!s->defined) {
        s->defined = 1;
        s->direction = -1;
    } else {
        if (!(lower > s->lower || prev_close < s->lower))
            lower = s->lower;
        if (!(upper < s->upper || prev_close > s->upper))
            upper = s->upper;
        if (s->direction < 0)
            s->direction = in->close > upper ? 1 : -1;
        else
            s->direction = in->close < lower ? -1 : 1;
    }
    s->upper = upper;
    s->lower = lower;
    out[0] = s->direction > 0 ? lower : upper;
    out[1] = s->direction;
    return true;
}

/* ---- the table ---------------------------------------------------------------------------- */

#define PERIOD(name_, def_, help_) \
    {name_, ND_PARAM_INT, 2, ND__INDICATOR_PERIOD_MAX, def_, 1, help_, NULL, 0}
#define PERIOD1(name_, def_, help_) \
    {name_, ND_PARAM_INT, 1, ND__INDICATOR_PERIOD_MAX, def_, 1, help_, NULL, 0}
#define MULT(name_, def_, help_) {name_, ND_PARAM_REAL, 0, 100, def_, 0.1, help_, NULL, 0}

static const char *const out_value[] = {"value"};

static const nd_param_def_t p_sma[] = {PERIOD("period", 30, "bars averaged")};
static const nd_param_def_t p_ema[] = {
    PERIOD("period", 30, "bars of the seed SMA; k = 2/(period+1)")};
static const nd_param_def_t p_wma[] = {
    PERIOD("period", 30, "bars weighted 1..period, newest heaviest")};
static const nd_param_def_t p_rsi[] = {PERIOD("period", 14, "Wilder smoothing length")};
static const nd_param_def_t p_macd[] = {
    PERIOD("fast", 12, "fast EMA length"),
    PERIOD("slow", 26, "slow EMA length (above fast)"),
    PERIOD1("signal", 9, "EMA length of the signal line"),
};
static const char *const out_macd[] = {"macd", "signal", "histogram"};
static const nd_param_def_t p_bollinger[] = {
    PERIOD("period", 5, "bars of the SMA and the deviation (TA-Lib's default; 20 is customary)"),
    MULT("dev_up", 2, "standard deviations above the middle"),
    MULT("dev_down", 2, "standard deviations below the middle"),
};
static const char *const out_bands[] = {"upper", "middle", "lower"};
static const nd_param_def_t p_atr[] = {PERIOD("period", 14, "Wilder smoothing length")};
static const nd_param_def_t p_adx[] = {PERIOD("period", 14, "Wilder smoothing length")};
static const char *const out_adx[] = {"plus_di", "minus_di", "adx"};
static const nd_param_def_t p_stoch[] = {
    PERIOD1("fastk_period", 5, "bars of the highest high and lowest low"),
    PERIOD1("slowk_period", 3, "SMA length turning fast %K into slow %K"),
    PERIOD1("slowd_period", 3, "SMA length of %D over slow %K"),
};
static const char *const out_stoch[] = {"slowk", "slowd"};
static const nd_param_def_t p_donchian[] = {
    PERIOD("period", 20, "bars of the highest high and lowest low")};
static const nd_param_def_t p_keltner[] = {
    PERIOD("period", 20, "EMA length of the middle line"),
    PERIOD("atr_period", 10, "ATR length of the band width"),
    MULT("multiplier", 2, "ATRs between the middle and each band"),
};
static const nd_param_def_t p_supertrend[] = {
    PERIOD("period", 10, "ATR length"),
    MULT("multiplier", 3, "ATRs between hl2 and each band"),
};
static const char *const out_supertrend[] = {"supertrend", "direction"};

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))
const nd_indicator_def_t nd__indicator_sma = {
    "sma", "simple moving average of the close", p_sma, COUNT(p_sma), out_value, 1,
    sma_size, NULL, sma_init, sma_update, period_minus_1};
const nd_indicator_def_t nd__indicator_ema = {
    "ema", "exponential moving average of the close, seeded with the SMA", p_ema, COUNT(p_ema),
    out_value, 1, ema_size, NULL, ema_init, ema_update, period_minus_1};
const nd_indicator_def_t nd__indicator_wma = {
    "wma", "linearly weighted moving average of the close", p_wma, COUNT(p_wma), out_value, 1,
    wma_size, NULL, wma_init, wma_update, period_minus_1};
const nd_indicator_def_t nd__indicator_rsi = {
    "rsi", "relative strength index (Wilder)", p_rsi, COUNT(p_rsi), out_value, 1, rsi_size, NULL,
    rsi_init, rsi_update, period_lookback};
const nd_indicator_def_t nd__indicator_macd = {
    "macd", "MACD line, signal and histogram", p_macd, COUNT(p_macd), out_macd, 3, macd_size,
    macd_validate, macd_init, macd_update, macd_lookback};
const nd_indicator_def_t nd__indicator_bollinger = {
    "bollinger", "Bollinger bands: SMA +/- population standard deviations", p_bollinger,
    COUNT(p_bollinger), out_bands, 3, bollinger_size, NULL, bollinger_init, bollinger_update,
    period_minus_1};
const nd_indicator_def_t nd__indicator_atr = {
    "atr", "average true range (Wilder)", p_atr, COUNT(p_atr), out_value, 1, atr_size, NULL,
    atr_init, atr_update, period_lookback};
const nd_indicator_def_t nd__indicator_adx = {
    "adx", "+DI, -DI and the average directional index (Wilder)", p_adx, COUNT(p_adx), out_adx,
    3, adx_size, NULL, adx_init, adx_update, adx_lookback};
const nd_indicator_def_t nd__indicator_stoch = {
    "stoch", "slow stochastic %K and %D", p_stoch, COUNT(p_stoch), out_stoch, 2, stoch_size, NULL,
    stoch_init, stoch_update, stoch_lookback};
const nd_indicator_def_t nd__indicator_donchian = {
    "donchian", "Donchian channel: highest high, midpoint, lowest low", p_donchian,
    COUNT(p_donchian), out_bands, 3, donchian_size, NULL, donchian_init, donchian_update,
    period_minus_1};
const nd_indicator_def_t nd__indicator_keltner = {
    "keltner", "Keltner channel: EMA of the close +/- multiplier * ATR", p_keltner,
    COUNT(p_keltner), out_bands, 3, keltner_size, NULL, keltner_init, keltner_update,
    keltner_lookback};
const nd_indicator_def_t nd__indicator_vwap = {
    "vwap", "volume-weighted average typical price, reset at 00:00 UTC", NULL, 0, out_value, 1,
    vwap_size, NULL, vwap_init, vwap_update, zero_lookback};
const nd_indicator_def_t nd__indicator_obv = {
    "obv", "on-balance volume", NULL, 0, out_value, 1, obv_size, NULL, obv_init, obv_update,
    zero_lookback};
const nd_indicator_def_t nd__indicator_supertrend = {
    "supertrend", "SuperTrend line and direction (+1 up, -1 down) over ATR bands",
    p_supertrend, COUNT(p_supertrend), out_supertrend, 2, supertrend_size, NULL, supertrend_init,
    supertrend_update, period_lookback};
