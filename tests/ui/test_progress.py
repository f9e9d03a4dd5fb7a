"""run_with_progress and exec_once: jobs run off the UI thread, results come back, no dialog is left behind."""

from __future__ import annotations

import threading

from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QProgressDialog, QWidget

from app.errors import XiangAnError
from app.ui.widgets.progress import run_with_progress


def _progress_dialogs(parent: QWidget) -> list[QProgressDialog]:
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    return parent.findChildren(QProgressDialog)


def test_result_comes_back_from_another_thread_and_no_dialog_is_left(qtbot) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    for _ in range(3):
        assert run_with_progress(parent, "…", lambda _p, _c: threading.current_thread().name) != \
            threading.current_thread().name
    assert _progress_dialogs(parent) == []


def test_failure_is_shown_and_gives_none(qtbot, monkeypatch) -> None:
    shown: list[str] = []
    monkeypatch.setattr("app.ui.widgets.progress.show_error", lambda _parent, text: shown.append(text))
    parent = QWidget()
    qtbot.addWidget(parent)

    def fail(_p, _c):
        raise XiangAnError("磁盘空间不足")

    assert run_with_progress(parent, "…", fail) is None
    assert shown == ["磁盘空间不足"]
    assert _progress_dialogs(parent) == []


def test_exec_once_frees_the_dialog_after_it_closes(qtbot, monkeypatch) -> None:
    from PySide6.QtWidgets import QDialog

    from app.ui.widgets.common import exec_once

    parent = QWidget()
    qtbot.addWidget(parent)
    dialog = QDialog(parent)
    dialog.setObjectName("one_off")
    dialog.answer = 42
    monkeypatch.setattr(dialog, "exec", lambda: QDialog.DialogCode.Accepted)
    assert exec_once(dialog) == QDialog.DialogCode.Accepted
    assert dialog.answer == 42  # what the caller reads straight after
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert parent.findChildren(QDialog, "one_off") == []
