"""Pieces the hazard screens share: status colours, badges, and "print" = write a PDF and open it."""

from __future__ import annotations

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel

from app.models import HazardStatus
from app.ui.style import ACCENT, DANGER, OK, WARNING

OVERDUE_BG = QColor("#fde2e0")
DUE_SOON_BG = QColor("#fff1d6")
SUPERVISED = "#7b1fa2"
STATUS_COLOURS = {
    HazardStatus.REGISTERED.value: "#5b6b7f",
    HazardStatus.ASSIGNED.value: ACCENT,
    HazardStatus.RECTIFYING.value: WARNING,
    HazardStatus.ACCEPTANCE_REQUESTED.value: "#00838f",
    HazardStatus.ACCEPTED.value: OK,
    HazardStatus.CLOSED.value: "#455a64",
}
TAG_COLOURS = {"逾期": DANGER, "临期": WARNING, "延期": "#5d4037", "挂牌督办": SUPERVISED, "重大隐患": DANGER}


def row_background(row: dict) -> QColor | None:
    """Overdue rows red, due-soon rows amber, the rest the table's own colours."""
    if row.get("overdue"):
        return OVERDUE_BG
    if row.get("due_soon"):
        return DUE_SOON_BG
    return None


def badge(text: str, colour: str, filled: bool = True, name: str = "") -> QLabel:
    label = QLabel(text)
    if name:
        label.setObjectName(name)
    if filled:
        label.setStyleSheet(f"background: {colour}; color: white; border-radius: 10px; padding: 2px 10px;"
                            " font-weight: bold;")
    else:
        label.setStyleSheet(f"color: {colour}; border: 1px solid {colour}; border-radius: 10px;"
                            " padding: 1px 9px;")
    return label
