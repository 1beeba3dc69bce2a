#!/usr/bin/env bash
# 93_binance_fuzz_smoke.sh: a short libFuzzer smoke run of the Binance decoder and the L2 book
# (tests/fuzz/*.c, built with clang -fsanitize=fuzzer,address,undefined through Meson:
# tests/fuzz/build.sh).
# Skipped (77) when clang or libFuzzer is unavailable. FUZZ_SECONDS sets each run (default 10).
# Called as: 93_binance_fuzz_smoke.sh NODERR_BINARY DATA_DIR SHARED_DIR SOURCE_ROOT
source "$(dirname "$0")/lib.sh"

[ -n "$SOURCE_ROOT" ] || fail "no source root given"
SECONDS_EACH="${FUZZ_SECONDS:-10}"
RC=0
# Built by Meson (tests/fuzz/meson.build, -Dfuzz=true) through build.sh; NODERR_FUZZ_BUILD may
# name a fuzz build directory to reuse between runs.
BUILD="${NODERR_FUZZ_BUILD:-$WORK/fuzz-build}"
bash "$SOURCE_ROOT/tests/fuzz/build.sh" "$SOURCE_ROOT" "$BUILD" fuzz_binance_decode fuzz_book_ops >"$OUT" 2>"$ERR" || RC=$?
if [ "$RC" -eq 77 ]; then
    echo "93_binance_fuzz_smoke: skipped: $(cat "$OUT")"
    exit 77
fi
[ "$RC" -eq 0 ] || fail "building the fuzzers failed"
for pair in "fuzz_binance_decode:binance_decode" "fuzz_book_ops:book_ops"; do
    bin="${pair%%:*}"
    corpus="${pair##*:}"
    check "$bin runs ${SECONDS_EACH}s without a crash or sanitizer report"
    mkdir -p "$WORK/corpus_$corpus"
    cp "$SOURCE_ROOT/tests/fuzz/corpus/$corpus/"* "$WORK/corpus_$corpus/"
    RC=0
    (cd "$WORK" && ASAN_OPTIONS=detect_leaks=1 "$BUILD/tests/fuzz/$bin" -max_total_time="$SECONDS_EACH" \
        -max_len=4096 -seed=1 "$WORK/corpus_$corpus") >"$OUT" 2>"$ERR" || RC=$?
    if [ "$RC" -ne 0 ] || grep -qE 'ERROR|runtime error' "$ERR"; then
        tail -n 30 "$ERR" >&2
        fail "$bin found a problem (crash input saved under $WORK)"
    fi
    grep -E '^Done' "$ERR" || true
done
echo "93_binance_fuzz_smoke: all checks passed"
