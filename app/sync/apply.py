"""Idempotent apply of bundle records: versions only move forward, partitions are enforced, and a
concurrent edit from another PC of the same township is resolved deterministically with the losing
version kept in ``sync_conflict``.

Ordering of two versions of a row: (version, hlc, replica) — the same on every node, so every node picks
the same winner whatever order the bundles arrive in. Two versions are concurrent when neither writer
had seen the other's version: the newer one's ``base_version`` (the version its writer started from)
is below the other one's version, and they come from different replicas.

The same version of the same replica with a different clock stamp can only happen when a database went
back in time (restored from an old backup) and reused its counters: that is a fork, refused unless the
replica was already retired by a re-enrolment (then the two versions are kept as a conflict).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, String, Table, any_, bindparam, insert, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models.letters import SIGNED_STATES, Letter
from app.models.sync_state import SyncChange, SyncConflict
from app.sync.capture import append_only, table_order
from app.sync.errors import SyncError
from app.sync.serialize import from_record, to_record

Row = tuple[Table, dict[str, Any]]
PartitionCheck = Callable[[str], bool]
ID_CHUNK = 500
CHANGE_LOG_LOCK = 0x78616E_7379_6E63  # any constant: the PostgreSQL advisory lock key of the change log


@dataclass
class ApplyStats:
    applied: int = 0
    unchanged: int = 0
    conflicts: int = 0
    by_table: dict[str, int] = field(default_factory=dict)
    skipped: int = 0  # rows whose parent row is missing here: not applied, the stream must not move past them

    def add(self, other: ApplyStats) -> None:
        self.applied += other.applied
        self.unchanged += other.unchanged
        self.conflicts += other.conflicts
        self.skipped += other.skipped
        for table, count in other.by_table.items():
            self.by_table[table] = self.by_table.get(table, 0) + count


def lock_change_log(session: Session) -> None:
    """Call before appending to ``sync_change``: writers then append one transaction at a time.

    The downstream cursor assumes that once sequence number N is visible, no smaller number can still
    appear. PostgreSQL hands numbers out at insert but shows them at commit, so two writers could commit
    11 before 10, and a PC acknowledging 11 would never be sent 10. A transaction-scoped advisory lock,
    taken before the insert and released at commit, makes numbers visible in order. SQLite has a single
    writer already."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHANGE_LOG_LOCK})


def _key(values: Any) -> tuple[Any, ...]:
    return (values["version"], values["hlc"], values["version_replica"])


def _signed_first(values: Any) -> tuple[Any, ...]:
    """A signed letter is immutable everywhere (SYNC.md): it outranks a draft edited meanwhile on another
    PC whatever their versions; the draft is kept as the losing version."""
    return (values["status"] in SIGNED_STATES, *_key(values))


def _precedence(table: Table) -> Callable[[Any], tuple[Any, ...]]:
    return _signed_first if table.name == Letter.__tablename__ else _key


def among(session: Session, column: Any, ids: list[str]) -> ColumnElement[bool]:
    """``column IN ids``. On PostgreSQL as ``column = ANY(:ids)`` with one array parameter: the statement
    text is then the same for every chunk, so it is parsed and planned once instead of once per list
    length (with 500 separate parameters that parsing was a third of a county import)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam("ids", ids, type_=ARRAY(String)))
    return column.in_(ids)


def _existing(session: Session, table: Table, ids: list[str], columns: Iterable[Any] | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {}
    cols = list(columns) if columns is not None else list(table.columns)
    for start in range(0, len(ids), ID_CHUNK):
        chunk = ids[start:start + ID_CHUNK]
        for row in session.execute(select(*cols).where(among(session, table.c.id, chunk))).mappings():
            found[row["id"]] = row
    return found


def _by_table(rows: Iterable[Row]) -> dict[str, list[Row]]:
    grouped: dict[str, list[Row]] = defaultdict(list)
    for table, values in rows:
        grouped[table.name].append((table, values))
    order = table_order()
    return dict(sorted(grouped.items(), key=lambda item: order.get(item[0], len(order))))


def out_of_partition(detail: str) -> SyncError:
    return SyncError("out_of_partition", detail)


def check_records(session: Session, records: Iterable[Any], tables: dict[str, Table],
                  allowed: PartitionCheck) -> list[Row]:
    """Parse and check one part before anything is written: known tables and columns, partitions the
    sender may write, and no row moved out of the partition it is stored in here."""
    rows = [from_record(record, tables) for record in records]
    for table_name, group in _by_table(rows).items():
        for _table, values in group:
            if not allowed(values["partition"]):
                raise out_of_partition(f"数据表 {table_name} 的记录属于「{values['partition']}」")
        table = group[0][0]
        stored = _existing(session, table, [v["id"] for _t, v in group], (table.c.id, table.c.partition))
        for _table, values in group:
            here = stored.get(values["id"])
            if here is not None and here["partition"] != values["partition"]:
                raise out_of_partition(f"数据表 {table_name} 的记录 {values['id']} 在本地属于「{here['partition']}」")
    return rows


def _decide(current: Any, incoming: dict[str, Any], retired: frozenset[str],
            key: Callable[[Any], tuple[Any, ...]] = _key) -> str:
    """insert | same | win | lose | win_conflict | lose_conflict (see the module docstring)."""
    if current is None:
        return "insert"
    if (current["version"], current["version_replica"]) == (incoming["version"], incoming["version_replica"]):
        if current["hlc"] == incoming["hlc"]:
            return "same"
        if incoming["version_replica"] not in retired:
            raise SyncError("fork", f"记录 {incoming['id']} 的版本号重复")
        return "win_conflict" if key(incoming) > key(current) else "lose_conflict"
    newer = key(incoming) > key(current)
    if current["version_replica"] == incoming["version_replica"]:
        return "win" if newer else "same"
    if newer:
        return "win_conflict" if incoming["base_version"] < current["version"] else "win"
    return "lose_conflict" if current["base_version"] < incoming["version"] else "same"


def _conflict_row(table: Table, loser: Any, winner: Any, reason: str) -> dict[str, Any]:
    return {
        "table_name": table.name, "row_id": loser["id"], "partition": loser["partition"], "reason": reason,
        "loser_version": loser["version"], "loser_replica": loser["version_replica"], "loser_hlc": loser["hlc"],
        "loser": to_record(table, loser), "winner_version": winner["version"],
        "winner_replica": winner["version_replica"], "winner_hlc": winner["hlc"],
    }


def _store_conflicts(session: Session, conflicts: list[dict[str, Any]]) -> int:
    """Insert losing versions not stored yet (a replayed part finds them already there)."""
    stored = 0
    for item in conflicts:
        exists = session.scalar(select(SyncConflict.id).where(
            SyncConflict.table_name == item["table_name"], SyncConflict.row_id == item["row_id"],
            SyncConflict.loser_version == item["loser_version"], SyncConflict.loser_replica == item["loser_replica"],
            SyncConflict.loser_hlc == item["loser_hlc"]))
        if exists is None:
            session.execute(insert(SyncConflict).values(**item))
            stored += 1
    return stored


@dataclass
class _Plan:
    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    unchanged: int = 0
    skipped: set[str] = field(default_factory=set)


def _plan(table: Table, group: list[Row], current: dict[str, Any], retired: frozenset[str],
          adopt_base: bool) -> _Plan:
    plan = _Plan()
    key = _precedence(table)
    seen: dict[str, dict[str, Any]] = {}
    for _table, values in group:
        row_id = values["id"]
        here = seen.get(row_id, current.get(row_id))
        if here is not None and here["partition"] != values["partition"]:
            raise out_of_partition(f"数据表 {table.name} 的记录 {row_id} 在本地属于「{here['partition']}」")
        decision = _decide(here, values, retired, key)
        if decision in ("same", "lose"):
            plan.unchanged += 1
            continue
        if decision == "lose_conflict":
            plan.conflicts.append(_conflict_row(table, values, here, "concurrent"))
            continue
        if decision == "win_conflict":
            plan.conflicts.append(_conflict_row(table, here, values, "concurrent"))
        if here is not None and append_only(table.name):
            plan.unchanged += 1  # an event trail row never changes once written
            continue
        if adopt_base:
            values = {**values, "base_version": values["version"]}
        (plan.updates if row_id in current else plan.inserts).append(values)
        seen[row_id] = values
    # a row inserted and then updated within one part: insert its final state only
    final = {v["id"]: v for v in plan.inserts}
    for values in plan.updates:
        if values["id"] in final:
            final[values["id"]] = values
    plan.inserts = list(final.values())
    plan.updates = [v for v in plan.updates if v["id"] not in final]
    return plan


def _write(session: Session, table: Table, plan: _Plan) -> None:
    if plan.inserts:
        session.execute(insert(table), plan.inserts)
    if plan.updates:
        columns = [c.name for c in table.columns if c.name != "id"]
        statement = update(table).where(table.c.id == bindparam("_id")).values(
            {name: bindparam(name) for name in columns})
        session.execute(statement, [{"_id": v["id"], **{c: v[c] for c in columns}} for v in plan.updates])


def _write_one_by_one(session: Session, table: Table, plan: _Plan) -> None:
    """A row that breaks a uniqueness rule here (two PCs registered the same village) is kept as a
    conflict instead of failing the whole part; a row whose parent row is missing here (the county lost
    data it had acknowledged) is skipped, and the caller asks for everything to be sent again."""
    inserts = {id(v) for v in plan.inserts}
    for values in [*plan.inserts, *plan.updates]:
        single = _Plan(inserts=[values]) if id(values) in inserts else _Plan(updates=[values])
        try:
            with session.begin_nested():
                _write(session, table, single)
        except IntegrityError as exc:
            if "FOREIGN KEY" in str(exc.orig).upper():
                plan.skipped.add(values["id"])
            else:
                plan.conflicts.append(_conflict_row(table, values, {"version": 0, "version_replica": "", "hlc": ""},
                                                    "duplicate"))


def apply_rows(session: Session, rows: list[Row], *, retired: frozenset[str] = frozenset(),
               adopt_base: bool = False, log_changes: bool = False) -> ApplyStats:
    """Write the winning versions of ``rows`` (already checked) in the caller's transaction."""
    stats = ApplyStats()
    changes: list[dict[str, Any]] = []
    for table_name, group in _by_table(rows).items():
        table = group[0][0]
        current = _existing(session, table, list({v["id"] for _t, v in group}))
        plan = _plan(table, group, current, retired, adopt_base)
        try:
            with session.begin_nested():
                _write(session, table, plan)
        except IntegrityError:
            _write_one_by_one(session, table, plan)
        failed = {c["row_id"] for c in plan.conflicts if c["reason"] == "duplicate"} | plan.skipped
        written = [v for v in [*plan.inserts, *plan.updates] if v["id"] not in failed]
        stats.applied += len(written)
        stats.skipped += len(plan.skipped)
        stats.unchanged += plan.unchanged
        stats.conflicts += _store_conflicts(session, plan.conflicts)
        if written:
            stats.by_table[table_name] = stats.by_table.get(table_name, 0) + len(written)
        if log_changes:
            changes.extend({"table_name": table_name, "row_id": v["id"], "partition": v["partition"]} for v in written)
    if changes:
        lock_change_log(session)
        session.execute(insert(SyncChange), changes)
    return stats
