#!/usr/bin/env python3
"""92_binance_rest_server.py: a local stand-in for api.binance.com used by test_binance_rest.

Speaks the real REST shapes: checks X-MBX-APIKEY, the HMAC-SHA256 signature of the query
string then the form body (parameters may come in either, as on Binance), timestamp against recvWindow, the parameters each order type needs, and answers with
Binance's bodies, X-MBX-USED-WEIGHT-1M and Retry-After headers. exchangeInfo comes from the
shared fixtures when present. Behaviour is chosen by newClientOrderId / origClientOrderId.
GET /api/v3/depth serves, per symbol, the REST snapshots listed in DEPTH_SCRIPT (a JSON object
{"SYMBOL": [body, ...]}, served in turn, the last one repeated). The listenKey endpoints
(POST/PUT/DELETE /api/v3/userDataStream) need the API key, no signature; keys are "lk1",
"lk2", ...; the second keep-alive PUT of a key answers -1125 (the key expired), so a client
must create a new one.
Usage: 92_binance_rest_server.py PORTFILE LOGFILE API_KEY SECRET FIXTURES_DIR [DEPTH_SCRIPT]
"""
import hashlib, hmac, json, os, sys, time, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORTFILE, LOGFILE, API_KEY, SECRET, FIXTURES = sys.argv[1:6]
DEPTH = json.load(open(sys.argv[6])) if len(sys.argv) > 6 else {}
DEPTH_SERVED = {}
LISTEN_KEYS = {}  # live key -> keep-alives so far
KEYS_MADE = [0]
OFFSET_MS = 5000
WEIGHT = [0]
BUILTIN_INFO = {"timezone": "UTC", "serverTime": 0, "rateLimits": [], "exchangeFilters": [],
                "symbols": [{"symbol": "RUNEEUR", "status": "TRADING", "filters": [
                    {"filterType": "PRICE_FILTER", "minPrice": "0.00100000",
                     "maxPrice": "10000.00000000", "tickSize": "0.00100000"},
                    {"filterType": "LOT_SIZE", "minQty": "0.10000000",
                     "maxQty": "9222449.00000000", "stepSize": "0.10000000"},
                    {"filterType": "MIN_NOTIONAL", "minNotional": "10.00000000",
                     "applyToMarket": True, "avgPriceMins": 5}]}]}
NEED = {"LIMIT": {"timeInForce", "price"}, "MARKET": set(), "LIMIT_MAKER": {"price"},
        "STOP_LOSS_LIMIT": {"timeInForce", "price", "stopPrice"}}


def now_ms():
    return int(time.time() * 1000) + OFFSET_MS


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body, extra=None):
        WEIGHT[0] += 1
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-MBX-USED-WEIGHT-1M", str(WEIGHT[0]))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, code, msg, extra=None):
        self.reply(status, {"code": code, "msg": msg}, extra)

    def verify(self, raw, entry):
        entry["apikey_ok"] = self.headers.get("X-MBX-APIKEY") == API_KEY
        unsigned, _, sig = raw.rpartition("&signature=")
        want = hmac.new(SECRET.encode(), unsigned.encode(), hashlib.sha256).hexdigest()
        entry["sig_ok"] = sig == want

    def check_signed(self, raw, q, entry):
        if not entry["apikey_ok"]:
            self.error(401, -2015, "Invalid API-key, IP, or permissions for action.")
            return False
        if not entry["sig_ok"]:
            self.error(400, -1022, "Signature for this request is not valid.")
            return False
        ts, window = int(q.get("timestamp", "0")), int(q.get("recvWindow", "5000"))
        if abs(now_ms() - ts) > window:
            self.error(400, -1021, "Timestamp for this request is outside of the recvWindow.")
            return False
        return True

    def order(self, q):
        cid = q.get("newClientOrderId", "")
        if cid == "rl429":
            return self.error(429, -1003, "Too much request weight used.", {"Retry-After": "1"})
        if cid == "ban418":
            return self.error(418, -1003, "Way too much request weight used; IP banned.",
                              {"Retry-After": "120"})
        if cid == "nofunds":
            return self.error(400, -2010, "Account has insufficient balance for requested action.")
        if cid == "boom500":
            return self.reply(503, {})
        typ = q.get("type")
        given = set(q) - {"symbol", "side", "type", "quantity", "newClientOrderId", "timestamp",
                          "recvWindow", "signature"}
        if typ not in NEED or given != NEED[typ]:
            return self.error(400, -1102, "Mandatory parameter was not sent or malformed: %s %s"
                              % (typ, sorted(given)))
        self.reply(200, {"symbol": q["symbol"], "orderId": 28, "orderListId": -1,
                         "clientOrderId": cid, "transactTime": now_ms(), "price": q.get("price", "0"),
                         "origQty": q["quantity"], "executedQty": "0", "status": "NEW",
                         "type": typ, "side": q["side"], "fills": []})

    def handle_any(self, method):
        url = urllib.parse.urlsplit(self.path)
        # Binance's totalParams: the query string then the form body, signed as one string.
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        if body and self.headers.get("Content-Type") != "application/x-www-form-urlencoded":
            return self.error(400, -1100, "Illegal characters found in a parameter.")
        raw = url.query + body
        q = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        q.update(urllib.parse.parse_qsl(body, keep_blank_values=True))
        entry = {"method": method, "path": url.path, "query": q, "in_body": bool(body)}
        if url.path not in ("/api/v3/time", "/api/v3/exchangeInfo"):
            self.verify(raw, entry)
        # Logged before the reply, so the client never reads a log missing its own request.
        with open(LOGFILE, "a") as fh:
            fh.write(json.dumps(entry) + "\n")
        self.route(method, url, raw, q, entry)

    def depth(self, q):
        bodies = DEPTH.get(q.get("symbol", ""))
        if not bodies:
            return self.error(400, -1121, "Invalid symbol.")
        n = DEPTH_SERVED.get(q["symbol"], 0)
        DEPTH_SERVED[q["symbol"]] = n + 1
        self.reply(200, bodies[min(n, len(bodies) - 1)])

    def user_stream(self, method, q, entry):
        if not entry["apikey_ok"]:
            return self.error(401, -2015, "Invalid API-key, IP, or permissions for action.")
        if method == "POST":
            KEYS_MADE[0] += 1
            key = "lk%d" % KEYS_MADE[0]
            LISTEN_KEYS[key] = 0
            return self.reply(200, {"listenKey": key})
        key = q.get("listenKey", "")
        if key not in LISTEN_KEYS:
            return self.error(400, -1125, "This listenKey does not exist.")
        if method == "PUT":
            LISTEN_KEYS[key] += 1
            if LISTEN_KEYS[key] == 2:
                del LISTEN_KEYS[key]
                return self.error(400, -1125, "This listenKey does not exist.")
        else:
            del LISTEN_KEYS[key]
        self.reply(200, {})

    def route(self, method, url, raw, q, entry):
        path = url.path
        if path == "/api/v3/depth":
            return self.depth(q)
        if path == "/api/v3/userDataStream":
            return self.user_stream(method, q, entry)
        if path == "/api/v3/time":
            return self.reply(200, {"serverTime": now_ms()})
        if path == "/api/v3/exchangeInfo":
            fx = os.path.join(FIXTURES, "rest", "exchangeInfo_2021-10-12_filtered.json")
            return self.reply(200, json.load(open(fx)) if os.path.exists(fx) else BUILTIN_INFO)
        if not self.check_signed(raw, q, entry):
            return
        if path == "/api/v3/order" and method == "POST":
            return self.order(q)
        if path == "/api/v3/order" and q.get("origClientOrderId") == "unknown":
            return self.error(400, -2011 if method == "DELETE" else -2013, "Unknown order sent.")
        if path == "/api/v3/order":
            return self.reply(200, {"symbol": q["symbol"], "clientOrderId": q["origClientOrderId"],
                                    "status": "CANCELED" if method == "DELETE" else "NEW"})
        if path == "/api/v3/openOrders":
            return self.reply(200, [])
        if path == "/api/v3/account":
            return self.reply(200, {"balances": [{"asset": "EUR", "free": "100.0", "locked": "0"}]})
        self.error(404, -1100, "not found")

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_DELETE(self):
        self.handle_any("DELETE")


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(PORTFILE + ".tmp", "w") as fh:
    fh.write(str(server.server_address[1]))
os.rename(PORTFILE + ".tmp", PORTFILE)
server.serve_forever()
