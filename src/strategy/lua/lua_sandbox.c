/* lua_sandbox.c: the sandboxed LuaJIT states scripts run in.
 *
 * A state is created with an allocator that counts the heap and refuses past the cap, opens only
 * base (with coroutine), string, table, math and bit, drops every global that reaches files, code
 * loading or the interpreter's internals, replaces math.random with a seeded generator, and runs
 * every call under a count hook: ND_LUA_CPU_BUDGET VM instructions a call. LuaJIT's compiled
 * traces do not run hooks, so before the chunk runs every function prototype that holds a
 * backward jump (a loop) or a tail call is marked not to be compiled: those run in the
 * interpreter, where the budget counts; what is left for the JIT is straight-line code whose
 * running time is bounded by its length. The JIT library is opened only to enable the JIT and
 * to read bytecode (jit.util) before the script runs; the script never sees it. */
#include "strategy/lua/lua_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"

#include <luajit.h>
#include <lualib.h>
#include <stdio.h>
#include <string.h>

static void *vm_alloc(void *ud, void *ptr, size_t old_size, size_t new_size)
{
    nd__lua_vm_t *vm = ud;
    size_t old = ptr ? old_size : 0;
    if (new_size == 0) {
        nd_free(ptr);
        vm->bytes -= old;
        return NULL;
    }
    if (new_size > old && vm->bytes - old + new_size > vm->bytes_max) {
        vm->over_memory = 1;
        return NULL;
    }
    void *p = nd_realloc(ptr, new_size);
    if (p != NULL)
        vm->bytes = vm->bytes - old + new_size;
    return p;
}

/* Raised when the instruction budget of a call runs out (only in the interpreter; see above).
 * From then on the hook fires at every instruction and raises again, so a script that catches
 * the error with pcall cannot carry on: the next instruction outside a pcall ends the call. */
static void vm_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    nd__lua_vm_t *vm = NULL;
    lua_getallocf(L, (void **)&vm);
    if (!vm->over_budget) {
        vm->over_budget = 1;
        lua_sethook(L, vm_hook, LUA_MASKCOUNT, 1);
    }
    lua_Debug where;
    if (lua_getstack(L, 0, &where) && lua_getinfo(L, "Sl", &where) && where.currentline > 0)
        luaL_error(L, "%s:%d: CPU budget of %d instructions exceeded", where.short_src,
                   where.currentline, ND_LUA_CPU_BUDGET);
    luaL_error(L, "CPU budget of %d instructions exceeded", ND_LUA_CPU_BUDGET);
}

/* math.random([m [, n]]) with Lua 5.1's ranges, from the state's own seeded generator. */
static int vm_random(lua_State *L)
{
    nd__lua_vm_t *vm = NULL;
    lua_getallocf(L, (void **)&vm);
    double u = nd_rand_uniform(&vm->rng);
    int n = lua_gettop(L);
    if (n == 0) {
        lua_pushnumber(L, u);
        return 1;
    }
    double lo = n >= 2 ? luaL_checknumber(L, 1) : 1.0;
    double hi = luaL_checknumber(L, n >= 2 ? 2 : 1);
    luaL_argcheck(L, lo <= hi && hi - lo < 9007199254740992.0, n >= 2 ? 2 : 1,
                  "interval is empty or too large");
    lua_pushnumber(L, lo + (double)nd_rand_below(&vm->rng, (uint64_t)(hi - lo) + 1));
    return 1;
}

static int vm_randomseed(lua_State *L)
{
    nd__lua_vm_t *vm = NULL;
    lua_getallocf(L, (void **)&vm);
    nd_rand_init(&vm->rng, (uint64_t)(int64_t)luaL_checknumber(L, 1));
    return 0;
}

static void open_lib(lua_State *L, lua_CFunction open, const char *name)
{
    lua_pushcfunction(L, open);
    lua_pushstring(L, name);
    lua_call(L, 1, 0);
}

static void set_nil(lua_State *L, int table, const char *key)
{
    if (table < 0 && table > LUA_REGISTRYINDEX)
        table = lua_gettop(L) + table + 1; /* before the push moves it */
    lua_pushnil(L);
    lua_setfield(L, table, key);
}

/* The libraries a script may use, and nothing else. */
static void vm_open_libs(lua_State *L)
{
    static const char *const drop[] = {
        "dofile", "loadfile", "load", "loadstring", "require", "module", "getfenv", "setfenv",
        "collectgarbage", "gcinfo", "newproxy", "print", "jit", "package", "io", "os", "debug",
        "ffi",
    };
    open_lib(L, luaopen_base, "");
    open_lib(L, luaopen_string, LUA_STRLIBNAME);
    open_lib(L, luaopen_table, LUA_TABLIBNAME);
    open_lib(L, luaopen_math, LUA_MATHLIBNAME);
    open_lib(L, luaopen_bit, LUA_BITLIBNAME);
    for (size_t k = 0; k < sizeof drop / sizeof drop[0]; k++)
        set_nil(L, LUA_GLOBALSINDEX, drop[k]);
    lua_getglobal(L, LUA_STRLIBNAME);
    set_nil(L, -1, "dump");
    lua_pop(L, 1);
    lua_getglobal(L, LUA_MATHLIBNAME);
    lua_pushcfunction(L, vm_random);
    lua_setfield(L, -2, "random");
    lua_pushcfunction(L, vm_randomseed);
    lua_setfield(L, -2, "randomseed");
    lua_pop(L, 1);
    lua_newtable(L);
    nd__lua_indicators_open(L, lua_gettop(L));
    lua_setglobal(L, "nd");
}

/* Opcodes (a 256-bit set) in the bytecode of the function on top of the stack, read with
 * jit.util.funcbc (the table at util). */
static void opcodes_of(lua_State *L, int util, uint64_t set[4])
{
    memset(set, 0, 4 * sizeof set[0]);
    int fn = lua_gettop(L);
    for (int pc = 1;; pc++) {
        lua_getfield(L, util, "funcbc");
        lua_pushvalue(L, fn);
        lua_pushinteger(L, pc);
        lua_call(L, 2, 1);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            return;
        }
        uint32_t op = (uint32_t)lua_tonumber(L, -1) & 0xffu;
        set[op >> 6] |= 1ull << (op & 63);
        lua_pop(L, 1);
    }
}

/* The tail-call opcodes: those "return f()" uses and "f() return" does not (CALLT, CALLMT); a
 * superset would only keep more code in the interpreter. */
static void tail_call_opcodes(lua_State *L, int util, uint64_t tail[4])
{
    static const char *const probes[] = {"local f return f()", "local f f()",
                                         "local f return f(...)", "local f f(...)"};
    memset(tail, 0, 4 * sizeof tail[0]);
    for (int k = 0; k < 4; k += 2) {
        uint64_t with[4], without[4];
        ND_ASSERT(luaL_loadstring(L, probes[k]) == 0);
        opcodes_of(L, util, with);
        lua_pop(L, 1);
        ND_ASSERT(luaL_loadstring(L, probes[k + 1]) == 0);
        opcodes_of(L, util, without);
        lua_pop(L, 1);
        for (int w = 0; w < 4; w++)
            tail[w] |= with[w] & ~without[w];
    }
}

/* From LuaJIT's lj_bc.h and lua_type(): a jump operand's mode, the bias of jump offsets, and
 * the type lua_type() gives a function prototype (a constant of its parent, as jit.util.funck
 * returns it; jit.util and luaJIT_setmode take it like a function). */
enum { BC_MODE_JUMP = 13, BC_BIAS_J = 0x8000, LJ_TYPE_PROTO = 9 };

/* Marks the prototype (or function) on top of the stack, and every prototype nested in it,
 * not to be compiled when its bytecode holds a backward jump (a loop) or a tail call. */
static void restrict_jit(lua_State *L, int util, const uint64_t tail[4], int depth)
{
    int fn = lua_gettop(L);
    bool interpret = false;
    for (int pc = 0; !interpret; pc++) {
        lua_getfield(L, util, "funcbc");
        lua_pushvalue(L, fn);
        lua_pushinteger(L, pc);
        lua_call(L, 2, 2);
        if (lua_isnil(L, -2)) {
            lua_pop(L, 2);
            break;
        }
        uint32_t ins = (uint32_t)lua_tonumber(L, -2);
        uint32_t mode = (uint32_t)lua_tonumber(L, -1);
        uint32_t op = ins & 0xffu;
        interpret = (((mode >> 7) & 15u) == BC_MODE_JUMP && (ins >> 16) < BC_BIAS_J) ||
                    (tail[op >> 6] >> (op & 63) & 1u);
        lua_pop(L, 2);
    }
    if (interpret)
        luaJIT_setmode(L, fn, LUAJIT_MODE_FUNC | LUAJIT_MODE_OFF);
    ND_ASSERT(depth < 200); /* the parser's own nesting limit is lower */
    for (int k = -1;; k--) {
        lua_getfield(L, util, "funck");
        lua_pushvalue(L, fn);
        lua_pushinteger(L, k);
        lua_call(L, 2, 1);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            break;
        }
        if (lua_type(L, -1) == LJ_TYPE_PROTO)
            restrict_jit(L, util, tail, depth + 1);
        lua_pop(L, 1);
    }
    ND_ASSERT(lua_gettop(L) == fn);
}

/* Opens the JIT library (which turns the compiler on) and leaves jit.util on the stack. */
static int open_jit_util(lua_State *L)
{
    open_lib(L, luaopen_jit, LUA_JITLIBNAME);
    lua_getfield(L, LUA_REGISTRYINDEX, "_PRELOAD");
    lua_getfield(L, -1, "jit.util");
    lua_call(L, 0, 1);
    lua_remove(L, -2);
    ND_ASSERT(lua_istable(L, -1));
    lua_pushnil(L);
    lua_setfield(L, LUA_REGISTRYINDEX, "_PRELOAD");
    return lua_gettop(L);
}

int nd__lua_vm_call(nd__lua_vm_t *vm, int nargs, int nresults, const char *what, char *err,
                    size_t err_len)
{
    lua_State *L = vm->L;
    vm->over_budget = 0;
    lua_sethook(L, vm_hook, LUA_MASKCOUNT, ND_LUA_CPU_BUDGET);
    int rc = lua_pcall(L, nargs, nresults, 0);
    if (rc == 0)
        return 0;
    const char *msg = lua_tostring(L, -1);
    if (vm->over_memory)
        snprintf(err, err_len, "%s (memory limit of %u bytes) (in %s)", msg ? msg : "error",
                 (unsigned)vm->bytes_max, what);
    else
        snprintf(err, err_len, "%s (in %s)", msg ? msg : "error object is not a string", what);
    lua_pop(L, 1);
    return rc;
}

nd_err_t nd__lua_vm_open(nd__lua_vm_t *vm, const nd__lua_script_t *script, char *err,
                         size_t err_len)
{
    ND_ASSERT(vm->L == NULL);
    ND_ASSERT(script->source != NULL);
    vm->bytes_max = ND_LUA_MEMORY_MAX;
    nd_rand_init(&vm->rng, ND_LUA_RANDOM_SEED);
    vm->L = lua_newstate(vm_alloc, vm);
    if (vm->L == NULL) {
        snprintf(err, err_len, "%s: cannot create a Lua state", script->path);
        return ND_ENOMEM;
    }
    lua_State *L = vm->L;
    int util = open_jit_util(L);
    uint64_t tail[4];
    tail_call_opcodes(L, util, tail);
    vm_open_libs(L);
    char chunk[sizeof script->path + 1];
    snprintf(chunk, sizeof chunk, "@%s", script->path);
    int rc = luaL_loadbuffer(L, script->source, script->source_len, chunk);
    if (rc != 0) {
        snprintf(err, err_len, "%s", lua_tostring(L, -1));
        return ND_EINVAL;
    }
    restrict_jit(L, util, tail, 0);
    lua_remove(L, util);
    if (nd__lua_vm_call(vm, 0, 1, "the script's main chunk", err, err_len) != 0)
        return ND_EINVAL;
    if (!lua_istable(L, -1)) {
        snprintf(err, err_len, "%s: the script must return a table (got %s)", script->path,
                 luaL_typename(L, -1));
        return ND_EINVAL;
    }
    return ND_OK;
}

void nd__lua_vm_close(nd__lua_vm_t *vm)
{
    if (vm->L != NULL)
        lua_close(vm->L);
    vm->L = NULL;
    ND_ASSERT(vm->bytes == 0);
}
