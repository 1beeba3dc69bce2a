/* bench_surveil.c: events per second of the post-trade surveillance scan (nd_surv_scan).
 *
 * Generates a synthetic, seeded order-event stream in memory: 2,000 accounts of 1,000 owners
 * trading 50 symbols, each order sent (new), then either cancelled or filled, about 1 ms of
 * market time between events, with a few owners seeded to wash-trade and layer so that the
 * rules do real work. Then scans it with the US profile alone and with all four profiles, and
 * reports events per second (best of 3) and the alerts found. Also times the pre-trade check.
 * Usage: bench_surveil [EVENTS] (default 2,000,000). Not a test: it asserts nothing. */
#include "noderr/alloc.h"
#include "noderr/clock.h"
#include "noderr/rand.h"
#include "noderr/surveillance.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define ACCOUNTS 2000
#define SYMBOLS 50
#define SEED 42

static void die(const char *what)
{
    fprintf(stderr, "bench_surveil: %s\n", what);
    exit(1);
}

/* Ids: accounts 0..ACCOUNTS-1, owners = account / 2, symbols after them, orders after that. */
static void generate(nd_surv_event_t *ev, size_t n)
{
    nd_rand_t rng;
    nd_rand_init(&rng, SEED);
    int64_t t = 1704186000LL * ND_NS_PER_SEC; /* 2024-01-02T09:00:00Z */
    uint32_t order_base = ACCOUNTS + SYMBOLS, next_order = 0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        uint32_t account = (uint32_t)nd_rand_below(&rng, ACCOUNTS);
        uint32_t symbol = (uint32_t)nd_rand_below(&rng, SYMBOLS);
        int side = nd_rand_below(&rng, 2) ? ND_SIDE_BUY : ND_SIDE_SELL;
        int64_t px = (int64_t)(100 + nd_rand_below(&rng, 100)) * 100000000LL;
        int64_t qty = (int64_t)(1 + nd_rand_below(&rng, 100)) * 100000000LL;
        nd_surv_event_t e = {
            .ts_ns = t, .px = px, .qty = qty, .account = account, .owner = account / 2,
            .strategy = 0, .venue = 0, .symbol = ACCOUNTS + symbol,
            .order = order_base + next_order++, .side = (int8_t)side, .kind = ND_SURV_NEW};
        ev[i] = e;
        t += (int64_t)nd_rand_below(&rng, 2 * ND_NS_PER_MS);
        e.ts_ns = t;
        e.kind = nd_rand_below(&rng, 3) ? ND_SURV_CANCEL : ND_SURV_FILL;
        ev[i + 1] = e;
        t += (int64_t)nd_rand_below(&rng, 2 * ND_NS_PER_MS);
    }
    if (n % 2)
        ev[n - 1] = ev[n - 2];
}

/* CPU seconds of this process: the figure that does not depend on other load on the machine. */
static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
           ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

static double scan_rate(const nd_surv_event_t *ev, size_t n, const nd_surv_profile_t *const *ps,
                        size_t np, size_t *alert_count, double *cpu_rate)
{
    double best = 0.0;
    *cpu_rate = 0.0;
    for (int rep = 0; rep < 3; rep++) {
        nd_surv_alerts_t alerts;
        nd_surv_alerts_init(&alerts);
        char err[256];
        int64_t t0 = nd_clock_mono_ns(nd_clock_os());
        double c0 = cpu_seconds();
        if (nd_surv_scan(ev, n, ps, np, NULL, &alerts, err, sizeof err) != ND_OK)
            die(err);
        int64_t dt = nd_clock_mono_ns(nd_clock_os()) - t0;
        double cpu = cpu_seconds() - c0;
        double rate = (double)n / ((double)dt / 1e9);
        best = rate > best ? rate : best;
        if (cpu > 0 && (double)n / cpu > *cpu_rate)
            *cpu_rate = (double)n / cpu;
        *alert_count = alerts.count;
        nd_surv_alerts_deinit(&alerts);
    }
    return best;
}

static void bench_pretrade(const nd_surv_event_t *ev, size_t n)
{
    nd_surv_pretrade_t *st = NULL;
    if (nd_surv_pretrade_create(nd_jurisdiction_profile(ND_JUR_US), &st) != ND_OK)
        die("pretrade create");
    size_t checks = 0, rejects = 0, limit = n < 2000000 ? n : 2000000;
    int64_t t0 = nd_clock_mono_ns(nd_clock_os());
    for (size_t i = 0; i < limit; i++) {
        nd_surv_event_t e = ev[i];
        e.account %= 40; /* 40 accounts x 50 symbols: within the state's 4096 pairs */
        e.owner = e.account / 2;
        if (e.kind == ND_SURV_NEW) {
            checks++;
            if (nd_surv_pretrade_check(st, &e, NULL) != ND_REJECT_NONE) {
                rejects++;
                continue;
            }
        }
        if (nd_surv_pretrade_apply(st, &e) != ND_OK)
            die("pretrade apply");
    }
    int64_t dt = nd_clock_mono_ns(nd_clock_os()) - t0;
    printf("pre-trade check+apply  %10.0f events/s (%zu checks, %zu rejects, %zu resting)\n",
           (double)limit / ((double)dt / 1e9), checks, rejects, nd_surv_pretrade_resting(st));
    nd_surv_pretrade_destroy(st);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 2000000;
    if (n < 2)
        die("need at least 2 events");
    nd_surv_event_t *ev = nd_alloc(n * sizeof *ev);
    if (!ev)
        die("out of memory");
    generate(ev, n);
    const nd_surv_profile_t *us[] = {nd_jurisdiction_profile(ND_JUR_US)};
    const nd_surv_profile_t *all[] = {
        nd_jurisdiction_profile(ND_JUR_US), nd_jurisdiction_profile(ND_JUR_EU),
        nd_jurisdiction_profile(ND_JUR_UK), nd_jurisdiction_profile(ND_JUR_SG)};
    size_t alerts = 0;
    double cpu1 = 0, cpu4 = 0;
    printf("events %zu, seed %d, %d accounts, %d symbols\n", n, SEED, ACCOUNTS, SYMBOLS);
    double r1 = scan_rate(ev, n, us, 1, &alerts, &cpu1);
    printf("scan US                %10.0f events/s wall, %10.0f per CPU second (%zu alerts)\n",
           r1, cpu1, alerts);
    double r4 = scan_rate(ev, n, all, 4, &alerts, &cpu4);
    printf("scan US+EU+UK+SG       %10.0f events/s wall, %10.0f per CPU second (%zu alerts)\n",
           r4, cpu4, alerts);
    bench_pretrade(ev, n);
    nd_free(ev);
    return 0;
}
