#!/usr/bin/env python3
"""reference.py: plain, array-at-a-time Python versions of the indicators TA-Lib lacks (Keltner,
VWAP, SuperTrend), written from docs/indicators.md and independent of the C code, printed in the
CSV shape of `noderr indicator --csv` (ts, one column per output, empty during warm-up).

    python3 reference.py DATA.csv NAME [k=v ...]
"""
import csv
import sys


def load(path):
    rows = list(csv.reader(open(path)))
    assert rows[0] == ["ts", "open", "high", "low", "close", "volume"], path
    cols = list(zip(*rows[1:]))
    return [int(t) for t in cols[0]], *[[float(x) for x in c] for c in cols[1:]]


def ema(xs, n):
    """TA-Lib's EMA: the SMA of the first n values, then (x - e) * k + e."""
    out = [None] * len(xs)
    k = 2.0 / (n + 1)
    if len(xs) < n:
        return out
    total = 0.0
    for x in xs[:n]:
        total += x
    e = total / n
    out[n - 1] = e
    for i in range(n, len(xs)):
        e = ((xs[i] - e) * k) + e
        out[i] = e
    return out


def atr(high, low, close, n):
    """TA-Lib's ATR: first on bar n, the mean true range of bars 1..n, then Wilder's smoothing."""
    out = [None] * len(close)
    tr = [None] + [max(high[i] - low[i], abs(close[i - 1] - high[i]), abs(close[i - 1] - low[i]))
                   for i in range(1, len(close))]
    if len(close) <= n:
        return out
    total = 0.0
    for v in tr[1:n + 1]:
        total += v
    a = total / n
    out[n] = a
    for i in range(n + 1, len(close)):
        a = (a * (n - 1) + tr[i]) / n
        out[i] = a
    return out


def keltner(ts, o, h, l, c, v, period=20, atr_period=10, multiplier=2.0):
    e, a = ema(c, int(period)), atr(h, l, c, int(atr_period))
    rows = []
    for i in range(len(c)):
        if e[i] is None or a[i] is None:
            rows.append([None] * 3)
        else:
            rows.append([e[i] + multiplier * a[i], e[i], e[i] - multiplier * a[i]])
    return rows


def vwap(ts, o, h, l, c, v):
    rows, day, pv, vol = [], None, 0.0, 0.0
    for i in range(len(c)):
        d = ts[i] // 86400000  # ts in ms; the session is the UTC day
        if d != day:
            day, pv, vol = d, 0.0, 0.0
        pv += (h[i] + l[i] + c[i]) / 3.0 * v[i]
        vol += v[i]
        rows.append([pv / vol if vol > 0 else None])
    return rows


def supertrend(ts, o, h, l, c, v, period=10, multiplier=3.0):
    a = atr(h, l, c, int(period))
    rows, upper, lower, up = [], None, None, None
    for i in range(len(c)):
        if a[i] is None:
            rows.append([None, None])
            continue
        mid = (h[i] + l[i]) / 2.0
        bu, bl = mid + multiplier * a[i], mid - multiplier * a[i]
        if up is None:  # first bar: the plain bands, a downtrend
            upper, lower, up = bu, bl, False
        else:
            lower = bl if (bl > lower or c[i - 1] < lower) else lower
            upper = bu if (bu < upper or c[i - 1] > upper) else upper
            up = c[i] >= lower if up else c[i] > upper
        rows.append([lower if up else upper, 1.0 if up else -1.0])
    return rows


def main():
    data, name, *kvs = sys.argv[1:]
    params = {k: float(x) for k, x in (kv.split("=") for kv in kvs)}
    fn = {"keltner": keltner, "vwap": vwap, "supertrend": supertrend}[name]
    cols = load(data)
    rows = fn(*cols, **params)
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(["ts"] + [f"v{i}" for i in range(len(rows[0]))])
    for t, r in zip(cols[0], rows):
        w.writerow([t] + ["" if x is None else repr(x) for x in r])


if __name__ == "__main__":
    main()
