/* cmd_preflight.c: `noderr preflight --config FILE [--json]` (docs/launcher.md "Preflight"):
 * the launcher's 17 named checks over a session config, each printed with its result, reason
 * and fix hint. Exit 0 when none failed (skips are listed), 1 naming every failed check, 2 for
 * a bad config. The checks are in src/launch. */
#include "cli.h"

#include "noderr/alloc.h"
#include "noderr/live.h"
#include "noderr/preflight.h"

#include <stdio.h>
#include <string.h>

static const char preflight_usage[] =
    "usage: noderr preflight --config FILE [--json]\n"
    "\n"
    "Runs the launcher's 17 checks over a session config (the file noderr paper takes, with\n"
    "an optional \"preflight\" object): config_valid, secrets, venue_reachable, clock_offset,\n"
    "exchange_info, balances, oracle_fresh, feeds_fresh, risk_limits, store_audit, headroom,\n"
    "strategies_validated, compliance_profile, metrics_endpoint, kill_switch, rate_limits,\n"
    "build_pinned (docs/launcher.md). Each prints pass, fail or skip with its reason, and a\n"
    "fix hint when it fails. With two venues (\"venues\") the checks that ask a venue run\n"
    "once per venue, a line each tagged by the venue. Exit 0 when none failed, 1 naming\n"
    "every failed check (and its venue), 2 for a bad config.\n";

static void print_report(const nd_preflight_report_t *r, bool live)
{
    printf("preflight (%s mode): %u passed, %u failed, %u skipped in %lld ms\n",
           live ? "live" : "paper", r->passed, r->failed, r->skipped,
           (long long)(r->elapsed_ns / 1000000));
    for (int k = 0; k < ND_PF_CHECK_COUNT; k++) {
        const nd_preflight_outcome_t *o = &r->checks[k];
        const char *name = nd_preflight_check_name((nd_preflight_check_t)k);
        for (uint32_t v = 0; v < o->venue_count; v++) { /* a check run per venue: a line each */
            const nd_preflight_venue_outcome_t *vo = &o->venues[v];
            printf("%-4s %-21s %s: %s\n", nd_preflight_status_name(vo->status), name, vo->venue,
                   vo->reason);
            if (vo->status == ND_PF_FAIL && vo->hint[0])
                printf("     %-21s fix: %s\n", "", vo->hint);
        }
        if (o->venue_count)
            continue;
        printf("%-4s %-21s %s\n", nd_preflight_status_name(o->status), name, o->reason);
        if (o->hint[0])
            printf("     %-21s fix: %s\n", "", o->hint);
    }
}

/* "venue_reachable" or, run per venue, "venue_reachable (coinbase)": the venues that failed. */
static int failed_name(const nd_preflight_outcome_t *o, const char *name, char *out, size_t cap)
{
    int used = snprintf(out, cap, "%s", name);
    const char *sep = " (";
    for (uint32_t v = 0; v < o->venue_count && used > 0 && (size_t)used < cap; v++)
        if (o->venues[v].status == ND_PF_FAIL) {
            used += snprintf(out + used, cap - (size_t)used, "%s%s", sep, o->venues[v].venue);
            sep = ", ";
        }
    if (sep[0] == ',' && used > 0 && (size_t)used < cap)
        used += snprintf(out + used, cap - (size_t)used, ")");
    return used;
}

int nd_cli_preflight_begin(const char *cmd, int argc, char **argv, const char *usage,
                           nd_cli_pf_t *p)
{
    memset(p, 0, sizeof *p);
    int rc = nd_cli_config_args(cmd, argc, argv, usage, &p->opts);
    if (rc != 0)
        return rc;
    p->cfg = nd_calloc(1, sizeof *p->cfg);
    p->set = nd_calloc(1, sizeof *p->set);
    p->report = nd_calloc(1, sizeof *p->report);
    char err[512] = "out of memory";
    if (p->cfg && p->set && p->report &&
        nd_live_config_load(p->opts.config, p->cfg, err, sizeof err) == ND_OK &&
        nd_preflight_settings_parse(p->cfg, p->set, err, sizeof err) == ND_OK)
        return 0;
    fprintf(stderr, "noderr %s: %s\n", cmd, err);
    nd_cli_preflight_free(p);
    return ND_EXIT_USAGE;
}

void nd_cli_preflight_free(nd_cli_pf_t *p)
{
    if (p->cfg)
        nd_live_config_free(p->cfg);
    nd_free(p->cfg);
    nd_free(p->set);
    nd_free(p->report);
    memset(p, 0, sizeof *p);
}

int nd_cli_preflight(const char *cmd, nd_live_config_t *cfg, const nd_preflight_settings_t *set,
                     bool json, nd_preflight_report_t *r)
{
    nd_preflight_env_t env = {nd_clock_os(), "/proc/self/exe", "0.1.0"};
    if (nd_preflight_run(cfg, set, &env, ND_PF_ALL, r) != ND_OK) {
        fprintf(stderr, "noderr %s: out of memory\n", cmd);
        return ND_EXIT_USAGE;
    }
    int code = ND_EXIT_OK;
    if (json) {
        json_t *j = nd_preflight_report_json(r);
        json_object_set_new(j, "mode", json_string(set->live ? "live" : "paper"));
        code = nd_cli_print_json_take(j);
    } else {
        print_report(r, set->live);
    }
    if (r->failed) {
        char names[512] = "";
        size_t used = 0;
        for (int k = 0; k < ND_PF_CHECK_COUNT; k++)
            if (r->checks[k].status == ND_PF_FAIL) {
                char one[96];
                failed_name(&r->checks[k], nd_preflight_check_name((nd_preflight_check_t)k), one,
                            sizeof one);
                int w = snprintf(names + used, sizeof names - used, "%s%s", used ? ", " : "",
                                 one);
                used = w > 0 && used + (size_t)w < sizeof names ? used + (size_t)w : used;
            }
        fprintf(stderr, "noderr %s: %s: %u check(s) failed: %s\n", cmd, cfg->path, r->failed,
                names);
        code = code == ND_EXIT_OK ? ND_EXIT_CHECK_FAILED : code;
    }
    return code;
}

int nd_cmd_preflight(int argc, char **argv)
{
    nd_cli_pf_t p;
    int prc = nd_cli_preflight_begin("preflight", argc, argv, preflight_usage, &p);
    if (prc != 0)
        return prc < 0 ? ND_EXIT_OK : prc;
    int code = ND_EXIT_USAGE;
    if (nd_cli_live_strategies(p.cfg, "preflight") == 0)
        code = nd_cli_preflight("preflight", p.cfg, p.set, p.opts.json, p.report);
    nd_cli_preflight_free(&p);
    return code;
}
