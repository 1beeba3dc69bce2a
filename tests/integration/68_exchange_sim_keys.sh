#!/usr/bin/env bash
# 68_exchange_sim_keys.sh: `noderr exchange-sim --api-key-type ed25519 --public-key FILE`: an
# order signed by `noderr sign --key-type ed25519` (URL-encoded base64) is accepted, placed and
# cancelled; a signature by another key is -1022; registration errors
# (a private key as the public key, a key of the other type, no API key) exit 2.
# Called as: 68_exchange_sim_keys.sh NODERR_BINARY DATA_DIR SHARED_DIR SOURCE_ROOT
source "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || { echo "curl missing: skipped"; exit 77; }
command -v openssl >/dev/null || { echo "openssl missing: skipped"; exit 77; }

openssl genpkey -algorithm ed25519 -out "$WORK/ed.pem" 2>/dev/null || fail "genpkey ed25519"
openssl pkey -in "$WORK/ed.pem" -pubout -out "$WORK/ed_pub.pem" 2>/dev/null || fail "pkey -pubout"
openssl genpkey -algorithm ed25519 -out "$WORK/other.pem" 2>/dev/null || fail "genpkey ed25519"
openssl genpkey -algorithm rsa -pkeyopt rsa_keygen_bits:2048 -out "$WORK/rsa.pem" 2>/dev/null ||
    fail "genpkey rsa"
openssl pkey -in "$WORK/rsa.pem" -pubout -out "$WORK/rsa_pub.pem" 2>/dev/null || fail "rsa -pubout"
chmod 600 "$WORK"/*.pem
KEY="xsim-ed-key"

check "registration errors"
expect_usage_error "register the public half" env NODERR_XSIM_API_KEY="$KEY" \
    "$NODERR" exchange-sim --api-key-type ed25519 --public-key "$WORK/ed.pem"
expect_usage_error "the public key is RSA, not Ed25519" env NODERR_XSIM_API_KEY="$KEY" \
    "$NODERR" exchange-sim --api-key-type ed25519 --public-key "$WORK/rsa_pub.pem"
expect_usage_error "needs --public-key FILE and NODERR_XSIM_API_KEY" env -u NODERR_XSIM_API_KEY \
    "$NODERR" exchange-sim --api-key-type ed25519 --public-key "$WORK/ed_pub.pem"
expect_usage_error "expected hmac, ed25519 or rsa" "$NODERR" exchange-sim --api-key-type dsa
expect_usage_error "--public-key needs --api-key-type" env NODERR_XSIM_API_KEY=k \
    NODERR_XSIM_API_SECRET=s "$NODERR" exchange-sim --public-key "$WORK/ed_pub.pem"

check "an Ed25519 API key trades"
NODERR_XSIM_API_KEY="$KEY" "$NODERR" exchange-sim --api-key-type ed25519 \
    --public-key "$WORK/ed_pub.pem" --seed 3 >"$WORK/server.out" 2>"$WORK/server.err" &
PID=$!
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do
    grep -q '^listening on ' "$WORK/server.out" 2>/dev/null && break
    sleep 0.05
done
LINE="$(head -n1 "$WORK/server.out")"
[[ "$LINE" =~ ^listening\ on\ 127\.0\.0\.1:([0-9]+)$ ]] || fail "first line: '$LINE' $(cat "$WORK/server.err")"
BASE="http://127.0.0.1:${BASH_REMATCH[1]}"

now_ms() { python3 -c 'import time; print(int(time.time() * 1000))'; }
# signed KEYFILE METHOD PATH QUERY: signed with `noderr sign --key-type ed25519 --url-encoded`
signed() {
    local q="$4&timestamp=$(now_ms)" sig
    sig="$("$NODERR" sign --venue binance --key-type ed25519 --secrets-file "$1" --payload "$q" \
        --url-encoded)"
    curl -sS -X "$2" -D "$WORK/headers" -o "$OUT" -H "X-MBX-APIKEY: $KEY" "$BASE$3?$q&signature=$sig"
}
status() { head -n1 "$WORK/headers" | awk '{print $2}'; }
json() { python3 -c "import json,sys; d=json.load(open('$OUT')); print($1)"; }

signed "$WORK/ed.pem" POST /api/v3/order \
    "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=30000&newClientOrderId=ed-1"
[ "$(status)" = 200 ] && [ "$(json "d['status']")" = NEW ] || fail "order: $(cat "$OUT")"
signed "$WORK/ed.pem" GET /api/v3/openOrders "symbol=BTCUSDT"
[ "$(json "[o['clientOrderId'] for o in d]")" = "['ed-1']" ] || fail "openOrders: $(cat "$OUT")"
signed "$WORK/ed.pem" DELETE /api/v3/order "symbol=BTCUSDT&origClientOrderId=ed-1"
[ "$(status)" = 200 ] && [ "$(json "d['status']")" = CANCELED ] || fail "cancel: $(cat "$OUT")"

check "another key's signature is -1022"
signed "$WORK/other.pem" GET /api/v3/openOrders "symbol=BTCUSDT"
[ "$(status)" = 400 ] && [ "$(json "d['code']")" = -1022 ] || fail "other key: $(cat "$OUT")"
kill "$PID"
wait "$PID" || true
trap 'rm -rf "$WORK"' EXIT

echo "68_exchange_sim_keys: all checks passed"
