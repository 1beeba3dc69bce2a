#!/usr/bin/env bash
# 69_launch.sh: `noderr launch` over `noderr exchange-sim` on 127.0.0.1: a bad "launch" key
# exits 2 naming it; a failed preflight check refuses to trade (exit 1, nothing started); a
# paper launch runs preflight, starts its modules, trades within 5 s, checks health on its
# schedule and shows the modules in status; a feed that goes stale (exchange-sim's fault) fails
# the feed module, pauses the strategies (nothing of theirs left working) and is reconnected
# by the supervisor; when the market comes back everything is up and trading again; every
# change is in the store's verified audit chain; SIGTERM stops it cleanly. The capital ramp sets
# the strategy's weight from its first share and climbs its schedule; a breaker trip (the kill
# switch) makes the rollback guard put the pipeline's previous version back into the slot and
# cut the slot's ramp, recorded in the store and in the pipeline. A time-lapse rehearsal runs 30
# days of ramp with the allocation in seconds, every step checked from the audit chain; the
# dashboard's promote and roll back act through the pipeline; a live launch (preflight in live
# mode, pinned) sends real orders and leaves none open after SIGTERM.
# Called as: 69_launch.sh NODERR_BINARY DATA_DIR SHARED_DIR SOURCE_ROOT
source "$(dirname "$0")/lib.sh"

export NODERR_XSIM_API_KEY=launch-key NODERR_XSIM_API_SECRET="launch-secret-$$"
printf 'admin-token-for-the-launch-test-%s\n' "$$" >"$WORK/admin"
chmod 600 "$WORK/admin"
start_server xsim "$NODERR" exchange-sim --tick-ms 20 --seed 7 --admin-token-file "$WORK/admin"

# config FILE NAME RISK_JSON LAUNCH_JSON
config() {
    cat >"$1" <<EOF2
{"name": "$2", "state_dir": "$WORK/state-$2",
 "venue": {"name": "binance", "rest_url": "http://127.0.0.1:$PORT",
           "ws_url": "ws://127.0.0.1:$PORT"},
 "symbol": "BTC/USDT", "strategies": [{"builtin": "quote_maker"}],
 "capital": {"cash": "10000", "sizing_percent": 0.1},
 "risk": $3,
 "store": {"url": "sqlite:$WORK/$2.db"},
 "log": {"level": "info"},
 "launch": $4}
EOF2
}
RISK='{"max_drawdown": 0.12, "max_position": 0.25, "daily_loss": 0.05}'
FAST='{"health_every_ms": 300, "feed_stale_ms": 1000, "restart_backoff_ms": 100}'

check "bad launch keys exit 2 naming the key"
config "$WORK/bad.json" bad "$RISK" '{"health_every_ms": 5}'
expect_usage_error "launch.health_every_ms: 5 is outside" "$NODERR" launch --config "$WORK/bad.json"
config "$WORK/bad.json" bad "$RISK" '{"helth_every_ms": 500}'
expect_usage_error "launch.helth_every_ms: unknown key" "$NODERR" launch --config "$WORK/bad.json"
config "$WORK/bad.json" bad "$RISK" '{"time_lapse": 0}'
expect_usage_error "launch.time_lapse: 0 is outside" "$NODERR" launch --config "$WORK/bad.json"
expect_usage_error "give --config FILE" "$NODERR" launch

check "a failed preflight check refuses to trade"
config "$WORK/risky.json" risky '{"max_drawdown": 0.2}' "$FAST"
expect_rc 1 "$NODERR" launch --config "$WORK/risky.json"
stdout_has "fail risk_limits"
grep -q "refusing to trade after a failed preflight" "$ERR" || fail "no refusal: $(cat "$ERR")"
[ ! -e "$WORK/state-risky/status.json" ] || fail "a refused launch started a session"
expect_rc 1 "$NODERR" launch --config "$WORK/risky.json" --json
grep -q "preflight failed (1 check(s)): risk_limits" "$ERR" || fail "json: $(cat "$ERR")"

check "a paper launch: preflight, modules up, first order within 5 s, health on schedule"
config "$WORK/l1.json" l1 "$RISK" "$FAST"
"$NODERR" launch --config "$WORK/l1.json" >"$WORK/l1.out" 2>"$WORK/l1.err" &
LAUNCH=$!
SERVER_PIDS+=("$LAUNCH")
S="$WORK/state-l1/status.json"
wait_json "$S" '(d["launch"]["health_checks"] >= 2 and d["launch"]["healthy"]
    and d["launch"]["first_order_ms"] is not None)'
grep -q "0 failed" "$WORK/l1.out" || fail "no preflight report: $(head -c 300 "$WORK/l1.out")"
pycheck "$S" 'L = d["launch"]
assert [m["name"] for m in L["modules"]] == ["host", "store", "refprice", "feed", "venue",
    "risk", "strategies", "monitoring"], L
assert all(m["state"] == "up" for m in L["modules"]), L
assert L["first_order_ms"] < 5000, L["first_order_ms"]
assert L["strategies_paused"] is False, L'
# the venue probe (GET /api/v3/time on a worker thread) is judged at the check after it
wait_json "$S" '"clock offset" in d["launch"]["modules"][4].get("check", "")'
expect_rc 0 "$NODERR" status --state-dir "$WORK/state-l1" --json
pycheck "$OUT" 'assert d["running"] and d["launch"]["modules"][3]["name"] == "feed", d'

check "a stale feed: the feed module fails, the strategies pause, the supervisor reconnects"
curl -sS -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $(cat "$WORK/admin")" \
    -d '{"fault":"stale","ms":2500}' "http://127.0.0.1:$PORT/admin/fault" >"$WORK/fault.code"
[ "$(cat "$WORK/fault.code")" = 200 ] || fail "admin fault: HTTP $(cat "$WORK/fault.code")"
T0=$(date +%s%N)
# MODS: the python expression naming the launch's modules by name.
MODS='{m["name"]: m for m in d["launch"]["modules"]}'
wait_json "$S" "(lambda M: M['feed']['state'] in ('failed', 'starting')
    and M['strategies']['state'] == 'blocked'
    and d['launch']['strategies_paused'] and len(d['open_orders']) == 0)($MODS)"
wait_json "$S" "(lambda M: M['feed']['restarts'] >= 1 and M['feed']['state'] == 'up'
    and M['strategies']['state'] == 'up' and not d['launch']['strategies_paused'])($MODS)"

T1=$(date +%s%N)
BACK_MS=$(((T1 - T0) / 1000000 - 2500))
echo "market back to modules up: ${BACK_MS} ms after the fault ended"
[ "$BACK_MS" -lt 2000 ] || fail "recovery took ${BACK_MS} ms after the fault ended"
SUB=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["orders"]["submitted"])' "$S")
wait_json "$S" "d['orders']['submitted'] > $SUB"
pycheck "$S" 'R = d["risk"]
assert not R["halted"], R'

check "SIGTERM stops the launch; the store holds every module change; the chain verifies"
kill -TERM "$LAUNCH"
wait "$LAUNCH" || fail "launch exited non-zero after SIGTERM: $(tail -5 "$WORK/l1.err")"
grep -q "paper session l1" "$WORK/l1.out" || fail "no summary: $(cat "$WORK/l1.out")"
grep -qE "event=module_state module=feed from=(up|degraded) to=failed" "$WORK/l1.err" ||
    fail "the feed failure was not logged"
expect_rc 0 "$NODERR" audit verify --db "$WORK/l1.db"
expect_rc 0 "$NODERR" audit export --db "$WORK/l1.db" --format json
# ... and the ramp's pause while health failed (the escaped note: event\":\"pause)
for want in '"launch_start"' '"module_state"' 'feed (up|degraded)->failed' \
    '"strategies_paused"' '"strategies_resumed"' 'feed (failed|starting)->up' \
    '"ramp"' 'event.{1,8}pause'; do
    grep -qE "$want" "$OUT" || fail "audit export lacks $want"
done

check "the ramp sets the weight; a breaker trip rolls back to the previous version with its share cut"
# config2 FILE MAX_ORDERS: one quote_maker version (max_orders tells the versions apart)
config2() {
    config "$1" l2 "$RISK" '{"health_every_ms": 300, "feed_stale_ms": 1000,
      "ramp": {"steps": [{"day": 0, "share": 0.1}, {"day": 0.00002, "share": 0.5}]}}'
    sed -i "s/{\"builtin\": \"quote_maker\"}/{\"builtin\": \"quote_maker\", \"params\": {\"max_orders\": $2}}/" "$1"
    sed -i 's/"log": {"level": "info"},/"log": {"level": "info"}, "metrics": {"listen": "127.0.0.1:0"}, "dashboard": {},/' "$1"
}
# scrape: the session's /metrics into $WORK/metrics.txt
scrape() {
    local url
    url=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["metrics_url"])' "$S")
    curl -sS "$url" >"$WORK/metrics.txt" || fail "cannot scrape $url"
}
config2 "$WORK/va.json" 1000
config2 "$WORK/vb.json" 2000
DB="sqlite:$WORK/l2.db"
for v in va vb; do
    expect_rc 0 "$NODERR" pipeline register --db "$DB" --config "$WORK/$v.json" --json
    ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["versions"][0]["id"])' "$OUT")
    expect_rc 0 "$NODERR" promote --db "$DB" --version "$ID" --to production --force \
        --operator ops --reason "the launch test's versions"
    eval "ID_$v=$ID"
done
[ "$ID_va" != "$ID_vb" ] || fail "the two versions have one id"
"$NODERR" launch --config "$WORK/vb.json" >"$WORK/l2.out" 2>"$WORK/l2.err" &
LAUNCH=$!
SERVER_PIDS+=("$LAUNCH")
S="$WORK/state-l2/status.json"
wait_json "$S" '(d["launch"]["capital"]["strategies"][0]["ramp_share"] == "0.5"
    and d["launch"]["capital"]["strategies"][0]["weight"] == "0.5")'
pycheck "$WORK/state-l2/launch-state.json" 'assert d["ramps"][0]["started"], d'
scrape
for want in 'noderr_module_up{module="feed"} 1' 'noderr_module_up{module="strategies"} 1' \
    "noderr_ramp_share_ratio{strategy=\"quote_maker\",version=\"$ID_vb\"} 0.5" \
    "noderr_pipeline_stage{strategy=\"quote_maker\",version=\"$ID_vb\",stage=\"production\"} 1"; do
    grep -qF "$want" "$WORK/metrics.txt" || fail "metrics lack $want: $(grep noderr_ramp "$WORK/metrics.txt")"
done
# the dashboard (on the metrics port) carries the launch: modules, ramps, versions
curl -sS "${url_base:=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["metrics_url"].rsplit("/", 1)[0])' "$S")}/api/snapshot" \
    >"$WORK/snapshot.json" || fail "no dashboard snapshot"
pycheck "$WORK/snapshot.json" "L = d['data']['launch']
assert [m['name'] for m in L['modules']][:3] == ['host', 'store', 'refprice'], L
M = {m['name']: m for m in L['modules']}
assert M['monitoring']['state'] == 'up' and 'serves' in M['monitoring'].get('check', ''), M
assert 'not configured' in M['refprice'].get('check', ''), M
assert L['capital']['strategies'][0]['version'] == '$ID_vb', L['capital']
T = d['data']['latency']['tick_to_order']
assert T['count'] >= 1 and T['p50_us'] is not None and T['p99_us'] >= T['p50_us'], T"
if command -v promtool >/dev/null; then
    promtool check metrics <"$WORK/metrics.txt" || fail "promtool check metrics failed"
fi
python3 "$SOURCE_ROOT/tests/integration/grafana_check.py" metrics \
    "$SOURCE_ROOT/deploy/grafana/noderr-dashboard.json" launch "$WORK/metrics.txt" ||
    fail "the Grafana dashboard queries a launcher metric the launch does not export"
grep -q 'event=ramp detail={"at"' "$WORK/l2.err" || fail "no ramp event logged"
expect_rc 0 "$NODERR" kill --state-dir "$WORK/state-l2"
wait_json "$S" 'd["launch"]["capital"]["rollbacks"] == 1'
sleep 0.5 # the next health check re-labels the slot's series
scrape
grep -qF "noderr_pipeline_stage{strategy=\"quote_maker\",version=\"$ID_va\",stage=\"production\"} 1" \
    "$WORK/metrics.txt" || fail "the rolled-back-to version is not in the metrics"
grep -qF "noderr_ramp_share_ratio{strategy=\"quote_maker\",version=\"$ID_vb\"} 0" \
    "$WORK/metrics.txt" || fail "the rolled-back version still has a share"
kill -TERM "$LAUNCH"
wait "$LAUNCH" || fail "launch l2 exited non-zero: $(tail -3 "$WORK/l2.err")"
expect_rc 0 "$NODERR" pipeline --db "$DB" --json
pycheck "$OUT" "S = {v['id']: v['stage'] for v in d['versions']}
assert S['$ID_va'] == 'production' and S['$ID_vb'] == 'dev', S"
expect_rc 0 "$NODERR" audit verify --db "$WORK/l2.db"
expect_rc 0 "$NODERR" audit export --db "$WORK/l2.db" --format json
# the records' notes are JSON text inside the export's JSON: quotes come escaped
for want in '"rollback"' "to_version.{1,8}$ID_va" 'trigger.{1,8}breaker' 'event.{1,8}cut' \
    'share_after.{1,8}0\.1[^0-9]'; do
    grep -qE "$want" "$OUT" || fail "audit export lacks $want"
done

check "time-lapse rehearsal: 30 days of ramp in seconds, the allocation checked at every rebalance"
# Two quote_maker slots; the capital control's clock runs 300,000 times faster (a 100 ms health
# check is 8 h 20 min of ramp); allocation by inverse volatility with 2 days of history.
cat >"$WORK/tl.json" <<EOF2
{"name": "tl", "state_dir": "$WORK/state-tl",
 "venue": {"name": "binance", "rest_url": "http://127.0.0.1:$PORT", "ws_url": "ws://127.0.0.1:$PORT"},
 "symbol": "BTC/USDT",
 "strategies": [{"builtin": "quote_maker", "weight": 0.5},
                {"builtin": "quote_maker", "weight": 0.5, "params": {"max_orders": 999}}],
 "capital": {"cash": "10000", "sizing_percent": 0.1},
 "risk": $RISK,
 "store": {"url": "sqlite:$WORK/tl.db"}, "log": {"level": "info"},
 "launch": {"health_every_ms": 100, "feed_stale_ms": 1000, "time_lapse": 300000,
            "ramp": {"gap_max_s": 86400, "resume_after_s": 0},
            "allocation": {"min_history_days": 2, "window_days": 10, "max": 0.7, "turnover": 0.3},
            "rollback": {"drawdown": 0.5, "drawdown_pause": 0.4, "errors_max": 1024,
                         "errors_pause": 1000, "health_failures": 1000}}}
EOF2
"$NODERR" launch --config "$WORK/tl.json" >"$WORK/tl.out" 2>"$WORK/tl.err" &
LAUNCH=$!
SERVER_PIDS+=("$LAUNCH")
S="$WORK/state-tl/status.json"
wait_json "$S" 'all(s["ramp_share"] == "1" for s in d["launch"]["capital"]["strategies"])'
kill -TERM "$LAUNCH"
wait "$LAUNCH" || fail "launch tl exited non-zero: $(tail -3 "$WORK/tl.err")"
expect_rc 0 "$NODERR" audit verify --db "$WORK/tl.db"
expect_rc 0 "$NODERR" audit export --db "$WORK/tl.db" --format json
pycheck "$OUT" '
import json
recs = d if isinstance(d, list) else d.get("records", d)
notes = [(r.get("event") or r.get("action"), r.get("note") or r.get("reason") or "") for r in recs]
ramps = [json.loads(n) for a, n in notes if a == "ramp"]
allocs = [json.loads(n) for a, n in notes if a == "allocation"]
E6 = 1000000
def e6(x): return round(float(x) * E6)
# the default schedule: 5% + 95% x (whole days of progress) / 30, floored to millionths
for slot in (0, 1):
    adv = [r for r in ramps if r.get("strategy") == slot and r["event"] == "advance"]
    assert len(adv) >= 29, (slot, len(adv))
    prev = 0
    for r in adv:
        after, prog = e6(r["share_after"]), int(r["progress_s"])
        want = min(E6, 50000 + 950000 * min(prog // 86400, 30) // 30)
        assert after == want and after >= prev, (r, want)
        prev = after
    assert prev == E6, prev
assert len(allocs) >= 25, len(allocs)
for a in allocs:
    new = [e6(s["new"]) for s in a["strategies"]]
    old = [e6(s["old"]) for s in a["strategies"]]
    assert sum(new) <= E6 and all(0 <= w <= 700000 for w in new), a
    if not a["at_once"]:
        assert sum(abs(n - o) for n, o in zip(new, old)) <= 300000 + 2, a
print(len(ramps), "ramp events,", len(allocs), "rebalances checked")'

check "the dashboard's promote and roll back go through the launch's pipeline"
# After the rollback above, version A runs in production and B is in dev; B goes to canary by
# hand, then the page's promote puts it into the slot (canary_days 0) and roll back restores A.
sed 's/"name": "l2"/"name": "l3"/; s/state-l2/state-l3/; s/"launch": {/"launch": {"pipeline": {"canary_days": 0}, /' \
    "$WORK/va.json" >"$WORK/l3.json"
expect_rc 0 "$NODERR" promote --db "$DB" --version "$ID_vb" --to canary --force --operator ops \
    --reason "the dashboard test's canary"
"$NODERR" launch --config "$WORK/l3.json" >"$WORK/l3.out" 2>"$WORK/l3.err" &
LAUNCH=$!
SERVER_PIDS+=("$LAUNCH")
S="$WORK/state-l3/status.json"
wait_json "$S" '(d["launch"]["health_checks"] >= 1 and "dashboard_url" in d
    and d["launch"]["capital"]["strategies"][0]["version"] != "")'
pycheck "$S" "assert d['launch']['capital']['strategies'][0]['version'] == '$ID_va', d['launch']"
URL=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["dashboard_url"].rstrip("/"))' "$S")
TOKEN=$(cat "$WORK/state-l3/dashboard.token")
# post PATH BODY [AUTH]: the HTTP status of a control, the answer in $WORK/answer
post() {
    curl -s -o "$WORK/answer" -w '%{http_code}' -X POST ${3:+-H "Authorization: Bearer $3"} \
        -H 'Content-Type: application/json' -d "$2" "$URL$1"
}
[ "$(post /api/promote '{"strategy": "quote_maker"}')" = 401 ] || fail "promote without a token"
code=$(post /api/promote '{"strategy": "quote_maker"}' "$TOKEN")
[ "$code" = 200 ] || fail "promote: HTTP $code $(cat "$WORK/answer")"
wait_json "$S" "d['launch']['capital']['strategies'][0]['version'] == '$ID_vb'"
code=$(post /api/rollback '{"strategy": "quote_maker"}' "$TOKEN")
[ "$code" = 200 ] || fail "rollback: HTTP $code $(cat "$WORK/answer")"
wait_json "$S" "d['launch']['capital']['strategies'][0]['version'] == '$ID_va'"
[ "$(post /api/promote '{"strategy": "quote_maker"}' "$TOKEN")" = 409 ] ||
    fail "a second promote with no canary left: $(cat "$WORK/answer")"
kill -TERM "$LAUNCH"
wait "$LAUNCH" || fail "launch l3 exited non-zero: $(tail -3 "$WORK/l3.err")"
expect_rc 0 "$NODERR" pipeline --db "$DB" --json
pycheck "$OUT" "S = {v['id']: v['stage'] for v in d['versions']}
assert S['$ID_va'] == 'production' and S['$ID_vb'] == 'dev', S"
expect_rc 0 "$NODERR" audit verify --db "$WORK/l2.db"
expect_rc 0 "$NODERR" audit export --db "$WORK/l2.db" --format json
for want in '"promotion"' 'dashboard:[0-9a-f]{8}@127\.0\.0\.1' 'rolled back by hand'; do
    grep -qE "$want" "$OUT" || fail "audit export lacks $want"
done

check "the pipeline is the authority: a config naming a rolled-back version runs production's"
sed 's/"name": "l2"/"name": "l4"/; s/state-l2/state-l4/' "$WORK/vb.json" >"$WORK/l4.json"
"$NODERR" launch --config "$WORK/l4.json" >"$WORK/l4.out" 2>"$WORK/l4.err" &
LAUNCH=$!
SERVER_PIDS+=("$LAUNCH")
S="$WORK/state-l4/status.json"
wait_json "$S" "(d['launch']['health_checks'] >= 1
    and d['launch']['capital']['strategies'][0]['version'] == '$ID_va')"
grep -q "event=adopt_version" "$WORK/l4.err" || fail "the production version was not adopted"
# by hand, from the command line, while the launch runs: it is the store's one writer, so the
# commands ask it (--state-dir: a request and SIGUSR2) and it acts in its slot at once
expect_usage_error "not both" "$NODERR" rollback --db "$DB" --state-dir "$WORK/state-l4" \
    --strategy quote_maker --reason x
expect_rc 1 "$NODERR" promote --state-dir "$WORK/state-l4" --version "$ID_vb"
stdout_has "is dev: a running launch promotes a canary version into production only"
expect_rc 1 "$NODERR" rollback --state-dir "$WORK/state-l4" --strategy quote_maker --reason back
stdout_has "no previous version to roll back to; paused instead"
pycheck "$S" 'assert d["launch"]["capital"]["strategies"][0]["paused"], d["launch"]["capital"]'
expect_rc 1 "$NODERR" rollback --state-dir "$WORK/state-nobody" --strategy quote_maker --reason x
kill -TERM "$LAUNCH"
wait "$LAUNCH" || fail "launch l4 exited non-zero: $(tail -3 "$WORK/l4.err")"


check "a live launch over exchange-sim: preflight in live mode, real orders, SIGTERM leaves none open"
printf 'api_key=%s\napi_secret=%s\n' "$NODERR_XSIM_API_KEY" "$NODERR_XSIM_API_SECRET" >"$WORK/secrets"
chmod 600 "$WORK/secrets"
# live PREFLIGHT_JSON: the live launch's config
live() {
    cat >"$WORK/lv.json" <<EOF2
{"name": "lv", "state_dir": "$WORK/state-lv",
 "venue": {"name": "binance", "rest_url": "http://127.0.0.1:$PORT", "ws_url": "ws://127.0.0.1:$PORT",
           "secrets_file": "$WORK/secrets"},
 "symbol": "BTC/USDT",
 "strategies": [{"lua": "$DATA/trade_through.lua", "params": {"gap": 2000000, "qty": 50000, "lot": 1000}}],
 "capital": {"cash": "5000"}, "risk": $RISK,
 "store": {"url": "sqlite:$WORK/lv.db"}, "compliance": {"profile": "EU"},
 "metrics": {"listen": "127.0.0.1:0"}, "log": {"level": "info"},
 "launch": {"health_every_ms": 300, "feed_stale_ms": 2000, "shutdown": {"deadline_s": 10}},
 "preflight": $1}
EOF2
}
live '{"mode": "live", "first_allocation": "100"}'
expect_rc 1 "$NODERR" preflight --config "$WORK/lv.json" --json # not pinned yet
PINS=$(python3 -c 'import json,sys; d = json.load(open(sys.argv[1]))
print("\"config_sha256\": \"%s\", \"build_sha256\": \"%s\"" % (d["config_sha256"], d["build_sha256"]))' "$OUT")
live "{\"mode\": \"live\", \"first_allocation\": \"100\", \"pin\": {$PINS}}"
"$NODERR" launch --config "$WORK/lv.json" >"$WORK/lv.out" 2>"$WORK/lv.err" &
LAUNCH=$!
SERVER_PIDS+=("$LAUNCH")
S="$WORK/state-lv/status.json"
wait_json "$S" '(d["mode"] == "live" and d["orders"]["submitted"] >= 2
    and "clock offset" in d["launch"]["modules"][4].get("check", ""))'
grep -q "0 failed" "$WORK/lv.out" || fail "no live preflight: $(head -c 400 "$WORK/lv.out")"
pycheck "$S" 'M = {m["name"]: m for m in d["launch"]["modules"]}
assert all(m["state"] in ("up", "degraded") for m in M.values()), M
assert d["launch"]["capital"]["strategies"][0]["ramp_share"] == "0.05", d["launch"]["capital"]'
kill -TERM "$LAUNCH"
RC=0
wait "$LAUNCH" || RC=$?
[ "$RC" -eq 0 ] || fail "live launch exited $RC: $(grep -E "deadline|ERR|assert|noderr" "$WORK/lv.err" | tail -8)"
pycheck "$WORK/state-lv/shutdown.json" 'assert d["clean"] and d["working_left"] == 0, d'
grep -q "$NODERR_XSIM_API_SECRET" "$WORK/lv.out" "$WORK/lv.err" && fail "the secret was printed"
true
