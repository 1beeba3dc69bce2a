#!/usr/bin/env bash
# 86_backtest_db_crash.sh: group commit and crashes. `noderr backtest --db` batches its records
# (--db-commit-every N|Tms); a process killed with SIGKILL mid-run loses at most the open batch,
# and what it leaves behind is a store that `noderr audit verify` accepts, whose head file
# agrees with it (PATH.head at the chain's end, or PATH.head.next there when the kill landed
# between a commit and the head file's rename). Also: the option's parsing, and the batching
# of a complete run is invisible in its records.
source "$(dirname "$0")/lib.sh"
command -v sqlite3 >/dev/null || { echo "SKIP: the sqlite3 CLI is needed" >&2; exit 77; }

check "--db-commit-every takes N, Tms or N,Tms"
expect_usage_error "--db-commit-every" "$NODERR" backtest --bars 10 --db "$WORK/o.db" --db-commit-every 0
expect_usage_error "--db-commit-every" "$NODERR" backtest --bars 10 --db "$WORK/o.db" --db-commit-every 5,
expect_usage_error "--db-commit-every" "$NODERR" backtest --bars 10 --db "$WORK/o.db" --db-commit-every 10s
expect_usage_error "--db-commit-every" "$NODERR" backtest --bars 10 --db "$WORK/o.db" --db-commit-every 1,2,3
expect_rc 0 "$NODERR" backtest --strategy sma_cross --bars 3000 --db "$WORK/a.db" --db-commit-every 7
expect_rc 0 "$NODERR" backtest --strategy sma_cross --bars 3000 --db "$WORK/b.db" --db-commit-every 100000,5000ms
check "the batch size does not change what is recorded"
ROWS="SELECT kind, ts_ns > 0 FROM records WHERE kind IN (1, 2, 3, 4) ORDER BY seq"
[ "$(sqlite3 "$WORK/a.db" "$ROWS" | md5sum)" = "$(sqlite3 "$WORK/b.db" "$ROWS" | md5sum)" ] ||
    fail "records differ between batch sizes"
expect_rc 0 "$NODERR" audit verify --db "$WORK/a.db"

# head_agrees DB COUNT: PATH.head names seq COUNT, or PATH.head.next does (a pending rename).
head_agrees() {
    local want="seq $2"
    [ "$(sed -n 2p "$1.head" 2>/dev/null)" = "$want" ] && return 0
    [ "$(sed -n 2p "$1.head.next" 2>/dev/null)" = "$want" ] && return 0
    return 1
}

for delay in 0.2 0.35 0.5 0.65 0.8; do
    check "kill -9 after ${delay}s: the store verifies and its head file agrees"
    DB="$WORK/kill$delay.db"
    "$NODERR" backtest --strategy sma_cross --bars 2000000 --db "$DB" --db-commit-every 150,5ms \
        >/dev/null 2>"$ERR" &
    PID=$!
    # The delay counts from the first commit (its head file), not from the start: a slow build
    # (ASan) on a loaded machine may not have set the file up within the first delay.
    for _ in $(seq 300); do
        seq_now=$(sed -n 's/^seq //p' "$DB.head" 2>/dev/null || true)
        [ "${seq_now:-0}" -gt 2 ] && break
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.1
    done
    sleep "$delay"
    kill -9 "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    COUNT=$(sqlite3 "$DB" "SELECT count(*) FROM records")
    [ "$COUNT" -gt 2 ] || fail "nothing of the run was committed before the kill ($COUNT records)"
    END=$(sqlite3 "$DB" "SELECT count(*) FROM records WHERE kind = 6 AND seq > 2")
    [ "$END" = 0 ] || fail "a killed run has a backtest_end record"
    expect_rc 0 "$NODERR" audit verify --db "$DB" --json
    pycheck "$OUT" "assert d['ok'] and d['verified'] == $COUNT and d['store_head_seq'] == $COUNT, d"
    head_agrees "$DB" "$COUNT" || fail "head file $(cat "$DB.head") does not name seq $COUNT"
    check "a new run after the crash continues the chain"
    expect_rc 0 "$NODERR" backtest --strategy sma_cross --bars 2000 --db "$DB"
    expect_rc 0 "$NODERR" audit verify --db "$DB" --json
    pycheck "$OUT" "assert d['ok'] and d['verified'] > $COUNT, d"
    [ ! -e "$DB.head.next" ] || fail "a head file rename was left pending after a clean run"
done
echo "ok"
