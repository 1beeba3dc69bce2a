/* cmd_paper.c: `noderr paper`, `live`, `status`, `kill` and `shutdown` (docs/live.md, docs/launcher.md).
 *
 * paper runs a paper session from a config file until SIGTERM/SIGINT or its duration, then
 * prints the run's summary; status reads a session's state directory; kill engages the kill
 * switch of the session running there; shutdown asks it for an emergency shutdown and prints
 * its report. The logic is in src/live. */
#include "cli.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/fixed.h"
#include "noderr/live.h"
#include "noderr/log.h"
#include "noderr/scenario.h"
#include "noderr/strategy.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct paper_opts {
    const char *config;
    const char *state_dir;
    bool json;
    bool flatten;          /* shutdown */
    int64_t deadline_s;    /* shutdown: the session's wait for the venue (0: its default) */
    int64_t wait_s;        /* shutdown: this command's wait for the session's exit */
} paper_opts_t;

static const char paper_usage[] =
    "usage: noderr paper --config FILE [--json]\n"
    "\n"
    "Paper trading: the venue's live market streams (trades, best bid/offer) drive the engine,\n"
    "and orders fill on the L2 simulated venue with the event-level backtest's queue and latency\n"
    "model. The config (JSON, docs/live.md) names the venue's endpoints, the symbol, the\n"
    "strategies, capital, risk limits, the paper venue, the store and the log. Runs until\n"
    "SIGTERM or SIGINT (graceful: no new orders, working orders cancelled, status and store\n"
    "written) or the config's duration_s, then prints the summary. SIGUSR1 or 'noderr kill'\n"
    "engages the kill switch. 'noderr status' shows a running session.\n";

static const char live_usage[] =
    "usage: noderr live --config FILE [--json]\n"
    "\n"
    "Live trading: the session of 'noderr paper', with real orders on the venue (Binance Spot,\n"
    "or exchange-sim on 127.0.0.1 to rehearse). The API key comes from NODERR_BINANCE_API_KEY\n"
    "and NODERR_BINANCE_API_SECRET or the config's venue.secrets_file (mode 0600), never from\n"
    "the config itself. Every order has a client order id derived from the session, is written\n"
    "to the state directory's journal before it is sent, and at every start the journal is\n"
    "reconciled with the venue (open orders, unanswered orders, trades, balances; our open\n"
    "orders are cancelled) and the journal's fills rebuild the positions, so a restart, even\n"
    "after kill -9, neither loses nor doubles an order. SIGTERM: no new orders, working orders\n"
    "cancelled at the venue, exit 0. docs/live.md.\n";

static const char status_usage[] =
    "usage: noderr status (--config FILE | --state-dir DIR) [--json]\n"
    "\n"
    "The state of a paper or live session: running or not, positions, open orders, P&L,\n"
    "breakers and feed ages, from the status file the session rewrites every second.\n"
    "Exit 0 when the session is running, 1 when it is not (the last status is shown).\n";

static const char shutdown_usage[] =
    "usage: noderr shutdown (--config FILE | --state-dir DIR) [--flatten] [--deadline-s N]\n"
    "                       [--wait-s N] [--json]\n"
    "\n"
    "Emergency shutdown of the session running there (what SIGTERM does, plus --flatten): no\n"
    "new orders, every working order cancelled (live: one cancel-all per symbol at the venue),\n"
    "with --flatten every position closed with market orders, the journal and status written;\n"
    "the session waits up to --deadline-s (default 3, or 10 with --flatten) for the venue's\n"
    "confirmations, asks the venue what is still open, writes STATE_DIR/shutdown.json and exits.\n"
    "This command waits up to --wait-s (default the deadline + 20) for that and prints the\n"
    "report. Exit 0: nothing left working (and flat with --flatten); 1: something was left, or\n"
    "no session runs there, or it did not exit in time. docs/launcher.md.\n";

static const char kill_usage[] =
    "usage: noderr kill (--config FILE | --state-dir DIR)\n"
    "\n"
    "Engages the kill switch of the session running there: it halts, cancels its working\n"
    "orders and flattens its positions (recorded in the store). Exit 1 when none runs there.\n";

static const nd_cli_opt_t paper_options[] = {
    ND_CLI_TEXT("config", paper_opts_t, config),
    ND_CLI_TEXT("state-dir", paper_opts_t, state_dir),
    ND_CLI_SET("json", paper_opts_t, json),
    ND_CLI_OPTS_END,
};

static const nd_cli_opt_t shutdown_options[] = {
    ND_CLI_TEXT("config", paper_opts_t, config),
    ND_CLI_TEXT("state-dir", paper_opts_t, state_dir),
    ND_CLI_SET("flatten", paper_opts_t, flatten),
    ND_CLI_INT("deadline-s", paper_opts_t, deadline_s, 1, 600),
    ND_CLI_INT("wait-s", paper_opts_t, wait_s, 1, 3600),
    ND_CLI_SET("json", paper_opts_t, json),
    ND_CLI_OPTS_END,
};

static const char *const kind_option[] = {"", "--strategy", "--strategy-lib", "--strategy-file"};

int nd_cli_strategy_from_json(const char *cmd, const char *where, int kind, const char *spec,
                              struct json_t *params, const struct nd_strategy_def **def,
                              double *values)
{
    int64_t unused;
    if (kind < 1 || kind > 3 ||
        nd_cli_strategy_lookup(kind_option[kind], spec, ND_CLI_STRATEGY_EVENTS, def, &unused) !=
            0) {
        fprintf(stderr, "noderr %s: %s: cannot load '%s'\n", cmd, where, spec);
        return -1;
    }
    nd_strategy_params_default(*def, values);
    const char *key;
    json_t *value;
    json_object_foreach(params, key, value) {
        char kv[256], why[256];
        if (json_is_number(value))
            snprintf(kv, sizeof kv, "%s=%.17g", key, json_number_value(value));
        else if (json_is_string(value))
            snprintf(kv, sizeof kv, "%s=%s", key, json_string_value(value));
        else
            snprintf(kv, sizeof kv, "%s=", key);
        if (nd_strategy_param_set(*def, values, kv, why, sizeof why) != ND_OK) {
            fprintf(stderr, "noderr %s: %s.params.%s: %s\n", cmd, where, key, why);
            return -1;
        }
    }
    return 0;
}

int nd_cli_live_strategies(nd_live_config_t *cfg, const char *cmd)
{
    for (uint32_t k = 0; k < cfg->strategy_count; k++) {
        const nd_live_strategy_t *ls = &cfg->strategies[k];
        nd_strategy_spec_t *spec = &cfg->bt.strategies[k];
        char where[ND_LIVE_PATH_MAX + 32];
        snprintf(where, sizeof where, "%s: strategies[%u]", cfg->path, k);
        if (nd_cli_strategy_from_json(cmd, where, (int)ls->kind, ls->spec, ls->params, &spec->def,
                                      spec->params) != 0)
            return -1;
        spec->weight_e6 = ls->weight_e6;
        spec->instrument_mask = ls->instrument_mask; /* its venue's symbols (two venues) */
        cfg->bt.strategy_count = k + 1;
    }
    return 0;
}

void nd_cli_session_summary(const nd_live_config_t *cfg, const nd_live_feed_stats_t *feed,
                            const nd_backtest_result_t *r, bool json)
{
    const nd_engine_stats_t *st = nd_engine_stats(r->engine);
    const nd_portfolio_t *p = nd_engine_portfolio(r->engine);
    char equity[32], pnl[32];
    nd_fixed_format(nd_portfolio_equity(p), ND_CASH_DECIMALS, equity, sizeof equity);
    nd_fixed_format(nd_portfolio_equity(p) - nd_portfolio_initial_cash(p), ND_CASH_DECIMALS, pnl,
                    sizeof pnl);
    if (json) {
        json_t *j = json_object();
        json_object_set_new(j, "name", json_string(cfg->name));
        json_object_set_new(j, "mode", json_string(cfg->live ? "live" : "paper"));
        json_object_set_new(j, "equity", json_string(equity));
        json_object_set_new(j, "pnl", json_string(pnl));
        json_object_set_new(j, "events", json_integer(st->events));
        json_object_set_new(j, "trades_in", json_integer(feed->trades));
        json_object_set_new(j, "quotes_in", json_integer(feed->quotes));
        json_object_set_new(j, "bad", json_integer(feed->bad));
        json_object_set_new(j, "late", json_integer(feed->late));
        json_object_set_new(j, "orders_submitted", json_integer(st->orders_submitted));
        json_object_set_new(j, "orders_rejected", json_integer(st->orders_rejected));
        json_object_set_new(j, "fills", json_integer(st->fills));
        json_object_set_new(j, "round_trips", json_integer((json_int_t)r->trade_count));
        json_object_set_new(j, "halted", json_boolean(nd_engine_risk(r->engine)->halted));
        nd_cli_print_json_take(j);
        return;
    }
    printf("%s session %s on %s%s: %lld events "
           "(%lld trades, %lld quotes, %lld bad, %lld late)\n",
           cfg->live ? "live" : "paper", cfg->name, cfg->venue_symbols[0],
           cfg->symbol_count > 1 ? " and more" : "",
           (long long)st->events, (long long)feed->trades,
           (long long)feed->quotes, (long long)feed->bad, (long long)feed->late);
    printf("orders %lld submitted, %lld rejected, %lld fills, %zu round trips\n",
           (long long)st->orders_submitted, (long long)st->orders_rejected, (long long)st->fills,
           r->trade_count);
    printf("equity %s, P&L %s%s\n", equity, pnl,
           nd_engine_risk(r->engine)->halted ? " (halted)" : "");
}

static int run_paper(nd_live_config_t *cfg, bool json)
{
    char err[512] = "";
    nd_backtest_result_t result;
    nd_cli_session_begin(cfg, &result);
    nd_live_session_t *s = NULL;
    nd_err_t rc = nd_live_session_create(cfg, nd_clock_os(), &result, &s, err, sizeof err);
    if (rc != ND_OK)
        return nd_cli_session_end(cfg->live ? "live" : "paper", cfg, rc, err, NULL, &result, json);
    rc = nd_live_session_run(s, err, sizeof err);
    nd_cli_run_end_t end = {*nd_live_session_feed(s), *nd_live_session_shutdown(s), ND_OK, ""};
    end.close_rc = nd_live_session_close(s, end.close_err, sizeof end.close_err);
    return nd_cli_session_end(cfg->live ? "live" : "paper", cfg, rc, err, &end, &result, json);
}

void nd_cli_session_begin(const nd_live_config_t *cfg, nd_backtest_result_t *result)
{
    ND_ASSERT(cfg != NULL);
    ND_ASSERT(result != NULL);
    nd_log_set_level((nd_log_level_t)cfg->log_level);
    nd_log_set_output(NULL, nd_clock_os());
    memset(result, 0, sizeof *result);
}

int nd_cli_session_end(const char *cmd, const nd_live_config_t *cfg, nd_err_t rc,
                       const char *err, const nd_cli_run_end_t *end, nd_backtest_result_t *result,
                       bool json)
{
    ND_ASSERT(cfg != NULL);
    ND_ASSERT(err != NULL);
    ND_ASSERT(rc != ND_OK || end != NULL);
    nd_log_set_output(NULL, NULL);
    if (rc == ND_OK && end->close_rc != ND_OK) {
        rc = end->close_rc;
        err = end->close_err;
    }
    if (rc != ND_OK)
        fprintf(stderr, "noderr %s: %s: %s\n", cmd, cfg->path, err[0] ? err : nd_strerror(rc));
    else
        nd_cli_session_summary(cfg, &end->feed, result, json);
    nd_backtest_result_free(result);
    return rc != ND_OK ? ND_EXIT_USAGE : nd_cli_stop_code(cmd, cfg, &end->stop);
}

int nd_cli_stop_code(const char *cmd, const nd_live_config_t *cfg, const nd_live_shutdown_t *stop)
{
    /* Live only: a paper session's orders rest on its own simulated venue, gone with it (its
     * shutdown.json still says what was working). */
    if (stop->done && !stop->clean && cfg->live) {
        fprintf(stderr, "noderr %s: %s: the stop's deadline passed with %u order(s) working, %lld "
                "open at the venue%s, %u position(s) not flat: see %s/shutdown.json\n",
                cmd, cfg->path, stop->working_left, (long long)stop->venue_open,
                stop->venue_open < 0 ? " (venue unanswered)" : "", stop->positions_left,
                cfg->state_dir);
        return ND_EXIT_CHECK_FAILED;
    }
    return ND_EXIT_OK;
}

static int run_session(const char *command, bool live, int argc, char **argv)
{
    paper_opts_t o = {0};
    int prc = nd_cli_parse(command, argc, argv, paper_options,
                           live ? live_usage : paper_usage, NULL, &o);
    if (prc != 0)
        return prc < 0 ? ND_EXIT_OK : prc;
    if (!o.config || o.state_dir) {
        fprintf(stderr, "noderr %s: give --config FILE (see --help)\n", command);
        return ND_EXIT_USAGE;
    }
    nd_live_config_t *cfg = nd_calloc(1, sizeof *cfg);
    if (!cfg)
        return ND_EXIT_USAGE;
    char err[512] = "";
    int code = ND_EXIT_USAGE;
    if (nd_live_config_load(o.config, cfg, err, sizeof err) != ND_OK)
        fprintf(stderr, "noderr %s: %s\n", command, err);
    else if (live && cfg->clock != ND_LIVE_CLOCK_LOCAL)
        fprintf(stderr, "noderr live: %s: clock: a live session runs on the live clock "
                        "(\"local\")\n", o.config);
    else if (nd_cli_live_strategies(cfg, command) == 0) {
        cfg->live = live;
        code = run_paper(cfg, o.json);
    }
    nd_live_config_free(cfg);
    nd_free(cfg);
    return code;
}

int nd_cmd_paper(int argc, char **argv)
{
    return run_session("paper", false, argc, argv);
}

int nd_cmd_live(int argc, char **argv)
{
    return run_session("live", true, argc, argv);
}

/* The state directory named by --state-dir or by the config's state_dir. */
static int state_dir_of(const char *command, const paper_opts_t *o, char *dir, size_t cap)
{
    if (!o->config == !o->state_dir) {
        fprintf(stderr, "noderr %s: give --config FILE or --state-dir DIR\n", command);
        return -1;
    }
    if (o->state_dir) {
        snprintf(dir, cap, "%s", o->state_dir);
        return 0;
    }
    nd_live_config_t *cfg = nd_calloc(1, sizeof *cfg);
    char err[512] = "";
    int rc = cfg && nd_live_config_load(o->config, cfg, err, sizeof err) == ND_OK ? 0 : -1;
    if (rc == 0)
        snprintf(dir, cap, "%s", cfg->state_dir);
    else
        fprintf(stderr, "noderr %s: %s\n", command, err[0] ? err : "out of memory");
    if (cfg)
        nd_live_config_free(cfg);
    nd_free(cfg);
    return rc;
}

static const char *str(json_t *obj, const char *key)
{
    const char *v = json_string_value(json_object_get(obj, key));
    return v ? v : "-";
}

/* The last event's age in status.json's obj (a venue or the feed): "N ms ago", or "never". */
static void age_text(const json_t *obj, char *out, size_t cap)
{
    json_t *age = json_object_get(obj, "age_ms");
    if (json_is_integer(age))
        snprintf(out, cap, "%lld ms ago", (long long)json_integer_value(age));
    else
        snprintf(out, cap, "never");
}

/* A session on two venues: one line each (its symbols, its feed's last event, its P&L). */
static void print_venues(json_t *doc)
{
    json_t *venues = json_object_get(doc, "venues"), *v;
    size_t k;
    if (json_array_size(venues) < 2)
        return;
    json_array_foreach(venues, k, v) {
        json_t *pnl = json_object_get(v, "pnl");
        char ago[48];
        age_text(v, ago, sizeof ago);
        printf("venue %s: %zu symbol(s), last event %s, P&L %s (fees %s)\n", str(v, "name"),
               json_array_size(json_object_get(v, "symbols")), ago, str(pnl, "net"),
               str(pnl, "fees"));
        json_t *f = json_object_get(v, "feed");
        if (f)
            printf("  feed: %lld messages, %lld trades, %lld quotes, %lld bad, %lld late, "
                   "%lld repeats, %lld resyncs\n",
                   (long long)json_integer_value(json_object_get(f, "messages")),
                   (long long)json_integer_value(json_object_get(f, "trades")),
                   (long long)json_integer_value(json_object_get(f, "quotes")),
                   (long long)json_integer_value(json_object_get(f, "bad")),
                   (long long)json_integer_value(json_object_get(f, "late")),
                   (long long)json_integer_value(json_object_get(f, "repeats")),
                   (long long)json_integer_value(json_object_get(f, "resyncs")));
    }
}

/* The reference price of each asset with two sources or more: its median, status and largest
 * deviation, then each source's price and age (or stale). */
static void print_reference(json_t *doc)
{
    json_t *ref = json_object_get(doc, "reference"), *a, *src;
    size_t k, i;
    json_array_foreach(json_object_get(ref, "assets"), k, a) {
        json_t *sources = json_object_get(a, "sources");
        if (json_array_size(sources) < 2)
            continue;
        printf("reference %s: %s (%s, %lld fresh, deviation %lld bps of %lld)\n", str(a, "asset"),
               str(a, "price"), str(a, "status"),
               (long long)json_integer_value(json_object_get(a, "fresh")),
               (long long)json_integer_value(json_object_get(a, "deviation_bps")),
               (long long)json_integer_value(json_object_get(ref, "max_deviation_bps")));
        json_array_foreach(sources, i, src) {
            json_t *age = json_object_get(src, "age_ms");
            printf("  %-24s %s, %s%s%s\n", str(src, "name"), str(src, "price"),
                   json_is_true(json_object_get(src, "stale")) ? "stale" : "fresh",
                   json_is_integer(age) ? "" : " (no price yet)",
                   json_is_true(json_object_get(src, "deviating")) ? ", DEVIATING" : "");
        }
    }
}

static void print_status(json_t *doc, bool running)
{
    json_t *acct = json_object_get(doc, "account"), *risk = json_object_get(doc, "risk");
    json_t *feed = json_object_get(doc, "feed"), *orders = json_object_get(doc, "open_orders");
    printf("%s session %s on %s: %s (updated %s)\n", str(doc, "mode"), str(doc, "name"),
           str(doc, "venue"), running ? str(doc, "state") : "not running", str(doc, "updated_at"));
    printf("equity %s  P&L %s  cash %s  fees %s\n", str(acct, "equity"), str(acct, "pnl"),
           str(acct, "cash"), str(acct, "fees"));
    size_t k;
    json_t *item;
    bool two = json_array_size(json_object_get(doc, "venues")) > 1;
    json_array_foreach(json_object_get(doc, "positions"), k, item)
        printf("  %-12s position %s @ %s%s%s\n", str(item, "symbol"), str(item, "qty"),
               str(item, "last_price"), two ? " on " : "", two ? str(item, "venue") : "");
    print_venues(doc);
    printf("risk: %s, %lld trips%s\n",
           json_is_true(json_object_get(risk, "halted")) ? "HALTED" : "trading",
           (long long)json_integer_value(json_object_get(risk, "trips")),
           json_is_true(json_object_get(risk, "kill_switch")) ? ", kill switch engaged" : "");
    char ago[48];
    age_text(feed, ago, sizeof ago);
    printf("feed: %s, %lld trades, %lld quotes, last event %s\n", str(feed, "state"),
           (long long)json_integer_value(json_object_get(feed, "trades")),
           (long long)json_integer_value(json_object_get(feed, "quotes")), ago);
    print_reference(doc);
    if (json_object_get(doc, "metrics_url"))
        printf("metrics: %s\n", str(doc, "metrics_url"));
    printf("open orders: %zu\n", json_array_size(orders));
    json_array_foreach(orders, k, item)
        printf("  #%lld %s %s %s %s @ %s filled %s %s\n",
               (long long)json_integer_value(json_object_get(item, "client_id")),
               str(item, "symbol"), str(item, "side"), str(item, "type"), str(item, "qty"),
               str(item, "price"), str(item, "filled"), str(item, "status"));
}

/* A status, kill or shutdown that could not reach its session: the message, then 1 when no
 * session runs in the directory (ND_ENOTFOUND), else 2. */
static int unreached(const char *command, nd_err_t rc, const char *err)
{
    fprintf(stderr, "noderr %s: %s\n", command, err);
    return rc == ND_ENOTFOUND ? ND_EXIT_CHECK_FAILED : ND_EXIT_USAGE;
}

/* What status, kill and shutdown do once they know the session's state directory: the exit
 * code. */
typedef int (*session_action_fn)(const char *dir, const paper_opts_t *o);

/* A status, kill or shutdown: parses the command line into the session's state directory,
 * then runs action on it. Returns the exit code (0 after --help). */
static int session_command(const char *command, const char *usage, int argc, char **argv,
                           session_action_fn action)
{
    paper_opts_t o = {0};
    char dir[ND_LIVE_PATH_MAX];
    bool stop = strcmp(command, "shutdown") == 0;
    int prc = nd_cli_parse(command, argc, argv, stop ? shutdown_options : paper_options,
                           usage, NULL, &o);
    if (prc != 0)
        return prc < 0 ? ND_EXIT_OK : prc;
    if (state_dir_of(command, &o, dir, sizeof dir) != 0)
        return ND_EXIT_USAGE;
    return action(dir, &o);
}

static int status_action(const char *dir, const paper_opts_t *o)
{
    char err[512] = "";
    json_t *doc = NULL;
    bool running = false;
    nd_err_t rc = nd_live_status_read(dir, nd_clock_os(), 5 * ND_NS_PER_SEC, &doc, &running, err,
                                      sizeof err);
    if (rc != ND_OK)
        return unreached("status", rc, err);
    if (o->json) {
        json_object_set_new(doc, "running", json_boolean(running));
        nd_cli_print_json_take(doc);
    } else {
        print_status(doc, running);
        json_decref(doc);
    }
    return running ? ND_EXIT_OK : ND_EXIT_CHECK_FAILED;
}

int nd_cmd_status(int argc, char **argv)
{
    return session_command("status", status_usage, argc, argv, status_action);
}

static int kill_action(const char *dir, const paper_opts_t *o)
{
    (void)o;
    char err[512] = "";
    nd_err_t rc = nd_live_kill(dir, err, sizeof err);
    if (rc != ND_OK)
        return unreached("kill", rc, err);
    printf("kill switch sent to the session in %s\n", dir);
    return ND_EXIT_OK;
}

int nd_cmd_kill(int argc, char **argv)
{
    return session_command("kill", kill_usage, argc, argv, kill_action);
}

static void print_shutdown(json_t *doc)
{
    json_t *venue = json_object_get(doc, "venue_open_orders");
    printf("%s session %s stopped by %s%s in %lld ms: %s\n", str(doc, "mode"), str(doc, "name"),
           str(doc, "by"), json_is_true(json_object_get(doc, "flatten")) ? " with flatten" : "",
           (long long)json_integer_value(json_object_get(doc, "took_ms")),
           json_is_true(json_object_get(doc, "clean")) ? "clean" : "SOMETHING LEFT");
    printf("working orders left %lld, positions not flat %lld%s\n",
           (long long)json_integer_value(json_object_get(doc, "working_left")),
           (long long)json_integer_value(json_object_get(doc, "positions_left")),
           json_is_true(json_object_get(doc, "deadline_passed")) ? " (deadline passed)" : "");
    const char *symbol;
    json_t *count;
    json_object_foreach(venue, symbol, count) {
        if (json_is_integer(count))
            printf("  %-12s open at the venue: %lld\n", symbol,
                   (long long)json_integer_value(count));
        else
            printf("  %-12s open at the venue: unknown (no answer)\n", symbol);
    }
}

/* Waits for the session's exit, then reads its report (ND_OK), or says why not. */
static int shutdown_wait(const char *dir, long pid, int64_t wait_s, json_t **doc)
{
    const nd_clock_t *clock = nd_clock_os();
    int64_t until = nd_clock_mono_ns(clock) + wait_s * ND_NS_PER_SEC;
    while (nd_live_pid_alive(pid) && nd_clock_mono_ns(clock) < until)
        usleep(50 * 1000);
    if (nd_live_pid_alive(pid)) {
        fprintf(stderr, "noderr shutdown: the session (pid %ld) has not exited after %lld s\n",
                pid, (long long)wait_s);
        return ND_EXIT_CHECK_FAILED;
    }
    char path[ND_LIVE_PATH_MAX + 32], err[512] = "";
    snprintf(path, sizeof path, "%s/shutdown.json", dir);
    if (nd_json_file_load(path, ND_JSON_FILE_BYTES_MAX, 0, doc, err, sizeof err) != ND_OK) {
        fprintf(stderr, "noderr shutdown: the session exited without its report: %s\n", err);
        return ND_EXIT_CHECK_FAILED;
    }
    return ND_EXIT_OK;
}

static int shutdown_action(const char *dir, const paper_opts_t *o)
{
    char err[512] = "";
    int64_t deadline_s = o->deadline_s ? o->deadline_s : o->flatten ? 10 : 3;
    nd_live_shutdown_ask_t ask = {.flatten = o->flatten, .deadline_ns = deadline_s * ND_NS_PER_SEC};
    long pid = 0;
    nd_err_t rc = nd_live_shutdown_request(dir, &ask, nd_clock_os(), &pid, err, sizeof err);
    if (rc != ND_OK)
        return unreached("shutdown", rc, err);
    json_t *doc = NULL;
    int code = shutdown_wait(dir, pid, o->wait_s ? o->wait_s : deadline_s + 20, &doc);
    if (code != ND_EXIT_OK)
        return code;
    code = json_is_true(json_object_get(doc, "clean")) ? ND_EXIT_OK : ND_EXIT_CHECK_FAILED;
    if (o->json)
        return nd_cli_print_json_take(doc) != ND_EXIT_OK ? ND_EXIT_USAGE : code;
    print_shutdown(doc);
    json_decref(doc);
    return code;
}

int nd_cmd_shutdown(int argc, char **argv)
{
    return session_command("shutdown", shutdown_usage, argc, argv, shutdown_action);
}
