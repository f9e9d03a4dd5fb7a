"""Start-up order for the database: folder usable → integrity → backup → migrate → engine.

Every failure becomes a StorageError whose text tells the user what is wrong and what to do.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sqlite3
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from app.errors import StorageError
from app.models.base import CLOCK, Base, SyncedMixin, new_id
from app.models.settings import get_setting, set_setting
from app.paths import backups_dir, database_path
from app.storage import migrate
from app.storage.backup import backup_to, daily_backup, list_backups, restore_from
from app.storage.database import Database, storage_message
from app.storage.integrity import quick_check

REPLICA_KEY = "replica_id"
RESTORE_REQUEST = "restore-request.json"


class DatabaseDamaged(StorageError):
    """The database file failed its integrity check; ``newest_backup`` is what can be restored."""

    def __init__(self, problem: str, newest_backup: Path | None) -> None:
        self.problem = problem
        self.newest_backup = newest_backup
        hint = (
            f"可以恢复最近的备份：{newest_backup.name}。" if newest_backup else "没有找到可用的备份。"
        )
        super().__init__(f"数据库文件已损坏（{problem}）。{hint}")


def ensure_writable(folder: Path) -> None:
    """Fail early, with a clear reason, when the data folder cannot take writes."""
    if folder.exists() and not folder.is_dir():
        raise StorageError(f"数据文件夹 {folder} 是一个文件，不是文件夹。请用 --data-dir 指定一个文件夹。")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".write-test"
        with open(probe, "wb") as fh:
            fh.write(b"\0" * 65536)
            fh.flush()
            os.fsync(fh.fileno())
        probe.unlink()
    except OSError as exc:
        _remove_probe(folder)
        if exc.errno == errno.ENOSPC:
            raise StorageError(f"数据文件夹 {folder} 所在磁盘已满，请清理磁盘空间后再启动。") from exc
        raise StorageError(
            f"数据文件夹 {folder} 无法写入（{exc.strerror or exc}）。请检查权限，或用 --data-dir 指定其他文件夹。"
        ) from exc
    db = database_path(folder)
    if db.exists() and not os.access(db, os.W_OK):
        raise StorageError(f"数据库文件 {db} 是只读的。请取消只读属性，或复制到可写的文件夹。")


def _remove_probe(folder: Path) -> None:
    with contextlib.suppress(OSError):  # the folder itself is unusable; the caller reports that
        (folder / ".write-test").unlink(missing_ok=True)


def _check_known_revision(current: str | None) -> None:
    if current is None:
        return
    if current not in migrate.known_revisions():
        raise StorageError("数据库由更新版本的乡安创建，请安装最新版本后再打开（数据未做任何改动）。")


def _ensure_replica_id(db: Database) -> str:
    with db.session(audit=False) as session:
        replica = get_setting(session, REPLICA_KEY)
        if not replica:
            replica = new_id()
            set_setting(session, REPLICA_KEY, replica)
    return str(replica)


def _seed_clock(db: Database) -> None:
    """Start the hybrid clock at the newest stored stamp, so a clock set back cannot reorder edits."""
    with db.session(audit=False) as session:
        for mapper in Base.registry.mappers:
            if issubclass(mapper.class_, SyncedMixin):
                newest = session.scalar(select(func.max(mapper.class_.hlc)))
                if newest:
                    CLOCK.observe(newest)


def _refresh_capture(db: Database) -> None:
    """An enrolled township PC captures every synced table, including any this version added."""
    from app.sync.capture import refresh_capture

    with db.session(audit=False) as session:
        refresh_capture(session.connection())


def apply_pending_restore(folder: Path) -> Path | None:
    """Carry out a restore the user asked for in 设置 (the current file is backed up first)."""
    request = folder / RESTORE_REQUEST
    if not request.exists():
        return None
    try:
        name = json.loads(request.read_text(encoding="utf-8"))["backup"]
    except (ValueError, KeyError, OSError):
        request.unlink(missing_ok=True)
        return None
    backup = backups_dir(folder) / name
    request.unlink()
    if backup not in list_backups(backups_dir(folder)):
        raise StorageError(f"要恢复的备份「{name}」已不存在，数据库未做改动。")
    db_path = database_path(folder)
    if db_path.exists() and not quick_check(db_path):
        backup_to(db_path, backups_dir(folder), "prerestore")
    restore_from(backup, db_path, keep_suffix=".replaced")
    return backup


def open_database(folder: Path) -> Database:
    """Prepare the data folder and return the app's Database, migrated to the current schema."""
    ensure_writable(folder)
    apply_pending_restore(folder)
    db_path = database_path(folder)
    problem = quick_check(db_path)
    if problem:
        backups = list_backups(backups_dir(folder))
        raise DatabaseDamaged(problem, backups[0] if backups else None)
    try:
        current = migrate.current_revision(db_path)
        _check_known_revision(current)
        if current != migrate.head_revision():
            if current is not None:
                backup_to(db_path, backups_dir(folder), "premigrate")
            migrate.upgrade(db_path)
        if current is not None:
            daily_backup(db_path, backups_dir(folder))
        db = Database(db_path)
        db.replica_id = _ensure_replica_id(db)
        _seed_clock(db)
        _refresh_capture(db)
        return db
    except (OperationalError, sqlite3.Error) as exc:
        raise StorageError(storage_message(exc)) from exc
