"""The hazard ledger on a 100k-hazard database, against the bare SQL for the same rows, in the same run.

    python bench/hazards.py [--count N] [--runs N] [--data-dir DIR]

Builds a demo township (``generate_demo``) topped up to ``--count`` hazards with ``generate_hazards``
(default 100 000; the database is kept in ``--data-dir`` if given and reused), then measures:

* open the ledger and show the first page — what the hazard screen does through the lazy Qt table
  model: ``HazardService.query_ids(HazardQuery())`` (every id, in ledger order) and
  ``fetch_rows`` of the first ``PAGE`` ids; against plain ``sqlite3``: ``SELECT id … ORDER BY year
  DESC, seq DESC`` and ``SELECT * … WHERE id IN (first page)``;
* a filter — overdue hazards of one sector (消防), first page shown; against the same in plain SQL;
* peak memory — tracemalloc around the in-process ledger open, and the peak RSS (``ru_maxrss``) of a
  child process that does the whole ledger open from scratch: imports, database, Qt table model,
  first page.

Runs alternate app/bare so both see the same machine state; medians are reported.
Targets: first page ≤150 ms, filter ≤100 ms, each ≤3× the bare query; peak memory ≤250 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TODAY = date(2026, 11, 24)
SECTOR_NAME, SECTOR_CODE = "消防", "fire"
TARGETS = {"first page": 0.150, "filter": 0.100}
MAX_RATIO = 3.0
MAX_MEMORY_MB = 250


# -- the database ---------------------------------------------------------------------------------
def build(data_dir: Path, count: int) -> None:
    """A demo township topped up to ``count`` hazards (reused if the folder already holds that many)."""
    from app.services.demo import generate_demo, generate_hazards
    from app.storage import open_database

    db = open_database(data_dir)
    try:
        if not _scalar(db.path, "SELECT count(*) FROM township"):
            generate_demo(db, today=TODAY)
        existing = _scalar(db.path, "SELECT count(*) FROM hazard")
        if existing > count:
            raise SystemExit(f"{data_dir} already holds {existing} hazards, more than {count}; use another --data-dir")
        if existing < count:
            started = time.perf_counter()
            generate_hazards(db, count - existing, seed=2026, today=TODAY)
            print(f"generated {count - existing} hazards (with their event trails) in "
                  f"{time.perf_counter() - started:.1f} s")
    finally:
        db.dispose()


def _scalar(path: Path, sql: str) -> Any:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


# -- what is measured -------------------------------------------------------------------------------
def app_side(data_dir: Path) -> tuple[Callable[[], int], Callable[[], int], Callable[[], None], Any]:
    from app.services import Services
    from app.services.context import SYSTEM_ACTOR
    from app.services.hazards import HazardQuery, HazardService
    from app.storage import open_database
    from app.ui.widgets.lazy_table import PAGE

    db = open_database(data_dir)
    service = HazardService(db, SYSTEM_ACTOR, Services(db, SYSTEM_ACTOR).scope, today=lambda: TODAY)

    def show(query: HazardQuery) -> int:
        ids = service.query_ids(query)
        rows = service.fetch_rows(ids[:PAGE])
        assert len(rows) == min(PAGE, len(ids))
        return len(ids)

    return (lambda: show(HazardQuery()), lambda: show(HazardQuery(overdue=True, sector=SECTOR_NAME)),
            db.dispose, db.engine)


LEDGER_IDS = ("SELECT id FROM hazard WHERE township_id = ? AND deleted = 0 "
              "ORDER BY year DESC, seq DESC")
FILTER_IDS = ("SELECT id FROM hazard WHERE township_id = ? AND deleted = 0 AND sector_code = ? "
              "AND status NOT IN ('已销号', '验收通过') AND deadline IS NOT NULL AND deadline < ? "
              "ORDER BY year DESC, seq DESC")


def bare_side(db_path: Path) -> tuple[Callable[[], int], Callable[[], int], Callable[[], None]]:
    from app.ui.widgets.lazy_table import PAGE

    conn = sqlite3.connect(db_path)
    township = conn.execute("SELECT id FROM township WHERE deleted = 0").fetchone()[0]

    def show(sql: str, *params: Any) -> int:
        ids = [r[0] for r in conn.execute(sql, (township, *params))]
        page = ids[:PAGE]
        rows = conn.execute(f"SELECT * FROM hazard WHERE id IN ({','.join('?' * len(page))})", page).fetchall()
        assert len(rows) == len(page)
        return len(ids)

    return lambda: show(LEDGER_IDS), lambda: show(FILTER_IDS, SECTOR_CODE, TODAY.isoformat()), conn.close


def timed(fn: Callable[[], int]) -> tuple[float, int]:
    start = time.perf_counter()
    n = fn()
    return time.perf_counter() - start, n


def query_plans(engine: Any, db_path: Path, steps: dict[str, Callable[[], int]]) -> list[str]:
    """EXPLAIN QUERY PLAN of every hazard query the app sends for each step (ids, then the page)."""
    from sqlalchemy import event

    sent: list[tuple[str, str, Any]] = []
    current = [""]

    def capture(_conn: Any, _cursor: Any, sql: str, params: Any, _context: Any, _many: bool) -> None:
        if "FROM hazard" in sql:
            sent.append((current[0], sql, params))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        for name, fn in steps.items():
            current[0] = name
            fn()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    conn = sqlite3.connect(db_path)
    try:
        return [f"{name}: " + " | ".join(r[-1] for r in conn.execute("EXPLAIN QUERY PLAN " + sql, params))
                for name, sql, params in sent]
    finally:
        conn.close()


# -- memory in a fresh process ----------------------------------------------------------------------
CHILD = """
import json, resource, sys
from datetime import date
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from app.services import Services
from app.services.context import SYSTEM_ACTOR
from app.services.hazards import LEDGER_COLUMNS, HazardQuery, HazardService
from app.storage import open_database
from app.ui.widgets.lazy_table import PAGE, LazyTableModel

db = open_database(Path(sys.argv[1]))
service = HazardService(db, SYSTEM_ACTOR, Services(db, SYSTEM_ACTOR).scope, today=lambda: date(2026, 11, 24))
model = LazyTableModel(LEDGER_COLUMNS, service.fetch_rows)
model.set_ids(service.query_ids(HazardQuery()))
for row in range(min(PAGE, model.rowCount())):
    for column in range(model.columnCount()):
        model.data(model.index(row, column))
# VmHWM is this program's own peak; ru_maxrss survives exec and so would also count the parent's
# pages the child was forked with (the bench parent holds the freshly generated 100k rows).
try:
    peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
except (OSError, StopIteration):
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"rows": model.rowCount(), "cached": model.cached_rows, "maxrss_kb": peak_kb}))
"""


def child_peak(data_dir: Path) -> dict[str, Any]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", CHILD, str(data_dir), str(ROOT)], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


# -- report ---------------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--data-dir", type=Path)
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    with tempfile.TemporaryDirectory() as scratch:
        data_dir = args.data_dir or Path(scratch)
        data_dir.mkdir(parents=True, exist_ok=True)
        build(data_dir, args.count)
        from app.paths import database_path

        db_path = database_path(data_dir)
        app_ledger, app_filter, app_close, engine = app_side(data_dir)
        bare_ledger, bare_filter, bare_close = bare_side(db_path)
        try:
            cold = {"first page": timed(app_ledger)[0], "filter": timed(app_filter)[0]}
            for fn in (bare_ledger, bare_filter):
                fn()  # warm the bare connection once too
            times: dict[str, dict[str, list[float]]] = {k: {"app": [], "bare": []} for k in TARGETS}
            found: dict[str, int] = {}
            for _ in range(args.runs):
                for name, app_fn, bare_fn in (("first page", app_ledger, bare_ledger),
                                              ("filter", app_filter, bare_filter)):
                    t, n = timed(app_fn)
                    times[name]["app"].append(t)
                    tb, nb = timed(bare_fn)
                    times[name]["bare"].append(tb)
                    assert n == nb, f"{name}: the app found {n} rows, the bare query {nb}"
                    found[name] = n
            tracemalloc.start()
            app_ledger()
            _current, traced_peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            plans = query_plans(engine, db_path, {"first page": app_ledger, "filter": app_filter})
        finally:
            app_close()
            bare_close()
        child = child_peak(data_dir)

    print(f"hazard ledger benchmark: {args.count} hazards, {args.runs} runs, today {TODAY}")
    ok = True
    for name, limit in TARGETS.items():
        app_median = statistics.median(times[name]["app"])
        bare_median = statistics.median(times[name]["bare"])
        ratio = app_median / bare_median
        ok &= app_median <= limit and ratio <= MAX_RATIO
        print(f"{name:<11}: app median {app_median * 1000:6.1f} ms (best {min(times[name]['app']) * 1000:.1f}, "
              f"first {cold[name] * 1000:.1f}) | bare SQL median {bare_median * 1000:6.1f} ms | "
              f"ratio {ratio:.2f}x | {found[name]} rows | target ≤{limit * 1000:.0f} ms, ≤{MAX_RATIO:.0f}x")
    traced_mb = traced_peak / 1048576
    rss_mb = child["maxrss_kb"] / 1024  # KiB
    ok &= rss_mb <= MAX_MEMORY_MB
    print(f"memory     : tracemalloc peak of a ledger open {traced_mb:.1f} MB | child process "
          f"(import, open, Qt model over {child['rows']} ids, first page) peak RSS {rss_mb:.1f} MB "
          f"| target ≤{MAX_MEMORY_MB} MB")
    for line in plans:
        print(f"app query plan, {line}")
    print("all targets met" if ok else "TARGETS MISSED")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
