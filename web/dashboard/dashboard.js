/* dashboard.js: the Noderr executive dashboard (docs/monitoring.md, "Dashboard").
 *
 * One WebSocket to /ws on the page's own origin: the server sends a snapshot first
 * ({"type":"snapshot","seq":N,"data":{...}}), then deltas ({"type":"delta","seq":N+1,"ops":[...]})
 * whose ops are {"p": JSON Pointer, "v": value} (set) or {"p": ...} (remove), exactly as
 * src/monitor/dashboard.c builds them. A gap in seq or a closed socket reconnects (with a
 * back-off) and starts over from a new snapshot. No polling.
 *
 * Controls are POSTs with "Authorization: Bearer TOKEN", each behind a confirmation; the token
 * is typed by the operator (it is in STATE_DIR/dashboard.token) and kept for this tab only. */
(function () {
  "use strict";

  var state = { doc: null, seq: -1, socket: null, retryMs: 250, renders: 0, firstRenderMs: null,
                chart: null, series: null, lastPoint: 0,
                timing: { script: performance.now(), open: null, first_message: null } };
  window.ndDashboard = state;

  function $(id) { return document.getElementById(id); }

  function esc(v) {
    return String(v).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function get(doc, path) {
    var parts = path.split("."), v = doc;
    for (var i = 0; i < parts.length && v != null; i++) v = v[parts[i]];
    return v;
  }

  /* ---- Deltas: the same semantics as nd_dashboard_apply ---------------------------------- */

  function decodeToken(t) { return t.replace(/~1/g, "/").replace(/~0/g, "~"); }

  function applyOps(doc, ops) {
    for (var i = 0; i < ops.length; i++) {
      var op = ops[i], has = Object.prototype.hasOwnProperty.call(op, "v");
      if (op.p === "") { doc = op.v; continue; }
      var tokens = op.p.split("/").slice(1).map(decodeToken), parent = doc;
      for (var k = 0; k < tokens.length - 1; k++) {
        parent = parent[Array.isArray(parent) ? Number(tokens[k]) : tokens[k]];
        if (parent == null) throw new Error("delta path " + op.p + ": no such member");
      }
      var last = tokens[tokens.length - 1];
      if (Array.isArray(parent)) {
        var index = Number(last);
        if (has) parent[index] = op.v; else parent.splice(index, 1);
      } else if (has) {
        parent[last] = op.v;
      } else {
        delete parent[last];
      }
    }
    return doc;
  }
  state.applyOps = applyOps;

  /* ---- Rendering ------------------------------------------------------------------------- */

  function num(text) { return text == null ? NaN : Number(text); }

  function signClass(text) {
    var x = num(text);
    return x > 0 ? "pos" : x < 0 ? "neg" : "";
  }

  function table(head, rows, empty) {
    if (!rows.length) return '<p class="empty">' + esc(empty) + "</p>";
    var h = "<table><thead><tr>" + head.map(function (c) {
      return "<th>" + esc(c) + "</th>";
    }).join("") + "</tr></thead><tbody>";
    rows.forEach(function (r) { h += "<tr>" + r.join("") + "</tr>"; });
    return h + "</tbody></table>";
  }

  function td(v, cls) {
    return '<td class="' + (cls || "") + '">' + (v == null ? '<span class="empty">-</span>' : esc(v)) +
           "</td>";
  }

  function renderFields(doc) {
    var nodes = document.querySelectorAll("[data-field]");
    for (var i = 0; i < nodes.length; i++) {
      var v = get(doc, nodes[i].getAttribute("data-field"));
      nodes[i].textContent = v == null ? "-" : String(v);
      if (nodes[i].hasAttribute("data-sign")) nodes[i].className = "value " + signClass(v);
    }
    $("name").textContent = doc.name || "Noderr";
    badge($("mode"), doc.mode, doc.mode === "live" ? "warn" : "na");
    var halted = doc.state === "running" && doc.risk && doc.risk.halted;
    badge($("state"), halted ? "halted" : doc.state, doc.state === "running" && !halted ? "good" : "bad");
    $("open-count").textContent = (doc.open_orders || []).length;
  }

  function badge(node, text, cls) {
    node.textContent = text || "-";
    node.className = "badge " + cls;
  }

  function renderAttribution(dash) {
    var a = (dash && dash.attribution) || {};
    ["strategy", "asset", "venue"].forEach(function (kind) {
      var rows = (a[kind] || []).map(function (r) {
        return [td(r.name), td(r.net, "num " + signClass(r.net)), td(r.realized, "num"),
                td(r.unrealized, "num"), td(r.fees, "num"), td(r.trades, "num")];
      });
      $("attr-" + kind).innerHTML = table(["name", "net", "realized", "unrealized", "fees",
                                           "trades"], rows, "nothing yet");
    });
  }

  /* Heat: green at 0 to red at the limit (1.0) and beyond. */
  function heat(v) {
    if (v == null) return td(null, "heat");
    var x = Math.max(0, Math.min(1, Number(v)));
    var hue = Math.round(120 * (1 - x));
    return '<td class="heat" style="background:hsl(' + hue + ',70%,' + (85 - 20 * x) + '%)">' +
           esc((100 * Number(v)).toFixed(1) + "%") + "</td>";
  }

  function renderRisk(doc, dash) {
    var risk = doc.risk || {}, limits = (dash && dash.risk_limits) || {};
    var line = risk.halted ? "HALTED (" + (risk.halt_kind || "?") + ")" : "trading";
    if (risk.kill_switch) line += ", kill switch engaged";
    line += " \u00b7 trips " + (risk.trips || 0);
    if (limits.max_drawdown != null) line += " \u00b7 drawdown limit " + (100 * limits.max_drawdown).toFixed(2) + "%";
    if (dash && dash.var_95 != null) line += " \u00b7 VaR 95% " + (100 * dash.var_95).toFixed(2) + "%";
    $("risk-line").textContent = line;
    var rows = ((dash && dash.heatmap) || []).map(function (r) {
      return [td(r.kind), td(r.name), heat(r.exposure), heat(r.drawdown_used), heat(r.var),
              heat(r.anomaly)];
    });
    $("heatmap").innerHTML = table(["kind", "name", "exposure / limit", "drawdown / limit",
                                    "VaR 95%", "anomaly"], rows, "no risk data yet");
  }

  function renderBook(doc) {
    var pos = (doc.positions || []).map(function (p) {
      return [td(p.symbol), td(p.qty, "num " + signClass(p.qty)), td(p.last_price, "num")];
    });
    $("positions").innerHTML = table(["symbol", "qty", "last price"], pos, "no instruments");
    var orders = (doc.open_orders || []).map(function (o) {
      return [td(o.client_id, "num"), td(o.symbol), td(o.side), td(o.type), td(o.price, "num"),
              td(o.qty, "num"), td(o.filled, "num"), td(o.status)];
    });
    $("orders").innerHTML = table(["id", "symbol", "side", "type", "price", "qty", "filled",
                                   "status"], orders, "no open orders");
  }

  function renderStrategies(doc, dash) {
    var strategies = (dash && dash.strategies) || [];
    var rows = strategies.map(function (s, i) {
      var paused = !!s.paused;
      return [td(s.name), td(paused ? "paused" : "active"),
              '<td><button type="button" data-action="' + (paused ? "resume" : "pause") +
              '" data-strategy="' + i + '">' + (paused ? "Resume" : "Pause") + "</button></td>"];
    });
    return rows;
  }

  function renderPipeline(doc, dash) {
    var p = doc.pipeline || (dash && dash.pipeline);
    var controlRows = renderStrategies(doc, dash);
    var html = table(["strategy", "state", ""], controlRows, "no strategies");
    var cap = doc.launch && doc.launch.capital;
    if ((!p || !p.versions) && cap && cap.strategies) {
      /* A launch: each slot's version, its ramp and weight (docs/launcher.md). */
      html += table(["strategy", "version", "ramp", "weight", "ramp state"],
                    cap.strategies.map(function (s) {
        return [td(s.strategy), td(s.version), heat(s.ramp_share), td(s.weight, "num"),
                td(s.ramp_paused ? "paused" : "climbing")];
      }), "no strategies") +
        '<p class="note" id="pipeline-launch">Rollbacks so far: ' + esc(String(cap.rollbacks)) +
        " (automatic, by the launcher's guards).</p>";
    } else if (!p || !p.versions) {
      html += '<p class="empty" id="pipeline-empty">No deployment pipeline in this session: ' +
              "promote and roll back are not available yet.</p>";
    } else {
      html += table(["version", "stage", "ramp", "since", ""], p.versions.map(function (v) {
        return [td(v.name), td(v.stage), heat(v.ramp_share), td(v.since),
                '<td><button type="button" data-action="promote" data-strategy="' + esc(v.name) +
                '">Promote</button> <button type="button" data-action="rollback" data-strategy="' +
                esc(v.name) + '">Roll back</button></td>'];
      }), "no versions");
      html += "<h3>History</h3>" + table(["at", "version", "event"], (p.history || []).map(function (h) {
        return [td(h.at), td(h.version), td(h.event)];
      }), "no promotion or rollback yet");
    }
    $("pipeline").innerHTML = html;
  }

  function renderHealth(doc, dash) {
    var b = ((dash && dash.breakers) || []).map(function (t) {
      return [td(t.at), td(t.kind), td(t.equity, "num")];
    });
    $("breakers").innerHTML = table(["at", "breaker", "equity"], b, "no breaker has tripped");
    var alerts = (doc.compliance && doc.compliance.alerts) || [];
    $("alerts").innerHTML = alerts.length ? table(["at", "rule", "detail"], alerts.map(function (a) {
      return [td(a.at), td(a.rule), td(a.detail)];
    }), "") : '<p class="empty">no compliance alerts</p>';
    var f = doc.feed || {}, rows = [[td("market feed"), td(f.state), td(f.age_ms == null ? null : f.age_ms + " ms")]];
    /* A launch's supervised modules (docs/launcher.md "The integrator"). */
    ((doc.health && doc.health.modules) || (doc.launch && doc.launch.modules) || []).forEach(function (m) {
      rows.push([td(m.name), td(m.state), td(m.detail || m.check || m.reason)]);
    });
    $("health").innerHTML = table(["module", "state", "detail"], rows, "");
    var lat = (dash && dash.latency) || doc.latency || {};
    var lrows = Object.keys(lat).sort().map(function (k) {
      var l = lat[k] || {};
      return [td(k), td(l.p50_us, "num"), td(l.p99_us, "num"), td(l.max_us, "num"), td(l.count, "num")];
    });
    lrows.unshift([td("feed age"), td(f.age_ms == null ? null : f.age_ms * 1000, "num"), td(null), td(null), td(f.messages, "num")]);
    $("latency").innerHTML = table(["measure", "p50 (us)", "p99 (us)", "max (us)", "count"], lrows, "");
  }

  function renderChart(doc) {
    if (!window.LightweightCharts || !doc.account) return;
    if (!state.chart) {
      var el = $("equity-chart");
      state.chart = LightweightCharts.createChart(el, { autoSize: true, height: 220,
        layout: { attributionLogo: false }, timeScale: { timeVisible: true, secondsVisible: true } });
      state.series = state.chart.addSeries(LightweightCharts.LineSeries, { color: "#2563eb", lineWidth: 2 });
    }
    var t = Math.floor(Number(doc.updated_at_ns || 0) / 1e9);
    if (t <= 0 || t < state.lastPoint) return;
    state.series.update({ time: t, value: num(doc.account.equity) });
    state.lastPoint = t;
  }

  function render() {
    var doc = state.doc, dash = doc && doc.dashboard;
    if (!doc) return;
    renderFields(doc);
    renderAttribution(dash);
    renderRisk(doc, dash);
    renderBook(doc);
    renderPipeline(doc, dash);
    renderHealth(doc, dash);
    try { renderChart(doc); } catch (e) { /* the chart is an extra: the numbers still show */ }
    state.renders++;
    if (state.firstRenderMs === null) {
      state.firstRenderMs = performance.now();
      document.body.setAttribute("data-ready", "1");
    }
    document.body.setAttribute("data-seq", String(state.seq));
  }

  /* ---- The WebSocket --------------------------------------------------------------------- */

  function setConn(up, text) {
    var c = $("conn");
    c.textContent = text;
    c.className = "conn " + (up ? "up" : "down");
  }

  function connect() {
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws";
    var ws = new WebSocket(url);
    state.socket = ws;
    ws.onopen = function () {
      setConn(true, "live");
      state.retryMs = 250;
      if (state.timing.open === null) state.timing.open = performance.now();
    };
    ws.onmessage = function (ev) {
      var m;
      if (state.timing.first_message === null) state.timing.first_message = performance.now();
      try { m = JSON.parse(ev.data); } catch (e) { ws.close(); return; }
      if (m.type === "snapshot") {
        state.doc = m.data;
        state.seq = m.seq;
      } else if (m.type === "delta" && state.doc && m.seq === state.seq + 1) {
        try { state.doc = applyOps(state.doc, m.ops); } catch (e) { ws.close(); return; }
        state.seq = m.seq;
      } else {
        ws.close(); /* a gap: start over from a snapshot */
        return;
      }
      render();
    };
    ws.onclose = function () {
      if (state.socket !== ws) return;
      setConn(false, "reconnecting");
      setTimeout(connect, state.retryMs);
      state.retryMs = Math.min(5000, state.retryMs * 2);
    };
  }

  /* ---- Controls -------------------------------------------------------------------------- */

  var TOKEN_KEY = "noderr-dashboard-token";

  function confirmAction(text, run) {
    var d = $("confirm");
    $("confirm-text").textContent = text;
    $("confirm-token").value = sessionStorage.getItem(TOKEN_KEY) || "";
    d.returnValue = "";
    d.onclose = function () {
      if (d.returnValue !== "ok") return;
      var token = $("confirm-token").value.trim();
      if (token) sessionStorage.setItem(TOKEN_KEY, token);
      run(token);
    };
    d.showModal();
  }

  function post(path, body, token) {
    var msg = $("control-msg");
    msg.textContent = "sending...";
    return fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Authorization": "Bearer " + token },
      body: body ? JSON.stringify(body) : ""
    }).then(function (r) {
      return r.text().then(function (t) {
        msg.textContent = (r.ok ? "done: " : "refused (" + r.status + "): ") + t.trim();
        msg.setAttribute("data-status", String(r.status));
      });
    }).catch(function (e) { msg.textContent = "failed: " + e; });
  }

  var ACTIONS = {
    pause: ["/api/strategy/pause", "Pause strategy "],
    resume: ["/api/strategy/resume", "Resume strategy "],
    promote: ["/api/promote", "Promote "],
    rollback: ["/api/rollback", "Roll back "]
  };

  function setupControls() {
    $("kill").onclick = function () {
      confirmAction("Engage the kill switch? Trading halts, working orders are cancelled and " +
                    "positions flattened; only an operator releases it.", function (token) {
        post("/api/kill", null, token);
      });
    };
    $("token-btn").onclick = function () {
      confirmAction("Set the bearer token for this tab.", function () {
        $("control-msg").textContent = "token set";
      });
    };
    document.addEventListener("click", function (ev) {
      var b = ev.target.closest && ev.target.closest("button[data-action]");
      if (!b) return;
      var a = ACTIONS[b.getAttribute("data-action")], s = b.getAttribute("data-strategy");
      var name = s;
      var strategies = (state.doc && state.doc.dashboard && state.doc.dashboard.strategies) || [];
      if (/^[0-9]+$/.test(s) && strategies[Number(s)]) name = strategies[Number(s)].name + " (#" + s + ")";
      confirmAction(a[1] + name + "?", function (token) { post(a[0], { strategy: s }, token); });
    });
  }

  setupControls();
  connect();
})();
