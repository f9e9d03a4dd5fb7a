"""责任书 template versions: listing them, choosing the year's, generating from the choice, importing a
county-issued template file (untrusted input: every problem named, nothing stored)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from app.errors import PermissionDenied, ValidationError
from app.models import AuditEntry, ConfigDocument
from app.models.config_data import load_document_file
from app.paths import resource
from app.services import Services
from app.services.letters import LetterService
from app.storage import open_database
from tests.conftest import READER

YEAR = 2026
TODAY = date(2026, 11, 24)


def default_document() -> dict:
    return load_document_file(resource("templates", "letter_templates.json"), "letter_templates")


def county_document(version: str = "2027.1") -> dict:
    """The default with the county's own wording and a stricter loss target, as a county would issue it."""
    doc = default_document()
    doc.update(version=version, issuer="安远县应急管理局", title="安远县安全生产目标责任书模板（修订）")
    for template in doc["templates"].values():
        template["title"] = "{year}年度安远县安全生产目标责任书"
        loss = next(t for t in template["targets"] if t["metric"] == "direct_loss_yuan")
        loss.update(threshold="1000000", text="全年事故直接经济损失控制在100万元以内。")
    return doc


def write_json(folder: Path, name: str, data: object) -> Path:
    path = folder / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def town(services: Services) -> Services:
    services.register("villages").save({"name": "石桥村", "head_name": "李大山"})
    services.register("enterprises").save({"name": "安远县鑫源石材有限公司", "legal_rep": "王强"})
    services.register("units").save({"name": "青山镇卫生院", "head_name": "陈医生"})
    return services


def _letters(services: Services) -> LetterService:
    return LetterService(services.db, services.actor, services.scope, today=lambda: TODAY)


def _stored_template_docs(services: Services) -> list[ConfigDocument]:
    with services.db.session() as session:
        return list(session.scalars(select(ConfigDocument).where(ConfigDocument.kind == "letter_templates")))


def test_the_bundled_default_is_listed_readably(town: Services) -> None:
    sets = _letters(town).template_sets()
    assert [(s.version, s.source, s.document_id) for s in sets] == [("2026.1", "默认模板", None)]
    default = sets[0]
    assert not default.problem and default.label == "2026.1（默认模板）"
    assert set(default.templates) == {"village", "enterprise", "unit"}
    assert _letters(town).year_template(YEAR).version == "2026.1"
    assert not _letters(town).year_template(YEAR).chosen


def test_import_stores_a_county_document_and_lists_it_first(town: Services, tmp_path: Path) -> None:
    letters = _letters(town)
    version = letters.import_templates(write_json(tmp_path, "安远县模板.json", county_document()))
    assert version == "2027.1"
    [row] = _stored_template_docs(town)
    assert (row.partition, row.doc_version, row.issuer) == ("county", "2027.1", "安远县应急管理局")
    assert row.title == "安远县安全生产目标责任书模板（修订）" and "kind" not in row.content
    sets = letters.template_sets()
    assert [(s.version, s.source) for s in sets] == [("2027.1", "县级下发"), ("2026.1", "默认模板")]
    assert sets[0].templates["village"]["title"] == "{year}年度安远县安全生产目标责任书"
    with town.db.session() as session:
        audit = session.scalars(select(AuditEntry).where(AuditEntry.entity_id == row.id)).all()
    assert [a.action for a in audit] == ["create"]


def test_the_chosen_version_is_used_for_that_year_and_survives_a_restart(town: Services, tmp_path: Path,
                                                                         data_dir: Path) -> None:
    letters = _letters(town)
    letters.import_templates(write_json(tmp_path, "t.json", county_document()))
    # Without a choice the newest version is used (the county's) …
    assert letters.year_template(YEAR).version == "2027.1"
    # … the officer keeps 2026 on the bundled default.
    letters.choose_template(YEAR, "2026.1")
    town.db.dispose()
    reopened = open_database(data_dir)
    try:
        again = LetterService(reopened, town.actor, town.scope, today=lambda: TODAY)
        assert again.year_template(YEAR).version == "2026.1" and again.year_template(YEAR).chosen
        again.generate_year(YEAR)
        rows = again.list(YEAR)
        assert {again.get(r.id).template_version for r in rows} == {"2026.1"}
        assert again.content(rows[0].id).title == "2026年度安全生产目标责任书"
        # Choosing the county version for 2027 changes 2027 only; its letters carry the county wording.
        again.choose_template(2027, "2027.1")
        again.choose_template(2027, "2027.1")  # choosing the same again changes nothing
        again.generate_year(2027)
        made = again.list(2027)
        assert {again.get(r.id).template_version for r in made} == {"2027.1"}
        content = again.content(made[0].id)
        assert content.title == "2027年度安远县安全生产目标责任书"
        assert next(t for t in content.targets if t.metric == "direct_loss_yuan").threshold == 1_000_000
        assert again.year_template(YEAR).version == "2026.1"
        with reopened.session() as session:
            choices = session.scalars(select(ConfigDocument).where(
                ConfigDocument.kind == "letter_template_year")).all()
            assert sorted((c.doc_version, c.content["version"], c.partition) for c in choices) == [
                ("2026", "2026.1", town.scope.partition), ("2027", "2027.1", town.scope.partition)]
    finally:
        reopened.dispose()


def test_choosing_an_unknown_or_broken_version_is_refused(town: Services) -> None:
    letters = _letters(town)
    with pytest.raises(ValidationError, match=r"模板版本：没有 2030\.1 版的责任书模板"):
        letters.choose_template(YEAR, "2030.1")
    with pytest.raises(ValidationError, match="年度：「1899」不是有效的年度"):
        letters.choose_template(1899, "2026.1")
    broken = default_document()
    broken["templates"]["unit"]["title"] = "{year}年度{mayor}"
    with town.db.session() as session:  # a broken document that arrived by sync
        session.add(ConfigDocument(partition="county", kind="letter_templates", doc_version="2028.1",
                                   content={"templates": broken["templates"]}))
    bad = letters.template_sets()[0]
    assert bad.version == "2028.1" and "{mayor}" in bad.problem and not bad.templates
    with pytest.raises(ValidationError, match=r"2028.1 版模板有误，不能选用.*\{mayor\}"):
        letters.choose_template(YEAR, "2028.1")
    assert not letters.year_template(YEAR).chosen


def test_a_chosen_version_that_disappeared_stops_generation_with_a_message(town: Services, tmp_path: Path) -> None:
    letters = _letters(town)
    letters.import_templates(write_json(tmp_path, "t.json", county_document()))
    letters.choose_template(YEAR, "2027.1")
    with town.db.session() as session:  # the county withdrew it
        session.scalars(select(ConfigDocument).where(ConfigDocument.doc_version == "2027.1")).one().deleted = True
    with pytest.raises(ValidationError, match=r"2026年度选用的 2027\.1 版模板已不存在，请在「模板管理」中重新选择"):
        letters.generate_year(YEAR)
    assert letters.list(YEAR) == []


def _mutated(change) -> dict:
    doc = county_document()
    change(doc)
    return doc


@pytest.mark.parametrize(("content", "message"), [
    ('{"kind": "letter_templates", "version": "2027.1", "templates": {', "不是有效的 JSON 文件（第1行第"),
    (_mutated(lambda d: d.update(kind="sector_codes")),
     "kind 应为 letter_templates（现为「sector_codes」），这不是责任书模板文件"),
    (_mutated(lambda d: d.pop("version")), "缺少 version（版本号，如 2027.1）"),
    (_mutated(lambda d: d.update(version="2026.1")), "已有 2026.1 版责任书模板；县里修订后的模板应使用新的版本号"),
    (_mutated(lambda d: d.update(version="../2027")), "version「../2027」无效"),
    (_mutated(lambda d: d["templates"]["village"].update(preamble="{township}与{village_head}签订")),
     "模板「village」的 preamble 中有未知占位符 {village_head}"),
    (_mutated(lambda d: d["templates"].pop("unit")), "缺少「站所」（unit）的模板"),
    (_mutated(lambda d: d["templates"]["enterprise"]["sections"].pop(1)),
     "模板「enterprise」缺少「考核与奖惩」一节"),
    (_mutated(lambda d: d["templates"]["village"].pop("sections")), "模板「village」缺少 sections"),
    (_mutated(lambda d: d["templates"]["unit"]["targets"][0].update(threshold="零")), "threshold「零」不是数字"),
    ([1, 2, 3], "文件内容应为一个 JSON 对象"),
])
def test_a_bad_template_file_is_refused_exactly_and_nothing_stored(town: Services, tmp_path: Path, content,
                                                                    message: str) -> None:
    path = tmp_path / "县模板.json"
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        write_json(tmp_path, path.name, content)
    with pytest.raises(ValidationError) as err:
        _letters(town).import_templates(path)
    assert str(err.value).startswith("无法导入「县模板.json」：")
    assert message in str(err.value)
    assert _stored_template_docs(town) == []


def test_a_file_that_is_not_text_or_too_big_or_missing(town: Services, tmp_path: Path) -> None:
    letters = _letters(town)
    binary = tmp_path / "scan.json"
    binary.write_bytes(b"\xff\xd8\xff\xe0JFIF\x00\x01")
    with pytest.raises(ValidationError, match="文件不是 UTF-8 编码的文字文件"):
        letters.import_templates(binary)
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (2 * 1024 * 1024 + 1))
    with pytest.raises(ValidationError, match="文件过大"):
        letters.import_templates(big)
    with pytest.raises(ValidationError, match=r"「nope\.json」：文件不存在"):
        letters.import_templates(tmp_path / "nope.json")
    bom = tmp_path / "bom.json"  # Windows Notepad's UTF-8 with BOM is fine
    bom.write_text(json.dumps(county_document("2027.2"), ensure_ascii=False), encoding="utf-8-sig")
    assert letters.import_templates(bom) == "2027.2"


def test_read_only_account_cannot_import_or_choose(town: Services, tmp_path: Path) -> None:
    reader = LetterService(town.db, READER, town.scope)
    with pytest.raises(PermissionDenied):
        reader.import_templates(write_json(tmp_path, "t.json", county_document()))
    with pytest.raises(PermissionDenied):
        reader.choose_template(YEAR, "2026.1")
    assert _stored_template_docs(town) == [] and [s.version for s in reader.template_sets()] == ["2026.1"]
