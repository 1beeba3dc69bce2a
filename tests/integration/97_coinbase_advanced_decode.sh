#!/usr/bin/env bash
# 97_coinbase_advanced_decode.sh: `noderr decode --venue coinbase` on the recorded and documented
# Advanced Trade frames, and on a crafted stream with a sequence_num gap, a repeat and bad input:
# each frame becomes the right normalised events, bad frames are counted by reason, none crash.
source "$(dirname "$0")/lib.sh"

AT="$SHARED/fixtures/coinbase/advanced_ws"
[ -d "$AT" ] || { echo "SKIP: $AT absent"; exit 77; }

check "recorded market_trades snapshot"
expect_rc 0 "$NODERR" decode --venue coinbase "$AT/live_market_trades_snapshot_BTC-USD_2025-10-27.json" --json
python3 - "$OUT" <<'PY' || fail "trade event wrong: $(cat "$OUT")"
import json, sys
d = json.loads(open(sys.argv[1]).readline())
assert d["type"] == "trade" and d["symbol"] == "BTC-USD", d
assert d["px"] == "115445.28000000" and d["qty"] == "0.00015604"
assert d["trade_id"] == 892262231 and d["aggressor"] == "bid"
assert d["trade_ts_ns"] == 1761583479600153000 and d["venue_ts_ns"] == 1761583480175203666
PY

check "documented l2_data update and ticker snapshot"
expect_rc 0 "$NODERR" decode --venue coinbase "$AT/doc_l2_data_update.json" --json
python3 - "$OUT" <<'PY' || fail "l2_data event wrong: $(cat "$OUT")"
import json, sys
d = json.loads(open(sys.argv[1]).readline())
assert d["type"] == "book_update" and not d["snapshot"] and d["last_update_id"] == 1, d
assert d["levels"] == [["bid", "21921.73000000", "0.06317902"]], d
PY
expect_rc 0 "$NODERR" decode --venue coinbase "$AT/doc_ticker_snapshot.json" --json
python3 - "$OUT" <<'PY' || fail "ticker event wrong: $(cat "$OUT")"
import json, sys
d = json.loads(open(sys.argv[1]).readline())
assert d["type"] == "bbo" and d["bid_px"] == "21931.98000000" and d["ask_qty"] == "8038.07770938", d
PY

check "a stream with a gap, a repeat and bad frames"
{
    echo '{"channel":"heartbeats","client_id":"","timestamp":"2026-09-30T02:37:15.057778606Z","sequence_num":0,"events":[{"current_time":"2026-09-30 02:37:15.057778606 +0000 UTC m=+21697.195984854","heartbeat_counter":21697}]}'
    echo '{"channel":"l2_data","client_id":"","timestamp":"2026-09-30T02:37:15.1Z","sequence_num":1,"events":[{"type":"snapshot","product_id":"BTC-USD","updates":[{"side":"offer","event_time":"2026-09-30T02:37:15.1Z","price_level":"100.5","new_quantity":"2"},{"side":"bid","event_time":"2026-09-30T02:37:15.1Z","price_level":"100.1","new_quantity":"1.5"}]}]}'
    echo '{"channel":"l2_data","client_id":"","timestamp":"2026-09-30T02:37:15.2Z","sequence_num":3,"events":[{"type":"update","product_id":"BTC-USD","updates":[{"side":"bid","event_time":"2026-09-30T02:37:15.2Z","price_level":"100.1","new_quantity":"0"}]}]}'
    echo '{"channel":"l2_data","client_id":"","timestamp":"2026-09-30T02:37:15.2Z","sequence_num":3,"events":[{"type":"update","product_id":"BTC-USD","updates":[{"side":"bid","event_time":"2026-09-30T02:37:15.2Z","price_level":"100.1","new_quantity":"0"}]}]}'
    echo '{"channel":"market_trades","sequence_num":4,"events":[{"type":"update","trades":[{"product_id":"BTC-USD","trade_id":"7","price":"abc","size":"1","side":"BUY","time":"2026-09-30T02:37:15Z"}]}]}'
    echo '{"channel":"candles_v9","sequence_num":5,"events":[]}'
    echo '{"channel":"l2_data","sequence_num":6,"events":[{"type":"update","product_id":"BTC-USD","updates":[{"side":"bid"'
    echo '{"type":"error","message":"failure to subscribe"}'
} >"$WORK/stream.jsonl"
expect_rc 0 "$NODERR" decode --venue coinbase "$WORK/stream.jsonl" --json
python3 - "$OUT" "$ERR" <<'PY' || fail "stream decode wrong: $(cat "$OUT" "$ERR")"
import json, sys
events = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
kinds = [e["type"] for e in events]
assert kinds == ["status", "book_update", "book_update", "status"], kinds
assert events[1]["snapshot"] and len(events[1]["levels"]) == 2
assert events[2]["levels"] == [["bid", "100.10000000", "0.00000000"]]
summary = json.loads(open(sys.argv[2]).read().strip().splitlines()[-1])
bad = summary["bad"]
assert summary["messages"] == 8 and summary["events"] == 4, summary
# the gap (1 -> 3) and the repeat of 3 both count as out_of_order
assert bad["out_of_order"] == 2 and bad["bad_number"] == 1, bad
assert bad["unknown_type"] == 1 and bad["truncated"] == 1, bad
PY

echo "97_coinbase_advanced_decode: all checks passed"
