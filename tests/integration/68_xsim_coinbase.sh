#!/usr/bin/env bash
# 68_xsim_coinbase.sh: `noderr exchange-sim --venue coinbase` speaking Coinbase Advanced Trade:
# REST with JWTs from the project's own signer (`noderr sign --venue coinbase`): time, product,
# a market and a limit order, a repeated client_order_id answering the same order, open orders,
# fills (commission in quote), accounts, batch_cancel; refused JWTs (another key, another path,
# tampered) are 401 "Unauthorized". WebSocket (tests/integration/xsim_ws.py): heartbeats,
# level2, market_trades, ticker and user (JWT in the subscribe) with sequence_num counting
# every message of the connection, the level2 book never crossed, every message read by the
# project's decoder (`noderr decode --venue coinbase --strict`), a bad user JWT refused; the
# admin faults on Coinbase's wire: drop and gap as sequence_num jumps, duplicate as a repeated
# number, reject as success false, rate_limit as 429 with Retry-After, disconnect as a 1001
# close. SIGTERM stops it (exit 0).
# Called as: 68_xsim_coinbase.sh NODERR_BINARY DATA_DIR SHARED_DIR SOURCE_ROOT
source "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || { echo "curl missing: skipped"; exit 77; }
command -v openssl >/dev/null || { echo "openssl missing: skipped"; exit 77; }
HERE="$(cd "$(dirname "$0")" && pwd)"
KEY_NAME="organizations/org-test/apiKeys/key-$$"
openssl ecparam -name prime256v1 -genkey -noout -out "$WORK/key.pem" 2>/dev/null
openssl ec -in "$WORK/key.pem" -pubout -out "$WORK/pub.pem" 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out "$WORK/other.pem" 2>/dev/null
chmod 600 "$WORK/key.pem" "$WORK/other.pem"
TOKEN="admin-token-$$-0123456789abcdef"
printf '%s\n' "$TOKEN" >"$WORK/token"
chmod 600 "$WORK/token"
export NODERR_XSIM_API_KEY="$KEY_NAME"

check "usage errors"
expect_usage_error "--public-key" "$NODERR" exchange-sim --venue coinbase
expect_usage_error "register the public half" "$NODERR" exchange-sim --venue coinbase \
    --public-key "$WORK/key.pem"
expect_usage_error "expected binance or coinbase" "$NODERR" exchange-sim --venue kraken
expect_usage_error "BASE-QUOTE" "$NODERR" exchange-sim --venue coinbase --symbol BTCUSD \
    --public-key "$WORK/pub.pem"
expect_usage_error "--key-name" "$NODERR" sign --venue coinbase --secrets-file "$WORK/key.pem"

start_server xsim "$NODERR" exchange-sim --venue coinbase --public-key "$WORK/pub.pem" \
    --admin-token-file "$WORK/token" --tick-ms 20 --market-step-ms 10
XPID="${SERVER_PIDS[0]}"
BASE="http://127.0.0.1:$PORT/api/v3/brokerage"

# cb METHOD PATH [BODY] [KEY]: one signed request; body to $OUT, HTTP status to $STATUS.
cb() {
    local jwt
    jwt="$("$NODERR" sign --venue coinbase --key-name "$KEY_NAME" --secrets-file "${4:-$WORK/key.pem}" \
        --method "$1" --host "127.0.0.1:$PORT" --path "/api/v3/brokerage${2%%\?*}")"
    STATUS=$(curl -s -o "$OUT" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $jwt" \
        -H "Content-Type: application/json" ${3:+-d "$3"} "$BASE$2")
}
admin() {
    STATUS=$(curl -s -o "$OUT" -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" \
        -d "$1" "http://127.0.0.1:$PORT/admin/fault")
    [ "$STATUS" = 200 ] || fail "admin $1: HTTP $STATUS $(cat "$OUT")"
}

check "public time and product; Binance paths are not served"
STATUS=$(curl -s -o "$OUT" -w '%{http_code}' "$BASE/time")
[ "$STATUS" = 200 ] || fail "time: $STATUS"
pycheck "$OUT" 'assert int(d["epochSeconds"]) > 1600000000 and d["iso"].endswith("Z")'
cb GET /products/BTC-USD
[ "$STATUS" = 200 ] || fail "product: $STATUS"
pycheck "$OUT" 'assert d["product_id"] == "BTC-USD" and d["quote_increment"] == "0.01" and d["base_min_size"] == "0.00001"'
STATUS=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/api/v3/time")
[ "$STATUS" = 404 ] || fail "a Binance path answered $STATUS"

check "refused JWTs: another key, another path, tampered"
cb GET /accounts "" "$WORK/other.pem"
[ "$STATUS" = 401 ] && grep -q '^Unauthorized' "$OUT" || fail "another key: $STATUS $(cat "$OUT")"
J="$("$NODERR" sign --venue coinbase --key-name "$KEY_NAME" --secrets-file "$WORK/key.pem" \
    --method GET --host "127.0.0.1:$PORT" --path /api/v3/brokerage/accounts)"
STATUS=$(curl -s -o "$OUT" -w '%{http_code}' -H "Authorization: Bearer $J" "$BASE/orders/historical/fills")
[ "$STATUS" = 401 ] || fail "a JWT for another path: $STATUS"
STATUS=$(curl -s -o "$OUT" -w '%{http_code}' -H "Authorization: Bearer ${J%??}xx" "$BASE/accounts")
[ "$STATUS" = 401 ] || fail "a tampered JWT: $STATUS"
STATUS=$(curl -s -o "$OUT" -w '%{http_code}' "$BASE/accounts")
[ "$STATUS" = 401 ] || fail "no JWT: $STATUS"

check "orders: market, limit, the same client_order_id again, post_only refused"
cb POST /orders '{"client_order_id":"it-mkt-1","product_id":"BTC-USD","side":"BUY","order_configuration":{"market_market_ioc":{"base_size":"0.01"}}}'
pycheck "$OUT" 'assert d["success"] and d["success_response"]["client_order_id"] == "it-mkt-1"'
MKT="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["success_response"]["order_id"])' "$OUT")"
cb POST /orders '{"client_order_id":"it-lim-1","product_id":"BTC-USD","side":"BUY","order_configuration":{"limit_limit_gtc":{"base_size":"0.001","limit_price":"30000","post_only":false}}}'
LIM="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["success_response"]["order_id"])' "$OUT")"
cb POST /orders '{"client_order_id":"it-lim-1","product_id":"BTC-USD","side":"BUY","order_configuration":{"limit_limit_gtc":{"base_size":"0.001","limit_price":"30000","post_only":false}}}'
pycheck "$OUT" "assert d['success'] and d['success_response']['order_id'] == '$LIM'"
cb POST /orders '{"client_order_id":"it-po-1","product_id":"BTC-USD","side":"BUY","order_configuration":{"limit_limit_gtc":{"base_size":"0.001","limit_price":"50000","post_only":true}}}'
pycheck "$OUT" 'assert not d["success"] and d["error_response"]["new_order_failure_reason"] == "INVALID_LIMIT_PRICE_POST_ONLY"'
cb POST /orders '{"client_order_id":"it-bad-1","product_id":"ETH-USD","side":"BUY","order_configuration":{"market_market_ioc":{"base_size":"1"}}}'
pycheck "$OUT" 'assert not d["success"] and d["error_response"]["error"] == "INVALID_PRODUCT_ID"'

check "open orders, one order, fills, accounts"
cb GET "/orders/historical/batch?order_status=OPEN&product_ids=BTC-USD"
pycheck "$OUT" "assert [o['order_id'] for o in d['orders']] == ['$LIM'] and d['orders'][0]['status'] == 'OPEN'"
cb GET "/orders/historical/$MKT"
pycheck "$OUT" 'o = d["order"]; assert o["status"] == "FILLED" and o["filled_size"] == "0.01" and float(o["total_fees"]) > 0 and o["completion_percentage"] == "100.00"'
cb GET "/orders/historical/00000000-0000-4000-8000-0000000000ff"
[ "$STATUS" = 404 ] || fail "an unknown order: $STATUS"
pycheck "$OUT" 'assert d["error"] == "NOT_FOUND"'
cb GET "/orders/historical/fills?order_id=$MKT"
pycheck "$OUT" "assert d['fills'] and all(f['order_id'] == '$MKT' and f['side'] == 'BUY' and f['liquidity_indicator'] == 'TAKER' and float(f['commission']) > 0 for f in d['fills'])"
cb GET /accounts
pycheck "$OUT" '
a = {x["currency"]: x for x in d["accounts"]}
assert a["BTC"]["available_balance"]["value"] == "0.01", a["BTC"]   # fees in USD: all the BTC bought
assert float(a["USD"]["hold"]["value"]) > 30, a["USD"]                # the open buy holds notional + fee
assert float(a["USD"]["available_balance"]["value"]) < 10000 - 400'
cb POST /orders/batch_cancel "{\"order_ids\":[\"$LIM\",\"00000000-0000-4000-8000-0000000000ff\"]}"
pycheck "$OUT" "r = d['results']; assert r[0]['success'] and r[0]['order_id'] == '$LIM' and not r[1]['success']"

check "WebSocket: every channel, sequence_num per connection, decoded by the project's decoder"
WSJWT="$("$NODERR" sign --venue coinbase --key-name "$KEY_NAME" --secrets-file "$WORK/key.pem")"
ORDERJWT="$("$NODERR" sign --venue coinbase --key-name "$KEY_NAME" --secrets-file "$WORK/key.pem" \
    --method POST --host "127.0.0.1:$PORT" --path /api/v3/brokerage/orders)"
python3 - "$HERE" "$PORT" "$WSJWT" "$WORK/ws.jsonl" "$TOKEN" "$ORDERJWT" <<'PY' || fail "WebSocket checks"
import json, sys, time, urllib.request
sys.path.insert(0, sys.argv[1])
from xsim_ws import connect, frame, frames
port, jwt, out, token = int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
def fault(body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/admin/fault", data=body.encode(),
                                 headers={"Authorization": "Bearer " + token}, method="POST")
    assert urllib.request.urlopen(req).status == 200
s, status, rest = connect(port, "/")
assert "101" in status, status
sub = lambda ch, **kw: s.sendall(frame(json.dumps(dict(type="subscribe", channel=ch, **kw))))
sub("heartbeats")
for ch in ("level2", "market_trades", "ticker"):
    sub(ch, product_ids=["BTC-USD"])
sub("user", product_ids=["BTC-USD"], jwt="x.y.z")         # refused
sub("user", product_ids=["BTC-USD"], jwt=jwt)
def order(cid):  # a market buy while the user channel listens
    body = json.dumps({"client_order_id": cid, "product_id": "BTC-USD", "side": "BUY",
                       "order_configuration": {"market_market_ioc": {"base_size": "0.002"}}})
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v3/brokerage/orders",
                                 data=body.encode(), method="POST",
                                 headers={"Authorization": "Bearer " + sys.argv[6],
                                          "Content-Type": "application/json"})
    assert json.load(urllib.request.urlopen(req))["success"]
msgs, errors, seqs, book, channels, users = [], [], [], {}, set(), []
start = time.time()
for op, p in frames(s, rest, 3.0):
    if op != 1:
        continue
    if start and time.time() - start > 1.0:
        order("ws-mkt-1"); start = None
    m = json.loads(p)
    if m.get("channel") == "user":
        users += [o for ev in m["events"] for o in ev["orders"]]
    if m.get("type") == "error":
        errors.append(m); continue
    msgs.append(p.decode()); seqs.append(m["sequence_num"]); channels.add(m["channel"])
    if m["channel"] == "l2_data":
        for ev in m["events"]:
            if ev["type"] == "snapshot":
                book = {}
            for u in ev["updates"]:
                k = (u["side"], u["price_level"])
                if float(u["new_quantity"]) == 0: book.pop(k, None)
                else: book[k] = u["new_quantity"]
            bids = [float(k[1]) for k in book if k[0] == "bid"]
            asks = [float(k[1]) for k in book if k[0] == "offer"]
            assert bids and asks and max(bids) < min(asks), "crossed book"
assert seqs == list(range(len(seqs))), "sequence_num counts every message from 0"
assert errors == [{"type": "error", "message": "authentication failure"}], errors
assert channels >= {"subscriptions", "heartbeats", "l2_data", "market_trades", "ticker", "user"}, channels
hb = [json.loads(x) for x in msgs if '"heartbeats"' in x[:30]]
assert len(hb) >= 2 and " +0000 UTC m=+" in hb[0]["events"][0]["current_time"]
counters = [h["events"][0]["heartbeat_counter"] for h in hb]
assert counters == list(range(1, len(counters) + 1)), counters
mine = [o for o in users if o["client_order_id"] == "ws-mkt-1"]
assert mine and mine[0]["status"] == "OPEN" and mine[-1]["status"] == "FILLED", mine
assert mine[-1]["cumulative_quantity"] == "0.002" and mine[-1]["leaves_quantity"] == "0", mine[-1]
assert float(mine[-1]["total_fees"]) > 0 and float(mine[-1]["avg_price"]) > 0, mine[-1]
open(out, "w").write("\n".join(msgs) + "\n")
# faults on the wire: drop = one number missing, duplicate = one number twice, gap = a jump
def seen(seconds):
    got = []
    for op, p in frames(s, b"", seconds):
        if op == 1:
            m = json.loads(p)
            if m["channel"] in ("l2_data", "market_trades", "ticker"):
                got.append(m["sequence_num"])
    return got
seen(0.3)
fault('{"fault":"drop","count":1}'); a = seen(1.0)
assert any(b - x == 2 for x, b in zip(a, a[1:])), ("drop", a)
fault('{"fault":"duplicate","count":1}'); a = seen(1.0)
assert any(b == x for x, b in zip(a, a[1:])), ("duplicate", a)
fault('{"fault":"gap"}'); a = seen(1.0)
assert any(b - x >= 2 for x, b in zip(a, a[1:])), ("gap", a)
fault('{"fault":"disconnect"}')
closes = [p for op, p in frames(s, b"", 2.0) if op == 8]
assert closes and int.from_bytes(closes[0][:2], "big") == 1001, closes
PY
run "$NODERR" decode --venue coinbase "$WORK/ws.jsonl" --strict --json
[ "$RC" = 0 ] || fail "the project's decoder refused a message: $(tail -n 3 "$ERR")"
grep -q '"order_update"' "$OUT" || fail "no user order event decoded"

check "faults: reject, rate limit"
admin '{"fault":"reject","count":1,"code":-2010}'
cb POST /orders '{"client_order_id":"it-rej-1","product_id":"BTC-USD","side":"BUY","order_configuration":{"market_market_ioc":{"base_size":"0.001"}}}'
pycheck "$OUT" 'assert not d["success"]'
admin '{"fault":"rate_limit","ms":1500}'
STATUS=$(curl -s -D "$WORK/headers" -o "$OUT" -w '%{http_code}' "$BASE/time")
[ "$STATUS" = 429 ] || fail "rate limit: $STATUS"
grep -qi '^Retry-After: [12]' "$WORK/headers" || fail "no Retry-After: $(cat "$WORK/headers")"
pycheck "$OUT" 'assert d["error"] == "RATE_LIMIT_EXCEEDED"'

check "SIGTERM stops it"
kill -TERM "$XPID"
RCS=0
wait "$XPID" || RCS=$?
[ "$RCS" = 0 ] || fail "exit $RCS after SIGTERM: $(cat "$WORK/xsim.err")"
grep -qE 'runtime error:|Sanitizer' "$WORK/xsim.err" && fail "sanitizer: $(cat "$WORK/xsim.err")"
grep -q "$TOKEN" "$WORK/xsim.err" && fail "the admin token was logged"
echo "ok"
