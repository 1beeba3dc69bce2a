/* test_xsim_client.c: the project's own Binance REST client (nd_binance_rest) against
 * exchange-sim's server on 127.0.0.1: the connector's timestamps, signatures, filter parsing,
 * order, cancel, openOrders and account calls are accepted, and a venue reject maps back. */
#include "noderr/alloc.h"
#include "noderr/binance.h"
#include "noderr/venue.h"
#include "noderr/xsim.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static void *serve(void *arg)
{
    nd_xsim_server_run(arg);
    return NULL;
}

Test(xsim_client, binance_rest_client_trades_on_exchange_sim)
{
    nd_xsim_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cr_assert_eq(nd_instrument_init(&cfg.inst, "BTCUSDT", "xsim"), ND_OK);
    cfg.quote_balance = (int64_t)10000 * 100000000;
    cfg.fee_bps = 10;
    nd_synth_ticks_config_default(&cfg.synth);
    cfg.synth.step_ns = 100 * ND_NS_PER_MS;
    cfg.synth.events = 1000000000;
    char err[256] = "";
    nd_clock_t *clock = nd_clock_os();
    nd_xsim_t *x = NULL;
    cr_assert_eq(nd_xsim_create(&cfg, nd_clock_now_ns(clock), &x, err, sizeof err), ND_OK, "%s", err);
    nd_xsim_api_config_t acfg = {.api_key = "cli-key", .api_secret = "cli-secret"};
    nd_xsim_api_t *api = NULL;
    cr_assert_eq(nd_xsim_api_create(x, &acfg, &api), ND_OK);
    nd_xsim_server_config_t scfg = {.bind = "127.0.0.1", .port = 0,
                                    .market_step_ns = 50 * ND_NS_PER_MS, .clock = clock};
    nd_xsim_server_t *server = NULL;
    int port = 0;
    cr_assert_eq(nd_xsim_server_open(api, x, &scfg, &server, &port, err, sizeof err), ND_OK, "%s",
                 err);
    pthread_t thread;
    cr_assert_eq(pthread_create(&thread, NULL, serve, server), 0);

    nd_secret_t sec;
    memset(&sec, 0, sizeof sec);
    strcpy(sec.api_key, "cli-key");
    strcpy(sec.api_secret, "cli-secret");
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    nd_binance_rest_config_t rcfg = {.base_url = url, .secret = &sec};
    nd_binance_rest_t *rest = NULL;
    cr_assert_eq(nd_binance_rest_create(&rcfg, clock, &rest, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(nd_binance_rest_sync_time(rest, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(nd_binance_rest_load_filters(rest, "BTCUSDT", err, sizeof err), ND_OK, "%s", err);

    nd_binance_order_t o = {.symbol = "BTCUSDT", .client_order_id = "cli-1",
                            .side = ND_MD_SIDE_BID, .type = ND_BINANCE_LIMIT,
                            .px = (int64_t)30000 * 100000000, .qty = 100000};
    nd_binance_rest_result_t res;
    cr_assert_eq(nd_binance_rest_new_order(rest, &o, &res, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(res.http_status, 200, "%s", res.body);
    cr_assert_eq(res.reject, ND_REJECT_NONE);
    cr_assert_gt(res.used_weight_1m, 0);
    nd_binance_rest_result_free(&res);
    cr_assert_eq(nd_binance_rest_open_orders(rest, "BTCUSDT", &res, err, sizeof err), ND_OK);
    cr_assert(strstr(res.body, "\"clientOrderId\":\"cli-1\""), "%s", res.body);
    nd_binance_rest_result_free(&res);
    cr_assert_eq(nd_binance_rest_query(rest, "BTCUSDT", "cli-1", &res, err, sizeof err), ND_OK);
    cr_assert(strstr(res.body, "\"status\":\"NEW\""), "%s", res.body);
    nd_binance_rest_result_free(&res);
    cr_assert_eq(nd_binance_rest_cancel(rest, "BTCUSDT", "cli-1", &res, err, sizeof err), ND_OK);
    cr_assert(strstr(res.body, "\"status\":\"CANCELED\""), "%s", res.body);
    nd_binance_rest_result_free(&res);
    cr_assert_eq(nd_binance_rest_account(rest, &res, err, sizeof err), ND_OK);
    cr_assert(strstr(res.body, "\"asset\":\"USDT\",\"free\":\"10000\",\"locked\":\"0\""), "%s",
              res.body);
    nd_binance_rest_result_free(&res);

    /* a sell with no BTC: the venue's -2010 comes back as a reject */
    nd_binance_order_t sell = o;
    strcpy(sell.client_order_id, "cli-2");
    sell.side = ND_MD_SIDE_ASK;
    sell.px = (int64_t)90000 * 100000000;
    cr_assert_eq(nd_binance_rest_new_order(rest, &sell, &res, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(res.http_status, 400);
    cr_assert_eq(res.venue_code, -2010);
    cr_assert_neq(res.reject, ND_REJECT_NONE);
    nd_binance_rest_result_free(&res);

    nd_binance_rest_destroy(rest);
    nd_xsim_server_stop(server);
    cr_assert_eq(pthread_join(thread, NULL), 0);
    nd_xsim_server_close(server);
    nd_xsim_api_destroy(api);
    nd_xsim_destroy(x);
}

/* A clock the test moves while the server thread reads it. */
static _Atomic int64_t fake_now_ns;

static int64_t fake_now(void *ctx)
{
    (void)ctx;
    return atomic_load(&fake_now_ns);
}

Test(xsim_client, idle_connection_closed)
{
    atomic_store(&fake_now_ns, (int64_t)1700000000 * ND_NS_PER_SEC);
    nd_clock_t clock = {.now_mono_ns = fake_now, .now_real_ns = fake_now, .ctx = NULL};
    nd_xsim_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cr_assert_eq(nd_instrument_init(&cfg.inst, "BTCUSDT", "xsim"), ND_OK);
    nd_synth_ticks_config_default(&cfg.synth);
    char err[256] = "";
    nd_xsim_t *x = NULL;
    cr_assert_eq(nd_xsim_create(&cfg, fake_now(NULL), &x, err, sizeof err), ND_OK, "%s", err);
    nd_xsim_api_config_t acfg = {.api_key = "k", .api_secret = "s"};
    nd_xsim_api_t *api = NULL;
    cr_assert_eq(nd_xsim_api_create(x, &acfg, &api), ND_OK);
    nd_xsim_server_config_t scfg = {.port = 0, .market_step_ns = 10 * ND_NS_PER_MS, .clock = &clock};
    nd_xsim_server_t *server = NULL;
    int port = 0;
    cr_assert_eq(nd_xsim_server_open(api, x, &scfg, &server, &port, err, sizeof err), ND_OK);
    pthread_t thread;
    cr_assert_eq(pthread_create(&thread, NULL, serve, server), 0);

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    const char half[] = "GET /api/v3/ping HTTP/1.1\r\n";
    cr_assert_eq(send(fd, half, sizeof half - 1, 0), (ssize_t)(sizeof half - 1));
    struct timeval tv = {.tv_sec = 0, .tv_usec = 300000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[64];
    cr_assert_eq(recv(fd, buf, sizeof buf, 0), -1, "still open while the clock stands");
    atomic_fetch_add(&fake_now_ns, ND_XSIM_IDLE_NS + ND_NS_PER_SEC);
    tv.tv_sec = 5;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    cr_assert_eq(recv(fd, buf, sizeof buf, 0), 0, "closed once idle past the limit");
    close(fd);

    nd_xsim_server_stop(server);
    cr_assert_eq(pthread_join(thread, NULL), 0);
    nd_xsim_server_close(server);
    nd_xsim_api_destroy(api);
    nd_xsim_destroy(x);
}
