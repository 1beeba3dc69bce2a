/* launch_capital.c: how much capital each strategy of a launch trades with, and what happens
 * when one misbehaves (docs/launcher.md "Capital ramp", "Allocation", "Automatic rollback").
 *
 * Each slot k trades with weight_k = ramp_k share x allocation_k weight (the config's weight
 * without "launch.allocation"), set on the engine at every tick. Its guard watches the engine's
 * breaker trips, the slot's drawdown (its P&L below its peak, as a share of its capital), the
 * account's rejects and the health check; a rollback puts the pipeline's previous version into
 * the slot (or pauses the slot when there is none) and cuts the slot's ramp; the other slots go
 * on. Every event is recorded in the store and the state is written to launch-state.json, so a
 * restart resumes the ramps and the allocation. */
#include "launch_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/dashboard.h"
#include "noderr/file.h"
#include "noderr/fixed.h"
#include "noderr/log.h"

#include <stdio.h>
#include <string.h>

#define NS_PER_DAY (86400LL * 1000000000LL)
#define E6 1000000LL

static void record_json(nd__launch_capital_t *c, const char *action, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    nd_live_session_record(c->session, action, text ? text : "{}");
    ND_LOG(ND_LOG_INFO, "event=%s detail=%s", action, text ? text : "{}");
    nd_free(text);
    json_decref(j);
}

static nd_engine_t *engine_of(const nd__launch_capital_t *c)
{
    return nd_live_session_engine(c->session);
}

/* The slot's P&L (net of fees) and the capital its weight gives it, in cash units. */
static void slot_pnl(const nd__launch_capital_t *c, uint32_t k, int64_t *pnl, int64_t *capital)
{
    const nd_engine_t *e = engine_of(c);
    nd_attribution_t a;
    nd_portfolio_by_strategy(nd_engine_portfolio(e), k, &a);
    *pnl = a.net;
    int64_t cap = 0;
    if (nd_fixed_mul_div(nd_portfolio_initial_cash(nd_engine_portfolio(e)),
                         nd_engine_strategy_weight(e, k), E6, ND_ROUND_DOWN, &cap) != ND_OK)
        cap = 0;
    *capital = cap;
}

static int64_t alloc_weight(const nd__launch_capital_t *c, uint32_t k)
{
    return c->lc->allocation_dynamic ? c->alloc.weight_e6[k] : c->base_weight_e6[k];
}

/* Weights go down first, then up, so their sum never passes 1 on the way. */
static void apply_weights(nd__launch_capital_t *c)
{
    nd_engine_t *e = engine_of(c);
    int64_t want[ND_STRATEGIES_MAX];
    for (uint32_t k = 0; k < c->count; k++)
        want[k] = c->ramp[k].share_e6 * alloc_weight(c, k) / E6;
    for (int pass = 0; pass < 2; pass++)
        for (uint32_t k = 0; k < c->count; k++) {
            int64_t now = nd_engine_strategy_weight(e, k);
            if ((pass == 0) != (want[k] < now) || want[k] == now)
                continue;
            if (nd_engine_strategy_set_weight(e, k, want[k]) != ND_OK)
                ND_LOG(ND_LOG_ERR, "event=weight_refused strategy=%u weight_e6=%lld", k,
                       (long long)want[k]);
        }
}

/* What the guards see since the last tick: the engine's trips and rejects, each slot's
 * drawdown from its P&L peak, the health check. */
static void observe(nd__launch_capital_t *c, int64_t now_ns, bool healthy, const bool *slot_ok)
{
    const nd_engine_t *e = engine_of(c);
    const nd_risk_t *r = nd_engine_risk(e);
    bool tripped = r->trips > c->trips_seen;
    c->trips_seen = r->trips;
    int64_t rejects = nd_engine_stats(e)->orders_rejected;
    int64_t new_rejects = rejects - c->rejects_seen;
    c->rejects_seen = rejects;
    if (new_rejects > ND_GUARD_ERRORS_MAX)
        new_rejects = ND_GUARD_ERRORS_MAX; /* the guard keeps no more */
    for (uint32_t k = 0; k < c->count; k++) {
        nd_guard_t *g = &c->guard[k];
        if (tripped)
            nd_guard_breaker(g, now_ns, r->kill_switch ? "kill_switch"
                                                       : nd_breaker_kind_name(r->halt_kind));
        int64_t pnl, capital;
        slot_pnl(c, k, &pnl, &capital);
        if (pnl > c->peak_pnl[k])
            c->peak_pnl[k] = pnl;
        int64_t dd = 0;
        if (capital > 0 &&
            nd_fixed_mul_div(c->peak_pnl[k] - pnl, E6, capital, ND_ROUND_DOWN, &dd) != ND_OK)
            dd = E6;
        nd_guard_drawdown(g, now_ns, dd < E6 ? dd : E6);
        for (int64_t j = 0; j < new_rejects; j++)
            nd_guard_error(g, now_ns);
        nd_guard_health(g, now_ns, slot_ok ? slot_ok[k] : healthy);
    }
}

/* The pipeline's production version of slot k's strategy: what the launch runs there. */
static void slot_version(nd__launch_capital_t *c, uint32_t k)
{
    const char *name = nd_engine_strategy_def(engine_of(c), k)->name;
    const nd_pipeline_version_t *v =
        c->pipeline ? nd_pipeline_in_stage(c->pipeline, name, ND_STAGE_PRODUCTION) : NULL;
    snprintf(c->version[k], sizeof c->version[k], "%s", v ? v->id : "unregistered");
    c->stage[k] = v ? (int)ND_STAGE_PRODUCTION : -1;
}

/* Another version took slot k: its guard and drawdown peak start afresh (its P&L from here),
 * and with fresh_ramp its ramp too (a version new to the slot earns its capital again). */
static void new_version(nd__launch_capital_t *c, uint32_t k, int64_t now_ns, bool fresh_ramp)
{
    if (fresh_ramp)
        nd_ramp_init(&c->ramp[k], &c->lc->ramp);
    nd_guard_reset(&c->guard[k], now_ns);
    int64_t capital;
    slot_pnl(c, k, &c->peak_pnl[k], &capital);
}

/* The previous version into slot k, from the pipeline; none (no store, no production version
 * with a retired one before it, or it cannot be loaded): the slot is paused instead, so the
 * version that tripped never trades on. */
static bool roll_back(nd__launch_capital_t *c, uint32_t k, int64_t now_ns,
                      const nd_guard_decision_t *d, const char *actor, const char *to_id)
{
    nd_engine_t *e = engine_of(c);
    const nd_strategy_def_t *cur = nd_engine_strategy_def(e, k);
    char err[256] = "no pipeline (the launch has no store)";
    nd_err_t rc = ND_ENOTFOUND;
    nd_pipeline_rollback_t out;
    if (c->pipeline) {
        nd_pipeline_actor_t who = {actor, d->reason, now_ns, false};
        rc = nd_pipeline_rollback(c->pipeline, nd_live_session_store(c->session), &c->lc->pipeline,
                                  cur->name, to_id, &who, c->ramp[k].share_e6, &out, err,
                                  sizeof err);
    }
    const nd_strategy_def_t *def = NULL;
    double params[ND_STRATEGY_PARAMS_MAX];
    if (rc == ND_OK)
        rc = c->resolve ? c->resolve(c->resolve_ctx, &out.spec, &def, params, err, sizeof err)
                        : ND_ESTATE;
    if (rc == ND_OK)
        rc = nd_engine_strategy_replace(e, k, def, params, err, sizeof err);
    json_t *j = nd_guard_decision_json(d, now_ns);
    json_object_set_new(j, "strategy", json_integer(k));
    json_object_set_new(j, "from", json_string(cur->name));
    if (rc == ND_OK) {
        json_object_set_new(j, "to_version", json_string(out.to_id));
        json_object_set_new(j, "from_version", json_string(out.from_id));
        slot_version(c, k);
    } else {
        nd_engine_strategy_pause(e, k, true);
        json_object_set_new(j, "paused_instead", json_string(err));
    }
    c->rollbacks++;
    record_json(c, "rollback", j);
    nd_ramp_event_t ev;
    if (nd_ramp_cut(&c->ramp[k], now_ns, d->cut_e6, d->reason, &ev) == ND_OK)
        record_json(c, "ramp", nd_ramp_event_json(&ev));
    new_version(c, k, now_ns, false); /* cut above, not restarted */
    return rc == ND_OK;
}

/* Each slot's day: its P&L change over the capital it had at the day's start. */
static void close_day(nd__launch_capital_t *c, int64_t now_ns)
{
    if (c->day_start_ns == 0 || now_ns - c->day_start_ns >= NS_PER_DAY) {
        for (uint32_t k = 0; c->day_start_ns != 0 && k < c->count; k++) {
            int64_t pnl, capital, ret = 0;
            slot_pnl(c, k, &pnl, &capital);
            if (c->day_capital[k] > 0 &&
                nd_fixed_mul_div(pnl - c->day_pnl[k], E6, c->day_capital[k], ND_ROUND_DOWN,
                                 &ret) != ND_OK)
                ret = 0;
            if (c->return_count[k] == ND__LAUNCH_RETURNS_MAX) {
                memmove(c->returns_e6[k], c->returns_e6[k] + 1,
                        (ND__LAUNCH_RETURNS_MAX - 1) * sizeof(int64_t));
                c->return_count[k]--;
            }
            c->returns_e6[k][c->return_count[k]++] = ret < -E6 ? -E6 : ret;
        }
        c->day_start_ns = now_ns;
        for (uint32_t k = 0; k < c->count; k++)
            slot_pnl(c, k, &c->day_pnl[k], &c->day_capital[k]);
    }
}

static void rebalance(nd__launch_capital_t *c, int64_t now_ns)
{
    if (!c->lc->allocation_dynamic || !nd_allocation_due(&c->alloc, now_ns))
        return;
    nd_allocation_input_t in[ND_STRATEGIES_MAX];
    for (uint32_t k = 0; k < c->count; k++)
        in[k] = (nd_allocation_input_t){c->returns_e6[k], c->return_count[k],
                                        !nd_engine_strategy_paused(engine_of(c), k)};
    nd_allocation_event_t ev;
    char err[256];
    if (nd_allocation_rebalance(&c->alloc, now_ns, in, c->count, &ev, err, sizeof err) != ND_OK) {
        ND_LOG(ND_LOG_ERR, "event=allocation_refused why=\"%s\"", err);
        return;
    }
    record_json(c, "allocation", nd_allocation_event_json(&ev));
}

/* ---- the dashboard's promote and roll back ---------------------------------------------- */

/* Promote: the strategy's canary version to production through its gate (days in canary), then
 * into the slot, on a fresh ramp from its first share (a new version earns its capital again). */
static int promote(nd__launch_capital_t *c, uint32_t k, const char *who, int64_t now_ns,
                   char *msg, size_t msg_len)
{
    nd_engine_t *e = engine_of(c);
    const char *name = nd_engine_strategy_def(e, k)->name;
    const nd_pipeline_version_t *v = nd_pipeline_in_stage(c->pipeline, name, ND_STAGE_CANARY);
    if (!v) {
        snprintf(msg, msg_len, "no canary version of %s to promote", name);
        return 409;
    }
    char id[ND_PIPELINE_ID_LEN + 1];
    snprintf(id, sizeof id, "%s", v->id);
    nd_pipeline_spec_t spec = v->spec;
    nd_pipeline_evidence_t ev = {.now_ns = now_ns};
    nd_pipeline_actor_t actor = {who, "promoted from the dashboard", now_ns, false};
    nd_pipeline_gates_t gates;
    char err[256] = "";
    nd_err_t rc = nd_pipeline_promote(c->pipeline, nd_live_session_store(c->session),
                                      &c->lc->pipeline, id, ND_STAGE_PRODUCTION, &ev, &actor,
                                      &gates, err, sizeof err);
    const nd_strategy_def_t *def = NULL;
    double params[ND_STRATEGY_PARAMS_MAX];
    if (rc == ND_OK)
        rc = c->resolve ? c->resolve(c->resolve_ctx, &spec, &def, params, err, sizeof err)
                        : ND_ESTATE;
    if (rc == ND_OK)
        rc = nd_engine_strategy_replace(e, k, def, params, err, sizeof err);
    if (rc != ND_OK) {
        snprintf(msg, msg_len, "%s %s not promoted: %s", name, id, err[0] ? err : nd_strerror(rc));
        return 409;
    }
    new_version(c, k, now_ns, true);
    slot_version(c, k);
    json_t *j = json_pack("{s:s, s:s, s:i, s:s}", "version", id, "strategy_name", name,
                          "strategy", (json_int_t)k, "by", who);
    record_json(c, "promotion", j);
    snprintf(msg, msg_len, "%s %s promoted to production; its ramp starts again", name, id);
    return 200;
}

int nd__launch_capital_control(nd__launch_capital_t *c, bool promote_it, const char *strategy,
                               const char *who, int64_t now_ns, char *msg, size_t msg_len)
{
    return nd__launch_capital_change(c, promote_it, strategy, NULL,
                                     promote_it ? "promoted from the dashboard"
                                                : "rolled back by hand from the dashboard",
                                     who, now_ns, msg, msg_len);
}

int nd__launch_capital_change(nd__launch_capital_t *c, bool promote_it, const char *strategy,
                              const char *to_id, const char *reason, const char *who,
                              int64_t now_ns, char *msg, size_t msg_len)
{
    int k = nd_dashboard_strategy_find(engine_of(c), strategy);
    if (k < 0) {
        snprintf(msg, msg_len, "no strategy '%s'", strategy);
        return 404;
    }
    if (!c->pipeline) {
        snprintf(msg, msg_len, "this launch has no store, so no pipeline");
        return 409;
    }
    if (promote_it)
        return promote(c, (uint32_t)k, who, now_ns, msg, msg_len);
    nd_guard_decision_t d = {.action = ND_GUARD_ROLLBACK, .cut_e6 = c->lc->rollback.cut_e6};
    snprintf(d.reason, sizeof d.reason, "%s", reason);
    bool replaced = roll_back(c, (uint32_t)k, now_ns, &d, who, to_id);
    snprintf(msg, msg_len, replaced ? "%s rolled back to version %s"
                                    : "%s: no previous version to roll back to; paused instead",
             strategy, c->version[k]);
    return replaced ? 200 : 409;
}

/* A pipeline request of the command line (nd_live_pipeline_request): the launch is the store's
 * one writer while it runs, so the command asks it. */
int nd__launch_capital_request(nd__launch_capital_t *c, const json_t *req, int64_t now_ns,
                               char *msg, size_t msg_len)
{
    const char *action = json_string_value(json_object_get(req, "action"));
    const char *strategy = json_string_value(json_object_get(req, "strategy"));
    const char *version = json_string_value(json_object_get(req, "version"));
    const char *to = json_string_value(json_object_get(req, "to"));
    const char *reason = json_string_value(json_object_get(req, "reason"));
    const char *op = json_string_value(json_object_get(req, "operator"));
    char who[96];
    snprintf(who, sizeof who, "cli:%s", op && op[0] ? op : "operator");
    bool promote_it = action && strcmp(action, "promote") == 0;
    if (promote_it && version && c->pipeline) { /* the version's strategy, if it is its canary */
        const nd_pipeline_version_t *v = nd_pipeline_find(c->pipeline, version);
        if (!v || v->stage != ND_STAGE_CANARY) {
            snprintf(msg, msg_len, "version %s is %s: a running launch promotes a canary version "
                     "into production only", version, v ? nd_pipeline_stage_name(v->stage)
                                                       : "unknown");
            return 409;
        }
        strategy = v->spec.strategy;
    }
    if (!action || (!promote_it && strcmp(action, "rollback") != 0) || !strategy ||
        (!promote_it && (!reason || !reason[0]))) {
        snprintf(msg, msg_len, "a malformed pipeline request");
        return 400;
    }
    return nd__launch_capital_change(c, promote_it, strategy, to, reason ? reason : "", who,
                                     now_ns, msg, msg_len);
}

/* ---- the pipeline is the authority ------------------------------------------------------- */

/* A strategy with a production version in the pipeline runs that version, whatever the config
 * names: after a rollback, a restart with the same config must not bring the rolled-back
 * version back. The same version (definition and parameters) is left as it is. */
void nd__launch_capital_adopt(nd__launch_capital_t *c, int64_t now_ns, bool fresh_ramp)
{
    nd_engine_t *e = engine_of(c);
    for (uint32_t k = 0; c->pipeline && c->resolve && k < c->count; k++) {
        const nd_strategy_def_t *cur = nd_engine_strategy_def(e, k);
        const nd_pipeline_version_t *v =
            nd_pipeline_in_stage(c->pipeline, cur->name, ND_STAGE_PRODUCTION);
        const nd_strategy_def_t *def = NULL;
        double params[ND_STRATEGY_PARAMS_MAX] = {0};
        char err[256] = "";
        if (!v || c->resolve(c->resolve_ctx, &v->spec, &def, params, err, sizeof err) != ND_OK)
            continue;
        if (def == cur &&
            memcmp(params, nd_engine_strategy_params(e, k),
                   (size_t)def->param_count * sizeof(double)) == 0)
            continue;
        if (nd_engine_strategy_replace(e, k, def, params, err, sizeof err) != ND_OK) {
            ND_LOG(ND_LOG_ERR, "event=adopt_failed strategy=%u version=%s why=\"%s\"", k, v->id,
                   err);
            continue;
        }
        if (fresh_ramp) /* while running: a new version in the slot */
            new_version(c, k, now_ns, true);
        slot_version(c, k);
        json_t *j = json_pack("{s:i, s:s, s:s}", "strategy", (json_int_t)k, "version", v->id,
                              "why", "the pipeline's production version, not the config's");
        record_json(c, "adopt_version", j);
    }
}

void nd__launch_capital_reload(nd__launch_capital_t *c, int64_t now_ns)
{
    nd_store_t *store = nd_live_session_store(c->session);
    nd_pipeline_t *fresh = NULL;
    char err[256] = "";
    if (!store || nd_pipeline_load(store, &fresh, err, sizeof err) != ND_OK) {
        ND_LOG(ND_LOG_ERR, "event=pipeline_reload_failed why=\"%s\"", err[0] ? err : "no store");
        return;
    }
    nd_pipeline_free(c->pipeline);
    c->pipeline = fresh;
    ND_LOG(ND_LOG_INFO, "event=pipeline_reloaded");
    nd__launch_capital_adopt(c, now_ns, true);
}

/* ---- the state file ---------------------------------------------------------------------- */

static json_t *state_json(const nd__launch_capital_t *c)
{
    json_t *j = json_object(), *ramps = json_array(), *rets = json_array();
    for (uint32_t k = 0; k < c->count; k++) {
        json_array_append_new(ramps, nd_ramp_state_json(&c->ramp[k]));
        json_t *r = json_array();
        for (uint32_t d = 0; d < c->return_count[k]; d++)
            json_array_append_new(r, json_integer(c->returns_e6[k][d]));
        json_array_append_new(rets, r);
    }
    json_object_set_new(j, "strategies", json_integer(c->count));
    json_object_set_new(j, "ramps", ramps);
    json_object_set_new(j, "allocation", nd_allocation_state_json(&c->alloc));
    json_object_set_new(j, "daily_returns_e6", rets);
    return j;
}

static void save_state(nd__launch_capital_t *c)
{
    json_t *j = state_json(c);
    char *text = json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS);
    json_decref(j);
    nd_file_out_t out;
    char err[256] = "out of memory";
    nd_err_t rc = text ? nd_file_out_open(&out, c->state_path, err, sizeof err) : ND_ENOMEM;
    if (rc == ND_OK) {
        bool ok = fputs(text, out.f) >= 0 && fputc('\n', out.f) != EOF;
        rc = nd_file_out_close(&out, ok, err, sizeof err);
        if (!ok && rc == ND_OK)
            rc = ND_EIO;
    }
    if (rc != ND_OK)
        ND_LOG(ND_LOG_ERR, "event=launch_state_write_failed why=\"%s\"", err);
    nd_free(text);
}

/* A previous run's state: ramps and allocation resume (a different number of strategies starts
 * afresh, said in the log). */
static nd_err_t load_state(nd__launch_capital_t *c, char *err, size_t err_len)
{
    json_error_t je;
    json_t *j = json_load_file(c->state_path, 0, &je);
    if (!j)
        return ND_OK; /* none yet: a first launch */
    json_t *ramps = json_object_get(j, "ramps"), *rets = json_object_get(j, "daily_returns_e6");
    nd_err_t rc = ND_OK;
    if (json_integer_value(json_object_get(j, "strategies")) != (json_int_t)c->count ||
        json_array_size(ramps) != c->count || json_array_size(rets) != c->count) {
        ND_LOG(ND_LOG_WARN, "event=launch_state_ignored why=\"another set of strategies\"");
        json_decref(j);
        return ND_OK;
    }
    for (uint32_t k = 0; rc == ND_OK && k < c->count; k++) {
        rc = nd_ramp_state_load(&c->ramp[k], &c->lc->ramp, json_array_get(ramps, k), err,
                                err_len);
        json_t *r = json_array_get(rets, k);
        for (size_t d = 0; rc == ND_OK && d < json_array_size(r) && d < ND__LAUNCH_RETURNS_MAX; d++)
            c->returns_e6[k][c->return_count[k]++] = json_integer_value(json_array_get(r, d));
    }
    if (rc == ND_OK)
        rc = nd_allocation_state_load(&c->alloc, &c->lc->allocation,
                                      json_object_get(j, "allocation"), err, err_len);
    json_decref(j);
    if (rc != ND_OK) {
        char why[256];
        snprintf(why, sizeof why, "%s", err);
        snprintf(err, err_len, "%s: %s", c->state_path, why);
    }
    return rc;
}

/* ---- open, tick, status, close ----------------------------------------------------------- */

nd_err_t nd__launch_capital_open(nd__launch_capital_t *c, const nd_launch_config_t *lc,
                                 const nd_live_config_t *cfg, nd_live_session_t *session,
                                 int64_t now_ns, char *err, size_t err_len)
{
    nd_launch_resolve_fn fn = c->resolve;
    void *ctx = c->resolve_ctx;
    memset(c, 0, sizeof *c);
    c->resolve = fn;
    c->resolve_ctx = ctx;
    c->lc = lc;
    c->cfg = cfg;
    c->session = session;
    nd_engine_t *e = engine_of(c);
    c->count = nd_engine_strategy_count(e);
    snprintf(c->state_path, sizeof c->state_path, "%s/launch-state.json", cfg->state_dir);
    nd_allocation_init(&c->alloc, &lc->allocation);
    for (uint32_t k = 0; k < c->count; k++) {
        c->base_weight_e6[k] = nd_engine_strategy_weight(e, k);
        nd_ramp_init(&c->ramp[k], &lc->ramp);
        nd_guard_init(&c->guard[k], &lc->rollback, now_ns);
    }
    nd_err_t rc = load_state(c, err, err_len);
    nd_store_t *store = nd_live_session_store(session);
    if (rc == ND_OK && store)
        rc = nd_pipeline_load(store, &c->pipeline, err, err_len);
    if (rc != ND_OK)
        return rc;
    for (uint32_t k = 0; k < c->count; k++)
        slot_version(c, k);
    c->trips_seen = nd_engine_risk(e)->trips;
    c->rejects_seen = nd_engine_stats(e)->orders_rejected;
    nd__launch_capital_tick(c, now_ns, true, NULL); /* the first shares before any event */
    return ND_OK;
}

void nd__launch_capital_tick(nd__launch_capital_t *c, int64_t now_ns, bool healthy,
                             const bool *slot_ok)
{
    observe(c, now_ns, healthy, slot_ok);
    for (uint32_t k = 0; k < c->count; k++) {
        nd_guard_decision_t d;
        nd_guard_evaluate(&c->guard[k], now_ns, &d);
        if (d.action == ND_GUARD_ROLLBACK)
            roll_back(c, k, now_ns, &d, "launch", NULL);
        nd_ramp_event_t ev[ND_RAMP_TICK_EVENTS_MAX];
        uint32_t n = 0;
        const char *why = !healthy ? "health check failed" : d.reason;
        if (nd_ramp_tick(&c->ramp[k], now_ns, healthy && d.action == ND_GUARD_NONE, why, ev, &n) !=
            ND_OK)
            continue;
        for (uint32_t i = 0; i < n; i++) {
            json_t *j = nd_ramp_event_json(&ev[i]);
            json_object_set_new(j, "strategy", json_integer(k));
            record_json(c, "ramp", j);
        }
    }
    close_day(c, now_ns);
    rebalance(c, now_ns);
    apply_weights(c);
    save_state(c);
}

json_t *nd__launch_capital_json(const nd__launch_capital_t *c)
{
    const nd_engine_t *e = engine_of(c);
    json_t *a = json_array();
    for (uint32_t k = 0; k < c->count; k++) {
        char share[32], weight[32], alloc[32];
        nd_fixed_format(c->ramp[k].share_e6, 6, share, sizeof share);
        nd_fixed_format(alloc_weight(c, k), 6, alloc, sizeof alloc);
        nd_fixed_format(nd_engine_strategy_weight(e, k), 6, weight, sizeof weight);
        json_t *j = json_object();
        json_object_set_new(j, "strategy", json_string(nd_engine_strategy_def(e, k)->name));
        json_object_set_new(j, "version", json_string(c->version[k]));
        json_object_set_new(j, "ramp_share", json_string(share));
        json_object_set_new(j, "ramp_paused", json_boolean(c->ramp[k].paused));
        json_object_set_new(j, "ramp_progress_s", json_integer(c->ramp[k].progress_ns / 1000000000));
        json_object_set_new(j, "allocation", json_string(alloc));
        json_object_set_new(j, "weight", json_string(weight));
        json_object_set_new(j, "paused", json_boolean(nd_engine_strategy_paused(e, k)));
        json_array_append_new(a, j);
    }
    json_t *j = json_object();
    json_object_set_new(j, "strategies", a);
    json_object_set_new(j, "rollbacks", json_integer(c->rollbacks));
    json_object_set_new(j, "allocation_rule", json_string(c->lc->allocation_dynamic
                                                             ? "inverse_volatility"
                                                             : "config weights"));
    return j;
}

void nd__launch_capital_close(nd__launch_capital_t *c)
{
    nd_pipeline_free(c->pipeline);
    c->pipeline = NULL;
}
