/* cmd_metrics.c: `noderr metrics`, performance and risk metrics of a returns file.
 *
 * The file holds one simple periodic return per line, with an optional first line `return`,
 * CRLF or LF endings and blank lines only at the end. Every bad input (unreadable file, bad or
 * non-finite number, bad option) is reported on stderr as file:line and why, exit code 2; the
 * metrics themselves come from nd_metrics_compute, so this file only parses and prints. */
#include "cli.h"

#include "noderr/err.h"
#include "noderr/metrics.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef struct metrics_opts {
    const char *returns_path;
    nd_metrics_config_t cfg;
    bool json;
    bool help;
} metrics_opts_t;

static const char usage_text[] =
    "usage: noderr metrics --returns FILE [--periods-per-year N] [--risk-free R]\n"
    "                      [--required-return R] [--cutoff C] [--json]\n"
    "\n"
    "  --returns FILE          one simple periodic return per line (optional header "
    "`return`)\n"
    "  --periods-per-year N    annualisation factor (default 365: daily bars, 365-day "
    "year)\n"
    "  --risk-free R           per-period risk-free return for Sharpe (default 0)\n"
    "  --required-return R     per-period target for Sortino; annual for Omega "
    "(default 0)\n"
    "  --cutoff C              VaR/CVaR tail share in [0, 1] (default 0.05)\n"
    "  --json                  print one JSON object (null for an undefined metric)\n"
    "  --help                  print this help\n";

/* Reads a returns file into out (initialised by the caller, who deinits it in every case):
 * the parser is nd_returns_load (src/analytics). Returns 0, or -1 after printing why. */
static int read_returns_file(const char *path, nd_series_t *out)
{
    char err[512];
    if (nd_returns_load(path, out, err, sizeof err) != ND_OK) {
        fprintf(stderr, "noderr metrics: %s\n", err);
        return -1;
    }
    return 0;
}

/* Parses a numeric option value, checking it with ok(); prints why on failure. */
static int option_number(const char *name, const char *text, bool (*ok)(double), const char *rule,
                         double *out /* OUT */)
{
    double v = 0.0;
    const char *why = nd_returns_value_parse(text, strlen(text), &v);
    if (why == NULL && !ok(v))
        why = rule;
    if (why != NULL) {
        fprintf(stderr, "noderr metrics: --%s '%s': %s\n", name, text, why);
        return -1;
    }
    *out = v;
    return 0;
}

static bool any_finite(double v)
{
    return isfinite(v);
}

static bool positive(double v)
{
    return v > 0.0;
}

static bool unit_interval(double v)
{
    return v >= 0.0 && v <= 1.0;
}

enum { OPT_PPY = 1, OPT_RISK_FREE, OPT_REQUIRED, OPT_CUTOFF };

static const nd_cli_opt_t options[] = {
    ND_CLI_TEXT("returns", metrics_opts_t, returns_path),
    ND_CLI_ARG("periods-per-year", OPT_PPY),
    ND_CLI_ARG("risk-free", OPT_RISK_FREE),
    ND_CLI_ARG("required-return", OPT_REQUIRED),
    ND_CLI_ARG("cutoff", OPT_CUTOFF),
    ND_CLI_SET("json", metrics_opts_t, json),
    ND_CLI_OPTS_END,
};

static int metrics_option(void *ctx, int c, const char *arg)
{
    metrics_opts_t *o = ctx;
    switch (c) {
    case OPT_PPY:
        return option_number("periods-per-year", arg, positive, "must be > 0",
                             &o->cfg.periods_per_year);
    case OPT_RISK_FREE:
        return option_number("risk-free", arg, any_finite, "must be finite", &o->cfg.risk_free);
    case OPT_REQUIRED:
        return option_number("required-return", arg, any_finite, "must be finite",
                             &o->cfg.required_return);
    case OPT_CUTOFF:
        return option_number("cutoff", arg, unit_interval, "must be in [0, 1]", &o->cfg.cutoff);
    }
    return -1;
}

/* Fills o from argv; returns 0, 1 after --help, or -1 after printing why on stderr. */
static int metrics_parse_options(int argc, char **argv, metrics_opts_t *o)
{
    memset(o, 0, sizeof *o);
    nd_metrics_config_default(&o->cfg);
    int rc = nd_cli_parse("metrics", argc, argv, options, usage_text, metrics_option, o);
    if (rc < 0) {
        o->help = true;
        return 0;
    }
    if (rc != 0)
        return -1;
    if (o->returns_path == NULL) {
        fprintf(stderr, "noderr metrics: --returns FILE is required\n");
        return -1;
    }
    return 0;
}

/* A finite double as a JSON real, anything else (an undefined metric) as null. */
static json_t *json_metric(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

typedef struct metric_row {
    const char *key;
    double value;
} metric_row_t;

#define METRIC_ROWS 13

/* The metrics both outputs give, in their order (the table adds the drawdown's indexes). */
static void metric_rows(const nd_metrics_t *m, metric_row_t rows[METRIC_ROWS])
{
    const metric_row_t r[METRIC_ROWS] = {
        {"total_return", m->total_return}, {"annual_return", m->annual_return},
        {"annual_volatility", m->annual_volatility}, {"sharpe", m->sharpe},
        {"sortino", m->sortino}, {"max_drawdown", m->max_drawdown}, {"calmar", m->calmar},
        {"omega", m->omega}, {"var", m->var}, {"cvar", m->cvar}, {"tail_ratio", m->tail_ratio},
        {"downside_risk", m->downside_risk}, {"stability", m->stability},
    };
    memcpy(rows, r, sizeof r);
}

/* Prints one JSON object on one line; 17 significant digits round-trip every double and are
 * printed the same way on every run. Returns 0 or -1 (out of memory, write error). */
static int print_metrics_json(const nd_metrics_t *m)
{
    metric_row_t rows[METRIC_ROWS];
    metric_rows(m, rows);
    json_t *obj = json_object();
    int rc = obj ? json_object_set_new(obj, "count", json_integer((json_int_t)m->count)) : -1;
    for (size_t i = 0; rc == 0 && i < METRIC_ROWS; i++)
        rc = json_object_set_new(obj, rows[i].key, json_metric(rows[i].value));
    if (rc == 0)
        rc = json_dumpf(obj, stdout, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    if (rc == 0 && fputc('\n', stdout) == EOF)
        rc = -1;
    json_decref(obj);
    return rc;
}

static void print_row(const char *name, double v)
{
    if (isfinite(v))
        printf("%-20s %14.6f\n", name, v);
    else
        printf("%-20s %14s\n", name, "n/a");
}

static void print_count(const char *name, long long v)
{
    printf("%-20s %14lld\n", name, v);
}

/* Prints an aligned human-readable table (six decimals; n/a for an undefined metric). */
static void print_metrics_table(const nd_metrics_t *m, const nd_metrics_config_t *cfg)
{
    printf("%-20s %14zu\n", "count", m->count);
    print_row("periods_per_year", cfg->periods_per_year);
    metric_row_t rows[METRIC_ROWS];
    metric_rows(m, rows);
    for (size_t i = 0; i < METRIC_ROWS; i++) {
        print_row(rows[i].key, rows[i].value);
        if (strcmp(rows[i].key, "max_drawdown") != 0)
            continue;
        print_count("  peak_index", m->drawdown.peak_index);
        print_count("  trough_index", m->drawdown.trough_index);
        print_count("  recovery_index", m->drawdown.recovery_index);
        print_count("  duration_periods", m->drawdown.duration_periods);
    }
}

int nd_cmd_metrics(int argc, char **argv)
{
    metrics_opts_t o;
    if (metrics_parse_options(argc, argv, &o) != 0) {
        fprintf(stderr, "noderr metrics: see 'noderr metrics --help'\n");
        return ND_EXIT_USAGE;
    }
    if (o.help) /* nd_cli_parse printed the usage */
        return ND_EXIT_OK;
    nd_series_t returns;
    nd_series_init(&returns);
    int exit_code = ND_EXIT_OK;
    nd_metrics_t m;
    if (read_returns_file(o.returns_path, &returns) != 0) {
        exit_code = ND_EXIT_USAGE;
    } else {
        nd_err_t err = nd_metrics_compute(returns.values, returns.count, &o.cfg, &m);
        if (err != ND_OK) {
            fprintf(stderr, "noderr metrics: %s: %s\n", o.returns_path, nd_strerror(err));
            exit_code = ND_EXIT_USAGE;
        } else if (o.json) {
            if (print_metrics_json(&m) != 0) {
                fprintf(stderr, "noderr metrics: cannot write the JSON output\n");
                exit_code = ND_EXIT_USAGE;
            }
        } else {
            print_metrics_table(&m, &o.cfg);
        }
    }
    nd_series_deinit(&returns);
    return exit_code;
}
