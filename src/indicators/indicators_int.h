/* indicators_int.h: private to src/indicators: the definitions the registry lists. */
#ifndef NODERR_INDICATORS_INT_H
#define NODERR_INDICATORS_INT_H

#include "noderr/indicators.h"

/* Longest window any period parameter may ask for: 10,000 bars is over a year of hourly bars,
 * and keeps every state below 200 KiB (Stochastic's 4 slots a bar of fastk is the largest). */
#define ND__INDICATOR_PERIOD_MAX 10000

extern const nd_indicator_def_t nd__indicator_sma, nd__indicator_ema, nd__indicator_wma,
    nd__indicator_rsi, nd__indicator_macd, nd__indicator_bollinger, nd__indicator_atr,
    nd__indicator_adx, nd__indicator_stoch, nd__indicator_donchian, nd__indicator_keltner,
    nd__indicator_vwap, nd__indicator_obv, nd__indicator_supertrend;

#endif
