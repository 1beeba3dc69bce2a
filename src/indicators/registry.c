/* registry.c: the list of indicators and their parameter helpers.
 *
 * Parameters are parsed and checked by the strategies' own schema code (nd_strategy_param_set
 * and nd_strategy_params_check) through a stand-in strategy definition carrying the indicator's
 * name, schema and validate: one set of rules for every "k=v" in Noderr, not two that drift. */
#include "noderr/indicators.h"

#include "indicators/indicators_int.h"
#include "noderr/assert.h"

#include <string.h>

static const nd_indicator_def_t *const builtins[] = {
    &nd__indicator_sma,      &nd__indicator_ema,   &nd__indicator_wma,
    &nd__indicator_rsi,      &nd__indicator_macd,  &nd__indicator_bollinger,
    &nd__indicator_atr,      &nd__indicator_adx,   &nd__indicator_stoch,
    &nd__indicator_donchian, &nd__indicator_keltner, &nd__indicator_vwap,
    &nd__indicator_obv,      &nd__indicator_supertrend,
};

#define BUILTIN_COUNT ((int)(sizeof(builtins) / sizeof(builtins[0])))

const nd_indicator_def_t *const *nd_indicator_builtins(int *count /* OUT */)
{
    ND_ASSERT(count != NULL);
    *count = BUILTIN_COUNT;
    return builtins;
}

const nd_indicator_def_t *nd_indicator_find(const char *name)
{
    if (name == NULL)
        return NULL;
    for (int i = 0; i < BUILTIN_COUNT; i++) {
        if (strcmp(builtins[i]->name, name) == 0)
            return builtins[i];
    }
    return NULL;
}

static nd_strategy_def_t as_strategy(const nd_indicator_def_t *def)
{
    ND_ASSERT(def != NULL);
    ND_ASSERT(def->param_count >= 0 && def->param_count <= ND_INDICATOR_PARAMS_MAX);
    ND_ASSERT(def->output_count >= 1 && def->output_count <= ND_INDICATOR_OUTPUTS_MAX);
    nd_strategy_def_t s;
    memset(&s, 0, sizeof s);
    s.name = def->name;
    s.params = def->params;
    s.param_count = def->param_count;
    s.validate = def->validate;
    return s;
}

void nd_indicator_params_default(const nd_indicator_def_t *def, double *values)
{
    ND_ASSERT(values != NULL);
    nd_strategy_def_t s = as_strategy(def);
    nd_strategy_params_default(&s, values);
}

nd_err_t nd_indicator_param_set(const nd_indicator_def_t *def, double *values, const char *kv,
                                char *err, size_t err_len)
{
    ND_ASSERT(values != NULL);
    ND_ASSERT(kv != NULL);
    nd_strategy_def_t s = as_strategy(def);
    return nd_strategy_param_set(&s, values, kv, err, err_len);
}

nd_err_t nd_indicator_params_check(const nd_indicator_def_t *def, const double *values,
                                   char *err, size_t err_len)
{
    ND_ASSERT(values != NULL);
    nd_strategy_def_t s = as_strategy(def);
    return nd_strategy_params_check(&s, values, err, err_len);
}

void nd_indicator_input_from_bar(const nd_instrument_t *inst, const nd_bar_t *bar,
                                 nd_indicator_input_t *out /* OUT */)
{
    ND_ASSERT(inst != NULL);
    ND_ASSERT(bar != NULL);
    ND_ASSERT(out != NULL);
    ND_ASSERT(inst->px_decimals >= 0 && inst->px_decimals <= 18);
    ND_ASSERT(inst->qty_decimals >= 0 && inst->qty_decimals <= 18);
    /* 10^d is exact in a double for d <= 22, and prices below 2^53 units convert exactly, so
     * one correctly rounded division gives the double nearest the decimal in the file. */
    double px_scale = 1.0, qty_scale = 1.0;
    for (int i = 0; i < inst->px_decimals; i++)
        px_scale *= 10.0;
    for (int i = 0; i < inst->qty_decimals; i++)
        qty_scale *= 10.0;
    out->ts_ns = bar->ts_ns;
    out->open = (double)bar->open / px_scale;
    out->high = (double)bar->high / px_scale;
    out->low = (double)bar->low / px_scale;
    out->close = (double)bar->close / px_scale;
    out->volume = (double)bar->volume / qty_scale;
}
