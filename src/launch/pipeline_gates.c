/* pipeline_gates.c: the pipeline's config, its promotion gates and the evidence they judge
 * (pipeline.h, docs/launcher.md "Pipeline").
 *
 * The gates are pure: nd_pipeline_gates_eval reads only the config and the evidence. Evidence
 * is gathered here too: a validate report (read as preflight reads them), a strategy's
 * executions from its order and fill records, and the same executions of an event-level
 * backtest, recorded into a memory store by the engine recorder so that both sides go through
 * one reader (nd_pipeline_exec_stats_load). Money stays integer: P&L and notional in cash units,
 * prices and quantities at their records' scales; ratios are integer millionths or basis
 * points computed through __int128. */
#include "launch_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/fixed.h"
#include "noderr/json_cfg.h"
#include "noderr/pipeline.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_NS (86400LL * 1000000000LL)

static const char *const gate_names[ND_GATE_COUNT] = {
    "validated", "paper_days", "paper_pnl", "paper_slippage", "paper_fill_rate", "canary_days",
};

const char *nd_pipeline_gate_name(nd_pipeline_gate_t gate)
{
    return (int)gate >= 0 && gate < ND_GATE_COUNT ? gate_names[gate] : "unknown";
}

/* ---- config ------------------------------------------------------------------------------ */

void nd_pipeline_config_default(nd_pipeline_config_t *out)
{
    ND_ASSERT(out != NULL);
    memset(out, 0, sizeof *out);
    out->require_validation = true;
    out->paper_days = 14;
    out->canary_days = 7;
    out->canary_share_e6 = 50000;
    out->pnl_tolerance_e6 = 20000;
    out->slippage_bps_max = 10;
    out->fill_rate_tolerance_e6 = 100000;
    out->rollback_share_e6 = 500000;
}

nd_err_t nd_pipeline_config_parse(const json_t *obj, const char *where, nd_pipeline_config_t *out,
                                  char *err, size_t err_len)
{
    ND_ASSERT(out != NULL);
    nd_pipeline_config_t c;
    nd_pipeline_config_default(&c);
    nd_jcfg_t j = {.path = where ? where : "config", .err = err, .err_len = err_len};
    const nd_jcfg_field_t fields[] = {
        {"require_validation", ND_JCFG_BOOL, .out = &c.require_validation},
        {"paper_days", ND_JCFG_INT, &c.paper_days, .lo = 0, .hi = 3650},
        {"canary_days", ND_JCFG_INT, &c.canary_days, .lo = 0, .hi = 3650},
        {"canary_share", ND_JCFG_FRACTION, &c.canary_share_e6, .real_lo = 0.000001, .real_hi = 1,
         .places = 6},
        {"pnl_tolerance", ND_JCFG_FRACTION, &c.pnl_tolerance_e6, .real_hi = 1, .places = 6},
        {"slippage_bps_max", ND_JCFG_INT, &c.slippage_bps_max, .lo = 0, .hi = 10000},
        {"fill_rate_tolerance", ND_JCFG_FRACTION, &c.fill_rate_tolerance_e6, .real_hi = 1,
         .places = 6},
        {"rollback_share", ND_JCFG_FRACTION, &c.rollback_share_e6, .real_hi = 1, .places = 6},
        {.key = NULL},
    };
    json_t *o;
    nd_err_t rc = nd_jcfg_section_fields(&j, obj, "launch.pipeline", fields, &o);
    if (rc != ND_OK)
        return rc;
    *out = c;
    return ND_OK;
}

/* ---- gates ------------------------------------------------------------------------------- */

static void gate_set(nd_pipeline_gates_t *g, nd_pipeline_gate_t k, bool passed, const char *fmt,
                     ...) __attribute__((format(printf, 4, 5)));

static void gate_set(nd_pipeline_gates_t *g, nd_pipeline_gate_t k, bool passed, const char *fmt,
                     ...)
{
    nd_pipeline_gate_result_t *r = &g->gate[k];
    r->applies = true;
    r->passed = passed;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->reason, sizeof r->reason, fmt, ap);
    va_end(ap);
    g->checked++;
    g->failed += !passed;
}

static void gate_validated(const nd_pipeline_config_t *cfg, const nd_pipeline_evidence_t *ev,
                           nd_pipeline_gates_t *g)
{
    const nd_pipeline_validation_t *v = &ev->validation;
    if (!cfg->require_validation)
        gate_set(g, ND_GATE_VALIDATED, true, "not required (launch.pipeline.require_validation)");
    else if (!v->present)
        gate_set(g, ND_GATE_VALIDATED, false, "no validate report given");
    else if (!v->matches)
        gate_set(g, ND_GATE_VALIDATED, false, "%s: %s", v->source, v->mismatch);
    else
        gate_set(g, ND_GATE_VALIDATED, v->failed == 0 && v->passed > 0,
                 "%s: %lld scenarios passed, %lld failed", v->source, (long long)v->passed,
                 (long long)v->failed);
}

static void gate_days(nd_pipeline_gates_t *g, nd_pipeline_gate_t k, const char *stage,
                      int64_t since_ns, int64_t now_ns, int64_t want_days)
{
    int64_t spent = now_ns > since_ns ? now_ns - since_ns : 0;
    char have[32];
    nd_span_format(spent, have, sizeof have);
    gate_set(g, k, spent >= want_days * DAY_NS, "%s in %s of %lld day%s", spent ? have : "0s",
             stage, (long long)want_days, want_days == 1 ? "" : "s");
}

static int64_t abs64(int64_t v)
{
    return v < 0 ? -v : v;
}

static void gate_paper(const nd_pipeline_config_t *cfg, const nd_pipeline_evidence_t *ev,
                       nd_pipeline_gates_t *g)
{
    gate_days(g, ND_GATE_PAPER_DAYS, "paper", ev->stage_since_ns, ev->now_ns, cfg->paper_days);
    if (!ev->paper_present) {
        static const char why[] = "not measured: give the session config and a ticks file "
                                  "of the paper period";
        gate_set(g, ND_GATE_PAPER_PNL, false, why);
        gate_set(g, ND_GATE_PAPER_SLIPPAGE, false, why);
        gate_set(g, ND_GATE_PAPER_FILL_RATE, false, why);
        return;
    }
    const nd_pipeline_exec_stats_t *p = &ev->paper, *b = &ev->backtest;
    int64_t tol = (int64_t)((__int128)ev->capital * cfg->pnl_tolerance_e6 / 1000000);
    int64_t diff = (int64_t)((__int128)p->pnl - b->pnl);
    char pp[32], bp[32], tp[32];
    nd_fixed_format(p->pnl, ND_CASH_DECIMALS, pp, sizeof pp);
    nd_fixed_format(b->pnl, ND_CASH_DECIMALS, bp, sizeof bp);
    nd_fixed_format(tol, ND_CASH_DECIMALS, tp, sizeof tp);
    gate_set(g, ND_GATE_PAPER_PNL, abs64(diff) <= tol, "paper P&L %s vs backtest %s, tolerance "
             "%s", pp, bp, tp);
    int64_t slip = nd_pipeline_slippage_bps(p, b);
    gate_set(g, ND_GATE_PAPER_SLIPPAGE, slip <= cfg->slippage_bps_max, "paper fills %lld bp "
             "worse than the backtest's, at most %lld", (long long)slip,
             (long long)cfg->slippage_bps_max);
    int64_t pf = nd_pipeline_fill_rate_e6(p), bf = nd_pipeline_fill_rate_e6(b);
    gate_set(g, ND_GATE_PAPER_FILL_RATE, abs64(pf - bf) <= cfg->fill_rate_tolerance_e6,
             "fill rate %lld.%02lld%% (%lld of %lld orders) vs backtest %lld.%02lld%%, tolerance "
             "%lld.%02lld points", (long long)(pf / 10000), (long long)(pf / 100 % 100),
             (long long)p->orders_filled, (long long)p->orders, (long long)(bf / 10000),
             (long long)(bf / 100 % 100), (long long)(cfg->fill_rate_tolerance_e6 / 10000),
             (long long)(cfg->fill_rate_tolerance_e6 / 100 % 100));
}

bool nd_pipeline_gates_eval(const nd_pipeline_config_t *cfg, nd_pipeline_stage_t from,
                            const nd_pipeline_evidence_t *ev, nd_pipeline_gates_t *out)
{
    ND_ASSERT(cfg != NULL && ev != NULL);
    ND_ASSERT(out != NULL);
    memset(out, 0, sizeof *out);
    switch (from) {
    case ND_STAGE_DEV: gate_validated(cfg, ev, out); break;
    case ND_STAGE_PAPER: gate_paper(cfg, ev, out); break;
    case ND_STAGE_CANARY:
        gate_days(out, ND_GATE_CANARY_DAYS, "canary", ev->stage_since_ns, ev->now_ns,
                  cfg->canary_days);
        break;
    default: break; /* backtest -> paper: no gate (validated on entering backtest) */
    }
    return out->failed == 0;
}

void nd_pipeline_gates_failed_text(const nd_pipeline_gates_t *g, char *buf, size_t cap)
{
    ND_ASSERT(g != NULL && buf != NULL);
    size_t used = 0;
    buf[0] = '\0';
    for (int k = 0; k < ND_GATE_COUNT; k++) {
        if (!g->gate[k].applies || g->gate[k].passed)
            continue;
        int w = snprintf(buf + used, cap - used, "%s%s (%s)", used ? ", " : "", gate_names[k],
                         g->gate[k].reason);
        used = w > 0 && used + (size_t)w < cap ? used + (size_t)w : used;
    }
}

/* ---- evidence: validate reports ----------------------------------------------------------- */

nd_err_t nd_pipeline_validation_load(const char *path, const nd_pipeline_spec_t *spec,
                                     nd_pipeline_validation_t *out, char *err, size_t err_len)
{
    ND_ASSERT(path != NULL && spec != NULL);
    ND_ASSERT(out != NULL);
    char strategy[ND_NAME_MAX + 1] = "";
    json_t *params = NULL;
    int64_t passed = 0, failed = 0;
    nd_err_t rc = nd__launch_validate_report(path, strategy, sizeof strategy, &params, &passed,
                                             &failed, err, err_len);
    if (rc != ND_OK)
        return rc;
    memset(out, 0, sizeof *out);
    out->present = true;
    out->passed = passed;
    out->failed = failed;
    snprintf(out->source, sizeof out->source, "%s", path);
    json_t *want = json_loads(spec->params, 0, NULL);
    if (strcmp(strategy, spec->strategy) != 0)
        snprintf(out->mismatch, sizeof out->mismatch, "judges %s, not %s",
                 strategy[0] ? strategy : "nothing", spec->strategy);
    else if (!params || !want || !json_equal(params, want))
        snprintf(out->mismatch, sizeof out->mismatch, "its parameters differ from the "
                 "version's %.160s", spec->params);
    out->matches = out->mismatch[0] == '\0';
    json_decref(want);
    json_decref(params);
    return ND_OK;
}
