#!/usr/bin/env bash
# 50_metrics_cli.sh: `noderr metrics` on crafted return files. Values are recomputed here in
# plain python3 (empyrical conventions: ddof=1, wealth from 1, numpy-style linear percentile)
# and must agree within 1e-9; bad input exits 2 naming FILE:LINE.
source "$(dirname "$0")/lib.sh"

# verify JSON RETURNS_FILE PPY RISK_FREE REQUIRED CUTOFF: recompute and compare.
verify() {
    python3 - "$@" <<'EOF' || fail "metrics of $2 (ppy $3, rf $4, req $5, cutoff $6) disagree"
import json, math, sys
got = json.load(open(sys.argv[1]))
ppy, rf, req, cutoff = (float(x) for x in sys.argv[3:7])
r = []
for line in open(sys.argv[2]):
    line = line.strip()
    if line and line != "return":
        r.append(float(line))
n = len(r)

def mean(xs):
    return sum(xs) / len(xs)

def std(xs):
    m = mean(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))

def percentile(xs, q):
    s = sorted(xs)
    pos = (len(s) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)

wealth = [1.0]
for x in r:
    wealth.append(wealth[-1] * (1.0 + x))
total = wealth[-1] - 1.0
annual = (1.0 + total) ** (ppy / n) - 1.0
peak, mdd = wealth[0], 0.0
for w in wealth:
    peak = max(peak, w)
    mdd = min(mdd, w / peak - 1.0)
ex = [x - rf for x in r]
sharpe = mean(ex) / std(ex) * math.sqrt(ppy)
downside = math.sqrt(mean([min(x - req, 0.0) ** 2 for x in r])) * math.sqrt(ppy)
sortino = mean([x - req for x in r]) * ppy / downside
k = int((n - 1) * cutoff)
cvar = mean(sorted(r)[:k + 1])
cum = []
acc = 0.0
for x in r:
    acc += math.log1p(x)
    cum.append(acc)
t = list(range(n))
mt, mc = mean(t), mean(cum)
sxy = sum((a - mt) * (b - mc) for a, b in zip(t, cum))
sxx = sum((a - mt) ** 2 for a in t)
syy = sum((b - mc) ** 2 for b in cum)
want = {
    "count": n,
    "total_return": total,
    "annual_return": annual,
    "annual_volatility": std(r) * math.sqrt(ppy),
    "sharpe": sharpe,
    "sortino": sortino,
    "downside_risk": downside,
    "max_drawdown": mdd,
    "calmar": annual / abs(mdd),
    "var": percentile(r, 100.0 * cutoff),
    "cvar": cvar,
    "tail_ratio": abs(percentile(r, 95.0)) / abs(percentile(r, 5.0)),
    "stability": sxy * sxy / (sxx * syy),
}
bad = []
for key, w in want.items():
    g = got.get(key)
    if g is None or abs(g - w) > 1e-9 * max(1.0, abs(w)):
        bad.append("%s: got %r, want %r" % (key, g, w))
if bad:
    print("\n".join(bad), file=sys.stderr)
    sys.exit(1)
print("  %d metrics agree (sharpe %.12f)" % (len(want), want["sharpe"]))
EOF
}

RETURNS="$DATA/returns.txt"

check "metrics --json, periods 252: values recomputed independently agree within 1e-9"
expect_rc 0 "$NODERR" metrics --returns "$RETURNS" --periods-per-year 252 --json
cp "$OUT" "$WORK/m252.json"
verify "$WORK/m252.json" "$RETURNS" 252 0 0 0.05

check "metrics --json, default periods (365): the defaults are 365, rf 0, cutoff 0.05"
expect_rc 0 "$NODERR" metrics --returns "$RETURNS" --json
verify "$OUT" "$RETURNS" 365 0 0 0.05
cmp -s "$OUT" "$WORK/m252.json" && fail "--periods-per-year 252 changed nothing"

check "metrics --json with --risk-free, --required-return and --cutoff"
expect_rc 0 "$NODERR" metrics --returns "$RETURNS" --periods-per-year 8760 --risk-free 0.0002 \
    --required-return 0.001 --cutoff 0.1 --json
verify "$OUT" "$RETURNS" 8760 0.0002 0.001 0.1

check "one JSON object with the documented keys, reproducible byte for byte"
pycheck "$WORK/m252.json" '
keys = ["count", "total_return", "annual_return", "annual_volatility", "sharpe", "sortino",
        "max_drawdown", "calmar", "omega", "var", "cvar", "tail_ratio", "downside_risk",
        "stability"]
assert list(d) == keys, list(d)
assert d["count"] == 40
'
expect_rc 0 "$NODERR" metrics --returns "$RETURNS" --periods-per-year 252 --json
cmp -s "$OUT" "$WORK/m252.json" || fail "two metrics runs differ"

check "the optional 'return' header changes nothing"
expect_rc 0 "$NODERR" metrics --returns "$DATA/returns_header.txt" --periods-per-year 252 --json
cmp -s "$OUT" "$WORK/m252.json" || fail "header file gives different metrics"

check "CRLF endings and trailing blank lines change nothing"
expect_rc 0 "$NODERR" metrics --returns "$DATA/returns_crlf_trailing.txt" \
    --periods-per-year 252 --json
cmp -s "$OUT" "$WORK/m252.json" || fail "CRLF file gives different metrics"

check "the text table lists the metrics"
expect_rc 0 "$NODERR" metrics --returns "$RETURNS" --periods-per-year 252
for k in count sharpe sortino max_drawdown var cvar; do stdout_has "$k"; done
grep -qE '^sharpe +0\.416985$' "$OUT" || fail "text sharpe is not 0.416985"

check "undefined metrics are null: a single return"
printf '0.01\n' >"$WORK/one.txt"
expect_rc 0 "$NODERR" metrics --returns "$WORK/one.txt" --json
pycheck "$OUT" '
assert d["count"] == 1
assert abs(d["total_return"] - 0.01) < 1e-12, d["total_return"]
assert d["sharpe"] is None and d["annual_volatility"] is None, d
'

# Bad input: exit 2, FILE:LINE on stderr.
check "a bad line exits 2 naming FILE:LINE"
expect_rc 2 "$NODERR" metrics --returns "$DATA/returns_bad.txt" --json
grep -qF "$DATA/returns_bad.txt:7:" "$ERR" || fail "stderr does not name returns_bad.txt:7:"
grep -qF "0.01x" "$ERR" || fail "stderr does not quote the bad value"
[ ! -s "$OUT" ] || fail "a failed metrics run printed on stdout"

check "a blank line inside the data exits 2 naming its line"
expect_rc 2 "$NODERR" metrics --returns "$DATA/returns_blank_inside.txt"
grep -qF "$DATA/returns_blank_inside.txt:9:" "$ERR" || fail "no returns_blank_inside.txt:9:"

for v in inf nan 1e999 0x10 "1,5"; do
    check "return '$v' is refused with FILE:2:"
    printf '0.01\n%s\n0.02\n' "$v" >"$WORK/bad.txt"
    expect_rc 2 "$NODERR" metrics --returns "$WORK/bad.txt" --json
    grep -qF "$WORK/bad.txt:2:" "$ERR" || fail "value '$v': stderr does not name bad.txt:2:"
done

check "a 'return' header on a later line is a bad line"
printf '0.01\nreturn\n' >"$WORK/late_header.txt"
expect_rc 2 "$NODERR" metrics --returns "$WORK/late_header.txt"
grep -qF "$WORK/late_header.txt:2:" "$ERR" || fail "late header not reported at line 2"

check "a missing returns file exits 2 naming it"
expect_rc 2 "$NODERR" metrics --returns "$WORK/nope.txt"
grep -qF "$WORK/nope.txt" "$ERR" || fail "stderr does not name the missing file"

# Options and usage (these lived in the unit test, which included cmd_metrics.c to run them).
printf '0.01\n' >"$WORK/a.txt"
check "--help and -h print the usage, exit 0"
expect_rc 0 "$NODERR" metrics --help
stdout_has "usage: noderr metrics --returns FILE"
expect_rc 0 "$NODERR" metrics -h
stdout_has "usage: noderr metrics --returns FILE"
expect_usage_error "--returns FILE is required" "$NODERR" metrics --json
expect_usage_error "unknown or incomplete option '--frobnicate'" \
    "$NODERR" metrics --returns "$WORK/a.txt" --frobnicate
expect_usage_error "--cutoff '2': must be in [0, 1]" \
    "$NODERR" metrics --returns "$WORK/a.txt" --cutoff 2
expect_usage_error "--periods-per-year '-1': must be > 0" \
    "$NODERR" metrics --returns "$WORK/a.txt" --periods-per-year -1
expect_usage_error "--risk-free 'x': not a decimal number" \
    "$NODERR" metrics --returns "$WORK/a.txt" --risk-free x
expect_usage_error "unexpected argument 'extra'" "$NODERR" metrics --returns "$WORK/a.txt" extra

check "a header-only file: count 0, undefined metrics null"
printf 'return\n' >"$WORK/empty.txt"
expect_rc 0 "$NODERR" metrics --returns "$WORK/empty.txt" --json
pycheck "$OUT" '
assert d["count"] == 0 and d["total_return"] == 0.0, d
assert d["sharpe"] is None and d["var"] is None, d
'

check "undefined metrics with options: no losses, no downside"
printf '0.01\n0.02\n0.03\n' >"$WORK/up.txt"
expect_rc 0 "$NODERR" metrics --returns "$WORK/up.txt" --periods-per-year 8760 --cutoff 0.5 \
    --risk-free 0.001 --required-return 0 --json
pycheck "$OUT" '
assert d["sortino"] is None and d["omega"] is None and d["calmar"] is None, d
assert abs(d["var"] - 0.02) < 1e-12, d["var"]
assert abs(d["sharpe"] - 0.019 / 0.01 * math.sqrt(8760.0)) < 1e-9, d["sharpe"]
'

check "a NUL byte in a value is shown escaped, a byte order mark is skipped"
printf '0.01\n1\0\n' >"$WORK/nul.txt"
expect_usage_error "$WORK/nul.txt:2: not a decimal number: '1\\x00'" \
    "$NODERR" metrics --returns "$WORK/nul.txt"
printf '\xef\xbb\xbf0.01\n0.02\n' >"$WORK/bom.txt"
expect_rc 0 "$NODERR" metrics --returns "$WORK/bom.txt" --json
pycheck "$OUT" 'assert d["count"] == 2, d'

check "a directory or a FIFO is refused by name, without blocking"
expect_usage_error "$WORK: is a directory, not a regular file" "$NODERR" metrics --returns "$WORK"
mkfifo "$WORK/fifo"
expect_usage_error "is a FIFO (named pipe), not a regular file" \
    timeout 10 "$NODERR" metrics --returns "$WORK/fifo"

echo "50_metrics_cli: all checks passed"
