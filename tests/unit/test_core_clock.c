/* test_core_clock.c: the simulated and OS clocks and the UTC calendar helpers
 * (include/noderr/clock.h). Calendar instants were checked against Unix time by hand: 2020-01-01
 * is day 18262 since the epoch, 2100-01-01 is day 47482 (130 years with 32 leap days). */
#define _POSIX_C_SOURCE 200809L
#include "noderr/clock.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#define SEC ND_NS_PER_SEC
/* 2020-01-01T00:00:00Z: 1577836800000 ms since the epoch. */
#define T2020 (1577836800LL * SEC)
#define SENTINEL ((int64_t)0x5A5A5A5A5A5A5A5ALL)

Test(clock, sim_init_and_read)
{
    nd_clock_sim_t sim;
    nd_clock_sim_init(&sim, T2020);
    cr_assert_eq(nd_clock_now_ns(&sim.clock), T2020);
    cr_assert_eq(nd_clock_mono_ns(&sim.clock), T2020);
    /* It never moves by itself. */
    cr_assert_eq(nd_clock_now_ns(&sim.clock), T2020);
}

Test(clock, sim_set_and_advance)
{
    nd_clock_sim_t sim;
    nd_clock_sim_init(&sim, 0);
    cr_assert_eq(nd_clock_sim_set(&sim, 5), ND_OK);
    cr_assert_eq(nd_clock_now_ns(&sim.clock), 5);
    /* Setting the same instant again is allowed: time did not go backwards. */
    cr_assert_eq(nd_clock_sim_set(&sim, 5), ND_OK);
    cr_assert_eq(nd_clock_mono_ns(&sim.clock), 5);
    /* Advance by one minute, one bar at a time. */
    for (int i = 0; i < 60; i++)
        cr_assert_eq(nd_clock_sim_set(&sim, nd_clock_now_ns(&sim.clock) + SEC), ND_OK);
    cr_assert_eq(nd_clock_now_ns(&sim.clock), 5 + ND_NS_PER_MIN);
    cr_assert_eq(nd_clock_mono_ns(&sim.clock), 5 + ND_NS_PER_MIN);
}

Test(clock, sim_refuses_to_go_backwards)
{
    nd_clock_sim_t sim;
    nd_clock_sim_init(&sim, T2020);
    cr_assert_eq(nd_clock_sim_set(&sim, T2020 - 1), ND_EINVAL);
    cr_assert_eq(nd_clock_now_ns(&sim.clock), T2020);
    cr_assert_eq(nd_clock_sim_set(&sim, 0), ND_EINVAL);
    cr_assert_eq(nd_clock_sim_set(&sim, INT64_MIN), ND_EINVAL);
    cr_assert_eq(nd_clock_now_ns(&sim.clock), T2020);
    cr_assert_eq(nd_clock_sim_set(&sim, INT64_MAX), ND_OK);
    cr_assert_eq(nd_clock_now_ns(&sim.clock), INT64_MAX);
    cr_assert_eq(nd_clock_sim_set(&sim, T2020), ND_EINVAL);
    cr_assert_eq(nd_clock_now_ns(&sim.clock), INT64_MAX);
}

Test(clock, sim_negative_start)
{
    nd_clock_sim_t sim;
    nd_clock_sim_init(&sim, -SEC);
    cr_assert_eq(nd_clock_now_ns(&sim.clock), -SEC);
    cr_assert_eq(nd_clock_sim_set(&sim, -2 * SEC), ND_EINVAL);
    cr_assert_eq(nd_clock_sim_set(&sim, 0), ND_OK);
}

Test(clock, os_monotonic_never_decreases)
{
    nd_clock_t *os = nd_clock_os();
    cr_assert_not_null(os);
    cr_assert_eq(nd_clock_os(), os, "one shared instance");
    int64_t prev = nd_clock_mono_ns(os);
    for (int i = 0; i < 200000; i++) {
        int64_t now = nd_clock_mono_ns(os);
        cr_assert_geq(now, prev, "read %d went backwards: %lld < %lld", i, (long long)now,
                      (long long)prev);
        prev = now;
    }
    /* After a 2 ms sleep the monotonic clock has moved at least that far. */
    int64_t before = nd_clock_mono_ns(os);
    struct timespec nap = {0, 2000000};
    nanosleep(&nap, NULL);
    cr_assert_geq(nd_clock_mono_ns(os) - before, 2 * ND_NS_PER_MS);
}

Test(clock, os_real_time_is_plausible)
{
    nd_clock_t *os = nd_clock_os();
    int64_t now = nd_clock_now_ns(os);
    /* After 2020-01-01 and before 2100-01-01 (4102444800 s). */
    cr_assert_gt(now, T2020);
    cr_assert_lt(now, 4102444800LL * SEC);
}

static void expect_civil(int64_t ns, int y, int mo, int d, int h, int mi, int s, int64_t nanos)
{
    nd_civil_t c;
    memset(&c, 0xA5, sizeof c);
    nd_time_to_civil(ns, &c);
    cr_assert(c.year == y && c.month == mo && c.day == d && c.hour == h && c.minute == mi &&
                  c.second == s && c.nanos == nanos,
              "%lld ns -> %04d-%02d-%02d %02d:%02d:%02d.%09lld, want %04d-%02d-%02d "
              "%02d:%02d:%02d.%09lld",
              (long long)ns, c.year, c.month, c.day, c.hour, c.minute, c.second,
              (long long)c.nanos, y, mo, d, h, mi, s, (long long)nanos);
    cr_assert_eq(nd_time_from_civil(&c), ns, "round trip of %lld", (long long)ns);
}

Test(clock, civil_known_instants)
{
    expect_civil(0, 1970, 1, 1, 0, 0, 0, 0);
    expect_civil(1577836800000LL * ND_NS_PER_MS, 2020, 1, 1, 0, 0, 0, 0);
    /* 2020 is a leap year: day 18262 + 31 + 28 = 18321 is Feb 29, 1582934400 s. */
    expect_civil(1582934400LL * SEC, 2020, 2, 29, 0, 0, 0, 0);
    expect_civil(1583020800LL * SEC - 1, 2020, 2, 29, 23, 59, 59, 999999999);
    expect_civil(1583020800LL * SEC, 2020, 3, 1, 0, 0, 0, 0);
    /* 2000 is a leap year (divisible by 400): 951782400 s is 2000-02-29. */
    expect_civil(951782400LL * SEC, 2000, 2, 29, 0, 0, 0, 0);
    /* 2100 is not: day 47482 + 31 + 28 = 47541 is Mar 1, and the day before is Feb 28. */
    expect_civil(4107542400LL * SEC, 2100, 3, 1, 0, 0, 0, 0);
    expect_civil(4107542400LL * SEC - 1, 2100, 2, 28, 23, 59, 59, 999999999);
    /* 2020-01-01 + 12:34:56.789 = 1577836800 + 45296 s. */
    expect_civil(1577882096LL * SEC + 789 * ND_NS_PER_MS, 2020, 1, 1, 12, 34, 56, 789000000);
    /* Before 1970. */
    expect_civil(-1, 1969, 12, 31, 23, 59, 59, 999999999);
    expect_civil(-SEC, 1969, 12, 31, 23, 59, 59, 0);
    expect_civil(-86400LL * SEC, 1969, 12, 31, 0, 0, 0, 0);
    expect_civil(-86400LL * SEC - 1, 1969, 12, 30, 23, 59, 59, 999999999);
    expect_civil(-2208988800LL * SEC, 1900, 1, 1, 0, 0, 0, 0);
    /* 1900 is not a leap year: Feb 28 is followed by Mar 1 (-2203891200 s). */
    expect_civil(-2203891200LL * SEC - 1, 1900, 2, 28, 23, 59, 59, 999999999);
    expect_civil(-2203891200LL * SEC, 1900, 3, 1, 0, 0, 0, 0);
    /* The int64 edges: 2262-04-11T23:47:16.854775807Z and 1677-09-21T00:12:43.145224192Z. */
    expect_civil(INT64_MAX, 2262, 4, 11, 23, 47, 16, 854775807);
    expect_civil(INT64_MIN, 1677, 9, 21, 0, 12, 43, 145224192);
}

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

Test(clock, civil_every_day_1677_to_2262)
{
    /* Walk every day in the int64 range one at a time and check that each is the calendar
     * successor of the one before, computed independently from the leap-year rule. */
    const int64_t first_day = -106751, last_day = 106750;
    nd_civil_t prev;
    nd_time_to_civil(first_day * ND_NS_PER_DAY, &prev);
    cr_assert(prev.year == 1677 && prev.month == 9 && prev.day == 22);
    for (int64_t day = first_day + 1; day <= last_day; day++) {
        int64_t ns = day * ND_NS_PER_DAY;
        nd_civil_t c;
        nd_time_to_civil(ns, &c);
        int y = prev.year, m = prev.month, d = prev.day + 1;
        if (d > days_in_month(y, m)) {
            d = 1;
            if (++m > 12) {
                m = 1;
                y++;
            }
        }
        cr_assert(c.year == y && c.month == m && c.day == d && c.hour == 0 && c.nanos == 0,
                  "day %lld: %d-%d-%d, want %d-%d-%d", (long long)day, c.year, c.month, c.day, y,
                  m, d);
        cr_assert_eq(nd_time_from_civil(&c), ns);
        prev = c;
    }
}

Test(clock, from_civil_does_not_range_check)
{
    /* Fields are not range-checked: 2020-01-32 is 2020-02-01 and 24:00 is the next midnight. */
    nd_civil_t c = {.year = 2020, .month = 1, .day = 32};
    cr_assert_eq(nd_time_from_civil(&c), (1577836800LL + 31 * 86400LL) * SEC);
    c = (nd_civil_t){.year = 2020, .month = 1, .day = 1, .hour = 24};
    cr_assert_eq(nd_time_from_civil(&c), (1577836800LL + 86400LL) * SEC);
}

Test(clock, day_start)
{
    cr_assert_eq(nd_time_day_start(0), 0);
    cr_assert_eq(nd_time_day_start(T2020), T2020);
    cr_assert_eq(nd_time_day_start(T2020 + 1), T2020);
    cr_assert_eq(nd_time_day_start(T2020 + ND_NS_PER_DAY - 1), T2020);
    cr_assert_eq(nd_time_day_start(T2020 + ND_NS_PER_DAY), T2020 + ND_NS_PER_DAY);
    cr_assert_eq(nd_time_day_start(1577882096LL * SEC), T2020);
    /* Negative times round down to the earlier midnight, not toward zero. */
    cr_assert_eq(nd_time_day_start(-1), -ND_NS_PER_DAY);
    cr_assert_eq(nd_time_day_start(-ND_NS_PER_DAY), -ND_NS_PER_DAY);
    cr_assert_eq(nd_time_day_start(-ND_NS_PER_DAY - 1), -2 * ND_NS_PER_DAY);
    /* The earliest midnight an int64 holds, 1677-09-22 (day -106751). */
    cr_assert_eq(nd_time_day_start(-106751 * ND_NS_PER_DAY + 1), -106751 * ND_NS_PER_DAY);
    cr_assert_eq(nd_time_day_start(INT64_MAX), 106751 * ND_NS_PER_DAY);
    cr_assert_eq(nd_time_day_start(-2203891200LL * SEC + 5 * ND_NS_PER_HOUR),
                 -2203891200LL * SEC);
}

static void expect_format(int64_t ns, const char *want)
{
    char buf[32];
    memset(buf, 'x', sizeof buf);
    size_t n = nd_time_format_iso(ns, buf, sizeof buf);
    cr_assert_str_eq(buf, want, "format(%lld)", (long long)ns);
    cr_assert_eq(n, strlen(want));
}

Test(clock, day_start_before_int64_range_aborts, .signal = SIGABRT)
{
    /* INT64_MIN is 1677-09-21T00:12:43Z; that day's midnight is not an int64. */
    (void)nd_time_day_start(INT64_MIN);
}

Test(clock, format_iso)
{
    expect_format(0, "1970-01-01T00:00:00Z");
    expect_format(T2020, "2020-01-01T00:00:00Z");
    expect_format(1577882096LL * SEC, "2020-01-01T12:34:56Z");
    expect_format(1577882096LL * SEC + 789 * ND_NS_PER_MS, "2020-01-01T12:34:56.789Z");
    expect_format(T2020 + ND_NS_PER_MS, "2020-01-01T00:00:00.001Z");
    /* Sub-millisecond parts print all nine digits. */
    expect_format(T2020 + 1, "2020-01-01T00:00:00.000000001Z");
    expect_format(T2020 + 123456789, "2020-01-01T00:00:00.123456789Z");
    expect_format(T2020 + 1500, "2020-01-01T00:00:00.000001500Z");
    expect_format(1582934400LL * SEC, "2020-02-29T00:00:00Z");
    expect_format(-1, "1969-12-31T23:59:59.999999999Z");
    expect_format(-SEC / 2, "1969-12-31T23:59:59.500Z");
    expect_format(INT64_MAX, "2262-04-11T23:47:16.854775807Z");
}

Test(clock, format_iso_needs_32_bytes, .signal = SIGABRT)
{
    char buf[20];
    nd_time_format_iso(0, buf, sizeof buf);
}

static void expect_parse(const char *text, int64_t want)
{
    int64_t ns = SENTINEL;
    nd_err_t rc = nd_time_parse_iso(text, &ns);
    cr_assert_eq(rc, ND_OK, "parse(\"%s\") = %s", text, nd_err_name(rc));
    cr_assert_eq(ns, want, "parse(\"%s\") = %lld, want %lld", text, (long long)ns,
                 (long long)want);
}

static void expect_parse_fails(const char *text)
{
    int64_t ns = SENTINEL;
    nd_err_t rc = nd_time_parse_iso(text, &ns);
    cr_assert_eq(rc, ND_EPARSE, "parse(\"%s\") = %s, want EPARSE", text, nd_err_name(rc));
    cr_assert_eq(ns, SENTINEL, "parse(\"%s\") wrote its out-param on failure", text);
}

Test(clock, parse_iso_accepts)
{
    expect_parse("2020-01-01", T2020);
    expect_parse("1970-01-01", 0);
    expect_parse("2020-01-01T12:34:56Z", 1577882096LL * SEC);
    expect_parse("2020-01-01T12:34:56", 1577882096LL * SEC);
    expect_parse("2020-01-01 12:34:56Z", 1577882096LL * SEC);
    expect_parse("2020-01-01 12:34", 1577882040LL * SEC);
    expect_parse("2020-01-01T12:34Z", 1577882040LL * SEC);
    expect_parse("2020-01-01T12:34:56.789Z", 1577882096LL * SEC + 789 * ND_NS_PER_MS);
    expect_parse("2020-01-01T12:34:56.7Z", 1577882096LL * SEC + 700 * ND_NS_PER_MS);
    expect_parse("2020-01-01T12:34:56.000000001Z", 1577882096LL * SEC + 1);
    expect_parse("2020-01-01T12:34:56.123456789Z", 1577882096LL * SEC + 123456789);
    expect_parse("2020-02-29", 1582934400LL * SEC);
    expect_parse("2000-02-29", 951782400LL * SEC);
    expect_parse("2100-03-01", 4107542400LL * SEC);
    expect_parse("1969-12-31T23:59:59Z", -SEC);
    expect_parse("1900-01-01", -2208988800LL * SEC);
    expect_parse("2020-12-31T23:59:59Z", (1609459200LL - 1) * SEC);
    /* The last and first instants an int64 holds. */
    expect_parse("2262-04-11T23:47:16.854775807Z", INT64_MAX);
    expect_parse("1677-09-21T00:12:43.145224192Z", INT64_MIN);
}

Test(clock, parse_iso_rejects)
{
    static const char *const bad[] = {
        "",
        "2020",
        "2020-01",
        "2020-1-1",
        "2020-01-1",
        "20-01-01",
        "2020/01/01",
        "2020-13-01",
        "2020-00-01",
        "2020-01-00",
        "2020-01-32",
        "2021-02-29", /* 2021 is not a leap year */
        "2100-02-29", /* 2100 is not a leap year */
        "2021-02-30",
        "2020-04-31",
        "2020-01-01T25:00Z",
        "2020-01-01T24:00Z",
        "2020-01-01T12:60Z",
        "2020-01-01T12:34:61Z",
        "2020-01-01T",
        "2020-01-01T1",
        "2020-01-01T12",
        "2020-01-01T12:",
        "2020-01-01T12:3",
        "2020-01-01T12:34:",
        "2020-01-01T12:34:5",
        "2020-01-01T12:34:56.",
        "2020-01-01T12:34:56.Z",
        "2020-01-01T12:34:56.1234567891Z", /* more than nanoseconds */
        "2020-01-01x",
        "2020-01-01 ",
        "2020-01-01Z",
        "2020-01-01T12:34:56Zx",
        "2020-01-01T12:34:56ZZ",
        "2020-01-01T12:34:56+00:00",
        "2020-01-01T12:34:56.789Zjunk",
        " 2020-01-01",
        "-2020-01-01",
        "2020-01-01T12-34",
        "2020-01-01t12:34",
        "abcd-ef-gh",
        "2020-01-01T12:34:60Z", /* Unix time has no leap seconds */
        "2020-01-01T23:59:60Z",
        "2300-01-01", /* past the int64 range of nanoseconds */
        "9999-12-31T23:59:59Z",
        "1600-01-01",
        "0000-01-01",
        "2262-04-11T23:47:16.854775808Z",
        "1677-09-21T00:12:43.145224191Z",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_parse_fails(bad[i]);
}

Test(clock, parse_format_round_trip)
{
    /* Every millisecond-aligned instant formats and parses back to itself. */
    char buf[32];
    int64_t ns = -2208988800LL * SEC;
    for (int i = 0; i < 5000; i++) {
        ns += 86399 * SEC + (i % 1000) * ND_NS_PER_MS + 7 * ND_NS_PER_DAY;
        nd_time_format_iso(ns, buf, sizeof buf);
        expect_parse(buf, ns);
    }
    nd_time_format_iso(T2020 + 123456789, buf, sizeof buf);
    expect_parse(buf, T2020 + 123456789);
}

/* nd_time_lower_bound: one binary search over a plain array and over a field of structs. */
Test(time, lower_bound_plain_and_strided)
{
    const int64_t t[] = {10, 20, 20, 30};
    cr_assert_eq(nd_time_lower_bound(t, 4, sizeof t[0], 5), 0);
    cr_assert_eq(nd_time_lower_bound(t, 4, sizeof t[0], 20), 1, "the first of equal times");
    cr_assert_eq(nd_time_lower_bound(t, 4, sizeof t[0], 21), 3);
    cr_assert_eq(nd_time_lower_bound(t, 4, sizeof t[0], 31), 4, "past the end: count");
    cr_assert_eq(nd_time_lower_bound(NULL, 0, sizeof t[0], 1), 0);
    struct row {
        int32_t other;
        int64_t ts;
        char pad[3];
    } rows[3] = {{0, -5, ""}, {0, 7, ""}, {0, 9, ""}};
    cr_assert_eq(nd_time_lower_bound(&rows[0].ts, 3, sizeof rows[0], 8), 2);
    cr_assert_eq(nd_time_lower_bound(&rows[0].ts, 3, sizeof rows[0], INT64_MIN), 0);
}
