#!/usr/bin/env bash
# 75_validate_real_data.sh: `noderr validate` on the real BTCUSDT hourly candles in
# ../shared/data: the four history windows run (none skipped), their bar counts match the
# windows, breaker trips are validated, a crafted crash window trips on time, and the JSON is
# byte-identical across runs. Skipped (77) when the shared data is absent.
source "$(dirname "$0")/lib.sh"

if [ ! -f "$SHARED/data/BTCUSDT-1h.csv" ]; then
    echo "skip: $SHARED/data/BTCUSDT-1h.csv absent"
    exit 77
fi

check "the default suite runs every window"
run "$NODERR" validate --strategy sma_cross --data-dir "$SHARED/data" --json
[ "$RC" -eq 0 ] || [ "$RC" -eq 1 ] || fail "exit $RC"
cp "$OUT" "$WORK/a.json"
pycheck "$WORK/a.json" '
s = {x["name"]: x for x in d["scenarios"]}
assert d["skipped"] == 0, d["skipped"]
hours = {"covid-crash-2020": 76 * 24, "bull-2021": 334 * 24, "bear-2022": 365 * 24,
         "high-vol-2023": 365 * 24}
for name, n in hours.items():
    m = s[name]["metrics"]
    assert n - 30 <= m["bars"] <= n, (name, m["bars"], n)
    assert m["first"].startswith(s[name]["from"][:10]), (name, m["first"])
for x in d["scenarios"]:
    bv = x["breaker_validation"]
    assert bv["missed"] == 0 and bv["unexpected"] == 0 and bv["late"] == 0, (x["name"], bv)
    assert bv["orders_accepted_while_halted"] == 0
    assert len(bv["trips"]) == len(x["breaker_events"])
    assert (x["status"] == "fail") == (len(x["failed_criteria"]) > 0)
assert d["passed"] + d["failed"] == 7
'
if [ "$(json_field "$WORK/a.json" failed)" -gt 0 ]; then
    [ "$RC" -eq 1 ] || fail "a failed scenario must exit 1 (got $RC)"
else
    [ "$RC" -eq 0 ] || fail "all passed must exit 0 (got $RC)"
fi

check "byte-identical on a second run"
run "$NODERR" validate --strategy sma_cross --data-dir "$SHARED/data" --json
cmp -s "$OUT" "$WORK/a.json" || fail "two runs differ"

check "the COVID crash with a 5% drawdown breaker trips within one bar and stays halted"
run "$NODERR" validate --strategy sma_cross --data-dir "$SHARED/data" --scenario covid-crash-2020 \
    --max-drawdown-pct 5 --json
cp "$OUT" "$WORK/c.json"
pycheck "$WORK/c.json" '
x = d["scenarios"][0]
bv = x["breaker_validation"]
assert len(bv["trips"]) >= 1, bv
t = bv["trips"][0]
assert t["type"] in ("drawdown", "daily_loss") and t["lag_bars"] <= 1, t
assert all(tr["stayed_halted"] for tr in bv["trips"])
assert "breaker_lag" not in x["failed_criteria"] and "no_orders_while_halted" not in x["failed_criteria"]
'

check "a window beyond the file is skipped with the fetch command"
cat >"$WORK/late.json" <<'JSON'
{"include_builtins": false, "scenarios": [{"name": "future", "kind": "history",
  "from": "2024-06-01", "to": "2024-07-01"}]}
JSON
# Nothing ran, so nothing passed: exit 1 with the reason (the skip and its fetch are still shown).
expect_rc 1 "$NODERR" validate --strategy sma_cross --data-dir "$SHARED/data" --config "$WORK/late.json"
grep -qF "no scenario ran: every selected scenario was skipped" "$ERR" || fail "no reason for exit 1"
stdout_has "does not cover the window of future"
stdout_has "noderr data fetch --symbol BTCUSDT --interval 1h --from 2024-06-01 --to 2024-06-30"
stdout_has "0 passed, 0 failed, 1 skipped"

echo "75_validate_real_data: all checks passed"
