"""隐患排查治理: register a hazard, move it through its lifecycle, list and count the ledger.

Every step is a small form (a tuple of Fields, so the UI, Excel import and validation agree), a
set of rules checked here, an update of the hazard and an append-only HazardEvent with its files —
all in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, case, func, not_, or_, select
from sqlalchemy.orm import Session

from app.errors import NotFound, ValidationError
from app.models import Attachment, Enterprise, Hazard, HazardAction, HazardEvent, HazardStatus, Village
from app.models.audit import record_event
from app.models.config_data import active_document
from app.models.deadlines import DeadlineRules, parse_deadline_rules
from app.models.hazards import (
    CATEGORIES,
    FIVE_IN_PLACE,
    LEVELS,
    MAJOR,
    SOURCES,
    SUPERVISION_LEVELS,
    TRANSITIONS,
)
from app.paths import resource
from app.services.context import Actor, Scope
from app.services.fields import Field, RegisterSpec, display, is_blank, normalise
from app.services.registers import Resolver, id_by_number
from app.storage import Database
from app.storage.attachments import AttachmentStore

A, S = HazardAction, HazardStatus
CLOSED_OR_ACCEPTED = (S.CLOSED.value, S.ACCEPTED.value)

# -- the forms of each step ------------------------------------------------------------------
_DATE = dict(kind="date", width=90)
UNIT = Field("unit_name", "单位/场所", required=True, max_length=128, width=180,
             aliases=("单位名称", "企业名称", "隐患单位", "场所名称", "生产经营单位", "被检查单位"),
             hint="企业名称，或道路、河堤等场所名称")
REGISTER_FIELDS = (
    Field("found_on", "发现日期", required=True, aliases=("排查日期", "检查日期", "发现时间"), **_DATE),
    Field("source", "隐患来源", "choice", choices=SOURCES, default="乡镇检查", aliases=("来源",)),
    Field("inspectors", "检查人员", max_length=128, aliases=("检查人", "排查人员", "排查人")),
    Field("village", "所在村/社区", "village", width=90, aliases=("村（社区）", "所属村", "所在村", "村/社区")),
    Field("grid", "网格", max_length=32, in_table=False, aliases=("所属网格",)),
    UNIT,
    Field("credit_code", "统一社会信用代码", "credit_code", in_table=False, aliases=("信用代码", "社会信用代码")),
    Field("sector", "行业领域", "sector", width=90, aliases=("行业", "所属行业", "行业类别")),
    Field("location", "具体位置", required=True, max_length=200, in_table=False,
          aliases=("隐患位置", "隐患部位", "位置", "地点", "部位")),
    Field("description", "隐患描述", "multiline", required=True, width=260,
          aliases=("隐患内容", "存在问题", "隐患情况", "隐患具体描述", "问题描述", "主要问题")),
    Field("category", "隐患类别", "choice", choices=CATEGORIES, in_table=False, aliases=("类别", "隐患类型")),
    Field("level", "隐患等级", "choice", choices=LEVELS, required=True, default="一般", width=60,
          aliases=("等级", "隐患级别", "级别")),
    Field("level_basis", "判定依据", "multiline", in_table=False,
          hint="重大隐患必填：依据哪项判定标准的哪一条", aliases=("重大隐患判定依据", "依据")),
    Field("deadline", "整改时限", aliases=("整改期限", "限期整改时间", "整改完成时限", "完成时限"),
          hint="不填则按县里的时限规则自动计算", **_DATE),
    Field("temporary_measures", "临时管控措施", "multiline", in_table=False, aliases=("管控措施", "临时措施")),
    Field("remarks", "备注", "multiline", in_table=False),
)
FIVE_IN_PLACE_FIELDS = (
    Field("measures", "整改措施", "multiline", required=True, aliases=("整改措施及要求",)),
    Field("responsible_unit", "责任单位", max_length=128, aliases=("整改责任单位",)),
    Field("responsible_person", "责任人", required=True, max_length=32, aliases=("整改责任人",)),
    Field("responsible_phone", "责任人电话", "phone", aliases=("联系电话", "责任人联系电话")),
    Field("funds", "整改资金（元）", "money", aliases=("整改资金", "资金", "投入资金", "整改资金(万元)")),
    Field("deadline", "整改时限", required=True, **_DATE),
    Field("emergency_plan", "应急预案", "multiline", hint="重大隐患必填：整改期间的应急预案或处置措施",
          aliases=("应急预案及措施",)),
    Field("temporary_measures", "临时管控措施", "multiline"),
)
NOTE = Field("note", "说明", "multiline")
STEP_FIELDS: dict[HazardAction, tuple[Field, ...]] = {
    A.ASSIGN: (
        Field("notice_number", "整改通知书编号", required=True, max_length=64, hint="如：青山安监整改〔2026〕17号"),
        Field("notice_issued_on", "下达日期", required=True, **_DATE),
        Field("deadline", "整改时限", hint="不填则保持原时限", **_DATE),
        NOTE,
    ),
    A.START: FIVE_IN_PLACE_FIELDS,
    A.REQUEST_ACCEPTANCE: (Field("completed_on", "整改完成日期", required=True, **_DATE), NOTE),
    A.ACCEPT: (
        Field("reviewer", "验收人", required=True, max_length=64),
        Field("reviewed_on", "验收日期", required=True, **_DATE),
        Field("review_opinion", "验收意见", "multiline", required=True),
    ),
    A.CLOSE: (Field("closed_on", "销号日期", required=True, **_DATE), NOTE),
    A.REQUEST_EXTENSION: (
        Field("extension_requested_on", "申请日期", required=True, **_DATE),
        Field("requested_deadline", "申请延期至", required=True, **_DATE),
        Field("extension_reason", "延期理由", "multiline", required=True),
    ),
    A.APPROVE_EXTENSION: (
        Field("new_deadline", "批准延期至", required=True, **_DATE),
        Field("event_date", "批准日期", required=True, **_DATE),
        Field("doc_number", "批准文号", max_length=64),
    ),
    A.SUPERVISE: (
        Field("supervision_level", "督办层级", "choice", choices=SUPERVISION_LEVELS, required=True),
        Field("supervision_doc", "督办文号", required=True, max_length=64),
        Field("event_date", "督办日期", required=True, **_DATE),
    ),
    A.EDIT: REGISTER_FIELDS,
}
STEP_FIELDS[A.REJECT] = STEP_FIELDS[A.ACCEPT]
PHOTO_ROLES = {A.REGISTER: "before", A.REQUEST_ACCEPTANCE: "after", A.ACCEPT: "review", A.REJECT: "review"}
# Columns a step writes to the hazard itself; the rest of its values go into the event.
EVENT_ONLY = {"note", "event_date", "doc_number", "requested_deadline", "new_deadline"}
LEDGER_COLUMNS = (("number", "编号"), *((f.name, f.label) for f in REGISTER_FIELDS if f.in_table),
                  ("status_text", "状态"), ("responsible_person", "责任人"))


def step_spec(action: HazardAction) -> RegisterSpec:
    fields = REGISTER_FIELDS if action is A.REGISTER else STEP_FIELDS[action]
    return RegisterSpec(kind=f"hazard_{action.name.lower()}", title=action.value, model=Hazard,
                        fields=fields, unique_keys=())


@dataclass
class HazardQuery:
    search: str = ""
    status: str = ""  # a HazardStatus value, or "open" for everything not 已销号
    level: str = ""
    sector: str = ""  # sector name as shown
    village: str = ""
    unit: str = ""
    overdue: bool = False
    due_soon: bool = False
    supervised: bool = False
    year: int | None = None
    sort: str = "number"
    descending: bool = True


@dataclass(frozen=True)
class HazardCounts:
    open: int
    overdue: int
    due_soon: int
    major_open: int
    supervised_open: int


@dataclass(frozen=True)
class EventRow:
    at: Any
    username: str
    action: str
    from_status: str
    to_status: str
    event_date: str
    doc_number: str
    note: str
    data: dict[str, str]
    attachments: list[AttachmentRow] = field(default_factory=list)


@dataclass(frozen=True)
class AttachmentRow:
    id: str
    sha256: str
    file_name: str
    media_type: str
    role: str
    path: Path


@dataclass
class HazardDetail:
    id: str
    values: dict[str, Any]  # every column, display text
    events: list[EventRow]
    photos: dict[str, list[AttachmentRow]]  # role → files (before / after / review)
    allowed: list[HazardAction]
    overdue: bool
    due_soon: bool


def load_deadline_rules(session: Session) -> DeadlineRules:
    return parse_deadline_rules(active_document(session, "deadline_rules", resource("config", "deadline_rules.json")))


class HazardService:
    def __init__(self, db: Database, actor: Actor, scope: Scope, today: Callable[[], date] = date.today) -> None:
        self.db = db
        self.actor = actor
        self.scope = scope
        self.today = today
        self.store = AttachmentStore(db.attachments_dir)

    # -- listing ---------------------------------------------------------------------------
    def _open_and_late(self, on: date) -> Any:
        return and_(Hazard.status.not_in(CLOSED_OR_ACCEPTED), Hazard.deadline.is_not(None), Hazard.deadline < on)

    def query_ids(self, query: HazardQuery | None = None) -> list[str]:
        q = query or HazardQuery()
        with self.db.session() as session:
            resolver = Resolver(session, self.scope)
            rules = load_deadline_rules(session)
            stmt = select(Hazard.id).where(Hazard.township_id == self.scope.township_id, Hazard.deleted.is_(False))
            stmt = stmt.where(*self._conditions(q, resolver, rules))
            order = [*self._order(q.sort, resolver), Hazard.id]  # id: a stable tie-break
            stmt = stmt.order_by(*(o.desc() if q.descending else o for o in order))
            # Core, not ORM, rows: for 100k ids the ORM result machinery costs more than the query itself.
            # Ledger order (year, seq, id in one direction) is read straight from ix_hazard_ledger.
            return [row[0] for row in session.connection().execute(stmt)]

    def _conditions(self, q: HazardQuery, resolver: Resolver, rules: DeadlineRules) -> list[Any]:
        today = self.today()
        conds: list[Any] = []
        text = q.search.strip()
        if text:
            conds.append(or_(*(getattr(Hazard, c).contains(text, autoescape=True)
                               for c in ("number", "unit_name", "location", "description", "responsible_person",
                                         "notice_number"))))
        if q.status == "open":
            conds.append(Hazard.status != S.CLOSED.value)
        elif q.status:
            conds.append(Hazard.status == q.status)
        if q.level:
            conds.append(Hazard.level == q.level)
        if q.sector:
            conds.append(Hazard.sector_code == (resolver.sector_code(q.sector) or "\0"))
        if q.village:
            conds.append(Hazard.village_id == resolver.villages.get(q.village, "\0"))
        if q.unit:
            conds.append(Hazard.unit_name.contains(q.unit, autoescape=True))
        if q.overdue:
            conds.append(self._open_and_late(today))
        if q.due_soon:
            soon = rules.due_soon_until(today)
            conds.append(and_(not_(self._open_and_late(today)), Hazard.status.not_in(CLOSED_OR_ACCEPTED),
                              Hazard.deadline.is_not(None), Hazard.deadline <= soon))
        if q.supervised:
            conds.append(Hazard.supervised.is_(True))
        if q.year:
            conds.append(Hazard.year == q.year)
        return conds

    def _order(self, sort: str, resolver: Resolver) -> list[Any]:
        if sort == "village":
            return [select(Village.name).where(Village.id == Hazard.village_id).scalar_subquery()]
        if sort == "sector" and resolver.sectors:
            return [case({s.code: s.name for s in resolver.sectors}, value=Hazard.sector_code,
                         else_=Hazard.sector_code)]
        if sort in ("number", ""):
            return [Hazard.year, Hazard.seq]
        if sort == "status_text":
            return [Hazard.status]
        column = getattr(Hazard, sort, None)
        return [column] if column is not None else [Hazard.year, Hazard.seq]

    def fetch_rows(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        ids = list(ids)
        today = self.today()
        out: dict[str, dict[str, Any]] = {}
        with self.db.session() as session:
            resolver = Resolver(session, self.scope)
            soon = load_deadline_rules(session).due_soon_until(today)
            for start in range(0, len(ids), 500):
                # By primary key only, tombstones skipped here: with "AND deleted = 0" in the SQL, SQLite
                # (no ANALYZE statistics) walks ix_hazard_deleted — every row — instead of the id index.
                for h in session.scalars(select(Hazard).where(Hazard.id.in_(ids[start : start + 500]))):
                    if not h.deleted and h.township_id == self.scope.township_id:
                        out[h.id] = self._row(h, resolver, today, soon)
        return out

    def _row(self, h: Hazard, resolver: Resolver, today: date, soon: date) -> dict[str, Any]:
        overdue = h.is_overdue(today)
        due_soon = not overdue and h.is_open and h.status != S.ACCEPTED.value and h.deadline is not None \
            and h.deadline <= soon
        tags = [t for t, on in (("逾期", overdue), ("临期", due_soon), ("延期", h.extended),
                                ("挂牌督办", h.supervised)) if on]
        row = self._values(h, resolver)
        row.update(id=h.id, status_text=h.status + (f"（{'、'.join(tags)}）" if tags else ""),
                   overdue=overdue, due_soon=due_soon)
        return row

    def _values(self, h: Hazard, resolver: Resolver) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for column in Hazard.__table__.columns:
            values[column.name] = display(getattr(h, column.name))
        values.update(
            village=resolver.name_of(h.village_id),
            sector=resolver.sector_name(h.sector_code) if h.sector_code else "",
            funds=display(h.funds_fen, "money"),
            supervised="是" if h.supervised else "",
            extended="是" if h.extended else "",
        )
        return values

    def counts(self) -> HazardCounts:
        today = self.today()
        with self.db.session() as session:
            rules = load_deadline_rules(session)
            live = (Hazard.township_id == self.scope.township_id, Hazard.deleted.is_(False))
            opened = Hazard.status != S.CLOSED.value
            soon = rules.due_soon_until(today)

            def count(*conds: Any) -> int:
                return session.scalar(select(func.count()).select_from(Hazard).where(*live, *conds)) or 0

            return HazardCounts(
                open=count(opened),
                overdue=count(self._open_and_late(today)),
                due_soon=count(Hazard.status.not_in(CLOSED_OR_ACCEPTED), Hazard.deadline >= today,
                               Hazard.deadline <= soon),
                major_open=count(opened, Hazard.level == MAJOR),
                supervised_open=count(opened, Hazard.supervised.is_(True)),
            )

    def years(self) -> list[int]:
        with self.db.session() as session:
            stmt = select(Hazard.year).where(Hazard.township_id == self.scope.township_id,
                                             Hazard.deleted.is_(False)).distinct()
            return sorted(session.scalars(stmt), reverse=True)

    def choices(self, name: str) -> list[str]:
        """What a step form offers for a reference field (villages, sectors, registered units)."""
        with self.db.session() as session:
            resolver = Resolver(session, self.scope)
            if name == "village":
                return sorted(resolver.villages)
            if name == "sector":
                return [s.name for s in resolver.sectors]
            if name == "unit_name":
                stmt = select(Enterprise.name).where(Enterprise.township_id == self.scope.township_id,
                                                     Enterprise.deleted.is_(False)).order_by(Enterprise.name)
                return list(session.scalars(stmt))
        return []

    # -- one hazard ------------------------------------------------------------------------
    def get(self, hazard_id: str) -> HazardDetail:
        today = self.today()
        with self.db.session() as session:
            h = self._load(session, hazard_id)
            resolver = Resolver(session, self.scope)
            files = self._attachments(session, [hazard_id], "hazard")
            events = list(session.scalars(select(HazardEvent).where(HazardEvent.hazard_id == hazard_id)
                                          .order_by(HazardEvent.at, HazardEvent.hlc)))
            event_files = self._attachments(session, [e.id for e in events], "hazard_event")
            rows = self._row(h, resolver, today, load_deadline_rules(session).due_soon_until(today))
            photos: dict[str, list[AttachmentRow]] = {}
            for row in files.get(hazard_id, []) + [a for e in events for a in event_files.get(e.id, [])]:
                photos.setdefault(row.role, []).append(row)
            return HazardDetail(
                id=h.id, values=rows,
                events=[EventRow(e.at, e.username, e.action, e.from_status, e.to_status, display(e.event_date),
                                 e.doc_number, e.note, dict(e.data), event_files.get(e.id, [])) for e in events],
                photos=photos, allowed=self._allowed(h), overdue=rows["overdue"], due_soon=rows["due_soon"],
            )

    def _attachments(self, session: Session, owners: list[str], table: str) -> dict[str, list[AttachmentRow]]:
        found: dict[str, list[AttachmentRow]] = {}
        if not owners:
            return found
        stmt = select(Attachment).where(Attachment.owner_table == table, Attachment.owner_id.in_(owners),
                                        Attachment.deleted.is_(False)).order_by(Attachment.created_at)
        for a in session.scalars(stmt):
            found.setdefault(a.owner_id, []).append(
                AttachmentRow(a.id, a.sha256, a.file_name, a.media_type, a.role, self.store.path_of(a.sha256)))
        return found

    @staticmethod
    def _allowed(h: Hazard) -> list[HazardAction]:
        status = HazardStatus(h.status)
        allowed = [a for a, (sources, _to) in TRANSITIONS.items() if status in sources]
        if h.level != MAJOR or h.supervised:
            allowed = [a for a in allowed if a is not A.SUPERVISE]
        return allowed

    def allowed_actions(self, hazard_id: str) -> list[HazardAction]:
        with self.db.session() as session:
            return self._allowed(self._load(session, hazard_id))

    # -- printed documents (audited: what left the office on paper, when, by whom) -------------
    def print_notice(self, hazard_id: str, path: Path) -> Path:
        from app.documents.hazard_pdfs import write_notice

        detail = self.get(hazard_id)
        write_notice(detail, self._township_profile(), path)
        self._audit_print(f"打印隐患整改通知书 {detail.values['number']}", hazard_id)
        return path

    def print_review(self, hazard_id: str, path: Path) -> Path:
        from app.documents.hazard_pdfs import write_review

        detail = self.get(hazard_id)
        write_review(detail, self._township_profile(), path)
        self._audit_print(f"打印整改复查/验收意见书 {detail.values['number']}", hazard_id)
        return path

    def print_ledger(self, ids: Sequence[str], path: Path) -> Path:
        """The ledger of exactly these hazards, in this order (what the screen shows)."""
        from app.documents.hazard_pdfs import write_ledger

        fetched = self.fetch_rows(ids)
        write_ledger([fetched[i] for i in ids if i in fetched], self._township_profile(), path)
        self._audit_print(f"打印隐患台账（{len(fetched)} 条）", "")
        return path

    def _township_profile(self) -> dict[str, Any]:
        from app.services.organisation import TownshipService

        return TownshipService(self.db, self.actor).profile()

    def _audit_print(self, summary: str, hazard_id: str) -> None:
        with self.db.session(self.actor.username) as session:
            record_event(session, "export", summary, "hazard", hazard_id)

    def find_by_number(self, number: str) -> str:
        return id_by_number(self.db, Hazard, self.scope, number, "隐患")

    def _load(self, session: Session, hazard_id: str) -> Hazard:
        h = session.get(Hazard, hazard_id)
        if h is None or h.deleted or h.township_id != self.scope.township_id:
            raise NotFound("该隐患记录不存在或已被删除。")
        return h

    # -- writing ---------------------------------------------------------------------------
    def register(self, values: dict[str, Any], photos: Sequence[Path] = ()) -> str:
        """登记: validate, number it (年份-序号), compute the deadline from the county rules if blank."""
        self.actor.require_write()
        with self.db.session(self.actor.username) as session:
            hazard_id, _created = self.register_in(session, values, photos)
            return hazard_id

    def register_in(self, session: Session, values: dict[str, Any], photos: Sequence[Path] = (),
                    resolver: Resolver | None = None, rules: DeadlineRules | None = None) -> tuple[str, Hazard]:
        resolver = resolver or Resolver(session, self.scope)
        rules = rules or load_deadline_rules(session)
        values = {"found_on": self.today(), **{k: v for k, v in values.items() if not is_blank(v)}}
        columns = self._validated(A.REGISTER, values, resolver, rules)
        stored = self._store_files(photos)
        found_on: date = columns["found_on"]
        h = Hazard(township_id=self.scope.township_id, partition=self.scope.partition,
                   status=S.REGISTERED.value, year=found_on.year, seq=self._next_seq(session, found_on.year))
        h.number = f"{h.year}-{h.seq:04d}"
        self._apply(h, columns)
        if h.deadline is None:
            h.deadline = rules.due("rectify", h.level, found_on)
        else:
            h.deadline_overridden = True
        session.add(h)
        session.flush()
        self._event(session, h, A.REGISTER, "", h.status, columns, stored, event_date=found_on)
        return h.id, h

    def _next_seq(self, session: Session, year: int) -> int:
        # Tombstoned hazards keep their numbers: a number once printed is never given to another.
        current = session.scalar(select(func.max(Hazard.seq)).where(
            Hazard.township_id == self.scope.township_id, Hazard.year == year))
        return (current or 0) + 1

    def act(self, hazard_id: str, action: HazardAction, values: dict[str, Any],
            files: Sequence[Path] = ()) -> None:
        """Carry out one step of the lifecycle on a hazard (any action but 登记)."""
        self.actor.require_write()
        with self.db.session(self.actor.username) as session:
            h = self._load(session, hazard_id)
            if action is A.SUPERVISE and h.level != MAJOR:
                raise ValidationError({"_": f"隐患 {h.number} 是一般隐患，只有重大隐患可以挂牌督办。"})
            if action not in self._allowed(h):
                raise ValidationError({"_": f"隐患 {h.number} 当前状态为「{h.status}」，不能进行「{action.value}」。"})
            rules = load_deadline_rules(session)
            columns = self._validated(action, values, Resolver(session, self.scope), rules, h)
            stored = self._store_files(files)
            before = h.status
            self._apply_step(h, action, columns)
            _sources, target = TRANSITIONS[action]
            if target is not None:
                h.status = target.value
            self._event(session, h, action, before, h.status, columns, stored,
                        event_date=columns.get("event_date") or self._event_date(action, columns)
                        or self.today(),  # a step without a date of its own (开始整改, 修改) is dated today
                        doc_number=columns.get("doc_number") or columns.get("notice_number")
                        or columns.get("supervision_doc") or "")

    def _apply_step(self, h: Hazard, action: HazardAction, columns: dict[str, Any]) -> None:
        writable = {k: v for k, v in columns.items() if k not in EVENT_ONLY}
        if action in (A.ASSIGN, A.EDIT) and writable.get("deadline") is None:
            writable.pop("deadline", None)  # blank keeps the deadline it has (and is no override)
        if "deadline" in writable and writable["deadline"] != h.deadline:
            h.deadline_overridden = True
        self._apply(h, writable)
        if action is A.ASSIGN and h.level == MAJOR and h.reported_upward_on is None:
            h.reported_upward_on = columns["notice_issued_on"]  # major hazards are reported at once
        if action is A.APPROVE_EXTENSION:
            h.deadline = columns["new_deadline"]
            h.extended = True
        if action is A.SUPERVISE:
            h.supervised = True
        if action is A.REJECT:
            h.completed_on = None

    @staticmethod
    def _event_date(action: HazardAction, columns: dict[str, Any]) -> date | None:
        for name in ("notice_issued_on", "completed_on", "reviewed_on", "closed_on", "extension_requested_on"):
            if columns.get(name):
                return columns[name]
        return None

    @staticmethod
    def _apply(h: Hazard, columns: dict[str, Any]) -> None:
        for name, value in columns.items():
            if name in EVENT_ONLY:
                continue
            if getattr(h, name) != value:
                setattr(h, name, value)

    def _store_files(self, files: Sequence[Path]) -> list[Any]:
        return [self.store.put(Path(f), images_only=True) for f in files]

    def _event(self, session: Session, h: Hazard, action: HazardAction, before: str, after: str,
               columns: dict[str, Any], stored: list[Any], event_date: date | None = None,
               doc_number: str = "") -> None:
        data = {k: display(v) for k, v in columns.items() if v not in (None, "")}
        event = HazardEvent(township_id=h.township_id, partition=h.partition, hazard_id=h.id,
                            username=self.actor.username, action=action.value, from_status=before,
                            to_status=after, event_date=event_date, doc_number=doc_number,
                            note=str(columns.get("note", "")), data=data)
        session.add(event)
        session.flush()
        for f in stored:
            session.add(Attachment(township_id=h.township_id, partition=h.partition, owner_table="hazard_event",
                                   owner_id=event.id, role=PHOTO_ROLES.get(action, ""), sha256=f.sha256,
                                   file_name=f.file_name, media_type=f.media_type, size=f.size))

    # -- validation ------------------------------------------------------------------------
    def _validated(self, action: HazardAction, values: dict[str, Any], resolver: Resolver,
                   rules: DeadlineRules, h: Hazard | None = None) -> dict[str, Any]:
        spec = step_spec(action)
        clean, errors = normalise(spec, values)
        columns = self.to_columns(clean, errors, resolver)
        if not errors:
            errors.update(self.domain_errors(action, columns, h, rules))
        else:  # name every missing 五到位 item at once, not only the ones the form itself requires
            for name, problem in self._five_in_place(action, columns, h).items():
                errors.setdefault(name, problem)
        if errors:
            raise ValidationError(errors, {**spec.labels, "_": ""})
        return columns

    def to_columns(self, clean: dict[str, Any], errors: dict[str, str], resolver: Resolver) -> dict[str, Any]:
        """Form values → hazard columns (references resolved); unresolvable ones added to ``errors``.
        Public because the Excel importer checks ledger rows exactly as the 登记 form does."""
        columns: dict[str, Any] = {}
        for name, value in clean.items():
            if name == "village":
                if value and value not in resolver.villages:
                    errors.setdefault(name, f"找不到名为「{value}」的村/社区")
                columns["village_id"] = resolver.villages.get(value) if value else None
            elif name == "sector":
                code = resolver.sector_code(value) if value else ""
                if code is None:
                    errors.setdefault(name, f"「{value}」不在县里下发的行业代码表中")
                columns["sector_code"] = code or ""
            elif name == "funds":
                columns["funds_fen"] = value
            elif name == "unit_name":
                columns["unit_name"] = value
                columns["enterprise_id"] = self._enterprise_id(resolver, value)
            else:
                columns[name] = value
        return columns

    def _enterprise_id(self, resolver: Resolver, name: str) -> str | None:
        kind_id = resolver.orgs.get(name)
        return kind_id[1] if kind_id and kind_id[0] == "enterprise" else None

    def domain_errors(self, action: HazardAction, c: dict[str, Any], h: Hazard | None,
                      rules: DeadlineRules) -> dict[str, str]:
        """Cross-field rules of the domain; each message names the field it is about."""
        today = self.today()
        found_on: date = c.get("found_on") or (h.found_on if h else today)
        level = c.get("level") or (h.level if h else "一般")
        errors: dict[str, str] = {}

        def later(name: str, than: date | None, what: str) -> None:
            value = c.get(name)
            if value and than and value < than:
                errors.setdefault(name, f"不能早于{what}（{than.isoformat()}）")

        def not_future(name: str) -> None:
            if c.get(name) and c[name] > today:
                errors.setdefault(name, "不能晚于今天")

        for name in ("found_on", "notice_issued_on", "completed_on", "reviewed_on", "closed_on",
                     "extension_requested_on", "event_date"):
            not_future(name)
        later("deadline", found_on, "发现日期")
        later("notice_issued_on", found_on, "发现日期")
        later("completed_on", found_on, "发现日期")
        if h is not None:
            later("reviewed_on", h.completed_on, "整改完成日期")
            later("closed_on", h.reviewed_on, "验收日期")
        if action in (A.REGISTER, A.EDIT) and level == MAJOR and not c.get("level_basis") and not (
                h and h.level_basis and "level_basis" not in c):
            errors["level_basis"] = "重大隐患必须写明判定依据"
        for name, problem in self._five_in_place(action, c, h).items():
            errors.setdefault(name, problem)
        if action in (A.REQUEST_EXTENSION, A.APPROVE_EXTENSION) and h is not None:
            errors.update(self._extension_rules(action, c, h, rules))
        return errors

    @staticmethod
    def _five_in_place(action: HazardAction, c: dict[str, Any], h: Hazard | None) -> dict[str, str]:
        """A major hazard enters 整改中 only with all 五到位 items filled (field → problem)."""
        if action is not A.START or h is None or h.level != MAJOR:
            return {}
        return {"funds" if name == "funds_fen" else name: "重大隐患必须落实五到位，此项不能为空"
                for name in FIVE_IN_PLACE if c.get(name) in (None, "") and getattr(h, name) in (None, "")}

    @staticmethod
    def _extension_rules(action: HazardAction, c: dict[str, Any], h: Hazard, rules: DeadlineRules) -> dict[str, str]:
        errors: dict[str, str] = {}
        wanted = c.get("requested_deadline") or c.get("new_deadline")
        name = "requested_deadline" if action is A.REQUEST_EXTENSION else "new_deadline"
        if h.deadline and wanted and wanted <= h.deadline:
            errors[name] = f"应晚于现在的整改时限（{h.deadline.isoformat()}）"
        limit = rules.rule("supervised_max", h.level)
        if h.supervised and limit and wanted and wanted > h.found_on + timedelta(days=limit.days):
            errors[name] = f"挂牌督办隐患的整改期最长{limit.days}天（不晚于{(h.found_on + timedelta(days=limit.days)).isoformat()}）"
        notice = rules.rule("extension_notice", h.level)
        asked = c.get("extension_requested_on")
        if action is A.REQUEST_EXTENSION and notice and notice.days and h.deadline and asked:
            latest = rules.subtract_working(h.deadline, notice.days) if notice.calendar == "working" \
                else h.deadline - timedelta(days=notice.days)
            if asked > latest:
                errors["extension_requested_on"] = (
                    f"延期申请应在整改时限前{notice.days}个{'工作日' if notice.calendar == 'working' else '天'}提出"
                    f"（时限 {h.deadline.isoformat()}，最晚 {latest.isoformat()}）")
        return errors
