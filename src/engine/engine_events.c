/* engine_events.c: the event-level step (nd_engine_on_event) and the asynchronous order-update
 * path (nd_engine_on_order_update); engine.h states the step order, docs/engine.md the model.
 *
 * Invariants: an order changes state here only through order.h's state machine, on the engine's
 * own copy; every fill booked belongs to a live order and never overfills it (nd_order_apply_fill
 * refuses that); strategies hear of fills only once every update of the poll is booked (the rule
 * book_fills keeps on bars); the per-event path does not allocate. */
#include "engine_int.h"
#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/log.h"

#include <string.h>

nd_err_t nd__engine_events_start(nd_engine_t *e)
{
    e->update_buf = nd_calloc(ND__ENGINE_UPDATE_BUF, sizeof *e->update_buf);
    e->event_fills = nd_calloc(ND__ENGINE_UPDATE_BUF, sizeof *e->event_fills);
    if (!e->update_buf || !e->event_fills)
        return ND_ENOMEM;
    if (e->cfg.book_levels_max == 0)
        return ND_OK;
    if (e->cfg.book_levels_max > ND_BOOK_LEVELS_MAX)
        return ND_EINVAL;
    e->books = nd_calloc(e->instrument_count, sizeof *e->books);
    e->book_update_id = nd_calloc(e->instrument_count, sizeof *e->book_update_id);
    if (!e->books || !e->book_update_id)
        return ND_ENOMEM;
    for (uint32_t i = 0; i < e->instrument_count; i++) {
        nd_err_t rc = nd_book_init(&e->books[i], e->cfg.book_levels_max);
        if (rc != ND_OK)
            return rc;
    }
    return ND_OK;
}

void nd__engine_events_free(nd_engine_t *e)
{
    if (e->books)
        for (uint32_t i = 0; i < e->instrument_count; i++)
            nd_book_deinit(&e->books[i]);
    nd_free(e->books);
    nd_free(e->book_update_id);
    nd_free(e->update_buf);
    nd_free(e->event_fills);
}

/* Calls on_fill for the fills of the updates just booked, then forgets them. */
static void tell_fills(nd_engine_t *e)
{
    for (size_t k = 0; k < e->event_fill_count; k++) {
        const nd_fill_t *f = &e->event_fills[k];
        if (f->strategy_index < e->strategy_count) {
            nd__strategy_slot_t *slot = &e->strategies[f->strategy_index];
            if (slot->def->on_fill)
                slot->def->on_fill(slot->state, f, &slot->ctx);
        }
    }
    e->event_fill_count = 0;
}

static nd_err_t book_fill(nd_engine_t *e, nd_order_t *o, const nd_fill_t *f)
{
    if (o->status == ND_ORDER_NEW) {
        /* A fill is the venue's acceptance too (a venue may not ack separately). */
        nd_err_t rc = nd_order_transition(o, ND_ORDER_ACCEPTED, f->ts_ns);
        ND_ASSERT(rc == ND_OK);
        o->venue_id = f->venue_id;
        e->stats.orders_accepted++;
        /* Listeners see the acceptance before the fill, whatever order the venue's messages
         * came in (a fill may overtake its ack); the late ack then changes nothing. */
        rc = nd__engine_emit(e, ND_EVENT_ORDER, o);
        if (rc != ND_OK)
            return rc;
    }
    nd_err_t rc = nd_order_apply_fill(o, f);
    if (rc != ND_OK)
        return rc; /* an overfill or a foreign fill: refused, the order unchanged */
    rc = nd_portfolio_apply_fill(e->portfolio, f);
    if (rc != ND_OK)
        return rc;
    e->stats.fills++;
    nd__engine_emit(e, ND_EVENT_FILL, f);
    nd__engine_surv_apply(e, o, ND_SURV_FILL, f->px, f->qty);
    nd__engine_emit(e, ND_EVENT_ORDER, o);
    ND_ASSERT(e->event_fill_count < ND__ENGINE_UPDATE_BUF);
    e->event_fills[e->event_fill_count++] = *f;
    return ND_OK;
}

/* One update on the engine's order: the transition, the counters, the events. */
static nd_err_t apply_update(nd_engine_t *e, const nd_order_update_t *u)
{
    nd_order_t *o = nd__engine_find_live(e, u->client_id);
    if (!o)
        return u->kind == ND_UPDATE_CANCEL_REJECTED || u->kind == ND_UPDATE_AMEND_REJECTED
                   ? ND_OK /* a refused request about an order already done and released */
                   : ND_ENOTFOUND;
    e->stats.order_updates++;
    nd_err_t rc = ND_OK;
    switch (u->kind) {
    case ND_UPDATE_ACCEPTED:
        if (o->status != ND_ORDER_NEW)
            return ND_OK; /* a repeated ack changes nothing */
        rc = nd_order_transition(o, ND_ORDER_ACCEPTED, u->ts_ns);
        ND_ASSERT(rc == ND_OK);
        o->venue_id = u->venue_id;
        e->stats.orders_accepted++;
        return nd__engine_emit(e, ND_EVENT_ORDER, o);
    case ND_UPDATE_REJECTED: {
        nd_reject_t reason = u->reason > ND_REJECT_NONE && (int)u->reason < ND_REJECT_SLOTS
                                 ? u->reason
                                 : ND_REJECT_VENUE_ERROR;
        if (nd_order_reject(o, reason, u->ts_ns) != ND_OK)
            return ND_ESTATE; /* only a NEW order can be rejected */
        e->rejects[reason]++;
        e->stats.orders_rejected++;
        return nd__engine_emit(e, ND_EVENT_ORDER, o);
    }
    case ND_UPDATE_FILL:
        return book_fill(e, o, &u->fill);
    case ND_UPDATE_CANCELLED:
    case ND_UPDATE_EXPIRED:
        if (o->status == ND_ORDER_NEW) {
            /* Dropped before it was acknowledged: accepted and at once done. */
            rc = nd_order_transition(o, ND_ORDER_ACCEPTED, u->ts_ns);
            ND_ASSERT(rc == ND_OK);
            e->stats.orders_accepted++;
        }
        rc = nd_order_transition(o, ND_ORDER_CANCELLED, u->ts_ns);
        if (rc != ND_OK)
            return rc;
        e->stats.orders_cancelled++;
        nd__engine_surv_apply(e, o, ND_SURV_CANCEL, 0, 0);
        return nd__engine_emit(e, ND_EVENT_ORDER, o);
    case ND_UPDATE_CANCEL_REJECTED:
        o->cancel_sent_ns = 0;
        return ND_OK; /* the order's last fill is (or was) booked on its own */
    case ND_UPDATE_AMENDED: {
        nd_order_t old = *o;
        rc = nd_order_amend(o, u->px, u->qty, u->ts_ns);
        if (rc != ND_OK)
            return rc; /* the venue amended what cannot be amended: stop, do not guess */
        return nd__engine_amended(e, o, &old);
    }
    case ND_UPDATE_AMEND_REJECTED:
        o->_amend_px = o->_amend_qty = 0;
        e->stats.amends_refused++;
        return ND_OK;
    }
    return ND_EINVAL;
}

/* Books every update each event-level venue makes visible by now: the transitions, then the
 * finished orders back to the pool, then on_fill. */
static nd_err_t drain_venues(nd_engine_t *e)
{
    for (uint32_t v = 0; v < e->venue_count; v++) {
        nd_exec_venue_t *venue = e->venues[v];
        if (!venue->ops->poll)
            continue;
        for (;;) {
            size_t count = 0;
            nd_err_t rc = venue->ops->poll(venue->self, e->now_ns, e->update_buf,
                                           ND__ENGINE_UPDATE_BUF, &count);
            if (rc != ND_OK)
                return rc;
            ND_ASSERT(count <= ND__ENGINE_UPDATE_BUF);
            for (size_t k = 0; k < count; k++) {
                rc = apply_update(e, &e->update_buf[k]);
                if (rc == ND_ENOTFOUND) {
                    /* A venue speaking of an order the engine does not hold: its mistake, not
                     * a reason to stop; logged so it is seen. */
                    ND_LOG(ND_LOG_WARN, "event=order_update_unknown client_id=%llu kind=%d",
                           (unsigned long long)e->update_buf[k].client_id,
                           (int)e->update_buf[k].kind);
                    continue;
                }
                if (rc != ND_OK)
                    return rc;
            }
            if (count == 0)
                break; /* the common case: nothing visible yet */
            nd__engine_release_done(e);
            tell_fills(e);
            if (count < ND__ENGINE_UPDATE_BUF)
                break;
        }
    }
    return ND_OK;
}

static bool book_side_full_for(const nd_book_t *book, const nd_book_delta_t *d)
{
    if (d->qty == 0 || (d->flags & ND_DELTA_F_CLEAR))
        return false;
    if (nd_book_levels(book, d->side) < nd_book_levels_max(book))
        return false;
    return nd_book_qty_at(book, d->side, d->px) == 0;
}

static nd_err_t check_event(nd_engine_t *e, const nd_market_event_t *ev, uint32_t *instrument)
{
    uint32_t i = nd_market_event_instrument(ev);
    int64_t ts = nd_market_event_ts(ev);
    if (i >= e->instrument_count)
        return ND_EINVAL;
    if (e->stats.bars + e->stats.events > 0 && ts < e->stats.last_ts_ns)
        return ND_EINVAL;
    switch (ev->kind) {
    case ND_MARKET_TRADE:
        if (ev->u.trade.px <= 0 || ev->u.trade.qty <= 0)
            return ND_EINVAL;
        break;
    case ND_MARKET_QUOTE:
        if (ev->u.quote.bid_px <= 0 || ev->u.quote.ask_px <= ev->u.quote.bid_px ||
            ev->u.quote.bid_qty < 0 || ev->u.quote.ask_qty < 0)
            return ND_EINVAL;
        break;
    case ND_MARKET_BOOK:
        if (!e->books)
            return ND_ESTATE;
        if (ev->u.book.px <= 0 || ev->u.book.qty < 0 ||
            (ev->u.book.side != ND_BOOK_BID && ev->u.book.side != ND_BOOK_ASK))
            return ND_EINVAL;
        /* A new level on a full side is refused (the book never evicts, book.h): checked before
         * the venue sees the delta, so the run stops with the venue and engine books equal. */
        if (book_side_full_for(&e->books[i], &ev->u.book))
            return ND_EFULL;
        break;
    case ND_MARKET_VENUE_STATUS:
        if (ev->u.status.state < ND_VENUE_CONNECTED || ev->u.status.state > ND_VENUE_STALE)
            return ND_EINVAL;
        break;
    case ND_MARKET_BAR:
        return ND_EINVAL; /* handled by nd_engine_on_bar */
    }
    if (e->stats.bars + e->stats.events == 0)
        e->stats.first_ts_ns = ts;
    e->stats.last_ts_ns = ts;
    e->stats.events++;
    *instrument = i;
    return ND_OK;
}

/* The mid, rounded down to a whole price unit: a mark, not a price anyone trades at. */
static int64_t mid_of(int64_t bid, int64_t ask)
{
    return bid + (ask - bid) / 2;
}

/* Applies a book delta to the engine's own book; true when the book is complete again (the
 * delta ends its venue event): then *view describes it and *mark_px holds its mid (0 when a side
 * is empty or the book is crossed). */
static bool apply_book(nd_engine_t *e, uint32_t i, const nd_book_delta_t *d, nd_book_view_t *view,
                       int64_t *mark_px)
{
    nd_book_t *book = &e->books[i];
    if (d->flags & ND_DELTA_F_CLEAR)
        nd_book_clear(book);
    nd_err_t rc = nd_book_set(book, d->side, d->px, d->qty);
    ND_ASSERT(rc == ND_OK); /* check_event refused a delta that does not fit */
    e->book_update_id[i] = d->update_id;
    if (!(d->flags & ND_DELTA_F_LAST))
        return false;
    /* Field by field, not memset: this runs on every complete book event. */
    view->instrument_id = i;
    view->ts_ns = d->ts_ns;
    view->update_id = d->update_id;
    view->book = book;
    view->best_bid = (nd_book_level_t){0, 0};
    view->best_ask = (nd_book_level_t){0, 0};
    view->has_bid = nd_book_best(book, ND_BOOK_BID, &view->best_bid);
    view->has_ask = nd_book_best(book, ND_BOOK_ASK, &view->best_ask);
    *mark_px = 0;
    if (view->has_bid && view->has_ask && view->best_ask.px > view->best_bid.px)
        *mark_px = mid_of(view->best_bid.px, view->best_ask.px);
    return true;
}

static void call_strategies(nd_engine_t *e, uint32_t i, const nd_market_event_t *ev,
                            const nd_book_view_t *view)
{
    for (uint32_t s = 0; s < e->strategy_count; s++) {
        nd__strategy_slot_t *slot = &e->strategies[s];
        const nd_strategy_def_t *def = slot->def;
        if (slot->instrument_id != i || slot->paused)
            continue;
        switch (ev->kind) {
        case ND_MARKET_TRADE:
            if (def->on_trade)
                def->on_trade(slot->state, &ev->u.trade, &slot->ctx);
            break;
        case ND_MARKET_QUOTE:
            if (def->on_quote)
                def->on_quote(slot->state, &ev->u.quote, &slot->ctx);
            break;
        case ND_MARKET_BOOK:
            if (view && def->on_book)
                def->on_book(slot->state, view, &slot->ctx);
            break;
        case ND_MARKET_VENUE_STATUS:
            if (def->on_venue_status)
                def->on_venue_status(slot->state, &ev->u.status, &slot->ctx);
            break;
        case ND_MARKET_BAR:
            break;
        }
    }
}

nd_err_t nd_engine_on_event(nd_engine_t *e, const nd_market_event_t *ev)
{
    ND_ASSERT(e != NULL && ev != NULL);
    ND_DEBUG_ASSERT(e->started);
    if (ev->kind == ND_MARKET_BAR)
        return nd_engine_on_bar(e, &ev->u.bar);
    e->now_ns = nd_clock_now_ns(e->clock);
    uint32_t i = 0;
    nd_err_t rc = check_event(e, ev, &i);
    if (rc != ND_OK)
        return rc;
    /* 1. timers */
    if (e->timer_count > 0)
        nd__engine_fire_timers(e);
    /* 2. the venue's matching, then every update visible now, booked */
    nd_exec_venue_t *venue = nd__engine_venue(e, i);
    if (venue->ops->on_market) {
        rc = venue->ops->on_market(venue->self, ev);
        if (rc != ND_OK)
            return rc;
    }
    rc = drain_venues(e);
    if (rc != ND_OK)
        return rc;
    /* 3. the mark */
    int64_t mark_px = 0;
    bool book_complete = false;
    nd_book_view_t view;
    switch (ev->kind) {
    case ND_MARKET_TRADE: mark_px = ev->u.trade.px; break;
    case ND_MARKET_QUOTE: mark_px = mid_of(ev->u.quote.bid_px, ev->u.quote.ask_px); break;
    case ND_MARKET_BOOK: book_complete = apply_book(e, i, &ev->u.book, &view, &mark_px); break;
    case ND_MARKET_VENUE_STATUS:
    case ND_MARKET_BAR: break;
    }
    if (mark_px > 0) {
        rc = nd_portfolio_mark(e->portfolio, i, mark_px, NULL);
        if (rc != ND_OK)
            return rc; /* a position worth more than int64 cash units: stop, never cut */
    }
    /* 3b. the anomaly breaker's model, when on (a trip takes the breaker path) */
    if (e->anomaly &&
        (rc = nd__engine_anomaly_event(e, i, ev, book_complete ? &view : NULL, mark_px)) !=
            ND_OK)
        return rc;
    /* 4. breakers and, while halted, the engine owns the positions (the step on_bar runs) */
    __int128 equity = 0;
    rc = nd__engine_risk_step(e, &equity);
    if (rc != ND_OK)
        return rc;
    e->stats.halted_events += e->risk.halted;
    /* 5. strategies, 6. flush */
    call_strategies(e, i, ev, book_complete ? &view : NULL);
    return nd__engine_step_done(e);
}

nd_err_t nd_engine_on_order_update(nd_engine_t *e, const nd_order_update_t *update)
{
    ND_ASSERT(e != NULL && update != NULL);
    ND_ASSERT(e->started);
    e->now_ns = nd_clock_now_ns(e->clock);
    nd_err_t rc = apply_update(e, update);
    if (rc != ND_OK)
        return rc;
    nd__engine_release_done(e);
    tell_fills(e);
    __int128 equity = 0;
    rc = nd__engine_risk_step(e, &equity);
    if (rc != ND_OK)
        return rc;
    return nd__engine_step_done(e);
}

nd_err_t nd_engine_poll(nd_engine_t *e)
{
    ND_ASSERT(e != NULL && e->started);
    int64_t now = nd_clock_now_ns(e->clock);
    if (now > e->now_ns)
        e->now_ns = now; /* never back: the clock of a session may lag its last event's time */
    nd_err_t rc = drain_venues(e);
    if (rc != ND_OK)
        return rc;
    __int128 equity = 0;
    rc = nd__engine_risk_step(e, &equity);
    if (rc != ND_OK)
        return rc;
    return nd__engine_step_done(e);
}

const nd_book_t *nd_engine_book(const nd_engine_t *e, uint32_t instrument_id, int64_t *update_id)
{
    ND_ASSERT(e != NULL);
    ND_ASSERT(instrument_id < e->instrument_count);
    if (!e->books)
        return NULL;
    if (update_id)
        *update_id = e->book_update_id[instrument_id];
    return &e->books[instrument_id];
}
