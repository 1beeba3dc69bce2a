/* cb_rest.c: the Advanced Trade REST client: create and cancel orders, list orders and fills,
 * accounts; every request carries a fresh ES256 JWT whose uri claim is "METHOD host/path".
 *
 * Invariants: the PEM key and key name live only in this object and are wiped on destroy; no
 * header value (the bearer token) is ever copied into an error; HTTP 401/403 map to
 * VENUE_UNAUTHORIZED, 429 to VENUE_RATE_LIMITED, 5xx to VENUE_STATUS_UNKNOWN (an order may exist
 * even though the reply is lost); numbers in replies are parsed exactly or refused. */
#include "noderr/coinbase.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"

#include <jansson.h>
#include <openssl/crypto.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CB_PREFIX "/api/v3/brokerage"

struct nd_coinbase_rest {
    nd_http_t *http;
    const nd_clock_t *clock;
    char base_url[256];
    char host[160];       /* base_url without the scheme, for the uri claim */
    char key_name[256];
    char *pem;            /* nd_alloc'd copy, cleansed on destroy */
    uint32_t page_limit;  /* the limit= of a list's page (0: ND_COINBASE_PAGE_LIMIT) */
};

static void set_err(char *err, size_t err_len, const char *text)
{
    if (err && err_len)
        snprintf(err, err_len, "%s", text);
}

nd_err_t nd_coinbase_rest_create(const char *base_url, const char *key_name,
                                 const char *private_key_pem, const nd_clock_t *clock,
                                 long timeout_ms, nd_coinbase_rest_t **out, char *err,
                                 size_t err_len)
{
    ND_ASSERT(base_url && key_name && private_key_pem && clock);
    ND_ASSERT(out != NULL);
    const char *host = strstr(base_url, "://");
    if (!host || strlen(base_url) >= sizeof((nd_coinbase_rest_t *)0)->base_url ||
        strlen(key_name) >= sizeof((nd_coinbase_rest_t *)0)->key_name) {
        set_err(err, err_len, "coinbase rest: bad base URL or key name");
        return ND_EINVAL;
    }
    nd_coinbase_rest_t *r = nd_calloc(1, sizeof *r);
    if (!r)
        return ND_ENOMEM;
    r->pem = nd_strdup(private_key_pem);
    nd_err_t rc = r->pem ? nd_http_create(timeout_ms, &r->http) : ND_ENOMEM;
    if (rc != ND_OK) {
        nd_coinbase_rest_destroy(r);
        set_err(err, err_len, "coinbase rest: cannot start the HTTP client");
        return rc;
    }
    snprintf(r->base_url, sizeof r->base_url, "%s", base_url);
    snprintf(r->host, sizeof r->host, "%s", host + 3);
    char *slash = strchr(r->host, '/');
    if (slash)
        *slash = '\0';
    snprintf(r->key_name, sizeof r->key_name, "%s", key_name);
    r->clock = clock;
    *out = r;
    return ND_OK;
}

void nd_coinbase_rest_destroy(nd_coinbase_rest_t *rest)
{
    if (!rest)
        return;
    if (rest->pem) {
        OPENSSL_cleanse(rest->pem, strlen(rest->pem));
        nd_free(rest->pem);
    }
    OPENSSL_cleanse(rest->key_name, sizeof rest->key_name);
    if (rest->http)
        nd_http_destroy(rest->http);
    nd_free(rest);
}

/* Sends one authenticated request; path is below CB_PREFIX and may carry a query string (which
 * the uri claim leaves out, as Coinbase's own SDK does). On ND_OK *json is the parsed reply. */
static nd_err_t request(nd_coinbase_rest_t *r, const char *method, const char *path,
                        const char *body, long *status, json_t **json, char *err, size_t err_len)
{
    char full[512], claim_path[512], url[768], jwt[ND_COINBASE_JWT_MAX], auth[ND_COINBASE_JWT_MAX + 32];
    snprintf(full, sizeof full, CB_PREFIX "%s", path);
    snprintf(claim_path, sizeof claim_path, "%s", full);
    claim_path[strcspn(claim_path, "?")] = '\0';
    nd_coinbase_jwt_params_t p = {.key_name = r->key_name, .method = method, .host = r->host,
                                  .path = claim_path,
                                  .now_s = nd_clock_now_ns(r->clock) / ND_NS_PER_SEC};
    nd_err_t rc = nd_coinbase_jwt_es256(r->pem, &p, jwt, sizeof jwt, err, err_len);
    if (rc != ND_OK)
        return rc;
    snprintf(url, sizeof url, "%s%s", r->base_url, full);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", jwt);
    const char *headers[] = {auth, "Content-Type: application/json", "Accept: application/json",
                             NULL};
    nd_http_response_t resp;
    rc = nd_http_request(r->http, method, url, headers, body, &resp, err, err_len);
    OPENSSL_cleanse(auth, sizeof auth);
    if (rc != ND_OK)
        return rc;
    *status = resp.status;
    *json = json_loadb(resp.body ? resp.body : "", resp.body_len, 0, NULL);
    nd_http_response_free(&resp);
    /* An error status may come with a body that is not JSON (Coinbase answers a refused JWT
     * 401 "Unauthorized" in plain text): the status says enough. */
    if (!*json && *status < 400) {
        set_err(err, err_len, "coinbase rest: the reply is not JSON");
        return ND_EPARSE;
    }
    return ND_OK;
}

int32_t nd_coinbase_reject_from_reason(const char *reason)
{
    static const struct {
        const char *reason;
        nd_reject_t reject;
    } map[] = {
        {"INSUFFICIENT_FUND", ND_REJECT_INSUFFICIENT_FUNDS},
        {"INVALID_LIMIT_PRICE_POST_ONLY", ND_REJECT_VENUE_ORDER_REJECTED},
        {"INVALID_LIMIT_PRICE", ND_REJECT_INVALID_PRICE},
        {"INVALID_PRICE_PRECISION", ND_REJECT_INVALID_PRICE},
        {"INVALID_SIZE_PRECISION", ND_REJECT_INVALID_QUANTITY},
        {"INVALID_BASE_SIZE", ND_REJECT_INVALID_QUANTITY},
        {"ORDER_SIZE_TOO_SMALL", ND_REJECT_BELOW_MIN_NOTIONAL},
        {"UNKNOWN_PRODUCT_ID", ND_REJECT_UNKNOWN_INSTRUMENT},
        {"INVALID_PRODUCT_ID", ND_REJECT_UNKNOWN_INSTRUMENT},
        {"ORDER_ENTRY_DISABLED", ND_REJECT_VENUE_SYMBOL_NOT_TRADING},
        {"UNSUPPORTED_ORDER_CONFIGURATION", ND_REJECT_VENUE_BAD_REQUEST},
        {"INVALID_SIDE", ND_REJECT_VENUE_BAD_REQUEST},
        {"PERMISSION_DENIED", ND_REJECT_VENUE_UNAUTHORIZED},
    };
    ND_ASSERT(reason != NULL);
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(reason, map[i].reason) == 0)
            return map[i].reject;
    return ND_REJECT_VENUE_ERROR;
}

/* Rejects that come from the HTTP status rather than the body. */
static int32_t reject_from_status(long status)
{
    if (status == 401 || status == 403)
        return ND_REJECT_VENUE_UNAUTHORIZED;
    if (status == 429)
        return ND_REJECT_VENUE_RATE_LIMITED;
    if (status >= 500)
        return ND_REJECT_VENUE_STATUS_UNKNOWN;
    return ND_REJECT_VENUE_BAD_REQUEST;
}

static json_t *order_body(const nd_coinbase_order_req_t *q)
{
    json_t *cfg;
    if (q->market)
        cfg = json_pack("{s:{s:s}}", "market_market_ioc", q->quote_size ? "quote_size" : "base_size",
                        q->quote_size ? q->quote_size : q->base_size);
    else
        cfg = json_pack("{s:{s:s,s:s,s:b}}", "limit_limit_gtc", "base_size", q->base_size,
                        "limit_price", q->limit_price, "post_only", q->post_only);
    return json_pack("{s:s,s:s,s:s,s:o}", "client_order_id", q->client_order_id, "product_id",
                     q->product_id, "side", q->buy ? "BUY" : "SELL", "order_configuration", cfg);
}

static void order_result(json_t *reply, long status, nd_coinbase_order_result_t *res)
{
    memset(res, 0, sizeof *res);
    res->http_status = status;
    json_t *ok = json_object_get(reply, "success");
    res->success = status == 200 && json_is_true(ok);
    const char *id = json_string_value(
        json_object_get(json_object_get(reply, "success_response"), "order_id"));
    if (res->success && id) {
        snprintf(res->order_id, sizeof res->order_id, "%s", id);
        return;
    }
    res->success = false;
    json_t *er = json_object_get(reply, "error_response");
    const char *reason = json_string_value(json_object_get(er, "new_order_failure_reason"));
    if (!reason || strcmp(reason, "UNKNOWN_FAILURE_REASON") == 0)
        reason = json_string_value(json_object_get(er, "error"));
    if (!reason)
        reason = json_string_value(json_object_get(reply, "failure_reason"));
    snprintf(res->failure_reason, sizeof res->failure_reason, "%s", reason ? reason : "");
    res->reject = status == 200 || status == 400 ? nd_coinbase_reject_from_reason(reason ? reason
                                                                                         : "")
                                                 : reject_from_status(status);
}

nd_err_t nd_coinbase_create_order(nd_coinbase_rest_t *rest, const nd_coinbase_order_req_t *req,
                                  nd_coinbase_order_result_t *out, char *err, size_t err_len)
{
    ND_ASSERT(rest && req && out);
    ND_ASSERT(req->client_order_id && req->product_id);
    if ((!req->market && (!req->limit_price || !req->base_size)) ||
        (req->market && !req->base_size && !req->quote_size)) {
        set_err(err, err_len, "coinbase order: a limit order needs base_size and limit_price, "
                              "a market order base_size or quote_size");
        return ND_EINVAL;
    }
    json_t *body = order_body(req);
    char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(body);
    if (!text)
        return ND_ENOMEM;
    long status = 0;
    json_t *reply = NULL;
    nd_err_t rc = request(rest, "POST", "/orders", text, &status, &reply, err, err_len);
    free(text); /* tidy:allow: json_dumps allocates with the C library */
    if (rc != ND_OK)
        return rc;
    order_result(reply, status, out);
    json_decref(reply);
    return ND_OK;
}

nd_err_t nd_coinbase_cancel_order(nd_coinbase_rest_t *rest, const char *order_id, bool *cancelled,
                                  char *err, size_t err_len)
{
    ND_ASSERT(rest && order_id);
    ND_ASSERT(cancelled != NULL);
    json_t *body = json_pack("{s:[s]}", "order_ids", order_id);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text)
        return ND_ENOMEM;
    long status = 0;
    json_t *reply = NULL;
    nd_err_t rc = request(rest, "POST", "/orders/batch_cancel", text, &status, &reply, err,
                          err_len);
    free(text); /* tidy:allow: json_dumps allocates with the C library */
    if (rc != ND_OK)
        return rc;
    json_t *first = json_array_get(json_object_get(reply, "results"), 0);
    const char *id = json_string_value(json_object_get(first, "order_id"));
    *cancelled = status == 200 && json_is_true(json_object_get(first, "success")) && id &&
                 strcmp(id, order_id) == 0;
    json_decref(reply);
    return ND_OK;
}

/* Parses an optional decimal string field ("" and absent are 0). */
static bool dec_field(json_t *obj, const char *key, int64_t *out)
{
    json_t *v = json_object_get(obj, key);
    *out = 0;
    if (!v || json_is_null(v))
        return true;
    if (!json_is_string(v))
        return false;
    const char *s = json_string_value(v);
    return *s == '\0' || nd_venue_decimal(s, strlen(s), ND_VENUE_DECIMALS, out) == ND_OK;
}

/* Copies a string field (jansson has decoded its escapes) whole; false when it does not fit,
 * so the element is refused rather than cut. An absent field is "". */
static bool copy_field(json_t *obj, const char *key, char *buf, size_t cap)
{
    const char *s = json_string_value(json_object_get(obj, key));
    int n = snprintf(buf, cap, "%s", s ? s : "");
    return n >= 0 && (size_t)n < cap;
}


/* The first configuration object's base_size and limit_price (whichever type it is). */
static bool order_config(json_t *o, nd_md_order_update_t *u)
{
    const char *type;
    json_t *conf;
    json_object_foreach(json_object_get(o, "order_configuration"), type, conf)
        return dec_field(conf, "base_size", &u->qty) && dec_field(conf, "limit_price", &u->px);
    return true;
}

/* Starts an order update from an order or a fill object: product_id, order_id, side (SELL, else
 * BUY) and no integer trade id (Advanced Trade trade ids are UUIDs). false when a field does not
 * fit. */
static bool order_update_start(json_t *o, nd_md_event_t *e)
{
    memset(e, 0, sizeof *e);
    e->kind = ND_MD_ORDER_UPDATE;
    e->venue = ND_VENUE_COINBASE;
    nd_md_order_update_t *u = &e->u.order;
    const char *side = json_string_value(json_object_get(o, "side"));
    u->side = (uint8_t)(side && strcmp(side, "SELL") == 0 ? ND_MD_SIDE_ASK : ND_MD_SIDE_BID);
    u->trade_id = -1;
    return copy_field(o, "product_id", e->symbol, sizeof e->symbol) &&
           copy_field(o, "order_id", u->venue_order_id, sizeof u->venue_order_id);
}

static bool order_event(json_t *o, nd_md_event_t *e)
{
    nd_md_order_update_t *u = &e->u.order;
    bool fits = order_update_start(o, e) &&
                copy_field(o, "client_order_id", u->client_order_id, sizeof u->client_order_id) &&
                copy_field(o, "order_type", u->order_type, sizeof u->order_type);
    int64_t value;
    bool ok = dec_field(o, "filled_size", &u->cum_qty) &&
              dec_field(o, "average_filled_price", &u->last_px) &&
              dec_field(o, "total_fees", &u->fee) && dec_field(o, "filled_value", &value) &&
              order_config(o, u);
    u->cum_quote = value;
    const char *status = json_string_value(json_object_get(o, "status"));
    u->status = (uint8_t)nd_coinbase_order_status(status, status ? strlen(status) : 0, u->cum_qty);
    return ok && fits && u->venue_order_id[0] != '\0';
}

static bool fill_event(json_t *f, nd_md_event_t *e)
{
    nd_md_order_update_t *u = &e->u.order;
    bool fits = order_update_start(f, e) &&
                copy_field(f, "trade_type", u->exec_type, sizeof u->exec_type);
    u->status = ND_MD_ORDER_OTHER;
    /* trade ids are UUIDs: the journal keeps them as their 62-bit key (cb_orders.c) */
    const char *tid = json_string_value(json_object_get(f, "trade_id"));
    if (tid && tid[0])
        u->trade_id = nd_coinbase_id_key(tid);
    const char *t = json_string_value(json_object_get(f, "trade_time"));
    if (t && nd_coinbase_parse_time(t, strlen(t), &e->venue_ts_ns) != ND_OK)
        e->venue_ts_ns = 0;
    return fits && dec_field(f, "price", &u->last_px) && dec_field(f, "size", &u->last_qty) &&
           dec_field(f, "commission", &u->fee) && u->venue_order_id[0] != '\0';
}

static bool balance_event(json_t *a, nd_md_event_t *e)
{
    memset(e, 0, sizeof *e);
    e->kind = ND_MD_BALANCE;
    e->venue = ND_VENUE_COINBASE;
    if (!copy_field(a, "currency", e->u.balance.asset, sizeof e->u.balance.asset))
        return false;
    snprintf(e->symbol, sizeof e->symbol, "%s", e->u.balance.asset);
    return dec_field(json_object_get(a, "available_balance"), "value", &e->u.balance.free) &&
           dec_field(json_object_get(a, "hold"), "value", &e->u.balance.locked) &&
           e->u.balance.asset[0] != '\0';
}

/* Turns each element of arr into an event through make, for sink; counts them into *count. */
static nd_err_t list_page(json_t *arr, bool (*make)(json_t *, nd_md_event_t *),
                          nd_md_sink_cb sink, void *ctx, size_t *count, char *err, size_t err_len)
{
    size_t i;
    json_t *item;
    json_array_foreach(arr, i, item) {
        nd_md_event_t e;
        if (!make(item, &e)) {
            set_err(err, err_len, "coinbase rest: an element has a malformed number, no id or a "
                                  "string longer than its field");
            return ND_EPARSE;
        }
        if (sink)
            sink(ctx, &e);
        (*count)++;
    }
    return ND_OK;
}

/* The cursor of the page after reply into next ("" when it was the last): Coinbase says
 * has_next on orders and accounts, and only a non-empty cursor on fills. ND_EPARSE for a
 * cursor that does not fit a query unescaped. */
static nd_err_t next_page(json_t *reply, char *next, size_t cap)
{
    json_t *more = json_object_get(reply, "has_next");
    const char *c = json_string_value(json_object_get(reply, "cursor"));
    next[0] = '\0';
    if ((more && !json_is_true(more)) || !c || !c[0])
        return ND_OK;
    if (strlen(c) >= cap || strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                      "0123456789-_.~=") != strlen(c))
        return ND_EPARSE;
    snprintf(next, cap, "%s", c);
    return ND_OK;
}

/* GETs path page by page (limit= when paged, then the cursor of each answer, at most
 * ND_COINBASE_LIST_PAGES_MAX pages), and turns each element of the array under key into an
 * event through make. A page that hands back the cursor it was asked with is the one before
 * again (a server that does not page): the list ends there, its elements not repeated. */
static nd_err_t list(nd_coinbase_rest_t *rest, const char *path, bool paged, const char *key,
                     bool (*make)(json_t *, nd_md_event_t *), nd_md_sink_cb sink, void *ctx,
                     size_t *count, char *err, size_t err_len)
{
    char cursor[ND_COINBASE_CURSOR_MAX] = "", next[ND_COINBASE_CURSOR_MAX], page[512];
    size_t n = 0;
    uint32_t limit = rest->page_limit ? rest->page_limit : ND_COINBASE_PAGE_LIMIT;
    for (int pages = 0; pages < ND_COINBASE_LIST_PAGES_MAX; pages++) {
        int at = paged ? snprintf(page, sizeof page, "%s%climit=%u", path,
                                  strchr(path, '?') ? '&' : '?', limit)
                       : snprintf(page, sizeof page, "%s", path);
        if (cursor[0])
            snprintf(page + at, sizeof page - (size_t)at, "%ccursor=%s",
                     strchr(page, '?') ? '&' : '?', cursor);
        long status = 0;
        json_t *reply = NULL;
        nd_err_t rc = request(rest, "GET", page, NULL, &status, &reply, err, err_len);
        if (rc != ND_OK)
            return rc;
        json_t *arr = json_object_get(reply, key);
        if (status != 200 || !json_is_array(arr)) {
            if (err && err_len)
                snprintf(err, err_len, "coinbase rest: GET %s answered HTTP %ld without %s",
                         path, status, key);
            json_decref(reply);
            return status == 200 ? ND_EPARSE : ND_EIO;
        }
        rc = next_page(reply, next, sizeof next);
        bool again = cursor[0] && strcmp(next, cursor) == 0;
        if (rc != ND_OK)
            set_err(err, err_len, "coinbase rest: a cursor too long or not URL-safe");
        else if (!again)
            rc = list_page(arr, make, sink, ctx, &n, err, err_len);
        json_decref(reply);
        if (rc != ND_OK)
            return rc;
        if (!next[0] || again) {
            *count = n;
            return ND_OK;
        }
        snprintf(cursor, sizeof cursor, "%s", next);
    }
    if (err && err_len)
        snprintf(err, err_len, "coinbase rest: GET %s has more than %d pages of %u", path,
                 ND_COINBASE_LIST_PAGES_MAX, limit);
    return ND_EFULL;
}

void nd_coinbase_rest_set_page_limit(nd_coinbase_rest_t *rest, uint32_t limit)
{
    ND_ASSERT(rest != NULL);
    ND_ASSERT(limit <= ND_COINBASE_PAGE_LIMIT);
    rest->page_limit = limit;
}

/* A paged list of the orders' history at base (of one product, or of all when product_id is
 * NULL), each entry of key made into an event for sink. */
static nd_err_t list_history(nd_coinbase_rest_t *rest, const char *base, const char *product_id,
                             const char *key, bool (*make)(json_t *, nd_md_event_t *),
                             nd_md_sink_cb sink, void *ctx, size_t *count, char *err,
                             size_t err_len)
{
    ND_ASSERT(rest != NULL);
    ND_ASSERT(count != NULL);
    char path[160];
    if (product_id)
        snprintf(path, sizeof path, "%s?product_id=%s", base, product_id);
    else
        snprintf(path, sizeof path, "%s", base);
    return list(rest, path, true, key, make, sink, ctx, count, err, err_len);
}

nd_err_t nd_coinbase_list_orders(nd_coinbase_rest_t *rest, const char *product_id,
                                 nd_md_sink_cb sink, void *ctx, size_t *count, char *err,
                                 size_t err_len)
{
    return list_history(rest, "/orders/historical/batch", product_id, "orders", order_event,
                         sink, ctx, count, err, err_len);
}

nd_err_t nd_coinbase_list_fills(nd_coinbase_rest_t *rest, const char *product_id,
                                nd_md_sink_cb sink, void *ctx, size_t *count, char *err,
                                size_t err_len)
{
    return list_history(rest, "/orders/historical/fills", product_id, "fills", fill_event, sink,
                        ctx, count, err, err_len);
}

nd_err_t nd_coinbase_accounts(nd_coinbase_rest_t *rest, nd_md_sink_cb sink, void *ctx,
                              size_t *count, char *err, size_t err_len)
{
    ND_ASSERT(rest && count);
    return list(rest, "/accounts", false, "accounts", balance_event, sink, ctx, count, err,
                err_len);
}

size_t nd_coinbase_ws_subscribe_msg(bool subscribe, const char *channel,
                                    const char *const *product_ids, size_t product_count,
                                    const char *jwt, char *out, size_t cap)
{
    ND_ASSERT(channel && out);
    ND_ASSERT(product_ids || product_count == 0);
    json_t *m = json_pack("{s:s}", "type", subscribe ? "subscribe" : "unsubscribe");
    if (product_count > 0) {
        json_t *ids = json_array();
        for (size_t i = 0; i < product_count; i++)
            json_array_append_new(ids, json_string(product_ids[i]));
        json_object_set_new(m, "product_ids", ids);
    }
    json_object_set_new(m, "channel", json_string(channel));
    if (jwt)
        json_object_set_new(m, "jwt", json_string(jwt));
    size_t n = json_dumpb(m, out, cap, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(m);
    if (n == 0 || n >= cap)
        return 0;
    out[n] = '\0';
    return n;
}

/* ---- Product rules ---------------------------------------------------------------------- */

/* A required increment: a decimal string > 0. */
static bool rule_field(json_t *o, const char *key, bool required, int64_t *out)
{
    json_t *v = json_object_get(o, key);
    if (!v && !required) {
        *out = 0;
        return true;
    }
    return dec_field(o, key, out) && json_is_string(v) && (*out > 0 || !required);
}

nd_err_t nd_coinbase_product_rules_parse(const char *json, size_t len, const char *product_id,
                                         nd_coinbase_product_rules_t *out, char *err,
                                         size_t err_len)
{
    ND_ASSERT(json != NULL || len == 0);
    ND_ASSERT(product_id != NULL && out != NULL);
    json_t *o = json_loadb(json ? json : "", len, 0, NULL);
    nd_coinbase_product_rules_t r;
    memset(&r, 0, sizeof r);
    const char *why = NULL;
    const char *id = json_string_value(json_object_get(o, "product_id"));
    if (!json_is_object(o))
        why = "the reply is not a JSON object";
    else if (!id || strcmp(id, product_id) != 0)
        why = "product_id is not the product asked for";
    else if (!rule_field(o, "base_increment", true, &r.base_increment))
        why = "base_increment is absent, malformed or not > 0";
    else if (!rule_field(o, "quote_increment", true, &r.quote_increment))
        why = "quote_increment is absent, malformed or not > 0";
    else if (!rule_field(o, "base_min_size", false, &r.base_min_size) || r.base_min_size < 0)
        why = "base_min_size is malformed";
    else if (!rule_field(o, "quote_min_size", false, &r.quote_min_size) || r.quote_min_size < 0)
        why = "quote_min_size is malformed";
    if (!why) {
        const char *status = json_string_value(json_object_get(o, "status"));
        snprintf(r.product_id, sizeof r.product_id, "%s", id);
        r.trading_disabled = json_is_true(json_object_get(o, "trading_disabled")) ||
                             (status && strcmp(status, "online") != 0);
    }
    json_decref(o);
    if (why) {
        if (err && err_len)
            snprintf(err, err_len, "coinbase product %s: %s", product_id, why);
        return ND_EPARSE;
    }
    *out = r;
    return ND_OK;
}

nd_err_t nd_coinbase_public_product(const char *base_url, const char *product_id,
                                    long timeout_ms, nd_coinbase_product_rules_t *out, char *err,
                                    size_t err_len)
{
    ND_ASSERT(base_url != NULL && product_id != NULL);
    ND_ASSERT(out != NULL);
    char url[512], why[256] = "";
    snprintf(url, sizeof url, "%s" CB_PREFIX "/market/products/%s", base_url, product_id);
    nd_http_t *http = NULL;
    nd_http_response_t resp;
    memset(&resp, 0, sizeof resp);
    nd_err_t rc = nd_http_create(timeout_ms, &http);
    if (rc == ND_OK)
        rc = nd_http_request(http, "GET", url, NULL, NULL, &resp, why, sizeof why);
    if (rc == ND_OK && resp.status != 200) {
        snprintf(why, sizeof why, "HTTP %ld", resp.status);
        rc = ND_EIO;
    }
    if (rc == ND_OK)
        rc = nd_coinbase_product_rules_parse(resp.body, resp.body_len, product_id, out, why,
                                             sizeof why);
    if (rc != ND_OK && err && err_len)
        snprintf(err, err_len, "%s: %s", url, why[0] ? why : nd_strerror(rc));
    nd_http_response_free(&resp);
    if (http)
        nd_http_destroy(http);
    return rc;
}

nd_err_t nd_coinbase_public_time(nd_http_t *http, const char *base_url, int64_t *venue_ms,
                                 char *err, size_t err_len)
{
    ND_ASSERT(http != NULL);
    ND_ASSERT(base_url != NULL && venue_ms != NULL);
    char url[512], why[256] = "";
    snprintf(url, sizeof url, "%s" CB_PREFIX "/time", base_url);
    nd_http_response_t resp;
    memset(&resp, 0, sizeof resp);
    nd_err_t rc = nd_http_request(http, "GET", url, NULL, NULL, &resp, why, sizeof why);
    if (rc == ND_OK && resp.status != 200) {
        snprintf(why, sizeof why, "HTTP %ld", resp.status);
        rc = ND_EIO;
    }
    json_t *doc = rc == ND_OK ? json_loadb(resp.body ? resp.body : "", resp.body_len, 0, NULL)
                              : NULL;
    const char *ms = json_string_value(json_object_get(doc, "epochMillis"));
    char *end = NULL;
    long long v = ms ? strtoll(ms, &end, 10) : 0;
    if (rc == ND_OK && (!ms || !ms[0] || *end != '\0' || v <= 0)) {
        snprintf(why, sizeof why, "no numeric epochMillis in the reply");
        rc = ND_EPARSE;
    }
    if (rc == ND_OK)
        *venue_ms = (int64_t)v;
    else if (err && err_len)
        snprintf(err, err_len, "%s: %s", url, why[0] ? why : nd_strerror(rc));
    json_decref(doc);
    nd_http_response_free(&resp);
    return rc;
}
