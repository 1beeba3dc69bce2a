#!/usr/bin/env bash
# 73_scenarios_cli.sh: `noderr scenarios`: the built-in catalogue as a table and as JSON, a
# config file adding and overriding scenarios, and config errors (exit 2 naming file and key).
source "$(dirname "$0")/lib.sh"

check "the table lists the seven built-ins"
expect_rc 0 "$NODERR" scenarios
for name in covid-crash-2020 bull-2021 bear-2022 high-vol-2023 flash-crash liquidity-crisis \
            gap-down; do
    stdout_has "$name"
done
stdout_has "BTCUSDT 1h 2020-02-15 .. 2020-04-30"
stdout_has "7 scenarios"

check "--json lists kinds, windows and synthetic parameters"
expect_rc 0 "$NODERR" scenarios --json
cp "$OUT" "$WORK/a.json"
pycheck "$WORK/a.json" '
s = {x["name"]: x for x in d["scenarios"]}
assert [x["name"] for x in d["scenarios"]] == ["covid-crash-2020", "bull-2021", "bear-2022",
    "high-vol-2023", "flash-crash", "liquidity-crisis", "gap-down"], list(s)
assert s["bull-2021"]["kind"] == "history" and s["bull-2021"]["condition"] == "bull"
assert s["bear-2022"]["from"] == "2022-01-01T00:00:00Z" and s["bear-2022"]["to"] == "2023-01-01T00:00:00Z"
fc = s["flash-crash"]["synthetic"]
assert fc["shock"] == "flash-crash" and fc["drop_pct"] == 30 and fc["drop_minutes"] == 30, fc
assert s["liquidity-crisis"]["venue"]["impact_bps"] == 100
assert s["gap-down"]["synthetic"]["gap_pct"] == 15
'

check "a config adds a history window and overrides a built-in"
cat >"$WORK/c.json" <<'JSON'
{"scenarios": [
  {"name": "luna-may", "kind": "history", "symbol": "LUNAUSDT", "from": "2022-05-01",
   "to": "2022-05-15", "condition": "crash", "description": "Terra collapse"},
  {"name": "gap-down", "gap_pct": 30, "seed": 11}
]}
JSON
expect_rc 0 "$NODERR" scenarios --config "$WORK/c.json" --json
cp "$OUT" "$WORK/b.json"
pycheck "$WORK/b.json" '
s = {x["name"]: x for x in d["scenarios"]}
assert len(s) == 8
assert s["luna-may"]["symbol"] == "LUNAUSDT" and s["luna-may"]["to"] == "2022-05-15T00:00:00Z"
assert s["gap-down"]["synthetic"]["gap_pct"] == 30 and s["gap-down"]["synthetic"]["seed"] == 11
'

printf '{"scenarios": [{"name": "x", "kind": "synthetic", "drop_pct": 150}]}' >"$WORK/bad1.json"
expect_usage_error "bad1.json: scenarios[0].drop_pct: 150 is outside" \
    "$NODERR" scenarios --config "$WORK/bad1.json"
printf '{"scenarios": [{"name": "x", "kind": "weekly"}]}' >"$WORK/bad2.json"
expect_usage_error "bad2.json: scenarios[0].kind: must be history or synthetic" \
    "$NODERR" scenarios --config "$WORK/bad2.json"
printf '{"scenarios": [' >"$WORK/bad3.json"
expect_usage_error "bad3.json:1:" "$NODERR" scenarios --config "$WORK/bad3.json"
expect_usage_error "missing.json" "$NODERR" scenarios --config "$WORK/missing.json"
expect_usage_error "unknown or incomplete option" "$NODERR" scenarios --bogus

check "--help documents the command"
expect_rc 0 "$NODERR" scenarios --help
stdout_has "usage: noderr scenarios"

echo "73_scenarios_cli: all checks passed"
