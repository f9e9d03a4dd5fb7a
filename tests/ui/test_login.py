"""First run, log-in and the forced password change, through the real dialogs."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from app.models import Role
from app.services.accounts import AccountService
from app.services.organisation import TownshipService, current_scope
from app.ui.login import FirstRunDialog, ForcedPasswordDialog, LoginDialog
from tests.conftest import ADMIN
from tests.ui.conftest import click, type_into


def test_first_run_creates_township_and_administrator(qtbot, db):
    dialog = FirstRunDialog(db, lambda _p: False)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.pages.currentIndex() == 0
    click(qtbot, dialog.own_radio)
    click(qtbot, dialog.findChild(QPushButton, "choice_next_button"))
    assert dialog.pages.currentIndex() == 1
    # Missing required fields are named on the form, nothing is saved.
    click(qtbot, dialog.findChild(QPushButton, "township_next_button"))
    assert dialog.township_form.errors["name"].text() == "必填，不能为空"
    assert current_scope(db) is None
    type_into(qtbot, dialog.township_form.editors["name"], "青山镇")
    type_into(qtbot, dialog.township_form.editors["county_name"], "安远县")
    type_into(qtbot, dialog.township_form.editors["code"], "360726100")
    click(qtbot, dialog.findChild(QPushButton, "township_next_button"))
    assert dialog.pages.currentIndex() == 2
    assert current_scope(db).township_name == "青山镇"
    dialog.admin_password_edit.setText("abc12345")
    dialog.admin_again_edit.setText("abc12346")
    dialog.on_finish_clicked()
    assert "不一致" in dialog.admin_error.text()
    dialog.admin_again_edit.setText("abc12345")
    click(qtbot, dialog.findChild(QPushButton, "finish_button"))
    assert dialog.result() == FirstRunDialog.DialogCode.Accepted
    assert dialog.actor.role is Role.ADMIN
    assert AccountService(db).authenticate("admin", "abc12345").username == "admin"


def test_first_run_weak_password_is_explained(qtbot, db):
    TownshipService(db, ADMIN).save_profile({"name": "青山镇", "county_name": "安远县"})
    dialog = FirstRunDialog(db, lambda _p: False)
    qtbot.addWidget(dialog)
    assert dialog.pages.currentIndex() == 2  # the township exists: straight to the administrator
    dialog.admin_password_edit.setText("short")
    dialog.admin_again_edit.setText("short")
    dialog.on_finish_clicked()
    assert "至少8位" in dialog.admin_error.text()
    assert not AccountService(db).has_users()


def test_demo_choice_runs_the_demo_builder(qtbot, db):
    calls = []

    def make_demo(_parent) -> bool:
        calls.append(True)
        TownshipService(db, ADMIN).save_profile({"name": "演示镇", "county_name": "演示县"})
        return True

    dialog = FirstRunDialog(db, make_demo)
    qtbot.addWidget(dialog)
    dialog.demo_radio.setChecked(True)
    dialog.on_choice_next_clicked()
    assert calls == [True]
    assert dialog.pages.currentIndex() == 2


def test_login_wrong_then_right_password(qtbot, db):
    accounts = AccountService(db)
    accounts.create_first_admin("admin", "abc12345", "张应急")
    dialog = LoginDialog(accounts, "青山镇")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClicks(dialog.username_edit, "admin")
    qtbot.keyClicks(dialog.password_edit, "wrong999")
    click(qtbot, dialog.login_button)
    assert dialog.error_label.isVisible()
    assert "还可以再试4次" in dialog.error_label.text()
    assert dialog.password_edit.text() == ""
    qtbot.keyClicks(dialog.password_edit, "abc12345")
    qtbot.keyClick(dialog.password_edit, Qt.Key.Key_Return)
    assert dialog.result() == LoginDialog.DialogCode.Accepted
    assert dialog.actor.display_name == "张应急"


def test_new_user_must_replace_the_initial_password(qtbot, db):
    accounts = AccountService(db)
    admin = accounts.create_first_admin("admin", "abc12345")
    accounts.add_user(admin, "clerk1", "init1234", "王录入", Role.CLERK)
    clerk = accounts.authenticate("clerk1", "init1234")
    assert accounts.must_change_password(clerk)
    dialog = ForcedPasswordDialog(accounts, clerk, "init1234")
    qtbot.addWidget(dialog)
    dialog.new_edit.setText("newpass99")
    dialog.again_edit.setText("newpass99")
    dialog.on_ok_clicked()
    assert dialog.result() == ForcedPasswordDialog.DialogCode.Accepted
    assert not accounts.must_change_password(clerk)
    assert accounts.authenticate("clerk1", "newpass99").role is Role.CLERK
