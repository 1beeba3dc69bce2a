#!/usr/bin/env bash
# 92_venue_hostile_input.sh: the venue decoders and books through the CLI on hostile input
# (issue 10), with no shared fixtures needed: a value the venue forbids (price <= 0, trade size
# <= 0, size < 0) is counted by reason and makes `decode --strict` exit 1; strings come out
# whole (JSON escapes decoded, valid JSON out) or the message is refused, never cut; a Coinbase
# Exchange `book replay` that never synced exits 1 and says why (2 when unreadable); a
# 20,000-level-a-side snapshot is kept whole and a larger-than-the-book one refused; a Binance
# depth diff for another symbol is counted and shown.
# Called as: 92_venue_hostile_input.sh NODERR_BINARY DATA_DIR SHARED_DIR SOURCE_ROOT
source "$(dirname "$0")/lib.sh"

# stderr_has TEXT: the last command's stderr contains TEXT (fixed string).
stderr_has() {
    grep -qF -- "$1" "$ERR" || fail "stderr lacks '$1': $(head -c 400 "$ERR")"
}

check "coinbase-exchange: match with price 0, -5 or size -1 is bad (out_of_range), --strict exits 1"
cat >"$WORK/match.jsonl" <<'J'
{"type":"match","trade_id":1,"side":"sell","size":"1","price":"0","product_id":"BTC-USD","time":"2021-04-17T16:43:37.121358Z"}
{"type":"match","trade_id":2,"side":"sell","size":"1","price":"-5","product_id":"BTC-USD","time":"2021-04-17T16:43:37.121358Z"}
{"type":"match","trade_id":3,"side":"buy","size":"-1","price":"5","product_id":"BTC-USD","time":"2021-04-17T16:43:37.121358Z"}
J
expect_rc 1 "$NODERR" decode --venue coinbase-exchange "$WORK/match.jsonl" --strict
expect_rc 0 "$NODERR" decode --venue coinbase-exchange "$WORK/match.jsonl" --json
[ ! -s "$OUT" ] || fail "a bad match came out as an event: $(cat "$OUT")"
tail -n 1 "$ERR" >"$WORK/s.json"
pycheck "$WORK/s.json" 'assert d["events"] == 0 and d["bad"]["out_of_range"] == 3, d'

check "coinbase advanced: market_trades with price 0 or size -1 is bad, --strict exits 1"
cat >"$WORK/adv.jsonl" <<'J'
{"channel":"market_trades","client_id":"","timestamp":"2023-02-09T20:19:35Z","sequence_num":0,"events":[{"type":"update","trades":[{"trade_id":"1","product_id":"ETH-USD","price":"0","size":"1","side":"BUY","time":"2023-02-09T20:19:35Z"}]}]}
{"channel":"market_trades","client_id":"","timestamp":"2023-02-09T20:19:35Z","sequence_num":1,"events":[{"type":"update","trades":[{"trade_id":"2","product_id":"ETH-USD","price":"5","size":"-1","side":"SELL","time":"2023-02-09T20:19:35Z"}]}]}
J
expect_rc 1 "$NODERR" decode --venue coinbase "$WORK/adv.jsonl" --strict --json
[ ! -s "$OUT" ] || fail "a bad trade came out as an event"
tail -n 1 "$ERR" >"$WORK/s.json"
pycheck "$WORK/s.json" 'assert d["bad"]["out_of_range"] == 2, d'

check "binance: escapes decoded into valid JSON, TRADE_PREVENTION whole, long symbol refused"
cat >"$WORK/esc.jsonl" <<'J'
{"e":"trade","E":1,"s":"A\nB\"\u00e9\ud83d\ude00","t":1,"p":"1","q":"1","T":1,"m":true}
{"e":"executionReport","E":1,"s":"ETHBTC","c":"n1","S":"BUY","o":"LIMIT","q":"2","p":"0.1","C":"","x":"TRADE_PREVENTION","X":"EXPIRED_IN_MATCH","r":"NONE","i":1,"l":"0","z":"0","L":"0","n":"0","N":null,"t":-1,"Z":"0"}
J
expect_rc 0 "$NODERR" decode --venue binance "$WORK/esc.jsonl" --json --strict
python3 - "$OUT" <<'PY' || fail "escaped symbol or execution type not kept whole"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
assert ev[0]["symbol"] == "A\nB\"\u00e9\U0001F600", ev[0]["symbol"]
assert ev[1]["exec_type"] == "TRADE_PREVENTION", ev[1]
PY
printf '%s\n' '{"e":"trade","E":1,"s":"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCD","t":1,"p":"1","q":"1","T":1,"m":true}' \
    >"$WORK/long.jsonl"
expect_rc 1 "$NODERR" decode --venue binance "$WORK/long.jsonl" --strict --json
[ ! -s "$OUT" ] || fail "a long symbol came out (cut?): $(cat "$OUT")"
tail -n 1 "$ERR" >"$WORK/s.json"
pycheck "$WORK/s.json" 'assert d["bad"]["too_long"] == 1, d'

check "coinbase-exchange book replay: never synced is exit 1 with the reason"
: >"$WORK/empty.jsonl"
expect_rc 1 "$NODERR" book replay --venue coinbase-exchange --stream "$WORK/empty.jsonl"
stderr_has "never synced: the stream is empty"
head -c 4096 /dev/urandom >"$WORK/random.bin"
expect_rc 1 "$NODERR" book replay --venue coinbase-exchange --stream "$WORK/random.bin"
stderr_has "never synced"
printf '%s\n' '{"type":"l2update","product_id":"A-B","changes":[["buy","1.00","5"]]}' >"$WORK/nosnap.jsonl"
expect_rc 1 "$NODERR" book replay --venue coinbase-exchange --stream "$WORK/nosnap.jsonl" --json
stderr_has "no usable snapshot"
pycheck "$OUT" 'assert d["status"] == "no_snapshot" and d["messages_bad"] == 1, d'
expect_rc 2 "$NODERR" book replay --venue coinbase-exchange --stream "$WORK/missing.jsonl"
expect_rc 2 "$NODERR" book replay --venue coinbase-exchange --stream "$WORK"

check "coinbase-exchange book replay: 20,000 levels a side kept whole; more than the book refused"
python3 - "$WORK/big.jsonl" 20000 "$WORK/huge.jsonl" 70000 <<'PY'
import sys
def snap(n):
    bids = ",".join('["%d.%02d","1"]' % divmod(10000000 - i, 100) for i in range(n))
    asks = ",".join('["%d.%02d","1"]' % divmod(10000001 + i, 100) for i in range(n))
    return '{"type":"snapshot","product_id":"BTC-USD","bids":[%s],"asks":[%s]}\n' % (bids, asks)
open(sys.argv[1], "w").write(snap(int(sys.argv[2])))
open(sys.argv[3], "w").write(snap(int(sys.argv[4])))
PY
expect_rc 0 "$NODERR" book replay --venue coinbase-exchange --stream "$WORK/big.jsonl" --json
pycheck "$OUT" 'assert d["bid_levels"] == 20000 and d["ask_levels"] == 20000 and d["status"] == "ok", d'
expect_rc 1 "$NODERR" book replay --venue coinbase-exchange --stream "$WORK/huge.jsonl" --json
stderr_has "never synced"
pycheck "$OUT" 'assert d["bid_levels"] == 0 and d["messages_bad"] == 1, d'

check "binance book replay: a diff for another symbol is counted and shown"
printf '%s\n' '{"lastUpdateId":100,"bids":[["10.0","1"]],"asks":[["11.0","3"]]}' >"$WORK/snap.json"
cat >"$WORK/diffs.jsonl" <<'J'
{"e":"depthUpdate","E":2,"s":"ABC","U":100,"u":101,"b":[["10.0","2"]],"a":[]}
{"e":"depthUpdate","E":2,"s":"XYZ","U":102,"u":102,"b":[["10.5","2"]],"a":[]}
J
expect_rc 0 "$NODERR" book replay --venue binance --snapshot "$WORK/snap.json" --diffs "$WORK/diffs.jsonl" --json
stderr_has "1 depth message(s) for a symbol other than ABC"
pycheck "$OUT" 'assert d["events_other_symbol"] == 1 and d["events_applied"] == 1, d'

echo "92_venue_hostile_input: all checks passed"
