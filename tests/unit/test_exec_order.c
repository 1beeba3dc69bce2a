/* test_exec_order.c: the order state machine: every legal and illegal transition, rejection,
 * fill bookkeeping and its refusals, each checked to leave a refused order unchanged. */
#include "noderr/order.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

static const nd_order_status_t all_status[] = {
    ND_ORDER_NEW,    ND_ORDER_ACCEPTED,  ND_ORDER_PARTIALLY_FILLED,
    ND_ORDER_FILLED, ND_ORDER_CANCELLED, ND_ORDER_REJECTED,
};
#define STATUS_COUNT (sizeof all_status / sizeof all_status[0])

/* A limit buy of 2 BTC (8 qty decimals) at 100.00 (8 px decimals), client 7, decided at t=1000. */
static nd_order_t make_order(void)
{
    nd_order_intent_t in = {.instrument_id = 3, .side = ND_SIDE_BUY, .type = ND_ORDER_LIMIT,
                            .px = 10000000000, .qty = 200000000};
    nd_order_t o;
    nd_order_init(&o, 7, &in, 2, 1000);
    return o;
}

/* An order put directly in status s, with a partial fill when s says so. */
static nd_order_t order_in(nd_order_status_t s)
{
    nd_order_t o = make_order();
    o.status = s;
    if (s == ND_ORDER_PARTIALLY_FILLED)
        o.filled_qty = 50000000;
    if (s == ND_ORDER_FILLED)
        o.filled_qty = o.qty;
    if (s == ND_ORDER_REJECTED)
        o.reject_reason = ND_REJECT_HALTED;
    return o;
}

/* A fill that matches make_order(). */
static nd_fill_t make_fill(int64_t qty, int64_t px, int64_t ts_ns)
{
    return (nd_fill_t){.client_id = 7, .venue_id = 1, .instrument_id = 3, .strategy_index = 2,
                       .side = ND_SIDE_BUY, .maker = true, .px = px, .qty = qty,
                       .notional = px * (qty / 100000000), .fee = 100, .ts_ns = ts_ns};
}

Test(exec_order, init_limit)
{
    nd_order_t o = make_order();
    cr_assert_eq(o.client_id, 7);
    cr_assert_eq(o.venue_id, 0);
    cr_assert_eq(o.instrument_id, 3);
    cr_assert_eq(o.strategy_index, 2);
    cr_assert_eq(o.side, ND_SIDE_BUY);
    cr_assert_eq(o.type, ND_ORDER_LIMIT);
    cr_assert_eq(o.px, 10000000000);
    cr_assert_eq(o.qty, 200000000);
    cr_assert_eq(o.status, ND_ORDER_NEW);
    cr_assert_eq(o.reject_reason, ND_REJECT_NONE);
    cr_assert_eq(o.filled_qty, 0);
    cr_assert_eq(o.fill_notional, 0);
    cr_assert_eq(o.fees, 0);
    cr_assert_eq(o.created_ns, 1000);
    cr_assert_eq(o.updated_ns, 1000);
    cr_assert_eq(nd_order_remaining(&o), 200000000);
    cr_assert(!nd_order_is_working(&o));
    cr_assert(!nd_order_is_done(&o));
}

Test(exec_order, init_market_has_no_price)
{
    nd_order_intent_t in = {.instrument_id = 0, .side = ND_SIDE_SELL, .type = ND_ORDER_MARKET,
                            .px = 12345, .qty = 5};
    nd_order_t o;
    memset(&o, 0xAB, sizeof o);
    nd_order_init(&o, 1, &in, 0, -5);
    cr_assert_eq(o.px, 0);
    cr_assert_eq(o.side, ND_SIDE_SELL);
    cr_assert_eq(o.type, ND_ORDER_MARKET);
    cr_assert_eq(o.venue_id, 0);
    cr_assert_eq(o.filled_qty, 0);
    cr_assert_eq(o.created_ns, -5);
    cr_assert_eq(o.updated_ns, -5);
}

static bool legal(nd_order_status_t from, nd_order_status_t to)
{
    return (from == ND_ORDER_NEW && to == ND_ORDER_ACCEPTED) ||
           (from == ND_ORDER_ACCEPTED && to == ND_ORDER_CANCELLED) ||
           (from == ND_ORDER_PARTIALLY_FILLED && to == ND_ORDER_CANCELLED);
}

Test(exec_order, every_transition)
{
    int legal_count = 0;
    for (size_t f = 0; f < STATUS_COUNT; f++) {
        for (size_t t = 0; t < STATUS_COUNT; t++) {
            nd_order_t o = order_in(all_status[f]);
            nd_order_t before = o;
            nd_err_t rc = nd_order_transition(&o, all_status[t], 2000);
            if (legal(all_status[f], all_status[t])) {
                legal_count++;
                cr_assert_eq(rc, ND_OK, "%d -> %d", all_status[f], all_status[t]);
                cr_assert_eq(o.status, all_status[t]);
                cr_assert_eq(o.updated_ns, 2000);
                cr_assert_eq(o.filled_qty, before.filled_qty);
            } else {
                cr_assert_eq(rc, ND_ESTATE, "%d -> %d", all_status[f], all_status[t]);
                cr_assert_eq(memcmp(&o, &before, sizeof o), 0);
            }
        }
    }
    cr_assert_eq(legal_count, 3);
}

Test(exec_order, reject_new_only)
{
    for (size_t f = 0; f < STATUS_COUNT; f++) {
        nd_order_t o = order_in(all_status[f]);
        nd_order_t before = o;
        nd_err_t rc = nd_order_reject(&o, ND_REJECT_INSUFFICIENT_FUNDS, 3000);
        if (all_status[f] == ND_ORDER_NEW) {
            cr_assert_eq(rc, ND_OK);
            cr_assert_eq(o.status, ND_ORDER_REJECTED);
            cr_assert_eq(o.reject_reason, ND_REJECT_INSUFFICIENT_FUNDS);
            cr_assert_eq(o.updated_ns, 3000);
            cr_assert(nd_order_is_done(&o));
        } else {
            cr_assert_eq(rc, ND_ESTATE);
            cr_assert_eq(memcmp(&o, &before, sizeof o), 0);
        }
    }
}

Test(exec_order, reject_needs_reason)
{
    nd_order_t o = make_order();
    nd_order_t before = o;
    cr_assert_eq(nd_order_reject(&o, ND_REJECT_NONE, 3000), ND_EINVAL);
    cr_assert_eq(memcmp(&o, &before, sizeof o), 0);
}

Test(exec_order, fill_partial_then_full)
{
    nd_order_t o = order_in(ND_ORDER_ACCEPTED);
    /* 0.5 BTC at 100.00 = 50 USDT = 5,000,000,000 cash units, fee 100. */
    nd_fill_t f1 = make_fill(50000000, 10000000000, 5000);
    f1.notional = 5000000000;
    cr_assert_eq(nd_order_apply_fill(&o, &f1), ND_OK);
    cr_assert_eq(o.status, ND_ORDER_PARTIALLY_FILLED);
    cr_assert_eq(o.filled_qty, 50000000);
    cr_assert_eq(nd_order_remaining(&o), 150000000);
    cr_assert_eq(o.fill_notional, 5000000000);
    cr_assert_eq(o.fees, 100);
    cr_assert_eq(o.updated_ns, 5000);
    cr_assert(nd_order_is_working(&o));

    nd_fill_t f2 = make_fill(150000000, 9900000000, 6000);
    f2.notional = 14850000000; /* 1.5 * 99.00 */
    f2.fee = 14851;
    cr_assert_eq(nd_order_apply_fill(&o, &f2), ND_OK);
    cr_assert_eq(o.status, ND_ORDER_FILLED);
    cr_assert_eq(o.filled_qty, 200000000);
    cr_assert_eq(nd_order_remaining(&o), 0);
    cr_assert_eq(o.fill_notional, 19850000000);
    cr_assert_eq(o.fees, 14951);
    cr_assert_eq(o.updated_ns, 6000);
    cr_assert(nd_order_is_done(&o));
    cr_assert(!nd_order_is_working(&o));
    /* A filled order takes no more fills. */
    nd_fill_t f3 = make_fill(1, 9900000000, 7000);
    cr_assert_eq(nd_order_apply_fill(&o, &f3), ND_ESTATE);
}

Test(exec_order, fill_refused_when_not_working)
{
    const nd_order_status_t bad[] = {ND_ORDER_NEW, ND_ORDER_FILLED, ND_ORDER_CANCELLED,
                                     ND_ORDER_REJECTED};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nd_order_t o = order_in(bad[i]);
        nd_order_t before = o;
        nd_fill_t f = make_fill(100000000, 10000000000, 5000);
        cr_assert_eq(nd_order_apply_fill(&o, &f), ND_ESTATE);
        cr_assert_eq(memcmp(&o, &before, sizeof o), 0);
    }
}

Test(exec_order, fill_refused_when_mismatched)
{
    nd_fill_t fills[6];
    for (int i = 0; i < 6; i++)
        fills[i] = make_fill(100000000, 10000000000, 5000);
    fills[0].client_id = 8;
    fills[1].side = ND_SIDE_SELL;
    fills[2].instrument_id = 4;
    fills[3].qty = 150000001; /* one unit more than the 1.5 BTC remaining */
    fills[4].qty = 0;
    fills[5].fee = -1;
    for (int i = 0; i < 6; i++) {
        nd_order_t o = order_in(ND_ORDER_PARTIALLY_FILLED);
        nd_order_t before = o;
        cr_assert_eq(nd_order_apply_fill(&o, &fills[i]), ND_EINVAL, "case %d", i);
        cr_assert_eq(memcmp(&o, &before, sizeof o), 0, "case %d", i);
    }
    /* Exactly the remaining quantity is fine. */
    nd_order_t o = order_in(ND_ORDER_PARTIALLY_FILLED);
    nd_fill_t exact = make_fill(150000000, 10000000000, 5000);
    cr_assert_eq(nd_order_apply_fill(&o, &exact), ND_OK);
    cr_assert_eq(o.status, ND_ORDER_FILLED);
}

Test(exec_order, fill_overflow_leaves_order)
{
    nd_order_t o = order_in(ND_ORDER_PARTIALLY_FILLED);
    o.fill_notional = INT64_MAX - 10;
    nd_order_t before = o;
    nd_fill_t f = make_fill(100000000, 10000000000, 5000);
    f.notional = 11;
    cr_assert_eq(nd_order_apply_fill(&o, &f), ND_EOVERFLOW);
    cr_assert_eq(memcmp(&o, &before, sizeof o), 0);
    f.notional = 10;
    o.fees = INT64_MAX;
    before = o;
    cr_assert_eq(nd_order_apply_fill(&o, &f), ND_EOVERFLOW);
    cr_assert_eq(memcmp(&o, &before, sizeof o), 0);
    o.fees = INT64_MAX - 100;
    cr_assert_eq(nd_order_apply_fill(&o, &f), ND_OK);
    cr_assert_eq(o.fill_notional, INT64_MAX);
    cr_assert_eq(o.fees, INT64_MAX);
}

Test(exec_order, names)
{
    cr_assert_str_eq(nd_order_status_name(ND_ORDER_NEW), "new");
    cr_assert_str_eq(nd_order_status_name(ND_ORDER_ACCEPTED), "accepted");
    cr_assert_str_eq(nd_order_status_name(ND_ORDER_PARTIALLY_FILLED), "partially_filled");
    cr_assert_str_eq(nd_order_status_name(ND_ORDER_FILLED), "filled");
    cr_assert_str_eq(nd_order_status_name(ND_ORDER_CANCELLED), "cancelled");
    cr_assert_str_eq(nd_order_status_name(ND_ORDER_REJECTED), "rejected");
    cr_assert_str_eq(nd_order_status_name((nd_order_status_t)99), "unknown");
    cr_assert_str_eq(nd_order_type_name(ND_ORDER_MARKET), "market");
    cr_assert_str_eq(nd_order_type_name(ND_ORDER_LIMIT), "limit");
    cr_assert_str_eq(nd_order_type_name(ND_ORDER_STOP), "stop");
    cr_assert_str_eq(nd_order_type_name((nd_order_type_t)9), "unknown");
    cr_assert_str_eq(nd_side_name(ND_SIDE_BUY), "buy");
    cr_assert_str_eq(nd_side_name(ND_SIDE_SELL), "sell");
    cr_assert_str_eq(nd_side_name((nd_side_t)0), "unknown");
}
