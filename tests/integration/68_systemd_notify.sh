#!/usr/bin/env bash
# 68_systemd_notify.sh: a session under systemd's notify protocol (deploy/systemd/noderr.service,
# docs/launcher.md "systemd"). With NOTIFY_SOCKET naming a unix datagram socket this test listens
# on (python3) and WATCHDOG_USEC set, a live session over exchange-sim sends READY=1 once it can
# trade, WATCHDOG=1 at half the interval, STATUS= lines and STOPPING=1 on its shutdown. Then the
# unit is checked with `systemd-analyze verify` and its exposure with `systemd-analyze security
# --offline` (skipped with a message when systemd-analyze is missing).
# Called as: 68_systemd_notify.sh NODERR_BINARY DATA_DIR SHARED_DIR SOURCE_ROOT
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/shutdown_lib.sh"
UNIT="$SOURCE_ROOT/deploy/systemd/noderr.service"
[ -f "$UNIT" ] || fail "no $UNIT"
start_venue

# The listener: every datagram, one line each, appended to notify.log until killed.
SOCK="$WORK/notify.sock"
python3 - "$SOCK" "$WORK/notify.log" <<'EOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as log:
    while True:
        data = s.recv(4096).decode()
        for line in data.split("\n"):
            if line:
                log.write(line + "\n")
EOF
SERVER_PIDS+=($!)
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
[ -S "$SOCK" ] || fail "the listener did not bind $SOCK"

check "READY=1 once trading can start, WATCHDOG=1 every half interval, STATUS lines"
write_config "$WORK/live.json" 5 20 0
NOTIFY_SOCKET="$SOCK" WATCHDOG_USEC=200000 \
    "$NODERR" live --config "$WORK/live.json" >"$WORK/live.out" 2>"$WORK/live.err" &
LIVE=$!
SERVER_PIDS+=("$LIVE")
for _ in $(seq 200); do
    [ "$(grep -c '^WATCHDOG=1$' "$WORK/notify.log" 2>/dev/null)" -ge 5 ] && break
    sleep 0.05
done
grep -q '^READY=1$' "$WORK/notify.log" || fail "no READY=1: $(cat "$WORK/notify.log")"
[ "$(grep -c '^WATCHDOG=1$' "$WORK/notify.log")" -ge 5 ] || fail "fewer than 5 WATCHDOG=1"
grep -q '^STATUS=trading: live session sd' "$WORK/notify.log" || fail "no trading STATUS line"
for _ in $(seq 100); do
    grep -q '^STATUS=trading: [0-9]* working order(s), [0-9]* trades in, feed ' \
        "$WORK/notify.log" && break
    sleep 0.05
done
grep -q '^STATUS=trading: [0-9]* working order(s)' "$WORK/notify.log" ||
    fail "no periodic STATUS line"
grep -q "event=watchdog_on every_ms=100" "$WORK/live.err" || fail "watchdog not at half of 200 ms"
[ "$(grep -n '^READY=1$' "$WORK/notify.log" | head -1 | cut -d: -f1)" -lt \
  "$(grep -n '^WATCHDOG=1$' "$WORK/notify.log" | tail -1 | cut -d: -f1)" ] ||
    fail "no watchdog after READY"

check "STOPPING=1 and the stop's STATUS lines on shutdown"
expect_rc 0 "$NODERR" shutdown --state-dir "$WORK/state"
wait "$LIVE" || fail "the session exited $?"
grep -q '^STOPPING=1$' "$WORK/notify.log" || fail "no STOPPING=1: $(cat "$WORK/notify.log")"
grep -q '^STATUS=stopping (request)' "$WORK/notify.log" || fail "no stopping STATUS line"
grep -q '^STATUS=stopped: nothing left working' "$WORK/notify.log" || fail "no stopped STATUS line"

check "without NOTIFY_SOCKET nothing is sent and the session runs as before"
: >"$WORK/notify.log"
sed -i 's/"log": {"level": "info"}}/"log": {"level": "info"}, "duration_s": 1}/' "$WORK/live.json"
expect_rc 0 env -u NOTIFY_SOCKET -u WATCHDOG_USEC "$NODERR" live --config "$WORK/live.json"
[ ! -s "$WORK/notify.log" ] || fail "notified without NOTIFY_SOCKET"

check "the unit: systemd-analyze verify and its exposure"
if ! command -v systemd-analyze >/dev/null; then
    echo "systemd-analyze missing: the unit's checks skipped"
else
    mkdir -p "$WORK/unit"
    # The unit as installed, with this build's binary and env file (verify checks that both
    # exist and that ExecStart is executable).
    sed -e "s#/usr/local/bin/noderr#$NODERR#" \
        -e "s#EnvironmentFile=/etc/noderr/noderr.env#EnvironmentFile=$WORK/unit/noderr.env#" \
        "$UNIT" >"$WORK/unit/noderr.service"
    cp "$SOURCE_ROOT/deploy/systemd/noderr.env" "$WORK/unit/"
    run systemd-analyze verify "$WORK/unit/noderr.service"
    [ "$RC" -eq 0 ] && [ ! -s "$ERR" ] && [ ! -s "$OUT" ] ||
        fail "systemd-analyze verify: $(cat "$OUT" "$ERR")"
    if systemd-analyze security --help 2>/dev/null | grep -q -- "--offline"; then
        run systemd-analyze security --offline=true --threshold=20 "$WORK/unit/noderr.service"
        [ "$RC" -eq 0 ] || fail "exposure above 2.0: $(tail -3 "$OUT")"
        grep -o "Overall exposure level.*" "$OUT" || true
    fi
    for key in Type=notify WatchdogSec= NoNewPrivileges=yes ProtectSystem=strict \
        ReadWritePaths= PrivateTmp=yes User=noderr RestrictAddressFamilies=; do
        grep -q "^$key" "$UNIT" || fail "the unit has no $key"
    done
fi
echo "ok"
