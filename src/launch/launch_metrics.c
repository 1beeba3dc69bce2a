/* launch_metrics.c: the launcher's series in the session's metrics registry (docs/monitoring.md
 * "The launcher"): noderr_module_up{module}, noderr_ramp_share_ratio, noderr_ramp_paused and
 * noderr_strategy_weight_ratio{strategy, version}, noderr_pipeline_stage{strategy, version,
 * stage}. Values are read at each scrape by the collector, on the loop's thread. */
#include "launch_int.h"

#include <stdio.h>
#include <string.h>

static void collect(void *ctx)
{
    nd__launch_metrics_t *m = ctx;
    for (uint32_t k = 0; k < m->sup->count; k++) {
        nd_sup_state_t st = m->sup->modules[k].state;
        nd_prom_set(m->up[k], st == ND_SUP_UP || st == ND_SUP_DEGRADED);
    }
    const nd_engine_t *e = nd_live_session_engine(m->cap->session);
    for (uint32_t k = 0; k < m->cap->count; k++) {
        nd_prom_set(m->share[k], m->cap->ramp[k].share_e6);
        nd_prom_set(m->paused[k], m->cap->ramp[k].paused);
        nd_prom_set(m->weight[k], nd_engine_strategy_weight(e, k));
        nd_prom_set(m->stage[k], m->cap->stage[k] >= 0);
    }
}

static nd_err_t slot_series(nd__launch_metrics_t *m, uint32_t k)
{
    const char *name = nd_engine_strategy_def(nd_live_session_engine(m->cap->session), k)->name;
    const char *version = m->cap->version[k];
    const char *stage = m->cap->stage[k] >= 0 ? nd_pipeline_stage_name(m->cap->stage[k]) : "none";
    const char *labels[] = {name, version, NULL};
    const char *stage_labels[] = {name, version, stage, NULL};
    nd_err_t rc;
    if ((rc = nd_prom_series(m->f_share, labels, &m->share[k])) != ND_OK ||
        (rc = nd_prom_series(m->f_paused, labels, &m->paused[k])) != ND_OK ||
        (rc = nd_prom_series(m->f_weight, labels, &m->weight[k])) != ND_OK ||
        (rc = nd_prom_series(m->f_stage, stage_labels, &m->stage[k])) != ND_OK)
        return rc;
    snprintf(m->version[k], sizeof m->version[k], "%s", version);
    return ND_OK;
}

nd_err_t nd__launch_metrics_open(nd__launch_metrics_t *m, nd_prom_t *prom, const nd_sup_t *sup,
                                 const nd__launch_capital_t *cap, char *err, size_t err_len)
{
    memset(m, 0, sizeof *m);
    m->prom = prom;
    m->sup = sup;
    m->cap = cap;
    if (!prom)
        return ND_OK;
    static const char *const mod_l[] = {"module", NULL};
    static const char *const slot_l[] = {"strategy", "version", NULL};
    static const char *const stage_l[] = {"strategy", "version", "stage", NULL};
    nd_prom_family_t *f_up = NULL;
    nd_err_t rc;
    if ((rc = nd_prom_family(prom, ND_PROM_GAUGE, "noderr_module_up",
                             "1 while the launcher's supervisor sees the module usable (up or "
                             "degraded)", 0, mod_l, NULL, 0, &f_up, err, err_len)) != ND_OK ||
        (rc = nd_prom_family(prom, ND_PROM_GAUGE, "noderr_ramp_share_ratio",
                             "The capital share the ramp gives the strategy version now", 6,
                             slot_l, NULL, 0, &m->f_share, err, err_len)) != ND_OK ||
        (rc = nd_prom_family(prom, ND_PROM_GAUGE, "noderr_ramp_paused",
                             "1 while the strategy version's ramp is paused", 0, slot_l, NULL, 0,
                             &m->f_paused, err, err_len)) != ND_OK ||
        (rc = nd_prom_family(prom, ND_PROM_GAUGE, "noderr_strategy_weight_ratio",
                             "The strategy's capital weight: ramp share x allocation", 6, slot_l,
                             NULL, 0, &m->f_weight, err, err_len)) != ND_OK ||
        (rc = nd_prom_family(prom, ND_PROM_GAUGE, "noderr_pipeline_stage",
                             "1 for the pipeline stage of the strategy version running", 0,
                             stage_l, NULL, 0, &m->f_stage, err, err_len)) != ND_OK)
        return rc;
    for (uint32_t k = 0; k < sup->count && rc == ND_OK; k++)
        rc = nd_prom_series(f_up, (const char *const[]){sup->modules[k].name, NULL}, &m->up[k]);
    for (uint32_t k = 0; k < cap->count && rc == ND_OK; k++)
        rc = slot_series(m, k);
    if (rc == ND_OK)
        rc = nd_prom_on_collect(prom, collect, m);
    if (rc != ND_OK && !err[0])
        snprintf(err, err_len, "launch metrics: %s", nd_strerror(rc));
    return rc;
}

void nd__launch_metrics_sync(nd__launch_metrics_t *m)
{
    for (uint32_t k = 0; m->prom && k < m->cap->count; k++) {
        if (strcmp(m->version[k], m->cap->version[k]) == 0)
            continue;
        nd_prom_set(m->share[k], 0); /* the version that left: its series read 0 from now */
        nd_prom_set(m->paused[k], 0);
        nd_prom_set(m->weight[k], 0);
        nd_prom_set(m->stage[k], 0);
        nd_prom_cell_t *old[4] = {m->share[k], m->paused[k], m->weight[k], m->stage[k]};
        if (slot_series(m, k) != ND_OK) { /* keep the old cells: never a NULL one */
            m->share[k] = old[0];
            m->paused[k] = old[1];
            m->weight[k] = old[2];
            m->stage[k] = old[3];
            snprintf(m->version[k], sizeof m->version[k], "%s", m->cap->version[k]);
        }
    }
}
