"""One engine per process with the PRAGMAs the app relies on, and short unit-of-work sessions."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from app.errors import StorageError

BUSY_TIMEOUT_MS = 5000


def _set_pragmas(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


def connect_read_only(path: Path, **kwargs: Any) -> sqlite3.Connection:
    """A plain read-only connection without the app's PRAGMAs (nothing is written, not even the header).

    Through a proper file URI: a bare path in ``file:…`` breaks on folder names with ``#``, ``?`` or
    ``%`` — SQLite then silently opens (and creates) another, empty file."""
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, **kwargs)


def make_engine(path: Path, **kwargs: Any) -> Engine:
    # URL.create, not an f-string: a "?" in a folder name would otherwise start the URL's query string.
    engine = create_engine(URL.create("sqlite", database=str(path)), **kwargs)
    event.listen(engine, "connect", _set_pragmas)
    return engine


def storage_message(exc: BaseException) -> str:
    """Turn a low-level SQLite failure into a sentence an office worker can act on."""
    text = str(getattr(exc, "orig", exc)).lower()
    if "locked" in text or "busy" in text:
        return "数据库正被其他程序占用（可能另一个乡安窗口正在保存），请稍后重试。"
    if "readonly" in text or "read-only" in text:
        return "数据库文件是只读的，无法保存。请检查数据文件夹的权限，或把数据文件夹设到可写的位置。"
    if ("disk" in text and "full" in text) or "no space" in text:
        return "磁盘空间已满，无法保存。请清理磁盘后重试，已保存的数据不受影响。"
    if "malformed" in text or "not a database" in text or "corrupt" in text:
        return "数据库文件已损坏。请从「设置 → 数据」恢复最近的备份。"
    return f"数据库操作失败：{getattr(exc, 'orig', exc)}"


class Database:
    """The app's database. ``session()`` is one short transaction: committed on success, rolled back
    on any error (so a failed save never leaves half a record), and SQLite errors become StorageError."""

    def __init__(self, path: Path, replica_id: str = "", engine: Engine | None = None) -> None:
        self.path = path
        self.engine = engine if engine is not None else make_engine(path)
        self.replica_id = replica_id
        self._factory = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def from_url(cls, url: str, replica_id: str = "") -> Database:
        """The database at any SQLAlchemy URL (the county server on PostgreSQL), with the same sessions.
        ``path`` is then only the URL's database name: there is no file (and no attachments folder)."""
        engine = create_engine(url, pool_pre_ping=True)
        return cls(Path(engine.url.database or ""), replica_id, engine)

    @contextmanager
    def session(self, username: str = "", audit: bool = True) -> Iterator[Session]:
        session = self._factory(info={"replica_id": self.replica_id, "username": username, "audit": audit})
        try:
            with session.begin():
                yield session
        except (OperationalError, DBAPIError, sqlite3.Error) as exc:
            raise StorageError(storage_message(exc)) from exc
        finally:
            session.close()

    @property
    def attachments_dir(self) -> Path:
        return self.path.parent / "attachments"

    def dispose(self) -> None:
        """Close, letting SQLite refresh its planner statistics first (cheap; keeps index choices
        good as registers grow — without statistics it can walk the wrong index on 100k rows)."""
        try:
            if self.engine.dialect.name == "sqlite":
                with self.engine.connect() as conn:
                    conn.exec_driver_sql("PRAGMA optimize")
        except (OperationalError, DBAPIError, sqlite3.Error):
            pass  # closing must never fail because the optimisation could not run
        self.engine.dispose()
