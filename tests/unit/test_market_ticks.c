/* Tests of the tick loaders (ticks.c), recorded depth sessions (ticks_depth.c) and the
 * synthetic tick market (synth.c), including that the synthetic bars did not change. */
#include "noderr/alloc.h"
#include "noderr/fixed.h"
#include "noderr/market.h"
#include "noderr/ticks.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static nd_instrument_t btc(void)
{
    nd_instrument_t inst;
    cr_assert_eq(nd_instrument_init(&inst, "BTC/USDT", "binance"), ND_OK);
    return inst;
}

/* Writes text to a fresh temp file and returns its path (static buffer). */
static const char *write_tmp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/nd_ticks_XXXXXX");
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    size_t n = strlen(text);
    cr_assert_eq(write(fd, text, n), (ssize_t)n);
    close(fd);
    return path;
}

/* Opens text as a tick file and reads it to the end; returns the final code, the count of
 * events, the last event and the error text. */
static nd_err_t run(const char *text, nd_tick_format_t format, const nd_instrument_t *inst,
                    int *count, nd_tick_event_t *last, char *err, size_t err_len)
{
    const char *path = write_tmp(text);
    nd_tick_source_t *src = NULL;
    *count = 0;
    err[0] = '\0';
    nd_err_t rc = nd_ticks_open(path, format, inst, &src, err, err_len);
    if (rc == ND_OK) {
        nd_tick_event_t ev;
        while ((rc = nd_ticks_next(src, &ev)) == ND_OK) {
            *last = ev;
            (*count)++;
        }
        snprintf(err, err_len, "%s", nd_ticks_error(src));
        /* Sticky: the same end again. */
        cr_assert_eq(nd_ticks_next(src, &ev), rc);
        nd_ticks_close(src);
    }
    unlink(path);
    return rc;
}

/* Expects the file to fail with code and an error mentioning ":LINE: " and the reason. */
static void expect_bad(const char *text, nd_tick_format_t format, nd_err_t code, int line,
                       const char *reason)
{
    nd_instrument_t inst = btc();
    int count;
    nd_tick_event_t last;
    char err[256];
    nd_err_t rc = run(text, format, &inst, &count, &last, err, sizeof err);
    cr_assert_eq(rc, code, "got %s (%s) for %s", nd_err_name(rc), err, text);
    char where[32];
    snprintf(where, sizeof where, ":%d: ", line);
    cr_assert(strstr(err, where) != NULL, "no %s in '%s'", where, err);
    cr_assert(strstr(err, reason) != NULL, "no '%s' in '%s'", reason, err);
}

Test(market_ticks, trades_csv)
{
    nd_instrument_t inst = btc();
    int count;
    nd_tick_event_t ev;
    char err[256];
    cr_assert_eq(run("ts,trade_id,price,qty,is_buyer_maker\n"
                     "1610064000278,553287559,39432.48,0.000263,true\n"
                     "1610064000310,553287560,39439.44,0.004376,false\n",
                     ND_TICK_FORMAT_AUTO, &inst, &count, &ev, err, sizeof err),
                 ND_EEOF, "%s", err);
    cr_assert_eq(count, 2);
    cr_assert_eq(ev.kind, ND_TICK_TRADE);
    cr_assert_eq(ev.u.trade.ts_ns, 1610064000310LL * 1000000);
    cr_assert_eq(ev.u.trade.trade_id, 553287560);
    cr_assert_eq(ev.u.trade.px, 3943944000000LL);
    cr_assert_eq(ev.u.trade.qty, 437600);
    cr_assert_eq(ev.u.trade.aggressor, ND_SIDE_BUY);
}

Test(market_ticks, trades_archive_with_and_without_header_and_us_times)
{
    nd_instrument_t inst = btc();
    int count;
    nd_tick_event_t ev;
    char err[256];
    const char *rows = "553287559,39432.48,0.000263,10.37,1610064000278,True,True\n"
                       "553287560,39439.44,0.004376,172.58,1610064000310123,False,True\n";
    cr_assert_eq(run(rows, ND_TICK_FORMAT_AUTO, &inst, &count, &ev, err, sizeof err), ND_EEOF,
                 "%s", err);
    cr_assert_eq(count, 2);
    /* The second row's time is in microseconds. */
    cr_assert_eq(ev.u.trade.ts_ns, 1610064000310123LL * 1000);
    char with_header[512];
    snprintf(with_header, sizeof with_header,
             "id,price,qty,quote_qty,time,is_buyer_maker,is_best_match\n%s", rows);
    cr_assert_eq(run(with_header, ND_TICK_FORMAT_TRADES, &inst, &count, &ev, err, sizeof err),
                 ND_EEOF, "%s", err);
    cr_assert_eq(count, 2);
}

Test(market_ticks, agg_trades_with_and_without_header)
{
    nd_instrument_t inst = btc();
    int count;
    nd_tick_event_t ev;
    char err[256];
    const char *rows = "100,39432.48,0.5,200,203,1610064000278,true,true\n"
                       "101,39432.49,0.25,204,204,1610064000278,false,true\n";
    cr_assert_eq(run(rows, ND_TICK_FORMAT_AUTO, &inst, &count, &ev, err, sizeof err), ND_EEOF,
                 "%s", err);
    cr_assert_eq(count, 2);
    cr_assert_eq(ev.u.trade.trade_id, 101);
    cr_assert_eq(ev.u.trade.aggressor, ND_SIDE_BUY);
    char with_header[512];
    snprintf(with_header, sizeof with_header,
             "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,"
             "is_buyer_maker,is_best_match\n%s",
             rows);
    cr_assert_eq(run(with_header, ND_TICK_FORMAT_AUTO, &inst, &count, &ev, err, sizeof err),
                 ND_EEOF, "%s", err);
    cr_assert_eq(count, 2);
}

Test(market_ticks, book_ticker_both_layouts)
{
    nd_instrument_t inst = btc();
    int count;
    nd_tick_event_t ev;
    char err[256];
    cr_assert_eq(run("ts,bid,bid_qty,ask,ask_qty\n1610064001076,39432.99,0.0031,39433.62,0.066851\n",
                     ND_TICK_FORMAT_AUTO, &inst, &count, &ev, err, sizeof err),
                 ND_EEOF, "%s", err);
    cr_assert_eq(count, 1);
    cr_assert_eq(ev.kind, ND_TICK_QUOTE);
    cr_assert_eq(ev.u.quote.bid_px, 3943299000000LL);
    cr_assert_eq(ev.u.quote.ask_qty, 6685100);
    cr_assert_eq(run("update_id,best_bid_price,best_bid_qty,best_ask_price,best_ask_qty,"
                     "transaction_time,event_time\n"
                     "9,1.5,2,1.6,3,1700000000000,1700000000001\n"
                     "9,1.5,1,1.6,3,1700000000000,1700000000002\n",
                     ND_TICK_FORMAT_AUTO, &inst, &count, &ev, err, sizeof err),
                 ND_EEOF, "%s", err);
    cr_assert_eq(count, 2);
    cr_assert_eq(ev.u.quote.update_id, 9);
    cr_assert_eq(run("9,1.5,2,1.6,3,1700000000000,1700000000001\n", ND_TICK_FORMAT_AUTO, &inst,
                     &count, &ev, err, sizeof err),
                 ND_EEOF, "%s", err);
    cr_assert_eq(count, 1);
}

Test(market_ticks, bad_rows_name_file_line_and_reason)
{
    const char *h = "ts,trade_id,price,qty,is_buyer_maker\n";
    char buf[512];
#define BAD(rows, code, line, reason)                                                            \
    do {                                                                                         \
        snprintf(buf, sizeof buf, "%s%s", h, rows);                                              \
        expect_bad(buf, ND_TICK_FORMAT_AUTO, code, line, reason);                                \
    } while (0)
    BAD("1,1,1.5,1,true\n2,2,1.5,1\n", ND_EPARSE, 3, "expected 5 columns, found 4");
    BAD("1,1,1.5,1,yes\n", ND_EPARSE, 2, "is_buyer_maker: expected true or false");
    BAD("1,1,1.123456789,1,true\n", ND_EPRECISION, 2, "more decimals than the price scale");
    BAD("1,1,1.5,0.000000001,true\n", ND_EPRECISION, 2, "quantity scale");
    BAD("1,1,99999999999999,1,true\n", ND_EOVERFLOW, 2, "out of range");
    BAD("1,1,0,1,true\n", ND_EPARSE, 2, "price 0 must be > 0");
    BAD("1,1,1.5,0,true\n", ND_EPARSE, 2, "qty 0 must be > 0");
    BAD("1,1,abc,1,true\n", ND_EPARSE, 2, "price: malformed number");
    BAD("x,1,1.5,1,true\n", ND_EPARSE, 2, "ts: malformed integer");
    BAD("5,1,1.5,1,true\n4,2,1.5,1,true\n", ND_EPARSE, 3, "time goes backwards");
    BAD("5,2,1.5,1,true\n5,2,1.5,1,true\n", ND_EPARSE, 3, "id 2 not after");
    BAD("5,2,1.5,1,true\n\n5,3,1.5,1,true\n", ND_EPARSE, 3, "blank line inside the data");
    BAD("9999999999999999999,1,1.5,1,true\n", ND_EPARSE, 2, "ts: malformed integer");
#undef BAD
    expect_bad("1,1.5,1,2x,1,true,true\n", ND_TICK_FORMAT_TRADES, ND_EPARSE, 1, "quote_qty");
    expect_bad("1,1.5,1,5,4,1,true,true\n", ND_TICK_FORMAT_AGG_TRADES, ND_EPARSE, 1,
               "first_trade_id 5 after last_trade_id 4");
    expect_bad("ts,bid,bid_qty,ask,ask_qty\n1,1.6,1,1.5,1\n", ND_TICK_FORMAT_AUTO, ND_EPARSE, 2,
               "crossed quote");
    expect_bad("ts,bid,bid_qty,ask,ask_qty\n1,1.5,-1,1.6,1\n", ND_TICK_FORMAT_AUTO, ND_EPARSE, 2,
               "bid_qty -1 must be >= 0");
    expect_bad("hello,world\n", ND_TICK_FORMAT_AUTO, ND_EPARSE, 1, "unknown tick format");
    expect_bad("1,1.5,1,2,1,true,true\n", ND_TICK_FORMAT_TRADES_CSV, ND_EPARSE, 1,
               "expected header");
    expect_bad("ts,bid,bid_qty,ask,ask_qty\n", ND_TICK_FORMAT_TRADES_CSV, ND_EPARSE, 1,
               "header of bookticker-csv");
}

Test(market_ticks, scale_of_the_instrument_is_used)
{
    nd_instrument_t inst = btc();
    inst.px_decimals = 2;
    inst.qty_decimals = 3;
    int count;
    nd_tick_event_t ev;
    char err[256];
    cr_assert_eq(run("ts,trade_id,price,qty,is_buyer_maker\n1,1,39432.48,0.263,true\n",
                     ND_TICK_FORMAT_AUTO, &inst, &count, &ev, err, sizeof err),
                 ND_EEOF, "%s", err);
    cr_assert_eq(ev.u.trade.px, 3943248);
    cr_assert_eq(ev.u.trade.qty, 263);
    cr_assert_eq(run("ts,trade_id,price,qty,is_buyer_maker\n1,1,39432.48,0.2631,true\n",
                     ND_TICK_FORMAT_AUTO, &inst, &count, &ev, err, sizeof err),
                 ND_EPRECISION);
}

Test(market_ticks, missing_file_is_an_error)
{
    nd_instrument_t inst = btc();
    nd_tick_source_t *src = NULL;
    char err[256];
    cr_assert_eq(nd_ticks_open("/nonexistent/x.csv", ND_TICK_FORMAT_AUTO, &inst, &src, err,
                               sizeof err),
                 ND_EIO);
    cr_assert(strstr(err, "/nonexistent/x.csv") != NULL);
}

/* A FIFO or a directory named as a tick file is refused before any open that could block (the
 * tick reader used a plain fopen, which waits forever for a FIFO's writer); the test has a
 * timeout, so a regression hangs and fails. */
Test(market_ticks, fifo_and_directory_are_refused_without_blocking, .timeout = 10)
{
    nd_instrument_t inst = btc();
    nd_tick_source_t *src = NULL;
    char fifo[64], err[256] = "";
    snprintf(fifo, sizeof fifo, "/tmp/nd_ticks_fifo_%d", (int)getpid());
    unlink(fifo);
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    nd_err_t rc = nd_ticks_open(fifo, ND_TICK_FORMAT_AUTO, &inst, &src, err, sizeof err);
    unlink(fifo);
    cr_assert_eq(rc, ND_EIO);
    cr_assert(strstr(err, "FIFO") != NULL, "%s", err);
    cr_assert_eq(nd_ticks_open("/tmp", ND_TICK_FORMAT_AUTO, &inst, &src, err, sizeof err),
                 ND_EIO);
    cr_assert(strstr(err, "is a directory") != NULL, "%s", err);
}

/* A blank line inside the data is named; blank lines at the end are the end of the data; a
 * byte order mark before the header is skipped (the line reader shared with bar files). */
Test(market_ticks, blank_lines_and_bom_through_the_shared_reader)
{
    nd_instrument_t inst = btc();
    int count = 0;
    nd_tick_event_t last;
    char err[256] = "";
    cr_assert_eq(run("\xEF\xBB\xBFts,trade_id,price,qty,is_buyer_maker\n"
                     "1700000000000,1,100.5,0.1,true\n\n\n",
                     ND_TICK_FORMAT_AUTO, &inst, &count, &last, err, sizeof err),
                 ND_EEOF, "%s", err);
    cr_assert_eq(count, 1);
    cr_assert_eq(run("ts,trade_id,price,qty,is_buyer_maker\n1700000000000,1,100.5,0.1,true\n\n"
                     "1700000000001,2,100.5,0.1,true\n",
                     ND_TICK_FORMAT_AUTO, &inst, &count, &last, err, sizeof err),
                 ND_EPARSE);
    cr_assert(strstr(err, ":3: blank line inside the data") != NULL, "%s", err);
}

static bool shared_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

Test(market_ticks, shared_trades_and_book_ticker_load)
{
    const char *trades = ND_SHARED_DIR "/data/BTCUSDT-trades-2021-01-08.csv";
    const char *quotes = ND_SHARED_DIR "/data/BTCUSDT-bookticker-2021-01-08.csv";
    if (!shared_file(trades) || !shared_file(quotes))
        cr_skip_test("the shared data (%s) is absent", ND_SHARED_DIR);
    nd_instrument_t inst = btc();
    nd_tick_source_t *src;
    char err[256];
    cr_assert_eq(nd_ticks_open(trades, ND_TICK_FORMAT_AUTO, &inst, &src, err, sizeof err), ND_OK,
                 "%s", err);
    nd_tick_event_t ev;
    int n = 0;
    int64_t first_id = -1, last_id = -1;
    nd_err_t rc;
    while ((rc = nd_ticks_next(src, &ev)) == ND_OK) {
        if (first_id < 0)
            first_id = ev.u.trade.trade_id;
        last_id = ev.u.trade.trade_id;
        n++;
    }
    cr_assert_eq(rc, ND_EEOF, "%s", nd_ticks_error(src));
    nd_ticks_close(src);
    /* SOURCES.md: 2,001 trades, ids 553287559-553289559 consecutive. */
    cr_assert_eq(n, 2001);
    cr_assert_eq(first_id, 553287559);
    cr_assert_eq(last_id, 553289559);
    cr_assert_eq(nd_ticks_open(quotes, ND_TICK_FORMAT_AUTO, &inst, &src, err, sizeof err), ND_OK,
                 "%s", err);
    n = 0;
    while ((rc = nd_ticks_next(src, &ev)) == ND_OK)
        n++;
    cr_assert_eq(rc, ND_EEOF, "%s", nd_ticks_error(src));
    cr_assert_eq(nd_ticks_format(src), ND_TICK_FORMAT_BOOK_TICKER_CSV);
    nd_ticks_close(src);
    cr_assert_eq(n, 451);
}

/* ---- depth sessions ------------------------------------------------------------------------- */

/* The integer after "key" in text, or -1. */
static int64_t json_int(const char *text, const char *key)
{
    const char *p = strstr(text, key);
    if (p == NULL)
        return -1;
    p += strlen(key);
    while (*p == '"' || *p == ':' || *p == ' ')
        p++;
    return strtoll(p, NULL, 10);
}

/* Reads the five [px, qty] pairs after key into px/qty at 8 decimals. */
static void json_top5(const char *text, const char *key, int64_t *px, int64_t *qty)
{
    const char *p = strstr(text, key);
    cr_assert(p != NULL, "no %s", key);
    p += strlen(key);
    for (int i = 0; i < 5; i++) {
        for (int k = 0; k < 2; k++) {
            p = strchr(p + 1, '"');
            cr_assert(p != NULL);
            const char *end = strchr(p + 1, '"');
            cr_assert_eq(nd_fixed_parse(p + 1, (size_t)(end - p - 1), 8, k ? &qty[i] : &px[i]),
                         ND_OK);
            p = end;
        }
    }
}

static char *slurp_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f != NULL, "%s", path);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* Replays one session into a book built only from the emitted deltas and checks it against the
 * recorder's expectations in meta.json. */
static void check_session(const char *dir)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/meta.json", dir);
    const char *meta = slurp_text(path);
    nd_instrument_t inst = btc();
    nd_depth_session_t *s;
    char err[256];
    cr_assert_eq(nd_depth_session_open(dir, &inst, &s, err, sizeof err), ND_OK, "%s", err);
    nd_book_t book;
    cr_assert_eq(nd_book_init(&book, ND_BOOK_LEVELS_MAX), ND_OK);
    nd_tick_event_t ev;
    nd_err_t rc;
    int64_t prev_ts = INT64_MIN;
    int clears = 0;
    while ((rc = nd_depth_session_next(s, &ev)) == ND_OK) {
        cr_assert_eq(ev.kind, ND_TICK_DELTA);
        cr_assert(ev.u.delta.ts_ns >= prev_ts, "time went backwards");
        prev_ts = ev.u.delta.ts_ns;
        if (ev.u.delta.flags & ND_DELTA_F_CLEAR) {
            nd_book_clear(&book);
            clears++;
        }
        cr_assert_eq(nd_book_set(&book, ev.u.delta.side, ev.u.delta.px, ev.u.delta.qty), ND_OK);
    }
    cr_assert_eq(rc, ND_EEOF, "%s: %s", dir, nd_depth_session_error(s));
    cr_assert_eq(clears, 1);
    nd_depth_session_stats_t st;
    nd_depth_session_stats(s, &st);
    cr_assert_eq((int64_t)st.events_total, json_int(meta, "\"events_total\""), "%s", dir);
    cr_assert_eq((int64_t)st.events_applied, json_int(meta, "\"events_applied\""), "%s", dir);
    cr_assert_eq((int64_t)st.events_dropped, json_int(meta, "\"events_dropped_stale\""), "%s",
                 dir);
    cr_assert_eq(st.final_update_id, json_int(meta, "\"final_update_id\""), "%s", dir);
    cr_assert_eq(st.snapshot_update_id, json_int(meta, "\"snapshot_lastUpdateId\""), "%s", dir);
    cr_assert_eq((int64_t)nd_book_levels(&book, ND_BOOK_BID), json_int(meta, "\"bid_levels\""),
                 "%s", dir);
    cr_assert_eq((int64_t)nd_book_levels(&book, ND_BOOK_ASK), json_int(meta, "\"ask_levels\""),
                 "%s", dir);
    for (int side = 0; side < 2; side++) {
        int64_t px[5], qty[5];
        json_top5(meta, side == 0 ? "\"top5_bids\"" : "\"top5_asks\"", px, qty);
        nd_book_level_t top[5];
        cr_assert_eq(nd_book_top(&book, (nd_book_side_t)side, top, 5), 5u);
        for (int i = 0; i < 5; i++) {
            cr_assert_eq(top[i].px, px[i], "%s side %d level %d", dir, side, i);
            cr_assert_eq(top[i].qty, qty[i], "%s side %d level %d", dir, side, i);
        }
    }
    /* The delta-built book equals the connector's own synced book, level for level. */
    const nd_book_t *ref = nd_depth_session_book(s);
    for (int side = 0; side < 2; side++) {
        static nd_book_level_t a[ND_BOOK_LEVELS_MAX], b[ND_BOOK_LEVELS_MAX];
        uint32_t na = nd_book_top(&book, (nd_book_side_t)side, a, ND_BOOK_LEVELS_MAX);
        uint32_t nb = nd_book_top(ref, (nd_book_side_t)side, b, ND_BOOK_LEVELS_MAX);
        cr_assert_eq(na, nb);
        cr_assert_eq(memcmp(a, b, na * sizeof a[0]), 0);
    }
    nd_book_deinit(&book);
    nd_depth_session_close(s);
}

Test(market_ticks, every_recorded_depth_session_replays_to_the_expected_book)
{
    const char *root = ND_SHARED_DIR "/fixtures/binance/depth_sync";
    DIR *d = opendir(root);
    if (d == NULL)
        cr_skip_test("the shared fixtures (%s) are absent", root);
    struct dirent *e;
    int sessions = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char dir[1024];
        snprintf(dir, sizeof dir, "%s/%s", root, e->d_name);
        check_session(dir);
        sessions++;
    }
    closedir(d);
    cr_assert(sessions >= 5, "only %d sessions", sessions);
}

/* Writes a session directory with the given snapshot and diff lines. */
static const char *make_session(const char *snapshot, const char *diffs, int before)
{
    static char dir[64];
    snprintf(dir, sizeof dir, "/tmp/nd_depth_XXXXXX");
    cr_assert(mkdtemp(dir) != NULL);
    char path[128];
    const char *names[3] = {"snapshot.json", "diffs.jsonl", "meta.json"};
    char meta[128];
    snprintf(meta, sizeof meta, "{\"diffs_received_before_snapshot\": %d}", before);
    const char *texts[3] = {snapshot, diffs, meta};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        FILE *f = fopen(path, "wb");
        fputs(texts[i], f);
        fclose(f);
    }
    return dir;
}

static nd_err_t drain_session(const char *dir, const nd_instrument_t *inst, int *deltas,
                              char *err, size_t err_len)
{
    nd_depth_session_t *s;
    nd_err_t rc = nd_depth_session_open(dir, inst, &s, err, err_len);
    if (rc != ND_OK)
        return rc;
    nd_tick_event_t ev;
    *deltas = 0;
    while ((rc = nd_depth_session_next(s, &ev)) == ND_OK)
        (*deltas)++;
    snprintf(err, err_len, "%s", nd_depth_session_error(s));
    nd_depth_session_close(s);
    return rc;
}

#define SNAP "{\"lastUpdateId\":100,\"bids\":[[\"1.00\",\"5\"]],\"asks\":[[\"1.10\",\"7\"]]}"
#define DIFF(U, u, px)                                                                           \
    "{\"e\":\"depthUpdate\",\"E\":1700000000000,\"s\":\"X\",\"U\":" #U ",\"u\":" #u              \
    ",\"b\":[[\"" px "\",\"2\"]],\"a\":[]}\n"

Test(market_ticks, depth_session_gap_is_an_error_not_papered_over)
{
    nd_instrument_t inst = btc();
    char err[256];
    int deltas;
    const char *dir = make_session(SNAP, DIFF(100, 101, "0.99") DIFF(103, 104, "0.98"), 0);
    cr_assert_eq(drain_session(dir, &inst, &deltas, err, sizeof err), ND_ESTATE);
    cr_assert(strstr(err, "diffs.jsonl:2: gap: diff U=103") != NULL, "%s", err);
    /* The snapshot (2 levels) and the first diff (1 level) came out before the gap. */
    cr_assert_eq(deltas, 3);
    /* Continuous diffs replay to the end. */
    dir = make_session(SNAP, DIFF(100, 101, "0.99") DIFF(102, 104, "0.98"), 0);
    cr_assert_eq(drain_session(dir, &inst, &deltas, err, sizeof err), ND_EEOF, "%s", err);
    cr_assert_eq(deltas, 4);
}

Test(market_ticks, depth_session_snapshot_too_old_and_precision)
{
    nd_instrument_t inst = btc();
    char err[256];
    int deltas;
    /* The buffered diff starts after lastUpdateId + 1: the snapshot cannot be bridged. */
    const char *dir = make_session(SNAP, DIFF(105, 106, "0.99"), 1);
    cr_assert_eq(drain_session(dir, &inst, &deltas, err, sizeof err), ND_ESTATE);
    cr_assert(strstr(err, "snapshot.json: lastUpdateId 100 is older than the first buffered "
                          "diff (U=105)") != NULL,
              "%s", err);
    /* A snapshot that is not one names snapshot.json. */
    dir = make_session("{\"result\":null,\"id\":1}", DIFF(100, 101, "0.99"), 0);
    cr_assert_eq(drain_session(dir, &inst, &deltas, err, sizeof err), ND_EPARSE);
    cr_assert(strstr(err, "snapshot.json: not a depth snapshot") != NULL, "%s", err);
    /* A price finer than the instrument's scale is an error, not a rounding. */
    inst.px_decimals = 1;
    dir = make_session(SNAP, DIFF(100, 101, "0.95"), 0);
    cr_assert_eq(drain_session(dir, &inst, &deltas, err, sizeof err), ND_EPRECISION, "%s", err);
    cr_assert(strstr(err, "diffs.jsonl:1: price 0.95 does not fit 1 price decimals") != NULL,
              "%s", err);
    cr_assert_eq(deltas, 2);
    /* A non-depth frame is an error naming its line. */
    inst.px_decimals = 8;
    dir = make_session(SNAP, DIFF(100, 101, "0.99") "{\"result\":null,\"id\":1}\n", 0);
    cr_assert_eq(drain_session(dir, &inst, &deltas, err, sizeof err), ND_EPARSE);
    cr_assert(strstr(err, "diffs.jsonl:2: ") != NULL, "%s", err);
}

/* ---- synthetic ticks and bars ------------------------------------------------------------- */

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

/* The bars of the synthetic market are exactly those of main before the tick generator was
 * added (hashes computed from main's library). */
Test(market_ticks, synthetic_bars_are_byte_identical)
{
    nd_instrument_t inst;
    cr_assert_eq(nd_instrument_init(&inst, "BTC/USDT", "sim"), ND_OK);
    const struct {
        uint64_t seed, hash;
    } golden[] = {{42, 0x7e8703d3ad61f843ULL}, {7, 0x4ff618c0eee68242ULL}};
    for (int i = 0; i < 2; i++) {
        nd_synth_config_t c;
        nd_synth_config_default(&c);
        c.seed = golden[i].seed;
        nd_bar_source_t *src;
        char err[256];
        cr_assert_eq(nd_synth_open(&c, &inst, &src, err, sizeof err), ND_OK);
        uint64_t h = 1469598103934665603ULL;
        nd_bar_t b;
        int n = 0;
        while (src->next(src, &b) == ND_OK) {
            h = fnv(h, &b, sizeof b);
            n++;
        }
        src->close(src);
        cr_assert_eq(n, 10000);
        cr_assert_eq(h, golden[i].hash, "seed %llu: 0x%016llx", (unsigned long long)c.seed,
                     (unsigned long long)h);
    }
}

static uint64_t ticks_hash(uint64_t seed, int64_t events)
{
    nd_instrument_t inst = btc();
    nd_synth_ticks_config_t c;
    nd_synth_ticks_config_default(&c);
    c.seed = seed;
    c.events = events;
    nd_synth_ticks_t *g;
    char err[256];
    cr_assert_eq(nd_synth_ticks_open(&c, &inst, &g, err, sizeof err), ND_OK, "%s", err);
    uint64_t h = 1469598103934665603ULL;
    nd_tick_event_t ev;
    int64_t n = 0;
    while (nd_synth_ticks_next(g, &ev) == ND_OK) {
        h = fnv(h, &ev.kind, sizeof ev.kind);
        h = fnv(h, &ev.u, sizeof ev.u);
        n++;
    }
    cr_assert_eq(n, events);
    nd_synth_ticks_close(g);
    return h;
}

Test(market_ticks, synthetic_ticks_are_deterministic)
{
    cr_assert_eq(ticks_hash(42, 20000), ticks_hash(42, 20000));
    cr_assert_neq(ticks_hash(42, 20000), ticks_hash(43, 20000));
}

/* Replays synthetic ticks into a book: never crossed after a LAST delta, trades at the best
 * level and never larger than it, levels on the tick grid. */
Test(market_ticks, synthetic_ticks_keep_a_consistent_book)
{
    nd_instrument_t inst = btc();
    nd_synth_ticks_config_t c;
    nd_synth_ticks_config_default(&c);
    c.events = 200000;
    c.levels = 20;
    c.level_qty_max = 50;
    nd_synth_ticks_t *g;
    char err[256];
    cr_assert_eq(nd_synth_ticks_open(&c, &inst, &g, err, sizeof err), ND_OK, "%s", err);
    nd_book_t book;
    cr_assert_eq(nd_book_init(&book, 1024), ND_OK);
    nd_tick_event_t ev;
    int64_t trades = 0, prev_ts = 0;
    while (nd_synth_ticks_next(g, &ev) == ND_OK) {
        cr_assert(nd_tick_ts(&ev) >= prev_ts);
        prev_ts = nd_tick_ts(&ev);
        if (ev.kind == ND_TICK_TRADE) {
            nd_book_side_t hit = ev.u.trade.aggressor == ND_SIDE_SELL ? ND_BOOK_BID : ND_BOOK_ASK;
            nd_book_level_t best;
            cr_assert(nd_book_best(&book, hit, &best));
            cr_assert_eq(ev.u.trade.px, best.px);
            cr_assert(ev.u.trade.qty <= best.qty);
            trades++;
            continue;
        }
        cr_assert_eq(ev.kind, ND_TICK_DELTA);
        if (ev.u.delta.flags & ND_DELTA_F_CLEAR)
            nd_book_clear(&book);
        cr_assert_eq(ev.u.delta.px % inst.tick_size, 0);
        cr_assert_eq(ev.u.delta.qty % inst.lot_size, 0);
        cr_assert_eq(nd_book_set(&book, ev.u.delta.side, ev.u.delta.px, ev.u.delta.qty), ND_OK);
        if (ev.u.delta.flags & ND_DELTA_F_LAST) {
            cr_assert(!nd_book_crossed(&book));
            cr_assert_eq(nd_book_levels(&book, ND_BOOK_BID), c.levels);
            cr_assert_eq(nd_book_levels(&book, ND_BOOK_ASK), c.levels);
        }
    }
    cr_assert(trades > 20000, "%lld trades", (long long)trades);
    nd_book_deinit(&book);
    nd_synth_ticks_close(g);
}
