#!/usr/bin/env bash
# 87_surveil_alerts.sh: `noderr surveil` on crafted order-event logs that must, and must not,
# raise each alert: wash trade vs a round trip outside the window, layering vs honest quoting,
# four day trades in five business days across a weekend vs three, large orders just under and
# just over the threshold, high message rates above and below. Output is checked exactly.
source "$(dirname "$0")/lib.sh"

# alerts FILE: prints "rule owner accounts orders from to" per alert, one a line.
alerts() {
    python3 - "$1" <<'PY'
import json, sys
for a in json.load(open(sys.argv[1]))["alerts"]:
    print(a["rule"], a["jurisdiction"], a["owner"], ",".join(a["accounts"]),
          ",".join(a["order_ids"]), a["from"], a["to"])
PY
}

check "wash trade across two accounts of one owner, and a direct self-match; not a round trip"
expect_rc 0 "$NODERR" surveil --events "$DATA/surveil_wash.csv" --json
alerts "$OUT" >"$WORK/got"
cat >"$WORK/want" <<'W'
wash_trading US O1 A1,A2 w1,w2 2024-01-02T15:00:01Z 2024-01-02T15:00:11Z
wash_trading US O3 C1,C2 s1,s2 2024-01-02T16:00:00Z 2024-01-02T16:00:00Z
W
diff -u "$WORK/want" "$WORK/got" || fail "wash alerts differ"
pycheck "$OUT" '
a = d["alerts"]
assert list(d) == ["alerts"]
for k in ["rule", "jurisdiction", "accounts", "order_ids", "from", "to", "reason"]:
    assert k in a[0], k
assert "1 direct self-match" in a[1]["reason"], a[1]["reason"]
assert [t["order_id"] for t in a[0]["trades"]] == ["w1", "w2"]
assert a[0]["trades"][1]["price"] == "185.12"
'
cp "$OUT" "$WORK/wash.json"
expect_rc 0 "$NODERR" surveil --events "$DATA/surveil_wash.csv" --json
cmp -s "$OUT" "$WORK/wash.json" || fail "two runs differ"

check "text output names rule, accounts, orders, span and why"
expect_rc 0 "$NODERR" surveil --events "$DATA/surveil_wash.csv"
stdout_has "12 events scanned, 2 alerts"
stdout_has "[1] wash_trading (US) 2024-01-02T15:00:01Z .. 2024-01-02T15:00:11Z"
stdout_has "accounts: A1, A2"
stdout_has "no change in beneficial ownership"

check "layering: three buy levels cancelled 300-500 ms after a sell fill; honest quotes are not"
expect_rc 0 "$NODERR" surveil --events "$DATA/surveil_layering.csv" --json
alerts "$OUT" >"$WORK/got"
echo "layering US SPOOF L1,L2 l1,l2,l3,l4 2024-03-05T14:00:00Z 2024-03-05T14:00:02.500Z" \
    >"$WORK/want"
diff -u "$WORK/want" "$WORK/got" || fail "layering alerts differ"

check "pattern day trading without --accounts: unknown type and equity, said in the reason"
expect_rc 0 "$NODERR" surveil --events "$DATA/surveil_pdt.csv" --json
pycheck "$OUT" '
got = sorted(a["accounts"][0] for a in d["alerts"])
assert got == ["P1", "P4", "P5", "P6"], got
for a in d["alerts"]:
    assert a["rule"] == "pattern_day_trading"
    assert "unknown type (counted as margin)" in a["reason"], a["reason"]
    assert "equity unknown" in a["reason"], a["reason"]
    assert a["from"].startswith("2024-01-04T") and a["to"].startswith("2024-01-10T"), a
'

check "with --accounts: cash account and equity >= 25,000 are not flagged, 24,999.99 is"
expect_rc 0 "$NODERR" surveil --events "$DATA/surveil_pdt.csv" --accounts "$DATA/surveil_accounts.csv" --json
pycheck "$OUT" '
got = [(a["accounts"][0], a["from"], a["to"]) for a in d["alerts"]]
assert got == [("P1", "2024-01-04T14:00:01Z", "2024-01-10T14:30:02Z"),
               ("P6", "2024-01-04T17:00:01Z", "2024-01-10T17:30:02Z")], got
assert "margin account with equity 20000 (minimum 25000 USD)" in d["alerts"][0]["reason"]
assert len(d["alerts"][0]["order_ids"]) == 8
'

check "a holiday list makes Thu..next Thu five business days (P3 then has a pattern)"
printf 'date\n2024-01-09\n' >"$WORK/holidays.csv"
expect_rc 0 "$NODERR" surveil --events "$DATA/surveil_pdt.csv" --accounts "$DATA/surveil_accounts.csv" \
    --holidays "$WORK/holidays.csv" --json
pycheck "$OUT" '
assert sorted(a["accounts"][0] for a in d["alerts"]) == ["P1", "P3", "P6"], d
'

check "large order: 999,990 and 1,000,000 pass, 1,000,010 is above US 1,000,000"
expect_rc 0 "$NODERR" surveil --events "$DATA/surveil_large.csv" --json
alerts "$OUT" >"$WORK/got"
echo "large_volume US G G2 over 2024-02-01T15:02:00Z 2024-02-01T15:02:00Z" >"$WORK/want"
diff -u "$WORK/want" "$WORK/got" || fail "large-volume alerts differ"

check "high frequency: 51 messages in one second alert, 50 do not"
python3 - "$WORK/hf.csv" <<'PY'
import sys
rows = ["ts,account,owner,strategy,venue,symbol,side,event,order_id,price,qty"]
t0 = 1711976400000  # 2024-04-01T13:00:00Z in ms
for acct, n in (("F1", 51), ("F2", 50)):
    for i in range(n):
        kind = "cancel" if i % 2 else "new"
        rows.append(f"{t0 + i * 19},{acct},{acct},hft,CME,ES,buy,{kind},{acct}-{i // 2},5000.25,1")
open(sys.argv[1], "w").write("\n".join(rows) + "\n")
PY
expect_rc 0 "$NODERR" surveil --events "$WORK/hf.csv" --json
alerts "$OUT" >"$WORK/got"
echo "high_frequency US F1 F1 $(python3 -c 'print(",".join("F1-%d" % i for i in range(16)))') 2024-04-01T13:00:00Z 2024-04-01T13:00:00.950Z" >"$WORK/want"
diff -u "$WORK/want" "$WORK/got" || fail "high-frequency alerts differ"

check "--fail-on-alert exits 1 with alerts, 0 without"
expect_rc 1 "$NODERR" surveil --events "$DATA/surveil_large.csv" --fail-on-alert
expect_rc 0 "$NODERR" surveil --events "$DATA/surveil_large.csv" --jurisdiction SG --fail-on-alert
stdout_has "5 events scanned, 0 alerts"

echo "87_surveil_alerts: all checks passed"
