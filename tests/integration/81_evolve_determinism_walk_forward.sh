#!/usr/bin/env bash
# 81_evolve_determinism_walk_forward.sh: the same --seed gives byte-identical results (JSON
# without its "timing", every output file) with --threads 1, 2 and 4, a different seed a
# different run; --walk-forward shows in-sample and out-of-sample side by side per window and
# flags by --oos-min-share.
source "$(dirname "$0")/lib.sh"

python3 - "$WORK/bars.csv" <<'PY'
import sys
state, px = 987654321, 20000.0
with open(sys.argv[1], "w") as f:
    f.write("ts,open,high,low,close,volume\n")
    for i in range(2400):
        state = (state * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        u = (state >> 11) / float(1 << 53)
        drift = 0.0015 if (i // 250) % 3 else -0.002
        close = px * (1.0 + drift + (u - 0.5) * 0.02)
        f.write("%d,%.2f,%.2f,%.2f,%.2f,5\n" % (1577836800000 + i * 3600000, px,
                max(px, close) * 1.001, min(px, close) * 0.999, close))
        px = close
PY
BARS="$WORK/bars.csv"

strip_timing() {
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d.pop("timing"); print(json.dumps(d, sort_keys=True))' "$1"
}

for t in 1 2 4; do
    check "seed 11, --threads $t"
    expect_rc 0 "$NODERR" evolve --strategy sma_cross --data "$BARS" --population 24 \
        --generations 25 --seed 11 --threads "$t" --json --pareto-csv "$WORK/front$t.csv" \
        --history-csv "$WORK/hist$t.csv" --out "$WORK/best$t.json"
    strip_timing "$OUT" >"$WORK/run$t.json"
done
for t in 2 4; do
    cmp -s "$WORK/run1.json" "$WORK/run$t.json" || fail "--threads $t JSON differs from --threads 1"
    cmp -s "$WORK/front1.csv" "$WORK/front$t.csv" || fail "--threads $t Pareto CSV differs"
    cmp -s "$WORK/hist1.csv" "$WORK/hist$t.csv" || fail "--threads $t history differs"
    cmp -s "$WORK/best1.json" "$WORK/best$t.json" || fail "--threads $t best params differ"
done

check "another seed gives another run"
expect_rc 0 "$NODERR" evolve --strategy sma_cross --data "$BARS" --population 24 \
    --generations 25 --seed 12 --threads 2 --json
strip_timing "$OUT" >"$WORK/run12.json"
if cmp -s "$WORK/run1.json" "$WORK/run12.json"; then fail "seeds 11 and 12 gave the same run"; fi

check "walk-forward 600:300 bars: in-sample and out-of-sample per window"
expect_rc 0 "$NODERR" evolve --strategy sma_cross --data "$BARS" --population 16 \
    --generations 8 --walk-forward 600:300 --oos-min-share 0.5 --json --threads 2
cp "$OUT" "$WORK/wf.json"
pycheck "$WORK/wf.json" '
w = d["walk_forward"]
assert len(w) == 6, len(w)          # (2400 - 600) / 300 windows
flagged = 0
for i, win in enumerate(w):
    assert win["train_bars"] == 600 and win["test_bars"] == 300, win
    assert win["test_start"] > win["train_start"]
    assert 1 <= len(win["winners"]) <= 5
    for x in win["winners"]:
        i_s, o_s = x["in_sample"]["sharpe"], x["out_of_sample"]["sharpe"]
        assert x["in_sample"]["bars"] == 600 and x["out_of_sample"]["bars"] == 300, x
        want = not (i_s is not None and i_s > 0 and o_s is not None and o_s >= 0.5 * i_s)
        assert x["flagged"] == want, x
    flagged += w[i]["winners"][0]["flagged"]
s = d["walk_forward_summary"]
assert s["windows"] == 6 and s["flagged"] == flagged and s["oos_min_share"] == 0.5, s
assert d["best_params"] == w[-1]["winners"][0]["params"], "best = the last window winner"
'

check "walk-forward text output"
expect_rc 0 "$NODERR" evolve --strategy sma_cross --data "$BARS" --population 16 \
    --generations 5 --walk-forward 50d:25d --threads 1
stdout_has "window 1  train 2020-01-01"
stdout_has "OOS sharpe"
stdout_has "windows,"

check "walk-forward --out: chosen by the median OOS rule, with the selection recorded"
expect_rc 0 "$NODERR" evolve --strategy sma_cross --data "$BARS" --population 12 \
    --generations 4 --walk-forward 600:300 --threads 1 --out "$WORK/wf.json"
stdout_has "selected: window"
python3 - "$WORK/wf.json" <<'PY' || fail "selection in the parameter file"
import json, sys
d = json.load(open(sys.argv[1]))
sel = d["selection"]
assert sel["rule"].startswith("the window winner with the best median out-of-sample Sharpe")
meds = [c["median_oos_sharpe"] for c in sel["candidates"]]
clean = [m for m, c in zip(meds, sel["candidates"]) if not c["flagged"] and m is not None]
if clean:
    assert not sel["flagged"] and "warning" not in d, d
    assert sel["median_oos_sharpe"] == max(clean), (sel, clean)
else:
    assert sel["flagged"] and "warning" in d, d
PY

check "walk-forward --out with every winner flagged: warning in the file and on stderr"
expect_rc 0 "$NODERR" evolve --strategy sma_cross --data "$BARS" --population 12 \
    --generations 4 --walk-forward 600:300 --threads 1 --oos-min-share 10 --out "$WORK/wf2.json"
grep -q "warning: every walk-forward winner was flagged" "$ERR" || fail "no warning on stderr"
stdout_has "(FLAGGED)"
python3 - "$WORK/wf2.json" <<'PY' || fail "warning in the parameter file"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["selection"]["flagged"] is True, d
assert d["warning"].startswith("every walk-forward winner was flagged"), d
PY

check "--halt-penalty: off and a number accepted, anything else refused"
expect_rc 0 "$NODERR" evolve --strategy sma_cross --data "$BARS" --population 8 \
    --generations 1 --threads 1 --halt-penalty off
expect_rc 0 "$NODERR" evolve --strategy sma_cross --data "$BARS" --population 8 \
    --generations 1 --threads 1 --halt-penalty 2.5
expect_usage_error "--halt-penalty" "$NODERR" evolve --strategy sma_cross --data "$BARS" \
    --halt-penalty lots

echo "81_evolve_determinism_walk_forward: all checks passed"
