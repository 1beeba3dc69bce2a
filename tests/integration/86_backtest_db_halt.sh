#!/usr/bin/env bash
# 86_backtest_db_halt.sh: when the store cannot write, trading halts with a clear error rather
# than continuing unrecorded. The database is capped (sqlite:PATH?max_pages=N, SQLite's
# max_page_count: a full disk) so it fills mid-run: the backtest exits 2 naming the store's
# error, what was committed before still verifies, and nothing is half-written. Also: a bare
# path is a SQLite store, and a store that cannot be opened stops the run before it trades.
source "$(dirname "$0")/lib.sh"
command -v sqlite3 >/dev/null || { echo "SKIP: the sqlite3 CLI is needed" >&2; exit 77; }
# recs DB EXPR: prints the Python EXPR evaluated over `r`, the records of DB decoded by
# `noderr audit export` (the store keeps each record as its canonical encoding).
recs() {
    "$NODERR" audit export --db "$1" --format json >"$WORK/export.json" || fail "export $1"
    python3 -c "import json, sys; r = json.load(open(sys.argv[1])); print($2)" "$WORK/export.json"
}

check "an uncapped run records everything"
expect_rc 0 "$NODERR" backtest --strategy sma_cross --bars 8000 --db "$WORK/full.db"
FULL=$(sqlite3 "$WORK/full.db" "SELECT count(*) FROM records")
END=$(recs "$WORK/full.db" "sum(x['event'] == 'backtest_end' for x in r)")
[ "$END" = 1 ] || fail "the completed run has no backtest_end record"

check "a store that fills mid-run halts trading: exit 2 naming the error"
# Batches of 20 records, so that some are committed before the cap is reached.
expect_rc 2 "$NODERR" backtest --strategy sma_cross --bars 8000 --db-commit-every 20 \
    --db "sqlite:$WORK/capped.db?max_pages=12"
grep -q "database or disk is full" "$ERR" || fail "stderr does not name the store's error"
grep -q "trading halted" "$ERR" || fail "stderr does not say trading halted"
[ ! -s "$OUT" ] || fail "a summary was printed for a run that was not recorded"
KEPT=$(sqlite3 "$WORK/capped.db" "SELECT count(*) FROM records")
[ "$KEPT" -gt 2 ] && [ "$KEPT" -lt "$FULL" ] || fail "capped store holds $KEPT of $FULL records"
[ "$(recs "$WORK/capped.db" "sum(x['event'] == 'backtest_end' for x in r)")" = 0 ] ||
    fail "a halted run was marked complete"
check "what was committed before the failure verifies"
expect_rc 0 "$NODERR" audit verify --db "$WORK/capped.db" --json
pycheck "$OUT" "assert d['ok'] and d['verified'] == $KEPT, d"

check "the same run's records are a prefix of the complete run's"
TRADING="','.join('%d%s%d%d' % (x['kind'], x['event'], x['qty'], x['px']) for x in r if x['kind'] in (1, 2, 3, 4))"
A=$(recs "$WORK/capped.db" "$TRADING")
B=$(recs "$WORK/full.db" "$TRADING")
case "$B" in "$A"*) ;; *) fail "capped records are not a prefix of the full run" ;; esac

check "a store that cannot be opened stops the run before it trades"
expect_usage_error "--db" "$NODERR" backtest --strategy sma_cross --bars 100 --db "$WORK/no/such/dir/x.db"
expect_usage_error "max_pages must be" "$NODERR" backtest --strategy sma_cross --bars 100 \
    --db "sqlite:$WORK/x.db?max_pages=zero"
echo "ok"
