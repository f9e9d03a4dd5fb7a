"""A small sync world for tests: one county and township PCs, each a real SQLite file in its own folder,
with helpers to edit data through the real services and to carry files over the "USB stick"."""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.services import Services
from app.storage import Database, open_database
from app.sync.county import DB_FILE_NAME, CountyImportResult, CountyStore
from app.sync.township import ExportResult, ImportResult, TownshipSync
from tests.conftest import ADMIN


def digest(db_path: Path) -> str:
    """SHA-256 over every row of every table (read-only): equal digests = the database did not change."""
    conn = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        h = hashlib.sha256()
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        for name in names:
            h.update(name.encode())
            for row in conn.execute(f'SELECT * FROM "{name}" ORDER BY 1'):
                h.update(repr(row).encode())
        return h.hexdigest()
    finally:
        conn.close()


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

    def __post_init__(self) -> None:
        self.county = CountyStore.init(self.root / "county", name="安远县应急管理局")
        self.usb.mkdir(parents=True, exist_ok=True)

    @property
    def usb(self) -> Path:
        return self.root / "usb"

    @property
    def county_path(self) -> Path:
        return self.root / "county" / DB_FILE_NAME

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

    def upload(self, pc: Pc) -> tuple[ExportResult, CountyImportResult]:
        exported = pc.export(self.usb)
        return exported, self.county.import_bundle(exported.path, self.usb)

    def round_trip(self, pc: Pc) -> tuple[ExportResult, CountyImportResult, ImportResult]:
        exported, imported = self.upload(pc)
        return exported, imported, pc.sync.import_return(imported.return_path)

    def close(self) -> None:
        for pc in self.pcs:
            pc.close()
        self.county.close()
