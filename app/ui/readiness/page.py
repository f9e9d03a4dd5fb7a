"""七有/五有 area: the overview (达标总览) and the registers that prove it (台账)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFileDialog, QLabel, QMainWindow, QTabWidget, QVBoxLayout, QWidget

from app.errors import XiangAnError
from app.services import Services
from app.services.organisation import REGISTERS
from app.services.readiness_registers import READINESS_KINDS
from app.ui.readiness.assessments import AssessmentHistoryDialog, SelfAssessmentDialog
from app.ui.readiness.detail import UnitDetailDialog
from app.ui.readiness.overview import OverviewWidget
from app.ui.readiness.registers import ReadinessRegisters
from app.ui.widgets.common import button, exec_once, page_header, ui_settings
from app.ui.widgets.pdf_preview import PRINT_TIP, open_preview
from app.ui.widgets.progress import run_with_progress
from app.ui.widgets.register_excel import RegisterExcel

REPORT_TITLE = "七有五有达标情况报告"


class ReadinessPage(QWidget):
    navigate = Signal(str)
    changed = Signal()

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services
        self.excel = RegisterExcel(services, self._tell)
        self.detail_dialog: UnitDetailDialog | None = None

        self.assess_button = button("自评", primary=True, name="assess_button")
        self.assess_button.setToolTip("按台账当前情况记录一次带日期的评估（自评或县级评估）")
        self.assess_button.setEnabled(services.actor.role.can_write)
        self.history_button = button("评估记录", name="history_button")
        self.history_button.setToolTip("历次评估的得分和逐项结果，可按年度对比")
        self.print_button = button("打印报告", name="print_button")
        self.print_button.setToolTip(PRINT_TIP)
        self.refresh_button = button("刷新", name="refresh_button")
        self.assess_button.clicked.connect(self.on_assess_clicked)
        self.history_button.clicked.connect(self.on_history_clicked)
        self.print_button.clicked.connect(self.on_print_clicked)
        self.refresh_button.clicked.connect(self.refresh)

        self.overview = OverviewWidget(services)
        self.overview.open_detail.connect(self.show_detail)
        self.error_label = QLabel()
        self.error_label.setObjectName("formError")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        overview_tab = QWidget()
        column = QVBoxLayout(overview_tab)
        column.setContentsMargins(10, 10, 10, 10)
        column.addWidget(self.error_label)
        column.addWidget(self.overview, 1)
        self.registers = ReadinessRegisters(services, self.excel.open_import, self.excel.export)
        self.registers.changed.connect(self.on_registers_changed)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("readiness_tabs")
        self.tabs.addTab(overview_tab, "达标总览")
        self.tabs.addTab(self.registers, "台账")
        self.tabs.currentChanged.connect(self.on_tab_changed)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        actions = [self.assess_button, self.history_button, self.print_button, self.refresh_button]
        self.header = page_header("七有/五有", "乡镇七有、村（社区）五有和四有达标情况，由台账自动评估", actions)
        layout.addWidget(self.header)
        layout.addWidget(self.tabs, 1)
        self._stale = False
        self.reload_overview()

    # -- data ------------------------------------------------------------------------------
    def reload_overview(self) -> None:
        problem = self.overview.reload()
        self.error_label.setText(problem)
        self.error_label.setVisible(bool(problem))
        self._stale = False
        if self.detail_dialog is not None:
            self.detail_dialog.reload(self._detail_item())

    def refresh(self) -> None:
        self.reload_overview()
        self.registers.refresh()

    def on_registers_changed(self) -> None:
        """Re-evaluate when the overview is next looked at, not on every edit in the registers."""
        self._stale = True
        if self.detail_dialog is not None:
            self.reload_overview()
        self.changed.emit()

    def on_tab_changed(self, index: int) -> None:
        if index == 0 and self._stale:
            self.reload_overview()

    def _detail_item(self) -> str:
        item = self.detail_dialog.current_item() if self.detail_dialog is not None else None
        return item.key if item is not None else ""

    # -- navigation ------------------------------------------------------------------------
    def apply_filter(self, view: str) -> None:
        """From the 工作台: ``unit:<id>`` (``unit:`` = the township) opens that unit's detail;
        ``<register kind>:<record id>`` opens the record in its register."""
        target, _sep, record_id = view.partition(":")
        if target == "unit":
            self.tabs.setCurrentIndex(0)
            self.show_detail(record_id, "")
        elif target in REGISTERS:
            self.show_record(target, record_id)

    def show_record(self, kind: str, record_id: str) -> None:
        """Readiness registers open here; evidence kept elsewhere (联系人) opens in its own area."""
        if kind not in READINESS_KINDS:
            self.navigate.emit(f"organisation:{kind}:{record_id}")
            return
        self.tabs.setCurrentIndex(1)
        self.registers.show_record(kind, record_id)

    def show_detail(self, unit_id: str, item_key: str) -> UnitDetailDialog:
        """One detail window at a time: a second click replaces it with the unit clicked."""
        if self.detail_dialog is not None:
            self.detail_dialog.close()
        dialog = UnitDetailDialog(self.services, unit_id or None, item_key, self)
        dialog.evidence_opened.connect(self.show_record)
        # finished (not destroyed, which comes later) so a replaced window cannot forget its successor.
        dialog.finished.connect(lambda _result, d=dialog: self._forget_detail(d))
        self.detail_dialog = dialog
        dialog.show()
        return dialog

    def _forget_detail(self, dialog: UnitDetailDialog) -> None:
        if self.detail_dialog is dialog:
            self.detail_dialog = None

    # -- actions ---------------------------------------------------------------------------
    def _selected_unit(self) -> str:
        """The village whose row is selected in the grid, else "" (the dialogs' first entry)."""
        table = self.overview.village_table
        row = table.currentRow()
        if row < 0 or self.tabs.currentIndex() != 0:
            return ""
        return table.item(row, 0).data(Qt.ItemDataRole.UserRole)

    def on_assess_clicked(self) -> None:
        dialog = SelfAssessmentDialog(self.services, self._selected_unit(), self)
        if exec_once(dialog):
            self._tell("已记录评估。")
            self.changed.emit()

    def on_history_clicked(self) -> None:
        exec_once(AssessmentHistoryDialog(self.services, self._selected_unit(), self))

    def on_print_clicked(self) -> Path | None:
        """Like save_and_preview_pdf, but the report reports its progress and can be cancelled: it
        evaluates every village and lists every evidence record, which takes a while in a big township."""
        settings = ui_settings()
        folder = str(settings.value("print/folder", str(Path.home())))
        suggested = Path(folder) / f"{self.services.scope.township_name}{REPORT_TITLE}{date.today():%Y%m%d}.pdf"
        path_text, _f = QFileDialog.getSaveFileName(self, REPORT_TITLE, str(suggested), "PDF 文件 (*.pdf)")
        if not path_text:
            return None
        path = Path(path_text if path_text.lower().endswith(".pdf") else path_text + ".pdf")
        settings.setValue("print/folder", str(path.parent))
        readiness = self.services.readiness

        def write(progress, cancel) -> bool:
            # The report names what it is doing; the dialog shows only how far it is.
            try:
                readiness.write_report(path, lambda done, total, _what="": progress(done, total), cancel)
            except XiangAnError:
                if cancel():  # the officer pressed 取消: no error box for what they asked for
                    return False
                raise
            return not cancel()

        written = run_with_progress(self, f"正在生成{REPORT_TITLE}…", write)
        if not written:
            return None
        open_preview(path, REPORT_TITLE, self)
        return path

    def _tell(self, text: str) -> None:
        """A passing note in the main window's status bar (the page may also stand alone)."""
        window = self.window()
        if isinstance(window, QMainWindow):
            window.statusBar().showMessage(text, 8000)
