#!/usr/bin/env bash
# 74_validate_synthetic.sh: `noderr validate` without real data: history scenarios skipped with
# the fetch command (never passed), synthetic scenarios judged, exit codes, criteria from a
# config, byte-identical JSON, CSVs, walk-forward, and usage errors.
source "$(dirname "$0")/lib.sh"

EMPTY="$WORK/nodata"
mkdir -p "$EMPTY"

check "history windows are skipped with the fetch command; synthetic ones run"
run "$NODERR" validate --strategy sma_cross --data-dir "$EMPTY" --json
[ "$RC" -eq 0 ] || [ "$RC" -eq 1 ] || fail "exit $RC"
cp "$OUT" "$WORK/a.json"
pycheck "$WORK/a.json" '
s = {x["name"]: x for x in d["scenarios"]}
for name in ["covid-crash-2020", "bull-2021", "bear-2022", "high-vol-2023"]:
    x = s[name]
    assert x["status"] == "skipped", (name, x["status"])
    assert x["fetch_command"].startswith("noderr data fetch --symbol BTCUSDT --interval 1h --from "), x
    assert x["skip_reason"].endswith("BTCUSDT-1h.csv is missing"), x["skip_reason"]
assert s["bear-2022"]["fetch_command"].endswith("--from 2022-01-01 --to 2022-12-31 --dir '"$EMPTY"'")
for name in ["flash-crash", "liquidity-crisis", "gap-down"]:
    x = s[name]
    assert x["status"] in ("pass", "fail"), x["status"]
    assert x["metrics"]["bars"] == 2160
    for k in ["total_return", "sharpe", "max_drawdown", "trades", "fees"]:
        assert k in x["metrics"], k
    assert isinstance(x["breaker_events"], list)
    assert "trips" in x["breaker_validation"] and "crossings" in x["breaker_validation"]
    assert all({"name", "value", "limit", "pass"} <= set(c) for c in x["criteria"])
    assert x["failed_criteria"] == [c["name"] for c in x["criteria"] if not c["pass"]]
    assert (x["status"] == "pass") == (x["failed_criteria"] == [])
assert d["skipped"] == 4 and d["passed"] + d["failed"] == 3, d
assert d["strategy"] == "sma_cross" and d["params"] == {"fast": 10, "slow": 30}, d["params"]
'

check "same inputs, byte-identical JSON"
run "$NODERR" validate --strategy sma_cross --data-dir "$EMPTY" --json
cmp -s "$OUT" "$WORK/a.json" || fail "two runs differ"

check "the table names skipped scenarios and their fetch command"
run "$NODERR" validate --strategy sma_cross --data-dir "$EMPTY"
stdout_has "skipped"
stdout_has "fetch with: noderr data fetch --symbol BTCUSDT --interval 1h --from 2021-01-01 --to 2021-11-30"
stdout_has "4 skipped"

check "all criteria met: exit 0"
cat >"$WORK/loose.json" <<'JSON'
{"criteria": {"default": {"max_drawdown_pct": 100, "min_total_return_pct": -100}}}
JSON
expect_rc 0 "$NODERR" validate --strategy sma_cross --data-dir "$EMPTY" --config "$WORK/loose.json"
stdout_has "3 passed, 0 failed, 4 skipped"

check "a strict criterion fails: exit 1, naming it"
cat >"$WORK/strict.json" <<'JSON'
{"criteria": {"gap-down": {"max_drawdown_pct": 0.5}}}
JSON
expect_rc 1 "$NODERR" validate --strategy sma_cross --data-dir "$EMPTY" --config "$WORK/strict.json" \
    --scenario gap-down --json
cp "$OUT" "$WORK/s.json"
pycheck "$WORK/s.json" '
x = d["scenarios"][0]
assert x["name"] == "gap-down" and x["status"] == "fail"
assert "max_drawdown" in x["failed_criteria"], x["failed_criteria"]
c = [c for c in x["criteria"] if c["name"] == "max_drawdown"][0]
assert c["limit"] == 0.5 and c["value"] > 0.5 and c["pass"] is False, c
assert d["failed"] == 1
'
expect_rc 1 "$NODERR" validate --strategy sma_cross --data-dir "$EMPTY" --config "$WORK/strict.json" \
    --scenario gap-down
stdout_has "gap-down: max_drawdown failed: worst drawdown"

check "a breaker that must trip: a tight drawdown limit trips on the flash crash, on time"
expect_rc 0 "$NODERR" validate --strategy sma_cross --data-dir "$EMPTY" --scenario flash-crash \
    --config "$WORK/loose.json" --max-drawdown-pct 2 --json
cp "$OUT" "$WORK/b.json"
pycheck "$WORK/b.json" '
bv = d["scenarios"][0]["breaker_validation"]
assert len(bv["trips"]) >= 1 and bv["missed"] == 0 and bv["unexpected"] == 0, bv
t = bv["trips"][0]
assert t["type"] == "drawdown" and t["lag_bars"] == 0 and t["stayed_halted"] is True, t
assert t["halted_until"] == "end of run" and t["threshold_pct"] == 2.0
assert t["max_drawdown_after"] <= 0
'

check "--csv writes equity and trades per scenario"
expect_rc 0 "$NODERR" validate --strategy sma_cross --data-dir "$EMPTY" --config "$WORK/loose.json" \
    --csv "$WORK/csv"
for name in flash-crash liquidity-crisis gap-down; do
    [ -s "$WORK/csv/$name-equity.csv" ] || fail "$name-equity.csv missing"
    [ -s "$WORK/csv/$name-trades.csv" ] || fail "$name-trades.csv missing"
    head -1 "$WORK/csv/$name-equity.csv" | grep -qx "ts,equity" || fail "equity header"
    [ "$(wc -l <"$WORK/csv/$name-equity.csv")" -eq 2161 ] || fail "2160 equity rows expected"
done
[ ! -e "$WORK/csv/bull-2021-equity.csv" ] || fail "a skipped scenario wrote a CSV"

# A CSV that cannot be written is exit 2 naming the file and the real error (the error flag and
# the flush are checked, not only fclose). The device is reached through a link in $WORK.
mkdir -p "$WORK/csvfull"
ln -s /dev/full "$WORK/csvfull/gap-down-equity.csv"
expect_usage_error "writing gap-down-equity.csv: No space left on device" \
    "$NODERR" validate --strategy sma_cross --data-dir "$EMPTY" --config "$WORK/loose.json" \
    --scenario gap-down --csv "$WORK/csvfull"
[ -L "$WORK/csvfull/gap-down-equity.csv" ] && [ -c /dev/full ] || fail "the device was replaced"

check "--walk-forward 30d:10d: 6 segments over the 90-day synthetic paths"
run "$NODERR" validate --strategy sma_cross --data-dir "$EMPTY" --scenario gap-down \
    --walk-forward 30d:10d --json
cp "$OUT" "$WORK/w.json"
pycheck "$WORK/w.json" '
wf = d["scenarios"][0]["walk_forward"]
assert len(wf["segments"]) == 6, len(wf["segments"])
s0 = wf["segments"][0]
assert s0["in_sample"]["bars"] == 720 and s0["out_of_sample"]["bars"] == 240, s0
assert s0["in_sample"]["to"] == s0["out_of_sample"]["from"]
assert wf["segments"][5]["out_of_sample"]["to"] == "2024-03-31T00:00:00Z"
assert wf["summary"]["segments"] == 6
'

expect_usage_error "--strategy NAME is required" "$NODERR" validate --data-dir "$EMPTY"
expect_usage_error "--walk-forward: '90:30' is not TRAIN:TEST" \
    "$NODERR" validate --strategy sma_cross --walk-forward 90:30
expect_usage_error "unknown scenario 'nope'" \
    "$NODERR" validate --strategy sma_cross --data-dir "$EMPTY" --scenario nope
printf '{"criteria": {"bull": {"min_sharp": 1}}}' >"$WORK/typo.json"
expect_usage_error "typo.json: criteria.bull.min_sharp: unknown criterion" \
    "$NODERR" validate --strategy sma_cross --data-dir "$EMPTY" --config "$WORK/typo.json"
expect_usage_error "unknown strategy 'nope'" "$NODERR" validate --strategy nope

echo "74_validate_synthetic: all checks passed"
