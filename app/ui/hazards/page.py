"""隐患排查治理台账: filter, sort and open hazards; register, import, export and print the ledger.

Filtering and sorting run in SQL (HazardService.query_ids); the table fetches only the rows it shows.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
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
from app.models import HazardStatus
from app.models.hazards import LEVELS, MAJOR
from app.services import Services
from app.services.hazards import LEDGER_COLUMNS, HazardQuery
from app.ui.hazards.common import DUE_SOON_BG, OVERDUE_BG, row_background
from app.ui.hazards.detail import HazardDetailDialog
from app.ui.hazards.forms import register_hazard
from app.ui.widgets.common import button, page_header, show_error, show_info, ui_settings
from app.ui.widgets.lazy_table import LazyTableModel
from app.ui.widgets.pdf_preview import PRINT_TIP, save_and_preview_pdf
from app.ui.widgets.progress import run_with_progress

# Ledger columns as the office reads them; the service's LEDGER_COLUMNS says what exists. Headers are
# shortened so the description still shows at 1280 px; every cell's tooltip has the full text.
COLUMN_WIDTHS = {"number": 84, "found_on": 90, "source": 72, "inspectors": 90, "village": 74,
                 "unit_name": 186, "sector": 90, "description": 160, "level": 46, "deadline": 90,
                 "status_text": 156, "responsible_person": 64}
SHORT_HEADERS = {"village": "村/社区", "sector": "行业", "level": "等级", "responsible_person": "责任人"}
HIDDEN_COLUMNS = ("source", "inspectors")  # in the detail and the printed ledger; too wide for the screen
VIEWS = ("open", "overdue", "due_soon", "supervised", "major")  # what the 工作台 may ask to see


class HazardsPage(QWidget):
    changed = Signal()

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services
        self.can_write = services.actor.role.can_write
        self._sort = "number"
        self._descending = True

        self.search_edit = QLineEdit()
        self.search_edit.setObjectName("search_edit")
        self.search_edit.setPlaceholderText("搜索编号、单位、位置、描述、责任人、通知书编号")
        self.search_edit.setClearButtonEnabled(True)
        self._search_timer = QTimer(self, singleShot=True, interval=250)
        self._search_timer.timeout.connect(self.reload)
        self.search_edit.textChanged.connect(lambda _t: self._search_timer.start())

        self.status_filter = self._combo("status_filter", [("全部状态", ""), ("未销号", "open")]
                                         + [(s.value, s.value) for s in HazardStatus])
        self.level_filter = self._combo("level_filter", [("全部等级", "")] + [(f"{x}隐患", x) for x in LEVELS])
        self.sector_filter = self._combo("sector_filter", [("全部行业", "")])
        self.village_filter = self._combo("village_filter", [("全部村/社区", "")])
        self.year_filter = self._combo("year_filter", [("全部年度", None)])
        self.overdue_check = self._check("overdue_check", "逾期", "只看已过整改时限仍未验收的隐患")
        self.due_soon_check = self._check("due_soon_check", "临期", "只看快到整改时限的隐患")
        self.supervised_check = self._check("supervised_check", "挂牌督办", "只看挂牌督办的隐患")
        self.clear_button = button("清除筛选", name="clear_filters_button")
        self.clear_button.clicked.connect(self.on_clear_clicked)

        self.register_button = button("登记隐患", primary=True, name="register_button")
        self.register_button.setToolTip("登记一条新发现的隐患（Ctrl+N）")
        self.open_button = button("查看/处理", name="open_button")
        self.import_button = button("导入台账", name="import_button")
        self.export_button = button("导出台账", name="export_button")
        self.print_button = button("打印台账", name="print_button")
        self.import_button.setToolTip("从本办公室已有的隐患台账Excel导入")
        self.export_button.setToolTip("导出为Excel台账：选了年度只导出该年度，否则导出全部")
        self.print_button.setToolTip(PRINT_TIP)
        self.register_button.clicked.connect(self.on_register_clicked)
        self.open_button.clicked.connect(self.on_open_clicked)
        self.import_button.clicked.connect(self.on_import_clicked)
        self.export_button.clicked.connect(self.on_export_clicked)
        self.print_button.clicked.connect(self.on_print_clicked)
        self.register_button.setVisible(self.can_write)
        self.import_button.setVisible(self.can_write)

        columns = [(key, SHORT_HEADERS.get(key, label)) for key, label in LEDGER_COLUMNS]
        self.model = LazyTableModel(columns, lambda ids: self.services.hazards.fetch_rows(ids), self,
                                    row_style=row_background)
        self.table = QTableView()
        self.table.setObjectName("hazard_table")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setDefaultSectionSize(28)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionsClickable(True)
        header.setSortIndicatorShown(True)
        header.setSortIndicator(0, Qt.SortOrder.DescendingOrder)
        header.sectionClicked.connect(self.on_header_clicked)
        header.setStretchLastSection(True)
        keys = [key for key, _label in LEDGER_COLUMNS]
        for i, key in enumerate(keys):
            self.table.setColumnWidth(i, COLUMN_WIDTHS.get(key, 100))
            self.table.setColumnHidden(i, key in HIDDEN_COLUMNS)
        # The description reads best last, taking whatever width is left.
        if "description" in keys:
            header.moveSection(header.visualIndex(keys.index("description")), len(keys) - 1)
        self.table.doubleClicked.connect(lambda _i: self.on_open_clicked())
        self.count_label = QLabel()
        self.count_label.setObjectName("count_label")

        filters = QHBoxLayout()
        filters.addWidget(self.search_edit, 3)
        for combo in (self.status_filter, self.level_filter, self.sector_filter, self.village_filter,
                      self.year_filter):
            filters.addWidget(combo, 1)
        checks = QHBoxLayout()
        checks.addWidget(QLabel("只看："))
        for box in (self.overdue_check, self.due_soon_check, self.supervised_check):
            checks.addWidget(box)
        checks.addWidget(self.clear_button)
        checks.addStretch(1)
        checks.addWidget(_legend("逾期", OVERDUE_BG.name()))
        checks.addWidget(_legend("临期", DUE_SOON_BG.name()))
        bottom = QHBoxLayout()
        bottom.addWidget(self.count_label, 1)
        bottom.addWidget(self.open_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.addWidget(page_header(
            "隐患排查治理台账", "登记 → 交办 → 整改 → 验收 → 销号，每一步留痕；逾期标红，临期标黄",
            [self.register_button, self.import_button, self.export_button, self.print_button]))
        layout.addLayout(filters)
        layout.addLayout(checks)
        layout.addWidget(self.table, 1)
        layout.addLayout(bottom)
        self.refresh_filters()
        self.reload()

    def _combo(self, name: str, items: list[tuple[str, object]]) -> QComboBox:
        combo = QComboBox()
        combo.setObjectName(name)
        for text, data in items:
            combo.addItem(text, data)
        combo.currentIndexChanged.connect(lambda _i: self.reload())
        return combo

    def _check(self, name: str, text: str, tip: str) -> QCheckBox:
        box = QCheckBox(text)
        box.setObjectName(name)
        box.setToolTip(tip)
        box.toggled.connect(lambda _on: self.reload())
        return box

    # -- data ------------------------------------------------------------------------------
    def query(self) -> HazardQuery:
        return HazardQuery(
            search=self.search_edit.text(), status=self.status_filter.currentData() or "",
            level=self.level_filter.currentData() or "", sector=self.sector_filter.currentData() or "",
            village=self.village_filter.currentData() or "", overdue=self.overdue_check.isChecked(),
            due_soon=self.due_soon_check.isChecked(), supervised=self.supervised_check.isChecked(),
            year=self.year_filter.currentData(), sort=self._sort, descending=self._descending,
        )

    def reload(self, select_id: str = "") -> None:
        select_id = select_id or self.selected_id()
        try:
            ids = self.services.hazards.query_ids(self.query())
        except XiangAnError as exc:
            show_error(self, str(exc))
            return
        self.model.set_ids(ids)
        self.count_label.setText(self._count_text(len(ids)))
        self.select(select_id)

    def _count_text(self, shown: int) -> str:
        narrowed = self.query() != HazardQuery(sort=self._sort, descending=self._descending)
        return f"筛选出 {shown} 条隐患" if narrowed else f"共 {shown} 条隐患"

    def select(self, hazard_id: str) -> None:
        row = self.model.row_of(hazard_id) if hazard_id else -1
        if row >= 0:
            self.table.selectRow(row)
            self.table.scrollTo(self.model.index(row, 0))

    def refresh_filters(self) -> None:
        """Villages, sectors and years change as the registers and the ledger do."""
        hazards = self.services.hazards
        try:
            options = {self.sector_filter: ("全部行业", hazards.choices("sector")),
                       self.village_filter: ("全部村/社区", hazards.choices("village")),
                       self.year_filter: ("全部年度", hazards.years())}
        except XiangAnError:
            return
        for combo, (everything, values) in options.items():
            current = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(everything, None if combo is self.year_filter else "")
            for value in values:
                combo.addItem(f"{value}年" if combo is self.year_filter else str(value), value)
            combo.setCurrentIndex(max(0, combo.findData(current)))
            combo.blockSignals(False)

    def refresh(self) -> None:
        self.refresh_filters()
        self.reload()

    def apply_filter(self, view: str) -> None:
        """Show one of the 工作台's views (``VIEWS``): everything else is cleared so the count matches."""
        self._reset_filters()
        if view == "open":
            self.status_filter.setCurrentIndex(self.status_filter.findData("open"))
        elif view == "overdue":
            self.overdue_check.setChecked(True)
        elif view == "due_soon":
            self.due_soon_check.setChecked(True)
        elif view == "supervised":
            self.status_filter.setCurrentIndex(self.status_filter.findData("open"))
            self.supervised_check.setChecked(True)
        elif view == "major":
            self.status_filter.setCurrentIndex(self.status_filter.findData("open"))
            self.level_filter.setCurrentIndex(self.level_filter.findData(MAJOR))
        self.reload()

    def _reset_filters(self) -> None:
        widgets = (self.search_edit, self.status_filter, self.level_filter, self.sector_filter,
                   self.village_filter, self.year_filter, self.overdue_check, self.due_soon_check,
                   self.supervised_check)
        for w in widgets:
            w.blockSignals(True)
        self.search_edit.clear()
        for combo in widgets[1:6]:
            combo.setCurrentIndex(0)
        for box in widgets[6:]:
            box.setChecked(False)
        for w in widgets:
            w.blockSignals(False)

    def selected_id(self) -> str:
        selection = self.table.selectionModel()
        rows = selection.selectedRows() if selection else []
        return self.model.id_at(rows[0].row()) if rows else ""

    # -- slots -----------------------------------------------------------------------------
    def on_clear_clicked(self) -> None:
        self._reset_filters()
        self.reload()

    def on_header_clicked(self, section: int) -> None:
        key = self.model.columns[section][0]
        self._descending = not self._descending if key == self._sort else key == "number"
        self._sort = key
        self.table.horizontalHeader().setSortIndicator(
            section, Qt.SortOrder.DescendingOrder if self._descending else Qt.SortOrder.AscendingOrder)
        self.reload()

    def on_register_clicked(self) -> None:
        hazard_id = register_hazard(self, self.services)
        if hazard_id:
            self._after_change(hazard_id)

    def on_open_clicked(self) -> None:
        hazard_id = self.selected_id()
        if not hazard_id:
            show_info(self, "请先在台账中选中一条隐患。")
            return
        dialog = HazardDetailDialog(self.services, hazard_id, self)
        dialog.exec()
        if dialog.changed:
            self._after_change(hazard_id)

    def _after_change(self, select_id: str) -> None:
        self.refresh_filters()
        self.reload(select_id)
        self.changed.emit()

    def _excel(self):
        # Loaded on first use: the spreadsheet stack is a tenth of the start-up time.
        from app.services.hazard_excel import HazardExcelService

        s = self.services
        return HazardExcelService(s.db, s.actor, s.scope)

    def on_export_clicked(self) -> None:
        year = self.year_filter.currentData()  # None: every year
        settings = ui_settings()
        folder = str(settings.value("export/folder", str(Path.home())))
        title = f"{self.services.scope.township_name}隐患排查治理台账{f'（{year}年）' if year else ''}"
        path_text, _f = QFileDialog.getSaveFileName(self, "导出隐患台账", str(Path(folder) / f"{title}.xlsx"),
                                                    "Excel 工作簿 (*.xlsx)")
        if not path_text:
            return
        if not path_text.lower().endswith(".xlsx"):
            path_text += ".xlsx"
        path = Path(path_text)
        settings.setValue("export/folder", str(path.parent))
        excel = self._excel()
        count = run_with_progress(self, "正在导出隐患台账…", lambda _p, _c: excel.export(path, year))
        if count is not None:
            self.window().statusBar().showMessage(f"已导出 {count} 条隐患到 {path}", 8000)

    def on_print_clicked(self) -> None:
        ids = [self.model.id_at(row) for row in range(self.model.rowCount())]
        if not ids:
            show_info(self, "台账中没有符合筛选条件的隐患，没有可打印的内容。")
            return
        hazards = self.services.hazards
        title = f"{self.services.scope.township_name}隐患排查治理台账"
        save_and_preview_pdf(self, "隐患排查治理台账", f"{title}（{date.today().isoformat()}）.pdf",
                           lambda path: hazards.print_ledger(ids, Path(path)))

    def on_import_clicked(self) -> None:
        from app.ui.hazards.importing import import_hazards

        result = import_hazards(self, self._excel())
        if result is None:
            return
        self._after_change("")
        if result.units_created:
            show_info(self, f"导入时新建了{result.units_created}家单位：{'、'.join(result.new_units[:10])}"
                            f"{'等' if result.units_created > 10 else ''}。\n请到「组织机构 → 企业」核对补全。",
                      "导入完成")


def _legend(text: str, colour: str) -> QLabel:
    label = QLabel(f"  {text}  ")
    label.setStyleSheet(f"background: {colour}; border: 1px solid #dde3ea; border-radius: 3px; padding: 1px 4px;")
    return label
