/* book.c: the L2 order book (book.h): two sorted arrays per side, allocated once.
 *
 * Both sides store a key that grows toward the best price (bids: px, asks: -px), sorted
 * ascending, so the best level is always the last element and one code path serves both.
 * Live updates land near the best price, so the memmove of an insert or removal is short.
 * Invariants (nd_book_valid): keys strictly increase, quantities are > 0, count <= max; a
 * level that does not fit is refused (ND_EFULL), never evicted or cut. */
#include "noderr/book.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"

#include <string.h>

static inline int64_t key_of(nd_book_side_t side, int64_t px)
{
    return side == ND_BOOK_BID ? px : -px;
}

nd_err_t nd_book_init(nd_book_t *book, uint32_t levels_max)
{
    ND_ASSERT(book != NULL);
    memset(book, 0, sizeof *book);
    if (levels_max == 0 || levels_max > ND_BOOK_LEVELS_MAX)
        return ND_EINVAL;
    for (int s = 0; s < 2; s++) {
        book->_side[s]._px = nd_calloc(levels_max, sizeof(int64_t));
        book->_side[s]._qty = nd_calloc(levels_max, sizeof(int64_t));
        if (!book->_side[s]._px || !book->_side[s]._qty) {
            nd_book_deinit(book);
            return ND_ENOMEM;
        }
    }
    book->_levels_max = levels_max;
    return ND_OK;
}

void nd_book_deinit(nd_book_t *book)
{
    if (!book)
        return;
    for (int s = 0; s < 2; s++) {
        nd_free(book->_side[s]._px);
        nd_free(book->_side[s]._qty);
    }
    memset(book, 0, sizeof *book);
}

void nd_book_clear(nd_book_t *book)
{
    ND_ASSERT(book != NULL);
    book->_side[0]._count = 0;
    book->_side[1]._count = 0;
}

/* First index whose key is >= key (count when none). Searching from the best end first pays
 * off because most updates touch the top levels. */
static uint32_t lower_bound(const nd_book_half_t *h, int64_t key)
{
    uint32_t lo = 0, hi = h->_count;
    if (hi > 0 && h->_px[hi - 1] < key)
        return hi;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (h->_px[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void remove_at(nd_book_half_t *h, uint32_t i)
{
    uint32_t tail = h->_count - i - 1;
    memmove(&h->_px[i], &h->_px[i + 1], tail * sizeof(int64_t));
    memmove(&h->_qty[i], &h->_qty[i + 1], tail * sizeof(int64_t));
    h->_count--;
}

static void insert_new(nd_book_half_t *h, uint32_t i, int64_t key, int64_t qty)
{
    uint32_t tail = h->_count - i;
    memmove(&h->_px[i + 1], &h->_px[i], tail * sizeof(int64_t));
    memmove(&h->_qty[i + 1], &h->_qty[i], tail * sizeof(int64_t));
    h->_px[i] = key;
    h->_qty[i] = qty;
    h->_count++;
}

nd_err_t nd_book_set(nd_book_t *book, nd_book_side_t side, int64_t px, int64_t qty)
{
    ND_ASSERT(book != NULL && book->_levels_max > 0);
    ND_ASSERT(side == ND_BOOK_BID || side == ND_BOOK_ASK);
    if (px <= 0 || qty < 0)
        return ND_EINVAL;
    nd_book_half_t *h = &book->_side[side];
    int64_t key = key_of(side, px);
    uint32_t i = lower_bound(h, key);
    bool found = i < h->_count && h->_px[i] == key;
    if (qty == 0) {
        if (found) {
            remove_at(h, i);
            book->updates++;
        }
        return ND_OK;
    }
    if (found) {
        h->_qty[i] = qty;
    } else {
        /* A full side refuses the level rather than dropping or evicting one: a book that
         * silently lost a level would look whole and be wrong. The caller decides (resync,
         * refuse the message). */
        if (h->_count == book->_levels_max) {
            book->dropped_full++;
            return ND_EFULL;
        }
        insert_new(h, i, key, qty);
    }
    book->updates++;
    ND_DEBUG_ASSERT(h->_count <= book->_levels_max);
    return ND_OK;
}

bool nd_book_delete(nd_book_t *book, nd_book_side_t side, int64_t px)
{
    ND_ASSERT(book != NULL);
    ND_ASSERT(side == ND_BOOK_BID || side == ND_BOOK_ASK);
    nd_book_half_t *h = &book->_side[side];
    int64_t key = key_of(side, px);
    uint32_t i = lower_bound(h, key);
    if (i >= h->_count || h->_px[i] != key)
        return false;
    remove_at(h, i);
    book->updates++;
    return true;
}

uint32_t nd_book_levels_max(const nd_book_t *book)
{
    ND_ASSERT(book != NULL);
    return book->_levels_max;
}

uint32_t nd_book_levels(const nd_book_t *book, nd_book_side_t side)
{
    ND_ASSERT(side == ND_BOOK_BID || side == ND_BOOK_ASK);
    return book->_side[side]._count;
}

uint32_t nd_book_top(const nd_book_t *book, nd_book_side_t side, nd_book_level_t *out, uint32_t n)
{
    ND_ASSERT(side == ND_BOOK_BID || side == ND_BOOK_ASK);
    ND_ASSERT(out != NULL || n == 0);
    const nd_book_half_t *h = &book->_side[side];
    uint32_t k = 0;
    for (; k < n && k < h->_count; k++) {
        uint32_t i = h->_count - 1 - k;
        out[k].px = side == ND_BOOK_BID ? h->_px[i] : -h->_px[i];
        out[k].qty = h->_qty[i];
    }
    return k;
}

bool nd_book_best(const nd_book_t *book, nd_book_side_t side, nd_book_level_t *out)
{
    nd_book_level_t level;
    if (nd_book_top(book, side, &level, 1) == 0)
        return false;
    *out = level;
    return true;
}

int64_t nd_book_qty_at(const nd_book_t *book, nd_book_side_t side, int64_t px)
{
    ND_ASSERT(side == ND_BOOK_BID || side == ND_BOOK_ASK);
    const nd_book_half_t *h = &book->_side[side];
    int64_t key = key_of(side, px);
    uint32_t i = lower_bound(h, key);
    return i < h->_count && h->_px[i] == key ? h->_qty[i] : 0;
}

bool nd_book_crossed(const nd_book_t *book)
{
    nd_book_level_t bid, ask;
    if (!nd_book_best(book, ND_BOOK_BID, &bid) || !nd_book_best(book, ND_BOOK_ASK, &ask))
        return false;
    return bid.px >= ask.px;
}

bool nd_book_valid(const nd_book_t *book)
{
    for (int s = 0; s < 2; s++) {
        const nd_book_half_t *h = &book->_side[s];
        if (h->_count > book->_levels_max)
            return false;
        for (uint32_t i = 0; i < h->_count; i++) {
            if (h->_qty[i] <= 0)
                return false;
            if (i > 0 && h->_px[i - 1] >= h->_px[i])
                return false;
            if ((s == ND_BOOK_BID && h->_px[i] <= 0) || (s == ND_BOOK_ASK && h->_px[i] >= 0))
                return false;
        }
    }
    return true;
}
