#!/usr/bin/env bash
# 62_bars_fuzz_smoke.sh: a short libFuzzer smoke run of the bar file loaders
# (tests/fuzz/fuzz_bars_csv.c, clang -fsanitize=fuzzer,address,undefined, built by Meson).
# Skipped (77) when clang or libFuzzer is unavailable. FUZZ_SECONDS sets the run (default 10).
# Called as: 62_bars_fuzz_smoke.sh NODERR_BINARY DATA_DIR SHARED_DIR SOURCE_ROOT
source "$(dirname "$0")/lib.sh"

[ -n "$SOURCE_ROOT" ] || fail "no source root given"
SECONDS_EACH="${FUZZ_SECONDS:-10}"
# Built by Meson (tests/fuzz/meson.build, -Dfuzz=true) through tests/fuzz/build.sh;
# NODERR_FUZZ_BUILD may name a fuzz build directory to reuse between runs.
BUILD="${NODERR_FUZZ_BUILD:-$WORK/fuzz-build}"
mkdir -p "$WORK/corpus"
check "fuzz_bars_csv builds"
RC=0
bash "$SOURCE_ROOT/tests/fuzz/build.sh" "$SOURCE_ROOT" "$BUILD" fuzz_bars_csv >"$OUT" 2>"$ERR" || RC=$?
if [ "$RC" -eq 77 ]; then
    echo "62_bars_fuzz_smoke: skipped: $(cat "$OUT")"
    exit 77
fi
[ "$RC" -eq 0 ] || { cat "$ERR" >&2; fail "build failed"; }
check "fuzz_bars_csv runs ${SECONDS_EACH}s without a crash or sanitizer report"
cp "$SOURCE_ROOT/tests/fuzz/corpus/bars_csv/"* "$WORK/corpus/"
RC=0
(cd "$WORK" && ASAN_OPTIONS=detect_leaks=1 "$BUILD/tests/fuzz/fuzz_bars_csv" -max_total_time="$SECONDS_EACH" \
    -max_len=2048 -seed=1 "$WORK/corpus") >"$OUT" 2>"$ERR" || RC=$?
if [ "$RC" -ne 0 ] || grep -qE 'ERROR|runtime error' "$ERR"; then
    tail -n 30 "$ERR" >&2
    fail "fuzz_bars_csv found a problem (crash input saved under $WORK)"
fi
grep -E '^Done' "$ERR" || true
echo "62_bars_fuzz_smoke: all checks passed"
