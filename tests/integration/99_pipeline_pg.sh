#!/usr/bin/env bash
# 99_pipeline_pg.sh: the deployment pipeline on the PostgreSQL store (a throwaway server from
# pg_env.sh; exits 77 saying so without the server binaries): the same registrations,
# promotions, a retirement and a rollback on PostgreSQL and on SQLite give byte-identical
# `noderr pipeline --json`, and both audit chains verify.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_env.sh"
trap 'pg_stop; rm -rf "$WORK"' EXIT
pg_start
PG="$NODERR_TEST_PG_URL"
SQ="sqlite:$WORK/p.db"
for fast in 5 6; do
    cat >"$WORK/c$fast.json" <<EOF2
{"name": "pl", "venue": {"name": "binance"}, "symbol": "BTC/USDT",
 "strategies": [{"builtin": "sma_cross", "params": {"fast": $fast}}]}
EOF2
done

# ops DB: the same sequence of operations on DB.
ops() {
    local db="$1" id5 id6
    expect_rc 0 "$NODERR" pipeline register --db "$db" --config "$WORK/c5.json" --operator ann \
        --now 2026-02-01T00:00:00Z --json
    id5=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["versions"][0]["id"])' "$OUT")
    expect_rc 0 "$NODERR" pipeline register --db "$db" --config "$WORK/c6.json" --operator ann \
        --now 2026-02-01T00:00:01Z --json
    id6=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["versions"][0]["id"])' "$OUT")
    expect_rc 0 "$NODERR" promote --db "$db" --version "$id5" --to production --force \
        --operator ann --reason "first" --now 2026-02-02T00:00:00Z
    expect_rc 0 "$NODERR" promote --db "$db" --version "$id6" --to production --force \
        --operator ann --reason "second" --now 2026-02-03T00:00:00Z
    expect_rc 0 "$NODERR" rollback --db "$db" --strategy sma_cross --reason "breaker" \
        --operator launch --now 2026-02-04T00:00:00Z
    expect_rc 0 "$NODERR" audit verify --db "$db"
    expect_rc 0 "$NODERR" pipeline --db "$db" --json
}

check "the same operations on PostgreSQL and SQLite: the same pipeline, chains that verify"
ops "$PG"
cp "$OUT" "$WORK/pg.json"
ops "$SQ"
cp "$OUT" "$WORK/sq.json"
cmp -s "$WORK/pg.json" "$WORK/sq.json" || fail "PostgreSQL and SQLite pipelines differ: $(diff "$WORK/pg.json" "$WORK/sq.json" | head -5)"
pycheck "$WORK/pg.json" '
st = sorted(v["stage"] for v in d["versions"])
assert st == ["dev", "production"], st
assert sum(len(v["history"]) for v in d["versions"]) == 7, d'
echo "ok"
