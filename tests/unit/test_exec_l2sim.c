/* Tests of the L2 simulated venue (l2sim.c): each fill rule, latency ordering, fees, and
 * property tests over many seeds of synthetic ticks and random orders. */
#include "noderr/l2sim.h"

#include "noderr/rand.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define MS 1000000LL
#define REPORTS_MAX 4096

/* Prices at 2 decimals, whole-unit quantities, tick and lot 1: px 10000 is 100.00. */
static nd_instrument_t inst_simple(void)
{
    nd_instrument_t inst;
    cr_assert_eq(nd_instrument_init(&inst, "BTC/USDT", "sim"), ND_OK);
    inst.px_decimals = 2;
    inst.qty_decimals = 0;
    inst.tick_size = 1;
    inst.lot_size = 1;
    return inst;
}

typedef struct harness {
    nd_l2sim_t *sim;
    nd_instrument_t inst;
    nd_l2sim_report_t reports[REPORTS_MAX];
    int count;
    int64_t ts;
} harness_t;

static void collect(void *ctx, const nd_l2sim_report_t *r)
{
    harness_t *h = ctx;
    cr_assert(h->count < REPORTS_MAX);
    h->reports[h->count++] = *r;
}

static void setup(harness_t *h, const nd_l2sim_config_t *cfg)
{
    memset(h, 0, sizeof *h);
    h->inst = inst_simple();
    nd_l2sim_config_t c;
    if (cfg == NULL) {
        nd_l2sim_config_default(&c);
        c.maker_fee_bps_e2 = 0;
        c.taker_fee_bps_e2 = 0;
        cfg = &c;
    }
    cr_assert_eq(nd_l2sim_create(cfg, &h->inst, collect, h, &h->sim), ND_OK);
}

static void delta(harness_t *h, nd_book_side_t side, int64_t px, int64_t qty, int64_t ts,
                  uint32_t flags)
{
    nd_tick_event_t ev = {.kind = ND_TICK_DELTA};
    ev.u.delta = (nd_book_delta_t){.ts_ns = ts, .instrument_id = h->inst.id, .side = side,
                                   .px = px, .qty = qty, .flags = flags};
    cr_assert_eq(nd_l2sim_on_event(h->sim, &ev), ND_OK);
}

static void trade(harness_t *h, nd_side_t aggressor, int64_t px, int64_t qty, int64_t ts)
{
    nd_tick_event_t ev = {.kind = ND_TICK_TRADE};
    ev.u.trade = (nd_trade_tick_t){.ts_ns = ts, .instrument_id = h->inst.id,
                                   .aggressor = aggressor, .px = px, .qty = qty};
    cr_assert_eq(nd_l2sim_on_event(h->sim, &ev), ND_OK);
}

/* A book from (px, qty) pairs: bids then asks, one CLEAR..LAST run at ts 0. */
static void book(harness_t *h, const int64_t (*bids)[2], int nb, const int64_t (*asks)[2], int na)
{
    int total = nb + na, k = 0;
    for (int i = 0; i < nb; i++, k++)
        delta(h, ND_BOOK_BID, bids[i][0], bids[i][1], 0,
              (k == 0 ? ND_DELTA_F_CLEAR : 0) | (k == total - 1 ? ND_DELTA_F_LAST : 0));
    for (int i = 0; i < na; i++, k++)
        delta(h, ND_BOOK_ASK, asks[i][0], asks[i][1], 0,
              (k == 0 ? ND_DELTA_F_CLEAR : 0) | (k == total - 1 ? ND_DELTA_F_LAST : 0));
}

static void order(nd_order_t *o, uint64_t id, nd_side_t side, nd_order_type_t type, int64_t px,
                  int64_t qty)
{
    nd_order_intent_t in = {.instrument_id = 0, .side = side, .type = type, .px = px, .qty = qty};
    nd_order_init(o, id, &in, 0, 0);
}

/* The index-th FILL report, or NULL. */
static const nd_fill_t *nth_fill(const harness_t *h, int index)
{
    for (int i = 0; i < h->count; i++)
        if (h->reports[i].kind == ND_L2SIM_REPORT_FILL && index-- == 0)
            return &h->reports[i].fill;
    return NULL;
}

static int fills(const harness_t *h)
{
    int n = 0;
    for (int i = 0; i < h->count; i++)
        n += h->reports[i].kind == ND_L2SIM_REPORT_FILL;
    return n;
}

static const int64_t bids3[][2] = {{10000, 7}, {9999, 4}, {9998, 9}};
static const int64_t asks3[][2] = {{10100, 5}, {10200, 3}, {10300, 10}};

Test(l2sim, market_order_walks_the_book_level_by_level)
{
    harness_t h;
    setup(&h, NULL);
    book(&h, bids3, 3, asks3, 3);
    nd_order_t o;
    order(&o, 1, ND_SIDE_BUY, ND_ORDER_MARKET, 0, 10);
    cr_assert_eq(nd_l2sim_submit(h.sim, &o, 1 * MS), ND_OK);
    cr_assert_eq(o.status, ND_ORDER_NEW);
    cr_assert_eq(nd_l2sim_advance(h.sim, 1 * MS), ND_OK);
    cr_assert_eq(h.reports[0].kind, ND_L2SIM_REPORT_ACK);
    cr_assert_eq(fills(&h), 3);
    const int64_t want[3][2] = {{10100, 5}, {10200, 3}, {10300, 2}};
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(nth_fill(&h, i)->px, want[i][0]);
        cr_assert_eq(nth_fill(&h, i)->qty, want[i][1]);
        cr_assert(!nth_fill(&h, i)->maker);
    }
    cr_assert_eq(o.status, ND_ORDER_FILLED);
    /* The taken size left our copy of the book. */
    cr_assert_eq(nd_book_qty_at(nd_l2sim_book(h.sim), ND_BOOK_ASK, 10300), 8);
    cr_assert_eq(nd_book_levels(nd_l2sim_book(h.sim), ND_BOOK_ASK), 1u);
    nd_l2sim_destroy(h.sim);
}

Test(l2sim, market_order_fills_partially_when_the_book_runs_out)
{
    harness_t h;
    setup(&h, NULL);
    book(&h, bids3, 3, asks3, 1);
    nd_order_t o;
    order(&o, 1, ND_SIDE_BUY, ND_ORDER_MARKET, 0, 8);
    cr_assert_eq(nd_l2sim_submit(h.sim, &o, 0), ND_OK);
    cr_assert_eq(nd_l2sim_advance(h.sim, 0), ND_OK);
    cr_assert_eq(fills(&h), 1);
    cr_assert_eq(nth_fill(&h, 0)->qty, 5);
    cr_assert_eq(h.reports[h.count - 1].kind, ND_L2SIM_REPORT_CANCELLED);
    cr_assert_eq(o.status, ND_ORDER_CANCELLED);
    cr_assert_eq(o.filled_qty, 5);
    /* A second market order finds nothing: the first took the displayed size. */
    nd_order_t o2;
    order(&o2, 2, ND_SIDE_BUY, ND_ORDER_MARKET, 0, 1);
    cr_assert_eq(nd_l2sim_submit(h.sim, &o2, 0), ND_OK);
    cr_assert_eq(nd_l2sim_advance(h.sim, 0), ND_OK);
    cr_assert_eq(fills(&h), 1);
    cr_assert_eq(o2.status, ND_ORDER_CANCELLED);
    nd_l2sim_destroy(h.sim);
}

Test(l2sim, sell_market_walks_bids)
{
    harness_t h;
    setup(&h, NULL);
    book(&h, bids3, 3, asks3, 3);
    nd_order_t o;
    order(&o, 1, ND_SIDE_SELL, ND_ORDER_MARKET, 0, 12);
    cr_assert_eq(nd_l2sim_submit(h.sim, &o, 0), ND_OK);
    cr_assert_eq(nd_l2sim_advance(h.sim, 0), ND_OK);
    cr_assert_eq(fills(&h), 3);
    cr_assert_eq(nth_fill(&h, 0)->px, 10000);
    cr_assert_eq(nth_fill(&h, 1)->px, 9999);
    cr_assert_eq(nth_fill(&h, 2)->px, 9998);
    cr_assert_eq(nth_fill(&h, 2)->qty, 1);
    nd_l2sim_destroy(h.sim);
}

Test(l2sim, crossing_limit_takes_up_to_its_price_then_rests)
{
    harness_t h;
    setup(&h, NULL);
    book(&h, bids3, 3, asks3, 3);
    nd_order_t o;
    order(&o, 1, ND_SIDE_BUY, ND_ORDER_LIMIT, 10200, 12);
    cr_assert_eq(nd_l2sim_submit(h.sim, &o, 0), ND_OK);
    cr_assert_eq(nd_l2sim_advance(h.sim, 0), ND_OK);
    cr_assert_eq(fills(&h), 2);
    cr_assert_eq(nth_fill(&h, 0)->px, 10100);
    cr_assert_eq(nth_fill(&h, 1)->px, 10200);
    cr_assert_eq(o.filled_qty, 8);
    cr_assert_eq(o.status, ND_ORDER_PARTIALLY_FILLED);
    int64_t ahead;
    cr_assert(nd_l2sim_queue_ahead(h.sim, 1, &ahead));
    cr_assert_eq(ahead, 0); /* nothing displayed on the bid at 102.00 */
    /* A seller hitting 102.00 now fills the resting rest as maker at the limit. */
    trade(&h, ND_SIDE_SELL, 10200, 3, 1 * MS);
    cr_assert_eq(fills(&h), 3);
    cr_assert(nth_fill(&h, 2)->maker);
    cr_assert_eq(nth_fill(&h, 2)->qty, 3);
    cr_assert_eq(o.filled_qty, 11);
    nd_l2sim_destroy(h.sim);
}

Test(l2sim, queue_advances_by_trades_and_fills_when_trades_reach_it)
{
    harness_t h;
    setup(&h, NULL);
    book(&h, bids3, 3, asks3, 3);
    nd_order_t o;
    order(&o, 1, ND_SIDE_BUY, ND_ORDER_LIMIT, 10000, 5);
    cr_assert_eq(nd_l2sim_submit(h.sim, &o, 0), ND_OK);
    cr_assert_eq(nd_l2sim_advance(h.sim, 0), ND_OK);
    int64_t ahead;
    cr_assert(nd_l2sim_queue_ahead(h.sim, 1, &ahead));
    cr_assert_eq(ahead, 7);
    trade(&h, ND_SIDE_SELL, 10000, 4, 1 * MS);
    cr_assert(nd_l2sim_queue_ahead(h.sim, 1, &ahead));
    cr_assert_eq(ahead, 3);
    cr_assert_eq(fills(&h), 0);
    /* A buyer's trade (at the ask) does not touch the bid queue. */
    trade(&h, ND_SIDE_BUY, 10100, 50, 2 * MS);
    cr_assert(nd_l2sim_queue_ahead(h.sim, 1, &ahead));
    cr_assert_eq(ahead, 3);
    trade(&h, ND_SIDE_SELL, 10000, 3, 3 * MS);
    cr_assert_eq(fills(&h), 0, "exactly consuming the queue ahead does not fill");
    trade(&h, ND_SIDE_SELL, 10000, 2, 4 * MS);
    cr_assert_eq(fills(&h), 1);
    cr_assert_eq(nth_fill(&h, 0)->qty, 2);
    cr_assert_eq(nth_fill(&h, 0)->px, 10000);
    cr_assert(nth_fill(&h, 0)->maker);
    trade(&h, ND_SIDE_SELL, 10000, 10, 5 * MS);
    cr_assert_eq(fills(&h), 2);
    cr_assert_eq(nth_fill(&h, 1)->qty, 3);
    cr_assert_eq(o.status, ND_ORDER_FILLED);
    nd_l2sim_destroy(h.sim);
}

/* The queue rule of amends: a lower quantity at the same price keeps the place; a larger
 * quantity or a new price goes to the back at the (new) price; a price through the book takes
 * what it crosses first; an amend after the order is done, or below its fills, is refused. */
Test(l2sim, amend_keeps_or_loses_queue_priority)
{
    harness_t h;
    setup(&h, NULL);
    book(&h, bids3, 3, asks3, 3);
    nd_order_t o;
    order(&o, 1, ND_SIDE_BUY, ND_ORDER_LIMIT, 10000, 5);
    cr_assert_eq(nd_l2sim_submit(h.sim, &o, 0), ND_OK);
    cr_assert_eq(nd_l2sim_advance(h.sim, 0), ND_OK);
    trade(&h, ND_SIDE_SELL, 10000, 4, 1 * MS);
    int64_t ahead;
    cr_assert(nd_l2sim_queue_ahead(h.sim, 1, &ahead));
    cr_assert_eq(ahead, 3);
    cr_assert_eq(nd_l2sim_amend(h.sim, 1, 10000, 4, 2 * MS), ND_OK);
    cr_assert_eq(nd_l2sim_advance(h.sim, 2 * MS), ND_OK);
    cr_assert_eq(h.reports[h.count - 1].kind, ND_L2SIM_REPORT_AMENDED);
    cr_assert_eq(h.reports[h.count - 1].qty, 4);
    cr_assert_eq(o.qty, 4);
    cr_assert(nd_l2sim_queue_ahead(h.sim, 1, &ahead));
    cr_assert_eq(ahead, 3, "a lower quantity keeps the place");
    cr_assert_eq(nd_l2sim_amend(h.sim, 1, 10000, 6, 3 * MS), ND_OK);
    cr_assert_eq(nd_l2sim_advance(h.sim, 3 * MS), ND_OK);
    cr_assert(nd_l2sim_queue_ahead(h.sim, 1, &ahead));
    cr_assert_eq(ahead, 7, "a larger quantity goes to the back: the whole displayed level");
    cr_assert_eq(nd_l2sim_amend(h.sim, 1, 9999, 6, 4 * MS), ND_OK);
    cr_assert_eq(nd_l2sim_advance(h.sim, 4 * MS), ND_OK);
    cr_assert(nd_l2sim_queue_ahead(h.sim, 1, &ahead));
    cr_assert_eq(ahead, 4, "a new price: the back of that level");
    cr_assert_eq(o.px, 9999);
    /* Through the book: takes the 5 at 101.00, rests the 1 left at 101.00 behind nothing. */
    cr_assert_eq(nd_l2sim_amend(h.sim, 1, 10100, 6, 5 * MS), ND_OK);
    cr_assert_eq(nd_l2sim_advance(h.sim, 5 * MS), ND_OK);
    cr_assert_eq(fills(&h), 1);
    cr_assert_eq(nth_fill(&h, 0)->qty, 5);
    cr_assert(!nth_fill(&h, 0)->maker);
    cr_assert_eq(o.status, ND_ORDER_PARTIALLY_FILLED);
    cr_assert(nd_l2sim_queue_ahead(h.sim, 1, &ahead));
    cr_assert_eq(ahead, 0);
    /* Below what is filled: refused, the order unchanged. */
    cr_assert_eq(nd_l2sim_amend(h.sim, 1, 10100, 5, 6 * MS), ND_OK);
    cr_assert_eq(nd_l2sim_advance(h.sim, 6 * MS), ND_OK);
    cr_assert_eq(h.reports[h.count - 1].kind, ND_L2SIM_REPORT_AMEND_REJECTED);
    cr_assert_eq(o.qty, 6);
    /* After a cancel: refused. */
    cr_assert_eq(nd_l2sim_cancel(h.sim, 1, 7 * MS), ND_OK);
    cr_assert_eq(nd_l2sim_amend(h.sim, 1, 10100, 9, 7 * MS), ND_OK);
    cr_assert_eq(nd_l2sim_advance(h.sim, 7 * MS), ND_OK);
    cr_assert_eq(h.reports[h.count - 2].kind, ND_L2SIM_REPORT_CANCELLED);
    cr_assert_eq(h.reports[h.count - 1].kind, ND_L2SIM_REPORT_AMEND_REJECTED);
    cr_assert_eq(nd_l2sim_amend(h.sim, 1, 10100, 9, 8 * MS), ND_ENOTFOUND);
    cr_assert_eq(nd_l2sim_amend(h.sim, 1, 0, 9, 8 * MS), ND_EINVAL);
    nd_l2sim_destroy(h.sim);
}

Test(l2sim, own_taker_moves_own_resting_order_up_without_self_trade)
{
    harness_t h;
    setup(&h, NULL);
    book(&h, bids3, 3, asks3, 3);
    nd_order_t rest, mkt;
    order(&rest, 1, ND_SIDE_SELL, ND_ORDER_LIMIT, 10100, 4);
    cr_assert_eq(nd_l2sim_submit(h.sim, &rest, 0), ND_OK);
    cr_assert_eq(nd_l2sim_advance(h.sim, 0), ND_OK);
    int64_t ahead;
    cr_assert(nd_l2sim_queue_ahead(h.sim, 1, &ahead));
    cr_assert_eq(ahead, 5);
    /* Our market buy takes 3 of the 5 displayed at 101.00: the front of the queue. */
    order(&mkt, 2, ND_SIDE_BUY, ND_ORDER_MARKET, 0, 3);
    cr_assert_eq(nd_l2sim_submit(h.sim, &mkt, 1), ND_OK);
    cr_assert_eq(nd_l2sim_advance(h.sim, 1), ND_OK);
    cr_assert_eq(mkt.filled_qty, 3);
    cr_assert(nd_l2sim_queue_ahead(h.sim, 1, &ahead));
    cr_assert_eq(ahead, 2);
    cr_assert_eq(rest.filled_qty, 0, "never filled by our own taker");
    /* Taking the whole level and more: the rest walks on to 102.00, ours is at the front. */
    order(&mkt, 3, ND_SIDE_BUY, ND_ORDER_MARKET, 0, 4);
    cr_assert_eq(nd_l2sim_submit(h.sim, &mkt, 2), ND_OK);
    cr_assert_eq(nd_l2sim_advance(h.sim, 2), ND_OK);
    cr_assert(nd_l2sim_queue_ahead(h.sim, 1, &ahead));
    cr_assert_eq(ahead, 0);
    cr_assert_eq(rest.filled_qty, 0);
    nd_l2sim_destroy(h.sim);
}

Test(l2sim, trade_through_fills_up_to_the_trade_size)
{
    harness_t h;
    setup(&h, NULL);
    book(&h, bids3, 3, asks3, 3);
    nd_order_t o;
    order(&o, 1, ND_SIDE_BUY, ND_ORDER_LIMIT, 10000, 5);
    cr_assert_eq(nd_l2sim_submit(h.sim, &o, 0), ND_OK);
    cr_assert_eq(nd_l2sim_advance(h.sim, 0), ND_OK);
    trade(&h, ND_SIDE_SELL, 9999, 3, 1 * MS);
    cr_assert_eq(fills(&h), 1);
    cr_assert_eq(nth_fill(&h, 0)->qty, 3);
    cr_assert_eq(nth_fill(&h, 0)->px, 10000, "at the limit, never worse");
    trade(&h, ND_SIDE_SELL, 9998, 9, 2 * MS);
    cr_assert_eq(fills(&h), 2);
    cr_assert_eq(nth_fill(&h, 1)->qty, 2);
    cr_assert_eq(o.status, ND_ORDER_FILLED);
    nd_l2sim_destroy(h.sim);
}

Test(l2sim, two_own_orders_share_one_trade)
{
    harness_t h;
    setup(&h, NULL);
    book(&h, bids3, 3, asks3, 3);
    nd_order_t a, b;
    order(&a, 1, ND_SIDE_BUY, ND_ORDER_LIMIT, 10000, 5);
    order(&b, 2, ND_SIDE_BUY, ND_ORDER_LIMIT, 10000, 5);
    cr_assert_eq(nd_l2sim_submit(h.sim, &a, 0), ND_OK);
    cr_assert_eq(nd_l2sim_submit(h.sim, &b, 0), ND_OK);
    cr_assert_eq(nd_l2sim_advance(h.sim, 0), ND_OK);
    /* 7 ahead of both; a trade of 10 leaves 3 for the first in time, none for the second. */
    trade(&h, ND_SIDE_SELL, 10000, 10, 1 * MS);
    cr_assert_eq(a.filled_qty, 3);
    cr_assert_eq(b.filled_qty, 0);
    /* A trade through 100.00 of 4: the first takes its 2, the second the other 2. */
    trade(&h, ND_SIDE_SELL, 9999, 4, 2 * MS);
    cr_assert_eq(a.filled_qty, 5);
    cr_assert_eq(b.filled_qty, 2);
    nd_l2sim_destroy(h.sim);
}

static void cancel_case(nd_l2sim_queue_model_t model, int64_t want_after_cancel)
{
    harness_t h;
    nd_l2sim_config_t c;
    nd_l2sim_config_default(&c);
    c.queue_model = model;
    setup(&h, &c);
    const int64_t bids[][2] = {{10000, 10}};
    book(&h, bids, 1, asks3, 3);
    nd_order_t o;
    order(&o, 1, ND_SIDE_BUY, ND_ORDER_LIMIT, 10000, 5);
    cr_assert_eq(nd_l2sim_submit(h.sim, &o, 0), ND_OK);
    cr_assert_eq(nd_l2sim_advance(h.sim, 0), ND_OK);
    int64_t ahead;
    /* 10 join behind us: the level shows 20, 10 of them ahead. */
    delta(&h, ND_BOOK_BID, 10000, 20, 1 * MS, ND_DELTA_F_LAST);
    cr_assert(nd_l2sim_queue_ahead(h.sim, 1, &ahead));
    cr_assert_eq(ahead, 10);
    /* 4 cancelled (no trade explains it). */
    delta(&h, ND_BOOK_BID, 10000, 16, 2 * MS, ND_DELTA_F_LAST);
    cr_assert(nd_l2sim_queue_ahead(h.sim, 1, &ahead));
    cr_assert_eq(ahead, want_after_cancel);
    /* A trade of 3, then the depth update that shows it: the decrease is explained, no extra
     * advance. */
    trade(&h, ND_SIDE_SELL, 10000, 3, 3 * MS);
    delta(&h, ND_BOOK_BID, 10000, 13, 3 * MS, ND_DELTA_F_LAST);
    cr_assert(nd_l2sim_queue_ahead(h.sim, 1, &ahead));
    cr_assert_eq(ahead, want_after_cancel - 3);
    /* The level shrinking below our position caps it in both models (proportional: 11 of 13
     * cancelled, 5 ahead: 4 from ahead, leaving 1). */
    delta(&h, ND_BOOK_BID, 10000, 2, 4 * MS, ND_DELTA_F_LAST);
    cr_assert(nd_l2sim_queue_ahead(h.sim, 1, &ahead));
    cr_assert_eq(ahead, model == ND_L2SIM_QUEUE_RISK_AVERSE ? 2 : 1);
    cr_assert_eq(fills(&h), 0);
    nd_l2sim_destroy(h.sim);
}

Test(l2sim, queue_advance_by_cancels_risk_averse)
{
    cancel_case(ND_L2SIM_QUEUE_RISK_AVERSE, 10);
}

Test(l2sim, queue_advance_by_cancels_proportional)
{
    /* 4 cancelled out of 20, 10 of them ahead: 4 * 10 / 20 = 2 come from ahead. */
    cancel_case(ND_L2SIM_QUEUE_PROPORTIONAL, 8);
}

Test(l2sim, proportional_share_rounds_against_the_trader)
{
    harness_t h;
    nd_l2sim_config_t c;
    nd_l2sim_config_default(&c);
    c.queue_model = ND_L2SIM_QUEUE_PROPORTIONAL;
    setup(&h, &c);
    const int64_t bids[][2] = {{10000, 3}};
    book(&h, bids, 1, asks3, 3);
    nd_order_t o;
    order(&o, 1, ND_SIDE_BUY, ND_ORDER_LIMIT, 10000, 5);
    cr_assert_eq(nd_l2sim_submit(h.sim, &o, 0), ND_OK);
    cr_assert_eq(nd_l2sim_advance(h.sim, 0), ND_OK);
    delta(&h, ND_BOOK_BID, 10000, 7, 1 * MS, ND_DELTA_F_LAST);
    delta(&h, ND_BOOK_BID, 10000, 6, 2 * MS, ND_DELTA_F_LAST); /* 1 * 3 / 7 = 0.43 -> 0 */
    int64_t ahead;
    cr_assert(nd_l2sim_queue_ahead(h.sim, 1, &ahead));
    cr_assert_eq(ahead, 3);
    nd_l2sim_destroy(h.sim);
}

/* Every order in a real queue is a whole number of lots, so the share of a cancel that came from
 * ahead is too: rounded down to the lot (against the trader), never leaving a fill off the lot
 * grid. Found by bench_ticks: the engine refused to sell such a position (invalid quantity). */
Test(l2sim, proportional_advance_stays_on_the_lot_grid)
{
    harness_t h;
    memset(&h, 0, sizeof h);
    h.inst = inst_simple();
    h.inst.lot_size = 10;
    nd_l2sim_config_t c;
    nd_l2sim_config_default(&c);
    c.queue_model = ND_L2SIM_QUEUE_PROPORTIONAL;
    cr_assert_eq(nd_l2sim_create(&c, &h.inst, collect, &h, &h.sim), ND_OK);
    const int64_t bids[][2] = {{10000, 70}};
    const int64_t asks[][2] = {{10100, 50}};
    book(&h, bids, 1, asks, 1);
    nd_order_t o;
    order(&o, 1, ND_SIDE_BUY, ND_ORDER_LIMIT, 10000, 50);
    cr_assert_eq(nd_l2sim_submit(h.sim, &o, 0), ND_OK);
    cr_assert_eq(nd_l2sim_advance(h.sim, 0), ND_OK);
    /* 30 join behind (100 shown, 70 ahead), then 30 cancelled: 30 * 70 / 100 = 21 from ahead,
     * 20 on the lot grid. */
    delta(&h, ND_BOOK_BID, 10000, 100, 1 * MS, ND_DELTA_F_LAST);
    delta(&h, ND_BOOK_BID, 10000, 70, 2 * MS, ND_DELTA_F_LAST);
    int64_t ahead;
    cr_assert(nd_l2sim_queue_ahead(h.sim, 1, &ahead));
    cr_assert_eq(ahead, 50, "ahead %lld is off the lot grid or not rounded down", (long long)ahead);
    trade(&h, ND_SIDE_SELL, 10000, 70, 3 * MS);
    cr_assert_eq(fills(&h), 1);
    cr_assert_eq(nth_fill(&h, 0)->qty % h.inst.lot_size, 0);
    cr_assert_eq(nth_fill(&h, 0)->qty, 20);
    nd_l2sim_destroy(h.sim);
}

Test(l2sim, opposite_side_moving_through_fills_resting_order)
{
    harness_t h;
    setup(&h, NULL);
    book(&h, bids3, 3, asks3, 3);
    nd_order_t o;
    order(&o, 1, ND_SIDE_BUY, ND_ORDER_LIMIT, 10050, 5);
    cr_assert_eq(nd_l2sim_submit(h.sim, &o, 0), ND_OK);
    cr_assert_eq(nd_l2sim_advance(h.sim, 0), ND_OK);
    /* Not LAST: the event is not complete, no decision yet. */
    delta(&h, ND_BOOK_ASK, 10040, 2, 1 * MS, 0);
    cr_assert_eq(fills(&h), 0);
    delta(&h, ND_BOOK_ASK, 10100, 0, 1 * MS, ND_DELTA_F_LAST);
    cr_assert_eq(fills(&h), 1);
    cr_assert_eq(nth_fill(&h, 0)->px, 10050);
    cr_assert_eq(nth_fill(&h, 0)->qty, 5);
    cr_assert(nth_fill(&h, 0)->maker);
    nd_l2sim_destroy(h.sim);
}

Test(l2sim, latencies_order_events_and_requests)
{
    harness_t h;
    nd_l2sim_config_t c;
    nd_l2sim_config_default(&c);
    c.entry.const_ns = 5 * MS;
    c.ack.const_ns = 2 * MS;
    c.md.const_ns = 7 * MS;
    setup(&h, &c);
    const int64_t asks[][2] = {{10100, 5}, {10200, 10}};
    book(&h, bids3, 3, asks, 2);
    nd_order_t o;
    order(&o, 1, ND_SIDE_BUY, ND_ORDER_MARKET, 0, 5);
    cr_assert_eq(nd_l2sim_submit(h.sim, &o, 1 * MS), ND_OK); /* reaches the engine at 6 ms */
    delta(&h, ND_BOOK_ASK, 10100, 2, 3 * MS, ND_DELTA_F_LAST);
    cr_assert_eq(h.count, 0, "nothing happens before the order arrives");
    cr_assert_eq(o.status, ND_ORDER_NEW);
    /* An event at the arrival time is applied first. */
    delta(&h, ND_BOOK_ASK, 10100, 1, 6 * MS, ND_DELTA_F_LAST);
    cr_assert_eq(h.count, 0);
    delta(&h, ND_BOOK_BID, 9000, 1, 6 * MS + 1, ND_DELTA_F_LAST);
    cr_assert_eq(h.reports[0].kind, ND_L2SIM_REPORT_ACK);
    cr_assert_eq(h.reports[0].exchange_ns, 6 * MS);
    cr_assert_eq(h.reports[0].visible_ns, 8 * MS);
    cr_assert_eq(fills(&h), 2);
    cr_assert_eq(nth_fill(&h, 0)->qty, 1);
    cr_assert_eq(nth_fill(&h, 0)->px, 10100);
    cr_assert_eq(nth_fill(&h, 1)->qty, 4);
    cr_assert_eq(nth_fill(&h, 1)->px, 10200);
    cr_assert_eq(nth_fill(&h, 1)->ts_ns, 6 * MS);
    cr_assert_eq(nd_l2sim_md_delay_ns(h.sim), 7 * MS);
    /* A cancel is late when a trade reaches the order before the cancel arrives. */
    nd_order_t r;
    order(&r, 2, ND_SIDE_SELL, ND_ORDER_LIMIT, 10300, 2);
    cr_assert_eq(nd_l2sim_submit(h.sim, &r, 10 * MS), ND_OK);     /* arrives at 15 ms */
    cr_assert_eq(nd_l2sim_advance(h.sim, 15 * MS), ND_OK);
    cr_assert_eq(r.status, ND_ORDER_ACCEPTED);
    cr_assert_eq(nd_l2sim_cancel(h.sim, 2, 16 * MS), ND_OK);      /* arrives at 21 ms */
    trade(&h, ND_SIDE_BUY, 10400, 5, 20 * MS);                    /* through 103.00 */
    cr_assert_eq(r.status, ND_ORDER_FILLED);
    cr_assert_eq(nd_l2sim_advance(h.sim, 21 * MS), ND_OK);
    cr_assert_eq(h.reports[h.count - 1].kind, ND_L2SIM_REPORT_CANCEL_REJECTED);
    /* Requests never overtake each other even when the later one is sent with less delay. */
    nd_l2sim_destroy(h.sim);
}

Test(l2sim, sampled_latency_is_seeded_and_fifo)
{
    harness_t h;
    nd_l2sim_config_t c;
    nd_l2sim_config_default(&c);
    static const int64_t samples[] = {1 * MS, 9 * MS, 3 * MS};
    c.entry = (nd_l2sim_latency_t){.samples_ns = samples, .sample_count = 3};
    c.seed = 99;
    setup(&h, &c);
    book(&h, bids3, 3, asks3, 3);
    nd_order_t o[20];
    for (int i = 0; i < 20; i++) {
        order(&o[i], (uint64_t)i + 1, ND_SIDE_SELL, ND_ORDER_LIMIT, 20000 + i, 1);
        cr_assert_eq(nd_l2sim_submit(h.sim, &o[i], i * MS / 10), ND_OK);
    }
    cr_assert_eq(nd_l2sim_advance(h.sim, 100 * MS), ND_OK);
    int64_t prev = 0;
    int acks = 0;
    for (int i = 0; i < h.count; i++) {
        if (h.reports[i].kind != ND_L2SIM_REPORT_ACK)
            continue;
        cr_assert_eq(h.reports[i].client_id, (uint64_t)acks + 1, "arrival order is send order");
        cr_assert(h.reports[i].exchange_ns >= prev);
        int64_t delay = h.reports[i].exchange_ns - acks * MS / 10;
        cr_assert(delay >= 1 * MS && delay <= 9 * MS + 2 * MS);
        prev = h.reports[i].exchange_ns;
        acks++;
    }
    cr_assert_eq(acks, 20);
    nd_l2sim_destroy(h.sim);
}

/* ceil(notional * rate / 10^6) */
static int64_t fee_ceil(int64_t notional, int64_t rate)
{
    __int128 n = (__int128)notional * rate;
    return (int64_t)((n + 999999) / 1000000);
}

Test(l2sim, fees_maker_and_taker_rounded_against_the_trader)
{
    harness_t h;
    nd_l2sim_config_t c;
    nd_l2sim_config_default(&c);
    c.maker_fee_bps_e2 = 250;  /* 2.5 bps */
    c.taker_fee_bps_e2 = 750;  /* 7.5 bps */
    memset(&h, 0, sizeof h);
    cr_assert_eq(nd_instrument_init(&h.inst, "BTC/USDT", "sim"), ND_OK); /* 8 and 8 decimals */
    cr_assert_eq(nd_l2sim_create(&c, &h.inst, collect, &h, &h.sim), ND_OK);
    /* 123.45 for 7e-8: notional 864.15e-8 -> 864 cash units (half-even). */
    delta(&h, ND_BOOK_BID, 12300000000LL, 100, 0, ND_DELTA_F_CLEAR);
    delta(&h, ND_BOOK_ASK, 12345000000LL, 7, 0, ND_DELTA_F_LAST);
    nd_order_t t, m;
    order(&t, 1, ND_SIDE_BUY, ND_ORDER_MARKET, 0, 7);
    cr_assert_eq(nd_l2sim_submit(h.sim, &t, 0), ND_OK);
    order(&m, 2, ND_SIDE_BUY, ND_ORDER_LIMIT, 12300000000LL, 3000000);
    cr_assert_eq(nd_l2sim_submit(h.sim, &m, 0), ND_OK);
    cr_assert_eq(nd_l2sim_advance(h.sim, 0), ND_OK);
    const nd_fill_t *f = nth_fill(&h, 0);
    cr_assert_eq(f->notional, 864);
    cr_assert(!f->maker);
    cr_assert_eq(f->fee, 1, "0.648 rounds up to 1");
    cr_assert_eq(f->fee, fee_ceil(f->notional, 750));
    trade(&h, ND_SIDE_SELL, 12300000000LL, 3000100, 1);
    f = nth_fill(&h, 1);
    cr_assert(f->maker);
    cr_assert_eq(f->qty, 3000000);
    /* 123.00 * 0.03 = 3.69 quote = 369,000,000 units; 2.5 bps = 92,250 exactly. */
    cr_assert_eq(f->notional, 369000000);
    cr_assert_eq(f->fee, 92250);
    cr_assert_eq(m.fees, 92250);
    nd_l2sim_destroy(h.sim);
}

Test(l2sim, overflow_is_an_error_and_cancels_the_arriving_order)
{
    harness_t h;
    nd_l2sim_config_t c;
    nd_l2sim_config_default(&c);
    memset(&h, 0, sizeof h);
    cr_assert_eq(nd_instrument_init(&h.inst, "BTC/USDT", "sim"), ND_OK); /* 8 and 8 decimals */
    cr_assert_eq(nd_l2sim_create(&c, &h.inst, collect, &h, &h.sim), ND_OK);
    delta(&h, ND_BOOK_ASK, INT64_MAX / 2, 1000000000000LL, 0, ND_DELTA_F_CLEAR | ND_DELTA_F_LAST);
    nd_order_t o;
    order(&o, 1, ND_SIDE_BUY, ND_ORDER_MARKET, 0, 1000000000000LL);
    cr_assert_eq(nd_l2sim_submit(h.sim, &o, 0), ND_OK);
    cr_assert_eq(nd_l2sim_advance(h.sim, 0), ND_EOVERFLOW);
    cr_assert_eq(fills(&h), 0);
    cr_assert_eq(o.status, ND_ORDER_CANCELLED);
    cr_assert_eq(h.reports[h.count - 1].kind, ND_L2SIM_REPORT_CANCELLED);
    cr_assert_eq(nd_book_qty_at(nd_l2sim_book(h.sim), ND_BOOK_ASK, INT64_MAX / 2),
                 1000000000000LL, "nothing was taken");
    nd_l2sim_destroy(h.sim);
}

Test(l2sim, bad_input_is_refused)
{
    harness_t h;
    setup(&h, NULL);
    book(&h, bids3, 3, asks3, 3);
    nd_order_t o;
    order(&o, 1, ND_SIDE_BUY, ND_ORDER_STOP, 10000, 1);
    cr_assert_eq(nd_l2sim_submit(h.sim, &o, 0), ND_EINVAL);
    order(&o, 1, ND_SIDE_BUY, ND_ORDER_LIMIT, 0, 1);
    cr_assert_eq(nd_l2sim_submit(h.sim, &o, 0), ND_EINVAL);
    order(&o, 1, ND_SIDE_BUY, ND_ORDER_LIMIT, 10000, 0);
    cr_assert_eq(nd_l2sim_submit(h.sim, &o, 0), ND_EINVAL);
    cr_assert_eq(nd_l2sim_cancel(h.sim, 77, 0), ND_ENOTFOUND);
    nd_tick_event_t ev = {.kind = ND_TICK_DELTA};
    ev.u.delta = (nd_book_delta_t){.ts_ns = -5, .side = ND_BOOK_BID, .px = 1, .qty = 1};
    cr_assert_eq(nd_l2sim_on_event(h.sim, &ev), ND_EINVAL, "time going backwards");
    ev.u.delta.ts_ns = 10;
    ev.u.delta.qty = -1;
    cr_assert_eq(nd_l2sim_on_event(h.sim, &ev), ND_EINVAL);
    nd_l2sim_config_t c;
    nd_l2sim_config_default(&c);
    c.orders_max = 2;
    nd_l2sim_t *small;
    cr_assert_eq(nd_l2sim_create(&c, &h.inst, collect, &h, &small), ND_OK);
    nd_order_t a, b, d;
    order(&a, 1, ND_SIDE_BUY, ND_ORDER_LIMIT, 100, 1);
    order(&b, 2, ND_SIDE_BUY, ND_ORDER_LIMIT, 100, 1);
    order(&d, 3, ND_SIDE_BUY, ND_ORDER_LIMIT, 100, 1);
    cr_assert_eq(nd_l2sim_submit(small, &a, 0), ND_OK);
    cr_assert_eq(nd_l2sim_submit(small, &b, 0), ND_OK);
    cr_assert_eq(nd_l2sim_submit(small, &d, 0), ND_EFULL);
    nd_l2sim_destroy(small);
    c.maker_fee_bps_e2 = -1;
    cr_assert_eq(nd_l2sim_create(&c, &h.inst, collect, &h, &small), ND_EINVAL);
    nd_l2sim_destroy(h.sim);
}

Test(l2sim, quotes_drive_the_top_of_book)
{
    harness_t h;
    setup(&h, NULL);
    nd_tick_event_t q = {.kind = ND_TICK_QUOTE};
    q.u.quote = (nd_quote_tick_t){.ts_ns = 0, .bid_px = 10000, .bid_qty = 6, .ask_px = 10010,
                                  .ask_qty = 4};
    cr_assert_eq(nd_l2sim_on_event(h.sim, &q), ND_OK);
    nd_order_t o;
    order(&o, 1, ND_SIDE_BUY, ND_ORDER_LIMIT, 10000, 2);
    cr_assert_eq(nd_l2sim_submit(h.sim, &o, 0), ND_OK);
    cr_assert_eq(nd_l2sim_advance(h.sim, 0), ND_OK);
    int64_t ahead;
    cr_assert(nd_l2sim_queue_ahead(h.sim, 1, &ahead));
    cr_assert_eq(ahead, 6);
    q.u.quote.ts_ns = 1;
    q.u.quote.bid_qty = 4;
    cr_assert_eq(nd_l2sim_on_event(h.sim, &q), ND_OK);
    cr_assert(nd_l2sim_queue_ahead(h.sim, 1, &ahead));
    cr_assert_eq(ahead, 4);
    /* The bid moves up: our level is no longer quoted, and its queue is left alone. */
    q.u.quote.ts_ns = 2;
    q.u.quote.bid_px = 10005;
    cr_assert_eq(nd_l2sim_on_event(h.sim, &q), ND_OK);
    cr_assert(nd_l2sim_queue_ahead(h.sim, 1, &ahead));
    cr_assert_eq(ahead, 4);
    /* The ask comes down to our price: filled at our limit. */
    q.u.quote = (nd_quote_tick_t){.ts_ns = 3, .bid_px = 9990, .bid_qty = 1, .ask_px = 10000,
                                  .ask_qty = 1};
    cr_assert_eq(nd_l2sim_on_event(h.sim, &q), ND_OK);
    cr_assert_eq(o.status, ND_ORDER_FILLED);
    cr_assert_eq(nth_fill(&h, 0)->px, 10000);
    nd_l2sim_destroy(h.sim);
}

/* ---- properties over seeds ------------------------------------------------------------------ */

#define PROP_ORDERS 256

typedef struct prop {
    nd_l2sim_t *sim;
    const nd_tick_event_t *current; /* the market event being applied, NULL for arrivals */
    int64_t trade_fill_sum;         /* maker fills during the current trade */
    nd_order_t orders[PROP_ORDERS];
    int64_t filled[PROP_ORDERS];
    uint64_t fills;
    uint64_t amends;
    uint64_t seed;
} prop_t;

static void prop_collect(void *ctx, const nd_l2sim_report_t *r)
{
    prop_t *p = ctx;
    if (r->kind == ND_L2SIM_REPORT_AMENDED) {
        /* Reported before any fill against it, and never below what is filled. */
        const nd_order_t *o = &p->orders[r->client_id - 1];
        cr_assert_eq(o->qty, r->qty);
        cr_assert(p->filled[r->client_id - 1] < r->qty, "seed %llu: amended below its fills",
                  (unsigned long long)p->seed);
        p->amends++;
    }
    if (r->kind != ND_L2SIM_REPORT_FILL)
        return;
    const nd_fill_t *f = &r->fill;
    cr_assert(f->client_id >= 1 && f->client_id <= PROP_ORDERS);
    nd_order_t *o = &p->orders[f->client_id - 1];
    p->fills++;
    /* No overfill. */
    p->filled[f->client_id - 1] += f->qty;
    cr_assert(p->filled[f->client_id - 1] <= o->qty, "seed %llu: overfill",
              (unsigned long long)p->seed);
    /* No worse than the limit. */
    if (o->type == ND_ORDER_LIMIT)
        cr_assert(o->side == ND_SIDE_BUY ? f->px <= o->px : f->px >= o->px,
                  "seed %llu: fill %lld beyond limit %lld", (unsigned long long)p->seed,
                  (long long)f->px, (long long)o->px);
    const nd_book_t *book = nd_l2sim_book(p->sim);
    if (!f->maker) {
        /* A taker never takes more than is displayed at the level (reported before the
         * simulator removes it). */
        nd_book_side_t opp = o->side == ND_SIDE_BUY ? ND_BOOK_ASK : ND_BOOK_BID;
        cr_assert(f->qty <= nd_book_qty_at(book, opp, f->px), "seed %llu: taker beyond display",
                  (unsigned long long)p->seed);
        cr_assert(p->current == NULL || p->current->kind != ND_TICK_TRADE);
        return;
    }
    if (p->current != NULL && p->current->kind == ND_TICK_TRADE) {
        const nd_trade_tick_t *t = &p->current->u.trade;
        p->trade_fill_sum += f->qty;
        cr_assert(p->trade_fill_sum <= t->qty, "seed %llu: one trade overfilled",
                  (unsigned long long)p->seed);
        /* At the trade's price the queue ahead must be gone before any fill. */
        int64_t ahead = 0;
        if (f->px == t->px && nd_l2sim_queue_ahead(p->sim, f->client_id, &ahead))
            cr_assert_eq(ahead, 0, "seed %llu: filled with %lld ahead",
                         (unsigned long long)p->seed, (long long)ahead);
    }
}

static void run_property(uint64_t seed, nd_l2sim_queue_model_t model)
{
    static prop_t p;
    memset(&p, 0, sizeof p);
    p.seed = seed;
    nd_instrument_t inst;
    cr_assert_eq(nd_instrument_init(&inst, "BTC/USDT", "sim"), ND_OK);
    nd_l2sim_config_t c;
    nd_l2sim_config_default(&c);
    c.queue_model = model;
    c.seed = seed;
    static const int64_t entry[] = {0, 1 * MS, 3 * MS, 10 * MS};
    c.entry = (nd_l2sim_latency_t){.samples_ns = entry, .sample_count = 4};
    c.ack.const_ns = 1 * MS;
    cr_assert_eq(nd_l2sim_create(&c, &inst, prop_collect, &p, &p.sim), ND_OK);
    nd_synth_ticks_config_t tc;
    nd_synth_ticks_config_default(&tc);
    tc.seed = seed;
    tc.events = 20000;
    tc.levels = 10;
    tc.level_qty_max = 20;
    nd_synth_ticks_t *g;
    char err[256];
    cr_assert_eq(nd_synth_ticks_open(&tc, &inst, &g, err, sizeof err), ND_OK, "%s", err);
    nd_rand_t rng;
    nd_rand_init(&rng, seed ^ 0x9e3779b97f4a7c15ULL);
    nd_tick_event_t ev;
    int next = 0;
    int64_t best_bid = tc.start_px, prev_ts = INT64_MIN;
    while (nd_synth_ticks_next(g, &ev) == ND_OK) {
        int64_t ts = nd_tick_ts(&ev);
        if (ev.kind == ND_TICK_DELTA && ev.u.delta.side == ND_BOOK_BID && ev.u.delta.qty > 0)
            best_bid = ev.u.delta.px > best_bid ? ev.u.delta.px : best_bid;
        /* Now and then send an order or a cancel. */
        uint64_t r = nd_rand_below(&rng, 100);
        if (r < 3 && next < PROP_ORDERS) {
            nd_side_t side = nd_rand_below(&rng, 2) ? ND_SIDE_BUY : ND_SIDE_SELL;
            nd_order_type_t type = nd_rand_below(&rng, 4) == 0 ? ND_ORDER_MARKET : ND_ORDER_LIMIT;
            int64_t off = ((int64_t)nd_rand_below(&rng, 9) - 4) * inst.tick_size;
            int64_t qty = (1 + (int64_t)nd_rand_below(&rng, 40)) * inst.lot_size;
            order(&p.orders[next], (uint64_t)next + 1, side, type, best_bid + off, qty);
            nd_err_t rc = nd_l2sim_submit(p.sim, &p.orders[next], ts);
            cr_assert(rc == ND_OK || rc == ND_EFULL);
            next++;
        } else if (r < 5 && next > 0) {
            (void)nd_l2sim_cancel(p.sim, 1 + nd_rand_below(&rng, (uint64_t)next), ts);
        } else if (r < 7 && next > 0) {
            /* An amend racing fills and cancels: a new price near the market, a new quantity. */
            uint64_t id = 1 + nd_rand_below(&rng, (uint64_t)next);
            int64_t px = best_bid + ((int64_t)nd_rand_below(&rng, 9) - 4) * inst.tick_size;
            int64_t qty = (1 + (int64_t)nd_rand_below(&rng, 40)) * inst.lot_size;
            nd_err_t rc = nd_l2sim_amend(p.sim, id, px, qty, ts);
            cr_assert(rc == ND_OK || rc == ND_ENOTFOUND || rc == ND_ESTATE || rc == ND_EFULL);
        }
        /* Arrivals happen before the event, outside it. */
        p.current = NULL;
        if (ts - 1 >= prev_ts)
            cr_assert_eq(nd_l2sim_advance(p.sim, ts - 1), ND_OK);
        prev_ts = ts;
        p.current = &ev;
        p.trade_fill_sum = 0;
        cr_assert_eq(nd_l2sim_on_event(p.sim, &ev), ND_OK);
        cr_assert(nd_book_valid(nd_l2sim_book(p.sim)));
    }
    for (int i = 0; i < next; i++) {
        cr_assert_eq(p.filled[i], p.orders[i].filled_qty);
        cr_assert(p.orders[i].filled_qty <= p.orders[i].qty);
    }
    cr_assert(p.fills > 0, "seed %llu: no fills at all", (unsigned long long)seed);
    cr_assert(p.amends > 0, "seed %llu: no amend applied at all", (unsigned long long)seed);
    nd_synth_ticks_close(g);
    nd_l2sim_destroy(p.sim);
}

Test(l2sim, properties_hold_over_many_seeds, .timeout = 120)
{
    for (uint64_t seed = 1; seed <= 40; seed++) {
        run_property(seed, ND_L2SIM_QUEUE_RISK_AVERSE);
        run_property(seed, ND_L2SIM_QUEUE_PROPORTIONAL);
    }
}

/* ---- replays of the shared recordings ------------------------------------------------------- */

/* Every recorded depth session through the simulator: with no order of ours its book ends equal
 * to the connector's synced book, level for level. */
Test(l2sim, shared_depth_sessions_replay_into_the_simulator_book)
{
    const char *root = ND_SHARED_DIR "/fixtures/binance/depth_sync";
    DIR *d = opendir(root);
    if (d == NULL)
        cr_skip_test("the shared fixtures (%s) are absent", root);
    nd_instrument_t inst;
    cr_assert_eq(nd_instrument_init(&inst, "BTC/USDT", "binance"), ND_OK);
    struct dirent *e;
    int sessions = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char dir[1024];
        snprintf(dir, sizeof dir, "%s/%s", root, e->d_name);
        static harness_t hs;
        harness_t *h = &hs;
        memset(h, 0, sizeof *h);
        nd_l2sim_config_t c;
        nd_l2sim_config_default(&c);
        c.levels_max = ND_BOOK_LEVELS_MAX;
        h->inst = inst;
        cr_assert_eq(nd_l2sim_create(&c, &inst, collect, h, &h->sim), ND_OK);
        nd_depth_session_t *s;
        char err[256];
        cr_assert_eq(nd_depth_session_open(dir, &inst, &s, err, sizeof err), ND_OK, "%s", err);
        nd_tick_event_t ev;
        nd_err_t rc;
        while ((rc = nd_depth_session_next(s, &ev)) == ND_OK)
            cr_assert_eq(nd_l2sim_on_event(h->sim, &ev), ND_OK);
        cr_assert_eq(rc, ND_EEOF, "%s", nd_depth_session_error(s));
        const nd_book_t *ref = nd_depth_session_book(s), *got = nd_l2sim_book(h->sim);
        for (int side = 0; side < 2; side++) {
            static nd_book_level_t a[ND_BOOK_LEVELS_MAX], b[ND_BOOK_LEVELS_MAX];
            uint32_t na = nd_book_top(got, (nd_book_side_t)side, a, ND_BOOK_LEVELS_MAX);
            uint32_t nb = nd_book_top(ref, (nd_book_side_t)side, b, ND_BOOK_LEVELS_MAX);
            cr_assert_eq(na, nb, "%s", dir);
            cr_assert_eq(memcmp(a, b, na * sizeof a[0]), 0, "%s", dir);
        }
        cr_assert_eq(h->count, 0);
        nd_depth_session_close(s);
        nd_l2sim_destroy(h->sim);
        sessions++;
    }
    closedir(d);
    cr_assert(sessions >= 5);
}

/* The shared BTCUSDT trades and book-ticker recordings, merged by time, through the simulator
 * with orders resting at the quotes and some market orders: every fill keeps the invariants. */
Test(l2sim, shared_trades_and_quotes_replay_with_resting_orders)
{
    const char *trades = ND_SHARED_DIR "/data/BTCUSDT-trades-2021-01-08.csv";
    const char *quotes = ND_SHARED_DIR "/data/BTCUSDT-bookticker-2021-01-08.csv";
    struct stat st;
    if (stat(trades, &st) != 0 || stat(quotes, &st) != 0)
        cr_skip_test("the shared data (%s) is absent", ND_SHARED_DIR);
    static prop_t p;
    memset(&p, 0, sizeof p);
    nd_instrument_t inst;
    cr_assert_eq(nd_instrument_init(&inst, "BTC/USDT", "binance"), ND_OK);
    nd_l2sim_config_t c;
    nd_l2sim_config_default(&c);
    c.entry.const_ns = 2 * MS;
    cr_assert_eq(nd_l2sim_create(&c, &inst, prop_collect, &p, &p.sim), ND_OK);
    nd_tick_source_t *ts, *qs;
    char err[256];
    cr_assert_eq(nd_ticks_open(trades, ND_TICK_FORMAT_AUTO, &inst, &ts, err, sizeof err), ND_OK);
    cr_assert_eq(nd_ticks_open(quotes, ND_TICK_FORMAT_AUTO, &inst, &qs, err, sizeof err), ND_OK);
    nd_tick_event_t t, q;
    bool have_t = nd_ticks_next(ts, &t) == ND_OK, have_q = nd_ticks_next(qs, &q) == ND_OK;
    int next = 0, events = 0, trades_seen = 0;
    int64_t prev_ts = INT64_MIN;
    while (have_t || have_q) {
        bool take_q = have_q && (!have_t || nd_tick_ts(&q) <= nd_tick_ts(&t));
        nd_tick_event_t ev = take_q ? q : t;
        /* Arrivals happen before the event, outside it. */
        p.current = NULL;
        if (nd_tick_ts(&ev) - 1 >= prev_ts)
            cr_assert_eq(nd_l2sim_advance(p.sim, nd_tick_ts(&ev) - 1), ND_OK);
        prev_ts = nd_tick_ts(&ev);
        p.current = &ev;
        p.trade_fill_sum = 0;
        cr_assert_eq(nd_l2sim_on_event(p.sim, &ev), ND_OK);
        events++;
        if (take_q) {
            have_q = nd_ticks_next(qs, &q) == ND_OK;
            /* Every 20th quote: join the bid and the ask, and now and then cross. */
            if (events % 20 == 0 && next + 3 <= PROP_ORDERS) {
                const nd_quote_tick_t *k = &ev.u.quote;
                order(&p.orders[next], (uint64_t)next + 1, ND_SIDE_BUY, ND_ORDER_LIMIT,
                      k->bid_px, 100000);
                order(&p.orders[next + 1], (uint64_t)next + 2, ND_SIDE_SELL, ND_ORDER_LIMIT,
                      k->ask_px, 100000);
                order(&p.orders[next + 2], (uint64_t)next + 3,
                      events % 40 ? ND_SIDE_BUY : ND_SIDE_SELL, ND_ORDER_MARKET, 0, 500000);
                for (int i = 0; i < 3; i++)
                    cr_assert_eq(nd_l2sim_submit(p.sim, &p.orders[next + i], k->ts_ns), ND_OK);
                next += 3;
            }
        } else {
            trades_seen++;
            have_t = nd_ticks_next(ts, &t) == ND_OK;
        }
    }
    cr_assert_eq(trades_seen, 2001);
    cr_assert_eq(events, 2001 + 451);
    cr_assert(p.fills > 0);
    for (int i = 0; i < next; i++)
        cr_assert_eq(p.filled[i], p.orders[i].filled_qty);
    nd_ticks_close(ts);
    nd_ticks_close(qs);
    nd_l2sim_destroy(p.sim);
}

/* Found by the fuzzer: a delta that adds a level to a full side used to trip an assertion once
 * the book stopped evicting levels. It is refused with ND_EFULL and the book is left as it was. */
Test(l2sim, a_new_level_on_a_full_side_is_refused_not_asserted)
{
    harness_t h;
    nd_l2sim_config_t c;
    nd_l2sim_config_default(&c);
    c.levels_max = 2;
    setup(&h, &c);
    delta(&h, ND_BOOK_BID, 100, 5, 1, ND_DELTA_F_LAST);
    delta(&h, ND_BOOK_BID, 99, 5, 2, ND_DELTA_F_LAST);
    nd_tick_event_t ev = {.kind = ND_TICK_DELTA};
    ev.u.delta = (nd_book_delta_t){.ts_ns = 3, .instrument_id = h.inst.id, .side = ND_BOOK_BID,
                                   .px = 98, .qty = 5, .flags = ND_DELTA_F_LAST};
    cr_assert_eq(nd_l2sim_on_event(h.sim, &ev), ND_EFULL);
    cr_assert_eq(nd_book_levels(nd_l2sim_book(h.sim), ND_BOOK_BID), 2u);
    nd_l2sim_destroy(h.sim);
}
