/* builtins_int.h: the built-in strategy definitions, private to src/strategy.
 *
 * Each built-in lives in its own file and exports exactly one definition here; registry.c
 * lists them in a fixed order, which is the order `noderr strategies` prints. The helper below
 * is shared so every built-in emits a target only when its desired direction changes. */
#ifndef NODERR_STRATEGY_BUILTINS_INT_H
#define NODERR_STRATEGY_BUILTINS_INT_H

#include "noderr/strategy.h"

extern const nd_strategy_def_t nd__strategy_sma_cross;
extern const nd_strategy_def_t nd__strategy_ema_momentum;
extern const nd_strategy_def_t nd__strategy_mean_reversion;
extern const nd_strategy_def_t nd__strategy_breakout;
extern const nd_strategy_def_t nd__strategy_quote_maker; /* event strategy */

/* The bar built-ins' on_bar, which their definitions also hold: the engine's bar step calls them
 * directly when a slot's definition is one of these (engine.c strategy_on_bar), so that under
 * LTO there is no indirect call per bar and the strategy may be inlined into the step. */
void nd__strategy_sma_cross_on_bar(void *state, const nd_bar_t *bar, nd_strategy_ctx_t *ctx);
void nd__strategy_ema_momentum_on_bar(void *state, const nd_bar_t *bar, nd_strategy_ctx_t *ctx);
void nd__strategy_mean_reversion_on_bar(void *state, const nd_bar_t *bar, nd_strategy_ctx_t *ctx);
void nd__strategy_breakout_on_bar(void *state, const nd_bar_t *bar, nd_strategy_ctx_t *ctx);

/* Asks for direction (+1 long, 0 flat) unless *current already holds it, so a signal is never
 * repeated. The target's return value is not acted on: a business reject is data the engine
 * records, and retrying on every bar would turn one signal into many. */
static inline void nd__strategy_emit(nd_strategy_ctx_t *ctx, uint32_t instrument_id,
                                     int *current, int direction)
{
    if (*current == direction) {
        return;
    }
    *current = direction;
    (void)ctx->target(ctx, instrument_id, direction);
}

#endif
