#!/usr/bin/env python3
"""69_preflight_streams.py: a minimal Binance market-stream WebSocket server on 127.0.0.1 for
69_preflight.sh, standing in for exchange-sim's streams until they land (issue 12, item 2).

Usage: 69_preflight_streams.py SYMBOL [SYMBOL...]. Prints "listening on 127.0.0.1:PORT", then
answers every WebSocket upgrade (any path) with 101 and sends, every 50 ms, one combined-stream
trade and one bookTicker of each symbol (RFC 6455 text frames, unmasked). What the client sends
(SUBSCRIBE, pings) is read and ignored. Not a test itself (no NN_ prefix a .sh would have)."""
import base64
import hashlib
import json
import socket
import sys
import threading
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def frame(text):
    data = text.encode()
    n = len(data)
    if n < 126:
        head = bytes([0x81, n])
    else:
        head = bytes([0x81, 126]) + n.to_bytes(2, "big")
    return head + data


def serve(conn, symbols):
    conn.settimeout(5)
    req = b""
    while b"\r\n\r\n" not in req:
        chunk = conn.recv(4096)
        if not chunk:
            return
        req += chunk
    key = b""
    for line in req.split(b"\r\n"):
        if line.lower().startswith(b"sec-websocket-key:"):
            key = line.split(b":", 1)[1].strip()
    accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
    conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
    conn.setblocking(False)
    seq = 0
    while True:
        try:
            if conn.recv(4096) == b"":
                return
        except BlockingIOError:
            pass
        except OSError:
            return
        seq += 1
        now = int(time.time() * 1000)
        for s in symbols:
            low = s.lower()
            trade = {"e": "trade", "E": now, "s": s, "t": seq, "p": "40000.00", "q": "0.00100",
                     "T": now, "m": True, "M": True}
            book = {"u": seq, "s": s, "b": "39999.99", "B": "1.00000", "a": "40000.00",
                    "A": "1.00000"}
            try:
                conn.sendall(frame(json.dumps({"stream": low + "@trade", "data": trade})))
                conn.sendall(frame(json.dumps({"stream": low + "@bookTicker", "data": book})))
            except OSError:
                return
        time.sleep(0.05)


def main():
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    print("listening on 127.0.0.1:%d" % srv.getsockname()[1], flush=True)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn, sys.argv[1:]), daemon=True).start()


if __name__ == "__main__":
    main()
