"""Excel import and export of any register, for every page that shows registers (组织机构, 七有/五有台账)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QWidget

from app.services import Services
from app.services.organisation import REGISTERS
from app.ui.widgets.common import exec_once
from app.ui.widgets.progress import run_with_progress

if TYPE_CHECKING:
    from app.services.imports import ImportService


class RegisterExcel:
    """The import wizard and the export for a register kind; ``tell`` shows a passing note."""

    def __init__(self, services: Services, tell: Callable[[str], None]) -> None:
        self.services = services
        self.tell = tell

    def importer(self) -> ImportService:
        # Loaded on first use: the spreadsheet stack (openpyxl, xlrd) is a tenth of the start-up time.
        from app.services.imports import ImportService

        return ImportService(self.services.db, self.services.actor, self.services.scope)

    def open_import(self, parent: QWidget, kind: str) -> bool:
        from app.ui.organisation.import_dialog import ImportDialog

        return bool(exec_once(ImportDialog(self.importer(), kind, parent)))

    def export(self, parent: QWidget, kind: str, path: Path) -> None:
        importer = self.importer()
        count = run_with_progress(parent, f"正在导出{REGISTERS[kind].title}…",
                                  lambda _p, _c: importer.export(kind, path))
        if count is not None:
            self.tell(f"已导出 {count} 条到 {path}")
