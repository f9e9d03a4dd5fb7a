"""What the county sees of each township: last contact, 七有/五有 readiness, hazards, responsibility-letter
coverage, records held, conflicts — and the detail behind each figure.

Plain Python over the county database. The figures come from the township app's own services (readiness
evaluation, hazard counts and ledger rows, letter coverage) run over that township's partition, so the
county sees exactly what the township's 工作台 shows for the same data.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import NotFound, XiangAnError
from app.models import Hazard, Township
from app.models.base import utcnow
from app.models.config_data import COUNTY_PARTITION
from app.models.sync_state import SupervisionOrder, SyncChange, SyncConflict, SyncLedger
from app.services.context import SYSTEM_ACTOR, Scope
from app.services.hazards import HazardCounts, HazardQuery, HazardService
from app.services.letters import KindCoverage, LetterService
from app.services.readiness import ReadinessService, ReadinessSummary
from app.sync.conflicts import REASONS
from app.sync.county import CountyStore, TownshipStatus
from app.sync.state import table_labels
from app.sync.township import ConflictRow, _summary_of  # the record name the township's conflict list shows

MAX_HAZARD_ROWS = 500  # open hazards listed on one township's page; the rest are counted
MAX_HISTORY = 100  # bundles listed in one township's sync history
STALE_DAYS = 7  # a township out of contact (no bundle, no PC reaching the server) for longer is 久未联系


@dataclass(frozen=True)
class ReadinessFigures:
    score: float
    max_score: float
    passed: bool
    villages_passed: int
    villages_total: int
    standard: str


@dataclass(frozen=True)
class LetterFigures:
    year: int
    signed: int
    total: int

    @property
    def percent(self) -> int:
        return round(100 * self.signed / self.total) if self.total else 0


@dataclass(frozen=True)
class TownshipLine:
    """One row of 乡镇总览. Figures are None until the township's data has arrived."""

    township_id: str
    code: str
    name: str
    bound: bool
    last_report: datetime | None  # the newest bundle applied (USB or network) or PC reaching the server
    pcs_active: int
    pcs_pending: int
    readiness: ReadinessFigures | None
    readiness_note: str  # why there is no readiness score
    hazards: HazardCounts | None
    orders: int  # 督办 issued by the county to this township
    letters: LetterFigures | None
    records: int
    conflicts: int

    @property
    def has_data(self) -> bool:
        return self.records > 0

    def stale(self, now: datetime) -> bool:
        """No bundle (USB or network) and no PC reaching the server for STALE_DAYS or more, or never."""
        return self.last_report is None or (now - self.last_report).days >= STALE_DAYS

    def tags(self, now: datetime) -> list[str]:
        """What the overview's quick filter picks this row by."""
        h, r = self.hazards, self.readiness
        found = [("从未上报", not self.has_data), ("久未联系", self.stale(now)),
                 ("七有未达标", r is not None and not r.passed),
                 ("五有未全部达标", r is not None and r.villages_passed < r.villages_total),
                 ("有逾期隐患", h is not None and h.overdue > 0), ("有重大隐患", h is not None and h.major_open > 0),
                 ("有冲突", self.conflicts > 0)]
        return [tag for tag, on in found if on]


@dataclass(frozen=True)
class Totals:
    townships: int
    reporting: int
    stale: int
    township_passed: int
    villages_passed: int
    villages_total: int
    hazards_open: int
    hazards_overdue: int
    hazards_major: int
    orders: int


def totals(lines: list[TownshipLine], now: datetime | None = None) -> Totals:
    """The county at a glance, above the table."""
    now = now or utcnow()
    ready = [line.readiness for line in lines if line.readiness is not None]
    counts = [line.hazards for line in lines if line.hazards is not None]
    return Totals(len(lines), sum(line.has_data for line in lines), sum(line.stale(now) for line in lines),
                  sum(r.passed for r in ready), sum(r.villages_passed for r in ready),
                  sum(r.villages_total for r in ready), sum(c.open for c in counts), sum(c.overdue for c in counts),
                  sum(c.major_open for c in counts), sum(line.orders for line in lines))


@dataclass(frozen=True)
class OrderLine:
    hazard_id: str
    hazard_number: str
    title: str
    content: str
    deadline: date | None
    issued_on: date
    issued_by: str


@dataclass(frozen=True)
class SyncEvent:
    """One bundle from one of the township's PCs, as the county applied it."""

    at: datetime
    file_name: str
    pc: str
    seq_from: int
    seq_to: int
    applied: int
    unchanged: int
    conflicts: int
    attachments: int


@dataclass(frozen=True)
class HazardView:
    """One hazard for the 督办 form: its ledger row and the orders already issued on it."""

    township_name: str
    row: dict[str, Any]
    orders: list[OrderLine]


@dataclass(frozen=True)
class TownshipDetail:
    line: TownshipLine
    status: TownshipStatus
    readiness: ReadinessSummary | None
    hazards: list[dict[str, Any]]  # open hazards, ledger rows as the township's 台账 shows them
    hazards_open_total: int
    letters: dict[str, KindCoverage]
    orders: list[OrderLine]
    history: list[SyncEvent]
    conflicts: list[ConflictRow]

    def orders_for(self, hazard_id: str) -> list[OrderLine]:
        return [o for o in self.orders if o.hazard_id == hazard_id]


@dataclass(frozen=True)
class _Figures:
    """The costly part of a line (evaluation, counts, coverage), cached until the township's data changes."""

    readiness: ReadinessSummary | None
    readiness_note: str
    hazards: HazardCounts | None
    letters: dict[str, KindCoverage]
    letter_year: int
    orders: list[OrderLine]


class CountyOverview:
    """Figures per township for the web pages. One instance per server; safe to call from worker threads."""

    def __init__(self, store: CountyStore, today: Callable[[], date] = date.today) -> None:
        self.store = store
        self.today = today
        self._cache: dict[str, tuple[tuple[Any, ...], _Figures]] = {}
        self._lock = threading.Lock()

    # -- public -------------------------------------------------------------------------------
    def townships(self) -> list[TownshipLine]:
        """Every enrolled township, by code."""
        statuses = self.store.status()
        keys = self._change_keys([s.township_id for s in statuses])
        return [self._line(s, self._figures(s, keys)) for s in statuses]

    def township(self, code: str) -> TownshipDetail:
        status = self._status(code)
        figures = self._figures(status, self._change_keys([status.township_id]))
        rows, total = self._open_hazards(status) if status.records else ([], 0)
        return TownshipDetail(self._line(status, figures), status, figures.readiness, rows, total, figures.letters,
                              figures.orders, self._history(status), self._conflicts(status.township_id))

    def hazard(self, code: str, number: str) -> HazardView:
        """One live hazard of a township (for the 督办 form)."""
        status = self._status(code)
        with self.store.db.session(audit=False) as session:
            hazard_id = session.scalar(select(Hazard.id).where(
                Hazard.partition == f"twp:{status.township_id}", Hazard.number == number, Hazard.deleted.is_(False)))
        row = self._hazards(status).fetch_rows([hazard_id]).get(hazard_id) if hazard_id else None
        if row is None:
            raise NotFound(f"「{status.name}」上报的数据中没有隐患「{number}」。")
        orders = [o for o in self._orders(status.township_id) if o.hazard_id == hazard_id]
        return HazardView(status.name, row, orders)

    def _status(self, code: str) -> TownshipStatus:
        status = next((s for s in self.store.status() if s.code == code), None)
        if status is None:
            raise NotFound(f"乡镇代码「{code}」没有登记。")
        return status

    # -- lines and figures --------------------------------------------------------------------
    def _line(self, status: TownshipStatus, figures: _Figures) -> TownshipLine:
        readiness = None
        if figures.readiness is not None:
            unit = figures.readiness.township
            villages = figures.readiness.villages
            readiness = ReadinessFigures(unit.score, unit.max_score, unit.passed, sum(v.passed for v in villages),
                                         len(villages), unit.standard)
        letters = None
        if figures.letters:
            letters = LetterFigures(figures.letter_year, sum(c.signed for c in figures.letters.values()),
                                    sum(c.total for c in figures.letters.values()))
        return TownshipLine(
            status.township_id, status.code, status.name, status.bound, status.last_contact_at,
            sum(pc.status == "active" for pc in status.pcs), sum(pc.status == "pending" for pc in status.pcs),
            readiness, figures.readiness_note, figures.hazards, len(figures.orders), letters,
            sum(status.records.values()), status.conflicts)

    def _change_keys(self, township_ids: list[str]) -> dict[str, int]:
        """The newest downstream sequence number of each partition the figures read: every row the county
        stores (a township's or its own) appends one, so an unchanged number means unchanged figures.
        One max() per partition, each answered from the (partition, seq) index without a scan."""
        partitions = [COUNTY_PARTITION, *(p for t in township_ids for p in (f"twp:{t}", f"county:to:{t}"))]
        newest = [select(func.max(SyncChange.seq)).where(SyncChange.partition == p).scalar_subquery()
                  for p in partitions]
        with self.store.db.session(audit=False) as session:
            return dict(zip(partitions, (n or 0 for n in session.execute(select(*newest)).one()), strict=True))

    def _figures(self, status: TownshipStatus, keys: dict[str, int]) -> _Figures:
        tid = status.township_id
        key = (self.today(), keys.get(f"twp:{tid}", 0), keys.get(f"county:to:{tid}", 0),
               keys.get(COUNTY_PARTITION, 0), status.name)
        with self._lock:
            cached = self._cache.get(tid)
        if cached is not None and cached[0] == key:
            return cached[1]
        figures = self._compute(status)
        with self._lock:
            self._cache[tid] = (key, figures)
        return figures

    def _compute(self, status: TownshipStatus) -> _Figures:
        orders = self._orders(status.township_id)
        if not status.records:
            return _Figures(None, "尚未收到数据", None, {}, self.today().year, orders)
        scope = self._scope(status)
        readiness, note = None, ""
        with self.store.db.session(audit=False) as session:
            has_profile = self._has_profile(session, status.township_id)
        if not has_profile:
            note = "乡镇信息尚未上报"
        else:
            try:
                readiness = ReadinessService(self.store.db, SYSTEM_ACTOR, scope, self.today).summary()
            except XiangAnError as exc:  # a damaged standard: say so in the cell, keep the other figures
                note = str(exc)
        year = self.today().year
        letters = LetterService(self.store.db, SYSTEM_ACTOR, scope, self.today).coverage(year)
        return _Figures(readiness, note, self._hazards(status).counts(), letters, year, orders)

    @staticmethod
    def _has_profile(session: Session, township_id: str) -> bool:
        return session.scalar(select(func.count()).select_from(Township).where(
            Township.id == township_id, Township.deleted.is_(False))) > 0

    @staticmethod
    def _scope(status: TownshipStatus) -> Scope:
        return Scope(status.township_id, status.name)

    def _hazards(self, status: TownshipStatus) -> HazardService:
        return HazardService(self.store.db, SYSTEM_ACTOR, self._scope(status), self.today)

    # -- detail -------------------------------------------------------------------------------
    def _open_hazards(self, status: TownshipStatus) -> tuple[list[dict[str, Any]], int]:
        service = self._hazards(status)
        ids = service.query_ids(HazardQuery(status="open", sort="number", descending=True))
        shown = ids[:MAX_HAZARD_ROWS]
        rows = service.fetch_rows(shown)
        return [rows[i] for i in shown if i in rows], len(ids)

    def _orders(self, township_id: str) -> list[OrderLine]:
        with self.store.db.session(audit=False) as session:
            orders = session.scalars(select(SupervisionOrder).where(
                SupervisionOrder.partition == f"county:to:{township_id}", SupervisionOrder.deleted.is_(False))
                .order_by(SupervisionOrder.issued_on.desc(), SupervisionOrder.created_at.desc()))
            return [OrderLine(o.hazard_id, o.hazard_number, o.title, o.content, o.deadline, o.issued_on, o.issued_by)
                    for o in orders]

    def _history(self, status: TownshipStatus) -> list[SyncEvent]:
        pcs = [pc.node_id for pc in status.pcs]  # 电脑N as the page's PC table numbers them
        nodes = [n for n in pcs if n]
        if not nodes:
            return []
        with self.store.db.session(audit=False) as session:
            entries = session.scalars(select(SyncLedger).where(
                SyncLedger.direction == "in", SyncLedger.peer.in_(nodes))
                .order_by(SyncLedger.at.desc()).limit(MAX_HISTORY))
            return [self._event(e, pcs) for e in entries]

    def _conflicts(self, township_id: str) -> list[ConflictRow]:
        """Edits made on two of the township's PCs at once: both versions are kept, newest first."""
        labels = table_labels()
        partitions = (f"twp:{township_id}", f"county:to:{township_id}")
        with self.store.db.session(audit=False) as session:
            rows = session.scalars(select(SyncConflict).where(SyncConflict.partition.in_(partitions))
                                   .order_by(SyncConflict.detected_at.desc()).limit(MAX_HISTORY))
            return [ConflictRow(r.id, r.table_name, labels.get(r.table_name, r.table_name), r.row_id,
                                REASONS.get(r.reason, r.reason), r.detected_at, _summary_of(r.loser), dict(r.loser),
                                r.loser_version, r.winner_version, r.resolved) for r in rows]

    @staticmethod
    def _event(entry: SyncLedger, pcs: list[str]) -> SyncEvent:
        summary = entry.summary or {}
        return SyncEvent(entry.at, entry.file_name, f"电脑{pcs.index(entry.peer) + 1}", entry.seq_from,
                         entry.seq_to, int(summary.get("applied", 0)), int(summary.get("unchanged", 0)),
                         int(summary.get("conflicts", 0)), int(summary.get("attachments", 0)))
