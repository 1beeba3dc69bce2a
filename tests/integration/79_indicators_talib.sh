#!/usr/bin/env bash
# 79_indicators_talib.sh: `noderr indicator` against TA-Lib itself on the shared BTCUSDT hourly
# candles (35,031 bars), to 1e-9 relative error, default and non-default parameters, warm-up
# included (the empty cells must match TA-Lib's begIndex). TA-Lib is the npm package talib,
# which compiles TA-Lib's C sources with node-gyp (pinned in tests/talib/package-lock.json,
# installed with `npm ci` when missing). Keltner, VWAP and SuperTrend are not in TA-Lib: they
# are checked against the plain Python of tests/talib/reference.py, written from
# docs/indicators.md. Skipped (77) without ../shared, node/npm, or when talib cannot be built.
source "$(dirname "$0")/lib.sh"

have_shared || { echo "SKIP: $SHARED/data absent (the shared candles)"; exit 77; }
BARS="$SHARED/data/BTCUSDT-1h.csv"
TL="$SOURCE_ROOT/tests/talib"
command -v node >/dev/null && command -v npm >/dev/null || { echo "SKIP: node/npm absent"; exit 77; }
if ! (cd "$TL" && node -e 'require("talib")') >/dev/null 2>&1; then
    (cd "$TL" && npm ci --no-audit --no-fund >"$WORK/npm.log" 2>&1) || {
        echo "SKIP: npm ci of talib failed (no registry, or no g++/make/python3 to build it):"
        tail -5 "$WORK/npm.log"; exit 77; }
    # npm may install the package yet skip or fail its native build (install scripts off).
    (cd "$TL" && node -e 'require("talib")') >"$WORK/require.log" 2>&1 || {
        echo "SKIP: talib installed but its native module does not load:"
        tail -5 "$WORK/require.log"; exit 77; }
fi

# compare SOURCE NAME [k=v ...]: ours against the reference (talib or python).
compare() {
    local source="$1" name="$2"
    shift 2
    local args=() kv
    for kv in "$@"; do args+=(--param "$kv"); done
    check "$name $* against $source"
    expect_rc 0 "$NODERR" indicator "$name" --data "$BARS" --csv "${args[@]}"
    cp "$OUT" "$WORK/ours.csv"
    if [ "$source" = talib ]; then
        (cd "$TL" && node reference.js "$BARS" "$name" "$@") >"$WORK/ref.csv" \
            || fail "reference.js $name failed"
    else
        python3 "$TL/reference.py" "$BARS" "$name" "$@" >"$WORK/ref.csv" \
            || fail "reference.py $name failed"
    fi
    python3 "$TL/compare.py" "$WORK/ours.csv" "$WORK/ref.csv" 1e-9 || fail "$name $* differs"
}

compare talib sma
compare talib sma period=20
compare talib ema
compare talib ema period=9
compare talib wma
compare talib wma period=10
compare talib rsi
compare talib rsi period=6
compare talib macd
compare talib macd fast=5 slow=35 signal=5
compare talib bollinger
compare talib bollinger period=20 dev_up=2.5 dev_down=1.5
compare talib atr
compare talib atr period=5
compare talib adx
compare talib adx period=7
compare talib stoch
compare talib stoch fastk_period=14 slowk_period=1 slowd_period=5
compare talib donchian
compare talib donchian period=55
compare talib obv
compare python keltner
compare python keltner period=10 atr_period=14 multiplier=1.5
compare python vwap
compare python supertrend
compare python supertrend period=7 multiplier=2

check "supertrend flips both ways over the file (the comparison covers both branches)"
expect_rc 0 "$NODERR" indicator supertrend --data "$BARS" --csv
grep -q ',1$' "$OUT" && grep -q ',-1$' "$OUT" || fail "direction never flips"

echo "79_indicators_talib: all checks passed"
