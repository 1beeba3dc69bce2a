#!/usr/bin/env bash
# 85_retention_report.sh: `noderr retention apply` on a recorded run (hourly bars from
# 2024-01-01): dry run, the 7-year boundary to the hour, custom periods, a chain that still
# verifies after two prunes; a period below the legal minimum refused (exit 2) unless
# overridden with a reason, and the override recorded in the chain; `noderr report` for every period kind: deterministic bytes, CSV
# and JSON agreeing, months and quarters adding up exactly to the year.
source "$(dirname "$0")/lib.sh"
command -v sqlite3 >/dev/null || { echo "SKIP: the sqlite3 CLI is needed" >&2; exit 77; }

DB="$WORK/run.db"
expect_rc 0 "$NODERR" backtest --strategy sma_cross --bars 8000 --db "$DB"

check "reports are byte-identical run to run, to stdout or --out"
for P in daily:2024-01-15 monthly:2024-03 quarterly:2024-Q2 annual:2024; do
    expect_rc 0 "$NODERR" report --db "$DB" --period "$P" --format json
    cp "$OUT" "$WORK/a.json"
    expect_rc 0 "$NODERR" report --db "$DB" --period "$P" --format json --out "$WORK/b.json"
    cmp "$WORK/a.json" "$WORK/b.json" || fail "$P: report differs between runs"
    expect_rc 0 "$NODERR" report --db "$DB" --period "$P" --format csv --out "$WORK/b.csv"
    python3 - "$WORK/a.json" "$WORK/b.csv" <<'PY' || fail "$P: CSV and JSON disagree"
import csv, json, sys
d = json.load(open(sys.argv[1]))
rows = [r for r in csv.reader(open(sys.argv[2])) if r]
head = next(r for r in rows if r[0] == "section" and "fills" in r and "period" in r)
summary = next(r for r in rows if r[0] == "summary")
s = dict(zip(head, summary))
for key in ("fills", "volume", "fees", "realized_pnl", "orders_submitted"):
    assert str(d["summary"][key]) == s[key], (key, d["summary"][key], s[key])
PY
done

check "months and quarters add up exactly to the year"
python3 - "$NODERR" "$DB" <<'PY' || fail "periods do not add up"
import json, subprocess, sys
from decimal import Decimal
def rep(p):
    out = subprocess.run([sys.argv[1], "report", "--db", sys.argv[2], "--period", p,
                          "--format", "json"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)["summary"]
year = rep("annual:2024")
assert year["fills"] > 0, year
for parts in ([f"monthly:2024-{m:02d}" for m in range(1, 13)],
              [f"quarterly:2024-Q{q}" for q in range(1, 5)]):
    sums = [rep(p) for p in parts]
    for key in ("fills", "orders_submitted", "risk_rejects"):
        assert sum(s[key] for s in sums) == year[key], key
    for key in ("volume", "fees", "realized_pnl"):
        assert sum(Decimal(s[key]) for s in sums) == Decimal(year[key]), key
PY

check "retention: a dry run counts, changes nothing"
TOTAL=$(sqlite3 "$DB" "SELECT count(*) FROM records")
CUT="2024-03-01T00:00:00Z"     # now = 2031-03-01: trades recorded before CUT are past 7 years
OLD=$(sqlite3 "$DB" "SELECT count(*) FROM records WHERE kind IN (1,2,3,4) AND ts_ns < 1709251200000000000")
[ "$OLD" -gt 0 ] || fail "no records before $CUT"
expect_rc 0 "$NODERR" retention apply --db "$DB" --now 2031-03-01T00:00:00Z --dry-run --json
pycheck "$OUT" "assert d['dry_run'] and d['pruned'] == $OLD and d['by_class']['trades'] == $OLD \
and d['prune_seq'] == 0 and d['cutoffs']['trades'] == '$CUT', d"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM records")" = "$TOTAL" ] || fail "dry run deleted"

check "retention: one nanosecond before the period is kept"
expect_rc 0 "$NODERR" retention apply --db "$DB" --now 2031-02-28T23:59:59Z --dry-run --json
pycheck "$OUT" "assert d['pruned'] < $OLD, d"

check "retention apply prunes, records it, and the chain verifies"
expect_rc 0 "$NODERR" retention apply --db "$DB" --now 2031-03-01T00:00:00Z --json
pycheck "$OUT" "assert d['pruned'] == $OLD and d['prune_seq'] == $((TOTAL + 1)), d"
LEFT=$(sqlite3 "$DB" "SELECT count(*) FROM records WHERE kind IN (1,2,3,4) AND ts_ns < 1709251200000000000")
[ "$LEFT" = 0 ] || fail "$LEFT trading records before the cutoff survived"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM records WHERE kind = 11")" = 1 ] || fail "no prune record"
expect_rc 0 "$NODERR" audit verify --db "$DB" --json
pycheck "$OUT" "assert d['ok'] and d['pruned'] == $OLD and d['prune_records'] == 1 \
and d['verified'] == $((TOTAL + 1 - OLD)), d"

check "a period below the legal minimum is refused, naming class, period and minimum"
BEFORE=$(sqlite3 "$DB" "SELECT max(seq) FROM records")
expect_usage_error "retention of trades: 0 (keep nothing) asked, below the legal minimum of 7y" \
    "$NODERR" retention apply --db "$DB" --now 2031-03-01T00:00:00Z --keep trades=0y
expect_usage_error "retention of trades: 6y asked, below the legal minimum of 7y under US" \
    "$NODERR" retention apply --db "$DB" --now 2031-03-01T00:00:00Z --keep trades=6y --jurisdiction US
[ "$(sqlite3 "$DB" "SELECT max(seq) FROM records")" = "$BEFORE" ] || fail "a refused prune wrote"
expect_usage_error "needs a reason" "$NODERR" retention apply --db "$DB" --keep trades=6y \
    --below-legal-minimum ""

check "a second prune below the minimum with an override is recorded and still verifies"
expect_rc 0 "$NODERR" retention apply --db "$DB" --now 2031-03-01T00:00:00Z --keep trades=6y \
    --below-legal-minimum "regulator letter 2031-17" --json
pycheck "$OUT" "assert d['override_records'] == 1 and d['pruned'] > 0, d"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM records WHERE kind = 6 AND seq = $((BEFORE + 1))")" = 1 ] \
    || fail "no operator record of the override before the prune record"
expect_rc 0 "$NODERR" audit export --db "$DB" --format json
python3 - "$OUT" <<'PY' || fail "the override record does not name class, period, minimum and reason"
import json, sys
recs = [r for r in json.load(open(sys.argv[1])) if r["event"] == "retention_below_legal_minimum"]
assert len(recs) == 1, recs
r = recs[0]
assert "retention of trades set to 6y, below the legal minimum of 7y" in r["reason"], r
assert "regulator letter 2031-17" in r["reason"], r
d = json.loads(r["detail"])
assert d["class"] == "trades" and d["period"] == "6y" and d["legal_minimum"] == "7y", d
PY
expect_rc 0 "$NODERR" audit verify --db "$DB" --json
pycheck "$OUT" "assert d['ok'] and d['prune_records'] == 2, d"
cp "$DB" "$WORK/noprune.db"
sqlite3 "$WORK/noprune.db" "DELETE FROM records WHERE seq = $((TOTAL + 1))"
expect_rc 1 "$NODERR" audit verify --db "$WORK/noprune.db" --json
pycheck "$OUT" "assert d['problem'] == 'deleted', d"

check "usage errors"
expect_usage_error "--keep" "$NODERR" retention apply --db "$DB" --keep trades=7x
expect_usage_error "ISO-8601" "$NODERR" retention apply --db "$DB" --now yesterday
expect_usage_error "quarterly:YYYY-Qn" "$NODERR" report --db "$DB" --period quarterly:2024-Q5 --format csv
expect_usage_error "not csv or json" "$NODERR" report --db "$DB" --period annual:2024 --format xml
expect_usage_error "no such database" "$NODERR" report --db "$WORK/none.db" --period annual:2024
echo "ok"
