"""Pieces the readiness screens share: how a status looks (colour plus a ✓/✗ mark, so it reads without
colour too) and how scores are written."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtGui import QColor

from app.ui.style import DANGER, OK, WARNING


@dataclass(frozen=True)
class Status:
    mark: str  # ✓ / ！ / ✗: the status without colour
    text: str  # 达标 / 部分达标 / 未达标
    colour: str  # text and border
    background: str

    @property
    def label(self) -> str:
        return f"{self.mark} {self.text}"

    @property
    def qbackground(self) -> QColor:
        return QColor(self.background)

    @property
    def qcolour(self) -> QColor:
        return QColor(self.colour)


PASSED = Status("✓", "达标", OK, "#e3f3e4")
PARTIAL = Status("！", "部分达标", WARNING, "#fff1d6")
FAILED = Status("✗", "未达标", DANGER, "#fde2e0")


def status_of(result: Any) -> Status:
    """A unit, item or criterion result: passed, partly met (some points earned) or not met."""
    if result.passed:
        return PASSED
    earned = getattr(result, "score", getattr(result, "earned", 0)) or 0
    return PARTIAL if earned > 0 else FAILED


def unit_status(result: Any) -> Status:
    """A whole unit is 达标 or 未达标; "partial" would blur the one verdict the county asks for."""
    return PASSED if result.passed else FAILED


def points(value: float) -> str:
    """85.0 → "85", 7.5 → "7.5": scores as they are written on the county's score sheets."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def score_text(result: Any) -> str:
    return f"{points(result.score)}/{points(result.max_score)}"


def chip_style(status: Status) -> str:
    return (f"background: {status.background}; color: {status.colour}; border: 1px solid {status.colour};"
            " border-radius: 4px; padding: 4px 8px; font-weight: bold;")


def alert_target(line: Any, register_kinds: Any) -> str:
    """Where a 工作台 reminder opens: its record in the register, else the unit's readiness detail."""
    if line.record_id and line.kind in register_kinds:
        return f"readiness:{line.kind}:{line.record_id}"
    return f"readiness:unit:{line.unit_id or ''}"
