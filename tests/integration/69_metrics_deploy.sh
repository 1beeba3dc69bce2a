#!/usr/bin/env bash
# 69_metrics_deploy.sh: the deploy/ artefacts of monitoring (docs/monitoring.md): the Prometheus
# scrape config and alert rules pass promtool's checks, the alert unit tests pass
# (promtool test rules), and the Grafana dashboard is importable JSON, templated by strategy and
# venue, whose every query names metrics docs/monitoring.md documents. Skips (77) without
# promtool (Debian's prometheus package; dev.sh installs it).
# Called as: 69_metrics_deploy.sh NODERR_BINARY DATA_DIR SHARED_DIR SOURCE_ROOT
source "$(dirname "$0")/lib.sh"

if ! command -v promtool >/dev/null; then
    echo "promtool not installed (Debian package prometheus): skipped"
    exit 77
fi
DEPLOY="$SOURCE_ROOT/deploy"

check "promtool check config: the scrape config and the rule files it loads"
expect_rc 0 promtool check config "$DEPLOY/prometheus/noderr-scrape.yml"
check "promtool check rules: the alert rules"
expect_rc 0 promtool check rules "$DEPLOY/prometheus/alerts.yml"
stdout_has "SUCCESS: 8 rules found"
check "promtool test rules: the alert unit tests"
(cd "$DEPLOY/prometheus" && expect_rc 0 promtool test rules alerts_test.yml) ||
    fail "alert unit tests: $(cat "$OUT" "$ERR")"
for alert in NoderrDrawdownNearBreaker NoderrBreakerTripped NoderrFeedStale \
    NoderrReconcileDifference NoderrRampPaused NoderrErrorRateBurst; do
    grep -q "alertname: $alert" "$DEPLOY/prometheus/alerts_test.yml" || fail "$alert has no unit test"
done

check "a broken rule is caught (the check is not vacuous)"
sed 's/noderr_feed_age_seconds > 30/noderr_feed_age_seconds >/' "$DEPLOY/prometheus/alerts.yml" \
    >"$WORK/broken.yml"
expect_rc 1 promtool check rules "$WORK/broken.yml"

check "the Grafana dashboard: importable, templated by strategy and venue, documented metrics only"
python3 - "$DEPLOY/grafana/noderr-dashboard.json" "$SOURCE_ROOT/docs/monitoring.md" <<'PY' ||
import json, re, sys
d = json.load(open(sys.argv[1]))
doc = open(sys.argv[2]).read()
assert d["uid"] and d["title"] and d["schemaVersion"] >= 30, "not a dashboard"
names = [v["name"] for v in d["templating"]["list"]]
for want in ("datasource", "strategy", "venue"):
    assert want in names, f"no ${want} variable: {names}"
ids = [p["id"] for p in d["panels"]]
assert len(ids) == len(set(ids)), "panel ids repeat"
exprs = [t["expr"] for p in d["panels"] for t in p.get("targets", [])]
assert len(exprs) >= 30, len(exprs)
used = set()
for e in exprs:
    for m in re.findall(r"\b((?:noderr|process)_[a-z0-9_]+)", e):
        used.add(re.sub(r"_(bucket|sum|count)$", "", m))
missing = sorted(m for m in used if f"`{m}`" not in doc)
assert not missing, f"metrics on the dashboard but not in docs/monitoring.md: {missing}"
strategy = [e for e in exprs if '$strategy' in e]
venue = [e for e in exprs if '$venue' in e]
assert len(strategy) >= 5 and len(venue) >= 5, (len(strategy), len(venue))
print(f"dashboard: {len(d['panels'])} panels, {len(exprs)} queries, {len(used)} metrics")
PY
    fail "dashboard check"

check "the Grafana dashboard against Grafana's model; every query and variable parses (promtool)"
python3 "$SOURCE_ROOT/tests/integration/grafana_check.py" model \
    "$DEPLOY/grafana/noderr-dashboard.json" "$WORK/grafana-rules.yml" >"$OUT" 2>&1 ||
    fail "grafana_check: $(cat "$OUT")"
expect_rc 0 promtool check rules "$WORK/grafana-rules.yml"
check "a broken dashboard is caught (the checks are not vacuous)"
python3 - "$DEPLOY/grafana/noderr-dashboard.json" "$WORK" <<'PY' || fail "breaking the dashboard"
import json, sys
d = json.load(open(sys.argv[1]))
def save(name, mutate):
    x = json.loads(json.dumps(d))
    mutate(x)
    json.dump(x, open(f"{sys.argv[2]}/{name}.json", "w"))
save("overlap", lambda x: x["panels"][2]["gridPos"].update(x=0, y=1))
save("undefined_var", lambda x: x["panels"][1]["targets"][0].update(
    expr='noderr_equity_usd{instance=~"$nosuch"}'))
save("no_gridpos", lambda x: x["panels"][1].pop("gridPos"))
save("bad_promql", lambda x: x["panels"][1]["targets"][0].update(expr="rate(noderr_fills_total[5m]"))
PY
for bad in overlap undefined_var no_gridpos; do
    expect_rc 1 python3 "$SOURCE_ROOT/tests/integration/grafana_check.py" model \
        "$WORK/$bad.json" "$WORK/$bad.yml"
done
expect_rc 0 python3 "$SOURCE_ROOT/tests/integration/grafana_check.py" model \
    "$WORK/bad_promql.json" "$WORK/bad_promql.yml"
expect_rc 1 promtool check rules "$WORK/bad_promql.yml"
echo "ok"
