/* fuzz_coinbase_decode.c: libFuzzer driver for the Coinbase Advanced Trade decoder.
 *
 * The input is split at newlines into frames (so one input can carry a snapshot, updates and a
 * sequence_num gap) and each goes through nd_coinbase_decode_msg; every event is checked for
 * the decoder's promises (prices positive, quantities not negative, level count bounded, the
 * JSON rendering never overflowing) and book events are applied to an L2 book the way the
 * WebSocket client does (snapshot replaces, update applies, gap waits for a snapshot), whose
 * invariants are checked after each. Build: tests/fuzz/build.sh. */
#include "noderr/book.h"
#include "noderr/coinbase.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static nd_coinbase_decoder_t dec;
static nd_book_t book;
static bool live;

static void sink(void *ctx, const nd_md_event_t *ev)
{
    (void)ctx;
    char buf[512];
    if (nd_md_event_json(ev, buf, sizeof buf) == 0)
        abort();
    if (dec.resubscribe_needed)
        live = false;
    if (ev->kind != ND_MD_BOOK_UPDATE)
        return;
    if (ev->u.book.level_count > ND_COINBASE_LEVELS_MAX)
        abort();
    if (ev->u.book.snapshot) {
        nd_book_clear(&book);
        live = true;
    } else if (!live) {
        return;
    }
    for (uint32_t i = 0; i < ev->u.book.level_count; i++) {
        const nd_md_level_t *lv = &ev->u.book.levels[i];
        if (lv->px <= 0 || lv->qty < 0)
            abort();
        if (nd_book_set(&book, lv->side == ND_MD_SIDE_BID ? ND_BOOK_BID : ND_BOOK_ASK, lv->px,
                        lv->qty) != ND_OK)
            abort();
    }
    if (!nd_book_valid(&book))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
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
        (void)nd_coinbase_decode_msg(&dec, s + start, end - start, 1);
        dec.resubscribe_needed = false;
        start = end + 1;
    }
    int64_t ns;
    (void)nd_coinbase_parse_time(s, size < 40 ? size : 40, &ns);
    return 0;
}
