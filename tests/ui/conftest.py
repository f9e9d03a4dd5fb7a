"""UI fixtures: message boxes recorded instead of shown, modal dialogs driven by a callback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QDialog, QMessageBox

from app.services import Services
from app.ui.application import create_application
from app.ui.main_window import MainWindow
from app.ui.widgets import common


@pytest.fixture(autouse=True)
def styled_app(qapp, tmp_path: Path):
    create_application()
    common.set_ui_settings_file(tmp_path / "ui.ini")
    return qapp


@pytest.fixture
def messages(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every warning/information/question box as (kind, text); questions are answered Yes."""
    shown: list[tuple[str, str]] = []

    def record(kind: str, answer=QMessageBox.StandardButton.Ok):
        def box(_parent, _title, text, *args, **kwargs):
            shown.append((kind, text))
            return answer

        return box

    monkeypatch.setattr(QMessageBox, "warning", record("warning"))
    monkeypatch.setattr(QMessageBox, "information", record("information"))
    monkeypatch.setattr(QMessageBox, "critical", record("critical"))
    monkeypatch.setattr(QMessageBox, "question", record("question", QMessageBox.StandardButton.Yes))
    return shown


@pytest.fixture
def drive(monkeypatch: pytest.MonkeyPatch) -> Callable[[type[QDialog], Callable[[QDialog], None]], list]:
    """``drive(DialogClass, act)``: when the code under test calls ``exec()`` on such a dialog, ``act``
    runs with the dialog shown (clicking its real widgets) and exec returns the dialog's result."""
    opened: list[QDialog] = []

    def install(cls: type[QDialog], act: Callable[[QDialog], None]) -> list[QDialog]:
        def exec_(dialog: QDialog) -> int:
            opened.append(dialog)
            dialog.show()
            act(dialog)
            return dialog.result()

        monkeypatch.setattr(cls, "exec", exec_)
        return opened

    return install


@pytest.fixture
def window(qtbot, services: Services, data_dir: Path) -> MainWindow:
    main = MainWindow(services, data_dir)
    qtbot.addWidget(main)
    main.show()
    return main


def type_into(qtbot, editor, text: str) -> None:
    """Type as a user would: ASCII as key clicks; Chinese arrives as an input-method commit, which
    QTest cannot synthesise (it asserts on non-ASCII keys), so it is inserted at the cursor."""
    if text.isascii():
        qtbot.keyClicks(editor, text)
    else:
        editor.insert(text)


def previewed_pdfs() -> list[Path]:
    """The PDFs currently open in the app's print preview windows."""
    from PySide6.QtWidgets import QApplication

    from app.ui.widgets.pdf_preview import PdfPreviewDialog

    return [w.path for w in QApplication.topLevelWidgets() if isinstance(w, PdfPreviewDialog) and w.isVisible()]


def click(qtbot, widget) -> None:
    """A left click on a real widget, as the user would."""
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


@pytest.fixture
def opened_urls(monkeypatch: pytest.MonkeyPatch) -> list:
    """URLs handed to the system (folders and files the app opens outside itself), not opened."""
    urls: list = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: urls.append(url) or True)
    return urls
