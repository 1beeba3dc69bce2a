/* anomaly.h: the online anomaly model behind the anomaly-confidence breaker (docs/anomaly.md).
 *
 * The model is fed one observation at a time, what a live session sees over one interval (a bar,
 * or a bucket of market events): the log return, the spread in bps, the traded volume, the
 * message rate and the feed latency (receive time minus venue time). Every input is optional (a
 * bar backtest has no spread or latency). For each input the model keeps a robust running
 * location and scale (exponentially weighted, winsorised so one outlier moves them little), turns
 * the new value into a robust z score against the estimates from BEFORE it (scored, then
 * learned), and looks the z score up in a tail table calibrated on the calm part of the shared
 * history: q(z), the share of calm observations at least that extreme. The confidence that the
 * market or the feed is anomalous is
 *
 *     confidence = exp(-(window / interval) * sum over warm inputs of q(z))
 *
 * the probability that a calm stretch of `window` (30 days by default) would NOT hold an
 * observation this extreme. So at a threshold p, a calm market trips about -ln(p) times per
 * window (0.80: 0.22 per 30 days, 0.31 per 1,000 hours) when the tables hold; the measured
 * figures on the shared history are in docs/anomaly.md and checked by tests/unit/test_anomaly.c.
 *
 * Doubles are used inside (this is not the order or accounting path); the confidence leaves as an
 * integer in millionths, floored, so a comparison with a threshold is exact. Same inputs, same
 * bits: no randomness, no clock, no allocation after init (the model lives in its struct), O(1)
 * per observation. An input takes part once it has been seen more than `warmup` times; before any
 * input is warm the confidence is 0, so nothing trips during the warm-up. */
#ifndef NODERR_ANOMALY_H
#define NODERR_ANOMALY_H

#include "noderr/err.h"
#include "noderr/market.h"
#include "noderr/ticks.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The inputs; bit (1u << input) in a presence mask. */
typedef enum nd_anomaly_input {
    ND_ANOMALY_RETURN = 0,   /* log return over the interval; |r| is scored */
    ND_ANOMALY_SPREAD = 1,   /* bid-ask spread in bps; a wide spread is scored */
    ND_ANOMALY_VOLUME = 2,   /* traded base quantity over the interval; a spike is scored */
    ND_ANOMALY_MSG_RATE = 3, /* market messages per second; a burst is scored */
    ND_ANOMALY_LATENCY = 4,  /* receive minus venue time, microseconds; a rise is scored */
    ND_ANOMALY_INPUTS = 5,
    /* Scored but not given: the move, an exponentially weighted sum of the returns (a memory of
     * 8 observations), so a fall spread over several intervals is scored as one. */
    ND_ANOMALY_MOVE = 5,
    ND_ANOMALY_SCORES = 6,
    /* Not a score of the model: the fast-move rule (nd_anomaly_fast_t), named as the top input
     * of the trips it causes. */
    ND_ANOMALY_FAST_MOVE = 6
} nd_anomaly_input_t;

/* "return", "spread", "volume", "msg_rate", "latency", "move", "fast_move". */
const char *nd_anomaly_input_name(nd_anomaly_input_t input);

/* One observation. value[k] counts only when bit k of present is set; volume, spread, message
 * rate and latency must then be > 0 (a zero is not scored: the input is absent that time). */
typedef struct nd_anomaly_obs {
    int64_t ts_ns;                     /* end of the interval; non-decreasing */
    uint32_t present;                  /* mask of 1u << nd_anomaly_input_t */
    double value[ND_ANOMALY_INPUTS];   /* in the units above */
} nd_anomaly_obs_t;

typedef struct nd_anomaly_config {
    int64_t interval_ns; /* spacing of the observations; 0: the smallest gap seen (bars) */
    int64_t window_ns;   /* the calm reference window of the confidence: 30 days */
    uint32_t span;       /* memory of the running estimates, in observations: 48 */
    uint32_t warmup;     /* observations of an input before it is scored: 96 (> span) */
} nd_anomaly_config_t;

/* The defaults above (interval 0 = learned). */
void nd_anomaly_config_default(nd_anomaly_config_t *cfg);

/* What one observation scored: the confidence, and per input its value and z score. */
typedef struct nd_anomaly_score {
    int64_t ts_ns;
    int64_t confidence_e6;             /* [0, 1000000], floored */
    bool warm;                         /* at least one input was scored */
    uint32_t present;                  /* inputs given */
    uint32_t scored;                   /* scores warm and scored (bit per nd_anomaly_input_t) */
    int32_t top;                       /* the score with the smallest q, -1 none */
    int64_t value_e6[ND_ANOMALY_SCORES]; /* the inputs (and the move) x 10^6, rounded, saturated */
    int64_t z_e3[ND_ANOMALY_SCORES];     /* robust z x 1000 (0 when not scored) */
    int64_t evidence_e3;               /* sum of -log10 q(z) over the scored, x 1000 */
} nd_anomaly_score_t;

/* The running state of one input (private). */
typedef struct nd__anomaly_est {
    uint64_t n;     /* observations learned */
    double loc;     /* location of the transformed value (0 for returns and the move) */
    double scale;   /* mean absolute deviation around loc */
    double slow;    /* the same with a 15 times longer memory: the scale's floor */
} nd__anomaly_est_t;

typedef struct nd_anomaly {
    nd_anomaly_config_t cfg;
    /* read-only */
    uint64_t observations;
    nd_anomaly_score_t last;
    int64_t interval_ns;   /* in use: cfg.interval_ns or the smallest gap seen */
    /* private */
    double _alpha;
    int64_t _last_ts_ns;
    double _move;
    nd__anomaly_est_t _est[ND_ANOMALY_SCORES];
    double _slope[ND_ANOMALY_SCORES + 1][3]; /* the tail tables' segment slopes */
} nd_anomaly_t;

/* ND_EINVAL for a negative interval, a window not > 0, span 0 or warmup < span. */
nd_err_t nd_anomaly_init(nd_anomaly_t *m, const nd_anomaly_config_t *cfg);

/* Scores obs against what was learned so far, then learns it. *out (may be NULL) gets the
 * score; m->last holds it too. ND_EINVAL (nothing learned) for a time before the last one, a
 * non-finite value or a non-positive value where one must be > 0. O(1). */
nd_err_t nd_anomaly_observe(nd_anomaly_t *m, const nd_anomaly_obs_t *obs,
                            nd_anomaly_score_t *out /* OUT, may be NULL */);

/* The calibrated tail: the share of calm observations of input whose z score is at least z
 * (1 below the table's first point). Exposed for the tests and the docs. */
double nd_anomaly_tail(nd_anomaly_input_t input, double z);
/* The calibrated tail of the evidence (the sum of -log10 q over an observation's scored inputs):
 * the share of calm observations with at least that much. */
double nd_anomaly_evidence_tail(double evidence);

/* ---- From market events to observations -------------------------------------------------
 * The bucketer the engine and the CLI share: market events of one instrument are cut into
 * buckets [k * interval, (k + 1) * interval); when an event opens a later bucket, the one before
 * becomes an observation: the log return from the previous bucket's last price (a trade's price,
 * or the quote mid when the bucket had no trade), the mean spread of its quotes, the traded
 * quantity, the messages per second. Empty buckets give no observation. */
/* What one bucket saw: its last trade, traded quantity, quotes' spreads and messages. */
typedef struct nd_anomaly_tally {
    int64_t last_px;     /* last trade price in the bucket, price units; 0 none */
    int64_t volume;      /* quantity units */
    double spread_sum_bps;
    uint32_t quotes;
    uint32_t messages;
} nd_anomaly_tally_t;

typedef struct nd_anomaly_bucket {
    int64_t interval_ns;
    int64_t qty_scale;   /* 10^qty_decimals: traded quantity in base units */
    int64_t end_ns;      /* end of the open bucket; 0 before the first event */
    int64_t last_mid2;   /* last quote bid + ask (twice the mid); 0 none */
    int64_t prev_px2;    /* the previous bucket's closing price x 2; 0 none */
    nd_anomaly_tally_t open; /* what the open bucket saw; from zero with each bucket */
} nd_anomaly_bucket_t;

/* ND_EINVAL for interval_ns <= 0. */
nd_err_t nd_anomaly_bucket_init(nd_anomaly_bucket_t *b, int64_t interval_ns,
                                const nd_instrument_t *inst);
/* Adds one market event (trades and quotes count fully; book deltas and status changes count as
 * messages). Returns true when the event closed the bucket before it: *out is then that
 * bucket's observation. The event itself always lands in the open bucket. O(1). */
bool nd_anomaly_bucket_push(nd_anomaly_bucket_t *b, const nd_market_event_t *ev,
                            nd_anomaly_obs_t *out /* OUT */);
/* The top of an L2 book after a complete book event of the open bucket (the event itself went
 * through nd_anomaly_bucket_push first): counted as a quote, so a depth-only stream has a price
 * and a spread. Ignored unless 0 < bid_px < ask_px. O(1). */
void nd_anomaly_bucket_top(nd_anomaly_bucket_t *b, int64_t bid_px, int64_t ask_px);
/* The observation of a bar: the log return from prev_close (0: none) and the volume. */
void nd_anomaly_obs_from_bar(const nd_bar_t *bar, int64_t prev_close, const nd_instrument_t *inst,
                             nd_anomaly_obs_t *out /* OUT */);

/* ---- The fast-move rule ----------------------------------------------------------------
 * The model sees one observation a bucket (15 minutes in a session) and learns its scales over
 * a day of them, so a crash that happens within one bucket is seen at the bucket's end, and a
 * session younger than its warm-up sees nothing. The fast-move rule beside it watches every
 * price: it keeps the highest and lowest price of each slot (window / ND_ANOMALY_FAST_SLOTS) of
 * the last window and fires when a price is at least move_e6 below the window's high, or at
 * least move_e6 above its low (as a share of that high or low: exact integer comparisons,
 * (high - px) * 10^6 >= move_e6 * high). The window reaches back to the start of the slot that
 * was open `window` ago, so every move of move_e6 completed within `window` fires (on the price
 * that completes it), and a move over up to window + window / ND_ANOMALY_FAST_SLOTS may.
 * After firing, the rule starts again from that price (a move is counted once). A rule, not a
 * calibrated probability: its calm false-alarm figures are in docs/anomaly.md ("The fast-move
 * rule"). No warm-up, no allocation, O(1) per price (O(slots) once a slot). */
#define ND_ANOMALY_FAST_SLOTS 60

typedef struct nd_anomaly_fast {
    int64_t window_ns;
    int64_t move_e6;     /* (0, 1000000) */
    int64_t slot_ns;     /* window / ND_ANOMALY_FAST_SLOTS */
    int64_t fired;       /* times the rule fired */
    /* private */
    int64_t _slot;       /* number of the open slot; INT64_MIN before the first price */
    int64_t _hi, _lo;    /* the window's extremes, the open slot included */
    int64_t _last_px, _last_hi, _last_lo; /* the last price and the extremes it was judged by */
    int64_t _no[ND_ANOMALY_FAST_SLOTS + 1], _hi_px[ND_ANOMALY_FAST_SLOTS + 1],
        _lo_px[ND_ANOMALY_FAST_SLOTS + 1];
} nd_anomaly_fast_t;

/* ND_EINVAL unless window_ns >= ND_ANOMALY_FAST_SLOTS and 0 < move_e6 < 1000000. */
nd_err_t nd_anomaly_fast_init(nd_anomaly_fast_t *f, int64_t window_ns, int64_t move_e6);
/* A price (> 0, any integer scale) at ts_ns (a time before the last one counts as the last
 * one). Returns true when it completes a move of move_e6 within the window: *move_e6_out then
 * gets the move (signed, x 10^6: -103000 is a 10.3% fall from the window's high; a rise is
 * capped at 10^12, a million-fold) and the window restarts at px. false and nothing changes for px <= 0. O(1), O(slots) when a slot opens. */
bool nd_anomaly_fast_push(nd_anomaly_fast_t *f, int64_t ts_ns, int64_t px,
                          int64_t *move_e6_out /* OUT, may be NULL */);
/* The last price's move against the window it was judged by, signed (a fall < 0), x 10^6,
 * floored, a rise capped at 10^12; 0 before the first price. Computed when asked: a push only
 * multiplies and compares. */
int64_t nd_anomaly_fast_last_move_e6(const nd_anomaly_fast_t *f);

/* ---- Scoring a history (the CLI and the calibration) ------------------------------------
 * Known crash windows of the shared history, used to split a run into events and calm: each
 * event's own span (when it should trip) and a wider span kept out of "calm" (the days around
 * it). UTC. */
typedef struct nd_anomaly_event_window {
    const char *name;      /* "covid-2020-03-12" */
    int64_t from_ns, to_ns;              /* the event */
    int64_t calm_from_ns, calm_to_ns;    /* not calm */
} nd_anomaly_event_window_t;

const nd_anomaly_event_window_t *nd_anomaly_known_events(size_t *count /* OUT */);

#define ND_ANOMALY_TRIPS_KEPT 64
#define ND_ANOMALY_QUANTILES 6

typedef struct nd_anomaly_trip {
    int64_t ts_ns;
    int64_t confidence_e6;
    int32_t top;          /* the input that dominated */
    int64_t z_e3;         /* its z score */
    bool calm;            /* outside every known event's wider span */
} nd_anomaly_trip_t;

typedef struct nd_anomaly_event_result {
    bool covered;             /* the data holds observations in the event's span */
    int64_t first_trip_ns;    /* 0: no trip in the span */
    int64_t max_confidence_e6;
    int64_t max_ts_ns;
} nd_anomaly_event_result_t;

/* A scored history. Trips are upward crossings of the threshold (a run at or above it counts
 * once), as a breaker that is released once the market calms down would trip. */
typedef struct nd_anomaly_report {
    int64_t threshold_e6;
    int64_t interval_ns;
    int64_t first_ts_ns, last_ts_ns;
    uint64_t observations;
    uint64_t warm;             /* observations with a confidence */
    uint64_t calm;             /* warm observations outside every known event's wider span */
    double calm_hours;         /* calm observations x interval */
    uint64_t trips, calm_trips;
    uint64_t conf_at_least[4]; /* warm observations with confidence >= 0.5, 0.8, 0.9, 0.99 */
    int64_t max_confidence_e6;
    int64_t max_ts_ns;
    size_t trips_kept;
    nd_anomaly_trip_t trip[ND_ANOMALY_TRIPS_KEPT];
    nd_anomaly_event_result_t event[8];  /* per nd_anomaly_known_events() */
    /* Calm z quantiles per input: the z exceeded by a share 10^-1 .. 10^-6 of the calm scored
     * observations (0 where there are too few): where the tail tables come from. */
    uint64_t calm_scored[ND_ANOMALY_SCORES + 1];  /* [ND_ANOMALY_SCORES]: the evidence */
    double quantile[ND_ANOMALY_SCORES + 1][ND_ANOMALY_QUANTILES];
} nd_anomaly_report_t;

/* Scores stream_count streams of observations (one asset each), each from fresh model state
 * (cfg), into one pooled *report: counts and trips add up, an event's first trip is the earliest
 * of any stream, the quantiles pool every stream's calm z scores. Allocates a buffer of z scores
 * for the quantiles (freed before return): ND_ENOMEM; ND_EINVAL with why in err for a bad
 * observation (stream and index). O(n log n). */
nd_err_t nd_anomaly_scan(const nd_anomaly_config_t *cfg, const nd_anomaly_obs_t *const *streams,
                         const size_t *counts, size_t stream_count, int64_t threshold_e6,
                         nd_anomaly_report_t *report /* OUT */, char *err, size_t err_len);

/* Reads a bar file (CSV or kline, one observation per bar: return and volume) or a trade or
 * bookTicker file (cut into buckets of bucket_ns by nd_anomaly_bucket_t; the last, unfinished
 * bucket is dropped) into *out (nd_alloc'd, freed with nd_free; NULL when empty). The instrument's
 * scales come from the file name (market.h). Errors name the file, the line and why in err. */
nd_err_t nd_anomaly_obs_load(const char *path, int64_t bucket_ns, nd_anomaly_obs_t **out /* OUT */,
                             size_t *count /* OUT */, char *err, size_t err_len);

#endif
