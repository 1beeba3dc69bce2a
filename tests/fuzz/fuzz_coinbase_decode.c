/* fuzz_coinbase_decode.c: libFuzzer driver for the Coinbase Advanced Trade decoder.
 *
 * The input is split at newlines into frames (so one input can carry a snapshot, updates and a
 * sequence_num gap) and each goes through nd_coinbase_decode_msg. Every event must keep the
 * contract of fuzz_contract.h (prices > 0, sizes >= 0, trade sizes > 0, no crossed snapshot,
 * the symbol equal to one of the frame's product_id strings decoded whole); a refused frame
 * emits nothing. Book events are applied to an L2 book the way the WebSocket client does
 * (snapshot replaces, update applies, gap waits for a snapshot, a crossed result drops the
 * book until the next snapshot); whenever the book is live it must be valid and uncrossed.
 * Built by Meson (-Dfuzz=true); replayed over the corpus and tests/fuzz/regressions. */
#include "fuzz_contract.h"

#include "noderr/book.h"
#include "noderr/coinbase.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static nd_coinbase_decoder_t dec;
static nd_book_t book;
static bool live;
static fuzz_symbols_t symbols;
static uint64_t emitted;

static void sink(void *ctx, const nd_md_event_t *ev)
{
    (void)ctx;
    emitted++;
    fuzz_check_event(ev);
    if (ev->kind != ND_MD_STATUS)
        FUZZ_CHECK(fuzz_symbol_seen(&symbols, ev->symbol));
    if (dec.resubscribe_needed)
        live = false;
    if (ev->kind != ND_MD_BOOK_UPDATE)
        return;
    FUZZ_CHECK(ev->u.book.level_count <= ND_COINBASE_LEVELS_MAX);
    if (ev->u.book.snapshot) {
        nd_book_clear(&book);
        live = true;
    } else if (!live) {
        return;
    }
    for (uint32_t i = 0; i < ev->u.book.level_count; i++) {
        const nd_md_level_t *lv = &ev->u.book.levels[i];
        nd_err_t rc = nd_book_set(&book, lv->side == ND_MD_SIDE_BID ? ND_BOOK_BID : ND_BOOK_ASK,
                                  lv->px, lv->qty);
        FUZZ_CHECK(rc == ND_OK || rc == ND_EFULL);
        if (rc == ND_EFULL) { /* as the client: a book that cannot follow is dropped */
            nd_book_clear(&book);
            live = false;
            return;
        }
    }
    if (nd_book_crossed(&book)) {
        nd_book_clear(&book);
        live = false;
        return;
    }
    fuzz_check_book(&book);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    static const char *const keys[] = {"product_id", NULL};
    if (!ready &&
        (nd_coinbase_decoder_init(&dec, ND_VENUE_COINBASE, sink, NULL) != ND_OK ||
         nd_book_init(&book, 256) != ND_OK))
        abort();
    ready = true;
    dec.last_sequence_num = -1; /* each input is a fresh connection */
    dec.resubscribe_needed = false;
    nd_book_clear(&book);
    live = false;
    const char *s = (const char *)data;
    for (size_t start = 0; start <= size;) {
        const char *nl = memchr(s + start, '\n', size - start);
        size_t end = nl ? (size_t)(nl - s) : size;
        fuzz_symbols_collect(s + start, end - start, keys, &symbols);
        uint64_t before = emitted;
        nd_err_t rc = nd_coinbase_decode_msg(&dec, s + start, end - start, 1);
        if (rc != ND_OK)
            FUZZ_CHECK(emitted == before); /* nothing partially emitted */
        dec.resubscribe_needed = false;
        start = end + 1;
    }
    int64_t ns;
    (void)nd_coinbase_parse_time(s, size < 40 ? size : 40, &ns);
    return 0;
}
