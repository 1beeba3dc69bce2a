/* cmd_sim.c: `noderr sim`, the deterministic simulation harness (src/simtest, simtest.h) from the
 * command line: one seed, or a range of seeds, each run checked against the engine's
 * invariants; exit 1 naming the first broken invariant, the event and the seed. */
#include "cli.h"
#include "noderr/simtest.h"

#include <inttypes.h>
#include <stdio.h>

static const char usage_text[] =
    "usage: noderr sim [--seed N] [--seeds COUNT] [--events M] [--json]\n"
    "\n"
    "Deterministic simulation testing: each seed draws instruments, a market with crashes and\n"
    "thin bars, engine and risk settings, chaos strategies and an operator, runs the engine\n"
    "through M bars (default 1000) and checks after every event that equity equals cash plus\n"
    "positions at their marks exactly, every fill belongs to an accepted order and never\n"
    "overfills it, no strategy order is accepted while halted, every position is covered by\n"
    "flattening orders while halted (and flat at the end of a halted run), and P&L by\n"
    "strategy, instrument and venue add up. --seeds runs N, N+1, ... N+COUNT-1 and stops at\n"
    "the first failure. Exit 0: every invariant held; 1: one broke (the seed replays it).\n";


typedef struct sim_opts {
    int64_t seed;
    int64_t seeds;
    int64_t events;
    bool json;
} sim_opts_t;

static const nd_cli_opt_t options[] = {
    ND_CLI_INT("seed", sim_opts_t, seed, 0, INT64_MAX),
    ND_CLI_INT("seeds", sim_opts_t, seeds, 1, 100000000),
    ND_CLI_INT("events", sim_opts_t, events, 1, 100000000),
    ND_CLI_SET("json", sim_opts_t, json),
    ND_CLI_OPTS_END,
};

static void print_failure(const nd_simtest_report_t *r)
{
    printf("noderr sim: seed %" PRIu64 ": invariant '%s' broke at event %lld (t=%lld ns): %s\n",
           r->seed, r->invariant, (long long)r->event_index, (long long)r->ts_ns, r->detail);
    printf("  replay: noderr sim --seed %" PRIu64 "\n", r->seed);
}

int nd_cmd_sim(int argc, char **argv)
{
    sim_opts_t o = {1, 1, 1000, false};
    int rc = nd_cli_parse("sim", argc, argv, options, usage_text, NULL, &o);
    if (rc != 0)
        return rc < 0 ? ND_EXIT_OK : rc;
    if (o.seed > INT64_MAX - o.seeds) {
        fprintf(stderr, "noderr sim: --seed + --seeds overflows\n");
        return ND_EXIT_USAGE;
    }
    nd_simtest_report_t r;
    int64_t passed = 0, events = 0, fills = 0, trips = 0;
    for (int64_t k = 0; k < o.seeds; k++) {
        char err[256];
        nd_simtest_config_t cfg = {(uint64_t)(o.seed + k), o.events};
        if (nd_simtest_run(&cfg, &r, err, sizeof err) != ND_OK) {
            fprintf(stderr, "noderr sim: seed %lld: %s\n", (long long)(o.seed + k), err);
            return ND_EXIT_USAGE;
        }
        events += r.events;
        fills += r.fills;
        trips += r.trips;
        if (!r.passed)
            break;
        passed++;
    }
    bool ok = passed == o.seeds;
    if (o.json) {
        json_t *doc = nd_simtest_report_json(&r);
        if (o.seeds > 1) {
            json_t *all = json_object();
            json_object_set_new(all, "seeds_run", json_integer(passed + !ok));
            json_object_set_new(all, "seeds_passed", json_integer(passed));
            json_object_set_new(all, "events", json_integer(events));
            json_object_set_new(all, "fills", json_integer(fills));
            json_object_set_new(all, "breaker_trips", json_integer(trips));
            json_object_set_new(all, "last", doc);
            doc = all;
        }
        if (nd_cli_print_json_take(doc) != 0)
            return ND_EXIT_USAGE;
    } else if (ok) {
        printf("noderr sim: %lld seed(s) from %lld passed: %lld events, %lld fills, %lld breaker "
               "trips, every invariant held\n", (long long)passed, (long long)o.seed,
               (long long)events, (long long)fills, (long long)trips);
    } else {
        print_failure(&r);
    }
    return ok ? ND_EXIT_OK : ND_EXIT_CHECK_FAILED;
}
