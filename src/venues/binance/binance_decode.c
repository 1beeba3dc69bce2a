/* binance_decode.c: Binance Spot messages -> normalised events (binance.h).
 *
 * One message is tokenized once (json.c) into the decoder's token array, its envelope peeled
 * (combined stream, WebSocket-API user-data wrapper, whose subscriptionId is kept), then
 * decoded by its kind. A message is
 * validated completely before any event reaches the sink, so a bad message is only counted,
 * never half-applied. Invariants: no allocation after create; levels of a book event live in
 * the decoder's array until the next call; times are converted from ms (or us, when the
 * stream was opened with timeUnit=MICROSECOND) to ns with range checks. Trade, aggTrade and
 * depthUpdate messages in Binance's exact layout first try the one-pass decoder
 * (binance_fast.c), which emits the same event or declines without side effects. */
#include "binance_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Decoding context of one message: where we are and, on failure, why. */
typedef struct dctx {
    const char *s;
    const nd_jtok_t *t;
    uint32_t obj;
    nd_bad_input_t why;
    const char *field;
    int64_t subscription_id; /* of a WebSocket-API user data wrapper, -1 when bare */
    /* Binance payload keys are one character: the value index of each, for the current
     * object, so that reading a field is one load instead of a scan of the keys. */
    uint32_t slot[128];
} dctx_t;

/* Makes obj the current object and indexes its one-character keys. */
static void set_obj(dctx_t *c, uint32_t obj)
{
    memset(c->slot, 0, sizeof c->slot);
    c->obj = obj;
    uint32_t i = obj + 1;
    for (uint32_t k = 0; k < c->t[obj].size; k++) {
        const nd_jtok_t *key = &c->t[i];
        if (key->end - key->start == 1 && (unsigned char)c->s[key->start] < 128)
            c->slot[(unsigned char)c->s[key->start]] = i + 1;
        i = c->t[i + 1].next;
    }
}

nd_err_t nd_binance_decoder_create(uint32_t max_levels, size_t max_bytes,
                                   nd_binance_decoder_t **out)
{
    ND_ASSERT(out != NULL);
    if (max_levels == 0)
        max_levels = 12000;
    if (max_bytes == 0)
        max_bytes = 1u << 20;
    if (max_levels > 1000000)
        return ND_EINVAL;
    nd_binance_decoder_t *d = nd_calloc(1, sizeof *d);
    if (!d)
        return ND_ENOMEM;
    d->counters.venue = ND_VENUE_BINANCE;
    d->tok_cap = max_levels * 3 + 512;
    d->tok = nd_calloc(d->tok_cap, sizeof *d->tok);
    d->level_cap = max_levels;
    d->levels = nd_calloc(max_levels, sizeof *d->levels);
    d->max_bytes = max_bytes;
    if (!d->tok || !d->levels) {
        nd_binance_decoder_destroy(d);
        return ND_ENOMEM;
    }
    *out = d;
    return ND_OK;
}

void nd_binance_decoder_destroy(nd_binance_decoder_t *dec)
{
    if (!dec)
        return;
    nd_free(dec->tok);
    nd_free(dec->levels);
    nd_free(dec);
}

const nd_venue_counters_t *nd_binance_decoder_counters(const nd_binance_decoder_t *dec)
{
    return &dec->counters;
}

/* ---- field readers: each sets why/field and returns false on failure ------------------- */

static uint32_t field(dctx_t *c, const char *key)
{
    uint32_t v = key[1] == '\0' ? c->slot[(unsigned char)key[0] & 127]
                                : nd_json_get(c->s, c->t, c->obj, key);
    if (v == 0) {
        c->why = ND_BAD_MISSING_FIELD;
        c->field = key;
    }
    return v;
}

static bool fail(dctx_t *c, nd_bad_input_t why, const char *key)
{
    c->why = why;
    c->field = key;
    return false;
}

static bool get_dec(dctx_t *c, const char *key, int64_t *out)
{
    uint32_t v = field(c, key);
    if (v == 0)
        return false;
    const nd_jtok_t *t = &c->t[v];
    if (t->type != ND_J_STRING ||
        nd_venue_decimal(c->s + t->start, t->end - t->start, ND_VENUE_DECIMALS, out) != ND_OK)
        return fail(c, ND_BAD_NUMBER, key);
    return true;
}

static bool get_int(dctx_t *c, const char *key, int64_t *out)
{
    uint32_t v = field(c, key);
    if (v == 0)
        return false;
    if (nd_json_int(c->s, &c->t[v], out) != ND_OK)
        return fail(c, ND_BAD_NUMBER, key);
    return true;
}

/* Venue times are ms since the epoch, or us with timeUnit=MICROSECOND. Below 9e12 a value is
 * ms (until year 2255), below 9e15 us; anything else (or negative) would overflow ns. */
static bool get_time(dctx_t *c, const char *key, int64_t *out_ns)
{
    int64_t v;
    if (!get_int(c, key, &v))
        return false;
    if (v < 0 || v >= 9000000000000000LL)
        return fail(c, ND_BAD_NUMBER, key);
    *out_ns = v < 9000000000000LL ? v * ND_NS_PER_MS : v * ND_NS_PER_US;
    return true;
}

static bool get_bool(dctx_t *c, const char *key, bool *out)
{
    uint32_t v = field(c, key);
    if (v == 0)
        return false;
    if (c->t[v].type != ND_J_TRUE && c->t[v].type != ND_J_FALSE)
        return fail(c, ND_BAD_NUMBER, key);
    *out = c->t[v].type == ND_J_TRUE;
    return true;
}

/* Decodes a string field (escapes resolved, \uXXXX and surrogate pairs as UTF-8); null is
 * accepted as "" when nullable. A value longer than buf is refused (too_long), never cut:
 * "TRADE_PREVENTION" or a long symbol must come out whole or not at all. */
static bool get_str(dctx_t *c, const char *key, char *buf, size_t cap, bool nullable)
{
    uint32_t v = field(c, key);
    if (v == 0)
        return false;
    if (nullable && c->t[v].type == ND_J_NULL) {
        buf[0] = '\0';
        return true;
    }
    if (c->t[v].type != ND_J_STRING)
        return fail(c, ND_BAD_MALFORMED, key);
    nd_err_t rc = nd_json_string(c->s, &c->t[v], buf, cap, NULL);
    if (rc == ND_EFULL)
        return fail(c, ND_BAD_TOO_LONG, key);
    if (rc != ND_OK)
        return fail(c, ND_BAD_BAD_STRING, key);
    return true;
}

/* Parses [[px, qty], ...] into levels[*n..] with the given side. */
static bool get_levels(dctx_t *c, nd_binance_decoder_t *d, const char *key, nd_md_side_t side,
                       uint32_t *n)
{
    uint32_t a = field(c, key);
    if (a == 0)
        return false;
    if (c->t[a].type != ND_J_ARRAY)
        return fail(c, ND_BAD_MALFORMED, key);
    uint32_t i = a + 1;
    for (uint32_t k = 0; k < c->t[a].size; k++) {
        const nd_jtok_t *pair = &c->t[i];
        if (pair->type != ND_J_ARRAY || pair->size < 2 || c->t[i + 1].type != ND_J_STRING ||
            c->t[i + 2].type != ND_J_STRING)
            return fail(c, ND_BAD_MALFORMED, key);
        if (*n >= d->level_cap)
            return fail(c, ND_BAD_TOO_LARGE, key);
        nd_md_level_t *l = &d->levels[(*n)++];
        const nd_jtok_t *p = &c->t[i + 1], *q = &c->t[i + 2];
        if (nd_venue_decimal(c->s + p->start, p->end - p->start, ND_VENUE_DECIMALS, &l->px) ||
            nd_venue_decimal(c->s + q->start, q->end - q->start, ND_VENUE_DECIMALS, &l->qty))
            return fail(c, ND_BAD_NUMBER, key);
        /* A level's price is > 0; its size >= 0 (0 removes it). */
        if (l->px <= 0 || l->qty < 0)
            return fail(c, ND_BAD_OUT_OF_RANGE, key);
        l->side = (uint8_t)side;
        i = pair->next;
    }
    return true;
}

/* ---- kinds ------------------------------------------------------------------------------ */

static bool dec_trade(dctx_t *c, nd_md_event_t *e, bool aggregate)
{
    nd_md_trade_t *t = &e->u.trade;
    bool buyer_maker;
    e->kind = ND_MD_TRADE;
    if (!get_str(c, "s", e->symbol, sizeof e->symbol, false) || !get_time(c, "E", &e->venue_ts_ns) ||
        !get_dec(c, "p", &t->px) || !get_dec(c, "q", &t->qty) ||
        !get_time(c, "T", &t->trade_ts_ns) || !get_bool(c, "m", &buyer_maker))
        return false;
    if (aggregate) {
        if (!get_int(c, "a", &t->trade_id) || !get_int(c, "f", &t->first_trade_id) ||
            !get_int(c, "l", &t->last_trade_id))
            return false;
    } else {
        if (!get_int(c, "t", &t->trade_id))
            return false;
        t->first_trade_id = t->last_trade_id = t->trade_id;
    }
    /* A trade is at a positive price for a positive quantity. */
    if (t->px <= 0)
        return fail(c, ND_BAD_OUT_OF_RANGE, "p");
    if (t->qty <= 0)
        return fail(c, ND_BAD_OUT_OF_RANGE, "q");
    /* m: the buyer was the maker, so the seller took liquidity. */
    t->aggressor = buyer_maker ? ND_MD_SIDE_ASK : ND_MD_SIDE_BID;
    t->aggregate = aggregate;
    return true;
}

static bool dec_depth(dctx_t *c, nd_binance_decoder_t *d, nd_md_event_t *e)
{
    nd_md_book_update_t *b = &e->u.book;
    uint32_t n = 0;
    e->kind = ND_MD_BOOK_UPDATE;
    if (!get_str(c, "s", e->symbol, sizeof e->symbol, false) || !get_time(c, "E", &e->venue_ts_ns) ||
        !get_int(c, "U", &b->first_update_id) || !get_int(c, "u", &b->last_update_id) ||
        !get_levels(c, d, "b", ND_MD_SIDE_BID, &n) || !get_levels(c, d, "a", ND_MD_SIDE_ASK, &n))
        return false;
    if (b->first_update_id > b->last_update_id || b->first_update_id < 0)
        return fail(c, ND_BAD_OUT_OF_ORDER, "U");
    b->levels = d->levels;
    b->level_count = n;
    b->snapshot = false;
    return true;
}

/* A REST depth body or a partial-depth stream payload: a whole (top-N) book. */
static bool dec_snapshot(dctx_t *c, nd_binance_decoder_t *d, nd_md_event_t *e)
{
    nd_md_book_update_t *b = &e->u.book;
    uint32_t n = 0;
    e->kind = ND_MD_BOOK_UPDATE;
    if (!get_int(c, "lastUpdateId", &b->last_update_id) ||
        !get_levels(c, d, "bids", ND_MD_SIDE_BID, &n) || !get_levels(c, d, "asks", ND_MD_SIDE_ASK, &n))
        return false;
    /* Binance sends each side best first (bids down, asks up) without repeats; anything else,
     * or a crossed book, is not a snapshot to build on. */
    int64_t last[3] = {0, 0, 0};
    for (uint32_t i = 0; i < n; i++) {
        const nd_md_level_t *l = &d->levels[i];
        if (last[l->side] != 0 &&
            (l->side == ND_MD_SIDE_BID ? l->px >= last[l->side] : l->px <= last[l->side]))
            return fail(c, ND_BAD_UNSORTED, l->side == ND_MD_SIDE_BID ? "bids" : "asks");
        last[l->side] = l->px;
    }
    uint32_t asks = 0;
    while (asks < n && d->levels[asks].side == ND_MD_SIDE_BID)
        asks++;
    if (asks > 0 && asks < n && d->levels[0].px >= d->levels[asks].px)
        return fail(c, ND_BAD_CROSSED, "bids");
    b->first_update_id = b->last_update_id;
    b->levels = d->levels;
    b->level_count = n;
    b->snapshot = true;
    return true;
}

static bool dec_book_ticker(dctx_t *c, nd_md_event_t *e)
{
    nd_md_bbo_t *q = &e->u.bbo;
    e->kind = ND_MD_BBO;
    /* Spot bookTicker has no event time; the futures layout (and any future spot one) has E:
     * kept when present, and then it must be a valid time. */
    if (c->slot['E'] && !get_time(c, "E", &e->venue_ts_ns))
        return false;
    if (!(get_str(c, "s", e->symbol, sizeof e->symbol, false) && get_int(c, "u", &q->update_id) &&
          get_dec(c, "b", &q->bid_px) && get_dec(c, "B", &q->bid_qty) &&
          get_dec(c, "a", &q->ask_px) && get_dec(c, "A", &q->ask_qty)))
        return false;
    /* Prices >= 0 and quantities >= 0; a zero price only for an empty side (zero quantity). */
    if (q->bid_px < 0 || q->bid_qty < 0 || (q->bid_px == 0 && q->bid_qty != 0))
        return fail(c, ND_BAD_OUT_OF_RANGE, "b");
    if (q->ask_px < 0 || q->ask_qty < 0 || (q->ask_px == 0 && q->ask_qty != 0))
        return fail(c, ND_BAD_OUT_OF_RANGE, "a");
    return true;
}

static bool dec_kline(dctx_t *c, nd_md_event_t *e)
{
    nd_md_bar_t *r = &e->u.bar;
    e->kind = ND_MD_BAR;
    if (!get_str(c, "s", e->symbol, sizeof e->symbol, false) || !get_time(c, "E", &e->venue_ts_ns))
        return false;
    uint32_t k = field(c, "k");
    if (k == 0)
        return false;
    if (c->t[k].type != ND_J_OBJECT)
        return fail(c, ND_BAD_MALFORMED, "k");
    set_obj(c, k);
    if (!(get_time(c, "t", &r->open_ts_ns) && get_time(c, "T", &r->close_ts_ns) &&
          get_str(c, "i", r->interval, sizeof r->interval, false) && get_dec(c, "o", &r->open) &&
          get_dec(c, "h", &r->high) && get_dec(c, "l", &r->low) && get_dec(c, "c", &r->close) &&
          get_dec(c, "v", &r->volume) && get_dec(c, "q", &r->quote_volume) &&
          get_int(c, "n", &r->trades) && get_bool(c, "x", &r->closed)))
        return false;
    /* A bar's prices are positive, volumes and counts >= 0. The OHLC order is not checked:
     * Binance's own documented example has open below low. */
    if (r->open <= 0 || r->high <= 0 || r->low <= 0 || r->close <= 0)
        return fail(c, ND_BAD_OUT_OF_RANGE, "o");
    if (r->volume < 0 || r->quote_volume < 0 || r->trades < 0)
        return fail(c, ND_BAD_OUT_OF_RANGE, "v");
    return true;
}

static nd_md_order_status_t order_status(const char *x)
{
    static const struct { const char *name; nd_md_order_status_t st; } map[] = {
        {"NEW", ND_MD_ORDER_NEW}, {"PARTIALLY_FILLED", ND_MD_ORDER_PARTIALLY_FILLED},
        {"FILLED", ND_MD_ORDER_FILLED}, {"CANCELED", ND_MD_ORDER_CANCELED},
        {"REJECTED", ND_MD_ORDER_REJECTED}, {"EXPIRED", ND_MD_ORDER_EXPIRED},
        {"EXPIRED_IN_MATCH", ND_MD_ORDER_EXPIRED}, {"PENDING_NEW", ND_MD_ORDER_PENDING},
        {"PENDING_CANCEL", ND_MD_ORDER_PENDING},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(x, map[i].name) == 0)
            return map[i].st;
    return ND_MD_ORDER_OTHER;
}

static bool dec_exec_report(dctx_t *c, nd_md_event_t *e)
{
    nd_md_order_update_t *o = &e->u.order;
    char side[8], status[24], reason[64], orig[ND_VENUE_ID_MAX];
    int64_t order_id;
    e->kind = ND_MD_ORDER_UPDATE;
    if (!get_str(c, "s", e->symbol, sizeof e->symbol, false) || !get_time(c, "E", &e->venue_ts_ns) ||
        !get_str(c, "c", o->client_order_id, sizeof o->client_order_id, false) ||
        !get_str(c, "C", orig, sizeof orig, true) || !get_str(c, "S", side, sizeof side, false) ||
        !get_str(c, "o", o->order_type, sizeof o->order_type, false) ||
        !get_str(c, "x", o->exec_type, sizeof o->exec_type, false) ||
        !get_str(c, "X", status, sizeof status, false) ||
        !get_str(c, "r", reason, sizeof reason, false) || !get_int(c, "i", &order_id) ||
        !get_dec(c, "p", &o->px) || !get_dec(c, "q", &o->qty) || !get_dec(c, "L", &o->last_px) ||
        !get_dec(c, "l", &o->last_qty) || !get_dec(c, "z", &o->cum_qty) ||
        !get_dec(c, "Z", &o->cum_quote) || !get_dec(c, "n", &o->fee) ||
        !get_str(c, "N", o->fee_asset, sizeof o->fee_asset, true) || !get_int(c, "t", &o->trade_id))
        return false;
    if (strcmp(side, "BUY") != 0 && strcmp(side, "SELL") != 0)
        return fail(c, ND_BAD_MALFORMED, "S");
    /* Prices, quantities and the fee are >= 0 (0: a market order's price, no fill yet). */
    if (o->px < 0 || o->qty < 0 || o->last_px < 0 || o->last_qty < 0 || o->cum_qty < 0 ||
        o->cum_quote < 0 || o->fee < 0)
        return fail(c, ND_BAD_OUT_OF_RANGE, "q");
    o->side = side[0] == 'B' ? ND_MD_SIDE_BID : ND_MD_SIDE_ASK;
    /* The fill's maker flag and quote quantity, as myTrades gives them (optional: older
     * recordings and other producers leave them out). */
    o->maker = false;
    o->last_quote = 0;
    if (c->slot['m'] && !get_bool(c, "m", &o->maker))
        return false;
    if (c->slot['Y'] && (!get_dec(c, "Y", &o->last_quote) || o->last_quote < 0))
        return o->last_quote < 0 ? fail(c, ND_BAD_OUT_OF_RANGE, "Y") : false;
    /* A cancel report carries the cancel request's id in c and the order's own id in C. */
    if (orig[0] != '\0')
        snprintf(o->client_order_id, sizeof o->client_order_id, "%s", orig);
    snprintf(o->venue_order_id, sizeof o->venue_order_id, "%" PRId64, order_id);
    o->status = (uint8_t)order_status(status);
    o->reject = ND_REJECT_NONE;
    if (o->status == ND_MD_ORDER_REJECTED)
        o->reject = strcmp(reason, "INSUFFICIENT_BALANCES") == 0 ? ND_REJECT_INSUFFICIENT_FUNDS
                                                                 : ND_REJECT_VENUE_ORDER_REJECTED;
    return true;
}

/* outboundAccountPosition: every entry is checked before the first event is emitted. */
static bool dec_account(dctx_t *c, nd_md_event_t *e, nd_md_sink_cb sink, void *ctx, bool emit)
{
    e->kind = ND_MD_BALANCE;
    if (!get_time(c, "E", &e->venue_ts_ns))
        return false;
    uint32_t arr = field(c, "B");
    if (arr == 0)
        return false;
    if (c->t[arr].type != ND_J_ARRAY)
        return fail(c, ND_BAD_MALFORMED, "B");
    uint32_t top = c->obj, i = arr + 1;
    for (uint32_t k = 0; k < c->t[arr].size; k++, i = c->t[i].next) {
        if (c->t[i].type != ND_J_OBJECT)
            return fail(c, ND_BAD_MALFORMED, "B");
        nd_md_balance_t *b = &e->u.balance;
        set_obj(c, i);
        if (!get_str(c, "a", b->asset, sizeof b->asset, false) || !get_dec(c, "f", &b->free) ||
            !get_dec(c, "l", &b->locked))
            return false;
        if (b->free < 0 || b->locked < 0)
            return fail(c, ND_BAD_OUT_OF_RANGE, "f");
        b->delta = false;
        b->change = 0;
        set_obj(c, top);
        if (emit)
            sink(ctx, e);
    }
    return true;
}

static bool dec_balance_update(dctx_t *c, nd_md_event_t *e)
{
    nd_md_balance_t *b = &e->u.balance;
    e->kind = ND_MD_BALANCE;
    b->delta = true;
    return get_time(c, "E", &e->venue_ts_ns) && get_str(c, "a", b->asset, sizeof b->asset, false) &&
           get_dec(c, "d", &b->change);
}

/* listStatus: an order list's state. The member orders ("O": [{s, i, c}]) are checked, and
 * reported by their own executionReports; the event carries the list's id and states. */
static bool dec_list_status(dctx_t *c, nd_md_event_t *e)
{
    nd_md_status_t *st = &e->u.status;
    char type[16], list_type[24], list_status[24], reason[64], list_client[ND_VENUE_ID_MAX];
    int64_t tx_ns;
    e->kind = ND_MD_STATUS;
    st->code = ND_MD_STATUS_ORDER_LIST;
    if (!get_str(c, "s", e->symbol, sizeof e->symbol, false) || !get_time(c, "E", &e->venue_ts_ns) ||
        !get_int(c, "g", &st->request_id) || !get_str(c, "c", type, sizeof type, false) ||
        !get_str(c, "l", list_type, sizeof list_type, false) ||
        !get_str(c, "L", list_status, sizeof list_status, false) ||
        !get_str(c, "r", reason, sizeof reason, false) ||
        !get_str(c, "C", list_client, sizeof list_client, false) || !get_time(c, "T", &tx_ns))
        return false;
    if (st->request_id < 0)
        return fail(c, ND_BAD_OUT_OF_RANGE, "g");
    uint32_t arr = field(c, "O");
    if (arr == 0)
        return false;
    if (c->t[arr].type != ND_J_ARRAY)
        return fail(c, ND_BAD_MALFORMED, "O");
    uint32_t top = c->obj, i = arr + 1;
    for (uint32_t k = 0; k < c->t[arr].size; k++, i = c->t[i].next) {
        char sym[ND_NAME_MAX], id[ND_VENUE_ID_MAX];
        int64_t order_id;
        if (c->t[i].type != ND_J_OBJECT)
            return fail(c, ND_BAD_MALFORMED, "O");
        set_obj(c, i);
        if (!get_str(c, "s", sym, sizeof sym, false) || !get_int(c, "i", &order_id) ||
            !get_str(c, "c", id, sizeof id, false))
            return false;
        set_obj(c, top);
    }
    /* The text is informative and documented as cut to status.text when long. */
    bool rejected = strcmp(reason, "NONE") != 0 && reason[0] != '\0';
    char line[256];
    snprintf(line, sizeof line, "%s %s %s %s%s%s", type, list_type, list_status, list_client,
             rejected ? " reject=" : "", rejected ? reason : "");
    snprintf(st->text, sizeof st->text, "%.*s", (int)sizeof st->text - 1, line);
    return true;
}

/* E of listenKeyExpired: a number, or (as some Binance pages show it) a string of digits. */
static bool get_time_or_string(dctx_t *c, const char *key, int64_t *out_ns)
{
    uint32_t v = field(c, key);
    if (v == 0 || c->t[v].type != ND_J_STRING)
        return v != 0 && get_time(c, key, out_ns);
    nd_jtok_t digits = c->t[v];
    digits.type = ND_J_NUMBER;
    int64_t ms;
    if (digits.escaped || digits.end == digits.start || c->s[digits.start] == '-' ||
        nd_json_int(c->s, &digits, &ms) != ND_OK || ms >= 9000000000000LL)
        return fail(c, ND_BAD_NUMBER, key);
    *out_ns = ms * ND_NS_PER_MS;
    return true;
}

/* listenKeyExpired and eventStreamTerminated: the subscription is over and the session must
 * subscribe again. The listen key in the first is a credential: it is not copied anywhere. */
static bool dec_stream_end(dctx_t *c, nd_md_event_t *e, nd_md_status_code_t code)
{
    e->kind = ND_MD_STATUS;
    e->u.status.code = code;
    e->u.status.request_id = code == ND_MD_STATUS_STREAM_TERMINATED ? c->subscription_id : -1;
    return code == ND_MD_STATUS_LISTEN_KEY_EXPIRED ? get_time_or_string(c, "E", &e->venue_ts_ns)
                                                   : get_time(c, "E", &e->venue_ts_ns);
}

/* {"result":...,"id":N}, {"error":{"code","msg"},"id":N}, {"code","msg","id"}. */
static bool dec_control(dctx_t *c, nd_md_event_t *e)
{
    nd_md_status_t *st = &e->u.status;
    e->kind = ND_MD_STATUS;
    st->request_id = -1;
    uint32_t id = nd_json_get(c->s, c->t, c->obj, "id");
    if (id && c->t[id].type == ND_J_NUMBER && nd_json_int(c->s, &c->t[id], &st->request_id))
        return fail(c, ND_BAD_NUMBER, "id");
    uint32_t r = nd_json_get(c->s, c->t, c->obj, "result");
    if (r) {
        st->code = c->t[r].type == ND_J_NULL ? ND_MD_STATUS_ACK : ND_MD_STATUS_RESULT;
        /* The result is informative text: a string is decoded, any other value shown as its
         * JSON, and either is cut to status.text as documented there. */
        /* The WebSocket API's userDataStream.subscribe reply, {"id":..,"status":200,
         * "result":{"subscriptionId":N}}: an ACK carrying N (events then arrive wrapped in
         * {"subscriptionId":N,"event":{..}}). */
        uint32_t sub = c->t[r].type == ND_J_OBJECT && c->t[r].size == 1
                           ? nd_json_get(c->s, c->t, r, "subscriptionId") : 0;
        if (sub) {
            if (nd_json_int(c->s, &c->t[sub], &st->venue_code) != ND_OK || st->venue_code < 0)
                return fail(c, ND_BAD_NUMBER, "subscriptionId");
            st->code = ND_MD_STATUS_ACK;
            snprintf(st->text, sizeof st->text, "subscriptionId=%" PRId64, st->venue_code);
            return true;
        }
        if (st->code == ND_MD_STATUS_RESULT && c->t[r].type == ND_J_STRING)
            (void)nd_json_string(c->s, &c->t[r], st->text, sizeof st->text, NULL);
        else if (st->code == ND_MD_STATUS_RESULT)
            nd_json_copy(c->s, &c->t[r], st->text, sizeof st->text);
        return true;
    }
    uint32_t err = nd_json_get(c->s, c->t, c->obj, "error");
    if (err) {
        if (c->t[err].type != ND_J_OBJECT)
            return fail(c, ND_BAD_MALFORMED, "error");
        set_obj(c, err);
    }
    st->code = ND_MD_STATUS_ERROR;
    if (!get_int(c, "code", &st->venue_code))
        return false;
    uint32_t msg = field(c, "msg");
    if (msg == 0)
        return false;
    if (c->t[msg].type != ND_J_STRING)
        return fail(c, ND_BAD_MALFORMED, "msg");
    /* The venue's error text is informative: decoded, and cut to status.text if long. */
    if (nd_json_string(c->s, &c->t[msg], st->text, sizeof st->text, NULL) == ND_EPARSE)
        return fail(c, ND_BAD_BAD_STRING, "msg");
    return true;
}

/* Dispatches on the "e" field; returns false with why set. */
static bool dec_event(dctx_t *c, nd_binance_decoder_t *d, nd_md_event_t *e, nd_md_sink_cb sink,
                      void *ctx)
{
    const nd_jtok_t *et = &c->t[c->slot['e']];
    bool ok;
    if (nd_json_eq(c->s, et, "depthUpdate"))
        ok = dec_depth(c, d, e);
    else if (nd_json_eq(c->s, et, "trade"))
        ok = dec_trade(c, e, false);
    else if (nd_json_eq(c->s, et, "aggTrade"))
        ok = dec_trade(c, e, true);
    else if (nd_json_eq(c->s, et, "kline"))
        ok = dec_kline(c, e);
    else if (nd_json_eq(c->s, et, "executionReport"))
        ok = dec_exec_report(c, e);
    else if (nd_json_eq(c->s, et, "balanceUpdate"))
        ok = dec_balance_update(c, e);
    else if (nd_json_eq(c->s, et, "outboundAccountPosition")) {
        if (!dec_account(c, e, sink, ctx, false))
            return false;
        dec_account(c, e, sink, ctx, true);
        d->counters.events += c->t[c->slot['B']].size;
        e->kind = ND_MD_NONE; /* already emitted */
        return true;
    } else if (nd_json_eq(c->s, et, "bookTicker")) {
        ok = dec_book_ticker(c, e); /* the layout with "e" and "E" (futures; spot omits both) */
    } else if (nd_json_eq(c->s, et, "listStatus")) {
        ok = dec_list_status(c, e);
    } else if (nd_json_eq(c->s, et, "listenKeyExpired")) {
        ok = dec_stream_end(c, e, ND_MD_STATUS_LISTEN_KEY_EXPIRED);
    } else if (nd_json_eq(c->s, et, "eventStreamTerminated")) {
        ok = dec_stream_end(c, e, ND_MD_STATUS_STREAM_TERMINATED);
    } else if (nd_json_eq(c->s, et, "serverShutdown")) {
        e->kind = ND_MD_STATUS;
        e->u.status.code = ND_MD_STATUS_SHUTDOWN;
        e->u.status.request_id = -1;
        ok = get_time(c, "E", &e->venue_ts_ns);
    } else
        return fail(c, ND_BAD_UNKNOWN_TYPE, "e");
    return ok;
}

/* Decides the kind of an unwrapped object and decodes it. */
static bool dec_object(dctx_t *c, nd_binance_decoder_t *d, nd_md_event_t *e, nd_md_sink_cb sink,
                       void *ctx)
{
    const char *s = c->s;
    set_obj(c, c->obj);
    if (c->slot['e'])
        return dec_event(c, d, e, sink, ctx);
    if (nd_json_get(s, c->t, c->obj, "lastUpdateId"))
        return dec_snapshot(c, d, e);
    if (nd_json_get(s, c->t, c->obj, "result") || nd_json_get(s, c->t, c->obj, "error") ||
        nd_json_get(s, c->t, c->obj, "code"))
        return dec_control(c, e);
    if (c->slot['u'] && c->slot['b'])
        return dec_book_ticker(c, e);
    return fail(c, ND_BAD_UNKNOWN_TYPE, "e");
}

/* The symbol of a stream name: "btcusdt@depth20@100ms" -> "BTCUSDT". False when the name
 * holds an escape or its symbol does not fit buf (never cut). */
static bool stream_symbol(const char *s, const nd_jtok_t *t, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    /* "!serverShutdown" and other '!' streams are not per symbol. */
    if (t->end > t->start && s[t->start] == '!')
        return true;
    if (t->escaped)
        return false;
    for (uint32_t i = t->start; i < t->end && s[i] != '@'; i++) {
        if (n + 1 >= cap) {
            buf[0] = '\0';
            return false;
        }
        buf[n++] = (char)toupper((unsigned char)s[i]);
    }
    buf[n] = '\0';
    return true;
}

static nd_err_t count_bad(nd_binance_decoder_t *d, nd_bad_input_t why, const char *field_name)
{
    char detail[64];
    snprintf(detail, sizeof detail, "field %s", field_name ? field_name : "-");
    nd_venue_bad(&d->counters, why, detail);
    switch (why) {
    case ND_BAD_TRUNCATED: return ND_EEOF;
    case ND_BAD_UNKNOWN_TYPE: return ND_EDECLINED;
    case ND_BAD_NUMBER:
    case ND_BAD_OUT_OF_RANGE: return ND_ERANGE;
    case ND_BAD_TOO_LARGE: return ND_EFULL;
    default: return ND_EPARSE;
    }
}

static nd_err_t tokenize(nd_binance_decoder_t *d, const char *msg, size_t len, uint32_t *count)
{
    if (len > d->max_bytes)
        return count_bad(d, ND_BAD_TOO_LARGE, "message");
    nd_err_t rc = nd_json_tokenize(msg, len, d->tok, d->tok_cap, count);
    if (rc == ND_EEOF)
        return count_bad(d, ND_BAD_TRUNCATED, "message");
    if (rc == ND_EFULL)
        return count_bad(d, ND_BAD_TOO_LARGE, "message");
    if (rc != ND_OK || d->tok[0].type != ND_J_OBJECT)
        return count_bad(d, ND_BAD_MALFORMED, "message");
    return ND_OK;
}

nd_err_t nd_binance_decode(nd_binance_decoder_t *d, const char *msg, size_t len, int64_t recv_ns,
                           nd_md_sink_cb sink, void *ctx)
{
    ND_ASSERT(d != NULL && sink != NULL);
    ND_ASSERT(msg != NULL || len == 0);
    uint32_t count;
    d->counters.messages++;
    /* Nearly every market message is a trade or a depth diff in Binance's exact layout: the
     * one-pass decoder takes those, and everything else (including all bad input, which it
     * never judges) goes through the tokenizer below. */
    if (!d->fast_off && len <= d->max_bytes &&
        nd__binance_fast_decode(d, msg, len, recv_ns, sink, ctx))
        return ND_OK;
    nd_err_t rc = tokenize(d, msg, len, &count);
    if (rc != ND_OK)
        return rc;
    dctx_t c;
    c.s = msg;
    c.t = d->tok;
    c.obj = 0;
    c.why = ND_BAD_MALFORMED;
    c.field = NULL;
    c.subscription_id = -1;
    nd_md_event_t e;
    memset(&e, 0, offsetof(nd_md_event_t, u));
    e.venue = ND_VENUE_BINANCE;
    e.recv_ts_ns = recv_ns;
    uint32_t data = nd_json_get(msg, d->tok, 0, "data");
    uint32_t stream = nd_json_get(msg, d->tok, 0, "stream");
    if (data && stream && d->tok[stream].type == ND_J_STRING) {
        if (!stream_symbol(msg, &d->tok[stream], e.symbol, sizeof e.symbol))
            return count_bad(d, ND_BAD_TOO_LONG, "stream");
        c.obj = data;
    } else if ((data = nd_json_get(msg, d->tok, 0, "event")) != 0 &&
               (stream = nd_json_get(msg, d->tok, 0, "subscriptionId")) != 0) {
        if (nd_json_int(msg, &d->tok[stream], &c.subscription_id) != ND_OK ||
            c.subscription_id < 0)
            return count_bad(d, ND_BAD_NUMBER, "subscriptionId");
        c.obj = data;
    }
    if (d->tok[c.obj].type != ND_J_OBJECT)
        return count_bad(d, ND_BAD_MALFORMED, "data");
    memset(&e.u, 0, sizeof e.u);
    if (!dec_object(&c, d, &e, sink, ctx))
        return count_bad(d, c.why, c.field);
    if (e.kind != ND_MD_NONE) {
        d->counters.events++;
        sink(ctx, &e);
    }
    return ND_OK;
}

static nd_err_t ops_create(void **out)
{
    nd_binance_decoder_t *d;
    nd_err_t rc = nd_binance_decoder_create(0, 0, &d);
    if (rc == ND_OK)
        *out = d;
    return rc;
}

static nd_err_t ops_decode(void *dec, const char *msg, size_t len, int64_t recv_ns,
                           nd_md_sink_cb sink, void *ctx)
{
    return nd_binance_decode(dec, msg, len, recv_ns, sink, ctx);
}

static const nd_venue_counters_t *ops_counters(const void *dec)
{
    return nd_binance_decoder_counters(dec);
}

static void ops_destroy(void *dec)
{
    nd_binance_decoder_destroy(dec);
}

const nd_md_decoder_ops_t *nd_binance_decoder_ops(void)
{
    static const nd_md_decoder_ops_t ops = {ops_create, ops_decode, ops_counters, ops_destroy};
    return &ops;
}
