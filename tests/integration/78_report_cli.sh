#!/usr/bin/env bash
# 78_report_cli.sh: `noderr backtest --report FILE.html` without a browser: the page is
# self-contained and deterministic, its embedded chart data matches the run (equity per bar,
# drawdown, one marker per entry and exit), its monthly heatmap matches month-end equity from
# --equity-out, --report leaves --json unchanged, and the error paths (library not installed,
# unwritable path) exit 2 with a message and leave no file behind.
source "$(dirname "$0")/lib.sh"

WEB="$SOURCE_ROOT/web"
LIB="$WEB/node_modules/lightweight-charts/dist/lightweight-charts.standalone.production.js"

expect_usage_error "--report" "$NODERR" backtest --strategy sma_cross --report

check "library not installed (NODERR_WEB_DIR without it): exit 2 naming npm ci, no file"
expect_usage_error "npm ci --prefix web" \
    env NODERR_WEB_DIR="$WORK/no-web" "$NODERR" backtest --strategy sma_cross --bars 200 \
    --report "$WORK/none.html"
[ ! -e "$WORK/none.html" ] || fail "a report was written without the library"

# The library is installed by `npm ci --prefix web` (dev.sh does it); install it here when
# npm can, otherwise skip the rest saying why.
if [ ! -f "$LIB" ]; then
    if command -v npm >/dev/null 2>&1 && [ -f "$WEB/package-lock.json" ]; then
        echo "installing the charting library: npm ci --prefix $WEB"
        (flock 9; [ -f "$LIB" ] || npm ci --prefix "$WEB" --no-audit --no-fund >&2) \
            9>/tmp/noderr-web-npm.lock || true
    fi
    if [ ! -f "$LIB" ]; then
        echo "SKIP: $LIB absent and 'npm ci --prefix web' failed (no npm or no registry)"
        exit 77
    fi
fi

check "unwritable --report path: exit 2, no partial file"
expect_usage_error "cannot write" "$NODERR" backtest --strategy sma_cross --bars 200 \
    --report "$WORK/missing-dir/r.html"
[ ! -e "$WORK/missing-dir" ] || fail "the missing directory appeared"

check "--report writes a page and still prints the summary"
expect_rc 0 "$NODERR" backtest --strategy sma_cross --bars 3000 --report "$WORK/a.html" \
    --equity-out "$WORK/equity.csv"
stdout_has "total return"
[ -s "$WORK/a.html" ] || fail "no report written"
[ ! -e "$WORK/a.html.tmp" ] || fail "temporary file left behind"
head -c 15 "$WORK/a.html" | grep -qF '<!DOCTYPE html>' || fail "not an HTML page"

check "two runs give byte-identical pages"
expect_rc 0 "$NODERR" backtest --strategy sma_cross --bars 3000 --report "$WORK/b.html"
cmp -s "$WORK/a.html" "$WORK/b.html" || fail "two identical runs gave different reports"

check "--report does not change --json"
expect_rc 0 "$NODERR" backtest --strategy sma_cross --bars 3000 --json
cp "$OUT" "$WORK/plain.json"
expect_rc 0 "$NODERR" backtest --strategy sma_cross --bars 3000 --json --report "$WORK/c.html"
cmp -s "$OUT" "$WORK/plain.json" || fail "--report changed the JSON output"
cmp -s "$WORK/a.html" "$WORK/c.html" || fail "--json changed the report"

check "self-contained: the library inlined, no external script, style or link"
python3 - "$WORK/a.html" "$LIB" <<'EOF' || fail "page is not self-contained"
import re, sys
page = open(sys.argv[1], encoding="utf-8").read()
lib = open(sys.argv[2], encoding="utf-8").read()
assert lib.strip() in page, "library text not inlined verbatim"
tags = re.findall(r"<(?:script|link|img|iframe|style)\b[^>]*>", page, re.I)
for t in tags:
    assert not re.search(r"\b(src|href)\s*=", t, re.I), t
assert page.count("</script>") == 3, page.count("</script>")
assert '<meta name="viewport"' in page
EOF

check "embedded data matches the run: equity per bar, drawdown, markers"
python3 - "$WORK/a.html" "$WORK/plain.json" "$WORK/equity.csv" <<'EOF' || fail "chart data"
import csv, json, re, sys
page = open(sys.argv[1], encoding="utf-8").read()
run = json.load(open(sys.argv[2]))
rows = list(csv.DictReader(open(sys.argv[3])))
m = re.search(r'<script type="application/json" id="nd-data">(.*?)</script>', page, re.S)
data = json.loads(m.group(1))
assert data["title"] == "Backtest: sma_cross on BTC/USDT", data["title"]
s = data["scenarios"][0]
assert len(s["equity"]) == run["bars"] == len(rows) == 3000, len(s["equity"])
times = [p[0] for p in s["equity"]]
assert all(b > a for a, b in zip(times, times[1:])), "times not ascending"
assert times[0] * 1000 == int(rows[0]["ts"]), (times[0], rows[0])
for p, r in zip(s["equity"], rows):
    assert abs(p[1] - float(r["equity"])) <= 1e-6 * float(r["equity"]), (p, r)
assert len(s["drawdown"]) == 3000
dd_min = min(p[1] for p in s["drawdown"])
assert abs(dd_min / 100.0 - run["max_drawdown"]) < 1e-6, (dd_min, run["max_drawdown"])
assert all(p[1] <= 0 for p in s["drawdown"])
codes = [c for _, c in s["markers"]]
assert codes.count(0) == codes.count(1) == run["trades"] > 0, (codes.count(0), run["trades"])
assert codes.count(4) == len(run["breaker_events"]), (codes.count(4), run["breaker_events"])
assert [t for t, _ in s["markers"]] == sorted(t for t, _ in s["markers"])
assert set(t for t, _ in s["markers"]) <= set(times), "a marker off the bars"
EOF

check "monthly heatmap cells equal month-end equity ratios from --equity-out"
python3 - "$WORK/a.html" "$WORK/equity.csv" <<'EOF' || fail "monthly heatmap"
import csv, datetime, re, sys
page = open(sys.argv[1], encoding="utf-8").read()
rows = list(csv.DictReader(open(sys.argv[2])))
ends, base = {}, float(rows[0]["equity"])
for r in rows:
    d = datetime.datetime.fromtimestamp(int(r["ts"]) / 1000, datetime.timezone.utc)
    ends[(d.year, d.month)] = float(r["equity"])
table = re.search(r'<table class="heatmap">(.*?)</table>', page, re.S).group(1)
cells = {}
for year, body in re.findall(r'<tr><th scope="row">(\d+)</th>(.*?)</tr>', table, re.S):
    tds = re.findall(r"<td[^>]*>([^<]*)</td>", body)
    assert len(tds) == 13, (year, tds)
    for month, text in enumerate(tds[:12], 1):
        cells[(int(year), month)] = text
assert len(ends) >= 4, ends
for key in sorted(ends):
    want = ends[key] / base - 1.0
    base = ends[key]
    text = "%.1f" % (want * 100.0)
    if abs(want * 100.0) < 0.05:
        text = "0.0"
    assert cells[key] == text, (key, cells[key], text)
EOF

echo "78_report_cli: all checks passed"
