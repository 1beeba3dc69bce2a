/* test_binance_rest.c: exchangeInfo filters (from the shared fixture and crafted), error-code
 * mapping, and the REST client against a local server (tests/integration/92_binance_rest_
 * server.py on 127.0.0.1) that checks the API key header, the HMAC signature, the timestamp
 * window and each order type's parameters server-side, and replays Binance's responses:
 * 429 with Retry-After (back off), 418 (stop), -2010, -2011, 5xx. */
#include "noderr/binance.h"
#include "noderr/clock.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define SERVER ND_TEST_DATA_DIR "/../integration/92_binance_rest_server.py"
#define FIXTURES ND_SHARED_DIR "/fixtures/binance"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char buf[1 << 20];
    *len = fread(buf, 1, sizeof buf - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

Test(binance_filters, shared_exchange_info)
{
    size_t len;
    char *text = slurp(FIXTURES "/rest/exchangeInfo_2021-10-12_filtered.json", &len);
    if (!text)
        cr_skip_test("shared exchangeInfo fixture absent");
    nd_binance_filters_t f;
    char err[256];
    cr_assert_eq(nd_binance_filters_parse(text, len, "RUNEEUR", &f, err, sizeof err), ND_OK, "%s", err);
    cr_assert(f.trading);
    cr_assert_eq(f.tick_size, 100000);       /* 0.001 */
    cr_assert_eq(f.step_size, 10000000);     /* 0.1 */
    cr_assert_eq(f.min_notional, 1000000000); /* 10 */
    cr_assert(f.min_notional_market);
    cr_assert_eq(f.mkt_max_qty, 905311035441LL);
    cr_assert_eq(nd_binance_filters_parse(text, len, "NOPE", &f, err, sizeof err), ND_ENOTFOUND);
    nd_binance_order_t o = {.symbol = "RUNEEUR", .client_order_id = "a", .side = ND_MD_SIDE_BID,
                            .type = ND_BINANCE_LIMIT, .px = 625000000, .qty = 200000000};
    cr_assert_eq(nd_binance_filters_check(&f, &o), ND_REJECT_NONE); /* 6.25 x 2 = 12.5 */
    o.px = 625050000; /* 6.2505: off the 0.001 tick */
    cr_assert_eq(nd_binance_filters_check(&f, &o), ND_REJECT_INVALID_PRICE);
    o.px = 625000000;
    o.qty = 15000000; /* 0.15: off the 0.1 step */
    cr_assert_eq(nd_binance_filters_check(&f, &o), ND_REJECT_INVALID_QUANTITY);
    o.qty = 100000000; /* 6.25 x 1 = 6.25 < 10 */
    cr_assert_eq(nd_binance_filters_check(&f, &o), ND_REJECT_BELOW_MIN_NOTIONAL);
    o.type = ND_BINANCE_MARKET;
    o.ref_px = 0; /* no reference price: left to the venue */
    cr_assert_eq(nd_binance_filters_check(&f, &o), ND_REJECT_NONE);
    o.ref_px = 625000000;
    cr_assert_eq(nd_binance_filters_check(&f, &o), ND_REJECT_BELOW_MIN_NOTIONAL);
}

Test(binance_filters, notional_max_and_not_trading)
{
    const char *info = "{\"symbols\":[{\"symbol\":\"BTCUSDT\",\"status\":\"HALT\",\"filters\":["
                       "{\"filterType\":\"NOTIONAL\",\"minNotional\":\"5\",\"applyMinToMarket\":true,"
                       "\"maxNotional\":\"100\",\"applyMaxToMarket\":false,\"avgPriceMins\":5}]}]}";
    nd_binance_filters_t f;
    char err[128];
    cr_assert_eq(nd_binance_filters_parse(info, strlen(info), "BTCUSDT", &f, err, sizeof err), ND_OK);
    nd_binance_order_t o = {.symbol = "BTCUSDT", .client_order_id = "a", .side = ND_MD_SIDE_ASK,
                            .type = ND_BINANCE_LIMIT, .px = 5000000000LL, .qty = 300000000};
    cr_assert_eq(nd_binance_filters_check(&f, &o), ND_REJECT_VENUE_SYMBOL_NOT_TRADING);
    f.trading = true;
    cr_assert_eq(nd_binance_filters_check(&f, &o), ND_REJECT_ABOVE_MAX_NOTIONAL); /* 150 > 100 */
    o.type = ND_BINANCE_MARKET;
    o.ref_px = 5000000000LL;
    cr_assert_eq(nd_binance_filters_check(&f, &o), ND_REJECT_NONE); /* max not for market */
    const char *bad = "{\"symbols\":[{\"symbol\":\"X\",\"filters\":[{\"filterType\":\"PRICE_FILTER\","
                      "\"minPrice\":1}]}]}";
    cr_assert_eq(nd_binance_filters_parse(bad, strlen(bad), "X", &f, err, sizeof err), ND_EPARSE);
    cr_assert(strstr(err, "minPrice") != NULL);
}

Test(binance_rest, error_mapping)
{
    cr_assert_eq(nd_binance_map_error(429, -1003, ""), ND_REJECT_VENUE_RATE_LIMITED);
    cr_assert_eq(nd_binance_map_error(418, -1003, ""), ND_REJECT_VENUE_BANNED);
    cr_assert_eq(nd_binance_map_error(400, -1021, ""), ND_REJECT_VENUE_TIMESTAMP);
    cr_assert_eq(nd_binance_map_error(400, -1022, ""), ND_REJECT_VENUE_UNAUTHORIZED);
    cr_assert_eq(nd_binance_map_error(401, -2015, ""), ND_REJECT_VENUE_UNAUTHORIZED);
    cr_assert_eq(nd_binance_map_error(400, -2010, "Account has insufficient balance for requested action."),
                 ND_REJECT_INSUFFICIENT_FUNDS);
    cr_assert_eq(nd_binance_map_error(400, -2010, "Order would immediately match and take."),
                 ND_REJECT_VENUE_ORDER_REJECTED);
    cr_assert_eq(nd_binance_map_error(400, -1013, "Filter failure: LOT_SIZE"),
                 ND_REJECT_VENUE_FILTER_FAILURE);
    cr_assert_eq(nd_binance_map_error(400, -2011, ""), ND_REJECT_VENUE_UNKNOWN_ORDER);
    cr_assert_eq(nd_binance_map_error(400, -1121, ""), ND_REJECT_UNKNOWN_INSTRUMENT);
    cr_assert_eq(nd_binance_map_error(400, -1102, ""), ND_REJECT_VENUE_BAD_REQUEST);
    cr_assert_eq(nd_binance_map_error(503, 0, ""), ND_REJECT_VENUE_STATUS_UNKNOWN);
    cr_assert_eq(nd_binance_map_error(400, -1007, ""), ND_REJECT_VENUE_STATUS_UNKNOWN);
    cr_assert_eq(nd_binance_map_error(400, -9999, ""), ND_REJECT_VENUE_ERROR);
}

/* ---- against the local server ----------------------------------------------------------- */

typedef struct server {
    pid_t pid;
    char dir[64], portfile[96], log[96], url[64];
} server_t;

/* The running server, stopped by the test's fini even when an assertion ends the test. */
static server_t *running;

static void server_stop(server_t *s);

static void stop_running(void)
{
    if (running)
        server_stop(running);
}

static void server_start(server_t *s)
{
    struct stat st;
    if (stat(SERVER, &st) != 0 || system("python3 -c 1 >/dev/null 2>&1") != 0)
        cr_skip_test("python3 or %s absent", SERVER);
    snprintf(s->dir, sizeof s->dir, "/tmp/nd_rest_XXXXXX");
    cr_assert_not_null(mkdtemp(s->dir));
    snprintf(s->portfile, sizeof s->portfile, "%s/port", s->dir);
    snprintf(s->log, sizeof s->log, "%s/log", s->dir);
    char *argv[] = {"python3", SERVER, s->portfile, s->log, "testkey", "testsecret",
                    FIXTURES, NULL};
    cr_assert_eq(posix_spawnp(&s->pid, "python3", NULL, NULL, argv, environ), 0);
    int port = 0;
    for (int i = 0; i < 200 && port == 0; i++) {
        FILE *f = fopen(s->portfile, "r");
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
    running = s;
}

static void server_stop(server_t *s)
{
    running = NULL;
    kill(s->pid, SIGTERM);
    waitpid(s->pid, NULL, 0);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
    (void)system(cmd);
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

static nd_binance_rest_t *client(const server_t *s, const char *secret)
{
    nd_secret_t sec;
    memset(&sec, 0, sizeof sec);
    snprintf(sec.api_key, sizeof sec.api_key, "testkey");
    snprintf(sec.api_secret, sizeof sec.api_secret, "%s", secret);
    nd_binance_rest_config_t cfg = {.base_url = s->url, .secret = &sec, .timeout_ms = 5000};
    nd_binance_rest_t *r;
    char err[256];
    cr_assert_eq(nd_binance_rest_create(&cfg, nd_clock_os(), &r, err, sizeof err), ND_OK, "%s", err);
    return r;
}

static nd_reject_t place(nd_binance_rest_t *r, const char *cid, nd_binance_order_type_t type,
                         int64_t px, int64_t qty, long *status)
{
    nd_binance_order_t o = {.symbol = "RUNEEUR", .side = ND_MD_SIDE_BID, .type = type, .px = px,
                            .qty = qty, .stop_px = type == ND_BINANCE_STOP_LOSS_LIMIT ? px : 0};
    snprintf(o.client_order_id, sizeof o.client_order_id, "%s", cid);
    nd_binance_rest_result_t res;
    char err[256] = "";
    cr_assert_eq(nd_binance_rest_new_order(r, &o, &res, err, sizeof err), ND_OK, "%s: %s", cid, err);
    *status = res.http_status;
    nd_reject_t why = res.reject;
    nd_binance_rest_result_free(&res);
    return why;
}

Test(binance_rest, orders_filters_signatures, .timeout = 60, .fini = stop_running)
{
    server_t s;
    server_start(&s);
    nd_binance_rest_t *r = client(&s, "testsecret");
    char err[256] = "";
    long st;
    cr_assert_eq(nd_binance_rest_sync_time(r, err, sizeof err), ND_OK, "%s", err);
    int64_t off = nd_binance_rest_time_offset_ms(r);
    cr_assert(off > 4000 && off < 6000, "offset %lld", (long long)off); /* the server runs +5 s */
    cr_assert_eq(nd_binance_rest_load_filters(r, "RUNEEUR", err, sizeof err), ND_OK, "%s", err);
    /* Refused locally: nothing reaches the server. */
    cr_assert_eq(place(r, "p1", ND_BINANCE_LIMIT, 625050000, 200000000, &st), ND_REJECT_INVALID_PRICE);
    cr_assert_eq(st, 0);
    cr_assert_eq(place(r, "p2", ND_BINANCE_LIMIT, 625000000, 15000000, &st), ND_REJECT_INVALID_QUANTITY);
    cr_assert_eq(place(r, "p3", ND_BINANCE_LIMIT, 625000000, 100000000, &st),
                 ND_REJECT_BELOW_MIN_NOTIONAL);
    cr_assert_eq(count_lines(s.log, "\"/api/v3/order\""), 0);
    /* Every order type, with exactly the parameters it needs (checked by the server). */
    cr_assert_eq(place(r, "ok-limit", ND_BINANCE_LIMIT, 625000000, 200000000, &st), ND_REJECT_NONE);
    cr_assert_eq(st, 200);
    cr_assert_eq(place(r, "ok-maker", ND_BINANCE_LIMIT_MAKER, 625000000, 200000000, &st), ND_REJECT_NONE);
    cr_assert_eq(place(r, "ok-stop", ND_BINANCE_STOP_LOSS_LIMIT, 625000000, 200000000, &st),
                 ND_REJECT_NONE);
    cr_assert_eq(place(r, "ok_mkt", ND_BINANCE_MARKET, 0, 200000000, &st), ND_REJECT_NONE);
    cr_assert_gt(nd_binance_rest_used_weight(r), 0);
    cr_assert_eq(place(r, "nofunds", ND_BINANCE_LIMIT, 625000000, 200000000, &st),
                 ND_REJECT_INSUFFICIENT_FUNDS);
    cr_assert_eq(place(r, "boom500", ND_BINANCE_LIMIT, 625000000, 200000000, &st),
                 ND_REJECT_VENUE_STATUS_UNKNOWN);
    nd_binance_rest_result_t res;
    cr_assert_eq(nd_binance_rest_cancel(r, "RUNEEUR", "unknown", &res, err, sizeof err), ND_OK);
    cr_assert_eq(res.reject, ND_REJECT_VENUE_UNKNOWN_ORDER);
    cr_assert_eq(res.venue_code, -2011);
    nd_binance_rest_result_free(&res);
    cr_assert_eq(nd_binance_rest_query(r, "RUNEEUR", "ok-limit", &res, err, sizeof err), ND_OK);
    cr_assert_eq(res.reject, ND_REJECT_NONE);
    nd_binance_rest_result_free(&res);
    cr_assert_eq(nd_binance_rest_open_orders(r, "RUNEEUR", &res, err, sizeof err), ND_OK);
    cr_assert_str_eq(res.body, "[]");
    nd_binance_rest_result_free(&res);
    cr_assert_eq(nd_binance_rest_account(r, &res, err, sizeof err), ND_OK);
    cr_assert(strstr(res.body, "EUR") != NULL);
    nd_binance_rest_result_free(&res);
    /* Every signed request carried the right key and signature. */
    int signed_requests = count_lines(s.log, "sig_ok");
    cr_assert_eq(signed_requests, 10);
    cr_assert_eq(count_lines(s.log, "\"sig_ok\": true"), signed_requests);
    cr_assert_eq(count_lines(s.log, "\"apikey_ok\": true"), signed_requests);
    /* The six orders and the cancel carried their parameters in the form body, the three
     * signed GETs in the query. */
    cr_assert_eq(count_lines(s.log, "\"in_body\": true"), 7);
    nd_binance_rest_destroy(r);
    /* A wrong secret: the server refuses the signature. */
    r = client(&s, "wrongsecret");
    cr_assert_eq(place(r, "x1", ND_BINANCE_MARKET, 0, 200000000, &st), ND_REJECT_VENUE_UNAUTHORIZED);
    nd_binance_rest_destroy(r);
    server_stop(&s);
}

Test(binance_rest, backoff_429_and_stop_418, .timeout = 60, .fini = stop_running)
{
    server_t s;
    server_start(&s);
    nd_binance_rest_t *r = client(&s, "testsecret");
    char err[256] = "";
    long st;
    cr_assert_eq(nd_binance_rest_sync_time(r, err, sizeof err), ND_OK, "%s", err);
    nd_binance_order_t o = {.symbol = "RUNEEUR", .client_order_id = "rl429", .side = ND_MD_SIDE_BID,
                            .type = ND_BINANCE_MARKET, .qty = 100000000};
    nd_binance_rest_result_t res;
    cr_assert_eq(nd_binance_rest_new_order(r, &o, &res, err, sizeof err), ND_OK);
    cr_assert_eq(res.http_status, 429);
    cr_assert_eq(res.reject, ND_REJECT_VENUE_RATE_LIMITED);
    cr_assert_eq(res.retry_after_s, 1);
    nd_binance_rest_result_free(&res);
    int before = count_lines(s.log, "\"path\"");
    /* Within Retry-After: refused without sending. */
    cr_assert_eq(nd_binance_rest_new_order(r, &o, &res, err, sizeof err), ND_EAGAIN);
    cr_assert_eq(count_lines(s.log, "\"path\""), before);
    usleep(1200000);
    cr_assert_eq(place(r, "after", ND_BINANCE_MARKET, 0, 100000000, &st), ND_REJECT_NONE);
    cr_assert_eq(place(r, "ban418", ND_BINANCE_MARKET, 0, 100000000, &st), ND_REJECT_VENUE_BANNED);
    cr_assert_eq(st, 418);
    before = count_lines(s.log, "\"path\"");
    cr_assert_eq(nd_binance_rest_account(r, &res, err, sizeof err), ND_ESTATE);
    cr_assert(strstr(err, "418") != NULL);
    cr_assert_eq(count_lines(s.log, "\"path\""), before);
    nd_binance_rest_destroy(r);
    server_stop(&s);
}
