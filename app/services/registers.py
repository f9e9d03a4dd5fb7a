"""Generic list/get/save/delete over a RegisterSpec, used by every organisation register.

Values cross this boundary as display text (see ``fields.Field``); references (village, sector,
organisation) are resolved here, inside the same short transaction as the write.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, false, func, or_, select
from sqlalchemy.orm import Session

from app.errors import NotFound, ValidationError
from app.models import Contact, EmergencyPlan, Enterprise, RescueTeam, TownshipUnit, Village
from app.services.context import Actor, Scope
from app.services.fields import RegisterSpec, display, is_blank, normalise
from app.services.organisation import load_sectors
from app.storage import Database

TOWNSHIP_LEVEL = "乡镇本级"
# References to readiness records by their (unique) name: field kind → (model, column, what it is called).
REFERENCES: dict[str, tuple[Any, str, str]] = {
    "team": (RescueTeam, "team_id", "救援队伍"),
    "plan": (EmergencyPlan, "plan_id", "应急预案"),
}
REFERENCE_COLUMNS = {"village": "village_id", "sector": "sector_code", "org": "org_id", "contact": "contact_id",
                     **{kind: column for kind, (_m, column, _w) in REFERENCES.items()}}


@dataclass
class ListQuery:
    search: str = ""
    filters: dict[str, str] = field(default_factory=dict)  # field name → display value
    sort: str = ""
    descending: bool = False


class Resolver:
    """Name ↔ id lookups for one session: villages, sectors and organisations."""

    def __init__(self, session: Session, scope: Scope) -> None:
        self.session = session
        self.scope = scope
        self._villages: dict[str, str] | None = None
        self._orgs: dict[str, tuple[str, str]] | None = None
        self._names: dict[str, str] | None = None
        self._refs: dict[str, dict[str, str]] = {}
        self._contacts: list[tuple[str, str, str]] | None = None
        self.sectors = load_sectors(session)

    def _live(self, model: type) -> Any:
        return select(model.id, model.name).where(
            model.township_id == self.scope.township_id, model.deleted.is_(False)
        )

    @property
    def villages(self) -> dict[str, str]:
        if self._villages is None:
            self._villages = {name: id_ for id_, name in self.session.execute(self._live(Village))}
        return self._villages

    @property
    def orgs(self) -> dict[str, tuple[str, str]]:
        """Organisation name → (kind, id); villages win over units over enterprises on a tie."""
        if self._orgs is None:
            self._orgs = {}
            for kind, model in (("enterprise", Enterprise), ("unit", TownshipUnit), ("village", Village)):
                for id_, name in self.session.execute(self._live(model)):
                    self._orgs[name] = (kind, id_)
        return self._orgs

    def refs(self, kind: str) -> dict[str, str]:
        """Name → id of the live records a ``kind`` field ("team", "plan") refers to."""
        if kind not in self._refs:
            model = REFERENCES[kind][0]
            self._refs[kind] = {name: id_ for id_, name in self.session.execute(self._live(model))}
        return self._refs[kind]

    def ref_name(self, kind: str, id_: str | None) -> str:
        return next((name for name, i in self.refs(kind).items() if i == id_), "") if id_ else ""

    @property
    def contacts(self) -> list[tuple[str, str, str]]:
        """(id, name, mobile) of every live contact."""
        if self._contacts is None:
            self._contacts = list(self.session.execute(
                select(Contact.id, Contact.name, Contact.mobile).where(
                    Contact.township_id == self.scope.township_id, Contact.deleted.is_(False))))
        return self._contacts

    @staticmethod
    def contact_label(name: str, mobile: str) -> str:
        return f"{name}（{mobile}）" if mobile else name

    def contact_of(self, id_: str | None) -> str:
        found = next((c for c in self.contacts if c[0] == id_), None) if id_ else None
        return self.contact_label(found[1], found[2]) if found else ""

    def contact_id(self, text: str) -> tuple[str | None, str]:
        """(id, problem) for a contact typed as 姓名（手机） or as a name only one contact has."""
        exact = [c for c in self.contacts if self.contact_label(c[1], c[2]) == text]
        named = exact or [c for c in self.contacts if c[1] == text]
        if len(named) == 1:
            return named[0][0], ""
        if named:
            return None, f"有{len(named)}位名为「{text}」的联系人，请写成「姓名（手机号）」以区分"
        return None, f"联系人名录中没有「{text}」，请先在「联系人」中添加"

    def forget(self, kind: str) -> None:
        """Drop cached names a save of ``kind`` may have changed."""
        if kind == "villages":
            self._villages = None
        if kind in ("villages", "enterprises", "units"):
            self._orgs = self._names = None
        if kind == "contacts":
            self._contacts = None
        self._refs.pop({"teams": "team", "plans": "plan"}.get(kind, ""), None)

    def name_of(self, id_: str | None) -> str:
        if not id_:
            return ""
        if self._names is None:
            self._names = {i: name for name, (_k, i) in self.orgs.items()}
        return self._names.get(id_, "")

    def sector_name(self, code: str) -> str:
        return next((s.name for s in self.sectors if s.code == code), code)

    def sector_code(self, text: str) -> str | None:
        return next((s.code for s in self.sectors if text in (s.code, s.name)), None)


def _to_columns(spec: RegisterSpec, clean: dict[str, Any], resolver: Resolver) -> tuple[dict[str, Any], dict[str, str]]:
    """Display values → ORM column values; unresolvable references become field errors."""
    columns: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in spec.fields:
        value = clean.get(f.name)
        if f.kind == "village":
            if value and value not in resolver.villages:
                errors[f.name] = f"找不到名为「{value}」的村/社区，请先在「村/社区」中添加"
            columns["village_id"] = resolver.villages.get(value) if value else None
        elif f.kind == "sector":
            code = resolver.sector_code(value) if value else ""
            if code is None:
                names = "、".join(s.name for s in resolver.sectors)
                errors[f.name] = f"「{value}」不在县里下发的行业代码表中，可选：{names}"
            columns["sector_code"] = code or ""
        elif f.kind == "org":
            if not value or value == TOWNSHIP_LEVEL:
                columns["org_kind"], columns["org_id"] = "township", None
            elif value in resolver.orgs:
                columns["org_kind"], columns["org_id"] = resolver.orgs[value]
            else:
                errors[f.name] = f"找不到名为「{value}」的村/社区、站所或企业"
        elif f.kind in REFERENCES:
            _model, column, what = REFERENCES[f.kind]
            names = resolver.refs(f.kind)
            if value and value not in names:
                errors[f.name] = f"找不到名为「{value}」的{what}，请先在「{what}」中添加"
            columns[column] = names.get(value) if value else None
        elif f.kind == "contact":
            contact_id, problem = resolver.contact_id(value) if value else (None, "")
            if problem:
                errors[f.name] = problem
            columns["contact_id"] = contact_id
        elif f.kind == "credit_code":
            columns[f.name] = value or None  # NULLs never collide in the unique index
        else:
            columns[f.name] = value
    return columns, errors


def _to_display(spec: RegisterSpec, row: Any, resolver: Resolver) -> dict[str, Any]:
    out: dict[str, Any] = {"id": row.id}
    for f in spec.fields:
        if f.kind == "village":
            out[f.name] = resolver.name_of(row.village_id)
        elif f.kind == "sector":
            out[f.name] = resolver.sector_name(row.sector_code) if row.sector_code else ""
        elif f.kind == "org":
            out[f.name] = resolver.name_of(row.org_id) if row.org_id else TOWNSHIP_LEVEL
        elif f.kind in REFERENCES:
            out[f.name] = resolver.ref_name(f.kind, getattr(row, REFERENCES[f.kind][1]))
        elif f.kind == "contact":
            out[f.name] = resolver.contact_of(row.contact_id)
        elif f.kind == "int":
            out[f.name] = getattr(row, f.name)
        else:
            out[f.name] = display(getattr(row, f.name))
    return out


def id_by_number(db: Database, model: Any, scope: Scope, number: str, what: str) -> str:
    """The id of the live record people quote as ``number`` (hazard 2026-0017, letter …〔2026〕12号)."""
    with db.session() as session:
        found = session.scalar(select(model.id).where(
            model.township_id == scope.township_id, model.number == number.strip(), model.deleted.is_(False)))
    if found is None:
        raise NotFound(f"没有编号为「{number}」的{what}。")
    return found


class RegisterService:
    def __init__(self, db: Database, actor: Actor, scope: Scope, spec: RegisterSpec) -> None:
        self.db = db
        self.actor = actor
        self.scope = scope
        self.spec = spec
        self.model: Any = spec.model

    # -- reading ---------------------------------------------------------------------------
    def _base_query(self) -> Any:
        m = self.model
        return select(m.id).where(m.township_id == self.scope.township_id, m.deleted.is_(False))

    def query_ids(self, query: ListQuery | None = None) -> list[str]:
        """Ids of live rows matching the query, sorted in SQL (the table model fetches rows lazily)."""
        query = query or ListQuery()
        m = self.model
        stmt = self._base_query()
        with self.db.session() as session:
            resolver = Resolver(session, self.scope)
            text = query.search.strip()
            if text:  # autoescape: a typed % or _ is a character, not a wildcard
                stmt = stmt.where(or_(*(getattr(m, col).contains(text, autoescape=True)
                                        for col in self.spec.search)))
            for name, value in query.filters.items():
                if value == TOWNSHIP_LEVEL and self.spec.field(name).kind == "village":
                    stmt = stmt.where(m.village_id.is_(None))  # records of the township itself
                    continue
                if value:
                    columns, errors = _to_columns(self.spec, {name: value}, resolver)
                    if name in errors:  # unknown village/sector/org: matches nothing (not "no village")
                        stmt = stmt.where(false())
                        continue
                    column = self._column_for(name)
                    stmt = stmt.where(getattr(m, column) == columns.get(column, value))
            order = self._order_by(query.sort or self.spec.fields[0].name, resolver)
            stmt = stmt.order_by(order.desc() if query.descending else order, m.id)
            return list(session.scalars(stmt))

    def _order_by(self, name: str, resolver: Resolver) -> Any:
        """Sort by what the column shows: a village's or organisation's name, a sector's name."""
        m = self.model
        kind = self.spec.field(name).kind

        def name_of(model: Any, column: Any) -> Any:
            return select(model.name).where(model.id == column).scalar_subquery()

        if kind == "village":
            return name_of(Village, m.village_id)
        if kind == "org":
            return func.coalesce(name_of(Village, m.org_id), name_of(TownshipUnit, m.org_id),
                                 name_of(Enterprise, m.org_id), "")
        if kind in REFERENCES:
            return name_of(REFERENCES[kind][0], getattr(m, REFERENCES[kind][1]))
        if kind == "contact":
            return name_of(Contact, m.contact_id)
        if kind == "sector" and resolver.sectors:
            return case({sector.code: sector.name for sector in resolver.sectors},
                        value=m.sector_code, else_=m.sector_code)
        return getattr(m, self._column_for(name))

    def _column_for(self, name: str) -> str:
        return REFERENCE_COLUMNS.get(self.spec.field(name).kind, name)

    def fetch_rows(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        ids = list(ids)
        with self.db.session() as session:
            resolver = Resolver(session, self.scope)
            rows: dict[str, dict[str, Any]] = {}
            for start in range(0, len(ids), 500):  # stay under SQLite's bound-parameter limit
                chunk = ids[start : start + 500]
                live = self._base_query().with_only_columns(self.model).where(self.model.id.in_(chunk))
                for row in session.scalars(live):  # tombstoned and other townships' rows are not found
                    rows[row.id] = _to_display(self.spec, row, resolver)
            return rows

    def get(self, record_id: str) -> dict[str, Any]:
        rows = self.fetch_rows([record_id])
        if record_id not in rows:
            raise NotFound(f"{self.spec.title}记录不存在或已被删除。")
        return rows[record_id]

    def rows(self, query: ListQuery | None = None) -> list[dict[str, Any]]:
        ids = self.query_ids(query)
        fetched = self.fetch_rows(ids)
        return [fetched[i] for i in ids if i in fetched]

    def count(self) -> int:
        return len(self.query_ids())

    def choices(self, name: str) -> list[str]:
        """Values a form offers for ``name`` (fixed choices, or names from the database)."""
        f = self.spec.field(name)
        if f.choices:
            return list(f.choices)
        with self.db.session() as session:
            resolver = Resolver(session, self.scope)
            if f.kind == "village":
                return sorted(resolver.villages)
            if f.kind == "sector":
                return [s.name for s in resolver.sectors]
            if f.kind == "org":
                return [TOWNSHIP_LEVEL, *sorted(resolver.orgs)]
            if f.kind in REFERENCES:
                return sorted(resolver.refs(f.kind))
            if f.kind == "contact":
                return sorted(resolver.contact_label(name, mobile) for _id, name, mobile in resolver.contacts)
        return []

    # -- writing ---------------------------------------------------------------------------
    def save(self, values: dict[str, Any], record_id: str | None = None) -> str:
        """Validate everything, then write in one transaction. Raises ValidationError naming each field."""
        self.actor.require_write()
        with self.db.session(self.actor.username) as session:
            return self.save_in(session, values, record_id)

    def save_in(self, session: Session, values: dict[str, Any], record_id: str | None,
                resolver: Resolver | None = None) -> str:
        resolver = resolver or Resolver(session, self.scope)
        columns, errors = self.validate_in(session, values, record_id, resolver)
        if errors:
            raise ValidationError(errors, self.spec.labels)
        row = self._load(session, record_id) if record_id else None
        if row is None:
            row = self.model(township_id=self.scope.township_id, partition=self.scope.partition)
            session.add(row)
        for name, value in columns.items():
            if getattr(row, name, None) != value:
                setattr(row, name, value)
        session.flush()
        resolver.forget(self.spec.kind)
        return str(row.id)

    def validate_in(self, session: Session, values: dict[str, Any], record_id: str | None,
                    resolver: Resolver, unique: bool = True) -> tuple[dict[str, Any], dict[str, str]]:
        """Check ``values`` exactly as save_in does, writing nothing: (column values, field → problem).

        ``unique=False`` skips the per-row uniqueness query, for callers (Excel import) that have
        already matched the row against every live record's keys in memory."""
        clean, errors = normalise(self.spec, values)
        columns, ref_errors = _to_columns(self.spec, clean, resolver)
        errors.update({k: e for k, e in ref_errors.items() if k not in errors})
        if unique and not errors:
            errors.update(self._uniqueness_errors(session, clean, columns, record_id))
        return columns, errors

    def live_rows_in(self, session: Session, resolver: Resolver) -> list[dict[str, Any]]:
        """Every live row as display values (plus "id"), in one query: what a re-import matches against."""
        m = self.model
        rows = session.scalars(select(m).where(m.township_id == self.scope.township_id, m.deleted.is_(False)))
        return [_to_display(self.spec, row, resolver) for row in rows]

    def _load(self, session: Session, record_id: str) -> Any:
        row = session.get(self.model, record_id)
        if row is None or row.deleted or row.township_id != self.scope.township_id:
            raise NotFound(f"{self.spec.title}记录不存在或已被删除。")
        return row

    def _uniqueness_errors(self, session: Session, clean: dict[str, Any], columns: dict[str, Any],
                           record_id: str | None) -> dict[str, str]:
        errors: dict[str, str] = {}
        for key in self.spec.unique_keys:
            other = self.find_by_key(session, key, clean, columns)
            if other is not None and other.id != record_id:
                labels = "和".join(self.spec.field(k).label for k in key)
                errors[key[-1]] = f"已有{labels}相同的{self.spec.title}「{other.name}」"
        return errors

    def find_by_key(self, session: Session, key: tuple[str, ...], clean: dict[str, Any],
                    columns: dict[str, Any]) -> Any:
        """The live row whose ``key`` fields equal these values, or None (also when any is blank)."""
        if any(is_blank(clean.get(k)) for k in key if self.spec.field(k).kind != "org"):
            return None
        m = self.model
        stmt = select(m).where(m.township_id == self.scope.township_id, m.deleted.is_(False))
        for k in key:
            column = self._column_for(k)
            stmt = stmt.where(getattr(m, column) == columns.get(column))
        return session.scalars(stmt.limit(1)).first()

    def delete(self, record_id: str) -> None:
        """Tombstone the row (history is kept; sync carries the deletion)."""
        self.actor.require_write()
        with self.db.session(self.actor.username) as session:
            row = self._load(session, record_id)
            if self.spec.delete_guard:
                reason = self.spec.delete_guard(session, row)
                if reason:
                    raise ValidationError({"_": reason})
            row.deleted = True


