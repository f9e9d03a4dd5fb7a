"""The 联网同步 card of the 同步 screen: the county server's address, how the background sync stands
(with progress and 取消 while a round runs) and what the last round did."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFormLayout, QFrame, QHBoxLayout, QInputDialog, QLabel, QProgressBar, QWidget

from app.errors import XiangAnError
from app.localtime import format_local
from app.models import Role
from app.services import Services
from app.sync.http_client import RoundResult
from app.sync.township import SyncStatus, TownshipSync
from app.ui.sync.background import ERROR, OFFLINE, SYNCING, BackgroundSync, RoundOutcome, SyncState
from app.ui.sync.status import COLOURS, clock, minutes_until, status_text
from app.ui.widgets.common import button, show_error

NO_ADDRESS = "未设置（只能用U盘同步）"


def last_round_text(outcome: RoundOutcome | None, status: SyncStatus) -> str:
    """What the last network round did: this session's outcome, else what the database remembers."""
    if outcome is not None:
        at = clock(outcome.finished_at)
        if outcome.code == "cancelled":
            return f"{at} 已取消。已传送的部分会保留，下次同步从中断处继续。"
        if outcome.failed:
            return f"{at} 失败：{outcome.error}"
        result = outcome.result or RoundResult()
        return "\n".join([f"{at} 成功：{result.summary()}", *result.messages])
    if status.last_sync_error:
        return f"失败：{status.last_sync_error}"
    if status.last_sync_at is not None:
        return f"{format_local(status.last_sync_at)} 成功"
    return "尚未联网同步过"


def _value(wrap: bool = True) -> QLabel:
    """A value; one that shares its row with buttons does not wrap (a layout squeezes such a label)."""
    label = QLabel()
    label.setWordWrap(wrap)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _row(*widgets: QWidget) -> QWidget:
    """Widgets side by side from the left (a button right after its text, not at the far edge)."""
    holder = QWidget()
    row = QHBoxLayout(holder)
    row.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        row.addWidget(widget)
    row.addStretch(1)
    return holder


def state_text(state: SyncState) -> str:
    """The card's line: the status bar's sentence, the running step, and when the next round comes.
    A failure's full text is in 上次结果 right below, so it is not repeated here."""
    if state.phase == SYNCING:
        return f"{status_text(state)}　{state.stage}".rstrip()
    text = "同步失败（原因见下方「上次结果」）" if state.phase == ERROR else status_text(state)
    if state.retry_in is not None:
        text += f"；约 {minutes_until(state.retry_in)} 分钟后自动{'重试' if state.phase in (OFFLINE, ERROR) else '同步'}"
    return text


class NetworkPanel(QFrame):
    """``address_changed`` after an administrator set a new server address."""

    address_changed = Signal()

    def __init__(self, services: Services, sync: TownshipSync) -> None:
        super().__init__()
        self.setObjectName("card")
        self.services = services
        self.sync = sync
        self.background: BackgroundSync | None = None
        self.status = SyncStatus(enrolled=False)
        self.address = _value(wrap=False)
        self.address.setObjectName("server_address")
        self.address_button = button("修改…", name="server_address_button")
        self.address_button.setToolTip("填写县应急管理局提供的县级平台地址")
        self.address_button.clicked.connect(self.on_address_clicked)
        self.address_button.setVisible(services.actor.role is Role.ADMIN)
        self.state_label = _value(wrap=False)
        self.state_label.setObjectName("network_state")
        self.progress = QProgressBar()
        self.progress.setObjectName("sync_progress")
        self.progress.setFixedWidth(220)
        self.progress.setTextVisible(True)
        self.cancel_button = button("取消", name="cancel_sync_button")
        self.cancel_button.clicked.connect(self.on_cancel_clicked)
        self.last_label = _value()
        self.last_label.setObjectName("last_round")

        title = QLabel("联网同步")
        title.setObjectName("sectionTitle")
        form = QFormLayout(self)
        form.setContentsMargins(16, 10, 16, 12)
        form.addRow(title)
        form.addRow("县级平台：", _row(self.address, self.address_button))
        form.addRow("当前状态：", _row(self.state_label, self.progress, self.cancel_button))
        form.addRow("上次结果：", self.last_label)
        self._show_running(False)

    def attach(self, background: BackgroundSync) -> None:
        self.background = background
        background.state_changed.connect(self.show_state)
        self.show_state(background.state)

    # -- display -----------------------------------------------------------------------------------
    def show_status(self, status: SyncStatus) -> None:
        self.status = status
        self.address.setText(status.server_url or NO_ADDRESS)
        last = self.background.state.last if self.background is not None else None
        self.last_label.setText(last_round_text(last, status))
        if self.background is None:
            self.state_label.setText("联网同步未启动" if status.enrolled else "未登记到县级平台")

    def show_state(self, state: SyncState) -> None:
        self.state_label.setText(state_text(state))
        self.state_label.setStyleSheet(f"color: {COLOURS.get(state.phase, '#33475b')};")
        running = self.background is not None and self.background.running
        self._show_running(running)
        if running:
            percent = state.percent
            self.progress.setRange(0, 0 if percent is None else 100)  # no figure yet: a busy bar
            self.progress.setValue(percent or 0)
        self.last_label.setText(last_round_text(state.last, self.status))

    def _show_running(self, running: bool) -> None:
        if running and not self.cancel_button.isVisibleTo(self):
            self.cancel_button.setEnabled(True)  # a new round: 取消 works again
        self.progress.setVisible(running)
        self.cancel_button.setVisible(running)

    # -- actions -----------------------------------------------------------------------------------
    def on_cancel_clicked(self) -> None:
        if self.background is not None:
            self.background.cancel()
            self.cancel_button.setEnabled(False)
            self.state_label.setText("正在取消…")

    def on_address_clicked(self) -> None:
        current = self.status.server_url or ""
        text, ok = QInputDialog.getText(self, "县级平台地址", "县应急管理局提供的县级平台地址（如 http://192.168.1.10:8750）：",
                                        text=current)
        if not ok or text.strip() == current:
            return
        try:
            self.services.actor.require_admin()
            self.sync.set_server_url(text)
        except XiangAnError as exc:
            show_error(self, str(exc))
            return
        self.address_changed.emit()
