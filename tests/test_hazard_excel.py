"""隐患排查治理台账 in Excel: the standard export, importing offices' messy ledgers, and the command line.

Every service test runs against a fixed "today" (2026-11-24) so deadlines and "not in the future" are
deterministic; the command-line tests run against the real today, as a user would.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select

from app.errors import PermissionDenied, XiangAnError
from app.models import Enterprise, Hazard, HazardEvent, HazardStatus
from app.models import validation as v
from app.models.hazards import CATEGORIES, LEVELS, SOURCES
from app.services import Services
from app.services.demo import generate_demo
from app.services.hazard_excel import (
    _CATEGORY_WORDS,
    _LEVEL_WORDS,
    _SOURCE_WORDS,
    HEADERS,
    INVALID,
    NEW,
    SAME,
    UNIT_REMARK,
    UPDATE,
    HazardExcelService,
    ImportRejected,
    standard_number,
)
from app.services.hazards import HazardService
from app.services.imports import CANCELLED
from app.storage import Database, open_database
from tests.conftest import ADMIN, READER

S = HazardStatus
TODAY = date(2026, 11, 24)
ROOT = Path(__file__).resolve().parent.parent
SHOP = "青山镇鑫源超市"


def uscc(n: int) -> str:
    body = f"91360726MA{n:07d}"
    return body + v.uscc_check_char(body)


def serial(day: date) -> int:
    return (day - v.EXCEL_EPOCH).days


@pytest.fixture
def township(services: Services) -> Services:
    """青山镇 with two villages and one registered shop."""
    services.register("villages").save({"name": "青山村", "kind": "行政村"})
    services.register("villages").save({"name": "白水社区", "kind": "社区"})
    services.register("enterprises").save({"name": SHOP, "credit_code": uscc(1), "sector": "人员密集场所",
                                           "village": "白水社区"})
    return services


@pytest.fixture
def excel(township: Services) -> HazardExcelService:
    return HazardExcelService(township.db, township.actor, township.scope, today=lambda: TODAY)


def hazards(db: Database) -> list[Hazard]:
    with db.session() as session:
        return list(session.scalars(select(Hazard).order_by(Hazard.year, Hazard.seq)))


def trail(db: Database, hazard_id: str) -> list[HazardEvent]:
    with db.session() as session:
        return list(session.scalars(select(HazardEvent).where(HazardEvent.hazard_id == hazard_id)
                                    .order_by(HazardEvent.at, HazardEvent.hlc)))


def by_number(db: Database) -> dict[str, Hazard]:
    return {h.number: h for h in hazards(db)}


def xlsx(path: Path, rows: Sequence[Sequence[Any]], merges: Sequence[str] = (), sheet: str = "隐患台账",
         before: Sequence[tuple[str, Sequence[Sequence[Any]]]] = ()) -> Path:
    """A workbook with ``rows`` on ``sheet`` (after the sheets in ``before``), with merged ranges."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, content in before:
        ws = wb.create_sheet(name)
        for row in content:
            ws.append(list(row))
    ws = wb.create_sheet(sheet)
    for row in rows:
        ws.append(list(row))
    for ref in merges:
        ws.merge_cells(ref)
    wb.save(path)
    return path


# A ledger in the standard layout: dicts keyed by header become rows.
STANDARD = [h for h in HEADERS]


def standard(path: Path, records: Sequence[dict[str, Any]], headers: Sequence[str] = STANDARD) -> Path:
    return xlsx(path, [list(headers), *([r.get(h) for h in headers] for r in records)])


GOOD = {
    "发现日期": "2026-11-02", "单位/场所": SHOP, "村（社区）": "白水社区", "行业领域": "人员密集场所",
    "具体位置": "后门安全出口", "隐患描述": "安全出口被货物堵塞", "隐患等级": "一般",
}


def load_and_preview(excel: HazardExcelService, path: Path) -> list[Any]:
    source = excel.load(path)
    return excel.preview(source, excel.suggest_mapping(source.data.headers))


def run(excel: HazardExcelService, path: Path, **kwargs: Any) -> Any:
    source = excel.load(path)
    return excel.apply(source, excel.suggest_mapping(source.data.headers), **kwargs)


# ── the messy real-world ledger ──────────────────────────────────────────────────────────────────

# Title and "填报单位" rows above a two-row header whose parents (整改五到位, 整改情况) are merged over
# their children; single-level headers are merged down over both rows; 万元 for the money.
PARENTS = ["序号", "隐患编号", "发现日期", "单位名称", "所属村", "行业", "隐患部位", "存在问题", "隐患级别", "判定依据",
           "整改五到位", None, None, None, None, None, "整改情况", None, None, "状态"]
CHILDREN = [None] * 10 + ["整改措施", "责任单位", "整改责任人", "整改资金（万元）", "整改期限", "应急预案",
                          "完成时间", "复查人", "复查时间", None]
MESSY_MERGES = ["A1:T1", *(f"{c}3:{c}4" for c in "ABCDEFGHIJT"), "K3:P3", "Q3:S3"]


def messy_rows() -> list[list[Any]]:
    return [
        ["青山镇2026年度安全生产隐患排查治理台账"] + [None] * 19,
        ["填报单位：青山镇应急管理办公室"] + [None] * 15 + ["填报日期：2026年11月20日", None, None, None],
        PARENTS,
        CHILDREN,
        [1, "2026-0017", "2026-03-05", SHOP, "白水社区", "人员密集场所", "后门", "安全出口被货物堵塞", "一般隐患", None,
         "清理堆放货物", SHOP, "张三", 0.05, "2026.3.20", None, "2026年3月18日", "李四", serial(date(2026, 3, 21)),
         "已销号"],
        [2, None, datetime(2026, 4, 2), "青山石材厂", "青山村", "工贸", "切割车间", "除尘系统未设置泄爆装置",
         "重大事故隐患", "《工贸企业重大事故隐患判定标准》第十一条", "停用除尘系统，增设泄爆装置", "青山石材厂", "王强",
         "1.5", "2026年9月30日", "现场处置方案", None, None, None, "整改中（挂牌督办）"],
        [3, "QS-2025-003", "2026年5月6日", "青山石材厂", "青山村", "工贸", "仓库", "灭火器过期", "一般事故隐患", None,
         None, None, None, None, None, None, None, None, None, "未整改"],
        [4, "2026-0003", serial(date(2026, 6, 8)), SHOP, "白水社区", "人员密集场所", "二楼", "应急照明损坏", "一般",
         None, "更换应急照明", SHOP, "张三", None, "2026-06-20", None, "2026/6/15", "李四", "2026.6.18", "已整改"],
        [5] + [None] * 19,  # pre-numbered template lines at the bottom
        [6] + [None] * 19,
        ["合计", None, None, "4条"] + [None] * 16,
    ]


def test_messy_ledger_imports_with_title_rows_merged_headers_and_every_date_format(
        excel: HazardExcelService, township: Services, tmp_path: Path) -> None:
    path = xlsx(tmp_path / "台账.xlsx", messy_rows(), MESSY_MERGES)
    source = excel.load(path)
    assert source.data.header_row == 3 and source.data.header_rows == 2
    mapping = excel.suggest_mapping(source.data.headers)
    assert set(mapping.values()) >= {"number", "found_on", "unit_name", "village", "sector", "location", "description",
                                     "level", "level_basis", "measures", "responsible_unit", "responsible_person",
                                     "funds", "deadline", "emergency_plan", "completed_on", "reviewer", "reviewed_on",
                                     "status"}
    preview = excel.preview(source, mapping)
    assert [(r.number, r.action) for r in preview] == [(5, NEW), (6, NEW), (7, NEW), (8, NEW)]
    assert [r.errors for r in preview] == [{}] * 4
    assert [r.new_unit for r in preview] == [False, True, False, False]  # one new unit, created once

    result = excel.apply(source, mapping)
    assert (result.created, result.updated, result.unchanged, result.skipped_rows) == (4, 0, 0, [])
    assert (result.units_created, result.new_units) == (1, ["青山石材厂"])
    got = by_number(township.db)
    assert sorted(got) == ["2026-0003", "2026-0017", "2026-0018", "2026-0019"]  # kept, then after the highest
    first, major, old, done = got["2026-0017"], got["2026-0018"], got["2026-0019"], got["2026-0003"]
    assert first.found_on == date(2026, 3, 5) and first.deadline == date(2026, 3, 20)
    assert (first.completed_on, first.reviewed_on) == (date(2026, 3, 18), date(2026, 3, 21))
    assert first.level == "一般" and first.status == S.CLOSED.value and first.funds_fen == 500_00  # 0.05万元
    assert major.found_on == date(2026, 4, 2) and major.level == "重大" and major.status == S.RECTIFYING.value
    assert major.funds_fen == 15_000_00 and major.level_basis.startswith("《工贸企业")
    assert old.found_on == date(2026, 5, 6) and old.level == "一般" and old.status == S.RECTIFYING.value
    assert "原台账编号：QS-2025-003" in old.remarks
    assert done.found_on == date(2026, 6, 8) and done.status == S.ACCEPTED.value  # 已整改 + 验收 dates
    assert (done.completed_on, done.reviewed_on) == (date(2026, 6, 15), date(2026, 6, 18))
    # Blank deadline: the county rule, as the 登记 form does; given deadline: an override.
    assert old.deadline == date(2026, 5, 21) and not old.deadline_overridden and first.deadline_overridden
    # The shop was linked, the quarry created once and flagged for review.
    with township.db.session() as session:
        shop = session.scalars(select(Enterprise).where(Enterprise.name == SHOP)).one()
        (quarry,) = session.scalars(select(Enterprise).where(Enterprise.name == "青山石材厂")).all()
        assert first.enterprise_id == shop.id
        assert major.enterprise_id == old.enterprise_id == quarry.id
        assert quarry.remarks == UNIT_REMARK and quarry.sector_code == "industry_trade"
        assert quarry.village_id == major.village_id is not None


def test_imported_status_is_one_edit_event_after_the_registration(excel: HazardExcelService, township: Services,
                                                                  tmp_path: Path) -> None:
    run(excel, xlsx(tmp_path / "台账.xlsx", messy_rows(), MESSY_MERGES))
    got = by_number(township.db)
    closed = trail(township.db, got["2026-0017"].id)
    assert [(e.action, e.from_status, e.to_status) for e in closed] == [
        ("登记", "", "已登记"), ("修改", "已登记", "已销号")]
    assert closed[1].note == "从Excel导入，原状态：已销号"
    assert closed[1].event_date == date(2026, 3, 21)  # the latest date the ledger gives
    assert "台账.xlsx" in closed[0].note and "第5行" in closed[0].note
    fresh = trail(township.db, got["2026-0019"].id)
    assert [e.to_status for e in fresh] == ["已登记", "整改中"] and fresh[1].note == "从Excel导入，原状态：未整改"
    for h in got.values():
        assert trail(township.db, h.id)[-1].to_status == h.status
    # The detail screen reads them like any other hazard.
    detail = HazardService(township.db, ADMIN, township.scope, today=lambda: TODAY).get(got["2026-0003"].id)
    assert detail.values["status"] == "验收通过" and len(detail.events) == 2


@pytest.mark.parametrize(("written", "expected"), [
    ("已登记", "已登记"), ("已交办", "已交办"), ("已下达", "已交办"), ("整改中", "整改中"), ("未整改", "整改中"),
    ("整改中（逾期）", "整改中"), ("待验收", "申请验收"), ("申请验收", "申请验收"), ("验收通过", "验收通过"),
    ("已验收", "验收通过"), ("已销号", "已销号"), ("已闭环", "已销号"), ("已整改", "申请验收"), ("已完成", "申请验收"),
    ("", "已登记"),
])
def test_status_spellings_map_to_the_lifecycle(excel: HazardExcelService, tmp_path: Path, written: str,
                                               expected: str) -> None:
    (row,) = load_and_preview(excel, standard(tmp_path / "s.xlsx", [{**GOOD, "状态": written or None}]))
    assert (row.errors, row.values["status"]) == ({}, expected)


def test_done_and_blank_statuses_are_told_by_the_dates(excel: HazardExcelService, tmp_path: Path) -> None:
    rows = [
        {**GOOD, "隐患描述": "a", "状态": "已完成", "整改完成日期": "2026-11-05", "验收日期": "2026-11-06",
         "销号日期": "2026-11-07"},
        {**GOOD, "隐患描述": "b", "状态": "已整改", "整改完成日期": "2026-11-05", "验收日期": "2026-11-06"},
        {**GOOD, "隐患描述": "c", "整改完成日期": "2026-11-05"},
        {**GOOD, "隐患描述": "d", "整改通知书编号": "青山安监整改〔2026〕3号"},
        {**GOOD, "隐患描述": "e", "状态": "处理完毕了吧"},
    ]
    preview = load_and_preview(excel, standard(tmp_path / "s.xlsx", rows))
    assert [r.values["status"] for r in preview[:4]] == ["已销号", "验收通过", "申请验收", "已交办"]
    assert preview[4].action == INVALID and "「处理完毕了吧」无法识别" in preview[4].errors["status"]


def test_level_source_category_and_supervision_spellings(excel: HazardExcelService, township: Services,
                                                         tmp_path: Path) -> None:
    assert set(_LEVEL_WORDS) == set(LEVELS) and set(_SOURCE_WORDS) == set(SOURCES)
    assert set(_CATEGORY_WORDS) == set(CATEGORIES)
    basis = {"判定依据": "GB 35181—2017 第6.9条"}
    rows = [
        {**GOOD, "隐患描述": "1", "隐患等级": "一般隐患", "隐患来源": "企业自查", "隐患类别": "物", "挂牌督办": "否"},
        {**GOOD, "隐患描述": "2", "隐患等级": "重大隐患", **basis, "隐患来源": "举报", "隐患类别": "管理",
         "挂牌督办": "市级挂牌", "督办文号": "市安委办督〔2026〕2号"},
        {**GOOD, "隐患描述": "3", "隐患等级": "一般事故隐患", "隐患类别": "人的不安全行为", "挂牌督办": "是"},
        {**GOOD, "隐患描述": "4", "隐患等级": "重大事故隐患", **basis, "挂牌督办": "县级"},
        {**GOOD, "隐患描述": "5", "隐患等级": "很严重"},
    ]
    preview = load_and_preview(excel, standard(tmp_path / "s.xlsx", rows))
    assert [r.values["level"] for r in preview[:4]] == ["一般", "重大", "一般", "重大"]
    assert [r.values["source"] for r in preview[:2]] == ["自查", "群众举报"]
    assert [r.values["category"] for r in preview[:3]] == ["物的不安全状态", "管理缺陷", "人的不安全行为"]
    assert [r.values["supervised"] for r in preview[:4]] == ["", "市级", "是", "县级"]
    assert preview[4].action == INVALID and "一般、重大" in preview[4].errors["level"]


def test_standard_numbers() -> None:
    assert standard_number("2026-0017") == "2026-0017"
    assert standard_number(" 2026－17 ") == "2026-0017"
    assert standard_number("2026—0017") == "2026-0017"
    assert standard_number("QS-2026-17") is None
    assert standard_number("17") is None and standard_number("2026-0000") is None


# ── errors, all or nothing ───────────────────────────────────────────────────────────────────────


BAD_ROWS = [
    ({"村（社区）": "不存在村"}, "村（社区）：找不到名为「不存在村」的村/社区"),
    ({"隐患等级": "重大"}, "判定依据：重大隐患必须写明判定依据"),
    ({"整改时限": "2026-10-01"}, "整改时限：不能早于发现日期（2026-11-02）"),
    ({"整改资金（元）": -300}, "整改资金（元）：金额不能为负数"),
    ({"行业领域": "宇宙航行"}, "行业领域：「宇宙航行」不在县里下发的行业代码表中"),
    ({"发现日期": "2026年13月5日"}, "发现日期：「2026年13月5日」不是有效日期"),
    ({"发现日期": "2026-12-25"}, "发现日期：不能晚于今天"),
    ({"具体位置": None}, "具体位置：必填，不能为空"),
    ({"整改完成日期": "2026-11-10", "验收日期": "2026-11-08", "状态": "验收通过"},
     "验收日期：不能早于整改完成日期（2026-11-10）"),
    ({"隐患等级": "重大", "判定依据": "GB 35181—2017 第6.5条", "状态": "整改中"},
     "整改措施：重大隐患在「整改中」状态必须落实五到位，此项不能为空"),
]


@pytest.mark.parametrize(("change", "message"), BAD_ROWS)
def test_row_errors_name_the_ledger_column(excel: HazardExcelService, tmp_path: Path, change: dict[str, Any],
                                           message: str) -> None:
    path = standard(tmp_path / "bad.xlsx", [{**GOOD, "隐患描述": "好的一行"}, {**GOOD, **change}])
    preview = load_and_preview(excel, path)
    assert preview[0].action == NEW and preview[1].action == INVALID
    with pytest.raises(ImportRejected) as caught:
        run(excel, path)
    assert caught.value.rows[0][0] == 3 and message in caught.value.rows[0][1], caught.value.rows


def test_all_or_nothing_by_default_valid_rows_only_when_asked(excel: HazardExcelService, township: Services,
                                                            tmp_path: Path) -> None:
    rows = [{**GOOD, "隐患描述": f"第{i}条"} for i in range(3)]
    rows.insert(1, {**GOOD, "隐患描述": "坏1", "村（社区）": "不存在村"})
    rows.append({**GOOD, "隐患描述": "坏2", "单位/场所": "新单位", "隐患等级": "重大"})
    path = standard(tmp_path / "mixed.xlsx", rows)
    with pytest.raises(ImportRejected, match="台账中有2行存在错误，未导入任何数据") as caught:
        run(excel, path)
    assert [n for n, _why in caught.value.rows] == [3, 6]
    assert hazards(township.db) == []
    with township.db.session() as session:  # the unit of a rejected row was not created either
        assert session.scalar(select(func.count()).select_from(Enterprise)) == 1

    result = run(excel, path, skip_invalid=True)
    assert (result.created, [n for n, _why in result.skipped_rows], result.units_created) == (3, [3, 6], 0)
    assert len(hazards(township.db)) == 3


def test_duplicate_rows_within_the_file_are_errors(excel: HazardExcelService, tmp_path: Path) -> None:
    rows = [{**GOOD, "隐患编号": "2026-0005", "隐患描述": "甲"}, {**GOOD, "隐患编号": "2026-0005", "隐患描述": "乙"},
            {**GOOD, "隐患描述": "丙"}, {**GOOD, "隐患描述": "丙"}]
    preview = load_and_preview(excel, standard(tmp_path / "dup.xlsx", rows))
    assert [r.action for r in preview] == [NEW, INVALID, NEW, INVALID]
    assert preview[1].errors == {"number": "与第2行的隐患编号重复"}
    assert "与第4行重复" in preview[3].errors["description"]


def test_wrong_sheet_corrupt_file_and_empty_ledger_give_clear_messages(excel: HazardExcelService,
                                                                       tmp_path: Path) -> None:
    wrong = xlsx(tmp_path / "名单.xlsx", [["姓名", "电话", "职务"], ["张三", "13800138000", "站长"]], sheet="通讯录")
    with pytest.raises(XiangAnError, match="工作表「通讯录」不像隐患排查治理台账"):
        excel.load(wrong)
    corrupt = tmp_path / "坏的.xlsx"
    corrupt.write_bytes(b"PK\x03\x04" + b"\x14\x00 not really a zip " * 20)
    with pytest.raises(XiangAnError, match=r"坏的\.xlsx」已损坏"):
        excel.load(corrupt)
    empty = standard(tmp_path / "空表.xlsx", [])
    with pytest.raises(XiangAnError, match="下面没有数据"):
        excel.load(empty)


def test_the_ledger_sheet_is_found_behind_an_instructions_sheet(excel: HazardExcelService, tmp_path: Path) -> None:
    path = xlsx(tmp_path / "book.xlsx", [STANDARD, [GOOD.get(h) for h in STANDARD]], sheet="隐患台账",
                before=[("填表说明", [["填表说明"], ["1. 日期写成2026-03-05"], ["2. 等级填一般或重大"]])])
    source = excel.load(path)
    assert source.sheet == "隐患台账" and source.sheets == ["填表说明", "隐患台账"]


# ── re-import, round trip ────────────────────────────────────────────────────────────────────────


def test_reimport_updates_instead_of_duplicating(excel: HazardExcelService, township: Services,
                                                tmp_path: Path) -> None:
    rows = [{**GOOD, "隐患描述": f"第{i}条", "整改措施": "清理"} for i in range(3)]
    first = run(excel, standard(tmp_path / "a.xlsx", rows))
    assert first.created == 3
    numbers = sorted(by_number(township.db))
    # The same ledger a week later, without a 隐患编号 column: matched on (发现日期, 单位, 隐患描述).
    rows[1] = {**rows[1], "整改措施": "清理货物并划定禁放区", "状态": "整改中", "责任人": "张三", "整改时限": "2026-11-20"}
    again = standard(tmp_path / "b.xlsx", rows)
    preview = load_and_preview(excel, again)
    assert [r.action for r in preview] == [SAME, UPDATE, SAME]
    assert set(preview[1].changed) == {"measures", "status", "responsible_person", "deadline"}
    result = run(excel, again)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 2)
    got = by_number(township.db)
    assert sorted(got) == numbers
    changed = next(h for h in got.values() if h.description == "第1条")
    assert (changed.measures, changed.status, changed.deadline) == ("清理货物并划定禁放区", "整改中", date(2026, 11, 20))
    last = trail(township.db, changed.id)[-1]
    assert (last.action, last.from_status, last.to_status) == ("修改", "已登记", "整改中")
    # Once more: nothing left to change.
    assert run(excel, again).unchanged == 3


def test_reimport_matches_on_number_and_refuses_to_edit_closed_or_step_back(excel: HazardExcelService,
                                                                          township: Services, tmp_path: Path) -> None:
    rows = [{**GOOD, "隐患编号": "2026-0001", "隐患描述": "甲", "状态": "已销号", "销号日期": "2026-11-20"},
            {**GOOD, "隐患编号": "2026-0002", "隐患描述": "乙", "状态": "验收通过"}]
    run(excel, standard(tmp_path / "a.xlsx", rows))
    rows = [{**rows[0], "隐患描述": "甲（改了描述）"}, {**rows[1], "状态": "整改中"}]
    preview = load_and_preview(excel, standard(tmp_path / "b.xlsx", rows))
    assert [r.action for r in preview] == [INVALID, INVALID]
    assert preview[0].errors == {"description": "隐患2026-0001已销号归档，不能再通过导入修改"}
    assert "不能退回「整改中」" in preview[1].errors["status"]


def test_non_standard_numbers_stay_in_remarks_and_reimport_unchanged(excel: HazardExcelService,
                                                                    tmp_path: Path) -> None:
    path = standard(tmp_path / "a.xlsx", [{**GOOD, "隐患编号": "青山-17号", "备注": "老台账"}])
    assert run(excel, path).created == 1
    (row,) = load_and_preview(excel, path)
    assert row.action == SAME and row.values["remarks"] == "老台账；原台账编号：青山-17号"


def test_export_layout_then_import_is_unchanged(excel: HazardExcelService, township: Services,
                                               tmp_path: Path) -> None:
    run(excel, xlsx(tmp_path / "台账.xlsx", messy_rows(), MESSY_MERGES))
    out = tmp_path / "export.xlsx"
    assert excel.export(out) == 4
    wb = openpyxl.load_workbook(out)
    ws = wb.active
    assert ws.title == "隐患排查治理台账"
    assert [c.value for c in ws[1]] == list(HEADERS)  # row 1 is the header: no title row
    assert len(HEADERS) == 33 and HEADERS[0] == "序号" and HEADERS[-1] == "备注"
    row = {h: c for h, c in zip(HEADERS, ws[2], strict=True)}
    assert row["序号"].value == 1 and row["隐患编号"].value == "2026-0003"  # ledger order
    for label in ("发现日期", "整改时限", "整改完成日期", "验收日期"):
        assert isinstance(row[label].value, datetime) and row[label].number_format == "yyyy-mm-dd"
    assert row["隐患编号"].number_format == "@" and row["状态"].value == "验收通过"
    quarry = {h: c.value for h, c in zip(HEADERS, ws[4], strict=True)}
    assert quarry["整改资金（元）"] == 15000 and quarry["隐患等级"] == "重大"
    assert excel.export(tmp_path / "2025.xlsx", year=2025) == 0

    preview = load_and_preview(excel, out)
    assert [r.action for r in preview] == [SAME] * 4, [r.errors for r in preview]
    before = {h.id: (h.version, len(trail(township.db, h.id))) for h in hazards(township.db)}
    assert run(excel, out).unchanged == 4
    assert {h.id: (h.version, len(trail(township.db, h.id))) for h in hazards(township.db)} == before


def test_demo_ledger_round_trips_unchanged(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    folder.mkdir()
    db = open_database(folder)
    try:
        generate_demo(db, today=TODAY)
        services = Services(db, ADMIN)
        excel = HazardExcelService(db, ADMIN, services.scope, today=lambda: TODAY)
        out = tmp_path / "demo.xlsx"
        count = excel.export(out)
        assert count == len(hazards(db)) >= 55
        preview = load_and_preview(excel, out)
        assert {r.action for r in preview} == {SAME}, [(r.number, r.errors) for r in preview if r.errors]
        again = tmp_path / "again.xlsx"
        excel.export(again)
        cells = [[c.value for c in row] for row in openpyxl.load_workbook(out).active.iter_rows()]
        assert cells == [[c.value for c in row] for row in openpyxl.load_workbook(again).active.iter_rows()]
    finally:
        db.dispose()


# ── the rest of the service contract ─────────────────────────────────────────────────────────────


def test_mapping_is_suggested_then_remembered(excel: HazardExcelService, tmp_path: Path) -> None:
    headers = ["序号", "编号", "检查日期", "企业名称", "所在村", "隐患内容", "隐患部位", "备用列"]
    assert excel.suggest_mapping(headers) == {1: "number", 2: "found_on", 3: "unit_name", 4: "village",
                                              5: "description", 6: "location"}
    custom = {1: "number", 2: "found_on", 3: "unit_name", 4: "village", 5: "description", 6: "location",
              7: "remarks"}
    excel.remember_mapping(headers, custom)
    assert excel.suggest_mapping(headers) == custom
    assert excel.suggest_mapping([*headers, "又一列"]) != custom  # another layout: matched afresh
    with pytest.raises(XiangAnError, match="同时对应了"):
        excel.remember_mapping(headers, {2: "found_on", 3: "found_on"})


def test_cancel_rolls_everything_back_and_progress_reaches_the_end(excel: HazardExcelService, township: Services,
                                                                 tmp_path: Path) -> None:
    rows = [{**GOOD, "隐患描述": f"第{i}条", "单位/场所": f"新单位{i % 3}"} for i in range(120)]
    path = standard(tmp_path / "many.xlsx", rows)
    source = excel.load(path)
    mapping = excel.suggest_mapping(source.data.headers)
    calls: list[tuple[int, int]] = []
    with pytest.raises(XiangAnError, match=CANCELLED):
        excel.apply(source, mapping, progress=lambda d, t: calls.append((d, t)), cancelled=lambda: len(calls) >= 3)
    assert hazards(township.db) == []
    with township.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Enterprise)) == 1
    calls.clear()
    result = excel.apply(source, mapping, progress=lambda d, t: calls.append((d, t)))
    assert (result.created, result.units_created) == (120, 3)
    assert calls[-1] == (240, 240) and [d for d, _t in calls] == sorted(d for d, _t in calls)


def test_read_only_account_can_preview_but_not_import(township: Services, tmp_path: Path) -> None:
    reader = HazardExcelService(township.db, READER, township.scope, today=lambda: TODAY)
    path = standard(tmp_path / "a.xlsx", [GOOD])
    assert [r.action for r in load_and_preview(reader, path)] == [NEW]
    with pytest.raises(PermissionDenied):
        run(reader, path)


@pytest.mark.slow
def test_five_thousand_rows_import_in_a_few_seconds(excel: HazardExcelService, township: Services,
                                                    tmp_path: Path) -> None:
    rows = [{**GOOD, "隐患描述": f"第{i}处灭火器过期", "发现日期": date(2026, 1 + i % 10, 1 + i % 28),
             "整改措施": "更换灭火器", "责任人": "张三", "整改资金（元）": 300 + i, "状态": ("整改中", "已销号")[i % 2],
             "单位/场所": f"{SHOP}" if i % 5 else f"新单位{i % 40}"} for i in range(5000)]
    path = standard(tmp_path / "5000.xlsx", rows)
    started = time.perf_counter()
    result = run(excel, path)
    seconds = time.perf_counter() - started
    print(f"\n5000-row hazard ledger import: {seconds:.2f} s")
    assert (result.created, result.units_created) == (5000, 8)
    assert seconds < 15  # a few seconds on an office PC; generous for a loaded CI machine
    started = time.perf_counter()
    assert run(excel, path).unchanged == 5000
    print(f"re-import of the same 5000 rows: {time.perf_counter() - started:.2f} s")


# ── the command line ─────────────────────────────────────────────────────────────────────────────


def cli(*args: str | Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONIOENCODING": "utf-8"}
    env.pop("XIANGAN_HOME", None)
    return subprocess.run([sys.executable, "-m", "app", *map(str, args)], cwd=ROOT, env=env, capture_output=True,
                          text=True, encoding="utf-8", timeout=timeout, check=False)


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("错误："), done.stderr
    return lines[0]


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli") / "data"
    done = cli("demo", "--data-dir", folder)
    assert done.returncode == 0, done.stderr
    return folder


@pytest.fixture
def data(demo_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the demo township for a test that writes."""
    return Path(shutil.copytree(demo_dir, tmp_path / "data"))


@pytest.mark.slow
def test_cli_export_then_import_is_unchanged(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "台账.xlsx"
    done = cli("hazards", "export", out, "--data-dir", data)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("已导出 60 条隐患到")
    this_year = cli("hazards", "export", tmp_path / "y.xlsx", "--year", "1999", "--data-dir", data)
    assert this_year.returncode == 0 and this_year.stdout.startswith("已导出 0 条")
    dry = cli("hazards", "import", out, "--dry-run", "--data-dir", data)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "无变化 60 条" in dry.stdout and "未写入" in dry.stdout
    done = cli("--data-dir", data, "hazards", "import", out)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[0] == "新增 0 条，更新 0 条，无变化 60 条，跳过 0 行，新建单位 0 家"


@pytest.mark.slow
def test_cli_import_reports_every_rejected_row_and_exit_codes(data: Path, tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["发现日期", "单位/场所", "具体位置", "隐患描述", "隐患等级", "村（社区）"])
    ws.append(["2026-01-05", "新开的小卖部", "店内", "灭火器过期", "一般", None])
    ws.append(["2026-01-06", "新开的小卖部", "店内", "电线私拉乱接", "重大", None])
    ws.append(["2026-01-07", "新开的小卖部", "店内", "疏散通道堵塞", "一般", "火星村"])
    path = tmp_path / "old.xlsx"
    wb.save(path)

    dry = cli("hazards", "import", path, "--dry-run", "--data-dir", data)
    assert dry.returncode == 1
    assert "将新增 1 条" in dry.stdout and "有错误 2 行" in dry.stdout and "将新建单位 1 家" in dry.stdout
    refused = cli("hazards", "import", path, "--data-dir", data)
    assert refused.returncode == 1
    assert "第3行：判定依据：重大隐患必须写明判定依据" in refused.stdout
    assert "第4行：村（社区）：找不到名为「火星村」的村/社区" in refused.stdout
    assert "未导入任何数据" in one_error_line(refused)
    partial = cli("hazards", "import", path, "--skip-invalid", "--data-dir", data)
    assert partial.returncode == 3, partial.stderr
    assert partial.stdout.startswith("新增 1 条，更新 0 条，无变化 0 条，跳过 2 行，新建单位 1 家")
    assert "新开的小卖部" in partial.stdout and "第3行：" in partial.stdout and "第4行：" in partial.stdout
    again = cli("hazards", "import", path, "--skip-invalid", "--data-dir", data)
    assert again.returncode == 3 and again.stdout.startswith("新增 0 条，更新 0 条，无变化 1 条")


@pytest.mark.slow
def test_cli_bad_files_fail_with_one_chinese_line(demo_dir: Path, tmp_path: Path) -> None:
    corrupt = tmp_path / "坏.xlsx"
    corrupt.write_bytes(b"PK\x03\x04broken")
    done = cli("hazards", "import", corrupt, "--data-dir", demo_dir)
    assert done.returncode == 1 and "已损坏" in one_error_line(done) and done.stdout == ""
    missing = cli("hazards", "import", tmp_path / "没有.xlsx", "--data-dir", demo_dir)
    assert missing.returncode == 1 and "不存在" in one_error_line(missing)
    wrong = xlsx(tmp_path / "名单.xlsx", [["姓名", "电话"], ["张三", "13800138000"]], sheet="通讯录")
    done = cli("hazards", "import", wrong, "--data-dir", demo_dir)
    assert done.returncode == 1 and "不像隐患排查治理台账" in one_error_line(done)


@pytest.mark.slow
def test_cli_overdue_json_and_table(demo_dir: Path) -> None:
    done = cli("hazards", "overdue", "--json", "--data-dir", demo_dir)
    assert done.returncode == 0, done.stderr
    items = json.loads(done.stdout)
    assert items and isinstance(items, list)
    keys = {"number", "unit", "village", "level", "deadline", "days_overdue", "status", "responsible_person"}
    for item in items:
        assert set(item) == keys
        assert isinstance(item["days_overdue"], int) and item["days_overdue"] >= 1
        assert date.fromisoformat(item["deadline"]) < date.today()
        assert item["status"] in {"已登记", "已交办", "整改中", "申请验收"}
    assert [i["days_overdue"] for i in items] == sorted((i["days_overdue"] for i in items), reverse=True)
    table = cli("--data-dir", demo_dir, "hazards", "overdue")
    assert table.returncode == 0
    lines = table.stdout.strip().splitlines()
    assert lines[0].split()[:3] == ["编号", "单位/场所", "村（社区）"]
    assert len(lines) == len(items) + 2 and f"共 {len(items)} 条逾期隐患" in lines[-1]
    assert all(item["number"] in table.stdout for item in items)


@pytest.mark.slow
def test_cli_notice_pdf(demo_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("app.documents.hazard_pdfs")
    items = json.loads(cli("hazards", "overdue", "--json", "--data-dir", demo_dir).stdout)
    out = tmp_path / "通知书.pdf"
    done = cli("hazards", "notice", items[0]["number"], "--out", out, "--data-dir", demo_dir)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes().startswith(b"%PDF") and items[0]["number"] in done.stdout
    unknown = cli("hazards", "notice", "1999-0001", "--out", out, "--data-dir", demo_dir)
    assert unknown.returncode == 1 and "没有编号为「1999-0001」的隐患" in one_error_line(unknown)


@pytest.mark.slow
def test_cli_without_a_township_fails_cleanly(tmp_path: Path) -> None:
    for args in (("overdue", "--json"), ("export", tmp_path / "x.xlsx"), ("notice", "2026-0001", "--out", "x.pdf")):
        done = cli("hazards", *args, "--data-dir", tmp_path / "empty")
        assert done.returncode == 1 and "尚未填写乡镇信息" in one_error_line(done), args
