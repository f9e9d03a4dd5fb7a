"""设置: user management, data and backups, about — clicked through the real widgets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QFileDialog, QInputDialog, QLabel, QPushButton

from app import __version__
from app.errors import AuthenticationError
from app.models import Role
from app.paths import database_path
from app.services import Services
from app.services.accounts import MAX_FAILED_ATTEMPTS
from app.storage import open_database
from app.storage.backup import list_backups
from app.storage.startup import RESTORE_REQUEST
from app.ui.settings.page import AboutPanel, AddUserDialog, DataPanel, SettingsPage, UsersPanel
from tests.conftest import CLERK, READER
from tests.ui.conftest import type_into


# -- helpers ---------------------------------------------------------------------------------------------
def _users_panel(qtbot, services: Services) -> UsersPanel:
    panel = UsersPanel(services)
    qtbot.addWidget(panel)
    panel.show()
    return panel


def _data_panel(qtbot, services: Services, data_dir: Path) -> DataPanel:
    panel = DataPanel(services, data_dir)
    qtbot.addWidget(panel)
    panel.show()
    return panel


def _click(qtbot, parent, name: str) -> None:
    qtbot.mouseClick(parent.findChild(QPushButton, name), Qt.MouseButton.LeftButton)


def _rows(panel: UsersPanel) -> dict[str, dict[str, str]]:
    table = panel.table
    return {table.item(r, 0).text(): {panel.COLUMNS[c]: table.item(r, c).text() for c in range(table.columnCount())}
            for r in range(table.rowCount())}


def _select(panel: UsersPanel, username: str) -> None:
    row = next(r for r in range(panel.table.rowCount()) if panel.table.item(r, 0).text() == username)
    panel.table.selectRow(row)


def _fill_and_add(qtbot, dialog: AddUserDialog, username: str, password: str, display: str = "",
                  role: str = "") -> None:
    qtbot.keyClicks(dialog.username_edit, username)
    if display:
        type_into(qtbot, dialog.display_edit, display)
    if role:
        dialog.role_combo.setCurrentIndex(dialog.role_combo.findText(role))
    qtbot.keyClicks(dialog.password_edit, password)
    ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)


def _answer_item(monkeypatch: pytest.MonkeyPatch, label: str) -> list[tuple]:
    asked: list[tuple] = []

    def get_item(_parent, _title, text, items, current=0, editable=True, *args, **kwargs):
        asked.append((text, list(items), current))
        return label, True

    monkeypatch.setattr(QInputDialog, "getItem", get_item)
    return asked


def _answer_text(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr(QInputDialog, "getText", lambda *_a, **_k: (text, True))


# -- user management -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("chosen", "label", "role"), [
    ("", "录入员", Role.CLERK),  # the dialog's default
    ("只读", "只读", Role.READONLY),
    ("管理员", "管理员", Role.ADMIN),
], ids=["default", "readonly", "admin"])
def test_add_user_through_the_dialog_shows_the_new_account(qtbot, services, drive, chosen, label, role):
    panel = _users_panel(qtbot, services)
    assert panel.table.rowCount() == 0
    opened = drive(AddUserDialog, lambda d: _fill_and_add(qtbot, d, "lisi", "abc12345", "李四", chosen))
    _click(qtbot, panel, "add_user_button")
    assert len(opened) == 1 and not opened[0].isVisible() and not opened[0].error.isVisible()
    row = _rows(panel)["lisi"]
    assert row["姓名"] == "李四"
    assert row["角色"] == label
    assert row["状态"] == "正常"
    assert row["最近登录"] == "从未登录"
    actor = services.accounts.authenticate("lisi", "abc12345")
    assert actor.role is role
    assert services.accounts.must_change_password(actor)  # the administrator's password is only initial


def test_duplicate_username_is_explained_inside_the_dialog(qtbot, services, drive):
    services.accounts.add_user(services.actor, "lisi", "abc12345", "李四", Role.CLERK)
    panel = _users_panel(qtbot, services)
    seen: dict[str, object] = {}

    def act(dialog: AddUserDialog) -> None:
        _fill_and_add(qtbot, dialog, "LiSi", "xyz98765", "另一个李四")
        seen["open"] = dialog.isVisible()
        seen["error"] = dialog.error.text() if dialog.error.isVisible() else ""
        seen["typed"] = dialog.username_edit.text()
        dialog.reject()

    drive(AddUserDialog, act)
    _click(qtbot, panel, "add_user_button")
    assert seen == {"open": True, "error": "用户名：用户名「LiSi」已被使用", "typed": "LiSi"}
    assert list(_rows(panel)) == ["lisi"]


def test_weak_initial_password_is_refused_in_the_dialog(qtbot, services, drive):
    panel = _users_panel(qtbot, services)
    seen = {}

    def act(dialog: AddUserDialog) -> None:
        _fill_and_add(qtbot, dialog, "wangwu", "short1")
        seen["error"] = dialog.error.text()
        dialog.reject()

    drive(AddUserDialog, act)
    _click(qtbot, panel, "add_user_button")
    assert "密码至少8位" in seen["error"]
    assert panel.table.rowCount() == 0


def test_change_role_with_the_input_dialog(qtbot, services, monkeypatch, messages):
    services.accounts.add_user(services.actor, "lisi", "abc12345", "李四", Role.CLERK)
    panel = _users_panel(qtbot, services)
    asked = _answer_item(monkeypatch, "只读")
    _select(panel, "lisi")
    _click(qtbot, panel, "role_button")
    assert asked == [("「lisi」的新角色：", ["管理员", "录入员", "只读"], 1)]  # offered, current preselected
    assert _rows(panel)["lisi"]["角色"] == "只读"
    assert not messages
    assert services.accounts.authenticate("lisi", "abc12345").role is Role.READONLY


def test_buttons_without_a_selection_ask_for_one(qtbot, services, monkeypatch, messages):
    services.accounts.add_user(services.actor, "lisi", "abc12345", "李四", Role.CLERK)
    panel = _users_panel(qtbot, services)
    asked = _answer_item(monkeypatch, "只读")
    for name in ("role_button", "reset_button", "unlock_button", "toggle_button"):
        _click(qtbot, panel, name)
    assert messages == [("information", "请先选中一个用户。")] * 4
    assert not asked
    assert _rows(panel)["lisi"]["角色"] == "录入员"


def test_reset_password_refuses_a_weak_one_and_accepts_a_strong_one(qtbot, services, monkeypatch, messages):
    services.accounts.add_user(services.actor, "lisi", "abc12345", "李四", Role.CLERK)
    panel = _users_panel(qtbot, services)
    _select(panel, "lisi")
    _answer_text(monkeypatch, "1234")
    _click(qtbot, panel, "reset_button")
    assert messages == [("warning", "密码：密码至少8位")]
    services.accounts.authenticate("lisi", "abc12345")  # unchanged
    _answer_text(monkeypatch, "new12345")
    _select(panel, "lisi")
    _click(qtbot, panel, "reset_button")
    assert len(messages) == 1
    assert services.accounts.authenticate("lisi", "new12345").username == "lisi"
    with pytest.raises(AuthenticationError):
        services.accounts.authenticate("lisi", "abc12345")


def test_unlock_a_locked_account(qtbot, services, messages):
    services.accounts.add_user(services.actor, "lisi", "abc12345", "李四", Role.CLERK)
    for _ in range(MAX_FAILED_ATTEMPTS):
        with pytest.raises(AuthenticationError):
            services.accounts.authenticate("lisi", "wrong-password1")
    panel = _users_panel(qtbot, services)
    assert _rows(panel)["lisi"]["状态"] == "已锁定"
    with pytest.raises(AuthenticationError, match="已锁定"):
        services.accounts.authenticate("lisi", "abc12345")
    _select(panel, "lisi")
    _click(qtbot, panel, "unlock_button")
    assert _rows(panel)["lisi"]["状态"] == "正常"
    assert not messages
    assert services.accounts.authenticate("lisi", "abc12345").username == "lisi"


def test_disable_and_enable_an_account(qtbot, services, messages):
    services.accounts.add_user(services.actor, "lisi", "abc12345", "李四", Role.CLERK)
    panel = _users_panel(qtbot, services)
    _select(panel, "lisi")
    _click(qtbot, panel, "toggle_button")
    assert _rows(panel)["lisi"]["状态"] == "已停用"
    with pytest.raises(AuthenticationError):
        services.accounts.authenticate("lisi", "abc12345")
    _select(panel, "lisi")
    _click(qtbot, panel, "toggle_button")
    assert _rows(panel)["lisi"]["状态"] == "正常"
    assert not messages


def test_the_last_administrator_cannot_be_demoted_or_disabled(qtbot, services, monkeypatch, messages):
    services.accounts.create_first_admin("boss", "abc12345", "老板")
    panel = _users_panel(qtbot, services)
    _answer_item(monkeypatch, "录入员")
    _select(panel, "boss")
    _click(qtbot, panel, "role_button")
    assert messages == [("warning", "角色：「boss」是唯一的管理员，不能降级或停用")]
    _select(panel, "boss")
    _click(qtbot, panel, "toggle_button")
    assert len(messages) == 2 and "唯一的管理员" in messages[1][1]
    assert _rows(panel)["boss"]["角色"] == "管理员"
    assert _rows(panel)["boss"]["状态"] == "正常"


@pytest.mark.parametrize("actor", [CLERK, READER], ids=["clerk", "reader"])
def test_only_administrators_see_user_management(qtbot, services, data_dir, actor):
    page = SettingsPage(Services(services.db, actor), data_dir)
    qtbot.addWidget(page)
    tabs = [page.tabs.tabText(i) for i in range(page.tabs.count())]
    assert tabs == ["我的账号", "数据与备份", "关于"]
    admin = SettingsPage(services, data_dir)
    qtbot.addWidget(admin)
    assert [admin.tabs.tabText(i) for i in range(admin.tabs.count())] == ["我的账号", "用户管理", "数据与备份", "关于"]


# -- data and backups ------------------------------------------------------------------------------------
def test_backup_to_a_chosen_folder(qtbot, services, data_dir, tmp_path, monkeypatch, messages):
    stick = tmp_path / "U盘"
    stick.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *_a, **_k: str(stick))
    panel = _data_panel(qtbot, services, data_dir)
    _click(qtbot, panel, "backup_to_button")
    made = list_backups(stick)
    assert len(made) == 1 and made[0].name.endswith("-manual.sqlite3")
    assert messages == [("information", f"已备份到：\n{made[0]}")]
    assert panel.backup_list.count() == 0  # the local list shows only the data folder's backups
    # the copy is a complete database with the township in it
    copy = open_database(_as_data_folder(made[0], tmp_path / "copy"))
    try:
        assert Services(copy, services.actor).scope.township_name == "青山镇"
    finally:
        copy.dispose()


def test_backup_to_folder_cancelled_does_nothing(qtbot, services, data_dir, monkeypatch, messages):
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *_a, **_k: "")
    panel = _data_panel(qtbot, services, data_dir)
    _click(qtbot, panel, "backup_to_button")
    assert not messages


def test_check_database_reports_success(qtbot, services, data_dir, messages):
    panel = _data_panel(qtbot, services, data_dir)
    _click(qtbot, panel, "check_button")
    assert messages == [("information", "数据库检查通过，数据完整。")]


def test_restore_without_selection_asks_for_one(qtbot, services, data_dir, messages):
    panel = _data_panel(qtbot, services, data_dir)
    _click(qtbot, panel, "restore_button")
    assert messages == [("information", "请先在列表中选中要恢复的备份。")]
    assert not (data_dir / RESTORE_REQUEST).exists()


def test_restore_is_requested_and_carried_out_at_the_next_start(qtbot, services, data_dir, messages):
    villages = services.register("villages")
    villages.save({"name": "石桥村"})
    panel = _data_panel(qtbot, services, data_dir)
    _click(qtbot, panel, "backup_button")
    assert panel.backup_list.count() == 1
    backup_name = panel.backup_list.item(0).text()
    villages.save({"name": "后来新建村"})  # written after the backup: the restore must undo it

    panel.backup_list.setCurrentRow(0)
    _click(qtbot, panel, "restore_button")
    assert messages[-2][0] == "question" and backup_name in messages[-2][1]
    assert messages[-1] == ("information", "已安排恢复。请关闭并重新启动乡安，启动时将恢复该备份。")
    request = data_dir / RESTORE_REQUEST
    assert json.loads(request.read_text(encoding="utf-8")) == {"backup": backup_name}

    services.db.dispose()  # the app closes …
    restarted = open_database(data_dir)  # … and starts again
    try:
        names = [row["name"] for row in Services(restarted, services.actor).register("villages").rows()]
    finally:
        restarted.dispose()
    assert names == ["石桥村"]
    assert not request.exists()
    replaced = database_path(data_dir).with_suffix(".replaced")
    assert replaced.exists()  # the data it replaced is kept, not deleted
    kept = open_database(_as_data_folder(replaced, data_dir.parent / "kept"))
    try:
        kept_names = sorted(row["name"] for row in Services(kept, services.actor).register("villages").rows())
    finally:
        kept.dispose()
    assert kept_names == ["后来新建村", "石桥村"]


def test_a_clerk_cannot_request_a_restore(qtbot, services, data_dir, messages):
    _click(qtbot, _data_panel(qtbot, services, data_dir), "backup_button")
    clerk_panel = _data_panel(qtbot, Services(services.db, CLERK), data_dir)
    clerk_panel.backup_list.setCurrentRow(0)
    restore = clerk_panel.findChild(QPushButton, "restore_button")
    assert not restore.isEnabled()
    assert "只有管理员" in restore.toolTip()
    clerk_panel.on_restore_clicked()  # even if reached another way, the service refuses
    assert messages[-1][0] == "warning" and "只有管理员" in messages[-1][1]
    assert not (data_dir / RESTORE_REQUEST).exists()


def test_about_shows_the_version_and_data_folder(qtbot, data_dir):
    panel = AboutPanel(data_dir)
    qtbot.addWidget(panel)
    text = panel.findChild(QLabel, "about_text").text()
    assert __version__ in text
    assert str(data_dir) in text


def _as_data_folder(database_file: Path, folder: Path) -> Path:
    """A data folder holding a copy of ``database_file``, to open it the way the app would."""
    folder.mkdir(parents=True, exist_ok=True)
    database_path(folder).write_bytes(database_file.read_bytes())
    for suffix in ("-wal", "-shm"):
        journal = Path(f"{database_file}{suffix}")
        if journal.exists():
            Path(f"{database_path(folder)}{suffix}").write_bytes(journal.read_bytes())
    return folder

