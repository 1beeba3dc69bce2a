/* fuzz_binance_decode.c: libFuzzer driver for the Binance decoder and the JSON tokenizer.
 *
 * Any byte string goes through nd_binance_decode; every event it emits is checked for the
 * decoder's promises (levels valid, prices positive, quantities not negative) and fed to a
 * depth-sync book, whose invariants are then checked. Build: tests/fuzz/build.sh. */
#include "noderr/binance.h"
#include "noderr/book.h"

#include <stdint.h>
#include <stdlib.h>

static nd_binance_decoder_t *dec;
static nd_binance_depth_t depth;

static void sink(void *ctx, const nd_md_event_t *ev)
{
    (void)ctx;
    char buf[8192];
    (void)nd_md_event_json(ev, buf, sizeof buf);
    if (ev->kind != ND_MD_BOOK_UPDATE)
        return;
    for (uint32_t i = 0; i < ev->u.book.level_count; i++)
        if (ev->u.book.levels[i].px <= 0 || ev->u.book.levels[i].qty < 0)
            abort();
    if (ev->u.book.snapshot) {
        nd_binance_depth_reset(&depth);
        (void)nd_binance_depth_snapshot(&depth, &ev->u.book);
    } else {
        (void)nd_binance_depth_diff(&depth, &ev->u.book);
    }
    if (!nd_book_valid(&depth.book))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dec) {
        if (nd_binance_decoder_create(256, 1 << 16, &dec) != ND_OK ||
            nd_binance_depth_init(&depth, 512, 16, 1024) != ND_OK)
            abort();
    }
    (void)nd_binance_decode(dec, (const char *)data, size, 1, sink, NULL);
    nd_jtok_t tok[64];
    uint32_t count;
    (void)nd_json_tokenize((const char *)data, size, tok, 64, &count);
    int64_t v;
    (void)nd_venue_decimal((const char *)data, size < 40 ? size : 40, 8, &v);
    return 0;
}
