#!/usr/bin/env bash
# build.sh: builds libFuzzer drivers through Meson (tests/fuzz/meson.build with -Dfuzz=true),
# which holds the one list of drivers and of the sources each exercises. It configures BUILD_DIR
# with clang once (werror off: the other modules are warning-clean under gcc, the project's
# compiler) and builds only the drivers asked for, so nothing else compiles.
# Usage: build.sh SOURCE_ROOT BUILD_DIR [DRIVER...]   (default: every driver)
# The executables land in BUILD_DIR/tests/fuzz/. Exit 77 when clang or libFuzzer is missing.
set -euo pipefail
ROOT="$1"
OUT="$2"
shift 2
command -v clang >/dev/null || { echo "clang not installed"; exit 77; }
probe_dir=$(mktemp -d)
trap 'rm -rf "$probe_dir"' EXIT
echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n){(void)d;(void)n;return 0;}' \
    >"$probe_dir/probe.c"
clang -fsanitize=fuzzer "$probe_dir/probe.c" -o "$probe_dir/probe" 2>/dev/null ||
    { echo "libFuzzer not available"; exit 77; }
FUZZERS="${*:-$(cd "$ROOT/tests/fuzz" && ls fuzz_*.c | sed 's/\.c$//' | tr '\n' ' ')}"
if [ ! -f "$OUT/build.ninja" ]; then
    CC=clang meson setup "$OUT" "$ROOT" -Dfuzz=true -Dwerror=false -Dbuildtype=debugoptimized \
        >"$probe_dir/setup.log" 2>&1 || { cat "$probe_dir/setup.log" >&2; exit 1; }
fi
targets=()
for f in $FUZZERS; do targets+=("tests/fuzz/$f"); done
ninja -C "$OUT" -j"${FUZZ_JOBS:-2}" "${targets[@]}" >"$probe_dir/ninja.log" 2>&1 ||
    { tail -n 40 "$probe_dir/ninja.log" >&2; exit 1; }
echo "built in $OUT/tests/fuzz: $FUZZERS"
