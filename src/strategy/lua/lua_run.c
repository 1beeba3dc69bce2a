/* lua_run.c: the strategy callbacks of a Lua script, and the ctx table scripts act through.
 *
 * Each instance (the engine's state block for one strategy slot) owns one sandboxed state. Its
 * stack keeps, below every call, the script's table, the ctx table, the reused event tables,
 * the callback functions and the field-name strings (slots below), so a bar costs six rawsets
 * and one protected call, with no allocation and no registry look-up.
 *
 * Numbers: prices and quantities reach the script as integers in the instrument's price and
 * quantity units (exact as doubles up to 2^53); times as nanoseconds (a double: exact to 256 ns
 * at today's dates). Prices and quantities a script sends must be whole numbers of units within
 * (0, 2^53] (quantity 0: portfolio sizing) or the call raises an error naming the value. */
#include "strategy/lua/lua_int.h"

#include "noderr/assert.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The stack of an instance's state between calls. */
enum {
    S_SCRIPT = 1,
    S_CTX,
    S_BAR,
    S_FILL,
    S_TRADE,
    S_QUOTE,
    S_FN,                            /* S_FN + nd__lua_cb_t: the callback or nil */
    S_KEY = S_FN + ND_LUA_CB_COUNT,  /* S_KEY + key_t: the field names */
    S_TOP_KEYS
};

typedef enum key {
    K_TS = 0, K_OPEN, K_HIGH, K_LOW, K_CLOSE, K_VOLUME, K_PX, K_QTY, K_SIDE, K_FEE,
    K_CLIENT_ID, K_MAKER, K_TRADE_ID, K_BID_PX, K_BID_QTY, K_ASK_PX, K_ASK_QTY, K_COUNT
} key_t;
static const char *const key_names[K_COUNT] = {
    "ts", "open", "high", "low", "close", "volume", "px", "qty", "side", "fee",
    "client_id", "maker", "trade_id", "bid_px", "bid_qty", "ask_px", "ask_qty",
};
/* Above the keys: the bar trampoline (see bar_trampoline). */
#define S_BAR_CALL (S_KEY + K_COUNT)
#define S_TOP S_BAR_CALL

/* on_bar goes through this function of ours: the six fields are set by (compiled) Lua rather
 * than through six rawsets of the C API, which cost more than the script's own work. */
static const char bar_trampoline[] =
    "local bar, on_bar, ctx = ...\n"
    "return function(ts, open, high, low, close, volume)\n"
    "  bar.ts = ts; bar.open = open; bar.high = high; bar.low = low; bar.close = close\n"
    "  bar.volume = volume\n"
    "  on_bar(ctx, bar)\n"
    "end\n";

typedef struct lua_inst {
    nd__lua_vm_t vm;
    nd__lua_script_t *script;
    nd_strategy_ctx_t *ctx;
    uint32_t instrument_id;
    int dead;
} lua_inst_t;

/* 2^53: the largest whole number every double below it represents exactly. */
#define EXACT_MAX 9007199254740992.0

/* Stops this instance and, if first, records the message for every instance of the script. */
static void inst_fail(lua_inst_t *inst, const char *msg)
{
    inst->dead = 1;
    nd__lua_script_t *s = inst->script;
    int expected = 0;
    if (atomic_compare_exchange_strong(&s->failed, &expected, 1)) {
        snprintf(s->error, sizeof s->error, "%s", msg);
        atomic_store(&s->error_ready, 1);
    }
}

static inline bool inst_live(const lua_inst_t *inst)
{
    return !inst->dead && !atomic_load_explicit(&inst->script->failed, memory_order_relaxed);
}

static lua_inst_t *ctx_inst(lua_State *L)
{
    return lua_touserdata(L, lua_upvalueindex(1));
}

/* Index of a ctx function's first argument: 2 when called as ctx:f(...), else 1. */
static int ctx_arg(lua_State *L)
{
    return lua_rawequal(L, 1, lua_upvalueindex(2)) ? 2 : 1;
}

/* A whole number within [lo, hi], else an error naming what and the value. */
static double whole_arg(lua_State *L, int idx, const char *what, double lo, double hi)
{
    if (lua_type(L, idx) != LUA_TNUMBER)
        luaL_error(L, "%s must be a number (got %s)", what, luaL_typename(L, idx));
    double v = lua_tonumber(L, idx);
    if (!(v >= lo && v <= hi) || v != floor(v)) {
        char why[256]; /* lua_pushfstring knows no %g */
        snprintf(why, sizeof why, "%s %.17g does not fit: a whole number in [%.17g, %.17g] is "
                 "needed", what, v, lo, hi);
        luaL_error(L, "%s", why);
    }
    return v;
}

static int push_result(lua_State *L, nd_err_t rc)
{
    if (rc == ND_OK) {
        lua_pushboolean(L, 1);
        return 1;
    }
    lua_pushnil(L);
    lua_pushstring(L, nd_err_name(rc));
    return 2;
}

/* ctx:target(direction): +1 long, 0 flat, -1 short; true, or nil and the error's name. */
static int ctx_target(lua_State *L)
{
    lua_inst_t *inst = ctx_inst(L);
    int dir = (int)whole_arg(L, ctx_arg(L), "target direction", -1, 1);
    return push_result(L, inst->ctx->target(inst->ctx, inst->instrument_id, dir));
}

static int ctx_cancel(lua_State *L)
{
    lua_inst_t *inst = ctx_inst(L);
    double id = whole_arg(L, ctx_arg(L), "cancel: order id", 1, EXACT_MAX);
    return push_result(L, inst->ctx->cancel(inst->ctx, (uint64_t)id));
}

/* ctx:amend(id, px, qty): a working limit or stop order to price px and total quantity qty
 * (strategy.h); true, nil and the error's name, or nil, "rejected", reason when a check refused
 * the new values. */
static int ctx_amend(lua_State *L)
{
    lua_inst_t *inst = ctx_inst(L);
    int a = ctx_arg(L);
    double id = whole_arg(L, a, "amend: order id", 1, EXACT_MAX);
    double px = whole_arg(L, a + 1, "amend: px", 1, EXACT_MAX);
    double qty = whole_arg(L, a + 2, "amend: qty", 1, EXACT_MAX);
    nd_reject_t reason = ND_REJECT_NONE;
    nd_err_t rc = inst->ctx->amend(inst->ctx, (uint64_t)id, (int64_t)px, (int64_t)qty, &reason);
    if (rc == ND_EDECLINED && reason != ND_REJECT_NONE) {
        lua_pushnil(L);
        lua_pushstring(L, "rejected");
        lua_pushstring(L, nd_reject_name(reason));
        return 3;
    }
    return push_result(L, rc);
}

static int ctx_set_timer(lua_State *L)
{
    lua_inst_t *inst = ctx_inst(L);
    int a = ctx_arg(L);
    double at = whole_arg(L, a, "set_timer: time (ns)", 0, 9.2e18);
    double id = whole_arg(L, a + 1, "set_timer: timer id", 0, EXACT_MAX);
    return push_result(L, inst->ctx->set_timer(inst->ctx, (int64_t)at, (uint64_t)id));
}

static int ctx_position(lua_State *L)
{
    lua_inst_t *inst = ctx_inst(L);
    lua_pushnumber(L, (double)inst->ctx->position(inst->ctx, inst->instrument_id));
    return 1;
}

/* A string field of the table at idx among names[]; returns its index, or raises an error. */
static int enum_field(lua_State *L, int idx, const char *key, const char *const *names, int n,
                      int dflt)
{
    lua_getfield(L, idx, key);
    if (lua_isnil(L, -1) && dflt >= 0) {
        lua_pop(L, 1);
        return dflt;
    }
    const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
    for (int k = 0; k < n; k++) {
        if (strcmp(s, names[k]) == 0) {
            lua_pop(L, 1);
            return k;
        }
    }
    return luaL_error(L, "submit: '%s' must be one of %s, %s%s%s", key, names[0], names[1],
                      n > 2 ? ", " : "", n > 2 ? names[2] : "");
}

/* ctx:submit{side="buy"|"sell", type="market"|"limit"|"stop", px=PRICE_UNITS, qty=QTY_UNITS}:
 * the order's client id; nil and "rejected" when the engine's checks rejected it (the reject is
 * an event, counted by reason); nil and the error's name on an error. qty 0 or absent: portfolio sizing. A px
 * or qty that is not a whole number of units in range raises an error (never rounded). */
static int ctx_submit(lua_State *L)
{
    static const char *const sides[] = {"buy", "sell"};
    static const char *const types[] = {"market", "limit", "stop"};
    lua_inst_t *inst = ctx_inst(L);
    int a = ctx_arg(L);
    luaL_checktype(L, a, LUA_TTABLE);
    nd_order_intent_t intent;
    memset(&intent, 0, sizeof intent);
    intent.instrument_id = inst->instrument_id;
    intent.side = enum_field(L, a, "side", sides, 2, -1) == 0 ? ND_SIDE_BUY : ND_SIDE_SELL;
    int type = enum_field(L, a, "type", types, 3, 0);
    intent.type = type == 0 ? ND_ORDER_MARKET : type == 1 ? ND_ORDER_LIMIT : ND_ORDER_STOP;
    lua_getfield(L, a, "qty");
    if (!lua_isnil(L, -1))
        intent.qty = (int64_t)whole_arg(L, -1, "submit: qty", 0, EXACT_MAX);
    lua_getfield(L, a, "px");
    if (intent.type != ND_ORDER_MARKET || !lua_isnil(L, -1))
        intent.px = (int64_t)whole_arg(L, -1, "submit: px", 1, EXACT_MAX);
    lua_pop(L, 2);
    uint64_t id = 0;
    nd_err_t rc = inst->ctx->submit(inst->ctx, &intent, &id);
    if (rc != ND_OK)
        return push_result(L, rc);
    if (id == 0) { /* rejected by the engine's checks: a reject event, no working order */
        lua_pushnil(L);
        lua_pushstring(L, "rejected");
        return 2;
    }
    lua_pushnumber(L, (double)id);
    return 1;
}

/* The ctx table: functions with the instance and the table itself as upvalues. */
static void push_ctx(lua_State *L, lua_inst_t *inst, uint32_t strategy_index)
{
    static const struct { const char *name; lua_CFunction fn; } fns[] = {
        {"target", ctx_target}, {"submit", ctx_submit}, {"cancel", ctx_cancel},
        {"amend", ctx_amend}, {"set_timer", ctx_set_timer}, {"position", ctx_position},
    };
    lua_newtable(L);
    int t = lua_gettop(L);
    for (size_t k = 0; k < sizeof fns / sizeof fns[0]; k++) {
        lua_pushlightuserdata(L, inst);
        lua_pushvalue(L, t);
        lua_pushcclosure(L, fns[k].fn, 2);
        lua_setfield(L, t, fns[k].name);
    }
    lua_pushnumber(L, inst->instrument_id);
    lua_setfield(L, t, "instrument_id");
    lua_pushnumber(L, strategy_index);
    lua_setfield(L, t, "strategy_index");
}

/* params = {name = value}: numbers, and a choice's name for a choice. */
static void push_params(lua_State *L, const nd_strategy_def_t *def, const double *params)
{
    lua_createtable(L, 0, def->param_count);
    for (int k = 0; k < def->param_count; k++) {
        const nd_param_def_t *pd = &def->params[k];
        if (pd->type == ND_PARAM_CHOICE)
            lua_pushstring(L, pd->choices[(int)params[k]]);
        else
            lua_pushnumber(L, params[k]);
        lua_setfield(L, -2, pd->name);
    }
}

static size_t lua_state_size(const double *params)
{
    (void)params;
    return sizeof(lua_inst_t);
}

/* Builds the stack layout above on the state whose script table is at slot 1. */
static void build_stack(lua_inst_t *inst, uint32_t strategy_index)
{
    lua_State *L = inst->vm.L;
    ND_ASSERT(lua_gettop(L) == S_SCRIPT);
    push_ctx(L, inst, strategy_index);
    for (int k = S_BAR; k <= S_QUOTE; k++)
        lua_createtable(L, 0, 8);
    for (int k = 0; k < ND_LUA_CB_COUNT; k++)
        lua_getfield(L, S_SCRIPT, nd__lua_cb_names[k]);
    for (int k = 0; k < K_COUNT; k++)
        lua_pushstring(L, key_names[k]);
    int rc = luaL_loadbuffer(L, bar_trampoline, sizeof bar_trampoline - 1, "=noderr");
    ND_ASSERT(rc == 0);
    lua_pushvalue(L, S_BAR);
    lua_pushvalue(L, S_FN + ND_LUA_ON_BAR);
    lua_pushvalue(L, S_CTX);
    lua_call(L, 3, 1);
    ND_ASSERT(lua_gettop(L) == S_TOP);
}

static nd_err_t lua_on_start(void *state, const double *params, uint32_t instrument_id,
                             nd_strategy_ctx_t *ctx)
{
    lua_inst_t *inst = state;
    ND_ASSERT(ctx != NULL && ctx->def != NULL);
    inst->script = (nd__lua_script_t *)ctx->def->user;
    inst->ctx = ctx;
    inst->instrument_id = instrument_id;
    char err[768] = "";
    nd_err_t rc = nd__lua_vm_open(&inst->vm, inst->script, err, sizeof err);
    if (rc == ND_OK) {
        lua_settop(inst->vm.L, S_SCRIPT); /* the table alone */
        /* These few allocations are outside any protected call: a script that filled its heap
         * must not turn them into a Lua panic (which exits), so the cap waits for them. */
        size_t cap = inst->vm.bytes_max;
        inst->vm.bytes_max = SIZE_MAX;
        build_stack(inst, ctx->strategy_index);
        inst->vm.bytes_max = cap;
        for (int k = 0; k < ND_LUA_CB_COUNT && rc == ND_OK; k++) {
            if (lua_isfunction(inst->vm.L, S_FN + k) != inst->script->has_cb[k]) {
                snprintf(err, sizeof err, "%s: %s changed between runs of the script",
                         inst->script->path, nd__lua_cb_names[k]);
                rc = ND_EINVAL;
            }
        }
    }
    if (rc == ND_OK && inst->script->has_cb[ND_LUA_ON_START]) {
        lua_State *L = inst->vm.L;
        lua_pushvalue(L, S_FN + ND_LUA_ON_START);
        lua_pushvalue(L, S_CTX);
        push_params(L, ctx->def, params);
        if (nd__lua_vm_call(&inst->vm, 2, 0, "on_start", err, sizeof err) != 0)
            rc = ND_EINVAL;
    }
    if (rc != ND_OK)
        inst_fail(inst, err);
    return rc;
}

static void lua_on_stop(void *state)
{
    lua_inst_t *inst = state;
    nd__lua_vm_close(&inst->vm);
}

static inline void set_num(lua_State *L, int table, key_t key, double v)
{
    lua_pushvalue(L, S_KEY + (int)key);
    lua_pushnumber(L, v);
    lua_rawset(L, table);
}

static void set_side(lua_State *L, int table, nd_side_t side)
{
    lua_pushvalue(L, S_KEY + (int)K_SIDE);
    lua_pushstring(L, side == ND_SIDE_BUY ? "buy" : "sell");
    lua_rawset(L, table);
}

/* Calls callback cb with ctx and the nargs values pushed after them; a failure stops the
 * instance and records the message. */
static void call_cb(lua_inst_t *inst, nd__lua_cb_t cb, int nargs)
{
    char err[768];
    if (nd__lua_vm_call(&inst->vm, nargs + 1, 0, nd__lua_cb_names[cb], err, sizeof err) != 0)
        inst_fail(inst, err);
    ND_DEBUG_ASSERT(inst->dead || lua_gettop(inst->vm.L) == S_TOP);
}

static void push_cb(lua_State *L, nd__lua_cb_t cb)
{
    lua_pushvalue(L, S_FN + (int)cb);
    lua_pushvalue(L, S_CTX);
}

static void lua_on_bar(void *state, const nd_bar_t *bar, nd_strategy_ctx_t *ctx)
{
    lua_inst_t *inst = state;
    if (!inst_live(inst))
        return;
    lua_State *L = inst->vm.L;
    inst->ctx = ctx;
    lua_pushvalue(L, S_BAR_CALL);
    lua_pushnumber(L, (double)bar->ts_ns);
    lua_pushnumber(L, (double)bar->open);
    lua_pushnumber(L, (double)bar->high);
    lua_pushnumber(L, (double)bar->low);
    lua_pushnumber(L, (double)bar->close);
    lua_pushnumber(L, (double)bar->volume);
    call_cb(inst, ND_LUA_ON_BAR, 5); /* six arguments: call_cb counts ctx as one */
}

static void lua_on_fill(void *state, const nd_fill_t *fill, nd_strategy_ctx_t *ctx)
{
    lua_inst_t *inst = state;
    if (!inst_live(inst))
        return;
    lua_State *L = inst->vm.L;
    inst->ctx = ctx;
    push_cb(L, ND_LUA_ON_FILL);
    set_num(L, S_FILL, K_TS, (double)fill->ts_ns);
    set_num(L, S_FILL, K_CLIENT_ID, (double)fill->client_id);
    set_side(L, S_FILL, fill->side);
    set_num(L, S_FILL, K_PX, (double)fill->px);
    set_num(L, S_FILL, K_QTY, (double)fill->qty);
    set_num(L, S_FILL, K_FEE, (double)fill->fee);
    lua_pushvalue(L, S_KEY + (int)K_MAKER);
    lua_pushboolean(L, fill->maker);
    lua_rawset(L, S_FILL);
    lua_pushvalue(L, S_FILL);
    call_cb(inst, ND_LUA_ON_FILL, 1);
}

static void lua_on_timer(void *state, int64_t now_ns, uint64_t timer_id, nd_strategy_ctx_t *ctx)
{
    lua_inst_t *inst = state;
    if (!inst_live(inst))
        return;
    inst->ctx = ctx;
    push_cb(inst->vm.L, ND_LUA_ON_TIMER);
    lua_pushnumber(inst->vm.L, (double)now_ns);
    lua_pushnumber(inst->vm.L, (double)timer_id);
    call_cb(inst, ND_LUA_ON_TIMER, 2);
}

static void lua_on_trade(void *state, const nd_trade_tick_t *trade, nd_strategy_ctx_t *ctx)
{
    lua_inst_t *inst = state;
    if (!inst_live(inst))
        return;
    lua_State *L = inst->vm.L;
    inst->ctx = ctx;
    push_cb(L, ND_LUA_ON_TRADE);
    set_num(L, S_TRADE, K_TS, (double)trade->ts_ns);
    set_num(L, S_TRADE, K_PX, (double)trade->px);
    set_num(L, S_TRADE, K_QTY, (double)trade->qty);
    set_side(L, S_TRADE, trade->aggressor);
    set_num(L, S_TRADE, K_TRADE_ID, (double)trade->trade_id);
    lua_pushvalue(L, S_TRADE);
    call_cb(inst, ND_LUA_ON_TRADE, 1);
}

static void lua_on_quote(void *state, const nd_quote_tick_t *quote, nd_strategy_ctx_t *ctx)
{
    lua_inst_t *inst = state;
    if (!inst_live(inst))
        return;
    lua_State *L = inst->vm.L;
    inst->ctx = ctx;
    push_cb(L, ND_LUA_ON_QUOTE);
    set_num(L, S_QUOTE, K_TS, (double)quote->ts_ns);
    set_num(L, S_QUOTE, K_BID_PX, (double)quote->bid_px);
    set_num(L, S_QUOTE, K_BID_QTY, (double)quote->bid_qty);
    set_num(L, S_QUOTE, K_ASK_PX, (double)quote->ask_px);
    set_num(L, S_QUOTE, K_ASK_QTY, (double)quote->ask_qty);
    lua_pushvalue(L, S_QUOTE);
    call_cb(inst, ND_LUA_ON_QUOTE, 1);
}

void nd__lua_bind(nd__lua_script_t *script)
{
    nd_strategy_def_t *def = &script->def;
    const bool *has = script->has_cb;
    def->state_size = lua_state_size;
    /* def->validate: the requirements' entry point, set by nd__lua_validate_bind */
    def->on_start = lua_on_start;
    def->on_stop = lua_on_stop;
    def->on_bar = has[ND_LUA_ON_BAR] ? lua_on_bar : NULL;
    def->on_fill = has[ND_LUA_ON_FILL] ? lua_on_fill : NULL;
    def->on_timer = has[ND_LUA_ON_TIMER] ? lua_on_timer : NULL;
    def->on_trade = has[ND_LUA_ON_TRADE] ? lua_on_trade : NULL;
    def->on_quote = has[ND_LUA_ON_QUOTE] ? lua_on_quote : NULL;
}

bool nd_lua_strategy_is(const nd_strategy_def_t *def)
{
    return def != NULL && def->on_start == lua_on_start;
}
