/* cmd_indicator.c: `noderr indicator NAME --data FILE [--param k=v]... [--csv]`: one indicator
 * (src/indicators, indicators.h) over a bar file, printed as a series: the bar's time and one
 * column per output, empty while the output warms up. The bars come from the same loader as
 * backtest, so a bad row stops the run with FILE:LINE and exit 2. --csv prints every value
 * with 17 significant digits (round-trips a double) for checking against other tools. */
#include "cli.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/indicators.h"
#include "noderr/market.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char usage_text[] =
    "usage: noderr indicator NAME --data FILE [--format auto|csv|kline] [--param k=v]... [--csv]\n"
    "                        [--timerange YYYYMMDD-YYYYMMDD] [--timeframe 4h]\n"
    "\n"
    "Prints indicator NAME over the bars of FILE (CSV ts,open,high,low,close,volume or Binance\n"
    "kline CSV): the bar's open time and one column per output, empty while that output warms\n"
    "up. Definitions, defaults and warm-up follow TA-Lib (docs/indicators.md). --csv prints ts\n"
    "as Unix milliseconds and values with 17 significant digits; the default is a table with\n"
    "UTC times.\n"
    ND_CLI_TIMERANGE_USAGE
    "\n"
    "indicators (parameters with defaults):\n";

typedef struct indicator_opts {
    const nd_indicator_def_t *def; /* NULL when NAME is missing or unknown */
    const char *data_path;
    nd_bar_format_t format;
    nd_bar_view_t view; /* --timerange, --timeframe */
    bool csv;
    double params[ND_INDICATOR_PARAMS_MAX];
} indicator_opts_t;

enum { OPT_DATA = 1, OPT_FORMAT, OPT_PARAM };

static const nd_cli_opt_t options[] = {
    ND_CLI_ARG("data", OPT_DATA),
    ND_CLI_ARG("format", OPT_FORMAT),
    ND_CLI_ARG("param", OPT_PARAM),
    ND_CLI_SET("csv", indicator_opts_t, csv),
    ND_CLI_OPTIONS_VIEW,
    ND_CLI_OPTS_END,
};

static int handle(void *ctx, int opt, const char *arg)
{
    indicator_opts_t *o = ctx;
    char err[256];
    switch (opt) {
    case OPT_DATA:
        if (o->data_path != NULL) {
            fprintf(stderr, "noderr indicator: --data given twice\n");
            return -1;
        }
        o->data_path = arg;
        return 0;
    case OPT_FORMAT:
        if (strcmp(arg, "auto") == 0)
            o->format = ND_BAR_FORMAT_AUTO;
        else if (strcmp(arg, "csv") == 0)
            o->format = ND_BAR_FORMAT_CSV;
        else if (strcmp(arg, "kline") == 0)
            o->format = ND_BAR_FORMAT_KLINE;
        else {
            fprintf(stderr, "noderr indicator: --format must be auto, csv or kline, got '%s'\n",
                    arg);
            return -1;
        }
        return 0;
    case OPT_PARAM:
        if (o->def == NULL) {
            fprintf(stderr, "noderr indicator: --param needs the indicator NAME first\n");
            return -1;
        }
        if (nd_indicator_param_set(o->def, o->params, arg, err, sizeof err) != ND_OK) {
            fprintf(stderr, "noderr indicator: --param %s: %s\n", arg, err);
            return -1;
        }
        return 0;
    case ND_CLI_OPT_TIMERANGE:
    case ND_CLI_OPT_TIMEFRAME: return nd_cli_view_option(&o->view, opt, arg);
    }
    return -1;
}

/* The usage text followed by every indicator with its parameters and outputs. */
static void build_usage(char *buf, size_t cap)
{
    size_t used = (size_t)snprintf(buf, cap, "%s", usage_text);
    int count = 0;
    const nd_indicator_def_t *const *defs = nd_indicator_builtins(&count);
    for (int i = 0; i < count && used < cap; i++) {
        used += (size_t)snprintf(buf + used, cap - used, "  %-11s", defs[i]->name);
        for (int j = 0; j < defs[i]->param_count && used < cap; j++)
            used += (size_t)snprintf(buf + used, cap - used, " %s=%g", defs[i]->params[j].name,
                                     defs[i]->params[j].def);
        if (used < cap)
            used += (size_t)snprintf(buf + used, cap - used, "  -> ");
        for (int j = 0; j < defs[i]->output_count && used < cap; j++)
            used += (size_t)snprintf(buf + used, cap - used, "%s%s", j ? "," : "",
                                     defs[i]->outputs[j]);
        if (used < cap)
            used += (size_t)snprintf(buf + used, cap - used, "\n");
    }
}

static void print_header(const indicator_opts_t *o)
{
    const nd_indicator_def_t *def = o->def;
    if (o->csv) {
        printf("ts");
        for (int j = 0; j < def->output_count; j++)
            printf(",%s", def->outputs[j]);
    } else {
        printf("%-20s", "time (UTC)");
        for (int j = 0; j < def->output_count; j++)
            printf(" %16s", def->outputs[j]);
    }
    printf("\n");
}

static void print_row(const indicator_opts_t *o, int64_t ts_ns, const double *values)
{
    const nd_indicator_def_t *def = o->def;
    if (o->csv) {
        printf("%lld", (long long)(ts_ns / 1000000));
        for (int j = 0; j < def->output_count; j++) {
            if (isnan(values[j]))
                printf(",");
            else
                printf(",%.17g", values[j]);
        }
    } else {
        time_t secs = (time_t)(ts_ns / 1000000000);
        struct tm tm;
        char when[32] = "?";
        if (gmtime_r(&secs, &tm) != NULL)
            strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        printf("%-20s", when);
        for (int j = 0; j < def->output_count; j++) {
            if (isnan(values[j]))
                printf(" %16s", "");
            else
                printf(" %16.8g", values[j]);
        }
    }
    printf("\n");
}

static int run(indicator_opts_t *o)
{
    char err[256];
    nd_instrument_t inst;
    /* The instrument only fixes the scales of the loader (8 decimals, Binance's); no symbol
     * rules apply to an indicator. */
    nd_err_t init_rc = nd_instrument_init(&inst, "BASE/QUOTE", "sim");
    ND_ASSERT(init_rc == ND_OK);
    nd_bar_source_t *src = NULL;
    if (nd_bars_open_view(o->data_path, o->format, &inst, &o->view, &src, err, sizeof err) !=
        ND_OK) {
        fprintf(stderr, "noderr indicator: %s%s\n", err[0] == '-' ? "" : "--data ", err);
        return ND_EXIT_USAGE;
    }
    size_t size = o->def->state_size(o->params);
    void *state = nd_alloc(size);
    if (state == NULL) {
        src->close(src);
        fprintf(stderr, "noderr indicator: out of memory for %zu bytes of state\n", size);
        return ND_EXIT_USAGE;
    }
    o->def->init(state, o->params);
    print_header(o);
    nd_bar_t bar;
    nd_err_t rc;
    while ((rc = src->next(src, &bar)) == ND_OK) {
        nd_indicator_input_t in;
        double values[ND_INDICATOR_OUTPUTS_MAX];
        nd_indicator_input_from_bar(&inst, &bar, &in);
        o->def->update(state, &in, values);
        print_row(o, bar.ts_ns, values);
    }
    int exit_code = ND_EXIT_OK;
    if (rc != ND_EEOF) {
        fprintf(stderr, "noderr indicator: %s\n", src->err);
        exit_code = ND_EXIT_USAGE;
    }
    nd_free(state);
    src->close(src);
    return exit_code;
}

int nd_cmd_indicator(int argc, char **argv)
{
    ND_ASSERT(argc >= 1);
    ND_ASSERT(argv != NULL);
    indicator_opts_t o;
    memset(&o, 0, sizeof o);
    o.format = ND_BAR_FORMAT_AUTO;
    const char *name = NULL;
    if (argc >= 2 && argv[1][0] != '-') {
        name = argv[1];
        o.def = nd_indicator_find(name);
        if (o.def == NULL) {
            int count = 0;
            const nd_indicator_def_t *const *defs = nd_indicator_builtins(&count);
            fprintf(stderr, "noderr indicator: unknown indicator '%s' (known:", name);
            for (int i = 0; i < count; i++)
                fprintf(stderr, " %s", defs[i]->name);
            fprintf(stderr, ")\n");
            return ND_EXIT_USAGE;
        }
        nd_indicator_params_default(o.def, o.params);
        argc--;
        argv++;
    }
    char usage[4096];
    build_usage(usage, sizeof usage);
    int rc = nd_cli_parse("indicator", argc, argv, options, usage, handle, &o);
    if (rc != 0)
        return rc < 0 ? ND_EXIT_OK : rc;
    if (o.def == NULL) {
        fprintf(stderr, "noderr indicator: missing the indicator NAME (see --help)\n");
        return ND_EXIT_USAGE;
    }
    if (o.data_path == NULL) {
        fprintf(stderr, "noderr indicator: --data FILE is required\n");
        return ND_EXIT_USAGE;
    }
    char err[256];
    if (nd_indicator_params_check(o.def, o.params, err, sizeof err) != ND_OK) {
        fprintf(stderr, "noderr indicator: --param: %s\n", err);
        return ND_EXIT_USAGE;
    }
    return run(&o);
}
