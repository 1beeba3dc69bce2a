#!/usr/bin/env bash
# bench_dashboard.sh: runs bench_dashboard (bench_dashboard.c) and, between its two phases,
# connects CLIENTS WebSocket clients (a python3 client with the server's own Origin, reading and
# discarding every message) so phase 2 measures tick-to-order with the dashboard pushing 10
# updates a second to all of them. Prints both phases and the messages the clients received.
#
# MODE: thread (default: the dashboard on its own thread, as a session with dashboard.listen) or
# loop (on the engine's loop, as a dashboard sharing the metrics' port).
#
# BENCH_WRAP (environment): a command put before the bench binary, e.g. "chrt -f 10" to run it
# (the engine's and the dashboard's threads, not the clients) under SCHED_FIFO, which shields
# it from other processes' load on a shared machine (needs root).
#
# Usage: bench/bench_dashboard.sh BUILD_DIR [SECONDS] [CLIENTS] [MODE]
set -euo pipefail
build="${1:?usage: bench_dashboard.sh BUILD_DIR [SECONDS] [CLIENTS] [MODE]}"
seconds="${2:-10}"
clients="${3:-100}"
mode="${4:-thread}"
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
${BENCH_WRAP:-} "$build/bench/bench_dashboard" "$seconds" "$clients" "$mode" >"$work/bench.out" 2>"$work/bench.err" &
bench=$!
for _ in $(seq 100); do grep -q '^listening on ' "$work/bench.out" && break; sleep 0.05; done
url=$(sed -n 's/^listening on //p' "$work/bench.out")
[ -n "$url" ] || { cat "$work/bench.err" >&2; exit 1; }
for _ in $(seq $((seconds * 40 + 200))); do grep -q '^waiting for' "$work/bench.out" && break; sleep 0.05; done
cat >"$work/clients.py" <<'PY'
import asyncio, base64, os, sys, time
url, n, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
host, port = url.split("//")[1].split(":")
received = [0] * n

async def client(i):
    r, w = await asyncio.open_connection(host, int(port))
    key = base64.b64encode(os.urandom(16)).decode()
    w.write((f"GET /ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
             f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
             f"Origin: {url}\r\n\r\n").encode())
    await w.drain()
    head = await r.readuntil(b"\r\n\r\n")
    assert b" 101 " in head.split(b"\r\n")[0], head
    while True:
        h = await r.readexactly(2)
        size = h[1] & 0x7F
        if size == 126:
            size = int.from_bytes(await r.readexactly(2), "big")
        elif size == 127:
            size = int.from_bytes(await r.readexactly(8), "big")
        await r.readexactly(size)
        received[i] += 1

async def main():
    tasks = [asyncio.create_task(client(i)) for i in range(n)]
    await asyncio.sleep(seconds + 3)
    print(f"clients: {n} connected, messages received min={min(received)} max={max(received)} "
          f"total={sum(received)}")
    os._exit(0)

asyncio.run(main())
PY
python3 "$work/clients.py" "$url" "$clients" "$seconds" &
wait "$bench"
wait
cat "$work/bench.out"
