"""County ingest, replay, bundle size and bundle memory of the USB sync, against bare SQLite in the same run.

    python bench/sync.py [--records N] [--big N] [--runs N] [--quick]

Builds, in a temporary folder, a county store and a demo township (``generate_demo`` topped up with
``generate_hazards`` until about ``--records`` synced rows, default 10 000: hazards, their event trails,
villages, enterprises, contacts …), enrols the township (which queues every row) and measures:

* ingest — ``TownshipSync.export_bundle`` then ``CountyStore.import_bundle`` (verify, apply, write the
  return file), end to end, against a bare upsert of the same rows: read them from the township file
  with plain ``sqlite3`` and ``INSERT … ON CONFLICT(id) DO UPDATE`` them with ``executemany`` into a
  fresh file with the same tables and indexes (median of ``--runs``);
* replay — importing the same bundle again: time, and rows changed (digest of every county table before
  and after, plus the row counts SQLite reports for every write statement the county sends);
* size — the bundle (attachment files left out) against the same rows as NDJSON (and NDJSON gzipped);
* memory — two child processes write, then read (open, verify, iterate every part) a bundle of ``--big``
  records (default 100 000: the township's rows repeated under fresh ids); tracemalloc peak of the work
  and peak RSS (VmHWM) of the child.

Targets: ingest ≥5,000 records/s end to end; replay ≤0.5 s with 0 rows changed; bundle ≤30% of the NDJSON.
Exits non-zero only on errors; missed targets are printed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.models.accounts import Role  # noqa: E402
from app.services.context import Actor  # noqa: E402
from app.services.demo import generate_demo, generate_hazards  # noqa: E402
from app.storage import Database, open_database  # noqa: E402
from app.sync.bundle import peek_envelope  # noqa: E402
from app.sync.county import DB_FILE_NAME, CountyStore  # noqa: E402
from app.sync.serialize import tables_by_name, to_record  # noqa: E402
from app.sync.township import TownshipSync  # noqa: E402
from tests.sync.sync_world import digest  # noqa: E402

TODAY = date(2026, 11, 24)
CODE = "360726100"
ADMIN = Actor(username="bench", display_name="bench", role=Role.ADMIN)
TARGET_RATE = 5_000
TARGET_REPLAY = 0.5
TARGET_SIZE = 0.30
ROWS_PER_HAZARD = 5.6  # a bulk hazard plus its event trail, measured on generate_hazards


# -- the data ---------------------------------------------------------------------------------------
def build_township(folder: Path, records: int) -> tuple[Database, str]:
    """A demo township topped up with hazards to about ``records`` synced rows; returns (db, township id)."""
    db = open_database(folder)
    result = generate_demo(db, actor=ADMIN, today=TODAY)
    have = synced_count(db.path, f"twp:{result.township_id}")
    if records > have:
        generate_hazards(db, max(1, round((records - have) / ROWS_PER_HAZARD)), seed=2026, today=TODAY, actor=ADMIN)
    return db, result.township_id


def synced_rows(db_path: Path, partition: str) -> dict[str, tuple[list[str], list[tuple]]]:
    """Every synced table's rows of ``partition`` read with plain sqlite3: table → (columns, rows)."""
    conn = sqlite3.connect(db_path)
    try:
        out = {}
        for name in tables_by_name():
            cursor = conn.execute(f'SELECT * FROM "{name}" WHERE partition = ?', (partition,))
            rows = cursor.fetchall()
            if rows:
                out[name] = ([c[0] for c in cursor.description], rows)
        return out
    finally:
        conn.close()


def synced_count(db_path: Path, partition: str) -> int:
    return sum(len(rows) for _columns, rows in synced_rows(db_path, partition).values())


def ndjson(db: Database, partition: str) -> bytes:
    """The rows a bundle carries, one JSON record per line, made the way the export makes them."""
    lines = []
    with db.engine.connect() as conn:
        for table in tables_by_name().values():
            for row in conn.execute(table.select().where(table.c.partition == partition)).mappings():
                lines.append(json.dumps(to_record(table, row), ensure_ascii=False, separators=(",", ":")))
    return ("\n".join(lines) + "\n").encode()


# -- bare SQLite baseline ------------------------------------------------------------------------------
def bare_upsert(source: Path, target: Path, partition: str) -> tuple[int, float]:
    """Read the partition's rows from ``source`` and upsert them into a fresh ``target`` with the same schema."""
    src = sqlite3.connect(source)
    schema = [sql for (sql,) in src.execute("SELECT sql FROM sqlite_master WHERE type IN ('table', 'index') "
                                            "AND sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY type DESC")]
    src.close()
    dst = sqlite3.connect(target)
    dst.executescript(";\n".join(schema))
    dst.commit()
    start = time.perf_counter()
    written = 0
    for name, (columns, rows) in synced_rows(source, partition).items():
        names = ", ".join(f'"{c}"' for c in columns)
        updates = ", ".join(f'"{c}" = excluded."{c}"' for c in columns if c != "id")
        dst.executemany(f'INSERT INTO "{name}" ({names}) VALUES ({", ".join("?" * len(columns))}) '
                        f"ON CONFLICT(id) DO UPDATE SET {updates}", rows)
        written += len(rows)
    dst.commit()
    elapsed = time.perf_counter() - start
    dst.close()
    return written, elapsed


# -- replay ------------------------------------------------------------------------------------------
def count_writes(county: CountyStore) -> tuple[list[int], Any]:
    """Sum of rows SQLite reports for every INSERT/UPDATE/DELETE the county sends (a replay must send none)."""
    from sqlalchemy import event

    changed = [0]

    def after(_conn: Any, cursor: Any, sql: str, *_args: Any) -> None:
        if sql.lstrip().split(None, 1)[0].upper() in {"INSERT", "UPDATE", "DELETE", "REPLACE"}:
            changed[0] += max(cursor.rowcount, 0)

    event.listen(county.db.engine, "after_cursor_execute", after)
    return changed, lambda: event.remove(county.db.engine, "after_cursor_execute", after)


# -- memory in child processes -------------------------------------------------------------------------
CHILD = r"""
import itertools, json, sys, tracemalloc, uuid
from pathlib import Path
sys.path.insert(0, sys.argv[4])
from app.sync.bundle import EnvelopeDraft, open_bundle, write_bundle
from app.sync.keys import KeyPair

def hwm():
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))

mode, path, count = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
sender = KeyPair.from_json(Path(sys.argv[5]).read_text())
recipient = KeyPair.from_json(Path(sys.argv[6]).read_text())
before = hwm()
tracemalloc.start()
if mode == "write":
    def rows():
        for n, line in enumerate(itertools.cycle(open(sys.argv[7], encoding="utf-8"))):
            if n == count:
                return
            yield {**json.loads(line), "id": str(uuid.uuid4())}
    def parts():
        it = rows()
        while batch := list(itertools.islice(it, 500)):
            yield batch
    envelope = write_bundle(path, EnvelopeDraft(kind="data", township="bench"), parts(), [], sender,
                            recipient.public(), total_rows=count)
    done = envelope.rows
else:
    with open_bundle(path, recipient, lambda node: sender.public() if node == sender.public().node_id else None) as b:
        done = sum(len(rows) for _info, rows in b.iter_parts())
_current, peak = tracemalloc.get_traced_memory()
tracemalloc.stop()
print(json.dumps({"rows": done, "traced": peak, "hwm_before_kb": before, "hwm_kb": hwm()}))
"""


def child_memory(scratch: Path, lines: Path, count: int) -> dict[str, dict[str, Any]]:
    from app.sync.keys import KeyPair

    keys = {}
    for role in ("sender", "recipient"):
        keys[role] = scratch / f"{role}.json"
        keys[role].write_text(KeyPair.generate(f"bench-{role}").to_json())
    bundle = scratch / "big.xab"
    out = {}
    for mode in ("write", "read"):
        started = time.perf_counter()
        result = subprocess.run([sys.executable, "-c", CHILD, mode, str(bundle), str(count), str(ROOT),
                                 str(keys["sender"]), str(keys["recipient"]), str(lines)],
                                check=True, capture_output=True, text=True)
        out[mode] = {**json.loads(result.stdout.strip().splitlines()[-1]), "seconds": time.perf_counter() - started}
    out["write"]["size"] = bundle.stat().st_size
    return out


# -- report ------------------------------------------------------------------------------------------
def mark(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000, help="synced rows of the township (≈)")
    parser.add_argument("--big", type=int, default=100_000, help="records of the bundle for the memory figures")
    parser.add_argument("--runs", type=int, default=3, help="runs of the bare upsert (median)")
    parser.add_argument("--quick", action="store_true", help="2,000 records, 20,000 for memory, 1 run")
    args = parser.parse_args()
    if args.quick:
        args.records, args.big, args.runs = 2_000, 20_000, 1
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        county = CountyStore.init(root / "county", name="安远县应急管理局")
        db, township_id = build_township(root / "township", args.records)
        partition = f"twp:{township_id}"
        sync = TownshipSync(db, root / "township")
        sync.enrol(county.add_township(CODE, "演示镇", root / "enrol.xae"))
        rows = synced_count(db.path, partition)
        print(f"sync benchmark: county + demo township with {rows} synced rows, built and enrolled in "
              f"{time.perf_counter() - started:.1f} s")

        usb = root / "usb"
        t0 = time.perf_counter()
        exported = sync.export_bundle(usb)
        t1 = time.perf_counter()
        imported = county.import_bundle(exported.path, usb)
        t2 = time.perf_counter()
        export_s, import_s = t1 - t0, t2 - t1
        bare = [bare_upsert(db.path, root / f"bare{n}.sqlite3", partition) for n in range(args.runs)]
        bare_rows, bare_s = bare[0][0], statistics.median(s for _n, s in bare)

        county_db = root / "county" / DB_FILE_NAME
        before = digest(county_db)
        changed, stop = count_writes(county)
        t3 = time.perf_counter()
        replay = county.import_bundle(exported.path, usb)
        replay_s = time.perf_counter() - t3
        stop()
        after = digest(county_db)

        envelope = peek_envelope(exported.path)
        bundle_size = exported.path.stat().st_size
        files = sum(a.stored_size for a in envelope.attachments)
        raw = ndjson(db, partition)
        lines = root / "rows.ndjson"
        lines.write_bytes(raw)
        gz = len(gzip.compress(raw, 6))
        db.dispose()
        county.close()
        memory = child_memory(root, lines, args.big)

    rate = exported.records / (export_s + import_s)
    bare_rate = bare_rows / bare_s
    print(f"ingest     : {exported.records} records ({imported.applied} applied, {exported.attachments} files), "
          f"export {export_s:.2f} s + county import {import_s:.2f} s = {rate:,.0f} records/s end to end "
          f"(import alone {exported.records / import_s:,.0f}/s) | bare sqlite upsert of {bare_rows} rows "
          f"{bare_s:.3f} s = {bare_rate:,.0f}/s | ratio bare/app {bare_rate / rate:.1f}x | "
          f"target ≥{TARGET_RATE:,}/s: {mark(rate >= TARGET_RATE)}")
    unchanged = before == after and changed[0] == 0
    print(f"replay     : {replay_s:.3f} s (replay flag {replay.replay}, applied {replay.applied}); county "
          f"digest {'unchanged' if before == after else 'CHANGED'}, rows written {changed[0]} | "
          f"target ≤{TARGET_REPLAY} s and 0 rows: {mark(replay_s <= TARGET_REPLAY and unchanged)}")
    data = bundle_size - files
    print(f"size       : bundle {bundle_size / 1024:.0f} KB ({files / 1024:.0f} KB attachment files, "
          f"{len(envelope.parts)} parts) → rows {data / 1024:.0f} KB | NDJSON {len(raw) / 1024:.0f} KB "
          f"(gzip -6 {gz / 1024:.0f} KB) | ratio {data / len(raw):.1%} of NDJSON "
          f"({data / gz:.2f}x gzip) | target ≤{TARGET_SIZE:.0%}: {mark(data / len(raw) <= TARGET_SIZE)}")
    for mode, verb in (("write", "write"), ("read", "open+verify+read")):
        m = memory[mode]
        print(f"memory     : {verb} a {m['rows']:,}-record bundle in {m['seconds']:.1f} s (child process, "
              f"timed under tracemalloc): "
              f"tracemalloc peak {m['traced'] / 1048576:.1f} MB, peak RSS {m['hwm_kb'] / 1024:.0f} MB "
              f"(after imports {m['hwm_before_kb'] / 1024:.0f} MB)"
              + (f", bundle {m['size'] / 1048576:.1f} MB" if "size" in m else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
