/* order.c: the order state machine and the bookkeeping of fills on an order.
 *
 * Invariants kept for every order that only changes through these functions:
 *  - 0 <= filled_qty <= qty, and filled_qty == qty exactly when the status is FILLED;
 *  - fill_notional and fees are sums of the fills applied, never wrapped (checked adds);
 *  - reject_reason != NONE exactly when the status is REJECTED;
 *  - a call that returns an error leaves the order byte-for-byte unchanged. */
#include "noderr/assert.h"
#include "noderr/fixed.h"
#include "noderr/order.h"

#include <string.h>

void nd_order_init(nd_order_t *o, uint64_t client_id, const nd_order_intent_t *intent,
                   uint32_t strategy_index, int64_t now_ns)
{
    ND_ASSERT(o != NULL);
    ND_ASSERT(intent != NULL);
    ND_ASSERT(intent->side == ND_SIDE_BUY || intent->side == ND_SIDE_SELL);
    memset(o, 0, sizeof *o);
    o->client_id = client_id;
    o->instrument_id = intent->instrument_id;
    o->strategy_index = strategy_index;
    o->side = intent->side;
    o->type = intent->type;
    /* A market order carries no price at all: 0 is the documented value, never a sentinel the
     * venue reads. */
    o->px = intent->type == ND_ORDER_MARKET ? 0 : intent->px;
    o->qty = intent->qty;
    o->created_ns = now_ns;
    o->status = ND_ORDER_NEW;
    o->reject_reason = ND_REJECT_NONE;
    o->updated_ns = now_ns;
}

/* The moves nd_order_transition may make. Rejection and fills have their own entry points so
 * that a reason or a fill always comes with them. */
static bool transition_allowed(nd_order_status_t from, nd_order_status_t to)
{
    switch (from) {
    case ND_ORDER_NEW:
        return to == ND_ORDER_ACCEPTED;
    case ND_ORDER_ACCEPTED:
    case ND_ORDER_PARTIALLY_FILLED:
        return to == ND_ORDER_CANCELLED;
    case ND_ORDER_FILLED:
    case ND_ORDER_CANCELLED:
    case ND_ORDER_REJECTED:
        return false;
    }
    return false;
}

nd_err_t nd_order_transition(nd_order_t *o, nd_order_status_t to, int64_t now_ns)
{
    ND_ASSERT(o != NULL);
    ND_ASSERT(o->filled_qty >= 0);
    ND_ASSERT(o->filled_qty <= o->qty);
    if (!transition_allowed(o->status, to))
        return ND_ESTATE;
    o->status = to;
    o->updated_ns = now_ns;
    return ND_OK;
}

nd_err_t nd_order_reject(nd_order_t *o, nd_reject_t reason, int64_t now_ns)
{
    ND_ASSERT(o != NULL);
    if (o->status != ND_ORDER_NEW)
        return ND_ESTATE;
    /* A rejection without a reason could not be counted or explained: refuse it. */
    if (reason == ND_REJECT_NONE)
        return ND_EINVAL;
    o->status = ND_ORDER_REJECTED;
    o->reject_reason = reason;
    o->updated_ns = now_ns;
    ND_ASSERT(o->filled_qty == 0);
    return ND_OK;
}

/* True when the fill belongs to o and is internally sane. */
static bool fill_matches(const nd_order_t *o, const nd_fill_t *fill)
{
    if (fill->client_id != o->client_id || fill->side != o->side ||
        fill->instrument_id != o->instrument_id)
        return false;
    if (fill->qty <= 0 || fill->qty > nd_order_remaining(o))
        return false;
    return fill->px > 0 && fill->notional >= 0 && fill->fee >= 0;
}

nd_err_t nd_order_apply_fill(nd_order_t *o, const nd_fill_t *fill)
{
    ND_ASSERT(o != NULL);
    ND_ASSERT(fill != NULL);
    if (!nd_order_is_working(o))
        return ND_ESTATE;
    if (!fill_matches(o, fill))
        return ND_EINVAL;
    int64_t notional, fees;
    if (nd_fixed_add(o->fill_notional, fill->notional, &notional) != ND_OK ||
        nd_fixed_add(o->fees, fill->fee, &fees) != ND_OK)
        return ND_EOVERFLOW;
    /* fill->qty <= remaining was checked, so this add stays within qty. */
    o->filled_qty += fill->qty;
    o->fill_notional = notional;
    o->fees = fees;
    o->status = o->filled_qty == o->qty ? ND_ORDER_FILLED : ND_ORDER_PARTIALLY_FILLED;
    o->updated_ns = fill->ts_ns;
    ND_ASSERT(o->filled_qty > 0);
    ND_ASSERT(o->filled_qty <= o->qty);
    return ND_OK;
}

unsigned nd_order_amend_needs(const nd_order_t *o, int64_t px, int64_t qty)
{
    ND_ASSERT(o != NULL);
    unsigned needs = 0;
    if (px != o->px)
        needs |= ND_AMEND_PRICE;
    if (qty < o->qty)
        needs |= ND_AMEND_QTY_DOWN;
    else if (qty > o->qty)
        needs |= ND_AMEND_QTY_UP;
    return needs;
}

nd_err_t nd_order_amend(nd_order_t *o, int64_t px, int64_t qty, int64_t now_ns)
{
    ND_ASSERT(o != NULL);
    if (!nd_order_is_working(o) || o->type == ND_ORDER_MARKET)
        return ND_ESTATE;
    if (px <= 0 || qty <= o->filled_qty || nd_order_amend_needs(o, px, qty) == 0)
        return ND_EINVAL;
    o->px = px;
    o->qty = qty;
    o->updated_ns = now_ns;
    ND_ASSERT(nd_order_remaining(o) > 0);
    return ND_OK;
}

const char *nd_order_status_name(nd_order_status_t status)
{
    switch (status) {
    case ND_ORDER_NEW: return "new";
    case ND_ORDER_ACCEPTED: return "accepted";
    case ND_ORDER_PARTIALLY_FILLED: return "partially_filled";
    case ND_ORDER_FILLED: return "filled";
    case ND_ORDER_CANCELLED: return "cancelled";
    case ND_ORDER_REJECTED: return "rejected";
    }
    return "unknown";
}

const char *nd_order_type_name(nd_order_type_t type)
{
    switch (type) {
    case ND_ORDER_MARKET: return "market";
    case ND_ORDER_LIMIT: return "limit";
    case ND_ORDER_STOP: return "stop";
    }
    return "unknown";
}

const char *nd_side_name(nd_side_t side)
{
    switch (side) {
    case ND_SIDE_BUY: return "buy";
    case ND_SIDE_SELL: return "sell";
    }
    return "unknown";
}
