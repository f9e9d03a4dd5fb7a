"""Applying records: idempotent, versions only move forward, deterministic winners with the loser kept,
and a crash between parts redoes at most the part that was running."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.models import Village
from app.models.sync_state import SyncConflict, SyncLedgerPart
from app.services import Services
from app.storage import open_database
from app.sync import checkpoints
from app.sync.apply import apply_rows, check_records
from app.sync.capture import capture_paused
from app.sync.errors import SyncError
from app.sync.serialize import tables_by_name
from tests.conftest import ADMIN
from tests.sync.sync_world import World

TOWNSHIP = "t-1"
PARTITION = f"twp:{TOWNSHIP}"


@pytest.fixture
def db(tmp_path: Path):
    database = open_database(tmp_path / "node")
    Services(database, ADMIN).township.save_profile({"name": "青山镇", "county_name": "安远县", "code": "360726100"})
    yield database
    database.dispose()


def _record(version: int, replica: str, hlc_ms: int, base: int, head: str, row_id: str = "v-1") -> dict:
    return {"_t": "village", "id": row_id, "partition": PARTITION, "version": version, "version_replica": replica,
            "base_version": base, "hlc": f"{hlc_ms:013d}-000000000-{replica}", "deleted": False,
            "created_at": "2026-11-01T00:00:00+00:00", "updated_at": "2026-11-01T00:00:00+00:00",
            "township_id": TOWNSHIP, "name": f"村{row_id}", "kind": "行政村", "code": "", "population": None,
            "households": None, "grid_count": None, "head_name": head, "head_phone": "", "remarks": ""}


def _apply(db, records: list[dict], **kwargs):
    with db.session() as session, capture_paused(session):
        session.execute(Village.__table__.delete().where(Village.township_id == "nobody"))  # begin the transaction
        rows = check_records(session, records, tables_by_name(), lambda p: p == PARTITION)
        return apply_rows(session, rows, **kwargs)


def _with_township(db) -> None:
    """The parent row the village points at (foreign key)."""
    from app.models import Township

    with db.session() as session, capture_paused(session):
        session.add(Township(id=TOWNSHIP, partition=PARTITION, name="青山镇", version=1, version_replica="a",
                             hlc="0"))


def _head(db, row_id: str = "v-1") -> str:
    with db.session() as session:
        return session.get(Village, row_id).head_name


def test_apply_is_idempotent(db):
    _with_township(db)
    first = _apply(db, [_record(1, "a", 1, 0, "张三")])
    again = _apply(db, [_record(1, "a", 1, 0, "张三")])
    assert (first.applied, again.applied, again.unchanged) == (1, 0, 1)


def test_versions_only_move_forward(db):
    _with_township(db)
    _apply(db, [_record(3, "a", 3, 2, "新")])
    stats = _apply(db, [_record(2, "a", 2, 1, "旧")])
    assert stats.unchanged == 1 and _head(db) == "新"
    _apply(db, [_record(4, "a", 4, 3, "更新")])
    assert _head(db) == "更新"


def test_sequential_edits_from_two_pcs_are_not_conflicts(db):
    _with_township(db)
    _apply(db, [_record(1, "a", 1, 0, "张三")])
    stats = _apply(db, [_record(2, "b", 2, 1, "李四")])  # b had seen a's version 1
    assert (stats.applied, stats.conflicts) == (1, 0) and _head(db) == "李四"


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_concurrent_versions_give_the_same_winner_in_any_order(tmp_path: Path, order):
    """Three PCs edit version 1 at once: every arrival order ends with the same row and the same losers."""
    versions = [_record(2, "a", 10, 1, "甲"), _record(2, "b", 11, 1, "乙"), _record(3, "c", 5, 1, "丙")]
    db = open_database(tmp_path / "x")
    try:
        _with_township(db)
        _apply(db, [_record(1, "a", 1, 0, "原")])
        for index in order:
            _apply(db, [versions[index]])
        with db.session() as session:
            losers = sorted(session.scalars(select(SyncConflict.loser_replica)))
        assert _head(db) == "丙"  # highest version wins (then clock, then replica)
        assert losers == ["a", "b"]
    finally:
        db.dispose()


def test_conflicts_are_stored_once_even_when_replayed(db):
    _with_township(db)
    _apply(db, [_record(1, "a", 1, 0, "原")])
    _apply(db, [_record(2, "a", 10, 1, "甲")])
    for _ in range(2):
        _apply(db, [_record(2, "b", 11, 1, "乙")])
    with db.session() as session:
        assert session.scalar(select(func.count(SyncConflict.id))) == 1


def test_same_version_with_another_clock_is_a_fork(db):
    _with_township(db)
    _apply(db, [_record(2, "a", 10, 1, "甲")])
    with pytest.raises(SyncError) as caught:
        _apply(db, [_record(2, "a", 99, 1, "恢复后")])
    assert caught.value.code == "fork"
    stats = _apply(db, [_record(2, "a", 99, 1, "恢复后")], retired=frozenset({"a"}))
    assert stats.conflicts == 1 and _head(db) == "恢复后"


def test_a_duplicate_live_name_is_kept_as_a_conflict_not_a_failure(db):
    _with_township(db)
    first = _record(1, "a", 1, 0, "张三", row_id="v-1")
    second = {**_record(1, "b", 2, 0, "李四", row_id="v-2"), "name": first["name"]}
    stats = _apply(db, [first, second])
    assert (stats.applied, stats.conflicts) == (1, 1)
    with db.session() as session:
        [conflict] = session.scalars(select(SyncConflict)).all()
        assert (conflict.reason, conflict.row_id) == ("duplicate", "v-2")


def test_records_are_checked_before_anything_is_written(db):
    bad = [_record(1, "a", 1, 0, "张三"), {**_record(1, "a", 1, 0, "x", row_id="v-2"), "population": "很多"}]
    with pytest.raises(SyncError, match="population"):
        _apply(db, bad)
    unknown = [{**_record(1, "a", 1, 0, "x"), "_t": "secret_table"}]
    with pytest.raises(SyncError, match="升级"):
        _apply(db, unknown)


def test_a_crash_between_parts_redoes_at_most_one_part(tmp_path: Path, monkeypatch):
    world = World(tmp_path)
    try:
        pc = world.township_pc(villages=tuple(f"村{i:04d}" for i in range(1200)))
        exported = pc.export(world.usb)
        assert exported.records == 1201  # 3 parts
        applied_parts: list[str] = []
        real_apply = apply_rows

        def counting(*args, **kwargs):
            applied_parts.append("part")
            return real_apply(*args, **kwargs)

        def crash(name: str) -> None:
            if name == "county.part_applied" and len(applied_parts) == 2:
                raise KeyboardInterrupt("power cut")

        monkeypatch.setattr("app.sync.state.apply_rows", counting)
        monkeypatch.setattr(checkpoints, "crash_point", crash)
        with pytest.raises(KeyboardInterrupt):
            world.county.import_bundle(exported.path, world.usb)
        with world.county.db.session() as session:
            assert session.scalar(select(func.count()).select_from(SyncLedgerPart)) == 2
        monkeypatch.setattr(checkpoints, "crash_point", lambda name: None)
        result = world.county.import_bundle(exported.path, world.usb)
        assert len(applied_parts) == 3  # the two committed parts were not redone
        assert world.county.status()[0].records["村/社区"] == 1200
        assert result.acknowledged_to == exported.seq_to
        with world.county.db.session() as session:  # no staging residue
            assert session.scalar(select(func.count()).select_from(SyncLedgerPart)) == 0
    finally:
        world.close()
