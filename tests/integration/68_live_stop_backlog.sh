#!/usr/bin/env bash
# 68_live_stop_backlog.sh: a live session stopped by SIGTERM while a connection waits in its
# metrics server's backlog (a scrape that came while the loop did not run: the stop's last
# venue calls) ends normally and writes shutdown.json. The servers are closed before the
# streams: accepted while a stream's libwebsockets context was being destroyed on the same loop,
# that connection's socket was closed behind libuv's back and libuv aborted (epoll_ctl: EBADF),
# seen as `noderr launch` aborting on SIGTERM under load (docs/launcher.md "Shutdown and resume").
# The loop is held still for certain: exchange-sim is stopped (SIGSTOP), so the stop's cancel
# goes unanswered until its deadline and then the adapter's worker waits on its request.
# Called as: 68_live_stop_backlog.sh NODERR_BINARY DATA_DIR SHARED_DIR SOURCE_ROOT
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/shutdown_lib.sh"
start_venue
XSIM="${SERVER_PIDS[0]}"
S="$WORK/state/status.json"

check "SIGTERM with a connection waiting in the metrics server's backlog: a normal stop"
write_config "$WORK/live.json" 2 4 0 ', "metrics": {"listen": "127.0.0.1:0"}, "status_every_ms": 100'
"$NODERR" live --config "$WORK/live.json" >"$WORK/live.out" 2>"$WORK/live.err" &
LIVE=$!
SERVER_PIDS+=("$LIVE")
wait_json "$S" 'd["mode"] == "live" and d["orders"]["submitted"] >= 1 and "metrics_url" in d'
MPORT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["metrics_url"].rsplit(":", 1)[1].split("/")[0])' "$S")
kill -STOP "$XSIM"
kill -TERM "$LIVE"
# The loop stops at the stop's deadline (3 s: the cancel-all is not answered); from then on
# status.json is no longer rewritten (every 100 ms while the loop runs).
python3 - "$S" <<'EOF' || fail "the session's loop kept running: $(tail -3 "$WORK/live.err")"
import os, sys, time
path, last, still = sys.argv[1], None, 0.0
for _ in range(400):
    time.sleep(0.05)
    m = os.stat(path).st_mtime_ns
    still = still + 0.05 if m == last else 0.0
    last = m
    if still >= 1.0:
        sys.exit(0)
sys.exit(1)
EOF
grep -q "event=session_stopping" "$WORK/live.err" || fail "no stop logged: $(tail -3 "$WORK/live.err")"
# a scrape now: the kernel completes the connection into the backlog; the loop is not running
python3 - "$MPORT" <<'EOF' || fail "no connection to the metrics port"
import socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
c.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
c.close()
EOF
kill -CONT "$XSIM"
RC=0
wait "$LIVE" || RC=$?
[ "$RC" -le 1 ] || fail "the session exited $RC (a signal?): $(tail -5 "$WORK/live.err")"
grep -q "event=shutdown_done" "$WORK/live.err" || fail "no shutdown_done: $(tail -5 "$WORK/live.err")"
pycheck "$WORK/state/shutdown.json" 'assert d["by"] == "signal", d'
if grep -qE 'runtime error:|(Address|Leak|UndefinedBehavior)Sanitizer' "$WORK/live.err"; then
    fail "sanitizer report from the session: $(grep -m3 -E 'runtime error|Sanitizer' "$WORK/live.err")"
fi
true
