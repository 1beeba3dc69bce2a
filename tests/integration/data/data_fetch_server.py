#!/usr/bin/env python3
"""data_fetch_server.py: a loopback HTTP server for tests/integration/70_data_fetch.sh.

Serves ROOT on 127.0.0.1 at a free port (written to PORT_FILE once listening) and appends one
line per request ("GET /path STATUS") to LOG. Files whose path contains a --slow substring are
sent half (their .CHECKSUM files normally), then the server stalls for --slow-seconds before the rest: the test kills a fetch
mid-download there, or lets its --timeout expire.
"""
import argparse
import functools
import http.server
import os
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--slow", action="append", default=[])
    ap.add_argument("--slow-seconds", type=float, default=30.0)
    args = ap.parse_args()
    log = open(args.log, "a", buffering=1)

    class Handler(http.server.SimpleHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_request(self, code="-", size="-"):
            log.write(f"{self.command} {self.path} {code}\n")

        def log_message(self, fmt, *a):
            pass

        def do_GET(self):
            slow = any(s in self.path for s in args.slow)
            if not slow or self.path.endswith(".CHECKSUM"):
                return super().do_GET()
            path = self.translate_path(self.path)
            if not os.path.isfile(path):
                return super().do_GET()
            body = open(path, "rb").read()
            self.send_response(200)
            self.send_header("Content-Type", "application/zip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            half = len(body) // 2
            self.wfile.write(body[:half])
            self.wfile.flush()
            log.write(f"STALL {self.path}\n")
            time.sleep(args.slow_seconds)
            try:
                self.wfile.write(body[half:])
            except OSError:
                pass

    handler = functools.partial(Handler, directory=args.root)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as fh:
        fh.write(str(server.server_address[1]))
    os.rename(tmp, args.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
