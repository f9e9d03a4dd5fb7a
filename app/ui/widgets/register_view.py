"""List, search, filter, add, edit, delete, import and export one register."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.errors import XiangAnError
from app.services.registers import ListQuery, RegisterService
from app.ui.widgets.common import button, confirm, show_error, show_info, ui_settings
from app.ui.widgets.lazy_table import LazyTableModel
from app.ui.widgets.record_form import RecordDialog

FILTER_KINDS = ("village", "sector", "choice")


class RegisterView(QWidget):
    """``service_factory`` is called for every action so a changed scope or login is always current."""

    changed = Signal()

    def __init__(self, service_factory: Callable[[], RegisterService], can_write: bool,
                 open_import: Callable[[QWidget, str], bool] | None = None,
                 export: Callable[[QWidget, str, Path], None] | None = None) -> None:
        super().__init__()
        self._service = service_factory
        service = service_factory()
        self.spec = service.spec
        self._open_import = open_import
        self._export = export
        self._sort = ""
        self._descending = False
        self.setObjectName(f"{self.spec.kind}_view")

        self.search_edit = QLineEdit()
        self.search_edit.setObjectName("search_edit")
        searched = "、".join(f.label for f in self.spec.fields if f.name in self.spec.search)
        self.search_edit.setPlaceholderText(f"搜索{self.spec.title}：{searched}")
        self.search_edit.setClearButtonEnabled(True)
        self._search_timer = QTimer(self, singleShot=True, interval=250)
        self._search_timer.timeout.connect(self.reload)
        self.search_edit.textChanged.connect(lambda _t: self._search_timer.start())

        self.filters: dict[str, QComboBox] = {}
        for f in self.spec.fields:
            if f.kind in FILTER_KINDS:
                combo = QComboBox()
                combo.setObjectName(f"{f.name}_filter")
                combo.addItem(f"全部{f.label}", "")
                for choice in service.choices(f.name):
                    combo.addItem(choice, choice)
                combo.currentIndexChanged.connect(self.reload)
                self.filters[f.name] = combo

        self.add_button = button("新增", primary=True, name="add_button")
        self.edit_button = button("编辑", name="edit_button")
        self.delete_button = button("删除", danger=True, name="delete_button")
        self.import_button = button("从Excel导入", name="import_button")
        self.export_button = button("导出Excel", name="export_button")
        for b in (self.add_button, self.delete_button, self.import_button):
            b.setEnabled(can_write)
        self.add_button.clicked.connect(self.on_add_clicked)
        self.edit_button.clicked.connect(self.on_edit_clicked)
        self.delete_button.clicked.connect(self.on_delete_clicked)
        self.import_button.clicked.connect(self.on_import_clicked)
        self.export_button.clicked.connect(self.on_export_clicked)
        self.import_button.setVisible(open_import is not None)
        self.export_button.setVisible(export is not None)
        self.can_write = can_write

        columns = [(f.name, f.label) for f in self.spec.fields if f.in_table]
        self.model = LazyTableModel(columns, lambda ids: self._service().fetch_rows(ids), self)
        self.table = QTableView()
        self.table.setObjectName(f"{self.spec.kind}_table")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setDefaultSectionSize(28)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header = self.table.horizontalHeader()
        header.setSectionsClickable(True)
        header.setSortIndicatorShown(True)
        header.sectionClicked.connect(self.on_header_clicked)
        header.setStretchLastSection(True)
        for i, f in enumerate(f for f in self.spec.fields if f.in_table):
            self.table.setColumnWidth(i, f.width)
        self.table.doubleClicked.connect(lambda _i: self.on_edit_clicked())
        self.count_label = QLabel()
        self.count_label.setObjectName("hint")

        tools = QHBoxLayout()
        tools.addWidget(self.search_edit, 2)
        for combo in self.filters.values():
            tools.addWidget(combo, 1)
        tools.addStretch(0)
        for b in (self.add_button, self.edit_button, self.delete_button, self.import_button, self.export_button):
            tools.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addLayout(tools)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.count_label)
        self.reload()

    # -- data ------------------------------------------------------------------------------
    def query(self) -> ListQuery:
        filters = {name: combo.currentData() or "" for name, combo in self.filters.items()}
        return ListQuery(self.search_edit.text(), filters, self._sort, self._descending)

    def reload(self, select_id: str = "") -> None:
        try:
            ids = self._service().query_ids(self.query())
        except XiangAnError as exc:
            show_error(self, str(exc))
            return
        self.model.set_ids(ids)
        self.count_label.setText(f"共 {len(ids)} 条")
        row = self.model.row_of(select_id) if select_id else -1
        if row >= 0:
            self.table.selectRow(row)
            self.table.scrollTo(self.model.index(row, 0))

    def refresh_filters(self) -> None:
        service = self._service()
        for name, combo in self.filters.items():
            current = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(f"全部{self.spec.field(name).label}", "")
            for choice in service.choices(name):
                combo.addItem(choice, choice)
            combo.setCurrentIndex(max(0, combo.findData(current)))
            combo.blockSignals(False)

    def selected_id(self) -> str:
        rows = self.table.selectionModel().selectedRows()
        return self.model.id_at(rows[0].row()) if rows else ""

    # -- slots -----------------------------------------------------------------------------
    def on_header_clicked(self, section: int) -> None:
        key = self.model.columns[section][0]
        self._descending = not self._descending if key == self._sort else False
        self._sort = key
        self.table.horizontalHeader().setSortIndicator(
            section, Qt.SortOrder.DescendingOrder if self._descending else Qt.SortOrder.AscendingOrder
        )
        self.reload(self.selected_id())

    def _dialog(self, values: dict | None, record_id: str | None) -> RecordDialog:
        service = self._service()
        return RecordDialog(self.spec, service.choices, lambda v: service.save(v, record_id), values, self)

    def on_add_clicked(self) -> None:
        dialog = self._dialog(None, None)
        if dialog.exec():
            self._after_change(dialog.saved_id)

    def on_edit_clicked(self) -> None:
        record_id = self.selected_id()
        if not record_id:
            show_info(self, f"请先在列表中选中一条{self.spec.title}。")
            return
        try:
            values = self._service().get(record_id)
        except XiangAnError as exc:
            show_error(self, str(exc))
            return
        dialog = self._dialog(values, record_id)
        if not self.can_write:
            dialog.setWindowTitle(f"查看{self.spec.title}（只读）")
            dialog.form.setEnabled(False)
        if dialog.exec():
            self._after_change(dialog.saved_id)

    def on_delete_clicked(self) -> None:
        record_id = self.selected_id()
        if not record_id:
            show_info(self, f"请先在列表中选中要删除的{self.spec.title}。")
            return
        name = self.model.record(self.model.row_of(record_id)).get(self.spec.fields[0].name, "")
        if not confirm(self, f"确定删除{self.spec.title}「{name}」吗？\n删除后不再显示，但历史记录会保留。"):
            return
        try:
            self._service().delete(record_id)
        except XiangAnError as exc:
            show_error(self, str(exc))
            return
        self._after_change("")

    def on_import_clicked(self) -> None:
        if self._open_import and self._open_import(self, self.spec.kind):
            self._after_change("")

    def on_export_clicked(self) -> None:
        if self._export is None:
            return
        settings = ui_settings()
        folder = str(settings.value("export/folder", str(Path.home())))
        suggested = str(Path(folder) / f"{self.spec.title.replace('/', '')}名录.xlsx")
        path, _filter = QFileDialog.getSaveFileName(self, f"导出{self.spec.title}", suggested, "Excel 工作簿 (*.xlsx)")
        if not path:
            return
        if not path.lower().endswith(".xlsx"):
            path += ".xlsx"
        settings.setValue("export/folder", str(Path(path).parent))
        self._export(self, self.spec.kind, Path(path))

    def _after_change(self, select_id: str) -> None:
        self.refresh_filters()
        self.reload(select_id)
        self.changed.emit()
