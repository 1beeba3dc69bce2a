#!/bin/sh
# backtest_process.sh NODERR [RUNS]: the whole `noderr backtest` process over 100,000 hourly bars,
# the figure issue 9 compares with backtrader's cerebro.run() (4.5 s on the same file).
# The input is ../shared/data/BTCUSDT-1h.csv three times over, each copy's times shifted to follow
# the last (100,000 rows, made in a temporary directory, never kept). Prints the wall time of the
# backtest process (min, median over RUNS, default 25), the same for `noderr --version` (start-up
# alone), and the shared libraries each maps (LD_DEBUG=files). Wall clock: quiet the machine first.
set -eu
noderr=$1
runs=${2:-25}
src="$(dirname "$0")/../../shared/data/BTCUSDT-1h.csv"
[ -f "$src" ] || { echo "backtest_process.sh: $src absent (../shared not here), skipped"; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 - "$noderr" "$runs" "$src" "$tmp" <<'PY'
import glob, os, statistics, subprocess, sys, time
noderr, runs, src, tmp = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
lines = open(src).read().splitlines()
header, rows = lines[0], [l.split(",") for l in lines[1:]]
span = int(rows[-1][0]) - int(rows[0][0]) + 3600000
with open(tmp + "/h100k.csv", "w") as out:
    out.write(header + "\n")
    for i in range(100000):
        copy, row = divmod(i, len(rows))
        out.write(",".join([str(int(rows[row][0]) + copy * span)] + rows[row][1:]) + "\n")
def timed(args):
    t = []
    for _ in range(runs):
        a = time.perf_counter()
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
        t.append((time.perf_counter() - a) * 1000)
    return min(t), statistics.median(t)
def libraries(args):
    env = dict(os.environ, LD_DEBUG="files", LD_DEBUG_OUTPUT=tmp + "/ld")
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, env=env)
    names = set()
    for f in glob.glob(tmp + "/ld.*"):
        names |= {l.split("file=")[1].split()[0] for l in open(f) if "file=" in l}
        os.remove(f)
    return len(names)
backtest = [noderr, "backtest", "--data", tmp + "/h100k.csv", "--strategy", "sma_cross"]
for name, args in (("backtest over 100k bars", backtest), ("--version", [noderr, "--version"])):
    lo, med = timed(args)
    print("%-24s min %7.2f ms  median %7.2f ms  (%d runs, %d libraries mapped besides the binary)"
          % (name, lo, med, runs, libraries(args)))
print("backtrader's cerebro.run() on the same file: 4.5 s (issue 9); 500x = 9.0 ms")
PY
