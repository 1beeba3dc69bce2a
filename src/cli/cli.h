/* cli.h: the `noderr` subcommands. Each returns the process exit code: 0 success, 1 a check
 * failed, 2 usage or input error (with a message on stderr naming where and why). Each accepts
 * --help (usage on stdout, exit 0). */
#ifndef NODERR_CLI_H
#define NODERR_CLI_H

#define ND_EXIT_OK 0
#define ND_EXIT_CHECK_FAILED 1
#define ND_EXIT_USAGE 2

int nd_cmd_backtest(int argc, char **argv);
int nd_cmd_metrics(int argc, char **argv);
int nd_cmd_strategies(int argc, char **argv);
int nd_cmd_data(int argc, char **argv);
int nd_cmd_scenarios(int argc, char **argv);
int nd_cmd_validate(int argc, char **argv);
int nd_cmd_evolve(int argc, char **argv);
int nd_cmd_audit(int argc, char **argv);
int nd_cmd_surveil(int argc, char **argv);
int nd_cmd_report(int argc, char **argv);
int nd_cmd_retention(int argc, char **argv);
int nd_cmd_book(int argc, char **argv);
int nd_cmd_decode(int argc, char **argv);
int nd_cmd_sign(int argc, char **argv);
int nd_cmd_oracle(int argc, char **argv);
int nd_cmd_sim(int argc, char **argv);
int nd_cmd_indicator(int argc, char **argv);
int nd_cmd_strategy(int argc, char **argv);
int nd_cmd_exchange_sim(int argc, char **argv);
int nd_cmd_paper(int argc, char **argv);
int nd_cmd_live(int argc, char **argv);
int nd_cmd_status(int argc, char **argv);
int nd_cmd_kill(int argc, char **argv);
int nd_cmd_shutdown(int argc, char **argv);
int nd_cmd_anomaly(int argc, char **argv);
int nd_cmd_preflight(int argc, char **argv);
int nd_cmd_launch(int argc, char **argv);
int nd_cmd_pipeline(int argc, char **argv);
int nd_cmd_promote(int argc, char **argv);
int nd_cmd_rollback(int argc, char **argv);
int nd_cmd_chaos(int argc, char **argv);

/* Shared option parsing (cli_util.c). Each returns 0 on success, -1 with a message on stderr
 * naming the option and why. */
#include "noderr/live.h"
#include "noderr/text.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Parses a decimal with at most `decimals` places into units of 10^-decimals, within
 * [min, max] (in those units). */
int nd_cli_fixed(const char *option, const char *text, int decimals, int64_t min, int64_t max,
                 int64_t *out);
/* Parses a whole number within [min, max]. */
int nd_cli_int(const char *option, const char *text, int64_t min, int64_t max, int64_t *out);
/* Parses a finite real number within [min, max]. */
int nd_cli_real(const char *option, const char *text, double min, double max, double *out);
/* A command's options are one table of nd_cli_opt_t, walked by nd_cli_parse: each entry names
 * a long option once, says whether it takes a value and where it goes. A plain value (its text)
 * or a flag (true) is stored straight into the command's options struct, at the field the entry
 * names; an option whose value must be checked or converted goes to the command's handler with
 * the entry's id. --help and -h are every command's, so no table lists them. */
typedef enum nd_cli_opt_kind {
    ND_CLI_KIND_TEXT = 1, /* takes a value: its text into a const char * field */
    ND_CLI_KIND_SET,      /* no value: true into a bool field */
    ND_CLI_KIND_FIXED,    /* takes a value: a decimal with at most `decimals` places within
                             [min, max] (nd_cli_fixed) into an int64_t field */
    ND_CLI_KIND_ARG,      /* takes a value: handle(ctx, id, value) */
    ND_CLI_KIND_FLAG,     /* no value: handle(ctx, id, NULL) */
} nd_cli_opt_kind_t;
typedef struct nd_cli_opt {
    const char *name; /* the long option without "--"; NULL ends the table */
    nd_cli_opt_kind_t kind;
    int id;           /* ARG, FLAG: what the handler is given */
    size_t offset;    /* TEXT, SET, FIXED: the field's offset in the handler's ctx */
    int decimals;     /* FIXED: places (0: a whole number, as nd_cli_int) */
    int64_t min, max; /* FIXED: the range, in units of 10^-decimals */
} nd_cli_opt_t;
/* The field's offset, checked to be of the type the kind stores (a compile error otherwise). */
#define ND_CLI_FIELD_(type, field, ftype) \
    (offsetof(type, field) + 0 * sizeof(char[_Generic(((type *)0)->field, ftype: 1)]))
#define ND_CLI_TEXT(long_name, type, field) \
    {.name = (long_name), .kind = ND_CLI_KIND_TEXT, .offset = ND_CLI_FIELD_(type, field, const char *)}
#define ND_CLI_SET(long_name, type, field) \
    {.name = (long_name), .kind = ND_CLI_KIND_SET, .offset = ND_CLI_FIELD_(type, field, bool)}
#define ND_CLI_FIXED(long_name, type, field, places, lo, hi) \
    {.name = (long_name), .kind = ND_CLI_KIND_FIXED, \
     .offset = ND_CLI_FIELD_(type, field, int64_t), .decimals = (places), .min = (lo), .max = (hi)}
#define ND_CLI_INT(long_name, type, field, lo, hi) ND_CLI_FIXED(long_name, type, field, 0, lo, hi)
#define ND_CLI_ARG(long_name, opt) {.name = (long_name), .kind = ND_CLI_KIND_ARG, .id = (opt)}
#define ND_CLI_FLAG(long_name, opt) {.name = (long_name), .kind = ND_CLI_KIND_FLAG, .id = (opt)}
#define ND_CLI_OPTS_END {.name = NULL}
/* The most entries one table may hold (an assertion). */
#define ND_CLI_OPTS_MAX 64
/* Walks argv (argv[0] is the command) with getopt_long over opts (abbreviations of a long
 * option are accepted as getopt_long does). Returns 0 when every option was taken and no stray
 * argument is left; -1 after --help or -h (usage on stdout); ND_EXIT_USAGE on an unknown or
 * incomplete option, a stray argument or a handler failure (the message, "noderr COMMAND: ...",
 * names it; a FIXED's message is nd_cli_fixed's). handle may be NULL when the table has no ARG or FLAG entry. */
int nd_cli_parse(const char *command, int argc, char **argv, const nd_cli_opt_t *opts,
                 const char *usage, int (*handle)(void *ctx, int id, const char *arg),
                 void *ctx);
/* The options of `noderr COMMAND --config FILE [--json]` (launch, preflight). */
typedef struct nd_cli_config_opts {
    const char *config;
    bool json;
} nd_cli_config_opts_t;
/* Parses them into *out: 0; -1 after --help; ND_EXIT_USAGE after the message (a bad option, or
 * no --config). */
int nd_cli_config_args(const char *command, int argc, char **argv, const char *usage,
                       nd_cli_config_opts_t *out);
/* The one subcommand of `noderr COMMAND SUB ...` (data fetch, strategy new): 0 when argv[1] is
 * sub; -1 after the usage on stdout (--help, -h or help); ND_EXIT_USAGE after the usage on
 * stderr (no subcommand, or "unknown subcommand" for another word). */
int nd_cli_subcommand(const char *command, int argc, char **argv, const char *sub,
                      const char *usage);

/* Options shared by the commands that run backtests (backtest, validate, evolve): each command's
 * option table uses these values, and nd_cli_engine_option parses them into an engine config. */
enum {
    ND_CLI_OPT_CASH = 1000,
    ND_CLI_OPT_FEE,
    ND_CLI_OPT_SLIPPAGE,
    ND_CLI_OPT_MAX_POSITION,
    ND_CLI_OPT_MAX_DRAWDOWN,
    ND_CLI_OPT_DAILY_LOSS,
    ND_CLI_OPT_ALLOW_SHORT,
    ND_CLI_OPT_BREAKER_RESET,
    ND_CLI_OPT_ANOMALY_THRESHOLD, /* 0..1, 6 places; 0 = off (docs/anomaly.md) */
};
/* The group's table entries: cash, fees, slippage, short selling, the breaker reset and the three
 * risk limits (backtest and validate; evolve lists the three it takes, backtest adds
 * --anomaly-threshold). */
#define ND_CLI_OPTIONS_ENGINE \
    ND_CLI_ARG("cash", ND_CLI_OPT_CASH), ND_CLI_ARG("fee-bps", ND_CLI_OPT_FEE), \
        ND_CLI_ARG("slippage-bps", ND_CLI_OPT_SLIPPAGE), \
        ND_CLI_FLAG("allow-short", ND_CLI_OPT_ALLOW_SHORT), \
        ND_CLI_ARG("breaker-reset", ND_CLI_OPT_BREAKER_RESET), \
        ND_CLI_ARG("max-position-pct", ND_CLI_OPT_MAX_POSITION), \
        ND_CLI_ARG("max-drawdown-pct", ND_CLI_OPT_MAX_DRAWDOWN), \
        ND_CLI_ARG("daily-loss-pct", ND_CLI_OPT_DAILY_LOSS)
struct nd_engine_config;
/* Parses one shared engine option; 0 done, -1 bad value (message on stderr), 1 not one of them. */
int nd_cli_engine_option(struct nd_engine_config *cfg, int opt, const char *arg);
/* --sizing fixed:QTY | percent:P (backtest, validate) into the engine config's sizing: the
 * percent is read here; the quantity's text is left in *qty_text, to be read at the
 * instrument's quantity scale. 0, or -1 after the message. */
int nd_cli_sizing(struct nd_engine_config *cfg, const char *arg, const char **qty_text);
/* An option's value that names one of names (NULL-terminated): its index in *out; -1 after
 * "noderr: OPTION: 'ARG' is not A, B or C". */
int nd_cli_choice(const char *option, const char *arg, const char *const *names, int *out);

/* Strategy parameters for the last strategy of a backtest config: "k=v" (--param), and a
 * --params FILE as `noderr evolve` writes it ({"strategy": "...", "params": {...}}) or a bare
 * {"k": v, ...}. A file naming a strategy when none was given adds it through add_strategy. */
struct nd_backtest_config;
int nd_cli_param_set(struct nd_backtest_config *cfg, const char *kv);
int nd_cli_params_load(struct nd_backtest_config *cfg, const char *path,
                       int (*add_strategy)(void *ctx, const char *name), void *ctx);

/* Strategy look-up, written once for every command that takes a strategy (backtest, validate,
 * evolve), whatever the option that names it:
 *   --strategy NAME[:WEIGHT]                 a built-in ('noderr strategies');
 *   --strategy-lib PATH.so[:NAME[:WEIGHT]]   a C plugin (strategy_plugin.h): the strategy NAME of
 *                                            the library, which may be left out when the library
 *                                            offers one strategy. PATH ends at the first ':' after
 *                                            its last '/', so the second field is always a name
 *                                            and the third always a weight.
 *   --strategy-file F.lua[:WEIGHT]           a Lua script (strategy_lua.h), split like a library
 *                                            path; loaded per use, freed at exit.
 * WEIGHT (a decimal, 6 places) is taken only with ND_CLI_STRATEGY_WEIGHT; without it *weight_e6
 * is 0. Event-only strategies (no on_bar, e.g. quote_maker) only with ND_CLI_STRATEGY_EVENTS.
 * A library is loaded once per path and stays loaded until nd_cli_strategy_libs_close, which
 * main() calls after the command. Returns 0 with *def set, or -1 with a message naming the
 * option and why. */
enum { ND_CLI_STRATEGY_WEIGHT = 1u << 0, ND_CLI_STRATEGY_EVENTS = 1u << 1 };
struct nd_strategy_def;
int nd_cli_strategy_lookup(const char *option, const char *text, unsigned flags,
                           const struct nd_strategy_def **def /* OUT */,
                           int64_t *weight_e6 /* OUT */);
/* The table entries of the strategy options, for every command that takes a strategy. */
#define ND_CLI_OPTION_STRATEGY_LIB(opt) ND_CLI_ARG("strategy-lib", (opt))
#define ND_CLI_OPTION_STRATEGY_FILE(opt) ND_CLI_ARG("strategy-file", (opt))
/* The strategy option group of backtest, validate and evolve: --strategy, --strategy-lib and
 * --strategy-file; and the parameter group of backtest and validate: --param K=V, --params FILE. */
#define ND_CLI_OPTIONS_STRATEGY(name, lib, file) \
    ND_CLI_ARG("strategy", (name)), ND_CLI_OPTION_STRATEGY_LIB(lib), \
        ND_CLI_OPTION_STRATEGY_FILE(file)
#define ND_CLI_OPTIONS_PARAMS(param, params) \
    ND_CLI_ARG("param", (param)), ND_CLI_ARG("params", (params))
/* Every strategy of the library at path (loaded as nd_cli_strategy_lookup does): 0 with *defs
 * and *count set, or -1 with a message naming the option and why. */
int nd_cli_strategy_lib_list(const char *option, const char *path,
                             const struct nd_strategy_def *const **defs /* OUT */,
                             int *count /* OUT */);
/* Resolves a session config's strategies (live.h) into cfg->bt.strategies with their
 * parameters (cmd_paper.c): 0, or -1 with "noderr CMD: FILE: strategies[K]...: why" on stderr. */
struct nd_live_config;
int nd_cli_live_strategies(struct nd_live_config *cfg, const char *cmd);
/* One strategy from a config's kind (1 builtin, 2 plugin, 3 lua: live.h), spec and "params"
 * object (NULL: the defaults): 0 with *def and values set, or -1 with "noderr CMD: WHERE: why"
 * on stderr. The one resolver of session configs and the launcher's rollbacks. */
struct json_t;
int nd_cli_strategy_from_json(const char *cmd, const char *where, int kind, const char *spec,
                              struct json_t *params, const struct nd_strategy_def **def,
                              double *values);
/* A session's summary after it stopped (cmd_paper.c): events, orders, fills, equity, P&L;
 * one JSON object with json. */
struct nd_live_feed_stats;
struct nd_backtest_result;
void nd_cli_session_summary(const struct nd_live_config *cfg,
                            const struct nd_live_feed_stats *feed,
                            const struct nd_backtest_result *r, bool json);
/* After a session's stop (cmd_paper.c): 0, or 1 with "noderr CMD: FILE: the stop's deadline
 * passed with ..." on stderr when a live session's stop left orders working, open at the venue
 * or positions not flat. */
struct nd_live_shutdown;
int nd_cli_stop_code(const char *cmd, const struct nd_live_config *cfg,
                     const struct nd_live_shutdown *stop);
/* What a paper/live session's or a launch's run leaves for nd_cli_session_end, taken before the
 * session is closed (the close frees what the figures are read from). */
typedef struct nd_cli_run_end {
    nd_live_feed_stats_t feed;
    nd_live_shutdown_t stop;
    nd_err_t close_rc;            /* the close's answer, close_err its message */
    char close_err[512];
} nd_cli_run_end_t;
/* The start of `noderr paper|live|launch` (cmd_paper.c): the log on stderr at the config's
 * level, stamped by the OS clock (nd_cli_session_end puts it back); result zeroed, for the
 * session to fill. */
void nd_cli_session_begin(const struct nd_live_config *cfg, struct nd_backtest_result *result);
/* The end of `noderr paper|live|launch` (cmd_paper.c), after the run (end) or after a failed
 * create (end NULL): the run's failure (rc, err), else the close's, goes to stderr as
 * "noderr CMD: FILE: why"; without one the summary is printed (nd_cli_session_summary). Puts
 * the log back, frees result. Returns the exit code: 2 after a failure, else
 * nd_cli_stop_code's. */
int nd_cli_session_end(const char *cmd, const struct nd_live_config *cfg, nd_err_t rc,
                       const char *err, const nd_cli_run_end_t *end,
                       struct nd_backtest_result *result, bool json);
/* Runs the 17 preflight checks into r and prints them (cmd_preflight.c; one JSON object with
 * json), then on stderr "noderr CMD: FILE: N check(s) failed: names". Returns the exit code:
 * 0 none failed, 1 some failed, 2 out of memory. */
struct nd_preflight_settings;
struct nd_preflight_report;
int nd_cli_preflight(const char *cmd, struct nd_live_config *cfg,
                     const struct nd_preflight_settings *set, bool json,
                     struct nd_preflight_report *r);
/* What a preflight works on (preflight, launch): the command's options, the session config, its
 * preflight settings and the report. nd_cli_preflight_begin parses the options
 * (nd_cli_config_args), allocates the rest and loads the config and its settings: 0, -1 after
 * --help, or ND_EXIT_USAGE after the message ("noderr CMD: why": a bad option, out of memory, a
 * bad config), with nothing left to free; nd_cli_preflight_free frees them with the config's
 * contents (cmd_preflight.c). */
typedef struct nd_cli_pf {
    nd_cli_config_opts_t opts;
    struct nd_live_config *cfg;
    struct nd_preflight_settings *set;
    struct nd_preflight_report *report;
} nd_cli_pf_t;
int nd_cli_preflight_begin(const char *cmd, int argc, char **argv, const char *usage,
                           nd_cli_pf_t *p);
void nd_cli_preflight_free(nd_cli_pf_t *p);
/* Unloads every library nd_cli_strategy_lookup loaded. */
void nd_cli_strategy_libs_close(void);
/* After a run: 1 when a script loaded by --strategy-file failed in a callback (each failure
 * printed as "noderr COMMAND: strategy NAME failed: file:line: why (in on_bar)"), else 0. The
 * command then exits 2: a script error is never silent. */
int nd_cli_strategy_file_failed(const char *command);

/* Durations (text.h): "180d", "12h", "2w", with ND_SPAN_BARS_OK a bare number of bars; and
 * the TRAIN:TEST pair of --walk-forward. -1 with a message naming the option and why. */
int nd_cli_span(const char *option, const char *text, unsigned flags, nd_span_t *out);
int nd_cli_walk_forward(const char *option, const char *text, unsigned flags, nd_span_t *train,
                        nd_span_t *test);

/* --timerange YYYYMMDD-YYYYMMDD (text.h nd_timerange_t) and --timeframe 4h (a span in m, h or
 * d: market.h nd_bar_view_t) into a bar view. -1 with a message naming the option and why. */
struct nd_bar_view;
int nd_cli_timerange(const char *text, struct nd_bar_view *view);
int nd_cli_timeframe(const char *text, struct nd_bar_view *view);
/* The bar view group (backtest, evolve, indicator): --timerange and --timeframe, each command's
 * option table lists ND_CLI_OPTIONS_VIEW and nd_cli_view_option parses them into its view:
 * 0 done, -1 bad value (message on stderr), 1 not one of them. */
enum { ND_CLI_OPT_TIMERANGE = 1100, ND_CLI_OPT_TIMEFRAME };
#define ND_CLI_OPTIONS_VIEW \
    ND_CLI_ARG("timerange", ND_CLI_OPT_TIMERANGE), ND_CLI_ARG("timeframe", ND_CLI_OPT_TIMEFRAME)
int nd_cli_view_option(struct nd_bar_view *view, int opt, const char *arg);
#define ND_CLI_TIMERANGE_USAGE                                                                    \
    "--timerange 20220101-20230101 keeps bars opening in [first date, second date) UTC (an\n"    \
    "end may be open); --timeframe 4h resamples finer bars (docs/data-formats.md).\n"

/* Output files (--out, --equity-out, ...): open for writing, and close checking that every
 * byte was written (ferror, fflush, fclose); failures print "noderr: writing to OPTION PATH:
 * why" and return NULL / -1, which the command turns into exit 2. */
FILE *nd_cli_out_open(const char *option, const char *path);
int nd_cli_out_close(const char *option, const char *path, FILE *f);
/* Called once by main() after the command: flushes and closes stdout; a failed write turns the
 * exit code into ND_EXIT_USAGE with "noderr: writing to stdout: why". Returns the exit code. */
int nd_cli_stdout_finish(int rc);

/* --log-level err|warn|info|debug: sets the log level, or -1 with a message. */
int nd_cli_log_level(const char *arg);

/* Writes a JSON value to stdout followed by a newline, deterministic formatting. */
struct json_t;
int nd_cli_print_json(struct json_t *value);
/* nd_cli_print_json, then releases value (a document built only to be printed): 0 or -1. */
int nd_cli_print_json_take(struct json_t *value);

#endif
