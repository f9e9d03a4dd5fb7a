"""Alembic environment, driven from code (no alembic.ini at run time): the caller passes a connection."""

from __future__ import annotations

from alembic import context

import app.models
from app.models import Base

_ = app.models  # every table registered
config = context.config
connection = config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
