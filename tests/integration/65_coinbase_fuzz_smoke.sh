#!/usr/bin/env bash
# 65_coinbase_fuzz_smoke.sh: libFuzzer smoke runs of the two Coinbase decoders: the Advanced
# Trade decoder with the book the WebSocket client keeps, and the Coinbase Exchange decoder with
# its level2 book (tests/fuzz/fuzz_coinbase_*.c, built by Meson): lib.sh's fuzz_smoke, a fixed
# budget of executions each. Skipped (77) when clang or libFuzzer is unavailable.
# Called as: 65_coinbase_fuzz_smoke.sh NODERR_BINARY DATA_DIR SHARED_DIR SOURCE_ROOT
source "$(dirname "$0")/lib.sh"
fuzz_smoke 65_coinbase_fuzz_smoke 8192 \
    fuzz_coinbase_decode:30000 fuzz_coinbase_exchange_decode:30000
