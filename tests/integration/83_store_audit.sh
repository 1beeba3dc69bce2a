#!/usr/bin/env bash
# 83_store_audit.sh: `noderr backtest --db` records a run into SQLite, `noderr audit verify`
# accepts it (text and JSON), and every kind of tampering done with the sqlite3 CLI behind
# the store's back is caught and named: altered, altered and re-hashed, deleted, deleted and
# renumbered, inserted (a copied row), reordered (two rows swapped), truncated (with --head).
source "$(dirname "$0")/lib.sh"
command -v sqlite3 >/dev/null || { echo "SKIP: the sqlite3 CLI is needed to tamper" >&2; exit 77; }

DB="$WORK/run.db"
check "backtest --db records the run"
expect_rc 0 "$NODERR" backtest --strategy sma_cross --bars 3000 --db "sqlite:$DB"
COUNT=$(sqlite3 "$DB" "SELECT count(*) FROM records")
[ "$COUNT" -gt 50 ] || fail "only $COUNT records"
FILLS=$(sqlite3 "$DB" "SELECT count(*) FROM records WHERE kind = 2")
[ "$FILLS" -gt 0 ] || fail "no fill recorded"
[ "$(sqlite3 "$DB" "SELECT max(version) FROM schema_migrations")" = 2 ] || fail "schema version"
[ "$(sqlite3 "$DB" "PRAGMA journal_mode")" = wal ] || fail "not in WAL mode"

check "audit verify: every record verified"
expect_rc 0 "$NODERR" audit verify --db "$DB"
stdout_has "$COUNT records verified"
expect_rc 0 "$NODERR" audit verify --db "sqlite:$DB" --json
pycheck "$OUT" "assert d['ok'] is True and d['verified'] == $COUNT and d['last_seq'] == $COUNT, d"
HEAD=$(json_field "$OUT" head | tr -d '"')

check "the append-only trigger refuses an UPDATE through SQLite"
if sqlite3 "$DB" "UPDATE records SET qty = 1 WHERE seq = 3" 2>"$WORK/trigger.err"; then
    fail "UPDATE was accepted"
fi
grep -q "append-only" "$WORK/trigger.err" || fail "trigger message missing"

# tamper NAME PROBLEM SEQ SQL: on a copy, run SQL, then verify must exit 1 naming PROBLEM at SEQ.
tamper() {
    local name="$1" problem="$2" seq="$3" sql="$4"
    check "tampering ($name) is reported as $problem at seq $seq"
    cp "$DB" "$WORK/$name.db"
    sqlite3 "$WORK/$name.db" "DROP TRIGGER records_append_only; $sql" || fail "sql for $name"
    expect_rc 1 "$NODERR" audit verify --db "$WORK/$name.db" --json
    pycheck "$OUT" "assert d['ok'] is False and d['problem'] == '$problem' and d['seq'] == $seq, d"
    expect_rc 1 "$NODERR" audit verify --db "$WORK/$name.db"
    stdout_has "$problem at seq $seq"
}
tamper altered altered 20 "UPDATE records SET px = px + 1 WHERE seq = 20"
tamper altered_fee altered 21 "UPDATE records SET fee = fee + 1 WHERE seq = 21"
tamper rehashed altered 20 "UPDATE records SET account = 'x', hash = randomblob(32) WHERE seq = 20"
tamper deleted deleted 20 "DELETE FROM records WHERE seq = 20"
tamper renumbered deleted 20 "DELETE FROM records WHERE seq = 20;
    UPDATE records SET seq = seq + 100000 WHERE seq > 20;
    UPDATE records SET seq = seq - 100001 WHERE seq > 100000"
tamper inserted inserted 21 "UPDATE records SET seq = seq + 100000 WHERE seq > 20;
    UPDATE records SET seq = seq - 99999 WHERE seq > 100000;
    INSERT INTO records SELECT 21, ts_ns, kind, side, event, account, strategy, venue,
        instrument, jurisdiction, client_order_id, venue_order_id, px, qty, px_scale,
        qty_scale, notional, fee, from_ns, to_ns, reason, detail, prev_hash, hash
        FROM records WHERE seq = 20"
tamper reordered reordered 20 "UPDATE records SET seq = -1 WHERE seq = 20;
    UPDATE records SET seq = 20 WHERE seq = 21; UPDATE records SET seq = 21 WHERE seq = -1"

check "truncation passes alone but not against the head noted earlier"
cp "$DB" "$WORK/trunc.db"
sqlite3 "$WORK/trunc.db" "DELETE FROM records WHERE seq > $((COUNT - 3))"
expect_rc 0 "$NODERR" audit verify --db "$WORK/trunc.db"
expect_rc 1 "$NODERR" audit verify --db "$WORK/trunc.db" --head "$HEAD" --json
pycheck "$OUT" "assert d['problem'] == 'deleted' and d['seq'] == $((COUNT - 2)), d"
expect_rc 0 "$NODERR" audit verify --db "$DB" --head "$HEAD"

check "a second run appends to the same chain"
expect_rc 0 "$NODERR" backtest --strategy mean_reversion --bars 500 --db "$DB"
expect_rc 0 "$NODERR" audit verify --db "$DB" --json
pycheck "$OUT" "assert d['ok'] and d['verified'] > $COUNT, d"
expect_rc 1 "$NODERR" audit verify --db "$DB" --head "$HEAD" --json
pycheck "$OUT" "assert d['problem'] == 'inserted' and d['seq'] == $((COUNT + 1)), d"

check "usage errors"
expect_usage_error "no such database" "$NODERR" audit verify --db "$WORK/missing.db"
expect_usage_error "--db URL is required" "$NODERR" audit verify
expect_usage_error "expected 'verify'" "$NODERR" audit check --db "$DB"
echo "not a database" >"$WORK/junk.db"
expect_usage_error "not a database" "$NODERR" audit verify --db "$WORK/junk.db"
echo "ok"
