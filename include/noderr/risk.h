/* risk.h: pre-trade checks, circuit breakers and the kill switch.
 *
 * Pre-trade: every order a strategy sends passes nd_risk_check_order, which returns
 * ND_REJECT_NONE or the reason it is refused (maximum position as a share of equity, maximum
 * order notional, price collar around the last price, order rate, halted). Breakers: the engine
 * reports equity after every mark through nd_risk_on_equity; a drawdown from the equity peak at
 * or beyond max_drawdown, or a loss within one UTC day at or beyond daily_loss (measured from the
 * day's opening equity), trips a breaker: trading halts (no order is accepted) and the engine
 * flattens positions. A drawdown halt and the kill switch stay until an operator releases them;
 * a daily-loss halt lifts at the next UTC midnight. Every trip is recorded with its time,
 * measured value and threshold.
 *
 * Percentages are integers in hundredths of a percent (_pct_e2: 1200 = 12%); 0 switches a
 * check off. Equity is passed in any exact integer scale (the portfolio's extended scale) plus
 * a divisor to cash units for the record. Comparisons are exact: a breaker trips when
 *   (peak - equity) * 10000 >= threshold_e2 * peak. */
#ifndef NODERR_RISK_H
#define NODERR_RISK_H

#include "noderr/err.h"
#include "noderr/limits.h"
#include "noderr/market.h"
#include "noderr/order.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct nd_risk_config {
    int64_t max_position_pct_e2;  /* |position value| after the order <= this share of equity */
    int64_t max_order_notional;   /* cash units; 0 = off */
    int64_t price_collar_pct_e2;  /* limit/stop price within this distance of the last price */
    int64_t orders_per_sec_max;   /* orders per second of engine time; 0 = off */
    int64_t max_drawdown_pct_e2;  /* drawdown breaker */
    int64_t daily_loss_pct_e2;    /* daily loss breaker */
} nd_risk_config_t;

/* Defaults: position 25%, order notional off, collar 10%, 50 orders/s, drawdown 12%, daily 5%. */
void nd_risk_config_default(nd_risk_config_t *cfg);

typedef enum nd_breaker_kind {
    ND_BREAKER_DRAWDOWN = 1,
    ND_BREAKER_DAILY_LOSS = 2,
    ND_BREAKER_KILL_SWITCH = 3,
    ND_BREAKER_DATA_INTEGRITY = 4 /* market data can no longer be trusted (reference price) */
} nd_breaker_kind_t;

const char *nd_breaker_kind_name(nd_breaker_kind_t kind); /* "drawdown", "daily_loss", ... */

typedef struct nd_breaker_event {
    nd_breaker_kind_t kind;
    int64_t ts_ns;
    int64_t equity;        /* cash units at the trip */
    int64_t reference;     /* cash units: the peak (drawdown) or the day's opening equity */
    int64_t measured_e6;   /* measured loss share in millionths (123456 = 12.3456%) */
    int64_t threshold_pct_e2;
} nd_breaker_event_t;

/* What the engine knows when it asks about an order. */
typedef struct nd_risk_view {
    int64_t now_ns;
    int64_t last_px;        /* last price of the order's instrument, price units; 0 = none */
    int64_t net_qty;        /* current net position on the instrument, quantity units */
    int64_t equity;         /* cash units */
} nd_risk_view_t;

typedef struct nd_risk {
    nd_risk_config_t cfg;
    /* read-only state */
    bool halted;
    nd_breaker_kind_t halt_kind;
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
 * this call (then r->events[r->event_count - 1] describes it, when kept). Also lifts a
 * daily-loss halt at a new UTC day. O(1). */
bool nd_risk_on_equity(nd_risk_t *r, int64_t now_ns, __int128 equity_ext);

/* The manual kill switch: halts at once and stays halted until released. Recorded as a trip. */
void nd_risk_kill(nd_risk_t *r, int64_t now_ns, __int128 equity_ext);
/* A data-integrity failure (too few fresh price sources, a source far from the others — see
 * refprice.h): halts like the kill switch and stays until an operator releases it, because a
 * trading decision on bad prices is worse than no decision. Recorded as a trip whose measured
 * value is the failing detail the caller passes (e.g. the largest deviation in bps x 100). */
void nd_risk_data_integrity_fail(nd_risk_t *r, int64_t now_ns, __int128 equity_ext,
                                 int64_t measured_e6);
/* Releases the kill switch and a drawdown halt (an operator action); the peak restarts at the
 * current equity on the next report. */
void nd_risk_release(nd_risk_t *r);

#endif
