/* ramp.c: the capital ramp (ramp.h, docs/launcher.md "Capital ramp"): its schedule, the tick
 * that advances, pauses and resumes it, the cut after a rollback, its events and its saved state.
 *
 * Both schedule kinds are a list of steps (progress at which a step starts, its share): a steps
 * schedule is its list, a linear one has step k at k * interval (capped at the duration) with
 * share from + (to - from) * min(k * interval, duration) / duration, floored to millionths. Step
 * starts increase and shares never decrease, so lookups are binary searches. Invariants: the
 * share is schedule(progress); progress only grows by ticks (never by more than the wall time
 * between them) and only falls by a cut. */
#include "noderr/ramp.h"

#include "noderr/assert.h"
#include "noderr/clock.h"
#include "noderr/json_cfg.h"
#include "noderr/scenario.h"

#include <stdio.h>
#include <string.h>

/* ---- the schedule as steps ---- */

static int64_t step_count(const nd_ramp_config_t *cfg)
{
    if (cfg->kind == ND_RAMP_STEPS)
        return cfg->step_count;
    ND_ASSERT(cfg->interval_ns > 0);
    return (cfg->duration_ns + cfg->interval_ns - 1) / cfg->interval_ns + 1;
}

static void step_at(const nd_ramp_config_t *cfg, int64_t k, int64_t *at_ns, int64_t *share_e6)
{
    ND_ASSERT(k >= 0 && k < step_count(cfg));
    if (cfg->kind == ND_RAMP_STEPS) {
        *at_ns = cfg->steps[k].at_ns;
        *share_e6 = cfg->steps[k].share_e6;
        return;
    }
    int64_t t = k * cfg->interval_ns;
    if (t > cfg->duration_ns)
        t = cfg->duration_ns;
    *at_ns = t;
    *share_e6 = cfg->from_e6 + (int64_t)((__int128)(cfg->to_e6 - cfg->from_e6) * t /
                                         cfg->duration_ns);
}

/* The last step starting at or before progress_ns. */
static int64_t step_index(const nd_ramp_config_t *cfg, int64_t progress_ns)
{
    ND_ASSERT(progress_ns >= 0);
    int64_t lo = 0, hi = step_count(cfg) - 1; /* step 0 starts at 0 */
    while (lo < hi) {
        int64_t mid = lo + (hi - lo + 1) / 2, at, share;
        step_at(cfg, mid, &at, &share);
        if (at <= progress_ns)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

int64_t nd_ramp_schedule_share(const nd_ramp_config_t *cfg, int64_t progress_ns)
{
    int64_t at, share;
    step_at(cfg, step_index(cfg, progress_ns), &at, &share);
    ND_ASSERT(share > 0 && share <= ND_RAMP_SHARE_ONE);
    return share;
}

int64_t nd_ramp_schedule_step_start(const nd_ramp_config_t *cfg, int64_t progress_ns)
{
    int64_t at, share;
    step_at(cfg, step_index(cfg, progress_ns), &at, &share);
    ND_ASSERT(at <= progress_ns);
    return at;
}

int64_t nd_ramp_schedule_end(const nd_ramp_config_t *cfg)
{
    int64_t at, share;
    step_at(cfg, step_count(cfg) - 1, &at, &share);
    return at;
}

/* ---- configuration ---- */

void nd_ramp_config_default(nd_ramp_config_t *out)
{
    memset(out, 0, sizeof *out);
    out->kind = ND_RAMP_LINEAR;
    out->from_e6 = 50000;
    out->to_e6 = ND_RAMP_SHARE_ONE;
    out->duration_ns = 30 * ND_NS_PER_DAY;
    out->interval_ns = ND_NS_PER_DAY;
    out->resume_after_ns = 60 * ND_NS_PER_SEC;
    out->gap_max_ns = 120 * ND_NS_PER_SEC;
}

static nd_err_t parse_linear(nd_jcfg_t *c, json_t *lin, nd_ramp_config_t *cfg)
{
    if (!json_is_object(lin))
        return nd_jcfg_bad(c, "linear", "must be an object {\"from\", \"to\", \"days\"}");
    snprintf(c->key, sizeof c->key, "launch.ramp.linear");
    static const char *const keys[] = {"from", "to", "days", "interval_s", NULL};
    int64_t days = 30, interval_s = 86400;
    nd_err_t rc;
    if ((rc = nd_jcfg_keys(c, lin, keys)) != ND_OK ||
        (rc = nd_jcfg_fraction(c, lin, "from", 0.000001, 1, 6, &cfg->from_e6)) != ND_OK ||
        (rc = nd_jcfg_fraction(c, lin, "to", 0.000001, 1, 6, &cfg->to_e6)) != ND_OK ||
        (rc = nd_jcfg_int(c, lin, "days", 1, 3650, &days)) != ND_OK ||
        (rc = nd_jcfg_int(c, lin, "interval_s", 60, days * 86400, &interval_s)) != ND_OK)
        return rc;
    if (cfg->to_e6 < cfg->from_e6)
        return nd_jcfg_bad(c, "to", "is below \"from\": a ramp never goes down");
    cfg->kind = ND_RAMP_LINEAR;
    cfg->duration_ns = days * ND_NS_PER_DAY;
    cfg->interval_ns = interval_s * ND_NS_PER_SEC;
    snprintf(c->key, sizeof c->key, "launch.ramp");
    return ND_OK;
}

static nd_err_t parse_step(nd_jcfg_t *c, json_t *item, uint32_t k, nd_ramp_config_t *cfg)
{
    static const char *const keys[] = {"day", "share", NULL};
    if (!json_is_object(item))
        return nd_jcfg_bad(c, NULL, "must be an object {\"day\", \"share\"}");
    if (!json_object_get(item, "day") || !json_object_get(item, "share"))
        return nd_jcfg_bad(c, NULL, "needs both \"day\" and \"share\"");
    int64_t day_e6 = 0, share_e6 = 0;
    nd_err_t rc;
    if ((rc = nd_jcfg_keys(c, item, keys)) != ND_OK ||
        (rc = nd_jcfg_fraction(c, item, "day", 0, 3650, 6, &day_e6)) != ND_OK ||
        (rc = nd_jcfg_fraction(c, item, "share", 0.000001, 1, 6, &share_e6)) != ND_OK)
        return rc;
    int64_t at_ns = day_e6 * (ND_NS_PER_DAY / 1000000);
    if (k == 0 && at_ns != 0)
        return nd_jcfg_bad(c, "day", "the first step must be day 0");
    if (k > 0 && at_ns <= cfg->steps[k - 1].at_ns)
        return nd_jcfg_bad(c, "day", "must be after the previous step's day");
    if (k > 0 && share_e6 < cfg->steps[k - 1].share_e6)
        return nd_jcfg_bad(c, "share", "is below the previous step's: a ramp never goes down");
    cfg->steps[k].at_ns = at_ns;
    cfg->steps[k].share_e6 = share_e6;
    return ND_OK;
}

static nd_err_t parse_steps(nd_jcfg_t *c, json_t *steps, nd_ramp_config_t *cfg)
{
    if (!json_is_array(steps) || json_array_size(steps) == 0 ||
        json_array_size(steps) > ND_RAMP_STEPS_MAX) {
        char why[96];
        snprintf(why, sizeof why, "must be a list of 1 to %d steps {\"day\", \"share\"}",
                 ND_RAMP_STEPS_MAX);
        return nd_jcfg_bad(c, "steps", why);
    }
    for (uint32_t k = 0; k < json_array_size(steps); k++) {
        snprintf(c->key, sizeof c->key, "launch.ramp.steps[%u]", k);
        nd_err_t rc = parse_step(c, json_array_get(steps, k), k, cfg);
        if (rc != ND_OK)
            return rc;
    }
    cfg->kind = ND_RAMP_STEPS;
    cfg->step_count = (uint32_t)json_array_size(steps);
    snprintf(c->key, sizeof c->key, "launch.ramp");
    return ND_OK;
}

nd_err_t nd_ramp_config_parse(const json_t *obj, const char *where, nd_ramp_config_t *out,
                              char *err, size_t err_len)
{
    ND_ASSERT(out != NULL);
    nd_ramp_config_t cfg;
    nd_ramp_config_default(&cfg);
    nd_jcfg_t c = {.path = where ? where : "config", .err = err, .err_len = err_len};
    json_t *o;
    nd_err_t orc = nd_jcfg_section(&c, obj, "launch.ramp", &o);
    if (orc != ND_OK)
        return orc;
    if (o) {
        static const char *const keys[] = {"linear", "steps", "resume_after_s", "gap_max_s", NULL};
        int64_t resume_s = 60, gap_s = 120;
        json_t *lin = json_object_get(o, "linear"), *steps = json_object_get(o, "steps");
        nd_err_t rc;
        if (lin && steps)
            return nd_jcfg_bad(&c, "steps", "give either \"linear\" or \"steps\", not both");
        if ((rc = nd_jcfg_keys(&c, o, keys)) != ND_OK ||
            (lin && (rc = parse_linear(&c, lin, &cfg)) != ND_OK) ||
            (steps && (rc = parse_steps(&c, steps, &cfg)) != ND_OK) ||
            (rc = nd_jcfg_int(&c, o, "resume_after_s", 0, 30 * 86400, &resume_s)) != ND_OK ||
            (rc = nd_jcfg_int(&c, o, "gap_max_s", 1, 86400, &gap_s)) != ND_OK)
            return rc;
        cfg.resume_after_ns = resume_s * ND_NS_PER_SEC;
        cfg.gap_max_ns = gap_s * ND_NS_PER_SEC;
    }
    *out = cfg;
    return ND_OK;
}

/* ---- the ramp ---- */

void nd_ramp_init(nd_ramp_t *r, const nd_ramp_config_t *cfg)
{
    ND_ASSERT(r != NULL);
    ND_ASSERT(step_count(cfg) >= 1);
    memset(r, 0, sizeof *r);
    r->cfg = *cfg;
    r->healthy_since_ns = -1;
}

static void event(nd_ramp_t *r, nd_ramp_event_kind_t kind, int64_t at_ns, int64_t before,
                  const char *why, nd_ramp_event_t *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->kind = kind;
    ev->at_ns = at_ns;
    ev->share_before_e6 = before;
    ev->share_after_e6 = r->share_e6;
    ev->progress_ns = r->progress_ns;
    if (why)
        snprintf(ev->reason, sizeof ev->reason, "%s", why);
}

static void first_tick(nd_ramp_t *r, int64_t now_ns, bool healthy, const char *why,
                       nd_ramp_event_t *out, uint32_t *count)
{
    r->started = true;
    r->start_ns = now_ns;
    r->last_tick_ns = now_ns;
    r->progress_ns = 0;
    r->share_e6 = nd_ramp_schedule_share(&r->cfg, 0);
    event(r, ND_RAMP_EV_START, now_ns, 0, NULL, &out[(*count)++]);
    if (!healthy) {
        r->paused = true;
        r->pauses++;
        event(r, ND_RAMP_EV_PAUSE, now_ns, r->share_e6, why ? why : "unhealthy",
              &out[(*count)++]);
    }
}

nd_err_t nd_ramp_tick(nd_ramp_t *r, int64_t now_ns, bool healthy, const char *why,
                      nd_ramp_event_t out[ND_RAMP_TICK_EVENTS_MAX], uint32_t *count)
{
    ND_ASSERT(r != NULL && out != NULL);
    *count = 0;
    if (!r->started) {
        first_tick(r, now_ns, healthy, why, out, count);
        return ND_OK;
    }
    if (now_ns < r->last_tick_ns)
        return ND_EINVAL;
    int64_t dt = now_ns - r->last_tick_ns;
    r->last_tick_ns = now_ns;
    if (!healthy) {
        r->healthy_since_ns = -1;
        if (!r->paused) {
            r->paused = true;
            r->pauses++;
            event(r, ND_RAMP_EV_PAUSE, now_ns, r->share_e6, why ? why : "unhealthy",
                  &out[(*count)++]);
        }
        return ND_OK;
    }
    if (r->paused) {
        /* The interval before the resuming tick does not count: the ramp was paused in it. */
        if (r->healthy_since_ns < 0)
            r->healthy_since_ns = now_ns;
        if (now_ns - r->healthy_since_ns < r->cfg.resume_after_ns)
            return ND_OK;
        r->paused = false;
        r->healthy_since_ns = -1;
        event(r, ND_RAMP_EV_RESUME, now_ns, r->share_e6, NULL, &out[(*count)++]);
        return ND_OK;
    }
    if (dt <= r->cfg.gap_max_ns)
        r->progress_ns += dt;
    int64_t before = r->share_e6;
    r->share_e6 = nd_ramp_schedule_share(&r->cfg, r->progress_ns);
    ND_ASSERT(r->share_e6 >= before);
    ND_ASSERT(r->progress_ns <= now_ns - r->start_ns);
    if (r->share_e6 > before)
        event(r, ND_RAMP_EV_ADVANCE, now_ns, before, NULL, &out[(*count)++]);
    return ND_OK;
}

nd_err_t nd_ramp_cut(nd_ramp_t *r, int64_t now_ns, int64_t factor_e6, const char *why,
                     nd_ramp_event_t *out)
{
    ND_ASSERT(r != NULL && out != NULL);
    if (!r->started)
        return ND_ESTATE;
    if (factor_e6 < 0 || factor_e6 > ND_RAMP_SHARE_ONE)
        return ND_EINVAL;
    int64_t before = r->share_e6;
    int64_t target = (int64_t)((__int128)before * factor_e6 / ND_RAMP_SHARE_ONE);
    /* The latest step at or before the current one whose share is at most the target. */
    int64_t lo = 0, hi = step_index(&r->cfg, r->progress_ns), at, share;
    step_at(&r->cfg, 0, &at, &share);
    if (share > target) {
        hi = 0;
    } else {
        while (lo < hi) {
            int64_t mid = lo + (hi - lo + 1) / 2;
            step_at(&r->cfg, mid, &at, &share);
            if (share <= target)
                lo = mid;
            else
                hi = mid - 1;
        }
    }
    step_at(&r->cfg, hi, &at, &share);
    ND_ASSERT(at <= r->progress_ns);
    r->progress_ns = at;
    r->share_e6 = share;
    r->cuts++;
    event(r, ND_RAMP_EV_CUT, now_ns, before, why ? why : "rollback", out);
    ND_ASSERT(r->share_e6 <= before);
    return ND_OK;
}

/* ---- events and state ---- */

const char *nd_ramp_event_name(nd_ramp_event_kind_t kind)
{
    static const char *const names[] = {"start", "advance", "pause", "resume", "cut"};
    return (unsigned)kind < sizeof names / sizeof names[0] ? names[kind] : "unknown";
}

json_t *nd_ramp_event_json(const nd_ramp_event_t *ev)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "event", json_string(nd_ramp_event_name(ev->kind)));
    json_object_set_new(o, "at", nd_json_time(ev->at_ns));
    json_object_set_new(o, "share_before", nd_json_fixed(ev->share_before_e6, 6));
    json_object_set_new(o, "share_after", nd_json_fixed(ev->share_after_e6, 6));
    json_object_set_new(o, "progress_s", json_integer(ev->progress_ns / ND_NS_PER_SEC));
    json_object_set_new(o, "reason", json_string(ev->reason));
    return o;
}

json_t *nd_ramp_state_json(const nd_ramp_t *r)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "started", json_boolean(r->started));
    json_object_set_new(o, "paused", json_boolean(r->paused));
    json_object_set_new(o, "start_ns", json_integer(r->start_ns));
    json_object_set_new(o, "last_tick_ns", json_integer(r->last_tick_ns));
    json_object_set_new(o, "progress_ns", json_integer(r->progress_ns));
    json_object_set_new(o, "healthy_since_ns", json_integer(r->healthy_since_ns));
    json_object_set_new(o, "share", nd_json_fixed(r->share_e6, 6));
    json_object_set_new(o, "pauses", json_integer(r->pauses));
    json_object_set_new(o, "cuts", json_integer(r->cuts));
    return o;
}

static nd_err_t state_int(const json_t *state, const char *field, int64_t lo, int64_t *out,
                          char *err, size_t err_len)
{
    json_t *v = json_object_get(state, field);
    if (!json_is_integer(v) || json_integer_value(v) < lo) {
        nd_err_put(err, err_len, "ramp state: %s: missing or not a whole number >= %lld", field,
                   (long long)lo);
        return ND_EPARSE;
    }
    *out = (int64_t)json_integer_value(v);
    return ND_OK;
}

nd_err_t nd_ramp_state_load(nd_ramp_t *r, const nd_ramp_config_t *cfg, const json_t *state,
                            char *err, size_t err_len)
{
    ND_ASSERT(r != NULL && cfg != NULL);
    json_t *started = json_object_get(state, "started"), *paused = json_object_get(state, "paused");
    if (!json_is_object(state) || !json_is_boolean(started) || !json_is_boolean(paused)) {
        nd_err_put(err, err_len, "ramp state: not an object with \"started\" and \"paused\"");
        return ND_EPARSE;
    }
    nd_ramp_t s;
    nd_ramp_init(&s, cfg);
    s.started = json_is_true(started);
    s.paused = json_is_true(paused);
    int64_t pauses = 0, cuts = 0;
    nd_err_t rc;
    if ((rc = state_int(state, "start_ns", 0, &s.start_ns, err, err_len)) != ND_OK ||
        (rc = state_int(state, "last_tick_ns", s.start_ns, &s.last_tick_ns, err, err_len)) !=
            ND_OK ||
        (rc = state_int(state, "progress_ns", 0, &s.progress_ns, err, err_len)) != ND_OK ||
        (rc = state_int(state, "healthy_since_ns", -1, &s.healthy_since_ns, err, err_len)) !=
            ND_OK ||
        (rc = state_int(state, "pauses", 0, &pauses, err, err_len)) != ND_OK ||
        (rc = state_int(state, "cuts", 0, &cuts, err, err_len)) != ND_OK)
        return rc;
    if (s.progress_ns > s.last_tick_ns - s.start_ns) {
        nd_err_put(err, err_len, "ramp state: progress_ns exceeds the time since the start");
        return ND_EPARSE;
    }
    s.pauses = (uint32_t)pauses;
    s.cuts = (uint32_t)cuts;
    s.share_e6 = s.started ? nd_ramp_schedule_share(cfg, s.progress_ns) : 0;
    *r = s;
    return ND_OK;
}
