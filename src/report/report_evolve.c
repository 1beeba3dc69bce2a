/* report_evolve.c: the document of `noderr evolve --report` (report.h). The selected
 * parameters are backtested over every bar with the same driver as `noderr backtest`, so the
 * page shows them exactly as a backtest report would; each Pareto front member is backtested
 * too, for the equity curve a click on it shows. Everything is built from the run's inputs:
 * the same run gives the same document. */
#include "report_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/scenario.h"
#include "report/report_config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define FRONT_SHOWN_MAX 24
#define CURVE_POINTS_MAX 600

static json_t *number(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

/* Runs genes over every bar through nd_backtest_run (memory source, equity kept). */
static nd_err_t run_params(const nd_report_evolve_t *in, const double *genes,
                           nd_backtest_config_t *cfg, nd_backtest_result_t *r, char *err,
                           size_t err_len)
{
    nd_backtest_config_default(cfg);
    cfg->engine = in->task->engine;
    snprintf(cfg->symbol, sizeof cfg->symbol, "%s", in->data->inst.symbol);
    cfg->px_decimals = in->data->inst.px_decimals;
    cfg->qty_decimals = in->data->inst.qty_decimals;
    cfg->strategies[0].def = in->task->def;
    memcpy(cfg->strategies[0].params, genes,
           (size_t)in->task->def->param_count * sizeof *genes);
    cfg->strategy_count = 1;
    cfg->keep_equity = true;
    nd_err_t rc = nd_bars_memory_open(in->data->bars, in->data->count, false, &cfg->source);
    if (rc != ND_OK) {
        memset(r, 0, sizeof *r);
        nd_err_put(err, err_len, "%s", "out of memory");
        return rc;
    }
    rc = nd_backtest_run(cfg, r, err, err_len);
    cfg->source->close(cfg->source);
    cfg->source = NULL;
    return rc;
}

/* At most CURVE_POINTS_MAX points of the equity, evenly spaced, the last one always kept. */
static json_t *curve(const nd_backtest_result_t *r)
{
    size_t n = r->equity.count < r->equity_ts.count ? r->equity.count : r->equity_ts.count;
    size_t step = n > CURVE_POINTS_MAX ? (n + CURVE_POINTS_MAX - 1) / CURVE_POINTS_MAX : 1;
    json_t *list = json_array();
    for (size_t i = 0; i < n; i += step) {
        size_t k = i + step >= n ? n - 1 : i;
        json_array_append_new(list, json_pack("[Io]", (json_int_t)r->equity_ts.values[k],
                                              number(r->equity.values[k])));
    }
    return list;
}

static json_t *member_json(const nd_report_evolve_t *in, const nd_evolve_individual_t *ind,
                           char *err, size_t err_len)
{
    const nd_evolve_task_t *t = in->task;
    json_t *m = json_object(), *obj = json_object();
    json_object_set_new(m, "params", nd_backtest_params_json(t->def, ind->genes));
    for (uint32_t k = 0; k < t->objective_count; k++)
        json_object_set_new(obj, nd_evolve_objective_name(t->objectives[k]),
                            number(ind->objectives[k]));
    json_object_set_new(m, "objectives", obj);
    json_object_set_new(m, "score", number(ind->score));
    json_object_set_new(m, "feasible", json_boolean(ind->violation == 0.0));
    nd_backtest_config_t cfg;
    nd_backtest_result_t r;
    nd_err_t rc = run_params(in, ind->genes, &cfg, &r, err, err_len);
    if (rc == ND_OK) {
        nd_halt_summary_t h;
        nd_backtest_halt_summary(&r, &h);
        json_object_set_new(m, "total_return", number(r.metrics.total_return));
        json_object_set_new(m, "halted", json_boolean(h.halted_at_end));
        json_object_set_new(m, "equity", curve(&r));
    }
    nd_backtest_result_free(&r);
    if (rc != ND_OK) {
        json_decref(m);
        return NULL;
    }
    return m;
}

static json_t *history_json(const nd_evolve_result_t *res)
{
    json_t *list = json_array();
    for (size_t i = 0; i < res->history_count; i++) {
        const nd_evolve_generation_t *g = &res->history[i];
        json_array_append_new(list, json_pack("{s:i,s:o,s:o,s:o,s:o,s:o}", "generation",
                                              (int)g->generation, "best", number(g->best),
                                              "mean", number(g->mean), "hypervolume",
                                              number(g->hypervolume), "diversity",
                                              number(g->diversity), "mutation_rate",
                                              number(g->mutation_rate)));
    }
    return list;
}

static json_t *settings_json(const nd_report_evolve_t *in)
{
    const nd_evolve_config_t *c = in->cfg;
    json_t *objs = json_array();
    for (uint32_t k = 0; k < in->task->objective_count; k++)
        json_array_append_new(objs, json_string(nd_evolve_objective_name(in->task->objectives[k])));
    return json_pack("{s:s,s:s,s:s,s:o,s:i,s:i,s:I,s:I,s:f,s:i,s:s,s:I}", "strategy",
                     in->task->def->name, "data", in->data_name ? in->data_name : "?", "mode",
                     c->mode == ND_EVOLVE_PARETO ? "pareto" : "weighted", "objectives", objs,
                     "population", (int)c->population, "generations_run",
                     (int)in->result->generations_run, "evaluations",
                     (json_int_t)in->result->evaluations, "seed", (json_int_t)c->seed,
                     "halt_penalty", in->task->halt_penalty, "min_trades",
                     (int)in->task->min_trades, "stop_reason",
                     nd_evolve_stop_name(in->result->stop_reason), "bars",
                     (json_int_t)in->data->count);
}

static json_t *evolve_json(const nd_report_evolve_t *in, char *err, size_t err_len)
{
    json_t *ev = json_object(), *front = json_array();
    json_object_set_new(ev, "settings", settings_json(in));
    json_object_set_new(ev, "selected_params", nd_backtest_params_json(in->task->def, in->selected));
    const nd_evolve_result_t *res = in->result;
    for (size_t i = 0; i < res->front_count && i < FRONT_SHOWN_MAX; i++) {
        json_t *m = member_json(in, &res->front[i], err, err_len);
        if (!m) {
            json_decref(front);
            json_decref(ev);
            return NULL;
        }
        json_array_append_new(front, m);
    }
    json_object_set_new(ev, "front", front);
    json_object_set_new(ev, "front_size", json_integer((json_int_t)res->front_count));
    json_object_set_new(ev, "history", history_json(res));
    if (in->walk_forward)
        json_object_set(ev, "walk_forward", (json_t *)in->walk_forward);
    if (in->selection)
        json_object_update(ev, (json_t *)in->selection);
    return ev;
}

json_t *nd_report_doc_from_evolve(const nd_report_evolve_t *in, char *err, size_t err_len)
{
    ND_ASSERT(in != NULL && in->task != NULL && in->cfg != NULL && in->result != NULL);
    ND_ASSERT(in->data != NULL && in->selected != NULL);
    nd_backtest_config_t cfg;
    nd_backtest_result_t r;
    if (run_params(in, in->selected, &cfg, &r, err, err_len) != ND_OK) {
        nd_backtest_result_free(&r);
        return NULL;
    }
    json_t *scenario = nd__report_scenario(&cfg, &r, "selected parameters, all data",
                                           "evolve", in->data->bars, in->data->count);
    nd_backtest_result_free(&r);
    json_t *ev = scenario ? evolve_json(in, err, err_len) : NULL;
    if (!ev) {
        json_decref(scenario);
        return NULL;
    }
    json_object_set_new(json_object_get(scenario, "run"), "data",
                        json_pack("{s:s}", "source", in->data_name ? in->data_name : "?"));
    char title[256];
    const char *name = in->data_name ? in->data_name : "?";
    const char *slash = strrchr(name, '/');
    snprintf(title, sizeof title, "Evolve: %s on %s", in->task->def->name,
             slash ? slash + 1 : name);
    return json_pack("{s:s,s:s,s:o,s:[o]}", "title", title, "generated_by",
                     "noderr " ND_REPORT_VERSION " evolve --report", "evolve", ev, "scenarios",
                     scenario);
}
