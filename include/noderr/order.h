/* order.h: orders, order intents, fills and the order state machine.
 *
 * An order moves NEW -> ACCEPTED -> (PARTIALLY_FILLED ->)* FILLED, or NEW -> REJECTED, or
 * ACCEPTED/PARTIALLY_FILLED -> CANCELLED. Every other move is a programmer error reported as
 * ND_ESTATE and leaves the order unchanged. A market order is an order type, never a sentinel
 * price. Orders are plain structs that callers embed or take from a pool. */
#ifndef NODERR_ORDER_H
#define NODERR_ORDER_H

#include "noderr/err.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum nd_side { ND_SIDE_BUY = 1, ND_SIDE_SELL = -1 } nd_side_t;

typedef enum nd_order_type {
    ND_ORDER_MARKET = 0,
    ND_ORDER_LIMIT = 1,
    ND_ORDER_STOP = 2 /* stop-market: becomes a market order when the price trades through px */
} nd_order_type_t;

typedef enum nd_order_status {
    ND_ORDER_NEW = 0,
    ND_ORDER_ACCEPTED = 1,
    ND_ORDER_PARTIALLY_FILLED = 2,
    ND_ORDER_FILLED = 3,
    ND_ORDER_CANCELLED = 4,
    ND_ORDER_REJECTED = 5
} nd_order_status_t;

/* What a strategy asks for. qty 0 means "size it for me" (the portfolio's sizing rule). */
typedef struct nd_order_intent {
    uint32_t instrument_id;
    nd_side_t side;
    nd_order_type_t type;
    int64_t px;  /* limit or stop price in price units; ignored for market orders */
    int64_t qty; /* quantity units, or 0 for portfolio sizing */
} nd_order_intent_t;

typedef struct nd_order {
    /* public */
    uint64_t client_id;     /* unique per engine run, assigned by the engine */
    uint64_t venue_id;      /* assigned by the venue on acceptance, 0 before */
    uint32_t instrument_id;
    uint32_t strategy_index;/* which strategy owns it; ND_STRATEGY_RISK for risk flattening */
    nd_side_t side;
    nd_order_type_t type;
    int64_t px;             /* limit/stop price; 0 for market orders */
    int64_t qty;            /* total quantity, > 0 */
    int64_t created_ns;     /* decision time */
    bool risk_flatten;      /* sent by the engine to flatten positions after a halt, not by the
                               strategy (the strategy_index says whose position it closes) */
    /* read-only: maintained by nd_order_* */
    nd_order_status_t status;
    nd_reject_t reject_reason;
    int64_t filled_qty;
    int64_t fill_notional;  /* sum of fill px*qty in cash units, for the average price */
    int64_t fees;           /* cash units */
    int64_t updated_ns;
    int64_t cancel_sent_ns; /* read-only: when the engine sent a cancel the venue has not answered
                               yet (0: none; cleared when the venue refuses it as too late) */
    /* private: the engine's bookkeeping of an amend sent and not yet answered (qty 0: none) */
    int64_t _amend_px, _amend_qty;
    bool _announced;        /* private: an event showed it NEW (sent to a venue with latency) */
} nd_order_t;

/* strategy_index of orders the risk module sends to flatten positions. */
#define ND_STRATEGY_RISK 0xFFFFu

typedef struct nd_fill {
    uint64_t client_id;
    uint64_t venue_id;
    uint32_t instrument_id;
    uint32_t strategy_index;
    nd_side_t side;
    bool maker;       /* true: maker fee (resting limit), false: taker */
    int64_t px;       /* execution price, price units, slippage included */
    int64_t qty;      /* quantity units, > 0 */
    int64_t notional; /* px * qty in cash units (rounded half-even) */
    int64_t fee;      /* cash units, >= 0 */
    int64_t ts_ns;
    /* The part of the fee paid in the instrument's base asset, quantity units, >= 0 (0 in
     * backtests and paper, whose fees are all cash). Binance charges a buy's commission in the
     * asset received, so the account gets qty - fee_qty: the portfolio books the fill as
     * qty - fee_qty bought for the whole notional (and a sell's base fee as fee_qty more sold),
     * the fee's value being its pro-rata share of the notional (portfolio.h). fee_qty < qty on
     * a buy. */
    int64_t fee_qty;
} nd_fill_t;

/* Fills o's public fields for a new order in status NEW. */
void nd_order_init(nd_order_t *o, uint64_t client_id, const nd_order_intent_t *intent,
                   uint32_t strategy_index, int64_t now_ns);

/* Moves o to status `to` at now_ns. ND_ESTATE if the state machine forbids it. Fills go
 * through nd_order_apply_fill, not here. */
nd_err_t nd_order_transition(nd_order_t *o, nd_order_status_t to, int64_t now_ns);

/* Rejects a NEW order with a reason; ND_ESTATE if not NEW. */
nd_err_t nd_order_reject(nd_order_t *o, nd_reject_t reason, int64_t now_ns);

/* Applies a fill of fill->qty to o: PARTIALLY_FILLED or FILLED. ND_ESTATE if o is not working,
 * ND_EINVAL if the fill exceeds the remaining quantity or does not match the order. */
nd_err_t nd_order_apply_fill(nd_order_t *o, const nd_fill_t *fill);

/* What an amend may change, and what a venue declares it can do (exec_venue.h facts.amend).
 * The queue rule every simulated venue follows, as Binance's "amend keep priority" and the
 * usual exchange rule have it: lowering the quantity at the same price keeps the order's place
 * in the queue; a new price or a larger quantity sends it to the back of the queue at its
 * (new) price, as a new order would. */
enum {
    ND_AMEND_QTY_DOWN = 1, /* lower the total quantity, keeping priority */
    ND_AMEND_QTY_UP = 2,   /* raise it (loses priority) */
    ND_AMEND_PRICE = 4     /* a new limit or stop price (loses priority) */
};
/* The ND_AMEND_* flags an amend of o to (px, qty) needs: 0 when it changes nothing. */
unsigned nd_order_amend_needs(const nd_order_t *o, int64_t px, int64_t qty);
/* Amends a working LIMIT or STOP order in place to price px and total quantity qty (the filled
 * part included, as venues count it). ND_ESTATE if o is not working or is a market order;
 * ND_EINVAL if qty <= the filled quantity, px <= 0, or nothing changes. */
nd_err_t nd_order_amend(nd_order_t *o, int64_t px, int64_t qty, int64_t now_ns);
/* True when an amend to (px, qty) keeps o's place in the queue (same price, no larger). */
static inline bool nd_order_amend_keeps_priority(const nd_order_t *o, int64_t px, int64_t qty)
{
    return px == o->px && qty <= o->qty;
}

/* Remaining quantity to fill. */
static inline int64_t nd_order_remaining(const nd_order_t *o)
{
    return o->qty - o->filled_qty;
}
/* True while the order can still fill (ACCEPTED or PARTIALLY_FILLED). */
static inline bool nd_order_is_working(const nd_order_t *o)
{
    return o->status == ND_ORDER_ACCEPTED || o->status == ND_ORDER_PARTIALLY_FILLED;
}
/* True once nothing can change it any more. */
static inline bool nd_order_is_done(const nd_order_t *o)
{
    return o->status == ND_ORDER_FILLED || o->status == ND_ORDER_CANCELLED ||
           o->status == ND_ORDER_REJECTED;
}

const char *nd_order_status_name(nd_order_status_t status); /* "partially_filled" */
const char *nd_order_type_name(nd_order_type_t type);       /* "market", "limit", "stop" */
const char *nd_side_name(nd_side_t side);                   /* "buy", "sell" */

#endif
