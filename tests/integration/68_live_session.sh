#!/usr/bin/env bash
# 68_live_session.sh: `noderr live` against `noderr exchange-sim` on 127.0.0.1: real orders at
# the venue with the session's client order ids; kill -9 in the middle of trading; the restart
# replays the journal, reconciles with the venue and cancels what the dead run left open, and its
# position equals the venue's executions; SIGTERM leaves nothing open at the venue; the secret
# is never printed. Asked of the venue itself (signed REST with `noderr sign`), not the session.
# exchange-sim charges 10 bps as Binance does (a buy's commission in the base asset, a sell's in
# the quote): the session's position is the venue's BTC balance, its executions less the base
# commissions.
# Called as: 68_live_session.sh NODERR_BINARY DATA_DIR SHARED_DIR SOURCE_ROOT
source "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || { echo "curl missing: skipped"; exit 77; }

KEY="live-test-key"
SECRET="live-test-secret-$$"
export NODERR_XSIM_API_KEY="$KEY" NODERR_XSIM_API_SECRET="$SECRET"
export NODERR_BINANCE_API_KEY="$KEY" NODERR_BINANCE_API_SECRET="$SECRET"
start_server xsim "$NODERR" exchange-sim --tick-ms 20 --seed 9 --fee-bps 10 \
    --balance USDT=10000,BTC=0
BASE="http://127.0.0.1:$PORT"

# venue GET PATH QUERY: a signed request as any Binance client sends it; the body to $OUT
venue() {
    local q
    q="$2${2:+&}timestamp=$(python3 -c 'import time; print(int(time.time() * 1000))')"
    local sig
    sig="$("$NODERR" sign --venue binance --payload "$q")"
    curl -sS -H "X-MBX-APIKEY: $KEY" -o "$OUT" "$BASE$1?$q&signature=$sig"
}

cat >"$WORK/live.json" <<EOF
{"name": "lt", "state_dir": "$WORK/state",
 "venue": {"name": "binance", "rest_url": "$BASE", "ws_url": "ws://${BASE#http://}"},
 "symbol": "BTC/USDT",
 "strategies": [{"lua": "$DATA/trade_through.lua", "params": {"gap": 2000000, "qty": 50000, "lot": 1000}}],
 "capital": {"cash": "5000"}, "metrics": {"listen": "127.0.0.1:0"}, "log": {"level": "info"}}
EOF

wait_status() { wait_json "$WORK/state/status.json" "$1"; }

check "a live session sends real orders with its client order ids; its metrics time the venue round trips"
"$NODERR" live --config "$WORK/live.json" >"$WORK/l1.out" 2>"$WORK/l1.err" &
LIVE=$!
SERVER_PIDS+=("$LIVE")
# the metrics first, so the kill below still comes right after the orders are seen open
wait_status 'd["mode"] == "live" and d["orders"]["fills"] >= 1 and "metrics_url" in d'
URL=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["metrics_url"])' \
    "$WORK/state/status.json")
curl -sS -o "$WORK/live.prom" "$URL" || fail "GET $URL"
grep -qE '^noderr_venue_round_trip_seconds_count\{venue="binance",symbol="BTCUSDT"\} [1-9]' \
    "$WORK/live.prom" || fail "no venue round trip: $(grep round_trip "$WORK/live.prom")"
grep -qE '^noderr_session_info\{session="lt",mode="live",venue="binance"\} 1$' "$WORK/live.prom" ||
    fail "no session info"
wait_status 'd["mode"] == "live" and d["orders"]["fills"] >= 1 and d["feed"]["trades"] > 10 and d["open_orders"]'
venue /api/v3/openOrders symbol=BTCUSDT
pycheck "$OUT" 'assert d and all(o["clientOrderId"].startswith("ndlt-1-") for o in d), d'

check "kill -9 in the middle of trading"
sleep 0.5
# the moment the venue holds an order of ours (the venue keeps matching after the kill, so the
# orders open just before it are the ones the restart must find done)
for _ in $(seq 100); do
    venue /api/v3/openOrders symbol=BTCUSDT
    python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1])) else 1)' "$OUT" && break
    sleep 0.05
done
kill -9 "$LIVE"
cp "$OUT" "$WORK/open_after_kill.json"
wait "$LIVE" 2>/dev/null || true
venue /api/v3/openOrders symbol=BTCUSDT
python3 -c 'import json,sys; [print(o["clientOrderId"]) for o in json.load(open(sys.argv[1]))]' \
    "$OUT" >>"$WORK/open_after_kill.txt"

check "the restart reconciles: the dead run's orders cancelled, the position is the venue's"
sed -i 's/"log": {"level": "info"}}/"log": {"level": "info"}, "duration_s": 3}/' "$WORK/live.json"
expect_rc 0 "$NODERR" live --config "$WORK/live.json" --json
cp "$OUT" "$WORK/l2.json"
cp "$ERR" "$WORK/l2.err"
grep -q "event=session_start mode=live name=lt" "$WORK/l2.err" || fail "no start logged"
grep -q "$SECRET" "$WORK/l1.out" "$WORK/l1.err" "$WORK/l2.json" "$WORK/l2.err" &&
    fail "the secret was printed"
# every order the dead run left open: done at the venue now (cancelled by the restart, or filled)
python3 -c 'import json,sys; [print(o["clientOrderId"]) for o in json.load(open(sys.argv[1]))]' \
    "$WORK/open_after_kill.json" >"$WORK/left.txt"
sort -u "$WORK/left.txt" "$WORK/open_after_kill.txt" -o "$WORK/left.txt"
[ -s "$WORK/left.txt" ] || fail "the killed run had nothing open: the check would prove nothing"
while read -r clid; do
    venue /api/v3/order "symbol=BTCUSDT&origClientOrderId=$clid"
    pycheck "$OUT" 'assert d["status"] in ("CANCELED", "FILLED", "EXPIRED"), d'
done <"$WORK/left.txt"

check "after SIGTERM nothing of ours is open at the venue, and the position equals the venue's"
venue /api/v3/openOrders symbol=BTCUSDT
pycheck "$OUT" 'assert d == [], d'
venue /api/v3/myTrades symbol=BTCUSDT
cp "$OUT" "$WORK/trades.json"
venue /api/v3/account ""
cp "$OUT" "$WORK/account.json"
python3 - "$WORK/trades.json" "$WORK/account.json" "$WORK/state/status.json" <<'EOF' ||
import json, sys
from decimal import Decimal
trades = json.load(open(sys.argv[1]))
account = json.load(open(sys.argv[2]))
status = json.load(open(sys.argv[3]))
base_fees = sum(Decimal(t["commission"]) for t in trades if t["commissionAsset"] == "BTC")
net = sum(Decimal(t["qty"]) * (1 if t["isBuyer"] else -1) for t in trades) - base_fees
btc = [b for b in account["balances"] if b["asset"] == "BTC"][0]
balance = Decimal(btc["free"]) + Decimal(btc["locked"])
held = Decimal(status["positions"][0]["qty"])
print("venue net", net, "base fees", base_fees, "venue BTC", balance, "session position", held,
      "trades", len(trades), "restored fills", status["fills_restored_at_start"])
assert base_fees > 0, "no commission in base: the check would prove nothing"
assert held == net == balance, (held, net, balance)
EOF
    fail "position differs"
echo "ok"
