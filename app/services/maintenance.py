"""Data folder upkeep the settings screen offers: status, backups, integrity check, restore on restart."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from app.errors import NotFound
from app.models.audit import record_event
from app.paths import backups_dir, database_path
from app.services.context import Actor
from app.storage import Database, migrate
from app.storage.backup import backup_to, list_backups
from app.storage.integrity import quick_check
from app.storage.startup import RESTORE_REQUEST


@dataclass(frozen=True)
class DataStatus:
    data_dir: Path
    size_mb: float
    schema: str
    backups: list[Path]


class MaintenanceService:
    def __init__(self, db: Database, actor: Actor, data_dir: Path) -> None:
        self.db = db
        self.actor = actor
        self.data_dir = data_dir

    def status(self) -> DataStatus:
        path = database_path(self.data_dir)
        size = sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
        return DataStatus(self.data_dir, size / 1_048_576, migrate.current_revision(path) or "",
                          list_backups(backups_dir(self.data_dir)))

    def backup(self, folder: Path) -> Path:
        target = backup_to(self.db.path, folder, "manual")
        with self.db.session(self.actor.username) as session:
            record_event(session, "system", f"备份数据库到 {target}")
        return target

    def check(self) -> str | None:
        return quick_check(self.db.path)

    def request_restore(self, backup_name: str) -> None:
        """Restoring replaces the open database, so it happens at the next start, before it is opened."""
        self.actor.require_admin()
        backup = backups_dir(self.data_dir) / backup_name
        if backup not in list_backups(backups_dir(self.data_dir)):
            raise NotFound(f"备份「{backup_name}」不存在。")
        (self.data_dir / RESTORE_REQUEST).write_text(json.dumps({"backup": backup_name}), encoding="utf-8")
        with self.db.session(self.actor.username) as session:
            record_event(session, "system", f"安排在下次启动时恢复备份 {backup_name}")
