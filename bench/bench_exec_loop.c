/* bench_exec_loop.c: the Binance live adapter sending from a libuv loop (journal.sync batched,
 * nd_binance_exec_attach_loop), against exchange-sim's server on a thread of this process
 * (127.0.0.1). Per order: submit on the loop's thread to its return (the NEW intent's write(2),
 * before_send, the send mark's write(2), libcurl's per-request work and the request's bytes
 * written to the kept-alive socket, after_send), then submit to ACCEPTED seen by poll (the
 * loopback round trip: exchange-sim's thread wakes, answers, the loop reads it). Each order is
 * cancelled before the next (cancel to CANCELLED timed too). Prints p50 / p90 / p99 in ns.
 * Usage: bench_exec_loop [ORDERS] [JOURNAL_DIR] (2000, /tmp). */
#include "noderr/alloc.h"
#include "noderr/binance.h"
#include "noderr/xsim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "../tests/unit/binance_sim_fixture.h"

#define E8 100000000LL

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *label, int64_t *ns, size_t n)
{
    qsort(ns, n, sizeof ns[0], cmp_i64);
    printf("%-44s n=%zu p50 %lld ns  p90 %lld ns  p99 %lld ns\n", label, n, (long long)ns[n / 2],
           (long long)ns[n * 9 / 10], (long long)ns[n * 99 / 100]);
}

typedef struct bench {
    bsim_t b; /* exchange-sim, the REST client, the journal and the adapter */
    uv_loop_t loop;
} bench_t;

/* exchange-sim stepping once a second, limits out of the way, no fees; the adapter (journal.sync
 * batched) started, sending from the loop. */
static int open_bench(bench_t *b, nd_clock_t *clock, const char *path)
{
    char err[256] = "";
    bsim_config_t c = {.key = "bench-key", .secret = "bench-secret",
                       .quote_balance = 100000000 * E8, .step_ns = ND_NS_PER_SEC,
                       .market_step_ns = ND_NS_PER_SEC, .weight_limit = 100000000};
    nd_binance_exec_config_t ecfg = {.symbol = "BTCUSDT", .clock = clock, .tag = "bench",
                                     .run = 1, .assets = {.base = "BTC", .quote = "USDT"}};
    nd_err_t rc = bsim_open(&b->b, &c, clock, err, sizeof err);
    if (rc == ND_OK)
        rc = bsim_adapter(&b->b, &ecfg, path, true, true, err, sizeof err);
    if (rc == ND_OK && uv_loop_init(&b->loop) != 0)
        rc = ND_EIO;
    if (rc == ND_OK)
        rc = nd_binance_exec_attach_loop(b->b.exec, &b->loop, err, sizeof err);
    if (rc != ND_OK) {
        fprintf(stderr, "bench_exec_loop: %s\n", err[0] ? err : nd_strerror(rc));
        return -1;
    }
    return 0;
}

/* Runs the loop and polls until an update of kind comes: the time it came, -1 after 5 s. */
static int64_t until(bench_t *b, const nd_clock_t *clock, nd_order_update_kind_t kind)
{
    int64_t t0 = nd_clock_mono_ns(clock);
    while (nd_clock_mono_ns(clock) - t0 < 5 * ND_NS_PER_SEC) {
        uv_run(&b->loop, UV_RUN_ONCE);
        nd_order_update_t got[64];
        size_t n = 0;
        b->b.venue.ops->poll(b->b.venue.self, 0, got, 64, &n);
        for (size_t k = 0; k < n; k++)
            if (got[k].kind == kind)
                return nd_clock_mono_ns(clock);
    }
    return -1;
}

static int run(bench_t *b, const nd_clock_t *clock, size_t orders, int64_t *ns)
{
    int64_t *ack = ns + orders, *cancel = ns + 2 * orders;
    for (size_t k = 0; k < orders; k++) {
        nd_order_intent_t in = {.side = ND_SIDE_BUY, .type = ND_ORDER_LIMIT,
                                .px = (int64_t)(20000 + k % 100) * E8, .qty = 100000};
        nd_order_t o;
        nd_order_init(&o, k + 1, &in, 0, 0);
        int64_t t0 = nd_clock_mono_ns(clock);
        if (b->b.venue.ops->submit(b->b.venue.self, &o, 0) != ND_OK)
            return -1;
        ns[k] = nd_clock_mono_ns(clock) - t0;
        int64_t t1 = until(b, clock, ND_UPDATE_ACCEPTED);
        int64_t t2 = nd_clock_mono_ns(clock);
        if (t1 < 0 || b->b.venue.ops->cancel(b->b.venue.self, k + 1, 0) != ND_OK)
            return -1;
        int64_t t3 = until(b, clock, ND_UPDATE_CANCELLED);
        if (t3 < 0)
            return -1;
        ack[k] = t1 - t0;
        cancel[k] = t3 - t2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    size_t orders = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000;
    char path[512];
    snprintf(path, sizeof path, "%s/nd-bench-exec-loop-%d.journal", argc > 2 ? argv[2] : "/tmp",
             (int)getpid());
    nd_clock_t *clock = nd_clock_os();
    bench_t b;
    memset(&b, 0, sizeof b);
    int64_t *ns = nd_calloc(3 * (orders ? orders : 1), sizeof *ns);
    if (!ns || orders == 0 || open_bench(&b, clock, path) != 0)
        return 1;
    for (int i = 0; i < 200; i++) { /* the warm-up ping's answer: the connection is open */
        uv_run(&b.loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
    if (run(&b, clock, orders, ns) != 0) {
        fprintf(stderr, "bench_exec_loop: an order or cancel was not answered\n");
        return 1;
    }
    report("submit on the loop (intent + request written)", ns, orders);
    report("submit to ACCEPTED (loopback round trip)", ns + orders, orders);
    report("cancel to CANCELLED (loopback round trip)", ns + 2 * orders, orders);
    nd_binance_exec_detach_loop(b.b.exec);
    uv_run(&b.loop, UV_RUN_DEFAULT);
    (void)uv_loop_close(&b.loop);
    bsim_close(&b.b);
    nd_free(ns);
    return 0;
}
