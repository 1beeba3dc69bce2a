#!/usr/bin/env bash
# dev.sh: set up a fresh Debian 12 machine, build Noderr, and run it or its tests.
#
#   ./dev.sh run    install what is missing, build, run a backtest and the validation suite
#   ./dev.sh test   install what is missing, build, run the whole test suite
#   ./dev.sh asan   the test suite again, built with AddressSanitizer + UndefinedBehaviorSanitizer
#   ./dev.sh bench  release build, then every benchmark (figures go to bench/RESULTS.md)
#   ./dev.sh fuzz   every libFuzzer driver (tests/fuzz) for FUZZ_RUNS executions each (10 M),
#                   one after another, each capped at FUZZ_MAX_SECONDS (600); prints the counts
#
# Packages come from Debian through apt-get when run as root; otherwise the apt-get line to run
# is printed and the script stops.
set -euo pipefail
cd "$(dirname "$0")"

# Build: compiler, Meson, and the libraries the modules link (DESIGN.md lists why each).
# Tests: Criterion, python3 (JSON checks), PostgreSQL (the store's second backend), Chromium
# (report screenshots), clang (libFuzzer smoke runs), sqlite3 (tampering tests), g++ and make
# (node-gyp builds TA-Lib's C sources for the indicator comparison, tests/talib).
# LuaJIT runs scripted strategies (--strategy-file). libsystemd: sd_notify for the Type=notify
# unit (deploy/systemd); systemd's systemd-analyze checks the unit in the tests. Prometheus
# (prometheus, promtool) checks the metrics the processes expose, the alert rules and a real
# scrape (docs/monitoring.md).
PACKAGES=(gcc g++ make pkg-config meson ninja-build libjansson-dev libcriterion-dev python3
          libssl-dev libcurl4-openssl-dev libarchive-dev libsqlite3-dev sqlite3 libpq-dev
          postgresql libwebsockets-dev libuv1-dev chromium clang libclang-rt-14-dev
          libluajit-5.1-dev libsystemd-dev prometheus)

missing_packages() {
    local p
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || echo "$p"
    done
}

# The pinned front-end packages (the report's charting library, playwright-core for the
# dashboard's browser test), from the npm registry; again when a package was added to the lock.
install_web() {
    [ -d web/node_modules/lightweight-charts ] && [ -d web/node_modules/playwright-core ] ||
        npm ci --prefix web --no-audit --no-fund >&2
}

install_missing() {
    local missing
    missing=$(missing_packages | tr '\n' ' ')
    # Node.js (for the front-end packages from npm) ships with the machine image; Debian's own
    # nodejs and npm packages are the fallback when it does not.
    command -v node >/dev/null 2>&1 || missing="$missing nodejs"
    command -v npm >/dev/null 2>&1 || missing="$missing npm"
    [ -z "${missing// /}" ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "dev.sh: missing Debian packages. Run as root:" >&2
        echo "  apt-get update && apt-get install -y $missing" >&2
        exit 2
    fi
    echo "dev.sh: installing $missing" >&2
    apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >&2
}

build() { # build-dir [meson options...]
    local dir=$1
    shift
    if [ ! -f "$dir/build.ninja" ]; then
        meson setup "$dir" "$@" >&2
    fi
    ninja -C "$dir" >&2
}

run_tests() { # build-dir
    local dir=$1 rc=0
    meson test -C "$dir" --print-errorlogs --num-processes 2 >&2 || rc=$?
    tools/test_summary.sh "$dir"
    return $rc
}

cmd=${1:-run}
case "$cmd" in
run)
    install_missing
    install_web
    build build
    ./build/src/cli/noderr backtest --strategy sma_cross
    echo
    # The main job: the validation suite on whatever history is present (./data, else
    # ../shared/data) plus the synthetic stress scenarios, which always run. Exit 1 from it
    # means a scenario failed its criteria, which is a result, not a broken set-up.
    rc=0
    ./build/src/cli/noderr validate --strategy sma_cross || rc=$?
    [ "$rc" -le 1 ] || exit "$rc"
    ;;
test)
    install_missing
    install_web
    build build
    run_tests build
    ;;
asan)
    install_missing
    install_web
    build build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        run_tests build-asan
    ;;
bench)
    install_missing
    build build-release -Dbuildtype=release -Db_lto=true -Dtests=false -Ddebug_assertions=false
    # From the project root, so benchmarks find ../shared/data beside it.
    for b in build-release/bench/bench_*; do
        [ -x "$b" ] && [ -f "$b" ] || continue
        echo "== $b" >&2
        "$b"
    done
    ;;
fuzz)
    install_missing
    # Built by Meson with clang (-Dfuzz=true) in build-fuzz; one target after another, since the
    # machine is shared: each stops at FUZZ_RUNS executions or FUZZ_MAX_SECONDS, whichever comes
    # first, and the line printed says which. New corpus entries and crash inputs stay under
    # build-fuzz/ (a crash input belongs in tests/fuzz/regressions/<name>/ once fixed).
    runs=${FUZZ_RUNS:-10000000}
    max_s=${FUZZ_MAX_SECONDS:-600}
    FUZZ_JOBS=2 bash tests/fuzz/build.sh "$PWD" build-fuzz >&2
    rc=0
    for src in tests/fuzz/fuzz_*.c; do
        name=$(basename "$src" .c)
        name=${name#fuzz_}
        corpus=build-fuzz/corpus/$name
        mkdir -p "$corpus" build-fuzz/crashes
        cp tests/fuzz/corpus/$name/* "$corpus/" 2>/dev/null || true
        log=build-fuzz/fuzz_$name.log
        frc=0
        ASAN_OPTIONS=detect_leaks=1 "build-fuzz/tests/fuzz/fuzz_$name" -runs="$runs" \
            -max_total_time="$max_s" -max_len=4096 -seed=1 -print_final_stats=1 \
            -artifact_prefix="build-fuzz/crashes/$name-" "$corpus" >"$log" 2>&1 || frc=$?
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
        secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
        rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
        verdict=ok
        if [ "$frc" -ne 0 ]; then verdict="FAILED (exit $frc, see $log)"; rc=1; fi
        echo "fuzz_$name: ${execs:-?} executions in ${secs:-?} s (${rate:-?} exec/s), $verdict"
    done
    exit "$rc"
    ;;
*)
    echo "usage: ./dev.sh run|test|asan|bench|fuzz" >&2
    exit 2
    ;;
esac
