#!/usr/bin/env bash
# 44_anomaly_cli.sh: `noderr anomaly` (scoring a bar file: summary, warm-up, JSON that replays byte
# for byte, the calibration figures on the shared history) and `backtest --anomaly-threshold`
# (off by default: the run is the run it was; on: an anomaly halt in the text and JSON); every
# input error exits 2 naming the option or FILE:LINE.
source "$(dirname "$0")/lib.sh"

GOOD="$DATA/bars_good.csv"

check "a short bar file: scored, never warm, no trip"
expect_rc 0 "$NODERR" anomaly --data "$GOOD"
stdout_has "warm           0 "
stdout_has "threshold      0.800000: 0 trips"

check "--json replays byte for byte"
expect_rc 0 "$NODERR" anomaly --data "$GOOD" --json --threshold 0.5
cp "$OUT" "$WORK/a.json"
expect_rc 0 "$NODERR" anomaly --data "$GOOD" --json --threshold 0.5
cmp -s "$OUT" "$WORK/a.json" || fail "the same input gave different JSON"
pycheck "$WORK/a.json" "assert d['threshold_e6'] == 500000 and d['trips'] == 0 and d['warm'] == 0"

expect_usage_error "--data FILE is required" "$NODERR" anomaly
expect_usage_error "--threshold" "$NODERR" anomaly --data "$GOOD" --threshold 1.5
expect_usage_error "--threshold" "$NODERR" anomaly --data "$GOOD" --threshold x
expect_usage_error "--warmup 10 must be at least --span 48" "$NODERR" anomaly --data "$GOOD" \
    --warmup 10
expect_usage_error "nope.csv" "$NODERR" anomaly --data "$WORK/nope.csv"
printf 'ts,open,high,low,close,volume\n1577836800000,1,2,0.5,1.5,10\n1577840400000,1,0.5,2,1,1\n' \
    >"$WORK/bad.csv"
expect_usage_error "bad.csv:3" "$NODERR" anomaly --data "$WORK/bad.csv"
expect_usage_error "--anomaly-threshold" "$NODERR" backtest --strategy sma_cross \
    --anomaly-threshold 2

check "backtest: off by default, the same output as before; on, it may halt"
expect_rc 0 "$NODERR" backtest --strategy sma_cross --json
cp "$OUT" "$WORK/off.json"
expect_rc 0 "$NODERR" backtest --strategy sma_cross --json --anomaly-threshold 0
cmp -s "$OUT" "$WORK/off.json" || fail "--anomaly-threshold 0 changed the run"
pycheck "$WORK/off.json" "assert 'anomaly_threshold' not in d['risk_limits']"
expect_rc 0 "$NODERR" backtest --strategy sma_cross --json --anomaly-threshold 0.8 \
    --breaker-reset anomaly=after:6h
pycheck "$OUT" "r = d['risk_limits']
assert r['anomaly_threshold'] == 0.8 and r['anomaly_reset'] == 'after:6h', r"

if have_shared; then
    check "the calibration figures of docs/anomaly.md on the hourly candles"
    expect_rc 0 "$NODERR" anomaly --json --data "$SHARED/data/BTCUSDT-1h.csv" \
        --data "$SHARED/data/ETHUSDT-1h.csv" --data "$SHARED/data/BNBUSDT-1h.csv" \
        --data "$SHARED/data/SOLUSDT-1h.csv"
    pycheck "$OUT" "
assert d['calm_trips'] == 40, d['calm_trips']
assert d['calm_observations'] == 129166, d['calm_observations']
ev = {e['name']: e['first_trip'] for e in d['events']}
assert ev['covid-2020-03-12'] == '2020-03-12T10:00:00Z', ev
assert ev['ftx-2022-11-08'] == '2022-11-08T16:00:00Z', ev
assert ev['2021-05-19'] is None and ev['luna-ust-2022-05'] is None, ev"

    check "backtest on BTCUSDT-1h with the breaker on halts at the COVID hour"
    expect_rc 0 "$NODERR" backtest --data "$SHARED/data/BTCUSDT-1h.csv" --strategy sma_cross \
        --anomaly-threshold 0.8
    stdout_has "halted from 2020-03-12T10:00:00Z by anomaly 95.19% >= 80.00%"

    check "a trades file is cut into buckets"
    expect_rc 0 "$NODERR" anomaly --data "$SHARED/data/BTCUSDT-trades-2021-01-08.csv" \
        --bucket-s 1 --span 5 --warmup 10
    stdout_has "interval 1s"
fi
echo "44_anomaly_cli: ok"
