#!/usr/bin/env bash
# 68_coinbase_user.sh: a live Coinbase session over exchange-sim takes the WebSocket user
# channel (JWT-authenticated, subscribed on the market stream's URL): the venue's order reports
# reach the adapter as they happen (user_stream.order_events), every fill is still booked once
# (the position is the venue's), and "user_stream": "off" leaves the channel out. Updates lost
# on the channel (exchange-sim's user_drop fault, sequence numbers spent) show as a gap at the
# next heartbeat: the channel resubscribes, the adapter reconciles, every fill is booked once.
# Called as: 68_coinbase_user.sh NODERR_BINARY DATA_DIR SHARED_DIR SOURCE_ROOT
source "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || { echo "curl missing: skipped"; exit 77; }
command -v openssl >/dev/null || { echo "openssl missing: skipped"; exit 77; }

source "$(dirname "$0")/coinbase_xsim.sh"

config() { # config FILE NAME EXTRA_VENUE_KEYS
    cat >"$WORK/$1.json" <<EOF
{"name": "$2", "state_dir": "$WORK/state-$2",
 "venue": {"name": "coinbase", "rest_url": "http://127.0.0.1:$XPORT",
           "ws_url": "ws://127.0.0.1:$XPORT", "secrets_file": "$WORK/cb.secrets",
           "order_tag": "$2"$3},
 "symbol": "BTC/USD", "strategies": [{"builtin": "quote_maker"}],
 "capital": {"cash": "10000"}, "log": {"level": "info"}}
EOF
}

position_matches() { # position_matches STATE_DIR
    local jwt
    jwt="$("$NODERR" sign --venue coinbase --key-name "$KEY_NAME" --secrets-file "$WORK/key.pem" \
        --method GET --host "127.0.0.1:$XPORT" --path "/api/v3/brokerage/accounts")"
    curl -sf -o "$WORK/accounts.json" -H "Authorization: Bearer $jwt" \
        "http://127.0.0.1:$XPORT/api/v3/brokerage/accounts" || fail "GET /accounts"
    python3 - "$1/status.json" "$WORK/accounts.json" <<'EOF' || fail "the position differs"
import json, sys
from decimal import Decimal
st = json.load(open(sys.argv[1]))
acc = {a["currency"]: a for a in json.load(open(sys.argv[2]))["accounts"]}
venue = Decimal(acc["BTC"]["available_balance"]["value"]) + Decimal(acc["BTC"]["hold"]["value"])
pos = Decimal(st["positions"][0]["qty"])
assert pos == venue, ("position", pos, "venue", venue)
EOF
}

check "the user channel: subscribed, the venue's order reports reach the adapter"
config cu cu ""
"$NODERR" live --config "$WORK/cu.json" >"$WORK/cu.out" 2>"$WORK/cu.err" &
LIVE=$!
SERVER_PIDS+=("$LIVE")
ST="$WORK/state-cu/status.json"
wait_json "$ST" '(d["user_stream"]["mode"] == "coinbase_user" and
    d["user_stream"]["subscriptions"] >= 1 and d["user_stream"]["order_events"] >= 3 and
    d["orders"]["fills"] >= 2)'
grep -q "event=user_stream_open mode=coinbase_user" "$WORK/cu.err" || fail "not opened"
kill -TERM "$LIVE"
wait "$LIVE" || fail "the session did not stop cleanly"
grep -q "event=reconcile when=session" "$WORK/cu.err" &&
    fail "a reconciliation found a difference: $(grep when=session "$WORK/cu.err")"
position_matches "$WORK/state-cu"

check "user_stream off: no channel, polling alone (the same session restarted)"
config co cu ', "user_stream": "off"'
"$NODERR" live --config "$WORK/co.json" >"$WORK/co.out" 2>"$WORK/co.err" &
LIVE=$!
SERVER_PIDS+=("$LIVE")
wait_json "$ST" '"user_stream" not in d and d["state"] == "running" and d["orders"]["fills"] >= 1'
grep -q "event=user_stream_open" "$WORK/co.err" && fail "the channel was opened"
kill -TERM "$LIVE"
wait "$LIVE" || fail "the session did not stop cleanly"
position_matches "$WORK/state-cu"

check "lost user updates: a gap at the next heartbeat, a resubscription, every fill booked once"
config cg cu "" # the same session again (a new name would start from an account it did not trade)
"$NODERR" live --config "$WORK/cg.json" >"$WORK/cg.out" 2>"$WORK/cg.err" &
LIVE=$!
SERVER_PIDS+=("$LIVE")
SG="$WORK/state-cu/status.json"
wait_json "$SG" '(d["state"] == "running" and "user_stream" in d and
    d["user_stream"]["subscriptions"] == 1 and d["orders"]["fills"] >= 1)'
fault '{"fault":"user_drop","count":6}'
T0=$(date +%s%N)
wait_json "$SG" '(d["user_stream"]["subscriptions"] >= 2 and
    d["reconciliation"]["in_session"] >= 1)'
T1=$(date +%s%N)
# status.json is written every second: the resubscription itself follows the next heartbeat
[ $(( (T1 - T0) / 1000000 )) -le 5000 ] || fail "resubscribed $(( (T1 - T0) / 1000000 )) ms after the drop"
grep -q "sequence_num gap: resubscribing" "$WORK/cg.err" || fail "no gap seen on the user channel"
wait_json "$SG" 'd["orders"]["fills"] >= 3'
kill -TERM "$LIVE"
wait "$LIVE" || fail "the session did not stop cleanly"
grep "event=reconcile when=session" "$WORK/cg.err" | grep -q "kind=balance" &&
    fail "a balance difference: $(grep when=session "$WORK/cg.err")"
position_matches "$WORK/state-cu"

echo ok
