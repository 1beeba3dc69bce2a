#!/usr/bin/env bash
# 43_indicator_cli.sh: `noderr indicator`: the series it prints (ts and one column per output,
# empty during warm-up), values checked by hand on the crafted bars, and every input error
# exiting 2 with the option, the name or FILE:LINE in the message.
source "$(dirname "$0")/lib.sh"

GOOD="$DATA/bars_good.csv"

check "help lists every indicator with its defaults and outputs"
expect_rc 0 "$NODERR" indicator --help
for name in sma ema wma rsi macd bollinger atr adx stoch donchian keltner vwap obv supertrend; do
    grep -qE "^  $name " "$OUT" || fail "--help does not list $name"
done
stdout_has "macd        fast=12 slow=26 signal=9  -> macd,signal,histogram"

check "sma period=3 --csv: two empty rows, then the mean of the last three closes"
expect_rc 0 "$NODERR" indicator sma --data "$GOOD" --param period=3 --csv
python3 - "$OUT" "$GOOD" <<'PY' || fail "sma values"
import csv, sys
ours = list(csv.reader(open(sys.argv[1])))
bars = list(csv.reader(open(sys.argv[2])))[1:]
assert ours[0] == ["ts", "value"], ours[0]
assert len(ours) == len(bars) + 1
assert ours[1][1] == "" and ours[2][1] == "" and ours[3][1] != ""
for i in range(2, len(bars)):
    want = sum(float(b[4]) for b in bars[i - 2:i + 1]) / 3
    got = float(ours[i + 1][1])
    assert abs(got - want) <= 1e-9 * want, (i, got, want)
    assert ours[i + 1][0] == bars[i][0]
PY

check "macd: the three outputs start together on bar slow-1 + signal-1"
expect_rc 0 "$NODERR" indicator macd --data "$GOOD" --param fast=3 --param slow=5 \
    --param signal=2 --csv
python3 - "$OUT" <<'PY' || fail "macd warm-up"
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))[1:]
first = [i for i, r in enumerate(rows) if r[1] != ""][0]
assert first == 5 - 1 + 2 - 1, first
assert all(r[1:] == ["", "", ""] for r in rows[:first])
assert all("" not in r for r in rows[first:])
PY

check "the table form prints UTC times and blank cells during warm-up"
expect_rc 0 "$NODERR" indicator rsi --data "$GOOD" --param period=5
head -1 "$OUT" | grep -q "time (UTC)" || fail "no header"
sed -n 2p "$OUT" | grep -qE '^2020-01-01T00:00:00Z +$' || fail "first row not blank: $(sed -n 2p "$OUT")"

expect_usage_error "unknown indicator 'smx'" "$NODERR" indicator smx --data "$GOOD"
expect_usage_error "missing the indicator NAME" "$NODERR" indicator --data "$GOOD"
expect_usage_error "--data FILE is required" "$NODERR" indicator sma
expect_usage_error "--param period=1: parameter 'period' of sma must be in [2, 10000]" \
    "$NODERR" indicator sma --data "$GOOD" --param period=1
expect_usage_error "--param periods=3: unknown parameter 'periods'" \
    "$NODERR" indicator sma --data "$GOOD" --param periods=3
expect_usage_error "fast (30) must be below slow (26)" \
    "$NODERR" indicator macd --data "$GOOD" --param fast=30
expect_usage_error "--format must be auto, csv or kline" \
    "$NODERR" indicator sma --data "$GOOD" --format xml
expect_usage_error "--data given twice" "$NODERR" indicator sma --data "$GOOD" --data "$GOOD"
expect_usage_error "--data $WORK/missing.csv" "$NODERR" indicator sma --data "$WORK/missing.csv"
expect_usage_error "high_below_low.csv:3: high" \
    "$NODERR" indicator atr --data "$DATA/high_below_low.csv"
expect_usage_error "not_a_number.csv:" "$NODERR" indicator obv --data "$DATA/not_a_number.csv"

mkfifo "$WORK/fifo"
expect_usage_error "--data $WORK/fifo: is a FIFO" timeout 20 "$NODERR" indicator sma --data "$WORK/fifo"
expect_usage_error "--data $WORK: is a directory" "$NODERR" indicator sma --data "$WORK"
: >"$WORK/empty.csv"
expect_usage_error "--data $WORK/empty.csv: no bars" "$NODERR" indicator sma --data "$WORK/empty.csv"

echo "43_indicator_cli: all checks passed"
