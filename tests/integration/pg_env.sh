#!/usr/bin/env bash
# pg_env.sh: sourced by the store's integration scripts (not a test itself). pg_start starts a
# throwaway PostgreSQL cluster from Debian's packages on 127.0.0.1 and a free port, creates the
# database noderr_test and exports NODERR_TEST_PG_URL; pg_stop (call it from the EXIT trap)
# stops the server and removes its files. As root the cluster belongs to the `postgres` user
# (initdb refuses root); otherwise to the current user. Without the server binaries pg_start
# prints a loud SKIP line and exits 77, so a missing PostgreSQL never counts as a pass.

PG_DIR=""
PG_AS=()

pg_find_bin() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
        echo "$dir"
    elif command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
    fi
}

pg_start() {
    local bin port user
    bin=$(pg_find_bin)
    if [ -z "$bin" ]; then
        echo "SKIP: PostgreSQL server binaries (initdb, pg_ctl) not found: the PostgreSQL" \
             "backend was NOT tested (apt-get install postgresql)" >&2
        exit 77
    fi
    PG_DIR=$(mktemp -d /tmp/noderr_pg.XXXXXX)
    if [ "$(id -u)" -eq 0 ]; then
        user=postgres
        chown postgres "$PG_DIR"
        PG_AS=(runuser -u postgres --)
    else
        user=$(id -un)
        PG_AS=()
    fi
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "${PG_AS[@]}" "$bin/initdb" -D "$PG_DIR/data" -U "$user" -A trust --no-sync \
        >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log" >&2; echo "FAIL: initdb" >&2; exit 1; }
    "${PG_AS[@]}" "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_DIR -c fsync=off" start \
        >/dev/null 2>&1 || { cat "$PG_DIR/server.log" >&2; echo "FAIL: pg_ctl start" >&2; exit 1; }
    PG_BIN="$bin"
    "${PG_AS[@]}" "$bin/createdb" -h 127.0.0.1 -p "$port" -U "$user" noderr_test ||
        { echo "FAIL: createdb" >&2; exit 1; }
    export NODERR_TEST_PG_URL="postgresql://$user@127.0.0.1:$port/noderr_test"
    echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
}

pg_stop() {
    if [ -n "$PG_DIR" ] && [ -d "$PG_DIR/data" ]; then
        "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    fi
    [ -n "$PG_DIR" ] && rm -rf "$PG_DIR"
    PG_DIR=""
}
