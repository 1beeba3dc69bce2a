#!/usr/bin/env bash
# 68_coinbase_session.sh: `noderr paper` on Coinbase Advanced Trade, over a scripted market-data
# WebSocket (tests/live/cb_fake.c: heartbeats, market_trades, ticker, level2 with
# sequence_num, one number skipped) and the product rules served over HTTP: the config takes
# "coinbase" (BTC-USD spelling, Coinbase's default URLs) and refuses what does not apply; the
# rules come from market/products/{id}; the session subscribes every channel, resubscribes
# after the sequence gap, drops the trades of market_trades snapshots, takes a message's trades
# oldest first (on the venue's clock nothing is late), dates the feed by the heartbeats,
# trades a built-in strategy on the simulated venue, shows in `noderr status` and stops on
# SIGTERM. A live session without the API key is refused (68_coinbase_live.sh trades live).
# Called as: 68_coinbase_session.sh NODERR_BINARY DATA_DIR SHARED_DIR SOURCE_ROOT
source "$(dirname "$0")/lib.sh"

FAKE="${ND_BUILD_ROOT:-}/tests/live/cb_fake"
if [ -z "${ND_BUILD_ROOT:-}" ] || [ ! -x "$FAKE" ]; then
    echo "skip: ND_BUILD_ROOT/tests/live/cb_fake not built (run through meson test)"
    exit 77
fi

# serve_products DIR: a static HTTP server of DIR on 127.0.0.1, sets PORT.
serve_products() {
    start_server http python3 -c "
import functools, http.server, sys
h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), h)
print('listening on 127.0.0.1:%d' % s.server_address[1], flush=True)
s.serve_forever()" "$1"
}

PRODUCTS="$WORK/www/api/v3/brokerage/market/products"
mkdir -p "$PRODUCTS"
cat >"$PRODUCTS/BTC-USD" <<'EOF'
{"product_id": "BTC-USD", "price": "50000.00", "base_increment": "0.00000001",
 "quote_increment": "0.01", "quote_min_size": "1", "quote_max_size": "10000000",
 "base_min_size": "0.00000001", "base_max_size": "3400", "status": "online",
 "trading_disabled": false, "product_type": "SPOT"}
EOF
sed 's/"trading_disabled": false/"trading_disabled": true/; s/BTC-USD/ETH-USD/' \
    "$PRODUCTS/BTC-USD" >"$PRODUCTS/ETH-USD"
serve_products "$WORK/www"
HTTP_PORT=$PORT
start_server fake "$FAKE" --product BTC-USD --seed 3 --gap-after 40
WS_PORT=$PORT

# config FILE NAME SYMBOL EXTRA_VENUE_JSON EXTRA_JSON
config() {
    cat >"$1" <<EOF
{"name": "$2", "state_dir": "$WORK/state-$2",
 "venue": {"name": "coinbase", "rest_url": "http://127.0.0.1:$HTTP_PORT",
           "ws_url": "ws://127.0.0.1:$WS_PORT"$4},
 "symbol": "$3", "strategies": [{"builtin": "quote_maker"}],
 "capital": {"cash": "10000"}, "log": {"level": "info"}$5}
EOF
}

check "config: coinbase is a venue; key_type and unknown venues are refused, naming the key"
config "$WORK/bad.json" bad BTC/USD ', "key_type": "hmac"' ''
expect_usage_error "venue.key_type: Coinbase keys sign ES256 JWTs" \
    "$NODERR" paper --config "$WORK/bad.json"
config "$WORK/bad.json" bad BTC/USD ', "user_stream": "ws_api"' ''
expect_usage_error "venue.user_stream: Binance's user data stream" \
    "$NODERR" paper --config "$WORK/bad.json"
config "$WORK/bad.json" bad BTC/USD ', "key_type": "hmac"' ''
sed -i 's/"name": "coinbase"/"name": "kraken"/; s/, "key_type": "hmac"//' "$WORK/bad.json"
expect_usage_error "venue.name: must be \"binance\" (Spot) or \"coinbase\"" \
    "$NODERR" paper --config "$WORK/bad.json"
config "$WORK/bad.json" bad BTC/USD ', "api_secret": "x"' ''
expect_usage_error "NODERR_COINBASE_API_KEY" "$NODERR" paper --config "$WORK/bad.json"

check "the product rules: a product the venue does not list, or one not trading, stops the start"
config "$WORK/nop.json" nop SOL/USD '' ''
expect_usage_error "market/products/SOL-USD: HTTP 404" "$NODERR" paper --config "$WORK/nop.json"
config "$WORK/off.json" off ETH/USD '' ''
expect_usage_error "product ETH-USD is not trading" "$NODERR" paper --config "$WORK/off.json"

check "live trading needs the API key"
config "$WORK/live.json" live1 BTC/USD '' ''
env -u NODERR_COINBASE_API_KEY -u NODERR_COINBASE_API_SECRET -u NODERR_COINBASE_SECRETS_FILE \
    "$NODERR" live --config "$WORK/live.json" >"$OUT" 2>"$ERR" && fail "live ran without a key"
grep -qF "live trading needs the account's API key" "$ERR" || fail "no key error: $(cat "$ERR")"

check "a paper session: rules from products, every channel, a resubscribe after the gap"
config "$WORK/paper.json" cb1 BTC/USD '' ', "clock": "venue"'
"$NODERR" paper --config "$WORK/paper.json" >"$WORK/cb1.out" 2>"$WORK/cb1.err" &
PAPER=$!
SERVER_PIDS+=("$PAPER")
wait_json "$WORK/state-cb1/status.json" 'd["feed"]["resyncs"] >= 1 and d["feed"]["trades"] > 60 and d["feed"]["heartbeats"] > 10 and d["orders"]["submitted"] > 0'
expect_rc 0 "$NODERR" status --config "$WORK/paper.json"
stdout_has "paper session cb1 on coinbase: running"
stdout_has "BTC/USD "
expect_rc 0 "$NODERR" status --state-dir "$WORK/state-cb1" --json
pycheck "$OUT" 'f = d["feed"]
assert d["running"] is True and d["venue"] == "coinbase", d
assert f["bad"] == 0 and f["late"] == 0 and f["connects"] == 1, f
assert f["venue_time"] is not None and f["heartbeat_age_ms"] is not None, f
assert f["heartbeat_age_ms"] < 2000, f
assert "/api/v3/brokerage/market/products/BTC-USD" in d["rules_from"], d["rules_from"]
p = d["positions"][0]
assert p["tick_size"] == "0.01" and p["lot_size"] == "0.00000001", p
assert p["min_notional"] == "1", p
assert not d["risk"]["halted"], d["risk"]'
for ch in heartbeats market_trades ticker level2; do
    grep -qx "subscribe $ch" "$WORK/fake.out" || fail "never subscribed $ch"
done
for ch in market_trades ticker level2; do
    [ "$(grep -cx "subscribe $ch" "$WORK/fake.out")" -ge 2 ] || fail "$ch not resubscribed"
    grep -qx "unsubscribe $ch" "$WORK/fake.out" || fail "$ch not unsubscribed after the gap"
done
[ "$(grep -cx "subscribe heartbeats" "$WORK/fake.out")" -eq 1 ] ||
    fail "heartbeats resubscribed (only the data channels are)"

check "SIGTERM: a graceful stop; the trades seen are the live ones only (3 a message)"
kill -TERM "$PAPER"
RC=0
wait "$PAPER" || RC=$?
[ "$RC" -eq 0 ] || { cat "$WORK/cb1.err" >&2; fail "paper exited $RC after SIGTERM"; }
grep -q "^paper session cb1 on BTC-USD: " "$WORK/cb1.out" || fail "no summary: $(cat "$WORK/cb1.out")"
grep -q "sequence_num gap: resubscribing" "$WORK/cb1.err" || fail "the gap was not logged"
python3 - "$WORK/state-cb1/status.json" <<'EOF' || fail "trade count"
import json, sys
f = json.load(open(sys.argv[1]))["feed"]
# Every update carries 3 trades; the snapshots' (3 per subscribe) never reach the engine.
assert f["trades"] % 3 == 0, f
EOF
expect_rc 1 "$NODERR" status --state-dir "$WORK/state-cb1"
stdout_has "not running"
echo "ok"
