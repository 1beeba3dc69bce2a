/* allocation.h: dynamic capital allocation across strategies (docs/launcher.md "Allocation"):
 * each strategy's weight (its share of the capital the ramp releases) from its recent daily
 * returns, rebalanced on a schedule. Not alloc.h, which is the memory allocator.
 *
 * The rule is inverse volatility (risk parity without correlations): a strategy with enough
 * history (min_history days) scores 1 / max(stdev of its last `window` daily returns,
 * vol_floor); the scored strategies share their part of the budget, total * scored / active, in
 * proportion to their scores, within [min, max] each; the strategies with too little history
 * each get an equal share of what is left (total minus what the scored ones took), within
 * [min, max]. That target is then approached within the turnover limit: when
 * sum |target - old| exceeds `turnover`, every strategy moves the same fraction of its way
 * (turnover / that sum), rounded toward its old weight. Weights are exact millionths, each
 * within its caps, summing to at most total (<= 1). The first rebalance (nothing allocated
 * yet), or one whose current weights break a changed config, takes the target at once.
 *
 * Pure and deterministic: the launcher asks nd_allocation_due on its timer with the injected
 * clock's time and passes the returns it has; every rebalance produces an event (the allocation
 * history) for the store, and the state serialises to JSON so a restart keeps the weights. */
#ifndef NODERR_ALLOCATION_H
#define NODERR_ALLOCATION_H

#include "noderr/err.h"
#include "noderr/limits.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* The most daily returns a strategy's window holds: a year, far past any useful volatility
 * estimate, and it bounds the caller's arrays. */
#define ND_ALLOCATION_WINDOW_MAX 366
#define ND_ALLOCATION_ONE 1000000 /* weights are millionths */
/* A daily return above 1000x (10^9 millionths) or below -100% is refused as a unit mistake. */
#define ND_ALLOCATION_RETURN_MAX 1000000000LL

typedef struct nd_allocation_config {
    int64_t interval_ns;     /* rebalance every (default 1 day) */
    uint32_t window_days;    /* returns used, the latest (default 30) */
    uint32_t min_history;    /* days before a strategy is scored (default 10) */
    int64_t vol_floor_e6;    /* daily stdev floor (default 1000 = 0.1%) */
    int64_t min_e6, max_e6;  /* per-strategy caps (default 0 and 1) */
    int64_t total_e6;        /* weights sum to at most this (default 1) */
    int64_t turnover_e6;     /* sum |new - old| per rebalance at most (default 0.2) */
} nd_allocation_config_t;

/* One strategy's input to a rebalance. */
typedef struct nd_allocation_input {
    const int64_t *returns_e6; /* daily returns in millionths (+0.5% = 5000), oldest first, */
                               /* each in [-10^6, 10^9] */
    uint32_t return_count;     /* the latest window_days of them are used */
    bool active;               /* false: its target is 0 and it holds no caps (paused, retired) */
} nd_allocation_input_t;

/* One rebalance: the allocation history's record. */
typedef struct nd_allocation_event {
    int64_t at_ns;
    uint32_t count;                         /* strategies */
    int64_t old_e6[ND_STRATEGIES_MAX];
    int64_t target_e6[ND_STRATEGIES_MAX];   /* the rule's weights before the turnover limit */
    int64_t new_e6[ND_STRATEGIES_MAX];
    int64_t vol_e6[ND_STRATEGIES_MAX];      /* the stdev used (floored); -1: too little history */
    int64_t turnover_e6;                    /* sum |new - old| */
    bool limited;                           /* the turnover limit scaled the move */
    bool at_once;   /* the target taken at once: the first allocation, or the current weights
                       break the config (above max or the total, after a config change) */
} nd_allocation_event_t;

/* Caller-allocated state. Fields read-only. */
typedef struct nd_allocation {
    nd_allocation_config_t cfg;
    bool allocated;          /* a rebalance has run */
    int64_t last_ns;         /* its time */
    uint32_t count;
    int64_t weight_e6[ND_STRATEGIES_MAX];
    uint32_t rebalances;
} nd_allocation_t;

void nd_allocation_config_default(nd_allocation_config_t *out /* OUT */);
/* Reads the "launch.allocation" object obj (NULL: every default) into out; errors name
 * "FILE: launch.allocation.KEY: why" (ND_EINVAL); out is written only on success. */
nd_err_t nd_allocation_config_parse(const json_t *obj, const char *where,
                                    nd_allocation_config_t *out, char *err, size_t err_len);

void nd_allocation_init(nd_allocation_t *a, const nd_allocation_config_t *cfg);
/* True when a rebalance is due at now_ns: none yet, or interval since the last. */
bool nd_allocation_due(const nd_allocation_t *a, int64_t now_ns);
/* The rule's target weights for count strategies (no turnover limit), into target_e6 and the
 * stdev used into vol_e6 (-1: too little history). ND_EINVAL (err says why) when count is 0 or
 * above ND_STRATEGIES_MAX, a return is outside [-10^6, 10^9], or active strategies * min
 * exceeds total. O(count * returns). */
nd_err_t nd_allocation_target(const nd_allocation_config_t *cfg,
                              const nd_allocation_input_t *in, uint32_t count,
                              int64_t *target_e6 /* OUT */, int64_t *vol_e6 /* OUT */,
                              char *err, size_t err_len);
/* Rebalances at now_ns: target, then the turnover limit from the current weights (strategies
 * new to the allocation start from 0); the first time, or when the current weights are above
 * max or sum above total (a changed config), the target at once. Writes the
 * event; errors as nd_allocation_target, and ND_EINVAL when now_ns is before the last
 * rebalance. Does not check nd_allocation_due: the caller decides. */
nd_err_t nd_allocation_rebalance(nd_allocation_t *a, int64_t now_ns,
                                 const nd_allocation_input_t *in, uint32_t count,
                                 nd_allocation_event_t *ev /* OUT */, char *err, size_t err_len);

/* The event as JSON for the store: {"at", "turnover", "limited", "at_once", "strategies":
 * [{"old", "target", "new", "vol"}...]} with weights as exact decimal strings. Caller decrefs. */
json_t *nd_allocation_event_json(const nd_allocation_event_t *ev);
/* {"allocated", "last_ns", "rebalances", "weights": ["0.25", ...]}. Caller decrefs. */
json_t *nd_allocation_state_json(const nd_allocation_t *a);
/* Restores from nd_allocation_state_json's object under cfg. ND_EPARSE naming the field. */
nd_err_t nd_allocation_state_load(nd_allocation_t *a, const nd_allocation_config_t *cfg,
                                  const json_t *state, char *err, size_t err_len);

#endif
