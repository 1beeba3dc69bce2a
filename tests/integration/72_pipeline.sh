#!/usr/bin/env bash
# 72_pipeline.sh: the deployment pipeline's commands on an SQLite store in a temp dir
# (docs/launcher.md "Pipeline"): `pipeline register` from a session config, `pipeline [--json]`,
# `promote` through its gates (refused naming each failed gate, exit 1; a skip refused without
# --force; --force recorded with the operator's name), production retiring the version it
# replaces, `rollback` bringing it back, bad input (exit 2 naming where and why), and every
# transition in an audit chain that verifies and that retention keeps. With ../shared: a paper
# session over exchange-sim's replay of recorded trades, then the paper gate comparing it with an
# event-level backtest of the same trades (passing), and of other trades (refused).
# Called as: 72_pipeline.sh NODERR_BINARY DATA_DIR SHARED_DIR SOURCE_ROOT
source "$(dirname "$0")/lib.sh"

DB="sqlite:$WORK/p.db"
LUA="$SOURCE_ROOT/examples/strategies/rsi_bands.lua"
# config FILE FAST [LAUNCH_JSON]: a session config with sma_cross (fast=FAST) and a Lua script.
config() {
    cat >"$1" <<EOF
{"name": "pl", "venue": {"name": "binance", "rest_url": "http://127.0.0.1:9",
 "ws_url": "ws://127.0.0.1:9"}, "symbol": "BTC/USDT",
 "strategies": [{"builtin": "sma_cross", "weight": 0.5, "params": {"fast": $2}},
                {"lua": "$LUA", "weight": 0.5}],
 "capital": {"cash": "10000"}${3:-}}
EOF
}
config "$WORK/a.json" 5 ', "launch": {"pipeline": {"canary_days": 1}}'
config "$WORK/b.json" 6

check "register: one version per strategy in dev; registering again changes nothing"
expect_rc 0 "$NODERR" pipeline register --db "$DB" --config "$WORK/a.json" --operator alice \
    --now 2026-01-01T00:00:00Z --json
cp "$OUT" "$WORK/reg.json"
pycheck "$WORK/reg.json" '
v = d["versions"]
assert [x["strategy"] for x in v] == ["sma_cross", "rsi_bands"], v
assert all(x["added"] and x["stage"] == "dev" and len(x["id"]) == 12 for x in v), v'
A=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["versions"][0]["id"])' \
    "$WORK/reg.json")
expect_rc 0 "$NODERR" pipeline register --db "$DB" --config "$WORK/a.json"
stdout_has "$A  sma_cross        known (dev)"

check "bad input exits 2 naming where and why"
expect_usage_error "give --db URL" "$NODERR" pipeline
expect_usage_error "--version ffffff: no such version" "$NODERR" promote --db "$DB" \
    --version ffffff
expect_usage_error "--to staging: not a stage" "$NODERR" promote --db "$DB" --version "$A" \
    --to staging
expect_usage_error "--force needs --operator NAME and --reason TEXT" "$NODERR" promote \
    --db "$DB" --version "$A" --force
config "$WORK/bad.json" 5 ', "launch": {"pipeline": {"paper_dayz": 1}}'
expect_usage_error "bad.json: launch.pipeline.paper_dayz" "$NODERR" promote --db "$DB" \
    --version "$A" --config "$WORK/bad.json"
expect_usage_error "--now 'yesterday'" "$NODERR" pipeline --db "$DB" --now yesterday
expect_usage_error "--reason TEXT" "$NODERR" rollback --db "$DB" --strategy sma_cross
expect_usage_error "not-json" "$NODERR" promote --db "$DB" --version "$A" \
    --validate-report "$WORK/not-json"

check "dev -> backtest: refused without a validate report and with another version's"
expect_rc 1 "$NODERR" promote --db "$DB" --version "$A"
grep -qF "validated (no validate report given)" "$ERR" || fail "the failed gate is not named"
expect_rc 0 "$NODERR" validate --strategy sma_cross --param fast=6 --json
cp "$OUT" "$WORK/v6.json"
expect_rc 1 "$NODERR" promote --db "$DB" --version "$A" --validate-report "$WORK/v6.json"
grep -qF "parameters differ" "$ERR" || fail "a report of other parameters was not refused"
expect_rc 0 "$NODERR" validate --strategy sma_cross --param fast=5 --json
cp "$OUT" "$WORK/v5.json"
expect_rc 0 "$NODERR" promote --db "$DB" --version "$A" --validate-report "$WORK/v5.json" \
    --now 2026-01-02T00:00:00Z
stdout_has "$A sma_cross: dev -> backtest"

check "a skip is refused without --force, recorded with the operator's name with it"
expect_rc 2 "$NODERR" promote --db "$DB" --version "$A" --to canary
grep -qF "skips paper" "$ERR" || fail "the skip is not named"
expect_rc 0 "$NODERR" promote --db "$DB" --version "$A" --to canary --force --operator carol \
    --reason "paper evidence reviewed by hand" --now 2026-01-03T00:00:00Z

check "canary -> production waits for canary_days (the config's launch.pipeline)"
expect_rc 1 "$NODERR" promote --db "$DB" --version "$A" --config "$WORK/a.json" \
    --now 2026-01-03T12:00:00Z
grep -qF "canary_days (12h in canary of 1 day)" "$ERR" || fail "canary_days not named"
expect_rc 0 "$NODERR" promote --db "$DB" --version "$A" --config "$WORK/a.json" \
    --now 2026-01-04T00:00:00Z

check "a new version in production retires the old one; rollback brings it back"
expect_rc 0 "$NODERR" pipeline register --db "$DB" --config "$WORK/b.json" --json
B=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["versions"][0]["id"])' "$OUT")
[ "$A" != "$B" ] || fail "other parameters gave the same version id"
expect_rc 0 "$NODERR" promote --db "$DB" --version "$B" --to production --force \
    --operator carol --reason "hotfix" --now 2026-01-05T00:00:00Z
expect_rc 0 "$NODERR" pipeline --db "$DB" --json
cp "$OUT" "$WORK/p1.json"
pycheck "$WORK/p1.json" "
st = {v['id']: v['stage'] for v in d['versions']}
assert st['$A'] == 'retired' and st['$B'] == 'production', st
a = [v for v in d['versions'] if v['id'] == '$A'][0]
ev = [(h['event'], h['from'], h['to'], h['who'], h['forced']) for h in a['history']]
assert ev == [('registered', 'dev', 'dev', 'alice', False),
              ('promoted', 'dev', 'backtest', '${USER:-cli}', False),
              ('promoted', 'backtest', 'canary', 'carol', True),
              ('promoted', 'canary', 'production', '${USER:-cli}', False),
              ('retired', 'production', 'retired', 'carol', False)], ev"
expect_rc 0 "$NODERR" rollback --db "$DB" --strategy sma_cross --reason "drawdown past 8%" \
    --operator dave --now 2026-01-06T00:00:00Z
stdout_has "sma_cross rolled back: $B (now in dev) -> $A"
expect_rc 0 "$NODERR" pipeline --db "$DB"
stdout_has "$A  sma_cross        production"
stdout_has "rolled_back retired -> production by dave: drawdown past 8%"
expect_usage_error "no retired version" "$NODERR" rollback --db "$DB" --strategy sma_cross \
    --reason again

check "every transition is in the audit chain, which verifies; retention keeps them"
N=$(sqlite3 "$WORK/p.db" "SELECT count(*) FROM records WHERE kind = 12")
[ "$N" = 10 ] || fail "$N pipeline records, expected 10"
expect_rc 0 "$NODERR" audit verify --db "$DB"
expect_rc 0 "$NODERR" retention apply --db "$DB" --now 2040-01-01T00:00:00Z
expect_rc 0 "$NODERR" pipeline --db "$DB" --json
pycheck "$OUT" "assert len(d['versions']) == 3 and sum(len(v['history']) for v in d['versions']) == 10"
expect_rc 0 "$NODERR" audit verify --db "$DB"
echo "ok"

if ! have_shared; then
    echo "../shared/data absent: the paper-gate check over a replayed recording skipped"
    exit 0
fi

check "paper gate: a paper session over a replay matches the backtest of the same trades"
TRADES="$SHARED/data/BTCUSDT-trades-2021-01-08.csv"
export NODERR_XSIM_API_KEY=pl-key NODERR_XSIM_API_SECRET="pl-secret-$$"
start_server xsim "$NODERR" exchange-sim --replay-trades "$TRADES" --speed max
cat >"$WORK/paper.json" <<EOF
{"name": "plr", "state_dir": "$WORK/state", "clock": "venue",
 "venue": {"name": "binance", "rest_url": "http://127.0.0.1:$PORT",
           "ws_url": "ws://127.0.0.1:$PORT", "exchange_info": false},
 "symbol": "BTC/USDT", "strategies": [{"lua": "$DATA/trade_through.lua"}],
 "capital": {"cash": "10000", "tick_size": "0.01", "lot_size": "0.00001", "min_notional": "5"},
 "paper": {"entry_latency_us": 1000, "ack_latency_us": 1000, "maker_fee_bps": 10,
           "taker_fee_bps": 10},
 "store": {"url": "$DB"},
 "launch": {"pipeline": {"paper_days": 1, "pnl_tolerance": 0}}}
EOF
expect_rc 0 "$NODERR" pipeline register --db "$DB" --config "$WORK/paper.json" --json \
    --now 2021-01-07T00:00:00Z
L=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["versions"][0]["id"])' "$OUT")
expect_rc 0 "$NODERR" promote --db "$DB" --version "$L" --to paper --force --operator erin \
    --reason "replay rehearsal" --now 2021-01-07T00:00:00Z
"$NODERR" paper --config "$WORK/paper.json" --json >"$WORK/paper.out" 2>"$WORK/paper.err" &
PAPER=$!
SERVER_PIDS+=("$PAPER")
ROWS=$(($(wc -l <"$TRADES") - 1))
wait_json "$WORK/state/status.json" "d['feed']['trades'] == $ROWS"
kill -TERM "$PAPER"
wait "$PAPER" || fail "paper exited non-zero: $(head -c 500 "$WORK/paper.err")"
head -n $((ROWS / 2)) "$TRADES" >"$WORK/half.csv"
expect_rc 1 "$NODERR" promote --db "$DB" --version "$L" --config "$WORK/paper.json" \
    --ticks "$WORK/half.csv" --now 2021-01-09T00:00:00Z
grep -qE "refused: .*paper_(pnl|fill_rate) \(" "$ERR" ||
    fail "a backtest of other trades passed the paper gate"
cat "$ERR"
expect_rc 0 "$NODERR" promote --db "$DB" --version "$L" --config "$WORK/paper.json" \
    --ticks "$TRADES" --now 2021-01-09T00:00:00Z --json
cp "$OUT" "$WORK/gate.json"
pycheck "$WORK/gate.json" '
assert d["stage"] == "canary" and d["promoted"], d
g = {x["name"]: x for x in d["gates"]}
assert set(g) == {"paper_days", "paper_pnl", "paper_slippage", "paper_fill_rate"}, g
assert all(x["passed"] for x in g.values()), g
assert "0 bp" in g["paper_slippage"]["reason"], g
import re
m = re.search(r"\((\d+) of (\d+) orders\)", g["paper_fill_rate"]["reason"])
assert m and int(m.group(1)) > 0 and int(m.group(2)) > 0, g
print(g["paper_pnl"]["reason"], "|", g["paper_fill_rate"]["reason"])'
expect_rc 0 "$NODERR" audit verify --db "$DB"
echo "ok"
