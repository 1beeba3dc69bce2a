#!/usr/bin/env bash
# 67_exchange_sim.sh: `noderr exchange-sim` on 127.0.0.1 with a random port, driven with curl:
# public endpoints, signed orders (signatures from `noderr sign` and from openssl), a resting
# LIMIT, openOrders, cancel, a MARKET fill whose balances and myTrades change by the right
# amounts including commission, -1022, -1021, a LIMIT_MAKER that would take, weight headers,
# 429 with Retry-After and then 418 when hammered. The server is stopped with SIGTERM.
# Called as: 67_exchange_sim.sh NODERR_BINARY DATA_DIR SHARED_DIR SOURCE_ROOT
source "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || { echo "curl missing: skipped"; exit 77; }
command -v openssl >/dev/null || { echo "openssl missing: skipped"; exit 77; }

check "usage errors"
expect_usage_error "no API key" env -u NODERR_XSIM_API_KEY -u NODERR_XSIM_API_SECRET \
    "$NODERR" exchange-sim
expect_usage_error "--balance" env NODERR_XSIM_API_KEY=k NODERR_XSIM_API_SECRET=s \
    "$NODERR" exchange-sim --balance ETH=1
expect_usage_error "--port" "$NODERR" exchange-sim --port 70000

KEY="xsim-test-key"
SECRET="xsim-test-secret-$$"
printf 'api_key=%s\napi_secret=%s\n' "$KEY" "$SECRET" >"$WORK/secrets"
chmod 600 "$WORK/secrets"

check "starts on 127.0.0.1 with a port of its own"
"$NODERR" exchange-sim --secrets-file "$WORK/secrets" --balance USDT=10000,BTC=1 --seed 3 \
    --weight-limit 400 --bans-after 2 >"$WORK/server.out" 2>"$WORK/server.err" &
PID=$!
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do
    grep -q '^listening on ' "$WORK/server.out" 2>/dev/null && break
    sleep 0.05
done
LINE="$(head -n1 "$WORK/server.out")"
[[ "$LINE" =~ ^listening\ on\ 127\.0\.0\.1:([0-9]+)$ ]] || fail "first line: '$LINE'"
BASE="http://127.0.0.1:${BASH_REMATCH[1]}"
grep -q "$SECRET" "$WORK/server.out" "$WORK/server.err" && fail "the secret was printed"

now_ms() { python3 -c 'import time; print(int(time.time() * 1000))'; }
# get PATH [QUERY]: public GET; body to $OUT, headers to $WORK/headers
get() { curl -sS -D "$WORK/headers" -o "$OUT" "$BASE$1?${2:-}"; }
# signed METHOD PATH QUERY: timestamp added, signed with `noderr sign`
signed() {
    local q="$3&timestamp=$(now_ms)" sig
    sig="$(NODERR_BINANCE_API_SECRET="$SECRET" "$NODERR" sign --venue binance --payload "$q")"
    curl -sS -X "$1" -D "$WORK/headers" -o "$OUT" -H "X-MBX-APIKEY: $KEY" "$BASE$2?$q&signature=$sig"
}
status() { head -n1 "$WORK/headers" | awk '{print $2}'; }
json() { python3 -c "import json,sys; d=json.load(open('$OUT')); print($1)"; }

check "ping, time, exchangeInfo, depth; X-MBX-USED-WEIGHT-1M on every answer"
get /api/v3/ping; [ "$(cat "$OUT")" = "{}" ] || fail "ping: $(cat "$OUT")"
grep -qi '^X-MBX-USED-WEIGHT-1M: [0-9]' "$WORK/headers" || fail "no weight header"
get /api/v3/time
SKEW=$(json "abs(d['serverTime'] - $(now_ms))")
[ "$SKEW" -lt 5000 ] || fail "serverTime is $SKEW ms off"
get /api/v3/exchangeInfo symbol=BTCUSDT
[ "$(json "[f['filterType'] for f in d['symbols'][0]['filters']]")" = "['PRICE_FILTER', 'LOT_SIZE', 'NOTIONAL']" ] ||
    fail "filters: $(cat "$OUT")"
get /api/v3/exchangeInfo symbol=NOPE
[ "$(status)" = 400 ] && [ "$(json "d['code']")" = -1121 ] || fail "unknown symbol: $(cat "$OUT")"
get /api/v3/depth symbol=BTCUSDT\&limit=5
BID=$(json "d['bids'][0][0]"); ASK=$(json "d['asks'][0][0]")
python3 -c "assert 0 < float('$BID') < float('$ASK')" || fail "depth: $(cat "$OUT")"

check "a LIMIT that rests, openOrders, account locked, cancel"
PX=$(python3 -c "print('%.2f' % (float('$BID') - 1000))")
signed POST /api/v3/order "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=$PX&newClientOrderId=rest1"
[ "$(status)" = 200 ] && [ "$(json "d['status']")" = NEW ] || fail "limit: $(cat "$OUT")"
OID=$(json "d['orderId']")
signed GET /api/v3/openOrders "symbol=BTCUSDT"
[ "$(json "[o['orderId'] for o in d]")" = "[$OID]" ] || fail "openOrders: $(cat "$OUT")"
signed GET /api/v3/account ""
LOCKED=$(json "[b['locked'] for b in d['balances'] if b['asset']=='USDT'][0]")
python3 -c "from decimal import Decimal as D; assert D('$LOCKED') == D('$PX') * D('0.001'), '$LOCKED'" ||
    fail "locked USDT $LOCKED"
signed DELETE /api/v3/order "symbol=BTCUSDT&orderId=$OID"
[ "$(json "d['status']")" = CANCELED ] || fail "cancel: $(cat "$OUT")"
signed DELETE /api/v3/order "symbol=BTCUSDT&orderId=$OID"
[ "$(status)" = 400 ] && [ "$(json "d['code']")" = -2011 ] || fail "second cancel: $(cat "$OUT")"
signed GET /api/v3/openOrders "symbol=BTCUSDT"
[ "$(cat "$OUT")" = "[]" ] || fail "openOrders after cancel: $(cat "$OUT")"

check "a MARKET buy fills; balances and myTrades move by the fills and the commission"
signed POST /api/v3/order "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.01"
[ "$(json "d['status']")" = FILLED ] || fail "market: $(cat "$OUT")"
cp "$OUT" "$WORK/market.json"
MOID=$(json "d['orderId']")
signed GET /api/v3/myTrades "symbol=BTCUSDT&orderId=$MOID"
cp "$OUT" "$WORK/trades.json"
signed GET /api/v3/account ""
python3 - "$WORK/market.json" "$WORK/trades.json" "$OUT" <<'PY' || fail "balances do not add up"
import json, sys
from decimal import Decimal as D
order, trades, account = (json.load(open(p)) for p in sys.argv[1:4])
fills = order["fills"]
assert [f["tradeId"] for f in fills] == [t["id"] for t in trades], (fills, trades)
qty = sum(D(f["qty"]) for f in fills)
assert qty == D("0.01") == D(order["executedQty"]), qty
quote = sum(D(t["quoteQty"]) for t in trades)
assert quote == D(order["cummulativeQuoteQty"]), (quote, order)
fee = sum(D(f["commission"]) for f in fills)
assert all(f["commissionAsset"] == "BTC" for f in fills)
assert fee >= qty * D("0.001") and fee < qty * D("0.001") + D("0.00000001") * len(fills), fee
bal = {b["asset"]: (D(b["free"]), D(b["locked"])) for b in account["balances"]}
assert bal["BTC"] == (D(1) + qty - fee, 0), bal
assert bal["USDT"] == (D(10000) - quote, 0), (bal, quote)
assert all(t["isBuyer"] and not t["isMaker"] for t in trades)
PY

check "signed with openssl: accepted; a bad signature -1022; an old timestamp -1021"
Q="symbol=BTCUSDT&timestamp=$(now_ms)"
SIG=$(printf '%s' "$Q" | openssl dgst -sha256 -hmac "$SECRET" | awk '{print $NF}')
curl -sS -D "$WORK/headers" -o "$OUT" -H "X-MBX-APIKEY: $KEY" "$BASE/api/v3/openOrders?$Q&signature=$SIG"
[ "$(status)" = 200 ] || fail "openssl-signed: $(cat "$OUT")"
BAD=$(printf '%s' "$Q" | openssl dgst -sha256 -hmac "wrong" | awk '{print $NF}')
curl -sS -D "$WORK/headers" -o "$OUT" -H "X-MBX-APIKEY: $KEY" "$BASE/api/v3/openOrders?$Q&signature=$BAD"
[ "$(status)" = 400 ] && [ "$(json "d['code']")" = -1022 ] || fail "bad signature: $(cat "$OUT")"
Q="symbol=BTCUSDT&timestamp=$(($(now_ms) - 60000))"
SIG=$(printf '%s' "$Q" | openssl dgst -sha256 -hmac "$SECRET" | awk '{print $NF}')
curl -sS -D "$WORK/headers" -o "$OUT" -H "X-MBX-APIKEY: $KEY" "$BASE/api/v3/openOrders?$Q&signature=$SIG"
[ "$(json "d['code']")" = -1021 ] || fail "old timestamp: $(cat "$OUT")"
curl -sS -D "$WORK/headers" -o "$OUT" -H "X-MBX-APIKEY: nope" "$BASE/api/v3/account?$Q&signature=$SIG"
[ "$(status)" = 401 ] && [ "$(json "d['code']")" = -2015 ] || fail "bad key: $(cat "$OUT")"
# a signed POST with the parameters in the body
B="symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity=0.001&price=999999&timestamp=$(now_ms)"
SIG=$(printf '%s' "$B" | openssl dgst -sha256 -hmac "$SECRET" | awk '{print $NF}')
curl -sS -D "$WORK/headers" -o "$OUT" -H "X-MBX-APIKEY: $KEY" --data "$B&signature=$SIG" "$BASE/api/v3/order"
[ "$(json "d['status']")" = NEW ] || fail "body-signed order: $(cat "$OUT")"

check "LIMIT_MAKER that would take is rejected; a filter failure is -1013"
get /api/v3/depth symbol=BTCUSDT\&limit=1
ASK=$(json "d['asks'][0][0]")
signed POST /api/v3/order "symbol=BTCUSDT&side=BUY&type=LIMIT_MAKER&quantity=0.001&price=$(python3 -c "print('%.2f' % (float('$ASK') + 5))")"
[ "$(status)" = 400 ] && [ "$(json "d['code']")" = -2010 ] || fail "limit maker: $(cat "$OUT")"
signed POST /api/v3/order "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=100.001"
[ "$(json "d['code']")" = -1100 ] || [ "$(json "d['code']")" = -1013 ] || fail "tick: $(cat "$OUT")"
signed POST /api/v3/order "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.00001&price=100"
[ "$(json "d['code']")" = -1013 ] || fail "notional: $(cat "$OUT")"

check "hammered: 429 with Retry-After, then 418"
SEEN429=0
for _ in $(seq 60); do
    get /api/v3/exchangeInfo
    S=$(status)
    if [ "$S" = 429 ]; then
        SEEN429=1
        grep -qi '^Retry-After: [0-9]' "$WORK/headers" || fail "429 without Retry-After"
    fi
    [ "$S" = 418 ] && break
done
[ "$SEEN429" = 1 ] || fail "never answered 429"
[ "$S" = 418 ] || fail "never answered 418 (last $S)"
grep -qi '^Retry-After: [0-9]' "$WORK/headers" || fail "418 without Retry-After"

check "hostile HTTP: answered with 4xx or kept waiting, never a crash; keep-alive works"
python3 - "${BASE##*:}" <<'PY' || fail "hostile HTTP"
import socket, sys, http.client
port = int(sys.argv[1])
c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
for _ in range(3):  # three requests on one connection (the weight limit answers 418 by now)
    c.request("GET", "/api/v3/time")
    r = c.getresponse()
    r.read()
    assert r.status in (200, 418), r.status
def raw(data, want):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(data)
    s.settimeout(5)
    got = s.recv(64)
    s.close()
    assert got.startswith(b"HTTP/1.1 " + want), (data[:40], got)
raw(b"GARBAGE\r\n\r\n", b"400")
raw(b"GET /api/v3/ping HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", b"413")
raw(b"GET /api/v3/ping HTTP/1.1\r\nContent-Length: x\r\n\r\n", b"400")
raw(b"POST /api/v3/order HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", b"411")
raw(b"A" * 20000, b"413")
raw(b"GET /nope HTTP/1.0\r\n\r\n", b"4")
PY
kill -0 "$PID" || fail "the server died on hostile input"

check "SIGTERM stops it"
kill -TERM "$PID"
RCS=0
wait "$PID" || RCS=$?
[ "$RCS" = 0 ] || fail "exit code $RCS after SIGTERM: $(cat "$WORK/server.err")"
grep -qE 'runtime error:|Sanitizer' "$WORK/server.err" && fail "sanitizer: $(cat "$WORK/server.err")"
echo "ok"
