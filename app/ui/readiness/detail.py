"""One unit's readiness in detail: each item's criteria, what is missing, and the records that prove it."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.errors import XiangAnError
from app.services import Services
from app.services.organisation import REGISTERS
from app.ui.hazards.common import badge
from app.ui.hazards.detail import _clear, fit_screen
from app.ui.readiness.common import chip_style, points, score_text, status_of, unit_status
from app.ui.widgets.common import RememberingDialog, button, show_error, show_info

CRITERIA_COLUMNS = ("评分标准", "分值", "得分", "结论", "差距")


def evidence_target(evidence: Any) -> tuple[str, str]:
    """The register row an evidence line opens: the row itself, or the row a file is attached to."""
    if evidence.kind in REGISTERS:
        return evidence.kind, evidence.record_id
    owner_kind = getattr(evidence, "owner_kind", "")
    owner_id = getattr(evidence, "owner_id", "")
    return (owner_kind, owner_id) if owner_kind in REGISTERS and owner_id else ("", "")


def evidence_text(evidence: Any) -> str:
    kind = REGISTERS[evidence.kind].title if evidence.kind in REGISTERS else "附件"
    return f"[{kind}] {evidence.label}"


class UnitDetailDialog(RememberingDialog):
    """Non-modal, so the officer can keep it open beside the registers while fixing a gap."""

    settings_key = "readiness_detail_dialog"
    evidence_opened = Signal(str, str)  # register kind, record id

    def __init__(self, services: Services, unit_id: str | None, item_key: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.unit_id = unit_id
        self.unit: Any = None
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        self.title_label = QLabel()
        self.title_label.setObjectName("sectionTitle")
        self.standard_label = QLabel()
        self.standard_label.setObjectName("pageSubtitle")
        self.badge_box = QHBoxLayout()
        self.items_list = QListWidget()
        self.items_list.setObjectName("items_list")
        self.items_list.setStyleSheet("QListWidget::item { padding: 6px 4px; }")
        self.items_list.currentRowChanged.connect(self.on_item_row_changed)

        self.item_label = QLabel()
        self.item_label.setObjectName("sectionTitle")
        self.gaps_label = QLabel()
        self.gaps_label.setObjectName("gaps_label")
        self.gaps_label.setWordWrap(True)
        self.gaps_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.criteria_table = QTableWidget(0, len(CRITERIA_COLUMNS))
        self.criteria_table.setObjectName("criteria_table")
        self.criteria_table.setHorizontalHeaderLabels(CRITERIA_COLUMNS)
        self.criteria_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.criteria_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.criteria_table.setWordWrap(True)
        self.criteria_table.verticalHeader().hide()
        header = self.criteria_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        for column, width in ((1, 48), (2, 48), (3, 84)):
            self.criteria_table.setColumnWidth(column, width)
        self.evidence_list = QListWidget()
        self.evidence_list.setObjectName("evidence_list")
        self.evidence_list.itemDoubleClicked.connect(self.on_evidence_activated)
        evidence_title = QLabel("佐证材料（双击打开所在台账）")
        evidence_title.setObjectName("sectionTitle")

        right = QWidget()
        column = QVBoxLayout(right)
        column.setContentsMargins(8, 0, 0, 0)
        column.addWidget(self.item_label)
        column.addWidget(self.gaps_label)
        column.addWidget(self.criteria_table, 3)
        column.addWidget(evidence_title)
        column.addWidget(self.evidence_list, 2)
        splitter = QSplitter()
        splitter.addWidget(self.items_list)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([230, 720])

        close = button("关闭", name="close_button")
        close.clicked.connect(self.close)
        head = QHBoxLayout()
        head.addWidget(self.title_label)
        head.addLayout(self.badge_box)
        head.addStretch(1)
        foot = QHBoxLayout()
        foot.addStretch(1)
        foot.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addWidget(self.standard_label)
        layout.addWidget(splitter, 1)
        layout.addLayout(foot)
        fit_screen(self, 1000, 680)
        self.reload(item_key)

    # -- showing ---------------------------------------------------------------------------
    def reload(self, item_key: str = "") -> None:
        """Evaluate the unit afresh (a register may have changed while this was open)."""
        try:
            self.unit = unit = self.services.readiness.unit(self.unit_id)
        except XiangAnError as exc:
            show_error(self, str(exc))
            return
        self.setWindowTitle(f"{unit.name} — 七有/五有达标详情")
        self.title_label.setText(unit.name)
        self.standard_label.setText(f"评估标准：{unit.standard}　得分 {score_text(unit)}")
        _clear(self.badge_box)
        verdict = unit_status(unit)
        self.badge_box.addWidget(badge(verdict.label, verdict.colour, name="unit_badge"))
        self.items_list.blockSignals(True)
        self.items_list.clear()
        for item in unit.items:
            status = status_of(item)
            entry = QListWidgetItem(f"{status.mark} {item.name}　{score_text(item)}")
            entry.setData(Qt.ItemDataRole.UserRole, item.key)
            entry.setForeground(status.qcolour)
            entry.setBackground(status.qbackground)
            entry.setToolTip(f"{item.group} · {status.text}")
            self.items_list.addItem(entry)
        self.items_list.blockSignals(False)
        keys = [item.key for item in unit.items]
        self.items_list.setCurrentRow(keys.index(item_key) if item_key in keys else 0)
        self.on_item_row_changed(self.items_list.currentRow())

    def current_item(self) -> Any:
        row = self.items_list.currentRow()
        return self.unit.items[row] if self.unit is not None and 0 <= row < len(self.unit.items) else None

    def on_item_row_changed(self, _row: int) -> None:
        item = self.current_item()
        if item is None:
            return
        status = status_of(item)
        self.item_label.setText(f"{item.group} · {item.name}　{status.label}　{score_text(item)}")
        if item.gaps:
            self.gaps_label.setText("差距：\n" + "\n".join(f"• {gap}" for gap in item.gaps))
        else:
            self.gaps_label.setText("✓ 该项各条标准均已满足")
        self.gaps_label.setStyleSheet(chip_style(status))
        self._fill_criteria(item)
        self._fill_evidence(item)

    def _fill_criteria(self, item: Any) -> None:
        table = self.criteria_table
        table.setRowCount(len(item.criteria))
        for row, criterion in enumerate(item.criteria):
            status = status_of(criterion)
            cells = (criterion.text, points(criterion.points), points(criterion.earned), status.label,
                     criterion.gap)
            for column, text in enumerate(cells):
                cell = QTableWidgetItem(text)
                cell.setToolTip(text)
                if column == 3:
                    cell.setForeground(status.qcolour)
                    cell.setBackground(status.qbackground)
                table.setItem(row, column, cell)
        table.resizeRowsToContents()

    def _fill_evidence(self, item: Any) -> None:
        self.evidence_list.clear()
        seen: set[tuple[str, str]] = set()
        for criterion in item.criteria:
            for evidence in criterion.evidence:
                if (evidence.kind, evidence.record_id) in seen:
                    continue
                seen.add((evidence.kind, evidence.record_id))
                entry = QListWidgetItem(evidence_text(evidence))
                entry.setData(Qt.ItemDataRole.UserRole, evidence)
                entry.setToolTip(f"依据：{criterion.text}")
                self.evidence_list.addItem(entry)
        if not seen:
            placeholder = QListWidgetItem("暂无佐证材料：请在「台账」中登记相关记录或添加附件")
            placeholder.setFlags(Qt.ItemFlag.NoItemFlags)
            self.evidence_list.addItem(placeholder)

    # -- slots -----------------------------------------------------------------------------
    def on_evidence_activated(self, entry: QListWidgetItem) -> None:
        evidence = entry.data(Qt.ItemDataRole.UserRole)
        if evidence is None:
            return
        kind, record_id = evidence_target(evidence)
        if not kind:
            show_info(self, f"「{evidence.label}」不属于任何台账记录，无法跳转。")
            return
        self.evidence_opened.emit(kind, record_id)
