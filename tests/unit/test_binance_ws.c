/* test_binance_ws.c: the Binance market-stream client (binance_ws.c over ws.c) against a
 * libwebsockets server on 127.0.0.1 in the same process. The server pings with a Binance-like
 * payload and checks the pong echoes it, checks the SUBSCRIBE request, replays stream frames
 * (crafted, plus the shared bookTicker recording when present), then: connection 1 closes with
 * 1001 (the client must back off and reconnect), connection 2 sends serverShutdown (the client
 * must reconnect at once), connection 3 stays. Also the backoff function and request text. */
#include "noderr/binance.h"
#include "noderr/clock.h"
#include "noderr/venue.h"

#include <criterion/criterion.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define PING_PAYLOAD "1790134675605"
#define BOOKTICKER ND_SHARED_DIR "/fixtures/binance/ws/ws_bookTicker_LRCBTC.jsonl"

static const char *const frames[] = {
    "{\"stream\":\"btcusdt@trade\",\"data\":{\"e\":\"trade\",\"E\":1,\"s\":\"BTCUSDT\",\"t\":1,"
    "\"p\":\"86620.48000000\",\"q\":\"0.1\",\"T\":1,\"m\":true,\"M\":true}}",
    "{\"stream\":\"btcusdt@depth@100ms\",\"data\":{\"e\":\"depthUpdate\",\"E\":2,\"s\":\"BTCUSDT\","
    "\"U\":10,\"u\":12,\"b\":[[\"86620.48000000\",\"0.42061000\"]],\"a\":[]}}",
};

typedef struct srv {
    int conn_no;          /* connections accepted so far */
    int step;             /* per current connection: 0 ping, 1 wait subscribe, 2 ack, 3.. frames */
    bool subscribed;
    char subscribe[3][256];
    char pong[3][64];
    char extra[64][256];  /* recorded frames from the shared fixture */
    int extra_count;
} srv_t;

static srv_t srv;

static int srv_write(struct lws *wsi, const char *text, enum lws_write_protocol kind)
{
    unsigned char buf[LWS_PRE + 512];
    size_t n = strlen(text);
    cr_assert_lt(n, 512);
    memcpy(buf + LWS_PRE, text, n);
    return lws_write(wsi, buf + LWS_PRE, n, kind) < 0 ? -1 : 0;
}

/* One step of the scripted conversation per writeable callback. */
static int srv_writeable(struct lws *wsi)
{
    int c = srv.conn_no - 1, nframes = 2 + srv.extra_count, s = srv.step;
    if (s == 0) {
        srv.step = 1;
        return srv_write(wsi, PING_PAYLOAD, LWS_WRITE_PING);
    }
    if (s == 1 || !srv.subscribed || c >= 2)
        return 0;
    srv.step++;
    if (s == 2) {
        char ack[64];
        snprintf(ack, sizeof ack, "{\"result\":null,\"id\":%d}", c + 1);
        srv_write(wsi, ack, LWS_WRITE_TEXT);
    } else if (s - 3 < nframes) {
        int f = s - 3;
        srv_write(wsi, f < 2 ? frames[f] : srv.extra[f - 2], LWS_WRITE_TEXT);
    } else if (c == 0) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_GOINGAWAY, (unsigned char *)"bye", 3);
        return -1;
    } else {
        srv_write(wsi, "{\"stream\":\"!serverShutdown\",\"data\":{\"e\":\"serverShutdown\","
                       "\"E\":1770123456789}}", LWS_WRITE_TEXT);
        srv.step = 1000; /* done: wait for the client to leave */
        return 0;
    }
    lws_callback_on_writable(wsi);
    return 0;
}

static int srv_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len)
{
    int c = srv.conn_no - 1;
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        srv.conn_no++;
        srv.step = 0;
        srv.subscribed = false;
        lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_RECEIVE:
        if (c < 3 && len < sizeof srv.subscribe[0] && memmem(in, len, "SUBSCRIBE", 9)) {
            memcpy(srv.subscribe[c], in, len);
            srv.subscribe[c][len] = '\0';
            srv.subscribed = true;
            srv.step = 2;
            lws_callback_on_writable(wsi);
        }
        break;
    case LWS_CALLBACK_RECEIVE_PONG:
        if (c < 3 && len < sizeof srv.pong[0]) {
            memcpy(srv.pong[c], in, len);
            srv.pong[c][len] = '\0';
        }
        break;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return srv_writeable(wsi);
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols srv_protocols[] = {
    /* First: a client that asks for no subprotocol (as against Binance) gets this one. */
    {"binance", srv_cb, 0, 4096, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

typedef struct got {
    int trades, books, bbos, shutdowns, acks;
} got_t;

static void sink(void *ctx, const nd_md_event_t *ev)
{
    got_t *g = ctx;
    g->trades += ev->kind == ND_MD_TRADE;
    g->books += ev->kind == ND_MD_BOOK_UPDATE;
    g->bbos += ev->kind == ND_MD_BBO;
    g->shutdowns += ev->kind == ND_MD_STATUS && ev->u.status.code == ND_MD_STATUS_SHUTDOWN;
    g->acks += ev->kind == ND_MD_STATUS && ev->u.status.code == ND_MD_STATUS_ACK;
}

static void load_extra(void)
{
    FILE *f = fopen(BOOKTICKER, "r");
    if (!f)
        return;
    while (srv.extra_count < 64 && fgets(srv.extra[srv.extra_count], 256, f)) {
        srv.extra[srv.extra_count][strcspn(srv.extra[srv.extra_count], "\r\n")] = '\0';
        if (srv.extra[srv.extra_count][0])
            srv.extra_count++;
    }
    fclose(f);
}

Test(binance_ws, subscribe_pong_replay_reconnect, .timeout = 60)
{
    memset(&srv, 0, sizeof srv);
    load_extra();
    lws_set_log_level(LLL_ERR, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = 0; /* any free port */
    info.iface = "127.0.0.1";
    info.protocols = srv_protocols;
    info.gid = -1;
    info.uid = -1;
    struct lws_context *sctx = lws_create_context(&info);
    cr_assert_not_null(sctx);
    int port = lws_get_vhost_listen_port(lws_get_vhost_by_name(sctx, "default"));
    cr_assert_gt(port, 0);
    char base[64];
    snprintf(base, sizeof base, "ws://127.0.0.1:%d", port);
    const char *streams[] = {"BTCUSDT@trade", "btcusdt@depth@100ms"};
    nd_binance_stream_config_t cfg = {.base_url = base, .streams = streams, .stream_count = 2,
                                      .seed = 1, .backoff_min_ns = 50 * ND_NS_PER_MS,
                                      .backoff_max_ns = 200 * ND_NS_PER_MS};
    got_t got = {0};
    nd_binance_stream_t *s;
    char err[256] = "";
    cr_assert_eq(nd_binance_stream_create(&cfg, nd_clock_os(), sink, &got, &s, err, sizeof err),
                 ND_OK, "%s", err);
    for (int i = 0; i < 20000 && !(srv.conn_no == 3 && srv.pong[2][0] && srv.subscribe[2][0]); i++) {
        nd_binance_stream_service(s, 0);
        lws_service(sctx, -1); /* -1: one non-blocking pass */
        usleep(500);
    }
    cr_assert_eq(srv.conn_no, 3, "connections: %d", srv.conn_no);
    cr_assert_eq(nd_binance_stream_connects(s), 3);
    for (int c = 0; c < 3; c++) {
        char want[128];
        snprintf(want, sizeof want,
                 "{\"method\":\"SUBSCRIBE\",\"params\":[\"btcusdt@trade\",\"btcusdt@depth@100ms\"],"
                 "\"id\":%d}", c + 1);
        cr_assert_str_eq(srv.subscribe[c], want);
        cr_assert_str_eq(srv.pong[c], PING_PAYLOAD, "connection %d pong", c + 1);
    }
    cr_assert_eq(got.trades, 2);
    cr_assert_eq(got.books, 2);
    cr_assert_eq(got.bbos, 2 * srv.extra_count);
    cr_assert_eq(got.shutdowns, 1);
    cr_assert_eq(got.acks, 2);
    cr_assert_eq(nd_venue_bad_total(nd_binance_stream_counters(s)), 0);
    nd_binance_stream_destroy(s);
    lws_context_destroy(sctx);
}

Test(binance_ws, backoff_grows_with_jitter)
{
    nd_rand_t rng;
    nd_rand_init(&rng, 99);
    int64_t min = ND_NS_PER_SEC, max = 60 * ND_NS_PER_SEC;
    int64_t first = nd_ws_backoff_ns(&rng, 0, min, max); /* after a drop: at once, jittered */
    cr_assert(first >= 0 && first < min / 4, "attempt 0: %lld", (long long)first);
    for (uint32_t a = 1; a < 13; a++) {
        int64_t d = nd_ws_backoff_ns(&rng, a, min, max);
        int64_t cap = a < 7 ? min << (a - 1) : max; /* 1, 2, 4, ... 32 s, then 60 s */
        cr_assert(d >= cap / 2 && d < cap, "attempt %u: %lld not in [%lld, %lld)", a,
                  (long long)d, (long long)(cap / 2), (long long)cap);
    }
    nd_rand_t a1, a2;
    nd_rand_init(&a1, 5);
    nd_rand_init(&a2, 5);
    cr_assert_eq(nd_ws_backoff_ns(&a1, 3, min, max), nd_ws_backoff_ns(&a2, 3, min, max));
}

Test(binance_ws, request_text)
{
    char buf[128];
    const char *s[] = {"BTCUSDT@aggTrade", "btcusdt@depth"};
    size_t n = nd_binance_ws_request(false, s, 2, 7, buf, sizeof buf);
    cr_assert_str_eq(buf, "{\"method\":\"UNSUBSCRIBE\",\"params\":[\"btcusdt@aggTrade\",\"btcusdt@depth\"],"
                          "\"id\":7}");
    cr_assert_eq(n, strlen(buf));
    cr_assert_eq(nd_binance_ws_request(true, s, 2, 7, buf, 20), 0);
}
