"""Open the main window without a log-in, for the installer self-test and for screenshots.

When the data folder has no township yet, a demo township is built in a temporary folder instead,
so neither job ever writes demo data into the user's real data.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent

from app.models import Role
from app.services import Services
from app.services.context import Actor
from app.services.organisation import current_scope
from app.storage import open_database
from app.ui.main_window import MainWindow
from app.ui.widgets.common import set_ui_settings_file

SHOWCASE_ACTOR = Actor(username="showcase", display_name="自检", role=Role.ADMIN)


@contextmanager
def showcase_window(data_dir: Path) -> Iterator[MainWindow]:
    with tempfile.TemporaryDirectory(prefix="xiangan-showcase-") as scratch:
        db = open_database(data_dir)
        if current_scope(db) is None:
            from app.services.demo import generate_demo  # only for an empty data folder

            db.dispose()
            data_dir = Path(scratch)
            db = open_database(data_dir)
            generate_demo(db)
        set_ui_settings_file(Path(scratch) / "ui.ini")  # screenshots at a fixed size, nothing remembered
        window = MainWindow(Services(db, SHOWCASE_ACTOR), data_dir)
        try:
            yield window
        finally:
            window.close()
            window.deleteLater()
            # Delete it now, while Qt is fully alive: left to interpreter shutdown, the window and the
            # wrappers of its child dialogs are destroyed in arbitrary order, which can crash.
            QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
            db.dispose()
