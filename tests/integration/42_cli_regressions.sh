#!/usr/bin/env bash
# 42_cli_regressions.sh: the CLI faults of issue 10, one check each: walk-forward spans that
# overflowed (evolve aborted on an assertion), validate passing when no scenario ran, messages
# that misled (--params FILE:-1:, jansson's flag names, --bars named as an internal sum), and
# the -h/--help/--json options that every command now parses the same way.
source "$(dirname "$0")/lib.sh"

python3 - "$WORK/bars.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("ts,open,high,low,close,volume\n")
    for i in range(200):
        c = 100 + i % 7
        f.write("%d,%d,%d,%d,%d,5\n" % (1577836800000 + i * 3600000, c, c + 1, c - 1, c))
PY
EVO=("$NODERR" evolve --strategy sma_cross --data "$WORK/bars.csv" --population 4
     --generations 1 --threads 1)

# 1. One overflow-checked span parser; out of range is exit 2 naming the option and why.
for cmd in evolve validate; do
    if [ "$cmd" = evolve ]; then pre=("${EVO[@]}"); else
        pre=("$NODERR" validate --strategy sma_cross --scenario flash-crash); fi
    expect_usage_error "--walk-forward: training span '99999d' is longer than 100 years" \
        "${pre[@]}" --walk-forward 99999d:1d
    expect_usage_error "--walk-forward: training span '100000w' is longer than 100 years" \
        "${pre[@]}" --walk-forward 100000w:1w
    expect_usage_error "--walk-forward: test span '99999d' is longer than 100 years" \
        "${pre[@]}" --walk-forward 1d:99999d
    expect_usage_error "--walk-forward: training span '99999999999999999999d' is longer" \
        "${pre[@]}" --walk-forward 99999999999999999999d:1d
    expect_usage_error "--walk-forward: test span '0d' must be positive" \
        "${pre[@]}" --walk-forward 1d:0d
    expect_usage_error "--walk-forward: '90x:1d' is not TRAIN:TEST such as 90d:30d" \
        "${pre[@]}" --walk-forward 90x:1d
done
expect_usage_error "--walk-forward: training span '9223372036854775807' is more than 100000000 bars" \
    "${EVO[@]}" --walk-forward 9223372036854775807:1
# The longest spans allowed parse, and simply do not fit 200 hourly bars.
expect_usage_error "is shorter than one training plus test window" \
    "${EVO[@]}" --walk-forward 36525d:36525d
expect_usage_error "is shorter than one training plus test window" \
    "${EVO[@]}" --walk-forward 100000000:100000000
check "a fitting walk-forward still runs"
expect_rc 0 "${EVO[@]}" --walk-forward 100:50
stdout_has "2 windows"

# 4. A validation in which no scenario ran is not a pass.
printf '{"include_builtins": false, "scenarios": []}' >"$WORK/none.json"
check "validate with a config holding no scenario: exit 1, saying why"
expect_rc 1 "$NODERR" validate --strategy sma_cross --config "$WORK/none.json"
grep -qF "no scenario ran: the catalogue holds no scenario" "$ERR" || fail "no reason given"
check "validate where every scenario is skipped for missing data: exit 1, saying why"
mkdir -p "$WORK/nodata"
expect_rc 1 "$NODERR" validate --strategy sma_cross --data-dir "$WORK/nodata" --scenario bull-2021
grep -qF "no scenario ran: every selected scenario was skipped for missing data" "$ERR" ||
    fail "no reason given"
check "the JSON says it too"
expect_rc 1 "$NODERR" validate --strategy sma_cross --config "$WORK/none.json" --json
pycheck "$OUT" 'assert d["passed"] == 0 and "no_scenario_ran" in d, d'

# 5. Messages that name the input and why.
expect_usage_error "noderr: --params /nonexistent.json: No such file or directory" \
    "$NODERR" backtest --strategy sma_cross --params /nonexistent.json
grep -qF ":-1:" "$ERR" && fail "a line number -1 in the message"
printf '{"fast": "5\\u0000"}' >"$WORK/nul.json"
expect_usage_error "\\u0000 (a NUL character) is not allowed in a string" \
    "$NODERR" backtest --strategy sma_cross --params "$WORK/nul.json"
grep -qF "JSON_ALLOW_NUL" "$ERR" && fail "jansson's flag name in the message"
expect_usage_error "noderr: --bars: 100000000 is outside [1, 2000000]" \
    "$NODERR" backtest --strategy sma_cross --bars 100000000
grep -qF "start_ns" "$ERR" && fail "an internal sum named instead of the option"
printf 'ts,open,high,low,close,volume\n1577836800000,1\0,1,1,1,1\n' >"$WORK/nul.csv"
expect_usage_error "open: malformed number '1\\x00'" \
    "$NODERR" backtest --strategy sma_cross --data "$WORK/nul.csv"
printf '\xef\xbb\xbf0.01\n0.02\n' >"$WORK/bom.csv"
check "a leading byte order mark is skipped, not quoted as a bad character"
expect_rc 0 "$NODERR" metrics --returns "$WORK/bom.csv" --json
pycheck "$OUT" 'assert d["count"] == 2, d'
expect_usage_error "is a directory, not a regular file" "$NODERR" sign --venue binance \
    --payload a --secrets-file "$WORK"

# 3. report --out: a failed write is exit 2 naming the file, and a device named by --out is
# written in place, never replaced by a renamed temporary file (the link keeps /dev/full safe
# even if that regressed: only the link in $WORK would be replaced).
DB="$WORK/run.db"
expect_rc 0 "$NODERR" backtest --strategy sma_cross --bars 200 --db "$DB"
ln -s /dev/full "$WORK/full"
check "audit export to a full stdout: exit 2 naming the real error, not EIO"
RC=0
"$NODERR" audit export --db "$DB" >/dev/full 2>"$ERR" || RC=$?
[ "$RC" -eq 2 ] || fail "audit export > /dev/full exited $RC"
grep -qF "writing to stdout: No space left on device" "$ERR" || fail "message: $(cat "$ERR")"
expect_usage_error "noderr report: writing to --out $WORK/full: No space left on device" \
    "$NODERR" report --db "$DB" --period daily:2024-01-02 --out "$WORK/full"
[ -L "$WORK/full" ] || fail "report --out replaced the link to the device"
[ -c /dev/full ] || fail "/dev/full is no longer a character device"
check "report --out to a regular file still goes through a temporary name"
expect_rc 0 "$NODERR" report --db "$DB" --period daily:2024-01-02 --out "$WORK/r.csv"
[ -s "$WORK/r.csv" ] && [ ! -e "$WORK/r.csv.tmp" ] || fail "no report file, or a .tmp left"

# 6. One option parser: -h, --help and --json mean the same in every command.
for c in backtest metrics strategies scenarios validate evolve surveil report sign oracle; do
    check "$c -h and $c --help print the usage"
    expect_rc 0 "$NODERR" "$c" -h
    stdout_has "usage: noderr $c"
    expect_rc 0 "$NODERR" "$c" --help
    stdout_has "usage: noderr $c"
    expect_usage_error "noderr $c: unknown or incomplete option '--no-such-option'" \
        "$NODERR" "$c" --no-such-option
done
for c in "strategies" "scenarios"; do
    check "$c --json is JSON"
    expect_rc 0 "$NODERR" $c --json
    pycheck "$OUT" 'assert isinstance(d, (dict, list))'
done

# 7. One option table per command, walked by one parser (nd_cli_parse): audit and retention
# (once their own getopt loops) take -h and name a stray argument and an unknown option as every
# command does; a table's whole numbers are range-checked with the option named; an unambiguous
# abbreviation is the option, an ambiguous one an error.
for c in "audit verify" "audit export" "retention apply"; do
    check "$c -h prints the usage"
    expect_rc 0 "$NODERR" $c -h
    stdout_has "usage: noderr ${c%% *}"
    expect_usage_error "noderr $c: unexpected argument 'extra'" "$NODERR" $c --db x.db extra
    expect_usage_error "noderr $c: unknown or incomplete option '--no-such-option'" \
        "$NODERR" $c --no-such-option
done
expect_usage_error "noderr: --heartbeat: 0 is outside [1, 604800]" "$NODERR" oracle --heartbeat 0
expect_usage_error "noderr: --deadline-s: 601 is outside [1, 600]" \
    "$NODERR" shutdown --state-dir "$WORK" --deadline-s 601
expect_usage_error "noderr: --threshold: '1.0000001' has more than 6 decimal places" \
    "$NODERR" anomaly --threshold 1.0000001
expect_usage_error "noderr: --port: 'x' is not a plain decimal number" \
    "$NODERR" exchange-sim --port x
expect_usage_error "noderr sign: unknown or incomplete option '--url-encoded=1'" \
    "$NODERR" sign --url-encoded=1
expect_usage_error "noderr report: --db URL and --period P are required" "$NODERR" report --peri x
expect_usage_error "noderr promote: unknown or incomplete option '--st'" \
    "$NODERR" promote --st x --version v

echo "42_cli_regressions: all checks passed"
