// dashboard.mjs: the executive dashboard driven like a user would, with playwright-core and
// Debian's Chromium (tests/integration/68_dashboard_browser.sh starts exchange-sim and the paper
// session, then runs this). Checks, at 1280 and 390 px: the first render in under 1 s, no
// sideways scroll; the numbers on the page equal `noderr status --json` (market frozen through
// exchange-sim's admin API so both hold still); fills reach the page within 1 s; the WebSocket
// and the control POSTs refused from another origin; the kill switch refused without the token,
// then engaged with it through the page's confirmation; pause and resume of a strategy; the
// session's surveillance alerts (status compliance.alerts) in the compliance panel.
// Screenshots go to ARTIFACTS. Prints "check: ..." per check; exits 1 on the first failure.
//
// env: DASH_URL, TOKEN_FILE, NODERR, STATE_DIR, CHROMIUM, ARTIFACTS, WEB_DIR, XSIM_URL,
//      XSIM_ADMIN_TOKEN_FILE, OTHER_ORIGIN_URL (a page of another origin: exchange-sim's)
import { createRequire } from "node:module";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

const env = process.env;
const require = createRequire(env.WEB_DIR + "/package.json");
const { chromium } = require("playwright-core");

const token = readFileSync(env.TOKEN_FILE, "utf8").trim();
const check = (what) => console.log("check: " + what);
function fail(why) {
  console.error("FAIL: " + why);
  process.exit(1);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function status() {
  const out = execFileSync(env.NODERR, ["status", "--state-dir", env.STATE_DIR, "--json"]);
  return JSON.parse(out.toString());
}

async function xsimFault(body) {
  const admin = readFileSync(env.XSIM_ADMIN_TOKEN_FILE, "utf8").trim();
  const r = await fetch(env.XSIM_URL + "/admin/fault", {
    method: "POST", headers: { Authorization: "Bearer " + admin }, body: JSON.stringify(body)
  });
  if (r.status !== 200) fail("exchange-sim fault " + JSON.stringify(body) + ": HTTP " + r.status);
}

// What the page shows in the fields the status also has.
async function pageFields(page) {
  return page.evaluate(() => {
    const out = {};
    document.querySelectorAll("[data-field]").forEach((n) => {
      out[n.getAttribute("data-field")] = n.textContent;
    });
    const rows = [...document.querySelectorAll("#positions tbody tr")].map((tr) =>
      [...tr.children].map((td) => td.textContent));
    out.positions = rows;
    return out;
  });
}

function statusFields(s) {
  const f = {
    "account.equity": s.account.equity, "account.pnl": s.account.pnl,
    "account.cash": s.account.cash, "account.fees": s.account.fees,
    "orders.fills": String(s.orders.fills)
  };
  f.positions = s.positions.map((p) => [p.symbol, p.qty, p.last_price]);
  return f;
}

async function openPage(browser, width, height) {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  // The refused kill switch requests are ours (401 on purpose): anything else is an error.
  page.on("console", (m) => {
    if (m.type() === "error" && !/status of 401/.test(m.text())) errors.push(m.text());
  });
  await page.goto(env.DASH_URL, { waitUntil: "domcontentloaded" });
  await page.waitForSelector("body[data-ready='1']", { timeout: 5000 });
  const firstMs = await page.evaluate(() => window.ndDashboard.firstRenderMs);
  const timing = await page.evaluate(() => window.ndDashboard.timing);
  console.log(`timing (ms after navigation start): script ${timing.script.toFixed(0)}, ` +
              `socket open ${timing.open.toFixed(0)}, snapshot ${timing.first_message.toFixed(0)}`);
  return { context, page, errors, firstMs };
}

async function numbersEqualStatus(page, label) {
  check(`${label}: the numbers on the page equal noderr status --json (market held still)`);
  await xsimFault({ fault: "stale", ms: 6000 });
  let last = "";
  for (let k = 0; k < 40; k++) {
    await sleep(150);
    const want = statusFields(status()), got = await pageFields(page);
    const diffs = Object.keys(want).filter((key) =>
      JSON.stringify(want[key]) !== JSON.stringify(got[key]));
    if (diffs.length === 0) return;
    last = diffs.map((key) => `${key}: page ${JSON.stringify(got[key])} status ` +
                              JSON.stringify(want[key])).join("; ");
  }
  fail(`${label}: the page never matched the status: ${last}`);
}

async function complianceAlerts(page, label) {
  check(`${label}: the session's surveillance alerts (noderr status --json) are on the page`);
  const want = ((status().compliance || {}).alerts) || [];
  if (want.length === 0) fail("the session raised no surveillance alert: compliance.alerts is empty");
  let got = [];
  for (let k = 0; k < 20; k++) {
    got = await page.$$eval("#alerts tbody tr", (rows) =>
      rows.map((r) => Array.from(r.cells).map((c) => c.textContent)));
    if (want.every((a) => got.some((r) => r[0] === a.at && r[1] === a.rule && r[2] === a.detail)))
      return want.length;
    await sleep(150);
  }
  fail(`${label}: the page's alerts ${JSON.stringify(got)} are not the status' ` +
       JSON.stringify(want.map((a) => [a.at, a.rule])));
}

async function fillsWithinOneSecond(page) {
  check("a fill at the exchange appears on the page within 1 s");
  await page.evaluate(() => {
    const st = window.ndDashboard;
    st.fillLatencies = [];
    let prevFills = st.doc.orders.fills, prevAt = st.doc.updated_at_ns;
    const ws = st.socket, seen = ws.onmessage;
    ws.onmessage = (ev) => {
      seen(ev);
      const d = st.doc;
      if (d.orders.fills !== prevFills) {
        // The fill happened after the snapshot before this one was taken: a bound from above.
        st.fillLatencies.push(Date.now() - prevAt / 1e6);
        prevFills = d.orders.fills;
      }
      prevAt = d.updated_at_ns;
    };
  });
  let lat = [];
  for (let k = 0; k < 150 && lat.length < (k < 60 ? 3 : 1); k++) {
    await sleep(100);
    lat = await page.evaluate(() => window.ndDashboard.fillLatencies);
  }
  if (lat.length === 0) fail("no fill reached the page in 15 s");
  const worst = Math.max(...lat);
  console.log(`fills seen on the page: ${lat.length}, latency bound ms: ${lat.map((x) => x.toFixed(0)).join(" ")}`);
  if (worst >= 1000) fail(`a fill took ${worst.toFixed(0)} ms to reach the page`);
  return worst;
}

async function otherOriginRefused(browser) {
  check("from another origin: the WebSocket and the kill switch POST (with the token) are refused");
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(env.OTHER_ORIGIN_URL).catch(() => {});
  const wsUrl = env.DASH_URL.replace(/^http/, "ws") + "/ws";
  const got = await page.evaluate((u) => new Promise((resolve) => {
    const ws = new WebSocket(u);
    let messages = 0;
    ws.onmessage = () => messages++;
    ws.onclose = () => resolve({ opened: messages > 0, messages });
    setTimeout(() => resolve({ opened: true, messages, timeout: true }), 3000);
  }), wsUrl);
  if (got.messages > 0 || got.timeout) fail("a WebSocket from another origin got data: " + JSON.stringify(got));
  const api = await context.request.post(env.DASH_URL + "/api/kill", {
    headers: { Authorization: "Bearer " + token, Origin: new URL(env.OTHER_ORIGIN_URL).origin }
  });
  if (api.status() !== 403) fail("a kill POST from another origin got " + api.status());
  if (status().risk.kill_switch) fail("the kill switch engaged from another origin");
  await context.close();
}

async function confirmWith(page, buttonSelector, tokenText) {
  await page.click(buttonSelector);
  await page.waitForSelector("#confirm[open]");
  await page.fill("#confirm-token", tokenText);
  await page.evaluate(() => document.getElementById("control-msg").removeAttribute("data-status"));
  await page.click("#confirm-ok");
  await page.waitForFunction(() =>
    document.getElementById("control-msg").hasAttribute("data-status"));
  return page.evaluate(() => ({
    status: Number(document.getElementById("control-msg").getAttribute("data-status")),
    text: document.getElementById("control-msg").textContent
  }));
}

async function pauseResume(page) {
  check("pause and resume a strategy from the page, each behind its confirmation");
  let r = await confirmWith(page, "button[data-action='pause'][data-strategy='0']", token);
  if (r.status !== 200) fail("pause: " + r.text);
  await page.waitForSelector("button[data-action='resume'][data-strategy='0']", { timeout: 3000 });
  r = await confirmWith(page, "button[data-action='resume'][data-strategy='0']", token);
  if (r.status !== 200) fail("resume: " + r.text);
  await page.waitForSelector("button[data-action='pause'][data-strategy='0']", { timeout: 3000 });
  const cancel = page.locator("button[data-action='pause'][data-strategy='0']");
  await cancel.click();
  await page.waitForSelector("#confirm[open]");
  await page.click("#confirm button[value='cancel']");
  await sleep(300);
  if (await page.locator("button[data-action='resume'][data-strategy='0']").count() !== 0)
    fail("a cancelled confirmation still paused the strategy");
}

async function killSwitch(page) {
  check("the kill switch: refused without the token, engaged with it");
  let r = await confirmWith(page, "#kill", "");
  if (r.status !== 401) fail("kill without a token: " + r.status + " " + r.text);
  r = await confirmWith(page, "#kill", "0".repeat(64));
  if (r.status !== 401) fail("kill with a wrong token: " + r.status + " " + r.text);
  if (status().risk.kill_switch) fail("the kill switch engaged without the token");
  r = await confirmWith(page, "#kill", token);
  if (r.status !== 200) fail("kill with the token: " + r.status + " " + r.text);
  await page.waitForFunction(() => /kill switch engaged/.test(document.getElementById("risk-line").textContent),
                             null, { timeout: 3000 });
  const s = status();
  if (!s.risk.kill_switch || !s.risk.halted) fail("status does not show the kill switch: " + JSON.stringify(s.risk));
}

async function main() {
  const browser = await chromium.launch({ executablePath: env.CHROMIUM, headless: true,
                                          args: ["--no-sandbox"] });
  const report = {};
  for (const [width, height, label] of [[1280, 900, "desktop"], [390, 844, "phone"]]) {
    check(`${label} (${width} px): the page renders from the WebSocket snapshot in under 1 s`);
    const { context, page, errors, firstMs } = await openPage(browser, width, height);
    console.log(`${label}: first render at ${firstMs.toFixed(0)} ms after navigation start`);
    if (firstMs >= 1000) fail(`${label}: first render took ${firstMs.toFixed(0)} ms`);
    report[label + "_first_render_ms"] = Math.round(firstMs);
    const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    if (wide > 1) fail(`${label}: the page scrolls sideways by ${wide} px`);
    if (label === "desktop") report.fill_latency_ms_max = Math.round(await fillsWithinOneSecond(page));
    await numbersEqualStatus(page, label);
    report[label + "_alerts"] = await complianceAlerts(page, label);
    await page.screenshot({ path: `${env.ARTIFACTS}/dashboard-${width}.png`, fullPage: true });
    if (label === "desktop") {
      await otherOriginRefused(browser);
      await pauseResume(page);
    } else {
      await killSwitch(page);
      await page.screenshot({ path: `${env.ARTIFACTS}/dashboard-${width}-killed.png`, fullPage: true });
    }
    check(`${label}: reconnects by itself after the socket drops`);
    const before = await page.evaluate(() => window.ndDashboard.renders);
    await page.evaluate(() => window.ndDashboard.socket.close());
    await page.waitForFunction((n) => window.ndDashboard.renders > n &&
                               document.getElementById("conn").textContent === "live", before,
                               { timeout: 5000 });
    if (errors.length) fail(`${label}: errors on the page: ${errors.join(" | ")}`);
    await context.close();
  }
  await browser.close();
  console.log("figures: " + JSON.stringify(report));
}

main().catch((e) => fail(e.stack || String(e)));
