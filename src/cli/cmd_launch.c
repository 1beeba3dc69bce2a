/* cmd_launch.c: `noderr launch --config FILE [--json]` (docs/launcher.md "The integrator"):
 * preflight first (printed; any failure refuses to trade, exit 1), then the session under the
 * module supervisor with its health check, until SIGTERM/SIGINT or the config's duration; then
 * the summary. The logic is in src/launch. */
#include "cli.h"

#include "noderr/alloc.h"
#include "noderr/launch.h"
#include "noderr/log.h"

#include <stdio.h>
#include <string.h>

static const char launch_usage[] =
    "usage: noderr launch --config FILE [--json]\n"
    "\n"
    "Runs the launcher: the 17 preflight checks first (a failure refuses to trade: exit 1),\n"
    "then the session of the config (paper, or live with \"preflight\": {\"mode\": \"live\"})\n"
    "with its modules (host, store, refprice, feed, venue, risk, strategies, monitoring)\n"
    "supervised: a health check every launch.health_every_ms (10 s) judges each, a failed\n"
    "module is restarted with backoff and the modules that depend on it are told (the\n"
    "strategies pause while the feed, the venue or the store is out). With two venues the\n"
    "feed, venue and strategies modules are one per venue: a venue out stops new orders\n"
    "there, the other trades on, and with a position there it cannot flatten the kill switch\n"
    "trips after launch.venue_down_halt_ms (30 s). Each strategy trades\n"
    "with its capital ramp's share (5% -> 100% over 30 days) times its allocation, and a\n"
    "rollback guard puts the pipeline's previous version back on a breaker trip, a drawdown,\n"
    "an error burst or failed health. Every change is logged and recorded in the store, and\n"
    "'noderr status' shows the modules. Stops on SIGTERM or SIGINT (no new orders, working\n"
    "orders cancelled; launch.shutdown) or after duration_s. docs/launcher.md.\n";

/* The launcher's rollbacks resolve the previous version as a session config's strategies are
 * resolved (nd_cli_strategy_from_json). */
static nd_err_t resolve_version(void *ctx, const nd_pipeline_spec_t *spec,
                                const nd_strategy_def_t **def, double *params, char *err,
                                size_t err_len)
{
    (void)ctx;
    static const char *const kinds[] = {"", "builtin", "plugin", "lua"};
    int kind = 0;
    for (int k = 1; k < 4; k++)
        if (strcmp(spec->kind, kinds[k]) == 0)
            kind = k;
    json_error_t je;
    json_t *obj = json_loads(spec->params, 0, &je);
    char where[128];
    snprintf(where, sizeof where, "rollback to %s", spec->strategy);
    int rc = obj ? nd_cli_strategy_from_json("launch", where, kind, spec->spec, obj, def, params)
                 : -1;
    json_decref(obj);
    if (rc != 0)
        snprintf(err, err_len, "cannot load the previous version (%s %s)", spec->kind, spec->spec);
    return rc == 0 ? ND_OK : ND_EINVAL;
}

static int run_launch(nd_live_config_t *cfg, const nd_launch_config_t *lc,
                      const nd_preflight_settings_t *set, const nd_preflight_report_t *pf,
                      bool json)
{
    char err[512] = "";
    nd_backtest_result_t result;
    nd_cli_session_begin(cfg, &result);
    nd_launch_t *l = NULL;
    nd_err_t rc = nd_launch_create(cfg, lc, set, pf, nd_clock_os(), &result, &l, err, sizeof err);
    if (rc != ND_OK) {
        int code = nd_cli_session_end("launch", cfg, rc, err, NULL, &result, json);
        return rc == ND_EDECLINED ? ND_EXIT_CHECK_FAILED : code;
    }
    nd_launch_set_resolver(l, resolve_version, NULL);
    rc = nd_launch_run(l, err, sizeof err);
    nd_cli_run_end_t end = {*nd_launch_feed(l), *nd_launch_shutdown(l), ND_OK, ""};
    end.close_rc = nd_launch_close(l, end.close_err, sizeof end.close_err);
    return nd_cli_session_end("launch", cfg, rc, err, &end, &result, json);
}

/* Preflight's settings say the mode: a live launch sends real orders. */
static int launch_config(nd_live_config_t *cfg, nd_preflight_settings_t *set,
                         nd_launch_config_t *lc, const char *path)
{
    char err[512] = "";
    if (nd_launch_config_parse(cfg, lc, err, sizeof err) != ND_OK) {
        fprintf(stderr, "noderr launch: %s\n", err);
        return -1;
    }
    cfg->live = set->live;
    lc->recv_window_ms = set->recv_window_ms;
    if (cfg->live && cfg->clock != ND_LIVE_CLOCK_LOCAL) {
        fprintf(stderr, "noderr launch: %s: clock: a live launch runs on the live clock "
                        "(\"local\")\n", path);
        return -1;
    }
    return nd_cli_live_strategies(cfg, "launch");
}

int nd_cmd_launch(int argc, char **argv)
{
    nd_cli_pf_t p;
    int prc = nd_cli_preflight_begin("launch", argc, argv, launch_usage, &p);
    if (prc != 0)
        return prc < 0 ? ND_EXIT_OK : prc;
    nd_live_config_t *cfg = p.cfg;
    nd_preflight_settings_t *set = p.set;
    nd_preflight_report_t *pf = p.report;
    nd_launch_config_t lc;
    int code = ND_EXIT_USAGE;
    if (launch_config(cfg, set, &lc, p.opts.config) == 0) {
        /* The preflight report is printed before anything trades; with --json only the
         * final summary is (a failure still refuses, named on stderr). */
        code = p.opts.json ? ND_EXIT_OK : nd_cli_preflight("launch", cfg, set, false, pf);
        if (p.opts.json) {
            nd_preflight_env_t env = {nd_clock_os(), "/proc/self/exe", "0.1.0"};
            if (nd_preflight_run(cfg, set, &env, ND_PF_ALL, pf) != ND_OK)
                code = ND_EXIT_USAGE;
        }
        fflush(stdout);
        /* A failed check was named already; nd_launch_create refuses the report anyway. */
        if (code == ND_EXIT_OK || (p.opts.json && code == ND_EXIT_CHECK_FAILED))
            code = run_launch(cfg, &lc, set, pf, p.opts.json);
        else if (code == ND_EXIT_CHECK_FAILED)
            fprintf(stderr, "noderr launch: %s: refusing to trade after a failed preflight\n",
                    p.opts.config);
    }
    nd_cli_preflight_free(&p);
    return code;
}
