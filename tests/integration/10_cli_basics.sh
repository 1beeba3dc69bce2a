#!/usr/bin/env bash
# 10_cli_basics.sh: exit codes, help texts and option errors of the `noderr` command.
# Usage errors must exit 2 with a stderr message that names the offending option or value.
source "$(dirname "$0")/lib.sh"

check "no arguments: exit 2 with the usage on stderr"
expect_rc 2 "$NODERR"
grep -qF "usage: noderr" "$ERR" || fail "no usage on stderr without arguments"
[ ! -s "$OUT" ] || fail "nothing should go to stdout without arguments"

check "--help: exit 0, usage on stdout listing every command"
expect_rc 0 "$NODERR" --help
for word in "usage: noderr" backtest metrics strategies; do stdout_has "$word"; done

check "--version: exit 0"
expect_rc 0 "$NODERR" --version
stdout_has "noderr "

for cmd in backtest metrics strategies; do
    check "noderr $cmd --help: exit 0, usage on stdout"
    expect_rc 0 "$NODERR" "$cmd" --help
    stdout_has "usage: noderr $cmd"
    [ ! -s "$ERR" ] || fail "noderr $cmd --help wrote to stderr"
done
check "noderr backtest --help documents its main options"
expect_rc 0 "$NODERR" backtest --help
for opt in --data --strategy --param --sizing --cash --fee-bps --max-drawdown-pct \
    --daily-loss-pct --seed --bars --json --trades-out --equity-out; do
    stdout_has "$opt"
done
check "noderr metrics --help documents its options"
expect_rc 0 "$NODERR" metrics --help
for opt in --returns --periods-per-year --risk-free --cutoff --json; do stdout_has "$opt"; done

check "noderr strategies lists the four built-ins, as text and as JSON"
expect_rc 0 "$NODERR" strategies
for s in sma_cross ema_momentum mean_reversion breakout; do stdout_has "$s"; done
expect_rc 0 "$NODERR" strategies --json
pycheck "$OUT" '
names = [s["name"] for s in d["strategies"]]
assert names == ["sma_cross", "ema_momentum", "mean_reversion", "breakout"], names
for s in d["strategies"]:
    assert s["summary"], s
    for p in s["params"]:
        assert p["type"] in ("int", "real", "choice"), p
        if p["type"] != "choice":
            assert p["min"] <= p["default"] <= p["max"], p
sma = {p["name"]: p for p in d["strategies"][0]["params"]}
assert sma["fast"]["type"] == "int" and sma["fast"]["min"] == 2 and sma["fast"]["max"] == 1000
'
cp "$OUT" "$WORK/strategies1.json"
expect_rc 0 "$NODERR" strategies --json
cmp -s "$OUT" "$WORK/strategies1.json" || fail "noderr strategies --json is not reproducible"

# --- usage errors: exit 2 and a message naming the option. ---
expect_usage_error "frobnicate" "$NODERR" frobnicate
expect_usage_error "--bogus" "$NODERR" backtest --strategy sma_cross --bogus
expect_usage_error "--bogus" "$NODERR" metrics --returns x --bogus
expect_usage_error "--bogus" "$NODERR" strategies --bogus
expect_usage_error "--bars" "$NODERR" backtest --strategy sma_cross --bars
expect_usage_error "extra" "$NODERR" backtest --strategy sma_cross extra
expect_usage_error "--strategy" "$NODERR" backtest
expect_usage_error "--strategy" "$NODERR" backtest --bars 100 --json
expect_usage_error "nosuch" "$NODERR" backtest --strategy nosuch
expect_usage_error "--strategy" "$NODERR" backtest --strategy nosuch
expect_usage_error "--strategy" "$NODERR" backtest --strategy ":2"
expect_usage_error "--param" "$NODERR" backtest --param fast=3 --strategy sma_cross

# Bad --param values: unknown name, out of bounds, non-integer for an int, not a number.
expect_usage_error "bogus" "$NODERR" backtest --strategy sma_cross --param bogus=3
expect_usage_error "--param" "$NODERR" backtest --strategy sma_cross --param bogus=3
expect_usage_error "fast" "$NODERR" backtest --strategy sma_cross --param fast=1
expect_usage_error "fast" "$NODERR" backtest --strategy sma_cross --param fast=1001
expect_usage_error "slow" "$NODERR" backtest --strategy sma_cross --param slow=99999
expect_usage_error "fast" "$NODERR" backtest --strategy sma_cross --param fast=2.5
expect_usage_error "fast" "$NODERR" backtest --strategy sma_cross --param fast=abc
expect_usage_error "entry_z" "$NODERR" backtest --strategy mean_reversion --param entry_z=0.05
expect_usage_error "threshold" "$NODERR" backtest --strategy ema_momentum --param threshold=2
expect_usage_error "--param" "$NODERR" backtest --strategy sma_cross --param fast

check "--param on the strategy named just before it (the other keeps its schema)"
expect_rc 0 "$NODERR" backtest --strategy sma_cross --param fast=5 --bars 200 --json
pycheck "$OUT" '
assert d["strategies"][0]["params"] == {"fast": 5, "slow": 30}, d["strategies"][0]["params"]
'

# Bad sizing, money and percentages.
expect_usage_error "--sizing" "$NODERR" backtest --strategy sma_cross --sizing bogus:3
expect_usage_error "--sizing" "$NODERR" backtest --strategy sma_cross --sizing percent:0
expect_usage_error "--sizing" "$NODERR" backtest --strategy sma_cross --sizing percent:101
expect_usage_error "--sizing" "$NODERR" backtest --strategy sma_cross --sizing fixed:-1
expect_usage_error "--sizing" "$NODERR" backtest --strategy sma_cross --sizing fixed:abc
expect_usage_error "--cash" "$NODERR" backtest --strategy sma_cross --cash -5
expect_usage_error "--cash" "$NODERR" backtest --strategy sma_cross --cash 0
expect_usage_error "--cash" "$NODERR" backtest --strategy sma_cross --cash 1e5
expect_usage_error "--fee-bps" "$NODERR" backtest --strategy sma_cross --fee-bps abc
expect_usage_error "--fee-bps" "$NODERR" backtest --strategy sma_cross --fee-bps -1
expect_usage_error "--fee-bps" "$NODERR" backtest --strategy sma_cross --fee-bps 1.234
expect_usage_error "--max-drawdown-pct" "$NODERR" backtest --strategy sma_cross \
    --max-drawdown-pct 101
expect_usage_error "--daily-loss-pct" "$NODERR" backtest --strategy sma_cross \
    --daily-loss-pct x
expect_usage_error "--seed" "$NODERR" backtest --strategy sma_cross --seed -1
expect_usage_error "--bars" "$NODERR" backtest --strategy sma_cross --bars 0
expect_usage_error "--bars" "$NODERR" backtest --strategy sma_cross --bars 10x
expect_usage_error "--format" "$NODERR" backtest --strategy sma_cross --format xml
expect_usage_error "--symbol" "$NODERR" backtest --strategy sma_cross --symbol foo
check "--symbol ETHUSDT is split into ETH/USDT"
expect_rc 0 "$NODERR" backtest --strategy sma_cross --symbol ETHUSDT --bars 10 --json
pycheck "$OUT" 'assert d["data"]["symbol"] == "ETH/USDT", d["data"]'
expect_usage_error "--log-level" "$NODERR" backtest --strategy sma_cross --log-level loud
expect_usage_error "--periods-per-year" "$NODERR" backtest --strategy sma_cross \
    --periods-per-year 0
expect_usage_error "--trades-out" "$NODERR" backtest --strategy sma_cross --bars 10 \
    --trades-out "$WORK/no/such/dir/trades.csv"

# metrics option errors.
expect_usage_error "--returns" "$NODERR" metrics
expect_usage_error "--periods-per-year" "$NODERR" metrics --returns x --periods-per-year 0
expect_usage_error "--cutoff" "$NODERR" metrics --returns x --cutoff 2
expect_usage_error "--risk-free" "$NODERR" metrics --returns x --risk-free nan

echo "10_cli_basics: all checks passed"
