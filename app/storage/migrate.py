"""Alembic migrations, configured in code and run on a throwaway (NullPool) engine.

A throwaway engine matters: on a pooled connection the PRAGMA foreign_keys=ON that batch migrations
restore would land inside the open transaction and be ignored, leaving a pooled connection without
foreign keys (CONVENTIONS.md).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from app.storage.database import make_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str:
    return ScriptDirectory.from_config(_config()).get_current_head() or ""


def current_revision(db_path: Path) -> str | None:
    """The schema revision of the file, or None for a new/empty database."""
    if not db_path.exists():
        return None
    # Read-only and without the app's PRAGMAs: a file made by a newer version must be left untouched
    # (make_engine would switch it to WAL, rewriting its header, before we know we may not open it).
    uri = f"{db_path.resolve().as_uri()}?mode=ro"
    engine = create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def upgrade(db_path: Path, revision: str = "head") -> None:
    engine = make_engine(db_path, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            cfg = _config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    finally:
        engine.dispose()


def autogenerate(db_path: Path, message: str) -> None:
    """Developer helper: write a new revision from the model changes (``python -m app.storage.migrate``)."""
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
