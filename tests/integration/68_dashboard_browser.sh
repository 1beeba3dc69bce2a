#!/usr/bin/env bash
# 68_dashboard_browser.sh: the executive dashboard of a paper session over exchange-sim, driven
# in Debian's Chromium by playwright-core (tests/e2e/dashboard.mjs) at 1280 and 390 px: first
# render under 1 s, the numbers equal `noderr status --json`, fills on the page within 1 s, the
# WebSocket and controls refused from another origin, the kill switch refused without the token
# and engaged with it, pause and resume, reconnection. Then the store's audit chain holds every
# control action with who (the token's id) and from where, and verifies; the token file is 0600
# and never in the logs. Without a listen of its own the dashboard shares the metrics server;
# with a certificate it speaks TLS (the WebSocket's Origin must then be https). The first session
# also runs the post-trade surveillance (compliance.surveil_every_ms): quote_maker buying and
# selling within a minute is a wash-trading pattern under the US profile, and that alert is in
# the status, the snapshot, the page, the store and the Prometheus counter. Screenshots:
# BUILD/meson-logs/dashboard-artifacts. Skipped (77) only when chromium or node is missing
# (playwright-core is installed from web/package-lock.json).
source "$(dirname "$0")/lib.sh"

WEB="$SOURCE_ROOT/web"
CHROMIUM="$(command -v chromium || true)"
[ -n "$CHROMIUM" ] || { echo "SKIP: chromium is not installed (Debian package chromium)"; exit 77; }
command -v node >/dev/null 2>&1 || { echo "SKIP: node is not installed"; exit 77; }
if [ ! -f "$WEB/node_modules/playwright-core/package.json" ]; then
    echo "installing the pinned front-end packages: npm ci --prefix $WEB"
    (flock 9; [ -f "$WEB/node_modules/playwright-core/package.json" ] ||
        npm ci --prefix "$WEB" --no-audit --no-fund >&2) 9>/tmp/noderr-web-npm.lock ||
        fail "npm ci --prefix $WEB failed: playwright-core is pinned in web/package.json"
fi

BUILD_DIR="$(cd "$(dirname "$NODERR")/../.." && pwd)"
ARTIFACTS="$BUILD_DIR/meson-logs/dashboard-artifacts"
mkdir -p "$ARTIFACTS"
echo "artifacts (screenshots): $ARTIFACTS"

export NODERR_XSIM_API_KEY=dash-test-key NODERR_XSIM_API_SECRET="dash-test-secret-$$"
printf 'admin-token-for-the-dashboard-test-%s\n' "$$" >"$WORK/admin"
chmod 600 "$WORK/admin"
start_server xsim "$NODERR" exchange-sim --tick-ms 20 --seed 7 --admin-token-file "$WORK/admin"
XSIM_PORT=$PORT

# config FILE NAME DASHBOARD_JSON
config() {
    cat >"$1" <<JSON
{"name": "$2", "state_dir": "$WORK/state-$2",
 "venue": {"name": "binance", "rest_url": "http://127.0.0.1:$XSIM_PORT",
           "ws_url": "ws://127.0.0.1:$XSIM_PORT", "exchange_info": false},
 "symbol": "BTC/USDT",
 "capital": {"cash": "10000", "tick_size": "0.01", "lot_size": "0.00001", "min_notional": "5"},
 "risk": {"max_drawdown": 0.15, "max_position": 0.25, "daily_loss": 0.05},
 "strategies": [{"builtin": "quote_maker"}],
 "status_every_ms": 100,
 "store": {"url": "sqlite:$WORK/$2.db"},
 "dashboard": $3,
 "log": {"level": "info"}}
JSON
}

check "config errors name the key and why"
config "$WORK/bad.json" bad '{"listen": "127.0.0.1"}'
expect_usage_error "bad.json: dashboard.listen: '127.0.0.1' is not HOST:PORT" \
    "$NODERR" paper --config "$WORK/bad.json"
config "$WORK/bad.json" bad '{"listen": "127.0.0.1:0", "tls_cert": "c.pem"}'
expect_usage_error "dashboard.tls_key: TLS needs both tls_cert and tls_key" \
    "$NODERR" paper --config "$WORK/bad.json"
config "$WORK/bad.json" bad '{"lisen": "127.0.0.1:0"}'
expect_usage_error "dashboard.lisen: unknown key" "$NODERR" paper --config "$WORK/bad.json"

check "surveillance needs a profile and a store"
config "$WORK/bad.json" bad '{}'
sed -i 's|"dashboard": {}|"dashboard": {}, "compliance": {"surveil_every_ms": 500}|' "$WORK/bad.json"
expect_usage_error "bad.json: compliance.surveil_every_ms: needs compliance.profile and a store" \
    "$NODERR" paper --config "$WORK/bad.json"

check "a paper session serves its dashboard on 127.0.0.1; the token is created 0600"
config "$WORK/d1.json" d1 '{"listen": "127.0.0.1:0"}'
sed -i 's|"dashboard": {"listen": "127.0.0.1:0"}|&, "metrics": {"listen": "127.0.0.1:0"}, "compliance": {"profile": "US", "surveil_every_ms": 300}|' "$WORK/d1.json"
"$NODERR" paper --config "$WORK/d1.json" >"$WORK/d1.out" 2>"$WORK/d1.err" &
PAPER=$!
SERVER_PIDS+=("$PAPER")
wait_json "$WORK/state-d1/status.json" '"dashboard_url" in d and d["orders"]["fills"] > 0'
URL=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["dashboard_url"])' \
      "$WORK/state-d1/status.json")
[[ "$URL" =~ ^http://127\.0\.0\.1:[0-9]+$ ]] || fail "dashboard not on loopback: $URL"
TOKEN_FILE="$WORK/state-d1/dashboard.token"
[ "$(stat -c %a "$TOKEN_FILE")" = 600 ] || fail "token file mode $(stat -c %a "$TOKEN_FILE")"
TOKEN_ID=$(grep -o 'token_id=[0-9a-f]*' "$WORK/d1.err" | head -1 | cut -d= -f2)
[ -n "$TOKEN_ID" ] || fail "no token id logged"

check "the session's surveillance: an alert in the status, the snapshot and the metrics"
wait_json "$WORK/state-d1/status.json" 'd["compliance"]["alerts_by_rule"]["wash_trading"] >= 1'
pycheck "$WORK/state-d1/status.json" 'c = d["compliance"]
assert c["profile"] == "US" and c["scans"] >= 1 and c["scan_failures"] == 0, c
a = c["alerts"][0]
assert a["rule"] == "wash_trading" and a["jurisdiction"] == "US" and a["accounts"] == "d1", a
assert a["symbol"] == "BTC/USDT" and "beneficial owner" in a["detail"], a'
curl -sf "$URL/api/snapshot" >"$WORK/snap.json" || fail "GET /api/snapshot failed"
pycheck "$WORK/snap.json" 'assert d["data"]["compliance"]["alerts"][0]["rule"] == "wash_trading", d["data"].get("compliance")'
MURL=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["metrics_url"])' \
       "$WORK/state-d1/status.json")
curl -sf "$MURL" >"$WORK/d1.prom" || fail "GET $MURL failed"
grep -qE '^noderr_surveillance_alerts_total\{rule="wash_trading"\} [1-9]' "$WORK/d1.prom" ||
    fail "no wash_trading alert counted: $(grep surveillance "$WORK/d1.prom")"
grep -q '^noderr_surveillance_alerts_total{rule="layering"} 0$' "$WORK/d1.prom" ||
    fail "every rule's series is not there from the start"
grep -q 'event=surveillance_alert rule=wash_trading jurisdiction=US' "$WORK/d1.err" ||
    fail "the alert is not logged"

check "no state change by GET; the snapshot is read-only"
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/kill")
[ "$code" = 405 ] || fail "GET /api/kill: HTTP $code"
curl -sf "$URL/api/snapshot" >"$WORK/snap.json" || fail "GET /api/snapshot failed"
pycheck "$WORK/snap.json" 'assert d["type"] == "snapshot" and "dashboard" in d["data"], d.keys()
dd = d["data"]["dashboard"]
assert [s["name"] for s in dd["strategies"]] == ["quote_maker"], dd["strategies"]
assert {r["kind"] for r in dd["heatmap"]} == {"session", "strategy", "asset"}, dd["heatmap"]'

check "the browser test (playwright-core, Chromium)"
DASH_URL="$URL" TOKEN_FILE="$TOKEN_FILE" NODERR="$NODERR" STATE_DIR="$WORK/state-d1" \
    CHROMIUM="$CHROMIUM" ARTIFACTS="$ARTIFACTS" WEB_DIR="$WEB" \
    XSIM_URL="http://127.0.0.1:$XSIM_PORT" XSIM_ADMIN_TOKEN_FILE="$WORK/admin" \
    OTHER_ORIGIN_URL="http://127.0.0.1:$XSIM_PORT/api/v3/ping" \
    node "$SOURCE_ROOT/tests/e2e/dashboard.mjs" || fail "the browser test failed"

check "SIGTERM: a graceful stop; the audit chain holds every control with who and from where"
kill -TERM "$PAPER"
wait "$PAPER" || { cat "$WORK/d1.err" >&2; fail "paper exited non-zero"; }
grep -q "$(cat "$TOKEN_FILE")" "$WORK/d1.out" "$WORK/d1.err" && fail "the token was logged"
expect_rc 0 "$NODERR" audit verify --db "$WORK/d1.db"
expect_rc 0 "$NODERR" audit export --db "$WORK/d1.db" --format json
python3 - "$OUT" "$TOKEN_ID" <<'PY' || fail "the audit export lacks the dashboard's actions"
import json, sys
text = open(sys.argv[1]).read()
who = "dashboard:" + sys.argv[2]
for action in ("kill_switch", "strategy_pause", "strategy_resume", "surveillance_scan"):
    assert f'"{action}"' in text, action
assert '"wash_trading"' in text, "the surveillance alert is not in the store"
assert who in text, who
assert "peer=127.0.0.1" in text
PY

check "without a listen of its own the dashboard shares the session's metrics server"
config "$WORK/d2.json" d2 '{}'
sed -i 's|"dashboard": {}|"dashboard": {}, "metrics": {"listen": "127.0.0.1:0"}|' "$WORK/d2.json"
"$NODERR" paper --config "$WORK/d2.json" >"$WORK/d2.out" 2>"$WORK/d2.err" &
PAPER=$!
SERVER_PIDS+=("$PAPER")
wait_json "$WORK/state-d2/status.json" '"dashboard_url" in d and "metrics_url" in d'
pycheck "$WORK/state-d2/status.json" 'assert d["metrics_url"] == d["dashboard_url"] + "/metrics", d'
URL=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["dashboard_url"])' \
      "$WORK/state-d2/status.json")
curl -sf -o "$WORK/metrics.txt" "$URL/metrics" || fail "GET /metrics on the shared server failed"
grep -q '^# TYPE ' "$WORK/metrics.txt" || fail "no metrics on the shared server"
curl -sf -o "$WORK/page.html" "$URL/" || fail "GET / on the shared server failed"
grep -q 'Noderr dashboard' "$WORK/page.html" || fail "no page on the shared server"
kill -TERM "$PAPER"
wait "$PAPER" || { cat "$WORK/d2.err" >&2; fail "paper d2 exited non-zero"; }

check "with a certificate the dashboard speaks TLS: the page over HTTPS, the WebSocket's Origin is https"
if command -v openssl >/dev/null 2>&1; then
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/key.pem" -out "$WORK/cert.pem" \
        -days 1 -subj "/CN=127.0.0.1" >/dev/null 2>&1 || fail "openssl could not make a certificate"
    config "$WORK/d3.json" d3 "{\"listen\": \"127.0.0.1:0\", \"tls_cert\": \"$WORK/cert.pem\", \"tls_key\": \"$WORK/key.pem\"}"
    # libwebsockets 4.1 on a foreign libuv loop leaves its OpenSSL context's allocations at exit
    # (inside libcrypto, reached only with TLS on); LeakSanitizer is told about that one source.
    echo "leak:libcrypto.so" >"$WORK/lsan-tls.supp"
    LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$WORK/lsan-tls.supp" \
        "$NODERR" paper --config "$WORK/d3.json" >"$WORK/d3.out" 2>"$WORK/d3.err" &
    PAPER=$!
    SERVER_PIDS+=("$PAPER")
    wait_json "$WORK/state-d3/status.json" '"dashboard_url" in d'
    URL=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["dashboard_url"])' \
          "$WORK/state-d3/status.json")
    [[ "$URL" =~ ^https://127\.0\.0\.1:[0-9]+$ ]] || fail "not https: $URL"
    curl -sfk -o "$WORK/page-tls.html" "$URL/" || fail "GET / over HTTPS failed"
    grep -q 'Noderr dashboard' "$WORK/page-tls.html" || fail "no page over HTTPS"
    HOSTPORT=${URL#https://}
    ws_code() { # ORIGIN: the HTTP status of a WebSocket upgrade over TLS
        curl -sk --http1.1 -o /dev/null -w '%{http_code}' --max-time 2 -H "Connection: Upgrade" \
            -H "Upgrade: websocket" -H "Sec-WebSocket-Version: 13" \
            -H "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==" -H "Origin: $1" "$URL/ws" || true
    }
    [ "$(ws_code "https://$HOSTPORT")" = 101 ] || fail "the https origin's upgrade was refused"
    [ "$(ws_code "http://$HOSTPORT")" != 101 ] || fail "an http origin was accepted over TLS"
    code=$(curl -sk -o /dev/null -w '%{http_code}' -X POST "$URL/api/kill")
    [ "$code" = 401 ] || fail "kill without a token over TLS: HTTP $code"
    kill -TERM "$PAPER"
    wait "$PAPER" || { cat "$WORK/d3.err" >&2; fail "paper d3 exited non-zero"; }
else
    echo "no openssl command: the TLS check is skipped"
fi
echo "ok"
