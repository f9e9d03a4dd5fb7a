"""Change capture: every local write of every synced table lands in the outbox in the same transaction,
bulk statements included; applied rows and technical columns do not."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import JSON, Boolean, Date, DateTime, Integer, insert, select, text, update

from app.models import Base, SyncedMixin, Village
from app.models.base import UTCDateTime
from app.models.sync_state import SyncOutbox
from app.storage import open_database
from app.sync.capture import (
    capture_installed,
    capture_paused,
    expected_triggers,
    install_capture,
    synced_tables,
)
from tests.sync.sync_world import World


@pytest.fixture
def world(tmp_path: Path):
    w = World(tmp_path)
    yield w
    w.close()


@pytest.fixture
def pc(world: World):
    pc = world.township_pc()
    with pc.db.session() as session:
        session.execute(SyncOutbox.__table__.delete())  # start each test from an empty outbox
    return pc


def _outbox(db) -> list[tuple[str, str, int, str]]:
    with db.session() as session:
        return [tuple(r) for r in session.execute(
            select(SyncOutbox.table_name, SyncOutbox.row_id, SyncOutbox.version, SyncOutbox.op)
            .order_by(SyncOutbox.seq))]


def _dummy(column) -> object:
    kind = column.type
    if isinstance(kind, (UTCDateTime, DateTime)):
        return datetime(2026, 1, 1)
    if isinstance(kind, Date):
        return date(2026, 1, 1)
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, Integer):
        return 1
    if isinstance(kind, JSON):
        return "{}"
    return "x"


def test_every_synced_table_in_the_metadata_is_captured(pc):
    """Walks Base.metadata, not a list: a new SyncedMixin table is captured by declaration alone."""
    synced = {t.name for t in Base.metadata.tables.values()
              if {"id", "partition", "version", "version_replica", "hlc", "deleted"} <= set(t.columns.keys())}
    assert synced == {t.name for t in synced_tables()}
    assert {f"sync_capture_{name}_{op}" for name in synced for op in ("insert", "update")} == set(expected_triggers())
    raw = pc.db.engine.raw_connection()
    try:
        raw.execute("PRAGMA foreign_keys=OFF")
        for table in Base.metadata.sorted_tables:
            if table.name not in synced:
                continue
            values = {c.name: _dummy(c) for c in table.columns if not c.nullable}
            values.update(id=f"probe-{table.name}"[:36], partition="twp:x", version=0, version_replica="", hlc="")
            names = ", ".join(f'"{n}"' for n in values)
            raw.execute(f'INSERT INTO "{table.name}" ({names}) VALUES ({", ".join("?" for _ in values)})',
                        [str(v) if isinstance(v, (date, datetime)) else v for v in values.values()])
        raw.commit()
    finally:
        raw.close()
    captured = {(t, row_id) for t, row_id, _v, op in _outbox(pc.db) if op == "insert"}
    assert captured == {(name, f"probe-{name}"[:36]) for name in synced}


def test_orm_write_is_logged_with_its_version(pc):
    village = pc.add_village("新华村")
    pc.edit_village(village, head_name="王强")
    assert _outbox(pc.db) == [("village", village, 1, "insert"), ("village", village, 2, "update")]


def test_bulk_update_is_logged_and_bumps_the_version(pc):
    village = pc.add_village("新华村")
    with pc.db.session() as session:
        session.execute(update(Village).where(Village.id == village).values(head_name="李四"))
    with pc.db.session() as session:
        row = session.get(Village, village)
        assert (row.version, row.head_name) == (2, "李四")
        assert row.version_replica == pc.db.replica_id and row.hlc.endswith(pc.db.replica_id)
    assert _outbox(pc.db)[-1] == ("village", village, 2, "update")


def test_bulk_insert_is_logged_and_stamped(pc):
    scope = pc.sv().scope
    with pc.db.session() as session:
        session.execute(insert(Village).values(id="bulk-1", township_id=scope.township_id, partition=scope.partition,
                                               name="批量村"))
        row = session.get(Village, "bulk-1")
        assert (row.version, row.version_replica) == (1, pc.db.replica_id)
    assert _outbox(pc.db) == [("village", "bulk-1", 1, "insert")]


def test_technical_columns_do_not_bump_or_log(pc):
    village = pc.add_village("新华村")
    before = _outbox(pc.db)
    with pc.db.session() as session:
        session.execute(update(Village).where(Village.id == village).values(base_version=7, updated_at=datetime.now()
                                                                            .astimezone()))
        assert session.get(Village, village).version == 1
    assert _outbox(pc.db) == before


def test_a_rolled_back_write_leaves_no_outbox_entry(pc):
    with pytest.raises(RuntimeError), pc.db.session() as session:
        session.execute(update(Village).values(head_name="回滚"))
        assert _outbox_count(session) > 0
        raise RuntimeError("abort")
    assert _outbox(pc.db) == []


def _outbox_count(session) -> int:
    return session.scalar(text("SELECT count(*) FROM sync_outbox"))


def test_rows_applied_from_a_bundle_are_not_relogged(pc):
    village = pc.sv().register("villages").query_ids()[0]
    with pc.db.session() as session, capture_paused(session):
        session.execute(update(Village).where(Village.id == village).values(head_name="县里", version=9))
    with pc.db.session() as session:
        assert session.get(Village, village).version == 9
        assert session.scalar(text("SELECT count(*) FROM sync_capture_pause")) == 0
    assert _outbox(pc.db) == []


def test_triggers_are_only_rewritten_when_the_models_change(pc):
    with pc.db.session() as session:
        assert install_capture(session.connection()) == 0
        session.execute(text("DROP TRIGGER sync_capture_village_update"))
        assert not capture_installed(session.connection())
    pc.db.dispose()
    reopened = open_database(pc.folder)  # start-up restores missing or outdated triggers
    try:
        with reopened.session() as session:
            assert capture_installed(session.connection())
    finally:
        reopened.dispose()


def test_a_pc_that_is_not_enrolled_has_no_capture_overhead(tmp_path: Path):
    db = open_database(tmp_path / "plain")
    try:
        with db.session() as session:
            assert not capture_installed(session.connection())
    finally:
        db.dispose()


def test_synced_mixin_is_what_selects_the_tables():
    assert all(issubclass(m.class_, SyncedMixin) for m in Base.registry.mappers
               if m.class_.__table__ in synced_tables())
