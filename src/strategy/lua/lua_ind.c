/* lua_ind.c: the indicator library (indicators.h) as objects a script creates and updates.
 *
 *   local fast = nd.sma(10)                    -- also nd.ema(n), nd.rsi(n), nd.wma(n)
 *   local bb = nd.indicator("bbands", {period = 20, nbdev_up = 2})
 *   local v = fast:update(bar.close)           -- nil while warming up
 *   local upper, middle, lower = bb:update(bar) -- a table with open/high/low/close/volume/ts
 *
 * An object is a full userdata on the script's own heap (so the memory cap covers it) holding the
 * definition and the indicator's state; update is the C update (O(1), no allocation). Outputs
 * not yet defined are nil. Values are doubles in whatever units the script feeds. */
#include "strategy/lua/lua_int.h"

#include "noderr/assert.h"
#include "noderr/indicators.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define IND_META "nd.indicator"

typedef struct ind_obj {
    const nd_indicator_def_t *def;
    double state[]; /* def->state_size(params) bytes */
} ind_obj_t;

static double field_or(lua_State *L, int idx, const char *key, double dflt)
{
    lua_getfield(L, idx, key);
    double v = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : dflt;
    lua_pop(L, 1);
    return v;
}

/* obj:update(x) with a number (every price field x, volume 0) or a bar-like table. */
static int ind_update(lua_State *L)
{
    ind_obj_t *o = luaL_checkudata(L, 1, IND_META);
    nd_indicator_input_t in;
    memset(&in, 0, sizeof in);
    if (lua_type(L, 2) == LUA_TNUMBER) {
        in.close = lua_tonumber(L, 2);
        in.open = in.high = in.low = in.close;
    } else {
        luaL_checktype(L, 2, LUA_TTABLE);
        in.close = field_or(L, 2, "close", NAN);
        in.open = field_or(L, 2, "open", in.close);
        in.high = field_or(L, 2, "high", in.close);
        in.low = field_or(L, 2, "low", in.close);
        in.volume = field_or(L, 2, "volume", 0.0);
        in.ts_ns = (int64_t)field_or(L, 2, "ts", 0.0);
    }
    if (!isfinite(in.close) || !isfinite(in.open) || !isfinite(in.high) || !isfinite(in.low) ||
        !isfinite(in.volume))
        return luaL_error(L, "%s:update: inputs must be finite numbers", o->def->name);
    double out[ND_INDICATOR_OUTPUTS_MAX];
    o->def->update(o->state, &in, out);
    for (int k = 0; k < o->def->output_count; k++) {
        if (isnan(out[k]))
            lua_pushnil(L);
        else
            lua_pushnumber(L, out[k]);
    }
    return o->def->output_count;
}

/* Creates an object of def with params (checked); raises an error naming why. */
static int ind_new(lua_State *L, const nd_indicator_def_t *def, const double *params)
{
    char err[256] = "";
    if (nd_indicator_params_check(def, params, err, sizeof err) != ND_OK)
        return luaL_error(L, "nd.%s: %s", def->name, err);
    size_t size = def->state_size(params);
    ind_obj_t *o = lua_newuserdata(L, sizeof *o + size);
    o->def = def;
    def->init(o->state, params);
    luaL_getmetatable(L, IND_META);
    lua_setmetatable(L, -2);
    return 1;
}

/* nd.indicator(name, {k = v, ...}): any indicator of the library. */
static int ind_generic(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    const nd_indicator_def_t *def = nd_indicator_find(name);
    if (def == NULL)
        return luaL_error(L, "nd.indicator: unknown indicator '%s'", name);
    double params[ND_INDICATOR_PARAMS_MAX];
    nd_indicator_params_default(def, params);
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        for (lua_pushnil(L); lua_next(L, 2) != 0; lua_pop(L, 1)) {
            char kv[128], err[256] = "";
            if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TNUMBER)
                return luaL_error(L, "nd.indicator: parameters are name = number");
            snprintf(kv, sizeof kv, "%s=%.17g", lua_tostring(L, -2), lua_tonumber(L, -1));
            if (nd_indicator_param_set(def, params, kv, err, sizeof err) != ND_OK)
                return luaL_error(L, "nd.indicator: %s", err);
        }
    }
    return ind_new(L, def, params);
}

/* nd.sma(period) and the other one-period indicators: the name is the upvalue. */
static int ind_period(lua_State *L)
{
    const nd_indicator_def_t *def = nd_indicator_find(lua_tostring(L, lua_upvalueindex(1)));
    ND_ASSERT(def != NULL);
    double params[ND_INDICATOR_PARAMS_MAX];
    nd_indicator_params_default(def, params);
    if (!lua_isnoneornil(L, 1)) {
        ND_ASSERT(def->param_count >= 1);
        params[0] = luaL_checknumber(L, 1);
        if (!isfinite(params[0]))
            return luaL_error(L, "nd.%s: the period must be a finite number", def->name);
    }
    return ind_new(L, def, params);
}

void nd__lua_indicators_open(lua_State *L, int idx)
{
    static const char *const period_names[] = {"sma", "ema", "wma", "rsi"};
    luaL_newmetatable(L, IND_META);
    lua_newtable(L);
    lua_pushcfunction(L, ind_update);
    lua_setfield(L, -2, "update");
    lua_setfield(L, -2, "__index");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable"); /* getmetatable() cannot reach it */
    lua_pop(L, 1);
    for (size_t k = 0; k < sizeof period_names / sizeof period_names[0]; k++) {
        ND_ASSERT(nd_indicator_find(period_names[k]) != NULL);
        lua_pushstring(L, period_names[k]);
        lua_pushcclosure(L, ind_period, 1);
        lua_setfield(L, idx, period_names[k]);
    }
    lua_pushcfunction(L, ind_generic);
    lua_setfield(L, idx, "indicator");
}
