"""Shared fixtures: a fresh, migrated database per test and services bound to an administrator."""

from __future__ import annotations

import os
import shutil
import subprocess

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt

from pathlib import Path

import pytest

from app.models import Role
from app.services import Services
from app.services.context import Actor
from app.storage import Database, open_database
from tests.pg import pg_empty_url, pg_server, pg_template, pg_url  # noqa: F401  (PostgreSQL fixtures)

ADMIN = Actor(username="admin", display_name="管理员", role=Role.ADMIN, user_id="")
CLERK = Actor(username="clerk", display_name="录入员", role=Role.CLERK, user_id="")
READER = Actor(username="reader", display_name="只读", role=Role.READONLY, user_id="")


def poppler(tool: str, *args: str | Path) -> str:
    """Output of a poppler tool (pdffonts, pdftotext, pdfinfo): PDFs are checked as a reader sees them."""
    if shutil.which(tool) is None:
        pytest.fail(f"{tool} is missing: `make test` installs poppler-utils")
    done = subprocess.run([tool, *map(str, args)], capture_output=True, text=True, encoding="utf-8", check=True)
    return done.stdout


def pdf_fonts(pdf: Path) -> list[dict[str, str]]:
    """pdffonts rows: name, type and the emb column (type may contain spaces: "CID TrueType")."""
    rows = []
    for line in poppler("pdffonts", pdf).splitlines()[2:]:
        fields = line.split()
        # name type… encoding emb sub uni object-id gen
        rows.append({"name": fields[0], "type": " ".join(fields[1:-6]), "emb": fields[-5]})
    return rows


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
