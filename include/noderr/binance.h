/* binance.h: the Binance Spot connector: stream decoding, the local order book kept in sync by
 * Binance's documented procedure, request signing, the signed REST client with exchangeInfo
 * filters, rate-limit accounting and error mapping, and the market-stream WebSocket client.
 *
 * Prices and quantities are int64 at ND_VENUE_DECIMALS (8), exactly what Binance publishes.
 * Protocol facts: ../shared/PROTOCOLS.md section A. Nothing here prints; the CLI does. */
#ifndef NODERR_BINANCE_H
#define NODERR_BINANCE_H

#include "noderr/book.h"
#include "noderr/err.h"
#include "noderr/exec_venue.h"
#include "noderr/prom.h"
#include "noderr/reconcile.h"
#include "noderr/venue.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Stream decoder (binance_decode.c) -------------------------------------------------- */

typedef struct nd_binance_decoder nd_binance_decoder_t;

/* Creates a decoder with room for max_levels levels and max_bytes message bytes (0: defaults
 * 12,000 levels, 1 MiB, enough for a 5000-level REST snapshot). Destroy with
 * nd_binance_decoder_destroy. */
nd_err_t nd_binance_decoder_create(uint32_t max_levels, size_t max_bytes,
                                   nd_binance_decoder_t **out /* OUT */);
void nd_binance_decoder_destroy(nd_binance_decoder_t *dec);

/* Decodes one message: a raw stream payload (trade, aggTrade, depthUpdate, bookTicker, kline,
 * partial depth, REST depth snapshot), a combined-stream envelope {"stream","data"}, a user
 * data event (executionReport, outboundAccountPosition, balanceUpdate, bare or wrapped in
 * {"subscriptionId","event"}), or a control reply ({"result","id"}, {"error","id"},
 * serverShutdown). Each normalised event goes to sink (outboundAccountPosition gives one
 * BALANCE event per asset). Returns ND_OK, or for bad input ND_EPARSE / ND_EEOF (truncated) /
 * ND_EDECLINED (unknown kind) / ND_ERANGE (bad number) / ND_EFULL (too large), after counting
 * the reason in the decoder's counters; the book and the sink never see a bad message.
 * Partial-depth and REST snapshots become BOOK_UPDATE events with snapshot = true. */
nd_err_t nd_binance_decode(nd_binance_decoder_t *dec, const char *msg, size_t len, int64_t recv_ns,
                           nd_md_sink_cb sink, void *ctx);
/* The decoder's message, event and bad-input counters. */
const nd_venue_counters_t *nd_binance_decoder_counters(const nd_binance_decoder_t *dec);
/* The decoder behind the generic nd_md_decoder_ops_t interface (default sizes). */
const nd_md_decoder_ops_t *nd_binance_decoder_ops(void);

/* ---- Local order book (binance_depth.c) ------------------------------------------------- */

typedef enum nd_binance_sync {
    ND_BINANCE_SYNC_BUFFERING = 0, /* no snapshot yet: diffs are buffered */
    ND_BINANCE_SYNC_WAIT_FIRST = 1,/* snapshot loaded, no diff bridged it yet */
    ND_BINANCE_SYNC_OK = 2,        /* in sync */
    ND_BINANCE_SYNC_RESYNC = 3     /* a gap (or buffer overflow): take a new snapshot */
} nd_binance_sync_t;

/* "buffering", "wait_first", "ok", "resync". */
const char *nd_binance_sync_name(nd_binance_sync_t status);

typedef struct nd_binance_depth {
    /* read-only */
    nd_book_t book;
    nd_binance_sync_t status;
    int64_t last_update_id;   /* book id: snapshot lastUpdateId, then the last applied u */
    int64_t snapshot_id;      /* lastUpdateId of the loaded snapshot, -1 before */
    int64_t first_buffered_U; /* U of the first buffered diff, -1 when none */
    uint64_t applied;         /* diffs applied */
    uint64_t dropped;         /* diffs dropped as stale (u <= book id) */
    uint64_t gaps;            /* gaps detected */
    uint64_t full;            /* diffs/snapshots refused: a new level did not fit a full side */
    uint64_t crossed;         /* diffs that left best bid >= best ask (-> RESYNC), crossed
                               * snapshots refused */
    /* private: the pre-snapshot buffer */
    nd_md_level_t *_buf_levels;
    uint32_t _buf_level_count, _buf_level_cap;
    struct nd_binance_buffered *_buf_events;
    uint32_t _buf_count, _buf_cap;
} nd_binance_depth_t;

/* Allocates the book (levels_max per side) and a buffer for up to buffer_events diffs holding
 * buffer_levels levels in all. Status BUFFERING. Release with nd_binance_depth_deinit. */
nd_err_t nd_binance_depth_init(nd_binance_depth_t *depth, uint32_t levels_max,
                               uint32_t buffer_events, uint32_t buffer_levels);
void nd_binance_depth_deinit(nd_binance_depth_t *depth);
/* Resets to BUFFERING with an empty book and buffer (after RESYNC, before a new snapshot). */
void nd_binance_depth_reset(nd_binance_depth_t *depth);

/* Feeds one diff (a BOOK_UPDATE event that is not a snapshot). Before a snapshot it is
 * buffered; afterwards it is applied or dropped by the documented rules: u <= book id is
 * dropped; the first applied diff must have U <= book id + 1 <= u; each later diff must have
 * U <= previous u + 1 (overlaps are fine), else the status becomes RESYNC and the diff is not
 * applied. Returns ND_OK (applied, dropped or buffered), ND_ESTATE in RESYNC (not applied),
 * ND_EFULL when the buffer overflows or a new level does not fit a full side of the book, and
 * ND_ERANGE when the applied diff leaves the book crossed (best bid >= best ask): both set
 * RESYNC (counted in full / crossed), since the book no longer follows the venue. */
nd_err_t nd_binance_depth_diff(nd_binance_depth_t *depth, const nd_md_book_update_t *diff);
/* Loads a REST snapshot (levels with their sides, lastUpdateId) and replays the buffered diffs
 * through the rules above. ND_EAGAIN (nothing loaded) when lastUpdateId < the first buffered U:
 * the snapshot is too old, fetch another. ND_EFULL (a side has more levels than the book) and
 * ND_ERANGE (crossed) refuse the snapshot: the book stays empty and BUFFERING. */
nd_err_t nd_binance_depth_snapshot(nd_binance_depth_t *depth, const nd_md_book_update_t *snap);

/* ---- Signing (binance_sign.c) ----------------------------------------------------------- */

/* HMAC-SHA256 of query then body (concatenated, no separator; either may be NULL/empty) keyed
 * by the secret's bytes, written as 64 lowercase hex digits and a NUL into hex[65]. */
nd_err_t nd_binance_sign(const char *secret, size_t secret_len, const char *query,
                         size_t query_len, const char *body, size_t body_len, char hex[65]);

/* The three API-key types Binance issues (PROTOCOLS.md A.5). */
typedef enum nd_binance_key_type {
    ND_BINANCE_KEY_HMAC = 0,    /* a secret string: HMAC-SHA256, 64 lowercase hex digits */
    ND_BINANCE_KEY_ED25519 = 1, /* a PEM (PKCS#8) Ed25519 private key: base64 of 64 bytes */
    ND_BINANCE_KEY_RSA = 2      /* a PEM RSA private key, 2048-4096 bits: base64 of
                                 * RSASSA-PKCS1-v1_5 with SHA-256 */
} nd_binance_key_type_t;

/* "hmac", "ed25519", "rsa" ("unknown" otherwise). */
const char *nd_binance_key_type_name(nd_binance_key_type_t type);
/* Parses a name as above; ND_EINVAL when unknown. */
nd_err_t nd_binance_key_type_parse(const char *name, nd_binance_key_type_t *out /* OUT */);

/* Room for any signature with its NUL: a 4096-bit RSA signature is 684 base64 characters,
 * and URL-encoding can triple each one. */
#define ND_BINANCE_SIGNATURE_MAX 2056

typedef struct nd_binance_signer nd_binance_signer_t;

/* The one signing entry point for every key type. Creates a signer from key[0, key_len): the
 * HMAC secret (copied), or a PEM private key of the given type (parsed once; the caller keeps
 * and wipes its own text). ND_EINVAL with the reason in err (never the key): not PEM, a public
 * key, an encrypted key, a key of another type than asked (the message says which it is), a
 * PEM key given as an HMAC secret, an RSA key outside 2048-4096 bits. ND_ENOMEM. Destroy with
 * nd_binance_signer_destroy, which wipes the secret copy. */
nd_err_t nd_binance_signer_create(nd_binance_key_type_t type, const char *key, size_t key_len,
                                  nd_binance_signer_t **out /* OUT */, char *err,
                                  size_t err_len);
/* Signs query then body (no separator; either may be empty) and writes the signature and a
 * NUL into out (cap bytes; ND_BINANCE_SIGNATURE_MAX always fits): lowercase hex for HMAC,
 * standard padded base64 for Ed25519 and RSA, with '+', '/' and '=' percent-encoded when
 * url_encoded (what a query string needs; hex is the same either way). *out_len gets the
 * length. ND_EFULL (cap too small), ND_EIO (OpenSSL failed), ND_ENOMEM. Ed25519 is
 * deterministic (the same payload gives the same signature); so is PKCS#1 v1.5. Costs (p50,
 * bench_binance_sign, bench/RESULTS.md): HMAC 1.5 us, Ed25519 45 us, RSA-2048 0.66 ms.
 * Thread-safe for one signer. */
nd_err_t nd_binance_signer_sign(const nd_binance_signer_t *signer, const char *query,
                                size_t query_len, const char *body, size_t body_len,
                                bool url_encoded, char *out, size_t cap,
                                size_t *out_len /* OUT */);
nd_binance_key_type_t nd_binance_signer_type(const nd_binance_signer_t *signer);
void nd_binance_signer_destroy(nd_binance_signer_t *signer);

/* ---- exchangeInfo filters (binance_filters.c) ------------------------------------------ */

typedef struct nd_binance_filters {
    char symbol[ND_NAME_MAX];
    bool trading;              /* status == TRADING */
    int64_t min_price, max_price, tick_size;  /* PRICE_FILTER; 0 disables a rule */
    int64_t min_qty, max_qty, step_size;      /* LOT_SIZE */
    int64_t mkt_min_qty, mkt_max_qty, mkt_step_size; /* MARKET_LOT_SIZE, 0 when absent */
    int64_t min_notional;      /* MIN_NOTIONAL or NOTIONAL minNotional, 0 when absent */
    int64_t max_notional;      /* NOTIONAL maxNotional, 0 when absent */
    bool min_notional_market;  /* applyToMarket / applyMinToMarket */
    bool max_notional_market;  /* applyMaxToMarket */
} nd_binance_filters_t;

/* Finds symbol in an exchangeInfo JSON body and reads its filters. ND_ENOTFOUND when absent,
 * ND_EPARSE with detail in err when malformed. */
nd_err_t nd_binance_filters_parse(const char *json, size_t len, const char *symbol,
                                  nd_binance_filters_t *out /* OUT */, char *err, size_t err_len);

typedef enum nd_binance_order_type {
    ND_BINANCE_LIMIT = 0,
    ND_BINANCE_MARKET = 1,
    ND_BINANCE_LIMIT_MAKER = 2,
    ND_BINANCE_STOP_LOSS_LIMIT = 3
} nd_binance_order_type_t;

typedef struct nd_binance_order {
    char symbol[ND_NAME_MAX];
    char client_order_id[37];  /* newClientOrderId: [a-zA-Z0-9-_]{1,36} */
    nd_md_side_t side;         /* BID = BUY, ASK = SELL */
    nd_binance_order_type_t type;
    int64_t px;                /* LIMIT, LIMIT_MAKER, STOP_LOSS_LIMIT */
    int64_t qty;
    int64_t stop_px;           /* STOP_LOSS_LIMIT */
    int64_t ref_px;            /* MARKET: reference price for the notional check, 0: skip */
} nd_binance_order_t;

/* Checks an order against the filters before it is sent: ND_REJECT_NONE or the reason
 * (INVALID_PRICE for PRICE_FILTER, INVALID_QUANTITY for LOT_SIZE, BELOW_MIN_NOTIONAL,
 * ABOVE_MAX_NOTIONAL, VENUE_SYMBOL_NOT_TRADING). */
nd_reject_t nd_binance_filters_check(const nd_binance_filters_t *filters,
                                     const nd_binance_order_t *order);

/* ---- Errors and rate limits (binance_rest.c) ------------------------------------------- */

/* Maps an HTTP status and Binance error code/msg to a reject reason: -1003 / 429 rate limit,
 * 418 banned, -1021 timestamp outside recvWindow, -1022/-2014/-2015 unauthorized, -1013
 * filter failure, -2010 new order rejected (insufficient balance when msg says so), -2011 /
 * -2013 unknown order, -1100..-1199 bad request, 5xx / -1007 status unknown. */
nd_reject_t nd_binance_map_error(long http_status, int64_t code, const char *msg);

/* ---- REST client (binance_rest.c) ------------------------------------------------------ */

typedef struct nd_binance_rest nd_binance_rest_t;

typedef struct nd_binance_rest_config {
    const char *base_url;        /* "https://api.binance.com", testnet, or a local server */
    const nd_secret_t *secret;   /* copied; NULL for public endpoints only */
    int64_t recv_window_ms;      /* 0: 5000 */
    int64_t weight_limit_1m;     /* REQUEST_WEIGHT per minute (0: 6000) */
    long timeout_ms;             /* 0: 10000 */
    nd_binance_key_type_t key_type; /* how secret->api_secret signs: HMAC (default, the
                                  * secret string), ED25519 or RSA (a PEM private key) */
} nd_binance_rest_config_t;

typedef struct nd_binance_rest_result {
    long http_status;
    nd_reject_t reject;          /* NONE on success */
    int64_t venue_code;          /* Binance "code", 0 when none */
    char venue_msg[128];
    int64_t used_weight_1m;      /* last X-MBX-USED-WEIGHT-1M, -1 when absent */
    int64_t retry_after_s;       /* Retry-After on 429/418, -1 when absent */
    char *body;                  /* response body (nd_alloc'd), freed by ..._result_free */
    size_t body_len;
} nd_binance_rest_result_t;

/* Creates the client; with a secret, its api_secret is parsed by key_type into the signer
 * (ND_EINVAL with the reason in err for a key that cannot sign: see nd_binance_signer_create).
 * SIGNED calls then carry the signature URL-encoded as Binance requires for base64. */
nd_err_t nd_binance_rest_create(const nd_binance_rest_config_t *config, const nd_clock_t *clock,
                                nd_binance_rest_t **out /* OUT */, char *err, size_t err_len);
void nd_binance_rest_destroy(nd_binance_rest_t *rest);
void nd_binance_rest_result_free(nd_binance_rest_result_t *result);

/* GET /api/v3/time and stores server - local offset used for every signed timestamp. */
nd_err_t nd_binance_rest_sync_time(nd_binance_rest_t *rest, char *err, size_t err_len);
int64_t nd_binance_rest_time_offset_ms(const nd_binance_rest_t *rest);
/* Loads the symbol's filters from GET /api/v3/exchangeInfo?symbol=S (kept in the client for
 * nd_binance_rest_new_order). */
nd_err_t nd_binance_rest_load_filters(nd_binance_rest_t *rest, const char *symbol, char *err,
                                      size_t err_len);
/* Sets filters directly (from a saved exchangeInfo). */
void nd_binance_rest_set_filters(nd_binance_rest_t *rest, const nd_binance_filters_t *filters);

/* The generic call: method, path and the unsigned query (may be empty); signed adds
 * timestamp, recvWindow and signature plus X-MBX-APIKEY. Honours a pending back-off: while
 * a Retry-After from a 429 runs, calls return ND_EAGAIN without sending; after a 418 every
 * call returns ND_ESTATE (banned) until nd_binance_rest_create again. ND_OK means an HTTP
 * response arrived; result->reject says whether the venue refused. */
nd_err_t nd_binance_rest_call(nd_binance_rest_t *rest, const char *method, const char *path,
                              const char *query, bool is_signed,
                              nd_binance_rest_result_t *result /* OUT */, char *err,
                              size_t err_len);
/* POST /api/v3/order after nd_binance_filters_check (a filter reject returns ND_OK with
 * result->reject set and http_status 0: nothing was sent). */
nd_err_t nd_binance_rest_new_order(nd_binance_rest_t *rest, const nd_binance_order_t *order,
                                   nd_binance_rest_result_t *result /* OUT */, char *err,
                                   size_t err_len);
/* DELETE /api/v3/order by origClientOrderId. */
nd_err_t nd_binance_rest_cancel(nd_binance_rest_t *rest, const char *symbol,
                                const char *client_order_id,
                                nd_binance_rest_result_t *result /* OUT */, char *err,
                                size_t err_len);
/* GET /api/v3/order by origClientOrderId. */
nd_err_t nd_binance_rest_query(nd_binance_rest_t *rest, const char *symbol,
                               const char *client_order_id,
                               nd_binance_rest_result_t *result /* OUT */, char *err,
                               size_t err_len);
/* GET /api/v3/openOrders (symbol may be NULL for all). */
nd_err_t nd_binance_rest_open_orders(nd_binance_rest_t *rest, const char *symbol,
                                     nd_binance_rest_result_t *result /* OUT */, char *err,
                                     size_t err_len);
/* GET /api/v3/account (balances). */
nd_err_t nd_binance_rest_account(nd_binance_rest_t *rest, nd_binance_rest_result_t *result /* OUT */,
                                 char *err, size_t err_len);
/* Weight used in the current minute as last reported by the venue. */
int64_t nd_binance_rest_used_weight(const nd_binance_rest_t *rest);

/* ---- Market streams over WebSocket (binance_ws.c) --------------------------------------- */

/* Writes a SUBSCRIBE or UNSUBSCRIBE request for streams (lowercased on the way) with id into
 * buf: {"method":"SUBSCRIBE","params":["btcusdt@depth@100ms"],"id":1}. Returns the length;
 * 0 when it does not fit. */
size_t nd_binance_ws_request(bool subscribe, const char *const *streams, uint32_t count,
                             int64_t id, char *buf, size_t cap);

typedef struct nd_binance_stream nd_binance_stream_t;

typedef struct nd_binance_stream_config {
    const char *base_url;         /* "wss://stream.binance.com:9443" or a local ws:// server */
    const char *const *streams;   /* "btcusdt@trade", ... (<= 1024) */
    uint32_t stream_count;
    uint64_t seed;                /* reconnect jitter */
    int64_t max_age_ns;           /* 0: 23 h 50 min, ahead of the 24 h limit */
    int64_t backoff_min_ns;       /* 0: 1 s */
    int64_t backoff_max_ns;       /* 0: 60 s */
    void *uv_loop;                /* a libuv loop to run on (nd_ws_config_t.uv_loop), or NULL */
} nd_binance_stream_config_t;

/* Connects to base_url/stream (combined streams) and SUBSCRIBEs the streams on every
 * (re)connect, at most 5 messages per second; decodes each message and hands the events to
 * sink; a serverShutdown event triggers an immediate reconnect. */
nd_err_t nd_binance_stream_create(const nd_binance_stream_config_t *config, const nd_clock_t *clock,
                                  nd_md_sink_cb sink, void *ctx,
                                  nd_binance_stream_t **out /* OUT */, char *err, size_t err_len);
nd_err_t nd_binance_stream_service(nd_binance_stream_t *stream, int timeout_ms);
/* Sends UNSUBSCRIBE for the given streams (and forgets them for reconnects). */
nd_err_t nd_binance_stream_unsubscribe(nd_binance_stream_t *stream, const char *const *streams,
                                       uint32_t count);
const nd_venue_counters_t *nd_binance_stream_counters(const nd_binance_stream_t *stream);
uint32_t nd_binance_stream_connects(const nd_binance_stream_t *stream);
/* Closes the connection and reconnects at once, subscribing again (a supervisor's restart). */
void nd_binance_stream_reconnect(nd_binance_stream_t *stream);
void nd_binance_stream_destroy(nd_binance_stream_t *stream);

/* ---- Live order books: diff-depth stream + REST snapshots (binance_live.c) --------------
 * One WebSocket connection carries <symbol>@depth[@100ms] for every symbol; each symbol's
 * book follows the documented procedure through nd_binance_depth_t: diffs are buffered until
 * a REST snapshot (GET /api/v3/depth) is fetched, a snapshot older than the first buffered
 * diff is fetched again, stale diffs are dropped, and a gap (or a reconnect that lost diffs)
 * discards the book and starts over with a new snapshot. The sink receives, per symbol, one
 * BOOK_UPDATE with snapshot = true holding the whole book each time it is (re)built (after the
 * buffered diffs are applied; venue_ts_ns 0, REST snapshots carry no time), then every applied
 * diff as it arrived; a STATUS event with code ND_MD_STATUS_RESYNC when a book is discarded;
 * and the stream's other STATUS events. Dropped and buffered diffs are not forwarded.
 * Snapshots are fetched by the client's worker thread, one at a time: nd_binance_live_service
 * never waits on the network (it starts the next fetch due and applies one finished). */

typedef struct nd_binance_live nd_binance_live_t;

typedef struct nd_binance_live_config {
    const char *ws_base_url;      /* "wss://stream.binance.com:9443" or a local ws:// server */
    const char *rest_base_url;    /* "https://api.binance.com" or a local server */
    const char *const *symbols;   /* "BTCUSDT", ... (1..64) */
    uint32_t symbol_count;
    uint32_t snapshot_limit;      /* REST depth limit: 0: 1000 (weight 50); at most 5000 */
    uint32_t levels_max;          /* book levels per side, 0: 5000 */
    bool slow_stream;             /* true: <s>@depth (1000 ms); false: <s>@depth@100ms */
    int64_t snapshot_retry_ns;    /* wait before refetching a stale or failed snapshot, 0: 1 s */
    uint64_t seed;                /* reconnect jitter */
    int64_t backoff_min_ns, backoff_max_ns; /* WebSocket reconnect (0: 1 s, 60 s) */
} nd_binance_live_config_t;

typedef struct nd_binance_live_stats {
    uint64_t snapshots;           /* snapshots loaded */
    uint64_t stale_snapshots;     /* snapshots refused as older than the buffered diffs */
    uint64_t snapshot_errors;     /* failed snapshot requests (transport, HTTP, body), and
                                   * snapshots refused as crossed or too large for the book */
    uint64_t resyncs;             /* books discarded (gap or buffer overflow) */
    uint64_t diffs_forwarded;     /* applied diffs handed to the sink */
} nd_binance_live_stats_t;

/* Creates the REST client and the stream; nothing is fetched until the first diff of a
 * symbol arrives. Destroy with nd_binance_live_destroy. ND_EINVAL (bad config, detail in err),
 * ND_ENOMEM. */
nd_err_t nd_binance_live_create(const nd_binance_live_config_t *config, const nd_clock_t *clock,
                                nd_md_sink_cb sink, void *ctx, nd_binance_live_t **out /* OUT */,
                                char *err, size_t err_len);
/* Services the WebSocket for up to timeout_ms, then applies a snapshot the worker finished and
 * starts the next one due. */
nd_err_t nd_binance_live_service(nd_binance_live_t *live, int timeout_ms);
/* The book state of symbol (as configured), NULL when not configured. O(symbols). */
const nd_binance_depth_t *nd_binance_live_depth(const nd_binance_live_t *live, const char *symbol);
void nd_binance_live_stats(const nd_binance_live_t *live, nd_binance_live_stats_t *out /* OUT */);
/* Decoder counters of the stream (bad input per reason). */
const nd_venue_counters_t *nd_binance_live_counters(const nd_binance_live_t *live);
void nd_binance_live_destroy(nd_binance_live_t *live);

/* ---- User data stream (binance_user.c) ---------------------------------------------------
 * Two ways Binance offers (PROTOCOLS.md A.6):
 * - ND_BINANCE_USER_WS_API (what Binance recommends today, the default): one WebSocket to the
 *   WebSocket API (<ws_api_url>, "wss://ws-api.binance.com:443/ws-api/v3"), on which
 *   userDataStream.subscribe.signature (apiKey, timestamp, signature over the parameters
 *   sorted by name, by any key type) starts a subscription; events arrive wrapped
 *   {"subscriptionId":N,"event":{..}}. An eventStreamTerminated event subscribes again on the
 *   same connection; a new connection subscribes on open; a refused subscription is retried
 *   after a second.
 * - ND_BINANCE_USER_LISTEN_KEY (deprecated by Binance): POST /api/v3/userDataStream (API key,
 *   no signature) gives a listenKey; the WebSocket <ws_base>/ws/<listenKey> delivers bare
 *   events. The key is kept alive with PUT every keepalive_ns (30 min) on the injected clock;
 *   when Binance says it no longer exists (-1125, or a listenKeyExpired event) a new key is
 *   created and the socket reconnected to it; destroy closes it with DELETE.
 * Either way executionReport, outboundAccountPosition and balanceUpdate become ORDER_UPDATE
 * and BALANCE events for the sink, listStatus a STATUS ORDER_LIST, and the ends of a
 * subscription (listenKeyExpired, eventStreamTerminated) STATUS events before it acts on them;
 * each subscription that starts is a STATUS ACK (venue_code: the subscriptionId, or 0). */

typedef struct nd_binance_user nd_binance_user_t;

typedef enum nd_binance_user_mode {
    ND_BINANCE_USER_WS_API = 0,
    ND_BINANCE_USER_LISTEN_KEY = 1
} nd_binance_user_mode_t;

/* "ws_api", "listen_key" ("unknown" otherwise); parse: ND_EINVAL when unknown. */
const char *nd_binance_user_mode_name(nd_binance_user_mode_t mode);
nd_err_t nd_binance_user_mode_parse(const char *name, nd_binance_user_mode_t *out /* OUT */);

typedef struct nd_binance_user_config {
    nd_binance_user_mode_t mode;
    const char *ws_base_url;      /* listen_key: "wss://stream.binance.com:9443" or ws:// */
    const char *ws_api_url;       /* ws_api: "wss://ws-api.binance.com:443/ws-api/v3" */
    const char *rest_base_url;    /* listen_key: "https://api.binance.com" or a local server */
    const nd_secret_t *secret;    /* API key (copied; ws_api also its secret); required */
    int64_t keepalive_ns;         /* listen_key: 0 is 30 min */
    uint64_t seed;
    int64_t backoff_min_ns, backoff_max_ns; /* WebSocket reconnect (0: 1 s, 60 s) */
    nd_binance_key_type_t key_type; /* the type of secret->api_secret, when there is one */
    int64_t recv_window_ms;       /* ws_api: the subscription's recvWindow (0: Binance's 5000) */
    void *uv_loop;                /* a caller's libuv loop for the socket (nd_ws_config_t) */
} nd_binance_user_config_t;

/* listen_key: creates the key (one blocking POST) and starts connecting; ws_api: parses the
 * signing key and starts connecting. ND_EIO when the venue refuses or is unreachable (detail
 * in err, never the key), ND_EINVAL for a bad config or a key that cannot sign. */
nd_err_t nd_binance_user_create(const nd_binance_user_config_t *config, const nd_clock_t *clock,
                                nd_md_sink_cb sink, void *ctx, nd_binance_user_t **out /* OUT */,
                                char *err, size_t err_len);
/* Services the socket for up to timeout_ms (0 on a caller's loop: the timers only), then acts
 * on what the events asked: the keep-alive PUT when due and a new key (listen_key), a new
 * subscription (ws_api). ND_EIO when a new key cannot be created (retried next call). */
nd_err_t nd_binance_user_service(nd_binance_user_t *user, int timeout_ms);
/* Keep-alives sent and listenKeys created so far (listen_key). */
uint32_t nd_binance_user_keepalives(const nd_binance_user_t *user);
uint32_t nd_binance_user_keys_created(const nd_binance_user_t *user);
/* Subscriptions started so far (ACKs: ws_api; keys' sockets opened: listen_key) and ended by
 * the venue (eventStreamTerminated, listenKeyExpired). */
uint32_t nd_binance_user_subscriptions(const nd_binance_user_t *user);
uint32_t nd_binance_user_ends(const nd_binance_user_t *user);
bool nd_binance_user_subscribed(const nd_binance_user_t *user);
const nd_venue_counters_t *nd_binance_user_counters(const nd_binance_user_t *user);
/* listen_key: sends DELETE for the key (best effort); closes the socket, frees everything. */
void nd_binance_user_destroy(nd_binance_user_t *user);

/* ---- Prepared requests (binance_rest.c) --------------------------------------------------
 * A request split in two: its bytes (the URL with the signed query) are built by prepare on
 * the caller's thread, and send puts them on the wire (rate-limit gate, HTTP, error mapping),
 * possibly on another thread. prepare only reads what is fixed once the client is set up (the
 * secret, the server-time offset, recvWindow, the filters): call nd_binance_rest_sync_time and
 * load the filters before requests are prepared on one thread and sent on another, and from
 * then on let one thread alone send (nd_binance_rest_call and the other calls send too). */

typedef struct nd_binance_request {
    char method[8];
    /* Base, path and the query with timestamp and signature. A signed POST or DELETE (orders,
     * cancels) carries its parameters in an application/x-www-form-urlencoded body instead, as
     * Binance allows ("the parameters may be sent as a query string or in the request body"):
     * then url ends at the path and the body follows its NUL at url + body_at. Same signature:
     * Binance signs the query string then the body, and the query is empty. A long query costs
     * libcurl about 100 instructions a byte in its URL handling; a body is copied as it is. */
    char url[2368];
    uint16_t body_at;            /* 0: no body */
    int64_t prepared_ns;         /* the clock when built: the request's timestamp */
} nd_binance_request_t;

nd_err_t nd_binance_rest_prepare(nd_binance_rest_t *rest, const char *method, const char *path,
                                 const char *query, bool is_signed,
                                 nd_binance_request_t *req /* OUT */, char *err, size_t err_len);
/* prepare for POST /api/v3/order after the filters: a filter reject is ND_OK with *reject set
 * and nothing prepared. */
nd_err_t nd_binance_rest_prepare_order(nd_binance_rest_t *rest, const nd_binance_order_t *order,
                                       nd_binance_request_t *req /* OUT */,
                                       nd_reject_t *reject /* OUT */, char *err, size_t err_len);
/* Sends a prepared request: the same answers as nd_binance_rest_call. */
nd_err_t nd_binance_rest_send(nd_binance_rest_t *rest, const nd_binance_request_t *req,
                              nd_binance_rest_result_t *result /* OUT */, char *err,
                              size_t err_len);

/* Sending from a libuv loop without blocking it (the orders' path: binance_exec.c). attach
 * makes a non-blocking client on uv_loop (nd_http_async_t: one kept-alive connection, opened
 * now with GET /api/v3/ping, requests leaving in the order they were started) beside the
 * blocking one; from then on send_async is called on the loop's thread only. detach abandons
 * the requests on their way (no answer comes) and closes the client's handles; the loop must
 * run once more for their memory (the session's close runs it), and before destroy. The
 * rate-limit state is shared by both clients (under a mutex). */
nd_err_t nd_binance_rest_attach_loop(nd_binance_rest_t *rest, void *uv_loop, char *err,
                                     size_t err_len);
void nd_binance_rest_detach_loop(nd_binance_rest_t *rest);
bool nd_binance_rest_has_loop(const nd_binance_rest_t *rest);
/* The answer of send_async on the loop's thread: rc ND_OK with the result (as send's; its body
 * valid during the call only: not to be freed), or ND_EIO with the reason in err (NULL result:
 * it may or may not have reached the venue). */
typedef void (*nd_binance_done_cb)(void *ctx, nd_err_t rc, const nd_binance_rest_result_t *res,
                                   const char *err);
/* Starts a prepared request from the loop: its bytes are written before this returns when the
 * connection is free, and done_cb is called once (maybe before this returns, for a failure
 * found at once) unless this returns an error: ND_EAGAIN / ND_ESTATE (the rate-limit gate, a
 * ban: nothing sent, as send's), ND_EFULL (16 on their way), ND_EIO. */
nd_err_t nd_binance_rest_send_async(nd_binance_rest_t *rest, const nd_binance_request_t *req,
                                    nd_binance_done_cb done_cb, void *ctx, char *err,
                                    size_t err_len);

/* ---- The live order venue (binance_exec.c) -----------------------------------------------
 * Binance Spot behind the engine's venue interface (exec_venue.h), one symbol per adapter
 * (Binance numbers trades per symbol, and the journal keeps one last trade id). Orders carry
 * deterministic client order ids (reconcile.h); every intent is journaled before its request
 * leaves and every answer after it; at start-up nd_binance_exec_recover reconciles the journal
 * with the venue. HTTP runs on one worker thread: submit and cancel build the signed request
 * bytes on the caller's thread, journal the intent and queue the request (a bounded queue:
 * a full one refuses the order, ND_EFULL, before anything is journaled); the worker makes the
 * journal durable (fdatasync), sends, parses the answer and queues the result; poll takes the
 * results on the caller's thread, journals them and turns them into order updates. Status
 * changes after the answer come from REST polling (myTrades from the last trade id seen, then
 * openOrders, then a query of each order that left the open list) every poll_interval_ns:
 * FILL per venue trade (exact price, quantity, quote quantity and commission), then
 * CANCELLED / EXPIRED once every fill of the order is booked. */

typedef struct nd_binance_exec nd_binance_exec_t;

typedef struct nd_binance_exec_config {
    nd_binance_rest_t *rest;      /* borrowed; time synced and filters loaded; after
                                     nd_binance_exec_start only the worker sends with it */
    nd_journal_t *journal;        /* borrowed, opened and replayed into local */
    nd_recon_local_t *local;      /* borrowed: the journal's view, kept current */
    const nd_clock_t *clock;
    const char *symbol;           /* "BTCUSDT" */
    uint32_t instrument_id;       /* the engine's id of symbol */
    nd_recon_instrument_t assets; /* base and quote asset of symbol */
    const char *tag;              /* session tag, [a-z0-9]{1,6} */
    uint32_t run;                 /* this start's number (the journal's RUN count) */
    int64_t recv_window_ms;       /* the REST client's (0: 5000): an unanswered request is
                                     known not to have reached the venue this long after it
                                     was built */
    uint32_t queue_max;           /* requests queued or in flight (0: 64, at most 256) */
    int64_t poll_interval_ns;     /* status polling while orders are open (0: 1 s; a poll
                                     costs request weight 26: myTrades 20 + openOrders 6) */
    int64_t maker_fee_bps_e2, taker_fee_bps_e2; /* declared fees (0: 1000 = 10 bps) */
    const char *sending_path;     /* the send marks file (NULL: none): each new order's client
                                     id is written there (no sync) after its intent is durable
                                     and before it leaves, under a boot id header; a restart
                                     on the same boot takes an unanswered intent without a mark
                                     as never sent, with no recvWindow wait. Started again by
                                     recover. */
    /* Test hook: called at "journaled" (caller, after an intent is appended), "synced"
     * (worker, journal durable, before sending) and "sent" (worker, answer received, before
     * it is queued back). NULL in production. */
    void (*hook_cb)(void *ctx, const char *point);
    void *hook_ctx;
    /* Monitoring: each order and cancel request's round trip (from leaving to the venue's
     * answer, ns) observed by the worker thread, its only writer; NULL: not measured. */
    nd_prom_hist_t *round_trip;
} nd_binance_exec_config_t;

typedef struct nd_binance_exec_stats {
    uint64_t submitted, cancels, queries, syncs;
    uint64_t accepted, rejected, fills, cancelled, expired, cancel_rejected;
    uint64_t unknown;             /* answers lost (transport error, 5xx): resolved by query */
    uint64_t queue_full;          /* orders refused for a full queue */
    uint64_t waited;              /* recover: unanswered intents the venue did not know, whose
                                     recvWindow was waited out */
    uint64_t never_left;          /* recover: unanswered intents without a send mark on this
                                     boot: never sent, no wait */
    uint64_t outages;             /* REST outages ended (requests unanswered, then a good sync) */
    uint64_t reconciliations;     /* in the session: after an outage or nd_binance_exec_resync */
    uint64_t recon_diffs;         /* differences those found (journaled and logged) */
    uint64_t recon_halts;         /* of them resolved HALT (a balance differs): the caller halts */
    uint64_t round_trips;         /* new orders and cancels answered, and their round trips */
    uint64_t round_trip_ns_sum;   /* summed (request leaving to answer read), nanoseconds */
    uint64_t stream_events;       /* executionReports of the symbol taken (on_order) */
    uint64_t stream_fills;        /* trades booked from them (before the poll saw them) */
} nd_binance_exec_stats_t;

/* Creates the adapter (worker not started). ND_EINVAL with the reason in err. */
nd_err_t nd_binance_exec_create(const nd_binance_exec_config_t *config,
                                nd_binance_exec_t **out /* OUT */, char *err, size_t err_len);
/* Reconciles the journal's view with the venue (blocking REST; before start): queries every
 * unanswered intent still inside its recvWindow by client order id and waits until those the
 * venue does not know are past it (an intent the venue has, or one older than its recvWindow,
 * costs no wait), fetches openOrders, queries each order the
 * journal has as sent or open and the venue has not open, myTrades after the last trade id,
 * and the account; on a journal without balances first records the venue's as the opening
 * ones (and the last trade id as the watermark). Each difference is journaled (a RECON record)
 * and applied; RESEND sends again with the same id, CANCEL cancels; with cancel_open every
 * open order of ours is cancelled too (a restart that does not resume its orders). Up to cap
 * differences are copied to out (*count of them, all counted). *halt is true when a difference
 * resolved to HALT. ND_EIO when the venue cannot be read (nothing applied). */
nd_err_t nd_binance_exec_recover(nd_binance_exec_t *x, const nd_recon_policy_t *policy,
                                 bool cancel_open, nd_recon_diff_t *out, size_t cap,
                                 size_t *count /* OUT */, bool *halt /* OUT */, char *err,
                                 size_t err_len);
/* Starts the worker thread. */
nd_err_t nd_binance_exec_start(nd_binance_exec_t *x);
/* With journal.sync batched, sends new orders and cancels from uv_loop's thread (the engine's)
 * without blocking it, on the REST client's non-blocking connection reserved for them
 * (nd_binance_rest_attach_loop); queries, polls, the cancel-all (and an order or cancel that
 * must not overtake one on its way there) stay on the worker. With before_send it does nothing
 * (the fdatasync before each send would block the loop: the worker sends). Call after start,
 * on the loop's thread; detach before the loop's last run (what is on its way stays an
 * unanswered intent for the next start). ND_ENOMEM, or the REST client's error in err. */
nd_err_t nd_binance_exec_attach_loop(nd_binance_exec_t *x, void *uv_loop, char *err,
                                     size_t err_len);
void nd_binance_exec_detach_loop(nd_binance_exec_t *x);
/* Asks for a reconciliation in the session at the next poll (the caller's thread; after
 * start): call it when the market stream reconnects. The adapter asks for one itself when a
 * REST outage ends (a request unanswered, then a sync that succeeds). Polling follows the
 * local orders (trades after the last booked, queries of orders that left the open list), so
 * fills and cancels made while disconnected are booked once by it; the reconciliation adds
 * what polling does not see: open orders the journal does not know (ours are cancelled,
 * others surfaced) and the balances against every trade booked (a difference resolves as the
 * start's policy says; HALT is counted in stats.recon_halts for the caller to act on). The
 * balances are read between two looks at myTrades, and the comparison waits for a sync in
 * which no trade came between. */
void nd_binance_exec_resync(nd_binance_exec_t *x);
/* Brings the next status poll forward, never closer than half poll_interval_ns to the last
 * (an order list's listStatus, or anything the stream says that the poll must confirm). Loop
 * thread, like poll. */
void nd_binance_exec_wake(nd_binance_exec_t *x);
/* The user data stream's executionReport (an ORDER_UPDATE event; another symbol's is ignored),
 * on the loop thread like poll: fills and order updates pushed by the venue. A TRADE report is
 * booked at once as the venue trade myTrades would give (trade id, order id, price, quantity,
 * quote quantity "Y", commission and asset, maker "m"): journaled and reported as a FILL, once,
 * by trade id and side, so a trade the status poll books too (or booked first) is booked once.
 * A report of an order of ours makes it OPEN with the venue's id (ACCEPTED); a terminal one
 * (FILLED, CANCELED, EXPIRED) reports the order done once every fill up to its cumulative
 * quantity is booked, polling soon only when some are missing. With the update ring short of
 * room, or a trade without its quote quantity, it falls back to bringing the poll forward. The
 * poll stays the safety net (a lost stream message is booked by it). O(orders). */
void nd_binance_exec_on_order(nd_binance_exec_t *x, const nd_md_event_t *ev);
/* The engine's fill of one venue trade (exact price, quantity and quote quantity) with its
 * commission as paid: in assets->base (a buy's, unless fees are paid in BNB) as fee_qty, the
 * quantity the account did not receive; in assets->quote as the cash fee; in a third asset not
 * at all (that balance is outside the instrument's account; reconciliation follows it). What
 * poll reports, and what a restart books from the journal. */
void nd_binance_exec_fill_of(const nd_recon_trade_t *trade, const nd_recon_instrument_t *assets,
                             uint64_t client_id, uint32_t strategy_index, uint32_t instrument_id,
                             nd_fill_t *out /* OUT */);
/* The engine's view of the adapter: ops and facts (name "binance"). */
nd_exec_venue_t nd_binance_exec_venue(nd_binance_exec_t *x);
/* Requests queued or in flight. */
uint32_t nd_binance_exec_pending(const nd_binance_exec_t *x);
/* The emergency cancel (an emergency shutdown's, docs/launcher.md): every open order on the
 * symbol cancelled at the venue with one request, DELETE /api/v3/openOrders (weight 1). First
 * every order of ours not yet done gets a CANCEL intent in the journal and is covered by it: the
 * engine's own cancels of those send nothing more. The request queues behind the new orders
 * already queued (one worker sends in order), so every order sent before it is cancelled by it,
 * however many there are; the orders in its answer are reported CANCELLED once their fills are
 * booked, and the status poll, due at once, settles the others (filled or refused before it).
 * With the queue full it goes as soon as there is room (poll queues it); a failed one is sent
 * again every 200 ms. Binance cancels every open order of the account on the symbol, another
 * session's too: an emergency stop means the account. ND_EIO when the journal cannot take the
 * intents (nothing is sent). Call after nd_binance_exec_start, on the engine's thread.
 * O(orders). */
nd_err_t nd_binance_exec_cancel_all(nd_binance_exec_t *x);
/* A cancel-all asked for and not yet answered. */
bool nd_binance_exec_cancel_all_busy(const nd_binance_exec_t *x);
/* Stops the worker (a request on the wire completes; queued ones stay unanswered intents in the
 * journal) without freeing the adapter: from then on it sends nothing (submit and cancel are
 * ND_EFULL) and the REST client is the caller's again (a last look at the venue). NULL: no-op. */
void nd_binance_exec_stop(nd_binance_exec_t *x);
void nd_binance_exec_stats(const nd_binance_exec_t *x, nd_binance_exec_stats_t *out /* OUT */);
/* Stops the worker (a request on the wire completes; queued ones are dropped and stay
 * unanswered intents in the journal, for the next reconciliation) and frees the adapter. */
void nd_binance_exec_destroy(nd_binance_exec_t *x);

#endif
