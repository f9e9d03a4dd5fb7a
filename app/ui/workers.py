"""Run long jobs off the UI thread with progress and cancellation; results come back by signal.

Jobs receive plain arguments and return plain data (never ORM objects across threads).
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from app.errors import XiangAnError


class CancelToken:
    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    def __call__(self) -> bool:
        return self._event.is_set()


class JobSignals(QObject):
    progress = Signal(int, int)
    finished = Signal(object)
    failed = Signal(str)


class Job(QRunnable):
    """``fn(progress, cancelled)`` runs in the pool; ``signals`` report back on the GUI thread."""

    def __init__(self, fn: Callable[[Callable[[int, int], None], CancelToken], Any]) -> None:
        super().__init__()
        self.fn = fn
        self.token = CancelToken()
        self.signals = JobSignals()

    def run(self) -> None:
        try:
            result = self.fn(self.signals.progress.emit, self.token)
        except XiangAnError as exc:
            self.signals.failed.emit(str(exc))
        except Exception as exc:  # shown to the user; the traceback goes to the log for support
            traceback.print_exc()
            self.signals.failed.emit(f"意外错误：{type(exc).__name__}: {exc}")
        else:
            self.signals.finished.emit(result)


def start(job: Job) -> Job:
    QThreadPool.globalInstance().start(job)
    return job
