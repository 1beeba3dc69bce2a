/* xsim_int.h: what the exchange simulator's server, WebSocket layer and streams share inside
 * src/xsim (not public).
 *
 * A client connection (nd__xsim_conn_t) starts as HTTP/1.1; a GET with a WebSocket upgrade on
 * a stream path turns it into a WebSocket (RFC 6455) whose text messages go to the streams
 * (xsim_stream.c). Every write goes through nd__xsim_conn_write, which counts the bytes not yet
 * taken by the kernel: a client past the send-queue bound is disconnected, never buffered
 * without bound. Everything runs on the server's loop thread. */
#ifndef NODERR_XSIM_INT_H
#define NODERR_XSIM_INT_H

#include "noderr/prom.h"
#include "noderr/xsim.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <uv.h>

/* WebSocket opcodes (RFC 6455 5.2). */
enum { ND__WS_CONT = 0x0, ND__WS_TEXT = 0x1, ND__WS_BINARY = 0x2, ND__WS_CLOSE = 0x8,
       ND__WS_PING = 0x9, ND__WS_PONG = 0xA };

typedef struct nd__xsim_conn nd__xsim_conn_t;
typedef struct nd__xsim_streams nd__xsim_streams_t;

struct nd__xsim_conn {
    uv_tcp_t tcp;
    nd_xsim_server_t *server;
    char buf[ND_XSIM_REQUEST_MAX];
    size_t len;
    int64_t active_ns;     /* monotonic time of the last bytes read */
    bool closing;
    /* WebSocket, after the upgrade */
    bool ws;
    bool ws_close_sent;    /* our close frame is out: the peer's answer ends the connection */
    int64_t ws_close_ns;   /* when it was sent (a peer that never answers is dropped) */
    bool ws_failed;        /* a protocol error: what the peer still sends is discarded, so it
                            * reads our close frame before the connection ends (no reset) */
    char *msg;             /* a fragmented message being assembled (ND_XSIM_WS_MESSAGE_MAX) */
    size_t msg_len;
    int msg_opcode;        /* 0: none in progress */
    int64_t ping_sent_ns;  /* monotonic time of the unanswered ping, 0 when none */
    int64_t next_ping_ns;
    size_t queued;         /* bytes handed to uv_write and not yet written */
    int64_t window_ns;     /* start of the second in which messages_in_window were received */
    int messages_in_window;
    void *stream;          /* the streams' state for this connection */
    bool coinbase;         /* a Coinbase Advanced Trade connection (xsim_cbstream.c) */
};

/* ---- Framing (xsim_frame.c) and connections (xsim_ws.c) ----------------------------------- */

typedef struct nd__xsim_ws_frame {
    bool fin;
    int opcode;
    char *payload;         /* unmasked in place, inside the parsed buffer */
    size_t len;
} nd__xsim_ws_frame_t;

/* Parses one client frame at buf[0, len): > 0 the bytes it takes (payload unmasked in place),
 * 0 when more bytes are needed, or minus the close code to fail the connection with: 1002 for
 * an unmasked frame, reserved bits, an unknown opcode, a fragmented or long (> 125) control
 * frame; 1009 for a payload over payload_max. */
long nd__xsim_ws_parse(char *buf, size_t len, size_t payload_max, nd__xsim_ws_frame_t *out /* OUT */);
/* Writes a server frame header (FIN set, unmasked) for a payload of len; returns its size. */
size_t nd__xsim_ws_header(uint8_t out[10], int opcode, size_t len);
/* Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + GUID)) into out[29]. */
nd_err_t nd__xsim_ws_accept(const char *key, char out[29]);
/* True when text[0, len) is valid UTF-8 (RFC 3629). */
bool nd__xsim_utf8_valid(const char *text, size_t len);

/* Handles the bytes in c->buf of an upgraded connection: frames, control frames, messages. */
void nd__xsim_ws_on_data(nd__xsim_conn_t *c);
/* Sends one frame (text, ping, pong, close); a client over the send-queue bound is dropped. */
void nd__xsim_ws_send(nd__xsim_conn_t *c, int opcode, const char *payload, size_t len);
/* Starts the close handshake with code and reason (no more data is sent after it). */
void nd__xsim_ws_close(nd__xsim_conn_t *c, uint16_t code, const char *reason);
/* Pings when due; drops a client that did not pong in time or never answered our close. */
void nd__xsim_ws_tick(nd__xsim_conn_t *c, int64_t mono_ns);

/* ---- Connections (xsim_server.c) ---------------------------------------------------------- */

/* Writes buf[0, len) (nd_alloc'd; the connection takes it) and closes after it when asked.
 * False when the connection is closing or was dropped for a full send queue. */
bool nd__xsim_conn_write(nd__xsim_conn_t *c, char *buf, size_t len, bool close_after);
void nd__xsim_conn_close(nd__xsim_conn_t *c);
const nd_xsim_server_config_t *nd__xsim_conn_config(const nd__xsim_conn_t *c);
nd__xsim_streams_t *nd__xsim_conn_streams(const nd__xsim_conn_t *c);

/* ---- Streams (xsim_stream.c) -------------------------------------------------------------- */

nd_err_t nd__xsim_streams_create(nd_xsim_t *x, nd_xsim_api_t *api, const nd_clock_t *clock,
                                 nd__xsim_streams_t **out /* OUT */);
void nd__xsim_streams_destroy(nd__xsim_streams_t *s);
/* A WebSocket upgrade of path?query: 0 when the connection now carries those streams, or the
 * HTTP status to refuse it with (404 unknown path, 400 bad stream list or listenKey). */
int nd__xsim_streams_open(nd__xsim_streams_t *s, nd__xsim_conn_t *c, const char *path,
                          const char *query, size_t query_len);
/* A text message from the client (SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS, ...). */
void nd__xsim_streams_message(nd__xsim_streams_t *s, nd__xsim_conn_t *c, const char *text,
                              size_t len);
void nd__xsim_streams_closed(nd__xsim_streams_t *s, nd__xsim_conn_t *c);
/* Timer work at wall time now_ns: depth flushes due, delayed messages, listenKey expiry. */
void nd__xsim_streams_tick(nd__xsim_streams_t *s, int64_t now_ns);
/* True when some stream client has more than half its send queue waiting (speed max waits). */
bool nd__xsim_streams_backlogged(const nd__xsim_streams_t *s);
/* Fault hooks: close every stream connection (1001); drop, duplicate, corrupt (cut in half) or
 * delay (delay_ns) count market messages, every `every`-th one from now (1: the next count;
 * count 0 ends the fault); skip the next diff's update ids (a sequence gap). */
void nd__xsim_streams_disconnect_all(nd__xsim_streams_t *s);
/* Before stopping: serverShutdown to every market-stream client, then a close (1001). */
void nd__xsim_streams_shutdown(nd__xsim_streams_t *s, int64_t now_ns);
void nd__xsim_streams_fault(nd__xsim_streams_t *s, const char *kind, int64_t count,
                            int64_t every, int64_t delay_ns);
void nd__xsim_streams_gap(nd__xsim_streams_t *s);
/* Ends every WebSocket API user data subscription with eventStreamTerminated (the connections
 * stay open); the count ended. */
uint32_t nd__xsim_streams_terminate_user(nd__xsim_streams_t *s, int64_t now_ns);
/* Wire-to-wire samples kept (GET /admin/latency takes them). */
#define ND__XSIM_W2W_MAX 100000
/* A new order was accepted whose request's bytes were read at read_mono_ns: one sample of
 * the time since the last trade message was handed to the sockets. */
void nd__xsim_streams_order_arrived(nd__xsim_streams_t *s, int64_t read_mono_ns);
/* Copies up to cap samples (ns, in arrival order) to out and forgets them all; the count. */
uint32_t nd__xsim_streams_take_latency(nd__xsim_streams_t *s, int64_t *out, uint32_t cap);

/* The total quantity at px on a side of the book (binary search on the price-sorted side). */
int64_t nd__xsim_level_qty(const nd_xsim_book_t *book, nd_side_t side, int64_t px);

/* ---- Coinbase Advanced Trade (xsim_coinbase.c REST, xsim_cbstream.c WebSocket) ------------- */

/* Client messages a Coinbase connection may send per second before it is dropped (Coinbase
 * limits unauthenticated messages to 8 a second per IP; the project's client paces itself to
 * that, so exchange-sim only drops a client far past it). */
#define ND__XSIM_CB_MESSAGES_PER_SEC 100

typedef struct nd__xsim_cb nd__xsim_cb_t;

/* The Coinbase streams; they become the exchange's listener. */
nd_err_t nd__xsim_cb_create(nd_xsim_t *x, nd_xsim_api_t *api, const nd_clock_t *clock,
                            nd__xsim_cb_t **out /* OUT */);
void nd__xsim_cb_destroy(nd__xsim_cb_t *cb);
/* A WebSocket upgrade: 0 when c now carries Coinbase channels, else the HTTP status. */
int nd__xsim_cb_open(nd__xsim_cb_t *cb, nd__xsim_conn_t *c, const char *path);
void nd__xsim_cb_message(nd__xsim_cb_t *cb, nd__xsim_conn_t *c, const char *text, size_t len);
void nd__xsim_cb_closed(nd__xsim_cb_t *cb, nd__xsim_conn_t *c);
void nd__xsim_cb_tick(nd__xsim_cb_t *cb, int64_t now_ns);
bool nd__xsim_cb_backlogged(const nd__xsim_cb_t *cb);
/* Closes every connection with code (1001 for the disconnect fault and shutdown). */
void nd__xsim_cb_disconnect_all(nd__xsim_cb_t *cb);
void nd__xsim_cb_fault(nd__xsim_cb_t *cb, const char *kind, int64_t count, int64_t delay_ns);
/* The next message of every connection skips one sequence_num (clients resubscribe). */
void nd__xsim_cb_gap(nd__xsim_cb_t *cb);
/* Monotonic time the last trade was handed to the market_trades sockets (wire to wire). */
int64_t nd__xsim_cb_trade_sent_ns(const nd__xsim_cb_t *cb);

/* REST: one request under /api/v3/brokerage (the JWT checked first). ND_ENOMEM only. */
nd_err_t nd__xsim_cb_handle(nd_xsim_api_t *api, const nd_xsim_request_t *req, int64_t now_ns,
                            nd_xsim_response_t *resp /* OUT */);
/* Verifies a Coinbase ES256 JWT for the configured key: signature, kid/sub = the key name,
 * iss "cdp", nbf <= now < exp (lifetime at most 120 s, 5 s of leeway), and, when method is
 * not NULL, uri = "METHOD host/path" (any host when host is NULL). why says what failed. */
bool nd__xsim_cb_jwt_ok(const nd_xsim_api_config_t *cfg, const char *jwt, const char *method,
                        const char *host, const char *path, int64_t now_ns, char *why,
                        size_t why_len);
/* Shared JSON pieces: an order id as Coinbase's UUID form (out[37]) and back (0: not one);
 * an RFC3339 time; a trimmed decimal string (prices and sizes at 8 decimals, cash likewise). */
void nd__xsim_cb_order_uuid(int64_t id, char out[37]);
int64_t nd__xsim_cb_order_id(const char *uuid);
json_t *nd__xsim_cb_time(int64_t ns);
json_t *nd__xsim_cb_dec(int64_t v);
/* Coinbase's status name of an order ("OPEN", "FILLED", "CANCELLED", "EXPIRED", "FAILED"). */
const char *nd__xsim_cb_status(const nd_xsim_user_order_t *o);

/* ---- REST helpers (xsim_binance.c) --------------------------------------------------------- */

/* Dumps doc with json_dumpb's flags into NUL-terminated nd_alloc'd text (*len without the NUL)
 * and releases doc; NULL when doc is NULL (a failed json_pack) or out of memory. */
char *nd__xsim_json_take(json_t *doc, size_t flags, size_t *len /* OUT */);
/* Answers status with doc as the body (nd__xsim_json_take); ND_ENOMEM when that fails. */
nd_err_t nd__xsim_respond(nd_xsim_response_t *resp, int status, json_t *doc, size_t flags);
/* A JSON string of v at 8 decimals, Binance's form of prices and quantities. */
json_t *nd__xsim_fixed_str(int64_t v);
/* Fault hooks: 429 for every REST request until until_ns; server time and timestamp checks
 * shifted by skew_ns. */
void nd__xsim_api_fault_rate_limit(nd_xsim_api_t *api, int64_t until_ns);
void nd__xsim_api_fault_skew(nd_xsim_api_t *api, int64_t skew_ns);
const char *nd__xsim_api_admin_token(const nd_xsim_api_t *api);
const nd_xsim_api_config_t *nd__xsim_api_config(const nd_xsim_api_t *api);
nd_xsim_t *nd__xsim_api_exchange(const nd_xsim_api_t *api);
/* The rate-limit fault's end (wall ns, 0: none) and the skew fault's shift. */
int64_t nd__xsim_api_rate_limit_until(const nd_xsim_api_t *api);
int64_t nd__xsim_api_skew(const nd_xsim_api_t *api);

/* The admin API (xsim_admin.c): POST /admin/fault with "Authorization: Bearer <token>". */
nd_err_t nd__xsim_admin_handle(nd_xsim_api_t *api, nd_xsim_t *x, nd__xsim_streams_t *streams,
                               const char *method, const char *path, const char *auth,
                               const char *body, size_t body_len, int64_t now_ns,
                               nd_xsim_response_t *resp /* OUT */);

/* ---- listenKeys (xsim_binance.c) ----------------------------------------------------------- */

/* True when key is the account's live listenKey at now_ns. */
bool nd__xsim_api_listen_key_ok(const nd_xsim_api_t *api, const char *key, int64_t now_ns);
/* The live key that lapsed by now_ns (copied into out[65], then forgotten): true once. */
bool nd__xsim_api_listen_key_expired(nd_xsim_api_t *api, int64_t now_ns, char out[65]);

/* ---- WebSocket API signed requests (xsim_binance.c) ---------------------------------------- */

/* A signed WebSocket API request's parts: payload is every parameter but signature, sorted by
 * name, as key=value joined by '&' (what the client signed). */
typedef struct nd__xsim_ws_signed {
    const char *api_key, *signature;
    int64_t timestamp, recv_window_ms; /* 0: absent */
    const char *payload;
    size_t payload_len;
} nd__xsim_ws_signed_t;

/* Binance's SIGNED checks on it (API key, timestamp, signature, recvWindow), at wall_ns shifted
 * by the skew fault: 0, or the Binance error code with *msg its text. */
int nd__xsim_api_ws_signed(const nd_xsim_api_t *api, const nd__xsim_ws_signed_t *req,
                           int64_t wall_ns, const char **msg);

/* ---- Metrics (xsim_metrics.c), with --metrics ----------------------------------------------- */

typedef struct nd__xsim_metrics nd__xsim_metrics_t;
typedef enum nd__xsim_count {
    ND__XSIM_CONNECTIONS_OPEN = 0, /* +1 accepted, -1 closed */
    ND__XSIM_CONNECTIONS_ACCEPTED = 1,
    ND__XSIM_HTTP_REQUESTS = 2,
    ND__XSIM_WS_IN = 3,
    ND__XSIM_WS_OUT = 4
} nd__xsim_count_t;

nd_err_t nd__xsim_metrics_create(const nd_xsim_t *x, int64_t start_real_ns,
                                 nd__xsim_metrics_t **out /* OUT */, char *err, size_t err_len);
void nd__xsim_metrics_destroy(nd__xsim_metrics_t *m);
/* Adds n to a count; m may be NULL (no --metrics). */
void nd__xsim_metrics_count(nd__xsim_metrics_t *m, nd__xsim_count_t what, int64_t n);
/* One fault of a kind applied (an unknown kind is not counted). */
void nd__xsim_metrics_fault(nd__xsim_metrics_t *m, const char *kind);
nd_err_t nd__xsim_metrics_render(nd__xsim_metrics_t *m, char **out, size_t *out_len);
/* The server's metrics (NULL without --metrics), for the WebSocket layer's counts. */
nd__xsim_metrics_t *nd__xsim_conn_metrics(const nd__xsim_conn_t *c);

#endif
