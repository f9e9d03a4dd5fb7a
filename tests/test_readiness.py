"""Evaluating 七有/五有: every criterion kind, scoring and deductions, assessments, alerts, the JSON summary."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from app.errors import NotFound, PermissionDenied, ValidationError
from app.services import Services
from app.services.readiness import ReadinessService
from app.services.readiness_eval import CriterionResult, evaluate_unit, load_snapshot, months_before
from app.services.readiness_standards import parse_standard
from tests.conftest import READER

DAY = date(2026, 6, 30)


@pytest.fixture
def village(services: Services) -> str:
    return services.register("villages").save({"name": "石桥村", "population": "1000", "head_phone": "13800138000"})


def readiness(services: Services, actor: Any = None) -> ReadinessService:
    return ReadinessService(services.db, actor or services.actor, services.scope, today=lambda: DAY)


def check(services: Services, criterion: dict[str, Any], unit: str | None = None, level: str = "village",
          on: date = DAY) -> CriterionResult:
    """One criterion of a one-item standard, evaluated for ``unit`` (None = the township)."""
    data = {"kind": f"readiness_standard_{level}", "level": level, "version": "1", "name": "测试标准",
            "items": [{"key": "k", "name": "测试项目", "group": "五有", "criteria": [criterion]}]}
    standard = parse_standard(data, "测试.json")
    with services.db.session() as session:
        snap = load_snapshot(session, services.scope.township_id)
    return evaluate_unit(snap, standard, unit, on).items[0].criteria[0]


def add(services: Services, register: str, **values: Any) -> str:
    return services.register(register).save({k: str(v) for k, v in values.items()})


def team_of(services: Services, size: int, name: str = "石桥村应急队", village: str = "石桥村",
            kind: str = "综合应急救援队伍") -> str:
    team = add(services, "teams", name=name, village=village, kind=kind)
    for n in range(size):
        add(services, "team_members", name=f"队员{n}", team=name, insurance_until="2026-12-31")
    return team


# -- criterion kinds ----------------------------------------------------------------------------------
def test_count_with_filters_minimum_and_deduction(services: Services, village: str) -> None:
    rule = {"text": "叫应名单", "kind": "count", "register": "call_trees", "where": {"role": "B角"}, "min": 2,
            "points": 6, "deduct": 2, "label": "叫应名单B角"}
    assert check(services, rule, village).gap == "叫应名单B角：应不少于 2 个，当前 0 个"
    b = add(services, "call_trees", name="李四", phone="13900139000", village="石桥村", role="B角")
    add(services, "call_trees", name="王五", phone="13700137000", village="石桥村", role="A角")
    add(services, "call_trees", name="赵六", phone="13600136000", role="B角")  # township level: not the village's
    result = check(services, rule, village)
    assert (result.passed, result.earned, [e.record_id for e in result.evidence]) == (False, 4, [b])
    add(services, "call_trees", name="钱七", phone="13500135000", village="石桥村", role="B角")
    result = check(services, rule, village)
    assert (result.passed, result.earned, result.gap) == (True, 6, "")


def test_count_contains(services: Services, village: str) -> None:
    rule = {"text": "明白卡", "kind": "count", "register": "org_documents", "contains": {"name": "明白卡"}, "points": 2}
    add(services, "org_documents", name="石桥村值班制度", village="石桥村")
    assert not check(services, rule, village).passed
    add(services, "org_documents", name="石桥村防灾避险明白卡", village="石桥村", kind="其他")
    assert check(services, rule, village).passed


def test_document_needs_an_attachment(services: Services, tmp_path: Path) -> None:
    rule = {"text": "值班制度", "kind": "document", "register": "org_documents", "where": {"kind": "值班制度"},
            "points": 4, "label": "值班制度"}
    doc = add(services, "org_documents", name="值班值守制度", kind="值班制度")
    result = check(services, rule, level="township")
    assert (result.passed, result.earned, result.gap) == (False, 0, "值班制度：未登记或未附文件")
    scan = tmp_path / "扫描件.png"
    Image.new("L", (40, 60), 255).save(scan)
    attachment = services.attachments("org_documents").add(doc, scan, role="scan")
    result = check(services, rule, level="township")
    assert result.passed and result.earned == 4
    assert [(e.kind, e.record_id, e.owner_kind, e.owner_id) for e in result.evidence] == [
        ("org_documents", doc, "", ""), ("attachment", attachment, "org_documents", doc)]
    services.attachments("org_documents").remove(attachment)
    assert not check(services, rule, level="township").passed


def test_recent_counts_the_last_n_months_only(services: Services, village: str) -> None:
    rule = {"text": "每年演练", "kind": "recent", "register": "drills", "date_field": "held_on", "months": 12,
            "min": 1, "points": 8, "label": "演练培训"}
    add(services, "drills", name="去年的演练", village="石桥村", held_on="2025-06-29")
    add(services, "drills", name="计划中的演练", village="石桥村", held_on="2026-07-15")
    assert check(services, rule, village).gap == "演练培训：近 12 个月内 0 次，应不少于 1 次"
    add(services, "drills", name="防汛演练", village="石桥村", held_on="2025-06-30")
    assert check(services, rule, village).passed


def test_months_before_handles_short_months() -> None:
    assert months_before(date(2026, 5, 31), 3) == date(2026, 2, 28)
    assert months_before(date(2026, 1, 15), 12) == date(2025, 1, 15)
    assert months_before(date(2026, 3, 31), 1) == date(2026, 2, 28)


def test_not_expired_supplies_counts_expired_items(services: Services, village: str) -> None:
    rule = {"text": "物资在有效期内", "kind": "not_expired", "register": "supplies", "date_field": "expires_on",
            "points": 8, "deduct": 2, "label": "应急物资"}
    assert check(services, rule, village).gap == "应急物资：尚未登记"
    for name in ("方便面", "矿泉水", "药品箱"):
        add(services, "supplies", name=name, quantity=5, village="石桥村", expires_on="2026-06-29")
    add(services, "supplies", name="救生衣", quantity=20, village="石桥村")  # no expiry date
    add(services, "supplies", name="饼干", quantity=5, village="石桥村", expires_on="2026-06-30")  # last day: fine
    result = check(services, rule, village)
    assert (result.passed, result.gap, result.earned) == (False, "应急物资：3 项已过期", 2)
    assert [e.label.split(" ")[0] for e in result.evidence] == ["方便面", "矿泉水", "药品箱"]


def test_not_expired_plans_names_the_plan(services: Services) -> None:
    rule = {"text": "预案在修订期内", "kind": "not_expired", "register": "plans", "date_field": "next_revision_on",
            "points": 4, "deduct": 1, "label": "应急预案", "gap": "{label}：{names}超过修订期"}
    add(services, "plans", name="防汛预案", approved_on="2022-05-01", next_revision_on="2025-05-01")
    add(services, "plans", name="地震预案", approved_on="2025-05-01", next_revision_on="2028-05-01")
    result = check(services, rule, level="township")
    assert (result.gap, result.earned) == ("应急预案：防汛预案超过修订期", 3)


def test_yes_no_reads_the_profile(services: Services, village: str) -> None:
    rule = {"text": "负责人电话", "kind": "yes_no", "field": "head_phone", "points": 4, "label": "负责人电话"}
    assert check(services, rule, village).passed
    services.register("villages").save({"name": "石桥村", "population": "1000", "head_phone": ""}, village)
    assert check(services, rule, village).gap == "负责人电话：未填写"
    township_rule = {"text": "值班电话", "kind": "yes_no", "field": "office_phone", "points": 3, "label": "值班电话"}
    assert not check(services, township_rule, level="township").passed
    services.township.save_profile({"name": "青山镇", "county_name": "安远县", "office_phone": "0797-3721234"})
    assert check(services, township_rule, level="township").passed


def test_number_of_members_in_qualifying_teams_of_the_unit(services: Services, village: str) -> None:
    rule = {"text": "10人以上队伍", "kind": "number", "measure": "members", "where": {"kind": "综合应急救援队伍"},
            "min": 10, "points": 12, "deduct": 1, "label": "综合应急队伍"}
    team = team_of(services, 7)
    team_of(services, 5, name="石桥村志愿者队", kind="志愿者队伍")  # another kind: not counted
    add(services, "villages", name="白沙村")
    team_of(services, 6, name="白沙村应急队", village="白沙村")  # another village: not counted
    result = check(services, rule, village)
    assert (result.gap, result.earned) == ("综合应急队伍 10 人以上：当前 7 人", 9)
    assert [e.record_id for e in result.evidence] == [team]
    for n in range(3):
        add(services, "team_members", name=f"新队员{n}", team="石桥村应急队")
    assert check(services, rule, village).passed


def test_number_of_contacts_with_a_role(services: Services, village: str) -> None:
    rule = {"text": "信息员", "kind": "number", "measure": "contacts", "roles": ["信息员", "网格员"], "min": 2,
            "points": 2, "label": "信息员"}
    add(services, "contacts", name="张三", organisation="石桥村", roles="信息员")
    add(services, "contacts", name="李四", roles="网格员")  # township level
    assert check(services, rule, village).gap == "信息员 2 人以上：当前 1 人"
    add(services, "contacts", name="王五", organisation="石桥村", roles="网格员")
    result = check(services, rule, village)
    assert result.passed and [e.label for e in result.evidence] == ["张三（信息员）", "王五（网格员）"]


def test_stock_against_minimum_list(services: Services, village: str) -> None:
    rule = {"text": "最低储备", "kind": "stock", "points": 8, "deduct": 2, "label": "物资储备不足",
            "items": [{"name": "救生衣", "min": 10, "unit": "件"}, {"name": "编织袋", "min": 200, "unit": "条"}]}
    add(services, "supplies", name="救生衣（成人）", quantity=6, village="石桥村")
    add(services, "supplies", name="救生衣（儿童）", quantity=4, village="石桥村")
    add(services, "supplies", name="编织袋", quantity=300, village="石桥村", expires_on="2026-01-01")  # expired
    result = check(services, rule, village)
    assert (result.gap, result.earned) == ("物资储备不足：编织袋 0/200条", 6)
    add(services, "supplies", name="编织袋", quantity=200, village="石桥村")
    assert check(services, rule, village).passed
    add(services, "supplies", name="沙袋", quantity=300, unit="条", min_quantity=500, village="石桥村")
    assert check(services, rule, village).gap == "物资储备不足：沙袋 300/500条（低于最低储备）"


def test_capacity_against_population(services: Services, village: str) -> None:
    rule = {"text": "容量", "kind": "capacity", "ratio": 0.3, "points": 8, "label": "避难场所容量"}
    add(services, "shelters", name="村委会广场", capacity=200, village="石桥村")
    assert check(services, rule, village).gap == "避难场所容量：可容纳 200 人，低于人口的 30%（300 人）"
    add(services, "shelters", name="小学操场", capacity=100, village="石桥村")
    assert check(services, rule, village).passed
    other = add(services, "villages", name="白沙村")
    assert check(services, rule, other).gap == "避难场所容量：未填写人口数，无法核对避难场所容量"


def test_scope_all_counts_every_village_for_the_township(services: Services, village: str) -> None:
    rule = {"text": "全乡镇容量", "kind": "capacity", "ratio": 0.1, "scope": "all", "points": 2}
    add(services, "shelters", name="村委会广场", capacity=100, village="石桥村")
    assert check(services, rule, level="township").passed  # 100 ≥ 10% of 1000
    own = {"text": "乡镇自有场所", "kind": "count", "register": "shelters", "points": 1}
    assert not check(services, own, level="township").passed


def test_drill_without_village_counts_where_its_plan_is(services: Services, village: str) -> None:
    add(services, "plans", name="石桥村防汛预案", village="石桥村")
    add(services, "drills", name="防汛演练", plan="石桥村防汛预案", held_on="2026-05-01")
    rule = {"text": "演练", "kind": "recent", "register": "drills", "date_field": "held_on", "months": 12, "points": 1}
    assert check(services, rule, village).passed
    assert not check(services, rule, level="township").passed


# -- items, units, scoring ----------------------------------------------------------------------------
def test_item_passes_when_required_criteria_pass_and_unit_needs_pass_score(services: Services,
                                                                           village: str) -> None:
    data = {"kind": "readiness_standard_village", "level": "village", "version": "1", "name": "测试",
            "pass_score": 90, "items": [
                {"key": "a", "name": "有叫应叫醒机制", "group": "五有", "criteria": [
                    {"text": "负责人电话", "kind": "yes_no", "field": "head_phone", "points": 80},
                    {"text": "B角", "kind": "count", "register": "call_trees", "where": {"role": "B角"},
                     "points": 20, "required": False, "label": "叫应名单B角"}]}]}
    with services.db.session() as session:
        snap = load_snapshot(session, services.scope.township_id)
    unit = evaluate_unit(snap, parse_standard(data, "t"), village, DAY)
    item = unit.items[0]
    assert (item.passed, item.score, item.max_score, item.gaps) == (True, 80, 100, ["叫应名单B角：应不少于 1 个，当前 0 个"])
    assert (unit.score, unit.passed) == (80, False)  # every item passed, but 80 < 90 points
    data["pass_score"] = 80
    assert evaluate_unit(snap, parse_standard(data, "t"), village, DAY).passed


def test_summary_lists_township_and_villages_in_code_order(services: Services) -> None:
    add(services, "villages", name="白沙村", code="360726100202")
    add(services, "villages", name="石桥村", code="360726100201")
    add(services, "villages", name="新村")
    summary = readiness(services).summary()
    assert summary.evaluated_on == DAY
    assert summary.township.name == "青山镇" and summary.township.level == "township"
    assert summary.township.standard == "乡镇七有标准 2026.1"
    assert [v.name for v in summary.villages] == ["石桥村", "白沙村", "新村"]
    assert [i.name for i in summary.villages[0].items][:5] == ["有综合应急队伍", "有应急避难场所", "有应急保障物资",
                                                              "有叫应叫醒机制", "有应急处置方案"]
    assert not summary.township.passed and summary.township.score < 80


def test_summary_json_shape(services: Services, village: str) -> None:
    team_of(services, 7)
    document = readiness(services).summary_json()
    assert set(document["township"]) >= {"name", "standard", "score", "passed", "items"}
    assert set(document["township"]["items"][0]) >= {"name", "passed", "gaps"}
    assert [set(v) >= {"name", "score", "passed", "items"} for v in document["villages"]] == [True]
    team_item = document["villages"][0]["items"][0]
    assert team_item["name"] == "有综合应急队伍" and "综合应急队伍 10 人以上：当前 7 人" in team_item["gaps"]
    assert document["evaluated_on"] == "2026-06-30" and document["villages_total"] == 1


def test_unit_detail(services: Services, village: str) -> None:
    service = readiness(services)
    assert service.unit(None).name == "青山镇"
    assert service.unit(services.scope.township_id).level == "township"
    detail = service.unit(village)
    assert detail.name == "石桥村" and detail.unit_id == village and detail.village_id == village
    with pytest.raises(NotFound):
        service.unit("no-such-village")


# -- assessments --------------------------------------------------------------------------------------
def test_record_and_list_assessments(services: Services, village: str) -> None:
    service = readiness(services)
    first = service.record_assessment(village, "self", "2026-01-15", "张主任", "年初自评")
    team_of(services, 12)
    second = service.record_assessment(village, "county", date(2026, 6, 20), "县应急管理局检查组")
    township = service.record_assessment(None, "self", "2026-06-01", "李镇长")
    rows = service.assessments(village)
    assert [r.id for r in rows] == [second, first]
    assert rows[0].kind_label == "县级考核" and rows[1].notes == "年初自评" and rows[1].year == 2026
    assert rows[0].standard == "村（社区）五有标准 2026.1"
    assert rows[0].score > rows[1].score  # the team registered in between counts from then on
    assert rows[1].items[0]["gaps"][0] == "综合应急队伍 10 人以上：当前 0 人"
    assert rows[1].items[0]["name"] == "有综合应急队伍" and rows[1].items[0]["passed"] is False
    assert [r.id for r in service.assessments(services.scope.township_id)] == [township]
    assert [r.id for r in service.assessments()] == [second, township, first]


def test_assessment_keeps_the_standard_version_it_was_made_against(services: Services, village: str,
                                                                   tmp_path: Path) -> None:
    import json

    from app.paths import resource

    service = readiness(services)
    before = service.record_assessment(village, "self", "2026-03-01", "张主任")
    data = json.loads(resource("standards", "village_wuyou.json").read_text(encoding="utf-8"))
    data["version"] = "2027.1"
    path = tmp_path / "新标准.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    service.import_standard(path)
    after = service.record_assessment(village, "self", "2026-06-01", "张主任")
    standards = {r.id: r.standard for r in service.assessments(village)}
    assert standards == {before: "村（社区）五有标准 2026.1", after: "村（社区）五有标准 2027.1"}


def test_assessment_validation_names_fields_and_saves_nothing(services: Services, village: str) -> None:
    service = readiness(services)
    with pytest.raises(ValidationError) as info:
        service.record_assessment(village, "monthly", "2026-07-01", " ")
    assert info.value.errors == {"kind": "应为 self（自评）或 county（县级考核），而不是「monthly」",
                                 "assessed_on": "不能晚于今天", "assessor": "必填，不能为空"}
    assert "评估人：必填，不能为空" in str(info.value)
    with pytest.raises(ValidationError, match=re.escape("评估日期：「2026.2.30」不是有效日期")):
        service.record_assessment(village, "self", "2026.2.30", "张主任")
    with pytest.raises(PermissionDenied):
        readiness(services, READER).record_assessment(village, "self", "2026-06-01", "张主任")
    assert service.assessments() == []


# -- alerts -------------------------------------------------------------------------------------------
def test_alerts_for_the_dashboard(services: Services, village: str) -> None:
    add(services, "supplies", name="方便面", quantity=10, village="石桥村", expires_on="2026-07-20")
    add(services, "supplies", name="矿泉水", quantity=10, expires_on="2026-06-01")
    add(services, "supplies", name="救生衣", quantity=10, expires_on="2026-08-15")  # 46 days away: not yet
    add(services, "plans", name="防汛预案", approved_on="2023-05-01", next_revision_on="2026-05-01")
    add(services, "plans", name="地震预案", approved_on="2023-07-01", next_revision_on="2026-07-10")
    add(services, "plans", name="森林防火预案", approved_on="2025-07-01", next_revision_on="2028-07-10")
    team = team_of(services, 7)
    alerts = readiness(services).alerts()
    assert [a.text for a in alerts.expiring_supplies] == ["石桥村：方便面将于2026-07-20过期（还有20天）"]
    assert [a.text for a in alerts.expired_supplies] == ["青山镇：矿泉水已于2026-06-01过期"]
    assert [a.text for a in alerts.plans_due] == ["青山镇：防汛预案已超过修订期（2026-05-01）",
                                                  "青山镇：地震预案应于2026-07-10前修订"]
    below = {a.unit_id: a for a in alerts.teams_below_strength}
    assert below[village].text == "石桥村：综合应急队伍 10 人以上：当前 7 人" and below[village].record_id == team
    assert below[services.scope.township_id].text == "青山镇：综合应急救援队伍 30 人以上：当前 0 人"
    assert {a.unit_id for a in alerts.villages_not_passed} == {village, services.scope.township_id}
    assert alerts.expired_supplies[0].kind == "supplies" and alerts.plans_due[0].kind == "plans"
    assert alerts.total == 1 + 1 + 2 + 2 + 2
