#!/usr/bin/env bash
# 33_research_workflow.sh: --timerange, --timeframe, several instruments in one run,
# --exchange-info, and validate --symbol (issue 11, the research workflow).
. "$(dirname "$0")/lib.sh"

have_shared || { echo "skip: no shared data"; exit 77; }
D="$SHARED/data"
ETH="$D/ETHUSDT-1h.csv"
BTC="$D/BTCUSDT-1h.csv"
INFO="$DATA/exchange_info_usdt.json"

check "--timerange keeps whole UTC days, the end date excluded (Freqtrade's form)"
expect_rc 0 "$NODERR" backtest --data "$ETH" --strategy sma_cross --timerange 20220101-20230101
stdout_has "period                 2022-01-01T00:00:00Z .. 2022-12-31T23:00:00Z (8760 bars)"
stdout_has "timerange              2022-01-01 .. 2023-01-01 (end excluded)"
expect_rc 0 "$NODERR" backtest --data "$ETH" --strategy sma_cross --timerange 20231201- --json
pycheck "$OUT" "
assert d['bars'] == 744, d['bars']
assert d['data']['timerange'] == {'start': '2023-12-01T00:00:00Z'}, d['data']"
expect_rc 0 "$NODERR" backtest --data "$ETH" --strategy sma_cross --timerange -20200102 --json
pycheck "$OUT" "assert d['bars'] == 24, d['bars']"

check "--timerange refusals name the option and why"
expect_usage_error "--timerange: 20220230: February 2022 has 28 days" \
    "$NODERR" backtest --data "$ETH" --strategy sma_cross --timerange 20220230-
expect_usage_error "the end must be after the start" \
    "$NODERR" backtest --data "$ETH" --strategy sma_cross --timerange 20230101-20220101
expect_usage_error "is not YYYYMMDD-YYYYMMDD" \
    "$NODERR" backtest --data "$ETH" --strategy sma_cross --timerange 2022-01-01
expect_usage_error "--timerange 2030-01-01 .. end holds no bar of $ETH, whose bars open from 2020-01-01T00:00:00Z to 2023-12-31T23:00:00Z" \
    "$NODERR" backtest --data "$ETH" --strategy sma_cross --timerange 20300101-
expect_usage_error "apply to bars" "$NODERR" backtest --synthetic-l2 --events 100 \
    --strategy quote_maker --timerange 20220101-

check "--timeframe resamples: 4h and 1d from 1h, aligned to 00:00 UTC"
expect_rc 0 "$NODERR" backtest --data "$ETH" --strategy sma_cross --timeframe 4h \
    --timerange 20220101-20220201 --json
pycheck "$OUT" "assert d['bars'] == 31 * 6 and d['data']['timeframe_s'] == 14400, d['bars']"
expect_rc 0 "$NODERR" backtest --data "$ETH" --strategy sma_cross --timeframe 1d --equity-out "$WORK/eq.csv"
python3 - "$WORK/eq.csv" <<'PY' || fail "daily equity rows are not at 00:00 UTC"
import sys
rows = open(sys.argv[1]).read().split('\n')[1:-1]
assert len(rows) == 1461, len(rows)
assert all(int(r.split(',')[0]) % 86400000 == 0 for r in rows)
PY
expect_usage_error "--timeframe 30m is finer than the 1h bars" \
    "$NODERR" backtest --data "$ETH" --strategy sma_cross --timeframe 30m
expect_usage_error "--timeframe 90m is not a whole multiple of the 1h bars" \
    "$NODERR" backtest --data "$ETH" --strategy sma_cross --timeframe 90m
expect_usage_error "not weeks" "$NODERR" backtest --data "$ETH" --strategy sma_cross --timeframe 1w

check "indicator and evolve take the same options"
expect_rc 0 "$NODERR" indicator sma --data "$ETH" --param period=2 --timeframe 1d \
    --timerange 20230101-20230104 --csv
[ "$(wc -l < "$OUT")" -eq 4 ] || fail "3 daily rows and a header expected"
expect_rc 0 "$NODERR" evolve --strategy sma_cross --data "$ETH" --timeframe 4h \
    --timerange 20220101- --population 8 --generations 2 --json
pycheck "$OUT" "assert d['bars'] == 2 * 365 * 6, d['bars']"
expect_usage_error "not to a --scenario" "$NODERR" evolve --strategy sma_cross \
    --scenario covid-crash-2020 --timerange 20200101-

check "several instruments: one portfolio, P&L per asset, ties in file order"
expect_rc 0 "$NODERR" backtest --data "$ETH" --data "$BTC" --strategy sma_cross --json
cp "$OUT" "$WORK/two.json"
pycheck "$OUT" "
assert list(d['by_asset']) == ['ETH/USDT', 'BTC/USDT'], d['by_asset']
net = sum(a['net'] for a in d['by_asset'].values())
assert abs(10000 + net - d['final_equity']) < 1e-6, (net, d['final_equity'])
assert [s['symbol'] for s in d['strategies']] == ['ETH/USDT', 'BTC/USDT']
assert [i['symbol'] for i in d['data']['instruments']] == ['ETH/USDT', 'BTC/USDT']
assert d['bars'] == 35033 + 35031, d['bars']"
expect_rc 0 "$NODERR" backtest --data-dir "$D" --symbols ETHUSDT,BTCUSDT --strategy sma_cross --json
cmp -s "$OUT" "$WORK/two.json" || fail "--data-dir --symbols differs from --data twice"
expect_rc 0 "$NODERR" backtest --data "$ETH" --data "$BTC" --strategy sma_cross
stdout_has "noderr backtest: sma_cross on ETH/USDT + BTC/USDT"
grep -qE '^ +net -?[0-9.]+, fees [0-9.]+, [0-9]+ round trips \(.*BTCUSDT-1h.csv\)$' "$OUT" ||
    fail "no per-asset line for BTC/USDT"
expect_usage_error "ETH/USDT twice" "$NODERR" backtest --data "$ETH" --data "$D/ETHUSDT-1d.csv" \
    --strategy sma_cross
expect_usage_error "--symbol names one instrument" "$NODERR" backtest --data "$ETH" --data "$BTC" \
    --symbol ETH/USDT --strategy sma_cross
expect_usage_error "--data-dir and --symbols go together" "$NODERR" backtest --symbols ETHUSDT \
    --strategy sma_cross
expect_usage_error "XRPUSDT-1h.csv" "$NODERR" backtest --data-dir "$D" --symbols ETHUSDT,XRPUSDT \
    --strategy sma_cross

check "one --data stays as it was: --data-dir with one symbol gives the same run"
expect_rc 0 "$NODERR" backtest --data "$ETH" --strategy sma_cross --json
cp "$OUT" "$WORK/one.json"
expect_rc 0 "$NODERR" backtest --data-dir "$D" --symbols ETHUSDT --strategy sma_cross --json
cmp -s "$OUT" "$WORK/one.json" || fail "--data-dir with one symbol differs from --data"

check "--exchange-info: tick, step and minimum notional per symbol; options win"
expect_rc 0 "$NODERR" backtest --data "$ETH" --data "$BTC" --strategy sma_cross \
    --exchange-info "$INFO"
stdout_has "ETH/USDT               tick 0.01, lot 0.0001, min notional 5 (exchangeInfo $INFO)"
stdout_has "BTC/USDT               tick 0.01, lot 0.00001, min notional 10 (exchangeInfo $INFO)"
expect_rc 0 "$NODERR" backtest --data "$ETH" --strategy sma_cross --exchange-info "$INFO" \
    --lot-size 0.01 --json
pycheck "$OUT" "assert d['data']['rules_source'].endswith('exchange_info_usdt.json'), d['data']"
expect_usage_error "lists no symbol BNBUSDT" "$NODERR" backtest --data "$D/BNBUSDT-1h.csv" \
    --strategy sma_cross --exchange-info "$INFO"
expect_usage_error "--exchange-info $DATA/missing.json" "$NODERR" backtest --data "$ETH" \
    --strategy sma_cross --exchange-info "$DATA/missing.json"

check "validate --symbol: the catalogue windows on ETHUSDT, each naming its data"
expect_rc 0 "$NODERR" validate --strategy sma_cross --data-dir "$D" --symbol ETHUSDT \
    --scenario covid-crash-2020 --scenario bear-2022 --json
pycheck "$OUT" "
assert d['symbol'] == 'ETHUSDT'
for s in d['scenarios']:
    assert s['symbol'] == 'ETHUSDT' and s['status'] in ('pass', 'fail'), s
    assert s['requires']['file'].endswith('/ETHUSDT-1h.csv'), s['requires']
assert d['scenarios'][0]['requires']['from'] == '2020-02-15'
assert d['scenarios'][0]['requires']['to_inclusive'] == '2020-04-30'"
expect_rc 1 "$NODERR" validate --strategy sma_cross --data-dir "$D" --symbol SOLUSDT \
    --scenario covid-crash-2020
stdout_has "needs SOLUSDT 1h from 2020-02-15 to 2020-04-30"
expect_usage_error "--symbol: 'eth' is not a symbol" "$NODERR" validate --strategy sma_cross \
    --symbol eth
echo "ok"
