#!/usr/bin/env bash
# 68_coinbase_live.sh: Coinbase Advanced Trade sessions over `noderr exchange-sim --venue
# coinbase` (its REST with ES256 JWTs and its WebSocket channels) on 127.0.0.1:
#   - paper: the feed and the product rules from exchange-sim, a built-in strategy trading on
#     the simulated venue, `noderr status` showing it;
#   - live: real orders at exchange-sim carrying the session's client order ids (nd<tag>-...),
#     filled; SIGTERM cancels everything of ours and leaves the position equal to exchange-sim's
#     BTC account; a restart books the journal's fills (position unchanged, nothing to
#     reconcile); a kill -9 in the middle of trading, then a restart: reconciliation leaves
#     nothing of ours open, every venue fill booked once, the position equal to the account;
#   - `noderr preflight` asks Coinbase its way (brokerage/time, market/products, /accounts),
#     a skewed venue clock (exchange-sim's fault) and an unknown product fail naming coinbase;
#     a paper `noderr launch` probes the venue's clock; a live launch (pinned, a bad key fails
#     balances) trades and leaves nothing open after SIGTERM.
# Called as: 68_coinbase_live.sh NODERR_BINARY DATA_DIR SHARED_DIR SOURCE_ROOT
source "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || { echo "curl missing: skipped"; exit 77; }
command -v openssl >/dev/null || { echo "openssl missing: skipped"; exit 77; }

source "$(dirname "$0")/coinbase_xsim.sh"

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

# cb_post PATH JSON: a signed POST of exchange-sim's Advanced Trade REST into $OUT; a 429 (a
# rate_limit fault still on: the session may see its outage end before the test's own request
# does) is asked again, for up to 10 s.
cb_post() {
    local jwt code
    for _ in $(seq 100); do
        jwt="$("$NODERR" sign --venue coinbase --key-name "$KEY_NAME" \
            --secrets-file "$WORK/key.pem" --method POST --host "127.0.0.1:$XPORT" \
            --path "/api/v3/brokerage$1")"
        code=$(curl -s -o "$OUT" -w '%{http_code}' -H "Authorization: Bearer $jwt" \
            -H "Content-Type: application/json" -d "$2" "http://127.0.0.1:$XPORT/api/v3/brokerage$1")
        [ "$code" = 429 ] || break
        sleep 0.1
    done
    [ "$code" = 200 ] || fail "POST $1: HTTP $code $(head -c 300 "$OUT")"
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

check "preflight and a paper launch on Coinbase: the venue's checks its way, a failure names it"
config "$WORK/pf.json" cbf ', "preflight": {"feed_within_ms": 3000}'
expect_rc 0 "$NODERR" preflight --config "$WORK/pf.json"
grep -qE "^pass venue_reachable +coinbase GET http://127.0.0.1:$XPORT/api/v3/brokerage/time: HTTP 200" "$OUT" ||
    fail "$(cat "$OUT")"
grep -qE "^pass clock_offset +coinbase offset .*half the 120 s life" "$OUT" || fail "$(cat "$OUT")"
grep -qE "^pass exchange_info +coinbase BTC-USD online \(quote increment 0.01, base increment 0.00001\)" \
    "$OUT" || fail "$(cat "$OUT")"
grep -qE "^pass feeds_fresh +coinbase: a message of each of 1 symbols" "$OUT" || fail "$(cat "$OUT")"
grep -qE "^skip rate_limits +coinbase" "$OUT" || fail "$(cat "$OUT")"
fault '{"fault":"skew","ms":70000}' # the venue 70 s ahead: tokens would die after 50 s
expect_rc 1 "$NODERR" preflight --config "$WORK/pf.json"
fault '{"fault":"skew","ms":0}'
grep -qE "^fail clock_offset +coinbase offset \+(69|70)[0-9]{6} us" "$OUT" || fail "$(cat "$OUT")"
grep -qF "1 check(s) failed: clock_offset" "$ERR" || fail "stderr: $(cat "$ERR")"
sed 's|BTC/USD|ETH/USD|' "$WORK/pf.json" >"$WORK/pf404.json"
expect_rc 1 "$NODERR" preflight --config "$WORK/pf404.json"
grep -qE "^fail exchange_info +coinbase ETH-USD: GET .*/market/products/ETH-USD: HTTP 404" "$OUT" ||
    fail "$(cat "$OUT")"
config "$WORK/la.json" cla ', "launch": {"health_every_ms": 300}'
"$NODERR" launch --config "$WORK/la.json" >"$WORK/la.out" 2>"$WORK/la.err" &
LAUNCH=$!
SERVER_PIDS+=("$LAUNCH")
wait_json "$WORK/state-cla/status.json" '(d["orders"]["submitted"] >= 1 and
    "simulated orders; clock offset" in d["launch"]["modules"][4].get("check", ""))'
grep -q "preflight (paper mode): .* 0 failed" "$WORK/la.out" || fail "$(head -c 400 "$WORK/la.out")"
kill -TERM "$LAUNCH"
wait "$LAUNCH" || fail "the paper launch exited non-zero after SIGTERM"

check "live: orders with the session's ids at exchange-sim, filled; SIGTERM leaves none open"
config "$WORK/live.json" cbl ''
"$NODERR" live --config "$WORK/live.json" >"$WORK/cbl.out" 2>"$WORK/cbl.err" &
LIVE=$!
SERVER_PIDS+=("$LIVE")
wait_json "$WORK/state-cbl/status.json" 'd["orders"]["fills"] >= 2 and d["positions"][0]["qty"] != "0"'
expect_rc 0 "$NODERR" status --config "$WORK/live.json"
stdout_has "live session cbl on coinbase: running"

check "in the session: a REST outage and a stream reconnect reconcile; an unknown order of ours is cancelled"
S="$WORK/state-cbl/status.json"
OUTAGES=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["reconciliation"]["rest_outages"])' "$S")
fault '{"fault":"rate_limit","ms":4000}' # long enough that a poll meets it under load
wait_json "$S" '(d["reconciliation"]["rest_outages"] > '"$OUTAGES"'
    and d["reconciliation"]["in_session"] >= 1)'
cb_post /orders '{"client_order_id": "ndcbl-zz-0-1", "product_id": "BTC-USD", "side": "BUY",
 "order_configuration": {"limit_limit_gtc": {"base_size": "0.001", "limit_price": "30000"}}}'
pycheck "$OUT" 'assert d["success"], d'
fault '{"fault":"disconnect"}'
wait_json "$S" 'd["feed"]["connects"] >= 2 and d["reconciliation"]["differences_in_session"] >= 1'
grep -q "venue=coinbase event=reconcile when=session kind=unknown_ours resolution=cancel clid=ndcbl-zz-0-1" \
    "$WORK/cbl.err" || fail "not reconciled: $(grep when=session "$WORK/cbl.err")"
grep "event=reconcile when=session" "$WORK/cbl.err" | grep -qv "kind=unknown_ours" &&
    fail "a reconciliation found another difference: $(grep when=session "$WORK/cbl.err")"
for _ in $(seq 50); do
    cb_get "/orders/historical/batch?product_id=BTC-USD"
    python3 -c 'import json,sys
o = [o for o in json.load(open(sys.argv[1]))["orders"] if o["client_order_id"] == "ndcbl-zz-0-1"]
sys.exit(o[0]["status"] != "CANCELLED")' "$OUT" && break
    sleep 0.1
done
pycheck "$OUT" 'o = [o for o in d["orders"] if o["client_order_id"] == "ndcbl-zz-0-1"]
assert o[0]["status"] == "CANCELLED", o'
pycheck "$S" 'assert d["reconciliation"]["halts"] == 0 and d["state"] == "running", d["reconciliation"]'
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

check "a live launch on Coinbase: preflight in live mode (the key's accounts), orders, none left open"
printf 'api_key=%s\napi_secret=%s\n' "$KEY_NAME" "junk" >"$WORK/bad.secrets"
chmod 600 "$WORK/bad.secrets"
# The health check every 300 ms scrapes the launch's own /metrics while modules restart: a
# libwebsockets context destroyed on the shared loop used to make libuv abort when a scrape
# waited in the listener's queue (docs/launcher.md, "Tearing down"; test_loop_teardown).
LIVE_EXTRA=', "store": {"url": "sqlite:'"$WORK"'/lv.db"}, "compliance": {"profile": "EU"},
 "metrics": {"listen": "127.0.0.1:0"}, "launch": {"health_every_ms": 300},
 "risk": {"max_drawdown": 0.12, "max_position": 0.25, "daily_loss": 0.05}'
config "$WORK/lv.json" clv "$LIVE_EXTRA"', "preflight": {"mode": "live", "first_allocation": "100"}'
expect_rc 1 "$NODERR" preflight --config "$WORK/lv.json" --json # not pinned yet
PINS=$(python3 -c 'import json,sys; d = json.load(open(sys.argv[1]))
print("\"config_sha256\": \"%s\", \"build_sha256\": \"%s\"" % (d["config_sha256"], d["build_sha256"]))' "$OUT")
config "$WORK/lv.json" clv "$LIVE_EXTRA"', "preflight": {"mode": "live", "first_allocation": "100",
 "pin": {'"$PINS"'}}'
sed "s|$WORK/cb.secrets|$WORK/bad.secrets|" "$WORK/lv.json" >"$WORK/lvbad.json"
expect_rc 1 "$NODERR" preflight --config "$WORK/lvbad.json"
grep -qE "^fail balances +coinbase GET /accounts" "$OUT" || fail "$(cat "$OUT")"
"$NODERR" launch --config "$WORK/lv.json" >"$WORK/lv.out" 2>"$WORK/lv.err" &
LAUNCH=$!
SERVER_PIDS+=("$LAUNCH")
wait_json "$WORK/state-clv/status.json" '(d["mode"] == "live" and d["orders"]["fills"] >= 1
    and "clock offset" in d["launch"]["modules"][4].get("check", ""))'
grep -qE "^pass balances +coinbase USD available [0-9.]+ covers the first allocation 100" "$WORK/lv.out" ||
    fail "$(head -c 1200 "$WORK/lv.out")"
pycheck "$WORK/state-clv/status.json" 'M = {m["name"]: m for m in d["launch"]["modules"]}
assert all(m["state"] in ("up", "degraded") for m in M.values()), M'
kill -TERM "$LAUNCH"
RC=0
wait "$LAUNCH" || RC=$?
[ "$RC" -eq 0 ] || { tail -20 "$WORK/lv.err" >&2; fail "the live launch exited $RC"; }
pycheck "$WORK/state-clv/shutdown.json" 'assert d["clean"] and d["venue_open_orders"] == {"BTC-USD": 0}, d'
echo "ok"
