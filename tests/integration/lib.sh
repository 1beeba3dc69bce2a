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
trap 'rm -rf "$WORK"' EXIT
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
