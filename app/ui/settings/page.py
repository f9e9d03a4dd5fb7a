"""设置: my account, user management (administrators), data and backups, about."""

from __future__ import annotations

import platform
from pathlib import Path

import PySide6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app import APP_NAME, __version__, build_info
from app.errors import XiangAnError
from app.localtime import format_local
from app.models import ROLE_LABELS, Role
from app.paths import backups_dir, resource
from app.services import Services
from app.services.maintenance import MaintenanceService
from app.ui.widgets.common import (
    button,
    confirm,
    error_label,
    page_header,
    password_edit,
    show_error,
    show_info,
    ui_settings,
)


class ChangePasswordForm(QWidget):
    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services
        self.old_edit = password_edit("old_password_edit")
        self.new_edit = password_edit("new_password_edit")
        self.again_edit = password_edit("again_password_edit")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.save_button = button("修改密码", primary=True, name="change_password_button")
        self.save_button.clicked.connect(self.on_save_clicked)
        form = QFormLayout(self)
        actor = services.actor
        form.addRow("当前账号：", QLabel(f"{actor.username}（{actor.display_name}，{actor.role.label}）"))
        form.addRow("原密码：", self.old_edit)
        form.addRow("新密码：", self.new_edit)
        form.addRow("再次输入新密码：", self.again_edit)
        form.addRow("", QLabel("密码至少8位，需同时包含字母和数字。"))
        form.addRow("", self.message)
        form.addRow("", self.save_button)

    def on_save_clicked(self) -> None:
        if self.new_edit.text() != self.again_edit.text():
            self._say("两次输入的新密码不一致。", error=True)
            return
        try:
            self.services.accounts.change_password(self.services.actor, self.old_edit.text(), self.new_edit.text())
        except XiangAnError as exc:
            self._say(str(exc), error=True)
            return
        for edit in (self.old_edit, self.new_edit, self.again_edit):
            edit.clear()
        self._say("密码已修改。", error=False)

    def _say(self, text: str, error: bool) -> None:
        self.message.setObjectName("formError" if error else "hint")
        self.message.setStyleSheet("")
        self.message.setText(text)


class AddUserDialog(QDialog):
    def __init__(self, services: Services, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("添加用户")
        self.services = services
        self.username_edit = QLineEdit()
        self.username_edit.setObjectName("username_edit")
        self.display_edit = QLineEdit()
        self.role_combo = QComboBox()
        for role in Role:
            self.role_combo.addItem(role.label, role)
        self.role_combo.setCurrentIndex(1)
        self.password_edit = password_edit("password_edit")
        self.error = error_label()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("添加")
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("取消")
        buttons.accepted.connect(self.on_ok_clicked)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow(self.error)
        form.addRow("用户名：", self.username_edit)
        form.addRow("姓名：", self.display_edit)
        form.addRow("角色：", self.role_combo)
        form.addRow("初始密码：", self.password_edit)
        form.addRow("", QLabel("新用户首次登录时须修改初始密码。"))
        form.addRow(buttons)

    def on_ok_clicked(self) -> None:
        try:
            self.services.accounts.add_user(self.services.actor, self.username_edit.text(),
                                            self.password_edit.text(), self.display_edit.text(),
                                            Role(self.role_combo.currentData()))  # Qt hands back the plain str
        except XiangAnError as exc:
            self.error.setText(str(exc))
            self.error.show()
            return
        self.accept()


class UsersPanel(QWidget):
    COLUMNS = ("用户名", "姓名", "角色", "状态", "最近登录")

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setObjectName("users_table")
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().hide()
        actions = QHBoxLayout()
        for text, slot, name in (
            ("添加用户", self.on_add_clicked, "add_user_button"),
            ("修改角色", self.on_role_clicked, "role_button"),
            ("重置密码", self.on_reset_clicked, "reset_button"),
            ("解锁", self.on_unlock_clicked, "unlock_button"),
            ("停用/启用", self.on_toggle_clicked, "toggle_button"),
        ):
            b = button(text, primary=name == "add_user_button", name=name)
            b.clicked.connect(slot)
            actions.addWidget(b)
        actions.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(actions)
        layout.addWidget(self.table)
        self.users = []
        self.reload()

    def reload(self) -> None:
        self.users = self.services.accounts.list_users(self.services.actor)
        self.table.setRowCount(len(self.users))
        for row, user in enumerate(self.users):
            status = "已停用" if not user.active else ("已锁定" if user.locked else "正常")
            for col, text in enumerate((user.username, user.display_name, ROLE_LABELS[user.role], status,
                                        format_local(user.last_login_at) or "从未登录")):
                self.table.setItem(row, col, QTableWidgetItem(text))

    def _selected(self):
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            show_info(self, "请先选中一个用户。")
            return None
        return self.users[rows[0].row()]

    def _run(self, action) -> None:
        try:
            action()
        except XiangAnError as exc:
            show_error(self, str(exc))
        self.reload()

    def on_add_clicked(self) -> None:
        if AddUserDialog(self.services, self).exec():
            self.reload()

    def on_role_clicked(self) -> None:
        user = self._selected()
        if user is None:
            return
        labels = [r.label for r in Role]
        label, ok = QInputDialog.getItem(self, "修改角色", f"「{user.username}」的新角色：", labels,
                                         labels.index(user.role.label), False)
        if ok:
            role = next(r for r in Role if r.label == label)
            self._run(lambda: self.services.accounts.set_role(self.services.actor, user.id, role))

    def on_reset_clicked(self) -> None:
        user = self._selected()
        if user is None:
            return
        password, ok = QInputDialog.getText(self, "重置密码", f"为「{user.username}」设置新的初始密码：",
                                            QLineEdit.EchoMode.Password)
        if ok:
            self._run(lambda: self.services.accounts.reset_password(self.services.actor, user.id, password))

    def on_unlock_clicked(self) -> None:
        user = self._selected()
        if user is not None:
            self._run(lambda: self.services.accounts.unlock(self.services.actor, user.id))

    def on_toggle_clicked(self) -> None:
        user = self._selected()
        if user is not None:
            self._run(lambda: self.services.accounts.set_active(self.services.actor, user.id, not user.active))


class DataPanel(QWidget):
    """Where the data is, backups (also to a USB stick), integrity check, restore on next start."""

    def __init__(self, services: Services, data_dir: Path) -> None:
        super().__init__()
        self.services = services
        self.maintenance = MaintenanceService(services.db, services.actor, data_dir)
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.backup_list = QListWidget()
        self.backup_list.setObjectName("backup_list")
        actions = QHBoxLayout()
        for text, slot, name in (
            ("立即备份", self.on_backup_clicked, "backup_button"),
            ("备份到U盘…", self.on_backup_to_clicked, "backup_to_button"),
            ("检查数据库", self.on_check_clicked, "check_button"),
            ("恢复选中的备份…", self.on_restore_clicked, "restore_button"),
        ):
            b = button(text, primary=name == "backup_button", name=name)
            b.clicked.connect(slot)
            actions.addWidget(b)
            if name == "restore_button" and services.actor.role is not Role.ADMIN:
                b.setEnabled(False)
                b.setToolTip("只有管理员可以恢复备份")
        actions.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.info)
        layout.addLayout(actions)
        layout.addWidget(QLabel("本机备份（每天自动备份一次，保留最近14份；升级前也会自动备份）："))
        layout.addWidget(self.backup_list, 1)
        self.reload()

    def reload(self) -> None:
        status = self.maintenance.status()
        self.info.setText(
            f"数据文件夹：{status.data_dir}\n数据库大小：{status.size_mb:.1f} MB　结构版本：{status.schema}"
        )
        self.backup_list.clear()
        for path in status.backups:
            self.backup_list.addItem(path.name)

    def on_backup_clicked(self) -> None:
        self._backup_into(backups_dir(self.maintenance.data_dir))

    def on_backup_to_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "选择U盘或备份文件夹", str(ui_settings().value("backup/folder", "")))
        if folder:
            ui_settings().setValue("backup/folder", folder)
            self._backup_into(Path(folder))

    def _backup_into(self, folder: Path) -> None:
        try:
            target = self.maintenance.backup(folder)
        except XiangAnError as exc:
            show_error(self, str(exc))
            return
        self.reload()
        show_info(self, f"已备份到：\n{target}")

    def on_check_clicked(self) -> None:
        try:
            problem = self.maintenance.check()
        except XiangAnError as exc:  # locked by another program: not damage, nothing to restore
            show_error(self, str(exc))
            return
        if problem:
            show_error(self, f"数据库检查发现问题：{problem}\n请恢复最近的备份。")
        else:
            show_info(self, "数据库检查通过，数据完整。")

    def on_restore_clicked(self) -> None:
        item = self.backup_list.currentItem()
        if item is None:
            show_info(self, "请先在列表中选中要恢复的备份。")
            return
        if not confirm(self, f"确定在下次启动时恢复备份「{item.text()}」吗？\n当前数据会先自动备份，不会丢失。"):
            return
        try:
            self.maintenance.request_restore(item.text())
        except XiangAnError as exc:
            show_error(self, str(exc))
            return
        show_info(self, "已安排恢复。请关闭并重新启动乡安，启动时将恢复该备份。")


class AboutPanel(QWidget):
    def __init__(self, data_dir: Path) -> None:
        super().__init__()
        licence = resource("fonts", "wqy-microhei.LICENSE.txt")
        text = QLabel(
            f"<h2>{APP_NAME} {__version__}</h2>"
            "<p>乡镇（街道）应急管理工作台：组织机构、七有五有、隐患排查治理、安全生产责任书与县级同步。</p>"
            f"<p>版本：{__version__}（{'从源代码运行' if build_info() == 'source' else '构建 ' + build_info()}）</p>"
            f"<p>数据文件夹：{data_dir}</p>"
            f"<p>运行环境：Python {platform.python_version()}，Qt for Python {PySide6.__version__}，"
            f"{platform.system()} {platform.release()}</p>"
            f"<p>内置字体：文泉驿微米黑（Apache-2.0 / GPL-3+ 字体例外），许可文件：{licence.name}</p>"
        )
        text.setWordWrap(True)
        text.setObjectName("about_text")
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addStretch(1)


class SettingsPage(QWidget):
    def __init__(self, services: Services, data_dir: Path) -> None:
        super().__init__()
        self.tabs = QTabWidget()
        self.tabs.setObjectName("settings_tabs")
        self.tabs.addTab(ChangePasswordForm(services), "我的账号")
        if services.actor.role is Role.ADMIN:
            self.tabs.addTab(UsersPanel(services), "用户管理")
        self.tabs.addTab(DataPanel(services, data_dir), "数据与备份")
        self.tabs.addTab(AboutPanel(data_dir), "关于")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.addWidget(page_header("设置", "账号、用户、数据备份"))
        layout.addWidget(self.tabs, 1)

    def refresh(self) -> None:
        for i in range(self.tabs.count()):
            panel = self.tabs.widget(i)
            if hasattr(panel, "reload"):
                panel.reload()
