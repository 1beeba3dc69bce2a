#!/usr/bin/env bash
# 76_validate_report.sh: `noderr validate --report FILE.html` writes one self-contained page
# holding every scenario, and --json stays the same with or without --report. Skipped (77) when
# the charting library is not installed under web/ (npm ci --prefix web).
source "$(dirname "$0")/lib.sh"

WEB="${NODERR_WEB_DIR:-$SOURCE_ROOT/web}"
if [ ! -f "$WEB/node_modules/lightweight-charts/dist/lightweight-charts.standalone.production.js" ]; then
    echo "skip: the charting library is not installed in $WEB (npm ci --prefix web)"
    exit 77
fi
DATA_DIR="$WORK/nodata"
mkdir -p "$DATA_DIR"
[ -f "$SHARED/data/BTCUSDT-1h.csv" ] && DATA_DIR="$SHARED/data"

check "--report writes a self-contained HTML page"
run "$NODERR" validate --strategy sma_cross --data-dir "$DATA_DIR" --json --report "$WORK/r.html"
[ "$RC" -eq 0 ] || [ "$RC" -eq 1 ] || fail "exit $RC"
cp "$OUT" "$WORK/with.json"
[ -s "$WORK/r.html" ] || fail "no report written"
grep -q "<html" "$WORK/r.html" || fail "not HTML"
for name in flash-crash liquidity-crisis gap-down covid-crash-2020; do
    grep -q "$name" "$WORK/r.html" || fail "$name not in the report"
done
if grep -qE '<script[^>]+src=|<link[^>]+href="http' "$WORK/r.html"; then
    fail "the report loads something from outside"
fi

check "--json is the same with and without --report"
run "$NODERR" validate --strategy sma_cross --data-dir "$DATA_DIR" --json
cmp -s "$OUT" "$WORK/with.json" || fail "--report changed the JSON"

check "the same inputs give the same report bytes"
run "$NODERR" validate --strategy sma_cross --data-dir "$DATA_DIR" --report "$WORK/r2.html"
cmp -s "$WORK/r.html" "$WORK/r2.html" || fail "two reports differ"

expect_usage_error "--report" "$NODERR" validate --strategy sma_cross --data-dir "$DATA_DIR" \
    --scenario gap-down --report /nonexistent/dir/r.html

# The page goes through nd_file_write: a device named by --report is written in place and a
# failure is exit 2 naming it; a rename onto it would replace the node (run as root, --report
# /dev/full turned the device into a regular file). Reached through a link in $WORK, so a
# regression replaces only the link.
ln -s /dev/full "$WORK/full"
expect_usage_error "--report $WORK/full: $WORK/full: No space left on device" \
    "$NODERR" validate --strategy sma_cross --data-dir "$DATA_DIR" --scenario gap-down \
    --report "$WORK/full"
[ -L "$WORK/full" ] || fail "validate --report replaced the link to the device"
[ -c /dev/full ] || fail "/dev/full is no longer a character device"
[ ! -e "$WORK/full.tmp" ] || fail "a temporary file was left next to the device"

echo "76_validate_report: all checks passed"
