/* simtest_strategy.c: the chaos strategy of the simulation harness. It does what strategies may
 * do, at random: states targets on any instrument, submits market, limit and stop orders of
 * random sizes (some invalid, some oversized), cancels and amends any order id it can name
 * (including ids that are not its own and the engine's flattening orders, which it must not
 * be able to cancel or amend), sets timers and acts again from them. Its randomness is its own stream, seeded by
 * a parameter, so a run replays exactly. */
#include "simtest_int.h"
#include "noderr/rand.h"

#include <string.h>

typedef struct chaos {
    nd_rand_t rng;
    uint32_t inst;
    uint32_t instruments;
    int64_t tick;
    int64_t lot;
    double activity;
    int64_t last_close;
    int64_t now_ns;
    uint64_t max_id;      /* highest client id it has seen: cancels aim at 1..max_id + 2 */
    uint64_t last_resting;/* its last limit or stop order: amends aim there half the time */
} chaos_t;

static const nd_param_def_t chaos_params[ND_SIMTEST_P_COUNT] = {
    {"seed", ND_PARAM_INT, 0, 9007199254740991.0, 1, 0, "its random stream", NULL, 0},
    {"instruments", ND_PARAM_INT, 1, 16, 1, 0, "instruments it may target", NULL, 0},
    {"tick", ND_PARAM_INT, 1, 1e15, 1, 0, "price units of a tick", NULL, 0},
    {"lot", ND_PARAM_INT, 1, 1e15, 1, 0, "quantity units of a lot", NULL, 0},
    {"activity", ND_PARAM_REAL, 0, 1, 0.3, 0, "chance to act on a bar or timer", NULL, 0},
};

static size_t chaos_size(const double *params)
{
    (void)params;
    return sizeof(chaos_t);
}

static nd_err_t chaos_start(void *state, const double *params, uint32_t inst, nd_strategy_ctx_t *ctx)
{
    (void)ctx;
    chaos_t *c = state;
    nd_rand_init(&c->rng, (uint64_t)params[ND_SIMTEST_P_SEED]);
    c->inst = inst;
    c->instruments = (uint32_t)params[ND_SIMTEST_P_INSTRUMENTS];
    c->tick = (int64_t)params[ND_SIMTEST_P_TICK];
    c->lot = (int64_t)params[ND_SIMTEST_P_LOT];
    c->activity = params[ND_SIMTEST_P_ACTIVITY];
    return ND_OK;
}

/* A price near the last close, on the tick, sometimes off it or absurd. */
static int64_t chaos_price(chaos_t *c)
{
    uint64_t pick = nd_rand_below(&c->rng, 100);
    if (pick < 3)
        return (int64_t)nd_rand_below(&c->rng, 3) - 1; /* -1, 0 or 1: invalid or off tick */
    double move = (nd_rand_uniform(&c->rng) - 0.5) * (pick < 10 ? 0.5 : 0.06);
    int64_t px = c->last_close + (int64_t)((double)c->last_close * move);
    px -= px % c->tick;
    return px > 0 ? px : c->tick;
}

static int64_t chaos_qty(chaos_t *c)
{
    uint64_t pick = nd_rand_below(&c->rng, 100);
    if (pick < 40)
        return 0; /* the portfolio sizes it */
    if (pick < 45)
        return (int64_t)nd_rand_below(&c->rng, 3) - 1; /* invalid */
    return c->lot * (int64_t)(1 + nd_rand_below(&c->rng, pick < 95 ? 1000 : 1000000));
}

static void chaos_act(chaos_t *c, nd_strategy_ctx_t *ctx)
{
    if (nd_rand_uniform(&c->rng) >= c->activity)
        return;
    uint64_t id = 0;
    nd_order_intent_t intent = {c->inst, nd_rand_below(&c->rng, 2) ? ND_SIDE_BUY : ND_SIDE_SELL,
                                ND_ORDER_MARKET, 0, 0};
    uint64_t op = nd_rand_below(&c->rng, 8);
    switch (op) {
    case 0:
    case 1:
        ctx->target(ctx, (uint32_t)nd_rand_below(&c->rng, c->instruments),
                    (int)nd_rand_below(&c->rng, 3) - 1);
        break;
    case 2:
        intent.qty = chaos_qty(c);
        ctx->submit(ctx, &intent, &id);
        break;
    case 3:
    case 4:
        intent.type = op == 3 ? ND_ORDER_LIMIT : ND_ORDER_STOP;
        intent.px = chaos_price(c);
        intent.qty = chaos_qty(c);
        ctx->submit(ctx, &intent, &id);
        c->last_resting = id ? id : c->last_resting;
        break;
    case 5:
        /* Any id it can name: its own, another strategy's, the engine's flattening orders. */
        for (int k = 0; k < 3; k++)
            ctx->cancel(ctx, 1 + nd_rand_below(&c->rng, c->max_id + 2));
        break;
    case 6:
        /* Any id again: a new price and quantity, often invalid or refused. */
        id = nd_rand_below(&c->rng, 2) && c->last_resting ? c->last_resting
                                                           : 1 + nd_rand_below(&c->rng, c->max_id + 2);
        intent.qty = chaos_qty(c);
        if (intent.qty == 0) /* no sizing here: an amend names the new total */
            intent.qty = c->lot * (int64_t)(1 + nd_rand_below(&c->rng, 1000));
        ctx->amend(ctx, id, chaos_price(c), intent.qty, NULL);
        id = 0;
        break;
    default:
        ctx->set_timer(ctx, c->now_ns + (int64_t)nd_rand_below(&c->rng, 4) * 3600000000000LL,
                       nd_rand_next(&c->rng));
        break;
    }
    if (id > c->max_id)
        c->max_id = id;
}

static void chaos_bar(void *state, const nd_bar_t *bar, nd_strategy_ctx_t *ctx)
{
    chaos_t *c = state;
    c->last_close = bar->close;
    c->now_ns = bar->ts_ns;
    chaos_act(c, ctx);
}

/* Event-level worlds: a trade or a complete book is a moment to act (at a tenth of the bar
 * rate: there are many more of them). */
static void chaos_event(chaos_t *c, int64_t ts_ns, int64_t px, nd_strategy_ctx_t *ctx)
{
    c->last_close = px;
    c->now_ns = ts_ns;
    if (nd_rand_below(&c->rng, 10) == 0)
        chaos_act(c, ctx);
}

static void chaos_trade(void *state, const nd_trade_tick_t *t, nd_strategy_ctx_t *ctx)
{
    chaos_event(state, t->ts_ns, t->px, ctx);
}

static void chaos_book(void *state, const nd_book_view_t *b, nd_strategy_ctx_t *ctx)
{
    if (b->has_bid && b->has_ask)
        chaos_event(state, b->ts_ns, b->best_bid.px + (b->best_ask.px - b->best_bid.px) / 2, ctx);
}

static void chaos_fill(void *state, const nd_fill_t *fill, nd_strategy_ctx_t *ctx)
{
    chaos_t *c = state;
    if (fill->client_id > c->max_id)
        c->max_id = fill->client_id;
    if (nd_rand_below(&c->rng, 4) == 0)
        chaos_act(c, ctx);
}

static void chaos_timer(void *state, int64_t now_ns, uint64_t timer_id, nd_strategy_ctx_t *ctx)
{
    (void)timer_id;
    chaos_t *c = state;
    c->now_ns = now_ns;
    if (c->last_close > 0)
        chaos_act(c, ctx);
}

const nd_strategy_def_t nd__simtest_chaos_strategy = {
    .name = "sim_chaos",
    .summary = "random actions for the simulation harness",
    .params = chaos_params,
    .param_count = ND_SIMTEST_P_COUNT,
    .state_size = chaos_size,
    .on_trade = chaos_trade,
    .on_book = chaos_book,
    .validate = NULL,
    .on_start = chaos_start,
    .on_bar = chaos_bar,
    .on_fill = chaos_fill,
    .on_timer = chaos_timer,
};
