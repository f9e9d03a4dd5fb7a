"""Declarative field lists for the registers: one definition drives forms, validation, Excel import
and export, so the three can never disagree about what a field is called or what it accepts."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from app.models import validation as v

SPLIT_LIST = re.compile(r"[、,，;；/\s]+")


@dataclass(frozen=True)
class Field:
    """One user-facing field. ``name`` is the key in row dicts; values in row dicts are display text
    (a village's name, a sector's name), so forms, Excel and the service all speak the same values."""

    name: str
    label: str
    kind: str = "text"  # text | multiline | int | date | money (分) | phone | credit_code | id_number
    #                     | division_code | choice | village | sector | org | roles | team | plan | contact
    #                     | coordinates
    required: bool = False
    choices: tuple[str, ...] = ()
    max_length: int = 64
    aliases: tuple[str, ...] = ()  # other headers this field goes by in offices' Excel sheets
    in_table: bool = True
    width: int = 110
    hint: str = ""
    default: str = ""  # used when the value is left blank
    lengths: tuple[int, ...] = (6, 9, 12)  # allowed digit counts of a division_code
    minimum: int | None = None  # smallest allowed value of an int field (capacity 1: "must be above 0")

    @property
    def headers(self) -> tuple[str, ...]:
        return (self.label, *self.aliases)


@dataclass(frozen=True)
class RegisterSpec:
    kind: str  # "villages", "enterprises", ...
    title: str  # 村/社区
    model: type
    fields: tuple[Field, ...]
    unique_keys: tuple[tuple[str, ...], ...]  # field sets no two live rows may share (blank = unchecked)
    match_keys: tuple[tuple[str, ...], ...] = ()  # weaker keys re-import also matches on, in order
    search: tuple[str, ...] = ()  # ORM attributes searched by the free-text box
    delete_guard: Callable[[Any, Any], str | None] | None = None  # (session, row) → why it can't go
    # Rules across fields (expiry after production): clean values → field → problem, run when each
    # field on its own is valid.
    checks: tuple[Callable[[dict[str, Any]], dict[str, str]], ...] = ()

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def labels(self) -> dict[str, str]:
        return {f.name: f.label for f in self.fields}


def _text(f: Field, value: Any) -> str:
    text = v.clean_text(value)
    if len(text) > f.max_length:
        raise ValueError(f"不能超过{f.max_length}个字（当前{len(text)}个）")
    return text


def _multiline(f: Field, value: Any) -> str:
    text = "" if value is None else str(value).strip()
    if len(text) > 2000:
        raise ValueError("不能超过2000个字")
    return text


def _choice(f: Field, value: Any) -> str:
    text = v.clean_text(value)
    if text and text not in f.choices:
        raise ValueError(f"应为以下之一：{'、'.join(f.choices)}")
    return text


def _roles(f: Field, value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        items = [v.clean_text(x) for x in value]
    else:
        items = SPLIT_LIST.split(v.clean_text(value))
    roles = list(dict.fromkeys(x for x in items if x))
    unknown = [r for r in roles if r not in f.choices]
    if unknown:
        raise ValueError(f"未知的角色「{'、'.join(unknown)}」，可选：{'、'.join(f.choices)}")
    return roles


def _int(f: Field, value: Any) -> int | None:
    number = v.normalize_count(value)
    if number is not None and f.minimum is not None and number < f.minimum:
        raise ValueError("应大于0" if f.minimum == 1 else f"不能小于{f.minimum}")
    return number


def date_order(earlier: str, later: str, earlier_label: str) -> Callable[[dict[str, Any]], dict[str, str]]:
    """A cross-field check: ``later`` (e.g. 有效期至) may not be before ``earlier`` (生产日期)."""

    def check(clean: dict[str, Any]) -> dict[str, str]:
        first, second = clean.get(earlier), clean.get(later)
        if isinstance(first, date) and isinstance(second, date) and second < first:
            return {later: f"不能早于{earlier_label}（{first.isoformat()}）"}
        return {}

    return check


_COORDINATES = re.compile(r"^\s*(-?\d{1,3}(?:\.\d+)?)\s*[,，、\s]\s*(-?\d{1,3}(?:\.\d+)?)\s*$")


def _coordinates(f: Field, value: Any) -> str:
    """经度,纬度 in decimal degrees, within China's extent (a swapped or mistyped pair is caught)."""
    text = v.clean_text(value)
    if not text:
        return ""
    m = _COORDINATES.match(text)
    if not m:
        raise ValueError("应写成“经度,纬度”，如 115.4123,25.1367")
    lng, lat = float(m.group(1)), float(m.group(2))
    if not (73 <= lng <= 136 and 3 <= lat <= 54):
        raise ValueError(f"经度{lng:g}、纬度{lat:g}不在我国范围内，请核对（经度在前，纬度在后）")
    return f"{m.group(1)},{m.group(2)}"


def _optional(fn: Callable[[Any], Any]) -> Callable[[Field, Any], Any]:
    def apply(f: Field, value: Any) -> Any:
        return fn(value) if v.clean_text(value) else ""

    return apply


NORMALISERS: dict[str, Callable[[Field, Any], Any]] = {
    "text": _text,
    "multiline": _multiline,
    "int": _int,
    "date": lambda f, value: v.normalize_date(value),
    "money": lambda f, value: v.normalize_money_fen(value),
    "phone": lambda f, value: v.normalize_phone(value),
    "credit_code": _optional(v.normalize_credit_code),
    "id_number": _optional(v.normalize_id_number),
    "division_code": lambda f, value: v.normalize_division_code(value, f.lengths) if v.clean_text(value) else "",
    "choice": _choice,
    "roles": _roles,
    # References are resolved against the database by the register service; here only cleaned.
    "village": _text,
    "sector": _text,
    "org": _text,
    "team": _text,  # 救援队伍 by name
    "plan": _text,  # 应急预案 by name
    "contact": _text,  # 联系人 as 姓名 or 姓名（手机）
    "coordinates": _coordinates,
}


def is_blank(value: Any) -> bool:
    return value is None or value == "" or value == [] or (isinstance(value, str) and not value.strip())


def normalise(spec: RegisterSpec, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Clean every field of ``values``; return (clean values, field → problem)."""
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in spec.fields:
        raw = values.get(f.name)
        if f.default and is_blank(raw):
            raw = f.default
        if f.required and is_blank(raw):
            errors[f.name] = "必填，不能为空"
            continue
        try:
            clean[f.name] = NORMALISERS[f.kind](f, raw)
        except ValueError as exc:
            errors[f.name] = str(exc)
    for check in spec.checks:
        errors.update({k: e for k, e in check(clean).items() if k not in errors})
    return clean, errors


def display(value: Any, kind: str = "") -> str:
    """How a clean value is shown in tables and written to Excel."""
    if value is None:
        return ""
    if kind == "money":
        return v.format_fen(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "、".join(str(x) for x in value)
    return str(value)
