/* xsim_book.c: the exchange simulator's matching engine: a price-time-priority limit order book.
 *
 * Each side is one array of resting orders kept in priority order (bids highest price first,
 * asks lowest first; at one price by arrival sequence), so the best order is element 0 and
 * matching walks from the front. Insertion is a binary search plus a memmove: O(n) in the worst
 * case, which at the few thousand orders a simulated book holds costs microseconds. */
#include "noderr/xsim.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"

#include <string.h>

typedef struct side_book {
    nd_xsim_order_t *items;
    size_t count, cap;
} side_book_t;

struct nd_xsim_book {
    side_book_t sides[2]; /* [0] bids, [1] asks */
    int64_t next_seq;
    int64_t next_trade_id;
};

static side_book_t *side_of(nd_xsim_book_t *b, nd_side_t side)
{
    return &b->sides[side == ND_SIDE_BUY ? 0 : 1];
}

static const side_book_t *cside_of(const nd_xsim_book_t *b, nd_side_t side)
{
    return &b->sides[side == ND_SIDE_BUY ? 0 : 1];
}

/* True when price a has priority over price b on side. */
static bool better(nd_side_t side, int64_t a, int64_t b)
{
    return side == ND_SIDE_BUY ? a > b : a < b;
}

/* True when an order of side at limit px can trade with a resting price rest_px. */
static bool crosses(nd_side_t side, int64_t px, int64_t rest_px)
{
    if (px == 0)
        return true;
    return side == ND_SIDE_BUY ? rest_px <= px : rest_px >= px;
}

nd_err_t nd_xsim_book_create(nd_xsim_book_t **out)
{
    ND_ASSERT(out != NULL);
    nd_xsim_book_t *b = nd_calloc(1, sizeof *b);
    if (!b)
        return ND_ENOMEM;
    b->next_seq = 1;
    b->next_trade_id = 1;
    *out = b;
    return ND_OK;
}

void nd_xsim_book_destroy(nd_xsim_book_t *book)
{
    if (!book)
        return;
    nd_free(book->sides[0].items);
    nd_free(book->sides[1].items);
    nd_free(book);
}

/* First index whose price is worse than px (the end of px's FIFO). */
static size_t level_end(const side_book_t *s, nd_side_t side, int64_t px)
{
    size_t lo = 0, hi = s->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (better(side, px, s->items[mid].px))
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* First index whose price is px or worse (the start of px's FIFO). */
static size_t level_start(const side_book_t *s, nd_side_t side, int64_t px)
{
    size_t lo = 0, hi = s->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (better(side, s->items[mid].px, px))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void remove_at(side_book_t *s, size_t index)
{
    ND_ASSERT(index < s->count);
    memmove(&s->items[index], &s->items[index + 1], (s->count - index - 1) * sizeof s->items[0]);
    s->count--;
}

int64_t nd_xsim_book_take_trade_id(nd_xsim_book_t *book, int64_t at_least)
{
    if (at_least > book->next_trade_id)
        book->next_trade_id = at_least;
    return book->next_trade_id++;
}

void nd_xsim_book_match(nd_xsim_book_t *book, const nd_xsim_order_t *taker, int64_t *filled,
                        nd_xsim_fill_cb fill_cb, void *ctx)
{
    ND_ASSERT(book != NULL && taker != NULL);
    ND_ASSERT(taker->qty >= 0);
    nd_side_t opp = taker->side == ND_SIDE_BUY ? ND_SIDE_SELL : ND_SIDE_BUY;
    side_book_t *s = side_of(book, opp);
    int64_t left = taker->qty;
    while (left > 0 && s->count > 0 && crosses(taker->side, taker->px, s->items[0].px)) {
        nd_xsim_order_t *m = &s->items[0];
        int64_t q = m->qty < left ? m->qty : left;
        m->qty -= q;
        left -= q;
        nd_xsim_fill_t f = {.px = m->px, .qty = q, .maker = *m, .taker_id = taker->id,
                            .taker_account = taker->account, .taker_side = taker->side};
        if (m->qty == 0)
            remove_at(s, 0);
        bool internal = f.maker.account == ND_XSIM_ACCOUNT_MARKET &&
                        taker->account == ND_XSIM_ACCOUNT_MARKET;
        if (internal)
            continue; /* not a trade anyone sees: it takes no trade id */
        f.trade_id = nd_xsim_book_take_trade_id(book, 0);
        if (fill_cb)
            fill_cb(ctx, &f);
    }
    *filled = taker->qty - left;
}

void nd_xsim_book_probe(const nd_xsim_book_t *book, nd_side_t side, int64_t px, int64_t qty_max,
                        __int128 cost_max, int64_t *qty, __int128 *cost)
{
    ND_ASSERT(book != NULL && qty != NULL && cost != NULL);
    const side_book_t *s = cside_of(book, side == ND_SIDE_BUY ? ND_SIDE_SELL : ND_SIDE_BUY);
    int64_t got = 0;
    __int128 spent = 0;
    for (size_t i = 0; i < s->count && got < qty_max; i++) {
        const nd_xsim_order_t *m = &s->items[i];
        if (!crosses(side, px, m->px))
            break;
        int64_t q = m->qty < qty_max - got ? m->qty : qty_max - got;
        if (cost_max > 0 && spent + (__int128)q * m->px > cost_max) {
            q = (int64_t)((cost_max - spent) / m->px);
            got += q;
            spent += (__int128)q * m->px;
            break;
        }
        got += q;
        spent += (__int128)q * m->px;
    }
    *qty = got;
    *cost = spent;
}

const nd_xsim_order_t *nd_xsim_book_find(const nd_xsim_book_t *book, int64_t id)
{
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < book->sides[k].count; i++)
            if (book->sides[k].items[i].id == id)
                return &book->sides[k].items[i];
    return NULL;
}

int64_t nd_xsim_book_best(const nd_xsim_book_t *book, nd_side_t side)
{
    const side_book_t *s = cside_of(book, side);
    return s->count ? s->items[0].px : 0;
}

size_t nd_xsim_book_count(const nd_xsim_book_t *book, nd_side_t side)
{
    return cside_of(book, side)->count;
}

const nd_xsim_order_t *nd_xsim_book_at(const nd_xsim_book_t *book, nd_side_t side, size_t index)
{
    const side_book_t *s = cside_of(book, side);
    ND_ASSERT(index < s->count);
    return &s->items[index];
}

static size_t total_count(const nd_xsim_book_t *b)
{
    return b->sides[0].count + b->sides[1].count;
}

nd_err_t nd_xsim_book_add(nd_xsim_book_t *book, const nd_xsim_order_t *order)
{
    ND_ASSERT(book != NULL && order != NULL);
    if (order->qty <= 0 || order->px <= 0 || order->id <= 0)
        return ND_EINVAL;
    nd_side_t opp = order->side == ND_SIDE_BUY ? ND_SIDE_SELL : ND_SIDE_BUY;
    int64_t best = nd_xsim_book_best(book, opp);
    if (best && crosses(order->side, order->px, best))
        return ND_EINVAL;
    if (total_count(book) >= ND_XSIM_ORDERS_MAX)
        return ND_EFULL;
    if (nd_xsim_book_find(book, order->id))
        return ND_EINVAL;
    side_book_t *s = side_of(book, order->side);
    nd_xsim_order_t *grown = nd_array_grow(s->items, &s->cap, s->count + 1, sizeof *grown, 64);
    if (!grown)
        return ND_ENOMEM;
    s->items = grown;
    size_t at = level_end(s, order->side, order->px);
    memmove(&s->items[at + 1], &s->items[at], (s->count - at) * sizeof s->items[0]);
    s->items[at] = *order;
    s->items[at].seq = book->next_seq++;
    s->count++;
    return ND_OK;
}

nd_err_t nd_xsim_book_cancel(nd_xsim_book_t *book, int64_t id, nd_xsim_order_t *out)
{
    for (int k = 0; k < 2; k++) {
        side_book_t *s = &book->sides[k];
        for (size_t i = 0; i < s->count; i++) {
            if (s->items[i].id != id)
                continue;
            if (out)
                *out = s->items[i];
            remove_at(s, i);
            return ND_OK;
        }
    }
    return ND_ENOTFOUND;
}

/* Market orders get ids from the top half of the id space, clear of the exchange's user ids. */
#define MARKET_ID_BASE ((int64_t)1 << 48)

nd_err_t nd_xsim_book_set_level(nd_xsim_book_t *book, nd_side_t side, int64_t px, int64_t qty,
                                nd_xsim_fill_cb fill_cb, void *ctx)
{
    ND_ASSERT(book != NULL);
    ND_ASSERT(qty >= 0 && px > 0);
    side_book_t *s = side_of(book, side);
    int64_t old = 0;
    for (size_t i = level_start(s, side, px); i < s->count && s->items[i].px == px; i++) {
        if (s->items[i].account != ND_XSIM_ACCOUNT_MARKET)
            continue;
        old = s->items[i].qty;
        if (qty <= old && qty > 0) { /* a reduction keeps its place in the queue */
            s->items[i].qty = qty;
            return ND_OK;
        }
        remove_at(s, i);
        break;
    }
    if (qty == 0)
        return ND_OK;
    nd_xsim_order_t o = {.id = MARKET_ID_BASE + book->next_seq, .account = ND_XSIM_ACCOUNT_MARKET,
                         .side = side, .px = px, .qty = qty};
    int64_t filled = 0;
    nd_xsim_book_match(book, &o, &filled, fill_cb, ctx);
    o.qty -= filled;
    return o.qty > 0 ? nd_xsim_book_add(book, &o) : ND_OK;
}

static bool side_ok(const side_book_t *s, nd_side_t side)
{
    for (size_t i = 0; i < s->count; i++) {
        if (s->items[i].qty <= 0 || s->items[i].px <= 0)
            return false;
        if (i == 0)
            continue;
        const nd_xsim_order_t *a = &s->items[i - 1], *b = &s->items[i];
        if (better(side, b->px, a->px))
            return false;
        if (a->px == b->px && a->seq >= b->seq)
            return false;
    }
    return true;
}

bool nd_xsim_book_check(const nd_xsim_book_t *book)
{
    if (!side_ok(&book->sides[0], ND_SIDE_BUY) || !side_ok(&book->sides[1], ND_SIDE_SELL))
        return false;
    int64_t bid = nd_xsim_book_best(book, ND_SIDE_BUY), ask = nd_xsim_book_best(book, ND_SIDE_SELL);
    return !(bid && ask && bid >= ask);
}
