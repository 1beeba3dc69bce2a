/* cmd_pipeline.c: the deployment pipeline's commands (docs/launcher.md "Pipeline"):
 *   noderr pipeline --db URL [--json]                 each version's stage and history
 *   noderr pipeline register --db URL --config FILE   a session config's strategy versions
 *   noderr promote --db URL --version ID [--to STAGE] [evidence] [--force]
 *   noderr rollback --db URL --strategy NAME [--to VERSION] --reason TEXT
 * Exit 0 done, 1 a promotion refused by its gates (each failed gate named), 2 bad input or a
 * transition the pipeline does not allow. The state, gates and records are in src/launch
 * (pipeline.h); this file parses, gathers the evidence files and prints. Without --now the
 * time is the system clock's (nd_clock_os). */
#include "cli.h"

#include "noderr/alloc.h"
#include "noderr/clock.h"
#include "noderr/live.h"
#include "noderr/pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ND_BUILD_VERSION "0.1.0" /* main.c's --version; part of a built-in's code hash */

typedef struct pl_opts {
    const char *db;
    const char *config;
    const char *version;
    const char *to;
    const char *validate;
    const char *ticks;
    const char *strategy;
    const char *operator_name;
    const char *reason;
    const char *state_dir;         /* promote, rollback: the launch running there adopts it */
    bool force;
    bool operator_given;           /* --operator was given (--force needs it) */
    bool json;
    bool have_now;
    int64_t now_ns;
} pl_opts_t;

enum { OPT_NOW = 1 };

static int pl_option(void *ctx, int opt, const char *arg)
{
    pl_opts_t *o = ctx;
    switch (opt) {
    case OPT_NOW:
        if (nd_time_parse_iso(arg, &o->now_ns) != ND_OK) {
            fprintf(stderr, "--now '%s': want an ISO-8601 UTC time (2026-01-31T12:00:00Z)\n",
                    arg);
            return -1;
        }
        o->have_now = true;
        return 0;
    default: return -1;
    }
}

/* The options of every pipeline command (--store is --db's other name). */
#define PL_COMMON                                                                   \
    ND_CLI_TEXT("db", pl_opts_t, db), ND_CLI_TEXT("store", pl_opts_t, db),          \
        ND_CLI_ARG("now", OPT_NOW), ND_CLI_TEXT("operator", pl_opts_t, operator_name), \
        ND_CLI_SET("json", pl_opts_t, json)

/* Parses argv with options; 0 go on, otherwise the exit code (help: 0). */
static int pl_parse(const char *cmd, int argc, char **argv, const nd_cli_opt_t *options,
                    const char *usage, pl_opts_t *o)
{
    memset(o, 0, sizeof *o);
    int prc = nd_cli_parse(cmd, argc, argv, options, usage, pl_option, o);
    if (prc != 0)
        return prc < 0 ? -1 : prc;
    if (!o->db && !o->state_dir) { /* --state-dir: the launch there writes its store */
        fprintf(stderr, "noderr %s: give --db URL, the compliance store (see --help)\n", cmd);
        return ND_EXIT_USAGE;
    }
    if (o->db && o->state_dir) {
        fprintf(stderr, "noderr %s: give --db URL or --state-dir DIR, not both: a running "
                "launch is its store's one writer\n", cmd);
        return ND_EXIT_USAGE;
    }
    if (!o->have_now)
        o->now_ns = nd_clock_now_ns(nd_clock_os());
    o->operator_given = o->operator_name != NULL;
    if (!o->operator_name) {
        const char *user = getenv("USER");
        o->operator_name = user && user[0] ? user : "cli";
    }
    return 0;
}

/* Opens the store and loads the pipeline; 0, or ND_EXIT_USAGE with the message printed. */
static int pl_open(const char *cmd, const pl_opts_t *o, unsigned flags, nd_store_t **s,
                   nd_pipeline_t **p)
{
    char err[512] = "";
    *s = NULL;
    *p = NULL;
    if (nd_store_open(o->db, flags, s, err, sizeof err) == ND_OK &&
        nd_pipeline_load(*s, p, err, sizeof err) == ND_OK)
        return 0;
    fprintf(stderr, "noderr %s: --db %s: %s\n", cmd, o->db, err);
    nd_store_close(*s);
    *s = NULL;
    return ND_EXIT_USAGE;
}

static void pl_close(nd_store_t *s, nd_pipeline_t *p)
{
    nd_pipeline_free(p);
    nd_store_close(s);
}

/* ---- noderr pipeline -------------------------------------------------------------------- */

static void print_version(const nd_pipeline_version_t *v)
{
    char since[40];
    nd_time_format_iso(v->stage_since_ns, since, sizeof since);
    printf("%s  %-16s %-10s since %s  %s %s\n", v->id, v->spec.strategy,
           nd_pipeline_stage_name(v->stage), since, v->spec.kind, v->spec.params);
    for (uint32_t k = 0; k < v->history_count; k++) {
        const nd_pipeline_transition_t *t = &v->history[k];
        char at[40];
        nd_time_format_iso(t->ts_ns, at, sizeof at);
        printf("    seq %-6lld %s  %-11s %s -> %s by %s%s%s%s\n", (long long)t->seq, at, t->event,
               nd_pipeline_stage_name(t->from), nd_pipeline_stage_name(t->to), t->who,
               t->forced ? " (forced)" : "", t->reason[0] ? ": " : "", t->reason);
    }
}

static int pipeline_show(const pl_opts_t *o)
{
    nd_store_t *s;
    nd_pipeline_t *p;
    if (pl_open("pipeline", o, 0, &s, &p) != 0)
        return ND_EXIT_USAGE;
    int code = ND_EXIT_OK;
    if (o->json) {
        code = nd_cli_print_json_take(nd_pipeline_json(p)) == 0 ? ND_EXIT_OK : ND_EXIT_USAGE;
    } else {
        printf("%u version(s) in %s\n", nd_pipeline_count(p), o->db);
        for (uint32_t k = 0; k < nd_pipeline_count(p); k++)
            print_version(nd_pipeline_at(p, k));
    }
    pl_close(s, p);
    return code;
}

static const char *const kind_names[] = {"", "builtin", "plugin", "lua"};

/* The version of cfg's strategy k (resolved with nd_cli_live_strategies). */
static int config_spec(const nd_live_config_t *cfg, uint32_t k, nd_pipeline_spec_t *spec)
{
    const nd_live_strategy_t *ls = &cfg->strategies[k];
    const nd_strategy_spec_t *ss = &cfg->bt.strategies[k];
    memset(spec, 0, sizeof *spec);
    snprintf(spec->strategy, sizeof spec->strategy, "%s", ss->def->name);
    snprintf(spec->kind, sizeof spec->kind, "%s", kind_names[ls->kind]);
    snprintf(spec->spec, sizeof spec->spec, "%s", ls->spec);
    json_t *params = nd_backtest_params_json(ss->def, ss->params);
    char *text = json_dumps(params, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(params);
    bool fits = text && strlen(text) < sizeof spec->params;
    if (fits)
        memcpy(spec->params, text, strlen(text) + 1);
    free(text); /* tidy:allow jansson allocates with the C library */
    char err[512] = "";
    if (!fits || nd_pipeline_code_hash(spec->kind, ls->spec, "/proc/self/exe", ND_BUILD_VERSION,
                                       spec->code_hash, err, sizeof err) != ND_OK) {
        fprintf(stderr, "noderr pipeline: %s: strategies[%u]: %s\n", cfg->path, k,
                fits ? err : "its parameters are too long to record");
        return -1;
    }
    return 0;
}

/* Loads and resolves a session config; 0 or ND_EXIT_USAGE (message printed). */
static int load_config(const char *cmd, const char *path, nd_live_config_t *cfg)
{
    char err[512] = "";
    if (nd_live_config_load(path, cfg, err, sizeof err) != ND_OK) {
        fprintf(stderr, "noderr %s: %s\n", cmd, err);
        return ND_EXIT_USAGE;
    }
    return nd_cli_live_strategies(cfg, cmd) == 0 ? 0 : ND_EXIT_USAGE;
}

static int register_all(const pl_opts_t *o, nd_live_config_t *cfg, nd_pipeline_t *p,
                        nd_store_t *s)
{
    nd_pipeline_actor_t who = {o->operator_name, o->reason ? o->reason : "", o->now_ns, false};
    json_t *out = json_array();
    for (uint32_t k = 0; k < cfg->strategy_count; k++) {
        nd_pipeline_spec_t spec;
        char id[ND_PIPELINE_ID_LEN + 1], err[512] = "";
        bool added = false;
        if (config_spec(cfg, k, &spec) != 0) {
            json_decref(out);
            return ND_EXIT_USAGE;
        }
        if (nd_pipeline_register(p, s, &spec, &who, id, &added, err, sizeof err) != ND_OK) {
            fprintf(stderr, "noderr pipeline register: --db %s: %s\n", o->db, err);
            json_decref(out);
            return ND_EXIT_USAGE;
        }
        const nd_pipeline_version_t *v = nd_pipeline_find(p, id);
        if (!o->json)
            printf("%s  %-16s %s (%s)\n", id, spec.strategy, added ? "registered in dev"
                   : "known", nd_pipeline_stage_name(v->stage));
        json_array_append_new(out, json_pack("{s:s, s:s, s:b, s:s}", "id", id, "strategy",
                                             spec.strategy, "added", added, "stage",
                                             nd_pipeline_stage_name(v->stage)));
    }
    if (o->json)
        return nd_cli_print_json_take(json_pack("{s:o}", "versions", out)) == 0
                   ? ND_EXIT_OK : ND_EXIT_USAGE;
    json_decref(out);
    return ND_EXIT_OK;
}

static const char pipeline_usage[] =
    "usage: noderr pipeline --db URL [--json]\n"
    "       noderr pipeline register --db URL --config FILE [--operator NAME] [--now ISO]\n"
    "                                [--json]\n"
    "\n"
    "Shows each strategy version's stage (dev, backtest, paper, canary, production, retired)\n"
    "and its history, rebuilt from the pipeline records of the compliance store at URL\n"
    "(sqlite:PATH, PATH, postgresql://...; --store is the same option). `register` adds the\n"
    "versions of a session config's strategies in dev (a version: the strategy, its\n"
    "parameters and its code hash; a version already there is left as it is). See\n"
    "docs/launcher.md \"Pipeline\"; noderr promote and noderr rollback move versions.\n";

int nd_cmd_pipeline(int argc, char **argv)
{
    static const nd_cli_opt_t options[] = {PL_COMMON, ND_CLI_TEXT("config", pl_opts_t, config),
                                           ND_CLI_OPTS_END};
    bool reg = argc >= 2 && strcmp(argv[1], "register") == 0;
    pl_opts_t o;
    int rc = reg ? pl_parse("pipeline register", argc - 1, argv + 1, options, pipeline_usage, &o)
                 : pl_parse("pipeline", argc, argv, options, pipeline_usage, &o);
    if (rc != 0)
        return rc < 0 ? ND_EXIT_OK : rc;
    if (!reg)
        return o.config ? (fprintf(stderr, "noderr pipeline: --config is for pipeline "
                                   "register\n"), ND_EXIT_USAGE) : pipeline_show(&o);
    if (!o.config) {
        fprintf(stderr, "noderr pipeline register: give --config FILE, a session config\n");
        return ND_EXIT_USAGE;
    }
    nd_live_config_t *cfg = nd_calloc(1, sizeof *cfg);
    nd_store_t *s = NULL;
    nd_pipeline_t *p = NULL;
    int code = !cfg ? ND_EXIT_USAGE : load_config("pipeline register", o.config, cfg);
    if (code == 0)
        code = pl_open("pipeline register", &o, ND_STORE_CREATE, &s, &p);
    if (code == 0)
        code = register_all(&o, cfg, p, s);
    pl_close(s, p);
    if (cfg)
        nd_live_config_free(cfg);
    nd_free(cfg);
    return code;
}

/* --state-dir: the launch running there is the store's one writer, so the change is asked of
 * it (live.h nd_live_pipeline_request) and its answer printed. */
static int ask_launch(const char *cmd, const pl_opts_t *o)
{
    json_t *body = json_pack("{s:s, s:s}", "action", cmd, "operator", o->operator_name);
    if (!body)
        return ND_EXIT_USAGE;
    if (o->version)
        json_object_set_new(body, "version", json_string(o->version));
    if (o->strategy)
        json_object_set_new(body, "strategy", json_string(o->strategy));
    if (o->to)
        json_object_set_new(body, "to", json_string(o->to));
    if (o->reason)
        json_object_set_new(body, "reason", json_string(o->reason));
    int status = 0;
    char msg[512] = "";
    nd_err_t rc = nd_live_pipeline_request(o->state_dir, body, nd_clock_os(), 10000, &status, msg,
                                           sizeof msg);
    json_decref(body);
    if (rc != ND_OK) {
        fprintf(stderr, "noderr %s: %s\n", cmd, msg);
        return ND_EXIT_CHECK_FAILED;
    }
    if (o->json)
        nd_cli_print_json_take(json_pack("{s:i, s:s}", "status", status, "message", msg));
    else
        printf("%s\n", msg);
    return status == 200 ? ND_EXIT_OK : ND_EXIT_CHECK_FAILED;
}

/* The options of promote and rollback: where to (--to), why, and the launch to ask instead of the
 * store. */
#define PL_MOVE                                                                          \
    ND_CLI_TEXT("to", pl_opts_t, to), ND_CLI_TEXT("reason", pl_opts_t, reason),         \
        ND_CLI_TEXT("state-dir", pl_opts_t, state_dir)

/* promote and rollback: the options, what the command needs (missing: NULL, or the message),
 * then the launch running in --state-dir is asked, or the store is changed by run. Returns the
 * exit code. */
static int pl_move(const char *cmd, int argc, char **argv, const nd_cli_opt_t *options,
                   const char *usage, const char *(*missing)(const pl_opts_t *o),
                   int (*run)(const pl_opts_t *o))
{
    pl_opts_t o;
    int rc = pl_parse(cmd, argc, argv, options, usage, &o);
    if (rc != 0)
        return rc < 0 ? ND_EXIT_OK : rc;
    const char *why = missing(&o);
    if (why) {
        fprintf(stderr, "noderr %s: %s (see --help)\n", cmd, why);
        return ND_EXIT_USAGE;
    }
    return o.state_dir ? ask_launch(cmd, &o) : run(&o);
}

/* ---- noderr promote --------------------------------------------------------------------- */

/* The paper gate's evidence from a session config and a ticks file of the paper period: the
 * session's records of the version's strategy since it entered paper, and an event-level
 * backtest of the config's strategies over the ticks. 0 or ND_EXIT_USAGE (message printed). */
static int paper_evidence(const pl_opts_t *o, const nd_live_config_t *cfg, nd_store_t *s,
                          const nd_pipeline_version_t *v, nd_pipeline_evidence_t *ev)
{
    bool found = false;
    for (uint32_t k = 0; k < cfg->strategy_count && !found; k++) {
        nd_pipeline_spec_t spec;
        char id[ND_PIPELINE_ID_LEN + 1];
        if (config_spec(cfg, k, &spec) != 0)
            return ND_EXIT_USAGE;
        found = nd_pipeline_version_id(&spec, id) == ND_OK && strcmp(id, v->id) == 0;
    }
    if (!found) {
        fprintf(stderr, "noderr promote: %s: no strategy of version %s (%s %s): the paper gate "
                "compares that session's trading\n", o->config, v->id, v->spec.strategy,
                v->spec.params);
        return ND_EXIT_USAGE;
    }
    nd_backtest_config_t *bt = nd_alloc(sizeof *bt);
    char err[512] = "";
    if (!bt)
        return ND_EXIT_USAGE;
    *bt = cfg->bt;
    bt->ticks.trades_path = o->ticks;
    nd_err_t rc = nd_pipeline_exec_stats_load(s, v->spec.strategy, cfg->name, v->stage_since_ns,
                                              o->now_ns, &ev->paper, err, sizeof err);
    if (rc != ND_OK)
        fprintf(stderr, "noderr promote: --db %s: %s\n", o->db, err);
    else if ((rc = nd_pipeline_backtest_stats(bt, v->spec.strategy, &ev->backtest, err,
                                              sizeof err)) != ND_OK)
        fprintf(stderr, "noderr promote: --ticks %s: %s\n", o->ticks, err);
    nd_free(bt);
    ev->paper_present = rc == ND_OK;
    ev->capital = cfg->bt.engine.initial_cash;
    snprintf(ev->paper_source, sizeof ev->paper_source, "ticks %s", o->ticks);
    return rc == ND_OK ? 0 : ND_EXIT_USAGE;
}

/* Reads the evidence files the options name into ev and the gates' config; 0 or
 * ND_EXIT_USAGE. */
static int gather(const pl_opts_t *o, nd_store_t *s, const nd_pipeline_version_t *v,
                  nd_live_config_t *cfg, nd_pipeline_config_t *pcfg, nd_pipeline_evidence_t *ev)
{
    char err[512] = "";
    nd_pipeline_config_default(pcfg);
    ev->now_ns = o->now_ns;
    if (o->validate &&
        nd_pipeline_validation_load(o->validate, &v->spec, &ev->validation, err, sizeof err) !=
            ND_OK) {
        fprintf(stderr, "noderr promote: --validate-report %s\n", err);
        return ND_EXIT_USAGE;
    }
    if (o->ticks && !o->config) {
        fprintf(stderr, "noderr promote: --ticks needs --config, the paper session's config\n");
        return ND_EXIT_USAGE;
    }
    if (!o->config)
        return 0;
    if (load_config("promote", o->config, cfg) != 0)
        return ND_EXIT_USAGE;
    json_t *launch = json_object_get(cfg->root, "launch");
    if (nd_pipeline_config_parse(json_object_get(launch, "pipeline"), cfg->path, pcfg, err,
                                 sizeof err) != ND_OK) {
        fprintf(stderr, "noderr promote: %s\n", err);
        return ND_EXIT_USAGE;
    }
    return o->ticks ? paper_evidence(o, cfg, s, v, ev) : 0;
}

static int print_promotion(const pl_opts_t *o, const nd_pipeline_version_t *v,
                           nd_pipeline_stage_t from, const nd_pipeline_gates_t *g, nd_err_t rc)
{
    if (o->json) {
        json_t *gates = json_array();
        for (int k = 0; k < ND_GATE_COUNT; k++)
            if (g->gate[k].applies)
                json_array_append_new(gates, json_pack("{s:s, s:b, s:s}", "name",
                                                       nd_pipeline_gate_name(k), "passed",
                                                       g->gate[k].passed, "reason",
                                                       g->gate[k].reason));
        return nd_cli_print_json_take(json_pack(
                   "{s:s, s:s, s:s, s:s, s:b, s:o}", "version", v->id, "strategy",
                   v->spec.strategy, "from", nd_pipeline_stage_name(from), "stage",
                   nd_pipeline_stage_name(v->stage), "promoted", rc == ND_OK, "gates", gates)) == 0
                   ? ND_EXIT_OK : ND_EXIT_USAGE;
    }
    for (int k = 0; k < ND_GATE_COUNT; k++)
        if (g->gate[k].applies)
            printf("%-4s %-16s %s\n", g->gate[k].passed ? "pass" : "fail",
                   nd_pipeline_gate_name(k), g->gate[k].reason);
    if (rc == ND_OK)
        printf("%s %s: %s -> %s%s\n", v->id, v->spec.strategy, nd_pipeline_stage_name(from),
               nd_pipeline_stage_name(v->stage), o->force ? " (forced by the operator)" : "");
    return ND_EXIT_OK;
}

static int promote_run(const pl_opts_t *o, nd_store_t *s, nd_pipeline_t *p,
                       nd_live_config_t *cfg)
{
    const nd_pipeline_version_t *v = nd_pipeline_find(p, o->version);
    if (!v) {
        fprintf(stderr, "noderr promote: --version %s: no such version in %s (noderr pipeline "
                "register adds a config's versions)\n", o->version, o->db);
        return ND_EXIT_USAGE;
    }
    nd_pipeline_stage_t from = v->stage, to = from + 1;
    if (o->to && nd_pipeline_stage_parse(o->to, &to) != ND_OK) {
        fprintf(stderr, "noderr promote: --to %s: not a stage (dev, backtest, paper, canary, "
                "production)\n", o->to);
        return ND_EXIT_USAGE;
    }
    nd_pipeline_config_t pcfg;
    nd_pipeline_evidence_t *ev = nd_calloc(1, sizeof *ev);
    int code = ev ? gather(o, s, v, cfg, &pcfg, ev) : ND_EXIT_USAGE;
    nd_pipeline_gates_t g;
    memset(&g, 0, sizeof g);
    char err[1024] = "";
    nd_pipeline_actor_t who = {o->operator_name, o->reason ? o->reason : "", o->now_ns, o->force};
    nd_err_t rc = code == 0 ? nd_pipeline_promote(p, s, &pcfg, v->id, to, ev, &who, &g, err,
                                                  sizeof err)
                            : ND_EINVAL;
    v = nd_pipeline_find(p, o->version);
    if (code == 0 && (rc == ND_OK || rc == ND_EDECLINED))
        code = print_promotion(o, v, from, &g, rc);
    if (code == 0 && rc != ND_OK) {
        fprintf(stderr, "noderr promote: %s\n", err);
        code = rc == ND_EDECLINED ? ND_EXIT_CHECK_FAILED : ND_EXIT_USAGE;
    }
    nd_free(ev);
    return code;
}

static const char promote_usage[] =
    "usage: noderr promote --db URL --version ID [--to STAGE] [--validate-report FILE]\n"
    "                      [--config FILE --ticks FILE] [--force --operator NAME --reason TEXT]\n"
    "                      [--now ISO] [--json]\n"
    "       noderr promote --state-dir DIR --version ID [--operator NAME] [--json]\n"
    "\n"
    "Moves a strategy version to its next stage (or to --to STAGE: a later stage needs\n"
    "--force, an earlier one is a demotion) when its gates pass, and records the move in the\n"
    "audit chain. Gates: dev -> backtest needs --validate-report (a `noderr validate --json`\n"
    "report of that strategy with those parameters, no scenario failed); paper -> canary needs\n"
    "launch.pipeline.paper_days in paper and the session's P&L, slippage and fill rate within\n"
    "tolerance of an event-level backtest: --config is the paper session's config (its store\n"
    "records and its launch.pipeline settings) and --ticks a trades file of the paper period;\n"
    "canary -> production needs canary_days in canary and retires the production version.\n"
    "Exit 1 naming each failed gate; --force records an override with --operator and --reason.\n"
    "While a launch runs on the store, --state-dir DIR asks it instead (the store's one\n"
    "writer): a canary version goes to production through its gate and into its slot.\n";

/* What promote needs besides the store: NULL, or why not (the message). */
static const char *promote_missing(const pl_opts_t *o)
{
    if (!o->version)
        return "give --version ID";
    if (o->force && (!o->operator_given || !o->reason || !o->reason[0]))
        return "--force needs --operator NAME and --reason TEXT";
    return NULL;
}

static int promote_store(const pl_opts_t *o)
{
    nd_live_config_t *cfg = nd_calloc(1, sizeof *cfg);
    nd_store_t *s = NULL;
    nd_pipeline_t *p = NULL;
    int code = cfg ? pl_open("promote", o, 0, &s, &p) : ND_EXIT_USAGE;
    if (code == 0)
        code = promote_run(o, s, p, cfg);
    pl_close(s, p);
    if (cfg)
        nd_live_config_free(cfg);
    nd_free(cfg);
    return code;
}

int nd_cmd_promote(int argc, char **argv)
{
    static const nd_cli_opt_t options[] = {
        PL_COMMON,
        PL_MOVE,
        ND_CLI_TEXT("version", pl_opts_t, version),
        ND_CLI_TEXT("validate-report", pl_opts_t, validate),
        ND_CLI_TEXT("config", pl_opts_t, config),
        ND_CLI_TEXT("ticks", pl_opts_t, ticks),
        ND_CLI_SET("force", pl_opts_t, force),
        ND_CLI_OPTS_END,
    };
    return pl_move("promote", argc, argv, options, promote_usage, promote_missing,
                   promote_store);
}

/* ---- noderr rollback -------------------------------------------------------------------- */

static const char rollback_usage[] =
    "usage: noderr rollback (--db URL | --state-dir DIR) --strategy NAME [--to VERSION]\n"
    "                       --reason TEXT [--operator NAME] [--now ISO] [--json]\n"
    "\n"
    "Rolls a strategy back by hand: its production version is demoted to dev and the version\n"
    "it replaced (or --to VERSION, a retired version of that strategy) goes back to\n"
    "production, in one commit recorded in the audit chain. The launcher does the same on a\n"
    "breaker trip or a failed health check, and cuts the strategy's capital share to\n"
    "launch.pipeline.rollback_share of what it was. While a launch runs on the store, ask it\n"
    "with --state-dir DIR instead of --db (it is the store's one writer): it rolls the\n"
    "strategy back in its slot at once and answers; exit 1 when refused or unanswered.\n";

static const char *rollback_missing(const pl_opts_t *o)
{
    return !o->strategy ? "give --strategy NAME"
           : !o->reason || !o->reason[0] ? "give --reason TEXT"
                                         : NULL;
}

static int rollback_store(const pl_opts_t *o)
{
    nd_store_t *s = NULL;
    nd_pipeline_t *p = NULL;
    if (pl_open("rollback", o, 0, &s, &p) != 0)
        return ND_EXIT_USAGE;
    nd_pipeline_config_t pcfg;
    nd_pipeline_config_default(&pcfg);
    nd_pipeline_actor_t who = {o->operator_name, o->reason, o->now_ns, false};
    nd_pipeline_rollback_t out;
    char err[512] = "";
    int code = ND_EXIT_OK;
    if (nd_pipeline_rollback(p, s, &pcfg, o->strategy, o->to, &who, 1000000, &out, err,
                             sizeof err) != ND_OK) {
        fprintf(stderr, "noderr rollback: %s\n", err);
        code = ND_EXIT_USAGE;
    } else if (o->json) {
        code = nd_cli_print_json_take(json_pack("{s:s, s:s, s:s, s:s, s:s}", "strategy",
                                                o->strategy, "from", out.from_id, "to", out.to_id,
                                                "kind", out.spec.kind, "spec", out.spec.spec)) == 0
                   ? ND_EXIT_OK : ND_EXIT_USAGE;
    } else {
        printf("%s rolled back: %s (now in dev) -> %s (production again: %s %s)\n", o->strategy,
               out.from_id, out.to_id, out.spec.spec, out.spec.params);
    }
    pl_close(s, p);
    return code;
}

int nd_cmd_rollback(int argc, char **argv)
{
    static const nd_cli_opt_t options[] = {
        PL_COMMON,
        PL_MOVE,
        ND_CLI_TEXT("strategy", pl_opts_t, strategy),
        ND_CLI_OPTS_END,
    };
    return pl_move("rollback", argc, argv, options, rollback_usage, rollback_missing,
                   rollback_store);
}
