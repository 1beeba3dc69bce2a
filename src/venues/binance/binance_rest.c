/* binance_rest.c: the Binance Spot REST client: SIGNED requests, server-time offset, orders,
 * exchangeInfo filters enforced before sending, rate-limit accounting and error mapping.
 *
 * Invariants: a SIGNED request carries timestamp (local clock + server offset) and
 * recvWindow, then the signature of the full query string by the key's type (HMAC hex, or
 * Ed25519 / RSA base64 URL-encoded, through one nd_binance_signer_t made at create), and the
 * X-MBX-APIKEY header; the API key and secret never appear in err or logs, and the secret's
 * text is wiped once the signer holds it. While a 429's Retry-After runs, calls return
 * ND_EAGAIN without touching the network; after a 418 (IP ban) every call returns ND_ESTATE,
 * because continuing past a ban lengthens it (2 minutes up to 3 days). A 5xx is "status
 * unknown", never "rejected": the order may exist. */
#include "noderr/binance.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/log.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUERY_MAX 4096 /* the query with a URL-encoded RSA-4096 signature fits */
/* Requests on their way from the loop at once (nd_binance_rest_send_async): orders and cancels
 * leave one after the other on one connection, so a few cover a burst. */
#define ASYNC_MAX 16

typedef struct async_req {
    nd_binance_rest_t *rest;
    nd_binance_done_cb done_cb;
    void *ctx;
    int64_t sent_ns;
    bool busy;
} async_req_t;

struct nd_binance_rest {
    nd_http_t *http;
    const nd_clock_t *clock;
    char base[256];
    nd_secret_t secret;        /* the API key; api_secret wiped once the signer holds it */
    bool has_secret;
    nd_binance_signer_t *signer; /* NULL without a secret: public endpoints only */
    int64_t recv_window_ms;
    int64_t weight_limit_1m;
    int64_t offset_ms;
    int64_t used_weight;
    int64_t weight_minute;     /* the minute (ms / 60000) used_weight was reported for */
    int64_t backoff_until_ns;
    bool banned;
    nd_binance_filters_t filters;
    bool has_filters;
    /* The rate-limit state above (used_weight, weight_minute, backoff_until_ns, banned) is
     * read and written under rate_mu: the worker's blocking client and the loop's
     * non-blocking one (async) both send. */
    pthread_mutex_t rate_mu;
    nd_http_async_t *async;    /* the loop's client (attach_loop), or NULL */
    async_req_t pending[ASYNC_MAX];
};

nd_reject_t nd_binance_map_error(long http_status, int64_t code, const char *msg)
{
    if (http_status == 418)
        return ND_REJECT_VENUE_BANNED;
    if (http_status == 429 || code == -1003 || code == -1015)
        return ND_REJECT_VENUE_RATE_LIMITED;
    if (http_status >= 500 || code == -1007 || code == -1006)
        return ND_REJECT_VENUE_STATUS_UNKNOWN;
    switch (code) {
    case -1021: return ND_REJECT_VENUE_TIMESTAMP;
    case -1022: case -2014: case -2015: case -1002: return ND_REJECT_VENUE_UNAUTHORIZED;
    case -1013: return ND_REJECT_VENUE_FILTER_FAILURE;
    case -2011: case -2013: case -2026: return ND_REJECT_VENUE_UNKNOWN_ORDER;
    case -1121: return ND_REJECT_UNKNOWN_INSTRUMENT;
    case -2010:
        return msg && strstr(msg, "insufficient balance") ? ND_REJECT_INSUFFICIENT_FUNDS
                                                          : ND_REJECT_VENUE_ORDER_REJECTED;
    default: break;
    }
    if (code <= -1100 && code >= -1199)
        return ND_REJECT_VENUE_BAD_REQUEST;
    if (http_status == 401 || http_status == 403)
        return ND_REJECT_VENUE_UNAUTHORIZED;
    return ND_REJECT_VENUE_ERROR;
}

/* Parses the key once (a PEM key is checked against key_type here, not at the first order),
 * then wipes the secret's text: only the signer holds it from now on. */
static nd_err_t make_signer(nd_binance_rest_t *r, nd_binance_key_type_t key_type, char *err,
                            size_t err_len)
{
    char why[200] = "";
    nd_err_t rc = nd_binance_signer_create(key_type, r->secret.api_secret,
                                           strlen(r->secret.api_secret), &r->signer, why,
                                           sizeof why);
    explicit_bzero(r->secret.api_secret, sizeof r->secret.api_secret);
    if (rc != ND_OK)
        snprintf(err, err_len, "binance rest: the %s API secret: %s",
                 nd_binance_key_type_name(key_type), why[0] ? why : nd_strerror(rc));
    return rc;
}

nd_err_t nd_binance_rest_create(const nd_binance_rest_config_t *config, const nd_clock_t *clock,
                                nd_binance_rest_t **out, char *err, size_t err_len)
{
    ND_ASSERT(config != NULL && clock != NULL);
    ND_ASSERT(out != NULL);
    if (!config->base_url || strlen(config->base_url) >= 256) {
        snprintf(err, err_len, "binance rest: base_url missing or too long");
        return ND_EINVAL;
    }
    nd_binance_rest_t *r = nd_calloc(1, sizeof *r);
    if (!r)
        return ND_ENOMEM;
    pthread_mutex_init(&r->rate_mu, NULL);
    nd_err_t rc = nd_http_create(config->timeout_ms ? config->timeout_ms : 10000, &r->http);
    if (rc != ND_OK) {
        nd_free(r);
        snprintf(err, err_len, "binance rest: cannot start libcurl");
        return rc;
    }
    snprintf(r->base, sizeof r->base, "%s", config->base_url);
    size_t n = strlen(r->base);
    if (n > 0 && r->base[n - 1] == '/')
        r->base[n - 1] = '\0';
    if (config->secret) {
        r->secret = *config->secret;
        r->has_secret = true;
    }
    if (r->has_secret && r->secret.api_secret[0] &&
        (rc = make_signer(r, config->key_type, err, err_len)) != ND_OK) {
        nd_binance_rest_destroy(r);
        return rc;
    }
    r->clock = clock;
    r->recv_window_ms = config->recv_window_ms ? config->recv_window_ms : 5000;
    r->weight_limit_1m = config->weight_limit_1m ? config->weight_limit_1m : 6000;
    *out = r;
    return ND_OK;
}

void nd_binance_rest_destroy(nd_binance_rest_t *rest)
{
    if (!rest)
        return;
    ND_ASSERT(rest->async == NULL); /* detached while the loop ran */
    nd_http_destroy(rest->http);
    pthread_mutex_destroy(&rest->rate_mu);
    nd_binance_signer_destroy(rest->signer);
    nd_secret_wipe(&rest->secret);
    nd_free(rest);
}

void nd_binance_rest_result_free(nd_binance_rest_result_t *result)
{
    if (!result)
        return;
    nd_free(result->body);
    result->body = NULL;
    result->body_len = 0;
}

int64_t nd_binance_rest_time_offset_ms(const nd_binance_rest_t *rest)
{
    return rest->offset_ms;
}

int64_t nd_binance_rest_used_weight(const nd_binance_rest_t *rest)
{
    return rest->used_weight;
}

void nd_binance_rest_set_filters(nd_binance_rest_t *rest, const nd_binance_filters_t *filters)
{
    rest->filters = *filters;
    rest->has_filters = true;
}

/* Refuses to send while banned, backing off, or over the weight budget of this minute.
 * Under rate_mu. */
static nd_err_t gate_locked(nd_binance_rest_t *r, int64_t now_ns, char *err, size_t err_len)
{
    if (r->banned) {
        snprintf(err, err_len, "binance rest: IP banned (HTTP 418); not sending until restart");
        return ND_ESTATE;
    }
    if (now_ns < r->backoff_until_ns) {
        snprintf(err, err_len, "binance rest: backing off for %" PRId64 " ms after HTTP 429",
                 (int64_t)((r->backoff_until_ns - now_ns) / ND_NS_PER_MS));
        return ND_EAGAIN;
    }
    if (r->used_weight >= r->weight_limit_1m && now_ns / ND_NS_PER_MIN == r->weight_minute) {
        snprintf(err, err_len, "binance rest: request weight %" PRId64 " reached the limit %"
                 PRId64 " for this minute", r->used_weight, r->weight_limit_1m);
        return ND_EAGAIN;
    }
    return ND_OK;
}

static nd_err_t gate(nd_binance_rest_t *r, int64_t now_ns, char *err, size_t err_len)
{
    pthread_mutex_lock(&r->rate_mu);
    nd_err_t rc = gate_locked(r, now_ns, err, err_len);
    pthread_mutex_unlock(&r->rate_mu);
    return rc;
}

/* Builds base+path?query[&timestamp&recvWindow&signature] into url. */
/* Writes req->url (and its body, when in_body: the parameters after the URL's NUL). */
static nd_err_t build_url(nd_binance_rest_t *r, const char *path, const char *query,
                          bool is_signed, bool in_body, int64_t now_ns, nd_binance_request_t *req)
{
    char q[QUERY_MAX];
    int n = snprintf(q, sizeof q, "%s", query ? query : "");
    if (is_signed) {
        int64_t ts_ms = now_ns / ND_NS_PER_MS + r->offset_ms;
        n = snprintf(q, sizeof q, "%s%stimestamp=%" PRId64 "&recvWindow=%" PRId64,
                     query ? query : "", query && query[0] ? "&" : "", ts_ms, r->recv_window_ms);
        if (n < 0 || (size_t)n >= sizeof q - ND_BINANCE_SIGNATURE_MAX - 12)
            return ND_EINVAL;
        char sig[ND_BINANCE_SIGNATURE_MAX];
        size_t sig_len = 0;
        nd_err_t rc = nd_binance_signer_sign(r->signer, q, (size_t)n, NULL, 0, true, sig,
                                             sizeof sig, &sig_len);
        if (rc != ND_OK)
            return rc;
        n = snprintf(q + n, sizeof q - (size_t)n, "&signature=%s", sig) + n;
    }
    if (n < 0 || (size_t)n >= sizeof q)
        return ND_EINVAL;
    size_t cap = sizeof req->url;
    req->body_at = 0;
    if (in_body && q[0]) {
        n = snprintf(req->url, cap, "%s%s", r->base, path);
        if (n < 0 || (size_t)n + 1 >= cap)
            return ND_EINVAL;
        req->body_at = (uint16_t)(n + 1);
        n = snprintf(req->url + req->body_at, cap - req->body_at, "%s", q) + req->body_at;
    } else {
        n = snprintf(req->url, cap, "%s%s%s%s", r->base, path, q[0] ? "?" : "", q);
    }
    return n < 0 || (size_t)n >= cap ? ND_EINVAL : ND_OK;
}

/* Reads the rate-limit headers and the error body into result; updates back-off state. */
static void account(nd_binance_rest_t *r, const nd_http_response_t *resp, int64_t now_ns,
                    nd_binance_rest_result_t *res)
{
    char v[64];
    res->used_weight_1m = -1;
    res->retry_after_s = -1;
    pthread_mutex_lock(&r->rate_mu);
    if (nd_http_header(resp, "X-MBX-USED-WEIGHT-1M", v, sizeof v)) {
        res->used_weight_1m = strtoll(v, NULL, 10);
        r->used_weight = res->used_weight_1m;
        r->weight_minute = now_ns / ND_NS_PER_MIN;
    }
    if (nd_http_header(resp, "Retry-After", v, sizeof v))
        res->retry_after_s = strtoll(v, NULL, 10);
    if (resp->status == 429) {
        int64_t wait_s = res->retry_after_s > 0 ? res->retry_after_s : 60;
        r->backoff_until_ns = now_ns + wait_s * ND_NS_PER_SEC;
        ND_LOG(ND_LOG_WARN, "venue=binance http=429 backoff_s=%" PRId64, wait_s);
    }
    if (resp->status == 418) {
        r->banned = true;
        ND_LOG(ND_LOG_ERR, "venue=binance http=418 ip_banned retry_after_s=%" PRId64,
               res->retry_after_s);
    }
    pthread_mutex_unlock(&r->rate_mu);
    if (resp->status < 400)
        return;
    nd_jtok_t tok[64];
    uint32_t count;
    if (nd_json_tokenize(resp->body, resp->body_len, tok, 64, &count) == ND_OK &&
        tok[0].type == ND_J_OBJECT) {
        uint32_t c = nd_json_get(resp->body, tok, 0, "code");
        uint32_t m = nd_json_get(resp->body, tok, 0, "msg");
        if (c)
            (void)nd_json_int(resp->body, &tok[c], &res->venue_code);
        /* The venue's message is informative: escapes decoded, a long one keeps its
         * whole-character prefix (venue_msg is 128 bytes). */
        if (m && tok[m].type == ND_J_STRING)
            (void)nd_json_string(resp->body, &tok[m], res->venue_msg, sizeof res->venue_msg, NULL);
    }
    res->reject = nd_binance_map_error(resp->status, res->venue_code, res->venue_msg);
}

nd_err_t nd_binance_rest_prepare(nd_binance_rest_t *r, const char *method, const char *path,
                                 const char *query, bool is_signed, nd_binance_request_t *req,
                                 char *err, size_t err_len)
{
    ND_ASSERT(r != NULL && method != NULL && path != NULL);
    ND_ASSERT(req != NULL);
    if (is_signed && (!r->signer || !r->secret.api_key[0])) { /* the secret lives in the signer */
        snprintf(err, err_len, "binance rest: %s %s needs an API key and secret", method, path);
        return ND_EINVAL;
    }
    if (strlen(method) >= sizeof req->method) {
        snprintf(err, err_len, "binance rest: bad method");
        return ND_EINVAL;
    }
    req->prepared_ns = nd_clock_now_ns(r->clock);
    bool in_body = is_signed && (strcmp(method, "POST") == 0 || strcmp(method, "DELETE") == 0);
    if (build_url(r, path, query, is_signed, in_body, req->prepared_ns, req) != ND_OK) {
        snprintf(err, err_len, "binance rest: %s %s: query too long", method, path);
        return ND_EINVAL;
    }
    snprintf(req->method, sizeof req->method, "%s", method);
    return ND_OK;
}

nd_err_t nd_binance_rest_send(nd_binance_rest_t *r, const nd_binance_request_t *req,
                              nd_binance_rest_result_t *result, char *err, size_t err_len)
{
    ND_ASSERT(r != NULL && req != NULL);
    ND_ASSERT(result != NULL);
    int64_t now_ns = nd_clock_now_ns(r->clock);
    nd_err_t rc = gate(r, now_ns, err, err_len);
    if (rc != ND_OK)
        return rc;
    char key_header[300];
    snprintf(key_header, sizeof key_header, "X-MBX-APIKEY: %s", r->secret.api_key);
    const char *headers[] = {r->has_secret ? key_header : NULL, NULL};
    nd_http_response_t resp;
    rc = nd_http_request(r->http, req->method, req->url, headers,
                         req->body_at ? req->url + req->body_at : NULL, &resp, err, err_len);
    explicit_bzero(key_header, sizeof key_header);
    if (rc != ND_OK)
        return rc;
    nd_binance_rest_result_t res;
    memset(&res, 0, sizeof res);
    res.http_status = resp.status;
    account(r, &resp, now_ns, &res);
    res.body = resp.body;
    res.body_len = resp.body_len;
    nd_free(resp.headers);
    *result = res;
    return ND_OK;
}

/* ---- Sending from the loop (nd_binance_rest_attach_loop) ---- */

static void async_done(void *ctx, nd_err_t rc, const nd_http_response_t *resp, const char *err)
{
    async_req_t *q = ctx;
    ND_ASSERT(q->busy);
    q->busy = false;
    if (rc != ND_OK) {
        q->done_cb(q->ctx, rc, NULL, err);
        return;
    }
    nd_binance_rest_result_t res;
    memset(&res, 0, sizeof res);
    res.http_status = resp->status;
    account(q->rest, resp, q->sent_ns, &res);
    res.body = resp->body; /* the client's, for this call only */
    res.body_len = resp->body_len;
    q->done_cb(q->ctx, ND_OK, &res, "");
}

static void warm_done(void *ctx, nd_err_t rc, const nd_binance_rest_result_t *res,
                      const char *err)
{
    (void)ctx;
    (void)res;
    if (rc != ND_OK)
        ND_LOG(ND_LOG_WARN, "venue=binance event=order_connection_warm_failed err=\"%s\"", err);
}

nd_err_t nd_binance_rest_attach_loop(nd_binance_rest_t *r, void *uv_loop, char *err,
                                     size_t err_len)
{
    ND_ASSERT(r != NULL && uv_loop != NULL);
    ND_ASSERT(r->async == NULL);
    char key_header[300];
    snprintf(key_header, sizeof key_header, "X-MBX-APIKEY: %s", r->secret.api_key);
    const char *headers[] = {r->has_secret ? key_header : NULL, NULL};
    nd_err_t rc = nd_http_async_create(uv_loop, 10000, headers, ASYNC_MAX, &r->async);
    explicit_bzero(key_header, sizeof key_header);
    if (rc != ND_OK) {
        snprintf(err, err_len, "binance rest: cannot start the loop's client: %s",
                 nd_strerror(rc));
        return rc;
    }
    /* Opens the orders' connection now, so that the first order finds it open. */
    nd_binance_request_t ping = {.method = "GET"};
    snprintf(ping.url, sizeof ping.url, "%s/api/v3/ping", r->base);
    (void)nd_binance_rest_send_async(r, &ping, warm_done, NULL, err, err_len);
    return ND_OK;
}

void nd_binance_rest_detach_loop(nd_binance_rest_t *r)
{
    if (!r || !r->async)
        return;
    nd_http_async_close(r->async);
    r->async = NULL;
    memset(r->pending, 0, sizeof r->pending);
}

bool nd_binance_rest_has_loop(const nd_binance_rest_t *r)
{
    return r->async != NULL;
}

nd_err_t nd_binance_rest_send_async(nd_binance_rest_t *r, const nd_binance_request_t *req,
                                    nd_binance_done_cb done_cb, void *ctx, char *err,
                                    size_t err_len)
{
    ND_ASSERT(r != NULL && req != NULL && done_cb != NULL);
    ND_ASSERT(r->async != NULL);
    int64_t now_ns = nd_clock_now_ns(r->clock);
    nd_err_t rc = gate(r, now_ns, err, err_len);
    if (rc != ND_OK)
        return rc;
    async_req_t *q = NULL;
    for (int i = 0; i < ASYNC_MAX && !q; i++)
        if (!r->pending[i].busy)
            q = &r->pending[i];
    if (!q) {
        snprintf(err, err_len, "binance rest: %d requests on their way already", ASYNC_MAX);
        return ND_EFULL;
    }
    *q = (async_req_t){.rest = r, .done_cb = done_cb, .ctx = ctx, .sent_ns = now_ns,
                       .busy = true};
    rc = nd_http_async_request(r->async, req->method, req->url,
                               req->body_at ? req->url + req->body_at : NULL, async_done, q);
    if (rc != ND_OK) {
        q->busy = false;
        snprintf(err, err_len, "binance rest: %s: cannot start (%s)", req->method,
                 nd_strerror(rc));
    }
    return rc;
}

nd_err_t nd_binance_rest_call(nd_binance_rest_t *r, const char *method, const char *path,
                              const char *query, bool is_signed, nd_binance_rest_result_t *result,
                              char *err, size_t err_len)
{
    ND_ASSERT(r != NULL && method != NULL && path != NULL);
    ND_ASSERT(result != NULL);
    nd_err_t rc = gate(r, nd_clock_now_ns(r->clock), err, err_len);
    if (rc != ND_OK)
        return rc;
    nd_binance_request_t req;
    rc = nd_binance_rest_prepare(r, method, path, query, is_signed, &req, err, err_len);
    if (rc != ND_OK)
        return rc;
    rc = nd_binance_rest_send(r, &req, result, err, err_len);
    explicit_bzero(&req, sizeof req);
    return rc;
}

/* Symbols are upper-case alphanumerics; client ids [A-Za-z0-9-_]{1,36}: both go into the
 * query string unescaped, so anything else is refused rather than encoded. */
static bool valid_token(const char *s, size_t max, bool id)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  (id && ((c >= 'a' && c <= 'z') || c == '-' || c == '_'));
        if (!ok)
            return false;
    }
    return true;
}

static nd_err_t order_query(const nd_binance_order_t *o, char *q, size_t cap)
{
    static const char *const types[] = {"LIMIT", "MARKET", "LIMIT_MAKER", "STOP_LOSS_LIMIT"};
    char px[32], qty[32], stop[32];
    nd_venue_format(o->px, ND_VENUE_DECIMALS, 0, px, sizeof px);
    nd_venue_format(o->qty, ND_VENUE_DECIMALS, 0, qty, sizeof qty);
    nd_venue_format(o->stop_px, ND_VENUE_DECIMALS, 0, stop, sizeof stop);
    int n = snprintf(q, cap, "symbol=%s&side=%s&type=%s&quantity=%s&newClientOrderId=%s",
                     o->symbol, o->side == ND_MD_SIDE_BID ? "BUY" : "SELL", types[o->type], qty,
                     o->client_order_id);
    if (o->type == ND_BINANCE_LIMIT || o->type == ND_BINANCE_STOP_LOSS_LIMIT)
        n += snprintf(q + n, cap - (size_t)n, "&timeInForce=GTC");
    if (o->type != ND_BINANCE_MARKET)
        n += snprintf(q + n, cap - (size_t)n, "&price=%s", px);
    if (o->type == ND_BINANCE_STOP_LOSS_LIMIT)
        n += snprintf(q + n, cap - (size_t)n, "&stopPrice=%s", stop);
    return (size_t)n < cap ? ND_OK : ND_EINVAL;
}

nd_err_t nd_binance_rest_prepare_order(nd_binance_rest_t *r, const nd_binance_order_t *o,
                                       nd_binance_request_t *req, nd_reject_t *reject,
                                       char *err, size_t err_len)
{
    ND_ASSERT(r != NULL && o != NULL);
    ND_ASSERT(req != NULL && reject != NULL);
    *reject = ND_REJECT_NONE;
    if (!valid_token(o->symbol, ND_NAME_MAX - 1, false) ||
        !valid_token(o->client_order_id, 36, true) || (int)o->type < 0 || o->type > 3 ||
        (o->side != ND_MD_SIDE_BID && o->side != ND_MD_SIDE_ASK)) {
        snprintf(err, err_len, "binance rest: order has a bad symbol, client id, side or type");
        return ND_EINVAL;
    }
    if (r->has_filters && strcmp(r->filters.symbol, o->symbol) == 0) {
        *reject = nd_binance_filters_check(&r->filters, o);
        if (*reject != ND_REJECT_NONE)
            return ND_OK;
    }
    char q[512];
    if (order_query(o, q, sizeof q) != ND_OK)
        return ND_EINVAL;
    return nd_binance_rest_prepare(r, "POST", "/api/v3/order", q, true, req, err, err_len);
}

nd_err_t nd_binance_rest_new_order(nd_binance_rest_t *r, const nd_binance_order_t *o,
                                   nd_binance_rest_result_t *result, char *err, size_t err_len)
{
    ND_ASSERT(r != NULL && o != NULL);
    ND_ASSERT(result != NULL);
    nd_binance_request_t req;
    nd_reject_t why;
    nd_err_t rc = nd_binance_rest_prepare_order(r, o, &req, &why, err, err_len);
    if (rc != ND_OK)
        return rc;
    if (why != ND_REJECT_NONE) {
        memset(result, 0, sizeof *result);
        result->reject = why;
        result->used_weight_1m = result->retry_after_s = -1;
        return ND_OK;
    }
    rc = nd_binance_rest_send(r, &req, result, err, err_len);
    explicit_bzero(&req, sizeof req);
    return rc;
}

static nd_err_t by_client_id(nd_binance_rest_t *r, const char *method, const char *symbol,
                             const char *client_order_id, nd_binance_rest_result_t *result,
                             char *err, size_t err_len)
{
    if (!valid_token(symbol, ND_NAME_MAX - 1, false) || !valid_token(client_order_id, 36, true)) {
        snprintf(err, err_len, "binance rest: bad symbol or client order id");
        return ND_EINVAL;
    }
    char q[160];
    snprintf(q, sizeof q, "symbol=%s&origClientOrderId=%s", symbol, client_order_id);
    return nd_binance_rest_call(r, method, "/api/v3/order", q, true, result, err, err_len);
}

nd_err_t nd_binance_rest_cancel(nd_binance_rest_t *r, const char *symbol,
                                const char *client_order_id, nd_binance_rest_result_t *result,
                                char *err, size_t err_len)
{
    return by_client_id(r, "DELETE", symbol, client_order_id, result, err, err_len);
}

nd_err_t nd_binance_rest_query(nd_binance_rest_t *r, const char *symbol,
                               const char *client_order_id, nd_binance_rest_result_t *result,
                               char *err, size_t err_len)
{
    return by_client_id(r, "GET", symbol, client_order_id, result, err, err_len);
}

nd_err_t nd_binance_rest_open_orders(nd_binance_rest_t *r, const char *symbol,
                                     nd_binance_rest_result_t *result, char *err, size_t err_len)
{
    char q[64] = "";
    if (symbol) {
        if (!valid_token(symbol, ND_NAME_MAX - 1, false))
            return ND_EINVAL;
        snprintf(q, sizeof q, "symbol=%s", symbol);
    }
    return nd_binance_rest_call(r, "GET", "/api/v3/openOrders", q, true, result, err, err_len);
}

nd_err_t nd_binance_rest_account(nd_binance_rest_t *r, nd_binance_rest_result_t *result, char *err,
                                 size_t err_len)
{
    return nd_binance_rest_call(r, "GET", "/api/v3/account", "omitZeroBalances=true", true,
                                result, err, err_len);
}

nd_err_t nd_binance_rest_sync_time(nd_binance_rest_t *r, char *err, size_t err_len)
{
    int64_t t0 = nd_clock_now_ns(r->clock);
    nd_binance_rest_result_t res;
    nd_err_t rc = nd_binance_rest_call(r, "GET", "/api/v3/time", "", false, &res, err, err_len);
    if (rc != ND_OK)
        return rc;
    int64_t t1 = nd_clock_now_ns(r->clock), server_ms = -1;
    nd_jtok_t tok[8];
    uint32_t count, v = 0;
    if (res.http_status == 200 &&
        nd_json_tokenize(res.body, res.body_len, tok, 8, &count) == ND_OK &&
        tok[0].type == ND_J_OBJECT && (v = nd_json_get(res.body, tok, 0, "serverTime")) != 0)
        (void)nd_json_int(res.body, &tok[v], &server_ms);
    nd_binance_rest_result_free(&res);
    if (server_ms < 0) {
        snprintf(err, err_len, "binance rest: /api/v3/time gave no serverTime");
        return ND_EPARSE;
    }
    /* The server read its clock about half-way through the round trip. */
    r->offset_ms = server_ms - (t0 + (t1 - t0) / 2) / ND_NS_PER_MS;
    return ND_OK;
}

nd_err_t nd_binance_rest_load_filters(nd_binance_rest_t *r, const char *symbol, char *err,
                                      size_t err_len)
{
    if (!valid_token(symbol, ND_NAME_MAX - 1, false))
        return ND_EINVAL;
    char q[64];
    snprintf(q, sizeof q, "symbol=%s", symbol);
    nd_binance_rest_result_t res;
    nd_err_t rc = nd_binance_rest_call(r, "GET", "/api/v3/exchangeInfo", q, false, &res, err,
                                       err_len);
    if (rc != ND_OK)
        return rc;
    nd_binance_filters_t f;
    rc = res.http_status == 200
             ? nd_binance_filters_parse(res.body, res.body_len, symbol, &f, err, err_len)
             : ND_EIO;
    if (res.http_status != 200)
        snprintf(err, err_len, "binance rest: exchangeInfo HTTP %ld", res.http_status);
    nd_binance_rest_result_free(&res);
    if (rc == ND_OK)
        nd_binance_rest_set_filters(r, &f);
    return rc;
}
