/* bench_lua.c: bars per second of the Lua SMA cross (examples/strategies/sma_cross.lua) through
 * the whole engine loop, against the built-in sma_cross on the same bars, on one thread.
 *
 * 1M synthetic minute bars in memory are replayed (times shifted after each pass) through an
 * engine with breakers off and no listener, so the figure is the engine plus the strategy. The
 * trades of both runs are compared: a Lua figure for a strategy that does something else would
 * mean nothing. Usage: bench_lua [BARS] [SCRIPT] (default 10,000,000 bars and the example, read
 * from the working directory: run from the project root, as ./dev.sh bench does). Not a test:
 * it asserts nothing about speed. */
#include "bench_synth.h"
#include "bench_time.h"

#include "noderr/alloc.h"
#include "noderr/engine.h"
#include "noderr/market.h"
#include "noderr/strategy_lua.h"

#include <stdio.h>
#include <stdlib.h>

#define BLOCK_BARS 1000000

/* Runs def over bars_total bars (the block replayed); prints bars/s; returns the fill count. */
static int64_t run(const char *label, const nd_strategy_def_t *def, const nd_instrument_t *inst,
                   nd_bar_t *block, int64_t bars_total)
{
    nd_engine_config_t cfg;
    nd_engine_config_default(&cfg);
    cfg.risk.max_drawdown_pct_e2 = 0; /* a tripped engine stops trading: no flattering */
    cfg.risk.daily_loss_pct_e2 = 0;
    nd_clock_sim_t clock;
    nd_clock_sim_init(&clock, 0);
    nd_engine_t *e = NULL;
    char err[512];
    double params[ND_STRATEGY_PARAMS_MAX];
    nd_strategy_params_default(def, params);
    if (nd_engine_create(&cfg, inst, 1, &clock.clock, &e, err, sizeof err) != ND_OK ||
        nd_engine_add_strategy(e, def, params, 0, 1000000, err, sizeof err) != ND_OK ||
        nd_engine_start(e, err, sizeof err) != ND_OK) {
        fprintf(stderr, "bench_lua: engine: %s\n", err);
        exit(1);
    }
    int64_t span = block[BLOCK_BARS - 1].ts_ns - block[0].ts_ns + ND_NS_PER_MIN;
    double wall = bench_wall_s(), cpu = bench_cpu_s();
    for (int64_t done = 0; done < bars_total;) {
        for (int64_t k = 0; k < BLOCK_BARS && done < bars_total; k++, done++) {
            clock._now_ns = block[k].ts_ns + (done / BLOCK_BARS) * span;
            nd_bar_t b = block[k];
            b.ts_ns = clock._now_ns;
            if (nd_engine_on_bar(e, &b) != ND_OK)
                exit(1);
        }
    }
    wall = bench_wall_s() - wall;
    cpu = bench_cpu_s() - cpu;
    int64_t fills = nd_engine_stats(e)->fills;
    printf("%-10s %lld bars in %.3f s wall (%.3f s CPU): %.2f M bars/s wall, %.2f M bars/s CPU, "
           "%lld fills\n", label, (long long)bars_total, wall, cpu,
           (double)bars_total / wall / 1e6, (double)bars_total / cpu / 1e6, (long long)fills);
    nd_engine_destroy(e);
    return fills;
}

int main(int argc, char **argv)
{
    int64_t bars = argc > 1 ? atoll(argv[1]) : 10000000;
    const char *path = argc > 2 ? argv[2] : "examples/strategies/sma_cross.lua";
    if (bars < 1) {
        fprintf(stderr, "usage: bench_lua [BARS] [SCRIPT]\n");
        return 2;
    }
    const nd_strategy_def_t *lua = NULL;
    char err[1024];
    if (nd_lua_strategy_load(path, &lua, err, sizeof err) != ND_OK) {
        fprintf(stderr, "bench_lua: %s\n", err);
        return 2;
    }
    nd_instrument_t inst;
    if (nd_instrument_init(&inst, "BTC/USDT", "sim") != ND_OK)
        return 1;
    nd_bar_t *block = bench_synth_block(&inst, BLOCK_BARS);
    int64_t c_fills = run("c", nd_strategy_find("sma_cross"), &inst, block, bars);
    int64_t lua_fills = run("lua", lua, &inst, block, bars);
    int rc = 0;
    if (nd_lua_strategy_error(lua)) {
        fprintf(stderr, "bench_lua: the script failed: %s\n", nd_lua_strategy_error(lua));
        rc = 1;
    } else if (c_fills != lua_fills) {
        fprintf(stderr, "bench_lua: %lld fills from Lua, %lld from C\n", (long long)lua_fills,
                (long long)c_fills);
        rc = 1;
    }
    nd_free(block);
    nd_lua_strategy_free(lua);
    return rc;
}
