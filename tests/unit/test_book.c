/* test_book.c: the L2 order book (book.h): set/delete/top on both sides, full-side eviction,
 * argument checks, and a seeded random walk checked against a brute-force model. */
#include "noderr/book.h"
#include "noderr/rand.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

Test(book, set_delete_top_both_sides)
{
    nd_book_t b;
    cr_assert_eq(nd_book_init(&b, 8), ND_OK);
    cr_assert_eq(nd_book_set(&b, ND_BOOK_BID, 100, 5), ND_OK);
    cr_assert_eq(nd_book_set(&b, ND_BOOK_BID, 102, 7), ND_OK);
    cr_assert_eq(nd_book_set(&b, ND_BOOK_BID, 101, 6), ND_OK);
    cr_assert_eq(nd_book_set(&b, ND_BOOK_ASK, 105, 1), ND_OK);
    cr_assert_eq(nd_book_set(&b, ND_BOOK_ASK, 103, 2), ND_OK);
    cr_assert_eq(nd_book_set(&b, ND_BOOK_ASK, 104, 3), ND_OK);
    nd_book_level_t top[4];
    cr_assert_eq(nd_book_top(&b, ND_BOOK_BID, top, 4), 3);
    cr_assert_eq(top[0].px, 102);
    cr_assert_eq(top[0].qty, 7);
    cr_assert_eq(top[1].px, 101);
    cr_assert_eq(top[2].px, 100);
    cr_assert_eq(nd_book_top(&b, ND_BOOK_ASK, top, 2), 2);
    cr_assert_eq(top[0].px, 103);
    cr_assert_eq(top[0].qty, 2);
    cr_assert_eq(top[1].px, 104);
    /* Update in place, then qty 0 deletes; deleting an absent level is harmless. */
    cr_assert_eq(nd_book_set(&b, ND_BOOK_BID, 101, 9), ND_OK);
    cr_assert_eq(nd_book_qty_at(&b, ND_BOOK_BID, 101), 9);
    cr_assert_eq(nd_book_set(&b, ND_BOOK_BID, 102, 0), ND_OK);
    cr_assert_eq(nd_book_set(&b, ND_BOOK_BID, 99, 0), ND_OK);
    cr_assert_eq(nd_book_levels(&b, ND_BOOK_BID), 2);
    nd_book_level_t best;
    cr_assert(nd_book_best(&b, ND_BOOK_BID, &best));
    cr_assert_eq(best.px, 101);
    cr_assert(nd_book_delete(&b, ND_BOOK_ASK, 103));
    cr_assert_not(nd_book_delete(&b, ND_BOOK_ASK, 103));
    cr_assert(nd_book_best(&b, ND_BOOK_ASK, &best));
    cr_assert_eq(best.px, 104);
    cr_assert_not(nd_book_crossed(&b));
    cr_assert_eq(nd_book_set(&b, ND_BOOK_BID, 104, 1), ND_OK);
    cr_assert(nd_book_crossed(&b));
    cr_assert(nd_book_valid(&b));
    nd_book_deinit(&b);
}

Test(book, bad_arguments_leave_book_unchanged)
{
    nd_book_t b;
    cr_assert_eq(nd_book_init(&b, 0), ND_EINVAL);
    cr_assert_eq(nd_book_init(&b, ND_BOOK_LEVELS_MAX + 1), ND_EINVAL);
    cr_assert_eq(nd_book_init(&b, 4), ND_OK);
    cr_assert_eq(nd_book_set(&b, ND_BOOK_BID, 0, 1), ND_EINVAL);
    cr_assert_eq(nd_book_set(&b, ND_BOOK_BID, -5, 1), ND_EINVAL);
    cr_assert_eq(nd_book_set(&b, ND_BOOK_ASK, 5, -1), ND_EINVAL);
    cr_assert_eq(nd_book_levels(&b, ND_BOOK_BID) + nd_book_levels(&b, ND_BOOK_ASK), 0);
    nd_book_level_t l;
    cr_assert_not(nd_book_best(&b, ND_BOOK_ASK, &l));
    nd_book_deinit(&b);
}

Test(book, full_side_refuses_new_levels)
{
    /* Regression: a full side used to evict or drop levels and report ND_OK, so a 20k-level
     * snapshot came out as 16,384 levels with nothing said. Now the level is refused. */
    nd_book_t b;
    cr_assert_eq(nd_book_init(&b, 3), ND_OK);
    for (int64_t px = 10; px <= 12; px++)
        cr_assert_eq(nd_book_set(&b, ND_BOOK_BID, px, 1), ND_OK);
    cr_assert_eq(nd_book_set(&b, ND_BOOK_BID, 9, 1), ND_EFULL);
    cr_assert_eq(nd_book_set(&b, ND_BOOK_BID, 13, 2), ND_EFULL);
    cr_assert_eq(b.dropped_full, 2);
    cr_assert_eq(nd_book_levels(&b, ND_BOOK_BID), 3);
    cr_assert_eq(nd_book_qty_at(&b, ND_BOOK_BID, 10), 1);
    cr_assert_eq(nd_book_qty_at(&b, ND_BOOK_BID, 13), 0);
    /* An existing level still changes, and a removal makes room again. */
    cr_assert_eq(nd_book_set(&b, ND_BOOK_BID, 12, 7), ND_OK);
    cr_assert_eq(nd_book_qty_at(&b, ND_BOOK_BID, 12), 7);
    cr_assert_eq(nd_book_set(&b, ND_BOOK_BID, 10, 0), ND_OK);
    cr_assert_eq(nd_book_set(&b, ND_BOOK_BID, 13, 2), ND_OK);
    cr_assert(nd_book_valid(&b));
    nd_book_deinit(&b);
}

Test(book, holds_twenty_thousand_levels_a_side)
{
    nd_book_t b;
    cr_assert_eq(nd_book_init(&b, ND_BOOK_LEVELS_MAX), ND_OK);
    for (int64_t i = 0; i < 20000; i++) {
        cr_assert_eq(nd_book_set(&b, ND_BOOK_BID, 100000 - i, 1), ND_OK);
        cr_assert_eq(nd_book_set(&b, ND_BOOK_ASK, 100001 + i, 1), ND_OK);
    }
    cr_assert_eq(nd_book_levels(&b, ND_BOOK_BID), 20000);
    cr_assert_eq(nd_book_levels(&b, ND_BOOK_ASK), 20000);
    cr_assert_eq(b.dropped_full, 0);
    nd_book_deinit(&b);
}

/* Random sets/deletes on a 64-price grid against an array model of the same book. */
Test(book, random_ops_match_model)
{
    const uint64_t seed = 20240611;
    nd_rand_t rng;
    nd_rand_init(&rng, seed);
    nd_book_t b;
    cr_assert_eq(nd_book_init(&b, 64), ND_OK);
    int64_t model[2][65];
    memset(model, 0, sizeof model);
    for (int step = 0; step < 20000; step++) {
        int side = (int)nd_rand_below(&rng, 2);
        int64_t px = 1 + (int64_t)nd_rand_below(&rng, 64);
        int64_t qty = nd_rand_below(&rng, 3) == 0 ? 0 : 1 + (int64_t)nd_rand_below(&rng, 1000);
        cr_assert_eq(nd_book_set(&b, (nd_book_side_t)side, px, qty), ND_OK, "seed %llu",
                     (unsigned long long)seed);
        model[side][px] = qty;
    }
    cr_assert(nd_book_valid(&b));
    for (int side = 0; side < 2; side++) {
        uint32_t count = 0;
        for (int64_t px = 1; px <= 64; px++) {
            cr_assert_eq(nd_book_qty_at(&b, (nd_book_side_t)side, px), model[side][px]);
            count += model[side][px] > 0;
        }
        cr_assert_eq(nd_book_levels(&b, (nd_book_side_t)side), count);
    }
    nd_book_level_t best;
    if (nd_book_best(&b, ND_BOOK_BID, &best)) {
        int64_t px = 64;
        while (model[0][px] == 0)
            px--;
        cr_assert_eq(best.px, px);
    }
    nd_book_deinit(&b);
}
