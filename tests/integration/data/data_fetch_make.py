#!/usr/bin/env python3
"""data_fetch_make.py: builds Binance kline archives for tests/integration/70_data_fetch.sh.

  make ROOT SYMBOL INTERVAL PERIOD [--us]   zip + .CHECKSUM in data.binance.vision's layout
  expect SYMBOL INTERVAL PERIOD...          the normalised rows (no header) the fetch must store
  corrupt ZIP                               flip bytes inside ZIP, keep the old .CHECKSUM
  rezip ZIP KIND                            replace ZIP by a bad archive (KIND: garbage, two,
                                            traversal, bomb, badcsv) with a matching .CHECKSUM

PERIOD is YYYY-MM (monthly archive) or YYYY-MM-DD (daily). Bars are deterministic functions of
their open time, written with 8 decimals as Binance does; --us writes open and close times in
microseconds (Binance spot files from 2025 on).
"""
import calendar
import datetime as dt
import hashlib
import os
import sys
import zipfile

STEP_MS = {"1m": 60_000, "1h": 3_600_000, "1d": 86_400_000}


def period_range(period):
    """Start and end (exclusive) of a period in ms since the epoch."""
    parts = [int(x) for x in period.split("-")]
    if len(parts) == 2:
        y, m = parts
        start = dt.datetime(y, m, 1, tzinfo=dt.timezone.utc)
        end = start + dt.timedelta(days=calendar.monthrange(y, m)[1])
    else:
        start = dt.datetime(parts[0], parts[1], parts[2], tzinfo=dt.timezone.utc)
        end = start + dt.timedelta(days=1)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def fmt8(units):
    return f"{units // 10**8}.{units % 10**8:08d}"


def trim(text):
    return text.rstrip("0").rstrip(".") if "." in text else text


def bars(interval, period):
    """(ts_ms, open, high, low, close, volume) in 1e-8 units."""
    step = STEP_MS[interval]
    start, end = period_range(period)
    for ts in range(start, end, step):
        k = ts // step
        base = (20000 + (k * 37) % 5000) * 10**8 + (k % 100) * 10**6
        o, c = base, base + (k % 7 - 3) * 12345678
        h = max(o, c) + 550000000
        low = min(o, c) - 425000000
        v = (k % 97) * 10**8 + 50000000 + (k % 13)
        yield ts, o, h, low, c, v


def kline_rows(interval, period, us):
    step = STEP_MS[interval]
    for ts, o, h, low, c, v in bars(interval, period):
        t0, t1 = (ts * 1000, (ts + step) * 1000 - 1) if us else (ts, ts + step - 1)
        yield ",".join([str(t0), fmt8(o), fmt8(h), fmt8(low), fmt8(c), fmt8(v), str(t1),
                        fmt8(v * 3), str(100 + ts // step % 50), fmt8(v // 2), fmt8(v), "0"])


def paths(root, symbol, interval, period):
    kind = "monthly" if len(period) == 7 else "daily"
    d = os.path.join(root, "data", "spot", kind, "klines", symbol, interval)
    name = f"{symbol}-{interval}-{period}"
    return d, name


def write_checksum(zip_path):
    digest = hashlib.sha256(open(zip_path, "rb").read()).hexdigest()
    with open(zip_path + ".CHECKSUM", "w") as fh:
        fh.write(f"{digest}  {os.path.basename(zip_path)}\n")


def make(root, symbol, interval, period, us=False):
    d, name = paths(root, symbol, interval, period)
    os.makedirs(d, exist_ok=True)
    zip_path = os.path.join(d, name + ".zip")
    text = "\n".join(kline_rows(interval, period, us)) + "\n"
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(name + ".csv", text)
    write_checksum(zip_path)


def expect(symbol, interval, periods):
    del symbol
    for period in periods:
        for ts, o, h, low, c, v in bars(interval, period):
            print(",".join([str(ts)] + [trim(fmt8(x)) for x in (o, h, low, c, v)]))


def corrupt(zip_path):
    data = bytearray(open(zip_path, "rb").read())
    mid = len(data) // 2
    for i in range(mid, mid + 8):
        data[i] ^= 0xFF
    open(zip_path, "wb").write(bytes(data))


def rezip(zip_path, kind):
    name = os.path.basename(zip_path)[:-4]
    if kind == "garbage":
        open(zip_path, "wb").write(b"PK\x03\x04 this is not really a zip archive" * 10)
    else:
        with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as z:
            if kind == "two":
                z.writestr(name + ".csv", "1,1,1,1,1,1,1,1,1,1,1,0\n")
                z.writestr("extra.csv", "1,1,1,1,1,1,1,1,1,1,1,0\n")
            elif kind == "traversal":
                z.writestr("../../evil.csv", "1,1,1,1,1,1,1,1,1,1,1,0\n")
            elif kind == "bomb":
                z.writestr(name + ".csv", "0" * (64 << 20))
            elif kind == "badcsv":
                z.writestr(name + ".csv", "1577836800000,10,9,11,10,1,1,1,1,1,1,0\n")
            else:
                raise SystemExit(f"unknown kind {kind}")
    write_checksum(zip_path)


def main(argv):
    cmd = argv[1]
    if cmd == "make":
        make(argv[2], argv[3], argv[4], argv[5], "--us" in argv[6:])
    elif cmd == "expect":
        expect(argv[2], argv[3], argv[4:])
    elif cmd == "corrupt":
        corrupt(argv[2])
    elif cmd == "rezip":
        rezip(argv[2], argv[3])
    else:
        raise SystemExit(f"unknown command {cmd}")


if __name__ == "__main__":
    main(sys.argv)
