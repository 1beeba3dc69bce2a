/* test_coinbase_ws.c: the Coinbase WebSocket clients (cb_ws.c over ws.c) against a scripted
 * libwebsockets server on 127.0.0.1 in the same process, replaying the recordings under
 * ../shared/fixtures/coinbase (skipped when absent).
 *
 * Advanced Trade: the server checks the five subscribe messages (heartbeats first, one channel
 * each, product_ids, a JWT only on `user`, verified with the test's public key), replays
 * fixture frames restamped with its own sequence_num, skips one number (the client must
 * unsubscribe and resubscribe every channel and rebuild the book from the new snapshot), then
 * closes (the client must reconnect, subscribe again and start a fresh sequence).
 * Coinbase Exchange: the server checks the authenticated subscribe (signature worked out with
 * python3 hmac), replays the NU-GBP level2 session and the SKL-USD ticker/match session, a
 * duplicate match and a trade-id jump, closes, and replays a stale last_match after the
 * reconnect. Both runs log at DEBUG into memory, and no secret may appear in the logs, the
 * errors or the frames (the Exchange key and passphrase belong in its subscribe by protocol). */
#include "noderr/coinbase.h"
#include "noderr/log.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <libwebsockets.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FIX ND_SHARED_DIR "/fixtures/coinbase"
#define T0_S 1700000000LL
#define RX_MAX 40
#define TX_MAX 1024

/* ---- A scripted server ---------------------------------------------------------------------- */

typedef struct srv {
    int conn_no;
    char *rx[RX_MAX];      /* text frames received, in order, over all connections */
    int rx_conn[RX_MAX];
    int rx_count;
    char *tx[TX_MAX];      /* frames to send on the current connection, in order */
    int tx_count, tx_pos;
    bool close_when_sent;
    struct lws *wsi;
} srv_t;

static srv_t srv;

static void srv_queue(const char *text)
{
    cr_assert_lt(srv.tx_count, TX_MAX);
    srv.tx[srv.tx_count++] = strdup(text);
    if (srv.wsi)
        lws_callback_on_writable(srv.wsi);
}

static int srv_writeable(struct lws *wsi)
{
    if (srv.tx_pos == srv.tx_count) {
        if (!srv.close_when_sent)
            return 0;
        srv.close_when_sent = false;
        lws_close_reason(wsi, LWS_CLOSE_STATUS_GOINGAWAY, (unsigned char *)"bye", 3);
        return -1;
    }
    const char *t = srv.tx[srv.tx_pos++];
    size_t n = strlen(t);
    unsigned char *buf = malloc(LWS_PRE + n);
    memcpy(buf + LWS_PRE, t, n);
    int rc = lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT);
    free(buf);
    lws_callback_on_writable(wsi);
    return rc < 0 ? -1 : 0;
}

static int srv_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len)
{
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        srv.conn_no++;
        srv.wsi = wsi;
        break;
    case LWS_CALLBACK_RECEIVE:
        if (srv.rx_count < RX_MAX) {
            srv.rx[srv.rx_count] = strndup(in, len);
            srv.rx_conn[srv.rx_count++] = srv.conn_no;
        }
        break;
    case LWS_CALLBACK_CLOSED:
        if (wsi == srv.wsi)
            srv.wsi = NULL;
        break;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return srv_writeable(wsi);
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols srv_protocols[] = {
    {"coinbase", srv_cb, 0, 1 << 16, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static struct lws_context *srv_start(char *url, size_t cap)
{
    memset(&srv, 0, sizeof srv);
    lws_set_log_level(LLL_ERR, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = 0;
    info.iface = "127.0.0.1";
    info.protocols = srv_protocols;
    info.gid = -1;
    info.uid = -1;
    struct lws_context *ctx = lws_create_context(&info);
    cr_assert_not_null(ctx);
    int port = lws_get_vhost_listen_port(lws_get_vhost_by_name(ctx, "default"));
    cr_assert_gt(port, 0);
    snprintf(url, cap, "ws://127.0.0.1:%d", port);
    return ctx;
}

static void srv_stop(struct lws_context *ctx)
{
    lws_context_destroy(ctx);
    for (int i = 0; i < srv.rx_count; i++)
        free(srv.rx[i]);
    for (int i = 0; i < srv.tx_count; i++)
        free(srv.tx[i]);
}

/* ---- Helpers --------------------------------------------------------------------------------- */

static int64_t test_mono(void *ctx)
{
    (void)ctx;
    return nd_clock_mono_ns(nd_clock_os());
}

/* Wall time stands still, so receive times and JWT/auth timestamps are exact. */
static int64_t test_real(void *ctx)
{
    (void)ctx;
    return T0_S * ND_NS_PER_SEC;
}

static nd_clock_t test_clock = {test_mono, test_real, NULL};

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    size_t got = fread(b, 1, (size_t)n, f);
    b[got] = '\0';
    fclose(f);
    return b;
}

/* A fixture envelope restamped with the server's own sequence_num, compact. */
static char *restamp(const char *path, int seq)
{
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    cr_assert_not_null(j, "%s: %s", path, e.text);
    json_object_set_new(j, "sequence_num", json_integer(seq));
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    return s;
}

static void queue_restamped(const char *path, int seq)
{
    char *s = restamp(path, seq);
    srv_queue(s);
    free(s);
}

static void queue_l2(int seq, const char *type, const char *updates)
{
    char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"channel\":\"l2_data\",\"client_id\":\"\",\"timestamp\":\"2023-02-09T20:32:5%d.0Z\","
             "\"sequence_num\":%d,\"events\":[{\"type\":\"%s\",\"product_id\":\"BTC-USD\","
             "\"updates\":[%s]}]}", seq % 10, seq, type, updates);
    srv_queue(buf);
}

#define LV(side, px, qty)                                                                          \
    "{\"side\":\"" side "\",\"event_time\":\"2023-02-09T20:32:50Z\",\"price_level\":\"" px        \
    "\",\"new_quantity\":\"" qty "\"}"

static void make_key(char *priv, size_t priv_cap, char *pub, size_t pub_cap)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    cr_assert_not_null(key);
    BIO *b = BIO_new(BIO_s_mem());
    cr_assert(PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL));
    priv[BIO_read(b, priv, (int)priv_cap - 1)] = '\0';
    BIO_free(b);
    b = BIO_new(BIO_s_mem());
    cr_assert(PEM_write_bio_PUBKEY(b, key));
    pub[BIO_read(b, pub, (int)pub_cap - 1)] = '\0';
    BIO_free(b);
    EVP_PKEY_free(key);
}

/* Drives client and server until done() or the time limit. */
static void run_until(nd_coinbase_stream_t *s, struct lws_context *sctx, bool (*done)(void),
                      int ms_max)
{
    for (int i = 0; i < ms_max * 2 && !done(); i++) {
        nd_coinbase_stream_service(s, 0);
        lws_service(sctx, -1);
        usleep(500);
    }
}

typedef struct got {
    nd_coinbase_stream_t *s;
    int trades, bbos, books, heartbeats, acks;
    int64_t recv_ts_bad;       /* events whose recv_ts_ns is not the clock's */
    int64_t ticker_venue_ts;
    /* Advanced Trade: the book right after sequence 2 and sequence 8 */
    nd_book_level_t after2_bid;
    uint32_t after8_bids, after8_asks;
    nd_book_level_t after8_bid, after8_ask;
    /* Exchange: the NU-GBP book as the SKL-USD session starts */
    bool nu_seen;
    uint32_t nu_bids, nu_asks;
    nd_book_level_t nu_top_bids[5], nu_top_asks[5];
    int64_t last_trade_id;
} got_t;

static got_t got;

static void sink(void *ctx, const nd_md_event_t *ev)
{
    got_t *g = ctx;
    g->recv_ts_bad += ev->recv_ts_ns != T0_S * ND_NS_PER_SEC;
    g->trades += ev->kind == ND_MD_TRADE;
    g->bbos += ev->kind == ND_MD_BBO;
    g->books += ev->kind == ND_MD_BOOK_UPDATE;
    g->heartbeats += ev->kind == ND_MD_STATUS && ev->u.status.code == ND_MD_STATUS_HEARTBEAT;
    g->acks += ev->kind == ND_MD_STATUS && ev->u.status.code == ND_MD_STATUS_ACK;
    if (ev->kind == ND_MD_BBO && g->ticker_venue_ts == 0)
        g->ticker_venue_ts = ev->venue_ts_ns;
    if (ev->kind == ND_MD_TRADE)
        g->last_trade_id = ev->u.trade.trade_id;
    const nd_book_t *b = nd_coinbase_stream_book(g->s, "BTC-USD");
    if (ev->kind == ND_MD_BOOK_UPDATE && ev->u.book.last_update_id == 2 && b)
        nd_book_best(b, ND_BOOK_BID, &g->after2_bid);
    if (ev->kind == ND_MD_BOOK_UPDATE && ev->u.book.last_update_id == 8 && b) {
        g->after8_bids = nd_book_levels(b, ND_BOOK_BID);
        g->after8_asks = nd_book_levels(b, ND_BOOK_ASK);
        nd_book_best(b, ND_BOOK_BID, &g->after8_bid);
        nd_book_best(b, ND_BOOK_ASK, &g->after8_ask);
    }
    b = nd_coinbase_stream_book(g->s, "NU-GBP");
    if (!g->nu_seen && strcmp(ev->symbol, "SKL-USD") == 0 && b) {
        g->nu_seen = true;
        g->nu_bids = nd_book_levels(b, ND_BOOK_BID);
        g->nu_asks = nd_book_levels(b, ND_BOOK_ASK);
        nd_book_top(b, ND_BOOK_BID, g->nu_top_bids, 5);
        nd_book_top(b, ND_BOOK_ASK, g->nu_top_asks, 5);
    }
}

static int64_t px(const char *text)
{
    int64_t v;
    cr_assert_eq(nd_venue_decimal(text, strlen(text), ND_VENUE_DECIMALS, &v), ND_OK, "%s", text);
    return v;
}

/* None of the secret strings may appear in text. */
static void assert_no_secret(const char *text, const char *const *secrets, int n, const char *where)
{
    for (int i = 0; i < n; i++)
        cr_assert_null(strstr(text, secrets[i]), "secret #%d leaked into %s", i, where);
}

/* ---- Advanced Trade ---------------------------------------------------------------------------- */

static bool at_phase0(void) { return srv.conn_no == 1 && srv.rx_count >= 5; }
static bool at_phase1(void) { return srv.rx_count >= 13; }
static bool at_phase2(void) { return srv.conn_no == 2 && srv.rx_count >= 18; }
static bool at_phase3(void)
{
    nd_coinbase_stream_stats_t st;
    nd_coinbase_stream_stats(got.s, &st);
    return st.snapshots == 3;
}

static bool at_book_dropped(void)
{
    nd_coinbase_stream_stats_t st;
    nd_coinbase_stream_stats(got.s, &st);
    return st.books_dropped == 1;
}

static json_t *rx_json(int i)
{
    json_error_t e;
    json_t *j = json_loads(srv.rx[i], 0, &e);
    cr_assert_not_null(j, "frame %d is not JSON: %s", i, srv.rx[i]);
    return j;
}

/* Frame i is a (un)subscribe of channel with the test's products (none for heartbeats), and a
 * verifiable JWT exactly when the channel is `user`. Returns the JWT's nonce-bearing header. */
static void check_at_frame(int i, const char *type, const char *channel, const char *pub,
                           const char *key_name)
{
    json_t *j = rx_json(i);
    cr_assert_str_eq(json_string_value(json_object_get(j, "type")), type, "frame %d", i);
    cr_assert_str_eq(json_string_value(json_object_get(j, "channel")), channel, "frame %d", i);
    json_t *ids = json_object_get(j, "product_ids");
    if (strcmp(channel, "heartbeats") == 0) {
        cr_assert_null(ids);
    } else {
        cr_assert_eq(json_array_size(ids), 2);
        cr_assert_str_eq(json_string_value(json_array_get(ids, 0)), "ETH-USD");
        cr_assert_str_eq(json_string_value(json_array_get(ids, 1)), "BTC-USD");
    }
    const char *jwt = json_string_value(json_object_get(j, "jwt"));
    if (strcmp(channel, "user") != 0) {
        cr_assert_null(jwt, "frame %d: a public channel carries no JWT", i);
        json_decref(j);
        return;
    }
    cr_assert_not_null(jwt, "frame %d: user without a JWT", i);
    char payload[512], err[160];
    cr_assert_eq(nd_coinbase_jwt_verify(jwt, pub, payload, sizeof payload, err, sizeof err), ND_OK,
                 "frame %d: %s", i, err);
    json_t *c = json_loads(payload, 0, NULL);
    cr_assert_str_eq(json_string_value(json_object_get(c, "sub")), key_name);
    cr_assert_str_eq(json_string_value(json_object_get(c, "iss")), "cdp");
    cr_assert_eq(json_integer_value(json_object_get(c, "nbf")), T0_S);
    cr_assert_eq(json_integer_value(json_object_get(c, "exp")), T0_S + 120);
    cr_assert_null(json_object_get(c, "uri"), "a WebSocket JWT has no uri");
    json_decref(c);
    json_decref(j);
}

static void at_script_connection1(void)
{
    srv_queue("{\"channel\":\"heartbeats\",\"client_id\":\"\",\"timestamp\":"
              "\"2023-02-09T20:32:50.0Z\",\"sequence_num\":0,\"events\":[{\"current_time\":"
              "\"2023-02-09 20:32:50.0 +0000 UTC m=+1.0\",\"heartbeat_counter\":1}]}");
    queue_l2(1, "snapshot", LV("offer", "21930.5", "3") "," LV("bid", "21921.73", "1") ","
                            LV("offer", "21925.00", "0.5") "," LV("bid", "21920", "2"));
    queue_restamped(FIX "/advanced_ws/doc_l2_data_update.json", 2);
    queue_restamped(FIX "/advanced_ws/doc_ticker_snapshot.json", 3);
    queue_restamped(FIX "/advanced_ws/live_market_trades_snapshot_BTC-USD_2025-10-27.json", 4);
    /* 5 is lost: this update must not touch the book, and the client must resubscribe. */
    queue_l2(6, "update", LV("bid", "21921.73", "0"));
}

Test(coinbase_ws, advanced_trade_subscribe_gap_resubscribe_reconnect, .timeout = 60)
{
    if (access(FIX "/advanced_ws/doc_l2_data_update.json", R_OK) != 0)
        cr_skip_test("../shared/fixtures/coinbase absent");
    char *logbuf = NULL;
    size_t loglen = 0;
    FILE *log = open_memstream(&logbuf, &loglen);
    nd_log_set_output(log, NULL);
    nd_log_set_level(ND_LOG_DEBUG);
    char priv[512], pub[256], url[64];
    make_key(priv, sizeof priv, pub, sizeof pub);
    const char *key_name = "organizations/org-test/apiKeys/key-test";
    cr_assert_eq(setenv("NODERR_COINBASE_API_KEY", key_name, 1), 0);
    cr_assert_eq(setenv("NODERR_COINBASE_API_SECRET", priv, 1), 0);
    nd_secret_t sec;
    char err[256] = "";
    cr_assert_eq(nd_secret_load("COINBASE", NULL, &sec, err, sizeof err), ND_OK, "%s", err);
    cr_assert_str_eq(sec.api_secret, priv);

    struct lws_context *sctx = srv_start(url, sizeof url);
    const char *products[] = {"ETH-USD", "BTC-USD"};
    const char *channels[] = {"level2", "ticker", "market_trades", "user"};
    nd_coinbase_stream_config_t cfg = {
        .url = url, .product_ids = products, .product_count = 2, .channels = channels,
        .channel_count = 4, .key_name = sec.api_key, .private_key_pem = sec.api_secret,
        .seed = 7, .backoff_min_ns = 20 * ND_NS_PER_MS, .backoff_max_ns = 100 * ND_NS_PER_MS,
        .book_levels_max = 64};
    memset(&got, 0, sizeof got);
    nd_coinbase_stream_t *s;
    cr_assert_eq(nd_coinbase_stream_create(ND_VENUE_COINBASE, &cfg, &test_clock, sink, &got, &s,
                                           err, sizeof err), ND_OK, "%s", err);
    got.s = s;
    nd_secret_wipe(&sec);
    cr_assert_null(nd_coinbase_stream_book(s, "BTC-USD"), "no book before a snapshot");

    run_until(s, sctx, at_phase0, 10000);
    cr_assert(at_phase0(), "subscribes: %d", srv.rx_count);
    at_script_connection1();
    run_until(s, sctx, at_phase1, 10000);
    cr_assert(at_phase1(), "resubscribe frames: %d", srv.rx_count);
    queue_l2(7, "snapshot", LV("bid", "21900.00", "1.25") "," LV("offer", "21950.00", "0.75") ","
                            LV("offer", "21960", "1"));
    queue_l2(8, "update", LV("offer", "21950.00", "0") "," LV("bid", "21910.5", "0.5"));
    srv.close_when_sent = true;
    lws_callback_on_writable(srv.wsi);
    run_until(s, sctx, at_phase2, 10000);
    cr_assert(at_phase2(), "connections %d, frames %d", srv.conn_no, srv.rx_count);
    queue_l2(0, "snapshot", LV("bid", "100.5", "1") "," LV("offer", "101", "2"));
    run_until(s, sctx, at_phase3, 10000);

    /* Subscribes: heartbeats first, then one message per channel; the resubscription renews
     * every channel but heartbeats (unsubscribe, subscribe); connection 2 starts over. */
    static const char *const order[] = {"heartbeats", "level2", "ticker", "market_trades", "user"};
    for (int c = 0; c < 2; c++)
        for (int k = 0; k < 5; k++) {
            int i = c == 0 ? k : 13 + k;
            cr_assert_eq(srv.rx_conn[i], c + 1);
            check_at_frame(i, "subscribe", order[k], pub, key_name);
        }
    json_t *hb = rx_json(0), *doc = json_load_file(FIX "/advanced_ws/doc_subscribe_heartbeats.json",
                                                    0, NULL);
    cr_assert(json_equal(hb, doc), "heartbeats subscribe differs from the documented one");
    json_decref(hb);
    json_decref(doc);
    for (int k = 1; k < 5; k++) {
        check_at_frame(5 + 2 * (k - 1), "unsubscribe", order[k], pub, key_name);
        check_at_frame(6 + 2 * (k - 1), "subscribe", order[k], pub, key_name);
    }
    cr_assert_str_neq(strstr(srv.rx[4], "\"jwt\""), strstr(srv.rx[12], "\"jwt\""),
                      "each private subscribe has a fresh JWT");

    nd_coinbase_stream_stats_t st;
    nd_coinbase_stream_stats(s, &st);
    cr_assert_eq(st.connects, 2);
    cr_assert_eq(st.sequence_gaps, 1);
    cr_assert_eq(st.resubscribes, 1);
    cr_assert_eq(st.snapshots, 3);
    cr_assert_eq(st.updates_applied, 2);   /* sequence 2 and 8 */
    cr_assert_eq(st.updates_ignored, 1);   /* sequence 6, after the gap */
    cr_assert_eq(got.trades, 1);
    cr_assert_eq(got.bbos, 1);
    cr_assert_eq(got.books, 5);
    cr_assert_eq(got.heartbeats, 1);
    cr_assert_eq(got.recv_ts_bad, 0);
    cr_assert_eq(got.ticker_venue_ts, 1675974637167359596LL); /* 2023-02-09T20:30:37.167359596Z */
    cr_assert_eq(got.after2_bid.px, px("21921.73"));
    cr_assert_eq(got.after2_bid.qty, px("0.06317902"));
    /* Rebuilt from the sequence-7 snapshot, then sequence 8. */
    cr_assert_eq(got.after8_bids, 2);
    cr_assert_eq(got.after8_asks, 1);
    cr_assert_eq(got.after8_bid.px, px("21910.5"));
    cr_assert_eq(got.after8_bid.qty, px("0.5"));
    cr_assert_eq(got.after8_ask.px, px("21960"));
    const nd_book_t *b = nd_coinbase_stream_book(s, "BTC-USD");
    cr_assert_not_null(b, "connection 2 snapshot makes the book live again");
    nd_book_level_t best;
    cr_assert(nd_book_best(b, ND_BOOK_BID, &best));
    cr_assert_eq(best.px, px("100.5"));
    cr_assert_eq(nd_book_levels(b, ND_BOOK_ASK), 1);
    cr_assert_null(nd_coinbase_stream_book(s, "ETH-USD"), "no ETH-USD snapshot was sent");
    cr_assert_eq(nd_venue_bad_total(nd_coinbase_stream_counters(s)), 1); /* the gap */

    /* An update that would cross the book (bid above the 101 ask) drops the book: emptied, not
     * live, the update not forwarded, counted, and Advanced Trade resubscribes (issue 10). */
    int books_before = got.books, frames_before = srv.rx_count;
    queue_l2(1, "update", LV("bid", "101.5", "1"));
    run_until(s, sctx, at_book_dropped, 10000);
    nd_coinbase_stream_stats(s, &st);
    cr_assert_eq(st.books_dropped, 1);
    cr_assert_null(nd_coinbase_stream_book(s, "BTC-USD"), "a crossed book is not live");
    cr_assert_eq(got.books, books_before, "the crossing update was forwarded");
    cr_assert_eq(nd_coinbase_stream_counters(s)->bad[ND_BAD_CROSSED], 1);
    for (int i = 0; i < 2000 && srv.rx_count < frames_before + 8; i++) {
        nd_coinbase_stream_service(s, 0);
        lws_service(sctx, -1);
        usleep(500);
    }
    cr_assert_geq(srv.rx_count, frames_before + 8, "no resubscribe after the crossed book");

    /* A P-384 key is refused at create, without echoing it. */
    char priv384[512];
    EVP_PKEY *k384 = EVP_EC_gen("P-384");
    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, k384, NULL, NULL, 0, NULL, NULL);
    priv384[BIO_read(bio, priv384, sizeof priv384 - 1)] = '\0';
    BIO_free(bio);
    EVP_PKEY_free(k384);
    cfg.private_key_pem = priv384;
    nd_coinbase_stream_t *bad;
    err[0] = '\0';
    cr_assert_eq(nd_coinbase_stream_create(ND_VENUE_COINBASE, &cfg, &test_clock, sink, &got, &bad,
                                           err, sizeof err), ND_EINVAL);
    cr_assert_neq(err[0], '\0');

    nd_coinbase_stream_destroy(s);
    srv_stop(sctx);
    fflush(log);
    /* The PEM bodies (any base64 line of either key) never reach a log, an error or a frame. */
    const char *secrets[4] = {strstr(priv, "\n") + 1, strstr(priv384, "\n") + 1, NULL, NULL};
    char l1[65], l2[65];
    snprintf(l1, sizeof l1, "%.64s", secrets[0]);
    snprintf(l2, sizeof l2, "%.64s", secrets[1]);
    const char *lines[] = {l1, l2};
    assert_no_secret(logbuf, lines, 2, "the log");
    assert_no_secret(err, lines, 2, "an error");
    cr_assert_not_null(strstr(logbuf, "resubscribing"), "the resubscription is logged");
    nd_log_set_output(NULL, NULL);
    nd_log_set_level(ND_LOG_WARN);
    fclose(log);
    free(logbuf);
}

/* ---- Coinbase Exchange ------------------------------------------------------------------------- */

#define KAT_SECRET "QiM6irV9cW5NJo3xei+MLD0a4GLnsz+HSFwucGXdt+c8gZwRUxTltMfh09w8pZ2VHXKdM8LzqxhaMUg4WHSsvQ=="
#define KAT_KEY "0c9618dbe16af57d9316a6cc78f431cc"
#define KAT_PASS "3628c235c9b5"
/* python3: base64(hmac(b64decode(secret), "1700000000GET/users/self/verify", sha256)) */
#define KAT_WS_SIGN "pLHOHtfuaT6jgNopmglrxm2E2Eg4NHwfLFBSR1sNvWo="

static bool ex_phase0(void) { return srv.conn_no == 1 && srv.rx_count >= 1; }
static bool ex_phase1(void) { return srv.conn_no == 2 && srv.rx_count >= 2; }
static bool ex_phase2(void)
{
    nd_coinbase_stream_stats_t st;
    nd_coinbase_stream_stats(got.s, &st);
    return st.stale_dropped == 2;
}

static void queue_lines(const char *path)
{
    char *text = slurp(path);
    cr_assert_not_null(text, "%s", path);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        if (line[0])
            srv_queue(line);
    free(text);
}

static void check_ex_subscribe(int i)
{
    json_t *j = rx_json(i);
    cr_assert_str_eq(json_string_value(json_object_get(j, "type")), "subscribe");
    json_t *ch = json_object_get(j, "channels"), *ids = json_object_get(j, "product_ids");
    const char *want[] = {"heartbeat", "level2", "ticker", "matches"};
    cr_assert_eq(json_array_size(ch), 4);
    for (int k = 0; k < 4; k++)
        cr_assert_str_eq(json_string_value(json_array_get(ch, (size_t)k)), want[k]);
    cr_assert_eq(json_array_size(ids), 2);
    cr_assert_str_eq(json_string_value(json_array_get(ids, 0)), "NU-GBP");
    cr_assert_str_eq(json_string_value(json_array_get(ids, 1)), "SKL-USD");
    cr_assert_str_eq(json_string_value(json_object_get(j, "key")), KAT_KEY);
    cr_assert_str_eq(json_string_value(json_object_get(j, "passphrase")), KAT_PASS);
    cr_assert_str_eq(json_string_value(json_object_get(j, "timestamp")), "1700000000");
    cr_assert_str_eq(json_string_value(json_object_get(j, "signature")), KAT_WS_SIGN);
    json_decref(j);
}

/* meta.json's expected [price, size] strings against a book level. */
static void check_level(json_t *want, const nd_book_level_t *lv)
{
    cr_assert_eq(lv->px, px(json_string_value(json_array_get(want, 0))));
    cr_assert_eq(lv->qty, px(json_string_value(json_array_get(want, 1))));
}

Test(coinbase_ws, exchange_auth_book_sequence_reconnect, .timeout = 60)
{
    const char *l2 = FIX "/exchange_ws/level2_NU-GBP/stream.jsonl";
    if (access(l2, R_OK) != 0)
        cr_skip_test("../shared/fixtures/coinbase absent");
    char *logbuf = NULL;
    size_t loglen = 0;
    FILE *log = open_memstream(&logbuf, &loglen);
    nd_log_set_output(log, NULL);
    nd_log_set_level(ND_LOG_DEBUG);
    cr_assert_eq(setenv("NODERR_COINBASE_EXCHANGE_API_KEY", KAT_KEY, 1), 0);
    cr_assert_eq(setenv("NODERR_COINBASE_EXCHANGE_API_SECRET", KAT_SECRET, 1), 0);
    cr_assert_eq(setenv("NODERR_COINBASE_EXCHANGE_API_PASSPHRASE", KAT_PASS, 1), 0);
    nd_secret_t sec;
    char err[256] = "", url[64];
    cr_assert_eq(nd_secret_load("COINBASE_EXCHANGE", NULL, &sec, err, sizeof err), ND_OK);
    cr_assert(sec.has_passphrase);

    struct lws_context *sctx = srv_start(url, sizeof url);
    const char *products[] = {"NU-GBP", "SKL-USD"};
    const char *channels[] = {"level2", "ticker", "matches"};
    nd_coinbase_stream_config_t cfg = {
        .url = url, .product_ids = products, .product_count = 2, .channels = channels,
        .channel_count = 3, .exchange_secret = &sec, .seed = 3,
        .backoff_min_ns = 20 * ND_NS_PER_MS, .backoff_max_ns = 100 * ND_NS_PER_MS};
    memset(&got, 0, sizeof got);
    nd_coinbase_stream_t *s;
    cr_assert_eq(nd_coinbase_stream_create(ND_VENUE_COINBASE_EXCHANGE, &cfg, &test_clock, sink,
                                           &got, &s, err, sizeof err), ND_OK, "%s", err);
    got.s = s;
    nd_secret_wipe(&sec);

    run_until(s, sctx, ex_phase0, 10000);
    cr_assert(ex_phase0(), "subscribe: %d", srv.rx_count);
    queue_lines(FIX "/exchange_ws/subscriptions_response.json");
    queue_lines(l2);
    queue_lines(FIX "/exchange_ws/ticker_match_SKL-USD.jsonl");
    /* The last recorded match again (stale), then one three trade ids on (two missed). */
    const char *last = "{\"type\":\"match\",\"trade_id\":1568319,\"side\":\"buy\",\"size\":\"18\","
                       "\"price\":\"0.7902\",\"product_id\":\"SKL-USD\",\"sequence\":201393867,"
                       "\"time\":\"2021-04-17T16:45:00.000000Z\"}";
    srv_queue(last);
    srv_queue("{\"type\":\"match\",\"trade_id\":1568322,\"side\":\"sell\",\"size\":\"1\","
              "\"price\":\"0.7903\",\"product_id\":\"SKL-USD\",\"sequence\":201393900,"
              "\"time\":\"2021-04-17T16:45:01.000000Z\"}");
    srv.close_when_sent = true;
    lws_callback_on_writable(srv.wsi);
    run_until(s, sctx, ex_phase1, 15000);
    cr_assert(ex_phase1(), "connections %d, frames %d", srv.conn_no, srv.rx_count);
    json_t *lm = json_loads(last, 0, NULL);
    json_object_set_new(lm, "type", json_string("last_match"));
    char *lm_text = json_dumps(lm, JSON_COMPACT | JSON_PRESERVE_ORDER);
    srv_queue(lm_text);
    free(lm_text);
    json_decref(lm);
    run_until(s, sctx, ex_phase2, 10000);

    check_ex_subscribe(0);
    check_ex_subscribe(1);
    nd_coinbase_stream_stats_t st;
    nd_coinbase_stream_stats(s, &st);
    cr_assert_eq(st.connects, 2);
    cr_assert_eq(st.snapshots, 1);
    cr_assert_eq(st.updates_applied, 76);
    cr_assert_eq(st.stale_dropped, 2);
    cr_assert_eq(st.trade_id_gaps, 2);
    cr_assert_eq(got.trades, 54);   /* 52 match + 1 last_match recorded, 1 crafted */
    cr_assert_eq(got.bbos, 53);
    cr_assert_eq(got.books, 77);
    cr_assert_eq(got.acks, 1);
    cr_assert_eq(got.last_trade_id, 1568322);
    cr_assert_eq(got.recv_ts_bad, 0);
    /* The NU-GBP book equals the expected book of the recording. */
    json_t *meta = json_load_file(FIX "/exchange_ws/level2_NU-GBP/meta.json", 0, NULL);
    json_t *want = json_object_get(meta, "expected_after_applying_all");
    cr_assert(got.nu_seen);
    cr_assert_eq(got.nu_bids, json_integer_value(json_object_get(want, "bid_levels")));
    cr_assert_eq(got.nu_asks, json_integer_value(json_object_get(want, "ask_levels")));
    for (size_t k = 0; k < 5; k++) {
        check_level(json_array_get(json_object_get(want, "top5_bids"), k), &got.nu_top_bids[k]);
        check_level(json_array_get(json_object_get(want, "top5_asks"), k), &got.nu_top_asks[k]);
    }
    json_decref(meta);
    cr_assert_null(nd_coinbase_stream_book(s, "NU-GBP"), "after the reconnect, until a snapshot");
    cr_assert_eq(nd_coinbase_stream_counters(s)->bad[ND_BAD_OUT_OF_ORDER], 2);
    cr_assert_eq(nd_venue_bad_total(nd_coinbase_stream_counters(s)), 2);

    /* A secret that is not base64 is refused at create and not echoed. */
    nd_secret_t bad_sec = {.has_passphrase = true};
    snprintf(bad_sec.api_key, sizeof bad_sec.api_key, "%s", KAT_KEY);
    snprintf(bad_sec.api_secret, sizeof bad_sec.api_secret, "not-base64-SECRET-VALUE");
    snprintf(bad_sec.passphrase, sizeof bad_sec.passphrase, "%s", KAT_PASS);
    cfg.exchange_secret = &bad_sec;
    nd_coinbase_stream_t *bad;
    cr_assert_eq(nd_coinbase_stream_create(ND_VENUE_COINBASE_EXCHANGE, &cfg, &test_clock, sink,
                                           &got, &bad, err, sizeof err), ND_EINVAL);
    nd_coinbase_stream_destroy(s);
    for (int i = 0; i < srv.rx_count; i++)
        cr_assert_null(strstr(srv.rx[i], KAT_SECRET), "the secret itself never goes out");
    srv_stop(sctx);
    fflush(log);
    const char *secrets[] = {KAT_SECRET, KAT_KEY, KAT_PASS, "not-base64-SECRET-VALUE"};
    assert_no_secret(logbuf, secrets, 4, "the log");
    assert_no_secret(err, secrets, 4, "an error");
    nd_log_set_output(NULL, NULL);
    nd_log_set_level(ND_LOG_WARN);
    fclose(log);
    free(logbuf);
}

/* ---- Messages and secrets without a server ------------------------------------------------------ */

Test(coinbase_ws, exchange_subscribe_message)
{
    char out[512], err[128];
    size_t n = 0;
    const char *ids[] = {"BTC-USD"}, *ch[] = {"level2_batch", "heartbeat"};
    cr_assert_eq(nd_coinbase_exchange_subscribe_msg(ids, 1, ch, 2, NULL, NULL, out, sizeof out, &n,
                                                    err, sizeof err), ND_OK);
    cr_assert_str_eq(out, "{\"type\":\"subscribe\",\"product_ids\":[\"BTC-USD\"],"
                          "\"channels\":[\"level2_batch\",\"heartbeat\"]}");
    cr_assert_eq(n, strlen(out));
    const char *evil[] = {"BTC\"-USD"};
    cr_assert_eq(nd_coinbase_exchange_subscribe_msg(evil, 1, ch, 2, NULL, NULL, out, sizeof out,
                                                    &n, err, sizeof err), ND_EINVAL);
    cr_assert_eq(nd_coinbase_exchange_subscribe_msg(ids, 1, ch, 2, NULL, NULL, out, 40, &n, err,
                                                    sizeof err), ND_EFULL);
    nd_secret_t sec = {.has_passphrase = true};
    snprintf(sec.api_key, sizeof sec.api_key, KAT_KEY);
    snprintf(sec.api_secret, sizeof sec.api_secret, KAT_SECRET);
    snprintf(sec.passphrase, sizeof sec.passphrase, KAT_PASS);
    cr_assert_eq(nd_coinbase_exchange_subscribe_msg(ids, 1, ch, 1, &sec, "1700000000", out,
                                                    sizeof out, &n, err, sizeof err), ND_OK);
    cr_assert_str_eq(out, "{\"type\":\"subscribe\",\"product_ids\":[\"BTC-USD\"],"
                          "\"channels\":[\"level2_batch\"],\"signature\":\"" KAT_WS_SIGN "\","
                          "\"key\":\"" KAT_KEY "\",\"passphrase\":\"" KAT_PASS "\","
                          "\"timestamp\":\"1700000000\"}");
    sec.has_passphrase = false;
    cr_assert_eq(nd_coinbase_exchange_subscribe_msg(ids, 1, ch, 1, &sec, "1700000000", out,
                                                    sizeof out, &n, err, sizeof err), ND_EINVAL);
    cr_assert_null(strstr(err, KAT_SECRET));
}

Test(coinbase_ws, bad_configs_are_refused)
{
    const char *ids[] = {"BTC-USD"}, *user[] = {"user"}, *bad[] = {"level2\""};
    nd_coinbase_stream_config_t cfg = {.url = "ws://127.0.0.1:9", .product_ids = ids,
                                       .product_count = 1, .channels = user, .channel_count = 1};
    nd_coinbase_stream_t *s;
    char err[160] = "";
    cr_assert_eq(nd_coinbase_stream_create(ND_VENUE_COINBASE, &cfg, &test_clock, sink, &got, &s,
                                           err, sizeof err), ND_EINVAL);
    cr_assert_not_null(strstr(err, "user"), "%s", err);
    cfg.channels = bad;
    cr_assert_eq(nd_coinbase_stream_create(ND_VENUE_COINBASE, &cfg, &test_clock, sink, &got, &s,
                                           err, sizeof err), ND_EINVAL);
    cfg.channel_count = 0;
    cr_assert_eq(nd_coinbase_stream_create(ND_VENUE_COINBASE_EXCHANGE, &cfg, &test_clock, sink,
                                           &got, &s, err, sizeof err), ND_EINVAL);
}

/* A Coinbase key as a file: the PEM over several lines, or with escaped newlines in one. */
Test(coinbase_ws, secrets_file_with_pem)
{
    char priv[512], pub[256];
    make_key(priv, sizeof priv, pub, sizeof pub);
    char path[] = "/tmp/nd_cbws_secretXXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "# Coinbase Advanced Trade\napi_key=organizations/o/apiKeys/k\napi_secret=%s",
            priv);
    fclose(f);
    cr_assert_eq(chmod(path, 0600), 0);
    nd_secret_t sec;
    char err[256] = "";
    cr_assert_eq(nd_secret_load("COINBASE", path, &sec, err, sizeof err), ND_OK, "%s", err);
    /* The file's PEM lacks the final newline, which PEM readers do not need. */
    cr_assert_eq(strncmp(sec.api_secret, priv, strlen(priv) - 1), 0);
    cr_assert_str_eq(sec.api_key, "organizations/o/apiKeys/k");
    char jwt[ND_COINBASE_JWT_MAX], payload[512];
    nd_coinbase_jwt_params_t p = {.key_name = sec.api_key, .now_s = T0_S};
    cr_assert_eq(nd_coinbase_jwt_es256(sec.api_secret, &p, jwt, sizeof jwt, err, sizeof err),
                 ND_OK, "%s", err);
    cr_assert_eq(nd_coinbase_jwt_verify(jwt, pub, payload, sizeof payload, err, sizeof err), ND_OK);

    /* One line with the two characters \n, as Coinbase's JSON key file has it. */
    f = fopen(path, "w");
    fputs("api_secret=", f);
    for (const char *c = priv; *c; c++)
        fputs(*c == '\n' ? "\\n" : (char[2]){*c, 0}, f);
    fputs("\n", f);
    fclose(f);
    cr_assert_eq(nd_secret_load("COINBASE", path, &sec, err, sizeof err), ND_OK, "%s", err);
    cr_assert_str_eq(sec.api_secret, priv);

    /* Unterminated PEM, and a group-readable file: refused, never echoed. */
    f = fopen(path, "w");
    fputs("api_secret=-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBsecretsecret\n", f);
    fclose(f);
    cr_assert_eq(nd_secret_load("COINBASE", path, &sec, err, sizeof err), ND_EINVAL);
    cr_assert_null(strstr(err, "MHcCAQEEIBsecretsecret"), "%s", err);
    cr_assert_eq(chmod(path, 0640), 0);
    cr_assert_eq(nd_secret_load("COINBASE", path, &sec, err, sizeof err), ND_EINVAL);
    cr_assert_not_null(strstr(err, "0600"), "%s", err);
    unlink(path);
    nd_secret_wipe(&sec);
}

/* A connection that stays silent past stale_after_ns is renewed (heartbeats come every second,
 * so silence means a dead connection TCP has not noticed). */
static bool silent_phase(void) { return srv.conn_no >= 2; }

Test(coinbase_ws, silent_feed_is_renewed, .timeout = 30)
{
    char url[64], err[160] = "";
    struct lws_context *sctx = srv_start(url, sizeof url);
    const char *ids[] = {"BTC-USD"}, *ch[] = {"ticker"};
    nd_coinbase_stream_config_t cfg = {.url = url, .product_ids = ids, .product_count = 1,
                                       .channels = ch, .channel_count = 1, .seed = 1,
                                       .backoff_min_ns = 20 * ND_NS_PER_MS,
                                       .stale_after_ns = 300 * ND_NS_PER_MS};
    memset(&got, 0, sizeof got);
    nd_coinbase_stream_t *s;
    cr_assert_eq(nd_coinbase_stream_create(ND_VENUE_COINBASE, &cfg, &test_clock, sink, &got, &s,
                                           err, sizeof err), ND_OK, "%s", err);
    got.s = s;
    run_until(s, sctx, silent_phase, 10000);
    nd_coinbase_stream_stats_t st;
    nd_coinbase_stream_stats(s, &st);
    cr_assert_eq(srv.conn_no, 2);
    cr_assert_eq(st.stale_reconnects, 1);
    cr_assert_null(nd_coinbase_stream_book(s, "BTC-USD"), "no level2 channel, no book");
    nd_coinbase_stream_destroy(s);
    srv_stop(sctx);
}
