"""台账: the registers that prove 七有/五有 — one list per register, the attachments of the selected row,
and one scope filter (township level or a village) applied to every register that has a village."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.services import Services
from app.services.organisation import REGISTERS
from app.services.readiness_registers import READINESS_KINDS
from app.services.registers import TOWNSHIP_LEVEL
from app.ui.widgets.attachments_panel import AttachmentsPanel
from app.ui.widgets.register_view import RegisterView

ALL = ""


class ReadinessRegisters(QWidget):
    changed = Signal()

    def __init__(self, services: Services, open_import: Callable[[QWidget, str], bool] | None,
                 export: Callable[[QWidget, str, Path], None] | None) -> None:
        super().__init__()
        self.services = services
        can_write = services.actor.role.can_write

        self.scope_combo = QComboBox()
        self.scope_combo.setObjectName("scope_combo")
        self.scope_combo.setToolTip("只看乡镇本级或某个村（社区）的记录")
        self.scope_combo.currentIndexChanged.connect(self.on_scope_changed)
        self.kind_list = QListWidget()
        self.kind_list.setObjectName("register_list")
        self.kind_list.setFixedWidth(124)
        self.kind_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.kind_list.setStyleSheet("QListWidget::item { padding: 6px 4px; }")
        self.stack = QStackedWidget()
        self.views: dict[str, RegisterView] = {}
        for kind in READINESS_KINDS:
            view = RegisterView(lambda k=kind: services.register(k), can_write, open_import, export)
            view.changed.connect(self.on_register_changed)
            if "village" in view.filters:  # the page's 范围 drives it, for every register at once
                view.filters["village"].hide()
            view.table.verticalHeader().hide()  # row numbers cost the width the last column needs
            view.table.selectionModel().selectionChanged.connect(lambda *_a, k=kind: self.on_row_selected(k))
            self.views[kind] = view
            self.stack.addWidget(view)
            entry = QListWidgetItem(REGISTERS[kind].title)
            entry.setData(Qt.ItemDataRole.UserRole, kind)
            self.kind_list.addItem(entry)
            view.model.modelReset.connect(lambda e=entry, v=view: self._show_count(e, v))
            self._show_count(entry, view)
        self.kind_list.currentRowChanged.connect(self.on_kind_changed)
        self.attachments = AttachmentsPanel(services.attachments, can_write)
        self.attachments.changed.connect(self.changed)

        scope_row = QHBoxLayout()
        scope_row.addWidget(QLabel("范围："))
        scope_row.addWidget(self.scope_combo)
        scope_row.addStretch(1)
        self.hint = QLabel()
        self.hint.setObjectName("hint")
        scope_row.addWidget(self.hint)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.stack)
        right.addWidget(self.attachments)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 1)
        right.setSizes([480, 170])
        body = QHBoxLayout()
        body.addWidget(self.kind_list)
        body.addWidget(right, 1)
        body.setSpacing(4)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(scope_row)
        layout.addLayout(body, 1)
        self.refresh_scopes()
        self.kind_list.setCurrentRow(0)

    @staticmethod
    def _show_count(entry: QListWidgetItem, view: RegisterView) -> None:
        """How many rows each register has in the chosen 范围: an empty register stands out at once."""
        entry.setText(f"{view.spec.title} {view.model.rowCount()}")

    # -- scope -----------------------------------------------------------------------------
    def refresh_scopes(self) -> None:
        """全部 / 乡镇本级 / every village, kept in step with the village register."""
        current = self.scope_combo.currentData()
        villages = self._village_names()
        self.scope_combo.blockSignals(True)
        self.scope_combo.clear()
        self.scope_combo.addItem("全部（乡镇和各村）", ALL)
        self.scope_combo.addItem(TOWNSHIP_LEVEL, TOWNSHIP_LEVEL)
        for name in villages:
            self.scope_combo.addItem(name, name)
        self.scope_combo.setCurrentIndex(max(0, self.scope_combo.findData(current)))
        self.scope_combo.blockSignals(False)

    def _village_names(self) -> list[str]:
        # Any register with a village field offers the village names as its choices.
        for view in self.views.values():
            if "village" in view.filters:
                return view._service().choices("village")
        return []

    def scope(self) -> str:
        return self.scope_combo.currentData() or ALL

    def on_scope_changed(self) -> None:
        """Set each register's own village filter; registers without one (队员) show everything."""
        value = self.scope()
        for view in self.views.values():
            combo = view.filters.get("village")
            if combo is None:
                continue
            index = combo.findData(value)
            if index < 0 and value == TOWNSHIP_LEVEL:
                combo.addItem(TOWNSHIP_LEVEL, TOWNSHIP_LEVEL)
                index = combo.count() - 1
            combo.setCurrentIndex(max(0, index))

    # -- registers -------------------------------------------------------------------------
    def current_kind(self) -> str:
        entry = self.kind_list.currentItem()
        return entry.data(Qt.ItemDataRole.UserRole) if entry is not None else READINESS_KINDS[0]

    def current_view(self) -> RegisterView:
        return self.views[self.current_kind()]

    def on_kind_changed(self, row: int) -> None:
        if row < 0:
            return
        self.stack.setCurrentIndex(row)
        self.on_row_selected(self.current_kind())
        # 队员 belong to a team, not to a village: say so rather than silently ignore the 范围.
        scoped = "village" in self.current_view().filters
        self.hint.setText("登记的队伍、物资、预案等会自动计入七有/五有评估" if scoped
                          else f"{self.current_view().spec.title}不分村（社区），范围对其不起作用；可按名称搜索")

    def on_row_selected(self, kind: str) -> None:
        if kind != self.current_kind():
            return
        view = self.views[kind]
        record_id = view.selected_id()
        label = ""
        if record_id:
            record = view.model.record(view.model.row_of(record_id))
            label = str(record.get(view.spec.fields[0].name, ""))
        self.attachments.set_record(kind, record_id, label)

    def show_record(self, kind: str, record_id: str) -> None:
        """Open ``kind`` with ``record_id`` selected, clearing filters that would hide it."""
        self.kind_list.setCurrentRow(list(READINESS_KINDS).index(kind))
        view = self.views[kind]
        self.scope_combo.setCurrentIndex(0)
        view.search_edit.clear()
        for combo in view.filters.values():
            combo.setCurrentIndex(0)
        view.reload(record_id)
        self.on_row_selected(kind)

    def refresh(self) -> None:
        self.refresh_scopes()
        for view in self.views.values():
            view.refresh_filters()
            view.reload(view.selected_id())
        self.on_scope_changed()
        self.attachments.reload()

    def on_register_changed(self) -> None:
        """A new team or plan changes what other registers offer (a member's team, a drill's plan)."""
        for view in self.views.values():
            view.refresh_filters()
        self.on_scope_changed()
        self.on_row_selected(self.current_kind())
        self.changed.emit()
