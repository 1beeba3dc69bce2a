/* supervisor.c: modules as restartable units (supervisor.h). The rule that everything else
 * follows: a module is usable (UP or DEGRADED) only while every module it depends on is usable;
 * otherwise it is BLOCKED and was told so. */
#include "noderr/supervisor.h"

#include "noderr/assert.h"
#include "noderr/log.h"

#include <stdio.h>
#include <string.h>

#define NS_PER_MS 1000000LL

void nd_sup_config_default(nd_sup_config_t *cfg)
{
    cfg->backoff_min_ns = 100 * NS_PER_MS;
    cfg->backoff_max_ns = 30000 * NS_PER_MS;
    cfg->reset_after_ns = 60000 * NS_PER_MS;
}

void nd_sup_init(nd_sup_t *sup, const nd_sup_config_t *cfg, nd_sup_change_cb on_change,
                 void *ctx)
{
    memset(sup, 0, sizeof *sup);
    sup->cfg = *cfg;
    sup->on_change = on_change;
    sup->change_ctx = ctx;
}

const char *nd_sup_state_name(nd_sup_state_t state)
{
    switch (state) {
    case ND_SUP_DOWN: return "down";
    case ND_SUP_UP: return "up";
    case ND_SUP_DEGRADED: return "degraded";
    case ND_SUP_FAILED: return "failed";
    case ND_SUP_BLOCKED: return "blocked";
    }
    return "unknown";
}

nd_err_t nd_sup_find(const nd_sup_t *sup, const char *name, uint32_t *index)
{
    for (uint32_t k = 0; k < sup->count; k++)
        if (strcmp(sup->modules[k].name, name) == 0) {
            *index = k;
            return ND_OK;
        }
    return ND_ENOTFOUND;
}

nd_err_t nd_sup_add(nd_sup_t *sup, const char *name, const nd_sup_module_ops_t *ops,
                    const char *const *deps, uint32_t *index)
{
    ND_ASSERT(sup != NULL && name != NULL && ops != NULL && !sup->started);
    uint32_t unused;
    if (sup->count >= ND_SUP_MODULES_MAX)
        return ND_EFULL;
    if (!name[0] || strlen(name) >= sizeof sup->modules[0].name ||
        nd_sup_find(sup, name, &unused) == ND_OK)
        return ND_EINVAL;
    nd_sup_module_t *m = &sup->modules[sup->count];
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", name);
    m->ops = *ops;
    for (uint32_t k = 0; deps && deps[k]; k++) {
        if (m->dep_count >= ND_SUP_DEPS_MAX)
            return ND_EFULL;
        if (nd_sup_find(sup, deps[k], &m->deps[m->dep_count]) != ND_OK)
            return ND_ENOTFOUND;
        m->dep_count++;
    }
    if (index)
        *index = sup->count;
    sup->count++;
    return ND_OK;
}

int64_t nd_sup_backoff_ns(const nd_sup_config_t *cfg, uint32_t k)
{
    int64_t wait = cfg->backoff_min_ns;
    for (uint32_t j = 1; j < k && wait < cfg->backoff_max_ns; j++)
        wait *= 2;
    return wait < cfg->backoff_max_ns ? wait : cfg->backoff_max_ns;
}

static bool usable(nd_sup_state_t s)
{
    return s == ND_SUP_UP || s == ND_SUP_DEGRADED;
}

static void set_state(nd_sup_t *sup, uint32_t k, nd_sup_state_t to, const char *reason,
                      int64_t now_ns)
{
    nd_sup_module_t *m = &sup->modules[k];
    if (reason)
        snprintf(m->reason, sizeof m->reason, "%s", reason);
    if (m->state == to && to != ND_SUP_FAILED) /* every failed (re)start is worth a record */
        return;
    nd_sup_change_t ch = {k, m->name, m->state, to, now_ns, m->restarts, m->reason};
    m->state = to;
    m->since_ns = now_ns;
    ND_LOG(to == ND_SUP_FAILED ? ND_LOG_WARN : ND_LOG_INFO,
           "event=module_state module=%s from=%s to=%s restarts=%u why=\"%s\"", m->name,
           nd_sup_state_name(ch.from), nd_sup_state_name(to), m->restarts, m->reason);
    if (sup->on_change)
        sup->on_change(sup->change_ctx, &ch);
}

static bool deps_usable(const nd_sup_t *sup, const nd_sup_module_t *m, const char **missing)
{
    for (uint32_t d = 0; d < m->dep_count; d++)
        if (!usable(sup->modules[m->deps[d]].state)) {
            *missing = sup->modules[m->deps[d]].name;
            return false;
        }
    return true;
}

static void tell(nd_sup_module_t *m, bool blocked)
{
    if (m->blocked_told == blocked)
        return;
    m->blocked_told = blocked;
    if (m->ops.on_blocked)
        m->ops.on_blocked(m->ops.ctx, blocked);
}

/* Dependants follow their dependencies, in registration order (dependencies come first, so
 * one pass settles a chain). A BLOCKED module goes back to UP when released; its own next
 * check says whether it really is. */
static void propagate(nd_sup_t *sup, int64_t now_ns)
{
    for (uint32_t k = 0; k < sup->count; k++) {
        nd_sup_module_t *m = &sup->modules[k];
        if (m->state == ND_SUP_DOWN || m->state == ND_SUP_FAILED)
            continue;
        const char *missing = NULL;
        if (!deps_usable(sup, m, &missing)) {
            char why[96];
            snprintf(why, sizeof why, "waiting for %s", missing);
            tell(m, true);
            set_state(sup, k, ND_SUP_BLOCKED, why, now_ns);
        } else if (m->state == ND_SUP_BLOCKED) {
            tell(m, false);
            set_state(sup, k, ND_SUP_UP, "dependencies back", now_ns);
        }
    }
}

static void start_one(nd_sup_t *sup, uint32_t k, int64_t now_ns)
{
    nd_sup_module_t *m = &sup->modules[k];
    char err[160] = "";
    nd_err_t rc = m->ops.start ? m->ops.start(m->ops.ctx, err, sizeof err) : ND_OK;
    if (rc != ND_OK) {
        m->failures_in_row++;
        m->restart_at_ns = now_ns + nd_sup_backoff_ns(&sup->cfg, m->failures_in_row);
        set_state(sup, k, ND_SUP_FAILED, err[0] ? err : nd_strerror(rc), now_ns);
        return;
    }
    set_state(sup, k, ND_SUP_UP, "started", now_ns);
}

void nd_sup_start(nd_sup_t *sup, int64_t now_ns)
{
    ND_ASSERT(!sup->started);
    sup->started = true;
    for (uint32_t k = 0; k < sup->count; k++) {
        start_one(sup, k, now_ns);
        propagate(sup, now_ns);
    }
}

void nd_sup_report(nd_sup_t *sup, uint32_t k, nd_sup_health_t health, const char *reason,
                   int64_t now_ns)
{
    ND_ASSERT(k < sup->count);
    nd_sup_module_t *m = &sup->modules[k];
    if (!usable(m->state))
        return;
    if (health == ND_SUP_HEALTH_FAIL) {
        if (m->ops.stop)
            m->ops.stop(m->ops.ctx);
        m->failures_in_row++;
        m->restart_at_ns = now_ns + nd_sup_backoff_ns(&sup->cfg, m->failures_in_row);
        set_state(sup, k, ND_SUP_FAILED, reason, now_ns);
    } else {
        if (m->state == ND_SUP_UP && m->failures_in_row > 0 &&
            now_ns - m->since_ns >= sup->cfg.reset_after_ns)
            m->failures_in_row = 0;
        set_state(sup, k, health == ND_SUP_HEALTH_WARN ? ND_SUP_DEGRADED : ND_SUP_UP,
                  health == ND_SUP_HEALTH_OK ? "ok" : reason, now_ns);
    }
    propagate(sup, now_ns);
}

void nd_sup_tick(nd_sup_t *sup, int64_t now_ns)
{
    for (uint32_t k = 0; k < sup->count; k++) {
        nd_sup_module_t *m = &sup->modules[k];
        if (m->state != ND_SUP_FAILED || now_ns < m->restart_at_ns)
            continue;
        m->restarts++;
        start_one(sup, k, now_ns);
        propagate(sup, now_ns);
    }
}

void nd_sup_stop(nd_sup_t *sup, int64_t now_ns)
{
    for (uint32_t k = sup->count; k-- > 0;) {
        nd_sup_module_t *m = &sup->modules[k];
        if (m->state == ND_SUP_DOWN)
            continue;
        if (m->state != ND_SUP_FAILED && m->ops.stop)
            m->ops.stop(m->ops.ctx);
        set_state(sup, k, ND_SUP_DOWN, "stopped", now_ns);
    }
    sup->started = false;
}

bool nd_sup_healthy(const nd_sup_t *sup)
{
    for (uint32_t k = 0; k < sup->count; k++)
        if (!usable(sup->modules[k].state))
            return false;
    return true;
}
