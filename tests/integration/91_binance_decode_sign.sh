#!/usr/bin/env bash
# 91_binance_decode_sign.sh: `noderr decode --venue binance` on crafted and recorded streams
# (events, per-reason bad-input counters, never a crash), `noderr sign --venue binance` on the
# known-answer vector, and secrets: taken from the environment or a 0600 file, refused from a
# group-readable file, and never present in any output or log line.
# Called as: 91_binance_decode_sign.sh NODERR_BINARY DATA_DIR SHARED_DIR SOURCE_ROOT
source "$(dirname "$0")/lib.sh"

check "decode: usage errors"
expect_usage_error "--venue and FILE are required" "$NODERR" decode --venue binance
expect_usage_error "not built into this binary" "$NODERR" decode --venue kraken "$WORK/x"

check "decode: every kind, and bad lines counted by reason"
cat >"$WORK/mixed.jsonl" <<'J'
{"stream":"btcusdt@trade","data":{"e":"trade","E":1000,"s":"BTCUSDT","t":7,"p":"100.50000000","q":"0.25000000","T":999,"m":true,"M":true}}
{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1000,"s":"BTCUSDT","a":8,"p":"100.5","q":"1","f":1,"l":3,"T":999,"m":false,"M":true}}
{"stream":"btcusdt@bookTicker","data":{"u":5,"s":"BTCUSDT","b":"100.4","B":"2","a":"100.6","A":"3"}}
{"stream":"btcusdt@kline_1m","data":{"e":"kline","E":1,"s":"BTCUSDT","k":{"t":0,"T":59999,"s":"BTCUSDT","i":"1m","f":1,"L":2,"o":"1","c":"2","h":"3","l":"0.5","v":"10","n":2,"x":true,"q":"15","V":"1","Q":"1","B":"0"}}}
{"stream":"btcusdt@depth","data":{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":1,"u":2,"b":[["100.4","0"]],"a":[["100.6","4"]]}}
{"subscriptionId":0,"event":{"e":"balanceUpdate","E":5,"a":"BTC","d":"-0.5","T":4}}
{"result":null,"id":1}
{"stream":"btcusdt@trade","data":{"e":"trade","E":1000,"s":"BTCUSDT","t":7,"p":"100.5
{"e":"trade",]
{"e":"24hrTicker","E":1}
{"e":"trade","E":1000,"s":"BTCUSDT","t":7,"p":"abc","q":"1","T":9,"m":true}
{"e":"trade","E":1000,"s":"BTCUSDT","t":7,"q":"1","T":9,"m":true}
J
expect_rc 0 "$NODERR" decode --venue binance "$WORK/mixed.jsonl" --json
cp "$OUT" "$WORK/events.jsonl"
[ "$(wc -l <"$WORK/events.jsonl")" -eq 7 ] || fail "expected 7 events, got $(wc -l <"$WORK/events.jsonl")"
python3 - "$WORK/events.jsonl" <<'PY' || fail "event JSON differs"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
assert [e["type"] for e in ev] == ["trade", "trade", "bbo", "bar", "book_update", "balance", "status"], ev
t = ev[0]
assert (t["symbol"], t["px"], t["qty"], t["aggressor"], t["venue_ts_ns"]) == \
    ("BTCUSDT", "100.50000000", "0.25000000", "ask", 1000000000), t
assert ev[1]["aggregate"] is True and ev[1]["aggressor"] == "bid"
assert ev[2]["bid_px"] == "100.40000000" and ev[2]["ask_qty"] == "3.00000000"
assert ev[3]["high"] == "3.00000000" and ev[3]["closed"] is True
assert ev[4]["levels"] == [["bid", "100.40000000", "0.00000000"], ["ask", "100.60000000", "4.00000000"]]
assert ev[5]["change"] == "-0.50000000" and ev[5]["delta"] is True
assert ev[6]["code"] == "ack" and ev[6]["request_id"] == 1
PY
tail -n 1 "$ERR" >"$WORK/summary.json"
pycheck "$WORK/summary.json" '
assert d["messages"] == 12 and d["events"] == 7, d
assert d["bad"] == {"malformed": 1, "truncated": 1, "unknown_type": 1, "out_of_order": 0,
                    "bad_number": 1, "missing_field": 1, "too_large": 0, "out_of_range": 0,
                    "too_long": 0, "bad_string": 0, "unsorted": 0, "crossed": 0}, d'
expect_rc 1 "$NODERR" decode --venue binance "$WORK/mixed.jsonl" --strict

check "decode: a pretty-printed document and an array of messages"
printf '{\n  "e": "trade", "E": 1, "s": "X", "t": 1,\n  "p": "1", "q": "2", "T": 1, "m": false\n}\n' >"$WORK/pretty.json"
expect_rc 0 "$NODERR" decode --venue binance "$WORK/pretty.json" --json
[ "$(wc -l <"$OUT")" -eq 1 ] || fail "pretty document: expected one event"
printf '[{"result":null,"id":1},\n {"result":null,"id":2}]\n' >"$WORK/array.json"
expect_rc 0 "$NODERR" decode --venue binance "$WORK/array.json" --json
[ "$(wc -l <"$OUT")" -eq 2 ] || fail "array document: expected two events"

check "decode: garbage never crashes"
head -c 20000 /dev/urandom >"$WORK/garbage.bin"
expect_rc 0 "$NODERR" decode --venue binance "$WORK/garbage.bin"

check "sign: hand-checked vector and the shared known answer"
expect_rc 0 "$NODERR" sign --venue binance --secret k3y --payload 'symbol=BTCUSDT' --body 'quantity=1&price=2'
stdout_has "a2df1d695e3fbd89df83feb1fed3fb4bd4e61583a3a06429b95a6555daef44d8"
KAT="$SHARED/fixtures/binance/signing/hmac_sha256_kat_1_ascii.json"
if [ -f "$KAT" ]; then
    SECRET="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["secretKey"])' "$KAT")"
    PAYLOAD="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["signaturePayload"])' "$KAT")"
    WANT="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["signature"])' "$KAT")"
    expect_rc 0 "$NODERR" sign --venue binance --secret "$SECRET" --payload "$PAYLOAD"
    [ "$(cat "$OUT")" = "$WANT" ] || fail "signature $(cat "$OUT") != $WANT"
else
    echo "  $KAT absent: shared vector skipped"
fi

check "secrets: from the environment and from a 0600 file; never printed"
SECRET_VALUE="S3cr3tValue-$(date +%s%N)"
KEY_VALUE="K3yValue-$(date +%s%N)"
LOG="$WORK/all_output.txt"
: >"$LOG"
NODERR_BINANCE_API_KEY="$KEY_VALUE" NODERR_BINANCE_API_SECRET="$SECRET_VALUE" \
    run "$NODERR" sign --venue binance --payload 'a=1'
[ "$RC" -eq 0 ] || fail "sign with an env secret exited $RC"
cat "$OUT" "$ERR" >>"$LOG"
WANT_ENV="$(printf 'a=1' | openssl dgst -sha256 -hmac "$SECRET_VALUE" | awk '{print $NF}')"
[ "$(cat "$OUT")" = "$WANT_ENV" ] || fail "env secret signature differs from openssl"
printf 'api_key=%s\napi_secret=%s\n' "$KEY_VALUE" "$SECRET_VALUE" >"$WORK/secrets"
chmod 0644 "$WORK/secrets"
run "$NODERR" sign --venue binance --secrets-file "$WORK/secrets" --payload 'a=1'
[ "$RC" -eq 2 ] || fail "a 0644 secrets file was accepted"
grep -q "mode 0600" "$ERR" || fail "the refusal does not name the 0600 rule"
cat "$OUT" "$ERR" >>"$LOG"
chmod 0600 "$WORK/secrets"
run "$NODERR" sign --venue binance --secrets-file "$WORK/secrets" --payload 'a=1'
[ "$RC" -eq 0 ] || fail "a 0600 secrets file was refused"
[ "$(cat "$OUT")" = "$WANT_ENV" ] || fail "file secret signature differs"
cat "$OUT" "$ERR" >>"$LOG"
NODERR_BINANCE_API_KEY="$KEY_VALUE" NODERR_BINANCE_API_SECRET="$SECRET_VALUE" \
    run "$NODERR" decode --venue binance "$WORK/mixed.jsonl"
cat "$OUT" "$ERR" >>"$LOG"
printf 'api_key=%s\nbogus\n' "$KEY_VALUE" >"$WORK/bad_secrets"
chmod 0600 "$WORK/bad_secrets"
run "$NODERR" sign --venue binance --secrets-file "$WORK/bad_secrets" --payload 'a=1'
[ "$RC" -eq 2 ] || fail "a malformed secrets file was accepted"
cat "$OUT" "$ERR" >>"$LOG"
if grep -qF -e "$SECRET_VALUE" -e "$KEY_VALUE" "$LOG"; then
    fail "a secret appeared in the output"
fi

check "sign: Ed25519 and RSA keys from a 0600 PEM file"
ED_KAT="$SHARED/fixtures/binance/signing/ed25519_kat_1_query.json"
if [ -f "$ED_KAT" ]; then
    python3 - "$ED_KAT" "$WORK" <<'PY'
import json, os, sys
d = json.load(open(sys.argv[1]))
for name, key in (("ed.pem", "privateKeyPem"), ("ed_pub.pem", "publicKeyPem")):
    path = os.path.join(sys.argv[2], name)
    with open(path, "w") as f:
        f.write(d[key])
    os.chmod(path, 0o600)
open(os.path.join(sys.argv[2], "ed_payload"), "w").write(d["signaturePayload"])
open(os.path.join(sys.argv[2], "ed_want"), "w").write(d["signature"])
open(os.path.join(sys.argv[2], "ed_want_url"), "w").write(d["signatureUrlEncoded"])
PY
    expect_rc 0 "$NODERR" sign --venue binance --key-type ed25519 --secrets-file "$WORK/ed.pem" \
        --payload "$(cat "$WORK/ed_payload")"
    [ "$(cat "$OUT")" = "$(cat "$WORK/ed_want")" ] || fail "Ed25519 $(cat "$OUT") != $(cat "$WORK/ed_want")"
    cat "$OUT" "$ERR" >>"$LOG"
    expect_rc 0 "$NODERR" sign --venue binance --key-type ed25519 --secrets-file "$WORK/ed.pem" \
        --payload "$(cat "$WORK/ed_payload")" --url-encoded
    [ "$(cat "$OUT")" = "$(cat "$WORK/ed_want_url")" ] || fail "URL-encoded Ed25519 differs"
    # The same key as api_secret= in a secrets file, and from the environment.
    { printf 'api_key=%s\napi_secret=' "$KEY_VALUE"; cat "$WORK/ed.pem"; } >"$WORK/ed_secrets"
    chmod 0600 "$WORK/ed_secrets"
    expect_rc 0 "$NODERR" sign --venue binance --key-type ed25519 --secrets-file "$WORK/ed_secrets" \
        --payload "$(cat "$WORK/ed_payload")"
    [ "$(cat "$OUT")" = "$(cat "$WORK/ed_want")" ] || fail "Ed25519 from api_secret= differs"
    NODERR_BINANCE_API_SECRET="$(cat "$WORK/ed.pem")" run "$NODERR" sign --venue binance \
        --key-type ed25519 --payload "$(cat "$WORK/ed_payload")"
    [ "$RC" -eq 0 ] && [ "$(cat "$OUT")" = "$(cat "$WORK/ed_want")" ] || fail "Ed25519 from env differs"
    expect_usage_error "public key" "$NODERR" sign --venue binance --key-type ed25519 \
        --secrets-file "$WORK/ed_pub.pem" --payload a=1
    expect_usage_error "an Ed25519 key, not RSA" "$NODERR" sign --venue binance --key-type rsa \
        --secrets-file "$WORK/ed.pem" --payload a=1
    expect_usage_error "not an HMAC secret" "$NODERR" sign --venue binance \
        --secrets-file "$WORK/ed.pem" --payload a=1
    chmod 0640 "$WORK/ed.pem"
    expect_usage_error "mode 0600" "$NODERR" sign --venue binance --key-type ed25519 \
        --secrets-file "$WORK/ed.pem" --payload a=1
    cat "$OUT" "$ERR" >>"$LOG"
    if grep -qF "$(sed -n 2p "$WORK/ed.pem")" "$LOG"; then
        fail "the Ed25519 private key appeared in the output"
    fi
else
    echo "  $ED_KAT absent: Ed25519 vector skipped"
fi
openssl genpkey -algorithm rsa -pkeyopt rsa_keygen_bits:2048 -out "$WORK/rsa.pem" 2>/dev/null ||
    fail "openssl genpkey rsa failed"
chmod 0600 "$WORK/rsa.pem"
expect_rc 0 "$NODERR" sign --venue binance --key-type rsa --secrets-file "$WORK/rsa.pem" \
    --payload 'symbol=BTCUSDT&side=BUY' --body '&quantity=1'
WANT_RSA="$(printf 'symbol=BTCUSDT&side=BUY&quantity=1' | openssl dgst -sha256 -sign "$WORK/rsa.pem" | base64 -w0)"
[ "$(cat "$OUT")" = "$WANT_RSA" ] || fail "RSA signature differs from openssl dgst -sign"
expect_usage_error "an RSA key, not Ed25519" "$NODERR" sign --venue binance --key-type ed25519 \
    --secrets-file "$WORK/rsa.pem" --payload a=1
printf 'not a key\n' >"$WORK/junk.pem"
chmod 0600 "$WORK/junk.pem"
expect_usage_error "expected api_key=" "$NODERR" sign --venue binance --key-type rsa \
    --secrets-file "$WORK/junk.pem" --payload a=1
expect_usage_error "not a PEM key" "$NODERR" sign --venue binance --key-type rsa --secret junk \
    --payload a=1
expect_usage_error "expected hmac, ed25519 or rsa" "$NODERR" sign --venue binance --key-type dsa \
    --secret x --payload a=1
expect_usage_error "only for --venue binance" "$NODERR" sign --venue coinbase-exchange \
    --key-type ed25519 --secret eA== --timestamp 1 --method GET --path /
expect_usage_error "--url-encoded is only for --venue binance" "$NODERR" sign \
    --venue coinbase-exchange --url-encoded --secret eA== --timestamp 1 --method GET --path /

echo "91_binance_decode_sign: all checks passed"
