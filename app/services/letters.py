"""安全生产目标责任书 and 事故信息: generate a year's letters from the active template, move them through
draft → printed → signed → scanned → archived, supersede signed ones, show coverage, and assess each
letter's 控制指标 at year end against the accident register.

Rules that must hold whoever writes (immutability after signing, accident grades) live in
``app.models.letters``; this module owns the transactions and the messages.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import NotFound, ValidationError
from app.localtime import CHINA_TZ, format_local
from app.models import (
    COUNTY_PARTITION,
    Attachment,
    ConfigDocument,
    Enterprise,
    Township,
    TownshipUnit,
    Village,
    new_id,
)
from app.models.config_data import (
    active_document,
    import_refusal,
    load_document_file,
    read_untrusted_json,
    version_key,
)
from app.models.letter_content import COMPARATORS, LetterContent, Section, Target, target_wording
from app.models.letters import (
    ACCIDENT_CATEGORIES,
    COUNTERPARTY_KINDS,
    FIRE_CATEGORIES,
    MAJOR_OR_ABOVE,
    METRICS,
    SIGNED_STATES,
    YUAN,
    Accident,
    Letter,
    LetterAction,
    LetterEvent,
    LetterStatus,
    TemplateError,
    compare,
    content_from_json,
    content_hash,
    content_to_json,
    fill_template,
    parse_templates,
)
from app.models.validation import clean_text, format_fen, normalize_count, normalize_date, normalize_money_fen
from app.paths import resource
from app.services.context import Actor, Scope
from app.services.registers import Resolver, id_by_number
from app.storage import Database
from app.storage.attachments import AttachmentStore

S, A = LetterStatus, LetterAction
KINDS = tuple(COUNTERPARTY_KINDS)
Progress = Callable[[int, int, str], None]
TEMPLATES_FILE = ("templates", "letter_templates.json")
TEMPLATES_KIND = "letter_templates"
# The template version a township chose for a year: a ConfigDocument in the township's own partition
# (synced to its other PCs), doc_version = the year, content = {"version": ...}.
YEAR_CHOICE_KIND = "letter_template_year"
TEMPLATE_LABELS = {"template": "责任书模板"}
MAX_TEMPLATE_FILE_BYTES = 2 * 1024 * 1024
_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$")


def load_templates(session: Session) -> tuple[str, dict[str, dict[str, Any]]]:
    """(version, kind → template) of the active letter templates; ValidationError names a bad one."""
    document = active_document(session, TEMPLATES_KIND, resource(*TEMPLATES_FILE))
    try:
        return str(document["version"]), parse_templates(document)
    except TemplateError as exc:
        raise ValidationError({"template": str(exc)}, TEMPLATE_LABELS) from None


@dataclass(frozen=True)
class TemplateSet:
    """One version of the letter templates: the bundled default or one the county issued."""

    version: str
    source: str  # 默认模板 | 县级下发
    issuer: str
    title: str
    document_id: str | None  # the ConfigDocument; None for the bundled default
    templates: dict[str, dict[str, Any]]  # kind → template; empty when ``problem``
    problem: str = ""  # why this version cannot be used (a malformed document)

    @property
    def label(self) -> str:
        return f"{self.version}（{self.source}）"


@dataclass(frozen=True)
class YearTemplate:
    year: int
    version: str  # what generating letters for the year uses now
    chosen: bool  # picked for the year by the officer (else: the newest version)
    problem: str = ""  # why generating would fail with it (malformed, or the chosen one is gone)


def _template_set(document: dict[str, Any], source: str, document_id: str | None) -> TemplateSet:
    try:
        templates, problem = parse_templates(document), ""
    except TemplateError as exc:
        templates, problem = {}, str(exc)
    return TemplateSet(str(document.get("version", "")), source, str(document.get("issuer", "")),
                       str(document.get("title", "")), document_id, templates, problem)


def template_sets(session: Session) -> list[TemplateSet]:
    """Every template version there is, newest first. A county document shadows the bundled default of
    the same version, as ``active_document`` does."""
    default = load_document_file(resource(*TEMPLATES_FILE), TEMPLATES_KIND)
    found = {str(default["version"]): _template_set(default, "默认模板", None)}
    rows = session.scalars(select(ConfigDocument).where(
        ConfigDocument.kind == TEMPLATES_KIND, ConfigDocument.deleted.is_(False)).order_by(ConfigDocument.updated_at))
    for row in rows:
        document = {**row.content, "kind": TEMPLATES_KIND, "version": row.doc_version, "issuer": row.issuer,
                    "title": row.title or row.content.get("title", "")}
        found[row.doc_version] = _template_set(document, "县级下发", row.id)
    return sorted(found.values(), key=lambda t: version_key(t.version), reverse=True)


def check_template_file(data: Any) -> dict[str, Any]:
    """An imported template file (already JSON-decoded) checked completely; the problem in Chinese."""
    if not isinstance(data, dict):
        raise TemplateError("文件内容应为一个 JSON 对象")
    if data.get("kind") != TEMPLATES_KIND:
        raise TemplateError(f"kind 应为 {TEMPLATES_KIND}（现为「{data.get('kind', '')}」），这不是责任书模板文件")
    version = str(data.get("version", "")).strip()
    if not version:
        raise TemplateError("缺少 version（版本号，如 2027.1）")
    if not _VERSION.match(version):
        raise TemplateError(f"version「{version}」无效：应为不超过32个字符的字母、数字和点，如 2027.1")
    for name, limit in (("issuer", 64), ("title", 128)):
        if name in data and (not isinstance(data[name], str) or len(data[name]) > limit):
            raise TemplateError(f"{name} 应为不超过{limit}个字的文字")
    templates = parse_templates(data)
    for kind, label in COUNTERPARTY_KINDS.items():
        if kind not in templates:
            raise TemplateError(f"缺少「{label}」（{kind}）的模板")
        if not any("考核" in section["heading"] for section in templates[kind]["sections"]):
            raise TemplateError(f"模板「{kind}」缺少「考核与奖惩」一节（sections 中应有标题含“考核”的一节）")
    return {**data, "version": version}


def read_template_file(path: Path) -> dict[str, Any]:
    """Read and check a template file from outside (untrusted); ValidationError names the file and problem."""
    data = read_untrusted_json(path, MAX_TEMPLATE_FILE_BYTES, "责任书模板文件")
    try:
        return check_template_file(data)
    except TemplateError as exc:
        raise import_refusal(path, str(exc)) from None


def township_short_name(name: str) -> str:
    """青山镇 → 青山 (the prefix of letter numbers such as 青山安责〔2026〕12号)."""
    for suffix in ("街道办事处", "街道", "镇", "乡"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def letter_number(township: str, year: int, seq: int) -> str:
    return f"{township_short_name(township)}安责〔{year}〕{seq}号"


@dataclass(frozen=True)
class Counterparty:
    kind: str
    id: str
    name: str
    person: str  # who signs for 乙方; blank = cannot generate


@dataclass
class GenerationResult:
    year: int
    created: dict[str, int] = field(default_factory=dict)  # kind → letters made now
    existing: dict[str, int] = field(default_factory=dict)  # kind → already had a live letter
    problems: list[str] = field(default_factory=list)
    letter_ids: list[str] = field(default_factory=list)
    cancelled: bool = False

    @property
    def total_created(self) -> int:
        return sum(self.created.values())


@dataclass(frozen=True)
class LetterRow:
    id: str
    number: str
    year: int
    counterparty_kind: str
    counterparty_id: str
    counterparty_name: str
    status: str
    signed_on: date | None
    superseded: bool
    supersedes_id: str | None


@dataclass(frozen=True)
class LetterEventRow:
    at: datetime
    username: str
    action: str
    from_status: str
    to_status: str
    note: str
    data: dict[str, Any]


@dataclass(frozen=True)
class ScanRow:
    id: str
    sha256: str
    file_name: str
    media_type: str
    path: Path


@dataclass
class LetterDetail:
    row: LetterRow
    template_version: str
    signed_by_a: str
    signed_by_b: str
    content_sha256: str
    superseded_by_id: str | None
    events: list[LetterEventRow]
    scans: list[ScanRow]
    content: LetterContent


@dataclass
class KindCoverage:
    kind: str
    label: str
    total: int = 0
    signed: int = 0  # signed, scanned or archived
    printed: int = 0
    draft: int = 0
    not_generated: int = 0
    unsigned: list[dict[str, str]] = field(default_factory=list)  # {"id", "name", "status"}


@dataclass(frozen=True)
class TargetResult:
    metric: str
    text: str
    comparator: str
    threshold: Decimal
    value: Decimal
    met: bool
    veto: bool  # this target is a 一票否决 condition
    veto_triggered: bool
    accidents: list[str]  # ids of the accidents that count against it


@dataclass
class Assessment:
    letter_id: str
    number: str
    counterparty_kind: str
    counterparty_name: str
    status: str
    targets: list[TargetResult]
    accidents: list[str]  # every accident matched to the counterparty that year

    @property
    def vetoed(self) -> bool:
        return any(t.veto_triggered for t in self.targets)

    @property
    def result(self) -> str:
        return "一票否决" if self.vetoed else "达标" if all(t.met for t in self.targets) else "未达标"


EDITABLE = {
    "title": "标题", "preamble": "前言", "period": "责任期限", "closing": "结尾",
    "party_a_person": "甲方负责人", "party_a_title": "甲方职务", "party_b_person": "乙方负责人",
    "party_b_title": "乙方职务", "sections": "条款", "targets": "控制指标",
}


class _Cancelled(Exception):
    """Raised inside the transaction to roll a cancelled generation back."""


class LetterService:
    def __init__(self, db: Database, actor: Actor, scope: Scope, today: Callable[[], date] = date.today) -> None:
        self.db = db
        self.actor = actor
        self.scope = scope
        self.today = today
        self.store = AttachmentStore(db.attachments_dir)

    # -- templates -----------------------------------------------------------------------------
    def templates(self) -> tuple[str, dict[str, dict[str, Any]]]:
        with self.db.session() as session:
            return load_templates(session)

    def template_sets(self) -> list[TemplateSet]:
        """Every template version available (bundled default and county-issued), newest first."""
        with self.db.session() as session:
            return template_sets(session)

    def _year_choice(self, session: Session, year: int) -> ConfigDocument | None:
        return session.scalars(select(ConfigDocument).where(
            ConfigDocument.kind == YEAR_CHOICE_KIND, ConfigDocument.partition == self.scope.partition,
            ConfigDocument.doc_version == str(year), ConfigDocument.deleted.is_(False))).first()

    def year_template(self, year: int) -> YearTemplate:
        """Which template version generating ``year``'s letters uses: the one chosen, else the newest."""
        with self.db.session() as session:
            choice = self._year_choice(session, year)
            if choice is not None:
                version, chosen = str(choice.content.get("version", "")), True
            else:
                version = str(active_document(session, TEMPLATES_KIND, resource(*TEMPLATES_FILE))["version"])
                chosen = False
            found = next((t for t in template_sets(session) if t.version == version), None)
            problem = "该版本模板已不存在" if found is None else found.problem
            return YearTemplate(year, version, chosen, problem)

    def templates_for(self, session: Session, year: int) -> tuple[str, dict[str, dict[str, Any]]]:
        """(version, kind → template) to generate ``year``'s letters from; ValidationError when unusable."""
        choice = self._year_choice(session, year)
        if choice is None:
            return load_templates(session)
        version = str(choice.content.get("version", ""))
        chosen = next((t for t in template_sets(session) if t.version == version), None)
        if chosen is None:
            raise ValidationError({"template": f"{year}年度选用的 {version} 版模板已不存在，请在「模板管理」中重新选择"},
                                  TEMPLATE_LABELS)
        if chosen.problem:
            raise ValidationError({"template": f"{year}年度选用的 {version} 版模板有误：{chosen.problem}"},
                                  TEMPLATE_LABELS)
        return chosen.version, chosen.templates

    def choose_template(self, year: int, version: str) -> None:
        """Use template ``version`` for ``year``'s letters from now on (letters already made keep theirs)."""
        self.actor.require_write()
        year = self._checked_year(year)
        with self.db.session(self.actor.username) as session:
            chosen = next((t for t in template_sets(session) if t.version == version), None)
            if chosen is None:
                raise ValidationError.single("version", "模板版本", f"没有 {version} 版的责任书模板")
            if chosen.problem:
                raise ValidationError.single("version", "模板版本", f"{version} 版模板有误，不能选用：{chosen.problem}")
            row = self._year_choice(session, year)
            if row is None:
                session.add(ConfigDocument(partition=self.scope.partition, kind=YEAR_CHOICE_KIND,
                                           doc_version=str(year), title=f"{year}年度责任书模板",
                                           content={"version": version}))
            elif row.content.get("version") != version:
                row.content = {"version": version}

    def import_templates(self, path: Path) -> str:
        """Store a template file the county sent (checked first; nothing stored if anything is wrong) as a
        county-issued config document; returns its version."""
        self.actor.require_write()
        data = read_template_file(Path(path))
        version = data["version"]
        with self.db.session(self.actor.username) as session:
            if any(t.version == version for t in template_sets(session)):
                raise ValidationError({"file": f"无法导入「{Path(path).name}」：已有 {version} 版责任书模板；"
                                               "县里修订后的模板应使用新的版本号"})
            # the same split as the county's own send_document: the envelope in columns, the rest as content
            content = {k: v for k, v in data.items() if k not in ("kind", "version", "issuer", "title")}
            session.add(ConfigDocument(partition=COUNTY_PARTITION, kind=TEMPLATES_KIND, doc_version=version,
                                       issuer=str(data.get("issuer", "")), title=str(data.get("title", "")),
                                       content=content))
        return version

    # -- counterparties ------------------------------------------------------------------------
    def counterparties(self, session: Session, kinds: Sequence[str] = KINDS) -> list[Counterparty]:
        out: list[Counterparty] = []
        live = {"township_id": self.scope.township_id, "deleted": False}
        for kind in kinds:
            if kind == "village":
                for v in session.scalars(select(Village).filter_by(**live).order_by(Village.code, Village.name)):
                    out.append(Counterparty(kind, v.id, v.name, v.head_name))
            elif kind == "enterprise":
                for e in session.scalars(select(Enterprise).filter_by(**live).order_by(Enterprise.name)):
                    out.append(Counterparty(kind, e.id, e.name, e.legal_rep or e.safety_officer))
            elif kind == "unit":
                for u in session.scalars(select(TownshipUnit).filter_by(**live).order_by(TownshipUnit.name)):
                    out.append(Counterparty(kind, u.id, u.name, u.head_name))
            else:
                raise ValidationError.single("kinds", "签订对象", f"未知的类型「{kind}」，应为 {'、'.join(KINDS)} 之一")
        return out

    @staticmethod
    def missing_person(cp: Counterparty) -> str:
        who = {"village": "负责人", "enterprise": "法定代表人/安全负责人", "unit": "负责人"}[cp.kind]
        label = {"village": "村（社区）", "enterprise": "企业", "unit": "站所"}[cp.kind]
        return f"{label}「{cp.name}」没有{who}，无法生成"

    def _live_letters(self, session: Session, year: int) -> list[Letter]:
        return list(session.scalars(select(Letter).where(
            Letter.township_id == self.scope.township_id, Letter.year == year, Letter.deleted.is_(False),
            Letter.superseded_by_id.is_(None)).order_by(Letter.seq)))

    def _next_seq(self, session: Session, year: int) -> int:
        current = session.scalar(select(func.max(Letter.seq)).where(
            Letter.township_id == self.scope.township_id, Letter.year == year))
        return (current or 0) + 1

    # -- generation ----------------------------------------------------------------------------
    def generate_year(self, year: int, kinds: Sequence[str] = KINDS, progress: Progress | None = None,
                      cancelled: Callable[[], bool] | None = None) -> GenerationResult:
        """Make a draft letter for every counterparty of ``kinds`` that has no live letter for ``year``.

        Counterparties without a responsible person are reported in ``problems`` and skipped. All or
        nothing: when ``cancelled()`` turns true nothing is written."""
        self.actor.require_write()
        year = self._checked_year(year)
        result = GenerationResult(year)
        try:
            with self.db.session(self.actor.username) as session:
                self.generate_in(session, year, kinds, result, progress, cancelled)
                if result.cancelled:
                    raise _Cancelled
        except _Cancelled:
            return GenerationResult(year, cancelled=True)
        return result

    @staticmethod
    def _checked_year(year: Any) -> int:
        try:
            value = int(year)
        except (TypeError, ValueError):
            value = 0
        if not 2000 <= value <= 2100:
            raise ValidationError.single("year", "年度", f"「{year}」不是有效的年度")
        return value

    def generate_in(self, session: Session, year: int, kinds: Sequence[str], result: GenerationResult,
                    progress: Progress | None = None, cancelled: Callable[[], bool] | None = None,
                    username: str | None = None, at: datetime | None = None) -> None:
        version, templates = self.templates_for(session, year)
        township = session.get(Township, self.scope.township_id)
        if township is None:
            raise NotFound("尚未填写乡镇信息。")
        have = {(letter.counterparty_kind, letter.counterparty_id) for letter in self._live_letters(session, year)}
        parties = self.counterparties(session, kinds)
        seq = self._next_seq(session, year)
        for done, cp in enumerate(parties, start=1):
            if cancelled is not None and cancelled():
                result.cancelled = True
                return
            if (cp.kind, cp.id) in have:
                result.existing[cp.kind] = result.existing.get(cp.kind, 0) + 1
            elif not cp.person.strip():
                result.problems.append(self.missing_person(cp))
            elif cp.kind not in templates:
                result.problems.append(f"没有「{COUNTERPARTY_KINDS[cp.kind]}」的责任书模板，「{cp.name}」无法生成")
            else:
                letter = self._new_letter(session, township, templates[cp.kind], version, cp, year, seq)
                self.record_event(session, letter, A.GENERATE, "", letter.status, username=username,
                            data={"template_version": version}, at=at)
                seq += 1
                result.created[cp.kind] = result.created.get(cp.kind, 0) + 1
                result.letter_ids.append(letter.id)
            if progress is not None:
                progress(done, len(parties), cp.name)

    def _new_letter(self, session: Session, township: Township, template: dict[str, Any], version: str,
                    cp: Counterparty, year: int, seq: int) -> Letter:
        number = letter_number(township.name, year, seq)
        content = fill_template(template, kind=cp.kind, year=year, number=number, township=township.name,
                                county=township.county_name, party_b=cp.name, party_b_person=cp.person,
                                party_a_person=township.leader_name)
        letter = Letter(id=new_id(), township_id=self.scope.township_id, partition=self.scope.partition, year=year,
                        seq=seq, number=number, counterparty_kind=cp.kind, counterparty_id=cp.id,
                        counterparty_name=cp.name, template_version=version, content=content_to_json(content),
                        status=S.DRAFT.value)
        session.add(letter)
        return letter

    def record_event(self, session: Session, letter: Letter, action: LetterAction, before: str, after: str,
               note: str = "", data: dict[str, Any] | None = None, username: str | None = None,
               at: datetime | None = None) -> LetterEvent:
        event = LetterEvent(township_id=letter.township_id, partition=letter.partition, letter_id=letter.id,
                            username=username if username is not None else self.actor.username,
                            action=action.value, from_status=before, to_status=after, note=note, data=data or {})
        if at is not None:
            event.at = at
        session.add(event)
        return event

    # -- reading -------------------------------------------------------------------------------
    @staticmethod
    def _row(letter: Letter) -> LetterRow:
        return LetterRow(letter.id, letter.number, letter.year, letter.counterparty_kind, letter.counterparty_id,
                         letter.counterparty_name, letter.status, letter.signed_on,
                         letter.superseded_by_id is not None, letter.supersedes_id)

    def list(self, year: int | None = None, kind: str = "", status: str = "", search: str = "",
             include_superseded: bool = True) -> list[LetterRow]:
        with self.db.session() as session:
            stmt = select(Letter).where(Letter.township_id == self.scope.township_id, Letter.deleted.is_(False))
            if year:
                stmt = stmt.where(Letter.year == year)
            if kind:
                stmt = stmt.where(Letter.counterparty_kind == kind)
            if status:
                stmt = stmt.where(Letter.status == status)
            if search.strip():
                text = search.strip()
                stmt = stmt.where(Letter.counterparty_name.contains(text, autoescape=True)
                                  | Letter.number.contains(text, autoescape=True))
            if not include_superseded:
                stmt = stmt.where(Letter.superseded_by_id.is_(None))
            return [self._row(x) for x in session.scalars(stmt.order_by(Letter.year.desc(), Letter.seq))]

    def years(self) -> list[int]:
        with self.db.session() as session:
            return sorted(session.scalars(select(Letter.year).where(
                Letter.township_id == self.scope.township_id, Letter.deleted.is_(False)).distinct()), reverse=True)

    def _load(self, session: Session, letter_id: str) -> Letter:
        letter = session.get(Letter, letter_id)
        if letter is None or letter.deleted or letter.township_id != self.scope.township_id:
            raise NotFound("该责任书不存在或已被删除。")
        return letter

    def find_by_number(self, number: str) -> str:
        return id_by_number(self.db, Letter, self.scope, number, "责任书")

    def get(self, letter_id: str) -> LetterDetail:
        with self.db.session() as session:
            letter = self._load(session, letter_id)
            events = session.scalars(select(LetterEvent).where(LetterEvent.letter_id == letter_id)
                                     .order_by(LetterEvent.at, LetterEvent.hlc))
            scans = session.scalars(select(Attachment).where(
                Attachment.owner_table == "letter", Attachment.owner_id == letter_id,
                Attachment.deleted.is_(False)).order_by(Attachment.created_at))
            return LetterDetail(
                row=self._row(letter), template_version=letter.template_version, signed_by_a=letter.signed_by_a,
                signed_by_b=letter.signed_by_b, content_sha256=letter.content_sha256,
                superseded_by_id=letter.superseded_by_id,
                events=[LetterEventRow(e.at, e.username, e.action, e.from_status, e.to_status, e.note, dict(e.data))
                        for e in events],
                scans=[ScanRow(a.id, a.sha256, a.file_name, a.media_type, self.store.path_of(a.sha256))
                       for a in scans],
                content=content_from_json(letter.content),
            )

    def content(self, letter_id: str) -> LetterContent:
        with self.db.session() as session:
            return content_from_json(self._load(session, letter_id).content)

    # -- lifecycle -----------------------------------------------------------------------------
    def _refuse_signed(self, letter: Letter, what: str) -> None:
        if letter.status in SIGNED_STATES:
            raise ValidationError({"_": f"责任书 {letter.number}（{letter.counterparty_name}）已于"
                                        f"{letter.signed_on.isoformat() if letter.signed_on else ''}签订，不能{what}；"
                                        "如需更正，请新建替代责任书。"})

    def edit(self, letter_id: str, changes: dict[str, Any]) -> None:
        """Change a draft or printed letter's text; a printed one goes back to 草稿 (the paper is stale)."""
        self.actor.require_write()
        unknown = [k for k in changes if k not in EDITABLE]
        if unknown:
            raise ValidationError({k: "不能修改此项" for k in unknown})
        with self.db.session(self.actor.username) as session:
            letter = self._load(session, letter_id)
            self._refuse_signed(letter, "修改")
            content = _apply_changes(content_from_json(letter.content), changes)
            data = content_to_json(content)
            if data == letter.content:
                return
            before = letter.status
            letter.content = data
            letter.status = S.DRAFT.value
            self.record_event(session, letter, A.EDIT, before, letter.status,
                        note="修改了" + "、".join(EDITABLE[k] for k in changes))

    def mark_printed(self, letter_id: str) -> None:
        self.actor.require_write()
        with self.db.session(self.actor.username) as session:
            letter = self._load(session, letter_id)
            self._refuse_signed(letter, "再标记为已打印")
            before = letter.status
            letter.status = S.PRINTED.value
            self.record_event(session, letter, A.PRINT, before, letter.status)

    def sign(self, letter_id: str, signed_on: Any, signed_by_a: str, signed_by_b: str) -> None:
        """Record the wet signatures; the content hash is kept and the letter is frozen from now on."""
        self.actor.require_write()
        errors: dict[str, str] = {}
        try:
            when = normalize_date(signed_on)
        except ValueError as exc:
            errors["signed_on"], when = str(exc), None
        if when is None and "signed_on" not in errors:
            errors["signed_on"] = "必填，不能为空"
        if when and when > self.today():
            errors["signed_on"] = "不能晚于今天"
        a, b = clean_text(signed_by_a), clean_text(signed_by_b)
        for name, value in (("signed_by_a", a), ("signed_by_b", b)):
            if not value:
                errors[name] = "必填，不能为空"
            elif len(value) > 32:
                errors[name] = "不能超过32个字"
        labels = {"signed_on": "签订日期", "signed_by_a": "甲方签字人", "signed_by_b": "乙方签字人", "_": ""}
        with self.db.session(self.actor.username) as session:
            letter = self._load(session, letter_id)
            if letter.status in SIGNED_STATES:
                raise ValidationError({"_": f"责任书 {letter.number}（{letter.counterparty_name}）已于"
                                            f"{letter.signed_on.isoformat() if letter.signed_on else ''}签订，"
                                            "不能重复签订。"})
            if when and when.year < letter.year - 1:
                errors.setdefault("signed_on", f"早于{letter.year}年度太多")
            if errors:
                raise ValidationError(errors, labels)
            before = letter.status
            letter.status = S.SIGNED.value
            letter.signed_on, letter.signed_by_a, letter.signed_by_b = when, a, b
            letter.content_sha256 = content_hash(letter.content)
            self.record_event(session, letter, A.SIGN, before, letter.status,
                        data={"signed_on": when.isoformat() if when else "", "signed_by_a": a, "signed_by_b": b,
                              "content_sha256": letter.content_sha256})

    def attach_scan(self, letter_id: str, file: Path) -> str:
        """Attach the scanned signed copy (PDF or image); a signed letter becomes 已扫描."""
        self.actor.require_write()
        with self.db.session(self.actor.username) as session:
            letter = self._load(session, letter_id)
            if letter.status not in SIGNED_STATES:
                raise ValidationError({"_": f"责任书 {letter.number} 尚未签订（当前「{letter.status}」），"
                                            "请先登记签订再上传扫描件。"})
            stored = self.store.put(Path(file), images_only=False, field="scan", label="扫描件")
            attachment = Attachment(township_id=letter.township_id, partition=letter.partition,
                                    owner_table="letter", owner_id=letter.id, role="scan", sha256=stored.sha256,
                                    file_name=stored.file_name, media_type=stored.media_type, size=stored.size)
            session.add(attachment)
            before = letter.status
            if letter.status == S.SIGNED.value:
                letter.status = S.SCANNED.value
            self.record_event(session, letter, A.SCAN, before, letter.status,
                        data={"file_name": stored.file_name, "sha256": stored.sha256})
            session.flush()
            return attachment.id

    def archive(self, letter_id: str, archived_on: date | None = None) -> None:
        self.actor.require_write()
        with self.db.session(self.actor.username) as session:
            letter = self._load(session, letter_id)
            if letter.status == S.ARCHIVED.value:
                raise ValidationError({"_": f"责任书 {letter.number} 已归档。"})
            if letter.status not in SIGNED_STATES:
                raise ValidationError({"_": f"责任书 {letter.number} 尚未签订（当前「{letter.status}」），不能归档。"})
            before = letter.status
            letter.status = S.ARCHIVED.value
            letter.archived_on = archived_on or self.today()
            self.record_event(session, letter, A.ARCHIVE, before, letter.status)

    def supersede(self, letter_id: str, reason: str = "") -> str:
        """A correction: a new draft (new number, same counterparty, the old text to edit) replacing a
        signed letter. The old letter stays signed and points at its replacement."""
        self.actor.require_write()
        with self.db.session(self.actor.username) as session:
            return self.supersede_in(session, self._load(session, letter_id), reason).id

    def supersede_in(self, session: Session, old: Letter, reason: str = "", username: str | None = None) -> Letter:
        if old.status not in SIGNED_STATES:
            raise ValidationError({"_": f"责任书 {old.number} 尚未签订，直接修改即可，无需替代。"})
        if old.superseded_by_id:
            raise ValidationError({"_": f"责任书 {old.number} 已被替代，请在替代它的责任书上操作。"})
        seq = self._next_seq(session, old.year)
        township = session.get(Township, self.scope.township_id)
        number = letter_number(township.name if township else self.scope.township_name, old.year, seq)
        content = replace(content_from_json(old.content), number=number)
        new = Letter(township_id=old.township_id, partition=old.partition, year=old.year, seq=seq, number=number,
                     counterparty_kind=old.counterparty_kind, counterparty_id=old.counterparty_id,
                     counterparty_name=old.counterparty_name, template_version=old.template_version,
                     content=content_to_json(content), status=S.DRAFT.value, supersedes_id=old.id)
        session.add(new)
        session.flush()
        old.superseded_by_id = new.id
        self.record_event(session, old, A.SUPERSEDE, old.status, old.status, note=reason,
                    data={"superseded_by": number}, username=username)
        self.record_event(session, new, A.GENERATE, "", new.status, note=reason, data={"supersedes": old.number},
                    username=username)
        return new

    # -- coverage and assessment ---------------------------------------------------------------
    def coverage(self, year: int) -> dict[str, KindCoverage]:
        with self.db.session() as session:
            letters = {(x.counterparty_kind, x.counterparty_id): x for x in self._live_letters(session, year)}
            out = {kind: KindCoverage(kind, COUNTERPARTY_KINDS[kind]) for kind in KINDS}
            for cp in self.counterparties(session):
                cov = out[cp.kind]
                cov.total += 1
                letter = letters.get((cp.kind, cp.id))
                status = letter.status if letter else "未生成"
                if letter is None:
                    cov.not_generated += 1
                elif letter.status in SIGNED_STATES:
                    cov.signed += 1
                    continue
                elif letter.status == S.PRINTED.value:
                    cov.printed += 1
                else:
                    cov.draft += 1
                cov.unsigned.append({"id": cp.id, "name": cp.name, "status": status,
                                     "number": letter.number if letter else ""})
            return out

    def assess(self, year: int) -> list[Assessment]:
        accidents = AccidentService(self.db, self.actor, self.scope, self.today)
        with self.db.session() as session:
            this_year = accidents.in_year(session, year)
            names = {e.id: e.name for e in session.scalars(select(Enterprise).where(
                Enterprise.township_id == self.scope.township_id))}
            out = []
            for letter in self._live_letters(session, year):
                matched = [a for a in this_year if _matches(a, letter, names)]
                content = content_from_json(letter.content)
                out.append(Assessment(letter.id, letter.number, letter.counterparty_kind, letter.counterparty_name,
                                      letter.status, [_evaluate(t, matched) for t in content.targets],
                                      [a.id for a in matched]))
            return out


def _matches(a: Accident, letter: Letter, enterprise_names: dict[str, str]) -> bool:
    if letter.counterparty_kind == "village":
        return a.village_id == letter.counterparty_id
    if letter.counterparty_kind == "enterprise":
        names = {letter.counterparty_name, enterprise_names.get(letter.counterparty_id, "")} - {""}
        return a.enterprise_id == letter.counterparty_id or (bool(a.unit_name) and a.unit_name in names)
    return bool(a.unit_name) and a.unit_name == letter.counterparty_name


def metric_of(metric: str, a: Accident) -> Decimal:
    """What one accident contributes to a metric."""
    if metric == "deaths":
        return Decimal(a.deaths)
    if metric == "serious_injuries":
        return Decimal(a.serious_injuries)
    if metric == "direct_loss_yuan":
        return Decimal(a.direct_loss_fen) / 100
    if metric == "major_accidents":
        return Decimal(a.grade in MAJOR_OR_ABOVE)
    if metric == "fires":
        return Decimal(a.category in FIRE_CATEGORIES)
    if metric == "accidents":
        return Decimal(1)
    raise ValueError(f"unknown metric {metric}")


def _evaluate(t: Target, accidents: Sequence[Accident]) -> TargetResult:
    contributions = [(a, metric_of(t.metric, a)) for a in accidents]
    value = sum((c for _a, c in contributions), Decimal(0))
    met = compare(value, t.comparator, t.threshold)
    causes = [] if met else [a.id for a, c in contributions if c]
    return TargetResult(t.metric, t.text, t.comparator, t.threshold, value, met, t.veto, t.veto and not met, causes)


def _apply_changes(content: LetterContent, changes: dict[str, Any]) -> LetterContent:
    errors: dict[str, str] = {}
    updates: dict[str, Any] = {}
    party_a, party_b = content.party_a, content.party_b
    for key, value in changes.items():
        if key in ("title", "preamble", "period", "closing"):
            text = "" if value is None else str(value).strip()
            if not text:
                errors[key] = "不能为空"
            updates[key] = text
        elif key in ("party_a_person", "party_a_title", "party_b_person", "party_b_title"):
            text = clean_text(value)
            if key.endswith("person") and not text:
                errors[key] = "不能为空"
            elif len(text) > 32:
                errors[key] = "不能超过32个字"
            attr = key.split("_", 2)[2]
            if key.startswith("party_a"):
                party_a = replace(party_a, **{attr: text})
            else:
                party_b = replace(party_b, **{attr: text})
        elif key == "sections":
            try:
                updates["sections"] = tuple(Section(str(s["heading"]).strip(),
                                                    tuple(str(c).strip() for c in s["clauses"] if str(c).strip()))
                                            for s in value)
                if not updates["sections"] or any(not s.heading or not s.clauses for s in updates["sections"]):
                    raise ValueError
            except (KeyError, TypeError, ValueError):
                errors[key] = "每节应有标题和至少一条条款"
        elif key == "targets":
            targets, problems = _parse_targets(value)
            errors.update(problems)
            updates["targets"] = targets
    if errors:
        raise ValidationError(errors, {**EDITABLE, **{k: _target_label(k) for k in errors if k.startswith("target_")}})
    new = replace(content, party_a=party_a, party_b=party_b, **updates)
    if "targets" in updates:
        new = _with_target_clauses(content, new)
    return new


def _target_label(key: str) -> str:
    return f"第{key.removeprefix('target_')}项控制指标"


def parse_threshold(metric: str, raw: Any) -> Decimal:
    """A target's threshold as typed: money in 元 (300万 is fine), everything else a whole count; ≥ 0."""
    if isinstance(raw, Decimal):
        raw = f"{raw:f}"
    if metric == "direct_loss_yuan":
        fen = normalize_money_fen(raw)
        if fen is None:
            raise ValueError("数值不能为空")
        return Decimal(fen) / YUAN
    count = normalize_count(raw, maximum=1_000_000)
    if count is None:
        raise ValueError("数值不能为空")
    return Decimal(count)


def _parse_targets(value: Any) -> tuple[tuple[Target, ...], dict[str, str]]:
    """The edited 控制指标 list; problems keyed target_<n> (n from 1). A blank wording is written from
    the metric, comparator and threshold so the letter never says something the 考核 does not check."""
    if not isinstance(value, (list, tuple)):
        return (), {"targets": "应为控制指标列表"}
    if not value:
        return (), {"targets": "至少保留一项控制指标"}
    targets: list[Target] = []
    errors: dict[str, str] = {}
    for n, item in enumerate(value, start=1):
        t = item if isinstance(item, dict) else {"metric": item.metric, "comparator": item.comparator,
                                                   "threshold": item.threshold, "text": item.text, "veto": item.veto}
        key = f"target_{n}"
        metric, comparator = str(t.get("metric", "")), str(t.get("comparator", ""))
        if metric not in METRICS:
            errors[key] = f"指标「{metric}」未知，应为 {'、'.join(METRICS.values())} 之一"
            continue
        if comparator not in COMPARATORS:
            errors[key] = f"比较方式「{comparator}」未知，应为 {'、'.join(COMPARATORS.values())} 之一"
            continue
        try:
            threshold = parse_threshold(metric, t.get("threshold"))
        except ValueError as exc:
            problem = str(exc)  # 「x」不是数字 / 金额不能为负数 / 应为不小于0的整数 … → 数值…
            errors[key] = "数值" + (problem if problem.startswith("「") else
                                    problem.removeprefix("金额").removeprefix("数值"))
            continue
        text = clean_text(t.get("text")) or target_wording(metric, comparator, threshold)
        veto = t.get("veto", False)
        if len(text) > 300:
            errors[key] = "条文不能超过300个字"
        elif not isinstance(veto, bool):
            errors[key] = "一票否决应为“是”或“否”"
        else:
            targets.append(Target(metric, comparator, threshold, text, veto))
    return tuple(targets), errors


def _with_target_clauses(old: LetterContent, new: LetterContent) -> LetterContent:
    """Keep the 控制指标 section (the one whose clauses were the old targets' wording) saying the new targets."""
    wording = tuple(t.text for t in old.targets)
    index = next((i for i, s in enumerate(old.sections) if s.clauses == wording), None)
    if index is None or index >= len(new.sections):
        return new
    sections = list(new.sections)
    sections[index] = replace(sections[index], clauses=tuple(t.text for t in new.targets))
    return replace(new, sections=tuple(sections))


# -- the accident register ------------------------------------------------------------------------

ACCIDENT_LABELS = {
    "occurred_at": "事故发生时间", "place": "事故地点", "unit_name": "事故单位", "village": "所在村/社区",
    "sector": "行业领域", "category": "事故类别", "account": "事故经过", "deaths": "死亡人数",
    "serious_injuries": "重伤人数", "direct_loss": "直接经济损失（元）", "reported_at": "报告时间",
    "remarks": "备注",
}
_DATETIME = re.compile(r"^\s*(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?\s*[T\s]?\s*(\d{1,2})[:：时](\d{1,2})(?:[:：分](\d{1,2}))?秒?\s*$")


def parse_local_datetime(value: Any) -> datetime | None:
    """A time the user typed (China time) → aware UTC; naive datetimes are China time."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=CHINA_TZ)).astimezone(CHINA_TZ)
    if isinstance(value, date):
        raise ValueError("请同时填写具体时间（时:分）")
    m = _DATETIME.match(str(value))
    if not m and re.match(r"^\s*\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?\s*$", str(value)):
        raise ValueError("请同时填写具体时间（时:分）")
    if not m:
        raise ValueError(f"「{value}」不是日期时间，应如 2026-05-01 14:30")
    y, mo, d, h, mi, s = (int(x) if x else 0 for x in m.groups())
    try:
        return datetime(y, mo, d, h, mi, s, tzinfo=CHINA_TZ)
    except ValueError:
        raise ValueError(f"「{value}」不是有效的日期时间") from None


@dataclass(frozen=True)
class AccidentRow:
    id: str
    occurred_at: str  # China time, 2026-05-01 14:30
    place: str
    unit_name: str
    village: str
    sector: str
    category: str
    account: str
    deaths: int
    serious_injuries: int
    direct_loss: str  # 元
    grade: str
    reported_at: str
    report_delay_minutes: int | None
    enterprise_id: str | None
    village_id: str | None


class AccidentService:
    def __init__(self, db: Database, actor: Actor, scope: Scope, today: Callable[[], date] = date.today,
                 now: Callable[[], datetime] | None = None) -> None:
        self.db = db
        self.actor = actor
        self.scope = scope
        self.today = today
        self.now = now

    def in_year(self, session: Session, year: int) -> list[Accident]:
        start = datetime.combine(date(year, 1, 1), time(), CHINA_TZ)
        end = datetime.combine(date(year + 1, 1, 1), time(), CHINA_TZ)
        return list(session.scalars(select(Accident).where(
            Accident.township_id == self.scope.township_id, Accident.deleted.is_(False),
            Accident.occurred_at >= start, Accident.occurred_at < end).order_by(Accident.occurred_at)))

    def list(self, year: int | None = None) -> list[AccidentRow]:
        with self.db.session() as session:
            resolver = Resolver(session, self.scope)
            if year:
                rows = self.in_year(session, year)
            else:
                rows = list(session.scalars(select(Accident).where(
                    Accident.township_id == self.scope.township_id, Accident.deleted.is_(False))
                    .order_by(Accident.occurred_at)))
            return [self._row(a, resolver) for a in rows]

    def get(self, accident_id: str) -> AccidentRow:
        with self.db.session() as session:
            return self._row(self._load(session, accident_id), Resolver(session, self.scope))

    @staticmethod
    def _row(a: Accident, resolver: Resolver) -> AccidentRow:
        return AccidentRow(
            a.id, format_local(a.occurred_at), a.place, a.unit_name, resolver.name_of(a.village_id),
            resolver.sector_name(a.sector_code) if a.sector_code else "", a.category, a.account, a.deaths,
            a.serious_injuries, format_fen(a.direct_loss_fen), a.grade, format_local(a.reported_at),
            a.report_delay_minutes, a.enterprise_id, a.village_id)

    def _load(self, session: Session, accident_id: str) -> Accident:
        a = session.get(Accident, accident_id)
        if a is None or a.deleted or a.township_id != self.scope.township_id:
            raise NotFound("该事故记录不存在或已被删除。")
        return a

    def record(self, values: dict[str, Any]) -> str:
        self.actor.require_write()
        with self.db.session(self.actor.username) as session:
            columns = self._validated(session, values, None)
            a = Accident(township_id=self.scope.township_id, partition=self.scope.partition, **columns)
            a.regrade()
            session.add(a)
            session.flush()
            return a.id

    def update(self, accident_id: str, values: dict[str, Any]) -> None:
        self.actor.require_write()
        with self.db.session(self.actor.username) as session:
            a = self._load(session, accident_id)
            columns = self._validated(session, values, a)
            for name, value in columns.items():
                if getattr(a, name) != value:
                    setattr(a, name, value)
            a.regrade()

    def delete(self, accident_id: str) -> None:
        """Remove an accident entered by mistake: a tombstone (audited, synced); the 考核 no longer counts it."""
        self.actor.require_write()
        with self.db.session(self.actor.username) as session:
            self._load(session, accident_id).deleted = True

    def _validated(self, session: Session, values: dict[str, Any], a: Accident | None) -> dict[str, Any]:
        unknown = [k for k in values if k not in ACCIDENT_LABELS]
        errors: dict[str, str] = {k: "未知的字段" for k in unknown}
        columns: dict[str, Any] = {}
        resolver = Resolver(session, self.scope)
        for name, raw in values.items():
            if name in unknown:
                continue
            try:
                if name in ("occurred_at", "reported_at"):
                    columns[name] = parse_local_datetime(raw)
                elif name in ("deaths", "serious_injuries"):
                    if isinstance(raw, float) and not raw.is_integer():
                        raise ValueError("应为整数")
                    count = normalize_count(raw)
                    columns[name] = count or 0
                elif name == "direct_loss":
                    columns["direct_loss_fen"] = normalize_money_fen(raw) or 0
                elif name == "village":
                    text = clean_text(raw)
                    if text and text not in resolver.villages:
                        raise ValueError(f"找不到名为「{text}」的村/社区")
                    columns["village_id"] = resolver.villages.get(text) if text else None
                elif name == "sector":
                    text = clean_text(raw)
                    code = resolver.sector_code(text) if text else ""
                    if code is None:
                        raise ValueError(f"「{text}」不在县里下发的行业代码表中")
                    columns["sector_code"] = code or ""
                elif name == "category":
                    text = clean_text(raw) or "生产安全事故"
                    if text not in ACCIDENT_CATEGORIES:
                        raise ValueError(f"应为以下之一：{'、'.join(ACCIDENT_CATEGORIES)}")
                    columns[name] = text
                elif name == "unit_name":
                    text = clean_text(raw)
                    if len(text) > 128:
                        raise ValueError("不能超过128个字")
                    columns[name] = text
                    kind_id = resolver.orgs.get(text)
                    columns["enterprise_id"] = kind_id[1] if kind_id and kind_id[0] == "enterprise" else None
                elif name == "place":
                    text = clean_text(raw)
                    if len(text) > 200:
                        raise ValueError("不能超过200个字")
                    columns[name] = text
                else:
                    columns[name] = "" if raw is None else str(raw).strip()
            except ValueError as exc:
                errors[name] = str(exc)
        occurred = columns.get("occurred_at", a.occurred_at if a else None)
        reported = columns.get("reported_at", a.reported_at if a else None)
        if occurred is None and "occurred_at" not in errors:
            errors["occurred_at"] = "必填，不能为空"
        if occurred is not None and occurred.astimezone(CHINA_TZ).date() > self.today():
            errors.setdefault("occurred_at", "不能晚于今天")
        if self.now is not None and occurred is not None and occurred > self.now():
            errors.setdefault("occurred_at", "不能晚于现在")
        if occurred is not None and reported is not None and reported < occurred and "reported_at" not in errors:
            errors["reported_at"] = f"不能早于事故发生时间（{format_local(occurred)}）"
        place = columns.get("place", a.place if a else "")
        unit = columns.get("unit_name", a.unit_name if a else "")
        if not place and not unit and not errors.keys() & {"place", "unit_name"}:
            errors["place"] = "事故地点和事故单位至少填写一项"
        if errors:
            raise ValidationError(errors, ACCIDENT_LABELS)
        return columns
