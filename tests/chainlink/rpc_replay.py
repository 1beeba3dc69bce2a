#!/usr/bin/env python3
"""rpc_replay.py: a JSON-RPC server on 127.0.0.1 that replays recorded Chainlink eth_call results.

Used by tests/integration/95_chainlink_recorded.sh. Usage:
    rpc_replay.py MODE PORT_FILE [FIXTURE_DIR]
MODE is one of
    good     answer eth_call from the recorded fixtures (latestRoundData, decimals), description()
             with the ABI encoding of "ETH / USD" (derived here), getRoundData(recorded round) with
             the recorded round, anything else with an execution revert;
    rpcerror always a JSON-RPC error (-32005, as rate-limited public nodes send);
    http500  always HTTP 500;
    garbage  HTTP 200 with a body that is not JSON;
    hang     accept the request and never answer (exercises the client's timeout);
    fresh    a live feed for session tests (68_refprice.sh): any address answers decimals() 8 and
             latestRoundData() with updatedAt = now and the answer in the file FIXTURE_DIR names
             (an integer at 8 decimals, read at every request, so a test moves the price).
The chosen port is written to PORT_FILE once listening. Requests are logged as JSON lines on stdout.
"""
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODE = sys.argv[1]
PORT_FILE = sys.argv[2]
FIXTURES = sys.argv[3] if len(sys.argv) > 3 else ""
RESULTS = {}
ADDRESS = ""


def abi_string(text):
    data = text.encode()
    padded = data + b"\0" * ((32 - len(data) % 32) % 32)
    return "0x" + (32).to_bytes(32, "big").hex() + len(data).to_bytes(32, "big").hex() + padded.hex()


def load():
    global ADDRESS
    if MODE != "good":
        return
    for name in ("eth_call_latestRoundData_ETH-USD_block_26103003.json",
                 "eth_call_decimals_ETH-USD_block_26103003.json"):
        with open(os.path.join(FIXTURES, name)) as fh:
            rec = json.load(fh)
        call = rec["request"]["params"][0]
        ADDRESS = call["to"].lower()
        RESULTS[call["data"]] = rec["response"]["result"]
    RESULTS["0x7284e416"] = abi_string("ETH / USD")
    latest = RESULTS["0xfeaf968c"]
    RESULTS["0x9a6fc8f5" + latest[2:66]] = latest


def fresh_result(data):
    word = lambda v: (v % (1 << 256)).to_bytes(32, "big").hex()
    if data == "0x313ce567":
        return "0x" + word(8)
    with open(FIXTURES) as fh:
        answer = int(fh.read().strip())
    now = int(time.time())
    round_id = (1 << 64) | (now // 10)
    return "0x" + word(round_id) + word(answer) + word(now) + word(now) + word(round_id)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body):
        raw = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        req = json.loads(self.rfile.read(length) or b"{}")
        print(json.dumps({"mode": MODE, "request": req}), flush=True)
        if MODE == "hang":
            time.sleep(30)
            return
        if MODE == "http500":
            return self.reply(500, "internal error")
        if MODE == "garbage":
            return self.reply(200, "<html>not json</html>")
        rid = req.get("id")
        if MODE == "rpcerror":
            return self.reply(200, json.dumps({"jsonrpc": "2.0", "id": rid, "error": {
                "code": -32005, "message": "daily request count exceeded, request rate limited"}}))
        call = req["params"][0]
        if MODE == "fresh":
            return self.reply(200, json.dumps({"jsonrpc": "2.0", "id": rid,
                                               "result": fresh_result(call.get("data", ""))}))
        ok = req.get("method") == "eth_call" and call.get("to", "").lower() == ADDRESS
        result = RESULTS.get(call.get("data", "")) if ok else None
        if result is None:
            return self.reply(200, json.dumps({"jsonrpc": "2.0", "id": rid, "error": {
                "code": 3, "message": "execution reverted: No data present", "data": "0x"}}))
        return self.reply(200, json.dumps({"jsonrpc": "2.0", "id": rid, "result": result}))


def main():
    load()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with open(PORT_FILE + ".tmp", "w") as fh:
        fh.write(str(server.server_address[1]))
    os.rename(PORT_FILE + ".tmp", PORT_FILE)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
