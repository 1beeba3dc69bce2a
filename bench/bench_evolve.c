/* bench_evolve.c: the default `noderr evolve` run (sma_cross, population 50, up to 100
 * generations, Pareto over sharpe, max_drawdown, win_rate, profit_factor, seed 42) on
 * ../shared/data/BTCUSDT-1h.csv, with 1 thread and with every online CPU: wall time,
 * evaluations, evaluations per second, cache hit rate, and the single-evaluation cost.
 * Skips with a message when ../shared is absent. Not a test: it asserts nothing about speed.
 * Usage: bench_evolve [PATH] */
#include "noderr/clock.h"
#include "noderr/evolve.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef ND_BENCH_SHARED_DIR
#define ND_BENCH_SHARED_DIR "../shared"
#endif

static double seconds_since(int64_t start_ns)
{
    return (double)(nd_clock_mono_ns(nd_clock_os()) - start_ns) / 1e9;
}

static int run(const nd_evolve_bars_t *data, uint32_t threads)
{
    nd_evolve_task_t task;
    memset(&task, 0, sizeof task);
    task.def = nd_strategy_find("sma_cross");
    nd_engine_config_default(&task.engine);
    task.inst = &data->inst;
    task.bars = data->bars;
    task.bar_count = data->count;
    static const nd_evolve_objective_t objs[4] = {ND_OBJ_SHARPE, ND_OBJ_MAX_DRAWDOWN,
                                                  ND_OBJ_WIN_RATE, ND_OBJ_PROFIT_FACTOR};
    memcpy(task.objectives, objs, sizeof objs);
    task.objective_count = 4;
    task.min_trades = 10;
    nd_evolve_config_t cfg;
    nd_evolve_config_default(&cfg);
    cfg.mode = ND_EVOLVE_PARETO;
    cfg.threads = threads;
    for (int k = 1; k < ND_EVOLVE_OBJECTIVES_MAX; k++)
        cfg.weights[k] = 0.0; /* as the CLI: best = best Sharpe on the front */
    nd_evolve_problem_t p;
    nd_evolve_task_problem(&task, &cfg, &p);
    nd_evolve_result_t r;
    char err[256] = "";
    int64_t t0 = nd_clock_mono_ns(nd_clock_os());
    if (nd_evolve_run(&cfg, &p, &r, err, sizeof err) != ND_OK) {
        fprintf(stderr, "bench_evolve: %s\n", err);
        nd_evolve_result_free(&r);
        return 1;
    }
    double secs = seconds_since(t0);
    printf("threads %u: %.3f s wall, %u generations (%s), %lld evaluations of %lld lookups "
           "(cache hit rate %.1f%%), %.0f evaluations/s, %.1f M bars/s; best fast=%g slow=%g "
           "sharpe %.4f\n",
           threads, secs, r.generations_run, nd_evolve_stop_name(r.stop_reason),
           (long long)r.evaluations, (long long)r.lookups,
           100.0 * (1.0 - (double)r.evaluations / (double)r.lookups), r.evaluations / secs,
           (double)r.evaluations * (double)data->count / secs / 1e6, r.best.genes[0],
           r.best.genes[1], r.best.objectives[0]);
    nd_evolve_result_free(&r);
    return 0;
}

/* One evaluation alone, repeated: the per-parameter-set cost the GA pays. */
static void single_eval(const nd_evolve_bars_t *data)
{
    nd_engine_config_t ecfg;
    nd_engine_config_default(&ecfg);
    double params[ND_STRATEGY_PARAMS_MAX] = {20, 100};
    nd_evolve_stats_t s;
    char err[256];
    int reps = 50;
    int64_t t0 = nd_clock_mono_ns(nd_clock_os());
    for (int i = 0; i < reps; i++)
        nd_evolve_backtest(&ecfg, &data->inst, nd_strategy_find("sma_cross"), params, data->bars,
                           data->count, 0, &s, err, sizeof err);
    double secs = seconds_since(t0) / reps;
    printf("one evaluation (fast=20 slow=100): %.3f ms, %.1f M bars/s\n", secs * 1e3,
           (double)data->count / secs / 1e6);
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : ND_BENCH_SHARED_DIR "/data/BTCUSDT-1h.csv";
    struct stat st;
    if (stat(path, &st) != 0) {
        printf("bench_evolve: %s absent, skipped\n", path);
        return 0;
    }
    nd_evolve_bars_t data;
    char err[512];
    int64_t t0 = nd_clock_mono_ns(nd_clock_os());
    if (nd_evolve_bars_load(path, NULL, &data, err, sizeof err) != ND_OK) {
        fprintf(stderr, "bench_evolve: %s\n", err);
        return 1;
    }
    printf("loaded %zu bars from %s in %.3f s\n", data.count, path, seconds_since(t0));
    single_eval(&data);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int rc = run(&data, 1);
    if (rc == 0 && cpus > 1)
        rc = run(&data, (uint32_t)cpus);
    nd_evolve_bars_free(&data);
    return rc;
}
