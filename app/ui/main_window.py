"""The main window: a sidebar of areas, one page per area, and a status bar saying who and where."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app import APP_NAME, __version__
from app.services import Services
from app.ui.dashboard.page import DashboardPage
from app.ui.hazards.page import HazardsPage
from app.ui.letters.page import LettersPage
from app.ui.organisation.page import OrganisationPage
from app.ui.readiness.page import ReadinessPage
from app.ui.settings.page import SettingsPage
from app.ui.style import icon
from app.ui.sync.background import BackgroundSync
from app.ui.sync.page import SyncPage
from app.ui.sync.status import SyncStatusButton
from app.ui.widgets.common import ui_settings


@dataclass(frozen=True)
class Area:
    key: str
    title: str
    icon: str
    build: Callable[[Services, Path], QWidget]


# Later areas (七有/五有, 隐患, 责任书, 同步) register here in sidebar order.
AREAS: list[Area] = [
    Area("dashboard", "工作台", "dashboard", lambda s, _d: DashboardPage(s)),
    Area("readiness", "七有/五有", "readiness", lambda s, _d: ReadinessPage(s)),
    Area("organisation", "组织机构", "organisation", lambda s, _d: OrganisationPage(s)),
    Area("hazards", "隐患排查", "hazards", lambda s, _d: HazardsPage(s)),
    Area("letters", "责任书", "letters", lambda s, _d: LettersPage(s)),
    Area("sync", "同步", "sync", lambda s, d: SyncPage(s, d)),
    Area("settings", "设置", "settings", lambda s, d: SettingsPage(s, d)),
]


class MainWindow(QMainWindow):
    def __init__(self, services: Services, data_dir: Path) -> None:
        super().__init__()
        self.services = services
        self.data_dir = data_dir
        self.setWindowTitle(f"{APP_NAME} — {services.scope.township_name}应急管理工作台")
        self.setMinimumSize(900, 600)
        self.pages: dict[str, QWidget] = {}

        self.sidebar = QListWidget()
        self.sidebar.setObjectName("sidebar")
        self.sidebar.setIconSize(QSize(20, 20))
        self.stack = QStackedWidget()
        for area in AREAS:
            self.stack.addWidget(QWidget())  # placeholder until the area is first opened
            item = QListWidgetItem(icon(area.icon), area.title)
            item.setData(Qt.ItemDataRole.UserRole, area.key)
            self.sidebar.addItem(item)
        self.sidebar.currentRowChanged.connect(self.on_sidebar_row_changed)

        side = QWidget()
        side.setFixedWidth(180)
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.setSpacing(0)
        brand = QLabel(APP_NAME)
        brand.setObjectName("brand")
        self.brand_sub = QLabel(services.scope.township_name)
        self.brand_sub.setObjectName("brandSub")
        side_layout.addWidget(brand)
        side_layout.addWidget(self.brand_sub)
        side_layout.addWidget(self.sidebar, 1)
        side_layout.addWidget(self._register_hazard_button())
        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(side)
        row.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.background_sync = BackgroundSync(services.db, data_dir, parent=self)
        self.sync_status = SyncStatusButton()
        self.sync_status.clicked.connect(lambda: self.show_area("sync"))
        self.background_sync.state_changed.connect(self.sync_status.show_state)
        self.statusBar().addPermanentWidget(self.sync_status)
        self.user_label = QLabel(f"当前用户：{services.actor.label}")
        self.statusBar().addPermanentWidget(self.user_label)
        self.statusBar().addPermanentWidget(QLabel(f"版本 {__version__}"))
        self._restore_geometry()
        self.sidebar.setCurrentRow(0)
        self.background_sync.start()  # the start-up round (only on an enrolled PC that knows its server)

    # -- 登记隐患 from anywhere ------------------------------------------------------------------
    def _register_hazard_button(self) -> QWidget:
        """Ctrl+N and a button under the sidebar: a hazard found on a visit is logged from any area."""
        self.register_hazard_action = QAction("登记隐患", self)
        self.register_hazard_action.setShortcut(QKeySequence("Ctrl+N"))
        self.register_hazard_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.register_hazard_action.triggered.connect(self.on_register_hazard_triggered)
        self.addAction(self.register_hazard_action)
        self.register_hazard_button = QPushButton("＋ 登记隐患")
        self.register_hazard_button.setObjectName("register_hazard_button")
        self.register_hazard_button.setToolTip("登记一条新发现的隐患（Ctrl+N）")
        self.register_hazard_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.register_hazard_button.setStyleSheet(
            "QPushButton { background: #2b4a72; color: white; border: 1px solid #3d6394; border-radius: 4px;"
            " padding: 8px; font-size: 14px; } QPushButton:hover { background: #355a8a; }")
        self.register_hazard_button.clicked.connect(self.on_register_hazard_triggered)
        holder = QWidget()
        holder.setStyleSheet("background: #1f3450;")
        row = QVBoxLayout(holder)
        row.setContentsMargins(12, 10, 12, 14)
        row.addWidget(self.register_hazard_button)
        can_write = self.services.actor.role.can_write
        self.register_hazard_action.setEnabled(can_write)
        if not can_write:
            holder.hide()  # (show() before it has a parent would open it as a window of its own)
        return holder

    def on_register_hazard_triggered(self) -> None:
        from app.ui.hazards.forms import register_hazard

        hazard_id = register_hazard(self, self.services)
        if not hazard_id:
            return
        number = self.services.hazards.get(hazard_id).values["number"]
        self.statusBar().showMessage(f"已登记隐患 {number}", 8000)
        for key in ("hazards", "dashboard"):
            if key in self.pages and hasattr(self.pages[key], "refresh"):
                self.pages[key].refresh()
        if "hazards" in self.pages:
            self.pages["hazards"].select(hazard_id)

    # -- navigation ------------------------------------------------------------------------
    def show_area(self, key: str) -> None:
        """``key`` may carry a view for the page after a colon (``hazards:overdue``), which the page
        applies through its ``apply_filter``."""
        key, _sep, view = key.partition(":")
        keys = [a.key for a in AREAS]
        self.sidebar.setCurrentRow(keys.index(key))
        page = self.page(key)
        if view and hasattr(page, "apply_filter"):
            page.apply_filter(view)

    def page(self, key: str) -> QWidget:
        """The area's page, built on first use: start-up pays only for the area shown first."""
        if key not in self.pages:
            index = [a.key for a in AREAS].index(key)
            page = AREAS[index].build(self.services, self.data_dir)
            page.setObjectName(f"{key}_page")
            if hasattr(page, "navigate"):
                page.navigate.connect(self.show_area)
            if hasattr(page, "changed"):
                page.changed.connect(self.on_data_changed)
            if hasattr(page, "attach_background"):
                page.attach_background(self.background_sync)
            placeholder = self.stack.widget(index)
            self.stack.insertWidget(index, page)
            self.stack.removeWidget(placeholder)
            placeholder.deleteLater()
            self.pages[key] = page
        return self.pages[key]

    def on_sidebar_row_changed(self, row: int) -> None:
        if row < 0:
            return
        key = AREAS[row].key
        fresh = key not in self.pages
        page = self.page(key)
        self.stack.setCurrentIndex(row)
        if not fresh and hasattr(page, "refresh"):
            page.refresh()  # a page just built has just loaded its data

    def current_area(self) -> str:
        return AREAS[self.sidebar.currentRow()].key

    def on_data_changed(self) -> None:
        self.services.refresh_scope()
        self.background_sync.refresh()  # the pending count; a PC just enrolled starts syncing
        self.brand_sub.setText(self.services.scope.township_name)
        self.setWindowTitle(f"{APP_NAME} — {self.services.scope.township_name}应急管理工作台")

    # -- geometry --------------------------------------------------------------------------
    def _restore_geometry(self) -> None:
        geometry = ui_settings().value("main_window/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1280, 800)

    def closeEvent(self, event) -> None:
        ui_settings().setValue("main_window/geometry", self.saveGeometry())
        self.background_sync.stop()
        super().closeEvent(event)
