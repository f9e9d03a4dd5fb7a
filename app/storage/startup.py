"""Start-up order for the database: folder usable → integrity → backup → migrate → engine.

Every failure becomes a StorageError whose text tells the user what is wrong and what to do.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy.exc import OperationalError

from app.errors import StorageError
from app.models.base import new_id
from app.models.settings import get_setting, set_setting
from app.paths import backups_dir, database_path
from app.storage import migrate
from app.storage.backup import backup_to, daily_backup, list_backups
from app.storage.database import Database, storage_message
from app.storage.integrity import quick_check

REPLICA_KEY = "replica_id"


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
    try:
        (folder / ".write-test").unlink(missing_ok=True)
    except OSError:
        pass  # the folder itself is unusable; the caller reports that


def _check_known_revision(current: str | None) -> None:
    if current is None:
        return
    script = ScriptDirectory.from_config(migrate._config())
    if script.get_revision(current) is None:
        raise StorageError("数据库由更新版本的乡安创建，请安装最新版本后再打开（数据未做任何改动）。")


def _ensure_replica_id(db: Database) -> str:
    with db.session(audit=False) as session:
        replica = get_setting(session, REPLICA_KEY)
        if not replica:
            replica = new_id()
            set_setting(session, REPLICA_KEY, replica)
    return str(replica)


def open_database(folder: Path) -> Database:
    """Prepare the data folder and return the app's Database, migrated to the current schema."""
    ensure_writable(folder)
    db_path = database_path(folder)
    problem = quick_check(db_path)
    if problem:
        backups = list_backups(backups_dir(folder))
        raise DatabaseDamaged(problem, backups[0] if backups else None)
    try:
        current = migrate.current_revision(db_path)
        _check_known_revision(current)
        if current is not None and current != migrate.head_revision():
            backup_to(db_path, backups_dir(folder), "premigrate")
        migrate.upgrade(db_path)
        if current is not None:
            daily_backup(db_path, backups_dir(folder))
        db = Database(db_path)
        db.replica_id = _ensure_replica_id(db)
        return db
    except (OperationalError, sqlite3.Error) as exc:
        raise StorageError(storage_message(exc)) from exc
