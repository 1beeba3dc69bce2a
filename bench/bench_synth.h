/* bench_synth.h: a block of seeded synthetic bars in memory, for the benchmarks that replay one
 * block many times (bench_loop, bench_lua), so the figure is the engine's, not the generator's. */
#ifndef NODERR_BENCH_SYNTH_H
#define NODERR_BENCH_SYNTH_H

#include "noderr/alloc.h"
#include "noderr/clock.h"
#include "noderr/market.h"

#include <stdio.h>
#include <stdlib.h>

/* count one-minute bars (10 M hourly bars would pass the year 2262, int64 ns's end); exits with
 * a message on failure. The caller frees the block with nd_free. */
static inline nd_bar_t *bench_synth_block(const nd_instrument_t *inst, int64_t count)
{
    nd_synth_config_t sc;
    nd_synth_config_default(&sc);
    sc.bars = count;
    sc.interval_ns = ND_NS_PER_MIN;
    nd_bar_source_t *src = NULL;
    char err[256] = "";
    nd_bar_t *bars = nd_calloc((size_t)count, sizeof *bars);
    if (!bars || nd_synth_open(&sc, inst, &src, err, sizeof err) != ND_OK) {
        fprintf(stderr, "bench: synth: %s\n", err);
        exit(1);
    }
    for (int64_t k = 0; k < count; k++)
        if (src->next(src, &bars[k]) != ND_OK)
            exit(1);
    src->close(src);
    return bars;
}

#endif
