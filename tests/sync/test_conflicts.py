"""Conflict resolution: both versions field by field, keep the current one or adopt the kept one as a new
local edit that is captured, synced up and wins everywhere; read-only users refused; every decision audited."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.errors import PermissionDenied, XiangAnError
from app.models.audit import AuditEntry
from app.models.organisation import Village
from app.models.sync_state import SyncConflict, SyncOutbox
from app.services import Services
from app.sync.capture import data_columns
from app.sync.conflicts import ConflictService, column_labels
from app.sync.serialize import tables_by_name, to_record
from tests.conftest import ADMIN, CLERK, READER
from tests.sync.sync_world import World, digest


def _stored_conflict(services: Services, row_id: str, reason: str = "concurrent", **other: object) -> int:
    """A losing version of ``row_id`` kept as if another PC's edit had lost against the current row."""
    table = tables_by_name()["village"]
    with services.db.session(audit=False) as session:
        current = session.execute(select(table).where(table.c.id == row_id)).mappings().one()
        loser = {**to_record(table, current), **other, "version": current["version"], "version_replica": "pc-2",
                 "hlc": "0000000000001-000000000-pc-2"}
        conflict = SyncConflict(table_name="village", row_id=row_id, partition=current["partition"], reason=reason,
                                loser_version=loser["version"], loser_replica="pc-2", loser_hlc=loser["hlc"],
                                loser=loser, winner_version=current["version"],
                                winner_replica=current["version_replica"], winner_hlc=current["hlc"])
        session.add(conflict)
        session.flush()
        return conflict.id


@pytest.fixture
def village(services: Services) -> str:
    return services.register("villages").save({"name": "石桥村", "population": "100", "head_name": "李四"})


def _audit(services: Services) -> list[AuditEntry]:
    with services.db.session(audit=False) as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def test_every_synced_column_has_a_chinese_label():
    for table_name, table in tables_by_name().items():
        labels = column_labels()[table_name]
        for column in data_columns(table):
            assert re.search(r"[\u4e00-\u9fff]", labels[column]), (table_name, column, labels[column])


def test_detail_shows_both_versions_field_by_field_differences_first(services, village):
    conflict_id = _stored_conflict(services, village, population=200, head_name="王五")
    detail = ConflictService(services.db, ADMIN).detail(conflict_id)
    assert (detail.label, detail.summary, detail.reason_text) == ("村/社区", "石桥村", "两台电脑同时修改")
    assert detail.current_exists and not detail.resolved and detail.adopt_refusal == ""
    assert [(f.label, f.current, f.other) for f in detail.differing] == [("人口", "100", "200"),
                                                                        ("负责人", "李四", "王五")]
    assert detail.fields[:2] == detail.differing
    shown = {f.label: (f.current, f.other) for f in detail.fields}
    assert shown["名称"] == ("石桥村", "石桥村") and shown["已删除"] == ("否", "否") and shown["户数"] == ("（空）", "（空）")


def test_references_show_names_and_money_shows_yuan(services):
    hazards = services.hazards
    village_id = services.register("villages").save({"name": "石桥村"})
    hazard_id = hazards.register({"found_on": "2026-03-01", "unit_name": "青山砖厂", "location": "窑口",
                                  "description": "消防通道堵塞", "level": "一般", "village": "石桥村"})
    table = tables_by_name()["hazard"]
    with services.db.session(audit=False) as session:
        row = session.execute(select(table).where(table.c.id == hazard_id)).mappings().one()
        loser = {**to_record(table, row), "village_id": None, "funds_fen": 1234567, "version_replica": "pc-2"}
        conflict = SyncConflict(table_name="hazard", row_id=hazard_id, partition=row["partition"], loser=loser,
                                loser_version=row["version"], loser_replica="pc-2", loser_hlc="x",
                                winner_version=row["version"], winner_replica="", winner_hlc=row["hlc"])
        session.add(conflict)
        session.flush()
        conflict_id = conflict.id
    detail = ConflictService(services.db, ADMIN).detail(conflict_id)
    shown = {f.label: (f.current, f.other) for f in detail.differing}
    assert shown == {"所在村/社区": ("石桥村", "（空）"), "整改资金（元）": ("（空）", "12345.67")}
    assert village_id


def test_keep_current_marks_it_resolved_changes_nothing_else_and_is_audited(services, village):
    conflict_id = _stored_conflict(services, village, population=200)
    ConflictService(services.db, ADMIN).keep_current(conflict_id)
    assert services.register("villages").get(village)["population"] == 100
    assert ConflictService(services.db, ADMIN).detail(conflict_id).resolved
    entry = _audit(services)[-1]
    assert (entry.username, entry.entity, entry.entity_id) == ("admin", "village", village)
    assert entry.summary == "同步冲突：村/社区「石桥村」保留当前版本"
    with pytest.raises(XiangAnError, match="已经处理过了"):
        ConflictService(services.db, ADMIN).keep_current(conflict_id)


def test_use_other_writes_the_kept_values_as_a_new_local_edit(services, village):
    with services.db.session() as session:
        before = session.get(Village, village)
    conflict_id = _stored_conflict(services, village, population=200, head_name="王五")
    ConflictService(services.db, CLERK).use_other(conflict_id)
    row = services.register("villages").get(village)
    assert (row["population"], row["head_name"], row["name"]) == (200, "王五", "石桥村")
    with services.db.session() as session:
        after = session.get(Village, village)
    assert after.version == before.version + 1 and after.version_replica == services.db.replica_id
    assert after.hlc > before.hlc
    event, update = sorted(_audit(services)[-2:], key=lambda e: bool(e.changes))
    assert (update.action, update.username, update.entity_id) == ("update", "clerk", village)
    assert update.changes == {"population": [100, 200], "head_name": ["李四", "王五"]}
    assert event.summary == "同步冲突：村/社区「石桥村」改用另一台电脑的版本"
    detail = ConflictService(services.db, ADMIN).detail(conflict_id)
    assert detail.resolved and detail.differing == [] and "已经处理过了" in detail.adopt_refusal


def test_read_only_users_are_refused_and_nothing_changes(services, village):
    conflict_id = _stored_conflict(services, village, population=200)
    before = digest(services.db.path)
    reader = ConflictService(services.db, READER)
    assert reader.detail(conflict_id).differing  # reading is allowed
    for action in (reader.keep_current, reader.use_other):
        with pytest.raises(PermissionDenied, match="只读账号"):
            action(conflict_id)
    assert digest(services.db.path) == before


def test_a_duplicate_cannot_be_adopted_but_can_be_closed(services, village):
    table = tables_by_name()["village"]
    with services.db.session(audit=False) as session:
        row = session.execute(select(table).where(table.c.id == village)).mappings().one()
        loser = {**to_record(table, row), "id": "0c1d2a7e-0000-4000-8000-000000000001", "population": 300}
        session.add(SyncConflict(table_name="village", row_id=loser["id"], partition=row["partition"],
                                 reason="duplicate", loser=loser, loser_version=1, loser_replica="pc-2",
                                 loser_hlc="y", winner_version=0, winner_replica="", winner_hlc=""))
    conflict_id = _only_conflict(services)
    service = ConflictService(services.db, ADMIN)
    detail = service.detail(conflict_id)
    assert not detail.current_exists and detail.reason_text == "重复登记"
    assert "重复" in detail.adopt_refusal and {f.current for f in detail.fields} == {"—"}
    before = digest(services.db.path)
    with pytest.raises(XiangAnError, match="重复"):
        service.use_other(conflict_id)
    assert digest(services.db.path) == before
    service.keep_current(conflict_id)
    assert service.detail(conflict_id).resolved


def _only_conflict(services: Services) -> int:
    with services.db.session(audit=False) as session:
        return session.scalar(select(func.max(SyncConflict.id)))


def test_an_unknown_conflict_is_reported_in_chinese(services):
    with pytest.raises(XiangAnError, match="不存在"):
        ConflictService(services.db, ADMIN).detail(12345)


def test_adopted_version_travels_up_and_reaches_the_other_pc_without_a_new_conflict(tmp_path: Path):
    world = World(tmp_path / "world")
    try:
        first = world.township_pc()
        world.round_trip(first)
        second = world.second_pc()
        world.round_trip(second)
        [village] = first.sv().register("villages").query_ids()
        first.edit_village(village, population="100")
        second.edit_village(village, population="200")
        world.round_trip(first)
        world.round_trip(second)
        world.round_trip(first)  # the first PC now holds the winner and the kept loser
        [conflict] = [c for c in first.sync.conflicts() if not c.resolved]
        current = first.village(village)["population"]
        other = 300 - current
        service = ConflictService(first.db, ADMIN)
        assert [(f.label, f.current, f.other) for f in service.detail(conflict.id).differing] == [
            ("人口", str(current), str(other))]

        service.use_other(conflict.id)
        with first.db.session() as session:
            queued = session.scalar(select(func.count()).select_from(SyncOutbox).where(SyncOutbox.row_id == village))
        assert queued == 1 and first.sync.status().open_conflicts == 0
        world.round_trip(first)
        _, _, received = world.round_trip(second)
        assert received.conflicts == 0
        assert first.village(village)["population"] == second.village(village)["population"] == other
    finally:
        world.close()
