"""Township ↔ county over a USB stick, with real SQLite files and real bundle files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.errors import XiangAnError
from app.models import Attachment, AuditEntry, Hazard, SupervisionOrder, Township, Village
from app.models.sync_state import SyncOutbox
from app.services import Services
from app.services.hazards import HazardService
from app.storage import open_database
from app.storage.attachments import AttachmentStore
from app.sync.county import CountyStore
from app.sync.errors import SyncError
from app.sync.township import TownshipSync
from tests.conftest import ADMIN
from tests.sync.sync_world import World


@pytest.fixture
def world(tmp_path: Path):
    w = World(tmp_path)
    yield w
    w.close()


def _count(db, model, **where) -> int:
    with db.session() as session:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return session.scalar(query) or 0


def test_round_trip_carries_everything_and_acknowledges_it(world: World):
    pc = world.township_pc(villages=("石桥村", "东山村"))
    assert pc.sync.status().pending_records == 3  # township + two villages, all queued at enrolment

    exported, imported, returned = world.round_trip(pc)

    assert exported.records == 3 and exported.path.name.startswith("360726100-1-")
    assert (imported.applied, imported.unchanged, imported.conflicts) == (3, 0, 0)
    assert _count(world.county.db, Village, deleted=False) == 2
    [status] = world.county.status()
    assert status.name == "青山镇" and status.bound and status.records == {"乡镇信息": 1, "村/社区": 2}
    assert status.acknowledged_to == exported.seq_to and status.last_bundle_file == exported.path.name
    assert returned.acknowledged_to == exported.seq_to
    after = pc.sync.status()
    assert after.pending_records == 0 and after.acknowledged_to == exported.seq_to
    assert _count(pc.db, SyncOutbox) == 0  # acknowledged entries are pruned
    assert [h.direction for h in pc.sync.history()] == ["下发", "上报"]
    assert "县里已确认到第 3 号" in pc.sync.history()[0].summary
    with pc.db.session() as session:  # the audit log says who synced what, like every other change
        summaries = list(session.scalars(select(AuditEntry.summary).where(AuditEntry.summary.like("同步：%"))))
    assert [s[:5] for s in summaries] == ["同步：登记", "同步：导出", "同步：导入"]


def test_township_that_used_the_app_first_keeps_its_own_id(world: World):
    pc = world.township_pc()
    township_id = pc.sv().scope.township_id
    world.round_trip(pc)
    with world.county.db.session() as session:
        assert session.scalars(select(Township.id)).all() == [township_id]
    assert world.county.status()[0].township_id == township_id


def test_only_changes_since_the_acknowledgement_travel_next_time(world: World):
    pc = world.township_pc()
    world.round_trip(pc)
    village = pc.add_village("新华村")
    exported, imported, _ = world.round_trip(pc)
    assert exported.records == 1
    assert imported.applied == 1
    pc.edit_village(village, head_name="王强")
    exported, imported, _ = world.round_trip(pc)
    assert exported.records == 1
    with world.county.db.session() as session:
        assert session.get(Village, village).head_name == "王强"


def test_lost_stick_costs_nothing_the_next_export_carries_it_all(world: World):
    pc = world.township_pc()
    lost = pc.export(world.usb)
    lost.path.unlink()  # the stick is lost on the way
    pc.add_village("新华村")
    exported, imported, _ = world.round_trip(pc)
    assert exported.records == 3 and imported.applied == 3


def test_county_data_comes_down_with_the_return_file(world: World, tmp_path: Path):
    pc = world.township_pc()
    doc = tmp_path / "sectors.json"
    doc.write_text(json.dumps({"kind": "sector_codes", "version": "2027.1", "title": "行业领域代码表",
                               "items": [{"code": "road", "name": "道路交通", "group": "八大重点行业"},
                                         {"code": "farm", "name": "农机", "group": "其他"}]},
                              ensure_ascii=False), encoding="utf-8")
    world.county.send_document("sectors", doc)
    _, _, returned = world.round_trip(pc)
    assert returned.received == {"县级配置": 1}
    assert [s.name for s in pc.sv().township.sectors()] == ["道路交通", "农机"]
    # nothing the county sent is re-logged as a local edit
    assert pc.sync.status().pending_records == 0


def test_supervision_order_points_at_the_townships_hazard(world: World):
    pc = world.township_pc()
    scope = pc.sv().scope
    hazards = HazardService(pc.db, ADMIN, scope)
    hazard_id = hazards.register({"found_on": "2026-11-01", "unit_name": "石桥砖厂", "location": "窑口",
                                  "description": "配电箱无防护"})
    world.round_trip(pc)
    with world.county.db.session() as session:
        number = session.get(Hazard, hazard_id).number
    order = world.county.send_supervision("360726100", number, "请于月底前完成整改", "县安委办督办")
    _, _, returned = world.round_trip(pc)
    assert returned.received == {"督办通知": 1}
    with pc.db.session() as session:
        stored = session.get(SupervisionOrder, order.id)
        assert stored.hazard_id == hazard_id and stored.partition == f"county:to:{scope.township_id}"


def test_attachments_travel_once(world: World, tmp_path: Path):
    pc = world.township_pc()
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(b"%PDF-1.4\n" + b"x" * 5000)
    stored = AttachmentStore(pc.db.attachments_dir).put(scan)
    scope = pc.sv().scope
    with pc.db.session() as session:
        session.add(Attachment(township_id=scope.township_id, partition=scope.partition, owner_table="village",
                               owner_id="v", sha256=stored.sha256, file_name="scan.pdf", size=stored.size))
    exported, _, _ = world.round_trip(pc)
    assert exported.attachments == 1
    assert AttachmentStore(world.root / "county" / "attachments").has(stored.sha256)
    # a second row with the same file: the county already holds the bytes, they are not sent again
    with pc.db.session() as session:
        session.add(Attachment(township_id=scope.township_id, partition=scope.partition, owner_table="village",
                               owner_id="w", sha256=stored.sha256, file_name="scan-copy.pdf", size=stored.size))
    exported, _, _ = world.round_trip(pc)
    assert (exported.records, exported.attachments) == (1, 0)
    assert pc.sync.status().pending_attachments == 0


def test_two_pcs_of_one_township_see_each_others_rows(world: World):
    pc1 = world.township_pc()
    world.round_trip(pc1)
    pc2 = world.second_pc()
    _, _, returned = world.round_trip(pc2)
    assert returned.received.get("村/社区") == 1
    assert pc2.sv().scope.township_id == pc1.sv().scope.township_id
    village = pc2.add_village("新华村")
    world.round_trip(pc2)
    _, _, returned = world.round_trip(pc1)
    assert returned.received == {"村/社区": 1}
    assert pc1.village(village)["name"] == "新华村"
    assert len(world.county.status()[0].pcs) == 2


def test_concurrent_edit_on_two_pcs_is_kept_as_a_conflict_on_both_paths(world: World):
    pc1, pc2, village = world.concurrent_edit()
    _, first, _ = world.round_trip(pc1)
    _, second, _ = world.round_trip(pc2)
    assert first.conflicts == 0 and second.conflicts == 1
    _, _, back = world.round_trip(pc1)
    # every node ends with the same winner, and the losing version is stored, never dropped
    with world.county.db.session() as session:
        winner = session.get(Village, village).head_name
    assert pc1.village(village)["head_name"] == winner == pc2.village(village)["head_name"]
    losers = {c.loser["head_name"] for c in world.county.conflicts()}
    assert losers == {"张三", "李四"} - {winner}
    loser_pc = pc1 if winner == "李四" else pc2
    if loser_pc is pc1:
        assert back.conflicts == 1
    [conflict] = loser_pc.sync.conflicts()
    assert conflict.label == "村/社区" and conflict.loser["head_name"] in {"张三", "李四"} - {winner}
    assert loser_pc.sync.status().open_conflicts == 1


def test_pc_enrolled_with_bound_file_refuses_other_townships_data(world: World):
    pc1 = world.township_pc()
    world.round_trip(pc1)
    other = world.open_pc("other")
    Services(other.db, ADMIN).township.save_profile({"name": "别的镇", "county_name": "安远县", "code": "360726101"})
    with pytest.raises(XiangAnError, match="不是同一份数据"):
        other.sync.enrol(world.enrolment("360726100", "青山镇", "other"))


def test_county_database_at_any_sqlalchemy_url(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'elsewhere' / 'county.db'}"
    (tmp_path / "elsewhere").mkdir()
    county = CountyStore.init(tmp_path / "files", db_url=url, name="安远县应急管理局")
    db = open_database(tmp_path / "pc")
    try:
        Services(db, ADMIN).township.save_profile({"name": "青山镇", "county_name": "安远县", "code": "360726100"})
        sync = TownshipSync(db, tmp_path / "pc")
        sync.enrol(county.add_township("360726100", "青山镇", tmp_path / "e.xae"))
        exported = sync.export_bundle(tmp_path / "usb")
        county.close()
        county = CountyStore.open(tmp_path / "files", db_url=url)
        result = county.import_bundle(exported.path, tmp_path / "usb")
        assert result.applied == 1 and county.status()[0].records == {"乡镇信息": 1}
        assert sync.import_return(result.return_path).acknowledged_to == exported.seq_to
    finally:
        county.close()
        db.dispose()


def test_the_same_enrolment_file_cannot_be_used_twice(world: World):
    pc = world.township_pc()
    used = world.root / "enrol-pc1.xae"
    with pytest.raises(XiangAnError, match="已经导入过这个登记文件"):
        pc.sync.enrol(used)
    other = world.open_pc("pc2")
    world.round_trip(pc)
    with pytest.raises(SyncError) as caught:  # a copy of an enrolment file used on a second PC
        other.sync.enrol(used)
        world.upload(other)
    assert caught.value.code == "unknown_sender"


def test_cancelled_export_leaves_no_file_and_nothing_logged(world: World):
    pc = world.township_pc()
    with pytest.raises(SyncError) as caught:
        pc.sync.export_bundle(world.usb, cancelled=lambda: True)
    assert caught.value.code == "cancelled"
    assert list(world.usb.iterdir()) == [] and pc.sync.history() == []
    assert pc.sync.status().pending_records == 2


def test_cancelled_import_keeps_the_applied_parts_and_finishes_later(world: World):
    pc = world.township_pc(villages=tuple(f"村{i:04d}" for i in range(700)))
    exported = pc.export(world.usb)
    seen: list[tuple[int, int]] = []
    with pytest.raises(SyncError, match="已取消导入"):
        world.county.import_bundle(exported.path, world.usb, progress=lambda d, t: seen.append((d, t)),
                                   cancelled=lambda: bool(seen))
    assert seen == [(500, 701)]
    assert _count(world.county.db, Village) == 499  # the first part (township + 499 villages) is kept
    result = world.county.import_bundle(exported.path, world.usb)
    assert result.acknowledged_to == exported.seq_to
    assert world.county.status()[0].records == {"乡镇信息": 1, "村/社区": 700}
