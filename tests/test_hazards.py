"""隐患排查治理台账: the hazard model rules, county deadline rules, the photo store and HazardService.

Every test runs against a fixed "today" (2026-11-24, a Tuesday) so deadlines, overdue and due-soon
are deterministic.
"""

from __future__ import annotations

import io
import sqlite3
import struct
import zlib
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from sqlalchemy import select

from app.errors import NotFound, PermissionDenied, ValidationError
from app.models import COUNTY_PARTITION, Attachment, ConfigDocument, Hazard, HazardEvent
from app.models.deadlines import parse_deadline_rules
from app.models.hazards import FIVE_IN_PLACE, TRANSITIONS, HazardAction, HazardStatus
from app.services import Services
from app.services.hazards import HazardCounts, HazardQuery, HazardService, load_deadline_rules
from app.storage import Database
from tests.conftest import ADMIN, CLERK, READER

A, S = HazardAction, HazardStatus
TODAY = date(2026, 11, 24)  # a Tuesday
FOUND = "2026-11-01"


# ── helpers ──────────────────────────────────────────────────────────────────────────────────────


def service(services: Services, actor: Any = ADMIN, today: date = TODAY) -> HazardService:
    return HazardService(services.db, actor, services.scope, today=lambda: today)


@pytest.fixture
def hz(services: Services) -> HazardService:
    return service(services)


def raw_rows(db: Database, sql: str, *params: Any) -> list[sqlite3.Row]:
    conn = sqlite3.connect(db.path)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def count(db: Database, table: str) -> int:
    return raw_rows(db, f"SELECT count(*) AS n FROM {table}")[0]["n"]


def events(db: Database, hazard_id: str) -> list[sqlite3.Row]:
    return raw_rows(db, "SELECT * FROM hazard_event WHERE hazard_id = ? ORDER BY at, hlc", hazard_id)


def hazard_row(db: Database, hazard_id: str) -> sqlite3.Row:
    (row,) = raw_rows(db, "SELECT * FROM hazard WHERE id = ?", hazard_id)
    return row


BASE = {"found_on": FOUND, "unit_name": "青山石材厂", "location": "切割车间", "description": "配电箱无漏电保护"}
MAJOR_BASE = {**BASE, "level": "重大", "level_basis": "工贸企业重大事故隐患判定标准第三条"}
FIVE = {
    "measures": "加装漏电保护器，停用切割机", "responsible_unit": "青山石材厂", "responsible_person": "王强",
    "responsible_phone": "13800138000", "funds": "1.5万", "deadline": "2027-01-30",
    "emergency_plan": "现场处置方案", "temporary_measures": "设置警戒",
}


def register(hz: HazardService, **values: Any) -> str:
    return hz.register({**BASE, **values})


def step_values(action: HazardAction, hz: HazardService | None = None, hazard_id: str = "") -> dict[str, Any]:
    """Values that pass every rule for ``action`` on the hazards these tests build."""
    if action is A.EDIT:
        assert hz is not None
        values = dict(hz.get(hazard_id).values)
        return {**values, "remarks": "已核实"}
    return {
        A.ASSIGN: {"notice_number": "青山安监整改〔2026〕17号", "notice_issued_on": "2026-11-02"},
        A.START: FIVE,
        A.REQUEST_ACCEPTANCE: {"completed_on": "2026-11-10", "note": "已整改"},
        A.ACCEPT: {"reviewer": "李明", "reviewed_on": "2026-11-12", "review_opinion": "整改到位"},
        A.REJECT: {"reviewer": "李明", "reviewed_on": "2026-11-12", "review_opinion": "未加装漏电保护器"},
        A.CLOSE: {"closed_on": "2026-11-13"},
        A.REQUEST_EXTENSION: {"extension_requested_on": "2026-11-20", "requested_deadline": "2027-03-01",
                              "extension_reason": "设备到货延迟"},
        A.APPROVE_EXTENSION: {"new_deadline": "2027-03-01", "event_date": "2026-11-21",
                              "doc_number": "青山安委〔2026〕5号"},
        A.SUPERVISE: {"supervision_level": "县级", "supervision_doc": "安远安委督〔2026〕3号",
                      "event_date": "2026-11-05"},
    }[action]


PATH = {  # the steps that bring a new hazard to each status
    S.REGISTERED: (),
    S.ASSIGNED: (A.ASSIGN,),
    S.RECTIFYING: (A.ASSIGN, A.START),
    S.ACCEPTANCE_REQUESTED: (A.ASSIGN, A.START, A.REQUEST_ACCEPTANCE),
    S.ACCEPTED: (A.ASSIGN, A.START, A.REQUEST_ACCEPTANCE, A.ACCEPT),
    S.CLOSED: (A.ASSIGN, A.START, A.REQUEST_ACCEPTANCE, A.ACCEPT, A.CLOSE),
}


def at_status(hz: HazardService, status: HazardStatus, **values: Any) -> str:
    hazard_id = hz.register({**MAJOR_BASE, **values})
    for action in PATH[status]:
        hz.act(hazard_id, action, step_values(action, hz, hazard_id))
    assert hazard_row(hz.db, hazard_id)["status"] == status.value
    return hazard_id


def jpeg(path: Path, colour: str = "red", size: tuple[int, int] = (64, 48)) -> Path:
    Image.new("RGB", size, colour).save(path, "JPEG")
    return path


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width``×``height`` pixels (a decompression bomb's shape)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def store_files(db: Database) -> list[Path]:
    root = db.attachments_dir
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def add_rules(db: Database, content: dict[str, Any], version: str = "2027.1") -> None:
    with db.session() as session:
        session.add(ConfigDocument(kind="deadline_rules", doc_version=version, issuer="安远县应急管理局",
                                   title="隐患整改时限规则", content=content, partition=COUNTY_PARTITION))


# ── the model layer ──────────────────────────────────────────────────────────────────────────────


def test_transition_table_is_a_closed_graph_over_the_statuses() -> None:
    assert A.REGISTER not in TRANSITIONS  # registering creates; it is not a move
    assert set(TRANSITIONS) == set(A) - {A.REGISTER}
    for sources, target in TRANSITIONS.values():
        assert sources and sources <= set(S)
        assert target is None or target in S
    # nothing leaves 已销号; every status but 已登记 is entered by some action
    assert all(S.CLOSED not in sources for sources, _ in TRANSITIONS.values())
    entered = {target for _, target in TRANSITIONS.values() if target is not None}
    assert entered == set(S) - {S.REGISTERED}


def test_model_helpers_overdue_open_and_five_in_place() -> None:
    h = Hazard(status=S.RECTIFYING.value, deadline=date(2026, 11, 23), measures="", responsible_unit="",
               responsible_person="王强", funds_fen=None, emergency_plan="", number="2026-0001", unit_name="甲厂")
    assert h.is_open and h.is_overdue(TODAY)
    assert not h.is_overdue(date(2026, 11, 23))  # due today is not late
    assert h.missing_five_in_place() == ["整改措施", "责任单位", "整改资金", "应急预案"]
    h.funds_fen = 0  # zero yuan is a value, not a gap
    assert "整改资金" not in h.missing_five_in_place()
    assert h.name == "2026-0001 甲厂"
    for status in (S.ACCEPTED, S.CLOSED):
        h.status = status.value
        assert not h.is_overdue(TODAY)
    assert not h.is_open
    h.status, h.deadline = S.REGISTERED.value, None
    assert not h.is_overdue(TODAY)


# ── county deadline rules ────────────────────────────────────────────────────────────────────────


RULES_DOC = {
    "version": "x",
    "rules": [{"stage": "rectify", "level": "一般", "days": 10, "calendar": "working"},
              {"stage": "rectify", "level": "*", "days": 30},
              {"stage": "extension_notice", "days": 20, "calendar": "working"}],
    # 国庆 2026-10-01..07 off, with make-up workdays on Sunday 09-27 and Saturday 10-10
    "holidays": [f"2026-10-0{d}" for d in range(1, 8)],
    "extra_workdays": ["2026-09-27", "2026.10.10"],
}


def test_working_day_arithmetic_skips_weekends_and_holidays_and_counts_makeup_days() -> None:
    rules = parse_deadline_rules(RULES_DOC)
    assert rules.is_workday(date(2026, 9, 27))  # Sunday, but a make-up workday
    assert not rules.is_workday(date(2026, 10, 1))  # holiday
    assert not rules.is_workday(date(2026, 10, 11))  # an ordinary Sunday
    # from Monday 09-28: 29, 30, [holidays], 8, 9, 10(Sat, make-up), 12, 13, 14, 15, 16
    assert rules.add(date(2026, 9, 28), 10, "working") == date(2026, 10, 16)
    assert rules.add(date(2026, 9, 28), 10, "calendar") == date(2026, 10, 8)
    assert rules.add(date(2026, 9, 28), 0, "working") == date(2026, 9, 28)
    assert rules.subtract_working(date(2026, 10, 16), 10) == date(2026, 9, 28)
    assert rules.subtract_working(date(2026, 10, 8), 1) == date(2026, 9, 30)
    assert rules.due("rectify", "一般", date(2026, 9, 28)) == date(2026, 10, 16)
    assert rules.due("rectify", "重大", date(2026, 9, 28)) == date(2026, 10, 28)  # falls back to "*"
    assert rules.due("unknown", "一般", date(2026, 9, 28)) is None
    assert rules.days("extension_notice") == 20
    assert rules.days("unknown", default=7) == 7


def test_bundled_default_rules() -> None:
    from app.models.config_data import load_document_file
    from app.paths import resource

    rules = parse_deadline_rules(load_document_file(resource("config", "deadline_rules.json"), "deadline_rules"))
    start = date(2026, 11, 1)
    assert rules.due("rectify", "一般", start) == date(2026, 11, 16)  # 15 calendar days
    assert rules.due("rectify", "重大", start) == date(2027, 1, 30)  # 90 calendar days
    assert rules.rule("extension_notice", "一般").calendar == "working"
    assert rules.days("supervised_max", "重大") == 365


@pytest.mark.parametrize(("document", "message"), [
    ({}, "整改时限规则为空"),
    ({"rules": []}, "整改时限规则为空"),
    ({"rules": "rectify 15"}, "整改时限规则为空"),
    ({"rules": [{"days": 5}]}, "整改时限规则第1项缺少 stage"),
    ({"rules": ["rectify"]}, "整改时限规则第1项缺少 stage"),
    ({"rules": [{"stage": "rectify", "days": 15}, {"stage": "acceptance", "days": -1}]},
     "整改时限规则第2项的 days 应为0到3650之间的整数"),
    ({"rules": [{"stage": "rectify", "days": "15"}]}, "整改时限规则第1项的 days 应为0到3650之间的整数"),
    ({"rules": [{"stage": "rectify", "days": True}]}, "整改时限规则第1项的 days 应为0到3650之间的整数"),
    ({"rules": [{"stage": "rectify", "days": 3651}]}, "整改时限规则第1项的 days 应为0到3650之间的整数"),
    ({"rules": [{"stage": "rectify", "days": 15, "calendar": "lunar"}]},
     "整改时限规则第1项的 calendar 应为 calendar（自然日）或 working（工作日）"),
    ({"rules": [{"stage": "rectify", "days": 15}], "holidays": "2026-10-01"}, "holidays 应为日期列表"),
    ({"rules": [{"stage": "rectify", "days": 15}], "holidays": ["2026-13-01"]},
     "holidays 中有无效日期：「2026-13-01」不是有效日期"),
    ({"rules": [{"stage": "rectify", "days": 15}], "extra_workdays": ["国庆"]},
     "extra_workdays 中有无效日期：「国庆」不是日期"),
])
def test_malformed_rules_documents_give_precise_chinese_errors(document: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_deadline_rules(document)
    assert str(info.value).startswith(message)


def test_county_issued_rules_replace_the_default(services: Services, hz: HazardService) -> None:
    first = register(hz, found_on="2026-09-28")
    assert hazard_row(hz.db, first)["deadline"] == "2026-10-13"  # default: 15 calendar days
    add_rules(hz.db, {k: v for k, v in RULES_DOC.items() if k != "version"})
    with hz.db.session() as session:
        assert load_deadline_rules(session).version == "2027.1"
    second = register(hz, found_on="2026-09-28")
    assert hazard_row(hz.db, second)["deadline"] == "2026-10-16"  # 10 working days over 国庆
    assert hazard_row(hz.db, first)["deadline"] == "2026-10-13"  # existing deadlines are not recomputed
    major = register(hz, **{**MAJOR_BASE, "found_on": "2026-09-28"})
    assert hazard_row(hz.db, major)["deadline"] == "2026-10-28"  # the "*" rule: 30 calendar days


def test_malformed_county_rules_surface_the_chinese_problem(services: Services, hz: HazardService) -> None:
    add_rules(hz.db, {"rules": [{"stage": "rectify", "days": 15, "calendar": "weekdays"}]})
    with pytest.raises(ValueError, match="整改时限规则第1项的 calendar 应为"):
        register(hz)
    assert count(hz.db, "hazard") == 0


# ── registering: numbers, deadlines, field rules ─────────────────────────────────────────────────


def test_numbers_run_per_year_and_restart_in_a_new_year(services: Services, hz: HazardService) -> None:
    ids = [register(hz), register(hz, found_on="2026-01-01")]
    last_year = register(hz, found_on="2025-12-31")
    ids.append(register(hz))
    assert [hazard_row(hz.db, i)["number"] for i in ids] == ["2026-0001", "2026-0002", "2026-0003"]
    row = hazard_row(hz.db, last_year)
    assert (row["number"], row["year"], row["seq"]) == ("2025-0001", 2025, 1)
    next_year = service(services, today=date(2027, 1, 4))
    first_2027 = next_year.register({**BASE, "found_on": "2027-01-02"})
    assert hazard_row(hz.db, first_2027)["number"] == "2027-0001"
    assert next_year.register({**BASE, "found_on": None}) == next_year.find_by_number("2027-0002")
    assert hazard_row(hz.db, next_year.find_by_number("2027-0002"))["found_on"] == "2027-01-04"  # blank = today
    assert hz.years() == [2027, 2026, 2025]


def test_a_tombstoned_number_is_never_given_again(services: Services, hz: HazardService) -> None:
    register(hz)
    second = register(hz)
    with hz.db.session() as session:
        session.get(Hazard, second).deleted = True
    third = register(hz)
    assert hazard_row(hz.db, third)["number"] == "2026-0003"
    with pytest.raises(NotFound, match="2026-0002"):
        hz.find_by_number("2026-0002")
    with pytest.raises(NotFound):
        hz.get(second)
    assert hz.find_by_number(" 2026-0003 ") == third
    assert second not in hz.query_ids()
    assert hz.fetch_rows([second]) == {}
    lone = register(hz, found_on="2024-05-01")
    with hz.db.session() as session:
        session.get(Hazard, lone).deleted = True
    assert hz.years() == [2026]  # a year whose only hazard is tombstoned is not offered as a filter


def test_hazards_are_never_hard_deleted(services: Services, hz: HazardService) -> None:
    hazard_id = register(hz)
    with pytest.raises(RuntimeError, match="never hard-deleted"), hz.db.session() as session:
        session.delete(session.get(Hazard, hazard_id))
    assert count(hz.db, "hazard") == 1


def test_deadline_from_rules_when_blank_and_manual_override(services: Services, hz: HazardService) -> None:
    general = register(hz)
    major = hz.register(MAJOR_BASE)
    manual = register(hz, deadline="2026年12月1日")
    expected = {general: ("2026-11-16", 0), major: ("2027-01-30", 0), manual: ("2026-12-01", 1)}
    for hazard_id, (deadline, overridden) in expected.items():
        row = hazard_row(hz.db, hazard_id)
        assert (row["deadline"], row["deadline_overridden"]) == (deadline, overridden)
    assert hz.get(general).values["deadline"] == "2026-11-16"


def test_register_stores_clean_values(services: Services, hz: HazardService) -> None:
    villages = services.register("villages")
    village_id = villages.save({"name": "青山村"})
    hazard_id = hz.register({
        **BASE, "found_on": "2026.11.3", "village": "青山村", "sector": "消防", "inspectors": "张三、李四",
        "category": "物的不安全状态", "source": "群众举报", "unit_name": " 青山石材厂 ",
    })
    row = hazard_row(hz.db, hazard_id)
    assert (row["found_on"], row["village_id"], row["sector_code"], row["unit_name"], row["source"]) == (
        "2026-11-03", village_id, "fire", "青山石材厂", "群众举报")
    assert (row["status"], row["level"], row["year"], row["seq"]) == ("已登记", "一般", 2026, 1)
    values = hz.get(hazard_id).values
    assert (values["village"], values["sector"], values["status_text"]) == ("青山村", "消防", "已登记（逾期）")  # due 11-18


def test_register_refuses_with_chinese_messages_and_writes_nothing(services: Services, hz: HazardService) -> None:
    with pytest.raises(ValidationError) as info:
        hz.register({"found_on": "2026-11-25", "level": "特大", "village": "不存在村", "sector": "航天",
                     "unit_name": "", "description": ""})
    assert set(info.value.errors) == {"level", "village", "sector", "unit_name", "description", "location"}
    assert "隐患等级：应为以下之一：一般、重大" in str(info.value)
    assert "单位/场所：必填，不能为空" in str(info.value)
    assert count(hz.db, "hazard") == 0
    assert count(hz.db, "hazard_event") == 0


@pytest.mark.parametrize(("values", "field", "message"), [
    ({"found_on": "2026-11-25"}, "found_on", "不能晚于今天"),
    ({"deadline": "2026-10-31"}, "deadline", "不能早于发现日期（2026-11-01）"),
    ({"level": "重大"}, "level_basis", "重大隐患必须写明判定依据"),
    ({"found_on": "2026-02-30"}, "found_on", "「2026-02-30」不是有效日期"),
])
def test_register_cross_field_rules(services: Services, hz: HazardService, values: dict[str, Any],
                                    field: str, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        register(hz, **values)
    assert info.value.errors == {field: message}
    assert count(hz.db, "hazard") == 0


def test_money_is_parsed_and_stored_as_integer_fen(services: Services, hz: HazardService) -> None:
    hazard_id = register(hz)
    hz.act(hazard_id, A.START, {**FIVE, "funds": "1.5万"})
    (row,) = raw_rows(hz.db, "SELECT funds_fen, typeof(funds_fen) AS t FROM hazard WHERE id = ?", hazard_id)
    assert (row["funds_fen"], row["t"]) == (1500000, "integer")
    assert hz.get(hazard_id).values["funds"] == "15000"
    other = register(hz)
    hz.act(other, A.START, {**FIVE, "funds": "¥1,234.56元"})
    assert hazard_row(hz.db, other)["funds_fen"] == 123456
    assert hz.get(other).values["funds"] == "1234.56"


def test_negative_or_unreadable_funds_are_refused(services: Services, hz: HazardService) -> None:
    hazard_id = register(hz)
    for funds, message in (("-100", "金额不能为负数"), ("一万块", "「一万块」不是金额")):
        with pytest.raises(ValidationError) as info:
            hz.act(hazard_id, A.START, {**FIVE, "funds": funds})
        assert info.value.errors == {"funds": message}
        assert f"整改资金（元）：{message}" in str(info.value)
    assert hazard_row(hz.db, hazard_id)["status"] == "已登记"
    assert len(events(hz.db, hazard_id)) == 1


# ── the transition matrix ────────────────────────────────────────────────────────────────────────


MATRIX = [(action, status) for action in TRANSITIONS for status in S]


@pytest.mark.parametrize(("action", "status"), MATRIX, ids=[f"{a.name}-{s.name}" for a, s in MATRIX])
def test_every_transition_is_allowed_or_refused_as_the_table_says(
        services: Services, hz: HazardService, action: HazardAction, status: HazardStatus) -> None:
    hazard_id = at_status(hz, status)  # a major hazard, so 挂牌督办 is possible where the table allows
    sources, target = TRANSITIONS[action]
    before_row = dict(hazard_row(hz.db, hazard_id))
    before_events = events(hz.db, hazard_id)
    values = step_values(action, hz, hazard_id)
    assert (action in hz.allowed_actions(hazard_id)) == (status in sources)
    if status in sources:
        hz.act(hazard_id, action, values)
        after = hazard_row(hz.db, hazard_id)
        assert after["status"] == (target or status).value
        trail = events(hz.db, hazard_id)
        assert len(trail) == len(before_events) + 1
        last = trail[-1]
        assert (last["action"], last["from_status"], last["to_status"], last["username"]) == (
            action.value, status.value, (target or status).value, "admin")
    else:
        with pytest.raises(ValidationError) as info:
            hz.act(hazard_id, action, values)
        assert f"当前状态为「{status.value}」" in str(info.value)
        assert f"不能进行「{action.value}」" in str(info.value)
        assert dict(hazard_row(hz.db, hazard_id)) == before_row
        assert len(events(hz.db, hazard_id)) == len(before_events)


def test_full_lifecycle_writes_one_event_per_step(services: Services, hz: HazardService) -> None:
    hazard_id = hz.register(MAJOR_BASE)
    steps = [A.ASSIGN, A.SUPERVISE, A.START, A.REQUEST_EXTENSION, A.APPROVE_EXTENSION, A.REQUEST_ACCEPTANCE,
             A.REJECT, A.REQUEST_ACCEPTANCE, A.ACCEPT, A.CLOSE]
    for action in steps:
        hz.act(hazard_id, action, step_values(action))
    trail = events(hz.db, hazard_id)
    got = [(e["action"], e["from_status"], e["to_status"], e["event_date"], e["doc_number"]) for e in trail]
    assert got == [
        ("登记", "", "已登记", "2026-11-01", ""),
        ("交办", "已登记", "已交办", "2026-11-02", "青山安监整改〔2026〕17号"),
        ("挂牌督办", "已交办", "已交办", "2026-11-05", "安远安委督〔2026〕3号"),
        ("开始整改", "已交办", "整改中", TODAY.isoformat(), ""),
        ("申请延期", "整改中", "整改中", "2026-11-20", ""),
        ("批准延期", "整改中", "整改中", "2026-11-21", "青山安委〔2026〕5号"),
        ("申请验收", "整改中", "申请验收", "2026-11-10", ""),
        ("验收不通过", "申请验收", "整改中", "2026-11-12", ""),
        ("申请验收", "整改中", "申请验收", "2026-11-10", ""),
        ("验收通过", "申请验收", "验收通过", "2026-11-12", ""),
        ("销号", "验收通过", "已销号", "2026-11-13", ""),
    ]
    assert {e["username"] for e in trail} == {"admin"}
    assert all(e["township_id"] == hazard_row(hz.db, hazard_id)["township_id"] for e in trail)
    row = hazard_row(hz.db, hazard_id)
    assert (row["status"], row["supervised"], row["extended"], row["deadline"]) == ("已销号", 1, 1, "2027-03-01")
    assert (row["reported_upward_on"], row["notice_number"]) == ("2026-11-02", "青山安监整改〔2026〕17号")
    assert (row["completed_on"], row["reviewed_on"], row["closed_on"]) == ("2026-11-10", "2026-11-12", "2026-11-13")
    detail = hz.get(hazard_id)
    assert [e.to_status for e in detail.events][-1] == "已销号"
    assert detail.events[1].data["notice_number"] == "青山安监整改〔2026〕17号"
    assert detail.allowed == []
    assert not detail.overdue


def test_refused_step_leaves_no_trace(services: Services, hz: HazardService) -> None:
    hazard_id = register(hz)
    audit_before = count(hz.db, "audit_log")
    with pytest.raises(ValidationError, match="当前状态为「已登记」，不能进行「验收通过」"):
        hz.act(hazard_id, A.ACCEPT, step_values(A.ACCEPT))
    assert count(hz.db, "audit_log") == audit_before
    assert len(events(hz.db, hazard_id)) == 1


def test_unknown_hazard_is_not_found(services: Services, hz: HazardService) -> None:
    with pytest.raises(NotFound):
        hz.act("no-such-id", A.ASSIGN, step_values(A.ASSIGN))
    with pytest.raises(NotFound):
        hz.get("no-such-id")
    with pytest.raises(NotFound, match="没有编号为「2026-0099」的隐患"):
        hz.find_by_number("2026-0099")


# ── step rules ───────────────────────────────────────────────────────────────────────────────────


def test_major_hazard_cannot_start_until_five_in_place_names_each_gap(services: Services,
                                                                     hz: HazardService) -> None:
    hazard_id = at_status(hz, S.ASSIGNED)
    with pytest.raises(ValidationError) as info:
        hz.act(hazard_id, A.START, {})
    assert set(info.value.errors) == {"measures", "responsible_unit", "responsible_person", "funds", "deadline",
                                      "emergency_plan"}
    for label in FIVE_IN_PLACE.values():
        assert label in str(info.value)
    partial = {"measures": "停产整改", "responsible_person": "王强", "deadline": "2027-01-30"}
    with pytest.raises(ValidationError) as info:
        hz.act(hazard_id, A.START, partial)
    assert set(info.value.errors) == {"responsible_unit", "funds", "emergency_plan"}
    message = str(info.value)
    for label in ("责任单位", "整改资金", "应急预案"):
        assert f"{label}" in message
    assert "重大隐患必须落实五到位" in message
    assert hazard_row(hz.db, hazard_id)["status"] == "已交办"
    assert len(events(hz.db, hazard_id)) == 2
    hz.act(hazard_id, A.START, {**partial, "responsible_unit": "青山石材厂", "funds": "0",
                                "emergency_plan": "停产期间专人值守"})
    row = hazard_row(hz.db, hazard_id)
    assert (row["status"], row["funds_fen"], row["deadline"]) == ("整改中", 0, "2027-01-30")
    with hz.db.session() as session:
        assert session.get(Hazard, hazard_id).missing_five_in_place() == []


def test_general_hazard_start_needs_measures_person_and_deadline(services: Services, hz: HazardService) -> None:
    hazard_id = register(hz)
    with pytest.raises(ValidationError) as info:
        hz.act(hazard_id, A.START, {"funds": ""})
    assert info.value.errors == dict.fromkeys(("measures", "responsible_person", "deadline"), "必填，不能为空")
    hz.act(hazard_id, A.START, {"measures": "更换配电箱", "responsible_person": "王强", "deadline": "2026-11-30"})
    row = hazard_row(hz.db, hazard_id)
    assert (row["status"], row["deadline"], row["deadline_overridden"]) == ("整改中", "2026-11-30", 1)
    assert row["funds_fen"] is None


def test_acceptance_needs_reviewer_date_and_opinion(services: Services, hz: HazardService) -> None:
    hazard_id = at_status(hz, S.ACCEPTANCE_REQUESTED)
    for action in (A.ACCEPT, A.REJECT):
        with pytest.raises(ValidationError) as info:
            hz.act(hazard_id, action, {})
        assert info.value.errors == dict.fromkeys(("reviewer", "reviewed_on", "review_opinion"), "必填，不能为空")
        assert "验收人：必填" in str(info.value)


def test_date_order_rules(services: Services, hz: HazardService) -> None:
    hazard_id = at_status(hz, S.RECTIFYING)
    with pytest.raises(ValidationError) as info:
        hz.act(hazard_id, A.REQUEST_ACCEPTANCE, {"completed_on": "2026-10-31"})
    assert info.value.errors == {"completed_on": "不能早于发现日期（2026-11-01）"}
    with pytest.raises(ValidationError) as info:
        hz.act(hazard_id, A.REQUEST_ACCEPTANCE, {"completed_on": "2026-11-25"})
    assert info.value.errors == {"completed_on": "不能晚于今天"}
    hz.act(hazard_id, A.REQUEST_ACCEPTANCE, {"completed_on": "2026-11-10"})
    with pytest.raises(ValidationError) as info:
        hz.act(hazard_id, A.ACCEPT, {**step_values(A.ACCEPT), "reviewed_on": "2026-11-09"})
    assert info.value.errors == {"reviewed_on": "不能早于整改完成日期（2026-11-10）"}
    with pytest.raises(ValidationError) as info:
        hz.act(hazard_id, A.ACCEPT, {**step_values(A.ACCEPT), "reviewed_on": "2026-11-25"})
    assert info.value.errors == {"reviewed_on": "不能晚于今天"}
    hz.act(hazard_id, A.ACCEPT, {**step_values(A.ACCEPT), "reviewed_on": "2026-11-10"})  # same day is fine
    with pytest.raises(ValidationError) as info:
        hz.act(hazard_id, A.CLOSE, {"closed_on": "2026-11-09"})
    assert info.value.errors == {"closed_on": "不能早于验收日期（2026-11-10）"}
    assert "销号日期：不能早于验收日期" in str(info.value)
    hz.act(hazard_id, A.CLOSE, {"closed_on": "2026-11-10"})
    assert hazard_row(hz.db, hazard_id)["status"] == "已销号"


def test_notice_date_and_deadline_rules_on_assign(services: Services, hz: HazardService) -> None:
    hazard_id = register(hz)
    with pytest.raises(ValidationError) as info:
        hz.act(hazard_id, A.ASSIGN, {"notice_number": "1号", "notice_issued_on": "2026-10-30",
                                     "deadline": "2026-10-30"})
    assert info.value.errors == {"notice_issued_on": "不能早于发现日期（2026-11-01）",
                                 "deadline": "不能早于发现日期（2026-11-01）"}
    hz.act(hazard_id, A.ASSIGN, {"notice_number": "1号", "notice_issued_on": "2026-11-02"})
    row = hazard_row(hz.db, hazard_id)
    assert (row["deadline"], row["deadline_overridden"], row["reported_upward_on"]) == ("2026-11-16", 0, None)


def test_reject_returns_to_rectifying_and_clears_completion(services: Services, hz: HazardService) -> None:
    hazard_id = at_status(hz, S.ACCEPTANCE_REQUESTED)
    hz.act(hazard_id, A.REJECT, step_values(A.REJECT))
    row = hazard_row(hz.db, hazard_id)
    assert (row["status"], row["completed_on"], row["review_opinion"]) == ("整改中", None, "未加装漏电保护器")
    last = events(hz.db, hazard_id)[-1]
    assert (last["from_status"], last["to_status"]) == ("申请验收", "整改中")
    hz.act(hazard_id, A.REQUEST_ACCEPTANCE, {"completed_on": "2026-11-20"})
    with pytest.raises(ValidationError, match="不能早于整改完成日期（2026-11-20）"):
        hz.act(hazard_id, A.ACCEPT, {**step_values(A.ACCEPT), "reviewed_on": "2026-11-19"})
    hz.act(hazard_id, A.ACCEPT, {**step_values(A.ACCEPT), "reviewed_on": "2026-11-21"})
    assert hazard_row(hz.db, hazard_id)["status"] == "验收通过"


def test_supervise_only_major_and_only_once(services: Services, hz: HazardService) -> None:
    general = register(hz)
    assert A.SUPERVISE not in hz.allowed_actions(general)
    with pytest.raises(ValidationError, match="是一般隐患，只有重大隐患可以挂牌督办"):
        hz.act(general, A.SUPERVISE, step_values(A.SUPERVISE))
    major = hz.register(MAJOR_BASE)
    assert A.SUPERVISE in hz.allowed_actions(major)
    with pytest.raises(ValidationError) as info:
        hz.act(major, A.SUPERVISE, {"supervision_level": "乡级"})
    assert set(info.value.errors) == {"supervision_level", "supervision_doc", "event_date"}
    hz.act(major, A.SUPERVISE, step_values(A.SUPERVISE))
    row = hazard_row(hz.db, major)
    assert (row["supervised"], row["supervision_level"], row["supervision_doc"]) == (1, "县级", "安远安委督〔2026〕3号")
    assert A.SUPERVISE not in hz.allowed_actions(major)
    with pytest.raises(ValidationError, match="不能进行「挂牌督办」"):
        hz.act(major, A.SUPERVISE, step_values(A.SUPERVISE))
    assert len(events(hz.db, major)) == 2
    assert "挂牌督办" in hz.get(major).values["status_text"]


def test_extension_request_must_come_20_working_days_before_the_deadline(services: Services,
                                                                         hz: HazardService) -> None:
    hazard_id = register(hz)
    hz.act(hazard_id, A.START, {**FIVE, "deadline": "2026-12-21"})  # a Monday
    request = {"requested_deadline": "2027-01-15", "extension_reason": "雨季无法施工"}
    # 20 working days before Monday 12-21 is Monday 11-23
    with pytest.raises(ValidationError) as info:
        hz.act(hazard_id, A.REQUEST_EXTENSION, {**request, "extension_requested_on": "2026-11-24"})
    assert info.value.errors == {
        "extension_requested_on": "延期申请应在整改时限前20个工作日提出（时限 2026-12-21，最晚 2026-11-23）"}
    assert len(events(hz.db, hazard_id)) == 2
    with pytest.raises(ValidationError) as info:
        hz.act(hazard_id, A.REQUEST_EXTENSION, {**request, "extension_requested_on": "2026-11-23",
                                                "requested_deadline": "2026-12-21"})
    assert info.value.errors == {"requested_deadline": "应晚于现在的整改时限（2026-12-21）"}
    hz.act(hazard_id, A.REQUEST_EXTENSION, {**request, "extension_requested_on": "2026-11-23"})
    row = hazard_row(hz.db, hazard_id)
    assert (row["status"], row["deadline"], row["extended"]) == ("整改中", "2026-12-21", 0)  # only asked
    assert (row["extension_requested_on"], row["extension_reason"]) == ("2026-11-23", "雨季无法施工")
    assert events(hz.db, hazard_id)[-1]["event_date"] == "2026-11-23"


def test_extension_notice_counts_county_holidays(services: Services, hz: HazardService) -> None:
    add_rules(hz.db, {"rules": [{"stage": "rectify", "days": 15},
                                {"stage": "extension_notice", "days": 20, "calendar": "working"}],
                      "holidays": ["2026-12-01"]})
    hazard_id = register(hz)
    hz.act(hazard_id, A.START, {**FIVE, "deadline": "2026-12-21"})
    with pytest.raises(ValidationError, match="最晚 2026-11-20"):
        hz.act(hazard_id, A.REQUEST_EXTENSION, {"extension_requested_on": "2026-11-23",
                                                "requested_deadline": "2027-01-15", "extension_reason": "雨季"})


def test_approved_extension_moves_the_deadline(services: Services, hz: HazardService) -> None:
    hazard_id = register(hz, deadline="2026-11-20")
    hz.act(hazard_id, A.START, {**FIVE, "deadline": "2026-11-20"})
    assert hz.get(hazard_id).overdue
    with pytest.raises(ValidationError) as info:
        hz.act(hazard_id, A.APPROVE_EXTENSION, {**step_values(A.APPROVE_EXTENSION), "new_deadline": "2026-11-19"})
    assert info.value.errors == {"new_deadline": "应晚于现在的整改时限（2026-11-20）"}
    hz.act(hazard_id, A.APPROVE_EXTENSION, {**step_values(A.APPROVE_EXTENSION), "new_deadline": "2026-12-20"})
    row = hazard_row(hz.db, hazard_id)
    assert (row["deadline"], row["extended"], row["status"]) == ("2026-12-20", 1, "整改中")
    detail = hz.get(hazard_id)
    assert not detail.overdue
    assert "延期" in detail.values["status_text"]
    last = detail.events[-1]
    assert (last.doc_number, last.event_date, last.data["new_deadline"]) == (
        "青山安委〔2026〕5号", "2026-11-21", "2026-12-20")


def test_supervised_extension_cannot_exceed_a_year_from_discovery(services: Services, hz: HazardService) -> None:
    hazard_id = at_status(hz, S.RECTIFYING)
    hz.act(hazard_id, A.SUPERVISE, step_values(A.SUPERVISE))
    for action, name in ((A.APPROVE_EXTENSION, "new_deadline"), (A.REQUEST_EXTENSION, "requested_deadline")):
        with pytest.raises(ValidationError) as info:
            hz.act(hazard_id, action, {**step_values(action), name: "2027-11-02"})
        assert info.value.errors == {name: "挂牌督办隐患的整改期最长365天（不晚于2027-11-01）"}
    hz.act(hazard_id, A.APPROVE_EXTENSION, {**step_values(A.APPROVE_EXTENSION), "new_deadline": "2027-11-01"})
    assert hazard_row(hz.db, hazard_id)["deadline"] == "2027-11-01"
    unsupervised = at_status(hz, S.RECTIFYING)  # the one-year cap is for 挂牌督办 only
    hz.act(unsupervised, A.APPROVE_EXTENSION, {**step_values(A.APPROVE_EXTENSION), "new_deadline": "2027-12-01"})
    assert hazard_row(hz.db, unsupervised)["deadline"] == "2027-12-01"


def test_edit_keeps_status_and_blank_deadline_keeps_the_old_one(services: Services, hz: HazardService) -> None:
    hazard_id = at_status(hz, S.RECTIFYING)
    values = {**hz.get(hazard_id).values, "description": "配电箱无漏电保护，线路老化", "deadline": ""}
    hz.act(hazard_id, A.EDIT, values)
    row = hazard_row(hz.db, hazard_id)
    assert (row["status"], row["description"], row["deadline"]) == ("整改中", "配电箱无漏电保护，线路老化", "2027-01-30")
    assert row["deadline_overridden"] == 0  # START gave the same deadline the rules did; blank keeps it
    assert row["level_basis"] == MAJOR_BASE["level_basis"]
    last = events(hz.db, hazard_id)[-1]
    assert (last["action"], last["from_status"], last["to_status"]) == ("修改", "整改中", "整改中")
    with pytest.raises(ValidationError) as info:
        hz.act(hazard_id, A.EDIT, {**values, "found_on": "2026-11-30"})
    assert info.value.errors == {"found_on": "不能晚于今天"}


# ── listing: overdue, due soon, counts, filters, sorting ─────────────────────────────────────────


@pytest.fixture
def ledger(services: Services, hz: HazardService) -> dict[str, str]:
    """A small ledger around TODAY (Tuesday 2026-11-24; 临期 = within 3 days)."""
    villages = services.register("villages")
    for name in ("东村", "南村", "西村"):
        villages.save({"name": name})
    ids = {
        "late": register(hz, deadline="2026-11-20", village="西村", sector="消防", unit_name="100%达标加油站"),
        "today": register(hz, deadline="2026-11-24", village="东村", sector="消防", unit_name="A_B化工"),
        "soon": register(hz, deadline="2026-11-27", village="南村", sector="建筑施工", unit_name="AxB建材"),
        "later": register(hz, deadline="2026-11-28", unit_name="青山小学", description="围墙裂缝"),
        "accepted": register(hz, deadline="2026-11-20", sector="消防"),
        "closed": register(hz, deadline="2026-11-20", sector="消防"),
        "major": hz.register({**MAJOR_BASE, "deadline": "2026-11-25", "sector": "危险化学品", "village": "东村"}),
        "old": register(hz, found_on="2025-06-01", deadline="2025-06-10", village="南村"),
    }
    for key, steps in (("accepted", PATH[S.ACCEPTED]), ("closed", PATH[S.CLOSED])):
        for action in steps:
            hz.act(ids[key], action, {**step_values(action), "deadline": "2026-11-20"}
                   if action is A.START else step_values(action))
    hz.act(ids["major"], A.SUPERVISE, step_values(A.SUPERVISE))
    return ids


def ids_for(hz: HazardService, ledger: dict[str, str], **query: Any) -> set[str]:
    names = {v: k for k, v in ledger.items()}
    return {names[i] for i in hz.query_ids(HazardQuery(**query))}


def test_overdue_and_due_soon_against_today(services: Services, hz: HazardService, ledger: dict[str, str]) -> None:
    assert ids_for(hz, ledger, overdue=True) == {"late", "old"}  # 验收通过 and 已销号 are never overdue
    assert ids_for(hz, ledger, due_soon=True) == {"today", "soon", "major"}
    assert hz.counts() == HazardCounts(open=7, overdue=2, due_soon=3, major_open=1, supervised_open=1)
    rows = hz.fetch_rows(ledger.values())
    by_key = {k: rows[v] for k, v in ledger.items()}
    assert by_key["late"]["status_text"] == "已登记（逾期）" and by_key["late"]["overdue"]
    assert by_key["today"]["status_text"] == "已登记（临期）" and by_key["today"]["due_soon"]
    assert by_key["later"]["status_text"] == "已登记"
    assert by_key["accepted"]["status_text"] == "验收通过" and not by_key["accepted"]["overdue"]
    assert by_key["closed"]["status_text"] == "已销号" and not by_key["closed"]["overdue"]
    assert by_key["major"]["status_text"] == "已登记（临期、挂牌督办）"
    assert not hz.get(ledger["accepted"]).overdue and not hz.get(ledger["closed"]).due_soon
    assert hz.get(ledger["late"]).overdue and hz.get(ledger["soon"]).due_soon


def test_counts_follow_today(services: Services, ledger: dict[str, str]) -> None:
    later = service(services, today=date(2026, 11, 29))
    assert later.counts().overdue == 6  # everything open with a deadline before 11-29
    assert later.counts().due_soon == 0


def test_filters(services: Services, hz: HazardService, ledger: dict[str, str]) -> None:
    assert ids_for(hz, ledger, status="已销号") == {"closed"}
    assert ids_for(hz, ledger, status="open") == set(ledger) - {"closed"}
    assert ids_for(hz, ledger, level="重大") == {"major"}
    assert ids_for(hz, ledger, sector="消防") == {"late", "today", "accepted", "closed"}
    assert ids_for(hz, ledger, sector="fire") == {"late", "today", "accepted", "closed"}  # the code works too
    assert ids_for(hz, ledger, sector="航天") == set()
    assert ids_for(hz, ledger, village="东村") == {"today", "major"}
    assert ids_for(hz, ledger, village="北村") == set()
    assert ids_for(hz, ledger, unit="化工") == {"today"}
    assert ids_for(hz, ledger, year=2025) == {"old"}
    assert ids_for(hz, ledger, year=2026) == set(ledger) - {"old"}
    assert ids_for(hz, ledger, supervised=True) == {"major"}
    assert ids_for(hz, ledger, overdue=True, sector="消防") == {"late"}
    assert ids_for(hz, ledger, status="open", level="一般", village="南村") == {"soon", "old"}


def test_free_text_search_treats_percent_and_underscore_literally(services: Services, hz: HazardService,
                                                                  ledger: dict[str, str]) -> None:
    assert ids_for(hz, ledger, search="%") == {"late"}
    assert ids_for(hz, ledger, search="A_B") == {"today"}  # not AxB
    assert ids_for(hz, ledger, unit="_") == {"today"}
    assert ids_for(hz, ledger, search="围墙") == {"later"}  # description
    assert ids_for(hz, ledger, search="2025-0001") == {"old"}  # number
    assert ids_for(hz, ledger, search="王强") == {"accepted", "closed"}  # responsible person
    assert ids_for(hz, ledger, search="  ") == set(ledger)


def test_sorting(services: Services, hz: HazardService, ledger: dict[str, str]) -> None:
    names = {v: k for k, v in ledger.items()}

    def order(**query: Any) -> list[str]:
        return [names[i] for i in hz.query_ids(HazardQuery(**query))]

    numbers = {k: hazard_row(hz.db, v)["number"] for k, v in ledger.items()}
    assert order() == sorted(ledger, key=lambda k: numbers[k], reverse=True)
    assert order(descending=False) == sorted(ledger, key=lambda k: numbers[k])
    assert order()[-1] == "old" and order()[0] == "major"
    by_deadline = order(sort="deadline", descending=False)
    deadlines = [hazard_row(hz.db, ledger[k])["deadline"] for k in by_deadline]
    assert deadlines == sorted(deadlines)
    assert by_deadline[0] == "old"
    villages = order(sort="village", descending=False, village="")
    with_village = [k for k in villages if k in {"late", "today", "soon", "major", "old"}]
    assert [k for k in villages if k not in with_village] == villages[: len(villages) - len(with_village)]
    shown = [hz.fetch_rows([ledger[k]])[ledger[k]]["village"] for k in with_village]
    assert shown == sorted(shown) == ["东村", "东村", "南村", "南村", "西村"]
    assert order(sort="village")[0] == "late"  # 西村 first when descending
    assert order(sort="no_such_column") == order()


def test_fetch_rows_shows_display_values(services: Services, hz: HazardService, ledger: dict[str, str]) -> None:
    rows = hz.fetch_rows([ledger["major"], ledger["closed"], "missing"])
    assert set(rows) == {ledger["major"], ledger["closed"]}
    major = rows[ledger["major"]]
    assert (major["number"], major["village"], major["sector"], major["supervised"], major["level"]) == (
        "2026-0007", "东村", "危险化学品", "是", "重大")
    assert rows[ledger["closed"]]["funds"] == "15000"
    assert rows[ledger["closed"]]["responsible_person"] == "王强"


def test_ledger_queries_use_the_ledger_indexes(services: Services, hz: HazardService,
                                               ledger: dict[str, str]) -> None:
    """100k hazards open fast only if SQLite reads ids in ledger order from an index and pages by id
    (without ANALYZE statistics it otherwise prefers the one-column index on ``deleted``)."""
    from sqlalchemy import event

    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if "FROM hazard" in statement:
            seen.append((statement, parameters))

    event.listen(hz.db.engine, "before_cursor_execute", capture)
    try:
        ids = hz.query_ids(HazardQuery())
        hz.fetch_rows(ids[:3])
        hz.query_ids(HazardQuery(overdue=True, sector="消防"))
    finally:
        event.remove(hz.db.engine, "before_cursor_execute", capture)
    conn = sqlite3.connect(hz.db.path)
    try:
        plans = [" | ".join(r[-1] for r in conn.execute("EXPLAIN QUERY PLAN " + sql, params)) for sql, params in seen]
    finally:
        conn.close()
    ledger_plan, page_plan, filter_plan = plans
    assert ledger_plan == "SEARCH hazard USING COVERING INDEX ix_hazard_ledger (township_id=? AND deleted=?)"
    assert "(id=?)" in page_plan and "ix_hazard_deleted" not in page_plan
    assert "ix_hazard_sector_ledger (township_id=? AND deleted=? AND sector_code=?)" in filter_plan
    assert "TEMP B-TREE" not in filter_plan


# ── the event trail is evidence ──────────────────────────────────────────────────────────────────


def test_events_cannot_be_changed_through_the_orm(services: Services, hz: HazardService) -> None:
    hazard_id = register(hz)
    with pytest.raises(RuntimeError, match="append-only"), hz.db.session() as session:
        event = session.scalars(select(HazardEvent).where(HazardEvent.hazard_id == hazard_id)).one()
        event.note = "改过"
    with pytest.raises(RuntimeError), hz.db.session() as session:
        event = session.scalars(select(HazardEvent).where(HazardEvent.hazard_id == hazard_id)).one()
        event.deleted = True
    with pytest.raises(RuntimeError), hz.db.session() as session:
        session.delete(session.scalars(select(HazardEvent).where(HazardEvent.hazard_id == hazard_id)).one())
    (row,) = events(hz.db, hazard_id)
    assert (row["note"], row["deleted"]) == ("", 0)


@pytest.mark.parametrize("sql", ["UPDATE hazard_event SET note = 'x'", "UPDATE hazard_event SET deleted = 1",
                                 "DELETE FROM hazard_event"])
def test_events_cannot_be_changed_in_sql(services: Services, hz: HazardService, sql: str) -> None:
    register(hz)
    conn = sqlite3.connect(hz.db.path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute(sql)
    finally:
        conn.close()
    assert count(hz.db, "hazard_event") == 1


def test_every_step_is_audited_with_the_user(services: Services) -> None:
    clerk = service(services, CLERK)
    before = count(clerk.db, "audit_log")
    hazard_id = clerk.register(BASE)
    clerk.act(hazard_id, A.ASSIGN, step_values(A.ASSIGN))
    rows = raw_rows(clerk.db, "SELECT * FROM audit_log ORDER BY id")[before:]
    got = [(r["username"], r["action"], r["entity"]) for r in rows]
    assert got[:2] == [("clerk", "create", "hazard"), ("clerk", "create", "hazard_event")]  # 登记
    assert sorted(got[2:]) == [("clerk", "create", "hazard_event"), ("clerk", "update", "hazard")]  # 交办
    assert rows[0]["summary"] == "新增隐患「2026-0001 青山石材厂」"
    assert rows[0]["entity_id"] == hazard_id
    assert {e["username"] for e in events(clerk.db, hazard_id)} == {"clerk"}


def test_read_only_account_cannot_register_or_act(services: Services, hz: HazardService) -> None:
    hazard_id = register(hz)
    reader = service(services, READER)
    with pytest.raises(PermissionDenied, match="只读账号"):
        reader.register(BASE)
    with pytest.raises(PermissionDenied, match="只读账号"):
        reader.act(hazard_id, A.ASSIGN, step_values(A.ASSIGN))
    assert count(hz.db, "hazard") == 1
    assert len(events(hz.db, hazard_id)) == 1
    assert reader.get(hazard_id).values["number"] == "2026-0001"  # reading is fine
    assert reader.query_ids() == [hazard_id]


# ── photos ───────────────────────────────────────────────────────────────────────────────────────


def test_photos_are_stored_once_and_grouped_by_role(services: Services, hz: HazardService, tmp_path: Path) -> None:
    before = jpeg(tmp_path / "现场.jpg")
    copy = tmp_path / "现场-副本.jpg"
    copy.write_bytes(before.read_bytes())
    hazard_id = hz.register({**BASE, "found_on": FOUND}, photos=[before, copy])
    assert len(store_files(hz.db)) == 1  # the same bytes twice → one file
    hz.act(hazard_id, A.START, FIVE)
    after = jpeg(tmp_path / "整改后.jpg", "green")
    hz.act(hazard_id, A.REQUEST_ACCEPTANCE, {"completed_on": "2026-11-10"}, files=[after])
    review = Image.new("RGB", (32, 32), "blue")
    review.save(tmp_path / "验收.png", "PNG")
    hz.act(hazard_id, A.ACCEPT, step_values(A.ACCEPT), files=[tmp_path / "验收.png", before])
    assert len(store_files(hz.db)) == 3
    detail = hz.get(hazard_id)
    assert set(detail.photos) == {"before", "after", "review"}
    assert sorted(p.file_name for p in detail.photos["before"]) == ["现场-副本.jpg", "现场.jpg"]
    assert [p.file_name for p in detail.photos["after"]] == ["整改后.jpg"]
    assert sorted(p.file_name for p in detail.photos["review"]) == ["现场.jpg", "验收.png"]
    for rows in detail.photos.values():
        for photo in rows:
            assert photo.path.is_file()
            assert photo.path.name == photo.sha256
    assert {p.media_type for p in detail.photos["review"]} == {"image/jpeg", "image/png"}
    assert [len(e.attachments) for e in detail.events] == [2, 0, 1, 2]
    with hz.db.session() as session:
        owners = {a.owner_table for a in session.scalars(select(Attachment))}
    assert owners == {"hazard_event"}


def corrupt_jpeg(path: Path) -> Path:
    image = Image.effect_noise((256, 256), 64).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    data = buffer.getvalue()
    path.write_bytes(data[: len(data) * 2 // 3])  # a transfer cut off part-way
    return path


@pytest.mark.parametrize("make", [
    lambda folder: (folder / "说明.txt", b"not a photo at all"),
    lambda folder: (folder / "表格.jpg", b"PK\x03\x04 a spreadsheet renamed"),
    lambda folder: (corrupt_jpeg(folder / "损坏.jpg"), None),
    lambda folder: (folder / "炸弹.png", png_header_only(20000, 20000)),
    lambda folder: (folder / "大图.png", png_header_only(10000, 10000)),  # above the limit, below 2× it
    lambda folder: (folder / "空.jpg", b""),
], ids=["text", "renamed", "truncated-jpeg", "bomb", "oversized", "empty"])
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # Pillow warns; the store refuses
def test_bad_photo_refuses_the_register_and_writes_nothing(services: Services, hz: HazardService,
                                                           tmp_path: Path, make: Any) -> None:
    path, data = make(tmp_path)
    if data is not None:
        path.write_bytes(data)
    audit_before = count(hz.db, "audit_log")
    with pytest.raises(ValidationError) as info:
        hz.register(BASE, photos=[path])
    assert path.name in str(info.value)
    assert str(info.value).startswith("照片：")
    assert count(hz.db, "hazard") == 0
    assert count(hz.db, "hazard_event") == 0
    assert count(hz.db, "attachment") == 0
    assert count(hz.db, "audit_log") == audit_before
    assert store_files(hz.db) == []


def test_bad_photo_refuses_a_step(services: Services, hz: HazardService, tmp_path: Path) -> None:
    hazard_id = at_status(hz, S.RECTIFYING)
    with pytest.raises(ValidationError, match=r"损坏\.jpg"):
        hz.act(hazard_id, A.REQUEST_ACCEPTANCE, {"completed_on": "2026-11-10"},
               files=[corrupt_jpeg(tmp_path / "损坏.jpg")])
    with pytest.raises(ValidationError, match=r"找不到文件「不存在\.jpg」"):
        hz.act(hazard_id, A.REQUEST_ACCEPTANCE, {"completed_on": "2026-11-10"}, files=[tmp_path / "不存在.jpg"])
    assert hazard_row(hz.db, hazard_id)["status"] == "整改中"
    assert len(events(hz.db, hazard_id)) == 3
    assert count(hz.db, "attachment") == 0


def test_a_real_photo_passes_the_store(services: Services, hz: HazardService, tmp_path: Path) -> None:
    photo = tmp_path / "手机照片.jpg"
    Image.effect_noise((1200, 900), 40).convert("RGB").save(photo, "JPEG", quality=85)
    stored = hz.store.put(photo, images_only=True)
    assert (stored.media_type, stored.file_name, stored.size) == ("image/jpeg", "手机照片.jpg", photo.stat().st_size)
    assert hz.store.path_of(stored.sha256).read_bytes() == photo.read_bytes()


# ── property: random action sequences stay on the graph ──────────────────────────────────────────


ACTIONS = [a for a in A if a is not A.REGISTER]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(st.sampled_from(ACTIONS), st.integers(min_value=1, max_value=400)),
                      min_size=1, max_size=12),
       major=st.booleans())
def test_random_action_sequences_never_leave_the_graph(services: Services, steps: list[tuple[HazardAction, int]],
                                                       major: bool) -> None:
    hz = service(services)
    hazard_id = hz.register(MAJOR_BASE if major else BASE)
    status = S.REGISTERED
    trail = 1
    for action, days in steps:
        values = step_values(action, hz, hazard_id)
        if action in (A.REQUEST_EXTENSION, A.APPROVE_EXTENSION):
            name = "requested_deadline" if action is A.REQUEST_EXTENSION else "new_deadline"
            values = {**values, name: (date(2027, 1, 30) + timedelta(days=days)).isoformat()}
        sources, target = TRANSITIONS[action]
        try:
            hz.act(hazard_id, action, values)
        except ValidationError:
            assert hazard_row(hz.db, hazard_id)["status"] == status.value
        else:
            assert status in sources, f"{action.value} succeeded from {status.value}"
            status = target or status
            trail += 1
        row = hazard_row(hz.db, hazard_id)
        assert row["status"] == status.value
        assert HazardStatus(row["status"]) in S
        recorded = events(hz.db, hazard_id)
        assert len(recorded) == trail
        assert recorded[-1]["to_status"] == row["status"]
        assert all(a["to_status"] == b["from_status"] for a, b in pairwise(recorded))
        assert set(hz.allowed_actions(hazard_id)) <= {a for a, (src, _t) in TRANSITIONS.items() if status in src}
