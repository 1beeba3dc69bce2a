/* cmd_chaos.c: `noderr chaos list` and `noderr chaos run [--scenario NAME]... [--seed N]
 * [--short] [--json] [--report FILE.html] [--db URL] [--work DIR] [--defect NAME]
 * [--no-netns] [--live]` (docs/chaos.md): the chaos suite against exchange-sim and a launch session
 * started as children. Exit 0 when no scenario failed, 1 when one failed (stderr names it and
 * the broken invariant), 2 for bad usage. The suite is in src/chaos. */
#include "cli.h"

#include "noderr/alloc.h"
#include "noderr/chaos.h"
#include "noderr/clock.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char chaos_usage[] =
    "usage: noderr chaos list [--json]\n"
    "       noderr chaos run [--scenario NAME]... [--seed N] [--short] [--json]\n"
    "                        [--report FILE.html] [--db URL] [--work DIR]\n"
    "                        [--defect no-stale-detect|no-restart|no-cancel-on-stop]\n"
    "                        [--no-netns] [--live]\n"
    "\n"
    "Runs the chaos scenarios (all, or each --scenario; --short: the CI subset with shorter\n"
    "holds) against `noderr exchange-sim` and a `noderr launch` paper session on 127.0.0.1,\n"
    "both started as child processes: warm up, inject, hold, remove, then detection and\n"
    "recovery times, orders and P&L against a fault-free run of the same seed, the invariants\n"
    "and a 0-100 resilience score (docs/chaos.md). Network faults: as root, tc netem in a\n"
    "network namespace of the runner's own when the kernel has netem (--no-netns: never);\n"
    "otherwise the runner's fault-injecting TCP proxy between session and venue. --db URL\n"
    "stores the results as chaos records (kept 90 days, pruned by `noderr retention`).\n"
    "--defect (or NODERR_CHAOS_DEFECT) switches a protection off to prove the suite notices.\n"
    "--live: the session trades live against exchange-sim, and two more invariants compare\n"
    "its orders, position and cash with the venue's (venue_orders, venue_position).\n"
    "--work DIR keeps every child's config, logs, status and store (default: a new\n"
    "/tmp/noderr-chaos-XXXXXX). Exit 0 when no scenario failed, 1 when one did.\n";

typedef struct chaos_opts {
    const nd_chaos_scenario_t *sel[ND_CHAOS_SCENARIOS];
    size_t n;
    bool json, no_netns;
    const char *report, *db, *work;
    nd_chaos_options_t run;
} chaos_opts_t;

enum { OPT_SCENARIO = 1, OPT_SEED, OPT_DEFECT };

static const nd_cli_opt_t chaos_options[] = {
    ND_CLI_ARG("scenario", OPT_SCENARIO),
    ND_CLI_ARG("seed", OPT_SEED),
    ND_CLI_SET("short", chaos_opts_t, run.short_run),
    ND_CLI_TEXT("report", chaos_opts_t, report),
    ND_CLI_TEXT("db", chaos_opts_t, db),
    ND_CLI_TEXT("work", chaos_opts_t, work),
    ND_CLI_ARG("defect", OPT_DEFECT),
    ND_CLI_SET("no-netns", chaos_opts_t, no_netns),
    ND_CLI_SET("live", chaos_opts_t, run.live),
    ND_CLI_SET("json", chaos_opts_t, json),
    ND_CLI_OPTS_END,
};

static int chaos_option(void *ctx, int opt, const char *arg)
{
    chaos_opts_t *o = ctx;
    int64_t seed = 0;
    switch (opt) {
    case OPT_SCENARIO: {
        const nd_chaos_scenario_t *sc = nd_chaos_find(arg);
        if (!sc) {
            fprintf(stderr, "noderr chaos run: --scenario: unknown scenario '%s' (noderr chaos "
                            "list)\n", arg);
            return -1;
        }
        for (size_t i = 0; i < o->n; i++)
            if (o->sel[i] == sc)
                return 0;
        o->sel[o->n++] = sc;
        return 0;
    }
    case OPT_SEED:
        if (nd_cli_int("--seed", arg, 0, INT64_MAX, &seed) != 0)
            return -1;
        o->run.seed = (uint64_t)seed;
        return 0;
    case OPT_DEFECT:
        if (nd_chaos_defect_parse(arg, &o->run.defect) != ND_OK) {
            fprintf(stderr, "noderr chaos run: --defect: '%s' is not none, no-stale-detect, "
                            "no-restart or no-cancel-on-stop\n", arg);
            return -1;
        }
        return 0;
    default: return -1;
    }
}

static int chaos_list(bool json)
{
    size_t n = 0;
    const nd_chaos_scenario_t *sc = nd_chaos_scenarios(&n);
    if (json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(
                arr, json_pack("{s:i,s:s,s:s,s:s,s:s,s:I,s:I,s:b,s:b,s:b}", "number",
                               sc[i].number, "name", sc[i].name, "category",
                               nd_chaos_category_name(sc[i].category), "fault", sc[i].fault,
                               "expect", sc[i].expect, "detect_target_ms",
                               (json_int_t)sc[i].detect_target_ms, "recover_target_ms",
                               (json_int_t)sc[i].recover_target_ms, "implemented",
                               sc[i].implemented, "needs_root", sc[i].needs_root, "short",
                               sc[i].in_short));
        return nd_cli_print_json_take(arr) ? ND_EXIT_USAGE : ND_EXIT_OK;
    }
    for (size_t i = 0; i < n; i++)
        printf("%2d %-20s %-8s %s%s\n   fault: %s\n   expect: %s\n", sc[i].number, sc[i].name,
               nd_chaos_category_name(sc[i].category), sc[i].implemented ? "" : "(not implemented)",
               sc[i].in_short ? "(short)" : "", sc[i].fault, sc[i].expect);
    return ND_EXIT_OK;
}

static void progress(void *ctx, const nd_chaos_result_t *r)
{
    const bool *json = ctx;
    FILE *f = *json ? stderr : stdout;
    fprintf(f, "%2d %-20s %-15s", r->scenario->number, r->scenario->name,
            nd_chaos_status_name(r->status));
    if (r->score >= 0)
        fprintf(f, " score %3d  detect %5lld ms  recover %5lld ms  orders %lld/%lld",
                r->score, (long long)r->detect_ms, (long long)r->recover_ms,
                (long long)r->orders_fault, (long long)r->orders_baseline);
    fprintf(f, "%s%s\n", r->reason[0] ? "  " : "", r->reason);
    fflush(f);
}

/* The outputs after the run: JSON or the summary, the report, the store. */
static int chaos_outputs(chaos_opts_t *o, const nd_chaos_result_t *res)
{
    int code = ND_EXIT_OK, failed = 0;
    for (size_t i = 0; i < o->n; i++)
        if (res[i].status == ND_CHAOS_FAIL || res[i].status == ND_CHAOS_ERROR) {
            fprintf(stderr, "noderr chaos: %s %s: %s\n", res[i].scenario->name,
                    nd_chaos_status_name(res[i].status), res[i].reason);
            failed++;
        }
    if (o->json) {
        char *text = nd_chaos_json(&o->run, res, o->n);
        if (!text || puts(text) < 0)
            code = ND_EXIT_USAGE;
        nd_free(text);
    } else {
        printf("resilience score %d over %zu scenario(s); %d failed; work dir %s\n",
               nd_chaos_score_overall(res, o->n), o->n, failed, o->run.work_dir);
    }
    FILE *f = o->report ? nd_cli_out_open("--report", o->report) : NULL;
    if (o->report && (!f || nd_chaos_html(f, &o->run, res, o->n) != ND_OK ||
                      nd_cli_out_close("--report", o->report, f) != 0))
        code = ND_EXIT_USAGE;
    char err[512];
    if (o->db && nd_chaos_store(o->db, &o->run, res, o->n, nd_clock_now_ns(nd_clock_os()), err,
                                sizeof err) != ND_OK) {
        fprintf(stderr, "noderr chaos: --db %s: %s\n", o->db, err);
        code = ND_EXIT_USAGE;
    }
    return code != ND_EXIT_OK ? code : failed ? ND_EXIT_CHECK_FAILED : ND_EXIT_OK;
}

static int chaos_run(chaos_opts_t *o)
{
    static char binary[PATH_MAX], work[PATH_MAX];
    if (!realpath("/proc/self/exe", binary)) {
        fprintf(stderr, "noderr chaos: cannot resolve /proc/self/exe\n");
        return ND_EXIT_USAGE;
    }
    snprintf(work, sizeof work, "%s", o->work ? o->work : "/tmp/noderr-chaos-XXXXXX");
    if (!o->work && !mkdtemp(work)) {
        fprintf(stderr, "noderr chaos: cannot create a work directory under /tmp\n");
        return ND_EXIT_USAGE;
    }
    if (o->n == 0) {
        size_t count = 0;
        const nd_chaos_scenario_t *all = nd_chaos_scenarios(&count);
        for (size_t i = 0; i < count; i++)
            if (!o->run.short_run || all[i].in_short)
                o->sel[o->n++] = &all[i];
    }
    o->run.binary = binary;
    o->run.work_dir = work;
    o->run.use_netns = !o->no_netns;
    o->run.progress_cb = progress;
    o->run.ctx = &o->json;
    nd_chaos_result_t *res = nd_calloc(o->n, sizeof *res);
    char err[512];
    if (!res) {
        fprintf(stderr, "noderr chaos: out of memory\n");
        return ND_EXIT_USAGE;
    }
    int code = ND_EXIT_USAGE;
    if (nd_chaos_run(&o->run, o->sel, o->n, res, err, sizeof err) != ND_OK)
        fprintf(stderr, "noderr chaos: %s\n", err);
    else
        code = chaos_outputs(o, res);
    nd_free(res);
    return code;
}

int nd_cmd_chaos(int argc, char **argv)
{
    bool list = argc >= 2 && strcmp(argv[1], "list") == 0;
    if (argc < 2 || (!list && strcmp(argv[1], "run") != 0)) {
        bool help = argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
        fputs(chaos_usage, help ? stdout : stderr);
        return help ? ND_EXIT_OK : ND_EXIT_USAGE;
    }
    chaos_opts_t *o = nd_calloc(1, sizeof *o);
    if (!o)
        return ND_EXIT_USAGE;
    o->run.seed = 42;
    const char *defect = getenv("NODERR_CHAOS_DEFECT");
    int code = ND_EXIT_USAGE;
    if (defect && defect[0] && nd_chaos_defect_parse(defect, &o->run.defect) != ND_OK) {
        fprintf(stderr, "noderr chaos: NODERR_CHAOS_DEFECT='%s' is not none, no-stale-detect, "
                        "no-restart or no-cancel-on-stop\n", defect);
    } else {
        int prc = nd_cli_parse(list ? "chaos list" : "chaos run", argc - 1, argv + 1,
                               chaos_options, chaos_usage, chaos_option, o);
        if (prc != 0)
            code = prc < 0 ? ND_EXIT_OK : prc;
        else
            code = list ? chaos_list(o->json) : chaos_run(o);
    }
    nd_free(o);
    return code;
}
