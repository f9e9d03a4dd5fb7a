"""A table model over a list of ids whose rows are fetched in pages only when the view shows them.

Sorting and filtering happen in SQL (the service returns ids in order); the model only caches rows,
so a 100k-row register opens as fast as a 100-row one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

PAGE = 200
Index = QModelIndex | QPersistentModelIndex


RowStyle = Callable[[dict], "QColor | None"]


class LazyTableModel(QAbstractTableModel):
    """``row_style(record)`` may return a background colour for the whole row (e.g. overdue rows red);
    without it rows keep the view's own (alternating) colours."""

    def __init__(self, columns: Sequence[tuple[str, str]], fetch: Callable[[list[str]], dict[str, dict]],
                 parent: Any = None, row_style: RowStyle | None = None) -> None:
        super().__init__(parent)
        self.columns = list(columns)  # (key, header)
        self._fetch = fetch
        self._row_style = row_style
        self._ids: list[str] = []
        self._rows: dict[str, dict] = {}

    # -- data management -------------------------------------------------------------------
    def set_ids(self, ids: list[str]) -> None:
        self.beginResetModel()
        self._ids = list(ids)
        self._rows = {}
        self.endResetModel()

    def id_at(self, row: int) -> str:
        return self._ids[row]

    def row_of(self, record_id: str) -> int:
        return self._ids.index(record_id) if record_id in self._ids else -1

    def record(self, row: int) -> dict:
        record_id = self._ids[row]
        if record_id not in self._rows:
            start = (row // PAGE) * PAGE
            page = [i for i in self._ids[start : start + PAGE] if i not in self._rows]
            self._rows.update(self._fetch(page))
        return self._rows.get(record_id, {})

    @property
    def cached_rows(self) -> int:
        return len(self._rows)

    # -- Qt model API ----------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            value = self.record(index.row()).get(self.columns[index.column()][0])
            return "" if value is None else str(value)
        if role == Qt.ItemDataRole.UserRole:
            return self._ids[index.row()]
        if role == Qt.ItemDataRole.BackgroundRole and self._row_style is not None:
            colour = self._row_style(self.record(index.row()))
            return QBrush(colour) if colour is not None else None
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self.columns[section][1]
        return str(section + 1)
