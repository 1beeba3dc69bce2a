/* test_binance_live.c: the live depth books (binance_live.c) and the user data stream
 * (binance_user.c) against local servers: an in-process libwebsockets server on 127.0.0.1
 * that speaks the combined market stream and the listenKey stream, and the Python REST
 * stand-in tests/integration/92_binance_rest_server.py serving scripted depth snapshots and
 * the listenKey endpoints. Everything runs on a simulated clock, so the keep-alive schedule
 * is exact and every event's receive time can be checked against the clock that stamped it.
 *
 * Depth session (prices and quantities worked out by hand below): diff 99..102 arrives and is
 * buffered; snapshot 100 loads and the diff bridges it; a stale diff 100..101 is dropped and
 * 103..105 applied; 110..112 is a gap (expected U <= 106): resync; the next snapshot (105) is
 * older than the buffered diff and is fetched again; snapshot 111 loads, 110..112 bridges it;
 * 113..113 applies. */
#include "noderr/binance.h"
#include "noderr/clock.h"
#include "noderr/venue.h"

#include <criterion/criterion.h>
#include <libwebsockets.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SERVER ND_TEST_DATA_DIR "/../integration/92_binance_rest_server.py"
#define FIXTURES ND_SHARED_DIR "/fixtures/binance"
#define T0_NS 1790000000000000000LL

/* ---- the REST server ---------------------------------------------------------------------- */

typedef struct rest_srv {
    pid_t pid;
    char dir[64], portfile[96], log[96], script[96], url[64];
} rest_srv_t;

static rest_srv_t *running;

static void rest_stop(rest_srv_t *s)
{
    running = NULL;
    kill(s->pid, SIGTERM);
    waitpid(s->pid, NULL, 0);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
    (void)system(cmd);
}

static void stop_running(void)
{
    if (running)
        rest_stop(running);
}

static void rest_start(rest_srv_t *s, const char *depth_script)
{
    struct stat st;
    if (stat(SERVER, &st) != 0 || system("python3 -c 1 >/dev/null 2>&1") != 0)
        cr_skip_test("python3 or %s absent", SERVER);
    snprintf(s->dir, sizeof s->dir, "/tmp/nd_live_XXXXXX");
    cr_assert_not_null(mkdtemp(s->dir));
    snprintf(s->portfile, sizeof s->portfile, "%s/port", s->dir);
    snprintf(s->log, sizeof s->log, "%s/log", s->dir);
    snprintf(s->script, sizeof s->script, "%s/depth.json", s->dir);
    FILE *f = fopen(s->script, "w");
    cr_assert_not_null(f);
    fputs(depth_script, f);
    fclose(f);
    char *argv[] = {"python3", SERVER, s->portfile, s->log, "testkey", "testsecret",
                    FIXTURES, s->script, NULL};
    /* The server dies with this test process, whatever ends it. */
    s->pid = fork();
    cr_assert_geq(s->pid, 0);
    if (s->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execvp("python3", argv);
        _exit(127);
    }
    running = s;
    int port = 0;
    for (int i = 0; i < 200 && port == 0; i++) {
        f = fopen(s->portfile, "r");
        if (f) {
            if (fscanf(f, "%d", &port) != 1)
                port = 0;
            fclose(f);
        }
        if (port == 0)
            usleep(50000);
    }
    cr_assert_gt(port, 0, "the REST test server did not start");
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", port);
}

static int count_lines(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof line, f))
        n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

/* ---- the WebSocket server: sends queued frames, records paths and requests -------------- */

typedef struct ws_srv {
    struct lws_context *ctx;
    struct lws *wsi;
    int port;
    int conns;
    char path[4][64];        /* request path of each connection */
    int subscribes;
    char out[32][512];       /* frames to send, in order */
    int queued, sent;
} ws_srv_t;

static ws_srv_t srv;

static void srv_push(const char *frame)
{
    cr_assert_lt(srv.queued, 32);
    snprintf(srv.out[srv.queued++], sizeof srv.out[0], "%s", frame);
    if (srv.wsi)
        lws_callback_on_writable(srv.wsi);
}

static int srv_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len)
{
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        if (srv.conns < 4)
            lws_hdr_copy(wsi, srv.path[srv.conns], sizeof srv.path[0], WSI_TOKEN_GET_URI);
        srv.conns++;
        srv.wsi = wsi;
        srv.sent = srv.queued; /* frames queued before this connection are gone */
        break;
    case LWS_CALLBACK_CLOSED:
        if (srv.wsi == wsi)
            srv.wsi = NULL;
        break;
    case LWS_CALLBACK_RECEIVE:
        if (memmem(in, len, "\"SUBSCRIBE\"", 11))
            srv.subscribes++;
        break;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (wsi == srv.wsi && srv.sent < srv.queued) {
            unsigned char buf[LWS_PRE + 512];
            size_t n = strlen(srv.out[srv.sent]);
            memcpy(buf + LWS_PRE, srv.out[srv.sent++], n);
            if (lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT) < 0)
                return -1;
            if (srv.sent < srv.queued)
                lws_callback_on_writable(wsi);
        }
        break;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols srv_protocols[] = {
    {"binance", srv_cb, 0, 4096, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void ws_start(void)
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
    srv.ctx = lws_create_context(&info);
    cr_assert_not_null(srv.ctx);
    srv.port = lws_get_vhost_listen_port(lws_get_vhost_by_name(srv.ctx, "default"));
    cr_assert_gt(srv.port, 0);
}

/* ---- the sink: records events, checks their times against the simulated clock ---------- */

static nd_clock_sim_t sim;

typedef struct rec {
    nd_md_kind_t kind;
    int32_t status_code;
    bool snapshot;
    uint32_t levels;
    int64_t first_id, last_id, venue_ts_ns, recv_ts_ns;
    nd_md_order_update_t order;
    nd_md_balance_t balance;
} rec_t;

static rec_t recs[64];
static int nrecs;

static void sink(void *ctx, const nd_md_event_t *ev)
{
    (void)ctx;
    /* Every event is stamped with the injected clock at the moment it was received. */
    cr_assert_eq(ev->recv_ts_ns, nd_clock_now_ns(&sim.clock), "%s event",
                 nd_md_kind_name(ev->kind));
    cr_assert_eq(ev->venue, ND_VENUE_BINANCE);
    cr_assert_lt(nrecs, 64);
    rec_t *r = &recs[nrecs++];
    memset(r, 0, sizeof *r);
    r->kind = ev->kind;
    r->venue_ts_ns = ev->venue_ts_ns;
    r->recv_ts_ns = ev->recv_ts_ns;
    if (ev->kind == ND_MD_STATUS)
        r->status_code = ev->u.status.code;
    if (ev->kind == ND_MD_BOOK_UPDATE) {
        r->snapshot = ev->u.book.snapshot;
        r->levels = ev->u.book.level_count;
        r->first_id = ev->u.book.first_update_id;
        r->last_id = ev->u.book.last_update_id;
    }
    if (ev->kind == ND_MD_ORDER_UPDATE)
        r->order = ev->u.order;
    if (ev->kind == ND_MD_BALANCE)
        r->balance = ev->u.balance;
}

/* ---- the depth session ------------------------------------------------------------------- */

#define LV(px, qty) "[\"" px "\",\"" qty "\"]"
static const char depth_script[] =
    "{\"BTCUSDT\":["
    "{\"lastUpdateId\":100,\"bids\":[" LV("10.00000000", "1.00000000") "," LV("9.00000000",
    "2.00000000") "],\"asks\":[" LV("11.00000000", "1.00000000") "," LV("12.00000000",
    "3.00000000") "]},"
    "{\"lastUpdateId\":105,\"bids\":[" LV("10.00000000", "1.00000000") "],\"asks\":["
    LV("12.00000000", "3.00000000") "]},"
    "{\"lastUpdateId\":111,\"bids\":[" LV("10.00000000", "5.00000000") "," LV("9.50000000",
    "1.00000000") "],\"asks\":[" LV("12.00000000", "3.00000000") "," LV("13.00000000",
    "2.00000000") "]}]}";

#define DIFF(E, U, u, b, a) "{\"stream\":\"btcusdt@depth@100ms\",\"data\":{\"e\":\"depthUpdate\"," \
    "\"E\":" E ",\"s\":\"BTCUSDT\",\"U\":" U ",\"u\":" u ",\"b\":[" b "],\"a\":[" a "]}}"

static const char *const d_bridge = DIFF("1790000000001", "99", "102", LV("9.00000000",
    "0.00000000"), LV("11.50000000", "4.00000000"));
static const char *const d_stale = DIFF("1790000000002", "100", "101", LV("10.00000000",
    "7.00000000"), "");
static const char *const d_next = DIFF("1790000000003", "103", "105", LV("9.80000000",
    "2.00000000"), "");
static const char *const d_gap = DIFF("1790000000004", "110", "112", "", LV("12.50000000",
    "1.50000000"));
static const char *const d_last = DIFF("1790000000005", "113", "113", LV("9.90000000",
    "0.25000000"), LV("12.00000000", "0.00000000"));

typedef bool (*until_fn)(const void *arg);

/* Services client and server, advancing the simulated clock 1 ms a pass, until done(arg). */
static void pump(nd_err_t (*service)(void *, int), void *client, until_fn done, const void *arg,
                 const char *what)
{
    for (int i = 0; i < 20000; i++) {
        if (done(arg))
            return;
        cr_assert_eq(nd_clock_sim_set(&sim, nd_clock_now_ns(&sim.clock) + ND_NS_PER_MS), ND_OK);
        (void)service(client, 0);
        lws_service(srv.ctx, -1);
        usleep(200);
    }
    cr_assert_fail("timed out waiting for %s", what);
}

static nd_err_t live_service(void *c, int t)
{
    return nd_binance_live_service(c, t);
}

static bool subscribed(const void *arg)
{
    (void)arg;
    return srv.subscribes > 0 && srv.wsi;
}

static uint64_t snap_goal;

static bool snapshots_at(const void *arg)
{
    const nd_binance_live_t *live = *(nd_binance_live_t *const *)arg;
    nd_binance_live_stats_t st;
    nd_binance_live_stats(live, &st);
    const nd_binance_depth_t *d = nd_binance_live_depth(live, "BTCUSDT");
    return st.snapshots == snap_goal && d->status == ND_BINANCE_SYNC_OK;
}

static bool book_at_113(const void *arg)
{
    const nd_binance_live_t *live = *(nd_binance_live_t *const *)arg;
    return nd_binance_live_depth(live, "BTCUSDT")->last_update_id == 113;
}

static bool resyncs_at_2(const void *arg)
{
    const nd_binance_live_t *live = *(nd_binance_live_t *const *)arg;
    nd_binance_live_stats_t st;
    nd_binance_live_stats(live, &st);
    return st.resyncs == 2;
}

static int64_t px(const char *text)
{
    int64_t v;
    cr_assert_eq(nd_venue_decimal(text, strlen(text), ND_VENUE_DECIMALS, &v), ND_OK);
    return v;
}

static void expect_side(const nd_book_t *book, nd_book_side_t side, const char *const *want,
                        uint32_t n)
{
    nd_book_level_t top[8];
    cr_assert_eq(nd_book_top(book, side, top, 8), n, "side %d levels", side);
    for (uint32_t i = 0; i < n; i++) {
        cr_assert_eq(top[i].px, px(want[2 * i]), "side %d level %u px", side, i);
        cr_assert_eq(top[i].qty, px(want[2 * i + 1]), "side %d level %u qty", side, i);
    }
}

Test(binance_live, gap_forces_resync_and_ends_in_the_expected_book, .timeout = 120,
     .fini = stop_running)
{
    rest_srv_t rs;
    rest_start(&rs, depth_script);
    ws_start();
    nd_clock_sim_init(&sim, T0_NS);
    nrecs = 0;
    char ws_url[64];
    snprintf(ws_url, sizeof ws_url, "ws://127.0.0.1:%d", srv.port);
    const char *symbols[] = {"BTCUSDT"};
    nd_binance_live_config_t cfg = {.ws_base_url = ws_url, .rest_base_url = rs.url,
                                    .symbols = symbols, .symbol_count = 1, .snapshot_limit = 100,
                                    .levels_max = 64, .snapshot_retry_ns = 50 * ND_NS_PER_MS,
                                    .seed = 3, .backoff_min_ns = 50 * ND_NS_PER_MS};
    nd_binance_live_t *live;
    char err[256] = "";
    cr_assert_eq(nd_binance_live_create(&cfg, &sim.clock, sink, NULL, &live, err, sizeof err),
                 ND_OK, "%s", err);
    pump(live_service, live, subscribed, NULL, "SUBSCRIBE");
    cr_assert_str_eq(srv.path[0], "/stream");
    srv_push("{\"result\":null,\"id\":1}");
    srv_push(d_bridge);
    snap_goal = 1;
    pump(live_service, live, snapshots_at, &live, "the first snapshot");
    srv_push(d_stale);
    srv_push(d_next);
    srv_push(d_gap);
    snap_goal = 2;
    pump(live_service, live, snapshots_at, &live, "the resync snapshot");
    srv_push(d_last);
    pump(live_service, live, book_at_113, &live, "the last diff");

    /* The book: snapshot 111 (bids 10 x 5, 9.5 x 1; asks 12 x 3, 13 x 2), then 110..112 adds
     * ask 12.5 x 1.5, then 113 adds bid 9.9 x 0.25 and removes ask 12. */
    const nd_binance_depth_t *d = nd_binance_live_depth(live, "BTCUSDT");
    const char *bids[] = {"10", "5", "9.9", "0.25", "9.5", "1"};
    const char *asks[] = {"12.5", "1.5", "13", "2"};
    expect_side(&d->book, ND_BOOK_BID, bids, 3);
    expect_side(&d->book, ND_BOOK_ASK, asks, 2);
    cr_assert_eq(d->status, ND_BINANCE_SYNC_OK);
    cr_assert_eq(d->snapshot_id, 111);
    cr_assert_eq(d->applied, 4);  /* 99..102, 103..105, 110..112, 113 */
    cr_assert_eq(d->dropped, 1);  /* 100..101 */
    cr_assert_eq(d->gaps, 1);
    nd_binance_live_stats_t st;
    nd_binance_live_stats(live, &st);
    cr_assert_eq(st.snapshots, 2);
    cr_assert_eq(st.stale_snapshots, 1);
    cr_assert_eq(st.snapshot_errors, 0);
    cr_assert_eq(st.resyncs, 1);
    cr_assert_eq(st.diffs_forwarded, 2);
    cr_assert_eq(nd_venue_bad_total(nd_binance_live_counters(live)), 0);
    cr_assert_eq(count_lines(rs.log, "\"path\": \"/api/v3/depth\", \"query\": {\"symbol\": "
                             "\"BTCUSDT\", \"limit\": \"100\"}"), 3);

    /* What the sink saw: ack; the book after snapshot 100 and 99..102 (bids 10; asks 11,
     * 11.5, 12); 103..105; resync; the book after snapshot 111 and 110..112 (2 + 3 levels);
     * 113. Diffs carry Binance's E; rebuilt books carry no venue time. */
    cr_assert_eq(nrecs, 6);
    cr_assert_eq(recs[0].kind, ND_MD_STATUS);
    cr_assert_eq(recs[0].status_code, ND_MD_STATUS_ACK);
    cr_assert(recs[1].kind == ND_MD_BOOK_UPDATE && recs[1].snapshot);
    cr_assert_eq(recs[1].levels, 4);
    cr_assert_eq(recs[1].first_id, 100);
    cr_assert_eq(recs[1].last_id, 102);
    cr_assert_eq(recs[1].venue_ts_ns, 0);
    cr_assert(recs[2].kind == ND_MD_BOOK_UPDATE && !recs[2].snapshot);
    cr_assert_eq(recs[2].first_id, 103);
    cr_assert_eq(recs[2].venue_ts_ns, 1790000000003LL * ND_NS_PER_MS);
    cr_assert_eq(recs[3].kind, ND_MD_STATUS);
    cr_assert_eq(recs[3].status_code, ND_MD_STATUS_RESYNC);
    cr_assert_eq(recs[3].venue_ts_ns, 1790000000004LL * ND_NS_PER_MS);
    cr_assert(recs[4].kind == ND_MD_BOOK_UPDATE && recs[4].snapshot);
    cr_assert_eq(recs[4].levels, 5);
    cr_assert_eq(recs[4].first_id, 111);
    cr_assert_eq(recs[4].last_id, 112);
    cr_assert(recs[5].kind == ND_MD_BOOK_UPDATE && !recs[5].snapshot);
    cr_assert_eq(recs[5].last_id, 113);
    cr_assert_eq(recs[5].venue_ts_ns, 1790000000005LL * ND_NS_PER_MS);
    for (int i = 1; i < nrecs; i++)
        cr_assert_gt(recs[i].recv_ts_ns, recs[i - 1].recv_ts_ns - 1);

    /* A diff that leaves the book crossed (bid 13.5 over ask 12.5) is a resync, not an
     * assertion and not a crossed book handed on (issue 10). */
    srv_push(DIFF("1790000000006", "114", "114", LV("13.50000000", "1.00000000"), ""));
    pump(live_service, live, resyncs_at_2, &live, "the resync after a crossed book");
    cr_assert_eq(nd_binance_live_depth(live, "BTCUSDT")->crossed, 1);
    cr_assert_eq(recs[nrecs - 1].kind, ND_MD_STATUS);
    cr_assert_eq(recs[nrecs - 1].status_code, ND_MD_STATUS_RESYNC);
    cr_assert_eq(recs[6].kind, ND_MD_STATUS, "the crossing diff was forwarded");
    nd_binance_live_destroy(live);
    lws_context_destroy(srv.ctx);
    rest_stop(&rs);
}

/* ---- the user data stream ---------------------------------------------------------------- */

static const char *const user_frames[] = {
    "{\"e\":\"executionReport\",\"E\":1790000000100,\"s\":\"BTCUSDT\",\"c\":\"nd-1\",\"S\":\"BUY\","
    "\"o\":\"LIMIT\",\"f\":\"GTC\",\"q\":\"0.50000000\",\"p\":\"86000.00000000\",\"P\":\"0.00000000\","
    "\"F\":\"0.00000000\",\"g\":-1,\"C\":\"\",\"x\":\"NEW\",\"X\":\"NEW\",\"r\":\"NONE\",\"i\":4293153,"
    "\"l\":\"0.00000000\",\"z\":\"0.00000000\",\"L\":\"0.00000000\",\"n\":\"0\",\"N\":null,"
    "\"T\":1790000000099,\"t\":-1,\"I\":1,\"w\":true,\"m\":false,\"M\":false,\"O\":1790000000099,"
    "\"Z\":\"0.00000000\",\"Y\":\"0.00000000\",\"Q\":\"0.00000000\",\"W\":1790000000099,\"V\":\"NONE\"}",
    "{\"e\":\"executionReport\",\"E\":1790000000200,\"s\":\"BTCUSDT\",\"c\":\"nd-1\",\"S\":\"BUY\","
    "\"o\":\"LIMIT\",\"f\":\"GTC\",\"q\":\"0.50000000\",\"p\":\"86000.00000000\",\"P\":\"0.00000000\","
    "\"F\":\"0.00000000\",\"g\":-1,\"C\":\"\",\"x\":\"TRADE\",\"X\":\"PARTIALLY_FILLED\",\"r\":\"NONE\","
    "\"i\":4293153,\"l\":\"0.20000000\",\"z\":\"0.20000000\",\"L\":\"86000.00000000\","
    "\"n\":\"0.00020000\",\"N\":\"BNB\",\"T\":1790000000199,\"t\":777,\"I\":2,\"w\":true,\"m\":true,"
    "\"M\":true,\"O\":1790000000099,\"Z\":\"17200.00000000\",\"Y\":\"17200.00000000\","
    "\"Q\":\"0.00000000\",\"W\":1790000000099,\"V\":\"NONE\"}",
    "{\"e\":\"outboundAccountPosition\",\"E\":1790000000201,\"u\":1790000000199,\"B\":["
    "{\"a\":\"BTC\",\"f\":\"0.20000000\",\"l\":\"0.00000000\"},"
    "{\"a\":\"USDT\",\"f\":\"8000.00000000\",\"l\":\"25800.00000000\"}]}",
    "{\"e\":\"balanceUpdate\",\"E\":1790000000300,\"a\":\"USDT\",\"d\":\"-100.50000000\","
    "\"T\":1790000000299}",
};

static nd_err_t user_service(void *c, int t)
{
    return nd_binance_user_service(c, t);
}

static int want_recs;

static bool have_recs(const void *arg)
{
    (void)arg;
    return nrecs >= want_recs;
}

static int want_conns;

static bool have_conn(const void *arg)
{
    (void)arg;
    return srv.conns >= want_conns && srv.wsi;
}

static void at(int64_t ns)
{
    cr_assert_eq(nd_clock_sim_set(&sim, ns), ND_OK);
}

static void check_user_events(void)
{
    cr_assert_eq(nrecs, 5);
    const nd_md_order_update_t *o = &recs[0].order;
    cr_assert_eq(recs[0].kind, ND_MD_ORDER_UPDATE);
    cr_assert_eq(recs[0].venue_ts_ns, 1790000000100LL * ND_NS_PER_MS);
    cr_assert_str_eq(o->client_order_id, "nd-1");
    cr_assert_str_eq(o->venue_order_id, "4293153");
    cr_assert_eq(o->status, ND_MD_ORDER_NEW);
    cr_assert_eq(o->side, ND_MD_SIDE_BID);
    cr_assert_eq(o->px, 8600000000000LL);
    cr_assert_eq(o->qty, 50000000);
    o = &recs[1].order;
    cr_assert_eq(o->status, ND_MD_ORDER_PARTIALLY_FILLED);
    cr_assert_eq(o->last_qty, 20000000);
    cr_assert_eq(o->cum_qty, 20000000);
    cr_assert_eq(o->last_px, 8600000000000LL);
    cr_assert_eq(o->cum_quote, 1720000000000LL);
    cr_assert_eq(o->fee, 20000);
    cr_assert_str_eq(o->fee_asset, "BNB");
    cr_assert_eq(o->trade_id, 777);
    cr_assert_eq(recs[2].kind, ND_MD_BALANCE);
    cr_assert_str_eq(recs[2].balance.asset, "BTC");
    cr_assert_eq(recs[2].balance.free, 20000000);
    cr_assert_str_eq(recs[3].balance.asset, "USDT");
    cr_assert_eq(recs[3].balance.free, 800000000000LL);
    cr_assert_eq(recs[3].balance.locked, 2580000000000LL);
    cr_assert_eq(recs[3].venue_ts_ns, 1790000000201LL * ND_NS_PER_MS);
    cr_assert(recs[4].balance.delta);
    cr_assert_eq(recs[4].balance.change, -10050000000LL);
    cr_assert_eq(recs[4].venue_ts_ns, 1790000000300LL * ND_NS_PER_MS);
}

#define LOGLINE(m) "{\"method\": \"" m "\", \"path\": \"/api/v3/userDataStream\""

Test(binance_live, user_stream_listen_key_lifecycle, .timeout = 120, .fini = stop_running)
{
    rest_srv_t rs;
    rest_start(&rs, "{}");
    ws_start();
    nd_clock_sim_init(&sim, T0_NS);
    nrecs = 0;
    char ws_url[64];
    snprintf(ws_url, sizeof ws_url, "ws://127.0.0.1:%d", srv.port);
    nd_secret_t sec;
    memset(&sec, 0, sizeof sec);
    snprintf(sec.api_key, sizeof sec.api_key, "testkey");
    nd_binance_user_config_t cfg = {.mode = ND_BINANCE_USER_LISTEN_KEY,
                                    .ws_base_url = ws_url, .rest_base_url = rs.url,
                                    .secret = &sec, .seed = 9,
                                    .backoff_min_ns = 50 * ND_NS_PER_MS};
    nd_binance_user_t *u;
    char err[256] = "";
    cr_assert_eq(nd_binance_user_create(&cfg, &sim.clock, sink, NULL, &u, err, sizeof err), ND_OK,
                 "%s", err);
    want_conns = 1;
    pump(user_service, u, have_conn, NULL, "the listenKey connection");
    cr_assert_str_eq(srv.path[0], "/ws/lk1");
    for (size_t i = 0; i < sizeof user_frames / sizeof user_frames[0]; i++)
        srv_push(user_frames[i]);
    want_recs = 5;
    pump(user_service, u, have_recs, NULL, "the user events");
    check_user_events();
    cr_assert_eq(nd_venue_bad_total(nd_binance_user_counters(u)), 0);

    /* Keep-alive every 30 minutes of the injected clock from the key's creation (at T0), not
     * a nanosecond before. */
    at(T0_NS + 30 * ND_NS_PER_MIN - 1);
    cr_assert_eq(nd_binance_user_service(u, 0), ND_OK);
    cr_assert_eq(nd_binance_user_keepalives(u), 0);
    at(T0_NS + 30 * ND_NS_PER_MIN);
    cr_assert_eq(nd_binance_user_service(u, 0), ND_OK);
    cr_assert_eq(nd_binance_user_keepalives(u), 1);
    at(T0_NS + 60 * ND_NS_PER_MIN - 1);
    cr_assert_eq(nd_binance_user_service(u, 0), ND_OK);
    cr_assert_eq(nd_binance_user_keepalives(u), 1);
    cr_assert_eq(count_lines(rs.log, LOGLINE("PUT")), 1);
    /* The server answers the key's second keep-alive with -1125: a new key, a new socket. */
    at(T0_NS + 60 * ND_NS_PER_MIN);
    cr_assert_eq(nd_binance_user_service(u, 0), ND_OK);
    cr_assert_eq(nd_binance_user_keepalives(u), 1);
    cr_assert_eq(nd_binance_user_keys_created(u), 2);
    want_conns = 2;
    pump(user_service, u, have_conn, NULL, "the second listenKey connection");
    cr_assert_str_eq(srv.path[1], "/ws/lk2");
    /* listenKeyExpired on the socket does the same. */
    srv_push("{\"e\":\"listenKeyExpired\",\"E\":1790003600000,\"listenKey\":\"lk2\"}");
    want_conns = 3;
    pump(user_service, u, have_conn, NULL, "the third listenKey connection");
    cr_assert_str_eq(srv.path[2], "/ws/lk3");
    cr_assert_eq(nd_binance_user_keys_created(u), 3);
    /* eventStreamTerminated: the same key, a new connection (resubscribed). */
    srv_push("{\"subscriptionId\":0,\"event\":{\"e\":\"eventStreamTerminated\","
             "\"E\":1790003600001}}");
    want_conns = 4;
    pump(user_service, u, have_conn, NULL, "the resubscribed connection");
    cr_assert_str_eq(srv.path[3], "/ws/lk3");
    cr_assert_eq(nd_binance_user_keys_created(u), 3);
    nd_binance_user_destroy(u);
    cr_assert_eq(count_lines(rs.log, LOGLINE("POST")), 3);
    cr_assert_eq(count_lines(rs.log, LOGLINE("PUT")), 2);
    cr_assert_eq(count_lines(rs.log, LOGLINE("DELETE") ", \"query\": {\"listenKey\": \"lk3\"}"), 1);
    cr_assert_eq(count_lines(rs.log, "\"apikey_ok\": false"), 0);
    /* Both ends of the subscription reached the sink as STATUS events, with their E. */
    cr_assert_eq(nrecs, 7);
    cr_assert_eq(recs[5].kind, ND_MD_STATUS);
    cr_assert_eq(recs[5].status_code, ND_MD_STATUS_LISTEN_KEY_EXPIRED);
    cr_assert_eq(recs[5].venue_ts_ns, 1790003600000LL * ND_NS_PER_MS);
    cr_assert_eq(recs[6].status_code, ND_MD_STATUS_STREAM_TERMINATED);
    cr_assert_eq(recs[6].venue_ts_ns, 1790003600001LL * ND_NS_PER_MS);
    lws_context_destroy(srv.ctx);
    rest_stop(&rs);
}
