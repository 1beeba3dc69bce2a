/* ga.c: the genetic-algorithm core: population, operators, selection (weighted elitist or
 * NSGA-II), the adaptive mutation rate, convergence detection and the result.
 *
 * Invariants: every random draw comes from ga->rng on the calling thread, in an order fixed by
 * the seed and the (deterministic) fitness values, so the whole run is a function of the
 * config and the problem: nd__evolve_evaluate's threads only fill fitness slots. The population
 * holds cfg->population individuals, each snapped onto the genes' grids and evaluated; its
 * array has room for twice that (parents and children merged by NSGA-II). */
#include "evolve/evolve_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/rand.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ga {
    const nd_evolve_config_t *cfg;
    const nd_evolve_problem_t *p;
    nd_rand_t rng;
    nd_evolve_individual_t *pop;  /* 2 * n slots */
    nd_evolve_individual_t *kids; /* n slots */
    nd_evolve_individual_t *tmp;  /* 2 * n slots */
    size_t n;
    uint32_t m;
    double rate;
    double best_so_far;
    uint32_t last_improved;
    nd__evolve_cache_t cache;
    nd__evolve_counters_t counters;
} ga_t;

const char *nd_evolve_stop_name(nd_evolve_stop_t stop)
{
    switch (stop) {
    case ND_EVOLVE_STOP_GENERATIONS: return "max_generations";
    case ND_EVOLVE_STOP_STALLED: return "no_improvement";
    case ND_EVOLVE_STOP_DIVERSITY: return "diversity_collapse";
    }
    return "unknown";
}

void nd_evolve_config_default(nd_evolve_config_t *cfg)
{
    ND_ASSERT(cfg != NULL);
    memset(cfg, 0, sizeof *cfg);
    cfg->population = 50;
    cfg->generations = 100;
    cfg->elite = 2;
    cfg->tournament = 3;
    cfg->crossover_prob = 0.9;
    cfg->eta_crossover = 15.0;
    cfg->eta_mutation = 20.0;
    cfg->mutation_min = 0.01;
    cfg->mutation_max = 0.5;
    cfg->diversity_target = 0.1;
    cfg->mode = ND_EVOLVE_WEIGHTED;
    cfg->objective_count = 1;
    for (int k = 0; k < ND_EVOLVE_OBJECTIVES_MAX; k++)
        cfg->weights[k] = 1.0;
    cfg->epsilon = 1e-4;
    cfg->patience = 20;
    cfg->diversity_min = 0.002;
    cfg->seed = 42;
    cfg->threads = 1;
}

static nd_err_t check_genes(const nd_evolve_problem_t *p, char *err, size_t err_len)
{
    if (p->gene_count < 1 || p->gene_count > ND_EVOLVE_GENES_MAX || !p->genes || !p->eval_cb) {
        snprintf(err, err_len, "evolve: need 1..%d genes and a fitness callback",
                 ND_EVOLVE_GENES_MAX);
        return ND_EINVAL;
    }
    for (uint32_t g = 0; g < p->gene_count; g++) {
        const nd_evolve_gene_t *d = &p->genes[g];
        if (!isfinite(d->min) || !isfinite(d->max) || d->min > d->max || !(d->step >= 0.0)) {
            snprintf(err, err_len, "evolve: gene %u has bad bounds [%g, %g] or step %g", g,
                     d->min, d->max, d->step);
            return ND_EINVAL;
        }
    }
    return ND_OK;
}

static nd_err_t check_config(const nd_evolve_config_t *c, const nd_evolve_problem_t *p,
                             char *err, size_t err_len)
{
    const char *why = NULL;
    if (c->population < 4 || c->population > ND_EVOLVE_POPULATION_MAX)
        why = "population must be 4..4096";
    else if (c->elite >= c->population)
        why = "elite must be smaller than the population";
    else if (c->tournament < 1 || c->tournament > c->population)
        why = "tournament size must be 1..population";
    else if (c->objective_count < 1 || c->objective_count > ND_EVOLVE_OBJECTIVES_MAX)
        why = "need 1..8 objectives";
    else if (c->threads < 1 || c->threads > ND_EVOLVE_THREADS_MAX)
        why = "threads must be 1..256";
    else if (!(c->crossover_prob >= 0.0 && c->crossover_prob <= 1.0) ||
             !(c->mutation_min >= 0.0 && c->mutation_min <= c->mutation_max &&
               c->mutation_max <= 1.0) || !(c->eta_crossover >= 0.0) || !(c->eta_mutation >= 0.0))
        why = "probabilities must be in [0, 1] (mutation min <= max), distribution indexes >= 0";
    if (why) {
        snprintf(err, err_len, "evolve: %s", why);
        return ND_EINVAL;
    }
    return check_genes(p, err, err_len);
}

/* ---- Operators. -------------------------------------------------------------------------- */

static double gene_grid_points(const nd_evolve_gene_t *d)
{
    double step = d->type != ND_PARAM_REAL && d->step < 1.0 ? 1.0 : d->step;
    return step > 0.0 ? floor((d->max - d->min) / step + 1e-9) + 1.0 : 0.0;
}

static void random_genes(ga_t *ga, double *genes)
{
    for (uint32_t g = 0; g < ga->p->gene_count; g++) {
        const nd_evolve_gene_t *d = &ga->p->genes[g];
        double points = gene_grid_points(d);
        double step = d->type != ND_PARAM_REAL && d->step < 1.0 ? 1.0 : d->step;
        if (points > 0.0)
            genes[g] = d->min + step * (double)nd_rand_below(&ga->rng, (uint64_t)points);
        else
            genes[g] = d->min + nd_rand_uniform(&ga->rng) * (d->max - d->min);
    }
}

/* Simulated binary crossover of one real gene (Deb and Agrawal, bounded form). */
static void sbx(ga_t *ga, const nd_evolve_gene_t *d, double *x1, double *x2)
{
    double lo = d->min, hi = d->max, eta = ga->cfg->eta_crossover;
    double y1 = fmin(*x1, *x2), y2 = fmax(*x1, *x2);
    if (nd_rand_uniform(&ga->rng) > 0.5 || y2 - y1 < 1e-14)
        return;
    double u = nd_rand_uniform(&ga->rng);
    double c[2];
    for (int side = 0; side < 2; side++) {
        double beta = 1.0 + 2.0 * (side == 0 ? y1 - lo : hi - y2) / (y2 - y1);
        double alpha = 2.0 - pow(beta, -(eta + 1.0));
        double betaq = u <= 1.0 / alpha ? pow(u * alpha, 1.0 / (eta + 1.0))
                                        : pow(1.0 / (2.0 - u * alpha), 1.0 / (eta + 1.0));
        double v = 0.5 * ((y1 + y2) + (side == 0 ? -betaq : betaq) * (y2 - y1));
        c[side] = fmin(fmax(v, lo), hi);
    }
    int swap = nd_rand_uniform(&ga->rng) < 0.5;
    *x1 = c[swap];
    *x2 = c[1 - swap];
}

static void crossover(ga_t *ga, double *a, double *b)
{
    for (uint32_t g = 0; g < ga->p->gene_count; g++) {
        const nd_evolve_gene_t *d = &ga->p->genes[g];
        if (d->type == ND_PARAM_REAL) {
            sbx(ga, d, &a[g], &b[g]);
        } else if (nd_rand_uniform(&ga->rng) < 0.5) {
            double t = a[g];
            a[g] = b[g];
            b[g] = t;
        }
    }
}

/* Polynomial mutation (Deb and Goyal) of one gene within its bounds. */
static double poly_mutate(ga_t *ga, const nd_evolve_gene_t *d, double y)
{
    double lo = d->min, hi = d->max, eta = ga->cfg->eta_mutation;
    if (!(hi > lo))
        return y;
    double u = nd_rand_uniform(&ga->rng), pw = 1.0 / (eta + 1.0), dq;
    if (u < 0.5) {
        double xy = 1.0 - (y - lo) / (hi - lo);
        dq = pow(2.0 * u + (1.0 - 2.0 * u) * pow(xy, eta + 1.0), pw) - 1.0;
    } else {
        double xy = 1.0 - (hi - y) / (hi - lo);
        dq = 1.0 - pow(2.0 * (1.0 - u) + 2.0 * (u - 0.5) * pow(xy, eta + 1.0), pw);
    }
    return fmin(fmax(y + dq * (hi - lo), lo), hi);
}

static void mutate(ga_t *ga, double *genes)
{
    for (uint32_t g = 0; g < ga->p->gene_count; g++) {
        const nd_evolve_gene_t *d = &ga->p->genes[g];
        if (nd_rand_uniform(&ga->rng) >= ga->rate)
            continue;
        if (d->type == ND_PARAM_CHOICE) {
            double count = d->max - d->min + 1.0;
            genes[g] = d->min + (double)nd_rand_below(&ga->rng, (uint64_t)count);
            continue;
        }
        double before = genes[g];
        double after = poly_mutate(ga, d, before);
        double step = d->type == ND_PARAM_INT && d->step < 1.0 ? 1.0 : d->step;
        /* A grid gene whose move rounds back to where it was takes one step instead. */
        if (step > 0.0 && fabs(after - before) < 0.5 * step)
            after = before + (after >= before ? step : -step);
        genes[g] = after;
    }
}

static void prepare(ga_t *ga, nd_evolve_individual_t *ind)
{
    nd__evolve_snap(ga->p->genes, ga->p->gene_count, ind->genes);
    if (ga->p->repair_cb) {
        ga->p->repair_cb(ga->p->ctx, ind->genes);
        nd__evolve_snap(ga->p->genes, ga->p->gene_count, ind->genes);
    }
}

/* ---- Selection. -------------------------------------------------------------------------- */

static int better_weighted(const nd_evolve_individual_t *a, const nd_evolve_individual_t *b)
{
    if (a->violation != b->violation)
        return a->violation < b->violation;
    return a->score > b->score;
}

static int better_pareto(const nd_evolve_individual_t *a, const nd_evolve_individual_t *b)
{
    if (a->rank != b->rank)
        return a->rank < b->rank;
    return a->crowding > b->crowding;
}

static size_t tournament(ga_t *ga)
{
    size_t best = (size_t)nd_rand_below(&ga->rng, ga->n);
    for (uint32_t k = 1; k < ga->cfg->tournament; k++) {
        size_t c = (size_t)nd_rand_below(&ga->rng, ga->n);
        int wins = ga->cfg->mode == ND_EVOLVE_PARETO ? better_pareto(&ga->pop[c], &ga->pop[best])
                                                     : better_weighted(&ga->pop[c], &ga->pop[best]);
        if (wins)
            best = c;
    }
    return best;
}

static void breed(ga_t *ga, nd_evolve_individual_t *kids, size_t count)
{
    for (size_t made = 0; made < count; made += 2) {
        nd_evolve_individual_t *c1 = &kids[made];
        nd_evolve_individual_t c2_local, *c2 = made + 1 < count ? &kids[made + 1] : &c2_local;
        *c1 = ga->pop[tournament(ga)];
        *c2 = ga->pop[tournament(ga)];
        if (nd_rand_uniform(&ga->rng) < ga->cfg->crossover_prob)
            crossover(ga, c1->genes, c2->genes);
        mutate(ga, c1->genes);
        mutate(ga, c2->genes);
        prepare(ga, c1);
        prepare(ga, c2);
    }
}

static void score_all(ga_t *ga, nd_evolve_individual_t *inds, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        double s = 0.0;
        for (uint32_t k = 0; k < ga->m; k++)
            s += ga->cfg->weights[k] * inds[i].objectives[k];
        inds[i].score = s;
    }
}

typedef struct order_ctx {
    const nd_evolve_individual_t *inds;
    nd_evolve_mode_t mode;
} order_ctx_t;

static int cmp_order(const void *x, const void *y, void *arg)
{
    const order_ctx_t *oc = arg;
    size_t i = *(const size_t *)x, j = *(const size_t *)y;
    const nd_evolve_individual_t *a = &oc->inds[i], *b = &oc->inds[j];
    int (*better)(const nd_evolve_individual_t *, const nd_evolve_individual_t *) =
        oc->mode == ND_EVOLVE_PARETO ? better_pareto : better_weighted;
    if (better(a, b))
        return -1;
    if (better(b, a))
        return 1;
    return (i > j) - (i < j);
}

/* Ranks inds[0..count), orders them best first (rank and crowding in Pareto mode, feasibility
 * and score in weighted mode) and keeps the first ga->n in ga->pop. */
static nd_err_t survive(ga_t *ga, nd_evolve_individual_t *inds, size_t count)
{
    ND_ASSERT(count >= ga->n);
    ND_ASSERT(inds == ga->pop);
    score_all(ga, inds, count);
    nd_err_t rc = nd__evolve_rank(inds, count, ga->m);
    if (rc != ND_OK)
        return rc;
    size_t *order = nd_alloc(count * sizeof *order);
    if (!order)
        return ND_ENOMEM;
    for (size_t i = 0; i < count; i++)
        order[i] = i;
    order_ctx_t oc = {inds, ga->cfg->mode};
    qsort_r(order, count, sizeof *order, cmp_order, &oc);
    for (size_t i = 0; i < ga->n; i++)
        ga->tmp[i] = inds[order[i]];
    nd_free(order);
    memcpy(ga->pop, ga->tmp, ga->n * sizeof *ga->pop);
    if (count != ga->n) /* ranks within the survivors, for the next tournaments */
        rc = nd__evolve_rank(ga->pop, ga->n, ga->m);
    return rc;
}

/* One generation: children bred from the current population, evaluated, then survivors: in
 * weighted mode the elite plus the children, in Pareto mode the best n of parents + children. */
static nd_err_t step(ga_t *ga, char *err, size_t err_len)
{
    size_t elite = ga->cfg->mode == ND_EVOLVE_PARETO ? 0 : ga->cfg->elite;
    size_t kid_count = ga->n - elite;
    breed(ga, ga->kids, ga->cfg->mode == ND_EVOLVE_PARETO ? ga->n : kid_count);
    if (ga->cfg->mode == ND_EVOLVE_PARETO)
        kid_count = ga->n;
    nd_err_t rc = nd__evolve_evaluate(ga->p, ga->m, ga->cfg->threads, &ga->cache, ga->kids,
                                      kid_count, &ga->counters, err, err_len);
    if (rc != ND_OK)
        return rc;
    /* The population is ordered best first, so the elite are its first `elite` members. */
    size_t keep = ga->cfg->mode == ND_EVOLVE_PARETO ? ga->n : elite;
    memcpy(&ga->pop[keep], ga->kids, kid_count * sizeof *ga->kids);
    return survive(ga, ga->pop, keep + kid_count);
}

/* ---- Statistics, convergence, result. ---------------------------------------------------- */

static double diversity(const ga_t *ga)
{
    double sum = 0.0;
    uint32_t counted = 0;
    for (uint32_t g = 0; g < ga->p->gene_count; g++) {
        double range = ga->p->genes[g].max - ga->p->genes[g].min;
        if (!(range > 0.0))
            continue;
        double mean = 0.0, ss = 0.0;
        for (size_t i = 0; i < ga->n; i++)
            mean += ga->pop[i].genes[g];
        mean /= (double)ga->n;
        for (size_t i = 0; i < ga->n; i++)
            ss += (ga->pop[i].genes[g] - mean) * (ga->pop[i].genes[g] - mean);
        /* A uniform spread over the range has std range / sqrt(12): that scores 1. */
        sum += sqrt(ss / (double)ga->n) / range * sqrt(12.0);
        counted++;
    }
    return counted ? sum / counted : 0.0;
}

static double front_hypervolume(const ga_t *ga)
{
    double *pts = nd_alloc(ga->n * ga->m * sizeof *pts);
    if (!pts)
        return NAN;
    size_t k = 0;
    for (size_t i = 0; i < ga->n; i++)
        if (ga->pop[i].rank == 0 && ga->pop[i].violation == 0.0)
            memcpy(&pts[k++ * ga->m], ga->pop[i].objectives, ga->m * sizeof *pts);
    double hv = nd_evolve_hypervolume(pts, k, ga->m, ga->cfg->reference);
    nd_free(pts);
    return hv;
}

static void fill_row(const ga_t *ga, uint32_t gen, nd_evolve_generation_t *row)
{
    double best = NAN, sum = 0.0;
    size_t feasible = 0;
    for (size_t i = 0; i < ga->n; i++) {
        if (ga->pop[i].violation > 0.0)
            continue;
        if (feasible == 0 || ga->pop[i].score > best)
            best = ga->pop[i].score;
        sum += ga->pop[i].score;
        feasible++;
    }
    row->generation = gen;
    row->best = best;
    row->mean = feasible ? sum / (double)feasible : NAN;
    row->diversity = diversity(ga);
    row->hypervolume = front_hypervolume(ga);
    row->evaluations = ga->counters.evaluations;
    row->lookups = ga->counters.lookups;
}

/* Updates the improvement record and the mutation rate from generation gen's row; returns the
 * stop reason when the run should end here, or -1 to go on. */
static int converge(ga_t *ga, uint32_t gen, nd_evolve_generation_t *row)
{
    double tracked = ga->cfg->mode == ND_EVOLVE_PARETO ? row->hypervolume : row->best;
    int improved = 0;
    if (!isfinite(tracked)) {
        ga->last_improved = gen; /* nothing feasible yet: no clock on stalling */
    } else if (!isfinite(ga->best_so_far) || tracked > ga->best_so_far + ga->cfg->epsilon) {
        improved = isfinite(ga->best_so_far);
        ga->best_so_far = tracked;
        ga->last_improved = gen;
    }
    /* Falling diversity pushes the rate up, improvement eases it; with both the push wins
     * (x1.2), so a population that creeps forward while collapsing still gets shaken. */
    double factor = (row->diversity < ga->cfg->diversity_target ? 1.5 : 1.0) *
                    (improved ? 0.8 : 1.0);
    ga->rate = fmin(ga->cfg->mutation_max, fmax(ga->cfg->mutation_min, ga->rate * factor));
    row->mutation_rate = ga->rate;
    if (gen > 0 && ga->cfg->diversity_min > 0.0 && row->diversity < ga->cfg->diversity_min)
        return ND_EVOLVE_STOP_DIVERSITY;
    if (ga->cfg->patience > 0 && gen - ga->last_improved >= ga->cfg->patience)
        return ND_EVOLVE_STOP_STALLED;
    return -1;
}

static int cmp_front(const void *x, const void *y)
{
    const nd_evolve_individual_t *a = x, *b = y;
    if (better_weighted(a, b))
        return -1;
    if (better_weighted(b, a))
        return 1;
    return memcmp(a->genes, b->genes, sizeof a->genes);
}

/* The final first front, distinct genomes, best weighted score first; best is its head. */
static nd_err_t finish(ga_t *ga, nd_evolve_result_t *out)
{
    out->front = nd_calloc(ga->n, sizeof *out->front);
    if (!out->front)
        return ND_ENOMEM;
    for (size_t i = 0; i < ga->n; i++) {
        const nd_evolve_individual_t *c = &ga->pop[i];
        int seen = c->rank != 0;
        for (size_t j = 0; !seen && j < out->front_count; j++)
            seen = memcmp(out->front[j].genes, c->genes, sizeof c->genes) == 0;
        if (!seen)
            out->front[out->front_count++] = *c;
    }
    ND_ASSERT(out->front_count >= 1);
    qsort(out->front, out->front_count, sizeof *out->front, cmp_front);
    /* Weighted mode orders the population by score, so its head is the best even when some
     * weight is negative (and the head then need not be on the first front). */
    out->best = ga->cfg->mode == ND_EVOLVE_PARETO ? out->front[0] : ga->pop[0];
    out->evaluations = ga->counters.evaluations;
    out->lookups = ga->counters.lookups;
    return ND_OK;
}

static nd_err_t ga_init(ga_t *ga, const nd_evolve_config_t *cfg, const nd_evolve_problem_t *p,
                        nd_evolve_result_t *out)
{
    memset(ga, 0, sizeof *ga);
    ga->cfg = cfg;
    ga->p = p;
    ga->n = cfg->population;
    ga->m = cfg->objective_count;
    ga->best_so_far = NAN;
    double rate = cfg->mutation_rate > 0.0 ? cfg->mutation_rate : 1.0 / p->gene_count;
    ga->rate = fmin(fmax(rate, cfg->mutation_min), cfg->mutation_max);
    nd_rand_init(&ga->rng, cfg->seed);
    nd__evolve_cache_init(&ga->cache, p->gene_count, ga->m);
    ga->pop = nd_calloc(2 * ga->n, sizeof *ga->pop);
    ga->kids = nd_calloc(ga->n, sizeof *ga->kids);
    ga->tmp = nd_calloc(2 * ga->n, sizeof *ga->tmp);
    out->history = nd_calloc((size_t)cfg->generations + 1, sizeof *out->history);
    if (!ga->pop || !ga->kids || !ga->tmp || !out->history)
        return ND_ENOMEM;
    return ND_OK;
}

static void ga_deinit(ga_t *ga)
{
    nd_free(ga->pop);
    nd_free(ga->kids);
    nd_free(ga->tmp);
    nd__evolve_cache_deinit(&ga->cache);
}

/* Generation 0: random genomes, repaired and evaluated. */
static nd_err_t seed_population(ga_t *ga, char *err, size_t err_len)
{
    for (size_t i = 0; i < ga->n; i++) {
        random_genes(ga, ga->pop[i].genes);
        prepare(ga, &ga->pop[i]);
    }
    nd_err_t rc = nd__evolve_evaluate(ga->p, ga->m, ga->cfg->threads, &ga->cache, ga->pop, ga->n,
                                      &ga->counters, err, err_len);
    return rc == ND_OK ? survive(ga, ga->pop, ga->n) : rc;
}

/* Records generation gen; returns the stop reason or -1. */
static int record(ga_t *ga, uint32_t gen, nd_evolve_result_t *out)
{
    nd_evolve_generation_t *row = &out->history[out->history_count++];
    fill_row(ga, gen, row);
    int stop = converge(ga, gen, row);
    out->generations_run = gen;
    if (ga->p->progress_cb)
        ga->p->progress_cb(ga->p->progress_ctx, row);
    return stop;
}

nd_err_t nd_evolve_run(const nd_evolve_config_t *cfg, const nd_evolve_problem_t *p,
                       nd_evolve_result_t *out, char *err, size_t err_len)
{
    ND_ASSERT(cfg != NULL && p != NULL);
    ND_ASSERT(out != NULL);
    memset(out, 0, sizeof *out);
    nd_err_t rc = check_config(cfg, p, err, err_len);
    if (rc != ND_OK)
        return rc;
    ga_t ga;
    rc = ga_init(&ga, cfg, p, out);
    if (rc == ND_OK)
        rc = seed_population(&ga, err, err_len);
    int stop = rc == ND_OK ? record(&ga, 0, out) : -1;
    for (uint32_t gen = 1; rc == ND_OK && stop < 0 && gen <= cfg->generations; gen++) {
        rc = step(&ga, err, err_len);
        if (rc == ND_OK)
            stop = record(&ga, gen, out);
    }
    if (rc == ND_OK) {
        out->stop_reason = stop < 0 ? ND_EVOLVE_STOP_GENERATIONS : (nd_evolve_stop_t)stop;
        out->stopped_at_generation = out->generations_run;
        rc = finish(&ga, out);
    }
    if (rc == ND_ENOMEM)
        snprintf(err, err_len, "evolve: out of memory");
    ga_deinit(&ga);
    return rc;
}

void nd_evolve_result_free(nd_evolve_result_t *r)
{
    if (!r)
        return;
    nd_free(r->front);
    nd_free(r->history);
    memset(r, 0, sizeof *r);
}
