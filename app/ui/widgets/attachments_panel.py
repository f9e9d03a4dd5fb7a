"""附件: the scanned files and photos attached to one register row — list, add, open, delete."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.errors import XiangAnError
from app.localtime import format_local
from app.ui.widgets.common import button, confirm, show_error, show_info, ui_settings

# What the user picks in the panel → the service's attachment role. A "photo" must be an image (the
# service checks the file's content, not its name); anything else may be a PDF or an image.
ROLES: tuple[tuple[str, str], ...] = (("扫描件", "scan"), ("照片", "photo"), ("其他附件", ""))
ROLE_TEXT = {role: label for label, role in ROLES}
FILE_FILTER = "PDF 或图片 (*.pdf *.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp);;所有文件 (*)"


def human_size(size: int) -> str:
    """Sizes as an office worker reads them: 845 KB, 3.2 MB."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def _added_text(value: Any) -> str:
    """``added_at`` is a UTC timestamp; shown in local time like every other timestamp in the app."""
    return format_local(value) if isinstance(value, datetime) else str(value or "")


class AttachmentsPanel(QWidget):
    """``service_factory(kind)`` returns the attachment service of a register (``services.attachments``);
    it is called for every action so a changed login or scope is always current."""

    changed = Signal()

    def __init__(self, service_factory: Callable[[str], Any], can_write: bool,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._service = service_factory
        self.can_write = can_write
        self.kind = ""
        self.record_id = ""
        self.setObjectName("attachments_panel")

        self.title_label = QLabel("附件")
        self.title_label.setObjectName("sectionTitle")
        self.role_combo = QComboBox()
        self.role_combo.setObjectName("role_combo")
        for label, role in ROLES:
            self.role_combo.addItem(label, role)
        self.role_combo.setToolTip("选“照片”时只接受图片文件")
        self.add_button = button("添加附件", primary=True, name="add_attachment_button")
        self.open_button = button("打开", name="open_attachment_button")
        self.remove_button = button("删除", danger=True, name="remove_attachment_button")
        self.add_button.clicked.connect(self.on_add_clicked)
        self.open_button.clicked.connect(self.on_open_clicked)
        self.remove_button.clicked.connect(self.on_remove_clicked)
        self.list = QListWidget()
        self.list.setObjectName("attachment_list")
        self.list.itemDoubleClicked.connect(lambda _item: self.on_open_clicked())
        self.list.currentRowChanged.connect(lambda _row: self._update_buttons())
        self.hint = QLabel()
        self.hint.setObjectName("hint")

        head = QHBoxLayout()
        head.addWidget(self.title_label)
        head.addWidget(self.hint, 1)
        head.addWidget(self.role_combo)
        for b in (self.add_button, self.open_button, self.remove_button):
            head.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 8)
        layout.addLayout(head)
        layout.addWidget(self.list, 1)
        self.set_record("", "")

    # -- data ------------------------------------------------------------------------------
    def set_record(self, kind: str, record_id: str, label: str = "") -> None:
        """Show the attachments of one row; an empty ``record_id`` means nothing is selected."""
        self.kind, self.record_id = kind, record_id
        self.title_label.setText(f"附件 — {label}" if label and record_id else "附件")
        self.reload()

    def reload(self) -> None:
        self.list.clear()
        if not self.record_id:
            self.hint.setText("在上方列表中选中一条记录后，可查看和添加它的附件（扫描件、照片）")
            self._update_buttons()
            return
        try:
            rows = self._service(self.kind).list(self.record_id)
        except XiangAnError as exc:
            self.hint.setText(str(exc))
            rows = []
        else:
            self.hint.setText(f"共 {len(rows)} 个附件，双击打开" if rows else "暂无附件")
        for row in rows:
            role = ROLE_TEXT.get(row.role, "附件")
            caption = f"　{row.caption}" if row.caption else ""
            item = QListWidgetItem(f"[{role}] {row.file_name}{caption}　{human_size(row.size)}　"
                                   f"{_added_text(row.added_at)}")
            item.setData(Qt.ItemDataRole.UserRole, row)
            item.setToolTip(str(row.path))
            self.list.addItem(item)
        self._update_buttons()

    def rows(self) -> list[Any]:
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())]

    def selected(self) -> Any:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def _update_buttons(self) -> None:
        has_record = bool(self.record_id)
        self.add_button.setEnabled(has_record and self.can_write)
        self.role_combo.setEnabled(has_record and self.can_write)
        picked = self.selected() is not None
        self.open_button.setEnabled(picked)
        self.remove_button.setEnabled(picked and self.can_write)

    # -- slots -----------------------------------------------------------------------------
    def on_add_clicked(self) -> None:
        if not self.record_id:
            return
        settings = ui_settings()
        folder = str(settings.value("attachments/folder", str(Path.home())))
        path, _filter = QFileDialog.getOpenFileName(self, "选择要添加的附件", folder, FILE_FILTER)
        if not path:
            return
        settings.setValue("attachments/folder", str(Path(path).parent))
        try:
            self._service(self.kind).add(self.record_id, Path(path), role=self.role_combo.currentData())
        except XiangAnError as exc:
            show_error(self, f"未能添加附件「{Path(path).name}」：{exc}")
            return
        self.reload()
        self.list.setCurrentRow(self.list.count() - 1)
        self.changed.emit()

    def on_open_clicked(self) -> None:
        row = self.selected()
        if row is None:
            show_info(self, "请先选中一个附件。")
            return
        if not Path(row.path).exists():
            show_error(self, f"附件文件「{row.file_name}」不在本机（{row.path}），可能尚未同步或已被移走。")
            return
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(row.path))):
            show_error(self, f"本机没有可以打开该文件的程序。文件保存在 {row.path}")

    def on_remove_clicked(self) -> None:
        row = self.selected()
        if row is None:
            show_info(self, "请先选中要删除的附件。")
            return
        if not confirm(self, f"确定删除附件「{row.file_name}」吗？\n删除后不再显示，但历史记录会保留。"):
            return
        try:
            self._service(self.kind).remove(row.id)
        except XiangAnError as exc:
            show_error(self, str(exc))
            return
        self.reload()
        self.changed.emit()
