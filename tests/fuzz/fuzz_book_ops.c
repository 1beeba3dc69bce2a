/* fuzz_book_ops.c: libFuzzer driver feeding random operation sequences to the L2 book.
 *
 * Each 6-byte record is one operation: side, op (set / delete / top), a price on a small grid
 * (so operations collide, and a few prices are <= 0) and a quantity (0 deletes, a few are
 * negative). A brute-force model (one quantity per grid price and side) says what every
 * operation must do, including refusing a new level on a full side (ND_EFULL, book unchanged,
 * nothing evicted); after every operation the book must be valid, sorted best first, and equal
 * the model level for level. Built by Meson (-Dfuzz=true); replayed over the corpus and
 * tests/fuzz/regressions by the fuzz_replay tests. */
#include "fuzz_contract.h"

#include "noderr/book.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define GRID 200
#define LEVELS_MAX 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int64_t model[2][GRID + 1]; /* quantity at price 1..GRID, 0 when absent */

static uint32_t model_count(int side)
{
    uint32_t n = 0;
    for (int px = 1; px <= GRID; px++)
        n += model[side][px] > 0;
    return n;
}

/* The book equals the model: same levels, best first on each side. */
static void check_equal(const nd_book_t *book)
{
    for (int side = 0; side < 2; side++) {
        nd_book_level_t top[LEVELS_MAX];
        uint32_t n = nd_book_top(book, (nd_book_side_t)side, top, LEVELS_MAX);
        FUZZ_CHECK(n == nd_book_levels(book, (nd_book_side_t)side));
        FUZZ_CHECK(n == model_count(side));
        uint32_t k = 0;
        for (int i = 0; i < GRID; i++) {
            int px = side == ND_BOOK_BID ? GRID - i : 1 + i; /* best first */
            if (model[side][px] == 0)
                continue;
            FUZZ_CHECK(k < n);
            FUZZ_CHECK(top[k].px == px);
            FUZZ_CHECK(top[k].qty == model[side][px]);
            k++;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nd_book_t book;
    if (nd_book_init(&book, LEVELS_MAX) != ND_OK)
        abort();
    FUZZ_CHECK(nd_book_levels_max(&book) == LEVELS_MAX);
    memset(model, 0, sizeof model);
    uint64_t refused = 0;
    for (size_t i = 0; i + 6 <= size; i += 6) {
        int side = (data[i] & 1) ? ND_BOOK_ASK : ND_BOOK_BID;
        int op = data[i + 1] % 3;
        int64_t px = (int64_t)(data[i + 2] % GRID) + (data[i + 2] == 255 ? -300 : 1);
        int64_t qty = (int64_t)(data[i + 3] | data[i + 4] << 8) - (data[i + 5] == 255 ? 70000 : 0);
        bool on_grid = px >= 1 && px <= GRID;
        if (op == 0) {
            nd_err_t rc = nd_book_set(&book, (nd_book_side_t)side, px, qty);
            if (px <= 0 || qty < 0) {
                FUZZ_CHECK(rc == ND_EINVAL);
            } else if (qty > 0 && model[side][px] == 0 && model_count(side) == LEVELS_MAX) {
                FUZZ_CHECK(rc == ND_EFULL); /* full: refused, never evicted */
                refused++;
            } else {
                FUZZ_CHECK(rc == ND_OK);
                FUZZ_CHECK(on_grid);
                model[side][px] = qty;
            }
        } else if (op == 1) {
            bool had = on_grid && model[side][px] > 0;
            FUZZ_CHECK(nd_book_delete(&book, (nd_book_side_t)side, px) == had);
            if (on_grid)
                model[side][px] = 0;
        }
        FUZZ_CHECK(nd_book_valid(&book));
        FUZZ_CHECK(book.dropped_full == refused);
        check_equal(&book);
    }
    nd_book_deinit(&book);
    return 0;
}
