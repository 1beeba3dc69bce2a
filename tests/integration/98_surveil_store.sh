#!/usr/bin/env bash
# 98_surveil_store.sh: the post-trade scan over the compliance store on SQLite, end to end: a
# backtest recorded with --db, crafted order events with a wash trade appended to the same
# store by store_craft.py (its own encoder: audit verify passing checks ours), `noderr surveil
# --db` printing exactly what the CSV scan of the same events prints, --record appending the
# alerts with evidence and an operator record, `noderr report` listing them, and the chain
# still verifying. Also the strict pre-trade mode of `noderr backtest --surveil-pretrade`.
source "$(dirname "$0")/lib.sh"
CRAFT="$DATA/store_craft.py"
EVENTS="$DATA/store_wash.csv"
DB="$WORK/run.db"
# recs DB EXPR: prints the Python EXPR evaluated over `r`, the records of DB decoded by
# `noderr audit export` (the store keeps each record as its canonical encoding).
recs() {
    "$NODERR" audit export --db "$1" --format json >"$WORK/export.json" || fail "export $1"
    python3 -c "import json, sys; r = json.load(open(sys.argv[1])); print($2)" "$WORK/export.json"
}

check "a backtest recorded with --db scans without alerts; the event count matches the records"
expect_rc 0 "$NODERR" backtest --strategy sma_cross --bars 2000 --db "sqlite:$DB"
expect_rc 0 "$NODERR" surveil --db "sqlite:$DB" --json
pycheck "$OUT" 'assert d == {"alerts": []}, d'
expect_rc 0 "$NODERR" surveil --db "$DB"
WANT=$(recs "$DB" "sum(x['kind'] == 2 or (x['kind'] == 1 and x['event'] in ('accepted', 'cancelled')) for x in r)")
[ "$WANT" -gt 20 ] || fail "only $WANT order events and fills recorded"
stdout_has "$WANT events scanned, 0 alerts"

check "crafted events appended by an independent encoder still verify"
python3 "$CRAFT" sqlite "$DB" "$EVENTS" >/dev/null || fail "store_craft.py"
expect_rc 0 "$NODERR" audit verify --db "$DB" --json
pycheck "$OUT" 'assert d["ok"] and d["verified"] > 0, d'

check "the store scan of the crafted day prints exactly what the CSV scan prints"
for MODE in "" "--json" "--jurisdiction US,EU,UK,SG --json"; do
    # shellcheck disable=SC2086 # MODE is a list of options
    expect_rc 0 "$NODERR" surveil --db "$DB" --from 2019-06-03 --to 2019-06-04 $MODE
    cp "$OUT" "$WORK/db.out"
    # shellcheck disable=SC2086
    expect_rc 0 "$NODERR" surveil --events "$EVENTS" $MODE
    cmp -s "$OUT" "$WORK/db.out" || { diff "$OUT" "$WORK/db.out" >&2; fail "outputs differ ($MODE)"; }
done
expect_rc 0 "$NODERR" surveil --db "$DB" --from 2019-06-03 --to 2019-06-04 --json
pycheck "$OUT" '
a = d["alerts"]
assert [(x["rule"], x["owner"], x["accounts"], x["order_ids"]) for x in a] == \
    [("wash_trading", "A1", ["A1"], ["w1", "w2"])], a
assert [t["price"] for t in a[0]["trades"]] == ["185.1", "185.12"]
'
check "the round trip outside the window and the cancelled quote raise nothing"
pycheck "$OUT" 'assert all("B1" not in x["accounts"] and "C1" not in x["accounts"] for x in d["alerts"])'
check "--to before the crafted day sees only the backtest"
expect_rc 0 "$NODERR" surveil --db "$DB" --to 2019-06-03
stdout_has "0 alerts"

BEFORE=$(sqlite3 "$DB" "SELECT count(*) FROM records")
check "--record appends each alert with its evidence and an operator record of the scan"
expect_rc 0 "$NODERR" surveil --db "$DB" --from 2019-06-03 --to 2019-06-04 \
    --jurisdiction US,EU --record
grep -qF "recorded 2 alerts and the scan" "$ERR" || fail "no confirmation on stderr"
AFTER=$(sqlite3 "$DB" "SELECT count(*) FROM records")
[ "$AFTER" -eq $((BEFORE + 3)) ] || fail "$BEFORE records before, $AFTER after (want +3)"
recs "$DB" "'|'.join([(x['event'], x['account'], x['reason']) for x in r if x['kind'] == 6][-1])" \
    >"$WORK/op"
grep -qF "surveillance_scan|surveil|post-trade scan of order events and fills from 2019-06-03 to 2019-06-04 under US,EU: 10 events from 10 records, 2 alerts" \
    "$WORK/op" || { cat "$WORK/op" >&2; fail "operator record"; }
expect_rc 0 "$NODERR" audit verify --db "$DB" --json
pycheck "$OUT" "assert d['ok'] and d['verified'] == $AFTER, d"

check "noderr report lists the alerts with their evidence"
expect_rc 0 "$NODERR" report --db "$DB" --period daily:2019-06-03 --format json
pycheck "$OUT" '
al = d["alerts"]
assert [(a["rule"], a["jurisdiction"]) for a in al] == [("wash_trading", "US"), ("wash_trading", "EU")], al
a = al[0]
assert a["accounts"] == ["A1"] and a["order_ids"] == ["w1", "w2"] and a["instrument"] == "AAPL", a
assert a["from"] == "2019-06-03T15:00:01Z" and a["to"] == "2019-06-03T15:00:11Z", a
ev = a["evidence"]
assert [(t["order_id"], t["side"], t["price"], t["qty"]) for t in ev["trades"]] == \
    [("w1", "buy", "185.1", "100"), ("w2", "sell", "185.12", "100")], ev
assert "scanned_at" in ev and "Exchange Act" in a["reason"]
assert d["summary"]["alerts"] == 2
'
expect_rc 0 "$NODERR" report --db "$DB" --period daily:2019-06-03 --jurisdiction EU --format csv
stdout_has "MAR Art. 12(1)(a)"

check "an edited alert is caught by the chain"
SEQ=$(recs "$DB" "[x['seq'] for x in r if x['kind'] == 7 and x['jurisdiction'] == 'EU'][0]")
# The reason is the encoding's ninth string; its first byte becomes 'X'.
OFF=$(recs "$DB" "(lambda x: 1 + 12 * 8 + sum(4 + len(x[k].encode()) for k in ('event', 'account', 'strategy', 'venue', 'instrument', 'jurisdiction', 'client_order_id', 'venue_order_id')) + 4)([x for x in r if x['seq'] == $SEQ][0])")
sqlite3 "$DB" "DROP TRIGGER records_append_only;
    UPDATE records SET encoding = CAST(substr(encoding, 1, $OFF) || 'X' || substr(encoding, $((OFF + 2))) AS BLOB)
    WHERE seq = $SEQ"
expect_rc 1 "$NODERR" audit verify --db "$DB" --json
pycheck "$OUT" "assert d['problem'] == 'altered' and d['seq'] == $SEQ, d"

check "bad store options are named"
expect_usage_error "no such database" "$NODERR" surveil --db "$WORK/missing.db"
expect_usage_error "not both" "$NODERR" surveil --db "$DB" --events "$EVENTS"
expect_usage_error "apply to --db only" "$NODERR" surveil --events "$EVENTS" --record
expect_usage_error "--from 'yesterday'" "$NODERR" surveil --db "$DB" --from yesterday
expect_usage_error "--to must be after --from" "$NODERR" surveil --db "$DB" --from 2019-06-04 \
    --to 2019-06-03
check "backtest --surveil-pretrade: market orders of one strategy never self-match; bad codes named"
expect_rc 0 "$NODERR" backtest --strategy sma_cross --bars 2000 --json
cp "$OUT" "$WORK/off.json"
expect_rc 0 "$NODERR" backtest --strategy sma_cross --bars 2000 --json --surveil-pretrade EU
cmp -s "$OUT" "$WORK/off.json" || fail "pre-trade mode changed a run it blocks nothing in"
expect_rc 0 "$NODERR" backtest --strategy sma_cross --bars 2000 --surveil-pretrade US
stdout_has "pre-trade blocks                 0 self-match, 0 hard limit (US)"
expect_usage_error "--surveil-pretrade: 'XX' is not one jurisdiction" "$NODERR" backtest \
    --strategy sma_cross --surveil-pretrade XX
echo "ok"
