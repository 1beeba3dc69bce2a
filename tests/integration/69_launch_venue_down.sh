#!/usr/bin/env bash
# 69_launch_venue_down.sh: a two-venue `noderr launch` (Binance and Coinbase on two `noderr
# exchange-sim` processes on 127.0.0.1) whose Coinbase venue is killed mid-run (kill -9),
# handled by the rule of docs/launcher.md "Two venues in a launch":
#   - paper: feed.coinbase fails, strategies.coinbase is blocked and its strategy paused with
#     nothing of it working, Binance's trade on; nothing trips (a paper venue can always
#     flatten), and the session's data-integrity breaker leaves the held venue alone;
#   - live (pinned): feed.coinbase and venue.coinbase fail, Coinbase's strategy is paused while
#     Binance's stays up; holding a position on Coinbase, after launch.venue_down_halt_ms the
#     kill switch trips (the engine cannot flatten it) and Binance's position is flattened;
#     holding none, Binance trades on and nothing trips.
# 69_launch_two_venues.sh has the preflight, the launch on both venues and its shutdown.
# Called as: 69_launch_venue_down.sh NODERR_BINARY DATA_DIR SHARED_DIR SOURCE_ROOT
source "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || { echo "curl missing: skipped"; exit 77; }
command -v openssl >/dev/null || { echo "openssl missing: skipped"; exit 77; }

source "$(dirname "$0")/two_venue_launch.sh"

check "paper: a venue killed mid-run stops its strategies only; the other trades on, nothing trips"
# A Coinbase of its own for this run; the session's data-integrity breaker is set to trip on 4 s
# of silence: the launch holds the dead venue's feeds out of it, so it must not.
start_server cxsim2 env NODERR_XSIM_API_KEY="$CKEY" \
    "$NODERR" exchange-sim --venue coinbase --public-key "$WORK/pub.pem" --tick-ms 20 --seed 5 \
    --balance USD=10000,BTC=0
CXSIM2=${SERVER_PIDS[-1]}
config "$WORK/pk.json" pk "$PORT" '{"mode": "paper"}' '' ', "integrity": {"stale_after_ms": 4000}'
"$NODERR" launch --config "$WORK/pk.json" >"$WORK/pk.out" 2>"$WORK/pk.err" &
LAUNCH=$!
SERVER_PIDS+=("$LAUNCH")
S="$WORK/state-pk/status.json"
wait_json "$S" '(d["launch"]["health_checks"] >= 3 and d["orders"]["fills"] >= 1
    and all(v["usable"] and v["action"] == "trade" for v in d["launch"]["venues"]))'
kill -9 "$CXSIM2"
wait "$CXSIM2" 2>/dev/null || true
wait_json "$S" '(lambda V: V["coinbase"]["action"] == "stop_new_orders"
    and V["coinbase"]["strategies_paused"] and V["binance"]["action"] == "trade"
    and V["binance"]["usable"])({v["name"]: v for v in d["launch"]["venues"]})'
SUB0=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["orders"]["submitted"])' "$S")
sleep 5 # past the integrity bound and the venue rule's grace
wait_json "$S" 'd["orders"]["submitted"] > '"$SUB0"
pycheck "$S" 'assert not d["risk"]["halted"], d["risk"]
M = {m["name"]: m for m in d["launch"]["modules"]}
assert M["feed.coinbase"]["state"] in ("failed", "starting"), M["feed.coinbase"]
assert M["venue.coinbase"]["state"] == "degraded", M["venue.coinbase"]
assert M["strategies.coinbase"]["state"] == "blocked", M["strategies.coinbase"]
assert M["strategies.binance"]["state"] == "up" and M["feed.binance"]["state"] == "up", M
W = [o for o in d["open_orders"] if o["venue"] == "coinbase" and not o.get("cancel_pending")]
assert not W, W'
grep -q 'event=venue_rule venue=coinbase action=stop_new_orders' "$WORK/pk.err" || fail "no rule logged"
grep -q 'event=data_integrity_trip' "$WORK/pk.err" && fail "the dead venue tripped the integrity breaker"
grep 'event=rollback' "$WORK/pk.err" | grep -q 'failed health checks' && fail "rolled back for health"
kill -TERM "$LAUNCH"
wait "$LAUNCH" || fail "paper launch exited non-zero: $(tail -3 "$WORK/pk.err")"

check "live: a venue killed mid-run: its strategies stop, the other venue trades on; the documented trip"
HALT=', "venue_down_halt_ms": 3000'
config "$WORK/l.json" l "$CPORT" '{"mode": "live", "first_allocation": "100"}' "$HALT"
expect_rc 1 "$NODERR" preflight --config "$WORK/l.json" --json # not pinned yet
PINS=$(python3 -c 'import json,sys; d = json.load(open(sys.argv[1]))
print("\"config_sha256\": \"%s\", \"build_sha256\": \"%s\"" % (d["config_sha256"], d["build_sha256"]))' "$OUT")
config "$WORK/l.json" l "$CPORT" "{\"mode\": \"live\", \"first_allocation\": \"100\", \"pin\": {$PINS}}" "$HALT"
"$NODERR" launch --config "$WORK/l.json" >"$WORK/k.out" 2>"$WORK/k.err" &
LAUNCH=$!
SERVER_PIDS+=("$LAUNCH")
S="$WORK/state-l/status.json"
wait_json "$S" '(d["pid"] == '"$LAUNCH"' and d["launch"]["health_checks"] >= 3
    and d["orders"]["submitted"] >= 1 and all(v["usable"] for v in d["launch"]["venues"]))'
sleep 1
kill -9 "$CXSIM"
wait "$CXSIM" 2>/dev/null || true
wait_json "$S" '(lambda V: V["coinbase"]["action"] in ("stop_new_orders", "trip")
    and V["coinbase"]["strategies_paused"] and V["binance"]["action"] == "trade"
    and V["binance"]["usable"])({v["name"]: v for v in d["launch"]["venues"]})'
pycheck "$S" 'M = {m["name"]: m for m in d["launch"]["modules"]}
assert M["venue.coinbase"]["state"] in ("failed", "starting"), M["venue.coinbase"]
assert M["strategies.coinbase"]["state"] == "blocked", M["strategies.coinbase"]
assert M["strategies.binance"]["state"] in ("up", "degraded"), M["strategies.binance"]'
cp "$S" "$WORK/k_out.json"
# Binance trades on while Coinbase is out: new orders reach it (unless the trip came first).
SUB0=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["orders"]["submitted"])' "$S")
HELD=$(python3 -c 'import json,sys
V = {v["name"]: v for v in json.load(open(sys.argv[1]))["launch"]["venues"]}
print("yes" if V["coinbase"]["position"] else "no")' "$S")
echo "coinbase position held at the outage: $HELD"
if [ "$HELD" = yes ]; then
    wait_json "$S" '(d["risk"]["halted"]
        and {v["name"]: v for v in d["launch"]["venues"]}["coinbase"]["action"] == "trip")'
    grep -q 'event=venue_down_halt venue=coinbase' "$WORK/k.err" || fail "no trip logged"
    pycheck "$S" 'assert d["risk"]["kill_switch"], d["risk"]'
    # the kill switch flattens what it can: the venue that answers
    # (to its last lot: a buy's commission in BTC can leave dust under one, which cannot be sold)
    wait_json "$S" 'all(abs(float(p["qty"])) < float(p["lot_size"]) for p in d["positions"] if p["venue"] == "binance")'
    # the venue's outage is not the strategies' fault: no guard rolls a slot back for it
    grep 'event=rollback' "$WORK/k.err" | grep -q 'failed health checks' && fail "rolled back for health"
else
    wait_json "$S" 'd["orders"]["submitted"] > '"$SUB0"
    sleep 4
    pycheck "$S" 'assert not d["risk"]["halted"], d["risk"]
V = {v["name"]: v for v in d["launch"]["venues"]}
assert V["coinbase"]["action"] == "stop_new_orders", V'
    grep 'event=rollback' "$WORK/k.err" | grep -q 'failed health checks' && fail "rolled back for health"
fi
grep -q 'event=venue_rule venue=coinbase action=stop_new_orders' "$WORK/k.err" ||
    fail "no venue rule logged: $(grep venue_rule "$WORK/k.err")"
kill -TERM "$LAUNCH"
RC=0
wait "$LAUNCH" || RC=$?
# live: the stop cannot cancel at a dead venue within its deadline (exit 1), or had nothing there
[ "$RC" -eq 0 ] || [ "$RC" -eq 1 ] || fail "launch exited $RC: $(tail -5 "$WORK/k.err")"
binance /api/v3/openOrders symbol=BTCUSDT
pycheck "$OUT" 'assert d == [], d'
expect_rc 0 "$NODERR" audit verify --db "$WORK/l.db"
echo "ok"
