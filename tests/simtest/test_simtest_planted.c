/* test_simtest_planted.c: the simulation harness catches a planted bug. This binary's engine is
 * built with ND_SIM_PLANT_CANCEL_FLATTEN, which lets a strategy cancel the engine's flattening
 * orders: the defect that left positions open through a drawdown halt in about a third of
 * halted runs. The harness must name it, with a seed that replays it, within 1,000 seeds. */
#include <criterion/criterion.h>

#include "noderr/simtest.h"

#include <string.h>

Test(simtest_planted, cancelling_the_flattening_order_is_caught_within_1000_seeds)
{
    nd_simtest_report_t r;
    uint64_t first = 0;
    for (uint64_t seed = 1; seed <= 1000 && first == 0; seed++) {
        char err[256];
        nd_simtest_config_t cfg = {seed, 1000};
        cr_assert_eq(nd_simtest_run(&cfg, &r, err, sizeof err), ND_OK, "%s", err);
        if (!r.passed)
            first = seed;
    }
    cr_assert_neq(first, 0, "the planted bug went unnoticed for 1,000 seeds");
    cr_assert_str_eq(r.invariant, "flatten", "seed %llu broke '%s': %s", (unsigned long long)first,
                     r.invariant, r.detail);
    cr_log_info("planted bug caught at seed %llu, event %lld: %s", (unsigned long long)first,
                (long long)r.event_index, r.detail);
    /* The same seed replays the same failure. */
    nd_simtest_report_t again;
    char err[256];
    nd_simtest_config_t cfg = {first, 1000};
    cr_assert_eq(nd_simtest_run(&cfg, &again, err, sizeof err), ND_OK);
    cr_assert_not(again.passed);
    cr_assert_eq(again.event_index, r.event_index);
    cr_assert_str_eq(again.detail, r.detail);
}
