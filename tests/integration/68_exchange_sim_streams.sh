#!/usr/bin/env bash
# 68_exchange_sim_streams.sh: `noderr exchange-sim` WebSocket side, driven by a small python3
# WebSocket client: a replay of the shared BTCUSDT trades and bookTicker files at speed max
# delivers every recorded trade as recorded (id, price, quantity, side, time; the same messages
# on a second run), Binance's limit of 5 incoming messages a second, combined
# and raw stream paths, SUBSCRIBE / LIST_SUBSCRIPTIONS / bad requests, hostile frames (unmasked,
# oversized) closed with 1002 / 1009, the user data stream on a listenKey with an
# executionReport, and the admin fault API (token required, reject, skew, rate limit,
# disconnect), each fault logged without the token. Stopped with SIGTERM.
# Called as: 68_exchange_sim_streams.sh NODERR_BINARY DATA_DIR SHARED_DIR SOURCE_ROOT
source "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || { echo "curl missing: skipped"; exit 77; }
TRADES="$SHARED/data/BTCUSDT-trades-2021-01-08.csv"
QUOTES="$SHARED/data/BTCUSDT-bookticker-2021-01-08.csv"
[ -r "$TRADES" ] && [ -r "$QUOTES" ] || { echo "shared data missing: skipped"; exit 77; }

export NODERR_XSIM_API_KEY=streams-key NODERR_XSIM_API_SECRET="streams-secret-$$"
TOKEN="admin-token-$$-0123456789abcdef"
printf '%s\n' "$TOKEN" >"$WORK/token"
chmod 600 "$WORK/token"

check "usage errors"
expect_usage_error "--speed" "$NODERR" exchange-sim --speed fast
expect_usage_error "nope.csv" "$NODERR" exchange-sim --replay-trades "$WORK/nope.csv"
cp "$WORK/token" "$WORK/open-token" && chmod 644 "$WORK/open-token"
expect_usage_error "--admin-token-file" "$NODERR" exchange-sim \
    --admin-token-file "$WORK/open-token"
grep -q "$TOKEN" "$ERR" && fail "the token was printed"

cat >"$WORK/ws.py" <<'PY'
import base64, json, os, socket, struct, sys, time
def connect(port, path):
    s = socket.create_connection(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(4096)
        if not d: break
        buf += d
    head, _, rest = buf.partition(b"\r\n\r\n")
    return s, head.decode().split("\r\n")[0], rest
def frame(data, opcode=1, mask=True):
    data = data.encode() if isinstance(data, str) else data
    n = len(data); mb = 0x80 if mask else 0
    hdr = bytes([0x80 | opcode])
    if n < 126: hdr += bytes([mb | n])
    elif n < 65536: hdr += bytes([mb | 126]) + struct.pack(">H", n)
    else: hdr += bytes([mb | 127]) + struct.pack(">Q", n)
    if mask:
        m = os.urandom(4); hdr += m
        data = bytes(b ^ m[i % 4] for i, b in enumerate(data))
    return hdr + data
def frames(s, rest, total, quiet=None):
    """(opcode, payload) until the peer closes, `total` seconds pass, or (with quiet) nothing
    arrives for `quiet` seconds"""
    buf = rest; end = time.time() + total
    while time.time() < end:
        s.settimeout(min(quiet or total, max(0.01, end - time.time())))
        while len(buf) >= 2:
            n = buf[1] & 127; off = 2
            if n == 126:
                if len(buf) < 4: break
                n = struct.unpack(">H", buf[2:4])[0]; off = 4
            elif n == 127:
                if len(buf) < 10: break
                n = struct.unpack(">Q", buf[2:10])[0]; off = 10
            if len(buf) < off + n: break
            op = buf[0] & 15
            if op == 9: s.sendall(frame(buf[off:off + n], 10))
            yield op, buf[off:off + n]; buf = buf[off + n:]
        try:
            d = s.recv(1 << 16)
        except socket.timeout:
            if quiet: return
            continue
        if not d: return
        buf += d
PY

start() {
    "$NODERR" exchange-sim "$@" >"$WORK/server.out" 2>"$WORK/server.err" &
    PID=$!
    for _ in $(seq 300); do # 15 s: a loaded machine (two sanitizer builds testing) starts it slowly
        grep -q '^listening on ' "$WORK/server.out" 2>/dev/null && break
        sleep 0.05
    done
    LINE="$(head -n1 "$WORK/server.out")"
    [[ "$LINE" =~ ^listening\ on\ 127\.0\.0\.1:([0-9]+)$ ]] || fail "first line: '$LINE'"
    PORT="${BASH_REMATCH[1]}"
    BASE="http://127.0.0.1:$PORT"
}
stop() {
    kill -TERM "$PID"
    local rcs=0
    wait "$PID" || rcs=$?
    [ "$rcs" = 0 ] || fail "exit code $rcs after SIGTERM: $(cat "$WORK/server.err")"
    grep -qE 'runtime error:|Sanitizer' "$WORK/server.err" && fail "sanitizer: $(cat "$WORK/server.err")"
    return 0
}
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT

capture() { # capture FILE: every message of one replay, combined trade + bookTicker + depth
    python3 - "$PORT" >"$1" <<'PY'
import os, sys; sys.path.insert(0, os.environ["WORK"])
from ws import connect, frames
s, status, rest = connect(int(sys.argv[1]), "/stream?streams=btcusdt@trade/btcusdt@bookTicker/btcusdt@depth@100ms")
assert status == "HTTP/1.1 101 Switching Protocols", status
for op, p in frames(s, rest, 120, quiet=2.0):
    if op == 1: print(p.decode())
PY
}
export WORK

check "a replay at speed max: every recorded trade with its time, the same messages every run"
start --replay-trades "$TRADES" --replay-quotes "$QUOTES" --speed max
capture "$WORK/run1"
stop
start --replay-trades "$TRADES" --replay-quotes "$QUOTES" --speed max
capture "$WORK/run2"
stop
TRADES_SEEN=$(grep -c '"e":"trade"' "$WORK/run1")
[ "$TRADES_SEEN" = "$(($(wc -l <"$TRADES") - 1))" ] || fail "$TRADES_SEEN trades streamed"
FIRST=$(sed -n 2p "$TRADES" | cut -d, -f1,2)
grep -m1 '"e":"trade"' "$WORK/run1" | grep -q "\"t\":${FIRST#*,},.*\"T\":${FIRST%,*}," ||
    fail "first trade: $(grep -m1 '"e":"trade"' "$WORK/run1")"
cmp -s "$WORK/run1" "$WORK/run2" || fail "two replays of the same files differ"
python3 - "$TRADES" "$WORK/run1" <<'PY' || fail "the streamed trades are not the recording's"
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
got = [json.loads(l)["data"] for l in open(sys.argv[2]) if '"e":"trade"' in l]
assert len(got) == len(rows), (len(got), len(rows))
for r, t in zip(rows, got):
    want = (int(r["ts"]), int(r["trade_id"]), float(r["price"]), float(r["qty"]), r["is_buyer_maker"] == "true")
    assert (t["T"], t["t"], float(t["p"]), float(t["q"]), t["m"]) == want and t["E"] == t["T"], (r, t)
PY
grep -q '"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate"' "$WORK/run1" || fail "no depth"

check "requests, raw paths, hostile frames, the user data stream, faults"
start --admin-token-file "$WORK/token" --balance USDT=10000,BTC=1 --ping-s 1 --pong-timeout-s 2 \
    --tick-ms 5
python3 - "$PORT" "$BASE" "$TOKEN" <<'PY'
import json, os, struct, sys, time, urllib.request, urllib.error, hmac, hashlib
sys.path.insert(0, os.environ["WORK"])
from ws import connect, frames, frame
port, base, token = int(sys.argv[1]), sys.argv[2], sys.argv[3]
key, secret = os.environ["NODERR_XSIM_API_KEY"], os.environ["NODERR_XSIM_API_SECRET"]
def http(method, path, body=None, headers={}):
    req = urllib.request.Request(base + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=5) as r: return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e: return e.code, json.loads(e.read() or b"{}")
def order(q):
    q += "&timestamp=%d" % int(time.time() * 1000)
    sig = hmac.new(secret.encode(), q.encode(), hashlib.sha256).hexdigest()
    return http("POST", "/api/v3/order?" + q + "&signature=" + sig, headers={"X-MBX-APIKEY": key})
# raw stream path and live requests
s, st, rest = connect(port, "/ws/btcusdt@bookTicker")
assert st.endswith("101 Switching Protocols"), st
s.sendall(frame('{"method":"SUBSCRIBE","params":["btcusdt@trade","ethusdt@trade"],"id":7}'))
s.sendall(frame('{"method":"LIST_SUBSCRIPTIONS","id":"a8"}'))
s.sendall(frame('{"method":"NOPE","id":9}'))
s.sendall(frame('{"method":"SUBSCRIBE","params":["btcusdt@nonsense"],"id":10}'))
s.sendall(frame('not json'))
replies, tickers = {}, 0
for op, p in frames(s, rest, 0.8):
    if op != 1: continue
    m = json.loads(p)
    if "id" in m: replies[m["id"]] = m
    elif "b" in m and "u" in m: tickers += 1
assert replies[7] == {"result": None, "id": 7}, replies
assert replies["a8"]["result"] == ["btcusdt@bookTicker", "btcusdt@trade", "ethusdt@trade"], replies
assert replies[9]["error"]["code"] == 2 and replies[10]["error"]["code"] == 2, replies
assert replies[None]["error"]["code"] == 3, replies
assert tickers > 0, "no bookTicker on the raw path"
# more than 5 messages in a second: dropped with 1008, as Binance does
s, st, rest = connect(port, "/ws/btcusdt@trade")
s.sendall(b"".join(frame('{"method":"LIST_SUBSCRIPTIONS","id":%d}' % i) for i in range(7)))
closes = [p for op, p in frames(s, rest, 3.0) if op == 8]
assert closes and struct.unpack(">H", closes[0][:2])[0] == 1008 and b"Too many" in closes[0], closes
# the close handshake: our close is echoed, then the connection ends
s, st, rest = connect(port, "/ws/btcusdt@trade")
s.sendall(frame(struct.pack(">H", 1000) + b"bye", 8))
closes = [p for op, p in frames(s, rest, 3.0) if op == 8]
assert closes and struct.unpack(">H", closes[0][:2])[0] == 1000, closes
# hostile frames: unmasked (1002), oversized (1009)
for data, code in ((frame("hi", mask=False), 1002), (frame("x" * 70000), 1009)):
    s, st, rest = connect(port, "/ws/btcusdt@trade")
    s.sendall(data)
    closes = [p for op, p in frames(s, rest, 2.0) if op == 8]
    assert closes and struct.unpack(">H", closes[0][:2])[0] == code, (code, closes)
# user data stream
assert http("POST", "/api/v3/userDataStream")[0] == 401
st, body = http("POST", "/api/v3/userDataStream", headers={"X-MBX-APIKEY": key})
lk = body["listenKey"]; assert st == 200 and len(lk) == 60, body
assert http("PUT", "/api/v3/userDataStream?listenKey=" + lk, headers={"X-MBX-APIKEY": key}) == (200, {})
st, body = http("PUT", "/api/v3/userDataStream?listenKey=nope", headers={"X-MBX-APIKEY": key})
assert st == 400 and body["code"] == -1125, body
u, st, urest = connect(port, "/ws/" + lk)
assert st.endswith("101 Switching Protocols"), st
assert connect(port, "/ws/" + "x" * 60)[1].startswith("HTTP/1.1 400"), "a bad listenKey"
st, body = order("symbol=BTCUSDT&side=SELL&type=MARKET&quantity=0.001")
assert st == 200 and body["status"] == "FILLED", body
events = [json.loads(p) for op, p in frames(u, urest, 0.5) if op == 1]
kinds = [(e["e"], e.get("x")) for e in events]
assert ("executionReport", "NEW") in kinds and ("executionReport", "TRADE") in kinds, kinds
assert ("outboundAccountPosition", None) in kinds, kinds
trade = [e for e in events if e.get("x") == "TRADE"][0]
for f in "sSoqpPFgCxXrilzLnNTtIwmMOZYQWV":
    assert f in trade, (f, trade)
# admin faults
fault = lambda body, tok=token: http("POST", "/admin/fault", json.dumps(body).encode(),
                                     {"Authorization": "Bearer " + tok} if tok else {})
assert fault({"fault": "disconnect"}, None)[0] == 401
assert fault({"fault": "disconnect"}, "wrong-token-0123456789")[0] == 401
assert fault({"fault": "nope"})[0] == 400
assert fault({"fault": "reject", "count": 1, "code": -2010}) == (200, {"fault": "reject", "applied": True})
st, body = order("symbol=BTCUSDT&side=SELL&type=MARKET&quantity=0.001")
assert st == 400 and body["code"] == -2010, body
assert order("symbol=BTCUSDT&side=SELL&type=MARKET&quantity=0.001")[0] == 200
rej = [json.loads(p) for op, p in frames(u, b"", 0.3) if op == 1]
assert any(e.get("x") == "REJECTED" and e.get("X") == "REJECTED" for e in rej), rej
t0 = http("GET", "/api/v3/time")[1]["serverTime"]
assert fault({"fault": "skew", "ms": -30000})[0] == 200
assert http("GET", "/api/v3/time")[1]["serverTime"] - t0 < -25000
assert fault({"fault": "skew", "ms": 0})[0] == 200
assert fault({"fault": "rate_limit", "ms": 500})[0] == 200
assert http("GET", "/api/v3/ping")[0] == 429
time.sleep(0.6)
assert http("GET", "/api/v3/ping")[0] == 200
# partial fills: a MARKET order matches half its quantity, the rest expires
assert fault({"fault": "partial_fills", "on": True})[0] == 200
st, body = order("symbol=BTCUSDT&side=SELL&type=MARKET&quantity=0.002")
assert st == 200 and body["status"] == "EXPIRED" and float(body["executedQty"]) == 0.001, body
assert fault({"fault": "partial_fills", "on": False})[0] == 200
# stream faults, seen on bookTicker (u increasing) and depth (U == previous u + 1)
def watch(path, seconds):
    w, st, wrest = connect(port, path)
    return [json.loads(p) for op, p in frames(w, wrest, seconds) if op == 1]
def ticker_us(path="/ws/btcusdt@bookTicker", seconds=1.5, before=None):
    w, st, wrest = connect(port, path)
    if before: before()
    return [json.loads(p)["u"] for op, p in frames(w, wrest, seconds) if op == 1]
us = ticker_us(before=lambda: fault({"fault": "duplicate", "count": 3}))
assert sum(1 for a, b in zip(us, us[1:]) if a == b) == 3, us
us = ticker_us(before=lambda: fault({"fault": "delay", "count": 1, "ms": 400}))
assert any(b < a for a, b in zip(us, us[1:])), ("no reordering", us)
def diffs(inject):
    w, st, wrest = connect(port, "/ws/btcusdt@depth@100ms")
    first = [json.loads(p) for op, p in frames(w, wrest, 0.35) if op == 1]
    inject()
    return first + [json.loads(p) for op, p in frames(w, b"", 1.2) if op == 1]
for kind in ("gap", "drop"):
    d = diffs(lambda: fault({"fault": kind, "count": 1} if kind == "drop" else {"fault": kind}))
    jumps = sum(1 for a, b in zip(d, d[1:]) if b["U"] != a["u"] + 1)
    assert jumps == 1, (kind, [(x["U"], x["u"]) for x in d])
# spread out: every 2nd message duplicated, 3 times; count 0 ends a fault before it is used up
us = ticker_us(before=lambda: fault({"fault": "duplicate", "count": 3, "every": 2}))
dups = [i for i, (a, b) in enumerate(zip(us, us[1:])) if a == b]
assert len(dups) == 3 and all(b - a >= 2 for a, b in zip(dups, dups[1:])), (dups, us)
assert fault({"fault": "duplicate", "count": 0}) == (200, {"fault": "duplicate", "applied": True})
# corrupt: the next 2 messages cut in half (not JSON), the rest whole
w, st, wrest = connect(port, "/ws/btcusdt@bookTicker")
assert fault({"fault": "corrupt", "count": 2})[0] == 200
texts = [p for op, p in frames(w, wrest, 1.2) if op == 1]
bad = 0
for p in texts:
    try:
        json.loads(p)
    except ValueError:
        bad += 1
assert bad == 2 and len(texts) > 2, (bad, texts)
assert fault({"fault": "corrupt", "count": 1, "every": -1})[0] == 400
w.close()
# The fault before the connection: messages already on their way when it lands would count as
# a market moving while stale (3 did once, at load 3 in a full suite run).
assert fault({"fault": "stale", "ms": 1500})[0] == 200
t0 = time.time()
us = ticker_us(seconds=0.8)
assert len(us) <= 1 or time.time() - t0 > 1.5, ("market moved while stale", us)
assert ticker_us(seconds=1.5), "the market did not resume after the stale period"
m, st, mrest = connect(port, "/ws/btcusdt@trade")
assert fault({"fault": "disconnect"})[0] == 200
closes = [p for op, p in frames(m, mrest, 2.0) if op == 8]
assert closes and struct.unpack(">H", closes[0][:2])[0] == 1001, closes
# a client that never pongs is dropped with 1008 after the pong timeout
s, st, rest = connect(port, "/ws/btcusdt@trade")
s.settimeout(12); buf, t0 = rest, time.time()
while time.time() - t0 < 12 and b"Pong timeout" not in buf:
    d = s.recv(65536)
    if not d: break
    buf += d
assert b"Pong timeout" in buf, ("not dropped for missing pongs", len(buf), time.time() - t0, buf[-200:])
PY
[ $? = 0 ] || fail "stream checks"
grep -q "fault injected fault=reject" "$WORK/server.err" || fail "faults are not logged"
grep -q "$TOKEN" "$WORK/server.out" "$WORK/server.err" && fail "the token was logged"
grep -q "$NODERR_XSIM_API_SECRET" "$WORK/server.out" "$WORK/server.err" && fail "the secret was logged"

check "SIGTERM: stream clients get serverShutdown and a close (1001) first"
python3 - "$PORT" >"$WORK/shutdown" <<'PY' &
import json, os, struct, sys
sys.path.insert(0, os.environ["WORK"])
from ws import connect, frames
s, st, rest = connect(int(sys.argv[1]), "/stream?streams=btcusdt@bookTicker")
open(os.environ["WORK"] + "/shutdown.ready", "w").close()
for op, p in frames(s, rest, 10):
    if op == 1 and b"serverShutdown" in p:
        print("event", json.loads(p)["stream"])
    if op == 8:
        print("close", struct.unpack(">H", p[:2])[0])
        break
PY
CLIENT=$!
for _ in $(seq 200); do [ -e "$WORK/shutdown.ready" ] && break; sleep 0.05; done # connected
stop
wait "$CLIENT" || fail "the shutdown client failed"
[ "$(cat "$WORK/shutdown")" = "$(printf 'event !serverShutdown\nclose 1001')" ] ||
    fail "shutdown: $(cat "$WORK/shutdown")"
echo "ok"
