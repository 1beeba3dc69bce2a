/* bench_prom.c: the metrics registry (prom.h) at the size issue 14 names: a scrape of 1,000
 * series in under 1 ms of engine-thread time. In a session the scrape is rendered on the loop
 * thread, the engine's, so the render is the engine-thread time a scrape costs (the socket write
 * then goes out in 16 KiB chunks as the kernel takes them). The registry: 20 gauge families of
 * 45 labelled series with money values (8 decimals), 14 counter families of 4, and 2 histograms
 * of 19 buckets: 1,000 series lines. Reports the render's p50/p99/max over RENDERS scrapes, with
 * the cells changing between scrapes, in wall time and in the thread's CPU time (getrusage
 * RUSAGE_THREAD: what the scrape takes from the engine thread, without the time a loaded machine
 * makes it wait for a core), and the hot-path cost of an update and an observation.
 * Usage: bench_prom [RENDERS] (default 2,000). */
#include "bench_time.h"
#include "noderr/alloc.h"
#include "noderr/prom.h"

#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>

#define GAUGE_FAMILIES 20
#define GAUGE_SERIES 45
#define COUNTER_FAMILIES 14
#define COUNTER_SERIES 4
#define HIST_FAMILIES 2
#define UPDATES 100000000L

static nd_prom_cell_t *cells[GAUGE_FAMILIES * GAUGE_SERIES + COUNTER_FAMILIES * COUNTER_SERIES];
static nd_prom_hist_t *hists[HIST_FAMILIES];
static size_t cell_count;

static void build(nd_prom_t *p)
{
    char err[256], name[64], strategy[32], asset[32];
    static const int64_t bounds[] = {10000, 25000, 50000, 100000, 250000, 500000, 1000000,
                                     2500000, 5000000, 10000000, 25000000, 50000000, 100000000,
                                     250000000, 500000000, 1000000000, 2500000000, 5000000000,
                                     10000000000};
    for (int f = 0; f < GAUGE_FAMILIES + COUNTER_FAMILIES + HIST_FAMILIES; f++) {
        bool gauge = f < GAUGE_FAMILIES, hist = f >= GAUGE_FAMILIES + COUNTER_FAMILIES;
        snprintf(name, sizeof name, "bench_family_%d%s", f,
                 hist ? "_seconds" : gauge ? "_usd" : "_total");
        nd_prom_family_t *fam;
        const char *labels[] = {"strategy", "asset", NULL};
        if (nd_prom_family(p, hist ? ND_PROM_HISTOGRAM : gauge ? ND_PROM_GAUGE : ND_PROM_COUNTER,
                           name, "A benchmark family.", hist ? 9 : gauge ? 8 : 0,
                           hist ? NULL : labels, hist ? bounds : NULL, hist ? 19 : 0, &fam, err,
                           sizeof err) != ND_OK) {
            fprintf(stderr, "%s\n", err);
            exit(1);
        }
        if (hist) {
            nd_prom_hist_series(fam, NULL, &hists[f - GAUGE_FAMILIES - COUNTER_FAMILIES]);
            continue;
        }
        for (int s = 0; s < (gauge ? GAUGE_SERIES : COUNTER_SERIES); s++) {
            snprintf(strategy, sizeof strategy, "strategy_%d", s % 9);
            snprintf(asset, sizeof asset, "ASSET%d/USDT", s / 9);
            nd_prom_series(fam, (const char *[]){strategy, asset}, &cells[cell_count++]);
        }
    }
}

static double thread_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    long renders = argc > 1 ? atol(argv[1]) : 2000;
    if (renders < 10) {
        fprintf(stderr, "usage: bench_prom [RENDERS >= 10]\n");
        return 2;
    }
    nd_prom_t *p;
    if (nd_prom_create(&p) != ND_OK)
        return 1;
    build(p);
    double *t = nd_alloc((size_t)renders * sizeof *t);
    double *cpu = nd_alloc((size_t)renders * sizeof *cpu);
    size_t bytes = 0;
    for (long r = 0; r < renders; r++) {
        for (size_t k = 0; k < cell_count; k++)
            nd_prom_set(cells[k], (int64_t)(k * 7919 + (size_t)r) * 123456789);
        for (int h = 0; h < HIST_FAMILIES; h++)
            nd_prom_observe(hists[h], r * 1000 + h);
        char *text;
        size_t len;
        double c0 = thread_cpu_s(), t0 = bench_wall_s();
        if (nd_prom_render(p, &text, &len) != ND_OK)
            return 1;
        t[r] = bench_wall_s() - t0;
        cpu[r] = thread_cpu_s() - c0;
        bytes = len;
        nd_free(text);
    }
    double cpu_sum = 0;
    for (long r = 0; r < renders; r++)
        cpu_sum += cpu[r];
    qsort(t, (size_t)renders, sizeof *t, cmp);
    printf("scrape of %zu series (%zu bytes), %ld renders\n", nd_prom_series_count(p), bytes,
           renders);
    printf("  wall:       p50 %.1f us, p99 %.1f us, max %.1f us\n", t[renders / 2] * 1e6,
           t[renders * 99 / 100] * 1e6, t[renders - 1] * 1e6);
    /* Per-render CPU readings move in scheduler ticks (4 ms at 250 Hz): only their mean is a
     * figure; the wall percentiles are exact but count the waits of a loaded machine. */
    printf("  thread cpu: mean %.1f us\n", cpu_sum / renders * 1e6);
    double w0 = bench_wall_s(), c0 = bench_cpu_s();
    for (long i = 0; i < UPDATES; i++)
        nd_prom_add(cells[i & 511], 1);
    double w1 = bench_wall_s();
    for (long i = 0; i < UPDATES; i++)
        nd_prom_observe(hists[i & 1], (i & 0xFFFFF) * 977);
    double w2 = bench_wall_s(), c1 = bench_cpu_s();
    printf("hot path: counter add %.2f ns, histogram observe %.2f ns (cpu %.2f s)\n",
           (w1 - w0) * 1e9 / UPDATES, (w2 - w1) * 1e9 / UPDATES, c1 - c0);
    nd_free(t);
    nd_free(cpu);
    nd_prom_destroy(p);
    return 0;
}
