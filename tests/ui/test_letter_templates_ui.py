"""责任书模板 clicked through the real widgets: review a version, import a county file (and a malformed
one), choose the year's version, generate from it."""

from __future__ import annotations

from datetime import date

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from app.services import Services
from app.ui.letters.page import LettersPage
from app.ui.letters.templates import TemplatesDialog
from app.ui.main_window import MainWindow
from tests.conftest import READER
from tests.test_letter_templates import county_document, write_json
from tests.ui.conftest import click

YEAR = date.today().year


@pytest.fixture
def town(services: Services) -> Services:
    services.register("villages").save({"name": "石桥村", "head_name": "李大山"})
    services.register("units").save({"name": "青山镇卫生院", "kind": "卫生院", "head_name": "陈医生"})
    return services


def _page(window: MainWindow) -> LettersPage:
    window.show_area("letters")
    page = window.page("letters")
    assert isinstance(page, LettersPage)
    return page


def _open_templates(qtbot, page: LettersPage, drive, act) -> list[TemplatesDialog]:
    opened = drive(TemplatesDialog, act)
    click(qtbot, page.templates_button)
    assert opened, "the templates dialog did not open"
    return opened


def _pick(dialog: TemplatesDialog, version: str) -> None:
    versions = [dialog.set_list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(dialog.set_list.count())]
    dialog.set_list.setCurrentRow(versions.index(version))


def test_review_the_default_template_per_counterparty_type(qtbot, town, window, drive, messages):
    page = _page(window)
    assert page.template_label.text() == "使用模板 2026.1"

    def act(dialog: TemplatesDialog) -> None:
        assert dialog.set_list.count() == 1 and "默认模板" in dialog.set_list.item(0).text()
        assert f"{YEAR}年度使用" in dialog.set_list.item(0).text()
        assert "未单独选定，使用最新版本" in dialog.year_label.text()
        text = dialog.view.toPlainText()
        for needle in ("〔年度〕年度安全生产目标责任书", "前言与依据", "中华人民共和国安全生产法", "责任期限",
                       "〔责任期起始日〕至〔责任期截止日〕", "一、控制指标", "死亡人数", "不超过", "3000000 元",
                       "二、责任内容", "叫应叫醒", "三、考核与奖惩", "一票否决", "结尾", "一式两份", "使用的占位符",
                       "{party_b} 乙方单位名称"):
            assert needle in text, needle
        dialog.kind_tabs.setCurrentIndex(1)  # 企业
        assert "双重预防" in dialog.view.toPlainText() and "叫应叫醒" not in dialog.view.toPlainText()
        dialog.kind_tabs.setCurrentIndex(2)  # 站所
        assert "管行业必须管安全" in dialog.view.toPlainText()
        click(qtbot, dialog.findChild(type(dialog.choose_button), "close_button"))

    _open_templates(qtbot, page, drive, act)


def test_import_a_malformed_file_then_a_good_one_and_choose_it(qtbot, town, window, drive, messages, monkeypatch,
                                                               tmp_path):
    page = _page(window)
    broken = tmp_path / "坏模板.json"
    broken.write_text('{"kind": "letter_templates", "version": "2027.1",', encoding="utf-8")
    bad_placeholder = county_document("2027.1")
    bad_placeholder["templates"]["unit"]["closing"] = "{unit_leader}签字后生效。"
    files = iter([broken, write_json(tmp_path, "占位符.json", bad_placeholder),
                  write_json(tmp_path, "安远县2027.json", county_document("2027.1"))])
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(next(files)), ""))

    def act(dialog: TemplatesDialog) -> None:
        click(qtbot, dialog.import_button)
        assert messages[-1][0] == "warning"
        assert messages[-1][1].startswith("无法导入「坏模板.json」：不是有效的 JSON 文件（第1行第")
        click(qtbot, dialog.import_button)
        assert "模板「unit」的 closing 中有未知占位符 {unit_leader}" in messages[-1][1]
        assert dialog.set_list.count() == 1  # nothing stored
        click(qtbot, dialog.import_button)
        assert messages[-1] == ("information", f"已导入 2027.1 版责任书模板。请核对各类模板内容；"
                                               f"如需用于{YEAR}年度，请点「选用于{YEAR}年度」。")
        assert dialog.set_list.count() == 2 and dialog.selected().version == "2027.1"
        assert "县级下发" in dialog.set_list.item(0).text()
        assert "〔年度〕年度安远县安全生产目标责任书" in dialog.view.toPlainText()
        assert "1000000 元" in dialog.view.toPlainText()
        # The officer keeps this year on the bundled default.
        _pick(dialog, "2026.1")
        assert dialog.choose_button.isEnabled()
        click(qtbot, dialog.choose_button)
        assert f"{YEAR}年度此后生成的责任书将使用 2026.1（默认模板） 模板" in messages[-1][1]
        assert "2026.1（已选定）" in dialog.year_label.text()
        assert not dialog.choose_button.isEnabled()  # already the year's
        dialog.accept()

    opened = _open_templates(qtbot, page, drive, act)
    assert opened[-1].changed
    assert page.template_label.text() == "使用模板 2026.1"
    assert town.letters.year_template(YEAR).chosen

    # Next year's letters from the county version: choose it with the page set to next year.
    page.year_combo.setCurrentIndex(page.year_combo.findData(YEAR + 1))
    assert page.template_label.text() == "使用模板 2027.1"  # newest, not chosen

    def choose_county(dialog: TemplatesDialog) -> None:
        assert dialog.year == YEAR + 1
        _pick(dialog, "2027.1")
        click(qtbot, dialog.choose_button)
        dialog.accept()

    _open_templates(qtbot, page, drive, choose_county)
    town.letters.generate_year(YEAR + 1)
    town.letters.generate_year(YEAR)
    assert {town.letters.get(r.id).template_version for r in town.letters.list(YEAR + 1)} == {"2027.1"}
    assert {town.letters.get(r.id).template_version for r in town.letters.list(YEAR)} == {"2026.1"}
    assert all(town.letters.content(r.id).title == f"{YEAR + 1}年度安远县安全生产目标责任书"
               for r in town.letters.list(YEAR + 1))


def test_read_only_account_can_review_but_not_choose_or_import(qtbot, town, data_dir, drive, messages):
    window = MainWindow(Services(town.db, READER), data_dir)
    qtbot.addWidget(window)
    window.show()
    page = _page(window)

    def act(dialog: TemplatesDialog) -> None:
        assert not dialog.choose_button.isVisibleTo(dialog) and not dialog.import_button.isVisibleTo(dialog)
        assert "中华人民共和国安全生产法" in dialog.view.toPlainText()
        dialog.accept()

    _open_templates(qtbot, page, drive, act)


def test_a_broken_county_version_is_shown_with_its_problem(qtbot, town, window, drive, messages):
    from app.models import ConfigDocument

    doc = county_document("2028.1")
    doc["templates"]["village"]["targets"][0]["comparator"] = "<>"
    with town.db.session() as session:  # arrived by sync, not through the import check
        session.add(ConfigDocument(partition="county", kind="letter_templates", doc_version="2028.1",
                                   content={"templates": doc["templates"]}))
    page = _page(window)
    assert page.template_label.text() == "使用模板 2028.1（有误）"
    assert "comparator「<>」未知" in page.template_label.toolTip()

    def act(dialog: TemplatesDialog) -> None:
        _pick(dialog, "2028.1")
        assert "有误" in dialog.set_list.currentItem().text()
        assert "该版本模板有误，不能使用" in dialog.view.toPlainText()
        assert "comparator「<>」未知" in dialog.view.toPlainText()
        assert not dialog.choose_button.isEnabled()
        _pick(dialog, "2026.1")
        click(qtbot, dialog.choose_button)  # the way out: choose a good version for the year
        dialog.accept()

    _open_templates(qtbot, page, drive, act)
    assert page.template_label.text() == "使用模板 2026.1"
    assert town.letters.generate_year(YEAR).created == {"village": 1, "unit": 1}
