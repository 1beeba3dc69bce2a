/* cb_decode.c: decoders of the two Coinbase market-data feeds into normalised events.
 *
 * Advanced Trade frames are envelopes {channel, timestamp, sequence_num, events[]}; Coinbase
 * Exchange frames are flat {type, product_id, ...}. Each message is decoded twice over the same
 * tokens: a validation pass that emits nothing, then an emitting pass; so a message that fails
 * anywhere is counted once by reason and never partially emitted. The one leniency: a snapshot
 * level with a malformed number is skipped (counted), because dropping a whole book for one bad
 * level would be worse. Invariant: every token index used is below the token count, since
 * nd_json_get and the child walk only follow the tokenizer's own links. */
#include "noderr/coinbase.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"

#include <stdio.h>
#include <string.h>

typedef struct parse {
    nd_coinbase_decoder_t *dec;
    const char *s;
    const nd_jtok_t *t;
    int64_t recv_ts_ns;
    int64_t venue_ts_ns;
    int64_t sequence_num; /* the Advanced Trade frame's sequence_num (-1: none): its update id */
    bool emit;           /* false: validation pass */
    nd_bad_input_t bad;  /* why validation failed */
    char detail[96];
    uint32_t skipped_levels;
} parse_t;

static nd_err_t fail(parse_t *p, nd_bad_input_t reason, const char *what)
{
    p->bad = reason;
    snprintf(p->detail, sizeof p->detail, "%s", what);
    return ND_EPARSE;
}

static uint32_t child_first(uint32_t i)
{
    return i + 1;
}

/* The value of key in obj when it has the given type, else 0 (0 too when obj is not an object:
 * nd_json_get answers so). */
static uint32_t get_type(const parse_t *p, uint32_t obj, const char *key, nd_jtype_t type)
{
    uint32_t v = nd_json_get(p->s, p->t, obj, key);
    return v && p->t[v].type == type ? v : 0;
}

/* The string value of key in obj, or 0 when absent, not a string or obj is not an object. */
static uint32_t get_str(const parse_t *p, uint32_t obj, const char *key)
{
    return get_type(p, obj, key, ND_J_STRING);
}

/* Parses a decimal-string token at ND_VENUE_DECIMALS. */
static bool tok_decimal(const parse_t *p, uint32_t v, int64_t *out)
{
    if (!v || (p->t[v].type != ND_J_STRING && p->t[v].type != ND_J_NUMBER))
        return false;
    return nd_venue_decimal(p->s + p->t[v].start, p->t[v].end - p->t[v].start, ND_VENUE_DECIMALS,
                            out) == ND_OK;
}

static bool field_decimal(const parse_t *p, uint32_t obj, const char *key, int64_t *out)
{
    return tok_decimal(p, nd_json_get(p->s, p->t, obj, key), out);
}

/* An integer given as a number or a string of digits. */
static bool tok_int(const parse_t *p, uint32_t v, int64_t *out)
{
    if (!v)
        return false;
    if (p->t[v].type == ND_J_NUMBER)
        return nd_json_int(p->s, &p->t[v], out) == ND_OK;
    if (p->t[v].type != ND_J_STRING || p->t[v].end == p->t[v].start)
        return false;
    return nd_venue_decimal(p->s + p->t[v].start, p->t[v].end - p->t[v].start, 0, out) == ND_OK;
}

static void note_places(parse_t *p, uint32_t px, uint32_t qty)
{
    int a = nd_venue_decimal_places(p->s + p->t[px].start, p->t[px].end - p->t[px].start);
    int b = nd_venue_decimal_places(p->s + p->t[qty].start, p->t[qty].end - p->t[qty].start);
    if (a > p->dec->msg_px_places)
        p->dec->msg_px_places = a;
    if (b > p->dec->msg_qty_places)
        p->dec->msg_qty_places = b;
}

/* Decodes string token v into buf (escapes resolved, never cut): a value longer than the field
 * or with an escape that is no character fails the message by reason. */
static nd_err_t tok_string(parse_t *p, uint32_t v, char *buf, size_t cap, const char *what)
{
    nd_err_t rc = nd_json_string(p->s, &p->t[v], buf, cap, NULL);
    if (rc == ND_EFULL)
        return fail(p, ND_BAD_TOO_LONG, what);
    if (rc != ND_OK)
        return fail(p, ND_BAD_BAD_STRING, what);
    return ND_OK;
}

/* Validates a product id token: it must fit an event's symbol field whole. */
static nd_err_t check_product(parse_t *p, uint32_t product)
{
    char sym[ND_NAME_MAX];
    return tok_string(p, product, sym, sizeof sym, "product_id too long or not a string");
}

/* Fills the common fields; the product (when given) is decoded whole or the message fails. */
static nd_err_t event_init(parse_t *p, nd_md_event_t *e, nd_md_kind_t kind, uint32_t product)
{
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->venue = p->dec->_venue;
    e->venue_ts_ns = p->venue_ts_ns;
    e->recv_ts_ns = p->recv_ts_ns;
    if (product)
        return tok_string(p, product, e->symbol, sizeof e->symbol,
                          "product_id too long or not a string");
    return ND_OK;
}

static void emit(parse_t *p, const nd_md_event_t *e)
{
    ND_ASSERT(p->emit);
    p->dec->counters.events++;
    if (p->dec->_sink)
        p->dec->_sink(p->dec->_ctx, e);
}

/* Optional RFC3339 time field: absent or out of range gives 0 (Coinbase sends year 1 at times). */
static nd_err_t field_time(parse_t *p, uint32_t obj, const char *key, int64_t *out)
{
    uint32_t v = get_str(p, obj, key);
    *out = 0;
    if (!v)
        return ND_OK;
    nd_err_t rc = nd_coinbase_parse_time(p->s + p->t[v].start, p->t[v].end - p->t[v].start, out);
    if (rc == ND_ERANGE) {
        *out = 0;
        return ND_OK;
    }
    return rc == ND_OK ? ND_OK : fail(p, ND_BAD_MALFORMED, "bad time");
}

static nd_err_t status_event(parse_t *p, nd_md_status_code_t code, uint32_t text, int64_t vcode)
{
    if (!p->emit)
        return ND_OK;
    nd_md_event_t e;
    (void)event_init(p, &e, ND_MD_STATUS, 0);
    e.u.status.code = code;
    e.u.status.request_id = -1;
    e.u.status.venue_code = vcode;
    /* Venue text is informative: its escapes are decoded, and a long one keeps its whole-
     * character prefix (status.text is documented as truncated). */
    if (text)
        (void)nd_json_string(p->s, &p->t[text], e.u.status.text, sizeof e.u.status.text, NULL);
    emit(p, &e);
    return ND_OK;
}

/* Adds one [px, qty] level. In snapshots a bad number skips the level; elsewhere it fails. */
static nd_err_t add_level(parse_t *p, uint32_t px, uint32_t qty, nd_md_side_t side, bool snapshot,
                          uint32_t *n)
{
    nd_md_level_t lv;
    if (!tok_decimal(p, px, &lv.px) || !tok_decimal(p, qty, &lv.qty)) {
        if (!snapshot)
            return fail(p, ND_BAD_NUMBER, "bad price or size in a book update");
        p->skipped_levels++;
        return ND_OK;
    }
    /* A level's price is > 0 and its size >= 0 (0 removes it): anything else is refused by
     * reason, in a snapshot too (a negative size is not a malformed number to skip). */
    if (lv.px <= 0 || lv.qty < 0)
        return fail(p, ND_BAD_OUT_OF_RANGE, "book level price <= 0 or size < 0");
    if (*n >= ND_COINBASE_LEVELS_MAX)
        return fail(p, ND_BAD_TOO_LARGE, "too many levels in one message");
    note_places(p, px, qty);
    lv.side = (uint8_t)side;
    memset(lv._pad, 0, sizeof lv._pad);
    p->dec->_levels[(*n)++] = lv;
    return ND_OK;
}

/* A snapshot must not cross (best bid >= best ask means it is not a book). With ordered, its
 * levels, side by side in the order sent, must also run from the best price outward (bids
 * strictly down, asks strictly up, so no price repeats): the Exchange feed sends snapshots that
 * way, and one that does not is refused, not reordered. Advanced Trade interleaves sides and
 * does not promise an order, so only crossing is checked there. */
static nd_err_t check_snapshot_levels(parse_t *p, uint32_t n, bool ordered)
{
    const nd_md_level_t *lv = p->dec->_levels;
    int64_t last[3] = {0, 0, 0}, best_bid = 0, best_ask = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t side = lv[i].side;
        ND_ASSERT(side == ND_MD_SIDE_BID || side == ND_MD_SIDE_ASK);
        if (ordered && last[side] != 0 &&
            (side == ND_MD_SIDE_BID ? lv[i].px >= last[side] : lv[i].px <= last[side]))
            return fail(p, ND_BAD_UNSORTED, "snapshot levels out of order or repeated");
        last[side] = lv[i].px;
        /* Levels of size 0 are removals, not part of the book. */
        if (lv[i].qty == 0)
            continue;
        if (side == ND_MD_SIDE_BID && lv[i].px > best_bid)
            best_bid = lv[i].px;
        if (side == ND_MD_SIDE_ASK && (best_ask == 0 || lv[i].px < best_ask))
            best_ask = lv[i].px;
    }
    if (best_bid != 0 && best_ask != 0 && best_bid >= best_ask)
        return fail(p, ND_BAD_CROSSED, "snapshot best bid >= best ask");
    return ND_OK;
}

static void book_event(parse_t *p, uint32_t product, uint32_t n, bool snapshot, int64_t seq)
{
    nd_md_event_t e;
    nd_err_t rc = event_init(p, &e, ND_MD_BOOK_UPDATE, product);
    ND_ASSERT(rc == ND_OK); /* the validation pass checked the product */
    e.u.book.levels = p->dec->_levels;
    e.u.book.level_count = n;
    e.u.book.snapshot = snapshot;
    e.u.book.first_update_id = seq;
    e.u.book.last_update_id = seq;
    emit(p, &e);
}

/* ---- Advanced Trade -------------------------------------------------------------------- */

static nd_err_t adv_l2(parse_t *p, uint32_t ev)
{
    uint32_t type = get_str(p, ev, "type"), product = get_str(p, ev, "product_id");
    uint32_t updates = get_type(p, ev, "updates", ND_J_ARRAY);
    if (!type || !product || !updates)
        return fail(p, ND_BAD_MISSING_FIELD, "l2_data event without type, product_id or updates");
    if (check_product(p, product) != ND_OK)
        return ND_EPARSE;
    bool snapshot = nd_json_eq(p->s, &p->t[type], "snapshot");
    if (!snapshot && !nd_json_eq(p->s, &p->t[type], "update"))
        return fail(p, ND_BAD_UNKNOWN_TYPE, "l2_data event type is not snapshot or update");
    uint32_t n = 0, u = child_first(updates);
    for (uint32_t k = 0; k < p->t[updates].size; k++, u = p->t[u].next) {
        uint32_t side = get_str(p, u, "side");
        if (p->t[u].type != ND_J_OBJECT || !side)
            return fail(p, ND_BAD_MISSING_FIELD, "l2_data update without side");
        bool bid = nd_json_eq(p->s, &p->t[side], "bid");
        if (!bid && !nd_json_eq(p->s, &p->t[side], "offer"))
            return fail(p, ND_BAD_MALFORMED, "l2_data side is not bid or offer");
        uint32_t px = nd_json_get(p->s, p->t, u, "price_level");
        uint32_t qty = nd_json_get(p->s, p->t, u, "new_quantity");
        nd_err_t rc = add_level(p, px, qty, bid ? ND_MD_SIDE_BID : ND_MD_SIDE_ASK, snapshot, &n);
        if (rc != ND_OK)
            return rc;
    }
    if (snapshot && check_snapshot_levels(p, n, false) != ND_OK)
        return ND_EPARSE;
    if (p->emit)
        book_event(p, product, n, snapshot, p->sequence_num);
    return ND_OK;
}

/* One entry of an event's list (a ticker, a trade, a user order): the object, its product_id
 * and, where the list names one, its second string (also; else 0). */
typedef nd_err_t (*adv_entry_fn)(parse_t *p, uint32_t obj, uint32_t product, uint32_t also);

typedef struct adv_list {
    const char *key;       /* the event's array */
    const char *also;      /* a string every entry has besides product_id, or NULL */
    const char *missing;   /* why, when the event has no such array */
    const char *bad_entry; /* why, when an entry is not an object or lacks one of the strings */
    adv_entry_fn entry;
} adv_list_t;

/* Walks the event's list l, each entry to l->entry. */
static nd_err_t adv_each(parse_t *p, uint32_t ev, const adv_list_t *l)
{
    uint32_t arr = get_type(p, ev, l->key, ND_J_ARRAY);
    if (!arr)
        return fail(p, ND_BAD_MISSING_FIELD, l->missing);
    uint32_t t = child_first(arr);
    for (uint32_t k = 0; k < p->t[arr].size; k++, t = p->t[t].next) {
        uint32_t product = get_str(p, t, "product_id");
        uint32_t also = l->also ? get_str(p, t, l->also) : 0;
        if (p->t[t].type != ND_J_OBJECT || !product || (l->also && !also))
            return fail(p, ND_BAD_MISSING_FIELD, l->bad_entry);
        nd_err_t rc = l->entry(p, t, product, also);
        if (rc != ND_OK)
            return rc;
    }
    return ND_OK;
}

static nd_err_t adv_ticker(parse_t *p, uint32_t t, uint32_t product, uint32_t also)
{
    (void)also;
    /* ticker_batch omits the best bid and ask: nothing to normalise then. */
    if (!nd_json_get(p->s, p->t, t, "best_bid") || !nd_json_get(p->s, p->t, t, "best_ask"))
        return ND_OK;
    nd_md_event_t e;
    if (event_init(p, &e, ND_MD_BBO, product) != ND_OK)
        return ND_EPARSE;
    nd_md_bbo_t *b = &e.u.bbo;
    if (!field_decimal(p, t, "best_bid", &b->bid_px) ||
        !field_decimal(p, t, "best_ask", &b->ask_px))
        return fail(p, ND_BAD_NUMBER, "ticker best_bid or best_ask");
    if (nd_json_get(p->s, p->t, t, "best_bid_quantity") &&
        (!field_decimal(p, t, "best_bid_quantity", &b->bid_qty) ||
         !field_decimal(p, t, "best_ask_quantity", &b->ask_qty)))
        return fail(p, ND_BAD_NUMBER, "ticker best_bid_quantity or best_ask_quantity");
    if (b->bid_px <= 0 || b->ask_px <= 0 || b->bid_qty < 0 || b->ask_qty < 0)
        return fail(p, ND_BAD_OUT_OF_RANGE, "ticker price <= 0 or quantity < 0");
    b->update_id = p->sequence_num;
    if (p->emit)
        emit(p, &e);
    return ND_OK;
}

static const adv_list_t adv_tickers = {"tickers", NULL, "ticker event without tickers",
                                       "ticker without product_id", adv_ticker};

static nd_err_t adv_trade(parse_t *p, uint32_t t, uint32_t product, uint32_t side)
{
    nd_md_event_t e;
    if (event_init(p, &e, ND_MD_TRADE, product) != ND_OK)
        return ND_EPARSE;
    nd_md_trade_t *tr = &e.u.trade;
    if (!field_decimal(p, t, "price", &tr->px) || !field_decimal(p, t, "size", &tr->qty) ||
        !tok_int(p, nd_json_get(p->s, p->t, t, "trade_id"), &tr->trade_id))
        return fail(p, ND_BAD_NUMBER, "trade price, size or trade_id");
    /* A trade happened at a positive price for a positive size. */
    if (tr->px <= 0 || tr->qty <= 0)
        return fail(p, ND_BAD_OUT_OF_RANGE, "trade price <= 0 or size <= 0");
    /* side is the taker's side on Advanced Trade. */
    bool buy = nd_json_eq(p->s, &p->t[side], "BUY");
    if (!buy && !nd_json_eq(p->s, &p->t[side], "SELL"))
        return fail(p, ND_BAD_MALFORMED, "trade side is not BUY or SELL");
    tr->aggressor = buy ? ND_MD_SIDE_BID : ND_MD_SIDE_ASK;
    tr->first_trade_id = tr->last_trade_id = tr->trade_id;
    if (field_time(p, t, "time", &tr->trade_ts_ns) != ND_OK)
        return ND_EPARSE;
    if (p->emit)
        emit(p, &e);
    return ND_OK;
}

static const adv_list_t adv_trades = {"trades", "side", "market_trades event without trades",
                                      "trade without product_id or side", adv_trade};

static nd_err_t adv_heartbeat(parse_t *p, uint32_t ev)
{
    int64_t counter = -1;
    uint32_t c = nd_json_get(p->s, p->t, ev, "heartbeat_counter");
    if (c && !tok_int(p, c, &counter))
        return fail(p, ND_BAD_NUMBER, "heartbeat_counter");
    return status_event(p, ND_MD_STATUS_HEARTBEAT, get_str(p, ev, "current_time"), counter);
}

nd_md_order_status_t nd_coinbase_order_status(const char *name, size_t len, int64_t cum_qty)
{
    static const struct {
        const char *name;
        nd_md_order_status_t status;
    } map[] = {{"PENDING", ND_MD_ORDER_PENDING}, {"OPEN", ND_MD_ORDER_NEW},
               {"FILLED", ND_MD_ORDER_FILLED},   {"CANCELLED", ND_MD_ORDER_CANCELED},
               {"EXPIRED", ND_MD_ORDER_EXPIRED}, {"FAILED", ND_MD_ORDER_REJECTED}};
    for (size_t i = 0; name && i < sizeof map / sizeof map[0]; i++)
        if (strlen(map[i].name) == len && memcmp(name, map[i].name, len) == 0)
            return map[i].status == ND_MD_ORDER_NEW && cum_qty > 0 ? ND_MD_ORDER_PARTIALLY_FILLED
                                                                   : map[i].status;
    return ND_MD_ORDER_OTHER;
}

static nd_md_order_status_t adv_order_status(const parse_t *p, uint32_t v, int64_t cum)
{
    if (!v)
        return ND_MD_ORDER_OTHER;
    return nd_coinbase_order_status(p->s + p->t[v].start, p->t[v].end - p->t[v].start, cum);
}

/* A decimal field that may be absent or "" (Coinbase leaves unset numbers empty). */
static bool opt_decimal(const parse_t *p, uint32_t obj, const char *key, int64_t *out)
{
    uint32_t v = nd_json_get(p->s, p->t, obj, key);
    *out = 0;
    if (!v || p->t[v].type == ND_J_NULL ||
        (p->t[v].type == ND_J_STRING && p->t[v].end == p->t[v].start))
        return true;
    return tok_decimal(p, v, out);
}

static nd_err_t adv_order(parse_t *p, uint32_t o, uint32_t product, uint32_t oid)
{
    nd_md_event_t e;
    if (event_init(p, &e, ND_MD_ORDER_UPDATE, product) != ND_OK)
        return ND_EPARSE;
    nd_md_order_update_t *u = &e.u.order;
    int64_t leaves;
    if (!opt_decimal(p, o, "cumulative_quantity", &u->cum_qty) ||
        !opt_decimal(p, o, "leaves_quantity", &leaves) ||
        !opt_decimal(p, o, "avg_price", &u->last_px) ||
        !opt_decimal(p, o, "total_fees", &u->fee) ||
        !opt_decimal(p, o, "limit_price", &u->px))
        return fail(p, ND_BAD_NUMBER, "user order quantity, price or fee");
    if (u->cum_qty < 0 || leaves < 0 || u->last_px < 0 || u->fee < 0 || u->px < 0)
        return fail(p, ND_BAD_OUT_OF_RANGE, "user order quantity, price or fee < 0");
    if (__builtin_add_overflow(u->cum_qty, leaves, &u->qty))
        return fail(p, ND_BAD_OUT_OF_RANGE, "user order quantity overflows");
    u->trade_id = -1;
    if (tok_string(p, oid, u->venue_order_id, sizeof u->venue_order_id, "order_id") != ND_OK)
        return ND_EPARSE;
    uint32_t v = get_str(p, o, "client_order_id");
    if (v && tok_string(p, v, u->client_order_id, sizeof u->client_order_id,
                        "client_order_id") != ND_OK)
        return ND_EPARSE;
    if ((v = get_str(p, o, "order_type")) &&
        tok_string(p, v, u->order_type, sizeof u->order_type, "order_type") != ND_OK)
        return ND_EPARSE;
    v = get_str(p, o, "order_side");
    u->side = (uint8_t)(v && nd_json_eq(p->s, &p->t[v], "SELL") ? ND_MD_SIDE_ASK
                                                                : ND_MD_SIDE_BID);
    u->status = (uint8_t)adv_order_status(p, get_str(p, o, "status"), u->cum_qty);
    if (p->emit)
        emit(p, &e);
    return ND_OK;
}

static const adv_list_t adv_user = {"orders", "order_id", "user event without orders",
                                    "user order without product_id or order_id", adv_order};

static nd_err_t adv_event(parse_t *p, uint32_t channel, uint32_t ev)
{
    if (p->t[ev].type != ND_J_OBJECT)
        return fail(p, ND_BAD_MALFORMED, "event is not an object");
    uint32_t type = get_str(p, ev, "type");
    p->dec->event_snapshot = type && nd_json_eq(p->s, &p->t[type], "snapshot");
    if (nd_json_eq(p->s, &p->t[channel], "l2_data"))
        return adv_l2(p, ev);
    if (nd_json_eq(p->s, &p->t[channel], "ticker") ||
        nd_json_eq(p->s, &p->t[channel], "ticker_batch"))
        return adv_each(p, ev, &adv_tickers);
    if (nd_json_eq(p->s, &p->t[channel], "market_trades"))
        return adv_each(p, ev, &adv_trades);
    if (nd_json_eq(p->s, &p->t[channel], "heartbeats"))
        return adv_heartbeat(p, ev);
    if (nd_json_eq(p->s, &p->t[channel], "user"))
        return adv_each(p, ev, &adv_user);
    return status_event(p, ND_MD_STATUS_ACK, 0, 0);
}

static bool adv_channel_known(const parse_t *p, uint32_t channel)
{
    static const char *const known[] = {"l2_data", "ticker", "ticker_batch", "market_trades",
                                        "heartbeats", "user", "subscriptions"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (nd_json_eq(p->s, &p->t[channel], known[i]))
            return true;
    return false;
}

/* Checks sequence_num: a repeat or step back is dropped, a skip flags a resubscribe. */
static nd_err_t adv_sequence(parse_t *p, int64_t seq)
{
    nd_coinbase_decoder_t *dec = p->dec;
    if (dec->last_sequence_num >= 0 && seq <= dec->last_sequence_num) {
        nd_venue_bad(&dec->counters, ND_BAD_OUT_OF_ORDER, "sequence_num did not increase");
        return ND_ESTATE;
    }
    if (dec->last_sequence_num >= 0 && seq > dec->last_sequence_num + 1) {
        dec->gaps++;
        dec->resubscribe_needed = true;
        nd_venue_bad(&dec->counters, ND_BAD_OUT_OF_ORDER, "sequence_num gap: resubscribing");
    }
    dec->last_sequence_num = seq;
    return ND_OK;
}

static nd_err_t adv_message(parse_t *p)
{
    uint32_t channel = get_str(p, 0, "channel");
    if (!channel) {
        uint32_t type = get_str(p, 0, "type");
        if (type && nd_json_eq(p->s, &p->t[type], "error"))
            return status_event(p, ND_MD_STATUS_ERROR, get_str(p, 0, "message"), 0);
        return fail(p, ND_BAD_MISSING_FIELD, "message without channel");
    }
    uint32_t events = get_type(p, 0, "events", ND_J_ARRAY);
    p->sequence_num = -1;
    uint32_t seq_tok = nd_json_get(p->s, p->t, 0, "sequence_num");
    if (seq_tok && !tok_int(p, seq_tok, &p->sequence_num))
        return fail(p, ND_BAD_NUMBER, "bad sequence_num");
    /* The sequence is checked once, before the body: a frame that arrived consumed its number
     * even when its body turns out bad, so a bad frame does not look like a gap later. */
    if (!p->emit && seq_tok && adv_sequence(p, p->sequence_num) != ND_OK)
        return ND_ESTATE;
    if (!events)
        return fail(p, ND_BAD_MISSING_FIELD, "message without events");
    if (!adv_channel_known(p, channel))
        return fail(p, ND_BAD_UNKNOWN_TYPE, "unknown Advanced Trade channel");
    if (field_time(p, 0, "timestamp", &p->venue_ts_ns) != ND_OK)
        return ND_EPARSE;
    uint32_t ev = child_first(events);
    for (uint32_t k = 0; k < p->t[events].size; k++, ev = p->t[ev].next) {
        nd_err_t rc = adv_event(p, channel, ev);
        if (rc != ND_OK)
            return rc;
    }
    return ND_OK;
}

/* ---- Coinbase Exchange ------------------------------------------------------------------- */

static nd_err_t ex_snapshot_side(parse_t *p, uint32_t arr, nd_md_side_t side, uint32_t *n)
{
    uint32_t lv = child_first(arr);
    for (uint32_t k = 0; k < p->t[arr].size; k++, lv = p->t[lv].next) {
        if (p->t[lv].type != ND_J_ARRAY || p->t[lv].size < 2) {
            p->skipped_levels++;
            continue;
        }
        uint32_t px = child_first(lv);
        nd_err_t rc = add_level(p, px, p->t[px].next, side, true, n);
        if (rc != ND_OK)
            return rc;
    }
    return ND_OK;
}

static nd_err_t ex_snapshot(parse_t *p, uint32_t product)
{
    uint32_t bids = get_type(p, 0, "bids", ND_J_ARRAY), asks = get_type(p, 0, "asks", ND_J_ARRAY);
    if (!bids || !asks)
        return fail(p, ND_BAD_MISSING_FIELD, "snapshot without bids or asks");
    uint32_t n = 0;
    nd_err_t rc = ex_snapshot_side(p, bids, ND_MD_SIDE_BID, &n);
    if (rc == ND_OK)
        rc = ex_snapshot_side(p, asks, ND_MD_SIDE_ASK, &n);
    if (rc == ND_OK)
        rc = check_snapshot_levels(p, n, true);
    if (rc != ND_OK)
        return rc;
    if (p->emit) {
        if (p->skipped_levels)
            nd_venue_bad(&p->dec->counters, ND_BAD_NUMBER, "snapshot level skipped");
        book_event(p, product, n, true, 0);
    }
    return ND_OK;
}

static nd_err_t ex_l2update(parse_t *p, uint32_t product)
{
    uint32_t changes = get_type(p, 0, "changes", ND_J_ARRAY);
    if (!changes)
        return fail(p, ND_BAD_MISSING_FIELD, "l2update without changes");
    if (field_time(p, 0, "time", &p->venue_ts_ns) != ND_OK)
        return ND_EPARSE;
    uint32_t n = 0, c = child_first(changes);
    for (uint32_t k = 0; k < p->t[changes].size; k++, c = p->t[c].next) {
        if (p->t[c].type != ND_J_ARRAY || p->t[c].size != 3)
            return fail(p, ND_BAD_MALFORMED, "l2update change is not [side, price, size]");
        uint32_t side = child_first(c), px = p->t[side].next;
        bool buy = nd_json_eq(p->s, &p->t[side], "buy");
        if (!buy && !nd_json_eq(p->s, &p->t[side], "sell"))
            return fail(p, ND_BAD_MALFORMED, "l2update side is not buy or sell");
        nd_err_t rc = add_level(p, px, p->t[px].next, buy ? ND_MD_SIDE_BID : ND_MD_SIDE_ASK,
                                false, &n);
        if (rc != ND_OK)
            return rc;
    }
    if (p->emit)
        book_event(p, product, n, false, 0);
    return ND_OK;
}

/* An Exchange feed event of kind at the message's "time". */
static nd_err_t ex_event_init(parse_t *p, nd_md_event_t *e, nd_md_kind_t kind, uint32_t product)
{
    if (field_time(p, 0, "time", &p->venue_ts_ns) != ND_OK)
        return ND_EPARSE;
    return event_init(p, e, kind, product);
}

static nd_err_t ex_ticker(parse_t *p, uint32_t product)
{
    nd_md_event_t e;
    if (ex_event_init(p, &e, ND_MD_BBO, product) != ND_OK)
        return ND_EPARSE;
    nd_md_bbo_t *b = &e.u.bbo;
    if (!field_decimal(p, 0, "best_bid", &b->bid_px) || !field_decimal(p, 0, "best_ask", &b->ask_px))
        return fail(p, ND_BAD_NUMBER, "ticker best_bid or best_ask");
    /* Sizes arrived around 2022; older recordings have none. */
    if ((nd_json_get(p->s, p->t, 0, "best_bid_size") &&
         !field_decimal(p, 0, "best_bid_size", &b->bid_qty)) ||
        (nd_json_get(p->s, p->t, 0, "best_ask_size") &&
         !field_decimal(p, 0, "best_ask_size", &b->ask_qty)))
        return fail(p, ND_BAD_NUMBER, "ticker best_bid_size or best_ask_size");
    if (b->bid_px <= 0 || b->ask_px <= 0 || b->bid_qty < 0 || b->ask_qty < 0)
        return fail(p, ND_BAD_OUT_OF_RANGE, "ticker price <= 0 or size < 0");
    uint32_t seq = nd_json_get(p->s, p->t, 0, "sequence");
    if (seq && !tok_int(p, seq, &b->update_id))
        return fail(p, ND_BAD_NUMBER, "ticker sequence");
    if (p->emit)
        emit(p, &e);
    return ND_OK;
}

static nd_err_t ex_match(parse_t *p, uint32_t product)
{
    nd_md_event_t e;
    if (ex_event_init(p, &e, ND_MD_TRADE, product) != ND_OK)
        return ND_EPARSE;
    nd_md_trade_t *tr = &e.u.trade;
    uint32_t side = get_str(p, 0, "side");
    if (!field_decimal(p, 0, "price", &tr->px) || !field_decimal(p, 0, "size", &tr->qty) ||
        !tok_int(p, nd_json_get(p->s, p->t, 0, "trade_id"), &tr->trade_id))
        return fail(p, ND_BAD_NUMBER, "match price, size or trade_id");
    /* Regression: "price":"0", "-5" or "size":"-1" used to come out as a trade. A match is
     * at a positive price for a positive size. */
    if (tr->px <= 0 || tr->qty <= 0)
        return fail(p, ND_BAD_OUT_OF_RANGE, "match price <= 0 or size <= 0");
    /* On the Exchange feed side is the maker's: a resting sell was hit by a buying taker. */
    if (!side || (!nd_json_eq(p->s, &p->t[side], "buy") && !nd_json_eq(p->s, &p->t[side], "sell")))
        return fail(p, ND_BAD_MALFORMED, "match side is not buy or sell");
    tr->aggressor = nd_json_eq(p->s, &p->t[side], "sell") ? ND_MD_SIDE_BID : ND_MD_SIDE_ASK;
    tr->first_trade_id = tr->last_trade_id = tr->trade_id;
    tr->trade_ts_ns = p->venue_ts_ns;
    if (p->emit)
        emit(p, &e);
    return ND_OK;
}

static nd_err_t ex_message(parse_t *p)
{
    uint32_t type = get_str(p, 0, "type"), product = get_str(p, 0, "product_id");
    if (!type)
        return fail(p, ND_BAD_MISSING_FIELD, "message without type");
    /* The per-product sequence, for the feed client's stale and duplicate checks. */
    uint32_t seq = nd_json_get(p->s, p->t, 0, "sequence");
    if (seq && !tok_int(p, seq, &p->dec->msg_sequence))
        p->dec->msg_sequence = -1;
    const nd_jtok_t *t = &p->t[type];
    if (nd_json_eq(p->s, t, "subscriptions"))
        return status_event(p, ND_MD_STATUS_ACK, 0, 0);
    if (nd_json_eq(p->s, t, "error"))
        return status_event(p, ND_MD_STATUS_ERROR, get_str(p, 0, "message"), 0);
    if (nd_json_eq(p->s, t, "heartbeat")) {
        /* Its `time` is the venue's clock at the beat: the feed-age check reads it. */
        if (field_time(p, 0, "time", &p->venue_ts_ns) != ND_OK)
            return ND_EPARSE;
        return status_event(p, ND_MD_STATUS_HEARTBEAT, product, 0);
    }
    bool known = nd_json_eq(p->s, t, "snapshot") || nd_json_eq(p->s, t, "l2update") ||
                 nd_json_eq(p->s, t, "ticker") || nd_json_eq(p->s, t, "match") ||
                 nd_json_eq(p->s, t, "last_match");
    if (!known)
        return fail(p, ND_BAD_UNKNOWN_TYPE, "unknown Coinbase Exchange message type");
    if (!product)
        return fail(p, ND_BAD_MISSING_FIELD, "message without product_id");
    if (check_product(p, product) != ND_OK)
        return ND_EPARSE;
    if (nd_json_eq(p->s, t, "snapshot"))
        return ex_snapshot(p, product);
    if (nd_json_eq(p->s, t, "l2update"))
        return ex_l2update(p, product);
    if (nd_json_eq(p->s, t, "ticker"))
        return ex_ticker(p, product);
    return ex_match(p, product);
}

/* ---- Entry points ------------------------------------------------------------------------ */

/* Reads n digits at s into *out; false on a non-digit. */
static bool digits(const char *s, int n, int64_t *out)
{
    int64_t v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

nd_err_t nd_coinbase_parse_time(const char *text, size_t len, int64_t *out_ns)
{
    ND_ASSERT(text != NULL);
    ND_ASSERT(out_ns != NULL);
    int64_t f[6];
    if (len < 20 || text[4] != '-' || text[7] != '-' || (text[10] != 'T' && text[10] != ' ') ||
        text[13] != ':' || text[16] != ':' || text[len - 1] != 'Z')
        return ND_EPARSE;
    static const int at[6] = {0, 5, 8, 11, 14, 17}, width[6] = {4, 2, 2, 2, 2, 2};
    for (int i = 0; i < 6; i++)
        if (!digits(text + at[i], width[i], &f[i]))
            return ND_EPARSE;
    int64_t nanos = 0;
    size_t pos = 19;
    if (pos < len - 1) {
        size_t frac = len - 1 - pos - 1;
        if (text[pos] != '.' || frac < 1 || frac > 9 || !digits(text + pos + 1, (int)frac, &nanos))
            return ND_EPARSE;
        for (size_t i = frac; i < 9; i++)
            nanos *= 10;
    }
    if (f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 || f[3] > 23 || f[4] > 59 || f[5] > 60)
        return ND_EPARSE;
    /* int64 nanoseconds cover 1677-09-21 .. 2262-04-11: stay safely inside. */
    if (f[0] < 1678 || f[0] > 2261)
        return ND_ERANGE;
    nd_civil_t c = {(int)f[0], (int)f[1], (int)f[2], (int)f[3], (int)f[4], (int)f[5], nanos};
    *out_ns = nd_time_from_civil(&c);
    return ND_OK;
}

nd_err_t nd_coinbase_decoder_init(nd_coinbase_decoder_t *dec, nd_venue_t venue,
                                  nd_md_sink_cb sink, void *ctx)
{
    ND_ASSERT(dec != NULL);
    ND_ASSERT(venue == ND_VENUE_COINBASE || venue == ND_VENUE_COINBASE_EXCHANGE);
    memset(dec, 0, sizeof *dec);
    dec->counters.venue = venue;
    dec->last_sequence_num = -1;
    dec->msg_sequence = -1;
    dec->_venue = venue;
    dec->_sink = sink;
    dec->_ctx = ctx;
    dec->_tok = nd_calloc(ND_COINBASE_TOKENS_MAX, sizeof *dec->_tok);
    dec->_levels = nd_calloc(ND_COINBASE_LEVELS_MAX, sizeof *dec->_levels);
    if (!dec->_tok || !dec->_levels) {
        nd_coinbase_decoder_deinit(dec);
        return ND_ENOMEM;
    }
    return ND_OK;
}

void nd_coinbase_decoder_deinit(nd_coinbase_decoder_t *dec)
{
    ND_ASSERT(dec != NULL);
    nd_free(dec->_tok);
    nd_free(dec->_levels);
    dec->_tok = NULL;
    dec->_levels = NULL;
}

static nd_err_t tokenize(nd_coinbase_decoder_t *dec, const char *msg, size_t len)
{
    uint32_t count = 0;
    nd_err_t rc = nd_json_tokenize(msg, len, dec->_tok, ND_COINBASE_TOKENS_MAX, &count);
    if (rc == ND_EEOF)
        nd_venue_bad(&dec->counters, ND_BAD_TRUNCATED, "message ends inside a JSON value");
    else if (rc == ND_EFULL)
        nd_venue_bad(&dec->counters, ND_BAD_TOO_LARGE, "message has too many JSON tokens");
    else if (rc != ND_OK)
        nd_venue_bad(&dec->counters, ND_BAD_MALFORMED, "not valid JSON");
    else if (count == 0 || dec->_tok[0].type != ND_J_OBJECT) {
        nd_venue_bad(&dec->counters, ND_BAD_MALFORMED, "message is not a JSON object");
        rc = ND_EPARSE;
    }
    return rc;
}

nd_err_t nd_coinbase_decode_msg(nd_coinbase_decoder_t *dec, const char *msg, size_t len,
                                int64_t recv_ts_ns)
{
    ND_ASSERT(dec != NULL && dec->_tok != NULL);
    ND_ASSERT(msg != NULL || len == 0);
    dec->counters.messages++;
    dec->msg_sequence = -1;
    dec->event_snapshot = false;
    dec->msg_px_places = 0;
    dec->msg_qty_places = 0;
    nd_err_t rc = tokenize(dec, msg, len);
    if (rc != ND_OK)
        return rc;
    parse_t p = {.dec = dec, .s = msg, .t = dec->_tok, .recv_ts_ns = recv_ts_ns};
    bool adv = dec->_venue == ND_VENUE_COINBASE;
    rc = adv ? adv_message(&p) : ex_message(&p);
    if (rc == ND_ESTATE) /* out of order: already counted */
        return rc;
    if (rc == ND_OK) {
        p.emit = true;
        p.skipped_levels = 0;
        p.venue_ts_ns = 0;
        rc = adv ? adv_message(&p) : ex_message(&p);
        ND_ASSERT(rc == ND_OK);
        return rc;
    }
    nd_venue_bad(&dec->counters, p.bad, p.detail);
    return p.bad == ND_BAD_UNKNOWN_TYPE ? ND_EDECLINED : ND_EPARSE;
}

/* ---- Decoder operations for the CLI (venue.h hooks) -------------------------------------- */

static nd_err_t ops_create(nd_venue_t venue, void **out)
{
    nd_coinbase_decoder_t *dec = nd_alloc(sizeof *dec);
    if (!dec)
        return ND_ENOMEM;
    nd_err_t rc = nd_coinbase_decoder_init(dec, venue, NULL, NULL);
    if (rc != ND_OK) {
        nd_free(dec);
        return rc;
    }
    *out = dec;
    return ND_OK;
}

static nd_err_t ops_create_advanced(void **out)
{
    return ops_create(ND_VENUE_COINBASE, out);
}

static nd_err_t ops_create_exchange(void **out)
{
    return ops_create(ND_VENUE_COINBASE_EXCHANGE, out);
}

static nd_err_t ops_decode(void *decoder, const char *msg, size_t len, int64_t recv_ns,
                           nd_md_sink_cb sink, void *ctx)
{
    nd_coinbase_decoder_t *dec = decoder;
    dec->_sink = sink;
    dec->_ctx = ctx;
    return nd_coinbase_decode_msg(dec, msg, len, recv_ns);
}

static const nd_venue_counters_t *ops_counters(const void *decoder)
{
    return &((const nd_coinbase_decoder_t *)decoder)->counters;
}

static void ops_destroy(void *decoder)
{
    if (!decoder)
        return;
    nd_coinbase_decoder_deinit(decoder);
    nd_free(decoder);
}

const nd_md_decoder_ops_t *nd_coinbase_decoder_ops(void)
{
    static const nd_md_decoder_ops_t ops = {ops_create_advanced, ops_decode, ops_counters,
                                            ops_destroy};
    return &ops;
}

const nd_md_decoder_ops_t *nd_coinbase_exchange_decoder_ops(void)
{
    static const nd_md_decoder_ops_t ops = {ops_create_exchange, ops_decode, ops_counters,
                                            ops_destroy};
    return &ops;
}
