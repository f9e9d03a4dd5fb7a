"""Files attached to any register row (scanned 制度文件, plan texts, drill photos), kept in the shared
content store and listed, added and removed through one small service per register."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import NotFound, ValidationError
from app.models import Attachment
from app.services.context import Actor, Scope
from app.services.fields import RegisterSpec
from app.storage import Database
from app.storage.attachments import AttachmentStore

MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024  # a scanned plan of 100 pages at office-scanner settings fits
# role → how the file is called in messages; a "photo" must really be an image.
ROLES = {"": "附件", "scan": "扫描件", "photo": "照片"}


@dataclass(frozen=True)
class AttachmentRow:
    id: str
    file_name: str
    media_type: str
    size: int
    role: str
    caption: str
    added_at: datetime
    path: Path
    sha256: str = ""


class RecordAttachmentService:
    """Attachments of the rows of one register (``spec``), within the township's partition."""

    def __init__(self, db: Database, actor: Actor, scope: Scope, spec: RegisterSpec,
                 max_bytes: int = MAX_ATTACHMENT_BYTES) -> None:
        self.db = db
        self.actor = actor
        self.scope = scope
        self.spec = spec
        self.table = spec.model.__tablename__
        self.max_bytes = max_bytes
        self.store = AttachmentStore(db.attachments_dir)

    def _record(self, session: Session, record_id: str) -> object:
        model = self.spec.model
        row = session.get(model, record_id)
        if row is None or row.deleted or row.township_id != self.scope.township_id:
            raise NotFound(f"{self.spec.title}记录不存在或已被删除。")
        return row

    def _row(self, a: Attachment) -> AttachmentRow:
        return AttachmentRow(a.id, a.file_name, a.media_type, a.size, a.role, a.caption, a.created_at,
                             self.store.path_of(a.sha256), a.sha256)

    def list(self, record_id: str) -> list[AttachmentRow]:
        """The record's live attachments, oldest first (the order they were added)."""
        with self.db.session() as session:
            rows = session.scalars(select(Attachment).where(
                Attachment.owner_table == self.table, Attachment.owner_id == record_id,
                Attachment.township_id == self.scope.township_id, Attachment.deleted.is_(False),
            ).order_by(Attachment.created_at, Attachment.id))
            return [self._row(a) for a in rows]

    def add(self, record_id: str, file: Path, role: str = "", caption: str = "") -> str:
        """Store ``file`` and attach it; a photo must be an image, nothing may exceed the size limit.

        The file is checked and copied before the row is written, so a refused file leaves nothing."""
        self.actor.require_write()
        if role not in ROLES:
            raise ValidationError.single("role", "附件类型", f"「{role}」不是可用的附件类型（可用：照片、扫描件）")
        label = ROLES[role]
        file = Path(file)
        try:
            size = file.stat().st_size
        except OSError:
            raise ValidationError.single("file", label, f"找不到文件「{file.name}」") from None
        if size > self.max_bytes:
            raise ValidationError.single("file", label, f"文件「{file.name}」有{size / 1048576:.1f}MB，"
                                                        f"超过{self.max_bytes // 1048576}MB的上限，请压缩后再添加")
        with self.db.session(self.actor.username) as session:
            self._record(session, record_id)
            stored = self.store.put(file, images_only=role == "photo", field="file", label=label)
            attachment = Attachment(
                township_id=self.scope.township_id, partition=self.scope.partition, owner_table=self.table,
                owner_id=record_id, role=role, sha256=stored.sha256, file_name=stored.file_name[:200],
                media_type=stored.media_type, size=stored.size, caption=caption.strip()[:200],
            )
            session.add(attachment)
            session.flush()
            return attachment.id

    def remove(self, attachment_id: str) -> None:
        """Tombstone the link (the stored bytes stay: other rows may share them, and history keeps them)."""
        self.actor.require_write()
        with self.db.session(self.actor.username) as session:
            a = session.get(Attachment, attachment_id)
            if (a is None or a.deleted or a.owner_table != self.table
                    or a.township_id != self.scope.township_id):
                raise NotFound("附件不存在或已被删除。")
            a.deleted = True
