#!/usr/bin/env bash
# shutdown_lib.sh: what the emergency-shutdown tests share (68_live_shutdown.sh,
# 68_shutdown_property.sh); sourced after lib.sh, not a test itself. An exchange-sim with a live
# session's key, signed venue reads as any Binance client makes them, and the session config.
command -v curl >/dev/null || { echo "curl missing: skipped"; exit 77; }

KEY="shutdown-test-key"
SECRET="shutdown-test-secret-$$"
export NODERR_XSIM_API_KEY="$KEY" NODERR_XSIM_API_SECRET="$SECRET"
export NODERR_BINANCE_API_KEY="$KEY" NODERR_BINANCE_API_SECRET="$SECRET"

# start_venue: exchange-sim without commission (see 68_live_session.sh) on $BASE
start_venue() {
    start_server xsim "$NODERR" exchange-sim --tick-ms 20 --seed 9 --fee-bps 0 \
        --balance USDT=100000,BTC=0 --weight-limit 1000000
    BASE="http://127.0.0.1:$PORT"
}

# venue METHOD PATH QUERY: a signed request; the body to $OUT
venue() {
    local q sig
    q="$3${3:+&}timestamp=$(python3 -c 'import time; print(int(time.time() * 1000))')"
    sig="$("$NODERR" sign --venue binance --payload "$q")"
    curl -sS -X "$1" -H "X-MBX-APIKEY: $KEY" -o "$OUT" "$BASE$2?$q&signature=$sig"
}

# write_config FILE BURST MAX ENTRY [EXTRA]: a live session running burst.lua in $WORK/state
write_config() {
    cat >"$1" <<EOF
{"name": "sd", "state_dir": "$WORK/state",
 "venue": {"name": "binance", "rest_url": "$BASE", "ws_url": "ws://${BASE#http://}"},
 "symbol": "BTC/USDT",
 "strategies": [{"lua": "$DATA/burst.lua",
                 "params": {"burst": $2, "max": $3, "entry": $4}}],
 "capital": {"cash": "50000"}, "risk": {"max_orders_per_sec": 0},
 "log": {"level": "info"}${5:-}}
EOF
}

# venue_net: the account's net BTC traded on BTCUSDT (myTrades), as a decimal
venue_net() {
    venue GET /api/v3/myTrades "symbol=BTCUSDT&limit=1000"
    python3 - "$OUT" <<'EOF'
import json, sys
from decimal import Decimal
trades = json.load(open(sys.argv[1]))
print(sum((Decimal(t["qty"]) * (1 if t["isBuyer"] else -1) for t in trades), Decimal(0)))
EOF
}

# venue_none_open: nothing open at the venue on BTCUSDT
venue_none_open() {
    venue GET /api/v3/openOrders symbol=BTCUSDT
    pycheck "$OUT" 'assert d == [], "open at the venue: %d" % len(d)'
}
