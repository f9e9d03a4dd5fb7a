"""A small sync world for tests: one county and township PCs, each a real SQLite file in its own folder,
with helpers to edit data through the real services and to carry files over the "USB stick"."""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.pool import NullPool

from app.services import Services
from app.storage import Database, open_database
from app.sync.county import DB_FILE_NAME, CountyImportResult, CountyStore
from app.sync.township import ExportResult, ImportResult, TownshipSync
from tests.conftest import ADMIN


def read_only(db_path: Path) -> sqlite3.Connection:
    """A connection that cannot change the database: tests look without touching."""
    return sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True)


def rows(db_path: Path, sql: str, args: tuple = ()) -> list[tuple]:
    conn = read_only(db_path)
    try:
        return list(conn.execute(sql, args))
    finally:
        conn.close()


# When a PC last reached the county server: a contact time, not data a rejected request may not touch.
NOT_DATA = {"last_seen_at"}


def _columns(names: list[str]) -> str:
    return ", ".join(f'"{n}"' for n in names if n not in NOT_DATA)


def digest(db_path: Path) -> str:
    """SHA-256 over every row of every table (read-only): equal digests = the database did not change."""
    conn = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        h = hashlib.sha256()
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        for name in names:
            h.update(name.encode())
            columns = _columns([r[1] for r in conn.execute(f'PRAGMA table_info("{name}")')])
            for row in conn.execute(f'SELECT {columns} FROM "{name}" ORDER BY 1'):
                h.update(repr(row).encode())
        return h.hexdigest()
    finally:
        conn.close()


def url_digest(url: str) -> str:
    """``digest`` of a database at a SQLAlchemy URL (the county on PostgreSQL): rows sorted by their text,
    as a table's first column need not be unique and PostgreSQL cannot order JSON columns."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            h = hashlib.sha256()
            for name in sorted(inspect(conn).get_table_names()):
                h.update(name.encode())
                columns = _columns([c["name"] for c in inspect(conn).get_columns(name)])
                for row in sorted(repr(tuple(r)) for r in conn.execute(text(f'SELECT {columns} FROM "{name}"'))):
                    h.update(row.encode())
            return h.hexdigest()
    finally:
        engine.dispose()


@dataclass
class Pc:
    name: str
    folder: Path
    db: Database
    sync: TownshipSync
    services: Services | None = None

    @property
    def path(self) -> Path:
        return self.db.path

    def sv(self) -> Services:
        if self.services is None:
            self.services = Services(self.db, ADMIN)
        self.services.refresh_scope()
        return self.services

    def add_village(self, name: str, **values: Any) -> str:
        return self.sv().register("villages").save({"name": name, **values})

    def edit_village(self, village_id: str, **values: Any) -> None:
        register = self.sv().register("villages")
        register.save({**register.get(village_id), **values}, village_id)

    def village(self, village_id: str) -> dict[str, Any]:
        return self.sv().register("villages").get(village_id)

    def export(self, usb: Path) -> ExportResult:
        return self.sync.export_bundle(usb)

    def close(self) -> None:
        self.db.dispose()


@dataclass
class World:
    root: Path
    county: CountyStore = field(init=False)
    pcs: list[Pc] = field(default_factory=list)
    reopen: bool = False  # the files exist already (a copied world): open the county instead of creating it
    county_url: str | None = None  # the county database elsewhere (PostgreSQL); its files stay in root/county

    def __post_init__(self) -> None:
        if self.reopen:
            self.county = CountyStore.open(self.root / "county", self.county_url)
        else:
            self.county = CountyStore.init(self.root / "county", self.county_url, name="安远县应急管理局")
        self.usb.mkdir(parents=True, exist_ok=True)

    @property
    def usb(self) -> Path:
        return self.root / "usb"

    @property
    def county_path(self) -> Path:
        return self.root / "county" / DB_FILE_NAME

    def county_digest(self) -> str:
        """``digest`` of the county database, wherever it is."""
        return url_digest(self.county_url) if self.county_url else digest(self.county_path)

    def open_pc(self, name: str) -> Pc:
        folder = self.root / name
        db = open_database(folder)
        pc = Pc(name, folder, db, TownshipSync(db, folder))
        self.pcs.append(pc)
        return pc

    def township_pc(self, name: str = "pc1", township: str = "青山镇", code: str = "360726100",
                    villages: tuple[str, ...] = ("石桥村",)) -> Pc:
        """A PC that used the app before enrolling (profile and villages), then enrolled."""
        pc = self.open_pc(name)
        Services(pc.db, ADMIN).township.save_profile({"name": township, "county_name": "安远县", "code": code})
        for village in villages:
            pc.add_village(village)
        pc.sync.enrol(self.enrolment(code, township, name))
        return pc

    def second_pc(self, name: str = "pc2", township: str = "青山镇", code: str = "360726100") -> Pc:
        """Another, empty PC of an enrolled township."""
        pc = self.open_pc(name)
        pc.sync.enrol(self.enrolment(code, township, name))
        return pc

    def enrolment(self, code: str, township: str, tag: str) -> Path:
        return self.county.add_township(code, township, self.root / f"enrol-{tag}.xae")

    def concurrent_edit(self) -> tuple[Pc, Pc, str]:
        """Two synced PCs of one township, each changing the same village's head before either syncs
        again (张三 on the first, 李四 on the second): the two-PC conflict."""
        pc1 = self.township_pc()
        village = pc1.sv().register("villages").query_ids()[0]
        self.round_trip(pc1)
        pc2 = self.second_pc()
        self.round_trip(pc2)
        pc1.edit_village(village, head_name="张三")
        pc2.edit_village(village, head_name="李四")
        return pc1, pc2, village

    def upload(self, pc: Pc) -> tuple[ExportResult, CountyImportResult]:
        exported = pc.export(self.usb)
        return exported, self.county.import_bundle(exported.path, self.usb)

    def round_trip(self, pc: Pc) -> tuple[ExportResult, CountyImportResult, ImportResult]:
        exported, imported = self.upload(pc)
        return exported, imported, pc.sync.import_return(imported.return_path)

    def restart(self) -> None:
        """Close every store and open it again from its files, as a new process would after a crash."""
        self.county.close()
        self.county = CountyStore.open(self.root / "county", self.county_url)
        for pc in self.pcs:
            pc.close()
            pc.db = open_database(pc.folder)
            pc.sync = TownshipSync(pc.db, pc.folder)
            pc.services = None

    def close(self) -> None:
        for pc in self.pcs:
            pc.close()
        self.county.close()
