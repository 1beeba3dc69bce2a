/* exec_venue.h: the venue interface the engine trades through.
 *
 * A venue is a table of functions plus the facts it declares: its name (instruments route to
 * the venue whose name they carry), maker and taker fees, latencies, whether it can amend. The
 * engine reads nothing else of a venue: it sizes and checks orders with the declared fees, hands
 * orders to submit and cancel, and books the fills the venue reports. The simulated venue
 * (sim_venue.h, nd_sim_venue_exec) is one implementation; the live Binance and Coinbase adapters
 * and exchange-sim are others.
 *
 * Ownership: the engine owns every order it hands over and keeps it valid until it is done; the
 * venue changes its status only through the nd_order_* state machine (order.h). A venue is
 * borrowed by the engine and must outlive it. */
#ifndef NODERR_EXEC_VENUE_H
#define NODERR_EXEC_VENUE_H

#include "noderr/err.h"
#include "noderr/limits.h"
#include "noderr/market.h"
#include "noderr/order.h"
#include "noderr/ticks.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct nd_exec_venue_facts {
    char name[ND_NAME_MAX];          /* "sim", "binance", ... */
    int64_t maker_fee_bps_e2;        /* hundredths of a basis point */
    int64_t taker_fee_bps_e2;
    int64_t order_entry_latency_ns;  /* decision to the matching engine; 0 for bar simulation */
    int64_t ack_latency_ns;
    int64_t market_data_latency_ns;
    unsigned amend;                  /* ND_AMEND_* (order.h) the venue can do; 0: none */
} nd_exec_venue_facts_t;

/* What a venue reports about an order after the call that sent it: the asynchronous path. A
 * venue with latency (the L2 simulator, a live adapter) leaves a submitted order NEW and reports
 * ACCEPTED or REJECTED later; a cancel it took leaves the order working until CANCELLED (or a
 * last FILL and CANCEL_REJECTED) comes back. The engine makes every transition on its own order
 * (order.h's state machine): the venue never touches it on this path. EXPIRED ends an order the
 * venue dropped by itself (time in force, a market order's unfilled rest) and is booked as
 * CANCELLED, the order state machine's one terminal state for "done without a full fill". */
typedef enum nd_order_update_kind {
    ND_UPDATE_ACCEPTED = 1,
    ND_UPDATE_REJECTED = 2,       /* reason says why */
    ND_UPDATE_FILL = 3,           /* fill holds it: partially filled or filled */
    ND_UPDATE_CANCELLED = 4,
    ND_UPDATE_EXPIRED = 5,
    ND_UPDATE_CANCEL_REJECTED = 6, /* the cancel came too late: the order was already done */
    ND_UPDATE_AMENDED = 7,         /* px and qty hold the order's new price and total quantity */
    ND_UPDATE_AMEND_REJECTED = 8   /* the amend came too late (done, or filled past the new
                                      quantity): the order is unchanged */
} nd_order_update_kind_t;

typedef struct nd_order_update {
    nd_order_update_kind_t kind;
    uint64_t client_id;
    uint64_t venue_id;   /* ACCEPTED: the venue's id */
    int64_t ts_ns;       /* when the engine may learn of it (the venue's time plus latency) */
    nd_reject_t reason;  /* REJECTED only */
    nd_fill_t fill;      /* FILL only */
    int64_t px, qty;     /* AMENDED only */
} nd_order_update_t;

typedef struct nd_exec_venue_ops {
    /* Takes a NEW order: ND_OK with the order ACCEPTED (venue id set), ND_EFULL when the venue
     * can hold no more working orders (the engine rejects it, ND_REJECT_POOL_EXHAUSTED). */
    nd_err_t (*submit)(void *self, nd_order_t *order, int64_t now_ns);
    /* Cancels a working order by client id (CANCELLED); ND_ENOTFOUND when not working here. */
    nd_err_t (*cancel)(void *self, uint64_t client_id, int64_t now_ns);
    /* Amends a working order to price px and total quantity qty (order.h's nd_order_amend and
     * queue rule), within what facts.amend declares; NULL when the venue cannot amend. A
     * venue without poll applies it at once (ND_OK: the order holds the new values); one with
     * poll answers later with AMENDED or AMEND_REJECTED. ND_ENOTFOUND when not working here. */
    nd_err_t (*amend)(void *self, uint64_t client_id, int64_t px, int64_t qty, int64_t now_ns);
    /* Matches working orders of bar->instrument_id against the bar: at most cap fills into
     * fills_out, applied to the orders, done orders dropped from the working set. */
    nd_err_t (*on_bar)(void *self, const nd_bar_t *bar, nd_fill_t *fills_out, size_t cap,
                       size_t *count /* OUT */);
    /* Working orders held. */
    uint32_t (*open_count)(const void *self);
    /* ---- Market-event hooks: NULL for a bar-only venue (the bar simulator). ----
     * Applies one trade, quote, book delta or venue status of an instrument trading here to
     * the venue's matching (an event-level venue may leave on_bar NULL). */
    nd_err_t (*on_market)(void *self, const nd_market_event_t *ev);
    /* Order updates visible at now_ns, oldest first: at most cap into out, *count of them; the
     * engine calls again while *count == cap. */
    nd_err_t (*poll)(void *self, int64_t now_ns, nd_order_update_t *out, size_t cap,
                     size_t *count /* OUT */);
} nd_exec_venue_ops_t;

typedef struct nd_exec_venue {
    const nd_exec_venue_ops_t *ops;
    void *self;
    nd_exec_venue_facts_t facts;
} nd_exec_venue_t;

#endif
