"""Consistent copies of the live database with SQLite's online backup API, plus rotation."""

from __future__ import annotations

import re
import shutil
import sqlite3
from datetime import datetime
from pathlib import Path

from app.errors import StorageError
from app.storage.database import connect_read_only

KEEP_DAILY = 14
_NAME = re.compile(r"^xiangan-(\d{8}-\d{6})-(\w+)\.sqlite3$")


def backup_to(db_path: Path, dest_dir: Path, reason: str = "manual") -> Path:
    """Copy the database (consistent even while it is in use) into ``dest_dir``; return the file.

    Written under a temporary name and renamed, so an interrupted copy never looks like a backup.
    """
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        target = dest_dir / f"xiangan-{stamp}-{reason}.sqlite3"
        partial = target.with_suffix(".partial")
        src = connect_read_only(db_path)
        try:
            dst = sqlite3.connect(partial)
            try:
                src.backup(dst)
            finally:
                dst.close()
        finally:
            src.close()
        partial.replace(target)
        return target
    except sqlite3.Error as exc:
        raise StorageError(f"备份失败：无法读取数据库（{exc}）") from exc
    except OSError as exc:
        _cleanup(dest_dir)
        if getattr(exc, "errno", None) == 28:
            raise StorageError(f"备份失败：{dest_dir} 所在磁盘空间不足") from exc
        raise StorageError(f"备份失败：无法写入 {dest_dir}（{exc.strerror or exc}）") from exc


def _cleanup(dest_dir: Path) -> None:
    for partial in dest_dir.glob("*.partial"):
        partial.unlink(missing_ok=True)


def list_backups(dest_dir: Path) -> list[Path]:
    """Backups in ``dest_dir``, newest first."""
    if not dest_dir.is_dir():
        return []
    found = [p for p in dest_dir.iterdir() if _NAME.match(p.name)]
    return sorted(found, key=lambda p: _NAME.match(p.name).group(1), reverse=True)  # type: ignore[union-attr]


def daily_backup(db_path: Path, dest_dir: Path) -> Path | None:
    """At most one automatic backup a day; keep the newest ``KEEP_DAILY`` of them."""
    today = datetime.now().strftime("%Y%m%d")
    daily = [p for p in list_backups(dest_dir) if p.name.endswith("-daily.sqlite3")]
    if daily and daily[0].name.startswith(f"xiangan-{today}"):
        return None
    made = backup_to(db_path, dest_dir, "daily")
    for old in daily[KEEP_DAILY - 1 :]:
        old.unlink(missing_ok=True)
    return made


def restore_from(backup: Path, db_path: Path, keep_suffix: str = ".damaged") -> None:
    """Replace the database with a backup. The current file is kept beside it (``keep_suffix``)
    together with its write-ahead log, so the kept copy still holds its latest changes.

    The backup is copied in full under a temporary name first: an interrupted restore (full disk,
    pulled USB stick) leaves the old database where it was, never half of the backup."""
    staged = db_path.with_suffix(".restoring")
    try:
        shutil.copy2(backup, staged)
    except OSError as exc:
        staged.unlink(missing_ok=True)
        if exc.errno == 28:
            raise StorageError(f"恢复失败：{db_path.parent} 所在磁盘空间不足，原数据库未改动") from exc
        raise StorageError(f"恢复失败：无法读取备份「{backup.name}」（{exc.strerror or exc}），原数据库未改动") from exc
    kept = db_path.with_suffix(keep_suffix)
    if db_path.exists():
        shutil.move(str(db_path), str(kept))
    for suffix in ("-wal", "-shm"):
        journal = Path(f"{db_path}{suffix}")
        if journal.exists():
            shutil.move(str(journal), f"{kept}{suffix}")
    staged.replace(db_path)
