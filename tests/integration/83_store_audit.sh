#!/usr/bin/env bash
# 83_store_audit.sh: `noderr backtest --db` records a run into SQLite, `noderr audit verify`
# accepts it (text and JSON), and every kind of tampering done with the sqlite3 CLI behind
# the store's back is caught and named: altered, altered and re-hashed, deleted, deleted and
# renumbered, inserted (a copied row), reordered (two rows swapped), truncated (with --head),
# a kind or ts_ns column disagreeing with the stored encoding, a corrupt encoding; the store's
# own head (audit_head and DB.head) catching a deleted tail, every record deleted, a deleted or
# rolled-back head, a forged signed head; a non-database file refused. Each record
# is stored as its canonical encoding (the hashed bytes); `noderr audit export` decodes them.
source "$(dirname "$0")/lib.sh"
command -v sqlite3 >/dev/null || { echo "SKIP: the sqlite3 CLI is needed to tamper" >&2; exit 77; }

DB="$WORK/run.db"
check "backtest --db records the run"
expect_rc 0 "$NODERR" backtest --strategy sma_cross --bars 3000 --db "sqlite:$DB"
COUNT=$(sqlite3 "$DB" "SELECT count(*) FROM records")
[ "$COUNT" -gt 50 ] || fail "only $COUNT records"
FILLS=$(sqlite3 "$DB" "SELECT count(*) FROM records WHERE kind = 2")
[ "$FILLS" -gt 0 ] || fail "no fill recorded"
[ "$(sqlite3 "$DB" "SELECT max(version) FROM schema_migrations")" = 4 ] || fail "schema version"
# A new file of a bulk run is written with a rollback journal (ND_STORE_BULK: its records
# written once, not to a WAL and again at the checkpoint), left with no journal file; the next
# open of the store turns it to WAL.
[ "$(sqlite3 "$DB" "PRAGMA journal_mode")" = delete ] || fail "a new backtest store not in rollback mode"
[ ! -e "$DB-journal" ] && [ ! -e "$DB-wal" ] || fail "a journal or WAL left beside the store"

check "audit verify: every record verified"
expect_rc 0 "$NODERR" audit verify --db "$DB"
[ "$(sqlite3 "$DB" "PRAGMA journal_mode")" = wal ] || fail "not in WAL mode once reopened"
stdout_has "$COUNT records verified"
expect_rc 0 "$NODERR" audit verify --db "sqlite:$DB" --json
pycheck "$OUT" "assert d['ok'] is True and d['verified'] == $COUNT and d['last_seq'] == $COUNT, d"
HEAD=$(json_field "$OUT" head | tr -d '"')

check "the append-only trigger refuses an UPDATE through SQLite"
if sqlite3 "$DB" "UPDATE records SET ts_ns = 1 WHERE seq = 3" 2>"$WORK/trigger.err"; then
    fail "UPDATE was accepted"
fi
grep -q "append-only" "$WORK/trigger.err" || fail "trigger message missing"

# tamper NAME PROBLEM SEQ SQL: on a copy, run SQL, then verify must exit 1 naming PROBLEM at SEQ.
tamper() {
    local name="$1" problem="$2" seq="$3" sql="$4"
    check "tampering ($name) is reported as $problem at seq $seq"
    cp "$DB" "$WORK/$name.db"
    cp "$DB.head" "$WORK/$name.db.head"
    sqlite3 "$WORK/$name.db" "DROP TRIGGER records_append_only; $sql" || fail "sql for $name"
    expect_rc 1 "$NODERR" audit verify --db "$WORK/$name.db" --json
    pycheck "$OUT" "assert d['ok'] is False and d['problem'] == '$problem' and d['seq'] == $seq, d"
    expect_rc 1 "$NODERR" audit verify --db "$WORK/$name.db"
    stdout_has "$problem at seq $seq"
}
# bump OFFSET: SQL giving the stored encoding with its byte at OFFSET (from 0) changed.
bump() {
    echo "CAST(substr(encoding, 1, $1) || CASE WHEN substr(encoding, $(($1 + 1)), 1) = X'01'
        THEN X'02' ELSE X'01' END || substr(encoding, $(($1 + 2))) AS BLOB)"
}
# Offsets in the encoding (docs/compliance-store.md): the low bytes of px and fee, a string.
tamper altered altered 20 "UPDATE records SET encoding = $(bump 40) WHERE seq = 20"
tamper altered_fee altered 21 "UPDATE records SET encoding = $(bump 80) WHERE seq = 21"
tamper rehashed altered 20 "UPDATE records SET encoding = $(bump 102), hash = randomblob(32)
    WHERE seq = 20"
tamper ts_column altered 22 "UPDATE records SET ts_ns = ts_ns + 1 WHERE seq = 22"
tamper kind_column altered 23 "UPDATE records SET kind = 9 WHERE seq = 23"
tamper corrupt altered 24 "UPDATE records SET encoding = substr(encoding, 1, 60) WHERE seq = 24"
tamper deleted deleted 20 "DELETE FROM records WHERE seq = 20"
tamper renumbered deleted 20 "DELETE FROM records WHERE seq = 20;
    UPDATE records SET seq = seq + 100000 WHERE seq > 20;
    UPDATE records SET seq = seq - 100001 WHERE seq > 100000"
tamper inserted inserted 21 "UPDATE records SET seq = seq + 100000 WHERE seq > 20;
    UPDATE records SET seq = seq - 99999 WHERE seq > 100000;
    INSERT INTO records SELECT 21, ts_ns, kind, prev_hash, hash, encoding
        FROM records WHERE seq = 20"
tamper reordered reordered 20 "UPDATE records SET seq = -1 WHERE seq = 20;
    UPDATE records SET seq = 20 WHERE seq = 21; UPDATE records SET seq = 21 WHERE seq = -1"

# The store's own head: the audit_head table (same transaction as every batch) and the head
# file DB.head (written after each commit). Each case on a fresh copy of both.
copy_db() {
    cp "$DB" "$WORK/$1.db"
    cp "$DB.head" "$WORK/$1.db.head"
}
# head_case NAME PROBLEM SEQ TEXT: verify the copy NAME: exit 1 naming PROBLEM at SEQ, TEXT in
# the detail, in JSON and in text.
head_case() {
    expect_rc 1 "$NODERR" audit verify --db "$WORK/$1.db" --json
    pycheck "$OUT" "assert d['ok'] is False and d['problem'] == '$2' and d['seq'] == $3 \
and '$4' in d['detail'], d"
    expect_rc 1 "$NODERR" audit verify --db "$WORK/$1.db"
    stdout_has "$2 at seq $3"
}
check "the head file is written beside the database and names the last record"
[ "$(sed -n 2p "$DB.head")" = "seq $COUNT" ] || fail "head file: $(cat "$DB.head")"
[ "$(sed -n 3p "$DB.head")" = "hash $HEAD" ] || fail "head file hash"
[ "$(sqlite3 "$DB" "SELECT seq, lower(hex(hash)) FROM audit_head")" = "$COUNT|$HEAD" ] \
    || fail "audit_head table"

check "deleting the last record is caught without --head"
copy_db trunc
sqlite3 "$WORK/trunc.db" "DELETE FROM records WHERE seq > $((COUNT - 3))"
head_case trunc deleted $((COUNT - 2)) "records at the end were deleted"
expect_rc 1 "$NODERR" audit verify --db "$WORK/trunc.db" --head "$HEAD" --json
pycheck "$OUT" "assert d['problem'] == 'deleted' and d['seq'] == $((COUNT - 2)), d"
expect_rc 0 "$NODERR" audit verify --db "$DB" --head "$HEAD"

check "deleting every record is caught"
copy_db empty
sqlite3 "$WORK/empty.db" "DELETE FROM records"
head_case empty deleted 1 "every record was deleted"

check "deleting the tail and rewriting the head table to match: the head file catches it"
copy_db trunc2
sqlite3 "$WORK/trunc2.db" "DELETE FROM records WHERE seq = $COUNT;
    UPDATE audit_head SET seq = $((COUNT - 1)),
        hash = (SELECT hash FROM records WHERE seq = $((COUNT - 1)))"
head_case trunc2 deleted "$COUNT" "head file"

check "deleting the head row, or the head file, is caught"
copy_db nohead
sqlite3 "$WORK/nohead.db" "DELETE FROM audit_head"
head_case nohead head "$COUNT" "audit_head) is missing"
copy_db nofile
rm "$WORK/nofile.db.head"
head_case nofile head "$COUNT" "is missing: it was deleted"
copy_db badfile
echo "garbage" >"$WORK/badfile.db.head"
head_case badfile head "$COUNT" "unreadable"

check "rolling the head back (table and file) is caught"
copy_db rollback
OLD_HASH=$(sqlite3 "$DB" "SELECT lower(hex(hash)) FROM records WHERE seq = $((COUNT - 5))")
sqlite3 "$WORK/rollback.db" "UPDATE audit_head SET seq = $((COUNT - 5)), hash = X'$OLD_HASH'"
printf 'noderr-audit-head 1\nseq %d\nhash %s\nmac -\n' $((COUNT - 5)) "$OLD_HASH" \
    >"$WORK/rollback.db.head"
head_case rollback head $((COUNT - 4)) "the head was rolled back"

check "a signed head: a truncation with a head rewritten without the key is caught"
export NODERR_AUDIT_KEY="integration-test-key"
expect_rc 0 "$NODERR" backtest --strategy sma_cross --bars 300 --db "$WORK/signed.db"
expect_rc 0 "$NODERR" audit verify --db "$WORK/signed.db" --json
pycheck "$OUT" "assert d['ok'] and d['signature'] == 'verified', d"
grep -qE '^mac [0-9a-f]{64}$' "$WORK/signed.db.head" || fail "the head file is not signed"
SN=$(sqlite3 "$WORK/signed.db" "SELECT max(seq) FROM records")
SH=$(sqlite3 "$WORK/signed.db" "SELECT lower(hex(hash)) FROM records WHERE seq = $((SN - 1))")
sqlite3 "$WORK/signed.db" "DELETE FROM records WHERE seq = $SN;
    UPDATE audit_head SET seq = $((SN - 1)), hash = X'$SH', mac = randomblob(32)"
printf 'noderr-audit-head 1\nseq %d\nhash %s\nmac -\n' $((SN - 1)) "$SH" >"$WORK/signed.db.head"
expect_rc 1 "$NODERR" audit verify --db "$WORK/signed.db" --json
pycheck "$OUT" "assert d['problem'] == 'head' and 'signature does not match' in d['detail'], d"
unset NODERR_AUDIT_KEY
expect_rc 0 "$NODERR" audit verify --db "$WORK/signed.db" --json
pycheck "$OUT" "assert d['ok'] and d['signature'] == 'not checked (no key)', d"
echo "key" >"$WORK/key"
chmod 644 "$WORK/key"
NODERR_AUDIT_KEY_FILE="$WORK/key" run "$NODERR" audit verify --db "$DB"
[ "$RC" = 2 ] && grep -q "chmod 600" "$ERR" || fail "a key file readable by others was used"

check "a second run appends to the same chain"
expect_rc 0 "$NODERR" backtest --strategy mean_reversion --bars 500 --db "$DB"
expect_rc 0 "$NODERR" audit verify --db "$DB" --json
pycheck "$OUT" "assert d['ok'] and d['verified'] > $COUNT, d"
expect_rc 1 "$NODERR" audit verify --db "$DB" --head "$HEAD" --json
pycheck "$OUT" "assert d['problem'] == 'inserted' and d['seq'] == $((COUNT + 1)), d"

check "audit export decodes every record (CSV and JSON agree with the stored columns)"
expect_rc 0 "$NODERR" audit export --db "$DB" --format csv
cp "$OUT" "$WORK/export.csv"
expect_rc 0 "$NODERR" audit export --db "$DB" --format json
python3 - "$WORK/export.csv" "$OUT" "$DB" <<'PY' || fail "export disagrees"
import csv, json, sqlite3, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
docs = json.load(open(sys.argv[2]))
stored = sqlite3.connect(sys.argv[3]).execute(
    "SELECT seq, ts_ns, kind, hex(hash) FROM records ORDER BY seq").fetchall()
assert len(rows) == len(docs) == len(stored), (len(rows), len(docs), len(stored))
for r, d, (seq, ts, kind, h) in zip(rows, docs, stored):
    assert int(r["seq"]) == d["seq"] == seq and int(r["ts_ns"]) == d["ts_ns"] == ts
    assert int(r["kind"]) == d["kind"] == kind and r["hash"] == d["hash"] == h.lower()
    for k in ("event", "account", "instrument", "reason", "detail", "px", "qty", "fee"):
        assert r[k] == str(d[k]), (k, r[k], d[k])
fills = [d for d in docs if d["kind_name"] == "fill"]
assert fills and all(f["px"] > 0 and f["qty"] > 0 and f["side"] in (1, -1) for f in fills)
PY
cp "$DB" "$WORK/corrupt.db"
sqlite3 "$WORK/corrupt.db" "DROP TRIGGER records_append_only;
    UPDATE records SET encoding = substr(encoding, 1, 60) WHERE seq = 5"
expect_rc 2 "$NODERR" audit export --db "$WORK/corrupt.db"
grep -q "record 5 cannot be read" "$ERR" || fail "a corrupt record was exported"

check "usage errors"
expect_usage_error "no such database" "$NODERR" audit verify --db "$WORK/missing.db"
expect_usage_error "--db URL is required" "$NODERR" audit verify
expect_usage_error "expected 'verify' or 'export'" "$NODERR" audit check --db "$DB"
expect_usage_error "--format must be csv or json" "$NODERR" audit export --db "$DB" --format xml
echo "not a database" >"$WORK/junk.db"
expect_usage_error "not a database" "$NODERR" audit verify --db "$WORK/junk.db"

check "a file that is not a SQLite database is refused, never initialised"
: >"$WORK/empty.db"
for cmd in "audit verify" "audit export" "retention apply"; do
    # shellcheck disable=SC2086 # the command is two words
    expect_usage_error "an empty file, not a database" "$NODERR" $cmd --db "$WORK/empty.db"
done
expect_usage_error "an empty file, not a database" "$NODERR" backtest --strategy sma_cross \
    --bars 50 --db "$WORK/empty.db"
[ ! -s "$WORK/empty.db" ] || fail "the empty file was given a schema"
expect_usage_error "no SQLite header" "$NODERR" backtest --strategy sma_cross --bars 50 \
    --db "$WORK/junk.db"
[ "$(cat "$WORK/junk.db")" = "not a database" ] || fail "the junk file was changed"
mkdir "$WORK/dir.db"
expect_usage_error "a directory, not a database" "$NODERR" audit verify --db "$WORK/dir.db"
mkfifo "$WORK/fifo.db"
expect_usage_error "not a regular file" timeout 10 "$NODERR" audit verify --db "$WORK/fifo.db"
sqlite3 "$WORK/other.db" "CREATE TABLE t (x); INSERT INTO t VALUES (1)"
expect_usage_error "not a noderr store" "$NODERR" audit verify --db "$WORK/other.db"
[ "$(sqlite3 "$WORK/other.db" "SELECT count(*) FROM sqlite_master")" = 1 ] \
    || fail "another program's database was given our tables"
[ ! -e "$WORK/missing.db" ] || fail "audit verify created a missing file"
echo "ok"
