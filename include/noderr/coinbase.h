/* coinbase.h: Coinbase connectors: Advanced Trade (WebSocket market data, REST orders, ES256
 * JWT) and Coinbase Exchange (the institutional API: WebSocket feed, CB-ACCESS-SIGN signing and
 * the level2 book).
 *
 * Protocol facts: ../shared/PROTOCOLS.md section B. Prices and quantities become int64 at
 * ND_VENUE_DECIMALS through the exact decimal parser of venue.h; a value that does not fit is a
 * bad input (counted by reason), never rounded. Secrets (the Exchange base64 secret, the
 * Advanced Trade PEM key) are passed in by the caller and never written to errors or logs.
 * Nothing here reads the clock: callers pass now (JWT) and receive times. */
#ifndef NODERR_COINBASE_H
#define NODERR_COINBASE_H

#include "noderr/book.h"
#include "noderr/clock.h"
#include "noderr/err.h"
#include "noderr/exec_venue.h"
#include "noderr/reconcile.h"
#include "noderr/venue.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --- Coinbase Exchange REST signing --------------------------------------------------------- */

/* base64 of a 32-byte HMAC is 44 characters plus the NUL. */
#define ND_COINBASE_SIGN_MAX 48

/* CB-ACCESS-SIGN = base64(HMAC-SHA256(base64decode(secret_b64), timestamp + method +
 * request_path + body)); body may be NULL (GET). Writes the 44-character base64 and a NUL into
 * out (cap >= ND_COINBASE_SIGN_MAX, else ND_EFULL). ND_EINVAL when the secret is not valid
 * base64 (err never repeats the secret). This is also the CLI hook of venue.h. */
nd_err_t nd_coinbase_exchange_sign(const char *secret_b64, const char *timestamp,
                                   const char *method, const char *request_path, const char *body,
                                   char *out, size_t cap, char *err, size_t err_len);

/* --- Advanced Trade JWT (ES256) ------------------------------------------------------------- */

#define ND_COINBASE_JWT_MAX 1024
#define ND_COINBASE_JWT_LIFETIME_S 120

typedef struct nd_coinbase_jwt_params {
    const char *key_name;  /* "organizations/{org}/apiKeys/{id}": header kid and claim sub */
    const char *method;    /* "GET"; NULL with path NULL for a WebSocket JWT (no uri claim) */
    const char *host;      /* "api.coinbase.com" (with ":port" when not 443) */
    const char *path;      /* "/api/v3/brokerage/accounts", no query string */
    int64_t now_s;         /* nbf; exp = nbf + ND_COINBASE_JWT_LIFETIME_S */
    const char *nonce_hex; /* NULL: 16 random bytes from OpenSSL's CSPRNG, as hex */
} nd_coinbase_jwt_params_t;

/* Builds header.payload.signature with header {"alg":"ES256","kid":..,"nonce":..,"typ":"JWT"}
 * and claims {"sub":..,"iss":"cdp","nbf":..,"exp":..,"uri":"METHOD host/path"}, signed with the
 * P-256 private key in private_key_pem (SEC1 "EC PRIVATE KEY" or PKCS#8); the DER signature from
 * OpenSSL is converted to the raw 64-byte r||s that JWS requires. ND_EINVAL for a key that is
 * not P-256, ND_EFULL when cap is too small. */
nd_err_t nd_coinbase_jwt_es256(const char *private_key_pem, const nd_coinbase_jwt_params_t *params,
                               char *out, size_t cap, char *err, size_t err_len);

/* Verifies an ES256 JWT with a PEM public (or private) key and copies the decoded payload JSON
 * into payload (NUL-terminated). ND_EPARSE for a malformed token, ND_EINVAL for a bad signature.
 * Used by tests and by anyone checking a token before it goes out. */
nd_err_t nd_coinbase_jwt_verify(const char *jwt, const char *key_pem, char *payload, size_t cap,
                                char *err, size_t err_len);

/* base64url without padding; out needs 4*ceil(len/3)+1 bytes. Returns the length. */
size_t nd_coinbase_b64url(const uint8_t *data, size_t len, char *out, size_t cap);

/* --- Decoders: JSON message in, normalised events out --------------------------------------- */

/* Levels one message may carry (a level2 snapshot of a busy product has tens of thousands). */
#define ND_COINBASE_LEVELS_MAX 65536
/* JSON tokens one message may hold. */
#define ND_COINBASE_TOKENS_MAX (4 * ND_COINBASE_LEVELS_MAX + 256)

typedef struct nd_coinbase_decoder {
    nd_venue_counters_t counters; /* read-only: messages, events, bad inputs by reason */
    int64_t last_sequence_num;    /* Advanced Trade envelope sequence_num; -1 before the first */
    uint64_t gaps;                /* sequence_num gaps seen */
    bool resubscribe_needed;      /* set on a gap; the connection resubscribes and clears it */
    int msg_px_places;            /* most fractional digits of a price in the last message */
    int msg_qty_places;           /* likewise for quantities (display precision for books) */
    /* private */
    nd_venue_t _venue;
    nd_md_sink_cb _sink;
    void *_ctx;
    nd_jtok_t *_tok;
    nd_md_level_t *_levels;
    /* read-only (added with the WebSocket clients): the Coinbase Exchange per-product
     * "sequence" of the message being decoded, -1 when it has none; valid during the sink
     * callback and after the call. */
    int64_t msg_sequence;
    /* read-only (added with Coinbase sessions): the Advanced Trade event being emitted is a
     * "snapshot" (a subscription's first: market_trades then lists trades from before it);
     * valid during the sink callback. */
    bool event_snapshot;
} nd_coinbase_decoder_t;

/* venue is ND_VENUE_COINBASE (Advanced Trade) or ND_VENUE_COINBASE_EXCHANGE. Allocates the
 * token and level buffers once; ND_ENOMEM. Release with nd_coinbase_decoder_deinit. */
nd_err_t nd_coinbase_decoder_init(nd_coinbase_decoder_t *dec, nd_venue_t venue,
                                  nd_md_sink_cb sink, void *ctx);
void nd_coinbase_decoder_deinit(nd_coinbase_decoder_t *dec);

/* Decodes one message (one WebSocket text frame or one JSON line) and calls the sink for every
 * normalised event in it. A bad message is counted by reason and returns the matching error
 * (ND_EPARSE, ND_EEOF for truncated, ND_EDECLINED for an unknown type, ND_ESTATE for an
 * out-of-order sequence) without emitting anything; nothing is ever partially emitted from a
 * message that fails validation. Cost O(len). */
nd_err_t nd_coinbase_decode_msg(nd_coinbase_decoder_t *dec, const char *msg, size_t len,
                                int64_t recv_ts_ns);

/* Parses an RFC3339 UTC time with up to 9 fractional digits ("2023-02-09T20:32:50.714964855Z")
 * into ns since the epoch. ND_EPARSE on another shape; ND_ERANGE outside 1678..2261 (int64 ns),
 * which Coinbase's zero time "0001-01-01T00:00:00Z" is. */
nd_err_t nd_coinbase_parse_time(const char *text, size_t len, int64_t *out_ns /* OUT */);

/* --- Coinbase Exchange level2 book ---------------------------------------------------------- */

typedef struct nd_coinbase_exchange_book {
    nd_book_t *book;           /* caller-owned: px and qty at ND_VENUE_DECIMALS */
    char product_id[ND_NAME_MAX]; /* the product of the first snapshot */
    bool have_snapshot;        /* in sync: a snapshot was applied and none refused since */
    uint64_t updates_applied;  /* l2update messages applied after the snapshot */
    uint64_t snapshots;        /* snapshots applied (a resubscribe sends a new one) */
    int px_places;             /* most fractional digits seen in prices: display precision */
    int qty_places;            /* likewise for sizes */
    nd_venue_counters_t counters;
    nd_coinbase_decoder_t _dec; /* private */
    /* read-only (added with the hostile-input fixes) */
    uint64_t other_product;    /* snapshot/l2update messages for another product: not applied */
    uint64_t snapshots_refused; /* snapshots refused (too large for the book): out of sync */
    int64_t *_undo;            /* private: previous quantities, to roll back a refused update */
} nd_coinbase_exchange_book_t;

/* Binds the feed state to book (initialised by the caller, who keeps ownership and must
 * outlive cb). Allocates the decoder buffers: ND_ENOMEM. */
nd_err_t nd_coinbase_exchange_book_init(nd_coinbase_exchange_book_t *cb, nd_book_t *book);
void nd_coinbase_exchange_book_deinit(nd_coinbase_exchange_book_t *cb);

/* Applies one feed message: a "snapshot" replaces the book, an "l2update" sets each change
 * (side buy = bid, sell = ask; size absolute, zero removes). Messages of other types (ticker,
 * heartbeat, subscriptions) are skipped without counting as bad; a snapshot or l2update for
 * another product is not applied and is counted in other_product. An l2update is applied
 * whole or not at all: when a change is refused by the decoder (price <= 0, size < 0, bad
 * number), when a new level does not fit the book (too_large) or when the result would cross
 * (best bid >= best ask: crossed), the book is left exactly as it was and the message is
 * counted by reason (ND_EPARSE, ND_EFULL, ND_ERANGE). An l2update before the first snapshot
 * is counted out_of_order (ND_ESTATE). A snapshot must run best-first per side without
 * repeats and not cross (else refused by the decoder); one with more levels a side than the
 * book holds is refused (too_large, ND_EFULL): the book is emptied and out of sync until the
 * next snapshot, since the old one is stale once the venue sends a new one. A snapshot level
 * with a malformed number (Coinbase has sent "0.-10000") is skipped and counted bad_number,
 * the rest applies. err (may be NULL) says why a message was refused. */
nd_err_t nd_coinbase_exchange_book_apply(nd_coinbase_exchange_book_t *cb, const char *msg,
                                         size_t len, char *err, size_t err_len);

/* --- Advanced Trade WebSocket subscription messages ----------------------------------------- */

/* Writes {"type":"subscribe"|"unsubscribe","product_ids":[..],"channel":C[,"jwt":J]} into out.
 * product_ids may be empty (heartbeats); jwt NULL for public channels. Returns the length, or 0
 * when cap is too small. */
size_t nd_coinbase_ws_subscribe_msg(bool subscribe, const char *channel,
                                    const char *const *product_ids, size_t product_count,
                                    const char *jwt, char *out, size_t cap);

/* --- Advanced Trade REST --------------------------------------------------------------------- */

typedef struct nd_coinbase_rest nd_coinbase_rest_t;

/* base_url "https://api.coinbase.com" (or a test server "http://127.0.0.1:PORT"); the brokerage
 * prefix /api/v3/brokerage is added per call. key_name and pem are copied and wiped on destroy.
 * clock gives nbf for each JWT. */
nd_err_t nd_coinbase_rest_create(const char *base_url, const char *key_name,
                                 const char *private_key_pem, const nd_clock_t *clock,
                                 long timeout_ms, nd_coinbase_rest_t **out /* OUT */, char *err,
                                 size_t err_len);
void nd_coinbase_rest_destroy(nd_coinbase_rest_t *rest);

typedef struct nd_coinbase_order_req {
    const char *client_order_id;
    const char *product_id;    /* "BTC-USD" */
    bool buy;
    bool market;               /* market_market_ioc, else limit_limit_gtc */
    const char *base_size;     /* decimal string, as the venue wants it */
    const char *quote_size;    /* market buys may size in quote instead; NULL otherwise */
    const char *limit_price;   /* limit only */
    bool post_only;
} nd_coinbase_order_req_t;

typedef struct nd_coinbase_order_result {
    bool success;
    int32_t reject;            /* nd_reject_t when !success */
    char order_id[ND_VENUE_ID_MAX];
    char failure_reason[64];   /* error_response.error or new_order_failure_reason */
    long http_status;
} nd_coinbase_order_result_t;

/* POST /orders. ND_OK with out->success false for a venue reject (mapped to nd_reject_t);
 * ND_EIO for transport errors, ND_EPARSE for an unreadable reply. */
nd_err_t nd_coinbase_create_order(nd_coinbase_rest_t *rest, const nd_coinbase_order_req_t *req,
                                  nd_coinbase_order_result_t *out /* OUT */, char *err,
                                  size_t err_len);
/* POST /orders/batch_cancel for one order id; *cancelled tells whether the venue agreed. */
nd_err_t nd_coinbase_cancel_order(nd_coinbase_rest_t *rest, const char *order_id,
                                  bool *cancelled /* OUT */, char *err, size_t err_len);
/* The lists below are paginated (Coinbase: limit, cursor, has_next): each is read page by page
 * (orders and fills with limit=ND_COINBASE_PAGE_LIMIT or the client's page limit; accounts
 * with the venue's), following the cursors to the last page: has_next false, or no cursor (the
 * fills say only that), or a page that hands back the cursor it was asked with (a server that
 * does not page: its elements are not repeated). At most ND_COINBASE_LIST_PAGES_MAX pages,
 * then ND_EFULL naming the path (250 x 100 = 25,000 orders or fills of one product is more
 * than an adapter's view holds anyway). A cursor must be URL-safe ([A-Za-z0-9-_.~=], shorter
 * than ND_COINBASE_CURSOR_MAX), else ND_EPARSE. *count is written only on success. */
#define ND_COINBASE_PAGE_LIMIT 250
#define ND_COINBASE_LIST_PAGES_MAX 100
#define ND_COINBASE_CURSOR_MAX 128
/* Sets the limit= of each page (1..ND_COINBASE_PAGE_LIMIT; 0: the default): tests page small. */
void nd_coinbase_rest_set_page_limit(nd_coinbase_rest_t *rest, uint32_t limit);
/* GET /orders/historical/batch[?product_id=P]: each order as an ND_MD_ORDER_UPDATE event. */
nd_err_t nd_coinbase_list_orders(nd_coinbase_rest_t *rest, const char *product_id,
                                 nd_md_sink_cb sink, void *ctx, size_t *count /* OUT */,
                                 char *err, size_t err_len);
/* GET /orders/historical/fills[?product_id=P]: each fill as an ND_MD_ORDER_UPDATE event with
 * last_px/last_qty/fee set. */
nd_err_t nd_coinbase_list_fills(nd_coinbase_rest_t *rest, const char *product_id,
                                nd_md_sink_cb sink, void *ctx, size_t *count /* OUT */, char *err,
                                size_t err_len);
/* GET /accounts: each account as an ND_MD_BALANCE event (free = available, locked = hold). */
nd_err_t nd_coinbase_accounts(nd_coinbase_rest_t *rest, nd_md_sink_cb sink, void *ctx,
                              size_t *count /* OUT */, char *err, size_t err_len);
/* A product's trading rules (GET /products/{product_id}, or the public
 * /market/products/{product_id}), exact at ND_VENUE_DECIMALS: a price is a multiple of
 * quote_increment, a base size a multiple of base_increment and at least base_min_size; a
 * quote_min_size of 0 means the venue gave none. */
typedef struct nd_coinbase_product_rules {
    char product_id[ND_NAME_MAX];
    int64_t base_increment, quote_increment, base_min_size, quote_min_size;
    bool trading_disabled;     /* trading_disabled true, or a status other than "online" */
} nd_coinbase_product_rules_t;

/* Reads one product object (the body of GET products/{id}). ND_EPARSE naming the field when
 * product_id is not the one asked for, or an increment is absent, malformed or not > 0. */
nd_err_t nd_coinbase_product_rules_parse(const char *json, size_t len, const char *product_id,
                                         nd_coinbase_product_rules_t *out /* OUT */, char *err,
                                         size_t err_len);
/* GET {base_url}/api/v3/brokerage/market/products/{product_id} (public: no key needed; what
 * a paper session uses) and the rules in it. ND_EIO for a transport error or a status other
 * than 200, the parse errors; err names the URL. Blocking: call before the loop runs. */
nd_err_t nd_coinbase_public_product(const char *base_url, const char *product_id,
                                    long timeout_ms, nd_coinbase_product_rules_t *out /* OUT */,
                                    char *err, size_t err_len);
/* GET {base_url}/api/v3/brokerage/time (public) on http: the venue's clock (epochMillis) in
 * *venue_ms. ND_EIO for a transport error or a status other than 200, ND_EPARSE for a reply
 * without a numeric epochMillis; err names the URL. Blocking. */
nd_err_t nd_coinbase_public_time(nd_http_t *http, const char *base_url,
                                 int64_t *venue_ms /* OUT */, char *err, size_t err_len);
/* --- The live layer's side of an Advanced Trade order (cb_orders.c) -------------------------
 * What an order adapter needs between the engine's orders, the order journal and
 * reconciliation (reconcile.h) and Advanced Trade's REST objects: pre-trade checks against the
 * product rules, the order request with the client order id the live layer derives, and
 * Coinbase's UUID order and trade ids as the journal's 62-bit numbers. */

/* A Coinbase UUID (order_id, trade_id) as a positive 62-bit number: FNV-1a 64 of the text,
 * folded to 62 bits, never 0 (the journal keeps ids as int64 and reconciliation keys a trade
 * as id * 2 + side). Distinct ids collide with probability about n^2 / 2^63. */
int64_t nd_coinbase_id_key(const char *id);

/* The product rules as pre-trade filters, at ND_VENUE_DECIMALS: a limit price that is not a
 * positive multiple of quote_increment is ND_REJECT_INVALID_PRICE; a size that is not a
 * positive multiple of base_increment or is below base_min_size ND_REJECT_INVALID_QUANTITY; a
 * limit order's price x size below quote_min_size ND_REJECT_BELOW_MIN_NOTIONAL (a market
 * order's notional is the venue's to check); a product not trading
 * ND_REJECT_VENUE_SYMBOL_NOT_TRADING. ND_REJECT_NONE when it may be sent. */
int32_t nd_coinbase_rules_check(const nd_coinbase_product_rules_t *rules, bool market,
                                int64_t px, int64_t qty);

/* The request fields of one order (strings as the venue wants them: "0.001", "10000.01"). */
typedef struct nd_coinbase_order_text {
    char client_order_id[40];
    char product_id[ND_NAME_MAX];
    char base_size[32];
    char limit_price[32];
    nd_coinbase_order_req_t req;   /* points into the fields above */
} nd_coinbase_order_text_t;

/* Builds the request of a limit (limit_limit_gtc) or market (market_market_ioc, sized in base)
 * order of product_id for px and qty at ND_VENUE_DECIMALS, the client order id being
 * client_order_id (the live layer's nd_clid_format). Checks the rules first: a reject is
 * returned (nothing built) as nd_coinbase_rules_check says. */
int32_t nd_coinbase_order_text(const nd_coinbase_product_rules_t *rules, const char *product_id,
                               const char *client_order_id, bool buy, bool market, int64_t px,
                               int64_t qty, nd_coinbase_order_text_t *out /* OUT */);

/* One fill of list_fills (an ORDER_UPDATE event: last_px, last_qty, fee, trade_id keyed by
 * nd_coinbase_id_key) as the journal's trade of instrument_id whose order has client id clid
 * ("" when unknown): quote_qty = px x qty at ND_VENUE_DECIMALS (half-even: Coinbase's
 * notional may carry more places), the commission in the quote asset (Advanced Trade charges
 * fees in quote). ND_EINVAL for an event that is not a fill (no trade id, qty <= 0),
 * ND_EOVERFLOW. */
nd_err_t nd_coinbase_recon_trade(const nd_md_event_t *fill, const char *clid,
                                 uint32_t instrument_id, const nd_recon_instrument_t *assets,
                                 nd_recon_trade_t *out /* OUT */);
/* One order of list_orders (or of the user channel) as reconciliation's venue order: client
 * id, venue id (nd_coinbase_id_key of order_id), side, limit price and size, executed
 * quantity and the status (PENDING and OPEN open; FILLED, CANCELLED, EXPIRED; FAILED
 * rejected). ND_EINVAL for an event that is not an order, or a client id too long. */
nd_err_t nd_coinbase_recon_order(const nd_md_event_t *order, uint32_t instrument_id,
                                 nd_recon_order_t *out /* OUT */);

/* Maps an Advanced Trade failure reason ("INSUFFICIENT_FUND") to a reject. */
int32_t nd_coinbase_reject_from_reason(const char *reason);

/* --- The live order venue (cb_exec.c) ---------------------------------------------------------
 * Advanced Trade behind the engine's venue interface (exec_venue.h), one product per adapter,
 * with the order journal and reconciliation of reconcile.h, as the Binance adapter does
 * (binance.h), and these differences: a create that got no answer (transport error, 5xx) is
 * sent again with the same client_order_id (Coinbase answers a repeated client_order_id with
 * the existing order: idempotent, so no recvWindow wait and no send marks); order state comes
 * from the user channel (nd_coinbase_exec_on_order) with GET orders/historical/fills and
 * orders/historical/batch of the product as its safety net (user_channel below; without the
 * channel, polled); a create the restart concluded never sent that reaches the venue later is
 * followed again (late_create: fills booked, cancelled while open); a cancel is POST orders/batch_cancel by the venue's order id;
 * UUID ids are journaled as nd_coinbase_id_key. Fills of orders that are not ours are not
 * booked (they surface as a balance difference at the next start). Threads: one worker sends
 * (journal made durable first); the caller's thread owns the journal's appends, the local view
 * and the updates. */

typedef struct nd_coinbase_exec nd_coinbase_exec_t;

typedef struct nd_coinbase_exec_config {
    nd_coinbase_rest_t *rest;     /* borrowed; after start only the worker sends with it */
    nd_journal_t *journal;        /* borrowed, opened and replayed into local */
    nd_recon_local_t *local;      /* borrowed: the journal's view, kept current */
    const nd_clock_t *clock;
    const char *product_id;       /* "BTC-USD" */
    uint32_t instrument_id;
    nd_recon_instrument_t assets; /* base and quote currency */
    nd_coinbase_product_rules_t rules; /* the pre-trade filters */
    const char *tag;              /* session tag, [a-z0-9]{1,6} */
    uint32_t run;                 /* this start's number */
    int64_t poll_interval_ns;     /* status polling while orders are open, without the user
                                     channel (0: 500 ms) */
    /* The user channel (nd_coinbase_exec_on_order) is the primary source of order state: no
     * periodic poll; a sync (orders and fills of the product) runs only as the safety net: at
     * once after nd_coinbase_exec_resync (the session calls it on a reconnect or a sequence
     * gap of the channel), when a report shows fills not booked, when an order's report is
     * overdue (report_timeout_ns after its create or cancel was answered without a report of
     * it since; or after a sync that left its reported fills unbooked), after a request
     * without an answer, and every sweep_interval_ns while an order of ours is not done (a
     * report lost without a gap). false: polling every poll_interval_ns. */
    bool user_channel;
    int64_t report_timeout_ns;    /* 0: 2 s */
    int64_t sweep_interval_ns;    /* 0: 15 s */
    /* Declared fees in hundredths of a bps (0: maker 4000, taker 6000: Advanced Trade's
     * first tier, 0.40% and 0.60%). */
    int64_t maker_fee_bps_e2, taker_fee_bps_e2;
    /* Every fill booked by nd_coinbase_exec_recover (the dead run's orders' fills, up to their
     * cancels) is handed to this (may be NULL), for the positions the session restores. */
    void (*recover_fill_cb)(void *ctx, const nd_recon_trade_t *trade);
    void *recover_fill_ctx;
    /* Test hook (the kill -9 test): called at "journaled" (caller, after an intent is
     * appended), "synced" (worker, journal durable, before sending) and "sent" (worker, answer
     * received, before it is queued back). NULL in production. */
    void (*hook_cb)(void *ctx, const char *point);
    void *hook_ctx;
} nd_coinbase_exec_config_t;

typedef struct nd_coinbase_exec_stats {
    uint64_t submitted, cancels, syncs, resent;
    uint64_t accepted, rejected, fills, cancelled, expired, cancel_rejected;
    uint64_t unanswered;          /* creates or cancels without an answer (sent again / polled) */
    uint64_t queue_full;
    uint64_t recon_diffs, recon_halts;
    uint64_t outages;             /* REST outages ended (a request unanswered, then a good sync) */
    uint64_t reconciliations;     /* in the session: after an outage or nd_coinbase_exec_resync */
    uint64_t round_trips, round_trip_ns_sum;
    uint64_t stream_events;       /* user channel order updates of the product taken */
    uint64_t stream_fill_wakes;   /* of them, a cumulative quantity not booked: fills fetched */
    uint64_t overdue_syncs;       /* user channel: syncs for an order whose report was overdue */
    uint64_t late_creates;        /* creates concluded never sent found at the venue after all */
    uint64_t sweeps;              /* user channel: syncs of the slow sweep */
} nd_coinbase_exec_stats_t;

/* Creates the adapter (worker not started). ND_EINVAL with the reason in err. */
nd_err_t nd_coinbase_exec_create(const nd_coinbase_exec_config_t *config,
                                 nd_coinbase_exec_t **out /* OUT */, char *err, size_t err_len);
/* Reconciles the journal's view with the venue (blocking REST; before start): the product's
 * fills, orders and accounts, read again while a fill lands between the reads (a consistent
 * view); on a journal without balances first records the venue's as the opening ones (the
 * fills already at the venue belong to them). Every difference is journaled and applied;
 * RESEND sends again with the same id, CANCEL cancels; with cancel_open every open order of
 * ours is cancelled (also one that shows up open only later), and the venue is polled until
 * each is done; when orders of ours the journal lacks were cancelled, one more comparison books
 * their last fills. Up to cap differences into out (*count of them); *halt when one resolved
 * HALT. ND_EIO when the venue cannot be read. */
nd_err_t nd_coinbase_exec_recover(nd_coinbase_exec_t *x, const nd_recon_policy_t *policy,
                                  bool cancel_open, nd_recon_diff_t *out, size_t cap,
                                  size_t *count /* OUT */, bool *halt /* OUT */, char *err,
                                  size_t err_len);
nd_err_t nd_coinbase_exec_start(nd_coinbase_exec_t *x);
/* Asks for a reconciliation in the session at the next poll (the caller's thread; after
 * start): call it when the market stream reconnects. The adapter asks for one itself when a
 * REST outage ends (a sync failed or a create or cancel got no answer, then a sync succeeds).
 * Polling books the fills of our orders and their ends, so the reconciliation adds what it
 * does not see: open orders of the product the journal does not know (ours cancelled, others
 * surfaced) and the two balances against every fill booked (a difference resolves as the
 * start's policy says; HALT is counted in stats.recon_halts for the caller to act on). Each
 * difference is journaled and logged (event=reconcile when=session). The accounts are read
 * after the fills and checked by a second look at them, and the comparison waits for a sync
 * with no create of ours still unanswered. */
void nd_coinbase_exec_resync(nd_coinbase_exec_t *x);
/* The WebSocket user channel's order update (an ORDER_UPDATE event of cb_ws.c; another
 * product's is ignored), on the loop thread like poll: an order of ours the venue reports
 * open or done is ACCEPTED with its id at once, and a done one (FILLED, CANCELLED, EXPIRED) is
 * reported once every fill up to its cumulative quantity is booked. Advanced Trade's channel
 * carries no fills (no trade id, no price of each, only the cumulative quantity, average price
 * and total fees), so a cumulative quantity above the one booked fetches the fills at once (the
 * poll is brought forward to now): each is booked by trade id from the REST list, once, as the
 * poll does. An unknown order, or an update ring short of room, only brings the poll forward.
 * O(orders). */
void nd_coinbase_exec_on_order(nd_coinbase_exec_t *x, const nd_md_event_t *ev);
/* The engine's view: ops and facts (name "coinbase"). */
nd_exec_venue_t nd_coinbase_exec_venue(nd_coinbase_exec_t *x);
/* The emergency cancel: a CANCEL intent journaled and a cancel queued for every order of ours
 * not done. ND_EIO when the journal cannot take the intents. */
nd_err_t nd_coinbase_exec_cancel_all(nd_coinbase_exec_t *x);
/* Cancels of the emergency cancel not yet answered. */
bool nd_coinbase_exec_cancel_all_busy(const nd_coinbase_exec_t *x);
/* Orders of ours the venue had open at the last poll (-1 before one). */
int64_t nd_coinbase_exec_venue_open(const nd_coinbase_exec_t *x);
/* Stops the worker (a request on the wire completes); the REST client is the caller's again. */
void nd_coinbase_exec_stop(nd_coinbase_exec_t *x);
void nd_coinbase_exec_stats(const nd_coinbase_exec_t *x,
                            nd_coinbase_exec_stats_t *out /* OUT */);
void nd_coinbase_exec_destroy(nd_coinbase_exec_t *x);

/* --- Hooks the CLI calls (venue.h, "Hooks") --------------------------------------------------- */

/* The normalised status of an Advanced Trade order status name (len bytes: PENDING, OPEN,
 * FILLED, CANCELLED, EXPIRED, FAILED), for the user channel and the REST orders alike: OPEN with
 * cum_qty > 0 is PARTIALLY_FILLED; NULL or any other name is ND_MD_ORDER_OTHER. */
nd_md_order_status_t nd_coinbase_order_status(const char *name, size_t len, int64_t cum_qty);

/* Decoder operations for `noderr decode --venue coinbase` and `--venue coinbase-exchange`. */
const nd_md_decoder_ops_t *nd_coinbase_decoder_ops(void);
const nd_md_decoder_ops_t *nd_coinbase_exchange_decoder_ops(void);

/* `noderr book replay --venue coinbase-exchange`: applies every line of stream_path to book
 * (initialised and empty) and fills *out (events_applied = l2updates applied, events_dropped =
 * messages refused, messages_bad likewise, events_other_symbol = messages for another
 * product, px_shown/qty_shown = the venue's precision, final_update_id -1). status is "ok"
 * when the book is in sync at the end, else "no_snapshot" with out->reason saying why (empty
 * stream, no line was a usable snapshot, the last snapshot was refused). ND_EIO when the file
 * cannot be read (nd_file_read: a regular file of at most 1 GiB), ND_ENOMEM; err then starts
 * with the path. */
nd_err_t nd_coinbase_exchange_replay(const char *stream_path, nd_book_t *book,
                                     nd_replay_result_t *out /* OUT */, char *err, size_t err_len);

/* --- WebSocket clients: Advanced Trade market data and the Coinbase Exchange feed (cb_ws.c) ---
 *
 * One reconnecting connection (nd_ws of venue.h) per client. On every (re)connect the client
 * subscribes its channels for its products; Advanced Trade gets one subscribe message per
 * channel (a fresh ES256 JWT in each private one: user, futures_balance_summary) plus
 * `heartbeats`, which keeps quiet channels from being closed; Coinbase Exchange gets one
 * subscribe listing every channel plus `heartbeat`, with the signature, key, passphrase and
 * timestamp fields when credentials are given. Every message is decoded into normalised events
 * (venue time, local receive time from the injected clock) handed to the sink, after the client
 * has applied book events to its per-product level2 books. An Advanced Trade sequence_num gap
 * makes the client unsubscribe and resubscribe every channel but heartbeats and ignore book
 * updates (neither applied nor forwarded) until the new snapshot, as after a reconnect; a
 * Coinbase Exchange ticker or match at or below the product's last sequence is dropped
 * (out_of_order). A connection silent for stale_after_ns is renewed.
 * Not thread-safe: one thread calls service and reads books. */

#define ND_COINBASE_WS_URL "wss://advanced-trade-ws.coinbase.com"
#define ND_COINBASE_WS_USER_URL "wss://advanced-trade-ws-user.coinbase.com"
#define ND_COINBASE_EXCHANGE_WS_URL "wss://ws-feed.exchange.coinbase.com"
/* Products and channels one client subscribes (the venues allow more per connection; a busy
 * level2 feed for more products belongs on its own connection anyway). */
#define ND_COINBASE_STREAM_PRODUCTS_MAX 64
#define ND_COINBASE_STREAM_CHANNELS_MAX 8

typedef struct nd_coinbase_stream nd_coinbase_stream_t;

typedef struct nd_coinbase_stream_config {
    const char *url;                 /* NULL: ND_COINBASE_WS_URL or ND_COINBASE_EXCHANGE_WS_URL */
    const char *const *product_ids;  /* "BTC-USD", 1..ND_COINBASE_STREAM_PRODUCTS_MAX */
    uint32_t product_count;
    const char *const *channels;     /* Advanced Trade: level2, ticker, market_trades, user, ...;
                                      * Exchange: level2, level2_batch, ticker, matches, ... */
    uint32_t channel_count;          /* 1..ND_COINBASE_STREAM_CHANNELS_MAX */
    const char *key_name;            /* Advanced Trade private channels: the API key name */
    const char *private_key_pem;     /* and its P-256 key (copied; wiped on destroy) */
    const nd_secret_t *exchange_secret; /* Exchange auth (copied; wiped); NULL: public feed */
    uint64_t seed;                   /* reconnect jitter */
    int64_t backoff_min_ns;          /* 0: 1 s */
    int64_t backoff_max_ns;          /* 0: 60 s */
    int64_t stale_after_ns;          /* reconnect after this long without a message (0: 30 s;
                                      * negative: never) */
    uint32_t book_levels_max;        /* per side of each product's book (0: ND_BOOK_LEVELS_MAX) */
    /* A libuv loop (uv_loop_t *) to run on instead of libwebsockets' own (nd_ws_config_t's):
     * a session serves the socket on its loop; NULL: nd_coinbase_stream_service runs it. */
    void *uv_loop;
    /* Advanced Trade, for a trading session: the trades of a market_trades "snapshot" (the
     * ones before the subscription, again after every resubscribe) are not forwarded, and the
     * trades of one message are forwarded oldest first (by trade time, then trade id), however
     * the venue ordered them. Counted in stats.snapshot_trades_dropped. */
    bool trades_live_only;
} nd_coinbase_stream_config_t;

typedef struct nd_coinbase_stream_stats {
    uint32_t connects;          /* connections opened */
    uint64_t resubscribes;      /* Advanced Trade: resubscriptions after a sequence_num gap */
    uint64_t sequence_gaps;     /* Advanced Trade: sequence_num gaps seen */
    uint64_t stale_dropped;     /* Exchange: ticker/match not above the product's last sequence */
    uint64_t trade_id_gaps;     /* Exchange: trade ids missing between consecutive matches */
    uint64_t snapshots;         /* book snapshots applied */
    uint64_t updates_applied;   /* book updates applied */
    uint64_t updates_ignored;   /* book updates for a product with no current snapshot */
    uint64_t stale_reconnects;  /* connections renewed because the feed went silent */
    uint64_t books_dropped;     /* books emptied because a level did not fit or the book
                                 * crossed: not live until the next snapshot (Advanced Trade
                                 * resubscribes for one); counted bad "crossed" too */
    uint64_t snapshot_trades_dropped; /* trades_live_only: snapshot trades not forwarded */
} nd_coinbase_stream_stats_t;

/* Creates a client for venue ND_VENUE_COINBASE (Advanced Trade) or ND_VENUE_COINBASE_EXCHANGE
 * and starts connecting; events go to sink(ctx, ...). Product and channel names must be
 * [A-Za-z0-9_-]; a private Advanced Trade channel needs key_name and private_key_pem.
 * ND_EINVAL with the reason in err (never a secret), ND_ENOMEM, ND_EIO. Destroy with
 * nd_coinbase_stream_destroy. Allocates the books up front: 32 bytes x book_levels_max x
 * products carrying a level2 channel. */
nd_err_t nd_coinbase_stream_create(nd_venue_t venue, const nd_coinbase_stream_config_t *config,
                                   const nd_clock_t *clock, nd_md_sink_cb sink, void *ctx,
                                   nd_coinbase_stream_t **out /* OUT */, char *err,
                                   size_t err_len);
/* Runs the connection for up to timeout_ms (0: one non-blocking pass). */
nd_err_t nd_coinbase_stream_service(nd_coinbase_stream_t *stream, int timeout_ms);
/* The product's level2 book, or NULL when the product has no level2 channel or no current
 * snapshot (before the first, and from a gap or reconnect until the next). O(products). */
const nd_book_t *nd_coinbase_stream_book(const nd_coinbase_stream_t *stream,
                                         const char *product_id);
void nd_coinbase_stream_stats(const nd_coinbase_stream_t *stream,
                              nd_coinbase_stream_stats_t *out /* OUT */);
/* The decoder's counters: messages, events, bad inputs by reason. */
const nd_venue_counters_t *nd_coinbase_stream_counters(const nd_coinbase_stream_t *stream);
void nd_coinbase_stream_destroy(nd_coinbase_stream_t *stream);
/* Connections opened plus resubscriptions after a sequence_num gap: each is a point where the
 * feed may have lost messages and starts again from fresh snapshots (a session resynchronises
 * its feed state at each). */
uint32_t nd_coinbase_stream_resyncs(const nd_coinbase_stream_t *stream);
/* Closes the connection and reconnects at once (an operator's or a supervisor's restart). */
void nd_coinbase_stream_reconnect(nd_coinbase_stream_t *stream);

/* Writes the Coinbase Exchange subscribe message {"type":"subscribe","product_ids":[..],
 * "channels":[..]} and, when secret is not NULL, "signature","key","passphrase","timestamp"
 * with signature = CB-ACCESS-SIGN over timestamp + "GET" + "/users/self/verify". Names must be
 * [A-Za-z0-9_-]. *len gets the length. ND_EINVAL (bad name, secret not base64, key or
 * passphrase not JSON-safe; err never repeats a secret), ND_EFULL when cap is too small. */
nd_err_t nd_coinbase_exchange_subscribe_msg(const char *const *product_ids, uint32_t product_count,
                                            const char *const *channels, uint32_t channel_count,
                                            const nd_secret_t *secret, const char *timestamp,
                                            char *out, size_t cap, size_t *len /* OUT */,
                                            char *err, size_t err_len);

#endif
