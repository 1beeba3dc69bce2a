/* test_evolve_window.c: the walk-forward windows of `noderr evolve` (nd_evolve_window_at /
 * nd_evolve_window_next, evolve.h): tiling, the last window's coverage, and spans or bar times
 * near INT64_MAX that used to overflow (and then trip an assertion in the re-run). */
#include "noderr/clock.h"
#include "noderr/evolve.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#define BARS 100

static nd_bar_t bars[BARS];

static nd_evolve_bars_t hourly(int64_t start_ns)
{
    memset(bars, 0, sizeof bars);
    for (size_t i = 0; i < BARS; i++)
        bars[i].ts_ns = start_ns + (int64_t)i * ND_NS_PER_HOUR;
    nd_evolve_bars_t d;
    memset(&d, 0, sizeof d);
    d.bars = bars;
    d.count = BARS;
    return d;
}

static nd_span_t hours(int64_t n)
{
    return (nd_span_t){n * ND_NS_PER_HOUR, false};
}

static nd_span_t bar_count(int64_t n)
{
    return (nd_span_t){n, true};
}

Test(window, bars_tile_the_data)
{
    nd_evolve_bars_t d = hourly(0);
    nd_evolve_window_t w;
    size_t k = 0;
    for (size_t begin = 0; nd_evolve_window_at(&d, begin, bar_count(40), bar_count(20), &w);
         begin = nd_evolve_window_next(&d, begin, bar_count(20))) {
        cr_assert_eq(w.train_begin, 20 * k);
        cr_assert_eq(w.train_end, 20 * k + 40);
        cr_assert_eq(w.test_end, 20 * k + 60);
        k++;
    }
    cr_assert_eq(k, 3, "100 bars hold 40+20, then two more test slices");
}

Test(window, time_spans_and_the_last_window)
{
    nd_evolve_bars_t d = hourly(1577836800LL * ND_NS_PER_SEC);
    nd_evolve_window_t w;
    cr_assert_eq(nd_evolve_window_at(&d, 0, hours(50), hours(50), &w), 1);
    cr_assert_eq(w.train_end, 50);
    cr_assert_eq(w.test_end, 100, "the data reaches the end of the test span");
    cr_assert_eq(nd_evolve_window_at(&d, 0, hours(50), hours(51), &w), 0);
    cr_assert_eq(nd_evolve_window_at(&d, 0, hours(99), hours(1), &w), 1);
    cr_assert_eq(nd_evolve_window_at(&d, 0, hours(100), hours(1), &w), 0);
}

Test(window, huge_spans_do_not_fit_and_do_not_overflow)
{
    nd_evolve_bars_t d = hourly(1577836800LL * ND_NS_PER_SEC);
    nd_evolve_window_t w = {7, 7, 7};
    /* 99999d:1d and 1d:99999d: the sums pass INT64_MAX nanoseconds. */
    cr_assert_eq(nd_evolve_window_at(&d, 0, hours(99999 * 24), hours(24), &w), 0);
    cr_assert_eq(nd_evolve_window_at(&d, 0, hours(1), hours(99999 * 24), &w), 0);
    cr_assert_eq(nd_evolve_window_at(&d, 0, (nd_span_t){INT64_MAX, false}, hours(1), &w), 0);
    cr_assert_eq(nd_evolve_window_at(&d, 0, hours(1), (nd_span_t){INT64_MAX, false}, &w), 0);
    cr_assert_eq(nd_evolve_window_at(&d, 0, bar_count(INT64_MAX), bar_count(1), &w), 0);
    cr_assert_eq(nd_evolve_window_at(&d, 0, bar_count(1), bar_count(INT64_MAX), &w), 0);
    cr_assert_eq(w.train_begin, 7, "out is written only when a window fits");
    cr_assert_eq(nd_evolve_window_next(&d, 0, (nd_span_t){INT64_MAX, false}), BARS);
    cr_assert_eq(nd_evolve_window_next(&d, 0, bar_count(INT64_MAX)), BARS);
}

Test(window, bar_times_near_int64_max)
{
    nd_evolve_bars_t d = hourly(INT64_MAX - 99 * ND_NS_PER_HOUR);
    nd_evolve_window_t w;
    cr_assert_eq(nd_evolve_window_at(&d, 0, hours(50), hours(49), &w), 1);
    cr_assert_eq(w.test_end, 99);
    /* The test span ends past INT64_MAX, where the last bar's interval also ends: it fits,
     * and its end is not mistaken for the last bar (which a saturating sum would do). */
    cr_assert_eq(nd_evolve_window_at(&d, 0, hours(50), hours(50), &w), 1);
    cr_assert_eq(w.test_end, BARS);
    cr_assert_eq(nd_evolve_window_at(&d, 0, hours(50), hours(51), &w), 0);
    cr_assert_eq(nd_evolve_window_at(&d, 60, hours(30), hours(30), &w), 0);
}
