/* simtest_int.h: the simulation harness's chaos strategy (simtest_strategy.c), shared with sim.c. */
#ifndef NODERR_SIMTEST_INT_H
#define NODERR_SIMTEST_INT_H

#include "noderr/strategy.h"

/* Parameters: seed (its own random stream), instruments (how many it may target), tick and
 * lot (price and quantity units of its own instrument, so most of its orders are valid),
 * activity (probability of acting on a bar or timer). */
enum { ND_SIMTEST_P_SEED, ND_SIMTEST_P_INSTRUMENTS, ND_SIMTEST_P_TICK, ND_SIMTEST_P_LOT, ND_SIMTEST_P_ACTIVITY,
       ND_SIMTEST_P_COUNT };

extern const nd_strategy_def_t nd__simtest_chaos_strategy;

#endif
