"""Flush hook that keeps the sync columns and the audit log right for every ORM write.

Bulk ``update()``/``insert()`` statements bypass it by design: sync capture for them is added with
the outbox (SYNC.md, "Change capture"); services use ORM objects for user edits.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from app.models.audit import record_changes
from app.models.base import CLOCK, SYNC_COLUMNS, EventTrailMixin, SyncedMixin, new_id, utcnow


def _stamp(obj: SyncedMixin, replica_id: str, new: bool) -> None:
    now = utcnow()
    if new:
        obj.id = obj.id or new_id()
        obj.created_at = obj.created_at or now
        obj.version = 1
    else:
        obj.version = (obj.version or 0) + 1
    obj.updated_at = now
    obj.version_replica = replica_id
    obj.hlc = CLOCK.stamp(replica_id)


def _has_real_change(obj: object) -> bool:
    state = inspect(obj)
    return any(
        state.attrs[attr.key].history.has_changes()
        for attr in state.mapper.column_attrs
        if attr.key not in SYNC_COLUMNS
    )


def _became_deleted(obj: object) -> bool:
    hist = inspect(obj).attrs["deleted"].history
    return bool(hist.added and hist.added[0])


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, flush_context: Any, instances: Any) -> None:
    if session.info.get("applying_sync"):
        return  # rows applied from a bundle keep the sender's version and are not local edits
    replica_id = str(session.info.get("replica_id", ""))
    for obj in list(session.new):
        if isinstance(obj, SyncedMixin):
            _stamp(obj, replica_id, new=True)
            record_changes(session, obj, "create")
    for obj in list(session.dirty):
        if isinstance(obj, SyncedMixin) and _has_real_change(obj):
            record_changes(session, obj, "delete" if _became_deleted(obj) else "update")
            _stamp(obj, replica_id, new=False)
    for obj in list(session.deleted):
        if isinstance(obj, SyncedMixin):
            raise RuntimeError("synced rows are never hard-deleted; set deleted=True instead")
    for obj in session.dirty:
        if isinstance(obj, EventTrailMixin) and session.is_modified(obj):
            raise RuntimeError(f"{type(obj).__tablename__} rows are append-only")
