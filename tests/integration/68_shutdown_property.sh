#!/usr/bin/env bash
# 68_shutdown_property.sh: the emergency shutdown over many seeds (docs/launcher.md "Shutdown and
# resume"). Each seed picks a burst size, a cap on working orders, whether to buy a position
# first, whether to flatten, and the moment of the shutdown (from at once to 1.5 s into the
# burst); one session state directory runs them all in turn, so every run also resumes from the
# one before. After each: nothing open at the venue, the report clean, the session's position
# equal to the venue's executions, and flat at the venue when flattened. ND_SHUTDOWN_SEEDS=N runs
# N seeds (default 6); SEED=S runs that one alone. A failure prints "reproduce with SEED=S".
# Called as: 68_shutdown_property.sh NODERR_BINARY DATA_DIR SHARED_DIR SOURCE_ROOT
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/shutdown_lib.sh"
start_venue

if [ -n "${SEED:-}" ]; then SEEDS=("$SEED"); else mapfile -t SEEDS < <(seq 1 "${ND_SHUTDOWN_SEEDS:-6}"); fi
for seed in "${SEEDS[@]}"; do
    # burst max entry flatten delay, drawn from the seed
    read -r burst max entry flatten delay < <(python3 -c '
import random, sys
r = random.Random(int(sys.argv[1]))
print(r.randint(1, 60), r.randint(5, 600), r.choice([0, 100000]), r.choice([0, 1]),
      "%.2f" % r.uniform(0, 1.5))' "$seed")
    check "seed $seed: burst $burst max $max entry $entry flatten $flatten shutdown after ${delay}s"
    trap 'echo "reproduce with SEED='"$seed"'" >&2' ERR
    write_config "$WORK/live.json" "$burst" "$max" "$entry"
    "$NODERR" live --config "$WORK/live.json" >"$WORK/live.out" 2>"$WORK/live.err" &
    LIVE=$!
    SERVER_PIDS+=("$LIVE")
    wait_json "$WORK/state/status.json" "d['pid'] == $LIVE"
    sleep "$delay"
    args=(--state-dir "$WORK/state" --json)
    [ "$flatten" = 1 ] && args+=(--flatten)
    run "$NODERR" shutdown "${args[@]}"
    [ "$RC" -eq 0 ] || fail "seed $seed: shutdown exited $RC: $(cat "$OUT") (reproduce with SEED=$seed)"
    wait "$LIVE" || fail "seed $seed: the session exited $? (reproduce with SEED=$seed)"
    venue_none_open
    NET="$(venue_net)"
    pycheck "$WORK/state/shutdown.json" "
from decimal import Decimal
assert d['clean'] and d['venue_open_orders'] == {'BTCUSDT': 0}, d
held = Decimal(d['positions'][0]['qty'])
assert held == Decimal('$NET'), ('session', held, 'venue', '$NET')
if $flatten:
    assert abs(Decimal('$NET')) < Decimal('0.00001'), ('not flat at the venue', '$NET')"
    trap - ERR
done
echo "ok"
