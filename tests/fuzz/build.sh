#!/usr/bin/env bash
# build.sh: builds the libFuzzer drivers with clang -fsanitize=fuzzer,address,undefined,
# outside Meson (the project's compiler is gcc). Usage: build.sh SOURCE_ROOT OUT_DIR [DRIVER...]
# Exit 77 when clang or libFuzzer is not available.
set -euo pipefail
ROOT="$1"
OUT="$2"
command -v clang >/dev/null || { echo "clang not installed"; exit 77; }
mkdir -p "$OUT"
probe="$OUT/probe.c"
echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n){(void)d;(void)n;return 0;}' >"$probe"
clang -fsanitize=fuzzer "$probe" -o "$OUT/probe" 2>/dev/null || { echo "libFuzzer not available"; exit 77; }
CORE=$(ls "$ROOT"/src/core/*.c)
VEN="$ROOT/src/venues/venue.c $ROOT/src/venues/json.c $ROOT/src/venues/book.c \
     $ROOT/src/venues/binance/binance_decode.c $ROOT/src/venues/binance/binance_fast.c \
     $ROOT/src/venues/binance/binance_depth.c \
     $ROOT/src/venues/coinbase/cb_decode.c $ROOT/src/venues/coinbase/cb_book.c"
FLAGS="-g -O1 -std=gnu17 -D_GNU_SOURCE -DND_DEBUG_ASSERTIONS -I$ROOT/include -I$ROOT/src \
       -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
FUZZERS="fuzz_binance_decode fuzz_book_ops fuzz_coinbase_decode fuzz_coinbase_exchange_decode"
# Optional third and later arguments: build only these drivers.
if [ "$#" -gt 2 ]; then FUZZERS="${*:3}"; fi
for f in $FUZZERS; do
    # shellcheck disable=SC2086
    clang $FLAGS "$ROOT/tests/fuzz/$f.c" $CORE $VEN -lm -o "$OUT/$f"
done
echo "built in $OUT: $FUZZERS"
