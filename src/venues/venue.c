/* venue.c: venue names, bad-input counting with rate-limited logging, exact decimal parsing
 * and formatting for the hot path, and the JSON form of normalised events.
 *
 * Invariants: decimal parsing never rounds (extra non-zero digits are an error) and never
 * overflows silently; JSON output is deterministic (fixed key order, fixed decimals). */
#include "noderr/venue.h"

#include "noderr/assert.h"
#include "noderr/log.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char *const venue_names[ND_VENUE_COUNT] = {
    "none", "binance", "coinbase", "coinbase-exchange", "chainlink",
};

const char *nd_venue_name(nd_venue_t venue)
{
    if ((int)venue < 0 || venue >= ND_VENUE_COUNT)
        return "none";
    return venue_names[venue];
}

nd_err_t nd_venue_parse(const char *name, nd_venue_t *out)
{
    ND_ASSERT(name != NULL);
    ND_ASSERT(out != NULL);
    for (int i = 1; i < ND_VENUE_COUNT; i++) {
        if (strcmp(name, venue_names[i]) == 0) {
            *out = (nd_venue_t)i;
            return ND_OK;
        }
    }
    return ND_EINVAL;
}

const char *nd_md_kind_name(nd_md_kind_t kind)
{
    static const char *const names[] = {"none", "trade", "book_update", "bbo", "bar",
                                        "oracle_price", "order_update", "balance", "status"};
    if ((int)kind < 0 || (size_t)kind >= sizeof names / sizeof names[0])
        return "none";
    return names[kind];
}

const char *nd_md_order_status_name(nd_md_order_status_t status)
{
    static const char *const names[] = {"new", "partially_filled", "filled", "canceled",
                                        "rejected", "expired", "pending", "other"};
    if ((int)status < 0 || (size_t)status >= sizeof names / sizeof names[0])
        return "other";
    return names[status];
}

const char *nd_bad_input_name(nd_bad_input_t reason)
{
    static const char *const names[ND_BAD_COUNT] = {"malformed", "truncated", "unknown_type",
                                                    "out_of_order", "bad_number",
                                                    "missing_field", "too_large", "out_of_range",
                                                    "too_long", "bad_string", "unsorted",
                                                    "crossed"};
    if ((int)reason < 0 || reason >= ND_BAD_COUNT)
        return "unknown";
    return names[reason];
}

void nd_venue_bad(nd_venue_counters_t *counters, nd_bad_input_t reason, const char *detail)
{
    ND_ASSERT(counters != NULL);
    ND_ASSERT((int)reason >= 0 && reason < ND_BAD_COUNT);
    uint64_t n = ++counters->bad[reason];
    /* A hostile or broken feed can send millions of bad messages: log the first few of each
     * reason so the cause is visible, then one in a thousand so the log stays small. */
    if (n <= 10 || n % 1000 == 0)
        ND_LOG(ND_LOG_WARN, "venue=%s bad_input=%s count=%" PRIu64 " detail=\"%.120s\"",
               nd_venue_name(counters->venue), nd_bad_input_name(reason), n,
               detail ? detail : "");
}

uint64_t nd_venue_bad_total(const nd_venue_counters_t *counters)
{
    uint64_t total = 0;
    for (int i = 0; i < ND_BAD_COUNT; i++)
        total += counters->bad[i];
    return total;
}

static const int64_t pow10_table[19] = {
    1LL, 10LL, 100LL, 1000LL, 10000LL, 100000LL, 1000000LL, 10000000LL, 100000000LL,
    1000000000LL, 10000000000LL, 100000000000LL, 1000000000000LL, 10000000000000LL,
    100000000000000LL, 1000000000000000LL, 10000000000000000LL, 100000000000000000LL,
    1000000000000000000LL,
};

nd_err_t nd_venue_decimal(const char *text, size_t len, int decimals, int64_t *out)
{
    ND_ASSERT(decimals >= 0 && decimals <= 18);
    ND_ASSERT(text != NULL || len == 0);
    size_t i = 0;
    bool negative = false;
    if (i < len && (text[i] == '-' || text[i] == '+'))
        negative = text[i++] == '-';
    uint64_t value = 0;
    int digits = 0, frac = 0;
    bool point = false;
    for (; i < len; i++) {
        char c = text[i];
        if (c == '.' && !point) {
            point = true;
            continue;
        }
        if (c < '0' || c > '9')
            return ND_EPARSE;
        digits++;
        if (point && frac >= decimals) {
            if (c != '0')
                return ND_EPRECISION;
            continue;
        }
        if (point)
            frac++;
        if (value > (UINT64_MAX - 9) / 10)
            return ND_EOVERFLOW;
        value = value * 10 + (uint64_t)(c - '0');
    }
    if (digits == 0)
        return ND_EPARSE;
    int64_t scale = pow10_table[decimals - frac];
    if (value > (uint64_t)INT64_MAX / (uint64_t)scale)
        return ND_EOVERFLOW;
    int64_t v = (int64_t)value * scale;
    *out = negative ? -v : v;
    return ND_OK;
}

size_t nd_venue_format(int64_t value, int decimals, int shown, char *buf, size_t cap)
{
    ND_ASSERT(decimals >= 0 && decimals <= 18);
    ND_ASSERT(shown >= 0 && shown <= decimals);
    uint64_t mag = value < 0 ? (uint64_t)0 - (uint64_t)value : (uint64_t)value;
    uint64_t scale = (uint64_t)pow10_table[decimals];
    uint64_t ip = mag / scale, fp = mag % scale;
    /* Never hide non-zero digits: show more places than asked when the value needs them. */
    while (shown < decimals && fp % (uint64_t)pow10_table[decimals - shown] != 0)
        shown++;
    char tmp[48];
    int n;
    if (shown == 0)
        n = snprintf(tmp, sizeof tmp, "%s%" PRIu64, value < 0 ? "-" : "", ip);
    else
        n = snprintf(tmp, sizeof tmp, "%s%" PRIu64 ".%0*" PRIu64, value < 0 ? "-" : "", ip,
                     shown, fp / (uint64_t)pow10_table[decimals - shown]);
    ND_ASSERT(n > 0 && (size_t)n < sizeof tmp);
    if (cap > 0) {
        size_t k = (size_t)n < cap ? (size_t)n : cap - 1;
        memcpy(buf, tmp, k);
        buf[k] = '\0';
    }
    return (size_t)n;
}

int nd_venue_decimal_places(const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (text[i] == '.')
            return (int)(len - i - 1);
    return 0;
}

/* ---- JSON form of events ---------------------------------------------------------------- */

typedef struct jbuf {
    char *buf;
    size_t cap, len;
} jbuf_t;

static void jb_raw(jbuf_t *b, const char *s, size_t n)
{
    if (b->len < b->cap) {
        size_t room = b->cap - b->len - 1;
        memcpy(b->buf + b->len, s, n < room ? n : room);
        b->buf[b->len + (n < room ? n : room)] = '\0';
    }
    b->len += n;
}

static void jb_str(jbuf_t *b, const char *key, const char *s)
{
    /* Decoded venue strings may hold any byte: quotes, backslashes and control bytes are
     * written as JSON escapes, so the line stays valid JSON and says exactly what the venue
     * sent (nothing dropped). Event strings are at most 96 bytes, 6 bytes each escaped. */
    char tmp[96 * 6 + 8];
    size_t n = 0;
    for (; *s && n + 7 < sizeof tmp; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            tmp[n++] = '\\';
            tmp[n++] = (char)c;
        } else if (c == '\n') {
            tmp[n++] = '\\';
            tmp[n++] = 'n';
        } else if (c == '\t') {
            tmp[n++] = '\\';
            tmp[n++] = 't';
        } else if (c == '\r') {
            tmp[n++] = '\\';
            tmp[n++] = 'r';
        } else if (c < 0x20) {
            n += (size_t)snprintf(tmp + n, sizeof tmp - n, "\\u%04x", c);
        } else {
            tmp[n++] = (char)c;
        }
    }
    ND_ASSERT(*s == '\0'); /* every event string fits tmp: nothing is cut */
    tmp[n] = '\0';
    char line[sizeof tmp + 80];
    int k = snprintf(line, sizeof line, ",\"%s\":\"%s\"", key, tmp);
    ND_ASSERT(k > 0 && (size_t)k < sizeof line);
    jb_raw(b, line, (size_t)k);
}

static void jb_int(jbuf_t *b, const char *key, int64_t v)
{
    char line[64];
    int k = snprintf(line, sizeof line, ",\"%s\":%" PRId64, key, v);
    jb_raw(b, line, (size_t)k);
}

static void jb_dec(jbuf_t *b, const char *key, int64_t v)
{
    char num[32], line[80];
    nd_venue_format(v, ND_VENUE_DECIMALS, ND_VENUE_DECIMALS, num, sizeof num);
    int k = snprintf(line, sizeof line, ",\"%s\":\"%s\"", key, num);
    jb_raw(b, line, (size_t)k);
}

static void jb_bool(jbuf_t *b, const char *key, bool v)
{
    char line[48];
    int k = snprintf(line, sizeof line, ",\"%s\":%s", key, v ? "true" : "false");
    jb_raw(b, line, (size_t)k);
}

static const char *side_name(int side)
{
    return side == ND_MD_SIDE_BID ? "bid" : side == ND_MD_SIDE_ASK ? "ask" : "none";
}

static void json_book(jbuf_t *b, const nd_md_book_update_t *u)
{
    jb_bool(b, "snapshot", u->snapshot);
    jb_int(b, "first_update_id", u->first_update_id);
    jb_int(b, "last_update_id", u->last_update_id);
    jb_raw(b, ",\"levels\":[", 11);
    for (uint32_t i = 0; i < u->level_count; i++) {
        char px[32], qty[32], line[96];
        nd_venue_format(u->levels[i].px, ND_VENUE_DECIMALS, ND_VENUE_DECIMALS, px, sizeof px);
        nd_venue_format(u->levels[i].qty, ND_VENUE_DECIMALS, ND_VENUE_DECIMALS, qty, sizeof qty);
        int k = snprintf(line, sizeof line, "%s[\"%s\",\"%s\",\"%s\"]", i ? "," : "",
                         side_name(u->levels[i].side), px, qty);
        jb_raw(b, line, (size_t)k);
    }
    jb_raw(b, "]", 1);
}

static void json_order(jbuf_t *b, const nd_md_order_update_t *o)
{
    jb_str(b, "client_order_id", o->client_order_id);
    jb_str(b, "venue_order_id", o->venue_order_id);
    jb_str(b, "side", o->side == ND_MD_SIDE_BID ? "buy" : o->side == ND_MD_SIDE_ASK ? "sell" : "none");
    jb_str(b, "order_type", o->order_type);
    jb_str(b, "exec_type", o->exec_type);
    jb_str(b, "status", nd_md_order_status_name((nd_md_order_status_t)o->status));
    jb_str(b, "reject", nd_reject_name((nd_reject_t)o->reject));
    jb_dec(b, "px", o->px);
    jb_dec(b, "qty", o->qty);
    jb_dec(b, "last_px", o->last_px);
    jb_dec(b, "last_qty", o->last_qty);
    jb_dec(b, "cum_qty", o->cum_qty);
    jb_dec(b, "cum_quote", o->cum_quote);
    jb_dec(b, "fee", o->fee);
    jb_str(b, "fee_asset", o->fee_asset);
    jb_int(b, "trade_id", o->trade_id);
}

static void json_bar(jbuf_t *b, const nd_md_bar_t *r)
{
    jb_str(b, "interval", r->interval);
    jb_int(b, "open_ts_ns", r->open_ts_ns);
    jb_int(b, "close_ts_ns", r->close_ts_ns);
    jb_dec(b, "open", r->open);
    jb_dec(b, "high", r->high);
    jb_dec(b, "low", r->low);
    jb_dec(b, "close", r->close);
    jb_dec(b, "volume", r->volume);
    jb_dec(b, "quote_volume", r->quote_volume);
    jb_int(b, "trades", r->trades);
    jb_bool(b, "closed", r->closed);
}

static void json_body(jbuf_t *b, const nd_md_event_t *e)
{
    switch (e->kind) {
    case ND_MD_TRADE:
        jb_dec(b, "px", e->u.trade.px);
        jb_dec(b, "qty", e->u.trade.qty);
        jb_int(b, "trade_id", e->u.trade.trade_id);
        jb_int(b, "first_trade_id", e->u.trade.first_trade_id);
        jb_int(b, "last_trade_id", e->u.trade.last_trade_id);
        jb_int(b, "trade_ts_ns", e->u.trade.trade_ts_ns);
        jb_str(b, "aggressor", side_name(e->u.trade.aggressor));
        jb_bool(b, "aggregate", e->u.trade.aggregate);
        break;
    case ND_MD_BOOK_UPDATE: json_book(b, &e->u.book); break;
    case ND_MD_BBO:
        jb_dec(b, "bid_px", e->u.bbo.bid_px);
        jb_dec(b, "bid_qty", e->u.bbo.bid_qty);
        jb_dec(b, "ask_px", e->u.bbo.ask_px);
        jb_dec(b, "ask_qty", e->u.bbo.ask_qty);
        jb_int(b, "update_id", e->u.bbo.update_id);
        break;
    case ND_MD_BAR: json_bar(b, &e->u.bar); break;
    case ND_MD_ORACLE_PRICE:
        jb_dec(b, "price", e->u.oracle.price);
        jb_int(b, "decimals", e->u.oracle.decimals);
        jb_int(b, "phase_id", e->u.oracle.phase_id);
        jb_int(b, "aggregator_round_id", (int64_t)e->u.oracle.aggregator_round_id);
        jb_int(b, "started_at_ns", e->u.oracle.started_at_ns);
        jb_int(b, "updated_at_ns", e->u.oracle.updated_at_ns);
        jb_int(b, "status", e->u.oracle.status);
        break;
    case ND_MD_ORDER_UPDATE: json_order(b, &e->u.order); break;
    case ND_MD_BALANCE:
        jb_str(b, "asset", e->u.balance.asset);
        jb_bool(b, "delta", e->u.balance.delta);
        jb_dec(b, e->u.balance.delta ? "change" : "free",
               e->u.balance.delta ? e->u.balance.change : e->u.balance.free);
        if (!e->u.balance.delta)
            jb_dec(b, "locked", e->u.balance.locked);
        break;
    case ND_MD_STATUS: {
        static const char *const codes[] = {"ack", "shutdown", "heartbeat", "error", "result",
                                            "resync", "order_list", "listen_key_expired",
                                            "stream_terminated"};
        int c = e->u.status.code;
        jb_str(b, "code", c >= 0 && c <= 8 ? codes[c] : "unknown");
        jb_int(b, "request_id", e->u.status.request_id);
        jb_int(b, "venue_code", e->u.status.venue_code);
        jb_str(b, "text", e->u.status.text);
        break;
    }
    case ND_MD_NONE: break;
    }
}

size_t nd_md_event_json(const nd_md_event_t *event, char *buf, size_t cap)
{
    ND_ASSERT(event != NULL);
    ND_ASSERT(buf != NULL || cap == 0);
    jbuf_t b = {buf, cap, 0};
    if (cap > 0)
        buf[0] = '\0';
    char head[64];
    int k = snprintf(head, sizeof head, "{\"type\":\"%s\"", nd_md_kind_name(event->kind));
    jb_raw(&b, head, (size_t)k);
    jb_str(&b, "venue", nd_venue_name(event->venue));
    jb_str(&b, "symbol", event->symbol);
    jb_int(&b, "venue_ts_ns", event->venue_ts_ns);
    jb_int(&b, "recv_ts_ns", event->recv_ts_ns);
    json_body(&b, event);
    jb_raw(&b, "}", 1);
    return b.len;
}
