#!/usr/bin/env bash
# 60_tidy.sh: runs tools/tidy.sh (STYLE.md C22) over the source tree; any finding fails.
# Called as: 60_tidy.sh NODERR_BINARY DATA_DIR SHARED_DIR SOURCE_ROOT
source "$(dirname "$0")/lib.sh"

[ -n "$SOURCE_ROOT" ] || fail "no source root given"
TIDY="$SOURCE_ROOT/tools/tidy.sh"
[ -f "$TIDY" ] || fail "$TIDY missing"

check "tools/tidy.sh reports nothing"
RC=0
(cd "$SOURCE_ROOT" && bash "$TIDY") >"$OUT" 2>&1 || RC=$?
cat "$OUT"
[ "$RC" -eq 0 ] || fail "tidy.sh exited $RC with the findings above"
grep -q '^tidy: clean' "$OUT" || fail "tidy.sh did not say it is clean"
[ "$(wc -l <"$OUT")" -eq 1 ] || fail "tidy.sh printed more than its clean line"

echo "60_tidy: all checks passed"
