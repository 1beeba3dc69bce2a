/* cb_sim_fixture.h: exchange-sim --venue coinbase in a test process, its REST server on a
 * thread of its own, with a fresh ES256 key pair (priv_pem signs the JWTs, pub_pem verifies
 * them) and 100,000 USD: the set-up of the Coinbase adapter's tests (test_coinbase_exec.c,
 * test_coinbase_paging.c). Include it after <criterion/criterion.h>, "../../src/xsim/xsim_int.h"
 * and OpenSSL's bio, evp and pem headers, in one test file each. */
#ifndef ND_TEST_CB_SIM_FIXTURE_H
#define ND_TEST_CB_SIM_FIXTURE_H

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define KEY_NAME "organizations/org-1/apiKeys/key-x"
#define E8 100000000LL

typedef struct sim {
    nd_xsim_t *x;
    nd_xsim_api_t *api;
    nd_xsim_server_t *server;
    pthread_t thread;
    char rest_url[64];
} sim_t;

static char priv_pem[1024], pub_pem[512];

static void make_keys(void)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    cr_assert_not_null(key);
    BIO *b = BIO_new(BIO_s_mem());
    cr_assert(PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL));
    int n = BIO_read(b, priv_pem, (int)sizeof priv_pem - 1);
    priv_pem[n > 0 ? n : 0] = '\0';
    BIO_free(b);
    b = BIO_new(BIO_s_mem());
    cr_assert(PEM_write_bio_PUBKEY(b, key));
    n = BIO_read(b, pub_pem, (int)sizeof pub_pem - 1);
    pub_pem[n > 0 ? n : 0] = '\0';
    BIO_free(b);
    EVP_PKEY_free(key);
}

static void *serve(void *arg)
{
    nd_xsim_server_run(arg);
    return NULL;
}

/* page_max: exchange-sim's page of orders and fills (0: its default). */
static void sim_start(sim_t *s, nd_clock_t *clock, uint32_t page_max)
{
    char err[256] = "";
    nd_xsim_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cr_assert_eq(nd_instrument_init(&cfg.inst, "BTC/USD", "xsim"), ND_OK);
    cfg.quote_balance = 100000 * E8;
    cfg.base_balance = 0;
    cfg.fee_bps = 10;
    cfg.fee_in_quote = true;
    nd_synth_ticks_config_default(&cfg.synth);
    cfg.synth.step_ns = 5 * ND_NS_PER_MS;
    cfg.synth.events = 1000000;
    cfg.synth.level_qty_max = 20000;
    nd_xsim_api_config_t acfg = {.api_key = KEY_NAME, .api_secret = "", .admin_token = "t-0123456789abcdef",
                                 .venue = ND_XSIM_VENUE_COINBASE, .cb_public_key_pem = pub_pem,
                                 .cb_page_max = page_max};
    memset(s, 0, sizeof *s);
    cr_assert_eq(nd_xsim_create(&cfg, nd_clock_now_ns(clock), &s->x, err, sizeof err), ND_OK,
                 "%s", err);
    cr_assert_eq(nd_xsim_api_create(s->x, &acfg, &s->api), ND_OK);
    nd_xsim_server_config_t scfg = {.bind = "127.0.0.1", .market_step_ns = 10 * ND_NS_PER_MS,
                                    .clock = clock};
    int port = 0;
    cr_assert_eq(nd_xsim_server_open(s->api, s->x, &scfg, &s->server, &port, err, sizeof err),
                 ND_OK, "%s", err);
    snprintf(s->rest_url, sizeof s->rest_url, "http://127.0.0.1:%d", port);
    cr_assert_eq(pthread_create(&s->thread, NULL, serve, s->server), 0);
}

static void sim_stop(sim_t *s)
{
    nd_xsim_server_stop(s->server);
    cr_assert_eq(pthread_join(s->thread, NULL), 0);
    nd_xsim_server_close(s->server);
    nd_xsim_api_destroy(s->api);
    nd_xsim_destroy(s->x);
}

#endif
