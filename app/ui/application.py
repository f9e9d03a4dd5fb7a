"""Start-up of the GUI: Qt app → data folder → database → first run or log-in → main window."""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable
from logging.handlers import RotatingFileHandler
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QLibraryInfo, QLocale, QTranslator
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from app import APP_ID, APP_NAME, __version__
from app.errors import StorageError
from app.paths import database_path
from app.services import Services
from app.services.accounts import AccountService
from app.services.context import Actor
from app.services.organisation import current_scope
from app.storage import Database, open_database
from app.storage.backup import restore_from
from app.storage.startup import DatabaseDamaged
from app.ui.login import FirstRunDialog, ForcedPasswordDialog, LoginDialog
from app.ui.main_window import AREAS, MainWindow
from app.ui.style import apply_style
from app.ui.widgets.common import set_ui_settings_file, show_error
from app.ui.widgets.progress import run_with_progress

log = logging.getLogger("xiangan")


def create_application() -> QApplication:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName(APP_ID)
    app.setApplicationDisplayName(APP_NAME)
    app.setApplicationVersion(__version__)
    install_chinese_qt_texts(app)
    apply_style(app)
    return app  # type: ignore[return-value]


def install_chinese_qt_texts(app: QApplication) -> None:
    """Qt's own words (Yes/No/Cancel, file dialogs) in Chinese, from the translation Qt ships."""
    if app.property("xiangan_translator") is not None:
        return
    translator = QTranslator(app)  # parented to the app: lives as long as it does
    if translator.load(QLocale(QLocale.Language.Chinese, QLocale.Country.China), "qtbase", "_",
                       QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        app.installTranslator(translator)
        app.setProperty("xiangan_translator", True)


def setup_logging(data_dir: Path) -> None:
    try:
        (data_dir / "logs").mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = RotatingFileHandler(
            data_dir / "logs" / "xiangan.log", maxBytes=1_000_000, backupCount=3, encoding="utf-8"
        )
    except OSError:
        handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)


def install_excepthook() -> None:
    """An unexpected error in a slot is logged and shown; the window (and its open forms) stays."""

    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        text = "".join(traceback.format_exception(kind, exc, tb))
        log.error("unhandled error\n%s", text)
        sys.stderr.write(text)
        QMessageBox.critical(None, "意外错误", f"操作未完成：{exc}\n\n已填写的内容仍保留在窗口中。详细信息已写入日志。")

    sys.excepthook = hook


def open_or_recover(data_dir: Path) -> Database | None:
    """Open the database; on damage offer the newest backup; on any other problem explain and stop."""
    try:
        return open_database(data_dir)
    except DatabaseDamaged as exc:
        if exc.newest_backup is None:
            show_error(None, str(exc), "数据库损坏")
            return None
        answer = QMessageBox.question(None, "数据库损坏", f"{exc}\n\n是否现在恢复该备份？（损坏的文件会保留为 .damaged）")
        if answer != QMessageBox.StandardButton.Yes:
            return None
        try:
            restore_from(exc.newest_backup, database_path(data_dir))
        except StorageError as failure:
            show_error(None, str(failure), "恢复失败")
            return None
        return open_or_recover(data_dir)
    except StorageError as exc:
        show_error(None, str(exc), "无法打开数据")
        return None


def _make_demo(db: Database) -> Callable[[QWidget], bool]:
    def make(parent: QWidget) -> bool:
        # Imported on first run only: the demo generator is ~15 ms of every later start-up otherwise.
        from app.services.demo import generate_demo

        result = run_with_progress(parent, "正在生成演示乡镇…", lambda progress, _c: generate_demo(db, progress=progress))
        return result is not None

    return make


def sign_in(db: Database) -> Actor | None:
    """First run (township or demo + administrator), or the log-in dialog; None when cancelled."""
    accounts = AccountService(db)
    actor: Actor | None = None
    if accounts.has_users():
        township = current_scope(db)
        login = LoginDialog(accounts, township.township_name if township else "")
        if not login.exec():
            return None
        actor = login.actor
        if accounts.must_change_password(actor):
            forced = ForcedPasswordDialog(accounts, actor, login.password_edit.text())
            if not forced.exec():
                return None
    if actor is None or current_scope(db) is None:
        first = FirstRunDialog(db, _make_demo(db), actor)
        if not first.exec():
            return None
        actor = first.actor
    return actor


def run_gui(data_dir: Path, self_test: bool = False, check_printing: bool = False) -> int:
    app = create_application()
    if self_test:
        from app.ui.self_test import run_self_test

        return run_self_test(app, data_dir, check_printing)
    setup_logging(data_dir)
    install_excepthook()
    set_ui_settings_file(data_dir / "ui.ini")
    db = open_or_recover(data_dir)
    if db is None:
        return 1
    actor = sign_in(db)
    if actor is None:
        return 0
    window = MainWindow(Services(db, actor), data_dir)
    window.show()
    log.info("started %s %s for %s with %d areas", APP_NAME, __version__, actor.username, len(AREAS))
    code = app.exec()
    db.dispose()
    return code
