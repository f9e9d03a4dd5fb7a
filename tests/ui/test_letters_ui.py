"""安全生产目标责任书 clicked through the real widgets: generate the year, print, sign, scan, 考核, roles."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QFileDialog, QPushButton

from app.services import Services
from app.ui.letters.detail import LetterDetailDialog
from app.ui.letters.dialogs import CopiesDialog, ListDialog, SignDialog
from app.ui.letters.page import LettersPage, _all_ids
from app.ui.main_window import MainWindow
from app.ui.widgets.record_form import RecordDialog
from tests.conftest import READER, poppler
from tests.ui.conftest import click, previewed_pdfs, type_into

YEAR = date.today().year


@pytest.fixture
def town(services: Services) -> Services:
    services.register("villages").save({"name": "石桥村", "head_name": "李大山"})
    services.register("villages").save({"name": "河东社区", "kind": "社区", "head_name": ""})  # nobody to sign
    services.register("enterprises").save({"name": "安远县鑫源石材有限公司", "legal_rep": "王强",
                                           "village": "石桥村"})
    services.register("units").save({"name": "青山镇卫生院", "kind": "卫生院", "head_name": "陈医生"})
    return services






def _page(window: MainWindow) -> LettersPage:
    window.show_area("letters")
    page = window.page("letters")
    assert isinstance(page, LettersPage)
    return page


def _generate(qtbot, page: LettersPage, drive) -> list[str]:
    """Click 生成本年度责任书 (the real background job); returns the problems list shown."""
    opened = drive(ListDialog, lambda d: d.reject())
    click(qtbot, page.generate_button)
    qtbot.waitUntil(lambda: page.letter_table.rowCount() > 0, timeout=10000)
    return [d.text.toPlainText() for d in opened]


def _open(qtbot, page: LettersPage, name: str) -> LetterDetailDialog:
    for r in range(page.letter_table.rowCount()):
        if page.letter_table.item(r, 1).text() == name:
            page.letter_table.selectRow(r)
            break
    else:
        raise AssertionError(f"no letter for {name}")
    letter_id = _all_ids(page.letter_table)[page.letter_table.currentRow()]
    dialog = LetterDetailDialog(page.services, letter_id, page)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def _sign(qtbot, dialog: LetterDetailDialog, drive, signed_on: str) -> list[SignDialog]:
    def act(sign: SignDialog) -> None:
        sign.signed_on_edit.clear()
        type_into(qtbot, sign.signed_on_edit, signed_on)
        sign.signed_by_a_edit.clear()
        type_into(qtbot, sign.signed_by_a_edit, "张镇长")
        sign.signed_by_b_edit.clear()
        type_into(qtbot, sign.signed_by_b_edit, "李大山")
        click(qtbot, sign.findChild(QPushButton, "confirm_sign_button"))

    opened = drive(SignDialog, act)
    click(qtbot, dialog.sign_button)
    return opened


def _png(folder: Path) -> Path:
    image = QImage(120, 160, QImage.Format.Format_RGB32)
    image.fill(QColor("#f4f4f4"))
    path = folder / "签订扫描件.png"
    assert image.save(str(path))
    return path


def test_generate_the_year_from_the_page_shows_coverage_and_problems(qtbot, town, window, drive, messages):
    page = _page(window)
    assert page.year() == YEAR
    assert page.cards["village"].value.text() == "已签订 0 / 共 2"
    problems = _generate(qtbot, page, drive)
    assert len(problems) == 1 and "河东社区" in problems[0]  # the officer sees who lacks a responsible person
    assert page.letter_table.rowCount() == 3
    assert page.cards["village"].value.text() == "已签订 0 / 共 2"
    assert "未生成 1" in page.cards["village"].detail.text()
    assert "草稿 1" in page.cards["enterprise"].detail.text()
    assert "未生成 0" in page.cards["unit"].detail.text()
    names = {page.letter_table.item(r, 1).text() for r in range(3)}
    assert names == {"石桥村", "安远县鑫源石材有限公司", "青山镇卫生院"}
    # Filters narrow the table.
    page.kind_filter.setCurrentIndex(page.kind_filter.findData("enterprise"))
    assert page.letter_table.rowCount() == 1 and page.count_label.text() == "筛选出 1 份责任书"
    page.kind_filter.setCurrentIndex(0)
    type_into(qtbot, page.search_edit, "卫生院")
    qtbot.waitUntil(lambda: page.letter_table.rowCount() == 1)
    # Generating again makes nothing new.
    opened = drive(ListDialog, lambda d: d.reject())
    click(qtbot, page.generate_button)
    qtbot.waitUntil(lambda: len(opened) == 2, timeout=10000)  # the same problems list again
    assert "新生成责任书：0 份" in opened[-1].intro.text()
    assert "已有责任书的 3 个单位未重复生成" in opened[-1].intro.text()
    assert page.letter_table.rowCount() == 1
    page.search_edit.clear()
    qtbot.waitUntil(lambda: page.letter_table.rowCount() == 3)


def test_print_sign_scan_and_signing_twice(qtbot, town, window, drive, messages, monkeypatch, tmp_path,
                                           opened_urls):
    page = _page(window)
    _generate(qtbot, page, drive)
    dialog = _open(qtbot, page, "石桥村")
    assert dialog.status_badge.text() == "草稿"
    assert "石桥村" in dialog.text_view.toPlainText()
    assert dialog.edit_button.isVisibleTo(dialog) and dialog.sign_button.isVisibleTo(dialog)
    assert not dialog.scan_button.isVisibleTo(dialog)

    pdf = tmp_path / "printed.pdf"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(pdf), "PDF 文件 (*.pdf)"))
    click(qtbot, dialog.print_button)
    assert pdf.exists()
    assert pdf in previewed_pdfs()
    text = poppler("pdftotext", pdf, "-")
    assert "石桥村" in text and str(YEAR) in text
    assert dialog.status_badge.text() == "已打印"
    assert "打印" in dialog.history_view.toPlainText()

    stale = _open(qtbot, page, "石桥村")  # another window still showing it unsigned
    _sign(qtbot, dialog, drive, date.today().isoformat())
    assert dialog.status_badge.text() == "已签订"
    assert not dialog.edit_button.isVisibleTo(dialog) and not dialog.sign_button.isVisibleTo(dialog)
    assert dialog.scan_button.isVisibleTo(dialog) and dialog.supersede_button.isVisibleTo(dialog)
    assert "张镇长" in dialog.info_label.text()

    # Signing again (from the stale window) is refused by the service and its message shown.
    refused = _sign(qtbot, stale, drive, date.today().isoformat())
    assert "不能重复签订" in refused[-1].error.text() and refused[-1].error.isVisibleTo(refused[-1])

    scan = _png(tmp_path)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(scan), ""))
    click(qtbot, dialog.scan_button)
    assert dialog.status_badge.text() == "已扫描"
    assert [s.file_name for s in dialog.detail.scans] == ["签订扫描件.png"]
    assert "签订扫描件.png" in dialog.history_view.toPlainText()
    dialog.reject()
    page.reload_letters()
    row = next(r for r in range(page.letter_table.rowCount()) if page.letter_table.item(r, 1).text() == "石桥村")
    assert page.letter_table.item(row, 3).text() == "已扫描"
    page.reload_coverage()
    assert page.cards["village"].value.text() == "已签订 1 / 共 2"


def test_edit_a_draft_letter_text(qtbot, town, window, drive, messages):
    from app.ui.letters.dialogs import EditLetterDialog

    page = _page(window)
    _generate(qtbot, page, drive)
    dialog = _open(qtbot, page, "青山镇卫生院")

    def act(edit: EditLetterDialog) -> None:
        edit.closing_edit.setPlainText("本责任书一式两份，甲乙双方各执一份，自签字盖章之日起生效。")
        click(qtbot, edit.findChild(QPushButton, "save_button"))

    opened = drive(EditLetterDialog, act)
    click(qtbot, dialog.edit_button)
    assert opened[-1].saved
    assert "自签字盖章之日起生效" in dialog.text_view.toPlainText()
    assert "修改" in dialog.history_view.toPlainText()


def test_accident_with_a_death_vetoes_the_village_letter(qtbot, town, window, drive, messages):
    page = _page(window)
    _generate(qtbot, page, drive)

    def act(form: RecordDialog) -> None:
        editors = form.form.editors
        type_into(qtbot, editors["occurred_at"], f"{YEAR}-01-02 08:30")
        type_into(qtbot, editors["place"], "石桥村三组自建房")
        editors["village"].setCurrentIndex(editors["village"].findText("石桥村"))
        type_into(qtbot, editors["deaths"], "1")
        type_into(qtbot, editors["direct_loss"], "120000")
        click(qtbot, form.findChild(QPushButton, "save_button"))

    opened = drive(RecordDialog, act)
    page.tabs.setCurrentIndex(1)
    click(qtbot, page.record_accident_button)
    assert opened[-1].saved_id
    assert page.accident_table.rowCount() == 1
    assert page.accident_table.item(0, 7).text() == "一般"
    assert page.accident_table.item(0, 4).text() == "1"

    dialog = _open(qtbot, page, "石桥村")
    assessment = dialog.assessment_view.toPlainText()
    assert "一票否决" in assessment
    assert "石桥村三组自建房" in assessment  # the accident that caused it
    other = _open(qtbot, page, "青山镇卫生院")
    assert "全部达标" in other.assessment_view.toPlainText()


def test_batch_print_writes_every_letter_and_opens_the_folder(qtbot, town, window, drive, messages, monkeypatch,
                                                              tmp_path, opened_urls):
    page = _page(window)
    _generate(qtbot, page, drive)
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(out))

    def act(choice: CopiesDialog) -> None:
        choice.separate.setChecked(True)
        click(qtbot, choice.findChild(QPushButton, "confirm_print_button"))

    drive(CopiesDialog, act)
    click(qtbot, page.batch_print_button)
    files = sorted(p.name for p in out.iterdir())
    assert len(files) == 6 and f"{YEAR}-石桥村-甲方存.pdf" in files
    assert opened_urls[-1].toLocalFile() == str(out)
    assert {page.letter_table.item(r, 3).text() for r in range(3)} == {"已打印"}


def test_dashboard_lists_the_unsigned_and_opens_the_letters(qtbot, town, window, drive, messages):
    dashboard = window.page("dashboard")
    dashboard.refresh()
    texts = [dashboard.attention_list.item(i).text() for i in range(dashboard.attention_list.count())]
    assert not any("责任书" in t for t in texts)  # nothing generated this year yet: no reminder
    town.letters.generate_year(YEAR)
    dashboard.refresh()
    item = next(dashboard.attention_list.item(i) for i in range(dashboard.attention_list.count())
                if "尚未签订" in dashboard.attention_list.item(i).text())
    assert item.text() == f"• 4 个单位尚未签订{YEAR}年度责任书"  # 3 letters unsigned + 河东社区 not generated
    dashboard.on_attention_activated(item)
    assert window.current_area() == "letters"
    page = window.page("letters")
    assert page.year() == YEAR and page.letter_table.rowCount() == 3


def test_read_only_account_sees_no_write_buttons(qtbot, town, data_dir, drive, messages):
    town.letters.generate_year(YEAR)
    reader = Services(town.db, READER)
    window = MainWindow(reader, data_dir)
    qtbot.addWidget(window)
    window.show()
    page = _page(window)
    assert page.letter_table.rowCount() == 3
    assert not page.generate_button.isVisibleTo(page)
    assert not page.record_accident_button.isVisibleTo(page)
    assert not page.edit_accident_button.isVisibleTo(page)
    assert not page.delete_accident_button.isVisibleTo(page)
    assert page.batch_print_button.isVisibleTo(page) and page.open_button.isVisibleTo(page)
    dialog = _open(qtbot, page, "石桥村")
    for b in (dialog.edit_button, dialog.sign_button, dialog.scan_button, dialog.archive_button,
              dialog.supersede_button):
        assert not b.isVisibleTo(dialog)
    assert dialog.print_button.isVisibleTo(dialog)


def _record_accident(town: Services, **values) -> str:
    return town.accidents.record({"occurred_at": f"{YEAR}-01-02 08:30", **values})


def test_editing_a_threshold_changes_the_assessment(qtbot, town, window, drive, messages):
    from app.ui.letters.dialogs import EditLetterDialog

    page = _page(window)
    _generate(qtbot, page, drive)
    _record_accident(town, place="石桥村二组", village="石桥村", serious_injuries=1, direct_loss="80万")
    dialog = _open(qtbot, page, "石桥村")
    assert "未全部达标" in dialog.assessment_view.toPlainText()

    def act(edit: EditLetterDialog) -> None:
        targets = edit.targets_editor
        table = targets.table
        rows = {targets.cell(r, 0).currentData(): r for r in range(table.rowCount())}
        injuries, loss = rows["serious_injuries"], rows["direct_loss_yuan"]
        # A bad figure: the service's message names the target; nothing saved, the dialog stays open.
        threshold = targets.cell(injuries, 2)
        threshold.selectAll()
        qtbot.keyClicks(threshold, "-1")
        click(qtbot, edit.findChild(QPushButton, "save_button"))
        assert f"第{injuries + 1}项控制指标：数值应为不小于0的整数" in edit.error.text()
        threshold.selectAll()
        qtbot.keyClicks(threshold, "1")
        assert targets.cell(injuries, 4).text() == "全年生产安全事故重伤人数不超过1人。"  # reworded
        money = targets.cell(loss, 2)
        money.selectAll()
        type_into(qtbot, money, "50万")
        assert targets.cell(loss, 4).text() == "全年事故直接经济损失低于50万元。"
        veto = targets.cell(loss, 3)  # 一票否决: a click on the box itself
        qtbot.mouseClick(veto, Qt.MouseButton.LeftButton, pos=QPoint(9, veto.height() // 2))
        assert targets.cell(loss, 3).isChecked()
        click(qtbot, targets.add_button)  # a new target: no accident at all
        new = table.rowCount() - 1
        targets.cell(new, 0).setCurrentIndex(targets.cell(new, 0).findData("accidents"))
        assert targets.cell(new, 4).text() == "全年事故为0起。"
        table.selectRow(rows["fires"])
        click(qtbot, targets.remove_button)
        click(qtbot, edit.findChild(QPushButton, "save_button"))

    opened = drive(EditLetterDialog, act)
    click(qtbot, dialog.edit_button)
    assert opened[-1].saved
    text = dialog.text_view.toPlainText()
    assert "全年事故直接经济损失低于50万元。【一票否决】" in text and "全年事故为0起" in text
    assert "不发生森林火灾" not in text
    assessment = dialog.assessment_view.toPlainText()
    assert "一票否决" in assessment  # 80万 ≥ 50万, now a veto condition
    assert "全年生产安全事故重伤人数不超过1人。" in assessment
    results = {t.metric: t for t in dialog.assessment().targets}
    assert results["serious_injuries"].met and not results["direct_loss_yuan"].met
    assert results["direct_loss_yuan"].veto_triggered and not results["accidents"].met
    assert "fires" not in results


def test_editing_a_letter_signed_meanwhile_is_refused(qtbot, town, window, drive, messages):
    from app.ui.letters.dialogs import EditLetterDialog

    page = _page(window)
    _generate(qtbot, page, drive)
    dialog = _open(qtbot, page, "石桥村")
    letter_id = dialog.letter_id
    before = town.letters.content(letter_id)

    def act(edit: EditLetterDialog) -> None:
        town.letters.sign(letter_id, date.today().isoformat(), "张镇长", "李大山")  # on another PC
        threshold = edit.targets_editor.cell(0, 2)
        threshold.selectAll()
        qtbot.keyClicks(threshold, "3")
        click(qtbot, edit.findChild(QPushButton, "save_button"))
        assert "签订，不能修改；如需更正，请新建替代责任书" in edit.error.text()
        edit.reject()

    opened = drive(EditLetterDialog, act)
    click(qtbot, dialog.edit_button)
    assert not opened[-1].saved
    assert town.letters.content(letter_id) == before


def test_delete_an_accident_entered_by_mistake(qtbot, town, window, drive, messages):
    page = _page(window)
    town.letters.generate_year(YEAR)
    _record_accident(town, place="石桥村三组自建房", village="石桥村", deaths=1)
    _record_accident(town, place="镇区路口", category="道路交通事故")
    page.refresh()
    page.tabs.setCurrentIndex(1)
    assert page.accident_table.rowCount() == 2
    assert next(a for a in town.letters.assess(YEAR) if a.counterparty_name == "石桥村").result == "一票否决"

    click(qtbot, page.delete_accident_button)  # nothing selected
    assert messages[-1] == ("information", "请先在列表中选中一起事故。")
    page.accident_table.selectRow(0)
    click(qtbot, page.delete_accident_button)
    assert messages[-1][0] == "question" and "石桥村三组自建房" in messages[-1][1]
    assert "删除后年终考核不再计入这起事故" in messages[-1][1]
    assert page.accident_table.rowCount() == 1
    assert "镇区路口" in page.accident_table.item(0, 1).text()
    assert page.accident_count.text() == f"{YEAR}年共登记 1 起事故"
    assert next(a for a in town.letters.assess(YEAR) if a.counterparty_name == "石桥村").result == "达标"


def test_declining_the_confirmation_keeps_the_accident(qtbot, town, window, drive, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    page = _page(window)
    _record_accident(town, place="镇区路口")
    page.refresh()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    page.accident_table.selectRow(0)
    click(qtbot, page.delete_accident_button)
    assert page.accident_table.rowCount() == 1 and len(town.accidents.list(YEAR)) == 1
