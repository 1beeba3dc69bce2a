#!/usr/bin/env bash
# wire_to_wire.sh: loopback wire to wire (issue 12's target: p50 <= 50 us): `noderr exchange-sim`
# hands a trade message to its WebSocket sockets, a `noderr live` session reads it, decides
# (bench/data/every_trade.lua: a new far limit buy on every trade), and its signed
# POST /api/v3/order is read by exchange-sim. exchange-sim times both ends on its own monotonic
# clock (GET /admin/latency: from the trade handed to the sockets to the next accepted new
# order's request bytes read) so no clocks are compared across processes. A bench, not a test.
#
#   bench/wire_to_wire.sh NODERR [SECONDS] [TICK_MS] [STATE_PARENT] [SYNC]
#
# SECONDS of trading (default 20), exchange-sim's --tick-ms (default 20: a trade message every
# ~20 ms at most, so the order of a trade is always back before the next trade), STATE_PARENT
# the directory holding the session's state and journal (default a temporary directory), SYNC
# the session's journal.sync (default: the config's default, batched; before_send makes the
# journal durable with fdatasync before every request leaves, so its file system is part of the
# figure; docs/live.md "Durability"). STEP_MS (environment) is exchange-sim's --market-step-ms
# (default 100: the market's events of 100 ms go out in one burst, and an order that arrives
# mid-burst is read only after it; 1 sends each event on its own). WRAP (environment) runs the
# session under a command, e.g.
# WRAP="strace -f -tt -T -o trace" to profile it; XWRAP likewise runs exchange-sim under a command. Prints exchange-sim's percentiles and the
# session's order counts.
set -euo pipefail
NODERR="$(realpath "${1:?usage: wire_to_wire.sh NODERR [SECONDS] [TICK_MS] [STATE_PARENT] [SYNC]}")"
SECONDS_RUN="${2:-20}"
TICK_MS="${3:-20}"
SYNC="${5:-}"
HERE="$(cd "$(dirname "$0")" && pwd)"
WORK="$(mktemp -d "${4:-${TMPDIR:-/tmp}}/w2w.XXXXXX")"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

KEY="w2w-key"
export NODERR_XSIM_API_KEY="$KEY" NODERR_XSIM_API_SECRET="w2w-secret-$$"
export NODERR_BINANCE_API_KEY="$KEY" NODERR_BINANCE_API_SECRET="w2w-secret-$$"
TOKEN="w2w-token-$$-0123456789abcdef"
printf '%s\n' "$TOKEN" >"$WORK/token"
chmod 600 "$WORK/token"
${XWRAP:-} "$NODERR" exchange-sim --tick-ms "$TICK_MS" --market-step-ms "${STEP_MS:-100}" --seed 5 --fee-bps 10 \
    --balance USDT=1000000,BTC=0 --admin-token-file "$WORK/token" >"$WORK/xsim.out" \
    2>"$WORK/xsim.err" &
PIDS+=($!)
for _ in $(seq 200); do grep -q '^listening on ' "$WORK/xsim.out" 2>/dev/null && break; sleep 0.05; done
PORT="$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$WORK/xsim.out")"
[ -n "$PORT" ] || { echo "exchange-sim did not start" >&2; exit 1; }
BASE="http://127.0.0.1:$PORT"
JOURNAL=""
[ -z "$SYNC" ] || JOURNAL=", \"journal\": {\"sync\": \"$SYNC\"}"
cat >"$WORK/live.json" <<EOF
{"name": "w2w", "state_dir": "$WORK/state",
 "venue": {"name": "binance", "rest_url": "$BASE", "ws_url": "ws://${BASE#http://}"},
 "symbol": "BTC/USDT",
 "strategies": [{"lua": "$HERE/data/every_trade.lua"}],
 "capital": {"cash": "100000"}, "log": {"level": "warn"}, "duration_s": $((SECONDS_RUN + 2))$JOURNAL}
EOF
${WRAP:-} "$NODERR" live --config "$WORK/live.json" >"$WORK/live.out" 2>"$WORK/live.err" &
LIVE=$!
PIDS+=("$LIVE")
sleep 2 # connected and past the first orders: warm-up, not measured
curl -sS -H "Authorization: Bearer $TOKEN" "$BASE/admin/latency" >/dev/null
sleep "$SECONDS_RUN"
curl -sS -H "Authorization: Bearer $TOKEN" "$BASE/admin/latency" >"$WORK/latency.json"
wait "$LIVE" || true
python3 - "$WORK/latency.json" "$WORK/state/status.json" "$TICK_MS" "$WORK" "$SYNC" <<'EOF'
import json, sys
lat = json.load(open(sys.argv[1]))
st = json.load(open(sys.argv[2]))
us = lambda k: "%.1f us" % (lat[k] / 1000)
print("wire to wire (exchange-sim's clock), tick %s ms, journal.sync %s, state on %s:" % (
    sys.argv[3], sys.argv[5] or "default", sys.argv[4]))
print("  new orders %d: min %s p50 %s p90 %s p99 %s max %s" % (
    lat["count"], us("min_ns"), us("p50_ns"), us("p90_ns"), us("p99_ns"), us("max_ns")))
print("  session: submitted %d accepted %d rejected %d fills %d, trades seen %d" % (
    st["orders"]["submitted"], st["orders"]["accepted"], st["orders"]["rejected"],
    st["orders"]["fills"], st["feed"]["trades"]))
EOF
