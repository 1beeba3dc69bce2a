/* ws.c: a reconnecting WebSocket client over libwebsockets for venue streams (venue.h).
 *
 * One client context and at most one connection. Pings are answered by libwebsockets with a
 * pong carrying the ping's payload (RFC 6455 5.5.3, what Binance requires). After an error or
 * a close the client waits nd_ws_backoff_ns (at once, jittered, after a connection that
 * worked; then exponential, jittered by a seeded nd_rand_t) and reconnects; it also reconnects proactively past max_age (Binance closes at 24 h).
 * Outgoing messages wait in a bounded queue and leave at most send_per_sec_max per second;
 * connection attempts are limited to connects_per_window_max per window. No time is read
 * except through the injected clock. Invariants: wsi != NULL while connecting or connected;
 * the queue holds at most WS_QUEUE_MAX copies, all freed on destroy. With a caller's libuv loop
 * (cfg.uv_loop) the sockets are served by that loop and nd_ws_service runs only the timers. */
#include "noderr/venue.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/log.h"

#include <libwebsockets.h>
#include <uv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WS_QUEUE_MAX 64
#define WS_RX_MAX (4u << 20)
/* A connection that stayed up this long was working: its loss is a drop (the next retry at
 * once), not one more failed attempt. One that closes sooner (a venue accepting then refusing)
 * keeps the back-off growing. */
#define WS_STABLE_NS ND_NS_PER_SEC

typedef struct ws_msg {
    unsigned char *buf; /* LWS_PRE bytes of headroom, then the text */
    size_t len;
} ws_msg_t;

struct nd_ws {
    struct lws_context *ctx;
    struct lws *wsi;
    nd_ws_config_t cfg;
    nd_ws_callbacks_t cb;
    const nd_clock_t *clock;
    nd_rand_t rng;
    char url[1024], host[256], path[768];
    int port;
    bool tls, connected, close_requested;
    bool ending;          /* nd_ws_destroy is closing the connections: no reconnect */
    nd_lws_teardown_t teardown; /* the context's connections and own descriptors */
    uint32_t attempt, connects;
    int64_t next_connect_ns, connected_at_ns;
    int64_t window_start_ns;
    int32_t sent_in_window;
    int64_t *attempts;          /* ring of connection attempt times */
    uint32_t attempts_head;
    ws_msg_t queue[WS_QUEUE_MAX];
    uint32_t q_head, q_count;
    char *rx;
    size_t rx_len, rx_cap;
    int close_code;
};

int64_t nd_ws_backoff_ns(nd_rand_t *rng, uint32_t attempt, int64_t min_ns, int64_t max_ns)
{
    ND_ASSERT(rng != NULL);
    ND_ASSERT(min_ns > 0 && max_ns >= min_ns);
    /* The first retry after a drop is at once, jittered over [0, min/4): a connection that
     * worked is most likely to work again, and the jitter still spreads clients apart after a
     * venue-wide drop. Failures after it wait min, 2 min, 4 min, ... */
    if (attempt == 0)
        return (int64_t)(nd_rand_uniform(rng) * (double)(min_ns / 4));
    int64_t d = min_ns;
    for (uint32_t i = 1; i < attempt && d < max_ns; i++)
        d = d > max_ns / 2 ? max_ns : d * 2;
    if (d > max_ns)
        d = max_ns;
    /* Jitter in [0.5, 1.0) spreads reconnecting clients apart after a venue-wide drop. */
    return d / 2 + (int64_t)(nd_rand_uniform(rng) * (double)(d / 2));
}

static void schedule_reconnect(nd_ws_t *ws)
{
    int64_t now = nd_clock_mono_ns(ws->clock);
    if (ws->connected && now - ws->connected_at_ns >= WS_STABLE_NS)
        ws->attempt = 0;
    int64_t delay = nd_ws_backoff_ns(&ws->rng, ws->attempt++, ws->cfg.backoff_min_ns,
                                     ws->cfg.backoff_max_ns);
    ws->next_connect_ns = now + delay;
    ws->wsi = NULL;
    ws->connected = false;
    ws->close_requested = false;
    ws->rx_len = 0;
    ND_LOG(ND_LOG_INFO, "ws reconnect_in_ms=%lld close_code=%d", (long long)(delay / ND_NS_PER_MS),
           ws->close_code);
    if (ws->cb.close_cb)
        ws->cb.close_cb(ws->cb.ctx, ws->close_code, delay);
    ws->close_code = 0;
}

static void on_receive(nd_ws_t *ws, struct lws *wsi, const void *in, size_t len)
{
    if (ws->rx_len + len > WS_RX_MAX) {
        ND_LOG(ND_LOG_WARN, "ws message over %u bytes dropped", WS_RX_MAX);
        ws->rx_len = 0;
        return;
    }
    char *bigger = nd_array_grow(ws->rx, &ws->rx_cap, ws->rx_len + len + 1, 1, 65536);
    if (!bigger)
        return;
    ws->rx = bigger;
    memcpy(ws->rx + ws->rx_len, in, len);
    ws->rx_len += len;
    if (!lws_is_final_fragment(wsi))
        return;
    ws->rx[ws->rx_len] = '\0';
    if (ws->cb.message_cb)
        ws->cb.message_cb(ws->cb.ctx, ws->rx, ws->rx_len, nd_clock_now_ns(ws->clock));
    ws->rx_len = 0;
}

/* Sends the next queued message if the per-second budget allows; returns -1 to close. */
static int on_writeable(nd_ws_t *ws, struct lws *wsi)
{
    if (ws->close_requested) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_GOINGAWAY, (unsigned char *)"reconnect", 9);
        return -1;
    }
    if (ws->q_count == 0)
        return 0;
    int64_t now = nd_clock_mono_ns(ws->clock);
    if (now - ws->window_start_ns >= ND_NS_PER_SEC) {
        ws->window_start_ns = now;
        ws->sent_in_window = 0;
    }
    if (ws->cfg.send_per_sec_max > 0 && ws->sent_in_window >= ws->cfg.send_per_sec_max)
        return 0; /* nd_ws_service asks again when the window rolls over */
    ws_msg_t *m = &ws->queue[ws->q_head];
    int n = lws_write(wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
    nd_free(m->buf);
    m->buf = NULL;
    ws->q_head = (ws->q_head + 1) % WS_QUEUE_MAX;
    ws->q_count--;
    ws->sent_in_window++;
    if (n < 0)
        return -1;
    if (ws->q_count > 0)
        lws_callback_on_writable(wsi);
    return 0;
}

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    (void)user;
    nd_ws_t *ws = lws_context_user(lws_get_context(wsi));
    if (ws && (reason == LWS_CALLBACK_WSI_CREATE || reason == LWS_CALLBACK_WSI_DESTROY))
        nd_lws_teardown_track(&ws->teardown, wsi, reason == LWS_CALLBACK_WSI_CREATE);
    if (!ws || (ws->wsi && wsi != ws->wsi && reason != LWS_CALLBACK_CLIENT_CONNECTION_ERROR))
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        ws->connected = true;
        ws->connects++;
        ws->connected_at_ns = nd_clock_mono_ns(ws->clock);
        if (ws->cb.open_cb)
            ws->cb.open_cb(ws->cb.ctx, ws);
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        on_receive(ws, wsi, in, len);
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return on_writeable(ws, wsi);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (len >= 2)
            ws->close_code = ((const unsigned char *)in)[0] << 8 | ((const unsigned char *)in)[1];
        break;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        ND_LOG(ND_LOG_WARN, "ws connection error: %.120s", in ? (const char *)in : "-");
        /* fall through */
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (wsi == ws->wsi && !ws->ending)
            schedule_reconnect(ws);
        break;
    case LWS_CALLBACK_WSI_DESTROY: /* freed without a close callback: never keep it */
        if (wsi == ws->wsi && ws->ending)
            ws->wsi = NULL;
        else if (wsi == ws->wsi)
            schedule_reconnect(ws);
        break;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols ws_protocols[] = {
    {"nd-venue", ws_callback, 0, 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* True when one more connection attempt fits the attempts-per-window limit. */
static bool attempt_allowed(nd_ws_t *ws, int64_t now)
{
    if (ws->cfg.connects_per_window_max <= 0)
        return true;
    int64_t oldest = ws->attempts[ws->attempts_head];
    if (oldest != 0 && now - oldest < ws->cfg.connect_window_ns) {
        ws->next_connect_ns = oldest + ws->cfg.connect_window_ns;
        return false;
    }
    ws->attempts[ws->attempts_head] = now;
    ws->attempts_head = (ws->attempts_head + 1) % (uint32_t)ws->cfg.connects_per_window_max;
    return true;
}

static void try_connect(nd_ws_t *ws)
{
    int64_t now = nd_clock_mono_ns(ws->clock);
    if (ws->wsi || now < ws->next_connect_ns || !attempt_allowed(ws, now))
        return;
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = ws->ctx;
    ci.address = ws->host;
    ci.port = ws->port;
    ci.path = ws->path;
    ci.host = ws->host;
    ci.origin = ws->host;
    ci.ssl_connection = ws->tls ? LCCSCF_USE_SSL : 0;
    ci.protocol = NULL;
    ci.local_protocol_name = "nd-venue";
    ws->wsi = lws_client_connect_via_info(&ci);
    if (!ws->wsi)
        schedule_reconnect(ws);
}

/* Splits ws[s]://host[:port]/path into the client's fields. */
static nd_err_t parse_url(nd_ws_t *ws, const char *url, char *err, size_t err_len)
{
    const char *rest;
    if (strncmp(url, "wss://", 6) == 0) {
        ws->tls = true;
        rest = url + 6;
    } else if (strncmp(url, "ws://", 5) == 0) {
        rest = url + 5;
    } else {
        snprintf(err, err_len, "ws: url must start with ws:// or wss://");
        return ND_EINVAL;
    }
    size_t hlen = strcspn(rest, ":/");
    if (hlen == 0 || hlen >= sizeof ws->host) {
        snprintf(err, err_len, "ws: bad host in url");
        return ND_EINVAL;
    }
    memcpy(ws->host, rest, hlen);
    ws->host[hlen] = '\0';
    rest += hlen;
    ws->port = ws->tls ? 443 : 80;
    if (*rest == ':') {
        char *end;
        long p = strtol(rest + 1, &end, 10);
        if (p <= 0 || p > 65535) {
            snprintf(err, err_len, "ws: bad port in url");
            return ND_EINVAL;
        }
        ws->port = (int)p;
        rest = end;
    }
    int n = snprintf(ws->path, sizeof ws->path, "%s", *rest ? rest : "/");
    if (n < 0 || (size_t)n >= sizeof ws->path) {
        snprintf(err, err_len, "ws: path too long");
        return ND_EINVAL;
    }
    return ND_OK;
}

/* libwebsockets' own messages go through our log (its notices about plugins and versions are
 * left out: they would land on stderr with every connection). */
static void lws_log_emit(int level, const char *line)
{
    size_t n = strcspn(line, "\n");
    ND_LOG(level == LLL_ERR ? ND_LOG_ERR : ND_LOG_WARN, "libwebsockets: %.*s", (int)n, line);
}

void nd_ws_log_init(void)
{
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_emit);
}

static nd_err_t ws_context(nd_ws_t *ws)
{
    nd_ws_log_init();
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = ws_protocols;
    /* TLS only for wss://: a plain ws:// client (exchange-sim on loopback) needs no OpenSSL,
     * and libwebsockets 4.1 leaves a client context's OpenSSL state (its CA store) behind at
     * exit when two such contexts were alive at once (a session's market and user streams). */
    info.options = ws->tls ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0;
    info.user = ws;
    info.client_ssl_ca_filepath = ws->cfg.ca_file;
    info.gid = -1;
    info.uid = -1;
    void *loops[1] = {ws->cfg.uv_loop};
    if (ws->cfg.uv_loop) {
        /* The caller's libuv loop serves the sockets (the evlib_uv plugin of libwebsockets). */
        info.options |= LWS_SERVER_OPTION_LIBUV;
        info.foreign_loops = loops;
        nd_lws_teardown_before_create(&ws->teardown, ws->cfg.uv_loop);
    }
    ws->ctx = lws_create_context(&info);
    if (ws->cfg.uv_loop)
        nd_lws_teardown_after_create(&ws->teardown, ws->cfg.uv_loop);
    return ws->ctx ? ND_OK : ND_EIO;
}

nd_err_t nd_ws_create(const nd_ws_config_t *config, const nd_ws_callbacks_t *callbacks,
                      const nd_clock_t *clock, nd_ws_t **out, char *err, size_t err_len)
{
    ND_ASSERT(config != NULL && callbacks != NULL);
    ND_ASSERT(clock != NULL && out != NULL);
    nd_ws_t *ws = nd_calloc(1, sizeof *ws);
    if (!ws)
        return ND_ENOMEM;
    ws->cfg = *config;
    ws->cb = *callbacks;
    ws->clock = clock;
    nd_rand_init(&ws->rng, config->seed);
    if (ws->cfg.backoff_min_ns <= 0)
        ws->cfg.backoff_min_ns = ND_NS_PER_SEC;
    if (ws->cfg.backoff_max_ns < ws->cfg.backoff_min_ns)
        ws->cfg.backoff_max_ns = 60 * ND_NS_PER_SEC > ws->cfg.backoff_min_ns ? 60 * ND_NS_PER_SEC
                                                                         : ws->cfg.backoff_min_ns;
    nd_err_t rc = parse_url(ws, config->url ? config->url : "", err, err_len);
    if (rc == ND_OK && ws->cfg.connects_per_window_max > 0) {
        ws->attempts = nd_calloc((size_t)ws->cfg.connects_per_window_max, sizeof(int64_t));
        rc = ws->attempts ? ND_OK : ND_ENOMEM;
    }
    if (rc == ND_OK && (rc = ws_context(ws)) != ND_OK)
        snprintf(err, err_len, "ws: libwebsockets context creation failed");
    if (rc != ND_OK) {
        nd_ws_destroy(ws);
        return rc;
    }
    ws->cfg.url = NULL; /* not kept: the caller's string may go away */
    ws->cfg.ca_file = NULL;
    try_connect(ws);
    *out = ws;
    return ND_OK;
}

nd_err_t nd_ws_service(nd_ws_t *ws, int timeout_ms)
{
    ND_ASSERT(ws != NULL);
    ND_ASSERT(timeout_ms >= 0);
    int64_t deadline = nd_clock_mono_ns(ws->clock) + (int64_t)timeout_ms * ND_NS_PER_MS;
    do {
        int64_t now = nd_clock_mono_ns(ws->clock);
        if (!ws->wsi)
            try_connect(ws);
        if (ws->connected && ws->cfg.max_age_ns > 0 && !ws->close_requested &&
            now - ws->connected_at_ns >= ws->cfg.max_age_ns) {
            ND_LOG(ND_LOG_INFO, "ws connection reached max age: reconnecting");
            nd_ws_reconnect(ws);
        }
        if (ws->connected && ws->q_count > 0)
            lws_callback_on_writable(ws->wsi);
        /* Since libwebsockets 3.2 a non-negative timeout is ignored and lws_service sleeps
         * until its next event; -1 makes it one non-blocking pass, so this loop keeps control
         * of reconnect timers, the send budget and the caller's deadline. */
        if (ws->cfg.uv_loop)
            break; /* the caller's loop serves the sockets */
        if (lws_service(ws->ctx, -1) < 0)
            return ND_EIO;
        if (timeout_ms > 0)
            usleep(1000);
    } while (nd_clock_mono_ns(ws->clock) < deadline);
    return ND_OK;
}

nd_err_t nd_ws_send(nd_ws_t *ws, const char *text, size_t len)
{
    ND_ASSERT(ws != NULL && text != NULL);
    if (!ws->connected)
        return ND_ESTATE;
    if (ws->q_count >= WS_QUEUE_MAX)
        return ND_EFULL;
    unsigned char *buf = nd_alloc(LWS_PRE + len + 1);
    if (!buf)
        return ND_ENOMEM;
    memcpy(buf + LWS_PRE, text, len);
    ws_msg_t *m = &ws->queue[(ws->q_head + ws->q_count) % WS_QUEUE_MAX];
    m->buf = buf;
    m->len = len;
    ws->q_count++;
    lws_callback_on_writable(ws->wsi);
    return ND_OK;
}

void nd_ws_reconnect(nd_ws_t *ws)
{
    ND_ASSERT(ws != NULL);
    if (!ws->wsi)
        return;
    /* Reconnect at once: the close is ours, not a failure, so no back-off. */
    ws->close_requested = true;
    ws->attempt = 0;
    lws_callback_on_writable(ws->wsi);
}

uint32_t nd_ws_connects(const nd_ws_t *ws)
{
    return ws->connects;
}

bool nd_ws_connected(const nd_ws_t *ws)
{
    return ws->connected;
}

void nd_ws_destroy(nd_ws_t *ws)
{
    if (!ws)
        return;
    /* The caller's callbacks must not run while the client goes, nor a reconnect start. */
    memset(&ws->cb, 0, sizeof ws->cb);
    ws->ending = true;
    nd_lws_context_destroy(ws->ctx, &ws->teardown, ws->cfg.uv_loop, "ws");
    for (uint32_t i = 0; i < ws->q_count; i++)
        nd_free(ws->queue[(ws->q_head + i) % WS_QUEUE_MAX].buf);
    nd_free(ws->attempts);
    nd_free(ws->rx);
    nd_free(ws);
}
