/* cmd_validate.c: `noderr validate`: one strategy through every scenario, a pass/fail table
 * (or JSON, CSVs, an HTML report). Exit 0 when every scenario that ran passed, 1 when one
 * failed, 2 on a usage or input error (naming the option or the file, key and why). */
#include "cli.h"
#include "noderr/data.h"
#include "noderr/fixed.h"
#include "noderr/log.h"
#include "noderr/report.h"
#include "noderr/validate.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int nd_cmd_validate(int argc, char **argv);

static const char usage_text[] =
    "usage: noderr validate (--strategy NAME | --strategy-lib PATH.so[:NAME] |\n"
    "                        --strategy-file F.lua)\n"
    "                       [--param k=v]... [--params FILE]\n"
    "                       [--data-dir DIR] [--symbol ETHUSDT] [--config FILE]\n"
    "                       [--scenario NAME]...\n"
    "                       [--walk-forward TRAIN:TEST] [--json] [--csv DIR]\n"
    "                       [--report FILE.html] [--cash N] [--fee-bps N] [--slippage-bps N]\n"
    "                       [--sizing fixed:QTY|percent:P] [--allow-short]\n"
    "                       [--max-position-pct P] [--max-drawdown-pct P] [--daily-loss-pct P]\n"
    "                       [--breaker-reset POLICY]\n"
    "                       [--log-level err|warn|info|debug]\n"
    "\n"
    "Runs the strategy through every scenario of the catalogue ('noderr scenarios') with the\n"
    "backtest defaults, checks the pass/fail criteria of each scenario's market condition and\n"
    "validates the circuit breakers. History scenarios read DIR/SYMBOL-INTERVAL.csv (default\n"
    "DIR: ./data if it exists, else ../shared/data); one whose data is missing is skipped with\n"
    "the `noderr data fetch` command that gets it. --symbol ETHUSDT runs every scenario on\n"
    "that symbol (its windows read DIR/ETHUSDT-1h.csv; default: each scenario's own, BTCUSDT\n"
    "for the catalogue). --walk-forward 90d:30d (units h, d, w)\n"
    "reports rolling in-sample and out-of-sample segments. Criteria and scenarios: --config\n"
    "(docs/validation.md). Exit 0: all that ran passed; 1: a scenario failed; 2: input error.\n";

#define ONLY_MAX 64

typedef struct options {
    nd_validate_config_t cfg;
    bool json;
    const char *report_path;
    const char *fixed_qty_text;
    const char *only[ONLY_MAX];
} options_t;

enum {
    /* cash, fees, slippage, short selling and the three risk limits are ND_CLI_OPT_* (cli.h) */
    OPT_STRATEGY = 1, OPT_STRATEGY_LIB, OPT_PARAM, OPT_PARAMS, OPT_WF, OPT_SCENARIO, OPT_SIZING,
    OPT_LOG, OPT_SYMBOL, OPT_STRATEGY_FILE
};

static const nd_cli_opt_t options[] = {
    ND_CLI_TEXT("data-dir", options_t, cfg.data_dir),
    ND_CLI_TEXT("config", options_t, cfg.config_path),
    ND_CLI_OPTIONS_STRATEGY(OPT_STRATEGY, OPT_STRATEGY_LIB, OPT_STRATEGY_FILE),
    ND_CLI_OPTIONS_PARAMS(OPT_PARAM, OPT_PARAMS),
    ND_CLI_SET("json", options_t, json),
    ND_CLI_TEXT("csv", options_t, cfg.csv_dir),
    ND_CLI_ARG("walk-forward", OPT_WF),
    ND_CLI_TEXT("report", options_t, report_path),
    ND_CLI_ARG("scenario", OPT_SCENARIO),
    ND_CLI_OPTIONS_ENGINE,
    ND_CLI_ARG("sizing", OPT_SIZING),
    ND_CLI_ARG("log-level", OPT_LOG),
    ND_CLI_ARG("symbol", OPT_SYMBOL),
    ND_CLI_OPTS_END,
};

/* --strategy NAME, --strategy-lib PATH.so[:NAME]: nd_cli_strategy_lookup, bar strategies only. */
static int add_strategy_from(options_t *o, const char *option, const char *arg)
{
    const nd_strategy_def_t *def = NULL;
    int64_t weight_e6 = 0;
    if (nd_cli_strategy_lookup(option, arg, 0, &def, &weight_e6) != 0)
        return -1;
    nd_backtest_config_t *bt = &o->cfg.backtest;
    if (bt->strategy_count > 0) {
        fprintf(stderr, "noderr: %s: validate takes one strategy\n", option);
        return -1;
    }
    memset(&bt->strategies[0], 0, sizeof bt->strategies[0]);
    bt->strategies[0].def = def;
    nd_strategy_params_default(def, bt->strategies[0].params);
    bt->strategy_count = 1;
    return 0;
}

static int add_strategy(options_t *o, const char *name)
{
    return add_strategy_from(o, "--strategy", name);
}

static int set_param(options_t *o, const char *kv)
{
    return nd_cli_param_set(&o->cfg.backtest, kv);
}

static int add_strategy_cb(void *ctx, const char *name)
{
    return add_strategy(ctx, name);
}

/* --params FILE: {"strategy": "sma_cross", "params": {...}} as `noderr evolve` writes it, or a
 * bare {"fast": 12, ...} for the strategy given before it. */
static int load_params(options_t *o, const char *path)
{
    return nd_cli_params_load(&o->cfg.backtest, path, add_strategy_cb, o);
}

static int parse_sizing(options_t *o, const char *arg)
{
    nd_sizing_t *sz = &o->cfg.backtest.engine.sizing;
    if (nd_cli_sizing(&o->cfg.backtest.engine, arg, &o->fixed_qty_text) != 0)
        return -1;
    if (sz->kind != ND_SIZING_FIXED)
        return 0;
    return nd_cli_fixed("--sizing fixed", o->fixed_qty_text, ND_DEFAULT_QTY_DECIMALS, 1,
                        INT64_MAX, &sz->fixed_qty);
}

static int parse_costs(options_t *o, int opt, const char *arg)
{
    if (opt == OPT_SIZING)
        return parse_sizing(o, arg);
    return nd_cli_engine_option(&o->cfg.backtest.engine, opt, arg);
}

/* The shared span parser (nd_cli_walk_forward), time units only: windows are cut by time. */
static int parse_walk_forward(options_t *o, const char *arg)
{
    nd_span_t train, test;
    if (nd_cli_walk_forward("--walk-forward", arg, 0, &train, &test))
        return -1;
    o->cfg.wf_train_ns = train.value;
    o->cfg.wf_test_ns = test.value;
    return 0;
}

/* --symbol ETHUSDT: the file-name form, with a quote asset the instrument knows. */
static int parse_symbol(options_t *o, const char *arg)
{
    nd_instrument_t probe;
    if (!nd_data_symbol_valid(arg) || strlen(arg) >= sizeof probe.symbol ||
        nd_instrument_init(&probe, arg, "sim") != ND_OK) {
        fprintf(stderr, "noderr: --symbol: '%s' is not a symbol like ETHUSDT (capitals and "
                        "digits, a known quote asset such as USDT)\n", arg);
        return -1;
    }
    o->cfg.symbol = arg;
    return 0;
}

/* The handler nd_cli_parse calls for each option (ctx is the options_t). */
static int parse_option(void *ctx, int opt, const char *arg)
{
    options_t *o = ctx;
    switch (opt) {
    case OPT_SYMBOL: return parse_symbol(o, arg);
    case OPT_STRATEGY: return add_strategy(o, arg);
    case OPT_STRATEGY_LIB: return add_strategy_from(o, "--strategy-lib", arg);
    case OPT_STRATEGY_FILE: return add_strategy_from(o, "--strategy-file", arg);
    case OPT_PARAM: return set_param(o, arg);
    case OPT_PARAMS: return load_params(o, arg);
    case OPT_WF:
        return parse_walk_forward(o, arg);
    case OPT_SCENARIO:
        if (o->cfg.only_count >= ONLY_MAX) {
            fprintf(stderr, "noderr: --scenario: at most %d\n", ONLY_MAX);
            return -1;
        }
        o->only[o->cfg.only_count++] = arg;
        o->cfg.only = o->only;
        return 0;
    case OPT_LOG: return nd_cli_log_level(arg);
    }
    return parse_costs(o, opt, arg);
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Returns 0 to run, ND_EXIT_USAGE on a bad option, -1 after --help. */
static int parse_args(options_t *o, int argc, char **argv)
{
    int rc = nd_cli_parse("validate", argc, argv, options, usage_text, parse_option, o);
    if (rc != 0)
        return rc;
    if (o->cfg.backtest.strategy_count == 0) {
        fprintf(stderr, "noderr validate: --strategy NAME is required (or --strategy-lib "
                        "PATH.so, --strategy-file F.lua; see 'noderr strategies')\n");
        return ND_EXIT_USAGE;
    }
    if (!o->cfg.data_dir)
        o->cfg.data_dir = is_dir("data") || !is_dir("../shared/data") ? "data" : "../shared/data";
    return 0;
}

static double num(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static void print_row(json_t *sc)
{
    const char *status = json_string_value(json_object_get(sc, "status"));
    json_t *m = json_object_get(sc, "metrics");
    json_t *bv = json_object_get(sc, "breaker_validation");
    char ret[16] = "-", sharpe[16] = "-", dd[16] = "-", trades[16] = "-", trips[16] = "-";
    if (json_is_object(m)) {
        snprintf(ret, sizeof ret, "%.2f%%", num(m, "total_return") * 100.0);
        if (isfinite(num(m, "sharpe")))
            snprintf(sharpe, sizeof sharpe, "%.2f", num(m, "sharpe"));
        snprintf(dd, sizeof dd, "%.2f%%", num(m, "max_drawdown") * 100.0);
        snprintf(trades, sizeof trades, "%.0f", num(m, "trades"));
        snprintf(trips, sizeof trips, "%zu", json_array_size(json_object_get(bv, "trips")));
    }
    printf("%-20s %-9s %-7s %9s %7s %9s %6s %5s  ", json_string_value(json_object_get(sc, "name")),
           json_string_value(json_object_get(sc, "kind")), status, ret, sharpe, dd, trades, trips);
    json_t *failed = json_object_get(sc, "failed_criteria");
    if (strcmp(status, "skipped") == 0)
        printf("%s\n", json_string_value(json_object_get(sc, "skip_reason")));
    else if (json_array_size(failed) == 0)
        printf("-\n");
    else {
        for (size_t k = 0; k < json_array_size(failed); k++)
            printf("%s%s", k ? ", " : "", json_string_value(json_array_get(failed, k)));
        printf("\n");
    }
}

static void print_details(json_t *sc)
{
    const char *status = json_string_value(json_object_get(sc, "status"));
    const char *name = json_string_value(json_object_get(sc, "name"));
    if (strcmp(status, "skipped") == 0) {
        printf("  %s: fetch with: %s\n", name,
               json_string_value(json_object_get(sc, "fetch_command")));
        return;
    }
    json_t *crit = json_object_get(sc, "criteria");
    for (size_t k = 0; k < json_array_size(crit); k++) {
        json_t *c = json_array_get(crit, k);
        if (!json_is_true(json_object_get(c, "pass")))
            printf("  %s: %s failed: %s\n", name, json_string_value(json_object_get(c, "name")),
                   json_string_value(json_object_get(c, "detail")));
    }
    json_t *trips = json_object_get(json_object_get(sc, "breaker_validation"), "trips");
    for (size_t k = 0; k < json_array_size(trips); k++) {
        json_t *t = json_array_get(trips, k);
        json_t *lag = json_object_get(t, "lag_bars");
        char lag_text[48] = "no threshold crossing before it";
        if (json_is_integer(lag))
            snprintf(lag_text, sizeof lag_text, "%lld bar(s) after the crossing",
                     (long long)json_integer_value(lag));
        printf("  %s: breaker %s at %s, equity %.2f, %.2f%% >= %.2f%%, %s; halted until %s%s%s; "
               "worst drawdown from then on %.2f%%\n", name,
               json_string_value(json_object_get(t, "type")),
               json_string_value(json_object_get(t, "time")), num(t, "equity"),
               num(t, "measured_pct"), num(t, "threshold_pct"), lag_text,
               json_string_value(json_object_get(t, "halted_until")),
               json_is_true(json_object_get(t, "stayed_halted")) ? "" : " (NOT respected)",
               json_is_true(json_object_get(t, "flat_after")) ? "" : " (position LEFT OPEN)",
               num(t, "max_drawdown_after") * 100.0);
    }
    json_t *halt = json_object_get(json_object_get(sc, "metrics"), "halt_summary");
    if (json_is_string(halt))
        printf("  %s: %s\n", name, json_string_value(halt));
}

static void print_table(json_t *doc)
{
    json_t *symbol = json_object_get(doc, "symbol");
    printf("noderr validate: %s%s%s, data from %s\n",
           json_string_value(json_object_get(doc, "strategy")), symbol ? " on " : "",
           symbol ? json_string_value(symbol) : "", json_string_value(json_object_get(doc, "data_dir")));
    printf("%-20s %-9s %-7s %9s %7s %9s %6s %5s  %s\n", "scenario", "kind", "status", "return",
           "sharpe", "max dd", "trades", "trips", "failed criteria");
    json_t *list = json_object_get(doc, "scenarios");
    for (size_t k = 0; k < json_array_size(list); k++)
        print_row(json_array_get(list, k));
    for (size_t k = 0; k < json_array_size(list); k++)
        print_details(json_array_get(list, k));
    printf("%lld passed, %lld failed, %lld skipped\n",
           (long long)json_integer_value(json_object_get(doc, "passed")),
           (long long)json_integer_value(json_object_get(doc, "failed")),
           (long long)json_integer_value(json_object_get(doc, "skipped")));
}

/* --json prints the same document with or without --report: the series go to the report. */
static void strip_series(json_t *doc)
{
    json_object_del(doc, "title");
    json_t *list = json_object_get(doc, "scenarios");
    for (size_t k = 0; k < json_array_size(list); k++) {
        json_t *sc = json_array_get(list, k);
        json_object_del(sc, "equity");
        json_object_del(sc, "drawdown");
        json_object_del(sc, "trades");
        json_object_del(sc, "run"); /* the report's record of the parameters */
    }
}

static int run(options_t *o)
{
    char title[160];
    if (o->report_path) {
        snprintf(title, sizeof title, "noderr validate: %s",
                 o->cfg.backtest.strategies[0].def->name);
        o->cfg.title = title;
        o->cfg.with_series = true;
    }
    json_t *doc = NULL;
    char err[1024] = "";
    nd_err_t rc = nd_validate_run(&o->cfg, &doc, err, sizeof err);
    if (nd_cli_strategy_file_failed("validate")) {
        json_decref(doc);
        return ND_EXIT_USAGE;
    }
    if (rc != ND_OK) {
        fprintf(stderr, "noderr validate: %s\n", err[0] ? err : nd_strerror(rc));
        return ND_EXIT_USAGE;
    }
    int exit_code = json_integer_value(json_object_get(doc, "failed")) > 0 ? ND_EXIT_CHECK_FAILED
                                                                           : ND_EXIT_OK;
    const char *none = json_string_value(json_object_get(doc, "no_scenario_ran"));
    if (none)
        exit_code = ND_EXIT_CHECK_FAILED;
    if (o->report_path && (nd_report_doc_add_strategies(doc, &o->cfg.backtest) != ND_OK ||
                           nd_report_html_write(doc, o->report_path, err, sizeof err) != ND_OK)) {
        fprintf(stderr, "noderr validate: --report %s: %s\n", o->report_path, err);
        exit_code = ND_EXIT_USAGE;
    }
    strip_series(doc);
    if (o->json) {
        if (nd_cli_print_json(doc) != 0)
            exit_code = ND_EXIT_USAGE;
    } else {
        print_table(doc);
    }
    if (none)
        fprintf(stderr, "noderr validate: no scenario ran: %s\n", none);
    json_decref(doc);
    return exit_code;
}

int nd_cmd_validate(int argc, char **argv)
{
    options_t o;
    memset(&o, 0, sizeof o);
    nd_validate_config_default(&o.cfg);
    int rc = parse_args(&o, argc, argv);
    if (rc != 0)
        return rc < 0 ? ND_EXIT_OK : rc;
    return run(&o);
}
