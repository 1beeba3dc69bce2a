/* fuzz_coinbase_exchange_decode.c: libFuzzer driver for the Coinbase Exchange feed decoder and
 * its level2 book (nd_coinbase_exchange_book_apply).
 *
 * The input is split at newlines into feed messages. Each goes through the plain decoder (every
 * event checked: prices positive, quantities not negative, JSON rendering bounded) and through
 * the level2 book, whose invariants are checked after every message: a bad message must leave
 * the book as it was, which is checked by comparing the top of the book before and after any
 * message the book refused. Build: tests/fuzz/build.sh. */
#include "noderr/book.h"
#include "noderr/coinbase.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static nd_coinbase_decoder_t dec;
static nd_book_t book;
static nd_coinbase_exchange_book_t cb;

static void sink(void *ctx, const nd_md_event_t *ev)
{
    (void)ctx;
    char buf[512];
    if (nd_md_event_json(ev, buf, sizeof buf) == 0)
        abort();
    if (ev->kind == ND_MD_BOOK_UPDATE)
        for (uint32_t i = 0; i < ev->u.book.level_count; i++)
            if (ev->u.book.levels[i].px <= 0 || ev->u.book.levels[i].qty < 0)
                abort();
    if (ev->kind == ND_MD_TRADE && (ev->u.trade.px <= 0 || ev->u.trade.qty < 0))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    if (!ready &&
        (nd_coinbase_decoder_init(&dec, ND_VENUE_COINBASE_EXCHANGE, sink, NULL) != ND_OK ||
         nd_book_init(&book, 256) != ND_OK || nd_coinbase_exchange_book_init(&cb, &book) != ND_OK))
        abort();
    ready = true;
    /* Each input is a fresh session: the feed state is reset in place (initialising it again
     * would allocate the decoder's token buffer, megabytes, per input). */
    nd_book_clear(&book);
    cb.have_snapshot = false;
    cb.product_id[0] = '\0';
    const char *s = (const char *)data;
    for (size_t start = 0; start <= size;) {
        const char *nl = memchr(s + start, '\n', size - start);
        size_t end = nl ? (size_t)(nl - s) : size;
        (void)nd_coinbase_decode_msg(&dec, s + start, end - start, 1);
        nd_book_level_t before[2][4], after[2][4];
        uint32_t nb = nd_book_top(&book, ND_BOOK_BID, before[0], 4);
        uint32_t na = nd_book_top(&book, ND_BOOK_ASK, before[1], 4);
        uint64_t applied = cb.updates_applied, snaps = cb.snapshots;
        nd_err_t rc = nd_coinbase_exchange_book_apply(&cb, s + start, end - start, NULL, 0);
        if (!nd_book_valid(&book))
            abort();
        if (rc != ND_OK || (cb.updates_applied == applied && cb.snapshots == snaps)) {
            if (nd_book_top(&book, ND_BOOK_BID, after[0], 4) != nb ||
                nd_book_top(&book, ND_BOOK_ASK, after[1], 4) != na ||
                memcmp(before[0], after[0], nb * sizeof after[0][0]) != 0 ||
                memcmp(before[1], after[1], na * sizeof after[1][0]) != 0)
                abort();
        }
        start = end + 1;
    }
    return 0;
}
