/* binance_user.c: the Binance user data stream (binance.h, PROTOCOLS.md A.6), by the
 * WebSocket API (ws_api: Binance's recommended way) or over a listenKey (listen_key).
 *
 * ws_api: one socket to the WebSocket API; on every open, and again after an
 * eventStreamTerminated, userDataStream.subscribe.signature with apiKey and timestamp signed
 * (the parameters sorted by name, key=value joined by '&': Binance's WebSocket API payload) by
 * the key's type; events arrive wrapped with the subscriptionId, which the decoder peels. A
 * refused subscription is sent again after RETRY_NS; an answer that never comes, after
 * ANSWER_NS. Nothing is sent from inside a socket callback but the subscription on open.
 *
 * listen_key: POST /api/v3/userDataStream (USER_STREAM: API key header, no signature) creates a listenKey;
 * the WebSocket <ws_base>/ws/<listenKey> delivers the account's events bare, which the
 * decoder turns into ORDER_UPDATE and BALANCE events. A key lives 60 minutes unless kept
 * alive: PUT every keepalive_ns (30 min, as Binance advises) measured on the injected clock.
 * When Binance reports the key gone (-1125 on the PUT, or a listenKeyExpired event) a new key
 * is created and the socket reconnected to it; an eventStreamTerminated event reconnects (so
 * resubscribes) on the current key; destroy sends DELETE. Both events also reach the sink as
 * STATUS events (LISTEN_KEY_EXPIRED, STREAM_TERMINATED) so the session can record the gap and
 * reconcile after it. Invariants: the key never
 * appears in logs or err; at most one socket at a time; no REST call from inside a socket
 * callback (callbacks only set flags; nd_binance_user_service acts on them). */
#include "noderr/binance.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/log.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define LISTEN_KEY_MAX 128
#define USER_PATH "/api/v3/userDataStream"
#define RETRY_NS ND_NS_PER_SEC        /* ws_api: a refused subscription is retried after this */
#define ANSWER_NS (10 * ND_NS_PER_SEC) /* ws_api: a subscription unanswered this long is resent */

struct nd_binance_user {
    nd_binance_user_mode_t mode;
    const nd_clock_t *clock;
    nd_md_sink_cb sink;
    void *ctx;
    nd_binance_rest_t *rest;
    nd_binance_decoder_t *dec;
    nd_ws_t *ws;
    char ws_base[256];          /* listen_key: the stream base; ws_api: the API's whole URL */
    nd_binance_signer_t *signer; /* ws_api */
    char api_key[256];           /* ws_api */
    int64_t recv_window_ms;
    void *uv_loop;
    int64_t sub_request_id;      /* ws_api: the id of the subscription in flight, 0: none */
    int64_t sub_sent_ns;         /* ws_api: when it was sent (monotonic) */
    int64_t next_id;
    int64_t resubscribe_at_ns;   /* ws_api: subscribe when the clock passes this (0: not due) */
    bool subscribed;
    uint32_t subscriptions, ends;
    char key[LISTEN_KEY_MAX];
    int64_t keepalive_ns;
    int64_t last_keepalive_ns; /* monotonic time of the key's creation or last keep-alive */
    uint64_t seed;
    int64_t backoff_min_ns, backoff_max_ns;
    uint32_t keepalives, keys_created;
    bool expired;              /* the key is gone: make a new one */
    bool terminated;           /* the venue ended the stream: reconnect on the same key */
};

/* POST: a new listenKey into u->key. */
static nd_err_t create_key(nd_binance_user_t *u, char *err, size_t err_len)
{
    nd_binance_rest_result_t res;
    nd_err_t rc = nd_binance_rest_call(u->rest, "POST", USER_PATH, "", false, &res, err, err_len);
    if (rc != ND_OK)
        return rc;
    nd_jtok_t tok[8];
    uint32_t count, v = 0;
    bool ok = res.http_status == 200 &&
              nd_json_tokenize(res.body, res.body_len, tok, 8, &count) == ND_OK &&
              tok[0].type == ND_J_OBJECT && (v = nd_json_get(res.body, tok, 0, "listenKey")) &&
              tok[v].type == ND_J_STRING && tok[v].end > tok[v].start &&
              tok[v].end - tok[v].start < LISTEN_KEY_MAX && !tok[v].escaped;
    for (uint32_t i = ok ? tok[v].start : 0; ok && i < tok[v].end; i++)
        ok = (res.body[i] >= '0' && res.body[i] <= '9') || (res.body[i] >= 'a' && res.body[i] <= 'z') ||
             (res.body[i] >= 'A' && res.body[i] <= 'Z');
    if (ok)
        nd_json_copy(res.body, &tok[v], u->key, sizeof u->key);
    else
        snprintf(err, err_len, "binance user stream: POST %s failed: HTTP %ld code %" PRId64
                 " %s", USER_PATH, res.http_status, res.venue_code, res.venue_msg);
    nd_binance_rest_result_free(&res);
    if (!ok)
        return ND_EIO;
    u->keys_created++;
    u->expired = false;
    u->terminated = false;
    u->last_keepalive_ns = nd_clock_mono_ns(u->clock);
    return ND_OK;
}

/* Every decoded event passes here first: the two that end the subscription set a flag that
 * nd_binance_user_service acts on (never a REST call inside a socket callback), then all go
 * on to the caller's sink. */
static void on_event(void *ctx, const nd_md_event_t *e)
{
    nd_binance_user_t *u = ctx;
    const nd_md_status_t *st = &e->u.status;
    bool ours = e->kind == ND_MD_STATUS && u->sub_request_id != 0 &&
                st->request_id == u->sub_request_id;
    if (ours && st->code == ND_MD_STATUS_ACK) {
        u->sub_request_id = 0;
        u->subscribed = true;
        u->subscriptions++;
        ND_LOG(ND_LOG_INFO, "venue=binance user_stream subscribed mode=ws_api %s "
               "subscriptions=%u", st->text, u->subscriptions);
    } else if (ours && st->code == ND_MD_STATUS_ERROR) {
        u->sub_request_id = 0;
        u->resubscribe_at_ns = nd_clock_mono_ns(u->clock) + RETRY_NS;
        ND_LOG(ND_LOG_WARN, "venue=binance user_stream subscribe_refused code=%" PRId64
               " msg=\"%.120s\"", st->venue_code, st->text);
    }
    if (e->kind == ND_MD_STATUS && st->code == ND_MD_STATUS_LISTEN_KEY_EXPIRED) {
        u->expired = true;
        u->ends++;
    }
    if (e->kind == ND_MD_STATUS && st->code == ND_MD_STATUS_STREAM_TERMINATED) {
        u->terminated = true;
        u->ends++;
        if (u->mode == ND_BINANCE_USER_WS_API) {
            u->subscribed = false;
            u->resubscribe_at_ns = nd_clock_mono_ns(u->clock) | 1; /* due now */
        }
    }
    u->sink(u->ctx, e);
}

static void on_message(void *ctx, const char *data, size_t len, int64_t recv_ns)
{
    nd_binance_user_t *u = ctx;
    (void)nd_binance_decode(u->dec, data, len, recv_ns, on_event, u);
}

/* ws_api: userDataStream.subscribe.signature on ws, signed at the clock's time. */
static void ws_api_subscribe(nd_binance_user_t *u, nd_ws_t *ws)
{
    char payload[512], sig[ND_BINANCE_SIGNATURE_MAX], window[40] = "", window_json[40] = "";
    char msg[3072];
    int64_t ts_ms = nd_clock_now_ns(u->clock) / ND_NS_PER_MS, now = nd_clock_mono_ns(u->clock);
    if (u->recv_window_ms > 0) {
        snprintf(window, sizeof window, "recvWindow=%" PRId64 "&", u->recv_window_ms);
        snprintf(window_json, sizeof window_json, "\"recvWindow\":%" PRId64 ",",
                 u->recv_window_ms);
    }
    /* The parameters but signature, sorted by name: apiKey, recvWindow, timestamp. */
    int n = snprintf(payload, sizeof payload, "apiKey=%s&%stimestamp=%" PRId64, u->api_key,
                     window, ts_ms);
    size_t sig_len = 0;
    if (n <= 0 || (size_t)n >= sizeof payload ||
        nd_binance_signer_sign(u->signer, payload, (size_t)n, NULL, 0, false, sig, sizeof sig,
                               &sig_len) != ND_OK) {
        ND_LOG(ND_LOG_ERR, "venue=binance user_stream subscribe_sign_failed");
        u->resubscribe_at_ns = now + RETRY_NS;
        return;
    }
    int64_t id = u->next_id++;
    int m = snprintf(msg, sizeof msg,
                     "{\"id\":%" PRId64 ",\"method\":\"userDataStream.subscribe.signature\","
                     "\"params\":{\"apiKey\":\"%s\",%s\"timestamp\":%" PRId64
                     ",\"signature\":\"%s\"}}",
                     id, u->api_key, window_json, ts_ms, sig);
    bool sent = m > 0 && (size_t)m < sizeof msg && nd_ws_send(ws, msg, (size_t)m) == ND_OK;
    explicit_bzero(msg, sizeof msg);
    explicit_bzero(payload, sizeof payload);
    u->sub_request_id = sent ? id : 0;
    u->sub_sent_ns = now;
    u->resubscribe_at_ns = sent ? 0 : now + RETRY_NS;
}

static void on_open(void *ctx, nd_ws_t *ws)
{
    nd_binance_user_t *u = ctx;
    if (u->mode == ND_BINANCE_USER_WS_API) {
        ws_api_subscribe(u, ws);
        return;
    }
    u->subscribed = true; /* the listenKey's socket is the subscription */
    u->subscriptions++;
}

static void on_close(void *ctx, int code, int64_t retry_in_ns)
{
    nd_binance_user_t *u = ctx;
    (void)code;
    (void)retry_in_ns;
    u->subscribed = false;
    u->sub_request_id = 0; /* the next open subscribes */
}

/* (Re)opens the socket: the WebSocket API, or the stream of the current key. */
static nd_err_t connect_ws(nd_binance_user_t *u, char *err, size_t err_len)
{
    nd_ws_destroy(u->ws);
    u->ws = NULL;
    u->subscribed = false;
    u->sub_request_id = 0;
    char url[512];
    int n = u->mode == ND_BINANCE_USER_WS_API
                ? snprintf(url, sizeof url, "%s", u->ws_base)
                : snprintf(url, sizeof url, "%s/ws/%s", u->ws_base, u->key);
    if (n < 0 || n >= (int)sizeof url) {
        snprintf(err, err_len, "binance user stream: ws_base_url too long");
        return ND_EINVAL;
    }
    nd_ws_config_t wc = {
        .url = url, .seed = u->seed + u->keys_created,
        .backoff_min_ns = u->backoff_min_ns ? u->backoff_min_ns : ND_NS_PER_SEC,
        .backoff_max_ns = u->backoff_max_ns ? u->backoff_max_ns : 60 * ND_NS_PER_SEC,
        .max_age_ns = 23 * ND_NS_PER_HOUR + 50 * ND_NS_PER_MIN,
        .send_per_sec_max = 5, .connects_per_window_max = 300,
        .connect_window_ns = 5 * ND_NS_PER_MIN, .uv_loop = u->uv_loop};
    nd_ws_callbacks_t cb = {on_open, on_message, on_close, u};
    nd_err_t rc = nd_ws_create(&wc, &cb, u->clock, &u->ws, err, err_len);
    explicit_bzero(url, sizeof url);
    return rc;
}

/* PUT or DELETE on the current key; returns the venue code (0 on success, -1 transport). */
static int64_t key_call(nd_binance_user_t *u, const char *method)
{
    char q[LISTEN_KEY_MAX + 16], err[256];
    snprintf(q, sizeof q, "listenKey=%s", u->key);
    nd_binance_rest_result_t res;
    nd_err_t rc = nd_binance_rest_call(u->rest, method, USER_PATH, q, false, &res, err,
                                       sizeof err);
    explicit_bzero(q, sizeof q);
    if (rc != ND_OK)
        return -1;
    int64_t code = res.http_status == 200 ? 0 : res.venue_code ? res.venue_code : -1;
    nd_binance_rest_result_free(&res);
    return code;
}

/* ws_api: a subscription that was refused, never answered or ended is sent again (on this
 * connection; a new connection subscribes on open). */
static void ws_api_service(nd_binance_user_t *u)
{
    int64_t now = nd_clock_mono_ns(u->clock);
    if (u->sub_request_id != 0 && now - u->sub_sent_ns >= ANSWER_NS) {
        ND_LOG(ND_LOG_WARN, "venue=binance user_stream subscribe_unanswered: sending again");
        u->sub_request_id = 0;
        u->resubscribe_at_ns = now | 1;
    }
    if (u->terminated) {
        u->terminated = false;
        ND_LOG(ND_LOG_WARN, "venue=binance user_stream terminated: resubscribing");
    }
    if (!u->subscribed && u->sub_request_id == 0 && u->resubscribe_at_ns != 0 &&
        now >= u->resubscribe_at_ns && nd_ws_connected(u->ws))
        ws_api_subscribe(u, u->ws);
}

nd_err_t nd_binance_user_service(nd_binance_user_t *u, int timeout_ms)
{
    ND_ASSERT(u != NULL && u->ws != NULL);
    ND_ASSERT(timeout_ms >= 0);
    nd_err_t rc = nd_ws_service(u->ws, timeout_ms);
    if (u->mode == ND_BINANCE_USER_WS_API) {
        ws_api_service(u);
        return rc;
    }
    int64_t now = nd_clock_mono_ns(u->clock);
    if (!u->expired && now - u->last_keepalive_ns >= u->keepalive_ns) {
        int64_t code = key_call(u, "PUT");
        if (code == 0) {
            u->keepalives++;
            u->last_keepalive_ns = now;
        } else if (code == -1125) {
            u->expired = true;
        } else {
            /* Transport or other venue error: the key still has up to 30 minutes; retry in
             * one. */
            u->last_keepalive_ns = now - u->keepalive_ns + ND_NS_PER_MIN;
            ND_LOG(ND_LOG_WARN, "venue=binance user_stream keepalive_failed code=%" PRId64, code);
        }
    }
    if (u->terminated && !u->expired) {
        char err[256];
        ND_LOG(ND_LOG_WARN, "venue=binance user_stream terminated: resubscribing");
        u->terminated = false;
        if (connect_ws(u, err, sizeof err) != ND_OK) {
            ND_LOG(ND_LOG_ERR, "venue=binance user_stream resubscribe_failed detail=\"%s\"", err);
            u->terminated = true;
            return ND_EIO;
        }
    }
    if (u->expired) {
        char err[256];
        ND_LOG(ND_LOG_WARN, "venue=binance user_stream listen_key_expired: creating a new one");
        if (create_key(u, err, sizeof err) != ND_OK || connect_ws(u, err, sizeof err) != ND_OK) {
            ND_LOG(ND_LOG_ERR, "venue=binance user_stream renew_failed detail=\"%s\"", err);
            return ND_EIO;
        }
    }
    return rc;
}

const char *nd_binance_user_mode_name(nd_binance_user_mode_t mode)
{
    return mode == ND_BINANCE_USER_WS_API      ? "ws_api"
           : mode == ND_BINANCE_USER_LISTEN_KEY ? "listen_key"
                                                : "unknown";
}

nd_err_t nd_binance_user_mode_parse(const char *name, nd_binance_user_mode_t *out)
{
    ND_ASSERT(name != NULL && out != NULL);
    if (strcmp(name, "ws_api") == 0)
        *out = ND_BINANCE_USER_WS_API;
    else if (strcmp(name, "listen_key") == 0)
        *out = ND_BINANCE_USER_LISTEN_KEY;
    else
        return ND_EINVAL;
    return ND_OK;
}

/* The config's checks: what each mode needs, an API key that fits a JSON string as it is. */
static bool config_ok(const nd_binance_user_config_t *cfg, char *err, size_t err_len)
{
    bool ws_api = cfg->mode == ND_BINANCE_USER_WS_API;
    const char *url = ws_api ? cfg->ws_api_url : cfg->ws_base_url;
    bool ok = (ws_api || cfg->mode == ND_BINANCE_USER_LISTEN_KEY) && url && strlen(url) < 256 &&
              (ws_api || cfg->rest_base_url) && cfg->secret && cfg->secret->api_key[0] &&
              (!ws_api || cfg->secret->api_secret[0]);
    for (const char *p = ok ? cfg->secret->api_key : ""; ok && *p; p++)
        ok = *p > ' ' && *p < 127 && *p != '"' && *p != '\\' && *p != '&';
    if (!ok)
        snprintf(err, err_len, "binance user stream: %s: %s, an API key%s are required",
                 nd_binance_user_mode_name(cfg->mode), ws_api ? "ws_api_url" : "base URLs",
                 ws_api ? " and its secret (to sign)" : "");
    return ok;
}

nd_err_t nd_binance_user_create(const nd_binance_user_config_t *cfg, const nd_clock_t *clock,
                                nd_md_sink_cb sink, void *ctx, nd_binance_user_t **out,
                                char *err, size_t err_len)
{
    ND_ASSERT(cfg != NULL && clock != NULL);
    ND_ASSERT(sink != NULL && out != NULL);
    if (!config_ok(cfg, err, err_len))
        return ND_EINVAL;
    nd_binance_user_t *u = nd_calloc(1, sizeof *u);
    if (!u)
        return ND_ENOMEM;
    u->mode = cfg->mode;
    u->clock = clock;
    u->sink = sink;
    u->ctx = ctx;
    u->uv_loop = cfg->uv_loop;
    u->next_id = 1;
    u->recv_window_ms = cfg->recv_window_ms;
    bool ws_api = cfg->mode == ND_BINANCE_USER_WS_API;
    snprintf(u->ws_base, sizeof u->ws_base, "%s", ws_api ? cfg->ws_api_url : cfg->ws_base_url);
    snprintf(u->api_key, sizeof u->api_key, "%s", cfg->secret->api_key);
    u->keepalive_ns = cfg->keepalive_ns ? cfg->keepalive_ns : 30 * ND_NS_PER_MIN;
    u->seed = cfg->seed;
    u->backoff_min_ns = cfg->backoff_min_ns;
    u->backoff_max_ns = cfg->backoff_max_ns;
    nd_err_t rc = nd_binance_decoder_create(64, 1u << 16, &u->dec);
    if (rc == ND_OK && ws_api)
        rc = nd_binance_signer_create(cfg->key_type, cfg->secret->api_secret,
                                      strlen(cfg->secret->api_secret), &u->signer, err, err_len);
    if (rc == ND_OK && !ws_api) {
        nd_binance_rest_config_t rc_cfg = {.base_url = cfg->rest_base_url,
                                           .secret = cfg->secret, .key_type = cfg->key_type};
        rc = nd_binance_rest_create(&rc_cfg, clock, &u->rest, err, err_len);
        if (rc == ND_OK)
            rc = create_key(u, err, err_len);
    }
    if (rc == ND_OK)
        rc = connect_ws(u, err, err_len);
    if (rc != ND_OK) {
        nd_binance_user_destroy(u);
        return rc;
    }
    *out = u;
    return ND_OK;
}

uint32_t nd_binance_user_keepalives(const nd_binance_user_t *u)
{
    return u->keepalives;
}

uint32_t nd_binance_user_keys_created(const nd_binance_user_t *u)
{
    return u->keys_created;
}

uint32_t nd_binance_user_subscriptions(const nd_binance_user_t *u)
{
    return u->subscriptions;
}

uint32_t nd_binance_user_ends(const nd_binance_user_t *u)
{
    return u->ends;
}

bool nd_binance_user_subscribed(const nd_binance_user_t *u)
{
    return u->subscribed;
}

const nd_venue_counters_t *nd_binance_user_counters(const nd_binance_user_t *u)
{
    return nd_binance_decoder_counters(u->dec);
}

void nd_binance_user_destroy(nd_binance_user_t *u)
{
    if (!u)
        return;
    nd_ws_destroy(u->ws);
    if (u->rest && u->key[0] && key_call(u, "DELETE") != 0)
        ND_LOG(ND_LOG_WARN, "venue=binance user_stream close: DELETE failed");
    nd_binance_rest_destroy(u->rest);
    nd_binance_decoder_destroy(u->dec);
    nd_binance_signer_destroy(u->signer);
    explicit_bzero(u->key, sizeof u->key);
    explicit_bzero(u->api_key, sizeof u->api_key);
    nd_free(u);
}
