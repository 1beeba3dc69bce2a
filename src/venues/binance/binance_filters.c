/* binance_filters.c: exchangeInfo symbol filters, read once and enforced before an order is
 * sent (PROTOCOLS.md A.4, filters.md).
 *
 * PRICE_FILTER: min <= price <= max and price % tickSize == 0; LOT_SIZE (MARKET_LOT_SIZE for
 * market orders when set): min <= qty <= max and qty % stepSize == 0; MIN_NOTIONAL (legacy)
 * and NOTIONAL: price * qty >= minNotional (<= maxNotional), for market orders only when the
 * filter applies to them and a reference price is known. A 0 bound disables its rule. All
 * arithmetic is integer at 8 decimals, the notional through 128 bits. */
#include "noderr/binance.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"

#include <stdio.h>
#include <string.h>

typedef struct fctx {
    const char *s;
    const nd_jtok_t *t;
    char *err;
    size_t err_len;
} fctx_t;

static bool dec_field(fctx_t *c, uint32_t obj, const char *key, int64_t *out)
{
    uint32_t v = nd_json_get(c->s, c->t, obj, key);
    if (v == 0 || c->t[v].type != ND_J_STRING ||
        nd_venue_decimal(c->s + c->t[v].start, c->t[v].end - c->t[v].start, ND_VENUE_DECIMALS,
                         out) != ND_OK) {
        snprintf(c->err, c->err_len, "exchangeInfo: filter field %s missing or not a decimal", key);
        return false;
    }
    return true;
}

static bool bool_field(fctx_t *c, uint32_t obj, const char *key)
{
    uint32_t v = nd_json_get(c->s, c->t, obj, key);
    return v != 0 && c->t[v].type == ND_J_TRUE;
}

static bool one_filter(fctx_t *c, uint32_t f, nd_binance_filters_t *o)
{
    uint32_t type = nd_json_get(c->s, c->t, f, "filterType");
    if (type == 0)
        return true;
    const nd_jtok_t *t = &c->t[type];
    if (nd_json_eq(c->s, t, "PRICE_FILTER"))
        return dec_field(c, f, "minPrice", &o->min_price) &&
               dec_field(c, f, "maxPrice", &o->max_price) && dec_field(c, f, "tickSize", &o->tick_size);
    if (nd_json_eq(c->s, t, "LOT_SIZE"))
        return dec_field(c, f, "minQty", &o->min_qty) && dec_field(c, f, "maxQty", &o->max_qty) &&
               dec_field(c, f, "stepSize", &o->step_size);
    if (nd_json_eq(c->s, t, "MARKET_LOT_SIZE"))
        return dec_field(c, f, "minQty", &o->mkt_min_qty) &&
               dec_field(c, f, "maxQty", &o->mkt_max_qty) &&
               dec_field(c, f, "stepSize", &o->mkt_step_size);
    if (nd_json_eq(c->s, t, "MIN_NOTIONAL")) {
        o->min_notional_market = bool_field(c, f, "applyToMarket");
        return dec_field(c, f, "minNotional", &o->min_notional);
    }
    if (nd_json_eq(c->s, t, "NOTIONAL")) {
        o->min_notional_market = bool_field(c, f, "applyMinToMarket");
        o->max_notional_market = bool_field(c, f, "applyMaxToMarket");
        return dec_field(c, f, "minNotional", &o->min_notional) &&
               dec_field(c, f, "maxNotional", &o->max_notional);
    }
    return true; /* other filters are enforced by the venue */
}

static nd_err_t read_symbol(fctx_t *c, uint32_t sym, nd_binance_filters_t *o)
{
    uint32_t st = nd_json_get(c->s, c->t, sym, "status");
    o->trading = st != 0 && nd_json_eq(c->s, &c->t[st], "TRADING");
    uint32_t fl = nd_json_get(c->s, c->t, sym, "filters");
    if (fl == 0 || c->t[fl].type != ND_J_ARRAY) {
        snprintf(c->err, c->err_len, "exchangeInfo: symbol %s has no filters[]", o->symbol);
        return ND_EPARSE;
    }
    for (uint32_t i = fl + 1, k = 0; k < c->t[fl].size; k++, i = c->t[i].next)
        if (c->t[i].type != ND_J_OBJECT || !one_filter(c, i, o))
            return ND_EPARSE;
    return ND_OK;
}

static nd_err_t find_symbol(fctx_t *c, const char *symbol, nd_binance_filters_t *o)
{
    uint32_t syms = nd_json_get(c->s, c->t, 0, "symbols");
    if (syms == 0 || c->t[syms].type != ND_J_ARRAY) {
        snprintf(c->err, c->err_len, "exchangeInfo: no symbols[]");
        return ND_EPARSE;
    }
    for (uint32_t i = syms + 1, k = 0; k < c->t[syms].size; k++, i = c->t[i].next) {
        if (c->t[i].type != ND_J_OBJECT)
            continue;
        uint32_t name = nd_json_get(c->s, c->t, i, "symbol");
        if (name && nd_json_eq(c->s, &c->t[name], symbol))
            return read_symbol(c, i, o);
    }
    snprintf(c->err, c->err_len, "exchangeInfo: symbol %s not listed", symbol);
    return ND_ENOTFOUND;
}

nd_err_t nd_binance_filters_parse(const char *json, size_t len, const char *symbol,
                                  nd_binance_filters_t *out, char *err, size_t err_len)
{
    ND_ASSERT(json != NULL && symbol != NULL);
    ND_ASSERT(out != NULL);
    uint32_t cap = (uint32_t)(len / 2 + 16), count;
    if (len > (64u << 20) || strlen(symbol) >= ND_NAME_MAX)
        return ND_EINVAL;
    nd_jtok_t *tok = nd_calloc(cap, sizeof *tok);
    if (!tok)
        return ND_ENOMEM;
    nd_binance_filters_t f;
    memset(&f, 0, sizeof f);
    snprintf(f.symbol, sizeof f.symbol, "%s", symbol);
    fctx_t c = {json, tok, err, err_len};
    nd_err_t rc = nd_json_tokenize(json, len, tok, cap, &count);
    if (rc != ND_OK || tok[0].type != ND_J_OBJECT) {
        snprintf(err, err_len, "exchangeInfo: not a JSON object (%s)", nd_err_name(rc));
        rc = ND_EPARSE;
    } else {
        rc = find_symbol(&c, symbol, &f);
    }
    nd_free(tok);
    if (rc == ND_OK)
        *out = f;
    return rc;
}

static bool lot_ok(int64_t qty, int64_t min, int64_t max, int64_t step)
{
    return qty > 0 && (min == 0 || qty >= min) && (max == 0 || qty <= max) &&
           (step == 0 || qty % step == 0);
}

nd_reject_t nd_binance_filters_check(const nd_binance_filters_t *f, const nd_binance_order_t *o)
{
    ND_ASSERT(f != NULL && o != NULL);
    if (!f->trading)
        return ND_REJECT_VENUE_SYMBOL_NOT_TRADING;
    bool market = o->type == ND_BINANCE_MARKET;
    if (!market) {
        if (o->px <= 0 || (f->min_price && o->px < f->min_price) ||
            (f->max_price && o->px > f->max_price) || (f->tick_size && o->px % f->tick_size))
            return ND_REJECT_INVALID_PRICE;
        if (o->type == ND_BINANCE_STOP_LOSS_LIMIT &&
            (o->stop_px <= 0 || (f->tick_size && o->stop_px % f->tick_size)))
            return ND_REJECT_INVALID_PRICE;
    }
    if (!lot_ok(o->qty, f->min_qty, f->max_qty, f->step_size))
        return ND_REJECT_INVALID_QUANTITY;
    if (market && (f->mkt_max_qty || f->mkt_step_size) &&
        !lot_ok(o->qty, f->mkt_min_qty, f->mkt_max_qty, f->mkt_step_size))
        return ND_REJECT_INVALID_QUANTITY;
    int64_t px = market ? o->ref_px : o->px;
    if (px <= 0)
        return ND_REJECT_NONE; /* market order without a reference price: the venue checks */
    __int128 notional = (__int128)px * o->qty / 100000000; /* 8 + 8 decimals -> 8 */
    if (f->min_notional && (!market || f->min_notional_market) && notional < f->min_notional)
        return ND_REJECT_BELOW_MIN_NOTIONAL;
    if (f->max_notional && (!market || f->max_notional_market) && notional > f->max_notional)
        return ND_REJECT_ABOVE_MAX_NOTIONAL;
    return ND_REJECT_NONE;
}
