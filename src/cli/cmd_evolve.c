/* cmd_evolve.c: `noderr evolve`: options -> a GA over a strategy's parameters on bars held in
 * memory -> summary or JSON, best-parameter file, Pareto CSV, history CSV, HTML report, and
 * with --walk-forward in-sample vs out-of-sample windows.
 *
 * Output that must be reproducible (the JSON without its "timing" object, every file) depends
 * only on the options and the data, never on --threads or on time. Timing is measured with the
 * OS clock through nd_clock_t and goes to "timing" and the terminal progress line only. */
#include "cli.h"
#include "noderr/alloc.h"
#include "noderr/clock.h"
#include "noderr/evolve.h"
#include "noderr/report.h"
#include "noderr/metrics.h"

#include "noderr/scenario.h"

#include <errno.h>
#include <sys/stat.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int nd_cmd_evolve(int argc, char **argv);

static const char usage_text[] =
    "usage: noderr evolve (--strategy NAME | --strategy-lib PATH.so[:NAME] |\n"
    "                      --strategy-file F.lua)\n"
    "                     (--data FILE | --scenario NAME)\n"
    "                     [--population 50] [--generations 100]\n"
    "                     [--objectives sharpe,max_drawdown,win_rate,profit_factor]\n"
    "                     [--mode pareto|weighted] [--weights w1,w2,...] [--seed 42]\n"
    "                     [--threads N] [--min-trades 10] [--elite 2] [--tournament 3]\n"
    "                     [--patience 20] [--epsilon 1e-4] [--walk-forward TRAIN:TEST]\n"
    "                     [--oos-min-share 0.5] [--fee-bps 10] [--max-drawdown-pct 12]\n"
    "                     [--daily-loss-pct 5] [--json] [--out FILE] [--pareto-csv FILE]\n"
    "                     [--history-csv FILE] [--report FILE.html] [--data-dir DIR]\n"
    "                     [--halt-penalty off|N]\n"
    "                     [--timerange YYYYMMDD-YYYYMMDD] [--timeframe 4h]\n"
    "\n"
    "Evolves the strategy's parameters with a genetic algorithm. Objectives: sharpe, sortino,\n"
    "calmar, max_drawdown (|drawdown| minimised), win_rate, profit_factor, total_return.\n"
    "Pareto mode (NSGA-II) reports the non-dominated front; weighted mode maximises the\n"
    "weighted sum. Stops early when the best (the hypervolume in Pareto mode) has not improved\n"
    "by more than --epsilon for --patience generations, or when diversity collapses. The same\n"
    "--seed gives the same result whatever --threads is (default: every online CPU).\n"
    "--walk-forward 180d:60d evolves on each training window and re-runs the winners on the\n"
    "test window that follows (units d, h or bars), flagging out-of-sample Sharpe below\n"
    "--oos-min-share of in-sample; --out then writes the winner with the best median\n"
    "out-of-sample Sharpe across all test windows among those not flagged (a flagged set is\n"
    "written only with a warning). A run still halted by a breaker at its end loses N x its\n"
    "halted share of bars from every objective (--halt-penalty, default 1; off: none).\n"
    "--scenario takes a scenario of the catalogue ('noderr\n"
    "scenarios'); history scenarios read DIR (default data/, else ../shared/data).\n"
    ND_CLI_TIMERANGE_USAGE
    "See docs/evolve.md.\n";

typedef struct options {
    nd_evolve_config_t ga;
    nd_evolve_task_t task;
    bool mode_set, weights_set, json;
    const char *data_path, *scenario, *data_dir;
    const char *out_path, *pareto_path, *history_path, *report_path;
    nd_bar_view_t view;          /* --timerange, --timeframe (with --data) */
    nd_span_t wf_train, wf_test; /* walk-forward spans: time, or bars */
    bool wf;
    double oos_min_share;
    uint32_t weight_count;
    const nd_evolve_bars_t *data; /* every bar, once loaded (the report backtests on them) */
} options_t;

enum {
    OPT_STRATEGY = 1, OPT_POP, OPT_GENS, OPT_OBJ, OPT_MODE, OPT_WEIGHTS, OPT_SEED, OPT_THREADS,
    OPT_ELITE, OPT_TOURN, OPT_PATIENCE, OPT_EPS, OPT_WF, OPT_OOS, OPT_STRATEGY_LIB,
    OPT_HALT_PENALTY, OPT_STRATEGY_FILE
};

static const nd_cli_opt_t options[] = {
    ND_CLI_OPTIONS_STRATEGY(OPT_STRATEGY, OPT_STRATEGY_LIB, OPT_STRATEGY_FILE),
    ND_CLI_TEXT("data", options_t, data_path),
    ND_CLI_TEXT("scenario", options_t, scenario),
    ND_CLI_ARG("population", OPT_POP),
    ND_CLI_ARG("generations", OPT_GENS),
    ND_CLI_ARG("objectives", OPT_OBJ),
    ND_CLI_ARG("mode", OPT_MODE),
    ND_CLI_ARG("weights", OPT_WEIGHTS),
    ND_CLI_ARG("seed", OPT_SEED),
    ND_CLI_ARG("threads", OPT_THREADS),
    ND_CLI_INT("min-trades", options_t, task.min_trades, 0, 1000000),
    ND_CLI_ARG("elite", OPT_ELITE),
    ND_CLI_ARG("tournament", OPT_TOURN),
    ND_CLI_ARG("patience", OPT_PATIENCE),
    ND_CLI_ARG("epsilon", OPT_EPS),
    ND_CLI_ARG("walk-forward", OPT_WF),
    ND_CLI_ARG("oos-min-share", OPT_OOS),
    ND_CLI_ARG("fee-bps", ND_CLI_OPT_FEE),
    ND_CLI_ARG("max-drawdown-pct", ND_CLI_OPT_MAX_DRAWDOWN),
    ND_CLI_ARG("daily-loss-pct", ND_CLI_OPT_DAILY_LOSS),
    ND_CLI_SET("json", options_t, json),
    ND_CLI_TEXT("out", options_t, out_path),
    ND_CLI_TEXT("pareto-csv", options_t, pareto_path),
    ND_CLI_TEXT("history-csv", options_t, history_path),
    ND_CLI_TEXT("report", options_t, report_path),
    ND_CLI_TEXT("data-dir", options_t, data_dir),
    ND_CLI_ARG("halt-penalty", OPT_HALT_PENALTY),
    ND_CLI_OPTIONS_VIEW,
    ND_CLI_OPTS_END,
};

/* Per-run bookkeeping for the progress line and the history. */
typedef struct run_state {
    const options_t *o;
    int64_t started_ns;
    bool tty;
    uint32_t window;          /* walk-forward window + 1, or 0 */
} run_state_t;

/* The one walk of a comma list (--objectives, --weights): at most ND_EVOLVE_OBJECTIVES_MAX
 * items, each handed to item() with its position. Returns the count, or -1 after a message. */
static int each_listed(options_t *o, const char *option, const char *arg,
                       int (*item)(options_t *o, uint32_t index, const char *text))
{
    char buf[256];
    if (strlen(arg) >= sizeof buf) {
        fprintf(stderr, "noderr: %s: list too long\n", option);
        return -1;
    }
    strcpy(buf, arg);
    uint32_t n = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        if (n == ND_EVOLVE_OBJECTIVES_MAX) {
            fprintf(stderr, "noderr: %s: at most %d\n", option, ND_EVOLVE_OBJECTIVES_MAX);
            return -1;
        }
        if (item(o, n++, tok) != 0)
            return -1;
    }
    return (int)n;
}

static int objective_item(options_t *o, uint32_t index, const char *text)
{
    if (nd_evolve_objective_parse(text, &o->task.objectives[index]) != ND_OK) {
        fprintf(stderr, "noderr: --objectives: unknown objective '%s' (sharpe, sortino, "
                        "calmar, max_drawdown, win_rate, profit_factor, total_return)\n", text);
        return -1;
    }
    return 0;
}

static int parse_objectives(options_t *o, const char *arg)
{
    int n = each_listed(o, "--objectives", arg, objective_item);
    if (n < 0)
        return -1;
    if (n == 0) {
        fprintf(stderr, "noderr: --objectives: give at least one objective\n");
        return -1;
    }
    o->task.objective_count = (uint32_t)n;
    return 0;
}

static int weight_item(options_t *o, uint32_t index, const char *text)
{
    return nd_cli_real("--weights", text, -1e6, 1e6, &o->ga.weights[index]);
}

static int parse_weights(options_t *o, const char *arg)
{
    int n = each_listed(o, "--weights", arg, weight_item);
    if (n < 0)
        return -1;
    o->weights_set = true;
    o->weight_count = (uint32_t)n; /* checked against the objectives once both are known */
    return 0;
}

static int parse_u32(const char *option, const char *arg, int64_t min, int64_t max,
                     uint32_t *out)
{
    int64_t v = 0;
    if (nd_cli_int(option, arg, min, max, &v))
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int parse_mode(options_t *o, const char *arg)
{
    static const char *const names[] = {"pareto", "weighted", NULL};
    int k;
    if (nd_cli_choice("--mode", arg, names, &k) != 0)
        return -1;
    o->ga.mode = k == 0 ? ND_EVOLVE_PARETO : ND_EVOLVE_WEIGHTED;
    o->mode_set = true;
    return 0;
}

/* --strategy NAME, --strategy-lib PATH.so[:NAME]: nd_cli_strategy_lookup, bar strategies only. */
static int parse_strategy(options_t *o, const char *option, const char *arg)
{
    const nd_strategy_def_t *def = NULL;
    int64_t weight_e6 = 0;
    if (o->task.def) {
        fprintf(stderr, "noderr: %s: evolve takes one strategy\n", option);
        return -1;
    }
    if (nd_cli_strategy_lookup(option, arg, 0, &def, &weight_e6) != 0)
        return -1;
    o->task.def = def;
    return 0;
}

static int apply_option(void *ctx, int opt, const char *arg)
{
    options_t *o = ctx;
    nd_evolve_config_t *g = &o->ga;
    int64_t v = 0;
    switch (opt) {
    case OPT_STRATEGY: return parse_strategy(o, "--strategy", arg);
    case OPT_STRATEGY_LIB: return parse_strategy(o, "--strategy-lib", arg);
    case OPT_STRATEGY_FILE: return parse_strategy(o, "--strategy-file", arg);
    case ND_CLI_OPT_TIMERANGE:
    case ND_CLI_OPT_TIMEFRAME: return nd_cli_view_option(&o->view, opt, arg);
    case OPT_POP: return parse_u32("--population", arg, 4, ND_EVOLVE_POPULATION_MAX, &g->population);
    case OPT_GENS: return parse_u32("--generations", arg, 0, 100000, &g->generations);
    case OPT_OBJ: return parse_objectives(o, arg);
    case OPT_MODE: return parse_mode(o, arg);
    case OPT_WEIGHTS: return parse_weights(o, arg);
    case OPT_SEED:
        if (nd_cli_int("--seed", arg, 0, INT64_MAX, &v))
            return -1;
        g->seed = (uint64_t)v;
        return 0;
    case OPT_THREADS: return parse_u32("--threads", arg, 1, ND_EVOLVE_THREADS_MAX, &g->threads);
    case OPT_ELITE: return parse_u32("--elite", arg, 0, ND_EVOLVE_POPULATION_MAX, &g->elite);
    case OPT_TOURN: return parse_u32("--tournament", arg, 1, ND_EVOLVE_POPULATION_MAX, &g->tournament);
    case OPT_PATIENCE: return parse_u32("--patience", arg, 0, 100000, &g->patience);
    case OPT_EPS: return nd_cli_real("--epsilon", arg, 0.0, 1e9, &g->epsilon);
    case OPT_WF:
        o->wf = true;
        return nd_cli_walk_forward("--walk-forward", arg, ND_SPAN_BARS_OK, &o->wf_train,
                                   &o->wf_test);
    case OPT_OOS: return nd_cli_real("--oos-min-share", arg, 0.0, 10.0, &o->oos_min_share);
    case ND_CLI_OPT_FEE:
    case ND_CLI_OPT_MAX_DRAWDOWN:
    case ND_CLI_OPT_DAILY_LOSS: return nd_cli_engine_option(&o->task.engine, opt, arg);
    case OPT_HALT_PENALTY:
        if (strcmp(arg, "off") == 0) {
            o->task.halt_penalty = 0.0;
            return 0;
        }
        return nd_cli_real("--halt-penalty", arg, 0.0, 1000.0, &o->task.halt_penalty);
    }
    return -1;
}

static uint32_t online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (n > ND_EVOLVE_THREADS_MAX ? ND_EVOLVE_THREADS_MAX : (uint32_t)n);
}

static void options_default(options_t *o)
{
    memset(o, 0, sizeof *o);
    nd_evolve_config_default(&o->ga);
    o->ga.threads = online_cpus();
    nd_engine_config_default(&o->task.engine);
    static const nd_evolve_objective_t defaults[] = {ND_OBJ_SHARPE, ND_OBJ_MAX_DRAWDOWN,
                                                     ND_OBJ_WIN_RATE, ND_OBJ_PROFIT_FACTOR};
    memcpy(o->task.objectives, defaults, sizeof defaults);
    o->task.objective_count = 4;
    o->task.min_trades = 10;
    o->task.halt_penalty = 1.0;
    o->oos_min_share = 0.5;
}

/* Cross-option checks once everything is parsed. */
static int finish_options(options_t *o)
{
    const char *why = NULL;
    if (!o->task.def)
        why = "--strategy NAME is required (or --strategy-lib PATH.so, --strategy-file F.lua; see 'noderr strategies')";
    else if (!o->data_path && !o->scenario)
        why = "give --data FILE or --scenario NAME";
    else if (o->data_path && o->scenario)
        why = "--data and --scenario exclude each other";
    else if (o->scenario && !nd_bar_view_is_identity(&o->view))
        why = "--timerange and --timeframe apply to --data, not to a --scenario's own window";
    else if (o->weights_set && o->weight_count != o->task.objective_count)
        why = "--weights: give one weight per objective";
    else if (o->ga.elite >= o->ga.population)
        why = "--elite must be smaller than --population";
    else if (o->ga.tournament > o->ga.population)
        why = "--tournament must not exceed --population";
    if (why) {
        fprintf(stderr, "noderr: evolve: %s\n", why);
        return -1;
    }
    if (!o->mode_set)
        o->ga.mode = o->task.objective_count > 1 ? ND_EVOLVE_PARETO : ND_EVOLVE_WEIGHTED;
    /* Pareto mode without --weights names the front member with the best first objective as
     * "best": a plain sum would let the objective with the widest scale (profit factor) rule. */
    if (o->ga.mode == ND_EVOLVE_PARETO && !o->weights_set)
        for (uint32_t k = 1; k < ND_EVOLVE_OBJECTIVES_MAX; k++)
            o->ga.weights[k] = 0.0;
    return 0;
}

/* 0 parsed, 1 after --help, -1 on a usage error (message out). */
static int parse_options(options_t *o, int argc, char **argv)
{
    options_default(o);
    int rc = nd_cli_parse("evolve", argc, argv, options, usage_text, apply_option, o);
    if (rc != 0)
        return rc < 0 ? 1 : -1;
    return finish_options(o);
}

/* ---- Progress and JSON pieces. ----------------------------------------------------------- */

static void progress(void *ctx, const nd_evolve_generation_t *g)
{
    run_state_t *rs = ctx;
    if (!rs->tty)
        return;
    double secs = (double)(nd_clock_mono_ns(nd_clock_os()) - rs->started_ns) / 1e9;
    char window[32] = "";
    if (rs->window)
        snprintf(window, sizeof window, "window %u ", rs->window);
    fprintf(stderr, "\r%sgen %u/%u best %.4f hv %.4g diversity %.3f mutation %.3f %.0f evals/s   ",
            window, g->generation, rs->o->ga.generations, g->best, g->hypervolume, g->diversity,
            g->mutation_rate, secs > 0 ? (double)g->evaluations / secs : 0.0);
    fflush(stderr);
}

static json_t *num_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *objectives_json(const nd_evolve_task_t *t, const double *objectives)
{
    json_t *obj = json_object();
    for (uint32_t k = 0; k < t->objective_count; k++)
        json_object_set_new(obj, nd_evolve_objective_name(t->objectives[k]),
                            num_or_null(objectives[k]));
    return obj;
}

static json_t *stats_json(const nd_evolve_stats_t *s)
{
    json_t *obj = json_object();
    json_object_set_new(obj, "sharpe", num_or_null(s->sharpe));
    json_object_set_new(obj, "sortino", num_or_null(s->sortino));
    json_object_set_new(obj, "calmar", num_or_null(s->calmar));
    json_object_set_new(obj, "max_drawdown", num_or_null(s->max_drawdown));
    json_object_set_new(obj, "win_rate", num_or_null(s->win_rate));
    json_object_set_new(obj, "profit_factor", num_or_null(s->profit_factor));
    json_object_set_new(obj, "total_return", num_or_null(s->total_return));
    json_object_set_new(obj, "trades", json_integer(s->trades));
    json_object_set_new(obj, "bars", json_integer(s->bars));
    /* A run cut short by a halt says so: its metrics describe an idle tail. */
    json_object_set_new(obj, "halted", json_boolean(s->halted));
    if (s->halted) {
        char at[40];
        nd_time_format_iso(s->halted_at_ns, at, sizeof at);
        json_object_set_new(obj, "halted_at", json_string(at));
    }
    json_object_set_new(obj, "halted_bars", json_integer(s->halted_bars));
    return obj;
}

static json_t *front_json(const nd_evolve_task_t *t, const nd_evolve_result_t *r)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < r->front_count; i++) {
        const nd_evolve_individual_t *ind = &r->front[i];
        json_t *e = json_object();
        json_object_set_new(e, "params", nd_backtest_params_json(t->def, ind->genes));
        json_object_set_new(e, "objectives", objectives_json(t, ind->objectives));
        json_object_set_new(e, "score", num_or_null(ind->score));
        json_object_set_new(e, "feasible", json_boolean(ind->violation == 0.0));
        json_array_append_new(arr, e);
    }
    return arr;
}

/* Re-runs params over the task's bars for the unclamped metrics. */
static int rerun(const nd_evolve_task_t *t, const double *genes, const nd_bar_t *bars,
                 size_t count, size_t measure_from, nd_evolve_stats_t *s)
{
    double params[ND_STRATEGY_PARAMS_MAX] = {0};
    memcpy(params, genes, (size_t)t->def->param_count * sizeof *params);
    char err[256];
    nd_err_t rc = nd_evolve_backtest(&t->engine, t->inst, t->def, params, bars, count,
                                     measure_from, s, err, sizeof err);
    if (nd_cli_strategy_file_failed("evolve"))
        return -1;
    if (rc != ND_OK) {
        fprintf(stderr, "noderr: evolve: re-running the best parameters: %s\n", err);
        return -1;
    }
    return 0;
}

static json_t *run_json(const options_t *o, const nd_evolve_result_t *r,
                        const nd_evolve_stats_t *best)
{
    json_t *root = json_object();
    json_object_set_new(root, "strategy", json_string(o->task.def->name));
    json_object_set_new(root, "data", json_string(o->data_path ? o->data_path : o->scenario));
    json_object_set_new(root, "bars", json_integer((json_int_t)o->task.bar_count));
    json_object_set_new(root, "mode", json_string(o->ga.mode == ND_EVOLVE_PARETO ? "pareto"
                                                                                 : "weighted"));
    json_t *objs = json_array(), *weights = json_array();
    for (uint32_t k = 0; k < o->task.objective_count; k++) {
        json_array_append_new(objs, json_string(nd_evolve_objective_name(o->task.objectives[k])));
        json_array_append_new(weights, json_real(o->ga.weights[k]));
    }
    json_object_set_new(root, "objectives", objs);
    json_object_set_new(root, "weights", weights);
    json_object_set_new(root, "population", json_integer(o->ga.population));
    json_object_set_new(root, "generations", json_integer(o->ga.generations));
    json_object_set_new(root, "seed", json_integer((json_int_t)o->ga.seed));
    json_object_set_new(root, "min_trades", json_integer(o->task.min_trades));
    json_object_set_new(root, "best_params", nd_backtest_params_json(o->task.def, r->best.genes));
    json_object_set_new(root, "best_fitness", num_or_null(r->best.score));
    json_object_set_new(root, "best_objectives", objectives_json(&o->task, r->best.objectives));
    json_object_set_new(root, "best_feasible", json_boolean(r->best.violation == 0.0));
    json_object_set_new(root, "best_metrics", stats_json(best));
    json_object_set_new(root, "generations_run", json_integer(r->generations_run));
    json_object_set_new(root, "stop_reason", json_string(nd_evolve_stop_name(r->stop_reason)));
    json_object_set_new(root, "stopped_at_generation", json_integer(r->stopped_at_generation));
    json_object_set_new(root, "evaluations", json_integer(r->evaluations));
    json_object_set_new(root, "lookups", json_integer(r->lookups));
    json_object_set_new(root, "cache_hit_rate",
                        json_real(r->lookups ? 1.0 - (double)r->evaluations / (double)r->lookups
                                             : 0.0));
    json_object_set_new(root, "final_hypervolume",
                        num_or_null(r->history_count ? r->history[r->history_count - 1].hypervolume
                                                     : NAN));
    json_object_set_new(root, "pareto_front", front_json(&o->task, r));
    return root;
}

/* ---- Files. ------------------------------------------------------------------------------ */

/* {"strategy": NAME, "params": {...}}: what `noderr backtest --params FILE` reads. */
/* The fewest significant digits (1-17) at which every real parameter reads back to the same
 * double: 3.6 is written "3.6", not "3.6000000000000001", and `backtest --params` still gets
 * exactly the value evolve measured. */
static int params_precision(const nd_strategy_def_t *def, const double *genes)
{
    for (int digits = 1; digits < 17; digits++) {
        bool exact = true;
        for (int g = 0; g < def->param_count && exact; g++) {
            char text[40];
            if (def->params[g].type != ND_PARAM_REAL)
                continue;
            snprintf(text, sizeof text, "%.*g", digits, genes[g]);
            exact = strtod(text, NULL) == genes[g];
        }
        if (exact)
            return digits;
    }
    return 17;
}

/* extra (may be NULL): keys added after "params", e.g. how a walk-forward run chose the set
 * and a warning when it was flagged. */
static int write_params_of(const options_t *o, const double *genes, const json_t *extra)
{
    json_t *root = json_object();
    json_object_set_new(root, "strategy", json_string(o->task.def->name));
    json_object_set_new(root, "params", nd_backtest_params_json(o->task.def, genes));
    if (extra)
        json_object_update(root, (json_t *)extra);
    FILE *f = nd_cli_out_open("--out", o->out_path);
    /* At least 6 digits for the selection's scores: %g drops trailing zeros, so a parameter
     * that needs fewer (3.6) is still written short. */
    int digits = params_precision(o->task.def, genes);
    digits = digits < 6 ? 6 : digits;
    int rc = f ? json_dumpf(root, f, JSON_PRESERVE_ORDER | JSON_INDENT(2) |
                                         JSON_REAL_PRECISION(digits))
               : -1;
    json_decref(root);
    if (f && (nd_cli_out_close("--out", o->out_path, f) != 0 || rc != 0))
        return -1;
    return f ? 0 : -1;
}

static int write_params(const options_t *o, const nd_evolve_result_t *r)
{
    return write_params_of(o, r->best.genes, NULL);
}

static void csv_value(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, ",%.10g", v);
    else
        fputs(",", f);
}

static int write_pareto(const options_t *o, const nd_evolve_result_t *r)
{
    FILE *f = nd_cli_out_open("--pareto-csv", o->pareto_path);
    if (!f)
        return -1;
    const nd_strategy_def_t *def = o->task.def;
    fputs("index", f);
    for (int g = 0; g < def->param_count; g++)
        fprintf(f, ",%s", def->params[g].name);
    for (uint32_t k = 0; k < o->task.objective_count; k++)
        fprintf(f, ",%s", nd_evolve_objective_name(o->task.objectives[k]));
    fputs(",score,feasible\n", f);
    for (size_t i = 0; i < r->front_count; i++) {
        const nd_evolve_individual_t *ind = &r->front[i];
        fprintf(f, "%zu", i);
        for (int g = 0; g < def->param_count; g++) {
            if (def->params[g].type == ND_PARAM_CHOICE)
                fprintf(f, ",%s", def->params[g].choices[(int)ind->genes[g]]);
            else
                csv_value(f, ind->genes[g]);
        }
        for (uint32_t k = 0; k < o->task.objective_count; k++)
            csv_value(f, ind->objectives[k]);
        csv_value(f, ind->score);
        fprintf(f, ",%d\n", ind->violation == 0.0);
    }
    return nd_cli_out_close("--pareto-csv", o->pareto_path, f);
}

static int write_history(const options_t *o, const nd_evolve_result_t *r)
{
    FILE *f = nd_cli_out_open("--history-csv", o->history_path);
    if (!f)
        return -1;
    fputs("generation,best,mean,diversity,mutation_rate,hypervolume,evaluations,lookups\n", f);
    for (size_t i = 0; i < r->history_count; i++) {
        const nd_evolve_generation_t *h = &r->history[i];
        fprintf(f, "%u", h->generation);
        csv_value(f, h->best);
        csv_value(f, h->mean);
        csv_value(f, h->diversity);
        csv_value(f, h->mutation_rate);
        csv_value(f, h->hypervolume);
        fprintf(f, ",%lld,%lld\n", (long long)h->evaluations, (long long)h->lookups);
    }
    return nd_cli_out_close("--history-csv", o->history_path, f);
}

/* --report: the page of src/report (docs/reports.md); the command only hands it the run. */
static int write_report(const options_t *o, const nd_evolve_result_t *r, const double *selected,
                        const json_t *walk_forward, const json_t *selection)
{
    char err[512] = "";
    nd_report_evolve_t in = {&o->task, &o->ga, r, o->data, o->data_path ? o->data_path
                                                                        : o->scenario,
                             selected, walk_forward, selection};
    json_t *doc = nd_report_doc_from_evolve(&in, err, sizeof err);
    nd_err_t rc = doc ? nd_report_html_write(doc, o->report_path, err, sizeof err) : ND_EINVAL;
    json_decref(doc);
    if (rc != ND_OK) {
        fprintf(stderr, "noderr evolve: --report %s: %s\n", o->report_path,
                err[0] ? err : nd_strerror(rc));
        return -1;
    }
    return 0;
}

/* ---- One run over all the data. ---------------------------------------------------------- */

static void print_params(const nd_strategy_def_t *def, const double *genes)
{
    for (int g = 0; g < def->param_count; g++) {
        const nd_param_def_t *d = &def->params[g];
        if (d->type == ND_PARAM_CHOICE)
            printf("%s%s=%s", g ? " " : "", d->name, d->choices[(int)genes[g]]);
        else
            printf("%s%s=%.10g", g ? " " : "", d->name, genes[g]);
    }
}

static void print_summary(const options_t *o, const nd_evolve_result_t *r,
                          const nd_evolve_stats_t *s, double secs)
{
    printf("evolve %s over %s (%zu bars), %s mode, population %u, seed %llu\n",
           o->task.def->name, o->data_path ? o->data_path : o->scenario, o->task.bar_count,
           o->ga.mode == ND_EVOLVE_PARETO ? "pareto" : "weighted", o->ga.population,
           (unsigned long long)o->ga.seed);
    printf("stopped at generation %u: %s\n", r->stopped_at_generation,
           nd_evolve_stop_name(r->stop_reason));
    printf("best params: ");
    print_params(o->task.def, r->best.genes);
    printf("\nbest fitness %.6g%s; sharpe %.4f, max drawdown %.4f, win rate %.4f, profit factor "
           "%.4f, %lld trades\n", r->best.score, r->best.violation > 0 ? " (infeasible)" : "",
           s->sharpe, s->max_drawdown, s->win_rate, s->profit_factor, (long long)s->trades);
    if (s->halted) {
        char at[40];
        nd_time_format_iso(s->halted_at_ns, at, sizeof at);
        printf("warning: the best set was halted by a breaker from %s and sat idle for %lld of "
               "%lld bars: its metrics describe a run cut short\n", at, (long long)s->halted_bars,
               (long long)s->bars);
    }
    printf("pareto front: %zu parameter sets; hypervolume %.6g\n", r->front_count,
           r->history_count ? r->history[r->history_count - 1].hypervolume : NAN);
    printf("evaluations %lld of %lld lookups (cache hit rate %.1f%%), %.2f s, %.0f evaluations/s\n",
           (long long)r->evaluations, (long long)r->lookups,
           r->lookups ? 100.0 * (1.0 - (double)r->evaluations / (double)r->lookups) : 0.0, secs,
           secs > 0 ? (double)r->evaluations / secs : 0.0);
}

static json_t *timing_json(const nd_evolve_result_t *r, double secs, uint32_t threads)
{
    json_t *t = json_object();
    json_object_set_new(t, "threads", json_integer(threads));
    json_object_set_new(t, "seconds", json_real(secs));
    json_object_set_new(t, "evaluations_per_second",
                        json_real(secs > 0 ? (double)r->evaluations / secs : 0.0));
    return t;
}

static int write_outputs(const options_t *o, const nd_evolve_result_t *r)
{
    if (o->out_path && write_params(o, r))
        return -1;
    if (o->pareto_path && write_pareto(o, r))
        return -1;
    if (o->history_path && write_history(o, r))
        return -1;
    if (o->report_path && write_report(o, r, r->best.genes, NULL, NULL))
        return -1;
    return 0;
}

static int evolve_once(const options_t *o, run_state_t *rs, const nd_evolve_task_t *task,
                       uint64_t seed, nd_evolve_result_t *r)
{
    nd_evolve_task_t t = *task;
    nd_evolve_config_t cfg = o->ga;
    cfg.seed = seed;
    nd_evolve_problem_t p;
    nd_evolve_task_problem(&t, &cfg, &p);
    p.progress_cb = progress;
    p.progress_ctx = rs;
    char err[256] = "";
    nd_err_t rc = nd_evolve_run(&cfg, &p, r, err, sizeof err);
    if (rs->tty)
        fputs("\n", stderr);
    if (nd_cli_strategy_file_failed("evolve"))
        return -1; /* r is freed by the caller, as after any failure */
    if (rc != ND_OK) {
        fprintf(stderr, "noderr: evolve: %s\n", err);
        return -1;
    }
    return 0;
}

static int run_single(options_t *o, const nd_evolve_bars_t *data, run_state_t *rs)
{
    nd_evolve_result_t r;
    int rc = evolve_once(o, rs, &o->task, o->ga.seed, &r);
    double secs = (double)(nd_clock_mono_ns(nd_clock_os()) - rs->started_ns) / 1e9;
    nd_evolve_stats_t best;
    if (rc == 0)
        rc = rerun(&o->task, r.best.genes, data->bars, data->count, 0, &best);
    if (rc == 0)
        rc = write_outputs(o, &r);
    if (rc == 0 && o->json) {
        json_t *root = run_json(o, &r, &best);
        json_object_set_new(root, "timing", timing_json(&r, secs, o->ga.threads));
        rc = nd_cli_print_json(root);
        json_decref(root);
    } else if (rc == 0) {
        print_summary(o, &r, &best, secs);
    }
    nd_evolve_result_free(&r);
    return rc;
}

/* ---- Walk-forward. ----------------------------------------------------------------------- */

#define WF_WINNERS_MAX 5

/* Re-runs up to WF_WINNERS_MAX feasible front members in and out of sample. */
static int wf_winners(const options_t *o, const nd_evolve_bars_t *d, const nd_evolve_window_t *w,
                      const nd_evolve_result_t *r, json_t *arr, int *flagged, double *top)
{
    size_t shown = 0;
    for (size_t i = 0; i < r->front_count && shown < WF_WINNERS_MAX; i++) {
        const nd_evolve_individual_t *ind = &r->front[i];
        if (ind->violation > 0.0 && i > 0)
            continue;
        nd_evolve_stats_t is, oos;
        const nd_bar_t *b = d->bars + w->train_begin;
        if (rerun(&o->task, ind->genes, b, w->train_end - w->train_begin, 0, &is) ||
            rerun(&o->task, ind->genes, b, w->test_end - w->train_begin,
                  w->train_end - w->train_begin, &oos))
            return -1;
        bool flag = !(is.sharpe > 0.0 && oos.sharpe >= o->oos_min_share * is.sharpe);
        json_t *e = json_object();
        json_object_set_new(e, "params", nd_backtest_params_json(o->task.def, ind->genes));
        json_object_set_new(e, "in_sample", stats_json(&is));
        json_object_set_new(e, "out_of_sample", stats_json(&oos));
        json_object_set_new(e, "flagged", json_boolean(flag));
        json_array_append_new(arr, e);
        if (shown++ == 0) {
            top[0] = is.sharpe;
            top[1] = oos.sharpe;
            *flagged = flag;
        }
    }
    return 0;
}

static void wf_print(const options_t *o, uint32_t k, const nd_evolve_window_t *w,
                     const nd_evolve_bars_t *d, const nd_evolve_result_t *r, const double *top,
                     int flagged)
{
    char a[32], b[32], c[32];
    nd_time_format_iso(d->bars[w->train_begin].ts_ns, a, sizeof a);
    nd_time_format_iso(d->bars[w->train_end].ts_ns, b, sizeof b);
    nd_time_format_iso(d->bars[w->test_end - 1].ts_ns, c, sizeof c);
    printf("window %u  train %.10s..%.10s  test %.10s..%.10s  ", k + 1, a, b, b, c);
    print_params(o->task.def, r->best.genes);
    printf("  IS sharpe %.3f  OOS sharpe %.3f%s\n", top[0], top[1],
           flagged ? "  FLAGGED: OOS < share of IS" : "");
}

static json_t *wf_window_json(const nd_evolve_bars_t *d, const nd_evolve_window_t *w,
                              const nd_evolve_result_t *r, json_t *winners)
{
    json_t *e = json_object();
    json_object_set_new(e, "train_start", nd_json_time(d->bars[w->train_begin].ts_ns));
    json_object_set_new(e, "test_start", nd_json_time(d->bars[w->train_end].ts_ns));
    json_object_set_new(e, "test_end", nd_json_time(d->bars[w->test_end - 1].ts_ns));
    json_object_set_new(e, "train_bars", json_integer((json_int_t)(w->train_end - w->train_begin)));
    json_object_set_new(e, "test_bars", json_integer((json_int_t)(w->test_end - w->train_end)));
    json_object_set_new(e, "generations_run", json_integer(r->generations_run));
    json_object_set_new(e, "stop_reason", json_string(nd_evolve_stop_name(r->stop_reason)));
    json_object_set_new(e, "evaluations", json_integer(r->evaluations));
    json_object_set_new(e, "winners", winners);
    return e;
}

/* One window: evolve on its training bars, re-run the winners on its test bars. */
static int wf_window(options_t *o, const nd_evolve_bars_t *d, run_state_t *rs, uint32_t k,
                     const nd_evolve_window_t *w, json_t *windows, nd_evolve_result_t *r,
                     double *sums, int *flagged)
{
    nd_evolve_task_t t = o->task;
    t.bars = d->bars + w->train_begin;
    t.bar_count = w->train_end - w->train_begin;
    t.measure_from = 0;
    rs->window = k + 1;
    /* Each window draws from its own stream, derived from the seed in window order. */
    if (evolve_once(o, rs, &t, o->ga.seed + k, r))
        return -1;
    json_t *winners = json_array();
    double top[2] = {NAN, NAN};
    if (wf_winners(o, d, w, r, winners, flagged, top)) {
        json_decref(winners);
        return -1;
    }
    json_array_append_new(windows, wf_window_json(d, w, r, winners));
    sums[0] += isfinite(top[0]) ? top[0] : 0.0;
    sums[1] += isfinite(top[1]) ? top[1] : 0.0;
    if (!o->json)
        wf_print(o, k, w, d, r, top, *flagged);
    return 0;
}

static json_t *wf_summary(const options_t *o, uint32_t windows, int flagged, const double *sums)
{
    json_t *s = json_object();
    json_object_set_new(s, "windows", json_integer(windows));
    json_object_set_new(s, "flagged", json_integer(flagged));
    json_object_set_new(s, "oos_min_share", json_real(o->oos_min_share));
    json_object_set_new(s, "mean_in_sample_sharpe", num_or_null(sums[0] / windows));
    json_object_set_new(s, "mean_out_of_sample_sharpe", num_or_null(sums[1] / windows));
    return s;
}

/* What each window left for the selection: its test slice and its winner. */
typedef struct wf_state {
    nd_evolve_window_t *windows;
    double (*genes)[ND_EVOLVE_GENES_MAX];
    size_t count, capacity;
} wf_state_t;

static int wf_keep(wf_state_t *st, const nd_evolve_window_t *w, const double *genes)
{
    if (st->count == st->capacity) {
        size_t cap = st->capacity ? 2 * st->capacity : 16;
        nd_evolve_window_t *wins = nd_realloc(st->windows, cap * sizeof *wins);
        if (wins)
            st->windows = wins;
        double(*g)[ND_EVOLVE_GENES_MAX] = wins ? nd_realloc(st->genes, cap * sizeof *g) : NULL;
        if (!g) {
            fprintf(stderr, "noderr: evolve: out of memory\n");
            return -1;
        }
        st->genes = g;
        st->capacity = cap;
    }
    st->windows[st->count] = *w;
    memcpy(st->genes[st->count++], genes, sizeof st->genes[0]);
    return 0;
}

/* Scores every window's winner on every window's test slice (Sharpe, as the flag uses) and
 * flags each in its own window: OOS below oos_min_share x IS, or IS not positive. */
static int wf_score(const options_t *o, const nd_evolve_bars_t *d, const wf_state_t *st,
                    double *scores, bool *flagged)
{
    for (size_t c = 0; c < st->count; c++) {
        for (size_t w = 0; w < st->count; w++) {
            const nd_evolve_window_t *win = &st->windows[w];
            nd_evolve_stats_t oos;
            if (rerun(&o->task, st->genes[c], d->bars + win->train_begin,
                      win->test_end - win->train_begin, win->train_end - win->train_begin, &oos))
                return -1;
            scores[c * st->count + w] = oos.sharpe;
        }
        const nd_evolve_window_t *own = &st->windows[c];
        nd_evolve_stats_t is;
        if (rerun(&o->task, st->genes[c], d->bars + own->train_begin,
                  own->train_end - own->train_begin, 0, &is))
            return -1;
        double oos = scores[c * st->count + c];
        flagged[c] = !(is.sharpe > 0.0 && oos >= o->oos_min_share * is.sharpe);
    }
    return 0;
}

/* The rule of docs/evolve.md ("What --out writes") over the windows' winners; the selection's
 * JSON (and the warning when the set is flagged) into *out. */
static int wf_select(const options_t *o, const nd_evolve_bars_t *d, const wf_state_t *st,
                     long *chosen, json_t **out)
{
    size_t k = st->count;
    double *scores = nd_alloc((k * k + 2 * k) * sizeof *scores);
    bool *flagged = nd_alloc(k * sizeof *flagged);
    int rc = scores && flagged ? wf_score(o, d, st, scores, flagged) : -1;
    bool chose_flagged = false;
    if (rc == 0) {
        double *medians = scores + k * k;
        *chosen = nd_evolve_select_oos(scores, k, k, flagged, medians, medians + k,
                                       &chose_flagged);
        json_t *sel = json_object();
        json_object_set_new(sel, "rule", json_string(
            "the window winner with the best median out-of-sample Sharpe across all test "
            "windows, among winners not flagged in their own window"));
        json_object_set_new(sel, "window", json_integer(*chosen + 1));
        json_object_set_new(sel, "median_oos_sharpe", num_or_null(medians[*chosen]));
        json_object_set_new(sel, "windows", json_integer((json_int_t)k));
        json_object_set_new(sel, "flagged", json_boolean(chose_flagged));
        json_t *medians_json = json_array();
        for (size_t c = 0; c < k; c++)
            json_array_append_new(medians_json, json_pack("{s:o,s:b}", "median_oos_sharpe",
                                                          num_or_null(medians[c]), "flagged",
                                                          flagged[c]));
        json_object_set_new(sel, "candidates", medians_json);
        *out = json_pack("{s:o}", "selection", sel);
        if (chose_flagged) {
            json_object_set_new(*out, "warning", json_string(
                "every walk-forward winner was flagged (out-of-sample Sharpe below the "
                "in-sample share): these parameters did not hold up out of sample"));
            fprintf(stderr, "noderr: evolve: warning: every walk-forward winner was flagged; "
                            "--out gets window %ld's winner (best median OOS Sharpe %.3f) "
                            "with a warning in the file\n", *chosen + 1, medians[*chosen]);
        }
    }
    nd_free(scores);
    nd_free(flagged);
    if (rc != 0 && !scores)
        fprintf(stderr, "noderr: evolve: out of memory\n");
    return rc;
}

static int wf_finish(options_t *o, const nd_evolve_bars_t *d, const wf_state_t *st,
                     nd_evolve_result_t *r, json_t *windows, uint32_t k, int flagged_total,
                     const double *sums)
{
    long chosen = -1;
    json_t *sel = NULL;
    int rc = wf_select(o, d, st, &chosen, &sel);
    const double *genes = rc == 0 ? st->genes[chosen] : r->best.genes;
    if (rc == 0 && o->out_path)
        rc = write_params_of(o, genes, sel);
    if (rc == 0 && o->report_path)
        rc = write_report(o, r, genes, windows, sel);
    if (rc == 0 && o->json) {
        nd_evolve_stats_t best = {0}, chosen_stats = {0};
        rc = rerun(&o->task, r->best.genes, d->bars, d->count, 0, &best);
        if (rc == 0)
            rc = rerun(&o->task, genes, d->bars, d->count, 0, &chosen_stats);
        json_t *root = run_json(o, r, &best);
        json_object_set_new(root, "selected_metrics", stats_json(&chosen_stats));
        json_object_set_new(root, "walk_forward", json_incref(windows));
        json_object_set_new(root, "walk_forward_summary", wf_summary(o, k, flagged_total, sums));
        json_object_set(root, "selection", json_object_get(sel, "selection"));
        json_object_set_new(root, "selected_params", nd_backtest_params_json(o->task.def, genes));
        if (rc == 0)
            rc = nd_cli_print_json(root);
        json_decref(root);
    } else if (rc == 0) {
        printf("%u windows, %d flagged (OOS sharpe < %.2f x IS sharpe); mean IS sharpe %.3f, "
               "mean OOS sharpe %.3f\n", k, flagged_total, o->oos_min_share, sums[0] / k,
               sums[1] / k);
        printf("selected: window %ld's winner, median OOS sharpe %.3f across %u windows%s: ",
               chosen + 1, json_real_value(json_object_get(json_object_get(sel, "selection"),
                                                            "median_oos_sharpe")),
               k, json_is_true(json_object_get(json_object_get(sel, "selection"), "flagged"))
                      ? " (FLAGGED)" : "");
        print_params(o->task.def, genes);
        printf("\n");
    }
    json_decref(sel);
    return rc;
}

static int run_walk_forward(options_t *o, const nd_evolve_bars_t *d, run_state_t *rs)
{
    json_t *windows = json_array();
    nd_evolve_result_t r = {0};
    nd_evolve_window_t w;
    wf_state_t st = {0};
    uint32_t k = 0;
    int flagged_total = 0, rc = 0;
    double sums[2] = {0, 0};
    for (size_t begin = 0; rc == 0 && nd_evolve_window_at(d, begin, o->wf_train, o->wf_test, &w);
         begin = nd_evolve_window_next(d, begin, o->wf_test)) {
        nd_evolve_result_free(&r);
        int flagged = 0;
        rc = wf_window(o, d, rs, k++, &w, windows, &r, sums, &flagged);
        if (rc == 0)
            rc = wf_keep(&st, &w, r.best.genes);
        flagged_total += flagged;
    }
    if (rc == 0 && k == 0) {
        fprintf(stderr, "noderr: --walk-forward: the data (%zu bars) is shorter than one "
                        "training plus test window\n", d->count);
        rc = -1;
    }
    if (rc == 0 && o->pareto_path)
        rc = write_pareto(o, &r);
    if (rc == 0 && o->history_path)
        rc = write_history(o, &r);
    if (rc == 0)
        rc = wf_finish(o, d, &st, &r, windows, k, flagged_total, sums);
    json_decref(windows);
    nd_free(st.windows);
    nd_free(st.genes);
    nd_evolve_result_free(&r);
    return rc;
}

/* ---- Entry. ------------------------------------------------------------------------------ */

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A scenario of the catalogue, materialised into memory; its venue overrides apply. */
static int load_scenario(options_t *o, nd_evolve_bars_t *data)
{
    char err[512];
    nd_scenario_t *list = NULL;
    size_t count = 0;
    if (nd_scenario_catalogue(NULL, &list, &count, err, sizeof err) != ND_OK) {
        fprintf(stderr, "noderr: --scenario: %s\n", err);
        return -1;
    }
    const nd_scenario_t *sc = NULL;
    for (size_t i = 0; i < count && !sc; i++)
        sc = strcmp(list[i].name, o->scenario) == 0 ? &list[i] : NULL;
    if (!o->data_dir)
        o->data_dir = is_dir("data") || !is_dir("../shared/data") ? "data" : "../shared/data";
    memset(data, 0, sizeof *data);
    nd_err_t rc = sc ? nd_instrument_init(&data->inst, "BTC/USDT", "sim") : ND_ENOTFOUND;
    if (rc == ND_OK)
        rc = nd_scenario_load(sc, o->data_dir, &data->inst, NULL, &data->bars, &data->count, err,
                              sizeof err);
    if (rc == ND_OK && sc->venue.set) {
        o->task.engine.venue.slippage_bps_e2 = sc->venue.slippage_bps_e2;
        o->task.engine.venue.impact_bps_e2 = sc->venue.impact_bps_e2;
        o->task.engine.venue.max_volume_share_e4 = sc->venue.max_volume_share_e4;
    }
    if (!sc)
        fprintf(stderr, "noderr: --scenario: unknown scenario '%s' (see 'noderr scenarios')\n",
                o->scenario);
    else if (rc != ND_OK)
        fprintf(stderr, "noderr: --scenario %s: %s\n", o->scenario, err);
    nd_free(list);
    return rc == ND_OK && data->count >= 2 ? 0 : -1;
}

static int load_data(options_t *o, nd_evolve_bars_t *data)
{
    char err[512];
    if (o->scenario)
        return load_scenario(o, data);
    if (nd_evolve_bars_load(o->data_path, &o->view, data, err, sizeof err) != ND_OK) {
        /* A view's errors name their option (--timerange, --timeframe). */
        fprintf(stderr, "noderr: %s%s\n", err[0] == '-' ? "" : "--data ", err);
        return -1;
    }
    return 0;
}

int nd_cmd_evolve(int argc, char **argv)
{
    options_t o;
    int prc = parse_options(&o, argc, argv);
    if (prc != 0)
        return prc > 0 ? ND_EXIT_OK : ND_EXIT_USAGE;
    nd_evolve_bars_t data;
    if (load_data(&o, &data))
        return ND_EXIT_USAGE;
    o.task.inst = &data.inst;
    o.data = &data;
    o.task.bars = data.bars;
    o.task.bar_count = data.count;
    run_state_t rs = {&o, nd_clock_mono_ns(nd_clock_os()), isatty(STDERR_FILENO) == 1, 0};
    int rc = o.wf ? run_walk_forward(&o, &data, &rs) : run_single(&o, &data, &rs);
    nd_evolve_bars_free(&data);
    return rc == 0 ? ND_EXIT_OK : ND_EXIT_USAGE;
}
