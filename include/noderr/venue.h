/* venue.h: what every venue connector shares: normalised market and account events, per-venue
 * bad-input counters, exact decimal helpers, a small JSON tokenizer for the hot path, and the
 * libcurl, libwebsockets and secret helpers (src/venues/{http,ws,secret}.c).
 *
 * Every price and quantity in a normalised event is an int64 in 10^-ND_VENUE_DECIMALS units,
 * parsed exactly from the venue's decimal string (a venue value with more decimals is a bad
 * input, never rounded). Every event carries the venue's own timestamp (venue_ts_ns, 0 when
 * the venue sends none) and the local receive time (recv_ts_ns), both ns since the epoch.
 * Decoders write events into caller memory and hand them to a sink callback; an event and any
 * array it points to are valid only during that callback. Nothing here allocates per message.
 * Headers are stable: additions go at the end of enums and structs. */
#ifndef NODERR_VENUE_H
#define NODERR_VENUE_H

#include "noderr/book.h"
#include "noderr/clock.h"
#include "noderr/err.h"
#include "noderr/limits.h"
#include "noderr/rand.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Scale of prices and quantities in normalised events: Binance publishes 8 decimals, Coinbase
 * fewer, and int64 at 1e-8 still holds 92 billion. */
#define ND_VENUE_DECIMALS 8

/* Longest venue identifier kept in an event (client order ids are at most 36 on Binance,
 * Coinbase order ids are 36-character UUIDs). */
#define ND_VENUE_ID_MAX 48

typedef enum nd_venue {
    ND_VENUE_NONE = 0,
    ND_VENUE_BINANCE = 1,
    ND_VENUE_COINBASE = 2,          /* Advanced Trade */
    ND_VENUE_COINBASE_EXCHANGE = 3, /* the institutional API (ex-Pro) */
    ND_VENUE_CHAINLINK = 4,
    ND_VENUE_COUNT = 5
} nd_venue_t;

/* "binance", "coinbase", "coinbase-exchange", "chainlink"; "none" otherwise. */
const char *nd_venue_name(nd_venue_t venue);
/* Parses a venue name as above; ND_EINVAL when unknown. */
nd_err_t nd_venue_parse(const char *name, nd_venue_t *out /* OUT */);

/* ---- Normalised events ------------------------------------------------------------------ */

typedef enum nd_md_kind {
    ND_MD_NONE = 0,
    ND_MD_TRADE = 1,
    ND_MD_BOOK_UPDATE = 2, /* levels to set (qty 0 removes), or a whole snapshot */
    ND_MD_BBO = 3,         /* best bid and offer */
    ND_MD_BAR = 4,
    ND_MD_ORACLE_PRICE = 5,
    ND_MD_ORDER_UPDATE = 6,
    ND_MD_BALANCE = 7,
    ND_MD_STATUS = 8 /* venue control: subscription ack, shutdown notice, heartbeat, error */
} nd_md_kind_t;

/* "trade", "book_update", "bbo", "bar", "oracle_price", "order_update", "balance", "status". */
const char *nd_md_kind_name(nd_md_kind_t kind);

typedef enum nd_md_side {
    ND_MD_SIDE_NONE = 0,
    ND_MD_SIDE_BID = 1, /* for trades: the buyer was the aggressor (taker) */
    ND_MD_SIDE_ASK = 2  /* for trades: the seller was the aggressor (taker) */
} nd_md_side_t;

typedef struct nd_md_level {
    int64_t px;
    int64_t qty; /* absolute quantity at px; 0 removes the level */
    uint8_t side; /* nd_md_side_t */
    uint8_t _pad[7];
} nd_md_level_t;

typedef struct nd_md_trade {
    int64_t px;
    int64_t qty;
    int64_t trade_id;       /* venue trade id (aggregate id for Binance aggTrade) */
    int64_t first_trade_id; /* aggregates only, else equal to trade_id */
    int64_t last_trade_id;
    int64_t trade_ts_ns;    /* the trade's own time */
    uint8_t aggressor;      /* nd_md_side_t */
    bool aggregate;
} nd_md_trade_t;

typedef struct nd_md_book_update {
    const nd_md_level_t *levels; /* decoder-owned; valid during the sink callback */
    uint32_t level_count;
    bool snapshot;               /* replace the whole book with these levels */
    int64_t first_update_id;     /* Binance U; Coinbase sequence */
    int64_t last_update_id;      /* Binance u / lastUpdateId */
} nd_md_book_update_t;

typedef struct nd_md_bbo {
    int64_t bid_px, bid_qty, ask_px, ask_qty;
    int64_t update_id;
} nd_md_bbo_t;

typedef struct nd_md_bar {
    int64_t open_ts_ns, close_ts_ns;
    int64_t open, high, low, close;
    int64_t volume;       /* base asset */
    int64_t quote_volume; /* quote asset */
    int64_t trades;
    char interval[8];     /* "1m" as the venue names it */
    bool closed;          /* the bar is final */
} nd_md_bar_t;

typedef struct nd_md_oracle_price {
    int64_t price;        /* rescaled to ND_VENUE_DECIMALS */
    int32_t decimals;     /* the feed's own decimals */
    uint16_t phase_id;    /* roundId = phase_id << 64 | aggregator_round_id */
    uint64_t aggregator_round_id;
    int64_t started_at_ns, updated_at_ns;
    uint8_t status;       /* 0 fresh; other values are the oracle module's own */
} nd_md_oracle_price_t;

typedef enum nd_md_order_status {
    ND_MD_ORDER_NEW = 0,
    ND_MD_ORDER_PARTIALLY_FILLED = 1,
    ND_MD_ORDER_FILLED = 2,
    ND_MD_ORDER_CANCELED = 3,
    ND_MD_ORDER_REJECTED = 4,
    ND_MD_ORDER_EXPIRED = 5,
    ND_MD_ORDER_PENDING = 6,
    ND_MD_ORDER_OTHER = 7
} nd_md_order_status_t;

/* "new", "partially_filled", "filled", "canceled", "rejected", "expired", "pending", "other". */
const char *nd_md_order_status_name(nd_md_order_status_t status);

typedef struct nd_md_order_update {
    char client_order_id[ND_VENUE_ID_MAX];
    char venue_order_id[ND_VENUE_ID_MAX];
    char exec_type[24];      /* venue's execution type ("TRADE", "TRADE_PREVENTION") */
    char order_type[24];     /* venue's order type ("LIMIT") */
    char fee_asset[16];
    uint8_t side;            /* nd_md_side_t: BID = buy, ASK = sell */
    uint8_t status;          /* nd_md_order_status_t */
    int32_t reject;          /* nd_reject_t when status is REJECTED, else 0 */
    int64_t px, qty;         /* limit price (0 for market) and original quantity */
    int64_t last_px, last_qty;
    int64_t cum_qty, cum_quote;
    int64_t fee;
    int64_t trade_id;        /* -1 when none */
    int64_t last_quote;      /* the fill's quote quantity (Binance "Y"), 0 when absent */
    bool maker;              /* the fill made liquidity (Binance "m"), false when absent */
} nd_md_order_update_t;

typedef struct nd_md_balance {
    char asset[16];
    int64_t free, locked;    /* absolute balances, when !delta */
    int64_t change;          /* signed change, when delta */
    bool delta;
} nd_md_balance_t;

typedef enum nd_md_status_code {
    ND_MD_STATUS_ACK = 0,       /* subscription acknowledged */
    ND_MD_STATUS_SHUTDOWN = 1,  /* the venue will close the connection: reconnect now */
    ND_MD_STATUS_HEARTBEAT = 2,
    ND_MD_STATUS_ERROR = 3,     /* the venue reported an error for a request */
    ND_MD_STATUS_RESULT = 4,    /* a request's result (LIST_SUBSCRIPTIONS ...) */
    ND_MD_STATUS_RESYNC = 5,    /* a local book was discarded (gap): rebuilding from a snapshot */
    ND_MD_STATUS_ORDER_LIST = 6, /* an order list (OCO, OTO, ...) changed state: request_id is
                                 * the list id, text "<contingency> <listStatusType>
                                 * <listOrderStatus> <listClientOrderId>[ reject=<reason>]";
                                 * informational: each member order comes as an ORDER_UPDATE */
    ND_MD_STATUS_LISTEN_KEY_EXPIRED = 7, /* the user data stream's key is gone and nothing more
                                 * arrives on it: create a new key and subscribe again */
    ND_MD_STATUS_STREAM_TERMINATED = 8 /* the venue ended a user data subscription (request_id:
                                 * its subscriptionId, -1 when unknown): subscribe again */
} nd_md_status_code_t;

typedef struct nd_md_status {
    int32_t code;            /* nd_md_status_code_t */
    int64_t request_id;      /* the request id it answers, -1 when none */
    int64_t venue_code;      /* venue error code, when code is ERROR; the subscriptionId of a
                              * Binance WebSocket-API user data subscription ACK */
    char text[96];           /* venue message, truncated */
} nd_md_status_t;

typedef struct nd_md_event {
    nd_md_kind_t kind;
    nd_venue_t venue;
    char symbol[ND_NAME_MAX];  /* venue spelling: "BTCUSDT", "BTC-USD" */
    int64_t venue_ts_ns;       /* venue event time, 0 when absent */
    int64_t recv_ts_ns;        /* local receive time */
    union {
        nd_md_trade_t trade;
        nd_md_book_update_t book;
        nd_md_bbo_t bbo;
        nd_md_bar_t bar;
        nd_md_oracle_price_t oracle;
        nd_md_order_update_t order;
        nd_md_balance_t balance;
        nd_md_status_t status;
    } u;
} nd_md_event_t;

/* A decoder hands each event to a sink; the event lives only during the call. */
typedef void (*nd_md_sink_cb)(void *ctx, const nd_md_event_t *event);

/* Writes an event as one JSON object (no newline) into buf, NUL-terminated. Prices and
 * quantities are decimal strings with ND_VENUE_DECIMALS places ("0.00006547"). Returns the
 * length it needed; the output is truncated when that is >= cap. */
size_t nd_md_event_json(const nd_md_event_t *event, char *buf, size_t cap);

/* ---- Bad input ------------------------------------------------------------------------- */

typedef enum nd_bad_input {
    ND_BAD_MALFORMED = 0,    /* not valid JSON or wrong shape */
    ND_BAD_TRUNCATED = 1,    /* the message ends inside a value */
    ND_BAD_UNKNOWN_TYPE = 2, /* valid but of a kind this decoder does not know */
    ND_BAD_OUT_OF_ORDER = 3, /* sequence went backwards or skipped (gap) */
    ND_BAD_NUMBER = 4,       /* a price/quantity/id that is not an exact decimal in range */
    ND_BAD_MISSING_FIELD = 5,
    ND_BAD_TOO_LARGE = 6,    /* more levels/tokens/bytes than the decoder holds */
    ND_BAD_OUT_OF_RANGE = 7, /* a number that parses but breaks the venue's rule: price <= 0,
                              * trade size <= 0, a negative size */
    ND_BAD_TOO_LONG = 8,     /* a string (symbol, id, type) longer than its field: never cut */
    ND_BAD_BAD_STRING = 9,   /* a string with an escape that is no character (lone surrogate) */
    ND_BAD_UNSORTED = 10,    /* snapshot levels out of the venue's order, or repeated */
    ND_BAD_CROSSED = 11,     /* the levels would leave best bid >= best ask */
    ND_BAD_COUNT = 12
} nd_bad_input_t;

/* "malformed", "truncated", "unknown_type", "out_of_order", "bad_number", "missing_field",
 * "too_large", "out_of_range", "too_long", "bad_string", "unsorted", "crossed". */
const char *nd_bad_input_name(nd_bad_input_t reason);

typedef struct nd_venue_counters {
    nd_venue_t venue;
    uint64_t messages;           /* messages offered to the decoder */
    uint64_t events;             /* normalised events emitted */
    uint64_t bad[ND_BAD_COUNT];  /* rejected messages by reason */
} nd_venue_counters_t;

/* Counts one bad message and logs it at WARN with rate limiting: the first 10 per reason are
 * logged, then every 1000th. detail must not contain secrets; it is cut to 120 bytes. */
void nd_venue_bad(nd_venue_counters_t *counters, nd_bad_input_t reason, const char *detail);
/* Sum of all bad-input counters. */
uint64_t nd_venue_bad_total(const nd_venue_counters_t *counters);

/* ---- Exact decimals -------------------------------------------------------------------- */

/* Parses a plain decimal string ("0.00006547", "-3", "12.") into 10^-decimals units, exactly:
 * extra non-zero digits give ND_EPRECISION, anything else ND_EPARSE, out of int64 ND_EOVERFLOW.
 * Faster than nd_fixed_parse for the hot path; same contract. */
nd_err_t nd_venue_decimal(const char *text, size_t len, int decimals, int64_t *out /* OUT */);
/* Writes value (10^-decimals units) with exactly `shown` fractional digits (0 <= shown <=
 * decimals; digits cut off must be zero, else more are shown). Returns the length; buf needs
 * 24 bytes. */
size_t nd_venue_format(int64_t value, int decimals, int shown, char *buf, size_t cap);
/* Number of fractional digits in a decimal string ("14.7300" -> 4, "7" -> 0). */
int nd_venue_decimal_places(const char *text, size_t len);

/* ---- JSON tokenizer (jsmn-like, strict, no allocation) --------------------------------- */

typedef enum nd_jtype {
    ND_J_OBJECT = 1, ND_J_ARRAY = 2, ND_J_STRING = 3, ND_J_NUMBER = 4,
    ND_J_TRUE = 5, ND_J_FALSE = 6, ND_J_NULL = 7
} nd_jtype_t;

typedef struct nd_jtok {
    uint32_t start, end; /* byte span; for strings, inside the quotes (escapes kept) */
    uint32_t next;       /* index of the token after this value and all its children */
    uint16_t size;       /* objects: number of keys; arrays: number of elements */
    uint8_t type;        /* nd_jtype_t */
    uint8_t escaped;     /* strings: contains a backslash escape */
} nd_jtok_t;

/* Tokenizes exactly one JSON value (surrounding whitespace allowed) into tok[0..*count).
 * Object keys are string tokens followed by their value. Returns ND_OK; ND_EEOF when the text
 * ends inside a value (truncated); ND_EPARSE on invalid JSON or trailing bytes; ND_EFULL when
 * more than cap tokens or nesting deeper than 32. Cost O(len). */
nd_err_t nd_json_tokenize(const char *text, size_t len, nd_jtok_t *tok, uint32_t cap,
                          uint32_t *count /* OUT */);
/* In object token obj, the index of the value of key (plain ASCII, compared raw), or 0 when
 * absent (token 0 is never a value) or when obj is not an object: a sender's array may hold a
 * number where an object belongs, and that is a missing field, never a crash. Cost O(keys). */
uint32_t nd_json_get(const char *text, const nd_jtok_t *tok, uint32_t obj, const char *key);
/* Parses a number token holding an integer into *out; ND_EPARSE/ND_EOVERFLOW otherwise. */
nd_err_t nd_json_int(const char *text, const nd_jtok_t *t, int64_t *out /* OUT */);
/* True when token t is a string equal to s (raw compare). */
bool nd_json_eq(const char *text, const nd_jtok_t *t, const char *s);
/* Copies a string token (raw, escapes kept) into buf with a NUL, truncating; returns length.
 * Only for values that hold no escapes by construction or are informative; a field whose
 * value matters goes through nd_json_string, which never cuts. */
size_t nd_json_copy(const char *text, const nd_jtok_t *t, char *buf, size_t cap);
/* Decodes string token t into buf as UTF-8 with a NUL: every JSON escape (\" \\ \/ \b \f \n
 * \r \t \uXXXX, surrogate pairs joined into one code point). ND_OK with *len (may be NULL)
 * the decoded length; ND_EFULL when the value and its NUL do not fit in cap (buf then holds the
 * longest whole-character prefix: callers that store a field refuse the message, only
 * informative text may keep the prefix); ND_EPARSE when t is not a string or holds a lone or
 * reversed surrogate (\uD800 alone, \uDC00 first). Cost O(token). */
nd_err_t nd_json_string(const char *text, const nd_jtok_t *t, char *buf, size_t cap,
                        size_t *len /* OUT */);

/* ---- Secrets (secret.c) ---------------------------------------------------------------- */

typedef struct nd_secret {
    char api_key[256];
    char api_secret[4096]; /* Coinbase and Binance keys may be PEM (RSA-4096: ~3.3 KB) */
    char passphrase[128];
    bool has_passphrase;
} nd_secret_t;

/* Loads credentials for VENUE ("BINANCE", "COINBASE", "COINBASE_EXCHANGE"): from the
 * environment NODERR_<VENUE>_API_KEY, NODERR_<VENUE>_API_SECRET (and _API_PASSPHRASE), or,
 * when path is not NULL (or NODERR_<VENUE>_SECRETS_FILE is set), from a file of `api_key=`,
 * `api_secret=`, `passphrase=` lines, or a bare PEM private key (then api_secret is the PEM
 * and api_key comes from NODERR_<VENUE>_API_KEY when set), that must be a regular file with
 * mode 0600 or 0400 (anything group/other-accessible is refused). Values never appear in err
 * or logs.
 * ND_ENOTFOUND when nothing is configured, ND_EINVAL for a bad file. */
nd_err_t nd_secret_load(const char *venue, const char *path, nd_secret_t *out /* OUT */,
                        char *err, size_t err_len);
/* Overwrites the secret's memory (explicit_bzero). */
void nd_secret_wipe(nd_secret_t *secret);

/* ---- HTTP client over libcurl (http.c) ------------------------------------------------- */

typedef struct nd_http nd_http_t;

typedef struct nd_http_response {
    long status;       /* HTTP status code */
    char *body;        /* nd_alloc'd, NUL-terminated; freed by nd_http_response_free */
    size_t body_len;
    char *headers;     /* raw header block, NUL-terminated */
    size_t headers_len;
} nd_http_response_t;

/* Creates a client with one reusable connection. timeout_ms bounds each request. The caller
 * destroys it with nd_http_destroy. ND_ENOMEM, or ND_EIO when libcurl fails to start. */
nd_err_t nd_http_create(long timeout_ms, nd_http_t **out /* OUT */);
void nd_http_destroy(nd_http_t *http);
/* Performs one request. method "GET", "POST", "PUT", "DELETE"; headers is a NULL-terminated
 * list of "Name: value" strings (may be NULL); body may be NULL. On ND_OK *out holds the
 * response (any status code; the caller inspects it). ND_EIO on a transport failure with the
 * reason in err (no header values are echoed, so keys never leak). */
nd_err_t nd_http_request(nd_http_t *http, const char *method, const char *url,
                         const char *const *headers, const char *body,
                         nd_http_response_t *out /* OUT */, char *err, size_t err_len);
/* The value of response header name (case-insensitive), copied into buf; false when absent. */
bool nd_http_header(const nd_http_response_t *resp, const char *name, char *buf, size_t cap);
void nd_http_response_free(nd_http_response_t *resp);

/* A non-blocking client on a caller's libuv loop (libcurl's multi interface driven by uv_poll
 * and uv_timer): for requests that must leave from the loop's thread without waiting, e.g.
 * new orders and cancels. Everything is prepared once at create: slot_count easy handles with
 * their options and the fixed headers (headers: NULL-terminated "Name: value" strings, copied),
 * and one kept-alive connection (at most one: transfers leave in the order they were started,
 * each after the previous one's answer). Loop thread only. */
typedef struct nd_http_async nd_http_async_t;
/* The answer of one request, on the loop's thread: rc ND_OK with resp (any status; body and
 * headers valid during the call only, owned by the client), or ND_EIO with the reason in err
 * (resp NULL). */
typedef void (*nd_http_done_cb)(void *ctx, nd_err_t rc, const nd_http_response_t *resp,
                                const char *err);
/* ND_EINVAL (no loop, slot_count 0 or over 64), ND_ENOMEM, ND_EIO (libcurl). */
nd_err_t nd_http_async_create(void *uv_loop, long timeout_ms, const char *const *headers,
                              uint32_t slot_count, nd_http_async_t **out /* OUT */);
/* Starts method on url, with body (copied; sent as application/x-www-form-urlencoded) or none
 * (NULL), and writes its request right away when the connection is free. done_cb is called
 * exactly once, later or before this returns (a failure found at once), unless this returns an
 * error: ND_EFULL (every slot busy), ND_EIO (libcurl refused). */
nd_err_t nd_http_async_request(nd_http_async_t *a, const char *method, const char *url,
                               const char *body, nd_http_done_cb done_cb, void *ctx);
/* Requests started and not yet answered. */
uint32_t nd_http_async_busy(const nd_http_async_t *a);
/* Abandons the requests on their way (no done_cb), closes the connection and the loop's
 * handles; the memory goes in their close callbacks, so the loop must run once more. */
void nd_http_async_close(nd_http_async_t *a);

/* ---- WebSocket client over libwebsockets (ws.c) ---------------------------------------- */

typedef struct nd_ws nd_ws_t;

typedef struct nd_ws_config {
    const char *url;              /* "wss://host:port/path?query" or "ws://..." */
    const char *ca_file;          /* NULL: system store */
    uint64_t seed;                /* backoff jitter */
    int64_t backoff_min_ns;       /* first retry delay (default 1 s when 0) */
    int64_t backoff_max_ns;       /* cap (default 60 s when 0) */
    int64_t max_age_ns;           /* reconnect proactively after this (0: never) */
    int32_t send_per_sec_max;     /* outgoing text messages per second (0: unlimited) */
    int32_t connects_per_window_max; /* connection attempts per window (0: unlimited) */
    int64_t connect_window_ns;
    /* A libuv loop (uv_loop_t *) to run on instead of libwebsockets' own: sockets are then
     * served by that loop, and nd_ws_service(ws, 0) only runs the reconnect, max-age and
     * send-budget timers (call it from a loop timer). NULL: the client's own loop. */
    void *uv_loop;
} nd_ws_config_t;

typedef struct nd_ws_callbacks {
    void (*open_cb)(void *ctx, nd_ws_t *ws);   /* connected: (re)subscribe here */
    void (*message_cb)(void *ctx, const char *data, size_t len, int64_t recv_ns);
    void (*close_cb)(void *ctx, int code, int64_t retry_in_ns); /* lost; retrying after delay */
    void *ctx;
} nd_ws_callbacks_t;

/* Creates a client and starts connecting. Pings from the server are answered with a pong
 * carrying the ping's payload. After any close or error it reconnects after an exponential
 * backoff with jitter (nd_ws_backoff_ns), and calls open_cb again. clock stamps recv_ns. */
nd_err_t nd_ws_create(const nd_ws_config_t *config, const nd_ws_callbacks_t *callbacks,
                      const nd_clock_t *clock, nd_ws_t **out /* OUT */, char *err, size_t err_len);
/* Runs the event loop for up to timeout_ms (0: one non-blocking pass). */
nd_err_t nd_ws_service(nd_ws_t *ws, int timeout_ms);
/* Queues a text message (copied); sent as the send rate limit allows. ND_EFULL when the queue
 * (64 messages) is full, ND_ESTATE when not connected. */
nd_err_t nd_ws_send(nd_ws_t *ws, const char *text, size_t len);
/* Closes the current connection and reconnects at once (serverShutdown, stale feed). */
void nd_ws_reconnect(nd_ws_t *ws);
/* Connections opened so far (1 after the first open). */
uint32_t nd_ws_connects(const nd_ws_t *ws);
bool nd_ws_connected(const nd_ws_t *ws);
void nd_ws_destroy(nd_ws_t *ws);
/* Routes libwebsockets' errors and warnings into ND_LOG (its notices are left out). Every
 * libwebsockets context of the process (these clients, the HTTP server of httpd.h) calls it
 * before it is created. */
void nd_ws_log_init(void);
/* ---- Destroying a libwebsockets context on a shared libuv loop (lws_teardown.c) -------------
 * libwebsockets 4.1, on a foreign libuv loop, closes what a destroyed context holds twice: each
 * socket and the context's own event descriptor are closed in lws_context_destroy and again in
 * their watchers' close callbacks, loop passes later. A descriptor opened in between anywhere
 * in the process (a connection another server on the loop accepts, another thread's REST socket
 * or file) takes the same number and is closed behind its owner's back; libuv aborted on it
 * (epoll_ctl: EBADF: a live launch exiting 134 after its feed restarted). So the connections are
 * closed first, as a peer's leaving closes them (once, in the watcher's close callback), and the
 * context's other descriptors are held by a placeholder of ours between the two closes. */
struct lws_context;
typedef struct nd_lws_teardown {
    void **conns; /* the context's connections (struct lws *), from creation to free */
    size_t count, cap;
    int own_fds[4]; /* the context's descriptors that are not sockets (its event descriptor) */
    int own_count;
    int *seen;      /* before creation: the loop's descriptors (between the two calls only) */
    size_t seen_count;
} nd_lws_teardown_t;

/* Called just before and just after lws_create_context on uv_loop (uv_loop_t *): notes the
 * descriptors that are not sockets which the context added to the loop. */
void nd_lws_teardown_before_create(nd_lws_teardown_t *t, void *uv_loop);
void nd_lws_teardown_after_create(nd_lws_teardown_t *t, void *uv_loop);
/* From the context's callback on LWS_CALLBACK_WSI_CREATE (created) and _DESTROY. A connection
 * that cannot be noted (no memory) is left to the context's destroy. */
void nd_lws_teardown_track(nd_lws_teardown_t *t, void *wsi, bool created);
/* Closes the connections, destroys ctx, runs uv_loop until libwebsockets' handles are closed,
 * and frees what t holds. `who` names the context in a warning (connections that did not close
 * in time, a number taken by another thread before it could be held). */
void nd_lws_context_destroy(struct lws_context *ctx, nd_lws_teardown_t *t, void *uv_loop,
                            const char *who);
/* Backoff before retry `attempt` (0-based): attempt 0 (the first retry after a connection that
 * worked at least a second) is uniform in [0, min_ns / 4); attempt k >= 1 is
 * min(max, min_ns * 2^(k-1)) scaled by a uniform jitter factor in [0.5, 1.0). Pure apart from
 * rng. */
int64_t nd_ws_backoff_ns(nd_rand_t *rng, uint32_t attempt, int64_t min_ns, int64_t max_ns);

/* A venue's market-data decoder as a table, so one command drives every venue's decoder
 * (binance.h nd_binance_decoder_ops, coinbase.h nd_coinbase_decoder_ops and
 * nd_coinbase_exchange_decoder_ops). */
typedef struct nd_md_decoder_ops {
    nd_err_t (*create)(void **decoder /* OUT */);
    nd_err_t (*decode)(void *decoder, const char *msg, size_t len, int64_t recv_ns,
                       nd_md_sink_cb sink, void *ctx);
    const nd_venue_counters_t *(*counters)(const void *decoder);
    void (*destroy)(void *decoder);
} nd_md_decoder_ops_t;

typedef struct nd_replay_result {
    char status[16];           /* "ok", "resync", ... */
    int64_t final_update_id;   /* -1 when the venue has no update ids */
    uint64_t events_applied;
    uint64_t events_dropped;
    int px_shown, qty_shown;   /* fractional digits to print prices and quantities with */
    uint64_t events_other_symbol; /* book messages for another symbol/product: not applied */
    uint64_t messages_bad;     /* messages refused by the decoder or the book (by reason in
                                * the counters), included in events_dropped for Coinbase */
    char reason[96];           /* why status is not "ok", "" when it is */
} nd_replay_result_t;

#endif
