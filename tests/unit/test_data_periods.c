/* test_data_periods.c: the pure parts of the downloader: which archives cover a range
 * (months, leap years, partial months, the current month), period names, archive URLs,
 * .CHECKSUM parsing and the argument checks. Every expected value is worked out by hand. */
#include "noderr/clock.h"
#include "noderr/data.h"

#include <criterion/criterion.h>
#include <string.h>

#define CAP 2000

static nd_data_period_t out[CAP];
static char err[256];

static int64_t day(const char *iso)
{
    int64_t ns = 0;
    cr_assert_eq(nd_time_parse_iso(iso, &ns), ND_OK, "bad test date %s", iso);
    return ns;
}

/* Enumerates and returns the count; today far in the future unless given. */
static size_t periods(const char *from, const char *to, const char *today)
{
    size_t n = 0;
    err[0] = '\0';
    nd_err_t rc = nd_data_periods(day(from), day(to), day(today ? today : "2200-01-01"), out,
                                  CAP, &n, err, sizeof err);
    cr_assert_eq(rc, ND_OK, "%s..%s: %s", from, to, err);
    return n;
}

static const char *name(size_t i)
{
    static char buf[16];
    nd_data_period_name(&out[i], buf, sizeof buf);
    return buf;
}

Test(data_periods, four_full_years_are_48_monthly_archives)
{
    cr_assert_eq(periods("2020-01-01", "2023-12-31", NULL), 48);
    cr_assert_str_eq(name(0), "2020-01");
    cr_assert_str_eq(name(47), "2023-12");
    for (size_t i = 0; i < 48; i++)
        cr_assert_eq(out[i].kind, ND_DATA_MONTHLY);
    for (size_t i = 1; i < 48; i++)
        cr_assert_eq(out[i].start_ns, out[i - 1].end_ns, "periods are contiguous");
    cr_assert_eq(out[0].start_ns, day("2020-01-01"));
    cr_assert_eq(out[47].end_ns, day("2024-01-01"));
}

Test(data_periods, february_lengths_follow_the_leap_year_rules)
{
    cr_assert_eq(periods("2020-02-01", "2020-02-29", NULL), 1); /* divisible by 4 */
    cr_assert_eq(out[0].end_ns - out[0].start_ns, 29 * ND_NS_PER_DAY);
    cr_assert_eq(periods("2021-02-01", "2021-02-28", NULL), 1);
    cr_assert_eq(out[0].end_ns - out[0].start_ns, 28 * ND_NS_PER_DAY);
    cr_assert_eq(periods("2000-02-01", "2000-02-29", NULL), 1); /* divisible by 400 */
    cr_assert_eq(out[0].kind, ND_DATA_MONTHLY);
    cr_assert_eq(periods("2100-02-01", "2100-02-28", NULL), 1); /* by 100, not 400 */
    cr_assert_eq(out[0].kind, ND_DATA_MONTHLY);
    cr_assert_eq(out[0].end_ns - out[0].start_ns, 28 * ND_NS_PER_DAY);
}

Test(data_periods, to_on_feb_28_of_a_leap_year_is_a_partial_month)
{
    cr_assert_eq(periods("2024-01-01", "2024-02-28", NULL), 1 + 28);
    cr_assert_eq(out[0].kind, ND_DATA_MONTHLY);
    cr_assert_eq(out[1].kind, ND_DATA_DAILY);
    cr_assert_str_eq(name(1), "2024-02-01");
    cr_assert_str_eq(name(28), "2024-02-28");
    cr_assert_eq(out[28].end_ns - out[28].start_ns, ND_NS_PER_DAY);
    cr_assert_eq(periods("2023-01-01", "2023-02-28", NULL), 2, "not leap: the 28th is the last");
}

Test(data_periods, partial_last_month_is_daily_and_first_month_is_whole)
{
    cr_assert_eq(periods("2020-01-15", "2020-03-10", NULL), 2 + 10);
    cr_assert_str_eq(name(0), "2020-01");
    cr_assert_eq(out[0].start_ns, day("2020-01-01"), "the first month is fetched whole");
    cr_assert_str_eq(name(1), "2020-02");
    cr_assert_str_eq(name(2), "2020-03-01");
    cr_assert_str_eq(name(11), "2020-03-10");
    cr_assert_eq(out[11].day, 10);
    cr_assert_eq(out[1].day, 0);
}

Test(data_periods, range_inside_one_partial_month_starts_at_from)
{
    cr_assert_eq(periods("2020-03-05", "2020-03-07", NULL), 3);
    cr_assert_str_eq(name(0), "2020-03-05");
    cr_assert_str_eq(name(2), "2020-03-07");
    cr_assert_eq(periods("2020-03-05", "2020-03-31", NULL), 1, "ends on the last day: monthly");
    cr_assert_str_eq(name(0), "2020-03");
}

Test(data_periods, year_boundary)
{
    cr_assert_eq(periods("2019-12-31", "2020-01-01", NULL), 2);
    cr_assert_str_eq(name(0), "2019-12");
    cr_assert_str_eq(name(1), "2020-01-01");
    cr_assert_eq(periods("2019-11-01", "2020-01-31", NULL), 3);
    cr_assert_str_eq(name(2), "2020-01");
}

Test(data_periods, current_month_is_daily_up_to_yesterday)
{
    cr_assert_eq(periods("2024-05-01", "2024-12-31", "2024-06-15T13:00:00Z"), 1 + 14);
    cr_assert_str_eq(name(0), "2024-05");
    cr_assert_str_eq(name(1), "2024-06-01");
    cr_assert_str_eq(name(14), "2024-06-14");
    /* --to before today in the current month: up to --to. */
    cr_assert_eq(periods("2024-06-03", "2024-06-05", "2024-06-15"), 3);
}

Test(data_periods, on_the_first_of_a_month_the_current_month_has_no_archive)
{
    cr_assert_eq(periods("2024-05-01", "2024-06-30", "2024-06-01T00:00:00Z"), 1);
    cr_assert_str_eq(name(0), "2024-05");
    cr_assert_eq(out[0].kind, ND_DATA_MONTHLY);
}

Test(data_periods, refusals)
{
    size_t n = 99;
    cr_assert_eq(nd_data_periods(day("2020-02-01"), day("2020-01-31"), day("2200-01-01"), out,
                                 CAP, &n, err, sizeof err), ND_EINVAL);
    cr_assert_str_eq(err, "from 2020-02-01 is after to 2020-01-31");
    cr_assert_eq(n, 99, "count untouched on failure");
    cr_assert_eq(nd_data_periods(day("2024-06-15"), day("2024-06-20"), day("2024-06-15T08:00"),
                                 out, CAP, &n, err, sizeof err), ND_EINVAL);
    cr_assert(strstr(err, "nothing published yet from 2024-06-15") != NULL, "%s", err);
    cr_assert_eq(nd_data_periods(day("2020-01-01"), day("2020-12-31"), day("2200-01-01"), out, 5,
                                 &n, err, sizeof err), ND_EFULL);
    cr_assert_str_eq(err, "more than 5 archives in the range");
}

Test(data_periods, times_of_day_do_not_matter)
{
    size_t n = 0;
    cr_assert_eq(nd_data_periods(day("2020-03-05T23:59:59Z"), day("2020-03-06T00:00:01Z"),
                                 day("2200-01-01"), out, CAP, &n, err, sizeof err), ND_OK);
    cr_assert_eq(n, 2);
    cr_assert_eq(out[0].start_ns, day("2020-03-05"));
}

Test(data_urls, monthly_and_daily_archive_urls)
{
    char url[512];
    periods("2020-01-01", "2020-02-03", NULL);
    cr_assert_eq(nd_data_archive_url("https://data.binance.vision", "BTCUSDT", "1h", &out[0],
                                     url, sizeof url), ND_OK);
    cr_assert_str_eq(url, "https://data.binance.vision/data/spot/monthly/klines/BTCUSDT/1h/"
                          "BTCUSDT-1h-2020-01.zip");
    cr_assert_eq(nd_data_archive_url("http://127.0.0.1:8000/", "ETHBTC", "1mo", &out[3], url,
                                     sizeof url), ND_OK);
    cr_assert_str_eq(url, "http://127.0.0.1:8000/data/spot/daily/klines/ETHBTC/1mo/"
                          "ETHBTC-1mo-2020-02-03.zip");
    cr_assert_eq(nd_data_archive_url("https://data.binance.vision", "BTCUSDT", "1h", &out[0],
                                     url, 40), ND_ERANGE);
}

static const char hex[] = "c125f41d9356f1f5ec3b0a8985d9a569dd846d7796c4367d7f0411b6b8523f39";

static nd_err_t parse(const char *text, char digest[65])
{
    err[0] = '\0';
    return nd_data_checksum_parse(text, strlen(text), "BTCUSDT-1h-2020-01.zip", digest, err,
                                  sizeof err);
}

Test(data_checksum, binance_format_and_variants)
{
    char d[65] = "";
    cr_assert_eq(parse("c125f41d9356f1f5ec3b0a8985d9a569dd846d7796c4367d7f0411b6b8523f39  "
                       "BTCUSDT-1h-2020-01.zip\n", d), ND_OK, "%s", err);
    cr_assert_str_eq(d, hex);
    memset(d, 0, sizeof d);
    cr_assert_eq(parse("C125F41D9356F1F5EC3B0A8985D9A569DD846D7796C4367D7F0411B6B8523F39 "
                       "*BTCUSDT-1h-2020-01.zip\r\n", d), ND_OK, "%s", err);
    cr_assert_str_eq(d, hex, "upper case is folded to lower case");
    cr_assert_eq(parse("c125f41d9356f1f5ec3b0a8985d9a569dd846d7796c4367d7f0411b6b8523f39  "
                       "BTCUSDT-1h-2020-01.zip", d), ND_OK, "no final newline");
}

Test(data_checksum, refusals)
{
    char d[65] = "untouched";
    cr_assert_eq(parse("c125f41d9356f1f5ec3b0a8985d9a569dd846d7796c4367d7f0411b6b8523f39  "
                       "BTCUSDT-1h-2020-02.zip\n", d), ND_EPARSE);
    cr_assert_str_eq(err, "checksum file names 'BTCUSDT-1h-2020-02.zip', expected "
                          "'BTCUSDT-1h-2020-01.zip'");
    cr_assert_str_eq(d, "untouched");
    cr_assert_eq(parse("c125f41d  BTCUSDT-1h-2020-01.zip\n", d), ND_EPARSE);
    cr_assert_str_eq(err, "checksum file does not start with 64 hex digits and a space");
    cr_assert_eq(parse("g125f41d9356f1f5ec3b0a8985d9a569dd846d7796c4367d7f0411b6b8523f39  "
                       "BTCUSDT-1h-2020-01.zip\n", d), ND_EPARSE);
    cr_assert_eq(parse("c125f41d9356f1f5ec3b0a8985d9a569dd846d7796c4367d7f0411b6b8523f390  "
                       "BTCUSDT-1h-2020-01.zip\n", d), ND_EPARSE, "65 hex digits");
    cr_assert_eq(parse("", d), ND_EPARSE);
    cr_assert_eq(parse("<html>Not Found</html>", d), ND_EPARSE);
    cr_assert_eq(parse("c125f41d9356f1f5ec3b0a8985d9a569dd846d7796c4367d7f0411b6b8523f39  "
                       "BTCUSDT-1h-2020-01.zip\nsecond line\n", d), ND_EPARSE);
    cr_assert_str_eq(d, "untouched");
}

Test(data_args, symbols_and_intervals)
{
    cr_assert(nd_data_symbol_valid("BTCUSDT"));
    cr_assert(nd_data_symbol_valid("1000SHIBUSDT"));
    cr_assert_not(nd_data_symbol_valid(""));
    cr_assert_not(nd_data_symbol_valid("btcusdt"));
    cr_assert_not(nd_data_symbol_valid("BTC/USDT"));
    cr_assert_not(nd_data_symbol_valid("../ETC"));
    cr_assert_not(nd_data_symbol_valid("ABCDEFGHIJKLMNOPQRSTUVWX")); /* 24 characters */
    cr_assert(nd_data_symbol_valid("ABCDEFGHIJKLMNOPQRSTUVW"));
    const char *good[] = {"1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h",
                          "12h", "1d", "3d", "1w", "1mo"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        cr_assert(nd_data_interval_valid(good[i]), "%s", good[i]);
    cr_assert_not(nd_data_interval_valid("2m"));
    cr_assert_not(nd_data_interval_valid("1M"));
    cr_assert_not(nd_data_interval_valid(""));
    cr_assert_not(nd_data_interval_valid("1h "));
}
