/* evolve.h: the genetic-algorithm optimiser (`noderr evolve`).
 *
 * Two layers. The GA core (nd_evolve_run) knows nothing about trading: it evolves a genome of
 * integer, real and choice genes against a fitness callback that returns one or more
 * objectives, all maximised, and a constraint violation (0 = feasible). It offers a
 * weighted-sum mode and NSGA-II (fast non-dominated sort, crowding distance), elitism,
 * tournament selection, SBX crossover for reals and uniform crossover for integers and
 * choices, polynomial mutation with an adaptive rate, memoised fitness and early stopping.
 * The strategy layer (nd_evolve_task_t) turns a strategy's parameter schema into a genome and
 * evaluates a parameter set by running the real engine over bars held in memory.
 *
 * Reproducibility: every random draw is taken on the calling thread from one nd_rand_t seeded
 * with cfg.seed, in a fixed order; only fitness evaluation runs on worker threads, each result
 * written into its own slot. The same seed gives the same result whatever cfg.threads is. */
#ifndef NODERR_EVOLVE_H
#define NODERR_EVOLVE_H

#include "noderr/engine.h"
#include "noderr/err.h"
#include "noderr/market.h"
#include "noderr/strategy.h"
#include "noderr/text.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Limits of the optimiser (kept here rather than in limits.h because only this module uses
 * them). 32 genes covers every strategy schema (ND_STRATEGY_PARAMS_MAX) and the 30-variable
 * ZDT1 benchmark; 8 objectives covers every metric offered; a population beyond 4096 costs
 * O(n^2) per generation in the non-dominated sort for no practical gain. */
#define ND_EVOLVE_GENES_MAX 32
#define ND_EVOLVE_OBJECTIVES_MAX 8
#define ND_EVOLVE_POPULATION_MAX 4096
#define ND_EVOLVE_THREADS_MAX 256

/* ---- The GA core. ------------------------------------------------------------------------ */

typedef struct nd_evolve_gene {
    nd_param_type_t type;   /* integer, real or choice */
    double min, max;        /* inclusive bounds; choice: 0 .. choice_count - 1 */
    double step;            /* grid from min (0 = continuous); integers use at least 1 */
} nd_evolve_gene_t;

typedef enum nd_evolve_mode {
    ND_EVOLVE_WEIGHTED = 0, /* one score: the weighted sum of the objectives */
    ND_EVOLVE_PARETO = 1    /* NSGA-II over all objectives */
} nd_evolve_mode_t;

typedef enum nd_evolve_stop {
    ND_EVOLVE_STOP_GENERATIONS = 0, /* ran every generation asked for */
    ND_EVOLVE_STOP_STALLED = 1,     /* best (hypervolume in Pareto mode) flat for patience gens */
    ND_EVOLVE_STOP_DIVERSITY = 2    /* the population collapsed onto (nearly) one genome */
} nd_evolve_stop_t;

/* "max_generations", "no_improvement", "diversity_collapse". */
const char *nd_evolve_stop_name(nd_evolve_stop_t stop);

typedef struct nd_evolve_config {
    uint32_t population;     /* individuals per generation (default 50) */
    uint32_t generations;    /* at most this many generations after the first (default 100) */
    uint32_t elite;          /* weighted mode: best carried over unchanged (default 2) */
    uint32_t tournament;     /* tournament size k (default 3) */
    double crossover_prob;   /* chance a pair is recombined (default 0.9) */
    double eta_crossover;    /* SBX distribution index (default 15) */
    double eta_mutation;     /* polynomial mutation distribution index (default 20) */
    double mutation_rate;    /* initial per-gene mutation chance; 0: 1 / genes (default 0) */
    double mutation_min;     /* the adaptive rate stays in [min, max] (0.01, 0.5) */
    double mutation_max;
    double diversity_target; /* below it (and with no improvement) the rate rises (0.1) */
    nd_evolve_mode_t mode;
    uint32_t objective_count;
    double weights[ND_EVOLVE_OBJECTIVES_MAX];   /* weighted score; defaults 1 */
    double reference[ND_EVOLVE_OBJECTIVES_MAX]; /* hypervolume reference (worst) point */
    double epsilon;          /* improvement that counts (default 1e-4) */
    uint32_t patience;       /* generations without improvement before stopping (default 20;
                              * 0 = never stop for that) */
    double diversity_min;    /* diversity below it stops the run (default 0.002; 0 = never) */
    uint64_t seed;
    uint32_t threads;        /* evaluation threads (1 = the calling thread only) */
} nd_evolve_config_t;

/* Defaults as documented above, one objective, weighted mode, seed 42, one thread. */
void nd_evolve_config_default(nd_evolve_config_t *cfg);

typedef struct nd_evolve_generation {
    uint32_t generation;     /* 0 = the initial population */
    double best;             /* weighted: best feasible score; Pareto: best weighted score */
    double mean;             /* mean weighted score of the feasible individuals */
    double diversity;        /* mean over genes of std / range, scaled so uniform = 1 */
    double mutation_rate;    /* the rate used to breed the next generation */
    double hypervolume;      /* of the feasible first front (both modes) */
    int64_t evaluations;     /* fitness calls so far (unique genomes) */
    int64_t lookups;         /* genomes asked for so far (cache hits included) */
} nd_evolve_generation_t;

/* Evaluates one genome: objectives[0..objective_count) to maximise, *violation >= 0 (0 means
 * feasible). Called from worker threads at the same time: it must be thread-safe and a pure
 * function of genes. A non-OK return stops the run with that error. */
typedef nd_err_t (*nd_evolve_eval_cb)(void *ctx, const double *genes, double *objectives,
                                      double *violation, char *err, size_t err_len);
/* Optional, on the calling thread: moves genes into the feasible region where it can (the
 * genes stay within bounds and on the grid; the core snaps them again afterwards). */
typedef void (*nd_evolve_repair_cb)(void *ctx, double *genes);
/* Optional, on the calling thread after each generation (progress lines, history). */
typedef void (*nd_evolve_progress_cb)(void *ctx, const nd_evolve_generation_t *generation);

typedef struct nd_evolve_problem {
    const nd_evolve_gene_t *genes;
    uint32_t gene_count;
    void *ctx;
    nd_evolve_eval_cb eval_cb;
    nd_evolve_repair_cb repair_cb;      /* may be NULL */
    nd_evolve_progress_cb progress_cb;  /* may be NULL */
    void *progress_ctx;                 /* handed to progress_cb */
} nd_evolve_problem_t;

typedef struct nd_evolve_individual {
    double genes[ND_EVOLVE_GENES_MAX];
    double objectives[ND_EVOLVE_OBJECTIVES_MAX];
    double violation;
    double score;            /* weighted sum of the objectives */
    uint32_t rank;           /* Pareto front index (0 = non-dominated) */
    double crowding;
} nd_evolve_individual_t;

typedef struct nd_evolve_result {
    nd_evolve_individual_t best;   /* the highest weighted score among feasible front members */
    nd_evolve_individual_t *front; /* the final first front, distinct genomes, feasible first */
    size_t front_count;
    nd_evolve_generation_t *history; /* one row per generation, 0 .. generations_run */
    size_t history_count;
    uint32_t generations_run;
    nd_evolve_stop_t stop_reason;
    uint32_t stopped_at_generation;
    int64_t evaluations;   /* fitness calls (unique genomes) */
    int64_t lookups;       /* genomes asked for; lookups - evaluations were cache hits */
} nd_evolve_result_t;

/* Runs the GA. ND_EINVAL with why for a bad config or gene definition; the callback's error
 * when it fails; ND_ENOMEM. The result must be freed with nd_evolve_result_free whatever the
 * return value. */
nd_err_t nd_evolve_run(const nd_evolve_config_t *cfg, const nd_evolve_problem_t *problem,
                       nd_evolve_result_t *out /* OUT */, char *err, size_t err_len);
void nd_evolve_result_free(nd_evolve_result_t *result);

/* Hypervolume dominated by points[count][dims] (maximised) above reference; points not
 * strictly better than the reference in every objective add nothing. Exact (slicing); cost
 * about count^(dims-1) log count, fine for the fronts here. */
double nd_evolve_hypervolume(const double *points, size_t count, uint32_t dims,
                             const double *reference);

/* ---- The strategy layer. ----------------------------------------------------------------- */

typedef enum nd_evolve_objective {
    ND_OBJ_SHARPE = 0,
    ND_OBJ_SORTINO = 1,
    ND_OBJ_CALMAR = 2,
    ND_OBJ_MAX_DRAWDOWN = 3,  /* maximised as the (negative) drawdown: minimises |dd| */
    ND_OBJ_WIN_RATE = 4,
    ND_OBJ_PROFIT_FACTOR = 5,
    ND_OBJ_TOTAL_RETURN = 6,
    ND_OBJ_COUNT = 7
} nd_evolve_objective_t;

const char *nd_evolve_objective_name(nd_evolve_objective_t objective);
/* Parses one name; ND_EINVAL for an unknown one. */
nd_err_t nd_evolve_objective_parse(const char *name, nd_evolve_objective_t *out /* OUT */);
/* The hypervolume reference value of an objective (also the floor objectives are clamped to). */
double nd_evolve_objective_reference(nd_evolve_objective_t objective);

/* A bar file parsed once into memory. */
typedef struct nd_evolve_bars {
    nd_instrument_t inst;
    nd_bar_t *bars;
    size_t count;
} nd_evolve_bars_t;

/* Loads every bar of path (same checks and errors as nd_bars_open) seen through view (NULL: as
 * is; --timeframe, --timerange) for the default BTC/USDT instrument. *out is freed with
 * nd_evolve_bars_free. */
nd_err_t nd_evolve_bars_load(const char *path, const nd_bar_view_t *view,
                             nd_evolve_bars_t *out /* OUT */, char *err, size_t err_len);
void nd_evolve_bars_free(nd_evolve_bars_t *bars);

/* What one run of a strategy gave, with metrics.c's conventions (sample std, annualised by the
 * bar interval on a 365-day year, drawdown on wealth starting at 1). NaN where undefined. */
typedef struct nd_evolve_stats {
    int64_t bars;            /* bars measured */
    int64_t trades;          /* round trips closed while measuring */
    int64_t winners;
    double periods_per_year;
    double sharpe, sortino, calmar, max_drawdown, win_rate, profit_factor, total_return;
    double annual_return;
    /* A run cut short by a halt: still halted at the end, since when, and bars spent halted. */
    bool halted;
    int64_t halted_at_ns;
    int64_t halted_bars;
} nd_evolve_stats_t;

/* Runs def with params over bars[0..count) through the engine, measuring returns and trades
 * only from bars[measure_from] on (the bars before warm the strategy up and may carry a
 * position in). Folds returns as they come: no series is stored. */
nd_err_t nd_evolve_backtest(const nd_engine_config_t *cfg, const nd_instrument_t *inst,
                            const nd_strategy_def_t *def, const double *params,
                            const nd_bar_t *bars, size_t count, size_t measure_from,
                            nd_evolve_stats_t *out /* OUT */, char *err, size_t err_len);

/* Evolving one strategy's parameters over a slice of bars. */
typedef struct nd_evolve_task {
    const nd_strategy_def_t *def;
    nd_engine_config_t engine;
    const nd_instrument_t *inst;
    const nd_bar_t *bars;
    size_t bar_count;
    size_t measure_from;
    nd_evolve_objective_t objectives[ND_EVOLVE_OBJECTIVES_MAX];
    uint32_t objective_count;
    int64_t min_trades;      /* fewer trades is a constraint violation (penalty) */
    /* A run still halted by a breaker at its end loses halt_penalty x (share of its bars spent
     * halted) from every objective, floored at the objective's reference (0 = no penalty; the
     * CLI's default is 1, --halt-penalty off|N). docs/evolve.md. */
    double halt_penalty;
    nd_evolve_gene_t genes[ND_EVOLVE_GENES_MAX]; /* filled by nd_evolve_task_problem */
} nd_evolve_task_t;

/* Fills task->genes from the strategy's schema and *problem with the task's callbacks (eval,
 * repair); also fills cfg->objective_count and cfg->reference from task->objectives. */
void nd_evolve_task_problem(nd_evolve_task_t *task, nd_evolve_config_t *cfg,
                            nd_evolve_problem_t *problem /* OUT */);

/* The repair used by the task: clamps and snaps, then when the strategy's validate() rejects
 * the set, swaps pairs of same-type genes, then nudges single genes by up to 8 steps, taking
 * the first change that validates (deterministic, no randomness). Returns 1 when the result
 * validates, 0 when it could not be repaired (the evaluation then reports a violation). */
int nd_evolve_strategy_repair(const nd_strategy_def_t *def, const nd_evolve_gene_t *genes,
                              double *values);

/* The objective values of a run as the GA sees them (maximised, NaN replaced, clamped). */
void nd_evolve_objectives_of(const nd_evolve_stats_t *stats, const nd_evolve_objective_t *which,
                             uint32_t count, double *objectives /* OUT */);

/* ---- Walk-forward windows (walk_forward.c). --------------------------------------------- */

/* One window over a bar array: train on [train_begin, train_end), test on [train_end, test_end).
 * Both slices are non-empty. */
typedef struct nd_evolve_window {
    size_t train_begin, train_end, test_end;
} nd_evolve_window_t;

/* The window starting at bar begin for spans in time or in bars (nd_span_t). Returns 1 and
 * fills *w when a full window fits the data, 0 when it does not. Time arithmetic saturates, so
 * a span longer than the data (even one near INT64_MAX nanoseconds) is "does not fit", never an
 * overflow. The last window must cover its whole test span: the data has to reach its end. */
int nd_evolve_window_at(const nd_evolve_bars_t *data, size_t begin, nd_span_t train,
                        nd_span_t test, nd_evolve_window_t *w /* OUT */);
/* Where the window after the one starting at begin starts: begin moved by the test span, so
 * the test slices tile the data; always > begin (data->count when the data is used up). */
size_t nd_evolve_window_next(const nd_evolve_bars_t *data, size_t begin, nd_span_t test);

/* ---- Choosing what a walk-forward run writes (select.c). -------------------------------- */

/* The median of the finite values of values[0..count) (sorted in place, NaNs dropped); NaN
 * when none. O(count^2) for the few windows there are. */
double nd_evolve_median(double *values, size_t count);

/* The documented rule: scores[c * windows + w] is candidate c's out-of-sample score on window
 * w's test slice; flagged[c] says whether c failed the in-sample/out-of-sample check in its own
 * window. Fills medians[0..candidates) and returns the index of the candidate with the highest
 * median among the unflagged (ties: the lower index; NaN medians lose). When every candidate is
 * flagged it returns the best median of all and sets *chose_flagged, so the caller warns.
 * scratch holds windows values. -1 when there are no candidates. */
long nd_evolve_select_oos(const double *scores, size_t candidates, size_t windows,
                          const bool *flagged, double *medians /* OUT */, double *scratch,
                          bool *chose_flagged /* OUT */);

#endif
