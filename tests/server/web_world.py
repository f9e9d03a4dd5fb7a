"""A county for the web page tests: the demo township (hazards, letters, registers) has synced once by USB
bundle, a second township is enrolled but has never reported, and there are staff accounts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.server.staff import add_staff, change_password
from app.services import Services
from app.services.context import Scope
from app.services.demo import generate_demo
from app.sync.county import CountyImportResult
from tests.conftest import ADMIN
from tests.sync.sync_world import Pc, World

ADMIN_LOGIN = ("zhang", "Zhang2026ok")
VIEWER_LOGIN = ("li", "Li2026viewer")
SILENT_CODE, SILENT_NAME = "360000001", "未上报镇"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class WebWorld:
    world: World
    pc: Pc
    code: str
    name: str
    imported: CountyImportResult

    @property
    def county(self):
        return self.world.county

    @property
    def scope(self) -> Scope:
        return Scope(self.imported.township, self.name)

    def add_village(self, name: str) -> str:
        return self.pc.add_village(name)

    def close(self) -> None:
        self.world.close()


def make_web_world(root: Path, county_url: str | None = None) -> WebWorld:
    """The demo township synced by USB bundle, the same way ``xiangan-county import`` brings it in
    (the county database at ``county_url`` if given: PostgreSQL)."""
    world = World(root, county_url=county_url)
    pc = world.open_pc("pc1")
    generate_demo(pc.db, actor=ADMIN)
    profile = Services(pc.db, ADMIN).township.profile()
    pc.sync.enrol(world.enrolment(profile["code"], profile["name"], "pc1"))
    _exported, imported = world.upload(pc)
    world.county.add_township(SILENT_CODE, SILENT_NAME, root / "enrol-silent.xae")
    add_staff(world.county.db, *ADMIN_LOGIN, role="admin", display_name="张科长")
    # A viewer is made with a password to change at first log-in; this one has changed it already.
    viewer = add_staff(world.county.db, VIEWER_LOGIN[0], "Li2026first", role="viewer", display_name="李干事")
    change_password(world.county.db, viewer, "Li2026first", VIEWER_LOGIN[1])
    return WebWorld(world, pc, profile["code"], profile["name"], imported)


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def web_login(client: Any, login: tuple[str, str], next_path: str = "/") -> Any:
    """Log in through the real form (the page gives the CSRF token); the response after redirects."""
    page = client.get(f"/login?next={next_path}")
    username, password = login
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf_of(page.text),
                                       "next": next_path})
