/* bench_exec.c: the Binance live adapter's submit on the caller's thread, to "request bytes
 * ready": the client order id, the exchangeInfo filter check, the signed POST /api/v3/order
 * bytes (HMAC-SHA256), the NEW intent appended to the journal (one write(2)) and folded into the
 * local view, the request queued for the worker. The worker is not started (nothing is sent);
 * the adapter is rebuilt every BATCH orders so the queue never fills. Also times the worker's
 * fdatasync of one intent on the journal's file system (the wait before a request leaves).
 * Prints p50 / p99 / p99.9 in ns. Usage: bench_exec [ORDERS] [JOURNAL_DIR] (100000, /tmp). */
#include "noderr/alloc.h"
#include "noderr/binance.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BATCH 200

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *label, int64_t *ns, size_t n)
{
    qsort(ns, n, sizeof ns[0], cmp_i64);
    printf("%-44s n=%zu p50 %lld ns  p99 %lld ns  p99.9 %lld ns\n", label, n,
           (long long)ns[n / 2], (long long)ns[n * 99 / 100], (long long)ns[n * 999 / 1000]);
}

static int open_all(const char *path, nd_binance_rest_t **rest, nd_journal_t **journal)
{
    nd_secret_t sec;
    memset(&sec, 0, sizeof sec);
    snprintf(sec.api_key, sizeof sec.api_key, "bench-key");
    snprintf(sec.api_secret, sizeof sec.api_secret, "bench-secret-0123456789abcdef");
    nd_binance_rest_config_t rcfg = {.base_url = "http://127.0.0.1:9", .secret = &sec};
    char err[256] = "";
    if (nd_binance_rest_create(&rcfg, nd_clock_os(), rest, err, sizeof err) != ND_OK ||
        nd_journal_open(path, NULL, NULL, journal, err, sizeof err) != ND_OK) {
        fprintf(stderr, "bench_exec: %s\n", err);
        return -1;
    }
    nd_binance_filters_t f = {.symbol = "BTCUSDT", .trading = true, .min_price = 1000000,
                              .max_price = (int64_t)1000000 * 100000000, .tick_size = 1000000,
                              .min_qty = 1000, .max_qty = (int64_t)9000 * 100000000,
                              .step_size = 1000, .min_notional = 500000000};
    nd_binance_rest_set_filters(*rest, &f);
    return 0;
}

int main(int argc, char **argv)
{
    size_t orders = argc > 1 ? strtoull(argv[1], NULL, 10) : 100000;
    char path[512];
    snprintf(path, sizeof path, "%s/nd-bench-exec-%d.journal", argc > 2 ? argv[2] : "/tmp",
             (int)getpid());
    nd_binance_rest_t *rest = NULL;
    nd_journal_t *journal = NULL;
    nd_recon_local_t *local = nd_calloc(1, sizeof *local);
    int64_t *ns = nd_calloc(orders, sizeof *ns);
    if (!local || !ns || orders < BATCH || open_all(path, &rest, &journal) != 0)
        return 1;
    const nd_clock_t *clock = nd_clock_os();
    nd_binance_exec_config_t cfg = {.rest = rest, .journal = journal, .local = local,
                                    .clock = clock, .symbol = "BTCUSDT",
                                    .assets = {.base = "BTC", .quote = "USDT"}, .tag = "bench",
                                    .run = 1, .queue_max = BATCH};
    size_t done = 0;
    char err[256];
    while (done < orders) {
        nd_binance_exec_t *x = NULL;
        memset(local, 0, sizeof *local);
        if (nd_binance_exec_create(&cfg, &x, err, sizeof err) != ND_OK)
            return 1;
        nd_exec_venue_t v = nd_binance_exec_venue(x);
        for (size_t k = 0; k < BATCH && done < orders; k++, done++) {
            nd_order_intent_t in = {.side = done % 2 ? ND_SIDE_SELL : ND_SIDE_BUY,
                                    .type = ND_ORDER_LIMIT,
                                    .px = (int64_t)(40000 + done % 100) * 100000000,
                                    .qty = (int64_t)(1 + done % 50) * 1000};
            nd_order_t o;
            nd_order_init(&o, done + 1, &in, 0, 0);
            int64_t t0 = nd_clock_mono_ns(clock);
            nd_err_t rc = v.ops->submit(v.self, &o, 0);
            ns[done] = nd_clock_mono_ns(clock) - t0;
            if (rc != ND_OK)
                return 1;
        }
        nd_binance_exec_destroy(x);
    }
    report("submit to request bytes ready (caller)", ns, orders);
    /* Its two largest parts alone: the signed bytes, and the journal append. */
    for (size_t k = 0; k < orders; k++) {
        nd_binance_order_t bo = {.symbol = "BTCUSDT", .side = ND_MD_SIDE_BID,
                                 .type = ND_BINANCE_LIMIT,
                                 .px = (int64_t)(40000 + k % 100) * 100000000,
                                 .qty = (int64_t)(1 + k % 50) * 1000};
        snprintf(bo.client_order_id, sizeof bo.client_order_id, "ndbench-1-0-%zx", k);
        nd_binance_request_t req;
        nd_reject_t why;
        int64_t t0 = nd_clock_mono_ns(clock);
        if (nd_binance_rest_prepare_order(rest, &bo, &req, &why, err, sizeof err) != ND_OK)
            return 1;
        ns[k] = nd_clock_mono_ns(clock) - t0;
    }
    report("  of which: filters + signed request bytes", ns, orders);
    for (size_t k = 0; k < orders; k++) {
        nd_journal_rec_t rec = {.kind = ND_JOURNAL_NEW, .order = {.clid = "ndbench-1-0-1"}};
        int64_t t0 = nd_clock_mono_ns(clock);
        if (nd_journal_append(journal, &rec, err, sizeof err) != ND_OK)
            return 1;
        ns[k] = nd_clock_mono_ns(clock) - t0;
    }
    report("  of which: journal append (write(2))", ns, orders);
    size_t syncs = orders / 100;
    for (size_t k = 0; k < syncs; k++) {
        nd_journal_rec_t rec = {.kind = ND_JOURNAL_RUN, .run = (uint32_t)k};
        if (nd_journal_append(journal, &rec, err, sizeof err) != ND_OK)
            return 1;
        int64_t t0 = nd_clock_mono_ns(clock);
        if (nd_journal_sync(journal) != ND_OK)
            return 1;
        ns[k] = nd_clock_mono_ns(clock) - t0;
    }
    report("journal fdatasync of one intent (worker)", ns, syncs);
    nd_journal_close(journal);
    nd_binance_rest_destroy(rest);
    unlink(path);
    nd_free(ns);
    nd_free(local);
    return 0;
}
