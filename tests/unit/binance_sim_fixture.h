/* binance_sim_fixture.h: exchange-sim (Binance) in a test process, its server on a thread of its
 * own on 127.0.0.1, with an account of 1 BTC and the configured USDT, a REST client with the
 * keys (clock offset synced, BTCUSDT's filters loaded), an intent journal and the Binance order
 * adapter on them, reconciled and started: the set-up of the adapter's tests
 * (test_binance_exec.c, test_exec_stream.c) and of bench/bench_exec_loop.c. No Criterion here
 * (the bench includes it): each call returns ND_OK or an error with err set. Include it after
 * "noderr/alloc.h", "noderr/binance.h" and "noderr/xsim.h", in one file each. */
#ifndef ND_TEST_BINANCE_SIM_FIXTURE_H
#define ND_TEST_BINANCE_SIM_FIXTURE_H

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct bsim_config {
    const char *key, *secret;  /* the account's API key and secret */
    int64_t quote_balance;     /* USDT, 1e-8 */
    int64_t fee_bps;
    int64_t step_ns;           /* the synthetic market's step */
    int64_t market_step_ns;    /* the server's market clock */
    int64_t weight_limit;      /* exchange-sim's request weight a minute, and the client's */
    int64_t recv_window_ms;    /* the client's (0: its default) */
} bsim_config_t;

typedef struct bsim {
    nd_xsim_t *x;
    nd_xsim_api_t *api;
    nd_xsim_server_t *server;
    pthread_t thread;
    int port;
    nd_binance_rest_t *rest;
    nd_journal_t *journal;
    nd_recon_local_t *local;
    nd_binance_exec_t *exec;
    nd_exec_venue_t venue;
    size_t recovered; /* the differences the start's reconciliation found */
    char path[512];   /* the journal, removed by bsim_close */
} bsim_t;

static void *bsim_serve(void *arg)
{
    nd_xsim_server_run(arg);
    return NULL;
}

/* exchange-sim on its thread, and the REST client on it. */
static nd_err_t bsim_open(bsim_t *b, const bsim_config_t *c, nd_clock_t *clock, char *err,
                          size_t err_len)
{
    memset(b, 0, sizeof *b);
    nd_xsim_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    nd_err_t rc = nd_instrument_init(&cfg.inst, "BTCUSDT", "xsim");
    cfg.quote_balance = c->quote_balance;
    cfg.base_balance = 100000000;
    cfg.fee_bps = c->fee_bps;
    nd_synth_ticks_config_default(&cfg.synth);
    cfg.synth.step_ns = c->step_ns;
    cfg.synth.events = 1000000000;
    nd_xsim_api_config_t acfg = {.api_key = c->key, .api_secret = c->secret,
                                 .weight_limit = c->weight_limit};
    nd_xsim_server_config_t scfg = {.bind = "127.0.0.1", .market_step_ns = c->market_step_ns,
                                    .clock = clock};
    if (rc == ND_OK)
        rc = nd_xsim_create(&cfg, nd_clock_now_ns(clock), &b->x, err, err_len);
    if (rc == ND_OK)
        rc = nd_xsim_api_create(b->x, &acfg, &b->api);
    if (rc == ND_OK)
        rc = nd_xsim_server_open(b->api, b->x, &scfg, &b->server, &b->port, err, err_len);
    if (rc == ND_OK && pthread_create(&b->thread, NULL, bsim_serve, b->server) != 0)
        rc = ND_EIO;
    if (rc != ND_OK)
        return rc;
    nd_secret_t sec;
    memset(&sec, 0, sizeof sec);
    snprintf(sec.api_key, sizeof sec.api_key, "%s", c->key);
    snprintf(sec.api_secret, sizeof sec.api_secret, "%s", c->secret);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", b->port);
    nd_binance_rest_config_t rcfg = {.base_url = url, .secret = &sec,
                                     .recv_window_ms = c->recv_window_ms,
                                     .weight_limit_1m = c->weight_limit};
    rc = nd_binance_rest_create(&rcfg, clock, &b->rest, err, err_len);
    if (rc == ND_OK)
        rc = nd_binance_rest_sync_time(b->rest, err, err_len);
    if (rc == ND_OK)
        rc = nd_binance_rest_load_filters(b->rest, "BTCUSDT", err, err_len);
    return rc;
}

/* A fresh journal at path (journal.sync batched or before_send) and the adapter on it (ecfg
 * without rest, journal and local: the fixture's), reconciled; its worker started if start. */
static nd_err_t bsim_adapter(bsim_t *b, nd_binance_exec_config_t *ecfg, const char *path,
                             bool batched, bool start, char *err, size_t err_len)
{
    snprintf(b->path, sizeof b->path, "%s", path);
    unlink(b->path);
    b->local = nd_calloc(1, sizeof *b->local);
    nd_err_t rc = b->local ? nd_journal_open(b->path, NULL, NULL, &b->journal, err, err_len)
                           : ND_ENOMEM;
    if (rc == ND_OK && batched)
        rc = nd_journal_set_sync(b->journal, ND_JOURNAL_SYNC_BATCHED, err, err_len);
    ecfg->rest = b->rest;
    ecfg->journal = b->journal;
    ecfg->local = b->local;
    if (rc == ND_OK)
        rc = nd_binance_exec_create(ecfg, &b->exec, err, err_len);
    nd_recon_policy_t policy;
    nd_recon_policy_default(&policy);
    bool halt;
    if (rc == ND_OK)
        rc = nd_binance_exec_recover(b->exec, &policy, false, NULL, 0, &b->recovered, &halt, err,
                                     err_len);
    if (rc == ND_OK && start)
        rc = nd_binance_exec_start(b->exec);
    if (rc == ND_OK)
        b->venue = nd_binance_exec_venue(b->exec);
    return rc;
}

/* The adapter, the journal (its file removed), the client and exchange-sim. */
static void bsim_close(bsim_t *b)
{
    nd_binance_exec_destroy(b->exec);
    nd_journal_close(b->journal);
    nd_binance_rest_destroy(b->rest);
    nd_xsim_server_stop(b->server);
    pthread_join(b->thread, NULL);
    nd_xsim_server_close(b->server);
    nd_xsim_api_destroy(b->api);
    nd_xsim_destroy(b->x);
    nd_free(b->local);
    unlink(b->path);
}

#endif
