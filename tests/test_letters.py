"""安全生产目标责任书: templates, generation and numbering, lifecycle, immutability, coverage, 考核."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select, text

from app.errors import ValidationError
from app.models import Letter, LetterEvent
from app.models.config_data import load_document_file
from app.models.letters import SIGNED_STATES, TemplateError, content_hash, parse_templates
from app.paths import resource
from app.services import Services
from app.services.letters import AccidentService, LetterService, letter_number

YEAR = 2026
TODAY = date(2026, 11, 24)


def _default_templates() -> dict:
    return load_document_file(resource("templates", "letter_templates.json"), "letter_templates")


@pytest.fixture
def town(services: Services) -> Services:
    v = services.register("villages")
    v.save({"name": "石桥村", "head_name": "李大山"})
    v.save({"name": "河东社区", "kind": "社区", "head_name": ""})  # no responsible person
    e = services.register("enterprises")
    e.save({"name": "安远县鑫源石材有限公司", "legal_rep": "王强", "village": "石桥村"})
    e.save({"name": "青山镇便民超市", "safety_officer": "赵敏"})
    e.save({"name": "无名加工厂"})  # neither 法定代表人 nor 安全负责人
    u = services.register("units")
    u.save({"name": "青山镇卫生院", "kind": "卫生院", "head_name": "陈医生"})
    return services


def _letters(services: Services) -> LetterService:
    return LetterService(services.db, services.actor, services.scope, today=lambda: TODAY)


def _accidents(services: Services) -> AccidentService:
    return AccidentService(services.db, services.actor, services.scope, today=lambda: TODAY)


def _by_name(letters: LetterService, name: str) -> str:
    return next(r.id for r in letters.list(YEAR, include_superseded=False) if r.counterparty_name == name)


# -- templates -----------------------------------------------------------------------------------


def test_bundled_templates_load_with_a_template_per_counterparty_type(town: Services) -> None:
    version, templates = _letters(town).templates()
    assert version == "2026.1"
    assert set(templates) == {"village", "enterprise", "unit"}
    village = templates["village"]["sections"][0]["clauses"]
    enterprise = templates["enterprise"]["sections"][0]["clauses"]
    assert any("叫应叫醒" in c for c in village) and any("五有" in c for c in village)
    assert any("双重预防" in c for c in enterprise) and any("持证上岗" in c for c in enterprise)
    assert any("管行业必须管安全" in c for c in templates["unit"]["sections"][0]["clauses"])
    for t in templates.values():
        assert "中华人民共和国安全生产法" in t["preamble"]
        assert t["closing"] == "本责任书一式两份，甲乙双方各执一份，自双方签字盖章之日起生效。"
        assert any(x["veto"] and x["metric"] == "deaths" for x in t["targets"])


def test_unknown_placeholder_is_named_with_template_and_field() -> None:
    doc = _default_templates()
    doc["templates"]["enterprise"]["preamble"] += "{mayor}"
    with pytest.raises(TemplateError) as err:
        parse_templates(doc)
    assert "模板「enterprise」" in str(err.value) and "preamble" in str(err.value) and "{mayor}" in str(err.value)

    doc = _default_templates()
    doc["templates"]["village"]["sections"][1]["clauses"][2] = "发生{accident_count}起"
    with pytest.raises(TemplateError, match=r"模板「village」的第2节第3条.*\{accident_count\}"):
        parse_templates(doc)


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda t: t["village"].pop("title"), "模板「village」缺少 title"),
    (lambda t: t["unit"]["targets"][0].update(metric="injuries"), "模板「unit」的第1项控制指标的 metric「injuries」未知"),
    (lambda t: t["unit"]["targets"][1].update(comparator="<>"), "模板「unit」的第2项控制指标的 comparator「<>」未知"),
    (lambda t: t["unit"]["targets"][0].update(threshold="零"), "threshold「零」不是数字"),
    (lambda t: t["enterprise"].update(sections=[]), "模板「enterprise」缺少 sections"),
    (lambda t: t["enterprise"]["sections"][0].update(clauses="一条"), "模板「enterprise」的第1节「二、责任内容」的 clauses"),
    (lambda t: t["village"].update(period="{period_start至"), "模板「village」的 period 的花括号不成对"),
    (lambda t: t.update(school=t["unit"]), "模板「school」：未知的签订对象类型"),
])
def test_malformed_template_is_reported_exactly(mutate, message: str) -> None:
    doc = _default_templates()
    mutate(doc["templates"])
    with pytest.raises(TemplateError, match=message.replace("(", r"\(").replace("{", r"\{")):
        parse_templates(doc)


def test_a_county_template_with_a_bad_placeholder_is_a_clear_service_error(town: Services) -> None:
    from app.models import ConfigDocument

    doc = _default_templates()
    doc["templates"]["village"]["title"] = "{year}年度{town}安全生产目标责任书"
    with town.db.session() as session:
        session.add(ConfigDocument(partition="county", kind="letter_templates", doc_version="2027.1",
                                   content={"templates": doc["templates"]}))
    with pytest.raises(ValidationError, match=r"责任书模板.*\{town\}"):
        _letters(town).generate_year(YEAR)
    assert _letters(town).list() == []


# -- generation and numbering --------------------------------------------------------------------


def test_generate_year_numbers_letters_and_reports_missing_people(town: Services) -> None:
    letters = _letters(town)
    seen: list[tuple[int, int]] = []
    result = letters.generate_year(YEAR, progress=lambda done, total, _name: seen.append((done, total)))
    assert result.created == {"village": 1, "enterprise": 2, "unit": 1}
    assert sorted(result.problems) == sorted([
        "村（社区）「河东社区」没有负责人，无法生成",
        "企业「无名加工厂」没有法定代表人/安全负责人，无法生成",
    ])
    assert seen[-1] == (6, 6)
    rows = letters.list(YEAR)
    assert [r.number for r in rows] == [f"青山安责〔2026〕{n}号" for n in range(1, 5)]
    assert {r.status for r in rows} == {"草稿"}

    content = letters.content(_by_name(letters, "青山镇便民超市"))
    assert content.title == "2026年度安全生产目标责任书" and content.year == YEAR
    assert content.party_b.person == "赵敏" and content.party_b.organisation == "青山镇便民超市"
    assert content.party_a.organisation == "青山镇人民政府"
    assert content.period == "2026年1月1日至2026年12月31日"
    assert "安远县青山镇人民政府（甲方）与青山镇便民超市（乙方）" in content.preamble
    assert content.sections[0].heading == "一、控制指标"
    assert content.sections[0].clauses == tuple(t.text for t in content.targets)
    assert content.targets[0].threshold == Decimal("0") and content.counterparty_kind == "enterprise"

    again = letters.generate_year(YEAR)  # everyone with a letter is skipped; numbering continues
    assert again.created == {} and again.existing == {"village": 1, "enterprise": 2, "unit": 1}
    town.register("villages").save({"name": "新村", "head_name": "周新"})
    assert letters.generate_year(YEAR, kinds=("village",)).created == {"village": 1}
    assert letters.list(YEAR)[-1].number == "青山安责〔2026〕5号"
    assert letters.list(2027) == []
    assert letter_number("龙泉乡", 2027, 1) == "龙泉安责〔2027〕1号"


def test_cancelled_generation_writes_nothing(town: Services) -> None:
    letters = _letters(town)
    calls = iter(range(100))
    result = letters.generate_year(YEAR, cancelled=lambda: next(calls) >= 3)
    assert result.cancelled and result.total_created == 0
    assert letters.list(YEAR) == []


# -- lifecycle, signing, immutability ------------------------------------------------------------


def test_edit_until_signed_then_frozen_at_service_level(town: Services) -> None:
    letters = _letters(town)
    letters.generate_year(YEAR)
    letter_id = _by_name(letters, "石桥村")
    letters.mark_printed(letter_id)
    letters.edit(letter_id, {"party_b_person": "李小山", "closing": "本责任书一式两份。"})
    detail = letters.get(letter_id)
    assert detail.row.status == "草稿"  # the printed paper is stale
    assert detail.content.party_b.person == "李小山"
    letters.mark_printed(letter_id)
    letters.sign(letter_id, "2026-02-10", "张镇长", "李小山")
    signed = letters.get(letter_id)
    assert signed.row.status == "已签订" and signed.row.signed_on == date(2026, 2, 10)
    with town.db.session() as session:
        stored = session.get(Letter, letter_id)
        assert stored.content_sha256 == content_hash(stored.content)
        before = copy.deepcopy(stored.content)
    with pytest.raises(ValidationError, match="已于2026-02-10签订，不能修改"):
        letters.edit(letter_id, {"closing": "改了"})
    with pytest.raises(ValidationError, match="不能重复签订"):
        letters.sign(letter_id, "2026-02-11", "张镇长", "李小山")
    with pytest.raises(ValidationError):
        letters.mark_printed(letter_id)
    with town.db.session() as session:
        assert session.get(Letter, letter_id).content == before
    actions = [e.action for e in letters.get(letter_id).events]
    assert actions == ["生成", "打印", "修改", "打印", "签订"]


def test_sign_validates_its_fields(town: Services) -> None:
    letters = _letters(town)
    letters.generate_year(YEAR)
    letter_id = _by_name(letters, "石桥村")
    with pytest.raises(ValidationError) as err:
        letters.sign(letter_id, "2026-12-30", "", "李大山")
    assert err.value.errors == {"signed_on": "不能晚于今天", "signed_by_a": "必填，不能为空"}
    assert letters.get(letter_id).row.status == "草稿"


def test_signed_letter_is_immutable_in_the_model_layer(town: Services) -> None:
    letters = _letters(town)
    letters.generate_year(YEAR)
    letter_id = _by_name(letters, "石桥村")
    letters.sign(letter_id, "2026-02-10", "张镇长", "李大山")

    def raw(change) -> None:
        with town.db.session() as session:
            change(session.get(Letter, letter_id))

    def new_content(letter: Letter) -> None:
        letter.content = {**letter.content, "closing": "偷偷改了"}

    for change in (new_content, lambda x: setattr(x, "number", "青山安责〔2026〕99号"),
                   lambda x: setattr(x, "counterparty_name", "别的村"),
                   lambda x: setattr(x, "signed_by_b", "别人"),
                   lambda x: setattr(x, "status", "草稿")):
        with pytest.raises(ValidationError, match="已签订的责任书"):
            raw(change)
    raw(lambda x: setattr(x, "status", "已归档"))  # forward moves are allowed
    with town.db.session() as session:
        letter = session.get(Letter, letter_id)
        assert letter.status == "已归档" and letter.counterparty_name == "石桥村"
        assert letter.content_sha256 == content_hash(letter.content)


def test_signing_with_a_wrong_hash_is_refused_by_the_model(town: Services) -> None:
    letters = _letters(town)
    letters.generate_year(YEAR)
    letter_id = _by_name(letters, "石桥村")
    with pytest.raises(ValidationError, match="内容摘要"), town.db.session() as session:
        letter = session.get(Letter, letter_id)
        letter.status, letter.content_sha256 = "已签订", "0" * 64


def test_letter_events_are_append_only(town: Services) -> None:
    letters = _letters(town)
    letters.generate_year(YEAR)
    with pytest.raises(RuntimeError), town.db.session() as session:
        session.scalars(select(LetterEvent)).first().note = "改"
    with pytest.raises(Exception, match="append-only"), town.db.session() as session:
        session.execute(text("DELETE FROM letter_event"))


def test_supersede_makes_a_new_draft_and_keeps_the_signed_one(town: Services) -> None:
    letters = _letters(town)
    letters.generate_year(YEAR)
    old_id = _by_name(letters, "青山镇卫生院")
    with pytest.raises(ValidationError, match="尚未签订"):
        letters.supersede(old_id)
    letters.sign(old_id, "2026-03-01", "张镇长", "陈医生")
    new_id = letters.supersede(old_id, "负责人更换")
    old, new = letters.get(old_id), letters.get(new_id)
    assert old.row.status == "已签订" and old.superseded_by_id == new_id and old.row.superseded
    assert new.row.status == "草稿" and new.row.supersedes_id == old_id
    assert new.row.number == "青山安责〔2026〕5号" and new.content.number == new.row.number
    assert new.row.counterparty_id == old.row.counterparty_id
    letters.edit(new_id, {"party_b_person": "新院长"})
    with pytest.raises(ValidationError, match="已被替代"):
        letters.supersede(old_id)
    assert letters.generate_year(YEAR).created == {}  # the replacement is the live letter
    live = [r for r in letters.list(YEAR, include_superseded=False) if r.counterparty_name == "青山镇卫生院"]
    assert [r.id for r in live] == [new_id]


def test_scan_must_be_pdf_or_image(town: Services, tmp_path: Path) -> None:
    letters = _letters(town)
    letters.generate_year(YEAR)
    letter_id = _by_name(letters, "石桥村")
    scan = tmp_path / "签订扫描.pdf"
    scan.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    with pytest.raises(ValidationError, match="尚未签订"):
        letters.attach_scan(letter_id, scan)
    letters.sign(letter_id, "2026-02-10", "张镇长", "李大山")
    bad = tmp_path / "签订扫描.docx"
    bad.write_bytes(b"PK\x03\x04 not a scan")
    with pytest.raises(ValidationError, match=r"「签订扫描\.docx」不是有效的图片或 PDF 文件"):
        letters.attach_scan(letter_id, bad)
    assert letters.get(letter_id).row.status == "已签订"
    letters.attach_scan(letter_id, scan)
    photo = tmp_path / "scan.png"
    Image.new("RGB", (20, 20), "white").save(photo)
    letters.attach_scan(letter_id, photo)
    detail = letters.get(letter_id)
    assert detail.row.status == "已扫描"
    assert [(s.file_name, s.media_type) for s in detail.scans] == [
        ("签订扫描.pdf", "application/pdf"), ("scan.png", "image/png")]
    assert detail.scans[0].path.is_file()
    letters.archive(letter_id)
    assert letters.get(letter_id).row.status == "已归档"
    with pytest.raises(ValidationError, match="已归档"):
        letters.archive(letter_id)


def test_coverage_counts_and_lists_the_unsigned(town: Services) -> None:
    letters = _letters(town)
    letters.generate_year(YEAR)
    letters.mark_printed(_by_name(letters, "青山镇便民超市"))
    letters.sign(_by_name(letters, "安远县鑫源石材有限公司"), "2026-03-01", "张镇长", "王强")
    cov = letters.coverage(YEAR)
    assert (cov["village"].total, cov["village"].signed, cov["village"].draft, cov["village"].not_generated) == (2, 0, 1, 1)
    ent = cov["enterprise"]
    assert (ent.total, ent.signed, ent.printed, ent.draft, ent.not_generated) == (3, 1, 1, 0, 1)
    assert sorted((u["name"], u["status"]) for u in ent.unsigned) == [("无名加工厂", "未生成"), ("青山镇便民超市", "已打印")]
    assert (cov["unit"].total, cov["unit"].draft) == (1, 1)
    assert letters.coverage(2025)["village"].not_generated == 2


# -- 考核 ------------------------------------------------------------------------------------------


def test_assessment_met_not_met_and_veto_with_causing_accidents(town: Services) -> None:
    letters = _letters(town)
    accidents = _accidents(town)
    letters.generate_year(YEAR)
    death = accidents.record({"occurred_at": "2026-06-03 10:20", "unit_name": "安远县鑫源石材有限公司",
                              "village": "石桥村", "account": "装载机倒车碾压", "deaths": 1,
                              "direct_loss": "120万", "reported_at": "2026-06-03 10:55"})
    injury = accidents.record({"occurred_at": "2026-07-01 08:00", "place": "石桥村3组", "village": "石桥村",
                               "serious_injuries": 1, "direct_loss": "2万"})
    fire = accidents.record({"occurred_at": "2026-03-01 15:00", "unit_name": "青山镇卫生院", "category": "火灾",
                             "direct_loss": "5000"})
    accidents.record({"occurred_at": "2025-12-31 23:00", "unit_name": "青山镇便民超市", "deaths": 2})  # last year
    results = {a.counterparty_name: a for a in letters.assess(YEAR)}

    stone = results["安远县鑫源石材有限公司"]
    assert stone.result == "一票否决" and stone.accidents == [death]
    deaths = next(t for t in stone.targets if t.metric == "deaths")
    assert deaths.value == 1 and not deaths.met and deaths.veto_triggered and deaths.accidents == [death]
    loss = next(t for t in stone.targets if t.metric == "direct_loss_yuan")
    assert loss.met and loss.value == Decimal(1_200_000) and loss.accidents == []

    village = results["石桥村"]  # matched by village: both the death and the injury
    assert village.result == "一票否决" and sorted(village.accidents) == sorted([death, injury])
    injuries = next(t for t in village.targets if t.metric == "serious_injuries")
    assert not injuries.met and not injuries.veto_triggered and injuries.accidents == [injury]

    assert results["青山镇便民超市"].result == "达标" and results["青山镇便民超市"].accidents == []
    assert results["青山镇卫生院"].result == "达标" and results["青山镇卫生院"].accidents == [fire]


def test_assessment_not_met_without_veto(town: Services) -> None:
    letters = _letters(town)
    letters.generate_year(YEAR)
    big = _accidents(town).record({"occurred_at": "2026-04-01 09:00", "unit_name": "青山镇便民超市",
                                   "category": "火灾", "direct_loss": "3000000"})
    shop = next(a for a in letters.assess(YEAR) if a.counterparty_name == "青山镇便民超市")
    assert shop.result == "未达标" and not shop.vetoed
    failed = {t.metric: t.accidents for t in shop.targets if not t.met}
    assert failed == {"direct_loss_yuan": [big], "fires": [big]}


# -- editing the 控制指标 --------------------------------------------------------------------------


def _target_dicts(content) -> list[dict]:
    return [{"metric": t.metric, "comparator": t.comparator, "threshold": f"{t.threshold:f}", "text": t.text,
             "veto": t.veto} for t in content.targets]


def test_edited_thresholds_change_the_assessment(town: Services) -> None:
    letters = _letters(town)
    letters.generate_year(YEAR)
    shop_id = _by_name(letters, "青山镇便民超市")
    _accidents(town).record({"occurred_at": "2026-04-01 09:00", "unit_name": "青山镇便民超市",
                             "serious_injuries": 1, "direct_loss": "50万"})
    before = next(a for a in letters.assess(YEAR) if a.letter_id == shop_id)
    assert before.result == "未达标"
    assert {t.metric for t in before.targets if not t.met} == {"serious_injuries"}

    targets = _target_dicts(letters.content(shop_id))
    injuries = next(t for t in targets if t["metric"] == "serious_injuries")
    injuries.update(threshold="2", text="")  # blank wording: written from the target
    loss = next(t for t in targets if t["metric"] == "direct_loss_yuan")
    loss.update(threshold="40万", veto=True, text="")  # money in 元, 万 understood
    targets.append({"metric": "accidents", "comparator": "=", "threshold": "0", "text": "", "veto": False})
    targets = [t for t in targets if t["metric"] != "fires"]  # removed
    letters.edit(shop_id, {"targets": targets})

    content = letters.content(shop_id)
    edited = {t.metric: t for t in content.targets}
    assert "fires" not in edited and edited["accidents"].threshold == 0
    assert edited["serious_injuries"].threshold == 2
    assert edited["serious_injuries"].text == "全年生产安全事故重伤人数不超过2人。"
    assert edited["direct_loss_yuan"].threshold == 400_000 and edited["direct_loss_yuan"].veto
    assert edited["direct_loss_yuan"].text == "全年事故直接经济损失低于40万元。"
    assert content.sections[0].clauses == tuple(t.text for t in content.targets)  # the 控制指标 section follows
    assert letters.get(shop_id).events[-1].note == "修改了控制指标"

    after = next(a for a in letters.assess(YEAR) if a.letter_id == shop_id)
    results = {t.metric: t for t in after.targets}
    assert results["serious_injuries"].met  # 1 ≤ 2 now
    assert not results["direct_loss_yuan"].met and results["direct_loss_yuan"].veto_triggered  # 50万 ≥ 40万
    assert not results["accidents"].met
    assert after.result == "一票否决"


@pytest.mark.parametrize(("change", "message"), [
    ({"threshold": "-1"}, "第1项控制指标：数值应为不小于0的整数"),
    ({"threshold": "1.5"}, "第1项控制指标：数值应为不小于0的整数"),
    ({"threshold": "两"}, "第1项控制指标：数值「两」不是数字"),
    ({"threshold": ""}, "第1项控制指标：数值不能为空"),
    ({"metric": "direct_loss_yuan", "threshold": "-5"}, "第1项控制指标：数值不能为负数"),
    ({"metric": "direct_loss_yuan", "threshold": "三百万"}, "第1项控制指标：数值「三百万」不是金额"),
    ({"comparator": "<>"}, "第1项控制指标：比较方式「<>」未知，应为 不超过、低于、为、不少于 之一"),
    ({"metric": "injuries"}, "第1项控制指标：指标「injuries」未知"),
    ({"text": "字" * 301}, "第1项控制指标：条文不能超过300个字"),
    ({"veto": "false"}, "第1项控制指标：一票否决应为“是”或“否”"),
])
def test_bad_targets_are_refused_naming_the_target(town: Services, change: dict, message: str) -> None:
    letters = _letters(town)
    letters.generate_year(YEAR)
    letter_id = _by_name(letters, "石桥村")
    before = letters.content(letter_id)
    targets = _target_dicts(before)
    targets[0].update(change)
    with pytest.raises(ValidationError) as err:
        letters.edit(letter_id, {"targets": targets})
    assert message in str(err.value)
    with pytest.raises(ValidationError, match="控制指标：至少保留一项控制指标"):
        letters.edit(letter_id, {"targets": []})
    assert letters.content(letter_id) == before


def test_targets_of_a_signed_letter_cannot_be_edited(town: Services) -> None:
    letters = _letters(town)
    letters.generate_year(YEAR)
    letter_id = _by_name(letters, "石桥村")
    letters.sign(letter_id, "2026-02-10", "张镇长", "李大山")
    targets = _target_dicts(letters.content(letter_id))
    targets[0]["threshold"] = "5"
    with pytest.raises(ValidationError, match="已于2026-02-10签订，不能修改；如需更正，请新建替代责任书"):
        letters.edit(letter_id, {"targets": targets})
    assert letters.content(letter_id).targets[0].threshold == 0


# -- command line --------------------------------------------------------------------------------


def _cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run([sys.executable, "-m", "app", "--data-dir", str(data_dir), *args],
                          capture_output=True, text=True, encoding="utf-8", env=env, timeout=120,
                          cwd=Path(__file__).resolve().parents[1])


def test_cli_status_and_assess(town: Services, data_dir: Path) -> None:
    letters = _letters(town)
    letters.generate_year(YEAR)
    letters.sign(_by_name(letters, "石桥村"), "2026-02-01", "张镇长", "李大山")
    town.db.dispose()
    done = _cli(data_dir, "letters", "status", "--year", str(YEAR), "--json")
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert status["year"] == YEAR
    assert status["kinds"]["village"]["signed"] == 1 and status["kinds"]["village"]["total"] == 2
    assert {u["name"] for u in status["unsigned"]} >= {"河东社区", "无名加工厂", "青山镇卫生院"}
    assert "石桥村" not in {u["name"] for u in status["unsigned"]}

    done = _cli(data_dir, "letters", "assess", "--year", str(YEAR), "--json")
    assert done.returncode == 0, done.stderr
    assessed = json.loads(done.stdout)
    assert {a["counterparty"] for a in assessed} == {"石桥村", "安远县鑫源石材有限公司", "青山镇便民超市", "青山镇卫生院"}
    assert all(a["result"] == "达标" for a in assessed)
    assert {t["metric"] for t in assessed[0]["targets"]} >= {"deaths", "major_accidents"}

    done = _cli(data_dir, "letters", "status", "--year", "1800", "--json")
    assert done.returncode == 1 and "年度" in done.stderr


def test_cli_generate_writes_one_pdf_per_letter(town: Services, data_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("app.documents.letter_pdf")
    town.db.dispose()
    out = tmp_path / "letters"
    done = _cli(data_dir, "letters", "generate", "--year", str(YEAR), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "河东社区" in done.stdout  # the problem is reported
    names = sorted(p.name for p in out.glob("*.pdf"))
    assert names == sorted(f"2026-{n}.pdf" for n in ("石桥村", "安远县鑫源石材有限公司", "青山镇便民超市", "青山镇卫生院"))


def test_demo_has_letters_in_every_state(tmp_path: Path) -> None:
    from app.services.demo import generate_demo
    from app.storage import open_database

    folder = tmp_path / "demo"
    folder.mkdir()
    db = open_database(folder)
    try:
        generate_demo(db, seed=7, today=TODAY)
        services = Services(db, town_actor())
        letters = LetterService(db, services.actor, services.scope, today=lambda: TODAY)
        rows = letters.list(TODAY.year)
        by_kind = {k: {r.status for r in rows if r.counterparty_kind == k} for k in ("village", "enterprise", "unit")}
        assert by_kind["enterprise"] == {"草稿", "已打印", "已签订", "已扫描", "已归档"}
        assert all({"草稿", "已签订"} <= states for states in by_kind.values())
        assert any(r.superseded for r in rows)
        with db.session() as session:
            for letter in session.scalars(select(Letter).where(Letter.status.in_(SIGNED_STATES))):
                assert letter.content_sha256 == content_hash(letter.content)
        assessed = letters.assess(TODAY.year)
        vetoed = [a for a in assessed if a.vetoed]
        assert len(vetoed) >= 1 and {a.counterparty_kind for a in vetoed} >= {"enterprise"}
        grades = [a.grade for a in AccidentService(db, services.actor, services.scope).list(TODAY.year)]
        assert 3 <= len(grades) <= 4 and set(grades) == {"一般"}
        cov = letters.coverage(TODAY.year)
        assert cov["enterprise"].unsigned and cov["village"].signed
        first = [(r.number, r.counterparty_name, r.status, r.signed_on) for r in rows]
    finally:
        db.dispose()
    again = tmp_path / "again"
    again.mkdir()
    db = open_database(again)
    try:  # the same seed and today give the same letters
        generate_demo(db, seed=7, today=TODAY)
        scope = Services(db, town_actor()).scope
        rows = LetterService(db, town_actor(), scope).list(TODAY.year)
        assert [(r.number, r.counterparty_name, r.status, r.signed_on) for r in rows] == first
    finally:
        db.dispose()


def town_actor():
    from tests.conftest import ADMIN

    return ADMIN
