#!/usr/bin/env bash
# 95_chainlink_recorded.sh: `noderr oracle` against JSON-RPC servers on 127.0.0.1 that replay the
# recorded mainnet eth_call results (../shared/fixtures/chainlink): the decoded round and price,
# staleness from the recorded block time, and fallback across endpoints that are dead (nothing
# listening), hang (timeout), answer HTTP 500, answer a JSON-RPC error or answer garbage.
source "$(dirname "$0")/lib.sh"

FIX="$SHARED/fixtures/chainlink"
[ -f "$FIX/eth_call_latestRoundData_ETH-USD_block_26103003.json" ] || {
    echo "SKIP: $FIX absent"; exit 77; }
SERVER="$SOURCE_ROOT/tests/chainlink/rpc_replay.py"
# The servers' pids are kept in files: start runs in a command substitution's subshell, where
# an array of the caller's would not see them (the servers outlived every run).
cleanup() {
    local f
    for f in "$WORK"/pid.*; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
    rm -rf "$WORK"
}
trap cleanup EXIT

# start MODE: starts a replay server and prints its URL.
start() {
    local mode=$1 portfile="$WORK/port.$1"
    python3 "$SERVER" "$mode" "$portfile" "$FIX" >"$WORK/log.$mode" 2>&1 &
    echo $! >"$WORK/pid.$mode"
    for _ in $(seq 100); do [ -s "$portfile" ] && break; sleep 0.05; done
    [ -s "$portfile" ] || fail "replay server $mode did not start"
    echo "http://127.0.0.1:$(cat "$portfile")"
}
GOOD=$(start good)
HANG=$(start hang)
E500=$(start http500)
RPCERR=$(start rpcerror)
GARBAGE=$(start garbage)
# A port nobody listens on: bind and close to get a free one.
DEAD="http://127.0.0.1:$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
BLOCK=0x18e4cdb
NOW=1790924363   # the block's timestamp

check "recorded latestRoundData decodes to the documented round, price and age"
expect_rc 0 "$NODERR" oracle --rpc "$GOOD" --feed ETH/USD --block $BLOCK --now $NOW --json
cp "$OUT" "$WORK/good.json"
pycheck "$WORK/good.json" '
assert d["address"] == "0x5f4eC3Df9cbd43714FE2740f5E3616155c5b8419", d
assert d["description"] == "ETH / USD", d
assert d["decimals"] == 8
assert d["round_id"] == "129127208515966895560"
assert d["phase_id"] == 7 and d["aggregator_round_id"] == 34248
assert d["answer"] == "272804000000"
assert d["price"] == "2728.04000000"
assert d["started_at"] == 1790922084 and d["updated_at"] == 1790922119
assert d["answered_in_round"] == "129127208515966895560"
assert d["age_s"] == 2244 and d["heartbeat_s"] == 3600
assert d["status"] == "ok" and d["reason"] == "ok"
assert d["endpoint"] == 1 and d["failovers"] == 0
'

check "the same answer an hour later is stale (exit 1)"
expect_rc 1 "$NODERR" oracle --rpc "$GOOD" --feed 0x5f4ec3df9cbd43714fe2740f5e3616155c5b8419 \
    --block $BLOCK --now $((1790922119 + 3601)) --json
pycheck "$OUT" 'assert d["status"] == "stale" and d["reason"] == "stale_heartbeat", d'
expect_rc 0 "$NODERR" oracle --rpc "$GOOD" --feed ETH/USD --block $BLOCK \
    --now $((1790922119 + 3601)) --margin 1
stdout_has "status: ok"
stdout_has "2728.04000000"

check "fallback past dead, hanging, HTTP 500, JSON-RPC error and garbage endpoints"
expect_rc 0 "$NODERR" oracle --rpc "$DEAD,$HANG,$E500,$RPCERR,$GARBAGE,$GOOD" --feed ETH/USD \
    --block $BLOCK --now $NOW --timeout-ms 700 --json
pycheck "$OUT" '
assert d["endpoint"] == 6, d
assert d["failovers"] == 15, d   # 5 bad endpoints x 3 calls (decimals, description, round)
assert d["price"] == "2728.04000000"
'

check "getRoundData of the recorded round; an unknown round reverts (exit 2, no fallback)"
expect_rc 0 "$NODERR" oracle --rpc "$GOOD" --feed ETH/USD --block $BLOCK --now $NOW \
    --round 129127208515966895560 --json
pycheck "$OUT" 'assert d["round_id"] == "129127208515966895560" and d["status"] == "ok", d'
expect_rc 2 "$NODERR" oracle --rpc "$GOOD,$GOOD" --feed ETH/USD --block $BLOCK --round 5
grep -q "reverted (endpoint 1)" "$ERR" || fail "revert not reported: $(cat "$ERR")"

check "every endpoint failing is exit 2 naming each endpoint by position, never by URL"
expect_rc 2 "$NODERR" oracle --rpc "$DEAD,$RPCERR" --feed ETH/USD --timeout-ms 700
grep -q "endpoint 1:" "$ERR" || fail "endpoint 1 not named"
grep -q "endpoint 2: JSON-RPC error -32005" "$ERR" || fail "endpoint 2 reason missing"
if grep -q "127.0.0.1" "$ERR"; then fail "an endpoint URL leaked into the error"; fi

check "usage errors"
expect_usage_error "--feed" "$NODERR" oracle --rpc "$GOOD"
expect_usage_error "neither 0x + 40 hex digits" "$NODERR" oracle --rpc "$GOOD" --feed DOGE
expect_usage_error "http:// or https://" "$NODERR" oracle --rpc "ftp://x" --feed ETH/USD
expect_usage_error "--round" "$NODERR" oracle --rpc "$GOOD" --feed ETH/USD --round 12x
expect_usage_error "bad block tag" "$NODERR" oracle --rpc "$GOOD" --feed ETH/USD --block yesterday

echo "95_chainlink_recorded: all checks passed"
