/* sim_venue.c: the simulated venue, which fills working orders against bars by the rules in
 * sim_venue.h (docs/simulated-venue.md has a worked example of each).
 *
 * Invariants:
 *  - _open[0.._open_count) holds the working orders in submission order (time priority), and
 *    _eligible_after_ns[i] is the submission time of _open[i]: it may fill only on bars whose
 *    open time is strictly later;
 *  - each order fills at most once per bar, so one bar never yields more fills than there are
 *    working orders;
 *  - nd_sim_venue_on_bar is all or nothing: it prices every fill of the bar first and applies
 *    them only when none overflowed, so an error leaves every order and the venue unchanged;
 *  - all arithmetic is integer: products in __int128, every narrowing range-checked. */
#include "noderr/assert.h"
#include "noderr/fixed.h"
#include "noderr/sim_venue.h"

#include <stdio.h>
#include <string.h>

/* A rate in hundredths of a bp is a fraction of RATE_DEN: 10,000 bps * 100. */
#define RATE_DEN 1000000LL
/* A volume share in 1e-4 units is a fraction of SHARE_DEN. */
#define SHARE_DEN 10000LL

ND_STATIC_ASSERT(RATE_DEN == 10000LL * ND_BPS_UNIT, "a rate of RATE_DEN is 100%");
ND_STATIC_ASSERT(ND_ORDERS_OPEN_MAX <= UINT32_MAX, "_open_count holds the working count");

void nd_sim_config_default(nd_sim_config_t *cfg)
{
    ND_ASSERT(cfg != NULL);
    memset(cfg, 0, sizeof *cfg);
    cfg->maker_fee_bps_e2 = 10 * ND_BPS_UNIT;
    cfg->taker_fee_bps_e2 = 10 * ND_BPS_UNIT;
    cfg->slippage_bps_e2 = 0;
    cfg->impact_bps_e2 = 0;
    cfg->max_volume_share_e4 = 1000;
}

/* Rates above 100% describe no real venue and would only widen the overflow range. */
static bool rate_valid(int64_t rate_bps_e2)
{
    return rate_bps_e2 >= 0 && rate_bps_e2 <= RATE_DEN;
}

static bool config_valid(const nd_sim_config_t *cfg)
{
    return rate_valid(cfg->maker_fee_bps_e2) && rate_valid(cfg->taker_fee_bps_e2) &&
           rate_valid(cfg->slippage_bps_e2) && rate_valid(cfg->impact_bps_e2) &&
           cfg->max_volume_share_e4 > 0 && cfg->max_volume_share_e4 <= SHARE_DEN;
}

nd_err_t nd_sim_venue_init(nd_sim_venue_t *v, const nd_sim_config_t *cfg,
                           const nd_instrument_t *instruments, uint32_t instrument_count)
{
    ND_ASSERT(v != NULL);
    ND_ASSERT(cfg != NULL);
    if (!config_valid(cfg) || instrument_count > ND_INSTRUMENTS_MAX)
        return ND_EINVAL;
    if (instrument_count > 0 && instruments == NULL)
        return ND_EINVAL;
    /* The table is indexed by id, and a lot of 0 would make the volume cap meaningless. */
    for (uint32_t i = 0; i < instrument_count; i++)
        if (instruments[i].id != i || instruments[i].lot_size <= 0)
            return ND_EINVAL;
    memset(v, 0, offsetof(nd_sim_venue_t, _open));
    v->cfg = *cfg;
    v->instruments = instruments;
    v->instrument_count = instrument_count;
    v->next_venue_id = 1;
    v->_open_count = 0;
    return ND_OK;
}

/* Index of the working order with client_id, or -1. O(working orders). */
static int64_t find_index(const nd_sim_venue_t *v, uint64_t client_id)
{
    for (uint32_t i = 0; i < v->_open_count; i++)
        if (v->_open[i]->client_id == client_id)
            return i;
    return -1;
}

/* Removes entry i, keeping the others in submission order. */
static void remove_at(nd_sim_venue_t *v, uint32_t i)
{
    ND_ASSERT(i < v->_open_count);
    uint32_t tail = v->_open_count - i - 1;
    memmove(&v->_open[i], &v->_open[i + 1], tail * sizeof v->_open[0]);
    memmove(&v->_eligible_after_ns[i], &v->_eligible_after_ns[i + 1],
            tail * sizeof v->_eligible_after_ns[0]);
    v->_open_count--;
}

/* True when the venue can price the order at all; the business checks (lot, tick, notional)
 * belong to risk, not here. */
static bool order_valid(const nd_sim_venue_t *v, const nd_order_t *o)
{
    if (o->instrument_id >= v->instrument_count || o->qty <= 0)
        return false;
    if (o->side != ND_SIDE_BUY && o->side != ND_SIDE_SELL)
        return false;
    if (o->type == ND_ORDER_MARKET)
        return true;
    return (o->type == ND_ORDER_LIMIT || o->type == ND_ORDER_STOP) && o->px > 0;
}

nd_err_t nd_sim_venue_submit(nd_sim_venue_t *v, nd_order_t *order, int64_t now_ns)
{
    ND_ASSERT(v != NULL);
    ND_ASSERT(order != NULL);
    if (order->status != ND_ORDER_NEW)
        return ND_ESTATE;
    if (!order_valid(v, order))
        return ND_EINVAL;
    if (v->_open_count >= ND_ORDERS_OPEN_MAX)
        return ND_EFULL;
    /* Fills are matched back to orders by client id, so two working orders must not share one. */
    ND_DEBUG_ASSERT(find_index(v, order->client_id) < 0);
    nd_err_t rc = nd_order_transition(order, ND_ORDER_ACCEPTED, now_ns);
    ND_ASSERT(rc == ND_OK);
    order->venue_id = v->next_venue_id++;
    v->_open[v->_open_count] = order;
    v->_eligible_after_ns[v->_open_count] = now_ns;
    v->_open_count++;
    return ND_OK;
}

nd_err_t nd_sim_venue_cancel(nd_sim_venue_t *v, uint64_t client_id, int64_t now_ns)
{
    ND_ASSERT(v != NULL);
    int64_t i = find_index(v, client_id);
    if (i < 0)
        return ND_ENOTFOUND;
    nd_order_t *o = v->_open[i];
    remove_at(v, (uint32_t)i);
    /* An order the caller finished behind the venue's back is dropped, and is not working. */
    if (nd_order_transition(o, ND_ORDER_CANCELLED, now_ns) != ND_OK)
        return ND_ENOTFOUND;
    ND_ASSERT(o->status == ND_ORDER_CANCELLED);
    return ND_OK;
}

nd_err_t nd_sim_venue_amend(nd_sim_venue_t *v, uint64_t client_id, int64_t px, int64_t qty,
                            int64_t now_ns)
{
    ND_ASSERT(v != NULL);
    int64_t i = find_index(v, client_id);
    if (i < 0)
        return ND_ENOTFOUND;
    nd_order_t *o = v->_open[i];
    bool keeps = nd_order_amend_keeps_priority(o, px, qty);
    nd_err_t rc = nd_order_amend(o, px, qty, now_ns);
    if (rc != ND_OK || keeps)
        return rc;
    /* Priority lost: to the back of the matching order, as a new order that may fill only on
     * bars after now. */
    remove_at(v, (uint32_t)i);
    v->_open[v->_open_count] = o;
    v->_eligible_after_ns[v->_open_count] = now_ns;
    v->_open_count++;
    return ND_OK;
}

/* ceil(num / den) for num >= 0, den > 0, or ND_EOVERFLOW past int64. Stays in 64 bits when it
 * can, because 128-bit division is a library call and this runs on every fill. */
static inline nd_err_t ceil_div(__int128 num, __int128 den, int64_t *out)
{
    ND_ASSERT(num >= 0);
    ND_ASSERT(den > 0);
    if (num <= INT64_MAX && den <= INT64_MAX) {
        int64_t n = (int64_t)num, d = (int64_t)den;
        *out = n / d + (n % d != 0);
        return ND_OK;
    }
    __int128 q = num / den + (num % den != 0);
    if (q > INT64_MAX)
        return ND_EOVERFLOW;
    *out = (int64_t)q;
    return ND_OK;
}

/* The execution price of a market-like fill of qty at px on a bar of the given volume:
 * px +- ceil(px * (slippage * V + impact * qty) / (RATE_DEN * V)), against the trader, a sell
 * never below one price unit. Without impact V cancels and is left out. */
static nd_err_t slipped_px(const nd_sim_config_t *cfg, nd_side_t side, int64_t px, int64_t qty,
                           int64_t volume, int64_t *out)
{
    ND_ASSERT(px > 0);
    ND_ASSERT(volume > 0);
    if (cfg->slippage_bps_e2 == 0 && cfg->impact_bps_e2 == 0) {
        *out = px;
        return ND_OK;
    }
    int64_t slip;
    if (cfg->impact_bps_e2 == 0) {
        /* A constant divisor lets the compiler multiply instead of divide. */
        if (ceil_div((__int128)px * cfg->slippage_bps_e2, RATE_DEN, &slip) != ND_OK)
            return ND_EOVERFLOW;
    } else {
        __int128 rate = (__int128)cfg->slippage_bps_e2 * volume;
        rate += (__int128)cfg->impact_bps_e2 * qty;
        __int128 num;
        if (__builtin_mul_overflow((__int128)px, rate, &num) ||
            ceil_div(num, (__int128)RATE_DEN * volume, &slip) != ND_OK)
            return ND_EOVERFLOW;
    }
    if (side == ND_SIDE_SELL) {
        *out = px - slip < 1 ? 1 : px - slip;
        return ND_OK;
    }
    return nd_fixed_add(px, slip, out);
}

/* The price an order would trade at on this bar before slippage, or false if it does not
 * trigger. *maker tells a resting limit fill from a market-like one. */
static bool base_px(const nd_order_t *o, const nd_bar_t *bar, int64_t *px, bool *maker)
{
    bool buy = o->side == ND_SIDE_BUY;
    *maker = o->type == ND_ORDER_LIMIT;
    /* A stop that has filled once has triggered: its rest is a market order. */
    if (o->type == ND_ORDER_MARKET || (o->type == ND_ORDER_STOP && o->filled_qty > 0)) {
        *px = bar->open;
        return true;
    }
    /* A limit buy and a stop sell trade when the price comes down to px, the other two when it
     * comes up; either way a bar that opens beyond px gapped through it and trades at the open. */
    bool wants_down = (o->type == ND_ORDER_LIMIT) == buy;
    if (wants_down ? bar->open <= o->px : bar->open >= o->px) {
        *px = bar->open;
        return true;
    }
    if (wants_down ? bar->low <= o->px : bar->high >= o->px) {
        *px = o->px;
        return true;
    }
    return false;
}

/* The quantity one order fills on a bar of this volume: its remaining quantity, capped at the
 * bar's volume share rounded down to the lot. 0 when nothing can fill. */
static int64_t fill_qty(const nd_sim_config_t *cfg, int64_t lot, int64_t volume,
                        int64_t remaining)
{
    ND_ASSERT(remaining > 0);
    if (volume <= 0)
        return 0;
    int64_t cap;
    if (volume <= INT64_MAX / SHARE_DEN)
        cap = volume * cfg->max_volume_share_e4 / SHARE_DEN;
    else
        cap = (int64_t)((__int128)volume * cfg->max_volume_share_e4 / SHARE_DEN);
    ND_ASSERT(cap <= volume);
    /* A cap a whole lot above the remainder cannot bind even once rounded: skip the division,
     * which is the usual case and costs tens of cycles. */
    if (cap - remaining >= lot)
        return remaining;
    cap -= cap % lot;
    return remaining < cap ? remaining : cap;
}

/* Prices the fill of o on bar into *fill without touching o. *filled is false when the order
 * does not trade on this bar. ND_EOVERFLOW when a price, notional, fee or order total would
 * overflow. */
static nd_err_t price_fill(const nd_sim_venue_t *v, const nd_order_t *o, const nd_bar_t *bar,
                           nd_fill_t *fill, bool *filled)
{
    ND_ASSERT(o->instrument_id < v->instrument_count);
    ND_ASSERT(nd_order_is_working(o));
    *filled = false;
    int64_t px;
    bool maker;
    if (!base_px(o, bar, &px, &maker))
        return ND_OK;
    const nd_instrument_t *inst = &v->instruments[o->instrument_id];
    int64_t qty = fill_qty(&v->cfg, inst->lot_size, bar->volume, nd_order_remaining(o));
    if (qty <= 0)
        return ND_OK;
    /* The limit price is the guarantee: only market-like fills pay slippage. */
    if (!maker && slipped_px(&v->cfg, o->side, px, qty, bar->volume, &px) != ND_OK)
        return ND_EOVERFLOW;
    int64_t notional, fee, total;
    if (nd_notional(inst, px, qty, &notional) != ND_OK)
        return ND_EOVERFLOW;
    ND_ASSERT(notional >= 0);
    int64_t rate = maker ? v->cfg.maker_fee_bps_e2 : v->cfg.taker_fee_bps_e2;
    if (ceil_div((__int128)notional * rate, RATE_DEN, &fee) != ND_OK)
        return ND_EOVERFLOW;
    /* Check the order's running totals now, so that applying the fill later cannot fail. */
    if (nd_fixed_add(o->fill_notional, notional, &total) != ND_OK ||
        nd_fixed_add(o->fees, fee, &total) != ND_OK)
        return ND_EOVERFLOW;
    *fill = (nd_fill_t){.client_id = o->client_id, .venue_id = o->venue_id,
                        .instrument_id = o->instrument_id, .strategy_index = o->strategy_index,
                        .side = o->side, .maker = maker, .px = px, .qty = qty,
                        .notional = notional, .fee = fee, .ts_ns = bar->ts_ns};
    *filled = true;
    return ND_OK;
}

/* Applies the n priced fills (in working-set order) to their orders and drops every order that
 * is no longer working, keeping the rest in time priority. O(working orders). */
static void apply_and_compact(nd_sim_venue_t *v, const nd_fill_t *fills, size_t n)
{
    size_t k = 0;
    uint32_t w = 0;
    for (uint32_t r = 0; r < v->_open_count; r++) {
        nd_order_t *o = v->_open[r];
        if (k < n && fills[k].client_id == o->client_id) {
            nd_err_t rc = nd_order_apply_fill(o, &fills[k]);
            ND_ASSERT(rc == ND_OK);
            k++;
        }
        if (nd_order_is_working(o)) {
            v->_open[w] = o;
            v->_eligible_after_ns[w] = v->_eligible_after_ns[r];
            w++;
        }
    }
    ND_ASSERT(k == n);
    v->_open_count = w;
}

/* A bar the venue can trade on: low > 0, open and close inside [low, high], volume >= 0. */
static bool bar_valid(const nd_bar_t *bar)
{
    return bar->low > 0 && bar->low <= bar->open && bar->open <= bar->high &&
           bar->low <= bar->close && bar->close <= bar->high && bar->volume >= 0;
}

/* The body of nd_sim_venue_on_bar once something is working: kept out of line so that the empty
 * case stays a compare and a return without saving registers. */
static __attribute__((noinline)) nd_err_t match_bar(nd_sim_venue_t *v, const nd_bar_t *bar,
                                                    nd_fill_t *fills_out, size_t *count)
{
    if (!bar_valid(bar))
        return ND_EINVAL;
    size_t n = 0;
    for (uint32_t i = 0; i < v->_open_count; i++) {
        const nd_order_t *o = v->_open[i];
        if (o->instrument_id != bar->instrument_id || bar->ts_ns <= v->_eligible_after_ns[i] ||
            !nd_order_is_working(o))
            continue;
        bool filled;
        nd_err_t rc = price_fill(v, o, bar, &fills_out[n], &filled);
        if (rc != ND_OK)
            return rc;
        n += filled;
    }
    apply_and_compact(v, fills_out, n);
    *count = n;
    return ND_OK;
}

nd_err_t nd_sim_venue_on_bar(nd_sim_venue_t *v, const nd_bar_t *bar, nd_fill_t *fills_out,
                             size_t cap, size_t *count)
{
    ND_ASSERT(v != NULL);
    ND_ASSERT(count != NULL);
    /* The engine calls this on every bar; most bars have nothing working. */
    if (v->_open_count == 0) {
        *count = 0;
        return ND_OK;
    }
    ND_ASSERT(bar != NULL);
    /* Each order fills at most once a bar, so a buffer of open_count fills always suffices. */
    ND_ASSERT(cap >= v->_open_count);
    ND_ASSERT(fills_out != NULL);
    return match_bar(v, bar, fills_out, count);
}

/* ---- the venue interface ------------------------------------------------------------------ */

static nd_err_t exec_submit(void *self, nd_order_t *order, int64_t now_ns)
{
    return nd_sim_venue_submit(self, order, now_ns);
}

static nd_err_t exec_cancel(void *self, uint64_t client_id, int64_t now_ns)
{
    return nd_sim_venue_cancel(self, client_id, now_ns);
}

static nd_err_t exec_amend(void *self, uint64_t client_id, int64_t px, int64_t qty,
                           int64_t now_ns)
{
    return nd_sim_venue_amend(self, client_id, px, qty, now_ns);
}

static nd_err_t exec_on_bar(void *self, const nd_bar_t *bar, nd_fill_t *fills_out, size_t cap,
                            size_t *count)
{
    return nd_sim_venue_on_bar(self, bar, fills_out, cap, count);
}

static uint32_t exec_open_count(const void *self)
{
    return nd_sim_venue_open_count(self);
}

static const nd_exec_venue_ops_t sim_exec_ops = {.submit = exec_submit, .cancel = exec_cancel,
                                                 .amend = exec_amend, .on_bar = exec_on_bar,
                                                 .open_count = exec_open_count};

void nd_sim_venue_exec(nd_sim_venue_t *v, const char *name, nd_exec_venue_t *out)
{
    ND_ASSERT(v != NULL && out != NULL);
    ND_ASSERT(name != NULL);
    memset(out, 0, sizeof *out);
    out->ops = &sim_exec_ops;
    out->self = v;
    snprintf(out->facts.name, sizeof out->facts.name, "%s", name);
    out->facts.maker_fee_bps_e2 = v->cfg.maker_fee_bps_e2;
    out->facts.taker_fee_bps_e2 = v->cfg.taker_fee_bps_e2;
    /* Bar simulation: an order decided on a bar reaches the venue before the next bar. */
    out->facts.amend = ND_AMEND_QTY_DOWN | ND_AMEND_QTY_UP | ND_AMEND_PRICE;
}
