"""预览与打印: a PDF the app wrote, shown page by page, printed through the system's printer dialog."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QRect, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QImage, QPainter, QPixmap
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from app.errors import XiangAnError
from app.ui.widgets.common import RememberingDialog, button, show_error, ui_settings
from app.ui.widgets.progress import run_with_progress

if TYPE_CHECKING:
    from PIL import Image

PREVIEW_DPI = 90
PRINT_DPI = 300  # sharp on any office printer, and a page image stays around 25 MB at most


def to_qimage(image: Image.Image) -> QImage:
    data = image.tobytes("raw", "RGB")
    return QImage(data, image.width, image.height, 3 * image.width, QImage.Format.Format_RGB888).copy()


def print_pdf(path: Path, printer: QPrinter) -> int:
    """Send every page to ``printer``, each scaled to fit its printable area; return the pages sent."""
    from app.documents.pdf_pages import page_images  # the PDF engine loads only when printing

    painter = QPainter()
    if not painter.begin(printer):
        raise XiangAnError("无法连接打印机，请检查打印机是否开机并已在系统中添加。")
    sent = 0
    try:
        dpi = min(PRINT_DPI, max(printer.resolution(), 72))
        for image in page_images(path, dpi):
            if sent:
                printer.newPage()
            page = to_qimage(image)
            area = painter.viewport()
            size = page.size().scaled(area.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(area.x() + (area.width() - size.width()) // 2, area.y(), size.width(), size.height())
            painter.drawImage(target, page)
            sent += 1
    finally:
        painter.end()
    return sent


class PdfPreviewDialog(RememberingDialog):
    """Non-modal: the officer can keep working while the preview is open."""

    settings_key = "pdf_preview"

    def __init__(self, path: Path, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.setWindowTitle(f"{title} — 预览")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        pages = QWidget()
        column = QVBoxLayout(pages)
        column.setSpacing(12)
        self.page_labels: list[QLabel] = []
        from app.documents.pdf_pages import page_images

        for image in page_images(path, PREVIEW_DPI):
            label = QLabel()
            label.setPixmap(QPixmap.fromImage(to_qimage(image)))
            label.setStyleSheet("background: white; border: 1px solid #c5cfdb;")
            column.addWidget(label, 0, Qt.AlignmentFlag.AlignHCenter)
            self.page_labels.append(label)
        scroll = QScrollArea()
        scroll.setWidget(pages)
        scroll.setWidgetResizable(True)
        scroll.setStyleSheet("QScrollArea { background: #e9edf2; }")
        self.info = QLabel(f"共 {len(self.page_labels)} 页　已保存到 {path}")
        self.info.setObjectName("hint")
        self.print_button = button("打印…", primary=True, name="print_button")
        self.print_button.clicked.connect(self.on_print_clicked)
        external = button("用其他程序打开", name="external_button")
        external.clicked.connect(self.on_external_clicked)
        close = button("关闭", name="close_button")
        close.clicked.connect(self.close)
        row = QHBoxLayout()
        row.addWidget(self.info, 1)
        for b in (external, self.print_button, close):
            row.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addLayout(row)
        self.resize(820, 900)

    def on_print_clicked(self) -> None:
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setDocName(self.path.stem)
        printer.setFromTo(1, len(self.page_labels))
        dialog = QPrintDialog(printer, self)
        dialog.setWindowTitle("打印")
        if dialog.exec() != QPrintDialog.DialogCode.Accepted:
            return
        try:
            sent = print_pdf(self.path, printer)
        except XiangAnError as exc:
            show_error(self, str(exc))
            return
        self.info.setText(f"已发送 {sent} 页到打印机「{printer.printerName() or printer.outputFileName()}」")

    def on_external_clicked(self) -> None:
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.path))):
            show_error(self, f"本机没有可以打开PDF的程序。文件已保存在 {self.path}")


PRINT_TIP = "生成 PDF 文件并在预览窗口中打印（选择打印机、份数）；文件保存在您选择的文件夹里，可留档或发送。"


def save_and_preview_pdf(parent: QWidget, title: str, file_name: str,
                         write: Callable[[Path], object]) -> Path | None:
    """Ask where to save (the folder is remembered), write the PDF off the UI thread, preview it."""
    settings = ui_settings()
    folder = str(settings.value("print/folder", str(Path.home())))
    path_text, _f = QFileDialog.getSaveFileName(parent, title, str(Path(folder) / file_name), "PDF 文件 (*.pdf)")
    if not path_text:
        return None
    if not path_text.lower().endswith(".pdf"):
        path_text += ".pdf"
    path = Path(path_text)
    settings.setValue("print/folder", str(path.parent))
    if run_with_progress(parent, f"正在生成{title}…", lambda _p, _c: write(path) or True) is None:
        return None
    open_preview(path, title, parent)
    return path


def open_preview(path: Path, title: str, parent: QWidget | None) -> PdfPreviewDialog | None:
    from app.documents.pdf_pages import page_count

    try:
        count = page_count(path)
    except XiangAnError as exc:
        show_error(parent, str(exc))
        return None
    dialog = PdfPreviewDialog(path, title, parent)
    dialog.setProperty("pages", count)
    dialog.show()
    return dialog
