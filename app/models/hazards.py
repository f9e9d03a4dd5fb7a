"""隐患排查治理台账: hazards, their append-only event trail, and the lifecycle rules.

The lifecycle (DOMAIN.md): 已登记 → 已交办 → 整改中 → 申请验收 → 验收通过 → 已销号, with 验收不通过 going
back to 整改中. 逾期 is derived (deadline passed while open); 延期 is a flag set by an approved
extension. Rules that must hold whoever calls (UI, import, sync) live here, not in the screens.
"""

from __future__ import annotations

import enum
from datetime import date

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, EventTrailMixin, SyncedMixin
from app.models.organisation import live_unique


class HazardStatus(str, enum.Enum):
    REGISTERED = "已登记"
    ASSIGNED = "已交办"
    RECTIFYING = "整改中"
    ACCEPTANCE_REQUESTED = "申请验收"
    ACCEPTED = "验收通过"
    CLOSED = "已销号"


class HazardAction(str, enum.Enum):
    REGISTER = "登记"
    ASSIGN = "交办"
    START = "开始整改"
    REQUEST_ACCEPTANCE = "申请验收"
    ACCEPT = "验收通过"
    REJECT = "验收不通过"
    CLOSE = "销号"
    REQUEST_EXTENSION = "申请延期"
    APPROVE_EXTENSION = "批准延期"
    SUPERVISE = "挂牌督办"
    EDIT = "修改"


S, A = HazardStatus, HazardAction
# action → (statuses it may start from, status it leads to; None keeps the status)
TRANSITIONS: dict[HazardAction, tuple[frozenset[HazardStatus], HazardStatus | None]] = {
    A.ASSIGN: (frozenset({S.REGISTERED}), S.ASSIGNED),
    A.START: (frozenset({S.REGISTERED, S.ASSIGNED}), S.RECTIFYING),
    A.REQUEST_ACCEPTANCE: (frozenset({S.RECTIFYING}), S.ACCEPTANCE_REQUESTED),
    A.ACCEPT: (frozenset({S.ACCEPTANCE_REQUESTED}), S.ACCEPTED),
    A.REJECT: (frozenset({S.ACCEPTANCE_REQUESTED}), S.RECTIFYING),
    A.CLOSE: (frozenset({S.ACCEPTED}), S.CLOSED),
    A.REQUEST_EXTENSION: (frozenset({S.ASSIGNED, S.RECTIFYING}), None),
    A.APPROVE_EXTENSION: (frozenset({S.ASSIGNED, S.RECTIFYING}), None),
    A.SUPERVISE: (frozenset(set(S) - {S.CLOSED}), None),
    A.EDIT: (frozenset(set(S) - {S.CLOSED}), None),
}

LEVELS = ("一般", "重大")
MAJOR = "重大"
SOURCES = ("自查", "乡镇检查", "部门抽查", "上级交办", "群众举报")
CATEGORIES = ("人的不安全行为", "物的不安全状态", "管理缺陷")
SUPERVISION_LEVELS = ("县级", "市级", "省级")
# 五到位: 措施、责任（单位和人）、资金、时限、预案 — all required before a major hazard is rectified.
FIVE_IN_PLACE = {
    "measures": "整改措施",
    "responsible_unit": "责任单位",
    "responsible_person": "责任人",
    "funds_fen": "整改资金",
    "deadline": "整改时限",
    "emergency_plan": "应急预案",
}


class Hazard(SyncedMixin, Base):
    __tablename__ = "hazard"
    __audit_label__ = "隐患"
    __table_args__ = (
        live_unique("uq_hazard_live_number", "township_id", "number"),
        Index("ix_hazard_status_deadline", "township_id", "status", "deadline"),
        Index("ix_hazard_found_on", "township_id", "found_on"),
        # The ledger's default order, covering the ids it lists: opening 100k hazards needs no sort; and
        # the same order within a sector (the usual filter). Trailing id: the query's tie-break.
        Index("ix_hazard_ledger", "township_id", "deleted", "year", "seq", "id"),
        Index("ix_hazard_sector_ledger", "township_id", "deleted", "sector_code", "year", "seq", "id"),
    )

    township_id: Mapped[str] = mapped_column(ForeignKey("township.id"), index=True)
    number: Mapped[str] = mapped_column(String(16))  # 2026-0017, unique per township and year
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(8), default=HazardStatus.REGISTERED.value)
    # discovery
    found_on: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(8), default="乡镇检查")
    inspectors: Mapped[str] = mapped_column(String(128), default="")
    village_id: Mapped[str | None] = mapped_column(ForeignKey("village.id"), nullable=True, index=True)
    grid: Mapped[str] = mapped_column(String(32), default="")
    enterprise_id: Mapped[str | None] = mapped_column(ForeignKey("enterprise.id"), nullable=True, index=True)
    unit_name: Mapped[str] = mapped_column(String(128), default="", index=True)
    credit_code: Mapped[str] = mapped_column(String(18), default="")
    sector_code: Mapped[str] = mapped_column(String(32), default="", index=True)
    location: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(16), default="")
    level: Mapped[str] = mapped_column(String(4), default="一般", index=True)
    level_basis: Mapped[str] = mapped_column(Text, default="")  # for 重大: the rule it was judged by
    # 五到位 and temporary controls
    measures: Mapped[str] = mapped_column(Text, default="")
    responsible_unit: Mapped[str] = mapped_column(String(128), default="")
    responsible_person: Mapped[str] = mapped_column(String(32), default="")
    responsible_phone: Mapped[str] = mapped_column(String(32), default="")
    funds_fen: Mapped[int | None] = mapped_column(Integer, nullable=True)
    deadline: Mapped[date | None] = mapped_column(Date, nullable=True)
    deadline_overridden: Mapped[bool] = mapped_column(Boolean, default=False)
    emergency_plan: Mapped[str] = mapped_column(Text, default="")
    temporary_measures: Mapped[str] = mapped_column(Text, default="")
    # notice, completion, review, closure
    notice_number: Mapped[str] = mapped_column(String(64), default="")
    notice_issued_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    reported_upward_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    completed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    reviewer: Mapped[str] = mapped_column(String(64), default="")
    reviewed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    review_opinion: Mapped[str] = mapped_column(Text, default="")
    closed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    # 挂牌督办 and extension
    supervised: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    supervision_level: Mapped[str] = mapped_column(String(8), default="")
    supervision_doc: Mapped[str] = mapped_column(String(64), default="")
    extension_requested_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    extension_reason: Mapped[str] = mapped_column(Text, default="")
    extended: Mapped[bool] = mapped_column(Boolean, default=False)
    remarks: Mapped[str] = mapped_column(Text, default="")

    @property
    def name(self) -> str:  # how audit summaries and messages refer to it
        return f"{self.number} {self.unit_name}".strip()

    @property
    def is_open(self) -> bool:
        return self.status != HazardStatus.CLOSED.value

    def is_overdue(self, today: date) -> bool:
        return self.is_open and self.status != HazardStatus.ACCEPTED.value and (
            self.deadline is not None and self.deadline < today
        )

    def missing_five_in_place(self) -> list[str]:
        """Labels of the 五到位 items still empty."""
        return [label for name, label in FIVE_IN_PLACE.items() if getattr(self, name) in (None, "")]


class HazardEvent(EventTrailMixin, SyncedMixin, Base):
    """One step in a hazard's history, with the date and number of the paper it produced."""

    __tablename__ = "hazard_event"
    __audit_label__ = "隐患处理记录"

    township_id: Mapped[str] = mapped_column(ForeignKey("township.id"), index=True)
    hazard_id: Mapped[str] = mapped_column(ForeignKey("hazard.id"), index=True)
    event_date: Mapped[date | None] = mapped_column(Date, nullable=True)  # the date on the paper
    doc_number: Mapped[str] = mapped_column(String(64), default="")
