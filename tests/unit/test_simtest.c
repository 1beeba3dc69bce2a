/* test_simtest.c: the deterministic simulation harness over 10,000 seeds (every invariant of
 * simtest.h after every event), determinism of a seed, and that the worlds it draws really do
 * reach the states the invariants are about (halts, flattening, partial fills, releases). */
#include <criterion/criterion.h>

#include "noderr/simtest.h"

#include <stdlib.h>
#include <string.h>

Test(simtest, ten_thousand_seeds_hold_every_invariant)
{
    int64_t trips = 0, flatten = 0, releases = 0, halted_bars = 0, fills = 0, events = 0;
    int64_t amends = 0, reordered = 0, event_worlds = 0, recorded = 0, anomaly_trips = 0;
    for (uint64_t seed = 1; seed <= 10000; seed++) {
        nd_simtest_report_t r;
        char err[256];
        nd_simtest_config_t cfg = {seed, 300};
        cr_assert_eq(nd_simtest_run(&cfg, &r, err, sizeof err), ND_OK, "seed %llu: %s",
                     (unsigned long long)seed, err);
        cr_assert(r.passed, "seed %llu broke '%s' at event %lld: %s (replay: noderr sim --seed %llu)",
                  (unsigned long long)seed, r.invariant, (long long)r.event_index, r.detail,
                  (unsigned long long)seed);
        trips += r.trips;
        flatten += r.flatten_orders;
        releases += r.releases;
        halted_bars += r.halted_bars;
        fills += r.fills;
        events += r.events;
        amends += r.amends;
        reordered += r.reordered;
        event_worlds += r.events_world;
        recorded += r.records > 0;
        anomaly_trips += r.anomaly_trips;
    }
    /* The harness must reach the states it checks, or its pass means nothing. */
    cr_assert_gt(trips, 1000, "breaker trips: %lld", (long long)trips);
    cr_assert_gt(flatten, 1000, "flattening orders: %lld", (long long)flatten);
    cr_assert_gt(releases, 100, "operator releases: %lld", (long long)releases);
    cr_assert_gt(halted_bars, 10000);
    cr_assert_gt(fills, 100000);
    cr_assert_gt(amends, 1000, "amends applied: %lld", (long long)amends);
    cr_assert_gt(reordered, 100, "fills before their ack: %lld", (long long)reordered);
    cr_assert_gt(event_worlds, 1000, "event-level worlds: %lld", (long long)event_worlds);
    cr_assert_gt(recorded, 1000, "recorded worlds: %lld", (long long)recorded);
    cr_assert_gt(anomaly_trips, 600, "anomaly trips: %lld", (long long)anomaly_trips);
    cr_log_info("10,000 seeds: %lld events, %lld fills, %lld trips (%lld anomaly), %lld "
                "flattening orders, %lld releases, %lld amends, %lld reordered, %lld event-level "
                "worlds, %lld recorded", (long long)events, (long long)fills, (long long)trips,
                (long long)anomaly_trips, (long long)flatten, (long long)releases,
                (long long)amends, (long long)reordered, (long long)event_worlds,
                (long long)recorded);
}

Test(simtest, a_seed_replays_byte_for_byte)
{
    for (uint64_t seed = 1; seed <= 20; seed++) {
        nd_simtest_report_t a, b;
        char err[256];
        nd_simtest_config_t cfg = {seed * 7919, 2000};
        cr_assert_eq(nd_simtest_run(&cfg, &a, err, sizeof err), ND_OK);
        cr_assert_eq(nd_simtest_run(&cfg, &b, err, sizeof err), ND_OK);
        json_t *ja = nd_simtest_report_json(&a), *jb = nd_simtest_report_json(&b);
        char *ta = json_dumps(ja, JSON_SORT_KEYS), *tb = json_dumps(jb, JSON_SORT_KEYS);
        cr_assert_str_eq(ta, tb);
        free(ta);
        free(tb);
        json_decref(ja);
        json_decref(jb);
    }
}

Test(simtest, a_bad_config_is_refused)
{
    nd_simtest_report_t r;
    char err[256] = "";
    nd_simtest_config_t cfg = {1, 0};
    cr_assert_eq(nd_simtest_run(&cfg, &r, err, sizeof err), ND_EINVAL);
    cr_assert(strstr(err, "events") != NULL);
}
