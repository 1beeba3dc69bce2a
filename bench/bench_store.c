/* bench_store.c: the compliance store's throughput.
 *
 *   fills     N fills (default 1,000,000) appended to a fresh SQLite file through
 *             nd_store_append_fill (numbering, SHA-256 chaining, INSERT) and committed in
 *             batches of 10,000 (WAL, synchronous=FULL); fills/s and per-batch latency
 *             percentiles (append + commit of one batch);
 *   verify    nd_audit_verify over that file: records/s (read the six columns, check the
 *             header, SHA-256 of the stored encoding, link);
 *   verify-mem the same chain in the memory backend: the verifier without SQLite's reads.
 * Usage: bench_store [N] [PATH] (default /tmp/noderr_bench_store.db, removed at the end).
 * Not a test: it asserts nothing about speed. */
#include "noderr/clock.h"
#include "noderr/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define BATCH 10000

/* CPU seconds used so far: on a loaded machine the rate per CPU second is the stable figure. */
static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int compare_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void fill_record(nd_record_t *r, int64_t k, char ids[2][24])
{
    memset(r, 0, sizeof *r);
    snprintf(ids[0], 24, "%lld", (long long)(k / 2 + 1));
    snprintf(ids[1], 24, "v%lld", (long long)(k / 2 + 1));
    r->ts_ns = 1704067200LL * ND_NS_PER_SEC + k * ND_NS_PER_MS;
    r->event = k % 3 ? "taker" : "maker";
    r->account = "acct-1";
    r->strategy = "sma_cross";
    r->venue = "sim";
    r->instrument = "BTC/USDT";
    r->client_order_id = ids[0];
    r->venue_order_id = ids[1];
    r->side = k % 2 ? -1 : 1;
    r->px = 4200000000000 + k % 1000 * 1000000;
    r->px_scale = 8;
    r->qty = 100000 + k % 77;
    r->qty_scale = 8;
    r->notional = 4200000000 + k % 1000;
    r->fee = 4200000;
}

static int append_fills(nd_store_t *s, int64_t n, int64_t *batch_ns, int64_t *total_ns)
{
    char err[256], ids[2][24];
    nd_clock_t *clock = nd_clock_os();
    int64_t t0 = nd_clock_mono_ns(clock), tb = t0;
    for (int64_t k = 0; k < n; k++) {
        nd_record_t r;
        fill_record(&r, k, ids);
        if (nd_store_append_fill(s, &r, err, sizeof err) != ND_OK) {
            fprintf(stderr, "bench_store: %s\n", err);
            return 1;
        }
        if ((k + 1) % BATCH == 0 || k + 1 == n) {
            if (nd_store_flush(s, err, sizeof err) != ND_OK) {
                fprintf(stderr, "bench_store: %s\n", err);
                return 1;
            }
            int64_t now = nd_clock_mono_ns(clock);
            batch_ns[k / BATCH] = now - tb;
            tb = now;
        }
    }
    *total_ns = nd_clock_mono_ns(clock) - t0;
    return 0;
}

static double verify_rate(nd_store_t *s, int64_t expect, double *per_cpu)
{
    nd_audit_result_t a;
    char err[256];
    nd_clock_t *clock = nd_clock_os();
    int64_t t0 = nd_clock_mono_ns(clock);
    double c0 = cpu_seconds();
    if (nd_audit_verify(s, &a, err, sizeof err) != ND_OK || a.problem != ND_AUDIT_OK ||
        a.verified != expect) {
        fprintf(stderr, "bench_store: verify failed: %s %s\n", err, a.detail);
        return 0;
    }
    double wall = (double)(nd_clock_mono_ns(clock) - t0) / 1e9;
    *per_cpu = (double)expect / (cpu_seconds() - c0);
    return (double)expect / wall;
}

int main(int argc, char **argv)
{
    int64_t n = argc > 1 ? atoll(argv[1]) : 1000000;
    const char *path = argc > 2 ? argv[2] : "/tmp/noderr_bench_store.db";
    char url[600], side[620], err[256];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(url, sizeof url, "sqlite:%s", path);
    nd_store_t *s = NULL, *m = NULL;
    if (n <= 0 || nd_store_open(url, ND_STORE_CREATE, &s, err, sizeof err) != ND_OK ||
        nd_store_open("mem:", 0, &m, err, sizeof err) != ND_OK) {
        fprintf(stderr, "bench_store: %s\n", n <= 0 ? "N must be positive" : err);
        return 2;
    }
    int64_t batches = (n + BATCH - 1) / BATCH, total_ns = 0, mem_ns = 0;
    int64_t *batch_ns = calloc((size_t)batches, sizeof *batch_ns); /* tidy:allow bench */
    double c0 = cpu_seconds();
    if (!batch_ns || append_fills(s, n, batch_ns, &total_ns) != 0)
        return 1;
    double cpu = cpu_seconds() - c0;
    qsort(batch_ns, (size_t)batches, sizeof *batch_ns, compare_i64);
    printf("fills       %10.0f fills/s into SQLite (%lld fills, batches of %d: p50 %.2f ms, "
           "p99 %.2f ms, max %.2f ms)\n", (double)n / ((double)total_ns / 1e9), (long long)n,
           BATCH, (double)batch_ns[batches / 2] / 1e6, (double)batch_ns[batches * 99 / 100] / 1e6,
           (double)batch_ns[batches - 1] / 1e6);
    printf("            %10.0f fills per CPU second\n", (double)n / cpu);
    double per_cpu = 0, rate = verify_rate(s, n, &per_cpu);
    printf("verify      %10.0f records/s (SQLite, %lld records; %.0f per CPU second)\n", rate,
           (long long)n, per_cpu);
    if (append_fills(m, n, batch_ns, &mem_ns) != 0)
        return 1;
    rate = verify_rate(m, n, &per_cpu);
    printf("verify-mem  %10.0f records/s (memory backend; %.0f per CPU second)\n", rate, per_cpu);
    nd_store_close(s);
    nd_store_close(m);
    free(batch_ns); /* tidy:allow bench */
    unlink(path);
    unlink(side);
    return 0;
}
