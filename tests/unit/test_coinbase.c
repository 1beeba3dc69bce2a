/* test_coinbase.c: Coinbase signing (CB-ACCESS-SIGN known answers), ES256 JWTs (built, then
 * verified with the public key and decoded), RFC3339 times, both feed decoders on crafted and
 * recorded messages (bad input counted, never emitted), and the Exchange level2 book against
 * every recorded session's expected book in ../shared/fixtures when present. */
#include "noderr/coinbase.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- CB-ACCESS-SIGN ---- */

Test(coinbase_sign, crafted_vector_with_body)
{
    /* Worked out with python3 hmac/base64: secret base64("noderr-test-key-0123456789abcdef"). */
    char sig[ND_COINBASE_SIGN_MAX], err[128];
    cr_assert_eq(nd_coinbase_exchange_sign("bm9kZXJyLXRlc3Qta2V5LTAxMjM0NTY3ODlhYmNkZWY=",
                                           "1700000000.5", "POST", "/orders",
                                           "{\"size\":\"1.5\"}", sig, sizeof sig, err, sizeof err),
                 ND_OK);
    cr_assert_str_eq(sig, "R6xtK9h+4lq6L3ohkMiYSHdHmiagWwEmxnvCGpnY/qM=");
}

Test(coinbase_sign, bad_secret_not_echoed)
{
    char sig[ND_COINBASE_SIGN_MAX], err[128] = "";
    cr_assert_eq(nd_coinbase_exchange_sign("not*base64!", "1", "GET", "/", NULL, sig, sizeof sig,
                                           err, sizeof err),
                 ND_EINVAL);
    cr_assert_null(strstr(err, "not*base64!"));
    cr_assert_eq(nd_coinbase_exchange_sign("QUJD", "1", "GET", "/", NULL, sig, 10, err, sizeof err),
                 ND_EFULL);
}

Test(coinbase_sign, fixture_known_answers)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/fixtures/coinbase/signing", ND_SHARED_DIR);
    DIR *d = opendir(dir);
    if (!d)
        cr_skip_test("shared coinbase signing fixtures absent");
    struct dirent *e;
    int checked = 0;
    while ((e = readdir(d)) != NULL) {
        if (!strstr(e->d_name, ".json"))
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        json_t *v = json_load_file(path, 0, NULL);
        cr_assert_not_null(v, "%s", path);
        const char *want = json_string_value(
            json_object_get(json_object_get(v, "expected_headers"), "CB-ACCESS-SIGN"));
        char sig[ND_COINBASE_SIGN_MAX];
        cr_assert_eq(nd_coinbase_exchange_sign(
                         json_string_value(json_object_get(v, "secret")),
                         json_string_value(json_object_get(v, "timestamp")),
                         json_string_value(json_object_get(v, "method")),
                         json_string_value(json_object_get(v, "requestPath")),
                         json_string_value(json_object_get(v, "body")), sig, sizeof sig, NULL, 0),
                     ND_OK);
        cr_assert_str_eq(sig, want, "%s", e->d_name);
        checked++;
        json_decref(v);
    }
    closedir(d);
    cr_assert_gt(checked, 0);
}

/* ---- JWT ---- */

/* A fresh key of the named curve as PEM (private and public). */
static void make_key(const char *curve, char *priv, size_t priv_cap, char *pub, size_t pub_cap)
{
    EVP_PKEY *key = EVP_EC_gen(curve);
    cr_assert_not_null(key);
    BIO *b = BIO_new(BIO_s_mem());
    cr_assert(PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL));
    int n = BIO_read(b, priv, (int)priv_cap - 1);
    priv[n > 0 ? n : 0] = '\0';
    BIO_free(b);
    b = BIO_new(BIO_s_mem());
    cr_assert(PEM_write_bio_PUBKEY(b, key));
    n = BIO_read(b, pub, (int)pub_cap - 1);
    pub[n > 0 ? n : 0] = '\0';
    BIO_free(b);
    EVP_PKEY_free(key);
}

static json_t *b64url_json(const char *part, size_t len)
{
    /* Reuse the verifier's decoder by a round trip through the encoder's alphabet. */
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char out[1024];
    size_t pos = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        acc = acc << 6 | (uint32_t)(strchr(alphabet, part[i]) - alphabet);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[pos++] = (char)(acc >> bits);
        }
    }
    out[pos] = '\0';
    return json_loads(out, 0, NULL);
}

Test(coinbase_jwt, rest_token_verifies_and_has_the_claims)
{
    char priv[1024], pub[512], jwt[ND_COINBASE_JWT_MAX], payload[1024], err[160];
    make_key("P-256", priv, sizeof priv, pub, sizeof pub);
    nd_coinbase_jwt_params_t p = {.key_name = "organizations/org1/apiKeys/key1",
                                  .method = "GET",
                                  .host = "api.coinbase.com",
                                  .path = "/api/v3/brokerage/accounts",
                                  .now_s = 1700000000,
                                  .nonce_hex = "00ff"};
    cr_assert_eq(nd_coinbase_jwt_es256(priv, &p, jwt, sizeof jwt, err, sizeof err), ND_OK, "%s",
                 err);
    cr_assert_eq(nd_coinbase_jwt_verify(jwt, pub, payload, sizeof payload, err, sizeof err), ND_OK,
                 "%s", err);
    json_t *c = json_loads(payload, 0, NULL);
    cr_assert_not_null(c);
    cr_assert_str_eq(json_string_value(json_object_get(c, "iss")), "cdp");
    cr_assert_str_eq(json_string_value(json_object_get(c, "sub")), p.key_name);
    cr_assert_eq(json_integer_value(json_object_get(c, "nbf")), 1700000000);
    cr_assert_eq(json_integer_value(json_object_get(c, "exp")), 1700000120);
    cr_assert_str_eq(json_string_value(json_object_get(c, "uri")),
                     "GET api.coinbase.com/api/v3/brokerage/accounts");
    json_decref(c);
    const char *dot = strchr(jwt, '.');
    json_t *h = b64url_json(jwt, (size_t)(dot - jwt));
    cr_assert_not_null(h);
    cr_assert_str_eq(json_string_value(json_object_get(h, "alg")), "ES256");
    cr_assert_str_eq(json_string_value(json_object_get(h, "kid")), p.key_name);
    cr_assert_str_eq(json_string_value(json_object_get(h, "nonce")), "00ff");
    cr_assert_str_eq(json_string_value(json_object_get(h, "typ")), "JWT");
    json_decref(h);
    /* The signature part is 64 raw bytes: 86 base64url characters. */
    cr_assert_eq(strlen(strrchr(jwt, '.') + 1), 86);
    /* A changed claim breaks the signature. */
    char *payload_start = strchr(jwt, '.') + 1;
    payload_start[3] = payload_start[3] == 'A' ? 'B' : 'A';
    cr_assert_eq(nd_coinbase_jwt_verify(jwt, pub, payload, sizeof payload, err, sizeof err),
                 ND_EINVAL);
}

Test(coinbase_jwt, websocket_token_random_nonce_and_bad_keys)
{
    char priv[1024], pub[512], jwt[ND_COINBASE_JWT_MAX], jwt2[ND_COINBASE_JWT_MAX];
    char payload[1024], err[160] = "";
    make_key("P-256", priv, sizeof priv, pub, sizeof pub);
    nd_coinbase_jwt_params_t p = {.key_name = "k", .now_s = 5};
    cr_assert_eq(nd_coinbase_jwt_es256(priv, &p, jwt, sizeof jwt, err, sizeof err), ND_OK);
    cr_assert_eq(nd_coinbase_jwt_es256(priv, &p, jwt2, sizeof jwt2, err, sizeof err), ND_OK);
    cr_assert_str_neq(jwt, jwt2); /* fresh nonce (and randomized ECDSA) per token */
    cr_assert_eq(nd_coinbase_jwt_verify(jwt, pub, payload, sizeof payload, err, sizeof err), ND_OK);
    cr_assert_null(strstr(payload, "uri"));
    /* A P-384 key is not ES256; text that is not PEM is refused without echoing it. */
    char priv384[1024], pub384[512];
    make_key("P-384", priv384, sizeof priv384, pub384, sizeof pub384);
    cr_assert_eq(nd_coinbase_jwt_es256(priv384, &p, jwt, sizeof jwt, err, sizeof err), ND_EINVAL);
    cr_assert_eq(nd_coinbase_jwt_es256("SECRETSECRET", &p, jwt, sizeof jwt, err, sizeof err),
                 ND_EINVAL);
    cr_assert_null(strstr(err, "SECRETSECRET"));
    cr_assert_eq(nd_coinbase_jwt_verify("a.b", pub, payload, sizeof payload, err, sizeof err),
                 ND_EPARSE);
    nd_coinbase_jwt_params_t bad = {.key_name = "k\"x", .now_s = 5};
    cr_assert_eq(nd_coinbase_jwt_es256(priv, &bad, jwt, sizeof jwt, err, sizeof err), ND_EINVAL);
}

/* ---- times ---- */

Test(coinbase_time, rfc3339)
{
    int64_t ns;
    cr_assert_eq(nd_coinbase_parse_time("2023-02-09T20:32:50.714964855Z", 30, &ns), ND_OK);
    cr_assert_eq(ns, 1675974770714964855LL);
    cr_assert_eq(nd_coinbase_parse_time("2021-04-17T16:43:37.080304Z", 27, &ns), ND_OK);
    cr_assert_eq(ns, 1618677817080304000LL);
    cr_assert_eq(nd_coinbase_parse_time("2021-04-17T16:43:37Z", 20, &ns), ND_OK);
    cr_assert_eq(ns, 1618677817000000000LL);
    cr_assert_eq(nd_coinbase_parse_time("0001-01-01T00:00:00.000000Z", 27, &ns), ND_ERANGE);
    cr_assert_eq(nd_coinbase_parse_time("2021-04-17 16:43:37", 19, &ns), ND_EPARSE);
    cr_assert_eq(nd_coinbase_parse_time("2021-04-17T16:43:37.Z", 21, &ns), ND_EPARSE);
    cr_assert_eq(nd_coinbase_parse_time("2021-13-17T16:43:37Z", 20, &ns), ND_EPARSE);
}

/* ---- decoders ---- */

typedef struct sink {
    nd_md_event_t ev[16];
    nd_md_level_t levels[16][8];
    int n;
} sink_t;

static void on_event(void *ctx, const nd_md_event_t *e)
{
    sink_t *s = ctx;
    cr_assert_lt(s->n, 16);
    s->ev[s->n] = *e;
    if (e->kind == ND_MD_BOOK_UPDATE) {
        cr_assert_leq(e->u.book.level_count, 8);
        memcpy(s->levels[s->n], e->u.book.levels, e->u.book.level_count * sizeof(nd_md_level_t));
    }
    s->n++;
}

static nd_err_t feed(nd_coinbase_decoder_t *d, const char *msg)
{
    return nd_coinbase_decode_msg(d, msg, strlen(msg), 42);
}

Test(coinbase_decode, advanced_l2_ticker_trades)
{
    sink_t s = {0};
    nd_coinbase_decoder_t d;
    cr_assert_eq(nd_coinbase_decoder_init(&d, ND_VENUE_COINBASE, on_event, &s), ND_OK);
    cr_assert_eq(feed(&d, "{\"channel\":\"l2_data\",\"client_id\":\"\",\"timestamp\":"
                          "\"2023-02-09T20:32:50.714964855Z\",\"sequence_num\":1,\"events\":[{"
                          "\"type\":\"snapshot\",\"product_id\":\"BTC-USD\",\"updates\":[{\"side\":"
                          "\"offer\",\"event_time\":\"x\",\"price_level\":\"21922.5\","
                          "\"new_quantity\":\"1\"},{\"side\":\"bid\",\"price_level\":\"21921.73\","
                          "\"new_quantity\":\"0.06317902\"}]}]}"),
                 ND_OK);
    cr_assert_eq(s.n, 1);
    cr_assert_eq(s.ev[0].kind, ND_MD_BOOK_UPDATE);
    cr_assert_str_eq(s.ev[0].symbol, "BTC-USD");
    cr_assert(s.ev[0].u.book.snapshot);
    cr_assert_eq(s.ev[0].u.book.level_count, 2);
    cr_assert_eq(s.levels[0][0].side, ND_MD_SIDE_ASK);
    cr_assert_eq(s.levels[0][0].px, 2192250000000LL);
    cr_assert_eq(s.levels[0][1].px, 2192173000000LL);
    cr_assert_eq(s.levels[0][1].qty, 6317902);
    cr_assert_eq(s.ev[0].venue_ts_ns, 1675974770714964855LL);
    cr_assert_eq(s.ev[0].recv_ts_ns, 42);
    cr_assert_eq(feed(&d, "{\"channel\":\"ticker\",\"timestamp\":\"2023-02-09T20:30:37Z\","
                          "\"sequence_num\":2,\"events\":[{\"type\":\"snapshot\",\"tickers\":[{"
                          "\"type\":\"ticker\",\"product_id\":\"BTC-USD\",\"price\":\"21932.98\","
                          "\"best_bid\":\"21931.98\",\"best_bid_quantity\":\"8000.21\","
                          "\"best_ask\":\"21933.98\",\"best_ask_quantity\":\"8038.07770938\"}]}]}"),
                 ND_OK);
    cr_assert_eq(s.ev[1].kind, ND_MD_BBO);
    cr_assert_eq(s.ev[1].u.bbo.bid_px, 2193198000000LL);
    cr_assert_eq(s.ev[1].u.bbo.ask_qty, 803807770938LL);
    cr_assert_eq(feed(&d, "{\"channel\":\"market_trades\",\"timestamp\":\"2025-10-27T16:44:40Z\","
                          "\"sequence_num\":3,\"events\":[{\"type\":\"snapshot\",\"trades\":[{"
                          "\"product_id\":\"BTC-USD\",\"trade_id\":\"892262231\",\"price\":"
                          "\"115445.28\",\"size\":\"0.00015604\",\"time\":"
                          "\"2025-10-27T16:44:39.600153Z\",\"side\":\"SELL\"}]}]}"),
                 ND_OK);
    cr_assert_eq(s.ev[2].kind, ND_MD_TRADE);
    cr_assert_eq(s.ev[2].u.trade.trade_id, 892262231);
    cr_assert_eq(s.ev[2].u.trade.aggressor, ND_MD_SIDE_ASK);
    cr_assert_eq(s.ev[2].u.trade.qty, 15604);
    cr_assert_eq(s.ev[2].u.trade.trade_ts_ns, 1761583479600153000LL);
    cr_assert_eq(d.counters.events, 3);
    cr_assert_eq(nd_venue_bad_total(&d.counters), 0);
    nd_coinbase_decoder_deinit(&d);
}

Test(coinbase_decode, advanced_sequence_gap_and_bad_input)
{
    sink_t s = {0};
    nd_coinbase_decoder_t d;
    cr_assert_eq(nd_coinbase_decoder_init(&d, ND_VENUE_COINBASE, on_event, &s), ND_OK);
#define HB "{\"channel\":\"heartbeats\",\"timestamp\":\"2023-02-09T20:32:50Z\","                \
           "\"sequence_num\":%d,\"events\":[{\"current_time\":\"2026-09-30 02:37:15 "               \
           "+0000 UTC m=+1\",\"heartbeat_counter\":%d}]}"
    char msg[512];
    snprintf(msg, sizeof msg, HB, 7, 100);
    cr_assert_eq(feed(&d, msg), ND_OK);
    cr_assert_eq(s.ev[0].kind, ND_MD_STATUS);
    cr_assert_eq(s.ev[0].u.status.code, ND_MD_STATUS_HEARTBEAT);
    cr_assert_eq(s.ev[0].u.status.venue_code, 100);
    snprintf(msg, sizeof msg, HB, 9, 102); /* 8 is missing */
    cr_assert_eq(feed(&d, msg), ND_OK);
    cr_assert(d.resubscribe_needed);
    cr_assert_eq(d.gaps, 1);
    cr_assert_eq(d.counters.bad[ND_BAD_OUT_OF_ORDER], 1);
    snprintf(msg, sizeof msg, HB, 9, 102); /* a repeat is dropped */
    cr_assert_eq(feed(&d, msg), ND_ESTATE);
    cr_assert_eq(s.n, 2);
    cr_assert_eq(d.counters.bad[ND_BAD_OUT_OF_ORDER], 2);
    /* Truncated, malformed, unknown channel, bad number: counted, nothing emitted. */
    cr_assert_eq(feed(&d, "{\"channel\":\"l2_data\",\"events\":[{"), ND_EEOF);
    cr_assert_eq(feed(&d, "not json"), ND_EPARSE);
    cr_assert_eq(feed(&d, "{\"channel\":\"mystery\",\"events\":[{}]}"), ND_EDECLINED);
    cr_assert_eq(feed(&d, "{\"channel\":\"l2_data\",\"sequence_num\":10,\"events\":[{\"type\":"
                          "\"update\",\"product_id\":\"BTC-USD\",\"updates\":[{\"side\":\"bid\","
                          "\"price_level\":\"1\",\"new_quantity\":\"2\"},{\"side\":\"bid\","
                          "\"price_level\":\"1e5\",\"new_quantity\":\"2\"}]}]}"),
                 ND_EPARSE);
    cr_assert_eq(s.n, 2);
    cr_assert_eq(d.counters.bad[ND_BAD_TRUNCATED], 1);
    cr_assert_eq(d.counters.bad[ND_BAD_MALFORMED], 1);
    cr_assert_eq(d.counters.bad[ND_BAD_UNKNOWN_TYPE], 1);
    cr_assert_eq(d.counters.bad[ND_BAD_NUMBER], 1);
    cr_assert_eq(feed(&d, "{\"type\":\"error\",\"message\":\"failure to subscribe\"}"), ND_OK);
    cr_assert_eq(s.ev[2].u.status.code, ND_MD_STATUS_ERROR);
    cr_assert_str_eq(s.ev[2].u.status.text, "failure to subscribe");
    nd_coinbase_decoder_deinit(&d);
}

Test(coinbase_decode, exchange_messages)
{
    sink_t s = {0};
    nd_coinbase_decoder_t d;
    cr_assert_eq(nd_coinbase_decoder_init(&d, ND_VENUE_COINBASE_EXCHANGE, on_event, &s), ND_OK);
    cr_assert_eq(feed(&d, "{\"type\":\"match\",\"trade_id\":1568268,\"side\":\"sell\",\"size\":"
                          "\"450\",\"price\":\"0.791\",\"product_id\":\"SKL-USD\",\"sequence\":"
                          "201390075,\"time\":\"2021-04-17T16:43:37.121358Z\"}"),
                 ND_OK);
    /* Maker sold: the taker bought. */
    cr_assert_eq(s.ev[0].u.trade.aggressor, ND_MD_SIDE_BID);
    cr_assert_eq(s.ev[0].u.trade.px, 79100000);
    cr_assert_eq(s.ev[0].u.trade.qty, 45000000000LL);
    cr_assert_eq(feed(&d, "{\"type\":\"ticker\",\"sequence\":5,\"product_id\":\"BTC-USD\","
                          "\"price\":\"4095\",\"best_bid\":\"4094.99\",\"best_ask\":\"4095\","
                          "\"time\":\"0001-01-01T00:00:00.000000Z\"}"),
                 ND_OK);
    cr_assert_eq(s.ev[1].kind, ND_MD_BBO);
    cr_assert_eq(s.ev[1].venue_ts_ns, 0); /* Coinbase's zero time is "absent" */
    cr_assert_eq(s.ev[1].u.bbo.bid_px, 409499000000LL);
    cr_assert_eq(s.ev[1].u.bbo.update_id, 5);
    /* A snapshot with Coinbase's real malformed size keeps its good levels. */
    cr_assert_eq(feed(&d, "{\"type\":\"snapshot\",\"product_id\":\"X-Y\",\"bids\":[[\"1.5\","
                          "\"0.-10000\"],[\"1.4\",\"2\"]],\"asks\":[[\"1.6\",\"3\"]]}"),
                 ND_OK);
    cr_assert_eq(s.ev[2].u.book.level_count, 2);
    cr_assert_eq(d.counters.bad[ND_BAD_NUMBER], 1);
    /* An l2update with one bad change emits nothing. */
    cr_assert_eq(feed(&d, "{\"type\":\"l2update\",\"product_id\":\"X-Y\",\"changes\":[[\"buy\","
                          "\"1.5\",\"1\"],[\"hold\",\"1.5\",\"1\"]]}"),
                 ND_EPARSE);
    cr_assert_eq(feed(&d, "{\"type\":\"received\",\"product_id\":\"X-Y\"}"), ND_EDECLINED);
    cr_assert_eq(s.n, 3);
    nd_coinbase_decoder_deinit(&d);
}

/* ---- Exchange book ---- */

Test(coinbase_book, snapshot_updates_and_refusals)
{
    nd_book_t book;
    nd_coinbase_exchange_book_t cb;
    cr_assert_eq(nd_book_init(&book, 64), ND_OK);
    cr_assert_eq(nd_coinbase_exchange_book_init(&cb, &book), ND_OK);
    const char *early = "{\"type\":\"l2update\",\"product_id\":\"A-B\",\"changes\":[[\"buy\","
                        "\"1.00\",\"5.0\"]]}";
    cr_assert_eq(nd_coinbase_exchange_book_apply(&cb, early, strlen(early), NULL, 0), ND_ESTATE);
    cr_assert_eq(cb.counters.bad[ND_BAD_OUT_OF_ORDER], 1);
    const char *snap = "{\"type\":\"snapshot\",\"product_id\":\"A-B\",\"bids\":[[\"1.00\",\"5.0\"],"
                       "[\"0.99\",\"1.0\"]],\"asks\":[[\"1.02\",\"2.0\"]]}";
    cr_assert_eq(nd_coinbase_exchange_book_apply(&cb, snap, strlen(snap), NULL, 0), ND_OK);
    const char *upd = "{\"type\":\"l2update\",\"product_id\":\"A-B\",\"changes\":[[\"sell\","
                      "\"1.01\",\"4.00\"],[\"buy\",\"0.99\",\"0\"]],\"time\":"
                      "\"2021-04-17T16:43:37.080304Z\"}";
    cr_assert_eq(nd_coinbase_exchange_book_apply(&cb, upd, strlen(upd), NULL, 0), ND_OK);
    const char *other = "{\"type\":\"l2update\",\"product_id\":\"C-D\",\"changes\":[[\"buy\","
                        "\"9\",\"9\"]]}";
    cr_assert_eq(nd_coinbase_exchange_book_apply(&cb, other, strlen(other), NULL, 0), ND_OK);
    const char *bad = "{\"type\":\"l2update\",\"product_id\":\"A-B\",\"changes\":[[\"buy\","
                      "\"0.98\",\"1\"],[\"buy\",\"-1\",\"1\"]]}";
    cr_assert_eq(nd_coinbase_exchange_book_apply(&cb, bad, strlen(bad), NULL, 0), ND_EPARSE);
    cr_assert_eq(cb.updates_applied, 1);
    cr_assert_eq(nd_book_levels(&book, ND_BOOK_BID), 1);
    cr_assert_eq(nd_book_levels(&book, ND_BOOK_ASK), 2);
    cr_assert_eq(nd_book_qty_at(&book, ND_BOOK_BID, 100000000), 500000000);
    cr_assert_eq(nd_book_qty_at(&book, ND_BOOK_BID, 98000000), 0); /* bad message not applied */
    nd_book_level_t best;
    cr_assert(nd_book_best(&book, ND_BOOK_ASK, &best));
    cr_assert_eq(best.px, 101000000);
    cr_assert_eq(cb.px_places, 2);
    cr_assert_eq(cb.qty_places, 2);
    cr_assert_str_eq(cb.product_id, "A-B");
    nd_coinbase_exchange_book_deinit(&cb);
    nd_book_deinit(&book);
}

static void check_session(const char *dir)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/meta.json", dir);
    json_t *meta = json_load_file(path, 0, NULL);
    cr_assert_not_null(meta, "%s", path);
    json_t *want = json_object_get(meta, "expected_after_applying_all");
    snprintf(path, sizeof path, "%s/stream.jsonl", dir);
    nd_book_t book;
    nd_replay_result_t r;
    cr_assert_eq(nd_book_init(&book, ND_BOOK_LEVELS_MAX), ND_OK);
    cr_assert_eq(nd_coinbase_exchange_replay(path, &book, &r, NULL, 0), ND_OK);
    cr_assert_str_eq(r.status, "ok");
    cr_assert_eq((json_int_t)r.events_applied,
                 json_integer_value(json_object_get(want, "updates_applied")), "%s", dir);
    cr_assert_eq(nd_book_levels(&book, ND_BOOK_BID),
                 json_integer_value(json_object_get(want, "bid_levels")), "%s", dir);
    cr_assert_eq(nd_book_levels(&book, ND_BOOK_ASK),
                 json_integer_value(json_object_get(want, "ask_levels")), "%s", dir);
    for (int side = 0; side < 2; side++) {
        json_t *top = json_object_get(want, side == 0 ? "top5_bids" : "top5_asks");
        nd_book_level_t lv[5];
        uint32_t n = nd_book_top(&book, side == 0 ? ND_BOOK_BID : ND_BOOK_ASK, lv, 5);
        cr_assert_eq(n, json_array_size(top));
        for (uint32_t i = 0; i < n; i++) {
            char px[32], qty[32];
            nd_venue_format(lv[i].px, ND_VENUE_DECIMALS, r.px_shown, px, sizeof px);
            nd_venue_format(lv[i].qty, ND_VENUE_DECIMALS, r.qty_shown, qty, sizeof qty);
            cr_assert_str_eq(px, json_string_value(json_array_get(json_array_get(top, i), 0)));
            cr_assert_str_eq(qty, json_string_value(json_array_get(json_array_get(top, i), 1)));
        }
    }
    nd_book_deinit(&book);
    json_decref(meta);
}

Test(coinbase_book, recorded_sessions_match_expected_books)
{
    char root[512];
    snprintf(root, sizeof root, "%s/fixtures/coinbase/exchange_ws", ND_SHARED_DIR);
    DIR *d = opendir(root);
    if (!d)
        cr_skip_test("shared coinbase fixtures absent");
    struct dirent *e;
    int sessions = 0;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "level2_", 7) != 0)
            continue;
        char dir[1024];
        snprintf(dir, sizeof dir, "%s/%s", root, e->d_name);
        check_session(dir);
        sessions++;
    }
    closedir(d);
    cr_assert_gt(sessions, 0);
}

/* ---- hostile input (issue 10): refused by a named reason, never emitted or cut ---- */

Test(coinbase_decode, exchange_match_needs_positive_price_and_size)
{
    /* Regression: price "0", "-5" or size "-1" came out as a trade, uncounted. */
    static const char *const bad[] = {
        "{\"type\":\"match\",\"trade_id\":1,\"side\":\"sell\",\"size\":\"1\",\"price\":\"0\","
        "\"product_id\":\"BTC-USD\",\"time\":\"2021-04-17T16:43:37.121358Z\"}",
        "{\"type\":\"match\",\"trade_id\":1,\"side\":\"sell\",\"size\":\"1\",\"price\":\"-5\","
        "\"product_id\":\"BTC-USD\",\"time\":\"2021-04-17T16:43:37.121358Z\"}",
        "{\"type\":\"match\",\"trade_id\":1,\"side\":\"sell\",\"size\":\"-1\",\"price\":\"5\","
        "\"product_id\":\"BTC-USD\",\"time\":\"2021-04-17T16:43:37.121358Z\"}",
        "{\"type\":\"last_match\",\"trade_id\":1,\"side\":\"buy\",\"size\":\"0\",\"price\":\"5\","
        "\"product_id\":\"BTC-USD\",\"time\":\"2021-04-17T16:43:37.121358Z\"}",
        "{\"type\":\"ticker\",\"sequence\":5,\"product_id\":\"BTC-USD\",\"best_bid\":\"0\","
        "\"best_ask\":\"4095\"}",
        "{\"type\":\"l2update\",\"product_id\":\"BTC-USD\",\"changes\":[[\"buy\",\"1\",\"-1\"]]}",
    };
    sink_t s = {0};
    nd_coinbase_decoder_t d;
    cr_assert_eq(nd_coinbase_decoder_init(&d, ND_VENUE_COINBASE_EXCHANGE, on_event, &s), ND_OK);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(feed(&d, bad[i]), ND_EPARSE, "case %zu", i);
    cr_assert_eq(s.n, 0);
    cr_assert_eq(d.counters.bad[ND_BAD_OUT_OF_RANGE], sizeof bad / sizeof bad[0]);
    nd_coinbase_decoder_deinit(&d);
}

Test(coinbase_decode, advanced_market_trades_need_positive_price_and_size)
{
/* A macro, not a variable, so that the compiler checks the format against its arguments. */
#define ADV_TRADE_FMT                                                                              \
    "{\"channel\":\"market_trades\",\"client_id\":\"\",\"timestamp\":\"2023-02-09T20:19:35Z\","  \
    "\"sequence_num\":%d,\"events\":[{\"type\":\"update\",\"trades\":[{\"trade_id\":\"1\","    \
    "\"product_id\":\"ETH-USD\",\"price\":\"%s\",\"size\":\"%s\",\"side\":\"BUY\","          \
    "\"time\":\"2023-02-09T20:19:35Z\"}]}]}"
    static const char *const px_qty[][2] = {{"0", "1"}, {"-5", "1"}, {"5", "-1"}, {"5", "0"}};
    sink_t s = {0};
    nd_coinbase_decoder_t d;
    char msg[512];
    cr_assert_eq(nd_coinbase_decoder_init(&d, ND_VENUE_COINBASE, on_event, &s), ND_OK);
    for (int i = 0; i < 4; i++) {
        snprintf(msg, sizeof msg, ADV_TRADE_FMT, i, px_qty[i][0], px_qty[i][1]);
        cr_assert_eq(feed(&d, msg), ND_EPARSE, "case %d", i);
    }
    cr_assert_eq(s.n, 0);
    cr_assert_eq(d.counters.bad[ND_BAD_OUT_OF_RANGE], 4);
    snprintf(msg, sizeof msg, ADV_TRADE_FMT, 4, "5", "0.5");
    cr_assert_eq(feed(&d, msg), ND_OK);
    cr_assert_eq(s.n, 1);
    nd_coinbase_decoder_deinit(&d);
}

Test(coinbase_decode, product_ids_decoded_whole_or_refused)
{
    sink_t s = {0};
    nd_coinbase_decoder_t d;
    cr_assert_eq(nd_coinbase_decoder_init(&d, ND_VENUE_COINBASE_EXCHANGE, on_event, &s), ND_OK);
    /* An escaped product id is decoded, not copied raw. */
    cr_assert_eq(feed(&d, "{\"type\":\"match\",\"trade_id\":1,\"side\":\"sell\",\"size\":\"1\","
                          "\"price\":\"2\",\"product_id\":\"BTC\\u002dUSD\"}"),
                 ND_OK);
    cr_assert_str_eq(s.ev[0].symbol, "BTC-USD");
    /* 31 characters fit a symbol, 32 do not: refused, never cut. */
    cr_assert_eq(feed(&d, "{\"type\":\"match\",\"trade_id\":1,\"side\":\"sell\",\"size\":\"1\","
                          "\"price\":\"2\",\"product_id\":\"ABCDEFGHIJKLMNOPQRSTUVWXYZ01234\"}"),
                 ND_OK);
    cr_assert_str_eq(s.ev[1].symbol, "ABCDEFGHIJKLMNOPQRSTUVWXYZ01234");
    cr_assert_eq(feed(&d, "{\"type\":\"match\",\"trade_id\":1,\"side\":\"sell\",\"size\":\"1\","
                          "\"price\":\"2\",\"product_id\":\"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345\"}"),
                 ND_EPARSE);
    cr_assert_eq(d.counters.bad[ND_BAD_TOO_LONG], 1);
    cr_assert_eq(feed(&d, "{\"type\":\"match\",\"trade_id\":1,\"side\":\"sell\",\"size\":\"1\","
                          "\"price\":\"2\",\"product_id\":\"A\\udc00\"}"),
                 ND_EPARSE);
    cr_assert_eq(d.counters.bad[ND_BAD_BAD_STRING], 1);
    cr_assert_eq(s.n, 2);
    nd_coinbase_decoder_deinit(&d);
}

Test(coinbase_decode, exchange_snapshot_unsorted_or_crossed_refused)
{
    sink_t s = {0};
    nd_coinbase_decoder_t d;
    cr_assert_eq(nd_coinbase_decoder_init(&d, ND_VENUE_COINBASE_EXCHANGE, on_event, &s), ND_OK);
    cr_assert_eq(feed(&d, "{\"type\":\"snapshot\",\"product_id\":\"X-Y\",\"bids\":[[\"1.4\",\"1\"],"
                          "[\"1.5\",\"2\"]],\"asks\":[[\"1.6\",\"3\"]]}"),
                 ND_EPARSE);
    cr_assert_eq(feed(&d, "{\"type\":\"snapshot\",\"product_id\":\"X-Y\",\"bids\":[[\"1.5\",\"1\"],"
                          "[\"1.5\",\"2\"]],\"asks\":[[\"1.6\",\"3\"]]}"),
                 ND_EPARSE);
    cr_assert_eq(d.counters.bad[ND_BAD_UNSORTED], 2);
    cr_assert_eq(feed(&d, "{\"type\":\"snapshot\",\"product_id\":\"X-Y\",\"bids\":[[\"1.7\",\"1\"]],"
                          "\"asks\":[[\"1.6\",\"3\"]]}"),
                 ND_EPARSE);
    cr_assert_eq(d.counters.bad[ND_BAD_CROSSED], 1);
    cr_assert_eq(s.n, 0);
    nd_coinbase_decoder_deinit(&d);
}

/* Writes a snapshot of n levels a side (bids 100000-i, asks 100001+i, in ticks of 0.01). */
static char *big_snapshot(int n, size_t *len)
{
    size_t cap = (size_t)n * 2 * 32 + 256, k = 0;
    char *m = malloc(cap);
    cr_assert_not_null(m);
    k += (size_t)snprintf(m + k, cap - k, "{\"type\":\"snapshot\",\"product_id\":\"BTC-USD\",\"bids\":[");
    for (int i = 0; i < n; i++)
        k += (size_t)snprintf(m + k, cap - k, "%s[\"%d.%02d\",\"1\"]", i ? "," : "",
                              (100000 - i) / 100, (100000 - i) % 100);
    k += (size_t)snprintf(m + k, cap - k, "],\"asks\":[");
    for (int i = 0; i < n; i++)
        k += (size_t)snprintf(m + k, cap - k, "%s[\"%d.%02d\",\"1\"]", i ? "," : "",
                              (100001 + i) / 100, (100001 + i) % 100);
    k += (size_t)snprintf(m + k, cap - k, "]}");
    cr_assert_lt(k, cap);
    *len = k;
    return m;
}

Test(coinbase_book, twenty_thousand_levels_a_side_kept_whole)
{
    /* Regression: a 20k-a-side snapshot came out cut to 16,384 levels with exit 0. */
    size_t len;
    char *snap = big_snapshot(20000, &len);
    nd_book_t book;
    nd_coinbase_exchange_book_t cb;
    cr_assert_eq(nd_book_init(&book, ND_BOOK_LEVELS_MAX), ND_OK);
    cr_assert_eq(nd_coinbase_exchange_book_init(&cb, &book), ND_OK);
    cr_assert_eq(nd_coinbase_exchange_book_apply(&cb, snap, len, NULL, 0), ND_OK);
    cr_assert_eq(nd_book_levels(&book, ND_BOOK_BID), 20000);
    cr_assert_eq(nd_book_levels(&book, ND_BOOK_ASK), 20000);
    cr_assert_eq(book.dropped_full, 0);
    cr_assert(cb.have_snapshot);
    nd_coinbase_exchange_book_deinit(&cb);
    nd_book_deinit(&book);
    free(snap);
}

Test(coinbase_book, snapshot_larger_than_the_book_refused)
{
    size_t len;
    char *snap = big_snapshot(65, &len);
    nd_book_t book;
    nd_coinbase_exchange_book_t cb;
    char err[128] = "";
    cr_assert_eq(nd_book_init(&book, 64), ND_OK);
    cr_assert_eq(nd_coinbase_exchange_book_init(&cb, &book), ND_OK);
    cr_assert_eq(nd_coinbase_exchange_book_apply(&cb, snap, len, err, sizeof err), ND_EFULL);
    cr_assert(strstr(err, "snapshot") != NULL, "%s", err);
    cr_assert_not(cb.have_snapshot);
    cr_assert_eq(cb.counters.bad[ND_BAD_TOO_LARGE], 1);
    cr_assert_eq(nd_book_levels(&book, ND_BOOK_BID), 0);
    /* An update after a refused snapshot has nothing to apply to. */
    const char *upd = "{\"type\":\"l2update\",\"product_id\":\"BTC-USD\",\"changes\":[[\"buy\","
                      "\"1\",\"1\"]]}";
    cr_assert_eq(nd_coinbase_exchange_book_apply(&cb, upd, strlen(upd), NULL, 0), ND_ESTATE);
    nd_coinbase_exchange_book_deinit(&cb);
    nd_book_deinit(&book);
    free(snap);
}

Test(coinbase_book, l2update_applies_whole_or_not_at_all)
{
    nd_book_t book;
    nd_coinbase_exchange_book_t cb;
    char err[128] = "";
    cr_assert_eq(nd_book_init(&book, 3), ND_OK);
    cr_assert_eq(nd_coinbase_exchange_book_init(&cb, &book), ND_OK);
    const char *snap = "{\"type\":\"snapshot\",\"product_id\":\"A-B\",\"bids\":[[\"1.00\",\"5\"],"
                       "[\"0.99\",\"1\"]],\"asks\":[[\"1.02\",\"2\"]]}";
    cr_assert_eq(nd_coinbase_exchange_book_apply(&cb, snap, strlen(snap), NULL, 0), ND_OK);
    /* Crossing: a bid at the ask, with a change before it that must be rolled back. */
    const char *cross = "{\"type\":\"l2update\",\"product_id\":\"A-B\",\"changes\":[[\"buy\","
                        "\"0.99\",\"0\"],[\"buy\",\"1.02\",\"1\"]]}";
    cr_assert_eq(nd_coinbase_exchange_book_apply(&cb, cross, strlen(cross), err, sizeof err),
                 ND_ERANGE);
    cr_assert(strstr(err, "best bid") != NULL, "%s", err);
    cr_assert_eq(cb.counters.bad[ND_BAD_CROSSED], 1);
    cr_assert_eq(nd_book_qty_at(&book, ND_BOOK_BID, 99000000), 100000000);
    cr_assert_eq(nd_book_qty_at(&book, ND_BOOK_BID, 102000000), 0);
    /* Full: the third bid fits, the fourth does not; the removal before it is undone. */
    const char *full = "{\"type\":\"l2update\",\"product_id\":\"A-B\",\"changes\":[[\"sell\","
                       "\"1.02\",\"0\"],[\"buy\",\"0.98\",\"1\"],[\"buy\",\"0.97\",\"1\"]]}";
    cr_assert_eq(nd_coinbase_exchange_book_apply(&cb, full, strlen(full), NULL, 0), ND_EFULL);
    cr_assert_eq(cb.counters.bad[ND_BAD_TOO_LARGE], 1);
    cr_assert_eq(nd_book_levels(&book, ND_BOOK_BID), 2);
    cr_assert_eq(nd_book_qty_at(&book, ND_BOOK_ASK, 102000000), 200000000);
    cr_assert_eq(cb.updates_applied, 0);
    /* Another product is counted, not applied. */
    const char *other = "{\"type\":\"l2update\",\"product_id\":\"C-D\",\"changes\":[[\"buy\","
                        "\"9\",\"9\"]]}";
    cr_assert_eq(nd_coinbase_exchange_book_apply(&cb, other, strlen(other), NULL, 0), ND_OK);
    cr_assert_eq(cb.other_product, 1);
    cr_assert(nd_book_valid(&book));
    nd_coinbase_exchange_book_deinit(&cb);
    nd_book_deinit(&book);
}

static void replay_text(const char *text, size_t len, nd_replay_result_t *r)
{
    char path[] = "/tmp/nd_cb_replay_XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, len), (ssize_t)len);
    close(fd);
    nd_book_t book;
    cr_assert_eq(nd_book_init(&book, 64), ND_OK);
    cr_assert_eq(nd_coinbase_exchange_replay(path, &book, r, NULL, 0), ND_OK);
    nd_book_deinit(&book);
    unlink(path);
}

Test(coinbase_book, replay_that_never_synced_says_why)
{
    nd_replay_result_t r;
    replay_text("", 0, &r);
    cr_assert_str_eq(r.status, "no_snapshot");
    cr_assert(strstr(r.reason, "empty") != NULL, "%s", r.reason);
    const char junk[] = "\x01\x02garbage\xff\n{not json\n";
    replay_text(junk, sizeof junk - 1, &r);
    cr_assert_str_eq(r.status, "no_snapshot");
    cr_assert_eq(r.messages_bad, 2);
    cr_assert(r.reason[0] != '\0');
    const char *upd = "{\"type\":\"l2update\",\"product_id\":\"A-B\",\"changes\":[[\"buy\",\"1\","
                      "\"1\"]]}\n";
    replay_text(upd, strlen(upd), &r);
    cr_assert_str_eq(r.status, "no_snapshot");
    cr_assert(strstr(r.reason, "snapshot") != NULL, "%s", r.reason);
}

/* One status table serves the user channel and REST: OPEN with a fill is partially filled. */
Test(coinbase_status, advanced_trade_order_status_names)
{
    cr_assert_eq(nd_coinbase_order_status("PENDING", 7, 0), ND_MD_ORDER_PENDING);
    cr_assert_eq(nd_coinbase_order_status("OPEN", 4, 0), ND_MD_ORDER_NEW);
    cr_assert_eq(nd_coinbase_order_status("OPEN", 4, 5), ND_MD_ORDER_PARTIALLY_FILLED);
    cr_assert_eq(nd_coinbase_order_status("FILLED", 6, 5), ND_MD_ORDER_FILLED);
    cr_assert_eq(nd_coinbase_order_status("CANCELLED", 9, 0), ND_MD_ORDER_CANCELED);
    cr_assert_eq(nd_coinbase_order_status("EXPIRED", 7, 0), ND_MD_ORDER_EXPIRED);
    cr_assert_eq(nd_coinbase_order_status("FAILED", 6, 0), ND_MD_ORDER_REJECTED);
    cr_assert_eq(nd_coinbase_order_status("OPENED", 6, 0), ND_MD_ORDER_OTHER);
    cr_assert_eq(nd_coinbase_order_status("OPEN", 3, 0), ND_MD_ORDER_OTHER); /* "OPE" */
    cr_assert_eq(nd_coinbase_order_status("open", 4, 0), ND_MD_ORDER_OTHER);
    cr_assert_eq(nd_coinbase_order_status(NULL, 0, 0), ND_MD_ORDER_OTHER);
}
