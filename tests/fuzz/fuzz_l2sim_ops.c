/* fuzz_l2sim_ops.c: libFuzzer driver for the L2 simulator (src/exec/l2sim.c).
 *
 * The input is a sequence of 6-byte operations: book deltas, trades, quotes, orders (market and
 * limit), cancels and time advances, on a small price grid so that they interact. After every
 * operation the simulator's book must be valid, and every fill must keep the model's promises:
 * no order filled beyond its quantity, no limit order filled at a worse price than its limit, no
 * taker fill beyond the displayed size of its level, the fills of one trade within its size, and
 * a fill at a trade's own price only once the queue ahead is gone. */
#include "noderr/assert.h"
#include "noderr/l2sim.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ORDERS 64
#define PX0 100000

typedef struct state {
    nd_l2sim_t *sim;
    nd_order_t orders[ORDERS];
    int64_t filled[ORDERS];
    int count;
    const nd_tick_event_t *current;
    int64_t trade_fills;
} state_t;

static void on_report(void *ctx, const nd_l2sim_report_t *r)
{
    state_t *s = ctx;
    ND_ASSERT(r->visible_ns >= r->exchange_ns);
    if (r->kind != ND_L2SIM_REPORT_FILL)
        return;
    const nd_fill_t *f = &r->fill;
    ND_ASSERT(f->client_id >= 1 && f->client_id <= (uint64_t)s->count);
    const nd_order_t *o = &s->orders[f->client_id - 1];
    s->filled[f->client_id - 1] += f->qty;
    ND_ASSERT(f->qty > 0);
    ND_ASSERT(s->filled[f->client_id - 1] <= o->qty);
    if (o->type == ND_ORDER_LIMIT)
        ND_ASSERT(o->side == ND_SIDE_BUY ? f->px <= o->px : f->px >= o->px);
    if (!f->maker) {
        nd_book_side_t opp = o->side == ND_SIDE_BUY ? ND_BOOK_ASK : ND_BOOK_BID;
        ND_ASSERT(f->qty <= nd_book_qty_at(nd_l2sim_book(s->sim), opp, f->px));
        return;
    }
    if (s->current != NULL && s->current->kind == ND_TICK_TRADE) {
        s->trade_fills += f->qty;
        ND_ASSERT(s->trade_fills <= s->current->u.trade.qty);
        int64_t ahead;
        if (f->px == s->current->u.trade.px && nd_l2sim_queue_ahead(s->sim, f->client_id, &ahead))
            ND_ASSERT(ahead == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static state_t s;
    memset(&s, 0, sizeof s);
    nd_instrument_t inst;
    ND_ASSERT(nd_instrument_init(&inst, "BTC/USDT", "sim") == ND_OK);
    inst.tick_size = 1;
    inst.lot_size = 1;
    nd_l2sim_config_t c;
    nd_l2sim_config_default(&c);
    c.orders_max = 16;
    c.requests_max = 16;
    c.levels_max = 8;
    c.queue_model = size > 0 && (data[0] & 1) ? ND_L2SIM_QUEUE_PROPORTIONAL
                                              : ND_L2SIM_QUEUE_RISK_AVERSE;
    static const int64_t samples[] = {0, 3, 7};
    c.entry = (nd_l2sim_latency_t){.samples_ns = samples, .sample_count = 3};
    c.ack.const_ns = 2;
    ND_ASSERT(nd_l2sim_create(&c, &inst, on_report, &s, &s.sim) == ND_OK);
    int64_t now = 0;
    for (size_t i = 1; i + 6 <= size; i += 6) {
        const uint8_t *op = data + i;
        now += op[1] & 3;
        int64_t px = PX0 + (int8_t)(op[2] & 0x0f) - 8;
        int64_t qty = op[3] % 16;
        nd_tick_event_t ev;
        memset(&ev, 0, sizeof ev);
        s.current = NULL;
        switch (op[0] % 7) {
        case 0:
        case 1:
            ev.kind = ND_TICK_DELTA;
            ev.u.delta = (nd_book_delta_t){.ts_ns = now, .side = (nd_book_side_t)(op[4] & 1),
                                           .px = px, .qty = qty, .flags = op[5] & 3};
            break;
        case 2:
            ev.kind = ND_TICK_TRADE;
            ev.u.trade = (nd_trade_tick_t){.ts_ns = now, .px = px, .qty = qty + 1,
                                           .aggressor = op[4] & 1 ? ND_SIDE_BUY : ND_SIDE_SELL};
            break;
        case 3:
            ev.kind = ND_TICK_QUOTE;
            ev.u.quote = (nd_quote_tick_t){.ts_ns = now, .bid_px = px, .bid_qty = qty,
                                           .ask_px = px + 1 + (op[4] & 3), .ask_qty = op[5] % 16};
            break;
        case 4:
            if (s.count < ORDERS) {
                nd_order_intent_t in = {.instrument_id = 0,
                                        .side = op[4] & 1 ? ND_SIDE_BUY : ND_SIDE_SELL,
                                        .type = op[4] & 2 ? ND_ORDER_MARKET : ND_ORDER_LIMIT,
                                        .px = px, .qty = qty + 1};
                nd_order_init(&s.orders[s.count], (uint64_t)s.count + 1, &in, 0, now);
                s.count++;
                nd_err_t rc = nd_l2sim_submit(s.sim, &s.orders[s.count - 1], now);
                ND_ASSERT(rc == ND_OK || rc == ND_EFULL);
                if (rc != ND_OK)
                    s.count--; /* never sent: its slot in our table is reused */
            }
            continue;
        case 5:
            if (s.count > 0)
                (void)nd_l2sim_cancel(s.sim, 1 + op[4] % (uint64_t)s.count, now);
            continue;
        default:
            ND_ASSERT(nd_l2sim_advance(s.sim, now) == ND_OK);
            ND_ASSERT(nd_book_valid(nd_l2sim_book(s.sim)));
            continue;
        }
        /* Requests arriving before the event are processed first, outside it. */
        if (now > 0)
            (void)nd_l2sim_advance(s.sim, now - 1);
        s.current = &ev;
        s.trade_fills = 0;
        nd_err_t rc = nd_l2sim_on_event(s.sim, &ev);
        ND_ASSERT(rc == ND_OK || rc == ND_EINVAL || rc == ND_EFULL);
        ND_ASSERT(nd_book_valid(nd_l2sim_book(s.sim)));
    }
    for (int k = 0; k < s.count; k++)
        ND_ASSERT(s.filled[k] == s.orders[k].filled_qty);
    nd_l2sim_destroy(s.sim);
    return 0;
}
