"""Crash injection at every named persistence boundary of a USB sync (app/sync/checkpoints.py POINTS).

The process "dies" at the boundary (``crash_point`` raises), a new process opens the stores from their files
and the user repeats what they were doing: import the same file again, or export again. After the round the
SYNC.md invariants hold — convergence, no loss, no duplicates, monotonic cursors, no staging residue — and at
most one part (≤500 rows) was applied twice. Besides the named points, a crash *inside* a part's transaction
(before it commits) shows what a real kill costs: exactly that part is redone.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from app.models import Attachment, Village
from app.models.base import CLOCK
from app.services import Services
from app.storage.attachments import AttachmentStore
from app.sync import checkpoints, state
from app.sync.bundle import peek_envelope
from app.sync.capture import synced_tables
from tests.conftest import ADMIN
from tests.sync.sync_world import Pc, World, rows

CODE, TOWNSHIP = "360726100", "青山镇"
VILLAGES = 1200  # + the township row + SCANS attachment rows: parts of 500, 500 and 203 rows
SCANS = 2
PART_ROWS = 500
EXPORT_POINTS = ("township.exported", "township.export_logged")
IN_FLIGHT = "in_flight"  # not a checkpoint: inside the n-th part's transaction, before it commits

# (point, n-th time it is reached) → parts applied again by the repeated action after the restart
CASES: dict[tuple[str, int], int] = {
    ("county.verified", 1): 3,           # every part's partitions checked; nothing written yet
    ("county.attachments", 1): 3,        # scans extracted; no part applied yet
    ("county.part_applied", 1): 2,
    ("county.part_applied", 2): 1,
    ("county.committed", 1): 0,          # ledger committed: the repeat is a replay that rewrites the return
    ("county.return_written", 1): 0,
    (f"county.{IN_FLIGHT}", 2): 2,       # part 2 was rolled back: it and part 3 run after the restart
    ("township.exported", 1): 3,         # export repeated (the file is rewritten); the county applies once
    ("township.export_logged", 1): 3,
    ("township.verified", 1): 3,
    ("township.attachments", 1): 3,
    ("township.part_applied", 1): 2,
    ("township.part_applied", 2): 1,
    ("township.committed", 1): 0,
    (f"township.{IN_FLIGHT}", 2): 2,
}


class Crash(Exception):
    """The process dying at a persistence boundary."""


# --- observation ---------------------------------------------------------------------------------------------
def _partition(db_path: Path, partition: str) -> dict[tuple[str, str], tuple]:
    """Every synced row of ``partition`` with its content and version identity. ``base_version`` is left
    out: a township adopts the version it applied as its base, the county keeps the sender's."""
    found: dict[tuple[str, str], tuple] = {}
    for table in synced_tables():
        columns = [c.name for c in table.columns if c.name != "base_version"]
        listed = ", ".join(f'"{c}"' for c in columns)
        for row in rows(db_path, f'SELECT {listed} FROM "{table.name}" WHERE partition = ?', (partition,)):
            found[(table.name, row[columns.index("id")])] = row
    return found


@dataclass
class Recorder:
    """Every part applied (database file, row keys), and on request a crash inside the n-th part's
    transaction on one database: its rows are written, then rolled back with the process."""

    calls: list[tuple[str, frozenset[tuple[Any, ...]]]] = field(default_factory=list)
    crash_in: tuple[str, int] | None = None

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        real = state.apply_rows

        def apply_rows(session: Any, records: list[Any], **kwargs: Any) -> Any:
            stats = real(session, records, **kwargs)
            db = str(Path(str(session.get_bind().url.database)).resolve())
            keys = frozenset((t.name, v["id"], v["version"], v["version_replica"], v["hlc"]) for t, v in records)
            self.calls.append((db, keys))
            if self.crash_in is not None and self.crash_in[0] == db and len(self.parts(db)) == self.crash_in[1]:
                raise Crash(f"{IN_FLIGHT} {self.crash_in[1]}")
            return stats

        monkeypatch.setattr(state, "apply_rows", apply_rows)

    def parts(self, db: str, start: int = 0, end: int | None = None) -> list[frozenset[tuple[Any, ...]]]:
        return [keys for where, keys in self.calls[start:end] if where == db]


def _crash_at(monkeypatch: pytest.MonkeyPatch, point: str, nth: int) -> None:
    reached: list[str] = []

    def crash_point(name: str) -> None:
        if name == point:
            reached.append(name)
            if len(reached) == nth:
                raise Crash(name)

    monkeypatch.setattr(checkpoints, "crash_point", crash_point)


def _record_points(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    passed: list[str] = []
    monkeypatch.setattr(checkpoints, "crash_point", passed.append)
    return passed


def _cursors(world: World) -> dict[tuple[str, str, str], int]:
    return {(str(path), peer, direction): seq for path in _paths(world)
            for peer, direction, seq in rows(path, "SELECT peer, direction, seq FROM sync_cursor")}


def _paths(world: World) -> list[Path]:
    return [world.county_path, *(pc.path for pc in world.pcs)]


# --- the world: one township PC with a multi-part bundle and attachments -----------------------------------------
def _township_with_data(world: World, scans: Path) -> Pc:
    pc = world.open_pc("pc1")
    Services(pc.db, ADMIN).township.save_profile({"name": TOWNSHIP, "county_name": "安远县", "code": CODE})
    scope = pc.sv().scope
    replica = pc.db.replica_id
    with pc.db.session(audit=False) as session:
        session.execute(insert(Village), [
            {"id": str(uuid.uuid4()), "township_id": scope.township_id, "partition": scope.partition,
             "name": f"村{i:05d}", "version": 1, "version_replica": replica, "hlc": CLOCK.stamp(replica)}
            for i in range(VILLAGES)])
    store = AttachmentStore(pc.db.attachments_dir)
    for n in range(SCANS):
        scan = scans / f"scan{n}.pdf"
        scan.write_bytes(b"%PDF-1.4\n" + bytes([65 + n]) * 20_000)
        stored = store.put(scan)
        with pc.db.session() as session:
            session.add(Attachment(township_id=scope.township_id, partition=scope.partition, owner_table="village",
                                   owner_id=f"v{n}", sha256=stored.sha256, file_name=scan.name, size=stored.size))
    pc.sync.enrol(world.enrolment(CODE, TOWNSHIP, "pc1"))
    return pc


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """County + an enrolled PC holding 1,200 villages and two scans, nothing sent yet (copied per test)."""
    base = tmp_path_factory.mktemp("crash")
    root = base / "world"
    (base / "scans").mkdir()
    world = World(root)
    try:
        _township_with_data(world, base / "scans")
    finally:
        world.close()
    return root


def _open(template: Path, tmp_path: Path) -> World:
    root = tmp_path / "world"
    shutil.copytree(template, root)
    world = World(root, reopen=True)
    world.open_pc("pc1")
    return world


def _second_pc_return(world: World) -> tuple[Pc, Path]:
    """pc1's data reaches the county; a second, empty PC enrols and uploads: its return file carries all
    of pc1's rows (three parts) and both scans."""
    world.round_trip(world.pcs[0])
    pc2 = world.second_pc("pc2", TOWNSHIP, CODE)
    _, imported = world.upload(pc2)
    return pc2, imported.return_path


# --- invariants --------------------------------------------------------------------------------------------------
def _attachment_files(root: Path) -> list[Path]:
    return [p for folder in root.rglob("attachments") if folder.is_dir() for p in folder.rglob("*") if p.is_file()]


def _assert_invariants(world: World, pc: Pc, cursors: list[dict[tuple[str, str, str], int]]) -> None:
    township_id = pc.sv().scope.township_id
    county = world.county_path
    # convergence: the PC and the county hold the same rows of every partition the PC sees
    for partition in (f"twp:{township_id}", f"county:to:{township_id}", "county"):
        assert _partition(pc.path, partition) == _partition(county, partition), partition
    # no loss, no duplicates
    for path in (county, pc.path):
        assert rows(path, "SELECT count(*), count(DISTINCT name) FROM village WHERE name LIKE '村%'") == [
            (VILLAGES, VILLAGES)]
        shas = {sha for (sha,) in rows(path, "SELECT sha256 FROM attachment")}
        assert len(shas) == SCANS
        store = AttachmentStore(path.parent / "attachments")
        assert all(store.has(sha) for sha in shas), f"a scan is missing beside {path}"
        assert rows(path, "SELECT count(*) FROM sync_conflict") == [(0,)], "a repeated import invented a conflict"
    assert world.county.conflicts() == [] and pc.sync.conflicts() == []
    status = pc.sync.status()
    assert (status.pending_records, status.pending_attachments) == (0, 0)
    # cursors only move forward
    for before, after in itertools.pairwise(cursors):
        for key, seq in before.items():
            assert after.get(key, 0) >= seq, f"cursor {key} went back from {seq} to {after.get(key)}"
    # no staging residue: part checkpoints of finished bundles, temporary files, partial attachment files
    for path in _paths(world):
        assert rows(path, "SELECT count(*) FROM sync_ledger_part") == [(0,)], f"part checkpoints left in {path}"
    leftovers = [p for p in world.root.rglob("*") if p.suffix in (".tmp", ".partial")]
    assert not leftovers, leftovers
    for file in _attachment_files(world.root):
        assert hashlib.sha256(file.read_bytes()).hexdigest() == file.name, f"partial attachment file {file}"


def _ledger(db_path: Path, kind: str) -> list[dict[str, Any]]:
    return [json.loads(s) for (s,) in rows(db_path, "SELECT summary FROM sync_ledger WHERE direction = 'in' "
                                                     "AND kind = ?", (kind,))]


# --- the tests -----------------------------------------------------------------------------------------------------
def test_every_checkpoint_has_a_crash_case():
    assert {point for point, _ in CASES if IN_FLIGHT not in point} == set(checkpoints.POINTS)


def test_a_clean_round_passes_every_checkpoint(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The named boundaries are really there in the code the crash cases rely on, in the order they name."""
    world = _open(template, tmp_path)
    try:
        passed = _record_points(monkeypatch)
        pc2, return_path = _second_pc_return(world)
        pc2.sync.import_return(return_path)
        township_import = ["township.verified", "township.attachments", *["township.part_applied"] * 3,
                           "township.committed"]
        county_import = ["county.verified", "county.attachments", *["county.part_applied"] * 3, "county.committed",
                         "county.return_written"]
        assert passed[:len(EXPORT_POINTS) + len(county_import)] == [*EXPORT_POINTS, *county_import]
        assert passed[-len(township_import):] == township_import
        assert set(passed) == set(checkpoints.POINTS)
    finally:
        world.close()


@pytest.mark.parametrize(("point", "nth"), list(CASES), ids=[f"{p}-{n}" for p, n in CASES])
def test_crash_restart_and_repeat(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  point: str, nth: int):
    world = _open(template, tmp_path)
    try:
        recorder = Recorder()
        recorder.install(monkeypatch)
        pc, action, finish, target = _scenario(world, point)
        db = str(target.resolve())
        cursors = [_cursors(world)]
        first = len(recorder.calls)
        if point.endswith(IN_FLIGHT):
            recorder.crash_in = (db, len(recorder.parts(db)) + nth)
        else:
            _crash_at(monkeypatch, point, nth)
        with pytest.raises(Crash):
            action()
        recorder.crash_in = None
        kept = _export_left_behind(world, point)
        passed = _record_points(monkeypatch)
        world.restart()  # the process died: every store opens again from its files
        cursors.append(_cursors(world))
        second = len(recorder.calls)
        result = action()
        cursors.append(_cursors(world))
        bundle_rows = finish(result)
        cursors.append(_cursors(world))

        _assert_invariants(world, pc, cursors)
        crashed, repeated = recorder.parts(db, first, second), recorder.parts(db, second)
        assert len(repeated) == CASES[(point, nth)], passed
        # at most one part applied twice: the one whose transaction the crash cut off
        twice = set().union(*crashed) & set().union(*repeated)
        assert twice == (set(crashed[-1]) if point.endswith(IN_FLIGHT) else set())
        assert len(twice) <= PART_ROWS
        # whatever was interrupted, the bundle's rows were each written once (counted from the ledger)
        summary_db, kind = (pc.path, "return") if db == str(pc.path.resolve()) else (world.county_path, "data")
        [summary] = _ledger(summary_db, kind)
        assert summary["applied"] + summary["unchanged"] == bundle_rows and summary["conflicts"] == 0
        if kind == "data":
            assert summary["applied"] == bundle_rows  # a fresh county: every row is new
        if kept is not None:
            _import_left_behind(world, pc, kept)
    finally:
        world.close()


Action = Callable[[], Any]


def _scenario(world: World, point: str) -> tuple[Pc, Action, Callable[[Any], int], Path]:
    """The PC whose round is checked, the user action that crashes and is repeated, what completes the
    round afterwards (returns the rows of the bundle the target applied), and the target database."""
    pc1 = world.pcs[0]
    if point.startswith("county."):
        bundle = pc1.export(world.usb).path

        def finish_county(result: Any) -> int:
            pc1.sync.import_return(result.return_path)
            return peek_envelope(bundle).rows

        return pc1, lambda: world.county.import_bundle(bundle, world.usb), finish_county, world.county_path
    if point in EXPORT_POINTS:
        def finish_export(result: Any) -> int:
            imported = world.county.import_bundle(result.path, world.usb)
            pc1.sync.import_return(imported.return_path)
            return result.records

        return pc1, lambda: pc1.export(world.usb), finish_export, world.county_path
    pc2, return_path = _second_pc_return(world)
    return pc2, lambda: pc2.sync.import_return(return_path), lambda _: peek_envelope(return_path).rows, pc2.path


def _export_left_behind(world: World, point: str) -> Path | None:
    """The bundle a crashed export had already renamed into place, copied aside: a user may carry it."""
    if point not in EXPORT_POINTS:
        return None
    [written] = list(world.usb.glob("*.xab"))
    kept = world.root / "kept" / written.name
    kept.parent.mkdir()
    shutil.copy2(written, kept)
    return kept


def _import_left_behind(world: World, pc: Pc, kept: Path) -> None:
    """Carried to the county after the repeated export's round: applied as unchanged, nothing moves."""
    partition = f"twp:{pc.sv().scope.township_id}"
    before = _partition(world.county_path, partition)
    result = world.county.import_bundle(kept, world.root / "kept")
    assert (result.applied, result.conflicts) == (0, 0)
    pc.sync.import_return(result.return_path)
    assert _partition(world.county_path, partition) == before == _partition(pc.path, partition)
    assert pc.sync.status().pending_records == 0
