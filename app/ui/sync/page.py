"""同步: this PC's link to the county — enrolment, export to a USB stick, the county's return file, history."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.localtime import format_local
from app.models import Role
from app.services import Services
from app.sync.township import ExportResult, HistoryEntry, ImportResult, SyncStatus, TownshipSync
from app.ui.widgets.common import button, confirm, page_header, show_error, show_info, ui_settings
from app.ui.widgets.progress import run_with_progress

FOLDER_KEY = "sync/folder"
CAPTIONS = ("登记情况", "待上报", "上次导出", "县里确认", "上次导入回执", "修改冲突")
REASONS = {"concurrent": "两台电脑同时修改", "duplicate": "重复登记"}
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
        self.enrol_button = button("导入登记文件…", name="enrol_button")
        self.export_button = button("导出到U盘…", primary=True, name="export_button")
        self.import_button = button("导入回执文件…", name="import_return_button")
        self.enrol_button.clicked.connect(self.on_enrol_clicked)
        self.export_button.clicked.connect(self.on_export_clicked)
        self.import_button.clicked.connect(self.on_import_clicked)
        actions = []
        if role.can_write:
            actions = [self.export_button, self.import_button]
        if role is Role.ADMIN:
            actions.insert(0, self.enrol_button)
        for unused in {self.enrol_button, self.export_button, self.import_button} - set(actions):
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
        self.history_table = _table("sync_history", ("时间", "方向", "文件", "内容"))
        self.conflicts_title = QLabel("修改冲突（同一条记录在本乡镇两台电脑上被同时修改，已按规则保留一个版本，另一个版本保存在这里）：")
        self.conflicts_title.setWordWrap(True)
        self.conflicts_table = _table("sync_conflicts", ("发现时间", "类别", "记录", "原因", "状态"))

        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.addWidget(page_header("同步", "通过U盘与县应急管理局交换数据", actions))
        layout.addWidget(self.card)
        layout.addWidget(QLabel("同步记录："))
        layout.addWidget(self.history_table, 2)
        layout.addWidget(self.conflicts_title)
        layout.addWidget(self.conflicts_table, 1)
        self.refresh()

    # -- display -----------------------------------------------------------------------------------
    def refresh(self) -> None:
        self.status = self.sync.status()
        self._show_status(status_lines(self.status))
        _fill(self.history_table, [(format_local(e.at), e.direction, e.file, e.summary) for e in self.sync.history()])
        conflicts = self.sync.conflicts() if self.status.enrolled else []
        _fill(self.conflicts_table, [(format_local(c.detected_at), c.label, c.summary, REASONS.get(c.reason, c.reason),
                                      "已处理" if c.resolved else "未处理") for c in conflicts])
        self.conflicts_title.setVisible(bool(conflicts))
        self.conflicts_table.setVisible(bool(conflicts))

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
        self.refresh()
        self.changed.emit()
        show_info(self, f"本机已{'重新' if result.reenrolled else ''}登记为「{result.county_name} · {result.township_name}」。"
                        f"\n本机密钥指纹：{result.fingerprint}\n待上报 {result.queued} 条记录，请点击「导出到U盘…」。")

    def _enrolled(self, action: str) -> bool:
        """Refuse up front, before any file dialog, on a PC that was never enrolled."""
        if self.sync.status().enrolled:
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
        self.refresh()
        if result is not None:
            show_info(self, export_summary(result), "导出完成")

    def on_import_clicked(self) -> None:
        if not self._enrolled("导入回执"):
            return
        path, _ = QFileDialog.getOpenFileName(self, "选择县里生成的回执文件", self._folder(), "同步文件 (*.xab)")
        if not path:
            return
        self._remember(path)
        result = run_with_progress(self, "正在导入回执文件…",
                                   lambda progress, cancelled: self.sync.import_return(Path(path), progress, cancelled))
        self.refresh()
        if result is None:
            return
        self.changed.emit()
        show_info(self, import_summary(result), "导入完成")
