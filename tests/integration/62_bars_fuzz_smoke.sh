#!/usr/bin/env bash
# 62_bars_fuzz_smoke.sh: a short libFuzzer smoke run of the bar file loaders
# (tests/fuzz/fuzz_bars_csv.c, clang -fsanitize=fuzzer,address,undefined). Skipped (77) when
# clang or libFuzzer is unavailable. FUZZ_SECONDS sets the run (default 10).
# Called as: 62_bars_fuzz_smoke.sh NODERR_BINARY DATA_DIR SHARED_DIR SOURCE_ROOT
source "$(dirname "$0")/lib.sh"

[ -n "$SOURCE_ROOT" ] || fail "no source root given"
SECONDS_EACH="${FUZZ_SECONDS:-10}"
if ! command -v clang >/dev/null; then
    echo "62_bars_fuzz_smoke: skipped: clang not installed"
    exit 77
fi
mkdir -p "$WORK/bin" "$WORK/corpus"
echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n){(void)d;(void)n;return 0;}' \
    >"$WORK/probe.c"
if ! clang -fsanitize=fuzzer "$WORK/probe.c" -o "$WORK/probe" 2>/dev/null; then
    echo "62_bars_fuzz_smoke: skipped: libFuzzer not available"
    exit 77
fi
check "fuzz_bars_csv builds"
# shellcheck disable=SC2046
clang -g -O1 -std=gnu17 -D_GNU_SOURCE -DND_DEBUG_ASSERTIONS -I"$SOURCE_ROOT/include" \
    -I"$SOURCE_ROOT/src" -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    "$SOURCE_ROOT/tests/fuzz/fuzz_bars_csv.c" $(ls "$SOURCE_ROOT"/src/core/*.c) \
    "$SOURCE_ROOT/src/market/instrument.c" "$SOURCE_ROOT/src/market/bars_csv.c" \
    "$SOURCE_ROOT/src/market/lines.c" -lm \
    -o "$WORK/bin/fuzz_bars_csv" >"$OUT" 2>"$ERR" || { cat "$ERR" >&2; fail "build failed"; }
check "fuzz_bars_csv runs ${SECONDS_EACH}s without a crash or sanitizer report"
cp "$SOURCE_ROOT/tests/fuzz/corpus/bars_csv/"* "$WORK/corpus/"
RC=0
(cd "$WORK" && ASAN_OPTIONS=detect_leaks=1 "$WORK/bin/fuzz_bars_csv" -max_total_time="$SECONDS_EACH" \
    -max_len=2048 -seed=1 "$WORK/corpus") >"$OUT" 2>"$ERR" || RC=$?
if [ "$RC" -ne 0 ] || grep -qE 'ERROR|runtime error' "$ERR"; then
    tail -n 30 "$ERR" >&2
    fail "fuzz_bars_csv found a problem (crash input saved under $WORK)"
fi
grep -E '^Done' "$ERR" || true
echo "62_bars_fuzz_smoke: all checks passed"
