#!/usr/bin/env bash
# 94_coinbase_exchange.sh: Coinbase Exchange through the CLI: `book replay` of every recorded
# level2 session must equal its meta.json exactly (decimal strings included); `sign` reproduces
# every CB-ACCESS-SIGN known answer and takes the secret from the environment without ever
# printing it; `decode` turns the recorded feed into normalised events and counts bad input.
source "$(dirname "$0")/lib.sh"

CB="$SHARED/fixtures/coinbase"
[ -d "$CB/exchange_ws" ] || { echo "SKIP: $CB absent"; exit 77; }

check "book replay matches every level2_*/meta.json"
n=0
for dir in "$CB"/exchange_ws/level2_*/; do
    expect_rc 0 "$NODERR" book replay --venue coinbase-exchange --stream "$dir/stream.jsonl" --json
    python3 - "$OUT" "$dir/meta.json" <<'PY' || fail "book replay of $dir differs from meta.json"
import json, sys
got = json.load(open(sys.argv[1]))
want = json.load(open(sys.argv[2]))["expected_after_applying_all"]
for key, value in want.items():
    assert got.get(key) == value, (key, got.get(key), value)
PY
    n=$((n + 1))
done
[ "$n" -gt 0 ] || fail "no level2 sessions found"
echo "  $n sessions match"

check "book replay text output and a missing file"
expect_rc 0 "$NODERR" book replay --venue coinbase-exchange --stream "$CB/exchange_ws/level2_NU-GBP/stream.jsonl"
stdout_has "updates_applied 76"
expect_rc 2 "$NODERR" book replay --venue coinbase-exchange --stream "$WORK/missing.jsonl"

check "a stream with bad lines: counted, skipped, the book still right"
{
    printf '%s\n' '{"type":"l2update","product_id":"A-B","changes":[["buy","1.00","5"]]}'
    printf '%s\n' '{"type":"snapshot","product_id":"A-B","bids":[["1.00","5.00"],["0.90","1.00"]],"asks":[["1.10","2.00"]]}'
    printf '%s\n' '{"type":"l2update","product_id":"A-B","changes":[["buy","0.95","3.00"]]'
    printf '%s\n' 'garbage'
    printf '%s\n' '{"type":"l2update","product_id":"A-B","changes":[["buy","0.95","1e3"]]}'
    printf '%s\n' '{"type":"l2update","product_id":"A-B","changes":[["sell","1.05","0.50"],["buy","0.90","0"]]}'
} >"$WORK/bad.jsonl"
expect_rc 0 "$NODERR" book replay --venue coinbase-exchange --stream "$WORK/bad.jsonl" --json
pycheck "$OUT" '
assert d["updates_applied"] == 1, d
assert d["bid_levels"] == 1 and d["ask_levels"] == 2
assert d["top5_bids"] == [["1.00", "5.00"]]
assert d["top5_asks"] == [["1.05", "0.50"], ["1.10", "2.00"]]
'

check "sign reproduces every CB-ACCESS-SIGN known answer"
for f in "$CB"/signing/*.json; do
    args=$(python3 - "$f" <<'PY'
import json, shlex, sys
v = json.load(open(sys.argv[1]))
a = ["--secret", v["secret"], "--timestamp", v["timestamp"], "--method", v["method"],
     "--path", v["requestPath"]]
if v.get("body"):
    a += ["--body", v["body"]]
print(" ".join(shlex.quote(x) for x in a))
PY
)
    want=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["expected_headers"]["CB-ACCESS-SIGN"])' "$f")
    eval expect_rc 0 '"$NODERR"' sign --venue coinbase-exchange "$args"
    [ "$(cat "$OUT")" = "$want" ] || fail "$f: got $(cat "$OUT"), want $want"
done

check "sign with a body (vector worked out with python3 hmac)"
expect_rc 0 "$NODERR" sign --venue coinbase-exchange --secret bm9kZXJyLXRlc3Qta2V5LTAxMjM0NTY3ODlhYmNkZWY= \
    --timestamp 1700000000.5 --method POST --path /orders --body '{"size":"1.5"}'
[ "$(cat "$OUT")" = "R6xtK9h+4lq6L3ohkMiYSHdHmiagWwEmxnvCGpnY/qM=" ] || fail "got $(cat "$OUT")"

check "secrets from the environment are used and never printed"
SECRET="c2VjcmV0LW5ldmVyLXByaW50LXRoaXMtdmFsdWUtMTIzNDU="
KEY="key-never-print-9f8e7d6c"
PASS="pass-never-print-1a2b3c"
ALL="$WORK/all_output"
: >"$ALL"
export NODERR_COINBASE_EXCHANGE_API_SECRET="$SECRET" NODERR_COINBASE_EXCHANGE_API_KEY="$KEY" \
       NODERR_COINBASE_EXCHANGE_API_PASSPHRASE="$PASS"
expect_rc 0 "$NODERR" sign --venue coinbase-exchange --timestamp 1 --method GET --path /accounts
want=$(python3 -c '
import base64, hashlib, hmac, sys
print(base64.b64encode(hmac.new(base64.b64decode(sys.argv[1]), b"1GET/accounts", hashlib.sha256).digest()).decode())' "$SECRET")
[ "$(cat "$OUT")" = "$want" ] || fail "env secret: got $(cat "$OUT"), want $want"
cat "$OUT" "$ERR" >>"$ALL"
export NODERR_COINBASE_EXCHANGE_API_SECRET="not-base64-$SECRET!"
run "$NODERR" sign --venue coinbase-exchange --timestamp 1 --method GET --path /accounts
[ "$RC" -eq 2 ] || fail "a bad secret exited $RC"
cat "$OUT" "$ERR" >>"$ALL"
run "$NODERR" sign --venue coinbase-exchange --secret "$SECRET" --timestamp 1 --method GET
cat "$OUT" "$ERR" >>"$ALL"
run "$NODERR" decode --venue coinbase-exchange "$CB/exchange_ws/ticker_match_SKL-USD.jsonl" --json
cat "$OUT" "$ERR" >>"$ALL"
unset NODERR_COINBASE_EXCHANGE_API_SECRET NODERR_COINBASE_EXCHANGE_API_KEY NODERR_COINBASE_EXCHANGE_API_PASSPHRASE
for s in "$SECRET" "$KEY" "$PASS"; do
    if grep -qF -- "$s" "$ALL"; then fail "a secret appeared in the output"; fi
done

check "decode: recorded ticker/last_match/match stream"
expect_rc 0 "$NODERR" decode --venue coinbase-exchange "$CB/exchange_ws/ticker_match_SKL-USD.jsonl" --json
python3 - "$OUT" <<'PY' || fail "decoded events are wrong"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
events = [l for l in lines if "type" in l]
kinds = {}
for e in events:
    kinds[e["type"]] = kinds.get(e["type"], 0) + 1
# 106 recorded messages: tickers become bbo events, last_match and match become trades.
assert len(events) == 106 and kinds.get("trade", 0) > 0 and kinds.get("bbo", 0) > 0, kinds
first = events[1]
assert first["type"] == "trade" and first["symbol"] == "SKL-USD", first
# last_match 1568267: the maker sold, so the taker (aggressor) bought.
assert first["trade_id"] == 1568267 and first["aggressor"] == "bid" and first["px"] == "0.79040000"
assert first["venue_ts_ns"] == 1618677817056746000
assert all(e["venue"] == "coinbase-exchange" for e in events)
PY
check "decode: bad lines are counted by reason, never crash"
{
    printf '%s\n' '{"type":"match","trade_id":1,"side":"sell","size":"1","price":"2","product_id":"A-B","time":"2021-04-17T16:43:37Z"}'
    printf '%s\n' '{"type":"match","trade_id":1,"side":"sell","size":"1","price":"2",'
    printf '%s\n' '{"type":"received","product_id":"A-B"}'
    printf '%s\n' '[1,2,3]'
    printf '%s\n' '{"type":"match","trade_id":"x","side":"sell","size":"1","price":"2","product_id":"A-B"}'
    printf '\001\377\376 binary garbage\n'
} >"$WORK/bad_decode.jsonl"
expect_rc 0 "$NODERR" decode --venue coinbase-exchange "$WORK/bad_decode.jsonl" --json
[ "$(grep -c '"type":"trade"' "$OUT")" -eq 1 ] || fail "expected exactly one trade"
python3 - "$ERR" <<'PY' || fail "bad-input counters are wrong: $(cat "$ERR")"
import json, sys
s = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
b = s["bad"]
assert s["messages"] == 6 and s["events"] == 1, s
assert b["truncated"] == 1 and b["unknown_type"] == 1 and b["bad_number"] == 1, b
assert b["malformed"] == 2, b   # the array and the random bytes
PY

echo "94_coinbase_exchange: all checks passed"
