"""N townships syncing at once with one county server on loopback, on SQLite and on PostgreSQL, against the
same work without HTTP in the same run.

    python bench/server.py [--townships 1,4,8] [--records N] [--rounds N] [--edits N]
                           [--backends sqlite,postgresql] [--quick]

Builds ``max(--townships)`` demo townships of about ``--records`` synced rows each once (bench/sync.py's
``build_township``); every measurement then starts from copies of them and a fresh county database:

* upload — N enrolled townships each run one ``SyncClient.round()`` at the same moment against one real
  ``xiangan-county serve`` process (uvicorn on 127.0.0.1): export, upload in pieces, county import, return
  download and import, acknowledgement. Records/s = all records / wall time; p95 of the N round times.
* steady — then each township edits ``--edits`` records and syncs, ``--rounds`` times, all townships at
  once: p95 of those round times, and of one no-op round each (nothing to do: one request).
* baseline — the same townships and the same work in this process, one after the other, without HTTP:
  ``export_bundle``, ``CountyStore.import_bundle``, ``import_return`` (the USB flow). Printed with the
  county import alone and as the ratio HTTP/baseline.

The townships' side runs in threads of this process (one GIL); the server is its own process, as in
production. PostgreSQL: $XIANGAN_TEST_PG_URL, else a private throwaway cluster (tests/pg.py) with the
durable defaults (fsync on), a fresh database per measurement. The per-PC rate limit is raised so that it
is not what is measured. Exits non-zero only on errors.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import select, update  # noqa: E402

from app.models import Enterprise  # noqa: E402
from app.storage import Database, open_database  # noqa: E402
from app.sync.county import CountyStore  # noqa: E402
from app.sync.http_client import SyncClient  # noqa: E402
from app.sync.township import TownshipSync  # noqa: E402
from bench.sync import build_township  # noqa: E402
from tests.pg import PgUnavailable, create_database, drop_database, postgres_server  # noqa: E402
from tests.server.conftest import LiveCounty, free_port  # noqa: E402

BACKENDS = ("sqlite", "postgresql")
RATE = 1_000_000  # requests per minute per PC: the limiter stays out of the figures


@dataclass
class Township:
    code: str
    folder: Path
    db: Database
    sync: TownshipSync
    records: int  # queued for the first upload

    def close(self) -> None:
        self.db.dispose()


# -- setup ---------------------------------------------------------------------------------------------
def build_sources(root: Path, count: int, records: int) -> list[Path]:
    """``count`` demo townships, not enrolled: the starting point every measurement copies."""
    folders = []
    for index in range(count):
        folder = root / f"source{index}"
        db, _township_id = build_township(folder, records)
        db.dispose()
        folders.append(folder)
    return folders


@contextmanager
def county_database(backend: str, admin_url: str | None) -> Iterator[str | None]:
    """None for SQLite (the county's data folder), a fresh PostgreSQL database's URL otherwise."""
    if backend == "sqlite":
        yield None
        return
    assert admin_url is not None
    url = create_database(admin_url)
    try:
        yield url
    finally:
        drop_database(admin_url, url)


def enrol(sources: list[Path], root: Path, county: CountyStore, server_url: str = "") -> list[Township]:
    """Copies of the source townships, each enrolled with ``county`` (which queues all of its rows)."""
    townships = []
    for index, source in enumerate(sources):
        folder = root / f"t{index}"
        shutil.copytree(source, folder)
        db = open_database(folder)
        sync = TownshipSync(db, folder)
        code = f"360726{index:03d}"
        sync.enrol(county.add_township(code, f"第{index + 1}镇", root / f"enrol-{index}.xae",
                                       server_url=server_url or None))
        townships.append(Township(code, folder, db, sync, sync.status().pending_records))
    return townships


def edit(township: Township, count: int, round_no: int) -> None:
    """A bulk edit of ``count`` enterprises (the capture triggers queue each of them)."""
    with township.db.session() as session:
        ids = list(session.scalars(select(Enterprise.id).order_by(Enterprise.id).limit(count)))
        session.execute(update(Enterprise).where(Enterprise.id.in_(ids)).values(remarks=f"第{round_no}轮检查"))


# -- measuring -----------------------------------------------------------------------------------------
def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]


def all_at_once(work: Callable[[int], list[float]], count: int) -> tuple[float, list[float]]:
    """Run ``work(index)`` in ``count`` threads released together; wall time and every returned sample."""
    barrier = threading.Barrier(count + 1)
    samples: list[list[float]] = [[] for _ in range(count)]
    errors: list[BaseException] = []

    def run(index: int) -> None:
        barrier.wait()
        try:
            samples[index] = work(index)
        except BaseException as exc:  # re-raised below, in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    if errors:
        raise errors[0]
    return wall, [s for per_thread in samples for s in per_thread]


def timed_round(township: Township) -> float:
    client = SyncClient(township.sync)
    try:
        started = time.perf_counter()
        client.round()
        return time.perf_counter() - started
    finally:
        client.close()


def over_http(sources: list[Path], root: Path, db_url: str | None, rounds: int, edits: int) -> dict[str, Any]:
    port = free_port()
    county = CountyStore.init(root / "county", db_url, name="安远县应急管理局")
    townships = enrol(sources, root, county, f"http://127.0.0.1:{port}")
    county.close()
    live = LiveCounty(root / "county", port, db_url, ("--rate", str(RATE))).start()
    try:
        wall, uploads = all_at_once(lambda i: [timed_round(townships[i])], len(townships))

        def steady(index: int) -> list[float]:
            times = []
            for round_no in range(rounds):
                edit(townships[index], edits, round_no)
                times.append(timed_round(townships[index]))
            return times

        _wall, rounds_s = all_at_once(steady, len(townships)) if rounds else (0.0, [0.0])
        _wall, noop = all_at_once(lambda i: [timed_round(townships[i])], len(townships))
    finally:
        live.stop()
    county = CountyStore.open(root / "county", db_url)
    try:
        held = county.row_count()
    finally:
        county.close()
    records = sum(t.records for t in townships)
    pending = sum(t.sync.status().pending_records for t in townships)
    for township in townships:
        township.close()
    if held < records or pending:
        raise RuntimeError(f"sync incomplete: county holds {held} of {records} rows, {pending} still pending")
    return {"records": records, "wall": wall, "upload_p95": p95(uploads), "steady_p95": p95(rounds_s),
            "steady_median": statistics.median(rounds_s), "noop_p95": p95(noop)}


def without_http(sources: list[Path], root: Path, db_url: str | None) -> dict[str, Any]:
    """The USB flow for the same townships, one after the other, in this process."""
    county = CountyStore.init(root / "county", db_url, name="安远县应急管理局")
    townships = enrol(sources, root, county)
    total = imports = 0.0
    try:
        for township in townships:
            started = time.perf_counter()
            exported = township.sync.export_bundle(root / "usb")
            before_import = time.perf_counter()
            imported = county.import_bundle(exported.path, root / "usb")
            after_import = time.perf_counter()
            township.sync.import_return(imported.return_path)
            total += time.perf_counter() - started
            imports += after_import - before_import
    finally:
        county.close()
        for township in townships:
            township.close()
    records = sum(t.records for t in townships)
    return {"records": records, "rate": records / total, "import_rate": records / imports}


def measure(backend: str, count: int, sources: list[Path], scratch: Path, admin_url: str | None,
            args: argparse.Namespace) -> str:
    with county_database(backend, admin_url) as url:
        http = over_http(sources[:count], scratch / f"{backend}-{count}-http", url, args.rounds, args.edits)
    with county_database(backend, admin_url) as url:
        base = without_http(sources[:count], scratch / f"{backend}-{count}-usb", url)
    rate = http["records"] / http["wall"]
    return (f"{backend:<10} N={count}: upload {http['records']:,} records in {http['wall']:.2f} s = "
            f"{rate:,.0f} records/s, p95 round {http['upload_p95']:.2f} s | steady p95 {http['steady_p95']:.3f} s "
            f"(median {http['steady_median']:.3f} s; {args.edits} records × {args.rounds} rounds each), no-op p95 "
            f"{http['noop_p95']:.3f} s | baseline without HTTP {base['rate']:,.0f} records/s (county import alone "
            f"{base['import_rate']:,.0f}/s) | HTTP/baseline {rate / base['rate']:.2f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--townships", default="1,4,8", help="comma-separated township counts (default 1,4,8)")
    parser.add_argument("--records", type=int, default=3_000, help="synced rows per township (≈)")
    parser.add_argument("--rounds", type=int, default=5, help="steady rounds per township")
    parser.add_argument("--edits", type=int, default=20, help="records edited before each steady round")
    parser.add_argument("--backends", default=",".join(BACKENDS), help="sqlite,postgresql")
    parser.add_argument("--quick", action="store_true", help="1 and 2 townships of 1,000 rows, 2 steady rounds")
    args = parser.parse_args()
    if args.quick:
        args.townships, args.records, args.rounds = "1,2", 1_000, 2
    counts = sorted({int(n) for n in args.townships.split(",")})
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if not counts or counts[0] < 1 or set(backends) - set(BACKENDS):
        parser.error("--townships needs positive numbers; --backends sqlite and/or postgresql")
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        scratch = Path(tmp)
        started = time.perf_counter()
        sources = build_sources(scratch / "sources", counts[-1], args.records)
        print(f"server benchmark: {len(sources)} demo townships of about {args.records:,} synced rows each, built "
              f"in {time.perf_counter() - started:.1f} s")
        admin_url = None
        if "postgresql" in backends:
            try:
                admin_url = stack.enter_context(postgres_server(durable=True))
            except PgUnavailable as exc:
                print(f"postgresql : skipped — {exc}")
                backends.remove("postgresql")
        for backend in backends:
            for count in counts:
                print(measure(backend, count, sources, scratch, admin_url, args), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
