/* binance_user.c: the Binance user data stream over a listenKey (binance.h, PROTOCOLS.md A.6).
 *
 * POST /api/v3/userDataStream (USER_STREAM: API key header, no signature) creates a listenKey;
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

struct nd_binance_user {
    const nd_clock_t *clock;
    nd_md_sink_cb sink;
    void *ctx;
    nd_binance_rest_t *rest;
    nd_binance_decoder_t *dec;
    nd_ws_t *ws;
    char ws_base[256];
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
    if (e->kind == ND_MD_STATUS && e->u.status.code == ND_MD_STATUS_LISTEN_KEY_EXPIRED)
        u->expired = true;
    if (e->kind == ND_MD_STATUS && e->u.status.code == ND_MD_STATUS_STREAM_TERMINATED)
        u->terminated = true;
    u->sink(u->ctx, e);
}

static void on_message(void *ctx, const char *data, size_t len, int64_t recv_ns)
{
    nd_binance_user_t *u = ctx;
    (void)nd_binance_decode(u->dec, data, len, recv_ns, on_event, u);
}

/* (Re)opens the socket on the current key. */
static nd_err_t connect_ws(nd_binance_user_t *u, char *err, size_t err_len)
{
    nd_ws_destroy(u->ws);
    u->ws = NULL;
    char url[512];
    if (snprintf(url, sizeof url, "%s/ws/%s", u->ws_base, u->key) >= (int)sizeof url) {
        snprintf(err, err_len, "binance user stream: ws_base_url too long");
        return ND_EINVAL;
    }
    nd_ws_config_t wc = {
        .url = url, .seed = u->seed + u->keys_created,
        .backoff_min_ns = u->backoff_min_ns ? u->backoff_min_ns : ND_NS_PER_SEC,
        .backoff_max_ns = u->backoff_max_ns ? u->backoff_max_ns : 60 * ND_NS_PER_SEC,
        .max_age_ns = 23 * ND_NS_PER_HOUR + 50 * ND_NS_PER_MIN,
        .send_per_sec_max = 5, .connects_per_window_max = 300,
        .connect_window_ns = 5 * ND_NS_PER_MIN};
    nd_ws_callbacks_t cb = {NULL, on_message, NULL, u};
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

nd_err_t nd_binance_user_service(nd_binance_user_t *u, int timeout_ms)
{
    ND_ASSERT(u != NULL && u->ws != NULL);
    ND_ASSERT(timeout_ms >= 0);
    nd_err_t rc = nd_ws_service(u->ws, timeout_ms);
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

nd_err_t nd_binance_user_create(const nd_binance_user_config_t *cfg, const nd_clock_t *clock,
                                nd_md_sink_cb sink, void *ctx, nd_binance_user_t **out,
                                char *err, size_t err_len)
{
    ND_ASSERT(cfg != NULL && clock != NULL);
    ND_ASSERT(sink != NULL && out != NULL);
    if (!cfg->ws_base_url || strlen(cfg->ws_base_url) >= 256 || !cfg->rest_base_url ||
        !cfg->secret || !cfg->secret->api_key[0]) {
        snprintf(err, err_len, "binance user stream: base URLs and an API key are required");
        return ND_EINVAL;
    }
    nd_binance_user_t *u = nd_calloc(1, sizeof *u);
    if (!u)
        return ND_ENOMEM;
    u->clock = clock;
    u->sink = sink;
    u->ctx = ctx;
    snprintf(u->ws_base, sizeof u->ws_base, "%s", cfg->ws_base_url);
    u->keepalive_ns = cfg->keepalive_ns ? cfg->keepalive_ns : 30 * ND_NS_PER_MIN;
    u->seed = cfg->seed;
    u->backoff_min_ns = cfg->backoff_min_ns;
    u->backoff_max_ns = cfg->backoff_max_ns;
    nd_binance_rest_config_t rc_cfg = {.base_url = cfg->rest_base_url, .secret = cfg->secret,
                                       .key_type = cfg->key_type};
    nd_err_t rc = nd_binance_rest_create(&rc_cfg, clock, &u->rest, err, err_len);
    if (rc == ND_OK)
        rc = nd_binance_decoder_create(64, 1u << 16, &u->dec);
    if (rc == ND_OK)
        rc = create_key(u, err, err_len);
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
    explicit_bzero(u->key, sizeof u->key);
    nd_free(u);
}
