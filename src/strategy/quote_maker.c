/* quote_maker.c: the built-in event strategy (docs/strategies.md, "Event strategies").
 *
 * Rests a buy at the best bid while flat and a sell of the whole position at the best ask while
 * long (spot: it never shorts), from quotes (on_quote) or a complete L2 book (on_book). An order
 * whose price is no longer the best on its side, or which has filled (in part or whole), is
 * cancelled, and its side is quoted again only once the engine no longer holds it (cancel says
 * ND_ENOTFOUND): with a venue that has latency a cancel takes effect later, and quoting again
 * before that would double the exposure. An order the engine refuses is not asked for again
 * until the price moves; a position too small to sell is topped up by the bid (which the
 * position limit may refuse when sizing and limit are equal: raise --max-position-pct). It is a
 * demonstration of the event path, not a market maker to deploy. Buy size is the portfolio's sizing (qty 0). While the
 * best prices do not change its orders keep their place in the queue.
 *
 * State is a few ids and prices: no allocation, O(1) per event. */
#include "noderr/assert.h"
#include "strategy/builtins_int.h"

#include <string.h>

enum { P_MAX_REQUOTES = 0, P_COUNT = 1 };

typedef struct qm_side {
    uint64_t id;   /* our working order on this side, 0 when none */
    int64_t px;
    bool retire;   /* cancel asked for (moved or filled): forget it once the engine has dropped it */
    int64_t refused_px; /* the engine refused an order at this price: not again until it moves */
} qm_side_t;

typedef struct qm_state {
    uint32_t instrument_id;
    qm_side_t bid, ask;
    int64_t requotes_left; /* submissions still allowed; < 0 means no limit */
} qm_state_t;

static const nd_param_def_t qm_params[P_COUNT] = {
    {"max_orders", ND_PARAM_INT, 0, 1000000000, 0, 0,
     "most orders it sends in a run (0 = no limit): bounds a runaway on a jittery book", NULL, 0},
};

static size_t qm_state_size(const double *params)
{
    (void)params;
    return sizeof(qm_state_t);
}

static nd_err_t qm_on_start(void *state, const double *params, uint32_t instrument_id,
                            nd_strategy_ctx_t *ctx)
{
    (void)ctx;
    qm_state_t *s = state;
    memset(s, 0, sizeof *s);
    s->instrument_id = instrument_id;
    s->requotes_left = params[P_MAX_REQUOTES] > 0 ? (int64_t)params[P_MAX_REQUOTES] : -1;
    return ND_OK;
}

/* Moves one side toward resting `want` at px (want false: nothing on this side). */
static void qm_side_step(qm_state_t *s, qm_side_t *side, nd_strategy_ctx_t *ctx, bool want,
                         nd_side_t dir, int64_t px, int64_t qty)
{
    if (side->id != 0 && (side->retire || !want || side->px != px)) {
        side->retire = true;
        if (ctx->cancel(ctx, side->id) == ND_ENOTFOUND)
            side->id = 0; /* the engine no longer holds it: the side is free */
        else
            return;       /* the cancel is on its way */
    }
    if (side->id != 0 || !want || px <= 0 || s->requotes_left == 0 || px == side->refused_px)
        return;
    nd_order_intent_t intent = {s->instrument_id, dir, ND_ORDER_LIMIT, px, qty};
    uint64_t id = 0;
    if (ctx->submit(ctx, &intent, &id) != ND_OK || id == 0) {
        /* Rejected (halted, no funds, below the minimum notional, ...): the engine recorded
         * why; asking again at the same price would be refused again on every event. */
        side->refused_px = px;
        return;
    }
    side->refused_px = 0;
    if (s->requotes_left > 0)
        s->requotes_left--;
    side->id = id;
    side->px = px;
    side->retire = false;
}

static void qm_quote(qm_state_t *s, nd_strategy_ctx_t *ctx, int64_t bid_px, int64_t ask_px)
{
    int64_t held = ctx->position(ctx, s->instrument_id);
    /* A position the engine refused to sell (below the minimum notional, say) is topped up by
     * the bid until it can be sold. */
    bool dust = held > 0 && s->ask.id == 0 && s->ask.refused_px != 0;
    qm_side_step(s, &s->bid, ctx, held <= 0 || dust, ND_SIDE_BUY, bid_px, 0);
    qm_side_step(s, &s->ask, ctx, held > 0, ND_SIDE_SELL, ask_px, held);
}

static void qm_on_quote(void *state, const nd_quote_tick_t *q, nd_strategy_ctx_t *ctx)
{
    qm_quote(state, ctx, q->bid_px, q->ask_px);
}

static void qm_on_book(void *state, const nd_book_view_t *b, nd_strategy_ctx_t *ctx)
{
    if (!b->has_bid || !b->has_ask)
        return;
    qm_quote(state, ctx, b->best_bid.px, b->best_ask.px);
}

static void qm_on_fill(void *state, const nd_fill_t *fill, nd_strategy_ctx_t *ctx)
{
    (void)ctx;
    qm_state_t *s = state;
    /* The position changed: both sides are quoted anew from the next event. */
    if (fill->client_id == s->bid.id || fill->client_id == s->ask.id) {
        s->bid.retire = s->bid.id != 0;
        s->ask.retire = s->ask.id != 0;
    }
}

const nd_strategy_def_t nd__strategy_quote_maker = {
    .name = "quote_maker",
    .summary = "event strategy: rests a bid at the best bid while flat, sells the position at "
               "the best ask, cancels when the book moves",
    .params = qm_params,
    .param_count = P_COUNT,
    .state_size = qm_state_size,
    .validate = NULL,
    .on_start = qm_on_start,
    .on_bar = NULL,
    .on_fill = qm_on_fill,
    .on_timer = NULL,
    .on_trade = NULL,
    .on_quote = qm_on_quote,
    .on_book = qm_on_book,
    .on_venue_status = NULL,
};
