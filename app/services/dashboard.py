"""Figures for the 工作台: the township at a glance and what needs attention."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select

from app.models import AuditEntry, Contact, Enterprise, TownshipUnit, Village
from app.models.deadlines import DUE_SOON_DEFAULT_DAYS
from app.services.context import SYSTEM_ACTOR, Scope
from app.services.hazards import HazardCounts, HazardService, load_deadline_rules
from app.services.letters import LetterService
from app.services.organisation import load_sectors
from app.storage import Database


@dataclass(frozen=True)
class Attention:
    """Something incomplete in the registers, with the area of the app that fixes it."""

    text: str
    area: str
    count: int


@dataclass(frozen=True)
class Activity:
    at: datetime
    username: str
    summary: str


@dataclass
class DashboardSummary:
    township_name: str
    villages: int = 0
    communities: int = 0
    population: int = 0
    households: int = 0
    enterprises: int = 0
    units: int = 0
    contacts: int = 0
    enterprises_by_sector: list[tuple[str, int]] = field(default_factory=list)
    attention: list[Attention] = field(default_factory=list)
    recent: list[Activity] = field(default_factory=list)
    hazards: HazardCounts = field(default_factory=lambda: HazardCounts(0, 0, 0, 0, 0))
    due_soon_days: int = 3  # the county's 临期 window, as the cards and attention items name it


def _live(model: type, scope: Scope):
    return select(func.count()).select_from(model).where(
        model.township_id == scope.township_id, model.deleted.is_(False)  # type: ignore[attr-defined]
    )


class DashboardService:
    def __init__(self, db: Database, scope: Scope) -> None:
        self.db = db
        self.scope = scope

    def summary(self, recent_limit: int = 8) -> DashboardSummary:
        s = self.scope
        with self.db.session() as session:
            out = DashboardSummary(township_name=s.township_name)
            village_live = (Village.township_id == s.township_id, Village.deleted.is_(False))
            out.communities = session.scalar(_live(Village, s).where(Village.kind == "社区")) or 0
            out.villages = (session.scalar(_live(Village, s)) or 0) - out.communities
            out.population = session.scalar(select(func.sum(Village.population)).where(*village_live)) or 0
            out.households = session.scalar(select(func.sum(Village.households)).where(*village_live)) or 0
            out.enterprises = session.scalar(_live(Enterprise, s)) or 0
            out.units = session.scalar(_live(TownshipUnit, s)) or 0
            out.contacts = session.scalar(_live(Contact, s)) or 0
            names = {sector.code: sector.name for sector in load_sectors(session)}
            by_sector = session.execute(
                select(Enterprise.sector_code, func.count())
                .where(Enterprise.township_id == s.township_id, Enterprise.deleted.is_(False))
                .group_by(Enterprise.sector_code)
                .order_by(func.count().desc())
            ).all()
            out.enterprises_by_sector = [(names.get(code, code) or "未分类", n) for code, n in by_sector]
            out.due_soon_days = load_deadline_rules(session).days("due_soon", default=DUE_SOON_DEFAULT_DAYS)
            out.attention = self._attention(session, s)
            out.recent = [
                Activity(a.at, a.username, a.summary)
                for a in session.scalars(
                    select(AuditEntry).where(AuditEntry.action != "login")
                    .order_by(AuditEntry.id.desc()).limit(recent_limit)
                )
            ]
        # Hazards first: an overdue hazard matters more than a missing phone number. The counts only
        # read, so the system actor (whose role is never used here) is enough.
        out.hazards = HazardService(self.db, SYSTEM_ACTOR, s).counts()
        out.attention[:0] = self._hazard_attention(out.hazards, out.due_soon_days) + self._letter_attention(s)
        return out

    def _letter_attention(self, s: Scope) -> list[Attention]:
        """Once this year's 责任书 are under way, who has still not signed (generated or not)."""
        letters = LetterService(self.db, SYSTEM_ACTOR, s)
        year = date.today().year
        if year not in letters.years():
            return []
        unsigned = sum(len(c.unsigned) for c in letters.coverage(year).values())
        return [Attention(f"{unsigned} 个单位尚未签订{year}年度责任书", "letters:unsigned", unsigned)] if unsigned else []

    @staticmethod
    def _hazard_attention(counts: HazardCounts, due_soon_days: int) -> list[Attention]:
        """Each item opens the hazard ledger filtered to exactly the hazards it counts."""
        items = [
            (counts.overdue, f"{counts.overdue} 项隐患已逾期", "hazards:overdue"),
            (counts.due_soon, f"{counts.due_soon} 项隐患{due_soon_days}天内到期", "hazards:due_soon"),
        ]
        return [Attention(text, area, n) for n, text, area in items if n]

    @staticmethod
    def _attention(session, s: Scope) -> list[Attention]:
        checks = [
            ("个村/社区未填负责人电话", "organisation", _live(Village, s).where(Village.head_phone == "")),
            ("个村/社区未填人口数", "organisation", _live(Village, s).where(Village.population.is_(None))),
            ("家企业未填统一社会信用代码", "organisation", _live(Enterprise, s).where(Enterprise.credit_code.is_(None))),
            ("家企业未指定行业领域", "organisation", _live(Enterprise, s).where(Enterprise.sector_code == "")),
            ("家企业未填安全管理人员", "organisation", _live(Enterprise, s).where(Enterprise.safety_officer == "")),
            ("位联系人没有任何电话", "organisation",
             _live(Contact, s).where(Contact.mobile == "", Contact.office_phone == "")),
        ]
        found = []
        for text, area, stmt in checks:
            count = session.scalar(stmt) or 0
            if count:
                found.append(Attention(f"{count} {text}", area, count))
        return found
