#!/usr/bin/env bash
# 82_evolve_real_data.sh: the default run (population 50, up to 100 generations, Pareto over
# sharpe, max_drawdown, win_rate, profit_factor) of sma_cross on ../shared/data/BTCUSDT-1h.csv,
# skipped when that folder is absent: it finishes, its best parameters reproduce through
# `noderr backtest --params`, and --threads does not change the result.
source "$(dirname "$0")/lib.sh"

if ! have_shared; then
    echo "SKIP: ../shared absent ($SHARED/data)"
    exit 77
fi
BTC_1H="$SHARED/data/BTCUSDT-1h.csv"
[ -f "$BTC_1H" ] || fail "$BTC_1H missing from the shared data"

check "default evolve run on BTCUSDT-1h.csv"
expect_rc 0 "$NODERR" evolve --strategy sma_cross --data "$BTC_1H" --json --threads 2 \
    --out "$WORK/best.json"
cp "$OUT" "$WORK/ev2.json"
pycheck "$WORK/ev2.json" '
assert d["bars"] == 35031, d["bars"]
assert d["population"] == 50 and d["generations"] == 100
assert d["best_feasible"] is True
assert d["best_metrics"]["trades"] >= 10, d["best_metrics"]
assert d["best_params"]["fast"] < d["best_params"]["slow"]
assert 0.0 <= d["cache_hit_rate"] < 1.0
print("evolve: %d evaluations in %.2f s (%.0f/s), stop %s at %d, best %s sharpe %.3f" % (
    d["evaluations"], d["timing"]["seconds"], d["timing"]["evaluations_per_second"],
    d["stop_reason"], d["stopped_at_generation"], d["best_params"], d["best_metrics"]["sharpe"]))
'

check "backtest --params reproduces the best Sharpe"
expect_rc 0 "$NODERR" backtest --data "$BTC_1H" --params "$WORK/best.json" --json
python3 - "$OUT" "$WORK/ev2.json" <<'PY' || fail "backtest Sharpe differs from evolve's"
import json, sys
bt, ev = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
m = ev["best_metrics"]
assert abs(bt["sharpe"] - m["sharpe"]) <= 1e-9 * abs(bt["sharpe"]), (bt["sharpe"], m["sharpe"])
assert bt["max_drawdown"] == m["max_drawdown"] and bt["trades"] == m["trades"]
PY

check "--threads 1 gives the same result"
expect_rc 0 "$NODERR" evolve --strategy sma_cross --data "$BTC_1H" --json --threads 1
python3 - "$OUT" "$WORK/ev2.json" <<'PY' || fail "--threads 1 differs from --threads 2"
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
a.pop("timing"); b.pop("timing")
assert a == b
PY

check "parameters are written on their schema's grid (3.6, not 3.6000000000000001) and reproduce"
expect_rc 0 "$NODERR" evolve --strategy mean_reversion --data "$SHARED/data/BTCUSDT-1h.csv" \
    --population 16 --generations 5 --out "$WORK/mr.json" --json
python3 - "$WORK/mr.json" <<'PY' || fail "a parameter is not on its decimal grid"
import json, sys
p = json.load(open(sys.argv[1]))["params"]
for k in ("entry_z", "exit_z"):
    assert round(p[k], 6) == p[k] and len(repr(p[k])) <= 8, (k, p[k])
PY
cp "$OUT" "$WORK/mr-evolve.json"
expect_rc 0 "$NODERR" backtest --data "$SHARED/data/BTCUSDT-1h.csv" --params "$WORK/mr.json" --json
python3 - "$WORK/mr-evolve.json" "$OUT" <<'PY' || fail "the written parameters do not reproduce the evolved Sharpe"
import json, sys
e = json.load(open(sys.argv[1]))["best_metrics"]["sharpe"]
b = json.load(open(sys.argv[2]))["sharpe"]
assert abs(e - b) <= 1e-9 * max(1.0, abs(e)), (e, b)
PY

echo "82_evolve_real_data: all checks passed"
