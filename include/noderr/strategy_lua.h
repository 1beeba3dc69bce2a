/* strategy_lua.h: strategies scripted in Lua, run by LuaJIT in a sandbox.
 *
 * A script returns a table: its name, summary, parameter schema and callbacks (docs/strategy-lua.md
 * gives the script API). nd_lua_strategy_load reads and checks the script once and builds a
 * strategy definition like a built-in's, whose callbacks run the script: every started instance
 * (one per engine strategy slot, so one per backtest of an evolve worker thread) gets its own
 * lua_State, created in on_start and closed in on_stop; nothing mutable is shared between
 * instances but the definition's first-error slot, which is atomic.
 *
 * Sandbox: the base, string, table, math and bit libraries only (no io, os, package/require,
 * load/loadstring/dofile/loadfile, debug, ffi, jit; string.dump removed); math.random is a
 * deterministic generator (seeded with ND_LUA_RANDOM_SEED; math.randomseed(n) reseeds it); a
 * budget of instructions per callback and a memory cap per instance. Loops and tail calls run in
 * the interpreter, where the budget is counted; loop-free functions are compiled by the JIT.
 *
 * Errors: a script whose callback fails (a Lua error, the budget or the memory cap) stops calling
 * the script in every instance of that definition; the first message ("file:line: why (in
 * on_bar)") is kept and nd_lua_strategy_error returns it, so the command that ran it can stop with
 * exit 2 (a script error is never silent). */
#ifndef NODERR_STRATEGY_LUA_H
#define NODERR_STRATEGY_LUA_H

#include "noderr/err.h"
#include "noderr/strategy.h"

#include <stdbool.h>
#include <stddef.h>

/* Largest script file read (bytes): a strategy is a page of code, not a data file. */
#define ND_LUA_SOURCE_MAX (1u << 20)
/* Instructions (Lua VM) a callback may run, on_start and the loading run included: a few
 * hundred thousand times what an O(1) on_bar needs, and a runaway loop stops in milliseconds. */
#define ND_LUA_CPU_BUDGET 10000000
/* Bytes of Lua heap an instance may hold. */
#define ND_LUA_MEMORY_MAX (64u << 20)
/* The seed of math.random until the script calls math.randomseed. */
#define ND_LUA_RANDOM_SEED 42u

/* Loads the script at path: reads it, runs it once in a sandbox and checks what it returns (a
 * table with a name, an optional summary, a parameter schema and at least on_bar or an event
 * callback). On success *out is a definition allocated once, to release with
 * nd_lua_strategy_free; its user field is the loaded script. ND_EINVAL (bad script or schema),
 * ND_ENOTFOUND, ND_EIO, ND_ENOMEM with "path:line: why" in err. Cost: one run of the script. */
nd_err_t nd_lua_strategy_load(const char *path, const nd_strategy_def_t **out /* OUT */,
                              char *err, size_t err_len);
/* Frees a definition from nd_lua_strategy_load (NULL is a no-op). No instance may be running. */
void nd_lua_strategy_free(const nd_strategy_def_t *def);
/* True when def was built by nd_lua_strategy_load. */
bool nd_lua_strategy_is(const nd_strategy_def_t *def);
/* The first error a callback of def raised ("file:line: why (in on_bar)"), or NULL when none
 * (or when def is not a script). Safe to call from any thread. */
const char *nd_lua_strategy_error(const nd_strategy_def_t *def);

#endif
