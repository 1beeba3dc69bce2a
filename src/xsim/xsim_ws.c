/* xsim_ws.c: the exchange simulator's WebSocket server side (RFC 6455) on its libuv connections.
 *
 * The upgrade handshake answer (Sec-WebSocket-Accept = base64(SHA-1(key + GUID))); client
 * frames as xsim_frame.c parses them (masked, as RFC 6455 5.1 requires of clients), fragmented
 * messages reassembled up to ND_XSIM_WS_MESSAGE_MAX, text checked as UTF-8; server frames
 * (unmasked); ping/pong (the server pings every ping interval, as Binance does every 20 s, with
 * the ms time as payload, and drops a client that has not answered within the pong timeout with
 * 1008 "Pong timeout"); Binance's limit of 5 incoming messages a second (1008 "Too many
 * messages"); the close handshake (a client that does not answer our close within 2 s is
 * dropped). A protocol error closes with its code (1002, 1007, 1009, 1003 for binary).
 * Invariants: nothing is sent after our close frame; a message in assembly never exceeds
 * ND_XSIM_WS_MESSAGE_MAX. */
#include "xsim_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/log.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define CLOSE_WAIT_NS (2 * ND_NS_PER_SEC)

nd_err_t nd__xsim_ws_accept(const char *key, char out[29])
{
    ND_ASSERT(key != NULL && out != NULL);
    char joined[128];
    int n = snprintf(joined, sizeof joined, "%s%s", key, WS_GUID);
    if (n < 0 || (size_t)n >= sizeof joined)
        return ND_EINVAL;
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)joined, (size_t)n, digest);
    int written = EVP_EncodeBlock((unsigned char *)out, digest, SHA_DIGEST_LENGTH);
    ND_ASSERT(written == 28);
    return ND_OK;
}

/* Writes one frame; close_after ends the connection once it is written. */
static void send_frame(nd__xsim_conn_t *c, int opcode, const char *payload, size_t len,
                       bool close_after)
{
    uint8_t head[10];
    size_t hlen = nd__xsim_ws_header(head, opcode, len);
    char *out = nd_alloc(hlen + len);
    if (!out) {
        nd__xsim_conn_close(c);
        return;
    }
    memcpy(out, head, hlen);
    if (len)
        memcpy(out + hlen, payload, len);
    (void)nd__xsim_conn_write(c, out, hlen + len, close_after);
}

void nd__xsim_ws_send(nd__xsim_conn_t *c, int opcode, const char *payload, size_t len)
{
    ND_ASSERT(c != NULL && c->ws);
    if (c->closing || c->ws_close_sent)
        return;
    if (opcode == ND__WS_TEXT || opcode == ND__WS_BINARY)
        nd__xsim_metrics_count(nd__xsim_conn_metrics(c), ND__XSIM_WS_OUT, 1);
    send_frame(c, opcode, payload, len, false);
}

void nd__xsim_ws_close(nd__xsim_conn_t *c, uint16_t code, const char *reason)
{
    ND_ASSERT(c != NULL && c->ws);
    if (c->closing || c->ws_close_sent)
        return;
    char payload[125];
    size_t rlen = strlen(reason);
    if (rlen > sizeof payload - 2)
        rlen = sizeof payload - 2;
    payload[0] = (char)(code >> 8);
    payload[1] = (char)(code & 0xFF);
    memcpy(payload + 2, reason, rlen);
    nd__xsim_ws_send(c, ND__WS_CLOSE, payload, rlen + 2);
    c->ws_close_sent = true;
    c->ws_close_ns = nd_clock_mono_ns(nd__xsim_conn_config(c)->clock);
}

/* A complete message: text to the streams; binary is refused (1003), as Binance has none. */
static void on_message(nd__xsim_conn_t *c, int opcode, const char *text, size_t len)
{
    if (opcode == ND__WS_BINARY) {
        nd__xsim_ws_close(c, 1003, "Binary frames are not supported");
        return;
    }
    if (!nd__xsim_utf8_valid(text, len)) {
        nd__xsim_ws_close(c, 1007, "Invalid UTF-8");
        return;
    }
    nd__xsim_metrics_count(nd__xsim_conn_metrics(c), ND__XSIM_WS_IN, 1);
    nd__xsim_streams_message(nd__xsim_conn_streams(c), c, text, len);
}

/* A data frame: a whole message, or a fragment to assemble. */
static void on_data_frame(nd__xsim_conn_t *c, const nd__xsim_ws_frame_t *f)
{
    if (f->opcode == ND__WS_CONT ? c->msg_opcode == 0 : c->msg_opcode != 0) {
        nd__xsim_ws_close(c, 1002, "Unexpected continuation");
        return;
    }
    if (f->opcode != ND__WS_CONT && f->fin) {
        on_message(c, f->opcode, f->payload, f->len);
        return;
    }
    if (c->msg_len + f->len > ND_XSIM_WS_MESSAGE_MAX) {
        nd__xsim_ws_close(c, 1009, "Message too big");
        return;
    }
    if (!c->msg && !(c->msg = nd_alloc(ND_XSIM_WS_MESSAGE_MAX))) {
        nd__xsim_conn_close(c);
        return;
    }
    if (f->opcode != ND__WS_CONT)
        c->msg_opcode = f->opcode;
    memcpy(c->msg + c->msg_len, f->payload, f->len);
    c->msg_len += f->len;
    if (f->fin) {
        int opcode = c->msg_opcode;
        c->msg_opcode = 0;
        size_t n = c->msg_len;
        c->msg_len = 0;
        on_message(c, opcode, c->msg, n);
    }
}

/* Binance's limit of incoming messages per second per connection: false once past it. */
static bool within_rate(nd__xsim_conn_t *c)
{
    int64_t now = nd_clock_mono_ns(nd__xsim_conn_config(c)->clock);
    if (now - c->window_ns >= ND_NS_PER_SEC) {
        c->window_ns = now;
        c->messages_in_window = 0;
    }
    return ++c->messages_in_window <=
           (c->coinbase ? ND__XSIM_CB_MESSAGES_PER_SEC : ND_XSIM_WS_MESSAGES_PER_SEC);
}

static void on_frame(nd__xsim_conn_t *c, const nd__xsim_ws_frame_t *f)
{
    if (f->opcode != ND__WS_CLOSE && f->fin && !within_rate(c)) {
        ND_LOG(ND_LOG_INFO, "xsim ws client dropped: over %d messages a second",
               c->coinbase ? ND__XSIM_CB_MESSAGES_PER_SEC : ND_XSIM_WS_MESSAGES_PER_SEC);
        nd__xsim_ws_close(c, 1008, "Too many messages");
        return;
    }
    switch (f->opcode) {
    case ND__WS_CLOSE:
        if (c->ws_close_sent) { /* the answer to ours: done */
            nd__xsim_conn_close(c);
            return;
        }
        c->ws_close_sent = true; /* echo the peer's code; the connection ends once it is out */
        send_frame(c, ND__WS_CLOSE, f->payload, f->len >= 2 ? 2 : 0, true);
        return;
    case ND__WS_PING:
        nd__xsim_ws_send(c, ND__WS_PONG, f->payload, f->len);
        return;
    case ND__WS_PONG:
        c->ping_sent_ns = 0;
        return;
    default:
        on_data_frame(c, f);
    }
}

void nd__xsim_ws_on_data(nd__xsim_conn_t *c)
{
    ND_ASSERT(c != NULL && c->ws);
    if (c->ws_failed)
        c->len = 0;
    while (!c->closing && c->len > 0) {
        nd__xsim_ws_frame_t f;
        long n = nd__xsim_ws_parse(c->buf, c->len, sizeof c->buf - 14, &f);
        if (n == 0)
            return; /* a frame fits the buffer: payload_max keeps it so */
        if (n < 0) {
            ND_LOG(ND_LOG_INFO, "xsim ws protocol error close_code=%ld", -n);
            nd__xsim_ws_close(c, (uint16_t)-n, n == -1009 ? "Frame too big" : "Protocol error");
            c->ws_failed = true;
            c->len = 0;
            return;
        }
        if (!c->ws_close_sent || f.opcode == ND__WS_CLOSE)
            on_frame(c, &f);
        memmove(c->buf, c->buf + n, c->len - (size_t)n);
        c->len -= (size_t)n;
    }
}

void nd__xsim_ws_tick(nd__xsim_conn_t *c, int64_t mono_ns)
{
    ND_ASSERT(c != NULL && c->ws);
    const nd_xsim_server_config_t *cfg = nd__xsim_conn_config(c);
    if (c->closing)
        return;
    if (c->ws_close_sent) {
        if (mono_ns - c->ws_close_ns > CLOSE_WAIT_NS)
            nd__xsim_conn_close(c);
        return;
    }
    if (c->ping_sent_ns && mono_ns - c->ping_sent_ns > cfg->pong_timeout_ns) {
        ND_LOG(ND_LOG_INFO, "xsim ws client dropped: no pong");
        nd__xsim_ws_close(c, 1008, "Pong timeout");
        return;
    }
    if (mono_ns < c->next_ping_ns)
        return;
    c->next_ping_ns = mono_ns + cfg->ping_interval_ns;
    char payload[32];
    int n = snprintf(payload, sizeof payload, "%lld",
                     (long long)(nd_clock_now_ns(cfg->clock) / ND_NS_PER_MS));
    nd__xsim_ws_send(c, ND__WS_PING, payload, (size_t)n);
    if (!c->ping_sent_ns)
        c->ping_sent_ns = mono_ns;
}
