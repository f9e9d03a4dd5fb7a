"""How network sync stands, in one line for the main window's status bar (clicking it opens 同步)."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from app.localtime import format_local, local
from app.models.base import utcnow
from app.ui.style import DANGER, OK, WARNING
from app.ui.sync.background import (
    CANCELLED,
    ERROR,
    NO_SERVER,
    NOT_ENROLLED,
    OFFLINE,
    SYNCED,
    SYNCING,
    SyncState,
)

COLOURS = {SYNCED: OK, OFFLINE: WARNING, ERROR: DANGER, NO_SERVER: WARNING}


def clock(at: datetime | None) -> str:
    """10:42 today, 11-23 10:42 on another day."""
    if at is None:
        return ""
    same_day = local(at).date() == local(utcnow()).date()
    return format_local(at, "%H:%M" if same_day else "%m-%d %H:%M")


def minutes_until(seconds: float) -> int:
    return max(1, round(seconds / 60))


def _pending(state: SyncState) -> str:
    return f"待上报 {state.pending} 条"


def status_text(state: SyncState) -> str:
    """The status bar's sentence: 已同步 10:42 / 离线，待上报 37 条，将自动重试 / 正在同步… 45% / the error."""
    if state.phase == NOT_ENROLLED:
        return "未登记到县级平台"
    if state.phase == NO_SERVER:
        return f"未设置县级平台地址，{_pending(state)}（可用U盘同步）"
    if state.phase == SYNCING:
        percent = state.percent
        return "正在同步…" if percent is None else f"正在同步… {percent}%"
    if state.phase == OFFLINE:
        return f"离线，{_pending(state)}，将自动重试"
    if state.phase == ERROR:
        return f"同步失败：{state.message}"
    if state.phase == CANCELLED:
        return f"已取消同步，{_pending(state)}"
    if state.last_sync_at is None:
        return f"尚未联网同步，{_pending(state)}"
    synced = f"已同步 {clock(state.last_sync_at)}"
    return synced if not state.pending else f"上次同步 {clock(state.last_sync_at)}，{_pending(state)}"


def status_tooltip(state: SyncState) -> str:
    lines = [status_text(state)]
    if state.phase == SYNCING and state.stage:
        lines.append(state.stage)
    if state.retry_in is not None and state.phase != SYNCING:
        lines.append(f"约 {minutes_until(state.retry_in)} 分钟后自动{'重试' if state.phase in (OFFLINE, ERROR) else '同步'}")
    lines.append("点击打开「同步」")
    return "\n".join(lines)


class SyncStatusButton(QPushButton):
    """A flat, clickable status bar entry; its colour says good (green), retrying (amber) or failed (red)."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("sync_status")
        self.setFlat(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setMaximumWidth(560)
        self.full_text = ""

    def show_state(self, state: SyncState) -> None:
        text = status_text(state)
        self.full_text = text  # the button shows it elided when the window is narrow
        metrics = self.fontMetrics()
        self.setText(metrics.elidedText(text, Qt.TextElideMode.ElideRight, self.maximumWidth() - 24))
        self.setToolTip(status_tooltip(state))
        colour = COLOURS.get(state.phase, "#33475b")
        self.setStyleSheet(f"QPushButton#sync_status {{ border: none; padding: 0 8px; color: {colour};"
                           " background: transparent; text-align: left; }"
                           " QPushButton#sync_status:hover { text-decoration: underline; }")
