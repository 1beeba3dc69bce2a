/* xsim_coinbase.c: Coinbase Advanced Trade REST as exchange-sim serves it (--venue coinbase).
 *
 * Paths under /api/v3/brokerage: POST /orders (market_market_ioc, limit_limit_gtc with
 * post_only; a repeated client_order_id answers the existing order, as Coinbase does),
 * POST /orders/batch_cancel, GET /orders/historical/batch, /orders/historical/{order_id},
 * /orders/historical/fills, /accounts, /products/{product_id}, and the public /time and
 * /market/products/{product_id}. Every other request carries "Authorization: Bearer <JWT>": an
 * ES256 JWT of the configured key name, verified with its public key (signature, sub, iss,
 * nbf/exp, uri = "METHOD host/path"); a refused one is 401 "Unauthorized" in plain text, as
 * Coinbase answers. Other errors are Coinbase's {"error","error_details","message"}; order
 * failures are HTTP 200 with success false and error_response. Order ids are UUID-shaped from
 * the exchange's integer ids (nd__xsim_cb_order_uuid), so no table maps them. */
#include "xsim_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/coinbase.h"
#include "noderr/fixed.h"
#include "noderr/log.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX "/api/v3/brokerage"
#define JWT_LEEWAY_S 5

typedef struct cb_call {
    nd_xsim_api_t *api;
    nd_xsim_t *x;
    const nd_xsim_request_t *req;
    const char *path;   /* below PREFIX */
    int64_t now_ns;
    nd_xsim_response_t *resp;
} cb_call_t;

/* ---- Shared pieces ------------------------------------------------------------------------ */

void nd__xsim_cb_order_uuid(int64_t id, char out[37])
{
    snprintf(out, 37, "00000000-0000-4000-8000-%012llx",
             (unsigned long long)id & 0xffffffffffffULL);
}

int64_t nd__xsim_cb_order_id(const char *uuid)
{
    static const char head[] = "00000000-0000-4000-8000-";
    if (strlen(uuid) != 36 || strncmp(uuid, head, sizeof head - 1) != 0)
        return 0;
    char *end = NULL;
    long long id = strtoll(uuid + sizeof head - 1, &end, 16);
    return end && *end == '\0' && id > 0 ? (int64_t)id : 0;
}

json_t *nd__xsim_cb_time(int64_t ns)
{
    char buf[40];
    nd_civil_t c;
    nd_time_to_civil(ns, &c);
    snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", c.year, c.month, c.day,
             c.hour, c.minute, c.second, (long long)(c.nanos / 1000));
    return json_string(buf);
}

json_t *nd__xsim_cb_dec(int64_t v)
{
    char buf[32];
    nd_fixed_format(v, 8, buf, sizeof buf);
    return json_string(buf);
}

const char *nd__xsim_cb_status(const nd_xsim_user_order_t *o)
{
    switch (o->status) {
    case ND_XSIM_NEW:
    case ND_XSIM_PARTIALLY_FILLED: return "OPEN";
    case ND_XSIM_FILLED: return "FILLED";
    case ND_XSIM_CANCELED: return "CANCELLED";
    case ND_XSIM_EXPIRED: /* an IOC's remainder: Coinbase cancels it */
        return o->type == ND_XSIM_MARKET ? "CANCELLED" : "EXPIRED";
    default: return "FAILED";
    }
}

static void product_id(const nd_xsim_t *x, char out[ND_NAME_MAX * 2])
{
    const nd_instrument_t *inst = &nd_xsim_config(x)->inst;
    snprintf(out, ND_NAME_MAX * 2, "%s-%s", inst->base, inst->quote);
}

/* ---- Answers ------------------------------------------------------------------------------ */

static nd_err_t answer(cb_call_t *c, int status, json_t *doc)
{
    return nd__xsim_respond(c->resp, status, doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

/* Coinbase's error body: {"error":CODE,"error_details":MSG,"message":MSG}. */
static nd_err_t fail(cb_call_t *c, int status, const char *code, const char *msg)
{
    return answer(c, status, json_pack("{s:s,s:s,s:s}", "error", code, "error_details", msg,
                                       "message", msg));
}

static nd_err_t unauthorized(cb_call_t *c, const char *why)
{
    ND_LOG(ND_LOG_INFO, "xsim coinbase JWT refused: %s", why);
    static const char text[] = "Unauthorized\n";
    c->resp->body = nd_alloc(sizeof text);
    if (!c->resp->body)
        return ND_ENOMEM;
    memcpy(c->resp->body, text, sizeof text);
    c->resp->body_len = sizeof text - 1;
    c->resp->status = 401;
    c->resp->content_type = "text/plain; charset=utf-8";
    return ND_OK;
}

/* The value of name in the query string (raw, not decoded) into out; false when absent. Every
 * occurrence after index skip: callers walk repeated parameters. */
static bool query_param(const cb_call_t *c, const char *name, int skip, char *out, size_t cap)
{
    const char *q = c->req->query, *end = q + c->req->query_len;
    size_t n = strlen(name);
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *stop = amp ? amp : end;
        if ((size_t)(stop - q) > n && strncmp(q, name, n) == 0 && q[n] == '=' && skip-- == 0) {
            size_t len = (size_t)(stop - q) - n - 1;
            if (len >= cap)
                return false;
            memcpy(out, q + n + 1, len);
            out[len] = '\0';
            return true;
        }
        q = stop + 1;
    }
    return false;
}

nd_err_t nd_xsim_cb_key_check(const char *pem, size_t len, char *err, size_t err_len)
{
    ND_ASSERT(pem != NULL);
    if (memmem(pem, len, "PRIVATE KEY", 11)) {
        snprintf(err, err_len, "a private key: register the public half "
                               "(openssl ec -in KEY -pubout)");
        return ND_EINVAL;
    }
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *key = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
    char group[32] = "";
    size_t glen = 0;
    bool ok = key && EVP_PKEY_is_a(key, "EC") &&
              EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof group, &glen) == 1 &&
              strcmp(group, "prime256v1") == 0;
    EVP_PKEY_free(key);
    BIO_free(bio);
    if (!ok)
        snprintf(err, err_len, "not the PEM public key of a P-256 (ES256) key");
    return ok ? ND_OK : ND_EINVAL;
}

/* ---- JWT ---------------------------------------------------------------------------------- */

static bool claims_ok(const nd_xsim_api_config_t *cfg, json_t *claims, const char *uri,
                      int64_t now_s, const char **why)
{
    const char *sub = json_string_value(json_object_get(claims, "sub"));
    const char *iss = json_string_value(json_object_get(claims, "iss"));
    json_t *nbf = json_object_get(claims, "nbf"), *exp = json_object_get(claims, "exp");
    const char *got_uri = json_string_value(json_object_get(claims, "uri"));
    if (!sub || strcmp(sub, cfg->api_key) != 0)
        *why = "sub is not the key name";
    else if (!iss || strcmp(iss, "cdp") != 0)
        *why = "iss is not cdp";
    else if (!json_is_integer(nbf) || !json_is_integer(exp))
        *why = "nbf or exp missing";
    else if (json_integer_value(nbf) > now_s + JWT_LEEWAY_S)
        *why = "not valid yet (nbf)";
    else if (json_integer_value(exp) <= now_s)
        *why = "expired";
    else if (json_integer_value(exp) - json_integer_value(nbf) > ND_COINBASE_JWT_LIFETIME_S)
        *why = "lifetime over 120 s";
    else if (uri && (!got_uri || strcmp(got_uri, uri) != 0))
        *why = "uri is not this request's";
    else
        return true;
    return false;
}

bool nd__xsim_cb_jwt_ok(const nd_xsim_api_config_t *cfg, const char *jwt, const char *method,
                        const char *host, const char *path, int64_t now_ns, char *why,
                        size_t why_len)
{
    char payload[1024], err[128] = "";
    const char *reason = NULL;
    if (!cfg->cb_public_key_pem || !jwt || strlen(jwt) >= ND_COINBASE_JWT_MAX) {
        snprintf(why, why_len, "no JWT or one too long");
        return false;
    }
    if (nd_coinbase_jwt_verify(jwt, cfg->cb_public_key_pem, payload, sizeof payload, err,
                               sizeof err) != ND_OK) {
        snprintf(why, why_len, "%s", err);
        return false;
    }
    char uri[768] = "";
    if (method && host)
        snprintf(uri, sizeof uri, "%s %s%s", method, host, path);
    json_t *claims = json_loads(payload, 0, NULL);
    bool ok = claims_ok(cfg, claims, method && host ? uri : NULL, now_ns / ND_NS_PER_SEC, &reason);
    if (ok && method && !host) { /* no Host header: the path part must still match */
        const char *u = json_string_value(json_object_get(claims, "uri"));
        const char *slash = u ? strchr(u, '/') : NULL;
        size_t mlen = strlen(method);
        ok = u && slash && strncmp(u, method, mlen) == 0 && u[mlen] == ' ' &&
             strcmp(slash, path) == 0;
        reason = "uri is not this request's";
    }
    json_decref(claims);
    if (!ok)
        snprintf(why, why_len, "%s", reason ? reason : "claims not JSON");
    return ok;
}

static bool authorized(cb_call_t *c, const char **why_out)
{
    static char why[160];
    const char *auth = c->req->authorization;
    *why_out = why;
    if (!auth || strncmp(auth, "Bearer ", 7) != 0) {
        snprintf(why, sizeof why, "no Authorization: Bearer header");
        return false;
    }
    char path[300];
    snprintf(path, sizeof path, "%s", c->req->path);
    return nd__xsim_cb_jwt_ok(nd__xsim_api_config(c->api), auth + 7, c->req->method,
                              c->req->host, path, c->now_ns + nd__xsim_api_skew(c->api), why,
                              sizeof why);
}

/* ---- Orders as JSON ----------------------------------------------------------------------- */

static json_t *order_config(const nd_xsim_user_order_t *o)
{
    if (o->type == ND_XSIM_MARKET)
        return json_pack("{s:{s:o}}", "market_market_ioc", "base_size",
                         nd__xsim_cb_dec(o->orig_qty));
    return json_pack("{s:{s:o,s:o,s:b}}", "limit_limit_gtc", "base_size",
                     nd__xsim_cb_dec(o->orig_qty), "limit_price", nd__xsim_cb_dec(o->px),
                     "post_only", o->type == ND_XSIM_LIMIT_MAKER);
}

/* Fills and fees of an order (a scan of the user's trades). */
static void order_fills(const nd_xsim_t *x, int64_t id, int64_t *fills, int64_t *fees,
                        int64_t *last_ns)
{
    *fills = *fees = *last_ns = 0;
    for (size_t i = 0; i < nd_xsim_trade_count(x); i++) {
        const nd_xsim_trade_t *t = nd_xsim_trade_at(x, i);
        if (t->order_id != id)
            continue;
        (*fills)++;
        *fees += t->commission;
        *last_ns = t->time_ns;
    }
}

static int64_t avg_price(const nd_xsim_user_order_t *o)
{
    int64_t avg = 0;
    if (o->executed_qty > 0)
        (void)nd_fixed_mul_div(o->cum_quote, 100000000LL, o->executed_qty, ND_ROUND_HALF_EVEN,
                               &avg);
    return avg;
}

static json_t *order_json(const nd_xsim_t *x, const nd_xsim_user_order_t *o)
{
    char id[37], pid[ND_NAME_MAX * 2], pct[32];
    int64_t fills, fees, last_ns, pct_e8 = 0;
    nd__xsim_cb_order_uuid(o->id, id);
    product_id(x, pid);
    order_fills(x, o->id, &fills, &fees, &last_ns);
    if (o->orig_qty > 0) /* "100.00", two decimals as Coinbase sends */
        (void)nd_fixed_mul_div(o->executed_qty, 10000, o->orig_qty, ND_ROUND_DOWN, &pct_e8);
    snprintf(pct, sizeof pct, "%lld.%02lld", (long long)(pct_e8 / 100), (long long)(pct_e8 % 100));
    bool buy = o->side == ND_SIDE_BUY, open = !strcmp(nd__xsim_cb_status(o), "OPEN");
    json_t *j = json_pack("{s:s,s:s,s:s,s:o,s:s,s:s,s:s,s:s,s:o,s:s,s:o,s:o,s:s,s:I}",
                          "order_id", id, "product_id", pid, "user_id", "xsim-user",
                          "order_configuration", order_config(o), "side", buy ? "BUY" : "SELL",
                          "client_order_id", o->client_id, "status", nd__xsim_cb_status(o),
                          "time_in_force", o->type == ND_XSIM_MARKET ? "IMMEDIATE_OR_CANCEL"
                                                                      : "GOOD_UNTIL_CANCELLED",
                          "created_time", nd__xsim_cb_time(o->time_ns),
                          "completion_percentage", pct, "filled_size",
                          nd__xsim_cb_dec(o->executed_qty), "average_filled_price",
                          nd__xsim_cb_dec(avg_price(o)), "fee", "", "number_of_fills",
                          (json_int_t)fills);
    if (!j)
        return NULL;
    char nfills[24];
    snprintf(nfills, sizeof nfills, "%lld", (long long)fills);
    json_object_set_new(j, "number_of_fills", json_string(nfills));
    json_object_set_new(j, "filled_value", nd__xsim_cb_dec(o->cum_quote));
    json_object_set_new(j, "pending_cancel", json_false());
    json_object_set_new(j, "size_in_quote", json_false());
    json_object_set_new(j, "total_fees", nd__xsim_cb_dec(fees));
    json_object_set_new(j, "size_inclusive_of_fees", json_false());
    json_object_set_new(j, "total_value_after_fees",
                        nd__xsim_cb_dec(buy ? o->cum_quote + fees : o->cum_quote - fees));
    json_object_set_new(j, "trigger_status", json_string("INVALID_ORDER_TYPE"));
    json_object_set_new(j, "order_type", json_string(o->type == ND_XSIM_MARKET ? "MARKET" : "LIMIT"));
    json_object_set_new(j, "reject_reason", json_string("REJECT_REASON_UNSPECIFIED"));
    json_object_set_new(j, "settled", json_boolean(!open));
    json_object_set_new(j, "product_type", json_string("SPOT"));
    json_object_set_new(j, "order_placement_source", json_string("RETAIL_ADVANCED"));
    json_object_set_new(j, "outstanding_hold_amount", nd__xsim_cb_dec(open ? o->locked : 0));
    json_object_set_new(j, "last_fill_time", last_ns ? nd__xsim_cb_time(last_ns) : json_null());
    json_object_set_new(j, "reject_message", json_string(""));
    json_object_set_new(j, "cancel_message", json_string(""));
    json_object_set_new(j, "is_liquidation", json_false());
    json_object_set_new(j, "edit_history", json_array());
    json_object_set_new(j, "leverage", json_string(""));
    json_object_set_new(j, "margin_type", json_string("UNKNOWN_MARGIN_TYPE"));
    return j;
}

/* ---- Endpoints ---------------------------------------------------------------------------- */

static nd_err_t get_time(cb_call_t *c)
{
    int64_t now = c->now_ns + nd__xsim_api_skew(c->api);
    char s[24], ms[24];
    snprintf(s, sizeof s, "%lld", (long long)(now / ND_NS_PER_SEC));
    snprintf(ms, sizeof ms, "%lld", (long long)(now / ND_NS_PER_MS));
    return answer(c, 200, json_pack("{s:o,s:s,s:s}", "iso", nd__xsim_cb_time(now),
                                    "epochSeconds", s, "epochMillis", ms));
}

static nd_err_t get_product(cb_call_t *c, const char *id)
{
    char pid[ND_NAME_MAX * 2];
    product_id(c->x, pid);
    if (strcmp(id, pid) != 0)
        return fail(c, 404, "NOT_FOUND", "ProductID is invalid");
    const nd_instrument_t *inst = &nd_xsim_config(c->x)->inst;
    const nd_xsim_book_t *book = nd_xsim_book(c->x);
    int64_t bid = nd_xsim_book_best(book, ND_SIDE_BUY), ask = nd_xsim_book_best(book, ND_SIDE_SELL);
    int64_t mid = nd_fixed_floor_to(bid && ask ? (bid + ask) / 2 : bid ? bid : ask,
                                    nd_xsim_config(c->x)->inst.tick_size);
    json_t *j = json_pack("{s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:s,s:s,s:s,s:b,s:b,s:b,s:b,s:b}",
                          "product_id", pid, "price", nd__xsim_cb_dec(mid), "base_increment",
                          nd__xsim_cb_dec(inst->lot_size), "quote_increment",
                          nd__xsim_cb_dec(inst->tick_size), "price_increment",
                          nd__xsim_cb_dec(inst->tick_size), "base_min_size",
                          nd__xsim_cb_dec(inst->lot_size), "quote_min_size",
                          nd__xsim_cb_dec(inst->min_notional), "base_max_size", "1000000",
                          "quote_max_size", "1000000000", "status", "online", "is_disabled", 0,
                          "cancel_only", 0, "limit_only", 0, "post_only", 0,
                          "trading_disabled", 0);
    if (j) {
        json_object_set_new(j, "product_type", json_string("SPOT"));
        json_object_set_new(j, "base_currency_id", json_string(inst->base));
        json_object_set_new(j, "quote_currency_id", json_string(inst->quote));
        json_object_set_new(j, "mid_market_price", nd__xsim_cb_dec(mid));
    }
    return answer(c, 200, j);
}

static json_t *account_json(const char *uuid, const char *asset, int64_t free_v, int64_t locked)
{
    char name[64];
    snprintf(name, sizeof name, "%s Wallet", asset);
    bool fiat = !strcmp(asset, "USD") || !strcmp(asset, "EUR") || !strcmp(asset, "GBP");
    return json_pack("{s:s,s:s,s:s,s:{s:o,s:s},s:b,s:b,s:s,s:b,s:{s:o,s:s}}", "uuid", uuid,
                     "name", name, "currency", asset, "available_balance", "value",
                     nd__xsim_cb_dec(free_v), "currency", asset, "default", 1, "active", 1,
                     "type", fiat ? "ACCOUNT_TYPE_FIAT" : "ACCOUNT_TYPE_CRYPTO", "ready", 1,
                     "hold", "value", nd__xsim_cb_dec(locked), "currency", asset);
}

static nd_err_t get_accounts(cb_call_t *c)
{
    const nd_instrument_t *inst = &nd_xsim_config(c->x)->inst;
    int64_t bf, bl, qf, ql;
    nd_xsim_balances(c->x, &bf, &bl, &qf, &ql);
    json_t *arr = json_pack("[o,o]",
                            account_json("00000000-0000-4000-a000-000000000001", inst->base, bf, bl),
                            account_json("00000000-0000-4000-a000-000000000002", inst->quote, qf, ql));
    return answer(c, 200, json_pack("{s:o,s:b,s:s,s:i}", "accounts", arr, "has_next", 0,
                                    "cursor", "", "size", 2));
}

static nd_err_t get_order(cb_call_t *c, const char *uuid)
{
    const nd_xsim_user_order_t *o = nd_xsim_order(c->x, nd__xsim_cb_order_id(uuid));
    if (!o || o->status == ND_XSIM_REJECTED)
        return fail(c, 404, "NOT_FOUND", "order with this orderID was not found");
    return answer(c, 200, json_pack("{s:o}", "order", order_json(c->x, o)));
}

/* True when order o passes the order_status filters of the query (none: every order). */
static bool status_wanted(const cb_call_t *c, const nd_xsim_user_order_t *o)
{
    char want[32];
    bool any = false;
    for (int i = 0; query_param(c, "order_status", i, want, sizeof want); i++) {
        any = true;
        if (strcmp(want, nd__xsim_cb_status(o)) == 0)
            return true;
    }
    return !any;
}

/* A list's page: limit (the query's, capped at the API's page size) and the position the
 * cursor names (the count of matching entries listed before: "" or absent is the first page).
 * False when the cursor is not one this server gave. */
static bool page_of(const cb_call_t *c, int64_t *limit, int64_t *skip)
{
    char s[24];
    int64_t cap = nd__xsim_api_config(c->api)->cb_page_max;
    cap = cap > 0 ? cap : 1000;
    *limit = query_param(c, "limit", 0, s, sizeof s) ? atoll(s) : cap;
    *limit = *limit > 0 && *limit < cap ? *limit : cap;
    *skip = 0;
    if (!query_param(c, "cursor", 0, s, sizeof s) || s[0] == '\0')
        return true;
    char *end = NULL;
    *skip = strtoll(s, &end, 10);
    return end && *end == '\0' && *skip > 0;
}

/* The cursor of the next page: "" when none. */
static json_t *next_cursor(int64_t skip, int64_t listed, bool more)
{
    char s[24] = "";
    if (more)
        snprintf(s, sizeof s, "%lld", (long long)(skip + listed));
    return json_string(s);
}

/* The answer to a cursor or limit page_of refuses. */
static nd_err_t bad_cursor(cb_call_t *c)
{
    return answer(c, 400, json_pack("{s:s,s:s}", "error", "INVALID_ARGUMENT", "message",
                                    "invalid cursor"));
}

static nd_err_t list_orders(cb_call_t *c)
{
    char pid[ND_NAME_MAX * 2], want_pid[64];
    product_id(c->x, pid);
    bool other = query_param(c, "product_ids", 0, want_pid, sizeof want_pid) ||
                 query_param(c, "product_id", 0, want_pid, sizeof want_pid);
    other = other && strcmp(want_pid, pid) != 0;
    int64_t limit, skip, seen = 0;
    if (!page_of(c, &limit, &skip))
        return bad_cursor(c);
    json_t *arr = json_array();
    bool more = false;
    for (int64_t id = nd_xsim_order_count(c->x); arr && !other && id >= 1; id--) { /* newest first */
        const nd_xsim_user_order_t *o = nd_xsim_order(c->x, id);
        if (o->status == ND_XSIM_REJECTED || !status_wanted(c, o) || seen++ < skip)
            continue;
        if ((int64_t)json_array_size(arr) >= limit) {
            more = true;
            break;
        }
        json_array_append_new(arr, order_json(c->x, o));
    }
    int64_t listed = arr ? (int64_t)json_array_size(arr) : 0;
    return answer(c, 200, json_pack("{s:o,s:s,s:b,s:o}", "orders", arr, "sequence", "0",
                                    "has_next", more, "cursor", next_cursor(skip, listed, more)));
}

static json_t *fill_json(const nd_xsim_t *x, size_t index, const nd_xsim_trade_t *t)
{
    char oid[37], entry[37], trade[37], pid[ND_NAME_MAX * 2];
    nd__xsim_cb_order_uuid(t->order_id, oid);
    snprintf(entry, sizeof entry, "00000000-0000-4000-b000-%012llx",
             ((unsigned long long)index + 1) & 0xffffffffffffULL);
    snprintf(trade, sizeof trade, "00000000-0000-4000-c000-%012llx",
             (unsigned long long)t->id & 0xffffffffffffULL);
    product_id(x, pid);
    return json_pack("{s:s,s:s,s:s,s:o,s:s,s:o,s:o,s:o,s:s,s:o,s:s,s:b,s:s,s:s,s:s}",
                     "entry_id", entry, "trade_id", trade, "order_id", oid, "trade_time",
                     nd__xsim_cb_time(t->time_ns), "trade_type", "FILL", "price",
                     nd__xsim_cb_dec(t->px), "size", nd__xsim_cb_dec(t->qty), "commission",
                     nd__xsim_cb_dec(t->commission), "product_id", pid, "sequence_timestamp",
                     nd__xsim_cb_time(t->time_ns), "liquidity_indicator",
                     t->is_maker ? "MAKER" : "TAKER", "size_in_quote", 0, "user_id",
                     "xsim-user", "side", t->is_buyer ? "BUY" : "SELL", "retail_portfolio_id",
                     "");
}

static nd_err_t list_fills(cb_call_t *c)
{
    char pid[ND_NAME_MAX * 2], want[64];
    product_id(c->x, pid);
    if (query_param(c, "product_id", 0, want, sizeof want) && strcmp(want, pid) != 0)
        return answer(c, 200, json_pack("{s:[],s:s}", "fills", "cursor", ""));
    int64_t only = query_param(c, "order_id", 0, want, sizeof want) ? nd__xsim_cb_order_id(want)
                                                                    : -1;
    int64_t limit, skip, seen = 0;
    if (!page_of(c, &limit, &skip))
        return bad_cursor(c);
    json_t *arr = json_array();
    bool more = false;
    for (size_t i = nd_xsim_trade_count(c->x); arr && i-- > 0;) { /* newest first */
        const nd_xsim_trade_t *t = nd_xsim_trade_at(c->x, i);
        if ((only >= 0 && t->order_id != only) || seen++ < skip)
            continue;
        if ((int64_t)json_array_size(arr) >= limit) {
            more = true;
            break;
        }
        json_array_append_new(arr, fill_json(c->x, i, t));
    }
    /* Like Coinbase's: no has_next here, a cursor while more remain. */
    int64_t listed = arr ? (int64_t)json_array_size(arr) : 0;
    return answer(c, 200, json_pack("{s:o,s:o}", "fills", arr, "cursor",
                                    next_cursor(skip, listed, more)));
}

static nd_err_t batch_cancel(cb_call_t *c)
{
    json_t *doc = json_loadb(c->req->body ? c->req->body : "", c->req->body_len, 0, NULL);
    json_t *ids = json_object_get(doc, "order_ids");
    if (!json_is_array(ids) || json_array_size(ids) == 0 || json_array_size(ids) > 100) {
        json_decref(doc);
        return fail(c, 400, "INVALID_ARGUMENT", "order_ids: 1 to 100 order ids");
    }
    json_t *results = json_array(), *v;
    size_t i;
    json_array_foreach(ids, i, v) {
        const char *uuid = json_string_value(v);
        int64_t id = uuid ? nd__xsim_cb_order_id(uuid) : 0;
        bool ok = id > 0 && nd_xsim_cancel(c->x, id, c->now_ns) == ND_OK;
        json_array_append_new(results, json_pack("{s:b,s:s,s:s}", "success", ok,
                                                 "failure_reason",
                                                 ok ? "UNKNOWN_CANCEL_FAILURE_REASON"
                                                    : "UNKNOWN_CANCEL_ORDER",
                                                 "order_id", uuid ? uuid : ""));
    }
    json_decref(doc);
    return answer(c, 200, json_pack("{s:o}", "results", results));
}

/* ---- Creating orders ---------------------------------------------------------------------- */

typedef struct reason {
    const char *error, *preview, *message;
} reason_t;

/* Coinbase's failure reasons by reject, one row each; the rejects without a row of their own
 * (a full book, a duplicate client id) answer with the unknown reason. */
static const reason_t reject_reasons[] = {
    [ND_XSIM_REJ_PRICE_FILTER] = {"INVALID_PRICE_PRECISION", "PREVIEW_INVALID_PRICE_PRECISION",
                                  "Price is not a multiple of the quote increment"},
    [ND_XSIM_REJ_LOT_SIZE] = {"INVALID_SIZE_PRECISION", "PREVIEW_INVALID_SIZE_PRECISION",
                              "Size is not a multiple of the base increment"},
    [ND_XSIM_REJ_NOTIONAL] = {"ORDER_SIZE_TOO_SMALL", "PREVIEW_INVALID_QUOTE_SIZE_TOO_SMALL",
                              "Order size is below the product's minimum"},
    [ND_XSIM_REJ_BALANCE] = {"INSUFFICIENT_FUND", "PREVIEW_INSUFFICIENT_FUND",
                             "Insufficient balance in source account"},
    [ND_XSIM_REJ_WOULD_TAKE] = {"INVALID_LIMIT_PRICE_POST_ONLY",
                                "PREVIEW_INVALID_LIMIT_PRICE_POST_ONLY",
                                "Post-only order would cross the book"},
    [ND_XSIM_REJ_NO_LIQUIDITY] = {"INSUFFICIENT_LIQUIDITY", "PREVIEW_INSUFFICIENT_LIQUIDITY",
                                  "No liquidity to fill the market order"},
};

static reason_t reject_reason(nd_xsim_reject_t rej)
{
    size_t i = (size_t)rej;
    if (i < sizeof reject_reasons / sizeof reject_reasons[0] && reject_reasons[i].error)
        return reject_reasons[i];
    return (reason_t){"UNKNOWN_FAILURE_REASON", "UNKNOWN_PREVIEW_FAILURE_REASON",
                      "The order was not accepted"};
}

static nd_err_t order_failed(cb_call_t *c, reason_t r, json_t *config)
{
    return answer(c, 200,
                  json_pack("{s:b,s:s,s:s,s:{s:s,s:s,s:s,s:s,s:s},s:o}", "success", 0,
                            "failure_reason", "UNKNOWN_FAILURE_REASON", "order_id", "",
                            "error_response", "error", r.error, "message", r.message,
                            "error_details", r.message, "preview_failure_reason", r.preview,
                            "new_order_failure_reason", r.error, "order_configuration",
                            config ? json_incref(config) : json_object()));
}

/* Takes config (the answer's order_configuration). */
static nd_err_t order_ok(cb_call_t *c, const nd_xsim_user_order_t *o, json_t *config)
{
    char id[37], pid[ND_NAME_MAX * 2];
    nd__xsim_cb_order_uuid(o->id, id);
    product_id(c->x, pid);
    return answer(c, 200,
                  json_pack("{s:b,s:s,s:s,s:{s:s,s:s,s:s,s:s},s:o}", "success", 1,
                            "failure_reason", "UNKNOWN_FAILURE_REASON", "order_id", id,
                            "success_response", "order_id", id, "product_id", pid, "side",
                            o->side == ND_SIDE_BUY ? "BUY" : "SELL", "client_order_id",
                            o->client_id, "order_configuration", config));
}

static bool dec_field(json_t *obj, const char *key, int64_t *out)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s && nd_venue_decimal(s, strlen(s), 8, out) == ND_OK && *out > 0;
}

/* Reads order_configuration into req; a reason when it is not one we serve. */
static bool parse_config(json_t *config, nd_xsim_new_order_t *req, reason_t *why)
{
    json_t *m = json_object_get(config, "market_market_ioc");
    json_t *l = json_object_get(config, "limit_limit_gtc");
    *why = (reason_t){"UNSUPPORTED_ORDER_CONFIGURATION", "UNKNOWN_PREVIEW_FAILURE_REASON",
                      "exchange-sim serves market_market_ioc and limit_limit_gtc"};
    if (json_object_size(config) != 1 || (!m && !l))
        return false;
    *why = (reason_t){"INVALID_BASE_SIZE", "PREVIEW_INVALID_BASE_SIZE_TOO_SMALL",
                      "base_size, quote_size or limit_price is not a positive decimal"};
    if (m) {
        req->type = ND_XSIM_MARKET;
        req->tif = ND_XSIM_IOC;
        if (json_object_get(m, "quote_size"))
            return req->side == ND_SIDE_BUY && dec_field(m, "quote_size", &req->quote_qty);
        return dec_field(m, "base_size", &req->qty);
    }
    json_t *po = json_object_get(l, "post_only");
    req->type = json_is_true(po) ? ND_XSIM_LIMIT_MAKER : ND_XSIM_LIMIT;
    req->tif = ND_XSIM_GTC;
    return dec_field(l, "base_size", &req->qty) && dec_field(l, "limit_price", &req->px) &&
           (!po || json_is_boolean(po));
}

/* The body's fields; false with the answer already made for a malformed request. */
static bool parse_order(cb_call_t *c, json_t *doc, nd_xsim_new_order_t *req, nd_err_t *rc)
{
    const char *cid = json_string_value(json_object_get(doc, "client_order_id"));
    const char *pid = json_string_value(json_object_get(doc, "product_id"));
    const char *side = json_string_value(json_object_get(doc, "side"));
    memset(req, 0, sizeof *req);
    if (!cid || !*cid || strlen(cid) >= sizeof req->client_id) {
        *rc = fail(c, 400, "INVALID_ARGUMENT", "client_order_id: 1 to 36 characters");
        return false;
    }
    if (!pid || !side || (strcmp(side, "BUY") != 0 && strcmp(side, "SELL") != 0)) {
        *rc = fail(c, 400, "INVALID_ARGUMENT", "product_id and side (BUY or SELL) are required");
        return false;
    }
    snprintf(req->client_id, sizeof req->client_id, "%s", cid);
    req->side = strcmp(side, "BUY") == 0 ? ND_SIDE_BUY : ND_SIDE_SELL;
    return true;
}

static nd_err_t create_order(cb_call_t *c)
{
    json_t *doc = json_loadb(c->req->body ? c->req->body : "", c->req->body_len, 0, NULL);
    nd_xsim_new_order_t req;
    nd_err_t rc = ND_OK;
    if (!json_is_object(doc) ? (rc = fail(c, 400, "INVALID_ARGUMENT", "the body is not JSON"), 1)
                             : !parse_order(c, doc, &req, &rc)) {
        json_decref(doc);
        return rc;
    }
    json_t *config = json_object_get(doc, "order_configuration");
    const nd_xsim_user_order_t *o = nd_xsim_order_by_client_id(c->x, req.client_id);
    char pid[ND_NAME_MAX * 2];
    product_id(c->x, pid);
    reason_t why;
    int64_t code = 0, id = 0;
    if (o && o->status != ND_XSIM_REJECTED) /* idempotent: the order with this id */
        rc = order_ok(c, o, order_config(o));
    else if (strcmp(json_string_value(json_object_get(doc, "product_id")), pid) != 0)
        rc = order_failed(c, (reason_t){"INVALID_PRODUCT_ID", "PREVIEW_INVALID_PRODUCT_ID",
                                        "ProductID is invalid"}, config);
    else if (!parse_config(config, &req, &why))
        rc = order_failed(c, why, config);
    else if (nd_xsim_fault_take_reject(c->x, &code))
        rc = order_failed(c, reject_reason(ND_XSIM_REJ_FULL), config);
    else {
        nd_xsim_reject_t rej = nd_xsim_place(c->x, &req, c->now_ns, &id);
        rc = rej == ND_XSIM_OK ? order_ok(c, nd_xsim_order(c->x, id), json_incref(config))
                               : order_failed(c, reject_reason(rej), config);
    }
    json_decref(doc);
    return rc;
}

/* ---- Routing ------------------------------------------------------------------------------ */

static nd_err_t route(cb_call_t *c)
{
    const char *p = c->path, *m = c->req->method;
    bool get = strcmp(m, "GET") == 0, post = strcmp(m, "POST") == 0;
    if (get && strcmp(p, "/time") == 0)
        return get_time(c);
    if (get && strncmp(p, "/market/products/", 17) == 0)
        return get_product(c, p + 17);
    const char *why = "";
    if (!authorized(c, &why))
        return unauthorized(c, why);
    if (post && strcmp(p, "/orders") == 0)
        return create_order(c);
    if (post && strcmp(p, "/orders/batch_cancel") == 0)
        return batch_cancel(c);
    if (get && strcmp(p, "/orders/historical/batch") == 0)
        return list_orders(c);
    if (get && strcmp(p, "/orders/historical/fills") == 0)
        return list_fills(c);
    if (get && strncmp(p, "/orders/historical/", 19) == 0)
        return get_order(c, p + 19);
    if (get && strcmp(p, "/accounts") == 0)
        return get_accounts(c);
    if (get && strncmp(p, "/products/", 10) == 0)
        return get_product(c, p + 10);
    return fail(c, 404, "NOT_FOUND", "Unknown path or method");
}

nd_err_t nd__xsim_cb_handle(nd_xsim_api_t *api, const nd_xsim_request_t *req, int64_t now_ns,
                            nd_xsim_response_t *resp)
{
    ND_ASSERT(api != NULL && req != NULL && resp != NULL);
    memset(resp, 0, sizeof *resp);
    resp->no_weight = true;
    cb_call_t c = {.api = api, .x = nd__xsim_api_exchange(api), .req = req, .now_ns = now_ns,
                   .resp = resp, .path = req->path + strlen(PREFIX)};
    nd_xsim_advance(c.x, now_ns);
    if (strncmp(req->path, PREFIX "/", sizeof PREFIX) != 0)
        return fail(&c, 404, "NOT_FOUND", "Unknown path or method");
    int64_t until = nd__xsim_api_rate_limit_until(api);
    if (now_ns < until) { /* the rate-limit fault */
        resp->retry_after_s = (until - now_ns + ND_NS_PER_SEC - 1) / ND_NS_PER_SEC;
        return fail(&c, 429, "RATE_LIMIT_EXCEEDED", "Too many requests");
    }
    return route(&c);
}
