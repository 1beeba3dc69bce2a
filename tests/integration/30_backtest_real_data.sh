#!/usr/bin/env bash
# 30_backtest_real_data.sh: `noderr backtest` over the real Binance files in ../shared/data
# (skipped when that directory is absent), plus the crafted plain CSV that is always here.
source "$(dirname "$0")/lib.sh"

check "crafted plain CSV (bars_good.csv): 40 hourly bars from 2020-01-01"
expect_rc 0 "$NODERR" backtest --data "$DATA/bars_good.csv" --strategy sma_cross \
    --param fast=3 --param slow=8 --json
pycheck "$OUT" '
assert d["bars"] == 40, d["bars"]
assert d["first_bar"] == "2020-01-01T00:00:00Z", d["first_bar"]
assert d["last_bar"] == "2020-01-02T15:00:00Z", d["last_bar"]
assert d["periods_per_year"] == 8760.0, d["periods_per_year"]
assert d["data"]["kind"] == "file", d["data"]
'

if ! have_shared; then
    echo "SKIP: ../shared absent ($SHARED/data), real-data checks skipped"
    echo "30_backtest_real_data: crafted-data checks passed"
    exit 0
fi

BTC_1H="$SHARED/data/BTCUSDT-1h.csv"
PERP_1M="$SHARED/data/BTCUSDT-PERP-1m-2020-03-12_13.csv"
[ -f "$BTC_1H" ] || fail "$BTC_1H missing from the shared data"
[ -f "$PERP_1M" ] || fail "$PERP_1M missing from the shared data"

check "BTCUSDT-1h.csv: exit 0, 35031 bars from 2020-01-01T00:00:00Z"
expect_rc 0 "$NODERR" backtest --data "$BTC_1H" --strategy sma_cross --json \
    --equity-out "$WORK/equity.csv" --trades-out "$WORK/trades.csv"
cp "$OUT" "$WORK/btc1.json"
pycheck "$WORK/btc1.json" '
assert d["bars"] == 35031, d["bars"]
assert d["first_bar"] == "2020-01-01T00:00:00Z", d["first_bar"]
assert d["last_bar"] == "2023-12-31T23:00:00Z", d["last_bar"]
assert d["periods_per_year"] == 8760.0, d["periods_per_year"]
assert d["data"]["kind"] == "file" and d["data"]["path"].endswith("BTCUSDT-1h.csv"), d["data"]
assert d["trades"] > 0 and d["fills"] >= d["trades"], (d["trades"], d["fills"])
assert math.isfinite(d["sharpe"]) and d["max_drawdown"] <= 0.0
'
[ "$(($(wc -l <"$WORK/equity.csv") - 1))" -eq 35031 ] || fail "equity rows != 35031"
[ "$(($(wc -l <"$WORK/trades.csv") - 1))" -eq "$(json_field "$WORK/btc1.json" trades)" ] ||
    fail "trades rows != JSON trades"
head -2 "$WORK/equity.csv" | tail -1 | grep -q '^1577836800000,' ||
    fail "first equity row is not at 1577836800000 ms"

check "BTCUSDT-1h.csv: a second run gives byte-identical JSON"
expect_rc 0 "$NODERR" backtest --data "$BTC_1H" --strategy sma_cross --json
cmp -s "$OUT" "$WORK/btc1.json" || fail "two runs over BTCUSDT-1h.csv differ"

check "BTCUSDT-1h.csv: --format csv forced gives the same result as auto"
expect_rc 0 "$NODERR" backtest --data "$BTC_1H" --format csv --strategy sma_cross --json
cmp -s "$OUT" "$WORK/btc1.json" || fail "--format csv differs from auto on BTCUSDT-1h.csv"

check "BTCUSDT-1h.csv: the summary names the file and the bar count"
expect_rc 0 "$NODERR" backtest --data "$BTC_1H" --strategy breakout
stdout_has "BTCUSDT-1h.csv"
stdout_has "(35031 bars)"

check "BTCUSDT-PERP-1m-2020-03-12_13.csv: 300 one-minute bars run"
expect_rc 0 "$NODERR" backtest --data "$PERP_1M" --strategy sma_cross --json
cp "$OUT" "$WORK/perp1.json"
pycheck "$WORK/perp1.json" '
assert d["bars"] == 300, d["bars"]
assert d["periods_per_year"] == 525600.0, d["periods_per_year"]
assert d["first_bar"] == "2020-03-12T23:00:00Z", d["first_bar"]
'
expect_rc 0 "$NODERR" backtest --data "$PERP_1M" --strategy sma_cross --json
cmp -s "$OUT" "$WORK/perp1.json" || fail "two runs over the PERP 1m file differ"

for s in ema_momentum mean_reversion breakout; do
    check "$s runs over BTCUSDT-PERP-1m-2020-03-12_13.csv"
    expect_rc 0 "$NODERR" backtest --data "$PERP_1M" --strategy "$s" --json
    pycheck "$OUT" "assert d['bars'] == 300 and d['strategies'][0]['name'] == '$s'"
done

echo "30_backtest_real_data: all checks passed"
