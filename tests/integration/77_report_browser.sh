#!/usr/bin/env bash
# 77_report_browser.sh: the three reports (backtest, evolve, validate) opened in headless
# Chromium, offline, at 1280 px and at a phone width (390 px): the page's script must finish
# with data-rendered="ok", no error shown and nothing on the console, every chart container
# (price, equity, drawdown, the Pareto member's equity) must hold canvases with its series'
# colour (read back from the canvases), the page must not scroll sideways on the phone, a
# sortable table must sort on a header click and a Pareto member must show its curve on a
# click. Screenshots are kept for a person to look at, as artifacts in
# BUILD/meson-logs/report-artifacts. Backtests run on the synthetic market and, when present, on
# ../shared/data/ETHUSDT-1h.csv. Skipped (77) when Chromium or the charting library is missing.
source "$(dirname "$0")/lib.sh"

WEB="$SOURCE_ROOT/web"
LIB="$WEB/node_modules/lightweight-charts/dist/lightweight-charts.standalone.production.js"
CHROMIUM="$(command -v chromium || true)"
if [ -z "$CHROMIUM" ]; then
    echo "SKIP: chromium is not installed (Debian package chromium); no browser to open reports"
    exit 77
fi
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

BUILD_DIR="$(cd "$(dirname "$NODERR")/../.." && pwd)"
ARTIFACTS="$BUILD_DIR/meson-logs/report-artifacts"
mkdir -p "$ARTIFACTS"
echo "artifacts (reports and screenshots): $ARTIFACTS"

# browser ARGS...: headless Chromium, loopback-free (file://), a fresh profile each time.
browser() {
    local profile
    profile="$(mktemp -d "$WORK/profile.XXXXXX")"
    timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --hide-scrollbars --force-device-scale-factor=1 --user-data-dir="$profile" \
        --virtual-time-budget=5000 "$@" 2>>"$WORK/chromium.log"
}

# check_dom DOM_FILE WIDTH: rendered ok, no error shown, canvases in every chart, no sideways
# scrolling wider than WIDTH. (Headless Chromium lays a window out at least 500 px wide, so
# phone widths are checked through check_frame instead.)
check_dom() {
    python3 - "$1" "$2" <<'EOF' || fail "rendered page check failed on $1 (width $2)"
import sys
from html.parser import HTMLParser
width = int(sys.argv[2])
class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.body, self.stack, self.canvases, self.errors_hidden = {}, [], {}, None
        self.errors_text, self.in_errors = "", False
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body":
            self.body = a
        if tag == "div" and a.get("id", "").startswith(("eq-", "dd-", "px-", "pf-")):
            self.canvases[a["id"]] = 0
            self.stack.append(a["id"])
        elif tag == "div" and self.stack:
            self.stack.append(None)
        if tag == "canvas":
            for s in self.stack:
                if s:
                    self.canvases[s] += 1
        if tag == "div" and a.get("id") == "nd-errors":
            self.errors_hidden = "hidden" in a
            self.in_errors = True
    def handle_endtag(self, tag):
        if tag == "div" and self.stack:
            self.stack.pop()
        if tag == "div":
            self.in_errors = False
    def handle_data(self, data):
        if self.in_errors:
            self.errors_text += data
p = Page()
p.feed(open(sys.argv[1], encoding="utf-8").read())
assert p.body.get("data-rendered") == "ok", ("not rendered", p.body, p.errors_text)
assert p.errors_hidden and not p.errors_text.strip(), ("errors shown", p.errors_text)
assert p.canvases, "no chart containers"
assert {"eq-", "dd-"} <= {k[:3] for k in p.canvases}, p.canvases
empty = [k for k, n in p.canvases.items() if n == 0]
assert not empty, ("chart containers without a canvas", empty)
page_width = int(p.body.get("data-page-width", "0"))
assert 0 < page_width <= width, ("page scrolls sideways", page_width, width)
print("  rendered ok, canvases per chart:", dict(sorted(p.canvases.items())),
      "page width", page_width)
EOF
}

# check_frame NAME WIDTH HEIGHT: loads the page in an iframe of that size (a real phone-width
# layout) from a harness page that reports what the page drew, then checks it like check_dom.
check_frame() {
    local name="$1" width="$2" height="$3" harness="$ARTIFACTS/.frame-$1-$2.html"
    cat >"$harness" <<HTML
<!DOCTYPE html><html><body style="margin:0">
<iframe id="f" src="$name.html" style="width:${width}px;height:${height}px;border:0"></iframe>
<pre id="result">pending</pre>
<script>
var f = document.getElementById('f');
f.onload = function () { setTimeout(function () {
  var out = {};
  try {
    var d = f.contentDocument, e = d.getElementById('nd-errors');
    out.rendered = d.body.dataset.rendered || null;
    out.pageWidth = d.documentElement.scrollWidth;
    out.viewport = d.documentElement.clientWidth;
    out.errorsHidden = e.hidden;
    out.errors = e.textContent;
    out.canvases = {};
    out.ink = {};
    /* A click on a sortable header sorts (aria-sort set); a click on Pareto member 2 shows
     * its curve (the page records which member it shows). */
    var th = d.querySelector('table.sortable thead th');
    if (th) { th.click(); out.sorted = th.getAttribute('aria-sort'); }
    var member = d.querySelector('[data-member="1"]');
    if (member) {
      member.dispatchEvent(new MouseEvent('click', { bubbles: true }));
      out.member = d.body.dataset.member;
    }
    /* Pixels of the series colour drawn in each chart: the equity line is #2563eb and the
     * drawdown line #dc2626 (a blank or broken chart has none). */
    d.querySelectorAll('div.chart').forEach(function (c) {
      var blue = c.id.indexOf('eq-') === 0 || c.id.indexOf('pf-') === 0;
      var want = blue ? [37, 99, 235] : [220, 38, 38], ink = 0;
      out.canvases[c.id] = c.querySelectorAll('canvas').length;
      c.querySelectorAll('canvas').forEach(function (cv) {
        if (!cv.width || !cv.height) return;
        var px = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height).data;
        for (var k = 0; k < px.length; k += 4) {
          if (px[k + 3] > 200 && Math.abs(px[k] - want[0]) < 30 &&
              Math.abs(px[k + 1] - want[1]) < 30 && Math.abs(px[k + 2] - want[2]) < 30) ink++;
        }
      });
      out.ink[c.id] = ink;
    });
  } catch (err) { out.error = String(err); }
  document.getElementById('result').textContent = JSON.stringify(out);
}, 1000); };
</script></body></html>
HTML
    browser --allow-file-access-from-files --window-size=$((width + 100)),$((height + 200)) \
        --dump-dom "file://$harness" \
        >"$WORK/$name-frame-$width.dom" || fail "chromium failed on the $width px harness"
    rm -f "$harness"
    python3 - "$WORK/$name-frame-$width.dom" "$width" <<'EOF' || fail "$name at $width px"
import html, json, re, sys
dom = open(sys.argv[1], encoding="utf-8").read()
r = json.loads(html.unescape(re.search(r'<pre id="result">(.*?)</pre>', dom, re.S).group(1)))
width = int(sys.argv[2])
assert "error" not in r, r
assert r["rendered"] == "ok", r
assert r["errorsHidden"] and not r["errors"].strip(), r
assert r["canvases"] and all(n > 0 for n in r["canvases"].values()), r
assert 0 < r["viewport"] <= width, r
assert r["pageWidth"] <= r["viewport"], ("page scrolls sideways", r)
assert r.get("sorted", "ascending") == "ascending", ("header click did not sort", r)
assert r.get("member", "1") == "1", ("a Pareto member click did not show its curve", r)
thin = {k: v for k, v in r["ink"].items() if v < 150}
assert not thin, ("a chart drew (almost) nothing of its series", r["ink"])
print("  %d px: rendered ok, canvases %s, series pixels %s, page width %d of %d" %
      (width, r["canvases"], r["ink"], r["pageWidth"], r["viewport"]))
EOF
}

# check_png FILE WIDTH HEIGHT: a PNG screenshot of that size (its pixels were checked live).
check_png() {
    python3 - "$1" "$2" "$3" <<'EOF' || fail "screenshot $1"
import struct, sys
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", "not a PNG"
size = struct.unpack(">II", data[16:24])
assert size == (int(sys.argv[2]), int(sys.argv[3])), size
assert len(data) > 20000, ("suspiciously small screenshot", len(data))
EOF
}

# open_report NAME: the page $ARTIFACTS/NAME.html at desktop and phone sizes (four browser
# runs: the DOM at 1280 px with the console captured, a 390 px frame, two screenshots).
open_report() {
    local name="$1" page="file://$ARTIFACTS/$1.html"
    check "$name: desktop 1280x900 renders every chart, nothing on the console"
    browser --window-size=1280,900 --enable-logging=stderr --v=0 --dump-dom "$page" \
        >"$WORK/$name-desktop.dom" 2>"$WORK/console.log" ||
        fail "chromium failed on $page (see $WORK/chromium.log)"
    if grep -E 'CONSOLE|Uncaught' "$WORK/console.log"; then
        fail "$name: the page wrote to the console"
    fi
    check_dom "$WORK/$name-desktop.dom" 1280
    check "$name: phone 390x844 in a frame: charts drew their series, no sideways scrolling"
    check_frame "$name" 390 844
    check "$name: screenshots (artifacts)"
    browser --window-size=1280,2400 --screenshot="$ARTIFACTS/$name-desktop.png" "$page" >/dev/null
    check_png "$ARTIFACTS/$name-desktop.png" 1280 2400
    browser --window-size=390,2400 --screenshot="$ARTIFACTS/$name-phone.png" "$page" >/dev/null
    check_png "$ARTIFACTS/$name-phone.png" 390 2400
    echo "  screenshots: $ARTIFACTS/$name-{desktop,phone}.png"
}

check "synthetic market: backtest --report"
expect_rc 0 "$NODERR" backtest --strategy sma_cross --bars 3000 \
    --report "$ARTIFACTS/backtest-synthetic.html"
open_report backtest-synthetic

check "validate --report (synthetic scenarios; history ones skipped without data)"
mkdir -p "$WORK/none"
"$NODERR" validate --strategy sma_cross --data-dir "$WORK/none" \
    --report "$ARTIFACTS/validate.html" >/dev/null || true
[ -s "$ARTIFACTS/validate.html" ] || fail "validate wrote no report"
open_report validate

check "evolve --report (walk-forward over 3000 hourly bars)"
python3 - "$WORK/bars.csv" <<'EOF'
import math, sys
with open(sys.argv[1], "w") as f:
    f.write("ts,open,high,low,close,volume\n")
    px = 100.0
    for i in range(3000):
        nxt = px * (1 + 0.004 * math.sin(i / 40.0) + 0.002 * math.sin(i / 7.0))
        hi, lo = max(px, nxt) * 1.001, min(px, nxt) * 0.999
        f.write("%d,%.4f,%.4f,%.4f,%.4f,10\n" % (1577836800000 + i * 3600000, px, hi, lo, nxt))
        px = nxt
EOF
expect_rc 0 "$NODERR" evolve --strategy sma_cross --data "$WORK/bars.csv" --population 12 \
    --generations 4 --walk-forward 1000:500 --threads 1 --out "$WORK/params.json" \
    --report "$ARTIFACTS/evolve.html"
open_report evolve

if [ -f "$SHARED/data/ETHUSDT-1h.csv" ]; then
    check "ETHUSDT-1h.csv: backtest --report (35k bars, candles, buy and hold)"
    expect_rc 0 "$NODERR" backtest --data "$SHARED/data/ETHUSDT-1h.csv" --strategy sma_cross \
        --report "$ARTIFACTS/backtest-ethusdt-1h.html"
    open_report backtest-ethusdt-1h
else
    echo "SKIP: $SHARED/data/ETHUSDT-1h.csv absent, real-data report not checked"
fi

echo "77_report_browser: all checks passed; artifacts in $ARTIFACTS"
