#!/usr/bin/env bash
# 68_live_user_stream.sh: `noderr live`'s user data stream over exchange-sim. By default the
# WebSocket API subscription (userDataStream.subscribe.signature on /ws-api/v3): subscribed at
# start, its executionReports reach the adapters (order_events), and when the venue ends it
# (exchange-sim's user_stream_end fault: eventStreamTerminated) the session subscribes again on
# the same connection and reconciles; every venue fill is still booked once and the position is
# the venue's. Then the deprecated listenKey stream ("user_stream": "listen_key") subscribes
# too, "off" leaves polling alone, and a bad value is refused naming the key.
# Called as: 68_live_user_stream.sh NODERR_BINARY DATA_DIR SHARED_DIR SOURCE_ROOT
source "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || { echo "curl missing: skipped"; exit 77; }

KEY="user-key"
SECRET="user-secret-$$"
TOKEN="admin-token-$$-0123456789abcdef"
printf '%s\n' "$TOKEN" >"$WORK/token"
chmod 600 "$WORK/token"
export NODERR_XSIM_API_KEY="$KEY" NODERR_XSIM_API_SECRET="$SECRET"
export NODERR_BINANCE_API_KEY="$KEY" NODERR_BINANCE_API_SECRET="$SECRET"
start_server xsim "$NODERR" exchange-sim --tick-ms 20 --seed 11 --fee-bps 10 \
    --balance USDT=10000,BTC=0 --admin-token-file "$WORK/token"
BASE="http://127.0.0.1:$PORT"

venue() { # venue PATH QUERY: a signed GET; the body to $OUT
    local q
    q="$2${2:+&}timestamp=$(python3 -c 'import time; print(int(time.time() * 1000))')"
    curl -sS -H "X-MBX-APIKEY: $KEY" -o "$OUT" \
        "$BASE$1?$q&signature=$("$NODERR" sign --venue binance --payload "$q")"
}
fault() {
    curl -sS -H "Authorization: Bearer $TOKEN" -o "$OUT" -d "$1" "$BASE/admin/fault"
    pycheck "$OUT" 'assert d.get("applied") is True, d'
}
# config NAME EXTRA_VENUE_KEYS: a live config trading trade_through on exchange-sim
config() {
    cat >"$WORK/$1.json" <<EOF
{"name": "$1", "state_dir": "$WORK/state-$1",
 "venue": {"name": "binance", "rest_url": "$BASE", "ws_url": "ws://${BASE#http://}"$2},
 "symbol": "BTC/USDT",
 "strategies": [{"lua": "$DATA/trade_through.lua",
                 "params": {"gap": 1000000, "qty": 50000, "lot": 1000}}],
 "capital": {"cash": "5000"}, "log": {"level": "info"}}
EOF
}

check "ws_api (the default): subscribed, the venue's reports reach the adapter"
config us ""
ERR="$WORK/us.err"
"$NODERR" live --config "$WORK/us.json" >"$WORK/us.out" 2>"$ERR" &
LIVE=$!
SERVER_PIDS+=("$LIVE")
ST="$WORK/state-us/status.json"
wait_json "$ST" '(d["user_stream"]["subscribed"] and d["user_stream"]["mode"] == "ws_api" and
    d["orders"]["fills"] >= 1 and d["user_stream"]["order_events"] >= 1)'
grep -q "user_stream subscribed mode=ws_api subscriptionId=" "$WORK/us.err" ||
    fail "no subscription in the log: $(grep user_stream "$WORK/us.err" | head -3)"

check "eventStreamTerminated: subscribed again on the same connection, then reconciled"
python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["reconciliation"]["in_session"])' \
    "$ST" >"$WORK/before.txt"
fault '{"fault": "user_stream_end"}'
wait_json "$ST" "(d['user_stream']['ends'] == 1 and d['user_stream']['subscriptions'] == 2 and
    d['user_stream']['subscribed'] and
    d['reconciliation']['in_session'] > $(cat "$WORK/before.txt"))"
grep -q "event=user_stream_end why=eventStreamTerminated" "$WORK/us.err" ||
    fail "the end was not logged"
grep -q "event=user_stream_resubscribed subscriptions=2" "$WORK/us.err" ||
    fail "the resubscription was not logged"
wait_json "$ST" 'd["feed"]["connects"] == 1' # the market stream was not touched

check "stopped: every venue fill booked once, nothing halted, the position is the venue's"
kill -TERM "$LIVE"
wait "$LIVE" || fail "the session did not stop cleanly"
venue /api/v3/myTrades symbol=BTCUSDT
cp "$OUT" "$WORK/trades.json"
venue /api/v3/account ""
cp "$OUT" "$WORK/account.json"
python3 - "$WORK/trades.json" "$WORK/account.json" "$ST" <<'EOF' ||
import json, sys
from decimal import Decimal
trades = json.load(open(sys.argv[1]))
account = json.load(open(sys.argv[2]))
status = json.load(open(sys.argv[3]))
base_fees = sum(Decimal(t["commission"]) for t in trades if t["commissionAsset"] == "BTC")
net = sum(Decimal(t["qty"]) * (1 if t["isBuyer"] else -1) for t in trades) - base_fees
btc = [b for b in account["balances"] if b["asset"] == "BTC"][0]
held = Decimal(status["positions"][0]["qty"])
assert status["orders"]["fills"] == len(trades), (status["orders"]["fills"], len(trades))
assert held == net == Decimal(btc["free"]) + Decimal(btc["locked"]), (held, net, btc)
assert status["reconciliation"]["halts"] == 0, status["reconciliation"]
EOF
    fail "the session and the venue differ"

# a fresh exchange (the first session's trades would be a balance difference to a new journal)
fresh_xsim() {
    start_server "xsim-$1" "$NODERR" exchange-sim --tick-ms 20 --seed 11 --fee-bps 10 \
        --balance USDT=10000,BTC=0 --admin-token-file "$WORK/token"
    BASE="http://127.0.0.1:$PORT"
}

check "listen_key: the deprecated stream subscribes too"
fresh_xsim lk
config lk ', "user_stream": "listen_key"'
ERR="$WORK/lk.err" # what a failure shows
"$NODERR" live --config "$WORK/lk.json" >"$WORK/lk.out" 2>"$ERR" &
LIVE=$!
SERVER_PIDS+=("$LIVE")
wait_json "$WORK/state-lk/status.json" '(d["user_stream"]["subscribed"] and
    d["user_stream"]["mode"] == "listen_key" and d["user_stream"]["order_events"] >= 1)'
kill -TERM "$LIVE"
wait "$LIVE" || fail "the listen_key session did not stop cleanly"

check "off: no user data stream (REST polling alone)"
fresh_xsim off
config off ', "user_stream": "off", "order_tag": "ndoff"'
ERR="$WORK/off.err"
"$NODERR" live --config "$WORK/off.json" >"$WORK/off.out" 2>"$ERR" &
LIVE=$!
SERVER_PIDS+=("$LIVE")
wait_json "$WORK/state-off/status.json" '"user_stream" not in d and d["orders"]["fills"] >= 1'
kill -TERM "$LIVE"
wait "$LIVE" || fail "the off session did not stop cleanly"

ERR="$WORK/stderr"
config bad ', "user_stream": "websocket"'
expect_usage_error "user_stream" "$NODERR" live --config "$WORK/bad.json"
echo "ok"
