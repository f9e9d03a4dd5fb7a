"""The local SQLite database: engine, sessions, migrations, backups and integrity checks. No Qt."""

from app.storage.database import Database
from app.storage.startup import open_database

__all__ = ["Database", "open_database"]
