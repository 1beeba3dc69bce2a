#!/usr/bin/env bash
# test_summary.sh BUILD_DIR: adds up the tests of the last `meson test` run in BUILD_DIR.
# Criterion executables count their own tests (their "Synthesis" line); any other test (an
# integration script) counts as one. Prints one line:
#   tests (BUILD_DIR): N passed, N failed, N skipped
set -euo pipefail
dir=${1:?usage: test_summary.sh BUILD_DIR}
python3 - "$dir" <<'PY'
import json, re, sys
d = sys.argv[1]
passed = failed = skipped = 0
synth = re.compile(r"Synthesis: Tested: (\d+) \| Passing: (\d+) \| Failing: (\d+) \| Crashing: (\d+)")
with open(f"{d}/meson-logs/testlog.json") as f:
    for line in f:
        t = json.loads(line)
        m = synth.search((t.get("stderr") or "") + (t.get("stdout") or ""))
        if m:
            tested, ok, bad, crash = map(int, m.groups())
            passed += ok
            failed += bad + crash
            # Criterion leaves skipped tests out of "Tested"; --verbose lists each as [SKIP].
            skipped += len(re.findall(r"^\[SKIP\] ", t.get("stderr") or "", re.M))
            if t["result"] not in ("OK", "SKIP") and bad + crash == 0:
                failed += 1  # the executable itself failed (timeout, crash outside a test)
        elif t["result"] == "OK":
            passed += 1
        elif t["result"] == "SKIP":
            skipped += 1
        else:
            failed += 1
print(f"tests ({d}): {passed} passed, {failed} failed, {skipped} skipped")
PY
