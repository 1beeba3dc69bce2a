/* test_xsim_auth.c: exchange-sim's API-key types (xsim_auth.c). The verifier on its own: the
 * HMAC and Ed25519 known answers, RSA against OpenSSL, tampered payloads, signatures that are
 * not exactly base64 of the key's size, and public keys refused at registration. Then the
 * project's REST client with an Ed25519 key (and with RSA) places, queries and cancels an order
 * on exchange-sim's server on 127.0.0.1, and a client holding another key gets -1022. */
#include "noderr/binance.h"
#include "noderr/venue.h"
#include "noderr/xsim.h"

#include <criterion/criterion.h>

#include "test_keys.h"
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static const char ed_priv[] = "-----BEGIN PRIVATE KEY-----\n"
                              "MC4CAQAwBQYDK2VwBCIEIIiu/qKnmeYEFnCfWYUxcvQV3HLgJWJXiJ4Fxe0xmDp0\n"
                              "-----END PRIVATE KEY-----\n";
static const char ed_pub[] = "-----BEGIN PUBLIC KEY-----\n"
                             "MCowBQYDK2VwAyEAclVslm0blBT9nXk29CTLHCXVo3uRKYygAd/jLMVCOts=\n"
                             "-----END PUBLIC KEY-----\n";
static const char ed_payload[] = "symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity=1"
                                 "&price=0.2&timestamp=1668481559918&recvWindow=5000";
static const char ed_sig[] = "qOxVIUSbX6psfFpHimJjipqjmMcCaDI8kMQj/soMG20otDLZ1rISjnzV8FXRMPS8b"
                             "dhkRACndBpnKUPX5YgZAA==";

static nd_xsim_auth_t *auth_of(int type, const char *pem)
{
    nd_xsim_auth_t *a = NULL;
    char err[256] = "";
    cr_assert_eq(nd_xsim_auth_create(type, pem, strlen(pem), &a, err, sizeof err), ND_OK, "%s",
                 err);
    return a;
}

Test(xsim_auth, hmac_known_answer)
{
    nd_xsim_api_config_t cfg = {.api_key = "k",
                                .api_secret =
                                    "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"};
    const char *q = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
                    "&recvWindow=5000&timestamp=1499827319559";
    const char *sig = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71";
    cr_assert(nd_xsim_auth_verify(&cfg, q, strlen(q), NULL, 0, sig));
    cr_assert(nd_xsim_auth_verify(&cfg, q, 20, q + 20, strlen(q) - 20, sig));
    cr_assert(nd_xsim_auth_verify(&cfg, q, strlen(q), "", 0,
                                  "C8DB56825AE71D6D79447849E617115F4A920FA2ACDCAB2B053C4B2838BD6B71"));
    cr_assert_not(nd_xsim_auth_verify(&cfg, q, strlen(q) - 1, NULL, 0, sig));
    cr_assert_not(nd_xsim_auth_verify(&cfg, q, strlen(q), NULL, 0, "c8db"));
    /* No secret (an asymmetric key registered without its public key): nothing verifies,
     * not even an HMAC made with the empty key. */
    nd_xsim_api_config_t empty = {.api_key = "k", .api_secret = ""};
    char hex[65];
    cr_assert_eq(nd_binance_sign("", 0, q, strlen(q), NULL, 0, hex), ND_OK);
    cr_assert_not(nd_xsim_auth_verify(&empty, q, strlen(q), NULL, 0, hex));
    /* An Ed25519 signature against an HMAC key is just wrong. */
    cr_assert_not(nd_xsim_auth_verify(&cfg, ed_payload, strlen(ed_payload), NULL, 0, ed_sig));
}

Test(xsim_auth, ed25519_known_answer_and_tampering)
{
    nd_xsim_auth_t *a = auth_of(ND_BINANCE_KEY_ED25519, ed_pub);
    nd_xsim_api_config_t cfg = {.api_key = "k", .api_secret = "", .auth = a};
    size_t n = strlen(ed_payload);
    cr_assert(nd_xsim_auth_verify(&cfg, ed_payload, n, NULL, 0, ed_sig));
    cr_assert(nd_xsim_auth_verify(&cfg, ed_payload, 10, ed_payload + 10, n - 10, ed_sig));
    cr_assert_not(nd_xsim_auth_verify(&cfg, ed_payload, n - 1, NULL, 0, ed_sig));
    char bad[128];
    strcpy(bad, ed_sig);
    bad[5] ^= 1; /* one bit of the signature */
    cr_assert_not(nd_xsim_auth_verify(&cfg, ed_payload, n, NULL, 0, bad));
    /* Not exactly padded base64 of 64 bytes: refused before OpenSSL. */
    const char *shapes[] = {"", "qOxV", "qOxVIUSbX6psfFpHimJjipqjmMcCaDI8kMQj/soMG20otDLZ1rISjnzV8FXR"
                            "MPS8bdhkRACndBpnKUPX5YgZAA=",
                            "qOxVIUSbX6psfFpHimJjipqjmMcCaDI8kMQj soMG20otDLZ1rISjnzV8FXRMPS8bdhk"
                            "RACndBpnKUPX5YgZAA==",
                            "qOxVIUSbX6psfFpHimJjipqjmMcCaDI8kMQj/soMG20otDLZ1rISjnzV8FXRMPS8bdhk"
                            "RACndBpnKUPX5YgZ====",
                            "a8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        cr_assert_not(nd_xsim_auth_verify(&cfg, ed_payload, n, NULL, 0, shapes[i]), "%zu", i);
    nd_xsim_auth_destroy(a);
}

Test(xsim_auth, rsa_verifies_the_signer)
{
    static char pem[4096], pub[1024];
    test_rsa_key(2048, pem, sizeof pem, pub, sizeof pub);
    nd_binance_signer_t *s = NULL;
    char err[256] = "", sig[ND_BINANCE_SIGNATURE_MAX];
    size_t len = 0;
    cr_assert_eq(nd_binance_signer_create(ND_BINANCE_KEY_RSA, pem, strlen(pem), &s, err,
                                          sizeof err), ND_OK, "%s", err);
    cr_assert_eq(nd_binance_signer_sign(s, "a=1&b=2", 7, "c=3", 3, false, sig, sizeof sig, &len),
                 ND_OK);
    nd_binance_signer_destroy(s);
    nd_xsim_auth_t *a = auth_of(ND_BINANCE_KEY_RSA, pub);
    nd_xsim_api_config_t cfg = {.api_key = "k", .api_secret = "", .auth = a};
    cr_assert(nd_xsim_auth_verify(&cfg, "a=1&b=2c=3", 10, NULL, 0, sig));
    cr_assert_not(nd_xsim_auth_verify(&cfg, "a=1&b=2c=4", 10, NULL, 0, sig));
    cr_assert_not(nd_xsim_auth_verify(&cfg, "a=1&b=2c=3", 10, NULL, 0, ed_sig));
    nd_xsim_auth_destroy(a);
}

static void refused(int type, const char *pem, const char *want)
{
    nd_xsim_auth_t *a = NULL;
    char err[256] = "";
    cr_assert_eq(nd_xsim_auth_create(type, pem, strlen(pem), &a, err, sizeof err), ND_EINVAL,
                 "accepted: %s", want);
    cr_assert_null(a);
    cr_assert_not_null(strstr(err, want), "'%s' does not say '%s'", err, want);
}

Test(xsim_auth, registration_refusals)
{
    refused(ND_BINANCE_KEY_ED25519, ed_priv, "a private key: register the public half");
    refused(ND_BINANCE_KEY_RSA, ed_pub, "the public key is Ed25519, not RSA");
    refused(ND_BINANCE_KEY_HMAC, ed_pub, "ed25519 or rsa only");
    refused(ND_BINANCE_KEY_ED25519, "clVslm0blBT9nXk29CTLHCXVo3uRKYygAd", "not a PEM public key");
    refused(ND_BINANCE_KEY_ED25519, "-----BEGIN PUBLIC KEY-----\nMCowBQ!!\n-----END PUBLIC KEY-----\n",
            "OpenSSL can read");
    static char pem[4096], pub[1024];
    test_rsa_key(1024, pem, sizeof pem, pub, sizeof pub);
    refused(ND_BINANCE_KEY_RSA, pub, "1024 bits");
    refused(ND_BINANCE_KEY_ED25519, pub, "the public key is RSA, not Ed25519");
}

/* ---- the REST client on exchange-sim ---------------------------------------------------- */

static void *serve(void *arg)
{
    nd_xsim_server_run(arg);
    return NULL;
}

typedef struct sim {
    nd_xsim_t *x;
    nd_xsim_api_t *api;
    nd_xsim_server_t *server;
    nd_xsim_auth_t *auth;
    pthread_t thread;
    char url[64];
} sim_t;

static void sim_start(sim_t *s, int type, const char *pub)
{
    memset(s, 0, sizeof *s);
    nd_xsim_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cr_assert_eq(nd_instrument_init(&cfg.inst, "BTCUSDT", "xsim"), ND_OK);
    cfg.quote_balance = (int64_t)10000 * 100000000;
    nd_synth_ticks_config_default(&cfg.synth);
    cfg.synth.step_ns = 100 * ND_NS_PER_MS;
    cfg.synth.events = 1000000000;
    char err[256] = "";
    nd_clock_t *clock = nd_clock_os();
    cr_assert_eq(nd_xsim_create(&cfg, nd_clock_now_ns(clock), &s->x, err, sizeof err), ND_OK);
    s->auth = auth_of(type, pub);
    nd_xsim_api_config_t acfg = {.api_key = "ed-key", .api_secret = "", .auth = s->auth};
    cr_assert_eq(nd_xsim_api_create(s->x, &acfg, &s->api), ND_OK);
    nd_xsim_server_config_t scfg = {.bind = "127.0.0.1", .market_step_ns = 50 * ND_NS_PER_MS,
                                    .clock = clock};
    int port = 0;
    cr_assert_eq(nd_xsim_server_open(s->api, s->x, &scfg, &s->server, &port, err, sizeof err),
                 ND_OK, "%s", err);
    cr_assert_eq(pthread_create(&s->thread, NULL, serve, s->server), 0);
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", port);
}

static void sim_stop(sim_t *s)
{
    nd_xsim_server_stop(s->server);
    cr_assert_eq(pthread_join(s->thread, NULL), 0);
    nd_xsim_server_close(s->server);
    nd_xsim_api_destroy(s->api);
    nd_xsim_auth_destroy(s->auth);
    nd_xsim_destroy(s->x);
}

static nd_binance_rest_t *client(const sim_t *s, nd_binance_key_type_t type, const char *pem)
{
    nd_secret_t sec;
    memset(&sec, 0, sizeof sec);
    strcpy(sec.api_key, "ed-key");
    snprintf(sec.api_secret, sizeof sec.api_secret, "%s", pem);
    nd_binance_rest_config_t rcfg = {.base_url = s->url, .secret = &sec, .key_type = type};
    nd_binance_rest_t *rest = NULL;
    char err[256] = "";
    cr_assert_eq(nd_binance_rest_create(&rcfg, nd_clock_os(), &rest, err, sizeof err), ND_OK,
                 "%s", err);
    nd_secret_wipe(&sec);
    cr_assert_eq(nd_binance_rest_sync_time(rest, err, sizeof err), ND_OK, "%s", err);
    return rest;
}

/* Places a LIMIT buy, finds it, cancels it: every call signed by the client's key. */
static void place_query_cancel(nd_binance_rest_t *rest, const char *id)
{
    char err[256] = "";
    nd_binance_order_t o = {.symbol = "BTCUSDT", .side = ND_MD_SIDE_BID,
                            .type = ND_BINANCE_LIMIT, .px = (int64_t)30000 * 100000000,
                            .qty = 100000};
    snprintf(o.client_order_id, sizeof o.client_order_id, "%s", id);
    nd_binance_rest_result_t res;
    cr_assert_eq(nd_binance_rest_new_order(rest, &o, &res, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(res.http_status, 200, "%s", res.body);
    cr_assert_eq(res.reject, ND_REJECT_NONE);
    nd_binance_rest_result_free(&res);
    cr_assert_eq(nd_binance_rest_query(rest, "BTCUSDT", id, &res, err, sizeof err), ND_OK);
    cr_assert(strstr(res.body, "\"status\":\"NEW\""), "%s", res.body);
    nd_binance_rest_result_free(&res);
    cr_assert_eq(nd_binance_rest_cancel(rest, "BTCUSDT", id, &res, err, sizeof err), ND_OK);
    cr_assert_eq(res.http_status, 200, "%s", res.body);
    cr_assert(strstr(res.body, "\"status\":\"CANCELED\""), "%s", res.body);
    nd_binance_rest_result_free(&res);
    cr_assert_eq(nd_binance_rest_open_orders(rest, "BTCUSDT", &res, err, sizeof err), ND_OK);
    cr_assert_str_eq(res.body, "[]");
    nd_binance_rest_result_free(&res);
}

Test(xsim_auth, ed25519_client_places_and_cancels, .timeout = 30)
{
    sim_t s;
    sim_start(&s, ND_BINANCE_KEY_ED25519, ed_pub);
    nd_binance_rest_t *rest = client(&s, ND_BINANCE_KEY_ED25519, ed_priv);
    place_query_cancel(rest, "ed-1");
    nd_binance_rest_destroy(rest);

    /* Another Ed25519 key under the same API key: -1022, mapped to unauthorized. */
    EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    BIO *b = BIO_new(BIO_s_mem());
    cr_assert_eq(PEM_write_bio_PrivateKey(b, other, NULL, NULL, 0, NULL, NULL), 1);
    char pem[512];
    int n = BIO_read(b, pem, sizeof pem - 1);
    pem[n > 0 ? n : 0] = '\0';
    BIO_free(b);
    EVP_PKEY_free(other);
    rest = client(&s, ND_BINANCE_KEY_ED25519, pem);
    nd_binance_rest_result_t res;
    char err[256] = "";
    cr_assert_eq(nd_binance_rest_open_orders(rest, "BTCUSDT", &res, err, sizeof err), ND_OK);
    cr_assert_eq(res.http_status, 400, "%s", res.body);
    cr_assert_eq(res.venue_code, -1022);
    cr_assert_eq(res.reject, ND_REJECT_VENUE_UNAUTHORIZED);
    nd_binance_rest_result_free(&res);
    nd_binance_rest_destroy(rest);
    sim_stop(&s);
}

Test(xsim_auth, rsa_client_places_and_cancels, .timeout = 30)
{
    static char pem[4096], pub[1024];
    test_rsa_key(2048, pem, sizeof pem, pub, sizeof pub);
    sim_t s;
    sim_start(&s, ND_BINANCE_KEY_RSA, pub);
    nd_binance_rest_t *rest = client(&s, ND_BINANCE_KEY_RSA, pem);
    place_query_cancel(rest, "rsa-1");
    nd_binance_rest_destroy(rest);
    sim_stop(&s);
}

Test(xsim_auth, client_refuses_a_key_of_the_wrong_type)
{
    nd_secret_t sec;
    memset(&sec, 0, sizeof sec);
    strcpy(sec.api_key, "k");
    strcpy(sec.api_secret, ed_priv);
    nd_binance_rest_config_t rcfg = {.base_url = "http://127.0.0.1:1", .secret = &sec,
                                     .key_type = ND_BINANCE_KEY_RSA};
    nd_binance_rest_t *rest = NULL;
    char err[256] = "";
    cr_assert_eq(nd_binance_rest_create(&rcfg, nd_clock_os(), &rest, err, sizeof err), ND_EINVAL);
    cr_assert_null(rest);
    cr_assert_not_null(strstr(err, "an Ed25519 key, not RSA"), "%s", err);
    rcfg.key_type = ND_BINANCE_KEY_HMAC;
    cr_assert_eq(nd_binance_rest_create(&rcfg, nd_clock_os(), &rest, err, sizeof err), ND_EINVAL);
    cr_assert_not_null(strstr(err, "not an HMAC secret"), "%s", err);
}
