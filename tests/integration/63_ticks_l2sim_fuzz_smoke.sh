#!/usr/bin/env bash
# 63_ticks_l2sim_fuzz_smoke.sh: short libFuzzer smoke runs of the tick file loaders
# (tests/fuzz/fuzz_ticks.c) and of the L2 simulator driven by random operation sequences
# (tests/fuzz/fuzz_l2sim_ops.c), clang -fsanitize=fuzzer,address,undefined. Skipped (77) when
# clang or libFuzzer is unavailable. FUZZ_SECONDS sets each run (default 10).
# Called as: 63_ticks_l2sim_fuzz_smoke.sh NODERR_BINARY DATA_DIR SHARED_DIR SOURCE_ROOT
source "$(dirname "$0")/lib.sh"

[ -n "$SOURCE_ROOT" ] || fail "no source root given"
SECONDS_EACH="${FUZZ_SECONDS:-10}"
if ! command -v clang >/dev/null; then
    echo "63_ticks_l2sim_fuzz_smoke: skipped: clang not installed"
    exit 77
fi
mkdir -p "$WORK/bin"
echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n){(void)d;(void)n;return 0;}' \
    >"$WORK/probe.c"
if ! clang -fsanitize=fuzzer "$WORK/probe.c" -o "$WORK/probe" 2>/dev/null; then
    echo "63_ticks_l2sim_fuzz_smoke: skipped: libFuzzer not available"
    exit 77
fi
S="$SOURCE_ROOT/src"
# driver -> the sources it needs besides src/core
declare -A SOURCES=(
    [fuzz_ticks]="$S/market/instrument.c $S/market/ticks.c $S/market/lines.c"
    [fuzz_l2sim_ops]="$S/market/instrument.c $S/exec/order.c $S/exec/l2sim.c $S/venues/book.c"
)
declare -A CORPUS=([fuzz_ticks]=ticks [fuzz_l2sim_ops]=l2sim_ops)
for f in fuzz_ticks fuzz_l2sim_ops; do
    check "$f builds"
    # shellcheck disable=SC2046,SC2086
    clang -g -O1 -std=gnu17 -D_GNU_SOURCE -DND_DEBUG_ASSERTIONS -I"$SOURCE_ROOT/include" \
        -I"$SOURCE_ROOT/src" -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
        "$SOURCE_ROOT/tests/fuzz/$f.c" $(ls "$S"/core/*.c) ${SOURCES[$f]} -lm \
        -o "$WORK/bin/$f" >"$OUT" 2>"$ERR" || { cat "$ERR" >&2; fail "$f: build failed"; }
    check "$f runs ${SECONDS_EACH}s without a crash or sanitizer report"
    mkdir -p "$WORK/corpus_$f"
    cp "$SOURCE_ROOT/tests/fuzz/corpus/${CORPUS[$f]}/"* "$WORK/corpus_$f/"
    RC=0
    (cd "$WORK" && ASAN_OPTIONS=detect_leaks=1 "$WORK/bin/$f" -max_total_time="$SECONDS_EACH" \
        -max_len=2048 -seed=1 "$WORK/corpus_$f") >"$OUT" 2>"$ERR" || RC=$?
    if [ "$RC" -ne 0 ] || grep -qE 'ERROR|runtime error|assertion failed' "$ERR"; then
        tail -n 30 "$ERR" >&2
        fail "$f found a problem (crash input saved under $WORK)"
    fi
    grep -E '^Done' "$ERR" || true
done
echo "63_ticks_l2sim_fuzz_smoke: all checks passed"
