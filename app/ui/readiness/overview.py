"""达标总览: the township's 七有 card and the village × item grid, each cell opening why it is (not) met."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.errors import XiangAnError
from app.services import Services
from app.ui.hazards.detail import _clear
from app.ui.readiness.common import chip_style, points, score_text, status_of, unit_status

ITEM_COLUMN = 2  # village name, score, then one column per item
CARD_COLUMNS = 4


def short_name(name: str) -> str:
    """Item names all start with 有 (有综合应急队伍); the column header drops it to fit."""
    return name[1:] if name.startswith("有") and len(name) > 2 else name


class OverviewWidget(QWidget):
    """``open_detail(unit_id, item_key)`` is emitted for a click on the card or a grid cell;
    unit_id "" is the township."""

    open_detail = Signal(str, str)

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services
        self.summary: Any = None
        self.item_buttons: dict[str, QPushButton] = {}

        self.card = QFrame()
        self.card.setObjectName("card")
        self.township_name = QLabel()
        self.township_name.setObjectName("sectionTitle")
        self.township_standard = QLabel()
        self.township_standard.setObjectName("hint")
        self.township_score = QLabel()
        self.township_score.setObjectName("township_score")
        self.township_verdict = QLabel()
        self.township_verdict.setObjectName("township_verdict")
        self.township_verdict.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.items_grid = QGridLayout()
        self.items_grid.setSpacing(6)
        left = QVBoxLayout()
        left.addWidget(self.township_name)
        left.addWidget(self.township_standard)
        left.addWidget(self.township_score)
        left.addWidget(self.township_verdict)
        left.addStretch(1)
        card_row = QHBoxLayout(self.card)
        card_row.addLayout(left)
        card_row.addSpacing(12)
        card_row.addLayout(self.items_grid, 1)

        self.grid_title = QLabel()
        self.grid_title.setObjectName("sectionTitle")
        self.legend = QLabel("✓ 达标　！ 部分达标（已得部分分）　✗ 未达标　　单击格子查看差距和佐证材料")
        self.legend.setObjectName("hint")
        self.village_table = QTableWidget()
        self.village_table.setObjectName("village_table")
        self.village_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.village_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.village_table.setWordWrap(False)
        self.village_table.verticalHeader().hide()
        self.village_table.verticalHeader().setDefaultSectionSize(28)
        self.village_table.cellClicked.connect(self.on_cell_clicked)
        self.village_table.cellActivated.connect(self.on_cell_clicked)  # Enter on the keyboard too
        self.empty_label = QLabel("尚未登记村（社区）：请先在「组织机构 → 村/社区」中添加。")
        self.empty_label.setObjectName("hint")
        self.empty_label.hide()

        grid_head = QHBoxLayout()
        grid_head.addWidget(self.grid_title)
        grid_head.addStretch(1)
        grid_head.addWidget(self.legend)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.card)
        layout.addSpacing(6)
        layout.addLayout(grid_head)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.village_table, 1)

    # -- showing ---------------------------------------------------------------------------
    def reload(self) -> str:
        """Evaluate afresh; returns an error text instead of raising, for the page to show."""
        try:
            self.summary = self.services.readiness.summary()
        except XiangAnError as exc:
            return str(exc)
        self._show_township(self.summary.township)
        self._show_villages(self.summary.villages)
        return ""

    def _show_township(self, unit: Any) -> None:
        verdict = unit_status(unit)
        self.township_name.setText(f"{unit.name}（七有）")
        self.township_standard.setText(unit.standard)
        self.township_score.setText(f"<span style='font-size:26px; font-weight:bold; color:{verdict.colour}'>"
                                    f"{points(unit.score)}</span> / {points(unit.max_score)} 分")
        self.township_verdict.setText(verdict.label)
        self.township_verdict.setStyleSheet(chip_style(verdict) + " font-size: 15px;")
        _clear(self.items_grid)
        self.item_buttons = {}
        for index, item in enumerate(unit.items):
            status = status_of(item)
            chip = QPushButton(f"{status.mark} {item.name}\n{status.text}　{score_text(item)}")
            chip.setObjectName(f"township_item_{item.key}")
            chip.setCursor(Qt.CursorShape.PointingHandCursor)
            chip.setStyleSheet(f"QPushButton {{ {chip_style(status)} text-align: left; padding: 6px 10px; }}"
                               f" QPushButton:hover {{ border-width: 2px; }}")
            chip.setToolTip("\n".join(item.gaps) if item.gaps else "各条标准均已满足")
            chip.clicked.connect(lambda _c=False, key=item.key: self.open_detail.emit("", key))
            self.items_grid.addWidget(chip, index // CARD_COLUMNS, index % CARD_COLUMNS)
            self.item_buttons[item.key] = chip

    def _show_villages(self, villages: list[Any]) -> None:
        table = self.village_table
        passed = sum(1 for v in villages if v.passed)
        self.grid_title.setText(f"村（社区）五有 + 四有　{passed}/{len(villages)} 个达标")
        self.empty_label.setVisible(not villages)
        items = villages[0].items if villages else []
        headers = ["村（社区）", "得分"] + [f"{item.group}\n{short_name(item.name)}" for item in items]
        table.clear()
        table.setColumnCount(len(headers))
        table.setHorizontalHeaderLabels(headers)
        table.setRowCount(len(villages))
        for row, village in enumerate(villages):
            verdict = unit_status(village)
            name = QTableWidgetItem(village.name)
            name.setData(Qt.ItemDataRole.UserRole, village.unit_id)
            name.setToolTip("单击查看该村（社区）全部项目的详情")
            score = QTableWidgetItem(f"{verdict.mark} {score_text(village)}")
            score.setForeground(verdict.qcolour)
            score.setToolTip(f"{verdict.text}，单击查看详情")
            table.setItem(row, 0, name)
            table.setItem(row, 1, score)
            for column, item in enumerate(village.items, start=ITEM_COLUMN):
                table.setItem(row, column, self._item_cell(item))
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setMinimumSectionSize(64)

    @staticmethod
    def _item_cell(item: Any) -> QTableWidgetItem:
        status = status_of(item)
        cell = QTableWidgetItem(status.label)
        cell.setData(Qt.ItemDataRole.UserRole, item.key)
        cell.setForeground(status.qcolour)
        cell.setBackground(status.qbackground)
        cell.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
        lines = [f"{item.name}：{status.text}（{score_text(item)}）", *item.gaps]
        cell.setToolTip("\n".join(lines))
        return cell

    # -- lookups for the page and tests ----------------------------------------------------
    def village_row(self, name: str) -> int:
        for row in range(self.village_table.rowCount()):
            if self.village_table.item(row, 0).text() == name:
                return row
        return -1

    def item_column(self, item_name: str) -> int:
        items = self.summary.villages[0].items if self.summary and self.summary.villages else []
        keys = [item.name for item in items]
        return ITEM_COLUMN + keys.index(item_name) if item_name in keys else -1

    # -- slots -----------------------------------------------------------------------------
    def on_cell_clicked(self, row: int, column: int) -> None:
        unit_id = self.village_table.item(row, 0).data(Qt.ItemDataRole.UserRole)
        key = self.village_table.item(row, column).data(Qt.ItemDataRole.UserRole) if column >= ITEM_COLUMN else ""
        self.open_detail.emit(unit_id, key or "")
