"""七有/五有 screens: the overview grid and card, the detail with gaps and evidence, the registers with
their scope filter and attachments, self-assessments, the report, and the 工作台 reminders."""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFileDialog, QListWidget, QProgressDialog, QPushButton

from app.ui.readiness.assessments import AssessmentHistoryDialog, SelfAssessmentDialog
from app.ui.readiness.page import ReadinessPage
from app.ui.widgets.record_form import RecordDialog
from tests.ui.conftest import click, previewed_pdfs, type_into

TEAM = "石桥村应急分队"


@pytest.fixture
def township(services):
    """石桥村 has a team of 7 (the standard asks for 10); 城东社区 has nothing registered yet."""
    villages = services.register("villages")
    villages.save({"name": "石桥村", "population": "300", "head_phone": "13800138000"})
    villages.save({"name": "城东社区", "kind": "社区", "population": "800"})
    services.register("teams").save({"name": TEAM, "village": "石桥村", "kind": "综合应急救援队伍"})
    members = services.register("team_members")
    for n in range(7):
        members.save({"name": f"队员{n}", "team": TEAM, "phone": f"1390000000{n}"})
    return services


@pytest.fixture
def page(qtbot, township) -> ReadinessPage:
    widget = ReadinessPage(township)
    qtbot.addWidget(widget)
    widget.resize(1200, 760)
    widget.show()
    return widget


def unit_id(services, name: str) -> str:
    return next(v.unit_id for v in services.readiness.summary().villages if v.name == name)


def click_cell(qtbot, table, row: int, column: int) -> None:
    rect = table.visualRect(table.model().index(row, column))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def cell_text(page: ReadinessPage, village: str, item: str) -> str:
    table = page.overview.village_table
    return table.item(page.overview.village_row(village), page.overview.item_column(item)).text()


def team_gap(page: ReadinessPage, qtbot) -> str:
    """Open 石桥村's 有综合应急队伍 cell and return the gap text the detail shows."""
    overview = page.overview
    click_cell(qtbot, overview.village_table, overview.village_row("石桥村"), overview.item_column("有综合应急队伍"))
    return page.detail_dialog.gaps_label.text()


def test_overview_shows_each_village_with_its_status(page, township):
    summary = township.readiness.summary()
    table = page.overview.village_table
    assert [table.item(r, 0).text() for r in range(table.rowCount())] == [v.name for v in summary.villages]
    for village in summary.villages:
        row = page.overview.village_row(village.name)
        assert table.item(row, 1).text().startswith("✓" if village.passed else "✗")
        for item in village.items:
            text = cell_text(page, village.name, item.name)
            if item.passed:
                assert text == "✓ 达标"
            else:
                assert text == ("！ 部分达标" if item.score > 0 else "✗ 未达标")
    assert cell_text(page, "城东社区", "有应急避难场所") == "✗ 未达标"  # no shelter: no points at all
    assert cell_text(page, "石桥村", "有综合应急队伍") == "！ 部分达标"  # 7 of 10 members earn part of the points
    township_unit = summary.township
    assert page.overview.township_verdict.text() == ("✓ 达标" if township_unit.passed else "✗ 未达标")
    assert set(page.overview.item_buttons) == {item.key for item in township_unit.items}
    assert "/2 个达标" in page.overview.grid_title.text()


def test_clicking_a_failing_cell_shows_its_gap_and_evidence(qtbot, page):
    assert "综合应急队伍 10 人以上：当前 7 人" in team_gap(page, qtbot)
    detail = page.detail_dialog
    assert detail.isVisible() and detail.title_label.text() == "石桥村"
    assert detail.current_item().name == "有综合应急队伍"
    criteria = detail.criteria_table
    texts = [criteria.item(r, 0).text() for r in range(criteria.rowCount())]
    assert "组建10人以上的村（社区）综合应急队伍" in texts
    evidence = [detail.evidence_list.item(i).text() for i in range(detail.evidence_list.count())]
    assert f"[救援队伍] {TEAM}（综合应急救援队伍）" in evidence and "[队员] 队员0（队员）" in evidence

    overview = page.overview
    click_cell(qtbot, overview.village_table, overview.village_row("城东社区"), overview.item_column("有应急避难场所"))
    assert not detail.isVisible()  # one detail window at a time
    assert page.detail_dialog.title_label.text() == "城东社区"
    assert page.detail_dialog.current_item().name == "有应急避难场所"


def test_township_card_item_opens_the_township_detail(qtbot, page):
    click(qtbot, page.overview.item_buttons["teams"])
    detail = page.detail_dialog
    assert detail.unit.level == "township"
    assert detail.current_item().key == "teams"
    assert "综合应急救援队伍 30 人以上：当前 0 人" in detail.gaps_label.text()


def test_double_clicking_evidence_opens_the_record_in_its_register(qtbot, page, township):
    team_gap(page, qtbot)
    evidence = page.detail_dialog.evidence_list
    entry = next(evidence.item(i) for i in range(evidence.count())
                 if evidence.item(i).text().startswith(f"[救援队伍] {TEAM}"))
    evidence.itemDoubleClicked.emit(entry)
    assert page.tabs.currentIndex() == 1
    assert page.registers.current_kind() == "teams"
    view = page.registers.current_view()
    assert view.model.record(view.model.row_of(view.selected_id()))["name"] == TEAM
    assert page.registers.attachments.title_label.text() == f"附件 — {TEAM}"


def test_adding_a_team_member_through_the_form_changes_the_assessment(qtbot, page, drive):
    page.tabs.setCurrentIndex(1)
    registers = page.registers
    registers.kind_list.setCurrentRow(list(registers.views).index("team_members"))
    view = registers.current_view()

    def fill(dialog: RecordDialog) -> None:
        type_into(qtbot, dialog.form.editors["name"], "王新")
        editor = dialog.form.editors["team"]
        if hasattr(editor, "setCurrentText"):
            editor.setCurrentText(TEAM)
        else:
            type_into(qtbot, editor, TEAM)
        click(qtbot, dialog.findChild(type(view.add_button), "save_button"))

    opened = drive(RecordDialog, fill)
    click(qtbot, view.add_button)
    assert opened and opened[0].saved_id
    page.tabs.setCurrentIndex(0)  # the overview re-evaluates when it is shown again
    assert "综合应急队伍 10 人以上：当前 8 人" in team_gap(page, qtbot)


def test_scope_filter_shows_township_level_or_one_village(qtbot, page, township):
    township.register("teams").save({"name": "镇综合应急救援队"})
    page.refresh()
    registers = page.registers
    registers.kind_list.setCurrentRow(0)  # 救援队伍
    view = registers.current_view()

    def names() -> list[str]:
        return [view.model.record(r)["name"] for r in range(view.model.rowCount())]

    assert sorted(names()) == sorted([TEAM, "镇综合应急救援队"])
    registers.scope_combo.setCurrentIndex(registers.scope_combo.findData("石桥村"))
    assert names() == [TEAM]
    assert registers.kind_list.item(0).text() == "救援队伍 1"  # each register's count in the 范围
    registers.scope_combo.setCurrentIndex(registers.scope_combo.findData("乡镇本级"))
    assert names() == ["镇综合应急救援队"]
    registers.scope_combo.setCurrentIndex(0)
    assert len(names()) == 2


def test_attachments_panel_follows_the_selected_row(qtbot, page, monkeypatch, tmp_path, messages):
    page.tabs.setCurrentIndex(1)
    registers = page.registers
    registers.kind_list.setCurrentRow(0)
    view = registers.current_view()
    view.table.selectRow(0)
    panel = registers.attachments
    assert panel.record_id == view.selected_id() and panel.add_button.isEnabled()
    scan = tmp_path / "队伍组建文件.pdf"
    scan.write_bytes(b"%PDF-1.4\n%%EOF\n")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(scan), ""))
    click(qtbot, panel.add_button)
    assert [row.file_name for row in panel.rows()] == ["队伍组建文件.pdf"]
    registers.kind_list.setCurrentRow(2)  # another register, nothing selected there yet
    assert panel.record_id == "" and not panel.add_button.isEnabled()


def test_self_assessment_is_validated_saved_and_listed(qtbot, page, township, drive, messages):
    village = unit_id(township, "石桥村")
    page.overview.village_table.setCurrentCell(page.overview.village_row("石桥村"), 0)

    def assess(dialog: SelfAssessmentDialog) -> None:
        assert dialog.unit_combo.currentData() == village
        assert "未达标" in dialog.score_label.text()
        click(qtbot, dialog.findChild(type(page.assess_button), "save_button"))
        assert dialog.field_errors["assessor"].isVisible()
        assert dialog.field_errors["assessor"].text() == "必填，请填写评估人姓名"
        assert dialog.isVisible()
        type_into(qtbot, dialog.assessor_edit, "李明")
        dialog.notes_edit.setPlainText("队员人数不足，年底前补齐")
        click(qtbot, dialog.findChild(type(page.assess_button), "save_button"))

    opened = drive(SelfAssessmentDialog, assess)
    click(qtbot, page.assess_button)
    assert opened[0].saved_id
    rows = township.readiness.assessments(village)
    assert [(r.assessor, r.kind, r.assessed_on, r.notes) for r in rows] == [
        ("李明", "self", date.today(), "队员人数不足，年底前补齐")]

    seen: dict[str, list[str]] = {}

    def look(dialog: AssessmentHistoryDialog) -> None:
        table = dialog.history_table
        seen["history"] = [table.item(0, c).text() for c in range(table.columnCount())]
        compare = dialog.compare_table
        seen["compare"] = [compare.item(r, 0).text() for r in range(compare.rowCount())]
        dialog.accept()

    drive(AssessmentHistoryDialog, look)
    click(qtbot, page.history_button)
    assert seen["history"][:4] == [date.today().isoformat(), "石桥村", "自评", "李明"]
    assert seen["history"][5] == "✗ 未达标"
    assert "有综合应急队伍" in seen["compare"] and seen["compare"][-1] == "总分"


def test_print_report_writes_and_previews_the_pdf(qtbot, page, monkeypatch, tmp_path):
    target = tmp_path / "报告" / "达标报告"
    target.parent.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    click(qtbot, page.print_button)
    written = target.with_suffix(".pdf")
    assert written.exists() and written.read_bytes().startswith(b"%PDF")
    assert written in previewed_pdfs()


def test_dashboard_reminders_open_the_right_place(qtbot, window, services):
    services.register("villages").save({"name": "石桥村", "population": "300"})
    soon = date.today() + timedelta(days=10)
    supply = services.register("supplies").save({"name": "饮用水", "quantity": "20", "unit": "箱",
                                                 "expires_on": soon.isoformat()})
    dashboard = window.page("dashboard")
    dashboard.refresh()
    listing: QListWidget = dashboard.readiness_list
    lines = [listing.item(i).text() for i in range(listing.count())]
    expiring = next(listing.item(i) for i, text in enumerate(lines) if "饮用水" in text)
    assert "还有10天" in expiring.text()
    assert any("石桥村未达标" in text for text in lines)
    listing.itemDoubleClicked.emit(expiring)
    assert window.current_area() == "readiness"
    page = window.page("readiness")
    assert page.tabs.currentIndex() == 1 and page.registers.current_kind() == "supplies"
    assert page.registers.current_view().selected_id() == supply

    window.show_area("dashboard")
    listing = window.page("dashboard").readiness_list
    village_line = next(listing.item(i) for i in range(listing.count()) if "石桥村未达标" in listing.item(i).text())
    listing.itemDoubleClicked.emit(village_line)
    assert window.current_area() == "readiness"
    assert page.detail_dialog is not None and page.detail_dialog.title_label.text() == "石桥村"
    page.detail_dialog.close()



def test_report_can_be_cancelled_while_it_is_written(qtbot, page, monkeypatch, tmp_path, messages):
    """The report runs off the UI thread: the progress dialog's 取消 stops it and nothing is previewed."""
    from app.errors import XiangAnError
    from app.services.readiness import ReadinessService

    seen: dict[str, object] = {}

    def slow_write(self, path, progress=None, cancel=None):
        progress(1, 3, "永和镇")
        give_up = time.monotonic() + 10  # a broken cancel fails the test instead of hanging it
        while not cancel() and time.monotonic() < give_up:
            time.sleep(0.01)
        seen["cancelled"] = cancel()
        raise XiangAnError("已取消，报告未生成。")  # as the real report does when cancelled

    def press_cancel() -> None:
        dialogs = [d for d in page.findChildren(QProgressDialog) if d.isVisible()]
        seen["progress"] = [(d.value(), d.maximum()) for d in dialogs]
        for dialog in dialogs:
            cancel_button = next(b for b in dialog.findChildren(QPushButton) if b.text() == "取消")
            cancel_button.click()

    monkeypatch.setattr(ReadinessService, "write_report", slow_write)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "报告.pdf"), ""))
    QTimer.singleShot(600, press_cancel)
    click(qtbot, page.print_button)
    assert seen == {"progress": [(1, 3)], "cancelled": True}  # the report's progress reached the dialog
    assert previewed_pdfs() == [] and messages == []


def test_read_only_accounts_see_but_cannot_change(qtbot, township):
    from tests.conftest import READER

    township.actor = READER
    widget = ReadinessPage(township)
    qtbot.addWidget(widget)
    assert not widget.assess_button.isEnabled()
    assert widget.history_button.isEnabled() and widget.print_button.isEnabled()
    view = widget.registers.current_view()
    assert not view.add_button.isEnabled()
    view.table.selectRow(0)
    assert widget.registers.attachments.record_id and not widget.registers.attachments.add_button.isEnabled()


def test_evidence_kept_in_another_area_opens_that_area(qtbot, window, services):
    """A 联系人 proving the township has staff lives in 组织机构: double-clicking it goes there."""
    services.register("contacts").save({"name": "周敏", "roles": ["应急管理员"], "mobile": "13900001111"})
    window.show_area("readiness")
    page = window.page("readiness")
    click(qtbot, page.overview.item_buttons["organisation"])
    evidence = page.detail_dialog.evidence_list
    entry = next(evidence.item(i) for i in range(evidence.count()) if evidence.item(i).text().startswith("[联系人] 周敏"))
    evidence.itemDoubleClicked.emit(entry)
    assert window.current_area() == "organisation"
    page.detail_dialog.close()
