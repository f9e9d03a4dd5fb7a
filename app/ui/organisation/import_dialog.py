"""从Excel导入: choose file and sheet → check the column mapping → preview every row → import."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.errors import XiangAnError
from app.services.fields import RegisterSpec, display
from app.services.imports import ImportService, ImportSource, PreviewRow
from app.services.organisation import REGISTERS
from app.ui.style import DANGER
from app.ui.widgets.common import RememberingDialog, button, error_label, show_info, ui_settings
from app.ui.widgets.progress import run_with_progress

SKIP = "（不导入）"
ERROR_BG = QColor("#fdecea")
PREVIEW_LIMIT = 2000  # rows shown; all rows are still checked and imported


class ImportDialog(RememberingDialog):
    settings_key = "import_dialog"

    def __init__(self, importer: ImportService, kind: str, parent: QWidget | None = None,
                 spec: RegisterSpec | None = None) -> None:
        """``spec`` lets another register (the hazard ledger) reuse the wizard: its importer then offers
        ImportService's load/suggest_mapping/preview/apply/remember_mapping for ``kind``."""
        super().__init__(parent)
        self.importer = importer
        self.kind = kind
        self.spec = spec or REGISTERS[kind]
        self.source: ImportSource | None = None
        self.load_problem = ""  # why the chosen file or sheet could not be read
        self.preview_rows: list[PreviewRow] = []
        self.setWindowTitle(f"从Excel导入{self.spec.title}")
        self.pages = QStackedWidget()
        self.pages.addWidget(self._file_page())
        self.pages.addWidget(self._mapping_page())
        self.pages.addWidget(self._preview_page())
        self.back_button = button("上一步", name="back_button")
        self.next_button = button("下一步", primary=True, name="next_button")
        self.import_button = button("导入", primary=True, name="do_import_button")
        cancel = button("取消", name="cancel_button")
        self.back_button.clicked.connect(self.on_back_clicked)
        self.next_button.clicked.connect(self.on_next_clicked)
        self.import_button.clicked.connect(self.on_import_clicked)
        cancel.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for b in (self.back_button, self.next_button, self.import_button, cancel):
            buttons.addWidget(b)
        self.error_label = error_label()
        layout = QVBoxLayout(self)
        layout.addWidget(self.error_label)
        layout.addWidget(self.pages, 1)
        layout.addLayout(buttons)
        self.resize(900, 600)
        self._show_page(0)

    # -- page 1: file and sheet ------------------------------------------------------------
    def _file_page(self) -> QWidget:
        page = QWidget()
        self.path_edit = QLineEdit()
        self.path_edit.setObjectName("path_edit")
        self.path_edit.setReadOnly(True)
        self.path_edit.setPlaceholderText("请选择本办公室已有的Excel名单（.xlsx、.xls 或 .csv）")
        browse = button("选择文件…", name="browse_button")
        browse.clicked.connect(self.on_browse_clicked)
        self.sheet_combo = QComboBox()
        self.sheet_combo.setObjectName("sheet_combo")
        self.sheet_combo.activated.connect(lambda _i: self.load(Path(self.path_edit.text())))
        self.file_info = QLabel()
        self.file_info.setObjectName("hint")
        self.file_info.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        layout = QVBoxLayout(page)
        layout.addWidget(QLabel(f"第1步：选择要导入的{self.spec.title}Excel文件和工作表"))
        layout.addLayout(row)
        sheet_row = QHBoxLayout()
        sheet_row.addWidget(QLabel("工作表："))
        sheet_row.addWidget(self.sheet_combo, 1)
        layout.addLayout(sheet_row)
        layout.addWidget(self.file_info)
        labels = "、".join(f.label + ("（必填）" if f.required and not f.default else "") for f in self.spec.fields)
        tip = QLabel(f"可以导入的列：{labels}。表头不必完全一致，下一步可以手动对应。")
        tip.setWordWrap(True)
        tip.setObjectName("hint")
        layout.addWidget(tip)
        layout.addStretch(1)
        return page

    def on_browse_clicked(self) -> None:
        folder = str(ui_settings().value("import/folder", str(Path.home())))
        path, _f = QFileDialog.getOpenFileName(self, "选择Excel文件", folder,
                                               "表格文件 (*.xlsx *.xlsm *.xls *.csv);;所有文件 (*)")
        if path:
            ui_settings().setValue("import/folder", str(Path(path).parent))
            self.load(Path(path), first=True)

    def load(self, path: Path, first: bool = False) -> bool:
        sheet = None if first else self.sheet_combo.currentText() or None
        source, problem = self._read("正在读取文件…", lambda: self.importer.load(path, self.kind, sheet))
        if source is None:
            self.load_problem = problem
            self._error(problem)
            self.source = None
            return False
        self.source = source
        self.load_problem = ""
        self._error("")
        self.path_edit.setText(str(path))
        self.sheet_combo.blockSignals(True)
        self.sheet_combo.clear()
        self.sheet_combo.addItems(self.source.sheets)
        self.sheet_combo.setCurrentText(self.source.sheet)
        self.sheet_combo.blockSignals(False)
        sheet_data = self.source.data
        self.file_info.setText(
            f"表头在第{sheet_data.header_row}行，共{len(sheet_data.headers)}列、{len(sheet_data.rows)}行数据。"
        )
        self._fill_mapping()
        return True

    # -- page 2: column mapping ------------------------------------------------------------
    def _mapping_page(self) -> QWidget:
        page = QWidget()
        self.mapping_table = QTableWidget(0, 3)
        self.mapping_table.setObjectName("mapping_table")
        self.mapping_table.setHorizontalHeaderLabels(["Excel中的列", "示例内容", "导入为"])
        self.mapping_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.mapping_table.verticalHeader().hide()
        self.mapping_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        layout = QVBoxLayout(page)
        layout.addWidget(QLabel("第2步：核对每一列对应的项目（已按表头自动对应，本次的选择下次会记住）"))
        layout.addWidget(self.mapping_table, 1)
        return page

    def _fill_mapping(self) -> None:
        assert self.source is not None
        sheet = self.source.data
        mapping = self.importer.suggest_mapping(self.kind, sheet.headers)
        self.mapping_table.setRowCount(len(sheet.headers))
        for col, header in enumerate(sheet.headers):
            sample = next((str(r.cells[col]) for r in sheet.rows if col < len(r.cells) and r.cells[col] not in (None, "")), "")
            self.mapping_table.setItem(col, 0, QTableWidgetItem(header))
            self.mapping_table.setItem(col, 1, QTableWidgetItem(sample))
            combo = QComboBox()
            combo.addItem(SKIP, "")
            for f in self.spec.fields:
                combo.addItem(f.label, f.name)
            combo.setCurrentIndex(max(0, combo.findData(mapping.get(col, ""))))
            self.mapping_table.setCellWidget(col, 2, combo)

    def mapping(self) -> dict[int, str]:
        chosen: dict[int, str] = {}
        for col in range(self.mapping_table.rowCount()):
            name = self.mapping_table.cellWidget(col, 2).currentData()
            if name:
                chosen[col] = name
        return chosen

    def _mapping_problem(self, mapping: dict[int, str]) -> str:
        names = list(mapping.values())
        twice = sorted({self.spec.field(n).label for n in names if names.count(n) > 1})
        if twice:
            return f"「{'、'.join(twice)}」对应了多列，请只保留一列。"
        # A required field with a default (隐患等级 → 一般) takes the default when no column gives it.
        missing = [f.label for f in self.spec.fields if f.required and not f.default and f.name not in names]
        if missing:
            return f"必须有一列对应「{'、'.join(missing)}」。"
        return ""

    # -- page 3: preview -------------------------------------------------------------------
    def _preview_page(self) -> QWidget:
        page = QWidget()
        self.summary_label = QLabel()
        self.summary_label.setObjectName("summary_label")
        self.summary_label.setWordWrap(True)
        self.preview_table = QTableWidget(0, 0)
        self.preview_table.setObjectName("preview_table")
        self.preview_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.preview_table.verticalHeader().hide()
        # All or nothing unless the user chooses otherwise: a ledger half-imported by accident is
        # worse than one refused with the reasons listed.
        self.skip_errors_check = QCheckBox("跳过有错误的行，只导入无误的行")
        self.skip_errors_check.setObjectName("skip_errors_check")
        self.skip_errors_check.toggled.connect(lambda _on: self._update_summary())
        layout = QVBoxLayout(page)
        layout.addWidget(QLabel("第3步：检查预览。有错误的行请在Excel中改正后再导入；也可以只导入无误的行。"))
        layout.addWidget(self.summary_label)
        layout.addWidget(self.preview_table, 1)
        layout.addWidget(self.skip_errors_check)
        return page

    def _fill_preview(self) -> None:
        rows = self.preview_rows
        fields = [f for f in self.spec.fields if f.name in set(self.mapping().values())]
        headers = ["行号", "操作", *[f.label for f in fields], "问题"]
        self.preview_table.setColumnCount(len(headers))
        self.preview_table.setHorizontalHeaderLabels(headers)
        shown = rows[:PREVIEW_LIMIT]
        self.preview_table.setRowCount(len(shown))
        for r, row in enumerate(shown):
            problems = "；".join(f"{self.spec.labels.get(k, '')}：{v}" if k in self.spec.labels else v
                                for k, v in row.errors.items())
            cells = [str(row.number), row.action, *[display(row.values.get(f.name)) for f in fields], problems]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                if row.errors:
                    item.setBackground(QBrush(ERROR_BG))
                    if c == len(cells) - 1:
                        item.setForeground(QBrush(QColor(DANGER)))
                self.preview_table.setItem(r, c, item)
        self.preview_table.resizeColumnsToContents()
        self.preview_table.horizontalHeader().setStretchLastSection(True)
        self.skip_errors_check.setChecked(False)
        self._update_summary()

    def _update_summary(self) -> None:
        rows = self.preview_rows
        counts = {action: sum(1 for row in rows if row.action == action) for action in ("新增", "更新", "无变化", "有错误")}
        errors, skip = counts["有错误"], self.skip_errors_check.isChecked()
        self.skip_errors_check.setVisible(errors > 0)
        if not errors:
            outcome = "没有错误。"
        elif skip:
            outcome = f"有错误 {errors} 行将跳过。"
        else:
            outcome = f"有错误 {errors} 行：请在Excel中改正后重新导入，或勾选下方「跳过有错误的行」。"
        more = f"（预览只显示前{PREVIEW_LIMIT}行）" if len(rows) > PREVIEW_LIMIT else ""
        self.summary_label.setText(
            f"共{len(rows)}行：将新增 {counts['新增']} 条，更新 {counts['更新']} 条，无变化 {counts['无变化']} 条。"
            f"{outcome}{more}"
        )
        self.import_button.setEnabled(counts["新增"] + counts["更新"] > 0 and (not errors or skip))

    # -- navigation ------------------------------------------------------------------------
    def _show_page(self, index: int) -> None:
        self.pages.setCurrentIndex(index)
        self.back_button.setVisible(index > 0)
        self.next_button.setVisible(index < 2)
        self.import_button.setVisible(index == 2)

    def on_back_clicked(self) -> None:
        self._error("")
        self._show_page(self.pages.currentIndex() - 1)

    def on_next_clicked(self) -> None:
        page = self.pages.currentIndex()
        if page == 0:
            if self.source is None:
                self._error(self.load_problem or "请先选择要导入的文件。")
                return
            self._show_page(1)
        elif page == 1:
            mapping = self.mapping()
            problem = self._mapping_problem(mapping)
            if problem:
                self._error(problem)
                return
            source = self.source
            rows, problem = self._read("正在检查每一行…", lambda: self.importer.preview(self.kind, source, mapping))
            if rows is None:
                self._error(problem)
                return
            self.preview_rows = rows
            self._error("")
            self._fill_preview()
            self._show_page(2)

    def on_import_clicked(self) -> None:
        mapping = self.mapping()
        source = self.source
        self.import_button.setEnabled(False)  # one click, one import
        try:
            result = run_with_progress(
                self, f"正在导入{self.spec.title}…",
                lambda progress, cancelled: self.importer.apply(self.kind, source, mapping, progress, cancelled),
            )
        finally:
            self.import_button.setEnabled(True)
        if result is None:
            return
        self.importer.remember_mapping(self.kind, source.data.headers, mapping)
        skipped = len(result.skipped_rows)
        show_info(self, f"导入完成：新增 {result.created} 条，更新 {result.updated} 条，"
                        f"无变化 {result.unchanged} 条，跳过 {skipped} 行。", "导入完成")
        self.accept()

    def _read(self, text: str, fn: Callable[[], Any]) -> tuple[Any, str]:
        """Read or check the file off the UI thread (a 10,000-row sheet takes seconds); a problem with
        the file comes back as text for this dialog to show in place, not as a message box."""

        def job(_progress: Callable[[int, int], None], _cancelled: Callable[[], bool]) -> tuple[Any, str]:
            try:
                return fn(), ""
            except XiangAnError as exc:
                return None, str(exc)

        outcome = run_with_progress(self, text, job)
        return outcome if outcome is not None else (None, "")  # None: an unexpected error, already shown

    def _error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))
