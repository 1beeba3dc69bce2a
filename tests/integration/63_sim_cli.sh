#!/usr/bin/env bash
# 63_sim_cli.sh: `noderr sim`: a range of seeds passes with exit 0, one seed's JSON is
# byte-identical when replayed, bad options exit 2 naming the option.
source "$(dirname "$0")/lib.sh"

check "200 seeds pass every invariant"
expect_rc 0 "$NODERR" sim --seed 1 --seeds 200 --events 300
stdout_has "200 seed(s) from 1 passed"
stdout_has "every invariant held"

check "a seed's JSON report replays byte for byte"
expect_rc 0 "$NODERR" sim --seed 424242 --events 3000 --json
cp "$OUT" "$WORK/a.json"
expect_rc 0 "$NODERR" sim --seed 424242 --events 3000 --json
cmp -s "$OUT" "$WORK/a.json" || fail "the same seed gave different reports"
pycheck "$WORK/a.json" "assert d['passed'] is True and d['seed'] == 424242 and d['events'] >= 3000"

expect_usage_error "--events" "$NODERR" sim --events 0
expect_usage_error "--seed" "$NODERR" sim --seed -1
expect_usage_error "--seeds" "$NODERR" sim --seeds x
echo "63_sim_cli: ok"
