"""Append-only audit log: who changed what, when. Rows are never updated or deleted.

The database enforces it with triggers created by the initial migration.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Integer, String, Text, inspect
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.models.base import SYNC_COLUMNS, Base, UTCDateTime, utcnow

ACTION_LABELS = {"create": "新增", "update": "修改", "delete": "删除", "login": "登录", "system": "系统"}


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    username: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(16))
    entity: Mapped[str] = mapped_column(String(64), default="")
    entity_id: Mapped[str] = mapped_column(String(36), default="", index=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _changed_columns(obj: object, action: str) -> dict[str, Any]:
    state = inspect(obj)
    changes: dict[str, Any] = {}
    for attr in state.mapper.column_attrs:
        if attr.key in SYNC_COLUMNS:
            continue
        hist = state.attrs[attr.key].history
        if action == "create":
            value = getattr(obj, attr.key)
            if value not in (None, "", [], {}):
                changes[attr.key] = _plain(value)
        elif hist.has_changes():
            old = hist.deleted[0] if hist.deleted else None
            new = hist.added[0] if hist.added else None
            changes[attr.key] = [_plain(old), _plain(new)]
    return changes


def describe(obj: object) -> str:
    label = getattr(obj, "__audit_label__", "") or type(obj).__name__
    name = getattr(obj, "name", None) or getattr(obj, "title", None) or ""
    return f"{label}「{name}」" if name else label


def record_changes(session: Session, obj: object, action: str) -> None:
    """Add an audit row for ``obj`` unless the session was opened with auditing off (bulk demo data)."""
    if not session.info.get("audit", True):
        return
    session.add(
        AuditEntry(
            username=str(session.info.get("username", "")),
            action=action,
            entity=type(obj).__tablename__,
            entity_id=str(getattr(obj, "id", "")),
            summary=f"{ACTION_LABELS.get(action, action)}{describe(obj)}",
            changes=_changed_columns(obj, action),
        )
    )


def record_event(session: Session, action: str, summary: str, entity: str = "", entity_id: str = "") -> None:
    """Audit something that is not a row change (log-in, backup, import, demo generation)."""
    session.add(
        AuditEntry(
            username=str(session.info.get("username", "")),
            action=action,
            entity=entity,
            entity_id=entity_id,
            summary=summary,
            changes={},
        )
    )
