"""Evaluating 七有/五有 standards against the registers: load everything in a few queries, then score
every unit in memory.

``load_snapshot`` reads the township's live register rows, attachments and contacts once (one query per
table, plain rows, no ORM objects); ``evaluate`` is pure Python over that snapshot, so the overview
for a township of 40 villages and 20,000 register rows is computed in a fraction of a second.
"""

from __future__ import annotations

import calendar
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Attachment, Contact, Township, Village
from app.services.readiness_registers import READINESS_REGISTERS
from app.services.readiness_standards import Criterion, Item, Standard

MAX_EVIDENCE = 30  # per criterion: enough to show what proves it without flooding the report
MAX_NAMES = 5  # names listed in one gap line before "等N项"


# -- results (the contract the screens, the CLI and the report use) ---------------------------------
@dataclass(frozen=True)
class Evidence:
    kind: str  # a register kind, "contacts", or "attachment"
    record_id: str
    label: str
    owner_kind: str = ""  # for an attachment: the register row it is attached to
    owner_id: str = ""


@dataclass(frozen=True)
class CriterionResult:
    text: str
    kind: str
    passed: bool
    points: float
    earned: float
    gap: str
    evidence: list[Evidence]
    required: bool = True
    measure: str = ""  # for kind "number": members | contacts


@dataclass(frozen=True)
class ItemResult:
    key: str
    name: str
    group: str
    passed: bool
    score: float
    max_score: float
    gaps: list[str]
    criteria: list[CriterionResult]


@dataclass(frozen=True)
class UnitResult:
    unit_id: str
    name: str
    level: str  # township | village
    standard: str  # 乡镇七有标准 2026.1
    score: float
    max_score: float
    passed: bool
    items: list[ItemResult]
    standard_name: str = ""
    standard_version: str = ""
    village_id: str | None = None  # None for the township

    @property
    def gaps(self) -> list[str]:
        return [gap for item in self.items for gap in item.gaps]


@dataclass(frozen=True)
class ReadinessSummary:
    township: UnitResult
    villages: list[UnitResult]
    evaluated_on: date

    @property
    def units(self) -> list[UnitResult]:
        return [self.township, *self.villages]


# -- the snapshot ----------------------------------------------------------------------------------
@dataclass
class Snapshot:
    """Everything evaluation reads, grouped by unit (None = the township itself)."""

    township: Any
    villages: list[Any]
    rows: dict[str, list[Any]]  # register kind → live rows
    by_unit: dict[str, dict[str | None, list[Any]]]  # register kind → unit → rows
    attachments: dict[str, list[Any]]  # owner id → live attachments (id, file_name, owner_table)
    contacts: dict[str | None, list[Any]]  # unit → contacts (id, name, roles)
    members_by_team: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def row_count(self) -> int:
        return sum(len(rows) for rows in self.rows.values())


def _live_rows(session: Session, model: Any, township_id: str) -> list[Any]:
    table = model.__table__
    return list(session.execute(select(table).where(table.c.township_id == township_id,
                                                    table.c.deleted.is_(False))))


def load_snapshot(session: Session, township_id: str) -> Snapshot:
    """One query per table; rows are plain SQLAlchemy Rows (attribute access by column name)."""
    township = session.execute(select(Township.__table__).where(Township.id == township_id)).first()
    villages = sorted(_live_rows(session, Village, township_id),
                      key=lambda v: (not v.code, v.code or "", v.name))
    rows = {kind: _live_rows(session, spec.model, township_id) for kind, spec in READINESS_REGISTERS.items()}
    tables = {spec.model.__tablename__ for spec in READINESS_REGISTERS.values()}
    attachments: dict[str, list[Any]] = defaultdict(list)
    for a in session.execute(select(Attachment.id, Attachment.file_name, Attachment.owner_table,
                                    Attachment.owner_id, Attachment.role).where(
            Attachment.township_id == township_id, Attachment.deleted.is_(False),
            Attachment.owner_table.in_(tables))):
        attachments[a.owner_id].append(a)
    contacts: dict[str | None, list[Any]] = defaultdict(list)
    for c in session.execute(select(Contact.id, Contact.name, Contact.roles, Contact.org_kind, Contact.org_id).where(
            Contact.township_id == township_id, Contact.deleted.is_(False),
            Contact.org_kind.in_(("township", "village")))):
        contacts[c.org_id if c.org_kind == "village" else None].append(c)
    return _grouped(township, villages, rows, attachments, contacts)


def _grouped(township: Any, villages: list[Any], rows: dict[str, list[Any]], attachments: dict[str, list[Any]],
             contacts: dict[str | None, list[Any]]) -> Snapshot:
    """Rows by the unit they count for: a member counts where its team is; a drill without a village
    counts where the plan it followed is."""
    team_unit = {t.id: t.village_id for t in rows["teams"]}
    plan_unit = {p.id: p.village_id for p in rows["plans"]}
    unit_of: dict[str, Callable[[Any], str | None]] = {
        "team_members": lambda r: team_unit.get(r.team_id),
        "drills": lambda r: r.village_id or plan_unit.get(r.plan_id),
    }
    by_unit: dict[str, dict[str | None, list[Any]]] = {}
    for kind, kind_rows in rows.items():
        groups: dict[str | None, list[Any]] = defaultdict(list)
        unit = unit_of.get(kind, lambda r: r.village_id)
        for r in kind_rows:
            groups[unit(r)].append(r)
        by_unit[kind] = groups
    members: dict[str, list[Any]] = defaultdict(list)
    for m in rows["team_members"]:
        members[m.team_id].append(m)
    return Snapshot(township, villages, rows, by_unit, attachments, contacts, members)


# -- describing rows -------------------------------------------------------------------------------
def _d(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else ("" if value is None else str(value))


ROW_LABELS: dict[str, Callable[[Any], str]] = {
    "teams": lambda r: f"{r.name}（{r.kind}）",
    "team_members": lambda r: f"{r.name}（{r.role}）",
    "supplies": lambda r: f"{r.name} {_d(r.quantity)}{r.unit}" + (f"，有效期至{_d(r.expires_on)}" if r.expires_on else ""),
    "shelters": lambda r: f"{r.name}（可容纳{_d(r.capacity)}人）",
    "plans": lambda r: r.name + (f"（下次修订 {_d(r.next_revision_on)}）" if r.next_revision_on else ""),
    "drills": lambda r: f"{_d(r.held_on)} {r.name}",
    "equipment": lambda r: f"{r.name}" + (f" ×{r.quantity}" if r.quantity else "") + f"（{r.status}）",
    "comm_tests": lambda r: f"{_d(r.tested_on)} {r.equipment}（{r.result}）",
    "call_trees": lambda r: f"{r.level} {r.role} {r.name} {r.phone}",
    "org_documents": lambda r: r.name + (f"（{r.doc_number}）" if r.doc_number else ""),
}


def months_before(day: date, months: int) -> date:
    """The same day ``months`` earlier (or the month's last day when it is shorter)."""
    year, month0 = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(year, month0 + 1, min(day.day, calendar.monthrange(year, month0 + 1)[1]))


def _names(rows: Sequence[Any], name: Callable[[Any], str] = lambda r: r.name) -> str:
    shown = "、".join(name(r) for r in rows[:MAX_NAMES])
    return shown + (f"等{len(rows)}项" if len(rows) > MAX_NAMES else "")


# -- evaluation ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Outcome:
    passed: bool
    shortfall: float  # units of shortfall the deduction rule multiplies
    evidence: list[Evidence]
    values: dict[str, Any]  # fills the gap template
    gap_override: str = ""


class _Unit:
    """One unit's view of the snapshot for one evaluation."""

    def __init__(self, snap: Snapshot, unit_id: str | None, profile: Any, on: date) -> None:
        self.snap, self.unit_id, self.profile, self.on = snap, unit_id, profile, on

    def rows(self, c: Criterion, register: str) -> list[Any]:
        if c.scope == "all":
            return self.snap.rows[register]
        return self.snap.by_unit[register].get(self.unit_id, [])

    def matching(self, c: Criterion, register: str | None = None) -> list[Any]:
        rows = self.rows(c, register or c.register)
        for name, accepted in c.where:
            rows = [r for r in rows if getattr(r, name) in accepted]
        for name, text in c.contains:
            rows = [r for r in rows if text in (getattr(r, name) or "")]
        return rows

    def evidence(self, kind: str, rows: Iterable[Any]) -> list[Evidence]:
        label = ROW_LABELS[kind]
        out = []
        for r in rows:
            if len(out) >= MAX_EVIDENCE:
                break
            out.append(Evidence(kind, r.id, label(r)))
        return out

    def population(self, c: Criterion) -> int:
        if self.unit_id is not None and c.scope == "own":
            return self.profile.population or 0
        return sum(v.population or 0 for v in self.snap.villages)


def _count(u: _Unit, c: Criterion) -> _Outcome:
    rows = u.matching(c)
    return _Outcome(len(rows) >= c.minimum, max(0, c.minimum - len(rows)), u.evidence(c.register, rows),
                    {"value": len(rows)})


def _document(u: _Unit, c: Criterion) -> _Outcome:
    rows = [r for r in u.matching(c) if u.snap.attachments.get(r.id)]
    evidence = u.evidence(c.register, rows)
    for r in rows:
        evidence += [Evidence("attachment", a.id, a.file_name, c.register, r.id) for a in u.snap.attachments[r.id]]
    return _Outcome(len(rows) >= max(1, c.minimum), max(0, max(1, c.minimum) - len(rows)), evidence[:MAX_EVIDENCE],
                    {"value": len(rows)})


def _recent(u: _Unit, c: Criterion) -> _Outcome:
    since = months_before(u.on, c.months)
    rows = [r for r in u.matching(c) if (d := getattr(r, c.date_field)) is not None and since <= d <= u.on]
    rows.sort(key=lambda r: getattr(r, c.date_field), reverse=True)
    return _Outcome(len(rows) >= c.minimum, max(0, c.minimum - len(rows)), u.evidence(c.register, rows),
                    {"value": len(rows)})


def _not_expired(u: _Unit, c: Criterion) -> _Outcome:
    rows = u.matching(c)
    expired = [r for r in rows if (d := getattr(r, c.date_field)) is not None and d < u.on]
    values = {"value": len(expired), "count": len(expired), "names": _names(expired)}
    if len(rows) < c.minimum:  # nothing registered proves nothing (unless the standard says min 0)
        return _Outcome(False, 1, [], values, f"{c.label}：尚未登记")
    return _Outcome(not expired, len(expired), u.evidence(c.register, expired or rows), values)


def _yes_no(u: _Unit, c: Criterion) -> _Outcome:
    value = getattr(u.profile, c.field, None)
    present = bool(value) if not isinstance(value, str) else bool(value.strip())
    return _Outcome(present, 0 if present else 1, [], {"value": value if present else ""})


def _number(u: _Unit, c: Criterion) -> _Outcome:
    if c.measure == "members":
        teams = u.matching(c, "teams")
        members = [m for t in teams for m in u.snap.members_by_team.get(t.id, [])]
        value, evidence = len(members), u.evidence("teams", teams)
    else:
        people = [p for p in u.snap.contacts.get(u.unit_id, []) if set(c.roles) & set(p.roles or [])]
        value = len(people)
        evidence = [Evidence("contacts", p.id, f"{p.name}（{'、'.join(r for r in p.roles if r in c.roles)}）")
                    for p in people[:MAX_EVIDENCE]]
    return _Outcome(value >= c.minimum, max(0, c.minimum - value), evidence, {"value": value})


def _stock(u: _Unit, c: Criterion) -> _Outcome:
    supplies = [r for r in u.rows(c, "supplies") if r.expires_on is None or r.expires_on >= u.on]
    short, used = [], []
    for line in c.stock:
        rows = [r for r in supplies if line.name in r.name]
        used += rows
        total = sum(r.quantity or 0 for r in rows)
        if total < line.minimum:
            short.append(f"{line.name} {total}/{line.minimum}{line.unit}")
    # The office's own minimum per row (最低储备) counts too, for items the standard's list does not name.
    short += [f"{r.name} {r.quantity or 0}/{r.min_quantity}{r.unit}（低于最低储备）" for r in supplies
              if r.min_quantity is not None and (r.quantity or 0) < r.min_quantity]
    details = "、".join(short)
    return _Outcome(not short, len(short), u.evidence("supplies", used), {"value": len(short), "details": details,
                                                                         "names": details, "count": len(short)})


def _capacity(u: _Unit, c: Criterion) -> _Outcome:
    shelters = u.rows(c, "shelters")
    capacity = sum(r.capacity or 0 for r in shelters)
    population = u.population(c)
    target = math.ceil(population * c.ratio)
    evidence = u.evidence("shelters", shelters)
    values = {"value": capacity, "target": target, "percent": f"{c.ratio * 100:g}"}
    if not population:
        return _Outcome(False, 1, evidence, values, f"{c.label}：未填写人口数，无法核对避难场所容量")
    return _Outcome(capacity >= target, 1, evidence, values)


CHECKS: dict[str, Callable[[_Unit, Criterion], _Outcome]] = {
    "count": _count, "document": _document, "recent": _recent, "not_expired": _not_expired,
    "yes_no": _yes_no, "number": _number, "stock": _stock, "capacity": _capacity,
}


def _criterion(u: _Unit, c: Criterion) -> CriterionResult:
    outcome = CHECKS[c.kind](u, c)
    if outcome.passed:
        earned, gap = c.points, ""
    else:
        earned = max(0.0, c.points - c.deduct * outcome.shortfall) if c.deduct else 0.0
        values = {"label": c.label, "min": c.minimum, "months": c.months, "value": "", "count": "", "names": "",
                  "target": "", "percent": "", "details": "", **outcome.values}
        gap = outcome.gap_override or c.gap.format(**values)
    return CriterionResult(c.text, c.kind, outcome.passed, c.points, round(earned, 2), gap, outcome.evidence,
                           c.required, c.measure)


def _item(u: _Unit, item: Item) -> ItemResult:
    criteria = [_criterion(u, c) for c in item.criteria]
    passed = all(r.passed for r in criteria if r.required)
    return ItemResult(item.key, item.name, item.group, passed, round(sum(r.earned for r in criteria), 2),
                      item.points, [r.gap for r in criteria if r.gap], criteria)


def evaluate_unit(snap: Snapshot, standard: Standard, unit_id: str | None, on: date) -> UnitResult:
    """Score one unit (``unit_id`` None = the township) against ``standard`` as of ``on``."""
    if unit_id is None:
        profile, name, result_id = snap.township, snap.township.name, snap.township.id
    else:
        profile = next(v for v in snap.villages if v.id == unit_id)
        name, result_id = profile.name, profile.id
    u = _Unit(snap, unit_id, profile, on)
    items = [_item(u, item) for item in standard.items]
    score = round(sum(i.score for i in items), 2)
    max_score = standard.max_score
    passed = all(i.passed for i in items) and score * 100 >= standard.pass_score * max_score
    return UnitResult(result_id, name, standard.level, standard.label, score, max_score, passed, items,
                      standard.name, standard.version, unit_id)


def evaluate(snap: Snapshot, township_standard: Standard, village_standard: Standard, on: date) -> ReadinessSummary:
    township = evaluate_unit(snap, township_standard, None, on)
    villages = [evaluate_unit(snap, village_standard, v.id, on) for v in snap.villages]
    return ReadinessSummary(township, villages, on)
