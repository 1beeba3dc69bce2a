/* risk.h: pre-trade checks, circuit breakers and the kill switch.
 *
 * Pre-trade: every order a strategy sends passes nd_risk_check_order, which returns
 * ND_REJECT_NONE or the reason it is refused (maximum position as a share of equity, maximum
 * order notional, price collar around the last price, order rate, halted). Breakers: the engine
 * reports equity after every mark through nd_risk_on_equity; a drawdown from the equity peak at
 * or beyond max_drawdown, or a loss within one UTC day at or beyond daily_loss (measured from the
 * day's opening equity), trips a breaker: trading halts (no order is accepted) and the engine
 * flattens positions and owns them until they are flat. When a drawdown or daily-loss halt lifts
 * by itself is the breaker's reset policy (nd_breaker_reset_t): never (an operator releases it),
 * at the next UTC midnight, or a fixed time after the trip. Backtest defaults: drawdown never,
 * daily loss next-day; live sessions default to never for both. The kill switch and a
 * data-integrity halt never lift by themselves; an anomaly halt (the anomaly-confidence
 * breaker, anomaly.h) lifts by its own policy, never by default. Every trip is recorded with
 * its time, measured value and threshold (data integrity and anomaly: with their inputs).
 *
 * Percentages are integers in hundredths of a percent (_pct_e2: 1200 = 12%); 0 switches a
 * check off. Equity is passed in any exact integer scale (the portfolio's extended scale) plus
 * a divisor to cash units for the record. Comparisons are exact: a breaker trips when
 *   (peak - equity) * 10000 >= threshold_e2 * peak. */
#ifndef NODERR_RISK_H
#define NODERR_RISK_H

#include "noderr/anomaly.h"
#include "noderr/err.h"
#include "noderr/limits.h"
#include "noderr/market.h"
#include "noderr/order.h"

#include <stdbool.h>
#include <stdint.h>

/* When a drawdown or daily-loss halt lifts without an operator. */
typedef enum nd_breaker_reset_kind {
    ND_BREAKER_RESET_NEVER = 0,    /* only an operator's release (nd_risk_release) */
    ND_BREAKER_RESET_NEXT_DAY = 1, /* at the first UTC midnight after the trip */
    ND_BREAKER_RESET_AFTER = 2     /* after_ns after the trip */
} nd_breaker_reset_kind_t;

typedef struct nd_breaker_reset {
    nd_breaker_reset_kind_t kind;
    int64_t after_ns;              /* ND_BREAKER_RESET_AFTER: > 0 */
} nd_breaker_reset_t;

typedef struct nd_risk_config {
    int64_t max_position_pct_e2;  /* |position value| after the order <= this share of equity */
    int64_t max_order_notional;   /* cash units; 0 = off */
    int64_t price_collar_pct_e2;  /* limit/stop price within this distance of the last price */
    int64_t orders_per_sec_max;   /* orders per second of engine time; 0 = off */
    int64_t max_drawdown_pct_e2;  /* drawdown breaker */
    int64_t daily_loss_pct_e2;    /* daily loss breaker */
    nd_breaker_reset_t drawdown_reset;   /* default never */
    nd_breaker_reset_t daily_loss_reset; /* default next-day */
    /* The anomaly-confidence breaker (anomaly.h, docs/anomaly.md): trips when the model's
     * confidence, in millionths, is >= this; 0 = off (the backtest default). */
    int64_t anomaly_threshold_e6;
    nd_breaker_reset_t anomaly_reset;    /* default never, like data integrity */
    /* The anomaly breaker's fast-move rule (anomaly.h nd_anomaly_fast_t): a price move of at
     * least this share (millionths; 0 = off, the backtest default) within fast_move_window_ns
     * trips the anomaly breaker at once. Only while the breaker is on (threshold > 0) and fed
     * by market events (not bars). Sessions: 10% within 5 minutes. */
    int64_t fast_move_e6;
    int64_t fast_move_window_ns;
} nd_risk_config_t;

/* Defaults: position 25%, order notional off, collar 10%, 50 orders/s, drawdown 12%, daily 5%,
 * drawdown halts until released, daily-loss halts until the next UTC midnight, the anomaly
 * breaker off (its fast-move rule too; window 5 minutes). */
void nd_risk_config_default(nd_risk_config_t *cfg);

/* The anomaly threshold of paper and live sessions: the mission's "80% confidence". */
#define ND_ANOMALY_THRESHOLD_LIVE_E6 800000
/* The fast-move rule of paper and live sessions: 10% within 5 minutes (docs/anomaly.md). */
#define ND_FAST_MOVE_LIVE_E6 100000
#define ND_FAST_MOVE_WINDOW_NS (300LL * 1000000000LL) /* 5 minutes */
/* The defaults of paper and live sessions: as nd_risk_config_default, but every halt waits for
 * an operator (drawdown and daily loss never lift by themselves) and the anomaly breaker is on
 * at ND_ANOMALY_THRESHOLD_LIVE_E6 with the fast-move rule at ND_FAST_MOVE_LIVE_E6
 * (docs/anomaly.md). */
void nd_risk_config_live(nd_risk_config_t *cfg);

/* Parses a reset policy: "never", "next-day" or "after:DURATION" (nd_span_parse: m, h, d or w,
 * e.g. "after:6h"). ND_EPARSE or ND_ERANGE with why in err. */
nd_err_t nd_breaker_reset_parse(const char *text, nd_breaker_reset_t *out /* OUT */, char *err,
                                size_t err_len);
/* Sets the reset policies from an option value: one policy for both breakers ("never"), or
 * "drawdown=P,daily-loss=P,anomaly=P" (any of them; the anomaly breaker's policy is set only
 * by name). ND_EPARSE with why in err; cfg is unchanged then. */
nd_err_t nd_risk_config_set_reset(nd_risk_config_t *cfg, const char *spec, char *err,
                                  size_t err_len);
/* Writes the policy as nd_breaker_reset_parse reads it ("never", "next-day", "after:6h"). */
void nd_breaker_reset_format(const nd_breaker_reset_t *policy, char *buf, size_t cap);

typedef enum nd_breaker_kind {
    ND_BREAKER_DRAWDOWN = 1,
    ND_BREAKER_DAILY_LOSS = 2,
    ND_BREAKER_KILL_SWITCH = 3,
    ND_BREAKER_DATA_INTEGRITY = 4, /* market data can no longer be trusted (reference price) */
    ND_BREAKER_ANOMALY = 5         /* the anomaly model's confidence reached its threshold */
} nd_breaker_kind_t;

const char *nd_breaker_kind_name(nd_breaker_kind_t kind); /* "drawdown", "daily_loss", ... */

/* What made a data-integrity trip (feed_monitor.h measures the first three). */
typedef enum nd_integrity_input {
    ND_INTEGRITY_UNSPECIFIED = 0,     /* the caller did not say */
    ND_INTEGRITY_STALE = 1,           /* a feed without an update for longer than its bound */
    ND_INTEGRITY_SEQ_GAP = 2,         /* a sequence gap not recovered within its bound */
    ND_INTEGRITY_REFPRICE = 3,        /* the reference price is HALT: a source strays (refprice.h) */
    ND_INTEGRITY_REFPRICE_SOURCES = 4, /* the reference price is HALT: too few fresh sources */
    ND_INTEGRITY_PRICE_JUMP = 5       /* a trade print farther from the last one than its bound */
} nd_integrity_input_t;

/* "unspecified", "stale", "seq_gap", "refprice", "refprice_sources". */
const char *nd_integrity_input_name(nd_integrity_input_t input);

/* When a halt of this kind that tripped at trip_ns lifts by itself under cfg: INT64_MAX for never
 * (an operator must release it). The one statement of the reset rule: the engine and the
 * validator both use it. */
int64_t nd_risk_halt_end_ns(const nd_risk_config_t *cfg, nd_breaker_kind_t kind, int64_t trip_ns);

/* The inputs behind a data-integrity or anomaly trip. */
typedef struct nd_breaker_detail {
    uint32_t input;        /* data integrity: nd_integrity_input_t; anomaly: the top score
                              (nd_anomaly_input_t) */
    uint32_t scored;       /* anomaly: the scores that took part (bit per nd_anomaly_input_t) */
    uint32_t instrument_id; /* anomaly: whose model */
    int32_t z_e3[ND_ANOMALY_SCORES];     /* anomaly: each score's robust z x 1000 (saturated) */
    int64_t value_e6[ND_ANOMALY_SCORES]; /* anomaly: each input x 10^6 (anomaly.h) */
    int64_t evidence_e3;   /* anomaly: the evidence x 1000 */
} nd_breaker_detail_t;

typedef struct nd_breaker_event {
    nd_breaker_kind_t kind;
    int64_t ts_ns;
    int64_t equity;        /* cash units at the trip */
    int64_t reference;     /* cash units: the peak (drawdown) or the day's opening equity */
    int64_t measured_e6;   /* measured loss share in millionths (123456 = 12.3456%); data
                              integrity: the caller's measure; anomaly: the confidence */
    int64_t threshold_pct_e2; /* anomaly: the threshold in hundredths of a percent, rounded down */
    nd_breaker_detail_t detail; /* data integrity and anomaly; zero for the others */
} nd_breaker_event_t;

/* What the engine knows when it asks about an order. */
typedef struct nd_risk_view {
    int64_t now_ns;
    int64_t last_px;        /* last price of the order's instrument, price units; 0 = none */
    int64_t net_qty;        /* current net position on the instrument, quantity units */
    int64_t pending_qty;    /* what working orders on the order's side would still add to it
                               (all strategies), quantity units, >= 0 */
    int64_t equity;         /* cash units */
} nd_risk_view_t;

typedef struct nd_risk {
    nd_risk_config_t cfg;
    /* read-only state */
    bool halted;
    nd_breaker_kind_t halt_kind;
    int64_t halt_end_ns;      /* when the current halt lifts by itself; INT64_MAX: never */
    int64_t halted_since_ns;  /* the trip that began the current halt */
    bool kill_switch;
    int64_t trips;            /* all trips, also those beyond the kept events */
    uint32_t event_count;     /* kept events (at most ND_BREAKER_EVENTS_MAX) */
    nd_breaker_event_t events[ND_BREAKER_EVENTS_MAX];
    int64_t rejects[ND_REJECT_SLOTS]; /* counts per nd_reject_t */
    /* private */
    __int128 _peak;
    __int128 _day_open;
    __int128 _last_equity;
    int64_t _day_end_ns;
    int64_t _ext_per_cash;
    bool _started;
    int64_t _rate_ring[1024];
    uint32_t _rate_head, _rate_count;
} nd_risk_t;

/* Initialises risk state; ND_EINVAL on a negative limit or a rate above 1024 per second.
 * ext_per_cash converts the equity scale given to nd_risk_on_equity into cash units. */
nd_err_t nd_risk_init(nd_risk_t *r, const nd_risk_config_t *cfg, int64_t ext_per_cash);

/* Pre-trade check of a NEW order on inst; counts the reject by reason. A passing order is
 * counted against the rate limit. O(1). */
nd_reject_t nd_risk_check_order(nd_risk_t *r, const nd_instrument_t *inst, const nd_order_t *o,
                                const nd_risk_view_t *view);

/* Reports equity (exact, extended scale) at now_ns. Returns true when a breaker tripped on
 * this call (then r->events[r->event_count - 1] describes it, when kept). First lifts a
 * drawdown or daily-loss halt whose reset time has come (a lifted drawdown's peak restarts at
 * this equity, as after a release, and so does the day's reference when an after: policy
 * lifts a daily-loss halt). O(1). */
bool nd_risk_on_equity(nd_risk_t *r, int64_t now_ns, __int128 equity_ext);

/* The manual kill switch: halts at once and stays halted until released. Recorded as a trip. */
void nd_risk_kill(nd_risk_t *r, int64_t now_ns, __int128 equity_ext);
/* A data-integrity failure (too few fresh price sources, a source far from the others — see
 * refprice.h): halts like the kill switch and stays until an operator releases it, because a
 * trading decision on bad prices is worse than no decision. Recorded as a trip whose measured
 * value is the failing detail the caller passes (e.g. the largest deviation in bps x 100). */
void nd_risk_data_integrity_fail(nd_risk_t *r, int64_t now_ns, __int128 equity_ext,
                                 int64_t measured_e6);
/* The same, saying which input failed (recorded in the trip's detail). */
void nd_risk_data_integrity_fail_input(nd_risk_t *r, int64_t now_ns, __int128 equity_ext,
                                       nd_integrity_input_t input, int64_t measured_e6);
/* The anomaly breaker: a score of instrument_id's model. Trips (true) when cfg
 * anomaly_threshold_e6 > 0, the score's confidence is >= it and no anomaly halt is in force;
 * the trip records the confidence as measured_e6 and the score's inputs and z scores in its
 * detail. The halt lifts by cfg.anomaly_reset (default never: an operator releases it). O(1). */
bool nd_risk_anomaly(nd_risk_t *r, int64_t now_ns, __int128 equity_ext, uint32_t instrument_id,
                     const nd_anomaly_score_t *score);
/* The anomaly breaker's fast-move rule fired on instrument_id (nd_anomaly_fast_push gave
 * move_e6): trips (true) when cfg.anomaly_threshold_e6 > 0, cfg.fast_move_e6 > 0 and no
 * anomaly halt is in force, as nd_risk_anomaly does with a certain score: measured_e6 (the
 * confidence) 1000000, top input ND_ANOMALY_FAST_MOVE, and in the return input's slot the move
 * (value_e6, signed) and the move in units of the rule's threshold (z_e3 = 1000 x move /
 * fast_move_e6). The rule is not a probability; the reason it counts as certain is that it
 * fires only on moves its calm history bounds (docs/anomaly.md). O(1). */
bool nd_risk_fast_move(nd_risk_t *r, int64_t now_ns, __int128 equity_ext, uint32_t instrument_id,
                       int64_t move_e6);
/* Releases the kill switch and a drawdown halt (an operator action); the peak restarts at the
 * current equity on the next report. */
void nd_risk_release(nd_risk_t *r);

/* The drawdown from the equity peak at the last equity report, in millionths of the peak
 * ([0, 1000000]; 0 before the first report): what the drawdown breaker compares with
 * cfg.max_drawdown_pct_e2 (monitoring shows how near it is). O(1). */
int64_t nd_risk_drawdown_e6(const nd_risk_t *r);

#endif
