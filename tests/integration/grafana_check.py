#!/usr/bin/env python3
"""grafana_check.py: deploy/grafana's dashboard against Grafana's dashboard model, for
69_metrics_deploy.sh, 69_metrics_session.sh and 69_launch.sh (docs/monitoring.md, "Grafana").

Grafana itself cannot be installed here, so this checks what an import needs and what makes every
panel show data:

  grafana_check.py model DASHBOARD.json OUT_RULES.yml
      The model: uid, title, an integer schemaVersion Grafana migrates from (>= 30, <= 41),
      panels with unique integer ids, a known type and a gridPos (h, w, x, y integers within the
      24-column grid, no two panels overlapping); every panel but a row has a Prometheus
      datasource (the ${datasource} variable) and targets, each with a refId unique in its panel,
      an expr and the same datasource. Templating: every variable has a name and a type, query
      variables a datasource and a query, and every $var, ${var} or [[var]] a query, a legend, a
      title or another variable uses is defined (variables before the ones that use them) or is
      one of Grafana's own ($__rate_interval, ...). Writes every expression (and each query
      variable's selector) as a recording rule into OUT_RULES.yml, the variables replaced by
      what Grafana would put there, for `promtool check rules` to parse.
  grafana_check.py metrics DASHBOARD.json SOURCE SCRAPE...
      Every metric the dashboard's queries and variables use that SOURCE exports (session: a
      paper session and exchange-sim; launch: the launcher's own series) is a sample name in
      the scrapes (text format; _bucket, _sum and _count count for their histogram, and a family
      declared by its # TYPE line without series yet counts).
Prints one line of counts; exits 1 naming what is wrong.
"""
import json
import re
import sys

SCHEMA_MIN, SCHEMA_MAX = 30, 41
GRID_COLUMNS = 24
PANEL_TYPES = {"row", "timeseries", "stat", "table", "gauge", "bargauge", "heatmap", "text",
               "state-timeline", "status-history", "piechart", "barchart", "logs"}
BUILTINS = {"__rate_interval", "__interval", "__interval_ms", "__range", "__range_s",
            "__range_ms", "__from", "__to", "__dashboard", "__name", "__org", "__user",
            "__all", "__auto"}
# What Grafana substitutes, for promtool: durations for its own, a match-all regex for ours.
BUILTIN_VALUES = {"__rate_interval": "1m", "__interval": "1m", "__range": "1h",
                  "__interval_ms": "60000", "__range_s": "3600", "__range_ms": "3600000"}
VAR_RE = re.compile(r"\$\{([A-Za-z0-9_]+)(?::[a-z]+)?\}|\[\[([A-Za-z0-9_]+)\]\]|\$([A-Za-z0-9_]+)")
METRIC_RE = re.compile(r"\b((?:noderr|process)_[a-z0-9_]+)")
# Which process exports a metric family: the launcher adds these to its session's registry;
# every other noderr_ or process_ family is a paper session's or exchange-sim's.
LAUNCH_RE = re.compile(r"^noderr_(module_up|ramp_share_ratio|ramp_paused|pipeline_stage)$")
SOURCES = {"launch": lambda m: bool(LAUNCH_RE.match(m)),
           "session": lambda m: not LAUNCH_RE.match(m)}

problems = []


def need(cond, what):
    if not cond:
        problems.append(what)
    return cond


def variables_in(text):
    return [a or b or c for a, b, c in VAR_RE.findall(text or "")]


def check_top(d):
    need(isinstance(d.get("uid"), str) and d["uid"], "no uid")
    need(isinstance(d.get("title"), str) and d["title"], "no title")
    sv = d.get("schemaVersion")
    need(isinstance(sv, int) and SCHEMA_MIN <= sv <= SCHEMA_MAX,
         f"schemaVersion {sv!r} is not an integer in {SCHEMA_MIN}..{SCHEMA_MAX}")
    need(isinstance(d.get("panels"), list) and d["panels"], "no panels")
    need(isinstance(d.get("templating", {}).get("list"), list), "no templating.list")


def check_grid(panels):
    cells = {}
    for p in panels:
        g = p.get("gridPos")
        if not need(isinstance(g, dict) and all(isinstance(g.get(k), int) for k in "hwxy"),
                    f"panel {p.get('id')}: gridPos needs integer h, w, x, y"):
            continue
        need(g["w"] >= 1 and g["h"] >= 1 and g["x"] >= 0 and g["y"] >= 0 and
             g["x"] + g["w"] <= GRID_COLUMNS, f"panel {p['id']}: gridPos {g} is off the grid")
        for y in range(g["y"], g["y"] + g["h"]):
            for x in range(g["x"], min(g["x"] + g["w"], GRID_COLUMNS)):
                other = cells.setdefault((x, y), p["id"])
                need(other == p["id"], f"panels {other} and {p['id']} overlap at x={x} y={y}")


def check_datasource(where, ds):
    need(isinstance(ds, dict) and ds.get("type") == "prometheus" and
         ds.get("uid") == "${datasource}", f"{where}: datasource {ds!r} is not ${{datasource}}")


def check_panels(panels):
    ids = [p.get("id") for p in panels]
    need(all(isinstance(i, int) for i in ids), "a panel id is not an integer")
    need(len(ids) == len(set(ids)), "panel ids repeat")
    exprs = []
    for p in panels:
        where = f"panel {p.get('id')} ({p.get('title')})"
        need(p.get("type") in PANEL_TYPES, f"{where}: unknown type {p.get('type')!r}")
        need(isinstance(p.get("title"), str), f"{where}: no title")
        if p.get("type") == "row":
            continue
        check_datasource(where, p.get("datasource"))
        targets = p.get("targets")
        if not need(isinstance(targets, list) and targets, f"{where}: no targets"):
            continue
        refs = [t.get("refId") for t in targets]
        need(all(refs) and len(refs) == len(set(refs)), f"{where}: refIds {refs}")
        for t in targets:
            check_datasource(f"{where} target {t.get('refId')}", t.get("datasource"))
            if need(isinstance(t.get("expr"), str) and t["expr"].strip(),
                    f"{where} target {t.get('refId')}: no expr"):
                exprs.append((f"panel_{p['id']}_{t['refId']}", t["expr"], where))
    check_grid(panels)
    return exprs


def check_variables(d, exprs):
    defined = []
    selectors = []
    for v in d["templating"]["list"]:
        name, kind = v.get("name"), v.get("type")
        need(isinstance(name, str) and name and kind, f"variable {v!r}: no name or type")
        if kind == "query":
            check_datasource(f"variable {name}", v.get("datasource"))
            q = v.get("query")
            q = q.get("query") if isinstance(q, dict) else q
            if need(isinstance(q, str) and q, f"variable {name}: no query"):
                for used in variables_in(q):
                    need(used in defined or used in BUILTINS,
                         f"variable {name}'s query uses ${used}, not defined before it")
                m = re.fullmatch(r"\s*label_values\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*", q)
                if need(m, f"variable {name}: query {q!r} is not label_values(SELECTOR, LABEL)"):
                    selectors.append((f"variable_{name}", m.group(1), f"variable {name}"))
        elif kind == "datasource":
            need(v.get("query") == "prometheus", f"variable {name}: not a Prometheus datasource")
        defined.append(name)
    texts = [(where, e) for _, e, where in exprs]
    for p in d["panels"]:
        texts.append((f"panel {p.get('id')} title", p.get("title", "")))
        for t in p.get("targets", []):
            texts.append((f"panel {p.get('id')} legend", t.get("legendFormat", "")))
    for where, text in texts:
        for used in variables_in(text):
            need(used in defined or used in BUILTINS, f"{where}: ${used} is not a variable")
    return defined, selectors


def substitute(expr):
    def one(m):
        name = m.group(1) or m.group(2) or m.group(3)
        return BUILTIN_VALUES.get(name, ".*")
    return VAR_RE.sub(one, expr)


def write_rules(path, exprs):
    rules = [{"record": f"grafana:{name}", "expr": substitute(e)} for name, e, _ in exprs]
    with open(path, "w") as f:  # JSON is YAML: promtool reads it
        json.dump({"groups": [{"name": "grafana_dashboard_queries", "rules": rules}]}, f,
                  indent=1)


def used_metrics(exprs):
    used = set()
    for _, e, _ in exprs:
        for m in METRIC_RE.findall(e):
            used.add(m)
    return used


def scraped_names(paths):
    names = set()
    for path in paths:
        for line in open(path):
            # A family declared without series yet (the venue round trip in paper mode) is
            # in the output: its TYPE line names it.
            m = re.match(r"# TYPE ([A-Za-z_:][A-Za-z0-9_:]*) ", line)
            if m:
                names.add(m.group(1))
            if line.startswith("#") or not line.strip():
                continue
            name = re.match(r"[A-Za-z_:][A-Za-z0-9_:]*", line).group(0)
            names.add(name)
            names.add(re.sub(r"_(bucket|sum|count)$", "", name))
    return names


def main(argv):
    if len(argv) < 4 or argv[1] not in ("model", "metrics"):
        print(__doc__, file=sys.stderr)
        return 2
    d = json.load(open(argv[2]))
    check_top(d)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    exprs = check_panels(d["panels"])
    defined, selectors = check_variables(d, exprs)
    every = exprs + selectors
    if argv[1] == "model":
        write_rules(argv[3], every)
        summary = (f"model: {len(d['panels'])} panels, {len(exprs)} queries, "
                   f"{len(defined)} variables, {len(every)} rules written")
    else:
        source = argv[3]
        if source not in SOURCES:
            print(f"unknown source {source!r}: session or launch", file=sys.stderr)
            return 2
        have = scraped_names(argv[4:])
        mine = sorted(m for m in used_metrics(every) if SOURCES[source](m))
        for m in mine:
            family = re.sub(r"_(bucket|sum|count)$", "", m)
            need(m in have or family in have, f"{m} is on the dashboard but not in the {source}'s /metrics")
        need(mine, f"no metric of the {source} on the dashboard")
        summary = f"metrics ({source}): {len(mine)} used, all in the scrape"
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
