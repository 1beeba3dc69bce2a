#!/usr/bin/env bash
# 66_strategy_sdk.sh: the strategy SDK end to end. `meson install --destdir` into a temporary
# tree; the installed headers compile alone; the installed `noderr strategy new mysma` scaffolds
# a project that builds out of tree with Meson against the installed SDK (PKG_CONFIG_PATH);
# the plugin backtests (the same fills as the built-in sma_cross), validates (one synthetic
# scenario) and evolves (a tiny GA) through --strategy-lib; the installed binary writes a
# report with the charting library from another directory; and every refusal of the loader
# and the resolver exits 2 naming the path and why.
source "$(dirname "$0")/lib.sh"

BUILD="${ND_BUILD_ROOT:-}"
PLUGINS="${ND_TEST_PLUGIN_DIR:-}"
if [ -z "$BUILD" ] || [ -z "$PLUGINS" ]; then
    echo "skip: ND_BUILD_ROOT / ND_TEST_PLUGIN_DIR not set (run through meson test)"
    exit 77
fi
for tool in meson ninja pkg-config cc; do
    command -v "$tool" >/dev/null || { echo "skip: $tool is not installed"; exit 77; }
done
unset NODERR_WEB_DIR

check "meson install --destdir gives a binary, libnoderr, noderr.pc, the headers and the man page"
DEST="$WORK/inst"
meson install -C "$BUILD" --no-rebuild --quiet --destdir "$DEST" >"$WORK/install.log" 2>&1 ||
    { cat "$WORK/install.log" >&2; fail "meson install"; }
INSTALLED=$(find "$DEST" -path '*/bin/noderr' -type f | head -1)
PC=$(find "$DEST" -name noderr.pc | head -1)
[ -x "$INSTALLED" ] || fail "no installed bin/noderr under $DEST"
[ -n "$PC" ] || fail "no noderr.pc under $DEST"
find "$DEST" -name 'libnoderr.so*' | grep -q . || fail "no libnoderr.so"
find "$DEST" -path '*/man1/noderr.1' | grep -q . || fail "no man page"
export PKG_CONFIG_PATH="$(dirname "$PC")"
CFLAGS_SDK=$(pkg-config --cflags noderr)
INCLUDE_DIR=$(pkg-config --variable=includedir noderr)
[ -f "$INCLUDE_DIR/noderr/strategy_plugin.h" ] || fail "pkg-config's includedir $INCLUDE_DIR"

check "every installed header compiles on its own"
for h in "$INCLUDE_DIR"/noderr/*.h; do
    # shellcheck disable=SC2086 # word splitting of the flags is meant
    echo "#include <noderr/$(basename "$h")>" | cc -std=c17 -Wall -Wextra -Werror -fsyntax-only \
        $CFLAGS_SDK -x c - 2>"$ERR" || fail "$(basename "$h") is not self-contained"
done

check "strategy new scaffolds a project; an existing dir and bad names are refused"
mkdir -p "$WORK/proj" "$WORK/elsewhere"
cd "$WORK/proj"
expect_rc 0 "$INSTALLED" strategy new mysma
for f in mysma/meson.build mysma/src/mysma.c mysma/README.md; do
    [ -s "$f" ] || fail "strategy new did not write $f"
done
grep -q "dependency('noderr')" mysma/meson.build || fail "meson.build does not use pkg-config noderr"
expect_usage_error "mysma already exists" "$INSTALLED" strategy new mysma
expect_usage_error "'9lives' is not a strategy name" "$INSTALLED" strategy new 9lives
expect_usage_error "'Bad-Name' is not a strategy name" "$INSTALLED" strategy new Bad-Name
expect_usage_error "'sma_cross' is a built-in strategy's name" "$INSTALLED" strategy new sma_cross
expect_usage_error "missing the strategy NAME" "$INSTALLED" strategy new
expect_usage_error "unknown subcommand 'old'" "$INSTALLED" strategy old x

check "the project builds out of tree against the installed SDK"
(cd mysma && meson setup build >"$WORK/setup.log" 2>&1 && ninja -C build >>"$WORK/setup.log" 2>&1) ||
    { tail -30 "$WORK/setup.log" >&2; fail "building the scaffolded project"; }
LIB="$WORK/proj/mysma/build/mysma.so"
[ -f "$LIB" ] || fail "no $LIB"

cd "$WORK/elsewhere"
if have_shared && [ -f "$SHARED/data/ETHUSDT-1h.csv" ]; then
    BARS=(--data "$SHARED/data/ETHUSDT-1h.csv")
else
    BARS=(--bars 8000 --seed 7)
fi

check "strategies --strategy-lib lists the plugin's schema"
expect_rc 0 "$INSTALLED" strategies --strategy-lib "$LIB" --json
pycheck "$OUT" '
(s,) = d["strategies"]
assert s["name"] == "mysma"
assert [(p["name"], p["min"], p["max"], p["default"]) for p in s["params"]] == \
    [("fast", 2, 1000, 10), ("slow", 3, 5000, 30)], s["params"]'

check "the plugin's fills equal the built-in sma_cross's (${BARS[*]})"
for params in "" "--param fast=7 --param slow=40"; do
    # shellcheck disable=SC2086 # params split into options
    expect_rc 0 "$INSTALLED" backtest --strategy-lib "$LIB" $params "${BARS[@]}" \
        --trades-out "$WORK/plugin.csv"
    # shellcheck disable=SC2086
    expect_rc 0 "$INSTALLED" backtest --strategy sma_cross $params "${BARS[@]}" \
        --trades-out "$WORK/builtin.csv"
    [ "$(wc -l <"$WORK/plugin.csv")" -gt 10 ] || fail "too few trades to compare"
    cut -d, -f2- "$WORK/plugin.csv" >"$WORK/p"
    cut -d, -f2- "$WORK/builtin.csv" >"$WORK/b"
    cmp -s "$WORK/p" "$WORK/b" || fail "fills differ ($params): $(diff "$WORK/p" "$WORK/b" | head -3)"
    grep -q '^mysma,' "$WORK/plugin.csv" || fail "trades not attributed to mysma"
done

check "PATH:NAME, PATH:NAME:WEIGHT next to a built-in, and --params as evolve writes them"
expect_rc 0 "$INSTALLED" backtest --strategy-lib "$LIB:mysma" --bars 2000 --json
pycheck "$OUT" 'assert d["bars"] == 2000 and d["trades"] >= 0'
expect_rc 0 "$INSTALLED" backtest --strategy-lib "$LIB:mysma:0.5" --strategy breakout:0.5 --bars 3000
stdout_has "mysma"
stdout_has "breakout"

check "validate runs the plugin on a synthetic scenario"
run "$INSTALLED" validate --strategy-lib "$LIB" --param fast=5 --param slow=20 \
    --scenario flash-crash --data-dir "$WORK/elsewhere" --json
[ "$RC" -eq 0 ] || [ "$RC" -eq 1 ] || fail "validate exited $RC"
pycheck "$OUT" '
assert d["strategy"] == "mysma", d["strategy"]
s = [x for x in d["scenarios"] if x["name"] == "flash-crash"][0]
assert s["status"] in ("pass", "fail"), s["status"]
assert s["metrics"]["bars"] == 2160'

check "evolve tunes the plugin's parameters; backtest reads the result with --params"
expect_rc 0 "$INSTALLED" evolve --strategy-lib "$LIB" --scenario flash-crash --population 8 \
    --generations 3 --seed 5 --min-trades 1 --out "$WORK/best.json"
pycheck "$WORK/best.json" '
assert d["strategy"] == "mysma"
p = d["params"]
assert 2 <= p["fast"] < p["slow"] <= 5000, p'
expect_rc 0 "$INSTALLED" backtest --strategy-lib "$LIB" --params "$WORK/best.json" "${BARS[@]}"
stdout_has "mysma on"

check "the installed binary writes a report with the charting library from another directory"
expect_rc 0 "$INSTALLED" backtest --strategy-lib "$LIB" --bars 2000 --report "$WORK/elsewhere/r.html"
[ "$(wc -c <"$WORK/elsewhere/r.html")" -gt 100000 ] || fail "report too small for the inlined library"
grep -q "LightweightCharts" "$WORK/elsewhere/r.html" || fail "the report lacks the charting library"
grep -q "mysma" "$WORK/elsewhere/r.html" || fail "the report does not name the strategy"

check "the loader's and the resolver's refusals exit 2 naming the path and why"
expect_usage_error "$WORK/none.so: No such file or directory" \
    "$INSTALLED" backtest --strategy-lib "$WORK/none.so" --bars 100
expect_usage_error "$WORK: not a regular file" "$INSTALLED" backtest --strategy-lib "$WORK" --bars 100
cp "$LIB" "$WORK/open.so"
chmod 0666 "$WORK/open.so"
expect_usage_error "writable by everyone" "$INSTALLED" backtest --strategy-lib "$WORK/open.so" --bars 100
expect_usage_error "built for strategy ABI 2, this noderr has ABI 1" \
    "$INSTALLED" validate --strategy-lib "$PLUGINS/plugin_bad_abi.so"
expect_usage_error "no noderr_strategy_plugin symbol" \
    "$INSTALLED" evolve --strategy-lib "$PLUGINS/plugin_bad_no_symbol.so" --scenario flash-crash
expect_usage_error "step must be >= 0" \
    "$INSTALLED" backtest --strategy-lib "$PLUGINS/plugin_bad_step.so" --bars 100
expect_usage_error "has no strategy 'other' (it offers: mysma)" \
    "$INSTALLED" backtest --strategy-lib "$LIB:other" --bars 100
expect_usage_error "this command takes no strategy weight" \
    "$INSTALLED" validate --strategy-lib "$LIB:mysma:2"
expect_usage_error "is not PATH.so[:NAME[:WEIGHT]]" \
    "$INSTALLED" backtest --strategy-lib "$LIB:mysma:1:2" --bars 100
expect_usage_error "--strategy weight" "$INSTALLED" backtest --strategy-lib "$LIB:mysma:x" --bars 100
expect_usage_error "parameter 'fast' of mysma must be in [2, 1000], got 1" \
    "$INSTALLED" backtest --strategy-lib "$LIB" --param fast=1 --bars 100
expect_usage_error "evolve takes one strategy" \
    "$INSTALLED" evolve --strategy-lib "$LIB" --strategy sma_cross --scenario flash-crash
echo "ok"
