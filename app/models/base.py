"""Declarative base, the sync columns every replicated table carries, and their bookkeeping.

Every synced row gets, from day one, the columns SYNC.md needs: a UUID minted on this device, the
owner partition, a version (this replica's counter) with the replica that wrote it, the base version
last agreed with the county, a hybrid-logical-clock stamp for tie-breaks and a ``deleted`` tombstone.
The bookkeeping happens in ``app.models.tracking`` (a flush hook) so that no service can forget it.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any, ClassVar

from sqlalchemy import JSON, Boolean, DateTime, Integer, MetaData, String, Text, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC (SQLite has no time zones) and always hands back aware UTC datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[str]: JSON(),
    }


class HybridClock:
    """Hybrid logical clock: wall-clock milliseconds plus a counter, never going backwards.

    Stamps sort as strings, so a deterministic last-writer-wins tie-break needs no parsing.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = 0
        self._counter = 0

    def stamp(self, replica_id: str) -> str:
        with self._lock:
            now_ms = int(time.time() * 1000)
            if now_ms > self._last_ms:
                self._last_ms, self._counter = now_ms, 0
            else:
                self._counter += 1
            return f"{self._last_ms:013d}-{self._counter:09d}-{replica_id}"

    def observe(self, stamp: str) -> None:
        """Never issue a stamp below one already stored (e.g. the PC clock was set back)."""
        try:
            ms, counter = (int(part) for part in stamp.split("-")[:2])
        except ValueError:
            return
        with self._lock:
            if (ms, counter) > (self._last_ms, self._counter):
                self._last_ms, self._counter = ms, counter


CLOCK = HybridClock()

# Columns that are sync/technical bookkeeping: changing only these is not an edit.
SYNC_COLUMNS = frozenset(
    {"id", "partition", "created_at", "updated_at", "version", "version_replica", "base_version", "hlc"}
)


class SyncedMixin:
    """Columns of every row that travels to the county (see SYNC.md, "Change capture")."""

    __audit_label__: ClassVar[str] = ""

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    partition: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=0)
    version_replica: Mapped[str] = mapped_column(String(36), default="")
    base_version: Mapped[int] = mapped_column(Integer, default=0)
    hlc: Mapped[str] = mapped_column(String(64), default="")
    deleted: Mapped[bool] = mapped_column(Boolean, default=False, index=True)


class EventTrailMixin:
    """One step in a record's history (who, when, what moved from which status to which).

    Written once and never changed: the trail is evidence for inspections. ``app.models.tracking``
    refuses edits through the ORM; migrations add triggers that refuse them in SQL.
    """

    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    username: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(8))
    from_status: Mapped[str] = mapped_column(String(8), default="")
    to_status: Mapped[str] = mapped_column(String(8), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
