/* binance_ws.c: Binance market streams over one WebSocket connection (binance.h).
 *
 * Connects to <base>/stream?streams=<first> (the combined-stream endpoint, so every payload
 * arrives wrapped with its stream name) and SUBSCRIBEs the whole stream list on every open,
 * in requests of at most 200 streams, at most 5 control messages per second (Binance
 * disconnects above 5 incoming messages per second). serverShutdown triggers an immediate
 * reconnect; the connection is renewed before Binance's 24-hour limit. Invariants: stream
 * symbols in stream names are kept lower-case (upper-case symbols are acknowledged and deliver
 * nothing) and the stream kind as given ("bookTicker", "depth@100ms"); at most
 * 1024 streams; request ids increase for the life of the client. */
#include "noderr/binance.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/log.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define STREAMS_MAX 1024
#define STREAM_NAME_MAX 64
#define PER_REQUEST_MAX 200

struct nd_binance_stream {
    nd_ws_t *ws;
    nd_binance_decoder_t *dec;
    nd_md_sink_cb sink;
    void *ctx;
    char (*names)[STREAM_NAME_MAX];
    uint32_t count;
    int64_t next_id;
    bool shutdown_seen;
};

size_t nd_binance_ws_request(bool subscribe, const char *const *streams, uint32_t count,
                             int64_t id, char *buf, size_t cap)
{
    ND_ASSERT(streams != NULL || count == 0);
    ND_ASSERT(buf != NULL && cap > 0);
    size_t n = (size_t)snprintf(buf, cap, "{\"method\":\"%s\",\"params\":[",
                                subscribe ? "SUBSCRIBE" : "UNSUBSCRIBE");
    for (uint32_t i = 0; i < count && n < cap; i++) {
        if (n + strlen(streams[i]) + 4 >= cap)
            return 0;
        n += (size_t)snprintf(buf + n, cap - n, "%s", i ? ",\"" : "\"");
        bool in_symbol = true; /* the symbol (before '@') is lower-cased, the kind kept */
        for (const char *p = streams[i]; *p && n + 1 < cap; p++) {
            in_symbol = in_symbol && *p != '@';
            buf[n++] = in_symbol ? (char)tolower((unsigned char)*p) : *p;
        }
        if (n + 1 >= cap) /* cannot happen after the length check; said so the bound is visible */
            return 0;
        buf[n++] = '"';
        buf[n] = '\0';
    }
    if (n >= cap)
        return 0;
    size_t k = (size_t)snprintf(buf + n, cap - n, "],\"id\":%" PRId64 "}", id);
    return n + k < cap ? n + k : 0;
}

static void send_requests(nd_binance_stream_t *s, bool subscribe, const char *const *names,
                          uint32_t count)
{
    char buf[PER_REQUEST_MAX * (STREAM_NAME_MAX + 4) + 96];
    for (uint32_t i = 0; i < count; i += PER_REQUEST_MAX) {
        uint32_t n = count - i < PER_REQUEST_MAX ? count - i : PER_REQUEST_MAX;
        size_t len = nd_binance_ws_request(subscribe, names + i, n, s->next_id++, buf, sizeof buf);
        if (len == 0 || nd_ws_send(s->ws, buf, len) != ND_OK)
            ND_LOG(ND_LOG_WARN, "venue=binance could not queue a %s request",
                   subscribe ? "SUBSCRIBE" : "UNSUBSCRIBE");
    }
}

static void on_open(void *ctx, nd_ws_t *ws)
{
    nd_binance_stream_t *s = ctx;
    (void)ws;
    const char *names[STREAMS_MAX];
    for (uint32_t i = 0; i < s->count; i++)
        names[i] = s->names[i];
    send_requests(s, true, names, s->count);
}

static void on_event(void *ctx, const nd_md_event_t *ev)
{
    nd_binance_stream_t *s = ctx;
    if (ev->kind == ND_MD_STATUS && ev->u.status.code == ND_MD_STATUS_SHUTDOWN)
        s->shutdown_seen = true;
    s->sink(s->ctx, ev);
}

static void on_message(void *ctx, const char *data, size_t len, int64_t recv_ns)
{
    nd_binance_stream_t *s = ctx;
    (void)nd_binance_decode(s->dec, data, len, recv_ns, on_event, s);
    if (s->shutdown_seen) {
        s->shutdown_seen = false;
        ND_LOG(ND_LOG_INFO, "venue=binance serverShutdown: reconnecting");
        nd_ws_reconnect(s->ws);
    }
}

static nd_err_t copy_streams(nd_binance_stream_t *s, const nd_binance_stream_config_t *cfg,
                             char *err, size_t err_len)
{
    if (cfg->stream_count == 0 || cfg->stream_count > STREAMS_MAX) {
        snprintf(err, err_len, "binance ws: 1 to %d streams per connection", STREAMS_MAX);
        return ND_EINVAL;
    }
    s->names = nd_calloc(cfg->stream_count, STREAM_NAME_MAX);
    if (!s->names)
        return ND_ENOMEM;
    for (uint32_t i = 0; i < cfg->stream_count; i++) {
        size_t n = strlen(cfg->streams[i]);
        if (n == 0 || n >= STREAM_NAME_MAX || strpbrk(cfg->streams[i], "\"\\/?&# ")) {
            snprintf(err, err_len, "binance ws: bad stream name #%u", i);
            return ND_EINVAL;
        }
        bool in_symbol = true;
        for (size_t k = 0; k <= n; k++) {
            in_symbol = in_symbol && cfg->streams[i][k] != '@';
            s->names[i][k] = in_symbol ? (char)tolower((unsigned char)cfg->streams[i][k])
                                       : cfg->streams[i][k];
        }
    }
    s->count = cfg->stream_count;
    return ND_OK;
}

nd_err_t nd_binance_stream_create(const nd_binance_stream_config_t *cfg, const nd_clock_t *clock,
                                  nd_md_sink_cb sink, void *ctx, nd_binance_stream_t **out,
                                  char *err, size_t err_len)
{
    ND_ASSERT(cfg != NULL && clock != NULL);
    ND_ASSERT(sink != NULL && out != NULL);
    nd_binance_stream_t *s = nd_calloc(1, sizeof *s);
    if (!s)
        return ND_ENOMEM;
    s->sink = sink;
    s->ctx = ctx;
    s->next_id = 1;
    char url[512];
    nd_err_t rc = copy_streams(s, cfg, err, err_len);
    if (rc == ND_OK && (!cfg->base_url ||
                        snprintf(url, sizeof url, "%s/stream?streams=%s", cfg->base_url,
                                 s->names[0]) >= (int)sizeof url)) {
        snprintf(err, err_len, "binance ws: base_url missing or too long");
        rc = ND_EINVAL;
    }
    if (rc == ND_OK)
        rc = nd_binance_decoder_create(0, 0, &s->dec);
    if (rc == ND_OK) {
        nd_ws_config_t wc = {
            .url = url, .seed = cfg->seed,
            .backoff_min_ns = cfg->backoff_min_ns ? cfg->backoff_min_ns : ND_NS_PER_SEC,
            .backoff_max_ns = cfg->backoff_max_ns ? cfg->backoff_max_ns : 60 * ND_NS_PER_SEC,
            .max_age_ns = cfg->max_age_ns ? cfg->max_age_ns : 23 * ND_NS_PER_HOUR + 50 * ND_NS_PER_MIN,
            .send_per_sec_max = 5, .connects_per_window_max = 300,
            .connect_window_ns = 5 * ND_NS_PER_MIN, .uv_loop = cfg->uv_loop};
        nd_ws_callbacks_t cb = {on_open, on_message, NULL, s};
        rc = nd_ws_create(&wc, &cb, clock, &s->ws, err, err_len);
    }
    if (rc != ND_OK) {
        nd_binance_stream_destroy(s);
        return rc;
    }
    *out = s;
    return ND_OK;
}

nd_err_t nd_binance_stream_service(nd_binance_stream_t *s, int timeout_ms)
{
    ND_ASSERT(s != NULL);
    return nd_ws_service(s->ws, timeout_ms);
}

nd_err_t nd_binance_stream_unsubscribe(nd_binance_stream_t *s, const char *const *streams,
                                       uint32_t count)
{
    ND_ASSERT(s != NULL);
    ND_ASSERT(streams != NULL || count == 0);
    if (!nd_ws_connected(s->ws))
        return ND_ESTATE;
    send_requests(s, false, streams, count);
    /* Forget them, so a reconnect does not subscribe them again. */
    for (uint32_t k = 0; k < count; k++)
        for (uint32_t i = 0; i < s->count; i++)
            if (strcasecmp(s->names[i], streams[k]) == 0) {
                memmove(s->names[i], s->names[s->count - 1], STREAM_NAME_MAX);
                s->count--;
                break;
            }
    return ND_OK;
}

const nd_venue_counters_t *nd_binance_stream_counters(const nd_binance_stream_t *s)
{
    return nd_binance_decoder_counters(s->dec);
}

uint32_t nd_binance_stream_connects(const nd_binance_stream_t *s)
{
    return nd_ws_connects(s->ws);
}

void nd_binance_stream_reconnect(nd_binance_stream_t *s)
{
    ND_ASSERT(s != NULL);
    nd_ws_reconnect(s->ws);
}

void nd_binance_stream_destroy(nd_binance_stream_t *s)
{
    if (!s)
        return;
    nd_ws_destroy(s->ws);
    nd_binance_decoder_destroy(s->dec);
    nd_free(s->names);
    nd_free(s);
}
