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
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Longest accepted line: a return needs ~25 characters; anything longer is not a number. */
#define ND_METRICS_LINE_MAX 256

typedef struct metrics_opts {
    const char *returns_path;
    nd_metrics_config_t cfg;
    bool json;
    bool help;
} metrics_opts_t;

static void metrics_usage(FILE *f)
{
    fputs("usage: noderr metrics --returns FILE [--periods-per-year N] [--risk-free R]\n"
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
          "  --help                  print this help\n",
          f);
}

/* Parses plain decimal notation (sign, digits, point, exponent) into a finite double. Returns
 * NULL on success, else why the text is not accepted. Hex, inf and nan are refused. */
static const char *parse_decimal(const char *text, double *out /* OUT */)
{
    size_t len = strlen(text);
    if (len == 0)
        return "empty value";
    if (strspn(text, "0123456789+-.eE") != len)
        return "not a decimal number";
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end != '\0')
        return "not a decimal number";
    if (!isfinite(v))
        return "non-finite value (out of the double range)";
    *out = v;
    return NULL;
}

/* Strips leading and trailing blanks and the line ending in place; returns the trimmed start. */
static char *trim_line(char *line)
{
    size_t len = strlen(line);
    while (len > 0 && strchr(" \t\r\n", line[len - 1]) != NULL)
        line[--len] = '\0';
    while (*line == ' ' || *line == '\t')
        line++;
    return line;
}

/* Handles one trimmed line; blank_line tracks the first blank line seen so far (0 = none). */
static int parse_returns_line(const char *path, size_t line_no, const char *text,
                              size_t *blank_line, nd_series_t *out)
{
    if (*text == '\0') {
        if (*blank_line == 0)
            *blank_line = line_no;
        return 0;
    }
    if (line_no == 1 && strcmp(text, "return") == 0)
        return 0;
    if (*blank_line != 0) {
        fprintf(stderr, "noderr metrics: %s:%zu: blank line inside the data\n", path,
                *blank_line);
        return -1;
    }
    double v = 0.0;
    const char *why = parse_decimal(text, &v);
    if (why != NULL) {
        fprintf(stderr, "noderr metrics: %s:%zu: %s: '%s'\n", path, line_no, why, text);
        return -1;
    }
    if (nd_series_push(out, v) != ND_OK) {
        fprintf(stderr, "noderr metrics: %s:%zu: out of memory\n", path, line_no);
        return -1;
    }
    return 0;
}

/* Reads a returns file into out (initialised by the caller, who deinits it in every case).
 * Returns 0, or -1 after printing file:line and why on stderr. O(lines). */
static int read_returns_file(const char *path, nd_series_t *out)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "noderr metrics: %s: cannot open: %s\n", path, strerror(errno));
        return -1;
    }
    char buf[ND_METRICS_LINE_MAX + 2];
    size_t line_no = 0, blank_line = 0;
    int rc = 0;
    while (rc == 0 && fgets(buf, sizeof buf, f) != NULL) {
        line_no++;
        size_t len = strlen(buf);
        if (len > 0 && buf[len - 1] != '\n' && !feof(f)) {
            fprintf(stderr, "noderr metrics: %s:%zu: line longer than %d characters\n", path,
                    line_no, ND_METRICS_LINE_MAX);
            rc = -1;
            break;
        }
        rc = parse_returns_line(path, line_no, trim_line(buf), &blank_line, out);
    }
    if (rc == 0 && ferror(f)) {
        fprintf(stderr, "noderr metrics: %s:%zu: read error: %s\n", path, line_no + 1,
                strerror(errno));
        rc = -1;
    }
    fclose(f);
    return rc;
}

/* Parses a numeric option value, checking it with ok(); prints why on failure. */
static int option_number(const char *name, const char *text, bool (*ok)(double), const char *rule,
                         double *out /* OUT */)
{
    double v = 0.0;
    const char *why = parse_decimal(text, &v);
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

enum { OPT_RETURNS = 256, OPT_PPY, OPT_RISK_FREE, OPT_REQUIRED, OPT_CUTOFF, OPT_JSON };

/* Fills o from argv; returns 0, or -1 after printing why on stderr. */
static int metrics_parse_options(int argc, char **argv, metrics_opts_t *o)
{
    static const struct option longopts[] = {
        {"returns", required_argument, NULL, OPT_RETURNS},
        {"periods-per-year", required_argument, NULL, OPT_PPY},
        {"risk-free", required_argument, NULL, OPT_RISK_FREE},
        {"required-return", required_argument, NULL, OPT_REQUIRED},
        {"cutoff", required_argument, NULL, OPT_CUTOFF},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    nd_metrics_config_default(&o->cfg);
    optind = 1;
    int c, rc = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_RETURNS: o->returns_path = optarg; break;
        case OPT_PPY:
            rc = option_number("periods-per-year", optarg, positive, "must be > 0",
                               &o->cfg.periods_per_year);
            break;
        case OPT_RISK_FREE:
            rc = option_number("risk-free", optarg, any_finite, "must be finite",
                               &o->cfg.risk_free);
            break;
        case OPT_REQUIRED:
            rc = option_number("required-return", optarg, any_finite, "must be finite",
                               &o->cfg.required_return);
            break;
        case OPT_CUTOFF:
            rc = option_number("cutoff", optarg, unit_interval, "must be in [0, 1]",
                               &o->cfg.cutoff);
            break;
        case OPT_JSON: o->json = true; break;
        case 'h': o->help = true; break;
        default: rc = -1; break; /* getopt_long already said which option. */
        }
    }
    if (rc == 0 && optind < argc) {
        fprintf(stderr, "noderr metrics: unexpected argument '%s'\n", argv[optind]);
        rc = -1;
    }
    if (rc == 0 && !o->help && o->returns_path == NULL) {
        fprintf(stderr, "noderr metrics: --returns FILE is required\n");
        rc = -1;
    }
    return rc;
}

/* A finite double as a JSON real, anything else (an undefined metric) as null. */
static json_t *json_metric(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

/* Prints one JSON object on one line; 17 significant digits round-trip every double and are
 * printed the same way on every run. Returns 0 or -1 (out of memory, write error). */
static int print_metrics_json(const nd_metrics_t *m)
{
    const struct {
        const char *key;
        double value;
    } rows[] = {
        {"total_return", m->total_return}, {"annual_return", m->annual_return},
        {"annual_volatility", m->annual_volatility}, {"sharpe", m->sharpe},
        {"sortino", m->sortino}, {"max_drawdown", m->max_drawdown}, {"calmar", m->calmar},
        {"omega", m->omega}, {"var", m->var}, {"cvar", m->cvar}, {"tail_ratio", m->tail_ratio},
        {"downside_risk", m->downside_risk}, {"stability", m->stability},
    };
    json_t *obj = json_object();
    int rc = obj ? json_object_set_new(obj, "count", json_integer((json_int_t)m->count)) : -1;
    for (size_t i = 0; rc == 0 && i < sizeof rows / sizeof rows[0]; i++)
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

/* Prints an aligned human-readable table (six decimals; n/a for an undefined metric). */
static void print_metrics_table(const nd_metrics_t *m, const nd_metrics_config_t *cfg)
{
    printf("%-20s %14zu\n", "count", m->count);
    print_row("periods_per_year", cfg->periods_per_year);
    print_row("total_return", m->total_return);
    print_row("annual_return", m->annual_return);
    print_row("annual_volatility", m->annual_volatility);
    print_row("sharpe", m->sharpe);
    print_row("sortino", m->sortino);
    print_row("max_drawdown", m->max_drawdown);
    printf("%-20s %14lld\n", "  peak_index", (long long)m->drawdown.peak_index);
    printf("%-20s %14lld\n", "  trough_index", (long long)m->drawdown.trough_index);
    printf("%-20s %14lld\n", "  recovery_index", (long long)m->drawdown.recovery_index);
    printf("%-20s %14lld\n", "  duration_periods", (long long)m->drawdown.duration_periods);
    print_row("calmar", m->calmar);
    print_row("omega", m->omega);
    print_row("var", m->var);
    print_row("cvar", m->cvar);
    print_row("tail_ratio", m->tail_ratio);
    print_row("downside_risk", m->downside_risk);
    print_row("stability", m->stability);
}

int nd_cmd_metrics(int argc, char **argv)
{
    metrics_opts_t o;
    if (metrics_parse_options(argc, argv, &o) != 0) {
        fprintf(stderr, "noderr metrics: see 'noderr metrics --help'\n");
        return ND_EXIT_USAGE;
    }
    if (o.help) {
        metrics_usage(stdout);
        return ND_EXIT_OK;
    }
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
    fflush(stdout);
    return exit_code;
}
