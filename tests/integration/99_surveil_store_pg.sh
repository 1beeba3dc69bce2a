#!/usr/bin/env bash
# 99_surveil_store_pg.sh: the post-trade scan over the compliance store on PostgreSQL (a
# throwaway server from pg_env.sh; exits 77 saying so without the server binaries): a
# backtest recorded with --db postgresql://..., crafted events with a wash trade appended
# through psql by store_craft.py, `noderr surveil --db` printing what the CSV scan prints and
# what the same store in SQLite gives, --record, the report listing the alerts with evidence,
# and audit verify passing.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_env.sh"
trap 'pg_stop; rm -rf "$WORK"' EXIT
pg_start
URL="$NODERR_TEST_PG_URL"
CRAFT="$DATA/store_craft.py"
EVENTS="$DATA/store_wash.csv"
SQ="$WORK/same.db"
# recs DB EXPR: prints the Python EXPR evaluated over `r`, the records of DB decoded by
# `noderr audit export` (the store keeps each record as its canonical encoding).
recs() {
    "$NODERR" audit export --db "$1" --format json >"$WORK/export.json" || fail "export $1"
    python3 -c "import json, sys; r = json.load(open(sys.argv[1])); print($2)" "$WORK/export.json"
}

check "a backtest recorded into PostgreSQL and into SQLite, then the crafted events"
expect_rc 0 "$NODERR" backtest --strategy sma_cross --bars 2000 --db "$URL"
expect_rc 0 "$NODERR" backtest --strategy sma_cross --bars 2000 --db "$SQ"
python3 "$CRAFT" pg "$URL" "$EVENTS" >/dev/null || fail "store_craft.py into PostgreSQL"
python3 "$CRAFT" sqlite "$SQ" "$EVENTS" >/dev/null || fail "store_craft.py into SQLite"
expect_rc 0 "$NODERR" audit verify --db "$URL"

check "the scan over PostgreSQL equals the scan over SQLite and the CSV scan"
for MODE in "" "--json" "--from 2019-06-03 --to 2019-06-04 --jurisdiction US,UK --json"; do
    # shellcheck disable=SC2086 # MODE is a list of options
    expect_rc 0 "$NODERR" surveil --db "$URL" $MODE
    cp "$OUT" "$WORK/pg.out"
    # shellcheck disable=SC2086
    expect_rc 0 "$NODERR" surveil --db "$SQ" $MODE
    cmp -s "$OUT" "$WORK/pg.out" || { diff "$OUT" "$WORK/pg.out" >&2; fail "backends differ ($MODE)"; }
done
expect_rc 0 "$NODERR" surveil --events "$EVENTS" --jurisdiction US,UK --json
cmp -s "$OUT" "$WORK/pg.out" || fail "the PostgreSQL scan differs from the CSV scan"
pycheck "$OUT" '
assert [(a["rule"], a["jurisdiction"], a["order_ids"]) for a in d["alerts"]] == \
    [("wash_trading", "US", ["w1", "w2"]), ("wash_trading", "UK", ["w1", "w2"])], d'

check "--record into PostgreSQL: alerts with evidence, the scan's operator record, the chain verifies"
BEFORE=$(psql -tA "$URL" -c "SELECT count(*) FROM records")
expect_rc 0 "$NODERR" surveil --db "$URL" --from 2019-06-03 --to 2019-06-04 --record
AFTER=$(psql -tA "$URL" -c "SELECT count(*) FROM records")
[ "$AFTER" -eq $((BEFORE + 2)) ] || fail "$BEFORE records before, $AFTER after (want +2)"
OP=$(recs "$URL" "r[-1]['event'] + ' ' + r[-1]['account']")
[ "$OP" = "surveillance_scan surveil" ] || fail "last record is '$OP'"
expect_rc 0 "$NODERR" audit verify --db "$URL" --json
pycheck "$OUT" "assert d['ok'] and d['verified'] == $AFTER, d"
expect_rc 0 "$NODERR" report --db "$URL" --period monthly:2019-06 --format json
pycheck "$OUT" '
a = d["alerts"]
assert len(a) == 1 and a[0]["rule"] == "wash_trading" and a[0]["accounts"] == ["A1"], a
assert [t["order_id"] for t in a[0]["evidence"]["trades"]] == ["w1", "w2"], a
'
echo "ok"
