/* indicators.h: incremental technical indicators (SMA ... SuperTrend) behind one table.
 *
 * Each indicator is a definition: a parameter schema (the same nd_param_def_t as strategies, so
 * the same "k=v" parsing and bounds checks apply), the names of its outputs, the size of its
 * state for given parameters, init and update. The caller owns the state: it allocates
 * state_size(params) bytes once (aligned like malloc's), calls init, then update once per bar
 * in time order. update is O(1) (amortised for the rolling max/min of Donchian and Stochastic,
 * which use a monotonic deque), never allocates and never fails; the state holds no pointers,
 * so it may be copied (a snapshot) with memcpy.
 *
 * Indicators are statistics, not money: they run in double precision. Definitions and warm-up
 * follow TA-Lib (docs/indicators.md gives each formula, its parameters, defaults and the index
 * of its first defined output); an output that is not yet defined is written as NAN. */
#ifndef NODERR_INDICATORS_H
#define NODERR_INDICATORS_H

#include "noderr/err.h"
#include "noderr/market.h"
#include "noderr/strategy.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most parameters any indicator declares (Keltner: period, atr_period, multiplier) and most
 * outputs (ADX: plus_di, minus_di, adx; Bollinger, Donchian, Keltner: three bands). Kept here
 * rather than in limits.h because they bound this table only, and callers size arrays with them. */
#define ND_INDICATOR_PARAMS_MAX 4
#define ND_INDICATOR_OUTPUTS_MAX 4

/* One bar as an indicator sees it: prices and volume in quote and base units as doubles. Only
 * the fields an indicator uses need be set (SMA reads close; VWAP reads ts_ns, high, low, close
 * and volume). Values must be finite. */
typedef struct nd_indicator_input {
    int64_t ts_ns; /* open time, ns since the epoch, UTC: VWAP's session is the UTC day */
    double open;
    double high;
    double low;
    double close;
    double volume;
} nd_indicator_input_t;

typedef struct nd_indicator_def {
    const char *name;    /* "sma" */
    const char *summary; /* one line */
    const nd_param_def_t *params;
    int param_count;
    const char *const *outputs; /* "upper", "middle", "lower", ... */
    int output_count;
    /* Bytes of state for these (checked) parameters. */
    size_t (*state_size)(const double *params);
    /* Relations between parameters (MACD fast < slow); NULL when there are none. */
    nd_err_t (*validate)(const double *params, char *err, size_t err_len);
    /* Initialises state (state_size(params) bytes, any content) for checked parameters. */
    void (*init)(void *state, const double *params);
    /* Feeds the next bar; writes output_count values (NAN while an output warms up) and
     * returns true once every output is defined (and on every later bar). The one exception
     * is VWAP, undefined (false, NAN) on any bar whose UTC-day session has no volume yet. */
    bool (*update)(void *state, const nd_indicator_input_t *in, double *outputs);
    /* Bars consumed before every output is defined: update returns true first on bar number
     * lookback(params) (counting from 0), TA-Lib's lookback for the same parameters (VWAP: 0,
     * given volume). */
    int64_t (*lookback)(const double *params);
} nd_indicator_def_t;

/* The indicators, in a fixed order (docs and `noderr indicator --help` follow it). */
const nd_indicator_def_t *const *nd_indicator_builtins(int *count /* OUT */);
/* Looks an indicator up by name; NULL if unknown. */
const nd_indicator_def_t *nd_indicator_find(const char *name);

/* Fills values[] (ND_INDICATOR_PARAMS_MAX) with the schema defaults. */
void nd_indicator_params_default(const nd_indicator_def_t *def, double *values);
/* Sets one parameter from "k=v" text with the strategies' rules (known name, whole numbers for
 * integers, inclusive bounds). ND_EINVAL with the reason in err. */
nd_err_t nd_indicator_param_set(const nd_indicator_def_t *def, double *values, const char *kv,
                                char *err, size_t err_len);
/* Checks every value against its schema and the indicator's validate(). */
nd_err_t nd_indicator_params_check(const nd_indicator_def_t *def, const double *values,
                                   char *err, size_t err_len);

/* Converts a loaded bar (fixed-point price and quantity units of inst) to doubles: each price
 * is price / 10^px_decimals, correctly rounded, so a file's "7195.24" becomes the same double
 * strtod gives. */
void nd_indicator_input_from_bar(const nd_instrument_t *inst, const nd_bar_t *bar,
                                 nd_indicator_input_t *out /* OUT */);

#endif
