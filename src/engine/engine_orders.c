/* engine_orders.c: what happens between a strategy's wish and the venue: sizing by the
 * portfolio, the instrument and account checks, the risk checks, submission, cancellation and
 * the risk-driven flattening of every position.
 *
 * A rejected order never takes a pool slot: it lives on the stack just long enough to be
 * emitted as an event with its reason.
 *
 * Strict pre-trade surveillance (cfg.pretrade_profile): every strategy of the engine trades for
 * one account and one beneficial owner (surveillance ids 0 and 0; symbol = instrument id;
 * order id = the low 32 bits of the client id). An order that passed the account and risk
 * checks is checked last, so a blocked order is one that would otherwise have been sent; what
 * is sent, cancelled and filled is applied so the state follows the resting orders. A stop
 * order rests in that state at its stop price (conservatively: it could trade there). */
#include "engine_int.h"
#include "noderr/assert.h"
#include "noderr/log.h"
#include "noderr/fixed.h"

#include <string.h>

static int64_t abs64(int64_t v)
{
    return v < 0 ? -v : v;
}

nd_order_t *nd__engine_find_live(nd_engine_t *e, uint64_t client_id)
{
    for (uint32_t k = 0; k < e->live_count; k++)
        if (e->live[k]->client_id == client_id)
            return e->live[k];
    return NULL;
}

void nd__engine_release_done(nd_engine_t *e)
{
    uint32_t kept = 0;
    for (uint32_t k = 0; k < e->live_count; k++) {
        nd_order_t *o = e->live[k];
        if (nd_order_is_done(o))
            nd_pool_put(&e->order_pool, o);
        else
            e->live[kept++] = o;
    }
    e->live_count = kept;
}

/* Quantity the portfolio's sizing rule gives a strategy on an instrument, rounded down to the
 * lot; 0 when it cannot be sized (no price yet, no equity). */
static int64_t sized_qty(nd_engine_t *e, uint32_t s, const nd_instrument_t *inst)
{
    const nd_sizing_t *sz = &e->cfg.sizing;
    if (sz->kind == ND_SIZING_FIXED)
        return nd_fixed_floor_to(sz->fixed_qty, inst->lot_size);
    int64_t px = nd_portfolio_last_px(e->portfolio, inst->id);
    int64_t equity = nd_portfolio_strategy_equity(e->portfolio, s), budget = 0, qty = 0;
    if (px <= 0 || equity <= 0)
        return 0;
    if (nd_fixed_mul_div(equity, sz->percent_e2, 10000, ND_ROUND_DOWN, &budget) != ND_OK)
        return 0;
    int shift = inst->px_decimals + inst->qty_decimals - ND_CASH_DECIMALS;
    if (nd_fixed_mul_div(budget, nd_pow10(shift), px, ND_ROUND_DOWN, &qty) != ND_OK)
        return 0;
    return nd_fixed_floor_to(qty, inst->lot_size);
}

#define ALL_STRATEGIES UINT32_MAX

/* What a working order may still trade: its remaining quantity, or more while an amend raising
 * it is in flight (the venue may apply it at any moment). */
static int64_t exposure_qty(const nd_order_t *o)
{
    int64_t q = nd_order_remaining(o);
    if (o->_amend_qty > 0 && o->_amend_qty - o->filled_qty > q)
        q = o->_amend_qty - o->filled_qty;
    return q;
}

/* Quantity of working orders on an instrument and side: one strategy's (its flattening orders
 * included: they sell what it holds), or every strategy's without the flattening orders (they
 * only ever reduce the position). */
static int64_t working_qty(nd_engine_t *e, uint32_t strategy, uint32_t instrument_id,
                           nd_side_t side, const nd_order_t *exclude)
{
    int64_t q = 0;
    for (uint32_t k = 0; k < e->live_count; k++) {
        const nd_order_t *o = e->live[k];
        bool counted = strategy == ALL_STRATEGIES ? !o->risk_flatten : o->strategy_index == strategy;
        if (counted && o != exclude && o->instrument_id == instrument_id && o->side == side)
            q += exposure_qty(o);
    }
    return q;
}

/* Instrument and account rules, before risk: lot and tick multiples, minimum notional, cash for
 * a buy (at the last price plus the taker fee), holdings for a sell when shorting is off. */
static nd_reject_t check_account(nd_engine_t *e, const nd_order_t *o, const nd_instrument_t *inst,
                                 const nd_order_t *replaced)
{
    if (o->qty <= 0 || o->qty % inst->lot_size != 0)
        return ND_REJECT_INVALID_QUANTITY;
    if (o->type != ND_ORDER_MARKET && (o->px <= 0 || o->px % inst->tick_size != 0))
        return ND_REJECT_INVALID_PRICE;
    int64_t last = nd_portfolio_last_px(e->portfolio, inst->id);
    if (last <= 0)
        return ND_REJECT_NO_MARKET_DATA;
    int64_t ref = o->type == ND_ORDER_MARKET ? last : o->px, notional = 0, fee = 0;
    if (nd_notional(inst, ref, o->qty, &notional) != ND_OK)
        return ND_REJECT_OVERFLOW;
    if (notional < inst->min_notional)
        return ND_REJECT_BELOW_MIN_NOTIONAL;
    if (o->side == ND_SIDE_BUY) {
        /* The fee the venue declares, never one read from inside it. */
        int64_t taker = nd__engine_venue(e, inst->id)->facts.taker_fee_bps_e2;
        if (nd_fixed_mul_div(notional, taker, 1000000, ND_ROUND_UP, &fee) != ND_OK)
            return ND_REJECT_OVERFLOW;
        const nd_position_t *pos =
            nd_portfolio_position(e->portfolio, o->strategy_index, inst->id);
        /* Buying back a short needs cash only for the part that opens a long, plus the fee. */
        int64_t opening = pos->qty < 0 ? o->qty + pos->qty : o->qty, needed = 0;
        if (opening == o->qty)
            needed = notional; /* notional x qty / qty, exactly: no 128-bit division */
        else if (opening > 0 &&
                 nd_fixed_mul_div(notional, opening, o->qty, ND_ROUND_UP, &needed) != ND_OK)
            return ND_REJECT_OVERFLOW;
        if (needed + fee > nd_portfolio_cash(e->portfolio))
            return ND_REJECT_INSUFFICIENT_FUNDS;
    } else if (!e->cfg.allow_short) {
        const nd_position_t *pos =
            nd_portfolio_position(e->portfolio, o->strategy_index, inst->id);
        if (o->qty + working_qty(e, o->strategy_index, inst->id, ND_SIDE_SELL, replaced) >
            pos->qty)
            return ND_REJECT_INSUFFICIENT_POSITION;
    }
    return ND_REJECT_NONE;
}

static nd_err_t surv_event(const nd_engine_t *e, const nd_order_t *o, nd_surv_kind_t kind,
                           nd_surv_event_t *ev)
{
    const nd_instrument_t *inst = &e->instruments[o->instrument_id];
    return nd_surv_event_from_order(o, inst, kind, 0, 0, o->instrument_id,
                                    (uint32_t)o->client_id, e->now_ns, ev);
}

/* The pre-trade verdict on an order about to be sent: O(resting orders), no allocation. */
static nd_reject_t surv_check(const nd_engine_t *e, const nd_order_t *o)
{
    nd_surv_event_t ev;
    if (surv_event(e, o, ND_SURV_NEW, &ev) != ND_OK)
        return ND_REJECT_OVERFLOW; /* not representable at the surveillance scale */
    return nd_surv_pretrade_check(e->pretrade, &ev, NULL);
}

/* Tells the pre-trade state what happened to an order: sent (new), cancelled, or filled by
 * fill_qty at fill_px. The state's bounds match the engine's (ND_ORDERS_OPEN_MAX resting
 * orders, rings reserved at start), so applying cannot fail for an order the engine holds. */
void nd__engine_surv_apply(nd_engine_t *e, const nd_order_t *o, nd_surv_kind_t kind,
                           int64_t fill_px, int64_t fill_qty)
{
    if (!e->pretrade)
        return;
    nd_order_t copy = *o;
    if (kind == ND_SURV_FILL) {
        copy.type = ND_ORDER_LIMIT;
        copy.px = fill_px;
        copy.qty = fill_qty;
    }
    nd_surv_event_t ev;
    if (surv_event(e, &copy, kind, &ev) != ND_OK)
        return; /* only a risk-flattening order can get here unrepresentable; it never rests */
    nd_err_t rc = nd_surv_pretrade_apply(e->pretrade, &ev);
    ND_ASSERT(rc == ND_OK);
}

static void reject(nd_engine_t *e, nd_order_t *o, nd_reject_t reason)
{
    nd_err_t rc = nd_order_reject(o, reason, e->now_ns);
    ND_ASSERT(rc == ND_OK);
    ND_ASSERT((int)reason > 0 && (int)reason < ND_REJECT_SLOTS);
    e->rejects[reason]++;
    e->stats.orders_rejected++;
    nd__engine_emit(e, ND_EVENT_ORDER, o);
}

/* Takes a pool slot, hands the order to the venue, tracks it as live. */
static nd_err_t send_to_venue(nd_engine_t *e, const nd_order_t *draft, uint64_t *client_id)
{
    nd_order_t *o = nd_pool_get(&e->order_pool);
    if (!o) {
        nd_order_t copy = *draft;
        reject(e, &copy, ND_REJECT_POOL_EXHAUSTED);
        return ND_OK;
    }
    *o = *draft;
    nd_exec_venue_t *venue = nd__engine_venue(e, o->instrument_id);
    nd_err_t rc = venue->ops->submit(venue->self, o, e->now_ns);
    if (rc != ND_OK) {
        /* The venue refused it: full, or unreachable just now (a disconnect). A flattening order
         * is sent again after the next event (nd__engine_ensure_flat). */
        nd_order_t copy = *draft;
        nd_pool_put(&e->order_pool, o);
        reject(e, &copy, rc == ND_EFULL ? ND_REJECT_POOL_EXHAUSTED : ND_REJECT_VENUE_ERROR);
        return ND_OK;
    }
    ND_ASSERT(e->live_count < e->cfg.orders_max);
    e->live[e->live_count++] = o;
    /* A venue with latency leaves the order NEW: it is counted when its ACCEPTED comes back
     * (engine_events.c). */
    ND_ASSERT(o->status == ND_ORDER_ACCEPTED || o->status == ND_ORDER_NEW);
    e->stats.orders_accepted += o->status == ND_ORDER_ACCEPTED;
    o->_announced = o->status == ND_ORDER_NEW; /* listeners see it sent, then its answer */
    nd__engine_surv_apply(e, o, ND_SURV_NEW, 0, 0);
    if (client_id)
        *client_id = o->client_id;
    return nd__engine_emit(e, ND_EVENT_ORDER, o);
}

/* The checks an order passes before it is sent, in order: halts (reported as halts, whatever
 * else is wrong with the order), the account and instrument rules, risk, then strict pre-trade
 * surveillance. replaced: the working order an amend would replace (its quantity is not counted
 * twice), or NULL. */
static nd_reject_t order_checks(nd_engine_t *e, const nd_order_t *o, const nd_instrument_t *inst,
                                const nd_order_t *replaced)
{
    if (e->risk.kill_switch)
        return ND_REJECT_KILL_SWITCH;
    if (e->store_failed || e->risk.halted || e->stopping || e->strategies[o->strategy_index].paused)
        return ND_REJECT_HALTED;
    nd_reject_t reason = check_account(e, o, inst, replaced);
    if (reason == ND_REJECT_NONE) {
        nd_risk_view_t view = {
            .now_ns = e->now_ns,
            .last_px = nd_portfolio_last_px(e->portfolio, inst->id),
            .net_qty = nd_portfolio_net_qty(e->portfolio, inst->id),
            .pending_qty = working_qty(e, ALL_STRATEGIES, inst->id, o->side, replaced),
            .equity = nd_portfolio_equity(e->portfolio),
        };
        reason = nd_risk_check_order(&e->risk, inst, o, &view);
    }
    if (reason == ND_REJECT_NONE && e->pretrade)
        reason = surv_check(e, o);
    return reason;
}

static nd_err_t submit_checked(nd_engine_t *e, uint32_t s, const nd_order_intent_t *intent,
                               uint64_t *client_id)
{
    e->stats.orders_submitted++;
    nd_order_t o;
    nd_order_init(&o, e->next_client_id++, intent, s, e->now_ns);
    if (intent->instrument_id >= e->instrument_count) {
        o.instrument_id = 0;
        reject(e, &o, ND_REJECT_UNKNOWN_INSTRUMENT);
        return ND_OK;
    }
    nd_reject_t reason = order_checks(e, &o, &e->instruments[intent->instrument_id], NULL);
    if (reason != ND_REJECT_NONE) {
        reject(e, &o, reason);
        return ND_OK;
    }
    return send_to_venue(e, &o, client_id);
}

static nd__strategy_slot_t *slot_of(nd_strategy_ctx_t *ctx)
{
    nd_engine_t *e = ctx->engine;
    ND_ASSERT(ctx->strategy_index < e->strategy_count);
    return &e->strategies[ctx->strategy_index];
}

nd_err_t nd__engine_submit(nd_strategy_ctx_t *ctx, const nd_order_intent_t *intent,
                           uint64_t *client_id)
{
    nd_engine_t *e = ctx->engine;
    ND_ASSERT(intent != NULL);
    slot_of(ctx);
    nd_order_intent_t sized = *intent;
    if (sized.qty == 0 && sized.instrument_id < e->instrument_count)
        sized.qty = sized_qty(e, ctx->strategy_index, &e->instruments[sized.instrument_id]);
    return submit_checked(e, ctx->strategy_index, &sized, client_id);
}

static nd_err_t cancel_order(nd_engine_t *e, nd_order_t *o)
{
    nd_exec_venue_t *venue = nd__engine_venue(e, o->instrument_id);
    nd_err_t rc = venue->ops->cancel(venue->self, o->client_id, e->now_ns);
    if (rc != ND_OK)
        return rc;
    if (!nd_order_is_done(o)) {
        o->cancel_sent_ns = e->now_ns; /* a venue with latency: booked when CANCELLED comes */
        return ND_OK;
    }
    e->stats.orders_cancelled++;
    nd__engine_surv_apply(e, o, ND_SURV_CANCEL, 0, 0);
    return nd__engine_emit(e, ND_EVENT_ORDER, o);
}

/* The engine's flattening orders belong to risk, not to the strategy whose position they close:
 * no strategy action may cancel or replace them (the defect this guards against left positions
 * open through a halt). ND_SIM_PLANT_CANCEL_FLATTEN re-creates that defect in one test build
 * only, to prove the simulation harness catches it. */
static bool strategy_may_cancel(const nd_order_t *o)
{
#ifdef ND_SIM_PLANT_CANCEL_FLATTEN
    (void)o;
    return true;
#else
    return !o->risk_flatten;
#endif
}

nd_err_t nd__engine_cancel(nd_strategy_ctx_t *ctx, uint64_t client_id)
{
    nd_engine_t *e = ctx->engine;
    nd_order_t *o = nd__engine_find_live(e, client_id);
    if (!o || o->strategy_index != ctx->strategy_index)
        return ND_ENOTFOUND;
    if (!strategy_may_cancel(o))
        return ND_ESTATE;
    nd_err_t rc = cancel_order(e, o);
    nd__engine_release_done(e);
    return rc;
}

nd_err_t nd__engine_amended(nd_engine_t *e, nd_order_t *o, const nd_order_t *old)
{
    o->_amend_px = o->_amend_qty = 0;
    e->stats.orders_amended++;
    /* To surveillance an amend is the old order gone and the new one resting. */
    nd__engine_surv_apply(e, old, ND_SURV_CANCEL, 0, 0);
    nd__engine_surv_apply(e, o, ND_SURV_NEW, 0, 0);
    return nd__engine_emit(e, ND_EVENT_ORDER_AMENDED, o);
}

/* The amended order as the checks see it: the new price, and the quantity it may still trade
 * (what is filled is done). */
static nd_reject_t amend_checks(nd_engine_t *e, const nd_order_t *o, int64_t px, int64_t qty)
{
    nd_order_t draft = *o;
    draft.px = px;
    draft.qty = qty - o->filled_qty;
    draft.filled_qty = 0;
    return order_checks(e, &draft, &e->instruments[o->instrument_id], o);
}

nd_err_t nd__engine_amend(nd_strategy_ctx_t *ctx, uint64_t client_id, int64_t px, int64_t qty,
                          nd_reject_t *reason)
{
    nd_engine_t *e = ctx->engine;
    if (reason)
        *reason = ND_REJECT_NONE;
    nd_order_t *o = nd__engine_find_live(e, client_id);
    if (!o || o->strategy_index != ctx->strategy_index)
        return ND_ENOTFOUND;
    if (!nd_order_is_working(o) || o->risk_flatten || o->_amend_qty > 0 || e->risk.halted || e->risk.kill_switch)
        return ND_ESTATE;
    if (o->type == ND_ORDER_MARKET || px <= 0 || qty <= o->filled_qty)
        return ND_EINVAL;
    unsigned needs = nd_order_amend_needs(o, px, qty);
    if (needs == 0)
        return ND_EINVAL;
    nd_exec_venue_t *venue = nd__engine_venue(e, o->instrument_id);
    if (!venue->ops->amend || (venue->facts.amend & needs) != needs)
        return ND_EDECLINED;
    nd_reject_t why = amend_checks(e, o, px, qty);
    if (why != ND_REJECT_NONE) {
        e->rejects[why]++;
        e->stats.amends_refused++;
        if (reason)
            *reason = why;
        return ND_EDECLINED;
    }
    nd_order_t old = *o;
    nd_err_t rc = venue->ops->amend(venue->self, client_id, px, qty, e->now_ns);
    if (rc != ND_OK)
        return rc;
    if (!venue->ops->poll)
        return nd__engine_amended(e, o, &old); /* a venue without latency applied it */
    o->_amend_px = px;
    o->_amend_qty = qty;
    return ND_OK;
}

/* Cancels one strategy's working orders on an instrument, only those on `side` when side is
 * not 0 (a new target replaces them). */
static void cancel_strategy_orders(nd_engine_t *e, uint32_t s, uint32_t instrument_id, int side)
{
    for (uint32_t k = 0; k < e->live_count; k++) {
        nd_order_t *o = e->live[k];
        if (o->strategy_index == s && o->instrument_id == instrument_id &&
            (side == 0 || (int)o->side == side) && strategy_may_cancel(o))
            cancel_order(e, o);
    }
    nd__engine_release_done(e);
}

void nd__engine_cancel_strategy(nd_engine_t *e, uint32_t s)
{
    for (uint32_t k = 0; k < e->live_count; k++) {
        nd_order_t *o = e->live[k];
        if (o->strategy_index == s && strategy_may_cancel(o))
            cancel_order(e, o);
    }
    nd__engine_release_done(e);
}

nd_err_t nd_engine_stop_trading(nd_engine_t *e)
{
    ND_ASSERT(e != NULL && e->started);
    if (e->stopping)
        return ND_OK;
    e->stopping = true;
    ND_LOG(ND_LOG_INFO, "event=stop_trading working=%u", e->live_count);
    for (uint32_t k = 0; k < e->live_count; k++)
        if (strategy_may_cancel(e->live[k]))
            cancel_order(e, e->live[k]);
    nd__engine_release_done(e);
    return nd__engine_flush(e);
}

uint32_t nd_engine_working_count(const nd_engine_t *e)
{
    return e->live_count;
}

const nd_order_t *nd_engine_working(const nd_engine_t *e, uint32_t k)
{
    ND_ASSERT(k < e->live_count);
    return e->live[k];
}

nd_err_t nd__engine_target(nd_strategy_ctx_t *ctx, uint32_t instrument_id, int direction)
{
    nd_engine_t *e = ctx->engine;
    uint32_t s = ctx->strategy_index;
    if (instrument_id >= e->instrument_count || direction < -1 || direction > 1)
        return ND_EINVAL;
    const nd_instrument_t *inst = &e->instruments[instrument_id];
    int64_t held = nd_portfolio_position(e->portfolio, s, instrument_id)->qty;
    if (direction < 0 && !e->cfg.allow_short)
        direction = 0; /* a spot account cannot short: the nearest it can be is flat */
    if ((direction > 0 && held > 0) || (direction < 0 && held < 0) ||
        (direction == 0 && held == 0)) {
        /* Already there: orders working against the target go; a partly filled order toward
         * it keeps working. */
        cancel_strategy_orders(e, s, instrument_id, direction == 0 ? 0 : -direction);
        return ND_OK;
    }
    int64_t want = direction == 0 ? 0 : direction * sized_qty(e, s, inst);
    cancel_strategy_orders(e, s, instrument_id, 0);
    int64_t delta = want - held;
    if (delta == 0)
        return ND_OK;
    nd_order_intent_t intent = {
        .instrument_id = instrument_id,
        .side = delta > 0 ? ND_SIDE_BUY : ND_SIDE_SELL,
        .type = ND_ORDER_MARKET,
        .px = 0,
        .qty = abs64(delta),
    };
    return submit_checked(e, s, &intent, NULL);
}

int64_t nd__engine_position(nd_strategy_ctx_t *ctx, uint32_t instrument_id)
{
    nd_engine_t *e = ctx->engine;
    if (instrument_id >= e->instrument_count)
        return 0;
    return nd_portfolio_position(e->portfolio, ctx->strategy_index, instrument_id)->qty;
}

/* Signed quantity the working flattening orders of (s, i) will trade: what they cover. */
static int64_t flatten_working(nd_engine_t *e, uint32_t s, uint32_t i)
{
    int64_t q = 0;
    for (uint32_t k = 0; k < e->live_count; k++) {
        const nd_order_t *o = e->live[k];
        if (o->risk_flatten && o->strategy_index == s && o->instrument_id == i)
            q += o->side == ND_SIDE_BUY ? nd_order_remaining(o) : -nd_order_remaining(o);
    }
    return q;
}

static void cancel_flatten_orders(nd_engine_t *e, uint32_t s, uint32_t i)
{
    for (uint32_t k = 0; k < e->live_count; k++) {
        nd_order_t *o = e->live[k];
        if (o->risk_flatten && o->strategy_index == s && o->instrument_id == i)
            cancel_order(e, o);
    }
    nd__engine_release_done(e);
}

nd_err_t nd__engine_ensure_flat(nd_engine_t *e)
{
    /* A strategy order whose cancel the venue refused at the trip is cancelled again: nothing of
     * the strategies' may work while halted. */
    for (uint32_t k = 0; k < e->live_count; k++)
        if (!e->live[k]->risk_flatten)
            cancel_order(e, e->live[k]);
    nd__engine_release_done(e);
    for (uint32_t s = 0; s < e->strategy_count; s++) {
        for (uint32_t i = 0; i < e->instrument_count; i++) {
            int64_t held = nd_portfolio_position(e->portfolio, s, i)->qty;
            int64_t covered = flatten_working(e, s, i);
            int64_t missing = -(held + covered); /* what more the flattening must trade */
            if (missing == 0)
                continue; /* flat, or the working orders close exactly what is held */
            /* Working orders on the wrong side, or more than is held: they no longer match. */
            bool over = held > 0   ? covered > 0 || covered < -held
                        : held < 0 ? covered < 0 || covered > -held
                                   : covered != 0;
            if (over) {
                /* E.g. a strategy order that could not be cancelled filled during the halt:
                 * start over from the position. A venue that refuses
                 * the cancel leaves them working; this is tried again after the next event. */
                cancel_flatten_orders(e, s, i);
                covered = flatten_working(e, s, i);
                missing = covered == 0 ? -held : 0;
            }
            /* Whole lots only: no venue takes less than its step (Binance: LOT_SIZE), and a
             * live position is rarely whole lots (a buy's fee paid in the asset bought). What
             * is left under one lot is dust the venue cannot trade: it stays, shown as held. */
            int64_t lot = e->instruments[i].lot_size;
            int64_t qty = lot > 0 ? nd_fixed_floor_to(abs64(missing), lot) : abs64(missing);
            if (qty == 0)
                continue;
            /* Only the difference is sent: what works already keeps its place. */
            nd_order_intent_t intent = {i, missing < 0 ? ND_SIDE_SELL : ND_SIDE_BUY,
                                        ND_ORDER_MARKET, 0, qty};
            nd_order_t o;
            nd_order_init(&o, e->next_client_id++, &intent, s, e->now_ns);
            o.risk_flatten = true;
            /* Risk's own orders reduce risk: they bypass the checks that a halt closes. */
            nd_err_t rc = send_to_venue(e, &o, NULL);
            if (rc != ND_OK)
                return rc;
        }
    }
    return ND_OK;
}

void nd__engine_release_flatten(nd_engine_t *e)
{
    for (uint32_t k = 0; k < e->live_count; k++)
        if (e->live[k]->risk_flatten)
            cancel_order(e, e->live[k]);
    nd__engine_release_done(e);
}
