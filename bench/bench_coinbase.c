/* bench_coinbase.c: Coinbase decode throughput and level2 book update latency.
 *
 *   decode   messages/s through nd_coinbase_decode_msg on one core, separately for Coinbase
 *            Exchange `l2update` frames (3 changes each), Exchange `match` frames and Advanced
 *            Trade `l2_data` update envelopes (3 updates each), every event handed to a sink
 *            that folds it into a checksum;
 *   book     per-message latency percentiles (p50, p99, p99.9, max) of the whole Coinbase
 *            book path, nd_coinbase_exchange_book_apply (tokenize, validate, emit, set levels)
 *            for one-change l2update frames on a book of 1000 levels per side, prices drawn
 *            near the touch with a seeded generator, a third deleting their level; and of
 *            the nd_book_set step alone on the same distribution.
 * Usage: bench_coinbase [MESSAGES] (default 2,000,000). Not a test: it asserts nothing. */
#include "noderr/book.h"
#include "noderr/clock.h"
#include "noderr/coinbase.h"
#include "noderr/rand.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VARIANTS 256

static int64_t checksum;
static char msgs[VARIANTS][512];
static size_t lens[VARIANTS];

static void fold(void *ctx, const nd_md_event_t *ev)
{
    (void)ctx;
    checksum += ev->kind == ND_MD_TRADE ? ev->u.trade.px : ev->u.book.level_count;
}

/* A price near 0.4390 (4 decimals, as the recorded GBP books) as "0.XXXX". */
static void price(nd_rand_t *rng, char *buf, size_t cap)
{
    snprintf(buf, cap, "0.%04u", 4300 + (unsigned)nd_rand_below(rng, 200));
}

static void make_l2update(nd_rand_t *rng)
{
    for (int i = 0; i < VARIANTS; i++) {
        char a[16], b[16], c[16];
        price(rng, a, sizeof a);
        price(rng, b, sizeof b);
        price(rng, c, sizeof c);
        lens[i] = (size_t)snprintf(msgs[i], sizeof msgs[i],
            "{\"type\":\"l2update\",\"product_id\":\"NU-GBP\",\"changes\":[[\"buy\",\"%s\","
            "\"%u.%06u\"],[\"sell\",\"%s\",\"0.000000\"],[\"sell\",\"%s\",\"%u.%06u\"]],"
            "\"time\":\"2021-04-17T16:43:37.%06uZ\"}", a, (unsigned)nd_rand_below(rng, 9000),
            (unsigned)nd_rand_below(rng, 1000000), b, c, (unsigned)nd_rand_below(rng, 9000),
            (unsigned)nd_rand_below(rng, 1000000), (unsigned)i * 3000);
    }
}

static void make_match(nd_rand_t *rng)
{
    for (int i = 0; i < VARIANTS; i++) {
        char p[16];
        price(rng, p, sizeof p);
        lens[i] = (size_t)snprintf(msgs[i], sizeof msgs[i],
            "{\"type\":\"match\",\"trade_id\":%d,\"maker_order_id\":"
            "\"8d275e33-4b41-4648-b135-b407f85c6897\",\"taker_order_id\":"
            "\"460227d8-3765-4185-8b7f-d9ee118403a2\",\"side\":\"%s\",\"size\":\"%u.%u\","
            "\"price\":\"%s\",\"product_id\":\"SKL-USD\",\"sequence\":%d,"
            "\"time\":\"2021-04-17T16:43:37.%06uZ\"}", 1568267 + i, i % 3 ? "sell" : "buy",
            (unsigned)nd_rand_below(rng, 5000), (unsigned)nd_rand_below(rng, 10), p,
            201390042 + i * 7, (unsigned)i * 3000);
    }
}

static void make_l2_data(nd_rand_t *rng)
{
    for (int i = 0; i < VARIANTS; i++) {
        char a[16], b[16], c[16];
        price(rng, a, sizeof a);
        price(rng, b, sizeof b);
        price(rng, c, sizeof c);
        /* sequence_num is rewritten per message in the loop, so keep it a fixed width. */
        lens[i] = (size_t)snprintf(msgs[i], sizeof msgs[i],
            "{\"channel\":\"l2_data\",\"client_id\":\"\",\"timestamp\":"
            "\"2023-02-09T20:32:50.714964855Z\",\"sequence_num\":1000000000,\"events\":[{\"type\":"
            "\"update\",\"product_id\":\"BTC-USD\",\"updates\":[{\"side\":\"bid\",\"event_time\":"
            "\"2023-02-09T20:32:50.714964855Z\",\"price_level\":\"%s\",\"new_quantity\":"
            "\"0.06317902\"},{\"side\":\"offer\",\"event_time\":\"2023-02-09T20:32:50.714964855Z\","
            "\"price_level\":\"%s\",\"new_quantity\":\"0\"},{\"side\":\"offer\",\"event_time\":"
            "\"2023-02-09T20:32:50.714964855Z\",\"price_level\":\"%s\",\"new_quantity\":"
            "\"1.5\"}]}]}", a, b, c);
    }
}

/* Writes 1 and seq as 9 digits after "sequence_num": (JSON numbers have no leading zeros). */
static void stamp(char *msg, long seq)
{
    char *at = strstr(msg, "\"sequence_num\":") + 15;
    char digits[24]; /* room for any long, so no build warns of truncation */
    snprintf(digits, sizeof digits, "1%09lu", (unsigned long)seq % 1000000000UL);
    memcpy(at, digits, 10);
}

static void bench_decode(const char *what, nd_venue_t venue, long messages)
{
    nd_coinbase_decoder_t dec;
    if (nd_coinbase_decoder_init(&dec, venue, fold, NULL) != ND_OK)
        exit(1);
    bool adv = venue == ND_VENUE_COINBASE;
    const nd_clock_t *clock = nd_clock_os();
    int64_t t0 = nd_clock_mono_ns(clock);
    for (long i = 0; i < messages; i++) {
        int k = (int)(i & (VARIANTS - 1));
        if (adv)
            stamp(msgs[k], i);
        if (nd_coinbase_decode_msg(&dec, msgs[k], lens[k], i) != ND_OK)
            exit(1);
    }
    int64_t dt = nd_clock_mono_ns(clock) - t0;
    printf("decode %-22s %ld msgs in %.3f s = %.2f M msg/s, %.0f ns/msg (checksum %lld)\n", what,
           messages, (double)dt / 1e9, (double)messages / ((double)dt / 1e9) / 1e6,
           (double)dt / (double)messages, (long long)checksum);
    nd_coinbase_decoder_deinit(&dec);
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void report(const char *what, int64_t *lat, long n, const nd_book_t *book)
{
    qsort(lat, (size_t)n, sizeof *lat, cmp64);
    printf("%-34s %ld updates, levels %u/%u; latency incl. ~clock read: p50 %lld ns, p99 %lld ns, "
           "p99.9 %lld ns, max %lld ns\n", what, n, nd_book_levels(book, ND_BOOK_BID),
           nd_book_levels(book, ND_BOOK_ASK), (long long)lat[n / 2], (long long)lat[n * 99 / 100],
           (long long)lat[n * 999 / 1000], (long long)lat[n - 1]);
}

/* A one-change l2update near the touch (distance from it ~ exponential), a third deleting. */
static size_t near_touch(nd_rand_t *rng, char *buf, size_t cap, bool *bid, int64_t *px_e4,
                         int64_t *qty)
{
    *bid = nd_rand_next(rng) & 1;
    int64_t dist = (int64_t)(-20.0 * log(1.0 - nd_rand_uniform(rng)));
    dist = dist > 2000 ? 2000 : dist;
    *px_e4 = *bid ? 1000000 - dist : 1000001 + dist;
    *qty = nd_rand_below(rng, 3) == 0 ? 0 : 1 + (int64_t)nd_rand_below(rng, 1000);
    return (size_t)snprintf(buf, cap, "{\"type\":\"l2update\",\"product_id\":\"NU-GBP\","
                            "\"changes\":[[\"%s\",\"%lld.%04lld\",\"%lld\"]],"
                            "\"time\":\"2021-04-17T16:43:37.056746Z\"}", *bid ? "buy" : "sell",
                            (long long)(*px_e4 / 10000), (long long)(*px_e4 % 10000),
                            (long long)*qty);
}

static void fill(nd_book_t *book)
{
    for (int64_t i = 0; i < 1000; i++) {
        nd_book_set(book, ND_BOOK_BID, (1000000 - i) * 10000, 10000000000LL); /* qty 100 */
        nd_book_set(book, ND_BOOK_ASK, (1000001 + i) * 10000, 10000000000LL); /* qty 100 */
    }
}

static void bench_book(long updates)
{
    nd_book_t book;
    nd_coinbase_exchange_book_t cb;
    if (nd_book_init(&book, 5000) != ND_OK || nd_coinbase_exchange_book_init(&cb, &book) != ND_OK)
        exit(1);
    const char *snap = "{\"type\":\"snapshot\",\"product_id\":\"NU-GBP\",\"bids\":[],\"asks\":[]}";
    if (nd_coinbase_exchange_book_apply(&cb, snap, strlen(snap), NULL, 0) != ND_OK)
        exit(1);
    fill(&book); /* 1000 levels a side, as if the snapshot had carried them */
    int64_t *lat = calloc((size_t)updates, sizeof *lat); /* tidy:allow: bench-only buffer */
    if (!lat)
        exit(1);
    nd_rand_t rng;
    nd_rand_init(&rng, 11);
    const nd_clock_t *clock = nd_clock_os();
    char buf[256];
    bool bid;
    int64_t px_e4, qty;
    for (long i = 0; i < updates; i++) {
        size_t n = near_touch(&rng, buf, sizeof buf, &bid, &px_e4, &qty);
        int64_t t0 = nd_clock_mono_ns(clock);
        nd_err_t rc = nd_coinbase_exchange_book_apply(&cb, buf, n, NULL, 0);
        lat[i] = nd_clock_mono_ns(clock) - t0;
        if (rc != ND_OK)
            exit(1);
    }
    report("book path (decode + apply l2update)", lat, updates, &book);
    nd_coinbase_exchange_book_deinit(&cb);
    nd_book_clear(&book);
    fill(&book);
    nd_rand_init(&rng, 11);
    for (long i = 0; i < updates; i++) {
        near_touch(&rng, buf, sizeof buf, &bid, &px_e4, &qty);
        int64_t t0 = nd_clock_mono_ns(clock);
        nd_book_set(&book, bid ? ND_BOOK_BID : ND_BOOK_ASK, px_e4 * 10000, qty * 100000000);
        lat[i] = nd_clock_mono_ns(clock) - t0;
    }
    report("book step alone (nd_book_set)", lat, updates, &book);
    free(lat); /* tidy:allow: bench-only buffer */
    nd_book_deinit(&book);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 2000000;
    if (n < 1000)
        n = 1000;
    nd_rand_t rng;
    nd_rand_init(&rng, 7);
    make_l2update(&rng);
    bench_decode("exchange l2update", ND_VENUE_COINBASE_EXCHANGE, n);
    make_match(&rng);
    bench_decode("exchange match", ND_VENUE_COINBASE_EXCHANGE, n);
    make_l2_data(&rng);
    bench_decode("advanced l2_data update", ND_VENUE_COINBASE, n);
    bench_book(n / 4);
    return 0;
}
