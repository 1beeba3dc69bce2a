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

/* Reads the section at key of root by its fields' table (absent: *v NULL, fine). */
static nd_err_t section(nd_jcfg_t *c, json_t *root, const char *key, const nd_jcfg_field_t *fields,
                        json_t **v)
{
    return nd_jcfg_section_fields(c, json_object_get(root, key), key, fields, v);
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
    char name[32] = "", key_type[16] = "", user_stream[16] = "";
    const nd_jcfg_field_t fields[] = {
        {"name", ND_JCFG_STR, name, .cap = sizeof name},
        {"rest_url", ND_JCFG_STR, cfg->rest_url, .cap = sizeof cfg->rest_url},
        {"ws_url", ND_JCFG_STR, cfg->ws_url, .cap = sizeof cfg->ws_url},
        {"secrets_file", ND_JCFG_STR, cfg->secrets_file, .cap = sizeof cfg->secrets_file},
        {"exchange_info", ND_JCFG_BOOL, .out = &cfg->exchange_info},
        {"key_type", ND_JCFG_STR, key_type, .cap = sizeof key_type},
        {"order_tag", ND_JCFG_STR, cfg->order_tag, .cap = sizeof cfg->order_tag},
        {"user_stream", ND_JCFG_STR, user_stream, .cap = sizeof user_stream},
        {"ws_api_url", ND_JCFG_STR, cfg->ws_api_url, .cap = sizeof cfg->ws_api_url},
        /* a "venues" entry's own symbols (parse_symbols); the table ends here otherwise */
        {in_list ? "symbol" : NULL, ND_JCFG_KEY, .out = NULL},
        {"symbols", ND_JCFG_KEY, .out = NULL},
        {.key = NULL},
    };
    if (json_object_get(v, "api_key") || json_object_get(v, "api_secret") ||
        json_object_get(v, "secret") || json_object_get(v, "private_key"))
        return nd_jcfg_bad(c, NULL, "secrets never go in the config: set NODERR_BINANCE_API_KEY "
                                    "and NODERR_BINANCE_API_SECRET (Coinbase: "
                                    "NODERR_COINBASE_API_KEY and NODERR_COINBASE_API_SECRET), "
                                    "or name a 0600 secrets_file");
    snprintf(cfg->rest_url, sizeof cfg->rest_url, "https://api.binance.com");
    snprintf(cfg->ws_url, sizeof cfg->ws_url, "wss://stream.binance.com:9443");
    cfg->exchange_info = true;
    nd_err_t rc = nd_jcfg_fields(c, v, fields);
    if (rc != ND_OK)
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
    nd_err_t rc = nd_jcfg_section(c, one, "venue", &one);
    if (rc != ND_OK)
        return rc;
    if (!one) /* the key is still "" */
        return nd_jcfg_bad(c, "venue", "missing: the venue to trade on ({\"name\": \"binance\"}, "
                                    "or a \"venues\" list)");
    if ((rc = parse_venue(c, one, false, &cfg->venues[0])) != ND_OK)
        return rc;
    c->key[0] = '\0';
    cfg->venue_count = 1;
    return parse_symbols(c, root, 0, cfg);
}

static nd_err_t parse_capital(nd_jcfg_t *c, json_t *root, nd_live_config_t *cfg)
{
    nd_engine_config_t *e = &cfg->bt.engine;
    nd_instrument_rules_t *rules = &cfg->bt.rules[0];
    int64_t pct = -1, fixed = -1;
    const nd_jcfg_field_t fields[] = {
        {"cash", ND_JCFG_FIXED, &e->initial_cash, .lo = 1, .hi = INT64_MAX / 1000,
         .places = ND_CASH_DECIMALS},
        {"sizing_percent", ND_JCFG_FRACTION, &pct, .real_lo = 0.0001, .real_hi = 1.0,
         .places = 4},
        {"sizing_fixed_qty", ND_JCFG_FIXED, &fixed, .lo = 1, .hi = INT64_MAX, .places = 8},
        {"allow_short", ND_JCFG_BOOL, .out = &e->allow_short},
        {"tick_size", ND_JCFG_FIXED, &rules->tick_size_e8, .lo = 1, .hi = INT64_MAX,
         .places = 8},
        {"lot_size", ND_JCFG_FIXED, &rules->lot_size_e8, .lo = 1, .hi = INT64_MAX,
         .places = 8},
        {"min_notional", ND_JCFG_FIXED, &rules->min_notional_e8, .lo = 0, .hi = INT64_MAX,
         .places = 8},
        {.key = NULL},
    };
    json_t *v;
    nd_err_t rc = section(c, root, "capital", fields, &v);
    if (rc != ND_OK || !v)
        return rc;
    if (pct >= 0 && fixed >= 0)
        return nd_jcfg_bad(c, NULL, "give sizing_percent or sizing_fixed_qty, not both");
    if (pct >= 0)
        e->sizing = (nd_sizing_t){ND_SIZING_PERCENT, pct, 0};
    if (fixed >= 0)
        e->sizing = (nd_sizing_t){ND_SIZING_FIXED, 0, fixed}; /* rescaled at session start */
    if (rules->tick_size_e8 || rules->lot_size_e8) {
        if (!rules->tick_size_e8 || !rules->lot_size_e8)
            return nd_jcfg_bad(c, NULL, "give tick_size and lot_size together");
        rules->source = "config";
        for (uint32_t k = 1; k < cfg->symbol_count; k++)
            cfg->bt.rules[k] = *rules; /* the same rules for every symbol */
    }
    return ND_OK;
}

static nd_err_t parse_risk(nd_jcfg_t *c, json_t *root, nd_live_config_t *cfg)
{
    nd_risk_config_t *r = &cfg->bt.engine.risk;
    char reset[128] = "";
    const nd_jcfg_field_t fields[] = {
        {"max_drawdown", ND_JCFG_FRACTION, &r->max_drawdown_pct_e2, .real_hi = 1, .places = 4},
        {"max_position", ND_JCFG_FRACTION, &r->max_position_pct_e2, .real_hi = 1, .places = 4},
        {"daily_loss", ND_JCFG_FRACTION, &r->daily_loss_pct_e2, .real_hi = 1, .places = 4},
        {"max_order_notional", ND_JCFG_FIXED, &r->max_order_notional, .lo = 0,
         .hi = INT64_MAX / 1000,         .places = ND_CASH_DECIMALS},
        {"price_collar", ND_JCFG_FRACTION, &r->price_collar_pct_e2, .real_hi = 1, .places = 4},
        {"max_orders_per_sec", ND_JCFG_INT, &r->orders_per_sec_max, .lo = 0, .hi = 1000000},
        {"breaker_reset", ND_JCFG_STR, reset, .cap = sizeof reset},
        {"anomaly_threshold", ND_JCFG_FRACTION, &r->anomaly_threshold_e6, .real_hi = 1,
         .places = 6},
        {"fast_move", ND_JCFG_FRACTION, &r->fast_move_e6, .real_hi = 0.99, .places = 6},
        {"fast_move_window_ms", ND_JCFG_INT, &r->fast_move_window_ns, .lo = 1, .hi = 86400000,
         .scale = ND_NS_PER_MS},
        {.key = NULL},
    };
    json_t *v;
    nd_err_t rc = section(c, root, "risk", fields, &v);
    if (rc != ND_OK || !v)
        return rc;
    char why[160];
    if (reset[0] && nd_risk_config_set_reset(r, reset, why, sizeof why) != ND_OK)
        return nd_jcfg_bad(c, "breaker_reset", why);
    return ND_OK;
}

/* "integrity": the data-integrity breaker's feed inputs (feed_monitor.h). */
static nd_err_t parse_integrity(nd_jcfg_t *c, json_t *root, nd_live_config_t *cfg)
{
    const nd_jcfg_field_t fields[] = {
        {"enabled", ND_JCFG_BOOL, .out = &cfg->integrity_on},
        {"stale_after_ms", ND_JCFG_INT, &cfg->integrity.stale_after_ns, .lo = 1, .hi = 86400000,
         .scale = ND_NS_PER_MS},
        {"gap_recover_ms", ND_JCFG_INT, &cfg->integrity.gap_recover_ns, .lo = 0, .hi = 86400000,
         .scale = ND_NS_PER_MS},
        {"max_jump", ND_JCFG_FRACTION, &cfg->max_jump_e6, .real_hi = 10, .places = 6},
        {.key = NULL},
    };
    json_t *v;
    return section(c, root, "integrity", fields, &v);
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
    char feed[sizeof out->feed] = "", asset[ND_NAME_MAX] = "", why[160];
    out->poll_ns = 5000 * ND_NS_PER_MS;
    out->timeout_ms = 3000;
    out->max_age_s = 0;
    const nd_jcfg_field_t fields[] = {
        {"rpc", ND_JCFG_STR, out->rpc, .cap = sizeof out->rpc},
        {"feed", ND_JCFG_STR, feed, .cap = sizeof feed},
        {"asset", ND_JCFG_STR, asset, .cap = sizeof asset},
        {"max_age_s", ND_JCFG_INT, &out->max_age_s, .lo = 1, .hi = 7 * 86400},
        {"poll_ms", ND_JCFG_INT, &out->poll_ns, .lo = 100, .hi = 3600000, .scale = ND_NS_PER_MS},
        {"timeout_ms", ND_JCFG_INT, &out->timeout_ms, .lo = 100, .hi = 60000},
        {.key = NULL},
    };
    if (!json_is_object(v))
        return nd_jcfg_bad(c, NULL, "must be an object (rpc, feed, asset, max_age_s, ...)");
    nd_err_t rc = nd_jcfg_fields(c, v, fields);
    if (rc != ND_OK)
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
    nd_live_reference_config_t *r = &cfg->reference;
    int64_t bps = r->max_deviation_bps, min = r->min_sources;
    const nd_jcfg_field_t fields[] = {
        {"enabled", ND_JCFG_BOOL, .out = &r->on},
        {"max_deviation_bps", ND_JCFG_INT, &bps, .lo = 1, .hi = 10000},
        {"max_age_ms", ND_JCFG_INT, &r->max_age_ns, .lo = 1, .hi = 86400000,
         .scale = ND_NS_PER_MS},
        {"deviation_hold_ms", ND_JCFG_INT, &r->hold_ns, .lo = 0, .hi = 86400000,
         .scale = ND_NS_PER_MS},
        {"min_sources", ND_JCFG_INT, &min, .lo = 0, .hi = ND_REFPRICE_SOURCES_MAX},
        {"chainlink", ND_JCFG_KEY, .out = NULL}, /* parse_chainlinks */
        {.key = NULL},
    };
    json_t *v;
    nd_err_t rc = section(c, root, "reference", fields, &v);
    if (rc != ND_OK || !v)
        return rc;
    r->max_deviation_bps = (int32_t)bps;
    r->min_sources = (uint32_t)min;
    return parse_chainlinks(c, v, cfg);
}

static nd_err_t parse_paper(nd_jcfg_t *c, json_t *root, nd_live_config_t *cfg)
{
    nd_sim_config_t *fees = &cfg->bt.engine.venue;
    nd_l2sim_config_t *l2 = &cfg->bt.ticks.venue;
    char model[32] = "";
    int64_t seed = (int64_t)l2->seed;
    const nd_jcfg_field_t fields[] = {
        {"maker_fee_bps", ND_JCFG_FIXED, &fees->maker_fee_bps_e2, .lo = 0, .hi = 1000000,
         .places = 2},
        {"taker_fee_bps", ND_JCFG_FIXED, &fees->taker_fee_bps_e2, .lo = 0, .hi = 1000000,
         .places = 2},
        {"entry_latency_us", ND_JCFG_INT, &l2->entry.const_ns, .lo = 0, .hi = 60 * 1000 * 1000,
         .scale = 1000},
        {"ack_latency_us", ND_JCFG_INT, &l2->ack.const_ns, .lo = 0, .hi = 60 * 1000 * 1000,
         .scale = 1000},
        {"queue_model", ND_JCFG_STR, model, .cap = sizeof model},
        {"seed", ND_JCFG_INT, &seed, .lo = 0, .hi = INT64_MAX},
        {.key = NULL},
    };
    json_t *v;
    nd_err_t rc = section(c, root, "paper", fields, &v);
    if (rc != ND_OK || !v)
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
    char level[16] = "";
    const nd_jcfg_field_t store[] = {
        {"url", ND_JCFG_STR, cfg->store_url, .cap = sizeof cfg->store_url},
        {.key = NULL},
    };
    const nd_jcfg_field_t compliance[] = {
        {"surveil_every_ms", ND_JCFG_INT, &cfg->surveil_every_ns, .lo = 100, .hi = 3600000,
         .scale = ND_NS_PER_MS},
        {"profile", ND_JCFG_STR, cfg->compliance_profile, .cap = sizeof cfg->compliance_profile},
        {.key = NULL},
    };
    const nd_jcfg_field_t logging[] = {
        {"level", ND_JCFG_STR, level, .cap = sizeof level},
        {"file", ND_JCFG_STR, cfg->log_file, .cap = sizeof cfg->log_file},
        {.key = NULL},
    };
    json_t *v;
    nd_err_t rc;
    if ((rc = section(c, root, "store", store, &v)) != ND_OK ||
        (rc = section(c, root, "compliance", compliance, &v)) != ND_OK ||
        (rc = section(c, root, "log", logging, &v)) != ND_OK)
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
    char sync[16] = "";
    const nd_jcfg_field_t fields[] = {
        {"sync", ND_JCFG_STR, sync, .cap = sizeof sync},
        {.key = NULL},
    };
    json_t *v;
    nd_err_t rc = section(c, root, "journal", fields, &v);
    if (rc != ND_OK)
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
