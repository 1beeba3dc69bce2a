/* bench_indicators.c: nanoseconds per update of every indicator (indicators.h) with its default
 * parameters, over the BTCUSDT hourly candles (../shared/data/BTCUSDT-1h.csv, run from the
 * project root) or, when that file is absent, 35,000 bars of the seeded synthetic market. The
 * bars are loaded once and converted to doubles up front, so the figure is the update alone.
 * Usage: bench_indicators [REPEATS] (default 200 passes over the series per indicator). */
#include "bench_time.h"
#include "noderr/alloc.h"
#include "noderr/clock.h"
#include "noderr/indicators.h"
#include "noderr/market.h"

#include <stdio.h>
#include <stdlib.h>

#define MAX_BARS 200000

static nd_indicator_input_t bars[MAX_BARS];

static int load(const nd_instrument_t *inst, const char **what)
{
    const char *path = "../shared/data/BTCUSDT-1h.csv";
    char err[256];
    nd_bar_source_t *src = NULL;
    if (nd_bars_open(path, ND_BAR_FORMAT_AUTO, inst, &src, err, sizeof err) == ND_OK) {
        *what = path;
    } else {
        printf("bench_indicators: %s absent (run from the project root next to ../shared); "
               "using 35,000 synthetic bars\n", path);
        nd_synth_config_t cfg;
        nd_synth_config_default(&cfg);
        cfg.bars = 35000;
        if (nd_synth_open(&cfg, inst, &src, err, sizeof err) != ND_OK) {
            fprintf(stderr, "bench_indicators: %s\n", err);
            return -1;
        }
        *what = "synthetic market (seed 42)";
    }
    int n = 0;
    nd_bar_t bar;
    while (n < MAX_BARS && src->next(src, &bar) == ND_OK)
        nd_indicator_input_from_bar(inst, &bar, &bars[n++]);
    src->close(src);
    return n;
}

int main(int argc, char **argv)
{
    int repeats = argc > 1 ? atoi(argv[1]) : 200;
    if (repeats <= 0) {
        fprintf(stderr, "usage: bench_indicators [REPEATS > 0]\n");
        return 2;
    }
    nd_instrument_t inst;
    if (nd_instrument_init(&inst, "BTC/USDT", "sim") != ND_OK)
        return 2;
    const char *what = NULL;
    int n = load(&inst, &what);
    if (n <= 0)
        return 2;
    printf("indicators: %d bars of %s, %d passes each, default parameters\n", n, what, repeats);
    int count = 0;
    const nd_indicator_def_t *const *defs = nd_indicator_builtins(&count);
    double checksum = 0;
    for (int d = 0; d < count; d++) {
        double params[ND_INDICATOR_PARAMS_MAX];
        nd_indicator_params_default(defs[d], params);
        void *state = nd_alloc(defs[d]->state_size(params));
        if (state == NULL)
            return 2;
        double out[ND_INDICATOR_OUTPUTS_MAX];
        long long ready = 0;
        double t0 = bench_wall_s();
        for (int r = 0; r < repeats; r++) {
            defs[d]->init(state, params);
            for (int i = 0; i < n; i++)
                ready += defs[d]->update(state, &bars[i], out);
            checksum += out[0];
        }
        double dt = bench_wall_s() - t0;
        printf("  %-11s %6.1f ns/update  (%5.1f M updates/s, state %zu bytes)\n", defs[d]->name,
               dt * 1e9 / ((double)n * repeats), (double)n * repeats / dt / 1e6,
               defs[d]->state_size(params));
        if (ready == 0)
            printf("  %s never became ready\n", defs[d]->name);
        nd_free(state);
    }
    printf("(checksum %g)\n", checksum);
    return 0;
}
