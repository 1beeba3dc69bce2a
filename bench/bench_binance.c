/* bench_binance.c: Binance decode-and-normalise throughput and L2 book update latency.
 *
 *   decode   messages/s through nd_binance_decode on one core, for a realistic mix of
 *            combined-stream trade and depthUpdate frames (half each; depth frames carry 4
 *            levels), with the events handed to a sink that folds them into a checksum;
 *   book     per-update latency percentiles (p50, p99, p99.9, max) of nd_book_set on a book
 *            of 1000 levels per side, prices drawn near the top of the book (where live diffs
 *            land) with a seeded generator, 1/3 of updates deleting a level.
 * Usage: bench_binance [MESSAGES] (default 5,000,000). Not a test: it asserts nothing. */
#include "noderr/binance.h"
#include "noderr/book.h"
#include "noderr/clock.h"
#include "noderr/rand.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t checksum;

static void fold(void *ctx, const nd_md_event_t *ev)
{
    (void)ctx;
    checksum += ev->kind == ND_MD_TRADE ? ev->u.trade.px : ev->u.book.level_count;
}

static void bench_decode(long messages)
{
    static char msgs[256][400];
    static size_t lens[256];
    nd_rand_t rng;
    nd_rand_init(&rng, 7);
    for (int i = 0; i < 256; i++) {
        unsigned long p = 8660000 + nd_rand_below(&rng, 20000);
        if (i % 2 == 0)
            lens[i] = (size_t)snprintf(msgs[i], sizeof msgs[i],
                "{\"stream\":\"btcusdt@trade\",\"data\":{\"e\":\"trade\",\"E\":1790134512214,"
                "\"s\":\"BTCUSDT\",\"t\":%d,\"p\":\"%lu.%02lu000000\",\"q\":\"0.00%03lu000\","
                "\"T\":1790134512213,\"m\":%s,\"M\":true}}",
                5000000 + i, p / 100, p % 100, (unsigned long)nd_rand_below(&rng, 1000),
                i % 4 ? "true" : "false");
        else
            lens[i] = (size_t)snprintf(msgs[i], sizeof msgs[i],
                "{\"stream\":\"btcusdt@depth@100ms\",\"data\":{\"e\":\"depthUpdate\","
                "\"E\":1790134512214,\"s\":\"BTCUSDT\",\"U\":%d,\"u\":%d,\"b\":[[\"%lu.%02lu000000\","
                "\"0.42061000\"],[\"%lu.%02lu000000\",\"0.00000000\"]],\"a\":[[\"%lu.%02lu000000\","
                "\"0.73471000\"],[\"%lu.%02lu000000\",\"2.87186000\"]]}}",
                1000 + i * 10, 1009 + i * 10, p / 100, p % 100, (p - 3) / 100, (p - 3) % 100,
                (p + 1) / 100, (p + 1) % 100, (p + 7) / 100, (p + 7) % 100);
    }
    nd_binance_decoder_t *dec;
    if (nd_binance_decoder_create(0, 0, &dec) != ND_OK)
        exit(1);
    const nd_clock_t *clock = nd_clock_os();
    int64_t t0 = nd_clock_mono_ns(clock);
    for (long i = 0; i < messages; i++)
        if (nd_binance_decode(dec, msgs[i & 255], lens[i & 255], i, fold, NULL) != ND_OK)
            exit(1);
    int64_t dt = nd_clock_mono_ns(clock) - t0;
    printf("decode: %ld messages (trade+depthUpdate, combined stream) in %.3f s = %.2f M msg/s, "
           "%.0f ns/msg (checksum %lld)\n", messages, (double)dt / 1e9,
           (double)messages / ((double)dt / 1e9) / 1e6, (double)dt / (double)messages,
           (long long)checksum);
    nd_binance_decoder_destroy(dec);
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void bench_book(long updates)
{
    nd_book_t book;
    if (nd_book_init(&book, 5000) != ND_OK)
        exit(1);
    for (int64_t i = 0; i < 1000; i++) {
        nd_book_set(&book, ND_BOOK_BID, 1000000 - i * 10, 100 + i);
        nd_book_set(&book, ND_BOOK_ASK, 1000010 + i * 10, 100 + i);
    }
    int64_t *lat = calloc((size_t)updates, sizeof *lat); /* tidy:allow: bench-only buffer */
    if (!lat)
        exit(1);
    nd_rand_t rng;
    nd_rand_init(&rng, 11);
    const nd_clock_t *clock = nd_clock_os();
    for (long i = 0; i < updates; i++) {
        int side = (int)(nd_rand_next(&rng) & 1);
        /* Most diffs touch the first levels: distance from the touch ~ exponential. */
        int64_t dist = (int64_t)(-20.0 * __builtin_log(1.0 - nd_rand_uniform(&rng)));
        if (dist > 2000)
            dist = 2000;
        int64_t px = side == ND_BOOK_BID ? 1000000 - dist * 10 : 1000010 + dist * 10;
        int64_t qty = nd_rand_below(&rng, 3) == 0 ? 0 : 1 + (int64_t)nd_rand_below(&rng, 1000);
        int64_t t0 = nd_clock_mono_ns(clock);
        nd_book_set(&book, (nd_book_side_t)side, px, qty);
        lat[i] = nd_clock_mono_ns(clock) - t0;
    }
    qsort(lat, (size_t)updates, sizeof *lat, cmp64);
    printf("book: %ld updates, levels now %u/%u; latency incl. ~clock read: p50 %lld ns, "
           "p99 %lld ns, p99.9 %lld ns, max %lld ns\n", updates,
           nd_book_levels(&book, ND_BOOK_BID), nd_book_levels(&book, ND_BOOK_ASK),
           (long long)lat[updates / 2], (long long)lat[updates * 99 / 100],
           (long long)lat[updates * 999 / 1000], (long long)lat[updates - 1]);
    free(lat); /* tidy:allow: bench-only buffer */
    nd_book_deinit(&book);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 5000000;
    if (n < 1000)
        n = 1000;
    bench_decode(n);
    bench_book(n / 5);
    return 0;
}
