/* test_binance.c: Binance decoding (every kind, every bad-input reason), the depth-sync rules
 * (stale drop, overlap, gap, buffering, old snapshot), HMAC signing, the exact decimal
 * helpers and the JSON tokenizer. Expected values are worked out by hand from the messages. */
#include "noderr/binance.h"
#include "noderr/venue.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_EVENTS 8

typedef struct capture {
    int count;
    nd_md_event_t ev[MAX_EVENTS];
    nd_md_level_t levels[MAX_EVENTS][8];
} capture_t;

static void cap_sink(void *ctx, const nd_md_event_t *ev)
{
    capture_t *c = ctx;
    cr_assert_lt(c->count, MAX_EVENTS);
    c->ev[c->count] = *ev;
    if (ev->kind == ND_MD_BOOK_UPDATE) {
        cr_assert_leq(ev->u.book.level_count, 8);
        memcpy(c->levels[c->count], ev->u.book.levels, ev->u.book.level_count * sizeof(nd_md_level_t));
        c->ev[c->count].u.book.levels = c->levels[c->count];
    }
    c->count++;
}

static nd_err_t decode(nd_binance_decoder_t *d, const char *msg, capture_t *c)
{
    memset(c, 0, sizeof *c);
    return nd_binance_decode(d, msg, strlen(msg), 42, cap_sink, c);
}

Test(binance_decode, combined_trade)
{
    nd_binance_decoder_t *d;
    capture_t c;
    cr_assert_eq(nd_binance_decoder_create(0, 0, &d), ND_OK);
    cr_assert_eq(decode(d, "{\"stream\":\"ethusdt@trade\",\"data\":{\"e\":\"trade\",\"E\":1639351062244,"
                           "\"s\":\"ETHUSDT\",\"t\":705291099,\"p\":\"4149.74000000\",\"q\":\"0.43870000\","
                           "\"b\":1,\"a\":2,\"T\":1639351062243,\"m\":true,\"M\":true}}", &c), ND_OK);
    cr_assert_eq(c.count, 1);
    const nd_md_event_t *e = &c.ev[0];
    cr_assert_eq(e->kind, ND_MD_TRADE);
    cr_assert_str_eq(e->symbol, "ETHUSDT");
    cr_assert_eq(e->venue_ts_ns, 1639351062244000000LL);
    cr_assert_eq(e->recv_ts_ns, 42);
    cr_assert_eq(e->u.trade.px, 414974000000LL);
    cr_assert_eq(e->u.trade.qty, 43870000LL);
    cr_assert_eq(e->u.trade.trade_id, 705291099);
    cr_assert_eq(e->u.trade.trade_ts_ns, 1639351062243000000LL);
    cr_assert_eq(e->u.trade.aggressor, ND_MD_SIDE_ASK); /* buyer was maker */
    cr_assert_eq(nd_binance_decoder_counters(d)->events, 1);
    nd_binance_decoder_destroy(d);
}

Test(binance_decode, depth_agg_bbo_kline)
{
    nd_binance_decoder_t *d;
    capture_t c;
    cr_assert_eq(nd_binance_decoder_create(0, 0, &d), ND_OK);
    cr_assert_eq(decode(d, "{\"e\":\"depthUpdate\",\"E\":1,\"s\":\"BNBBTC\",\"U\":157,\"u\":160,"
                           "\"b\":[[\"0.0024\",\"10\"]],\"a\":[[\"0.0026\",\"0.00000000\"]]}", &c), ND_OK);
    cr_assert_eq(c.ev[0].kind, ND_MD_BOOK_UPDATE);
    cr_assert_eq(c.ev[0].u.book.first_update_id, 157);
    cr_assert_eq(c.ev[0].u.book.last_update_id, 160);
    cr_assert_eq(c.ev[0].u.book.level_count, 2);
    cr_assert_eq(c.levels[0][0].side, ND_MD_SIDE_BID);
    cr_assert_eq(c.levels[0][0].px, 240000);
    cr_assert_eq(c.levels[0][0].qty, 1000000000);
    cr_assert_eq(c.levels[0][1].side, ND_MD_SIDE_ASK);
    cr_assert_eq(c.levels[0][1].qty, 0);
    cr_assert_eq(decode(d, "{\"e\":\"aggTrade\",\"E\":5,\"s\":\"X\",\"a\":12345,\"p\":\"0.001\","
                           "\"q\":\"100\",\"f\":100,\"l\":105,\"T\":6,\"m\":false,\"M\":true}", &c), ND_OK);
    cr_assert(c.ev[0].u.trade.aggregate);
    cr_assert_eq(c.ev[0].u.trade.first_trade_id, 100);
    cr_assert_eq(c.ev[0].u.trade.last_trade_id, 105);
    cr_assert_eq(c.ev[0].u.trade.aggressor, ND_MD_SIDE_BID);
    cr_assert_eq(decode(d, "{\"u\":400900217,\"s\":\"BNBUSDT\",\"b\":\"25.35190000\",\"B\":\"31.21\","
                           "\"a\":\"25.36520000\",\"A\":\"40.66000000\"}", &c), ND_OK);
    cr_assert_eq(c.ev[0].kind, ND_MD_BBO);
    cr_assert_eq(c.ev[0].u.bbo.bid_px, 2535190000LL);
    cr_assert_eq(c.ev[0].u.bbo.ask_qty, 4066000000LL);
    cr_assert_eq(c.ev[0].venue_ts_ns, 0);
    cr_assert_eq(decode(d, "{\"e\":\"kline\",\"E\":7,\"s\":\"BNBBTC\",\"k\":{\"t\":60000,\"T\":119999,"
                           "\"s\":\"BNBBTC\",\"i\":\"1m\",\"f\":1,\"L\":2,\"o\":\"0.0010\",\"c\":\"0.0020\","
                           "\"h\":\"0.0025\",\"l\":\"0.0015\",\"v\":\"1000\",\"n\":100,\"x\":true,"
                           "\"q\":\"1.0000\",\"V\":\"5\",\"Q\":\"0.5\",\"B\":\"0\"}}", &c), ND_OK);
    cr_assert_eq(c.ev[0].kind, ND_MD_BAR);
    cr_assert_eq(c.ev[0].u.bar.open_ts_ns, 60000LL * 1000000);
    cr_assert_eq(c.ev[0].u.bar.high, 250000);
    cr_assert_eq(c.ev[0].u.bar.trades, 100);
    cr_assert(c.ev[0].u.bar.closed);
    cr_assert_str_eq(c.ev[0].u.bar.interval, "1m");
    nd_binance_decoder_destroy(d);
}

Test(binance_decode, user_data)
{
    nd_binance_decoder_t *d;
    capture_t c;
    cr_assert_eq(nd_binance_decoder_create(0, 0, &d), ND_OK);
    cr_assert_eq(decode(d, "{\"subscriptionId\":0,\"event\":{\"e\":\"outboundAccountPosition\","
                           "\"E\":9,\"u\":8,\"B\":[{\"a\":\"ETH\",\"f\":\"1.5\",\"l\":\"0\"},"
                           "{\"a\":\"BTC\",\"f\":\"0.00000001\",\"l\":\"2\"}]}}", &c), ND_OK);
    cr_assert_eq(c.count, 2);
    cr_assert_str_eq(c.ev[1].u.balance.asset, "BTC");
    cr_assert_eq(c.ev[1].u.balance.free, 1);
    cr_assert_eq(c.ev[1].u.balance.locked, 200000000);
    /* One bad entry: nothing is emitted at all. */
    cr_assert_eq(decode(d, "{\"e\":\"outboundAccountPosition\",\"E\":9,\"u\":8,\"B\":[{\"a\":\"ETH\","
                           "\"f\":\"1\",\"l\":\"0\"},{\"a\":\"BTC\",\"f\":\"x\",\"l\":\"2\"}]}", &c),
                 ND_ERANGE);
    cr_assert_eq(c.count, 0);
    cr_assert_eq(decode(d, "{\"e\":\"executionReport\",\"E\":1,\"s\":\"ETHBTC\",\"c\":\"cancel1\","
                           "\"S\":\"SELL\",\"o\":\"LIMIT\",\"f\":\"GTC\",\"q\":\"2\",\"p\":\"0.1\","
                           "\"C\":\"orig7\",\"x\":\"CANCELED\",\"X\":\"CANCELED\",\"r\":\"NONE\","
                           "\"i\":99,\"l\":\"0\",\"z\":\"0.5\",\"L\":\"0\",\"n\":\"0\",\"N\":null,"
                           "\"T\":1,\"t\":-1,\"Z\":\"0.05\"}", &c), ND_OK);
    const nd_md_order_update_t *o = &c.ev[0].u.order;
    cr_assert_str_eq(o->client_order_id, "orig7");
    cr_assert_str_eq(o->venue_order_id, "99");
    cr_assert_eq(o->status, ND_MD_ORDER_CANCELED);
    cr_assert_eq(o->side, ND_MD_SIDE_ASK);
    cr_assert_eq(o->cum_qty, 50000000);
    cr_assert_eq(o->trade_id, -1);
    cr_assert_str_eq(o->fee_asset, "");
    cr_assert_eq(decode(d, "{\"e\":\"executionReport\",\"E\":1,\"s\":\"ETHBTC\",\"c\":\"n1\","
                           "\"S\":\"BUY\",\"o\":\"LIMIT\",\"q\":\"2\",\"p\":\"0.1\",\"C\":\"\","
                           "\"x\":\"REJECTED\",\"X\":\"REJECTED\",\"r\":\"INSUFFICIENT_BALANCES\","
                           "\"i\":1,\"l\":\"0\",\"z\":\"0\",\"L\":\"0\",\"n\":\"0\",\"N\":null,"
                           "\"t\":-1,\"Z\":\"0\"}", &c), ND_OK);
    cr_assert_eq(c.ev[0].u.order.reject, ND_REJECT_INSUFFICIENT_FUNDS);
    cr_assert_str_eq(c.ev[0].u.order.client_order_id, "n1");
    cr_assert_eq(decode(d, "{\"e\":\"balanceUpdate\",\"E\":3,\"a\":\"BTC\",\"d\":\"-1.25\",\"T\":2}",
                        &c), ND_OK);
    cr_assert(c.ev[0].u.balance.delta);
    cr_assert_eq(c.ev[0].u.balance.change, -125000000);
    nd_binance_decoder_destroy(d);
}

Test(binance_decode, control_messages)
{
    nd_binance_decoder_t *d;
    capture_t c;
    cr_assert_eq(nd_binance_decoder_create(0, 0, &d), ND_OK);
    cr_assert_eq(decode(d, "{\"result\":null,\"id\":1}", &c), ND_OK);
    cr_assert_eq(c.ev[0].u.status.code, ND_MD_STATUS_ACK);
    cr_assert_eq(c.ev[0].u.status.request_id, 1);
    cr_assert_eq(decode(d, "{\"error\":{\"code\":2,\"msg\":\"Invalid request\"},\"id\":20}", &c), ND_OK);
    cr_assert_eq(c.ev[0].u.status.code, ND_MD_STATUS_ERROR);
    cr_assert_eq(c.ev[0].u.status.venue_code, 2);
    cr_assert_str_eq(c.ev[0].u.status.text, "Invalid request");
    cr_assert_eq(decode(d, "{\"stream\":\"!serverShutdown\",\"data\":{\"e\":\"serverShutdown\","
                           "\"E\":1770123456789}}", &c), ND_OK);
    cr_assert_eq(c.ev[0].u.status.code, ND_MD_STATUS_SHUTDOWN);
    cr_assert_str_eq(c.ev[0].symbol, "");
    /* Partial depth has no symbol: it comes from the stream name. */
    cr_assert_eq(decode(d, "{\"stream\":\"btcusdt@depth5@100ms\",\"data\":{\"lastUpdateId\":160,"
                           "\"bids\":[[\"1\",\"2\"]],\"asks\":[]}}", &c), ND_OK);
    cr_assert(c.ev[0].u.book.snapshot);
    cr_assert_str_eq(c.ev[0].symbol, "BTCUSDT");
    nd_binance_decoder_destroy(d);
}

Test(binance_decode, bad_inputs_counted_by_reason)
{
    nd_binance_decoder_t *d;
    capture_t c;
    cr_assert_eq(nd_binance_decoder_create(4, 4096, &d), ND_OK);
    cr_assert_eq(decode(d, "{\"e\":\"trade\",\"E\":1,\"s\":\"X\",\"t\":1,\"p\":\"1", &c), ND_EEOF);
    cr_assert_eq(decode(d, "{\"e\":\"trade\",,}", &c), ND_EPARSE);
    cr_assert_eq(decode(d, "[1,2]", &c), ND_EPARSE);
    cr_assert_eq(decode(d, "{\"e\":\"24hrTicker\",\"E\":1}", &c), ND_EDECLINED);
    cr_assert_eq(decode(d, "{\"e\":\"trade\",\"E\":1,\"s\":\"X\",\"t\":1,\"p\":\"1.000000001\","
                           "\"q\":\"1\",\"T\":1,\"m\":true}", &c), ND_ERANGE);
    cr_assert_eq(decode(d, "{\"e\":\"trade\",\"E\":1,\"s\":\"X\",\"t\":1,\"q\":\"1\",\"T\":1,"
                           "\"m\":true}", &c), ND_EPARSE);
    cr_assert_eq(decode(d, "{\"e\":\"depthUpdate\",\"E\":1,\"s\":\"X\",\"U\":1,\"u\":2,\"b\":"
                           "[[\"1\",\"1\"],[\"2\",\"1\"],[\"3\",\"1\"],[\"4\",\"1\"],[\"5\",\"1\"]],"
                           "\"a\":[]}", &c), ND_EFULL);
    cr_assert_eq(decode(d, "{\"e\":\"depthUpdate\",\"E\":1,\"s\":\"X\",\"U\":9,\"u\":2,\"b\":[],"
                           "\"a\":[]}", &c), ND_EPARSE);
    cr_assert_eq(c.count, 0);
    const nd_venue_counters_t *k = nd_binance_decoder_counters(d);
    cr_assert_eq(k->bad[ND_BAD_TRUNCATED], 1);
    cr_assert_eq(k->bad[ND_BAD_MALFORMED], 2);
    cr_assert_eq(k->bad[ND_BAD_UNKNOWN_TYPE], 1);
    cr_assert_eq(k->bad[ND_BAD_NUMBER], 1);
    cr_assert_eq(k->bad[ND_BAD_MISSING_FIELD], 1);
    cr_assert_eq(k->bad[ND_BAD_TOO_LARGE], 1);
    cr_assert_eq(k->bad[ND_BAD_OUT_OF_ORDER], 1);
    cr_assert_eq(k->messages, 8);
    cr_assert_eq(k->events, 0);
    nd_binance_decoder_destroy(d);
}

/* ---- depth sync ------------------------------------------------------------------------ */

static nd_md_book_update_t diff(int64_t U, int64_t u, nd_md_level_t *l, uint32_t n)
{
    nd_md_book_update_t b = {.levels = l, .level_count = n, .first_update_id = U,
                             .last_update_id = u};
    return b;
}

Test(binance_depth, stale_overlap_and_gap)
{
    nd_binance_depth_t s;
    cr_assert_eq(nd_binance_depth_init(&s, 100, 4, 16), ND_OK);
    nd_md_level_t snap_l[2] = {{.px = 100, .qty = 5, .side = ND_MD_SIDE_BID},
                               {.px = 110, .qty = 7, .side = ND_MD_SIDE_ASK}};
    nd_md_book_update_t snap = {.levels = snap_l, .level_count = 2, .snapshot = true,
                                .first_update_id = 50, .last_update_id = 50};
    cr_assert_eq(nd_binance_depth_snapshot(&s, &snap), ND_OK);
    cr_assert_eq(s.status, ND_BINANCE_SYNC_WAIT_FIRST);
    nd_md_level_t l1 = {.px = 100, .qty = 0, .side = ND_MD_SIDE_BID};
    nd_md_book_update_t d = diff(40, 50, &l1, 1);
    cr_assert_eq(nd_binance_depth_diff(&s, &d), ND_OK); /* u <= 50: stale */
    cr_assert_eq(s.dropped, 1);
    cr_assert_eq(nd_book_qty_at(&s.book, ND_BOOK_BID, 100), 5);
    nd_md_level_t l2 = {.px = 101, .qty = 3, .side = ND_MD_SIDE_BID};
    d = diff(48, 53, &l2, 1); /* U <= 51 <= u: the first applied */
    cr_assert_eq(nd_binance_depth_diff(&s, &d), ND_OK);
    cr_assert_eq(s.status, ND_BINANCE_SYNC_OK);
    cr_assert_eq(s.last_update_id, 53);
    d = diff(52, 55, &l1, 1); /* overlaps the previous diff: U <= 54 */
    cr_assert_eq(nd_binance_depth_diff(&s, &d), ND_OK);
    cr_assert_eq(nd_book_qty_at(&s.book, ND_BOOK_BID, 100), 0);
    cr_assert_eq(s.applied, 2);
    d = diff(57, 58, &l2, 1); /* 56 missing: gap */
    cr_assert_eq(nd_binance_depth_diff(&s, &d), ND_ESTATE);
    cr_assert_eq(s.status, ND_BINANCE_SYNC_RESYNC);
    cr_assert_eq(s.gaps, 1);
    cr_assert_eq(s.last_update_id, 55);
    nd_binance_depth_deinit(&s);
}

Test(binance_depth, first_event_must_bridge_snapshot)
{
    nd_binance_depth_t s;
    cr_assert_eq(nd_binance_depth_init(&s, 100, 4, 16), ND_OK);
    nd_md_book_update_t snap = {.snapshot = true, .first_update_id = 50, .last_update_id = 50};
    cr_assert_eq(nd_binance_depth_snapshot(&s, &snap), ND_OK);
    nd_md_book_update_t d = diff(52, 60, NULL, 0);
    cr_assert_eq(nd_binance_depth_diff(&s, &d), ND_ESTATE);
    cr_assert_eq(s.status, ND_BINANCE_SYNC_RESYNC);
    nd_binance_depth_deinit(&s);
}

Test(binance_depth, buffered_then_snapshot)
{
    nd_binance_depth_t s;
    cr_assert_eq(nd_binance_depth_init(&s, 100, 2, 4), ND_OK);
    nd_md_level_t a = {.px = 200, .qty = 9, .side = ND_MD_SIDE_ASK};
    nd_md_book_update_t d1 = diff(10, 20, &a, 1), d2 = diff(21, 25, &a, 1), d3 = diff(26, 27, &a, 1);
    cr_assert_eq(nd_binance_depth_diff(&s, &d1), ND_OK);
    cr_assert_eq(nd_binance_depth_diff(&s, &d2), ND_OK);
    cr_assert_eq(s.first_buffered_U, 10);
    /* A snapshot older than the buffer cannot be bridged: fetch another. */
    nd_md_book_update_t old = {.snapshot = true, .first_update_id = 5, .last_update_id = 5};
    cr_assert_eq(nd_binance_depth_snapshot(&s, &old), ND_EAGAIN);
    cr_assert_eq(s.status, ND_BINANCE_SYNC_BUFFERING);
    nd_md_book_update_t snap = {.snapshot = true, .first_update_id = 22, .last_update_id = 22};
    cr_assert_eq(nd_binance_depth_snapshot(&s, &snap), ND_OK);
    cr_assert_eq(s.dropped, 1);
    cr_assert_eq(s.applied, 1);
    cr_assert_eq(s.last_update_id, 25);
    cr_assert_eq(nd_book_qty_at(&s.book, ND_BOOK_ASK, 200), 9);
    /* The buffer holds 2 events: a third before the snapshot overflows into RESYNC. */
    nd_binance_depth_reset(&s);
    cr_assert_eq(nd_binance_depth_diff(&s, &d1), ND_OK);
    cr_assert_eq(nd_binance_depth_diff(&s, &d2), ND_OK);
    cr_assert_eq(nd_binance_depth_diff(&s, &d3), ND_EFULL);
    cr_assert_eq(s.status, ND_BINANCE_SYNC_RESYNC);
    nd_binance_depth_deinit(&s);
}

/* ---- signing, decimals, JSON ------------------------------------------------------------ */

Test(binance_sign, hmac_vectors)
{
    char hex[65];
    /* Computed with `openssl dgst -sha256 -hmac k3y`. */
    const char *q = "symbol=BTCUSDT&side=SELL";
    cr_assert_eq(nd_binance_sign("k3y", 3, q, strlen(q), NULL, 0, hex), ND_OK);
    cr_assert_str_eq(hex, "6a311375fd18c5623d99983331bd61dd6fc39dd9120046e503196561061fb172");
    cr_assert_eq(nd_binance_sign("k3y", 3, "symbol=BTCUSDT", 14, "quantity=1&price=2", 18, hex), ND_OK);
    cr_assert_str_eq(hex, "a2df1d695e3fbd89df83feb1fed3fb4bd4e61583a3a06429b95a6555daef44d8");
}

Test(binance_sign, shared_known_answer)
{
    const char *path = ND_SHARED_DIR "/fixtures/binance/signing/hmac_sha256_kat_1_ascii.json";
    struct stat st;
    if (stat(path, &st) != 0)
        cr_skip_test("%s absent", path);
    char buf[4096];
    FILE *f = fopen(path, "rb");
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    nd_jtok_t tok[128];
    uint32_t count;
    cr_assert_eq(nd_json_tokenize(buf, n, tok, 128, &count), ND_OK);
    char secret[128], payload[512], want[80], hex[65];
    nd_json_copy(buf, &tok[nd_json_get(buf, tok, 0, "secretKey")], secret, sizeof secret);
    nd_json_copy(buf, &tok[nd_json_get(buf, tok, 0, "signaturePayload")], payload, sizeof payload);
    nd_json_copy(buf, &tok[nd_json_get(buf, tok, 0, "signature")], want, sizeof want);
    cr_assert_eq(nd_binance_sign(secret, strlen(secret), payload, strlen(payload), "", 0, hex), ND_OK);
    cr_assert_str_eq(hex, want);
}

Test(venue, decimal_parse_and_format)
{
    int64_t v;
    cr_assert_eq(nd_venue_decimal("0.00006547", 10, 8, &v), ND_OK);
    cr_assert_eq(v, 6547);
    cr_assert_eq(nd_venue_decimal("-12.5", 5, 8, &v), ND_OK);
    cr_assert_eq(v, -1250000000LL);
    cr_assert_eq(nd_venue_decimal("1.000000000", 11, 8, &v), ND_OK);
    cr_assert_eq(v, 100000000);
    cr_assert_eq(nd_venue_decimal("1.000000001", 11, 8, &v), ND_EPRECISION);
    cr_assert_eq(nd_venue_decimal("1e5", 3, 8, &v), ND_EPARSE);
    cr_assert_eq(nd_venue_decimal("", 0, 8, &v), ND_EPARSE);
    cr_assert_eq(nd_venue_decimal("1.2.3", 5, 8, &v), ND_EPARSE);
    cr_assert_eq(nd_venue_decimal("99999999999999999999", 20, 8, &v), ND_EOVERFLOW);
    char buf[32];
    nd_venue_format(6547, 8, 8, buf, sizeof buf);
    cr_assert_str_eq(buf, "0.00006547");
    nd_venue_format(1473660000, 8, 4, buf, sizeof buf);
    cr_assert_str_eq(buf, "14.7366");
    nd_venue_format(123456789, 8, 2, buf, sizeof buf); /* never hides digits */
    cr_assert_str_eq(buf, "1.23456789");
    nd_venue_format(-500000000, 8, 0, buf, sizeof buf);
    cr_assert_str_eq(buf, "-5");
    cr_assert_eq(nd_venue_decimal_places("14.7300", 7), 4);
    cr_assert_eq(nd_venue_decimal_places("7", 1), 0);
}

Test(venue, json_tokenizer)
{
    nd_jtok_t t[32];
    uint32_t n;
    const char *s = " {\"a\":[1,{\"b\":\"x\\\"y\"}],\"c\":true, \"d\":null} ";
    cr_assert_eq(nd_json_tokenize(s, strlen(s), t, 32, &n), ND_OK);
    cr_assert_eq(n, 11);
    cr_assert_eq(t[0].type, ND_J_OBJECT);
    cr_assert_eq(t[0].size, 3);
    uint32_t a = nd_json_get(s, t, 0, "a");
    cr_assert_eq(t[a].type, ND_J_ARRAY);
    cr_assert_eq(t[a].next, 7);
    cr_assert_eq(t[nd_json_get(s, t, 0, "c")].type, ND_J_TRUE);
    cr_assert_eq(nd_json_get(s, t, 0, "zz"), 0);
    /* Asking an array or a number for a key is "absent", never a fault. */
    cr_assert_eq(nd_json_get(s, t, a, "b"), 0);
    cr_assert_eq(nd_json_get(s, t, a + 1, "b"), 0);
    cr_assert(t[6].escaped);
    cr_assert_eq(nd_json_tokenize("{\"a\":1", 6, t, 32, &n), ND_EEOF);
    cr_assert_eq(nd_json_tokenize("{\"a\":01}", 8, t, 32, &n), ND_EPARSE);
    cr_assert_eq(nd_json_tokenize("{} x", 4, t, 32, &n), ND_EPARSE);
    cr_assert_eq(nd_json_tokenize("\"a\x01\"", 4, t, 32, &n), ND_EPARSE);
    cr_assert_eq(nd_json_tokenize("[1,2,3]", 7, t, 3, &n), ND_EFULL);
    cr_assert_eq(nd_json_tokenize("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", 67,
                                  t, 32, &n), ND_EFULL);
    int64_t v;
    cr_assert_eq(nd_json_int("-9223372036854775807", &(nd_jtok_t){.start = 0, .end = 20,
                                                                  .type = ND_J_NUMBER}, &v), ND_OK);
    cr_assert_eq(v, -9223372036854775807LL);
}

/* ---- hostile input (issue 10): strings decoded whole or refused, values in range ---- */

Test(venue, json_string_escapes_and_bounds)
{
    static const char text[] = "[\"A\\nB\\\"\\\\\\/\\t\", \"\\u00e9\\u20ac\", \"\\ud83d\\ude00\","
                               "\"\\udc00x\", \"\\ud800\", \"\\ud800\\u0041\", \"abcdef\"]";
    nd_jtok_t tok[16];
    uint32_t count;
    cr_assert_eq(nd_json_tokenize(text, strlen(text), tok, 16, &count), ND_OK);
    char buf[32];
    size_t len;
    cr_assert_eq(nd_json_string(text, &tok[1], buf, sizeof buf, &len), ND_OK);
    cr_assert_str_eq(buf, "A\nB\"\\/\t");
    cr_assert_eq(len, 7);
    cr_assert_eq(nd_json_string(text, &tok[2], buf, sizeof buf, &len), ND_OK);
    cr_assert_str_eq(buf, "\xc3\xa9\xe2\x82\xac");
    cr_assert_eq(nd_json_string(text, &tok[3], buf, sizeof buf, &len), ND_OK);
    cr_assert_str_eq(buf, "\xf0\x9f\x98\x80"); /* a surrogate pair is one code point */
    cr_assert_eq(nd_json_string(text, &tok[4], buf, sizeof buf, &len), ND_EPARSE);
    cr_assert_eq(nd_json_string(text, &tok[5], buf, sizeof buf, &len), ND_EPARSE);
    cr_assert_eq(nd_json_string(text, &tok[6], buf, sizeof buf, &len), ND_EPARSE);
    /* Exactly fits (6 + NUL), one byte short: refused with the whole-character prefix. */
    cr_assert_eq(nd_json_string(text, &tok[7], buf, 7, &len), ND_OK);
    cr_assert_eq(nd_json_string(text, &tok[7], buf, 6, &len), ND_EFULL);
    cr_assert_str_eq(buf, "abcde");
    cr_assert_eq(nd_json_string(text, &tok[3], buf, 4, &len), ND_EFULL);
    cr_assert_str_eq(buf, ""); /* never half a character */
}

Test(binance_decode, escapes_decoded_and_long_strings_refused)
{
    nd_binance_decoder_t *d;
    capture_t c;
    cr_assert_eq(nd_binance_decoder_create(0, 0, &d), ND_OK);
    /* Regression: "A\nB" came out as "AnB". */
    cr_assert_eq(decode(d, "{\"e\":\"trade\",\"E\":1,\"s\":\"A\\nB\\u00e9\\ud83d\\ude00\",\"t\":1,"
                           "\"p\":\"1\",\"q\":\"1\",\"T\":1,\"m\":true}", &c), ND_OK);
    cr_assert_str_eq(c.ev[0].symbol, "A\nB\xc3\xa9\xf0\x9f\x98\x80");
    cr_assert_eq(decode(d, "{\"e\":\"trade\",\"E\":1,\"s\":\"A\\ud800\",\"t\":1,"
                           "\"p\":\"1\",\"q\":\"1\",\"T\":1,\"m\":true}", &c), ND_EPARSE);
    cr_assert_eq(nd_binance_decoder_counters(d)->bad[ND_BAD_BAD_STRING], 1);
    /* Regression: a 40-character symbol came out cut to 31, on both paths. */
    static const char *const long_sym[] = {
        "{\"e\":\"trade\",\"E\":1,\"s\":\"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCD\",\"t\":1,"
        "\"p\":\"1\",\"q\":\"1\",\"T\":1,\"m\":true}",
        "{\"e\":\"trade\", \"E\":1,\"s\":\"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345\",\"t\":1,"
        "\"p\":\"1\",\"q\":\"1\",\"T\":1,\"m\":true}",
        "{\"stream\":\"abcdefghijklmnopqrstuvwxyz0123456789@trade\",\"data\":{\"e\":\"kline\","
        "\"E\":1,\"s\":\"X\",\"k\":{}}}",
        "{\"e\":\"depthUpdate\",\"E\":1,\"s\":\"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345\",\"U\":1,\"u\":2,"
        "\"b\":[],\"a\":[]}",
    };
    for (size_t i = 0; i < sizeof long_sym / sizeof long_sym[0]; i++)
        cr_assert_neq(decode(d, long_sym[i], &c), ND_OK, "case %zu", i);
    cr_assert_eq(nd_binance_decoder_counters(d)->bad[ND_BAD_TOO_LONG], 4);
    /* 31 characters fit. */
    cr_assert_eq(decode(d, "{\"e\":\"trade\",\"E\":1,\"s\":\"ABCDEFGHIJKLMNOPQRSTUVWXYZ01234\","
                           "\"t\":1,\"p\":\"1\",\"q\":\"1\",\"T\":1,\"m\":true}", &c), ND_OK);
    cr_assert_str_eq(c.ev[0].symbol, "ABCDEFGHIJKLMNOPQRSTUVWXYZ01234");
    nd_binance_decoder_destroy(d);
}

Test(binance_decode, every_documented_execution_type_fits)
{
    /* Regression: TRADE_PREVENTION came out as TRADE_PREVENTIO (a 16-byte field). */
    static const char *const types[] = {"NEW", "CANCELED", "REPLACED", "REJECTED", "TRADE",
                                        "EXPIRED", "TRADE_PREVENTION", "AMENDMENT"};
    nd_binance_decoder_t *d;
    capture_t c;
    char msg[512];
    cr_assert_eq(nd_binance_decoder_create(0, 0, &d), ND_OK);
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        snprintf(msg, sizeof msg,
                 "{\"e\":\"executionReport\",\"E\":1,\"s\":\"ETHBTC\",\"c\":\"n1\",\"S\":\"BUY\","
                 "\"o\":\"TAKE_PROFIT_LIMIT\",\"q\":\"2\",\"p\":\"0.1\",\"C\":\"\",\"x\":\"%s\","
                 "\"X\":\"EXPIRED_IN_MATCH\",\"r\":\"NONE\",\"i\":1,\"l\":\"0\",\"z\":\"0\","
                 "\"L\":\"0\",\"n\":\"0\",\"N\":null,\"t\":-1,\"Z\":\"0\"}", types[i]);
        cr_assert_eq(decode(d, msg, &c), ND_OK, "%s", types[i]);
        cr_assert_str_eq(c.ev[0].u.order.exec_type, types[i]);
        cr_assert_str_eq(c.ev[0].u.order.order_type, "TAKE_PROFIT_LIMIT");
    }
    /* A value longer than any field holds is refused, not cut. */
    cr_assert_eq(decode(d, "{\"e\":\"executionReport\",\"E\":1,\"s\":\"ETHBTC\",\"c\":\"n1\","
                           "\"S\":\"BUY\",\"o\":\"LIMIT\",\"q\":\"2\",\"p\":\"0.1\",\"C\":\"\","
                           "\"x\":\"A_VERY_LONG_EXECUTION_TYPE_NAME\",\"X\":\"NEW\",\"r\":\"NONE\","
                           "\"i\":1,\"l\":\"0\",\"z\":\"0\",\"L\":\"0\",\"n\":\"0\",\"N\":null,"
                           "\"t\":-1,\"Z\":\"0\"}", &c), ND_EPARSE);
    cr_assert_eq(nd_binance_decoder_counters(d)->bad[ND_BAD_TOO_LONG], 1);
    nd_binance_decoder_destroy(d);
}

Test(binance_decode, out_of_range_values_refused)
{
    static const char *const bad[] = {
        /* a trade of size 0, both layouts (fast path, then generic) */
        "{\"e\":\"trade\",\"E\":1,\"s\":\"X\",\"t\":1,\"p\":\"1\",\"q\":\"0\",\"T\":1,\"m\":true}",
        "{\"e\":\"trade\", \"E\":1,\"s\":\"X\",\"t\":1,\"p\":\"1\",\"q\":\"-1\",\"T\":1,\"m\":true}",
        "{\"e\":\"aggTrade\",\"E\":1,\"s\":\"X\",\"a\":1,\"p\":\"0\",\"q\":\"1\",\"f\":1,\"l\":1,"
        "\"T\":1,\"m\":true}",
        "{\"e\":\"depthUpdate\",\"E\":1,\"s\":\"X\",\"U\":1,\"u\":2,\"b\":[[\"0\",\"1\"]],\"a\":[]}",
        "{\"e\":\"depthUpdate\",\"E\":1,\"s\":\"X\",\"U\":1,\"u\":2,\"b\":[[\"1\",\"-1\"]],\"a\":[]}",
        "{\"u\":5,\"s\":\"X\",\"b\":\"-1\",\"B\":\"1\",\"a\":\"2\",\"A\":\"1\"}",
        "{\"e\":\"kline\",\"E\":1,\"s\":\"X\",\"k\":{\"t\":0,\"T\":59999,\"i\":\"1m\",\"o\":\"0\","
        "\"h\":\"1\",\"l\":\"1\",\"c\":\"1\",\"v\":\"1\",\"q\":\"1\",\"n\":1,\"x\":false}}",
    };
    nd_binance_decoder_t *d;
    capture_t c;
    cr_assert_eq(nd_binance_decoder_create(0, 0, &d), ND_OK);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(decode(d, bad[i], &c), ND_ERANGE, "case %zu", i);
        cr_assert_eq(c.count, 0);
    }
    cr_assert_eq(nd_binance_decoder_counters(d)->bad[ND_BAD_OUT_OF_RANGE], sizeof bad / sizeof bad[0]);
    nd_binance_decoder_destroy(d);
}

Test(binance_decode, snapshot_unsorted_or_crossed_refused)
{
    nd_binance_decoder_t *d;
    capture_t c;
    cr_assert_eq(nd_binance_decoder_create(0, 0, &d), ND_OK);
    cr_assert_eq(decode(d, "{\"lastUpdateId\":5,\"bids\":[[\"1\",\"1\"],[\"2\",\"1\"]],\"asks\":[]}",
                        &c), ND_EPARSE);
    cr_assert_eq(decode(d, "{\"lastUpdateId\":5,\"bids\":[],\"asks\":[[\"3\",\"1\"],[\"3\",\"2\"]]}",
                        &c), ND_EPARSE);
    cr_assert_eq(nd_binance_decoder_counters(d)->bad[ND_BAD_UNSORTED], 2);
    cr_assert_eq(decode(d, "{\"lastUpdateId\":5,\"bids\":[[\"3\",\"1\"]],\"asks\":[[\"3\",\"1\"]]}",
                        &c), ND_EPARSE);
    cr_assert_eq(nd_binance_decoder_counters(d)->bad[ND_BAD_CROSSED], 1);
    cr_assert_eq(c.count, 0);
    nd_binance_decoder_destroy(d);
}

Test(binance_depth, crossed_or_full_book_is_a_resync)
{
    nd_binance_depth_t s;
    cr_assert_eq(nd_binance_depth_init(&s, 2, 4, 16), ND_OK);
    nd_md_level_t snap_l[2] = {{.px = 100, .qty = 5, .side = ND_MD_SIDE_BID},
                               {.px = 110, .qty = 7, .side = ND_MD_SIDE_ASK}};
    nd_md_book_update_t snap = {.levels = snap_l, .level_count = 2, .snapshot = true,
                                .first_update_id = 50, .last_update_id = 50};
    cr_assert_eq(nd_binance_depth_snapshot(&s, &snap), ND_OK);
    nd_md_level_t x = {.px = 110, .qty = 1, .side = ND_MD_SIDE_BID};
    nd_md_book_update_t d = diff(51, 51, &x, 1);
    cr_assert_eq(nd_binance_depth_diff(&s, &d), ND_ERANGE);
    cr_assert_eq(s.status, ND_BINANCE_SYNC_RESYNC);
    cr_assert_eq(s.crossed, 1);
    nd_binance_depth_reset(&s);
    cr_assert_eq(nd_binance_depth_snapshot(&s, &snap), ND_OK);
    nd_md_level_t more[2] = {{.px = 99, .qty = 1, .side = ND_MD_SIDE_BID},
                             {.px = 98, .qty = 1, .side = ND_MD_SIDE_BID}};
    d = diff(51, 51, more, 2);
    cr_assert_eq(nd_binance_depth_diff(&s, &d), ND_EFULL);
    cr_assert_eq(s.status, ND_BINANCE_SYNC_RESYNC);
    cr_assert_eq(s.full, 1);
    /* A crossed snapshot is refused: still buffering, book empty. */
    nd_binance_depth_reset(&s);
    nd_md_level_t bad_l[2] = {{.px = 120, .qty = 5, .side = ND_MD_SIDE_BID},
                              {.px = 110, .qty = 7, .side = ND_MD_SIDE_ASK}};
    nd_md_book_update_t bad = {.levels = bad_l, .level_count = 2, .snapshot = true,
                               .first_update_id = 50, .last_update_id = 50};
    cr_assert_eq(nd_binance_depth_snapshot(&s, &bad), ND_ERANGE);
    cr_assert_eq(s.status, ND_BINANCE_SYNC_BUFFERING);
    cr_assert_eq(nd_book_levels(&s.book, ND_BOOK_BID), 0);
    nd_binance_depth_deinit(&s);
}
