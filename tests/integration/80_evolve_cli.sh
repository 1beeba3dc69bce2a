#!/usr/bin/env bash
# 80_evolve_cli.sh: `noderr evolve` options and outputs on a generated market (a seeded random
# walk written here by python3, so no data file is committed): usage errors exit 2 naming the
# option; --json has the promised keys; --out is accepted by `noderr backtest --params` and
# gives the Sharpe evolve reported; the Pareto CSV, history CSV and HTML report agree with the
# JSON and the report loads nothing from outside.
source "$(dirname "$0")/lib.sh"

# gen_bars FILE N: N hourly bars from 2020-01-01, a trending random walk from a fixed LCG.
gen_bars() {
    python3 - "$1" "$2" <<'PY'
import sys
path, n = sys.argv[1], int(sys.argv[2])
state, px = 12345, 10000.0
with open(path, "w") as f:
    f.write("ts,open,high,low,close,volume\n")
    for i in range(n):
        state = (state * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        u = (state >> 11) / float(1 << 53)
        # Regimes of 300 bars drifting up or down make moving averages matter.
        drift = 0.002 if (i // 300) % 2 == 0 else -0.0015
        close = px * (1.0 + drift + (u - 0.5) * 0.02)
        hi, lo = max(px, close) * 1.002, min(px, close) * 0.998
        f.write("%d,%.2f,%.2f,%.2f,%.2f,%.5f\n" % (1577836800000 + i * 3600000, px, hi, lo, close, 10 + u))
        px = close
PY
}
BARS="$WORK/bars.csv"
gen_bars "$BARS" 3000

check "usage errors"
expect_usage_error "--strategy NAME is required" "$NODERR" evolve --data "$BARS"
expect_usage_error "give --data FILE or --scenario NAME" "$NODERR" evolve --strategy sma_cross
expect_usage_error "unknown strategy 'nope'" "$NODERR" evolve --strategy nope --data "$BARS"
expect_usage_error "unknown objective 'alpha'" "$NODERR" evolve --strategy sma_cross \
    --data "$BARS" --objectives sharpe,alpha
expect_usage_error "one weight per objective" "$NODERR" evolve --strategy sma_cross \
    --data "$BARS" --objectives sharpe,win_rate --weights 1
expect_usage_error "--walk-forward" "$NODERR" evolve --strategy sma_cross --data "$BARS" \
    --walk-forward 180x:60d
expect_usage_error "--population" "$NODERR" evolve --strategy sma_cross --data "$BARS" \
    --population 2
expect_usage_error "$WORK/missing.csv" "$NODERR" evolve --strategy sma_cross \
    --data "$WORK/missing.csv"
expect_usage_error "shorter than one training plus test window" "$NODERR" evolve \
    --strategy sma_cross --data "$BARS" --walk-forward 2000:2000
expect_rc 0 "$NODERR" evolve --help
stdout_has "usage: noderr evolve"

check "a Pareto run with every output"
expect_rc 0 "$NODERR" evolve --strategy sma_cross --data "$BARS" --population 30 \
    --generations 30 --seed 5 --threads 2 --json --out "$WORK/best.json" \
    --pareto-csv "$WORK/front.csv" --history-csv "$WORK/history.csv" --report "$WORK/r.html"
cp "$OUT" "$WORK/evolve.json"
pycheck "$WORK/evolve.json" '
for k in ("best_params", "best_fitness", "generations_run", "evaluations", "stop_reason",
          "stopped_at_generation", "pareto_front", "cache_hit_rate", "timing"):
    assert k in d, k
assert d["mode"] == "pareto" and d["objectives"] == ["sharpe", "max_drawdown", "win_rate",
                                                     "profit_factor"], d["objectives"]
assert d["stop_reason"] in ("max_generations", "no_improvement", "diversity_collapse")
assert 1 <= d["generations_run"] <= 30
assert d["stopped_at_generation"] == d["generations_run"]
assert d["evaluations"] <= d["lookups"] == 30 + 30 * d["generations_run"]
p = d["best_params"]
assert p["fast"] < p["slow"], p
assert len(d["pareto_front"]) >= 1
front = d["pareto_front"]
for e in front:
    assert e["params"]["fast"] < e["params"]["slow"], e
# No front member dominates another (all objectives are maximised as reported).
feasible = [e for e in front if e["feasible"]]
for a in feasible:
    for b in feasible:
        av, bv = list(a["objectives"].values()), list(b["objectives"].values())
        assert not (all(x >= y for x, y in zip(av, bv)) and any(x > y for x, y in zip(av, bv))), (a, b)
assert d["best_params"] == front[0]["params"]
assert d["best_fitness"] == front[0]["objectives"]["sharpe"], "Pareto best = best Sharpe"
'
pycheck "$WORK/best.json" '
assert d["strategy"] == "sma_cross" and set(d["params"]) == {"fast", "slow"}, d
assert all(isinstance(v, int) for v in d["params"].values()), d
'
[ "$(($(wc -l <"$WORK/front.csv") - 1))" -eq "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["pareto_front"]))' "$WORK/evolve.json")" ] ||
    fail "front.csv rows != pareto_front"
head -1 "$WORK/front.csv" | grep -qx 'index,fast,slow,sharpe,max_drawdown,win_rate,profit_factor,score,feasible' ||
    fail "front.csv header"
head -1 "$WORK/history.csv" | grep -qx 'generation,best,mean,diversity,mutation_rate,hypervolume,evaluations,lookups' ||
    fail "history.csv header"
[ "$(($(wc -l <"$WORK/history.csv") - 1))" -eq "$(($(json_field "$WORK/evolve.json" generations_run) + 1))" ] ||
    fail "history.csv rows != generations_run + 1"
grep -q '<svg class="plot" id="pf-plot"' "$WORK/r.html" || fail "report has no Pareto chart"
grep -q 'Pareto front' "$WORK/r.html" || fail "report has no Pareto section"
grep -q 'id="conv-plot"' "$WORK/r.html" || fail "report has no convergence chart"
grep -q '<meta name="viewport"' "$WORK/r.html" || fail "report has no viewport"
# Self-contained like every report (docs/reports.md): scripts and style inlined, no element
# loading anything by src or href.
python3 - "$WORK/r.html" <<'EOF' || fail "report loads outside resources"
import re, sys
page = open(sys.argv[1], encoding="utf-8").read()
for t in re.findall(r"<(?:script|link|img|iframe|style)\b[^>]*>", page, re.I):
    assert not re.search(r"\b(src|href)\s*=", t, re.I), t
assert page.count("</script>") == 3, page.count("</script>")
EOF

check "noderr backtest --params FILE reproduces the evolved Sharpe"
expect_rc 0 "$NODERR" backtest --data "$BARS" --params "$WORK/best.json" --json
python3 - "$OUT" "$WORK/evolve.json" <<'PY' || fail "backtest Sharpe differs from evolve's"
import json, sys
bt, ev = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
m = ev["best_metrics"]
assert abs(bt["sharpe"] - m["sharpe"]) <= 1e-9 * abs(bt["sharpe"]), (bt["sharpe"], m["sharpe"])
assert bt["max_drawdown"] == m["max_drawdown"], (bt["max_drawdown"], m["max_drawdown"])
assert bt["trades"] == m["trades"], (bt["trades"], m["trades"])
PY

check "weighted mode with weights, text summary"
expect_rc 0 "$NODERR" evolve --strategy sma_cross --data "$BARS" --population 20 \
    --generations 10 --mode weighted --objectives sharpe,max_drawdown --weights 1,2
stdout_has "weighted mode"
stdout_has "best params: fast="
stdout_has "cache hit rate"

check "--scenario: an unknown name exits 2; a synthetic scenario runs when the catalogue is built"
expect_usage_error "--scenario" "$NODERR" evolve --strategy sma_cross --scenario no-such-scenario
run "$NODERR" scenarios
if [ "$RC" -eq 0 ] && grep -q flash-crash "$OUT"; then
    expect_rc 0 "$NODERR" evolve --strategy sma_cross --scenario flash-crash --population 12 \
        --generations 4 --json
    pycheck "$OUT" 'assert d["data"] == "flash-crash" and d["bars"] > 100, (d["data"], d["bars"])'
else
    echo "note: scenario catalogue not in this build, synthetic scenario run skipped"
fi

echo "80_evolve_cli: all checks passed"
