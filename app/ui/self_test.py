"""``xiangan gui --self-test``: open the main window and every area once; exit 0 only if all worked."""

from __future__ import annotations

import sys
import tempfile
import traceback
from pathlib import Path
from types import TracebackType

from PySide6.QtWidgets import QApplication

from app.ui.main_window import AREAS, MainWindow
from app.ui.showcase import showcase_window


def _preview_a_document(window: MainWindow) -> None:
    """Write a real PDF and open it in the print preview: proves the fonts, the PDF engine and
    Qt's print support made it into an installed build. Nothing is left in the user's data."""
    from app.services.reports import ReportService
    from app.ui.widgets.pdf_preview import PdfPreviewDialog

    with tempfile.TemporaryDirectory(prefix="xiangan-selftest-") as scratch:
        path = Path(scratch) / "roster.pdf"
        services = window.services
        ReportService(services.db, services.actor, services.scope).village_roster(path, audit=False)
        preview = PdfPreviewDialog(path, "自检", window)
        if not preview.page_labels:
            raise RuntimeError("PDF preview rendered no pages")
        preview.grab()
        preview.close()


def run_self_test(app: QApplication, data_dir: Path, check_printing: bool = False) -> int:
    """Open every area; with ``check_printing`` also preview a real PDF (the installers' smoke tests
    use it; the start-up benchmark does not, so it measures starting, not printing)."""
    failures: list[str] = []

    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        failures.append("".join(traceback.format_exception(kind, exc, tb)))

    previous, sys.excepthook = sys.excepthook, hook
    try:
        with showcase_window(data_dir) as window:
            window.show()
            for area in AREAS:
                window.show_area(area.key)
                app.processEvents()
                window.grab()  # paints every visible widget, as a user's screen would
            if check_printing:
                _preview_a_document(window)
            app.processEvents()
    except Exception:
        failures.append(traceback.format_exc())
    finally:
        sys.excepthook = previous
    if failures:
        for text in failures:
            sys.stderr.write(text)
        print(f"自检失败：{len(failures)} 个错误", file=sys.stderr)
        return 1
    printing = "，PDF 打印预览正常" if check_printing else ""
    print(f"自检通过：主窗口和 {len(AREAS)} 个功能区均正常打开{printing}")
    return 0
