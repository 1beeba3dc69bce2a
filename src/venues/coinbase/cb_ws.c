/* cb_ws.c: the Coinbase WebSocket clients (coinbase.h): Advanced Trade market data and the
 * Coinbase Exchange feed, over the reconnecting nd_ws connection of venue.h.
 *
 * On every open the client subscribes its channels (Advanced Trade: one message per channel,
 * heartbeats first, a fresh JWT in each private one; Exchange: one message with every channel
 * and the optional auth fields), decodes each frame with the Coinbase decoder, keeps one level2
 * book per product and forwards every event to the caller's sink after the book has seen it.
 * Invariants: a book is "live" only between a snapshot and the next gap, reconnect or close,
 * and no update is applied to a book that is not live (it is counted as ignored and not
 * forwarded, so downstream books see the same snapshot-first stream); the Advanced
 * Trade sequence_num restarts with each connection; an Exchange ticker or match whose sequence
 * is not above the product's last one never reaches the sink; key material is held only in
 * this object and wiped on destroy; no secret is ever written to a log or an error. */
#include "noderr/coinbase.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/log.h"

#include <stdio.h>
#include <string.h>

/* A subscribe message: 64 products of at most ND_NAME_MAX, a JWT, and the JSON around them. */
#define SUB_MSG_MAX (ND_COINBASE_STREAM_PRODUCTS_MAX * (ND_NAME_MAX + 3) + ND_COINBASE_JWT_MAX + \
                     ND_COINBASE_STREAM_CHANNELS_MAX * 40 + 1024)
#define CHANNEL_NAME_MAX 32
#define PEM_MAX 4096
/* Trades of one market_trades message held to be forwarded oldest first (trades_live_only):
 * Coinbase batches about 250 ms of trades a message; a fuller message is forwarded in parts. */
#define HELD_TRADES_MAX 512

typedef struct cb_product {
    char id[ND_NAME_MAX];
    nd_book_t book;
    bool has_book;         /* a level2 channel is subscribed for it */
    bool live;             /* the book holds a current snapshot */
    int64_t last_ticker_seq, last_match_seq, last_trade_id; /* Exchange; -1 before the first */
} cb_product_t;

struct nd_coinbase_stream {
    nd_venue_t venue;
    nd_ws_t *ws;
    const nd_clock_t *clock;
    nd_coinbase_decoder_t dec;
    nd_md_sink_cb sink;
    void *ctx;
    cb_product_t *products;
    uint32_t product_count;
    char channels[ND_COINBASE_STREAM_CHANNELS_MAX + 1][CHANNEL_NAME_MAX];
    uint32_t channel_count; /* the heartbeat channel included */
    char key_name[256];
    char *pem;              /* nd_alloc'd copy of the Advanced Trade key; wiped on destroy */
    nd_secret_t secret;     /* Exchange credentials; wiped on destroy */
    bool has_secret;
    int64_t stale_after_ns;
    int64_t last_rx_mono_ns;
    nd_coinbase_stream_stats_t stats;
    bool trades_live_only;
    nd_md_event_t *held;    /* trades_live_only: the message's trades, HELD_TRADES_MAX */
    uint32_t held_count;
};

/* Product ids and channel names go into JSON unescaped: allow only what the venues use. */
static bool name_ok(const char *s, size_t cap)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n >= cap)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

static bool json_safe(const char *s)
{
    for (; *s; s++)
        if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20)
            return false;
    return true;
}

static bool is_private(const char *channel)
{
    return strcmp(channel, "user") == 0 || strcmp(channel, "futures_balance_summary") == 0;
}

static bool is_book_channel(nd_venue_t venue, const char *channel)
{
    if (venue == ND_VENUE_COINBASE)
        return strcmp(channel, "level2") == 0;
    return strcmp(channel, "level2") == 0 || strcmp(channel, "level2_batch") == 0 ||
           strcmp(channel, "level2_50") == 0;
}

static const char *heartbeat_channel(nd_venue_t venue)
{
    return venue == ND_VENUE_COINBASE ? "heartbeats" : "heartbeat";
}

static cb_product_t *find_product(nd_coinbase_stream_t *s, const char *id)
{
    for (uint32_t i = 0; i < s->product_count; i++)
        if (strcmp(s->products[i].id, id) == 0)
            return &s->products[i];
    return NULL;
}

/* Every book waits for its next snapshot: after a gap, a reconnect or a close. */
static void books_stale(nd_coinbase_stream_t *s)
{
    for (uint32_t i = 0; i < s->product_count; i++) {
        cb_product_t *p = &s->products[i];
        if (p->has_book && p->live)
            nd_book_clear(&p->book);
        p->live = false;
    }
}

/* ---- Subscribe messages -------------------------------------------------------------------- */

/* Appends text to out at *pos; false when it does not fit. */
static bool put(char *out, size_t cap, size_t *pos, const char *text)
{
    size_t n = strlen(text);
    if (*pos + n + 1 > cap)
        return false;
    memcpy(out + *pos, text, n + 1);
    *pos += n;
    return true;
}

/* Appends "key":["a","b"] (names already checked to need no escaping). */
static bool put_list(char *out, size_t cap, size_t *pos, const char *key,
                     const char *const *names, uint32_t count)
{
    bool ok = put(out, cap, pos, "\"") && put(out, cap, pos, key) && put(out, cap, pos, "\":[");
    for (uint32_t i = 0; ok && i < count; i++)
        ok = put(out, cap, pos, i ? ",\"" : "\"") && put(out, cap, pos, names[i]) &&
             put(out, cap, pos, "\"");
    return ok && put(out, cap, pos, "]");
}

/* The auth fields of an Exchange subscribe: signed like GET /users/self/verify. */
static nd_err_t put_auth(const nd_secret_t *secret, const char *timestamp, char *out, size_t cap,
                         size_t *pos, char *err, size_t err_len)
{
    if (!secret->has_passphrase || !json_safe(secret->api_key) ||
        !json_safe(secret->passphrase) || !secret->api_key[0] || !timestamp[0] ||
        strspn(timestamp, "0123456789.") != strlen(timestamp)) {
        snprintf(err, err_len, "coinbase-exchange ws: auth needs an API key and a passphrase "
                               "without quotes or control characters, and a numeric timestamp");
        return ND_EINVAL;
    }
    char sig[ND_COINBASE_SIGN_MAX];
    nd_err_t rc = nd_coinbase_exchange_sign(secret->api_secret, timestamp, "GET",
                                            "/users/self/verify", NULL, sig, sizeof sig, err,
                                            err_len);
    if (rc != ND_OK)
        return rc;
    bool ok = put(out, cap, pos, ",\"signature\":\"") && put(out, cap, pos, sig) &&
              put(out, cap, pos, "\",\"key\":\"") && put(out, cap, pos, secret->api_key) &&
              put(out, cap, pos, "\",\"passphrase\":\"") &&
              put(out, cap, pos, secret->passphrase) &&
              put(out, cap, pos, "\",\"timestamp\":\"") && put(out, cap, pos, timestamp) &&
              put(out, cap, pos, "\"");
    return ok ? ND_OK : ND_EFULL;
}

nd_err_t nd_coinbase_exchange_subscribe_msg(const char *const *product_ids, uint32_t product_count,
                                            const char *const *channels, uint32_t channel_count,
                                            const nd_secret_t *secret, const char *timestamp,
                                            char *out, size_t cap, size_t *len, char *err,
                                            size_t err_len)
{
    ND_ASSERT(product_ids != NULL || product_count == 0);
    ND_ASSERT(channels != NULL);
    ND_ASSERT(out != NULL && cap > 0);
    ND_ASSERT(len != NULL);
    for (uint32_t i = 0; i < product_count + channel_count; i++) {
        const char *name = i < product_count ? product_ids[i] : channels[i - product_count];
        if (!name_ok(name, ND_NAME_MAX)) {
            snprintf(err, err_len, "coinbase-exchange ws: bad product or channel name #%u", i);
            return ND_EINVAL;
        }
    }
    size_t pos = 0;
    out[0] = '\0';
    bool ok = put(out, cap, &pos, "{\"type\":\"subscribe\",") &&
              put_list(out, cap, &pos, "product_ids", product_ids, product_count) &&
              put(out, cap, &pos, ",") &&
              put_list(out, cap, &pos, "channels", channels, channel_count);
    nd_err_t rc = ok ? ND_OK : ND_EFULL;
    if (rc == ND_OK && secret)
        rc = put_auth(secret, timestamp ? timestamp : "", out, cap, &pos, err, err_len);
    if (rc == ND_OK && !put(out, cap, &pos, "}"))
        rc = ND_EFULL;
    if (rc == ND_EFULL)
        snprintf(err, err_len, "coinbase-exchange ws: subscribe message longer than %zu", cap);
    if (rc == ND_OK)
        *len = pos;
    return rc;
}

/* A fresh ES256 JWT for one private subscribe (Coinbase wants a new one per message). */
static nd_err_t make_jwt(nd_coinbase_stream_t *s, char *jwt, size_t cap, char *err,
                         size_t err_len)
{
    nd_coinbase_jwt_params_t jp = {.key_name = s->key_name,
                                   .now_s = nd_clock_now_ns(s->clock) / ND_NS_PER_SEC};
    return nd_coinbase_jwt_es256(s->pem, &jp, jwt, cap, err, err_len);
}

/* Queues one Advanced Trade (un)subscribe for one channel. */
static void at_send(nd_coinbase_stream_t *s, bool subscribe, const char *channel)
{
    const char *ids[ND_COINBASE_STREAM_PRODUCTS_MAX];
    uint32_t count = strcmp(channel, "heartbeats") == 0 ? 0 : s->product_count;
    for (uint32_t i = 0; i < count; i++)
        ids[i] = s->products[i].id;
    char jwt[ND_COINBASE_JWT_MAX], err[160] = "", msg[SUB_MSG_MAX];
    const char *token = NULL;
    if (is_private(channel)) {
        if (make_jwt(s, jwt, sizeof jwt, err, sizeof err) != ND_OK) {
            ND_LOG(ND_LOG_ERR, "venue=coinbase channel=%s no JWT: %s", channel, err);
            return;
        }
        token = jwt;
    }
    size_t n = nd_coinbase_ws_subscribe_msg(subscribe, channel, ids, count, token, msg,
                                            sizeof msg);
    if (n == 0 || nd_ws_send(s->ws, msg, n) != ND_OK)
        ND_LOG(ND_LOG_WARN, "venue=coinbase channel=%s could not queue the %s", channel,
               subscribe ? "subscribe" : "unsubscribe");
    explicit_bzero(jwt, sizeof jwt);
    explicit_bzero(msg, sizeof msg);
}

static void exchange_subscribe(nd_coinbase_stream_t *s)
{
    const char *ids[ND_COINBASE_STREAM_PRODUCTS_MAX], *chans[ND_COINBASE_STREAM_CHANNELS_MAX + 1];
    for (uint32_t i = 0; i < s->product_count; i++)
        ids[i] = s->products[i].id;
    for (uint32_t i = 0; i < s->channel_count; i++)
        chans[i] = s->channels[i];
    char ts[32], msg[SUB_MSG_MAX], err[160] = "";
    snprintf(ts, sizeof ts, "%lld", (long long)(nd_clock_now_ns(s->clock) / ND_NS_PER_SEC));
    size_t n = 0;
    nd_err_t rc = nd_coinbase_exchange_subscribe_msg(ids, s->product_count, chans,
                                                     s->channel_count,
                                                     s->has_secret ? &s->secret : NULL, ts, msg,
                                                     sizeof msg, &n, err, sizeof err);
    if (rc != ND_OK || nd_ws_send(s->ws, msg, n) != ND_OK)
        ND_LOG(ND_LOG_ERR, "venue=coinbase-exchange could not queue the subscribe: %s",
               rc != ND_OK ? err : "send queue");
    explicit_bzero(msg, sizeof msg);
}

/* After a sequence_num gap nothing says which channel lost a message: renew them all (the
 * heartbeats excepted), which also brings a new level2 snapshot to rebuild the books from. */
static void resubscribe(nd_coinbase_stream_t *s)
{
    s->stats.resubscribes++;
    books_stale(s);
    ND_LOG(ND_LOG_INFO, "venue=coinbase sequence_num gap: resubscribing (gaps=%llu)",
           (unsigned long long)s->dec.gaps);
    for (uint32_t i = 0; i < s->channel_count; i++) {
        if (strcmp(s->channels[i], "heartbeats") == 0)
            continue;
        at_send(s, false, s->channels[i]);
        at_send(s, true, s->channels[i]);
    }
}

/* ---- Events -------------------------------------------------------------------------------- */

/* A book that cannot follow the venue (a level does not fit, or it crossed) is dropped, never
 * kept cut or crossed: emptied, not live, the message not forwarded, counted; Advanced Trade
 * resubscribes for a new snapshot, the Exchange book waits for the next one (reconnect). */
static bool book_lost(nd_coinbase_stream_t *s, cb_product_t *p, nd_bad_input_t reason,
                      const char *why)
{
    nd_book_clear(&p->book);
    p->live = false;
    s->stats.books_dropped++;
    nd_venue_bad(&s->dec.counters, reason, why);
    if (s->venue == ND_VENUE_COINBASE)
        s->dec.resubscribe_needed = true;
    return false;
}

/* Applies a book event to the product's book; false for an update that has no current
 * snapshot to apply to, which is not forwarded either: downstream books see the same stream
 * (snapshot, updates, then the next snapshot after a gap) as this one. */
static bool apply_book(nd_coinbase_stream_t *s, cb_product_t *p, const nd_md_book_update_t *u)
{
    if (!p || !p->has_book)
        return true;
    if (u->snapshot) {
        nd_book_clear(&p->book);
        p->live = true;
        s->stats.snapshots++;
    } else if (!p->live) {
        s->stats.updates_ignored++;
        return false;
    } else {
        s->stats.updates_applied++;
    }
    for (uint32_t i = 0; i < u->level_count; i++) {
        const nd_md_level_t *lv = &u->levels[i];
        /* The decoder refused px <= 0 and qty < 0; what is left is a full side. */
        nd_book_side_t side = lv->side == ND_MD_SIDE_BID ? ND_BOOK_BID : ND_BOOK_ASK;
        nd_err_t rc = nd_book_set(&p->book, side, lv->px, lv->qty);
        ND_ASSERT(rc == ND_OK || rc == ND_EFULL);
        if (rc != ND_OK)
            return book_lost(s, p, ND_BAD_TOO_LARGE, "book side full (book_levels_max)");
    }
    /* The venue's book never crosses after a whole message: ours does only when it stopped
     * following the venue. */
    if (nd_book_crossed(&p->book))
        return book_lost(s, p, ND_BAD_CROSSED, "book crossed after an update");
    ND_DEBUG_ASSERT(nd_book_valid(&p->book));
    return true;
}

static bool stale(nd_coinbase_stream_t *s, const char *why)
{
    s->stats.stale_dropped++;
    nd_venue_bad(&s->dec.counters, ND_BAD_OUT_OF_ORDER, why);
    return false;
}

/* Exchange tickers and matches carry the product's sequence: one not above the last seen is a
 * duplicate or stale copy (a last_match after a resubscribe, a replayed frame) and is dropped.
 * Trade ids of a product are consecutive, so a jump counts the trades missed. */
static bool exchange_fresh(nd_coinbase_stream_t *s, cb_product_t *p, const nd_md_event_t *ev)
{
    int64_t seq = s->dec.msg_sequence;
    if (ev->kind == ND_MD_BBO) {
        if (seq >= 0 && seq <= p->last_ticker_seq)
            return stale(s, "ticker sequence did not increase");
        if (seq >= 0)
            p->last_ticker_seq = seq;
        return true;
    }
    if (ev->kind != ND_MD_TRADE)
        return true;
    if (seq >= 0 && seq <= p->last_match_seq)
        return stale(s, "match sequence did not increase");
    int64_t id = ev->u.trade.trade_id;
    if (p->last_trade_id >= 0 && id > p->last_trade_id + 1)
        s->stats.trade_id_gaps += (uint64_t)(id - p->last_trade_id - 1);
    if (seq >= 0)
        p->last_match_seq = seq;
    if (id > p->last_trade_id)
        p->last_trade_id = id;
    return true;
}

/* Forwards the held trades oldest first: by trade time, then trade id (insertion sort, stable:
 * a batch is short and usually in one order or the other). */
static void flush_trades(nd_coinbase_stream_t *s)
{
    nd_md_event_t *h = s->held;
    for (uint32_t i = 1; i < s->held_count; i++) {
        nd_md_event_t e = h[i];
        uint32_t j = i;
        while (j > 0 && (h[j - 1].u.trade.trade_ts_ns > e.u.trade.trade_ts_ns ||
                         (h[j - 1].u.trade.trade_ts_ns == e.u.trade.trade_ts_ns &&
                          h[j - 1].u.trade.trade_id > e.u.trade.trade_id))) {
            h[j] = h[j - 1];
            j--;
        }
        h[j] = e;
    }
    uint32_t n = s->held_count;
    s->held_count = 0;
    for (uint32_t i = 0; i < n; i++)
        s->sink(s->ctx, &h[i]);
}

/* trades_live_only: a snapshot's trades are history, dropped; the others wait for the end of
 * their message. True when the event was taken here. */
static bool hold_trade(nd_coinbase_stream_t *s, const nd_md_event_t *ev)
{
    if (!s->trades_live_only || ev->kind != ND_MD_TRADE)
        return false;
    if (s->dec.event_snapshot) {
        s->stats.snapshot_trades_dropped++;
        return true;
    }
    if (s->held_count == HELD_TRADES_MAX)
        flush_trades(s);
    s->held[s->held_count++] = *ev;
    return true;
}

static void on_event(void *ctx, const nd_md_event_t *ev)
{
    nd_coinbase_stream_t *s = ctx;
    if (hold_trade(s, ev))
        return;
    /* The decoder flags a gap before it emits the message that revealed it, so the books go
     * stale before that message's own update could be applied to them. */
    if (s->dec.resubscribe_needed)
        books_stale(s);
    cb_product_t *p = ev->symbol[0] ? find_product(s, ev->symbol) : NULL;
    if (ev->kind == ND_MD_BOOK_UPDATE) {
        if (!apply_book(s, p, &ev->u.book))
            return;
    } else if (s->venue == ND_VENUE_COINBASE_EXCHANGE && p && !exchange_fresh(s, p, ev))
        return;
    s->sink(s->ctx, ev);
}

/* ---- Connection callbacks ------------------------------------------------------------------ */

static void on_open(void *ctx, nd_ws_t *ws)
{
    nd_coinbase_stream_t *s = ctx;
    s->ws = ws; /* the first open may run inside nd_ws_create */
    s->stats.connects++;
    s->last_rx_mono_ns = nd_clock_mono_ns(s->clock);
    /* A new connection numbers its messages from 0 again. */
    s->dec.last_sequence_num = -1;
    s->dec.resubscribe_needed = false;
    books_stale(s);
    if (s->venue == ND_VENUE_COINBASE) {
        for (uint32_t i = 0; i < s->channel_count; i++)
            at_send(s, true, s->channels[i]);
    } else {
        exchange_subscribe(s);
    }
}

static void on_message(void *ctx, const char *data, size_t len, int64_t recv_ns)
{
    nd_coinbase_stream_t *s = ctx;
    s->last_rx_mono_ns = nd_clock_mono_ns(s->clock);
    (void)nd_coinbase_decode_msg(&s->dec, data, len, recv_ns);
    if (s->held_count > 0)
        flush_trades(s);
    if (s->dec.resubscribe_needed) {
        s->dec.resubscribe_needed = false;
        resubscribe(s);
    }
}

static void on_close(void *ctx, int code, int64_t retry_in_ns)
{
    nd_coinbase_stream_t *s = ctx;
    books_stale(s);
    ND_LOG(ND_LOG_INFO, "venue=%s connection closed code=%d retry_in_ms=%lld",
           nd_venue_name(s->venue), code, (long long)(retry_in_ns / ND_NS_PER_MS));
}

/* ---- Life cycle ---------------------------------------------------------------------------- */

static nd_err_t copy_channels(nd_coinbase_stream_t *s, const nd_coinbase_stream_config_t *cfg,
                              char *err, size_t err_len)
{
    if (cfg->channel_count == 0 || cfg->channel_count > ND_COINBASE_STREAM_CHANNELS_MAX) {
        snprintf(err, err_len, "coinbase ws: 1 to %d channels", ND_COINBASE_STREAM_CHANNELS_MAX);
        return ND_EINVAL;
    }
    const char *hb = heartbeat_channel(s->venue);
    snprintf(s->channels[0], CHANNEL_NAME_MAX, "%s", hb);
    s->channel_count = 1;
    for (uint32_t i = 0; i < cfg->channel_count; i++) {
        const char *c = cfg->channels[i];
        if (!name_ok(c, CHANNEL_NAME_MAX)) {
            snprintf(err, err_len, "coinbase ws: bad channel name #%u", i);
            return ND_EINVAL;
        }
        if (strcmp(c, hb) == 0)
            continue;
        if (is_private(c) && s->venue == ND_VENUE_COINBASE &&
            (!cfg->key_name || !cfg->private_key_pem)) {
            snprintf(err, err_len, "coinbase ws: channel %s needs key_name and private_key_pem", c);
            return ND_EINVAL;
        }
        snprintf(s->channels[s->channel_count++], CHANNEL_NAME_MAX, "%s", c);
    }
    return ND_OK;
}

static nd_err_t make_products(nd_coinbase_stream_t *s, const nd_coinbase_stream_config_t *cfg,
                              char *err, size_t err_len)
{
    if (cfg->product_count == 0 || cfg->product_count > ND_COINBASE_STREAM_PRODUCTS_MAX) {
        snprintf(err, err_len, "coinbase ws: 1 to %d products", ND_COINBASE_STREAM_PRODUCTS_MAX);
        return ND_EINVAL;
    }
    s->products = nd_calloc(cfg->product_count, sizeof *s->products);
    if (!s->products)
        return ND_ENOMEM;
    bool books = false;
    for (uint32_t i = 0; i < s->channel_count; i++)
        books = books || is_book_channel(s->venue, s->channels[i]);
    uint32_t levels = cfg->book_levels_max ? cfg->book_levels_max : ND_BOOK_LEVELS_MAX;
    for (uint32_t i = 0; i < cfg->product_count; i++) {
        cb_product_t *p = &s->products[i];
        if (!name_ok(cfg->product_ids[i], ND_NAME_MAX)) {
            snprintf(err, err_len, "coinbase ws: bad product id #%u", i);
            return ND_EINVAL;
        }
        snprintf(p->id, sizeof p->id, "%s", cfg->product_ids[i]);
        p->last_ticker_seq = p->last_match_seq = p->last_trade_id = -1;
        s->product_count = i + 1; /* destroy releases exactly the books made so far */
        if (books) {
            nd_err_t rc = nd_book_init(&p->book, levels);
            if (rc != ND_OK) {
                snprintf(err, err_len, "coinbase ws: book_levels_max must be 1..%d",
                         ND_BOOK_LEVELS_MAX);
                return rc;
            }
            p->has_book = true;
        }
    }
    return ND_OK;
}

/* Copies the credentials and proves them once, so a bad key fails at create, not at every
 * reconnect. */
static nd_err_t copy_credentials(nd_coinbase_stream_t *s, const nd_coinbase_stream_config_t *cfg,
                                 char *err, size_t err_len)
{
    if (s->venue == ND_VENUE_COINBASE_EXCHANGE && cfg->exchange_secret) {
        s->secret = *cfg->exchange_secret;
        s->has_secret = true;
        char msg[512];
        size_t n;
        const char *chan = "heartbeat", *id = "BTC-USD";
        return nd_coinbase_exchange_subscribe_msg(&id, 1, &chan, 1, &s->secret, "0", msg,
                                                  sizeof msg, &n, err, err_len);
    }
    if (s->venue != ND_VENUE_COINBASE || !cfg->key_name || !cfg->private_key_pem)
        return ND_OK;
    size_t n = strlen(cfg->private_key_pem);
    if (snprintf(s->key_name, sizeof s->key_name, "%s", cfg->key_name) >= (int)sizeof s->key_name ||
        n == 0 || n >= PEM_MAX) {
        snprintf(err, err_len, "coinbase ws: key name or private key too long or empty");
        return ND_EINVAL;
    }
    if (!(s->pem = nd_alloc(n + 1)))
        return ND_ENOMEM;
    memcpy(s->pem, cfg->private_key_pem, n + 1);
    char jwt[ND_COINBASE_JWT_MAX];
    nd_err_t rc = make_jwt(s, jwt, sizeof jwt, err, err_len);
    explicit_bzero(jwt, sizeof jwt);
    return rc;
}

static nd_err_t start(nd_coinbase_stream_t *s, const nd_coinbase_stream_config_t *cfg,
                      char *err, size_t err_len)
{
    const char *url = cfg->url ? cfg->url
                               : s->venue == ND_VENUE_COINBASE ? ND_COINBASE_WS_URL
                                                               : ND_COINBASE_EXCHANGE_WS_URL;
    /* Coinbase: 8 connection attempts per second per IP, 8 unauthenticated messages per
     * second on Advanced Trade (100 client messages per second on the Exchange feed). */
    nd_ws_config_t wc = {
        .url = url, .seed = cfg->seed,
        .backoff_min_ns = cfg->backoff_min_ns > 0 ? cfg->backoff_min_ns : ND_NS_PER_SEC,
        .backoff_max_ns = cfg->backoff_max_ns > 0 ? cfg->backoff_max_ns : 60 * ND_NS_PER_SEC,
        .send_per_sec_max = s->venue == ND_VENUE_COINBASE ? 8 : 50,
        .connects_per_window_max = 8, .connect_window_ns = ND_NS_PER_SEC,
        .uv_loop = cfg->uv_loop};
    nd_ws_callbacks_t cb = {on_open, on_message, on_close, s};
    nd_ws_t *ws = NULL;
    nd_err_t rc = nd_ws_create(&wc, &cb, s->clock, &ws, err, err_len);
    if (rc == ND_OK)
        s->ws = ws;
    return rc;
}

nd_err_t nd_coinbase_stream_create(nd_venue_t venue, const nd_coinbase_stream_config_t *cfg,
                                   const nd_clock_t *clock, nd_md_sink_cb sink, void *ctx,
                                   nd_coinbase_stream_t **out, char *err, size_t err_len)
{
    ND_ASSERT(venue == ND_VENUE_COINBASE || venue == ND_VENUE_COINBASE_EXCHANGE);
    ND_ASSERT(cfg != NULL);
    ND_ASSERT(clock != NULL);
    ND_ASSERT(sink != NULL);
    ND_ASSERT(out != NULL);
    ND_ASSERT(cfg->product_ids != NULL);
    ND_ASSERT(cfg->channels != NULL);
    nd_coinbase_stream_t *s = nd_calloc(1, sizeof *s);
    if (!s)
        return ND_ENOMEM;
    s->venue = venue;
    s->clock = clock;
    s->sink = sink;
    s->ctx = ctx;
    s->stale_after_ns = cfg->stale_after_ns ? cfg->stale_after_ns : 30 * ND_NS_PER_SEC;
    s->trades_live_only = cfg->trades_live_only && venue == ND_VENUE_COINBASE;
    nd_err_t rc = ND_OK;
    if (s->trades_live_only && !(s->held = nd_calloc(HELD_TRADES_MAX, sizeof *s->held)))
        rc = ND_ENOMEM;
    if (rc == ND_OK)
        rc = copy_channels(s, cfg, err, err_len);
    if (rc == ND_OK)
        rc = make_products(s, cfg, err, err_len);
    if (rc == ND_OK)
        rc = copy_credentials(s, cfg, err, err_len);
    if (rc == ND_OK)
        rc = nd_coinbase_decoder_init(&s->dec, venue, on_event, s);
    if (rc == ND_OK)
        rc = start(s, cfg, err, err_len);
    if (rc != ND_OK) {
        nd_coinbase_stream_destroy(s);
        return rc;
    }
    *out = s;
    return ND_OK;
}

nd_err_t nd_coinbase_stream_service(nd_coinbase_stream_t *s, int timeout_ms)
{
    ND_ASSERT(s != NULL);
    ND_ASSERT(s->ws != NULL);
    ND_ASSERT(timeout_ms >= 0);
    int64_t now = nd_clock_mono_ns(s->clock);
    /* Heartbeats arrive every second: silence this long means a dead connection that TCP has
     * not noticed yet. */
    if (s->stale_after_ns > 0 && nd_ws_connected(s->ws) &&
        now - s->last_rx_mono_ns > s->stale_after_ns) {
        s->stats.stale_reconnects++;
        s->last_rx_mono_ns = now;
        ND_LOG(ND_LOG_WARN, "venue=%s no message for %lld ms: reconnecting",
               nd_venue_name(s->venue), (long long)(s->stale_after_ns / ND_NS_PER_MS));
        nd_ws_reconnect(s->ws);
    }
    return nd_ws_service(s->ws, timeout_ms);
}

const nd_book_t *nd_coinbase_stream_book(const nd_coinbase_stream_t *s, const char *product_id)
{
    ND_ASSERT(s != NULL);
    ND_ASSERT(product_id != NULL);
    for (uint32_t i = 0; i < s->product_count; i++) {
        const cb_product_t *p = &s->products[i];
        if (strcmp(p->id, product_id) == 0)
            return p->has_book && p->live ? &p->book : NULL;
    }
    return NULL;
}

void nd_coinbase_stream_stats(const nd_coinbase_stream_t *s, nd_coinbase_stream_stats_t *out)
{
    ND_ASSERT(s != NULL);
    ND_ASSERT(out != NULL);
    *out = s->stats;
    out->sequence_gaps = s->dec.gaps;
}

uint32_t nd_coinbase_stream_resyncs(const nd_coinbase_stream_t *s)
{
    ND_ASSERT(s != NULL);
    return s->stats.connects + (uint32_t)s->stats.resubscribes;
}

void nd_coinbase_stream_reconnect(nd_coinbase_stream_t *s)
{
    ND_ASSERT(s != NULL);
    if (s->ws)
        nd_ws_reconnect(s->ws);
}

const nd_venue_counters_t *nd_coinbase_stream_counters(const nd_coinbase_stream_t *s)
{
    ND_ASSERT(s != NULL);
    return &s->dec.counters;
}

void nd_coinbase_stream_destroy(nd_coinbase_stream_t *s)
{
    if (!s)
        return;
    nd_ws_destroy(s->ws); /* first: no callback may run into a half-freed client */
    if (s->dec._tok)
        nd_coinbase_decoder_deinit(&s->dec);
    for (uint32_t i = 0; i < s->product_count; i++)
        if (s->products[i].has_book)
            nd_book_deinit(&s->products[i].book);
    nd_free(s->products);
    nd_free(s->held);
    if (s->pem) {
        explicit_bzero(s->pem, strlen(s->pem));
        nd_free(s->pem);
    }
    nd_secret_wipe(&s->secret);
    explicit_bzero(s->key_name, sizeof s->key_name);
    nd_free(s);
}
