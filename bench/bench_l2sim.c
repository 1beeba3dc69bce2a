/* bench_l2sim.c: market events per second through the L2 simulated venue (nd_l2sim) with a
 * quoting strategy keeping resting orders in the queue.
 *
 * A block of synthetic L2 events (book deltas and trades from nd_synth_ticks, 50 levels a side)
 * is generated in memory first, then replayed REPEAT times with its times shifted, so that the
 * figure is the simulator's, not the generator's. While replaying, a minimal market maker keeps
 * QUOTES buy and QUOTES sell limit orders resting 0..QUOTES-1 ticks behind the best prices,
 * re-sending each one when it fills (the replacement goes through the entry latency, drawn from
 * a recorded-style sample list), and every 64th event it sends a small market order. The fills
 * come through the report callback, which only counts them. Queue model: PROPORTIONAL (the
 * costlier one). Prints wall-clock and CPU-time rates. Usage: bench_l2sim [EVENTS] (default
 * 10,000,000). Asserts nothing about speed. */
#include "bench_time.h"
#include "noderr/alloc.h"
#include "noderr/clock.h"
#include "noderr/l2sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_EVENTS 1000000
#define QUOTES 4
#define POOL 256

typedef struct bench {
    nd_l2sim_t *sim;
    nd_order_t pool[POOL];
    uint64_t next_id;
    uint64_t fills, maker, taker;
    int64_t filled_qty;
} bench_t;

static bench_t b;

static void on_report(void *ctx, const nd_l2sim_report_t *r)
{
    (void)ctx;
    if (r->kind != ND_L2SIM_REPORT_FILL)
        return;
    b.fills++;
    b.filled_qty += r->fill.qty;
    if (r->fill.maker)
        b.maker++;
    else
        b.taker++;
}

/* Market orders come from a ring: each is done when it arrives, and the ring is far longer
 * than the orders in flight (the entry latency is at most 4 ms, 64 events apart each). */
static nd_order_t *market_order(void)
{
    nd_order_t *o = &b.pool[2 * QUOTES + (b.next_id % (POOL - 2 * QUOTES))];
    return o->client_id == 0 || nd_order_is_done(o) ? o : NULL;
}

static void send(nd_order_t *o, nd_side_t side, nd_order_type_t type, int64_t px, int64_t qty,
                 int64_t now)
{
    if (o == NULL)
        return;
    nd_order_intent_t in = {.instrument_id = 0, .side = side, .type = type, .px = px, .qty = qty};
    nd_order_init(o, ++b.next_id, &in, 0, now);
    if (nd_l2sim_submit(b.sim, o, now) != ND_OK)
        o->status = ND_ORDER_REJECTED; /* free for reuse */
}

/* Re-sends every quote slot whose order is done, k ticks behind the best price of its side.
 * Slots 0..QUOTES-1 are bids, QUOTES..2*QUOTES-1 asks. */
static void requote(const nd_instrument_t *inst, int64_t now)
{
    const nd_book_t *book = nd_l2sim_book(b.sim);
    nd_book_level_t bid, ask;
    if (!nd_book_best(book, ND_BOOK_BID, &bid) || !nd_book_best(book, ND_BOOK_ASK, &ask))
        return;
    for (int k = 0; k < 2 * QUOTES; k++) {
        nd_order_t *o = &b.pool[k];
        if (o->client_id != 0 && !nd_order_is_done(o))
            continue;
        bool buy = k < QUOTES;
        int64_t off = (k % QUOTES) * inst->tick_size;
        send(o, buy ? ND_SIDE_BUY : ND_SIDE_SELL, ND_ORDER_LIMIT, buy ? bid.px - off : ask.px + off,
             3 * inst->lot_size, now);
    }
}

int main(int argc, char **argv)
{
    int64_t events = argc > 1 ? atoll(argv[1]) : 10000000;
    if (events <= 0) {
        fprintf(stderr, "usage: bench_l2sim [EVENTS]\n");
        return 2;
    }
    nd_instrument_t inst;
    nd_instrument_init(&inst, "BTC/USDT", "sim");
    nd_synth_ticks_config_t tc;
    nd_synth_ticks_config_default(&tc);
    tc.events = events < BLOCK_EVENTS ? events : BLOCK_EVENTS;
    tc.level_qty_max = 20;
    nd_tick_event_t *block = nd_calloc((size_t)tc.events, sizeof *block);
    nd_synth_ticks_t *g;
    char err[256];
    if (block == NULL || nd_synth_ticks_open(&tc, &inst, &g, err, sizeof err) != ND_OK) {
        fprintf(stderr, "bench_l2sim: %s\n", err);
        return 1;
    }
    for (int64_t i = 0; i < tc.events; i++)
        if (nd_synth_ticks_next(g, &block[i]) != ND_OK)
            return 1;
    nd_synth_ticks_close(g);
    int64_t span = nd_tick_ts(&block[tc.events - 1]) - nd_tick_ts(&block[0]) + tc.step_ns;

    nd_l2sim_config_t c;
    nd_l2sim_config_default(&c);
    c.queue_model = ND_L2SIM_QUEUE_PROPORTIONAL;
    static const int64_t entry[] = {200000, 350000, 500000, 800000, 1500000, 4000000};
    c.entry = (nd_l2sim_latency_t){.samples_ns = entry, .sample_count = 6};
    c.ack.const_ns = 300000;
    if (nd_l2sim_create(&c, &inst, on_report, NULL, &b.sim) != ND_OK) {
        fprintf(stderr, "bench_l2sim: create failed\n");
        return 1;
    }
    double t0 = bench_wall_s(), c0 = bench_cpu_s();
    int64_t done = 0;
    for (int64_t round = 0; done < events; round++) {
        int64_t shift = round * span;
        for (int64_t i = 0; i < tc.events && done < events; i++, done++) {
            nd_tick_event_t ev = block[i];
            switch (ev.kind) {
            case ND_TICK_TRADE: ev.u.trade.ts_ns += shift; break;
            case ND_TICK_QUOTE: ev.u.quote.ts_ns += shift; break;
            case ND_TICK_DELTA: ev.u.delta.ts_ns += shift; break;
            }
            if (nd_l2sim_on_event(b.sim, &ev) != ND_OK) {
                fprintf(stderr, "bench_l2sim: event %lld refused\n", (long long)done);
                return 1;
            }
            /* The strategy acts on complete venue events only. */
            if ((done & 15) == 0 && (ev.kind != ND_TICK_DELTA || ev.u.delta.flags & ND_DELTA_F_LAST))
                requote(&inst, nd_tick_ts(&ev));
            if ((done & 63) == 0)
                send(market_order(), done & 64 ? ND_SIDE_BUY : ND_SIDE_SELL, ND_ORDER_MARKET, 0,
                     2 * inst.lot_size, nd_tick_ts(&ev));
        }
    }
    double dt = bench_wall_s() - t0, dc = bench_cpu_s() - c0;
    nd_l2sim_stats_t st;
    nd_l2sim_stats(b.sim, &st);
    printf("l2sim: %lld events in %.3f s wall, %.3f s CPU: %.2f M events/s wall, %.2f M "
           "events/s CPU (%.1f ns/event CPU)\n",
           (long long)done, dt, dc, (double)done / dt / 1e6, (double)done / dc / 1e6,
           dc * 1e9 / (double)done);
    printf("l2sim: orders %llu, fills %llu (maker %llu, taker %llu), cancels %llu\n",
           (unsigned long long)st.orders_arrived, (unsigned long long)b.fills,
           (unsigned long long)b.maker, (unsigned long long)b.taker,
           (unsigned long long)st.cancels);
    nd_l2sim_destroy(b.sim);
    nd_free(block);
    return 0;
}
