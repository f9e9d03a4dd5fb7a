"""In-app preview of the PDFs the app writes, and printing them through Qt's print dialog."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import QPushButton

from app.services.reports import ReportService
from app.ui.widgets.pdf_preview import PdfPreviewDialog, open_preview
from tests.conftest import poppler


def _roster(services, folder: Path) -> Path:
    services.register("villages").save({"name": "石桥村", "population": "1200", "head_phone": "13800138000"})
    path = folder / "村（社区）基本情况表.pdf"
    ReportService(services.db, services.actor, services.scope).village_roster(path)
    return path


def test_preview_shows_every_page_and_prints_them(qtbot, services, tmp_path, monkeypatch):
    pdf = _roster(services, tmp_path)
    printed = tmp_path / "printed.pdf"

    def accept(dialog: QPrintDialog) -> int:  # the user picks a printer and presses 打印
        dialog.printer().setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        dialog.printer().setOutputFileName(str(printed))
        return QPrintDialog.DialogCode.Accepted

    monkeypatch.setattr(QPrintDialog, "exec", accept)
    preview = open_preview(pdf, "村（社区）基本情况表", None)
    qtbot.addWidget(preview)
    assert preview.isVisible() and len(preview.page_labels) == 1
    assert not preview.page_labels[0].pixmap().isNull()
    qtbot.mouseClick(preview.findChild(QPushButton, "print_button"), Qt.MouseButton.LeftButton)
    assert "已发送 1 页" in preview.info.text()
    info = poppler("pdfinfo", printed)
    assert "Pages:           1" in info and "A4" in info


def test_a_file_that_is_not_a_pdf_is_explained(qtbot, tmp_path, messages):
    bad = tmp_path / "坏文件.pdf"
    bad.write_bytes(b"not a pdf")
    assert open_preview(bad, "坏文件", None) is None
    assert messages and "无法打开PDF文件「坏文件.pdf」" in messages[-1][1]


def test_cancelling_the_print_dialog_prints_nothing(qtbot, services, tmp_path, monkeypatch):
    pdf = _roster(services, tmp_path)
    monkeypatch.setattr(QPrintDialog, "exec", lambda _d: QPrintDialog.DialogCode.Rejected)
    preview = PdfPreviewDialog(pdf, "名录", None)
    qtbot.addWidget(preview)
    preview.on_print_clicked()
    assert preview.info.text().startswith("共 1 页")
