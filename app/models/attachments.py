"""Files attached to records (photos, scans, plan documents), stored once by content hash."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, SyncedMixin


class Attachment(SyncedMixin, Base):
    """A link from a record to a stored file. The bytes live in the content store (SHA-256 names),
    so the same photo attached twice is stored once and travels to the county once."""

    __tablename__ = "attachment"
    __audit_label__ = "附件"
    __table_args__ = (Index("ix_attachment_owner", "owner_table", "owner_id"),)

    township_id: Mapped[str] = mapped_column(ForeignKey("township.id"), index=True)
    owner_table: Mapped[str] = mapped_column(String(32))
    owner_id: Mapped[str] = mapped_column(String(36))
    role: Mapped[str] = mapped_column(String(16), default="")  # before | after | notice | review …
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    file_name: Mapped[str] = mapped_column(String(200), default="")
    media_type: Mapped[str] = mapped_column(String(64), default="")
    size: Mapped[int] = mapped_column(Integer, default=0)
    caption: Mapped[str] = mapped_column(String(200), default="")

    @property
    def name(self) -> str:  # used by audit summaries
        return self.file_name
