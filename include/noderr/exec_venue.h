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
    bool supports_amend;
} nd_exec_venue_facts_t;

typedef struct nd_exec_venue_ops {
    /* Takes a NEW order: ND_OK with the order ACCEPTED (venue id set), ND_EFULL when the venue
     * can hold no more working orders (the engine rejects it, ND_REJECT_POOL_EXHAUSTED). */
    nd_err_t (*submit)(void *self, nd_order_t *order, int64_t now_ns);
    /* Cancels a working order by client id (CANCELLED); ND_ENOTFOUND when not working here. */
    nd_err_t (*cancel)(void *self, uint64_t client_id, int64_t now_ns);
    /* Matches working orders of bar->instrument_id against the bar: at most cap fills into
     * fills_out, applied to the orders, done orders dropped from the working set. */
    nd_err_t (*on_bar)(void *self, const nd_bar_t *bar, nd_fill_t *fills_out, size_t cap,
                       size_t *count /* OUT */);
    /* Working orders held. */
    uint32_t (*open_count)(const void *self);
} nd_exec_venue_ops_t;

typedef struct nd_exec_venue {
    const nd_exec_venue_ops_t *ops;
    void *self;
    nd_exec_venue_facts_t facts;
} nd_exec_venue_t;

#endif
