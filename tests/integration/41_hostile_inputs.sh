#!/usr/bin/env bash
# 41_hostile_inputs.sh: every command that reads a file, against a corpus of hostile inputs
# generated here (empty, binary, byte order mark, NUL, CRLF, an over-long line, 1e30 and
# INT64_MAX values, a FIFO, a directory), and every command's output sent to /dev/full.
# Each row asserts the exit code, a message on stderr naming the input and why, no hang (a
# FIFO must be refused before it is opened) and no sanitizer report (lib.sh's run). Runs in
# the normal and the sanitizer builds alike.
source "$(dirname "$0")/lib.sh"

IN="$WORK/in"
mkdir -p "$IN/dir"
mkfifo "$IN/fifo"
python3 - "$IN" <<'PY'
import os, sys
d = sys.argv[1]
def put(name, data):
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
BOM = b"\xef\xbb\xbf"
state = 12345
noise = bytearray()
for _ in range(3000):  # deterministic "binary" bytes, NULs and all
    state = (state * 1103515245 + 12345) % (1 << 31)
    noise.append(state >> 23)
put("empty", b"")
put("binary", bytes(noise))
put("bom_only", BOM)
put("nul", b"a\x00b\n")
put("long", "9" * 100000 + "\n")
H = "ts,open,high,low,close,volume"
rows = ["%d,100,101,99,100,5" % (1577836800000 + i * 3600000) for i in range(60)]
def bars(name, rows_, head=H, eol="\n", prefix=b""):
    put(name, prefix + (head + eol + eol.join(rows_) + eol).encode())
bars("bars_bom.csv", rows, prefix=BOM)
bars("bars_crlf.csv", rows, eol="\r\n")
r = list(rows); r[5] = "1577854800000,100,101,99,1e30,5"; bars("bars_1e30.csv", r)
r = list(rows); r[5] = "1577854800000,100,101,99,9223372036854775807,5"; bars("bars_int64.csv", r)
r = list(rows); r.append("9223372036854775807,100,101,99,100,5"); bars("bars_ts_int64.csv", r)
r = list(rows); r[5] = "1577854800000,100,101,99,10\x000,5"; bars("bars_nul.csv", r)
put("params_bom.json", BOM + b'{"fast": 5, "slow": 20}')
put("params_crlf.json", '{\r\n"fast": 5,\r\n"slow": 20\r\n}\r\n')
put("params_1e30.json", '{"fast": 1e30}')
put("params_int64.json", '{"fast": 9223372036854775807}')
put("params_nul.json", '{"fast": "5\\u0000"}')
put("config_int64.json", '{"include_builtins": false, "scenarios": [{"name": "x", '
    '"kind": "synthetic", "bars": 9223372036854775807}]}')
put("config_1e30.json", '{"include_builtins": false, "scenarios": [{"name": "x", '
    '"kind": "synthetic", "start_price": 1e30}]}')
put("config_bom.json", BOM + b'{"include_builtins": true}')
put("returns_bom.csv", BOM + b"0.01\n0.02\n")
put("returns_crlf.csv", "return\r\n0.01\r\n0.02\r\n")
put("returns_nul.csv", "0.01\n1\x00\n")
put("returns_1e30.csv", "0.01\n1e30\n")
EV = "ts,account,owner,strategy,venue,symbol,side,event,order_id,price,qty"
row = "2024-01-02T00:00:00Z,a,o,s,v,BTCUSDT,buy,new,1,%s,%s"
put("events_bom.csv", BOM + (EV + "\n" + row % ("100", "1") + "\n").encode())
put("events_crlf.csv", EV + "\r\n" + row % ("100", "1") + "\r\n")
put("events_1e30.csv", EV + "\n" + row % ("1e30", "1") + "\n")
put("events_int64.csv", EV + "\n" + row % ("100", "9223372036854775807") + "\n")
put("events_nul.csv", EV + "\n" + row % ("10\x000", "1") + "\n")
PY
for f in "$IN"/*; do [ -f "$f" ] && chmod 600 "$f"; done

FIFO_WHY="is a FIFO (named pipe), not a regular file"
DIR_WHY="is a directory, not a regular file"

# One row: the command reading @ (the input), the input's name in $IN, the exit code, and the
# text stderr must hold besides the input's path ("" with exit 0: nothing is required).
hostile() {
    local input="$IN/$1" want="$2" why="$3"
    shift 3
    local args=() a
    for a in "$@"; do args+=("${a//@/$input}"); done
    check "exit $want${why:+, '$why'}: ${args[*]}"
    run timeout 20 "$NODERR" "${args[@]}"
    [ "$RC" -ne 124 ] || fail "'${args[*]}' blocked (killed after 20 s)"
    [ "$RC" -eq "$want" ] || fail "'${args[*]}' exited $RC, expected $want"
    if [ -n "$why" ]; then
        grep -qF -- "$input" "$ERR" || fail "stderr of '${args[*]}' does not name $input"
        grep -qF -- "$why" "$ERR" || fail "stderr of '${args[*]}' does not say '$why'"
    fi
}

BT=(backtest --strategy sma_cross)
EVO=(evolve --strategy sma_cross --population 4 --generations 1 --threads 1)
SIGN=(sign --venue binance --payload a=1)
for cmd in "BT --data" "EVO --data" "BT --bars 50 --params" "SCEN --config" "VAL --config" \
           "METRICS --returns" "SURVEIL --events" "SIGN --secrets-file"; do
    case "${cmd%% *}" in
    BT) pre=("${BT[@]}") ;;
    EVO) pre=("${EVO[@]}") ;;
    SCEN) pre=(scenarios) ;;
    VAL) pre=(validate --strategy sma_cross --scenario flash-crash) ;;
    METRICS) pre=(metrics) ;;
    SURVEIL) pre=(surveil) ;;
    SIGN) pre=("${SIGN[@]}") ;;
    esac
    # shellcheck disable=SC2206 # the option words split on purpose
    opt=(${cmd#* })
    hostile fifo 2 "$FIFO_WHY" "${pre[@]}" "${opt[@]}" @
    hostile dir 2 "$DIR_WHY" "${pre[@]}" "${opt[@]}" @
    hostile nonexistent 2 "No such file or directory" "${pre[@]}" "${opt[@]}" @
done

# Bar files (backtest and evolve read them the same way).
for pre in "BT" "EVO"; do
    if [ "$pre" = BT ]; then p=("${BT[@]}"); else p=("${EVO[@]}"); fi
    hostile empty 2 "no bars" "${p[@]}" --data @
    hostile binary 2 "unknown bar format" "${p[@]}" --data @
    hostile bom_only 2 "unknown bar format" "${p[@]}" --data @
    hostile nul 2 "unknown bar format" "${p[@]}" --data @
    hostile long 2 "line longer than" "${p[@]}" --data @
    hostile bars_bom.csv 0 "" "${p[@]}" --data @
    hostile bars_crlf.csv 0 "" "${p[@]}" --data @
    hostile bars_1e30.csv 2 "close: malformed number '1e30'" "${p[@]}" --data @
    hostile bars_int64.csv 2 "close 9223372036854775807 out of range" "${p[@]}" --data @
    hostile bars_ts_int64.csv 2 "ts 9223372036854775807 out of range" "${p[@]}" --data @
    hostile bars_nul.csv 2 "malformed number '10\\x000'" "${p[@]}" --data @
done

# JSON: --params and scenario configs share one loader.
P=("${BT[@]}" --bars 50 --params)
hostile empty 2 ":1:0: '[' or '{' expected near end of file" "${P[@]}" @
hostile binary 2 "unable to decode byte" "${P[@]}" @
hostile bom_only 2 "expected near end of file" "${P[@]}" @
hostile nul 2 ":1:1:" "${P[@]}" @
hostile long 2 "too big integer" "${P[@]}" @
hostile params_bom.json 0 "" "${P[@]}" @
hostile params_crlf.json 0 "" "${P[@]}" @
hostile params_1e30.json 2 "parameter 'fast' of sma_cross must be in [2, 1000]" "${P[@]}" @
hostile params_int64.json 2 "parameter 'fast' of sma_cross must be in [2, 1000]" "${P[@]}" @
hostile params_nul.json 2 "\\u0000 (a NUL character) is not allowed in a string" "${P[@]}" @
grep -qF "JSON_ALLOW_NUL" "$ERR" && fail "jansson's flag name leaks into the message"
hostile config_int64.json 2 "scenarios[0].bars: 9223372036854775807 is outside" scenarios --config @
hostile config_1e30.json 2 "scenarios[0].start_price: 1e+30 is outside" scenarios --config @
hostile config_bom.json 0 "" scenarios --config @
hostile empty 2 "expected near end of file" validate --strategy sma_cross --config @

# Returns files.
hostile empty 0 "" metrics --returns @
hostile binary 2 "" metrics --returns @
hostile nul 2 "not a decimal number: 'a\\x00b'" metrics --returns @
hostile long 2 "line longer than 256 characters" metrics --returns @
hostile returns_bom.csv 0 "" metrics --returns @
hostile returns_crlf.csv 0 "" metrics --returns @
hostile returns_nul.csv 2 ":2: not a decimal number: '1\\x00'" metrics --returns @
hostile returns_1e30.csv 0 "" metrics --returns @

# Order-event logs.
hostile empty 2 "empty file, expected the header" surveil --events @
hostile binary 2 "" surveil --events @
hostile long 2 "line longer than 1024 characters" surveil --events @
hostile events_bom.csv 0 "" surveil --events @
hostile events_crlf.csv 0 "" surveil --events @
hostile events_1e30.csv 2 "price '1e30': not a plain decimal number" surveil --events @
hostile events_int64.csv 2 "qty '9223372036854775807': not a plain decimal number" surveil --events @
hostile events_nul.csv 2 ":2:" surveil --events @

# Secrets files.
hostile empty 2 "no api_secret= line" "${SIGN[@]}" --secrets-file @
hostile binary 2 "" "${SIGN[@]}" --secrets-file @
hostile long 2 "larger than the 6143 bytes allowed" "${SIGN[@]}" --secrets-file @

# Output nobody can write: exit 2 naming where, never a silent success.
STDOUT_FULL="noderr: writing to stdout: No space left on device"
run_full() {
    local what="$1"
    shift
    check "exit 2, '$what': $* > /dev/full"
    RC=0
    timeout 60 "$NODERR" "$@" >/dev/full 2>"$ERR" || RC=$?
    if grep -qE 'runtime error:|(Address|Leak|UndefinedBehavior)Sanitizer' "$ERR"; then
        fail "sanitizer report from '$*'"
    fi
    [ "$RC" -eq 2 ] || fail "'$*' > /dev/full exited $RC, expected 2"
    grep -qF -- "$what" "$ERR" || fail "stderr of '$*' does not say '$what'"
}
for c in backtest metrics strategies data scenarios validate evolve audit surveil report \
         retention book decode sign oracle; do
    run_full "$STDOUT_FULL" "$c" --help
done
run_full "$STDOUT_FULL" --help
run_full "$STDOUT_FULL" --version
run_full "$STDOUT_FULL" "${BT[@]}" --bars 50
run_full "$STDOUT_FULL" "${BT[@]}" --bars 50 --json
run_full "$STDOUT_FULL" metrics --returns "$IN/returns_crlf.csv"
run_full "$STDOUT_FULL" metrics --returns "$IN/returns_crlf.csv" --json
run_full "$STDOUT_FULL" strategies --json
run_full "$STDOUT_FULL" scenarios
run_full "$STDOUT_FULL" validate --strategy sma_cross --scenario flash-crash
run_full "$STDOUT_FULL" "${EVO[@]}" --data "$IN/bars_crlf.csv" --json
run_full "$STDOUT_FULL" surveil --events "$IN/events_crlf.csv"
run_full "$STDOUT_FULL" "${SIGN[@]}" --secret s
for o in --equity-out --trades-out; do
    expect_usage_error "noderr: writing to $o /dev/full: No space left on device" \
        "$NODERR" "${BT[@]}" --bars 50 "$o" /dev/full
done
for o in --out --pareto-csv --history-csv; do
    expect_usage_error "noderr: writing to $o /dev/full: No space left on device" \
        "$NODERR" "${EVO[@]}" --data "$IN/bars_crlf.csv" "$o" /dev/full
done
# The evolve report is written by the report module, as backtest's and validate's are.
expect_usage_error "noderr evolve: --report /dev/full: /dev/full: No space left on device" \
    "$NODERR" "${EVO[@]}" --data "$IN/bars_crlf.csv" --report /dev/full

echo "41_hostile_inputs: all checks passed"
