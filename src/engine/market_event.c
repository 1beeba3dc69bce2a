/* market_event.c: the engine's typed market events and the tie rule of a merged stream
 * (ticks.h states it: time, then source, then order within the source). */
#include "noderr/assert.h"
#include "noderr/ticks.h"

uint32_t nd_market_event_instrument(const nd_market_event_t *ev)
{
    ND_ASSERT(ev != NULL);
    switch (ev->kind) {
    case ND_MARKET_BAR: return ev->u.bar.instrument_id;
    case ND_MARKET_TRADE: return ev->u.trade.instrument_id;
    case ND_MARKET_QUOTE: return ev->u.quote.instrument_id;
    case ND_MARKET_BOOK: return ev->u.book.instrument_id;
    case ND_MARKET_VENUE_STATUS: return ev->u.status.instrument_id;
    }
    ND_ASSERT(!"unknown market event kind");
    return 0;
}

bool nd_market_event_before(const nd_market_event_t *a, const nd_market_event_t *b)
{
    int64_t ta = nd_market_event_ts(a), tb = nd_market_event_ts(b);
    if (ta != tb)
        return ta < tb;
    if (a->source != b->source)
        return a->source < b->source;
    return a->seq < b->seq;
}

void nd_market_event_from_tick(const nd_tick_event_t *tick, uint32_t source, uint64_t seq,
                               nd_market_event_t *out)
{
    ND_ASSERT(tick != NULL);
    ND_ASSERT(out != NULL);
    out->source = source;
    out->seq = seq;
    switch (tick->kind) {
    case ND_TICK_TRADE:
        out->kind = ND_MARKET_TRADE;
        out->u.trade = tick->u.trade;
        return;
    case ND_TICK_QUOTE:
        out->kind = ND_MARKET_QUOTE;
        out->u.quote = tick->u.quote;
        return;
    case ND_TICK_DELTA:
        out->kind = ND_MARKET_BOOK;
        out->u.book = tick->u.delta;
        return;
    }
    ND_ASSERT(!"unknown tick kind");
}

bool nd_market_event_to_tick(const nd_market_event_t *ev, nd_tick_event_t *out)
{
    ND_ASSERT(ev != NULL);
    ND_ASSERT(out != NULL);
    switch (ev->kind) {
    case ND_MARKET_TRADE:
        out->kind = ND_TICK_TRADE;
        out->u.trade = ev->u.trade;
        return true;
    case ND_MARKET_QUOTE:
        out->kind = ND_TICK_QUOTE;
        out->u.quote = ev->u.quote;
        return true;
    case ND_MARKET_BOOK:
        out->kind = ND_TICK_DELTA;
        out->u.delta = ev->u.book;
        return true;
    case ND_MARKET_BAR:
    case ND_MARKET_VENUE_STATUS:
        return false;
    }
    return false;
}
