#!/usr/bin/env bash
# 68_coinbase_live.sh: Coinbase Advanced Trade sessions over `noderr exchange-sim --venue
# coinbase` (its REST with ES256 JWTs and its WebSocket channels) on 127.0.0.1:
#   - paper: the feed and the product rules from exchange-sim, a built-in strategy trading on
#     the simulated venue, `noderr status` showing it;
#   - live: real orders at exchange-sim carrying the session's client order ids (nd<tag>-...),
#     filled; SIGTERM cancels everything of ours and leaves the position equal to exchange-sim's
#     BTC account; a restart books the journal's fills (position unchanged, nothing to
#     reconcile); a kill -9 in the middle of trading, then a restart: reconciliation leaves
#     nothing of ours open, every venue fill booked once, the position equal to the account.
# Called as: 68_coinbase_live.sh NODERR_BINARY DATA_DIR SHARED_DIR SOURCE_ROOT
source "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || { echo "curl missing: skipped"; exit 77; }
command -v openssl >/dev/null || { echo "openssl missing: skipped"; exit 77; }

KEY_NAME="organizations/org-test/apiKeys/key-$$"
openssl ecparam -name prime256v1 -genkey -noout -out "$WORK/key.pem" 2>/dev/null
openssl ec -in "$WORK/key.pem" -pubout -out "$WORK/pub.pem" 2>/dev/null
chmod 600 "$WORK/key.pem"
printf 'api_key=%s\napi_secret=%s\n' "$KEY_NAME" "$(cat "$WORK/key.pem")" >"$WORK/cb.secrets"
chmod 600 "$WORK/cb.secrets"
export NODERR_XSIM_API_KEY="$KEY_NAME"
unset NODERR_COINBASE_API_KEY NODERR_COINBASE_API_SECRET NODERR_COINBASE_SECRETS_FILE

start_server xsim "$NODERR" exchange-sim --venue coinbase --public-key "$WORK/pub.pem" \
    --tick-ms 20 --seed 7 --balance USD=10000,BTC=0
XPORT=$PORT

# config FILE NAME EXTRA_JSON: a session on exchange-sim's BTC-USD.
config() {
    cat >"$1" <<EOF
{"name": "$2", "state_dir": "$WORK/state-$2",
 "venue": {"name": "coinbase", "rest_url": "http://127.0.0.1:$XPORT",
           "ws_url": "ws://127.0.0.1:$XPORT", "secrets_file": "$WORK/cb.secrets",
           "order_tag": "$2"},
 "symbol": "BTC/USD", "strategies": [{"builtin": "quote_maker"}],
 "capital": {"cash": "10000"}, "log": {"level": "info"}$3}
EOF
}

# cb_get PATH: a signed GET of exchange-sim's Advanced Trade REST into $OUT.
cb_get() {
    local jwt
    jwt="$("$NODERR" sign --venue coinbase --key-name "$KEY_NAME" --secrets-file "$WORK/key.pem" \
        --method GET --host "127.0.0.1:$XPORT" --path "/api/v3/brokerage${1%%\?*}")"
    curl -sf -o "$OUT" -H "Authorization: Bearer $jwt" "http://127.0.0.1:$XPORT/api/v3/brokerage$1" ||
        fail "GET $1"
}

# position_matches STATE_DIR: the session's BTC position equals exchange-sim's BTC account
# (available + hold), and nothing of ours is open there.
position_matches() {
    cb_get /accounts
    cp "$OUT" "$WORK/accounts.json"
    cb_get "/orders/historical/batch?product_id=BTC-USD"
    cp "$OUT" "$WORK/orders.json"
    python3 - "$1/status.json" "$WORK/accounts.json" "$WORK/orders.json" "$2" <<'EOF' ||
import json, sys
from decimal import Decimal
st = json.load(open(sys.argv[1]))
acc = {a["currency"]: a for a in json.load(open(sys.argv[2]))["accounts"]}
orders = json.load(open(sys.argv[3]))["orders"]
btc = acc["BTC"]
venue = Decimal(btc["available_balance"]["value"]) + Decimal(btc["hold"]["value"])
pos = Decimal(st["positions"][0]["qty"])
print("position", pos, "venue BTC", venue)
assert pos == venue, (pos, venue)
ours = [o for o in orders if o["client_order_id"].startswith("nd" + sys.argv[4] + "-")]
assert ours, "no order of ours at the venue"
open_ = [o for o in ours if o["status"] in ("OPEN", "PENDING")]
assert not open_, open_
EOF
        fail "the position differs from the venue's"
}

check "paper: exchange-sim's Coinbase feed and product rules, orders on the simulated venue"
config "$WORK/paper.json" cbp ''
"$NODERR" paper --config "$WORK/paper.json" >"$WORK/cbp.out" 2>"$WORK/cbp.err" &
PAPER=$!
SERVER_PIDS+=("$PAPER")
wait_json "$WORK/state-cbp/status.json" 'd["feed"]["trades"] > 5 and d["feed"]["quotes"] > 5 and d["orders"]["fills"] > 0'
expect_rc 0 "$NODERR" status --config "$WORK/paper.json"
stdout_has "paper session cbp on coinbase: running"
pycheck "$WORK/state-cbp/status.json" 'assert "market/products/BTC-USD" in d["rules_from"], d
assert d["feed"]["bad"] == 0 and d["feed"]["heartbeats"] >= 0, d["feed"]'
kill -TERM "$PAPER"
wait "$PAPER" || fail "paper exited non-zero after SIGTERM"

check "live: orders with the session's ids at exchange-sim, filled; SIGTERM leaves none open"
config "$WORK/live.json" cbl ''
"$NODERR" live --config "$WORK/live.json" >"$WORK/cbl.out" 2>"$WORK/cbl.err" &
LIVE=$!
SERVER_PIDS+=("$LIVE")
wait_json "$WORK/state-cbl/status.json" 'd["orders"]["fills"] >= 2 and d["positions"][0]["qty"] != "0"'
expect_rc 0 "$NODERR" status --config "$WORK/live.json"
stdout_has "live session cbl on coinbase: running"
kill -TERM "$LIVE"
RC=0
wait "$LIVE" || RC=$?
[ "$RC" -eq 0 ] || { tail -20 "$WORK/cbl.err" >&2; fail "live exited $RC after SIGTERM"; }
pycheck "$WORK/state-cbl/shutdown.json" 'assert d["venue_open_orders"] == {"BTC-USD": 0} and d["clean"], d'
grep -q "$(tail -n +2 "$WORK/key.pem" | head -1)" "$WORK/cbl.out" "$WORK/cbl.err" &&
    fail "the private key was printed"
position_matches "$WORK/state-cbl" cbl

check "a restart books the journal's fills: same position, nothing to reconcile"
"$NODERR" live --config "$WORK/live.json" >"$WORK/cbl2.out" 2>"$WORK/cbl2.err" &
LIVE=$!
SERVER_PIDS+=("$LIVE")
wait_json "$WORK/state-cbl/status.json" 'd["state"] == "running" and d["fills_restored_at_start"] >= 2'
pycheck "$WORK/state-cbl/status.json" 'assert d["reconciled_at_start"] == 0, d'
kill -TERM "$LIVE"
wait "$LIVE" || fail "live exited non-zero after SIGTERM"
position_matches "$WORK/state-cbl" cbl

check "kill -9 while trading, then a restart: reconciled, the position equal to the venue's"
"$NODERR" live --config "$WORK/live.json" >"$WORK/cbl3.out" 2>"$WORK/cbl3.err" &
LIVE=$!
SERVER_PIDS+=("$LIVE")
wait_json "$WORK/state-cbl/status.json" 'd["state"] == "running" and d["orders"]["submitted"] >= 3'
kill -9 "$LIVE"
wait "$LIVE" 2>/dev/null || true
rm -f "$WORK/state-cbl/session.pid"
config "$WORK/live4.json" cbl ', "duration_s": 2'
RC=0
"$NODERR" live --config "$WORK/live4.json" >"$WORK/cbl4.out" 2>"$WORK/cbl4.err" || RC=$?
[ "$RC" -eq 0 ] || { tail -20 "$WORK/cbl4.err" >&2; fail "the restart exited $RC"; }
grep -q "event=session_start mode=live" "$WORK/cbl4.err" || fail "no restart"
position_matches "$WORK/state-cbl" cbl
echo "ok"
