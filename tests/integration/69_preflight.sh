#!/usr/bin/env bash
# 69_preflight.sh: `noderr preflight` against `noderr exchange-sim` on 127.0.0.1 (REST: ping,
# time, exchangeInfo, the signed account) with the market streams from
# 69_preflight_streams.py (exchange-sim has no WebSocket streams yet): a paper config passes
# every check but the documented skips, in under 2 s; a live config with a 0600 secrets file,
# a store, a metrics endpoint and pinned hashes passes them all but the oracle and validate
# skips; without "metrics" check 14 skips in paper mode and fails in live mode. Then
# each failure on its own: an unreachable venue, max_drawdown 0.2, a store that cannot be
# written, a 0644 secrets file in live mode, a wrong pin, a silent feed; bad configs exit 2.
# Called as: 69_preflight.sh NODERR_BINARY DATA_DIR SHARED_DIR SOURCE_ROOT
source "$(dirname "$0")/lib.sh"

export NODERR_XSIM_API_KEY=preflight-key NODERR_XSIM_API_SECRET="preflight-secret-$$"
unset NODERR_BINANCE_API_KEY NODERR_BINANCE_API_SECRET NODERR_BINANCE_SECRETS_FILE

start_server xsim "$NODERR" exchange-sim --tick-ms 20 --seed 3
REST=$PORT
start_server streams python3 "$(dirname "$0")/69_preflight_streams.py" BTCUSDT
WS=$PORT

printf 'api_key=%s\napi_secret=%s\n' "$NODERR_XSIM_API_KEY" "$NODERR_XSIM_API_SECRET" \
    >"$WORK/secrets"
chmod 600 "$WORK/secrets"

# config FILE [REST_PORT] [RISK_JSON] [STORE_URL] [PREFLIGHT_JSON]
config() {
    local risk='{"max_drawdown": 0.15, "max_position": 0.25, "daily_loss": 0.05}'
    [ -z "${3:-}" ] || risk="$3"
    cat >"$1" <<EOF
{"name": "pf", "state_dir": "$WORK/state",
 "venue": {"name": "binance", "rest_url": "http://127.0.0.1:${2:-$REST}",
           "ws_url": "ws://127.0.0.1:$WS", "secrets_file": "$WORK/secrets"},
 "symbol": "BTC/USDT", "strategies": [{"builtin": "quote_maker"}],
 "capital": {"cash": "10000"},
 "risk": $risk,
 "store": {"url": "${4:-sqlite:$WORK/store.db}"},
 "compliance": {"profile": "EU"},
 "metrics": {"listen": "127.0.0.1:0"},
 "preflight": ${5:-"{}"}}
EOF
}

check "bad configs exit 2 naming the key"
config "$WORK/bad.json" "" "" "" '{"mode": "prod"}'
expect_usage_error "preflight.mode: must be" "$NODERR" preflight --config "$WORK/bad.json"
config "$WORK/bad.json" "" "" "" '{"bounds": {"max_drawdown": 0.3}}'
expect_usage_error "preflight.bounds.max_drawdown: 0.3 is outside" \
    "$NODERR" preflight --config "$WORK/bad.json"
config "$WORK/bad.json" "" '{"max_drawdwn": 0.1}'
expect_usage_error "risk.max_drawdwn: unknown key" "$NODERR" preflight --config "$WORK/bad.json"
expect_usage_error "give --config FILE" "$NODERR" preflight
expect_usage_error "No such file" "$NODERR" preflight --config "$WORK/missing.json"

check "paper: every check passes or is a documented skip, in under 2 s"
config "$WORK/paper.json"
expect_rc 0 "$NODERR" preflight --config "$WORK/paper.json"
for name in config_valid secrets venue_reachable clock_offset exchange_info balances \
    oracle_fresh feeds_fresh risk_limits store_audit headroom strategies_validated \
    compliance_profile metrics_endpoint kill_switch rate_limits build_pinned; do
    grep -qE "^(pass|skip) +$name " "$OUT" || fail "no pass or skip line for $name: $(cat "$OUT")"
done
grep -qE "^pass metrics_endpoint +127.0.0.1:0 served [0-9]+ samples in the Prometheus text" \
    "$OUT" || fail "$(cat "$OUT")"
stdout_has "0 failed, 3 skipped"
expect_rc 0 "$NODERR" preflight --config "$WORK/paper.json" --json
cp "$OUT" "$WORK/paper.out.json"
pycheck "$OUT" 'names = [c["name"] for c in d["checks"]]
assert names == ["config_valid", "secrets", "venue_reachable", "clock_offset", "exchange_info",
    "balances", "oracle_fresh", "feeds_fresh", "risk_limits", "store_audit", "headroom",
    "strategies_validated", "compliance_profile", "metrics_endpoint", "kill_switch",
    "rate_limits", "build_pinned"], names
skips = [c["name"] for c in d["checks"] if c["status"] == "skip"]
assert skips == ["secrets", "oracle_fresh", "strategies_validated"], skips
assert d["failed"] == 0 and d["passed"] == 14 and d["mode"] == "paper", d
assert all(c["hint"] == "" for c in d["checks"]), d
assert d["elapsed_ms"] < 2000, d["elapsed_ms"]
print("preflight paper elapsed_ms", d["elapsed_ms"])'

check "live: a 0600 secrets file, the signed account, pinned hashes"
BUILD_SHA=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["build_sha256"])' \
    "$WORK/paper.out.json")
config "$WORK/live.json" "" "" "" '{"mode": "live", "first_allocation": "500"}'
expect_rc 1 "$NODERR" preflight --config "$WORK/live.json" --json # not pinned yet
CONFIG_SHA=$(json_field "$OUT" config_sha256 | tr -d '"')
config "$WORK/live.json" "" "" "" "{\"mode\": \"live\", \"first_allocation\": \"500\",
 \"pin\": {\"config_sha256\": \"$CONFIG_SHA\", \"build_sha256\": \"$BUILD_SHA\"}}"
expect_rc 0 "$NODERR" preflight --config "$WORK/live.json"
grep -qE "^pass secrets +API key and secret from $WORK/secrets" "$OUT" || fail "$(cat "$OUT")"
grep -qE "^pass balances +USDT free 10000 covers the first allocation 500" "$OUT" ||
    fail "$(cat "$OUT")"
grep -qE "^pass build_pinned .*both match their pins" "$OUT" || fail "$(cat "$OUT")"
stdout_has "0 failed, 2 skipped"
grep -q "$NODERR_XSIM_API_SECRET" "$OUT" "$ERR" && fail "the secret was printed"
expect_rc 0 "$NODERR" audit verify --db "$WORK/store.db"

check "metrics_endpoint: skipped without the key in paper mode, failed in live mode, failed on a taken port"
sed '/"metrics":/d' "$WORK/paper.json" >"$WORK/nometrics.json"
expect_rc 0 "$NODERR" preflight --config "$WORK/nometrics.json"
grep -qE "^skip metrics_endpoint +no \"metrics\" endpoint in the config" "$OUT" || fail "$(cat "$OUT")"
sed '/"metrics":/d' "$WORK/live.json" >"$WORK/live-nometrics.json"
expect_rc 1 "$NODERR" preflight --config "$WORK/live-nometrics.json"
grep -qE "^fail metrics_endpoint +no \"metrics\" endpoint in the config: a live session must" \
    "$OUT" || fail "$(cat "$OUT")"
sed "s/\"listen\": \"127.0.0.1:0\"/\"listen\": \"127.0.0.1:$REST\"/" "$WORK/paper.json" >"$WORK/taken.json"
expect_rc 1 "$NODERR" preflight --config "$WORK/taken.json"
grep -qE "^fail metrics_endpoint +metrics.listen 127.0.0.1:$REST: cannot listen" "$OUT" ||
    fail "$(cat "$OUT")"

check "live without pins: build_pinned fails, naming the hashes"
config "$WORK/live2.json" "" "" "" '{"mode": "live"}'
expect_rc 1 "$NODERR" preflight --config "$WORK/live2.json"
grep -qE "^fail build_pinned +live mode needs a pinned build" "$OUT" || fail "$(cat "$OUT")"
grep -qF "1 check(s) failed: build_pinned" "$ERR" || fail "stderr: $(cat "$ERR")"

check "a wrong pin fails build_pinned"
config "$WORK/pin.json" "" "" "" "{\"pin\": {\"build_sha256\": \"$(printf '0%.0s' $(seq 64))\"}}"
expect_rc 1 "$NODERR" preflight --config "$WORK/pin.json"
grep -qE "^fail build_pinned +the build changed" "$OUT" || fail "$(cat "$OUT")"

check "an unreachable venue: every check that needs it fails, naming venue_reachable"
config "$WORK/down.json" 9 "" "" '{"timeout_ms": 1000}'
expect_rc 1 "$NODERR" preflight --config "$WORK/down.json"
grep -qE "^fail venue_reachable +GET http://127.0.0.1:9/api/v3/ping" "$OUT" || fail "$(cat "$OUT")"
grep -qE "^ +fix: start the venue" "$OUT" || fail "no fix hint: $(cat "$OUT")"
WANT="5 check(s) failed: venue_reachable, clock_offset, exchange_info, feeds_fresh, rate_limits"
grep -qF "$WANT" "$ERR" || fail "stderr: $(cat "$ERR")"

check "max_drawdown 0.2 fails risk_limits alone"
config "$WORK/dd.json" "" '{"max_drawdown": 0.2, "max_position": 0.25, "daily_loss": 0.05}'
expect_rc 1 "$NODERR" preflight --config "$WORK/dd.json"
grep -qE "^fail risk_limits +risk.max_drawdown 20.00% is outside \(0, 15.00%\]" "$OUT" ||
    fail "$(cat "$OUT")"
grep -qF "1 check(s) failed: risk_limits" "$ERR" || fail "stderr: $(cat "$ERR")"

check "a store file that cannot be written fails store_audit alone"
# a read-only copy of the store; root writes through any mode, so as root the command runs as
# nobody (a paper config: no secret to read)
cp "$WORK/store.db" "$WORK/ro.db"
cp "$WORK/store.db.head" "$WORK/ro.db.head"
chmod 444 "$WORK/ro.db" "$WORK/ro.db.head"
config "$WORK/ro.json" "" "" "sqlite:$WORK/ro.db"
sed -i "s#\"$WORK/state\"#\"$WORK/ro-state\"#" "$WORK/ro.json"
AS=()
if [ "$(id -u)" -eq 0 ]; then
    AS=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
    chmod 755 "$WORK"
    chmod 644 "$WORK/ro.json"
    mkdir -m 777 "$WORK/ro-state"
fi
if [ "$(id -u)" -ne 0 ] || command -v setpriv >/dev/null; then
    expect_rc 1 "${AS[@]}" "$NODERR" preflight --config "$WORK/ro.json"
    grep -qE "^fail store_audit +cannot (open|write).*readonly database" "$OUT" ||
        fail "$(cat "$OUT")"
    grep -qF "1 check(s) failed: store_audit" "$ERR" || fail "stderr: $(cat "$ERR")"
else
    echo "root without setpriv: the read-only store check is skipped"
fi
chmod 700 "$WORK"
mkdir "$WORK/dir.db"
config "$WORK/dir.json" "" "" "sqlite:$WORK/dir.db"
expect_rc 1 "$NODERR" preflight --config "$WORK/dir.json"
grep -qE "^fail store_audit +cannot open" "$OUT" || fail "$(cat "$OUT")"

check "a secrets file with mode 0644 fails secrets (and balances, which needs the key) in live mode"
chmod 644 "$WORK/secrets"
config "$WORK/leak.json" "" "" "" '{"mode": "live"}'
expect_rc 1 "$NODERR" preflight --config "$WORK/leak.json"
grep -qE "^fail secrets +$WORK/secrets has mode 0644" "$OUT" || fail "$(cat "$OUT")"
grep -qE "^ +fix: chmod 600 the secrets file" "$OUT" || fail "$(cat "$OUT")"
grep -qF "check(s) failed: secrets, balances, build_pinned" "$ERR" || fail "stderr: $(cat "$ERR")"
chmod 600 "$WORK/secrets"

check "a feed that never speaks of the symbol fails feeds_fresh"
start_server other python3 "$(dirname "$0")/69_preflight_streams.py" ETHUSDT
sed "s#ws://127.0.0.1:$WS#ws://127.0.0.1:$PORT#" "$WORK/paper.json" >"$WORK/silent.json"
sed -i 's#"preflight": {}#"preflight": {"feed_within_ms": 300}#' "$WORK/silent.json"
expect_rc 1 "$NODERR" preflight --config "$WORK/silent.json"
grep -qE "^fail feeds_fresh +BTCUSDT: no trade or bookTicker within 300 ms" "$OUT" ||
    fail "$(cat "$OUT")"

FIX="$SHARED/fixtures/chainlink"
if [ -f "$FIX/eth_call_latestRoundData_ETH-USD_block_26103003.json" ]; then
    check "an oracle whose last round is older than its heartbeat fails oracle_fresh"
    python3 "$SOURCE_ROOT/tests/chainlink/rpc_replay.py" good "$WORK/rpc.port" "$FIX" \
        >"$WORK/rpc.log" 2>&1 &
    SERVER_PIDS+=($!)
    for _ in $(seq 100); do [ -s "$WORK/rpc.port" ] && break; sleep 0.05; done
    [ -s "$WORK/rpc.port" ] || fail "the JSON-RPC replay server did not start"
    config "$WORK/oracle.json" "" "" "" "{\"oracle\": {\"rpc_url\":
 \"http://127.0.0.1:$(cat "$WORK/rpc.port")\", \"feed\": \"ETH/USD\"}}"
    expect_rc 1 "$NODERR" preflight --config "$WORK/oracle.json"
    # the recorded round (block 26103003, 2026-10-02) is long past ETH/USD's 3600 s heartbeat
    WANT="^fail oracle_fresh +ETH/USD ETH / USD: stale_heartbeat, price [0-9]+\.[0-9]+, "
    WANT+="updated [0-9]+ s ago \(heartbeat 3600 s \+ 60 s\), refprice halt"
    grep -qE "$WANT" "$OUT" || fail "$(cat "$OUT")"
    grep -qF "1 check(s) failed: oracle_fresh" "$ERR" || fail "stderr: $(cat "$ERR")"
else
    echo "../shared/fixtures/chainlink absent: the oracle check skipped"
fi
echo "ok"
