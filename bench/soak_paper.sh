#!/usr/bin/env bash
# soak_paper.sh: a long `noderr paper` session over `noderr exchange-sim` replaying the shared
# BTCUSDT trades and bookTicker recordings with --loop at --speed 100 on 127.0.0.1 (issue 12's
# targets: memory flat over a long session, reconnect < 1 s, RSS with many symbols). A bench, not
# a test of the suite: it builds nothing, takes the binary, and prints figures and verdicts.
#
#   bench/soak_paper.sh NODERR [OPTION VALUE]...
#
#   --minutes M      soak length in wall minutes (default 3; 15 at --speed 100 = 25 h of market)
#   --speed X        exchange-sim's replay speed (default 100)
#   --strategy S     quote_maker (default), any built-in name, a .lua script or a .so plugin
#   --phases LIST    comma list of soak, reconnect, symbols, venues (default the first three)
#   --sample-s S     RSS and status sampling period in seconds (default 2)
#   --disconnects N  admin-API disconnects in the reconnect phase (default 10)
#   --symbols-s S    seconds each run of the symbols phase lasts (default 40)
#   --symbol-counts L  the symbols phase's runs: comma list of symbol counts, 1..20 (default
#                    1,10; 20 stands in for 2 venues x 10 symbols: a session has one venue)
#   --venue-symbols N  the venues phase: symbols configured on each of the two venues (default
#                    10: 2 venues x 10 symbols, issue 12's RSS target)
#   --soak-symbols N  symbols configured in the soak (default 1; above 1 as in the symbols phase)
#   --store S        the soak session's store: sqlite (default, audit-verified at the end) or none
#   --market-step-ms N  exchange-sim's --market-step-ms (default 100, its own default)
#   --shared DIR     the shared data (default: ../shared next to the source tree)
#   --work DIR       keep logs, samples and stores there (default: a temporary directory, removed)
#
# Phases (each starts its own exchange-sim and session; docs/soak.md says what they measure):
#   soak       RSS (VmRSS, VmHWM of /proc/PID/status) and status.json every --sample-s; at the end
#              the RSS growth from the first to the last quarter of the samples (bound below), no
#              bad message, no late event, not halted, exit 0 on SIGTERM, `audit verify` passes.
#   reconnect  {"fault":"disconnect"} N times; per disconnect: to the session's close notice, the
#              back-off it chose, the new connection, the first market event on it (the log's
#              clock stamps and status.json's last-event age, at --status 10 ms).
#   symbols    RSS of a session configured with 1 and with 10 symbols (one of them streams).
#   venues     RSS of one session on two venues ("venues": Binance over the replay, Coinbase
#              over a second exchange-sim's synthetic market), --venue-symbols on each, quote_maker
#              on each venue; a second run with Coinbase on its one streaming product (exchange-sim
#              serves one product and refuses a subscription naming others, so with 10 Coinbase
#              symbols only Binance streams).
# Exit 0 when every verdict holds, 1 otherwise, 2 for bad arguments, 0 with a message when the
# shared data is absent.
set -euo pipefail

usage() {
    sed -n '7,24p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

[ "$#" -ge 1 ] || usage
NODERR="$1"
shift
[ -x "$NODERR" ] || { echo "soak_paper: $NODERR is not an executable" >&2; exit 2; }
MINUTES=3 SPEED=100 STRATEGY=quote_maker PHASES=soak,reconnect,symbols SAMPLE_S=2
DISCONNECTS=10 SYMBOLS_S=40 SYMBOL_COUNTS=1,10 STEP_MS=100 SOAK_SYMBOLS=1 WORK="" KEEP=0 STORE=sqlite
VENUE_SYMBOLS=10
SHARED="$(cd "$(dirname "$0")/.." && pwd)/../shared"
while [ "$#" -gt 0 ]; do
    [ "$#" -ge 2 ] || usage
    case "$1" in
    --minutes) MINUTES="$2" ;;
    --speed) SPEED="$2" ;;
    --strategy) STRATEGY="$2" ;;
    --phases) PHASES="$2" ;;
    --sample-s) SAMPLE_S="$2" ;;
    --disconnects) DISCONNECTS="$2" ;;
    --symbols-s) SYMBOLS_S="$2" ;;
    --symbol-counts) SYMBOL_COUNTS="$2" ;;
    --venue-symbols) VENUE_SYMBOLS="$2" ;;
    --market-step-ms) STEP_MS="$2" ;;
    --store) STORE="$2" ;;
    --soak-symbols) SOAK_SYMBOLS="$2" ;;
    --shared) SHARED="$2" ;;
    --work) WORK="$2" KEEP=1 ;;
    *) usage ;;
    esac
    shift 2
done
[[ "$STORE" =~ ^(sqlite|none)$ ]] || usage
[[ "$SYMBOL_COUNTS" =~ ^([1-9]|1[0-9]|20)(,([1-9]|1[0-9]|20))*$ ]] || usage
[[ "$VENUE_SYMBOLS" =~ ^([1-9]|1[0-9])$ ]] || usage
[[ "$SOAK_SYMBOLS" =~ ^([1-9]|1[0-9]|20)$ ]] || usage
for n in "$MINUTES" "$SAMPLE_S" "$DISCONNECTS" "$SYMBOLS_S" "$STEP_MS"; do
    [[ "$n" =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "soak_paper: '$n' is not a number" >&2; exit 2; }
done

TRADES="$SHARED/data/BTCUSDT-trades-2021-01-08.csv"
QUOTES="$SHARED/data/BTCUSDT-bookticker-2021-01-08.csv"
if [ ! -r "$TRADES" ] || [ ! -r "$QUOTES" ]; then
    echo "soak_paper: skipped: $SHARED/data (the BTCUSDT trades and bookTicker recordings) is absent"
    exit 0
fi
case "$STRATEGY" in
*.lua) STRAT_JSON="{\"lua\": \"$(realpath "$STRATEGY")\"}" ;;
*.so | *.so:*) STRAT_JSON="{\"plugin\": \"$(realpath "${STRATEGY%%:*}")${STRATEGY#"${STRATEGY%%:*}"}\"}" ;;
*) STRAT_JSON="{\"builtin\": \"$STRATEGY\"}" ;;
esac

if [ -z "$WORK" ]; then WORK="$(mktemp -d)"; else mkdir -p "$WORK"; fi
WORK="$(realpath "$WORK")"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    [ "$KEEP" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT
export NODERR_XSIM_API_KEY=soak-key NODERR_XSIM_API_SECRET="soak-secret-$$-$RANDOM"
printf 'soak-admin-token-%s-%s\n' "$$" "$RANDOM" >"$WORK/admin"
chmod 600 "$WORK/admin"
VERDICT=0

# verdict OK|FAIL TEXT: prints one verdict line; a FAIL makes the script exit 1 at the end.
verdict() {
    echo "  [$1] $2"
    [ "$1" = ok ] || VERDICT=1
}

# start_xsim NAME: exchange-sim replaying the recordings with --loop at $SPEED; sets PORT, XSIM.
start_xsim() {
    "$NODERR" exchange-sim --replay-trades "$TRADES" --replay-quotes "$QUOTES" --loop \
        --speed "$SPEED" --market-step-ms "$STEP_MS" --admin-token-file "$WORK/admin" >"$WORK/$1.xsim.out" 2>"$WORK/$1.xsim.err" &
    XSIM=$!
    PIDS+=("$XSIM")
    for _ in $(seq 200); do
        grep -q '^listening on ' "$WORK/$1.xsim.out" 2>/dev/null && break
        sleep 0.05
    done
    local line
    line="$(head -n1 "$WORK/$1.xsim.out")"
    [[ "$line" =~ ^listening\ on\ 127\.0\.0\.1:([0-9]+)$ ]] || {
        echo "soak_paper: exchange-sim did not start: '$line'" >&2
        exit 1
    }
    PORT="${BASH_REMATCH[1]}"
}

# config NAME SYMBOLS_JSON EXTRA_JSON: a paper config against exchange-sim on $PORT; the rules
# are given (exchange_info false) so that symbols exchange-sim does not serve can be configured.
config() {
    cat >"$WORK/$1.json" <<EOF
{"name": "$1", "state_dir": "$WORK/state-$1",
 "venue": {"name": "binance", "rest_url": "http://127.0.0.1:$PORT",
           "ws_url": "ws://127.0.0.1:$PORT", "exchange_info": false},
 $2,
 "strategies": [$STRAT_JSON],
 "capital": {"cash": "10000", "sizing_percent": 0.25, "tick_size": "0.01",
             "lot_size": "0.00001", "min_notional": "5"},
 "risk": {"max_drawdown": 0.15, "max_position": 0.5, "daily_loss": 0.05},
 "log": {"level": "info"}$3}
EOF
}

# start_paper NAME: starts the session of $WORK/NAME.json; sets PAPER; waits for market events.
start_paper() {
    "$NODERR" paper --config "$WORK/$1.json" >"$WORK/$1.out" 2>"$WORK/$1.err" &
    PAPER=$!
    PIDS+=("$PAPER")
    for _ in $(seq 200); do
        python3 - "$WORK/state-$1/status.json" 2>/dev/null <<'EOF' && return 0
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if d["feed"]["trades"] + d["feed"]["quotes"] > 0 else 1)
EOF
        kill -0 "$PAPER" 2>/dev/null || break
        sleep 0.05
    done
    echo "soak_paper: session $1 saw no market event; its log:" >&2
    tail -n 20 "$WORK/$1.err" >&2
    exit 1
}

# stop_paper NAME: SIGTERM and the exit code (verdict), the summary line printed.
stop_paper() {
    kill -TERM "$PAPER"
    local rc=0
    wait "$PAPER" || rc=$?
    [ "$rc" -eq 0 ] && verdict ok "exit 0 after SIGTERM" ||
        verdict FAIL "exit $rc after SIGTERM: $(tail -n 3 "$WORK/$1.err")"
    sed 's/^/  /' "$WORK/$1.out"
}

# sample NAME PID: one CSV row: wall s, VmRSS kB, VmHWM kB, exchange-sim VmRSS kB, status fields.
sample() {
    python3 - "$WORK/state-$1/status.json" "$2" "$XSIM" "$(date +%s.%N)" <<'EOF'
import json, sys
def kb(pid, key):  # 0 once the process is gone
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return 0
d = json.load(open(sys.argv[1]))
f, o, r = d["feed"], d["orders"], d["risk"]
print(",".join(str(x) for x in [sys.argv[4], kb(sys.argv[2], "VmRSS"), kb(sys.argv[2], "VmHWM"),
      kb(sys.argv[3], "VmRSS"), f["trades"] + f["quotes"], f["trades"], f["quotes"], f["bad"],
      f["late"], f["connects"], o["submitted"], o["rejected"], o["fills"], int(r["halted"]),
      r.get("halt_kind", ""), d["engine_time"]]))
EOF
}

phase_soak() {
    echo "== soak: $MINUTES min at --speed $SPEED, strategy $STRATEGY, $SOAK_SYMBOLS symbol(s), sample every $SAMPLE_S s"
    start_xsim soak
    local store=""
    [ "$STORE" = none ] || store=", \"store\": {\"url\": \"sqlite:$WORK/soak.db\"}"
    if [ "$SOAK_SYMBOLS" = 1 ]; then
        config soak '"symbol": "BTC/USDT", "clock": "venue"' "$store, \"status_every_ms\": 500"
    else
        config soak "\"symbols\": [$(symbols_list "$SOAK_SYMBOLS")], \"clock\": \"venue\"" \
            "$store, \"status_every_ms\": 500, \"integrity\": {\"enabled\": false}"
    fi
    start_paper soak
    local csv="$WORK/soak.samples.csv" end
    echo "wall_s,rss_kb,hwm_kb,xsim_rss_kb,events,trades,quotes,bad,late,connects,submitted,rejected,fills,halted,halt_kind,engine_time" >"$csv"
    end=$(python3 -c "import time; print(time.time() + $MINUTES * 60)")
    while python3 -c "import sys, time; sys.exit(0 if time.time() < $end else 1)"; do
        kill -0 "$PAPER" 2>/dev/null && kill -0 "$XSIM" 2>/dev/null || break
        sample soak "$PAPER" >>"$csv" 2>/dev/null || true
        sleep "$SAMPLE_S"
    done
    if ! kill -0 "$PAPER" 2>/dev/null; then
        verdict FAIL "the session ended by itself: $(tail -n 3 "$WORK/soak.err")"
    elif ! kill -0 "$XSIM" 2>/dev/null; then
        local xrc=0
        wait "$XSIM" || xrc=$?
        verdict FAIL "exchange-sim ended during the soak: exit $xrc ($((xrc > 128 ? xrc - 128 : 0)): the signal, 13 SIGPIPE, 15 SIGTERM, 9 SIGKILL), stderr '$(tail -c 300 "$WORK/soak.xsim.err")'"
    else
        verdict ok "session and exchange-sim alive after $MINUTES min"
    fi
    sample soak "$PAPER" >>"$csv" 2>/dev/null || true
    local cache=0
    [ "$STORE" = none ] || cache=65536
    python3 - "$csv" "$cache" <<'EOF' || VERDICT=1
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
n = len(rows)
if n < 8:
    print(f"  [FAIL] only {n} samples: run longer"); sys.exit(1)
q = n // 4
first, last = rows[:q], rows[-q:]
med = lambda rs, k: statistics.median(int(r[k]) for r in rs)
r1, r4 = med(first, "rss_kb"), med(last, "rss_kb")
ev1, ev4 = med(first, "events"), med(last, "events")
wall = float(rows[-1]["wall_s"]) - float(rows[0]["wall_s"])
events = int(rows[-1]["events"]) - int(rows[0]["events"])
growth = r4 - r1
# The bounds. The session's own memory is allocated at start (pools, books, rings): 4 MiB between
# the first and last quarters' medians covers malloc arenas settling, while a leak of 8 bytes per
# market event would pass it within ~500,000 events (~100 s at --speed 100). With a store, SQLite's
# page cache (the store sets cache_size=-65536: 64 MiB) fills as the database grows, so the bound
# is 4 MiB + 64 MiB from first to last quarter, and 4 MiB within the last half (conclusive once
# the database is past 64 MiB: the cache is full).
cache = int(sys.argv[2])
bound = 4096 + cache
half = rows[n // 2:]
half_growth = med(rows[-q:], "rss_kb") - med(half[:q], "rss_kb")
per_event = growth * 1024 / (ev4 - ev1) if ev4 > ev1 else 0.0
print(f"  samples {n} over {wall:.0f} s; market events {events} ({events / wall:.0f}/s); "
      f"engine time {rows[0]['engine_time']} .. {rows[-1]['engine_time']}")
print(f"  RSS kB: first quarter median {r1:.0f}, last quarter median {r4:.0f}, growth {growth:+.0f} "
      f"({per_event:+.2f} bytes per event); min {min(int(r['rss_kb']) for r in rows)}, "
      f"max {max(int(r['rss_kb']) for r in rows)}, VmHWM {rows[-1]['hwm_kb']}; "
      f"exchange-sim RSS {rows[0]['xsim_rss_kb']} -> {rows[-1]['xsim_rss_kb']}")
o = rows[-1]
print(f"  orders submitted {o['submitted']}, rejected {o['rejected']}, fills {o['fills']}; "
      f"connects {o['connects']}")
ok = True
def v(good, text):
    global ok
    print(f"  [{'ok' if good else 'FAIL'}] {text}")
    ok = ok and good
v(growth <= bound, f"memory bounded: RSS growth {growth:+.0f} kB <= {bound} kB (first to last quarter)")
v(half_growth <= 4096, f"memory flat: RSS growth {half_growth:+.0f} kB <= 4096 kB within the last half")
v(all(r["bad"] == "0" for r in rows), f"no bad messages (last: {o['bad']})")
v(all(r["late"] == "0" for r in rows), f"no late events (last: {o['late']})")
v(all(r["halted"] == "0" for r in rows), f"never halted (last: {o['halted']} {o['halt_kind']})")
sys.exit(0 if ok else 1)
EOF
    stop_paper soak
    local out
    if [ "$STORE" = none ]; then
        echo "  (no store)"
    elif out="$("$NODERR" audit verify --db "$WORK/soak.db" 2>&1)"; then
        verdict ok "audit verify: ${out#noderr audit verify: }"
    else
        verdict FAIL "audit verify: $out"
    fi
    [ "$STORE" = none ] || echo "  store $(du -h "$WORK/soak.db" | cut -f1) (the page cache is full past 64 MiB)"
    kill -TERM "$XSIM" 2>/dev/null && wait "$XSIM" || true
}

phase_reconnect() {
    echo "== reconnect: $DISCONNECTS disconnects through the admin API at --speed $SPEED"
    start_xsim recon
    config recon '"symbol": "BTC/USDT", "clock": "venue"' ', "status_every_ms": 10'
    start_paper recon
    python3 - "$WORK/state-recon/status.json" "$WORK/recon.err" "$PORT" "$WORK/admin" \
        "$DISCONNECTS" <<'EOF' || VERDICT=1
import calendar, json, re, statistics, sys, time, urllib.request
status, log, port, admin, count = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
token = open(admin).read().strip()

def ts_ns(line):  # ts=2026-12-07T06:27:54.902646394Z: the session's clock
    m = re.match(r"ts=(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{9})Z", line)
    return calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")) * 10**9 + int(m.group(2))

def status_now():
    while True:
        try:
            return json.load(open(status))
        except (OSError, ValueError):
            time.sleep(0.002)

def log_after(t0, pattern):
    for line in open(log):
        if pattern in line and ts_ns(line) > t0:
            return line
    return None

rows = []
for i in range(count):
    time.sleep(1.5)
    c0 = status_now()["feed"]["connects"]
    t0 = time.time_ns()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/admin/fault", method="POST",
                                 data=b'{"fault":"disconnect"}',
                                 headers={"Authorization": "Bearer " + token})
    urllib.request.urlopen(req, timeout=5).read()
    t_event = None
    deadline = time.time() + 15
    while time.time() < deadline:
        d = status_now()
        f = d["feed"]
        if f["connects"] > c0:
            conn = log_after(t0, "event=venue_status code=0")
            last = d["updated_at_ns"] - f["age_ms"] * 10**6
            if conn and last >= ts_ns(conn):
                t_event = last
                break
        time.sleep(0.003)
    close = log_after(t0, "reconnect_in_ms=")
    if t_event is None or close is None:
        print(f"  [FAIL] disconnect {i + 1}: no market event on a new connection within 15 s")
        sys.exit(1)
    backoff = int(re.search(r"reconnect_in_ms=(\d+)", close).group(1))
    t_close, t_conn = ts_ns(close), ts_ns(log_after(t0, "event=venue_status code=0"))
    rows.append(((t_event - t0) / 1e6, (t_close - t0) / 1e6, backoff,
                 (t_conn - t_close) / 1e6 - backoff, (t_event - t_conn) / 1e6))
print("  disconnect -> first event (ms) = close notice + back-off + connect + first event")
for r in rows:
    print("  %8.1f = %6.1f + %4d + %6.1f + %6.1f" % r)
tot = [r[0] for r in rows]
print(f"  to the first event: median {statistics.median(tot):.0f} ms, min {min(tot):.0f}, "
      f"max {max(tot):.0f}; back-off median {statistics.median(r[2] for r in rows):.0f} ms")
good = max(tot) < 1000
print(f"  [{'ok' if good else 'FAIL'}] reconnect and resync < 1 s (max {max(tot):.0f} ms)")
sys.exit(0 if good else 1)
EOF
    stop_paper recon
    kill -TERM "$XSIM" && wait "$XSIM" || true
}

# symbols_run N: a session with N symbols (BTC/USDT, which streams, and N-1 that do not).
# symbols_list N: BTC/USDT and N-1 symbols exchange-sim does not serve, as a JSON list's items.
symbols_list() {
    local list='"BTC/USDT"' s
    for s in ETH BNB SOL XRP ADA DOGE LTC DOT LINK AVAX TRX ATOM UNI XLM ETC FIL NEAR APT ARB; do
        [ "$(grep -o / <<<"$list" | wc -l)" -lt "$1" ] && list="$list, \"$s/USDT\""
    done
    echo "$list"
}

symbols_run() {
    local list
    list="$(symbols_list "$1")"
    start_xsim "sym$1"
    # integrity off: the symbols exchange-sim does not serve would trip the stale-feed breaker
    config "sym$1" "\"symbols\": [$list], \"clock\": \"venue\"" ', "integrity": {"enabled": false}'
    start_paper "sym$1"
    local csv="$WORK/sym$1.samples.csv"
    : >"$csv"
    for _ in $(seq "$SYMBOLS_S"); do
        sample "sym$1" "$PAPER" >>"$csv" 2>/dev/null || true
        sleep 1
    done
    python3 - "$csv" "$1" <<'EOF'
import csv, statistics, sys
rows = list(csv.reader(open(sys.argv[1])))
if not rows:
    print(f"  {sys.argv[2]:>2} symbols: no sample"); sys.exit(0)
rss = [int(r[1]) for r in rows]
print(f"  {sys.argv[2]:>2} symbols: RSS median {statistics.median(rss[len(rss) // 2:]):.0f} kB "
      f"(last half), max {max(rss)} kB, VmHWM {rows[-1][2]} kB; events {rows[-1][4]}, "
      f"orders {rows[-1][10]}, fills {rows[-1][12]}")
EOF
    local hwm
    hwm=$(tail -n1 "$csv" | cut -d, -f3)
    if ! kill -0 "$XSIM" 2>/dev/null; then
        verdict FAIL "$1 symbols: exchange-sim ended during the run (a signal from outside?)"
    elif [ -z "$hwm" ] || [ "$hwm" -ge 102400 ]; then
        verdict FAIL "$1 symbols: VmHWM '$hwm' kB, not under 100 MB"
    else
        verdict ok "$1 symbols: VmHWM $hwm kB < 100 MB"
    fi
    stop_paper "sym$1"
    kill -TERM "$XSIM" && wait "$XSIM" || true
}

# venues_run NAME CB_SYMBOLS: one session on two venues, --venue-symbols on Binance (BTC/USDT
# streams from the replay) and CB_SYMBOLS on Coinbase (BTC/USD streams when it is the only one).
venues_run() {
    start_xsim "$1"
    local bport=$PORT cport cb blist clist hwm
    openssl ecparam -name prime256v1 -genkey -noout -out "$WORK/cb.pem" 2>/dev/null
    openssl ec -in "$WORK/cb.pem" -pubout -out "$WORK/cb.pub" 2>/dev/null
    NODERR_XSIM_API_KEY=soak-cb "$NODERR" exchange-sim --venue coinbase --public-key "$WORK/cb.pub" \
        --tick-ms 20 >"$WORK/$1.cb.out" 2>"$WORK/$1.cb.err" &
    cb=$!
    PIDS+=("$cb")
    for _ in $(seq 200); do
        grep -q '^listening on ' "$WORK/$1.cb.out" 2>/dev/null && break
        sleep 0.05
    done
    cport="$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$WORK/$1.cb.out")"
    [ -n "$cport" ] || { echo "soak_paper: coinbase exchange-sim did not start" >&2; exit 1; }
    blist="$(symbols_list "$VENUE_SYMBOLS")"
    clist="$(symbols_list "$2" | sed 's|/USDT|/USD|g')"
    cat >"$WORK/$1.json" <<EOF
{"name": "$1", "state_dir": "$WORK/state-$1",
 "venues": [
   {"name": "binance", "rest_url": "http://127.0.0.1:$bport", "ws_url": "ws://127.0.0.1:$bport",
    "exchange_info": false, "symbols": [$blist]},
   {"name": "coinbase", "rest_url": "http://127.0.0.1:$cport", "ws_url": "ws://127.0.0.1:$cport",
    "exchange_info": false, "symbols": [$clist]}],
 "strategies": [{"builtin": "quote_maker", "venue": "binance"},
                {"builtin": "quote_maker", "venue": "coinbase"}],
 "capital": {"cash": "10000", "sizing_percent": 0.25, "tick_size": "0.01",
             "lot_size": "0.00001", "min_notional": "5"},
 "risk": {"max_drawdown": 0.15, "max_position": 0.5, "daily_loss": 0.05},
 "integrity": {"enabled": false}, "log": {"level": "info"}}
EOF
    start_paper "$1"
    local csv="$WORK/$1.samples.csv"
    : >"$csv"
    for _ in $(seq "$SYMBOLS_S"); do
        sample "$1" "$PAPER" >>"$csv" 2>/dev/null || true
        sleep 1
    done
    python3 - "$csv" "$WORK/state-$1/status.json" "$VENUE_SYMBOLS" "$2" <<'EOF'
import csv, json, sys
rows = list(csv.reader(open(sys.argv[1])))
d = json.load(open(sys.argv[2]))
ages = ", ".join(f"{v['name']} {len(v['symbols'])} symbols last event "
                 f"{'never' if v['age_ms'] is None else str(v['age_ms']) + ' ms ago'}"
                 for v in d["venues"])
print(f"  binance {sys.argv[3]} + coinbase {sys.argv[4]} symbols: VmHWM {rows[-1][2]} kB, "
      f"VmRSS max {max(int(r[1]) for r in rows)} kB; events {rows[-1][4]}, "
      f"orders {rows[-1][10]}, fills {rows[-1][12]}; {ages}")
EOF
    hwm=$(tail -n1 "$csv" | cut -d, -f3)
    if [ -z "$hwm" ] || [ "$hwm" -ge 102400 ]; then
        verdict FAIL "$1: VmHWM '$hwm' kB, not under 100 MB"
    else
        verdict ok "$1: VmHWM $hwm kB < 100 MB"
    fi
    stop_paper "$1"
    kill -TERM "$XSIM" "$cb" && wait "$XSIM" "$cb" || true
}

phase_venues() {
    echo "== venues: RSS of one session on Binance and Coinbase, $SYMBOLS_S s each"
    venues_run venues "$VENUE_SYMBOLS"
    venues_run venues1 1
}

phase_symbols() {
    echo "== symbols: RSS with $SYMBOL_COUNTS configured symbols, $SYMBOLS_S s each (one streams)"
    local n counts
    IFS=, read -r -a counts <<<"$SYMBOL_COUNTS"
    for n in "${counts[@]}"; do symbols_run "$n"; done
}

echo "soak_paper: $("$NODERR" --version 2>/dev/null || echo noderr), work directory $WORK"
IFS=, read -r -a PHASE_LIST <<<"$PHASES"
for p in "${PHASE_LIST[@]}"; do
    case "$p" in
    soak) phase_soak ;;
    reconnect) phase_reconnect ;;
    symbols) phase_symbols ;;
    venues) phase_venues ;;
    *) echo "soak_paper: unknown phase '$p'" >&2; exit 2 ;;
    esac
done
[ "$VERDICT" = 0 ] && echo "soak_paper: every verdict holds" || echo "soak_paper: some verdict failed"
exit "$VERDICT"
