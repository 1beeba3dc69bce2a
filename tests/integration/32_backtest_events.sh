#!/usr/bin/env bash
# 32_backtest_events.sh: event-level backtests (`noderr backtest --trades/--quotes/--depth/
# --synthetic-l2`) through the engine and the L2 simulated venue: the runs complete with fills
# and the same outputs as a bar backtest, the same inputs give byte-identical output, and after
# each recorded depth replay the engine's book equals the session's expected book (meta.json).
# The shared samples are skipped with a message when ../shared is absent.
source "$(dirname "$0")/lib.sh"

check "--synthetic-l2: seeded, completes, trades, same seed gives byte-identical JSON"
expect_rc 0 "$NODERR" backtest --synthetic-l2 --events 200000 --seed 7 --strategy quote_maker \
    --max-position-pct 60 --json --trades-out "$WORK/rt1.csv" --equity-out "$WORK/eq1.csv"
cp "$OUT" "$WORK/synth1.json"
pycheck "$OUT" '
e = d["event_level"]
assert e["events"] == 200000, e
assert d["fills"] > 0 and d["orders"]["accepted"] > 0, d["orders"]
assert e["venue"]["name"] == "l2sim" and e["venue"]["maker_fills"] > 0, e["venue"]
assert d["data"] == {"kind": "synthetic-l2", "seed": 7, "symbol": "BTC/USDT"}, d["data"]
assert d["bars"] == 0 and d["periods_per_year"] == 525600.0, d["periods_per_year"]
assert e["book"]["bid_levels"] > 0 and e["book"]["ask_levels"] > 0, e["book"]
'
expect_rc 0 "$NODERR" backtest --synthetic-l2 --events 200000 --seed 7 --strategy quote_maker \
    --max-position-pct 60 --json --trades-out "$WORK/rt2.csv" --equity-out "$WORK/eq2.csv"
cmp -s "$OUT" "$WORK/synth1.json" || fail "same seed, different JSON"
cmp -s "$WORK/rt1.csv" "$WORK/rt2.csv" || fail "same seed, different round trips"
cmp -s "$WORK/eq1.csv" "$WORK/eq2.csv" || fail "same seed, different equity"
[ "$(wc -l <"$WORK/rt1.csv")" -gt 1 ] || fail "no round trip in the synthetic run"
expect_rc 0 "$NODERR" backtest --synthetic-l2 --events 200000 --seed 8 --strategy quote_maker \
    --max-position-pct 60 --json
cmp -s "$OUT" "$WORK/synth1.json" && fail "another seed gave the same run"

check "text summary of an event-level run names events and the L2 venue"
expect_rc 0 "$NODERR" backtest --synthetic-l2 --events 20000 --strategy quote_maker \
    --entry-latency-us 500 --ack-latency-us 300 --queue-model proportional
stdout_has "events, L2 simulated venue"
stdout_has "(20000 events)"

expect_usage_error "is an event strategy" "$NODERR" backtest --bars 100 \
    --strategy quote_maker
expect_usage_error "trades on bars" "$NODERR" backtest --synthetic-l2 --events 100 \
    --strategy sma_cross
expect_usage_error "not with --data or --db" "$NODERR" backtest --synthetic-l2 \
    --data "$DATA/bars_good.csv" --strategy quote_maker
expect_usage_error "one directory" "$NODERR" backtest --depth "$WORK/a/snapshot.json" \
    --depth-updates "$WORK/b/diffs.jsonl" --strategy quote_maker
expect_usage_error "risk-averse or proportional" "$NODERR" backtest --synthetic-l2 \
    --queue-model fifo --strategy quote_maker

if ! have_shared; then
    echo "SKIP: ../shared absent ($SHARED), shared trade, quote and depth samples skipped"
    echo "32_backtest_events: synthetic checks passed"
    exit 0
fi

TRADES="$SHARED/data/BTCUSDT-trades-2021-01-08.csv"
QUOTES="$SHARED/data/BTCUSDT-bookticker-2021-01-08.csv"
[ -f "$TRADES" ] || fail "$TRADES missing from the shared data"
[ -f "$QUOTES" ] || fail "$QUOTES missing from the shared data"

check "trades + bookTicker of 2021-01-08: merged, completes with fills, byte-identical twice"
expect_rc 0 "$NODERR" backtest --trades "$TRADES" --quotes "$QUOTES" --lot-size 0.000001 \
    --strategy quote_maker --json --trades-out "$WORK/rt_real1.csv"
cp "$OUT" "$WORK/real1.json"
pycheck "$OUT" '
e = d["event_level"]
assert e["events"] == 2001 + 451, e["events"]
assert d["fills"] > 0 and d["trades"] > 0, (d["fills"], d["trades"])
assert d["orders"]["accepted"] == d["orders"]["submitted"] - d["orders"]["rejected"], d["orders"]
assert d["first_bar"] is None
'
expect_rc 0 "$NODERR" backtest --trades "$TRADES" --quotes "$QUOTES" --lot-size 0.000001 \
    --strategy quote_maker --json --trades-out "$WORK/rt_real2.csv"
cmp -s "$OUT" "$WORK/real1.json" || fail "same inputs, different JSON"
cmp -s "$WORK/rt_real1.csv" "$WORK/rt_real2.csv" || fail "same inputs, different round trips"

n=0
for dir in "$SHARED"/fixtures/binance/depth_sync/*/; do
    [ -f "$dir/meta.json" ] || continue
    name="$(basename "$dir")"
    check "depth session $name: replayed book equals the expected book of meta.json"
    expect_rc 0 "$NODERR" backtest --depth "$dir/snapshot.json" --depth-updates "$dir/diffs.jsonl" \
        --strategy quote_maker --symbol X/Y --tick-size 0.00000001 --lot-size 0.00000001 \
        --min-notional 0 --json
    cp "$OUT" "$WORK/depth1.json"
    python3 - "$OUT" "$dir/meta.json" <<'PY' || fail "$name: book differs from meta.json"
import json, sys
from decimal import Decimal
d = json.load(open(sys.argv[1]))
want = json.load(open(sys.argv[2]))["expected_after_applying_all_diffs_per_documented_procedure"]
book = d["event_level"]["book"]
def levels(rows):
    return [(Decimal(p), Decimal(q)) for p, q in rows]
assert book["update_id"] == want["final_update_id"], (book["update_id"], want["final_update_id"])
assert book["bid_levels"] == want["bid_levels"], (book["bid_levels"], want["bid_levels"])
assert book["ask_levels"] == want["ask_levels"], (book["ask_levels"], want["ask_levels"])
assert levels(book["top5_bids"]) == levels(want["top5_bids"]), book["top5_bids"]
assert levels(book["top5_asks"]) == levels(want["top5_asks"]), book["top5_asks"]
PY
    expect_rc 0 "$NODERR" backtest --depth "$dir" --strategy quote_maker --symbol X/Y \
        --tick-size 0.00000001 --lot-size 0.00000001 --min-notional 0 --json
    cmp -s "$OUT" "$WORK/depth1.json" || fail "$name: --depth DIR differs from the file pair"
    n=$((n + 1))
done
[ "$n" -gt 0 ] || fail "no depth session found under $SHARED/fixtures/binance/depth_sync"
echo "32_backtest_events: passed ($n depth sessions)"
