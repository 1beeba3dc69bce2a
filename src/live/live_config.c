/* live_config.c: the session config of `noderr paper` and `noderr live` (live.h; the schema is
 * docs/live.md "Config reference").
 *
 * Every key is checked against the schema (an unknown key is an error, so a typo never turns a
 * limit off) and every value against its range; messages name the file, the key path and why.
 * Amounts of money are exact decimals (strings or whole numbers); risk limits are fractions
 * (0.15) with at most 4 places. Keys that would hold a secret are refused outright. */
#include "noderr/live.h"

#include "noderr/assert.h"
#include "noderr/chainlink.h"
#include "noderr/coinbase.h"
#include "noderr/fixed.h"
#include "noderr/json_cfg.h"
#include "noderr/log.h"
#include "noderr/market.h"
#include "noderr/scenario.h"

#include <stdio.h>
#include <string.h>

#define LIVE_CONFIG_BYTES_MAX (1u << 20)

static const char *const top_keys[] = {
    "name", "state_dir", "venue", "venues", "symbol", "symbols", "strategies", "capital", "risk", "paper",
    "clock",
    "stale_after_ms", "status_every_ms", "duration_s", "store", "compliance", "log", "metrics",
    "integrity", "journal", "reference",
    "preflight", "launch", /* read by src/launch (preflight.h, launch.h) */
    "dashboard", /* dashboard.h nd_dashboard_config_parse */
    NULL,
};

/* Enters the object at field (absent: *obj NULL, fine); not an object: an error. */
static nd_err_t enter(nd_jcfg_t *c, json_t *parent, const char *field, json_t **obj)
{
    *obj = json_object_get(parent, field);
    if (*obj && !json_is_object(*obj))
        return nd_jcfg_bad(c, field, "must be an object");
    snprintf(c->key, sizeof c->key, "%s", field);
    return ND_OK;
}

/* url must start with SCHEME:// or SCHEMEs:// (http/https, ws/wss). */
static nd_err_t check_scheme(nd_jcfg_t *c, const char *key, const char *url, const char *scheme)
{
    size_t n = strlen(scheme);
    if (strncmp(url, scheme, n) == 0 &&
        (strncmp(url + n, "://", 3) == 0 || strncmp(url + n, "s://", 4) == 0))
        return ND_OK;
    char why[64];
    snprintf(why, sizeof why, "must start with %s:// or %ss://", scheme, scheme);
    return nd_jcfg_bad(c, key, why);
}

/* The WebSocket API beside the streams when ws_api_url is not given: Binance's own, or the same
 * server's (exchange-sim serves both on one port). */
static nd_err_t derive_ws_api_url(nd_jcfg_t *c, nd_live_venue_config_t *cfg)
{
    size_t n = strlen(cfg->ws_url);
    while (n > 0 && cfg->ws_url[n - 1] == '/')
        n--;
    if (!cfg->ws_api_url[0] &&
        (strncmp(cfg->ws_url, "wss://stream.binance.com", 24) == 0
             ? snprintf(cfg->ws_api_url, sizeof cfg->ws_api_url, "%s",
                        "wss://ws-api.binance.com:443/ws-api/v3")
             : snprintf(cfg->ws_api_url, sizeof cfg->ws_api_url, "%.*s/ws-api/v3", (int)n,
                        cfg->ws_url)) >= (int)sizeof cfg->ws_api_url)
        return nd_jcfg_bad(c, "ws_url", "too long to derive ws_api_url from: give ws_api_url");
    return ND_OK;
}

/* The "venue" object, or an entry of "venues" (c->key names it), into cfg. */
static nd_err_t parse_venue(nd_jcfg_t *c, json_t *v, bool in_list, nd_live_venue_config_t *cfg)
{
    static const char *const keys[] = {"name", "rest_url", "ws_url", "secrets_file",
                                       "exchange_info", "key_type", "order_tag",
                                       "user_stream", "ws_api_url", NULL};
    static const char *const list_keys[] = {"name", "rest_url", "ws_url", "secrets_file",
                                            "exchange_info", "key_type", "order_tag",
                                            "user_stream", "ws_api_url", "symbol", "symbols",
                                            NULL};
    if (json_object_get(v, "api_key") || json_object_get(v, "api_secret") ||
        json_object_get(v, "secret") || json_object_get(v, "private_key"))
        return nd_jcfg_bad(c, NULL, "secrets never go in the config: set NODERR_BINANCE_API_KEY "
                                    "and NODERR_BINANCE_API_SECRET (Coinbase: "
                                    "NODERR_COINBASE_API_KEY and NODERR_COINBASE_API_SECRET), "
                                    "or name a 0600 secrets_file");
    char name[32] = "";
    nd_err_t rc;
    snprintf(cfg->rest_url, sizeof cfg->rest_url, "https://api.binance.com");
    snprintf(cfg->ws_url, sizeof cfg->ws_url, "wss://stream.binance.com:9443");
    cfg->exchange_info = true;
    if ((rc = nd_jcfg_keys(c, v, in_list ? list_keys : keys)) != ND_OK ||
        (rc = nd_jcfg_str(c, v, "name", name, sizeof name)) != ND_OK ||
        (rc = nd_jcfg_str(c, v, "rest_url", cfg->rest_url, sizeof cfg->rest_url)) != ND_OK ||
        (rc = nd_jcfg_str(c, v, "ws_url", cfg->ws_url, sizeof cfg->ws_url)) != ND_OK ||
        (rc = nd_jcfg_str(c, v, "secrets_file", cfg->secrets_file,
                          sizeof cfg->secrets_file)) != ND_OK ||
        (rc = nd_jcfg_bool(c, v, "exchange_info", &cfg->exchange_info)) != ND_OK)
        return rc;
    char key_type[16] = "", user_stream[16] = "";
    if ((rc = nd_jcfg_str(c, v, "key_type", key_type, sizeof key_type)) != ND_OK ||
        (rc = nd_jcfg_str(c, v, "order_tag", cfg->order_tag, sizeof cfg->order_tag)) != ND_OK ||
        (rc = nd_jcfg_str(c, v, "user_stream", user_stream, sizeof user_stream)) != ND_OK ||
        (rc = nd_jcfg_str(c, v, "ws_api_url", cfg->ws_api_url, sizeof cfg->ws_api_url)) != ND_OK)
        return rc;
    cfg->user_stream_off = strcmp(user_stream, "off") == 0;
    if (user_stream[0] && !cfg->user_stream_off &&
        nd_binance_user_mode_parse(user_stream, &cfg->user_stream) != ND_OK)
        return nd_jcfg_bad(c, "user_stream", "must be ws_api, listen_key or off");
    if (cfg->ws_api_url[0] && (rc = check_scheme(c, "ws_api_url", cfg->ws_api_url, "ws")) != ND_OK)
        return rc;
    if (key_type[0] && nd_binance_key_type_parse(key_type, &cfg->key_type) != ND_OK)
        return nd_jcfg_bad(c, "key_type", "must be hmac, ed25519 or rsa");
    for (const char *p = cfg->order_tag; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
            return nd_jcfg_bad(c, "order_tag", "1 to 6 of a-z and 0-9");
    if (strlen(cfg->order_tag) > 6)
        return nd_jcfg_bad(c, "order_tag", "1 to 6 of a-z and 0-9");
    if (nd_venue_parse(name, &cfg->venue) != ND_OK ||
        (cfg->venue != ND_VENUE_BINANCE && cfg->venue != ND_VENUE_COINBASE))
        return nd_jcfg_bad(c, "name", "must be \"binance\" (Spot) or \"coinbase\" (Advanced "
                                      "Trade)");
    if (cfg->venue == ND_VENUE_COINBASE && key_type[0])
        return nd_jcfg_bad(c, "key_type", "Coinbase keys sign ES256 JWTs: leave key_type out");
    /* Coinbase: the user channel, or "off" (polling alone); the modes are Binance's. */
    bool modes = user_stream[0] && !cfg->user_stream_off;
    if (cfg->venue == ND_VENUE_COINBASE && (modes || cfg->ws_api_url[0]))
        return nd_jcfg_bad(c, modes ? "user_stream" : "ws_api_url",
                           "Binance's user data stream: a Coinbase session takes its user "
                           "channel (\"off\": polling alone)");
    if (cfg->venue == ND_VENUE_COINBASE) { /* the defaults were Binance's */
        if (!json_object_get(v, "rest_url"))
            snprintf(cfg->rest_url, sizeof cfg->rest_url, "https://api.coinbase.com");
        if (!json_object_get(v, "ws_url"))
            snprintf(cfg->ws_url, sizeof cfg->ws_url, "%s", ND_COINBASE_WS_URL);
    }
    if ((rc = check_scheme(c, "rest_url", cfg->rest_url, "http")) != ND_OK ||
        (rc = check_scheme(c, "ws_url", cfg->ws_url, "ws")) != ND_OK)
        return rc;
    return derive_ws_api_url(c, cfg);
}

/* One "BTC/USDT" as instrument k of venue v: the instrument's symbol and the venue's spelling:
 * Binance's "BTCUSDT", Coinbase's "BTC-USDT". */
static nd_err_t add_symbol(nd_jcfg_t *c, const char *field, const char *sym, uint32_t v,
                           nd_live_config_t *cfg)
{
    nd_instrument_t probe;
    if (nd_instrument_init(&probe, sym, "binance") != ND_OK)
        return nd_jcfg_bad(c, field, "want BASE/QUOTE, e.g. \"BTC/USDT\"");
    uint32_t k = cfg->symbol_count;
    if (k >= ND_VENUES_MAX)
        return nd_jcfg_bad(c, field, "too many symbols: at most 32 in a session");
    char *venue = cfg->venue_symbols[k];
    size_t w = 0;
    char sep = cfg->venues[v].venue == ND_VENUE_COINBASE ? '-' : '\0';
    for (size_t i = 0; sym[i] && w + 1 < ND_NAME_MAX; i++)
        if (sym[i] != '/')
            venue[w++] = sym[i];
        else if (sep)
            venue[w++] = sep;
    venue[w] = '\0';
    for (uint32_t j = 0; j < k; j++)
        if (cfg->venue_of[j] == v && strcmp(cfg->venue_symbols[j], venue) == 0)
            return nd_jcfg_bad(c, field, "a symbol twice");
    if (k == 0) {
        snprintf(cfg->bt.symbol, sizeof cfg->bt.symbol, "%s", sym);
        cfg->bt.symbol_source = "config";
    } else {
        snprintf(cfg->bt.more[k - 1].symbol, sizeof cfg->bt.more[k - 1].symbol, "%s", sym);
        cfg->bt.more[k - 1].symbol_source = "config";
        cfg->bt.more_count = k;
    }
    cfg->venue_of[k] = (uint8_t)v;
    cfg->venues[v].symbol_count++;
    cfg->symbol_count = k + 1;
    return ND_OK;
}

/* "symbol": "BTC/USDT", or "symbols": ["BTC/USDT", "ETH/USDT", ...] of obj, for venue v. */
static nd_err_t parse_symbols(nd_jcfg_t *c, json_t *obj, uint32_t v, nd_live_config_t *cfg)
{
    json_t *one = json_object_get(obj, "symbol"), *list = json_object_get(obj, "symbols");
    cfg->venues[v].symbol_first = cfg->symbol_count;
    if (!one == !list)
        return nd_jcfg_bad(c, "symbol", "give \"symbol\": \"BTC/USDT\" or a \"symbols\" list");
    if (one) {
        if (!json_is_string(one))
            return nd_jcfg_bad(c, "symbol", "must be a string");
        return add_symbol(c, "symbol", json_string_value(one), v, cfg);
    }
    if (!json_is_array(list) || json_array_size(list) == 0 ||
        json_array_size(list) > ND_VENUES_MAX)
        return nd_jcfg_bad(c, "symbols", "must be a list of 1 to 32 symbols");
    size_t k;
    json_t *e;
    json_array_foreach(list, k, e) {
        char field[32];
        snprintf(field, sizeof field, "symbols[%zu]", k);
        if (!json_is_string(e))
            return nd_jcfg_bad(c, field, "must be a string");
        nd_err_t rc = add_symbol(c, field, json_string_value(e), v, cfg);
        if (rc != ND_OK)
            return rc;
    }
    return ND_OK;
}

/* "venues": a list of one or two venues, each with its own symbols. */
static nd_err_t parse_venue_list(nd_jcfg_t *c, json_t *root, json_t *list, nd_live_config_t *cfg)
{
    if (json_object_get(root, "symbol") || json_object_get(root, "symbols"))
        return nd_jcfg_bad(c, json_object_get(root, "symbol") ? "symbol" : "symbols",
                           "with \"venues\" each venue lists its own symbols");
    if (!json_is_array(list) || json_array_size(list) == 0 ||
        json_array_size(list) > ND_LIVE_VENUES_MAX)
        return nd_jcfg_bad(c, "venues", "must be a list of 1 or 2 venues");
    size_t k;
    json_t *v;
    json_array_foreach(list, k, v) {
        snprintf(c->key, sizeof c->key, "venues[%zu]", k);
        if (!json_is_object(v))
            return nd_jcfg_bad(c, NULL, "must be an object");
        nd_err_t rc = parse_venue(c, v, true, &cfg->venues[k]);
        if (rc == ND_OK)
            rc = parse_symbols(c, v, (uint32_t)k, cfg);
        if (rc != ND_OK)
            return rc;
        if (k > 0 && cfg->venues[0].venue == cfg->venues[k].venue)
            return nd_jcfg_bad(c, "name", "a venue twice: a session trades each venue once");
        cfg->venue_count = (uint32_t)k + 1;
    }
    return ND_OK;
}

/* "venue": {...} with the top-level "symbol(s)" (a list of one), or "venues": [...]. */
static nd_err_t parse_venues(nd_jcfg_t *c, json_t *root, nd_live_config_t *cfg)
{
    c->key[0] = '\0';
    json_t *one = json_object_get(root, "venue"), *list = json_object_get(root, "venues");
    if (one && list)
        return nd_jcfg_bad(c, "venues", "give \"venue\" or a \"venues\" list, not both");
    if (list)
        return parse_venue_list(c, root, list, cfg);
    nd_err_t rc = enter(c, root, "venue", &one);
    if (rc != ND_OK)
        return rc;
    if (!one)
        return nd_jcfg_bad(c, NULL, "missing: the venue to trade on ({\"name\": \"binance\"}, "
                                    "or a \"venues\" list)");
    if ((rc = parse_venue(c, one, false, &cfg->venues[0])) != ND_OK)
        return rc;
    c->key[0] = '\0';
    cfg->venue_count = 1;
    return parse_symbols(c, root, 0, cfg);
}

static nd_err_t parse_capital(nd_jcfg_t *c, json_t *root, nd_live_config_t *cfg)
{
    json_t *v;
    nd_err_t rc = enter(c, root, "capital", &v);
    if (rc != ND_OK || !v)
        return rc;
    static const char *const keys[] = {"cash", "sizing_percent", "sizing_fixed_qty",
                                       "allow_short", "tick_size", "lot_size", "min_notional",
                                       NULL};
    nd_engine_config_t *e = &cfg->bt.engine;
    int64_t pct = -1, fixed = -1;
    if ((rc = nd_jcfg_keys(c, v, keys)) != ND_OK ||
        (rc = nd_jcfg_fixed(c, v, "cash", ND_CASH_DECIMALS, 1, INT64_MAX / 1000,
                            &e->initial_cash)) != ND_OK ||
        (rc = nd_jcfg_fraction(c, v, "sizing_percent", 0.0001, 1.0, 4, &pct)) != ND_OK ||
        (rc = nd_jcfg_fixed(c, v, "sizing_fixed_qty", 8, 1, INT64_MAX, &fixed)) != ND_OK ||
        (rc = nd_jcfg_bool(c, v, "allow_short", &e->allow_short)) != ND_OK ||
        (rc = nd_jcfg_fixed(c, v, "tick_size", 8, 1, INT64_MAX, &cfg->bt.rules[0].tick_size_e8)) !=
            ND_OK ||
        (rc = nd_jcfg_fixed(c, v, "lot_size", 8, 1, INT64_MAX, &cfg->bt.rules[0].lot_size_e8)) !=
            ND_OK ||
        (rc = nd_jcfg_fixed(c, v, "min_notional", 8, 0, INT64_MAX,
                            &cfg->bt.rules[0].min_notional_e8)) != ND_OK)
        return rc;
    if (pct >= 0 && fixed >= 0)
        return nd_jcfg_bad(c, NULL, "give sizing_percent or sizing_fixed_qty, not both");
    if (pct >= 0)
        e->sizing = (nd_sizing_t){ND_SIZING_PERCENT, pct, 0};
    if (fixed >= 0)
        e->sizing = (nd_sizing_t){ND_SIZING_FIXED, 0, fixed}; /* rescaled at session start */
    if (cfg->bt.rules[0].tick_size_e8 || cfg->bt.rules[0].lot_size_e8) {
        if (!cfg->bt.rules[0].tick_size_e8 || !cfg->bt.rules[0].lot_size_e8)
            return nd_jcfg_bad(c, NULL, "give tick_size and lot_size together");
        cfg->bt.rules[0].source = "config";
        for (uint32_t k = 1; k < cfg->symbol_count; k++)
            cfg->bt.rules[k] = cfg->bt.rules[0]; /* the same rules for every symbol */
    }
    return ND_OK;
}

static nd_err_t parse_risk(nd_jcfg_t *c, json_t *root, nd_live_config_t *cfg)
{
    json_t *v;
    nd_err_t rc = enter(c, root, "risk", &v);
    if (rc != ND_OK || !v)
        return rc;
    static const char *const keys[] = {"max_drawdown", "max_position", "daily_loss",
                                       "max_order_notional", "price_collar", "max_orders_per_sec",
                                       "breaker_reset", "anomaly_threshold", "fast_move",
                                       "fast_move_window_ms", NULL};
    nd_risk_config_t *r = &cfg->bt.engine.risk;
    char reset[128] = "";
    int64_t fast_ms = r->fast_move_window_ns / ND_NS_PER_MS;
    if ((rc = nd_jcfg_keys(c, v, keys)) != ND_OK ||
        (rc = nd_jcfg_fraction(c, v, "max_drawdown", 0, 1, 4, &r->max_drawdown_pct_e2)) != ND_OK ||
        (rc = nd_jcfg_fraction(c, v, "max_position", 0, 1, 4, &r->max_position_pct_e2)) != ND_OK ||
        (rc = nd_jcfg_fraction(c, v, "daily_loss", 0, 1, 4, &r->daily_loss_pct_e2)) != ND_OK ||
        (rc = nd_jcfg_fixed(c, v, "max_order_notional", ND_CASH_DECIMALS, 0, INT64_MAX / 1000,
                            &r->max_order_notional)) != ND_OK ||
        (rc = nd_jcfg_fraction(c, v, "price_collar", 0, 1, 4, &r->price_collar_pct_e2)) != ND_OK ||
        (rc = nd_jcfg_int(c, v, "max_orders_per_sec", 0, 1000000, &r->orders_per_sec_max)) !=
            ND_OK ||
        (rc = nd_jcfg_str(c, v, "breaker_reset", reset, sizeof reset)) != ND_OK ||
        (rc = nd_jcfg_fraction(c, v, "anomaly_threshold", 0, 1, 6, &r->anomaly_threshold_e6)) !=
            ND_OK ||
        (rc = nd_jcfg_fraction(c, v, "fast_move", 0, 0.99, 6, &r->fast_move_e6)) != ND_OK ||
        (rc = nd_jcfg_int(c, v, "fast_move_window_ms", 1, 86400000, &fast_ms)) != ND_OK)
        return rc;
    r->fast_move_window_ns = fast_ms * ND_NS_PER_MS;
    char why[160];
    if (reset[0] && nd_risk_config_set_reset(r, reset, why, sizeof why) != ND_OK)
        return nd_jcfg_bad(c, "breaker_reset", why);
    return ND_OK;
}

/* "integrity": the data-integrity breaker's feed inputs (feed_monitor.h). */
static nd_err_t parse_integrity(nd_jcfg_t *c, json_t *root, nd_live_config_t *cfg)
{
    json_t *v;
    nd_err_t rc = enter(c, root, "integrity", &v);
    if (rc != ND_OK || !v)
        return rc;
    static const char *const keys[] = {"enabled", "stale_after_ms", "gap_recover_ms", "max_jump",
                                       NULL};
    int64_t stale_ms = cfg->integrity.stale_after_ns / ND_NS_PER_MS;
    int64_t gap_ms = cfg->integrity.gap_recover_ns / ND_NS_PER_MS;
    if ((rc = nd_jcfg_keys(c, v, keys)) != ND_OK ||
        (rc = nd_jcfg_bool(c, v, "enabled", &cfg->integrity_on)) != ND_OK ||
        (rc = nd_jcfg_int(c, v, "stale_after_ms", 1, 86400000, &stale_ms)) != ND_OK ||
        (rc = nd_jcfg_int(c, v, "gap_recover_ms", 0, 86400000, &gap_ms)) != ND_OK ||
        (rc = nd_jcfg_fraction(c, v, "max_jump", 0, 10, 6, &cfg->max_jump_e6)) != ND_OK)
        return rc;
    cfg->integrity.stale_after_ns = stale_ms * ND_NS_PER_MS;
    cfg->integrity.gap_recover_ns = gap_ms * ND_NS_PER_MS;
    return ND_OK;
}

bool nd_live_reference_asset(const char *symbol, char *out, size_t cap)
{
    ND_ASSERT(symbol != NULL && out != NULL);
    static const char *const usd[] = {"USDT", "USDC", "FDUSD", "BUSD", "TUSD", "USDP", NULL};
    const char *slash = strchr(symbol, '/');
    if (!slash || slash == symbol || !slash[1] || strchr(slash + 1, '/'))
        return false;
    const char *quote = slash + 1;
    for (size_t i = 0; usd[i]; i++)
        if (strcmp(quote, usd[i]) == 0)
            quote = "USD";
    int n = snprintf(out, cap, "%.*s/%s", (int)(slash - symbol), symbol, quote);
    return n > 0 && (size_t)n < cap;
}

/* One "reference.chainlink" entry: rpc and feed required; the asset and the heartbeat default
 * to the known feed's (chainlink.h); the asset must be one the session's symbols price. */
static nd_err_t parse_chainlink(nd_jcfg_t *c, json_t *v, nd_live_config_t *cfg,
                                nd_live_chainlink_config_t *out)
{
    static const char *const keys[] = {"rpc", "feed", "asset", "max_age_s", "poll_ms",
                                       "timeout_ms", NULL};
    char feed[sizeof out->feed] = "", asset[ND_NAME_MAX] = "", why[160];
    int64_t poll_ms = 5000;
    out->timeout_ms = 3000;
    out->max_age_s = 0;
    nd_err_t rc;
    if (!json_is_object(v))
        return nd_jcfg_bad(c, NULL, "must be an object (rpc, feed, asset, max_age_s, ...)");
    if ((rc = nd_jcfg_keys(c, v, keys)) != ND_OK ||
        (rc = nd_jcfg_str(c, v, "rpc", out->rpc, sizeof out->rpc)) != ND_OK ||
        (rc = nd_jcfg_str(c, v, "feed", feed, sizeof feed)) != ND_OK ||
        (rc = nd_jcfg_str(c, v, "asset", asset, sizeof asset)) != ND_OK ||
        (rc = nd_jcfg_int(c, v, "max_age_s", 1, 7 * 86400, &out->max_age_s)) != ND_OK ||
        (rc = nd_jcfg_int(c, v, "poll_ms", 100, 3600000, &poll_ms)) != ND_OK ||
        (rc = nd_jcfg_int(c, v, "timeout_ms", 100, 60000, &out->timeout_ms)) != ND_OK)
        return rc;
    nd_chainlink_client_t probe;
    if (!out->rpc[0])
        return nd_jcfg_bad(c, "rpc", "missing: the JSON-RPC endpoint(s), \"URL[,URL...]\"");
    if (nd_chainlink_client_init(&probe, out->rpc, out->timeout_ms, why, sizeof why) != ND_OK)
        return nd_jcfg_bad(c, "rpc", why);
    nd_chainlink_client_deinit(&probe);
    const nd_chainlink_feed_info_t *known = feed[0] ? nd_chainlink_feed_find(feed) : NULL;
    if (!feed[0] || (!known && !nd_chainlink_address_valid(feed)))
        return nd_jcfg_bad(c, "feed", "want the feed's address (0x + 40 hex digits) or a known "
                                      "feed's name (\"BTC/USD\", \"ETH/USD\")");
    snprintf(out->feed, sizeof out->feed, "%s", known ? known->address : feed);
    if (!asset[0] && !known)
        return nd_jcfg_bad(c, "asset", "missing: the feed is not a known one; name the asset it "
                                       "prices, e.g. \"BTC/USD\"");
    if (!nd_live_reference_asset(asset[0] ? asset : known->name, out->asset, sizeof out->asset))
        return nd_jcfg_bad(c, "asset", "want BASE/QUOTE, e.g. \"BTC/USD\"");
    if (out->max_age_s == 0)
        out->max_age_s = known ? known->heartbeat_s : 3600;
    out->poll_ns = poll_ms * ND_NS_PER_MS;
    for (uint32_t k = 0; k < cfg->symbol_count; k++) {
        char a[ND_NAME_MAX];
        const char *sym = k == 0 ? cfg->bt.symbol : cfg->bt.more[k - 1].symbol;
        if (nd_live_reference_asset(sym, a, sizeof a) && strcmp(a, out->asset) == 0)
            return ND_OK;
    }
    snprintf(why, sizeof why, "%s is not an asset of the session's symbols", out->asset);
    return nd_jcfg_bad(c, "asset", why);
}

/* "reference.chainlink": one feed object or a list of up to ND_LIVE_CHAINLINK_MAX. */
static nd_err_t parse_chainlinks(nd_jcfg_t *c, json_t *v, nd_live_config_t *cfg)
{
    json_t *list = json_object_get(v, "chainlink");
    if (!list)
        return ND_OK;
    if (json_is_object(list)) {
        snprintf(c->key, sizeof c->key, "reference.chainlink");
        cfg->reference.chainlink_count = 1;
        return parse_chainlink(c, list, cfg, &cfg->reference.chainlink[0]);
    }
    if (!json_is_array(list) || json_array_size(list) == 0 ||
        json_array_size(list) > ND_LIVE_CHAINLINK_MAX)
        return nd_jcfg_bad(c, "chainlink", "must be a feed object or a list of 1 to 4");
    size_t k;
    json_t *e;
    json_array_foreach(list, k, e) {
        snprintf(c->key, sizeof c->key, "reference.chainlink[%zu]", k);
        nd_err_t rc = parse_chainlink(c, e, cfg, &cfg->reference.chainlink[k]);
        if (rc != ND_OK)
            return rc;
        for (size_t j = 0; j < k; j++)
            if (strcmp(cfg->reference.chainlink[j].asset, cfg->reference.chainlink[k].asset) == 0)
                return nd_jcfg_bad(c, "asset", "a second feed for the same asset");
        cfg->reference.chainlink_count = (uint32_t)k + 1;
    }
    return ND_OK;
}

/* "reference": the reference price fed to the data-integrity breaker (docs/live.md
 * "Reference price"). */
static nd_err_t parse_reference(nd_jcfg_t *c, json_t *root, nd_live_config_t *cfg)
{
    json_t *v;
    nd_err_t rc = enter(c, root, "reference", &v);
    if (rc != ND_OK || !v)
        return rc;
    static const char *const keys[] = {"enabled", "max_deviation_bps", "max_age_ms",
                                       "deviation_hold_ms", "min_sources", "chainlink", NULL};
    nd_live_reference_config_t *r = &cfg->reference;
    int64_t bps = r->max_deviation_bps, age_ms = r->max_age_ns / ND_NS_PER_MS;
    int64_t hold_ms = r->hold_ns / ND_NS_PER_MS, min = r->min_sources;
    if ((rc = nd_jcfg_keys(c, v, keys)) != ND_OK ||
        (rc = nd_jcfg_bool(c, v, "enabled", &r->on)) != ND_OK ||
        (rc = nd_jcfg_int(c, v, "max_deviation_bps", 1, 10000, &bps)) != ND_OK ||
        (rc = nd_jcfg_int(c, v, "max_age_ms", 1, 86400000, &age_ms)) != ND_OK ||
        (rc = nd_jcfg_int(c, v, "deviation_hold_ms", 0, 86400000, &hold_ms)) != ND_OK ||
        (rc = nd_jcfg_int(c, v, "min_sources", 0, ND_REFPRICE_SOURCES_MAX, &min)) != ND_OK)
        return rc;
    r->max_deviation_bps = (int32_t)bps;
    r->max_age_ns = age_ms * ND_NS_PER_MS;
    r->hold_ns = hold_ms * ND_NS_PER_MS;
    r->min_sources = (uint32_t)min;
    return parse_chainlinks(c, v, cfg);
}

static nd_err_t latency_us(nd_jcfg_t *c, json_t *v, const char *field, nd_l2sim_latency_t *lat)
{
    int64_t us = lat->const_ns / 1000;
    nd_err_t rc = nd_jcfg_int(c, v, field, 0, 60 * 1000 * 1000, &us);
    lat->const_ns = us * 1000;
    return rc;
}

static nd_err_t parse_paper(nd_jcfg_t *c, json_t *root, nd_live_config_t *cfg)
{
    json_t *v;
    nd_err_t rc = enter(c, root, "paper", &v);
    if (rc != ND_OK || !v)
        return rc;
    static const char *const keys[] = {"maker_fee_bps", "taker_fee_bps", "entry_latency_us",
                                       "ack_latency_us", "queue_model", "seed", NULL};
    nd_sim_config_t *fees = &cfg->bt.engine.venue;
    nd_l2sim_config_t *l2 = &cfg->bt.ticks.venue;
    char model[32] = "";
    int64_t seed = (int64_t)l2->seed;
    if ((rc = nd_jcfg_keys(c, v, keys)) != ND_OK ||
        (rc = nd_jcfg_fixed(c, v, "maker_fee_bps", 2, 0, 1000000, &fees->maker_fee_bps_e2)) !=
            ND_OK ||
        (rc = nd_jcfg_fixed(c, v, "taker_fee_bps", 2, 0, 1000000, &fees->taker_fee_bps_e2)) !=
            ND_OK ||
        (rc = latency_us(c, v, "entry_latency_us", &l2->entry)) != ND_OK ||
        (rc = latency_us(c, v, "ack_latency_us", &l2->ack)) != ND_OK ||
        (rc = nd_jcfg_str(c, v, "queue_model", model, sizeof model)) != ND_OK ||
        (rc = nd_jcfg_int(c, v, "seed", 0, INT64_MAX, &seed)) != ND_OK)
        return rc;
    l2->seed = (uint64_t)seed;
    if (model[0] && strcmp(model, "risk-averse") == 0)
        l2->queue_model = ND_L2SIM_QUEUE_RISK_AVERSE;
    else if (model[0] && strcmp(model, "proportional") == 0)
        l2->queue_model = ND_L2SIM_QUEUE_PROPORTIONAL;
    else if (model[0])
        return nd_jcfg_bad(c, "queue_model", "must be \"risk-averse\" or \"proportional\"");
    return ND_OK;
}

/* A strategy's "venue": one of the session's by name; optional with one venue. */
static nd_err_t strategy_venue(nd_jcfg_t *c, json_t *s, const nd_live_config_t *cfg,
                               nd_live_strategy_t *out)
{
    char name[32] = "";
    nd_err_t rc = nd_jcfg_str(c, s, "venue", name, sizeof name);
    if (rc != ND_OK)
        return rc;
    if (!name[0] && cfg->venue_count > 1)
        return nd_jcfg_bad(c, "venue", "missing: the session has two venues; name the one it "
                                       "trades (\"binance\" or \"coinbase\")");
    out->venue = 0;
    while (name[0] && out->venue < cfg->venue_count &&
           strcmp(nd_venue_name(cfg->venues[out->venue].venue), name) != 0)
        out->venue++;
    if (out->venue == cfg->venue_count)
        return nd_jcfg_bad(c, "venue", "not one of the session's venues");
    const nd_live_venue_config_t *v = &cfg->venues[out->venue];
    out->instrument_mask = 0; /* one venue: every instrument, as before there were two */
    for (uint32_t k = 0; cfg->venue_count > 1 && k < v->symbol_count; k++)
        out->instrument_mask |= 1u << (v->symbol_first + k);
    return ND_OK;
}

static nd_err_t parse_strategy(nd_jcfg_t *c, json_t *s, const nd_live_config_t *cfg,
                               nd_live_strategy_t *out)
{
    static const char *const keys[] = {"builtin", "plugin", "lua", "weight", "params", "venue",
                                       NULL};
    nd_err_t rc = nd_jcfg_keys(c, s, keys);
    if (rc != ND_OK)
        return rc;
    static const char *const kinds[] = {"builtin", "plugin", "lua"};
    int found = 0;
    for (int k = 0; k < 3; k++) {
        if (!json_object_get(s, kinds[k]))
            continue;
        found++;
        out->kind = (nd_live_strategy_kind_t)(k + 1);
        if ((rc = nd_jcfg_str(c, s, kinds[k], out->spec, sizeof out->spec)) != ND_OK)
            return rc;
    }
    if (found != 1)
        return nd_jcfg_bad(c, NULL, "name exactly one of builtin, plugin or lua");
    int64_t w = 0;
    if ((rc = nd_jcfg_fraction(c, s, "weight", 0, 1, 6, &w)) != ND_OK)
        return rc;
    out->weight_e6 = w;
    out->params = json_object_get(s, "params");
    if (out->params && !json_is_object(out->params))
        return nd_jcfg_bad(c, "params", "must be an object of name: value");
    return strategy_venue(c, s, cfg, out);
}

static nd_err_t parse_strategies(nd_jcfg_t *c, json_t *root, nd_live_config_t *cfg)
{
    json_t *list = json_object_get(root, "strategies");
    c->key[0] = '\0';
    if (!list || !json_is_array(list) || json_array_size(list) == 0)
        return nd_jcfg_bad(c, "strategies", "missing: a list of at least one strategy");
    if (json_array_size(list) > ND_STRATEGIES_MAX)
        return nd_jcfg_bad(c, "strategies", "too many strategies");
    size_t k;
    json_t *s;
    json_array_foreach(list, k, s) {
        snprintf(c->key, sizeof c->key, "strategies[%zu]", k);
        if (!json_is_object(s))
            return nd_jcfg_bad(c, NULL, "must be an object");
        nd_err_t rc = parse_strategy(c, s, cfg, &cfg->strategies[k]);
        if (rc != ND_OK)
            return rc;
        cfg->strategy_count = (uint32_t)k + 1;
    }
    return ND_OK;
}

static nd_err_t parse_outputs(nd_jcfg_t *c, json_t *root, nd_live_config_t *cfg)
{
    json_t *v;
    nd_err_t rc = enter(c, root, "store", &v);
    static const char *const store_keys[] = {"url", NULL};
    if (rc == ND_OK && v && (rc = nd_jcfg_keys(c, v, store_keys)) == ND_OK)
        rc = nd_jcfg_str(c, v, "url", cfg->store_url, sizeof cfg->store_url);
    static const char *const comp_keys[] = {"profile", "surveil_every_ms", NULL};
    int64_t surveil_ms = 0;
    if (rc == ND_OK && (rc = enter(c, root, "compliance", &v)) == ND_OK && v &&
        (rc = nd_jcfg_keys(c, v, comp_keys)) == ND_OK &&
        (rc = nd_jcfg_int(c, v, "surveil_every_ms", 100, 3600000, &surveil_ms)) == ND_OK)
        rc = nd_jcfg_str(c, v, "profile", cfg->compliance_profile, sizeof cfg->compliance_profile);
    cfg->surveil_every_ns = surveil_ms * ND_NS_PER_MS;
    static const char *const log_keys[] = {"level", "file", NULL};
    char level[16] = "";
    if (rc == ND_OK && (rc = enter(c, root, "log", &v)) == ND_OK && v &&
        (rc = nd_jcfg_keys(c, v, log_keys)) == ND_OK &&
        (rc = nd_jcfg_str(c, v, "level", level, sizeof level)) == ND_OK)
        rc = nd_jcfg_str(c, v, "file", cfg->log_file, sizeof cfg->log_file);
    if (rc != ND_OK)
        return rc;
    static const char *const levels[] = {"err", "warn", "info", "debug"};
    for (int k = 0; level[0] && k < 4; k++)
        if (strcmp(level, levels[k]) == 0) {
            cfg->log_level = k;
            level[0] = '\0';
        }
    if (level[0])
        return nd_jcfg_bad(c, "level", "must be err, warn, info or debug");
    const char *p = cfg->compliance_profile;
    if (p[0] && strcmp(p, "US") && strcmp(p, "EU") && strcmp(p, "UK") && strcmp(p, "SG")) {
        snprintf(c->key, sizeof c->key, "compliance");
        return nd_jcfg_bad(c, "profile", "must be US, EU, UK or SG");
    }
    if (cfg->surveil_every_ns && (!p[0] || !cfg->store_url[0])) { /* it scans the store */
        snprintf(c->key, sizeof c->key, "compliance");
        return nd_jcfg_bad(c, "surveil_every_ms", "needs compliance.profile and a store");
    }
    return nd_httpd_config_parse(json_object_get(root, "metrics"), cfg->path, "metrics",
                                 &cfg->metrics, c->err, c->err_len);
}

static nd_err_t parse_session(nd_jcfg_t *c, json_t *root, nd_live_config_t *cfg)
{
    c->key[0] = '\0';
    char clock[16] = "";
    int64_t stale_ms = cfg->stale_after_ns / ND_NS_PER_MS;
    int64_t status_ms = cfg->status_every_ns / ND_NS_PER_MS, duration_s = 0;
    nd_err_t rc;
    if ((rc = nd_jcfg_str(c, root, "name", cfg->name, sizeof cfg->name)) != ND_OK ||
        (rc = nd_jcfg_str(c, root, "state_dir", cfg->state_dir, sizeof cfg->state_dir)) != ND_OK ||
        (rc = nd_jcfg_str(c, root, "clock", clock, sizeof clock)) != ND_OK ||
        (rc = nd_jcfg_int(c, root, "stale_after_ms", 1, 86400000, &stale_ms)) != ND_OK ||
        (rc = nd_jcfg_int(c, root, "status_every_ms", 10, 3600000, &status_ms)) != ND_OK ||
        (rc = nd_jcfg_int(c, root, "duration_s", 0, 366LL * 86400, &duration_s)) != ND_OK)
        return rc;
    if (!nd_jcfg_name_ok(cfg->name))
        return nd_jcfg_bad(c, "name", "missing, or not made of letters, digits, '-', '_', '.'");
    if (cfg->state_dir[0] == '\0')
        snprintf(cfg->state_dir, sizeof cfg->state_dir, "noderr-%s", cfg->name);
    char tag[8] = ""; /* the order tag's default: the name's first letters and digits */
    size_t t = 0;
    for (const char *p = cfg->name; *p && t < 6; p++)
        if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))
            tag[t++] = *p;
        else if (*p >= 'A' && *p <= 'Z')
            tag[t++] = (char)(*p - 'A' + 'a');
    for (uint32_t v = 0; v < ND_LIVE_VENUES_MAX; v++)
        snprintf(cfg->venues[v].order_tag, sizeof cfg->venues[v].order_tag, "%s",
                 t ? tag : "nd");
    if (clock[0] && strcmp(clock, "venue") == 0)
        cfg->clock = ND_LIVE_CLOCK_VENUE;
    else if (clock[0] && strcmp(clock, "local") != 0)
        return nd_jcfg_bad(c, "clock", "must be \"local\" or \"venue\"");
    cfg->stale_after_ns = stale_ms * ND_NS_PER_MS;
    cfg->status_every_ns = status_ms * ND_NS_PER_MS;
    cfg->duration_ns = duration_s * ND_NS_PER_SEC;
    return ND_OK;
}

/* "journal": {"sync": "before_send" | "batched"} (docs/live.md "Durability"). */
static nd_err_t parse_journal(nd_jcfg_t *c, json_t *root, nd_live_config_t *cfg)
{
    json_t *v;
    static const char *const keys[] = {"sync", NULL};
    char sync[16] = "";
    nd_err_t rc = enter(c, root, "journal", &v);
    if (rc != ND_OK || !v)
        return rc;
    if ((rc = nd_jcfg_keys(c, v, keys)) != ND_OK ||
        (rc = nd_jcfg_str(c, v, "sync", sync, sizeof sync)) != ND_OK)
        return rc;
    if (sync[0] && !nd_journal_sync_parse(sync, &cfg->journal_sync))
        return nd_jcfg_bad(c, "sync", "must be \"before_send\" or \"batched\"");
    return ND_OK;
}

/* The executive dashboard (docs/monitoring.md "Dashboard"): off unless the key is there. */
static nd_err_t parse_dashboard(nd_live_config_t *cfg, char *err, size_t err_len)
{
    json_t *v = json_object_get(cfg->root, "dashboard");
    if (!v)
        return ND_OK;
    char where[ND_LIVE_PATH_MAX + 16];
    snprintf(where, sizeof where, "%s: dashboard", cfg->path);
    return nd_dashboard_config_parse(v, where, &cfg->dashboard, err, err_len);
}

static void config_default(nd_live_config_t *cfg, const char *path)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->path, sizeof cfg->path, "%s", path);
    nd_backtest_config_default(&cfg->bt);
    cfg->stale_after_ns = 10 * ND_NS_PER_SEC;
    cfg->status_every_ns = ND_NS_PER_SEC;
    cfg->log_level = ND_LOG_INFO;
    cfg->journal_sync = ND_JOURNAL_SYNC_BATCHED;
    cfg->bt.min_notional = -1;
    nd_risk_config_live(&cfg->bt.engine.risk); /* halts wait for an operator; anomaly at 0.80 */
    nd_feed_monitor_config_default(&cfg->integrity);
    cfg->integrity.stale_after_ns = 30 * ND_NS_PER_SEC;
    cfg->integrity_on = true;
    cfg->max_jump_e6 = 100000;
    cfg->reference.on = true;
    cfg->reference.max_deviation_bps = 100;
    cfg->reference.max_age_ns = 10 * ND_NS_PER_SEC;
    cfg->reference.hold_ns = 5 * ND_NS_PER_SEC;
    /* Paper fills on the live book with a realistic path: 1 ms to the venue and back. */
    cfg->bt.ticks.venue.entry.const_ns = ND_NS_PER_MS;
    cfg->bt.ticks.venue.ack.const_ns = ND_NS_PER_MS;
}

nd_err_t nd_live_config_load(const char *path, nd_live_config_t *cfg, char *err, size_t err_len)
{
    ND_ASSERT(path != NULL && cfg != NULL);
    config_default(cfg, path);
    nd_err_t rc = nd_json_file_load(path, LIVE_CONFIG_BYTES_MAX, JSON_REJECT_DUPLICATES,
                                    &cfg->root, err, err_len);
    if (rc != ND_OK)
        return rc;
    nd_jcfg_t c = {cfg->path, "", err, err_len};
    if (!json_is_object(cfg->root))
        return nd_jcfg_bad(&c, NULL, "the config must be a JSON object");
    if ((rc = nd_jcfg_keys(&c, cfg->root, top_keys)) != ND_OK ||
        (rc = parse_session(&c, cfg->root, cfg)) != ND_OK ||
        (rc = parse_venues(&c, cfg->root, cfg)) != ND_OK ||
        (rc = parse_strategies(&c, cfg->root, cfg)) != ND_OK ||
        (rc = parse_capital(&c, cfg->root, cfg)) != ND_OK ||
        (rc = parse_risk(&c, cfg->root, cfg)) != ND_OK ||
        (rc = parse_paper(&c, cfg->root, cfg)) != ND_OK ||
        (rc = parse_integrity(&c, cfg->root, cfg)) != ND_OK ||
        (rc = parse_reference(&c, cfg->root, cfg)) != ND_OK ||
        (rc = parse_journal(&c, cfg->root, cfg)) != ND_OK ||
        (rc = parse_dashboard(cfg, err, err_len)) != ND_OK)
        return rc;
    return parse_outputs(&c, cfg->root, cfg);
}

void nd_live_config_free(nd_live_config_t *cfg)
{
    if (!cfg)
        return;
    json_decref(cfg->root);
    cfg->root = NULL;
}
