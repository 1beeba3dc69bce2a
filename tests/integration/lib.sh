#!/usr/bin/env bash
# lib.sh: helpers sourced by the integration scripts (not a test itself).
#
# Every script is called as: SCRIPT NODERR_BINARY DATA_DIR SHARED_DIR [SOURCE_ROOT]
# It prints each check as it goes and stops at the first failure with a message and exit 1;
# exit 77 tells meson the whole script was skipped.
set -euo pipefail

if [ "$#" -lt 3 ]; then
    echo "usage: $0 NODERR_BINARY DATA_DIR SHARED_DIR [SOURCE_ROOT]" >&2
    exit 2
fi
NODERR="$1"
DATA="$2"
SHARED="$3"
# shellcheck disable=SC2034 # used by 60_tidy.sh
SOURCE_ROOT="${4:-}"
[ -x "$NODERR" ] || { echo "FAIL: $NODERR is not an executable" >&2; exit 1; }
[ -d "$DATA" ] || { echo "FAIL: data dir $DATA missing" >&2; exit 1; }

WORK="$(mktemp -d)"
# Background processes the script started (start_server, or added by the script): killed at exit.
SERVER_PIDS=()
stop_servers() {
    local p
    for p in "${SERVER_PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
}
trap 'stop_servers; rm -rf "$WORK"' EXIT
OUT="$WORK/stdout"
ERR="$WORK/stderr"
RC=0

fail() {
    echo "FAIL: $*" >&2
    if [ -s "$ERR" ]; then
        echo "--- stderr of the last command:" >&2
        head -c 2000 "$ERR" >&2
    fi
    exit 1
}

check() {
    echo "check: $*"
}

# Under -Db_sanitize a sanitizer report must fail the test even when the exit code is right.
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

# run CMD...: runs the command, stdout to $OUT, stderr to $ERR, exit code to $RC.
run() {
    RC=0
    "$@" >"$OUT" 2>"$ERR" || RC=$?
    if grep -qE 'runtime error:|(Address|Leak|UndefinedBehavior)Sanitizer' "$ERR"; then
        fail "sanitizer report from '$*'"
    fi
}

# expect_rc CODE CMD...: runs the command and fails unless it exits with CODE.
expect_rc() {
    local want="$1"
    shift
    run "$@"
    [ "$RC" -eq "$want" ] || fail "'$*' exited $RC, expected $want"
}

# expect_usage_error TEXT CMD...: exit 2 and stderr contains TEXT (fixed string).
expect_usage_error() {
    local text="$1"
    shift
    check "exit 2 and stderr names '$text': $*"
    expect_rc 2 "$@"
    [ -s "$ERR" ] || fail "'$*' printed nothing on stderr"
    grep -qF -- "$text" "$ERR" || fail "stderr of '$*' does not contain '$text'"
}

# stdout_has TEXT: the last command's stdout contains TEXT.
stdout_has() {
    grep -qF -- "$1" "$OUT" || fail "stdout does not contain '$1'"
}

# pycheck FILE PYTHON: runs python with `d` bound to the JSON in FILE; the code asserts.
pycheck() {
    local file="$1"
    local code="$2"
    python3 - "$file" <<EOF || fail "JSON check failed on $file"
import json, math, sys
with open(sys.argv[1]) as fh:
    d = json.load(fh)
$code
EOF
}

# json_field FILE KEY: prints one top-level JSON value (as JSON).
json_field() {
    python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))[sys.argv[2]]))' \
        "$1" "$2"
}

have_shared() {
    [ -d "$SHARED/data" ]
}

# start_server NAME CMD...: runs CMD in the background (output in $WORK/NAME.out and .err),
# waits for its first line "listening on 127.0.0.1:PORT" and sets PORT.
start_server() {
    local name="$1"
    shift
    "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    SERVER_PIDS+=($!)
    for _ in $(seq 300); do
        grep -q '^listening on ' "$WORK/$name.out" 2>/dev/null && break
        sleep 0.05
    done
    local line
    line="$(head -n1 "$WORK/$name.out")"
    [[ "$line" =~ ^listening\ on\ 127\.0\.0\.1:([0-9]+)$ ]] ||
        fail "$name did not start: '$line' $(head -c 300 "$WORK/$name.err")"
    PORT="${BASH_REMATCH[1]}"
}

# wait_json FILE CONDITION: polls FILE (about 15 s) until the python CONDITION on d (the JSON in
# FILE) holds; fails naming the condition and the last document.
wait_json() {
    for _ in $(seq 300); do
        if [ -s "$1" ] && python3 - "$1" "$2" <<'EOF' 2>/dev/null
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2]) else 1)
EOF
        then return 0; fi
        sleep 0.05
    done
    fail "never held: $2 ($(head -c 800 "$1" 2>/dev/null))"
}

# fuzz_smoke TEST MAX_LEN DRIVER:RUNS...: builds the libFuzzer drivers through Meson
# (tests/fuzz/build.sh; NODERR_FUZZ_BUILD may name a build directory to reuse) and runs each over
# its seed corpus for a fixed budget of RUNS executions (FUZZ_RUNS, when set, for every driver)
# with seed 1, so a run is the same on every machine: a finding here is reproducible, not a
# matter of how fast the machine was. Budgets differ because drivers do: a bar file goes through
# the whole CSV loader, a decoder input costs microseconds. FUZZ_MAX_SECONDS (default 300) only
# guards against a stuck run. Exits 77 when clang or libFuzzer is missing; fails naming the
# driver when one crashes or a sanitizer reports.
fuzz_smoke() {
    local test="$1" max_len="$2" rc=0 spec bin runs
    shift 2
    local build="${NODERR_FUZZ_BUILD:-$WORK/fuzz-build}" bins=()
    for spec in "$@"; do bins+=("${spec%%:*}"); done
    [ -n "$SOURCE_ROOT" ] || fail "no source root given"
    check "the fuzz drivers build: ${bins[*]}"
    bash "$SOURCE_ROOT/tests/fuzz/build.sh" "$SOURCE_ROOT" "$build" "${bins[@]}" >"$OUT" 2>"$ERR" ||
        rc=$?
    if [ "$rc" -eq 77 ]; then
        echo "$test: skipped: $(cat "$OUT")"
        exit 77
    fi
    [ "$rc" -eq 0 ] || { cat "$ERR" >&2; fail "building the fuzzers failed"; }
    for spec in "$@"; do
        bin="${spec%%:*}"
        runs="${FUZZ_RUNS:-${spec##*:}}"
        local corpus="$WORK/corpus_${bin#fuzz_}"
        check "$bin: $runs runs without a crash or sanitizer report"
        mkdir -p "$corpus"
        cp "$SOURCE_ROOT/tests/fuzz/corpus/${bin#fuzz_}/"* "$corpus/"
        rc=0
        (cd "$WORK" && ASAN_OPTIONS=detect_leaks=1 "$build/tests/fuzz/$bin" -runs="$runs" \
            -max_total_time="${FUZZ_MAX_SECONDS:-300}" -max_len="$max_len" -seed=1 "$corpus") \
            >"$OUT" 2>"$ERR" || rc=$?
        if [ "$rc" -ne 0 ] || grep -qE 'ERROR|runtime error|assertion failed' "$ERR"; then
            tail -n 30 "$ERR" >&2
            fail "$bin found a problem (crash input saved under $WORK)"
        fi
        grep -E '^Done' "$ERR" || true
    done
    echo "$test: all checks passed"
}
