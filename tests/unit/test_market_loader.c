/* test_market_loader.c: the CSV and Binance kline bar loaders, through the public API.
 *
 * Good files are crafted fixtures in tests/data; every rejection is written to a temporary
 * file and its exact "PATH:LINE: reason" text is asserted. */
#include "noderr/fixed.h"
#include "noderr/market.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HDR "ts,open,high,low,close,volume\n"
#define E8 100000000LL

static nd_instrument_t btc(void)
{
    nd_instrument_t inst;
    cr_assert_eq(nd_instrument_init(&inst, "BTC/USDT", "binance"), ND_OK);
    inst.id = 7;
    return inst;
}

static nd_bar_source_t *open_ok(const char *path, nd_bar_format_t format,
                                const nd_instrument_t *inst)
{
    nd_bar_source_t *src = NULL;
    char err[256] = "";
    nd_err_t rc = nd_bars_open(path, format, inst, &src, err, sizeof err);
    cr_assert_eq(rc, ND_OK, "open %s: %s", path, err);
    cr_assert_not_null(src);
    return src;
}

static void expect_bar(nd_bar_source_t *src, int64_t ts_ns, int64_t o, int64_t h, int64_t l,
                       int64_t c, int64_t v)
{
    nd_bar_t b;
    nd_err_t rc = src->next(src, &b);
    cr_assert_eq(rc, ND_OK, "next: %s", src->err);
    cr_assert_eq(b.ts_ns, ts_ns);
    cr_assert_eq(b.open, o);
    cr_assert_eq(b.high, h);
    cr_assert_eq(b.low, l);
    cr_assert_eq(b.close, c);
    cr_assert_eq(b.volume, v);
    cr_assert_eq(b.instrument_id, 7u);
}

static void expect_eof(nd_bar_source_t *src)
{
    nd_bar_t b;
    cr_assert_eq(src->next(src, &b), ND_EEOF, "err: %s", src->err);
    cr_assert_eq(src->next(src, &b), ND_EEOF);
}

/* The three bars of bars_good.csv / bars_crlf.csv / the ms kline fixtures (first two). */
static void expect_btc_2020(nd_bar_source_t *src, int rows)
{
    expect_bar(src, 1577836800000000000LL, 719524000000, 719625000000, 717546000000,
               717702000000, 51181490100);
    expect_bar(src, 1577840400000000000LL, 717647000000, 723000000000, 717571000000,
               721627000000, 88305260300);
    if (rows == 3)
        expect_bar(src, 1577844000000000000LL, 721552000000, 724487000000, 721141000000,
                   724285000000, 0);
    expect_eof(src);
}

Test(market_loader, csv_good)
{
    nd_instrument_t inst = btc();
    nd_bar_source_t *src = open_ok(ND_TEST_DATA_DIR "/bars_good.csv", ND_BAR_FORMAT_AUTO, &inst);
    expect_btc_2020(src, 3);
    src->close(src);
    src = open_ok(ND_TEST_DATA_DIR "/bars_good.csv", ND_BAR_FORMAT_CSV, &inst);
    expect_btc_2020(src, 3);
    src->close(src);
}

Test(market_loader, csv_crlf_and_no_final_newline)
{
    nd_instrument_t inst = btc();
    nd_bar_source_t *src = open_ok(ND_TEST_DATA_DIR "/bars_crlf.csv", ND_BAR_FORMAT_AUTO, &inst);
    expect_btc_2020(src, 3);
    src->close(src);
}

Test(market_loader, kline_ms_auto_and_forced)
{
    nd_instrument_t inst = btc();
    nd_bar_source_t *src = open_ok(ND_TEST_DATA_DIR "/kline_ms.csv", ND_BAR_FORMAT_AUTO, &inst);
    expect_btc_2020(src, 2);
    src->close(src);
    src = open_ok(ND_TEST_DATA_DIR "/kline_ms.csv", ND_BAR_FORMAT_KLINE, &inst);
    expect_btc_2020(src, 2);
    src->close(src);
}

Test(market_loader, kline_with_header)
{
    nd_instrument_t inst = btc();
    nd_bar_source_t *src =
        open_ok(ND_TEST_DATA_DIR "/kline_header.csv", ND_BAR_FORMAT_AUTO, &inst);
    expect_btc_2020(src, 2);
    src->close(src);
    src = open_ok(ND_TEST_DATA_DIR "/kline_header.csv", ND_BAR_FORMAT_KLINE, &inst);
    expect_btc_2020(src, 2);
    src->close(src);
}

Test(market_loader, kline_microseconds)
{
    nd_instrument_t inst = btc();
    nd_bar_source_t *src = open_ok(ND_TEST_DATA_DIR "/kline_us.csv", ND_BAR_FORMAT_AUTO, &inst);
    /* 1735689600000000 us = 2025-01-01T00:00:00Z. */
    expect_bar(src, 1735689600000000000LL, 93576 * E8, 9450942000000, 9348903000000,
               9440114000000, 75599010000);
    expect_bar(src, 1735693200000000000LL, 9440113000000, 9450942000000, 93850 * E8,
               9405933000000, 41682917000);
    expect_eof(src);
    src->close(src);
}

Test(market_loader, surplus_zeros_fit_a_smaller_scale)
{
    /* The kline file writes 8 decimals; zeros beyond a 2-decimal scale are exact. */
    nd_instrument_t inst = btc();
    inst.px_decimals = 2;
    inst.qty_decimals = 6;
    nd_bar_source_t *src = open_ok(ND_TEST_DATA_DIR "/kline_ms.csv", ND_BAR_FORMAT_AUTO, &inst);
    expect_bar(src, 1577836800000000000LL, 719524, 719625, 717546, 717702, 511814901);
    src->close(src);
}

/* Writes content to a fresh temporary file and returns its path (static buffer). */
static const char *write_tmp(const char *content, size_t len)
{
    static char path[128];
    static int serial;
    snprintf(path, sizeof path, "/tmp/nd_loader_%d_%d.csv", (int)getpid(), serial++);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(content, 1, len, f), len);
    fclose(f);
    return path;
}

/* Loads content expecting `good` bars, then error `code` with text "PATH:reason". */
static void expect_reject(const char *content, nd_bar_format_t format, int good, nd_err_t code,
                          const char *reason)
{
    nd_instrument_t inst = btc();
    const char *path = write_tmp(content, strlen(content));
    char want[300];
    snprintf(want, sizeof want, "%s:%s", path, reason);
    nd_bar_source_t *src = NULL;
    char err[256] = "";
    nd_err_t rc = nd_bars_open(path, format, &inst, &src, err, sizeof err);
    if (rc != ND_OK) {
        cr_assert_eq(good, -1, "open failed unexpectedly: %s", err);
        cr_assert_eq(rc, code, "rc %d, err %s", rc, err);
        cr_assert_str_eq(err, want);
        unlink(path);
        return;
    }
    cr_assert_neq(good, -1, "open should have failed with %s", want);
    nd_bar_t b;
    for (int i = 0; i < good; i++)
        cr_assert_eq(src->next(src, &b), ND_OK, "row %d: %s", i, src->err);
    cr_assert_eq(src->next(src, &b), code, "err: %s", src->err);
    if (code != ND_EEOF)
        cr_assert_str_eq(src->err, want);
    /* The error is sticky: nothing after the bad row is ever handed out. */
    cr_assert_eq(src->next(src, &b), code);
    src->close(src);
    unlink(path);
}

Test(market_loader, reject_ohlc_rules)
{
    nd_bar_format_t a = ND_BAR_FORMAT_AUTO;
    expect_reject(HDR "1,100.5,100.5,101,101,1\n", a, 0, ND_EPARSE,
                  "2: high 100.5 below low 101");
    expect_reject(HDR "1,102,101,100,100.5,1\n", a, 0, ND_EPARSE, "2: high 101 below open 102");
    expect_reject(HDR "1,100,101,99,102,1\n", a, 0, ND_EPARSE, "2: high 101 below close 102");
    expect_reject(HDR "1,100,102,101,101.5,1\n", a, 0, ND_EPARSE, "2: low 101 above open 100");
    expect_reject(HDR "1,101.5,102,101,100,1\n", a, 0, ND_EPARSE, "2: low 101 above close 100");
    expect_reject(HDR "1,0,1,0,1,1\n", a, 0, ND_EPARSE, "2: low 0 not positive");
    expect_reject(HDR "1,-1,1,-1,1,1\n", a, 0, ND_EPARSE, "2: low -1 not positive");
    expect_reject(HDR "1,1,1,1,1,1\n2,1,1,1,1,-2.5\n", a, 1, ND_EPARSE, "3: volume -2.5 negative");
}

Test(market_loader, reject_columns_and_numbers)
{
    nd_bar_format_t a = ND_BAR_FORMAT_AUTO;
    expect_reject(HDR "1,1,1,1,1\n", a, 0, ND_EPARSE, "2: expected 6 columns, found 5");
    expect_reject(HDR "1,1,1,1,1,1,1\n", a, 0, ND_EPARSE, "2: expected 6 columns, found 7");
    expect_reject(HDR "1,1,1,1,1,1\n\n2,1,1,1,1,1\n", a, 1, ND_EPARSE,
                  "3: blank line inside the data");
    expect_reject(HDR "1,1,1,1,1,1\n\r\n\n2,1,1,1,1,1\n", a, 1, ND_EPARSE,
                  "3: blank line inside the data");
    /* Blank lines at the very end are an editor's trailing newline: the data simply ends. */
    expect_reject(HDR "1,1,1,1,1,1\n2,1,1,1,1,1\n\n\r\n", a, 2, ND_EEOF, "");
    expect_reject(HDR "1,abc,1,1,1,1\n", a, 0, ND_EPARSE, "2: open: malformed number 'abc'");
    expect_reject(HDR "1,1,,1,1,1\n", a, 0, ND_EPARSE, "2: high: malformed number ''");
    expect_reject(HDR "1,1,1,1.2.3,1,1\n", a, 0, ND_EPARSE, "2: low: malformed number '1.2.3'");
    expect_reject(HDR "1,1,1,1,1e3,1\n", a, 0, ND_EPARSE, "2: close: malformed number '1e3'");
    expect_reject(HDR "1,1,1,1,1, 1\n", a, 0, ND_EPARSE, "2: volume: malformed number ' 1'");
    expect_reject(HDR "1,1.123456789,2,1,1,1\n", a, 0, ND_EPRECISION,
                  "2: open 1.123456789 has more decimals than the price scale (8)");
    expect_reject(HDR "1,1,1,1,1,0.000000001\n", a, 0, ND_EPRECISION,
                  "2: volume 0.000000001 has more decimals than the quantity scale (8)");
    expect_reject(HDR "1,99999999999999999999,1,1,1,1\n", a, 0, ND_EOVERFLOW,
                  "2: open 99999999999999999999 out of range");
}

Test(market_loader, reject_times)
{
    nd_bar_format_t a = ND_BAR_FORMAT_AUTO;
    expect_reject(HDR "x1,1,1,1,1,1\n", a, 0, ND_EPARSE, "2: ts: malformed integer 'x1'");
    expect_reject(HDR "1.5,1,1,1,1,1\n", a, 0, ND_EPARSE, "2: ts: malformed integer '1.5'");
    expect_reject(HDR "-5,1,1,1,1,1\n", a, 0, ND_EPARSE, "2: ts: malformed integer '-5'");
    /* INT64_MAX ns is 9223372036854 ms: one more millisecond does not fit. */
    expect_reject(HDR "9223372036855,1,1,1,1,1\n", a, 0, ND_ERANGE,
                  "2: ts 9223372036855 out of range");
    expect_reject(HDR "1000,1,1,1,1,1\n1000,1,1,1,1,1\n", a, 1, ND_EPARSE,
                  "3: duplicate time 1000");
    expect_reject(HDR "2000,1,1,1,1,1\n1000,1,1,1,1,1\n", a, 1, ND_EPARSE,
                  "3: time 1000 before previous bar's 2000");
}

Test(market_loader, reject_kline_rows)
{
    nd_bar_format_t k = ND_BAR_FORMAT_KLINE;
    const char *row = "1000,1,2,1,2,5,1999,10,3,2,4,0\n";
    char text[512];
    snprintf(text, sizeof text, "%s1000,1,2,1,2,5,1999,10,3,2,4\n", row);
    expect_reject(text, k, 1, ND_EPARSE, "2: expected 12 columns, found 11");
    snprintf(text, sizeof text, "%s2000,1,2,1,2,5,1999,10,x,2,4,0\n", row);
    expect_reject(text, k, 1, ND_EPARSE, "2: trades: malformed number 'x'");
    snprintf(text, sizeof text, "%s2000,1,2,1,2,5,1999,10,3,2,4.4.4,0\n", row);
    expect_reject(text, k, 1, ND_EPARSE, "2: taker_buy_quote_volume: malformed number '4.4.4'");
    snprintf(text, sizeof text, "%s2000,1,2,1,2,5,1999,-10,3,2,4,0\n", row);
    expect_reject(text, k, 1, ND_EPARSE, "2: quote_volume: malformed number '-10'");
    snprintf(text, sizeof text, "%s1000,1,2,1,2,5,1999,10,3,2,4,0\n", row);
    expect_reject(text, k, 1, ND_EPARSE, "2: duplicate time 1000");
    snprintf(text, sizeof text, "%sx,1,2,1,2,5,1999,10,3,2,4,0\n", row);
    expect_reject(text, k, 1, ND_EPARSE, "2: open_time: malformed integer 'x'");
    /* The ignored last column is not checked. */
    snprintf(text, sizeof text, "%s2000,1,2,1,2,5,2999,10,3,2,4,anything\n", row);
    expect_reject(text, k, 2, ND_EEOF, "");
}

Test(market_loader, reject_whole_file)
{
    nd_bar_format_t a = ND_BAR_FORMAT_AUTO;
    expect_reject("", a, -1, ND_EPARSE, " no bars");
    expect_reject("", ND_BAR_FORMAT_KLINE, -1, ND_EPARSE, " no bars");
    expect_reject(HDR, a, 0, ND_EPARSE, " no bars");
    expect_reject("open_time,open,high,low,close,volume,close_time,a,b,c,d,e\n", a, 0,
                  ND_EPARSE, " no bars");
    expect_reject("date,open,high,low,close,volume\n", a, -1, ND_EPARSE,
                  "1: unknown bar format: expected header 'ts,open,high,low,close,volume', "
                  "a kline header 'open_time,...' or 12 kline columns");
    expect_reject("1,1,1,1,1,1\n", a, -1, ND_EPARSE,
                  "1: unknown bar format: expected header 'ts,open,high,low,close,volume', "
                  "a kline header 'open_time,...' or 12 kline columns");
    expect_reject("1000,1,2,1,2,5,1999,10,3,2,4,0\n", ND_BAR_FORMAT_CSV, -1, ND_EPARSE,
                  "1: expected header 'ts,open,high,low,close,volume'");
    expect_reject("TS,open,high,low,close,volume\n", ND_BAR_FORMAT_CSV, -1, ND_EPARSE,
                  "1: expected header 'ts,open,high,low,close,volume'");
}

Test(market_loader, reject_long_line)
{
    char text[2200];
    int n = snprintf(text, sizeof text, HDR "1,1,1,1,1,");
    memset(text + n, '1', 1100);
    strcpy(text + n + 1100, "\n");
    expect_reject(text, ND_BAR_FORMAT_AUTO, 0, ND_EPARSE, "2: line longer than 1024 bytes");
}

Test(market_loader, missing_file)
{
    nd_instrument_t inst = btc();
    nd_bar_source_t *src = (nd_bar_source_t *)0x1;
    char err[256];
    const char *path = "/nonexistent/dir/bars.csv";
    cr_assert_eq(nd_bars_open(path, ND_BAR_FORMAT_AUTO, &inst, &src, err, sizeof err), ND_EIO);
    cr_assert_str_eq(err, "/nonexistent/dir/bars.csv: No such file or directory");
    cr_assert_eq(src, (nd_bar_source_t *)0x1, "out is written only on success");
}

Test(market_loader, byte_order_mark_is_skipped)
{
    const char text[] = "\xEF\xBB\xBF" HDR "1000,1,2,1,2,5\n";
    const char *path = write_tmp(text, sizeof text - 1);
    nd_instrument_t inst = btc();
    nd_bar_source_t *src = open_ok(path, ND_BAR_FORMAT_AUTO, &inst);
    expect_bar(src, 1000000000LL, E8, 2 * E8, E8, 2 * E8, 5 * E8);
    expect_eof(src);
    src->close(src);
    unlink(path);
}

Test(market_loader, kline_units_switch_mid_file)
{
    /* A file spanning Binance's switch: the last millisecond bar of 2024, then microseconds. */
    const char text[] = "1735689540000,1,2,1,2,5,1735689599999,10,3,2,4,0\n"
                        "1735689600000000,1,2,1,2,5,1735689659999999,10,3,2,4,0\n";
    const char *path = write_tmp(text, sizeof text - 1);
    nd_instrument_t inst = btc();
    nd_bar_source_t *src = open_ok(path, ND_BAR_FORMAT_AUTO, &inst);
    expect_bar(src, 1735689540000000000LL, E8, 2 * E8, E8, 2 * E8, 5 * E8);
    expect_bar(src, 1735689600000000000LL, E8, 2 * E8, E8, 2 * E8, 5 * E8);
    expect_eof(src);
    src->close(src);
    unlink(path);
}

/* The loader parses rows in place from its read buffer when at least 512 bytes lie ahead, and
 * the small files above never reach that path. Here each row under test sits on line 12 of a
 * file with ten good rows before it and 720 bytes after it, so the in-buffer path sees it
 * first; what it does not accept must still be accepted, or worded, exactly as before. */
static char *padded(const char *row, const char *eol)
{
    static char text[2048];
    size_t n = (size_t)snprintf(text, sizeof text, "%s", HDR);
    for (int i = 1; i <= 10; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "%d,1,1,1,1,1%s", i, eol);
    n += (size_t)snprintf(text + n, sizeof text - n, "%s%s", row, eol);
    for (int i = 0; i < 30; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "%lld,1,1,1,1,1%s",
                              1000000000000LL + i, eol);
    cr_assert_lt(n, sizeof text - 1);
    return text;
}

Test(market_loader, in_buffer_path_rejects_as_before)
{
    static const struct {
        const char *row;
        nd_err_t code;
        const char *reason;
    } cases[] = {
        {"1000000,1,1,1,1", ND_EPARSE, "12: expected 6 columns, found 5"},
        {"1000000,1,1,1,1,1,1", ND_EPARSE, "12: expected 6 columns, found 7"},
        {"1000000,abc,1,1,1,1", ND_EPARSE, "12: open: malformed number 'abc'"},
        {"1000000,1,,1,1,1", ND_EPARSE, "12: high: malformed number ''"},
        {"1000000,1,1,1.2.3,1,1", ND_EPARSE, "12: low: malformed number '1.2.3'"},
        {"1000000,1,1,1,1e3,1", ND_EPARSE, "12: close: malformed number '1e3'"},
        {"1000000,1,1,1,1, 1", ND_EPARSE, "12: volume: malformed number ' 1'"},
        {"1000000,1,1,1,1,.", ND_EPARSE, "12: volume: malformed number '.'"},
        {"1000000,1.123456789,2,1,1,1", ND_EPRECISION,
         "12: open 1.123456789 has more decimals than the price scale (8)"},
        {"1000000,1,1,1,1,0.000000001", ND_EPRECISION,
         "12: volume 0.000000001 has more decimals than the quantity scale (8)"},
        {"1000000,99999999999999999999,1,1,1,1", ND_EOVERFLOW,
         "12: open 99999999999999999999 out of range"},
        {"1000000,999999999999.5,1,1,1,1", ND_EOVERFLOW, "12: open 999999999999.5 out of range"},
        {"1000000,102,101,100,100.5,1", ND_EPARSE, "12: high 101 below open 102"},
        {"1000000,1,1,1,1,-2.5", ND_EPARSE, "12: volume -2.5 negative"},
        {"1.5,1,1,1,1,1", ND_EPARSE, "12: ts: malformed integer '1.5'"},
        {"9223372036855,1,1,1,1,1", ND_ERANGE, "12: ts 9223372036855 out of range"},
        {"10,1,1,1,1,1", ND_EPARSE, "12: duplicate time 10"},
        {"5,1,1,1,1,1", ND_EPARSE, "12: time 5 before previous bar's 10"},
        {"", ND_EPARSE, "12: blank line inside the data"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        expect_reject(padded(cases[k].row, "\n"), ND_BAR_FORMAT_AUTO, 10, cases[k].code,
                      cases[k].reason);
        expect_reject(padded(cases[k].row, "\r\n"), ND_BAR_FORMAT_AUTO, 10, cases[k].code,
                      cases[k].reason);
    }
}

Test(market_loader, in_buffer_path_accepts_as_before)
{
    /* Signs, surplus zeros, a bare point at either end and long runs take the careful path. */
    static const char *const rows[] = {
        "1000000,.5,2,0.5,1.,3.",
        "1000000,+0.5,2.000000000000,00000000000000000000.5,1,3",
        "1000000,0.50000000,2,0.5,0000000000000001.00,000000000000000003",
    };
    nd_instrument_t inst = btc();
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
        const char *text = padded(rows[k], "\n");
        const char *path = write_tmp(text, strlen(text));
        nd_bar_source_t *src = open_ok(path, ND_BAR_FORMAT_AUTO, &inst);
        nd_bar_t b;
        for (int i = 0; i < 10; i++)
            cr_assert_eq(src->next(src, &b), ND_OK, "%s", src->err);
        expect_bar(src, 1000000LL * 1000000LL, E8 / 2, 2 * E8, E8 / 2, E8, 3 * E8);
        for (int i = 0; i < 30; i++)
            expect_bar(src, (1000000000000LL + i) * 1000000LL, E8, E8, E8, E8, E8);
        expect_eof(src);
        src->close(src);
        unlink(path);
    }
}

Test(market_loader, large_file_crosses_buffer_refills)
{
    /* 60,000 rows of ~50 bytes (about 3 MiB) cross the 1 MiB read buffer several times. */
    enum { ROWS = 60000 };
    const char *path = write_tmp(HDR, strlen(HDR));
    FILE *f = fopen(path, "ab");
    cr_assert_not_null(f);
    for (int i = 0; i < ROWS; i++)
        fprintf(f, "%lld,%d.25,%d.5,%d.125,%d.75,%d.00001234\r\n",
                1577836800000LL + 60000LL * i, 1000 + i, 1001 + i, 999 + i, 1000 + i, i);
    fclose(f);
    nd_instrument_t inst = btc();
    nd_bar_source_t *src = open_ok(path, ND_BAR_FORMAT_AUTO, &inst);
    nd_bar_t b;
    int64_t count = 0;
    nd_err_t rc;
    while ((rc = src->next(src, &b)) == ND_OK) {
        cr_assert_eq(b.ts_ns, (1577836800000LL + 60000LL * count) * 1000000LL);
        cr_assert_eq(b.open, (1000 + count) * E8 + 25000000);
        cr_assert_eq(b.volume, count * E8 + 1234);
        count++;
    }
    cr_assert_eq(rc, ND_EEOF, "%s", src->err);
    cr_assert_eq(count, ROWS);
    src->close(src);
    unlink(path);
}

Test(market_loader, shared_btcusdt_1h)
{
    const char *path = ND_SHARED_DIR "/data/BTCUSDT-1h.csv";
    struct stat st;
    if (stat(ND_SHARED_DIR, &st) != 0 || stat(path, &st) != 0)
        cr_skip_test("the shared data (%s) is absent", path);
    nd_instrument_t inst = btc();
    nd_bar_source_t *src = open_ok(path, ND_BAR_FORMAT_AUTO, &inst);
    nd_bar_t b, first = {0};
    int64_t count = 0;
    nd_err_t rc;
    while ((rc = src->next(src, &b)) == ND_OK) {
        if (count == 0)
            first = b;
        count++;
    }
    cr_assert_eq(rc, ND_EEOF, "%s", src->err);
    cr_assert_eq(count, 35031);
    cr_assert_eq(first.ts_ns, 1577836800000LL * 1000000LL);
    cr_assert_eq(first.open, 719524000000LL);
    cr_assert_eq(first.volume, 51181490100LL);
    /* Last row: 1704063600000,42257.89,42345.65,42066.0,42283.58,1710.13721 */
    cr_assert_eq(b.ts_ns, 1704063600000LL * 1000000LL);
    cr_assert_eq(b.close, 4228358000000LL);
    cr_assert_eq(b.volume, 171013721000LL);
    src->close(src);
}

Test(symbol, a_binance_file_name_gives_the_symbol_and_other_names_give_nothing)
{
    char sym[ND_NAME_MAX];
    cr_assert_eq(nd_instrument_symbol_from_path("../shared/data/ETHUSDT-1h.csv", sym, sizeof sym), ND_OK);
    cr_assert_str_eq(sym, "ETH/USDT");
    cr_assert_eq(nd_instrument_symbol_from_path("BTCUSDT-trades-2021-01-08.csv", sym, sizeof sym), ND_OK);
    cr_assert_str_eq(sym, "BTC/USDT");
    cr_assert_eq(nd_instrument_symbol_from_path("/d/SOLBTC_1d.csv", sym, sizeof sym), ND_OK);
    cr_assert_str_eq(sym, "SOL/BTC");
    cr_assert_eq(nd_instrument_symbol_from_path("/tmp/eth2022.csv", sym, sizeof sym), ND_ENOTFOUND);
    cr_assert_eq(nd_instrument_symbol_from_path("bars.csv", sym, sizeof sym), ND_ENOTFOUND);
    cr_assert_eq(nd_instrument_symbol_from_path("/x/-1h.csv", sym, sizeof sym), ND_ENOTFOUND);
    cr_assert_eq(nd_instrument_symbol_from_path("NOTAPAIR-1h.csv", sym, sizeof sym), ND_ENOTFOUND);
}

/* Differential test of the two row paths: each random row, valid or not, is read once as the
 * last line of a short file (the careful, line-based path) and once with 600 bytes of good rows
 * after it (the in-buffer fast path); both must give the same bar, or the same code and the
 * same "PATH:LINE: reason". Rows are plain numbers, long and odd ones, signs and stray bytes,
 * and good rows with one byte replaced, inserted or deleted. */
static uint64_t diff_rand(uint64_t *state)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return *state >> 33;
}

/* Appends one random field to buf at n; returns the new length. */
static size_t diff_field(uint64_t *rs, char *buf, size_t n, int price)
{
    static const char odd[] = "+-. ex\t\x80,0";
    uint64_t kind = diff_rand(rs) % 16;
    if (kind < 9 && price) /* a realistic price or volume: up to 6 digits, a point, 1 to 9 decimals */
        return n + (size_t)sprintf(buf + n, "%llu.%0*llu",
                                   (unsigned long long)(diff_rand(rs) % 1000000),
                                   (int)(diff_rand(rs) % 10),
                                   (unsigned long long)(diff_rand(rs) % 1000000000));
    if (kind < 9)
        return n + (size_t)sprintf(buf + n, "%llu", (unsigned long long)(diff_rand(rs) % 100));
    int whole = (int)(diff_rand(rs) % 22), frac = (int)(diff_rand(rs) % 22);
    if (kind == 9 || kind == 10)
        buf[n++] = odd[diff_rand(rs) % (sizeof odd - 1)];
    for (int i = 0; i < whole; i++)
        buf[n++] = (char)('0' + diff_rand(rs) % (kind == 11 ? 2 : 10));
    if (kind != 12)
        buf[n++] = '.';
    for (int i = 0; i < frac; i++)
        buf[n++] = (char)('0' + diff_rand(rs) % (kind == 13 ? 2 : 10));
    if (kind == 14)
        buf[n++] = odd[diff_rand(rs) % (sizeof odd - 1)];
    return n;
}

/* One random row of the format's columns (sometimes one more or one fewer). */
/* One time in three, one byte of buf's n replaced, inserted or deleted (seeded); ends buf. */
static size_t edit_one_byte(uint64_t *rs, char *buf, size_t n)
{
    if (diff_rand(rs) % 3 == 0 && n > 0) { /* one byte replaced, inserted or deleted */
        static const char bytes[] = "0123456789.,+-e \r";
        size_t at = diff_rand(rs) % n;
        uint64_t how = diff_rand(rs) % 3;
        if (how == 1) {
            memmove(buf + at + 1, buf + at, n - at);
            n++;
        } else if (how == 2) {
            memmove(buf + at, buf + at + 1, n - at - 1);
            n--;
        }
        if (how != 2)
            buf[at] = bytes[diff_rand(rs) % (sizeof bytes - 1)];
    }
    buf[n] = '\0';
    return n;
}

static size_t diff_row(uint64_t *rs, int kline, char *buf)
{
    int columns = kline ? 12 : 6;
    uint64_t shape = diff_rand(rs) % 20;
    columns += shape == 0 ? 1 : shape == 1 ? -1 : 0;
    size_t n = 0;
    if (diff_rand(rs) % 8 == 0)
        n = diff_field(rs, buf, n, 0);
    else
        n += (size_t)sprintf(buf, "%llu", 1577836800000ULL + diff_rand(rs) % 100000000000ULL *
                                              (diff_rand(rs) % 4 == 0 ? 1000 : 1));
    if (shape >= 2 && shape < 12) { /* a plausible bar: open/close between low and high */
        static const char *const frac[] = {"", ".0", ".5", ".25", ".125", ".00000001", ".99"};
        unsigned long long low = diff_rand(rs) % 3 == 0 ? diff_rand(rs) % 3 : diff_rand(rs) % 100000;
        unsigned long long span = diff_rand(rs) % 1000;
        const char *f[4];
        for (int i = 0; i < 4; i++)
            f[i] = frac[diff_rand(rs) % 7];
        n += (size_t)sprintf(buf + n, ",%llu%s,%llu%s,%llu%s,%llu%s,%llu.%llu", low + span / 2,
                             f[0], low + span, f[1], low, f[2], low + span / 3, f[3], span,
                             (unsigned long long)(diff_rand(rs) % 100000000));
        if (kline)
            n += (size_t)sprintf(buf + n, ",%llu,%llu.%llu,%llu,%llu.5,%llu.25,0",
                                 1577836800000ULL + low, low * span, span, span, low, span);
        columns = shape == 2 ? 1 : 0; /* sometimes one random column more */
    } else {
        columns -= 1;
    }
    return edit_one_byte(rs, buf, n);
}

/* Writes header, ten good rows (long_lead: eight-decimal ones, whose heads end past byte 63,
 * so that the row-plan path meets the row in its long-row mode), the row, then `after` good
 * rows; returns the 11th next(). */
static nd_err_t diff_read(const char *path, int kline, int long_lead, const char *row,
                          const char *eol, int after, nd_bar_t *bar, char *err)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    fputs(kline ? "open_time,open,high,low,close,volume,close_time,qv,n,tb,tq,ignore\n" : HDR, f);
    const char *tail = kline ? ",1,1,1,1,1,1,1,1,1,1,0" : ",1,1,1,1,1";
    const char *lead = !long_lead ? tail
                       : kline ? ",10000.00000000,10000.00000000,10000.00000000,10000.00000000,"
                                 "1.00000000,1,1.00000000,1,1.00000000,1.00000000,0"
                               : ",10000.00000000,10000.00000000,10000.00000000,10000.00000000,"
                                 "1.00000000";
    for (int i = 1; i <= 10; i++)
        fprintf(f, "%d%s%s", i, lead, eol);
    fprintf(f, "%s%s", row, eol);
    for (int i = 0; i < after; i++)
        fprintf(f, "%lld%s%s", 9000000000000LL + i, tail, eol);
    cr_assert_eq(fclose(f), 0);
    nd_instrument_t inst = btc();
    nd_bar_source_t *src = open_ok(path, ND_BAR_FORMAT_AUTO, &inst);
    for (int i = 0; i < 10; i++)
        cr_assert_eq(src->next(src, bar), ND_OK, "%s", src->err);
    memset(bar, 0, sizeof *bar);
    nd_err_t rc = src->next(src, bar);
    snprintf(err, 256, "%s", rc == ND_OK ? "" : src->err);
    src->close(src);
    return rc;
}

/* 2,000 rows from make_row (seeded), half kline, every other pair CRLF, each read on the careful
 * path and on the row-plan path: the same bar, or the same code and "PATH:LINE: reason".
 * Returns how many were accepted. */
static int compare_paths(const char *tag, uint64_t seed,
                         size_t (*make_row)(uint64_t *rs, int kline, char *buf), int long_lead)
{
    char path[128], row[1024], slow_err[256], fast_err[256];
    snprintf(path, sizeof path, "/tmp/nd_loader_%s_%d.csv", tag, (int)getpid());
    uint64_t rs = seed;
    int accepted = 0;
    for (int k = 0; k < 2000; k++) {
        int kline = k % 2;
        const char *eol = k % 4 < 2 ? "\n" : "\r\n";
        if (make_row(&rs, kline, row) == 0)
            continue; /* a blank last line ends the data: not a row to compare */
        nd_bar_t slow, fast;
        nd_err_t slow_rc = diff_read(path, kline, long_lead, row, eol, 0, &slow, slow_err);
        nd_err_t fast_rc = diff_read(path, kline, long_lead, row, eol, 30, &fast, fast_err);
        cr_assert_eq(fast_rc, slow_rc, "row '%s': %s / %s", row, fast_err, slow_err);
        cr_assert_str_eq(fast_err, slow_err, "row '%s'", row);
        cr_assert(memcmp(&fast, &slow, sizeof fast) == 0, "row '%s'", row);
        accepted += fast_rc == ND_OK;
    }
    unlink(path);
    return accepted;
}

Test(market_loader, fast_and_careful_paths_agree_on_random_rows)
{
    int accepted = compare_paths("diff", 20261207, diff_row, 0);
    /* Both kinds are well represented. */
    cr_assert_gt(accepted, 400, "%d", accepted);
    cr_assert_lt(accepted, 1600, "%d", accepted);
}

/* Volumes of 17 and 18 digits at 8 decimals (a LUNA minute file has them): the row-plan path
 * reads their leading digits apart (a wide-volume plan, found again from the miss path on later
 * rows of the shape); 19 digits go the scalar way. Every value equals nd_fixed_parse's, and a
 * row breaking a rule after a wide row is still refused with the careful path's words. */
Test(market_loader, wide_volumes_parse_exactly)
{
    char path[128];
    snprintf(path, sizeof path, "/tmp/nd_loader_wide_%d.csv", (int)getpid());
    static const char *const vols[] = {
        "123456789.12345678", "9876543210.5", "90000000000.0000001", "1234567890.12345678",
        "12345678.12345678",  "100000000",    "0999999999.00000001",  "42.5",
        "5555555555.55",      "12345678901",  "987654321.1",          "31415926535.8979",
    };
    enum { ROWS = 600 };
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    fputs(HDR, f);
    for (int i = 0; i < ROWS; i++)
        fprintf(f, "%lld,1.5,2.25,1,2,%s\n", 1577836800000LL + i * 60000LL,
                vols[i % (sizeof vols / sizeof vols[0])]);
    fputs("1600000000000,1,1,1,1,123456789.1\n1600000000001,1,1,2,1,123456789.1\n", f);
    cr_assert_eq(fclose(f), 0);
    nd_instrument_t inst = btc();
    nd_bar_source_t *src = open_ok(path, ND_BAR_FORMAT_AUTO, &inst);
    for (int i = 0; i < ROWS; i++) {
        const char *v = vols[i % (sizeof vols / sizeof vols[0])];
        int64_t want;
        cr_assert_eq(nd_fixed_parse(v, strlen(v), 8, &want), ND_OK);
        expect_bar(src, (1577836800000LL + i * 60000LL) * 1000000, 150000000, 225000000, E8,
                   2 * E8, want);
    }
    expect_bar(src, 1600000000000LL * 1000000, E8, E8, E8, E8, 12345678910000000LL);
    nd_bar_t b;
    cr_assert_eq(src->next(src, &b), ND_EPARSE);
    cr_assert(strstr(src->err, ":603: high 1 below low 2") != NULL, "%s",
              src->err);
    src->close(src);
    unlink(path);
}

/* A number of `whole` (1-10) random digits and `frac` fraction digits (none: no point). */
static size_t long_number(uint64_t *rs, char *buf, size_t n, int whole, int frac)
{
    buf[n++] = (char)('1' + diff_rand(rs) % 9);
    for (int i = 1; i < whole; i++)
        buf[n++] = (char)('0' + diff_rand(rs) % 10);
    if (frac > 0)
        buf[n++] = '.';
    for (int i = 0; i < frac; i++)
        buf[n++] = (char)('0' + diff_rand(rs) % 10);
    return n;
}

/* Swaps two prices of the same width so that low <= high. */
static void order_prices(char *low, char *high)
{
    if (strcmp(low, high) > 0) {
        char t[32];
        strcpy(t, low);
        strcpy(low, high);
        strcpy(high, t);
    }
}

/* One random long row: eight-decimal prices as in Binance's archives (heads of 55-110 bytes,
 * past the first 64 bytes the row-plan path classifies at first), a kline tail of 30-90 bytes,
 * sometimes 7 or 9 decimals, a wide volume, microseconds, a broken rule or one byte edited. */
static size_t long_row(uint64_t *rs, int kline, char *buf)
{
    unsigned long long unit = kline && diff_rand(rs) % 5 == 0 ? 1000 : 1; /* microseconds */
    size_t n = (size_t)sprintf(buf, "%llu",
                               unit * (1577836800000ULL + diff_rand(rs) % 100000000000ULL));
    int whole = 1 + (int)(diff_rand(rs) % 8);
    int frac = diff_rand(rs) % 8 == 0 ? 7 + (int)(diff_rand(rs) % 3) : 8;
    char px[4][32];
    for (int i = 0; i < 4; i++) /* open, high, low, close: the same width, so mostly in order */
        px[i][long_number(rs, px[i], 0, whole, frac)] = '\0';
    if (diff_rand(rs) % 4 != 0) { /* high the largest, low the smallest */
        order_prices(px[0], px[1]);
        order_prices(px[3], px[1]);
        order_prices(px[2], px[0]);
        order_prices(px[2], px[3]);
    }
    for (int i = 0; i < 4; i++)
        n += (size_t)sprintf(buf + n, ",%s", px[i]);
    buf[n++] = ',';
    n = long_number(rs, buf, n, 1 + (int)(diff_rand(rs) % 11), diff_rand(rs) % 6 == 0 ? 2 : 8);
    if (kline) {
        n += (size_t)sprintf(buf + n, ",%llu", 1577836800000ULL + diff_rand(rs) % 1000000);
        for (int i = 0; i < 4; i++) {
            buf[n++] = ',';
            n = long_number(rs, buf, n, 1 + (int)(diff_rand(rs) % 9),
                            i == 1 ? 0 : (int)(diff_rand(rs) % 9));
        }
        n += (size_t)sprintf(buf + n, ",0");
    }
    return edit_one_byte(rs, buf, n);
}

/* Long rows (eight-decimal prices, plain and kline) through the row-plan path's second 64 bytes
 * and its longer kline tails give what the careful path gives: the same bar, or the same code
 * and "PATH:LINE: reason". */
Test(market_loader, long_rows_agree_with_the_careful_path)
{
    int accepted = compare_paths("long", 20261208, long_row, 0);
    cr_assert_gt(accepted, 500, "%d", accepted);
    cr_assert_lt(accepted, 1700, "%d", accepted);
}

/* The same rows met by the row-plan path in its long-row mode (after ten rows with long heads):
 * long rows taken there, short ones sent back to the short mode, bad ones to the other paths,
 * with the careful path's bar or code and words. */
Test(market_loader, long_row_mode_agrees_with_the_careful_path)
{
    int accepted = compare_paths("longmode", 20261209, long_row, 1);
    cr_assert_gt(accepted, 500, "%d", accepted);
    accepted = compare_paths("shortafterlong", 20261210, diff_row, 1);
    cr_assert_gt(accepted, 400, "%d", accepted);
}

/* The volume of row i of eight_decimal_rows_parse_exactly: 3 to 6, 8 or 9 whole digits (an
 * eight-digit volume at eight decimals is 17 bytes, one more than a column's load). */
static int dec8_volume(int i)
{
    return i % 4 == 1 ? 10000000 + i : i % 4 == 3 ? 100000000 + i : 511 + i * 1000;
}

/* A file of eight-decimal rows, plain and kline, read to its end: every value is
 * nd_fixed_parse's, and a row breaking a rule is refused with the careful path's words. */
Test(market_loader, eight_decimal_rows_parse_exactly)
{
    char path[128];
    snprintf(path, sizeof path, "/tmp/nd_loader_dec8_%d.csv", (int)getpid());
    enum { ROWS = 400 };
    for (int kline = 0; kline < 2; kline++) {
        FILE *f = fopen(path, "wb");
        cr_assert_not_null(f);
        if (!kline)
            fputs(HDR, f);
        for (int i = 0; i < ROWS; i++) {
            fprintf(f, "%lld,%d.%08d,%d.%08d,%d.%08d,%d.%08d,%d.%08d",
                    1577836800000LL + i * 60000LL, 7195 + i, 24000000 + i, 7196 + i * 10,
                    25000000, 7175 + i, 46000000, 7177 + i, 2000000 + i, dec8_volume(i),
                    81490100);
            if (kline)
                fprintf(f, ",%lld,%d.%08d,%d,%d.%08d,1800000.56780000,0",
                        1577836800000LL + i * 60000LL + 59999, 3673305 + i, 78077502, 3625 + i,
                        246 + i, 54123781);
            fputs(i % 3 == 0 ? "\r\n" : "\n", f);
        }
        fputs(kline ? "1600000000000,1.00000000,1.00000000,2.00000000,1.00000000,1.00000000,"
                      "1600000059999,1.00000000,1,1.00000000,1.00000000,0\n"
                    : "1600000000000,1.00000000,1.00000000,2.00000000,1.00000000,1.00000000\n",
              f);
        cr_assert_eq(fclose(f), 0);
        nd_instrument_t inst = btc();
        nd_bar_source_t *src = open_ok(path, ND_BAR_FORMAT_AUTO, &inst);
        for (int i = 0; i < ROWS; i++)
            expect_bar(src, (1577836800000LL + i * 60000LL) * 1000000,
                       (7195LL + i) * E8 + 24000000 + i, (7196LL + i * 10) * E8 + 25000000,
                       (7175LL + i) * E8 + 46000000, (7177LL + i) * E8 + 2000000 + i,
                       (int64_t)dec8_volume(i) * E8 + 81490100);
        nd_bar_t b;
        cr_assert_eq(src->next(src, &b), ND_EPARSE);
        char want[64];
        snprintf(want, sizeof want, ":%d: high 1 below low 2", ROWS + 1 + !kline);
        cr_assert(strstr(src->err, want) != NULL, "%s", src->err);
        src->close(src);
    }
    unlink(path);
}
