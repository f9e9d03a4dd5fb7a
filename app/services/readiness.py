"""七有/五有 readiness: evaluate the township and every village against the active standards, record dated
assessments, list what is missing, expiring or overdue, and print the readiness report."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import NotFound, ValidationError, XiangAnError
from app.models import COUNTY_PARTITION, ConfigDocument, ReadinessAssessment, Township
from app.models.audit import record_event
from app.models.readiness import ASSESSMENT_KINDS
from app.models.validation import clean_text, normalize_date
from app.services.context import Actor, Scope
from app.services.readiness_eval import (
    CriterionResult,
    Evidence,
    ItemResult,
    ReadinessSummary,
    Snapshot,
    UnitResult,
    evaluate,
    evaluate_unit,
    load_snapshot,
)
from app.services.readiness_standards import (
    STANDARD_KINDS,
    Standard,
    StandardInfo,
    active_standard,
    read_standard_file,
    standard_infos,
)
from app.storage import Database

ALERT_DAYS = 30  # supplies expiring and plans due for revision within this many days are flagged
Progress = Callable[[int, int, str], None]
ASSESSMENT_LABELS = {"kind": "评估类型", "assessed_on": "评估日期", "assessor": "评估人", "notes": "备注"}

__all__ = [
    "AlertLine", "AssessmentRow", "CriterionResult", "Evidence", "ItemResult", "ReadinessAlerts",
    "ReadinessService", "ReadinessSummary", "StandardInfo", "UnitResult",
]


@dataclass(frozen=True)
class AssessmentRow:
    id: str
    unit_id: str
    unit_name: str
    kind: str  # self | county
    assessed_on: date
    assessor: str
    score: float
    max_score: float
    passed: bool
    standard: str  # name and version it was made against
    notes: str
    items: list[dict[str, Any]]

    @property
    def kind_label(self) -> str:
        return ASSESSMENT_KINDS.get(self.kind, self.kind)

    @property
    def year(self) -> int:
        return self.assessed_on.year


@dataclass(frozen=True)
class AlertLine:
    text: str
    kind: str  # the register (or "readiness") a click opens
    record_id: str
    unit_id: str


@dataclass(frozen=True)
class ReadinessAlerts:
    expiring_supplies: list[AlertLine] = field(default_factory=list)
    expired_supplies: list[AlertLine] = field(default_factory=list)
    plans_due: list[AlertLine] = field(default_factory=list)
    teams_below_strength: list[AlertLine] = field(default_factory=list)
    villages_not_passed: list[AlertLine] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(len(lines) for lines in (self.expiring_supplies, self.expired_supplies, self.plans_due,
                                            self.teams_below_strength, self.villages_not_passed))


def _item_json(item: ItemResult) -> dict[str, Any]:
    return {"key": item.key, "name": item.name, "group": item.group, "passed": item.passed,
            "score": item.score, "max_score": item.max_score, "gaps": list(item.gaps)}


def unit_json(unit: UnitResult) -> dict[str, Any]:
    return {"id": unit.unit_id, "name": unit.name, "level": unit.level, "standard": unit.standard,
            "score": unit.score, "max_score": unit.max_score, "passed": unit.passed,
            "items": [_item_json(i) for i in unit.items]}


class ReadinessService:
    def __init__(self, db: Database, actor: Actor, scope: Scope, today: Callable[[], date] = date.today) -> None:
        self.db = db
        self.actor = actor
        self.scope = scope
        self.today = today

    # -- evaluation ------------------------------------------------------------------------
    def _load(self, session: Session) -> tuple[Snapshot, Standard, Standard]:
        try:
            township_standard = active_standard(session, "township")
            village_standard = active_standard(session, "village")
        except ValueError as exc:  # StandardError: a damaged bundled or issued standard
            raise XiangAnError(f"达标标准无法使用：{exc}") from None
        snap = load_snapshot(session, self.scope.township_id)
        if snap.township is None:
            raise XiangAnError("尚未填写乡镇信息，请先在「组织机构 → 乡镇信息」中填写。")
        return snap, township_standard, village_standard

    def summary(self, on: date | None = None) -> ReadinessSummary:
        """The township (七有) and every village/community (五有 + 四有), as of ``on`` (default today)."""
        with self.db.session() as session:
            snap, township_standard, village_standard = self._load(session)
        return evaluate(snap, township_standard, village_standard, on or self.today())

    def summary_json(self, on: date | None = None) -> dict[str, Any]:
        """The ``xiangan readiness summary --json`` document."""
        summary = self.summary(on)
        villages = [unit_json(v) for v in summary.villages]
        return {
            "evaluated_on": summary.evaluated_on.isoformat(),
            "township": unit_json(summary.township),
            "villages": villages,
            "villages_passed": sum(v["passed"] for v in villages),
            "villages_total": len(villages),
        }

    def _unit_key(self, unit_id: str | None) -> str | None:
        """None for the township (its id or None given), else the village id."""
        return None if unit_id in (None, "", self.scope.township_id) else unit_id

    def unit(self, unit_id: str | None, on: date | None = None) -> UnitResult:
        """One unit in detail (None or the township's id = the township)."""
        key = self._unit_key(unit_id)
        with self.db.session() as session:
            snap, township_standard, village_standard = self._load(session)
        if key is not None and not any(v.id == key for v in snap.villages):
            raise NotFound("该村（社区）不存在或已被删除。")
        standard = township_standard if key is None else village_standard
        return evaluate_unit(snap, standard, key, on or self.today())

    # -- assessments -----------------------------------------------------------------------
    def record_assessment(self, unit_id: str | None, kind: str, assessed_on: Any, assessor: str,
                          notes: str = "") -> str:
        """Store a dated assessment with the score and every item's result as evaluated on that day,
        against the standard active now (its name and version are kept with it)."""
        self.actor.require_write()
        errors: dict[str, str] = {}
        if kind not in ASSESSMENT_KINDS:
            errors["kind"] = f"应为 self（自评）或 county（县级考核），而不是「{kind}」"
        try:
            day = normalize_date(assessed_on)
        except ValueError as exc:
            errors["assessed_on"] = str(exc)
        else:
            if day is None:
                errors["assessed_on"] = "必填，不能为空"
            elif day > self.today():
                errors["assessed_on"] = "不能晚于今天"
        who = clean_text(assessor)
        if not who:
            errors["assessor"] = "必填，不能为空"
        elif len(who) > 64:
            errors["assessor"] = "不能超过64个字"
        if len(notes or "") > 2000:
            errors["notes"] = "不能超过2000个字"
        if errors:
            raise ValidationError(errors, ASSESSMENT_LABELS)
        result = self.unit(unit_id, day)
        with self.db.session(self.actor.username) as session:
            row = ReadinessAssessment(
                township_id=self.scope.township_id, partition=self.scope.partition, village_id=result.village_id,
                unit_name=result.name, kind=kind, assessed_on=day, year=day.year, assessor=who,
                standard_name=result.standard_name, standard_version=result.standard_version, score=result.score,
                max_score=result.max_score, passed=result.passed, notes=(notes or "").strip(),
                items=[_item_json(i) for i in result.items],
            )
            session.add(row)
            session.flush()
            return row.id

    def assessments(self, unit_id: str | None = None) -> list[AssessmentRow]:
        """Assessments newest first: all of them (None), the township's (its id) or one village's."""
        with self.db.session() as session:
            stmt = select(ReadinessAssessment).where(ReadinessAssessment.township_id == self.scope.township_id,
                                                     ReadinessAssessment.deleted.is_(False))
            if unit_id == self.scope.township_id:
                stmt = stmt.where(ReadinessAssessment.village_id.is_(None))
            elif unit_id:
                stmt = stmt.where(ReadinessAssessment.village_id == unit_id)
            stmt = stmt.order_by(ReadinessAssessment.assessed_on.desc(), ReadinessAssessment.created_at.desc())
            return [AssessmentRow(a.id, a.village_id or self.scope.township_id, a.unit_name, a.kind, a.assessed_on,
                                  a.assessor, a.score, a.max_score, a.passed,
                                  f"{a.standard_name} {a.standard_version}".strip(), a.notes, list(a.items or []))
                    for a in session.scalars(stmt)]

    # -- alerts for the 工作台 ----------------------------------------------------------------
    def alerts(self, today: date | None = None) -> ReadinessAlerts:
        day = today or self.today()
        soon = day + timedelta(days=ALERT_DAYS)
        with self.db.session() as session:
            snap, township_standard, village_standard = self._load(session)
        summary = evaluate(snap, township_standard, village_standard, day)
        names = {v.id: v.name for v in snap.villages}

        def unit_of(row: Any) -> tuple[str, str]:
            village = getattr(row, "village_id", None)
            return (village, names.get(village, "")) if village else (self.scope.township_id, snap.township.name)

        expiring, expired, plans = [], [], []
        for r in sorted(snap.rows["supplies"], key=lambda r: (r.expires_on or soon, r.name)):
            unit_id, unit_name = unit_of(r)
            if r.expires_on is not None and r.expires_on < day:
                expired.append(AlertLine(f"{unit_name}：{r.name}已于{r.expires_on.isoformat()}过期", "supplies",
                                         r.id, unit_id))
            elif r.expires_on is not None and r.expires_on <= soon:
                days = (r.expires_on - day).days
                expiring.append(AlertLine(f"{unit_name}：{r.name}将于{r.expires_on.isoformat()}过期（还有{days}天）",
                                          "supplies", r.id, unit_id))
        for r in sorted(snap.rows["plans"], key=lambda r: (r.next_revision_on or soon, r.name)):
            if r.next_revision_on is None or r.next_revision_on > soon:
                continue
            unit_id, unit_name = unit_of(r)
            when = "已超过修订期" if r.next_revision_on < day else "应于"
            text = (f"{unit_name}：{r.name}{when}（{r.next_revision_on.isoformat()}）" if r.next_revision_on < day
                    else f"{unit_name}：{r.name}{when}{r.next_revision_on.isoformat()}前修订")
            plans.append(AlertLine(text, "plans", r.id, unit_id))
        return ReadinessAlerts(expiring, expired, plans, self._teams_below(summary, snap),
                               [AlertLine(f"{u.name}未达标（{u.score:g}/{u.max_score:g}分）："
                                          + "；".join(u.gaps[:3]), "readiness", u.unit_id, u.unit_id)
                                for u in summary.units if not u.passed])

    @staticmethod
    def _teams_below(summary: ReadinessSummary, snap: Snapshot) -> list[AlertLine]:
        """Units whose team-strength criterion (members in qualifying teams) is not met, per the standard."""
        lines = []
        for unit in summary.units:
            for c in (c for item in unit.items for c in item.criteria):
                if c.measure == "members" and not c.passed:
                    team = next((e.record_id for e in c.evidence if e.kind == "teams"), "")
                    lines.append(AlertLine(f"{unit.name}：{c.gap}", "teams", team, unit.unit_id))
        return lines

    # -- standards -------------------------------------------------------------------------
    def standards(self) -> list[StandardInfo]:
        with self.db.session() as session:
            return standard_infos(session)

    def import_standard(self, path: Path) -> str:
        """Store a standard file the county sent (checked completely first) as a county-issued version;
        it replaces the bundled one for new evaluations. Past assessments keep their version."""
        self.actor.require_write()
        standard = read_standard_file(Path(path))
        kind = STANDARD_KINDS[standard.level]
        with self.db.session(self.actor.username) as session:
            if any(i.level == standard.level and i.version == standard.version for i in standard_infos(session)):
                raise ValidationError({"file": f"无法导入「{Path(path).name}」：已有 {standard.version} 版"
                                               f"{standard.name}；修订后的标准应使用新的版本号"})
            content = json.loads(Path(path).read_bytes().decode("utf-8-sig"))
            content = {k: v for k, v in content.items() if k not in ("kind", "version", "issuer")}
            session.add(ConfigDocument(partition=COUNTY_PARTITION, kind=kind, doc_version=standard.version,
                                       issuer=standard.issuer, title=standard.name, content=content))
            record_event(session, "import", f"导入{standard.name} {standard.version}", entity="config_document")
        return standard.version

    # -- the report ------------------------------------------------------------------------
    def write_report(self, path: Path, progress: Progress | None = None,
                     cancel: Callable[[], bool] | None = None) -> Path:
        """The readiness report PDF: the township and every village, items, status, gaps and evidence."""
        from app.documents.readiness_pdf import ReportHeader, write_readiness_report

        summary = self.summary()
        with self.db.session() as session:
            township = session.get(Township, self.scope.township_id)
            header = ReportHeader(township=township.name if township else self.scope.township_name,
                                  county=township.county_name if township else "",
                                  office=(township.office_name if township else "") or "")
        written = write_readiness_report(Path(path), header, summary, progress=progress, cancel=cancel)
        with self.db.session(self.actor.username) as session:
            record_event(session, "export", f"生成七有/五有达标情况报告「{Path(written).name}」", entity="readiness")
        return written
