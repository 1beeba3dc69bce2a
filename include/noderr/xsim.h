/* xsim.h: the local exchange behind `noderr exchange-sim` (src/xsim/).
 *
 * Three layers, each usable alone:
 *  - the matching engine (xsim_book.c): one price-time-priority limit order book per symbol in the
 *    instrument's integer units; an incoming order matches against the opposite side best price
 *    first and, at one price, oldest first; what is left may rest. Every fill names its maker and
 *    taker and carries a trade id from the book's own counter. Deterministic: no clock, no
 *    randomness, the same calls give the same fills.
 *  - the exchange (xsim_exchange.c): the book, driven by a market source whose levels are resting
 *    orders of the "market" account (ND_XSIM_ACCOUNT_MARKET), and one user account with balances
 *    (free and locked per asset) that orders lock and fills move, with commission.
 *  - Binance Spot REST (xsim_binance.c) on a libuv HTTP/1.1 server bound to 127.0.0.1
 *    (xsim_server.c): Binance's paths, parameters, JSON, HMAC-SHA256 request signatures, the
 *    timestamp/recvWindow rule, request weights with 429 and 418, listenKeys.
 *  - WebSocket (xsim_frame.c, xsim_ws.c) on the same server: Binance's market streams and the
 *    user data stream (xsim_stream.c), fed by the exchange's listener; the admin fault API
 *    (xsim_admin.c). docs/exchange-sim.md.
 *
 * The market source is the synthetic market or a replayed recording, with its own clock (the
 * recording's times, at a speed); REST time checks use the injected clock. Time comes only from
 * the injected nd_clock_t. */
#ifndef NODERR_XSIM_H
#define NODERR_XSIM_H

#include "noderr/clock.h"
#include "noderr/err.h"
#include "noderr/fixed.h"
#include "noderr/market.h"
#include "noderr/order.h"
#include "noderr/ticks.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Resting orders per book (market levels and user orders together). A synthetic or replayed
 * market keeps at most a few thousand levels; user orders beyond that are rejected. */
#define ND_XSIM_ORDERS_MAX 65536
/* Request size the server reads (request line, headers and body together). */
#define ND_XSIM_REQUEST_MAX 16384
/* Open client connections. */
#define ND_XSIM_CONNECTIONS_MAX 256
/* A connection that sends nothing for this long is closed (a half-sent request included). */
#define ND_XSIM_IDLE_NS (60 * ND_NS_PER_SEC)

/* A client WebSocket message (SUBSCRIBE and friends are small; Binance closes far earlier). */
#define ND_XSIM_WS_MESSAGE_MAX 65536
/* Bytes waiting to be written to one stream client before it is disconnected as too slow. */
#define ND_XSIM_WS_SEND_QUEUE_MAX (8u << 20)
/* Server pings (Binance: every 20 s, dropped without a pong within 1 minute). */
#define ND_XSIM_WS_PING_NS (20 * ND_NS_PER_SEC)
#define ND_XSIM_WS_PONG_TIMEOUT_NS (60 * ND_NS_PER_SEC)
/* Messages a stream client may send per second (pings, pongs and requests count), as Binance
 * allows; one more and it is disconnected (1008). */
#define ND_XSIM_WS_MESSAGES_PER_SEC 5
/* A listenKey lapses this long after its creation or last keep-alive (Binance: 60 min). */
#define ND_XSIM_LISTEN_KEY_TTL_NS (60 * ND_NS_PER_MIN)

#define ND_XSIM_ACCOUNT_MARKET 0u /* the market source's liquidity */
#define ND_XSIM_ACCOUNT_USER 1u   /* the API key's account */

/* ---- Matching engine (xsim_book.c) ------------------------------------------------------- */

typedef struct nd_xsim_order {
    int64_t id;          /* unique within the book, > 0 */
    uint32_t account;    /* ND_XSIM_ACCOUNT_* */
    nd_side_t side;
    int64_t px;          /* limit price in price units, > 0 (resting orders always have one) */
    int64_t qty;         /* remaining quantity in quantity units */
    int64_t seq;         /* arrival order: the time priority (set by the book) */
} nd_xsim_order_t;

typedef struct nd_xsim_fill {
    int64_t trade_id;        /* > 0, increasing */
    int64_t px;              /* the maker's price */
    int64_t qty;             /* > 0 */
    nd_xsim_order_t maker;   /* the maker after the fill (qty is what it has left) */
    int64_t taker_id;
    uint32_t taker_account;
    nd_side_t taker_side;
} nd_xsim_fill_t;

typedef void (*nd_xsim_fill_cb)(void *ctx, const nd_xsim_fill_t *fill);

typedef struct nd_xsim_book nd_xsim_book_t;

nd_err_t nd_xsim_book_create(nd_xsim_book_t **out /* OUT */);
void nd_xsim_book_destroy(nd_xsim_book_t *book);

/* Matches taker (its px is the limit; 0 for no limit) against the opposite side: price first,
 * then time. Fills where both sides are the market account are applied but not reported
 * (the market source trading with itself). *filled is the quantity matched; the caller decides
 * whether the remainder rests (nd_xsim_book_add), expires or is cancelled. */
void nd_xsim_book_match(nd_xsim_book_t *book, const nd_xsim_order_t *taker,
                        int64_t *filled /* OUT */, nd_xsim_fill_cb fill_cb, void *ctx);
/* The next public trade id, at least at_least: every trade the exchange prints (a fill of a user
 * order, a trade of the market source) takes one, so the @trade stream numbers trades in one
 * increasing sequence as Binance does per symbol; a replay passes its recorded id, kept while no
 * user fill came in between (then the sequence continues past it). */
int64_t nd_xsim_book_take_trade_id(nd_xsim_book_t *book, int64_t at_least);
/* What matching would do without doing it: the quantity fillable up to qty_max at the limit px
 * (0: none) and its cost in sum(px * qty) price*quantity units (a 128-bit value), stopping early
 * when the cost would exceed cost_max (> 0) so that a quote amount can be spent. */
void nd_xsim_book_probe(const nd_xsim_book_t *book, nd_side_t side, int64_t px, int64_t qty_max,
                        __int128 cost_max, int64_t *qty /* OUT */, __int128 *cost /* OUT */);
/* Rests order (qty > 0, px > 0, not crossing the opposite best) at the back of its price.
 * ND_EFULL at ND_XSIM_ORDERS_MAX, ND_EINVAL if it would cross or the id is in use. */
nd_err_t nd_xsim_book_add(nd_xsim_book_t *book, const nd_xsim_order_t *order);
/* Removes a resting order; *out (may be NULL) receives it. ND_ENOTFOUND. */
nd_err_t nd_xsim_book_cancel(nd_xsim_book_t *book, int64_t id, nd_xsim_order_t *out /* OUT */);
/* The resting order with that id, or NULL. */
const nd_xsim_order_t *nd_xsim_book_find(const nd_xsim_book_t *book, int64_t id);
/* Best price of a side, 0 when empty. */
int64_t nd_xsim_book_best(const nd_xsim_book_t *book, nd_side_t side);
/* Resting orders of a side best first (price, then time); index < count. */
size_t nd_xsim_book_count(const nd_xsim_book_t *book, nd_side_t side);
const nd_xsim_order_t *nd_xsim_book_at(const nd_xsim_book_t *book, nd_side_t side, size_t index);
/* Sets the market account's quantity at px on a side (0 removes it): a level update of the
 * market source. New liquidity that crosses the opposite side first trades against it as a
 * taker (user orders there fill as makers), then rests at the back of its price. */
nd_err_t nd_xsim_book_set_level(nd_xsim_book_t *book, nd_side_t side, int64_t px, int64_t qty,
                                nd_xsim_fill_cb fill_cb, void *ctx);
/* Checks every invariant (sorted, FIFO by seq at a price, not crossed, positive quantities):
 * true when they hold. O(n). */
bool nd_xsim_book_check(const nd_xsim_book_t *book);

/* ---- Exchange (xsim_exchange.c) ----------------------------------------------------------- */

typedef enum nd_xsim_status {
    ND_XSIM_NEW = 0,
    ND_XSIM_PARTIALLY_FILLED = 1,
    ND_XSIM_FILLED = 2,
    ND_XSIM_CANCELED = 3,
    ND_XSIM_EXPIRED = 4,
    ND_XSIM_REJECTED = 5
} nd_xsim_status_t;

typedef enum nd_xsim_type { ND_XSIM_LIMIT = 0, ND_XSIM_MARKET = 1, ND_XSIM_LIMIT_MAKER = 2 } nd_xsim_type_t;
typedef enum nd_xsim_tif { ND_XSIM_GTC = 0, ND_XSIM_IOC = 1, ND_XSIM_FOK = 2 } nd_xsim_tif_t;

/* A user order as the exchange keeps it (open and closed). */
typedef struct nd_xsim_user_order {
    int64_t id;
    char client_id[37];
    nd_side_t side;
    nd_xsim_type_t type;
    nd_xsim_tif_t tif;
    int64_t px;             /* 0 for MARKET */
    int64_t orig_qty;
    int64_t executed_qty;
    int64_t cum_quote;      /* cash units */
    int64_t locked;         /* what is still locked: quote cash units (BUY) or base qty (SELL) */
    nd_xsim_status_t status;
    int64_t time_ns, update_ns;
} nd_xsim_user_order_t;

typedef struct nd_xsim_trade {
    int64_t id, order_id;
    int64_t px, qty, quote_qty;   /* quote_qty in cash units */
    int64_t commission;           /* in commission_asset's units */
    bool is_buyer, is_maker, commission_in_base;
    int64_t time_ns;
} nd_xsim_trade_t;

/* The market source. Replayed files keep their own timestamps: the market's clock starts at
 * the first event and runs at `speed` times the injected clock (docs/exchange-sim.md). */
typedef struct nd_xsim_replay {
    const char *trades_path;      /* Binance trades CSV / archive (nd_ticks_open), or NULL */
    const char *quotes_path;      /* bookTicker CSV / archive, or NULL */
    const char *depth_dir;        /* a recorded depth session (nd_depth_session_open), or NULL */
    int64_t speed_e3;             /* market ms per wall ms, x1000: 1000 = real time; 0 = 1000 */
    bool speed_max;               /* as fast as the server steps it (nd_xsim_step) */
    bool loop;                    /* at the end, start again (times shifted to keep increasing) */
    bool start_now;               /* false: the replay waits for its first market-stream client */
} nd_xsim_replay_t;

typedef struct nd_xsim_config {
    nd_instrument_t inst;         /* scales, tick, lot, min notional */
    int64_t quote_balance;        /* starting free quote, cash units */
    int64_t base_balance;         /* starting free base, quantity units */
    int64_t fee_bps;              /* commission per fill, basis points of what is received */
    bool fee_in_quote;            /* Coinbase: every fill's commission is in the quote asset,
                                   * basis points of its notional (a buy locks and pays notional
                                   * plus fee); false: Binance, in the asset received */
    nd_synth_ticks_config_t synth;/* the market source when no replay file is given */
    nd_xsim_replay_t replay;      /* paths borrowed for nd_xsim_create only */
} nd_xsim_config_t;

/* What the exchange tells its streams (xsim_stream.c), all on the caller's thread:
 *  - before_cb: a market event of time ts_ns is about to be applied (flush what is older);
 *  - level_cb: the total quantity at px on a side may have changed;
 *  - update_cb: one book-changing action is complete; update_id is the new book id; flags
 *    ND_XSIM_UPDATE_QUOTE (a replayed bookTicker row: its top is published even when equal to
 *    the last) or ND_XSIM_UPDATE_NO_TOP (a replayed trade while quotes are replayed: the
 *    liquidity it consumed shows in depth, the recorded quotes alone make bookTicker);
 *  - trade_cb: a public trade (a replayed one, or a fill of the user's order);
 *  - order_cb: a user order changed: exec is "NEW", "TRADE" (fill set), "CANCELED",
 *    "EXPIRED", "REJECTED"; balances may have changed after it. */
typedef struct nd_xsim_public_trade {
    int64_t id, px, qty, ts_ns;
    bool buyer_is_maker;
} nd_xsim_public_trade_t;

#define ND_XSIM_UPDATE_QUOTE 0x1u
#define ND_XSIM_UPDATE_NO_TOP 0x2u

typedef struct nd_xsim_listener {
    void (*before_cb)(void *ctx, int64_t ts_ns);
    void (*level_cb)(void *ctx, nd_side_t side, int64_t px);
    void (*update_cb)(void *ctx, int64_t update_id, int64_t ts_ns, unsigned flags);
    void (*trade_cb)(void *ctx, const nd_xsim_public_trade_t *trade);
    void (*order_cb)(void *ctx, const struct nd_xsim_user_order *order, const char *exec,
                     const struct nd_xsim_trade *fill);
    void *ctx;
} nd_xsim_listener_t;

/* The new order request, parsed. */
typedef struct nd_xsim_new_order {
    char client_id[37];          /* "" to let the exchange make one */
    nd_side_t side;
    nd_xsim_type_t type;
    nd_xsim_tif_t tif;
    int64_t px, qty;             /* qty 0 with quote_qty for MARKET quoteOrderQty */
    int64_t quote_qty;           /* cash units */
} nd_xsim_new_order_t;

typedef enum nd_xsim_reject {
    ND_XSIM_OK = 0,
    ND_XSIM_REJ_PRICE_FILTER = 1,
    ND_XSIM_REJ_LOT_SIZE = 2,
    ND_XSIM_REJ_NOTIONAL = 3,
    ND_XSIM_REJ_BALANCE = 4,
    ND_XSIM_REJ_WOULD_TAKE = 5,  /* LIMIT_MAKER that would match */
    ND_XSIM_REJ_NO_LIQUIDITY = 6,/* MARKET with nothing to match */
    ND_XSIM_REJ_FULL = 7,
    ND_XSIM_REJ_DUPLICATE = 8    /* clientOrderId of an open order */
} nd_xsim_reject_t;

typedef struct nd_xsim nd_xsim_t;

/* Opens the exchange at now_ns (the market source's start). err names why. */
nd_err_t nd_xsim_create(const nd_xsim_config_t *cfg, int64_t now_ns, nd_xsim_t **out /* OUT */,
                        char *err, size_t err_len);
void nd_xsim_destroy(nd_xsim_t *x);
const nd_xsim_config_t *nd_xsim_config(const nd_xsim_t *x);
/* Applies every market-source event up to now_ns; returns how many. */
int64_t nd_xsim_advance(nd_xsim_t *x, int64_t now_ns);
/* Places a user order at now_ns: ND_XSIM_OK with *out_id (the order, possibly already closed),
 * or the reject. Fills are recorded as trades. */
nd_xsim_reject_t nd_xsim_place(nd_xsim_t *x, const nd_xsim_new_order_t *req, int64_t now_ns,
                               int64_t *out_id /* OUT */);
/* Records a request refused by a fault hook as a REJECTED order (its executionReport goes to
 * the user stream); returns its id (0 when full). */
int64_t nd_xsim_record_reject(nd_xsim_t *x, const nd_xsim_new_order_t *req, int64_t now_ns);
/* Cancels an open user order: ND_OK, ND_ENOTFOUND (unknown or closed). */
nd_err_t nd_xsim_cancel(nd_xsim_t *x, int64_t id, int64_t now_ns);
/* User orders: every one ever placed, by id (1..count). NULL when unknown. */
const nd_xsim_user_order_t *nd_xsim_order(const nd_xsim_t *x, int64_t id);
const nd_xsim_user_order_t *nd_xsim_order_by_client_id(const nd_xsim_t *x, const char *client_id);
int64_t nd_xsim_order_count(const nd_xsim_t *x);
/* The user's trades, oldest first. */
size_t nd_xsim_trade_count(const nd_xsim_t *x);
const nd_xsim_trade_t *nd_xsim_trade_at(const nd_xsim_t *x, size_t index);
/* Balances: base in quantity units, quote in cash units. */
void nd_xsim_balances(const nd_xsim_t *x, int64_t *base_free, int64_t *base_locked,
                      int64_t *quote_free, int64_t *quote_locked);
const nd_xsim_book_t *nd_xsim_book(const nd_xsim_t *x);
/* The book id (the depth lastUpdateId): one more for every market event and every user action
 * that changed the book. */
int64_t nd_xsim_update_id(const nd_xsim_t *x);
/* Sets (or clears with NULL) the listener; one at a time. */
void nd_xsim_set_listener(nd_xsim_t *x, const nd_xsim_listener_t *listener);
/* The market's clock: the time of the last event applied (replay: the recording's time). */
int64_t nd_xsim_market_ns(const nd_xsim_t *x);
/* True when the market source is at its end (a replay without --loop, or a bad row: then
 * nd_xsim_source_error says "PATH:LINE: reason"). */
bool nd_xsim_source_done(const nd_xsim_t *x);
const char *nd_xsim_source_error(const nd_xsim_t *x);
/* Speed max: applies up to count market events now; returns how many. */
int64_t nd_xsim_step(nd_xsim_t *x, int64_t count);
/* Starts a replay held for its first stream client (no-op otherwise): its clock runs from now. */
void nd_xsim_start(nd_xsim_t *x, int64_t now_ns);
bool nd_xsim_speed_max(const nd_xsim_t *x);
/* Fault hooks (the admin API): the next count orders are rejected with code (a Binance code
 * such as -2010 or -1013); partial fills only (each fill of a user order is at most half what
 * the match would give, at least one lot); market updates stopped until stale_until_ns (wall). */
void nd_xsim_fault_reject(nd_xsim_t *x, int64_t count, int64_t code);
/* Takes one pending forced reject: true with *code when the next order must be refused. */
bool nd_xsim_fault_take_reject(nd_xsim_t *x, int64_t *code /* OUT */);
void nd_xsim_fault_partial(nd_xsim_t *x, bool on);
void nd_xsim_fault_stale(nd_xsim_t *x, int64_t until_wall_ns);
/* Market-event faults (the chaos suite's; docs/exchange-sim.md):
 * spike: one public trade print pct% off the mid (the book is not touched);
 * crash: the market source's prices follow a path from now_ns: down pct% (pct < 0) over ms,
 *        then back up half of the fall over the next ms, then held; pct 0 ends it;
 * thin:  the market's book is cleared and rebuilt from the next events with depth_pct% of the
 *        source's quantities and every level's distance from the current mid multiplied by
 *        spread_x (the spread widens that many times); (100, 1) ends it. */
void nd_xsim_fault_spike(nd_xsim_t *x, int64_t pct);
void nd_xsim_fault_crash(nd_xsim_t *x, int64_t pct, int64_t ms, int64_t now_ns);
void nd_xsim_fault_thin(nd_xsim_t *x, int64_t depth_pct, int64_t spread_x);

/* ---- Binance Spot REST (xsim_binance.c) -------------------------------------------------- */

typedef struct nd_xsim_auth nd_xsim_auth_t;

typedef struct nd_xsim_api_config {
    const char *api_key, *api_secret; /* borrowed for the API's life */
    int64_t weight_limit;             /* request weight per minute (Binance: 6000) */
    int64_t bans_after;               /* 429s in one minute before a 418 ban (default 3) */
    int64_t listen_key_ttl_ns;        /* 0: ND_XSIM_LISTEN_KEY_TTL_NS */
    uint64_t seed;                    /* listenKeys are drawn from an nd_rand_t of this seed */
    const char *admin_token;          /* bearer token of POST /admin/fault; NULL: no admin API */
    const nd_xsim_auth_t *auth;       /* the key's Ed25519 or RSA public key (borrowed);
                                       * NULL: HMAC-SHA256 with api_secret */
    int venue;                        /* ND_XSIM_VENUE_*: the protocol served */
    const char *cb_public_key_pem;    /* Coinbase: the P-256 public key that verifies the ES256
                                       * JWTs of api_key (the key name "organizations/../apiKeys/..");
                                       * borrowed */
    int64_t cb_page_max;              /* Coinbase: the most orders or fills one page of
                                       * /orders/historical/{batch,fills} lists, whatever the
                                       * limit asked (0: 1000, as Coinbase's cap) */
} nd_xsim_api_config_t;

/* The protocol exchange-sim speaks (one per server; docs/exchange-sim.md). */
#define ND_XSIM_VENUE_BINANCE 0
#define ND_XSIM_VENUE_COINBASE 1

typedef struct nd_xsim_request {
    const char *method;               /* "GET", "POST", "DELETE", "PUT" */
    const char *path;                 /* "/api/v3/order" */
    const char *query; size_t query_len;  /* raw, without '?' */
    const char *body; size_t body_len;    /* raw application/x-www-form-urlencoded */
    const char *api_key;              /* X-MBX-APIKEY or NULL */
    const char *authorization;        /* Coinbase: the Authorization header or NULL */
    const char *host;                 /* the Host header or NULL (Coinbase's JWT uri claim) */
} nd_xsim_request_t;

typedef struct nd_xsim_response {
    int status;                       /* HTTP status */
    char *body;                       /* nd_alloc'd JSON; nd_free it */
    size_t body_len;
    int64_t used_weight;              /* X-MBX-USED-WEIGHT-1M */
    int64_t retry_after_s;            /* Retry-After when > 0 (429, 418) */
    const char *content_type;         /* NULL: JSON (Coinbase answers a refused JWT in text) */
    bool no_weight;                   /* no X-MBX-USED-WEIGHT-1M header (Coinbase) */
} nd_xsim_response_t;

typedef struct nd_xsim_api nd_xsim_api_t;

nd_err_t nd_xsim_api_create(nd_xsim_t *x, const nd_xsim_api_config_t *cfg, nd_xsim_api_t **out /* OUT */);
void nd_xsim_api_destroy(nd_xsim_api_t *api);
/* Handles one request at now_ns (advancing the market to it first). ND_ENOMEM only. */
nd_err_t nd_xsim_api_handle(nd_xsim_api_t *api, const nd_xsim_request_t *req, int64_t now_ns,
                            nd_xsim_response_t *resp /* OUT */);

/* ---- API-key authentication (xsim_auth.c) -------------------------------------------------
 * An API key is registered with one of Binance's key types: HMAC (the shared secret) or the
 * public half of an Ed25519 or RSA key, and signed endpoints verify the signature by that type
 * (-1022 when it does not verify). */

/* Parses a PEM public key ("-----BEGIN PUBLIC KEY-----") of key_type (nd_binance_key_type_t:
 * 1 Ed25519, 2 RSA of 2048-4096 bits). ND_EINVAL with the reason in err: not PEM, a private key
 * (register the public half), another type than asked. Destroy with nd_xsim_auth_destroy. */
nd_err_t nd_xsim_auth_create(int key_type, const char *pem, size_t len,
                             nd_xsim_auth_t **out /* OUT */, char *err, size_t err_len);
void nd_xsim_auth_destroy(nd_xsim_auth_t *auth);
/* True when signature (the decoded `signature` parameter) signs payload = head then tail (the
 * query string and the body before the signature) for the key in cfg: 64 hex digits of
 * HMAC-SHA256 with api_secret (case-insensitive, compared in constant time) when cfg->auth is
 * NULL, else padded standard base64 of an Ed25519 signature or of RSASSA-PKCS1-v1_5 with
 * SHA-256, verified with the public key. */
bool nd_xsim_auth_verify(const nd_xsim_api_config_t *cfg, const char *head, size_t head_len,
                         const char *tail, size_t tail_len, const char *signature);

/* ---- Coinbase Advanced Trade (xsim_coinbase.c, xsim_cbstream.c) --------------------------
 * With nd_xsim_api_config_t.venue ND_XSIM_VENUE_COINBASE the server speaks Coinbase Advanced
 * Trade instead of Binance: REST under /api/v3/brokerage with ES256 JWTs of the key name
 * api_key, verified with cb_public_key_pem, and the WebSocket channels on any path. */

/* Checks that pem (len bytes) is the PEM public key of a P-256 (ES256) key: ND_EINVAL with the
 * reason in err otherwise (a private key: register the public half). */
nd_err_t nd_xsim_cb_key_check(const char *pem, size_t len, char *err, size_t err_len);

/* ---- Server (xsim_server.c) --------------------------------------------------------------- */

typedef struct nd_xsim_server nd_xsim_server_t;

typedef struct nd_xsim_server_config {
    const char *bind;      /* "127.0.0.1" unless the operator asked otherwise */
    int port;              /* 0: the system picks one */
    int64_t market_step_ns;/* how often the market source is advanced to the clock */
    nd_clock_t *clock;
    int64_t ping_interval_ns;  /* 0: ND_XSIM_WS_PING_NS */
    int64_t pong_timeout_ns;   /* 0: ND_XSIM_WS_PONG_TIMEOUT_NS */
    size_t send_queue_max;     /* 0: ND_XSIM_WS_SEND_QUEUE_MAX */
    bool metrics;              /* GET /metrics: Prometheus metrics (docs/monitoring.md) */
} nd_xsim_server_config_t;

/* Binds and listens; *port_out is the port bound. The server owns nothing it is given. */
nd_err_t nd_xsim_server_open(nd_xsim_api_t *api, nd_xsim_t *x, const nd_xsim_server_config_t *cfg,
                             nd_xsim_server_t **out /* OUT */, int *port_out /* OUT */,
                             char *err, size_t err_len);
/* Runs the event loop until SIGINT or SIGTERM (or nd_xsim_server_stop). */
nd_err_t nd_xsim_server_run(nd_xsim_server_t *s);
/* Makes nd_xsim_server_run return; safe from any thread (the loop must have been opened). */
void nd_xsim_server_stop(nd_xsim_server_t *s);
void nd_xsim_server_close(nd_xsim_server_t *s);

#endif
