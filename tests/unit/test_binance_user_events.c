/* test_binance_user_events.c: the user data events that end or describe a subscription, and
 * venue timestamps (binance_decode.c, cb_decode.c). listStatus (Binance's documented OCO
 * example, bare and wrapped), listenKeyExpired (E as a number and, as some Binance pages print
 * it, as a string), eventStreamTerminated (its subscriptionId kept), the WebSocket API's
 * userDataStream.subscribe reply, bookTicker with and without E, E kept on every user data
 * event, the Coinbase Exchange heartbeat's time; then hostile variants of each, which are
 * counted by reason and reach no sink. */
#include "noderr/binance.h"
#include "noderr/coinbase.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

typedef struct sink {
    nd_md_event_t ev[8];
    int n;
} sink_t;

static void on_event(void *ctx, const nd_md_event_t *e)
{
    sink_t *s = ctx;
    if (s->n < 8)
        s->ev[s->n] = *e;
    s->n++;
}

static nd_binance_decoder_t *dec;
static sink_t got;

static void setup(void)
{
    cr_assert_eq(nd_binance_decoder_create(0, 0, &dec), ND_OK);
    memset(&got, 0, sizeof got);
}

static void teardown(void)
{
    nd_binance_decoder_destroy(dec);
}

static nd_err_t feed(const char *msg)
{
    return nd_binance_decode(dec, msg, strlen(msg), 7, on_event, &got);
}

#define MS_NS(ms) ((int64_t)(ms) * 1000000)

/* The example of Binance's user-data-stream.md, "Order Update" / listStatus. */
#define LIST_STATUS(E, g, r, C, O)                                                              \
    "{\"e\":\"listStatus\",\"E\":" E ",\"s\":\"ETHBTC\",\"g\":" g ",\"c\":\"OCO\","                   \
    "\"l\":\"EXEC_STARTED\",\"L\":\"EXECUTING\",\"r\":\"" r "\",\"C\":\"" C "\","                  \
    "\"T\":1564035303625,\"O\":" O "}"
#define LIST_ORDERS                                                                              \
    "[{\"s\":\"ETHBTC\",\"i\":17,\"c\":\"AJYsMjErWJesZvqlJCTUgL\"},"                              \
    "{\"s\":\"ETHBTC\",\"i\":18,\"c\":\"bfYPSQdLoqAJeNrOr9adzq\"}]"

TestSuite(binance_user, .init = setup, .fini = teardown);

Test(binance_user, list_status_documented_example)
{
    cr_assert_eq(feed(LIST_STATUS("1564035303637", "2", "NONE", "F4QN4G8DlFATFlIUQ0cjdD",
                                  LIST_ORDERS)), ND_OK);
    cr_assert_eq(got.n, 1);
    const nd_md_event_t *e = &got.ev[0];
    cr_assert_eq(e->kind, ND_MD_STATUS);
    cr_assert_eq(e->u.status.code, ND_MD_STATUS_ORDER_LIST);
    cr_assert_eq(e->u.status.request_id, 2);
    cr_assert_str_eq(e->symbol, "ETHBTC");
    cr_assert_eq(e->venue_ts_ns, MS_NS(1564035303637));
    cr_assert_eq(e->recv_ts_ns, 7);
    cr_assert_str_eq(e->u.status.text, "OCO EXEC_STARTED EXECUTING F4QN4G8DlFATFlIUQ0cjdD");
    char json[512];
    nd_md_event_json(e, json, sizeof json);
    cr_assert(strstr(json, "\"code\":\"order_list\""), "%s", json);

    /* Wrapped by a WebSocket-API subscription, with a reject reason. */
    cr_assert_eq(feed("{\"subscriptionId\":3,\"event\":" LIST_STATUS(
                          "1564035303637", "9", "INSUFFICIENT_BALANCES", "list-9", "[]") "}"),
                 ND_OK);
    cr_assert_eq(got.n, 2);
    cr_assert_eq(got.ev[1].u.status.request_id, 9);
    cr_assert_str_eq(got.ev[1].u.status.text,
                     "OCO EXEC_STARTED EXECUTING list-9 reject=INSUFFICIENT_BALANCES");
}

Test(binance_user, list_status_hostile)
{
    struct {
        const char *msg;
        nd_bad_input_t why;
    } bad[] = {
        {LIST_STATUS("1", "2", "NONE", "x", "{}"), ND_BAD_MALFORMED},           /* O not array */
        {LIST_STATUS("1", "2", "NONE", "x", "[1]"), ND_BAD_MALFORMED},          /* member */
        {LIST_STATUS("1", "2", "NONE", "x", "[{\"s\":\"ETHBTC\",\"c\":\"a\"}]"),
         ND_BAD_MISSING_FIELD},                                                 /* no i */
        {LIST_STATUS("1", "2", "NONE", "x", "[{\"s\":\"ETHBTC\",\"i\":1.5,\"c\":\"a\"}]"),
         ND_BAD_NUMBER},
        {LIST_STATUS("1", "-1", "NONE", "x", "[]"), ND_BAD_OUT_OF_RANGE},       /* list id */
        {LIST_STATUS("\"1\"", "2", "NONE", "x", "[]"), ND_BAD_NUMBER},          /* E a string */
        {LIST_STATUS("-5", "2", "NONE", "x", "[]"), ND_BAD_NUMBER},
        {LIST_STATUS("1", "2", "NONE", "a-list-client-order-id-much-longer-than-any-venue-id",
                     "[]"), ND_BAD_TOO_LONG},
        {"{\"e\":\"listStatus\",\"E\":1,\"s\":\"ETHBTC\",\"g\":2}", ND_BAD_MISSING_FIELD},
        {LIST_STATUS("1", "2", "NONE", "x", "[]") "x", ND_BAD_MALFORMED},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t before = nd_binance_decoder_counters(dec)->bad[bad[i].why];
        cr_assert_neq(feed(bad[i].msg), ND_OK, "accepted #%zu", i);
        cr_assert_eq(nd_binance_decoder_counters(dec)->bad[bad[i].why], before + 1,
                     "#%zu not counted as %s", i, nd_bad_input_name(bad[i].why));
    }
    cr_assert_eq(got.n, 0);
    /* Truncated inside the member list. */
    const char *full = LIST_STATUS("1", "2", "NONE", "x", LIST_ORDERS);
    cr_assert_eq(nd_binance_decode(dec, full, strlen(full) - 30, 0, on_event, &got), ND_EEOF);
    cr_assert_eq(got.n, 0);
}

Test(binance_user, listen_key_expired)
{
    /* E as Binance's pages show it both ways; the key itself is never copied. */
    cr_assert_eq(feed("{\"e\":\"listenKeyExpired\",\"E\":1699596037418,\"listenKey\":"
                      "\"OfYGbUzi3PraNagEkdKuFwUHn48brFsItTdsuiIXrucEvD0rhRXZ7I6URWfE8YE8\"}"),
                 ND_OK);
    cr_assert_eq(feed("{\"e\":\"listenKeyExpired\",\"E\":\"1699596037418\",\"listenKey\":"
                      "\"OfYGbUzi3PraNagEkdKuFwUHn48brFsItTdsuiIXrucEvD0rhRXZ7I6URWfE8YE8\"}"),
                 ND_OK);
    cr_assert_eq(got.n, 2);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(got.ev[i].kind, ND_MD_STATUS);
        cr_assert_eq(got.ev[i].u.status.code, ND_MD_STATUS_LISTEN_KEY_EXPIRED);
        cr_assert_eq(got.ev[i].venue_ts_ns, MS_NS(1699596037418));
        cr_assert_eq(got.ev[i].u.status.request_id, -1);
        cr_assert_str_eq(got.ev[i].u.status.text, "");
        char json[512];
        nd_md_event_json(&got.ev[i], json, sizeof json);
        cr_assert_null(strstr(json, "OfYGbUzi"), "the listen key leaked: %s", json);
        cr_assert(strstr(json, "\"code\":\"listen_key_expired\""), "%s", json);
    }
    const char *bad[] = {"{\"e\":\"listenKeyExpired\",\"E\":\"169x\"}",
                         "{\"e\":\"listenKeyExpired\",\"E\":\"-1\"}",
                         "{\"e\":\"listenKeyExpired\",\"E\":\"\"}",
                         "{\"e\":\"listenKeyExpired\",\"E\":\"99999999999999999999999\"}",
                         "{\"e\":\"listenKeyExpired\",\"E\":true}",
                         "{\"e\":\"listenKeyExpired\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_neq(feed(bad[i]), ND_OK, "accepted %s", bad[i]);
    cr_assert_eq(got.n, 2);
    cr_assert_eq(nd_binance_decoder_counters(dec)->bad[ND_BAD_NUMBER], 5);
    cr_assert_eq(nd_binance_decoder_counters(dec)->bad[ND_BAD_MISSING_FIELD], 1);
}

Test(binance_user, event_stream_terminated_keeps_the_subscription)
{
    cr_assert_eq(feed("{\"subscriptionId\":0,\"event\":{\"e\":\"eventStreamTerminated\","
                      "\"E\":1728973001334}}"), ND_OK);
    cr_assert_eq(feed("{\"subscriptionId\":41,\"event\":{\"e\":\"eventStreamTerminated\","
                      "\"E\":1728973001334}}"), ND_OK);
    cr_assert_eq(feed("{\"e\":\"eventStreamTerminated\",\"E\":1728973001334}"), ND_OK);
    cr_assert_eq(got.n, 3);
    int64_t want[] = {0, 41, -1};
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(got.ev[i].u.status.code, ND_MD_STATUS_STREAM_TERMINATED);
        cr_assert_eq(got.ev[i].u.status.request_id, want[i]);
        cr_assert_eq(got.ev[i].venue_ts_ns, MS_NS(1728973001334));
    }
    const char *bad[] = {
        "{\"subscriptionId\":\"0\",\"event\":{\"e\":\"eventStreamTerminated\",\"E\":1}}",
        "{\"subscriptionId\":-1,\"event\":{\"e\":\"eventStreamTerminated\",\"E\":1}}",
        "{\"subscriptionId\":0.5,\"event\":{\"e\":\"eventStreamTerminated\",\"E\":1}}",
        "{\"subscriptionId\":0,\"event\":{\"e\":\"eventStreamTerminated\",\"E\":\"1\"}}",
        "{\"subscriptionId\":0,\"event\":{\"e\":\"eventStreamTerminated\"}}",
        "{\"subscriptionId\":0,\"event\":[]}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_neq(feed(bad[i]), ND_OK, "accepted %s", bad[i]);
    cr_assert_eq(got.n, 3);
}

Test(binance_user, websocket_api_subscription_replies)
{
    /* userDataStream.subscribe, as Binance's WebSocket API documents it. */
    cr_assert_eq(feed("{\"id\":\"d3df8a21-98ea-4fe0-8f4e-0fcea5d418b7\",\"status\":200,"
                      "\"result\":{\"subscriptionId\":0}}"), ND_OK);
    cr_assert_eq(feed("{\"id\":12,\"status\":200,\"result\":{\"subscriptionId\":7},"
                      "\"rateLimits\":[{\"rateLimitType\":\"REQUEST_WEIGHT\",\"interval\":"
                      "\"MINUTE\",\"intervalNum\":1,\"limit\":6000,\"count\":2}]}"), ND_OK);
    /* A refusal (a key that is not Ed25519, say) and a plain result. */
    cr_assert_eq(feed("{\"id\":\"x\",\"status\":400,\"error\":{\"code\":-2015,\"msg\":"
                      "\"Invalid API-key, IP, or permissions for action.\"}}"), ND_OK);
    cr_assert_eq(feed("{\"id\":13,\"status\":200,\"result\":{}}"), ND_OK);
    cr_assert_eq(got.n, 4);
    cr_assert_eq(got.ev[0].u.status.code, ND_MD_STATUS_ACK);
    cr_assert_eq(got.ev[0].u.status.venue_code, 0);
    cr_assert_eq(got.ev[0].u.status.request_id, -1);
    cr_assert_str_eq(got.ev[0].u.status.text, "subscriptionId=0");
    cr_assert_eq(got.ev[1].u.status.code, ND_MD_STATUS_ACK);
    cr_assert_eq(got.ev[1].u.status.venue_code, 7);
    cr_assert_eq(got.ev[1].u.status.request_id, 12);
    cr_assert_eq(got.ev[2].u.status.code, ND_MD_STATUS_ERROR);
    cr_assert_eq(got.ev[2].u.status.venue_code, -2015);
    cr_assert_eq(got.ev[3].u.status.code, ND_MD_STATUS_RESULT);
    cr_assert_eq(feed("{\"id\":1,\"status\":200,\"result\":{\"subscriptionId\":\"0\"}}"),
                 ND_ERANGE);
    cr_assert_eq(feed("{\"id\":1,\"status\":200,\"result\":{\"subscriptionId\":-3}}"), ND_ERANGE);
    cr_assert_eq(got.n, 4);
}

Test(binance_user, venue_times_kept)
{
    /* bookTicker: spot has no E (0), the futures-style layout has one. */
    cr_assert_eq(feed("{\"u\":400900217,\"s\":\"BNBUSDT\",\"b\":\"25.35190000\",\"B\":"
                      "\"31.21000000\",\"a\":\"25.36520000\",\"A\":\"40.66000000\"}"), ND_OK);
    cr_assert_eq(feed("{\"e\":\"bookTicker\",\"u\":400900217,\"E\":1568014460893,\"T\":"
                      "1568014460891,\"s\":\"BNBUSDT\",\"b\":\"25.35190000\",\"B\":\"31.21000000\","
                      "\"a\":\"25.36520000\",\"A\":\"40.66000000\"}"), ND_OK);
    cr_assert_eq(feed("{\"stream\":\"bnbusdt@bookTicker\",\"data\":{\"u\":400900217,\"E\":"
                      "1568014460893,\"s\":\"BNBUSDT\",\"b\":\"25.3519\",\"B\":\"31.21\",\"a\":"
                      "\"25.3652\",\"A\":\"40.66\"}}"), ND_OK);
    cr_assert_eq(got.n, 3);
    cr_assert_eq(got.ev[0].kind, ND_MD_BBO);
    cr_assert_eq(got.ev[0].venue_ts_ns, 0);
    cr_assert_eq(got.ev[1].kind, ND_MD_BBO);
    cr_assert_eq(got.ev[1].venue_ts_ns, MS_NS(1568014460893));
    cr_assert_eq(got.ev[1].u.bbo.update_id, 400900217);
    cr_assert_eq(got.ev[2].venue_ts_ns, MS_NS(1568014460893));
    cr_assert_eq(feed("{\"u\":1,\"E\":\"x\",\"s\":\"BNBUSDT\",\"b\":\"1\",\"B\":\"1\",\"a\":\"2\","
                      "\"A\":\"1\"}"), ND_ERANGE);
    cr_assert_eq(feed("{\"e\":\"bookTicker\",\"u\":1,\"s\":\"BNBUSDT\",\"b\":\"1\",\"B\":\"1\","
                      "\"a\":\"2\",\"A\":\"1\",\"E\":-4}"), ND_ERANGE);
    cr_assert_eq(got.n, 3);

    /* Every user data event keeps its E. */
    const char *user[] = {
        "{\"subscriptionId\":0,\"event\":{\"e\":\"outboundAccountPosition\",\"E\":1564034571105,"
        "\"u\":1564034571073,\"B\":[{\"a\":\"ETH\",\"f\":\"10000.000000\",\"l\":\"0.000000\"}]}}",
        "{\"subscriptionId\":0,\"event\":{\"e\":\"balanceUpdate\",\"E\":1573200697110,\"a\":"
        "\"BTC\",\"d\":\"100.00000000\",\"T\":1573200697068}}",
        "{\"subscriptionId\":0,\"event\":{\"e\":\"executionReport\",\"E\":1499405658658,\"s\":"
        "\"ETHBTC\",\"c\":\"mUvoqJxFIILMdfAW5iGSOW\",\"S\":\"BUY\",\"o\":\"LIMIT\",\"f\":\"GTC\","
        "\"q\":\"1.00000000\",\"p\":\"0.10264410\",\"P\":\"0.00000000\",\"F\":\"0.00000000\","
        "\"g\":-1,\"C\":\"\",\"x\":\"NEW\",\"X\":\"NEW\",\"r\":\"NONE\",\"i\":4293153,\"l\":"
        "\"0.00000000\",\"z\":\"0.00000000\",\"L\":\"0.00000000\",\"n\":\"0\",\"N\":null,\"T\":"
        "1499405658657,\"t\":-1,\"v\":3,\"I\":8641984,\"w\":true,\"m\":false,\"M\":false,\"O\":"
        "1499405658657,\"Z\":\"0.00000000\",\"Y\":\"0.00000000\",\"Q\":\"0.00000000\",\"W\":"
        "1499405658657,\"V\":\"NONE\"}}"};
    int64_t want[] = {1564034571105, 1573200697110, 1499405658658};
    for (int i = 0; i < 3; i++) {
        got.n = 0;
        cr_assert_eq(feed(user[i]), ND_OK, "#%d", i);
        cr_assert_eq(got.n, 1);
        cr_assert_eq(got.ev[0].venue_ts_ns, MS_NS(want[i]), "#%d", i);
    }
}

static sink_t cb_got;

static void on_cb(void *ctx, const nd_md_event_t *e)
{
    on_event(ctx, e);
}

Test(coinbase_times, exchange_heartbeat_time)
{
    nd_coinbase_decoder_t d;
    memset(&cb_got, 0, sizeof cb_got);
    cr_assert_eq(nd_coinbase_decoder_init(&d, ND_VENUE_COINBASE_EXCHANGE, on_cb, &cb_got), ND_OK);
    const char *hb = "{\"type\":\"heartbeat\",\"sequence\":90,\"last_trade_id\":20,\"product_id\":"
                     "\"BTC-USD\",\"time\":\"2014-11-07T08:19:28.464459Z\"}";
    cr_assert_eq(nd_coinbase_decode_msg(&d, hb, strlen(hb), 5), ND_OK);
    cr_assert_eq(cb_got.n, 1);
    cr_assert_eq(cb_got.ev[0].u.status.code, ND_MD_STATUS_HEARTBEAT);
    cr_assert_eq(cb_got.ev[0].venue_ts_ns, 1415348368464459000LL);
    cr_assert_eq(cb_got.ev[0].recv_ts_ns, 5);
    /* Coinbase's zero time is "no time", not an error; a malformed one is. */
    const char *zero = "{\"type\":\"heartbeat\",\"sequence\":91,\"last_trade_id\":20,\"product_id\":"
                       "\"BTC-USD\",\"time\":\"0001-01-01T00:00:00.000000Z\"}";
    cr_assert_eq(nd_coinbase_decode_msg(&d, zero, strlen(zero), 5), ND_OK);
    cr_assert_eq(cb_got.ev[1].venue_ts_ns, 0);
    const char *bad = "{\"type\":\"heartbeat\",\"sequence\":92,\"last_trade_id\":20,\"product_id\":"
                      "\"BTC-USD\",\"time\":\"yesterday\"}";
    cr_assert_eq(nd_coinbase_decode_msg(&d, bad, strlen(bad), 5), ND_EPARSE);
    cr_assert_eq(cb_got.n, 2);
    nd_coinbase_decoder_deinit(&d);
}
