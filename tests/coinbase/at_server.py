#!/usr/bin/env python3
"""at_server.py: a Coinbase Advanced Trade REST server on 127.0.0.1 for tests/unit/test_coinbase_rest.c.

Usage: at_server.py PUBLIC_KEY_PEM PORT_FILE FIXTURE_DIR
Every request must carry "Authorization: Bearer <JWT>" signed ES256 by the key whose public half
is PUBLIC_KEY_PEM, with header kid/nonce/typ, claims iss "cdp", sub == kid, exp == nbf + 120,
nbf within 60 s of now, and uri "METHOD host:port/path" for this very request (query excluded);
otherwise 401 with the reason. Orders, fills and accounts come from the recorded fixtures
(coinbase/advanced_rest). Exit code 3 when the Python 'cryptography' package is missing.
"""
import base64
import json
import os
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
except ImportError:
    sys.exit(3)

PUB = serialization.load_pem_public_key(open(sys.argv[1], "rb").read())
PORT_FILE = sys.argv[2]
FIX = sys.argv[3]
PREFIX = "/api/v3/brokerage"


def b64d(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def check_jwt(handler, method, path):
    auth = handler.headers.get("Authorization", "")
    if not auth.startswith("Bearer "):
        return "no bearer token"
    parts = auth[7:].split(".")
    if len(parts) != 3:
        return "not a JWS"
    header, claims, sig = json.loads(b64d(parts[0])), json.loads(b64d(parts[1])), b64d(parts[2])
    if header.get("alg") != "ES256" or header.get("typ") != "JWT" or not header.get("nonce"):
        return "bad header %r" % header
    if len(sig) != 64:
        return "signature is not raw r||s"
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    try:
        PUB.verify(der, (parts[0] + "." + parts[1]).encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return "bad signature"
    host = handler.headers.get("Host")
    want_uri = "%s %s%s" % (method, host, path.split("?")[0])
    if claims.get("iss") != "cdp" or claims.get("sub") != header.get("kid"):
        return "bad iss/sub"
    if claims.get("exp") != claims.get("nbf", 0) + 120 or abs(claims["nbf"] - time.time()) > 60:
        return "bad nbf/exp"
    if claims.get("uri") != want_uri:
        return "uri %r, want %r" % (claims.get("uri"), want_uri)
    return None


def fixture(name):
    with open(os.path.join(FIX, name)) as fh:
        return json.load(fh)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, obj):
        raw = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def handle_any(self, method):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")) or 0)
        why = check_jwt(self, method, self.path)
        if why:
            return self.reply(401, {"error": "UNAUTHENTICATED", "message": why})
        path = self.path[len(PREFIX):] if self.path.startswith(PREFIX) else self.path
        if method == "POST" and path == "/orders":
            req = json.loads(body)
            if req["product_id"] == "FAIL-USD":
                return self.reply(200, fixture("shape_create_order_response_failure.json"))
            conf = req["order_configuration"]
            if set(req) != {"client_order_id", "product_id", "side", "order_configuration"} \
                    or len(conf) != 1:
                return self.reply(400, {"error": "INVALID_ARGUMENT", "message": "bad body"})
            ok = fixture("shape_create_order_response_success.json")
            oid = str(uuid.uuid5(uuid.NAMESPACE_OID, req["client_order_id"]))
            ok["order_id"] = ok["success_response"]["order_id"] = oid
            ok["success_response"].update(product_id=req["product_id"], side=req["side"],
                                          client_order_id=req["client_order_id"])
            ok["order_configuration"] = conf
            return self.reply(200, ok)
        if method == "POST" and path == "/orders/batch_cancel":
            ids = json.loads(body)["order_ids"]
            return self.reply(200, {"results": [{"success": True, "failure_reason":
                                                 "UNKNOWN_CANCEL_FAILURE_REASON", "order_id": i}
                                                for i in ids]})
        if method == "GET" and path.startswith("/orders/historical/batch"):
            return self.reply(200, fixture("live_historical_orders_batch_ADA-USDT_2023-11-26.json"))
        if method == "GET" and path.startswith("/orders/historical/fills"):
            return self.reply(200, fixture("live_fills_ADA-USDT_2023-11-26.json"))
        if method == "GET" and path == "/accounts":
            return self.reply(200, {"accounts": [
                {"uuid": "a1", "name": "BTC Wallet", "currency": "BTC",
                 "available_balance": {"value": "0.01234567", "currency": "BTC"},
                 "hold": {"value": "0.001", "currency": "BTC"}, "active": True},
                {"uuid": "a2", "name": "USD Wallet", "currency": "USD",
                 "available_balance": {"value": "1500.25", "currency": "USD"},
                 "hold": {"value": "0", "currency": "USD"}, "active": True}],
                "has_next": False, "cursor": "", "size": 2})
        return self.reply(404, {"error": "NOT_FOUND"})

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
with open(PORT_FILE + ".tmp", "w") as fh:
    fh.write(str(server.server_address[1]))
os.rename(PORT_FILE + ".tmp", PORT_FILE)
threading.Thread(target=server.serve_forever, daemon=True).start()
while True:
    time.sleep(3600)
