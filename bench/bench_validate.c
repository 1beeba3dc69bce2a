/* bench_validate.c: wall time of the default validation suite for sma_cross: the four real
 * hourly windows sliced from one parse of ../shared/data/BTCUSDT-1h.csv plus the three synthetic
 * stress scenarios (each a full backtest, breaker validation and criteria), then the JSON
 * document with equity, drawdown and trades, and the HTML report written to a temporary file.
 * Prints min and median of RUNS repetitions for the suite and for suite + report.
 * Usage: bench_validate [DATA_DIR] [RUNS] (defaults ../shared/data, 7). Asserts nothing. */
#include "noderr/clock.h"
#include "noderr/report.h"
#include "noderr/validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RUNS_MAX 64

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One suite (and the report when report_path is set); returns seconds, -1 on error. */
static double one_run(const char *data_dir, const char *report_path, json_int_t *skipped)
{
    nd_validate_config_t cfg;
    nd_validate_config_default(&cfg);
    cfg.backtest.strategies[0].def = nd_strategy_find("sma_cross");
    nd_strategy_params_default(cfg.backtest.strategies[0].def, cfg.backtest.strategies[0].params);
    cfg.backtest.strategy_count = 1;
    cfg.data_dir = data_dir;
    cfg.with_series = report_path != NULL;
    cfg.title = "bench_validate";
    char err[512] = "";
    int64_t t0 = nd_clock_mono_ns(nd_clock_os());
    json_t *doc = NULL;
    if (nd_validate_run(&cfg, &doc, err, sizeof err) != ND_OK) {
        fprintf(stderr, "bench_validate: %s\n", err);
        return -1;
    }
    if (report_path && nd_report_html_write(doc, report_path, err, sizeof err) != ND_OK) {
        fprintf(stderr, "bench_validate: report: %s\n", err);
        json_decref(doc);
        return -1;
    }
    int64_t t1 = nd_clock_mono_ns(nd_clock_os());
    *skipped = json_integer_value(json_object_get(doc, "skipped"));
    json_decref(doc);
    return (double)(t1 - t0) / 1e9;
}

static int measure(const char *label, const char *data_dir, const char *report, int runs)
{
    double t[RUNS_MAX];
    json_int_t skipped = 0;
    for (int k = 0; k < runs; k++)
        if ((t[k] = one_run(data_dir, report, &skipped)) < 0)
            return 1;
    qsort(t, (size_t)runs, sizeof t[0], cmp_double);
    printf("%-22s min %7.1f ms  median %7.1f ms  (%d runs, %lld scenarios skipped)\n", label,
           t[0] * 1e3, t[runs / 2] * 1e3, runs, (long long)skipped);
    return 0;
}

int main(int argc, char **argv)
{
    const char *data_dir = argc > 1 ? argv[1] : "../shared/data";
    int runs = argc > 2 ? atoi(argv[2]) : 7;
    if (runs < 1 || runs > RUNS_MAX) {
        fprintf(stderr, "usage: bench_validate [DATA_DIR] [RUNS 1..%d]\n", RUNS_MAX);
        return 2;
    }
    char report[64];
    snprintf(report, sizeof report, "/tmp/bench_validate_%d.html", (int)getpid());
    int rc = measure("suite", data_dir, NULL, runs);
    if (rc == 0)
        rc = measure("suite + json + report", data_dir, report, runs);
    unlink(report);
    return rc;
}
