/* engine.h: the one deterministic event-driven engine for backtest, paper and live.
 *
 * The engine owns strategies, the order pool, the portfolio and risk state, and drives a venue.
 * Market events come in through nd_engine_on_bar; the engine then, in this fixed order:
 *   1. fires strategy timers due at or before the event time (ties by insertion order);
 *   2. lets the venue match working orders against the bar and books the fills;
 *   3. marks the portfolio to the bar's close and reports equity to the breakers; a trip halts
 *      trading, cancels the strategies' working orders and sends market orders that flatten
 *      every position. From then on the engine owns the positions until they are flat: its
 *      flattening orders cannot be cancelled or replaced by a strategy, and after every event
 *      a position they no longer cover (a partial fill, a venue reject) gets a new one. When
 *      the breaker's reset policy lifts the halt, remaining flattening orders are cancelled;
 *   4. calls each strategy on that instrument with the bar; what they ask for is sized by the
 *      portfolio, checked by risk and sent to the venue at once (it fills from the next bar);
 *   5. flushes the step's events (order updates, fills, breaker trips) to the listeners, in the
 *      order they happened, before the next event is taken: the hook where a store persists.
 * Time is read once per event from the injected clock. After nd_engine_start the per-event path
 * does not allocate: orders come from a pool and events go through a fixed ring.
 *
 * Event level (nd_engine_on_event; docs/engine.md "Event model"): trades, quotes, L2 book deltas
 * and venue status changes take the same fixed step: timers -> the venue applies the event to
 * its matching and the order updates it makes visible are booked (acks, rejects, fills, cancels:
 * the engine's order state machine makes each transition) -> mark (a trade marks at its price, a
 * quote at its mid, a complete book event at the book's mid; a status change marks nothing) ->
 * breakers on the equity, and the ensure-flat step while halted (the very code on_bar runs) ->
 * the strategies' on_trade / on_quote / on_book / on_venue_status -> flush. Bars keep their own
 * entry point and are untouched by this path. */
#ifndef NODERR_ENGINE_H
#define NODERR_ENGINE_H

#include "noderr/anomaly.h"
#include "noderr/clock.h"
#include "noderr/err.h"
#include "noderr/exec_venue.h"
#include "noderr/feed_monitor.h"
#include "noderr/market.h"
#include "noderr/order.h"
#include "noderr/portfolio.h"
#include "noderr/risk.h"
#include "noderr/sim_venue.h"
#include "noderr/strategy.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum nd_sizing_kind {
    ND_SIZING_PERCENT = 0, /* a share of the strategy's sleeve equity */
    ND_SIZING_FIXED = 1    /* a fixed base-asset quantity */
} nd_sizing_kind_t;

typedef struct nd_sizing {
    nd_sizing_kind_t kind;
    int64_t percent_e2; /* ND_SIZING_PERCENT: hundredths of a percent (2500 = 25%) */
    int64_t fixed_qty;  /* ND_SIZING_FIXED: quantity units of the instrument */
} nd_sizing_t;

typedef struct nd_engine_config {
    int64_t initial_cash;  /* cash units */
    nd_sizing_t sizing;
    bool allow_short;      /* spot accounts cannot short: a -1 target means flat when false */
    uint32_t orders_max;   /* order pool size, at most ND_ORDERS_OPEN_MAX */
    /* The venues (exec_venue.h), borrowed: each instrument trades on the venue whose name it
     * carries. None given: the engine runs one simulated venue built from `venue` and every
     * instrument trades there (backtests). */
    nd_exec_venue_t *venues[ND_VENUES_MAX];
    uint32_t venue_count;
    nd_sim_config_t venue;
    nd_risk_config_t risk;
    /* Strict pre-trade surveillance (surveillance.h); NULL = off, the default. When set, an
     * order that passed the account and risk checks is checked with nd_surv_pretrade_check
     * before it goes to the venue and rejected (ND_REJECT_SELF_MATCH or
     * ND_REJECT_SURVEILLANCE_LIMIT, emitted as a rejected order event, so a recorder stores
     * it) when it would cross a resting order of another of the engine's strategies or breach
     * the profile's hard limits. All strategies of one engine are one account and one
     * beneficial owner. The profile is borrowed and must outlive the engine. */
    const struct nd_surv_profile *pretrade_profile;
    /* Levels a side of the engine's own L2 book of each instrument (the on_book view and the
     * book mark), allocated at start; 0 (the default) keeps no book and refuses book events. */
    uint32_t book_levels_max;
    /* The anomaly-confidence breaker's model (anomaly.h), one per instrument, used only when
     * risk.anomaly_threshold_e6 > 0: each bar is one observation (return, volume); market events
     * are cut into buckets of anomaly_bucket_ns (return, spread, volume, message rate); a live
     * session may add its own observations (nd_engine_anomaly_observe, with latency). */
    nd_anomaly_config_t anomaly;
    int64_t anomaly_bucket_ns;
} nd_engine_config_t;

/* Defaults: cash 10,000, sizing percent 25, no shorting, 1024 orders, venue and risk defaults
 * (the anomaly breaker off), the anomaly model's defaults with 15-minute event buckets. */
void nd_engine_config_default(nd_engine_config_t *cfg);

typedef enum nd_event_kind {
    ND_EVENT_ORDER = 1,   /* an order changed state (accepted, rejected, cancelled, filled) */
    ND_EVENT_FILL = 2,
    ND_EVENT_BREAKER = 3,
    ND_EVENT_ORDER_AMENDED = 4 /* a working order's price or quantity changed (u.order: after) */
} nd_event_kind_t;

typedef struct nd_event {
    nd_event_kind_t kind;
    int64_t ts_ns;
    bool halted;            /* trading was halted when the event happened */
    union {
        nd_order_t order;   /* a copy at the moment of the change */
        nd_fill_t fill;
        nd_breaker_event_t breaker;
    } u;
} nd_event_t;

/* Receives the engine's events in order. on_bar_done is called after every bar with the exact
 * equity (portfolio extended scale). Any callback may be NULL. Listeners must not call back
 * into the engine. A non-OK return from on_event halts trading (durability before acting:
 * a store that cannot write stops the engine rather than letting it trade unrecorded). */
typedef struct nd_engine_listener {
    nd_err_t (*on_event)(void *ctx, const nd_event_t *event);
    void (*on_bar_done)(void *ctx, const nd_bar_t *bar, __int128 equity_ext, bool in_market);
    void (*on_trade)(void *ctx, const nd_trade_t *trade);
    void *ctx;
} nd_engine_listener_t;

typedef struct nd_engine nd_engine_t;

/* Creates an engine over a copied instrument table (ids must equal their index) and a borrowed
 * clock. ND_EINVAL with a reason in err on a bad config; ND_ENOMEM. */
nd_err_t nd_engine_create(const nd_engine_config_t *cfg, const nd_instrument_t *instruments,
                          uint32_t instrument_count, nd_clock_t *clock,
                          nd_engine_t **out /* OUT */, char *err, size_t err_len);
void nd_engine_destroy(nd_engine_t *e);

/* Adds a strategy trading instrument_id with parameters (copied) and a capital weight in
 * millionths. Checks the parameters (ND_EINVAL with why). Only before nd_engine_start. */
nd_err_t nd_engine_add_strategy(nd_engine_t *e, const nd_strategy_def_t *def,
                                const double *params, uint32_t instrument_id, int64_t weight_e6,
                                char *err, size_t err_len);

void nd_engine_set_listener(nd_engine_t *e, const nd_engine_listener_t *listener);

/* Allocates strategy state, creates the portfolio and calls every on_start. */
nd_err_t nd_engine_start(nd_engine_t *e, char *err, size_t err_len);

/* Processes one bar (the hot path). Bars must come in non-decreasing time. Returns ND_EIO
 * when a listener refused an event (trading is then halted), ND_EOVERFLOW when accounting
 * would overflow, ND_EINVAL for a bar of an unknown instrument or out of time order. */
nd_err_t nd_engine_on_bar(nd_engine_t *e, const nd_bar_t *bar);

/* Processes bars[0..count) in order, exactly as count calls of nd_engine_on_bar would, each
 * with clock (which must be the engine's clock) set to the bar's time first, as a backtest
 * driver does: the same events, fills, listener calls, equity and statistics. Runs of quiet bars
 * (no timer pending, no working order, no anomaly model) take a batched step that
 * keeps the time checks and bar counters in registers and writes them back at the end of the
 * run, so a listener or strategy reading nd_engine_stats during the call sees the bar counts
 * (bars, last_ts_ns, interval_ns, bars_in_market, halted_bars) as of the run's start. *done
 * gets the bars fully processed; on an error, bars[*done] is the bar that failed (ND_EINVAL also
 * for a bar earlier than the clock). Errors as on_bar. O(count). */
nd_err_t nd_engine_on_bars(nd_engine_t *e, nd_clock_sim_t *clock, const nd_bar_t *bars,
                           size_t count, size_t *done /* OUT */);

/* Processes one market event of the merged stream (ticks.h: kinds and the tie rule) in the step
 * order above; a bar goes to nd_engine_on_bar. Events must come in non-decreasing time (bars and
 * events share the clock). ND_EINVAL for an unknown instrument, time going backwards or a bad
 * event; ND_ESTATE for a book event when cfg.book_levels_max is 0; otherwise as on_bar. */
nd_err_t nd_engine_on_event(nd_engine_t *e, const nd_market_event_t *ev);

/* An order update a venue delivers outside a market event (a live adapter's ack, reject, fill,
 * cancel or expiry): booked through the engine's order state machine, then the breaker step and
 * the flush. ND_ENOTFOUND for an order the engine does not hold working (nothing changes);
 * ND_EINVAL for a fill that does not match the order. */
nd_err_t nd_engine_on_order_update(nd_engine_t *e, const nd_order_update_t *update);

/* Books the order updates every venue makes visible now (a live adapter's acks, fills and
 * cancels that arrive between market events), then the breaker step (with the ensure-flat step
 * while halted) and the flush: what a market event does minus the market. Time never goes back
 * (the later of the clock and the last event's time). Errors as nd_engine_on_event. */
nd_err_t nd_engine_poll(nd_engine_t *e);

/* The manual kill switch: halts, cancels working orders and flattens positions. */
nd_err_t nd_engine_kill(nd_engine_t *e);

/* An operator's release of a halt (any kind, the kill switch included): the engine's remaining
 * flattening orders are cancelled, positions are the strategies' again and the drawdown peak
 * restarts at the current equity. A no-op when not halted. */
nd_err_t nd_engine_release(nd_engine_t *e);

/* A data-integrity failure reported by the market-data side (e.g. a reference price whose status
 * is ND_REFPRICE_HALT): trips the data-integrity breaker, cancels and flattens like the kill
 * switch; measured_e6 is recorded with the trip. A second report while halted is a no-op. */
nd_err_t nd_engine_data_integrity_fail(nd_engine_t *e, int64_t measured_e6);
/* The same, saying which input failed (feed_monitor.h); recorded in the trip's detail. */
nd_err_t nd_engine_data_integrity_fail_input(nd_engine_t *e, nd_integrity_input_t input,
                                             int64_t measured_e6);

/* Checks a live session's feeds (feed_monitor.h) and reference price (may be NULL) at the
 * engine's time; a failure trips the data-integrity breaker with the input and the measured
 * value (nd_engine_data_integrity_fail_input). *verdict (may be NULL) gets what the check found.
 * A no-op while a data-integrity halt is in force. */
nd_err_t nd_engine_feed_check(nd_engine_t *e, const nd_feed_monitor_t *monitor,
                              const nd_refprice_result_t *ref,
                              nd_feed_verdict_t *verdict /* OUT, may be NULL */);

/* One observation of instrument_id's anomaly model from outside the market events (a live
 * session's, with the feed latency it measures): scored, and a confidence at or above
 * risk.anomaly_threshold_e6 trips the anomaly breaker, which halts, cancels and flattens like the
 * others and records the score and its inputs with the trip. ND_ESTATE when the breaker is off,
 * ND_EINVAL for an unknown instrument or a bad observation (anomaly.h). */
nd_err_t nd_engine_anomaly_observe(nd_engine_t *e, uint32_t instrument_id,
                                   const nd_anomaly_obs_t *obs);
/* instrument_id's anomaly model (its last score: ->last), NULL when the breaker is off. */
const nd_anomaly_t *nd_engine_anomaly(const nd_engine_t *e, uint32_t instrument_id);

/* A graceful stop (a live session's SIGTERM): from now on every strategy order is refused as
 * halted, and the strategies' working orders are cancelled (a venue with latency confirms
 * later); flattening orders keep working, positions stay as they are. No way back. */
nd_err_t nd_engine_stop_trading(nd_engine_t *e);
/* The working orders (submitted and not done), in submission order: k < the count. */
/* Run-time control of one strategy (engine_control.c), between events, after start; each
 * returns ND_ENOTFOUND for an unknown strategy index.
 * Pause: the strategy gets no market, bar or timer callbacks (timers falling due are fired
 * once each at resume, up to 8 distinct ids), its new orders are refused as HALTED and its
 * working orders are cancelled; its position and fills stay booked (on_fill is still called,
 * so its state knows). Risk's flattening orders are untouched. Pausing twice is a no-op. */
nd_err_t nd_engine_strategy_pause(nd_engine_t *e, uint32_t strategy_index, bool paused);
bool nd_engine_strategy_paused(const nd_engine_t *e, uint32_t strategy_index);
/* Moves the strategy's capital weight (millionths; the sleeve's equity is weight * initial
 * cash + its P&L, and percent sizing follows it). ND_EINVAL when outside [0, 1] or the weights
 * would add up to more than 1. */
nd_err_t nd_engine_strategy_set_weight(nd_engine_t *e, uint32_t strategy_index,
                                       int64_t weight_e6);
int64_t nd_engine_strategy_weight(const nd_engine_t *e, uint32_t strategy_index);
/* Swaps the strategy in a slot for another version (def and params, copied): the old one's
 * working orders are cancelled, its timers dropped and its on_stop called; the new one starts
 * on the same instrument and sleeve and inherits the position. Bad params: ND_EINVAL and the
 * old version keeps running. A new version whose on_start fails leaves the slot paused. */
nd_err_t nd_engine_strategy_replace(nd_engine_t *e, uint32_t strategy_index,
                                    const nd_strategy_def_t *def, const double *params,
                                    char *err, size_t err_len);

uint32_t nd_engine_working_count(const nd_engine_t *e);
const nd_order_t *nd_engine_working(const nd_engine_t *e, uint32_t k);

typedef struct nd_engine_stats {
    int64_t bars;
    int64_t bars_in_market;   /* bars with a non-zero position on the bar's instrument */
    int64_t halted_bars;      /* bars on which a halt was in force after the breaker step */
    int64_t orders_submitted; /* orders the strategies asked for, including rejected ones */
    int64_t orders_accepted;
    int64_t orders_rejected;
    int64_t orders_cancelled;
    int64_t fills;
    int64_t first_ts_ns;
    int64_t last_ts_ns;
    int64_t interval_ns;      /* the smallest gap between consecutive bars seen (bar length) */
    int64_t events;           /* market events other than bars (nd_engine_on_event) */
    int64_t halted_events;    /* of those, events on which a halt was in force */
    int64_t order_updates;    /* asynchronous order updates booked */
    int64_t orders_amended;   /* amends the venue applied */
    int64_t amends_refused;   /* amends refused by a check (counted by reason in rejects too)
                                 or answered AMEND_REJECTED by the venue */
} nd_engine_stats_t;

const nd_engine_stats_t *nd_engine_stats(const nd_engine_t *e);
nd_portfolio_t *nd_engine_portfolio(const nd_engine_t *e);
const nd_risk_t *nd_engine_risk(const nd_engine_t *e);
const nd_instrument_t *nd_engine_instrument(const nd_engine_t *e, uint32_t instrument_id);
uint32_t nd_engine_strategy_count(const nd_engine_t *e);
const nd_strategy_def_t *nd_engine_strategy_def(const nd_engine_t *e, uint32_t strategy_index);
const double *nd_engine_strategy_params(const nd_engine_t *e, uint32_t strategy_index);
/* The engine's L2 book of an instrument as replayed from book events (NULL when
 * cfg.book_levels_max is 0) and the venue update id of the last delta applied. */
const nd_book_t *nd_engine_book(const nd_engine_t *e, uint32_t instrument_id,
                                int64_t *update_id /* OUT, may be NULL */);
/* Rejections by reason (index nd_reject_t), including risk, account and instrument checks. */
int64_t nd_engine_rejects(const nd_engine_t *e, nd_reject_t reason);

#endif
