"""Alembic migrations, configured in code and run on a throwaway (NullPool) engine.

A throwaway engine matters: on a pooled connection the PRAGMA foreign_keys=ON that batch migrations
restore would land inside the open transaction and be ignored, leaving a pooled connection without
foreign keys (CONVENTIONS.md).

Revision ids equal their file's numeric prefix (``0002_add_hazards.py`` has ``revision = "0002"``;
a test enforces it). So the everyday start-up question "is this file at the head?" is answered from
file names and one SQL read, and Alembic (a tenth of the start-up time) is imported only to migrate.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.pool import NullPool

from app.storage.database import connect_read_only, make_engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSIONS = MIGRATIONS / "versions"


def _config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def known_revisions() -> list[str]:
    """Revision ids shipped with this build, oldest first."""
    return sorted(p.name.split("_", 1)[0] for p in VERSIONS.glob("[0-9][0-9][0-9][0-9]_*.py"))


def head_revision() -> str:
    revisions = known_revisions()
    return revisions[-1] if revisions else ""


def current_revision(db_path: Path) -> str | None:
    """The schema revision of the file, or None for a new/empty database."""
    if not db_path.exists():
        return None
    # Read-only and without the app's PRAGMAs: a file made by a newer version must be left untouched
    # (the app's engine would switch it to WAL, rewriting its header, before we know we may open it).
    conn = connect_read_only(db_path)
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return None
        raise
    finally:
        conn.close()
    return row[0] if row else None


def upgrade(db_path: Path, revision: str = "head") -> None:
    from alembic import command

    engine = make_engine(db_path, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            cfg = _config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    finally:
        engine.dispose()


def autogenerate(db_path: Path, message: str) -> None:
    """Developer helper: write a new revision from the model changes (``python -m app.storage.migrate``).

    Rename the generated file to the next ``NNNN_`` prefix and set ``revision`` to that number."""
    from alembic import command

    engine = make_engine(db_path, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            cfg = _config()
            cfg.attributes["connection"] = conn
            command.revision(cfg, message=message, autogenerate=True)
    finally:
        engine.dispose()


if __name__ == "__main__":
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp) / "scratch.sqlite3"
        upgrade(scratch)
        autogenerate(scratch, sys.argv[1] if len(sys.argv) > 1 else "schema change")
