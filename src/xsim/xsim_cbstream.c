/* xsim_cbstream.c: Coinbase Advanced Trade WebSocket channels as exchange-sim serves them.
 *
 * One connection (any path, as wss://advanced-trade-ws.coinbase.com serves on "/") takes
 * {"type":"subscribe"|"unsubscribe","product_ids":[..],"channel":C[,"jwt":J]} messages, one
 * channel each: level2 (sent as channel "l2_data": a snapshot of the whole book, then updates
 * with the absolute quantity of every level an action changed), market_trades (a snapshot of
 * the last 50 trades, then each trade; side is the taker's), ticker (on every trade: last price,
 * volume and range since the exchange started, best bid and ask), heartbeats (every second, a
 * Go time.String() current_time and a counter) and user (its JWT verified like REST's, without
 * the uri claim: a snapshot of the open orders, then every change with status, cumulative and
 * leaves quantity, average price and total fees). Every answer is acknowledged by a
 * "subscriptions" message listing what the connection has. Each message carries the envelope
 * {channel, client_id, timestamp, sequence_num, events}; sequence_num counts every message of
 * the connection from 0. The faults act on market messages (level2, market_trades, ticker):
 * drop consumes the message's sequence_num without sending it, duplicate sends it twice, delay
 * holds it; gap skips one sequence_num on every connection. Market times are the market's
 * clock (a replay's recorded times), heartbeats the wall clock. Invariant: the numbers a
 * connection receives increase by one except where a fault says otherwise. */
#include "xsim_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CH_L2 = 1, CH_TRADES = 2, CH_TICKER = 4, CH_HB = 8, CH_USER = 16 };
#define MARKET_CHANNELS (CH_L2 | CH_TRADES | CH_TICKER)
#define RECENT_MAX 50       /* market_trades snapshot */
#define DELAYED_MAX 1024
#define DIRTY_MAX (1u << 20)
#define USER_BATCH 50       /* user snapshot orders per event, as Coinbase batches them */

static const struct {
    const char *name;
    unsigned bit;
} channels[] = {{"level2", CH_L2}, {"l2_data", CH_L2}, {"market_trades", CH_TRADES},
                {"ticker", CH_TICKER}, {"heartbeats", CH_HB}, {"user", CH_USER}};

typedef struct cb_conn {
    nd__xsim_conn_t *conn;
    unsigned mask;
    int64_t seq;            /* the next sequence_num */
    int64_t hb_counter;
    int64_t next_hb_ns;     /* wall */
} cb_conn_t;

typedef struct delayed {
    cb_conn_t *to;
    char *text;
    size_t len;
    int64_t due_ns;
} delayed_t;

typedef struct level {
    int side;
    int64_t px;
} level_t;

struct nd__xsim_cb {
    nd_xsim_t *x;
    nd_xsim_api_t *api;
    const nd_clock_t *clock;
    int64_t start_mono_ns;
    char product[ND_NAME_MAX * 2];
    cb_conn_t *conns[ND_XSIM_CONNECTIONS_MAX];
    uint32_t count;
    level_t *dirty;
    size_t dirty_count, dirty_cap;
    nd_xsim_public_trade_t recent[RECENT_MAX]; /* ring, newest at recent_at - 1 */
    uint32_t recent_at, recent_count;
    bool traded;            /* a trade since the last update: the ticker is due */
    int64_t last_px, first_px, low, high, volume;
    int64_t drop_n, dup_n, delay_n, delay_ns;
    int64_t user_drop_n;    /* user channel updates not sent (the user_drop fault) */
    bool user_drop_silent;  /* ... without spending their sequence_num (no gap to see) */
    int64_t trade_sent_mono_ns; /* the last market_trades message handed to the sockets */
    delayed_t delayed[DELAYED_MAX];
    uint32_t delayed_count;
};

/* ---- Envelopes and sending ----------------------------------------------------------------- */

static void time_text(int64_t ns, char out[40])
{
    nd_civil_t c;
    nd_time_to_civil(ns, &c);
    snprintf(out, 40, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", c.year, c.month, c.day, c.hour,
             c.minute, c.second, (long long)c.nanos);
}

/* {"channel":..,"client_id":"","timestamp":..,"sequence_num":seq,"events":events} (nd_alloc). */
static char *envelope(const char *channel, int64_t ts_ns, int64_t seq, const char *events,
                      size_t *len)
{
    char ts[40];
    time_text(ts_ns, ts);
    size_t cap = strlen(events) + strlen(channel) + 160;
    char *out = nd_alloc(cap);
    if (!out)
        return NULL;
    int n = snprintf(out, cap, "{\"channel\":\"%s\",\"client_id\":\"\",\"timestamp\":\"%s\","
                     "\"sequence_num\":%lld,\"events\":%s}", channel, ts, (long long)seq, events);
    ND_ASSERT(n > 0 && (size_t)n < cap);
    *len = (size_t)n;
    return out;
}

/* Dumps and releases events (a JSON array); NULL when out of memory. */
static char *events_text(json_t *events)
{
    size_t len;
    return nd__xsim_json_take(events, JSON_COMPACT | JSON_PRESERVE_ORDER, &len);
}

/* One message to one connection, taking the next sequence_num. */
static void send_one(cb_conn_t *cc, const char *channel, int64_t ts_ns, const char *events)
{
    size_t len = 0;
    char *text = envelope(channel, ts_ns, cc->seq++, events, &len);
    if (text)
        nd__xsim_ws_send(cc->conn, ND__WS_TEXT, text, len);
    nd_free(text);
}

/* A market message to every connection on bit, through the faults. */
static void publish(nd__xsim_cb_t *cb, unsigned bit, const char *channel, int64_t ts_ns,
                    char *events)
{
    bool any = false;
    for (uint32_t i = 0; i < cb->count; i++)
        any = any || (cb->conns[i]->mask & bit);
    if (!events || !any) {
        nd_free(events);
        return;
    }
    bool drop = cb->drop_n > 0 && cb->drop_n--;
    bool dup = !drop && cb->dup_n > 0 && cb->dup_n--;
    bool delay = !drop && !dup && cb->delay_n > 0 && cb->delay_n--;
    for (uint32_t i = 0; i < cb->count; i++) {
        cb_conn_t *cc = cb->conns[i];
        if (!(cc->mask & bit))
            continue;
        size_t len = 0;
        char *text = envelope(channel, ts_ns, cc->seq++, events, &len);
        if (!text || drop) { /* the number is spent: the client sees a gap */
            nd_free(text);
            continue;
        }
        if (delay && cb->delayed_count < DELAYED_MAX) {
            cb->delayed[cb->delayed_count++] =
                (delayed_t){cc, text, len, nd_clock_now_ns(cb->clock) + cb->delay_ns};
            continue;
        }
        nd__xsim_ws_send(cc->conn, ND__WS_TEXT, text, len);
        if (dup)
            nd__xsim_ws_send(cc->conn, ND__WS_TEXT, text, len);
        nd_free(text);
    }
    nd_free(events);
}

/* ---- Market data --------------------------------------------------------------------------- */

static json_t *level_json(const nd__xsim_cb_t *cb, int side, int64_t px, int64_t qty)
{
    char t[40];
    time_text(nd_xsim_market_ns(cb->x), t);
    return json_pack("{s:s,s:s,s:o,s:o}", "side", side == ND_SIDE_BUY ? "bid" : "offer",
                     "event_time", t, "price_level", nd__xsim_cb_dec(px), "new_quantity",
                     nd__xsim_cb_dec(qty));
}

/* The whole book, best first per side, as one l2_data snapshot event array. */
static json_t *l2_snapshot(const nd__xsim_cb_t *cb)
{
    const nd_xsim_book_t *book = nd_xsim_book(cb->x);
    static const nd_side_t sides[2] = {ND_SIDE_BUY, ND_SIDE_SELL};
    json_t *updates = json_array();
    for (int k = 0; updates && k < 2; k++) {
        nd_side_t side = sides[k];
        size_t n = nd_xsim_book_count(book, side);
        for (size_t i = 0; i < n;) {
            int64_t px = nd_xsim_book_at(book, side, i)->px, qty = 0;
            for (; i < n && nd_xsim_book_at(book, side, i)->px == px; i++)
                qty += nd_xsim_book_at(book, side, i)->qty;
            json_array_append_new(updates, level_json(cb, side, px, qty));
        }
    }
    return json_pack("[{s:s,s:s,s:o}]", "type", "snapshot", "product_id", cb->product, "updates",
                     updates);
}

static int level_cmp(const void *a, const void *b)
{
    const level_t *x = a, *y = b;
    if (x->side != y->side)
        return x->side < y->side ? -1 : 1;
    return x->px < y->px ? -1 : x->px > y->px;
}

/* The levels changed since the last update, each once, as an l2_data update. */
static void flush_levels(nd__xsim_cb_t *cb)
{
    if (cb->dirty_count == 0)
        return;
    qsort(cb->dirty, cb->dirty_count, sizeof *cb->dirty, level_cmp);
    const nd_xsim_book_t *book = nd_xsim_book(cb->x);
    json_t *updates = json_array();
    for (size_t i = 0; updates && i < cb->dirty_count; i++) {
        const level_t *l = &cb->dirty[i];
        if (i > 0 && level_cmp(l, &cb->dirty[i - 1]) == 0)
            continue;
        json_array_append_new(updates, level_json(cb, l->side, l->px,
                                                  nd__xsim_level_qty(book, (nd_side_t)l->side,
                                                                     l->px)));
    }
    cb->dirty_count = 0;
    publish(cb, CH_L2, "l2_data", nd_xsim_market_ns(cb->x),
            events_text(json_pack("[{s:s,s:s,s:o}]", "type", "update", "product_id", cb->product,
                                  "updates", updates)));
}

static json_t *trade_json(const nd__xsim_cb_t *cb, const nd_xsim_public_trade_t *t)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)t->id);
    return json_pack("{s:s,s:s,s:o,s:o,s:s,s:o}", "trade_id", id, "product_id", cb->product,
                     "price", nd__xsim_cb_dec(t->px), "size", nd__xsim_cb_dec(t->qty), "side",
                     t->buyer_is_maker ? "SELL" : "BUY", "time", nd__xsim_cb_time(t->ts_ns));
}

static json_t *ticker_json(const nd__xsim_cb_t *cb, const char *type)
{
    const nd_xsim_book_t *book = nd_xsim_book(cb->x);
    int64_t bid = nd_xsim_book_best(book, ND_SIDE_BUY), ask = nd_xsim_book_best(book, ND_SIDE_SELL);
    int64_t chg = 0;
    if (cb->first_px > 0)
        (void)nd_fixed_mul_div(cb->last_px - cb->first_px, 100 * 100000000LL, cb->first_px,
                               ND_ROUND_HALF_EVEN, &chg);
    json_t *t = json_pack("{s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "type", "ticker",
                          "product_id", cb->product, "price", nd__xsim_cb_dec(cb->last_px),
                          "volume_24_h", nd__xsim_cb_dec(cb->volume), "low_24_h",
                          nd__xsim_cb_dec(cb->low), "high_24_h", nd__xsim_cb_dec(cb->high),
                          "low_52_w", nd__xsim_cb_dec(cb->low), "high_52_w",
                          nd__xsim_cb_dec(cb->high), "price_percent_chg_24_h",
                          nd__xsim_cb_dec(chg));
    if (t) {
        json_object_set_new(t, "best_bid", nd__xsim_cb_dec(bid));
        json_object_set_new(t, "best_bid_quantity",
                            nd__xsim_cb_dec(bid ? nd__xsim_level_qty(book, ND_SIDE_BUY, bid) : 0));
        json_object_set_new(t, "best_ask", nd__xsim_cb_dec(ask));
        json_object_set_new(t, "best_ask_quantity",
                            nd__xsim_cb_dec(ask ? nd__xsim_level_qty(book, ND_SIDE_SELL, ask) : 0));
    }
    return json_pack("[{s:s,s:[o]}]", "type", type, "tickers", t);
}

static void on_before(void *ctx, int64_t ts_ns)
{
    (void)ctx;
    (void)ts_ns;
}

static void on_level(void *ctx, nd_side_t side, int64_t px)
{
    nd__xsim_cb_t *cb = ctx;
    if (cb->dirty_count == DIRTY_MAX)
        return; /* cannot happen between two updates of one action; never unbounded */
    level_t *e = nd_array_push(&cb->dirty, &cb->dirty_cap, &cb->dirty_count, sizeof *e, 256);
    if (e)
        *e = (level_t){(int)side, px};
}

static void on_update(void *ctx, int64_t update_id, int64_t ts_ns, unsigned flags)
{
    nd__xsim_cb_t *cb = ctx;
    (void)update_id;
    (void)flags;
    flush_levels(cb);
    if (cb->traded) {
        cb->traded = false;
        publish(cb, CH_TICKER, "ticker", ts_ns, events_text(ticker_json(cb, "update")));
    }
}

static void on_trade(void *ctx, const nd_xsim_public_trade_t *t)
{
    nd__xsim_cb_t *cb = ctx;
    cb->recent[cb->recent_at] = *t;
    cb->recent_at = (cb->recent_at + 1) % RECENT_MAX;
    if (cb->recent_count < RECENT_MAX)
        cb->recent_count++;
    if (cb->first_px == 0)
        cb->first_px = cb->low = cb->high = t->px;
    cb->last_px = t->px;
    cb->low = t->px < cb->low ? t->px : cb->low;
    cb->high = t->px > cb->high ? t->px : cb->high;
    cb->volume += t->qty;
    cb->traded = true;
    cb->trade_sent_mono_ns = nd_clock_mono_ns(cb->clock); /* before the first write */
    publish(cb, CH_TRADES, "market_trades", t->ts_ns,
            events_text(json_pack("[{s:s,s:[o]}]", "type", "update", "trades", trade_json(cb, t))));
}

/* ---- The user channel ---------------------------------------------------------------------- */

static void order_fees(const nd_xsim_t *x, int64_t id, int64_t *fees, int64_t *fills)
{
    *fees = *fills = 0;
    for (size_t i = 0; i < nd_xsim_trade_count(x); i++) {
        const nd_xsim_trade_t *t = nd_xsim_trade_at(x, i);
        if (t->order_id == id) {
            *fees += t->commission;
            (*fills)++;
        }
    }
}

static json_t *user_order(const nd__xsim_cb_t *cb, const nd_xsim_user_order_t *o)
{
    char id[37], nfills[24];
    int64_t fees, fills, avg = 0;
    nd__xsim_cb_order_uuid(o->id, id);
    order_fees(cb->x, o->id, &fees, &fills);
    snprintf(nfills, sizeof nfills, "%lld", (long long)fills);
    if (o->executed_qty > 0)
        (void)nd_fixed_mul_div(o->cum_quote, 100000000LL, o->executed_qty, ND_ROUND_HALF_EVEN,
                               &avg);
    const char *status = nd__xsim_cb_status(o);
    bool open = strcmp(status, "OPEN") == 0, buy = o->side == ND_SIDE_BUY;
    json_t *j = json_pack("{s:s,s:s,s:o,s:o,s:o,s:o,s:s,s:s,s:o,s:s,s:s}", "order_id", id,
                          "client_order_id", o->client_id, "cumulative_quantity",
                          nd__xsim_cb_dec(o->executed_qty), "leaves_quantity",
                          nd__xsim_cb_dec(open ? o->orig_qty - o->executed_qty : 0), "avg_price",
                          nd__xsim_cb_dec(avg), "total_fees", nd__xsim_cb_dec(fees), "status",
                          status, "product_id", cb->product, "creation_time",
                          nd__xsim_cb_time(o->time_ns), "order_side", buy ? "BUY" : "SELL",
                          "order_type", o->type == ND_XSIM_MARKET ? "Market" : "Limit");
    if (!j)
        return NULL;
    json_object_set_new(j, "cancel_reason", json_string(o->status == ND_XSIM_CANCELED
                                                            ? "User requested cancel" : ""));
    json_object_set_new(j, "reject_reason", json_string(""));
    json_object_set_new(j, "total_value_after_fees",
                        nd__xsim_cb_dec(buy ? o->cum_quote + fees : o->cum_quote - fees));
    json_object_set_new(j, "product_type", json_string("SPOT"));
    json_object_set_new(j, "time_in_force", json_string(o->type == ND_XSIM_MARKET
                                                            ? "IMMEDIATE_OR_CANCEL"
                                                            : "GOOD_UNTIL_CANCELLED"));
    json_object_set_new(j, "trigger_status", json_string("INVALID_ORDER_TYPE"));
    json_object_set_new(j, "limit_price", nd__xsim_cb_dec(o->px));
    json_object_set_new(j, "filled_value", nd__xsim_cb_dec(o->cum_quote));
    json_object_set_new(j, "number_of_fills", json_string(nfills));
    json_object_set_new(j, "outstanding_hold_amount", nd__xsim_cb_dec(open ? o->locked : 0));
    return j;
}

static void on_order(void *ctx, const nd_xsim_user_order_t *o, const char *exec,
                     const nd_xsim_trade_t *fill)
{
    nd__xsim_cb_t *cb = ctx;
    char *events = events_text(json_pack("[{s:s,s:[o]}]", "type", "update", "orders",
                                         user_order(cb, o)));
    int64_t ts = fill ? fill->time_ns : o->update_ns;
    bool drop = cb->user_drop_n > 0;
    if (drop) {
        cb->user_drop_n--;
        ND_LOG(ND_LOG_INFO, "xsim coinbase user update dropped: %s %s (%s)", o->client_id, exec,
               cb->user_drop_silent ? "silent" : "sequence_num spent");
    }
    for (uint32_t i = 0; events && i < cb->count; i++) {
        if (!(cb->conns[i]->mask & CH_USER))
            continue;
        if (!drop)
            send_one(cb->conns[i], "user", ts, events);
        else if (!cb->user_drop_silent)
            cb->conns[i]->seq++; /* the number is spent: the client sees a gap */
    }
    nd_free(events);
}

/* The open orders, in events of at most USER_BATCH orders (one empty event when none). */
static void user_snapshot(nd__xsim_cb_t *cb, cb_conn_t *cc)
{
    json_t *events = json_array(), *orders = json_array();
    for (int64_t id = 1; events && orders && id <= nd_xsim_order_count(cb->x); id++) {
        const nd_xsim_user_order_t *o = nd_xsim_order(cb->x, id);
        if (strcmp(nd__xsim_cb_status(o), "OPEN") != 0)
            continue;
        if (json_array_size(orders) == USER_BATCH) {
            json_array_append_new(events, json_pack("{s:s,s:o}", "type", "snapshot", "orders",
                                                    orders));
            orders = json_array();
        }
        json_array_append_new(orders, user_order(cb, o));
    }
    json_array_append_new(events, json_pack("{s:s,s:o}", "type", "snapshot", "orders", orders));
    char *text = events_text(events);
    if (text)
        send_one(cc, "user", nd_xsim_market_ns(cb->x), text);
    nd_free(text);
}

/* ---- Subscriptions ------------------------------------------------------------------------- */

static cb_conn_t *find(const nd__xsim_cb_t *cb, const nd__xsim_conn_t *c)
{
    for (uint32_t i = 0; i < cb->count; i++)
        if (cb->conns[i]->conn == c)
            return cb->conns[i];
    return NULL;
}

static void send_error(nd__xsim_conn_t *c, const char *message)
{
    char text[200];
    int n = snprintf(text, sizeof text, "{\"type\":\"error\",\"message\":\"%s\"}", message);
    nd__xsim_ws_send(c, ND__WS_TEXT, text, (size_t)n);
}

/* {"subscriptions":{"level2":["BTC-USD"],"heartbeats":["heartbeats"],...}} as the ack. */
static void send_subscriptions(nd__xsim_cb_t *cb, cb_conn_t *cc)
{
    json_t *subs = json_object();
    for (size_t i = 0; subs && i < sizeof channels / sizeof channels[0]; i++) {
        if (!(cc->mask & channels[i].bit) || strcmp(channels[i].name, "l2_data") == 0)
            continue;
        json_object_set_new(subs, channels[i].name,
                            json_pack("[s]", channels[i].bit == CH_HB ? "heartbeats"
                                                                      : cb->product));
    }
    char *text = events_text(json_pack("[{s:o}]", "subscriptions", subs));
    if (text)
        send_one(cc, "subscriptions", nd_clock_now_ns(cb->clock), text);
    nd_free(text);
}

/* What a new subscription sends first: the book, the recent trades, the ticker, the orders. */
static void subscribed(nd__xsim_cb_t *cb, cb_conn_t *cc, unsigned bit)
{
    int64_t ts = nd_xsim_market_ns(cb->x);
    char *text = NULL;
    if (bit & MARKET_CHANNELS) /* a held replay starts with its first market client */
        nd_xsim_start(cb->x, nd_clock_now_ns(cb->clock));
    if (bit == CH_L2)
        text = events_text(l2_snapshot(cb));
    if (bit == CH_TICKER && cb->last_px > 0)
        text = events_text(ticker_json(cb, "snapshot"));
    if (bit == CH_TRADES) {
        json_t *trades = json_array();
        for (uint32_t k = 1; trades && k <= cb->recent_count; k++) /* newest first */
            json_array_append_new(trades, trade_json(cb, &cb->recent[(cb->recent_at + RECENT_MAX -
                                                                     k) % RECENT_MAX]));
        text = events_text(json_pack("[{s:s,s:o}]", "type", "snapshot", "trades", trades));
    }
    if (bit == CH_USER)
        user_snapshot(cb, cc);
    if (bit == CH_HB)
        cc->next_hb_ns = nd_clock_now_ns(cb->clock) + ND_NS_PER_SEC;
    if (text)
        send_one(cc, bit == CH_L2 ? "l2_data" : bit == CH_TICKER ? "ticker" : "market_trades",
                 ts, text);
    nd_free(text);
}

static unsigned channel_bit(const char *name)
{
    for (size_t i = 0; name && i < sizeof channels / sizeof channels[0]; i++)
        if (strcmp(name, channels[i].name) == 0)
            return channels[i].bit;
    return 0;
}

/* product_ids must name this product (heartbeats and user may leave them out). */
static bool products_ok(const nd__xsim_cb_t *cb, json_t *ids, unsigned bit)
{
    if (!ids)
        return bit == CH_HB || bit == CH_USER;
    if (!json_is_array(ids) || (json_array_size(ids) == 0 && bit != CH_HB && bit != CH_USER))
        return false;
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v) {
        if (!json_is_string(v) || strcmp(json_string_value(v), cb->product) != 0)
            return false;
    }
    return true;
}

static void handle(nd__xsim_cb_t *cb, cb_conn_t *cc, json_t *req)
{
    const char *type = json_string_value(json_object_get(req, "type"));
    const char *channel = json_string_value(json_object_get(req, "channel"));
    unsigned bit = channel_bit(channel);
    bool sub = type && strcmp(type, "subscribe") == 0;
    if (!type || (!sub && strcmp(type, "unsubscribe") != 0) || !bit ||
        !products_ok(cb, json_object_get(req, "product_ids"), bit)) {
        send_error(cc->conn, "Failure to subscribe");
        return;
    }
    char why[160] = "";
    if (sub && bit == CH_USER &&
        !nd__xsim_cb_jwt_ok(nd__xsim_api_config(cb->api),
                            json_string_value(json_object_get(req, "jwt")), NULL, NULL, NULL,
                            nd_clock_now_ns(cb->clock) + nd__xsim_api_skew(cb->api), why,
                            sizeof why)) {
        ND_LOG(ND_LOG_INFO, "xsim coinbase user subscribe refused: %s", why);
        send_error(cc->conn, "authentication failure");
        return;
    }
    if (!sub) {
        cc->mask &= ~bit;
    } else if (!(cc->mask & bit)) {
        cc->mask |= bit;
        subscribed(cb, cc, bit);
    }
    send_subscriptions(cb, cc);
}

/* ---- Life ---------------------------------------------------------------------------------- */

int nd__xsim_cb_open(nd__xsim_cb_t *cb, nd__xsim_conn_t *c, const char *path)
{
    ND_ASSERT(cb != NULL && c != NULL && path != NULL);
    if (cb->count == ND_XSIM_CONNECTIONS_MAX)
        return 400;
    cb_conn_t *cc = nd_calloc(1, sizeof *cc);
    if (!cc)
        return 400;
    cc->conn = c;
    c->ws = true;
    c->coinbase = true;
    c->stream = cc;
    cb->conns[cb->count++] = cc;
    return 0;
}

void nd__xsim_cb_message(nd__xsim_cb_t *cb, nd__xsim_conn_t *c, const char *text, size_t len)
{
    cb_conn_t *cc = find(cb, c);
    if (!cc)
        return;
    json_t *req = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(req))
        send_error(c, "Failure to subscribe: the message is not a JSON object");
    else
        handle(cb, cc, req);
    json_decref(req);
}

void nd__xsim_cb_closed(nd__xsim_cb_t *cb, nd__xsim_conn_t *c)
{
    uint32_t kept = 0;
    cb_conn_t *cc = find(cb, c);
    for (uint32_t i = 0; i < cb->delayed_count; i++) {
        if (cb->delayed[i].to == cc)
            nd_free(cb->delayed[i].text);
        else
            cb->delayed[kept++] = cb->delayed[i];
    }
    cb->delayed_count = kept;
    for (uint32_t i = 0; i < cb->count; i++)
        if (cb->conns[i] == cc) {
            cb->conns[i] = cb->conns[--cb->count];
            break;
        }
    nd_free(cc);
    c->stream = NULL;
}

/* Go's time.String() of the wall clock with the monotonic reading, as Coinbase sends. */
static void heartbeat(nd__xsim_cb_t *cb, cb_conn_t *cc, int64_t now_ns)
{
    char events[256];
    nd_civil_t t;
    nd_time_to_civil(now_ns, &t);
    int64_t mono = nd_clock_mono_ns(cb->clock) - cb->start_mono_ns;
    snprintf(events, sizeof events,
             "[{\"current_time\":\"%04d-%02d-%02d %02d:%02d:%02d.%09lld +0000 UTC m=+%lld.%09lld\","
             "\"heartbeat_counter\":%lld}]", t.year, t.month, t.day, t.hour, t.minute, t.second,
             (long long)t.nanos, (long long)(mono / ND_NS_PER_SEC),
             (long long)(mono % ND_NS_PER_SEC), (long long)++cc->hb_counter);
    send_one(cc, "heartbeats", now_ns, events);
}

void nd__xsim_cb_tick(nd__xsim_cb_t *cb, int64_t now_ns)
{
    uint32_t kept = 0;
    for (uint32_t i = 0; i < cb->delayed_count; i++) {
        delayed_t *d = &cb->delayed[i];
        if (d->due_ns > now_ns) {
            cb->delayed[kept++] = *d;
            continue;
        }
        nd__xsim_ws_send(d->to->conn, ND__WS_TEXT, d->text, d->len);
        nd_free(d->text);
    }
    cb->delayed_count = kept;
    for (uint32_t i = 0; i < cb->count; i++) {
        cb_conn_t *cc = cb->conns[i];
        if ((cc->mask & CH_HB) && now_ns >= cc->next_hb_ns) {
            cc->next_hb_ns += ND_NS_PER_SEC;
            if (cc->next_hb_ns <= now_ns) /* a stalled loop: no burst of beats */
                cc->next_hb_ns = now_ns + ND_NS_PER_SEC;
            heartbeat(cb, cc, now_ns);
        }
    }
}

bool nd__xsim_cb_backlogged(const nd__xsim_cb_t *cb)
{
    for (uint32_t i = 0; i < cb->count; i++) {
        const nd__xsim_conn_t *c = cb->conns[i]->conn;
        if (c->queued > nd__xsim_conn_config(c)->send_queue_max / 2)
            return true;
    }
    return false;
}

void nd__xsim_cb_disconnect_all(nd__xsim_cb_t *cb)
{
    for (uint32_t i = 0; i < cb->count; i++)
        nd__xsim_ws_close(cb->conns[i]->conn, 1001, "Going away");
}

void nd__xsim_cb_fault(nd__xsim_cb_t *cb, const char *kind, int64_t count, int64_t delay_ns)
{
    if (strcmp(kind, "drop") == 0)
        cb->drop_n = count;
    else if (strcmp(kind, "duplicate") == 0)
        cb->dup_n = count;
    else if (strcmp(kind, "delay") == 0) {
        cb->delay_n = count;
        cb->delay_ns = delay_ns;
    } else if (strcmp(kind, "user_drop") == 0 || strcmp(kind, "user_drop_silent") == 0) {
        cb->user_drop_n = count;
        cb->user_drop_silent = strcmp(kind, "user_drop_silent") == 0;
    }
}

int64_t nd__xsim_cb_trade_sent_ns(const nd__xsim_cb_t *cb)
{
    return cb->trade_sent_mono_ns;
}

void nd__xsim_cb_gap(nd__xsim_cb_t *cb)
{
    for (uint32_t i = 0; i < cb->count; i++)
        cb->conns[i]->seq++; /* the next message's number jumps by one */
    ND_LOG(ND_LOG_INFO, "xsim fault applied: coinbase sequence_num gap on %u connections",
           cb->count);
}

nd_err_t nd__xsim_cb_create(nd_xsim_t *x, nd_xsim_api_t *api, const nd_clock_t *clock,
                            nd__xsim_cb_t **out)
{
    ND_ASSERT(x != NULL && api != NULL && clock != NULL && out != NULL);
    nd__xsim_cb_t *cb = nd_calloc(1, sizeof *cb);
    if (!cb)
        return ND_ENOMEM;
    cb->x = x;
    cb->api = api;
    cb->clock = clock;
    cb->start_mono_ns = nd_clock_mono_ns(clock);
    const nd_instrument_t *inst = &nd_xsim_config(x)->inst;
    snprintf(cb->product, sizeof cb->product, "%s-%s", inst->base, inst->quote);
    nd_xsim_listener_t l = {on_before, on_level, on_update, on_trade, on_order, cb};
    nd_xsim_set_listener(x, &l);
    *out = cb;
    return ND_OK;
}

void nd__xsim_cb_destroy(nd__xsim_cb_t *cb)
{
    if (!cb)
        return;
    for (uint32_t i = 0; i < cb->count; i++)
        nd_free(cb->conns[i]);
    for (uint32_t i = 0; i < cb->delayed_count; i++)
        nd_free(cb->delayed[i].text);
    nd_free(cb->dirty);
    nd_free(cb);
}
