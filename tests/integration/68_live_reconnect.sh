#!/usr/bin/env bash
# 68_live_reconnect.sh: `noderr live` reconciles after every REST outage and every reconnect of
# the market stream, not only at start. exchange-sim answers every REST request with 429 for 3 s
# (its rate_limit fault: the session's polls go unanswered) while the session's orders stay at
# the venue; then an order with the session's tag that its journal does not know is placed at
# the venue behind its back, and exchange-sim drops every stream connection (disconnect). Each
# ends in a reconciliation in the session (status.json "reconciliation"); the one after the
# reconnect finds the unknown order and cancels it; every venue fill is booked exactly once
# (the session's fills == the venue's myTrades), no balance differs, and the position equals
# the venue's BTC balance (commission in base).
# Called as: 68_live_reconnect.sh NODERR_BINARY DATA_DIR SHARED_DIR SOURCE_ROOT
source "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || { echo "curl missing: skipped"; exit 77; }

KEY="reconnect-key"
SECRET="reconnect-secret-$$"
TOKEN="admin-token-$$-0123456789abcdef"
printf '%s\n' "$TOKEN" >"$WORK/token"
chmod 600 "$WORK/token"
export NODERR_XSIM_API_KEY="$KEY" NODERR_XSIM_API_SECRET="$SECRET"
export NODERR_BINANCE_API_KEY="$KEY" NODERR_BINANCE_API_SECRET="$SECRET"
start_server xsim "$NODERR" exchange-sim --tick-ms 20 --seed 11 --fee-bps 10 \
    --balance USDT=10000,BTC=0 --admin-token-file "$WORK/token"
BASE="http://127.0.0.1:$PORT"

# venue [-X METHOD] PATH QUERY: a signed request as any Binance client sends it; the body to $OUT
venue() {
    local method=GET
    if [ "$1" = -X ]; then method="$2"; shift 2; fi
    local q
    q="$2${2:+&}timestamp=$(python3 -c 'import time; print(int(time.time() * 1000))')"
    local sig
    sig="$("$NODERR" sign --venue binance --payload "$q")"
    curl -sS -X "$method" -H "X-MBX-APIKEY: $KEY" -o "$OUT" "$BASE$1?$q&signature=$sig"
}
fault() {
    curl -sS -H "Authorization: Bearer $TOKEN" -o "$OUT" -d "$1" "$BASE/admin/fault"
    pycheck "$OUT" 'assert d.get("applied") is True, d'
}

cat >"$WORK/live.json" <<EOF
{"name": "rc", "state_dir": "$WORK/state",
 "venue": {"name": "binance", "rest_url": "$BASE", "ws_url": "ws://${BASE#http://}"},
 "symbol": "BTC/USDT",
 "strategies": [{"lua": "$DATA/trade_through.lua",
                 "params": {"gap": 1000000, "qty": 50000, "lot": 1000}}],
 "capital": {"cash": "5000"}, "log": {"level": "info"}}
EOF
wait_status() { wait_json "$WORK/state/status.json" "$1"; }

check "a live session trading"
"$NODERR" live --config "$WORK/live.json" >"$WORK/l.out" 2>"$WORK/l.err" &
LIVE=$!
SERVER_PIDS+=("$LIVE")
wait_status 'd["orders"]["fills"] >= 1 and d["open_orders"] and d["reconciliation"]["in_session"] == 0'

check "a REST outage (429 for 3 s) ends in a reconciliation"
fault '{"fault": "rate_limit", "ms": 3000}'
wait_status 'd["reconciliation"]["rest_outages"] >= 1 and d["reconciliation"]["in_session"] >= 1'

check "a reconnect of the market stream ends in another"
wait_status 'd["feed"]["state"] == "connected"'
python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["reconciliation"]["in_session"])' \
    "$WORK/state/status.json" >"$WORK/before.txt"
venue -X POST /api/v3/order \
    "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.0002&price=30000&newClientOrderId=ndrc-zz-0-1"
pycheck "$OUT" 'assert d["status"] == "NEW", d'
fault '{"fault": "disconnect"}'
wait_status "d['feed']['connects'] >= 2 and d['reconciliation']['in_session'] > $(cat "$WORK/before.txt")"
wait_status 'd["reconciliation"]["differences_in_session"] == 1'
grep -q "event=reconcile when=session kind=unknown_ours resolution=cancel clid=ndrc-zz-0-1" \
    "$WORK/l.err" || fail "the unknown order was not reconciled: $(grep when=session "$WORK/l.err")"
for _ in $(seq 50); do
    venue /api/v3/order "symbol=BTCUSDT&origClientOrderId=ndrc-zz-0-1"
    python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["status"] != "CANCELED")' \
        "$OUT" && break
    sleep 0.1
done
pycheck "$OUT" 'assert d["status"] == "CANCELED", d'

check "exchange-sim's wire-to-wire samples: one per accepted order, behind the admin token"
curl -sS -o "$OUT" -w '%{http_code}' "$BASE/admin/latency" | grep -qx 401 ||
    fail "GET /admin/latency without the token answered"
curl -sS -H "Authorization: Bearer $TOKEN" -o "$OUT" "$BASE/admin/latency"
pycheck "$OUT" 'assert d["count"] >= 1 and 0 < d["min_ns"] <= d["p50_ns"] <= d["p99_ns"] <= d["max_ns"], d'

check "stopped: every venue fill booked once, nothing halted, the position is the venue's"
kill -TERM "$LIVE"
wait "$LIVE" || fail "the session did not stop cleanly"
curl -sS -H "Authorization: Bearer $TOKEN" -o "$OUT" "$BASE/admin/latency"
pycheck "$OUT" 'assert (d["count"] > 0) == (d["p50_ns"] > 0), d'
curl -sS -H "Authorization: Bearer $TOKEN" -o "$OUT" "$BASE/admin/latency"
pycheck "$OUT" 'assert d["count"] == 0 and d["p50_ns"] == 0, d  # taken: forgotten'
grep "event=reconcile when=session" "$WORK/l.err" | grep -qv "kind=unknown_ours" &&
    fail "a reconciliation in the session found a difference: $(grep 'when=session' "$WORK/l.err" | head -3)"
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
r = status["reconciliation"]
print("venue trades", len(trades), "session fills", status["orders"]["fills"], "position", held,
      "venue BTC", balance, "reconciliation", r)
assert status["orders"]["fills"] == len(trades), "each venue trade booked once"
assert held == net == balance, (held, net, balance)
assert r["halts"] == 0 and r["differences_in_session"] == 1, r  # the unknown order alone
EOF
    fail "the session and the venue differ"
echo "ok"
