#!/usr/bin/env bash
# 68_live_shutdown.sh: the emergency shutdown of a live session over exchange-sim
# (docs/launcher.md "Shutdown and resume"). `noderr shutdown` in the middle of an order burst
# leaves no working order at the venue (asked of the venue itself); `noderr shutdown --flatten`
# leaves the account flat at the venue; the next start resumes from the state directory after
# reconciliation, with its position equal to the venue's executions; a plain SIGTERM (systemd's
# stop) is the same stop; the request file is refused when it is not the owner's private file.
# Called as: 68_live_shutdown.sh NODERR_BINARY DATA_DIR SHARED_DIR SOURCE_ROOT
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/shutdown_lib.sh"
start_venue
wait_status() { wait_json "$WORK/state/status.json" "$1"; }

# start_live: the session in the background, its pid in $LIVE
start_live() {
    "$NODERR" live --config "$WORK/live.json" >"$WORK/live.out" 2>"$WORK/live.err" &
    LIVE=$!
    SERVER_PIDS+=("$LIVE")
}

check "shutdown in the middle of an order burst: none working at the venue"
write_config "$WORK/live.json" 25 400 100000
start_live
wait_status 'd["mode"] == "live" and len(d["open_orders"]) >= 60'
venue GET /api/v3/openOrders symbol=BTCUSDT
pycheck "$OUT" 'assert len(d) >= 60, len(d)'
expect_rc 0 "$NODERR" shutdown --state-dir "$WORK/state" --json
pycheck "$OUT" '
assert d["clean"] and d["by"] == "request" and not d["flatten"], d
assert d["venue_open_orders"] == {"BTCUSDT": 0} and d["working_left"] == 0, d
assert d["took_ms"] < 2000, d'
wait "$LIVE" || fail "the session exited $? after a clean shutdown"
venue_none_open
grep -q "event=cancel_all symbol=BTCUSDT" "$WORK/live.err" || fail "no cancel-all logged"
[ ! -e "$WORK/state/shutdown.request" ] || fail "the request was left behind"
pycheck "$WORK/state/status.json" 'assert d["open_orders"] == [] and d["state"] == "stopped", d'

check "resume: the restart reconciles and its position equals the venue's executions"
NET="$(venue_net)"
python3 -c 'import sys; from decimal import Decimal; assert Decimal(sys.argv[1]) > 0' "$NET" ||
    fail "the entry bought nothing: the resume check would prove nothing ($NET)"
write_config "$WORK/live.json" 25 400 0 # no new entry: the position is the first run's
start_live
wait_status 'd["mode"] == "live" and d["fills_restored_at_start"] >= 1 and d["feed"]["trades"] > 2'
pycheck "$WORK/state/status.json" "
from decimal import Decimal
held = Decimal(d['positions'][0]['qty'])
assert held == Decimal('$NET'), (held, '$NET')"
cp "$WORK/state/status.json" "$WORK/resumed.json"
venue GET /api/v3/account ""
pycheck "$OUT" "
from decimal import Decimal
btc = [b for b in d['balances'] if b['asset'] == 'BTC'][0]
held = Decimal(json.load(open('$WORK/resumed.json'))['positions'][0]['qty'])
assert Decimal(btc['free']) + Decimal(btc['locked']) == held, (btc, held)"

check "shutdown --flatten: flat at the venue (within a lot), nothing open"
wait_status 'len(d["open_orders"]) >= 10'
expect_rc 0 "$NODERR" shutdown --config "$WORK/live.json" --flatten
stdout_has "stopped by request with flatten"
stdout_has "clean"
wait "$LIVE" || fail "the session exited $? after a clean flatten"
venue_none_open
NET="$(venue_net)"
python3 -c 'import sys; from decimal import Decimal; assert abs(Decimal(sys.argv[1])) < Decimal("0.00001"), sys.argv[1]' "$NET" ||
    fail "not flat at the venue: net $NET"
venue GET /api/v3/account ""
pycheck "$OUT" '
from decimal import Decimal
btc = [b for b in d["balances"] if b["asset"] == "BTC"][0]
assert Decimal(btc["free"]) + Decimal(btc["locked"]) < Decimal("0.00001"), btc'
pycheck "$WORK/state/shutdown.json" 'assert d["flatten"] and d["positions_left"] == 0, d'

check "a plain SIGTERM is the same stop, and resumes flat"
start_live
wait_status 'd["fills_restored_at_start"] >= 2 and len(d["open_orders"]) >= 10'
pycheck "$WORK/state/status.json" 'assert d["positions"][0]["qty"] in ("0", "0.0", "0E-8") or float(d["positions"][0]["qty"]) == 0, d["positions"]'
kill -TERM "$LIVE"
wait "$LIVE" || fail "the session exited $? after SIGTERM"
venue_none_open
pycheck "$WORK/state/shutdown.json" 'assert d["by"] == "signal" and d["clean"] and not d["flatten"], d'

check "a request that is not the owner's private file is refused (the stop goes on, no flatten)"
start_live
wait_status 'len(d["open_orders"]) >= 10'
printf '{"flatten": true, "deadline_ms": 5000, "uid": 0, "at_ns": %s}\n' \
    "$(python3 -c 'import time; print(time.time_ns())')" >"$WORK/state/shutdown.request"
chmod 0644 "$WORK/state/shutdown.request"
kill -TERM "$LIVE"
wait "$LIVE" || fail "the session exited $? after SIGTERM"
grep -q "event=shutdown_request_refused" "$WORK/live.err" || fail "the open request was read"
pycheck "$WORK/state/shutdown.json" 'assert not d["flatten"] and d["clean"], d'
venue_none_open

check "a SIGTERM during start-up waits for the loop, then is the same stop"
start_live
for _ in $(seq 200); do [ -s "$WORK/state/session.pid" ] && break; sleep 0.01; done
kill -TERM "$LIVE"
wait "$LIVE" || fail "the session exited $? after a SIGTERM at start-up"
pycheck "$WORK/state/shutdown.json" 'assert d["by"] == "signal" and d["clean"], d'
grep -q "event=session_start" "$WORK/live.err" || fail "it died before it started"
venue_none_open

check "shutdown with no session there: exit 1"
expect_rc 1 "$NODERR" shutdown --state-dir "$WORK/state"
grep -q "no session is running there" "$ERR" || fail "no reason given"
expect_usage_error "--deadline-s" "$NODERR" shutdown --state-dir "$WORK/state" --deadline-s 0
echo "ok"
