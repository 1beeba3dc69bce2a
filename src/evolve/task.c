/* task.c: the optimiser's strategy layer: objectives, bars held in memory, one streaming
 * backtest per parameter set through the real engine, constraint repair and the fitness
 * callback the GA core calls (from worker threads: everything here is re-entrant).
 *
 * Invariants: nd_evolve_backtest folds each per-bar return the moment the engine reports it,
 * with metrics.c's conventions (the same per-bar return as the backtest driver, mean summed in
 * index order, sample deviation, wealth starting at 1 for drawdown), so its Sharpe and drawdown
 * agree with nd_metrics_compute over the same run; nothing grows with the number of bars. */
#include "evolve/evolve_int.h"

#include "noderr/alloc.h"
#include "noderr/backtest.h"
#include "noderr/assert.h"
#include "noderr/clock.h"
#include "noderr/metrics.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Name, hypervolume reference (the floor values are clamped to) and ceiling per objective.
 * The ceilings keep one freak value (a profit factor with a single loss) from dwarfing the
 * others in a weighted sum or a hypervolume. */
static const struct {
    const char *name;
    double floor, ceiling;
} objective_table[ND_OBJ_COUNT] = {
    [ND_OBJ_SHARPE] = {"sharpe", -5.0, 10.0},
    [ND_OBJ_SORTINO] = {"sortino", -5.0, 20.0},
    [ND_OBJ_CALMAR] = {"calmar", -5.0, 50.0},
    [ND_OBJ_MAX_DRAWDOWN] = {"max_drawdown", -1.0, 0.0},
    [ND_OBJ_WIN_RATE] = {"win_rate", 0.0, 1.0},
    [ND_OBJ_PROFIT_FACTOR] = {"profit_factor", 0.0, 10.0},
    [ND_OBJ_TOTAL_RETURN] = {"total_return", -1.0, 100.0},
};

const char *nd_evolve_objective_name(nd_evolve_objective_t o)
{
    ND_ASSERT(o >= 0 && o < ND_OBJ_COUNT);
    return objective_table[o].name;
}

double nd_evolve_objective_reference(nd_evolve_objective_t o)
{
    ND_ASSERT(o >= 0 && o < ND_OBJ_COUNT);
    return objective_table[o].floor;
}

nd_err_t nd_evolve_objective_parse(const char *name, nd_evolve_objective_t *out)
{
    ND_ASSERT(name != NULL && out != NULL);
    for (int o = 0; o < ND_OBJ_COUNT; o++) {
        if (strcmp(name, objective_table[o].name) == 0) {
            *out = (nd_evolve_objective_t)o;
            return ND_OK;
        }
    }
    return ND_EINVAL;
}

void nd_evolve_objectives_of(const nd_evolve_stats_t *s, const nd_evolve_objective_t *which,
                             uint32_t count, double *objectives)
{
    ND_ASSERT(s != NULL && which != NULL);
    ND_ASSERT(count <= ND_EVOLVE_OBJECTIVES_MAX);
    for (uint32_t k = 0; k < count; k++) {
        double v = NAN;
        switch (which[k]) {
        case ND_OBJ_SHARPE: v = s->sharpe; break;
        case ND_OBJ_SORTINO: v = s->sortino; break;
        case ND_OBJ_CALMAR: v = s->calmar; break;
        case ND_OBJ_MAX_DRAWDOWN: v = s->max_drawdown; break;
        case ND_OBJ_WIN_RATE: v = s->win_rate; break;
        case ND_OBJ_PROFIT_FACTOR:
            /* No losing trade: the best factor there is when something was won, else none. */
            v = isnan(s->profit_factor) ? (s->winners > 0 ? INFINITY : 0.0) : s->profit_factor;
            break;
        case ND_OBJ_TOTAL_RETURN: v = s->total_return; break;
        case ND_OBJ_COUNT: ND_ASSERT(0 && "not an objective"); break;
        }
        /* Undefined (no trades, no variance) counts as zero: no edge shown. */
        if (isnan(v))
            v = 0.0;
        objectives[k] = fmin(fmax(v, objective_table[which[k]].floor),
                             objective_table[which[k]].ceiling);
    }
}

/* ---- Bars in memory. --------------------------------------------------------------------- */

nd_err_t nd_evolve_bars_load(const char *path, const nd_bar_view_t *view, nd_evolve_bars_t *out,
                             char *err, size_t err_len)
{
    ND_ASSERT(path != NULL && out != NULL);
    nd_evolve_bars_t b = {0};
    if (nd_instrument_init(&b.inst, "BTC/USDT", "sim") != ND_OK)
        return ND_EINVAL;
    nd_bar_source_t *src = NULL;
    nd_bar_view_t as_is = {0};
    nd_err_t rc = nd_bars_open_view(path, ND_BAR_FORMAT_AUTO, &b.inst, view ? view : &as_is, &src,
                                    err, err_len);
    if (rc != ND_OK)
        return rc;
    rc = nd_bars_read_all(src, &b.bars, &b.count, err, err_len);
    if (rc == ND_ENOMEM)
        nd_err_put(err, err_len, "%s: out of memory", path);
    if (rc == ND_OK && b.count == 0) {
        rc = ND_EPARSE;
        nd_err_put(err, err_len, "%s: no bars", path);
    }
    src->close(src);
    if (rc != ND_OK) {
        nd_free(b.bars);
        return rc;
    }
    *out = b;
    return ND_OK;
}

void nd_evolve_bars_free(nd_evolve_bars_t *b)
{
    if (!b)
        return;
    nd_free(b->bars);
    memset(b, 0, sizeof *b);
}

/* ---- One streaming backtest. ------------------------------------------------------------- */

typedef struct fold {
    size_t index;            /* bars reported so far */
    size_t measure_from;
    int64_t measure_from_ns;
    double prev_equity;
    int64_t n;
    double sum, m2, welford_mean, first;
    int all_equal;
    double downside_ss;
    double wealth, peak, max_dd;
    nd_trade_stats_t tally; /* trades, winners, gross profit and loss (nd_trade_stats_add) */
} fold_t;

static void fold_bar(void *ctx, const nd_bar_t *bar, __int128 equity_ext, bool in_market)
{
    (void)bar;
    (void)in_market;
    fold_t *f = ctx;
    double equity = (double)equity_ext;
    double r = equity / f->prev_equity - 1.0; /* exactly the backtest driver's return */
    f->prev_equity = equity;
    if (f->index++ < f->measure_from)
        return;
    f->n++;
    f->sum += r;
    double delta = r - f->welford_mean;
    f->welford_mean += delta / (double)f->n;
    f->m2 += delta * (r - f->welford_mean);
    if (f->n == 1)
        f->first = r;
    f->all_equal &= r == f->first;
    double shortfall = 0.5 * (r - fabs(r));
    f->downside_ss += shortfall * shortfall;
    f->wealth *= 1.0 + r;
    if (f->wealth >= f->peak)
        f->peak = f->wealth;
    else if ((f->wealth - f->peak) / f->peak < f->max_dd)
        f->max_dd = (f->wealth - f->peak) / f->peak;
}

static void fold_trade(void *ctx, const nd_trade_t *t)
{
    fold_t *f = ctx;
    if (t->exit_ns < f->measure_from_ns)
        return;
    nd_trade_stats_add(&f->tally, t);
}

/* The metrics of the folded run, with metrics.c's definitions of each. */
static void fold_finish(const fold_t *f, double ppy, nd_evolve_stats_t *s)
{
    memset(s, 0, sizeof *s);
    s->bars = f->n;
    s->trades = f->tally.trades;
    s->winners = f->tally.winners;
    s->periods_per_year = ppy;
    double n = (double)f->n, mean = f->n ? f->sum / n : NAN;
    double sd = f->n >= 2 ? (f->all_equal ? 0.0 : sqrt(f->m2 / (n - 1.0))) : NAN;
    double dr = f->n ? sqrt(f->downside_ss / n) * sqrt(ppy) : NAN;
    s->sharpe = sd > 0.0 ? mean / sd * sqrt(ppy) : NAN;
    s->sortino = f->n >= 2 && dr > 0.0 ? mean * ppy / dr : NAN;
    s->max_drawdown = f->n ? f->max_dd : NAN;
    s->total_return = f->wealth - 1.0;
    s->annual_return = f->n ? pow(f->wealth, 1.0 / (n / ppy)) - 1.0 : NAN;
    double calmar = s->max_drawdown < 0.0 ? s->annual_return / fabs(s->max_drawdown) : NAN;
    s->calmar = isfinite(calmar) ? calmar : NAN;
    s->win_rate = f->tally.trades ? (double)f->tally.winners / (double)f->tally.trades : NAN;
    s->profit_factor = f->tally.gross_loss > 0 ? (double)f->tally.gross_profit / (double)f->tally.gross_loss : NAN;
}

static nd_err_t drive(nd_engine_t *e, const nd_bar_t *bars, size_t count, char *err,
                      size_t err_len, nd_clock_sim_t *clock)
{
    for (size_t i = 0; i < count; i++) {
        nd_err_t rc = nd_clock_sim_set(clock, bars[i].ts_ns);
        if (rc == ND_OK)
            rc = nd_engine_on_bar(e, &bars[i]);
        if (rc != ND_OK) {
            snprintf(err, err_len, "engine stopped at bar %zu: %s", i, nd_strerror(rc));
            return rc;
        }
    }
    return ND_OK;
}

nd_err_t nd_evolve_backtest(const nd_engine_config_t *cfg, const nd_instrument_t *inst,
                            const nd_strategy_def_t *def, const double *params,
                            const nd_bar_t *bars, size_t count, size_t measure_from,
                            nd_evolve_stats_t *out, char *err, size_t err_len)
{
    ND_ASSERT(cfg != NULL && inst != NULL && def != NULL && params != NULL);
    ND_ASSERT(bars != NULL && measure_from < count);
    nd_clock_sim_t clock;
    nd_clock_sim_init(&clock, 0);
    nd_engine_t *e = NULL;
    nd_err_t rc = nd_engine_create(cfg, inst, 1, &clock.clock, &e, err, err_len);
    if (rc == ND_OK)
        rc = nd_engine_add_strategy(e, def, params, 0, 1000000, err, err_len);
    if (rc == ND_OK)
        rc = nd_engine_start(e, err, err_len);
    fold_t f = {0};
    f.measure_from = measure_from;
    f.measure_from_ns = bars[measure_from].ts_ns;
    f.all_equal = 1;
    f.wealth = 1.0;
    f.peak = 1.0;
    if (rc == ND_OK) {
        f.prev_equity = (double)nd_portfolio_equity_ext(nd_engine_portfolio(e));
        nd_engine_listener_t listener = {NULL, fold_bar, fold_trade, &f};
        nd_engine_set_listener(e, &listener);
        rc = drive(e, bars, count, err, err_len, &clock);
    }
    if (rc == ND_OK) {
        fold_finish(&f, nd_periods_per_year(nd_engine_stats(e)->interval_ns), out);
        const nd_risk_t *risk = nd_engine_risk(e);
        out->halted = risk->halted;
        out->halted_at_ns = risk->halted ? risk->halted_since_ns : 0;
        out->halted_bars = nd_engine_stats(e)->halted_bars;
    }
    nd_engine_destroy(e);
    return rc;
}

/* ---- Constraints and the fitness callback. ----------------------------------------------- */

static int validates(const nd_strategy_def_t *def, const double *values)
{
    char why[128];
    return !def->validate || def->validate(values, why, sizeof why) == ND_OK;
}

static double gene_step(const nd_evolve_gene_t *g)
{
    if (g->type != ND_PARAM_REAL)
        return g->step < 1.0 ? 1.0 : g->step;
    return g->step > 0.0 ? g->step : (g->max - g->min) / 100.0;
}

/* Tries swapping each pair of same-type numeric genes; 1 when one swap validates. */
static int repair_by_swap(const nd_strategy_def_t *def, const nd_evolve_gene_t *genes,
                          double *values, uint32_t n)
{
    double saved[ND_EVOLVE_GENES_MAX];
    memcpy(saved, values, n * sizeof *values);
    for (uint32_t i = 0; i < n; i++) {
        for (uint32_t j = i + 1; j < n; j++) {
            if (genes[i].type != genes[j].type || genes[i].type == ND_PARAM_CHOICE)
                continue;
            values[i] = saved[j];
            values[j] = saved[i];
            nd__evolve_snap(genes, n, values);
            if (validates(def, values))
                return 1;
            memcpy(values, saved, n * sizeof *values);
        }
    }
    return 0;
}

int nd_evolve_strategy_repair(const nd_strategy_def_t *def, const nd_evolve_gene_t *genes,
                              double *values)
{
    ND_ASSERT(def != NULL && genes != NULL && values != NULL);
    uint32_t n = (uint32_t)def->param_count;
    ND_ASSERT(n <= ND_EVOLVE_GENES_MAX);
    nd__evolve_snap(genes, n, values);
    if (validates(def, values) || repair_by_swap(def, genes, values, n))
        return 1;
    double saved[ND_EVOLVE_GENES_MAX];
    memcpy(saved, values, n * sizeof *values);
    /* Equal values (fast == slow) swap to themselves: nudge one gene a few steps instead. */
    for (int k = 1; k <= 8; k++) {
        for (uint32_t g = 0; g < n; g++) {
            for (int sign = 1; sign >= -1; sign -= 2) {
                values[g] = saved[g] + sign * k * gene_step(&genes[g]);
                nd__evolve_snap(genes, n, values);
                if (validates(def, values))
                    return 1;
                memcpy(values, saved, n * sizeof *values);
            }
        }
    }
    return 0;
}

static void task_repair(void *ctx, double *genes)
{
    nd_evolve_task_t *t = ctx;
    (void)nd_evolve_strategy_repair(t->def, t->genes, genes);
}

/* A run cut short by a halt that is still in force at its end: every objective loses
 * halt_penalty x the share of bars spent halted, floored at the objective's reference. */
static void halt_penalise(const nd_evolve_task_t *t, const nd_evolve_stats_t *s,
                          double *objectives)
{
    if (!(t->halt_penalty > 0.0) || !s->halted || s->bars <= 0)
        return;
    double share = fmin(1.0, (double)s->halted_bars / (double)s->bars);
    ND_ASSERT(share >= 0.0);
    for (uint32_t k = 0; k < t->objective_count; k++)
        objectives[k] = fmax(objective_table[t->objectives[k]].floor,
                             objectives[k] - t->halt_penalty * share);
}

/* A set the repair could not fix scores the floor of every objective with violation 1 plus
 * the trade shortfall; too few trades is a violation of (min - trades) / min. */
static nd_err_t task_eval(void *ctx, const double *genes, double *objectives, double *violation,
                          char *err, size_t err_len)
{
    const nd_evolve_task_t *t = ctx;
    double params[ND_STRATEGY_PARAMS_MAX] = {0};
    memcpy(params, genes, (size_t)t->def->param_count * sizeof *params);
    if (!validates(t->def, params)) {
        for (uint32_t k = 0; k < t->objective_count; k++)
            objectives[k] = objective_table[t->objectives[k]].floor;
        *violation = 2.0;
        return ND_OK;
    }
    nd_evolve_stats_t s;
    nd_err_t rc = nd_evolve_backtest(&t->engine, t->inst, t->def, params, t->bars, t->bar_count,
                                     t->measure_from, &s, err, err_len);
    if (rc != ND_OK)
        return rc;
    nd_evolve_objectives_of(&s, t->objectives, t->objective_count, objectives);
    halt_penalise(t, &s, objectives);
    *violation = s.trades < t->min_trades
                     ? (double)(t->min_trades - s.trades) / (double)t->min_trades
                     : 0.0;
    return ND_OK;
}

void nd_evolve_task_problem(nd_evolve_task_t *t, nd_evolve_config_t *cfg,
                            nd_evolve_problem_t *p)
{
    ND_ASSERT(t != NULL && t->def != NULL && cfg != NULL && p != NULL);
    ND_ASSERT(t->def->param_count <= ND_EVOLVE_GENES_MAX);
    for (int g = 0; g < t->def->param_count; g++) {
        const nd_param_def_t *d = &t->def->params[g];
        nd_evolve_gene_t *gene = &t->genes[g];
        gene->type = d->type;
        gene->min = d->type == ND_PARAM_CHOICE ? 0.0 : d->min;
        gene->max = d->type == ND_PARAM_CHOICE ? (double)(d->choice_count - 1) : d->max;
        gene->step = d->type == ND_PARAM_CHOICE ? 1.0 : d->step;
    }
    cfg->objective_count = t->objective_count;
    for (uint32_t k = 0; k < t->objective_count; k++)
        cfg->reference[k] = objective_table[t->objectives[k]].floor;
    memset(p, 0, sizeof *p);
    p->genes = t->genes;
    p->gene_count = (uint32_t)t->def->param_count;
    p->ctx = t;
    p->eval_cb = task_eval;
    p->repair_cb = task_repair;
}
