"""``xiangan gui --self-test``: open the main window and every area once; exit 0 only if all worked."""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from types import TracebackType

from PySide6.QtWidgets import QApplication

from app.ui.main_window import AREAS
from app.ui.showcase import showcase_window


def run_self_test(app: QApplication, data_dir: Path) -> int:
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
    print(f"自检通过：主窗口和 {len(AREAS)} 个功能区均正常打开")
    return 0
