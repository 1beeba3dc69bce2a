/* anomaly.c: the online anomaly model (anomaly.h), its event bucketer, and the scan of a history
 * that produced its calibration (docs/anomaly.md).
 *
 * Invariants: an observation is scored against the estimates from before it, then learned; a
 * rejected observation changes nothing; the per-observation path neither allocates nor reads a
 * clock; every double operation is in a fixed order, so the same inputs give the same bits. */
#include "noderr/anomaly.h"
#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/clock.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Winsorising: a value further than this many scales from the location is learned as if it
 * were at that distance, so one outlier moves the estimates little while a lasting change of
 * regime is still followed within a few spans. */
#define CLIP_SCALES 4.0
/* The slow estimate's memory is this many spans; a scale never counts as less than SLOW_FLOOR
 * of the slow one, so a quiet spell (a weekend) does not make an ordinary move look enormous. */
#define SLOW_SPANS 15.0
#define SLOW_FLOOR 0.5
/* The move: an exponentially weighted sum of returns with a memory of MOVE_SPAN observations,
 * so a fall spread over several intervals is scored as one. */
#define MOVE_SPAN 8.0

void nd_anomaly_config_default(nd_anomaly_config_t *cfg)
{
    ND_ASSERT(cfg != NULL);
    cfg->interval_ns = 0;
    cfg->window_ns = 30 * ND_NS_PER_DAY;
    cfg->span = 48;
    cfg->warmup = 96;
}

const char *nd_anomaly_input_name(nd_anomaly_input_t input)
{
    switch (input) {
    case ND_ANOMALY_RETURN: return "return";
    case ND_ANOMALY_SPREAD: return "spread";
    case ND_ANOMALY_VOLUME: return "volume";
    case ND_ANOMALY_MSG_RATE: return "msg_rate";
    case ND_ANOMALY_LATENCY: return "latency";
    case ND_ANOMALY_MOVE: return "move";
    case ND_ANOMALY_FAST_MOVE: return "fast_move";
    }
    return "unknown";
}

static const double *tail_table(int input);
static void tail_slopes(const double *t, double slope[]);

nd_err_t nd_anomaly_init(nd_anomaly_t *m, const nd_anomaly_config_t *cfg)
{
    ND_ASSERT(m != NULL && cfg != NULL);
    if (cfg->interval_ns < 0 || cfg->window_ns <= 0 || cfg->span == 0 || cfg->warmup < cfg->span)
        return ND_EINVAL;
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    m->interval_ns = cfg->interval_ns;
    m->_alpha = 1.0 / (double)cfg->span;
    m->_last_ts_ns = INT64_MIN;
    for (int k = 0; k <= ND_ANOMALY_SCORES; k++)
        tail_slopes(tail_table(k), m->_slope[k]);
    m->last.top = -1;
    return ND_OK;
}

/* ---- The calibrated tails ------------------------------------------------------------------
 * Each table is the calm z quantiles `noderr anomaly` prints ("calm z") for the shared
 * history's hourly candles (BTCUSDT, ETHUSDT, BNBUSDT, SOLUSDT -1h.csv, 2020-2023, every known
 * event's wider span left out; docs/anomaly.md "Calibration"): z[i] is exceeded by a share
 * 10^-(i+1) of the calm observations. Below z[0] the tail runs linearly in log q from q = 1 at
 * z = 0; between and beyond the points it is a power law (linear in log z, log q), the last
 * segment's slope carrying on: heavy tails are extrapolated heavy, never Gaussian. The spread,
 * message-rate and latency inputs have no calm history in the shared data: they use the volume
 * table (a log-scale activity measure scored the same way) until recordings calibrate them. */
#define TAIL_POINTS 4
static const double tail_return[TAIL_POINTS] = {2.241, 5.462, 11.866, 22.452};
static const double tail_volume[TAIL_POINTS] = {1.679, 3.533, 5.328, 7.098};
static const double tail_move[TAIL_POINTS] = {2.248, 4.885, 8.960, 16.700};
/* The second stage: the evidence of an observation is the sum over its scored inputs of
 * -log10 q(z); its own calm quantiles (10^-1 .. 10^-4, same history) make the combined tail, so
 * inputs that move together (a large return, a large move and a volume spike at once) count as
 * one piece of evidence as often as they do on calm days, not as independent ones. */
static const double tail_evidence[TAIL_POINTS] = {2.670, 5.474, 8.359, 10.968};

static const double *tail_table(int input)
{
    return input == ND_ANOMALY_RETURN ? tail_return
           : input == ND_ANOMALY_MOVE ? tail_move
           : input == ND_ANOMALY_SCORES ? tail_evidence
                                        : tail_volume;
}

/* The slope of each segment of table t: decades of q per unit of ln z. */
static void tail_slopes(const double *t, double slope[])
{
    for (int i = 0; i + 1 < TAIL_POINTS; i++)
        slope[i] = -1.0 / log(t[i + 1] / t[i]);
}

/* log10 of the tail share at z of table t with its slopes (see above): one log at most. */
static double tail_log10(const double *t, const double *slope, double z)
{
    if (!(z > 0.0))
        return 0.0;
    if (z <= t[0])
        return -z / t[0];
    int i = 0;
    while (i + 2 < TAIL_POINTS && z > t[i + 1])
        i++;
    /* log10 q runs from -(i+1) at t[i] to -(i+2) at t[i+1], linear in ln z. */
    return -(double)(i + 1) + slope[i] * log(z / t[i]);
}

static double tail_at(const double *t, double z)
{
    double slope[TAIL_POINTS - 1];
    tail_slopes(t, slope);
    return pow(10.0, tail_log10(t, slope, z));
}

double nd_anomaly_tail(nd_anomaly_input_t input, double z)
{
    ND_ASSERT((int)input >= 0 && input < ND_ANOMALY_SCORES);
    return tail_at(tail_table(input), z);
}

double nd_anomaly_evidence_tail(double evidence)
{
    return tail_at(tail_evidence, evidence);
}

/* ---- The model ------------------------------------------------------------------------------ */

/* Returns and the move are scored by size against their mean absolute size (location 0); the
 * other inputs on a log scale, upwards only, against their mean absolute deviation. */
static bool by_size(int k)
{
    return k == ND_ANOMALY_RETURN || k == ND_ANOMALY_MOVE;
}

static bool value_ok(int k, double v)
{
    if (!isfinite(v))
        return false;
    return k == ND_ANOMALY_RETURN || v > 0.0;
}

/* The robust z of x against est (before learning x); 0 while the scale is unknown. */
static double z_of(const nd__anomaly_est_t *est, double x)
{
    double scale = est->scale > SLOW_FLOOR * est->slow ? est->scale : SLOW_FLOOR * est->slow;
    if (!(scale > 0.0))
        return 0.0;
    double z = (x - est->loc) / scale;
    return z > 0.0 ? z : 0.0;
}

/* Learns x: an average of everything while fewer than a memory's worth of values were seen (so
 * the first ones are not over-weighted), then exponentially weighted; winsorised once a scale
 * exists. */
static void learn(int k, nd__anomaly_est_t *est, double alpha, double x)
{
    est->n++;
    double inv_n = 1.0 / (double)est->n;
    double a = inv_n > alpha ? inv_n : alpha;
    double a_slow = inv_n > alpha / SLOW_SPANS ? inv_n : alpha / SLOW_SPANS;
    if (est->scale > 0.0) {
        double lo = est->loc - CLIP_SCALES * est->scale, hi = est->loc + CLIP_SCALES * est->scale;
        x = x < lo ? lo : x > hi ? hi : x;
    }
    double dev;
    if (by_size(k)) {
        dev = x;
    } else if (est->n == 1) {
        est->loc = x;
        return;
    } else {
        dev = fabs(x - est->loc);
        est->loc += a * (x - est->loc);
    }
    est->scale += a * (dev - est->scale);
    est->slow += a_slow * (dev - est->slow);
}

static int64_t saturate_e6(double v)
{
    double s = v * 1e6;
    if (!(s < 9.0e18 && s > -9.0e18))
        return s > 0 ? INT64_MAX : INT64_MIN;
    return (int64_t)llround(s);
}

/* Scores then learns one value of score slot k; returns log10 of its tail share, 1 when not
 * scored. */
static double score_one(nd_anomaly_t *m, nd_anomaly_score_t *s, int k, double value)
{
    nd__anomaly_est_t *est = &m->_est[k];
    double x = by_size(k) ? fabs(value) : log(value);
    double lq = 1.0;
    s->value_e6[k] = saturate_e6(value);
    if (est->n >= m->cfg.warmup && est->scale > 0.0) {
        double z = z_of(est, x);
        lq = tail_log10(tail_table(k), m->_slope[k], z);
        s->scored |= 1u << k;
        s->z_e3[k] = (int64_t)llround(z * 1000.0);
    }
    learn(k, est, m->_alpha, x);
    return lq;
}

/* The evidence: the sum of the EVIDENCE_TERMS largest -log10 q over the scored inputs. The
 * evidence table was calibrated on bars, which score three (return, move, volume); a live feed
 * scoring more would otherwise add evidence on every calm observation. */
#define EVIDENCE_TERMS 3
static double evidence_of(const double lq[ND_ANOMALY_SCORES])
{
    double top[EVIDENCE_TERMS] = {0.0, 0.0, 0.0};
    for (int k = 0; k < ND_ANOMALY_SCORES; k++) {
        if (lq[k] > 0.5)
            continue; /* not scored */
        double e = -lq[k];
        for (int i = 0; i < EVIDENCE_TERMS; i++) {
            if (e > top[i]) {
                double t = top[i];
                top[i] = e;
                e = t;
            }
        }
    }
    double sum = 0.0;
    for (int i = 0; i < EVIDENCE_TERMS; i++)
        sum += top[i];
    return sum;
}

static void learn_interval(nd_anomaly_t *m, int64_t ts)
{
    if (m->cfg.interval_ns == 0 && m->_last_ts_ns != INT64_MIN && ts > m->_last_ts_ns &&
        (m->interval_ns == 0 || ts - m->_last_ts_ns < m->interval_ns))
        m->interval_ns = ts - m->_last_ts_ns;
    m->_last_ts_ns = ts;
}

nd_err_t nd_anomaly_observe(nd_anomaly_t *m, const nd_anomaly_obs_t *obs, nd_anomaly_score_t *out)
{
    ND_ASSERT(m != NULL && obs != NULL);
    if (obs->ts_ns < m->_last_ts_ns)
        return ND_EINVAL;
    for (int k = 0; k < ND_ANOMALY_INPUTS; k++)
        if ((obs->present & (1u << k)) && !value_ok(k, obs->value[k]))
            return ND_EINVAL;
    learn_interval(m, obs->ts_ns);
    m->observations++;
    nd_anomaly_score_t s;
    memset(&s, 0, sizeof s);
    s.ts_ns = obs->ts_ns;
    s.present = obs->present & ((1u << ND_ANOMALY_INPUTS) - 1);
    s.top = -1;
    double lq_min = 1.0, lq[ND_ANOMALY_SCORES];
    for (int k = 0; k < ND_ANOMALY_SCORES; k++) {
        lq[k] = 1.0;
        if (k == ND_ANOMALY_MOVE && (s.present & (1u << ND_ANOMALY_RETURN))) {
            m->_move += (obs->value[ND_ANOMALY_RETURN] - m->_move) / MOVE_SPAN;
            lq[k] = score_one(m, &s, k, m->_move * MOVE_SPAN);
        } else if (k < ND_ANOMALY_INPUTS && (s.present & (1u << k))) {
            lq[k] = score_one(m, &s, k, obs->value[k]);
        }
        if (lq[k] > 0.5)
            continue;
        if (lq[k] < lq_min) {
            lq_min = lq[k];
            s.top = k;
        }
    }
    double evidence = evidence_of(lq);
    s.warm = s.scored != 0;
    s.evidence_e3 = (int64_t)llround(evidence * 1000.0);
    if (s.warm && m->interval_ns > 0) {
        double per_window = (double)m->cfg.window_ns / (double)m->interval_ns;
        double q = pow(10.0, tail_log10(tail_evidence, m->_slope[ND_ANOMALY_SCORES], evidence));
        double c = exp(-per_window * q);
        int64_t c_e6 = (int64_t)floor(c * 1e6);
        s.confidence_e6 = c_e6 < 0 ? 0 : c_e6 > 1000000 ? 1000000 : c_e6;
    }
    m->last = s;
    if (out)
        *out = s;
    return ND_OK;
}

/* ---- Observations from market data --------------------------------------------------------- */

static int64_t pow10_i64(int d)
{
    int64_t v = 1;
    for (int i = 0; i < d; i++)
        v *= 10;
    return v;
}

nd_err_t nd_anomaly_bucket_init(nd_anomaly_bucket_t *b, int64_t interval_ns,
                                const nd_instrument_t *inst)
{
    ND_ASSERT(b != NULL && inst != NULL);
    if (interval_ns <= 0 || inst->qty_decimals < 0 || inst->qty_decimals > 18)
        return ND_EINVAL;
    memset(b, 0, sizeof *b);
    b->interval_ns = interval_ns;
    b->qty_scale = pow10_i64(inst->qty_decimals);
    return ND_OK;
}

/* The open bucket as an observation; false when it saw nothing. Starts the next bucket. */
static bool bucket_close(nd_anomaly_bucket_t *b, nd_anomaly_obs_t *out)
{
    if (b->open.messages == 0)
        return false;
    memset(out, 0, sizeof *out);
    out->ts_ns = b->end_ns;
    int64_t close2 = b->open.last_px > 0 ? 2 * b->open.last_px : b->last_mid2;
    if (close2 > 0 && b->prev_px2 > 0) {
        out->present |= 1u << ND_ANOMALY_RETURN;
        out->value[ND_ANOMALY_RETURN] = log((double)close2 / (double)b->prev_px2);
    }
    if (b->open.quotes > 0 && b->open.spread_sum_bps > 0.0) {
        out->present |= 1u << ND_ANOMALY_SPREAD;
        out->value[ND_ANOMALY_SPREAD] = b->open.spread_sum_bps / (double)b->open.quotes;
    }
    if (b->open.volume > 0) {
        out->present |= 1u << ND_ANOMALY_VOLUME;
        out->value[ND_ANOMALY_VOLUME] = (double)b->open.volume / (double)b->qty_scale;
    }
    out->present |= 1u << ND_ANOMALY_MSG_RATE;
    out->value[ND_ANOMALY_MSG_RATE] = (double)b->open.messages * 1e9 / (double)b->interval_ns;
    if (close2 > 0)
        b->prev_px2 = close2;
    b->open = (nd_anomaly_tally_t){0};
    return true;
}

bool nd_anomaly_bucket_push(nd_anomaly_bucket_t *b, const nd_market_event_t *ev,
                            nd_anomaly_obs_t *out)
{
    ND_ASSERT(b != NULL && ev != NULL && out != NULL);
    int64_t ts = nd_market_event_ts(ev);
    bool closed = false;
    if (b->end_ns == 0 || ts >= b->end_ns) {
        if (b->end_ns != 0)
            closed = bucket_close(b, out);
        int64_t k = ts >= 0 ? ts / b->interval_ns : (ts - b->interval_ns + 1) / b->interval_ns;
        b->end_ns = (k + 1) * b->interval_ns;
    }
    b->open.messages++;
    if (ev->kind == ND_MARKET_TRADE) {
        b->open.last_px = ev->u.trade.px;
        b->open.volume += ev->u.trade.qty;
    } else if (ev->kind == ND_MARKET_QUOTE) {
        nd_anomaly_bucket_top(b, ev->u.quote.bid_px, ev->u.quote.ask_px);
    }
    return closed;
}

void nd_anomaly_bucket_top(nd_anomaly_bucket_t *b, int64_t bid_px, int64_t ask_px)
{
    ND_ASSERT(b != NULL);
    if (bid_px <= 0 || ask_px <= bid_px)
        return;
    b->last_mid2 = bid_px + ask_px;
    b->open.spread_sum_bps += (double)(ask_px - bid_px) * 2e4 / (double)b->last_mid2;
    b->open.quotes++;
}

void nd_anomaly_obs_from_bar(const nd_bar_t *bar, int64_t prev_close, const nd_instrument_t *inst,
                             nd_anomaly_obs_t *out)
{
    ND_ASSERT(bar != NULL && inst != NULL && out != NULL);
    memset(out, 0, sizeof *out);
    out->ts_ns = bar->ts_ns;
    if (prev_close > 0 && bar->close > 0) {
        out->present |= 1u << ND_ANOMALY_RETURN;
        out->value[ND_ANOMALY_RETURN] = log((double)bar->close / (double)prev_close);
    }
    if (bar->volume > 0) {
        out->present |= 1u << ND_ANOMALY_VOLUME;
        out->value[ND_ANOMALY_VOLUME] =
            (double)bar->volume / (double)pow10_i64(inst->qty_decimals);
    }
}

/* ---- The fast-move rule (anomaly.h) --------------------------------------------------------- */

#define FAST_RING (ND_ANOMALY_FAST_SLOTS + 1)

nd_err_t nd_anomaly_fast_init(nd_anomaly_fast_t *f, int64_t window_ns, int64_t move_e6)
{
    ND_ASSERT(f != NULL);
    if (window_ns < ND_ANOMALY_FAST_SLOTS || move_e6 <= 0 || move_e6 >= 1000000)
        return ND_EINVAL;
    memset(f, 0, sizeof *f);
    f->window_ns = window_ns;
    f->move_e6 = move_e6;
    /* Rounded up, so that the slots kept (the open one and ND_ANOMALY_FAST_SLOTS before it)
     * always reach back at least a window. */
    f->slot_ns = (window_ns + ND_ANOMALY_FAST_SLOTS - 1) / ND_ANOMALY_FAST_SLOTS;
    f->_slot = INT64_MIN;
    for (int i = 0; i < FAST_RING; i++)
        f->_no[i] = INT64_MIN;
    return ND_OK;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : (a - b + 1) / b;
}

/* Opens slot k at px: slots older than k - ND_ANOMALY_FAST_SLOTS leave the window, whose
 * extremes are taken again from those left. O(slots), once a slot. */
static void fast_open(nd_anomaly_fast_t *f, int64_t k, int64_t px)
{
    int idx = (int)(((k % FAST_RING) + FAST_RING) % FAST_RING);
    f->_no[idx] = k;
    f->_hi_px[idx] = px;
    f->_lo_px[idx] = px;
    f->_slot = k;
    f->_hi = px;
    f->_lo = px;
    for (int i = 0; i < FAST_RING; i++) {
        if (f->_no[i] == INT64_MIN || f->_no[i] < k - ND_ANOMALY_FAST_SLOTS)
            continue;
        f->_hi = f->_hi_px[i] > f->_hi ? f->_hi_px[i] : f->_hi;
        f->_lo = f->_lo_px[i] < f->_lo ? f->_lo_px[i] : f->_lo;
    }
}

int64_t nd_anomaly_fast_last_move_e6(const nd_anomaly_fast_t *f)
{
    if (f->_last_px <= 0)
        return 0;
    /* Floored shares of the window's high (a fall) and low (a rise) at the last price. */
    int64_t fall_e6 =
        (int64_t)((__int128)(f->_last_hi - f->_last_px) * 1000000 / f->_last_hi);
    __int128 rise = (__int128)(f->_last_px - f->_last_lo) * 1000000 / f->_last_lo;
    int64_t rise_e6 = rise > 1000000000000 ? 1000000000000 : (int64_t)rise; /* x 10^6 at most */
    return rise_e6 > fall_e6 ? rise_e6 : -fall_e6;
}

bool nd_anomaly_fast_push(nd_anomaly_fast_t *f, int64_t ts_ns, int64_t px, int64_t *move_e6_out)
{
    ND_ASSERT(f != NULL);
    ND_ASSERT(f->slot_ns > 0);
    if (px <= 0)
        return false;
    int64_t k = floor_div(ts_ns, f->slot_ns);
    if (f->_slot != INT64_MIN && k < f->_slot)
        k = f->_slot; /* a time before the last one counts as the last one */
    if (k != f->_slot) {
        fast_open(f, k, px);
    } else {
        int idx = (int)(((k % FAST_RING) + FAST_RING) % FAST_RING);
        ND_ASSERT(f->_no[idx] == k);
        f->_hi_px[idx] = px > f->_hi_px[idx] ? px : f->_hi_px[idx];
        f->_lo_px[idx] = px < f->_lo_px[idx] ? px : f->_lo_px[idx];
        f->_hi = px > f->_hi ? px : f->_hi;
        f->_lo = px < f->_lo ? px : f->_lo;
    }
    ND_ASSERT(f->_lo > 0 && f->_lo <= px && px <= f->_hi);
    f->_last_px = px;
    f->_last_hi = f->_hi;
    f->_last_lo = f->_lo;
    /* Exact: a fall of at least move_e6 of the high is (hi - px) * 10^6 >= move_e6 * hi, a
     * rise likewise from the low; multiplications only, the share is divided out on firing. */
    if ((__int128)(f->_hi - px) * 1000000 < (__int128)f->move_e6 * f->_hi &&
        (__int128)(px - f->_lo) * 1000000 < (__int128)f->move_e6 * f->_lo)
        return false;
    f->fired++;
    if (move_e6_out)
        *move_e6_out = nd_anomaly_fast_last_move_e6(f);
    /* Start again from this price: the move is counted once. */
    for (int i = 0; i < FAST_RING; i++)
        f->_no[i] = INT64_MIN;
    fast_open(f, k, px);
    return true;
}
