#!/usr/bin/env bash
# 34_strategy_lua.sh: scripted strategies (--strategy-file, docs/strategy-lua.md). The Lua SMA
# cross of examples/strategies gives byte-for-byte the built-in sma_cross's --trades-out on the
# synthetic market and on ETHUSDT-1h.csv (when ../shared is present); validate and evolve take
# the script (evolve tunes its parameters); a script error stops the run with exit 2 naming the
# file and line; bad scripts and sandbox escapes are refused with the reason.
source "$(dirname "$0")/lib.sh"

[ -n "$SOURCE_ROOT" ] || { echo "SKIP: no source root given"; exit 77; }
LUA="$SOURCE_ROOT/examples/strategies/sma_cross.lua"
[ -f "$LUA" ] || fail "$LUA missing"

check "synthetic market: the Lua SMA cross trades exactly as the built-in"
expect_rc 0 "$NODERR" backtest --strategy-file "$LUA" --trades-out "$WORK/lua.csv"
grep -q "sma_cross" "$OUT" || fail "the summary does not name the script's strategy"
expect_rc 0 "$NODERR" backtest --strategy sma_cross --trades-out "$WORK/c.csv"
[ "$(wc -l <"$WORK/c.csv")" -gt 5 ] || fail "the built-in made too few trades to compare"
cmp "$WORK/lua.csv" "$WORK/c.csv" || fail "Lua and C trades differ (synthetic)"

check "parameters: --param reaches the script (fast=5 slow=20), same trades as the built-in"
expect_rc 0 "$NODERR" backtest --strategy-file "$LUA" --param fast=5 --param slow=20 \
    --trades-out "$WORK/lua.csv"
expect_rc 0 "$NODERR" backtest --strategy sma_cross --param fast=5 --param slow=20 \
    --trades-out "$WORK/c.csv"
cmp "$WORK/lua.csv" "$WORK/c.csv" || fail "Lua and C trades differ (fast=5 slow=20)"
expect_usage_error "sma_cross: fast (10) must be < slow (8)" \
    "$NODERR" backtest --strategy-file "$LUA" --param slow=8

check "a weight after the path, and a script beside a built-in"
expect_rc 0 "$NODERR" backtest --strategy-file "$LUA:0.5" --strategy ema_momentum:0.5 --json
pycheck "$OUT" 'assert d["bars"] > 0, d'

check "validate and evolve take the script (evolve chooses as for the built-in)"
expect_rc 0 "$NODERR" validate --strategy-file "$LUA" --json
[ "$RC" -le 1 ] || fail "validate exited $RC"
expect_rc 0 "$NODERR" evolve --strategy-file "$LUA" --scenario flash-crash --population 8 \
    --generations 2 --seed 3 --threads 2 --out "$WORK/best.json"
pycheck "$WORK/best.json" '
assert d["strategy"] == "sma_cross", d
assert set(d["params"]) == {"fast", "slow"}, d
'
expect_rc 0 "$NODERR" evolve --strategy sma_cross --scenario flash-crash --population 8 \
    --generations 2 --seed 3 --threads 2 --out "$WORK/best_c.json"
cmp "$WORK/best.json" "$WORK/best_c.json" || fail "evolve chose differently for Lua and C"
check "the evolved parameters run back through --params"
expect_rc 0 "$NODERR" backtest --strategy-file "$LUA" --params "$WORK/best.json" --json

check "a runtime error stops the run with exit 2, naming file, line and callback"
cat >"$WORK/bad.lua" <<'LUA'
local n = 0
return { name = "bad", params = { {name = "k", type = "int", min = 1, max = 9, default = 2} },
  on_bar = function(ctx, bar)
  n = n + 1
  if n == 50 then local t = nil; return t.x end
end }
LUA
expect_usage_error "bad.lua:5: attempt to index local 't' (a nil value) (in on_bar)" \
    "$NODERR" backtest --strategy-file "$WORK/bad.lua"
[ ! -s "$OUT" ] || fail "a failed script still printed a summary"
expect_usage_error "bad.lua:5:" "$NODERR" validate --strategy-file "$WORK/bad.lua"
expect_usage_error "bad.lua:5:" "$NODERR" evolve --strategy-file "$WORK/bad.lua" \
    --scenario flash-crash --population 4 --generations 1

check "examples/strategies/rsi_bands.lua (indicators, limit orders, cancels) backtests and evolves"
expect_rc 0 "$NODERR" backtest --strategy-file "$SOURCE_ROOT/examples/strategies/rsi_bands.lua" --json
pycheck "$OUT" 'assert d["fills"] > 0, d["fills"]'
expect_rc 0 "$NODERR" evolve --strategy-file "$SOURCE_ROOT/examples/strategies/rsi_bands.lua" \
    --scenario flash-crash --population 8 --generations 2 --threads 2 --min-trades 0 --json

check "on_fill, set_timer/on_timer and submit through the engine"
cat >"$WORK/ev.lua" <<'LUA'
local fills, timers, n = 0, 0, 0
return { name = "ev",
  on_bar = function(ctx, bar)
    n = n + 1
    if n == 10 then
      assert(ctx:submit{side = "buy", type = "limit", px = bar.close - bar.close % 1000000})
      assert(ctx:set_timer(bar.ts + 3600e9 * 5, 77))
    end
    if n == 200 then assert(fills == 2, "fills " .. fills) assert(timers == 1) end
  end,
  on_fill = function(ctx, fill)
    fills = fills + 1
    assert(fill.side == (fills == 1 and "buy" or "sell") and fill.qty > 0 and fill.px > 0)
  end,
  on_timer = function(ctx, now, id) assert(id == 77) timers = timers + 1 ctx:target(0) end,
}
LUA
expect_rc 0 "$NODERR" backtest --strategy-file "$WORK/ev.lua" --json
pycheck "$OUT" 'assert d["fills"] == 2, d["fills"]'

check "event-level runs call on_trade"
printf 'local t = 0\nreturn { name = "tr", on_trade = function(ctx, tr)\n t = t + 1\n if t == 100 then error("trade " .. tr.side) end\nend }\n' \
    >"$WORK/tr.lua"
expect_usage_error "tr.lua:4: trade " "$NODERR" backtest --synthetic-l2 --events 5000 \
    --strategy-file "$WORK/tr.lua"

check "sandbox and budget errors name the cause"
printf 'return { name = "x", on_bar = function(ctx, bar)\n io.open("/etc/passwd")\nend }\n' \
    >"$WORK/io.lua"
expect_usage_error "io.lua:2: attempt to index global 'io'" \
    "$NODERR" backtest --strategy-file "$WORK/io.lua"
printf 'return { name = "x", on_bar = function(ctx, bar)\n while true do end\nend }\n' \
    >"$WORK/loop.lua"
expect_usage_error "loop.lua:2: CPU budget" "$NODERR" backtest --strategy-file "$WORK/loop.lua"
printf 'return { name = "x",\n on_bar = function(ctx, bar) if then end }\n' >"$WORK/syntax.lua"
expect_usage_error "syntax.lua:2:" "$NODERR" backtest --strategy-file "$WORK/syntax.lua"
expect_usage_error "missing.lua: No such file" "$NODERR" backtest --strategy-file "$WORK/missing.lua"

if ! have_shared || [ ! -f "$SHARED/data/ETHUSDT-1h.csv" ]; then
    echo "SKIP: ../shared/data/ETHUSDT-1h.csv absent, real-data comparison skipped"
    echo "34_strategy_lua: passed"
    exit 0
fi
check "ETHUSDT-1h.csv: the Lua SMA cross trades exactly as the built-in"
ETH="$SHARED/data/ETHUSDT-1h.csv"
expect_rc 0 "$NODERR" backtest --data "$ETH" --strategy-file "$LUA" --trades-out "$WORK/lua.csv"
expect_rc 0 "$NODERR" backtest --data "$ETH" --strategy sma_cross --trades-out "$WORK/c.csv"
[ "$(wc -l <"$WORK/c.csv")" -gt 100 ] || fail "too few trades to compare"
cmp "$WORK/lua.csv" "$WORK/c.csv" || fail "Lua and C trades differ (ETHUSDT-1h)"
echo "34_strategy_lua: passed"
