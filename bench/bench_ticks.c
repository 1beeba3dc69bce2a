/* bench_ticks.c: market events per second through the whole engine (nd_engine_on_event) trading
 * through the L2 simulated venue behind the venue interface (nd_l2sim_exec), with resting orders
 * in the queue model.
 *
 * A block of synthetic L2 events (book deltas and trades from nd_synth_ticks, 50 levels a side)
 * is generated in memory first and replayed REPEAT times with its times shifted, so the figure
 * is the engine's and the venue's, not the generator's. Per event the engine does its whole
 * step: timers, the venue's matching (PROPORTIONAL queue model, 50 us entry and ack latency,
 * acks and fills coming back as order updates), the book view and mark, the breakers (equity
 * after every mark), the strategy, the flush. The strategy is the built-in quote_maker: it rests
 * a bid at the best bid, sells its position at the best ask and cancels when the book moves, so
 * it always has orders resting in the queue. Prints wall-clock and CPU-time rates. Usage:
 * bench_ticks [EVENTS [risk-averse]] (default 10,000,000 events, PROPORTIONAL). Asserts nothing
 * about speed. */
#include "bench_time.h"
#include "noderr/alloc.h"
#include "noderr/clock.h"
#include "noderr/engine.h"
#include "noderr/l2sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_EVENTS 1000000

static nd_market_event_t *make_block(const nd_instrument_t *inst, int64_t count, int64_t *span)
{
    nd_synth_ticks_config_t tc;
    nd_synth_ticks_config_default(&tc);
    tc.events = count;
    nd_market_event_t *block = nd_calloc((size_t)count, sizeof *block);
    nd_synth_ticks_t *g;
    char err[256];
    if (block == NULL || nd_synth_ticks_open(&tc, inst, &g, err, sizeof err) != ND_OK) {
        fprintf(stderr, "bench_ticks: %s\n", err);
        exit(1);
    }
    for (int64_t i = 0; i < count; i++) {
        nd_tick_event_t t;
        if (nd_synth_ticks_next(g, &t) != ND_OK)
            exit(1);
        nd_market_event_from_tick(&t, 0, (uint64_t)i, &block[i]);
    }
    nd_synth_ticks_close(g);
    *span = nd_market_event_ts(&block[count - 1]) - nd_market_event_ts(&block[0]) + tc.step_ns;
    return block;
}

int main(int argc, char **argv)
{
    int64_t events = argc > 1 ? atoll(argv[1]) : 10000000;
    if (events <= 0) {
        fprintf(stderr, "usage: bench_ticks [EVENTS]\n");
        return 2;
    }
    nd_instrument_t inst;
    nd_instrument_init(&inst, "BTC/USDT", "l2sim");
    int64_t span = 0, block_count = events < BLOCK_EVENTS ? events : BLOCK_EVENTS;
    nd_market_event_t *block = make_block(&inst, block_count, &span);

    nd_l2sim_config_t vc;
    nd_l2sim_config_default(&vc);
    vc.queue_model = argc > 2 && strcmp(argv[2], "risk-averse") == 0 ? ND_L2SIM_QUEUE_RISK_AVERSE
                                                                      : ND_L2SIM_QUEUE_PROPORTIONAL;
    vc.entry.const_ns = 50000;
    vc.ack.const_ns = 50000;
    vc.levels_max = 64;
    vc.maker_fee_bps_e2 = 0; /* a maker's rebate tier: the quoting keeps its capital */
    nd_l2sim_exec_t *venue;
    if (nd_l2sim_exec_create(&vc, &inst, "l2sim", &venue) != ND_OK) {
        fprintf(stderr, "bench_ticks: venue create failed\n");
        return 1;
    }
    nd_engine_config_t ec;
    nd_engine_config_default(&ec);
    ec.venues[0] = nd_l2sim_exec_venue(venue);
    ec.venue_count = 1;
    ec.book_levels_max = 64;
    ec.risk.max_position_pct_e2 = 6000; /* room for the sizing (25%) plus a leftover */
    ec.risk.orders_per_sec_max = 0;     /* the strategy re-quotes at event pace */
    /* Breakers stay on (equity is checked after every mark) but wide: a halted engine only
     * flattens, and the figure is meant for a trading one. */
    ec.risk.max_drawdown_pct_e2 = 9000;
    ec.risk.daily_loss_pct_e2 = 9000;
    nd_clock_sim_t clock;
    nd_clock_sim_init(&clock, 0);
    nd_engine_t *e;
    char err[256];
    const nd_strategy_def_t *def = nd_strategy_find_event("quote_maker");
    double params[ND_STRATEGY_PARAMS_MAX];
    nd_strategy_params_default(def, params);
    if (nd_engine_create(&ec, &inst, 1, &clock.clock, &e, err, sizeof err) != ND_OK ||
        nd_engine_add_strategy(e, def, params, 0, 1000000, err, sizeof err) != ND_OK ||
        nd_engine_start(e, err, sizeof err) != ND_OK) {
        fprintf(stderr, "bench_ticks: %s\n", err);
        return 1;
    }
    double t0 = bench_wall_s(), c0 = bench_cpu_s();
    int64_t done = 0;
    for (int64_t round = 0; done < events; round++) {
        for (int64_t i = 0; i < block_count && done < events; i++, done++) {
            nd_market_event_t *ev = &block[i];
            if (round > 0)
                nd_market_event_shift(ev, span); /* in place: the block moves on by its span */
            nd_clock_sim_set(&clock, nd_market_event_ts(ev));
            nd_err_t rc = nd_engine_on_event(e, ev);
            if (rc != ND_OK) {
                fprintf(stderr, "bench_ticks: event %lld: %s\n", (long long)done,
                        nd_strerror(rc));
                return 1;
            }
        }
    }
    double dt = bench_wall_s() - t0, dc = bench_cpu_s() - c0;
    const nd_engine_stats_t *es = nd_engine_stats(e);
    nd_l2sim_stats_t st;
    nd_l2sim_stats(nd_l2sim_exec_sim(venue), &st);
    printf("ticks: %lld events in %.3f s wall, %.3f s CPU: %.2f M events/s wall, %.2f M "
           "events/s CPU (%.1f ns/event CPU)\n",
           (long long)done, dt, dc, (double)done / dt / 1e6, (double)done / dc / 1e6,
           dc * 1e9 / (double)done);
    printf("ticks: orders submitted %lld, accepted %lld, rejected %lld, cancelled %lld; fills %lld "
           "(venue: maker %llu, taker %llu); order updates %lld; halted events %lld\n",
           (long long)es->orders_submitted, (long long)es->orders_accepted,
           (long long)es->orders_rejected, (long long)es->orders_cancelled, (long long)es->fills,
           (unsigned long long)st.maker_fills, (unsigned long long)st.taker_fills,
           (long long)es->order_updates, (long long)es->halted_events);
    for (int k = 1; k < ND_REJECT_SLOTS; k++)
        if (nd_engine_rejects(e, (nd_reject_t)k) > 0)
            printf("ticks: rejected %s: %lld\n", nd_reject_name((nd_reject_t)k),
                   (long long)nd_engine_rejects(e, (nd_reject_t)k));
    nd_engine_destroy(e);
    nd_l2sim_exec_destroy(venue);
    nd_free(block);
    return 0;
}
