#!/usr/bin/env python3
# store_craft.py: appends crafted order events to a compliance store, the way another system
# (or the engine's recorder) would, so that `noderr surveil --db` has a known pattern to find.
#
# usage: store_craft.py sqlite PATH EVENTS.csv
#        store_craft.py pg URL EVENTS.csv        (runs psql)
#
# EVENTS.csv has the `noderr surveil --events` header; the owner column must equal the account
# (the store keeps no owner). Each row becomes the records the recorder writes: new ->
# "submitted" + "accepted" order events, cancel -> "cancelled", fill -> a "taker" fill and a
# "filled" order event. The chain is extended from the store's tail with this script's own
# implementation of the canonical encoding (docs/compliance-store.md), so `noderr audit verify`
# passing afterwards also checks the C encoder against an independent one. Like the store, it
# then moves the store's head (schema 4): the audit_head row in the same transaction and, for
# SQLite, the head file PATH.head (unsigned: run it without NODERR_AUDIT_KEY).
import csv
import hashlib
import os
import struct
import subprocess
import sqlite3
import sys
from datetime import datetime, timezone
from decimal import Decimal

SCALE = 8
# The store keeps each record as its canonical encoding beside seq, ts_ns and kind (schema 3).
COLUMNS = "seq, ts_ns, kind, prev_hash, hash, encoding"


def encode(r):
    out = bytes([1])
    for k in ("seq", "ts_ns", "kind", "side", "px", "qty", "px_scale", "qty_scale", "notional",
              "fee", "from_ns", "to_ns"):
        out += struct.pack(">q", r[k])
    for k in ("event", "account", "strategy", "venue", "instrument", "jurisdiction",
              "client_order_id", "venue_order_id", "reason", "detail"):
        b = r[k].encode()
        out += struct.pack(">I", len(b)) + b
    return out


def ts_ns(text):
    if text.isdigit():
        return int(text) * 1_000_000
    dt = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)
    return int(dt.timestamp()) * 1_000_000_000 + dt.microsecond * 1000


def fixed(text):
    return int(Decimal(text or "0") * 10**SCALE)


def records_for(rows):
    out = []
    for row in rows:
        assert row["owner"] == row["account"], "the store keeps no owner: owner must be account"
        base = dict(ts_ns=ts_ns(row["ts"]), side=1 if row["side"] == "buy" else -1,
                    account=row["account"], strategy=row["strategy"], venue=row["venue"],
                    instrument=row["symbol"], jurisdiction="", client_order_id=row["order_id"],
                    venue_order_id="", px=fixed(row["price"]), qty=fixed(row["qty"]),
                    px_scale=SCALE, qty_scale=SCALE, notional=0, fee=0, from_ns=0, to_ns=0,
                    reason="", detail="")
        if row["event"] == "new":
            out.append(dict(base, kind=1, event="submitted"))
            out.append(dict(base, kind=1, event="accepted"))
        elif row["event"] == "cancel":
            out.append(dict(base, kind=1, event="cancelled"))
        else:
            notional = base["px"] * base["qty"] // 10**SCALE
            out.append(dict(base, kind=2, event="taker", notional=notional))
            out.append(dict(base, kind=1, event="filled", notional=notional))
    return out


def chain(recs, seq, prev):
    for r in recs:
        seq += 1
        r["seq"] = seq
        r["prev_hash"] = prev
        r["encoding"] = encode(r)
        r["hash"] = hashlib.sha256(prev + r["encoding"]).digest()
        prev = r["hash"]
    return recs


def values(r):
    return [r[c.strip()] for c in COLUMNS.split(",")]


def main():
    backend, target, events = sys.argv[1:4]
    with open(events, newline="") as fh:
        recs = records_for(list(csv.DictReader(fh)))
    if backend == "sqlite":
        db = sqlite3.connect(target)
        row = db.execute("SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (row[0], bytes(row[1])) if row else (0, bytes(32))
        crafted = list(chain(recs, seq, prev))
        db.executemany("INSERT INTO records (%s) VALUES (%s)" % (COLUMNS, ",".join("?" * 6)),
                       [values(r) for r in crafted])
        last = crafted[-1] if crafted else {"seq": seq, "hash": prev}
        db.execute("INSERT OR REPLACE INTO audit_head (id, seq, hash, mac) VALUES (1, ?, ?, ?)",
                   (last["seq"], last["hash"], b""))
        db.commit()
        db.close()
        with open(target + ".head.tmp", "w") as fh:
            fh.write("noderr-audit-head 1\nseq %d\nhash %s\nmac -\n" % (last["seq"],
                                                                         last["hash"].hex()))
        os.replace(target + ".head.tmp", target + ".head")
    else:
        tail = subprocess.run(["psql", "-tA", "-F", " ", target, "-c",
                               "SELECT seq, encode(hash, 'hex') FROM records ORDER BY seq DESC "
                               "LIMIT 1"], check=True, capture_output=True, text=True).stdout
        seq, prev = (int(tail.split()[0]), bytes.fromhex(tail.split()[1])) if tail.strip() \
            else (0, bytes(32))
        sql = ["BEGIN;"]
        for r in chain(recs, seq, prev):
            vals = []
            for v in values(r):
                if isinstance(v, bytes):
                    vals.append("'\\x%s'::bytea" % v.hex())
                elif isinstance(v, int):
                    vals.append(str(v))
                else:
                    vals.append("'%s'" % v.replace("'", "''"))
            sql.append("INSERT INTO records (%s) VALUES (%s);" % (COLUMNS, ",".join(vals)))
            seq, prev = r["seq"], r["hash"]
        sql.append("UPDATE audit_head SET seq = %d, hash = '\\x%s'::bytea, mac = ''::bytea;"
                   % (seq, prev.hex()))
        sql.append("COMMIT;")
        subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", target], input="\n".join(sql),
                       check=True, text=True)
    print(len(recs))


if __name__ == "__main__":
    main()
