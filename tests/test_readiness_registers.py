"""The 七有/五有 registers through the services the screens call: validation, references, roles, Excel."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.errors import PermissionDenied, ValidationError
from app.models import AuditEntry
from app.services import Services
from app.services.imports import ImportService
from app.services.organisation import REGISTERS
from app.services.readiness_registers import READINESS_KINDS, READINESS_REGISTERS
from app.services.registers import ListQuery
from tests.conftest import CLERK, READER


@pytest.fixture
def village(services: Services) -> str:
    return services.register("villages").save({"name": "石桥村", "population": "1200"})


@pytest.fixture
def team(services: Services, village: str) -> str:
    return services.register("teams").save({"name": "石桥村应急队", "village": "石桥村"})


@pytest.fixture
def plan(services: Services) -> str:
    return services.register("plans").save({"name": "青山镇防汛专项应急预案", "approved_on": "2025-04-01",
                                            "next_revision_on": "2028-04-01"})


# One valid row per register (references to the team and plan the fixtures create).
SAMPLE: dict[str, dict[str, Any]] = {
    "teams": {"name": "青山镇综合应急救援队"},
    "team_members": {"name": "张三", "team": "石桥村应急队", "phone": "13800138000"},
    "supplies": {"name": "救生衣", "quantity": "20", "unit": "件"},
    "shelters": {"name": "中心小学避难场所", "capacity": "800"},
    "plans": {"name": "地质灾害专项应急预案"},
    "drills": {"name": "防汛演练", "held_on": "2026-06-01", "plan": "青山镇防汛专项应急预案"},
    "equipment": {"name": "卫星电话", "kind": "卫星电话", "quantity": "2"},
    "comm_tests": {"tested_on": "2026-10-08", "equipment": "卫星电话"},
    "call_trees": {"name": "李四", "phone": "13900139000"},
    "org_documents": {"name": "值班值守制度", "kind": "值班制度"},
}


def test_contract_kinds_titles_and_village_fields() -> None:
    assert READINESS_KINDS == ("teams", "team_members", "supplies", "shelters", "plans", "drills", "equipment",
                               "comm_tests", "call_trees", "org_documents")
    assert {k: REGISTERS[k].title for k in READINESS_KINDS} == {
        "teams": "救援队伍", "team_members": "队员", "supplies": "应急物资", "shelters": "避难场所",
        "plans": "应急预案", "drills": "演练记录", "equipment": "指挥平台设备", "comm_tests": "通信测试",
        "call_trees": "叫应名单", "org_documents": "机构制度文件"}
    for kind, spec in READINESS_REGISTERS.items():
        kinds = {f.name: f.kind for f in spec.fields}
        if kind == "team_members":
            assert kinds["team"] == "team" and "village" not in kinds
        else:
            assert kinds["village"] == "village", kind
        if kind == "drills":
            assert kinds["plan"] == "plan"
        assert "remarks" in kinds


@pytest.mark.parametrize("kind", READINESS_KINDS)
def test_every_register_saves_reads_and_tombstones(services: Services, team: str, plan: str, kind: str) -> None:
    register = services.register(kind)
    record_id = register.save(SAMPLE[kind])
    row = register.get(record_id)
    for name, value in SAMPLE[kind].items():
        assert str(row[name]) == value or row[name] == value or name in ("held_on", "tested_on")
    register.delete(record_id)
    assert record_id not in register.query_ids()
    with sqlite3.connect(services.db.path) as conn:
        deleted = conn.execute(f"SELECT deleted FROM {REGISTERS[kind].model.__tablename__} WHERE id = ?",
                               (record_id,)).fetchone()
    assert deleted == (1,)  # a tombstone, never a hard delete


@pytest.mark.parametrize("kind", READINESS_KINDS)
def test_reader_is_refused_and_clerk_is_audited(services: Services, team: str, plan: str, kind: str) -> None:
    reader = Services(services.db, READER).register(kind)
    with pytest.raises(PermissionDenied, match="只读账号"):
        reader.save(SAMPLE[kind])
    clerk = Services(services.db, CLERK).register(kind)
    record_id = clerk.save(SAMPLE[kind])
    with services.db.session() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.entity_id == record_id)).all()
    assert [(e.action, e.username) for e in entries] == [("create", "clerk")]


def test_negative_quantity_names_the_field(services: Services) -> None:
    with pytest.raises(ValidationError) as info:
        services.register("supplies").save({"name": "沙袋", "quantity": "-5"})
    assert info.value.errors == {"quantity": "应为不小于0的整数"}
    assert str(info.value) == "数量：应为不小于0的整数"


def test_expiry_before_production_is_refused_and_nothing_saved(services: Services) -> None:
    supplies = services.register("supplies")
    with pytest.raises(ValidationError) as info:
        supplies.save({"name": "方便面", "quantity": "10", "produced_on": "2026-05-01", "expires_on": "2026.4.30"})
    assert str(info.value) == "有效期至：不能早于生产日期（2026-05-01）"
    assert supplies.count() == 0
    supplies.save({"name": "方便面", "quantity": "10", "produced_on": "2026-05-01", "expires_on": "2026-05-01"})
    assert supplies.count() == 1


def test_shelter_capacity_must_be_above_zero(services: Services) -> None:
    with pytest.raises(ValidationError) as info:
        services.register("shelters").save({"name": "村委会广场", "capacity": "0"})
    assert str(info.value) == "可容纳人数：应大于0"
    with pytest.raises(ValidationError, match="可容纳人数：必填"):
        services.register("shelters").save({"name": "村委会广场"})


def test_plan_revision_not_before_approval(services: Services) -> None:
    with pytest.raises(ValidationError, match="下次修订日期：不能早于印发日期"):
        services.register("plans").save({"name": "防汛预案", "approved_on": "2026-03-01", "next_revision_on": "2025-03-01"})


def test_team_reference_by_name(services: Services, team: str) -> None:
    members = services.register("team_members")
    with pytest.raises(ValidationError) as info:
        members.save({"name": "王五", "team": "不存在的队"})
    assert info.value.errors == {"team": "找不到名为「不存在的队」的救援队伍，请先在「救援队伍」中添加"}
    with pytest.raises(ValidationError, match="所属队伍：必填"):
        members.save({"name": "王五"})
    member = members.save({"name": "王五", "team": "石桥村应急队", "insurance_until": "2027-01-01"})
    assert members.choices("team") == ["石桥村应急队"]
    services.register("teams").save({"name": "石桥村抢险队", "village": "石桥村"}, team)  # renamed
    assert members.get(member)["team"] == "石桥村抢险队"
    assert members.query_ids(ListQuery(filters={"team": "石桥村抢险队"})) == [member]
    assert members.query_ids(ListQuery(filters={"team": "别的队"})) == []


def test_team_with_members_cannot_be_deleted(services: Services, team: str) -> None:
    services.register("team_members").save({"name": "王五", "team": "石桥村应急队"})
    with pytest.raises(ValidationError, match="还有1名队员"):
        services.register("teams").delete(team)


def test_plan_with_drills_cannot_be_deleted_and_drills_sort_by_plan(services: Services, plan: str) -> None:
    drills = services.register("drills")
    with_plan = drills.save({"name": "防汛演练", "held_on": "2026-06-01", "plan": "青山镇防汛专项应急预案"})
    without = drills.save({"name": "消防培训", "held_on": "2026-07-01", "kind": "培训"})
    assert drills.query_ids(ListQuery(sort="plan")) == [without, with_plan]
    assert drills.choices("plan") == ["青山镇防汛专项应急预案"]
    with pytest.raises(ValidationError, match="下还有1条演练记录"):
        services.register("plans").delete(plan)


def test_member_links_a_contact_by_name_or_name_and_mobile(services: Services, team: str) -> None:
    contacts = services.register("contacts")
    contacts.save({"name": "赵六", "mobile": "13700137000"})
    members = services.register("team_members")
    first = members.save({"name": "赵六", "team": "石桥村应急队", "contact": "赵六"})
    assert members.get(first)["contact"] == "赵六（13700137000）"
    contacts.save({"name": "赵六", "mobile": "13600136000"})
    with pytest.raises(ValidationError, match="有2位名为「赵六」的联系人"):
        members.save({"name": "赵六", "team": "石桥村应急队", "contact": "赵六"}, first)
    members.save({"name": "赵六", "team": "石桥村应急队", "contact": "赵六（13600136000）"}, first)
    assert members.get(first)["contact"] == "赵六（13600136000）"
    assert members.choices("contact") == ["赵六（13600136000）", "赵六（13700137000）"]
    with pytest.raises(ValidationError, match="联系人名录中没有「孙七」"):
        members.save({"name": "赵六", "team": "石桥村应急队", "contact": "孙七"}, first)


def test_village_blank_means_township_and_unknown_village_is_refused(services: Services, village: str) -> None:
    supplies = services.register("supplies")
    township_row = supplies.save({"name": "帐篷", "quantity": "10"})
    village_row = supplies.save({"name": "帐篷", "quantity": "2", "village": "石桥村"})
    assert supplies.get(township_row)["village"] == ""
    assert supplies.query_ids(ListQuery(filters={"village": "石桥村"})) == [village_row]
    assert supplies.query_ids(ListQuery(filters={"village": "乡镇本级"})) == [township_row]
    with pytest.raises(ValidationError, match="找不到名为「白沙村」的村/社区"):
        supplies.save({"name": "帐篷", "quantity": "2", "village": "白沙村"})


def test_excel_export_reimports_unchanged(services: Services, village: str, tmp_path: Path) -> None:
    supplies = services.register("supplies")
    supplies.save({"name": "救生衣", "quantity": "20", "unit": "件", "village": "石桥村", "location": "村委会仓库",
                   "produced_on": "2025-01-01", "expires_on": "2028-01-01"})
    importer = ImportService(services.db, services.actor, services.scope)
    path = tmp_path / "物资.xlsx"
    assert importer.export("supplies", path) == 1
    source = importer.load(path, "supplies")
    mapping = importer.suggest_mapping("supplies", source.data.headers)
    assert [row.action for row in importer.preview("supplies", source, mapping)] == ["无变化"]
    assert set(mapping.values()) == {f.name for f in READINESS_REGISTERS["supplies"].fields}


def test_excel_import_reports_bad_rows_by_field(services: Services, tmp_path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["物资名称", "数量", "单位", "生产日期", "有效期至"])
    sheet.append(["沙袋", 500, "条", "", ""])
    sheet.append(["救生衣", -3, "件", "", ""])
    sheet.append(["方便面", 10, "箱", "2026-05-01", "2026-01-01"])
    path = tmp_path / "应急物资.xlsx"
    book.save(path)
    importer = ImportService(services.db, services.actor, services.scope)
    source = importer.load(path, "supplies")
    result = importer.apply("supplies", source, importer.suggest_mapping("supplies", source.data.headers))
    assert result.created == 1
    assert result.skipped_rows == [(3, "数量：应为不小于0的整数"), (4, "有效期至：不能早于生产日期（2026-05-01）")]


@pytest.mark.parametrize(("typed", "stored", "problem"), [
    ("115.4123,25.1367", "115.4123,25.1367", ""),
    ("115.4123， 25.1367", "115.4123,25.1367", ""),
    ("25.1367,115.4123", "", "经度25.1367、纬度115.412不在我国范围内，请核对（经度在前，纬度在后）"),
    ("村委会旁", "", "应写成“经度,纬度”，如 115.4123,25.1367"),
])
def test_shelter_coordinates(services: Services, typed: str, stored: str, problem: str) -> None:
    shelters = services.register("shelters")
    if problem:
        with pytest.raises(ValidationError) as info:
            shelters.save({"name": "广场", "capacity": "100", "coordinates": typed})
        assert info.value.errors == {"coordinates": problem}
    else:
        assert shelters.get(shelters.save({"name": "广场", "capacity": "100", "coordinates": typed}))["coordinates"] == stored

