/* ga_eval.c: fitness evaluation for the GA: gene snapping, the memo cache and the batch
 * evaluator that spreads distinct uncached genomes over worker threads.
 *
 * Invariants: only the calling thread reads or writes the cache; a worker only calls eval_cb
 * and writes the slots of the jobs it took (taken through one atomic counter), so the results
 * do not depend on the number of threads or on scheduling. A genome is evaluated at most once
 * per run: later requests, in the same batch or a later one, read the cache. */
#include "evolve/evolve_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define JOB_ERR_LEN 160

/* Decimal places of a grid step or bound (0.1 has 1, 0.25 has 2); -1 past 9. */
static int grid_decimals(double x)
{
    double scale = 1.0;
    for (int dec = 0; dec <= 9; dec++, scale *= 10.0) {
        double scaled = x * scale;
        if (fabs(scaled - round(scaled)) < 1e-9 * (scaled > 1.0 ? scaled : 1.0))
            return dec;
    }
    return -1;
}

void nd__evolve_snap(const nd_evolve_gene_t *genes, uint32_t gene_count, double *values)
{
    ND_ASSERT(genes != NULL && values != NULL);
    for (uint32_t g = 0; g < gene_count; g++) {
        const nd_evolve_gene_t *d = &genes[g];
        double v = values[g];
        double step = d->step;
        if (d->type != ND_PARAM_REAL && step < 1.0)
            step = 1.0;
        if (!isfinite(v))
            v = d->min;
        if (step > 0.0) {
            double k_max = floor((d->max - d->min) / step + 1e-9);
            double k = round((v - d->min) / step);
            k = k < 0.0 ? 0.0 : (k > k_max ? k_max : k);
            v = d->min + k * step;
            /* On a decimal grid the value is the double nearest the decimal (2.9, not
             * 29 * 0.1 = 2.9000000000000004): what is evaluated is what a parameter file says. */
            int dec_step = grid_decimals(step), dec_min = grid_decimals(d->min);
            if (d->type == ND_PARAM_REAL && dec_step >= 0 && dec_min >= 0) {
                double scale = pow(10.0, dec_step > dec_min ? dec_step : dec_min);
                v = round(v * scale) / scale;
            }
        }
        v = v < d->min ? d->min : (v > d->max ? d->max : v);
        values[g] = v + 0.0; /* -0.0 + 0.0 is +0.0: one cache key per value */
    }
}

/* ---- The cache. -------------------------------------------------------------------------- */

static uint64_t hash_genes(const void *key, size_t key_size)
{
    uint64_t h = nd_hash_fnv1a(key, key_size);
    return h ^ (h >> 29);
}

void nd__evolve_cache_init(nd__evolve_cache_t *c, uint32_t gene_count, uint32_t objective_count)
{
    ND_ASSERT(c != NULL);
    ND_ASSERT(gene_count >= 1 && objective_count >= 1);
    memset(c, 0, sizeof *c);
    c->gene_count = gene_count;
    c->value_count = objective_count + 1;
    nd_hmap_init(&c->map, gene_count * sizeof(double), c->value_count * sizeof(double),
                 hash_genes);
}

void nd__evolve_cache_deinit(nd__evolve_cache_t *c)
{
    nd_hmap_deinit(&c->map);
    memset(c, 0, sizeof *c);
}

/* ---- The batch evaluator. ---------------------------------------------------------------- */

typedef struct batch {
    const nd_evolve_problem_t *problem;
    uint32_t value_count;
    size_t job_count;
    const double **genes;   /* per job */
    double *values;         /* per job: objectives then the violation */
    nd_err_t *rc;           /* per job */
    char *err;              /* per job, JOB_ERR_LEN each */
    atomic_size_t next;
} batch_t;

static void *worker(void *arg)
{
    batch_t *b = arg;
    ND_ASSERT(b != NULL);
    for (;;) {
        size_t j = atomic_fetch_add(&b->next, 1);
        if (j >= b->job_count)
            break;
        double *v = &b->values[j * b->value_count];
        b->rc[j] = b->problem->eval_cb(b->problem->ctx, b->genes[j], v, &v[b->value_count - 1],
                                       &b->err[j * JOB_ERR_LEN], JOB_ERR_LEN);
    }
    return NULL;
}

/* Runs the jobs on min(threads, jobs) threads, the calling thread being one of them. */
static nd_err_t run_batch(batch_t *b, uint32_t threads, char *err, size_t err_len)
{
    pthread_t tid[ND_EVOLVE_THREADS_MAX];
    uint32_t spawn = threads > b->job_count ? (uint32_t)b->job_count : threads;
    uint32_t started = 0;
    atomic_init(&b->next, 0);
    for (uint32_t t = 1; t < spawn; t++) {
        if (pthread_create(&tid[t], NULL, worker, b) != 0)
            break; /* fewer threads: slower, same result */
        started = t;
    }
    worker(b);
    for (uint32_t t = 1; t <= started; t++)
        pthread_join(tid[t], NULL);
    for (size_t j = 0; j < b->job_count; j++) {
        if (b->rc[j] != ND_OK) {
            snprintf(err, err_len, "%s", &b->err[j * JOB_ERR_LEN]);
            return b->rc[j];
        }
    }
    return ND_OK;
}

static void free_batch(batch_t *b)
{
    nd_free(b->genes);
    nd_free(b->values);
    nd_free(b->rc);
    nd_free(b->err);
}

/* Marks each individual's cache slot; uncached distinct genomes become jobs. */
static size_t plan_jobs(nd__evolve_cache_t *c, nd_evolve_individual_t *inds, size_t count,
                        size_t *slot_of, batch_t *b, size_t *job_slot)
{
    size_t jobs = 0;
    for (size_t i = 0; i < count; i++) {
        size_t s = nd_hmap_slot(&c->map, inds[i].genes);
        slot_of[i] = s;
        if (nd_hmap_used(&c->map, s))
            continue;
        nd_hmap_claim(&c->map, s, inds[i].genes); /* values arrive after the batch ran */
        b->genes[jobs] = inds[i].genes;
        job_slot[jobs++] = s;
    }
    return jobs;
}

nd_err_t nd__evolve_evaluate(const nd_evolve_problem_t *p, uint32_t objective_count,
                             uint32_t threads, nd__evolve_cache_t *c,
                             nd_evolve_individual_t *inds, size_t count,
                             nd__evolve_counters_t *counters, char *err, size_t err_len)
{
    ND_ASSERT(p != NULL && c != NULL && counters != NULL);
    ND_ASSERT(c->value_count == objective_count + 1);
    if (nd_hmap_reserve(&c->map, count) != ND_OK)
        return ND_ENOMEM;
    batch_t b = {p, c->value_count, 0, NULL, NULL, NULL, NULL, 0};
    size_t *slot_of = nd_calloc(count + 1, sizeof *slot_of);
    size_t *job_slot = nd_calloc(count + 1, sizeof *job_slot);
    b.genes = nd_calloc(count + 1, sizeof *b.genes);
    b.values = nd_calloc((count + 1) * c->value_count, sizeof *b.values);
    b.rc = nd_calloc(count + 1, sizeof *b.rc);
    b.err = nd_calloc((count + 1) * JOB_ERR_LEN, 1);
    nd_err_t rc = ND_ENOMEM;
    if (slot_of && job_slot && b.genes && b.values && b.rc && b.err) {
        b.job_count = plan_jobs(c, inds, count, slot_of, &b, job_slot);
        rc = run_batch(&b, threads, err, err_len);
    }
    for (size_t j = 0; rc == ND_OK && j < b.job_count; j++)
        memcpy(nd_hmap_value(&c->map, job_slot[j]), &b.values[j * c->value_count],
               c->value_count * sizeof(double));
    for (size_t i = 0; rc == ND_OK && i < count; i++) {
        const double *v = nd_hmap_value(&c->map, slot_of[i]);
        memcpy(inds[i].objectives, v, objective_count * sizeof(double));
        inds[i].violation = v[objective_count];
    }
    if (rc == ND_OK) {
        counters->evaluations += (int64_t)b.job_count;
        counters->lookups += (int64_t)count;
    }
    nd_free(slot_of);
    nd_free(job_slot);
    free_batch(&b);
    return rc;
}
