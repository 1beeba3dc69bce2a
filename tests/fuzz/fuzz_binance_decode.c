/* fuzz_binance_decode.c: libFuzzer driver for the Binance decoder, its one-pass fast path and
 * the depth-sync book.
 *
 * The input is split at newlines into messages (so one input can carry a snapshot and the
 * diffs after it). Each message goes through two decoders, one with the fast path on and one
 * with it off: both must return the same code, count the same reasons and emit the same events
 * (the fast path never accepts what the generic decoder refuses, nor decodes differently).
 * Every event must keep the contract of fuzz_contract.h, including an uncut symbol equal to
 * the message's decoded "s"; book events go to a depth-sync book which, whenever it says it is
 * in sync, must be valid and uncrossed. Built by Meson (-Dfuzz=true, tests/fuzz/meson.build);
 * replayed over the corpus and tests/fuzz/regressions by the fuzz_replay tests. */
#include "../../src/venues/binance/binance_int.h"
#include "fuzz_contract.h"

#include "noderr/binance.h"
#include "noderr/book.h"

#include <stdint.h>
#include <stdlib.h>

static nd_binance_decoder_t *fast, *slow;
static nd_binance_depth_t depth;
static fuzz_symbols_t symbols;

typedef struct seen {
    char text[1 << 14];
    size_t len;
    bool cut;
} seen_t;

static seen_t out_fast, out_slow;

static void record(seen_t *o, const nd_md_event_t *ev)
{
    char line[4096];
    size_t n = nd_md_event_json(ev, line, sizeof line);
    if (n >= sizeof line || o->len + n + 1 >= sizeof o->text) {
        o->cut = true;
        return;
    }
    memcpy(o->text + o->len, line, n);
    o->len += n;
    o->text[o->len++] = '\n';
}

static void sink_fast(void *ctx, const nd_md_event_t *ev)
{
    (void)ctx;
    record(&out_fast, ev);
}

static void sink_slow(void *ctx, const nd_md_event_t *ev)
{
    (void)ctx;
    fuzz_check_event(ev);
    record(&out_slow, ev);
    /* Every kind that carries "s" must hold it whole; snapshots and controls take the stream
     * name's symbol or none. */
    bool has_s = ev->kind == ND_MD_TRADE || ev->kind == ND_MD_BBO || ev->kind == ND_MD_BAR ||
                 ev->kind == ND_MD_ORDER_UPDATE ||
                 (ev->kind == ND_MD_BOOK_UPDATE && !ev->u.book.snapshot);
    if (has_s)
        FUZZ_CHECK(fuzz_symbol_seen(&symbols, ev->symbol));
    if (ev->kind != ND_MD_BOOK_UPDATE)
        return;
    if (ev->u.book.snapshot) {
        nd_binance_depth_reset(&depth);
        (void)nd_binance_depth_snapshot(&depth, &ev->u.book);
    } else {
        (void)nd_binance_depth_diff(&depth, &ev->u.book);
    }
    FUZZ_CHECK(nd_book_valid(&depth.book));
    if (depth.status == ND_BINANCE_SYNC_OK || depth.status == ND_BINANCE_SYNC_WAIT_FIRST)
        fuzz_check_book(&depth.book);
}

static void one_message(const char *msg, size_t len)
{
    static const char *const keys[] = {"s", NULL};
    fuzz_symbols_collect(msg, len, keys, &symbols);
    out_fast.len = out_slow.len = 0;
    out_fast.cut = out_slow.cut = false;
    nd_venue_counters_t before_fast = fast->counters, before_slow = slow->counters;
    nd_err_t ra = nd_binance_decode(fast, msg, len, 1, sink_fast, NULL);
    nd_err_t rb = nd_binance_decode(slow, msg, len, 1, sink_slow, NULL);
    FUZZ_CHECK(ra == rb);
    FUZZ_CHECK(out_fast.cut == out_slow.cut);
    FUZZ_CHECK(out_fast.len == out_slow.len);
    FUZZ_CHECK(memcmp(out_fast.text, out_slow.text, out_fast.len) == 0);
    for (int r = 0; r < ND_BAD_COUNT; r++)
        FUZZ_CHECK(fast->counters.bad[r] - before_fast.bad[r] ==
                   slow->counters.bad[r] - before_slow.bad[r]);
    /* A refused message emits nothing. */
    if (rb != ND_OK)
        FUZZ_CHECK(out_slow.len == 0 && !out_slow.cut);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fast) {
        if (nd_binance_decoder_create(256, 1 << 16, &fast) != ND_OK ||
            nd_binance_decoder_create(256, 1 << 16, &slow) != ND_OK ||
            nd_binance_depth_init(&depth, 64, 16, 1024) != ND_OK)
            abort();
        slow->fast_off = true;
    }
    nd_binance_depth_reset(&depth); /* each input is a fresh session */
    const char *s = (const char *)data;
    for (size_t start = 0; start <= size;) {
        const char *nl = memchr(s + start, '\n', size - start);
        size_t end = nl ? (size_t)(nl - s) : size;
        one_message(s + start, end - start);
        start = end + 1;
    }
    int64_t v;
    (void)nd_venue_decimal(s, size < 40 ? size : 40, 8, &v);
    return 0;
}
