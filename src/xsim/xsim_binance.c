/* xsim_binance.c: Binance Spot REST, as the exchange simulator serves it.
 *
 * One request in, one response out, no I/O: the server (xsim_server.c) parses HTTP and calls
 * nd_xsim_api_handle. What Binance documents and this keeps: the /api/v3 paths and JSON shapes;
 * SIGNED endpoints need X-MBX-APIKEY (401 -2014 when absent or malformed, -2015 when unknown),
 * a `signature` parameter, last, that signs the rest of the query string and body by the key's
 * type (xsim_auth.c: HMAC-SHA256 hex, Ed25519 or RSA base64; -1022), and `timestamp` (ms or us)
 * within `recvWindow` (default 5000 ms, at most
 * 60000, up to 3 decimals) of the server clock and less than 1000 ms ahead of it (-1021); request weights per endpoint summed
 * over the current clock minute, X-MBX-USED-WEIGHT-1M on every answer, 429 with Retry-After
 * (until the minute ends) past the limit, and 418 (an IP ban of 2 minutes, doubling for each
 * repeat, up to 3 days) when 429s keep coming. Errors are {"code":N,"msg":"..."}. */
#include "xsim_int.h"

#include "noderr/alloc.h"
#include "noderr/scenario.h"
#include "noderr/assert.h"
#include "noderr/binance.h"
#include "noderr/log.h"
#include "noderr/rand.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define PARAMS_MAX 32
#define DEFAULT_RECV_WINDOW_MS 5000
#define MAX_RECV_WINDOW_MS 60000
#define MICROS_FROM 100000000000000LL /* a timestamp this large is in us (year 5138 in ms) */
#define BAN_FIRST_NS (2 * ND_NS_PER_MIN)
#define BAN_MAX_NS (3 * ND_NS_PER_DAY)

struct nd_xsim_api {
    nd_xsim_t *x;
    nd_xsim_api_config_t cfg;
    int64_t minute, used_weight;
    int64_t over_limit;   /* 429s answered this minute */
    int64_t ban_until_ns, ban_ns;
    nd_rand_t rng;             /* listenKeys */
    char listen_key[65];       /* the account's key, "" when none */
    int64_t listen_key_until_ns;
    int64_t rate_limit_until_ns, skew_ns; /* fault hooks */
};

typedef struct param {
    char key[32];
    char val[768]; /* an RSA-4096 signature is 684 base64 characters */
} param_t;

typedef struct call {
    nd_xsim_api_t *api;
    const nd_xsim_request_t *req;
    param_t params[PARAMS_MAX];
    int count;
    int64_t now_ns;   /* the server's clock, shifted by the skew fault */
    int64_t wall_ns;  /* the injected clock: what the exchange and listenKeys live by */
    nd_xsim_response_t *resp;
} call_t;

nd_err_t nd_xsim_api_create(nd_xsim_t *x, const nd_xsim_api_config_t *cfg, nd_xsim_api_t **out)
{
    ND_ASSERT(x != NULL && cfg != NULL && out != NULL);
    ND_ASSERT(cfg->api_key != NULL && cfg->api_secret != NULL);
    nd_xsim_api_t *api = nd_calloc(1, sizeof *api);
    if (!api)
        return ND_ENOMEM;
    api->x = x;
    api->cfg = *cfg;
    if (api->cfg.weight_limit <= 0)
        api->cfg.weight_limit = 6000;
    if (api->cfg.bans_after <= 0)
        api->cfg.bans_after = 3;
    api->minute = -1;
    if (api->cfg.listen_key_ttl_ns <= 0)
        api->cfg.listen_key_ttl_ns = ND_XSIM_LISTEN_KEY_TTL_NS;
    nd_rand_init(&api->rng, cfg->seed);
    *out = api;
    return ND_OK;
}

void nd_xsim_api_destroy(nd_xsim_api_t *api)
{
    nd_free(api);
}

/* ---- Responses ------------------------------------------------------------------------------ */

char *nd__xsim_json_take(json_t *doc, size_t flags, size_t *len)
{
    ND_ASSERT(len != NULL);
    *len = 0;
    if (!doc)
        return NULL;
    size_t n = json_dumpb(doc, NULL, 0, flags);
    char *buf = n ? nd_alloc(n + 1) : NULL;
    if (buf) {
        json_dumpb(doc, buf, n, flags);
        buf[n] = '\0';
        *len = n;
    }
    json_decref(doc);
    return buf;
}

nd_err_t nd__xsim_respond(nd_xsim_response_t *resp, int status, json_t *doc, size_t flags)
{
    ND_ASSERT(resp != NULL);
    size_t len = 0;
    char *buf = nd__xsim_json_take(doc, flags, &len);
    if (!buf)
        return ND_ENOMEM;
    resp->status = status;
    resp->body = buf;
    resp->body_len = len;
    return ND_OK;
}

static nd_err_t respond_json(call_t *c, int status, json_t *doc)
{
    return nd__xsim_respond(c->resp, status, doc, JSON_COMPACT);
}

static nd_err_t fail(call_t *c, int status, int code, const char *msg)
{
    return respond_json(c, status, json_pack("{s:i,s:s}", "code", code, "msg", msg));
}

static nd_err_t fail_mandatory(call_t *c, const char *name)
{
    char msg[160];
    snprintf(msg, sizeof msg,
             "Mandatory parameter '%s' was not sent, was empty/null, or malformed.", name);
    return fail(c, 400, -1102, msg);
}

json_t *nd__xsim_fixed_str(int64_t v)
{
    return nd_json_fixed(v, 8);
}

static json_t *fixed_str(int64_t v)
{
    return nd__xsim_fixed_str(v);
}

static int64_t ms_of(int64_t ns)
{
    return ns / ND_NS_PER_MS;
}

/* ---- Parameters ----------------------------------------------------------------------------- */

static int hexval(int ch)
{
    return isdigit(ch) ? ch - '0' : isxdigit(ch) ? (tolower(ch) - 'a' + 10) : -1;
}

/* URL-decodes text[0, len) into out (cap bytes with the NUL): false when malformed or long. */
static bool url_decode(const char *text, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int ch = (unsigned char)text[i];
        if (ch == '+') {
            ch = ' ';
        } else if (ch == '%') {
            if (i + 2 >= len)
                return false;
            int hi = hexval((unsigned char)text[i + 1]), lo = hexval((unsigned char)text[i + 2]);
            if (hi < 0 || lo < 0)
                return false;
            ch = hi * 16 + lo;
            i += 2;
        }
        if (n + 1 >= cap || ch == 0)
            return false;
        out[n++] = (char)ch;
    }
    out[n] = '\0';
    return true;
}

/* Splits a&b=c into c->params; false (with the answer set) on a malformed or overlong one. */
static bool parse_part(call_t *c, const char *text, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && text[end] != '&')
            end++;
        if (end > i) {
            const char *eq = memchr(text + i, '=', end - i);
            size_t klen = eq ? (size_t)(eq - (text + i)) : end - i;
            if (c->count == PARAMS_MAX)
                return false;
            param_t *p = &c->params[c->count++];
            if (!url_decode(text + i, klen, p->key, sizeof p->key))
                return false;
            if (!eq)
                p->val[0] = '\0';
            else if (!url_decode(eq + 1, (size_t)(text + end - eq - 1), p->val, sizeof p->val))
                return false;
        }
        i = end + 1;
    }
    return true;
}

static const char *param(const call_t *c, const char *key)
{
    for (int i = 0; i < c->count; i++)
        if (strcmp(c->params[i].key, key) == 0)
            return c->params[i].val[0] ? c->params[i].val : NULL;
    return NULL;
}

/* Parses an integer parameter; -1 when absent, -2 when malformed. */
static int64_t int_param(const call_t *c, const char *key)
{
    const char *v = param(c, key);
    if (!v)
        return -1;
    int64_t out = 0;
    for (const char *p = v; *p; p++) {
        if (!isdigit((unsigned char)*p) || out > (INT64_MAX - 9) / 10)
            return -2;
        out = out * 10 + (*p - '0');
    }
    return out;
}

/* ---- Weight and bans ------------------------------------------------------------------------ */

/* Charges weight; false with a 429 or 418 answer when over the limit or banned. */
static bool charge(call_t *c, int64_t weight, nd_err_t *rc)
{
    nd_xsim_api_t *api = c->api;
    int64_t minute = c->now_ns / ND_NS_PER_MIN;
    if (minute != api->minute) {
        api->minute = minute;
        api->used_weight = 0;
        api->over_limit = 0;
    }
    char msg[200];
    if (c->wall_ns < api->rate_limit_until_ns) { /* the rate-limit fault */
        c->resp->retry_after_s = (api->rate_limit_until_ns - c->wall_ns + ND_NS_PER_SEC - 1) /
                                 ND_NS_PER_SEC;
        snprintf(msg, sizeof msg, "Too much request weight used; current limit is %lld request "
                 "weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid "
                 "polling the API.", (long long)api->cfg.weight_limit);
        *rc = fail(c, 429, -1003, msg);
        return false;
    }
    if (c->now_ns < api->ban_until_ns) {
        c->resp->retry_after_s = (api->ban_until_ns - c->now_ns + ND_NS_PER_SEC - 1) / ND_NS_PER_SEC;
        snprintf(msg, sizeof msg, "Way too much request weight used; IP banned until %lld. Please "
                 "use WebSocket Streams for live updates to avoid bans.",
                 (long long)ms_of(api->ban_until_ns));
        *rc = fail(c, 418, -1003, msg);
        return false;
    }
    if (api->used_weight + weight <= api->cfg.weight_limit) {
        api->used_weight += weight;
        return true;
    }
    if (++api->over_limit > api->cfg.bans_after) {
        api->ban_ns = api->ban_ns ? api->ban_ns * 2 : BAN_FIRST_NS;
        if (api->ban_ns > BAN_MAX_NS)
            api->ban_ns = BAN_MAX_NS;
        api->ban_until_ns = c->now_ns + api->ban_ns;
        api->over_limit = 0;
        return charge(c, weight, rc);
    }
    c->resp->retry_after_s = ((minute + 1) * ND_NS_PER_MIN - c->now_ns + ND_NS_PER_SEC - 1) /
                             ND_NS_PER_SEC;
    snprintf(msg, sizeof msg, "Too much request weight used; current limit is %lld request weight "
             "per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.",
             (long long)api->cfg.weight_limit);
    *rc = fail(c, 429, -1003, msg);
    return false;
}

/* ---- Authentication ------------------------------------------------------------------------- */

/* Finds "signature=" as the last parameter of text[0, len): its offset (the '&' before it, or 0)
 * or -1. */
static long signature_at(const char *text, size_t len)
{
    static const char key[] = "signature=";
    for (size_t i = 0; i + sizeof key - 1 <= len; i++) {
        if ((i == 0 || text[i - 1] == '&') && memcmp(text + i, key, sizeof key - 1) == 0) {
            if (memchr(text + i, '&', len - i))
                return -2; /* not last */
            return i == 0 ? 0 : (long)(i - 1);
        }
    }
    return -1;
}

static bool signature_ok(const call_t *c)
{
    const nd_xsim_request_t *r = c->req;
    size_t qlen = r->query_len, blen = r->body_len;
    long at = r->body_len ? signature_at(r->body, r->body_len) : -1;
    if (at >= 0)
        blen = (size_t)at;
    else if ((at = signature_at(r->query, r->query_len)) >= 0)
        qlen = (size_t)at;
    else
        return false;
    const char *given = param(c, "signature");
    return given && nd_xsim_auth_verify(&c->api->cfg, r->query, qlen, r->body, blen, given);
}

static bool api_key_ok(const char *key, nd_err_t *rc, call_t *c)
{
    if (!key || !key[0] || strlen(key) > 256) {
        *rc = fail(c, 401, -2014, "API-key format invalid.");
        return false;
    }
    if (strcmp(key, c->api->cfg.api_key) != 0) {
        *rc = fail(c, 401, -2015, "Invalid API-key, IP, or permissions for action.");
        return false;
    }
    return true;
}

/* The SIGNED checks in Binance's order: API key, timestamp, signature, recvWindow. */
static bool authorised(call_t *c, nd_err_t *rc)
{
    if (!api_key_ok(c->req->api_key, rc, c))
        return false;
    int64_t ts = int_param(c, "timestamp"), window_us = DEFAULT_RECV_WINDOW_MS * 1000;
    if (ts < 0) {
        *rc = fail_mandatory(c, "timestamp");
        return false;
    }
    ts = ts >= MICROS_FROM ? ts : ts * 1000; /* a timestamp in ms or in us */
    const char *window = param(c, "recvWindow");
    if (window && (nd_fixed_parse(window, strlen(window), 3, &window_us) != ND_OK ||
                   window_us <= 0 || window_us > MAX_RECV_WINDOW_MS * 1000)) {
        *rc = fail(c, 400, -1131, "recvWindow must be less than 60000");
        return false;
    }
    if (!signature_ok(c)) {
        *rc = fail(c, 400, -1022, "Signature for this request is not valid.");
        return false;
    }
    int64_t now_us = c->now_ns / ND_NS_PER_US;
    if (ts >= now_us + 1000000 || now_us - ts > window_us) {
        *rc = fail(c, 400, -1021, ts >= now_us + 1000000
                                      ? "Timestamp for this request was 1000ms ahead of the "
                                        "server's time."
                                      : "Timestamp for this request is outside of the recvWindow.");
        return false;
    }
    return true;
}

int nd__xsim_api_ws_signed(const nd_xsim_api_t *api, const nd__xsim_ws_signed_t *req,
                           int64_t wall_ns, const char **msg)
{
    ND_ASSERT(api != NULL && req != NULL);
    ND_ASSERT(msg != NULL);
    if (!req->api_key || !req->api_key[0] || strlen(req->api_key) > 256) {
        *msg = "API-key format invalid.";
        return -2014;
    }
    if (strcmp(req->api_key, api->cfg.api_key) != 0) {
        *msg = "Invalid API-key, IP, or permissions for action.";
        return -2015;
    }
    int64_t ts = req->timestamp, window_us = req->recv_window_ms > 0
                                                  ? req->recv_window_ms * 1000
                                                  : DEFAULT_RECV_WINDOW_MS * 1000;
    if (ts <= 0 || !req->signature) {
        *msg = ts <= 0 ? "Mandatory parameter 'timestamp' was not sent, was empty/null, or "
                         "malformed."
                       : "Mandatory parameter 'signature' was not sent, was empty/null, or "
                         "malformed.";
        return -1102;
    }
    if (req->recv_window_ms > MAX_RECV_WINDOW_MS) {
        *msg = "recvWindow must be less than 60000";
        return -1131;
    }
    if (!nd_xsim_auth_verify(&api->cfg, req->payload, req->payload_len, NULL, 0,
                             req->signature)) {
        *msg = "Signature for this request is not valid.";
        return -1022;
    }
    ts = ts >= MICROS_FROM ? ts : ts * 1000;
    int64_t now_us = (wall_ns + api->skew_ns) / ND_NS_PER_US;
    if (ts >= now_us + 1000000 || now_us - ts > window_us) {
        *msg = "Timestamp for this request is outside of the recvWindow.";
        return -1021;
    }
    return 0;
}

/* The symbol parameter: true when it names the simulated symbol; otherwise answers. */
static bool symbol_ok(call_t *c, bool required, nd_err_t *rc)
{
    const char *s = param(c, "symbol");
    if (!s && !required)
        return true;
    if (!s) {
        *rc = fail_mandatory(c, "symbol");
        return false;
    }
    char want[ND_NAME_MAX * 2];
    const nd_instrument_t *inst = &nd_xsim_config(c->api->x)->inst;
    snprintf(want, sizeof want, "%s%s", inst->base, inst->quote);
    if (strcmp(s, want) != 0) {
        *rc = fail(c, 400, -1121, "Invalid symbol.");
        return false;
    }
    return true;
}

/* ---- JSON shapes ---------------------------------------------------------------------------- */

static const char *status_name(nd_xsim_status_t s)
{
    static const char *const names[] = {"NEW", "PARTIALLY_FILLED", "FILLED", "CANCELED",
                                        "EXPIRED", "REJECTED"};
    return names[s];
}

static const char *type_name(nd_xsim_type_t t)
{
    return t == ND_XSIM_MARKET ? "MARKET" : t == ND_XSIM_LIMIT_MAKER ? "LIMIT_MAKER" : "LIMIT";
}

static const char *tif_name(nd_xsim_tif_t t)
{
    return t == ND_XSIM_IOC ? "IOC" : t == ND_XSIM_FOK ? "FOK" : "GTC";
}

static const char *symbol_name(const call_t *c, char *buf, size_t cap)
{
    const nd_instrument_t *inst = &nd_xsim_config(c->api->x)->inst;
    snprintf(buf, cap, "%s%s", inst->base, inst->quote);
    return buf;
}

/* The fields every order answer shares, in Binance's order. */
static json_t *order_json(const call_t *c, const nd_xsim_user_order_t *o, bool query_shape)
{
    char sym[ND_NAME_MAX * 2];
    json_t *j = json_object();
    json_object_set_new(j, "symbol", json_string(symbol_name(c, sym, sizeof sym)));
    json_object_set_new(j, "orderId", json_integer(o->id));
    json_object_set_new(j, "orderListId", json_integer(-1));
    json_object_set_new(j, "clientOrderId", json_string(o->client_id));
    if (!query_shape)
        json_object_set_new(j, "transactTime", json_integer(ms_of(o->update_ns)));
    json_object_set_new(j, "price", fixed_str(o->px));
    json_object_set_new(j, "origQty", fixed_str(o->orig_qty));
    json_object_set_new(j, "executedQty", fixed_str(o->executed_qty));
    json_object_set_new(j, "cummulativeQuoteQty", fixed_str(o->cum_quote));
    json_object_set_new(j, "status", json_string(status_name(o->status)));
    json_object_set_new(j, "timeInForce", json_string(tif_name(o->tif)));
    json_object_set_new(j, "type", json_string(type_name(o->type)));
    json_object_set_new(j, "side", json_string(o->side == ND_SIDE_BUY ? "BUY" : "SELL"));
    if (query_shape) {
        json_object_set_new(j, "stopPrice", fixed_str(0));
        json_object_set_new(j, "icebergQty", fixed_str(0));
        json_object_set_new(j, "time", json_integer(ms_of(o->time_ns)));
        json_object_set_new(j, "updateTime", json_integer(ms_of(o->update_ns)));
        json_object_set_new(j, "isWorking", json_true());
        json_object_set_new(j, "origQuoteOrderQty", fixed_str(0));
    }
    json_object_set_new(j, "workingTime", json_integer(ms_of(o->time_ns)));
    json_object_set_new(j, "selfTradePreventionMode", json_string("NONE"));
    return j;
}

static const char *commission_asset(const call_t *c, const nd_xsim_trade_t *t)
{
    const nd_instrument_t *inst = &nd_xsim_config(c->api->x)->inst;
    return t->commission_in_base ? inst->base : inst->quote;
}

static json_t *fills_json(const call_t *c, int64_t order_id, size_t from)
{
    json_t *arr = json_array();
    for (size_t i = from; i < nd_xsim_trade_count(c->api->x); i++) {
        const nd_xsim_trade_t *t = nd_xsim_trade_at(c->api->x, i);
        if (t->order_id != order_id)
            continue;
        json_array_append_new(arr, json_pack("{s:o,s:o,s:o,s:s,s:I}", "price", fixed_str(t->px),
                                             "qty", fixed_str(t->qty), "commission",
                                             fixed_str(t->commission), "commissionAsset",
                                             commission_asset(c, t), "tradeId",
                                             (json_int_t)t->id));
    }
    return arr;
}

static json_t *trade_json(const call_t *c, const nd_xsim_trade_t *t)
{
    char sym[ND_NAME_MAX * 2];
    return json_pack("{s:s,s:I,s:I,s:I,s:o,s:o,s:o,s:o,s:s,s:I,s:b,s:b,s:b}", "symbol",
                     symbol_name(c, sym, sizeof sym), "id", (json_int_t)t->id, "orderId",
                     (json_int_t)t->order_id, "orderListId", (json_int_t)-1, "price",
                     fixed_str(t->px), "qty", fixed_str(t->qty), "quoteQty",
                     fixed_str(t->quote_qty), "commission", fixed_str(t->commission),
                     "commissionAsset", commission_asset(c, t), "time",
                     (json_int_t)ms_of(t->time_ns), "isBuyer", t->is_buyer, "isMaker",
                     t->is_maker, "isBestMatch", 1);
}

static json_t *filters_json(const nd_instrument_t *inst)
{
    return json_pack("[{s:s,s:o,s:o,s:o},{s:s,s:o,s:o,s:o},{s:s,s:o,s:b,s:o,s:b,s:i}]",
                     "filterType", "PRICE_FILTER", "minPrice", fixed_str(inst->tick_size),
                     "maxPrice", fixed_str(1000000 * nd_pow10(inst->px_decimals)), "tickSize",
                     fixed_str(inst->tick_size), "filterType", "LOT_SIZE", "minQty",
                     fixed_str(inst->lot_size), "maxQty", fixed_str(9000 * nd_pow10(8)),
                     "stepSize", fixed_str(inst->lot_size), "filterType", "NOTIONAL",
                     "minNotional", fixed_str(inst->min_notional), "applyMinToMarket", 1,
                     "maxNotional", fixed_str(9000000 * nd_pow10(8)), "applyMaxToMarket", 0,
                     "avgPriceMins", 5);
}

static json_t *exchange_info_json(const call_t *c)
{
    const nd_xsim_config_t *cfg = nd_xsim_config(c->api->x);
    const nd_instrument_t *inst = &cfg->inst;
    char sym[ND_NAME_MAX * 2];
    json_t *symbol = json_pack(
        "{s:s,s:s,s:s,s:i,s:s,s:i,s:i,s:i,s:[sss],s:b,s:b,s:b,s:b,s:b,s:b,s:o,s:[s],s:s}",
        "symbol", symbol_name(c, sym, sizeof sym), "status", "TRADING", "baseAsset", inst->base,
        "baseAssetPrecision", 8, "quoteAsset", inst->quote, "quotePrecision", 8,
        "quoteAssetPrecision", 8, "baseCommissionPrecision", 8, "orderTypes", "LIMIT",
        "LIMIT_MAKER", "MARKET", "icebergAllowed", 0, "ocoAllowed", 0,
        "quoteOrderQtyMarketAllowed", 1, "allowTrailingStop", 0, "cancelReplaceAllowed", 0,
        "isSpotTradingAllowed", 1, "filters", filters_json(inst), "permissions", "SPOT",
        "defaultSelfTradePreventionMode", "NONE");
    json_t *limits = json_pack("[{s:s,s:s,s:i,s:I}]", "rateLimitType", "REQUEST_WEIGHT",
                               "interval", "MINUTE", "intervalNum", 1, "limit",
                               (json_int_t)c->api->cfg.weight_limit);
    return json_pack("{s:s,s:I,s:o,s:[],s:[o]}", "timezone", "UTC", "serverTime",
                     (json_int_t)ms_of(c->now_ns), "rateLimits", limits, "exchangeFilters",
                     "symbols", symbol);
}

/* ---- Endpoints ------------------------------------------------------------------------------ */

static json_t *depth_side(const nd_xsim_book_t *book, nd_side_t side, int64_t limit)
{
    json_t *arr = json_array();
    size_t n = nd_xsim_book_count(book, side);
    int64_t levels = 0;
    for (size_t i = 0; i < n && levels < limit;) {
        int64_t px = nd_xsim_book_at(book, side, i)->px, qty = 0;
        for (; i < n && nd_xsim_book_at(book, side, i)->px == px; i++)
            qty += nd_xsim_book_at(book, side, i)->qty;
        json_array_append_new(arr, json_pack("[o,o]", fixed_str(px), fixed_str(qty)));
        levels++;
    }
    return arr;
}

static int64_t depth_weight(int64_t limit)
{
    return limit <= 100 ? 5 : limit <= 500 ? 25 : limit <= 1000 ? 50 : 250;
}

static nd_err_t get_depth(call_t *c)
{
    nd_err_t rc = ND_OK;
    int64_t limit = int_param(c, "limit");
    if (limit == -1)
        limit = 100;
    if (!charge(c, depth_weight(limit < 0 ? 100 : limit), &rc) || !symbol_ok(c, true, &rc))
        return rc;
    if (limit < 1 || limit > 5000)
        return fail(c, 400, -1100, "Illegal characters found in parameter 'limit'.");
    const nd_xsim_book_t *book = nd_xsim_book(c->api->x);
    return respond_json(c, 200, json_pack("{s:I,s:o,s:o}", "lastUpdateId",
                                          (json_int_t)nd_xsim_update_id(c->api->x), "bids",
                                          depth_side(book, ND_SIDE_BUY, limit), "asks",
                                          depth_side(book, ND_SIDE_SELL, limit)));
}

/* Parses a decimal parameter into *out (8 decimals); answers -1100 when malformed. */
static bool decimal_param(call_t *c, const char *key, int64_t *out, nd_err_t *rc)
{
    const char *v = param(c, key);
    *out = 0;
    if (!v)
        return true;
    if (nd_fixed_parse(v, strlen(v), 8, out) != ND_OK || *out < 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "Illegal characters found in parameter '%s'; legal range is "
                 "'^([0-9]{1,20})(\\.[0-9]{1,20})?$'.", key);
        *rc = fail(c, 400, -1100, msg);
        return false;
    }
    return true;
}

static bool enum_params(call_t *c, nd_xsim_new_order_t *r, nd_err_t *rc)
{
    const char *side = param(c, "side"), *type = param(c, "type"), *tif = param(c, "timeInForce");
    if (!side || !type) {
        *rc = fail_mandatory(c, side ? "type" : "side");
        return false;
    }
    if (strcmp(side, "BUY") != 0 && strcmp(side, "SELL") != 0) {
        *rc = fail(c, 400, -1117, "Invalid side.");
        return false;
    }
    r->side = side[0] == 'B' ? ND_SIDE_BUY : ND_SIDE_SELL;
    if (strcmp(type, "LIMIT") == 0)
        r->type = ND_XSIM_LIMIT;
    else if (strcmp(type, "MARKET") == 0)
        r->type = ND_XSIM_MARKET;
    else if (strcmp(type, "LIMIT_MAKER") == 0)
        r->type = ND_XSIM_LIMIT_MAKER;
    else {
        *rc = fail(c, 400, -1116, "Invalid orderType.");
        return false;
    }
    if (r->type == ND_XSIM_LIMIT && !tif) {
        *rc = fail_mandatory(c, "timeInForce");
        return false;
    }
    r->tif = !tif || strcmp(tif, "GTC") == 0 ? ND_XSIM_GTC
             : strcmp(tif, "IOC") == 0      ? ND_XSIM_IOC
             : strcmp(tif, "FOK") == 0      ? ND_XSIM_FOK
                                            : (nd_xsim_tif_t)-1;
    if ((int)r->tif < 0) {
        *rc = fail(c, 400, -1115, "Invalid timeInForce.");
        return false;
    }
    return true;
}

static bool client_id_param(call_t *c, const char *key, char out[37], nd_err_t *rc)
{
    const char *id = param(c, key);
    out[0] = '\0';
    if (!id)
        return true;
    size_t n = strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:/");
    if (n != strlen(id) || n > 36) {
        char msg[120];
        snprintf(msg, sizeof msg, "Illegal characters found in parameter '%s'.", key);
        *rc = fail(c, 400, -1100, msg);
        return false;
    }
    memcpy(out, id, n + 1);
    return true;
}

static bool order_params(call_t *c, nd_xsim_new_order_t *r, nd_err_t *rc)
{
    if (!symbol_ok(c, true, rc) || !enum_params(c, r, rc) ||
        !client_id_param(c, "newClientOrderId", r->client_id, rc) ||
        !decimal_param(c, "price", &r->px, rc) || !decimal_param(c, "quantity", &r->qty, rc) ||
        !decimal_param(c, "quoteOrderQty", &r->quote_qty, rc))
        return false;
    if (r->type != ND_XSIM_MARKET && !r->px) {
        *rc = fail_mandatory(c, "price");
        return false;
    }
    if (!r->qty && (r->type != ND_XSIM_MARKET || !r->quote_qty)) {
        *rc = fail_mandatory(c, "quantity");
        return false;
    }
    if (r->qty && r->quote_qty) {
        *rc = fail(c, 400, -1106, "Parameter 'quoteOrderQty' sent when not required.");
        return false;
    }
    return true;
}

static nd_err_t answer_reject(call_t *c, nd_xsim_reject_t rej)
{
    static const char *const msgs[] = {
        "", "Filter failure: PRICE_FILTER", "Filter failure: LOT_SIZE", "Filter failure: NOTIONAL",
        "Account has insufficient balance for requested action.",
        "Order would immediately match and take.", "Order book has no liquidity to match.",
        "Too many open orders.", "Duplicate order sent."};
    bool filter = rej <= ND_XSIM_REJ_NOTIONAL;
    return fail(c, 400, filter ? -1013 : -2010, msgs[rej]);
}

static nd_err_t post_order(call_t *c)
{
    nd_err_t rc = ND_OK;
    nd_xsim_new_order_t r;
    memset(&r, 0, sizeof r);
    if (!charge(c, 1, &rc) || !authorised(c, &rc) || !order_params(c, &r, &rc))
        return rc;
    int64_t forced = 0;
    if (nd_xsim_fault_take_reject(c->api->x, &forced)) { /* the reject fault */
        (void)nd_xsim_record_reject(c->api->x, &r, c->wall_ns);
        ND_LOG(ND_LOG_INFO, "xsim fault applied: order rejected with code %lld", (long long)forced);
        return fail(c, 400, (int)forced, forced == -1013 ? "Filter failure: PRICE_FILTER"
                                                         : "Account has insufficient balance "
                                                           "for requested action.");
    }
    size_t trades_before = nd_xsim_trade_count(c->api->x);
    int64_t id = 0;
    nd_xsim_reject_t rej = nd_xsim_place(c->api->x, &r, c->wall_ns, &id);
    if (rej != ND_XSIM_OK)
        return answer_reject(c, rej);
    const nd_xsim_user_order_t *o = nd_xsim_order(c->api->x, id);
    const char *shape = param(c, "newOrderRespType");
    json_t *j = order_json(c, o, false);
    if (shape && strcmp(shape, "ACK") == 0) {
        json_t *ack = json_pack("{s:O,s:O,s:O,s:O,s:O}", "symbol", json_object_get(j, "symbol"),
                                "orderId", json_object_get(j, "orderId"), "orderListId",
                                json_object_get(j, "orderListId"), "clientOrderId",
                                json_object_get(j, "clientOrderId"), "transactTime",
                                json_object_get(j, "transactTime"));
        json_decref(j);
        return respond_json(c, 200, ack);
    }
    if (!shape || strcmp(shape, "FULL") == 0)
        json_object_set_new(j, "fills", fills_json(c, id, trades_before));
    return respond_json(c, 200, j);
}

/* The order orderId or origClientOrderId names: NULL with the answer set when absent. */
static const nd_xsim_user_order_t *named_order(call_t *c, int unknown_code, nd_err_t *rc)
{
    int64_t id = int_param(c, "orderId");
    char client_id[37];
    if (!client_id_param(c, "origClientOrderId", client_id, rc))
        return NULL;
    if (id < 0 && !client_id[0]) {
        *rc = fail(c, 400, -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both "
                                  "were empty/null!");
        return NULL;
    }
    const nd_xsim_user_order_t *o =
        id >= 0 ? nd_xsim_order(c->api->x, id) : nd_xsim_order_by_client_id(c->api->x, client_id);
    if (!o || (id >= 0 && client_id[0] && strcmp(o->client_id, client_id) != 0)) {
        *rc = fail(c, 400, unknown_code,
                   unknown_code == -2011 ? "Unknown order sent." : "Order does not exist.");
        return NULL;
    }
    return o;
}

static json_t *cancel_json(const call_t *c, const nd_xsim_user_order_t *o)
{
    json_t *j = order_json(c, o, false);
    json_object_set_new(j, "origClientOrderId", json_string(o->client_id));
    json_object_del(j, "workingTime");
    return j;
}

static nd_err_t delete_order(call_t *c)
{
    nd_err_t rc = ND_OK;
    if (!charge(c, 1, &rc) || !authorised(c, &rc) || !symbol_ok(c, true, &rc))
        return rc;
    const nd_xsim_user_order_t *o = named_order(c, -2011, &rc);
    if (!o)
        return rc;
    if (nd_xsim_cancel(c->api->x, o->id, c->wall_ns) != ND_OK)
        return fail(c, 400, -2011, "Unknown order sent.");
    return respond_json(c, 200, cancel_json(c, o));
}

static nd_err_t get_order(call_t *c)
{
    nd_err_t rc = ND_OK;
    if (!charge(c, 4, &rc) || !authorised(c, &rc) || !symbol_ok(c, true, &rc))
        return rc;
    const nd_xsim_user_order_t *o = named_order(c, -2013, &rc);
    return o ? respond_json(c, 200, order_json(c, o, true)) : rc;
}

static bool is_open(const nd_xsim_user_order_t *o)
{
    return o->status == ND_XSIM_NEW || o->status == ND_XSIM_PARTIALLY_FILLED;
}

static nd_err_t get_open_orders(call_t *c)
{
    nd_err_t rc = ND_OK;
    if (!charge(c, param(c, "symbol") ? 6 : 80, &rc) || !authorised(c, &rc) ||
        !symbol_ok(c, false, &rc))
        return rc;
    json_t *arr = json_array();
    for (int64_t id = 1; id <= nd_xsim_order_count(c->api->x); id++) {
        const nd_xsim_user_order_t *o = nd_xsim_order(c->api->x, id);
        if (is_open(o))
            json_array_append_new(arr, order_json(c, o, true));
    }
    return respond_json(c, 200, arr);
}

static nd_err_t delete_open_orders(call_t *c)
{
    nd_err_t rc = ND_OK;
    if (!charge(c, 1, &rc) || !authorised(c, &rc) || !symbol_ok(c, true, &rc))
        return rc;
    json_t *arr = json_array();
    for (int64_t id = 1; id <= nd_xsim_order_count(c->api->x); id++) {
        const nd_xsim_user_order_t *o = nd_xsim_order(c->api->x, id);
        if (is_open(o) && nd_xsim_cancel(c->api->x, id, c->wall_ns) == ND_OK)
            json_array_append_new(arr, cancel_json(c, o));
    }
    if (json_array_size(arr) == 0) {
        json_decref(arr);
        return fail(c, 400, -2011, "Unknown order sent.");
    }
    return respond_json(c, 200, arr);
}

static json_t *balance_json(const char *asset, int64_t free_units, int64_t locked)
{
    return json_pack("{s:s,s:o,s:o}", "asset", asset, "free", fixed_str(free_units), "locked",
                     fixed_str(locked));
}

static nd_err_t get_account(call_t *c)
{
    nd_err_t rc = ND_OK;
    if (!charge(c, 20, &rc) || !authorised(c, &rc))
        return rc;
    const nd_xsim_config_t *cfg = nd_xsim_config(c->api->x);
    int64_t bf, bl, qf, ql;
    nd_xsim_balances(c->api->x, &bf, &bl, &qf, &ql);
    json_int_t bps = (json_int_t)cfg->fee_bps;
    json_t *rates = json_pack("{s:o,s:o,s:o,s:o}", "maker", fixed_str(cfg->fee_bps * 10000),
                              "taker", fixed_str(cfg->fee_bps * 10000), "buyer", fixed_str(0),
                              "seller", fixed_str(0));
    json_t *balances = json_pack("[o,o]", balance_json(cfg->inst.base, bf, bl),
                                 balance_json(cfg->inst.quote, qf, ql));
    return respond_json(
        c, 200,
        json_pack("{s:I,s:I,s:i,s:i,s:o,s:b,s:b,s:b,s:b,s:b,s:b,s:I,s:s,s:o,s:[s],s:i}",
                  "makerCommission", bps, "takerCommission", bps, "buyerCommission", 0,
                  "sellerCommission", 0, "commissionRates", rates, "canTrade", 1, "canWithdraw",
                  0, "canDeposit", 0, "brokered", 0, "requireSelfTradePrevention", 0,
                  "preventSor", 0, "updateTime", (json_int_t)ms_of(c->now_ns), "accountType",
                  "SPOT", "balances", balances, "permissions", "SPOT", "uid", 1));
}

static nd_err_t get_my_trades(call_t *c)
{
    nd_err_t rc = ND_OK;
    if (!charge(c, 20, &rc) || !authorised(c, &rc) || !symbol_ok(c, true, &rc))
        return rc;
    int64_t order_id = int_param(c, "orderId"), from_id = int_param(c, "fromId"),
            limit = int_param(c, "limit");
    if (order_id == -2 || from_id == -2 || limit == -2 || limit == 0 || limit > 1000)
        return fail(c, 400, -1100, "Illegal characters found in a parameter.");
    if (limit < 0)
        limit = 500;
    json_t *arr = json_array();
    for (size_t i = 0; i < nd_xsim_trade_count(c->api->x) && (int64_t)json_array_size(arr) < limit;
         i++) {
        const nd_xsim_trade_t *t = nd_xsim_trade_at(c->api->x, i);
        if ((order_id >= 0 && t->order_id != order_id) || (from_id >= 0 && t->id < from_id))
            continue;
        json_array_append_new(arr, trade_json(c, t));
    }
    return respond_json(c, 200, arr);
}

static nd_err_t simple(call_t *c, int64_t weight, json_t *doc)
{
    nd_err_t rc = ND_OK;
    if (!charge(c, weight, &rc)) {
        json_decref(doc);
        return rc;
    }
    return respond_json(c, 200, doc);
}

static nd_err_t get_exchange_info(call_t *c)
{
    nd_err_t rc = ND_OK;
    if (!charge(c, 20, &rc) || !symbol_ok(c, false, &rc))
        return rc;
    return respond_json(c, 200, exchange_info_json(c));
}

typedef struct route {
    const char *method, *path;
    nd_err_t (*run)(call_t *c);
} route_t;

static nd_err_t get_ping(call_t *c)
{
    return simple(c, 1, json_object());
}

static nd_err_t get_time(call_t *c)
{
    return simple(c, 1, json_pack("{s:I}", "serverTime", (json_int_t)ms_of(c->now_ns)));
}

/* ---- User data stream keys ------------------------------------------------------------------- */

static bool key_live(const nd_xsim_api_t *api, int64_t now_ns)
{
    return api->listen_key[0] && now_ns < api->listen_key_until_ns;
}

/* POST: the account's live key (its life extended), or a new one. */
static nd_err_t post_user_stream(call_t *c)
{
    nd_err_t rc = ND_OK;
    nd_xsim_api_t *api = c->api;
    if (!charge(c, 2, &rc) || !api_key_ok(c->req->api_key, &rc, c))
        return rc;
    if (!key_live(api, c->wall_ns)) {
        static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        for (int i = 0; i < 60; i++)
            api->listen_key[i] = alnum[nd_rand_below(&api->rng, sizeof alnum - 1)];
        api->listen_key[60] = '\0';
    }
    api->listen_key_until_ns = c->wall_ns + api->cfg.listen_key_ttl_ns;
    return respond_json(c, 200, json_pack("{s:s}", "listenKey", api->listen_key));
}

/* PUT (keep-alive) and DELETE (close) of the key named by listenKey. */
static nd_err_t key_call(call_t *c, bool close)
{
    nd_err_t rc = ND_OK;
    nd_xsim_api_t *api = c->api;
    if (!charge(c, 2, &rc) || !api_key_ok(c->req->api_key, &rc, c))
        return rc;
    const char *key = param(c, "listenKey");
    if (!key)
        return fail_mandatory(c, "listenKey");
    if (!key_live(api, c->wall_ns) || strcmp(key, api->listen_key) != 0)
        return fail(c, 400, -1125, "This listenKey does not exist.");
    if (close)
        api->listen_key_until_ns = c->wall_ns; /* lapses now: the streams get listenKeyExpired */
    else
        api->listen_key_until_ns = c->wall_ns + api->cfg.listen_key_ttl_ns;
    return respond_json(c, 200, json_object());
}

static nd_err_t put_user_stream(call_t *c)
{
    return key_call(c, false);
}

static nd_err_t delete_user_stream(call_t *c)
{
    return key_call(c, true);
}

bool nd__xsim_api_listen_key_ok(const nd_xsim_api_t *api, const char *key, int64_t now_ns)
{
    return key_live(api, now_ns) && strlen(key) == 60 && strcmp(key, api->listen_key) == 0;
}

bool nd__xsim_api_listen_key_expired(nd_xsim_api_t *api, int64_t now_ns, char out[65])
{
    if (!api->listen_key[0] || key_live(api, now_ns))
        return false;
    memcpy(out, api->listen_key, 65);
    explicit_bzero(api->listen_key, sizeof api->listen_key);
    return true;
}

void nd__xsim_api_fault_rate_limit(nd_xsim_api_t *api, int64_t until_ns)
{
    api->rate_limit_until_ns = until_ns;
}

const nd_xsim_api_config_t *nd__xsim_api_config(const nd_xsim_api_t *api)
{
    return &api->cfg;
}

nd_xsim_t *nd__xsim_api_exchange(const nd_xsim_api_t *api)
{
    return api->x;
}

int64_t nd__xsim_api_rate_limit_until(const nd_xsim_api_t *api)
{
    return api->rate_limit_until_ns;
}

int64_t nd__xsim_api_skew(const nd_xsim_api_t *api)
{
    return api->skew_ns;
}

void nd__xsim_api_fault_skew(nd_xsim_api_t *api, int64_t skew_ns)
{
    api->skew_ns = skew_ns;
}

const char *nd__xsim_api_admin_token(const nd_xsim_api_t *api)
{
    return api->cfg.admin_token;
}

static const route_t routes[] = {
    {"POST", "/api/v3/userDataStream", post_user_stream},
    {"PUT", "/api/v3/userDataStream", put_user_stream},
    {"DELETE", "/api/v3/userDataStream", delete_user_stream},
    {"GET", "/api/v3/ping", get_ping},
    {"GET", "/api/v3/time", get_time},
    {"GET", "/api/v3/exchangeInfo", get_exchange_info},
    {"GET", "/api/v3/depth", get_depth},
    {"POST", "/api/v3/order", post_order},
    {"DELETE", "/api/v3/order", delete_order},
    {"GET", "/api/v3/order", get_order},
    {"GET", "/api/v3/openOrders", get_open_orders},
    {"DELETE", "/api/v3/openOrders", delete_open_orders},
    {"GET", "/api/v3/account", get_account},
    {"GET", "/api/v3/myTrades", get_my_trades},
};

nd_err_t nd_xsim_api_handle(nd_xsim_api_t *api, const nd_xsim_request_t *req, int64_t now_ns,
                            nd_xsim_response_t *resp)
{
    ND_ASSERT(api != NULL && req != NULL && resp != NULL);
    ND_ASSERT(req->method != NULL && req->path != NULL);
    if (api->cfg.venue == ND_XSIM_VENUE_COINBASE)
        return nd__xsim_cb_handle(api, req, now_ns, resp);
    memset(resp, 0, sizeof *resp);
    call_t *c = nd_calloc(1, sizeof *c);
    if (!c)
        return ND_ENOMEM;
    c->api = api;
    c->req = req;
    c->wall_ns = now_ns;
    c->now_ns = now_ns + api->skew_ns; /* the clock-skew fault moves the server's clock */
    c->resp = resp;
    nd_xsim_advance(api->x, now_ns);
    nd_err_t rc = ND_OK;
    const route_t *route = NULL;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (strcmp(routes[i].path, req->path) == 0 && strcmp(routes[i].method, req->method) == 0)
            route = &routes[i];
    if (!route)
        rc = fail(c, 404, -1000, "Unknown path or method.");
    else if (!parse_part(c, req->query, req->query_len) || !parse_part(c, req->body, req->body_len))
        rc = fail(c, 400, -1100, "Illegal characters found in a parameter.");
    else
        rc = route->run(c);
    resp->used_weight = api->used_weight;
    nd_free(c);
    return rc;
}
