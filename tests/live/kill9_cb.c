/* kill9_cb.c: the kill -9 test of the Coinbase Advanced Trade live adapter (cb_exec.c), its order
 * journal and reconciliation against exchange-sim --venue coinbase (issue 12, item 3), the
 * Coinbase twin of kill9.c: the same harness (kill9_harness.c: flow, kill points, restart and
 * checks; see kill9_harness.h), with the Coinbase part here: the REST client with ES256 JWTs
 * (a fresh P-256 key a run, its private half in a file the children read) and the product's
 * rules, the mid price, exchange-sim speaking Advanced Trade (fees in quote), venue ids as the
 * UUIDs' keys, a market order's unfilled rest CANCELLED, failed creates not listed, a foreign
 * web order. Usage: kill9_cb [--seeds N] [--first S] [--kill-max K] [--sync MODE]
 * [--power-loss] [--verbose], as kill9, but kill points are drawn from 1..35 by default (the
 * worker syncs the journal before each request, so a flow here passes fewer hooks: at 60 half
 * the children finished unkilled; at 35 nearly nine in ten die mid-flow). With --power-loss a
 * venue order of ours without its journal line must be done (cancelled by the restart as
 * unknown_ours, or filled: its fills booked as fill_missing). */
#include "../../src/xsim/xsim_int.h"

#include "kill9_harness.h"

#include "noderr/coinbase.h"
#include "noderr/venue.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_NAME "organizations/kill9/apiKeys/kill9-key"
#define PRODUCT "BTC-USD"

static const nd_recon_instrument_t assets = {.base = "BTC", .quote = "USD"};
static char priv_pem[1024], pub_pem[512];
static nd_coinbase_product_rules_t rules; /* the session's product rules, read by rest_open */

/* The REST client and the product's rules. */
static bool rest_open(k9_session_t *s, int port, char *err, size_t err_len)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    nd_coinbase_rest_t *rest = NULL;
    nd_err_t rc = nd_coinbase_rest_create(url, KEY_NAME, priv_pem, s->clock, 5000, &rest, err,
                                          err_len);
    s->rest = rest;
    return rc == ND_OK &&
           nd_coinbase_public_product(url, PRODUCT, 5000, &rules, err, err_len) == ND_OK;
}

static bool exec_create(k9_session_t *s, void (*hook_cb)(void *, const char *), char *err,
                        size_t err_len)
{
    nd_coinbase_exec_config_t ecfg = {.clock = s->clock, .product_id = PRODUCT, .assets = assets,
                                      .tag = "k9", .poll_interval_ns = 5 * ND_NS_PER_MS,
                                      .hook_cb = hook_cb, .rules = rules, .rest = s->rest,
                                      .journal = s->journal, .local = s->local, .run = s->runs};
    nd_coinbase_exec_t *exec = NULL;
    nd_err_t rc = nd_coinbase_exec_create(&ecfg, &exec, err, err_len);
    s->exec = exec;
    return rc == ND_OK;
}

K9_ADAPTER_CALLS(nd_coinbase_exec, nd_coinbase_rest)

/* Market data: an HTTP client for the public product endpoint. */
static void *md_open(const k9_session_t *s, int port)
{
    (void)s;
    (void)port;
    nd_http_t *http = NULL;
    return nd_http_create(5000, &http) == ND_OK ? http : NULL;
}

static void md_close(void *md) { nd_http_destroy(md); }

/* The product's mid price (its "price", on the tick) from the public product endpoint, as both
 * bid and ask. */
static int mid_price(void *http, int port, int64_t *bid, int64_t *ask)
{
    char url[128], err[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/v3/brokerage/market/products/" PRODUCT,
             port);
    nd_http_response_t res;
    memset(&res, 0, sizeof res);
    if (nd_http_request(http, "GET", url, NULL, NULL, &res, err, sizeof err) != ND_OK)
        return -1;
    nd_jtok_t tok[128];
    uint32_t count = 0;
    int rc = -1;
    if (res.status == 200 && nd_json_tokenize(res.body, res.body_len, tok, 128, &count) == ND_OK) {
        uint32_t p = nd_json_get(res.body, tok, 0, "price");
        if (p && nd_venue_decimal(res.body + tok[p].start, tok[p].end - tok[p].start, 8, bid) ==
                     ND_OK && *bid > 0)
            rc = 0;
    }
    *ask = *bid;
    nd_http_response_free(&res);
    return rc;
}

static void api_config(nd_xsim_api_config_t *acfg)
{
    acfg->api_key = KEY_NAME;
    acfg->api_secret = "";
    acfg->venue = ND_XSIM_VENUE_COINBASE;
    acfg->cb_public_key_pem = pub_pem;
}

/* The venue's order as Coinbase lists it, in the journal's terms (a market order's unfilled
 * rest is CANCELLED on Coinbase, EXPIRED only for a limit's). */
static nd_recon_status_t venue_status(const nd_xsim_user_order_t *vo)
{
    return vo->status == ND_XSIM_EXPIRED && vo->type == ND_XSIM_MARKET ? ND_RECON_CANCELLED
                                                                        : k9_xsim_status(vo);
}

/* An order's venue id: the key of the UUID exchange-sim gives it. */
static int64_t order_key(int64_t id)
{
    char uuid[37];
    nd__xsim_cb_order_uuid(id, uuid);
    return nd_coinbase_id_key(uuid);
}

/* A fill's trade id as exchange-sim writes it (fill_json) and the adapter keys it. */
static int64_t trade_key(int64_t id)
{
    char uuid[37];
    snprintf(uuid, sizeof uuid, "00000000-0000-4000-c000-%012llx",
             (unsigned long long)id & 0xffffffffffffULL);
    return nd_coinbase_id_key(uuid);
}

/* Another program trading the same account (a web order): a buy far below the market with a
 * client order id that is not ours. Reconciliation must surface it and never touch it. */
static int place_foreign(int port, uint64_t seed)
{
    char url[64], err[256] = "", clid[32];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    snprintf(clid, sizeof clid, "web_%llu", (unsigned long long)seed);
    nd_coinbase_rest_t *rest = NULL;
    nd_coinbase_order_result_t res;
    nd_coinbase_order_req_t req = {.client_order_id = clid, .product_id = PRODUCT, .buy = true,
                                   .base_size = "0.001", .limit_price = "20000.00"};
    int rc = nd_coinbase_rest_create(url, KEY_NAME, priv_pem, nd_clock_os(), 5000, &rest, err,
                                     sizeof err) == ND_OK &&
                     nd_coinbase_create_order(rest, &req, &res, err, sizeof err) == ND_OK &&
                     res.success
                 ? 0 : -1;
    if (rc != 0)
        fprintf(stderr, "kill9_cb: the foreign order: %s\n", err);
    nd_coinbase_rest_destroy(rest);
    return rc;
}

/* A fresh P-256 key: the private half signs the JWTs (the children read it from the file whose
 * path goes into key_path), the public half is exchange-sim's. */
static int make_keys(char *key_path, size_t len)
{
    snprintf(key_path, len, "/tmp/nd-kill9cb-%d.pem", (int)getpid());
    EVP_PKEY *key = EVP_EC_gen("P-256");
    BIO *b = BIO_new(BIO_s_mem());
    int n = key && b && PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL)
                ? BIO_read(b, priv_pem, (int)sizeof priv_pem - 1) : -1;
    priv_pem[n > 0 ? n : 0] = '\0';
    BIO_free(b);
    b = BIO_new(BIO_s_mem());
    int m = key && b && PEM_write_bio_PUBKEY(b, key) ? BIO_read(b, pub_pem, (int)sizeof pub_pem - 1)
                                                     : -1;
    pub_pem[m > 0 ? m : 0] = '\0';
    BIO_free(b);
    EVP_PKEY_free(key);
    FILE *f = fopen(key_path, "w");
    int rc = n > 0 && m > 0 && f && chmod(key_path, 0600) == 0 && fputs(priv_pem, f) >= 0 ? 0 : -1;
    if (f && fclose(f) != 0)
        rc = -1;
    if (rc != 0)
        fprintf(stderr, "kill9_cb: cannot make the ES256 key\n");
    return rc;
}

static int read_key(const char *key_path)
{
    FILE *f = fopen(key_path, "r");
    size_t n = f ? fread(priv_pem, 1, sizeof priv_pem - 1, f) : 0;
    if (f)
        fclose(f);
    priv_pem[n] = '\0';
    return n > 0 ? 0 : -1;
}

/* The worker syncs the journal before each request, so a flow here passes fewer hooks than
 * Binance's: kill points 1..35. A taking limit goes 5 ticks through the mid. */
static const k9_venue_t coinbase = {
    .name = "kill9_cb", .journal_stem = "nd-kill9cb", .inst = "BTC/USD",
    .assets = {.base = "BTC", .quote = "USD"}, .fee_in_quote = true, .kill_max = 35,
    .take_ticks = 5, .skip_rejected = true, .trade_noun = "fill", .no_price = "no product price",
    .second_clid = true, .restart_parts = "replay, venue view, resolutions, cancels settled",
    .connect = rest_open, .exec_create = exec_create, .recover = k9_recover, .start = k9_start,
    .venue = k9_venue, .exec_destroy = k9_exec_destroy, .rest_destroy = k9_rest_destroy,
    .md_open = md_open, .md_close = md_close, .prices = mid_price, .api_config = api_config,
    .venue_status = venue_status, .order_key = order_key, .trade_key = trade_key,
    .place_foreign = place_foreign, .prepare = make_keys, .child_prepare = read_key};

int main(int argc, char **argv)
{
    return k9_main(&coinbase, argc, argv);
}
