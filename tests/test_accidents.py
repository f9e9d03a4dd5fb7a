"""事故信息: grades per 国务院令493 at every boundary, validation, report delay, CLI listing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from app.errors import NotFound, ValidationError
from app.models import Accident
from app.models.letters import WAN, accident_grade
from app.services import Services
from app.services.letters import AccidentService

TODAY = date(2026, 11, 24)


@pytest.mark.parametrize(("deaths", "grade"), [
    (0, "一般"), (1, "一般"), (2, "一般"), (3, "较大"), (9, "较大"), (10, "重大"), (29, "重大"), (30, "特别重大"),
    (100, "特别重大"),
])
def test_grade_by_deaths(deaths: int, grade: str) -> None:
    assert accident_grade(deaths, 0, 0) == grade


@pytest.mark.parametrize(("injuries", "grade"), [
    (9, "一般"), (10, "较大"), (49, "较大"), (50, "重大"), (99, "重大"), (100, "特别重大"),
])
def test_grade_by_serious_injuries(injuries: int, grade: str) -> None:
    assert accident_grade(0, injuries, 0) == grade


@pytest.mark.parametrize(("loss_fen", "grade"), [
    (1_000 * WAN - 1, "一般"),  # 999.9999万元
    (999 * WAN + 9_900 * 100, "一般"),  # 999.99万元
    (1_000 * WAN, "较大"),
    (5_000 * WAN - 1, "较大"),
    (5_000 * WAN, "重大"),
    (10_000 * WAN - 1, "重大"),
    (10_000 * WAN, "特别重大"),  # 1亿元
])
def test_grade_by_direct_loss(loss_fen: int, grade: str) -> None:
    assert accident_grade(0, 0, loss_fen) == grade


def test_grade_is_the_highest_any_criterion_reaches() -> None:
    assert accident_grade(2, 50, 0) == "重大"
    assert accident_grade(3, 0, 10_000 * WAN) == "特别重大"
    assert accident_grade(10, 10, 1_000 * WAN) == "重大"


@pytest.fixture
def accidents(services: Services) -> AccidentService:
    services.register("villages").save({"name": "石桥村", "head_name": "李大山"})
    services.register("enterprises").save({"name": "鑫源石材厂", "legal_rep": "王强"})
    return AccidentService(services.db, services.actor, services.scope, today=lambda: TODAY)


def test_record_computes_grade_delay_and_links(accidents: AccidentService, services: Services) -> None:
    accident_id = accidents.record({
        "occurred_at": "2026-06-03 10:20", "unit_name": "鑫源石材厂", "village": "石桥村", "place": "采石场",
        "account": "边坡垮塌", "deaths": "3", "serious_injuries": 2, "direct_loss": "999.99万",
        "reported_at": "2026年6月3日 11:05",
    })
    row = accidents.get(accident_id)
    assert (row.grade, row.deaths, row.direct_loss, row.report_delay_minutes) == ("较大", 3, "9999900", 45)
    assert row.occurred_at == "2026-06-03 10:20" and row.village == "石桥村" and row.enterprise_id
    with services.db.session() as session:
        stored = session.get(Accident, accident_id)
        assert stored.occurred_at == datetime(2026, 6, 3, 2, 20, tzinfo=timezone.utc)  # stored in UTC
        assert stored.direct_loss_fen == 999_990_000
    accidents.update(accident_id, {"deaths": 2})
    assert accidents.get(accident_id).grade == "一般"
    accidents.update(accident_id, {"direct_loss": "1000万"})
    assert accidents.get(accident_id).grade == "较大"
    assert [r.id for r in accidents.list(2026)] == [accident_id] and accidents.list(2025) == []


def test_grade_is_kept_right_even_on_a_raw_orm_edit(accidents: AccidentService, services: Services) -> None:
    accident_id = accidents.record({"occurred_at": "2026-06-03 10:20", "place": "路口"})
    with services.db.session() as session:
        session.get(Accident, accident_id).deaths = 10
    assert accidents.get(accident_id).grade == "重大"


@pytest.mark.parametrize(("values", "errors"), [
    ({"occurred_at": "2026-06-03 10:20", "place": "x", "deaths": -1}, {"deaths": "应为不小于0的整数"}),
    ({"occurred_at": "2026-06-03 10:20", "place": "x", "deaths": 1.5}, {"deaths": "应为整数"}),
    ({"occurred_at": "2026-06-03 10:20", "place": "x", "serious_injuries": "两"}, {"serious_injuries": "「两」不是数字"}),
    ({"occurred_at": "2026-06-03 10:20", "place": "x", "direct_loss": "-5"}, {"direct_loss": "金额不能为负数"}),
    ({"occurred_at": "2026-12-01 10:00", "place": "x"}, {"occurred_at": "不能晚于今天"}),
    ({"occurred_at": "2026-06-03", "place": "x"}, {"occurred_at": "请同时填写具体时间（时:分）"}),
    ({"place": "x"}, {"occurred_at": "必填，不能为空"}),
    ({"occurred_at": "2026-06-03 10:20", "place": "x", "reported_at": "2026-06-03 10:00"},
     {"reported_at": "不能早于事故发生时间（2026-06-03 10:20）"}),
    ({"occurred_at": "2026-06-03 10:20"}, {"place": "事故地点和事故单位至少填写一项"}),
    ({"occurred_at": "2026-06-03 10:20", "place": "x", "village": "不存在村"}, {"village": "找不到名为「不存在村」的村/社区"}),
    ({"occurred_at": "2026-06-03 10:20", "place": "x", "category": "爆炸"},
     {"category": "应为以下之一：生产安全事故、火灾、森林火灾、道路交通事故、其他"}),
])
def test_bad_accidents_are_refused_naming_the_field(accidents: AccidentService, values: dict,
                                                   errors: dict) -> None:
    with pytest.raises(ValidationError) as err:
        accidents.record(values)
    assert err.value.errors == errors
    assert accidents.list() == []


def test_update_checks_report_time_against_stored_occurrence(accidents: AccidentService) -> None:
    accident_id = accidents.record({"occurred_at": "2026-06-03 10:20", "place": "x"})
    with pytest.raises(ValidationError, match="报告时间：不能早于事故发生时间"):
        accidents.update(accident_id, {"reported_at": "2026-06-02 09:00"})


def test_delete_tombstones_audits_and_leaves_the_assessment(accidents: AccidentService, services: Services) -> None:
    from sqlalchemy import select

    from app.errors import PermissionDenied
    from app.models import AuditEntry
    from tests.conftest import READER

    services.letters.generate_year(2026)
    mistake = accidents.record({"occurred_at": "2026-06-03 10:20", "unit_name": "鑫源石材厂", "deaths": 1})
    kept = accidents.record({"occurred_at": "2026-06-04 10:20", "place": "镇区路口"})
    stone = lambda: next(a for a in services.letters.assess(2026) if a.counterparty_name == "鑫源石材厂")  # noqa: E731
    assert stone().result == "一票否决"

    reader = AccidentService(services.db, READER, services.scope, today=lambda: TODAY)
    with pytest.raises(PermissionDenied, match="只读账号"):
        reader.delete(mistake)
    assert len(accidents.list(2026)) == 2

    accidents.delete(mistake)
    assert [r.id for r in accidents.list(2026)] == [kept] and [r.id for r in accidents.list()] == [kept]
    assert stone().result == "达标" and stone().accidents == []
    with services.db.session() as session:
        stored = session.get(Accident, mistake)
        assert stored is not None and stored.deleted  # a tombstone: sync carries the deletion
        audit = session.scalars(select(AuditEntry).where(AuditEntry.entity_id == mistake)).all()
        assert [a.action for a in audit] == ["create", "delete"] and audit[-1].username == services.actor.username
    with pytest.raises(NotFound):
        accidents.delete(mistake)
    with pytest.raises(NotFound):
        accidents.update(mistake, {"deaths": 0})


def test_cli_lists_accidents(accidents: AccidentService, services: Services, data_dir: Path) -> None:
    accidents.record({"occurred_at": "2026-06-03 10:20", "unit_name": "鑫源石材厂", "deaths": 1})
    services.db.dispose()
    done = subprocess.run([sys.executable, "-m", "app", "--data-dir", str(data_dir), "accidents", "list", "--json"],
                          capture_output=True, text=True, encoding="utf-8", timeout=120,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}, cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert [(r["unit_name"], r["deaths"], r["grade"]) for r in rows] == [("鑫源石材厂", 1, "一般")]
