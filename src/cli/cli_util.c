/* cli_util.c: option parsing shared by the subcommands; errors name the option and why. */
#include "cli.h"
#include "noderr/assert.h"
#include "noderr/log.h"
#include "noderr/backtest.h"
#include "noderr/file.h"
#include "noderr/fixed.h"
#include "noderr/scenario.h"
#include "noderr/strategy_plugin.h"
#include "noderr/strategy_lua.h"
#include "noderr/text.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int nd_cli_fixed(const char *option, const char *text, int decimals, int64_t min, int64_t max,
                 int64_t *out)
{
    int64_t v = 0;
    nd_err_t rc = nd_fixed_parse(text, strlen(text), decimals, &v);
    if (rc == ND_EPRECISION) {
        fprintf(stderr, "noderr: %s: '%s' has more than %d decimal places\n", option, text,
                decimals);
        return -1;
    }
    if (rc != ND_OK) {
        fprintf(stderr, "noderr: %s: '%s' is not a plain decimal number\n", option, text);
        return -1;
    }
    if (v < min || v > max) {
        char lo[32], hi[32];
        nd_fixed_format(min, decimals, lo, sizeof lo);
        nd_fixed_format(max, decimals, hi, sizeof hi);
        fprintf(stderr, "noderr: %s: %s is outside [%s, %s]\n", option, text, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int nd_cli_int(const char *option, const char *text, int64_t min, int64_t max, int64_t *out)
{
    return nd_cli_fixed(option, text, 0, min, max, out);
}

int nd_cli_real(const char *option, const char *text, double min, double max, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || errno != 0 || !isfinite(v)) {
        fprintf(stderr, "noderr: %s: '%s' is not a finite number\n", option, text);
        return -1;
    }
    if (v < min || v > max) {
        fprintf(stderr, "noderr: %s: %s is outside [%g, %g]\n", option, text, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

int nd_cli_print_json(json_t *value)
{
    /* 15 significant digits: stable text, and beyond what any statistic here means. */
    char *text = json_dumps(value, JSON_PRESERVE_ORDER | JSON_INDENT(2) | JSON_REAL_PRECISION(15));
    if (!text) {
        fprintf(stderr, "noderr: could not encode the JSON output\n");
        return -1;
    }
    fputs(text, stdout);
    fputc('\n', stdout);
    free(text); /* tidy:allow: json_dumps allocates with the C library */
    return 0;
}

int nd_cli_print_json_take(json_t *value)
{
    int rc = nd_cli_print_json(value);
    json_decref(value);
    return rc;
}

int nd_cli_config_args(const char *command, int argc, char **argv, const char *usage,
                       nd_cli_config_opts_t *out)
{
    static const nd_cli_opt_t options[] = {
        ND_CLI_TEXT("config", nd_cli_config_opts_t, config),
        ND_CLI_SET("json", nd_cli_config_opts_t, json),
        ND_CLI_OPTS_END,
    };
    memset(out, 0, sizeof *out);
    int rc = nd_cli_parse(command, argc, argv, options, usage, NULL, out);
    if (rc == 0 && !out->config) {
        fprintf(stderr, "noderr %s: give --config FILE (see --help)\n", command);
        rc = ND_EXIT_USAGE;
    }
    return rc;
}

int nd_cli_subcommand(const char *command, int argc, char **argv, const char *sub,
                      const char *usage)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? ND_EXIT_USAGE : -1;
    }
    if (strcmp(argv[1], sub) != 0) {
        fprintf(stderr, "noderr %s: unknown subcommand '%s' (expected %s)\n%s", command, argv[1],
                sub, usage);
        return ND_EXIT_USAGE;
    }
    return 0;
}

/* Stores the option's value where its entry says, or hands it to the command's handler. */
static int take_option(const nd_cli_opt_t *o, const char *arg,
                       int (*handle)(void *ctx, int id, const char *arg), void *ctx)
{
    char *field = (char *)ctx + o->offset;
    switch (o->kind) {
    case ND_CLI_KIND_TEXT: memcpy(field, &arg, sizeof arg); return 0;
    case ND_CLI_KIND_SET: *(bool *)field = true; return 0;
    case ND_CLI_KIND_FIXED: {
        char option[64];
        snprintf(option, sizeof option, "--%s", o->name);
        int64_t v = 0;
        if (nd_cli_fixed(option, arg, o->decimals, o->min, o->max, &v) != 0)
            return -1;
        memcpy(field, &v, sizeof v);
        return 0;
    }
    case ND_CLI_KIND_ARG:
    case ND_CLI_KIND_FLAG: return handle(ctx, o->id, arg);
    }
    return -1;
}

/* getopt_long's value for entry k of a table: above every short option's character. */
enum { OPT_ENTRY0 = 0x1000 };

int nd_cli_parse(const char *command, int argc, char **argv, const nd_cli_opt_t *opts,
                 const char *usage, int (*handle)(void *ctx, int id, const char *arg),
                 void *ctx)
{
    struct option table[ND_CLI_OPTS_MAX + 2];
    int n = 0;
    for (; opts[n].name; n++) {
        ND_ASSERT(n < ND_CLI_OPTS_MAX);
        nd_cli_opt_kind_t kind = opts[n].kind;
        ND_ASSERT(handle || (kind != ND_CLI_KIND_ARG && kind != ND_CLI_KIND_FLAG));
        bool value = kind != ND_CLI_KIND_SET && kind != ND_CLI_KIND_FLAG;
        table[n] = (struct option){opts[n].name, value ? required_argument : no_argument, 0,
                                   OPT_ENTRY0 + n};
    }
    table[n] = (struct option){"help", no_argument, 0, 'h'};
    table[n + 1] = (struct option){0, 0, 0, 0};
    optind = 1;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", table, NULL)) != -1) {
        if (opt == 'h') {
            fputs(usage, stdout);
            return -1;
        }
        if (opt == '?') {
            fprintf(stderr, "noderr %s: unknown or incomplete option '%s'\n%s", command,
                    argv[optind - 1], usage);
            return ND_EXIT_USAGE;
        }
        if (take_option(&opts[opt - OPT_ENTRY0], optarg, handle, ctx) != 0)
            return ND_EXIT_USAGE;
    }
    if (optind < argc) {
        fprintf(stderr, "noderr %s: unexpected argument '%s'\n", command, argv[optind]);
        return ND_EXIT_USAGE;
    }
    return 0;
}

#define PCT_MAX (100 * 100)
#define BPS_MAX (10000 * 100)

int nd_cli_sizing(nd_engine_config_t *e, const char *arg, const char **qty_text)
{
    if (strncmp(arg, "fixed:", 6) == 0) {
        e->sizing.kind = ND_SIZING_FIXED;
        *qty_text = arg + 6;
        return 0;
    }
    if (strncmp(arg, "percent:", 8) == 0) {
        e->sizing.kind = ND_SIZING_PERCENT;
        return nd_cli_fixed("--sizing percent", arg + 8, 2, 1, PCT_MAX, &e->sizing.percent_e2);
    }
    fprintf(stderr, "noderr: --sizing: '%s' is not fixed:QTY or percent:P\n", arg);
    return -1;
}

int nd_cli_choice(const char *option, const char *arg, const char *const *names, int *out)
{
    int n = 0;
    while (names[n] && strcmp(names[n], arg) != 0)
        n++;
    if (names[n]) {
        *out = n;
        return 0;
    }
    fprintf(stderr, "noderr: %s: '%s' is not ", option, arg);
    for (int k = 0; names[k]; k++)
        fprintf(stderr, "%s%s", k == 0 ? "" : names[k + 1] ? ", " : " or ", names[k]);
    fputc('\n', stderr);
    return -1;
}

int nd_cli_engine_option(nd_engine_config_t *e, int opt, const char *arg)
{
    int64_t tmp = 0;
    switch (opt) {
    case ND_CLI_OPT_CASH:
        return nd_cli_fixed("--cash", arg, ND_CASH_DECIMALS, 1, INT64_MAX / 1000,
                            &e->initial_cash);
    case ND_CLI_OPT_FEE:
        if (nd_cli_fixed("--fee-bps", arg, 2, 0, BPS_MAX, &tmp))
            return -1;
        e->venue.maker_fee_bps_e2 = e->venue.taker_fee_bps_e2 = tmp;
        return 0;
    case ND_CLI_OPT_SLIPPAGE:
        return nd_cli_fixed("--slippage-bps", arg, 2, 0, BPS_MAX, &e->venue.slippage_bps_e2);
    case ND_CLI_OPT_MAX_POSITION:
        return nd_cli_fixed("--max-position-pct", arg, 2, 0, PCT_MAX,
                            &e->risk.max_position_pct_e2);
    case ND_CLI_OPT_MAX_DRAWDOWN:
        return nd_cli_fixed("--max-drawdown-pct", arg, 2, 0, PCT_MAX,
                            &e->risk.max_drawdown_pct_e2);
    case ND_CLI_OPT_DAILY_LOSS:
        return nd_cli_fixed("--daily-loss-pct", arg, 2, 0, PCT_MAX, &e->risk.daily_loss_pct_e2);
    case ND_CLI_OPT_ALLOW_SHORT:
        e->allow_short = true;
        return 0;
    case ND_CLI_OPT_BREAKER_RESET: {
        char why[160];
        if (nd_risk_config_set_reset(&e->risk, arg, why, sizeof why) != ND_OK) {
            fprintf(stderr, "noderr: --breaker-reset: %s\n", why);
            return -1;
        }
        return 0;
    }
    case ND_CLI_OPT_ANOMALY_THRESHOLD:
        return nd_cli_fixed("--anomaly-threshold", arg, 6, 0, 1000000,
                            &e->risk.anomaly_threshold_e6);
    }
    return 1;
}

/* Sets kv on the last strategy; messages start "noderr: OPTION SOURCE: " (--param k=v, or
 * --params FILE so that a bad value in a file names the file). */
static int param_set(nd_backtest_config_t *cfg, const char *option, const char *source,
                     const char *kv)
{
    if (cfg->strategy_count == 0) {
        fprintf(stderr, "noderr: %s %s: give --strategy before its parameters\n", option,
                source);
        return -1;
    }
    nd_strategy_spec_t *spec = &cfg->strategies[cfg->strategy_count - 1];
    char err[256];
    if (nd_strategy_param_set(spec->def, spec->params, kv, err, sizeof err) != ND_OK) {
        fprintf(stderr, "noderr: %s %s: %s\n", option, source, err);
        return -1;
    }
    return 0;
}

int nd_cli_param_set(nd_backtest_config_t *cfg, const char *kv)
{
    return param_set(cfg, "--param", kv, kv);
}

static int param_from_json(nd_backtest_config_t *cfg, const char *path, const char *key,
                           json_t *value)
{
    char kv[160];
    if (json_is_integer(value))
        snprintf(kv, sizeof kv, "%s=%lld", key, (long long)json_integer_value(value));
    else if (json_is_real(value))
        snprintf(kv, sizeof kv, "%s=%.17g", key, json_real_value(value));
    else if (json_is_string(value))
        snprintf(kv, sizeof kv, "%s=%s", key, json_string_value(value));
    else {
        fprintf(stderr, "noderr: --params %s: value of '%s' must be a number or a name\n", path,
                key);
        return -1;
    }
    return param_set(cfg, "--params", path, kv);
}

int nd_cli_params_load(nd_backtest_config_t *cfg, const char *path,
                       int (*add_strategy)(void *ctx, const char *name), void *ctx)
{
    char err[512];
    json_t *root = NULL;
    if (nd_json_file_load(path, ND_JSON_FILE_BYTES_MAX, 0, &root, err, sizeof err) != ND_OK) {
        fprintf(stderr, "noderr: --params %s\n", err);
        return -1;
    }
    if (!json_is_object(root)) {
        fprintf(stderr, "noderr: --params %s: expected a JSON object\n", path);
        json_decref(root);
        return -1;
    }
    int rc = 0;
    json_t *name = json_object_get(root, "strategy"), *params = json_object_get(root, "params");
    if (json_is_string(name) && cfg->strategy_count == 0) {
        rc = add_strategy(ctx, json_string_value(name));
    } else if (json_is_string(name)) {
        const char *have = cfg->strategies[cfg->strategy_count - 1].def->name;
        if (strcmp(have, json_string_value(name)) != 0) {
            fprintf(stderr, "noderr: --params %s: written for strategy '%s', not '%s'\n", path,
                    json_string_value(name), have);
            rc = -1;
        }
    }
    /* In a bare object, "strategy" and nested objects are not parameters. */
    json_t *obj = json_is_object(params) ? params : root;
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value) {
        if (rc == 0 && !(obj == root && (strcmp(key, "strategy") == 0 || json_is_object(value))))
            rc = param_from_json(cfg, path, key, value);
    }
    json_decref(root);
    return rc;
}

/* ---- Durations. -------------------------------------------------------------------------- */

int nd_cli_span(const char *option, const char *text, unsigned flags, nd_span_t *out)
{
    char err[160];
    if (nd_span_parse(text, strlen(text), flags, out, err, sizeof err) != ND_OK) {
        fprintf(stderr, "noderr: %s: %s\n", option, err);
        return -1;
    }
    return 0;
}

int nd_cli_timerange(const char *text, struct nd_bar_view *view)
{
    char err[160];
    if (nd_timerange_parse(text, strlen(text), &view->range, err, sizeof err) != ND_OK) {
        fprintf(stderr, "noderr: --timerange: %s\n", err);
        return -1;
    }
    return 0;
}

int nd_cli_timeframe(const char *text, struct nd_bar_view *view)
{
    nd_span_t span;
    if (nd_cli_span("--timeframe", text, 0, &span))
        return -1;
    view->timeframe_ns = span.value;
    return 0;
}

int nd_cli_view_option(struct nd_bar_view *view, int opt, const char *arg)
{
    switch (opt) {
    case ND_CLI_OPT_TIMERANGE: return nd_cli_timerange(arg, view);
    case ND_CLI_OPT_TIMEFRAME: return nd_cli_timeframe(arg, view);
    default: return 1;
    }
}

int nd_cli_walk_forward(const char *option, const char *text, unsigned flags, nd_span_t *train,
                        nd_span_t *test)
{
    const char *colon = strchr(text, ':');
    char err[160] = "", shown[64];
    nd_span_t a, b;
    nd_err_t rc = ND_EPARSE;
    const char *which = "training span";
    if (colon) {
        rc = nd_span_parse(text, (size_t)(colon - text), flags, &a, err, sizeof err);
        if (rc == ND_OK) {
            which = "test span";
            rc = nd_span_parse(colon + 1, strlen(colon + 1), flags, &b, err, sizeof err);
        }
    }
    if (rc == ND_OK) {
        *train = a;
        *test = b;
        return 0;
    }
    nd_text_escape(text, strlen(text), shown, sizeof shown);
    if (rc == ND_EPARSE && !colon)
        fprintf(stderr, "noderr: %s: '%s' is not TRAIN:TEST such as 90d:30d\n", option, shown);
    else if (rc == ND_EPARSE) /* the shape is wrong: say the expected shape, then the part */
        fprintf(stderr, "noderr: %s: '%s' is not TRAIN:TEST such as 90d:30d: %s %s\n", option,
                shown, which, err);
    else
        fprintf(stderr, "noderr: %s: %s %s\n", option, which, err);
    return -1;
}

/* ---- Output that must not be lost. ------------------------------------------------------- */

FILE *nd_cli_out_open(const char *option, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        fprintf(stderr, "noderr: %s %s: %s\n", option, path, strerror(errno));
    return f;
}

int nd_cli_out_close(const char *option, const char *path, FILE *f)
{
    int e = nd_file_finish(f, true);
    if (e != 0) {
        fprintf(stderr, "noderr: writing to %s %s: %s\n", option, path, strerror(e));
        return -1;
    }
    return 0;
}

int nd_cli_stdout_finish(int rc)
{
    /* A failed write to stdout is an error, never success: `noderr ... > /dev/full` exits 2.
     * stdout is closed here so that even the error a close reports (NFS, a full disk) counts. */
    int e = nd_file_finish(stdout, true);
    if (e != 0) {
        fprintf(stderr, "noderr: writing to stdout: %s\n", strerror(e));
        return ND_EXIT_USAGE;
    }
    return rc;
}

int nd_cli_log_level(const char *arg)
{
    nd_log_level_t level;
    if (nd_log_level_parse(arg, &level) != ND_OK) {
        fprintf(stderr, "noderr: --log-level: '%s' is not err, warn, info or debug\n", arg);
        return -1;
    }
    nd_log_set_level(level);
    return 0;
}

/* ---- Strategies: one resolver for --strategy, --strategy-lib and --strategy-file. ------- */

static nd_strategy_lib_t strategy_libs[ND_STRATEGY_LIBS_MAX];
static int strategy_lib_count;

void nd_cli_strategy_libs_close(void)
{
    for (int i = 0; i < strategy_lib_count; i++)
        nd_strategy_lib_close(&strategy_libs[i]);
    strategy_lib_count = 0;
}

/* The loaded library at path, loading it on first use; NULL after a message. */
static const nd_strategy_lib_t *strategy_lib(const char *option, const char *path)
{
    for (int i = 0; i < strategy_lib_count; i++)
        if (strcmp(nd_strategy_lib_path(&strategy_libs[i]), path) == 0)
            return &strategy_libs[i];
    if (strategy_lib_count >= ND_STRATEGY_LIBS_MAX) {
        fprintf(stderr, "noderr: %s: at most %d libraries\n", option, ND_STRATEGY_LIBS_MAX);
        return NULL;
    }
    char err[1024];
    nd_strategy_lib_t *lib = &strategy_libs[strategy_lib_count];
    if (nd_strategy_lib_open(lib, path, err, sizeof err) != ND_OK) {
        fprintf(stderr, "noderr: %s: %s\n", option, err);
        return NULL;
    }
    strategy_lib_count++;
    return lib;
}

int nd_cli_strategy_lib_list(const char *option, const char *path,
                             const nd_strategy_def_t *const **defs, int *count)
{
    const nd_strategy_lib_t *lib = strategy_lib(option, path);
    if (lib == NULL)
        return -1;
    *defs = nd_strategy_lib_defs(lib, count);
    return 0;
}

/* NAME from a library: the one it offers when name is empty. */
static const nd_strategy_def_t *lib_strategy(const char *option, const char *path,
                                             const char *name)
{
    const nd_strategy_lib_t *lib = strategy_lib(option, path);
    if (lib == NULL)
        return NULL;
    int count = 0;
    const nd_strategy_def_t *const *defs = nd_strategy_lib_defs(lib, &count);
    const nd_strategy_def_t *def = name[0] ? nd_strategy_lib_find(lib, name)
                                   : count == 1 ? defs[0] : NULL;
    if (def == NULL) {
        char names[512];
        size_t used = 0;
        names[0] = '\0';
        for (int i = 0; i < count && used < sizeof names; i++)
            used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "",
                                     defs[i]->name);
        if (name[0])
            fprintf(stderr, "noderr: %s: %s has no strategy '%s' (it offers: %s)\n", option,
                    path, name, names);
        else
            fprintf(stderr, "noderr: %s: %s offers %d strategies (%s); name one as "
                    "PATH:NAME\n", option, path, count, names);
    }
    return def;
}

/* Splits text into its ':' fields: for a library the path ends at the first ':' after its last
 * '/'. Fields are copied into buf; *fields gets how many (1..3); -1 when too long. */
static int split_fields(const char *text, bool is_path, char *buf, size_t cap, char **field,
                        int *fields)
{
    size_t len = strlen(text);
    if (len >= cap)
        return -1;
    memcpy(buf, text, len + 1);
    const char *slash = is_path ? strrchr(buf, '/') : NULL;
    char *p = strchr(slash ? slash : buf, ':');
    field[0] = buf;
    *fields = 1;
    while (p != NULL && *fields < 3) {
        *p = '\0';
        field[(*fields)++] = p + 1;
        p = strchr(p + 1, ':');
    }
    return p == NULL ? 0 : -1;
}

/* The scripts loaded by this process (--strategy-file), freed at exit: the engines that ran
 * them are gone by then. */
static const nd_strategy_def_t *loaded_scripts[ND_STRATEGIES_MAX];
static int loaded_script_count;

static void free_loaded_scripts(void)
{
    for (int k = 0; k < loaded_script_count; k++)
        nd_lua_strategy_free(loaded_scripts[k]);
    loaded_script_count = 0;
}

/* A Lua script's strategy (strategy_lua.h); NULL after a message naming the file, line, why. */
static const nd_strategy_def_t *script_strategy(const char *option, const char *path)
{
    if (loaded_script_count >= ND_STRATEGIES_MAX) {
        fprintf(stderr, "noderr: %s: at most %d scripts\n", option, ND_STRATEGIES_MAX);
        return NULL;
    }
    const nd_strategy_def_t *def = NULL;
    char err[1024] = "";
    if (nd_lua_strategy_load(path, &def, err, sizeof err) != ND_OK) {
        fprintf(stderr, "noderr: %s: %s\n", option, err);
        return NULL;
    }
    if (loaded_script_count == 0)
        atexit(free_loaded_scripts);
    loaded_scripts[loaded_script_count++] = def;
    return def;
}

int nd_cli_strategy_file_failed(const char *command)
{
    int failed = 0;
    for (int k = 0; k < loaded_script_count; k++) {
        const char *why = nd_lua_strategy_error(loaded_scripts[k]);
        if (why != NULL) {
            fprintf(stderr, "noderr %s: strategy %s failed: %s\n", command,
                    loaded_scripts[k]->name, why);
            failed = 1;
        }
    }
    return failed;
}

int nd_cli_strategy_lookup(const char *option, const char *text, unsigned flags,
                           const nd_strategy_def_t **def, int64_t *weight_e6)
{
    bool lib = strcmp(option, "--strategy-lib") == 0;
    bool script = strcmp(option, "--strategy-file") == 0;
    char buf[4096], *field[3] = {NULL, NULL, NULL};
    int fields = 0, weight_field = lib ? 2 : 1;
    if (split_fields(text, lib || script, buf, sizeof buf, field, &fields) != 0 ||
        field[0][0] == '\0' || fields > weight_field + 1) {
        fprintf(stderr, "noderr: %s: '%s' is not %s\n", option, text,
                lib ? "PATH.so[:NAME[:WEIGHT]]" : script ? "F.lua[:WEIGHT]" : "NAME[:WEIGHT]");
        return -1;
    }
    const nd_strategy_def_t *found = NULL;
    if (lib) {
        found = lib_strategy(option, field[0], fields > 1 ? field[1] : "");
    } else if (script) {
        found = script_strategy(option, field[0]);
    } else {
        found = nd_strategy_find(field[0]);
        if (!found && (flags & ND_CLI_STRATEGY_EVENTS))
            found = nd_strategy_find_event(field[0]); /* quote_maker: event-level runs */
        if (!found)
            fprintf(stderr, "noderr: %s: unknown strategy '%s' (see 'noderr strategies')\n",
                    option, field[0]);
    }
    if (found == NULL)
        return -1;
    if (found->on_bar == NULL && !(flags & ND_CLI_STRATEGY_EVENTS)) {
        fprintf(stderr, "noderr: %s: strategy '%s' has no on_bar; this command runs on bars\n",
                option, found->name);
        return -1;
    }
    int64_t w = 0;
    if (fields > weight_field && !(flags & ND_CLI_STRATEGY_WEIGHT)) {
        fprintf(stderr, "noderr: %s: '%s': this command takes no strategy weight\n", option,
                text);
        return -1;
    }
    if (fields > weight_field &&
        nd_cli_fixed("--strategy weight", field[weight_field], 6, 1, 1000000, &w) != 0)
        return -1;
    *def = found;
    *weight_e6 = w;
    return 0;
}
