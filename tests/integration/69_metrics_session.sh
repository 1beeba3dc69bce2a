#!/usr/bin/env bash
# 69_metrics_session.sh: Prometheus metrics of a paper session over `noderr exchange-sim
# --metrics` on 127.0.0.1 (docs/monitoring.md): the session writes its metrics_url into
# status.json, GET /metrics passes `promtool check metrics` (and so does exchange-sim's), the
# series cover orders, fills, latency, feeds and the store; then a real Prometheus scrapes both
# every second, the kill switch halts and flattens the session, and the values Prometheus
# returns through its HTTP API (/api/v1/query) equal `noderr status --json`. Skips (77) only when
# Debian's prometheus (prometheus, promtool) is not installed.
# Called as: 69_metrics_session.sh NODERR_BINARY DATA_DIR SHARED_DIR SOURCE_ROOT
source "$(dirname "$0")/lib.sh"

if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
    echo "prometheus or promtool not installed (Debian package prometheus): skipped"
    exit 77
fi
export NODERR_XSIM_API_KEY=metrics-test-key NODERR_XSIM_API_SECRET="metrics-test-secret-$$"

# get URL FILE: the body of a GET into FILE (python: no curl needed).
get() {
    python3 - "$1" "$2" <<'PY' || fail "GET $1"
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
    assert r.status == 200, r.status
    ctype = r.headers["Content-Type"]
    assert ctype.startswith("text/plain; version=0.0.4"), ctype
    open(sys.argv[2], "wb").write(r.read())
PY
}

check "a bad metrics key is a usage error naming it"
printf '{"name": "m", "venue": {"name": "binance"}, "symbol": "BTC/USDT",
 "strategies": [{"builtin": "quote_maker"}], "metrics": {"listen": "localhost:9464"}}' \
    >"$WORK/bad.json"
expect_usage_error "metrics.listen: 'localhost:9464': 'localhost' is not an IP address" \
    "$NODERR" paper --config "$WORK/bad.json"

check "exchange-sim --metrics and a paper session with a metrics endpoint"
printf 'admin-token-for-the-metrics-test-%s\n' "$$" >"$WORK/admin"
chmod 600 "$WORK/admin"
start_server xsim "$NODERR" exchange-sim --tick-ms 20 --seed 7 --metrics \
    --admin-token-file "$WORK/admin"
XPORT=$PORT
cat >"$WORK/paper.json" <<JSON
{"name": "m1", "state_dir": "$WORK/state",
 "venue": {"name": "binance", "rest_url": "http://127.0.0.1:$XPORT",
           "ws_url": "ws://127.0.0.1:$XPORT", "exchange_info": true},
 "symbol": "BTC/USDT", "strategies": [{"builtin": "quote_maker"}],
 "capital": {"cash": "10000", "sizing_percent": 0.1},
 "risk": {"max_drawdown": 0.15, "max_position": 0.25, "daily_loss": 0.05},
 "store": {"url": "sqlite:$WORK/m1.db"},
 "metrics": {"listen": "127.0.0.1:0"}}
JSON
"$NODERR" paper --config "$WORK/paper.json" >"$WORK/paper.out" 2>"$WORK/paper.err" &
PAPER=$!
SERVER_PIDS+=("$PAPER")
wait_json "$WORK/state/status.json" 'd["orders"]["fills"] >= 2 and "metrics_url" in d'
URL=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["metrics_url"])' \
    "$WORK/state/status.json")
[[ "$URL" =~ ^http://127\.0\.0\.1:([0-9]+)/metrics$ ]] || fail "metrics_url $URL"
MPORT=${BASH_REMATCH[1]}
expect_rc 0 "$NODERR" status --state-dir "$WORK/state"
stdout_has "metrics: $URL"

check "GET /metrics passes promtool check metrics, for the session and for exchange-sim"
get "$URL" "$WORK/session.prom"
promtool check metrics <"$WORK/session.prom" >"$OUT" 2>&1 || fail "promtool: $(cat "$OUT")"
get "http://127.0.0.1:$XPORT/metrics" "$WORK/xsim.prom"
promtool check metrics <"$WORK/xsim.prom" >"$OUT" 2>&1 || fail "promtool: $(cat "$OUT")"

check "every metric the Grafana dashboard queries is in these scrapes (the launcher's: 69_launch)"
python3 "$SOURCE_ROOT/tests/integration/grafana_check.py" metrics \
    "$SOURCE_ROOT/deploy/grafana/noderr-dashboard.json" session "$WORK/session.prom" \
    "$WORK/xsim.prom" >"$OUT" 2>&1 || fail "grafana_check: $(cat "$OUT")"
python3 - "$WORK/session.prom" "$WORK/xsim.prom" <<'PY' || fail "metric contents"
import re, sys
def load(path):
    v = {}
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        name, value = line.rsplit(" ", 1)
        v[name] = float(value)
    return v
s, x = load(sys.argv[1]), load(sys.argv[2])
assert s['noderr_session_info{session="m1",mode="paper",venue="binance"}'] == 1
assert s['noderr_orders_total{event="submitted"}'] >= 2
assert s["noderr_fills_total"] >= 2
assert s["noderr_tick_to_order_seconds_count"] >= 1, "no tick-to-order observation"
assert s['noderr_tick_to_order_seconds_bucket{le="+Inf"}'] == s["noderr_tick_to_order_seconds_count"]
assert s["noderr_store_write_seconds_count"] >= s["noderr_fills_total"], "store writes not timed"
assert s['noderr_feed_connected{venue="binance"}'] == 1
assert s['noderr_feed_age_seconds{venue="binance",asset="BTC/USDT"}'] < 5
assert s['noderr_order_rejects_total{reason="insufficient_funds"}'] >= 0
assert s['noderr_strategy_pnl_usd{strategy="quote_maker",component="net"}'] == s["noderr_pnl_usd"]
assert s["process_resident_memory_bytes"] > 1e6 and s["process_open_fds"] > 3
assert x["noderr_xsim_connections"] >= 2 and x["noderr_xsim_connections_total"] >= 2
assert x['noderr_xsim_ws_messages_total{direction="out"}'] > 10
assert 'noderr_xsim_faults_injected_total{fault="gap"}' in x
print("session series", len(s), "exchange-sim series", len(x))
PY

check "exchange-sim counts the faults it injects, by kind"
python3 - "http://127.0.0.1:$XPORT" "$(cat "$WORK/admin")" <<'PY' || fail "fault injection"
import sys, urllib.request
base, token = sys.argv[1], sys.argv[2]
# faults that leave the paper session's streams alone (it checks its trade ids for gaps)
for body in (b'{"fault": "skew", "ms": 0}', b'{"fault": "rate_limit", "ms": 1}',
             b'{"fault": "skew", "ms": 0}'):
    req = urllib.request.Request(base + "/admin/fault", data=body, method="POST",
                                 headers={"Authorization": "Bearer " + token})
    assert urllib.request.urlopen(req, timeout=5).status == 200
PY
get "http://127.0.0.1:$XPORT/metrics" "$WORK/xsim2.prom"
grep -qx 'noderr_xsim_faults_injected_total{fault="skew"} 2' "$WORK/xsim2.prom" || fail "skew count"
grep -qx 'noderr_xsim_faults_injected_total{fault="rate_limit"} 1' "$WORK/xsim2.prom" ||
    fail "rate_limit count"
grep -qx 'noderr_xsim_faults_injected_total{fault="stale"} 0' "$WORK/xsim2.prom" || fail "stale"

check "a GET changes nothing; other methods and paths are refused"
python3 - "$URL" <<'PY' || fail "methods"
import sys, urllib.request, urllib.error
url = sys.argv[1]
for method, path, want in (("POST", "/metrics", 405), ("GET", "/nothing", 404)):
    req = urllib.request.Request(url.replace("/metrics", path), method=method, data=b"" if method == "POST" else None)
    try:
        urllib.request.urlopen(req, timeout=5)
        raise SystemExit(f"{method} {path} answered 200")
    except urllib.error.HTTPError as e:
        assert e.code == want, (method, path, e.code)
PY

check "a real Prometheus scrapes both every second"
PPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$WORK/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: noderr
    static_configs:
      - targets: ['127.0.0.1:$MPORT']
  - job_name: noderr-exchange-sim
    static_configs:
      - targets: ['127.0.0.1:$XPORT']
YML
prometheus --config.file="$WORK/prometheus.yml" --web.listen-address="127.0.0.1:$PPORT" \
    --storage.tsdb.path="$WORK/tsdb" >"$WORK/prometheus.out" 2>&1 &
SERVER_PIDS+=($!)
# query PROMQL: the instant vector's values as JSON [[labels, value], ...] into $OUT
query() {
    python3 - "http://127.0.0.1:$PPORT" "$1" >"$OUT" <<'PY'
import json, sys, urllib.parse, urllib.request
url = sys.argv[1] + "/api/v1/query?" + urllib.parse.urlencode({"query": sys.argv[2]})
d = json.load(urllib.request.urlopen(url, timeout=5))
assert d["status"] == "success", d
print(json.dumps([[r["metric"], r["value"][1]] for r in d["data"]["result"]]))
PY
}
# wait_query PROMQL PYTHON: polls (about 30 s) until the condition on r (the query's result) holds
wait_query() {
    for _ in $(seq 150); do
        if query "$1" 2>/dev/null && python3 -c "import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" "$OUT"; then
            return 0
        fi
        sleep 0.2
    done
    fail "Prometheus never answered $1 with $2: $(cat "$OUT") $(tail -c 600 "$WORK/prometheus.out")"
}
wait_query 'up' 'len(r) == 2 and all(v == "1" for _, v in r)'
wait_query 'noderr_xsim_connections' 'len(r) == 1 and float(r[0][1]) >= 2'

check "kill switch: the session halts and goes flat; Prometheus then returns what status says"
expect_rc 0 "$NODERR" kill --state-dir "$WORK/state"
wait_json "$WORK/state/status.json" 'd["risk"]["kill_switch"] and not d["open_orders"] and all(float(p["qty"]) == 0 for p in d["positions"])'
sleep 1.5 # a status period and a scrape after the last change
wait_query 'noderr_kill_switch' 'len(r) == 1 and r[0][1] == "1"'
wait_query 'noderr_open_orders' 'len(r) == 1 and r[0][1] == "0"'
sleep 2.5 # more scrapes at the final values
expect_rc 0 "$NODERR" status --state-dir "$WORK/state" --json
cp "$OUT" "$WORK/status.json"
for q in noderr_equity_usd noderr_cash_usd noderr_fees_usd_total noderr_fills_total \
    noderr_breaker_trips_total noderr_halted noderr_kill_switch noderr_position \
    'noderr_breaker_tripped{breaker="kill_switch"}' 'noderr_feed_connected'; do
    query "$q" || fail "query $q"
    python3 - "$WORK/status.json" "$OUT" "$q" <<'PY' || fail "Prometheus $q differs from status"
import json, sys
st, r, q = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
assert len(r) == 1, (q, r)
got = float(r[0][1])
want = {
    "noderr_equity_usd": lambda: float(st["account"]["equity"]),
    "noderr_cash_usd": lambda: float(st["account"]["cash"]),
    "noderr_fees_usd_total": lambda: float(st["account"]["fees"]),
    "noderr_fills_total": lambda: st["orders"]["fills"],
    "noderr_breaker_trips_total": lambda: st["risk"]["trips"],
    "noderr_halted": lambda: 1 if st["risk"]["halted"] else 0,
    "noderr_kill_switch": lambda: 1 if st["risk"]["kill_switch"] else 0,
    "noderr_position": lambda: float(st["positions"][0]["qty"]),
    'noderr_breaker_tripped{breaker="kill_switch"}': lambda: 1 if st["risk"]["halt_kind"] == "kill_switch" else 0,
    "noderr_feed_connected": lambda: 1 if st["feed"]["state"] == "connected" else 0,
}[q]()
assert abs(got - float(want)) <= 1e-8 * max(1.0, abs(float(want))), (q, got, want)
print(f"{q}: Prometheus {got} == status {want}")
PY
done
kill -TERM "$PAPER"
wait "$PAPER" || fail "the session did not stop cleanly: $(tail -c 600 "$WORK/paper.err")"
echo "ok"
