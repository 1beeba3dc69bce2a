#!/usr/bin/env bash
# 93_binance_fuzz_smoke.sh: libFuzzer smoke runs of the Binance decoder and the L2 book
# (tests/fuzz/fuzz_binance_decode.c, fuzz_book_ops.c, built by Meson): lib.sh's fuzz_smoke, a
# fixed budget of executions each. Skipped (77) when clang or libFuzzer is unavailable.
# Called as: 93_binance_fuzz_smoke.sh NODERR_BINARY DATA_DIR SHARED_DIR SOURCE_ROOT
source "$(dirname "$0")/lib.sh"
fuzz_smoke 93_binance_fuzz_smoke 4096 fuzz_binance_decode:30000 fuzz_book_ops:30000
