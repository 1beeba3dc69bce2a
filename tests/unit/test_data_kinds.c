/* Tests of the archive kinds of the downloader (period.c): names and URLs of each kind. */
#include "noderr/data.h"

#include <criterion/criterion.h>
#include <string.h>

static nd_data_period_t month(int y, int m)
{
    return (nd_data_period_t){.kind = ND_DATA_MONTHLY, .year = y, .month = m};
}

static nd_data_period_t day(int y, int m, int d)
{
    return (nd_data_period_t){.kind = ND_DATA_DAILY, .year = y, .month = m, .day = d};
}

Test(data_kinds, names_round_trip)
{
    const char *names[] = {"klines", "trades", "aggTrades", "bookTicker"};
    for (int i = 0; i < 4; i++) {
        nd_data_kind_t k;
        cr_assert_eq(nd_data_kind_parse(names[i], &k), ND_OK);
        cr_assert_eq((int)k, i);
        cr_assert_str_eq(nd_data_kind_name(k), names[i]);
    }
    nd_data_kind_t k;
    cr_assert_eq(nd_data_kind_parse("aggtrades", &k), ND_EINVAL);
    cr_assert_eq(nd_data_kind_parse("", &k), ND_EINVAL);
}

Test(data_kinds, archive_urls_follow_binance_layout)
{
    char url[256];
    nd_data_period_t m = month(2021, 1), d = day(2021, 1, 8);
    cr_assert_eq(nd_data_archive_url_kind("https://x/", ND_DATA_KIND_KLINES, "BTCUSDT", "1h", &m,
                                          url, sizeof url),
                 ND_OK);
    cr_assert_str_eq(url, "https://x/data/spot/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2021-01.zip");
    cr_assert_eq(nd_data_archive_url_kind("https://x", ND_DATA_KIND_TRADES, "BTCUSDT", NULL, &m,
                                          url, sizeof url),
                 ND_OK);
    cr_assert_str_eq(url, "https://x/data/spot/monthly/trades/BTCUSDT/BTCUSDT-trades-2021-01.zip");
    cr_assert_eq(nd_data_archive_url_kind("https://x", ND_DATA_KIND_AGG_TRADES, "BTCUSDT", NULL,
                                          &d, url, sizeof url),
                 ND_OK);
    cr_assert_str_eq(url,
                     "https://x/data/spot/daily/aggTrades/BTCUSDT/BTCUSDT-aggTrades-2021-01-08.zip");
    cr_assert_eq(nd_data_archive_url_kind("https://x", ND_DATA_KIND_BOOK_TICKER, "BTCUSDT", NULL,
                                          &d, url, sizeof url),
                 ND_OK);
    cr_assert_str_eq(
        url, "https://x/data/futures/um/daily/bookTicker/BTCUSDT/BTCUSDT-bookTicker-2021-01-08.zip");
    cr_assert_eq(nd_data_archive_url_kind("https://x", ND_DATA_KIND_TRADES, "BTCUSDT", NULL, &m,
                                          url, 20),
                 ND_ERANGE);
}
