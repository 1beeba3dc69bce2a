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
    bool have_snapshot;
    uint64_t updates_applied;  /* l2update messages applied after the snapshot */
    uint64_t snapshots;        /* snapshots applied (a resubscribe sends a new one) */
    int px_places;             /* most fractional digits seen in prices: display precision */
    int qty_places;            /* likewise for sizes */
    nd_venue_counters_t counters;
    nd_coinbase_decoder_t _dec; /* private */
} nd_coinbase_exchange_book_t;

/* Binds the feed state to book (initialised by the caller, who keeps ownership and must
 * outlive cb). Allocates the decoder buffers: ND_ENOMEM. */
nd_err_t nd_coinbase_exchange_book_init(nd_coinbase_exchange_book_t *cb, nd_book_t *book);
void nd_coinbase_exchange_book_deinit(nd_coinbase_exchange_book_t *cb);

/* Applies one feed message: a "snapshot" replaces the book, an "l2update" sets each change
 * (side buy = bid, sell = ask; size absolute, zero removes). Messages for another product, and
 * other types (ticker, heartbeat, subscriptions) are skipped without counting as bad. Every
 * change is validated before any is applied, so a bad l2update leaves the book untouched; an
 * l2update before the first snapshot is counted out_of_order. A snapshot level with a malformed
 * number (Coinbase has sent "0.-10000") is skipped and counted, the rest applies. */
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
/* Maps an Advanced Trade failure reason ("INSUFFICIENT_FUND") to a reject. */
int32_t nd_coinbase_reject_from_reason(const char *reason);

/* --- Hooks the CLI calls (venue.h, "Hooks") --------------------------------------------------- */

/* Decoder operations for `noderr decode --venue coinbase` and `--venue coinbase-exchange`. */
const nd_md_decoder_ops_t *nd_coinbase_decoder_ops(void);
const nd_md_decoder_ops_t *nd_coinbase_exchange_decoder_ops(void);

/* `noderr book replay --venue coinbase-exchange`: applies every line of stream_path to book
 * (initialised and empty) and fills *out (events_applied = l2updates applied, events_dropped =
 * messages refused, px_shown/qty_shown = the venue's precision, final_update_id -1, status "ok"
 * or "no_snapshot"). ND_EIO when the file cannot be read. */
nd_err_t nd_coinbase_exchange_replay(const char *stream_path, nd_book_t *book,
                                     nd_replay_result_t *out /* OUT */, char *err, size_t err_len);

#endif
