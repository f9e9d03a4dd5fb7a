"""同步: this PC's link to the county — enrolment, export to a USB stick, the county's return file, history."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.errors import XiangAnError
from app.localtime import format_local
from app.models import Role
from app.services import Services
from app.sync.conflicts import REASONS, ConflictService
from app.sync.errors import SyncError
from app.sync.township import ExportResult, HistoryEntry, ImportResult, SyncStatus, TownshipSync
from app.ui.sync.background import SYNCING, BackgroundSync, RoundOutcome
from app.ui.sync.conflict_dialog import ConflictDialog
from app.ui.sync.network_panel import NetworkPanel
from app.ui.widgets.common import button, confirm, exec_once, page_header, show_error, show_info, ui_settings
from app.ui.widgets.progress import run_with_progress

FOLDER_KEY = "sync/folder"
CAPTIONS = ("登记情况", "待上报", "上次导出", "县里确认", "上次导入回执", "修改冲突")
NOT_ENROLLED = ("本机尚未登记到县级平台，不能{action}。\n请管理员点击「导入登记文件…」，导入县应急管理局提供的登记文件"
                "（.xae）后再{action}。")


def _table(name: str, columns: tuple[str, ...]) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setObjectName(name)
    table.setHorizontalHeaderLabels(columns)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    header = table.horizontalHeader()
    for column in range(len(columns)):
        last = column == len(columns) - 1
        header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch if last
                                    else QHeaderView.ResizeMode.ResizeToContents)
    table.verticalHeader().hide()
    return table


def _fill(table: QTableWidget, rows: list[tuple[str, ...]]) -> None:
    table.setRowCount(len(rows))
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            table.setItem(r, c, QTableWidgetItem(value))


def _when(entry: HistoryEntry | None, missing: str) -> str:
    return missing if entry is None else f"{format_local(entry.at)}，{entry.file}（{entry.summary}）"


def status_lines(status: SyncStatus) -> dict[str, str]:
    """The status card's rows in plain Chinese, keyed by the label shown before each."""
    if not status.enrolled:
        return {"登记情况": "本机尚未登记到县级平台。请管理员导入县应急管理局提供的登记文件（.xae）后，才能上报数据。"}
    lines = {
        "登记情况": f"已登记：{status.county_name} · {status.township_name}",
        "待上报": f"{status.pending_records} 条记录 / {status.pending_attachments} 个附件",
        "上次导出": _when(status.last_export, "尚未导出过"),
        "县里确认": (f"{format_local(status.last_ack_at)}，已确认到第 {status.acknowledged_to} 号"
                     if status.acknowledged_to else "尚未收到县里的确认"),
        "上次导入回执": _when(status.last_import, "尚未导入过回执文件"),
    }
    if status.open_conflicts:
        lines["修改冲突"] = f"{status.open_conflicts} 条（见下方列表）"
    return lines


ENROL_ORDER = (
    "<b>本乡镇有两台（或更多）电脑时，请按顺序登记：</b><br>"
    "① 先登记<b>已经录有本乡镇数据的那台电脑</b>：导入它的登记文件，再把数据上报一次（联网时自动上报，"
    "或「导出到U盘…」交县里导入）。<br>"
    "② 县里收到这次上报<b>以后</b>，再为第二台电脑生成登记文件（每台电脑一个，不能共用），在第二台电脑上导入。"
    "第二台电脑在下一次收到县里的回执时，就会收到本乡镇的全部数据。<br>"
    "顺序反了，县里会拒收其中一台电脑上报的数据，只能重新登记。")

# What to do after an import was refused, beyond the standard sentence (which already says what happened).
IMPORT_ADVICE = {
    "wrong_township": "请在U盘上找到发给本乡镇（{township}）这台电脑的回执文件再导入；如果找不到，请向县应急管理局说明，"
                      "由县里重新导入本机上报的文件，生成新的回执文件。",
    "wrong_recipient": "每台电脑只能导入县里为它生成的回执文件。请确认这个文件是导入本机上报的文件后生成的。",
    "unknown_sender": "请确认本机登记的是这个县，或向县应急管理局核实文件来源。",
}


def import_error_text(exc: SyncError, township: str) -> str:
    """A refused return file in plain words: nothing changed, what happened, what to do."""
    if exc.code == "cancelled":
        return str(exc)
    advice = IMPORT_ADVICE.get(exc.code, "").format(township=township)
    return "\n\n".join(part for part in ("回执文件没有导入，本机数据没有变化。", str(exc), advice) if part)


def export_summary(result: ExportResult) -> str:
    return (f"已写入同步文件：\n{result.path}\n\n共 {result.records} 条记录、{result.attachments} 个附件。"
            "\n请把U盘交县应急管理局导入，再把县里生成的回执文件带回本机导入。")


def import_summary(result: ImportResult) -> str:
    if result.replay:
        return "\n".join(result.messages)
    received = "、".join(f"{label} {count} 条" for label, count in result.received.items())
    lines = [f"县里已确认收到本机上报的第 {result.acknowledged_to} 号及以前的全部记录。",
             f"本次收到：{received}（县里下发的内容和本乡镇其他电脑上报的内容）。" if received
             else "本次没有收到新的内容。"]
    if result.conflicts:
        lines.append(f"修改冲突：{result.conflicts} 条。")
    return "\n".join([*lines, *result.messages])


class SyncPage(QWidget):
    """Status for everyone; the actions for users who may change data (enrolment for administrators)."""

    changed = Signal()

    def __init__(self, services: Services, data_dir: Path) -> None:
        super().__init__()
        self.services = services
        self.sync = TownshipSync(services.db, data_dir)
        role = services.actor.role
        self.background: BackgroundSync | None = None
        self.sync_now_button = button("立即同步", primary=True, name="sync_now_button")
        self.sync_now_button.setToolTip("马上与县级平台联网同步一次（平时每隔几分钟自动同步）")
        self.sync_now_button.clicked.connect(self.on_sync_now_clicked)
        self.enrol_button = button("导入登记文件…", name="enrol_button")
        self.export_button = button("导出到U盘…", name="export_button")
        self.import_button = button("导入回执文件…", name="import_return_button")
        self.enrol_button.clicked.connect(self.on_enrol_clicked)
        self.export_button.clicked.connect(self.on_export_clicked)
        self.import_button.clicked.connect(self.on_import_clicked)
        actions = []
        if role.can_write:
            actions = [self.sync_now_button, self.export_button, self.import_button]
        if role is Role.ADMIN:
            actions.insert(0, self.enrol_button)
        for unused in {self.enrol_button, self.sync_now_button, self.export_button, self.import_button} - set(actions):
            unused.setParent(self)  # kept (and hidden) so the page's code paths stay uniform
            unused.hide()

        self.card = QFrame()
        self.card.setObjectName("card")
        self.card_form = QFormLayout(self.card)
        self.card_form.setContentsMargins(16, 12, 16, 12)
        self.status_labels: dict[str, QLabel] = {}
        for caption in CAPTIONS:
            value = QLabel()
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.status_labels[caption] = value
            self.card_form.addRow(f"{caption}：", value)
        self.network = NetworkPanel(services, self.sync)
        self.network.address_changed.connect(self.on_address_changed)
        self.enrol_help = QLabel(ENROL_ORDER)
        self.enrol_help.setObjectName("enrol_help")
        self.enrol_help.setWordWrap(True)
        self.enrol_help.setStyleSheet("QLabel { background: #eef4fc; border: 1px solid #c9dcf5; border-radius: 6px;"
                                      " padding: 8px 12px; color: #33475b; }")
        self.history_table = _table("sync_history", ("时间", "方式", "方向", "文件", "内容"))
        self.conflicts = ConflictService(services.db, services.actor)
        self.conflicts_title = QLabel("修改冲突（同一条记录在本乡镇两台电脑上被同时修改，已按规则保留一个版本，另一个版本保存在这里）：")
        self.conflicts_title.setWordWrap(True)
        self.conflict_button = button("查看并处理…" if role.can_write else "查看…", name="conflict_button")
        self.conflict_button.clicked.connect(self.on_conflict_clicked)
        self.conflicts_table = _table("sync_conflicts", ("发现时间", "类别", "记录", "原因", "状态"))
        self.conflicts_table.cellDoubleClicked.connect(lambda _row, _column: self.on_conflict_clicked())
        self.conflicts_table.itemSelectionChanged.connect(self._enable_conflict_button)
        conflicts_row = QHBoxLayout()
        conflicts_row.addWidget(self.conflicts_title, 1)
        conflicts_row.addWidget(self.conflict_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.addWidget(page_header("同步", "与县应急管理局交换数据：联网时自动同步，也可以用U盘", actions))
        layout.addWidget(self.card)
        layout.addWidget(self.network)
        layout.addWidget(self.enrol_help)
        layout.addWidget(QLabel("同步记录："))
        layout.addWidget(self.history_table, 2)
        layout.addLayout(conflicts_row)
        layout.addWidget(self.conflicts_table, 1)
        self.refresh()

    # -- display -----------------------------------------------------------------------------------
    def attach_background(self, background: BackgroundSync) -> None:
        """The main window's background sync: its state shows here, 立即同步 and 取消 drive it."""
        self.background = background
        self.network.attach(background)
        background.round_finished.connect(self.on_round_finished)
        background.state_changed.connect(lambda state: self.sync_now_button.setEnabled(state.phase != SYNCING))

    def refresh(self) -> None:
        self.status = self.sync.status()
        self._show_status(status_lines(self.status))
        self.network.show_status(self.status)
        # the order matters until the county has acknowledged this PC's first upload
        self.enrol_help.setVisible(not self.status.enrolled or not self.status.acknowledged_to)
        _fill(self.history_table, [(format_local(e.at), e.via, e.direction, e.file, e.summary)
                                   for e in self.sync.history()])
        conflicts = self.sync.conflicts() if self.status.enrolled else []
        _fill(self.conflicts_table, [(format_local(c.detected_at), c.label, c.summary, REASONS.get(c.reason, c.reason),
                                      "已处理" if c.resolved else "未处理") for c in conflicts])
        for row, conflict in enumerate(conflicts):
            self.conflicts_table.item(row, 0).setData(Qt.ItemDataRole.UserRole, conflict.id)
        for widget in (self.conflicts_title, self.conflict_button, self.conflicts_table):
            widget.setVisible(bool(conflicts))
        self._enable_conflict_button()

    def _show_status(self, lines: dict[str, str]) -> None:
        for caption, label in self.status_labels.items():
            label.setText(lines.get(caption, ""))
            self.card_form.setRowVisible(label, caption in lines)

    def status_text(self) -> str:
        return "\n".join(f"{k}：{v.text()}" for k, v in self.status_labels.items() if v.text())

    # -- actions -----------------------------------------------------------------------------------
    def _folder(self) -> str:
        return str(ui_settings().value(FOLDER_KEY, ""))

    def _remember(self, path: str) -> None:
        ui_settings().setValue(FOLDER_KEY, path if Path(path).is_dir() else str(Path(path).parent))

    def on_enrol_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "选择县应急管理局提供的登记文件", self._folder(), "登记文件 (*.xae)")
        if not path:
            return
        if self.status.enrolled and not confirm(
                self, f"本机已登记到「{self.status.county_name}」。确定用这个登记文件重新登记本机吗？\n本机数据不会丢失，"
                      "全部数据将在下次导出时重新上报。"):
            return
        self._remember(path)
        result = run_with_progress(self, "正在登记本机…", lambda _p, _c: self.sync.enrol(Path(path)))
        if result is None:
            return
        self._status_changed()
        self.changed.emit()
        how = ("联网时会自动上报；没有网络时请点击「导出到U盘…」。" if self.sync.server_url() else
               "请点击「导出到U盘…」；如县里提供了县级平台地址，请在「联网同步」处填写，以后可自动上报。")
        show_info(self, f"本机已{'重新' if result.reenrolled else ''}登记为「{result.county_name} · {result.township_name}」。"
                        f"\n本机密钥指纹：{result.fingerprint}\n待上报 {result.queued} 条记录，{how}")

    def _enrolled(self, action: str) -> bool:
        """Refuse up front, before any file dialog, on a PC that was never enrolled."""
        if self.sync.enrolled():
            return True
        show_error(self, NOT_ENROLLED.format(action=action))
        return False

    def on_export_clicked(self) -> None:
        if not self._enrolled("导出"):
            return
        folder = QFileDialog.getExistingDirectory(self, "选择U盘或导出文件夹", self._folder())
        if not folder:
            return
        self._remember(folder)
        result = run_with_progress(self, "正在导出同步文件…",
                                   lambda progress, cancelled: self.sync.export_bundle(Path(folder), progress, cancelled))
        self._status_changed()
        if result is not None:
            show_info(self, export_summary(result), "导出完成")

    def _status_changed(self) -> None:
        """After a USB round, an enrolment, a resolved conflict: the page, and the status bar's count."""
        self.refresh()
        if self.background is not None:
            self.background.refresh()

    def on_round_finished(self, _outcome: RoundOutcome) -> None:
        self.refresh()
        self.changed.emit()  # county data may have come down

    def on_address_changed(self) -> None:
        self._status_changed()
        show_info(self, f"县级平台地址已设为：{self.sync.server_url()}\n本机将马上尝试联网同步。", "已保存")

    def on_sync_now_clicked(self) -> None:
        if not self._enrolled("联网同步"):
            return
        if not self.sync.server_url():
            show_error(self, "尚未设置县级平台地址，不能联网同步。\n请管理员在「联网同步 → 县级平台」处点击「修改…」，"
                             "填写县应急管理局提供的地址；没有网络时可以用U盘同步。")
            return
        if self.background is not None:
            self.background.sync_now()

    def _enable_conflict_button(self) -> None:
        self.conflict_button.setEnabled(self._selected_conflict() is not None)

    def _selected_conflict(self) -> int | None:
        rows = self.conflicts_table.selectionModel().selectedRows()
        if not rows:
            return None
        return self.conflicts_table.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole)

    def on_conflict_clicked(self) -> None:
        conflict_id = self._selected_conflict()
        if conflict_id is None:
            return
        try:
            dialog = ConflictDialog(self.conflicts, conflict_id, self.services.actor.role.can_write, self)
        except XiangAnError as exc:
            show_error(self, str(exc))
            self.refresh()
            return
        exec_once(dialog)
        if not dialog.decision:
            return
        self._status_changed()
        self.changed.emit()
        show_info(self, "已保留当前版本，这条冲突已标记为已处理。" if dialog.decision == "keep" else
                  "已改用另一版本，这条冲突已标记为已处理。这次修改会在下次同步时上报县里。", "冲突已处理")

    def _import_return(self, path: Path, progress, cancelled) -> ImportResult:
        """Runs off the UI thread; a refused file comes back as one plain message (never a traceback)."""
        try:
            return self.sync.import_return(path, progress, cancelled)
        except SyncError as exc:
            raise XiangAnError(import_error_text(exc, self.status.township_name or "本乡镇")) from exc

    def on_import_clicked(self) -> None:
        if not self._enrolled("导入回执"):
            return
        path, _ = QFileDialog.getOpenFileName(self, "选择县里生成的回执文件", self._folder(), "同步文件 (*.xab)")
        if not path:
            return
        self._remember(path)
        result = run_with_progress(self, "正在导入回执文件…",
                                   lambda progress, cancelled: self._import_return(Path(path), progress, cancelled))
        self._status_changed()
        if result is None:
            return
        self.changed.emit()
        show_info(self, import_summary(result), "导入完成")
