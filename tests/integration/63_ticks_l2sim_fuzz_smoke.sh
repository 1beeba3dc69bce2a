#!/usr/bin/env bash
# 63_ticks_l2sim_fuzz_smoke.sh: libFuzzer smoke runs of the tick file loaders
# (tests/fuzz/fuzz_ticks.c) and of the L2 simulator driven by random operation sequences
# (tests/fuzz/fuzz_l2sim_ops.c), built by Meson: lib.sh's fuzz_smoke, a fixed budget of
# executions each. Skipped (77) when clang or libFuzzer is unavailable.
# Called as: 63_ticks_l2sim_fuzz_smoke.sh NODERR_BINARY DATA_DIR SHARED_DIR SOURCE_ROOT
source "$(dirname "$0")/lib.sh"
fuzz_smoke 63_ticks_l2sim_fuzz_smoke 2048 fuzz_ticks:2000 fuzz_l2sim_ops:20000
