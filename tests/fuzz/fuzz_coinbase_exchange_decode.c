/* fuzz_coinbase_exchange_decode.c: libFuzzer driver for the Coinbase Exchange feed decoder and
 * its level2 book (nd_coinbase_exchange_book_apply).
 *
 * The input is split at newlines into feed messages. Each goes through the plain decoder
 * (every event kept to the contract of fuzz_contract.h: prices > 0, sizes >= 0, match sizes
 * > 0, snapshots uncrossed, the symbol equal to the message's product_id decoded whole, and a
 * refused message emits nothing) and through the level2 book, which after every message must
 * be valid and, while in sync, uncrossed; a message the book refused must leave it exactly as
 * it was (every level compared), except a refused snapshot, which empties it and leaves it out
 * of sync. Built by Meson (-Dfuzz=true); replayed over the corpus and tests/fuzz/regressions. */
#include "fuzz_contract.h"

#include "noderr/book.h"
#include "noderr/coinbase.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LEVELS 256

static nd_coinbase_decoder_t dec;
static nd_book_t book;
static nd_coinbase_exchange_book_t cb;
static fuzz_symbols_t symbols;
static uint64_t emitted;

static void sink(void *ctx, const nd_md_event_t *ev)
{
    (void)ctx;
    emitted++;
    fuzz_check_event(ev);
    if (ev->kind != ND_MD_STATUS)
        FUZZ_CHECK(fuzz_symbol_seen(&symbols, ev->symbol));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    static nd_book_level_t before[2 * LEVELS + 1], after[2 * LEVELS + 1];
    static const char *const keys[] = {"product_id", NULL};
    if (!ready &&
        (nd_coinbase_decoder_init(&dec, ND_VENUE_COINBASE_EXCHANGE, sink, NULL) != ND_OK ||
         nd_book_init(&book, LEVELS) != ND_OK || nd_coinbase_exchange_book_init(&cb, &book) != ND_OK))
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
        fuzz_symbols_collect(s + start, end - start, keys, &symbols);
        uint64_t emitted_before = emitted;
        if (nd_coinbase_decode_msg(&dec, s + start, end - start, 1) != ND_OK)
            FUZZ_CHECK(emitted == emitted_before);
        uint32_t nb = fuzz_book_dump(&book, before, 2 * LEVELS + 1);
        uint64_t applied = cb.updates_applied, snaps = cb.snapshots;
        uint64_t refused = cb.snapshots_refused;
        nd_err_t rc = nd_coinbase_exchange_book_apply(&cb, s + start, end - start, NULL, 0);
        FUZZ_CHECK(nd_book_valid(&book));
        if (cb.have_snapshot)
            fuzz_check_book(&book);
        if (cb.snapshots_refused != refused) {
            FUZZ_CHECK(rc == ND_EFULL);
            FUZZ_CHECK(!cb.have_snapshot);
            FUZZ_CHECK(nd_book_levels(&book, ND_BOOK_BID) + nd_book_levels(&book, ND_BOOK_ASK) == 0);
        } else if (rc != ND_OK || (cb.updates_applied == applied && cb.snapshots == snaps)) {
            /* Refused or not the book's message: not one level changed. */
            uint32_t na = fuzz_book_dump(&book, after, 2 * LEVELS + 1);
            FUZZ_CHECK(na == nb);
            FUZZ_CHECK(memcmp(before, after, na * sizeof after[0]) == 0);
        }
        start = end + 1;
    }
    return 0;
}
