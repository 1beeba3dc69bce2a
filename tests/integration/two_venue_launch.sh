# two_venue_launch.sh: the set-up of the two-venue launch tests (69_launch_two_venues.sh,
# 69_launch_venue_down.sh), sourced after lib.sh: the keys, a Binance and a Coinbase
# exchange-sim (BPORT, CPORT, CXSIM), `config` and the signed Binance GET `binance`.

# Binance: HMAC key from a 0600 file; Coinbase: ES256 key from a 0600 file.
BKEY="launch2-key" BSECRET="launch2-secret-$$"
printf 'api_key=%s\napi_secret=%s\n' "$BKEY" "$BSECRET" >"$WORK/b.secrets"
chmod 600 "$WORK/b.secrets"
CKEY="organizations/org-test/apiKeys/launch2-$$"
openssl ecparam -name prime256v1 -genkey -noout -out "$WORK/key.pem" 2>/dev/null
openssl ec -in "$WORK/key.pem" -pubout -out "$WORK/pub.pem" 2>/dev/null
chmod 600 "$WORK/key.pem"
printf 'api_key=%s\napi_secret=%s\n' "$CKEY" "$(cat "$WORK/key.pem")" >"$WORK/cb.secrets"
chmod 600 "$WORK/cb.secrets"
unset NODERR_COINBASE_API_KEY NODERR_COINBASE_API_SECRET NODERR_BINANCE_API_KEY \
    NODERR_BINANCE_API_SECRET

start_server bxsim env NODERR_XSIM_API_KEY="$BKEY" NODERR_XSIM_API_SECRET="$BSECRET" \
    "$NODERR" exchange-sim --tick-ms 20 --seed 9 --fee-bps 10 --balance USDT=10000,BTC=0
BPORT=$PORT
start_server cxsim env NODERR_XSIM_API_KEY="$CKEY" \
    "$NODERR" exchange-sim --venue coinbase --public-key "$WORK/pub.pem" --tick-ms 20 --seed 7 \
    --balance USD=10000,BTC=0
CPORT=$PORT
CXSIM=${SERVER_PIDS[-1]}
# config FILE NAME CB_PORT PREFLIGHT_JSON LAUNCH_EXTRA [TOP_EXTRA]: Binance's BTC/USDT (trade_through) and
# Coinbase's BTC/USD (quote_maker), one strategy on each venue. The whole capital from the
# start and rollback thresholds out of reach: this test is about venues, not the guards (a
# strategy the guard paused would stop trading for its own reasons).
config() {
    cat >"$1" <<EOF
{"name": "$2", "state_dir": "$WORK/state-$2",
 "venues": [
   {"name": "binance", "rest_url": "http://127.0.0.1:$BPORT", "ws_url": "ws://127.0.0.1:$BPORT",
    "secrets_file": "$WORK/b.secrets", "order_tag": "b$2", "symbol": "BTC/USDT"},
   {"name": "coinbase", "rest_url": "http://127.0.0.1:$3", "ws_url": "ws://127.0.0.1:$3",
    "secrets_file": "$WORK/cb.secrets", "order_tag": "c$2", "symbol": "BTC/USD"}],
 "strategies": [
   {"lua": "$DATA/trade_through.lua", "venue": "binance",
    "params": {"gap": 2000000, "qty": 50000, "lot": 1000}},
   {"builtin": "quote_maker", "venue": "coinbase"}],
 "capital": {"cash": "10000"},
 "risk": {"max_drawdown": 0.12, "max_position": 0.25, "daily_loss": 0.05},
 "store": {"url": "sqlite:$WORK/$2.db"}, "compliance": {"profile": "EU"},
 "metrics": {"listen": "127.0.0.1:0"}, "log": {"level": "info"},
 "launch": {"health_every_ms": 300, "feed_stale_ms": 1500, "restart_backoff_ms": 100,
            "shutdown": {"deadline_s": 5},
            "ramp": {"steps": [{"day": 0, "share": 1}]},
            "rollback": {"drawdown": 0.9, "drawdown_pause": 0.8, "errors_max": 1000,
                         "errors_pause": 900}$5},
 "preflight": $4${6:-}}
EOF
}

# binance PATH QUERY: a signed Binance REST GET into $OUT.
binance() {
    local q sig
    q="$2${2:+&}timestamp=$(python3 -c 'import time; print(int(time.time() * 1000))')"
    sig="$(NODERR_BINANCE_API_SECRET="$BSECRET" "$NODERR" sign --venue binance --payload "$q")"
    curl -sS -H "X-MBX-APIKEY: $BKEY" -o "$OUT" "http://127.0.0.1:$BPORT$1?$q&signature=$sig" ||
        fail "GET $1"
}
