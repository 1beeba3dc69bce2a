/* xsim_stream.c: Binance market streams and the user data stream, as exchange-sim serves them.
 *
 * Paths: /ws/<stream>[/<stream>...] (raw payloads), /stream?streams=<a>/<b> (combined:
 * {"stream":..,"data":..}), /ws/<listenKey> (the user data stream). Live requests SUBSCRIBE,
 * UNSUBSCRIBE, LIST_SUBSCRIPTIONS, SET_PROPERTY/GET_PROPERTY "combined" are answered
 * {"result":..,"id":..}, bad ones with Binance's {"error":{"code":N,"msg":..},"id":..}.
 * Streams of the exchange's symbol: <s>@trade, <s>@aggTrade, <s>@bookTicker, <s>@depth@100ms
 * and <s>@depth (1000 ms). Names are lower case; a well-formed name of another symbol (or upper
 * case) is acknowledged and delivers nothing, as on Binance.
 *
 * The exchange's listener feeds this file. Depth diffs: every book change marks its (side,
 * price) dirty and takes an update id; a diff carries U (the first id since the last diff of its
 * cadence), u (the book id now) and the absolute quantity of every dirty level, so
 * GET /api/v3/depth's lastUpdateId (the same book id) bridges exactly as Binance's procedure
 * expects. Diffs are cut at market-time boundaries (100 ms / 1000 ms of the market's clock),
 * not at timer ticks, so a replay gives the same messages at any speed. Event times (E, T) are
 * the market's clock: a replay keeps the recording's times. Invariants: every message of a
 * connection leaves in the order it was made (except under the delay fault); the diff ids of a
 * cadence are contiguous (except under the gap fault). */
#include "xsim_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/log.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUBS_MAX 1024          /* streams per connection (Binance: 1024) */
#define NAME_MAX_LEN 64
#define DELAYED_MAX 1024       /* messages held by the delay fault */
#define DIRTY_MAX (1u << 20)   /* dirty levels between two diffs (then a gap: clients resync) */

enum { K_TRADE, K_AGG, K_TICKER, K_DEPTH100, K_DEPTH1000, K_COUNT };
static const char *const kind_suffix[K_COUNT] = {"@trade", "@aggTrade", "@bookTicker",
                                                 "@depth@100ms", "@depth"};
static const int64_t cadence_ns[2] = {100 * ND_NS_PER_MS, 1000 * ND_NS_PER_MS};

typedef struct sub_conn {
    nd__xsim_conn_t *conn;
    bool combined, user;
    bool ws_api;                 /* /ws-api/v3: the WebSocket API's user data subscriptions */
    int64_t sub_id;              /* ws_api: the active subscription's id, -1: none */
    char (*names)[NAME_MAX_LEN]; /* subscriptions in order */
    int *kinds;                  /* K_* of names[i], -1: delivers nothing */
    uint32_t count;
    uint32_t mask;               /* 1 << K_* subscribed */
} sub_conn_t;

typedef struct dirty {
    int side; /* nd_side_t */
    int64_t px;
} dirty_t;

typedef struct cadence {
    int64_t first_u;       /* first book id since the last diff, 0 when none */
    int64_t flush_at_ns;   /* the market time at which the pending diff is cut */
    int64_t last_ts_ns;    /* market time of the last change: the diff's E */
    dirty_t *dirty;
    size_t count, cap;
    bool overflow;
    bool gap;              /* the gap fault: the next diff is not sent */
} cadence_t;

/* A message fault (drop, duplicate, delay, corrupt): it hits every `every`-th market message
 * sent while `left` > 0, so a fault can be a burst (every 1) or spread out (every 5: one message
 * in five, as a lossy or noisy link would). */
typedef struct msg_fault {
    int64_t left, every, seen;
} msg_fault_t;

typedef struct delayed {
    int kind;
    char *raw;
    int64_t due_ns;
} delayed_t;

struct nd__xsim_streams {
    nd_xsim_t *x;
    nd_xsim_api_t *api;
    const nd_clock_t *clock;
    nd__xsim_cb_t *cb;     /* --venue coinbase: every connection is Coinbase's */
    sub_conn_t *subs[ND_XSIM_CONNECTIONS_MAX];
    uint32_t sub_count;
    char symbol[ND_NAME_MAX * 2], lower[ND_NAME_MAX * 2];
    cadence_t cad[2];
    int64_t top[4];        /* bookTicker last sent: bid px, bid qty, ask px, ask qty */
    int64_t agg_id;
    int64_t bal[4];        /* outboundAccountPosition last sent */
    int64_t exec_id;
    msg_fault_t drop, dup, delay, corrupt;
    int64_t delay_ns;
    int64_t next_sub_id;   /* the WebSocket API's subscriptionIds, from 0 for the server's life */
    delayed_t delayed[DELAYED_MAX];
    uint32_t delayed_count;
    /* Wire to wire (GET /admin/latency): when the last trade message was handed to the
     * sockets (monotonic), and per new order accepted since, how long after it its request's
     * bytes were read. */
    int64_t trade_sent_mono_ns;
    int64_t w2w_ns[ND__XSIM_W2W_MAX];
    uint32_t w2w_count;
};

/* ---- Output --------------------------------------------------------------------------------- */

/* Takes doc; NULL when doc is NULL or out of memory. */
static char *dump(json_t *doc, size_t *len)
{
    return nd__xsim_json_take(doc, JSON_COMPACT, len);
}

static void send_json(nd__xsim_conn_t *c, json_t *doc)
{
    size_t len = 0;
    char *text = dump(doc, &len);
    if (text)
        nd__xsim_ws_send(c, ND__WS_TEXT, text, len);
    nd_free(text);
}

/* Sends the raw payload of a kind to every connection subscribed, wrapped when combined. */
static void deliver(nd__xsim_streams_t *s, int kind, const char *raw)
{
    if (kind == K_TRADE) /* before the first write: the measure includes the send */
        s->trade_sent_mono_ns = nd_clock_mono_ns(s->clock);
    char name[NAME_MAX_LEN];
    snprintf(name, sizeof name, "%s%s", s->lower, kind_suffix[kind]);
    size_t raw_len = strlen(raw), wrap_cap = raw_len + sizeof name + 32;
    char *wrapped = NULL;
    size_t wrapped_len = 0;
    for (uint32_t i = 0; i < s->sub_count; i++) {
        sub_conn_t *sc = s->subs[i];
        if (!(sc->mask & (1u << kind)))
            continue;
        if (!sc->combined) {
            nd__xsim_ws_send(sc->conn, ND__WS_TEXT, raw, raw_len);
            continue;
        }
        if (!wrapped && (wrapped = nd_alloc(wrap_cap)) != NULL)
            wrapped_len = (size_t)snprintf(wrapped, wrap_cap, "{\"stream\":\"%s\",\"data\":%s}",
                                           name, raw);
        if (wrapped)
            nd__xsim_ws_send(sc->conn, ND__WS_TEXT, wrapped, wrapped_len);
    }
    nd_free(wrapped);
}

static bool subscribed(const nd__xsim_streams_t *s, int kind)
{
    for (uint32_t i = 0; i < s->sub_count; i++)
        if (s->subs[i]->mask & (1u << kind))
            return true;
    return false;
}

/* Whether fault f hits this message (counted: one more message seen while it is on). */
static bool hits(msg_fault_t *f)
{
    if (f->left <= 0)
        return false;
    ND_ASSERT(f->every >= 1);
    if (++f->seen % f->every != 0)
        return false;
    f->left--;
    return true;
}

/* A market message through the fault hooks (drop, corrupt, delay, duplicate); takes raw. A message no
 * connection subscribes to is not made at all by the callers that can tell, and never counts
 * against a fault (the faults act on messages that are sent). */
static void publish(nd__xsim_streams_t *s, int kind, char *raw)
{
    if (!raw)
        return;
    if (!subscribed(s, kind)) {
        nd_free(raw);
        return;
    }
    if (hits(&s->drop)) {
        nd_free(raw);
        return;
    }
    if (hits(&s->corrupt))
        raw[strlen(raw) / 2] = '\0'; /* cut in half: a truncated message, no longer JSON */
    if (s->delayed_count < DELAYED_MAX && hits(&s->delay)) {
        s->delayed[s->delayed_count++] =
            (delayed_t){kind, raw, nd_clock_now_ns(s->clock) + s->delay_ns};
        return;
    }
    deliver(s, kind, raw);
    if (hits(&s->dup))
        deliver(s, kind, raw);
    nd_free(raw);
}

static json_t *fixed(int64_t v)
{
    return nd__xsim_fixed_str(v);
}

static json_int_t ms(int64_t ns)
{
    return (json_int_t)(ns / ND_NS_PER_MS);
}

/* ---- Market data ---------------------------------------------------------------------------- */

int64_t nd__xsim_level_qty(const nd_xsim_book_t *book, nd_side_t side, int64_t px)
{
    size_t lo = 0, hi = nd_xsim_book_count(book, side);
    while (lo < hi) { /* first index whose price is not better than px */
        size_t mid = lo + (hi - lo) / 2;
        int64_t p = nd_xsim_book_at(book, side, mid)->px;
        if (side == ND_SIDE_BUY ? p > px : p < px)
            lo = mid + 1;
        else
            hi = mid;
    }
    int64_t qty = 0;
    for (size_t i = lo; i < nd_xsim_book_count(book, side); i++) {
        const nd_xsim_order_t *o = nd_xsim_book_at(book, side, i);
        if (o->px != px)
            break;
        qty += o->qty;
    }
    return qty;
}

static int dirty_cmp(const void *a, const void *b)
{
    const dirty_t *x = a, *y = b;
    if (x->side != y->side)
        return x->side < y->side ? -1 : 1;
    return x->px < y->px ? -1 : x->px > y->px;
}

static json_t *diff_levels(const nd__xsim_streams_t *s, const cadence_t *cd, nd_side_t side)
{
    const nd_xsim_book_t *book = nd_xsim_book(s->x);
    json_t *arr = json_array();
    for (size_t i = 0; i < cd->count; i++) {
        const dirty_t *d = &cd->dirty[side == ND_SIDE_BUY ? cd->count - 1 - i : i]; /* best first */
        if (d->side == (int)side)
            json_array_append_new(arr, json_pack("[o,o]", fixed(d->px),
                                                 fixed(nd__xsim_level_qty(book, side, d->px))));
    }
    return arr;
}

/* Sorts the dirty levels by side and price and removes repeats. */
static void dirty_unique(cadence_t *cd)
{
    if (cd->count == 0)
        return; /* an update that moved no level (a trade that met no liquidity) */
    qsort(cd->dirty, cd->count, sizeof *cd->dirty, dirty_cmp);
    size_t n = 0;
    for (size_t i = 0; i < cd->count; i++)
        if (n == 0 || dirty_cmp(&cd->dirty[n - 1], &cd->dirty[i]) != 0)
            cd->dirty[n++] = cd->dirty[i];
    cd->count = n;
}

/* Cuts the pending diff of cadence k: {"e":"depthUpdate",E,s,U,u,b,a}. */
static void flush_depth(nd__xsim_streams_t *s, int k)
{
    cadence_t *cd = &s->cad[k];
    if (!cd->first_u)
        return;
    dirty_unique(cd);
    json_t *doc = json_pack("{s:s,s:I,s:s,s:I,s:I,s:o,s:o}", "e", "depthUpdate", "E",
                            ms(cd->last_ts_ns), "s", s->symbol, "U", (json_int_t)cd->first_u, "u",
                            (json_int_t)nd_xsim_update_id(s->x), "b",
                            diff_levels(s, cd, ND_SIDE_BUY), "a", diff_levels(s, cd, ND_SIDE_SELL));
    bool skip = cd->overflow;
    if (cd->gap) { /* the gap fault: this diff never leaves, the next one's U jumps */
        cd->gap = false;
        skip = true;
        ND_LOG(ND_LOG_INFO, "xsim fault applied: depth diff U=%lld dropped (sequence gap)",
               (long long)cd->first_u);
    }
    cd->first_u = 0;
    cd->count = 0;
    cd->overflow = false;
    size_t len = 0;
    char *raw = dump(doc, &len);
    if (skip)
        nd_free(raw);
    else
        publish(s, k == 0 ? K_DEPTH100 : K_DEPTH1000, raw);
}

/* Cuts every diff whose market-time window ended by ts_ns. */
static void flush_due(nd__xsim_streams_t *s, int64_t ts_ns)
{
    for (int k = 0; k < 2; k++)
        if (s->cad[k].first_u && ts_ns >= s->cad[k].flush_at_ns)
            flush_depth(s, k);
}

static void on_before(void *ctx, int64_t ts_ns)
{
    flush_due(ctx, ts_ns);
}

static void on_level(void *ctx, nd_side_t side, int64_t px)
{
    nd__xsim_streams_t *s = ctx;
    for (int k = 0; k < 2; k++) {
        cadence_t *cd = &s->cad[k];
        if (cd->count == DIRTY_MAX) {
            cd->overflow = true;
            continue;
        }
        dirty_t *grown = nd_array_grow(cd->dirty, &cd->cap, cd->count + 1, sizeof *grown, 256);
        if (!grown) {
            cd->overflow = true;
            continue;
        }
        cd->dirty = grown;
        cd->dirty[cd->count++] = (dirty_t){(int)side, px};
    }
}

/* bookTicker when the best price or size of a side changed (always after a replayed quote). */
static void maybe_ticker(nd__xsim_streams_t *s, int64_t update_id, int64_t ts_ns, bool force)
{
    const nd_xsim_book_t *book = nd_xsim_book(s->x);
    int64_t bid = nd_xsim_book_best(book, ND_SIDE_BUY), ask = nd_xsim_book_best(book, ND_SIDE_SELL);
    if (!bid || !ask)
        return;
    int64_t top[4] = {bid, nd__xsim_level_qty(book, ND_SIDE_BUY, bid), ask,
                      nd__xsim_level_qty(book, ND_SIDE_SELL, ask)};
    if (!force && memcmp(top, s->top, sizeof top) == 0)
        return;
    memcpy(s->top, top, sizeof top);
    size_t len = 0;
    publish(s, K_TICKER, dump(json_pack("{s:I,s:s,s:o,s:o,s:o,s:o,s:I}", "u", (json_int_t)update_id,
                                        "s", s->symbol, "b", fixed(bid), "B", fixed(top[1]), "a",
                                        fixed(ask), "A", fixed(top[3]), "E", ms(ts_ns)),
                              &len));
}

static void on_update(void *ctx, int64_t update_id, int64_t ts_ns, unsigned flags)
{
    nd__xsim_streams_t *s = ctx;
    for (int k = 0; k < 2; k++) {
        cadence_t *cd = &s->cad[k];
        if (!cd->first_u) {
            cd->first_u = update_id;
            cd->flush_at_ns = (ts_ns / cadence_ns[k] + 1) * cadence_ns[k];
        }
        cd->last_ts_ns = ts_ns;
    }
    if (!(flags & ND_XSIM_UPDATE_NO_TOP))
        maybe_ticker(s, update_id, ts_ns, flags & ND_XSIM_UPDATE_QUOTE);
}

static void on_trade(void *ctx, const nd_xsim_public_trade_t *t)
{
    nd__xsim_streams_t *s = ctx;
    size_t len = 0;
    publish(s, K_TRADE,
            dump(json_pack("{s:s,s:I,s:s,s:I,s:o,s:o,s:I,s:b,s:b}", "e", "trade", "E",
                           ms(t->ts_ns), "s", s->symbol, "t", (json_int_t)t->id, "p", fixed(t->px),
                           "q", fixed(t->qty), "T", ms(t->ts_ns), "m", t->buyer_is_maker, "M", 1),
                 &len));
    s->agg_id++;
    publish(s, K_AGG,
            dump(json_pack("{s:s,s:I,s:s,s:I,s:o,s:o,s:I,s:I,s:I,s:b,s:b}", "e", "aggTrade", "E",
                           ms(t->ts_ns), "s", s->symbol, "a", (json_int_t)s->agg_id, "p",
                           fixed(t->px), "q", fixed(t->qty), "f", (json_int_t)t->id, "l",
                           (json_int_t)t->id, "T", ms(t->ts_ns), "m", t->buyer_is_maker, "M", 1),
                 &len));
}

/* ---- User data ------------------------------------------------------------------------------ */

/* One event of the WebSocket API subscription sub_id: {"subscriptionId":N,"event":{..}}. */
static void send_wrapped(sub_conn_t *sc, const char *text, size_t len)
{
    size_t cap = len + 64;
    char *wrapped = nd_alloc(cap);
    if (!wrapped)
        return;
    int n = snprintf(wrapped, cap, "{\"subscriptionId\":%lld,\"event\":%.*s}",
                     (long long)sc->sub_id, (int)len, text);
    if (n > 0 && (size_t)n < cap)
        nd__xsim_ws_send(sc->conn, ND__WS_TEXT, wrapped, (size_t)n);
    nd_free(wrapped);
}

/* An account event to every listenKey stream (bare) and every WebSocket API subscription
 * (wrapped). */
static void send_user(nd__xsim_streams_t *s, json_t *doc)
{
    size_t len = 0;
    char *text = dump(doc, &len);
    for (uint32_t i = 0; text && i < s->sub_count; i++) {
        if (s->subs[i]->user)
            nd__xsim_ws_send(s->subs[i]->conn, ND__WS_TEXT, text, len);
        else if (s->subs[i]->ws_api && s->subs[i]->sub_id >= 0)
            send_wrapped(s->subs[i], text, len);
    }
    nd_free(text);
}

static const char *const status_names[] = {"NEW", "PARTIALLY_FILLED", "FILLED", "CANCELED",
                                           "EXPIRED", "REJECTED"};

/* The fields of an executionReport beyond the order's own, for one event. */
static void exec_fill_fields(nd__xsim_streams_t *s, json_t *j, const nd_xsim_user_order_t *o,
                             const nd_xsim_trade_t *f)
{
    const nd_instrument_t *inst = &nd_xsim_config(s->x)->inst;
    json_object_set_new(j, "l", fixed(f ? f->qty : 0));
    json_object_set_new(j, "z", fixed(o->executed_qty));
    json_object_set_new(j, "L", fixed(f ? f->px : 0));
    json_object_set_new(j, "n", fixed(f ? f->commission : 0));
    json_object_set_new(j, "N", f ? json_string(f->commission_in_base ? inst->base : inst->quote)
                                  : json_null());
    json_object_set_new(j, "T", json_integer(ms(f ? f->time_ns : o->update_ns)));
    json_object_set_new(j, "t", json_integer(f ? f->id : -1));
    json_object_set_new(j, "I", json_integer(++s->exec_id));
    json_object_set_new(j, "w", json_boolean(o->status == ND_XSIM_NEW ||
                                             o->status == ND_XSIM_PARTIALLY_FILLED));
    json_object_set_new(j, "m", json_boolean(f && f->is_maker));
    json_object_set_new(j, "M", json_false());
    json_object_set_new(j, "O", json_integer(ms(o->time_ns)));
    json_object_set_new(j, "Z", fixed(o->cum_quote));
    json_object_set_new(j, "Y", fixed(f ? f->quote_qty : 0));
    json_object_set_new(j, "Q", fixed(0));
    json_object_set_new(j, "W", json_integer(ms(o->time_ns)));
    json_object_set_new(j, "V", json_string("NONE"));
}

static void on_order(void *ctx, const nd_xsim_user_order_t *o, const char *exec,
                     const nd_xsim_trade_t *fill)
{
    nd__xsim_streams_t *s = ctx;
    bool cancel = strcmp(exec, "CANCELED") == 0;
    char cancel_id[40];
    snprintf(cancel_id, sizeof cancel_id, "xsim-cancel-%lld", (long long)o->id);
    json_t *j = json_pack(
        "{s:s,s:I,s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:I,s:s,s:s,s:s,s:s,s:I}", "e",
        "executionReport", "E", ms(fill ? fill->time_ns : o->update_ns), "s", s->symbol, "c",
        cancel ? cancel_id : o->client_id, "S", o->side == ND_SIDE_BUY ? "BUY" : "SELL", "o",
        o->type == ND_XSIM_MARKET ? "MARKET" : o->type == ND_XSIM_LIMIT_MAKER ? "LIMIT_MAKER"
                                                                              : "LIMIT",
        "f", o->tif == ND_XSIM_IOC ? "IOC" : o->tif == ND_XSIM_FOK ? "FOK" : "GTC", "q",
        fixed(o->orig_qty), "p", fixed(o->px), "P", fixed(0), "F", fixed(0), "g",
        (json_int_t)-1, "C", cancel ? o->client_id : "", "x", exec, "X",
        status_names[o->status], "r", strcmp(exec, "REJECTED") == 0 ? "OTHER" : "NONE", "i",
        (json_int_t)o->id);
    if (!j)
        return;
    exec_fill_fields(s, j, o, fill);
    send_user(s, j);
    int64_t bal[4];
    nd_xsim_balances(s->x, &bal[0], &bal[1], &bal[2], &bal[3]);
    if (memcmp(bal, s->bal, sizeof bal) == 0)
        return;
    memcpy(s->bal, bal, sizeof bal);
    const nd_instrument_t *inst = &nd_xsim_config(s->x)->inst;
    int64_t t = ms(fill ? fill->time_ns : o->update_ns);
    send_user(s, json_pack("{s:s,s:I,s:I,s:[{s:s,s:o,s:o},{s:s,s:o,s:o}]}", "e",
                           "outboundAccountPosition", "E", (json_int_t)t, "u", (json_int_t)t, "B",
                           "a", inst->base, "f", fixed(bal[0]), "l", fixed(bal[1]), "a",
                           inst->quote, "f", fixed(bal[2]), "l", fixed(bal[3])));
}

/* ---- Subscriptions -------------------------------------------------------------------------- */

/* The kind of a stream name: K_*, -1 for a well-formed name that delivers nothing, -2 when
 * malformed. */
static int stream_kind(const nd__xsim_streams_t *s, const char *name)
{
    size_t n = strlen(name);
    const char *at = strchr(name, '@');
    if (n == 0 || n >= NAME_MAX_LEN || !at || at == name)
        return -2;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("@_.+:-", *p))
            return -2;
    for (int k = 0; k < K_COUNT; k++)
        if (strcmp(at, kind_suffix[k]) == 0)
            return strncmp(name, s->lower, (size_t)(at - name)) == 0 &&
                           s->lower[at - name] == '\0' ? k : -1;
    return strncmp(at, "@depth", 6) == 0 || strncmp(at, "@kline_", 7) == 0 ||
                   strcmp(at, "@ticker") == 0 || strcmp(at, "@miniTicker") == 0 ||
                   strcmp(at, "@avgPrice") == 0
               ? -1 : -2;
}

static void sub_recount(sub_conn_t *sc)
{
    sc->mask = 0;
    for (uint32_t i = 0; i < sc->count; i++)
        if (sc->kinds[i] >= 0)
            sc->mask |= 1u << sc->kinds[i];
}

static bool sub_add(const nd__xsim_streams_t *s, sub_conn_t *sc, const char *name)
{
    int kind = stream_kind(s, name);
    if (kind == -2)
        return false;
    for (uint32_t i = 0; i < sc->count; i++)
        if (strcmp(sc->names[i], name) == 0)
            return true;
    if (sc->count == SUBS_MAX)
        return false;
    snprintf(sc->names[sc->count], NAME_MAX_LEN, "%s", name);
    sc->kinds[sc->count++] = kind;
    sub_recount(sc);
    return true;
}

static void sub_remove(sub_conn_t *sc, const char *name)
{
    for (uint32_t i = 0; i < sc->count; i++)
        if (strcmp(sc->names[i], name) == 0) {
            memmove(sc->names[i], sc->names[i + 1], (sc->count - i - 1) * NAME_MAX_LEN);
            memmove(&sc->kinds[i], &sc->kinds[i + 1], (sc->count - i - 1) * sizeof *sc->kinds);
            sc->count--;
            break;
        }
    sub_recount(sc);
}

static void sub_free(sub_conn_t *sc)
{
    if (!sc)
        return;
    nd_free(sc->names);
    nd_free(sc->kinds);
    nd_free(sc);
}

/* Adds every '/'-separated name of list[0, len) (URL text, no decoding needed). */
static bool sub_add_list(const nd__xsim_streams_t *s, sub_conn_t *sc, const char *list, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && list[end] != '/')
            end++;
        char name[NAME_MAX_LEN];
        if (end == i || end - i >= sizeof name)
            return false;
        memcpy(name, list + i, end - i);
        name[end - i] = '\0';
        if (!sub_add(s, sc, name))
            return false;
        i = end + 1;
    }
    return true;
}

static int open_user(nd__xsim_streams_t *s, sub_conn_t *sc, const char *key)
{
    if (!nd__xsim_api_listen_key_ok(s->api, key, nd_clock_now_ns(s->clock)))
        return 400;
    sc->user = true;
    return 0;
}

int nd__xsim_streams_open(nd__xsim_streams_t *s, nd__xsim_conn_t *c, const char *path,
                          const char *query, size_t query_len)
{
    ND_ASSERT(s != NULL && c != NULL && path != NULL);
    if (s->cb)
        return nd__xsim_cb_open(s->cb, c, path);
    bool raw = strncmp(path, "/ws/", 4) == 0 || strcmp(path, "/ws") == 0;
    bool ws_api = strcmp(path, "/ws-api/v3") == 0;
    if (!raw && !ws_api && strcmp(path, "/stream") != 0)
        return 404;
    if (s->sub_count == ND_XSIM_CONNECTIONS_MAX)
        return 400;
    sub_conn_t *sc = nd_calloc(1, sizeof *sc);
    if (sc) {
        sc->names = nd_calloc(SUBS_MAX, NAME_MAX_LEN);
        sc->kinds = nd_calloc(SUBS_MAX, sizeof *sc->kinds);
    }
    if (!sc || !sc->names || !sc->kinds) {
        sub_free(sc);
        return 400;
    }
    sc->conn = c;
    sc->combined = !raw;
    sc->ws_api = ws_api;
    sc->sub_id = -1;
    int status = 0;
    const char *rest = raw && path[3] == '/' ? path + 4 : "";
    if (ws_api)
        status = 0; /* requests come as messages */
    else if (raw && *rest && !strchr(rest, '@') && !strchr(rest, '/'))
        status = open_user(s, sc, rest);
    else if (raw)
        status = sub_add_list(s, sc, rest, strlen(rest)) ? 0 : 400;
    else if (query_len > 8 && strncmp(query, "streams=", 8) == 0) {
        /* the query is not NUL-terminated: it ends at query_len or at the next parameter */
        const char *amp = memchr(query + 8, '&', query_len - 8);
        size_t list_len = amp ? (size_t)(amp - (query + 8)) : query_len - 8;
        status = sub_add_list(s, sc, query + 8, list_len) ? 0 : 400;
    } else {
        status = 400;
    }
    if (status != 0) {
        sub_free(sc);
        return status;
    }
    c->ws = true;
    c->stream = sc;
    s->subs[s->sub_count++] = sc;
    if (!sc->user && !sc->ws_api) /* a held replay starts with its first market-stream client */
        nd_xsim_start(s->x, nd_clock_now_ns(s->clock));
    return 0;
}

void nd__xsim_streams_closed(nd__xsim_streams_t *s, nd__xsim_conn_t *c)
{
    if (s->cb) {
        nd__xsim_cb_closed(s->cb, c);
        return;
    }
    for (uint32_t i = 0; i < s->sub_count; i++)
        if (s->subs[i]->conn == c) {
            sub_free(s->subs[i]);
            s->subs[i] = s->subs[--s->sub_count];
            break;
        }
    c->stream = NULL;
}

/* ---- Requests ------------------------------------------------------------------------------- */

static void reply_error(nd__xsim_conn_t *c, int code, const char *msg, json_t *id)
{
    send_json(c, json_pack("{s:{s:i,s:s},s:o}", "error", "code", code, "msg", msg, "id",
                           id ? json_incref(id) : json_null()));
}

/* id: an unsigned integer, a string of at most 36 characters, or null. */
static bool id_ok(const json_t *id)
{
    return !id || json_is_null(id) || (json_is_integer(id) && json_integer_value(id) >= 0) ||
           (json_is_string(id) && json_string_length(id) <= 36);
}

static bool apply_params(nd__xsim_streams_t *s, sub_conn_t *sc, json_t *params, bool subscribe)
{
    size_t i;
    json_t *v;
    json_array_foreach(params, i, v) {
        if (!json_is_string(v) || stream_kind(s, json_string_value(v)) == -2)
            return false;
    }
    json_array_foreach(params, i, v) {
        if (subscribe && !sub_add(s, sc, json_string_value(v)))
            return false;
        if (!subscribe)
            sub_remove(sc, json_string_value(v));
    }
    return true;
}

static void list_subscriptions(sub_conn_t *sc, json_t *id)
{
    json_t *arr = json_array();
    for (uint32_t i = 0; i < sc->count; i++)
        json_array_append_new(arr, json_string(sc->names[i]));
    send_json(sc->conn, json_pack("{s:o,s:O}", "result", arr, "id", id));
}

static void property(sub_conn_t *sc, json_t *params, json_t *id, bool set)
{
    json_t *name = json_array_get(params, 0), *value = json_array_get(params, 1);
    if (!json_is_string(name) || strcmp(json_string_value(name), "combined") != 0) {
        reply_error(sc->conn, 0, "Unknown property", id);
        return;
    }
    if (set && !json_is_boolean(value)) {
        reply_error(sc->conn, 1, "Invalid value type: expected Boolean", id);
        return;
    }
    if (set)
        sc->combined = json_is_true(value);
    send_json(sc->conn, json_pack("{s:o,s:O}", "result",
                                  set ? json_null() : json_boolean(sc->combined), "id", id));
}

static void handle_request(nd__xsim_streams_t *s, sub_conn_t *sc, json_t *req)
{
    json_t *id = json_object_get(req, "id"), *params = json_object_get(req, "params");
    const char *method = json_string_value(json_object_get(req, "method"));
    if (!id_ok(id)) {
        reply_error(sc->conn, 2, "Invalid request: request ID must be an unsigned integer", NULL);
        return;
    }
    id = id ? id : json_null();
    if (!method) {
        reply_error(sc->conn, 2, "Invalid request: missing field `method`", id);
        return;
    }
    bool sub = strcmp(method, "SUBSCRIBE") == 0, unsub = strcmp(method, "UNSUBSCRIBE") == 0;
    if (sub || unsub) {
        if (!json_is_array(params) || !apply_params(s, sc, params, sub))
            reply_error(sc->conn, 2, "Invalid request: invalid stream name or parameters", id);
        else
            send_json(sc->conn, json_pack("{s:n,s:O}", "result", "id", id));
    } else if (strcmp(method, "LIST_SUBSCRIPTIONS") == 0) {
        list_subscriptions(sc, id);
    } else if (strcmp(method, "SET_PROPERTY") == 0 || strcmp(method, "GET_PROPERTY") == 0) {
        property(sc, json_is_array(params) ? params : NULL, id, method[0] == 'S');
    } else {
        char msg[200];
        snprintf(msg, sizeof msg, "Invalid request: unknown variant `%.40s`, expected one of "
                 "`SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, "
                 "`GET_PROPERTY`", method);
        reply_error(sc->conn, 2, msg, id);
    }
}

/* ---- The WebSocket API's user data requests (/ws-api/v3) ------------------------------------ */

static void ws_api_reply(sub_conn_t *sc, json_t *id, json_t *result)
{
    send_json(sc->conn, json_pack("{s:O,s:i,s:o}", "id", id, "status", 200, "result", result));
}

static void ws_api_error(sub_conn_t *sc, json_t *id, int status, int code, const char *msg)
{
    send_json(sc->conn, json_pack("{s:O,s:i,s:{s:i,s:s}}", "id", id, "status", status, "error",
                                  "code", code, "msg", msg));
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The signed payload of params: every parameter but signature, sorted by name, key=value
 * joined by '&' (strings as they are, integers in decimal). False for another value type. */
static bool ws_api_payload(json_t *params, char *out, size_t cap)
{
    const char *keys[16];
    size_t n = 0, len = 0;
    const char *key;
    json_t *v;
    json_object_foreach(params, key, v) {
        if (strcmp(key, "signature") == 0)
            continue;
        if (n == 16 || (!json_is_string(v) && !json_is_integer(v)))
            return false;
        keys[n++] = key;
    }
    qsort(keys, n, sizeof *keys, key_cmp);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        v = json_object_get(params, keys[i]);
        int w = json_is_string(v)
                    ? snprintf(out + len, cap - len, "%s%s=%s", i ? "&" : "", keys[i],
                               json_string_value(v))
                    : snprintf(out + len, cap - len, "%s%s=%lld", i ? "&" : "", keys[i],
                               (long long)json_integer_value(v));
        if (w < 0 || (size_t)w >= cap - len)
            return false;
        len += (size_t)w;
    }
    return true;
}

/* userDataStream.subscribe.signature: {apiKey, timestamp, [recvWindow], signature}. */
static void ws_api_subscribe(nd__xsim_streams_t *s, sub_conn_t *sc, json_t *id, json_t *params)
{
    char payload[1024];
    if (!json_is_object(params) || !ws_api_payload(params, payload, sizeof payload)) {
        ws_api_error(sc, id, 400, -1102, "Mandatory parameter 'params' was not sent, was "
                     "empty/null, or malformed.");
        return;
    }
    nd__xsim_ws_signed_t req = {
        .api_key = json_string_value(json_object_get(params, "apiKey")),
        .signature = json_string_value(json_object_get(params, "signature")),
        .timestamp = json_integer_value(json_object_get(params, "timestamp")),
        .recv_window_ms = json_integer_value(json_object_get(params, "recvWindow")),
        .payload = payload, .payload_len = strlen(payload)};
    const char *msg = "";
    int code = nd__xsim_api_ws_signed(s->api, &req, nd_clock_now_ns(s->clock), &msg);
    if (code != 0) {
        ws_api_error(sc, id, code == -2014 || code == -2015 ? 401 : 400, code, msg);
        return;
    }
    if (sc->sub_id >= 0) {
        ws_api_error(sc, id, 400, -2035, "User Data Stream subscription already active.");
        return;
    }
    sc->sub_id = s->next_sub_id++;
    ws_api_reply(sc, id, json_pack("{s:I}", "subscriptionId", (json_int_t)sc->sub_id));
}

/* Ends sc's subscription: eventStreamTerminated, wrapped, as Binance sends it. */
static void ws_api_end(nd__xsim_streams_t *s, sub_conn_t *sc, int64_t now_ns)
{
    if (sc->sub_id < 0)
        return;
    char ev[96];
    int n = snprintf(ev, sizeof ev, "{\"e\":\"eventStreamTerminated\",\"E\":%lld}",
                     (long long)(now_ns / ND_NS_PER_MS));
    (void)s;
    send_wrapped(sc, ev, (size_t)n);
    sc->sub_id = -1;
}

static void ws_api_message(nd__xsim_streams_t *s, sub_conn_t *sc, const char *text, size_t len)
{
    json_error_t jerr;
    json_t *req = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *id = req ? json_object_get(req, "id") : NULL;
    const char *method = req ? json_string_value(json_object_get(req, "method")) : NULL;
    json_t *null_id = json_null();
    id = id && id_ok(id) ? id : null_id;
    if (!method) {
        ws_api_error(sc, id, 400, -1102, "Mandatory parameter 'method' was not sent, was "
                     "empty/null, or malformed.");
    } else if (strcmp(method, "userDataStream.subscribe.signature") == 0) {
        ws_api_subscribe(s, sc, id, json_object_get(req, "params"));
    } else if (strcmp(method, "userDataStream.unsubscribe") == 0) {
        bool had = sc->sub_id >= 0;
        ws_api_reply(sc, id, json_object());
        if (had)
            ws_api_end(s, sc, nd_clock_now_ns(s->clock));
    } else if (strcmp(method, "ping") == 0) {
        ws_api_reply(sc, id, json_object());
    } else {
        ws_api_error(sc, id, 400, -1100, "Unknown method (exchange-sim serves "
                     "userDataStream.subscribe.signature, userDataStream.unsubscribe, ping).");
    }
    json_decref(null_id);
    json_decref(req);
}

uint32_t nd__xsim_streams_terminate_user(nd__xsim_streams_t *s, int64_t now_ns)
{
    ND_ASSERT(s != NULL);
    uint32_t ended = 0;
    for (uint32_t i = 0; i < s->sub_count; i++)
        if (s->subs[i]->ws_api && s->subs[i]->sub_id >= 0) {
            ws_api_end(s, s->subs[i], now_ns);
            ended++;
        }
    return ended;
}

void nd__xsim_streams_message(nd__xsim_streams_t *s, nd__xsim_conn_t *c, const char *text,
                              size_t len)
{
    ND_ASSERT(s != NULL && c != NULL);
    if (s->cb) {
        nd__xsim_cb_message(s->cb, c, text, len);
        return;
    }
    sub_conn_t *sc = c->stream;
    if (!sc || sc->user)
        return; /* the user data stream takes no requests */
    if (sc->ws_api) {
        ws_api_message(s, sc, text, len);
        return;
    }
    json_error_t jerr;
    json_t *req = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!req) {
        char msg[200];
        snprintf(msg, sizeof msg, "Invalid JSON: %.100s at line %d column %d", jerr.text,
                 jerr.line, jerr.column);
        reply_error(c, 3, msg, NULL);
        return;
    }
    if (!json_is_object(req))
        reply_error(c, 2, "Invalid request: expected an object", NULL);
    else
        handle_request(s, sc, req);
    json_decref(req);
}

/* ---- Timer, faults, life -------------------------------------------------------------------- */

static void release_delayed(nd__xsim_streams_t *s, int64_t now_ns)
{
    uint32_t kept = 0;
    for (uint32_t i = 0; i < s->delayed_count; i++) {
        delayed_t *d = &s->delayed[i];
        if (d->due_ns <= now_ns) {
            deliver(s, d->kind, d->raw);
            nd_free(d->raw);
        } else {
            s->delayed[kept++] = *d;
        }
    }
    s->delayed_count = kept;
}

static void expire_keys(nd__xsim_streams_t *s, int64_t now_ns)
{
    char key[65];
    if (!nd__xsim_api_listen_key_expired(s->api, now_ns, key))
        return;
    ND_LOG(ND_LOG_INFO, "xsim listenKey expired: closing the user data streams");
    json_t *ev = json_pack("{s:s,s:I,s:s}", "e", "listenKeyExpired", "E", ms(now_ns), "listenKey",
                           key);
    explicit_bzero(key, sizeof key);
    send_user(s, ev);
    for (uint32_t i = 0; i < s->sub_count; i++)
        if (s->subs[i]->user)
            nd__xsim_ws_close(s->subs[i]->conn, 1000, "listenKeyExpired");
}

void nd__xsim_streams_tick(nd__xsim_streams_t *s, int64_t now_ns)
{
    ND_ASSERT(s != NULL);
    if (s->cb) {
        nd__xsim_cb_tick(s->cb, now_ns);
        return;
    }
    flush_due(s, nd_xsim_market_ns(s->x));
    if (nd_xsim_source_done(s->x)) /* the market stopped: nothing will cut the last diffs */
        for (int k = 0; k < 2; k++)
            flush_depth(s, k);
    release_delayed(s, now_ns);
    expire_keys(s, now_ns);
}

bool nd__xsim_streams_backlogged(const nd__xsim_streams_t *s)
{
    if (s->cb)
        return nd__xsim_cb_backlogged(s->cb);
    for (uint32_t i = 0; i < s->sub_count; i++) {
        const nd__xsim_conn_t *c = s->subs[i]->conn;
        if (c->queued > nd__xsim_conn_config(c)->send_queue_max / 2)
            return true;
    }
    return false;
}

void nd__xsim_streams_disconnect_all(nd__xsim_streams_t *s)
{
    if (s->cb)
        nd__xsim_cb_disconnect_all(s->cb);
    for (uint32_t i = 0; i < s->sub_count; i++)
        nd__xsim_ws_close(s->subs[i]->conn, 1001, "Going away");
}

void nd__xsim_streams_shutdown(nd__xsim_streams_t *s, int64_t now_ns)
{
    if (s->cb) { /* Coinbase announces nothing: the connections close (1001) */
        nd__xsim_cb_disconnect_all(s->cb);
        return;
    }
    char raw[96], wrapped[160];
    int n = snprintf(raw, sizeof raw, "{\"e\":\"serverShutdown\",\"E\":%lld}",
                     (long long)(now_ns / ND_NS_PER_MS));
    int w = snprintf(wrapped, sizeof wrapped, "{\"stream\":\"!serverShutdown\",\"data\":%s}", raw);
    for (uint32_t i = 0; i < s->sub_count; i++) {
        sub_conn_t *sc = s->subs[i];
        if (!sc->user)
            nd__xsim_ws_send(sc->conn, ND__WS_TEXT, sc->combined ? wrapped : raw,
                             (size_t)(sc->combined ? w : n));
        nd__xsim_ws_close(sc->conn, 1001, "Server shutdown");
    }
}

void nd__xsim_streams_fault(nd__xsim_streams_t *s, const char *kind, int64_t count,
                            int64_t every, int64_t delay_ns)
{
    ND_ASSERT(count >= 0);
    if (s->cb)
        nd__xsim_cb_fault(s->cb, kind, count, delay_ns);
    msg_fault_t f = {count, every > 1 ? every : 1, 0};
    if (strcmp(kind, "drop") == 0) {
        s->drop = f;
    } else if (strcmp(kind, "duplicate") == 0) {
        s->dup = f;
    } else if (strcmp(kind, "corrupt") == 0) {
        s->corrupt = f;
    } else if (strcmp(kind, "delay") == 0) {
        s->delay = f;
        if (delay_ns > 0)
            s->delay_ns = delay_ns;
    }
}

void nd__xsim_streams_gap(nd__xsim_streams_t *s)
{
    if (s->cb)
        nd__xsim_cb_gap(s->cb);
    s->cad[0].gap = s->cad[1].gap = true; /* both diff streams skip their next diff */
}

nd_err_t nd__xsim_streams_create(nd_xsim_t *x, nd_xsim_api_t *api, const nd_clock_t *clock,
                                 nd__xsim_streams_t **out)
{
    ND_ASSERT(x != NULL && api != NULL);
    ND_ASSERT(clock != NULL && out != NULL);
    nd__xsim_streams_t *s = nd_calloc(1, sizeof *s);
    if (!s)
        return ND_ENOMEM;
    s->x = x;
    s->api = api;
    s->clock = clock;
    const nd_instrument_t *inst = &nd_xsim_config(x)->inst;
    snprintf(s->symbol, sizeof s->symbol, "%s%s", inst->base, inst->quote);
    for (size_t i = 0; i <= strlen(s->symbol); i++)
        s->lower[i] = (char)tolower((unsigned char)s->symbol[i]);
    nd_xsim_balances(x, &s->bal[0], &s->bal[1], &s->bal[2], &s->bal[3]);
    if (nd__xsim_api_config(api)->venue == ND_XSIM_VENUE_COINBASE) {
        nd_err_t rc = nd__xsim_cb_create(x, api, clock, &s->cb); /* the exchange's listener */
        if (rc != ND_OK) {
            nd_free(s);
            return rc;
        }
        *out = s;
        return ND_OK;
    }
    nd_xsim_listener_t l = {on_before, on_level, on_update, on_trade, on_order, s};
    nd_xsim_set_listener(x, &l);
    *out = s;
    return ND_OK;
}

void nd__xsim_streams_order_arrived(nd__xsim_streams_t *s, int64_t read_mono_ns)
{
    ND_ASSERT(s != NULL);
    int64_t sent = s->cb ? nd__xsim_cb_trade_sent_ns(s->cb) : s->trade_sent_mono_ns;
    if (sent > 0 && read_mono_ns >= sent && s->w2w_count < ND__XSIM_W2W_MAX)
        s->w2w_ns[s->w2w_count++] = read_mono_ns - sent;
}

uint32_t nd__xsim_streams_take_latency(nd__xsim_streams_t *s, int64_t *out, uint32_t cap)
{
    ND_ASSERT(s != NULL && out != NULL);
    uint32_t n = s->w2w_count < cap ? s->w2w_count : cap;
    memcpy(out, s->w2w_ns, n * sizeof *out);
    s->w2w_count = 0;
    return n;
}

void nd__xsim_streams_destroy(nd__xsim_streams_t *s)
{
    if (!s)
        return;
    nd_xsim_set_listener(s->x, NULL);
    nd__xsim_cb_destroy(s->cb);
    for (uint32_t i = 0; i < s->sub_count; i++)
        sub_free(s->subs[i]);
    for (uint32_t i = 0; i < s->delayed_count; i++)
        nd_free(s->delayed[i].raw);
    for (int k = 0; k < 2; k++)
        nd_free(s->cad[k].dirty);
    nd_free(s);
}
