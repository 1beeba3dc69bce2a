#!/usr/bin/env bash
# 68_two_venues.sh: one session on two venues ("venues": Binance Spot and Coinbase Advanced
# Trade) over two `noderr exchange-sim` processes on 127.0.0.1 (one `--venue binance`, one
# `--venue coinbase`), each venue with its own endpoints, symbols, API key source and order tag,
# each strategy naming the venue it trades:
#   - config mistakes are named by their key ("venue" and "venues" together, a strategy
#     without a venue);
#   - paper: both feeds drive the engine, each strategy's orders fill on its own venue's
#     simulated book; status.json, `noderr status` and the metrics show both venues;
#   - live: real orders with each venue's client order ids at both exchange-sims, fills on
#     both; kill -9 in the middle, then a restart reconciles both venues (nothing of ours left
#     open on either, journal fills booked); SIGTERM cancels on both; each venue's position
#     equals its exchange-sim's BTC balance.
# Called as: 68_two_venues.sh NODERR_BINARY DATA_DIR SHARED_DIR SOURCE_ROOT
source "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || { echo "curl missing: skipped"; exit 77; }
command -v openssl >/dev/null || { echo "openssl missing: skipped"; exit 77; }

# Binance: HMAC key from the NODERR_BINANCE_* variables; Coinbase: ES256 key from a 0600 file.
BKEY="two-venue-key" BSECRET="two-venue-secret-$$"
export NODERR_BINANCE_API_KEY="$BKEY" NODERR_BINANCE_API_SECRET="$BSECRET"
CKEY="organizations/org-test/apiKeys/two-$$"
openssl ecparam -name prime256v1 -genkey -noout -out "$WORK/key.pem" 2>/dev/null
openssl ec -in "$WORK/key.pem" -pubout -out "$WORK/pub.pem" 2>/dev/null
chmod 600 "$WORK/key.pem"
printf 'api_key=%s\napi_secret=%s\n' "$CKEY" "$(cat "$WORK/key.pem")" >"$WORK/cb.secrets"
chmod 600 "$WORK/cb.secrets"
unset NODERR_COINBASE_API_KEY NODERR_COINBASE_API_SECRET NODERR_COINBASE_SECRETS_FILE

start_server bxsim env NODERR_XSIM_API_KEY="$BKEY" NODERR_XSIM_API_SECRET="$BSECRET" \
    "$NODERR" exchange-sim --tick-ms 20 --seed 9 --fee-bps 10 --balance USDT=10000,BTC=0
BPORT=$PORT
start_server cxsim env NODERR_XSIM_API_KEY="$CKEY" \
    "$NODERR" exchange-sim --venue coinbase --public-key "$WORK/pub.pem" --tick-ms 20 --seed 7 \
    --balance USD=10000,BTC=0
CPORT=$PORT

# config FILE NAME EXTRA_JSON: Binance's BTC/USDT (trade_through) and Coinbase's BTC/USD
# (quote_maker), one strategy on each venue.
config() {
    cat >"$1" <<EOF
{"name": "$2", "state_dir": "$WORK/state-$2",
 "venues": [
   {"name": "binance", "rest_url": "http://127.0.0.1:$BPORT", "ws_url": "ws://127.0.0.1:$BPORT",
    "order_tag": "b$2", "symbol": "BTC/USDT"},
   {"name": "coinbase", "rest_url": "http://127.0.0.1:$CPORT", "ws_url": "ws://127.0.0.1:$CPORT",
    "secrets_file": "$WORK/cb.secrets", "order_tag": "c$2", "symbol": "BTC/USD"}],
 "strategies": [
   {"lua": "$DATA/trade_through.lua", "venue": "binance",
    "params": {"gap": 2000000, "qty": 50000, "lot": 1000}},
   {"builtin": "quote_maker", "venue": "coinbase"}],
 "capital": {"cash": "10000"}, "log": {"level": "info"}$3}
EOF
}

# binance GET PATH QUERY: a signed Binance REST request into $OUT.
binance() {
    local q sig
    q="$2${2:+&}timestamp=$(python3 -c 'import time; print(int(time.time() * 1000))')"
    sig="$("$NODERR" sign --venue binance --payload "$q")"
    curl -sS -H "X-MBX-APIKEY: $BKEY" -o "$OUT" "http://127.0.0.1:$BPORT$1?$q&signature=$sig" ||
        fail "GET $1"
}

# coinbase PATH: a signed Advanced Trade REST GET into $OUT.
coinbase() {
    local jwt
    jwt="$("$NODERR" sign --venue coinbase --key-name "$CKEY" --secrets-file "$WORK/key.pem" \
        --method GET --host "127.0.0.1:$CPORT" --path "/api/v3/brokerage${1%%\?*}")"
    curl -sf -o "$OUT" -H "Authorization: Bearer $jwt" \
        "http://127.0.0.1:$CPORT/api/v3/brokerage$1" || fail "GET $1"
}

check "config: \"venue\" and \"venues\" together, or a strategy without its venue, are refused by key"
config "$WORK/bad.json" bad ', "venue": {"name": "binance"}'
expect_usage_error 'venues: give "venue" or a "venues" list, not both' \
    "$NODERR" paper --config "$WORK/bad.json"
config "$WORK/bad.json" bad ''
sed -i 's/, "venue": "coinbase"//' "$WORK/bad.json"
expect_usage_error "strategies[1].venue: missing: the session has two venues" \
    "$NODERR" paper --config "$WORK/bad.json"
config "$WORK/bad.json" bad ', "symbol": "ETH/USDT"'
expect_usage_error 'symbol: with "venues" each venue lists its own symbols' \
    "$NODERR" paper --config "$WORK/bad.json"

check "paper: both feeds drive the engine; each strategy fills on its own venue's simulated book"
config "$WORK/paper.json" tp ', "metrics": {"listen": "127.0.0.1:0"}'
"$NODERR" paper --config "$WORK/paper.json" >"$WORK/tp.out" 2>"$WORK/tp.err" &
PAPER=$!
SERVER_PIDS+=("$PAPER")
wait_json "$WORK/state-tp/status.json" 'all(x["age_ms"] is not None and x["pnl"]["fees"] != "0" for x in d["venues"]) and d["orders"]["fills"] >= 2'
expect_rc 0 "$NODERR" status --config "$WORK/paper.json"
stdout_has "paper session tp on binance+coinbase: running"
stdout_has "BTC/USD      position "
grep -qE "^venue binance: 1 symbol\(s\), last event [0-9]+ ms ago, P&L " "$OUT" || fail "$(cat "$OUT")"
grep -qE "^venue coinbase: 1 symbol\(s\), last event [0-9]+ ms ago, P&L " "$OUT" || fail "$(cat "$OUT")"
grep -qE "^  BTC/USD +position .* on coinbase$" "$OUT" || fail "$(cat "$OUT")"
pycheck "$WORK/state-tp/status.json" 'assert d["venue"] == "binance+coinbase", d["venue"]
v = {x["name"]: x for x in d["venues"]}
assert v["binance"]["symbols"] == ["BTCUSDT"] and v["coinbase"]["symbols"] == ["BTC-USD"], v
assert "exchangeInfo" in v["binance"]["rules_from"], v["binance"]
assert "market/products" in v["coinbase"]["rules_from"], v["coinbase"]
p = {x["venue"]: x for x in d["positions"]}
assert p["binance"]["symbol"] == "BTC/USDT" and p["coinbase"]["symbol"] == "BTC/USD", p
f = d["feed"]
assert f["bad"] == 0 and f["connects"] == 2 and f["heartbeats"] > 0, f
assert not d["risk"]["halted"], d["risk"]'
URL=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["metrics_url"])' \
    "$WORK/state-tp/status.json")
curl -sS -o "$WORK/tp.prom" "$URL" || fail "GET $URL"
grep -qE '^noderr_session_info\{session="tp",mode="paper",venue="binance\+coinbase"\} 1$' \
    "$WORK/tp.prom" || fail "no session info: $(grep session_info "$WORK/tp.prom")"
grep -qE '^noderr_feed_age_seconds\{venue="coinbase",asset="BTC/USD"\}' "$WORK/tp.prom" ||
    fail "no coinbase feed age"
grep -qE '^noderr_feed_age_seconds\{venue="binance",asset="BTC/USDT"\}' "$WORK/tp.prom" ||
    fail "no binance feed age"
kill -TERM "$PAPER"
RC=0
wait "$PAPER" || RC=$?
[ "$RC" -eq 0 ] || { tail -20 "$WORK/tp.err" >&2; fail "paper exited $RC after SIGTERM"; }
grep -q "event=session_start mode=paper name=tp symbols=2 .* venues=2" "$WORK/tp.err" ||
    fail "no start logged"

check "live: real orders at both venues with each venue's client order ids, fills on both"
config "$WORK/live.json" tl ''
"$NODERR" live --config "$WORK/live.json" >"$WORK/tl1.out" 2>"$WORK/tl1.err" &
LIVE=$!
SERVER_PIDS+=("$LIVE")
wait_json "$WORK/state-tl/status.json" 'd["mode"] == "live" and all(x["pnl"]["fees"] != "0" for x in d["venues"]) and d["feed"]["trades"] > 10'
expect_rc 0 "$NODERR" status --config "$WORK/live.json"
stdout_has "live session tl on binance+coinbase: running"
binance /api/v3/myTrades symbol=BTCUSDT
pycheck "$OUT" 'assert d, "no binance fill"'
coinbase "/orders/historical/batch?product_id=BTC-USD"
pycheck "$OUT" 'o = d["orders"]
assert o and all(x["client_order_id"].startswith("ndctl-") for x in o), o[:3]
assert any(x["status"] == "FILLED" or x["filled_size"] not in ("0", "0.00000000") for x in o), "no coinbase fill"'
for _ in $(seq 100); do # an order of ours resting at Binance (trade_through rests one)
    binance /api/v3/openOrders symbol=BTCUSDT
    python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1])) else 1)' "$OUT" && break
    sleep 0.05
done
pycheck "$OUT" 'assert d and all(o["clientOrderId"].startswith("ndbtl-") for o in d), d'

check "kill -9 in the middle of trading, then a restart reconciles both venues"
sleep 1
kill -9 "$LIVE"
wait "$LIVE" 2>/dev/null || true
# what the dead run left open at each venue: the restart must leave none of it open
binance /api/v3/openOrders symbol=BTCUSDT
python3 -c 'import json,sys; [print(o["clientOrderId"]) for o in json.load(open(sys.argv[1]))]' \
    "$OUT" >"$WORK/b_left.txt"
coinbase "/orders/historical/batch?product_id=BTC-USD&order_status=OPEN"
python3 -c 'import json,sys; [print(o["client_order_id"]) for o in json.load(open(sys.argv[1]))["orders"]]' \
    "$OUT" >"$WORK/c_left.txt"
echo "left open by the killed run: binance $(wc -l <"$WORK/b_left.txt"), coinbase $(wc -l <"$WORK/c_left.txt")"
[ -s "$WORK/b_left.txt" ] || [ -s "$WORK/c_left.txt" ] ||
    fail "the killed run had nothing open: the check would prove nothing"
sed -i 's/"log": {"level": "info"}}/"log": {"level": "info"}, "duration_s": 4}/' "$WORK/live.json"
expect_rc 0 "$NODERR" live --config "$WORK/live.json" --json
cp "$ERR" "$WORK/tl2.err"
grep -q "event=session_start mode=live name=tl symbols=2 .* venues=2" "$WORK/tl2.err" ||
    fail "no start logged: $(tail -5 "$WORK/tl2.err")"
pycheck "$WORK/state-tl/status.json" 'assert d["fills_restored_at_start"] > 0, d["fills_restored_at_start"]'
pycheck "$WORK/state-tl/shutdown.json" 'assert d["clean"], d
assert d["venue_open_orders"] == {"BTCUSDT": 0, "BTC-USD": 0}, d["venue_open_orders"]'
grep -q "$BSECRET" "$WORK/tl1.out" "$WORK/tl1.err" "$WORK/tl2.err" "$OUT" && fail "a secret was printed"
while read -r clid; do
    binance /api/v3/order "symbol=BTCUSDT&origClientOrderId=$clid"
    pycheck "$OUT" 'assert d["status"] in ("CANCELED", "FILLED", "EXPIRED"), d'
done <"$WORK/b_left.txt"
coinbase "/orders/historical/batch?product_id=BTC-USD"
python3 - "$OUT" "$WORK/c_left.txt" <<'EOF' || fail "an order the killed run left at Coinbase is still open"
import json, sys
status = {o["client_order_id"]: o["status"] for o in json.load(open(sys.argv[1]))["orders"]}
for clid in open(sys.argv[2]).read().split():
    assert status[clid] in ("CANCELLED", "FILLED", "EXPIRED"), (clid, status[clid])
EOF

check "SIGTERM cancels on both venues; each venue's position equals its balance"
sed -i 's/, "duration_s": 4}/}/' "$WORK/live.json"
"$NODERR" live --config "$WORK/live.json" >"$WORK/tl3.out" 2>"$WORK/tl3.err" &
LIVE=$!
SERVER_PIDS+=("$LIVE")
wait_json "$WORK/state-tl/status.json" 'd["state"] == "running" and d["orders"]["submitted"] >= 2 and d["open_orders"]'
kill -TERM "$LIVE"
RC=0
wait "$LIVE" || RC=$?
[ "$RC" -eq 0 ] || { tail -20 "$WORK/tl3.err" >&2; fail "live exited $RC after SIGTERM"; }
pycheck "$WORK/state-tl/shutdown.json" 'assert d["clean"], d
assert d["venue_open_orders"] == {"BTCUSDT": 0, "BTC-USD": 0}, d["venue_open_orders"]'
binance /api/v3/openOrders symbol=BTCUSDT
pycheck "$OUT" 'assert d == [], d'
binance /api/v3/account ""
cp "$OUT" "$WORK/b_account.json"
binance /api/v3/myTrades symbol=BTCUSDT
cp "$OUT" "$WORK/b_trades.json"
coinbase /accounts
cp "$OUT" "$WORK/c_accounts.json"
coinbase "/orders/historical/batch?product_id=BTC-USD"
cp "$OUT" "$WORK/c_orders.json"
python3 - "$WORK/state-tl/status.json" "$WORK/b_account.json" "$WORK/b_trades.json" \
    "$WORK/c_accounts.json" "$WORK/c_orders.json" <<'EOF' || fail "a position differs from its venue's"
import json, sys
from decimal import Decimal
st, bacc, btr, cacc, cord = (json.load(open(p)) for p in sys.argv[1:6])
pos = {p["venue"]: Decimal(p["qty"]) for p in st["positions"]}
btc = [b for b in bacc["balances"] if b["asset"] == "BTC"][0]
bbal = Decimal(btc["free"]) + Decimal(btc["locked"])
base_fees = sum(Decimal(t["commission"]) for t in btr if t["commissionAsset"] == "BTC")
net = sum(Decimal(t["qty"]) * (1 if t["isBuyer"] else -1) for t in btr) - base_fees
c = {a["currency"]: a for a in cacc["accounts"]}["BTC"]
cbal = Decimal(c["available_balance"]["value"]) + Decimal(c["hold"]["value"])
open_ = [o for o in cord["orders"] if o["status"] in ("OPEN", "PENDING")]
print("binance: position", pos["binance"], "balance", bbal, "net", net, "trades", len(btr))
print("coinbase: position", pos["coinbase"], "balance", cbal)
assert pos["binance"] == bbal == net, (pos, bbal, net)
assert pos["coinbase"] == cbal, (pos, cbal)
assert not open_, open_
EOF
echo "ok"
