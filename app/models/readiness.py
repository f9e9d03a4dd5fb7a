"""七有/五有 assessments: a dated, scored record of a unit's readiness against one standard version.

The standards themselves are versioned data (``resources/standards`` or a county-issued
``ConfigDocument``); an assessment copies the standard's name and version and every item's result, so
it reads the same years later, whatever standard is active then.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, SyncedMixin

ASSESSMENT_KINDS = {"self": "自评", "county": "县级考核"}


class ReadinessAssessment(SyncedMixin, Base):
    __tablename__ = "readiness_assessment"
    __audit_label__ = "达标评估"

    township_id: Mapped[str] = mapped_column(ForeignKey("township.id"), index=True)
    village_id: Mapped[str | None] = mapped_column(ForeignKey("village.id"), nullable=True, index=True)
    unit_name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8), default="self")
    assessed_on: Mapped[date] = mapped_column(Date)
    year: Mapped[int] = mapped_column(Integer, index=True)
    assessor: Mapped[str] = mapped_column(String(64), default="")
    standard_name: Mapped[str] = mapped_column(String(64), default="")
    standard_version: Mapped[str] = mapped_column(String(32), default="")
    score: Mapped[float] = mapped_column(Float, default=0.0)
    max_score: Mapped[float] = mapped_column(Float, default=0.0)
    passed: Mapped[bool] = mapped_column(Boolean, default=False)
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    notes: Mapped[str] = mapped_column(Text, default="")

    @property
    def name(self) -> str:  # audit summaries
        return f"{self.unit_name} {self.assessed_on}"
