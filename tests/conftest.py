"""Shared fixtures: a fresh, migrated database per test and services bound to an administrator."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt

from pathlib import Path

import pytest

from app.models import Role
from app.services import Services
from app.services.context import Actor
from app.storage import Database, open_database

ADMIN = Actor(username="admin", display_name="管理员", role=Role.ADMIN, user_id="")
CLERK = Actor(username="clerk", display_name="录入员", role=Role.CLERK, user_id="")
READER = Actor(username="reader", display_name="只读", role=Role.READONLY, user_id="")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    return folder


@pytest.fixture
def db(data_dir: Path) -> Database:
    database = open_database(data_dir)
    yield database
    database.dispose()


@pytest.fixture
def services(db: Database) -> Services:
    """Services for an administrator of a township that has its profile filled in."""
    sv = Services(db, ADMIN)
    sv.township.save_profile({"name": "青山镇", "county_name": "安远县", "code": "360726100"})
    return sv
