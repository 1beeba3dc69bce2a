/* bench_anomaly.c: observations per second of the anomaly model (anomaly.h), the per-event cost
 * the anomaly breaker adds to a live session or a backtest with it on. Two input sets: a bar's
 * (return and volume, so return, move and volume are scored) and a live bucket's (all five
 * inputs: six scores). The observations are built up front from a seeded stream, so the figure
 * is nd_anomaly_observe alone; the confidences are summed so the work cannot be dropped.
 * Usage: bench_anomaly [OBSERVATIONS] (default 10,000,000). */
#include "bench_time.h"
#include "noderr/alloc.h"
#include "noderr/anomaly.h"
#include "noderr/rand.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define BLOCK 65536

static void fill(nd_anomaly_obs_t *obs, uint32_t present, nd_rand_t *rng)
{
    for (int i = 0; i < BLOCK; i++) {
        nd_anomaly_obs_t *o = &obs[i];
        o->ts_ns = 0;
        o->present = present;
        o->value[ND_ANOMALY_RETURN] = 0.004 * nd_rand_normal(rng) * (i % 5000 == 0 ? 20 : 1);
        o->value[ND_ANOMALY_SPREAD] = 1.0 + exp(0.3 * nd_rand_normal(rng));
        o->value[ND_ANOMALY_VOLUME] = 1000.0 * exp(0.4 * nd_rand_normal(rng));
        o->value[ND_ANOMALY_MSG_RATE] = 50.0 * exp(0.2 * nd_rand_normal(rng));
        o->value[ND_ANOMALY_LATENCY] = 2000.0 * exp(0.5 * nd_rand_normal(rng));
    }
}

static void run(const char *what, uint32_t present, long n, nd_anomaly_obs_t *obs)
{
    nd_rand_t rng;
    nd_rand_init(&rng, 42);
    fill(obs, present, &rng);
    nd_anomaly_config_t cfg;
    nd_anomaly_config_default(&cfg);
    cfg.interval_ns = ND_NS_PER_MIN;
    nd_anomaly_t m;
    if (nd_anomaly_init(&m, &cfg) != ND_OK)
        exit(1);
    double wall0 = bench_wall_s(), cpu0 = bench_cpu_s();
    int64_t sum = 0, ts = 0;
    for (long k = 0; k < n; k++) {
        nd_anomaly_obs_t *o = &obs[k & (BLOCK - 1)];
        o->ts_ns = ts += ND_NS_PER_MIN;
        nd_anomaly_score_t s;
        if (nd_anomaly_observe(&m, o, &s) != ND_OK)
            exit(1);
        sum += s.confidence_e6;
    }
    double wall = bench_wall_s() - wall0, cpu = bench_cpu_s() - cpu0;
    printf("%-28s %ld observations: wall %.3f s (%.2f M/s, %.1f ns each), cpu %.3f s "
           "(%.2f M/s); confidence sum %lld\n", what, n, wall, n / wall / 1e6, wall * 1e9 / n,
           cpu, n / cpu / 1e6, (long long)sum);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 10000000;
    if (n <= 0) {
        fprintf(stderr, "usage: bench_anomaly [OBSERVATIONS > 0]\n");
        return 2;
    }
    nd_anomaly_obs_t *obs = nd_calloc(BLOCK, sizeof *obs);
    if (!obs)
        return 1;
    run("bar (return, volume)", (1u << ND_ANOMALY_RETURN) | (1u << ND_ANOMALY_VOLUME), n, obs);
    run("live bucket (all five)", (1u << ND_ANOMALY_INPUTS) - 1, n, obs);
    nd_free(obs);
    return 0;
}
