/* binance_int.h: private to src/venues/binance/: the decoder's state, shared by the generic
 * tokenizing decoder (binance_decode.c) and the single-pass fast path for the hot shapes
 * (binance_fast.c). Not installed, not a contract. */
#ifndef NODERR_BINANCE_INT_H
#define NODERR_BINANCE_INT_H

#include "noderr/binance.h"

struct nd_binance_decoder {
    nd_venue_counters_t counters;
    nd_jtok_t *tok;
    uint32_t tok_cap;
    nd_md_level_t *levels;
    uint32_t level_cap;
    size_t max_bytes;
    uint64_t fast_hits; /* messages the fast path decoded (the rest went through tokenizing) */
    bool fast_off;      /* tests: decode everything the generic way, to compare the two */
};

/* Decodes msg when it is one of the hot shapes exactly (trade, aggTrade or depthUpdate, raw
 * or in a combined-stream envelope, compact JSON, no escapes, Binance's key order with "e"
 * first) and every value is valid; emits its event and counts it. Returns false, having
 * touched nothing (no counter, no sink call), for anything else, valid or not: the caller
 * then runs the generic decoder, which classifies bad input. O(len), one pass. */
bool nd__binance_fast_decode(nd_binance_decoder_t *d, const char *msg, size_t len,
                             int64_t recv_ns, nd_md_sink_cb sink, void *ctx);

#endif
