#!/usr/bin/env bash
# 70_data_fetch.sh: `noderr data fetch` against a loopback HTTP server that serves real zip and
# .CHECKSUM files in data.binance.vision's layout, made here by data/data_fetch_make.py.
# Covers: argument checks, a clean multi-month fetch with a partial month from daily files
# (exact merged CSV), a second run all cached (no requests, even with the server gone), a
# checksum mismatch, bad archives (garbage, two entries, path traversal, zip bomb, bad CSV), a
# missing month (404), microsecond files (2025+), a stalled transfer (--timeout), a run killed
# mid-download and its resume. Every failure exits 2, names the URL and leaves no file for the
# failed period.
source "$(dirname "$0")/lib.sh"

MAKE="$DATA/data_fetch_make.py"
SERVER="$DATA/data_fetch_server.py"
SRV="$WORK/srv"
mkdir -p "$SRV"
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT

# start_server NAME [server options]: starts a server on a free port; sets PORT and LOG.
start_server() {
    local name="$1"
    shift
    LOG="$WORK/$name.log"
    : >"$LOG"
    python3 "$SERVER" --root "$SRV" --port-file "$WORK/$name.port" --log "$LOG" "$@" &
    PIDS+=("$!")
    for _ in $(seq 100); do
        [ -s "$WORK/$name.port" ] && break
        sleep 0.05
    done
    [ -s "$WORK/$name.port" ] || fail "server $name did not start"
    PORT="$(cat "$WORK/$name.port")"
}

make_period() { python3 "$MAKE" make "$SRV" "$@"; }
monthly() { echo "$SRV/data/spot/monthly/klines/$1/$2/$1-$2-$3.zip"; }

# expected_csv SYMBOL INTERVAL PERIOD...: the merged file the fetch must produce.
expected_csv() {
    echo "ts,open,high,low,close,volume"
    python3 "$MAKE" expect "$@"
}

# no_period_files DIR BASE: nothing stored for BASE (final or temporary).
no_period_files() {
    if ls -A "$1" | grep -qF -- "$2"; then
        ls -la "$1" >&2
        fail "files left for $2 in $1"
    fi
}

no_temp_files() {
    if find "$1" -name '*.tmp-*' | grep -q .; then
        find "$1" >&2
        fail "temporary files left in $1"
    fi
}

for p in 2020-01 2020-02 2020-03-01 2020-03-02 2020-03-03; do make_period BTCUSDT 1h "$p"; done
start_server main
BASE="http://127.0.0.1:$PORT"
MAIN_LOG="$LOG"
D="$WORK/out"
FETCH=("$NODERR" data fetch --symbol BTCUSDT --interval 1h --dir "$D" --base-url "$BASE")

check "help and usage errors"
expect_rc 0 "$NODERR" data --help
stdout_has "data fetch"
expect_rc 0 "$NODERR" data fetch --help
stdout_has "--base-url"
expect_usage_error "unknown subcommand" "$NODERR" data bogus
expect_usage_error "--symbol 'btcusdt'" "${FETCH[@]}" --symbol btcusdt --from 2020-01-01 --to 2020-01-31
expect_usage_error "--interval '2m'" "${FETCH[@]}" --interval 2m --from 2020-01-01 --to 2020-01-31
expect_usage_error "--from '2020-13-01'" "${FETCH[@]}" --from 2020-13-01 --to 2020-12-31
expect_usage_error "--to '2020-02-30'" "${FETCH[@]}" --from 2020-01-01 --to 2020-02-30
expect_usage_error "--from '2020-01-01T00:00'" "${FETCH[@]}" --from 2020-01-01T00:00 --to 2020-02-01
expect_usage_error "is after --to" "${FETCH[@]}" --from 2020-02-01 --to 2020-01-31
expect_usage_error "--from YYYY-MM-DD is required" "${FETCH[@]}" --to 2020-01-31
expect_usage_error "--symbol SYMBOL is required" "$NODERR" data fetch --interval 1h --from 2020-01-01 --to 2020-01-02
expect_usage_error "base URL 'ftp://x'" "${FETCH[@]}" --base-url ftp://x --from 2020-01-01 --to 2020-01-31
expect_usage_error "nothing published yet" "${FETCH[@]}" --from 2200-01-01 --to 2200-01-31
expect_usage_error "unknown or incomplete option" "${FETCH[@]}" --frm 2020-01-01
[ ! -e "$D" ] || fail "a refused command created $D"
[ ! -s "$MAIN_LOG" ] || fail "a refused command made requests"

check "clean fetch: two months and a partial month of three daily files"
expect_rc 0 "${FETCH[@]}" --from 2020-01-01 --to 2020-03-03 --json
[ ! -s "$ERR" ] || fail "stderr not empty without a terminal (no progress bar expected)"
cp "$OUT" "$WORK/first.json"
pycheck "$OUT" '
assert d["symbol"] == "BTCUSDT" and d["interval"] == "1h", d
assert d["from"] == "2020-01-01" and d["to"] == "2020-03-03", d
got = [(p["period"], p["status"], p["bars"]) for p in d["periods"]]
assert got == [("2020-01", "downloaded", 744), ("2020-02", "downloaded", 696),
               ("2020-03-01", "downloaded", 24), ("2020-03-02", "downloaded", 24),
               ("2020-03-03", "downloaded", 24)], got
assert all(len(p["sha256"]) == 64 for p in d["periods"]), d
assert d["bars"] == 744 + 696 + 72, d
assert d["file"].endswith("/out/BTCUSDT-1h.csv"), d'
expected_csv BTCUSDT 1h 2020-01 2020-02 2020-03-01 2020-03-02 2020-03-03 >"$WORK/expected.csv"
cmp "$WORK/expected.csv" "$D/BTCUSDT-1h.csv" || fail "merged CSV differs from the expected bars"
expected_csv BTCUSDT 1h 2020-02 | cmp - "$D/BTCUSDT-1h/BTCUSDT-1h-2020-02.csv" ||
    fail "stored 2020-02 differs"
python3 - "$WORK/first.json" "$SRV" <<'PY' || fail "JSON sha256 differs from the published CHECKSUM"
import json, sys
d = json.load(open(sys.argv[1]))
p = d["periods"][0]
want = open(sys.argv[2] + "/data/spot/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2020-01.zip.CHECKSUM").read().split()[0]
assert p["sha256"] == want, (p, want)
PY
[ "$(grep -c ' 200$' "$MAIN_LOG")" -eq 10 ] || fail "expected 10 requests (5 archives + 5 checksums)"
no_temp_files "$D"

check "the merged file loads in the backtester"
expect_rc 0 "$NODERR" backtest --data "$D/BTCUSDT-1h.csv" --strategy sma_cross --json
pycheck "$OUT" 'assert d["bars"] == 1512, d["bars"]'

check "summary line without --json"
expect_rc 0 "${FETCH[@]}" --from 2020-01-01 --to 2020-03-03
stdout_has "5 periods, 0 downloaded, 5 cached; 1512 bars in $D/BTCUSDT-1h.csv"

check "second run: all cached, no request, even with no server at all"
before=$(wc -l <"$MAIN_LOG")
expect_rc 0 "${FETCH[@]}" --from 2020-01-01 --to 2020-03-03 --json
[ "$(wc -l <"$MAIN_LOG")" -eq "$before" ] || fail "a cached run made requests"
pycheck "$OUT" 'assert [p["status"] for p in d["periods"]] == ["cached"] * 5, d
assert [p["bars"] for p in d["periods"]] == [744, 696, 24, 24, 24], d'
python3 -c '
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert [p["sha256"] for p in a["periods"]] == [p["sha256"] for p in b["periods"]]' \
    "$WORK/first.json" "$OUT" || fail "cached sha256 differ from the downloaded ones"
expect_rc 0 "$NODERR" data fetch --symbol BTCUSDT --interval 1h --dir "$D" \
    --base-url "http://127.0.0.1:9" --from 2020-01-01 --to 2020-03-03
cmp "$WORK/expected.csv" "$D/BTCUSDT-1h.csv" || fail "merged CSV changed on a cached run"

check "a tampered stored file is not trusted: downloaded again"
echo "1580515200000,1,1,1,1,1" >>"$D/BTCUSDT-1h/BTCUSDT-1h-2020-01.csv"
expect_rc 0 "${FETCH[@]}" --from 2020-01-01 --to 2020-01-31 --json
pycheck "$OUT" 'assert d["periods"][0]["status"] == "downloaded", d'
cmp "$WORK/expected.csv" "$D/BTCUSDT-1h.csv" || fail "merged CSV wrong after re-download"

check "checksum mismatch: exit 2 naming the URL, no file for the month"
make_period BTCUSDT 1h 2020-04
python3 "$MAKE" corrupt "$(monthly BTCUSDT 1h 2020-04)"
expect_rc 2 "${FETCH[@]}" --from 2020-04-01 --to 2020-04-30 --json
grep -qF "checksum mismatch" "$ERR" || fail "stderr does not say checksum mismatch"
grep -qF "$BASE/data/spot/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2020-04.zip" "$ERR" ||
    fail "stderr does not name the archive URL"
pycheck "$OUT" '
assert [p["status"] for p in d["periods"]] == ["failed"], d
assert d["file"] is None and "checksum mismatch" in d["error"], d'
no_period_files "$D/BTCUSDT-1h" 2020-04
no_temp_files "$D"
cmp "$WORK/expected.csv" "$D/BTCUSDT-1h.csv" || fail "a failed run changed the merged file"

# bad_archive KIND TEXT: the April archive replaced by a bad one with a matching CHECKSUM.
bad_archive() {
    check "bad archive ($1): exit 2, '$2', no file for the month"
    python3 "$MAKE" rezip "$(monthly BTCUSDT 1h 2020-04)" "$1"
    expect_rc 2 "${FETCH[@]}" --from 2020-04-01 --to 2020-04-30
    grep -qF -- "$2" "$ERR" || fail "stderr does not say '$2'"
    grep -qF "BTCUSDT-1h-2020-04.zip" "$ERR" || fail "stderr does not name the archive"
    no_period_files "$D/BTCUSDT-1h" 2020-04
    no_temp_files "$D"
}
bad_archive garbage "bad archive"
bad_archive two "more than one file inside"
bad_archive traversal "path traversal"
find "$WORK" -name evil.csv | grep -q . && fail "a traversal entry was written"
bad_archive bomb "bad archive"
bad_archive badcsv "BTCUSDT-1h-2020-04.csv:1: high 9 below low 11"

check "missing month (404): exit 2 naming the URL"
make_period BTCUSDT 1h 2020-04
expect_rc 2 "${FETCH[@]}" --from 2020-04-01 --to 2020-05-31
grep -qF "$BASE/data/spot/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2020-05.zip" "$ERR" ||
    fail "stderr does not name the missing URL"
grep -qF "404" "$ERR" || fail "stderr does not say 404"
grep -qF "not published" "$ERR" || fail "stderr does not say not published"
[ -f "$D/BTCUSDT-1h/BTCUSDT-1h-2020-04.csv" ] || fail "April (good) should stay stored"
no_period_files "$D/BTCUSDT-1h" 2020-05

check "connection refused: exit 2 naming the URL"
expect_rc 2 "$NODERR" data fetch --symbol BTCUSDT --interval 1h --dir "$D" \
    --base-url "http://127.0.0.1:9" --from 2020-06-01 --to 2020-06-30
grep -qF "http://127.0.0.1:9/data/spot/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2020-06.zip" "$ERR" ||
    fail "stderr does not name the URL"

check "microsecond open times (2025+) load; a range across the switch merges in ms"
make_period ETHUSDT 1h 2024-12
make_period ETHUSDT 1h 2025-01 --us
make_period ETHUSDT 1h 2025-02-01 --us
NODERR_DATA_BASE_URL="$BASE" expect_rc 0 "$NODERR" data fetch --symbol ETHUSDT --interval 1h \
    --from 2024-12-01 --to 2025-02-01 --dir "$D" --json
pycheck "$OUT" 'assert [p["bars"] for p in d["periods"]] == [744, 744, 24], d'
expected_csv ETHUSDT 1h 2024-12 2025-01 2025-02-01 | cmp - "$D/ETHUSDT-1h.csv" ||
    fail "ETHUSDT merged CSV differs (us -> ms)"

check "a stalled transfer times out (--timeout 2)"
start_server slow --slow BTCUSDT-1h-2020-02.zip --slow-seconds 60
SLOW_BASE="http://127.0.0.1:$PORT"
D2="$WORK/out2"
expect_rc 2 "$NODERR" data fetch --symbol BTCUSDT --interval 1h --dir "$D2" \
    --base-url "$SLOW_BASE" --from 2020-02-01 --to 2020-02-29 --timeout 2
grep -qF "timed out" "$ERR" || fail "stderr does not say timed out"
no_period_files "$D2/BTCUSDT-1h" 2020-02
no_temp_files "$D2"

check "a run killed mid-download keeps no partial file; the next run resumes"
D3="$WORK/out3"
stalls=$(grep -c "^STALL" "$LOG" || true)
"$NODERR" data fetch --symbol BTCUSDT --interval 1h --dir "$D3" --base-url "$SLOW_BASE" \
    --from 2020-01-01 --to 2020-03-03 >"$WORK/killed.out" 2>"$WORK/killed.err" &
victim=$!
for _ in $(seq 200); do
    [ "$(grep -c "^STALL" "$LOG")" -gt "$stalls" ] && break
    sleep 0.05
done
[ "$(grep -c "^STALL" "$LOG")" -gt "$stalls" ] || fail "the download never reached the stall"
[ -f "$D3/BTCUSDT-1h/BTCUSDT-1h-2020-01.csv" ] || fail "January not stored before the stall"
find "$D3" -name '.BTCUSDT-1h-2020-02.zip.tmp-*' | grep -q . ||
    fail "no partial download under a temporary name"
{ kill -9 "$victim" && wait "$victim"; } 2>/dev/null || true
[ -f "$D3/BTCUSDT-1h/BTCUSDT-1h-2020-01.csv.sha256" ] || fail "January was not kept"
[ ! -e "$D3/BTCUSDT-1h/BTCUSDT-1h-2020-02.csv" ] || fail "a partial February under its name"
[ ! -e "$D3/BTCUSDT-1h.csv" ] || fail "a merged file from a killed run"
before=$(wc -l <"$MAIN_LOG")
expect_rc 0 "$NODERR" data fetch --symbol BTCUSDT --interval 1h --dir "$D3" --base-url "$BASE" \
    --from 2020-01-01 --to 2020-03-03 --json
pycheck "$OUT" 'assert [p["status"] for p in d["periods"]] == ["cached"] + ["downloaded"] * 4, d'
! tail -n +"$((before + 1))" "$MAIN_LOG" | grep -qF "2020-01.zip" || fail "January was fetched again"
cmp "$WORK/expected.csv" "$D3/BTCUSDT-1h.csv" || fail "resumed merged CSV differs"
no_temp_files "$D3"

check "a monthly file supersedes the daily files of its month in the merged file"
make_period BTCUSDT 1h 2020-03
expect_rc 0 "${FETCH[@]}" --from 2020-03-01 --to 2020-03-31
[ -f "$D/BTCUSDT-1h/BTCUSDT-1h-2020-03-01.csv" ] || fail "the daily files should stay"
expected_csv BTCUSDT 1h 2020-01 2020-02 2020-03 2020-04 | cmp - "$D/BTCUSDT-1h.csv" ||
    fail "merged CSV is not January to April from the monthly files"

echo "70_data_fetch: all checks passed"
