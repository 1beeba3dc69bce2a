#!/usr/bin/env bash
# tidy.sh: mechanical style checks, run as a test (STYLE.md C22).
#  - every C file opens with a /* ... */ header saying what it owns;
#  - no function body longer than 70 lines;
#  - banned calls outside their home module: the C allocator outside src/core/alloc.c, the
#    system clock outside src/core/clock.c, printing to stdout/stderr outside src/cli/ and
#    src/core/log.c, rand()/srand() anywhere (use nd_rand_t).
# A line that must break a rule says why and carries the marker tidy:allow.
# Exit 0 when clean; otherwise prints FILE:LINE: problem for each finding and exits 1.
set -u
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root" || exit 2
status=0
report() { echo "$1"; status=1; }

files=$(find src include -name '*.c' -o -name '*.h' | sort)
[ -n "$files" ] || { echo "tidy: no sources found"; exit 2; }

for f in $files; do
    head -c 2 "$f" | grep -q '/\*' || report "$f:1: missing file header comment"
done

long=$(for f in $(echo "$files" | grep '\.c$'); do
    awk -v file="$f" '
        /^\{/ { start = NR; next }
        /^\}/ && start { if (NR - start - 1 > 70) printf "%s:%d: function body is %d lines (max 70)\n", file, start, NR - start - 1; start = 0 }
    ' "$f"
done)
if [ -n "$long" ]; then echo "$long"; status=1; fi

check_banned() { # pattern, allowed-path-regex, message
    local hits
    hits=$(grep -nE "$1" $files | grep -vE "^($2):" | grep -vE '^[^:]+:[0-9]+:\s*(/\*|\*)' | grep -v 'tidy:allow')
    if [ -n "$hits" ]; then
        while IFS= read -r h; do report "$h: $3"; done <<< "$hits"
    fi
}
check_banned '(^|[^_a-z])(malloc|calloc|realloc|free)\(' 'src/core/alloc.c' 'use nd_alloc/nd_free'
check_banned '(clock_gettime|gettimeofday|[^_a-z]time\(NULL\)|[^_a-z]time\(0\))' 'src/core/clock.c' \
    'read time only through nd_clock_t'
check_banned '(^|[^_a-z])(printf|puts)\(|fprintf\((stdout|stderr)' \
    'src/cli/[a-z_]+\.c|src/core/log.c|src/core/alloc.c|src/core/lazylib.c' \
    'print only from src/cli (log with ND_LOG)'
check_banned '(^|[^_a-z])s?rand\(' '^$' 'use nd_rand_t with an explicit seed'

if [ "$status" -eq 0 ]; then echo "tidy: clean ($(echo "$files" | wc -l) files)"; fi
exit "$status"
