"""A modal progress dialog around a background Job, with a working 取消 button."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEventLoop, Qt
from PySide6.QtWidgets import QProgressDialog, QWidget

from app.ui.widgets.common import show_error
from app.ui.workers import CancelToken, Job, start


def run_with_progress(parent: QWidget, text: str,
                      fn: Callable[[Callable[[int, int], None], CancelToken], Any]) -> Any:
    """Run ``fn(progress, cancelled)`` off the UI thread; the UI stays responsive. Returns its result,
    or None when it failed (the reason was shown) or was cancelled."""
    dialog = QProgressDialog(text, "取消", 0, 0, parent)
    dialog.setWindowTitle("请稍候")
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(300)
    dialog.setValue(0)  # starts the 300 ms show timer; without it Qt's default 4 s applies until progress arrives
    job = Job(fn)
    loop = QEventLoop()
    outcome: dict[str, Any] = {}

    def on_progress(done: int, total: int) -> None:
        dialog.setMaximum(total)
        dialog.setValue(done)

    def on_finished(result: Any) -> None:
        outcome["result"] = result
        loop.quit()

    def on_failed(message: str) -> None:
        outcome["error"] = message
        loop.quit()

    job.signals.progress.connect(on_progress)
    job.signals.finished.connect(on_finished)
    job.signals.failed.connect(on_failed)
    dialog.canceled.connect(job.token.cancel)
    start(job)
    loop.exec()
    dialog.reset()
    dialog.close()
    dialog.deleteLater()  # parented to a long-lived page: without this every run leaves a hidden dialog behind
    if "error" in outcome:
        show_error(parent, outcome["error"])
        return None
    return outcome.get("result")
