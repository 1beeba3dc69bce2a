/* guard.c: the automatic rollback triggers (guard.h, docs/launcher.md "Automatic rollback"):
 * the observations a guard keeps, its rules in order, its config and its decision record.
 *
 * Invariants: error_count <= ND_GUARD_ERRORS_MAX and the ring holds the latest error times
 * (when it is full the oldest is dropped, which never hides a burst: errors_max is at most the
 * ring's size); nothing dated before since_ns is kept. */
#include "noderr/guard.h"

#include "noderr/assert.h"
#include "noderr/clock.h"
#include "noderr/fixed.h"
#include "noderr/json_cfg.h"
#include "noderr/scenario.h"

#include <stdio.h>
#include <string.h>

void nd_guard_config_default(nd_guard_config_t *out)
{
    memset(out, 0, sizeof *out);
    out->on_breaker = true;
    out->drawdown_e6 = 80000;
    out->drawdown_pause_e6 = 40000;
    out->error_window_ns = 300 * ND_NS_PER_SEC;
    out->errors_max = 20;
    out->errors_pause = 5;
    out->health_failures = 3;
    out->cut_e6 = 500000;
}

static nd_err_t check_config(nd_jcfg_t *c, const nd_guard_config_t *cfg)
{
    if (cfg->drawdown_pause_e6 >= cfg->drawdown_e6)
        return nd_jcfg_bad(c, "drawdown_pause", "must be below \"drawdown\" (0 turns it off)");
    if (cfg->errors_pause >= cfg->errors_max)
        return nd_jcfg_bad(c, "errors_pause", "must be below \"errors_max\" (0 turns it off)");
    return ND_OK;
}

nd_err_t nd_guard_config_parse(const json_t *obj, const char *where, nd_guard_config_t *out,
                               char *err, size_t err_len)
{
    ND_ASSERT(out != NULL);
    nd_guard_config_t cfg;
    nd_guard_config_default(&cfg);
    nd_jcfg_t c = {.path = where ? where : "config", .err = err, .err_len = err_len};
    int64_t errors_max = cfg.errors_max, errors_pause = cfg.errors_pause;
    int64_t health = cfg.health_failures;
    const nd_jcfg_field_t fields[] = {
        {"on_breaker", ND_JCFG_BOOL, .out = &cfg.on_breaker},
        {"drawdown", ND_JCFG_FRACTION, &cfg.drawdown_e6, .real_lo = 0.000001, .real_hi = 1,
         .places = 6},
        {"drawdown_pause", ND_JCFG_FRACTION, &cfg.drawdown_pause_e6, .real_hi = 1, .places = 6},
        {"error_window_s", ND_JCFG_INT, &cfg.error_window_ns, .lo = 1, .hi = 86400,
         .scale = ND_NS_PER_SEC},
        {"errors_max", ND_JCFG_INT, &errors_max, .lo = 1, .hi = ND_GUARD_ERRORS_MAX},
        {"errors_pause", ND_JCFG_INT, &errors_pause, .lo = 0, .hi = ND_GUARD_ERRORS_MAX},
        {"health_failures", ND_JCFG_INT, &health, .lo = 1, .hi = 1000},
        {"cut", ND_JCFG_FRACTION, &cfg.cut_e6, .real_hi = 1, .places = 6},
        {.key = NULL},
    };
    json_t *o;
    nd_err_t rc = nd_jcfg_section_fields(&c, obj, "launch.rollback", fields, &o);
    if (rc != ND_OK)
        return rc;
    cfg.errors_max = (uint32_t)errors_max;
    cfg.errors_pause = (uint32_t)errors_pause;
    cfg.health_failures = (uint32_t)health;
    rc = check_config(&c, &cfg);
    if (rc != ND_OK)
        return rc;
    *out = cfg;
    return ND_OK;
}

void nd_guard_init(nd_guard_t *g, const nd_guard_config_t *cfg, int64_t since_ns)
{
    ND_ASSERT(g != NULL && cfg != NULL);
    ND_ASSERT(cfg->errors_max >= 1 && cfg->errors_max <= ND_GUARD_ERRORS_MAX);
    memset(g, 0, sizeof *g);
    g->cfg = *cfg;
    g->since_ns = since_ns;
    g->drawdown_at_ns = -1;
    g->health_at_ns = -1;
}

void nd_guard_reset(nd_guard_t *g, int64_t since_ns)
{
    nd_guard_config_t cfg = g->cfg;
    nd_guard_init(g, &cfg, since_ns);
}

void nd_guard_breaker(nd_guard_t *g, int64_t at_ns, const char *breaker_name)
{
    if (at_ns < g->since_ns || g->breaker_tripped)
        return; /* the first trip is the one reported */
    g->breaker_tripped = true;
    g->breaker_at_ns = at_ns;
    snprintf(g->breaker_name, sizeof g->breaker_name, "%s", breaker_name ? breaker_name : "?");
}

void nd_guard_drawdown(nd_guard_t *g, int64_t at_ns, int64_t drawdown_e6)
{
    ND_ASSERT(drawdown_e6 >= 0);
    if (at_ns < g->since_ns || at_ns < g->drawdown_at_ns)
        return;
    g->drawdown_e6 = drawdown_e6;
    g->drawdown_at_ns = at_ns;
}

void nd_guard_error(nd_guard_t *g, int64_t at_ns)
{
    if (at_ns < g->since_ns)
        return;
    g->errors_total++;
    if (g->error_count < ND_GUARD_ERRORS_MAX) {
        g->error_at_ns[(g->error_head + g->error_count) % ND_GUARD_ERRORS_MAX] = at_ns;
        g->error_count++;
        return;
    }
    /* Full: replace the oldest if this one is newer. */
    uint32_t oldest = 0;
    for (uint32_t k = 1; k < ND_GUARD_ERRORS_MAX; k++)
        if (g->error_at_ns[k] < g->error_at_ns[oldest])
            oldest = k;
    if (g->error_at_ns[oldest] < at_ns)
        g->error_at_ns[oldest] = at_ns;
}

void nd_guard_health(nd_guard_t *g, int64_t at_ns, bool ok)
{
    if (at_ns < g->since_ns || at_ns < g->health_at_ns)
        return;
    g->health_at_ns = at_ns;
    g->health_failed_run = ok ? 0 : g->health_failed_run + 1;
}

uint32_t nd_guard_errors_in_window(const nd_guard_t *g, int64_t now_ns)
{
    uint32_t n = 0;
    for (uint32_t k = 0; k < g->error_count; k++) {
        int64_t at = g->error_at_ns[(g->error_head + k) % ND_GUARD_ERRORS_MAX];
        n += at > now_ns - g->cfg.error_window_ns && at <= now_ns;
    }
    ND_ASSERT(n <= ND_GUARD_ERRORS_MAX);
    return n;
}

static void decide(nd_guard_decision_t *out, nd_guard_action_t action,
                   nd_guard_trigger_t trigger, const nd_guard_config_t *cfg)
{
    out->action = action;
    out->trigger = trigger;
    out->cut_e6 = action == ND_GUARD_ROLLBACK ? cfg->cut_e6 : 0;
}

static void pct(int64_t e6, char *buf, size_t cap)
{
    nd_fixed_format(e6, 4, buf, cap); /* millionths are 10^-4 percent */
}

/* Rule 5 (pause), once no rollback rule held. */
static void evaluate_pause(const nd_guard_t *g, uint32_t errors, nd_guard_decision_t *out)
{
    const nd_guard_config_t *cfg = &g->cfg;
    char a[24], b[24];
    if (cfg->drawdown_pause_e6 > 0 && g->drawdown_at_ns >= 0 &&
        g->drawdown_e6 >= cfg->drawdown_pause_e6) {
        pct(g->drawdown_e6, a, sizeof a);
        pct(cfg->drawdown_pause_e6, b, sizeof b);
        decide(out, ND_GUARD_PAUSE_RAMP, ND_GUARD_TRIGGER_DRAWDOWN, cfg);
        snprintf(out->reason, sizeof out->reason, "drawdown %s%% >= pause threshold %s%%", a, b);
    } else if (cfg->errors_pause > 0 && errors >= cfg->errors_pause) {
        decide(out, ND_GUARD_PAUSE_RAMP, ND_GUARD_TRIGGER_ERRORS, cfg);
        snprintf(out->reason, sizeof out->reason, "%u rejects and venue errors in %llds >= %u",
                 errors, (long long)(cfg->error_window_ns / ND_NS_PER_SEC), cfg->errors_pause);
    } else if (g->health_failed_run > 0) {
        decide(out, ND_GUARD_PAUSE_RAMP, ND_GUARD_TRIGGER_HEALTH, cfg);
        snprintf(out->reason, sizeof out->reason, "health check failed (%u in a row)",
                 g->health_failed_run);
    }
}

void nd_guard_evaluate(const nd_guard_t *g, int64_t now_ns, nd_guard_decision_t *out)
{
    ND_ASSERT(g != NULL && out != NULL);
    const nd_guard_config_t *cfg = &g->cfg;
    memset(out, 0, sizeof *out);
    uint32_t errors = nd_guard_errors_in_window(g, now_ns);
    char a[24], b[24];
    if (cfg->on_breaker && g->breaker_tripped && g->breaker_at_ns <= now_ns) {
        decide(out, ND_GUARD_ROLLBACK, ND_GUARD_TRIGGER_BREAKER, cfg);
        snprintf(out->reason, sizeof out->reason, "breaker %s tripped", g->breaker_name);
    } else if (g->drawdown_at_ns >= 0 && g->drawdown_e6 >= cfg->drawdown_e6) {
        pct(g->drawdown_e6, a, sizeof a);
        pct(cfg->drawdown_e6, b, sizeof b);
        decide(out, ND_GUARD_ROLLBACK, ND_GUARD_TRIGGER_DRAWDOWN, cfg);
        snprintf(out->reason, sizeof out->reason, "drawdown %s%% >= rollback threshold %s%%", a,
                 b);
    } else if (errors >= cfg->errors_max) {
        decide(out, ND_GUARD_ROLLBACK, ND_GUARD_TRIGGER_ERRORS, cfg);
        snprintf(out->reason, sizeof out->reason, "%u rejects and venue errors in %llds >= %u",
                 errors, (long long)(cfg->error_window_ns / ND_NS_PER_SEC), cfg->errors_max);
    } else if (g->health_failed_run >= cfg->health_failures) {
        decide(out, ND_GUARD_ROLLBACK, ND_GUARD_TRIGGER_HEALTH, cfg);
        snprintf(out->reason, sizeof out->reason, "%u consecutive failed health checks >= %u",
                 g->health_failed_run, cfg->health_failures);
    } else {
        evaluate_pause(g, errors, out);
    }
    ND_ASSERT(out->action != ND_GUARD_NONE || out->trigger == ND_GUARD_TRIGGER_NONE);
}

const char *nd_guard_action_name(nd_guard_action_t action)
{
    static const char *const names[] = {"none", "pause_ramp", "rollback"};
    return (unsigned)action < 3 ? names[action] : "unknown";
}

const char *nd_guard_trigger_name(nd_guard_trigger_t trigger)
{
    static const char *const names[] = {"none", "breaker", "drawdown", "errors", "health"};
    return (unsigned)trigger < 5 ? names[trigger] : "unknown";
}

json_t *nd_guard_decision_json(const nd_guard_decision_t *d, int64_t at_ns)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "action", json_string(nd_guard_action_name(d->action)));
    json_object_set_new(o, "trigger", json_string(nd_guard_trigger_name(d->trigger)));
    json_object_set_new(o, "cut", nd_json_fixed(d->cut_e6, 6));
    json_object_set_new(o, "reason", json_string(d->reason));
    json_object_set_new(o, "at", nd_json_time(at_ns));
    return o;
}
