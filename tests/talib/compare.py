#!/usr/bin/env python3
"""compare.py: checks `noderr indicator --csv` output against a reference CSV of the same shape:
the same timestamps, the same empty cells (warm-up), and every value within REL relative error
(|a - b| <= REL * max(|a|, |b|); two zeros agree). Prints the worst error; exit 1 on a mismatch."""
import csv
import sys

ours_path, ref_path, rel = sys.argv[1], sys.argv[2], float(sys.argv[3])
ours = list(csv.reader(open(ours_path)))
ref = list(csv.reader(open(ref_path)))
if len(ours) != len(ref):
    sys.exit(f"{ours_path}: {len(ours)} lines, reference {len(ref)}")
worst, compared = 0.0, 0
for line, (a, b) in enumerate(zip(ours[1:], ref[1:]), start=2):
    if a[0] != b[0] or len(a) != len(b):
        sys.exit(f"line {line}: ts or width differ: {a} vs {b}")
    for col, (x, y) in enumerate(zip(a[1:], b[1:]), start=1):
        if (x == "") != (y == ""):
            sys.exit(f"line {line} column {ours[0][col]}: ours '{x}', reference '{y}' (warm-up differs)")
        if x == "":
            continue
        x, y = float(x), float(y)
        scale = max(abs(x), abs(y))
        err = abs(x - y) / scale if scale > 0 else 0.0
        if err > rel:
            sys.exit(f"line {line} column {ours[0][col]}: ours {x!r}, reference {y!r}, relative error {err:.3g}")
        worst = max(worst, err)
        compared += 1
if compared == 0:
    sys.exit(f"{ours_path}: no values compared")
print(f"{compared} values, worst relative error {worst:.3g}")
