#!/usr/bin/env bash
# 11_lazy_libraries.sh: a command maps only the shared libraries it calls (docs/lazy-libraries.md).
# A bar backtest maps none of the network, database, event-loop, Lua or crypto libraries; `sign`
# maps libcrypto and nothing else of them; a Lua strategy maps LuaJIT; a library that cannot be
# loaded stops the command with exit 2 naming it. The dynamic loader's own log (LD_DEBUG=files)
# says what was mapped.
source "$(dirname "$0")/lib.sh"

if ldd "$NODERR" | grep 'libcurl' >/dev/null; then
    echo "SKIP: built with -Dlazy_libraries=false (the libraries are linked, not loaded)"
    exit 77
fi
LAZY='libcurl|libarchive|libpq|libwebsockets|libuv|libsystemd|libluajit|libsqlite3|libcrypto'

# The libraries of $LAZY that the command given maps, one a line, sorted; the command must succeed.
mapped() {
    rm -f "$WORK"/ld.*
    LD_DEBUG=files LD_DEBUG_OUTPUT="$WORK/ld" "$@" >"$OUT" 2>"$ERR" ||
        fail "$* exited $? (expected 0)"
    cat "$WORK"/ld.* | sed -n 's/.*file=\([^ ]*\).*/\1/p' | grep -oE "^($LAZY)" | sort -u || true
}

check "a bar backtest maps none of them"
libs=$(mapped "$NODERR" backtest --strategy sma_cross --bars 500)
[ -z "$libs" ] || fail "backtest mapped: $libs"
stdout_has "total return"

check "sign maps libcrypto, and only that"
libs=$(mapped "$NODERR" sign --venue binance --secret k3y --payload 'symbol=BTCUSDT')
[ "$libs" = "libcrypto" ] || fail "sign mapped: $libs"

if [ -n "$SOURCE_ROOT" ]; then
    check "a Lua strategy maps LuaJIT"
    libs=$(mapped "$NODERR" backtest --strategy-file "$SOURCE_ROOT/examples/strategies/sma_cross.lua" \
        --bars 500)
    [ "$libs" = "libluajit" ] || fail "Lua backtest mapped: $libs"
fi

check "a library that cannot be loaded is exit 2, named"
# An empty directory searched first and a bogus preload do not hide the system's libraries, but an
# LD_LIBRARY_PATH holding a libcrypto that is not a shared object makes dlopen fail.
mkdir "$WORK/badlib"
crypto=$(ldconfig -p | awk '/libcrypto\.so\./ && !found {print $1; found = 1}')
echo "not an ELF file" >"$WORK/badlib/$crypto"
run env LD_LIBRARY_PATH="$WORK/badlib" "$NODERR" sign --venue binance --secret k3y --payload a=1
[ "$RC" -eq 2 ] || fail "exit $RC with a broken libcrypto (expected 2)"
grep -q "cannot load $crypto (needed for " "$ERR" || fail "the message names no library"
