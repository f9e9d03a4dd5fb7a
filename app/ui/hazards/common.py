"""Pieces the hazard screens share: status colours, badges, and "print" = write a PDF and open it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QColor, QDesktopServices
from PySide6.QtWidgets import QFileDialog, QLabel, QWidget

from app.models import HazardStatus
from app.ui.style import ACCENT, DANGER, OK, WARNING
from app.ui.widgets.common import show_error, ui_settings
from app.ui.widgets.progress import run_with_progress

OVERDUE_BG = QColor("#fde2e0")
DUE_SOON_BG = QColor("#fff1d6")
SUPERVISED = "#7b1fa2"
PRINT_TIP = ("生成 PDF 文件并用本机的 PDF 阅读器打开，在阅读器中点「打印」即可；"
             "文件保存在您选择的文件夹里，可留档或发送。")

STATUS_COLOURS = {
    HazardStatus.REGISTERED.value: "#5b6b7f",
    HazardStatus.ASSIGNED.value: ACCENT,
    HazardStatus.RECTIFYING.value: WARNING,
    HazardStatus.ACCEPTANCE_REQUESTED.value: "#00838f",
    HazardStatus.ACCEPTED.value: OK,
    HazardStatus.CLOSED.value: "#455a64",
}
TAG_COLOURS = {"逾期": DANGER, "临期": WARNING, "延期": "#5d4037", "挂牌督办": SUPERVISED, "重大隐患": DANGER}


def row_background(row: dict) -> QColor | None:
    """Overdue rows red, due-soon rows amber, the rest the table's own colours."""
    if row.get("overdue"):
        return OVERDUE_BG
    if row.get("due_soon"):
        return DUE_SOON_BG
    return None


def badge(text: str, colour: str, filled: bool = True, name: str = "") -> QLabel:
    label = QLabel(text)
    if name:
        label.setObjectName(name)
    if filled:
        label.setStyleSheet(f"background: {colour}; color: white; border-radius: 10px; padding: 2px 10px;"
                            " font-weight: bold;")
    else:
        label.setStyleSheet(f"color: {colour}; border: 1px solid {colour}; border-radius: 10px;"
                            " padding: 1px 9px;")
    return label


def write_and_open_pdf(parent: QWidget, title: str, file_name: str,
                       write: Callable[[Path], object]) -> Path | None:
    """Ask where to save (the folder is remembered), write the PDF off the UI thread, open it.

    QtPdf is not in PySide6-Essentials, so the office prints from its own PDF viewer."""
    settings = ui_settings()
    folder = str(settings.value("print/folder", str(Path.home())))
    path_text, _f = QFileDialog.getSaveFileName(parent, title, str(Path(folder) / file_name), "PDF 文件 (*.pdf)")
    if not path_text:
        return None
    if not path_text.lower().endswith(".pdf"):
        path_text += ".pdf"
    path = Path(path_text)
    settings.setValue("print/folder", str(path.parent))
    done = run_with_progress(parent, f"正在生成{title}…", lambda _p, _c: write(path) or True)
    if done is None:
        return None
    if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))):
        show_error(parent, f"PDF 已保存到 {path}，但本机没有可以打开它的程序，请安装 PDF 阅读器后再打开。")
    return path
