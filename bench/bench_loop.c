/* bench_loop.c: bars per second of the whole engine loop (strategy, risk, venue, portfolio)
 * with sma_cross, on one thread.
 *
 *   loop     10M synthetic bars already in memory (a 1M-bar block replayed 10 times with its
 *            times shifted), a streaming listener that only folds each return into a sum;
 *   e2e-csv  a 10M-row CSV written to a temporary file beforehand, then parsed and run through
 *            the engine while streaming (the CSV loader feeds the engine bar by bar);
 *   e2e-real ../shared/data/BTCUSDT-1h.csv through the full `noderr backtest` path
 *            (nd_backtest_run: parsing, engine, return series, metrics), repeated;
 * and the peak resident memory after each, to show memory is flat in the number of bars.
 * Usage: bench_loop [BARS] [loop|e2e-csv|e2e-real] (default 10,000,000 bars, every case; naming
 * one case runs only it, e.g. under callgrind). Not a test: it asserts nothing about speed. */
#include "bench_synth.h"

#include "noderr/backtest.h"
#include "noderr/clock.h"
#include "noderr/alloc.h"
#include "noderr/fixed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define BLOCK_BARS 1000000

static double return_sum;
static double prev_equity;

/* The listener does what nd_backtest_run's does with each equity (src/backtest/backtest.c),
 * without keeping the series: the same exact conversion to double (nd_i128_to_double,
 * bit-identical to (double)equity, mostly without libgcc's __floattidf). */
static void fold_return(void *ctx, const nd_bar_t *bar, __int128 equity, bool in_market)
{
    (void)ctx;
    (void)bar;
    (void)in_market;
    double e = nd_i128_to_double(equity);
    return_sum += e / prev_equity - 1.0;
    prev_equity = e;
}

static long rss_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024;
}

static nd_engine_t *make_engine(const nd_instrument_t *inst, nd_clock_sim_t *clock)
{
    nd_engine_config_t cfg;
    nd_engine_config_default(&cfg);
    /* Breakers off: a tripped engine stops trading and would flatter the figure. */
    cfg.risk.max_drawdown_pct_e2 = 0;
    cfg.risk.daily_loss_pct_e2 = 0;
    nd_clock_sim_init(clock, 0);
    nd_engine_t *e = NULL;
    char err[256];
    const nd_strategy_def_t *def = nd_strategy_find("sma_cross");
    double params[ND_STRATEGY_PARAMS_MAX];
    nd_strategy_params_default(def, params);
    if (nd_engine_create(&cfg, inst, 1, &clock->clock, &e, err, sizeof err) != ND_OK ||
        nd_engine_add_strategy(e, def, params, 0, 1000000, err, sizeof err) != ND_OK ||
        nd_engine_start(e, err, sizeof err) != ND_OK) {
        fprintf(stderr, "bench: engine: %s\n", err);
        exit(1);
    }
    nd_engine_listener_t l = {NULL, fold_return, NULL, NULL};
    nd_engine_set_listener(e, &l);
    prev_equity = (double)nd_portfolio_equity_ext(nd_engine_portfolio(e));
    return e;
}

static void bench_loop(const nd_instrument_t *inst, int64_t bars_total)
{
    nd_bar_t *block = bench_synth_block(inst, BLOCK_BARS);
    int64_t span = block[BLOCK_BARS - 1].ts_ns - block[0].ts_ns + ND_NS_PER_MIN;
    nd_clock_sim_t clock;
    nd_engine_t *e = make_engine(inst, &clock);
    nd_clock_t *os = nd_clock_os();
    int64_t start = nd_clock_mono_ns(os), done = 0;
    /* The block is replayed in place through nd_engine_on_bars (the batched bar step), CHUNK
     * bars a call, each chunk's times moved on by span right after it (still in cache: the
     * 56 MB block is not walked twice), rather than copied bar by bar: the loop measures the
     * engine, not a 56-byte copy. */
    enum { CHUNK = 1024 };
    while (done < bars_total) {
        int64_t k = done % BLOCK_BARS;
        int64_t n = bars_total - done < CHUNK ? bars_total - done : CHUNK;
        if (n > BLOCK_BARS - k)
            n = BLOCK_BARS - k;
        size_t ran = 0;
        nd_err_t rc = nd_engine_on_bars(e, &clock, block + k, (size_t)n, &ran);
        if (rc != ND_OK) {
            fprintf(stderr, "bench: bar %lld: %s\n", (long long)(done + (int64_t)ran),
                    nd_strerror(rc));
            exit(1);
        }
        for (int64_t j = k; j < k + n; j++)
            block[j].ts_ns += span;
        done += n;
    }
    double secs = (double)(nd_clock_mono_ns(os) - start) / 1e9;
    const nd_engine_stats_t *st = nd_engine_stats(e);
    printf("loop      %lld bars in %.3f s = %.1f M bars/s (%.1f ns/bar), %lld fills, "
           "peak RSS %ld MiB\n",
           (long long)done, secs, (double)done / secs / 1e6, secs * 1e9 / (double)done,
           (long long)st->fills, rss_mib());
    nd_engine_destroy(e);
    nd_free(block);
}

static void write_csv(const char *path, const nd_instrument_t *inst, int64_t bars)
{
    nd_synth_config_t sc;
    nd_synth_config_default(&sc);
    sc.bars = bars;
    sc.interval_ns = ND_NS_PER_MIN;
    nd_bar_source_t *src = NULL;
    char err[256];
    FILE *f = fopen(path, "w");
    if (!f || nd_synth_open(&sc, inst, &src, err, sizeof err) != ND_OK)
        exit(1);
    fputs("ts,open,high,low,close,volume\n", f);
    nd_bar_t b;
    char o[32], h[32], l[32], c[32], v[32];
    while (src->next(src, &b) == ND_OK) {
        nd_fixed_format(b.open, inst->px_decimals, o, sizeof o);
        nd_fixed_format(b.high, inst->px_decimals, h, sizeof h);
        nd_fixed_format(b.low, inst->px_decimals, l, sizeof l);
        nd_fixed_format(b.close, inst->px_decimals, c, sizeof c);
        nd_fixed_format(b.volume, inst->qty_decimals, v, sizeof v);
        fprintf(f, "%lld,%s,%s,%s,%s,%s\n", (long long)(b.ts_ns / ND_NS_PER_MS), o, h, l, c, v);
    }
    src->close(src);
    fclose(f);
}

static void bench_csv_stream(const nd_instrument_t *inst, int64_t bars)
{
    char path[] = "/tmp/noderr-bench-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        exit(1);
    close(fd);
    write_csv(path, inst, bars);
    nd_clock_sim_t clock;
    nd_engine_t *e = make_engine(inst, &clock);
    nd_bar_source_t *src = NULL;
    char err[256];
    nd_clock_t *os = nd_clock_os();
    int64_t start = nd_clock_mono_ns(os), count = 0;
    if (nd_bars_open(path, ND_BAR_FORMAT_AUTO, inst, &src, err, sizeof err) != ND_OK)
        exit(1);
    nd_bar_t b;
    while (src->next(src, &b) == ND_OK) {
        clock._now_ns = b.ts_ns;
        nd_err_t rc = nd_engine_on_bar(e, &b);
        if (rc != ND_OK) {
            fprintf(stderr, "bench: row %lld: %s\n", (long long)count, nd_strerror(rc));
            exit(1);
        }
        count++;
    }
    double secs = (double)(nd_clock_mono_ns(os) - start) / 1e9;
    printf("e2e-csv   %lld rows parsed and run in %.3f s = %.1f M bars/s, peak RSS %ld MiB\n",
           (long long)count, secs, (double)count / secs / 1e6, rss_mib());
    src->close(src);
    nd_engine_destroy(e);
    unlink(path);
}

static void bench_real(void)
{
    const char *path = "../shared/data/BTCUSDT-1h.csv";
    if (access(path, R_OK) != 0) {
        printf("e2e-real  skipped: %s absent (run from the project root next to ../shared)\n",
               path);
        return;
    }
    nd_backtest_config_t cfg;
    nd_backtest_config_default(&cfg);
    cfg.data_path = path;
    cfg.strategies[0].def = nd_strategy_find("sma_cross");
    nd_strategy_params_default(cfg.strategies[0].def, cfg.strategies[0].params);
    cfg.strategy_count = 1;
    nd_clock_t *os = nd_clock_os();
    const int repeats = 50;
    int64_t start = nd_clock_mono_ns(os), bars = 0;
    for (int k = 0; k < repeats; k++) {
        nd_backtest_result_t r;
        char err[256];
        if (nd_backtest_run(&cfg, &r, err, sizeof err) != ND_OK) {
            fprintf(stderr, "bench: %s\n", err);
            exit(1);
        }
        bars += nd_engine_stats(r.engine)->bars;
        nd_backtest_result_free(&r);
    }
    double secs = (double)(nd_clock_mono_ns(os) - start) / 1e9;
    printf("e2e-real  BTCUSDT-1h.csv x%d (%lld bars) full backtest in %.3f s = %.1f M bars/s\n",
           repeats, (long long)bars, secs, (double)bars / secs / 1e6);
}

int main(int argc, char **argv)
{
    int64_t bars = argc > 1 ? atoll(argv[1]) : 10000000;
    if (bars <= 0) {
        fprintf(stderr, "usage: bench_loop [BARS] [loop|e2e-csv|e2e-real]\n");
        return 2;
    }
    const char *only = argc > 2 ? argv[2] : NULL;
    nd_instrument_t inst;
    nd_instrument_init(&inst, "BTC/USDT", "sim");
    /* Streaming first, so its peak RSS is not hidden by the loop's in-memory block. */
    if (!only || strcmp(only, "e2e-csv") == 0)
        bench_csv_stream(&inst, bars);
    if (!only || strcmp(only, "e2e-real") == 0)
        bench_real();
    if (!only || strcmp(only, "loop") == 0)
        bench_loop(&inst, bars);
    return 0;
}
