/* test_xsim_ws.c: exchange-sim's WebSocket side: hostile frames against the frame parser, the
 * handshake key, UTF-8 checks; then the project's own Binance clients against a running
 * exchange-sim on 127.0.0.1: nd_binance_live's book (snapshot + diffs) converges to the
 * exchange's book, own orders included, and again after an injected sequence gap; nd_binance_user decodes executionReport and
 * outboundAccountPosition and renews a lapsed listenKey, and by the WebSocket API subscribes,
 * resubscribes after eventStreamTerminated and is refused with a wrong signature; and a replayed recording gives the same
 * stream messages on every run, with the recording's trades and times. */
#include "../../src/xsim/xsim_int.h"

#include "noderr/alloc.h"
#include "noderr/binance.h"
#include "noderr/venue.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- Framing -------------------------------------------------------------------------------- */

/* A client frame of payload with mask bytes 1,2,3,4 (or unmasked). Returns its size. */
static size_t client_frame(char *out, int b0, const char *payload, size_t len, bool mask)
{
    size_t n = 0;
    out[n++] = (char)b0;
    uint8_t mbit = mask ? 0x80 : 0;
    if (len < 126) {
        out[n++] = (char)(mbit | len);
    } else if (len <= 0xFFFF) {
        out[n++] = (char)(mbit | 126);
        out[n++] = (char)(len >> 8);
        out[n++] = (char)len;
    } else {
        out[n++] = (char)(mbit | 127);
        for (int i = 0; i < 8; i++)
            out[n++] = (char)((uint64_t)len >> (56 - 8 * i));
    }
    static const uint8_t m[4] = {1, 2, 3, 4};
    if (mask)
        for (int i = 0; i < 4; i++)
            out[n++] = (char)m[i];
    for (size_t i = 0; i < len; i++)
        out[n++] = (char)((uint8_t)payload[i] ^ (mask ? m[i & 3] : 0));
    return n;
}

Test(xsim_ws, masked_text_frame_parses)
{
    char buf[256];
    size_t n = client_frame(buf, 0x81, "hello", 5, true);
    nd__xsim_ws_frame_t f;
    cr_assert_eq(nd__xsim_ws_parse(buf, n, 1000, &f), (long)n);
    cr_assert(f.fin);
    cr_assert_eq(f.opcode, ND__WS_TEXT);
    cr_assert_eq(f.len, 5u);
    cr_assert_eq(memcmp(f.payload, "hello", 5), 0);
    /* every truncation needs more bytes */
    for (size_t k = 0; k < n; k++)
        cr_assert_eq(nd__xsim_ws_parse(buf, k, 1000, &f), 0, "at %zu", k);
}

Test(xsim_ws, hostile_frames_fail_with_their_close_code)
{
    char buf[70000], big[66000];
    nd__xsim_ws_frame_t f;
    memset(big, 'a', sizeof big);
    size_t n = client_frame(buf, 0x81, "hi", 2, false);
    cr_assert_eq(nd__xsim_ws_parse(buf, n, 1000, &f), -1002, "unmasked");
    n = client_frame(buf, 0xC1, "hi", 2, true);
    cr_assert_eq(nd__xsim_ws_parse(buf, n, 1000, &f), -1002, "RSV1 without an extension");
    n = client_frame(buf, 0x83, "hi", 2, true);
    cr_assert_eq(nd__xsim_ws_parse(buf, n, 1000, &f), -1002, "reserved data opcode");
    n = client_frame(buf, 0x8B, "hi", 2, true);
    cr_assert_eq(nd__xsim_ws_parse(buf, n, 1000, &f), -1002, "reserved control opcode");
    n = client_frame(buf, 0x09, "hi", 2, true);
    cr_assert_eq(nd__xsim_ws_parse(buf, n, 1000, &f), -1002, "fragmented ping");
    n = client_frame(buf, 0x89, big, 126, true);
    cr_assert_eq(nd__xsim_ws_parse(buf, n, 100000, &f), -1002, "ping over 125 bytes");
    n = client_frame(buf, 0x81, big, 2000, true);
    cr_assert_eq(nd__xsim_ws_parse(buf, n, 1000, &f), -1009, "over the payload limit");
    n = client_frame(buf, 0x81, big, 66000, true);
    cr_assert_eq(nd__xsim_ws_parse(buf, 10, 1000, &f), -1009, "64-bit length over the limit");
    buf[2] = (char)0x80; /* the 64-bit length's top bit */
    cr_assert_eq(nd__xsim_ws_parse(buf, n, (size_t)-1, &f), -1002, "64-bit length top bit");
}

Test(xsim_ws, accept_key_and_utf8)
{
    char out[29];
    cr_assert_eq(nd__xsim_ws_accept("dGhlIHNhbXBsZSBub25jZQ==", out), ND_OK);
    cr_assert_str_eq(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="); /* RFC 6455 1.3 */
    cr_assert(nd__xsim_utf8_valid("ab\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 11));
    cr_assert_not(nd__xsim_utf8_valid("\xc3", 1));               /* truncated */
    cr_assert_not(nd__xsim_utf8_valid("\xc0\xaf", 2));           /* overlong */
    cr_assert_not(nd__xsim_utf8_valid("\xed\xa0\x80", 3));       /* surrogate */
    cr_assert_not(nd__xsim_utf8_valid("\xf5\x80\x80\x80", 4));   /* past U+10FFFF */
    cr_assert_not(nd__xsim_utf8_valid("a\x80", 2));              /* stray continuation */
}

/* ---- A running exchange-sim ----------------------------------------------------------------- */

typedef struct sim {
    nd_xsim_t *x;
    nd_xsim_api_t *api;
    nd_xsim_server_t *server;
    pthread_t thread;
    int port;
    char rest_url[64], ws_url[64];
} sim_t;

static void *serve(void *arg)
{
    nd_xsim_server_run(arg);
    return NULL;
}

static size_t sim_send_queue_max; /* 0: the default */

static void sim_start(sim_t *s, nd_xsim_config_t *cfg, nd_xsim_api_config_t *acfg,
                      nd_clock_t *clock)
{
    char err[256] = "";
    memset(s, 0, sizeof *s);
    cr_assert_eq(nd_xsim_create(cfg, nd_clock_now_ns(clock), &s->x, err, sizeof err), ND_OK,
                 "%s", err);
    cr_assert_eq(nd_xsim_api_create(s->x, acfg, &s->api), ND_OK);
    nd_xsim_server_config_t scfg = {.bind = "127.0.0.1", .market_step_ns = 10 * ND_NS_PER_MS,
                                    .clock = clock, .send_queue_max = sim_send_queue_max};
    cr_assert_eq(nd_xsim_server_open(s->api, s->x, &scfg, &s->server, &s->port, err, sizeof err),
                 ND_OK, "%s", err);
    snprintf(s->rest_url, sizeof s->rest_url, "http://127.0.0.1:%d", s->port);
    snprintf(s->ws_url, sizeof s->ws_url, "ws://127.0.0.1:%d", s->port);
    cr_assert_eq(pthread_create(&s->thread, NULL, serve, s->server), 0);
}

/* Stops the loop thread: the exchange may be read safely afterwards. */
static void sim_pause(sim_t *s)
{
    nd_xsim_server_stop(s->server);
    cr_assert_eq(pthread_join(s->thread, NULL), 0);
}

static void sim_free(sim_t *s)
{
    nd_xsim_server_close(s->server);
    nd_xsim_api_destroy(s->api);
    nd_xsim_destroy(s->x);
}

static void synth_config(nd_xsim_config_t *cfg, int64_t events)
{
    memset(cfg, 0, sizeof *cfg);
    cr_assert_eq(nd_instrument_init(&cfg->inst, "BTCUSDT", "xsim"), ND_OK);
    cfg->quote_balance = (int64_t)100000 * 100000000;
    cfg->base_balance = (int64_t)2 * 100000000;
    cfg->fee_bps = 10;
    nd_synth_ticks_config_default(&cfg->synth);
    cfg->synth.step_ns = 5 * ND_NS_PER_MS;
    cfg->synth.events = events;
    cfg->synth.level_qty_max = 20000;
}

/* POST /admin/fault with body and the bearer token; returns the HTTP status. */
static int admin_fault(int port, const char *token, const char *body)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    char req[512];
    int n = snprintf(req, sizeof req, "POST /admin/fault HTTP/1.1\r\nAuthorization: Bearer %s\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", token, strlen(body),
                     body);
    cr_assert_eq(write(fd, req, (size_t)n), n);
    char resp[512] = "";
    ssize_t got = read(fd, resp, sizeof resp - 1);
    close(fd);
    cr_assert_gt(got, 12);
    return atoi(resp + 9);
}

static void sink_count(void *ctx, const nd_md_event_t *ev)
{
    (void)ev;
    (*(int *)ctx)++;
}

/* The exchange's aggregated levels of a side equal the client's book side. */
static void assert_same_side(const nd_xsim_book_t *xb, nd_side_t side, const nd_book_t *book)
{
    static nd_book_level_t levels[5000];
    uint32_t n = nd_book_top(book, side == ND_SIDE_BUY ? ND_BOOK_BID : ND_BOOK_ASK, levels, 5000);
    uint32_t k = 0;
    for (size_t i = 0; i < nd_xsim_book_count(xb, side);) {
        int64_t px = nd_xsim_book_at(xb, side, i)->px, qty = 0;
        for (; i < nd_xsim_book_count(xb, side) && nd_xsim_book_at(xb, side, i)->px == px; i++)
            qty += nd_xsim_book_at(xb, side, i)->qty;
        cr_assert_lt(k, n, "client book has fewer levels (%u)", n);
        cr_assert_eq(levels[k].px, px, "level %u", k);
        cr_assert_eq(levels[k].qty, qty, "level %u at %lld", k, (long long)px);
        k++;
    }
    cr_assert_eq(k, n);
}

Test(xsim_ws, binance_live_book_converges_to_exchange_book, .timeout = 60)
{
    nd_clock_t *clock = nd_clock_os();
    nd_xsim_config_t cfg;
    synth_config(&cfg, 1000); /* 5 s of market, then it stops */
    nd_xsim_api_config_t acfg = {.api_key = "k1", .api_secret = "s1",
                                 .admin_token = "token-of-the-test-0123"};
    sim_t s;
    sim_start(&s, &cfg, &acfg, clock);
    nd_secret_t sec;
    memset(&sec, 0, sizeof sec);
    strcpy(sec.api_key, "k1");
    strcpy(sec.api_secret, "s1");
    const char *symbols[] = {"BTCUSDT"};
    nd_binance_live_config_t lcfg = {.ws_base_url = s.ws_url, .rest_base_url = s.rest_url,
                                     .symbols = symbols, .symbol_count = 1,
                                     .snapshot_limit = 1000, .snapshot_retry_ns = ND_NS_PER_SEC / 10};
    int events = 0;
    char err[256] = "";
    nd_binance_live_t *live = NULL;
    cr_assert_eq(nd_binance_live_create(&lcfg, clock, sink_count, &events, &live, err, sizeof err),
                 ND_OK, "%s", err);
    nd_binance_rest_config_t rcfg = {.base_url = s.rest_url, .secret = &sec};
    nd_binance_rest_t *rest = NULL;
    cr_assert_eq(nd_binance_rest_create(&rcfg, clock, &rest, err, sizeof err), ND_OK, "%s", err);
    bool placed = false, gapped = false;
    int64_t end = nd_clock_mono_ns(clock) + 7 * ND_NS_PER_SEC;
    while (nd_clock_mono_ns(clock) < end) {
        nd_binance_live_service(live, 20);
        const nd_binance_depth_t *d = nd_binance_live_depth(live, "BTCUSDT");
        if (!placed && d->status == ND_BINANCE_SYNC_OK) { /* own orders rest in the book */
            nd_binance_order_t o = {.symbol = "BTCUSDT", .client_order_id = "own-1",
                                    .side = ND_MD_SIDE_BID, .type = ND_BINANCE_LIMIT,
                                    .px = (int64_t)39990 * 100000000 + 1000000, .qty = 20000};
            nd_binance_rest_result_t res;
            cr_assert_eq(nd_binance_rest_new_order(rest, &o, &res, err, sizeof err), ND_OK);
            cr_assert_eq(res.http_status, 200, "%s", res.body);
            nd_binance_rest_result_free(&res);
            placed = true;
        } else if (placed && !gapped && d->status == ND_BINANCE_SYNC_OK && d->applied >= 8) {
            /* a sequence gap: the client discards its book and syncs again */
            cr_assert_eq(admin_fault(s.port, "token-of-the-test-0123", "{\"fault\":\"gap\"}"), 200);
            cr_assert_eq(admin_fault(s.port, "wrong-token-of-the-test", "{\"fault\":\"gap\"}"), 401);
            gapped = true;
        }
    }
    sim_pause(&s);
    for (int i = 0; i < 20; i++) /* anything still in flight */
        nd_binance_live_service(live, 10);
    const nd_binance_depth_t *d = nd_binance_live_depth(live, "BTCUSDT");
    nd_binance_live_stats_t st;
    nd_binance_live_stats(live, &st);
    cr_assert(placed);
    cr_assert(nd_xsim_source_done(s.x));
    cr_assert_eq(d->status, ND_BINANCE_SYNC_OK, "%s", nd_binance_sync_name(d->status));
    cr_assert_eq(d->last_update_id, nd_xsim_update_id(s.x));
    cr_assert(gapped);
    cr_assert_eq(st.resyncs, 1u, "one resync after the injected gap");
    cr_assert_geq(st.snapshots, 2u);
    cr_assert_gt(d->applied, 10u);
    assert_same_side(nd_xsim_book(s.x), ND_SIDE_BUY, &d->book);
    assert_same_side(nd_xsim_book(s.x), ND_SIDE_SELL, &d->book);
    cr_assert(nd_xsim_order_by_client_id(s.x, "own-1") != NULL);
    nd_binance_rest_destroy(rest);
    nd_binance_live_destroy(live);
    sim_free(&s);
}

/* ---- User data stream ----------------------------------------------------------------------- */

typedef struct user_seen {
    int news, trades, cancels, balances, rejects;
    char last_exec[32];
    int64_t last_trade_id, last_fee;
} user_seen_t;

static void user_sink(void *ctx, const nd_md_event_t *ev)
{
    user_seen_t *u = ctx;
    if (ev->kind == ND_MD_BALANCE) {
        u->balances++;
        return;
    }
    if (ev->kind != ND_MD_ORDER_UPDATE)
        return;
    const nd_md_order_update_t *o = &ev->u.order;
    snprintf(u->last_exec, sizeof u->last_exec, "%s", o->exec_type);
    if (strcmp(o->exec_type, "NEW") == 0)
        u->news++;
    if (strcmp(o->exec_type, "TRADE") == 0) {
        u->trades++;
        u->last_trade_id = o->trade_id;
        u->last_fee = o->fee;
        cr_assert_gt(o->last_qty, 0);
        cr_assert_gt(o->last_px, 0);
    }
    if (strcmp(o->exec_type, "CANCELED") == 0) {
        u->cancels++;
        cr_assert_str_eq(o->client_order_id, "u-1");
    }
    if (strcmp(o->exec_type, "REJECTED") == 0)
        u->rejects++;
}

static void serve_user(nd_binance_user_t *user, int ms)
{
    for (int i = 0; i < ms / 10; i++)
        nd_binance_user_service(user, 10);
}

Test(xsim_ws, user_data_stream_with_the_project_decoder, .timeout = 60)
{
    nd_clock_t *clock = nd_clock_os();
    nd_xsim_config_t cfg;
    synth_config(&cfg, 1000000);
    nd_xsim_api_config_t acfg = {.api_key = "k2", .api_secret = "s2",
                                 .listen_key_ttl_ns = 3 * ND_NS_PER_SEC};
    sim_t s;
    sim_start(&s, &cfg, &acfg, clock);
    nd_secret_t sec;
    memset(&sec, 0, sizeof sec);
    strcpy(sec.api_key, "k2");
    strcpy(sec.api_secret, "s2");
    user_seen_t seen;
    memset(&seen, 0, sizeof seen);
    char err[256] = "";
    nd_binance_user_config_t ucfg = {.mode = ND_BINANCE_USER_LISTEN_KEY,
                                     .ws_base_url = s.ws_url, .rest_base_url = s.rest_url,
                                     .secret = &sec, .keepalive_ns = 600 * ND_NS_PER_SEC,
                                     .backoff_min_ns = ND_NS_PER_SEC / 10};
    nd_binance_user_t *user = NULL;
    cr_assert_eq(nd_binance_user_create(&ucfg, clock, user_sink, &seen, &user, err, sizeof err),
                 ND_OK, "%s", err);
    nd_binance_rest_config_t rcfg = {.base_url = s.rest_url, .secret = &sec};
    nd_binance_rest_t *rest = NULL;
    cr_assert_eq(nd_binance_rest_create(&rcfg, clock, &rest, err, sizeof err), ND_OK, "%s", err);
    serve_user(user, 300);
    nd_binance_order_t o = {.symbol = "BTCUSDT", .client_order_id = "u-1", .side = ND_MD_SIDE_BID,
                            .type = ND_BINANCE_LIMIT, .px = (int64_t)30000 * 100000000,
                            .qty = 100000};
    nd_binance_rest_result_t res;
    cr_assert_eq(nd_binance_rest_new_order(rest, &o, &res, err, sizeof err), ND_OK);
    nd_binance_rest_result_free(&res);
    cr_assert_eq(nd_binance_rest_cancel(rest, "BTCUSDT", "u-1", &res, err, sizeof err), ND_OK);
    nd_binance_rest_result_free(&res);
    nd_binance_order_t m = {.symbol = "BTCUSDT", .client_order_id = "u-2",
                            .side = ND_MD_SIDE_ASK, .type = ND_BINANCE_MARKET, .qty = 100000};
    cr_assert_eq(nd_binance_rest_new_order(rest, &m, &res, err, sizeof err), ND_OK);
    cr_assert_eq(res.http_status, 200, "%s", res.body);
    nd_binance_rest_result_free(&res);
    serve_user(user, 400);
    cr_assert_eq(seen.news, 2);
    cr_assert_eq(seen.cancels, 1);
    cr_assert_geq(seen.trades, 1);
    cr_assert_gt(seen.last_trade_id, 0);
    cr_assert_gt(seen.last_fee, 0);
    cr_assert_geq(seen.balances, 6, "%d balance events", seen.balances); /* 2 assets x 3+ */
    const nd_venue_counters_t *vc = nd_binance_user_counters(user);
    cr_assert_eq(nd_venue_bad_total(vc), 0u);
    /* the key lapses (no keep-alive within 3 s): listenKeyExpired, a new key, events again */
    serve_user(user, 3000);
    cr_assert_eq(nd_binance_user_keys_created(user), 2u);
    serve_user(user, 300);
    o.px = (int64_t)30001 * 100000000;
    strcpy(o.client_order_id, "u-3");
    cr_assert_eq(nd_binance_rest_new_order(rest, &o, &res, err, sizeof err), ND_OK);
    nd_binance_rest_result_free(&res);
    serve_user(user, 300);
    cr_assert_eq(seen.news, 3);
    nd_binance_rest_destroy(rest);
    nd_binance_user_destroy(user);
    sim_pause(&s);
    sim_free(&s);
}

/* Counts the user stream's STATUS events beside the orders and balances. */
typedef struct ws_api_seen {
    user_seen_t orders;
    int acks, errors, terminated;
} ws_api_seen_t;

static void ws_api_sink(void *ctx, const nd_md_event_t *ev)
{
    ws_api_seen_t *w = ctx;
    if (ev->kind == ND_MD_STATUS && ev->u.status.code == ND_MD_STATUS_ACK)
        w->acks++;
    else if (ev->kind == ND_MD_STATUS && ev->u.status.code == ND_MD_STATUS_ERROR)
        w->errors++;
    else if (ev->kind == ND_MD_STATUS && ev->u.status.code == ND_MD_STATUS_STREAM_TERMINATED)
        w->terminated++;
    else
        user_sink(&w->orders, ev);
}

static void place_limit(nd_binance_rest_t *rest, const char *client_id, int64_t px_units)
{
    char err[256] = "";
    nd_binance_order_t o = {.symbol = "BTCUSDT", .side = ND_MD_SIDE_BID, .type = ND_BINANCE_LIMIT,
                            .px = px_units * 100000000, .qty = 100000};
    snprintf(o.client_order_id, sizeof o.client_order_id, "%s", client_id);
    nd_binance_rest_result_t res;
    cr_assert_eq(nd_binance_rest_new_order(rest, &o, &res, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(res.http_status, 200, "%s", res.body);
    nd_binance_rest_result_free(&res);
}

/* The WebSocket API's user data subscription (userDataStream.subscribe.signature, HMAC): the
 * wrapped events decode, eventStreamTerminated (the admin fault) subscribes again on the same
 * connection, and a wrong secret is refused (-1022) and retried, never subscribed. */
Test(xsim_ws, ws_api_user_data_subscription, .timeout = 60)
{
    nd_clock_t *clock = nd_clock_os();
    nd_xsim_config_t cfg;
    synth_config(&cfg, 1000000);
    nd_xsim_api_config_t acfg = {.api_key = "k3", .api_secret = "s3",
                                 .admin_token = "token-of-the-test-0123"};
    sim_t s;
    sim_start(&s, &cfg, &acfg, clock);
    nd_secret_t sec, wrong;
    memset(&sec, 0, sizeof sec);
    strcpy(sec.api_key, "k3");
    strcpy(sec.api_secret, "s3");
    wrong = sec;
    strcpy(wrong.api_secret, "not-s3");
    char url[96], err[256] = "";
    snprintf(url, sizeof url, "%s/ws-api/v3", s.ws_url);
    ws_api_seen_t seen, refused;
    memset(&seen, 0, sizeof seen);
    memset(&refused, 0, sizeof refused);
    nd_binance_user_config_t ucfg = {.mode = ND_BINANCE_USER_WS_API, .ws_api_url = url,
                                     .secret = &sec, .recv_window_ms = 10000,
                                     .backoff_min_ns = ND_NS_PER_SEC / 10};
    nd_binance_user_t *user = NULL, *bad = NULL;
    cr_assert_eq(nd_binance_user_create(&ucfg, clock, ws_api_sink, &seen, &user, err, sizeof err),
                 ND_OK, "%s", err);
    nd_binance_rest_config_t rcfg = {.base_url = s.rest_url, .secret = &sec};
    nd_binance_rest_t *rest = NULL;
    cr_assert_eq(nd_binance_rest_create(&rcfg, clock, &rest, err, sizeof err), ND_OK, "%s", err);
    for (int i = 0; i < 40 && !nd_binance_user_subscribed(user); i++)
        serve_user(user, 20);
    cr_assert(nd_binance_user_subscribed(user));
    cr_assert_eq(seen.acks, 1);
    place_limit(rest, "w-1", 30000);
    serve_user(user, 300);
    cr_assert_eq(seen.orders.news, 1);
    cr_assert_geq(seen.orders.balances, 2);
    /* the venue ends the subscription: eventStreamTerminated, a new one on the same socket */
    cr_assert_eq(admin_fault(s.port, acfg.admin_token, "{\"fault\":\"user_stream_end\"}"), 200);
    for (int i = 0; i < 40 && nd_binance_user_subscriptions(user) < 2; i++)
        serve_user(user, 20);
    cr_assert_eq(seen.terminated, 1);
    cr_assert_eq(nd_binance_user_ends(user), 1u);
    cr_assert_eq(nd_binance_user_subscriptions(user), 2u);
    cr_assert(nd_binance_user_subscribed(user));
    place_limit(rest, "w-2", 30001);
    serve_user(user, 300);
    cr_assert_eq(seen.orders.news, 2);
    cr_assert_eq(nd_venue_bad_total(nd_binance_user_counters(user)), 0u);
    /* the wrong secret: refused, retried after a second, never subscribed, no events (one
     * client at a time: two libwebsockets contexts alive together leave OpenSSL state behind
     * at exit, which LeakSanitizer reports) */
    nd_binance_user_destroy(user);
    user = NULL;
    ucfg.secret = &wrong;
    cr_assert_eq(nd_binance_user_create(&ucfg, clock, ws_api_sink, &refused, &bad, err,
                                        sizeof err), ND_OK, "%s", err);
    serve_user(bad, 1400);
    cr_assert_geq(refused.errors, 2);
    cr_assert_eq(refused.acks, 0);
    cr_assert_eq(refused.orders.news, 0);
    cr_assert(!nd_binance_user_subscribed(bad));
    nd_binance_rest_destroy(rest);
    nd_binance_user_destroy(bad);
    nd_binance_user_destroy(user);
    sim_pause(&s);
    sim_free(&s);
}

/* ---- Replay --------------------------------------------------------------------------------- */

#define TRADES ND_SHARED_DIR "/data/BTCUSDT-trades-2021-01-08.csv"
#define QUOTES ND_SHARED_DIR "/data/BTCUSDT-bookticker-2021-01-08.csv"

static _Atomic int64_t fake_now_ns;

static int64_t fake_now(void *ctx)
{
    (void)ctx;
    return atomic_load(&fake_now_ns);
}

typedef struct capture {
    char *text;
    size_t len, cap;
    int messages, trades, tickers;
    int64_t first_trade_t;
} capture_t;

static void on_capture(void *ctx, const char *data, size_t len, int64_t recv_ns)
{
    (void)recv_ns;
    capture_t *c = ctx;
    char *grown = nd_array_grow(c->text, &c->cap, c->len + len + 1, 1, 1 << 20);
    cr_assert(grown != NULL);
    c->text = grown;
    memcpy(c->text + c->len, data, len);
    c->len += len;
    c->text[c->len++] = '\n';
    c->messages++;
    if (strstr(data, "@bookTicker"))
        c->tickers++;
    const char *t = strstr(data, "\"e\":\"trade\"");
    if (t && t < data + len) {
        if (c->trades++ == 0)
            c->first_trade_t = strtoll(strstr(data, "\"T\":") + 4, NULL, 10);
    }
}

/* Replays the shared trades and quotes once, capturing every combined-stream message. */
static void replay_once(capture_t *cap)
{
    atomic_store(&fake_now_ns, (int64_t)1800000000 * ND_NS_PER_SEC);
    nd_clock_t server_clock = {.now_mono_ns = fake_now, .now_real_ns = fake_now, .ctx = NULL};
    nd_xsim_config_t cfg;
    synth_config(&cfg, 1);
    cfg.replay.trades_path = TRADES;
    cfg.replay.quotes_path = QUOTES;
    nd_xsim_api_config_t acfg = {.api_key = "k3", .api_secret = "s3"};
    sim_t s;
    sim_start(&s, &cfg, &acfg, &server_clock);
    char url[160], err[256] = "";
    snprintf(url, sizeof url, "%s/stream?streams=btcusdt@trade/btcusdt@bookTicker/"
             "btcusdt@depth@100ms/btcusdt@depth", s.ws_url);
    nd_ws_config_t wc = {.url = url, .seed = 1};
    nd_ws_callbacks_t cb = {NULL, on_capture, NULL, cap};
    nd_ws_t *ws = NULL;
    nd_clock_t *clock = nd_clock_os();
    cr_assert_eq(nd_ws_create(&wc, &cb, clock, &ws, err, sizeof err), ND_OK, "%s", err);
    for (int i = 0; i < 300 && !nd_ws_connected(ws); i++)
        nd_ws_service(ws, 10);
    cr_assert(nd_ws_connected(ws));
    nd_ws_service(ws, 100);
    /* the whole recording (~40 s of market) becomes due at once */
    atomic_fetch_add(&fake_now_ns, 600 * ND_NS_PER_SEC);
    int quiet = 0, before = -1;
    while (quiet < 30) {
        nd_ws_service(ws, 20);
        quiet = cap->messages == before ? quiet + 1 : 0;
        before = cap->messages;
    }
    nd_ws_destroy(ws);
    sim_pause(&s);
    cr_assert(nd_xsim_source_done(s.x));
    cr_assert_str_eq(nd_xsim_source_error(s.x), "");
    sim_free(&s);
}

Test(xsim_ws, replay_gives_the_same_messages_every_run, .timeout = 120)
{
    if (access(TRADES, R_OK) != 0 || access(QUOTES, R_OK) != 0)
        cr_skip_test("shared data not found");
    capture_t a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    replay_once(&a);
    replay_once(&b);
    cr_assert_eq(a.trades, 2001, "every recorded trade, no more (%d)", a.trades);
    cr_assert_eq(a.first_trade_t, 1610064000278LL, "the recording's trade time");
    cr_assert_eq(a.tickers, 451, "one bookTicker per recorded quote (%d)", a.tickers);
    cr_assert_gt(a.messages, 2001 + 400);
    cr_assert_eq(a.len, b.len);
    cr_assert_eq(memcmp(a.text, b.text, a.len), 0, "the two runs differ");
    nd_free(a.text);
    nd_free(b.text);
}

#define DEPTH_DIR ND_SHARED_DIR "/fixtures/binance/depth_sync/binance_us_COMPUSDT"

/* A replayed depth session leaves exchange-sim's book equal to the connector's sync of it. */
Test(xsim_ws, replayed_depth_session_is_the_book)
{
    if (access(DEPTH_DIR "/diffs.jsonl", R_OK) != 0)
        cr_skip_test("shared fixtures not found");
    nd_xsim_config_t cfg;
    synth_config(&cfg, 1);
    cr_assert_eq(nd_instrument_init(&cfg.inst, "COMPUSDT", "xsim"), ND_OK);
    cfg.replay.depth_dir = DEPTH_DIR;
    cfg.replay.speed_max = true;
    cfg.replay.start_now = true;
    char err[256] = "";
    nd_xsim_t *x = NULL;
    cr_assert_eq(nd_xsim_create(&cfg, 0, &x, err, sizeof err), ND_OK, "%s", err);
    while (nd_xsim_step(x, 1000) > 0)
        ;
    cr_assert(nd_xsim_source_done(x));
    cr_assert_str_eq(nd_xsim_source_error(x), "");
    nd_depth_session_t *ds = NULL;
    cr_assert_eq(nd_depth_session_open(DEPTH_DIR, &cfg.inst, &ds, err, sizeof err), ND_OK, "%s", err);
    nd_tick_event_t ev;
    int64_t last_ts = 0;
    while (nd_depth_session_next(ds, &ev) == ND_OK)
        last_ts = ev.u.delta.ts_ns;
    cr_assert_eq(nd_xsim_market_ns(x), last_ts, "the recording's clock");
    assert_same_side(nd_xsim_book(x), ND_SIDE_BUY, nd_depth_session_book(ds));
    assert_same_side(nd_xsim_book(x), ND_SIDE_SELL, nd_depth_session_book(ds));
    nd_depth_session_close(ds);
    nd_xsim_destroy(x);
}

/* A client that stops reading is disconnected once its send queue passes the bound. */
Test(xsim_ws, slow_reader_is_disconnected, .timeout = 60)
{
    nd_clock_t *clock = nd_clock_os();
    nd_xsim_config_t cfg;
    synth_config(&cfg, 1000000);
    cfg.synth.step_ns = 10 * ND_NS_PER_US; /* ~10 MB/s of messages: past the kernel buffers */
    nd_xsim_api_config_t acfg = {.api_key = "k4", .api_secret = "s4"};
    sim_send_queue_max = 32768;
    sim_t s;
    sim_start(&s, &cfg, &acfg, clock);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s.port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    static const char req[] =
        "GET /stream?streams=btcusdt@trade/btcusdt@aggTrade/btcusdt@bookTicker/"
        "btcusdt@depth@100ms HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    cr_assert_eq(write(fd, req, sizeof req - 1), (ssize_t)(sizeof req - 1));
    char head[512];
    cr_assert_gt(read(fd, head, sizeof head), 12);
    cr_assert_eq(strncmp(head, "HTTP/1.1 101", 12), 0);
    sleep(3); /* not reading: the server's queue for this client grows */
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    static char buf[1 << 16];
    ssize_t n;
    size_t total = 0;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        total += (size_t)n;
    cr_assert_eq(n, 0, "the connection was not closed (read %zd after %zu bytes)", n, total);
    close(fd);
    sim_pause(&s);
    sim_free(&s);
    sim_send_queue_max = 0;
}

typedef struct loop_seen {
    int64_t trades, last_ts, first_id;
    bool ordered;
} loop_seen_t;

static void on_loop_trade(void *ctx, const nd_xsim_public_trade_t *t)
{
    loop_seen_t *l = ctx;
    if (l->trades++ == 0)
        l->first_id = t->id;
    l->ordered &= t->ts_ns >= l->last_ts;
    l->last_ts = t->ts_ns;
}

/* --loop: the recording starts again, times shifted to keep increasing. */
Test(xsim_ws, replay_loops_with_increasing_times)
{
    if (access(TRADES, R_OK) != 0)
        cr_skip_test("shared data not found");
    nd_xsim_config_t cfg;
    synth_config(&cfg, 1);
    cfg.replay.trades_path = TRADES;
    cfg.replay.speed_max = true;
    cfg.replay.start_now = true;
    cfg.replay.loop = true;
    char err[256] = "";
    nd_xsim_t *x = NULL;
    cr_assert_eq(nd_xsim_create(&cfg, 0, &x, err, sizeof err), ND_OK, "%s", err);
    loop_seen_t seen = {.ordered = true};
    nd_xsim_listener_t l = {.trade_cb = on_loop_trade, .ctx = &seen};
    nd_xsim_set_listener(x, &l);
    int64_t first_ts = nd_xsim_market_ns(x);
    cr_assert_eq(nd_xsim_step(x, 2001 * 3), 2001 * 3);
    cr_assert_eq(seen.trades, 2001 * 3);
    cr_assert(seen.ordered);
    cr_assert_not(nd_xsim_source_done(x));
    cr_assert_gt(seen.last_ts - first_ts, 2 * (int64_t)10 * ND_NS_PER_SEC, "three passes of ~11 s");
    nd_xsim_destroy(x);
}
