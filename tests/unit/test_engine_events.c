/* test_engine_events.c: the event-level engine: the tie rule, bar-only strategies unaffected by
 * events, the L2 simulated venue behind the venue interface with latency (orders NEW until the
 * ack is visible, fills booked through the engine's order state machine), the book view, a
 * breaker trip flattening through the L2 venue, and the asynchronous order-update entry. */
#include <criterion/criterion.h>

#include "noderr/alloc.h"
#include "noderr/engine.h"
#include "noderr/fixed.h"
#include "noderr/l2sim.h"
#include "noderr/strategy.h"

#include <stdlib.h>
#include <string.h>

#define T0 (1609459200LL * ND_NS_PER_SEC)
#define MS 1000000LL

static nd_instrument_t inst;
static int64_t PX; /* one quote unit in price units */
static int64_t QTY; /* one base unit in quantity units */

static nd_event_t events[4096];
static int event_count;

static nd_err_t on_event(void *ctx, const nd_event_t *ev)
{
    (void)ctx;
    if (event_count < 4096)
        events[event_count++] = *ev;
    return ND_OK;
}

static nd_clock_sim_t clock_sim;
static nd_engine_t *engine;
static nd_l2sim_exec_t *l2;

static void setup(void)
{
    cr_assert_eq(nd_instrument_init(&inst, "BTC/USDT", "l2"), ND_OK);
    PX = nd_pow10(inst.px_decimals);
    QTY = nd_pow10(inst.qty_decimals);
    event_count = 0;
    engine = NULL;
    l2 = NULL;
}

static void teardown(void)
{
    nd_engine_destroy(engine);
    nd_l2sim_exec_destroy(l2);
}

TestSuite(engine_events, .init = setup, .fini = teardown);

static void make(const nd_strategy_def_t *def, int64_t entry_ns, int64_t ack_ns,
                 int64_t drawdown_e2, uint32_t book_levels)
{
    nd_l2sim_config_t lc;
    nd_l2sim_config_default(&lc);
    lc.entry.const_ns = entry_ns;
    lc.ack.const_ns = ack_ns;
    lc.levels_max = 64;
    cr_assert_eq(nd_l2sim_exec_create(&lc, &inst, "l2", &l2), ND_OK);
    nd_engine_config_t cfg;
    nd_engine_config_default(&cfg);
    cfg.venues[0] = nd_l2sim_exec_venue(l2);
    cfg.venue_count = 1;
    cfg.book_levels_max = book_levels;
    cfg.risk.max_drawdown_pct_e2 = drawdown_e2;
    cfg.risk.daily_loss_pct_e2 = 0;
    nd_clock_sim_init(&clock_sim, T0);
    char err[256];
    cr_assert_eq(nd_engine_create(&cfg, &inst, 1, &clock_sim.clock, &engine, err, sizeof err),
                 ND_OK, "%s", err);
    double params[ND_STRATEGY_PARAMS_MAX];
    nd_strategy_params_default(def, params);
    cr_assert_eq(nd_engine_add_strategy(engine, def, params, 0, 1000000, err, sizeof err), ND_OK,
                 "%s", err);
    nd_engine_listener_t l = {on_event, NULL, NULL, NULL};
    nd_engine_set_listener(engine, &l);
    cr_assert_eq(nd_engine_start(engine, err, sizeof err), ND_OK, "%s", err);
}

static nd_err_t feed(const nd_market_event_t *ev)
{
    cr_assert_eq(nd_clock_sim_set(&clock_sim, nd_market_event_ts(ev)), ND_OK);
    return nd_engine_on_event(engine, ev);
}

static nd_err_t quote(int64_t t, int64_t bid, int64_t ask, int64_t qty)
{
    nd_market_event_t ev = {.kind = ND_MARKET_QUOTE};
    ev.u.quote = (nd_quote_tick_t){T0 + t, 0, bid * PX, qty * QTY, ask * PX, qty * QTY, 0};
    return feed(&ev);
}

static nd_err_t trade(int64_t t, nd_side_t aggressor, int64_t px, int64_t qty)
{
    nd_market_event_t ev = {.kind = ND_MARKET_TRADE};
    ev.u.trade = (nd_trade_tick_t){T0 + t, 0, aggressor, px * PX, qty * QTY, t};
    return feed(&ev);
}

Test(engine_events, tie_rule_time_then_source_then_order)
{
    nd_market_event_t a = {.kind = ND_MARKET_TRADE, .source = 1, .seq = 5};
    nd_market_event_t b = {.kind = ND_MARKET_QUOTE, .source = 0, .seq = 9};
    a.u.trade.ts_ns = 10;
    b.u.quote.ts_ns = 10;
    cr_assert(nd_market_event_before(&b, &a), "same time: source 0 first");
    cr_assert(!nd_market_event_before(&a, &b));
    b.source = 1;
    cr_assert(nd_market_event_before(&a, &b), "same source: read order");
    b.u.quote.ts_ns = 9;
    cr_assert(nd_market_event_before(&b, &a), "time first");
    cr_assert(!nd_market_event_before(&a, &a), "strict");
}

/* A limit buy sent at t reaches the venue at t + entry, is acknowledged at + ack: until then
 * the engine's order stays NEW; trades at its price fill it once the queue ahead is gone. */
Test(engine_events, l2_venue_latency_acks_and_queue_fills)
{
    make(nd_strategy_find_event("quote_maker"), 2 * MS, 3 * MS, 0, 0);
    cr_assert_eq(quote(0, 100, 101, 1), ND_OK);
    cr_assert_eq(event_count, 1);
    cr_assert_eq(events[0].kind, ND_EVENT_ORDER);
    cr_assert_eq(events[0].u.order.status, ND_ORDER_NEW, "sent, not yet acknowledged");
    cr_assert_eq(events[0].u.order.type, ND_ORDER_LIMIT);
    cr_assert_eq(events[0].u.order.px, 100 * PX);
    uint64_t id = events[0].u.order.client_id;
    cr_assert_eq(nd_engine_stats(engine)->orders_accepted, 0);
    /* Arrives at 2 ms (behind 1 BTC displayed), ack visible at 5 ms. */
    cr_assert_eq(quote(1 * MS, 100, 101, 1), ND_OK);
    cr_assert_eq(quote(4 * MS, 100, 101, 1), ND_OK);
    cr_assert_eq(event_count, 1, "no ack before 5 ms");
    cr_assert_eq(quote(5 * MS, 100, 101, 1), ND_OK);
    cr_assert_eq(event_count, 2);
    cr_assert_eq(events[1].u.order.status, ND_ORDER_ACCEPTED);
    cr_assert_eq(events[1].u.order.client_id, id);
    cr_assert_eq(nd_engine_stats(engine)->orders_accepted, 1);
    int64_t ahead = -1;
    cr_assert(nd_l2sim_queue_ahead(nd_l2sim_exec_sim(l2), id, &ahead));
    cr_assert_eq(ahead, 1 * QTY, "joined behind the displayed size");
    /* A sell of 1 BTC at 100 clears the queue ahead only: no fill. */
    cr_assert_eq(trade(6 * MS, ND_SIDE_SELL, 100, 1), ND_OK);
    cr_assert_eq(trade(20 * MS, ND_SIDE_SELL, 100, 5), ND_OK); /* fills, visible at 23 ms */
    cr_assert_eq(nd_engine_stats(engine)->fills, 0, "fill not visible yet");
    cr_assert_eq(quote(23 * MS, 100, 101, 1), ND_OK);
    cr_assert_eq(nd_engine_stats(engine)->fills, 1);
    int64_t held = nd_portfolio_position(nd_engine_portfolio(engine), 0, 0)->qty;
    cr_assert_gt(held, 0);
    bool saw_fill = false;
    for (int k = 0; k < event_count; k++)
        if (events[k].kind == ND_EVENT_FILL) {
            saw_fill = true;
            cr_assert(events[k].u.fill.maker, "a resting fill pays the maker fee");
            cr_assert_eq(events[k].u.fill.px, 100 * PX);
        }
    cr_assert(saw_fill);
    /* Long now: the strategy quotes its position at the ask. */
    cr_assert_eq(quote(24 * MS, 100, 101, 1), ND_OK);
    const nd_event_t *last = &events[event_count - 1];
    cr_assert_eq(last->kind, ND_EVENT_ORDER);
    cr_assert_eq(last->u.order.side, ND_SIDE_SELL);
    cr_assert_eq(last->u.order.qty, held);
    cr_assert_eq(last->u.order.px, 101 * PX);
}

/* A cancel with latency leaves the order working until the CANCELLED is visible; the strategy
 * quotes the new price only then. */
Test(engine_events, l2_venue_cancel_is_asynchronous)
{
    make(nd_strategy_find_event("quote_maker"), 1 * MS, 1 * MS, 0, 0);
    cr_assert_eq(quote(0, 100, 101, 1), ND_OK);
    cr_assert_eq(quote(5 * MS, 100, 101, 1), ND_OK); /* arrived at 1, ack visible at 2 */
    cr_assert_eq(events[event_count - 1].u.order.status, ND_ORDER_ACCEPTED);
    int before = event_count;
    cr_assert_eq(quote(6 * MS, 101, 102, 1), ND_OK); /* moved up: cancel sent */
    cr_assert_eq(event_count, before, "nothing booked before the cancel comes back");
    cr_assert_eq(nd_l2sim_exec_venue(l2)->ops->open_count(l2), 1);
    cr_assert_eq(nd_engine_working_count(engine), 1);
    cr_assert_neq(nd_engine_working(engine, 0)->cancel_sent_ns, 0,
                  "the cancel is shown as sent and unanswered (status.json cancel_pending)");
    cr_assert_eq(quote(8 * MS, 101, 102, 1), ND_OK); /* cancelled at 7, visible at 8 */
    cr_assert_eq(events[before].u.order.status, ND_ORDER_CANCELLED);
    cr_assert_eq(nd_engine_stats(engine)->orders_cancelled, 1);
    cr_assert_eq(quote(9 * MS, 101, 102, 1), ND_OK);
    const nd_event_t *last = &events[event_count - 1];
    cr_assert_eq(last->u.order.status, ND_ORDER_NEW);
    cr_assert_eq(last->u.order.px, 101 * PX, "re-quoted at the new best bid");
}

/* A position that is not whole lots (live: a buy's fee paid in the asset bought) is flattened
 * in whole lots: the rest, under one lot, is dust no venue takes, so no order is sent for it
 * (a live venue refused each one as LOT_SIZE, and the engine sent another after every event). */
Test(engine_events, flattening_sends_whole_lots_and_leaves_dust)
{
    make(nd_strategy_find_event("quote_maker"), 0, 0, 0, 0);
    cr_assert_eq(quote(0, 40000, 40001, 5), ND_OK);
    nd_market_event_t ev = {.kind = ND_MARKET_TRADE};
    int64_t odd = inst.lot_size * 3 / 2; /* one lot and a half of the resting bid, once the */
    ev.u.trade =                          /* 5 queued ahead of it have traded */
        (nd_trade_tick_t){T0 + 5 * MS, 0, ND_SIDE_SELL, 40000 * PX, 5 * QTY + odd, 5};
    cr_assert_eq(feed(&ev), ND_OK);
    cr_assert_eq(nd_portfolio_net_qty(nd_engine_portfolio(engine), 0), odd);
    cr_assert_eq(nd_engine_kill(engine), ND_OK);
    for (int k = 6; k < 20; k++)
        cr_assert_eq(quote(k * MS, 40000, 40001, 5), ND_OK);
    int flattening = 0;
    for (int k = 0; k < event_count; k++)
        if (events[k].kind == ND_EVENT_ORDER && events[k].u.order.risk_flatten &&
            events[k].u.order.status == ND_ORDER_NEW) {
            flattening++;
            cr_assert_eq(events[k].u.order.qty % inst.lot_size, 0, "a flattening order of part "
                         "of a lot: %lld", (long long)events[k].u.order.qty);
        }
    cr_assert_eq(flattening, 1, "one flattening order, not one per event: %d", flattening);
    cr_assert_eq(nd_portfolio_net_qty(nd_engine_portfolio(engine), 0), odd - inst.lot_size,
                 "the dust under one lot stays");
    cr_assert_eq(nd_l2sim_exec_venue(l2)->ops->open_count(l2), 0);
}

/* A drawdown trip while long: the engine flattens through the L2 venue with market orders that
 * walk the book, and ends flat; with latency the flattening order is NEW until its ack, the
 * strategy's cancels are asynchronous, and the engine still ends flat. */
static void breaker_case(int64_t latency_ns)
{
    make(nd_strategy_find_event("quote_maker"), latency_ns, latency_ns, 100 /* 1% */, 0);
    cr_assert_eq(quote(0, 40000, 40001, 5), ND_OK);
    cr_assert_eq(trade(5 * MS, ND_SIDE_SELL, 40000, 10), ND_OK); /* fills the resting bid */
    cr_assert_eq(quote(10 * MS, 40000, 40001, 5), ND_OK);
    cr_assert_gt(nd_portfolio_net_qty(nd_engine_portfolio(engine), 0), 0);
    /* -10%: the trip. */
    cr_assert_eq(quote(11 * MS, 36000, 36001, 5), ND_OK);
    cr_assert(nd_engine_risk(engine)->halted);
    for (int k = 12; k < 30; k++)
        cr_assert_eq(quote(k * MS, 36000, 36001, 5), ND_OK);
    cr_assert_eq(nd_portfolio_net_qty(nd_engine_portfolio(engine), 0), 0, "flat after the trip");
    cr_assert_gt(nd_engine_stats(engine)->halted_events, 0);
    cr_assert_eq(nd_l2sim_exec_venue(l2)->ops->open_count(l2), 0, "nothing left working");
    /* No strategy order is sent while halted; one sent before the trip may still be
     * acknowledged after it (the venue's latency), and is then cancelled. */
    int64_t since = nd_engine_risk(engine)->halted_since_ns;
    for (int k = 0; k < event_count; k++) {
        const nd_order_t *o = &events[k].u.order;
        if (events[k].kind != ND_EVENT_ORDER || !events[k].halted || o->risk_flatten)
            continue;
        if (o->status == ND_ORDER_REJECTED) {
            cr_assert_eq(o->reject_reason, ND_REJECT_HALTED);
            continue; /* asked for while halted, refused */
        }
        cr_assert(o->status != ND_ORDER_NEW, "a strategy order sent while halted");
        cr_assert_lt(o->created_ns, since, "a strategy order created while halted");
    }
}

Test(engine_events, breaker_flattens_through_l2_venue)
{
    breaker_case(0);
}

Test(engine_events, breaker_flattens_through_l2_venue_with_latency)
{
    breaker_case(1 * MS);
}

static int book_calls;
static nd_book_view_t last_view;

static void view_book(void *state, const nd_book_view_t *b, nd_strategy_ctx_t *ctx)
{
    (void)state;
    (void)ctx;
    book_calls++;
    last_view = *b;
}

static size_t tiny_size(const double *p)
{
    (void)p;
    return 8;
}

static nd_err_t tiny_start(void *s, const double *p, uint32_t i, nd_strategy_ctx_t *c)
{
    (void)s, (void)p, (void)i, (void)c;
    return ND_OK;
}

static int bar_calls;
static void count_bar(void *s, const nd_bar_t *b, nd_strategy_ctx_t *c)
{
    (void)s, (void)b, (void)c;
    bar_calls++;
}

static const nd_strategy_def_t viewer = {.name = "viewer", .summary = "test", .param_count = 0,
                                         .state_size = tiny_size, .on_start = tiny_start,
                                         .on_bar = count_bar, .on_book = view_book};

static nd_err_t delta(int64_t t, nd_book_side_t side, int64_t px, int64_t qty, uint32_t flags,
                      int64_t uid)
{
    nd_market_event_t ev = {.kind = ND_MARKET_BOOK};
    ev.u.book = (nd_book_delta_t){T0 + t, 0, side, px * PX, qty * QTY, uid, flags};
    return feed(&ev);
}

Test(engine_events, book_view_and_mark_on_complete_events)
{
    make(&viewer, 0, 0, 0, 16);
    book_calls = 0;
    bar_calls = 0;
    cr_assert_eq(delta(0, ND_BOOK_BID, 100, 2, ND_DELTA_F_CLEAR, 7), ND_OK);
    cr_assert_eq(book_calls, 0, "not complete yet");
    cr_assert_eq(delta(0, ND_BOOK_ASK, 102, 3, ND_DELTA_F_LAST, 7), ND_OK);
    cr_assert_eq(book_calls, 1);
    cr_assert(last_view.has_bid && last_view.has_ask);
    cr_assert_eq(last_view.best_bid.px, 100 * PX);
    cr_assert_eq(last_view.best_ask.qty, 3 * QTY);
    cr_assert_eq(last_view.update_id, 7);
    cr_assert_eq(nd_portfolio_last_px(nd_engine_portfolio(engine), 0), 101 * PX, "marked at mid");
    cr_assert_eq(delta(1, ND_BOOK_BID, 101, 1, ND_DELTA_F_LAST, 8), ND_OK);
    cr_assert_eq(last_view.best_bid.px, 101 * PX);
    cr_assert_eq(bar_calls, 0, "on_bar is for bars only");
    /* A venue status reaches the venue and the strategies; time may not go back. */
    nd_market_event_t st = {.kind = ND_MARKET_VENUE_STATUS};
    st.u.status = (nd_venue_status_t){T0 + 2, 0, ND_VENUE_DISCONNECTED};
    cr_assert_eq(feed(&st), ND_OK);
    nd_market_event_t old = {.kind = ND_MARKET_TRADE};
    old.u.trade = (nd_trade_tick_t){T0 + 1, 0, ND_SIDE_BUY, 100 * PX, QTY, 1};
    cr_assert_eq(nd_engine_on_event(engine, &old), ND_EINVAL);
    cr_assert_eq(nd_engine_stats(engine)->events, 4);
}

Test(engine_events, book_events_need_a_book)
{
    make(&viewer, 0, 0, 0, 0);
    cr_assert_eq(delta(0, ND_BOOK_BID, 100, 2, ND_DELTA_F_LAST, 1), ND_ESTATE);
}

/* A strategy whose context the test drives directly between events. */
static nd_strategy_ctx_t *driven_ctx;

static size_t driven_size(const double *params)
{
    (void)params;
    return 1;
}

static nd_err_t driven_start(void *state, const double *params, uint32_t inst_id,
                             nd_strategy_ctx_t *ctx)
{
    (void)state;
    (void)params;
    (void)inst_id;
    driven_ctx = ctx;
    return ND_OK;
}

static void driven_quote(void *state, const nd_quote_tick_t *q, nd_strategy_ctx_t *ctx)
{
    (void)state;
    (void)q;
    (void)ctx;
}

static const nd_strategy_def_t driven = {.name = "driven", .summary = "test",
                                         .state_size = driven_size, .on_start = driven_start,
                                         .on_quote = driven_quote};

/* Amends through the L2 venue with latency: nothing changes until AMENDED is visible; a lower
 * quantity keeps the queue place, a new price does not; the engine's order, its events and the
 * position checks follow; a flattening order, a market order and a no-op cannot be amended. */
Test(engine_events, amend_through_l2_venue_with_latency)
{
    make(&driven, 1 * MS, 1 * MS, 0, 0);
    cr_assert_eq(quote(0, 100, 101, 3), ND_OK);
    nd_order_intent_t in = {0, ND_SIDE_BUY, ND_ORDER_LIMIT, 100 * PX, 2 * QTY};
    uint64_t id = 0;
    cr_assert_eq(driven_ctx->submit(driven_ctx, &in, &id), ND_OK);
    nd_reject_t why;
    cr_assert_eq(driven_ctx->amend(driven_ctx, id, 100 * PX, QTY, &why), ND_ESTATE,
                 "not acknowledged yet");
    cr_assert_eq(quote(3 * MS, 100, 101, 3), ND_OK); /* arrived at 1, ack visible at 2 */
    int64_t ahead = 0;
    cr_assert(nd_l2sim_queue_ahead(nd_l2sim_exec_sim(l2), id, &ahead));
    cr_assert_eq(ahead, 3 * QTY);
    cr_assert_eq(trade(4 * MS, ND_SIDE_SELL, 100, 1), ND_OK); /* the queue moves up to 2 */
    cr_assert_eq(driven_ctx->amend(driven_ctx, id, 100 * PX, 2 * QTY, &why), ND_EINVAL,
                 "nothing changes");
    cr_assert_eq(driven_ctx->amend(driven_ctx, id, 100 * PX, QTY, &why), ND_OK);
    cr_assert_eq(driven_ctx->amend(driven_ctx, id, 99 * PX, QTY, &why), ND_ESTATE,
                 "one amend in flight at a time");
    const nd_order_t *o = NULL;
    int before = event_count;
    cr_assert_eq(quote(5 * MS, 100, 101, 3), ND_OK); /* arrives at 5, visible at 6 */
    cr_assert_eq(event_count, before, "not visible yet");
    cr_assert_eq(quote(6 * MS, 100, 101, 3), ND_OK);
    cr_assert_eq(event_count, before + 1);
    o = &events[before].u.order;
    cr_assert_eq(o->qty, QTY);
    cr_assert_eq(o->px, 100 * PX);
    cr_assert(nd_l2sim_queue_ahead(nd_l2sim_exec_sim(l2), id, &ahead));
    cr_assert_eq(ahead, 2 * QTY, "a lower quantity keeps the place");
    cr_assert_eq(nd_engine_stats(engine)->orders_amended, 1);
    /* A new price: the back of the queue at 99. */
    cr_assert_eq(driven_ctx->amend(driven_ctx, id, 99 * PX, 2 * QTY, &why), ND_OK);
    cr_assert_eq(quote(9 * MS, 100, 101, 3), ND_OK);
    cr_assert_eq(events[event_count - 1].u.order.px, 99 * PX);
    cr_assert_eq(events[event_count - 1].u.order.qty, 2 * QTY);
    cr_assert_eq(nd_engine_stats(engine)->orders_amended, 2);
    /* A price that is not on the tick grid is refused by the checks, with the reason. */
    cr_assert_eq(driven_ctx->amend(driven_ctx, id, 99 * PX + 1, 2 * QTY, &why), ND_EDECLINED);
    cr_assert_eq(why, ND_REJECT_INVALID_PRICE);
    cr_assert_eq(nd_engine_stats(engine)->amends_refused, 1);
    cr_assert_eq(nd_engine_rejects(engine, ND_REJECT_INVALID_PRICE), 1);
    cr_assert_eq(driven_ctx->amend(driven_ctx, id + 100, 99 * PX, QTY, &why), ND_ENOTFOUND);
}

/* A new level on a full side is refused with ND_EFULL before anything sees it (it used to be an
 * assertion); changing or removing a level of a full side, or a clearing delta, still works. */
Test(engine_events, new_level_on_a_full_book_side_is_refused)
{
    make(&viewer, 0, 0, 0, 2);
    cr_assert_eq(delta(0, ND_BOOK_BID, 100, 2, ND_DELTA_F_CLEAR, 1), ND_OK);
    cr_assert_eq(delta(0, ND_BOOK_BID, 99, 2, ND_DELTA_F_LAST, 1), ND_OK);
    cr_assert_eq(delta(1, ND_BOOK_BID, 98, 1, ND_DELTA_F_LAST, 2), ND_EFULL);
    cr_assert_eq(nd_engine_stats(engine)->events, 2, "the refused delta is not counted");
    cr_assert_eq(delta(1, ND_BOOK_BID, 99, 5, ND_DELTA_F_LAST, 2), ND_OK);
    cr_assert_eq(delta(1, ND_BOOK_BID, 98, 0, ND_DELTA_F_LAST, 3), ND_OK, "removing no level");
    cr_assert_eq(delta(2, ND_BOOK_BID, 100, 0, 0, 4), ND_OK);
    cr_assert_eq(delta(2, ND_BOOK_BID, 98, 1, ND_DELTA_F_LAST, 4), ND_OK);
    cr_assert_eq(delta(3, ND_BOOK_BID, 97, 1, ND_DELTA_F_CLEAR | ND_DELTA_F_LAST, 5), ND_OK);
    cr_assert_eq(last_view.best_bid.px, 97 * PX);
}

Test(engine_events, order_update_entry_point)
{
    make(nd_strategy_find_event("quote_maker"), 1 * MS, 1 * MS, 0, 0);
    cr_assert_eq(quote(0, 100, 101, 1), ND_OK);
    uint64_t id = events[0].u.order.client_id;
    nd_order_update_t u = {.kind = ND_UPDATE_ACCEPTED, .client_id = id + 100, .ts_ns = T0};
    cr_assert_eq(nd_engine_on_order_update(engine, &u), ND_ENOTFOUND);
    /* A live adapter's reject of a NEW order: booked through the state machine. */
    u.client_id = id;
    u.kind = ND_UPDATE_REJECTED;
    u.reason = ND_REJECT_VENUE_ERROR;
    cr_assert_eq(nd_engine_on_order_update(engine, &u), ND_OK);
    cr_assert_eq(events[event_count - 1].u.order.status, ND_ORDER_REJECTED);
    cr_assert_eq(nd_engine_rejects(engine, ND_REJECT_VENUE_ERROR), 1);
    /* A fill for it now is refused: the engine no longer holds it. */
    u.kind = ND_UPDATE_FILL;
    cr_assert_eq(nd_engine_on_order_update(engine, &u), ND_ENOTFOUND);
}

/* A strategy with only on_bar runs unchanged and ignores ticks (on the bar simulator). */
Test(engine_events, bar_strategy_on_bar_venue_takes_events)
{
    nd_instrument_t sim_inst;
    cr_assert_eq(nd_instrument_init(&sim_inst, "BTC/USDT", "sim"), ND_OK);
    nd_engine_config_t cfg;
    nd_engine_config_default(&cfg);
    nd_clock_sim_init(&clock_sim, T0);
    char err[256];
    cr_assert_eq(nd_engine_create(&cfg, &sim_inst, 1, &clock_sim.clock, &engine, err, sizeof err),
                 ND_OK, "%s", err);
    double p[ND_STRATEGY_PARAMS_MAX];
    nd_strategy_params_default(nd_strategy_find("sma_cross"), p);
    cr_assert_eq(nd_engine_add_strategy(engine, nd_strategy_find("sma_cross"), p, 0, 1000000, err,
                                        sizeof err), ND_OK);
    cr_assert_eq(nd_engine_start(engine, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(trade(0, ND_SIDE_BUY, 100, 1), ND_OK);
    cr_assert_eq(nd_portfolio_last_px(nd_engine_portfolio(engine), 0), 100 * PX);
    nd_market_event_t bar = {.kind = ND_MARKET_BAR};
    bar.u.bar = (nd_bar_t){T0 + 5, 100 * PX, 100 * PX, 100 * PX, 100 * PX, QTY, 0, 0};
    cr_assert_eq(feed(&bar), ND_OK);
    cr_assert_eq(nd_engine_stats(engine)->bars, 1);
    cr_assert_eq(nd_engine_stats(engine)->events, 1);
}

/* The per-event path does not allocate: after start, thousands of synthetic L2 events with a
 * quoting strategy, latency, acks, fills and cancels go through without one allocation. */
static long allocations;

static void *count_alloc(void *ctx, size_t size)
{
    (void)ctx;
    allocations++;
    return malloc(size); /* tidy:allow the counting allocator of this test */
}

static void *count_realloc(void *ctx, void *ptr, size_t size)
{
    (void)ctx;
    allocations++;
    return realloc(ptr, size); /* tidy:allow the counting allocator of this test */
}

static void count_free(void *ctx, void *ptr)
{
    (void)ctx;
    free(ptr); /* tidy:allow the counting allocator of this test */
}

Test(engine_events, per_event_path_does_not_allocate)
{
    make(nd_strategy_find_event("quote_maker"), 1 * MS / 10, 1 * MS / 10, 0, 64);
    nd_synth_ticks_config_t tc;
    nd_synth_ticks_config_default(&tc);
    tc.events = 50000;
    tc.start_ns = T0;
    nd_synth_ticks_t *g;
    char err[256];
    cr_assert_eq(nd_synth_ticks_open(&tc, &inst, &g, err, sizeof err), ND_OK, "%s", err);
    nd_tick_event_t *ticks = nd_calloc((size_t)tc.events, sizeof *ticks);
    cr_assert_not_null(ticks);
    for (int64_t k = 0; k < tc.events; k++)
        cr_assert_eq(nd_synth_ticks_next(g, &ticks[k]), ND_OK);
    nd_synth_ticks_close(g);
    nd_allocator_t counting = {count_alloc, count_realloc, count_free, NULL};
    allocations = 0;
    nd_allocator_set(&counting);
    for (int64_t k = 0; k < tc.events; k++) {
        nd_market_event_t ev;
        nd_market_event_from_tick(&ticks[k], 0, (uint64_t)k, &ev);
        cr_assert_eq(feed(&ev), ND_OK);
    }
    nd_allocator_set(NULL);
    cr_assert_eq(allocations, 0, "%ld allocations on the event path", allocations);
    cr_assert_gt(nd_engine_stats(engine)->fills, 0, "the run traded");
    cr_assert_gt(nd_engine_stats(engine)->orders_cancelled, 0);
    nd_free(ticks);
}
