"""Start-up health check of the database file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from app.errors import StorageError
from app.storage.database import connect_read_only, storage_message


def quick_check(db_path: Path) -> str | None:
    """None when the file is healthy (or absent); else the problem as SQLite reports it.

    A file another program holds locked is not damaged: that raises StorageError, so nobody is
    offered to "restore" an older backup over a healthy database."""
    if not db_path.exists():
        return None
    try:
        conn = connect_read_only(db_path, timeout=5)
        try:
            rows = conn.execute("PRAGMA quick_check").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        if isinstance(exc, sqlite3.OperationalError) and any(w in str(exc).lower() for w in ("locked", "busy")):
            raise StorageError(storage_message(exc)) from exc
        return str(exc)
    # One result row can hold many newline-separated findings (hundreds on a badly damaged file).
    problems = [line.strip() for r in rows if r[0] != "ok" for line in str(r[0]).splitlines() if line.strip()]
    return "; ".join(problems[:5]) or None
