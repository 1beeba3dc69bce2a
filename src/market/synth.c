/* synth.c: the seeded synthetic market, a bar source that needs no data files.
 *
 * Model (docs/data-formats.md has the full description): the log price walks in SUB_STEPS
 * Gaussian sub-steps per bar with a calm or a stressed volatility (a two-state Markov regime),
 * plus a rare Gaussian log jump inside the bar; the drift is compensated for the mean jump so
 * that annual_drift is the whole expected log drift. Open is the previous close, high and low
 * are the extremes of the sub-step path, all rounded to the tick; volume is lognormal around
 * base_volume (stress_vol_mult times higher in the stressed regime), rounded to the lot.
 *
 * Invariants: every bar has low >= 1 tick, low <= min(open, close), high >= max(open, close),
 * prices on the tick grid, volume on the lot grid, times start_ns + i * interval_ns. The output
 * depends only on the config and the instrument: randomness comes from one nd_rand_t seeded
 * with cfg->seed, and exp and log are computed here from IEEE basic operations (not libm, whose
 * last bits differ between C libraries), so the same config gives the same bytes everywhere.
 * This relies on no FMA contraction, which ISO C mode (-std=c17) guarantees for GCC. */
#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/fixed.h"
#include "noderr/market.h"
#include "noderr/rand.h"
#include "noderr/ticks.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Sub-steps per bar: enough for high and low to differ from open and close, cheap enough for
 * 5M+ bars/s. */
#define SUB_STEPS 4
#define NS_PER_YEAR (365.0 * 86400.0 * 1e9)
/* The log price is reflected off a band of start_price / 1000 .. start_price * 1000 so that
 * arbitrarily long runs stay representable and do not collapse to one tick; with the defaults
 * the band is ~10 standard deviations of a 10,000-bar run away and never binds. */
#define BAND_FACTOR 1000.0
/* Largest price or volume, in units, a config may reach; keeps every conversion in int64. */
#define UNITS_MAX 1e18
/* Volume is exp(VOLUME_SIGMA * z - VOLUME_SIGMA^2 / 2) times its mean (mean-one lognormal). */
#define VOLUME_SIGMA 0.5
#define VOLUME_Z_MAX 6.0

/* Keeps the rounding in fast_exp on positive values (|x| * 64 / ln2 < 2^17 after clamping). */
#define EXP_BIAS 1048576.0
/* Entries in the exp and log reduction tables. */
#define TABLE_SIZE 64

static const double ln2_hi = 6.93147180369123816490e-01;
static const double ln2_lo = 1.90821492927058770002e-10;
static const double inv_ln2 = 1.44269504088896338700e+00;

typedef struct synth_source {
    nd_bar_source_t base; /* first member: the public pointer converts back to this struct */
    nd_rand_t rng;
    nd_synth_config_t cfg;
    int64_t index;        /* bars produced so far */
    int64_t tick;
    int64_t lot;
    double ticks_per_quote; /* 10^px_decimals / tick_size */
    double lots_per_base;   /* 10^qty_decimals / lot_size */
    double log_px;
    double log_lo;
    double log_hi;
    double sigma_step[2];   /* sub-step volatility: [0] calm, [1] stressed */
    double drift_step;
    double volume_mean[2];  /* in lots: [0] calm, [1] stressed */
    int64_t prev_close;
    int stressed;
    int64_t switch_in;      /* bars until the next regime switch, this bar included */
    int64_t jump_in;        /* bars until the next jump, this bar included */
    double log_keep_switch; /* ln(1 - regime_switch_prob) */
    double log_keep_jump;   /* ln(1 - jump_prob) */
    int have_spare;
    double spare;           /* the second deviate of the last polar-method pair */
    uint32_t instrument_id;
    double exp2_table[TABLE_SIZE]; /* 2^(j/64) */
    double inv_center[TABLE_SIZE]; /* 1 / (1 + (j + 0.5) / 64) */
    double log_center[TABLE_SIZE]; /* -ln inv_center[j] */
} synth_source_t;

/* e^x to within a few ulps from basic operations only: x = k ln2 + r, |r| <= ln2 / 2, then a
 * degree-13 Taylor polynomial (truncation below 1e-17) and an exact scaling by 2^k. Used to
 * build the tables and for one-off values; fast_exp serves the per-bar work. */
static double det_exp(double x)
{
    ND_ASSERT(x == x);
    if (x > 700.0)
        x = 700.0;
    if (x < -700.0)
        x = -700.0;
    double k = floor(x * inv_ln2 + 0.5);
    double r = (x - k * ln2_hi) - k * ln2_lo;
    double p = 1.0 / 6227020800.0;
    static const double inv_fact[] = {1.0 / 479001600.0, 1.0 / 39916800.0, 1.0 / 3628800.0,
                                      1.0 / 362880.0,    1.0 / 40320.0,    1.0 / 5040.0,
                                      1.0 / 720.0,       1.0 / 120.0,      1.0 / 24.0,
                                      1.0 / 6.0,         0.5,              1.0,
                                      1.0};
    for (int i = 0; i < 13; i++)
        p = p * r + inv_fact[i];
    return ldexp(p, (int)k);
}

/* ln x for finite x > 0 from basic operations: x = m 2^e with m in [sqrt(1/2), sqrt(2)), then
 * ln m = 2 atanh(s), s = (m - 1) / (m + 1), |s| < 0.172, summed to s^23 (error below 1e-18).
 * Used to build the tables; fast_log serves the per-bar work. */
static double det_log(double x)
{
    ND_ASSERT(x > 0.0);
    ND_ASSERT(isfinite(x));
    int e;
    double m = frexp(x, &e);
    if (m < 0.70710678118654752440) {
        m *= 2.0;
        e--;
    }
    double f = m - 1.0;
    double s = f / (2.0 + f);
    double z = s * s;
    double sum = 1.0 / 23.0;
    for (int n = 21; n >= 1; n -= 2)
        sum = sum * z + 1.0 / n;
    return (double)e * ln2_hi + (2.0 * s * sum + (double)e * ln2_lo);
}

static double bits_to_double(uint64_t bits)
{
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

static uint64_t double_to_bits(double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    return bits;
}

/* Fills the 2^(j/64) and log tables from the accurate routines; deterministic like them. */
static void build_tables(synth_source_t *s)
{
    for (int j = 0; j < TABLE_SIZE; j++) {
        s->exp2_table[j] = det_exp((double)j * (ln2_hi + ln2_lo) / TABLE_SIZE);
        s->inv_center[j] = 1.0 / (1.0 + ((double)j + 0.5) / TABLE_SIZE);
        s->log_center[j] = -det_log(s->inv_center[j]);
    }
    ND_ASSERT(s->exp2_table[0] == 1.0);
    ND_ASSERT(s->log_center[0] > 0.0);
}

/* e^x as 2^k * 2^(j/64) * e^r with |r| <= ln2 / 128 and a degree-5 polynomial (truncation
 * below 1e-16); the power of two is assembled from bits, so there is no libm call. */
static double fast_exp(const synth_source_t *s, double x)
{
    x = x > 700.0 ? 700.0 : (x < -700.0 ? -700.0 : x);
    double t = x * (inv_ln2 * TABLE_SIZE);
    /* Round to nearest without a sign branch: t >= -700 * 93, so the biased value is positive. */
    int64_t kk = (int64_t)(t + (EXP_BIAS + 0.5)) - (int64_t)EXP_BIAS;
    int j = (int)((uint64_t)kk & (TABLE_SIZE - 1));
    int64_t k = (kk - j) / TABLE_SIZE;
    double r = (x - (double)kk * (ln2_hi / TABLE_SIZE)) - (double)kk * (ln2_lo / TABLE_SIZE);
    double p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120)))));
    double scale = bits_to_double((uint64_t)(k + 1023) << 52);
    return s->exp2_table[j] * p * scale;
}

/* ln x for a normal x > 0: x = m 2^e, m in [1, 2), m = c_j (1 + r) with c_j the centre of m's
 * 64th, |r| < 1/120, then a degree-7 series for ln(1 + r) (truncation below 1e-17). */
static double fast_log(const synth_source_t *s, double x)
{
    uint64_t bits = double_to_bits(x);
    int e = (int)((bits >> 52) & 0x7ff) - 1023;
    ND_ASSERT(e > -1023);
    int j = (int)((bits >> 46) & (TABLE_SIZE - 1));
    double m = bits_to_double((bits & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL);
    double r = m * s->inv_center[j] - 1.0;
    double p = r * (1.0 + r * (-0.5 + r * (1.0 / 3 + r * (-0.25 + r * (0.2 + r * (-1.0 / 6 +
               r * (1.0 / 7)))))));
    return (double)e * ln2_hi + (s->log_center[j] + (double)e * ln2_lo + p);
}

/* Standard normal deviate by Marsaglia's polar method: needs only log and sqrt (exactly
 * rounded by IEEE), unlike Box-Muller's cos; the pair's second deviate is kept for next time. */
static double normal(synth_source_t *s)
{
    if (s->have_spare) {
        s->have_spare = 0;
        return s->spare;
    }
    double u, v, q;
    do {
        u = 2.0 * nd_rand_uniform(&s->rng) - 1.0;
        v = 2.0 * nd_rand_uniform(&s->rng) - 1.0;
        q = u * u + v * v;
    } while (q >= 1.0 || q == 0.0);
    double scale = sqrt(-2.0 * fast_log(s, q) / q);
    s->spare = v * scale;
    s->have_spare = 1;
    return u * scale;
}

/* ln(1 - p) for the waiting-time draws; 0 means the event never happens, -inf every bar. */
static double log_keep(double p)
{
    ND_ASSERT(p >= 0.0);
    ND_ASSERT(p <= 1.0);
    if (p >= 1.0)
        return -INFINITY;
    if (p < 1e-8)
        return -p - 0.5 * p * p; /* 1 - p would round away p's digits */
    return det_log(1.0 - p);
}

/* Draws how many bars until a per-bar event of probability p happens (this bar counting as 1):
 * geometric, by inversion, so one uniform per event instead of one per bar. */
static int64_t wait_bars(synth_source_t *s, double log_keep_p)
{
    if (log_keep_p == 0.0)
        return INT64_MAX;
    if (log_keep_p == -INFINITY)
        return 1;
    double u = 1.0 - nd_rand_uniform(&s->rng); /* in (0, 1] */
    double bars = fast_log(s, u) / log_keep_p;
    ND_ASSERT(bars >= 0.0);
    return bars >= 4e18 ? INT64_MAX : 1 + (int64_t)bars;
}

/* Reflects the log price back into the band; a jump larger than the band is clamped. */
static double reflect(const synth_source_t *s, double lp)
{
    if (lp > s->log_hi)
        lp = 2.0 * s->log_hi - lp;
    if (lp < s->log_lo)
        lp = 2.0 * s->log_lo - lp;
    if (lp > s->log_hi)
        lp = s->log_hi;
    return lp;
}

/* Converts a log price to price units on the tick grid, at least one tick. */
static int64_t to_price(const synth_source_t *s, double lp)
{
    double ticks = fast_exp(s, lp) * s->ticks_per_quote + 0.5;
    ND_ASSERT(ticks * (double)s->tick <= UNITS_MAX * 1.01);
    int64_t whole = (int64_t)ticks;
    return (whole < 1 ? 1 : whole) * s->tick;
}

static int64_t draw_volume(synth_source_t *s)
{
    double z = normal(s);
    if (z > VOLUME_Z_MAX)
        z = VOLUME_Z_MAX;
    if (z < -VOLUME_Z_MAX)
        z = -VOLUME_Z_MAX;
    double factor = fast_exp(s, VOLUME_SIGMA * z - 0.5 * VOLUME_SIGMA * VOLUME_SIGMA);
    int64_t lots = (int64_t)(s->volume_mean[s->stressed] * factor + 0.5);
    ND_ASSERT(lots >= 0);
    return lots * s->lot;
}

static nd_err_t synth_next(nd_bar_source_t *src, nd_bar_t *out)
{
    ND_ASSERT(src != NULL);
    ND_ASSERT(out != NULL);
    synth_source_t *s = (synth_source_t *)src;
    if (s->index >= s->cfg.bars)
        return ND_EEOF;
    if (--s->switch_in == 0) {
        s->stressed ^= 1;
        s->switch_in = wait_bars(s, s->log_keep_switch);
    }
    int jump_step = -1;
    double jump = 0.0;
    if (--s->jump_in == 0) {
        jump = s->cfg.jump_mean + s->cfg.jump_std * normal(s);
        jump_step = (int)nd_rand_below(&s->rng, SUB_STEPS);
        s->jump_in = wait_bars(s, s->log_keep_jump);
    }
    double sigma = s->sigma_step[s->stressed];
    double lp = s->log_px, hi = lp, lo = lp;
    for (int k = 0; k < SUB_STEPS; k++) {
        lp += s->drift_step + sigma * normal(s);
        if (k == jump_step)
            lp += jump;
        lp = reflect(s, lp);
        hi = lp > hi ? lp : hi;
        lo = lp < lo ? lp : lo;
    }
    nd_bar_t b = {0};
    b.ts_ns = s->cfg.start_ns + s->index * s->cfg.interval_ns;
    b.open = s->prev_close;
    b.close = to_price(s, lp);
    /* An extreme that is the open or the close needs no second exp. */
    int64_t high = hi == s->log_px ? b.open : (hi == lp ? b.close : to_price(s, hi));
    int64_t low = lo == s->log_px ? b.open : (lo == lp ? b.close : to_price(s, lo));
    int64_t top = b.open > b.close ? b.open : b.close;
    int64_t bottom = b.open < b.close ? b.open : b.close;
    b.high = high > top ? high : top;
    b.low = low < bottom ? low : bottom;
    s->log_px = lp;
    b.volume = draw_volume(s);
    b.instrument_id = s->instrument_id;
    ND_ASSERT(b.low >= s->tick);
    ND_ASSERT(b.high >= b.low);
    s->prev_close = b.close;
    s->index++;
    *out = b;
    return ND_OK;
}

static void synth_close(nd_bar_source_t *src)
{
    nd_free(src);
}

void nd_synth_config_default(nd_synth_config_t *cfg)
{
    ND_ASSERT(cfg != NULL);
    *cfg = (nd_synth_config_t){
        .seed = 42,
        .bars = 10000,
        .start_ns = 1704067200LL * 1000000000LL, /* 2024-01-01T00:00:00Z */
        .interval_ns = 3600LL * 1000000000LL,
        .start_price = 40000.0,
        .annual_vol = 0.6,
        .stress_vol_mult = 3.0,
        .regime_switch_prob = 0.01,
        .jump_prob = 0.002,
        .jump_mean = -0.05,
        .jump_std = 0.05,
        .annual_drift = 0.0,
        .base_volume = 1000.0,
    };
    ND_ASSERT(cfg->interval_ns > 0);
}

/* Checks the doubles of a config: the ones that scale things must be finite and >= 0. */
static nd_err_t check_doubles(const nd_synth_config_t *c, char *err, size_t err_len)
{
    const struct {
        const char *name;
        double value;
        int kind; /* 0: finite >= 0, 1: probability, 2: finite, 3: finite > 0 */
    } rules[] = {
        {"start_price", c->start_price, 3},
        {"annual_vol", c->annual_vol, 0},
        {"stress_vol_mult", c->stress_vol_mult, 0},
        {"regime_switch_prob", c->regime_switch_prob, 1},
        {"jump_prob", c->jump_prob, 1},
        {"jump_mean", c->jump_mean, 2},
        {"jump_std", c->jump_std, 0},
        {"annual_drift", c->annual_drift, 2},
        {"base_volume", c->base_volume, 0},
    };
    static const char *const wants[] = {"must be finite and >= 0", "outside [0, 1]",
                                        "must be finite", "must be finite and > 0"};
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        double v = rules[i].value;
        int ok = isfinite(v);
        if (rules[i].kind == 0)
            ok = ok && v >= 0.0;
        else if (rules[i].kind == 1)
            ok = ok && v >= 0.0 && v <= 1.0;
        else if (rules[i].kind == 3)
            ok = ok && v > 0.0;
        if (!ok) {
            nd_err_put(err, err_len, "%s %g %s", rules[i].name, v, wants[rules[i].kind]);
            return ND_EINVAL;
        }
    }
    return ND_OK;
}

/* Checks a config against an instrument; ND_EINVAL with the reason in err. */
static nd_err_t check_config(const nd_synth_config_t *c, const nd_instrument_t *inst, char *err,
                             size_t err_len)
{
    if (c->bars < 0) {
        nd_err_put(err, err_len, "bars %lld must be >= 0", (long long)c->bars);
        return ND_EINVAL;
    }
    if (c->interval_ns <= 0) {
        nd_err_put(err, err_len, "interval_ns %lld must be > 0", (long long)c->interval_ns);
        return ND_EINVAL;
    }
    int64_t span, end;
    if (__builtin_mul_overflow(c->bars, c->interval_ns, &span) ||
        __builtin_add_overflow(c->start_ns, span, &end)) {
        nd_err_put(err, err_len, "start_ns + bars * interval_ns overflows");
        return ND_EINVAL;
    }
    if (inst->tick_size <= 0 || inst->lot_size <= 0) {
        nd_err_put(err, err_len, "instrument %s needs a positive tick and lot size", inst->symbol);
        return ND_EINVAL;
    }
    nd_err_t rc = check_doubles(c, err, err_len);
    if (rc != ND_OK)
        return rc;
    double px_top = c->start_price * BAND_FACTOR * (double)nd_pow10(inst->px_decimals);
    if (px_top > UNITS_MAX) {
        nd_err_put(err, err_len, "start_price %g too large for %d price decimals", c->start_price,
                inst->px_decimals);
        return ND_EINVAL;
    }
    double mult = c->stress_vol_mult > 1.0 ? c->stress_vol_mult : 1.0;
    double vol_top = c->base_volume * mult * det_exp(VOLUME_SIGMA * VOLUME_Z_MAX) *
                     (double)nd_pow10(inst->qty_decimals);
    if (vol_top > UNITS_MAX) {
        nd_err_put(err, err_len, "base_volume %g too large for %d quantity decimals",
                c->base_volume, inst->qty_decimals);
        return ND_EINVAL;
    }
    return ND_OK;
}

/* Derives the per-bar model constants from a checked config. */
static void setup_model(synth_source_t *s, const nd_synth_config_t *c, const nd_instrument_t *inst)
{
    s->cfg = *c;
    build_tables(s);
    nd_rand_init(&s->rng, c->seed);
    s->tick = inst->tick_size;
    s->lot = inst->lot_size;
    s->instrument_id = inst->id;
    s->ticks_per_quote = (double)nd_pow10(inst->px_decimals) / (double)inst->tick_size;
    s->lots_per_base = (double)nd_pow10(inst->qty_decimals) / (double)inst->lot_size;
    double years = (double)c->interval_ns / NS_PER_YEAR;
    double sigma_bar = c->annual_vol * sqrt(years);
    s->sigma_step[0] = sigma_bar / sqrt((double)SUB_STEPS);
    s->sigma_step[1] = s->sigma_step[0] * c->stress_vol_mult;
    /* Compensate the mean jump so that annual_drift is the whole expected log drift: crashes
     * are shocks the walk recovers from on average, not a trend. */
    s->drift_step = (c->annual_drift * years - c->jump_prob * c->jump_mean) / SUB_STEPS;
    s->volume_mean[0] = c->base_volume * s->lots_per_base;
    s->volume_mean[1] = s->volume_mean[0] * (c->stress_vol_mult > 1.0 ? c->stress_vol_mult : 1.0);
    s->log_px = det_log(c->start_price);
    s->log_lo = s->log_px - det_log(BAND_FACTOR);
    s->log_hi = s->log_px + det_log(BAND_FACTOR);
    s->prev_close = to_price(s, s->log_px);
    s->log_keep_switch = log_keep(c->regime_switch_prob);
    s->log_keep_jump = log_keep(c->jump_prob);
    s->switch_in = wait_bars(s, s->log_keep_switch);
    s->jump_in = wait_bars(s, s->log_keep_jump);
    s->base.next = synth_next;
    s->base.close = synth_close;
}

nd_err_t nd_synth_open(const nd_synth_config_t *cfg, const nd_instrument_t *inst,
                       nd_bar_source_t **out, char *err, size_t err_len)
{
    ND_ASSERT(cfg != NULL);
    ND_ASSERT(inst != NULL);
    ND_ASSERT(out != NULL);
    ND_ASSERT(inst->px_decimals >= 0 && inst->px_decimals <= ND_DECIMALS_MAX);
    ND_ASSERT(inst->qty_decimals >= 0 && inst->qty_decimals <= ND_DECIMALS_MAX);
    nd_err_t rc = check_config(cfg, inst, err, err_len);
    if (rc != ND_OK)
        return rc;
    synth_source_t *s = nd_calloc(1, sizeof *s);
    if (s == NULL) {
        nd_err_put(err, err_len, "synthetic market: out of memory");
        return ND_ENOMEM;
    }
    setup_model(s, cfg, inst);
    *out = &s->base;
    return ND_OK;
}

/* ---- Synthetic ticks ----------------------------------------------------------------------
 * A seeded L2 market on a dense tick grid. Separate from the bar source above (its own state
 * and generator), so the bars stay byte-identical. Invariants: each side holds exactly `levels`
 * levels on consecutive ticks, every size in [1, level_qty_max] lots, best bid < best ask, all
 * prices >= 1 tick; every venue event's deltas end with a LAST delta; a trade never exceeds the
 * best level's size and is followed by the delta that shows it consumed. Integer arithmetic on
 * nd_rand_t draws only, so the stream is the same everywhere. */

/* Per mille of non-trade events that improve the spread when it is wider than one tick. */
#define IMPROVE_PER_MILLE 300
#define SYNTH_LEVELS_MAX 1024u

struct nd_synth_ticks {
    nd_synth_ticks_config_t cfg;
    nd_rand_t rng;
    int64_t tick, lot;
    uint32_t instrument_id;
    int64_t emitted;
    int64_t ts_ns;
    int64_t best[2];   /* best bid, best ask (price units) */
    int64_t *qty[2];   /* lots per level, [0] = best */
    nd_tick_event_t *pend;
    uint32_t pend_count, pend_next;
};

void nd_synth_ticks_config_default(nd_synth_ticks_config_t *cfg)
{
    ND_ASSERT(cfg != NULL);
    *cfg = (nd_synth_ticks_config_t){
        .seed = 42,
        .events = 1000000,
        .start_ns = 1704067200LL * 1000000000LL,
        .step_ns = 1000000,
        .start_px = 4000000000000LL, /* 40,000 at 8 decimals */
        .levels = 50,
        .level_qty_max = 1000,
        .trade_per_mille = 200,
    };
}

void nd_synth_ticks_close(nd_synth_ticks_t *g)
{
    if (g == NULL)
        return;
    nd_free(g->qty[0]);
    nd_free(g->qty[1]);
    nd_free(g->pend);
    nd_free(g);
}

/* Price of level i of a side. */
static int64_t level_px(const nd_synth_ticks_t *g, int side, uint32_t i)
{
    return side == ND_BOOK_BID ? g->best[0] - (int64_t)i * g->tick
                               : g->best[1] + (int64_t)i * g->tick;
}

static int64_t draw_lots(nd_synth_ticks_t *g)
{
    return 1 + (int64_t)nd_rand_below(&g->rng, (uint64_t)g->cfg.level_qty_max);
}

static void push_delta(nd_synth_ticks_t *g, int side, int64_t px, int64_t lots, uint32_t flags)
{
    ND_ASSERT(g->pend_count < 2 * g->cfg.levels + 4);
    ND_ASSERT(px > 0);
    nd_tick_event_t *ev = &g->pend[g->pend_count++];
    ev->kind = ND_TICK_DELTA;
    ev->u.delta = (nd_book_delta_t){.ts_ns = g->ts_ns, .instrument_id = g->instrument_id,
                                    .side = (nd_book_side_t)side, .px = px,
                                    .qty = lots * g->lot, .update_id = g->emitted,
                                    .flags = flags};
}

/* Removes the best level of a side (consumed by a trade) and appends a new worst one. */
static void deplete_best(nd_synth_ticks_t *g, int side)
{
    uint32_t n = g->cfg.levels;
    int64_t *q = g->qty[side];
    push_delta(g, side, level_px(g, side, 0), 0, 0);
    memmove(q, q + 1, (n - 1) * sizeof *q);
    g->best[side] += side == ND_BOOK_BID ? -g->tick : g->tick;
    q[n - 1] = draw_lots(g);
    push_delta(g, side, level_px(g, side, n - 1), q[n - 1], ND_DELTA_F_LAST);
}

static void gen_trade(nd_synth_ticks_t *g)
{
    /* A buyer lifts the ask, a seller hits the bid; never let the bid grid reach zero. */
    int hit = (int)nd_rand_below(&g->rng, 2); /* side of the book that is hit */
    if (hit == ND_BOOK_BID && level_px(g, ND_BOOK_BID, g->cfg.levels) <= g->tick)
        hit = ND_BOOK_ASK;
    int64_t *q = g->qty[hit];
    int64_t lots = 1 + (int64_t)nd_rand_below(&g->rng, (uint64_t)q[0]);
    nd_tick_event_t *ev = &g->pend[g->pend_count++];
    ev->kind = ND_TICK_TRADE;
    ev->u.trade = (nd_trade_tick_t){.ts_ns = g->ts_ns, .instrument_id = g->instrument_id,
                                    .aggressor = hit == ND_BOOK_BID ? ND_SIDE_SELL : ND_SIDE_BUY,
                                    .px = g->best[hit], .qty = lots * g->lot,
                                    .trade_id = g->emitted};
    q[0] -= lots;
    if (q[0] == 0)
        deplete_best(g, hit);
    else
        push_delta(g, hit, g->best[hit], q[0], ND_DELTA_F_LAST);
}

/* A new best level inside the spread; the side's worst level falls off the grid. */
static void gen_improve(nd_synth_ticks_t *g, int side)
{
    uint32_t n = g->cfg.levels;
    int64_t *q = g->qty[side];
    push_delta(g, side, level_px(g, side, n - 1), 0, 0);
    memmove(q + 1, q, (n - 1) * sizeof *q);
    g->best[side] += side == ND_BOOK_BID ? g->tick : -g->tick;
    q[0] = draw_lots(g);
    push_delta(g, side, g->best[side], q[0], ND_DELTA_F_LAST);
}

static void gen_event(nd_synth_ticks_t *g)
{
    g->pend_count = g->pend_next = 0;
    g->ts_ns += g->cfg.step_ns;
    uint64_t r = nd_rand_below(&g->rng, 1000);
    if (r < g->cfg.trade_per_mille) {
        gen_trade(g);
        return;
    }
    int side = (int)nd_rand_below(&g->rng, 2);
    if (g->best[1] - g->best[0] > g->tick && nd_rand_below(&g->rng, 1000) < IMPROVE_PER_MILLE &&
        !(side == ND_BOOK_ASK && g->best[1] - g->tick <= g->best[0])) {
        gen_improve(g, side);
        return;
    }
    uint32_t i = (uint32_t)nd_rand_below(&g->rng, g->cfg.levels);
    g->qty[side][i] = draw_lots(g);
    push_delta(g, side, level_px(g, side, i), g->qty[side][i], ND_DELTA_F_LAST);
}

nd_err_t nd_synth_ticks_next(nd_synth_ticks_t *g, nd_tick_event_t *out)
{
    ND_ASSERT(g != NULL);
    ND_ASSERT(out != NULL);
    if (g->emitted >= g->cfg.events)
        return ND_EEOF;
    if (g->pend_next == g->pend_count)
        gen_event(g);
    ND_ASSERT(g->pend_next < g->pend_count);
    *out = g->pend[g->pend_next++];
    g->emitted++;
    return ND_OK;
}

nd_err_t nd_synth_ticks_open(const nd_synth_ticks_config_t *cfg, const nd_instrument_t *inst,
                             nd_synth_ticks_t **out, char *err, size_t err_len)
{
    ND_ASSERT(cfg != NULL);
    ND_ASSERT(inst != NULL);
    ND_ASSERT(out != NULL);
    const nd_synth_ticks_config_t *c = cfg;
    int64_t top;
    if (c->events < 0 || c->step_ns <= 0 || c->levels < 2 || c->levels > SYNTH_LEVELS_MAX ||
        c->level_qty_max < 2 || c->trade_per_mille > 1000 || inst->tick_size <= 0 ||
        inst->lot_size <= 0 || c->start_px % inst->tick_size != 0 ||
        c->start_px <= (int64_t)c->levels * inst->tick_size ||
        __builtin_mul_overflow(c->level_qty_max, inst->lot_size, &top) ||
        c->start_px > INT64_MAX / 4) {
        nd_err_put(err, err_len,
                "synthetic ticks: bad config (levels 2..%u, level_qty_max >= 2, step_ns > 0, "
                "start_px a tick multiple above levels * tick, trade_per_mille <= 1000)",
                SYNTH_LEVELS_MAX);
        return ND_EINVAL;
    }
    nd_synth_ticks_t *g = nd_calloc(1, sizeof *g);
    if (g == NULL || (g->qty[0] = nd_calloc(c->levels, sizeof(int64_t))) == NULL ||
        (g->qty[1] = nd_calloc(c->levels, sizeof(int64_t))) == NULL ||
        (g->pend = nd_calloc(2 * c->levels + 4, sizeof *g->pend)) == NULL) {
        nd_synth_ticks_close(g);
        nd_err_put(err, err_len, "synthetic ticks: out of memory");
        return ND_ENOMEM;
    }
    g->cfg = *c;
    nd_rand_init(&g->rng, c->seed);
    g->tick = inst->tick_size;
    g->lot = inst->lot_size;
    g->instrument_id = inst->id;
    g->ts_ns = c->start_ns;
    g->best[0] = c->start_px;
    g->best[1] = c->start_px + inst->tick_size;
    /* The initial book: one CLEAR..LAST run, best levels first. */
    for (int side = ND_BOOK_BID; side <= ND_BOOK_ASK; side++)
        for (uint32_t i = 0; i < c->levels; i++) {
            g->qty[side][i] = draw_lots(g);
            push_delta(g, side, level_px(g, side, i), g->qty[side][i], 0);
        }
    g->pend[0].u.delta.flags |= ND_DELTA_F_CLEAR;
    g->pend[g->pend_count - 1].u.delta.flags |= ND_DELTA_F_LAST;
    *out = g;
    return ND_OK;
}
