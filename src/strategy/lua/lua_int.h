/* lua_int.h: the Lua strategy module's private parts, shared by lua_load.c (reading a script and
 * its schema), lua_sandbox.c (the interpreter states), lua_run.c (the strategy callbacks) and
 * lua_ind.c (indicator objects for scripts).
 *
 * Invariants: a script is immutable after nd_lua_strategy_load but for failed/error, which the
 * first failing instance claims with one atomic exchange (then writes error, then publishes
 * error_ready); every pointer in def points into the script itself. */
#ifndef NODERR_STRATEGY_LUA_INT_H
#define NODERR_STRATEGY_LUA_INT_H

#include "noderr/rand.h"
#include "noderr/strategy_lua.h"

#include <lauxlib.h>
#include <lua.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define ND_LUA_NAME_MAX 64
#define ND_LUA_HELP_MAX 160
#define ND_LUA_CHOICES_MAX 16
/* Relations between parameters a script may require ("fast < slow"). */
#define ND_LUA_REQUIRES_MAX 8
/* Scripts with requirements loaded at once: each takes one of the validate() entry points
 * (the C interface's validate has no way to reach its script but through which function it is). */
#define ND_LUA_VALIDATE_SLOTS 64

/* One requirement: params[lhs] OP params[rhs]. */
typedef struct nd__lua_require {
    int lhs, rhs;
    char op[3]; /* "<", "<=", ">", ">=", "~=" */
} nd__lua_require_t;

typedef struct nd__lua_param_text {
    char name[ND_LUA_NAME_MAX];
    char help[ND_LUA_HELP_MAX];
    char choices[ND_LUA_CHOICES_MAX][ND_LUA_NAME_MAX];
    const char *choice_ptrs[ND_LUA_CHOICES_MAX];
} nd__lua_param_text_t;

typedef struct nd__lua_script {
    nd_strategy_def_t def; /* first, so a def pointer is the script's */
    char path[512];
    char *source;          /* nd_free */
    size_t source_len;
    char name[ND_LUA_NAME_MAX];
    char summary[256];
    nd_param_def_t params[ND_STRATEGY_PARAMS_MAX];
    nd__lua_param_text_t text[ND_STRATEGY_PARAMS_MAX];
    /* Which callbacks the script defines (index: the nd__lua_cb_t below). */
    bool has_cb[8];
    nd__lua_require_t requires[ND_LUA_REQUIRES_MAX];
    int require_count;
    int validate_slot; /* -1: none */
    atomic_int failed;      /* 1 once a callback failed: every instance stops calling the script */
    atomic_int error_ready; /* 1 once error holds the first failure's message */
    char error[768];
} nd__lua_script_t;

typedef enum nd__lua_cb {
    ND_LUA_ON_START = 0,
    ND_LUA_ON_BAR,
    ND_LUA_ON_FILL,
    ND_LUA_ON_TIMER,
    ND_LUA_ON_TRADE,
    ND_LUA_ON_QUOTE,
    ND_LUA_CB_COUNT
} nd__lua_cb_t;
extern const char *const nd__lua_cb_names[ND_LUA_CB_COUNT];

/* One interpreter: the state and what its allocator and hook count. */
typedef struct nd__lua_vm {
    lua_State *L;
    size_t bytes;       /* heap held */
    size_t bytes_max;   /* cap */
    int over_memory;    /* an allocation was refused */
    int over_budget;    /* the instruction budget ran out */
    nd_rand_t rng;      /* math.random's generator */
} nd__lua_vm_t;

/* Creates a sandboxed state in vm (zeroed by the caller) and loads and runs the script's chunk,
 * leaving the table it returned on top of the stack. ND_EINVAL with "file:line: why" in err. */
nd_err_t nd__lua_vm_open(nd__lua_vm_t *vm, const nd__lua_script_t *script, char *err,
                         size_t err_len);
void nd__lua_vm_close(nd__lua_vm_t *vm);
/* lua_pcall under the instruction budget; on failure writes "why (in what)" into err and pops
 * the message. Returns the lua_pcall code. */
int nd__lua_vm_call(nd__lua_vm_t *vm, int nargs, int nresults, const char *what, char *err,
                    size_t err_len);
/* Registers the indicator constructors (nd.sma, nd.ema, nd.rsi, nd.indicator) in table at idx. */
void nd__lua_indicators_open(lua_State *L, int idx);

/* Reads requires = {"a < b", ...} of the script's table at idx (after the params). */
nd_err_t nd__lua_requires_read(lua_State *L, int idx, nd__lua_script_t *s, char *err,
                               size_t err_len);
/* Gives def a validate() entry point that checks the requirements (none needed: NULL), or
 * ND_EFULL when every slot is taken; releases it. */
nd_err_t nd__lua_validate_bind(nd__lua_script_t *s, char *err, size_t err_len);
void nd__lua_validate_unbind(nd__lua_script_t *s);

/* The strategy callbacks, bound into every script's definition (lua_run.c). */
void nd__lua_bind(nd__lua_script_t *script);

#endif
