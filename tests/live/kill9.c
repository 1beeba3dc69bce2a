/* kill9.c: the kill -9 test of the Binance live adapter, its order journal and reconciliation
 * against exchange-sim (issue 12, item 3): the Binance part of the harness in kill9_harness.c
 * (the flow, the kill, the restart and the checks: see kill9_harness.h): the REST client and the
 * adapter (with its send marks), best bid and ask from the depth, exchange-sim's keys, a foreign
 * web order. Usage: kill9 [--seeds N] [--first S] [--kill-max K] [--sync MODE] [--power-loss]
 * [--verbose], kill points from 1..60 by default. ND_KILL9_RECV_WINDOW_MS (environment, default
 * 250) sets the recvWindow of both runs: at Binance's default 5000 the restart times show what
 * the wait for unanswered intents costs. */
#include "kill9_harness.h"

#include "noderr/binance.h"
#include "noderr/venue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY "kill9-key"
#define SECRET "kill9-secret"
#define RECV_WINDOW_MS_DEFAULT 250
static int64_t recv_window_ms(void)
{
    const char *v = getenv("ND_KILL9_RECV_WINDOW_MS");
    return v && atoll(v) > 0 ? atoll(v) : RECV_WINDOW_MS_DEFAULT;
}
#define RECV_WINDOW_MS recv_window_ms()

static const nd_recon_instrument_t assets = {.base = "BTC", .quote = "USDT"};

static void secret(nd_secret_t *sec)
{
    memset(sec, 0, sizeof *sec);
    snprintf(sec->api_key, sizeof sec->api_key, KEY);
    snprintf(sec->api_secret, sizeof sec->api_secret, SECRET);
}

/* The REST client, its clock offset and BTCUSDT's filters. */
static bool rest_open(k9_session_t *s, int port, char *err, size_t err_len)
{
    char url[64];
    nd_secret_t sec;
    secret(&sec);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    nd_binance_rest_config_t rcfg = {.base_url = url, .secret = &sec,
                                     .recv_window_ms = RECV_WINDOW_MS};
    nd_binance_rest_t *rest = NULL;
    nd_err_t rc = nd_binance_rest_create(&rcfg, s->clock, &rest, err, err_len);
    s->rest = rest;
    return rc == ND_OK && nd_binance_rest_sync_time(rest, err, err_len) == ND_OK &&
           nd_binance_rest_load_filters(rest, "BTCUSDT", err, err_len) == ND_OK;
}

static bool exec_create(k9_session_t *s, void (*hook_cb)(void *, const char *), char *err,
                        size_t err_len)
{
    nd_binance_exec_config_t ecfg = {.rest = s->rest, .journal = s->journal, .local = s->local,
                                     .clock = s->clock, .symbol = "BTCUSDT", .assets = assets,
                                     .tag = "k9", .run = s->runs, .recv_window_ms = RECV_WINDOW_MS,
                                     .poll_interval_ns = 5 * ND_NS_PER_MS, .hook_cb = hook_cb,
                                     .sending_path = s->marks_path};
    nd_binance_exec_t *exec = NULL;
    nd_err_t rc = nd_binance_exec_create(&ecfg, &exec, err, err_len);
    s->exec = exec;
    return rc == ND_OK;
}

K9_ADAPTER_CALLS(nd_binance_exec, nd_binance_rest)

/* Market data on a REST client without keys. */
static void *md_open(const k9_session_t *s, int port)
{
    char url[64], err[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    nd_binance_rest_config_t mcfg = {.base_url = url};
    nd_binance_rest_t *md = NULL;
    return nd_binance_rest_create(&mcfg, s->clock, &md, err, sizeof err) == ND_OK ? md : NULL;
}

static void md_close(void *md) { nd_binance_rest_destroy(md); }

/* Best bid and ask from GET /api/v3/depth. */
static int best_prices(void *md, int port, int64_t *bid, int64_t *ask)
{
    (void)port;
    char err[256];
    nd_binance_rest_result_t res;
    nd_jtok_t tok[512];
    uint32_t count = 0;
    if (nd_binance_rest_call(md, "GET", "/api/v3/depth", "symbol=BTCUSDT&limit=5", false, &res,
                             err, sizeof err) != ND_OK)
        return -1;
    int rc = -1;
    if (nd_json_tokenize(res.body, res.body_len, tok, 512, &count) == ND_OK) {
        uint32_t b = nd_json_get(res.body, tok, 0, "bids"), a = nd_json_get(res.body, tok, 0, "asks");
        if (b && a && tok[b].size > 0 && tok[a].size > 0 &&
            nd_venue_decimal(res.body + tok[b + 2].start, tok[b + 2].end - tok[b + 2].start, 8,
                             bid) == ND_OK &&
            nd_venue_decimal(res.body + tok[a + 2].start, tok[a + 2].end - tok[a + 2].start, 8,
                             ask) == ND_OK)
            rc = 0;
    }
    nd_binance_rest_result_free(&res);
    return rc;
}

static void api_config(nd_xsim_api_config_t *acfg)
{
    acfg->api_key = KEY;
    acfg->api_secret = SECRET;
}

/* Binance's order and trade ids are exchange-sim's. */
static int64_t same_id(int64_t id) { return id; }

/* Another program trading the same account (a web order): a buy far below the market with a
 * client order id that is not ours. Reconciliation must surface it and never touch it. */
static int place_foreign(int port, uint64_t seed)
{
    char url[64], err[256] = "";
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    nd_secret_t sec;
    secret(&sec);
    nd_binance_rest_config_t rcfg = {.base_url = url, .secret = &sec};
    nd_binance_rest_t *rest = NULL;
    nd_binance_rest_result_t res;
    nd_binance_order_t o = {.symbol = "BTCUSDT", .side = ND_MD_SIDE_BID, .type = ND_BINANCE_LIMIT,
                            .px = (int64_t)20000 * 100000000, .qty = 100000};
    snprintf(o.client_order_id, sizeof o.client_order_id, "web_%llu", (unsigned long long)seed);
    int rc = nd_binance_rest_create(&rcfg, nd_clock_os(), &rest, err, sizeof err) == ND_OK &&
                     nd_binance_rest_sync_time(rest, err, sizeof err) == ND_OK &&
                     nd_binance_rest_new_order(rest, &o, &res, err, sizeof err) == ND_OK
                 ? 0 : -1;
    if (rc == 0) {
        rc = res.http_status == 200 ? 0 : -1;
        nd_binance_rest_result_free(&res);
    }
    nd_binance_rest_destroy(rest);
    return rc;
}

static const k9_venue_t binance = {
    .name = "kill9", .journal_stem = "nd-kill9", .inst = "BTCUSDT",
    .assets = {.base = "BTC", .quote = "USDT"},
    .kill_max = 60, .trade_noun = "trade", .no_price = "no depth", .dump_ids = true,
    .restart_parts = "replay, recvWindow wait, venue view, resolutions, cancels settled",
    .connect = rest_open, .exec_create = exec_create, .recover = k9_recover, .start = k9_start,
    .venue = k9_venue, .exec_destroy = k9_exec_destroy, .rest_destroy = k9_rest_destroy,
    .md_open = md_open, .md_close = md_close, .prices = best_prices, .api_config = api_config,
    .venue_status = k9_xsim_status, .order_key = same_id, .trade_key = same_id,
    .place_foreign = place_foreign};

int main(int argc, char **argv)
{
    return k9_main(&binance, argc, argv);
}
