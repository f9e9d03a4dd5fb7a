"""Local user accounts of this PC. They are not synced: each office PC keeps its own."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime, new_id, utcnow


class Role(str, enum.Enum):
    ADMIN = "admin"
    CLERK = "clerk"
    READONLY = "readonly"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]

    @property
    def can_write(self) -> bool:
        return self in (Role.ADMIN, Role.CLERK)


ROLE_LABELS = {Role.ADMIN: "管理员", Role.CLERK: "录入员", Role.READONLY: "只读"}


class User(Base):
    __tablename__ = "user_account"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(32), unique=True)
    display_name: Mapped[str] = mapped_column(String(32), default="")
    role: Mapped[str] = mapped_column(String(16), default=Role.CLERK.value)
    password_hash: Mapped[str] = mapped_column(String(256))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
