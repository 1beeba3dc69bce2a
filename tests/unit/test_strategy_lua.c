/* test_strategy_lua.c: Lua strategies (strategy_lua.h): loading and schema checks, the sandbox's
 * refusals, the instruction budget and the memory cap, errors that name the file and line, the
 * ctx functions (prices that do not fit are refused), determinism and indicator objects.
 *
 * Scripts are written to a temporary directory and driven through the public definition with a
 * mock context that records target and submit calls. */
#include <criterion/criterion.h>

#include "noderr/alloc.h"
#include "noderr/strategy_lua.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define INSTRUMENT 3u

typedef struct mock {
    nd_strategy_ctx_t ctx; /* first, so a callback can cast back */
    int targets, last_target;
    int submits;
    nd_order_intent_t first_intent, last_intent;
} mock_t;

static nd_err_t mock_target(nd_strategy_ctx_t *ctx, uint32_t instrument_id, int direction)
{
    mock_t *m = (mock_t *)ctx;
    cr_assert_eq(instrument_id, INSTRUMENT);
    m->targets++;
    m->last_target = direction;
    return ND_OK;
}

static nd_err_t mock_submit(nd_strategy_ctx_t *ctx, const nd_order_intent_t *intent,
                            uint64_t *client_id)
{
    mock_t *m = (mock_t *)ctx;
    m->submits++;
    if (m->submits == 1)
        m->first_intent = *intent;
    m->last_intent = *intent;
    if (intent->qty == 13)
        return ND_OK; /* the engine's way of rejecting: a reject event, no client id */
    *client_id = 1000u + (uint64_t)m->submits;
    return ND_OK;
}

static nd_err_t mock_cancel(nd_strategy_ctx_t *ctx, uint64_t client_id)
{
    (void)ctx;
    return client_id == 1001u ? ND_OK : ND_ENOTFOUND;
}

/* Amends of order 1001: quantity 5 is refused by a check, a price of 1 cannot be amended by
 * the venue, anything else is sent. */
static int64_t amended_px, amended_qty;

static nd_err_t mock_amend(nd_strategy_ctx_t *ctx, uint64_t client_id, int64_t px, int64_t qty,
                           nd_reject_t *reason)
{
    (void)ctx;
    if (client_id != 1001u)
        return ND_ENOTFOUND;
    if (qty == 5) {
        *reason = ND_REJECT_POSITION_LIMIT_EXCEEDED;
        return ND_EDECLINED;
    }
    if (px == 1)
        return ND_EDECLINED;
    amended_px = px;
    amended_qty = qty;
    return ND_OK;
}

static nd_err_t mock_set_timer(nd_strategy_ctx_t *ctx, int64_t at_ns, uint64_t timer_id)
{
    (void)ctx;
    (void)at_ns;
    (void)timer_id;
    return ND_OK;
}

static int64_t mock_position(nd_strategy_ctx_t *ctx, uint32_t instrument_id)
{
    (void)ctx;
    (void)instrument_id;
    return 42;
}

static char dir[] = "/tmp/noderr_lua_XXXXXX";
static int script_no;

static void setup(void)
{
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(strategy_lua, .init = setup, .fini = teardown);

/* Writes text to a new file in the temporary directory; returns its path (static storage). */
static const char *write_script(const char *text)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/s%d.lua", dir, script_no++);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    cr_assert_eq(fputs(text, f) >= 0, 1);
    cr_assert_eq(fclose(f), 0);
    return path;
}

static void expect_load_error(const char *text, const char *want)
{
    const char *path = write_script(text);
    const nd_strategy_def_t *def = NULL;
    char err[1024] = "";
    cr_assert_neq(nd_lua_strategy_load(path, &def, err, sizeof err), ND_OK, "loaded: %s", text);
    cr_assert_null(def);
    cr_assert_not_null(strstr(err, want), "error '%s' lacks '%s'", err, want);
    cr_assert_not_null(strstr(err, path), "error '%s' does not name the file", err);
}

static const nd_strategy_def_t *load_ok(const char *text)
{
    const char *path = write_script(text);
    const nd_strategy_def_t *def = NULL;
    char err[1024] = "";
    cr_assert_eq(nd_lua_strategy_load(path, &def, err, sizeof err), ND_OK, "%s", err);
    cr_assert(nd_lua_strategy_is(def));
    return def;
}

/* A started instance over a mock context. */
typedef struct run {
    mock_t mock;
    void *state;
    const nd_strategy_def_t *def;
    nd_err_t start_rc;
} run_t;

static void run_start(run_t *r, const nd_strategy_def_t *def)
{
    memset(r, 0, sizeof *r);
    r->def = def;
    r->mock.ctx.target = mock_target;
    r->mock.ctx.submit = mock_submit;
    r->mock.ctx.cancel = mock_cancel;
    r->mock.ctx.amend = mock_amend;
    r->mock.ctx.set_timer = mock_set_timer;
    r->mock.ctx.position = mock_position;
    r->mock.ctx.def = def;
    double params[ND_STRATEGY_PARAMS_MAX];
    nd_strategy_params_default(def, params);
    r->state = nd_calloc(1, def->state_size(params));
    cr_assert_not_null(r->state);
    r->start_rc = def->on_start(r->state, params, INSTRUMENT, &r->mock.ctx);
}

static void run_bar(run_t *r, int64_t close)
{
    nd_bar_t bar = {.ts_ns = 1700000000000000000LL, .open = close, .high = close, .low = close,
                    .close = close, .volume = 5, .instrument_id = INSTRUMENT};
    r->def->on_bar(r->state, &bar, &r->mock.ctx);
}

static void run_stop(run_t *r)
{
    r->def->on_stop(r->state);
    nd_free(r->state);
    nd_lua_strategy_free(r->def);
}

/* A script whose on_bar body is `body`, checked to fail in on_bar with `want` in the message. */
static void expect_bar_error(const char *body, const char *want)
{
    char text[2048];
    snprintf(text, sizeof text, "return { name = \"t\",\n on_bar = function(ctx, bar)\n%s\n end }\n",
             body);
    const nd_strategy_def_t *def = load_ok(text);
    run_t r;
    run_start(&r, def);
    cr_assert_eq(r.start_rc, ND_OK);
    cr_assert_null(nd_lua_strategy_error(def));
    run_bar(&r, 100);
    const char *why = nd_lua_strategy_error(def);
    cr_assert_not_null(why, "no error for: %s", body);
    cr_assert_not_null(strstr(why, want), "error '%s' lacks '%s'", why, want);
    cr_assert_not_null(strstr(why, "(in on_bar)"), "error '%s' does not name on_bar", why);
    run_bar(&r, 100); /* a failed script is not called again, and the first error stays */
    cr_assert_str_eq(nd_lua_strategy_error(def), why);
    run_stop(&r);
}

Test(strategy_lua, sandbox_refuses_files_processes_and_code_loading)
{
    /* Each at line 4 of the script, so the message must say ":4:". */
    expect_bar_error("\n io.open('/etc/passwd')", ":4: attempt to index global 'io'");
    expect_bar_error("\n os.exit(1)", ":4: attempt to index global 'os'");
    expect_bar_error("\n require('os')", ":4: attempt to call global 'require'");
    expect_bar_error("\n load('return 1')", ":4: attempt to call global 'load'");
    expect_bar_error("\n loadstring('return 1')", ":4: attempt to call global 'loadstring'");
    expect_bar_error("\n dofile('/etc/passwd')", ":4: attempt to call global 'dofile'");
    expect_bar_error("\n string.dump(function() end)", ":4: attempt to call field 'dump'");
    expect_bar_error("\n ('x'):dump()", ":4: attempt to call method 'dump'");
    expect_bar_error("\n debug.getinfo(1)", ":4: attempt to index global 'debug'");
    expect_bar_error("\n jit.off()", ":4: attempt to index global 'jit'");
    expect_bar_error("\n collectgarbage('stop')", ":4: attempt to call global 'collectgarbage'");
    expect_bar_error("\n getmetatable('').__index.dump()", ":4: attempt to call field 'dump'");
}

Test(strategy_lua, the_main_chunk_is_sandboxed_too)
{
    expect_load_error("local f = io.open('/etc/passwd')\nreturn {}", ":1: attempt to index");
    expect_load_error("os.exit(3)\nreturn {}", ":1: attempt to index global 'os'");
    expect_load_error("require('ffi')\nreturn {}", ":1: attempt to call global 'require'");
}

Test(strategy_lua, cpu_budget_stops_infinite_loops_and_names_the_callback)
{
    expect_bar_error("while true do end", ":3: CPU budget");
    /* Hot numeric loops and tail recursion would be compiled by the JIT, where hooks never run:
     * both must stay in the interpreter and hit the budget. */
    expect_bar_error("local x = 0 for i = 1, 1e15 do x = x + i end", "CPU budget");
    expect_bar_error("local function f(n) return f(n + 1) end return f(0)", "CPU budget");
    expect_bar_error("local t = {1, 2, 3} while true do for _, v in ipairs(t) do end end",
                     "CPU budget");
    expect_load_error("while true do end return {}", "CPU budget");
    /* Catching the budget's error does not buy more time. */
    expect_bar_error("while true do pcall(function() while true do end end) end", "CPU budget");
    expect_bar_error("local co = coroutine.wrap(function() while true do end end) co()",
                     "CPU budget");
}

Test(strategy_lua, memory_cap)
{
    expect_bar_error("local s = string.rep('x', 100 * 1024 * 1024)", "memory limit");
}

Test(strategy_lua, syntax_error_names_file_and_line)
{
    expect_load_error("return {\n name = 'x',\n on_bar = function(ctx, bar) if then end\n}",
                      ":3:");
    expect_load_error("\x1bLJ binary", "bytecode");
}

Test(strategy_lua, bad_schemas_are_refused)
{
    expect_load_error("return 5", "must return a table");
    expect_load_error("return { on_bar = function() end }", "'name'");
    expect_load_error("return { name = 'x' }", "none of on_bar");
    expect_load_error("return { name = 'x', on_bar = 5 }", "'on_bar' must be a function");
    expect_load_error("return { name = 'x', on_bar = function() end, params = {\n"
                      " {name = 'n', type = 'int', min = 5, max = 2, default = 3} } }",
                      "params[1]: needs 'min' <= 'max'");
    expect_load_error("return { name = 'x', on_bar = function() end, params = {\n"
                      " {name = 'n', type = 'int', min = 1, max = 9, default = 10} } }",
                      "needs a 'default' within [min, max]");
    expect_load_error("return { name = 'x', on_bar = function() end, params = {\n"
                      " {name = 'n', type = 'int', min = 1.5, max = 9, default = 2} } }",
                      "whole numbers");
    expect_load_error("return { name = 'x', on_bar = function() end, params = {\n"
                      " {name = 'n', type = 'float', min = 1, max = 9, default = 2} } }",
                      "'type' must be");
    expect_load_error("return { name = 'x', on_bar = function() end, params = {\n"
                      " {name = 'n', type = 'int', min = 1, max = 9, default = 2},\n"
                      " {name = 'n', type = 'real', min = 1, max = 9, default = 2} } }",
                      "declared twice");
    expect_load_error("return { name = 'x', on_bar = function() end, params = {\n"
                      " {name = 'm', type = 'choice', choices = {}, default = 0} } }",
                      "'choices'");
}

Test(strategy_lua, schema_becomes_the_definition)
{
    const nd_strategy_def_t *def = load_ok(
        "return { name = 'demo', summary = 'a demo',\n"
        " params = { {name = 'n', type = 'int', min = 2, max = 50, default = 10, help = 'bars'},\n"
        "            {name = 'z', type = 'real', min = 0.5, max = 3, default = 1.5, step = 0.1},\n"
        "            {name = 'mode', type = 'choice', choices = {'fast', 'slow'}, default = 1} },\n"
        " on_bar = function(ctx, bar) end, on_fill = function() end }\n");
    cr_assert_str_eq(def->name, "demo");
    cr_assert_str_eq(def->summary, "a demo");
    cr_assert_eq(def->param_count, 3);
    cr_assert_str_eq(def->params[0].name, "n");
    cr_assert_eq(def->params[0].type, ND_PARAM_INT);
    cr_assert_eq(def->params[0].def, 10);
    cr_assert_str_eq(def->params[0].help, "bars");
    cr_assert_eq(def->params[1].type, ND_PARAM_REAL);
    cr_assert_float_eq(def->params[1].step, 0.1, 1e-12);
    cr_assert_eq(def->params[2].type, ND_PARAM_CHOICE);
    cr_assert_eq(def->params[2].choice_count, 2);
    cr_assert_str_eq(def->params[2].choices[1], "slow");
    cr_assert_not_null(def->on_bar);
    cr_assert_not_null(def->on_fill);
    cr_assert_null(def->on_timer);
    cr_assert_null(def->on_quote);
    double values[ND_STRATEGY_PARAMS_MAX];
    nd_strategy_params_default(def, values);
    char err[256];
    cr_assert_eq(nd_strategy_param_set(def, values, "mode=fast", err, sizeof err), ND_OK, "%s",
                 err);
    cr_assert_eq(values[2], 0);
    cr_assert_neq(nd_strategy_param_set(def, values, "n=51", err, sizeof err), ND_OK);
    nd_lua_strategy_free(def);
}

Test(strategy_lua, prices_that_do_not_fit_are_refused)
{
    expect_bar_error("ctx.submit{side = 'buy', type = 'limit', px = 100.5, qty = 1}",
                     "submit: px 100.5 does not fit");
    expect_bar_error("ctx.submit{side = 'buy', type = 'limit', px = 2^60, qty = 1}",
                     "submit: px 1.152921504606847e+18 does not fit");
    expect_bar_error("ctx.submit{side = 'buy', type = 'limit', px = -5, qty = 1}",
                     "submit: px -5 does not fit");
    expect_bar_error("ctx.submit{side = 'buy', type = 'limit', px = 0/0, qty = 1}",
                     "does not fit");
    expect_bar_error("ctx.submit{side = 'buy', type = 'limit', px = 100, qty = 0.5}",
                     "submit: qty 0.5 does not fit");
    expect_bar_error("ctx.submit{side = 'up', px = 100}", "'side' must be one of buy, sell");
    expect_bar_error("ctx.target(2)", "target direction 2 does not fit");
}

Test(strategy_lua, ctx_functions_reach_the_engine)
{
    const nd_strategy_def_t *def = load_ok(
        "local n\n"
        "return { name = 'c', params = { {name = 'n', type = 'int', min = 1, max = 9, default = 4} },\n"
        " on_start = function(ctx, params) n = params.n end,\n"
        " on_bar = function(ctx, bar)\n"
        "  assert(ctx.instrument_id == 3 and ctx:position() == 42)\n"
        "  assert(bar.close == 123456789 and bar.volume == 5)\n"
        "  ctx:target(-1)\n"
        "  local id = ctx.submit{side = 'sell', type = 'limit', px = bar.close + n, qty = 7}\n"
        "  assert(id == 1001)\n"
        "  assert(ctx:amend(id, bar.close, 9) == true)\n"
        "  local no, what, why = ctx.amend(id, bar.close, 5)\n"
        "  assert(no == nil and what == 'rejected' and why == 'position_limit_exceeded', why)\n"
        "  no, what = ctx.amend(id, 1, 9)\n"
        "  assert(no == nil and what == 'EDECLINED', what)\n"
        "  assert(ctx.cancel(id) == true)\n"
        "  local ok, why = ctx.cancel(5)\n"
        "  assert(ok == nil and why == 'ENOTFOUND', why)\n"
        "  assert(ctx.set_timer(bar.ts + 1e9, 7))\n"
        "  local none, reason = ctx.submit{side = 'buy', qty = 13}\n"
        "  assert(none == nil and reason == 'rejected', reason)\n"
        " end }\n");
    run_t r;
    run_start(&r, def);
    cr_assert_eq(r.start_rc, ND_OK);
    run_bar(&r, 123456789);
    cr_assert_null(nd_lua_strategy_error(def), "%s", nd_lua_strategy_error(def));
    cr_assert_eq(r.mock.targets, 1);
    cr_assert_eq(r.mock.last_target, -1);
    cr_assert_eq(r.mock.submits, 2);
    cr_assert_eq(r.mock.first_intent.side, ND_SIDE_SELL);
    cr_assert_eq(r.mock.first_intent.type, ND_ORDER_LIMIT);
    cr_assert_eq(r.mock.first_intent.px, 123456793);
    cr_assert_eq(r.mock.first_intent.qty, 7);
    cr_assert_eq(r.mock.first_intent.instrument_id, INSTRUMENT);
    cr_assert_eq(r.mock.last_intent.side, ND_SIDE_BUY);
    cr_assert_eq(r.mock.last_intent.type, ND_ORDER_MARKET);
    cr_assert_eq(r.mock.last_intent.px, 0);
    cr_assert_eq(r.mock.last_intent.qty, 13);
    cr_assert_eq(r.mock.last_intent.instrument_id, INSTRUMENT);
    cr_assert_eq(amended_px, 123456789);
    cr_assert_eq(amended_qty, 9);
    run_stop(&r);
}

Test(strategy_lua, on_start_error_fails_the_start)
{
    const nd_strategy_def_t *def = load_ok(
        "return { name = 's', on_start = function(ctx, p)\n error('no good') end,\n"
        " on_bar = function() end }\n");
    run_t r;
    run_start(&r, def);
    cr_assert_eq(r.start_rc, ND_EINVAL);
    cr_assert_not_null(strstr(nd_lua_strategy_error(def), ":2: no good (in on_start)"));
    run_stop(&r);
}

/* math.random is seeded: two instances draw the same numbers; randomseed reseeds. */
Test(strategy_lua, deterministic_random)
{
    const char *text =
        "local draws = {}\n"
        "return { name = 'r', on_bar = function(ctx, bar)\n"
        "  local a = math.random(1, 1000000)\n"
        "  math.randomseed(7) local b = math.random() math.randomseed(7)\n"
        "  assert(b == math.random())\n"
        "  ctx.target(a % 2)\n"
        "  ctx.set_timer(a, a)\n"
        " end }\n";
    int first = -1;
    for (int k = 0; k < 2; k++) {
        const nd_strategy_def_t *def = load_ok(text);
        run_t r;
        run_start(&r, def);
        run_bar(&r, 1);
        cr_assert_null(nd_lua_strategy_error(def), "%s", nd_lua_strategy_error(def));
        if (k == 0)
            first = r.mock.last_target;
        cr_assert_eq(r.mock.last_target, first);
        run_stop(&r);
    }
}

Test(strategy_lua, indicator_objects)
{
    const nd_strategy_def_t *def = load_ok(
        "local sma, rsi = nd.sma(3), nd.rsi(2)\n"
        "local bb = nd.indicator('bollinger', {period = 3})\n"
        "local n = 0\n"
        "return { name = 'i', on_bar = function(ctx, bar)\n"
        "  n = n + 1\n"
        "  local v = sma:update(bar.close)\n"
        "  local up, mid, lo = bb:update(bar)\n"
        "  rsi:update(bar.close)\n"
        "  if n < 3 then assert(v == nil and mid == nil) else\n"
        "    assert(v == (bar.close * 3 - 3) / 3, tostring(v)) assert(mid == v and up >= mid) end\n"
        "  if n == 1 then assert(not pcall(nd.sma, 0)) assert(not pcall(nd.sma, 0/0))\n"
        "    assert(not pcall(nd.sma, 2.5)) assert(not pcall(nd.indicator, 'nope'))\n"
        "    assert(not pcall(nd.indicator, 'sma', {period = 0/0})) end\n"
        " end }\n");
    run_t r;
    run_start(&r, def);
    for (int64_t c = 1; c <= 6; c++)
        run_bar(&r, c);
    cr_assert_null(nd_lua_strategy_error(def), "%s", nd_lua_strategy_error(def));
    run_stop(&r);
}

Test(strategy_lua, requires_become_validate)
{
    const nd_strategy_def_t *def = load_ok(
        "return { name = 'q', params = {\n"
        " {name = 'a', type = 'int', min = 1, max = 9, default = 2},\n"
        " {name = 'b', type = 'int', min = 1, max = 9, default = 5} },\n"
        " requires = { 'a < b', 'b ~= a' },\n"
        " on_bar = function() end }\n");
    cr_assert_not_null(def->validate);
    double p[ND_STRATEGY_PARAMS_MAX] = {2, 5};
    char err[256] = "";
    cr_assert_eq(nd_strategy_params_check(def, p, err, sizeof err), ND_OK, "%s", err);
    p[0] = 7;
    cr_assert_eq(nd_strategy_params_check(def, p, err, sizeof err), ND_EINVAL);
    cr_assert_str_eq(err, "q: a (7) must be < b (5)");
    nd_lua_strategy_free(def);
    const nd_strategy_def_t *none = load_ok("return { name = 'n', on_bar = function() end }");
    cr_assert_null(none->validate);
    nd_lua_strategy_free(none);
    expect_load_error("return { name = 'x', on_bar = function() end, params = {\n"
                      " {name = 'a', type = 'int', min = 1, max = 9, default = 2} },\n"
                      " requires = { 'a < c' } }", "requires[1]: expected");
    expect_load_error("return { name = 'x', on_bar = function() end, requires = { 5 } }",
                      "requires[1]");
}
