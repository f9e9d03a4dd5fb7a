"""七有/五有 standards as data: the bundled defaults, the loader's checks, county-issued versions."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from app.errors import ValidationError
from app.paths import resource
from app.services import Services
from app.services.readiness_standards import (
    CRITERION_KINDS,
    StandardError,
    default_standard,
    parse_standard,
)


def _default(level: str) -> dict[str, Any]:
    name = {"township": "township_qiyou.json", "village": "village_wuyou.json"}[level]
    return json.loads(resource("standards", name).read_text(encoding="utf-8"))


def test_bundled_standards_follow_domain_defaults() -> None:
    township, village = default_standard("township"), default_standard("village")
    assert [i.name for i in township.items] == ["有应急管理机构", "有应急工作机制", "有应急管理制度", "有应急救援队伍",
                                                "有应急预案体系", "有应急物资保障", "有应急指挥平台"]
    assert [i.name for i in village.items if i.group == "五有"] == [
        "有综合应急队伍", "有应急避难场所", "有应急保障物资", "有叫应叫醒机制", "有应急处置方案"]
    assert [i.name for i in village.items if i.group == "四有"] == ["有组织体系", "有展示窗口", "有便民册子", "有广播设施"]
    assert township.max_score == village.max_score == 100
    team = next(c for c in township.items[3].criteria if c.measure == "members")
    assert team.minimum == 30
    assert next(c for c in village.items[0].criteria if c.measure == "members").minimum == 10
    drills = next(c for c in village.items[0].criteria if c.kind == "recent")
    assert (drills.register, drills.months, drills.minimum) == ("drills", 12, 1)
    used = {c.kind for s in (township, village) for i in s.items for c in i.criteria}
    assert used == set(CRITERION_KINDS)  # every criterion kind is exercised by the defaults


def _broken(level: str, change: Any) -> dict[str, Any]:
    data = copy.deepcopy(_default(level))
    change(data)
    return data


def _criterion(data: dict[str, Any], item: int, criterion: int) -> dict[str, Any]:
    return data["items"][item]["criteria"][criterion]


MALFORMED = [
    (lambda d: d.update(kind="sector_codes"), "kind 应为 readiness_standard_township"),
    (lambda d: d.update(version=""), "version「」无效"),
    (lambda d: d.update(level="county"), "level 应为 township"),
    (lambda d: d.update(items=[]), "items（达标项目）应为非空列表"),
    (lambda d: d.update(pass_score=120), "pass_score（达标分数线（百分制））应为0到100之间的数"),
    (lambda d: d["items"][1].update(key="organisation"), "第2项：项目代码 key「organisation」重复"),
    (lambda d: d["items"][2].pop("name"), "第3项：缺少 name（项目名称）"),
    (lambda d: d["items"][0].update(criteria=[]), "第1项：项目「有应急管理机构」：criteria（评分标准）应为非空列表"),
    (lambda d: _criterion(d, 3, 0).update(kind="vote"),
     "第4项：项目「有应急救援队伍」：第1条标准：kind「vote」无效"),
    (lambda d: _criterion(d, 3, 0).update(min=-1), "第1条标准：min（最低数量）应为0到100000之间的数"),
    (lambda d: _criterion(d, 3, 0).update(min=2.5), "min（最低数量）应为整数"),
    (lambda d: _criterion(d, 3, 0).update(points="八"), "第1条标准：points（分值）应为0到100之间的数"),
    (lambda d: _criterion(d, 4, 0).update(register="hazards"), "register「hazards」不是七有/五有台账"),
    (lambda d: _criterion(d, 4, 0).update(where={"colour": "红"}), "where 中的「colour」不是台账 plans 的字段"),
    (lambda d: _criterion(d, 4, 0).update(where={"plan_type": "年度计划"}), "where 中「plan_type」的取值「年度计划」无效"),
    (lambda d: _criterion(d, 4, 0).update(where={"approved_on": "2026"}), "where 不能按字段「approved_on」筛选"),
    (lambda d: _criterion(d, 3, 1).update(date_field="name"), "date_field「name」不是日期字段"),
    (lambda d: _criterion(d, 3, 1).update(months=0), "months（月数）应为1到120之间的数"),
    (lambda d: _criterion(d, 0, 0).update(field="password"), "field「password」无效"),
    (lambda d: _criterion(d, 0, 2).update(roles=["局长"]), "roles 中的「局长」不是联系人的应急角色"),
    (lambda d: _criterion(d, 0, 2).update(measure="votes"), "measure「votes」无效"),
    (lambda d: _criterion(d, 5, 1).update(items=[{"name": "救生衣", "min": 0}]), "items 第1项「救生衣」的 min 应为正整数"),
    (lambda d: _criterion(d, 5, 3).update(ratio=0), "ratio（容量占人口的比例）应为0.001到10之间的数"),
    (lambda d: _criterion(d, 5, 2).update(gap="{label}：{colour}"), "gap「{label}：{colour}」中只能使用"),
    (lambda d: _criterion(d, 5, 2).update(required="yes"), "required 应为 true 或 false"),
]


@pytest.mark.parametrize(("change", "problem"), MALFORMED)
def test_malformed_standard_names_file_item_and_field(change: Any, problem: str) -> None:
    with pytest.raises(StandardError) as info:
        parse_standard(_broken("township", change), "七有.json")
    assert str(info.value).startswith("七有.json：")
    assert problem in str(info.value)


def test_not_an_object_and_wrong_level() -> None:
    with pytest.raises(StandardError, match=re.escape("七有.json：内容应为一个 JSON 对象")):
        parse_standard([1, 2], "七有.json")
    with pytest.raises(StandardError, match="level 应为 village"):
        parse_standard(_default("township"), "x.json", "village")


def _write(tmp_path: Path, data: Any, name: str = "标准.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_county_issued_version_replaces_the_default(services: Services, tmp_path: Path) -> None:
    data = _default("village")
    data.update(version="2027.1", issuer="安远县应急管理局", name="安远县村（社区）五有标准")
    _criterion(data, 0, 0)["min"] = 15
    readiness = services.readiness
    assert readiness.import_standard(_write(tmp_path, data)) == "2027.1"
    infos = {(i.level, i.version): i for i in readiness.standards()}
    assert infos[("village", "2027.1")].source == "县级下发" and infos[("village", "2027.1")].active
    assert not infos[("village", "2026.1")].active and infos[("township", "2026.1")].active
    services.register("villages").save({"name": "石桥村", "population": "900"})
    assert readiness.summary().villages[0].standard == "安远县村（社区）五有标准 2027.1"
    assert "综合应急队伍 15 人以上：当前 0 人" in readiness.summary().villages[0].gaps
    with pytest.raises(ValidationError, match=re.escape("已有 2027.1 版")):
        readiness.import_standard(_write(tmp_path, data))


@pytest.mark.parametrize(("content", "problem"), [
    (b"\xff\xfe{", "文件不是 UTF-8 编码的文字文件"),
    (b'{"kind": ', "不是有效的 JSON 文件（第1行第10列附近格式错误）"),
    (json.dumps({"kind": "readiness_standard_village", "level": "village", "version": "2027.1", "name": "x",
                 "items": [{"key": "a", "name": "有队伍", "group": "五有", "criteria": [{"text": "t", "kind": "count",
                 "register": "teams", "min": 1, "points": 5, "where": {"kind": "水军"}}]}]}).encode(),
     "坏标准.json：第1项：项目「有队伍」：第1条标准：where 中「kind」的取值「水军」无效"),
])
def test_malformed_file_is_refused_and_nothing_stored(services: Services, tmp_path: Path, content: bytes,
                                                      problem: str) -> None:
    path = tmp_path / "坏标准.json"
    path.write_bytes(content)
    with pytest.raises(ValidationError) as info:
        services.readiness.import_standard(path)
    assert problem in str(info.value)
    assert len(services.readiness.standards()) == 2  # still only the two bundled standards
