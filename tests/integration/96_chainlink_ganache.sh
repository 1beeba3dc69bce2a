#!/usr/bin/env bash
# 96_chainlink_ganache.sh: `noderr oracle` against a real Ethereum node: ganache (npm) on
# 127.0.0.1 with our own AggregatorV3Interface feed (tests/chainlink/PriceFeed.sol, compiled by
# solc from npm and deployed by tests/chainlink/feed.js). The test sets rounds through the
# contract (a fresh answer, a negative one, a stale updatedAt, an answer carried from an older
# round) and reads each back. npm packages are installed with `npm ci` when node_modules is
# missing; without node/npm, or when the registry is unreachable, the test is skipped (77).
source "$(dirname "$0")/lib.sh"

CL="$SOURCE_ROOT/tests/chainlink"
command -v node >/dev/null && command -v npm >/dev/null || { echo "SKIP: node/npm absent"; exit 77; }
if [ ! -x "$CL/node_modules/.bin/ganache" ] || [ ! -d "$CL/node_modules/solc" ]; then
    (cd "$CL" && npm ci --no-audit --no-fund >"$WORK/npm.log" 2>&1) || {
        echo "SKIP: npm ci failed (no registry?):"; tail -5 "$WORK/npm.log"; exit 77; }
fi
GPID=""
cleanup() {
    [ -n "$GPID" ] && kill "$GPID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
RPC="http://127.0.0.1:$PORT"
node "$CL/node_modules/ganache/dist/node/cli.js" --server.host 127.0.0.1 --server.port "$PORT" \
    --logging.quiet --chain.chainId 1337 --wallet.deterministic >"$WORK/ganache.log" 2>&1 &
GPID=$!
for _ in $(seq 200); do
    curl -s -m 1 -X POST -H 'Content-Type: application/json' \
        --data '{"jsonrpc":"2.0","method":"eth_chainId","params":[],"id":1}' "$RPC" \
        | grep -q '"result"' && break
    kill -0 "$GPID" 2>/dev/null || { cat "$WORK/ganache.log"; fail "ganache exited"; }
    sleep 0.1
done

check "compile PriceFeed.sol with solc and deploy it"
export FEED_BUILD="$WORK/feed_build.json"
ADDR=$(node "$CL/feed.js" deploy "$RPC" 8 "ETH / USD") || fail "deploy failed"
[[ "$ADDR" =~ ^0x[0-9a-fA-F]{40}$ ]] || fail "bad contract address '$ADDR'"

setround() { node "$CL/feed.js" set "$RPC" "$ADDR" "$@" >/dev/null || fail "setRound $* failed"; }
NOW=$(date +%s)
PHASE=$(python3 -c 'print((3 << 64) | 10)')   # phase 3, aggregator round 10

check "a fresh answer reads back with the system clock (no --now)"
setround "$PHASE" 300012345678 $((NOW - 30)) $((NOW - 20)) "$PHASE"
expect_rc 0 "$NODERR" oracle --rpc "$RPC" --feed "$ADDR" --heartbeat 3600 --json
pycheck "$OUT" "
assert d['description'] == 'ETH / USD' and d['decimals'] == 8, d
assert d['round_id'] == '$PHASE' and d['phase_id'] == 3 and d['aggregator_round_id'] == 10
assert d['answer'] == '300012345678' and d['price'] == '3000.12345678'
assert d['updated_at'] == $((NOW - 20)) and 20 <= d['age_s'] <= 200
assert d['status'] == 'ok', d
"

check "a negative answer is decoded exactly and reported invalid (exit 1)"
setround 11 -250000000 "$NOW" "$NOW" 11
expect_rc 1 "$NODERR" oracle --rpc "$RPC" --feed "$ADDR" --now "$NOW" --json
pycheck "$OUT" "
assert d['answer'] == '-250000000' and d['price'] == '-2.50000000', d
assert d['status'] == 'invalid' and d['reason'] == 'invalid_answer'
"

check "an updatedAt older than the heartbeat is stale"
setround 12 200000000000 $((NOW - 7300)) $((NOW - 7200)) 12
expect_rc 1 "$NODERR" oracle --rpc "$RPC" --feed "$ADDR" --now "$NOW" --heartbeat 3600 --json
pycheck "$OUT" "assert d['reason'] == 'stale_heartbeat' and d['age_s'] == 7200, d"
expect_rc 0 "$NODERR" oracle --rpc "$RPC" --feed "$ADDR" --now "$NOW" --heartbeat 86400 --json

check "answeredInRound < roundId is stale; updatedAt 0 is invalid"
setround 13 200000000000 "$NOW" "$NOW" 12
expect_rc 1 "$NODERR" oracle --rpc "$RPC" --feed "$ADDR" --now "$NOW" --json
pycheck "$OUT" "assert d['reason'] == 'stale_round', d"
setround 14 200000000000 0 0 14
expect_rc 1 "$NODERR" oracle --rpc "$RPC" --feed "$ADDR" --now "$NOW" --json
pycheck "$OUT" "assert d['reason'] == 'invalid_no_update', d"

check "getRoundData reads an older round; an unknown round reverts"
expect_rc 0 "$NODERR" oracle --rpc "$RPC" --feed "$ADDR" --round "$PHASE" --now "$NOW" --json
pycheck "$OUT" "assert d['price'] == '3000.12345678' and d['round_id'] == '$PHASE', d"
expect_rc 2 "$NODERR" oracle --rpc "$RPC" --feed "$ADDR" --round 999
grep -q "reverted" "$ERR" || fail "no revert reported"

check "a dead first endpoint falls back to ganache"
DEAD="http://127.0.0.1:$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
expect_rc 0 "$NODERR" oracle --rpc "$DEAD,$RPC" --feed "$ADDR" --round "$PHASE" --now "$NOW" --json
pycheck "$OUT" "assert d['endpoint'] == 2 and d['failovers'] == 3, d"

echo "96_chainlink_ganache: all checks passed"
