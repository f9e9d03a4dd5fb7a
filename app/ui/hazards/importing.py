"""导入台账: the organisation import wizard, pointed at the hazard ledger's columns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QWidget

if TYPE_CHECKING:
    from app.services.hazard_excel import HazardExcelService, HazardImportResult


class LedgerImporter:
    """HazardExcelService speaking the import wizard's ImportService protocol (which passes a register
    ``kind`` to every call). The wizard only imports a file with error rows after the user ticked
    「跳过有错误的行」, so by the time apply runs, skipping them is what was asked for."""

    def __init__(self, excel: HazardExcelService) -> None:
        self.excel = excel
        self.result: HazardImportResult | None = None

    def load(self, path: Any, _kind: str, sheet: str | None = None) -> Any:
        return self.excel.load(path, sheet)

    def suggest_mapping(self, _kind: str, headers: list[str]) -> Any:
        return self.excel.suggest_mapping(headers)

    def remember_mapping(self, _kind: str, headers: list[str], mapping: Any) -> None:
        self.excel.remember_mapping(headers, mapping)

    def preview(self, _kind: str, source: Any, mapping: Any) -> list:
        return self.excel.preview(source, mapping)

    def apply(self, _kind: str, source: Any, mapping: Any, progress: Callable[[int, int], None] | None = None,
              cancelled: Callable[[], bool] | None = None) -> HazardImportResult:
        self.result = self.excel.apply(source, mapping, skip_invalid=True, progress=progress, cancelled=cancelled)
        return self.result


def import_hazards(parent: QWidget, excel: HazardExcelService) -> HazardImportResult | None:
    """Run the wizard; what was imported, or None when cancelled."""
    from app.services.hazard_excel import KIND, LEDGER_SPEC
    from app.ui.organisation.import_dialog import ImportDialog
    from app.ui.widgets.common import exec_once

    importer = LedgerImporter(excel)
    dialog = ImportDialog(importer, KIND, parent, spec=replace(LEDGER_SPEC, title="隐患台账"))  # type: ignore[arg-type]
    return importer.result if exec_once(dialog) else None
