/* registry.c: the list of built-in strategies and the parameter schema helpers.
 *
 * The built-ins are listed once, in a fixed order that `noderr strategies` and every report
 * follow. Parameter values travel as doubles indexed like the schema; this file is the only
 * place that turns "k=v" text into such a value, so every value a strategy sees has passed
 * the same checks: known name, finite, whole for integers, a listed name for choices, and
 * within the schema's inclusive bounds. */
#include "noderr/strategy.h"

#include "noderr/assert.h"
#include "strategy/builtins_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const nd_strategy_def_t *const builtins[] = {
    &nd__strategy_sma_cross,
    &nd__strategy_ema_momentum,
    &nd__strategy_mean_reversion,
    &nd__strategy_breakout,
};

#define BUILTIN_COUNT ((int)(sizeof(builtins) / sizeof(builtins[0])))

const nd_strategy_def_t *const *nd_strategy_builtins(int *count /* OUT */)
{
    ND_ASSERT(count != NULL);
    *count = BUILTIN_COUNT;
    return builtins;
}

/* Event strategies trade on ticks and books (nd_engine_on_event), not bars: a list of their own,
 * so the bar list that `noderr strategies`, evolve and validate walk stays as it is. */
static const nd_strategy_def_t *const event_builtins[] = {
    &nd__strategy_quote_maker,
};

#define EVENT_BUILTIN_COUNT ((int)(sizeof(event_builtins) / sizeof(event_builtins[0])))

const nd_strategy_def_t *const *nd_strategy_event_builtins(int *count /* OUT */)
{
    ND_ASSERT(count != NULL);
    *count = EVENT_BUILTIN_COUNT;
    return event_builtins;
}

const nd_strategy_def_t *nd_strategy_find_event(const char *name)
{
    if (name == NULL)
        return NULL;
    for (int i = 0; i < EVENT_BUILTIN_COUNT; i++)
        if (strcmp(event_builtins[i]->name, name) == 0)
            return event_builtins[i];
    return NULL;
}

/* O(number of built-ins). */
const nd_strategy_def_t *nd_strategy_find(const char *name)
{
    if (name == NULL) {
        return NULL;
    }
    for (int i = 0; i < BUILTIN_COUNT; i++) {
        if (strcmp(builtins[i]->name, name) == 0) {
            return builtins[i];
        }
    }
    return NULL;
}

void nd_strategy_params_default(const nd_strategy_def_t *def, double *values)
{
    ND_ASSERT(def != NULL);
    ND_ASSERT(values != NULL);
    ND_ASSERT(def->param_count >= 0 && def->param_count <= ND_STRATEGY_PARAMS_MAX);
    for (int i = 0; i < def->param_count; i++) {
        values[i] = def->params[i].def;
    }
}

/* Checks one value against its schema entry; ND_EINVAL with the reason in err. */
static nd_err_t check_value(const nd_strategy_def_t *def, const nd_param_def_t *pd, double v,
                            char *err, size_t err_len)
{
    ND_ASSERT(def != NULL);
    ND_ASSERT(pd != NULL);
    if (!isfinite(v)) {
        snprintf(err, err_len, "parameter '%s' of %s must be a finite number", pd->name,
                 def->name);
        return ND_EINVAL;
    }
    if (pd->type != ND_PARAM_REAL && v != floor(v)) {
        snprintf(err, err_len, "parameter '%s' of %s must be a whole number, got %g", pd->name,
                 def->name, v);
        return ND_EINVAL;
    }
    if (pd->type == ND_PARAM_CHOICE) {
        if (v < 0 || v >= pd->choice_count) {
            snprintf(err, err_len, "parameter '%s' of %s: choice index %g out of range [0, %d)",
                     pd->name, def->name, v, pd->choice_count);
            return ND_EINVAL;
        }
        return ND_OK;
    }
    if (v < pd->min || v > pd->max) {
        snprintf(err, err_len, "parameter '%s' of %s must be in [%g, %g], got %g", pd->name,
                 def->name, pd->min, pd->max, v);
        return ND_EINVAL;
    }
    return ND_OK;
}

/* Writes "a, b, c" (the names in list) into buf, truncating at cap. */
static void join_names(char *buf, size_t cap, const nd_param_def_t *params, int count,
                       const char *const *choices)
{
    ND_ASSERT(cap > 0);
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < count && used < cap; i++) {
        const char *name = choices != NULL ? choices[i] : params[i].name;
        int n = snprintf(buf + used, cap - used, "%s%s", i > 0 ? ", " : "", name);
        if (n < 0) {
            break;
        }
        used += (size_t)n;
    }
}

/* Parses text as a value of pd: a choice by name, or a plain decimal number. */
static nd_err_t parse_value(const nd_strategy_def_t *def, const nd_param_def_t *pd,
                            const char *text, double *out /* OUT */, char *err, size_t err_len)
{
    ND_ASSERT(text != NULL);
    ND_ASSERT(out != NULL);
    if (pd->type == ND_PARAM_CHOICE) {
        for (int i = 0; i < pd->choice_count; i++) {
            if (strcmp(pd->choices[i], text) == 0) {
                *out = i;
                return ND_OK;
            }
        }
        char names[256];
        join_names(names, sizeof(names), NULL, pd->choice_count, pd->choices);
        snprintf(err, err_len, "parameter '%s' of %s must be one of: %s; got '%s'", pd->name,
                 def->name, names, text);
        return ND_EINVAL;
    }
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (text[0] == '\0' || text[0] == ' ' || text[0] == '\t' || *end != '\0' || errno != 0) {
        snprintf(err, err_len, "parameter '%s' of %s: '%s' is not a number", pd->name, def->name,
                 text);
        return ND_EINVAL;
    }
    *out = v;
    return ND_OK;
}

nd_err_t nd_strategy_param_set(const nd_strategy_def_t *def, double *values, const char *kv,
                               char *err, size_t err_len)
{
    ND_ASSERT(def != NULL);
    ND_ASSERT(values != NULL);
    ND_ASSERT(kv != NULL);
    const char *eq = strchr(kv, '=');
    if (eq == NULL) {
        snprintf(err, err_len, "%s: expected name=value, got '%s'", def->name, kv);
        return ND_EINVAL;
    }
    size_t name_len = (size_t)(eq - kv);
    const nd_param_def_t *pd = NULL;
    int index = -1;
    for (int i = 0; i < def->param_count; i++) {
        if (strlen(def->params[i].name) == name_len &&
            strncmp(def->params[i].name, kv, name_len) == 0) {
            pd = &def->params[i];
            index = i;
            break;
        }
    }
    if (pd == NULL) {
        char known[256];
        join_names(known, sizeof(known), def->params, def->param_count, NULL);
        snprintf(err, err_len, "unknown parameter '%.*s' for %s (known: %s)", (int)name_len, kv,
                 def->name, known);
        return ND_EINVAL;
    }
    double v = 0.0;
    nd_err_t rc = parse_value(def, pd, eq + 1, &v, err, err_len);
    if (rc != ND_OK) {
        return rc;
    }
    rc = check_value(def, pd, v, err, err_len);
    if (rc != ND_OK) {
        return rc;
    }
    ND_ASSERT(index >= 0 && index < def->param_count);
    values[index] = v;
    return ND_OK;
}

nd_err_t nd_strategy_params_check(const nd_strategy_def_t *def, const double *values, char *err,
                                  size_t err_len)
{
    ND_ASSERT(def != NULL);
    ND_ASSERT(values != NULL);
    for (int i = 0; i < def->param_count; i++) {
        nd_err_t rc = check_value(def, &def->params[i], values[i], err, err_len);
        if (rc != ND_OK) {
            return rc;
        }
    }
    if (def->validate != NULL) {
        return def->validate(values, err, err_len);
    }
    return ND_OK;
}
