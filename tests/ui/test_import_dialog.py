"""从Excel导入 wizard and 导出Excel, clicked through the real widgets."""

from __future__ import annotations

import time
from pathlib import Path

import openpyxl
import pytest
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtWidgets import QApplication, QComboBox, QFileDialog, QProgressDialog, QPushButton

from app.services import Services
from app.services.imports import ImportService
from app.services.organisation import VILLAGES
from app.ui.organisation.import_dialog import ERROR_BG, SKIP, ImportDialog
from app.ui.organisation.page import OrganisationPage
from tests.conftest import READER

HEADERS = ["序号", "村（社区）名称", "户籍人口", "村书记", "联系电话"]


@pytest.fixture
def office_sheet(tmp_path: Path) -> Path:
    """A sheet as offices keep it: instructions first, a merged title, a bad phone, a blank line, 合计."""
    workbook = openpyxl.Workbook()
    notes = workbook.active
    notes.title = "填表说明"
    notes["A1"] = "请按实际情况填写，电话填写11位手机号码。"
    ws = workbook.create_sheet("村（社区）情况")
    ws["A1"] = "青山镇村（社区）基本情况表"
    ws.merge_cells("A1:E1")
    rows = {
        2: HEADERS,
        3: [1, "石桥村", 1500, "王大山", "13800138000"],
        4: [2, "城东社区", 2300, "李小红", "12345"],
        5: [3, "河口村", 900, "赵四", 13900139000],
        # row 6 left blank
        7: ["合计", None, 4700, None, None],
    }
    for number, values in rows.items():
        for col, value in enumerate(values, start=1):
            ws.cell(row=number, column=col, value=value)
    path = tmp_path / "青山镇村情况.xlsx"
    workbook.save(path)
    return path


def _choose_file(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *_a, **_k: (str(path), ""))


def _dialog(qtbot, services: Services) -> ImportDialog:
    page = OrganisationPage(services)
    qtbot.addWidget(page)
    dialog = ImportDialog(page.excel.importer(), "villages", page)
    dialog.show()
    return dialog


def _click(qtbot, dialog: ImportDialog, name: str) -> None:
    qtbot.mouseClick(dialog.findChild(QPushButton, name), Qt.MouseButton.LeftButton)


def _mapping_rows(dialog: ImportDialog) -> dict[str, str]:
    table = dialog.mapping_table
    return {table.item(r, 0).text(): table.cellWidget(r, 2).currentText() for r in range(table.rowCount())}


def _set_mapping(dialog: ImportDialog, header: str, label: str) -> None:
    table = dialog.mapping_table
    row = next(r for r in range(table.rowCount()) if table.item(r, 0).text() == header)
    combo: QComboBox = table.cellWidget(row, 2)
    combo.setCurrentIndex(combo.findText(label))


def _preview(dialog: ImportDialog) -> list[dict[str, str]]:
    table = dialog.preview_table
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    return [{h: table.item(r, c).text() for c, h in enumerate(headers)} for r in range(table.rowCount())]


def test_import_office_sheet_end_to_end_then_again_with_remembered_mapping(
        qtbot, services, drive, messages, monkeypatch, office_sheet, window):
    _choose_file(monkeypatch, office_sheet)
    window.show_area("organisation")
    view = window.page("organisation").views["villages"]
    seen: dict[str, object] = {}

    def first_import(dialog: ImportDialog) -> None:
        _click(qtbot, dialog, "browse_button")
        seen["path"] = dialog.path_edit.text()
        seen["sheets"] = [dialog.sheet_combo.itemText(i) for i in range(dialog.sheet_combo.count())]
        seen["sheet"] = dialog.sheet_combo.currentText()
        seen["info"] = dialog.file_info.text()
        _click(qtbot, dialog, "next_button")
        seen["page_after_file"] = dialog.pages.currentIndex()
        seen["mapping"] = _mapping_rows(dialog)
        _set_mapping(dialog, "村书记", SKIP)  # a choice the next import of this layout must remember
        _click(qtbot, dialog, "next_button")
        seen["page_after_mapping"] = dialog.pages.currentIndex()
        seen["preview"] = _preview(dialog)
        bad = next(r for r in range(dialog.preview_table.rowCount()) if dialog.preview_table.item(r, 0).text() == "4")
        seen["bad_background"] = dialog.preview_table.item(bad, 0).background().color()
        seen["summary"] = dialog.summary_label.text()
        seen["import_enabled"] = dialog.import_button.isEnabled()  # all or nothing by default
        qtbot.mouseClick(dialog.skip_errors_check, Qt.MouseButton.LeftButton, pos=QPoint(8, 8))
        seen["summary_skipping"] = dialog.summary_label.text()
        seen["import_enabled_skipping"] = dialog.import_button.isEnabled()
        _click(qtbot, dialog, "do_import_button")  # runs the real background job with a progress dialog

    drive(ImportDialog, first_import)
    qtbot.mouseClick(view.import_button, Qt.MouseButton.LeftButton)

    assert seen["path"] == str(office_sheet)
    assert seen["sheets"] == ["填表说明", "村（社区）情况"]
    assert seen["sheet"] == "村（社区）情况"  # the instructions sheet was passed over
    assert "表头在第2行" in seen["info"] and "3行数据" in seen["info"]
    assert seen["page_after_file"] == 1
    assert seen["mapping"] == {"序号": SKIP, "村（社区）名称": "名称", "户籍人口": "人口", "村书记": "负责人",
                               "联系电话": "负责人电话"}
    assert seen["page_after_mapping"] == 2
    preview = seen["preview"]
    assert [(row["行号"], row["操作"]) for row in preview] == [("3", "新增"), ("4", "有错误"), ("5", "新增")]
    assert preview[0]["名称"] == "石桥村" and preview[2]["负责人电话"] == "13900139000"
    assert "负责人电话" not in preview[0]["问题"] and preview[0]["问题"] == ""
    assert preview[1]["问题"] == "负责人电话：「12345」不是有效的电话号码（手机11位，座机需带区号）"
    assert preview[1]["负责人电话"] == "12345"  # what was typed is shown beside the problem
    assert seen["bad_background"] == ERROR_BG
    assert seen["summary"] == ("共3行：将新增 2 条，更新 0 条，无变化 0 条。"
                               "有错误 1 行：请在Excel中改正后重新导入，或勾选下方「跳过有错误的行」。")
    assert seen["import_enabled"] is False
    assert seen["summary_skipping"] == "共3行：将新增 2 条，更新 0 条，无变化 0 条。有错误 1 行将跳过。"
    assert seen["import_enabled_skipping"] is True

    assert ("information", "导入完成：新增 2 条，更新 0 条，无变化 0 条，跳过 1 行。") in messages
    villages = services.register("villages")
    assert villages.count() == 2
    assert sorted(row["name"] for row in villages.rows()) == ["河口村", "石桥村"]
    assert {row["name"]: row["head_phone"] for row in villages.rows()}["河口村"] == "13900139000"
    assert all(not row.get("head_name") for row in villages.rows())  # 村书记 was left out on purpose
    assert view.model.rowCount() == 2  # the list reloaded after the dialog was accepted

    def second_import(dialog: ImportDialog) -> None:
        _click(qtbot, dialog, "browse_button")
        _click(qtbot, dialog, "next_button")
        seen["mapping_again"] = _mapping_rows(dialog)
        _click(qtbot, dialog, "next_button")
        seen["summary_again"] = dialog.summary_label.text()
        seen["actions_again"] = [row["操作"] for row in _preview(dialog)]
        seen["import_enabled_again"] = dialog.import_button.isEnabled()
        dialog.reject()

    drive(ImportDialog, second_import)
    qtbot.mouseClick(view.import_button, Qt.MouseButton.LeftButton)
    assert seen["mapping_again"]["村书记"] == SKIP  # remembered, not re-guessed as 负责人
    assert seen["mapping_again"]["村（社区）名称"] == "名称"
    assert seen["actions_again"] == ["无变化", "有错误", "无变化"]
    assert "将新增 0 条" in seen["summary_again"] and "无变化 2 条" in seen["summary_again"]
    assert seen["import_enabled_again"] is False  # nothing to write
    assert villages.count() == 2


def test_a_file_that_is_not_excel_is_explained_and_next_is_refused(qtbot, services, monkeypatch, tmp_path):
    fake = tmp_path / "x.xlsx"
    fake.write_bytes(b"hello")
    _choose_file(monkeypatch, fake)
    dialog = _dialog(qtbot, services)
    _click(qtbot, dialog, "browse_button")
    assert dialog.error_label.isVisible()
    assert "x.xlsx" in dialog.error_label.text() and "不是Excel表格" in dialog.error_label.text()
    assert dialog.source is None
    _click(qtbot, dialog, "next_button")
    assert dialog.pages.currentIndex() == 0
    # 下一步 keeps saying what is wrong with the chosen file instead of asking for one again.
    assert "x.xlsx" in dialog.error_label.text() and "不是Excel表格" in dialog.error_label.text()


def test_next_without_any_file_asks_for_one(qtbot, services):
    dialog = _dialog(qtbot, services)
    _click(qtbot, dialog, "next_button")
    assert dialog.pages.currentIndex() == 0
    assert dialog.error_label.text() == "请先选择要导入的文件。"


@pytest.mark.parametrize(("header", "label", "problem"), [
    ("村（社区）名称", SKIP, "必须有一列对应「名称」。"),
    ("序号", "名称", "「名称」对应了多列，请只保留一列。"),
], ids=["required_unmapped", "mapped_twice"])
def test_a_bad_mapping_is_shown_and_keeps_the_mapping_page(qtbot, services, monkeypatch, office_sheet,
                                                           header, label, problem):
    _choose_file(monkeypatch, office_sheet)
    dialog = _dialog(qtbot, services)
    _click(qtbot, dialog, "browse_button")
    _click(qtbot, dialog, "next_button")
    _set_mapping(dialog, header, label)
    _click(qtbot, dialog, "next_button")
    assert dialog.pages.currentIndex() == 1
    assert dialog.error_label.isVisible() and dialog.error_label.text() == problem
    _set_mapping(dialog, header, "名称" if label == SKIP else SKIP)  # put it right: on to the preview
    _click(qtbot, dialog, "next_button")
    assert dialog.pages.currentIndex() == 2
    assert not dialog.error_label.isVisible()
    assert services.register("villages").count() == 0  # nothing written before 导入


def test_cancel_during_import_writes_nothing_and_keeps_the_dialog(qtbot, services, monkeypatch, office_sheet,
                                                                 messages):
    real_apply = ImportService.apply

    def slow_apply(self, kind, source, mapping, progress=None, cancelled=None):
        deadline = time.monotonic() + 10
        while not cancelled() and time.monotonic() < deadline:  # a large file, still being read
            time.sleep(0.01)
        return real_apply(self, kind, source, mapping, progress, cancelled)

    monkeypatch.setattr(ImportService, "apply", slow_apply)
    _choose_file(monkeypatch, office_sheet)
    dialog = _dialog(qtbot, services)
    _click(qtbot, dialog, "browse_button")
    _click(qtbot, dialog, "next_button")
    _click(qtbot, dialog, "next_button")
    clicked: list[float] = []
    started = time.monotonic()

    def press_cancel() -> None:
        progress = next((w for w in QApplication.topLevelWidgets() + dialog.findChildren(QProgressDialog)
                         if isinstance(w, QProgressDialog) and w.isVisible()), None)
        if progress is None:
            QTimer.singleShot(20, press_cancel)
            return
        clicked.append(time.monotonic() - started)
        qtbot.mouseClick(progress.findChild(QPushButton), Qt.MouseButton.LeftButton)

    dialog.skip_errors_check.setChecked(True)  # the sheet has one bad row; import the others
    QTimer.singleShot(0, press_cancel)
    _click(qtbot, dialog, "do_import_button")
    assert len(clicked) == 1
    assert clicked[0] < 2.0  # the progress dialog appears promptly (Qt's default would be 4 s)
    assert messages == [("warning", "导入已取消，未写入任何数据。")]
    assert dialog.isVisible() and dialog.pages.currentIndex() == 2  # the user can try again
    assert services.register("villages").count() == 0


def test_switching_sheet_reloads_and_a_sheet_without_header_is_explained(qtbot, services, monkeypatch,
                                                                        office_sheet):
    _choose_file(monkeypatch, office_sheet)
    dialog = _dialog(qtbot, services)
    _click(qtbot, dialog, "browse_button")
    assert dialog.sheet_combo.currentText() == "村（社区）情况"
    dialog.sheet_combo.setFocus()
    qtbot.keyClick(dialog.sheet_combo, Qt.Key.Key_Up)  # the user picks 填表说明
    assert dialog.sheet_combo.currentText() == "填表说明"
    assert dialog.error_label.isVisible() and "找不到表头" in dialog.error_label.text()
    assert dialog.source is None
    qtbot.keyClick(dialog.sheet_combo, Qt.Key.Key_Down)  # and back
    assert dialog.source is not None and dialog.source.sheet == "村（社区）情况"
    assert not dialog.error_label.isVisible()
    _click(qtbot, dialog, "next_button")
    assert _mapping_rows(dialog)["联系电话"] == "负责人电话"


def test_back_returns_to_the_previous_step(qtbot, services, monkeypatch, office_sheet):
    _choose_file(monkeypatch, office_sheet)
    dialog = _dialog(qtbot, services)
    assert not dialog.back_button.isVisible() and not dialog.import_button.isVisible()
    _click(qtbot, dialog, "browse_button")
    _click(qtbot, dialog, "next_button")
    _click(qtbot, dialog, "next_button")
    assert dialog.import_button.isVisible() and not dialog.next_button.isVisible()
    _click(qtbot, dialog, "back_button")
    assert dialog.pages.currentIndex() == 1 and dialog.next_button.isVisible()


def test_read_only_account_cannot_import_but_can_export(qtbot, services):
    page = OrganisationPage(Services(services.db, READER))
    qtbot.addWidget(page)
    for view in page.views.values():
        assert not view.import_button.isEnabled()
        assert view.export_button.isEnabled()


def test_export_writes_a_file_that_reimports_unchanged(qtbot, services, window, monkeypatch, tmp_path, messages):
    villages = services.register("villages")
    villages.save({"name": "石桥村", "population": "1500", "head_phone": "13800138000",
                   "code": "360726100201"})
    villages.save({"name": "城东社区", "kind": "社区", "head_name": "李小红"})
    target = tmp_path / "导出" / "村名录"  # no extension: the view adds .xlsx
    target.parent.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *_a, **_k: (str(target), ""))
    window.show_area("organisation")
    view = window.page("organisation").views["villages"]
    qtbot.mouseClick(view.export_button, Qt.MouseButton.LeftButton)

    written = target.with_suffix(".xlsx")
    assert written.exists()
    assert not messages  # no error
    assert window.statusBar().currentMessage() == f"已导出 2 条到 {written}"
    sheet = openpyxl.load_workbook(written).active
    table = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert table[0] == [f.label for f in VILLAGES.fields]
    by_name = {row[0]: dict(zip(table[0], row, strict=True)) for row in table[1:]}
    assert by_name["石桥村"]["负责人电话"] == "13800138000"  # stays text, no leading-zero or float damage
    assert by_name["石桥村"]["区划代码"] == "360726100201"
    assert by_name["石桥村"]["人口"] == 1500

    _choose_file(monkeypatch, written)
    dialog = _dialog(qtbot, services)
    _click(qtbot, dialog, "browse_button")
    _click(qtbot, dialog, "next_button")
    assert set(_mapping_rows(dialog).items()) == {(f.label, f.label) for f in VILLAGES.fields}
    _click(qtbot, dialog, "next_button")
    assert [row["操作"] for row in _preview(dialog)] == ["无变化", "无变化"]
    assert not dialog.import_button.isEnabled()
