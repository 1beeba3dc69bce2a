#!/usr/bin/env bash
# 84_store_pg.sh: the PostgreSQL backend against a real server: starts a throwaway cluster on
# 127.0.0.1 (pg_env.sh), runs the store contract suite (tests/unit/test_store_contract, suite
# contract_pg, which needs NODERR_TEST_PG_URL) and then the CLI end to end: backtest --db
# postgresql://..., audit verify, tampering through psql (records and the store's head),
# retention and a report. Exits 77, saying so, when the PostgreSQL server binaries are not installed.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_env.sh"
trap 'pg_stop; rm -rf "$WORK"' EXIT
pg_start
URL="$NODERR_TEST_PG_URL"
# recs DB EXPR: prints the Python EXPR evaluated over `r`, the records of DB decoded by
# `noderr audit export` (the store keeps each record as its canonical encoding).
recs() {
    "$NODERR" audit export --db "$1" --format json >"$WORK/export.json" || fail "export $1"
    python3 -c "import json, sys; r = json.load(open(sys.argv[1])); print($2)" "$WORK/export.json"
}

CONTRACT="$(dirname "$NODERR")/../../tests/unit/test_store_contract"
[ -x "$CONTRACT" ] || fail "contract test binary $CONTRACT not built"
check "the store contract suite on PostgreSQL"
"$CONTRACT" --jobs=1 --filter 'contract_pg/*' >"$WORK/contract.log" 2>&1 ||
    { cat "$WORK/contract.log" >&2; fail "contract suite failed on PostgreSQL"; }
grep -E "Synthesis: Tested: [1-9][0-9]* \| Passing: [1-9]" "$WORK/contract.log" ||
    { cat "$WORK/contract.log" >&2; fail "the PostgreSQL contract tests did not run"; }
grep -q "Failing: 0 | Crashing: 0" "$WORK/contract.log" || fail "contract failures"
psql -q "$URL" -c "DROP TABLE IF EXISTS records, schema_migrations, audit_head CASCADE;
    DROP FUNCTION IF EXISTS records_append_only() CASCADE" 2>/dev/null || fail "reset"

check "backtest --db postgresql:// records the run"
expect_rc 0 "$NODERR" backtest --strategy sma_cross --bars 3000 --db "$URL"
COUNT=$(psql -tA "$URL" -c "SELECT count(*) FROM records")
[ "$COUNT" -gt 50 ] || fail "only $COUNT records in PostgreSQL"
expect_rc 0 "$NODERR" audit verify --db "$URL" --json
pycheck "$OUT" "assert d['ok'] and d['verified'] == $COUNT, d"

check "the same run into SQLite gives the same trading records"
expect_rc 0 "$NODERR" backtest --strategy sma_cross --bars 3000 --db "$WORK/same.db"
for KIND in 1 2 3 4; do
    SUMS="(sum(x['kind'] == $KIND for x in r), sum(x['qty'] for x in r if x['kind'] == $KIND), sum(x['fee'] for x in r if x['kind'] == $KIND))"
    A=$(recs "$URL" "$SUMS")
    B=$(recs "$WORK/same.db" "$SUMS")
    [ "$A" = "$B" ] || fail "kind $KIND differs: postgresql $A, sqlite $B"
done
# Every trading record's content, apart from seq and hashes (the runs' config records differ).
FIELDS="[{k: v for k, v in x.items() if k not in ('seq', 'prev_hash', 'hash')} for x in r if x['kind'] in (1, 2, 3, 4)]"
[ "$(recs "$URL" "$FIELDS")" = "$(recs "$WORK/same.db" "$FIELDS")" ] || fail "trading records differ"

check "reports agree between the backends"
expect_rc 0 "$NODERR" report --db "$URL" --period annual:2024 --format json --out "$WORK/pg.json"
expect_rc 0 "$NODERR" report --db "$WORK/same.db" --period annual:2024 --format json --out "$WORK/sq.json"
cmp "$WORK/pg.json" "$WORK/sq.json" || fail "reports differ between PostgreSQL and SQLite"

check "tampering through psql is caught"
# qty's low byte is byte 48 of the stored encoding (docs/compliance-store.md).
psql -q "$URL" -c "ALTER TABLE records DISABLE TRIGGER records_append_only;
    UPDATE records SET encoding = set_byte(encoding, 48, get_byte(encoding, 48) # 1)
    WHERE seq = 30" || fail "psql update"
expect_rc 1 "$NODERR" audit verify --db "$URL" --json
pycheck "$OUT" "assert d['problem'] == 'altered' and d['seq'] == 30, d"
expect_rc 1 "$NODERR" retention apply --db "$URL" --now 2040-01-01
grep -q "refusing to prune" "$ERR" || fail "retention pruned a tampered chain"
psql -q "$URL" -c "UPDATE records SET encoding = set_byte(encoding, 48, get_byte(encoding, 48) # 1)
    WHERE seq = 30" || fail "psql undo"
expect_rc 0 "$NODERR" audit verify --db "$URL"

check "the store's head (audit_head) catches a cut tail, every record deleted, a deleted or rolled-back head"
psql -q "$URL" -c "CREATE TABLE rec_bak AS SELECT * FROM records;
    CREATE TABLE head_bak AS SELECT * FROM audit_head" || fail "backup"
LAST=$(psql -tA "$URL" -c "SELECT max(seq) FROM records")
# pg_head_case SQL PROBLEM SEQ TEXT: tamper, verify names PROBLEM at SEQ with TEXT, restore.
pg_head_case() {
    psql -q "$URL" -c "$1" || fail "psql: $1"
    expect_rc 1 "$NODERR" audit verify --db "$URL" --json
    pycheck "$OUT" "assert d['problem'] == '$2' and d['seq'] == $3 and '$4' in d['detail'], d"
    psql -q "$URL" -c "DELETE FROM records; INSERT INTO records SELECT * FROM rec_bak;
        DELETE FROM audit_head; INSERT INTO audit_head SELECT * FROM head_bak" || fail "restore"
    expect_rc 0 "$NODERR" audit verify --db "$URL" --json
    pycheck "$OUT" "assert d['ok'] and d['store_head_checked'] == 'table', d"
}
pg_head_case "DELETE FROM records WHERE seq = $LAST" deleted "$LAST" "records at the end were deleted"
pg_head_case "DELETE FROM records" deleted 1 "every record was deleted"
pg_head_case "DELETE FROM audit_head" head "$LAST" "is missing"
pg_head_case "UPDATE audit_head SET seq = $((LAST - 3)),
    hash = (SELECT hash FROM records WHERE seq = $((LAST - 3)))" head $((LAST - 2)) "rolled back"
psql -q "$URL" -c "DROP TABLE rec_bak, head_bak" || fail "drop backup"

psql -q "$URL" -c "DELETE FROM records WHERE seq = 31" || fail "psql delete"
expect_rc 1 "$NODERR" audit verify --db "$URL" --json
pycheck "$OUT" "assert d['problem'] == 'deleted' and d['seq'] == 31, d"
psql -q "$URL" -c "UPDATE records SET kind = 9 WHERE seq = 12" || fail "psql kind"
expect_rc 1 "$NODERR" audit verify --db "$URL" --json
pycheck "$OUT" "assert d['problem'] == 'altered' and d['seq'] == 12, d"

check "connection errors are named"
expect_usage_error "cannot connect" "$NODERR" audit verify --db "postgresql://nobody@127.0.0.1:1/x"
expect_usage_error "cannot connect" "$NODERR" backtest --strategy sma_cross --bars 10 \
    --db "postgresql://nobody@127.0.0.1:1/x"
echo "ok"
