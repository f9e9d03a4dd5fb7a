"""隐患排查治理台账 in Excel: export the standard ledger layout, import offices' existing ledgers.

Sheet reading, header detection and column mapping are the organisation registers' machinery
(``imports.ImportService`` with this ledger's field list); the checks are the hazard service's own,
so a row the import accepts is a row the 登记 form would accept. An import is one transaction:
all rows or none (unless the user asks for the valid rows only), and cancelling rolls it back.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.documents.spreadsheet import SourceRow, cell_text, header_key, write_table
from app.errors import ValidationError, XiangAnError
from app.models import Enterprise, Hazard, HazardAction, HazardEvent, HazardStatus, new_id, utcnow
from app.models import validation as v
from app.models.audit import record_event
from app.models.deadlines import DeadlineRules
from app.models.hazards import FIVE_IN_PLACE, MAJOR, SUPERVISION_LEVELS
from app.services.context import Actor, Scope
from app.services.fields import Field, RegisterSpec, display, normalise
from app.services.hazards import (
    FIVE_IN_PLACE_FIELDS,
    REGISTER_FIELDS,
    STEP_FIELDS,
    HazardService,
    load_deadline_rules,
)
from app.services.imports import (
    CANCELLED,
    INVALID,
    NEW,
    SAME,
    UPDATE,
    ImportResult,
    ImportService,
    ImportSource,
    Mapping,
    PreviewRow,
    auto_mapping,
    checked_mapping,
)
from app.services.registers import Resolver
from app.storage import Database

S = HazardStatus
KIND = "hazards"
TITLE = "隐患排查治理台账"
UNIT_REMARK = "由隐患台账导入创建，请核对"
MIN_RECOGNISED = 3  # header cells that must match before a sheet counts as a hazard ledger
FLUSH_EVERY = 500
STATUS_ORDER = {s.value: i for i, s in enumerate(S)}

# -- the ledger's columns ----------------------------------------------------------------------
_KNOWN: dict[str, Field] = {}
for _f in (*REGISTER_FIELDS, *FIVE_IN_PLACE_FIELDS, *(f for fs in STEP_FIELDS.values() for f in fs)):
    _KNOWN.setdefault(_f.name, _f)
_REQUIRED = {f.name for f in REGISTER_FIELDS if f.required}


def _column(name: str, label: str, *more_aliases: str, **kind: Any) -> Field:
    """A ledger column: the step form's field under the ledger's header, with every header it goes by."""
    base = _KNOWN.get(name) or Field(name, label, **kind)
    aliases = [a for a in (base.label, *base.aliases, *more_aliases) if a != label]
    return replace(base, label=label, aliases=tuple(dict.fromkeys(aliases)), required=name in _REQUIRED,
                   in_table=True, **kind)


LEDGER_FIELDS: tuple[Field, ...] = (
    _column("number", "隐患编号", "编号", "隐患编码", "台账编号", max_length=20),
    _column("found_on", "发现日期", "排查时间", "检查时间"),
    _column("source", "隐患来源", "发现方式", "排查方式"),
    _column("inspectors", "检查人员", "检查人员姓名"),
    _column("village", "村（社区）", "所属村（社区）", "所在村（社区）", "村居"),
    _column("grid", "网格"),
    _column("unit_name", "单位/场所", "单位/场所名称", "企业（单位）名称", "企业名称/场所", "隐患所在单位"),
    _column("credit_code", "统一社会信用代码", "统一信用代码"),
    _column("sector", "行业领域", "行业类型", "所属行业领域"),
    _column("location", "具体位置", "隐患地点", "具体地点", "隐患具体位置", "隐患具体部位", "所在位置", "检查部位"),
    _column("description", "隐患描述", "隐患名称", "隐患内容描述"),
    _column("category", "隐患类别", "隐患分类"),
    _column("level", "隐患等级"),
    _column("level_basis", "判定依据", "判定标准"),
    _column("measures", "整改措施", "整改措施（方案）", "治理措施"),
    _column("responsible_unit", "责任单位"),
    _column("responsible_person", "责任人", "责任人姓名"),
    _column("responsible_phone", "责任人电话", "责任人手机"),
    _column("funds", "整改资金（元）", "治理资金", "整改投入"),
    _column("deadline", "整改时限", "限期"),
    _column("emergency_plan", "应急预案", "应急预案（措施）"),
    _column("temporary_measures", "临时管控措施", "防控措施"),
    _column("notice_number", "整改通知书编号", "整改通知书文号", "整改通知书号", "通知书编号", "文书编号"),
    _column("completed_on", "整改完成日期", "完成日期", "整改完成时间", "实际完成日期", "实际完成时间", "完成时间"),
    _column("reviewer", "验收人", "验收人员", "复查人", "复查人员", "验收（复查）人"),
    _column("reviewed_on", "验收日期", "验收时间", "复查日期", "复查时间"),
    _column("review_opinion", "验收意见", "复查意见", "验收结论"),
    _column("closed_on", "销号日期", "销号时间"),
    _column("supervised", "挂牌督办", "是否挂牌督办", "督办层级", "挂牌督办层级", "督办级别", max_length=16),
    _column("supervision_doc", "督办文号", "督办文件号", "挂牌督办文号"),
    _column("status", "状态", "整改状态", "隐患状态", "治理状态", "整改情况", "是否整改", "完成情况",
            max_length=32),
    _column("remarks", "备注"),
)
LEDGER_SPEC = RegisterSpec(kind=KIND, title="隐患台账/隐患", model=Hazard, fields=LEDGER_FIELDS, unique_keys=())
HEADERS = ("序号", *(f.label for f in LEDGER_FIELDS))
_LABELS = {**LEDGER_SPEC.labels, "_": ""}
_TEXT_COLUMNS = {HEADERS.index(label) for label in ("隐患编号", "统一社会信用代码", "责任人电话", "整改通知书编号")}
# Fields resolved here rather than by the hazard service.
_OWN = {"number", "status", "supervised"}

# -- the ways offices write the same thing ---------------------------------------------------------
_LEVEL_WORDS = {
    "一般": ("一般", "一般隐患", "一般事故隐患", "一般安全隐患", "一般生产安全事故隐患", "一般安全生产事故隐患"),
    "重大": ("重大", "重大隐患", "重大事故隐患", "重大安全隐患", "重大生产安全事故隐患", "重大安全生产事故隐患"),
}
_SOURCE_WORDS = {
    "自查": ("企业自查", "单位自查", "自检", "自查自改"),
    "乡镇检查": ("镇检查", "乡检查", "乡镇排查", "日常检查", "专项检查", "镇村检查", "网格员巡查", "巡查"),
    "部门抽查": ("部门检查", "执法检查", "抽查", "部门督查"),
    "上级交办": ("交办", "上级督办", "上级检查", "县级交办", "督查交办"),
    "群众举报": ("举报", "投诉举报", "群众投诉", "12345", "12350"),
}
_CATEGORY_WORDS = {
    "人的不安全行为": ("人", "人的因素", "人员", "不安全行为", "人的不安全因素"),
    "物的不安全状态": ("物", "物的因素", "设备设施", "不安全状态", "物的不安全因素", "现场管理"),
    "管理缺陷": ("管理", "管理因素", "管理上的缺陷", "基础管理", "管理类"),
}
_STATUS_WORDS = {
    S.REGISTERED.value: ("登记", "新发现", "待交办", "未交办", "待处理"),
    S.ASSIGNED.value: ("交办", "已下达", "已下达整改通知", "已抄报", "已交办/抄报", "已通知"),
    S.RECTIFYING.value: ("正在整改", "未整改", "待整改", "限期整改", "未完成", "逾期", "逾期未整改", "延期",
                         "延期整改", "验收不通过", "挂牌督办", "督办中", "治理中", "否"),
    S.ACCEPTANCE_REQUESTED.value: ("待验收", "已整改待验收", "待复查", "申请复查"),
    S.ACCEPTED.value: ("已验收", "验收合格", "复查合格", "已复查"),
    S.CLOSED.value: ("销号", "已闭环", "闭环", "已办结", "办结"),
}
# "Done" in an old ledger: what it means is told by the dates filled in next to it.
_DONE_WORDS = ("已整改", "已完成", "整改完成", "完成整改", "已整改完成", "完成", "已处理", "是")
_SUPERVISED_NO = ("", "否", "无", "不", "未", "未挂牌", "-", "/")
_SUPERVISED_YES = ("是", "√", "✓", "y", "yes", "挂牌", "已挂牌", "挂牌督办")
_NUMBER = re.compile(r"(\d{4})-(\d{1,6})")


def _word(text: str) -> str:
    """Spelling-insensitive form of a short cell: half-width, no spaces, no bracketed note, no 。."""
    key = unicodedata.normalize("NFKC", text)
    key = re.sub(r"\s+", "", key)
    return re.sub(r"\([^)]*\)", "", key).rstrip("。.").lower()


def _lookup(words: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {_word(w): canonical for canonical, spellings in words.items() for w in (canonical, *spellings)}


_LEVELS, _SOURCES, _CATEGORIES, _STATUSES = map(_lookup, (_LEVEL_WORDS, _SOURCE_WORDS, _CATEGORY_WORDS, _STATUS_WORDS))
_CANONICAL = {"level": _LEVELS, "source": _SOURCES, "category": _CATEGORIES}


def standard_number(text: str) -> str | None:
    """「2026-0017」（也认 2026－17、2026—0017）→ 2026-0017; anything else → None."""
    clean = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).replace("—", "-").replace("–", "-")
    m = _NUMBER.fullmatch(clean)
    if not m or not 2000 <= int(m.group(1)) <= 2100 or int(m.group(2)) == 0:
        return None
    return f"{m.group(1)}-{int(m.group(2)):04d}"


def _supervision(text: str) -> tuple[bool, str | None]:
    """(supervised, level): level None means "supervised, level not said"."""
    key = _word(text)
    if key in _SUPERVISED_NO:
        return False, ""
    for level, mark in (("省级", "省"), ("市级", "市"), ("县级", "县"), ("县级", "区")):
        if mark in text:
            return True, level
    if key in _SUPERVISED_YES:
        return True, None
    raise ValueError(f"「{text}」无法识别，应填「是」「否」或督办层级（{'、'.join(SUPERVISION_LEVELS)}）")


def _resolve_status(text: str, c: dict[str, Any]) -> str:
    """The lifecycle status an old ledger's 状态 cell means; blank or "done" is told by the dates."""
    key = _word(text)
    if key and key in _STATUSES:
        return _STATUSES[key]
    if key and key not in {_word(w) for w in _DONE_WORDS}:
        raise ValueError(f"「{text}」无法识别，应为{'、'.join(s.value for s in S)}之一（也可写已整改、未整改等）")
    if c.get("closed_on"):
        return S.CLOSED.value
    if c.get("reviewed_on"):
        return S.ACCEPTED.value
    if key or c.get("completed_on"):
        return S.ACCEPTANCE_REQUESTED.value
    if c.get("notice_number"):
        return S.ASSIGNED.value
    return S.REGISTERED.value


def _supervision_text(supervised: bool, level: str) -> str:
    return (level or "是") if supervised else ""


# -- results -----------------------------------------------------------------------------------
@dataclass
class HazardPreviewRow(PreviewRow):
    new_unit: bool = False  # the unit is not in the enterprise register: the import creates it


@dataclass
class HazardImportResult(ImportResult):
    units_created: int = 0
    new_units: list[str] = field(default_factory=list)  # names, to be checked in the enterprise register


class ImportRejected(XiangAnError):
    """All-or-nothing import refused because rows have errors; nothing was written."""

    def __init__(self, rows: list[tuple[int, str]]) -> None:
        self.rows = rows
        super().__init__(f"台账中有{len(rows)}行存在错误，未导入任何数据。请修改后重新导入，或选择只导入无误的行。")


@dataclass
class _Plan:
    preview: HazardPreviewRow
    columns: dict[str, Any]  # Hazard column values (complete)
    status_text: str  # 状态 as written in the file
    given: set[str]  # fields the file filled in
    hazard: Hazard | None = None  # the live hazard an update changes
    year: int = 0
    seq: int = 0


@dataclass
class _Row:
    """A sheet row read against the mapping, before validation."""

    number: int
    incoming: dict[str, str]  # non-blank cells, canonical spellings
    status_text: str
    file_number: str  # 隐患编号 as written
    standard: str | None  # it in 2026-0017 form
    match_id: str | None = None
    duplicate: dict[str, str] = field(default_factory=dict)


# -- the planner -------------------------------------------------------------------------------
class _Planner:
    """Reads, matches and validates every row of a file in one session, writing nothing."""

    def __init__(self, service: HazardExcelService, session: Session, mapping: Mapping, headers: list[str]) -> None:
        self.service = service
        self.hazards = HazardService(service.db, service.actor, service.scope, service.today)
        self.session = session
        self.mapping = mapping
        self.resolver = Resolver(session, service.scope)
        self.rules: DeadlineRules = load_deadline_rules(session)
        scope = service.scope
        self.in_wan = {col for col, name in mapping.items() if name == "funds" and "万元" in header_key(headers[col])}
        live = select(Hazard.id, Hazard.number, Hazard.found_on, Hazard.unit_name, Hazard.description).where(
            Hazard.township_id == scope.township_id, Hazard.deleted.is_(False))
        self.by_number: dict[str, str] = {}
        self.by_key: dict[tuple[str, str, str], str] = {}
        for id_, number, found_on, unit, description in session.execute(live):
            self.by_number[number] = id_
            self.by_key.setdefault(self._key(found_on.isoformat(), unit, description), id_)
        self.all_numbers = set(session.scalars(select(Hazard.number).where(Hazard.township_id == scope.township_id)))
        self.max_seq = dict(session.execute(select(Hazard.year, func.max(Hazard.seq)).where(
            Hazard.township_id == scope.township_id).group_by(Hazard.year)).all())
        credit = select(Enterprise.credit_code, Enterprise.id).where(
            Enterprise.township_id == scope.township_id, Enterprise.deleted.is_(False), Enterprise.credit_code.is_not(None))
        self.enterprise_by_code = dict(session.execute(credit).all())
        self.new_units: dict[str, int] = {}  # unit name → first row creating it

    @staticmethod
    def _key(found_on: str, unit: str, description: str) -> tuple[str, str, str]:
        return found_on, v.clean_text(unit), " ".join(description.split())

    # -- pass 1: read and match ------------------------------------------------------------
    def read(self, row: SourceRow) -> _Row | None:
        """None for a row with nothing in the mapped columns (blank trailing or template lines)."""
        incoming: dict[str, str] = {}
        for col, name in self.mapping.items():
            text = cell_text(row.cells[col]).strip() if col < len(row.cells) else ""
            if not text:
                continue
            if col in self.in_wan and not text.endswith(("万", "万元")):
                text = re.sub(r"元$", "", text) + "万"
            if name in _CANONICAL:
                text = _CANONICAL[name].get(_word(text), text)
            incoming[name] = text
        if not incoming:
            return None
        file_number = incoming.pop("number", "")
        status_text = incoming.get("status", "")
        return _Row(row.number, incoming, status_text, file_number, standard_number(file_number) if file_number else None)

    def match(self, rows: list[_Row]) -> None:
        """Find the live hazard each row updates; flag rows repeating an earlier row of the file."""
        seen_numbers: dict[str, int] = {}
        seen_keys: dict[tuple[str, str, str], int] = {}
        claimed: dict[str, int] = {}
        for r in rows:
            key = self._row_key(r)
            if r.standard and r.standard in seen_numbers:
                r.duplicate = {"number": f"与第{seen_numbers[r.standard]}行的隐患编号重复"}
            elif key and key in seen_keys:
                r.duplicate = {"description": f"与第{seen_keys[key]}行重复（发现日期、单位/场所、隐患描述都相同）"}
            r.match_id = self.by_number.get(r.standard or "") or (self.by_key.get(key) if key else None)
            if not r.duplicate and r.match_id in claimed:
                r.duplicate = {"number": f"与第{claimed[r.match_id]}行对应同一条隐患"}
            if r.standard:
                seen_numbers.setdefault(r.standard, r.number)
            if key:
                seen_keys.setdefault(key, r.number)
            if r.match_id:
                claimed.setdefault(r.match_id, r.number)
        # Numbers the file gives to hazards it creates are taken before any new number is handed out.
        for r in rows:
            if r.standard and not r.match_id and r.standard not in self.all_numbers:
                year, seq = (int(x) for x in r.standard.split("-"))
                self.max_seq[year] = max(self.max_seq.get(year) or 0, seq)

    def _row_key(self, r: _Row) -> tuple[str, str, str] | None:
        try:
            found_on = v.normalize_date(r.incoming.get("found_on"))
        except ValueError:
            return None
        if found_on is None or not r.incoming.get("unit_name") or not r.incoming.get("description"):
            return None
        return self._key(found_on.isoformat(), r.incoming["unit_name"], r.incoming["description"])

    def load(self, ids: Iterable[str]) -> dict[str, Hazard]:
        ids = list(dict.fromkeys(ids))
        found: dict[str, Hazard] = {}
        for start in range(0, len(ids), 500):
            for h in self.session.scalars(select(Hazard).where(Hazard.id.in_(ids[start : start + 500]))):
                found[h.id] = h
        return found

    # -- pass 2: validate ------------------------------------------------------------------
    def shown(self, h: Hazard) -> dict[str, str]:
        """A live hazard as the ledger shows it (display text per ledger field)."""
        out: dict[str, str] = {}
        for f in LEDGER_FIELDS:
            if f.name == "village":
                out[f.name] = self.resolver.name_of(h.village_id)
            elif f.name == "sector":
                out[f.name] = self.resolver.sector_name(h.sector_code) if h.sector_code else ""
            elif f.name == "funds":
                out[f.name] = display(h.funds_fen, "money")
            elif f.name == "supervised":
                out[f.name] = _supervision_text(h.supervised, h.supervision_level)
            else:
                out[f.name] = display(getattr(h, f.name))
        return out

    def plan(self, r: _Row, h: Hazard | None) -> _Plan:
        before = self.shown(h) if h is not None else {}
        values = {**before, **r.incoming}  # a blank cell never wipes what the record has
        if r.file_number and not r.standard:  # keep the old ledger's own number where people can find it
            note = f"原台账编号：{r.file_number}"
            if note not in values.get("remarks", ""):
                values["remarks"] = "；".join(x for x in (values.get("remarks", ""), note) if x)
        clean, errors = normalise(LEDGER_SPEC, values)
        columns = self.hazards.to_columns({k: x for k, x in clean.items() if k not in _OWN}, errors, self.resolver)
        status = h.status if h is not None else S.REGISTERED.value
        try:
            status = _resolve_status(str(clean.get("status", "")), columns)
        except ValueError as exc:
            errors.setdefault("status", str(exc))
        try:
            supervised, level = _supervision(str(clean.get("supervised", "")))
        except ValueError as exc:
            errors.setdefault("supervised", str(exc))
            supervised, level = False, ""
        columns.update(status=status, supervised=supervised,
                       supervision_level=level if level is not None else (h.supervision_level if h else ""))
        if not errors:
            errors.update(self._rules(columns))
        for name, problem in r.duplicate.items():
            errors.setdefault(name, problem)
        new_unit = self._unit(columns, r.number) if not errors and h is None else False  # only new hazards add units
        if h is None and columns.get("deadline") is None and columns.get("found_on"):
            columns["deadline"] = self.rules.due("rectify", columns.get("level") or "一般", columns["found_on"])
        shown = {f.name: display(clean.get(f.name, values.get(f.name))) for f in LEDGER_FIELDS}
        shown.update(status=status, supervised=_supervision_text(supervised, columns["supervision_level"]),
                     deadline=display(columns.get("deadline")))
        preview = HazardPreviewRow(r.number, shown, errors, INVALID, r.match_id, new_unit=new_unit)
        plan = _Plan(preview, columns, r.status_text, set(r.incoming), h)
        if errors:
            return plan
        if h is None:
            preview.action = NEW
            plan.year, plan.seq = self._number(r, columns["found_on"])
            preview.values["number"] = f"{plan.year}-{plan.seq:04d}"
            return plan
        preview.values["number"] = h.number
        changed = self._changed(before, clean, h, columns)
        if changed and h.status == S.CLOSED.value:
            preview.errors = {changed[0]: f"隐患{h.number}已销号归档，不能再通过导入修改"}
        elif STATUS_ORDER[status] < STATUS_ORDER[h.status]:
            preview.errors = {"status": f"系统中隐患{h.number}已是「{h.status}」，不能退回「{status}」"
                                        "（验收不通过等请在隐患详情中办理）"}
        else:
            preview.action, preview.changed = (UPDATE if changed else SAME), changed
        return plan

    @staticmethod
    def _changed(before: dict[str, str], new: dict[str, Any], h: Hazard, columns: dict[str, Any]) -> list[str]:
        old, _ = normalise(LEDGER_SPEC, before)
        changed = [f.name for f in LEDGER_FIELDS if f.name not in _OWN and old.get(f.name) != new.get(f.name)]
        if columns["status"] != h.status:
            changed.append("status")
        if (columns["supervised"], columns["supervision_level"]) != (h.supervised, h.supervision_level):
            changed.append("supervised")
        return changed

    def _rules(self, c: dict[str, Any]) -> dict[str, str]:
        """The 登记 form's rules, the order of the closing dates, and 五到位 for a major hazard in 整改."""
        errors = self.hazards.domain_errors(HazardAction.REGISTER, c, None, self.rules)
        accepted = STATUS_ORDER[c["status"]] >= STATUS_ORDER[S.ACCEPTED.value]
        for name, earlier, what in (("reviewed_on", "completed_on", "整改完成日期"),
                                    ("closed_on", "reviewed_on", "验收日期"), ("closed_on", "found_on", "发现日期")):
            # Before acceptance, 验收日期 may be the date of a failed review, before the work was redone.
            if name == "reviewed_on" and not accepted:
                continue
            if c.get(name) and c.get(earlier) and c[name] < c[earlier]:
                errors.setdefault(name, f"不能早于{what}（{c[earlier].isoformat()}）")
        if c.get("level") == MAJOR and STATUS_ORDER[c["status"]] >= STATUS_ORDER[S.RECTIFYING.value]:
            for name in FIVE_IN_PLACE:
                if c.get(name) in (None, ""):
                    errors.setdefault("funds" if name == "funds_fen" else name,
                                      f"重大隐患在「{c['status']}」状态必须落实五到位，此项不能为空")
        return errors

    def _unit(self, columns: dict[str, Any], row_number: int) -> bool:
        """Link the hazard to its enterprise; True when the unit is new and will be created."""
        name = columns.get("unit_name", "")
        if columns.get("enterprise_id") or name in self.resolver.orgs:
            return False
        code = columns.get("credit_code") or ""
        if code and code in self.enterprise_by_code:
            columns["enterprise_id"] = self.enterprise_by_code[code]
            return False
        self.new_units.setdefault(name, row_number)
        return self.new_units[name] == row_number

    def _number(self, r: _Row, found_on: date) -> tuple[int, int]:
        if r.standard and r.standard not in self.all_numbers:
            year, seq = (int(x) for x in r.standard.split("-"))
        else:
            year = found_on.year
            seq = (self.max_seq.get(year) or 0) + 1
            self.max_seq[year] = seq
        self.all_numbers.add(f"{year}-{seq:04d}")
        return year, seq

    def plans(self, rows: list[SourceRow], tick: Callable[[int], None] | None = None) -> list[_Plan]:
        read = [r for r in (self.read(row) for row in rows) if r is not None]
        self.match(read)
        hazards = self.load(r.match_id for r in read if r.match_id)
        out = []
        for done, r in enumerate(read, start=1):
            out.append(self.plan(r, hazards.get(r.match_id or "")))
            if tick is not None:
                tick(done)
        return out


def describe_errors(errors: dict[str, str]) -> str:
    """A row's problems as one line: 「字段：问题；字段：问题」."""
    return str(ValidationError(errors, _LABELS))


# -- the service -------------------------------------------------------------------------------
class HazardExcelService:
    """Import offices' hazard ledgers and export the standard 台账, for the UI and the command line."""

    def __init__(self, db: Database, actor: Actor, scope: Scope, today: Callable[[], date] = date.today) -> None:
        self.db = db
        self.actor = actor
        self.scope = scope
        self.today = today
        self.sheets = ImportService(db, actor, scope, specs={KIND: LEDGER_SPEC})

    # -- reading and mapping ---------------------------------------------------------------------
    def load(self, path: str | os.PathLike[str], sheet: str | None = None) -> ImportSource:
        """Read the ledger sheet (without ``sheet``: the first sheet that looks like a hazard ledger)."""
        source = self.sheets.load(path, KIND, sheet, minimum=MIN_RECOGNISED)
        if len(auto_mapping(LEDGER_SPEC, source.data.headers)) < MIN_RECOGNISED:
            found = "、".join(h for h in source.data.headers[:8] if h)
            raise XiangAnError(
                f"文件「{Path(path).name}」的工作表「{source.sheet}」不像隐患排查治理台账：找不到「发现日期」"
                f"「单位/场所」「隐患描述」等表头（读到的表头：{found or '无'}）。请选择正确的工作表。")
        return source

    def suggest_mapping(self, headers: list[str]) -> Mapping:
        return self.sheets.suggest_mapping(KIND, headers)

    def remember_mapping(self, headers: list[str], mapping: Mapping) -> None:
        self.sheets.remember_mapping(KIND, headers, mapping)

    # -- preview and apply -----------------------------------------------------------------------
    def preview(self, source: ImportSource, mapping: Mapping) -> list[HazardPreviewRow]:
        """What apply would do with each row (新增/更新/无变化/有错误), writing nothing."""
        mapping = checked_mapping(LEDGER_SPEC, source.data.headers, mapping)
        with self.db.session() as session:
            planner = _Planner(self, session, mapping, source.data.headers)
            return [p.preview for p in planner.plans(source.data.rows)]

    def apply(self, source: ImportSource, mapping: Mapping, skip_invalid: bool = False,
              progress: Callable[[int, int], None] | None = None,
              cancelled: Callable[[], bool] | None = None) -> HazardImportResult:
        """Import in one transaction. With errors: nothing (ImportRejected) unless ``skip_invalid``."""
        self.actor.require_write()
        mapping = checked_mapping(LEDGER_SPEC, source.data.headers, mapping)
        rows = source.data.rows
        total = 2 * len(rows)

        def check() -> None:
            if cancelled is not None and cancelled():
                raise XiangAnError(CANCELLED)  # raised inside the session: it rolls back

        def tick(done: int) -> None:
            check()
            if progress is not None and (done % 50 == 0 or done == total):
                progress(done, total)

        result = HazardImportResult()
        with self.db.session(self.actor.username) as session:
            planner = _Planner(self, session, mapping, source.data.headers)
            plans = planner.plans(rows, tick)
            rejected = [(p.preview.number, describe_errors(p.preview.errors)) for p in plans if p.preview.errors]
            if rejected and not skip_invalid:
                raise ImportRejected(rejected)
            result.skipped_rows = rejected
            writer = _Writer(self, session, planner, source)
            for done, plan in enumerate(plans, start=1):
                writer.write(plan, result)
                if done % FLUSH_EVERY == 0:
                    writer.flush()
                tick(len(rows) + done * len(rows) // max(len(plans), 1))
            check()
            writer.flush()
            self.sheets.store_mapping(session, KIND, source.data.headers, mapping)
            record_event(session, "import", self._summary(source, result), entity="hazard")
        if progress is not None:
            progress(total, total)
        return result

    @staticmethod
    def _summary(source: ImportSource, result: HazardImportResult) -> str:
        return (f"从「{source.path.name}」（工作表「{source.sheet}」）导入隐患台账：新增{result.created}条，"
                f"更新{result.updated}条，无变化{result.unchanged}条，跳过{len(result.skipped_rows)}行，"
                f"新建单位{result.units_created}家")

    # -- export ----------------------------------------------------------------------------------
    def export(self, path: str | os.PathLike[str], year: int | None = None) -> int:
        """The standard 台账: header in row 1 (so it re-imports), dates as real dates, one row per hazard."""
        with self.db.session() as session:
            resolver = Resolver(session, self.scope)
            stmt = select(Hazard).where(Hazard.township_id == self.scope.township_id, Hazard.deleted.is_(False))
            if year is not None:
                stmt = stmt.where(Hazard.year == year)
            hazards = list(session.scalars(stmt.order_by(Hazard.year, Hazard.seq)))
            table = [[index, *(_cell(h, f, resolver) for f in LEDGER_FIELDS)] for index, h in enumerate(hazards, 1)]
        title = f"{year}年{TITLE}" if year else TITLE
        write_table(path, title, list(HEADERS), table, None, _TEXT_COLUMNS)
        with self.db.session(self.actor.username) as session:
            record_event(session, "export", f"导出{title}{len(table)}条到「{Path(path).name}」", entity="hazard")
        return len(table)


def _cell(h: Hazard, f: Field, resolver: Resolver) -> Any:
    if f.kind == "date":
        return getattr(h, f.name)
    if f.name == "funds":
        if h.funds_fen is None:
            return None
        return h.funds_fen // 100 if h.funds_fen % 100 == 0 else h.funds_fen / 100  # a number Excel can sum
    if f.name == "village":
        return resolver.name_of(h.village_id) or None
    if f.name == "sector":
        return (resolver.sector_name(h.sector_code) if h.sector_code else "") or None
    if f.name == "supervised":
        return _supervision_text(h.supervised, h.supervision_level) or None
    return display(getattr(h, f.name)) or None


class _Writer:
    """Writes planned rows: new hazards with their events, updates with one 修改 event, new units."""

    def __init__(self, service: HazardExcelService, session: Session, planner: _Planner, source: ImportSource) -> None:
        self.service, self.session, self.planner, self.source = service, session, planner, source
        self.scope = service.scope
        self.username = service.actor.username
        self.units: dict[str, str] = {}  # unit name → enterprise id created by this import
        # New rows by table: no relationship() links them, so the flush cannot order them by their
        # foreign keys; flush() writes units, then hazards, then events.
        self.pending: tuple[list[Any], list[Any], list[Any]] = ([], [], [])

    def flush(self) -> None:
        """Units and the changes to existing hazards are audited row by row (old and new values); new
        hazards and their events are not: their 登记 event names the file, row and user, and the import
        itself is one audit entry. Auditing each of 5,000 new hazards would double the import time."""
        units, new_hazards, events = self.pending
        self.session.add_all(units)
        self.session.flush()
        audit = self.session.info.get("audit", True)
        self.session.info["audit"] = False
        try:
            for rows in (new_hazards, events):
                self.session.add_all(rows)
                self.session.flush()
        finally:
            self.session.info["audit"] = audit
        for rows in self.pending:
            rows.clear()

    def write(self, plan: _Plan, result: HazardImportResult) -> None:
        preview = plan.preview
        if preview.errors:
            return
        if preview.action == SAME:
            result.unchanged += 1
            return
        columns = dict(plan.columns)
        if not columns.get("enterprise_id") and columns["unit_name"] in self.planner.new_units:
            columns["enterprise_id"] = self._unit(columns, result)
        if plan.hazard is None:
            self._create(plan, columns)
            result.created += 1
        else:
            self._update(plan, columns)
            result.updated += 1

    def _unit(self, c: dict[str, Any], result: HazardImportResult) -> str:
        name = c["unit_name"]
        if name not in self.units:
            unit = Enterprise(id=new_id(), township_id=self.scope.township_id, partition=self.scope.partition,
                              name=name, credit_code=c.get("credit_code") or None, sector_code=c.get("sector_code", ""),
                              village_id=c.get("village_id"), remarks=UNIT_REMARK)
            self.pending[0].append(unit)
            self.units[name] = unit.id
            self.planner.resolver.orgs[name] = ("enterprise", unit.id)
            if unit.credit_code:
                self.planner.enterprise_by_code[unit.credit_code] = unit.id
            result.units_created += 1
            result.new_units.append(name)
        return self.units[name]

    def _where(self, plan: _Plan) -> str:
        return f"从Excel导入：「{self.source.path.name}」第{plan.preview.number}行"

    def _create(self, plan: _Plan, c: dict[str, Any]) -> None:
        status = c.pop("status")
        h = Hazard(id=new_id(), township_id=self.scope.township_id, partition=self.scope.partition,
                   year=plan.year, seq=plan.seq, number=f"{plan.year}-{plan.seq:04d}", status=S.REGISTERED.value,
                   deadline_overridden="deadline" in plan.given, **c)
        self.pending[1].append(h)
        at = utcnow()
        data = {k: x for k, x in plan.preview.values.items() if x and k != "status"}
        self._event(h, HazardAction.REGISTER, "", S.REGISTERED.value, at, h.found_on, self._where(plan), data)
        if status != S.REGISTERED.value:
            h.status = status
            self._event(h, HazardAction.EDIT, S.REGISTERED.value, status, at + timedelta(microseconds=1),
                        self._status_date(c), f"从Excel导入，原状态：{plan.status_text or '（未填写，按日期推定）'}",
                        {"status": status})

    @staticmethod
    def _status_date(c: dict[str, Any]) -> date | None:
        return c.get("closed_on") or c.get("reviewed_on") or c.get("completed_on") or c.get("found_on")

    def _update(self, plan: _Plan, c: dict[str, Any]) -> None:
        h = plan.hazard
        assert h is not None
        before = h.status
        if c.get("deadline") != h.deadline and "deadline" in plan.preview.changed:
            h.deadline_overridden = True
        for name, value in c.items():
            if getattr(h, name) != value:
                setattr(h, name, value)
        data = {k: plan.preview.values.get(k, "") for k in plan.preview.changed}
        if h.status != before:
            note = f"从Excel导入，原状态：{plan.status_text or '（未填写，按日期推定）'}"
        else:
            note = f"{self._where(plan)}，修改了{'、'.join(_LABELS[k] for k in plan.preview.changed)}"
        self._event(h, HazardAction.EDIT, before, h.status, utcnow(),
                    self._status_date(c) if h.status != before else self.service.today(), note, data)

    def _event(self, h: Hazard, action: HazardAction, before: str, after: str, at: datetime,
               event_date: date | None, note: str, data: dict[str, str]) -> None:
        self.pending[2].append(HazardEvent(
            id=new_id(), township_id=h.township_id, partition=h.partition, hazard_id=h.id, at=at,
            username=self.username, action=action.value, from_status=before, to_status=after,
            event_date=event_date, doc_number="", note=note, data=data))
