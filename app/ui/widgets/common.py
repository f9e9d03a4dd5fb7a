"""Small shared pieces: message boxes, page headers, the UI settings file, dialogs that remember size."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QImageReader, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

_settings_file: Path | None = None


def set_ui_settings_file(path: Path) -> None:
    """UI state (window sizes, last folders) lives in the data folder, not the registry."""
    global _settings_file
    _settings_file = path


def ui_settings() -> QSettings:
    if _settings_file is None:
        return QSettings("XiangAn", "XiangAn")
    return QSettings(str(_settings_file), QSettings.Format.IniFormat)


def show_error(parent: QWidget | None, text: str, title: str = "出错了") -> None:
    QMessageBox.warning(parent, title, text)


def show_info(parent: QWidget | None, text: str, title: str = "提示") -> None:
    QMessageBox.information(parent, title, text)


def confirm(parent: QWidget | None, text: str, title: str = "请确认") -> bool:
    answer = QMessageBox.question(
        parent, title, text, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No,
    )
    return answer == QMessageBox.StandardButton.Yes


def button(text: str, primary: bool = False, danger: bool = False, name: str = "") -> QPushButton:
    b = QPushButton(text)
    if primary:
        b.setProperty("primary", True)
    if danger:
        b.setProperty("danger", True)
    if name:
        b.setObjectName(name)
    return b


def error_label() -> QLabel:
    """The red box a form shows its problems in; hidden until there is one."""
    label = QLabel()
    label.setObjectName("formError")
    label.setWordWrap(True)
    label.hide()
    return label


def password_edit(name: str, placeholder: str = "") -> QLineEdit:
    edit = QLineEdit()
    edit.setObjectName(name)
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    edit.setPlaceholderText(placeholder)
    return edit


def page_header(title: str, subtitle: str = "", actions: list[QWidget] | None = None) -> QWidget:
    header = QWidget()
    row = QHBoxLayout(header)
    row.setContentsMargins(0, 0, 0, 6)
    texts = QVBoxLayout()
    title_label = QLabel(title)
    title_label.setObjectName("pageTitle")
    texts.addWidget(title_label)
    if subtitle:
        sub = QLabel(subtitle)
        sub.setObjectName("pageSubtitle")
        texts.addWidget(sub)
    row.addLayout(texts, 1)
    for widget in actions or []:
        row.addWidget(widget)
    return header


def exec_once(dialog: QDialog) -> int:
    """Run a modal dialog, then free it. Dialogs are parented to pages that live as long as the window,
    so without this each one opened stays in memory (an import dialog holds the whole sheet, the photo
    viewer full-size pictures). Python attributes read right after this call are still there."""
    try:
        return dialog.exec()
    finally:
        dialog.deleteLater()


class RememberingDialog(QDialog):
    """A dialog that reopens at the size and place it was last closed at."""

    settings_key = "dialog"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._restored = False

    def showEvent(self, event) -> None:
        if not self._restored:
            self._restored = True
            geometry = ui_settings().value(f"{self.settings_key}/geometry")
            if geometry is not None:
                self.restoreGeometry(geometry)
        super().showEvent(event)

    def done(self, result: int) -> None:
        ui_settings().setValue(f"{self.settings_key}/geometry", self.saveGeometry())
        super().done(result)


def load_photo(path: Path, max_side: int = 0) -> QPixmap:
    """A photo as it should look: phones store portrait shots sideways with an EXIF rotation tag, which
    QPixmap(path) ignores. With ``max_side`` it is decoded at that size (a thumbnail of a 12-megapixel
    photo then costs milliseconds, not a full decode). A null pixmap when missing or unreadable."""
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)
    size = reader.size()
    if max_side and size.isValid() and max(size.width(), size.height()) > max_side:
        reader.setScaledSize(size.scaled(max_side, max_side, Qt.AspectRatioMode.KeepAspectRatio))
    return QPixmap.fromImage(reader.read())
