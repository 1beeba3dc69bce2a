#!/usr/bin/env bash
# 69_launch_two_venues.sh: `noderr preflight` and `noderr launch` over a two-venue session
# ("venues": Binance Spot and Coinbase Advanced Trade) on two `noderr exchange-sim` processes on
# 127.0.0.1 (one `--venue binance`, one `--venue coinbase`), docs/launcher.md "Two venues":
#   - preflight: every check that asks the venue runs once per venue, named by venue in the
#     text and in --json; both venues pass; a venue that does not answer fails its checks,
#     named on stderr ("venue_reachable (coinbase)"), and a launch refuses to trade;
#   - launch (live, pinned): the feed, venue and strategies modules one per venue, every
#     module up and each venue usable, orders at both venues; `noderr shutdown` leaves nothing
#     open on either venue (asked of each with signed REST);
# A venue killed mid-run: 69_launch_venue_down.sh.
# Called as: 69_launch_two_venues.sh NODERR_BINARY DATA_DIR SHARED_DIR SOURCE_ROOT
source "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || { echo "curl missing: skipped"; exit 77; }
command -v openssl >/dev/null || { echo "openssl missing: skipped"; exit 77; }

source "$(dirname "$0")/two_venue_launch.sh"

# coinbase PATH: a signed Advanced Trade REST GET into $OUT.
coinbase() {
    local jwt
    jwt="$("$NODERR" sign --venue coinbase --key-name "$CKEY" --secrets-file "$WORK/key.pem" \
        --method GET --host "127.0.0.1:$CPORT" --path "/api/v3/brokerage${1%%\?*}")"
    curl -sf -o "$OUT" -H "Authorization: Bearer $jwt" \
        "http://127.0.0.1:$CPORT/api/v3/brokerage$1" || fail "GET $1"
}

PER_VENUE='["secrets", "venue_reachable", "clock_offset", "exchange_info", "balances",
            "feeds_fresh", "rate_limits"]'

check "preflight, paper: both venues pass each check that asks the venue, each named"
config "$WORK/p.json" p "$CPORT" '{"mode": "paper"}' ''
expect_rc 0 "$NODERR" preflight --config "$WORK/p.json"
for c in venue_reachable clock_offset exchange_info feeds_fresh rate_limits; do
    grep -qE "^pass $c +binance: " "$OUT" || fail "no binance line for $c: $(cat "$OUT")"
    grep -qE "^(pass|skip) $c +coinbase: " "$OUT" || fail "no coinbase line for $c: $(cat "$OUT")"
done
grep -qE "^skip rate_limits +coinbase: " "$OUT" || fail "coinbase rate_limits: $(cat "$OUT")"
grep -qE "^pass balances +paper: capital.cash" "$OUT" || fail "paper balances once: $(cat "$OUT")"
expect_rc 0 "$NODERR" preflight --config "$WORK/p.json" --json
pycheck "$OUT" 'C = {c["name"]: c for c in d["checks"]}
assert len(d["checks"]) == 17 and d["failed"] == 0, d
for n in ("venue_reachable", "clock_offset", "exchange_info", "feeds_fresh", "rate_limits"):
    v = C[n]["venues"]
    assert [x["venue"] for x in v] == ["binance", "coinbase"], (n, v)
    assert v[0]["status"] == "pass" and v[1]["status"] in ("pass", "skip"), (n, v)
    assert C[n]["reason"].startswith("binance: ") and "; coinbase: " in C[n]["reason"], C[n]
for n in ("config_valid", "risk_limits", "kill_switch", "balances", "secrets"):
    assert "venues" not in C[n], C[n]
assert "BTC-USD" in C["exchange_info"]["venues"][1]["reason"], C["exchange_info"]
assert "BTCUSDT" in C["exchange_info"]["venues"][0]["reason"], C["exchange_info"]'

check "preflight, live: an unpinned config fails only build_pinned; both venues' keys and balances pass"
HALT=', "venue_down_halt_ms": 3000'
config "$WORK/l.json" l "$CPORT" '{"mode": "live", "first_allocation": "100"}' "$HALT"
expect_rc 1 "$NODERR" preflight --config "$WORK/l.json" --json
pycheck "$OUT" 'C = {c["name"]: c for c in d["checks"]}
assert [c["name"] for c in d["checks"] if c["status"] == "fail"] == ["build_pinned"], d
for n in ("secrets", "balances"):
    assert [x["status"] for x in C[n]["venues"]] == ["pass", "pass"], C[n]
assert "USDT free" in C["balances"]["venues"][0]["reason"], C["balances"]
assert "USD" in C["balances"]["venues"][1]["reason"], C["balances"]'
PINS=$(python3 -c 'import json,sys; d = json.load(open(sys.argv[1]))
print("\"config_sha256\": \"%s\", \"build_sha256\": \"%s\"" % (d["config_sha256"], d["build_sha256"]))' "$OUT")
LIVE_PF="{\"mode\": \"live\", \"first_allocation\": \"100\", \"pin\": {$PINS}}"
config "$WORK/l.json" l "$CPORT" "$LIVE_PF" "$HALT"
expect_rc 0 "$NODERR" preflight --config "$WORK/l.json"

check "preflight: a venue that does not answer fails its checks, named; a launch refuses to trade"
DEAD=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
config "$WORK/d.json" d "$DEAD" '{"mode": "paper", "timeout_ms": 500}' ''
expect_rc 1 "$NODERR" preflight --config "$WORK/d.json"
grep -qE "^pass venue_reachable +binance: " "$OUT" || fail "binance: $(cat "$OUT")"
grep -qE "^fail venue_reachable +coinbase: " "$OUT" || fail "coinbase: $(cat "$OUT")"
grep -qE "^fail feeds_fresh +coinbase: not measured" "$OUT" || fail "feeds: $(cat "$OUT")"
grep -qE "^pass feeds_fresh +binance: " "$OUT" || fail "binance feeds: $(cat "$OUT")"
grep -q "check(s) failed: venue_reachable (coinbase), clock_offset (coinbase), exchange_info (coinbase)" "$ERR" ||
    fail "stderr does not name the venue: $(cat "$ERR")"
expect_rc 1 "$NODERR" preflight --config "$WORK/d.json" --json
pycheck "$OUT" 'C = {c["name"]: c for c in d["checks"]}
v = C["venue_reachable"]
assert v["status"] == "fail" and [x["status"] for x in v["venues"]] == ["pass", "fail"], v
assert v["hint"].startswith("coinbase: "), v'
expect_rc 1 "$NODERR" launch --config "$WORK/d.json"
grep -q "venue_reachable (coinbase)" "$ERR" || fail "launch: $(cat "$ERR")"
[ ! -e "$WORK/state-d/status.json" ] || fail "a refused launch started a session"

check "a live launch on both venues: modules per venue up, orders at both"
"$NODERR" launch --config "$WORK/l.json" >"$WORK/l.out" 2>"$WORK/l.err" &
LAUNCH=$!
SERVER_PIDS+=("$LAUNCH")
S="$WORK/state-l/status.json"
wait_json "$S" '(d["mode"] == "live" and d["launch"]["health_checks"] >= 3
    and all(x["pnl"]["fees"] != "0" for x in d["venues"])
    and all(v["usable"] and v["action"] == "trade" for v in d["launch"]["venues"]))'
pycheck "$S" 'M = {m["name"]: m for m in d["launch"]["modules"]}
names = [m["name"] for m in d["launch"]["modules"]]
assert names == ["host", "store", "refprice", "feed.binance", "feed.coinbase", "venue.binance",
                 "venue.coinbase", "risk", "strategies.binance", "strategies.coinbase",
                 "monitoring"], names
assert all(m["state"] in ("up", "degraded") for m in M.values()), M
assert "clock offset" in M["venue.coinbase"]["check"] and "clock offset" in M["venue.binance"]["check"], M
assert [v["name"] for v in d["launch"]["venues"]] == ["binance", "coinbase"], d["launch"]["venues"]
assert d["launch"]["healthy"] and not d["launch"]["strategies_paused"], d["launch"]'
URL=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["metrics_url"])' "$S")
curl -sS -o "$WORK/l.prom" "$URL" || fail "GET $URL"
grep -qE '^noderr_module_up\{module="venue.coinbase"\} 1$' "$WORK/l.prom" ||
    fail "no per-venue module series: $(grep module_up "$WORK/l.prom")"

check "emergency shutdown of the launch: nothing open on either venue"
wait_json "$S" 'd["open_orders"]'
expect_rc 0 "$NODERR" shutdown --config "$WORK/l.json" --json
pycheck "$OUT" 'assert d["clean"] and d["working_left"] == 0, d
assert d["venue_open_orders"] == {"BTCUSDT": 0, "BTC-USD": 0}, d["venue_open_orders"]'
RC=0
wait "$LAUNCH" || RC=$?
[ "$RC" -eq 0 ] || fail "launch exited $RC: $(tail -5 "$WORK/l.err")"
binance /api/v3/openOrders symbol=BTCUSDT
pycheck "$OUT" 'assert d == [], d'
coinbase "/orders/historical/batch?product_id=BTC-USD&order_status=OPEN"
pycheck "$OUT" 'assert d["orders"] == [], d["orders"]'
grep -q "$BSECRET" "$WORK/l.out" "$WORK/l.err" && fail "a secret was printed"

echo "ok"
