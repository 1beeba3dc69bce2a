/* evolve_int.h: what the optimiser's files share and nobody else sees: the fitness cache, the
 * threaded batch evaluator, Pareto ranking and gene snapping. */
#ifndef NODERR_EVOLVE_INT_H
#define NODERR_EVOLVE_INT_H

#include "noderr/evolve.h"
#include "noderr/hmap.h"

#include <stddef.h>
#include <stdint.h>

/* Memoised fitness keyed by the exact (snapped) gene values (gene_count doubles), each value
 * value_count doubles, in the one hash table (hmap.h). Touched only by the calling thread. */
typedef struct nd__evolve_cache {
    nd_hmap_t map;
    uint32_t gene_count;
    uint32_t value_count;   /* objectives + 1 (the violation) */
} nd__evolve_cache_t;

void nd__evolve_cache_init(nd__evolve_cache_t *c, uint32_t gene_count, uint32_t objective_count);
void nd__evolve_cache_deinit(nd__evolve_cache_t *c);

typedef struct nd__evolve_counters {
    int64_t evaluations;
    int64_t lookups;
} nd__evolve_counters_t;

/* Fills objectives and violation of inds[0..count) from the cache or by calling the problem's
 * eval_cb on `threads` threads (distinct uncached genomes only, each once). */
nd_err_t nd__evolve_evaluate(const nd_evolve_problem_t *p, uint32_t objective_count,
                             uint32_t threads, nd__evolve_cache_t *cache,
                             nd_evolve_individual_t *inds, size_t count,
                             nd__evolve_counters_t *counters, char *err, size_t err_len);

/* Clamps each gene into its bounds and onto its grid; -0.0 becomes 0.0 (cache keys). */
void nd__evolve_snap(const nd_evolve_gene_t *genes, uint32_t gene_count, double *values);

/* Constrained domination (Deb 2000): feasible beats infeasible, the smaller violation beats the
 * larger, and between feasible ones Pareto dominance over the (maximised) objectives. */
int nd__evolve_dominates(const nd_evolve_individual_t *a, const nd_evolve_individual_t *b,
                         uint32_t objective_count);

/* Fast non-dominated sort then crowding distance per front: sets rank and crowding of
 * inds[0..count). ND_ENOMEM. */
nd_err_t nd__evolve_rank(nd_evolve_individual_t *inds, size_t count, uint32_t objective_count);

#endif
