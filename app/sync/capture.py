"""Change capture: SQLite triggers, generated from the models, append every local write to the outbox.

Why triggers and not SQLAlchemy events: a trigger runs inside the writing statement, so it sees ORM
flushes, bulk ``update()``/``insert()`` statements, raw SQL and future code paths alike, always in the
same transaction as the write; session events miss Core statements run on a connection. Triggers are
generated from ``Base.metadata`` (every ``SyncedMixin`` table, only its non-technical columns) and
re-created whenever the generated SQL differs, so a new synced table joins by declaration.

A bulk statement does not pass the flush hook that stamps versions, so the trigger stamps them itself
when the statement left ``version`` unchanged. Rows applied from a bundle are written while a row in
``sync_capture_pause`` exists (inside the applying transaction only), which the triggers honour.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Table, delete, insert, text
from sqlalchemy.orm import Session

from app.models.base import SYNC_COLUMNS, Base, EventTrailMixin, SyncedMixin
from app.models.sync_state import SyncCapturePause

TRIGGER_PREFIX = "sync_capture_"
_REPLICA = "COALESCE((SELECT json_extract(value, '$') FROM local_setting WHERE key = 'replica_id'), '')"
# Same shape as HybridClock.stamp: 13-digit Unix milliseconds, counter, replica.
_HLC = f"printf('%013d-%09d-%s', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), 0, {_REPLICA})"
_NOT_PAUSED = "NOT EXISTS (SELECT 1 FROM sync_capture_pause)"


def synced_classes() -> list[type[SyncedMixin]]:
    """Every mapped SyncedMixin class, parents before children (foreign keys), for stable export order."""
    by_table = {m.class_.__tablename__: m.class_ for m in Base.registry.mappers if issubclass(m.class_, SyncedMixin)}
    return [by_table[t.name] for t in Base.metadata.sorted_tables if t.name in by_table]


def synced_tables() -> list[Table]:
    return [cls.__table__ for cls in synced_classes()]  # type: ignore[attr-defined]


def table_order() -> dict[str, int]:
    """Position of each synced table in foreign-key order (parents first)."""
    return {table.name: index for index, table in enumerate(synced_tables())}


def append_only(table_name: str) -> bool:
    return any(issubclass(cls, EventTrailMixin) and cls.__tablename__ == table_name for cls in synced_classes())


def data_columns(table: Table) -> list[str]:
    """Columns whose change is an edit (the technical sync columns are not)."""
    return [c.name for c in table.columns if c.name not in SYNC_COLUMNS]


def _outbox_insert(table: str, op: str) -> str:
    return (f"INSERT INTO sync_outbox (table_name, row_id, version, hlc, op) "
            f"SELECT '{table}', id, version, hlc, '{op}' FROM \"{table}\" WHERE id = NEW.id;")


def trigger_sql(table: Table) -> dict[str, str]:
    """The capture triggers of one table, by name."""
    name = table.name
    stamp_new = (
        "" if append_only(name)  # event trails refuse every UPDATE; their rows are written once as they are
        else f"UPDATE \"{name}\" SET version = 1, version_replica = {_REPLICA}, hlc = {_HLC} "
             "WHERE id = NEW.id AND NEW.version = 0;"
    )
    columns = ", ".join(f'"{c}"' for c in data_columns(table))
    return {
        f"{TRIGGER_PREFIX}{name}_insert": (
            f"CREATE TRIGGER {TRIGGER_PREFIX}{name}_insert AFTER INSERT ON \"{name}\" WHEN {_NOT_PAUSED} "
            f"BEGIN {stamp_new} {_outbox_insert(name, 'insert')} END"
        ),
        f"{TRIGGER_PREFIX}{name}_update": (
            f"CREATE TRIGGER {TRIGGER_PREFIX}{name}_update AFTER UPDATE OF {columns} ON \"{name}\" "
            f"WHEN {_NOT_PAUSED} BEGIN "
            f"UPDATE \"{name}\" SET version = OLD.version + 1, version_replica = {_REPLICA}, hlc = {_HLC} "
            "WHERE id = NEW.id AND NEW.version = OLD.version; "
            f"{_outbox_insert(name, 'update')} END"
        ),
    }


def expected_triggers() -> dict[str, str]:
    triggers: dict[str, str] = {}
    for table in synced_tables():
        triggers.update(trigger_sql(table))
    return triggers


def install_capture(conn: Connection) -> int:
    """Create (or re-create when the models changed) the capture triggers; returns how many were written."""
    if conn.dialect.name != "sqlite":
        return 0
    present = dict(conn.execute(text(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE :prefix"
    ), {"prefix": f"{TRIGGER_PREFIX}%"}).all())
    expected = expected_triggers()
    written = 0
    for name in present.keys() - expected.keys():
        conn.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
    for name, sql in expected.items():
        if present.get(name) != sql:
            conn.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
            conn.execute(text(sql))
            written += 1
    return written


def capture_installed(conn: Connection) -> bool:
    names = set(conn.execute(text(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE :prefix"
    ), {"prefix": f"{TRIGGER_PREFIX}%"}).scalars())
    return bool(names) and names >= expected_triggers().keys()


@contextmanager
def capture_paused(session: Session) -> Iterator[None]:
    """Inside the session's transaction: writes are applied bundle rows, not local edits."""
    token = str(uuid.uuid4())
    session.execute(insert(SyncCapturePause).values(token=token))
    session.info["applying_sync"] = True
    try:
        yield
    finally:
        session.info.pop("applying_sync", None)
        session.execute(delete(SyncCapturePause).where(SyncCapturePause.token == token))


def enqueue_partition(session: Session, partition: str) -> int:
    """Put every row of ``partition`` in the outbox again (first enrolment, re-enrolment, county resend)."""
    count = 0
    for table in synced_tables():
        result = session.execute(text(
            f"INSERT INTO sync_outbox (table_name, row_id, version, hlc, op) "
            f"SELECT '{table.name}', id, version, hlc, 'resend' FROM \"{table.name}\" WHERE partition = :p"
        ), {"p": partition})
        count += result.rowcount or 0
    return count


def refresh_capture(conn: Connection) -> int:
    """At start-up: an enrolled township PC gets triggers for every synced table (a new one included)."""
    if conn.dialect.name != "sqlite":
        return 0
    role = conn.execute(text("SELECT role FROM sync_identity WHERE id = 1")).scalar()
    return install_capture(conn) if role == "township" else 0
