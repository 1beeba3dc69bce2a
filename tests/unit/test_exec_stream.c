/* test_exec_stream.c: fills pushed by the venue (order_adapter.h, nd_binance_exec_on_order)
 * against exchange-sim on 127.0.0.1: with the status poll set to a minute, a market order's
 * fills arrive through the user data stream (WebSocket API subscription) and are booked at
 * once with the venue's numbers; a fill seen both ways (the stream, then the poll's myTrades,
 * and a stream report replayed after the poll) is booked and reported once. */
#include "noderr/alloc.h"
#include "noderr/binance.h"
#include "noderr/xsim.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "binance_sim_fixture.h"

#define E8 100000000LL

static const nd_recon_instrument_t assets = {.base = "BTC", .quote = "USDT"};

typedef struct fixture {
    bsim_t b; /* exchange-sim, the REST client, the journal and the adapter */
    nd_binance_user_t *user;
    nd_md_event_t last_trade; /* the last TRADE report the stream brought */
    int trades_seen;
} fixture_t;

static void on_user(void *ctx, const nd_md_event_t *ev)
{
    fixture_t *f = ctx;
    if (ev->kind != ND_MD_ORDER_UPDATE)
        return;
    if (strcmp(ev->u.order.exec_type, "TRADE") == 0) {
        f->last_trade = *ev;
        f->trades_seen++;
    }
    nd_binance_exec_on_order(f->b.exec, ev);
}

/* exchange-sim (10,000 USDT, fees 10 bps), the adapter with its status poll a minute apart,
 * reconciled and started, and the user data stream over the WebSocket API, subscribed. */
static void start(fixture_t *f)
{
    memset(f, 0, sizeof *f);
    nd_clock_t *clock = nd_clock_os();
    char err[256] = "", url[96];
    bsim_config_t c = {.key = "ex-key", .secret = "ex-secret", .quote_balance = 10000 * E8,
                       .fee_bps = 10, .step_ns = 100 * ND_NS_PER_MS,
                       .market_step_ns = 50 * ND_NS_PER_MS, .weight_limit = 10000000,
                       .recv_window_ms = 1000};
    cr_assert_eq(bsim_open(&f->b, &c, clock, err, sizeof err), ND_OK, "%s", err);
    snprintf(url, sizeof url, "/tmp/nd-exec-stream-%d.journal", (int)getpid());
    nd_binance_exec_config_t ecfg = {.clock = clock, .symbol = "BTCUSDT", .assets = assets,
                                     .tag = "t", .run = 1, .recv_window_ms = 1000,
                                     .poll_interval_ns = 60 * ND_NS_PER_SEC};
    cr_assert_eq(bsim_adapter(&f->b, &ecfg, url, false, true, err, sizeof err), ND_OK, "%s", err);
    nd_secret_t sec;
    memset(&sec, 0, sizeof sec);
    strcpy(sec.api_key, "ex-key");
    strcpy(sec.api_secret, "ex-secret");
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/ws-api/v3", f->b.port);
    nd_binance_user_config_t ucfg = {.mode = ND_BINANCE_USER_WS_API, .ws_api_url = url,
                                     .secret = &sec, .recv_window_ms = 10000,
                                     .backoff_min_ns = ND_NS_PER_SEC / 10};
    cr_assert_eq(nd_binance_user_create(&ucfg, clock, on_user, f, &f->user, err, sizeof err),
                 ND_OK, "%s", err);
    for (int i = 0; i < 200 && !nd_binance_user_subscribed(f->user); i++)
        nd_binance_user_service(f->user, 10);
    cr_assert(nd_binance_user_subscribed(f->user));
}

static void stop(fixture_t *f)
{
    nd_binance_user_destroy(f->user);
    bsim_close(&f->b);
}

/* Services the stream and polls the adapter for about ms, collecting updates into got. */
static void run_for(fixture_t *f, nd_order_update_t *got, size_t *n, size_t cap, int ms)
{
    for (int i = 0; i < ms / 5; i++) {
        nd_binance_user_service(f->user, 5);
        size_t count = 0;
        f->b.venue.ops->poll(f->b.venue.self, 0, got + *n, cap - *n, &count);
        *n += count;
    }
}

static size_t count_kind(const nd_order_update_t *got, size_t n, nd_order_update_kind_t kind,
                         int64_t *qty)
{
    size_t c = 0;
    for (size_t k = 0; k < n; k++)
        if (got[k].kind == kind) {
            c++;
            if (qty)
                *qty += got[k].fill.qty;
        }
    return c;
}

static nd_order_t order(uint64_t client_id, nd_side_t side, nd_order_type_t type, int64_t px,
                        int64_t qty)
{
    nd_order_intent_t in = {.side = side, .type = type, .px = px, .qty = qty};
    nd_order_t o;
    nd_order_init(&o, client_id, &in, 0, 0);
    return o;
}

Test(exec_stream, binance_fills_arrive_through_the_stream_and_are_booked_once, .timeout = 60)
{
    fixture_t f;
    start(&f);
    nd_order_update_t got[256];
    size_t n = 0;
    /* A resting order: its answer and the first status poll (the next is a minute away). */
    nd_order_t rest_o = order(1, ND_SIDE_BUY, ND_ORDER_LIMIT, 20000 * E8, 100000);
    cr_assert_eq(f.b.venue.ops->submit(f.b.venue.self, &rest_o, 0), ND_OK);
    for (int i = 0; i < 100 && (count_kind(got, n, ND_UPDATE_ACCEPTED, NULL) == 0 ||
                                nd_binance_exec_pending(f.b.exec) > 0); i++)
        run_for(&f, got, &n, 256, 20);
    cr_assert_eq(count_kind(got, n, ND_UPDATE_ACCEPTED, NULL), 1);
    nd_binance_exec_stats_t st;
    nd_binance_exec_stats(f.b.exec, &st);
    cr_assert_eq(st.syncs, 1);
    /* A market order: every fill comes through the stream, long before the next poll. */
    nd_order_t mkt = order(2, ND_SIDE_BUY, ND_ORDER_MARKET, 0, 100000);
    cr_assert_eq(f.b.venue.ops->submit(f.b.venue.self, &mkt, 0), ND_OK);
    int64_t filled = 0;
    for (int i = 0; i < 200 && filled < 100000; i++) {
        run_for(&f, got, &n, 256, 20);
        filled = 0;
        count_kind(got, n, ND_UPDATE_FILL, &filled);
    }
    cr_assert_eq(filled, 100000);
    nd_binance_exec_stats(f.b.exec, &st);
    cr_assert_eq(st.syncs, 1, "a status poll ran: the fills may not be the stream's");
    cr_assert_geq(st.stream_fills, 1);
    cr_assert_eq(st.stream_fills, st.fills);
    cr_assert_gt(f.trades_seen, 0);
    size_t fills = count_kind(got, n, ND_UPDATE_FILL, NULL);
    cr_assert_eq(fills, nd_xsim_trade_count(f.b.x));
    for (size_t k = 0, t = 0; k < n; k++) {
        if (got[k].kind != ND_UPDATE_FILL)
            continue;
        const nd_xsim_trade_t *vt = nd_xsim_trade_at(f.b.x, t++);
        cr_assert_eq(got[k].client_id, 2);
        cr_assert_eq(got[k].fill.px, vt->px);
        cr_assert_eq(got[k].fill.qty, vt->qty);
        cr_assert_eq(got[k].fill.notional, vt->quote_qty);
        cr_assert_eq(got[k].fill.fee_qty + got[k].fill.fee, vt->commission);
    }
    /* The poll now sees the same trades (myTrades from the last one): none is booked again. */
    nd_binance_exec_resync(f.b.exec);
    for (int i = 0; i < 100; i++) {
        run_for(&f, got, &n, 256, 20);
        nd_binance_exec_stats(f.b.exec, &st);
        if (st.syncs >= 2 && nd_binance_exec_pending(f.b.exec) == 0)
            break;
    }
    cr_assert_geq(st.syncs, 2);
    cr_assert_eq(count_kind(got, n, ND_UPDATE_FILL, NULL), fills);
    /* And a stream report that comes again after the poll booked it: nothing. */
    uint64_t streamed = st.stream_fills;
    nd_binance_exec_on_order(f.b.exec, &f.last_trade);
    run_for(&f, got, &n, 256, 50);
    nd_binance_exec_stats(f.b.exec, &st);
    cr_assert_eq(st.stream_fills, streamed);
    cr_assert_eq(count_kind(got, n, ND_UPDATE_FILL, NULL), fills);
    cr_assert_eq(st.fills, fills);
    cr_assert_eq(f.b.local->orders[1].filled_qty, 100000);
    cr_assert_eq(f.b.local->orders[1].status, ND_RECON_FILLED);
    stop(&f);
}
