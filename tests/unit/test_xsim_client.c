/* test_xsim_client.c: the project's own Binance REST client (nd_binance_rest) against
 * exchange-sim's server on 127.0.0.1: the connector's timestamps, signatures, filter parsing,
 * order, cancel, openOrders and account calls are accepted, and a venue reject maps back. */
#include "noderr/alloc.h"
#include "noderr/binance.h"
#include "noderr/venue.h"
#include "noderr/xsim.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

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
