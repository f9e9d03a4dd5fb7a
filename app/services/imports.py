"""Excel import and export of the organisation registers: map columns, preview, apply in one transaction."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from app.documents.spreadsheet import (
    SheetData,
    SourceRow,
    cell_text,
    header_key,
    hidden_sheets,
    read_sheet,
    sheet_names,
    without_parenthetical,
    write_table,
)
from app.errors import ValidationError, XiangAnError
from app.models import validation as v
from app.models.audit import record_event
from app.models.settings import get_setting, set_setting
from app.services.context import Actor, Scope
from app.services.fields import RegisterSpec, display, normalise
from app.services.organisation import REGISTERS
from app.services.registers import TOWNSHIP_LEVEL, RegisterService, Resolver
from app.storage import Database

NEW, UPDATE, SAME, INVALID = "新增", "更新", "无变化", "有错误"
CANCELLED = "导入已取消，未写入任何数据。"
TEXT_KINDS = frozenset({"phone", "credit_code", "id_number", "division_code"})
REMEMBERED_MAPPINGS = 10  # per register: offices reuse a handful of sheet layouts
PROBED_SHEETS = 5
PROGRESS_EVERY = 50

Mapping = dict[int, str]  # column index → field name


@dataclass
class ImportSource:
    path: Path
    kind: str
    sheets: list[str]
    sheet: str
    data: SheetData


@dataclass
class PreviewRow:
    number: int  # row number in the file, as Excel shows it
    values: dict[str, str]  # field → display value the record will have
    errors: dict[str, str]  # field → problem
    action: str  # 新增 | 更新 | 无变化 | 有错误
    match_id: str | None = None
    changed: list[str] = field(default_factory=list)  # fields an update changes


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped_rows: list[tuple[int, str]] = field(default_factory=list)  # (row number, why)


def _mapping_key(kind: str) -> str:
    return f"import_mapping:{kind}"


def _known_headers(spec: RegisterSpec) -> list[str]:
    return [h for f in spec.fields for h in f.headers]


def auto_mapping(spec: RegisterSpec, headers: list[str]) -> Mapping:
    """Match headers to fields: exact labels first, then aliases, then with a bracketed note removed."""
    keys = [header_key(h) for h in headers]
    passes: list[tuple[Callable[[str], str], Callable[[Any], Iterable[str]]]] = [
        (lambda k: k, lambda f: (f.label,)),
        (lambda k: k, lambda f: f.aliases),
        (without_parenthetical, lambda f: f.headers),
    ]
    mapping: Mapping = {}
    for reduce, names in passes:
        for col, key in enumerate(keys):
            if col in mapping or not reduce(key):
                continue
            taken = set(mapping.values())
            match = next((f.name for f in spec.fields if f.name not in taken
                          and reduce(key) in {header_key(n) for n in names(f)}), None)
            if match:
                mapping[col] = match
    return dict(sorted(mapping.items()))


def checked_mapping(spec: RegisterSpec, headers: list[str], mapping: dict[Any, Any]) -> Mapping:
    """The mapping without ignored columns; one column per field, known fields, existing columns."""
    by_field: dict[str, int] = {}
    for raw_col, name in sorted(mapping.items(), key=lambda item: int(item[0])):
        if not name:
            continue  # column deliberately left unmapped
        col = int(raw_col)
        if name not in spec.labels:
            raise XiangAnError(f"「{name}」不是{spec.title}的字段。")
        if not 0 <= col < len(headers):
            raise XiangAnError(f"表格中没有第{col + 1}列。")
        if name in by_field:
            first = headers[by_field[name]]
            raise XiangAnError(f"「{spec.labels[name]}」同时对应了「{first}」和「{headers[col]}」两列，请只保留一列。")
        by_field[name] = col
    if not by_field:
        raise XiangAnError("还没有指定任何列对应的字段，请至少对应一列。")
    return {col: name for name, col in sorted(by_field.items(), key=lambda item: item[1])}


def _mentions(sheet: str, spec: RegisterSpec) -> bool:
    return any(word in sheet for word in spec.title.split("/"))


@dataclass
class _Plan:
    number: int
    values: dict[str, Any]  # what will be saved: the live record's values overlaid with non-blank cells
    preview: PreviewRow


class _Planner:
    """Matches sheet rows to live records and validates them, all in one session with one Resolver."""

    def __init__(self, service: RegisterService, session: Session, resolver: Resolver, mapping: Mapping) -> None:
        self.service, self.spec = service, service.spec
        self.session, self.resolver, self.mapping = session, resolver, mapping
        self.keys = [*self.spec.unique_keys, *self.spec.match_keys]
        self.index: dict[tuple[Any, ...], dict[str, Any]] = {}
        for row in service.live_rows_in(session, resolver):  # one query, not one per sheet row
            for key in self.keys:
                values = self._key_values(key, row)
                if values:
                    self.index.setdefault((key, values), row)
        self.seen: dict[tuple[Any, ...], int] = {}  # (key, values) → first row number in this file
        self.claimed: dict[str, int] = {}  # record id → first row number that matched it

    def _key_values(self, key: tuple[str, ...], values: dict[str, Any]) -> tuple[str, ...] | None:
        out = []
        for name in key:
            text = v.clean_text(display(values.get(name)))
            if self.spec.field(name).kind == "org":
                text = text or TOWNSHIP_LEVEL  # blank organisation means the township itself
            elif not text:
                return None  # blank keys never match (same rule as find_by_key)
            out.append(text)
        return tuple(out)

    def _row_keys(self, raw: dict[str, str], clean: dict[str, Any], errors: dict[str, str]) -> dict[Any, Any]:
        """Key values of a sheet row; a key is unusable when a field of it is unmapped or invalid."""
        return {
            key: None if any(n not in raw or n in errors for n in key) else self._key_values(key, clean)
            for key in self.keys
        }

    def _match(self, keys: dict[Any, Any]) -> dict[str, Any] | None:
        """Unique keys first, then the weaker match keys (an enterprise by credit code, else by name)."""
        return next((self.index[(k, keys[k])] for k in self.keys if keys[k] and (k, keys[k]) in self.index), None)

    def _duplicate(self, number: int, keys: dict[Any, Any], match_id: str | None) -> dict[str, str]:
        """An error when an earlier row of this file has the same key or updates the same record."""
        checked = [k for k in self.spec.unique_keys if keys[k]] or [k for k in self.spec.match_keys if keys[k]][:1]
        problem: dict[str, str] = {}
        for key in checked:
            if (key, keys[key]) in self.seen:
                problem = {key[-1]: f"与第{self.seen[(key, keys[key])]}行重复"}
                break
        if not problem and match_id in self.claimed:
            problem = {self.spec.fields[0].name: f"与第{self.claimed[match_id]}行重复"}
        for key, values in keys.items():
            if values:
                self.seen.setdefault((key, values), number)
        if match_id:
            self.claimed.setdefault(match_id, number)
        return problem

    def plan(self, row: SourceRow) -> _Plan | None:
        """None for a row with nothing in the mapped columns (a pre-numbered empty template line)."""
        raw = {name: cell_text(row.cells[col]).strip() for col, name in self.mapping.items() if col < len(row.cells)}
        incoming = {name: text for name, text in raw.items() if text}
        if not incoming:
            return None
        clean_in, errors_in = normalise(self.spec, incoming)
        keys = self._row_keys(raw, clean_in, errors_in)
        existing = self._match(keys)
        match_id = existing["id"] if existing else None
        before = {k: val for k, val in existing.items() if k != "id"} if existing else {}
        values = {**before, **incoming}  # a blank or missing cell never wipes what the record has
        # No uniqueness query: a row whose unique key belongs to a live record has matched that record,
        # and clashes within the file are caught by _duplicate. save_in still checks before writing.
        _columns, errors = self.service.validate_in(self.session, values, match_id, self.resolver, unique=False)
        for name, problem in self._duplicate(row.number, keys, match_id).items():
            errors.setdefault(name, problem)
        return _Plan(row.number, values, self._preview(row.number, values, before, errors, match_id))

    def _preview(self, number: int, values: dict[str, Any], before: dict[str, Any], errors: dict[str, str],
                 match_id: str | None) -> PreviewRow:
        clean, _ = normalise(self.spec, values)
        shown = {f.name: display(clean[f.name] if f.name in clean else values.get(f.name)) for f in self.spec.fields}
        if errors:
            return PreviewRow(number, shown, errors, INVALID, match_id)
        if match_id is None:
            return PreviewRow(number, shown, {}, NEW)
        old, _ = normalise(self.spec, before)
        changed = [f.name for f in self.spec.fields if clean.get(f.name) != old.get(f.name)]
        return PreviewRow(number, shown, {}, UPDATE if changed else SAME, match_id, changed)


class ImportService:
    def __init__(self, db: Database, actor: Actor, scope: Scope,
                 specs: dict[str, RegisterSpec] | None = None) -> None:
        self.db = db
        self.actor = actor
        self.scope = scope
        # Other ledgers (隐患台账) reuse the sheet reading and column mapping with their own field lists.
        self.specs = REGISTERS if specs is None else specs

    def _spec(self, kind: str) -> RegisterSpec:
        if kind not in self.specs:
            raise XiangAnError(f"不支持导入或导出「{kind}」。")
        return self.specs[kind]

    def _register(self, kind: str) -> RegisterService:
        return RegisterService(self.db, self.actor, self.scope, self._spec(kind))

    # -- reading the file --------------------------------------------------------------------------
    def load(self, path: str | os.PathLike[str], kind: str, sheet: str | None = None,
             minimum: int = 2) -> ImportSource:
        """Read the file; without ``sheet``, take the first visible sheet whose header has ``minimum``
        columns of this register."""
        spec, path = self._spec(kind), Path(path)
        names = sheet_names(path)
        if sheet is None:
            sheet, data = self._probe(path, names, spec, minimum)
        else:
            data = read_sheet(path, sheet, _known_headers(spec))
        if not data.rows:
            raise XiangAnError(f"文件「{path.name}」的工作表「{sheet}」在表头（第{data.header_row}行）下面没有数据。")
        return ImportSource(path, kind, names, sheet, data)

    def _probe(self, path: Path, names: list[str], spec: RegisterSpec, minimum: int = 2) -> tuple[str, SheetData]:
        """Offices often put an instructions sheet first; try sheets named like the register first,
        hidden sheets (lookup lists, old copies) last."""
        hidden = hidden_sheets(path) if len(names) > 1 else set()
        ordered = sorted(names, key=lambda n: (n in hidden, not _mentions(n, spec)))[:PROBED_SHEETS]
        fallback: tuple[str, SheetData] | None = None
        first_error: XiangAnError | None = None
        for name in ordered:
            try:
                data = read_sheet(path, name, _known_headers(spec))
            except XiangAnError as exc:
                first_error = first_error or exc
                continue
            if len(auto_mapping(spec, data.headers)) >= minimum:
                return name, data
            fallback = fallback or (name, data)
        if fallback is not None:
            return fallback
        raise first_error or XiangAnError(f"文件「{path.name}」中没有工作表。")

    # -- column mapping ----------------------------------------------------------------------------
    def suggest_mapping(self, kind: str, headers: list[str]) -> Mapping:
        """Column → field: the mapping last used for this exact header list, else matched by label/alias."""
        spec = self._spec(kind)
        keys = [header_key(h) for h in headers]
        with self.db.session() as session:
            remembered = get_setting(session, _mapping_key(kind), []) or []
        for entry in remembered:
            if isinstance(entry, dict) and entry.get("headers") == keys:
                try:
                    return checked_mapping(spec, headers, {int(c): n for c, n in entry.get("mapping", {}).items()})
                except (XiangAnError, ValueError, TypeError):
                    break  # stale (the register's fields changed): fall back to matching
        return auto_mapping(spec, headers)

    def remember_mapping(self, kind: str, headers: list[str], mapping: Mapping) -> None:
        self.actor.require_write()
        checked = checked_mapping(self._spec(kind), headers, mapping)
        with self.db.session(self.actor.username) as session:
            self.store_mapping(session, kind, headers, checked)

    def store_mapping(self, session: Session, kind: str, headers: list[str], mapping: Mapping) -> None:
        keys = [header_key(h) for h in headers]
        entries = [e for e in get_setting(session, _mapping_key(kind), []) or []
                   if isinstance(e, dict) and e.get("headers") != keys]
        entry = {"headers": keys, "mapping": {str(c): n for c, n in mapping.items()}}
        set_setting(session, _mapping_key(kind), [entry, *entries][:REMEMBERED_MAPPINGS])

    # -- preview and apply -------------------------------------------------------------------------
    def preview(self, kind: str, source: ImportSource, mapping: Mapping) -> list[PreviewRow]:
        """What apply would do with each row, without writing anything."""
        service = self._register(kind)
        mapping = checked_mapping(service.spec, source.data.headers, mapping)
        with self.db.session() as session:
            planner = _Planner(service, session, Resolver(session, self.scope), mapping)
            plans = (planner.plan(row) for row in source.data.rows)
            return [p.preview for p in plans if p is not None]

    def apply(self, kind: str, source: ImportSource, mapping: Mapping,
              progress: Callable[[int, int], None] | None = None,
              cancelled: Callable[[], bool] | None = None) -> ImportResult:
        """Write every valid row in one transaction; rows with errors are skipped and reported.

        Cancelling rolls everything back. A successful import remembers the mapping for next time.
        """
        self.actor.require_write()
        service = self._register(kind)
        mapping = checked_mapping(service.spec, source.data.headers, mapping)
        result = ImportResult()
        rows = source.data.rows
        with self.db.session(self.actor.username) as session:
            resolver = Resolver(session, self.scope)
            planner = _Planner(service, session, resolver, mapping)
            for done, row in enumerate(rows, start=1):
                if cancelled is not None and cancelled():
                    raise XiangAnError(CANCELLED)  # raised inside the session: it rolls back
                plan = planner.plan(row)
                if plan is not None:
                    self._apply_one(service, session, resolver, plan, result)
                if progress is not None and (done % PROGRESS_EVERY == 0 or done == len(rows)):
                    progress(done, len(rows))
            if cancelled is not None and cancelled():
                raise XiangAnError(CANCELLED)
            self.store_mapping(session, kind, source.data.headers, mapping)
            record_event(session, "import", self._summary(service.spec, source, result),
                         entity=service.spec.model.__tablename__)
        return result

    @staticmethod
    def _apply_one(service: RegisterService, session: Session, resolver: Resolver, plan: _Plan,
                   result: ImportResult) -> None:
        preview = plan.preview
        if preview.errors:
            result.skipped_rows.append((plan.number, str(ValidationError(preview.errors, service.spec.labels))))
            return
        if preview.action == SAME:
            result.unchanged += 1
            return
        try:
            service.save_in(session, plan.values, preview.match_id, resolver)
        except ValidationError as exc:  # e.g. clashes with a row written earlier in this import
            result.skipped_rows.append((plan.number, str(exc)))
            return
        if preview.action == NEW:
            result.created += 1
        else:
            result.updated += 1

    @staticmethod
    def _summary(spec: RegisterSpec, source: ImportSource, result: ImportResult) -> str:
        return (f"从「{source.path.name}」（工作表「{source.sheet}」）导入{spec.title}：新增{result.created}条，"
                f"更新{result.updated}条，无变化{result.unchanged}条，跳过{len(result.skipped_rows)}行")

    # -- export ------------------------------------------------------------------------------------
    def export(self, kind: str, path: str | os.PathLike[str]) -> int:
        """Write every live record, all fields, as display values; the file re-imports unchanged."""
        service = self._register(kind)
        spec = service.spec
        records = service.rows()
        table = [[self._export_value(record.get(f.name), f.kind) for f in spec.fields] for record in records]
        text_columns = {i for i, f in enumerate(spec.fields) if f.kind in TEXT_KINDS}
        write_table(path, spec.title, [f.label for f in spec.fields], table, None, text_columns)
        with self.db.session(self.actor.username) as session:  # personal data left the app: keep a trace
            record_event(session, "export", f"导出{spec.title}{len(records)}条到「{Path(path).name}」",
                         entity=spec.model.__tablename__)
        return len(records)

    @staticmethod
    def _export_value(value: Any, kind: str) -> Any:
        if kind == "int":
            return value  # a number, so Excel can sum it
        return display(value) or None
