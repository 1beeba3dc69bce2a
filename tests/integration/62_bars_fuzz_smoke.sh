#!/usr/bin/env bash
# 62_bars_fuzz_smoke.sh: a libFuzzer smoke run of the bar CSV parser (tests/fuzz/fuzz_bars_csv.c,
# clang -fsanitize=fuzzer,address,undefined, built by Meson): lib.sh's fuzz_smoke, a fixed budget
# of executions. Skipped (77) when clang or libFuzzer is unavailable.
# Called as: 62_bars_fuzz_smoke.sh NODERR_BINARY DATA_DIR SHARED_DIR SOURCE_ROOT
source "$(dirname "$0")/lib.sh"
fuzz_smoke 62_bars_fuzz_smoke 2048 fuzz_bars_csv:3000
