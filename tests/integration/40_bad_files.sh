#!/usr/bin/env bash
# 40_bad_files.sh: `noderr backtest --data` on crafted good and bad bar files. Every bad file
# exits 2 and its stderr names the file, and the line for a bad row ("FILE:LINE:").
source "$(dirname "$0")/lib.sh"

# bad_file FILE EXPECTED_PREFIX [WHY]: exit 2, stderr holds EXPECTED_PREFIX (file[:line:]) and
# WHY when given.
bad_file() {
    local file="$1" prefix="$2" why="${3:-}"
    # shellcheck disable=SC2016 # the quotes are literal text inside ${why:+...}
    check "$file: exit 2 naming '$prefix'${why:+ and '$why'}"
    expect_rc 2 "$NODERR" backtest --data "$DATA/$file" --strategy sma_cross --json
    grep -qF -- "$DATA/$prefix" "$ERR" || fail "stderr does not name '$DATA/$prefix'"
    [ -z "$why" ] || grep -qF -- "$why" "$ERR" || fail "stderr does not say '$why'"
    [ ! -s "$OUT" ] || fail "$file: a failed run printed JSON on stdout"
}

bad_file missing.csv "missing.csv" "No such file"
bad_file empty.csv "empty.csv" "no bars"
bad_file header_only.csv "header_only.csv" "no bars"
bad_file wrong_header.csv "wrong_header.csv:1:" "header"
bad_file no_header.csv "no_header.csv:1:"
bad_file five_columns.csv "five_columns.csv:3:" "expected 6 columns, found 5"
bad_file not_a_number.csv "not_a_number.csv:4:" "abc"
bad_file high_below_low.csv "high_below_low.csv:3:" "below low"
bad_file time_backwards.csv "time_backwards.csv:4:" "before previous"
bad_file duplicate_time.csv "duplicate_time.csv:4:" "duplicate time"
bad_file too_many_decimals.csv "too_many_decimals.csv:3:" "decimals"
bad_file negative_volume.csv "negative_volume.csv:4:" "volume"
bad_file crlf_bad.csv "crlf_bad.csv:3:" "expected 6 columns, found 5"
bad_file kline_11_columns.csv "kline_11_columns.csv:3:" "expected 12 columns, found 11"

check "the data directory itself is not a bar file"
expect_rc 2 "$NODERR" backtest --data "$DATA" --strategy sma_cross
grep -qF -- "$DATA" "$ERR" || fail "stderr does not name the directory"

check "--format kline on a plain CSV and --format csv on a kline file are refused at line 1"
expect_rc 2 "$NODERR" backtest --data "$DATA/bars_good.csv" --format kline --strategy sma_cross
grep -qF -- "$DATA/bars_good.csv:1:" "$ERR" || fail "forced kline: no bars_good.csv:1:"
expect_rc 2 "$NODERR" backtest --data "$DATA/kline_ms.csv" --format csv --strategy sma_cross
grep -qF -- "$DATA/kline_ms.csv:1:" "$ERR" || fail "forced csv: no kline_ms.csv:1:"

# Good files. The JSON of two runs over the same bars differs only in data.path.
strip_path() {
    python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
del d["data"]["path"]
print(json.dumps(d, sort_keys=True))' "$1"
}
run_json() { # FILE OUT_JSON [extra options]
    local file="$1" out="$2"
    shift 2
    expect_rc 0 "$NODERR" backtest --data "$DATA/$file" --strategy sma_cross \
        --param fast=3 --param slow=8 --json "$@"
    cp "$OUT" "$out"
}

check "Binance kline file without header (12 columns, ms timestamps) runs"
run_json kline_ms.csv "$WORK/ms.json"
pycheck "$WORK/ms.json" '
assert d["bars"] == 80, d["bars"]
assert d["first_bar"] == "2020-01-01T00:00:00Z", d["first_bar"]
assert d["last_bar"] == "2020-01-04T07:00:00Z", d["last_bar"]
assert d["periods_per_year"] == 8760.0, d["periods_per_year"]
assert d["fills"] > 0, "the crafted kline series should trade"
'
check "kline with --format kline forced gives the same JSON"
run_json kline_ms.csv "$WORK/ms_forced.json" --format kline
cmp -s "$WORK/ms.json" "$WORK/ms_forced.json" || fail "--format kline differs from auto"

check "kline file with microsecond timestamps gives the same bars as the ms one"
run_json kline_us.csv "$WORK/us.json"
[ "$(strip_path "$WORK/ms.json")" = "$(strip_path "$WORK/us.json")" ] ||
    fail "kline_us.csv and kline_ms.csv give different results"
check "the ms and us runs differ only by the data path (it is reported)"
cmp -s "$WORK/ms.json" "$WORK/us.json" && fail "data.path does not name the file"
pycheck "$WORK/us.json" 'assert d["data"]["path"].endswith("kline_us.csv"), d["data"]'

check "kline file with the open_time header gives the same bars"
run_json kline_header.csv "$WORK/hdr.json"
[ "$(strip_path "$WORK/ms.json")" = "$(strip_path "$WORK/hdr.json")" ] ||
    fail "kline_header.csv and kline_ms.csv give different results"

check "equity CSV of the ms and us klines are identical (same timestamps in ms)"
expect_rc 0 "$NODERR" backtest --data "$DATA/kline_ms.csv" --strategy sma_cross \
    --equity-out "$WORK/eq_ms.csv"
expect_rc 0 "$NODERR" backtest --data "$DATA/kline_us.csv" --strategy sma_cross \
    --equity-out "$WORK/eq_us.csv"
cmp -s "$WORK/eq_ms.csv" "$WORK/eq_us.csv" || fail "equity CSVs of ms and us klines differ"
[ "$(sed -n 2p "$WORK/eq_us.csv" | cut -d, -f1)" = 1577836800000 ] ||
    fail "equity ts of the us kline is not in ms"

check "CRLF line endings give the same bars as LF"
run_json bars_good.csv "$WORK/lf.json"
run_json bars_crlf.csv "$WORK/crlf.json"
[ "$(strip_path "$WORK/lf.json")" = "$(strip_path "$WORK/crlf.json")" ] ||
    fail "bars_crlf.csv and bars_good.csv give different results"

echo "40_bad_files: all checks passed"
