/* bench_simtest.c: seeds per second of the deterministic simulation harness (src/simtest): a
 * long budget of seeded worlds, each run to its end with every invariant checked after every
 * event. Exits 1 (naming the seed) if an invariant breaks, so a long run is also a long test.
 * Usage: bench_simtest [SEEDS] [EVENTS] (default 100,000 seeds of 1,000 bars). */
#include "bench_time.h"
#include "noderr/clock.h"
#include "noderr/simtest.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    long long seeds = argc > 1 ? atoll(argv[1]) : 100000;
    long long events = argc > 2 ? atoll(argv[2]) : 1000;
    if (seeds <= 0 || events <= 0) {
        fprintf(stderr, "usage: bench_simtest [SEEDS > 0] [EVENTS > 0]\n");
        return 2;
    }
    long long total_events = 0, fills = 0, trips = 0;
    double t0 = bench_wall_s();
    for (long long seed = 1; seed <= seeds; seed++) {
        nd_simtest_config_t cfg = {(uint64_t)seed, events};
        nd_simtest_report_t r;
        char err[256];
        if (nd_simtest_run(&cfg, &r, err, sizeof err) != ND_OK) {
            fprintf(stderr, "bench_simtest: seed %lld: %s\n", seed, err);
            return 2;
        }
        if (!r.passed) {
            printf("bench_simtest: seed %lld broke '%s' at event %lld: %s\n", seed, r.invariant,
                   (long long)r.event_index, r.detail);
            return 1;
        }
        total_events += r.events;
        fills += r.fills;
        trips += r.trips;
    }
    double dt = bench_wall_s() - t0;
    printf("simtest: %lld seeds x %lld bars: %lld events, %lld fills, %lld breaker trips in %.2f s: "
           "%.0f seeds/s, %.2f M events/s, every invariant held\n", seeds, events, total_events,
           fills, trips, dt, (double)seeds / dt, (double)total_events / dt / 1e6);
    return 0;
}
