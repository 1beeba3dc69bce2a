/* cb_orders.c: the live layer's side of Advanced Trade orders (coinbase.h): the product rules as
 * pre-trade filters, the order request with the live layer's client order id, and Coinbase's
 * orders and fills as the order journal's and reconciliation's records (reconcile.h).
 *
 * Invariants: all arithmetic is integer at ND_VENUE_DECIMALS (a notional through 128 bits);
 * nothing is built for an order the rules refuse; a UUID always gives the same positive 62-bit
 * key, never 0. Nothing here does I/O or reads the clock. */
#include "noderr/coinbase.h"
#include "noderr/order_adapter.h"

#include "noderr/assert.h"

#include <stdio.h>
#include <string.h>

#define KEY_BITS 62
_Static_assert(ND_VENUE_DECIMALS == 8, "the notional's scale below assumes 8 decimals");
#define SCALE 100000000LL

int64_t nd_coinbase_id_key(const char *id)
{
    ND_ASSERT(id != NULL);
    uint64_t h = 14695981039346656037ULL;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    h = (h ^ (h >> KEY_BITS)) & ((1ULL << KEY_BITS) - 1);
    int64_t key = (int64_t)(h ? h : 1);
    ND_ASSERT(key > 0 && key < (1LL << KEY_BITS));
    return key;
}

int32_t nd_coinbase_rules_check(const nd_coinbase_product_rules_t *r, bool market, int64_t px,
                                int64_t qty)
{
    ND_ASSERT(r != NULL);
    ND_ASSERT(r->base_increment > 0 && r->quote_increment > 0);
    if (r->trading_disabled)
        return ND_REJECT_VENUE_SYMBOL_NOT_TRADING;
    if (qty <= 0 || qty % r->base_increment != 0 || qty < r->base_min_size)
        return ND_REJECT_INVALID_QUANTITY;
    if (market)
        return ND_REJECT_NONE;
    if (px <= 0 || px % r->quote_increment != 0)
        return ND_REJECT_INVALID_PRICE;
    __int128 notional = (__int128)px * qty; /* SCALE^2 units */
    if (r->quote_min_size > 0 && notional < (__int128)r->quote_min_size * SCALE)
        return ND_REJECT_BELOW_MIN_NOTIONAL;
    return ND_REJECT_NONE;
}

/* Fractional digits of an increment at ND_VENUE_DECIMALS (0.01 -> 2, 1 -> 0). */
static int places(int64_t increment)
{
    int n = ND_VENUE_DECIMALS;
    while (n > 0 && increment % 10 == 0) {
        increment /= 10;
        n--;
    }
    return n;
}

int32_t nd_coinbase_order_text(const nd_coinbase_product_rules_t *rules, const char *product_id,
                               const char *client_order_id, bool buy, bool market, int64_t px,
                               int64_t qty, nd_coinbase_order_text_t *out)
{
    ND_ASSERT(rules != NULL && product_id != NULL);
    ND_ASSERT(client_order_id != NULL && out != NULL);
    int32_t reject = nd_coinbase_rules_check(rules, market, px, qty);
    if (reject != ND_REJECT_NONE)
        return reject;
    if (strlen(client_order_id) >= sizeof out->client_order_id ||
        strlen(product_id) >= sizeof out->product_id)
        return ND_REJECT_VENUE_BAD_REQUEST;
    memset(out, 0, sizeof *out);
    snprintf(out->client_order_id, sizeof out->client_order_id, "%s", client_order_id);
    snprintf(out->product_id, sizeof out->product_id, "%s", product_id);
    /* The size with the fewest digits that say it exactly ("0.001"); the price with the
     * increment's places ("10000.00" at 0.01), as Coinbase's own examples write them. */
    nd_venue_format(qty, ND_VENUE_DECIMALS, 0, out->base_size, sizeof out->base_size);
    if (!market)
        nd_venue_format(px, ND_VENUE_DECIMALS, places(rules->quote_increment), out->limit_price,
                        sizeof out->limit_price);
    out->req = (nd_coinbase_order_req_t){.client_order_id = out->client_order_id,
                                         .product_id = out->product_id, .buy = buy,
                                         .market = market, .base_size = out->base_size,
                                         .limit_price = market ? NULL : out->limit_price};
    return ND_REJECT_NONE;
}

/* px x qty at 8 decimals, half-even. */
static nd_err_t notional(int64_t px, int64_t qty, int64_t *out)
{
    __int128 n = (__int128)px * qty;
    __int128 q = n / SCALE, rem = n % SCALE;
    if (rem * 2 > SCALE || (rem * 2 == SCALE && (q & 1)))
        q++;
    if (q > INT64_MAX)
        return ND_EOVERFLOW;
    *out = (int64_t)q;
    return ND_OK;
}

nd_err_t nd_coinbase_recon_trade(const nd_md_event_t *fill, const char *clid,
                                 uint32_t instrument_id, const nd_recon_instrument_t *assets,
                                 nd_recon_trade_t *out)
{
    ND_ASSERT(fill != NULL && clid != NULL);
    ND_ASSERT(assets != NULL && out != NULL);
    const nd_md_order_update_t *u = &fill->u.order;
    if (fill->kind != ND_MD_ORDER_UPDATE || u->trade_id <= 0 || u->last_qty <= 0 ||
        u->last_px <= 0 || u->fee < 0 || strlen(clid) >= sizeof out->clid)
        return ND_EINVAL;
    nd_recon_trade_t t;
    memset(&t, 0, sizeof t);
    t.trade_id = u->trade_id;
    t.venue_order_id = u->venue_order_id[0] ? nd_coinbase_id_key(u->venue_order_id) : 0;
    snprintf(t.clid, sizeof t.clid, "%s", clid);
    t.instrument_id = instrument_id;
    t.side = u->side == ND_MD_SIDE_ASK ? ND_SIDE_SELL : ND_SIDE_BUY;
    t.maker = false; /* liquidity_indicator is not carried into the event; nothing books it */
    t.px = u->last_px;
    t.qty = u->last_qty;
    t.commission = u->fee;
    t.ts_ns = fill->venue_ts_ns;
    snprintf(t.commission_asset, sizeof t.commission_asset, "%s", assets->quote);
    nd_err_t rc = notional(u->last_px, u->last_qty, &t.quote_qty);
    if (rc != ND_OK)
        return rc;
    *out = t;
    return ND_OK;
}

nd_err_t nd_coinbase_recon_order(const nd_md_event_t *order, uint32_t instrument_id,
                                 nd_recon_order_t *out)
{
    ND_ASSERT(order != NULL && out != NULL);
    const nd_md_order_update_t *u = &order->u.order;
    if (order->kind != ND_MD_ORDER_UPDATE || !u->venue_order_id[0] ||
        strlen(u->client_order_id) >= sizeof out->clid)
        return ND_EINVAL;
    nd_recon_order_t o;
    memset(&o, 0, sizeof o);
    memcpy(o.clid, u->client_order_id, strlen(u->client_order_id) + 1); /* fits: checked */
    o.instrument_id = instrument_id;
    o.side = u->side == ND_MD_SIDE_ASK ? ND_SIDE_SELL : ND_SIDE_BUY;
    o.type = u->px > 0 ? ND_ORDER_LIMIT : ND_ORDER_MARKET;
    o.px = u->px;
    o.qty = u->qty;
    o.venue_id = nd_coinbase_id_key(u->venue_order_id);
    o.status = nd_oadapter_status_of((nd_md_order_status_t)u->status);
    o.filled_qty = u->cum_qty;
    *out = o;
    return ND_OK;
}
