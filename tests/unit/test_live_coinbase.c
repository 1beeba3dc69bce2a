/* test_live_coinbase.c: Coinbase Advanced Trade as a session venue: the config (the venue's
 * spelling of symbols, its default URLs, key_type refused), the product rules read from
 * GET products/{id} and applied as pre-trade filters, the order request with a derived client
 * order id (against Coinbase's documented limit order), UUID ids as the journal's keys, a
 * recorded fill and order as reconciliation's records, and the decoder's snapshot flag that
 * keeps a market_trades snapshot out of a session. The recordings come from
 * ../shared/fixtures/coinbase; the tests that need them skip with a message when it is absent. */
#include <criterion/criterion.h>

#include "noderr/coinbase.h"
#include "noderr/live.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define FIX ND_SHARED_DIR "/fixtures/coinbase"

static bool have_fixtures(void)
{
    if (access(FIX, R_OK) == 0)
        return true;
    cr_skip_test("%s absent: the recorded Coinbase messages are not here", FIX);
    return false;
}

static nd_err_t load_text(const char *text, nd_live_config_t *cfg, char *err, size_t len)
{
    char path[128];
    snprintf(path, sizeof path, "/tmp/nd_live_cb_%d.json", (int)getpid());
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
    nd_err_t rc = nd_live_config_load(path, cfg, err, len);
    unlink(path);
    return rc;
}

#define STRATS "\"strategies\": [{\"builtin\": \"quote_maker\"}]"

Test(live_coinbase, config_spells_symbols_and_takes_coinbase_defaults)
{
    nd_live_config_t cfg;
    char err[512] = "";
    cr_assert_eq(load_text("{\"name\": \"c\", \"venue\": {\"name\": \"coinbase\"}, "
                           "\"symbols\": [\"BTC/USD\", \"ETH/USDC\"], " STRATS "}",
                           &cfg, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(cfg.venues[0].venue, ND_VENUE_COINBASE);
    cr_assert_eq(cfg.symbol_count, 2);
    cr_assert_str_eq(cfg.venue_symbols[0], "BTC-USD");
    cr_assert_str_eq(cfg.venue_symbols[1], "ETH-USDC");
    cr_assert_str_eq(cfg.bt.symbol, "BTC/USD");
    cr_assert_str_eq(cfg.venues[0].rest_url, "https://api.coinbase.com");
    cr_assert_str_eq(cfg.venues[0].ws_url, ND_COINBASE_WS_URL);
    nd_live_config_free(&cfg);

    cr_assert_eq(load_text("{\"name\": \"c\", \"venue\": {\"name\": \"coinbase\", \"rest_url\": "
                           "\"http://127.0.0.1:9\", \"ws_url\": \"ws://127.0.0.1:9\"}, "
                           "\"symbol\": \"BTC/USD\", " STRATS "}", &cfg, err, sizeof err),
                 ND_OK, "%s", err);
    cr_assert_str_eq(cfg.venues[0].rest_url, "http://127.0.0.1:9");
    cr_assert_str_eq(cfg.venues[0].ws_url, "ws://127.0.0.1:9");
    nd_live_config_free(&cfg);

    /* Binance keeps its spelling and defaults. */
    cr_assert_eq(load_text("{\"name\": \"c\", \"venue\": {\"name\": \"binance\"}, "
                           "\"symbol\": \"BTC/USDT\", " STRATS "}", &cfg, err, sizeof err), ND_OK);
    cr_assert_str_eq(cfg.venue_symbols[0], "BTCUSDT");
    cr_assert_str_eq(cfg.venues[0].rest_url, "https://api.binance.com");
    nd_live_config_free(&cfg);
}

Test(live_coinbase, config_refuses_what_does_not_apply)
{
    nd_live_config_t cfg;
    char err[512] = "";
    cr_assert_eq(load_text("{\"name\": \"c\", \"venue\": {\"name\": \"coinbase\", \"key_type\": "
                           "\"ed25519\"}, \"symbol\": \"BTC/USD\", " STRATS "}", &cfg, err,
                           sizeof err), ND_EINVAL);
    cr_assert(strstr(err, "venue.key_type: Coinbase keys sign ES256 JWTs"), "%s", err);
    nd_live_config_free(&cfg);
    cr_assert_eq(load_text("{\"name\": \"c\", \"venue\": {\"name\": \"coinbase-exchange\"}, "
                           "\"symbol\": \"BTC/USD\", " STRATS "}", &cfg, err, sizeof err),
                 ND_EINVAL);
    cr_assert(strstr(err, "venue.name: must be \"binance\" (Spot) or \"coinbase\""), "%s", err);
    nd_live_config_free(&cfg);
    cr_assert_eq(load_text("{\"name\": \"c\", \"venue\": {\"name\": \"coinbase\", "
                           "\"private_key\": \"x\"}, \"symbol\": \"BTC/USD\", " STRATS "}", &cfg,
                           err, sizeof err), ND_EINVAL);
    cr_assert(strstr(err, "NODERR_COINBASE_API_SECRET"), "%s", err);
    nd_live_config_free(&cfg);
}

#define PRODUCT "{\"product_id\": \"BTC-USD\", \"price\": \"50000.00\", " \
                "\"base_increment\": \"0.00000001\", \"quote_increment\": \"0.01\", " \
                "\"quote_min_size\": \"1\", \"base_min_size\": \"0.00001\", " \
                "\"status\": \"online\", \"trading_disabled\": false}"

static nd_err_t rules_of(const char *json, nd_coinbase_product_rules_t *r, char *err, size_t cap)
{
    return nd_coinbase_product_rules_parse(json, strlen(json), "BTC-USD", r, err, cap);
}

Test(live_coinbase, product_rules_are_read_exactly_or_refused_naming_the_field)
{
    nd_coinbase_product_rules_t r;
    char err[256] = "";
    cr_assert_eq(rules_of(PRODUCT, &r, err, sizeof err), ND_OK, "%s", err);
    cr_assert_str_eq(r.product_id, "BTC-USD");
    cr_assert_eq(r.base_increment, 1);
    cr_assert_eq(r.quote_increment, 1000000);
    cr_assert_eq(r.quote_min_size, 100000000);
    cr_assert_eq(r.base_min_size, 1000);
    cr_assert_not(r.trading_disabled);

    const struct {
        const char *json, *why;
    } bad[] = {
        {"[]", "not a JSON object"},
        {"{\"product_id\": \"ETH-USD\", \"base_increment\": \"1\", \"quote_increment\": \"1\"}",
         "product_id is not the product asked for"},
        {"{\"product_id\": \"BTC-USD\", \"quote_increment\": \"0.01\"}", "base_increment"},
        {"{\"product_id\": \"BTC-USD\", \"base_increment\": \"0\", \"quote_increment\": "
         "\"0.01\"}", "base_increment"},
        {"{\"product_id\": \"BTC-USD\", \"base_increment\": \"1e-8\", \"quote_increment\": "
         "\"0.01\"}", "base_increment"},
        {"{\"product_id\": \"BTC-USD\", \"base_increment\": \"0.000000001\", "
         "\"quote_increment\": \"0.01\"}", "base_increment"},
        {"{\"product_id\": \"BTC-USD\", \"base_increment\": \"0.01\", \"quote_increment\": "
         "0.01}", "quote_increment"},
        {"{\"product_id\": \"BTC-USD\", \"base_increment\": \"0.01\", \"quote_increment\": "
         "\"0.01\", \"quote_min_size\": \"-1\"}", "quote_min_size"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        cr_assert_eq(rules_of(bad[i].json, &r, err, sizeof err), ND_EPARSE, "#%zu", i);
        cr_assert(strstr(err, bad[i].why) && strstr(err, "coinbase product BTC-USD"),
                  "#%zu: %s", i, err);
    }
    /* An empty minimum is none; a product not online is not trading. */
    cr_assert_eq(rules_of("{\"product_id\": \"BTC-USD\", \"base_increment\": \"0.01\", "
                          "\"quote_increment\": \"0.01\", \"quote_min_size\": \"\", "
                          "\"status\": \"delisted\"}", &r, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(r.quote_min_size, 0);
    cr_assert(r.trading_disabled);
}

Test(live_coinbase, product_rules_are_pre_trade_filters)
{
    nd_coinbase_product_rules_t r;
    char err[256] = "";
    cr_assert_eq(rules_of(PRODUCT, &r, err, sizeof err), ND_OK, "%s", err);
    int64_t px = 5000000000000; /* 50000.00 */
    cr_assert_eq(nd_coinbase_rules_check(&r, false, px, 100000), ND_REJECT_NONE);
    cr_assert_eq(nd_coinbase_rules_check(&r, false, px + 1, 100000), ND_REJECT_INVALID_PRICE);
    cr_assert_eq(nd_coinbase_rules_check(&r, false, 0, 100000), ND_REJECT_INVALID_PRICE);
    cr_assert_eq(nd_coinbase_rules_check(&r, false, px, 999), ND_REJECT_INVALID_QUANTITY);
    cr_assert_eq(nd_coinbase_rules_check(&r, false, px, 0), ND_REJECT_INVALID_QUANTITY);
    /* 50000 x 0.00001 = 0.5 < 1: below the quote minimum; 0.00002 = 1.0 is at it. */
    cr_assert_eq(nd_coinbase_rules_check(&r, false, px, 1000), ND_REJECT_BELOW_MIN_NOTIONAL);
    cr_assert_eq(nd_coinbase_rules_check(&r, false, px, 2000), ND_REJECT_NONE);
    cr_assert_eq(nd_coinbase_rules_check(&r, true, 0, 1000), ND_REJECT_NONE);
    r.base_increment = 1000;
    cr_assert_eq(nd_coinbase_rules_check(&r, false, px, 2500), ND_REJECT_INVALID_QUANTITY);
    r.trading_disabled = true;
    cr_assert_eq(nd_coinbase_rules_check(&r, false, px, 2000),
                 ND_REJECT_VENUE_SYMBOL_NOT_TRADING);
}

static json_t *fixture(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", FIX, name);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    cr_assert_not_null(j, "%s: %s", path, je.text);
    return j;
}

static const char *jstr(json_t *o, const char *path_a, const char *path_b)
{
    json_t *v = json_object_get(o, path_a);
    if (path_b)
        v = json_object_get(v, path_b);
    cr_assert(json_is_string(v), "%s.%s", path_a, path_b ? path_b : "");
    return json_string_value(v);
}

Test(live_coinbase, order_request_matches_the_documented_limit_order)
{
    if (!have_fixtures())
        return;
    json_t *doc = fixture("advanced_rest/doc_create_order_request_limit_gtc.json");
    json_t *gtc = json_object_get(json_object_get(doc, "order_configuration"), "limit_limit_gtc");
    nd_coinbase_product_rules_t r;
    char err[256] = "";
    cr_assert_eq(rules_of(PRODUCT, &r, err, sizeof err), ND_OK, "%s", err);
    r.base_min_size = 0;
    r.quote_min_size = 0;
    char clid[ND_CLID_SIZE];
    cr_assert_eq(nd_clid_format("cb1", 3, 2, 28, clid), ND_OK);
    nd_coinbase_order_text_t t;
    cr_assert_eq(nd_coinbase_order_text(&r, jstr(doc, "product_id", NULL), clid, true, false,
                                        1000000000000, 100000, &t), ND_REJECT_NONE);
    cr_assert_str_eq(t.req.base_size, jstr(gtc, "base_size", NULL));
    cr_assert_str_eq(t.req.limit_price, jstr(gtc, "limit_price", NULL));
    cr_assert_str_eq(t.req.product_id, "BTC-USD");
    cr_assert_str_eq(t.req.client_order_id, "ndcb1-3-2-s");
    cr_assert(t.req.buy && !t.req.market && !t.req.post_only && !t.req.quote_size);
    /* The id reads back as ours: reconciliation surfaces every other id. */
    uint32_t run = 0, strategy = 0;
    uint64_t client = 0;
    cr_assert_eq(nd_clid_parse("cb1", t.req.client_order_id, &run, &strategy, &client), ND_OK);
    cr_assert(run == 3 && strategy == 2 && client == 28);
    cr_assert_eq(nd_clid_parse("cb1", jstr(doc, "client_order_id", NULL), NULL, NULL, NULL),
                 ND_EDECLINED);
    /* A market sell has no price; a refused order builds nothing. */
    cr_assert_eq(nd_coinbase_order_text(&r, "BTC-USD", clid, false, true, 0, 12345, &t),
                 ND_REJECT_NONE);
    cr_assert_str_eq(t.req.base_size, "0.00012345");
    cr_assert_null(t.req.limit_price);
    cr_assert_eq(nd_coinbase_order_text(&r, "BTC-USD", clid, true, false, 1000000000001, 100000,
                                        &t), ND_REJECT_INVALID_PRICE);
    json_decref(doc);
}

Test(live_coinbase, uuid_ids_are_stable_positive_62_bit_keys)
{
    const char *ids[] = {"19fc7eee-f4b4-40a7-8104-033da1db5311",
                         "01b6e467-b659-432f-9490-c7cefe949564",
                         "19fc7eee-f4b4-40a7-8104-033da1db5312", "", "892262231"};
    int64_t keys[5];
    for (int i = 0; i < 5; i++) {
        keys[i] = nd_coinbase_id_key(ids[i]);
        cr_assert_gt(keys[i], 0);
        cr_assert_lt(keys[i], 1LL << 62);
        cr_assert_eq(keys[i], nd_coinbase_id_key(ids[i]));
        for (int k = 0; k < i; k++)
            cr_assert_neq(keys[i], keys[k], "%s and %s", ids[i], ids[k]);
    }
}

/* The event list_fills makes of the recorded fill (cb_rest.c's fill_event fields). */
static void recorded_fill(json_t *f, nd_md_event_t *e)
{
    memset(e, 0, sizeof *e);
    e->kind = ND_MD_ORDER_UPDATE;
    e->venue = ND_VENUE_COINBASE;
    nd_md_order_update_t *u = &e->u.order;
    snprintf(e->symbol, sizeof e->symbol, "%s", jstr(f, "product_id", NULL));
    snprintf(u->venue_order_id, sizeof u->venue_order_id, "%s", jstr(f, "order_id", NULL));
    u->side = strcmp(jstr(f, "side", NULL), "SELL") == 0 ? ND_MD_SIDE_ASK : ND_MD_SIDE_BID;
    u->trade_id = nd_coinbase_id_key(jstr(f, "trade_id", NULL));
    const char *px = jstr(f, "price", NULL), *size = jstr(f, "size", NULL),
               *fee = jstr(f, "commission", NULL);
    cr_assert_eq(nd_venue_decimal(px, strlen(px), 8, &u->last_px), ND_OK);
    cr_assert_eq(nd_venue_decimal(size, strlen(size), 8, &u->last_qty), ND_OK);
    cr_assert_eq(nd_venue_decimal(fee, strlen(fee), 8, &u->fee), ND_OK);
}

Test(live_coinbase, a_recorded_fill_and_order_become_reconciliation_records)
{
    if (!have_fixtures())
        return;
    json_t *fills = fixture("advanced_rest/live_fills_ADA-USDT_2023-11-26.json");
    json_t *orders = fixture("advanced_rest/live_historical_orders_batch_ADA-USDT_2023-11-26.json");
    json_t *f = json_array_get(json_object_get(fills, "fills"), 0);
    json_t *o = json_array_get(json_object_get(orders, "orders"), 0);
    nd_md_event_t e;
    recorded_fill(f, &e);
    nd_recon_instrument_t assets = {"ADA", "USDT"};
    nd_recon_trade_t t;
    cr_assert_eq(nd_coinbase_recon_trade(&e, "", 0, &assets, &t), ND_OK);
    cr_assert_eq(t.trade_id, nd_coinbase_id_key("19fc7eee-f4b4-40a7-8104-033da1db5311"));
    cr_assert_eq(t.venue_order_id, nd_coinbase_id_key(jstr(o, "order_id", NULL)));
    cr_assert_eq(t.side, ND_SIDE_SELL);
    cr_assert_eq(t.px, 39200000);          /* 0.392 */
    cr_assert_eq(t.qty, 1000000000);       /* 10 */
    cr_assert_eq(t.quote_qty, 392000000);  /* 3.92 */
    cr_assert_eq(t.commission, 3136000);   /* 0.03136, in the quote */
    cr_assert_str_eq(t.commission_asset, "USDT");

    /* The order of that fill, as reconciliation's venue order. */
    memset(&e, 0, sizeof e);
    e.kind = ND_MD_ORDER_UPDATE;
    nd_md_order_update_t *u = &e.u.order;
    snprintf(u->venue_order_id, sizeof u->venue_order_id, "%s", jstr(o, "order_id", NULL));
    snprintf(u->client_order_id, sizeof u->client_order_id, "%s",
             jstr(o, "client_order_id", NULL));
    u->side = ND_MD_SIDE_ASK;
    const char *st = jstr(o, "status", NULL), *filled = jstr(o, "filled_size", NULL);
    cr_assert_eq(nd_venue_decimal(filled, strlen(filled), 8, &u->cum_qty), ND_OK);
    u->status = (uint8_t)nd_coinbase_order_status(st, strlen(st), u->cum_qty);
    u->qty = u->cum_qty;
    nd_recon_order_t ro;
    cr_assert_eq(nd_coinbase_recon_order(&e, 0, &ro), ND_OK);
    cr_assert_eq(ro.status, ND_RECON_FILLED);
    cr_assert_eq(ro.venue_id, t.venue_order_id);
    cr_assert_eq(ro.type, ND_ORDER_MARKET);
    cr_assert_eq(ro.filled_qty, 1000000000);
    cr_assert_eq(ro.side, ND_SIDE_SELL);
    /* Another program's id: reconciliation surfaces it and never touches it. */
    cr_assert_eq(nd_clid_parse("cb1", ro.clid, NULL, NULL, NULL), ND_EDECLINED);
    json_decref(fills);
    json_decref(orders);
}

Test(live_coinbase, statuses_map_to_reconciliation)
{
    nd_md_event_t e;
    memset(&e, 0, sizeof e);
    e.kind = ND_MD_ORDER_UPDATE;
    snprintf(e.u.order.venue_order_id, sizeof e.u.order.venue_order_id, "x");
    const struct {
        const char *name;
        int64_t cum;
        nd_recon_status_t want;
    } map[] = {{"PENDING", 0, ND_RECON_OPEN},        {"OPEN", 0, ND_RECON_OPEN},
               {"OPEN", 5, ND_RECON_OPEN},           {"FILLED", 5, ND_RECON_FILLED},
               {"CANCELLED", 0, ND_RECON_CANCELLED}, {"EXPIRED", 0, ND_RECON_EXPIRED},
               {"FAILED", 0, ND_RECON_REJECTED},     {"QUEUED", 0, ND_RECON_UNKNOWN}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        e.u.order.status = (uint8_t)nd_coinbase_order_status(map[i].name, strlen(map[i].name),
                                                             map[i].cum);
        nd_recon_order_t ro;
        cr_assert_eq(nd_coinbase_recon_order(&e, 0, &ro), ND_OK);
        cr_assert_eq(ro.status, map[i].want, "%s", map[i].name);
    }
    e.kind = ND_MD_TRADE;
    nd_recon_order_t ro;
    cr_assert_eq(nd_coinbase_recon_order(&e, 0, &ro), ND_EINVAL);
}

typedef struct seen {
    int trades, snapshot_trades, levels;
    bool snapshot_l2, update_l2;
} seen_t;

static nd_coinbase_decoder_t *dec_ref;

static void on_event(void *ctx, const nd_md_event_t *ev)
{
    seen_t *s = ctx;
    if (ev->kind == ND_MD_TRADE) {
        s->trades++;
        s->snapshot_trades += dec_ref->event_snapshot;
    } else if (ev->kind == ND_MD_BOOK_UPDATE) {
        if (dec_ref->event_snapshot)
            s->snapshot_l2 = true;
        else
            s->update_l2 = true;
    }
}

static void decode_file(nd_coinbase_decoder_t *dec, const char *name)
{
    json_t *j = fixture(name);
    char *text = json_dumps(j, JSON_COMPACT);
    cr_assert_eq(nd_coinbase_decode_msg(dec, text, strlen(text), 1), ND_OK, "%s", name);
    free(text);
    json_decref(j);
}

Test(live_coinbase, the_decoder_says_which_events_are_snapshots)
{
    if (!have_fixtures())
        return;
    nd_coinbase_decoder_t dec;
    seen_t seen = {0};
    dec_ref = &dec;
    cr_assert_eq(nd_coinbase_decoder_init(&dec, ND_VENUE_COINBASE, on_event, &seen), ND_OK);
    decode_file(&dec, "advanced_ws/live_market_trades_snapshot_BTC-USD_2025-10-27.json");
    cr_assert_gt(seen.trades, 0);
    cr_assert_eq(seen.snapshot_trades, seen.trades); /* all history: a session drops them */
    dec.last_sequence_num = -1;
    decode_file(&dec, "advanced_ws/doc_l2_data_update.json");
    cr_assert(seen.update_l2 && !seen.snapshot_l2);
    nd_coinbase_decoder_deinit(&dec);
}
