"""七有/五有 standards as versioned data: read, check completely, and choose the active version.

A standard (``resources/standards/*.json`` or one the county issued) is a list of items (有应急救援队伍)
each made of criteria that the evaluator can check against the registers. Every criterion kind, its
parameters and the words of its gap line are data, so a county can tighten "≥30 people" or add an
item without a new program version. A file is checked entirely before use, and a problem names the
file, the item and the field.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import ValidationError
from app.models import ConfigDocument
from app.models.config_data import active_document, read_untrusted_json, version_key
from app.models.organisation import CONTACT_ROLES
from app.paths import resource
from app.services.readiness_registers import READINESS_REGISTERS

LEVELS = {"township": "乡镇", "village": "村（社区）"}
STANDARD_KINDS = {"township": "readiness_standard_township", "village": "readiness_standard_village"}
DEFAULT_FILES = {"township": ("standards", "township_qiyou.json"), "village": ("standards", "village_wuyou.json")}
MAX_STANDARD_FILE_BYTES = 1024 * 1024
_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$")

# kind → what it checks (shown in error messages listing the valid kinds)
CRITERION_KINDS = {
    "yes_no": "乡镇/村信息中某项已填写",
    "number": "人数不少于N（队员、具有某角色的联系人）",
    "count": "台账中符合条件的记录不少于N条",
    "document": "台账中符合条件且附有文件的记录不少于N条",
    "recent": "最近N个月内的记录不少于N条",
    "not_expired": "没有过期（超过修订期）的记录",
    "stock": "物资储备不低于最低储备清单",
    "capacity": "避难场所容量不低于人口的一定比例",
}
REGISTER_KINDS = frozenset({"count", "document", "recent", "not_expired"})
PROFILE_FIELDS = {
    "township": {"name": "乡镇名称", "office_name": "应急机构名称", "office_phone": "值班电话",
                 "leader_name": "分管领导", "leader_phone": "分管领导电话", "address": "办公地址"},
    "village": {"head_name": "负责人", "head_phone": "负责人电话", "population": "人口", "grid_count": "网格数"},
}
MEASURES = {"members": "救援队员人数（按队伍条件）", "contacts": "具有某应急角色的联系人人数"}
FILTER_FIELD_KINDS = frozenset({"text", "choice"})
DATE_FIELD_KIND = "date"
# Placeholders a gap template may use; the evaluator fills every one of them.
GAP_FIELDS = ("label", "min", "value", "count", "names", "months", "target", "percent", "details")
DEFAULT_GAPS = {
    "yes_no": "{label}：未填写",
    "number": "{label} {min} 人以上：当前 {value} 人",
    "count": "{label}：应不少于 {min} 个，当前 {value} 个",
    "document": "{label}：未登记或未附文件",
    "recent": "{label}：近 {months} 个月内 {value} 次，应不少于 {min} 次",
    "not_expired": "{label}：{count} 项已过期",
    "stock": "{label}：{details}",
    "capacity": "{label}：可容纳 {value} 人，低于人口的 {percent}%（{target} 人）",
}


class StandardError(ValueError):
    """A standard file or document that cannot be used; the text names where the problem is."""


@dataclass(frozen=True)
class StockLine:
    name: str  # matched against supply names (contains)
    minimum: int
    unit: str = ""


@dataclass(frozen=True)
class Criterion:
    text: str
    kind: str
    points: float
    required: bool = True
    label: str = ""
    gap: str = ""
    register: str = ""
    where: tuple[tuple[str, tuple[str, ...]], ...] = ()  # field → accepted values
    contains: tuple[tuple[str, str], ...] = ()  # field → text it must contain
    minimum: int = 1
    months: int = 0
    date_field: str = ""
    field: str = ""
    measure: str = ""
    roles: tuple[str, ...] = ()  # for measure "contacts": anyone with one of these 应急角色
    ratio: float = 0.0
    stock: tuple[StockLine, ...] = ()
    scope: str = "own"  # own: the unit's own records | all: the township's and every village's
    deduct: float = 0.0  # points lost per unit of shortfall; 0 = all or nothing


@dataclass(frozen=True)
class Item:
    key: str
    name: str
    group: str
    criteria: tuple[Criterion, ...]

    @property
    def points(self) -> float:
        return float(sum(c.points for c in self.criteria))


@dataclass(frozen=True)
class Standard:
    level: str
    name: str
    version: str
    issuer: str
    pass_score: float  # per cent of the maximum
    items: tuple[Item, ...]
    source: str = "内置"  # 内置 | 县级下发
    document_id: str | None = None

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"

    @property
    def max_score(self) -> float:
        return sum(i.points for i in self.items)


@dataclass(frozen=True)
class StandardInfo:
    level: str
    name: str
    version: str
    issuer: str
    items: int
    source: str
    active: bool = False
    problem: str = ""


@dataclass
class _Reader:
    """Walks one standard document, raising StandardError with the path to the bad value."""

    where: str  # the file or document name problems start with
    level: str = ""
    context: list[str] = field(default_factory=list)

    def fail(self, problem: str) -> StandardError:
        return StandardError("：".join([self.where, *self.context, problem]))

    def text(self, data: dict[str, Any], key: str, what: str, limit: int = 128, required: bool = True) -> str:
        value = data.get(key, "")
        if not isinstance(value, str) or len(value) > limit:
            raise self.fail(f"{key}（{what}）应为不超过{limit}个字的文字")
        if required and not value.strip():
            raise self.fail(f"缺少 {key}（{what}）")
        return value.strip()

    def number(self, data: dict[str, Any], key: str, what: str, default: float, low: float = 0,
               high: float = 1000, whole: bool = False) -> float:
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise self.fail(f"{key}（{what}）应为{low:g}到{high:g}之间的数")
        if whole and value != int(value):
            raise self.fail(f"{key}（{what}）应为整数")
        return value


def _spec_field(reader: _Reader, register: str, name: str, key: str) -> Any:
    try:
        return READINESS_REGISTERS[register].field(name)
    except KeyError:
        fields = "、".join(f.name for f in READINESS_REGISTERS[register].fields)
        raise reader.fail(f"{key} 中的「{name}」不是台账 {register} 的字段（可用：{fields}）") from None


def _where(reader: _Reader, data: dict[str, Any], register: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    raw = data.get("where", {})
    if not isinstance(raw, dict):
        raise reader.fail("where 应为“字段: 取值”的对象")
    out = []
    for name, value in raw.items():
        f = _spec_field(reader, register, name, "where")
        if f.kind not in FILTER_FIELD_KINDS:
            raise reader.fail(f"where 不能按字段「{name}」筛选（只能按文字或选项字段）")
        values = value if isinstance(value, list) else [value]
        if not values or not all(isinstance(v, str) and v for v in values):
            raise reader.fail(f"where 中「{name}」的取值应为文字或文字列表")
        unknown = [v for v in values if f.choices and v not in f.choices]
        if unknown:
            raise reader.fail(f"where 中「{name}」的取值「{'、'.join(unknown)}」无效，可选：{'、'.join(f.choices)}")
        out.append((name, tuple(values)))
    return tuple(out)


def _contains(reader: _Reader, data: dict[str, Any], register: str) -> tuple[tuple[str, str], ...]:
    raw = data.get("contains", {})
    if not isinstance(raw, dict):
        raise reader.fail("contains 应为“字段: 文字”的对象")
    out = []
    for name, value in raw.items():
        f = _spec_field(reader, register, name, "contains")
        if f.kind not in FILTER_FIELD_KINDS or not isinstance(value, str) or not value:
            raise reader.fail(f"contains 中「{name}」应为文字字段和一段文字")
        out.append((name, value))
    return tuple(out)


def _register(reader: _Reader, data: dict[str, Any], default: str = "") -> str:
    register = data.get("register", default)
    if register not in READINESS_REGISTERS:
        raise reader.fail(f"register「{register}」不是七有/五有台账（可用：{'、'.join(READINESS_REGISTERS)}）")
    return str(register)


def _date_field(reader: _Reader, data: dict[str, Any], register: str) -> str:
    name = data.get("date_field", "")
    if not isinstance(name, str) or not name:
        raise reader.fail("缺少 date_field（按哪个日期字段判断）")
    if _spec_field(reader, register, name, "date_field").kind != DATE_FIELD_KIND:
        raise reader.fail(f"date_field「{name}」不是日期字段")
    return name


def _roles(reader: _Reader, data: dict[str, Any]) -> tuple[str, ...]:
    raw = data.get("roles")
    roles = [raw] if isinstance(raw, str) else raw
    if not isinstance(roles, list) or not roles or not all(isinstance(r, str) and r.strip() for r in roles):
        raise reader.fail("roles（应急角色）应为角色名称或其列表，如 [\"应急管理员\"]")
    unknown = [r for r in roles if r not in CONTACT_ROLES]
    if unknown:
        raise reader.fail(f"roles 中的「{'、'.join(unknown)}」不是联系人的应急角色（可用：{'、'.join(CONTACT_ROLES)}）")
    return tuple(roles)


def _stock(reader: _Reader, data: dict[str, Any]) -> tuple[StockLine, ...]:
    raw = data.get("items")
    if not isinstance(raw, list) or not raw:
        raise reader.fail("items（最低储备清单）应为非空列表，如 [{\"name\": \"救生衣\", \"min\": 20}]")
    lines = []
    for index, entry in enumerate(raw, start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"].strip():
            raise reader.fail(f"items 第{index}项缺少 name（物资名称）")
        minimum = entry.get("min")
        if isinstance(minimum, bool) or not isinstance(minimum, int) or minimum < 1:
            raise reader.fail(f"items 第{index}项「{entry['name']}」的 min 应为正整数")
        lines.append(StockLine(entry["name"].strip(), minimum, str(entry.get("unit", ""))))
    return tuple(lines)


def _criterion(reader: _Reader, data: Any, level: str) -> Criterion:
    if not isinstance(data, dict):
        raise reader.fail("应为一个对象")
    text = reader.text(data, "text", "评分标准", 200)
    kind = data.get("kind")
    if kind not in CRITERION_KINDS:
        raise reader.fail(f"kind「{kind}」无效，可用：{'、'.join(CRITERION_KINDS)}")
    values: dict[str, Any] = {
        "text": text, "kind": kind, "points": float(reader.number(data, "points", "分值", 0, 0, 100)),
        "label": reader.text(data, "label", "差距说明的开头", 64, required=False) or text,
        "deduct": float(reader.number(data, "deduct", "每项扣分", 0, 0, 100)),
        "minimum": int(reader.number(data, "min", "最低数量", 1, 0, 100000, whole=True)),
    }
    required = data.get("required", True)
    if not isinstance(required, bool):
        raise reader.fail("required 应为 true 或 false")
    values["required"] = required
    scope = data.get("scope", "own")
    if scope not in ("own", "all"):
        raise reader.fail("scope 应为 own（本单位）或 all（全乡镇）")
    values["scope"] = scope
    if kind in REGISTER_KINDS:
        register = values["register"] = _register(reader, data)
        values["where"] = _where(reader, data, register)
        values["contains"] = _contains(reader, data, register)
    if kind == "recent":
        values["months"] = int(reader.number(data, "months", "月数", 12, 1, 120, whole=True))
        values["date_field"] = _date_field(reader, data, values["register"])
    elif kind == "not_expired":
        values["date_field"] = _date_field(reader, data, values["register"])
    elif kind == "yes_no":
        values["field"] = data.get("field", "")
        if values["field"] not in PROFILE_FIELDS[level]:
            raise reader.fail(f"field「{values['field']}」无效，可用：{'、'.join(PROFILE_FIELDS[level])}")
    elif kind == "number":
        values["measure"] = data.get("measure", "")
        if values["measure"] not in MEASURES:
            raise reader.fail(f"measure「{values['measure']}」无效，可用：{'、'.join(MEASURES)}")
        if values["measure"] == "members":
            values["where"] = _where(reader, data, "teams")
        else:
            values["roles"] = _roles(reader, data)
    elif kind == "stock":
        values["stock"] = _stock(reader, data)
    elif kind == "capacity":
        values["ratio"] = reader.number(data, "ratio", "容量占人口的比例", 0, 0.001, 10)
    gap = reader.text(data, "gap", "差距说明模板", 200, required=False) or DEFAULT_GAPS[kind]
    try:
        gap.format(**dict.fromkeys(GAP_FIELDS, ""))
    except (KeyError, IndexError, ValueError):
        raise reader.fail(f"gap「{gap}」中只能使用 {{{'}、{'.join(GAP_FIELDS)}}}") from None
    values["gap"] = gap
    return Criterion(**values)


def _item(reader: _Reader, data: Any, level: str, keys: set[str]) -> Item:
    if not isinstance(data, dict):
        raise reader.fail("应为一个对象")
    key = reader.text(data, "key", "项目代码", 32)
    if key in keys:
        raise reader.fail(f"项目代码 key「{key}」重复")
    keys.add(key)
    name = reader.text(data, "name", "项目名称", 64)
    reader.context.append(f"项目「{name}」")
    group = reader.text(data, "group", "所属类别，如 七有", 8)
    raw = data.get("criteria")
    if not isinstance(raw, list) or not raw:
        raise reader.fail("criteria（评分标准）应为非空列表")
    criteria = []
    for index, entry in enumerate(raw, start=1):
        reader.context.append(f"第{index}条标准")
        criteria.append(_criterion(reader, entry, level))
        reader.context.pop()
    reader.context.pop()
    return Item(key, name, group, tuple(criteria))


def parse_standard(data: Any, where: str, level: str | None = None, source: str = "内置",
                   document_id: str | None = None) -> Standard:
    """A checked Standard from decoded JSON; StandardError names ``where`` and the bad item/field."""
    reader = _Reader(where)
    if not isinstance(data, dict):
        raise reader.fail("内容应为一个 JSON 对象")
    found = data.get("level")
    if found not in LEVELS or (level is not None and found != level):
        wanted = level or "township 或 village"
        raise reader.fail(f"level 应为 {wanted}（现为「{found or ''}」）")
    kind = STANDARD_KINDS[found]
    if data.get("kind") != kind:
        raise reader.fail(f"kind 应为 {kind}（现为「{data.get('kind', '')}」），这不是{LEVELS[found]}达标标准文件")
    version = str(data.get("version", "")).strip()
    if not _VERSION.match(version):
        raise reader.fail(f"version「{version}」无效：应为不超过32个字符的字母、数字和点，如 2027.1")
    name = reader.text(data, "name", "标准名称", 64)
    issuer = reader.text(data, "issuer", "发布单位", 64, required=False)
    pass_score = reader.number(data, "pass_score", "达标分数线（百分制）", 80, 0, 100)
    raw = data.get("items")
    if not isinstance(raw, list) or not raw:
        raise reader.fail("items（达标项目）应为非空列表")
    keys: set[str] = set()
    items = []
    for index, entry in enumerate(raw, start=1):
        reader.context.append(f"第{index}项")
        item = _item(reader, entry, found, keys)
        reader.context.pop()
        items.append(item)
    standard = Standard(found, name, version, issuer, pass_score, tuple(items), source, document_id)
    if standard.max_score <= 0:
        raise reader.fail("各项分值之和应大于0")
    return standard


def default_standard(level: str) -> Standard:
    path = resource(*DEFAULT_FILES[level])
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StandardError(f"{path.name}：无法读取内置标准（{exc}）") from None
    return parse_standard(data, path.name, level)


def _document_standard(row: ConfigDocument, level: str) -> Standard:
    data = {**row.content, "kind": row.kind, "version": row.doc_version, "issuer": row.issuer, "level": level}
    return parse_standard(data, f"县级下发的「{row.title or row.doc_version}」", level, "县级下发", row.id)


def active_standard(session: Session, level: str) -> Standard:
    """The standard evaluations use now: the newest county-issued version, or the bundled default when
    it is as new (the same rule as every other county document, ``active_document``)."""
    document = active_document(session, STANDARD_KINDS[level], resource(*DEFAULT_FILES[level]))
    rows = session.scalars(select(ConfigDocument).where(
        ConfigDocument.kind == STANDARD_KINDS[level], ConfigDocument.doc_version == str(document["version"]),
        ConfigDocument.deleted.is_(False))).all()
    if rows:
        return _document_standard(max(rows, key=lambda r: r.updated_at), level)
    return default_standard(level)


def standard_infos(session: Session) -> list[StandardInfo]:
    """Every standard version available, per level newest first; a malformed one says why."""
    infos: list[StandardInfo] = []
    for level, kind in STANDARD_KINDS.items():
        active = active_standard(session, level)
        found: dict[str, StandardInfo] = {}
        default = default_standard(level)
        found[default.version] = _info(default, active)
        rows = session.scalars(select(ConfigDocument).where(
            ConfigDocument.kind == kind, ConfigDocument.deleted.is_(False)).order_by(ConfigDocument.updated_at))
        for row in rows:
            try:
                found[row.doc_version] = _info(_document_standard(row, level), active)
            except StandardError as exc:
                found[row.doc_version] = StandardInfo(level, row.title, row.doc_version, row.issuer, 0, "县级下发",
                                                      problem=str(exc))
        infos += sorted(found.values(), key=lambda i: version_key(i.version), reverse=True)
    return infos


def _info(standard: Standard, active: Standard) -> StandardInfo:
    is_active = (standard.version, standard.source) == (active.version, active.source)
    return StandardInfo(standard.level, standard.name, standard.version, standard.issuer, len(standard.items),
                        standard.source, is_active)


def read_standard_file(path: Path) -> Standard:
    """A standard file from outside (untrusted), read and checked; ValidationError names file and problem."""
    data = read_untrusted_json(path, MAX_STANDARD_FILE_BYTES, "达标标准文件")
    try:
        return parse_standard(data, path.name, source="县级下发")
    except StandardError as exc:
        raise ValidationError({"file": str(exc)}) from None
