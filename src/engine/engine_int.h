/* engine_int.h: the engine's private state, shared by engine.c (the event loop) and
 * engine_orders.c (sizing, validation, submission, cancellation, flattening). */
#ifndef NODERR_ENGINE_INT_H
#define NODERR_ENGINE_INT_H

#include "noderr/engine.h"
#include "noderr/pool.h"
#include "noderr/surveillance.h"

/* Distinct timer ids of a paused strategy remembered for its resume; more are dropped. */
#define ND__MISSED_TIMERS_MAX 8

typedef struct nd__strategy_slot {
    const nd_strategy_def_t *def;
    double params[ND_STRATEGY_PARAMS_MAX];
    uint32_t instrument_id;
    int64_t weight_e6;
    void *state;
    bool started; /* on_start was called: on_stop is owed */
    bool paused;  /* nd_engine_strategy_pause: no callbacks, its orders refused */
    /* Timers that fell due while paused, fired once each at resume (engine_control.c). */
    uint64_t missed_timers[ND__MISSED_TIMERS_MAX];
    uint32_t missed_count;
    nd_strategy_ctx_t ctx;
} nd__strategy_slot_t;

typedef struct nd__timer {
    int64_t at_ns;
    uint64_t seq;      /* insertion order breaks ties, so replays are identical */
    uint32_t strategy_index;
    uint64_t timer_id;
} nd__timer_t;

struct nd_engine {
    nd_engine_config_t cfg;
    nd_instrument_t *instruments;
    uint32_t instrument_count;
    nd_clock_t *clock;
    int64_t now_ns;
    bool started;
    bool store_failed;         /* a listener refused an event: trading stays halted */
    bool stopping;             /* nd_engine_stop_trading: no new strategy orders */
    nd__strategy_slot_t strategies[ND_STRATEGIES_MAX];
    uint32_t strategy_count;
    nd_pool_t order_pool;
    nd_order_t **live;         /* working orders, in submission order */
    uint32_t live_count;
    nd_exec_venue_t *venues[ND_VENUES_MAX]; /* what the engine trades through */
    uint32_t venue_count;
    uint8_t *venue_of;         /* per instrument: index into venues */
    nd_sim_venue_t *own_sim;   /* the simulated venue made when the config names none */
    nd_exec_venue_t own_sim_exec;
    nd_risk_t risk;
    nd_portfolio_t *portfolio;
    nd_ring_t events;
    nd_fill_t *fill_buf;       /* venue output for one bar, orders_max entries */
    nd__timer_t timers[ND_TIMERS_MAX];
    uint32_t timer_count;
    uint64_t timer_seq;
    nd_engine_listener_t listener;
    nd_engine_stats_t stats;
    int64_t *last_bar_ns;      /* per instrument */
    int64_t rejects[ND_REJECT_SLOTS];
    uint64_t next_client_id;
    nd_surv_pretrade_t *pretrade; /* cfg.pretrade_profile's state, created at start; or NULL */
    /* Event level (engine_events.c). */
    nd_order_update_t *update_buf; /* one poll of a venue, UPDATE_BUF entries */
    nd_fill_t *event_fills;        /* fills of one event's updates, for on_fill once booked */
    size_t event_fill_count;
    nd_book_t *books;              /* per instrument when cfg.book_levels_max > 0, else NULL */
    int64_t *book_update_id;       /* per instrument, with books */
    /* The anomaly breaker (engine_anomaly.c): per instrument when it is on, else NULL. */
    nd_anomaly_t *anomaly;
    nd_anomaly_bucket_t *anomaly_buckets;
    int64_t *anomaly_prev_close;
    nd_anomaly_fast_t *anomaly_fast; /* its fast-move rule, when risk.fast_move_e6 > 0 */
};

/* Entries of update_buf and event_fills: one poll returns at most this many updates; the
 * engine polls again while a poll fills it. */
#define ND__ENGINE_UPDATE_BUF 256

/* The venue instrument i trades on. */
static inline nd_exec_venue_t *nd__engine_venue(const nd_engine_t *e, uint32_t instrument_id)
{
    return e->venues[e->venue_of[instrument_id]];
}

/* Queues an event; flushes to the listener first if the ring is full. */
nd_err_t nd__engine_emit(nd_engine_t *e, nd_event_kind_t kind, const void *payload);
/* Delivers queued events to the listener in order; ND_EIO if it refused one. */
nd_err_t nd__engine_flush(nd_engine_t *e);

/* Fires strategy timers due at or before now (engine.c). */
void nd__engine_fire_timers(nd_engine_t *e);
/* Drops every pending timer of strategy s (a replaced strategy's ids mean nothing to the next). */
void nd__engine_drop_timers(nd_engine_t *e, uint32_t s);
/* A timer of a paused strategy fell due: remember its id for the resume (engine_control.c). */
void nd__engine_timer_missed(nd__strategy_slot_t *slot, uint64_t timer_id);
/* Cancels the working orders strategy s may cancel itself (not risk's flattening orders), on
 * every instrument (engine_orders.c). */
void nd__engine_cancel_strategy(nd_engine_t *e, uint32_t s);
/* The breaker step after a mark, shared by bars and events: equity to the breakers, a trip's
 * flattening, the release when a reset policy lifts the halt, and while halted the ensure-flat
 * follow-up. *equity_out gets the equity the breakers saw. */
nd_err_t nd__engine_risk_step(nd_engine_t *e, __int128 *equity_out /* OUT */);
/* The end of every step: flushes queued events to the listener. */
nd_err_t nd__engine_step_done(nd_engine_t *e);
/* Event-level state (engine_events.c): allocated at start, freed at destroy. */
nd_err_t nd__engine_events_start(nd_engine_t *e);
void nd__engine_events_free(nd_engine_t *e);

/* A breaker tripped (risk holds the trip): the BREAKER event, then cancel and flatten (engine.c);
 * the one path of every breaker. */
nd_err_t nd__engine_on_breaker(nd_engine_t *e);
/* The anomaly breaker's models (engine_anomaly.c): allocated at start when it is on. */
nd_err_t nd__engine_anomaly_start(nd_engine_t *e);
void nd__engine_anomaly_free(nd_engine_t *e);
/* Feeds a bar (after its mark) or a market event of instrument i to its model, and the event's
 * mark price (0: none) to the fast-move rule; a trip takes the breaker path. Only when
 * e->anomaly is set. */
nd_err_t nd__engine_anomaly_bar(nd_engine_t *e, const nd_bar_t *bar);
nd_err_t nd__engine_anomaly_event(nd_engine_t *e, uint32_t i, const nd_market_event_t *ev,
                                  const nd_book_view_t *book /* a complete book event's, or NULL */,
                                  int64_t mark_px);

/* Strategy context entry points (engine_orders.c). */
nd_err_t nd__engine_target(nd_strategy_ctx_t *ctx, uint32_t instrument_id, int direction);
nd_err_t nd__engine_submit(nd_strategy_ctx_t *ctx, const nd_order_intent_t *intent,
                           uint64_t *client_id);
nd_err_t nd__engine_cancel(nd_strategy_ctx_t *ctx, uint64_t client_id);
nd_err_t nd__engine_amend(nd_strategy_ctx_t *ctx, uint64_t client_id, int64_t px, int64_t qty,
                          nd_reject_t *reason);
/* Books an amend the venue applied (o already holds the new values; old is a copy from before):
 * surveillance, counters, the order event. */
nd_err_t nd__engine_amended(nd_engine_t *e, nd_order_t *o, const nd_order_t *old);
int64_t nd__engine_position(nd_strategy_ctx_t *ctx, uint32_t instrument_id);

/* Feeds what happened to an order (sent, cancelled, filled) to the pre-trade surveillance
 * state when there is one (engine_orders.c). */
void nd__engine_surv_apply(nd_engine_t *e, const nd_order_t *o, nd_surv_kind_t kind,
                           int64_t fill_px, int64_t fill_qty);

/* While halted, after every event: every position is covered by working flattening orders of
 * exactly its size; a position a partial fill, a venue reject or an expiry left uncovered gets a
 * new one. O(strategies x instruments x working orders). */
nd_err_t nd__engine_ensure_flat(nd_engine_t *e);
/* When a halt lifts: the engine's remaining flattening orders are cancelled and the position
 * is the strategy's again. */
void nd__engine_release_flatten(nd_engine_t *e);
/* Drops finished orders from the live list and returns them to the pool. */
void nd__engine_release_done(nd_engine_t *e);
/* Finds a working order by client id, NULL if none. O(working orders). */
nd_order_t *nd__engine_find_live(nd_engine_t *e, uint64_t client_id);

#endif
