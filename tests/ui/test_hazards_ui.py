"""隐患排查 clicked through the real widgets: register, walk the lifecycle, filter, dashboard, roles."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import openpyxl
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QComboBox, QFileDialog, QLabel, QLineEdit, QPlainTextEdit, QPushButton

from app.models import HazardAction
from app.services import Services
from app.ui.hazards.common import OVERDUE_BG
from app.ui.hazards.detail import HazardDetailDialog, ImageViewer
from app.ui.hazards.forms import StepDialog
from app.ui.hazards.page import HazardsPage
from app.ui.main_window import MainWindow
from tests.conftest import READER
from tests.ui.conftest import click, previewed_pdfs, type_into

TODAY = date.today()


def _days(n: int) -> str:
    return (TODAY + timedelta(days=n)).isoformat()


def _fill(qtbot, dialog: StepDialog, values: dict[str, str]) -> None:
    for name, text in values.items():
        editor = dialog.form.editors[name]
        if isinstance(editor, QLineEdit):
            editor.clear()
            type_into(qtbot, editor, text)
        elif isinstance(editor, QPlainTextEdit):
            editor.clear()
            editor.setFocus()
            editor.insertPlainText(text)  # Chinese arrives as an input-method commit
        elif isinstance(editor, QComboBox):
            index = editor.findText(text)
            assert index >= 0, f"{name}: no choice {text}"
            editor.setCurrentIndex(index)


def _save(qtbot, dialog) -> None:
    qtbot.mouseClick(dialog.findChild(QPushButton, "save_button"), Qt.MouseButton.LeftButton)




def _ledger(window: MainWindow) -> HazardsPage:
    window.show_area("hazards")
    page = window.page("hazards")
    assert isinstance(page, HazardsPage)
    return page


def _numbers(page: HazardsPage) -> list[str]:
    return [page.model.record(i)["number"] for i in range(page.model.rowCount())]


def _timeline(dialog: HazardDetailDialog) -> str:
    return "\n".join(label.text() for label in dialog.timeline.findChildren(QLabel))


def _png(folder: Path, name: str, colour: str) -> Path:
    image = QImage(64, 48, QImage.Format.Format_RGB32)
    image.fill(QColor(colour))
    path = folder / name
    assert image.save(str(path))
    return path


NEW_HAZARD = {"found_on": "2026-11-20", "unit_name": "青山建材厂", "village": "石桥村", "sector": "消防",
              "location": "原料仓库东侧", "description": "灭火器压力不足，两具已过期", "level": "一般"}




@pytest.fixture
def village(services: Services) -> None:
    services.register("villages").save({"name": "石桥村"})


def test_register_from_the_ledger_shows_it_numbered(qtbot, window, drive, village):
    page = _ledger(window)
    assert page.count_label.text() == "共 0 条隐患"
    opened = drive(StepDialog, lambda d: (_fill(qtbot, d, NEW_HAZARD), _save(qtbot, d)))
    click(qtbot, page.register_button)
    assert opened and opened[0].windowTitle() == "登记隐患"
    assert _numbers(page) == ["2026-0001"]
    row = page.model.record(0)
    assert (row["unit_name"], row["village"], row["sector"], row["status_text"]) == \
        ("青山建材厂", "石桥村", "消防", "已登记")
    assert row["deadline"] == "2026-12-05"  # 15 days by the county's default rule
    assert page.count_label.text() == "共 1 条隐患"
    assert page.selected_id() == page.model.id_at(0)
    assert window.page("hazards").sector_filter.findText("消防") >= 0


def test_ctrl_n_registers_from_another_area(qtbot, window, drive, village):
    window.show_area("organisation")
    opened = drive(StepDialog, lambda d: (_fill(qtbot, d, NEW_HAZARD), _save(qtbot, d)))
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window.page("organisation"), Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert len(opened) == 1
    assert window.current_area() == "organisation"  # stays where the user was
    assert "2026-0001" in window.statusBar().currentMessage()
    assert _numbers(_ledger(window)) == ["2026-0001"]
    # The sidebar button does the same, and the ledger already open follows.
    click(qtbot, window.register_hazard_button)
    assert len(opened) == 2
    assert _numbers(window.page("hazards")) == ["2026-0002", "2026-0001"]


def test_invalid_date_is_named_on_the_field_and_the_dialog_stays_open(qtbot, window, drive, village):
    page = _ledger(window)
    seen: dict = {}

    def act(dialog: StepDialog) -> None:
        _fill(qtbot, dialog, {**NEW_HAZARD, "found_on": "2026-13-45"})
        _save(qtbot, dialog)
        seen["open"] = dialog.isVisible()
        seen["error"] = dialog.form.errors["found_on"].text()
        seen["error_shown"] = dialog.form.errors["found_on"].isVisible()
        seen["invalid"] = dialog.form.editors["found_on"].property("invalid")
        seen["top"] = dialog.form_error.text()
        seen["kept"] = dialog.form.editors["unit_name"].text()
        dialog.reject()

    drive(StepDialog, act)
    click(qtbot, page.register_button)
    assert seen["open"] is True
    assert seen["error"] == "「2026-13-45」不是有效日期"
    assert seen["error_shown"] and seen["invalid"] is True
    assert seen["top"] == "有1处需要修改，请看标红的项目。"
    assert seen["kept"] == "青山建材厂"
    assert page.model.rowCount() == 0


def test_walk_a_major_hazard_from_register_to_closed(qtbot, services, window, drive, monkeypatch, tmp_path,
                                                     village):
    hazard_id = services.hazards.register({**NEW_HAZARD, "level": "重大",
                                           "level_basis": "《工贸企业重大事故隐患判定标准》第四条"})
    after_photo = _png(tmp_path, "整改后.png", "#3a9a5b")
    monkeypatch.setattr(QFileDialog, "getOpenFileNames",
                        lambda *_a, **_k: ([str(after_photo)], "图片 (*.png)"))
    page = _ledger(window)
    page.refresh()
    page.table.selectRow(0)
    steps: list[Callable[[StepDialog], None]] = []
    drive(StepDialog, lambda d: steps.pop(0)(d))
    log: dict = {}

    def assign(d: StepDialog) -> None:
        assert d.form.editors["notice_issued_on"].text() == TODAY.isoformat()  # dates default to today
        _fill(qtbot, d, {"notice_number": "青山安监整改〔2026〕17号"})
        _save(qtbot, d)

    def start(d: StepDialog) -> None:
        assert d.form.editors["deadline"].text() == "2027-02-18"  # the current deadline (90 days)
        _fill(qtbot, d, {"measures": "更换全部过期灭火器，增设消防栓", "responsible_person": "陈建国"})
        _save(qtbot, d)
        log["refused_open"] = d.isVisible()
        log["red"] = {name for name, label in d.form.errors.items() if label.isVisible()}
        log["invalid"] = {name for name, editor in d.form.editors.items() if editor.property("invalid")}
        log["message"] = d.form.errors["emergency_plan"].text()
        _fill(qtbot, d, {"responsible_unit": "青山建材厂", "funds": "5000",
                         "emergency_plan": "整改期间仓库停用，设专人值守"})
        _save(qtbot, d)

    def request_acceptance(d: StepDialog) -> None:
        click(qtbot, d.findChild(QPushButton, "add_photos_button"))
        log["picked"] = list(d.photos.files)
        _fill(qtbot, d, {"note": "已全部更换"})
        _save(qtbot, d)

    def accept(d: StepDialog) -> None:
        log["reviewer"] = d.form.editors["reviewer"].text()
        _fill(qtbot, d, {"review_opinion": "整改到位，同意验收"})
        _save(qtbot, d)

    def close(d: StepDialog) -> None:
        _save(qtbot, d)

    def walk(dialog: HazardDetailDialog) -> None:
        assert dialog.status_badge.text() == "已登记"
        assert "重大隐患" in dialog.tags
        assert set(dialog.step_buttons) == set(services.hazards.get(hazard_id).allowed)
        assert not dialog.findChild(QPushButton, "print_notice_button")  # nothing to print yet

        steps.append(assign)
        click(qtbot, dialog.step_buttons[HazardAction.ASSIGN])
        assert dialog.status_badge.text() == "已交办"
        assert "整改通知书编号：青山安监整改〔2026〕17号" in _timeline(dialog)
        assert dialog.findChild(QPushButton, "print_notice_button") is not None

        steps.append(start)
        click(qtbot, dialog.findChild(QPushButton, "start_button"))
        assert log["refused_open"] is True
        assert log["red"] == {"responsible_unit", "funds", "emergency_plan"}
        assert log["invalid"] == {"responsible_unit", "funds", "emergency_plan"}
        assert log["message"] == "重大隐患必须落实五到位，此项不能为空"
        assert dialog.status_badge.text() == "整改中"
        assert "已交办 → 整改中" in _timeline(dialog)
        assert dialog.findChild(QLabel, "funds_value").text() == "5000"

        steps.append(request_acceptance)
        click(qtbot, dialog.findChild(QPushButton, "request_acceptance_button"))
        assert log["picked"] == [after_photo]
        assert dialog.status_badge.text() == "申请验收"
        assert [p.file_name for p in dialog.detail.photos["after"]] == ["整改后.png"]
        assert len(dialog.photo_buttons) == 1
        assert "说明：已全部更换" in _timeline(dialog)
        viewed = drive(ImageViewer, lambda v: log.setdefault("pixmap", v.image.pixmap().size()))
        click(qtbot, dialog.photo_buttons[0])
        assert viewed and log["pixmap"].width() == 64

        steps.append(accept)
        click(qtbot, dialog.findChild(QPushButton, "accept_button"))
        assert log["reviewer"] == "管理员"  # prefilled with who is signed in
        assert dialog.status_badge.text() == "验收通过"
        assert dialog.findChild(QPushButton, "print_review_button") is not None

        steps.append(close)
        click(qtbot, dialog.findChild(QPushButton, "close_button"))
        assert dialog.status_badge.text() == "已销号"
        assert dialog.step_buttons == {}
        log["events"] = [e.action for e in dialog.detail.events]
        dialog.reject()

    drive(HazardDetailDialog, walk)
    click(qtbot, page.open_button)
    assert steps == []
    assert log["events"] == ["登记", "交办", "开始整改", "申请验收", "验收通过", "销号"]
    assert page.model.record(page.model.row_of(hazard_id))["status_text"] == "已销号"
    assert page.selected_id() == hazard_id


def _three_hazards(services: Services) -> dict[str, str]:
    hazards = services.hazards
    ids = {
        "late": hazards.register({"found_on": _days(-40), "unit_name": "红旗锅炉房", "location": "锅炉间",
                                  "description": "压力容器未按期检验", "deadline": _days(-10)}),
        "soon": hazards.register({"found_on": _days(-5), "unit_name": "青山中心小学", "location": "教学楼",
                                  "description": "安全出口指示灯损坏", "deadline": _days(2)}),
        "fine": hazards.register({"found_on": _days(-1), "unit_name": "S218线", "location": "急弯路段",
                                  "description": "缺少警示标志", "deadline": _days(30)}),
    }
    hazards.act(ids["fine"], HazardAction.ASSIGN,
                {"notice_number": "青山安监整改〔2026〕20号", "notice_issued_on": _days(0)})
    return ids


def test_filters_overdue_status_and_search(qtbot, services, window):
    ids = _three_hazards(services)
    page = _ledger(window)
    assert page.model.rowCount() == 3
    click(qtbot, page.overdue_check)
    assert [page.model.id_at(i) for i in range(page.model.rowCount())] == [ids["late"]]
    background = page.model.data(page.model.index(0, 0), Qt.ItemDataRole.BackgroundRole)
    assert background.color() == OVERDUE_BG
    assert page.count_label.text() == "筛选出 1 条隐患"
    click(qtbot, page.overdue_check)
    click(qtbot, page.due_soon_check)
    assert [page.model.id_at(i) for i in range(page.model.rowCount())] == [ids["soon"]]
    click(qtbot, page.due_soon_check)
    page.status_filter.setCurrentIndex(page.status_filter.findText("已交办"))
    assert [page.model.id_at(i) for i in range(page.model.rowCount())] == [ids["fine"]]
    assert page.model.data(page.model.index(0, 0), Qt.ItemDataRole.BackgroundRole) is None
    page.status_filter.setCurrentIndex(page.status_filter.findData("open"))
    assert page.model.rowCount() == 3
    type_into(qtbot, page.search_edit, "锅炉")
    qtbot.waitUntil(lambda: page.model.rowCount() == 1)
    assert page.model.id_at(0) == ids["late"]
    click(qtbot, page.clear_button)
    assert page.model.rowCount() == 3 and page.search_edit.text() == ""


def test_header_click_sorts_in_sql(qtbot, services, window):
    _three_hazards(services)
    page = _ledger(window)
    column = [key for key, _label in page.model.columns].index("deadline")
    page.table.horizontalHeader().sectionClicked.emit(column)
    assert [page.model.record(i)["deadline"] for i in range(3)] == [_days(-10), _days(2), _days(30)]
    page.table.horizontalHeader().sectionClicked.emit(column)
    assert [page.model.record(i)["deadline"] for i in range(3)] == [_days(30), _days(2), _days(-10)]


def test_dashboard_says_overdue_at_start_up_and_opens_the_filtered_ledger(qtbot, services, data_dir):
    _three_hazards(services)
    window = MainWindow(services, data_dir)  # a fresh start: the 工作台 is the first page
    qtbot.addWidget(window)
    window.show()
    dashboard = window.page("dashboard")
    values = {lbl.accessibleName(): lbl.text() for lbl in dashboard.findChildren(QLabel) if lbl.accessibleName()}
    assert (values["hazards_open"], values["hazards_overdue"], values["hazards_due_soon"]) == ("3", "1", "1")
    items = {dashboard.attention_list.item(i).text(): dashboard.attention_list.item(i)
             for i in range(dashboard.attention_list.count())}
    assert "• 1 项隐患已逾期" in items and "• 1 项隐患3天内到期" in items
    item = items["• 1 项隐患已逾期"]
    view = dashboard.attention_list
    where = view.visualItemRect(item).center()
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=where)  # a real double click starts
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=where)  # with a click
    assert window.current_area() == "hazards"
    ledger = window.page("hazards")
    assert ledger.overdue_check.isChecked()
    assert [ledger.model.record(i)["unit_name"] for i in range(ledger.model.rowCount())] == ["红旗锅炉房"]
    # Back on the 工作台, the 临期 card opens the ledger showing only what it counts.
    window.show_area("dashboard")
    card = next(lbl for lbl in window.page("dashboard").findChildren(QLabel)
                if lbl.accessibleName() == "hazards_due_soon").parentWidget()
    qtbot.mouseClick(card, Qt.MouseButton.LeftButton, pos=QPoint(10, 10))
    assert window.current_area() == "hazards"
    assert ledger.due_soon_check.isChecked() and not ledger.overdue_check.isChecked()
    assert [ledger.model.record(i)["unit_name"] for i in range(ledger.model.rowCount())] == ["青山中心小学"]


def test_read_only_account_sees_no_write_buttons(qtbot, services, data_dir):
    ids = _three_hazards(services)
    reader = Services(services.db, READER)
    window = MainWindow(reader, data_dir)
    qtbot.addWidget(window)
    window.show()
    assert not window.register_hazard_button.isVisibleTo(window)
    assert not window.register_hazard_action.isEnabled()
    page = _ledger(window)
    assert not page.register_button.isVisibleTo(page)
    assert not page.import_button.isVisibleTo(page)
    assert page.open_button.isVisibleTo(page) and page.export_button.isVisibleTo(page)
    dialog = HazardDetailDialog(reader, ids["fine"], page)
    qtbot.addWidget(dialog)
    assert dialog.step_buttons == {}
    names = {b.objectName() for b in dialog.findChildren(QPushButton)}
    assert not names & {"assign_button", "start_button", "edit_button", "supervise_button"}
    assert "print_notice_button" in names  # reading and printing stay open to everyone


def test_print_notice_writes_a_pdf_and_opens_it(qtbot, services, window, monkeypatch, tmp_path, opened_urls):
    pytest.importorskip("app.documents.hazard_pdfs")
    ids = _three_hazards(services)
    target = tmp_path / "out" / "通知书.pdf"
    target.parent.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *_a, **_k: (str(target), "PDF 文件 (*.pdf)"))
    dialog = HazardDetailDialog(services, ids["fine"], window)
    qtbot.addWidget(dialog)
    click(qtbot, dialog.print_buttons["notice"])
    assert target.is_file() and target.read_bytes()[:4] == b"%PDF"
    assert target in previewed_pdfs()  # shown in the app's preview, printed from there
    assert not opened_urls


def _save_as(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *_a, **_k: (str(path), ""))


def test_print_ledger_writes_the_filtered_rows_and_opens_the_pdf(qtbot, services, window, monkeypatch, tmp_path,
                                                                opened_urls):
    pytest.importorskip("app.documents.hazard_pdfs")
    _three_hazards(services)
    page = _ledger(window)
    click(qtbot, page.overdue_check)
    written: list = []
    import app.documents.hazard_pdfs as pdfs

    real = pdfs.write_ledger
    monkeypatch.setattr(pdfs, "write_ledger", lambda rows, profile, path: written.append(rows) or real(
        rows, profile, path))
    target = tmp_path / "台账"  # the .pdf is added
    _save_as(monkeypatch, target)
    click(qtbot, page.print_button)
    assert [[r["unit_name"] for r in rows] for rows in written] == [["红旗锅炉房"]]
    pdf = target.with_suffix(".pdf")
    assert pdf.read_bytes()[:4] == b"%PDF"
    assert pdf in previewed_pdfs()
    assert page.print_button.toolTip().startswith("生成 PDF 文件")


def test_export_the_ledger_to_excel(qtbot, services, window, monkeypatch, tmp_path):
    pytest.importorskip("app.services.hazard_excel")
    _three_hazards(services)
    page = _ledger(window)
    exported = tmp_path / "台账.xlsx"
    _save_as(monkeypatch, exported)
    click(qtbot, page.export_button)
    assert "已导出 3 条隐患" in window.statusBar().currentMessage()
    sheet = openpyxl.load_workbook(exported).active
    units = {row[0] for row in sheet.iter_rows(min_row=2, values_only=True, min_col=_column(sheet, "单位/场所"),
                                               max_col=_column(sheet, "单位/场所"))}
    assert {"红旗锅炉房", "青山中心小学", "S218线"} <= units


def _column(sheet, header: str) -> int:
    return next(cell.column for cell in sheet[1] if cell.value == header)


def test_import_an_office_ledger_through_the_wizard(qtbot, services, window, monkeypatch, tmp_path, drive,
                                                    messages):
    pytest.importorskip("app.services.hazard_excel")
    from app.ui.organisation.import_dialog import ImportDialog

    services.register("enterprises").save({"name": "河口砖厂"})
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    rows = [["序号", "排查日期", "单位名称", "隐患部位", "存在问题", "整改期限"],
            [1, "2026-11-02", "河口砖厂", "窑炉旁", "配电箱无防护门", "2026-11-30"],
            [2, "2026-13-40", "石桥加油站", "卸油区", "静电接地线断开", ""]]
    for row in rows:
        sheet.append(row)
    office_file = tmp_path / "隐患台账.xlsx"
    workbook.save(office_file)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *_a, **_k: (str(office_file), ""))
    seen: dict = {}

    def act(dialog: ImportDialog) -> None:
        seen["title"] = dialog.windowTitle()
        click(qtbot, dialog.findChild(QPushButton, "browse_button"))
        click(qtbot, dialog.next_button)
        click(qtbot, dialog.next_button)
        seen["summary"] = dialog.summary_label.text() or dialog.error_label.text()
        seen["refused_with_errors"] = not dialog.import_button.isEnabled()
        dialog.skip_errors_check.setChecked(True)  # the user chooses to import the valid rows only
        click(qtbot, dialog.import_button)

    page = _ledger(window)
    drive(ImportDialog, act)
    click(qtbot, page.import_button)
    assert seen["title"] == "从Excel导入隐患台账"
    assert "将新增 1 条" in seen["summary"] and "有错误 1 行" in seen["summary"]
    assert seen["refused_with_errors"]  # all or nothing unless the user ticks 跳过有错误的行
    assert any("新增 1 条" in text and "跳过 1 行" in text for _kind, text in messages)
    assert [page.model.record(i)["unit_name"] for i in range(page.model.rowCount())] == ["河口砖厂"]


def test_a_step_overtaken_by_someone_else_says_so_at_the_top(qtbot, services, window, drive, village):
    hazard_id = services.hazards.register(NEW_HAZARD)
    dialog = HazardDetailDialog(services, hazard_id, window)
    qtbot.addWidget(dialog)
    seen: dict = {}

    def act(d: StepDialog) -> None:
        # Meanwhile a colleague on the other PC issued the notice.
        services.hazards.act(hazard_id, HazardAction.ASSIGN, {"notice_number": "青山安监整改〔2026〕9号",
                                                              "notice_issued_on": "2026-11-21"})
        _fill(qtbot, d, {"notice_number": "青山安监整改〔2026〕10号"})
        _save(qtbot, d)
        seen["open"] = d.isVisible()
        seen["top"] = d.form_error.text() if d.form_error.isVisible() else ""
        seen["field_errors"] = [n for n, label in d.form.errors.items() if label.isVisible()]
        d.reject()

    drive(StepDialog, act)
    click(qtbot, dialog.step_buttons[HazardAction.ASSIGN])
    assert seen == {"open": True, "field_errors": [],
                    "top": "隐患 2026-0001 当前状态为「已交办」，不能进行「交办」。"}
    assert not dialog.changed
