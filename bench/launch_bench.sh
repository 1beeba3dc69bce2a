#!/usr/bin/env bash
# launch_bench.sh: issue 13's launcher targets over `noderr exchange-sim` on 127.0.0.1 (a bench,
# not a test: it builds nothing, takes the binary and prints figures):
#   launch to first order   from starting `noderr launch` (preflight included) to the first order
#                           in the session's log (target < 5 s);
#   killed module recovery  exchange-sim's stale fault holds the market for --stale-ms; from the
#                           fault's end to the supervisor's "strategies blocked -> up" in the log
#                           (target < 1 s; the health check runs every --health-ms).
#
#   bench/launch_bench.sh NODERR [--runs N] [--health-ms MS] [--stale-ms MS]
set -euo pipefail
NODERR="${1:?usage: bench/launch_bench.sh NODERR [--runs N] [--health-ms MS] [--stale-ms MS]}"
shift
RUNS=5 HEALTH=250 STALE=2000
while [ "$#" -gt 0 ]; do
    case "$1" in
    --runs) RUNS="$2" ;;
    --health-ms) HEALTH="$2" ;;
    --stale-ms) STALE="$2" ;;
    *) echo "launch_bench.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift 2
done
WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
export NODERR_XSIM_API_KEY=bench-key NODERR_XSIM_API_SECRET="bench-secret-$$"
printf 'admin-token-for-the-launch-bench-%s\n' "$$" >"$WORK/admin"
chmod 600 "$WORK/admin"
"$NODERR" exchange-sim --tick-ms 20 --seed 11 --admin-token-file "$WORK/admin" \
    >"$WORK/xsim.out" 2>"$WORK/xsim.err" &
PIDS+=($!)
for _ in $(seq 100); do grep -q '^listening on ' "$WORK/xsim.out" 2>/dev/null && break; sleep 0.05; done
PORT=$(sed -nE 's/^listening on 127\.0\.0\.1:([0-9]+)$/\1/p' "$WORK/xsim.out")
[ -n "$PORT" ] || { echo "exchange-sim did not start" >&2; exit 1; }

# ms_of LOG PATTERN: the epoch ms of the first log line matching PATTERN (its ts= stamp).
ms_of() {
    grep -m1 -E "$2" "$1" | sed -nE 's/^ts=([^ ]+) .*/\1/p' |
        python3 -c 'import sys, datetime as d; t = sys.stdin.read().strip()
print(int(d.datetime.fromisoformat(t[:26]).replace(tzinfo=d.timezone.utc).timestamp() * 1000) if t else -1)'
}

echo "run first_order_ms recovery_ms"
for run in $(seq "$RUNS"); do
    cat >"$WORK/l.json" <<EOF2
{"name": "bench$run", "state_dir": "$WORK/state$run",
 "venue": {"name": "binance", "rest_url": "http://127.0.0.1:$PORT", "ws_url": "ws://127.0.0.1:$PORT"},
 "symbol": "BTC/USDT", "strategies": [{"builtin": "quote_maker"}],
 "capital": {"cash": "10000", "sizing_percent": 0.1},
 "store": {"url": "sqlite:$WORK/bench$run.db"}, "log": {"level": "info"},
 "launch": {"health_every_ms": $HEALTH, "feed_stale_ms": 1000, "restart_backoff_ms": 100}}
EOF2
    T0=$(date +%s%3N)
    "$NODERR" launch --config "$WORK/l.json" >"$WORK/l$run.out" 2>"$WORK/l$run.err" &
    L=$!
    PIDS+=("$L")
    for _ in $(seq 200); do grep -q "event=first_order" "$WORK/l$run.err" && break; sleep 0.05; done
    FIRST=$(($(ms_of "$WORK/l$run.err" "event=first_order") - T0))
    sleep 1
    curl -sS -o /dev/null -X POST -H "Authorization: Bearer $(cat "$WORK/admin")" \
        -d "{\"fault\":\"stale\",\"ms\":$STALE}" "http://127.0.0.1:$PORT/admin/fault"
    END=$(($(date +%s%3N) + STALE))
    sleep $(((STALE + 2500) / 1000))
    BACK=$(grep -E "module=strategies from=blocked to=up" "$WORK/l$run.err" | tail -1 |
        sed -nE 's/^ts=([^ ]+) .*/\1/p' | python3 -c 'import sys, datetime as d
t = sys.stdin.read().strip()
print(int(d.datetime.fromisoformat(t[:26]).replace(tzinfo=d.timezone.utc).timestamp() * 1000) if t else -1)')
    kill -TERM "$L"
    wait "$L" || true
    echo "$run $FIRST $((BACK - END))"
done
