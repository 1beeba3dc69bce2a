/* bench_tick_to_order.c: tick-to-order decision in process (issue 12's target: p50 <= 2 us,
 * p99 <= 10 us), on the path a paper session takes for every WebSocket message: Binance's
 * decoder on the message bytes -> the exact rescale into the instrument's units -> the engine
 * step (timers, the simulated venue's matching, mark, breakers, the strategy, risk checks, the
 * order handed to the venue) -> the listener flush. Timed per message from the first byte handed
 * to the decoder (the socket read is the kernel's) to the return of the push, when the order is
 * with the venue. Messages: a seeded random walk of bookTicker and trade payloads as Binance sends
 * them (combined-stream envelopes), quote_maker requoting on every best bid/offer change.
 *
 * Usage: bench_tick_to_order [MESSAGES] (default 200,000). Prints percentiles for every message
 * and for the messages after which an order (past the risk checks) or a cancel went to the
 * venue. */
#include "../src/live/live_int.h"
#include "bench_time.h"
#include "noderr/alloc.h"
#include "noderr/binance.h"
#include "noderr/rand.h"
#include "noderr/strategy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct bench {
    nd_event_run_t *run;
    const nd_instrument_t *inst;
    int64_t ts_ns;
    uint64_t seq;
    int64_t bad;
} bench_t;

static void sink(void *ctx, const nd_md_event_t *md)
{
    bench_t *b = ctx;
    nd_market_event_t ev;
    if (!nd__live_md_to_event(md, b->inst, b->ts_ns, b->seq++, &ev)) {
        b->bad++;
        return;
    }
    char err[256];
    if (nd_event_run_push(b->run, &ev, err, sizeof err) != ND_OK)
        b->bad++;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void percentiles(const char *what, int64_t *v, size_t n)
{
    if (n == 0)
        return;
    qsort(v, n, sizeof *v, cmp_i64);
    printf("%-28s n=%zu p50=%.2f us p99=%.2f us p99.9=%.2f us max=%.2f us\n", what, n,
           (double)v[n / 2] / 1e3, (double)v[n * 99 / 100] / 1e3, (double)v[n * 999 / 1000] / 1e3,
           (double)v[n - 1] / 1e3);
}

/* Writes message k of the seeded walk: every third a trade, the others a bookTicker. */
static size_t message(nd_rand_t *rng, size_t k, int64_t *mid_cents, char *buf, size_t cap)
{
    *mid_cents += (int64_t)nd_rand_below(rng, 5) - 2;
    int64_t bid = *mid_cents, ask = *mid_cents + 1;
    if (k % 3 == 2)
        return (size_t)snprintf(buf, cap,
            "{\"stream\":\"btcusdt@trade\",\"data\":{\"e\":\"trade\",\"E\":%lld,\"s\":\"BTCUSDT\","
            "\"t\":%zu,\"p\":\"%lld.%02lld\",\"q\":\"0.00%03u\",\"T\":%lld,\"m\":%s,\"M\":true}}",
            1700000000000LL + (long long)k, k, (long long)(bid / 100), (long long)(bid % 100),
            (unsigned)(1 + nd_rand_below(rng, 900)), 1700000000000LL + (long long)k,
            nd_rand_below(rng, 2) ? "true" : "false");
    return (size_t)snprintf(buf, cap,
        "{\"stream\":\"btcusdt@bookTicker\",\"data\":{\"u\":%zu,\"s\":\"BTCUSDT\","
        "\"b\":\"%lld.%02lld\",\"B\":\"0.%05u\",\"a\":\"%lld.%02lld\",\"A\":\"0.%05u\"}}",
        k, (long long)(bid / 100), (long long)(bid % 100),
        (unsigned)(1000 + nd_rand_below(rng, 90000)), (long long)(ask / 100),
        (long long)(ask % 100), (unsigned)(1000 + nd_rand_below(rng, 90000)));
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 200000;
    nd_backtest_config_t cfg;
    nd_backtest_config_default(&cfg);
    cfg.strategies[0].def = nd_strategy_find_event("quote_maker");
    nd_strategy_params_default(cfg.strategies[0].def, cfg.strategies[0].params);
    cfg.strategy_count = 1;
    cfg.px_decimals = 2;
    cfg.qty_decimals = 6;
    cfg.engine.risk.orders_per_sec_max = 0;
    cfg.engine.risk.max_drawdown_pct_e2 = 0; /* the walk is not a market: keep quoting */
    cfg.engine.risk.daily_loss_pct_e2 = 0;
    nd_backtest_result_t result;
    char err[512] = "";
    bench_t b = {0};
    if (nd_event_run_open(&cfg, &result, &b.run, err, sizeof err) != ND_OK) {
        fprintf(stderr, "bench_tick_to_order: %s\n", err);
        return 1;
    }
    b.inst = nd_event_run_instrument(b.run, 0);
    nd_binance_decoder_t *dec = NULL;
    nd_binance_decoder_create(0, 0, &dec);
    char *msgs = nd_alloc(n * 256);
    size_t *len = nd_alloc(n * sizeof *len);
    int64_t *all = nd_alloc(n * sizeof *all), *ordering = nd_alloc(n * sizeof *ordering);
    nd_rand_t rng;
    nd_rand_init(&rng, 11);
    int64_t mid = 4000000;
    for (size_t k = 0; k < n; k++)
        len[k] = message(&rng, k, &mid, msgs + k * 256, 256);
    const nd_clock_t *clock = nd_clock_os();
    const nd_engine_stats_t *st = nd_engine_stats(nd_event_run_engine(b.run));
    size_t n_order = 0;
    double cpu0 = bench_cpu_s();
    for (size_t k = 0; k < n; k++) {
        int64_t orders = st->orders_submitted - st->orders_rejected + st->orders_cancelled;
        b.ts_ns = 1700000000000000000LL + (int64_t)k * 1000000;
        int64_t t0 = nd_clock_mono_ns(clock);
        nd_binance_decode(dec, msgs + k * 256, len[k], b.ts_ns, sink, &b);
        int64_t dt = nd_clock_mono_ns(clock) - t0;
        all[k] = dt;
        if (st->orders_submitted - st->orders_rejected + st->orders_cancelled != orders)
            ordering[n_order++] = dt;
    }
    double cpu = bench_cpu_s() - cpu0;
    printf("tick_to_order: %zu messages, %lld bad, %lld orders submitted (%lld rejected), "
           "%lld cancelled, "
           "%lld fills, CPU %.3f s (%.0f ns/message)\n",
           n, (long long)b.bad, (long long)st->orders_submitted, (long long)st->orders_rejected,
           (long long)st->orders_cancelled,
           (long long)st->fills, cpu, cpu * 1e9 / (double)n);
    for (int r = 1; r < ND_REJECT_SLOTS; r++)
        if (nd_engine_rejects(nd_event_run_engine(b.run), (nd_reject_t)r) > 0)
            printf("  rejected %s: %lld\n", nd_reject_name((nd_reject_t)r),
                   (long long)nd_engine_rejects(nd_event_run_engine(b.run), (nd_reject_t)r));
    percentiles("every message", all, n);
    percentiles("messages that sent an order", ordering, n_order); /* accepted by risk */
    nd_event_run_close(b.run, err, sizeof err);
    nd_backtest_result_free(&result);
    nd_binance_decoder_destroy(dec);
    nd_free(msgs);
    nd_free(len);
    nd_free(all);
    nd_free(ordering);
    return b.bad == 0 ? 0 : 1;
}
