"""Importing office spreadsheets into the registers, re-importing, and exporting."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import select

from app.errors import PermissionDenied, XiangAnError
from app.models import AuditEntry, Role
from app.models import validation as v
from app.services import Services
from app.services.context import Actor
from app.services.imports import CANCELLED, ImportService

CLERK = Actor(username="clerk", display_name="录入员", role=Role.CLERK)
READER = Actor(username="reader", display_name="只读", role=Role.READONLY)


def uscc(n: int) -> str:
    body = f"91360726MA{n:07d}"
    return body + v.uscc_check_char(body)


def xlsx(path: Path, rows: list[list[Any]], title_row: str | None = None) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    if title_row:
        ws.append([title_row])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=max(len(r) for r in rows))
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


@pytest.fixture
def imports(services: Services) -> ImportService:
    return ImportService(services.db, services.actor, services.scope)


def run(imports: ImportService, path: Path, kind: str) -> Any:
    source = imports.load(path, kind)
    return imports.apply(kind, source, imports.suggest_mapping(kind, source.data.headers))


def preview(imports: ImportService, path: Path, kind: str) -> list[Any]:
    source = imports.load(path, kind)
    return imports.preview(kind, source, imports.suggest_mapping(kind, source.data.headers))


VILLAGE_ROWS = [
    ["序号", "村（社区）名称", "类型", "户籍人口", "村书记", "联系电话"],
    [1, "青山村", "行政村", 1200.0, "赵六", 13800138001.0],
    [2, "白水社区", "社区", 800, "钱七", "0797-1234567"],
    [3, None, None, None, None, None],  # pre-numbered empty template line
    ["合计", None, None, 2000, None, None],
]


def load_villages(imports: ImportService, tmp_path: Path) -> None:
    result = run(imports, xlsx(tmp_path / "villages.xlsx", VILLAGE_ROWS, "青山镇村（社区）名单"), "villages")
    assert (result.created, result.skipped_rows) == (2, [])


def test_suggest_mapping_normalises_headers(imports: ImportService) -> None:
    headers = ["序号", "企业名称（必填）", "* 统一社会信用代码 ", "联系电话(手机)", "所属村", "ＸＸ"]
    assert imports.suggest_mapping("enterprises", headers) == {
        1: "name", 2: "credit_code", 3: "phone", 4: "village",
    }


def test_label_beats_alias_for_the_same_field(imports: ImportService) -> None:
    # 「电话」 is an alias of 负责人电话; the exact label elsewhere in the row must win.
    assert imports.suggest_mapping("villages", ["名称", "电话", "负责人电话"]) == {0: "name", 2: "head_phone"}


def test_import_messy_villages(imports: ImportService, services: Services, tmp_path: Path) -> None:
    load_villages(imports, tmp_path)
    rows = {r["name"]: r for r in services.register("villages").rows()}
    assert set(rows) == {"青山村", "白水社区"}
    assert rows["青山村"]["population"] == 1200 and rows["青山村"]["head_phone"] == "13800138001"
    assert rows["白水社区"]["kind"] == "社区" and rows["白水社区"]["head_phone"] == "0797-1234567"


def test_enterprises_need_their_villages_first(imports: ImportService, services: Services, tmp_path: Path) -> None:
    path = xlsx(tmp_path / "e.xlsx", [
        ["企业名称", "统一社会信用代码", "所在村", "行业", "联系电话"],
        ["青山化工", uscc(1), "青山村", "危险化学品", "１３８００１３８０００"],
    ])
    before = preview(imports, path, "enterprises")
    assert before[0].action == "有错误" and "请先在「村/社区」中添加" in before[0].errors["village"]
    load_villages(imports, tmp_path)
    after = preview(imports, path, "enterprises")
    assert after[0].action == "新增" and after[0].values["phone"] == "13800138000"
    assert run(imports, path, "enterprises").created == 1
    assert services.register("enterprises").rows()[0]["village"] == "青山村"


def test_reimport_updates_instead_of_duplicating(imports: ImportService, services: Services, tmp_path: Path) -> None:
    header = ["企业名称", "统一社会信用代码", "联系电话"]
    run(imports, xlsx(tmp_path / "a.xlsx", [header, ["青山化工", uscc(1), "13800138000"],
                                           ["绿水砂场", None, "13900139000"]]), "enterprises")
    second = xlsx(tmp_path / "b.xlsx", [header,
                                       ["青山化工有限公司", uscc(1), "13800138000"],  # renamed: matched by code
                                       ["绿水砂场", uscc(2), "13900139000"],  # no code before: matched by name
                                       ["新企业", None, None]])
    actions = [(p.action, p.changed) for p in preview(imports, second, "enterprises")]
    assert actions == [("更新", ["name"]), ("更新", ["credit_code"]), ("新增", [])]
    result = run(imports, second, "enterprises")
    assert (result.created, result.updated, result.unchanged) == (1, 2, 0)
    names = sorted(r["name"] for r in services.register("enterprises").rows())
    assert names == ["新企业", "绿水砂场", "青山化工有限公司"]
    again = run(imports, second, "enterprises")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)


def test_blank_and_missing_columns_do_not_wipe(imports: ImportService, services: Services, tmp_path: Path) -> None:
    register = services.register("enterprises")
    record_id = register.save({"name": "青山化工", "credit_code": uscc(1), "phone": "13800138000",
                               "legal_rep": "张三", "remarks": "重点企业"})
    # The office's sheet has no 法定代表人 column and a blank phone; only 从业人数 is new.
    path = xlsx(tmp_path / "e.xlsx", [["统一社会信用代码", "联系电话", "从业人数"], [uscc(1), None, 25]])
    rows = preview(imports, path, "enterprises")
    assert rows[0].action == "更新" and rows[0].changed == ["employees"] and rows[0].match_id == record_id
    assert run(imports, path, "enterprises").updated == 1
    after = register.get(record_id)
    assert (after["phone"], after["legal_rep"], after["remarks"], after["employees"]) == (
        "13800138000", "张三", "重点企业", 25)


def test_row_errors_name_the_field(imports: ImportService, services: Services, tmp_path: Path) -> None:
    path = xlsx(tmp_path / "e.xlsx", [
        ["企业名称", "联系电话", "统一社会信用代码", "从业人数"],
        ["好企业", "13800138000", None, 5],
        [None, "12345", None, None],
        ["坏代码", None, "91360726MA00000010", "很多"],
    ])
    rows = preview(imports, path, "enterprises")
    assert [r.action for r in rows] == ["新增", "有错误", "有错误"]
    assert set(rows[1].errors) == {"name", "phone"} and set(rows[2].errors) == {"credit_code", "employees"}
    result = run(imports, path, "enterprises")
    assert result.created == 1
    assert [n for n, _ in result.skipped_rows] == [3, 4]
    assert result.skipped_rows[0][1].startswith("企业名称：必填，不能为空；联系电话：")
    assert "统一社会信用代码：" in result.skipped_rows[1][1] and "从业人数：" in result.skipped_rows[1][1]
    assert [r["name"] for r in services.register("enterprises").rows()] == ["好企业"]


def test_duplicates_within_the_file(imports: ImportService, services: Services, tmp_path: Path) -> None:
    path = xlsx(tmp_path / "e.xlsx", [
        ["企业名称", "统一社会信用代码"],
        ["甲公司", uscc(1)],
        ["乙公司", uscc(2)],
        ["丙公司", uscc(1)],  # same credit code as row 2
        ["乙公司", None],  # no code: identified by name, same as row 3
    ])
    rows = preview(imports, path, "enterprises")
    assert rows[2].errors == {"credit_code": "与第2行重复"}
    assert rows[3].errors == {"name": "与第3行重复"}
    result = run(imports, path, "enterprises")
    assert result.created == 2 and [n for n, _ in result.skipped_rows] == [4, 5]
    assert services.register("enterprises").count() == 2


def test_contacts_with_roles_and_organisations(imports: ImportService, services: Services, tmp_path: Path) -> None:
    load_villages(imports, tmp_path)
    path = xlsx(tmp_path / "c.xlsx", [
        ["姓名", "所属单位", "职务", "应急角色", "手机", "身份证号"],
        ["王镇长", None, "镇长", "主要负责人", "13800000001", None],
        ["赵六", "青山村", "书记", "主要负责人、网格员", "13800000002", "11010519491231002X"],
    ])
    result = run(imports, path, "contacts")
    assert result.created == 2
    rows = {r["name"]: r for r in services.register("contacts").rows()}
    assert rows["王镇长"]["organisation"] == "乡镇本级"
    assert rows["赵六"]["organisation"] == "青山村" and rows["赵六"]["roles"] == "主要负责人、网格员"
    assert run(imports, path, "contacts").unchanged == 2


def test_export_reimports_unchanged(imports: ImportService, services: Services, tmp_path: Path) -> None:
    load_villages(imports, tmp_path)
    services.register("enterprises").save({
        "name": "青山化工", "credit_code": uscc(7), "sector": "危险化学品", "village": "青山村",
        "phone": "0797-7654321", "employees": 30, "remarks": "第一行\n第二行",
    })
    services.register("enterprises").save({"name": "无代码小店"})
    services.register("units").save({"name": "青山派出所", "kind": "派出所", "phone": "13800000003"})
    services.register("contacts").save({"name": "赵六", "organisation": "青山村", "roles": "网格员",
                                        "mobile": "13800000002", "id_number": "11010519491231002X"})
    for kind, count in (("villages", 2), ("enterprises", 2), ("units", 1), ("contacts", 1)):
        path = tmp_path / f"{kind}.xlsx"
        assert imports.export(kind, path) == count
        source = imports.load(path, kind)
        mapping = imports.suggest_mapping(kind, source.data.headers)
        assert sorted(mapping.values()) == sorted(f.name for f in services.register(kind).spec.fields)
        assert {p.action for p in imports.preview(kind, source, mapping)} == {"无变化"}
        result = imports.apply(kind, source, mapping)
        assert (result.created, result.updated, result.unchanged) == (0, 0, count)
    ws = openpyxl.load_workbook(tmp_path / "contacts.xlsx").active
    assert ws["G2"].value == "11010519491231002X" and ws["G2"].number_format == "@"


def test_cancel_writes_nothing(imports: ImportService, services: Services, tmp_path: Path) -> None:
    path = xlsx(tmp_path / "e.xlsx", [["企业名称"], *([f"企业{i}"] for i in range(120))])
    source = imports.load(path, "enterprises")
    calls = iter(range(1000))
    with pytest.raises(XiangAnError, match=CANCELLED):
        imports.apply("enterprises", source, {0: "name"}, cancelled=lambda: next(calls) >= 80)
    assert services.register("enterprises").count() == 0
    with services.db.session() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.entity == "enterprise")).all()
    assert entries == []  # neither row audits nor the import summary survived the rollback


def test_progress_and_audit(imports: ImportService, services: Services, tmp_path: Path) -> None:
    path = xlsx(tmp_path / "e.xlsx", [["企业名称"], *([f"企业{i}"] for i in range(120))])
    source = imports.load(path, "enterprises")
    seen: list[tuple[int, int]] = []
    imports.apply("enterprises", source, {0: "name"}, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (120, 120) and seen == sorted(seen)
    with services.db.session() as session:
        event = session.scalars(select(AuditEntry).where(AuditEntry.action == "import")).one()
    assert event.username == "admin" and "e.xlsx" in event.summary and "新增120条" in event.summary


def test_read_only_account_cannot_import(services: Services, tmp_path: Path) -> None:
    reader = ImportService(services.db, READER, services.scope)
    source = reader.load(xlsx(tmp_path / "v.xlsx", VILLAGE_ROWS), "villages")
    mapping = reader.suggest_mapping("villages", source.data.headers)
    assert reader.preview("villages", source, mapping)[0].action == "新增"  # looking is allowed
    with pytest.raises(PermissionDenied):
        reader.apply("villages", source, mapping)
    with pytest.raises(PermissionDenied):
        reader.remember_mapping("villages", source.data.headers, mapping)
    assert services.register("villages").count() == 0
    assert reader.export("villages", tmp_path / "out.xlsx") == 0  # exporting is reading


def test_clerk_can_import(services: Services, tmp_path: Path) -> None:
    clerk = ImportService(services.db, CLERK, services.scope)
    assert run(clerk, xlsx(tmp_path / "v.xlsx", VILLAGE_ROWS), "villages").created == 2


def test_remembered_mapping_is_used_next_time(imports: ImportService, tmp_path: Path) -> None:
    headers = ["单位", "号码", "甲"]
    assert imports.suggest_mapping("units", headers) == {}
    imports.remember_mapping("units", headers, {0: "name", 1: "phone", 2: ""})
    assert imports.suggest_mapping("units", headers) == {0: "name", 1: "phone"}
    assert imports.suggest_mapping("units", [*headers, "乙"]) == {}  # only for this exact header list
    # A successful import also remembers what was chosen.
    path = xlsx(tmp_path / "u.xlsx", [["站所", "电话号"], ["青山派出所", "13800000003"]])
    source = imports.load(path, "units")
    imports.apply("units", source, {0: "name", 1: "phone"})
    assert imports.suggest_mapping("units", source.data.headers) == {0: "name", 1: "phone"}


def test_bad_mappings_are_refused(imports: ImportService, tmp_path: Path) -> None:
    source = imports.load(xlsx(tmp_path / "v.xlsx", VILLAGE_ROWS), "villages")
    with pytest.raises(XiangAnError, match="同时对应了"):
        imports.preview("villages", source, {1: "name", 4: "name"})
    with pytest.raises(XiangAnError, match="至少对应一列"):
        imports.preview("villages", source, {})
    with pytest.raises(XiangAnError, match="不是村/社区的字段"):
        imports.preview("villages", source, {1: "credit_code"})


def test_load_skips_an_instructions_sheet(imports: ImportService, tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.title = "填表说明"
    wb.active.append(["1. 请按实际填写", "2. 不要合并单元格"])
    data = wb.create_sheet("Sheet2")
    for row in VILLAGE_ROWS:
        data.append(row)
    wb.save(tmp_path / "v.xlsx")
    source = imports.load(tmp_path / "v.xlsx", "villages")
    assert source.sheet == "Sheet2" and source.sheets == ["填表说明", "Sheet2"]
    assert [r.number for r in source.data.rows][:2] == [2, 3]


def test_header_without_data_is_a_clear_error(imports: ImportService, tmp_path: Path) -> None:
    with pytest.raises(XiangAnError, match="下面没有数据"):
        imports.load(xlsx(tmp_path / "v.xlsx", [VILLAGE_ROWS[0]]), "villages")


@pytest.mark.slow
def test_five_thousand_rows_in_a_few_seconds(imports: ImportService, services: Services, tmp_path: Path) -> None:
    load_villages(imports, tmp_path)
    rows = [["企业名称", "统一社会信用代码", "所在村", "行业", "联系电话", "从业人数"]]
    rows += [[f"企业{i}", uscc(i), "青山村", "建筑施工", 13800000000.0 + i, i % 50] for i in range(5000)]
    path = xlsx(tmp_path / "big.xlsx", rows)
    started = time.perf_counter()
    result = run(imports, path, "enterprises")
    first = time.perf_counter() - started
    assert (result.created, result.skipped_rows) == (5000, [])
    started = time.perf_counter()
    again = run(imports, path, "enterprises")
    assert (again.created, again.unchanged) == (0, 5000)
    assert first < 15 and time.perf_counter() - started < 10  # generous for slow CI machines
