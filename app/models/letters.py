"""安全生产目标责任书 and 事故信息: letters, their append-only trail, accidents, and the rules that hold
whoever writes them — template checks, accident grading (国务院令493) and immutability after signing.

A letter's content is a ``LetterContent`` stored as JSON. Once signed, the flush hook below refuses any
change to what was signed (content, number, counterparty, signing record); only the status moves on
(扫描, 归档) and the link to a superseding letter is set.
"""

from __future__ import annotations

import enum
import hashlib
import json
import string
from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, event, inspect
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.errors import ValidationError
from app.models.base import SYNC_COLUMNS, Base, EventTrailMixin, SyncedMixin, UTCDateTime
from app.models.letter_content import COMPARATORS, LetterContent, Party, Section, Target
from app.models.organisation import live_unique

COUNTERPARTY_KINDS = {"village": "村（社区）", "enterprise": "企业", "unit": "站所"}
PLACEHOLDER_LABELS = {
    "year": "年度", "township": "乡镇名称", "county": "县（市、区）名称", "party_b": "乙方单位名称",
    "party_b_person": "乙方负责人", "party_a_person": "甲方负责人", "period_start": "责任期起始日",
    "period_end": "责任期截止日",
}
PLACEHOLDERS = tuple(PLACEHOLDER_LABELS)
METRICS = {
    "deaths": "死亡人数",
    "serious_injuries": "重伤人数",
    "direct_loss_yuan": "直接经济损失（元）",
    "major_accidents": "较大及以上事故起数",
    "fires": "火灾起数",
    "accidents": "事故起数",
}
ACCIDENT_CATEGORIES = ("生产安全事故", "火灾", "森林火灾", "道路交通事故", "其他")
FIRE_CATEGORIES = ("火灾", "森林火灾")


class LetterStatus(str, enum.Enum):
    DRAFT = "草稿"
    PRINTED = "已打印"
    SIGNED = "已签订"
    SCANNED = "已扫描"
    ARCHIVED = "已归档"


STATUS_ORDER = [s.value for s in LetterStatus]
SIGNED_STATES = frozenset({LetterStatus.SIGNED.value, LetterStatus.SCANNED.value, LetterStatus.ARCHIVED.value})
# What may still change on a signed letter (besides sync bookkeeping).
MUTABLE_AFTER_SIGNING = frozenset({"status", "superseded_by_id", "archived_on", "updated_at"})


class LetterAction(str, enum.Enum):
    GENERATE = "生成"
    EDIT = "修改"
    PRINT = "打印"
    SIGN = "签订"
    SCAN = "上传扫描件"
    ARCHIVE = "归档"
    SUPERSEDE = "更正替代"


# -- templates --------------------------------------------------------------------------------------


class TemplateError(ValueError):
    """A letter template is malformed; the message names the template, the field and the problem."""


_TEXT_FIELDS = ("title", "preamble", "period", "closing")


def _placeholders(where: str, text: str) -> None:
    try:
        names = [name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name is not None]
    except ValueError as exc:
        raise TemplateError(f"{where}的花括号不成对（{exc}）") from None
    for name in names:
        if name not in PLACEHOLDERS:
            shown = "{" + name + "}"
            raise TemplateError(f"{where}中有未知占位符 {shown}，可用的占位符：{'、'.join('{' + p + '}' for p in PLACEHOLDERS)}")


def template_placeholders(template: dict[str, Any]) -> list[str]:
    """The placeholders a (checked) template uses, in PLACEHOLDERS order."""
    texts = [template[name] for name in _TEXT_FIELDS]
    texts += [t["text"] for t in template["targets"]]
    texts += [c for s in template["sections"] for c in s["clauses"]]
    used = {name for text in texts for _lit, name, _spec, _conv in string.Formatter().parse(text) if name}
    return [p for p in PLACEHOLDERS if p in used]


def parse_templates(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Check a ``letter_templates`` document; return kind → template. Raises TemplateError exactly."""
    templates = document.get("templates")
    if not isinstance(templates, dict) or not templates:
        raise TemplateError("责任书模板文件中没有 templates")
    out: dict[str, dict[str, Any]] = {}
    for kind, t in templates.items():
        label = f"模板「{kind}」"
        if kind not in COUNTERPARTY_KINDS:
            raise TemplateError(f"{label}：未知的签订对象类型，应为 {'、'.join(COUNTERPARTY_KINDS)} 之一")
        if not isinstance(t, dict):
            raise TemplateError(f"{label}应为一个对象")
        for name in _TEXT_FIELDS:
            if not isinstance(t.get(name), str) or not t[name].strip():
                raise TemplateError(f"{label}缺少 {name}（应为非空文字）")
            _placeholders(f"{label}的 {name} ", t[name])
        for name in ("party_a_title", "party_b_title", "targets_heading"):
            if name in t and not isinstance(t[name], str):
                raise TemplateError(f"{label}的 {name} 应为文字")
        targets = t.get("targets")
        if not isinstance(targets, list) or not targets:
            raise TemplateError(f"{label}缺少 targets（控制指标列表）")
        for i, target in enumerate(targets, start=1):
            where = f"{label}的第{i}项控制指标"
            if not isinstance(target, dict):
                raise TemplateError(f"{where}应为一个对象")
            if target.get("metric") not in METRICS:
                raise TemplateError(f"{where}的 metric「{target.get('metric')}」未知，应为 {'、'.join(METRICS)} 之一")
            if target.get("comparator") not in COMPARATORS:
                raise TemplateError(f"{where}的 comparator「{target.get('comparator')}」未知，应为 {' '.join(COMPARATORS)} 之一")
            try:
                Decimal(str(target.get("threshold")))
            except InvalidOperation:
                raise TemplateError(f"{where}的 threshold「{target.get('threshold')}」不是数字") from None
            if not isinstance(target.get("text"), str) or not target["text"].strip():
                raise TemplateError(f"{where}缺少 text")
            _placeholders(f"{where}的 text ", target["text"])
            if not isinstance(target.get("veto", False), bool):
                raise TemplateError(f"{where}的 veto 应为 true 或 false")
        sections = t.get("sections")
        if not isinstance(sections, list) or not sections:
            raise TemplateError(f"{label}缺少 sections（责任内容、考核与奖惩等）")
        for i, section in enumerate(sections, start=1):
            where = f"{label}的第{i}节"
            if not isinstance(section, dict) or not isinstance(section.get("heading"), str) \
                    or not section["heading"].strip():
                raise TemplateError(f"{where}缺少 heading")
            clauses = section.get("clauses")
            if not isinstance(clauses, list) or not clauses or not all(isinstance(c, str) and c.strip()
                                                                        for c in clauses):
                raise TemplateError(f"{where}「{section['heading']}」的 clauses 应为非空的文字列表")
            for j, clause in enumerate(clauses, start=1):
                _placeholders(f"{where}第{j}条 ", clause)
        out[kind] = t
    return out


def fill_template(template: dict[str, Any], *, kind: str, year: int, number: str, township: str, county: str,
                  party_b: str, party_b_person: str, party_a_person: str) -> LetterContent:
    """The letter a template gives for one counterparty (placeholders filled)."""
    values = {
        "year": year, "township": township, "county": county, "party_b": party_b,
        "party_b_person": party_b_person, "party_a_person": party_a_person,
        "period_start": f"{year}年1月1日", "period_end": f"{year}年12月31日",
    }

    def fill(text: str) -> str:
        return text.format(**values)

    targets = tuple(Target(t["metric"], t["comparator"], Decimal(str(t["threshold"])), fill(t["text"]),
                           bool(t.get("veto", False))) for t in template["targets"])
    sections = (Section(template.get("targets_heading", "一、控制指标"), tuple(t.text for t in targets)),
                *(Section(s["heading"], tuple(fill(c) for c in s["clauses"])) for s in template["sections"]))
    return LetterContent(
        title=fill(template["title"]), year=year, number=number,
        party_a=Party(f"{township}人民政府", party_a_person, template.get("party_a_title", "")),
        party_b=Party(party_b, party_b_person, template.get("party_b_title", "")),
        preamble=fill(template["preamble"]), period=fill(template["period"]), targets=targets,
        sections=sections, closing=fill(template["closing"]), counterparty_kind=kind,
    )


def content_to_json(content: LetterContent) -> dict[str, Any]:
    data = asdict(content)
    for t in data["targets"]:
        t["threshold"] = str(t["threshold"])
    for s in data["sections"]:
        s["clauses"] = list(s["clauses"])
    return data


def content_from_json(data: dict[str, Any]) -> LetterContent:
    return LetterContent(
        title=data["title"], year=int(data["year"]), number=data["number"],
        party_a=Party(**data["party_a"]), party_b=Party(**data["party_b"]),
        preamble=data["preamble"], period=data["period"],
        targets=tuple(Target(t["metric"], t["comparator"], Decimal(str(t["threshold"])), t["text"],
                             bool(t.get("veto", False))) for t in data["targets"]),
        sections=tuple(Section(s["heading"], tuple(s["clauses"])) for s in data["sections"]),
        closing=data["closing"], counterparty_kind=data.get("counterparty_kind", ""),
        extra=dict(data.get("extra", {})),
    )


def content_hash(data: dict[str, Any]) -> str:
    canonical = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def compare(value: Decimal, comparator: str, threshold: Decimal) -> bool:
    return {"<=": value <= threshold, "<": value < threshold, "=": value == threshold,
            ">=": value >= threshold}[comparator]


# -- accident grades (《生产安全事故报告和调查处理条例》国务院令第493号) ----------------------------------

YUAN = 100  # 分 per 元
WAN = 10_000 * YUAN
# grade → (deaths, serious injuries, direct loss in 分) from which an accident has at least that grade
GRADES: tuple[tuple[str, int, int, int], ...] = (
    ("特别重大", 30, 100, 10_000 * WAN),
    ("重大", 10, 50, 5_000 * WAN),
    ("较大", 3, 10, 1_000 * WAN),
)
ORDINARY = "一般"
MAJOR_OR_ABOVE = ("较大", "重大", "特别重大")


def accident_grade(deaths: int, serious_injuries: int, direct_loss_fen: int) -> str:
    """The highest grade any of the three criteria reaches ("以上" includes the figure itself)."""
    for grade, d, s, loss in GRADES:
        if deaths >= d or serious_injuries >= s or direct_loss_fen >= loss:
            return grade
    return ORDINARY


# -- tables -----------------------------------------------------------------------------------------


class Letter(SyncedMixin, Base):
    __tablename__ = "letter"
    __audit_label__ = "安全生产目标责任书"
    __table_args__ = (
        live_unique("uq_letter_live_number", "township_id", "number"),
        Index("ix_letter_year_counterparty", "township_id", "year", "counterparty_kind", "counterparty_id"),
    )

    township_id: Mapped[str] = mapped_column(ForeignKey("township.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(64))  # 青山安责〔2026〕12号
    counterparty_kind: Mapped[str] = mapped_column(String(16))
    counterparty_id: Mapped[str] = mapped_column(String(36), index=True)
    counterparty_name: Mapped[str] = mapped_column(String(128))  # as it was when the letter was made
    template_version: Mapped[str] = mapped_column(String(32), default="")
    content: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(8), default=LetterStatus.DRAFT.value, index=True)
    signed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    signed_by_a: Mapped[str] = mapped_column(String(32), default="")
    signed_by_b: Mapped[str] = mapped_column(String(32), default="")
    content_sha256: Mapped[str] = mapped_column(String(64), default="")
    archived_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    supersedes_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    superseded_by_id: Mapped[str | None] = mapped_column(String(36), nullable=True)

    @property
    def name(self) -> str:
        return f"{self.number} {self.counterparty_name}"

    @property
    def is_signed(self) -> bool:
        return self.status in SIGNED_STATES


class LetterEvent(EventTrailMixin, SyncedMixin, Base):
    """One step in a letter's history. Written once, never changed."""

    __tablename__ = "letter_event"
    __audit_label__ = "责任书记录"

    township_id: Mapped[str] = mapped_column(ForeignKey("township.id"), index=True)
    letter_id: Mapped[str] = mapped_column(ForeignKey("letter.id"), index=True)


class Accident(SyncedMixin, Base):
    __tablename__ = "accident"
    __audit_label__ = "事故信息"
    __table_args__ = (Index("ix_accident_occurred", "township_id", "occurred_at"),)

    township_id: Mapped[str] = mapped_column(ForeignKey("township.id"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    place: Mapped[str] = mapped_column(String(200), default="")
    unit_name: Mapped[str] = mapped_column(String(128), default="", index=True)
    enterprise_id: Mapped[str | None] = mapped_column(ForeignKey("enterprise.id"), nullable=True, index=True)
    village_id: Mapped[str | None] = mapped_column(ForeignKey("village.id"), nullable=True, index=True)
    sector_code: Mapped[str] = mapped_column(String(32), default="")
    category: Mapped[str] = mapped_column(String(16), default="生产安全事故")
    account: Mapped[str] = mapped_column(Text, default="")
    deaths: Mapped[int] = mapped_column(Integer, default=0)
    serious_injuries: Mapped[int] = mapped_column(Integer, default=0)
    direct_loss_fen: Mapped[int] = mapped_column(Integer, default=0)
    grade: Mapped[str] = mapped_column(String(8), default=ORDINARY)
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    report_delay_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    remarks: Mapped[str] = mapped_column(Text, default="")

    @property
    def name(self) -> str:
        return f"{self.unit_name or self.place}事故".strip()

    def regrade(self) -> None:
        grade = accident_grade(self.deaths or 0, self.serious_injuries or 0, self.direct_loss_fen or 0)
        if self.grade != grade:
            self.grade = grade
        delay = None
        if self.reported_at is not None and self.occurred_at is not None:
            delay = int((self.reported_at - self.occurred_at).total_seconds() // 60)
        if self.report_delay_minutes != delay:
            self.report_delay_minutes = delay


# -- rules that hold whoever flushes ----------------------------------------------------------------


def _committed(obj: object, key: str) -> Any:
    hist = inspect(obj).attrs[key].history
    if hist.deleted:
        return hist.deleted[0]
    if hist.unchanged:
        return hist.unchanged[0]
    return getattr(obj, key)


def signed_letter_problem(letter: Letter) -> str | None:
    """Why this pending change to a letter is not allowed (None: it is)."""
    before = _committed(letter, "status")
    after = letter.status
    if after not in STATUS_ORDER:
        return f"未知的状态「{after}」"
    if before not in SIGNED_STATES:
        if after in SIGNED_STATES and letter.content_sha256 != content_hash(letter.content):
            return "签订时记录的内容摘要与责任书内容不一致"
        return None
    if STATUS_ORDER.index(after) < STATUS_ORDER.index(before):
        return f"已签订的责任书状态不能从「{before}」退回「{after}」"
    state = inspect(letter)
    changed = [attr.key for attr in state.mapper.column_attrs
               if attr.key not in SYNC_COLUMNS and attr.key not in MUTABLE_AFTER_SIGNING
               and state.attrs[attr.key].history.has_changes()]
    if changed:
        return f"已签订的责任书不能修改（{'、'.join(changed)}），如需更正请新建替代责任书"
    return None


@event.listens_for(Session, "before_flush")
def _letter_rules(session: Session, _ctx: Any, _instances: Any) -> None:
    if session.info.get("applying_sync"):
        return
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, Accident):
            obj.regrade()
    for obj in session.dirty:
        if isinstance(obj, Letter) and session.is_modified(obj):
            problem = signed_letter_problem(obj)
            if problem:
                raise ValidationError({"_": f"责任书 {_committed(obj, 'number')}：{problem}"})
    for obj in session.new:
        if isinstance(obj, Letter) and obj.status in SIGNED_STATES and obj.content_sha256 != content_hash(obj.content):
            raise ValidationError({"_": f"责任书 {obj.number}：签订时记录的内容摘要与责任书内容不一致"})
