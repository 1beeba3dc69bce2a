#!/usr/bin/env bash
# 88_surveil_jurisdictions.sh: profiles of `noderr surveil`: several jurisdictions at once
# (one alert per profile, tagged), per-account jurisdictions from the accounts file,
# profile-specific rules (pattern day trading is US only) and thresholds (SGD vs USD).
source "$(dirname "$0")/lib.sh"

check "--jurisdiction US,EU,UK,SG: the same wash case is reported once per profile, tagged"
expect_rc 0 "$NODERR" surveil --events "$DATA/surveil_wash.csv" --jurisdiction US,EU,UK,SG --json
pycheck "$OUT" '
got = [(a["jurisdiction"], a["owner"]) for a in d["alerts"]]
assert got == [("US", "O1"), ("EU", "O1"), ("UK", "O1"), ("SG", "O1"),
               ("US", "O3"), ("EU", "O3"), ("UK", "O3"), ("SG", "O3")], got
cites = {a["jurisdiction"]: a["reason"] for a in d["alerts"]}
assert "FINRA Rule 5210" in cites["US"], cites["US"]
assert "MAR Art. 12" in cites["EU"], cites["EU"]
assert "FCA MAR 1.6" in cites["UK"], cites["UK"]
assert "SFA s197(3)" in cites["SG"], cites["SG"]
'

check "the order of the list does not matter"
cp "$OUT" "$WORK/all.json"
expect_rc 0 "$NODERR" surveil --events "$DATA/surveil_wash.csv" --jurisdiction sg,uk,eu,us --json
cmp -s "$OUT" "$WORK/all.json" || fail "jurisdiction order changed the output"

check "pattern day trading is a US rule: EU raises none on the same log"
expect_rc 0 "$NODERR" surveil --events "$DATA/surveil_pdt.csv" --jurisdiction EU --json
pycheck "$OUT" '
assert all(a["rule"] != "pattern_day_trading" for a in d["alerts"]), d
'

check "per-account jurisdictions: A1/A2 EU (A2 also UK), C1 SG; C2 (not listed) follows US"
expect_rc 0 "$NODERR" surveil --events "$DATA/surveil_wash.csv" \
    --accounts "$DATA/surveil_accounts_jur.csv" --json
pycheck "$OUT" '
got = [(a["jurisdiction"], a["owner"]) for a in d["alerts"]]
assert got == [("EU", "O1"), ("UK", "O1"), ("US", "O3"), ("SG", "O3")], got
'

check "thresholds differ: 1,000,010 USD is large under US, not under SG (1,500,000)"
expect_rc 0 "$NODERR" surveil --events "$DATA/surveil_large.csv" --jurisdiction US,SG --json
pycheck "$OUT" '
assert [a["jurisdiction"] for a in d["alerts"]] == ["US"], d
assert "USD" in d["alerts"][0]["reason"]
'

check "ADV share: --adv gives the volume; 2500 of 10000 is 25% (not above), 2600 is"
cat >"$WORK/adv.csv" <<'CSV'
ts,account,owner,strategy,venue,symbol,side,event,order_id,price,qty
2024-02-01T15:00:00Z,V1,V,vwap,XNYS,IBM,buy,fill,v1,100,2500
2024-02-02T15:00:00Z,V1,V,vwap,XNYS,IBM,buy,fill,v2,100,2600
CSV
expect_rc 0 "$NODERR" surveil --events "$WORK/adv.csv" --adv IBM=10000 --json
pycheck "$OUT" '
a = d["alerts"]
assert len(a) == 1 and a[0]["rule"] == "large_volume" and a[0]["order_ids"] == ["v2"], a
assert "26.00% of the average daily volume 10000" in a[0]["reason"], a[0]["reason"]
'

check "an unknown jurisdiction exits 2 naming it"
expect_usage_error "unknown jurisdiction 'FR'" "$NODERR" surveil --events "$DATA/surveil_wash.csv" \
    --jurisdiction US,FR

echo "88_surveil_jurisdictions: all checks passed"
