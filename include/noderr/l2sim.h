/* l2sim.h: a simulated venue that fills orders against a replayed L2 book, with a queue-position
 * model for resting orders and configurable latencies. docs/simulated-venue.md ("L2 simulator")
 * states the model precisely; in short:
 *  - Time is the venue's: market events (ticks.h) arrive with non-decreasing ts_ns. An order or
 *    cancel sent at now_ns reaches the matching engine at now_ns + entry latency (never earlier
 *    than an earlier request: one FIFO channel, and never before the last processed event). An
 *    event at t is applied before a request arriving at t.
 *  - Market orders walk the opposite side best level first, each level filling at its price up
 *    to its displayed size; what the book cannot fill is cancelled (IOC). Taken size is removed
 *    from the simulator's copy of the book until the feed next sets that level.
 *  - A limit order that crosses takes liquidity the same way up to its limit; the rest joins
 *    the queue at its price behind the displayed size there (ahead = displayed qty).
 *  - Trades at the order's price consume the queue ahead first; volume beyond it fills the
 *    order. A trade through the price (a sell below a resting buy) fills it up to the trade's
 *    remaining size. One trade's volume is shared: fills from one trade never exceed it.
 *  - A size decrease at the order's level not explained by trades printed there since the last
 *    update is a cancel: RISK_AVERSE assumes it came from behind (no advance), PROPORTIONAL
 *    that it came from ahead in the proportion ahead / level size (rounded against the
 *    trader). Either way ahead never exceeds the displayed size.
 *  - If the opposite side moves through a resting order's price (on a LAST delta or a quote),
 *    the order fills fully at its own price.
 *  - Fees: notional * rate / 10^6 (rates in hundredths of a bp), rounded up; maker for resting
 *    fills, taker for crossing ones.
 * No allocation after nd_l2sim_create; per event the work is O(levels touched + own orders
 * touched), a taker order O(levels walked), a cancel O(orders). */
#ifndef NODERR_L2SIM_H
#define NODERR_L2SIM_H

#include "noderr/book.h"
#include "noderr/err.h"
#include "noderr/exec_venue.h"
#include "noderr/market.h"
#include "noderr/order.h"
#include "noderr/ticks.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum nd_l2sim_queue_model {
    ND_L2SIM_QUEUE_RISK_AVERSE = 0, /* cancels come from behind you: only trades advance you */
    ND_L2SIM_QUEUE_PROPORTIONAL = 1 /* cancels come from ahead in proportion ahead / level */
} nd_l2sim_queue_model_t;

/* A latency: const_ns, or (sample_count > 0) one of the recorded samples drawn uniformly with
 * the simulator's seeded generator. Samples are copied at create. */
typedef struct nd_l2sim_latency {
    int64_t const_ns;
    const int64_t *samples_ns;
    uint32_t sample_count;
} nd_l2sim_latency_t;

#define ND_L2SIM_SAMPLES_MAX 65536

typedef struct nd_l2sim_config {
    int64_t maker_fee_bps_e2; /* hundredths of a bp, 0..10^6, the venue's declared rates */
    int64_t taker_fee_bps_e2;
    nd_l2sim_queue_model_t queue_model;
    nd_l2sim_latency_t entry; /* strategy -> matching engine (orders and cancels) */
    nd_l2sim_latency_t ack;   /* matching engine -> strategy (acks, fills, cancels) */
    nd_l2sim_latency_t md;    /* venue event -> strategy (drawn by nd_l2sim_md_delay_ns) */
    uint64_t seed;            /* for the latency draws */
    uint32_t orders_max;      /* orders in flight or working, 1..ND_ORDERS_OPEN_MAX */
    uint32_t requests_max;    /* requests (orders, cancels) in flight */
    uint32_t levels_max;      /* book levels per side, 1..ND_BOOK_LEVELS_MAX */
} nd_l2sim_config_t;

/* Defaults: 10 bps maker and taker, RISK_AVERSE, no latency, seed 1, 1024 orders, 4096
 * requests, 5000 levels (a Binance snapshot). */
void nd_l2sim_config_default(nd_l2sim_config_t *cfg);

typedef enum nd_l2sim_report_kind {
    ND_L2SIM_REPORT_ACK = 1,             /* the order reached the engine and was accepted */
    ND_L2SIM_REPORT_FILL = 2,
    ND_L2SIM_REPORT_CANCELLED = 3,       /* by request, or a market order's unfilled rest */
    ND_L2SIM_REPORT_CANCEL_REJECTED = 4, /* the cancel arrived after the order was done */
    ND_L2SIM_REPORT_AMENDED = 5,         /* px, qty: the order's new price and total quantity */
    ND_L2SIM_REPORT_AMEND_REJECTED = 6   /* arrived after the order was done, or filled past
                                            the new quantity: the order is unchanged */
} nd_l2sim_report_kind_t;

typedef struct nd_l2sim_report {
    nd_l2sim_report_kind_t kind;
    uint64_t client_id;
    int64_t exchange_ns; /* when it happened at the matching engine */
    int64_t visible_ns;  /* exchange_ns + ack latency: when the strategy may learn of it */
    nd_fill_t fill;      /* FILL only; fill.ts_ns == exchange_ns */
    int64_t px, qty;     /* AMENDED only */
} nd_l2sim_report_t;

/* Receives each report during the call that produced it; the report lives only then. */
typedef void (*nd_l2sim_report_cb)(void *ctx, const nd_l2sim_report_t *report);

typedef struct nd_l2sim_stats {
    uint64_t events;
    uint64_t orders_arrived;
    uint64_t fills;
    uint64_t maker_fills;
    uint64_t taker_fills;
    uint64_t cancels;
    uint64_t amends;
} nd_l2sim_stats_t;

typedef struct nd_l2sim nd_l2sim_t;

/* Creates a simulator for one instrument (copied). ND_EINVAL on a bad config, ND_ENOMEM. */
nd_err_t nd_l2sim_create(const nd_l2sim_config_t *cfg, const nd_instrument_t *inst,
                         nd_l2sim_report_cb report_cb, void *ctx, nd_l2sim_t **out /* OUT */);
void nd_l2sim_destroy(nd_l2sim_t *sim);

/* Sends a NEW market or limit order (the caller owns it; it must stay valid until done). It
 * stays NEW until it reaches the engine. ND_EINVAL (wrong instrument, type, qty or px),
 * ND_ESTATE (not NEW), ND_EFULL (no order slot or request room). */
nd_err_t nd_l2sim_submit(nd_l2sim_t *sim, nd_order_t *order, int64_t now_ns);
/* Sends a cancel; ND_ENOTFOUND when no order with client_id is in flight or working. */
nd_err_t nd_l2sim_cancel(nd_l2sim_t *sim, uint64_t client_id, int64_t now_ns);

/* Sends an amend of a limit order to price px and total quantity qty (order.h: the queue rule
 * and what may change). ND_ENOTFOUND when no order with client_id is in flight or working,
 * ND_ESTATE for a market order, ND_EINVAL for px or qty <= 0, ND_EFULL with no request room. */
nd_err_t nd_l2sim_amend(nd_l2sim_t *sim, uint64_t client_id, int64_t px, int64_t qty,
                        int64_t now_ns);

/* Applies one market event (trade, quote or delta of this instrument) after the requests that
 * arrive strictly before it. ND_EINVAL for time going backwards, another instrument or a bad
 * price/quantity (nothing applied); ND_EOVERFLOW when a fill's notional or fee overflows;
 * ND_EFULL when a delta adds a level to a side that already holds the book's maximum (the book
 * refuses it: the caller stops, it never trades on a cut book). */
nd_err_t nd_l2sim_on_event(nd_l2sim_t *sim, const nd_tick_event_t *ev);
/* Processes every request arriving at or before now_ns (no market event). */
nd_err_t nd_l2sim_advance(nd_l2sim_t *sim, int64_t now_ns);

/* A market-data latency draw: the strategy sees a venue event at ts + this. */
int64_t nd_l2sim_md_delay_ns(nd_l2sim_t *sim);

/* The simulator's copy of the book (replayed, minus what takers removed). */
const nd_book_t *nd_l2sim_book(const nd_l2sim_t *sim);
/* Displayed size ahead of a resting order; false when it is not resting. */
bool nd_l2sim_queue_ahead(const nd_l2sim_t *sim, uint64_t client_id, int64_t *ahead /* OUT */);
void nd_l2sim_stats(const nd_l2sim_t *sim, nd_l2sim_stats_t *out /* OUT */);

/* ---- The simulator behind the venue interface (l2sim_exec.c) ----------------------------
 * nd_l2sim_exec wraps one simulator for one instrument as an nd_exec_venue_t the engine trades
 * through. The engine's orders are never handed to the simulator: each submit is copied to a
 * shadow order the simulator works on, and what happens to it comes back to the engine through
 * poll as order updates (ACCEPTED, FILL, CANCELLED, EXPIRED for a market order's unfilled rest,
 * CANCEL_REJECTED), each visible at the simulator's visible_ns (exchange time + ack latency).
 * Updates travel one FIFO channel, like the orders: an update is never visible before an earlier
 * one, so an order's ack always precedes its fills. Submit returns with the engine's order
 * still NEW; a cancel leaves it working until its CANCELLED (or its last FILL) is visible, and a
 * second cancel of the same order sends nothing more. Facts: the config's fees; latencies the
 * constant ones, or the largest sample when drawn from samples. A VENUE_STATUS event of
 * DISCONNECTED makes submit and cancel fail with ND_EIO until CONNECTED; bars are ignored (this
 * venue fills on events only). Stop orders are refused (ND_EINVAL). */
typedef struct nd_l2sim_exec nd_l2sim_exec_t;

nd_err_t nd_l2sim_exec_create(const nd_l2sim_config_t *cfg, const nd_instrument_t *inst,
                              const char *name, nd_l2sim_exec_t **out /* OUT */);
void nd_l2sim_exec_destroy(nd_l2sim_exec_t *x);
/* The venue table to put in nd_engine_config_t.venues; valid while x lives. */
nd_exec_venue_t *nd_l2sim_exec_venue(nd_l2sim_exec_t *x);
/* The wrapped simulator (its book, queue positions, stats). */
nd_l2sim_t *nd_l2sim_exec_sim(nd_l2sim_exec_t *x);

#endif
