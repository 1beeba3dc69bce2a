# coinbase_xsim.sh: the set-up of the Coinbase session tests (68_coinbase_live.sh,
# 68_coinbase_user.sh), sourced after lib.sh: an ES256 key (key.pem, pub.pem, cb.secrets, all
# 0600; KEY_NAME), a Coinbase exchange-sim on 127.0.0.1 with an admin token (XPORT), and
# `fault JSON` for its admin API.
KEY_NAME="organizations/org-test/apiKeys/key-$$"
openssl ecparam -name prime256v1 -genkey -noout -out "$WORK/key.pem" 2>/dev/null
openssl ec -in "$WORK/key.pem" -pubout -out "$WORK/pub.pem" 2>/dev/null
chmod 600 "$WORK/key.pem"
printf 'api_key=%s\napi_secret=%s\n' "$KEY_NAME" "$(cat "$WORK/key.pem")" >"$WORK/cb.secrets"
chmod 600 "$WORK/cb.secrets"
export NODERR_XSIM_API_KEY="$KEY_NAME"
unset NODERR_COINBASE_API_KEY NODERR_COINBASE_API_SECRET NODERR_COINBASE_SECRETS_FILE

printf 'admin-token-for-the-coinbase-test-%s\n' "$$" >"$WORK/admin"
chmod 600 "$WORK/admin"
start_server xsim "$NODERR" exchange-sim --venue coinbase --public-key "$WORK/pub.pem" \
    --tick-ms 20 --seed 7 --balance USD=10000,BTC=0 --admin-token-file "$WORK/admin"
XPORT=$PORT
# fault JSON: exchange-sim's admin API.
fault() {
    curl -sf -o /dev/null -H "Authorization: Bearer $(cat "$WORK/admin")" -d "$1" \
        "http://127.0.0.1:$XPORT/admin/fault" || fail "fault $1"
}
