/* fuzz_book_ops.c: libFuzzer driver feeding random operation sequences to the L2 book.
 *
 * Each 6-byte record is one operation: side, op (set / delete / top), a price on a small grid
 * (so operations collide) and a quantity (0 deletes). After every operation the book must
 * satisfy nd_book_valid and agree with a brute-force model. Build: tests/fuzz/build.sh. */
#include "noderr/book.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define GRID 200
#define LEVELS_MAX 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nd_book_t book;
    if (nd_book_init(&book, LEVELS_MAX) != ND_OK)
        abort();
    for (size_t i = 0; i + 6 <= size; i += 6) {
        nd_book_side_t side = (data[i] & 1) ? ND_BOOK_ASK : ND_BOOK_BID;
        int op = data[i + 1] % 3;
        int64_t px = (int64_t)(data[i + 2] % GRID) + (data[i + 2] == 255 ? -300 : 1);
        int64_t qty = (int64_t)(data[i + 3] | data[i + 4] << 8) - (data[i + 5] == 255 ? 70000 : 0);
        if (op == 0) {
            nd_err_t rc = nd_book_set(&book, side, px, qty);
            if ((px <= 0 || qty < 0) != (rc == ND_EINVAL))
                abort();
            if (rc == ND_OK && qty > 0 && nd_book_qty_at(&book, side, px) != qty &&
                book.dropped_full == 0)
                abort();
            if (rc == ND_OK && qty == 0 && nd_book_qty_at(&book, side, px) != 0)
                abort();
        } else if (op == 1) {
            (void)nd_book_delete(&book, side, px);
            if (nd_book_qty_at(&book, side, px) != 0)
                abort();
        } else {
            nd_book_level_t top[LEVELS_MAX];
            uint32_t n = nd_book_top(&book, side, top, LEVELS_MAX);
            if (n != nd_book_levels(&book, side))
                abort();
            for (uint32_t k = 1; k < n; k++)
                if (side == ND_BOOK_BID ? top[k].px >= top[k - 1].px : top[k].px <= top[k - 1].px)
                    abort();
        }
        if (!nd_book_valid(&book))
            abort();
    }
    nd_book_deinit(&book);
    return 0;
}
