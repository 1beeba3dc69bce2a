#!/usr/bin/env bash
# 68_paper_session.sh: `noderr paper` over `noderr exchange-sim` on 127.0.0.1, as the README
# runs them: config errors name the key; a session over the synthetic market streams trades and
# quotes, trades a built-in strategy, shows in `noderr status`, holds its state directory
# against a second session, takes the kill switch from `noderr kill` and stops gracefully on
# SIGTERM. With ../shared: exchange-sim replays the recorded BTCUSDT trades, and the paper
# session (engine on the venue's clock) makes the same fills and ends with the same equity as an
# event-level backtest of the same file.
# Called as: 68_paper_session.sh NODERR_BINARY DATA_DIR SHARED_DIR SOURCE_ROOT
source "$(dirname "$0")/lib.sh"

export NODERR_XSIM_API_KEY=paper-test-key NODERR_XSIM_API_SECRET="paper-test-secret-$$"
# start_xsim NAME ARGS...: exchange-sim on 127.0.0.1, sets PORT.
start_xsim() {
    local name="$1"
    shift
    start_server "$name" "$NODERR" exchange-sim "$@"
}

# config FILE NAME EXTRA_JSON [RISK_JSON]: a session config against exchange-sim on $PORT.
config() {
    local risk='{"max_drawdown": 0.15, "max_position": 0.25, "daily_loss": 0.05}'
    [ -z "${4:-}" ] || risk="$4"
    cat >"$1" <<EOF
{"name": "$2", "state_dir": "$WORK/state-$2",
 "venue": {"name": "binance", "rest_url": "http://127.0.0.1:$PORT",
           "ws_url": "ws://127.0.0.1:$PORT", "exchange_info": false},
 "symbol": "BTC/USDT",
 "capital": {"cash": "10000", "tick_size": "0.01", "lot_size": "0.00001", "min_notional": "5"},
 "risk": $risk,
 "log": {"level": "info"}$3}
EOF
}

# wait_status DIR PYTHON_CONDITION: polls DIR/status.json until the condition on d holds.
wait_status() { wait_json "$1/status.json" "$2"; }

check "config errors name the key and why"
PORT=9
config "$WORK/bad.json" bad ', "strategies": [{"builtin": "quote_maker"}]' '{"max_drawdwn": 0.1}'
expect_usage_error "risk.max_drawdwn: unknown key" "$NODERR" paper --config "$WORK/bad.json"
config "$WORK/bad.json" bad ', "strategies": [{"builtin": "quote_maker"}]' '{"max_drawdown": 1.5}'
expect_usage_error "risk.max_drawdown: 1.5 is outside [0, 1]" "$NODERR" paper --config "$WORK/bad.json"
sed -i 's/"capital": {"cash": "10000"/"capital": {"cash": 10000.5/' "$WORK/bad.json"
expect_usage_error "capital.cash: write a fractional amount as a string" \
    "$NODERR" paper --config "$WORK/bad.json"
config "$WORK/bad.json" bad ', "strategies": [{"builtin": "no_such"}]'
expect_usage_error "strategies[0]: cannot load 'no_such'" "$NODERR" paper --config "$WORK/bad.json"
config "$WORK/bad.json" bad ', "strategies": [{"builtin": "quote_maker", "params": {"nope": 1}}]'
expect_usage_error "strategies[0].params.nope" "$NODERR" paper --config "$WORK/bad.json"
sed -i 's/"exchange_info": false/"exchange_info": false, "api_secret": "x"/' "$WORK/bad.json"
expect_usage_error "secrets never go in the config" "$NODERR" paper --config "$WORK/bad.json"
expect_usage_error "give --config FILE" "$NODERR" paper
expect_usage_error "No such file" "$NODERR" paper --config "$WORK/missing.json"
expect_rc 1 "$NODERR" status --state-dir "$WORK/nothing-here"

check "a paper session over exchange-sim's synthetic market streams, trades and shows in status"
printf 'admin-token-for-the-paper-test-%s\n' "$$" >"$WORK/admin"
chmod 600 "$WORK/admin"
start_xsim synth --tick-ms 20 --seed 5 --admin-token-file "$WORK/admin"
SYNTH_PORT=$PORT
config "$WORK/paper.json" p1 ", \"strategies\": [{\"builtin\": \"quote_maker\"}],
 \"store\": {\"url\": \"sqlite:$WORK/p1.db\"}"
# this one takes tick, lot and minimum notional from exchange-sim's exchangeInfo
sed -i 's/"exchange_info": false/"exchange_info": true/; s/, "tick_size": "0.01", "lot_size": "0.00001", "min_notional": "5"//' \
    "$WORK/paper.json"
"$NODERR" paper --config "$WORK/paper.json" >"$WORK/p1.out" 2>"$WORK/p1.err" &
PAPER=$!
SERVER_PIDS+=("$PAPER")
wait_status "$WORK/state-p1" 'd["feed"]["trades"] > 5 and d["feed"]["quotes"] > 5 and d["orders"]["submitted"] > 0'
expect_rc 0 "$NODERR" status --config "$WORK/paper.json"
stdout_has "paper session p1 on binance: running"
stdout_has "BTC/USDT     position "
stdout_has "feed: connected"
expect_rc 0 "$NODERR" status --state-dir "$WORK/state-p1" --json
pycheck "$OUT" 'assert d["running"] is True and d["mode"] == "paper", d
assert d["risk"]["halted"] is False and d["feed"]["bad"] == 0, d
assert "/api/v3/exchangeInfo?symbols=%5B%22BTCUSDT%22%5D" in d["rules_from"], d["rules_from"]
assert d["positions"][0]["symbol"] == "BTC/USDT" and d["positions"][0]["tick_size"] == "0.01", d'

check "a second session on the same state directory is refused"
expect_usage_error "is running there" "$NODERR" paper --config "$WORK/paper.json"

check "noderr kill engages the kill switch: halted, recorded in the status"
expect_rc 0 "$NODERR" kill --config "$WORK/paper.json"
wait_status "$WORK/state-p1" 'd["risk"]["kill_switch"] and d["risk"]["halted"]'

check "SIGTERM: a graceful stop, the summary, then status says not running"
kill -TERM "$PAPER"
RC=0
wait "$PAPER" || RC=$?
[ "$RC" -eq 0 ] || { cat "$WORK/p1.err" >&2; fail "paper exited $RC after SIGTERM"; }
grep -q "^paper session p1 on BTCUSDT: " "$WORK/p1.out" || fail "no summary: $(cat "$WORK/p1.out")"
grep -q "event=session_stopping why=signal" "$WORK/p1.err" || fail "no graceful stop logged"
grep -q "$NODERR_XSIM_API_SECRET" "$WORK/p1.out" "$WORK/p1.err" && fail "a secret was printed"
expect_rc 1 "$NODERR" status --state-dir "$WORK/state-p1"
stdout_has "not running"
[ ! -e "$WORK/state-p1/session.pid" ] || fail "session.pid left behind"
expect_rc 1 "$NODERR" kill --state-dir "$WORK/state-p1"

check "the store holds the session: orders, the kill switch's trip, start and stop; the chain verifies"
expect_rc 0 "$NODERR" audit verify --db "$WORK/p1.db"
expect_rc 0 "$NODERR" audit export --db "$WORK/p1.db" --format json
for want in '"session_start"' '"kill_switch"' '"session_stop"' '"breaker"' '"submitted"'; do
    grep -q "$want" "$OUT" || fail "audit export lacks $want"
done

check "a stale feed trips the data-integrity breaker: halted, with the input named"
PORT=$SYNTH_PORT
config "$WORK/stale.json" p2 ', "strategies": [{"builtin": "quote_maker"}], "integrity": {"stale_after_ms": 700}'
"$NODERR" paper --config "$WORK/stale.json" >"$WORK/p2.out" 2>"$WORK/p2.err" &
PAPER=$!
SERVER_PIDS+=("$PAPER")
wait_status "$WORK/state-p2" 'd["feed"]["trades"] > 3'
curl -sS -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $(cat "$WORK/admin")" \
    -d '{"fault":"stale","ms":2500}' "http://127.0.0.1:$PORT/admin/fault" >"$WORK/fault.code"
[ "$(cat "$WORK/fault.code")" = 200 ] || fail "admin fault: HTTP $(cat "$WORK/fault.code")"
wait_status "$WORK/state-p2" 'd["risk"]["halted"] and d["risk"]["halt_kind"] == "data_integrity"'
kill -TERM "$PAPER"
wait "$PAPER" || fail "paper p2 exited non-zero after SIGTERM"
grep -q "event=data_integrity_trip input=stale feed=binance:BTCUSDT" "$WORK/p2.err" ||
    fail "no data-integrity trip logged: $(grep -c . "$WORK/p2.err") lines"

check "a print far off the market (exchange-sim's spike) is dropped and trips data integrity"
PORT=$SYNTH_PORT
config "$WORK/spike.json" p3 ', "strategies": [{"builtin": "quote_maker"}]'
"$NODERR" paper --config "$WORK/spike.json" >"$WORK/p3.out" 2>"$WORK/p3.err" &
PAPER=$!
SERVER_PIDS+=("$PAPER")
wait_status "$WORK/state-p3" 'd["feed"]["trades"] > 3'
curl -sS -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $(cat "$WORK/admin")" \
    -d '{"fault":"spike","pct":20}' "http://127.0.0.1:$PORT/admin/fault" >"$WORK/fault.code"
[ "$(cat "$WORK/fault.code")" = 200 ] || fail "admin fault: HTTP $(cat "$WORK/fault.code")"
wait_status "$WORK/state-p3" 'd["risk"]["halted"] and d["risk"]["halt_kind"] == "data_integrity"'
kill -TERM "$PAPER"
wait "$PAPER" || fail "paper p3 exited non-zero after SIGTERM"
grep -qE "event=data_integrity_trip input=price_jump feed=binance:BTCUSDT measured_e6=(19|20)[0-9]{4} " \
    "$WORK/p3.err" || fail "no price-jump trip logged: $(grep -c . "$WORK/p3.err") lines"
config "$WORK/bad.json" bad ', "strategies": [{"builtin": "quote_maker"}], "integrity": {"max_jump": 11}'
expect_usage_error "integrity.max_jump: 11 is outside" "$NODERR" paper --config "$WORK/bad.json"

if ! have_shared; then
    echo "../shared/data absent: the paper-vs-backtest check skipped"
    exit 0
fi

check "paper over a replayed recording makes the backtest's fills (engine on the venue's clock)"
TRADES="$SHARED/data/BTCUSDT-trades-2021-01-08.csv"
LUA="$DATA/trade_through.lua"
start_xsim replay --replay-trades "$TRADES" --speed max
config "$WORK/replay.json" r1 ", \"clock\": \"venue\", \"strategies\": [{\"lua\": \"$LUA\"}],
 \"paper\": {\"entry_latency_us\": 1000, \"ack_latency_us\": 1000, \"maker_fee_bps\": 10, \"taker_fee_bps\": 10}"
"$NODERR" paper --config "$WORK/replay.json" --json >"$WORK/r1.out" 2>"$WORK/r1.err" &
PAPER=$!
SERVER_PIDS+=("$PAPER")
ROWS=$(($(wc -l <"$TRADES") - 1))
wait_status "$WORK/state-r1" "d['feed']['trades'] == $ROWS"
kill -TERM "$PAPER"
RC=0
wait "$PAPER" || RC=$?
[ "$RC" -eq 0 ] || { cat "$WORK/r1.err" >&2; fail "paper exited $RC"; }
expect_rc 0 "$NODERR" backtest --trades "$TRADES" --strategy-file "$LUA" --entry-latency-us 1000 \
    --ack-latency-us 1000 --fee-bps 10 --json
cp "$OUT" "$WORK/bt.json"
python3 - "$WORK/r1.out" "$WORK/bt.json" <<'EOF' || fail "paper and backtest differ"
import json, sys
p, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
print("paper", p)
print("backtest fills", b["fills"], "equity", b["final_equity_exact"])
assert p["trades_in"] > 0 and p["bad"] == 0 and p["late"] == 0 and not p["halted"], p
assert b["fills"] > 0, b
assert p["fills"] == b["fills"], (p["fills"], b["fills"])
assert p["equity"] == b["final_equity_exact"], (p["equity"], b["final_equity_exact"])
EOF
echo "ok"
