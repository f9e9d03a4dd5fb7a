"""Log-in, first-run set-up (administrator, township or demo) and the forced password change."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app import APP_NAME
from app.errors import ValidationError, XiangAnError
from app.services.accounts import AccountService
from app.services.context import SYSTEM_ACTOR, Actor
from app.services.organisation import TOWNSHIP_FIELDS, TownshipService
from app.storage import Database
from app.ui.style import icon
from app.ui.widgets.common import button, error_label, password_edit
from app.ui.widgets.record_form import RecordForm


def _brand(subtitle: str) -> QWidget:
    box = QWidget()
    row = QHBoxLayout(box)
    logo = QLabel()
    logo.setPixmap(icon("app").pixmap(48, 48))
    row.addWidget(logo)
    texts = QVBoxLayout()
    title = QLabel(APP_NAME)
    title.setObjectName("pageTitle")
    sub = QLabel(subtitle)
    sub.setObjectName("pageSubtitle")
    texts.addWidget(title)
    texts.addWidget(sub)
    row.addLayout(texts, 1)
    return box


class LoginDialog(QDialog):
    def __init__(self, accounts: AccountService, township_name: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.accounts = accounts
        self.actor: Actor | None = None
        self.setWindowTitle(f"登录 — {APP_NAME}")
        self.username_edit = QLineEdit()
        self.username_edit.setObjectName("username_edit")
        self.password_edit = password_edit("password_edit")
        self.error_label = error_label()
        self.login_button = button("登录", primary=True, name="login_button")
        self.login_button.setDefault(True)
        self.login_button.clicked.connect(self.on_login_clicked)
        self.password_edit.returnPressed.connect(self.on_login_clicked)
        form = QFormLayout()
        form.addRow("用户名：", self.username_edit)
        form.addRow("密码：", self.password_edit)
        layout = QVBoxLayout(self)
        layout.addWidget(_brand(f"{township_name or '乡镇'}应急管理工作台"))
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.login_button)
        self.setFixedWidth(380)

    def on_login_clicked(self) -> None:
        try:
            self.actor = self.accounts.authenticate(self.username_edit.text(), self.password_edit.text())
        except XiangAnError as exc:
            self.error_label.setText(str(exc))
            self.error_label.show()
            self.password_edit.clear()
            self.password_edit.setFocus()
            return
        self.accept()


class ForcedPasswordDialog(QDialog):
    """A new account's first log-in: the password the administrator chose must be replaced."""

    def __init__(self, accounts: AccountService, actor: Actor, old_password: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("请设置新密码")
        self.accounts, self.actor, self.old_password = accounts, actor, old_password
        self.new_edit = password_edit("new_password_edit", "至少8位，含字母和数字")
        self.again_edit = password_edit("again_password_edit")
        self.error_label = error_label()
        ok = button("确定", primary=True, name="ok_button")
        ok.clicked.connect(self.on_ok_clicked)
        form = QFormLayout(self)
        form.addRow(QLabel("首次登录须修改管理员给您的初始密码。"))
        form.addRow("新密码：", self.new_edit)
        form.addRow("再次输入：", self.again_edit)
        form.addRow(self.error_label)
        form.addRow(ok)

    def on_ok_clicked(self) -> None:
        if self.new_edit.text() != self.again_edit.text():
            self.error_label.setText("两次输入的密码不一致。")
            self.error_label.show()
            return
        try:
            self.accounts.change_password(self.actor, self.old_password, self.new_edit.text())
        except XiangAnError as exc:
            self.error_label.setText(str(exc))
            self.error_label.show()
            return
        self.accept()


class FirstRunDialog(QDialog):
    """First start: choose our own township or the demo, then create the administrator
    (skipped when someone is already logged in).

    ``make_demo`` builds the demo township (it runs with a progress dialog supplied by the caller).
    """

    def __init__(self, db: Database, make_demo: Callable[[QWidget], bool], actor: Actor | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"欢迎使用{APP_NAME}")
        self.db = db
        self.accounts = AccountService(db)
        self.make_demo = make_demo
        self.actor = actor  # already logged in when accounts exist but the township does not
        self.needs_township = not TownshipService(db, SYSTEM_ACTOR).profile()
        self.pages = QStackedWidget()
        self.pages.addWidget(self._choice_page())
        self.pages.addWidget(self._township_page())
        self.pages.addWidget(self._admin_page())
        layout = QVBoxLayout(self)
        layout.addWidget(_brand("第一次使用：请完成以下设置"))
        layout.addWidget(self.pages, 1)
        self.pages.setCurrentIndex(0 if self.needs_township else 2)
        self.resize(560, 520)

    # -- page 1: our township or the demo --------------------------------------------------
    def _choice_page(self) -> QWidget:
        page = QWidget()
        self.own_radio = QRadioButton("建立本乡镇（街道）的数据：填写乡镇信息，再导入或录入村、企业等名录")
        self.own_radio.setObjectName("own_radio")
        self.demo_radio = QRadioButton("先看看演示乡镇：自动生成一个虚构的乡镇（12个村/社区、约80家企业），数据均为虚构")
        self.demo_radio.setObjectName("demo_radio")
        self.own_radio.setChecked(True)
        for radio in (self.own_radio, self.demo_radio):
            radio.setStyleSheet("QRadioButton { padding: 8px; }")
        self.choice_error = error_label()
        next_button = button("下一步", primary=True, name="choice_next_button")
        next_button.clicked.connect(self.on_choice_next_clicked)
        layout = QVBoxLayout(page)
        layout.addWidget(QLabel("这台电脑上还没有数据。请选择："))
        layout.addWidget(self.own_radio)
        layout.addWidget(self.demo_radio)
        layout.addWidget(self.choice_error)
        layout.addStretch(1)
        layout.addWidget(next_button, 0, Qt.AlignmentFlag.AlignRight)
        return page

    def on_choice_next_clicked(self) -> None:
        if self.demo_radio.isChecked():
            if not self.make_demo(self):
                self.choice_error.setText("演示乡镇未能生成，请重试或选择建立本乡镇的数据。")
                self.choice_error.show()
                return
            self._township_done()
        else:
            self.pages.setCurrentIndex(1)

    # -- page 2: the township profile ------------------------------------------------------
    def _township_page(self) -> QWidget:
        page = QWidget()
        self.township_form = RecordForm(TOWNSHIP_FIELDS, lambda _n: [])
        next_button = button("下一步", primary=True, name="township_next_button")
        next_button.clicked.connect(self.on_township_next_clicked)
        back = button("上一步")
        back.clicked.connect(lambda: self.pages.setCurrentIndex(0))
        row = QHBoxLayout()
        row.addWidget(back)
        row.addStretch(1)
        row.addWidget(next_button)
        layout = QVBoxLayout(page)
        layout.addWidget(QLabel("填写本乡镇（街道）的基本信息（带 * 的为必填，以后可在「组织机构」中修改）："))
        layout.addWidget(self.township_form, 1)
        layout.addLayout(row)
        return page

    def on_township_next_clicked(self) -> None:
        try:
            TownshipService(self.db, SYSTEM_ACTOR).save_profile(self.township_form.values())
        except ValidationError as exc:
            self.township_form.show_errors(exc.errors)
            return
        except XiangAnError as exc:
            self.township_form.show_errors({"name": str(exc)})
            return
        self._township_done()

    def _township_done(self) -> None:
        if self.actor is not None:
            self.accept()
        else:
            self.pages.setCurrentIndex(2)

    # -- page 3: the administrator ---------------------------------------------------------
    def _admin_page(self) -> QWidget:
        page = QWidget()
        self.admin_username_edit = QLineEdit("admin")
        self.admin_username_edit.setObjectName("admin_username_edit")
        self.admin_name_edit = QLineEdit()
        self.admin_name_edit.setObjectName("admin_name_edit")
        self.admin_name_edit.setPlaceholderText("如：张应急")
        self.admin_password_edit = password_edit("admin_password_edit", "至少8位，含字母和数字")
        self.admin_again_edit = password_edit("admin_again_edit")
        self.admin_error = error_label()
        finish = button("完成并进入", primary=True, name="finish_button")
        finish.clicked.connect(self.on_finish_clicked)
        form = QFormLayout(page)
        form.addRow(QLabel("创建管理员账号。本软件没有默认密码，请牢记您设置的密码。"))
        form.addRow("用户名：", self.admin_username_edit)
        form.addRow("姓名：", self.admin_name_edit)
        form.addRow("密码：", self.admin_password_edit)
        form.addRow("再次输入密码：", self.admin_again_edit)
        form.addRow(self.admin_error)
        form.addRow(finish)
        return page

    def on_finish_clicked(self) -> None:
        if self.admin_password_edit.text() != self.admin_again_edit.text():
            self._admin_failed("两次输入的密码不一致。")
            return
        try:
            self.actor = self.accounts.create_first_admin(
                self.admin_username_edit.text(), self.admin_password_edit.text(), self.admin_name_edit.text()
            )
        except XiangAnError as exc:
            self._admin_failed(str(exc))
            return
        self.accept()

    def _admin_failed(self, text: str) -> None:
        self.admin_error.setText(text)
        self.admin_error.show()
