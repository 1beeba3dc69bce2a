/* test_xsim_coinbase.c: exchange-sim speaking Coinbase Advanced Trade (--venue coinbase), driven
 * by the project's own Coinbase client code on 127.0.0.1: nd_coinbase_rest places market and
 * limit orders (fees in quote), reads fills, open orders and accounts, cancels, repeats a
 * client_order_id (the same order comes back) and is refused for post_only, funds (a price
 * times size past int64 too), a wrong key and an expired JWT; the JWT checks one by one (uri, sub, lifetime, signature);
 * nd_coinbase_stream's level2 book equals the exchange's book (own order included) after an
 * injected sequence_num gap that makes it resubscribe, with trades, ticker, heartbeats and the
 * user channel's order updates (status, cumulative quantity, fees) decoded without a bad input. */
#include "../../src/xsim/xsim_int.h"

#include "noderr/alloc.h"
#include "noderr/coinbase.h"
#include "noderr/venue.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define KEY_NAME "organizations/org-1/apiKeys/key-1"
#define TOKEN "token-of-the-cb-test-0123"

typedef struct keys {
    char priv[1024], pub[512];
} keys_t;

static void make_keys(keys_t *k)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    cr_assert_not_null(key);
    BIO *b = BIO_new(BIO_s_mem());
    cr_assert(PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL));
    int n = BIO_read(b, k->priv, (int)sizeof k->priv - 1);
    k->priv[n > 0 ? n : 0] = '\0';
    BIO_free(b);
    b = BIO_new(BIO_s_mem());
    cr_assert(PEM_write_bio_PUBKEY(b, key));
    n = BIO_read(b, k->pub, (int)sizeof k->pub - 1);
    k->pub[n > 0 ? n : 0] = '\0';
    BIO_free(b);
    EVP_PKEY_free(key);
}

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

static void sim_start(sim_t *s, const keys_t *k, int64_t events, nd_clock_t *clock)
{
    char err[256] = "";
    nd_xsim_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cr_assert_eq(nd_instrument_init(&cfg.inst, "BTC/USD", "xsim"), ND_OK);
    cfg.quote_balance = (int64_t)100000 * 100000000;
    cfg.base_balance = (int64_t)2 * 100000000;
    cfg.fee_bps = 10;
    cfg.fee_in_quote = true;
    nd_synth_ticks_config_default(&cfg.synth);
    cfg.synth.step_ns = 5 * ND_NS_PER_MS;
    cfg.synth.events = events;
    cfg.synth.level_qty_max = 20000;
    nd_xsim_api_config_t acfg = {.api_key = KEY_NAME, .api_secret = "", .admin_token = TOKEN,
                                 .venue = ND_XSIM_VENUE_COINBASE, .cb_public_key_pem = k->pub};
    memset(s, 0, sizeof *s);
    cr_assert_eq(nd_xsim_create(&cfg, nd_clock_now_ns(clock), &s->x, err, sizeof err), ND_OK,
                 "%s", err);
    cr_assert_eq(nd_xsim_api_create(s->x, &acfg, &s->api), ND_OK);
    nd_xsim_server_config_t scfg = {.bind = "127.0.0.1", .market_step_ns = 10 * ND_NS_PER_MS,
                                    .clock = clock};
    cr_assert_eq(nd_xsim_server_open(s->api, s->x, &scfg, &s->server, &s->port, err, sizeof err),
                 ND_OK, "%s", err);
    snprintf(s->rest_url, sizeof s->rest_url, "http://127.0.0.1:%d", s->port);
    snprintf(s->ws_url, sizeof s->ws_url, "ws://127.0.0.1:%d", s->port);
    cr_assert_eq(pthread_create(&s->thread, NULL, serve, s->server), 0);
}

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

static int admin_fault(int port, const char *body)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    char req[512];
    int n = snprintf(req, sizeof req, "POST /admin/fault HTTP/1.1\r\nAuthorization: Bearer %s\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", TOKEN, strlen(body),
                     body);
    cr_assert_eq(write(fd, req, (size_t)n), n);
    char resp[512] = "";
    ssize_t got = read(fd, resp, sizeof resp - 1);
    close(fd);
    cr_assert_gt(got, 12);
    return atoi(resp + 9);
}

/* ---- REST ----------------------------------------------------------------------------------- */

typedef struct seen {
    nd_md_event_t ev[64];
    int n;
} seen_t;

static void collect(void *ctx, const nd_md_event_t *e)
{
    seen_t *s = ctx;
    if (s->n < 64)
        s->ev[s->n++] = *e;
}

static nd_coinbase_order_result_t place(nd_coinbase_rest_t *rest, const char *cid, bool buy,
                                        bool market, const char *size, const char *px,
                                        bool post_only)
{
    char err[256] = "";
    nd_coinbase_order_req_t req = {.client_order_id = cid, .product_id = "BTC-USD", .buy = buy,
                                   .market = market, .base_size = size, .limit_price = px,
                                   .post_only = post_only};
    nd_coinbase_order_result_t res;
    cr_assert_eq(nd_coinbase_create_order(rest, &req, &res, err, sizeof err), ND_OK, "%s", err);
    return res;
}

static const nd_md_event_t *find_order(const seen_t *s, const char *venue_id)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->ev[i].u.order.venue_order_id, venue_id) == 0)
            return &s->ev[i];
    return NULL;
}

/* Fills and accounts while the exchange runs; accts is compared with it once paused. */
static void check_fills(nd_coinbase_rest_t *rest, const char *market_id, seen_t *accts)
{
    char err[256] = "";
    seen_t fills = {.n = 0};
    size_t n = 0;
    cr_assert_eq(nd_coinbase_list_fills(rest, "BTC-USD", collect, &fills, &n, err, sizeof err),
                 ND_OK, "%s", err);
    cr_assert_geq(n, 1u);
    const nd_md_event_t *f = find_order(&fills, market_id);
    cr_assert_not_null(f, "a fill of the market order");
    cr_assert_gt(f->u.order.fee, 0, "commission in quote");
    cr_assert_gt(f->u.order.last_px, 0);
    cr_assert_eq(nd_coinbase_accounts(rest, collect, accts, &n, err, sizeof err), ND_OK, "%s",
                 err);
    cr_assert_eq(n, 2u);
}

static void check_accounts(const sim_t *s, const seen_t *accts)
{
    int64_t bf, bl, qf, ql;
    nd_xsim_balances(s->x, &bf, &bl, &qf, &ql);
    cr_assert_str_eq(accts->ev[0].u.balance.asset, "BTC");
    cr_assert_eq(accts->ev[0].u.balance.free, bf);
    cr_assert_str_eq(accts->ev[1].u.balance.asset, "USD");
    cr_assert_eq(accts->ev[1].u.balance.free, qf);
    cr_assert_eq(accts->ev[1].u.balance.locked, ql);
    cr_assert_eq(ql, 0, "the cancelled order's hold is released");
    /* fees in quote: the base received is exactly what was bought */
    cr_assert_eq(bf, (int64_t)2 * 100000000 + 1000000);
}

Test(xsim_coinbase, rest_orders_fills_accounts_with_the_project_client, .timeout = 60)
{
    nd_clock_t *clock = nd_clock_os();
    keys_t k;
    make_keys(&k);
    sim_t s;
    sim_start(&s, &k, 1000000, clock);
    char err[256] = "";
    nd_coinbase_rest_t *rest = NULL;
    cr_assert_eq(nd_coinbase_rest_create(s.rest_url, KEY_NAME, k.priv, clock, 5000, &rest, err,
                                         sizeof err), ND_OK, "%s", err);
    nd_coinbase_order_result_t m = place(rest, "cb-mkt-1", true, true, "0.01", NULL, false);
    cr_assert(m.success, "%s", m.failure_reason);
    nd_coinbase_order_result_t l = place(rest, "cb-lim-1", true, false, "0.001", "30000", false);
    cr_assert(l.success, "%s", l.failure_reason);
    nd_coinbase_order_result_t again = place(rest, "cb-lim-1", true, false, "0.001", "30000", false);
    cr_assert(again.success);
    cr_assert_str_eq(again.order_id, l.order_id, "a repeated client_order_id is the same order");
    nd_coinbase_order_result_t po = place(rest, "cb-po-1", true, false, "0.001", "50000", true);
    cr_assert_not(po.success);
    cr_assert_str_eq(po.failure_reason, "INVALID_LIMIT_PRICE_POST_ONLY");
    cr_assert_eq(po.reject, ND_REJECT_VENUE_ORDER_REJECTED);
    nd_coinbase_order_result_t big = place(rest, "cb-big-1", true, false, "100", "30000", false);
    cr_assert_not(big.success);
    cr_assert_eq(big.reject, ND_REJECT_INSUFFICIENT_FUNDS);
    /* regression: price times size past int64 was an assertion in the engine */
    nd_coinbase_order_result_t huge = place(rest, "cb-huge-1", true, false, "9000", "900000000",
                                            false);
    cr_assert_not(huge.success);
    cr_assert_eq(huge.reject, ND_REJECT_INSUFFICIENT_FUNDS);
    seen_t open = {.n = 0};
    size_t n = 0;
    cr_assert_eq(nd_coinbase_list_orders(rest, "BTC-USD", collect, &open, &n, err, sizeof err),
                 ND_OK, "%s", err);
    const nd_md_event_t *o = find_order(&open, l.order_id);
    cr_assert_not_null(o);
    cr_assert_eq(o->u.order.status, ND_MD_ORDER_NEW);
    cr_assert_str_eq(o->u.order.client_order_id, "cb-lim-1");
    cr_assert_eq(o->u.order.px, (int64_t)30000 * 100000000);
    const nd_md_event_t *mo = find_order(&open, m.order_id);
    cr_assert_not_null(mo);
    cr_assert_eq(mo->u.order.status, ND_MD_ORDER_FILLED);
    cr_assert_eq(mo->u.order.cum_qty, 1000000);
    bool cancelled = false;
    cr_assert_eq(nd_coinbase_cancel_order(rest, l.order_id, &cancelled, err, sizeof err), ND_OK);
    cr_assert(cancelled);
    cr_assert_eq(nd_coinbase_cancel_order(rest, l.order_id, &cancelled, err, sizeof err), ND_OK);
    cr_assert_not(cancelled, "a closed order cannot be cancelled again");
    seen_t accts = {.n = 0};
    check_fills(rest, m.order_id, &accts);
    sim_pause(&s);
    check_accounts(&s, &accts);
    cr_assert_eq(nd_xsim_order_count(s.x), 2, "the repeat and the refusals made no order");
    nd_coinbase_rest_destroy(rest);
    sim_free(&s);
}

Test(xsim_coinbase, refused_jwts_are_401, .timeout = 60)
{
    nd_clock_t *clock = nd_clock_os();
    keys_t k, other;
    make_keys(&k);
    make_keys(&other);
    sim_t s;
    sim_start(&s, &k, 1000000, clock);
    char err[256] = "";
    nd_coinbase_rest_t *wrong = NULL, *stale = NULL;
    cr_assert_eq(nd_coinbase_rest_create(s.rest_url, KEY_NAME, other.priv, clock, 5000, &wrong,
                                         err, sizeof err), ND_OK);
    nd_coinbase_order_result_t r = place(wrong, "cb-x", true, true, "0.01", NULL, false);
    cr_assert_not(r.success);
    cr_assert_eq(r.http_status, 401);
    cr_assert_eq(r.reject, ND_REJECT_VENUE_UNAUTHORIZED);
    size_t n = 0;
    cr_assert_eq(nd_coinbase_accounts(wrong, NULL, NULL, &n, err, sizeof err), ND_EIO);
    nd_clock_sim_t past; /* a JWT made 10 minutes ago has expired */
    nd_clock_sim_init(&past, nd_clock_now_ns(clock) - 10 * ND_NS_PER_MIN);
    cr_assert_eq(nd_coinbase_rest_create(s.rest_url, KEY_NAME, k.priv, &past.clock, 5000, &stale,
                                         err, sizeof err), ND_OK);
    r = place(stale, "cb-y", true, true, "0.01", NULL, false);
    cr_assert_eq(r.http_status, 401);
    sim_pause(&s);
    cr_assert_eq(nd_xsim_order_count(s.x), 0);
    nd_coinbase_rest_destroy(wrong);
    nd_coinbase_rest_destroy(stale);
    sim_free(&s);
}

Test(xsim_coinbase, jwt_claims_checked_one_by_one)
{
    keys_t k, other;
    make_keys(&k);
    make_keys(&other);
    nd_xsim_api_config_t cfg = {.api_key = KEY_NAME, .cb_public_key_pem = k.pub};
    int64_t now_s = 1800000000;
    char jwt[ND_COINBASE_JWT_MAX], why[160], err[160];
    nd_coinbase_jwt_params_t p = {.key_name = KEY_NAME, .method = "GET", .host = "h:1",
                                  .path = "/api/v3/brokerage/accounts", .now_s = now_s};
    cr_assert_eq(nd_coinbase_jwt_es256(k.priv, &p, jwt, sizeof jwt, err, sizeof err), ND_OK);
    int64_t now = now_s * ND_NS_PER_SEC;
    cr_assert(nd__xsim_cb_jwt_ok(&cfg, jwt, "GET", "h:1", "/api/v3/brokerage/accounts", now, why,
                                 sizeof why), "%s", why);
    cr_assert(nd__xsim_cb_jwt_ok(&cfg, jwt, "GET", NULL, "/api/v3/brokerage/accounts", now, why,
                                 sizeof why), "no Host header: the path still matches");
    cr_assert_not(nd__xsim_cb_jwt_ok(&cfg, jwt, "POST", "h:1", "/api/v3/brokerage/accounts", now,
                                     why, sizeof why));
    cr_assert_str_eq(why, "uri is not this request's");
    cr_assert_not(nd__xsim_cb_jwt_ok(&cfg, jwt, "GET", "h:1", "/api/v3/brokerage/orders", now, why,
                                     sizeof why));
    cr_assert_not(nd__xsim_cb_jwt_ok(&cfg, jwt, "GET", NULL, "/api/v3/brokerage/orders", now, why,
                                     sizeof why));
    cr_assert_not(nd__xsim_cb_jwt_ok(&cfg, jwt, "GET", "h:1", "/api/v3/brokerage/accounts",
                                     now + 121 * ND_NS_PER_SEC, why, sizeof why));
    cr_assert_str_eq(why, "expired");
    cr_assert_not(nd__xsim_cb_jwt_ok(&cfg, jwt, "GET", "h:1", "/api/v3/brokerage/accounts",
                                     now - 60 * ND_NS_PER_SEC, why, sizeof why));
    cr_assert_str_eq(why, "not valid yet (nbf)");
    nd_xsim_api_config_t other_name = {.api_key = "organizations/o/apiKeys/other",
                                       .cb_public_key_pem = k.pub};
    cr_assert_not(nd__xsim_cb_jwt_ok(&other_name, jwt, "GET", "h:1",
                                     "/api/v3/brokerage/accounts", now, why, sizeof why));
    cr_assert_str_eq(why, "sub is not the key name");
    nd_xsim_api_config_t other_key = {.api_key = KEY_NAME, .cb_public_key_pem = other.pub};
    cr_assert_not(nd__xsim_cb_jwt_ok(&other_key, jwt, "GET", "h:1",
                                     "/api/v3/brokerage/accounts", now, why, sizeof why));
    jwt[strlen(jwt) - 3] ^= 1; /* a bit of the signature */
    cr_assert_not(nd__xsim_cb_jwt_ok(&cfg, jwt, "GET", "h:1", "/api/v3/brokerage/accounts", now,
                                     why, sizeof why));
    /* a WebSocket JWT has no uri: accepted where none is asked for */
    nd_coinbase_jwt_params_t wp = {.key_name = KEY_NAME, .now_s = now_s};
    cr_assert_eq(nd_coinbase_jwt_es256(k.priv, &wp, jwt, sizeof jwt, err, sizeof err), ND_OK);
    cr_assert(nd__xsim_cb_jwt_ok(&cfg, jwt, NULL, NULL, NULL, now, why, sizeof why), "%s", why);
    cr_assert_eq(nd_xsim_cb_key_check(k.pub, strlen(k.pub), err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(nd_xsim_cb_key_check(k.priv, strlen(k.priv), err, sizeof err), ND_EINVAL);
    cr_assert_eq(nd_xsim_cb_key_check("junk", 4, err, sizeof err), ND_EINVAL);
}

/* ---- WebSocket ------------------------------------------------------------------------------ */

typedef struct ws_seen {
    int trades, bbos, heartbeats, orders, filled, acks, errors;
    int64_t own_cum, own_fee;
    char own_id[ND_VENUE_ID_MAX];
} ws_seen_t;

static void ws_sink(void *ctx, const nd_md_event_t *e)
{
    ws_seen_t *w = ctx;
    if (e->kind == ND_MD_TRADE)
        w->trades++;
    if (e->kind == ND_MD_BBO)
        w->bbos++;
    if (e->kind == ND_MD_STATUS && e->u.status.code == ND_MD_STATUS_HEARTBEAT)
        w->heartbeats++;
    if (e->kind == ND_MD_STATUS && e->u.status.code == ND_MD_STATUS_ACK)
        w->acks++;
    if (e->kind == ND_MD_STATUS && e->u.status.code == ND_MD_STATUS_ERROR)
        w->errors++;
    if (e->kind != ND_MD_ORDER_UPDATE)
        return;
    w->orders++;
    if (strcmp(e->u.order.venue_order_id, w->own_id) == 0) {
        w->own_cum = e->u.order.cum_qty;
        w->own_fee = e->u.order.fee;
        w->filled += e->u.order.status == ND_MD_ORDER_FILLED;
    }
}

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

static void trade_while_streaming(sim_t *s, nd_coinbase_stream_t *st, nd_coinbase_rest_t *rest,
                                  ws_seen_t *w)
{
    bool placed = false, gapped = false, rested = false;
    int64_t end = nd_clock_mono_ns(nd_clock_os()) + 7 * ND_NS_PER_SEC;
    while (nd_clock_mono_ns(nd_clock_os()) < end) {
        nd_coinbase_stream_service(st, 20);
        const nd_book_t *book = nd_coinbase_stream_book(st, "BTC-USD");
        if (!placed && book && w->acks >= 4) { /* a market buy, then an order that rests */
            nd_coinbase_order_result_t r = place(rest, "ws-own-1", true, true, "0.002", NULL,
                                                 false);
            cr_assert(r.success, "%s", r.failure_reason);
            snprintf(w->own_id, sizeof w->own_id, "%s", r.order_id);
            placed = true;
        } else if (placed && !rested && w->filled) {
            nd_coinbase_order_result_t r = place(rest, "ws-rest-1", false, false, "0.0005",
                                                 "45000", false);
            cr_assert(r.success, "%s", r.failure_reason);
            rested = true;
        } else if (rested && !gapped && book) {
            cr_assert_eq(admin_fault(s->port, "{\"fault\":\"gap\"}"), 200);
            gapped = true;
        }
    }
    cr_assert(placed && rested && gapped);
}

Test(xsim_coinbase, stream_book_trades_user_with_the_project_client, .timeout = 60)
{
    nd_clock_t *clock = nd_clock_os();
    keys_t k;
    make_keys(&k);
    sim_t s;
    sim_start(&s, &k, 1000, clock); /* 5 s of market, then it stops */
    char err[256] = "";
    const char *products[] = {"BTC-USD"};
    const char *chans[] = {"level2", "market_trades", "ticker", "user"};
    nd_coinbase_stream_config_t cfg = {.url = s.ws_url, .product_ids = products,
                                       .product_count = 1, .channels = chans, .channel_count = 4,
                                       .key_name = KEY_NAME, .private_key_pem = k.priv};
    ws_seen_t w;
    memset(&w, 0, sizeof w);
    nd_coinbase_stream_t *st = NULL;
    cr_assert_eq(nd_coinbase_stream_create(ND_VENUE_COINBASE, &cfg, clock, ws_sink, &w, &st, err,
                                           sizeof err), ND_OK, "%s", err);
    nd_coinbase_rest_t *rest = NULL;
    cr_assert_eq(nd_coinbase_rest_create(s.rest_url, KEY_NAME, k.priv, clock, 5000, &rest, err,
                                         sizeof err), ND_OK, "%s", err);
    trade_while_streaming(&s, st, rest, &w);
    sim_pause(&s);
    for (int i = 0; i < 20; i++) /* anything still in flight */
        nd_coinbase_stream_service(st, 10);
    nd_coinbase_stream_stats_t stats;
    nd_coinbase_stream_stats(st, &stats);
    const nd_venue_counters_t *cnt = nd_coinbase_stream_counters(st);
    cr_assert(nd_xsim_source_done(s.x));
    cr_assert_eq(stats.sequence_gaps, 1u, "the injected gap");
    cr_assert_eq(stats.resubscribes, 1u);
    cr_assert_geq(stats.snapshots, 2u, "a new snapshot after the resubscribe");
    cr_assert_gt(stats.updates_applied, 10u);
    cr_assert_eq(stats.books_dropped, 0u);
    cr_assert_eq(nd_venue_bad_total(cnt), 1u, "only the gap counted as bad (out of order)");
    cr_assert_eq(cnt->bad[ND_BAD_OUT_OF_ORDER], 1u);
    const nd_book_t *book = nd_coinbase_stream_book(st, "BTC-USD");
    cr_assert_not_null(book);
    assert_same_side(nd_xsim_book(s.x), ND_SIDE_BUY, book);
    assert_same_side(nd_xsim_book(s.x), ND_SIDE_SELL, book);
    cr_assert_gt(w.trades, 5);
    cr_assert_gt(w.bbos, 5);
    cr_assert_geq(w.heartbeats, 3);
    cr_assert_eq(w.errors, 0);
    cr_assert_eq(w.filled, 1, "the own market order reached FILLED on the user channel");
    cr_assert_eq(w.own_cum, 200000);
    cr_assert_gt(w.own_fee, 0);
    cr_assert_gt(w.orders, 3);
    nd_coinbase_rest_destroy(rest);
    nd_coinbase_stream_destroy(st);
    sim_free(&s);
}
