/* test_market_view.c: --timerange parsing (text.h) and the bar view (market.h nd_bar_view_t):
 * resampling on hand-made bars, every refusal's message, and 1h -> 4h / 1d on the shared real
 * candles compared with Binance's own daily file. */
#include "noderr/alloc.h"
#include "noderr/clock.h"
#include "noderr/market.h"
#include "noderr/scenario.h"
#include "noderr/text.h"

#include <criterion/criterion.h>
#include <string.h>

#define H ND_NS_PER_HOUR
#define D ND_NS_PER_DAY

/* ---- --timerange ------------------------------------------------------------------------- */

static nd_err_t range(const char *text, nd_timerange_t *out, char *err)
{
    err[0] = '\0';
    return nd_timerange_parse(text, strlen(text), out, err, 160);
}

static int64_t day(int y, int m, int d)
{
    nd_civil_t c = {.year = y, .month = m, .day = d};
    return nd_time_from_civil(&c);
}

Test(timerange, forms)
{
    nd_timerange_t r;
    char err[160];
    cr_assert_eq(range("20220101-20221231", &r, err), ND_OK, "%s", err);
    cr_assert_eq(r.start_ns, day(2022, 1, 1));
    cr_assert_eq(r.end_ns, day(2022, 12, 31));
    cr_assert_eq(range("20200229-", &r, err), ND_OK, "%s", err);
    cr_assert_eq(r.start_ns, day(2020, 2, 29));
    cr_assert_eq(r.end_ns, 0);
    cr_assert_eq(range("-20230101", &r, err), ND_OK, "%s", err);
    cr_assert_eq(r.start_ns, 0);
    cr_assert_eq(r.end_ns, day(2023, 1, 1));
    cr_assert_eq(range("22611231-", &r, err), ND_OK, "%s", err);
    cr_assert_eq(range("22620101-", &r, err), ND_ERANGE);
    cr_assert_eq(range("99991231-", &r, err), ND_ERANGE);
    char text[64];
    cr_assert_str_eq(nd_timerange_format(&(nd_timerange_t){day(2022, 1, 1), 0}, text, sizeof text),
                     "2022-01-01 .. end");
}

Test(timerange, refusals_say_why)
{
    nd_timerange_t r = {1, 2};
    char err[160];
    cr_assert_eq(range("20220230-", &r, err), ND_EPARSE);
    cr_assert_str_eq(err, "20220230: February 2022 has 28 days");
    cr_assert_eq(range("20221301-", &r, err), ND_EPARSE);
    cr_assert_str_eq(err, "20221301: month 13 does not exist");
    cr_assert_eq(range("2022-01-01", &r, err), ND_EPARSE);
    cr_assert_str_eq(err, "'2022-01-01' is not YYYYMMDD-YYYYMMDD, YYYYMMDD- or -YYYYMMDD");
    cr_assert_eq(range("-", &r, err), ND_EPARSE);
    cr_assert_eq(range("", &r, err), ND_EPARSE);
    cr_assert_eq(range("2022011-", &r, err), ND_EPARSE);
    cr_assert_str_eq(err, "'2022011' is not a date YYYYMMDD");
    cr_assert_eq(range("999999999999999999999-", &r, err), ND_EPARSE);
    cr_assert_eq(range("19691231-", &r, err), ND_ERANGE);
    cr_assert_eq(range("20220101-20220101", &r, err), ND_ERANGE);
    cr_assert(strstr(err, "the end must be after the start") != NULL, "%s", err);
    cr_assert_eq(range("-19700101", &r, err), ND_ERANGE);
    cr_assert_eq(range("2022010a-", &r, err), ND_EPARSE);
    cr_assert_eq(r.start_ns, 1, "out is written only on success");
    cr_assert_eq(r.end_ns, 2);
}

Test(timerange, span_format_reads_back)
{
    char text[24];
    int64_t spans[] = {4 * H, 15 * ND_NS_PER_MIN, D, 90 * ND_NS_PER_MIN, 3 * D, 30 * ND_NS_PER_SEC};
    const char *want[] = {"4h", "15m", "1d", "90m", "3d", "30s"};
    for (size_t k = 0; k < 6; k++)
        cr_assert_str_eq(nd_span_format(spans[k], text, sizeof text), want[k]);
}

/* ---- Resampling and ranges on hand-made bars --------------------------------------------- */

static nd_bar_t bar(int64_t ts, int64_t o, int64_t h, int64_t l, int64_t c, int64_t v)
{
    return (nd_bar_t){.ts_ns = ts, .open = o, .high = h, .low = l, .close = c, .volume = v,
                      .instrument_id = 3};
}

/* Opens a view over a copy of bars (count of them). */
static nd_bar_source_t *view_of(const nd_bar_t *bars, size_t count, int64_t tf, int64_t start,
                                int64_t end, nd_err_t want_rc, char *err)
{
    nd_bar_t *copy = nd_alloc(count * sizeof *copy);
    memcpy(copy, bars, count * sizeof *copy);
    nd_bar_source_t *mem = NULL, *src = NULL;
    cr_assert_eq(nd_bars_memory_open(copy, count, true, &mem), ND_OK);
    nd_bar_view_t v = {.timeframe_ns = tf, .range = {start, end}};
    err[0] = '\0';
    cr_assert_eq(nd_bars_view(mem, &v, "hand.csv", &src, err, 256), want_rc, "%s", err);
    return src; /* closing it frees copy; a refused view closed it already */
}

static size_t drain(nd_bar_source_t *src, nd_bar_t *out, size_t cap, nd_err_t *end_rc)
{
    size_t n = 0;
    nd_bar_t b;
    while ((*end_rc = src->next(src, &b)) == ND_OK) {
        cr_assert_lt(n, cap);
        out[n++] = b;
    }
    return n;
}

Test(bar_view, four_hours_from_hours_exactly)
{
    /* 00:00..09:00 hourly, 02:00 missing (an outage); 08:00 and 09:00 start an unfinished
     * bucket that the data ends inside. */
    nd_bar_t in[] = {bar(0 * H, 10, 12, 9, 11, 5), bar(1 * H, 11, 15, 10, 14, 7),
                     bar(3 * H, 14, 14, 8, 9, INT64_MAX - 12), bar(4 * H, 9, 10, 9, 10, 1),
                     bar(5 * H, 10, 20, 10, 19, 2), bar(6 * H, 19, 19, 3, 4, 3),
                     bar(7 * H, 4, 5, 4, 5, 4), bar(8 * H, 5, 6, 5, 6, 5),
                     bar(9 * H, 6, 7, 6, 7, 6)};
    char err[256];
    nd_bar_source_t *src = view_of(in, 9, 4 * H, 0, 0, ND_OK, err);
    nd_bar_t out[8];
    nd_err_t rc;
    size_t n = drain(src, out, 8, &rc);
    cr_assert_eq(rc, ND_EEOF, "%s", src->err);
    cr_assert_eq(n, 2);
    nd_bar_t want0 = bar(0, 10, 15, 8, 9, INT64_MAX);
    nd_bar_t want1 = bar(4 * H, 9, 20, 3, 5, 10);
    cr_assert_eq(memcmp(&out[0], &want0, sizeof want0), 0);
    cr_assert_eq(memcmp(&out[1], &want1, sizeof want1), 0);
    src->close(src);
}

Test(bar_view, volume_overflow_is_an_error)
{
    nd_bar_t in[] = {bar(0, 1, 1, 1, 1, INT64_MAX), bar(H, 1, 1, 1, 1, 1), bar(2 * H, 1, 1, 1, 1, 1)};
    char err[256];
    nd_bar_source_t *src = view_of(in, 3, 4 * H, 0, 0, ND_OK, err);
    nd_bar_t b;
    cr_assert_eq(src->next(src, &b), ND_EOVERFLOW);
    cr_assert_str_eq(src->err, "--timeframe: the volume of hand.csv's bar at 1970-01-01T00:00:00Z "
                               "overflows");
    src->close(src);
}

Test(bar_view, gaps_make_no_bars_and_complete_last_bucket_is_kept)
{
    /* Days 0 and 3 only (days 1, 2 absent): two daily bars, nothing in between. */
    nd_bar_t in[48];
    size_t n = 0;
    for (int d = 0; d < 4; d += 3)
        for (int h = 0; h < 24; h++)
            in[n++] = bar(d * D + h * H, 100 + h, 200 + h, 50, 100 + h, 1);
    char err[256];
    nd_bar_source_t *src = view_of(in, n, D, 0, 0, ND_OK, err);
    nd_bar_t out[8];
    nd_err_t rc;
    cr_assert_eq(drain(src, out, 8, &rc), 2);
    cr_assert_eq(rc, ND_EEOF);
    cr_assert_eq(out[0].ts_ns, 0);
    cr_assert_eq(out[1].ts_ns, 3 * D);
    cr_assert_eq(out[1].open, 100);
    cr_assert_eq(out[1].close, 123);
    cr_assert_eq(out[1].high, 223);
    cr_assert_eq(out[1].volume, 24);
    src->close(src);
}

Test(bar_view, refusals_name_the_option)
{
    nd_bar_t in[] = {bar(0, 1, 1, 1, 1, 1), bar(H, 1, 1, 1, 1, 1), bar(2 * H, 1, 1, 1, 1, 1)};
    char err[256];
    nd_bar_t b;
    nd_bar_source_t *src = view_of(in, 3, 30 * ND_NS_PER_MIN, 0, 0, ND_OK, err);
    cr_assert_eq(src->next(src, &b), ND_EINVAL);
    cr_assert_str_eq(src->err, "--timeframe 30m is finer than the 1h bars of hand.csv: resampling "
                               "needs a whole multiple of the source's interval");
    src->close(src);
    src = view_of(in, 3, 90 * ND_NS_PER_MIN, 0, 0, ND_OK, err);
    cr_assert_eq(src->next(src, &b), ND_EINVAL);
    cr_assert(strstr(src->err, "--timeframe 90m is not a whole multiple of the 1h bars") == src->err);
    src->close(src);
    view_of(in, 3, 7 * D, 0, 0, ND_EINVAL, err);
    cr_assert(strstr(err, "--timeframe 7d: want at most 1d or a whole number of days") == err, "%s",
              err);
    view_of(in, 3, 36 * H, 0, 0, ND_EINVAL, err);
    src = view_of(in, 1, 4 * H, 0, 0, ND_OK, err);
    cr_assert_eq(src->next(src, &b), ND_EINVAL);
    cr_assert_str_eq(src->err, "--timeframe: hand.csv holds one bar: no interval to resample from");
    src->close(src);
}

Test(bar_view, range_is_half_open_and_empty_says_the_data_range)
{
    nd_bar_t in[72];
    for (int h = 0; h < 72; h++)
        in[h] = bar(day(2022, 1, 1) + h * H, 10, 10, 10, 10, 1);
    char err[256];
    nd_bar_t out[80];
    nd_err_t rc;
    nd_bar_source_t *src = view_of(in, 72, 0, day(2022, 1, 2), day(2022, 1, 3), ND_OK, err);
    cr_assert_eq(drain(src, out, 80, &rc), 24);
    cr_assert_eq(rc, ND_EEOF);
    cr_assert_eq(out[0].ts_ns, day(2022, 1, 2));
    cr_assert_eq(out[23].ts_ns, day(2022, 1, 3) - H);
    src->close(src);
    /* Resampled first, then the range: three daily bars, the middle one kept. */
    src = view_of(in, 72, D, day(2022, 1, 2), day(2022, 1, 3), ND_OK, err);
    cr_assert_eq(drain(src, out, 80, &rc), 1);
    cr_assert_eq(out[0].ts_ns, day(2022, 1, 2));
    cr_assert_eq(out[0].volume, 24);
    src->close(src);
    src = view_of(in, 72, 0, day(2023, 1, 1), 0, ND_OK, err);
    cr_assert_eq(drain(src, out, 80, &rc), 0);
    cr_assert_eq(rc, ND_ERANGE);
    cr_assert_str_eq(src->err, "--timerange 2023-01-01 .. end holds no bar of hand.csv, whose bars "
                               "open from 2022-01-01T00:00:00Z to 2022-01-03T23:00:00Z");
    cr_assert_eq(src->next(src, &out[0]), ND_EEOF);
    src->close(src);
    src = view_of(in, 72, 0, 0, day(2021, 6, 1), ND_OK, err);
    cr_assert_eq(drain(src, out, 80, &rc), 0);
    cr_assert_eq(rc, ND_ERANGE);
    src->close(src);
}

/* ---- The real candles -------------------------------------------------------------------- */

static size_t load(const char *path, const nd_bar_view_t *view, nd_bar_t **bars)
{
    nd_instrument_t inst;
    cr_assert_eq(nd_instrument_init(&inst, "ETH/USDT", "sim"), ND_OK);
    nd_bar_source_t *src = NULL;
    char err[256];
    nd_err_t rc = nd_bars_open_view(path, ND_BAR_FORMAT_AUTO, &inst, view, &src, err, sizeof err);
    if (rc != ND_OK)
        cr_skip_test("%s", err);
    size_t n = 0;
    cr_assert_eq(nd_bars_read_all(src, bars, &n, err, sizeof err), ND_OK, "%s", err);
    src->close(src);
    return n;
}

/* Binance's daily candles equal the hourly ones resampled, on every day without an outage
 * hour; a day with one differs only in the volume traded in the missing hours. */
Test(bar_view, hourly_to_daily_matches_binance_daily)
{
    const char *names[] = {"ETHUSDT", "BTCUSDT", "SOLUSDT", "BNBUSDT"};
    for (size_t k = 0; k < 4; k++) {
        char hourly[512], daily[512];
        snprintf(hourly, sizeof hourly, "%s/data/%s-1h.csv", ND_SHARED_DIR, names[k]);
        snprintf(daily, sizeof daily, "%s/data/%s-1d.csv", ND_SHARED_DIR, names[k]);
        nd_bar_t *a = NULL, *b = NULL;
        size_t na = load(hourly, &(nd_bar_view_t){.timeframe_ns = D}, &a);
        size_t nb = load(daily, &(nd_bar_view_t){0}, &b);
        size_t same = 0, ohlc_same = 0, i = 0, j = 0;
        for (; i < na && j < nb;) {
            if (a[i].ts_ns != b[j].ts_ns) {
                a[i].ts_ns < b[j].ts_ns ? i++ : j++;
                continue;
            }
            same += memcmp(&a[i], &b[j], sizeof a[i]) == 0;
            ohlc_same += a[i].open == b[j].open && a[i].close == b[j].close;
            i++, j++;
        }
        cr_assert_geq(na + 1, nb, "%s: %zu resampled days, %zu daily", names[k], na, nb);
        cr_assert_geq(same * 100, nb * 97, "%s: %zu of %zu days identical", names[k], same, nb);
        cr_assert_geq(ohlc_same * 1000, nb * 995, "%s: %zu of %zu opens and closes", names[k],
                      ohlc_same, nb);
        nd_free(a);
        nd_free(b);
    }
}

Test(bar_view, hourly_to_four_hours_on_eth)
{
    nd_bar_t *a = NULL, *h = NULL;
    size_t na = load(ND_SHARED_DIR "/data/ETHUSDT-1h.csv", &(nd_bar_view_t){.timeframe_ns = 4 * H}, &a);
    size_t nh = load(ND_SHARED_DIR "/data/ETHUSDT-1h.csv", &(nd_bar_view_t){0}, &h);
    /* 4 years = 1461 days of 6 buckets, less one: the outage of 2020-02-19 12:00-16:59 holds
     * the whole 12:00 bucket, which is absent, not made up. */
    cr_assert_eq(na, 1461 * 6 - 1, "%zu buckets", na);
    int64_t gap_start = day(2020, 2, 19) + 12 * H;
    size_t at = nd_bars_lower_bound(a, na, gap_start);
    cr_assert_eq(a[at].ts_ns, gap_start + 4 * H);
    cr_assert_eq(a[at - 1].ts_ns, gap_start - 4 * H);
    int64_t volume_a = 0, volume_h = 0;
    for (size_t k = 0; k < na; k++) {
        cr_assert_eq(a[k].ts_ns % (4 * H), 0);
        volume_a += a[k].volume;
    }
    for (size_t k = 0; k < nh; k++)
        volume_h += h[k].volume;
    cr_assert_eq(volume_a, volume_h, "every hourly bar lands in one bucket");
    nd_free(a);
    nd_free(h);
}

/* ---- Several instruments in one stream --------------------------------------------------- */

static nd_bar_source_t *memory(const nd_bar_t *bars, size_t count)
{
    nd_bar_t *copy = nd_alloc((count ? count : 1) * sizeof *copy);
    memcpy(copy, bars, count * sizeof *copy);
    nd_bar_source_t *src = NULL;
    cr_assert_eq(nd_bars_memory_open(copy, count, true, &src), ND_OK);
    return src;
}

Test(bar_merge, time_order_and_ties_in_source_order)
{
    nd_bar_t a[] = {bar(0, 1, 1, 1, 1, 1), bar(2 * H, 1, 1, 1, 1, 2), bar(3 * H, 1, 1, 1, 1, 3)};
    nd_bar_t b[] = {bar(0, 2, 2, 2, 2, 4), bar(H, 2, 2, 2, 2, 5), bar(3 * H, 2, 2, 2, 2, 6),
                    bar(4 * H, 2, 2, 2, 2, 7)};
    for (size_t k = 0; k < 3; k++)
        a[k].instrument_id = 0;
    for (size_t k = 0; k < 4; k++)
        b[k].instrument_id = 1;
    nd_bar_source_t *each[2] = {memory(a, 3), memory(b, 4)}, *m = NULL;
    char err[256];
    cr_assert_eq(nd_bars_merge(each, 2, &m, err, sizeof err), ND_OK);
    nd_bar_t out[8];
    nd_err_t rc;
    cr_assert_eq(drain(m, out, 8, &rc), 7);
    cr_assert_eq(rc, ND_EEOF);
    int64_t volumes[] = {1, 4, 5, 2, 3, 6, 7};
    for (size_t k = 0; k < 7; k++)
        cr_assert_eq(out[k].volume, volumes[k], "bar %zu", k);
    m->close(m);
}

Test(bar_merge, a_source_error_stops_the_stream_with_its_message)
{
    nd_bar_t a[] = {bar(0, 1, 1, 1, 1, INT64_MAX), bar(H, 1, 1, 1, 1, 1)};
    nd_bar_t b[] = {bar(0, 2, 2, 2, 2, 4)};
    nd_bar_source_t *inner = memory(a, 2), *viewed = NULL, *m = NULL;
    char err[256];
    nd_bar_view_t v = {.timeframe_ns = 4 * H};
    cr_assert_eq(nd_bars_view(inner, &v, "a.csv", &viewed, err, sizeof err), ND_OK);
    nd_bar_source_t *each[2] = {viewed, memory(b, 1)};
    cr_assert_eq(nd_bars_merge(each, 2, &m, err, sizeof err), ND_OK);
    nd_bar_t out;
    cr_assert_eq(m->next(m, &out), ND_EOVERFLOW);
    cr_assert(strstr(m->err, "the volume of a.csv's bar") != NULL, "%s", m->err);
    m->close(m);
}
