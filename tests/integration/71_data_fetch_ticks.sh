#!/usr/bin/env bash
# 71_data_fetch_ticks.sh: `noderr data fetch --kind trades|aggTrades|bookTicker` against the
# loopback server of 70_data_fetch.sh serving zip + .CHECKSUM files in data.binance.vision's
# layout (spot trades and aggTrades, USD-M futures bookTicker), made here. Covers: the option
# checks, a monthly + daily trades fetch (stored with a canonical header, rows verbatim), an
# aggTrades archive with its own header, a bookTicker archive under futures/um, a resumed run
# (cached, no requests), a bad row and a row outside its period (exit 2, the URL, entry, line and
# reason named, no file left for the period).
source "$(dirname "$0")/lib.sh"

SERVER="$DATA/data_fetch_server.py"
SRV="$WORK/srv"
mkdir -p "$SRV"
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT

# make_zip PATH ENTRY TEXT: writes PATH (a zip holding ENTRY = TEXT) and PATH.CHECKSUM.
make_zip() {
    python3 - "$1" "$2" "$3" <<'EOF'
import hashlib, os, sys, zipfile
path, entry, text = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(os.path.dirname(path), exist_ok=True)
with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr(entry, text)
digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
with open(path + ".CHECKSUM", "w") as f:
    f.write(f"{digest}  {os.path.basename(path)}\n")
EOF
}

T="$SRV/data/spot/monthly/trades/BTCUSDT"
make_zip "$T/BTCUSDT-trades-2020-01.zip" BTCUSDT-trades-2020-01.csv \
"100,7200.5,0.01,72.005,1577836800000,True,True
101,7200.6,0.02,144.012,1577836800500,False,True
102,7201,0.5,3600.5,1580515199999,True,True
"
make_zip "$SRV/data/spot/daily/trades/BTCUSDT/BTCUSDT-trades-2020-02-01.zip" \
    BTCUSDT-trades-2020-02-01.csv \
"103,9300,1,9300,1580515200000123,False,True
"
make_zip "$SRV/data/spot/daily/aggTrades/BTCUSDT/BTCUSDT-aggTrades-2020-02-01.zip" \
    BTCUSDT-aggTrades-2020-02-01.csv \
"agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker,is_best_match
5,9300,1,103,104,1580515200000,false,true
6,9301,2,105,105,1580515200001,true,true
"
make_zip "$SRV/data/futures/um/daily/bookTicker/BTCUSDT/BTCUSDT-bookTicker-2020-02-01.zip" \
    BTCUSDT-bookTicker-2020-02-01.csv \
"update_id,best_bid_price,best_bid_qty,best_ask_price,best_ask_qty,transaction_time,event_time
1,9300,1,9300.1,2,1580515200000,1580515200001
"
make_zip "$SRV/data/spot/daily/trades/ETHUSDT/ETHUSDT-trades-2020-02-01.zip" \
    ETHUSDT-trades-2020-02-01.csv \
"1,200,1,200,1580515200000,True,True
2,200,abc,200,1580515200001,True,True
"
make_zip "$SRV/data/spot/daily/trades/BNBUSDT/BNBUSDT-trades-2020-02-01.zip" \
    BNBUSDT-trades-2020-02-01.csv \
"1,20,1,20,1580601600000,True,True
"

LOG="$WORK/server.log"
python3 "$SERVER" --root "$SRV" --port-file "$WORK/port" --log "$LOG" &
PIDS+=("$!")
for _ in $(seq 100); do
    [ -s "$WORK/port" ] && break
    sleep 0.05
done
[ -s "$WORK/port" ] || fail "server did not start"
BASE="http://127.0.0.1:$(cat "$WORK/port")"
D="$WORK/out"
FETCH=("$NODERR" data fetch --dir "$D" --base-url "$BASE")

check "option checks"
expect_usage_error "--kind 'ticks'" "${FETCH[@]}" --symbol BTCUSDT --kind ticks --from 2020-01-01 --to 2020-01-31
expect_usage_error "--interval applies to --kind klines only" "${FETCH[@]}" --symbol BTCUSDT --kind trades --interval 1h --from 2020-01-01 --to 2020-01-31
expect_usage_error "--interval INTERVAL is required" "${FETCH[@]}" --symbol BTCUSDT --from 2020-01-01 --to 2020-01-31
[ ! -s "$LOG" ] || fail "a refused command made requests"

check "trades: a monthly and a daily archive, stored with a canonical header"
expect_rc 0 "${FETCH[@]}" --symbol BTCUSDT --kind trades --from 2020-01-01 --to 2020-02-01 --json
pycheck "$OUT" '
assert d["kind"] == "trades" and "interval" not in d, d
got = [(p["period"], p["status"], p["bars"]) for p in d["periods"]]
assert got == [("2020-01", "downloaded", 3), ("2020-02-01", "downloaded", 1)], got
assert d["bars"] == 4, d
assert d["file"].endswith("/out/BTCUSDT-trades"), d'
STORED="$D/BTCUSDT-trades/BTCUSDT-trades-2020-01.csv"
[ "$(head -1 "$STORED")" = "id,price,qty,quote_qty,time,is_buyer_maker,is_best_match" ] || fail "header of $STORED"
[ "$(sed -n 2p "$STORED")" = "100,7200.5,0.01,72.005,1577836800000,True,True" ] || fail "row of $STORED"
[ "$(wc -l <"$STORED")" -eq 4 ] || fail "rows of $STORED"
[ -s "$STORED.sha256" ] || fail "no sidecar for $STORED"
grep -q "GET /data/spot/monthly/trades/BTCUSDT/BTCUSDT-trades-2020-01.zip.CHECKSUM 200" "$LOG" || fail "checksum not requested"

check "a second run is cached and makes no request"
: >"$LOG"
expect_rc 0 "${FETCH[@]}" --symbol BTCUSDT --kind trades --from 2020-01-01 --to 2020-02-01
stdout_has "2 periods, 0 downloaded, 2 cached; 4 rows in"
[ ! -s "$LOG" ] || fail "a cached run made requests"

check "aggTrades with the archive's own header; bookTicker from futures/um"
expect_rc 0 "${FETCH[@]}" --symbol BTCUSDT --kind aggTrades --from 2020-02-01 --to 2020-02-01 --json
pycheck "$OUT" 'assert d["bars"] == 2 and d["kind"] == "aggTrades", d'
[ "$(grep -c agg_trade_id "$D/BTCUSDT-aggTrades/BTCUSDT-aggTrades-2020-02-01.csv")" -eq 1 ] || fail "header twice"
expect_rc 0 "${FETCH[@]}" --symbol BTCUSDT --kind bookTicker --from 2020-02-01 --to 2020-02-01 --json
pycheck "$OUT" 'assert d["bars"] == 1 and d["kind"] == "bookTicker", d'
grep -q "GET /data/futures/um/daily/bookTicker/BTCUSDT/BTCUSDT-bookTicker-2020-02-01.zip 200" "$LOG" || fail "bookTicker path"

check "a bad row fails with the URL, entry, line and reason, and leaves no file"
expect_rc 2 "${FETCH[@]}" --symbol ETHUSDT --kind trades --from 2020-02-01 --to 2020-02-01
grep -qF "ETHUSDT-trades-2020-02-01.zip: ETHUSDT-trades-2020-02-01.csv:2: qty: malformed number 'abc'" "$ERR" || fail "error text"
! ls -A "$D/ETHUSDT-trades" | grep -q 2020-02-01 || fail "files left for ETHUSDT"

check "a row outside the archive's period fails"
expect_rc 2 "${FETCH[@]}" --symbol BNBUSDT --kind trades --from 2020-02-01 --to 2020-02-01
grep -qF "row 1 at 2020-02-02" "$ERR" || fail "error text"
grep -qF "outside the archive's period" "$ERR" || fail "error text"
! ls -A "$D/BNBUSDT-trades" | grep -q 2020-02-01 || fail "files left for BNBUSDT"
echo "PASS"
