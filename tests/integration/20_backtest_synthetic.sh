#!/usr/bin/env bash
# 20_backtest_synthetic.sh: `noderr backtest` over the seeded synthetic market: JSON keys,
# bar counts, determinism, the CSV outputs, every built-in strategy and the circuit breakers.
source "$(dirname "$0")/lib.sh"

check "default synthetic run prints a summary and exits 0"
expect_rc 0 "$NODERR" backtest --strategy sma_cross
stdout_has "synthetic market"
stdout_has "(10000 bars)"
stdout_has "seed 42"
stdout_has "total return"

check "--json has every documented key, bars == 10000 by default"
expect_rc 0 "$NODERR" backtest --strategy sma_cross --json
cp "$OUT" "$WORK/a.json"
pycheck "$WORK/a.json" '
keys = ["bars", "trades", "fills", "final_equity", "total_return", "annual_return", "sharpe",
        "sortino", "max_drawdown", "calmar", "var", "cvar", "win_rate", "profit_factor", "fees",
        "breaker_events"]
missing = [k for k in keys if k not in d]
assert not missing, "missing keys: %s" % missing
assert d["bars"] == 10000, d["bars"]
assert isinstance(d["trades"], int) and d["trades"] >= 0
assert isinstance(d["fills"], int) and d["fills"] >= d["trades"]
assert isinstance(d["breaker_events"], list)
assert d["data"]["kind"] == "synthetic" and d["data"]["seed"] == 42, d["data"]
assert d["max_drawdown"] <= 0.0, d["max_drawdown"]
assert d["fees"] >= 0.0
assert d["initial_cash"] == 10000.0, d["initial_cash"]
assert abs(d["total_return"] - (d["final_equity"] / d["initial_cash"] - 1.0)) < 1e-9
assert d["win_rate"] is None or 0.0 <= d["win_rate"] <= 1.0
'

check "two runs give byte-identical JSON"
expect_rc 0 "$NODERR" backtest --strategy sma_cross --json
cmp -s "$OUT" "$WORK/a.json" || fail "two identical runs gave different JSON"

check "--seed 42 given explicitly is the default"
expect_rc 0 "$NODERR" backtest --strategy sma_cross --seed 42 --json
cmp -s "$OUT" "$WORK/a.json" || fail "--seed 42 differs from the default seed"

check "a different --seed gives different JSON and records the seed"
expect_rc 0 "$NODERR" backtest --strategy sma_cross --seed 7 --json
cmp -s "$OUT" "$WORK/a.json" && fail "--seed 7 gave the same JSON as seed 42"
pycheck "$OUT" 'assert d["data"]["seed"] == 7 and d["bars"] == 10000, d["data"]'

for n in 1 2 777; do
    check "--bars $n gives bars == $n"
    expect_rc 0 "$NODERR" backtest --strategy sma_cross --bars "$n" --json
    pycheck "$OUT" "assert d['bars'] == $n, d['bars']"
done

check "--trades-out and --equity-out write CSVs whose rows match the JSON"
expect_rc 0 "$NODERR" backtest --strategy sma_cross --bars 3000 --json \
    --trades-out "$WORK/trades.csv" --equity-out "$WORK/equity.csv"
cp "$OUT" "$WORK/b.json"
python3 - "$WORK/b.json" "$WORK/trades.csv" "$WORK/equity.csv" <<'EOF' || fail "CSV outputs"
import csv, json, sys
from decimal import Decimal
d = json.load(open(sys.argv[1]), parse_float=Decimal)
with open(sys.argv[2]) as fh:
    header = fh.readline().strip()
    assert header == ("strategy,symbol,direction,entry_ts,exit_ts,qty,entry_px,exit_px,"
                      "pnl,fees"), header
    fh.seek(0)
    trades = list(csv.DictReader(fh))
with open(sys.argv[3]) as fh:
    header = fh.readline().strip()
    assert header == "ts,equity", header
    fh.seek(0)
    equity = list(csv.DictReader(fh))
assert d["bars"] == 3000
assert len(equity) == d["bars"], (len(equity), d["bars"])
assert len(trades) == d["trades"], (len(trades), d["trades"])
assert d["trades"] > 0, "expected at least one round trip in 3000 bars"
ts = [int(r["ts"]) for r in equity]
assert all(b > a for a, b in zip(ts, ts[1:])), "equity ts not strictly increasing"
assert Decimal(equity[0]["equity"]) == Decimal("10000"), equity[0]
assert Decimal(equity[-1]["equity"]) == Decimal(d["final_equity_exact"]), \
    (equity[-1], d["final_equity_exact"])
for t in trades:
    assert t["strategy"] == "sma_cross" and t["symbol"] == "BTC/USDT", t
    assert t["direction"] == "long", t
    assert int(t["entry_ts"]) <= int(t["exit_ts"]), t
    assert Decimal(t["qty"]) > 0 and Decimal(t["fees"]) >= 0, t
# Round-trip pnl is net of its fees: sum(pnl) == realized - sum(fees), exactly.
pnl = d["strategies"][0]["pnl"]
s_pnl = sum(Decimal(t["pnl"]) for t in trades)
s_fee = sum(Decimal(t["fees"]) for t in trades)
assert s_pnl == pnl["realized"] - s_fee, (s_pnl, pnl["realized"], s_fee)
# Accounting identity, exact: equity = cash0 + realized + unrealized - fees.
fin = Decimal(d["final_equity_exact"])
assert fin == d["initial_cash"] + pnl["realized"] + pnl["unrealized"] - Decimal(d["fees_exact"]), \
    (fin, pnl, d["fees_exact"])
# A round trip's win/loss matches win_rate.
wins = sum(1 for t in trades if Decimal(t["pnl"]) > 0)
assert abs(float(d["win_rate"]) - wins / len(trades)) < 1e-12, (d["win_rate"], wins, len(trades))
EOF
cp "$WORK/trades.csv" "$WORK/trades1.csv"
cp "$WORK/equity.csv" "$WORK/equity1.csv"
expect_rc 0 "$NODERR" backtest --strategy sma_cross --bars 3000 \
    --trades-out "$WORK/trades.csv" --equity-out "$WORK/equity.csv"
cmp -s "$WORK/trades.csv" "$WORK/trades1.csv" || fail "trades CSV differs between runs"
cmp -s "$WORK/equity.csv" "$WORK/equity1.csv" || fail "equity CSV differs between runs"

for s in sma_cross ema_momentum mean_reversion breakout; do
    check "strategy $s runs (JSON and summary) with its default parameters"
    expect_rc 0 "$NODERR" backtest --strategy "$s"
    stdout_has "$s"
    expect_rc 0 "$NODERR" backtest --strategy "$s" --json --equity-out "$WORK/eq_$s.csv"
    pycheck "$OUT" "
s = d['strategies'][0]
assert s['name'] == '$s', s
assert d['bars'] == 10000
assert d['fills'] >= d['trades'] >= 0
assert math.isfinite(d['final_equity']) and d['final_equity'] > 0
"
    [ "$(($(wc -l <"$WORK/eq_$s.csv") - 1))" -eq 10000 ] || fail "$s: equity rows != bars"
done

check "two strategies share the account: both reported"
expect_rc 0 "$NODERR" backtest --strategy sma_cross:0.5 --strategy breakout:0.5 --bars 2000 --json
pycheck "$OUT" '
names = [s["name"] for s in d["strategies"]]
assert names == ["sma_cross", "breakout"], names
'

expect_usage_error "weights" "$NODERR" backtest --strategy sma_cross:0.6 --strategy breakout:0.6

check "--max-drawdown-pct 0 --daily-loss-pct 0 turns both breakers off"
expect_rc 0 "$NODERR" backtest --strategy sma_cross --max-drawdown-pct 0 --daily-loss-pct 0 \
    --json
pycheck "$OUT" '
rl = d["risk_limits"]
assert rl["max_drawdown_pct"] == "off", rl
assert rl["daily_loss_pct"] == "off", rl
assert d["breaker_events"] == [], d["breaker_events"]
assert "halted" not in d.get("rejects", {}), d.get("rejects")
'
expect_rc 0 "$NODERR" backtest --strategy sma_cross --max-drawdown-pct 0 --daily-loss-pct 0
stdout_has "off"

check "default limits are reported as numbers"
pycheck "$WORK/a.json" '
rl = d["risk_limits"]
assert rl["max_drawdown_pct"] == 12.0 and rl["daily_loss_pct"] == 5.0, rl
assert rl["max_position_pct"] == 25.0, rl
'

check "a very tight drawdown breaker (--max-drawdown-pct 1) trips"
expect_rc 0 "$NODERR" backtest --strategy sma_cross --max-drawdown-pct 1 --json
pycheck "$OUT" '
ev = d["breaker_events"]
assert len(ev) >= 1, "no breaker event with --max-drawdown-pct 1"
e = ev[0]
for k in ("type", "ts", "equity", "threshold_pct", "measured_pct"):
    assert k in e, (k, e)
assert e["type"] == "drawdown", e
assert e["threshold_pct"] == 1.0, e
assert e["measured_pct"] >= e["threshold_pct"], e
assert d["risk_limits"]["max_drawdown_pct"] == 1.0
# measured is the drop from the reference (peak) equity, in percent, to 4 decimals.
if "reference_equity" in e:
    drop = (e["reference_equity"] - e["equity"]) / e["reference_equity"] * 100.0
    assert abs(drop - e["measured_pct"]) < 1e-3, (drop, e)
assert len(e["ts"]) == 20 and e["ts"].endswith("Z"), e["ts"]
assert d["first_bar"] <= e["ts"] <= d["last_bar"], e["ts"]
'
expect_rc 0 "$NODERR" backtest --strategy sma_cross --max-drawdown-pct 1
stdout_has "breaker drawdown"

echo "20_backtest_synthetic: all checks passed"
